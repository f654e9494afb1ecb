#include "pg/shape_follower.h"

#include <algorithm>
#include <cstdlib>
#include <cstring>

#include "core/log.h"
#include "core/position.h"
#include "core/type_name.h"

namespace ss::apply {

using shadowstream::v1::ChangeRecord;
using shadowstream::v1::Column;

namespace {
std::string at_position(const ChangeRecord& rec) {
  return format_position({rec.commit_lsn(), rec.ordinal()});
}
}  // namespace

ShapeFollower::ShapeFollower(bool create_tables, std::string relations)
    : create_tables_(create_tables), relations_(std::move(relations)) {}

std::string ShapeFollower::create_sql() const {
  if (!create_tables_) return {};
  return "CREATE TABLE IF NOT EXISTS " + relations_ +
         " (source text NOT NULL, relation_oid bigint NOT NULL, target text NOT NULL, PRIMARY KEY (source, "
         "relation_oid));";
}

bool ShapeFollower::knows(const std::string& table, uint64_t shape) const {
  auto it = shapes_.find(table);
  return it != shapes_.end() && it->second.shape == shape;
}

void ShapeFollower::run_ddl(Pipeline& p, const ChangeRecord& rec, const std::string& sql, std::string_view payload) {
  log::info(at_position(rec) + ": " + sql);
  p.send(sql, {}, Origin::of(rec, payload));
}

Outcome ShapeFollower::table_exists(Pipeline& p, const std::string& table, bool& exists) {
  pg::Result r;
  Outcome o = p.query("SELECT to_regclass($1) IS NOT NULL", {table}, r);
  exists = o.ok() && std::strcmp(PQgetvalue(r.get(), 0, 0), "t") == 0;
  return o;
}

Outcome ShapeFollower::registered(Pipeline& p, const std::string& source, uint32_t oid, const std::string& table,
                                  bool& yes) {
  pg::Result r;
  Outcome o = p.query("SELECT EXISTS (SELECT FROM " + relations_ +
                          " WHERE source = $1 AND ($2::bigint = 0 OR relation_oid = $2::bigint) AND target = $3)",
                      {source, std::to_string(oid), table}, r);
  yes = o.ok() && std::strcmp(PQgetvalue(r.get(), 0, 0), "t") == 0;
  return o;
}

void ShapeFollower::unregister(Pipeline& p, const std::string& source, const std::string& table) {
  p.send("DELETE FROM " + relations_ + " WHERE source = $1 AND target = $2", {source, table});
}

Outcome ShapeFollower::referenced(Pipeline& p, const std::string& source, const std::string& table, bool& referenced,
                                  bool& all_ours) {
  pg::Result r;
  // Every table whose keys reach this one (itself included, once).
  Outcome o = p.query(
      "WITH RECURSIVE refs(rel) AS (SELECT to_regclass($2)::oid UNION SELECT k.conrelid FROM pg_constraint k JOIN "
      "refs ON k.confrelid = refs.rel WHERE k.contype = 'f') SELECT count(*) > 1, NOT EXISTS (SELECT FROM refs WHERE "
      "NOT EXISTS (SELECT FROM " +
          relations_ + " g WHERE g.source = $1 AND to_regclass(g.target) = refs.rel)) FROM refs",
      {source, table}, r);
  referenced = o.ok() && std::strcmp(PQgetvalue(r.get(), 0, 0), "t") == 0;
  all_ours = o.ok() && std::strcmp(PQgetvalue(r.get(), 0, 1), "t") == 0;
  return o;
}

Outcome ShapeFollower::keys_to(Pipeline& p, const std::string& source, const std::string& table,
                               std::vector<std::string>& drops) {
  pg::Result r;
  Outcome o = p.query(
      "SELECT format('ALTER TABLE %s DROP CONSTRAINT %I', k.conrelid::regclass, k.conname) FROM pg_constraint "
      "k WHERE k.confrelid = to_regclass($2) AND k.conrelid <> k.confrelid AND k.contype = 'f' AND EXISTS "
      "(SELECT FROM " +
          relations_ + " g WHERE g.source = $1 AND to_regclass(g.target) = k.conrelid)",
      {source, table}, r);
  drops.clear();
  for (int i = 0; o.ok() && i < PQntuples(r.get()); ++i) drops.emplace_back(PQgetvalue(r.get(), i, 0));
  return o;
}

Outcome ShapeFollower::index_registered(Pipeline& p, const std::string& source, const std::string& index, bool& yes) {
  pg::Result r;
  Outcome o = p.query("SELECT EXISTS (SELECT FROM " + relations_ +
                          " r JOIN pg_index i ON i.indrelid = to_regclass(r.target) WHERE r.source = $1 AND "
                          "i.indexrelid = to_regclass($2))",
                      {source, index}, r);
  yes = o.ok() && std::strcmp(PQgetvalue(r.get(), 0, 0), "t") == 0;
  return o;
}

// The target's own spelling of a column's type. A built-in type is named by OID; any other by its name, parsed into
// identifiers and looked up on the target (see core/type_name.h): a name that is not a type name, or a type the
// target lacks, stops the replay at this record (65) before any DDL is sent.
Outcome ShapeFollower::sql_type(Pipeline& p, const ChangeRecord& rec, const Column& c, std::string_view payload,
                                std::string& out) {
  const std::string typmod = std::to_string(c.type_modifier());
  pg::Result r;
  if (c.type_oid() != 0 && c.type_oid() < kFirstNormalObjectId) {
    if (Outcome o = p.query("SELECT format_type($1::oid, $2::int)", {std::to_string(c.type_oid()), typmod}, r); !o.ok())
      return o;
    out = PQgetvalue(r.get(), 0, 0);
    return {};
  }
  std::optional<TypeRef> ref = parse_type_name(c.type_name());
  if (!ref)
    return Failure{Origin::of(rec, payload),
                   "column " + c.name() + " has type name " + c.type_name() +
                       ", which is not a type name (name or schema.name, each part bare or \"quoted\", then []s)"};
  if (Outcome o = p.query("SELECT format_type(to_regtype($1), $2::int)", {regtype_text(*ref), typmod}, r); !o.ok())
    return o;
  if (PQgetisnull(r.get(), 0, 0))
    return Failure{Origin::of(rec, payload),
                   "column " + c.name() + " has type " + c.type_name() +
                       ", which the target does not have: create the type on the target first (--create-tables "
                       "makes tables, not types)"};
  out = PQgetvalue(r.get(), 0, 0);
  return {};
}

Outcome ShapeFollower::target_columns(Pipeline& p, const std::string& table, std::vector<shape::TargetColumn>& out) {
  pg::Result r;
  Outcome o = p.query(
      "SELECT a.attname, a.atttypid, n.nspname, t.typname, a.atttypmod, coalesce(a.attnum = ANY(i.indkey), false) "
      "FROM pg_attribute a JOIN pg_type t ON t.oid = a.atttypid JOIN pg_namespace n ON n.oid = t.typnamespace "
      "LEFT JOIN pg_index i ON i.indrelid = a.attrelid AND i.indisprimary "
      "WHERE a.attrelid = $1::regclass AND a.attnum > 0 AND NOT a.attisdropped AND a.attgenerated = '' "
      "ORDER BY a.attnum",
      {table}, r);
  out.clear();
  if (!o.ok()) return o;
  for (int i = 0; i < PQntuples(r.get()); ++i)
    out.push_back({PQgetvalue(r.get(), i, 0),
                   static_cast<uint32_t>(std::strtoul(PQgetvalue(r.get(), i, 1), nullptr, 10)),
                   catalog_type_name(PQgetvalue(r.get(), i, 2), PQgetvalue(r.get(), i, 3)),
                   std::atoi(PQgetvalue(r.get(), i, 4)), PQgetvalue(r.get(), i, 5)[0] == 't'});
  return {};
}

// The target takes the new shape in the same transaction as the record: a replay that stops leaves the table as it
// was, and a rerun finds nothing to change. A target the user manages (no --create-tables) is never altered: a
// record with columns it lacks stops the replay before anything of the transaction is applied.
Outcome ShapeFollower::follow_shape(Pipeline& p, const ChangeRecord& rec, const std::string& table,
                                    std::string_view payload, bool& altered) {
  altered = false;
  TargetShape& ts = shapes_[table];
  if (ts.shape == rec.shape_id()) return {};
  if (!checked_.count(table) && !create_tables_) {
    bool exists = false;
    if (Outcome o = table_exists(p, table, exists); !o.ok() || !exists) return o;  // the insert says so
  }
  if (Outcome o = target_columns(p, table, ts.columns); !o.ok()) return o;
  shape::Change ch = shape::compare(rec, ts.columns);
  // Under REPLICA IDENTITY FULL the records name no key (every column is flagged): the target keeps the key it has,
  // as the source keeps its own (a schema record says which that is).
  if (rec.replica_identity() == "f") ch.key_changed = false;
  // Without --create-tables, extra columns or other types in a table the user shaped are theirs to decide.
  if (ch.empty() || (!create_tables_ && ch.added.empty())) {
    ts.shape = rec.shape_id();
    return {};
  }
  if (!create_tables_) {
    std::string missing;
    for (const Column* c : ch.added) missing += (missing.empty() ? "" : ", ") + c->name() + " " + c->type_name();
    return Failure{{},
                   "target table " + table + " lacks column(s) " + missing + " that " + where_text(rec) +
                       " has; rerun with --create-tables to evolve the target, or add them"};
  }
  log::info(table + " changes shape at " + at_position(rec) + ": " + shape::describe(ch, ts.columns));
  altered = true;
  if (Outcome o = alter(p, rec, table, payload, ch, ts.columns); !o.ok()) return o;
  if (Outcome o = p.drain(); !o.ok()) return o;
  TargetShape& now = shapes_[table];
  now.shape = rec.shape_id();
  now.columns.clear();
  return {};
}

std::vector<std::string> alter_statements(const std::string& table, const shape::Change& ch, const std::string& old_key,
                                          const std::vector<std::string>& added_types,
                                          const std::vector<std::string>& retyped_types,
                                          const std::function<std::string(const std::string&)>& literal) {
  const std::string alter = "ALTER TABLE " + table + " ";
  std::vector<std::string> ddl;
  if (ch.key_changed && !old_key.empty()) ddl.push_back(alter + "DROP CONSTRAINT " + quote_ident(old_key));
  for (const std::string& d : ch.dropped) ddl.push_back(alter + "DROP COLUMN " + quote_ident(d));
  for (size_t i = 0; i < ch.added.size(); ++i) {
    const Column& c = *ch.added[i];
    const std::string& type = added_types.at(i);
    const std::string col = quote_ident(c.name());
    if (!c.has_missing_value()) {
      ddl.push_back(alter + "ADD COLUMN " + col + " " + type);
      continue;
    }
    // Rows already in the shadow are the source's rows older than the column: they read its missing value.
    ddl.push_back(alter + "ADD COLUMN " + col + " " + type + " DEFAULT " + literal(c.missing_value()) + "::" + type);
    ddl.push_back(alter + "ALTER COLUMN " + col + " DROP DEFAULT");
  }
  for (size_t i = 0; i < ch.retyped.size(); ++i) {
    const std::string col = quote_ident(ch.retyped[i]->name());
    const std::string& type = retyped_types.at(i);
    ddl.push_back(alter + "ALTER COLUMN " + col + " TYPE " + type + " USING " + col + "::" + type);
  }
  if (ch.key_changed && !ch.key.empty()) {
    std::string key;
    for (const std::string& k : ch.key) key += (key.empty() ? "" : ", ") + quote_ident(k);
    ddl.push_back(alter + "ADD PRIMARY KEY (" + key + ")");
  }
  return ddl;
}

Outcome ShapeFollower::alter(Pipeline& p, const ChangeRecord& rec, const std::string& table, std::string_view payload,
                             const shape::Change& ch, const std::vector<shape::TargetColumn>& had) {
  std::string old_key;
  if (ch.key_changed && std::any_of(had.begin(), had.end(), [](auto& c) { return c.is_key; })) {
    pg::Result r;
    if (Outcome o =
            p.query("SELECT conname FROM pg_constraint WHERE conrelid = $1::regclass AND contype = 'p'", {table}, r);
        !o.ok())
      return o;
    if (PQntuples(r.get()) == 1) old_key = PQgetvalue(r.get(), 0, 0);
  }
  std::vector<std::string> added(ch.added.size()), retyped(ch.retyped.size());
  for (size_t i = 0; i < ch.added.size(); ++i)
    if (Outcome o = sql_type(p, rec, *ch.added[i], payload, added[i]); !o.ok()) return o;
  for (size_t i = 0; i < ch.retyped.size(); ++i)
    if (Outcome o = sql_type(p, rec, *ch.retyped[i], payload, retyped[i]); !o.ok()) return o;
  auto literal = [&](const std::string& v) { return pg::quote_literal(p.conn(), v); };
  for (const std::string& sql : alter_statements(table, ch, old_key, added, retyped, literal))
    run_ddl(p, rec, sql, payload);
  return {};
}

Outcome ShapeFollower::plan_relation(Pipeline& p, const ChangeRecord& rec, const std::string& table,
                                     RelationPlan& plan) {
  plan = {};
  plan.known = true;
  if (rec.relation_oid() == 0) return {};
  const std::string& source = rec.source().name();
  auto& known = rel_targets_[rec.relation_oid()];
  auto mine = std::find_if(known.begin(), known.end(), [&](auto& k) { return k.first == source; });
  if (mine != known.end() && mine->second == table) return {};
  plan.known = false;
  const std::string oid = std::to_string(rec.relation_oid());
  std::string was;
  pg::Result r;
  if (mine != known.end()) {
    was = mine->second;
  } else {
    Outcome o =
        p.query("SELECT target FROM " + relations_ + " WHERE source = $1 AND relation_oid = $2", {source, oid}, r);
    if (!o.ok()) return o;
    if (PQntuples(r.get()) == 1) was = PQgetvalue(r.get(), 0, 0);
  }
  bool was_exists = false;
  if (!was.empty() && was != table) {
    if (Outcome o = table_exists(p, was, was_exists); !o.ok()) return o;
  }
  if (was_exists) {
    plan.was = was;
    return table_exists(p, table, plan.drop);  // the new name's old table is gone on the source too
  }
  if (!was.empty() && was == table) return {};
  // The name's table, if any, belongs to another OID of this source: a relation dropped and created again.
  Outcome o =
      p.query("SELECT relation_oid FROM " + relations_ + " WHERE source = $1 AND target = $2 AND relation_oid <> $3",
              {source, table, oid}, r);
  if (!o.ok() || PQntuples(r.get()) == 0) return o;
  plan.unregister = true;
  return table_exists(p, table, plan.drop);
}

Outcome ShapeFollower::change_relation(Pipeline& p, const ChangeRecord& rec, const std::string& table,
                                       std::string_view payload, const RelationPlan& plan) {
  const std::string& source = rec.source().name();
  if (plan.drop) run_ddl(p, rec, "DROP TABLE " + table, payload);
  if (!plan.was.empty()) {
    auto [s, t] = pg::split_table_name(table);
    auto [ws, wt] = pg::split_table_name(plan.was);
    if (s != ws) run_ddl(p, rec, "ALTER TABLE " + plan.was + " SET SCHEMA " + quote_ident(s), payload);
    if (t != wt)
      run_ddl(p, rec, "ALTER TABLE " + quote_ident(s) + "." + quote_ident(wt) + " RENAME TO " + quote_ident(t),
              payload);
    forget(plan.was);
  }
  if (plan.drop || !plan.was.empty()) forget(table);
  if (plan.unregister) p.send("DELETE FROM " + relations_ + " WHERE source = $1 AND target = $2", {source, table});
  p.send("INSERT INTO " + relations_ +
             " (source, relation_oid, target) VALUES ($1, $2, $3) "
             "ON CONFLICT (source, relation_oid) DO UPDATE SET target = excluded.target",
         {source, std::to_string(rec.relation_oid()), table});
  if (Outcome o = p.drain(); !o.ok()) return o;
  auto& known = rel_targets_[rec.relation_oid()];
  auto mine = std::find_if(known.begin(), known.end(), [&](auto& k) { return k.first == source; });
  if (mine != known.end())
    mine->second = table;
  else
    known.emplace_back(source, table);
  return {};
}

Outcome ShapeFollower::ensure_table(Pipeline& p, const ChangeRecord& rec, const std::string& schema,
                                    const std::string& table, std::string_view payload) {
  if (checked_.count(table)) return {};
  bool exists = false;
  if (Outcome o = table_exists(p, table, exists); !o.ok()) return o;
  if (!exists) {
    const auto& cols = rec.columns().empty() ? rec.old_columns() : rec.columns();
    if (cols.empty())
      return Failure{Origin::of(rec, payload),
                     "target table " + table + " does not exist and the record has no columns to create it from"};
    std::vector<std::string> types(static_cast<size_t>(cols.size()));
    for (int i = 0; i < cols.size(); ++i)
      if (Outcome o = sql_type(p, rec, cols[i], payload, types[static_cast<size_t>(i)]); !o.ok()) return o;
    p.send("CREATE SCHEMA IF NOT EXISTS " + quote_ident(schema), {}, Origin::of(rec, payload));
    p.send(create_table_sql(table, cols, types, rec.replica_identity() != "f"), {}, Origin::of(rec, payload));
    if (Outcome o = p.drain(); !o.ok()) return o;
    log::info("created target table " + table);
  }
  checked_.insert(table);
  return {};
}

void ShapeFollower::forget(const std::string& table) {
  checked_.erase(table);
  shapes_.erase(table);
}

void ShapeFollower::clear() {
  checked_.clear();
  shapes_.clear();
  rel_targets_.clear();
}

}  // namespace ss::apply
