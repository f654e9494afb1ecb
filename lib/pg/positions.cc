#include "pg/positions.h"

#include <algorithm>
#include <cstdlib>

namespace ss::apply {

Positions::Positions(const std::string& position_table) {
  auto [s, t] = pg::split_table_name(position_table);
  schema_ = quote_ident(s);
  table_ = schema_ + "." + quote_ident(t);
}

void Positions::create(PGconn* c, const std::string& more) const {
  // IF NOT EXISTS is not safe against a concurrent creator (two replays starting together fail on pg_type's
  // unique index): one transaction under an advisory lock, so the second waits and then finds the table.
  pg::exec_command(c, "BEGIN; SELECT pg_advisory_xact_lock(hashtext(" + pg::quote_literal(c, table_) +
                          ")); CREATE SCHEMA IF NOT EXISTS " + schema_ + "; CREATE TABLE IF NOT EXISTS " + table_ +
                          " (source text PRIMARY KEY, commit_lsn pg_lsn NOT NULL, ordinal bigint NOT NULL, "
                          "commit_time timestamptz, updated_at timestamptz NOT NULL DEFAULT now());" +
                          more + " COMMIT");
}

// The source's high-water as the target holds it (`lock`: its row locked until the transaction ends).
Outcome Positions::held(Pipeline& p, const std::string& source, bool lock, Position& out) {
  pg::Result r;
  Outcome o =
      p.query("SELECT commit_lsn::text, ordinal FROM " + table_ + " WHERE source = $1" + (lock ? " FOR UPDATE" : ""),
              {source}, r);
  out = {};
  if (o.ok() && PQntuples(r.get()) == 1) {
    out.lsn = parse_lsn(PQgetvalue(r.get(), 0, 0)).value_or(0);
    out.ordinal = std::strtoull(PQgetvalue(r.get(), 0, 1), nullptr, 10);
  }
  return o;
}

Outcome Positions::high_water(Pipeline& p, const std::string& source, Position& out) {
  auto it = hw_.find(source);
  if (it != hw_.end()) {
    out = it->second;
    return {};
  }
  Outcome o = held(p, source, false, out);
  if (o.ok()) hw_[source] = out;
  return o;
}

bool Positions::taken(const std::string& source, const Position& pos) const {
  auto it = tx_hw_.find(source);
  return it != tx_hw_.end() && pos <= it->second.first;
}

// Overlapping replays into one target (two CLI runs, two server jobs) take turns on the source's position row: the
// commit writes the new high-water only over one below the transaction's first record, so of two replays applying
// the same transaction the second fails there (or earlier, on a key the first inserted), rolls back, finds the
// high-water past its transaction, and goes on as for any duplicate. No lock or round trip is spent when nobody
// overlaps. The row must exist for that: the first transaction of a source creates it (a concurrent creator waits
// for ours to end, then finds it), one round trip per source and run.
//
// A group (Config::group) holds its sources' rows from its first record to its commit instead: the check at the
// commit could only tell that another replay applied part of the group, whose records are then already consumed.
// Overlapping replays take turns by group, and one that waited here finds the high-water past what the other
// applied.
Outcome Positions::track(Pipeline& p, const std::string& source, const Position& first, bool lock, bool& fresh) {
  fresh = false;
  if (!has_row_.count(source)) {
    pg::Result ignored;
    Outcome o = p.query("INSERT INTO " + table_ +
                            " (source, commit_lsn, ordinal) VALUES ($1, '0/0', 0) ON CONFLICT (source) DO NOTHING",
                        {source}, ignored);
    if (!o.ok()) return o;
    has_row_.insert(source);
  }
  if (lock) {
    if (!locked_.count(source)) {
      Position now;
      if (Outcome o = held(p, source, true, now); !o.ok()) return o;
      hw_[source] = std::max(hw_[source], now);
      locked_.insert(source);
    }
    if (first <= hw_[source]) return {};
  }
  firsts_[source] = first;
  fresh = true;
  return {};
}

void Positions::take(const std::string& source, const Position& pos, int64_t commit_time_us) {
  tx_hw_[source] = {pos, commit_time_us};
}

void Positions::send_writes(Pipeline& p) {
  for (const auto& [source, ph] : tx_hw_) {
    // The new high-water, written only over one below this transaction's first record; otherwise (another replay
    // applied it meanwhile) the statement fails, so the COMMIT behind it in the pipeline never runs. The division by
    // zero (by the count of rows written, so not folded away at plan time) is that failure; nobody sees its text:
    // the applier tells it from a real one by rechecking the positions.
    const Position& first = firsts_[source];
    p.send_prepared(
        "WITH u AS (INSERT INTO " + table_ +
            " AS t (source, commit_lsn, ordinal, commit_time) VALUES ($1, $2::pg_lsn, $3::bigint, $4::timestamptz) ON "
            "CONFLICT (source) DO UPDATE SET commit_lsn = EXCLUDED.commit_lsn, ordinal = EXCLUDED.ordinal, "
            "commit_time = EXCLUDED.commit_time, updated_at = now() WHERE (t.commit_lsn, t.ordinal) < ($5::pg_lsn, "
            "$6::bigint) RETURNING 1) SELECT 1 / count(*) FROM u",
        {source, format_lsn(ph.first.lsn), std::to_string(ph.first.ordinal), format_time_us(ph.second),
         format_lsn(first.lsn), std::to_string(first.ordinal)});
  }
}

void Positions::committed() {
  for (const auto& [source, ph] : tx_hw_) hw_[source] = ph.first;
}

void Positions::end_tx() {
  tx_hw_.clear();
  firsts_.clear();
  locked_.clear();
}

Outcome Positions::recheck(Pipeline& p, const std::string& source, Position& held_now) {
  Outcome o = held(p, source, false, held_now);
  if (o.ok()) hw_[source] = std::max(hw_[source], held_now);
  return o;
}

}  // namespace ss::apply
