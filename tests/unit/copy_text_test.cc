#include "pg/copy_text.h"

#include <gtest/gtest.h>

#include <string>

#include "pg/outcome.h"

namespace ss {
namespace {

using shadowstream::v1::ChangeRecord;
using shadowstream::v1::Column;

Column* add(ChangeRecord& r, const std::string& name, const std::string& text, bool key = false, bool old = false) {
  Column* c = old ? r.add_old_columns() : r.add_columns();
  c->set_name(name);
  c->set_text(text);
  c->set_is_key(key);
  return c;
}

fold::Entry entry(fold::Kind kind, bool from_insert = false) {
  fold::Entry e;
  e.kind = kind;
  e.from_insert = from_insert;
  return e;
}

const std::vector<std::string> kCols = {"id", "v", "big"};

TEST(ApplyCopyText, ValuesEscapeWhatCopyTextReadsAsStructure) {
  ChangeRecord r;
  add(r, "a", "tab\there\\back\nline\rcr");
  add(r, "b", "")->set_is_null(true);
  Column* bin = add(r, "c", "ignored");
  bin->set_binary(std::string("\xff\x01", 2));
  std::string out;
  apply::append_copy_row(out, r);
  EXPECT_EQ(out, std::string("tab\\there\\\\back\\nline\\rcr\t\\N\t\xff\x01\n"));
  EXPECT_EQ(apply::copy_rows_sql("\"s\".\"t\"", r), "COPY \"s\".\"t\" (\"a\", \"b\", \"c\") FROM STDIN");
}

TEST(ApplyCopyText, FoldLinesCarryTheOperationAndTheUnchangedToastMask) {
  ChangeRecord ins;
  add(ins, "id", "1", true);
  add(ins, "v", "x\ty");
  add(ins, "big", "B");
  std::string out;
  ASSERT_TRUE(apply::append_fold_line(out, entry(fold::Kind::kUpsert, true), ins, kCols, true));
  EXPECT_EQ(out, "1\tx\\ty\tB\ti\t\\N\n");
  out.clear();
  ASSERT_TRUE(apply::append_fold_line(out, entry(fold::Kind::kUpsert, false), ins, kCols, true));
  EXPECT_EQ(out, "1\tx\\ty\tB\tu\t\\N\n");
  out.clear();
  ASSERT_TRUE(apply::append_fold_line(out, entry(fold::Kind::kUpsert, true), ins, kCols, false));
  EXPECT_EQ(out, "1\tx\\ty\tB\n");

  ChangeRecord upd;
  add(upd, "id", "2", true);
  add(upd, "v", "")->set_is_null(true);
  add(upd, "big", "")->set_unchanged_toast(true);
  out.clear();
  ASSERT_TRUE(apply::append_fold_line(out, entry(fold::Kind::kUpdate), upd, kCols, true));
  EXPECT_EQ(out, "2\t\\N\t\\N\tm\t{f,f,t}\n");

  ChangeRecord del;
  add(del, "id", "3", true, true);
  out.clear();
  ASSERT_TRUE(apply::append_fold_line(out, entry(fold::Kind::kDelete), del, kCols, true));
  EXPECT_EQ(out, "3\t\\N\t\\N\td\t\\N\n");
}

TEST(ApplyCopyText, AFoldLineOfOtherColumnsIsRefusedAndWritesNothing) {
  ChangeRecord fewer;
  add(fewer, "id", "1", true);
  add(fewer, "v", "x");
  std::string out = "kept\n";
  EXPECT_FALSE(apply::append_fold_line(out, entry(fold::Kind::kUpsert, true), fewer, kCols, true));
  ChangeRecord renamed;
  add(renamed, "id", "1", true);
  add(renamed, "w", "x");
  add(renamed, "big", "B");
  EXPECT_FALSE(apply::append_fold_line(out, entry(fold::Kind::kUpdate), renamed, kCols, true));
  EXPECT_EQ(out, "kept\n");
}

TEST(ApplyCopyText, FoldStatementsMatchOnThePrimaryKeyAndKeepUnchangedToast) {
  const apply::FoldSql s = apply::fold_sql("\"public\".\"t\"", "ss_fold_1", kCols, {"id"});
  EXPECT_EQ(s.copy_direct, "COPY \"public\".\"t\" (\"id\", \"v\", \"big\") FROM STDIN");
  EXPECT_EQ(s.create,
            "CREATE TEMPORARY TABLE ss_fold_1 ON COMMIT DROP AS SELECT \"id\", \"v\", \"big\", NULL::\"char\" AS "
            "\"shadowstream op\", NULL::boolean[] AS \"shadowstream keep\" FROM \"public\".\"t\" WITH NO DATA");
  EXPECT_EQ(s.copy, "COPY ss_fold_1 FROM STDIN");
  EXPECT_EQ(s.del,
            "DELETE FROM \"public\".\"t\" AS ss_t USING ss_fold_1 AS ss_s WHERE ss_s.\"shadowstream op\" = 'd' AND "
            "ss_t.\"id\" = ss_s.\"id\"");
  EXPECT_EQ(s.update,
            "UPDATE \"public\".\"t\" AS ss_t SET \"v\" = CASE WHEN ss_s.\"shadowstream keep\"[2] THEN ss_t.\"v\" ELSE "
            "ss_s.\"v\" END, \"big\" = CASE WHEN ss_s.\"shadowstream keep\"[3] THEN ss_t.\"big\" ELSE ss_s.\"big\" "
            "END FROM ss_fold_1 AS ss_s WHERE ss_s.\"shadowstream op\" = 'm' AND ss_t.\"id\" = ss_s.\"id\"");
  EXPECT_EQ(s.insert,
            "INSERT INTO \"public\".\"t\" (\"id\", \"v\", \"big\") SELECT \"id\", \"v\", \"big\" FROM ss_fold_1 WHERE "
            "\"shadowstream op\" = 'i'");
  EXPECT_EQ(s.upsert,
            "INSERT INTO \"public\".\"t\" (\"id\", \"v\", \"big\") SELECT \"id\", \"v\", \"big\" FROM ss_fold_1 WHERE "
            "\"shadowstream op\" = 'u' ON CONFLICT (\"id\") DO UPDATE SET \"v\" = EXCLUDED.\"v\", \"big\" = "
            "EXCLUDED.\"big\"");
}

TEST(ApplyCopyText, AKeyOnlyTableHasNoUpdateAndUpsertsDoNothing) {
  const apply::FoldSql s = apply::fold_sql("T", "tmp", {"a", "b"}, {"a", "b"});
  EXPECT_EQ(s.update, "");
  EXPECT_EQ(s.upsert,
            "INSERT INTO T (\"a\", \"b\") SELECT \"a\", \"b\" FROM tmp WHERE \"shadowstream op\" = 'u' ON CONFLICT "
            "(\"a\", \"b\") DO NOTHING");
}

TEST(Outcome, AFailureNamesItsRecordWholeWhileSmallAndByPositionPastThat) {
  ChangeRecord r;
  r.set_op(shadowstream::v1::OPERATION_INSERT);
  r.set_schema("public");
  r.set_table("t");
  r.set_commit_lsn(0x16B3748);
  r.set_ordinal(3);
  add(r, "id", "1", true);
  const std::string small = r.SerializeAsString();
  const std::string text = apply::describe({apply::Origin::of(r, small), "duplicate key"});
  EXPECT_EQ(text.rfind("cannot apply insert on public.t at position 0/16B3748:3: duplicate key; record: {", 0), 0u)
      << text;
  const std::string big(apply::Origin::kQuotedRecordBytes + 1, 'x');
  EXPECT_EQ(apply::describe({apply::Origin::of(r, big), "too big"}),
            "cannot apply insert on public.t at position 0/16B3748:3 (a record of 65537 bytes): too big");
  EXPECT_EQ(apply::describe({{}, "deadlock"}), "target transaction failed: deadlock");
  EXPECT_TRUE(apply::Origin{}.control());
  apply::Outcome done;
  EXPECT_TRUE(done.ok());
  EXPECT_TRUE(apply::Outcome::redo().is_redo());
  EXPECT_FALSE(apply::Outcome(apply::Failure{{}, "x"}).ok());
}

}  // namespace
}  // namespace ss
