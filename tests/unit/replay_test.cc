#include "replay/replay.h"

#include <fcntl.h>
#include <gtest/gtest.h>
#include <unistd.h>

#include <string>
#include <vector>

#include "core/cli.h"
#include "core/error.h"
#include "core/record_check.h"
#include "core/window_base.h"
#include "pg/apply.h"
#include "pg/table_map.h"
#include "replay/pacing.h"

namespace ss {
namespace {

using shadowstream::v1::ChangeRecord;
using shadowstream::v1::Column;

TEST(Schedule, SpeedDividesTheOriginalGapsBetweenTransactions) {
  pacing::Schedule s({.speed = 10});
  EXPECT_EQ(s.due_us(1'000'000, true), 0);
  EXPECT_EQ(s.due_us(1'000'000, false), 0);  // same transaction: at once
  EXPECT_EQ(s.due_us(3'000'000, true), 200'000);
  EXPECT_EQ(s.due_us(3'500'000, true), 250'000);
  EXPECT_EQ(s.due_us(3'400'000, true), 250'000);  // a commit time stepping back follows at once
}

TEST(Schedule, TinySpeedsSaturateInsteadOfOverflowing) {
  // Below the flags' range, but the schedule itself must never wrap to "now" (UB under the sanitizers).
  pacing::Schedule s({.speed = 1e-300});
  EXPECT_EQ(s.due_us(1'000'000, true), 0);
  EXPECT_EQ(s.due_us(2'000'000, true), INT64_MAX);
  pacing::Schedule r({.rate = 4.9e-324});
  r.due_us(0, true);
  EXPECT_EQ(r.due_us(0, true), INT64_MAX);
}

TEST(Schedule, SpeedAndRateFlagsRefuseWhatNoClockKeeps) {
  EXPECT_EQ(speed_flag("--speed", "max"), 0);
  EXPECT_EQ(speed_flag("--speed", "0.5"), 0.5);
  for (const char* bad : {"1e-300", "4.9e-324", "1e7", "inf", "nan", "0", "-1", "2x"})
    EXPECT_THROW(speed_flag("--speed", bad), Error) << bad;
  EXPECT_EQ(rate_flag("--rate", "5000/s"), 5000);
  for (const char* bad : {"1e-300", "1e10", "inf", "0"}) EXPECT_THROW(rate_flag("--rate", bad), Error) << bad;
}

TEST(Schedule, MaxGapCapsIdleStretchesBeforeScaling) {
  pacing::Schedule s({.speed = 2, .max_gap_us = 5'000'000});
  EXPECT_EQ(s.due_us(0, true), 0);
  EXPECT_EQ(s.due_us(3'600'000'000, true), 2'500'000);  // an hour idle counts as 5 s, halved
  EXPECT_EQ(s.due_us(3'602'000'000, true), 3'500'000);
}

TEST(Schedule, ManyGapsDoNotDrift) {
  pacing::Schedule s({.speed = 3});
  int64_t due = 0;
  for (int i = 0; i <= 300'000; ++i) due = *s.due_us(int64_t{i} * 1000, true);
  EXPECT_EQ(due, 100'000'000);  // 300 s of 1 ms gaps at 3x, exactly 100 s
}

TEST(Schedule, RateIsPerRecordAndUnpacedIsNone) {
  pacing::Schedule r({.rate = 4});
  EXPECT_EQ(r.due_us(0, true), 0);
  EXPECT_EQ(r.due_us(0, false), 250'000);
  EXPECT_EQ(r.due_us(0, false), 500'000);
  pacing::Schedule none({});
  EXPECT_FALSE(none.due_us(0, true).has_value());
}

TEST(PauseGate, PausedTimeAccumulates) {
  pacing::PauseGate g;
  EXPECT_EQ(g.paused_total_us(), 0);
  g.pause();
  EXPECT_TRUE(g.paused());
  usleep(2000);
  g.resume();
  EXPECT_FALSE(g.paused());
  EXPECT_GE(g.paused_total_us(), 2000);
  g.resume();  // resuming when not paused changes nothing
  int64_t total = g.paused_total_us();
  EXPECT_EQ(g.paused_total_us(), total);
}

Column* col(ChangeRecord& r, const std::string& name, const std::string& text, bool key = false, bool old = false) {
  Column* c = old ? r.add_old_columns() : r.add_columns();
  c->set_name(name);
  c->set_text(text);
  c->set_is_key(key);
  return c;
}

TEST(BuildStatement, InsertUpdateDeleteTruncate) {
  ChangeRecord r;
  r.set_op(shadowstream::v1::OPERATION_INSERT);
  col(r, "id", "1", true);
  col(r, "Name", "a\"b");
  auto st = apply::build_statement(r, "\"public\".\"t\"");
  EXPECT_EQ(st.sql, "INSERT INTO \"public\".\"t\" (\"id\", \"Name\") VALUES ($1, $2)");
  ASSERT_EQ(st.params.size(), 2u);
  EXPECT_EQ(st.params[1]->text(), "a\"b");

  r.set_op(shadowstream::v1::OPERATION_UPDATE);
  r.mutable_columns(1)->set_unchanged_toast(true);
  col(r, "n", "")->set_is_null(true);
  st = apply::build_statement(r, "T");
  EXPECT_EQ(st.sql, "UPDATE T SET \"id\" = $1, \"n\" = $2 WHERE \"id\" = $3");  // TOAST left alone

  // The key changed: the old key finds the row.
  col(r, "id", "7", true, true);
  r.set_old_key_only(true);
  st = apply::build_statement(r, "T");
  EXPECT_EQ(st.sql, "UPDATE T SET \"id\" = $1, \"n\" = $2 WHERE \"id\" = $3");
  EXPECT_EQ(st.params[2]->text(), "7");

  r.set_op(shadowstream::v1::OPERATION_DELETE);
  r.clear_columns();
  st = apply::build_statement(r, "T");
  EXPECT_EQ(st.sql, "DELETE FROM T WHERE \"id\" = $1");

  r.set_op(shadowstream::v1::OPERATION_TRUNCATE);
  r.set_truncate_restart_identity(true);
  EXPECT_EQ(apply::build_statement(r, "T").sql, "TRUNCATE TABLE T RESTART IDENTITY");
}

TEST(BuildStatement, ReplicaIdentityFullChangesExactlyOneMatchingRow) {
  ChangeRecord r;
  r.set_op(shadowstream::v1::OPERATION_DELETE);
  r.set_replica_identity("f");
  col(r, "a", "1", true, true);
  col(r, "b", "", true, true)->set_is_null(true);
  auto st = apply::build_statement(r, "T");
  EXPECT_EQ(st.sql,
            "DELETE FROM T WHERE ctid = (SELECT ctid FROM T WHERE \"a\" IS NOT DISTINCT FROM $1 AND \"b\" "
            "IS NULL LIMIT 1)");
}

TEST(BuildStatement, NoKeyIsADataError) {
  ChangeRecord r;
  r.set_op(shadowstream::v1::OPERATION_DELETE);
  col(r, "a", "1", false, true);
  try {
    apply::build_statement(r, "T");
    FAIL() << "expected an error";
  } catch (const Error& e) {
    EXPECT_EQ(e.code(), kExitDataErr);
  }
}

TEST(MapTable, TableMapWinsThenSchemaMap) {
  apply::Config c;
  c.table_map = {{"public.orders", "archive.orders_copy"}, {"items", "items2"}};
  c.schema_map = {{"public", "shadow"}};
  EXPECT_EQ(apply::map_table(c, "public", "orders"), (std::pair<std::string, std::string>{"archive", "orders_copy"}));
  EXPECT_EQ(apply::map_table(c, "public", "items"), (std::pair<std::string, std::string>{"shadow", "items2"}));
  EXPECT_EQ(apply::map_table(c, "public", "other"), (std::pair<std::string, std::string>{"shadow", "other"}));
  EXPECT_EQ(apply::map_table(c, "sales", "orders"), (std::pair<std::string, std::string>{"sales", "orders"}));
  EXPECT_EQ(apply::quote_ident("we\"ird"), "\"we\"\"ird\"");
}

// A sink that records what the engine did, to check transaction handling without a server.
struct RecordingSink : replay::Sink {
  std::vector<std::string> events;
  bool write(const ChangeRecord& r, std::string_view) override {
    events.push_back("w" + std::to_string(r.commit_lsn()) + ":" + std::to_string(r.ordinal()));
    return true;
  }
  void end_tx() override { events.push_back("commit"); }
  void base(const ChangeRecord& r, std::string_view) override {
    events.push_back("base" + std::to_string(r.commit_lsn()) + ":" + std::to_string(r.ordinal()));
  }
  bool abort_tx() override {
    events.push_back("abort");
    return true;
  }
};

ChangeRecord rec(uint64_t lsn, uint64_t ord, bool last, int64_t time, const std::string& table = "t") {
  ChangeRecord r;
  r.set_commit_lsn(lsn);
  r.set_ordinal(ord);
  r.set_tx_last(last);
  r.set_commit_time(time);
  r.set_schema("public");
  r.set_table(table);
  r.set_op(shadowstream::v1::OPERATION_INSERT);
  return r;
}

std::vector<std::string> run_on(const std::vector<ChangeRecord>& recs, const replay::Config& cfg,
                                replay::Progress* out = nullptr, replay::Hooks hooks = {}) {
  std::string bytes;
  for (const auto& r : recs) append_frame(bytes, r.SerializeAsString());
  char path[] = "/tmp/ss-replay-test.XXXXXX";
  int fd = mkstemp(path);
  EXPECT_EQ(write(fd, bytes.data(), bytes.size()), static_cast<ssize_t>(bytes.size()));
  lseek(fd, 0, SEEK_SET);
  unlink(path);
  FrameReader in(fd, path);
  RecordingSink sink;
  hooks.should_stop = [] { return false; };
  auto p = replay::run(cfg, in, sink, hooks);
  close(fd);
  if (out) *out = p;
  return sink.events;
}

TEST(ReplayRun, CommitsWholeTransactionsAndAbandonsATruncatedOne) {
  replay::Config cfg;
  auto ev = run_on({rec(1, 0, false, 10), rec(1, 1, true, 10), rec(2, 0, false, 20)}, cfg);
  EXPECT_EQ(ev, (std::vector<std::string>{"w1:0", "w1:1", "commit", "w2:0", "abort"}));
}

TEST(ReplayRun, FilteredLastRecordStillEndsTheTransaction) {
  replay::Config cfg;
  cfg.window.add_table("a");
  auto ev = run_on(
      {rec(1, 0, false, 10, "a"), rec(1, 1, true, 10, "b"), rec(2, 0, true, 20, "b"), rec(3, 0, true, 30, "a")}, cfg);
  EXPECT_EQ(ev, (std::vector<std::string>{"w1:0", "commit", "w3:0", "commit"}));
}

TEST(ReplayRun, WindowByTimeAndPosition) {
  replay::Config cfg;
  cfg.window.since_us = 20;
  cfg.window.until_us = 40;
  replay::Progress p;
  auto ev = run_on({rec(1, 0, true, 10), rec(2, 0, true, 20), rec(3, 0, true, 30), rec(4, 0, true, 40)}, cfg, &p);
  EXPECT_EQ(ev, (std::vector<std::string>{"w2:0", "commit", "w3:0", "commit"}));
  EXPECT_EQ(p.read, 4u);
  EXPECT_EQ(p.done, 2u);
  EXPECT_EQ(p.last, (Position{3, 0}));

  replay::Config pos;
  pos.window.from = Position{1, 1};
  pos.window.to = Position{2, 0};
  ev = run_on(
      {rec(1, 0, false, 10), rec(1, 1, true, 10), rec(2, 0, false, 20), rec(2, 1, true, 20), rec(3, 0, true, 30)}, pos,
      &p);
  // --to-position may cut a transaction: that cut is asked for, so what is in the window is committed.
  EXPECT_EQ(ev, (std::vector<std::string>{"w1:1", "commit", "w2:0", "commit"}));
  EXPECT_TRUE(p.finished);
}

TEST(ReplayRun, AWindowsBaseGoesToTheSinkUnpacedUnfilteredAndUncounted) {
  // The marker's commit time is an hour before the window at 1x: paced, the replay would wait that hour.
  replay::Config cfg;
  cfg.pacing.speed = 1;
  cfg.window.since_us = 3'600'000'000;
  cfg.window.add_table("a");
  replay::Progress p;
  auto ev = run_on({window_base_marker("src", {1, 4}, 0), rec(2, 0, true, 3'600'000'000, "a")}, cfg, &p);
  EXPECT_EQ(ev, (std::vector<std::string>{"base1:4", "w2:0", "commit"}));
  EXPECT_EQ(p.read, 1u);
  EXPECT_EQ(p.transactions, 1u);
}

TEST(WindowBase, OnlyTheMarkerNamesABaseAndATargetHoldsItAtOrPastIt) {
  ChangeRecord m = window_base_marker("src", {0x16B3748, 3}, 42);
  EXPECT_EQ(window_base_of(m), (Position{0x16B3748, 3}));
  EXPECT_EQ(m.source().name(), "src");
  EXPECT_NO_THROW(validate_record(m));
  ChangeRecord other = m;
  other.mutable_message()->set_prefix("app");
  EXPECT_FALSE(window_base_of(other));
  other = m;
  other.mutable_message()->set_transactional(true);
  EXPECT_FALSE(window_base_of(other));
  EXPECT_FALSE(window_base_of(rec(1, 0, true, 0)));
  EXPECT_FALSE(holds_base({}, {1, 0}));  // no high-water: the target has seen nothing of the source
  EXPECT_FALSE(holds_base({0x16B3748, 2}, {0x16B3748, 3}));
  EXPECT_TRUE(holds_base({0x16B3748, 3}, {0x16B3748, 3}));
  EXPECT_TRUE(holds_base({0x16B3750, 0}, {0x16B3748, 3}));
}

TEST(ReplayRun, ASlowReplayReportsEachRecordAndItsClockMovesBetweenThem) {
  // Two transactions ten seconds apart at 20x: the second is due 500 ms after the first (ten sleep slices).
  replay::Config cfg;
  cfg.pacing.speed = 20;
  const int64_t t0 = 1'700'000'000'000'000;
  std::vector<replay::Progress> seen;
  replay::Hooks hooks;
  hooks.progress_interval_us = 10'000;
  hooks.on_progress = [&](const replay::Progress& p) { seen.push_back(p); };
  run_on({rec(1, 0, true, t0), rec(2, 0, true, t0 + 10'000'000)}, cfg, nullptr, hooks);
  ASSERT_GE(seen.size(), 3u);
  // The first record is reported before the second is due (not after 64 of them) ...
  EXPECT_EQ(seen.front().done, 1u);
  // ... and while waiting, the replayed time moves between the two commit times, never back.
  size_t moving = 0;
  for (size_t i = 0; i < seen.size(); ++i) {
    if (i > 0) {
      EXPECT_GE(seen[i].replayed_time, seen[i - 1].replayed_time);
    }
    if (seen[i].done == 1 && seen[i].replayed_time > t0 && seen[i].replayed_time < t0 + 10'000'000) ++moving;
  }
  EXPECT_GE(moving, 3u);
  EXPECT_EQ(seen.back().done, 2u);
  EXPECT_EQ(seen.back().replayed_time, t0 + 10'000'000);
}

TEST(OnError, TheEnumWinsAndTheOlderTextIsStillHonoured) {
  shadowstream::v1::ReplayRequest r;
  EXPECT_EQ(replay::on_error_of(r), apply::OnError::kStop);
  r.set_on_error_name("skip");
  EXPECT_EQ(replay::on_error_of(r), apply::OnError::kSkip);
  EXPECT_EQ(replay::apply_config_of(r).on_error, apply::OnError::kSkip);
  r.set_on_error(shadowstream::v1::ON_ERROR_SKIP);
  EXPECT_EQ(replay::on_error_of(r), apply::OnError::kSkip);
  r.set_on_error(shadowstream::v1::ON_ERROR_LOG);
  EXPECT_EQ(replay::on_error_of(r), std::nullopt);  // they disagree
  r.clear_on_error_name();
  EXPECT_EQ(replay::on_error_of(r), apply::OnError::kLog);
  EXPECT_EQ(replay::on_error_named("STOP"), shadowstream::v1::ON_ERROR_STOP);
  EXPECT_EQ(replay::on_error_named("unspecified"), std::nullopt);
  EXPECT_EQ(replay::on_error_named("ignore"), std::nullopt);
}

TEST(Flags, SizesTakePostgresUnits) {
  EXPECT_EQ(size_flag("--max-slot-lag", "4096"), 4096u);
  EXPECT_EQ(size_flag("--max-slot-lag", "512MB"), uint64_t{512} << 20);
  EXPECT_EQ(size_flag("--max-slot-lag", "1GiB"), uint64_t{1} << 30);
  EXPECT_EQ(size_flag("--max-slot-lag", "2tb"), uint64_t{2} << 40);
  EXPECT_EQ(size_flag("--max-slot-lag", "0"), 0u);
  for (const char* bad : {"", "GB", "1.5GB", "-1", "1 GB", "1PB", "99999999999999TB"}) {
    try {
      size_flag("--max-slot-lag", bad);
      FAIL() << bad;
    } catch (const Error& e) {
      EXPECT_EQ(e.code(), kExitUsage);
      EXPECT_EQ(std::string(e.what()).rfind("--max-slot-lag takes a size like 512MB", 0), 0u) << e.what();
    }
  }
}

}  // namespace
}  // namespace ss
