// High-water positions on a PostgreSQL target: per source, the position of the last change applied, kept in a
// table (Config::position_table) and written in the same target transaction as the changes it covers, so that a
// rerun skips whatever is already applied and two replays into one target never apply a change twice.
#pragma once

#include <cstdint>
#include <map>
#include <string>
#include <unordered_map>
#include <unordered_set>
#include <utility>

#include "core/position.h"
#include "pg/pipeline.h"

namespace ss::apply {

class Positions {
 public:
  explicit Positions(const std::string& position_table);  // "schema.table", quoted or not
  const std::string& schema() const { return schema_; }   // quoted
  const std::string& table() const { return table_; }     // quoted and qualified
  // Creates the schema and table if missing (outside the pipeline), with `more` DDL in the same transaction.
  void create(PGconn* c, const std::string& more) const;

  // The committed high-water of `source` (read from the target the first time).
  Outcome high_water(Pipeline& p, const std::string& source, Position& out);
  // Whether the open transaction took `source` up to `pos` or past it already (a stretch sent twice in one group).
  bool taken(const std::string& source, const Position& pos) const;
  bool tracking(const std::string& source) const { return firsts_.count(source) > 0; }
  // The open transaction applies `source` from `first` on. Overlapping replays take turns on the source's row (see
  // positions.cc); with `lock` (a group) it is held from here to the commit, and `fresh` is false when `first` is at
  // or below the high-water found under the lock.
  Outcome track(Pipeline& p, const std::string& source, const Position& first, bool lock, bool& fresh);
  // The open transaction took `source` up to `pos`.
  void take(const std::string& source, const Position& pos, int64_t commit_time_us);
  // Sends the new high-waters, ahead of the COMMIT (their failure is one of another replay's having applied them).
  void send_writes(Pipeline& p);
  // The open transaction committed / ended.
  void committed();
  void end_tx();
  // Position rows the open transaction may have created are gone with its rollback.
  void forget_rows() { has_row_.clear(); }

  // Each tracked source's first record in the open transaction, and after a failure, what the target holds now
  // (raising the known high-water to it).
  const std::unordered_map<std::string, Position>& firsts() const { return firsts_; }
  Outcome recheck(Pipeline& p, const std::string& source, Position& held);

 private:
  Outcome held(Pipeline& p, const std::string& source, bool lock, Position& out);

  std::string schema_, table_;
  std::unordered_map<std::string, Position> hw_;               // committed high-water per source
  std::map<std::string, std::pair<Position, int64_t>> tx_hw_;  // taken by the open transaction
  std::unordered_map<std::string, Position> firsts_;           // per source in it: its first record
  std::unordered_set<std::string> has_row_;                    // sources whose row is known to exist
  std::unordered_set<std::string> locked_;                     // sources whose row the open group holds
};

}  // namespace ss::apply
