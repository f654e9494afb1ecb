#include "pg/apply.h"

#include <chrono>
#include <unordered_map>

#include "core/defaults.h"
#include "core/error.h"
#include "core/log.h"
#include "core/window_base.h"
#include "pg/fold.h"
#include "pg/loader.h"
#include "pg/pipeline.h"
#include "pg/positions.h"
#include "pg/schema_apply.h"
#include "pg/shape_follower.h"
#include "pg/table_map.h"

namespace ss::apply {

using shadowstream::v1::ChangeRecord;
using shadowstream::v1::Column;

namespace {

bool is_change(shadowstream::v1::Operation op) {
  return op == shadowstream::v1::OPERATION_INSERT || op == shadowstream::v1::OPERATION_SNAPSHOT ||
         op == shadowstream::v1::OPERATION_UPDATE || op == shadowstream::v1::OPERATION_DELETE ||
         op == shadowstream::v1::OPERATION_TRUNCATE;
}

}  // namespace

struct Applier::Impl {
  // What became of a step once its outcome is settled: done, rolled back because another replay applied the open
  // transaction meanwhile (the high-water is then known past it), or the group is to be applied again from its log.
  enum class Step { kDone, kRolledBack, kRedo };

  Config cfg;
  Pipeline pipe;
  Positions positions;
  ShapeFollower follower;
  FoldLoader folder;
  SchemaApplier schemas;  // schema records: what rows never carry
  CheckpointLoader checkpoint;
  Stats stats;
  std::unordered_map<std::string, std::pair<std::string, std::string>> targets;  // schema '\0' table -> target
  bool in_tx = false;
  bool mid_tx = false;  // records of a source transaction whose end has not been seen are applied
  bool warned_base = false;

  // Grouping (Config::group): the open target transaction holds whole source transactions, their rows folded.
  fold::Fold fold;
  uint64_t group_records = 0;
  std::chrono::steady_clock::time_point group_start;
  uint64_t group_txs = 0;     // source transactions in the open target transaction
  uint64_t group_folded = 0;  // counted by this group, taken back when it is applied again
  // This source transaction is applied alone, without grouping: a checkpoint, or the rest of one whose group had to
  // be applied again record by record.
  bool plain_tx = false;
  // The group's records as they came, while they fit in its memory: when its folded rows cannot go in together, the
  // group is rolled back and applied again from here, a statement per record and a target transaction per source
  // transaction, so that what happens is exactly what happens without grouping (earlier transactions committed, the
  // failing record named, or skipped alone). A group that outgrows its memory drops its log and ends with the
  // source transaction that outgrew it; a failure then can only roll the group back and name the row at fault.
  bool logged = true;
  bool current_logged = false;  // the record being applied is in the log
  fold::RecordLog log;
  std::vector<size_t> log_tx_ends;  // log sizes at which a source transaction ended

  bool grouping() const { return cfg.group.enabled && !plain_tx; }
  // The open group can be applied again from its log.
  bool logging() const { return grouping() && logged; }
  // ... and doing so commits something before the failure: worth it for a failure that would otherwise stop.
  bool redoable() const { return logging() && !log_tx_ends.empty(); }

  explicit Impl(const Config& c)
      : cfg(c),
        pipe(cfg.conninfo),
        positions(cfg.position_table),
        follower(cfg.create_tables, bookkeeping_table(cfg.position_table, "_relations")),
        schemas(pg::split_table_name(cfg.position_table).first,
                [this](const std::string& s, const std::string& t) { return map_table(cfg, s, t); }) {
    if (cfg.concurrent_indexes) schemas.build_concurrently(bookkeeping_table(cfg.position_table, "_indexes"));
    positions.create(pipe.conn(), follower.create_sql() + schemas.create_sql());
    if (cfg.create_tables) schemas.replica_mode(pipe.conn());
    schemas.build_queued(pipe);  // what a run stopped before building
    pipe.start();
  }

  // --- What a failure means ---

  // A group holds its sources' position rows, so nobody else applied it: it is applied again from its log (the
  // transactions before the failing one committed, as they would have been without grouping). Otherwise another
  // replay may have applied the transaction (the failure was on a key it inserted, or on the position write), or
  // the replay stops at the failing record.
  Step settle(const Outcome& o) {
    if (o.ok()) return Step::kDone;
    if (o.is_redo() || redoable()) return Step::kRedo;
    if (applied_elsewhere()) return Step::kRolledBack;
    stop(*o.failure());
  }

  [[noreturn]] void stop(Failure f) {
    // undefined_table: a target the user manages lacks the record's table.
    if (f.sqlstate == "42P01" && !cfg.create_tables)
      f.error += " (rerun with --create-tables to create missing tables from the records, or create the table)";
    std::string msg = describe(f);
    abandon();
    throw Error(kExitDataErr, msg);
  }

  // After a failure inside a transaction: true when another replay committed it meanwhile (then it is rolled back,
  // counted as duplicates, and the high-water is known past it), false for a real failure.
  bool applied_elsewhere() {
    if (!in_tx || positions.firsts().empty()) return false;
    const auto mine = positions.firsts();
    const uint64_t statements = pipe.tally().in_tx;
    abandon();
    for (const auto& [source, first] : mine) {
      Position held;
      if (Outcome o = positions.recheck(pipe, source, held); !o.ok()) stop(*o.failure());
      if (held < first) return false;
    }
    pipe.tally().statements -= statements;
    stats.duplicates += statements;
    return true;
  }

  void abandon() {
    checkpoint.abandon(pipe);
    // Results still in flight belong to the transaction being abandoned; their errors no longer matter.
    (void)pipe.drain();
    if (in_tx) {
      pipe.send("ROLLBACK");
      (void)pipe.drain();
      // What the rolled-back transaction created or changed (position rows, tables, their shapes) is gone with it:
      // known again from the target when next needed, as a replay applied again from a group's log goes on.
      positions.forget_rows();
      follower.clear();
      folder.clear();
    }
    reset_tx();
  }

  void reset_tx() {
    checkpoint.end();
    positions.end_tx();
    pipe.tally().in_tx = 0;
    in_tx = false;
    fold.clear();
    group_records = 0;
    group_txs = 0;
    group_folded = 0;
    mid_tx = false;
    logged = true;
    log.clear();
    log_tx_ends.clear();
  }

  // --- One record ---

  Outcome apply(const ChangeRecord& rec, std::string_view payload, bool& applied) {
    applied = false;
    current_logged = false;
    // The connection is in COPY mode while a checkpoint's rows stream in: the next row of the same table and shape
    // continues it, anything else ends it first.
    const bool continues = checkpoint.continues(rec);
    if (checkpoint.copying() && !continues)
      if (Outcome o = checkpoint.finish(pipe); !o.ok()) return o;
    if (Outcome o = take(rec, continues, applied); !o.ok() || !applied) return o;
    mid_tx = true;
    ++group_records;
    if (logging()) {
      log.append(payload);
      current_logged = true;
      if (log.bytes() + fold.bytes() > cfg.group.memory) {
        logged = false;  // the fold goes on, itself bounded (fold_record)
        log.release();
        log_tx_ends.clear();
      }
    }
    return apply_change(rec, payload);
  }

  // Whether the record is new to the target (`fresh`: above the committed high-water, and above what the open
  // transaction took already, as a stretch sent twice inside one group is not), and if so, it is taken into the open
  // transaction.
  Outcome take(const ChangeRecord& rec, bool continues, bool& fresh) {
    fresh = false;
    const Position pos{rec.commit_lsn(), rec.ordinal()};
    const std::string& source = rec.source().name();
    bool seen = positions.taken(source, pos);
    if (!seen && !continues) {
      Position hw;
      if (Outcome o = positions.high_water(pipe, source, hw); !o.ok()) return o;
      seen = pos <= hw;
    }
    if (seen) {
      ++stats.duplicates;
      return {};
    }
    if (!continues && rec.op() == shadowstream::v1::OPERATION_CHECKPOINT_BEGIN && grouping()) {
      // A checkpoint is its own target transaction, loaded with COPY: the group before it is committed first (and
      // goes on when another replay applied that group meanwhile).
      if (in_tx && !mid_tx && settle(finish()) == Step::kRedo) return Outcome::redo();
      plain_tx = true;
    }
    if (!continues) {
      begin();
      if (!positions.tracking(source)) {
        bool tracked = false;
        if (Outcome o = positions.track(pipe, source, pos, cfg.group.enabled, tracked); !o.ok()) return o;
        if (!tracked) {
          ++stats.duplicates;
          return {};
        }
      }
    }
    positions.take(source, pos, rec.commit_time());
    fresh = true;
    return {};
  }

  void begin() {
    if (in_tx) return;
    pipe.send("BEGIN");
    in_tx = true;
    group_start = std::chrono::steady_clock::now();
  }

  // Per source relation, resolved once: the target schema (for --create-tables) and the quoted target relation.
  const std::pair<std::string, std::string>& target(const ChangeRecord& rec) {
    std::string key = rec.schema();
    key += '\0';
    key += rec.table();
    auto it = targets.find(key);
    if (it != targets.end()) return it->second;
    auto [s, t] = map_table(cfg, rec.schema(), rec.table());
    return targets[key] = {s, quote_ident(s) + "." + quote_ident(t)};
  }

  Outcome apply_change(const ChangeRecord& rec, std::string_view payload) {
    const auto op = rec.op();
    if (op == shadowstream::v1::OPERATION_CHECKPOINT_BEGIN) return load_checkpoint(rec, payload);
    if (checkpoint.copying()) {
      checkpoint.put(pipe, rec);
      return {};
    }
    if (op == shadowstream::v1::OPERATION_SCHEMA) return apply_schema(rec, payload);
    if (!is_change(op)) {
      ++stats.ignored;
      return {};
    }
    const auto& [schema, table] = target(rec);
    if (Outcome o = follow(rec, schema, table, payload); !o.ok()) return o;
    // A checkpoint's rows go in by COPY (with --on-error skip or log each row keeps its own statement and savepoint,
    // so that a bad one is isolated).
    if (checkpoint.loading() && op == shadowstream::v1::OPERATION_SNAPSHOT && cfg.on_error == OnError::kStop) {
      if (Outcome o = pipe.drain(); !o.ok()) return o;
      if (Outcome o = checkpoint.start(pipe, rec, table); !o.ok()) return o;
      checkpoint.put(pipe, rec);
      return {};
    }
    if (op == shadowstream::v1::OPERATION_TRUNCATE) {
      if (Outcome o = flush_fold(); !o.ok()) return o;
      bool cascade = false;
      if (cfg.create_tables && !rec.truncate_cascade())
        if (Outcome o = schemas.cascades(pipe, follower, rec, table, cascade); !o.ok() || cascade)
          return o.ok() ? apply_row(with_cascade(rec), payload, table) : o;
    } else if (grouping()) {
      bool joined = false;
      if (Outcome o = fold_record(rec, payload, table, joined); !o.ok() || joined) return o;
    }
    return apply_row(rec, payload, table);
  }

  // A schema record (ss-capture install-ddl), only with --create-tables as every change to the target's tables:
  // the columns as a row of that shape would make them, then the rest of the definition (schema_apply.h).
  Outcome apply_schema(const ChangeRecord& rec, std::string_view payload) {
    if (!cfg.create_tables) {
      ++stats.ignored;
      return {};
    }
    const auto& d = rec.definition();
    if (!d.dropped_index().empty())
      return schemas.drop_index(pipe, follower, rec, map_table(cfg, rec.schema(), rec.table()).first, payload);
    const std::string& schema = target(rec).first;  // named, not bound: the lambda below takes them
    const std::string& table = target(rec).second;
    // The table's rows folded before the change go in first; other tables' stay in the group, unless a key may
    // reference them (making one reads both tables).
    const bool keys =
        std::any_of(d.constraints().begin(), d.constraints().end(), [](auto& k) { return k.type() == "f"; });
    if (Outcome o = flush_fold(keys ? nullptr : &table); !o.ok()) return o;
    folder.forget(table);
    if (d.dropped()) return schemas.drop_table(pipe, follower, rec, table, payload);
    return schemas.apply(pipe, follower, rec, schema, table, payload,
                         [&] { return follow(shape_record(rec), schema, table, payload); });
  }

  // The target follows the source's relations (--create-tables) and shapes, before the record.
  Outcome follow(const ChangeRecord& rec, const std::string& schema, const std::string& table,
                 std::string_view payload) {
    if (cfg.create_tables) {
      RelationPlan plan;
      if (Outcome o = follower.plan_relation(pipe, rec, table, plan); !o.ok()) return o;
      if (!plan.known) {
        // Rows folded under either name go in before the names change.
        if (Outcome o = !plan.was.empty() ? flush_fold() : plan.drop ? flush_fold(&table) : Outcome{}; !o.ok())
          return o;
        if (!plan.was.empty()) folder.forget(plan.was);
        if (plan.drop || !plan.was.empty()) folder.forget(table);
        if (Outcome o = follower.change_relation(pipe, rec, table, payload, plan); !o.ok()) return o;
      }
      if (Outcome o = follower.ensure_table(pipe, rec, schema, table, payload); !o.ok()) return o;
    }
    if (rec.shape_id() == 0 || rec.op() == shadowstream::v1::OPERATION_TRUNCATE ||
        follower.knows(table, rec.shape_id()))
      return {};
    // Its rows folded in the old shape go in before it changes.
    if (Outcome o = flush_fold(&table); !o.ok()) return o;
    bool altered = false;
    Outcome o = follower.follow_shape(pipe, rec, table, payload, altered);
    if (altered) folder.forget(table);
    return o;
  }

  void skip(const std::string& msg) {
    ++stats.failed;
    if (cfg.on_error == OnError::kLog) log::warn("skipped: " + msg);
  }

  // One record as its own statement. `as_insert`: the record's row is inserted whatever its operation (a folded
  // row; with `upsert_key`, updated in place when the key exists).
  Outcome apply_row(const ChangeRecord& rec, std::string_view payload, const std::string& table, bool as_insert = false,
                    const std::vector<std::string>* upsert_key = nullptr) {
    std::optional<Statement> st;
    try {
      st = as_insert ? build_insert(rec, table, upsert_key) : build_statement(rec, table);
    } catch (const Error& e) {
      if (cfg.on_error == OnError::kStop) return Failure{Origin::of(rec, payload), e.what()};
      if (logging()) return Outcome::redo();
      skip(where_text(rec) + ": " + e.what());
      return {};
    }
    const auto op = rec.op();
    const bool counts_rows =
        !as_insert && (op == shadowstream::v1::OPERATION_UPDATE || op == shadowstream::v1::OPERATION_DELETE);
    if (cfg.on_error == OnError::kStop) {
      pipe.send_statement(*st, Origin::of(rec, payload), counts_rows);
      return pipe.unsynced() >= cfg.pipeline_depth ? pipe.drain() : Outcome{};
    }
    // skip/log: each row in its own savepoint, so a failing one is undone alone and the transaction goes on.
    pipe.send("SAVEPOINT ss_apply");
    pipe.send_statement(*st, Origin::of(rec, payload), counts_rows);
    pipe.send("RELEASE SAVEPOINT ss_apply");
    Outcome o = pipe.drain();
    if (o.ok() || o.failure()->origin.control()) return o;
    // In a group, the change is skipped (and reported) once, when the group is applied again without grouping.
    if (logging()) return Outcome::redo();
    pipe.send("ROLLBACK TO SAVEPOINT ss_apply");
    pipe.send("RELEASE SAVEPOINT ss_apply");
    if (Outcome undo = pipe.drain(); !undo.ok()) return undo;
    skip(where_text(rec) + ": " + o.failure()->error);
    return {};
  }

  // --- Grouping: folded rows, applied per table with COPY and set-based statements ---

  // `joined`: the record joined the fold; otherwise it is to be applied as its own statement (after whatever of its
  // table was folded before it).
  Outcome fold_record(const ChangeRecord& rec, std::string_view payload, const std::string& table, bool& joined) {
    joined = false;
    bool foldable = false;
    if (Outcome o = folder.foldable(pipe, rec, table, foldable); !o.ok() || !foldable) return o;
    for (;;) {
      switch (fold.add(table, rec, payload)) {
        case fold::Added::kFolded:
          joined = true;
          return fold.bytes() > cfg.group.memory ? flush_fold() : Outcome{};
        case fold::Added::kOtherShape:
          if (Outcome o = flush_fold(&table); !o.ok()) return o;
          continue;
        case fold::Added::kUnfoldable:
          return flush_fold(&table);
      }
    }
  }

  // Applies what is folded (of one table, or of all), inside the open transaction.
  Outcome flush_fold(const std::string* only = nullptr) {
    if (fold.empty()) return {};
    if (Outcome o = pipe.drain(); !o.ok()) return o;
    if (only) {
      fold::Table t = fold.take(*only);
      return t.entries.empty() ? Outcome{} : apply_folded(t);
    }
    for (fold::Table& t : fold.tables())
      if (Outcome o = apply_folded(t); !o.ok()) return o;
    fold.clear();
    return {};
  }

  Outcome apply_folded(fold::Table& t) {
    bool together = false;
    uint64_t folded = 0;
    if (Outcome o = folder.load(pipe, t, together, folded); !o.ok()) return o;
    if (together) {
      stats.folded += folded;
      group_folded += folded;
      return {};
    }
    if (logged) return Outcome::redo();
    // Each row alone, so that the one at fault is found, named with its position, and (skip, log) left out while
    // the others go in.
    const std::vector<std::string>& pk = folder.primary_key(t.target);
    ChangeRecord rec;
    for (const fold::Entry& e : t.entries) {
      if (e.dead) continue;
      rec.ParseFromString(e.payload);
      const bool insert = e.kind == fold::Kind::kUpsert;
      if (Outcome o = apply_row(rec, e.payload, t.target, insert, insert && !e.from_insert ? &pk : nullptr); !o.ok())
        return o;
    }
    return pipe.drain();
  }

  // The group's folded rows failed to go in together: it is rolled back and applied again from its log without
  // grouping, committing each complete source transaction. The rest of an incomplete one goes on without grouping
  // too, and grouping resumes after it.
  void redo() {
    fold::RecordLog data;
    std::swap(data, log);
    std::vector<size_t> tx_ends;
    std::swap(tx_ends, log_tx_ends);
    const uint64_t applied = pipe.tally().in_tx, folded = group_folded;
    abandon();
    pipe.tally().statements -= applied;
    stats.folded -= folded;
    // The high-water read under the group's lock may be past what this replay committed; the records at or below it
    // are duplicates again.
    auto settled = [&](const Outcome& o) {
      if (settle(o) == Step::kRedo)
        throw Error(kExitSoftware, "a group applied again without grouping failed as a group");
    };
    size_t tx = 0;
    ChangeRecord rec;
    for (size_t i = 0; i < data.size(); ++i) {
      plain_tx = true;
      std::string_view payload = data[i];
      rec.ParseFromArray(payload.data(), static_cast<int>(payload.size()));
      bool applied_rec = false;
      settled(apply(rec, payload, applied_rec));
      if (tx < tx_ends.size() && tx_ends[tx] == i + 1) {
        ++tx;
        settled(commit());
      }
      while (tx < tx_ends.size() && tx_ends[tx] <= i + 1) ++tx;
    }
  }

  // --- Checkpoints ---

  // A checkpoint above the target's high-water replaces its tables' contents: rows deleted between the target's
  // position and the checkpoint's are in none of its records, so the tables are emptied first, in the checkpoint's
  // own transaction (TRUNCATE's lock makes readers of those tables wait until its end marker commits it). A target at
  // or above the checkpoint never gets here: the position check drops it, and the changes after it roll the target
  // forward.
  Outcome load_checkpoint(const ChangeRecord& rec, std::string_view payload) {
    // The tables as the checkpoint found them, before their rows: every table first, emptied (in one statement:
    // keys between them refuse one at a time), then the keys between them (made on empty tables) and the sequences'
    // values.
    auto definitions = [&](int pass) {
      schemas.checkpoint_pass(pass);
      for (const auto& t : rec.checkpoint().tables())
        if (t.has_definition())
          if (Outcome o = apply_schema(schema_record_of(t), payload); !o.ok()) return o;
      schemas.checkpoint_pass(0);
      return Outcome{};
    };
    if (Outcome o = definitions(1); !o.ok()) return o;
    std::string tables;
    for (const auto& t : rec.checkpoint().tables()) {
      const std::string& table = target(schema_record_of(t)).second;
      bool exists = false;
      if (Outcome o = follower.table_exists(pipe, table, exists); !o.ok()) return o;
      if (exists) tables += (tables.empty() ? "" : ", ") + table;
    }
    if (!tables.empty()) follower.run_ddl(pipe, rec, "TRUNCATE TABLE " + tables, payload);
    if (Outcome o = definitions(2); !o.ok()) return o;
    checkpoint.begin();
    return {};
  }

  // --- Commits ---

  // The end of a source transaction.
  Outcome commit() {
    if (Outcome o = checkpoint.finish(pipe); !o.ok()) return o;
    checkpoint.end();
    const bool had = mid_tx;
    mid_tx = false;
    if (!in_tx) {
      plain_tx = false;
      return {};
    }
    if (had) ++group_txs;
    if (logging()) {
      if (log.size() > (log_tx_ends.empty() ? 0 : log_tx_ends.back())) log_tx_ends.push_back(log.size());
      if (group_records < cfg.group.records &&
          std::chrono::steady_clock::now() - group_start < std::chrono::microseconds(cfg.group.time_us))
        return {};
    }
    Outcome o = finish();
    plain_tx = false;
    return o;
  }

  // Commits the open target transaction with its new high-water positions.
  Outcome finish() {
    if (Outcome o = flush_fold(); !o.ok()) return o;
    if (!in_tx) return {};
    positions.send_writes(pipe);
    pipe.send("COMMIT");
    if (Outcome o = pipe.drain(); !o.ok()) return o;
    positions.committed();
    stats.transactions += group_txs;
    ++stats.commits;
    reset_tx();
    if (schemas.queued()) {
      pipe.leave();
      schemas.build_queued(pipe);
      pipe.enter();
    }
    return {};
  }
};

Applier::Applier(const Config& cfg) : impl_(std::make_unique<Impl>(cfg)) {}
Applier::~Applier() {
  if (impl_ && impl_->in_tx) {
    try {
      impl_->abandon();
    } catch (const Error&) {
      // The server rolls back an abandoned transaction when the connection closes.
    }
  }
}
bool Applier::apply(const ChangeRecord& rec, std::string_view payload) {
  // At most twice: a record not yet logged when its group failed goes into a new group, whose failure (if any)
  // comes with the record logged.
  for (;;) {
    bool applied = false;
    if (impl_->settle(impl_->apply(rec, payload, applied)) != Impl::Step::kRedo) return applied;
    const bool logged = impl_->current_logged;
    impl_->redo();
    if (logged) return true;  // applied again with the rest of its group
  }
}
void Applier::commit() {
  if (impl_->settle(impl_->commit()) == Impl::Step::kRedo) impl_->redo();
}
void Applier::flush() {
  const bool ends_group = impl_->grouping() && impl_->in_tx && !impl_->mid_tx;
  if (impl_->settle(ends_group ? impl_->finish() : impl_->pipe.drain()) == Impl::Step::kRedo) impl_->redo();
}
void Applier::rollback() {
  if (impl_->grouping() && impl_->group_txs > 0)
    log::warn("rolling back the target transaction: the " + std::to_string(impl_->group_txs) +
              " whole source transactions grouped in it are not applied either (a rerun applies them)");
  impl_->abandon();
}
bool Applier::in_transaction() const {
  return impl_->in_tx;
}
void Applier::require_base(const ChangeRecord& marker) {
  const std::string& source = marker.source().name();
  const Position base{marker.commit_lsn(), marker.ordinal()};
  Position hw;
  if (Outcome o = impl_->positions.high_water(impl_->pipe, source, hw); !o.ok()) impl_->stop(*o.failure());
  // The archive names records without a source kDefaultSource (defaults.h); the target keeps them under "".
  if (hw.is_zero() && source == kDefaultSource)
    if (Outcome o = impl_->positions.high_water(impl_->pipe, "", hw); !o.ok()) impl_->stop(*o.failure());
  if (holds_base(hw, base)) return;
  const std::string held = "the target holds " +
                           (hw.is_zero() ? "none of source " + source + "'s changes"
                                         : source + "'s changes up to " + format_position(hw) + " only") +
                           ", and this window starts after " + format_position(base);
  if (!impl_->cfg.no_base)
    throw Error(kExitDataErr, held +
                                  ": its updates and deletes would miss rows; build the base first (ss-archive read "
                                  "--as-of START | ss-replay --speed max --to ...), or pass --no-base");
  if (!impl_->warned_base) log::warn("--no-base: " + held + ": rows changed before it are missing or stale");
  impl_->warned_base = true;
}
const Stats& Applier::stats() const {
  impl_->stats.applied = impl_->pipe.tally().statements;
  impl_->stats.not_found = impl_->pipe.tally().not_found;
  return impl_->stats;
}
}  // namespace ss::apply
