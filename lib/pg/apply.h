// Applying change records to a PostgreSQL target, transaction by transaction, exactly once: the target keeps a
// high-water position per source in a table updated in the same transaction as the changes it covers, so a rerun
// skips whatever is already applied.
#pragma once

#include <cstdint>
#include <map>
#include <memory>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "core/position.h"
#include "pg/statements.h"
#include "shadowstream.pb.h"

namespace ss::apply {

enum class OnError { kStop, kSkip, kLog };

struct Config {
  std::string conninfo;  // target; the password comes from PGPASSWORD or ~/.pgpass, never from here
  bool create_tables = false;
  // Indexes schema records create are built CONCURRENTLY after their target transaction commits.
  bool concurrent_indexes = false;
  std::vector<std::pair<std::string, std::string>> table_map;   // "schema.table" or "table" -> same forms
  std::vector<std::pair<std::string, std::string>> schema_map;  // source schema -> target schema
  OnError on_error = OnError::kStop;
  // --no-base: a window may go into a target that lacks the history before it (window_base.h); warned, not refused.
  bool no_base = false;
  std::string position_table = "shadowstream.replay_position";
  size_t pipeline_depth = 1000;  // statements sent before their results are read
  // Rebuilds (--speed max): many source transactions per target transaction, their changes folded to the last
  // version per row and loaded with COPY and a few set-based statements per table. The high-water is written in the
  // same target transaction, so exactly-once and resume are as without grouping.
  struct Group {
    bool enabled = false;
    uint64_t records = 1'000'000;  // source records per target transaction (committed at a source transaction's end)
    size_t memory = size_t{256} << 20;  // folded rows held before they are applied (within the transaction)
    int64_t time_us = 5'000'000;        // a target transaction commits at the first source transaction end after this
  } group;
};

struct Stats {
  uint64_t applied = 0;       // statements that succeeded
  uint64_t duplicates = 0;    // records at or below the high-water position: applied by an earlier run
  uint64_t not_found = 0;     // updates/deletes whose row was not in the target (a window starting mid-history)
  uint64_t failed = 0;        // skipped or logged under --on-error skip|log
  uint64_t ignored = 0;       // messages and heartbeats: nothing to apply
  uint64_t transactions = 0;  // source transactions committed
  uint64_t commits = 0;       // target transactions committed (fewer when grouping)
  uint64_t folded = 0;        // records folded into a later version of their row (rebuilds)
};

// Policy: which records go in, when a target transaction commits, what a failure means (stop, skip, another replay
// applied it, a group applied again record by record). The work is done by its parts: pipeline.h (the connection),
// positions.h (high-water), shape_follower.h (DDL), loader.h (folded rows and checkpoints by COPY), statements.h and
// copy_text.h (the SQL and COPY text, pure).
class Applier {
 public:
  explicit Applier(const Config& cfg);
  ~Applier();
  Applier(const Applier&) = delete;
  Applier& operator=(const Applier&) = delete;

  // Applies one record inside the open target transaction (begun on first use). Returns false when the record is
  // at or below the source's high-water position. Under --on-error stop a failing record rolls the transaction
  // back and throws Error(65) naming the record, its position and the SQL error.
  bool apply(const shadowstream::v1::ChangeRecord& rec, std::string_view payload);
  // The source transaction's last record was applied. Commits the open target transaction with the new high-water
  // positions (no-op when none is open); when grouping, only once the group is full.
  void commit();
  // Sends what is queued and waits for it to be executed, so that a paced replay's target is not behind the
  // schedule while the replay sleeps (and the end of input is applied). Between source transactions, an open
  // group is committed. Failures are handled as in apply().
  void flush();
  // Abandons the open transaction: nothing of it is applied.
  void rollback();
  bool in_transaction() const;
  const Stats& stats() const;
  // A window's base marker (window_base.h): Error(65) saying how to build the base when the target's high-water for
  // the marker's source is below it (or absent), unless Config::no_base, which warns instead (once).
  void require_base(const shadowstream::v1::ChangeRecord& marker);

 private:
  struct Impl;
  std::unique_ptr<Impl> impl_;
};

}  // namespace ss::apply
