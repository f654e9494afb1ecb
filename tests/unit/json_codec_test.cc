#include "core/json.h"

#include <gtest/gtest.h>

#include <cmath>

#include "core/error.h"
#include "shadowstream.pb.h"

namespace ss {
namespace {

using shadowstream::v1::ChangeRecord;
using shadowstream::v1::ProgressUpdate;

ChangeRecord full_record() {
  ChangeRecord r;
  r.mutable_source()->set_name("db");
  r.mutable_source()->set_timeline(3);
  r.set_commit_lsn((uint64_t{0x1F} << 32) | 0xABCDEF01);
  r.set_ordinal(UINT64_MAX);
  r.set_tx_last(true);
  r.set_xid(UINT32_MAX);
  r.set_commit_time(-1);  // before the epoch
  r.set_op(shadowstream::v1::OPERATION_TRUNCATE);
  r.set_table("quote\" backslash\\ tab\t nul-ish\x01 é");
  auto* c = r.add_columns();
  c->set_name("b");
  c->set_binary(std::string("\0\xff\x80", 3));
  c->set_type_modifier(-1);
  r.add_old_columns()->set_unchanged_toast(true);
  r.mutable_message()->set_content(std::string(300, '\xfe'));
  return r;
}

std::string to_json(const google::protobuf::Message& m) {
  std::string s;
  json::append(m, s);
  return s;
}

TEST(JsonCodec, RoundTripIsByteIdentical) {
  ChangeRecord in = full_record();
  std::string text = to_json(in);
  ChangeRecord out;
  json::Parser p;
  p.parse(text, out, "t");
  EXPECT_EQ(out.SerializeAsString(), in.SerializeAsString()) << text;
}

TEST(JsonCodec, ConventionsForLsnTimeEnumBytes) {
  ChangeRecord r;
  r.set_commit_lsn(0x16B3748);
  r.set_commit_time(1'795'600'000'123'456);
  r.set_op(shadowstream::v1::OPERATION_SNAPSHOT);
  r.mutable_message()->set_content("hi");
  EXPECT_EQ(to_json(r), R"({"commit_lsn":"0/16B3748","commit_time":"2026-11-25T09:46:40.123456Z","op":"snapshot",)"
                        R"("message":{"content":"aGk="}})");
}

TEST(JsonCodec, DefaultsAreOmittedAndEmptyMessageIsEmptyObject) {
  ChangeRecord r;
  EXPECT_EQ(to_json(r), "{}");
}

TEST(JsonCodec, DoublesRoundTripExactly) {
  ProgressUpdate u;
  for (double d : {0.1, 1.0 / 3.0, 1e300, -2.5e-300, 123456789.125}) {
    u.set_rate(d);
    ProgressUpdate back;
    json::Parser p;
    p.parse(to_json(u), back, "t");
    EXPECT_EQ(back.rate(), d);
  }
  u.set_rate(std::nan(""));
  ProgressUpdate back;
  json::Parser p;
  p.parse(to_json(u), back, "t");
  EXPECT_TRUE(std::isnan(back.rate()));
}

TEST(JsonCodec, AcceptsFullEnumNames) {
  ChangeRecord r;
  json::Parser p;
  p.parse(R"({"op":"OPERATION_DELETE"})", r, "t");
  EXPECT_EQ(r.op(), shadowstream::v1::OPERATION_DELETE);
  p.parse(R"({"op":"Delete"})", r, "t");
  EXPECT_EQ(r.op(), shadowstream::v1::OPERATION_DELETE);
}

void expect_error(const std::string& text, const std::string& fragment) {
  ChangeRecord r;
  json::Parser p;
  try {
    p.parse(text, r, "stdin line 7");
    FAIL() << "accepted: " << text;
  } catch (const Error& e) {
    EXPECT_EQ(e.code(), kExitDataErr);
    std::string what = e.what();
    EXPECT_EQ(what.rfind("stdin line 7: ", 0), 0u) << what;
    EXPECT_NE(what.find(fragment), std::string::npos) << what;
  }
}

TEST(JsonCodec, ErrorsNameTheLineAndField) {
  expect_error("{", "not valid JSON");
  expect_error("[1]", "expected a JSON object");
  expect_error(R"({"nope":1})", "field \"nope\": unknown field of ChangeRecord");
  expect_error(R"({"commit_lsn":"16B3748"})", "field \"commit_lsn\": expected an LSN");
  expect_error(R"({"commit_lsn":5})", "field \"commit_lsn\": expected an LSN string");
  expect_error(R"({"commit_time":"yesterday"})", "field \"commit_time\": expected an RFC 3339 time");
  expect_error(R"({"op":"upsert"})", "unknown Operation value \"upsert\"");
  expect_error(R"({"xid":-1})", "field \"xid\": expected a non-negative integer");
  expect_error(R"({"xid":4294967296})", "field \"xid\": integer out of range");
  expect_error(R"({"columns":{}})", "field \"columns\": expected an array");
  expect_error(R"({"columns":[{"binary":"!!"}]})", "field \"binary\": expected base64");
  expect_error(R"({"tx_last":"yes"})", "field \"tx_last\": expected true or false");
}

}  // namespace
}  // namespace ss
