#include "pg/schema_apply.h"

#include <algorithm>
#include <charconv>
#include <cstdio>
#include <cstring>
#include <functional>

#include "core/error.h"
#include "core/log.h"
#include "core/position.h"
#include "core/shape.h"
#include "core/type_name.h"
#include "pg/conn.h"
#include "pg/statements.h"

namespace ss::apply {

using shadowstream::v1::ChangeRecord;
using shadowstream::v1::TableDefinition;

namespace {

// The functions the probe's objects call that a shadow may not run: any but the server's own (OID below 16384:
// not a user's, not an extension's, even one installed into pg_catalog), and of those the volatile ones, but for a
// few a default may call ($2). Read from the stored expressions (functions, operators' functions, row comparisons'
// operators, exclusion operators), and from pg_depend, which records every reference to a user's function or
// operator (and none to the server's own, which is why the trees are read too).
constexpr const char* kRefusedCalls =
    "WITH o AS (SELECT 'pg_attrdef'::regclass AS cls, oid, adbin::text AS tree FROM pg_attrdef WHERE adrelid = "
    "$1::regclass UNION ALL SELECT 'pg_constraint'::regclass, oid, coalesce(conbin::text, '') FROM pg_constraint "
    "WHERE conrelid = $1::regclass UNION ALL SELECT 'pg_class'::regclass, indexrelid, coalesce(indexprs::text, '') || "
    "coalesce(indpred::text, '') FROM pg_index WHERE indrelid = $1::regclass), "
    "f AS (SELECT m[2]::oid AS fn FROM o, regexp_matches(o.tree, ':(funcid|opfuncid|hashfuncid|negfuncid) ([0-9]+)', "
    "'g') AS m "
    "UNION SELECT op.oprcode FROM o, regexp_matches(o.tree, ':opno ([0-9]+)', 'g') AS m JOIN pg_operator op ON op.oid "
    "= m[1]::oid "
    "UNION SELECT op.oprcode FROM o, regexp_matches(o.tree, ':opnos \\(o ([0-9 ]+)\\)', 'g') AS m, "
    "unnest(string_to_array(m[1], ' ')) AS x(op) JOIN pg_operator op ON op.oid = x.op::oid "
    "UNION SELECT op.oprcode FROM pg_constraint k, unnest(k.conexclop) AS x(op) JOIN pg_operator op ON op.oid = x.op "
    "WHERE k.conrelid = $1::regclass "
    "UNION SELECT d.refobjid FROM pg_depend d JOIN o ON d.classid = o.cls AND d.objid = o.oid WHERE d.refclassid = "
    "'pg_proc'::regclass "
    "UNION SELECT op.oprcode FROM pg_depend d JOIN o ON d.classid = o.cls AND d.objid = o.oid JOIN pg_operator op ON "
    "op.oid = d.refobjid WHERE d.refclassid = 'pg_operator'::regclass) "
    "SELECT coalesce(string_agg(p.oid::regprocedure::text, ', ' ORDER BY p.oid::regprocedure::text), '') "
    "FROM f JOIN pg_proc p ON p.oid = f.fn WHERE p.oid >= 16384 OR (p.provolatile = 'v' AND NOT ($2::boolean AND "
    "p.proname IN ('nextval', 'gen_random_uuid', 'random', 'clock_timestamp', 'timeofday')))";

// An index as the trigger describes the source's (lib/pg/ddl_trigger.sql, index_using): "UNIQUE " when unique,
// then its definition after USING; over pg_index i, its pg_class ic, its table's pg_class c and pg_namespace n
// (pg_get_indexdef names the session's temporary schema pg_temp, as a probe's is).
const std::string kIndexText =
    "CASE WHEN i.indisunique THEN 'UNIQUE ' ELSE '' END || coalesce(substr(pg_get_indexdef(i.indexrelid), "
    "length(format('CREATE %sINDEX %I ON %s%I.%I USING ', CASE WHEN i.indisunique THEN 'UNIQUE ' ELSE '' END, "
    "ic.relname, CASE WHEN c.relkind = 'p' THEN 'ONLY ' ELSE '' END, CASE WHEN n.oid = pg_my_temp_schema() THEN "
    "'pg_temp' ELSE n.nspname END, c.relname)) + 1), '')";
const std::string kIndexFrom =
    " FROM pg_index i JOIN pg_class ic ON ic.oid = i.indexrelid JOIN pg_class c ON c.oid = i.indrelid JOIN "
    "pg_namespace n ON n.oid = c.relnamespace WHERE i.indrelid = $1::regclass";

// The probe's object as the target prints it: $2 names the column ('d'), the constraint ('c') or the index ('i').
std::string readback_sql(char kind) {
  switch (kind) {
    case 'd':
      return "SELECT pg_get_expr(d.adbin, d.adrelid) FROM pg_attrdef d JOIN pg_attribute a ON a.attrelid = d.adrelid "
             "AND a.attnum = d.adnum WHERE d.adrelid = $1::regclass AND a.attname = $2";
    case 'c':
      return "SELECT pg_get_constraintdef(oid) FROM pg_constraint WHERE conrelid = $1::regclass AND conname = $2";
    default:
      return "SELECT " + kIndexText + kIndexFrom + " AND ic.relname = $2";
  }
}

constexpr const char* kProbeTable = "pg_temp.ss_schema_probe";

// The name of the probes' copy of `table` in the shape `now` has (what LIKE copies of each column), salted per
// session so that no record can name it.
std::string probe_copy(const std::string& table, const TargetSchema& now, uint64_t salt) {
  std::string shape = std::to_string(salt) + '\x1d' + table;
  for (const auto& c : now.columns)
    shape += '\x1e' + c.name + '\x1f' + c.type + '\x1f' + c.collation.value_or("") + (c.not_null ? "\x1fn" : "") +
             (c.generated ? "\x1fg" : "");
  char name[32];
  std::snprintf(name, sizeof name, "ss_probe_%016zx", std::hash<std::string>{}(shape));
  return name;
}

std::optional<std::string> value(const pg::Result& r, int row, int col) {
  if (PQgetisnull(r.get(), row, col)) return std::nullopt;
  return std::string(PQgetvalue(r.get(), row, col));
}

}  // namespace

Outcome SchemaApplier::read(Pipeline& p, const std::string& schema, const std::string& table, TargetSchema& out) {
  out = {};
  pg::Result r;
  if (Outcome o = p.query("SELECT a.attname, pg_get_expr(d.adbin, d.adrelid), a.attgenerated <> '', a.attnotnull, "
                          "a.attidentity, col_description(a.attrelid, a.attnum), format_type(a.atttypid, "
                          "a.atttypmod), CASE WHEN a.attcollation <> t.typcollation THEN format('%I.%I', cn.nspname, "
                          "co.collname) END FROM pg_attribute a JOIN pg_type t ON t.oid = a.atttypid LEFT JOIN "
                          "pg_attrdef d ON d.adrelid = a.attrelid AND d.adnum = a.attnum LEFT JOIN pg_collation co ON "
                          "co.oid = a.attcollation LEFT JOIN pg_namespace cn ON cn.oid = co.collnamespace WHERE "
                          "a.attrelid = $1::regclass AND a.attnum > 0 AND NOT a.attisdropped ORDER BY a.attnum",
                          {table}, r);
      !o.ok())
    return o;
  for (int i = 0; i < PQntuples(r.get()); ++i) {
    TargetSchema::Column c{PQgetvalue(r.get(), i, 0),
                           value(r, i, 1),
                           std::nullopt,
                           PQgetvalue(r.get(), i, 3)[0] == 't',
                           PQgetvalue(r.get(), i, 4),
                           value(r, i, 5),
                           PQgetvalue(r.get(), i, 6),
                           value(r, i, 7)};
    if (PQgetvalue(r.get(), i, 2)[0] == 't') std::swap(c.generated, c.default_expr);
    out.columns.push_back(std::move(c));
  }
  if (Outcome o = p.query("SELECT conname, pg_get_constraintdef(oid), obj_description(oid, 'pg_constraint') FROM "
                          "pg_constraint WHERE conrelid = $1::regclass AND contype IN ('p', 'u', 'c', 'f', 'x')",
                          {table}, r);
      !o.ok())
    return o;
  for (int i = 0; i < PQntuples(r.get()); ++i)
    out.constraints.push_back({PQgetvalue(r.get(), i, 0), PQgetvalue(r.get(), i, 1), value(r, i, 2)});
  // Indexes by what follows USING, as the trigger gives the source's.
  if (Outcome o = p.query("SELECT ic.relname, " + kIndexText +
                              ", obj_description(ic.oid, 'pg_class'), EXISTS (SELECT FROM pg_constraint k WHERE "
                              "k.conindid = i.indexrelid AND k.conrelid = c.oid), i.indisreplident" +
                              kIndexFrom,
                          {table}, r);
      !o.ok())
    return o;
  for (int i = 0; i < PQntuples(r.get()); ++i) {
    if (PQgetvalue(r.get(), i, 4)[0] == 't') out.identity_index = PQgetvalue(r.get(), i, 0);
    if (PQgetvalue(r.get(), i, 3)[0] != 't')
      out.indexes.push_back({PQgetvalue(r.get(), i, 0), PQgetvalue(r.get(), i, 1), value(r, i, 2)});
  }
  if (Outcome o = p.query("SELECT obj_description(c.oid, 'pg_class'), c.relreplident, (SELECT string_agg("
                          "format('%I.%I', sn.nspname, s.relname), E'\\n') FROM pg_depend d JOIN pg_class s ON s.oid = "
                          "d.objid AND s.relkind = 'S' JOIN pg_namespace sn ON sn.oid = s.relnamespace WHERE "
                          "d.refclassid = 'pg_class'::regclass AND d.refobjid = c.oid AND d.classid = "
                          "'pg_class'::regclass AND d.deptype IN ('a', 'i')), (SELECT string_agg(format('%I.%I', "
                          "n.nspname, s.relname), E'\\n') FROM pg_class s JOIN pg_namespace n ON n.oid = "
                          "s.relnamespace WHERE s.relkind = 'S' AND n.nspname = $2) "
                          "FROM pg_class c WHERE c.oid = $1::regclass",
                          {table, schema}, r);
      !o.ok())
    return o;
  out.comment = value(r, 0, 0);
  out.replica_identity = PQgetvalue(r.get(), 0, 1);
  auto lines = [](std::string_view text, std::vector<std::string>& into) {
    for (; !text.empty();) {
      const size_t nl = std::min(text.find('\n'), text.size());
      into.emplace_back(text.substr(0, nl));
      text.remove_prefix(std::min(nl + 1, text.size()));
    }
  };
  lines(PQgetvalue(r.get(), 0, 2), out.sequences);
  std::vector<std::string> all;
  lines(PQgetvalue(r.get(), 0, 3), all);
  for (auto& name : all)
    if (std::find(out.sequences.begin(), out.sequences.end(), name) == out.sequences.end())
      out.others.push_back(std::move(name));
  return {};
}

// Tries `step` on `copy`, an empty temporary copy of the table (`make` makes it, or it is there already), in a
// savepoint rolled back whatever happens: nothing of it runs on a row. `refused` says why it may not run on the table
// (the copy refused it, read it back otherwise than the record says, or it calls what a shadow may not run), empty
// when it may.
Outcome SchemaApplier::probe(Pipeline& p, const std::vector<std::string>& make, const SchemaStep& step,
                             const std::string& copy, std::string& refused) {
  refused.clear();
  p.send("SAVEPOINT ss_schema_probe");
  for (const std::string& sql : make) p.send(sql);
  p.send(step.probe);
  pg::Result calls, back;
  Outcome o = p.query(kRefusedCalls, {copy, step.readback == 'd' ? "true" : "false"}, calls);
  if (o.ok()) o = p.query(readback_sql(step.readback), {copy, step.object}, back);
  if (!o.ok()) {
    if (!o.failure() || !o.failure()->origin.control()) return o;
    refused = "the target refuses it: " + o.failure()->error;
  } else if (PQgetvalue(calls.get(), 0, 0)[0]) {
    refused = std::string("it calls ") + PQgetvalue(calls.get(), 0, 0) +
              " (only the server's own functions without side effects are run on a shadow)";
  } else if (PQntuples(back.get()) != 1 || PQgetvalue(back.get(), 0, 0) != step.expect) {
    refused = "the target reads it back as " +
              (PQntuples(back.get()) == 1 ? std::string(PQgetvalue(back.get(), 0, 0)) : std::string("nothing")) +
              ", not as the record has it (text beyond the definition is never run)";
  }
  p.send("ROLLBACK TO SAVEPOINT ss_schema_probe");
  p.send("RELEASE SAVEPOINT ss_schema_probe");
  return p.drain();
}

void SchemaApplier::report(const ChangeRecord& rec, const std::string& table, const std::string& what,
                           const std::string& why) {
  if (!reported_.insert(table + '\0' + what + '\0' + why).second) return;
  log::warn("schema record at " + format_position({rec.commit_lsn(), rec.ordinal()}) + ": " + what + " of " + table +
            " not applied: " + why);
}

// A table the target lacks, made from the definition: every column in its place (a generated one cannot be moved
// there later), each generated expression probed first on a copy of the other columns.
Outcome SchemaApplier::create(Pipeline& p, ShapeFollower& follower, const ChangeRecord& rec, const std::string& schema,
                              const std::string& table, std::string_view payload) {
  bool exists = false;
  if (Outcome o = follower.table_exists(p, table, exists); !o.ok() || exists) return o;
  google::protobuf::RepeatedPtrField<shadowstream::v1::Column> cols, plain_cols;
  std::vector<std::string> types, plain_types;
  for (const auto& c : rec.definition().columns()) {
    shadowstream::v1::Column col = as_column(c);
    std::string type;
    if (Outcome o = follower.sql_type(p, rec, col, payload, type); !o.ok()) return o;
    if (c.has_collation()) {
      if (const auto coll = qualified_name(c.collation()))
        type += " COLLATE " + *coll;
      else
        report(rec, table, "collation of column " + c.name(), "its name is not a collation's");
    }
    if (!c.has_generated()) {
      *plain_cols.Add() = col;
      plain_types.push_back(type);
    } else {
      const std::string rest =
          "ADD COLUMN " + quote_ident(c.name()) + " " + type + " GENERATED ALWAYS AS (" + c.generated() + ") STORED";
      std::string refused;
      SchemaStep step;
      step.probe = std::string("ALTER TABLE ") + kProbeTable + " " + rest;
      step.what = "generated column " + c.name();
      step.readback = 'd';
      step.object = c.name();
      step.expect = c.generated();
      if (Outcome o =
              probe(p, {create_table_sql(kProbeTable, plain_cols, plain_types, false)}, step, kProbeTable, refused);
          !o.ok())
        return o;
      if (!refused.empty()) {
        report(rec, table, step.what, refused);
        continue;
      }
      type += " GENERATED ALWAYS AS (" + c.generated() + ") STORED";
    }
    *cols.Add() = std::move(col);
    types.push_back(std::move(type));
  }
  follower.run_ddl(p, rec, "CREATE SCHEMA IF NOT EXISTS " + quote_ident(schema), payload);
  follower.run_ddl(p, rec, create_table_sql(table, cols, types, rec.replica_identity() != "f"), payload);
  return p.drain();
}

// A checkpoint's sequence values, on the table's own sequences (those the target's catalog says it owns).
void SchemaApplier::set_sequences(Pipeline& p, const ChangeRecord& rec, const TargetSchema& now,
                                  std::string_view payload) {
  for (const auto& c : rec.definition().columns()) {
    const auto& seq = c.sequence();
    int64_t value = 0;
    const char* end = seq.last_value().data() + seq.last_value().size();
    if (seq.last_value().empty() || std::from_chars(seq.last_value().data(), end, value).ptr != end) continue;
    if (std::find(now.sequences.begin(), now.sequences.end(), seq.name()) == now.sequences.end()) continue;
    p.send("SELECT pg_catalog.setval($1::pg_catalog.regclass, $2::pg_catalog.int8)", {seq.name(), seq.last_value()},
           Origin::of(rec, payload));
  }
}

// The tables the definition's foreign keys reference, as this replay maps them, and whether this replay made each
// for the record's source: a key is made only between the replay's own tables.
Outcome SchemaApplier::read_referenced(Pipeline& p, ShapeFollower& follower, const ChangeRecord& rec,
                                       TargetSchema& now) {
  now.no_foreign_keys = no_foreign_keys_;
  now.defer_foreign_keys = pass_ == 1;
  for (const auto& d : rec.definition().constraints()) {
    const auto key = d.type() == "f" ? parse_foreign_key(d.definition()) : std::nullopt;
    if (!key) continue;
    TargetSchema::Referenced& r = now.referenced.emplace_back();
    r.schema = key->schema;
    r.table = key->table;
    std::tie(r.target_schema, r.target_table) = target_of_(r.schema, r.table);
    if (r.target_schema == bookkeeping_) continue;
    const std::string quoted = quote_ident(r.target_schema) + "." + quote_ident(r.target_table);
    if (Outcome o = follower.registered(p, rec.source().name(), 0, quoted, r.replayed); !o.ok()) return o;
  }
  return {};
}

// A generated column to add: its statements, with the target's spelling of its type.
Outcome SchemaApplier::add_generated(Pipeline& p, ShapeFollower& follower, const ChangeRecord& rec,
                                     const std::string& table, const std::string& copy, std::string_view payload,
                                     SchemaStep& step) {
  const auto& cols = rec.definition().columns();
  auto c = std::find_if(cols.begin(), cols.end(), [&](const auto& x) { return x.name() == step.column; });
  std::string type;
  if (Outcome o = follower.sql_type(p, rec, as_column(*c), payload, type); !o.ok()) return o;
  const std::string rest =
      "ADD COLUMN " + quote_ident(c->name()) + " " + type + " GENERATED ALWAYS AS (" + c->generated() + ") STORED";
  step.sql = "ALTER TABLE " + table + " " + rest;
  step.probe = "ALTER TABLE " + copy + " " + rest;
  return {};
}

Outcome SchemaApplier::apply(Pipeline& p, ShapeFollower& follower, const ChangeRecord& rec, const std::string& schema,
                             const std::string& table, std::string_view payload,
                             const std::function<Outcome()>& follow_columns) {
  if (schema == bookkeeping_ || schema.starts_with("pg_") || schema == "information_schema") {
    report(rec, table, "the definition",
           "the schema " + schema + (schema == bookkeeping_ ? " holds this replay's own tables" : " is the server's"));
    return {};
  }
  // The definition's text was printed with search_path pg_catalog: read and run it the same way. The catalog
  // queries below run with generic plans: planning them would cost more than running them.
  pg::Result r;
  if (Outcome o = p.query("SELECT current_setting('search_path'), current_setting('plan_cache_mode'), set_config("
                          "'search_path', 'pg_catalog, pg_temp', true), set_config('plan_cache_mode', "
                          "'force_generic_plan', true)",
                          {}, r);
      !o.ok())
    return o;
  const std::string search_path = PQgetvalue(r.get(), 0, 0), plans = PQgetvalue(r.get(), 0, 1);
  if (Outcome o = create(p, follower, rec, schema, table, payload); !o.ok()) return o;
  if (Outcome o = follow_columns(); !o.ok()) return o;
  TargetSchema now;
  if (Outcome o = read(p, schema, table, now); !o.ok()) return o;
  if (Outcome o = read_referenced(p, follower, rec, now); !o.ok()) return o;
  auto literal = [&](const std::string& v) { return pg::quote_literal(p.conn(), v); };
  // The probes' copy of the table as it is now: made once per shape and kept for the session (a temporary table
  // costs milliseconds to make), in place of the copy of an earlier shape. After a step of this record changed the
  // table, a probe makes a fresh one of the same name inside its savepoint, over the kept one.
  const std::string copy = probe_copy(table, now, salt_), qualified_copy = "pg_temp." + copy;
  std::string& kept = copies_[table];
  const std::string like = copy + " (LIKE " + table + ")";
  bool ensured = false, changed = false;
  std::vector<SchemaStep> steps =
      schema_steps(rec.definition(), rec.replica_identity(), now, schema, table, qualified_copy, literal);
  std::set<std::string> not_made;
  for (SchemaStep& step : steps) {
    if (!step.needs.empty() && not_made.count(step.needs)) {
      report(rec, table, step.what, step.needs + " is not made in this transaction");
      continue;
    }
    if (!step.column.empty())
      if (Outcome o = add_generated(p, follower, rec, table, qualified_copy, payload, step); !o.ok()) return o;
    if (!step.skip.empty()) {
      report(rec, table, step.what, step.skip);
      not_made.insert(step.what);
      continue;
    }
    if (!step.probe.empty()) {
      if (!ensured) {
        if (!kept.empty() && kept != copy) p.send("DROP TABLE IF EXISTS pg_temp." + kept);
        p.send("CREATE TEMP TABLE IF NOT EXISTS " + like);
        kept = copy;
        ensured = true;
      }
      std::vector<std::string> fresh;
      if (changed) fresh = {"DROP TABLE " + qualified_copy, "CREATE TEMP TABLE " + like};
      std::string refused;
      if (Outcome o = probe(p, fresh, step, qualified_copy, refused); !o.ok()) return o;
      if (!refused.empty()) {
        report(rec, table, step.what, refused);
        if (step.readback == 'i') unqueue_index(p, rec, quote_ident(schema) + "." + quote_ident(step.object), payload);
        not_made.insert(step.what);
        continue;
      }
    }
    // A unique index is built in the transaction: keys and ON CONFLICT may depend on it there.
    if (step.readback == 'i' && !queue_.empty() && pass_ == 0 && !step.expect.starts_with("UNIQUE ")) {
      queue_index(p, rec, schema, table, step, payload);
      not_made.insert(step.what);
      continue;
    }
    follower.run_ddl(p, rec, step.sql, payload);
    changed = true;
  }
  if (pass_ == 2) set_sequences(p, rec, now, payload);
  p.send("SELECT set_config('search_path', $1, true), set_config('plan_cache_mode', $2, true)", {search_path, plans});
  follower.forget(table);
  return p.drain();
}

Outcome SchemaApplier::drop_table(Pipeline& p, ShapeFollower& follower, const ChangeRecord& rec,
                                  const std::string& table, std::string_view payload) {
  bool yes = false;
  if (Outcome o = follower.registered(p, rec.source().name(), rec.relation_oid(), table, yes); !o.ok()) return o;
  if (!yes || rec.schema() == bookkeeping_) {
    report(rec, table, "DROP TABLE", "not a table this replay made for that relation of source " + rec.source().name());
    return {};
  }
  follower.forget(table);
  // The source's DROP took the keys that referenced the table along (CASCADE); the replay's copies of them go first.
  std::vector<std::string> keys;
  if (Outcome o = follower.keys_to(p, rec.source().name(), table, keys); !o.ok()) return o;
  for (const std::string& drop : keys) p.send(drop, {}, Origin::of(rec, payload));
  p.send("DROP TABLE IF EXISTS " + table, {}, Origin::of(rec, payload));
  follower.unregister(p, rec.source().name(), table);
  // Its indexes still queued go with it (their DROP is implicit: no record of its own says so).
  if (!queue_.empty())
    p.send("DELETE FROM " + queue_ + " WHERE source = $1 AND target = $2", {rec.source().name(), table},
           Origin::of(rec, payload));
  return p.drain();
}

ChangeRecord with_cascade(const ChangeRecord& rec) {
  ChangeRecord copy = rec;
  copy.set_truncate_cascade(true);
  return copy;
}

void SchemaApplier::replica_mode(PGconn* conn) {
  // The session's temporary schema, made once in a transaction that commits: made in a probe's savepoint, it would
  // be made (and cleaned) again at every probe.
  pg::Result anchor(PQexec(conn, "CREATE TEMP TABLE ss_schema_anchor (); DROP TABLE ss_schema_anchor"));
  pg::Result r(PQexec(conn, "SET session_replication_role = replica"));
  no_foreign_keys_ = PQresultStatus(r.get()) == PGRES_COMMAND_OK
                         ? ""
                         : "the target role may not set session_replication_role (a superuser may, or a role granted "
                           "SET ON PARAMETER session_replication_role), and keys would check the replay's order of "
                           "rows and cascade the source's changes a second time";
}

Outcome SchemaApplier::cascades(Pipeline& p, ShapeFollower& follower, const ChangeRecord& rec, const std::string& table,
                                bool& cascade) {
  bool referenced = false, all_ours = false;
  Outcome o = follower.referenced(p, rec.source().name(), table, referenced, all_ours);
  cascade = referenced && all_ours;
  return o;
}

std::string SchemaApplier::create_sql() const {
  if (queue_.empty()) return {};
  return "CREATE TABLE IF NOT EXISTS " + queue_ +
         " (source text NOT NULL, index text NOT NULL, target text NOT NULL, statement text NOT NULL, queued_at "
         "timestamptz NOT NULL DEFAULT now(), PRIMARY KEY (source, index));";
}

void SchemaApplier::queue_index(Pipeline& p, const ChangeRecord& rec, const std::string& schema,
                                const std::string& table, const SchemaStep& step, std::string_view payload) {
  std::string sql = step.sql;
  sql.insert(sql.find("INDEX ") + 6, "CONCURRENTLY ");
  p.send("INSERT INTO " + queue_ +
             " (source, index, target, statement) VALUES ($1, $2, $3, $4) ON CONFLICT (source, index) DO UPDATE SET "
             "target = excluded.target, statement = excluded.statement, queued_at = now()",
         {rec.source().name(), quote_ident(schema) + "." + quote_ident(step.object), table, sql},
         Origin::of(rec, payload));
  queued_ = true;
}

void SchemaApplier::unqueue_index(Pipeline& p, const ChangeRecord& rec, const std::string& index,
                                  std::string_view payload) {
  if (queue_.empty()) return;
  p.send("DELETE FROM " + queue_ + " WHERE source = $1 AND index = $2", {rec.source().name(), index},
         Origin::of(rec, payload));
}

void SchemaApplier::build_queued(Pipeline& p) {
  if (queue_.empty()) return;
  queued_ = false;
  auto must = [&](const std::string& sql, pg::Result* out = nullptr) {
    if (Outcome o = p.exec(sql, out); !o.ok())
      throw Error(kExitSoftware, "the index queue " + queue_ + ": " + o.failure()->error);
  };
  pg::Result rows, path;
  must("SELECT source, index, statement FROM " + queue_ + " ORDER BY queued_at, index", &rows);
  if (PQntuples(rows.get()) == 0) return;
  // The statement's expressions were probed under this search_path (apply()).
  must("SELECT current_setting('search_path'), set_config('search_path', 'pg_catalog, pg_temp', false)", &path);
  for (int i = 0; i < PQntuples(rows.get()); ++i) {
    const std::string source = PQgetvalue(rows.get(), i, 0), index = PQgetvalue(rows.get(), i, 1);
    const std::string lit_index = pg::quote_literal(p.conn(), index);
    // "t": built (by an earlier run, or another replay); "f": a build that stopped half-way; "": none.
    auto state = [&] {
      pg::Result r;
      must("SELECT indisvalid FROM pg_index WHERE indexrelid = to_regclass(" + lit_index + ")", &r);
      return std::string(PQntuples(r.get()) ? PQgetvalue(r.get(), 0, 0) : "");
    };
    std::string was = state();
    if (was == "f") must("DROP INDEX CONCURRENTLY IF EXISTS " + index);
    if (was != "t") {
      if (Outcome o = p.exec(PQgetvalue(rows.get(), i, 2)); !o.ok()) {
        log::warn("index " + index + " of source " + source + " not built CONCURRENTLY: " + o.failure()->error);
        if (state() == "f") must("DROP INDEX CONCURRENTLY IF EXISTS " + index);
      }
    }
    must("DELETE FROM " + queue_ + " WHERE source = " + pg::quote_literal(p.conn(), source) +
         " AND index = " + lit_index);
  }
  must("SELECT set_config('search_path', " + pg::quote_literal(p.conn(), PQgetvalue(path.get(), 0, 0)) + ", false)");
}

Outcome SchemaApplier::drop_index(Pipeline& p, ShapeFollower& follower, const ChangeRecord& rec,
                                  const std::string& schema, std::string_view payload) {
  const std::string index = quote_ident(schema) + "." + quote_ident(rec.definition().dropped_index());
  unqueue_index(p, rec, index, payload);  // one still queued is never built
  bool yes = false;
  if (Outcome o = follower.index_registered(p, rec.source().name(), index, yes); !o.ok()) return o;
  if (!yes) return {};  // gone already, or not on a table of this replay's: nothing of ours to drop
  p.send("DROP INDEX IF EXISTS " + index, {}, Origin::of(rec, payload));
  return p.drain();
}

}  // namespace ss::apply
