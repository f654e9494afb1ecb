#include "pg/shape_follower.h"

#include <gtest/gtest.h>

#include <string>
#include <vector>

namespace ss {
namespace {

using shadowstream::v1::ChangeRecord;
using shadowstream::v1::Column;

std::string lit(const std::string& v) {
  return "'" + v + "'";
}

TEST(ShapeFollower, AlterStatementsGoInTheOrderTheTargetCanTakeThem) {
  ChangeRecord rec;
  Column* plain = rec.add_columns();
  plain->set_name("b");
  Column* late = rec.add_columns();
  late->set_name("c\"q");
  late->set_missing_value("7");
  Column* wider = rec.add_columns();
  wider->set_name("a");
  shape::Change ch;
  ch.added = {plain, late};
  ch.dropped = {"old"};
  ch.retyped = {wider};
  ch.key_changed = true;
  ch.key = {"a", "b"};
  auto ddl = apply::alter_statements("\"s\".\"t\"", ch, "t_pkey", {"integer", "text"}, {"bigint"}, lit);
  std::vector<std::string> want = {
      "ALTER TABLE \"s\".\"t\" DROP CONSTRAINT \"t_pkey\"",
      "ALTER TABLE \"s\".\"t\" DROP COLUMN \"old\"",
      "ALTER TABLE \"s\".\"t\" ADD COLUMN \"b\" integer",
      "ALTER TABLE \"s\".\"t\" ADD COLUMN \"c\"\"q\" text DEFAULT '7'::text",
      "ALTER TABLE \"s\".\"t\" ALTER COLUMN \"c\"\"q\" DROP DEFAULT",
      "ALTER TABLE \"s\".\"t\" ALTER COLUMN \"a\" TYPE bigint USING \"a\"::bigint",
      "ALTER TABLE \"s\".\"t\" ADD PRIMARY KEY (\"a\", \"b\")",
  };
  EXPECT_EQ(ddl, want);
}

TEST(ShapeFollower, AKeyDroppedWithoutANewOneOnlyDropsTheConstraint) {
  shape::Change ch;
  ch.key_changed = true;
  EXPECT_EQ(apply::alter_statements("T", ch, "k", {}, {}, lit),
            std::vector<std::string>{"ALTER TABLE T DROP CONSTRAINT \"k\""});
  EXPECT_EQ(apply::alter_statements("T", ch, "", {}, {}, lit), std::vector<std::string>{});
  shape::Change none;
  EXPECT_TRUE(apply::alter_statements("T", none, "k", {}, {}, lit).empty());
}

}  // namespace
}  // namespace ss
