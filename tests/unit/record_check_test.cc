#include "core/record_check.h"

#include <gtest/gtest.h>

#include <string>

using shadowstream::v1::ChangeRecord;

namespace {

ChangeRecord change() {
  ChangeRecord r;
  r.mutable_source()->set_name("app");
  r.mutable_source()->set_timeline(1);
  r.set_commit_lsn(100);
  r.set_commit_time(1764000000000000);
  r.set_op(shadowstream::v1::OPERATION_INSERT);
  r.set_schema("public");
  r.set_table("t");
  auto* c = r.add_columns();
  c->set_name("id");
  c->set_type_oid(23);
  c->set_type_name("int4");
  c->set_text("1");
  return r;
}

std::string bytes(const ChangeRecord& r) {
  return r.SerializeAsString();
}

TEST(SameChange, WhatACaptureReadsAtDecodeTimeIsNotTheChange) {
  const ChangeRecord a = change();
  ChangeRecord b = a;
  b.set_commit_time(a.commit_time() + 1);
  b.mutable_source()->set_timeline(2);
  b.mutable_columns(0)->set_type_name("pg_catalog.int4");
  b.mutable_columns(0)->set_missing_value("0");
  EXPECT_TRUE(ss::same_change(bytes(a), bytes(b)));
}

TEST(SameChange, ValuesPositionsAndTablesAre) {
  const ChangeRecord a = change();
  ChangeRecord b = a;
  b.mutable_columns(0)->set_text("2");
  EXPECT_FALSE(ss::same_change(bytes(a), bytes(b)));
  b = a;
  b.set_ordinal(1);
  EXPECT_FALSE(ss::same_change(bytes(a), bytes(b)));
  b = a;
  b.set_table("u");
  EXPECT_FALSE(ss::same_change(bytes(a), bytes(b)));
  b = a;
  b.mutable_columns(0)->set_type_oid(20);
  EXPECT_FALSE(ss::same_change(bytes(a), bytes(b)));
  b = a;
  b.mutable_source()->set_name("other");
  EXPECT_FALSE(ss::same_change(bytes(a), bytes(b)));
}

TEST(SameChange, BytesThatDoNotParseAreNotTheSame) {
  EXPECT_FALSE(ss::same_change(bytes(change()), "\xff\xff\xff"));
  EXPECT_TRUE(ss::same_change("\xff\xff\xff", "\xff\xff\xff"));  // equal bytes are the same, parsed or not
}

}  // namespace
