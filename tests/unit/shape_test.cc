#include "core/shape.h"

#include <gtest/gtest.h>

namespace ss::shape {
namespace {

using shadowstream::v1::ChangeRecord;

ChangeRecord record(std::initializer_list<std::tuple<const char*, uint32_t, const char*, int32_t, bool>> cols) {
  ChangeRecord r;
  r.set_schema("public");
  r.set_table("ev");
  r.set_relation_oid(16384);
  r.set_replica_identity("d");
  for (auto [name, oid, type, mod, key] : cols) {
    auto* c = r.add_columns();
    c->set_name(name);
    c->set_type_oid(oid);
    c->set_type_name(type);
    c->set_type_modifier(mod);
    c->set_is_key(key);
    c->set_text("value");
  }
  return r;
}

TEST(Shape, IdChangesWithTheShapeAndNotWithValues) {
  ChangeRecord a = record({{"id", 23, "int4", -1, true}, {"b", 1043, "varchar", 14, false}});
  ChangeRecord same = a;
  same.mutable_columns(1)->set_text("another value");
  same.set_commit_lsn(99);
  EXPECT_NE(id(a), 0u);
  EXPECT_EQ(id(a), id(same));
  ChangeRecord wider = record({{"id", 23, "int4", -1, true}, {"b", 1043, "varchar", 44, false}});
  ChangeRecord renamed = a;
  renamed.set_table("ev2");
  ChangeRecord rekeyed = record({{"id", 23, "int4", -1, true}, {"b", 1043, "varchar", 14, true}});
  for (const ChangeRecord* other : {&wider, &renamed, &rekeyed}) EXPECT_NE(id(a), id(*other));
  ChangeRecord none;
  EXPECT_EQ(id(none), 0u);
  // A delete carries the shape in its old image.
  ChangeRecord del;
  del.set_schema("public");
  del.set_table("ev");
  del.set_relation_oid(16384);
  del.set_replica_identity("d");
  *del.mutable_old_columns() = a.columns();
  EXPECT_EQ(id(del), id(a));
}

TEST(Shape, CompareFindsAddedDroppedRetypedAndKey) {
  std::vector<TargetColumn> target = {{"id", 23, "int4", -1, true},
                                      {"a", 23, "int4", -1, false},
                                      {"b", 1043, "varchar", 14, false},
                                      {"d", 23, "int4", -1, false}};
  ChangeRecord rec = record({{"id", 23, "int4", -1, true},
                             {"a", 20, "int8", -1, false},
                             {"b", 1043, "varchar", 44, false},
                             {"e", 25, "text", -1, true}});
  Change ch = compare(rec, target);
  ASSERT_EQ(ch.added.size(), 1u);
  EXPECT_EQ(ch.added[0]->name(), "e");
  EXPECT_EQ(ch.dropped, std::vector<std::string>{"d"});
  ASSERT_EQ(ch.retyped.size(), 2u);
  EXPECT_TRUE(ch.key_changed);
  EXPECT_EQ(ch.key, (std::vector<std::string>{"id", "e"}));
  EXPECT_EQ(describe(ch, target), "+e text, -d, a int4 -> int8, b varchar(10) -> varchar(40), key (id, e)");
  // The same shape: nothing to do.
  ChangeRecord same = record({{"id", 23, "int4", -1, true},
                              {"a", 23, "int4", -1, false},
                              {"b", 1043, "varchar", 14, false},
                              {"d", 23, "int4", -1, false}});
  EXPECT_TRUE(compare(same, target).empty());
  // REPLICA IDENTITY FULL flags every column as key; the shadow has no primary key for it.
  same.set_replica_identity("f");
  for (auto& c : *same.mutable_columns()) c.set_is_key(true);
  target[0].is_key = false;
  EXPECT_TRUE(compare(same, target).empty());
}

TEST(Shape, UserTypesMatchByNameBuiltInsByOid) {
  shadowstream::v1::Column c;
  c.set_type_oid(70000);
  c.set_type_name("public.mood");
  c.set_type_modifier(-1);
  EXPECT_TRUE(same_type(c, {"m", 81234, "public.mood", -1, false}));  // another cluster, another OID
  EXPECT_FALSE(same_type(c, {"m", 70000, "public.other", -1, false}));
  c.set_type_oid(23);
  c.set_type_name("int4");
  EXPECT_TRUE(same_type(c, {"m", 23, "integer", -1, false}));
}

}  // namespace
}  // namespace ss::shape
