// Loading rows in bulk on a PostgreSQL target, outside the pipeline for the duration: a grouped rebuild's folded rows
// (COPY into a temporary table, then a few set-based statements per table, all in a savepoint), and a checkpoint's
// rows (COPY into its emptied tables, a table at a time). The text they send is copy_text.h's.
#pragma once

#include <cstdint>
#include <string>
#include <unordered_map>
#include <vector>

#include "pg/fold.h"
#include "pg/pipeline.h"

namespace ss::apply {

class FoldLoader {
 public:
  // Whether `table`'s rows can be folded: a primary key that is exactly the records' key, and nothing on the target
  // that would see the difference between one statement per change and the net effect (another unique index, which
  // a set-based statement can trip over midway; foreign keys, whose order across tables folding does not keep;
  // triggers).
  Outcome foldable(Pipeline& p, const shadowstream::v1::ChangeRecord& rec, const std::string& table, bool& yes);
  // The target's primary key columns (sorted), as foldable() found them.
  const std::vector<std::string>& primary_key(const std::string& table) { return targets_[table].pk; }
  // Applies a table's folded rows inside the open transaction. `together` false: they cannot go in together (the
  // reason is logged), and nothing of them was applied. A failure only when the savepoint cannot be undone.
  // `folded`: the records folded away (counted only when together).
  Outcome load(Pipeline& p, fold::Table& t, bool& together, uint64_t& folded);
  void forget(const std::string& table) { targets_.erase(table); }
  void clear() { targets_.clear(); }

 private:
  struct Target {
    bool checked = false;
    bool blocked = false;         // other unique indexes, foreign keys or triggers: row-by-row order matters there
    std::vector<std::string> pk;  // sorted; empty: none, so no folding
    bool shape_known = false;
    uint64_t shape = 0;
    bool keys_match = false;  // the records of `shape` identify rows by exactly the primary key
  };
  struct Kinds {
    size_t inserts = 0, upserts = 0, updates = 0, deletes = 0;  // live rows of each kind (inserts: new rows)
  };
  Outcome check(Pipeline& p, const std::string& table, Target& t);
  Outcome load_rows(Pipeline& p, fold::Table& t, const std::vector<std::string>& cols, const Kinds& n, bool into_empty);

  std::unordered_map<std::string, Target> targets_;
  uint64_t tables_ = 0;  // temporary table names handed out
  std::string buf_;
  shadowstream::v1::ChangeRecord rec_;
};

// A checkpoint above the target's high-water fills emptied (or new) tables: its rows go in with COPY, a table at a
// time, at the speed PostgreSQL loads a dump, instead of a statement each.
class CheckpointLoader {
 public:
  // The checkpoint's tables were emptied: its rows may be copied in.
  void begin() { loading_ = true; }
  void end() { loading_ = false; }
  bool loading() const { return loading_; }
  bool copying() const { return copying_; }
  // The next row continues the COPY in progress: same table, shape and source (whose position was checked with the
  // COPY's first row).
  bool continues(const shadowstream::v1::ChangeRecord& rec) const;
  // Starts a COPY for rows shaped like `rec` (the pipeline drained).
  Outcome start(Pipeline& p, const shadowstream::v1::ChangeRecord& rec, const std::string& table);
  void put(Pipeline& p, const shadowstream::v1::ChangeRecord& rec);
  // Ends the COPY in progress, if any, counting its rows in the tally.
  Outcome finish(Pipeline& p);
  // Ends it unapplied (the transaction is being rolled back).
  void abandon(Pipeline& p);

 private:
  static std::string key_of(const shadowstream::v1::ChangeRecord& rec);
  Outcome close(Pipeline& p, const char* abort_message);

  bool loading_ = false;
  bool copying_ = false;
  std::string key_, source_, table_, line_;
  uint64_t rows_ = 0;
};

}  // namespace ss::apply
