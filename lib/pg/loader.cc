#include "pg/loader.h"

#include <algorithm>
#include <cstdlib>

#include "core/log.h"
#include "pg/copy_text.h"

namespace ss::apply {

using shadowstream::v1::ChangeRecord;
using shadowstream::v1::Column;

Outcome FoldLoader::check(Pipeline& p, const std::string& table, Target& t) {
  pg::Result r;
  Outcome o = p.query(
      "SELECT a.attname, EXISTS (SELECT 1 FROM pg_index u WHERE u.indrelid = i.indrelid AND u.indisunique AND "
      "NOT u.indisprimary) OR EXISTS (SELECT 1 FROM pg_constraint c WHERE c.contype = 'f' AND (c.conrelid = "
      "i.indrelid OR c.confrelid = i.indrelid)) OR EXISTS (SELECT 1 FROM pg_trigger g WHERE g.tgrelid = "
      "i.indrelid AND NOT g.tgisinternal) FROM pg_index i JOIN pg_attribute a ON a.attrelid = i.indrelid AND "
      "a.attnum = ANY (i.indkey) WHERE i.indrelid = to_regclass($1) AND i.indisprimary",
      {table}, r);
  if (!o.ok()) return o;
  t = {};
  t.checked = true;
  for (int i = 0; i < PQntuples(r.get()); ++i) {
    t.pk.push_back(PQgetvalue(r.get(), i, 0));
    t.blocked = t.blocked || PQgetvalue(r.get(), i, 1)[0] == 't';
  }
  std::sort(t.pk.begin(), t.pk.end());
  return {};
}

Outcome FoldLoader::foldable(Pipeline& p, const ChangeRecord& rec, const std::string& table, bool& yes) {
  yes = false;
  Target& t = targets_[table];
  if (!t.checked)
    if (Outcome o = check(p, table, t); !o.ok()) return o;
  if (t.blocked || t.pk.empty()) return {};
  if (!t.shape_known || t.shape != rec.shape_id()) {
    std::vector<std::string> names;
    for (const Column& c : rec.op() == shadowstream::v1::OPERATION_DELETE ? rec.old_columns() : rec.columns())
      if (c.is_key()) names.push_back(c.name());
    std::sort(names.begin(), names.end());
    t.shape_known = true;
    t.shape = rec.shape_id();
    t.keys_match = names == t.pk;
  }
  yes = t.keys_match;
  return {};
}

// The rows through COPY: straight into the target when it is empty or they are all new (nothing there to update or
// delete), else into a temporary table that a delete, an update and two inserts apply.
Outcome FoldLoader::load_rows(Pipeline& p, fold::Table& t, const std::vector<std::string>& cols, const Kinds& n,
                              bool into_empty) {
  const FoldSql sql = fold_sql(t.target, "ss_fold_" + std::to_string(++tables_), cols, primary_key(t.target));
  size_t next = 0;
  bool uniform = true;
  auto fill = [&](std::string& out) {
    while (next < t.entries.size()) {
      const fold::Entry& e = t.entries[next++];
      if (e.dead || (into_empty && e.kind != fold::Kind::kUpsert)) continue;
      rec_.ParseFromString(e.payload);
      if (!append_fold_line(out, e, rec_, cols, !into_empty)) {
        uniform = false;
        next = t.entries.size();
        return false;
      }
      return next < t.entries.size();
    }
    return false;
  };
  if (into_empty) {
    Outcome o = p.copy_in(sql.copy_direct, buf_, fill);
    if (o.ok() && !uniform) return Failure{{}, "rows of more than one set of columns"};
    // An update or a delete finds no row in an empty table (a delete's row was there before the group, or it would
    // have folded away with its insert).
    if (o.ok()) p.tally().not_found += n.updates + n.deletes;
    return o;
  }
  if (Outcome o = p.exec(sql.create); !o.ok()) return o;
  if (Outcome o = p.copy_in(sql.copy, buf_, fill); !o.ok()) return o;
  if (!uniform) return Failure{{}, "rows of more than one set of columns"};
  if (n.deletes) {
    pg::Result r;
    if (Outcome o = p.exec(sql.del, &r); !o.ok()) return o;
    p.tally().not_found += n.deletes - std::strtoull(PQcmdTuples(r.get()), nullptr, 10);
  }
  if (n.updates && !sql.update.empty()) {
    pg::Result r;
    if (Outcome o = p.exec(sql.update, &r); !o.ok()) return o;
    p.tally().not_found += n.updates - std::strtoull(PQcmdTuples(r.get()), nullptr, 10);
  }
  if (n.inserts)
    if (Outcome o = p.exec(sql.insert); !o.ok()) return o;
  if (n.upserts)
    if (Outcome o = p.exec(sql.upsert); !o.ok()) return o;
  return {};
}

Outcome FoldLoader::load(Pipeline& p, fold::Table& t, bool& together, uint64_t& folded) {
  together = true;
  folded = 0;
  p.tally().not_found += t.not_found;
  size_t live = 0;
  Kinds n;
  const fold::Entry* model = nullptr;
  for (const fold::Entry& e : t.entries) {
    if (e.dead) continue;
    ++live;
    if (e.kind == fold::Kind::kUpsert) ++(e.from_insert ? n.inserts : n.upserts);
    if (e.kind == fold::Kind::kUpdate) ++n.updates;
    if (e.kind == fold::Kind::kDelete) ++n.deletes;
    if (!model || (model->kind == fold::Kind::kDelete && e.kind != fold::Kind::kDelete)) model = &e;
  }
  auto count = [&] {
    p.tally().statements += t.records;
    p.tally().in_tx += t.records;
    folded = t.records - live;
  };
  if (!model) {
    count();
    return {};
  }
  // The rows' columns: those of an insert or update (deletes carry only their key).
  rec_.ParseFromString(model->payload);
  std::vector<std::string> cols;
  for (const Column& c : model->kind == fold::Kind::kDelete ? rec_.old_columns() : rec_.columns())
    cols.push_back(c.name());

  p.leave();
  Outcome o = p.exec("SAVEPOINT ss_fold");
  // Rows the group only inserted cannot be in the target (the chain began with their insert): they go straight in
  // by COPY as into an empty table, whatever the table holds. Otherwise, straight in only when it holds nothing.
  bool empty = n.inserts == live;
  if (o.ok() && !empty && (n.inserts || n.upserts)) {
    pg::Result r;
    o = p.exec("SELECT NOT EXISTS (SELECT 1 FROM " + t.target + ")", &r);
    empty = o.ok() && PQgetvalue(r.get(), 0, 0)[0] == 't';
  }
  if (o.ok()) o = load_rows(p, t, cols, n, empty);
  if (o.ok()) o = p.exec("RELEASE SAVEPOINT ss_fold");
  if (!o.ok()) {
    Outcome undo = p.exec("ROLLBACK TO SAVEPOINT ss_fold");
    if (undo.ok()) undo = p.exec("RELEASE SAVEPOINT ss_fold");
    if (!undo.ok()) {
      p.enter();
      return undo;
    }
  }
  p.enter();
  if (o.ok()) {
    count();
    return {};
  }
  log::debug("the folded rows of " + t.target + " cannot go in together: " + o.failure()->error);
  together = false;
  return {};
}

std::string CheckpointLoader::key_of(const ChangeRecord& rec) {
  return rec.schema() + '\0' + rec.table() + '\0' + std::to_string(rec.shape_id());
}

bool CheckpointLoader::continues(const ChangeRecord& rec) const {
  return copying_ && rec.op() == shadowstream::v1::OPERATION_SNAPSHOT && key_ == key_of(rec) &&
         rec.source().name() == source_;
}

// COPY cannot run in a pipeline: the pipeline is left for the COPY's duration.
Outcome CheckpointLoader::start(Pipeline& p, const ChangeRecord& rec, const std::string& table) {
  p.leave();
  if (Outcome o = p.copy_start(copy_rows_sql(table, rec)); !o.ok()) {
    p.enter();
    return Failure{Origin::named("the checkpoint rows of " + table), o.failure()->error};
  }
  copying_ = true;
  key_ = key_of(rec);
  source_ = rec.source().name();
  table_ = table;
  rows_ = 0;
  return {};
}

void CheckpointLoader::put(Pipeline& p, const ChangeRecord& rec) {
  append_copy_row(line_, rec);
  p.copy_put(line_);
  ++rows_;
}

Outcome CheckpointLoader::close(Pipeline& p, const char* abort_message) {
  copying_ = false;
  if (abort_message)
    line_.clear();
  else
    p.copy_put(line_, true);
  Outcome o = p.copy_end(abort_message);
  p.enter();
  return o;
}

Outcome CheckpointLoader::finish(Pipeline& p) {
  if (!copying_) return {};
  if (Outcome o = close(p, nullptr); !o.ok())
    return Failure{Origin::named("the checkpoint rows of " + table_), o.failure()->error};
  p.tally().statements += rows_;
  p.tally().in_tx += rows_;
  return {};
}

void CheckpointLoader::abandon(Pipeline& p) {
  if (copying_) (void)close(p, "abandoned");
}

}  // namespace ss::apply
