#include "pg/fold.h"

#include <gtest/gtest.h>

#include <string>

#include "pg/apply.h"

namespace ss {
namespace {

using shadowstream::v1::ChangeRecord;
using shadowstream::v1::Column;

struct Rec {
  ChangeRecord r;
  std::string bytes;
};

// A row of t(id key, v, big) as the capture writes it: an update or delete carries its key in old columns only
// when it changed (or under REPLICA IDENTITY FULL).
Rec row(shadowstream::v1::Operation op, const std::string& id, const std::string& v, bool big_unchanged = false,
        uint64_t lsn = 1) {
  Rec x;
  x.r.set_op(op);
  x.r.set_commit_lsn(lsn);
  x.r.set_shape_id(7);
  auto add = [&](const std::string& name, const std::string& text, bool key, bool old) {
    Column* c = old ? x.r.add_old_columns() : x.r.add_columns();
    c->set_name(name);
    c->set_text(text);
    c->set_is_key(key);
    return c;
  };
  if (op == shadowstream::v1::OPERATION_DELETE) {
    add("id", id, true, true);
  } else {
    add("id", id, true, false);
    add("v", v, false, false);
    Column* big = add("big", big_unchanged ? "" : "B" + v, false, false);
    big->set_unchanged_toast(big_unchanged);
  }
  x.bytes = x.r.SerializeAsString();
  return x;
}

fold::Added add(fold::Fold& f, const Rec& x) {
  return f.add("T", x.r, x.bytes);
}

ChangeRecord parsed(const fold::Entry& e) {
  ChangeRecord r;
  r.ParseFromString(e.payload);
  return r;
}

constexpr auto kIns = shadowstream::v1::OPERATION_INSERT;
constexpr auto kUpd = shadowstream::v1::OPERATION_UPDATE;
constexpr auto kDel = shadowstream::v1::OPERATION_DELETE;

TEST(Fold, InsertThenUpdatesIsOneInsertOfTheLastVersion) {
  fold::Fold f;
  EXPECT_EQ(add(f, row(kIns, "1", "a")), fold::Added::kFolded);
  for (int i = 0; i < 9; ++i) EXPECT_EQ(add(f, row(kUpd, "1", std::to_string(i))), fold::Added::kFolded);
  ASSERT_EQ(f.tables().size(), 1u);
  const auto& t = f.tables()[0];
  EXPECT_EQ(t.records, 10u);
  ASSERT_EQ(t.entries.size(), 1u);
  EXPECT_EQ(t.entries[0].kind, fold::Kind::kUpsert);
  EXPECT_TRUE(t.entries[0].from_insert);
  EXPECT_EQ(parsed(t.entries[0]).columns(1).text(), "8");
}

TEST(Fold, InsertThenDeleteIsNothingButDeleteThenInsertReplaces) {
  fold::Fold f;
  add(f, row(kIns, "1", "a"));
  add(f, row(kDel, "1", ""));
  add(f, row(kDel, "2", ""));
  add(f, row(kIns, "2", "b"));
  add(f, row(kUpd, "3", "c"));
  add(f, row(kDel, "3", ""));
  const auto& e = f.tables()[0].entries;
  ASSERT_EQ(e.size(), 3u);
  EXPECT_TRUE(e[0].dead);  // never in the target
  EXPECT_EQ(e[1].kind, fold::Kind::kUpsert);
  EXPECT_FALSE(e[1].from_insert);  // the target may hold the row deleted before: replace it
  EXPECT_FALSE(e[2].dead);
  EXPECT_EQ(e[2].kind, fold::Kind::kDelete);
  // Inserted again after the insert and delete: an insert again.
  add(f, row(kIns, "1", "again"));
  EXPECT_FALSE(f.tables()[0].entries[0].dead);
  EXPECT_TRUE(f.tables()[0].entries[0].from_insert);
}

TEST(Fold, UpdatesStayUpdatesAndAnUpdateOfADeletedRowFindsNothing) {
  fold::Fold f;
  add(f, row(kUpd, "1", "a"));
  add(f, row(kUpd, "1", "b"));
  add(f, row(kDel, "2", ""));
  add(f, row(kUpd, "2", "c"));
  const auto& t = f.tables()[0];
  EXPECT_EQ(t.entries[0].kind, fold::Kind::kUpdate);
  EXPECT_EQ(parsed(t.entries[0]).columns(1).text(), "b");
  EXPECT_EQ(t.entries[1].kind, fold::Kind::kDelete);
  EXPECT_EQ(t.not_found, 1u);
}

TEST(Fold, UnchangedToastIsTakenFromAnEarlierVersionOrLeftMarked) {
  fold::Fold f;
  add(f, row(kIns, "1", "a"));
  add(f, row(kUpd, "1", "b", true));  // big unchanged: the insert's value
  add(f, row(kUpd, "2", "c", true));  // nothing earlier: the target keeps its own
  const auto& e = f.tables()[0].entries;
  ChangeRecord one = parsed(e[0]), two = parsed(e[1]);
  EXPECT_EQ(one.columns(1).text(), "b");
  EXPECT_FALSE(one.columns(2).unchanged_toast());
  EXPECT_EQ(one.columns(2).text(), "Ba");
  EXPECT_TRUE(two.columns(2).unchanged_toast());
}

TEST(Fold, KeyChangesFullIdentityAndOtherShapesAreNotFolded) {
  fold::Fold f;
  Rec moved = row(kUpd, "2", "x");
  Column* old = moved.r.add_old_columns();
  old->set_name("id");
  old->set_text("1");
  old->set_is_key(true);
  EXPECT_EQ(f.add("T", moved.r, moved.r.SerializeAsString()), fold::Added::kUnfoldable);
  // The same key in old columns (REPLICA IDENTITY with an unchanged key) folds.
  old->set_text("2");
  EXPECT_EQ(f.add("T", moved.r, moved.r.SerializeAsString()), fold::Added::kFolded);
  Rec full = row(kUpd, "3", "y");
  full.r.set_replica_identity("f");
  EXPECT_EQ(f.add("T", full.r, full.bytes), fold::Added::kUnfoldable);
  Rec other = row(kIns, "4", "z");
  other.r.set_shape_id(8);
  EXPECT_EQ(f.add("T", other.r, other.r.SerializeAsString()), fold::Added::kOtherShape);
  EXPECT_EQ(f.add("U", other.r, other.r.SerializeAsString()), fold::Added::kFolded);
}

TEST(Fold, KeysAreLengthPrefixedAndTakeRemovesOneTable) {
  std::string a, b;
  Rec x = row(kIns, "ab", "");
  Column* second = x.r.mutable_columns(1);
  second->set_is_key(true);
  second->set_text("c");
  Rec y = row(kIns, "a", "");
  y.r.mutable_columns(1)->set_is_key(true);
  y.r.mutable_columns(1)->set_text("bc");
  ASSERT_TRUE(fold::row_key(x.r, a));
  ASSERT_TRUE(fold::row_key(y.r, b));
  EXPECT_NE(a, b);

  fold::Fold f;
  f.add("T", x.r, "x");
  f.add("U", y.r, "yy");
  size_t both = f.bytes();
  fold::Table t = f.take("T");
  EXPECT_EQ(t.entries.size(), 1u);
  EXPECT_LT(f.bytes(), both);
  ASSERT_EQ(f.tables().size(), 1u);
  EXPECT_EQ(f.tables()[0].target, "U");
  // The index still finds U's row: inserted again while it exists, a duplicate key for its own statement.
  EXPECT_EQ(f.add("U", y.r, "yyy"), fold::Added::kUnfoldable);
  EXPECT_EQ(f.tables()[0].entries.size(), 1u);
  EXPECT_EQ(f.tables()[0].records, 1u);
}

TEST(Fold, ThousandsOfKeysEachFindTheirEntryAcrossGrowth) {
  fold::Fold f;
  for (int round = 0; round < 3; ++round)
    for (int id = 0; id < 5000; ++id)
      ASSERT_EQ(add(f, row(round ? kUpd : kIns, std::to_string(id), std::to_string(round))), fold::Added::kFolded);
  const auto& t = f.tables()[0];
  ASSERT_EQ(t.entries.size(), 5000u);
  EXPECT_EQ(t.records, 15000u);
  EXPECT_EQ(parsed(t.entries[4321]).columns(0).text(), "4321");
  EXPECT_EQ(parsed(t.entries[4321]).columns(1).text(), "2");
}

TEST(RecordLog, KeepsRecordsInOrderAcrossBlocksAndReusesThem) {
  fold::RecordLog log;
  std::string big(5 << 20, 'b');
  log.append("one");
  log.append(big);  // larger than a block: a block of its own
  for (int i = 0; i < 20000; ++i) log.append(std::string(300, static_cast<char>('a' + i % 26)));
  ASSERT_EQ(log.size(), 20002u);
  EXPECT_EQ(log[0], "one");
  EXPECT_EQ(log[1], big);
  EXPECT_EQ(log[20001], std::string(300, static_cast<char>('a' + 19999 % 26)));
  const size_t held = log.bytes();
  log.clear();
  EXPECT_EQ(log.size(), 0u);
  log.append("again");
  EXPECT_EQ(log[0], "again");
  EXPECT_LE(log.bytes(), held);
  log.release();
  EXPECT_EQ(log.bytes(), 0u);
}

TEST(BuildInsert, AnUpdatesRowInsertedOrUpsertedByKey) {
  Rec u = row(kUpd, "1", "v");
  auto st = apply::build_insert(u.r, "T", nullptr);
  EXPECT_EQ(st.sql, "INSERT INTO T (\"id\", \"v\", \"big\") VALUES ($1, $2, $3)");
  std::vector<std::string> key{"id"};
  st = apply::build_insert(u.r, "T", &key);
  EXPECT_EQ(st.sql,
            "INSERT INTO T (\"id\", \"v\", \"big\") VALUES ($1, $2, $3) ON CONFLICT (\"id\") DO UPDATE SET \"v\" = "
            "EXCLUDED.\"v\", \"big\" = EXCLUDED.\"big\"");
}

}  // namespace
}  // namespace ss
