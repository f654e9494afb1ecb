#include "pg/schema_apply.h"

#include <algorithm>
#include <charconv>
#include <cstring>

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
// A definition's column as a row's column names it (no value).
shadowstream::v1::Column as_column(const shadowstream::v1::ColumnDefinition& c) {
  shadowstream::v1::Column col;
  col.set_name(c.name());
  col.set_type_oid(c.type_oid());
  col.set_type_name(c.type_name());
  col.set_type_modifier(c.type_modifier());
  col.set_is_key(c.is_key());
  return col;
}
}  // namespace

ChangeRecord shape_record(const ChangeRecord& schema) {
  ChangeRecord rec = schema;
  rec.clear_definition();
  rec.clear_columns();
  for (const auto& c : schema.definition().columns()) {
    if (c.has_generated()) continue;
    auto* col = rec.add_columns();
    *col = as_column(c);
    col->set_is_null(true);
    if (c.has_missing_value()) col->set_missing_value(c.missing_value());
  }
  rec.set_shape_id(shape::id(rec));
  return rec;
}

ChangeRecord schema_record_of(const shadowstream::v1::CheckpointTable& table) {
  ChangeRecord rec;
  rec.set_op(shadowstream::v1::OPERATION_SCHEMA);
  rec.set_schema(table.schema());
  rec.set_table(table.table());
  rec.set_relation_oid(table.relation_oid());
  rec.set_replica_identity(table.replica_identity());
  *rec.mutable_definition() = table.definition();
  return rec;
}

namespace {

template <typename List>
auto find_named(const List& list, const std::string& name) {
  return std::find_if(list.begin(), list.end(), [&](const auto& x) { return x.name() == name; });
}
const TargetSchema::Column* target_column(const TargetSchema& now, const std::string& name) {
  for (const auto& c : now.columns)
    if (c.name == name) return &c;
  return nullptr;
}
const TargetSchema::Named* named(const std::vector<TargetSchema::Named>& list, const std::string& name) {
  for (const auto& n : list)
    if (n.name == name) return &n;
  return nullptr;
}

bool is_integer(const std::string& s) {
  int64_t v = 0;
  const char* end = s.data() + s.size();
  auto [p, ec] = std::from_chars(s.data(), end, v);
  return !s.empty() && ec == std::errc() && p == end;
}

// A schema-qualified name as the record gives it (a sequence's, a collation's), quoted again by us; nullopt when it is
// not one.
std::optional<std::string> qualified_name(const std::string& text) {
  std::optional<TypeRef> ref = parse_type_name(text);
  if (!ref || ref->array_dims || ref->schema.empty()) return std::nullopt;
  return quote_ident(ref->schema) + "." + quote_ident(ref->name);
}

// CREATE SEQUENCE's options from the record: numbers only, and a type of the three a sequence may have.
// `with_type`: an identity's sequence takes its column's type, and refuses AS.
std::optional<std::string> sequence_options(const shadowstream::v1::SequenceDefinition& s, bool with_type) {
  for (const std::string* n : {&s.start(), &s.increment(), &s.min_value(), &s.max_value(), &s.cache()})
    if (!is_integer(*n)) return std::nullopt;
  if (s.type() != "smallint" && s.type() != "integer" && s.type() != "bigint") return std::nullopt;
  return std::string(with_type ? " AS " + s.type() : "") + " INCREMENT BY " + s.increment() + " MINVALUE " +
         s.min_value() + " MAXVALUE " + s.max_value() + " START WITH " + s.start() + " CACHE " + s.cache() +
         (s.cycle() ? " CYCLE" : " NO CYCLE");
}

std::optional<std::string> opt(bool has, const std::string& v) {
  return has ? std::optional(v) : std::nullopt;
}

}  // namespace

namespace {

// schema_steps, part by part.
class Planner {
 public:
  Planner(const TableDefinition& def, const TargetSchema& now, const std::string& schema, const std::string& table,
          const std::string& probe_table, const std::function<std::string(const std::string&)>& literal)
      : def_(def),
        now_(now),
        table_(table),
        probe_table_(probe_table),
        qschema_(quote_ident(schema) + "."),
        alter_("ALTER TABLE " + table + " "),
        literal_(literal) {}

  std::vector<SchemaStep> take() { return std::move(steps_); }

  // Sequences a column owns (serial): a default's nextval() needs its sequence first.
  void sequences() {
    for (const auto& c : def_.columns()) {
      if (!c.has_sequence() || !c.identity().empty()) continue;
      const auto name = qualified_name(c.sequence().name());
      const auto options = sequence_options(c.sequence(), true);
      if (!name || !options) {
        skipped("sequence of column " + c.name(), "its name or parameters are not a sequence's");
        continue;
      }
      const auto& have = now_.sequences;
      if (std::find(have.begin(), have.end(), c.sequence().name()) != have.end()) continue;
      plain("CREATE SEQUENCE IF NOT EXISTS " + *name + *options, "sequence " + c.sequence().name());
      plain("ALTER SEQUENCE " + *name + " OWNED BY " + table_ + "." + quote_ident(c.name()),
            "sequence " + c.sequence().name());
    }
  }

  // Generated columns: rows never carry them. One to add waits for the target's spelling of its type.
  void generated() {
    for (const auto& c : def_.columns())
      if (c.has_generated() && !target_column(now_, c.name()))
        steps_.push_back({{}, {}, "generated column " + c.name(), {}, c.name(), {}});
    for (const auto& t : now_.columns)
      if (t.generated && find_named(def_.columns(), t.name) == def_.columns().end())
        plain(alter_ + "DROP COLUMN " + quote_ident(t.name), "generated column " + t.name);
  }

  // A column's NOT NULL, identity or default, collation and comment.
  void column(const shadowstream::v1::ColumnDefinition& c, const TargetSchema::Column& t) {
    const std::string col = alter_ + "ALTER COLUMN " + quote_ident(c.name());
    // NOT NULL first: an identity needs it. Dropping it from an identity column waits for the identity to go.
    if (c.not_null() && !t.not_null) plain(col + " SET NOT NULL", "NOT NULL of column " + c.name());
    if (!c.identity().empty() && t.identity.empty()) {
      const auto name = qualified_name(c.sequence().name());
      const auto options = sequence_options(c.sequence(), false);
      if (t.default_expr) plain(col + " DROP DEFAULT", "default of column " + c.name());
      // BY DEFAULT even for ALWAYS: the replay writes the source's values into the column.
      if (name && options)
        plain(col + " ADD GENERATED BY DEFAULT AS IDENTITY (SEQUENCE NAME " + *name + *options + ")",
              "identity of column " + c.name());
      else
        skipped("identity of column " + c.name(), "its sequence's name or parameters are not a sequence's");
    } else if (c.identity().empty()) {
      if (!t.identity.empty()) plain(col + " DROP IDENTITY IF EXISTS", "identity of column " + c.name());
      const std::string set = "ALTER COLUMN " + quote_ident(c.name()) + " SET DEFAULT " + c.default_();
      if (c.has_default_() && (!t.default_expr || *t.default_expr != c.default_()))
        steps_.push_back({alter_ + set, {}, "default of column " + c.name(), {}, {}, c.name()});
      else if (!c.has_default_() && t.default_expr)
        plain(col + " DROP DEFAULT", "default of column " + c.name());
    }
    if (opt(c.has_collation(), c.collation()) != t.collation) {
      const auto coll =
          c.has_collation() ? qualified_name(c.collation()) : std::optional<std::string>("pg_catalog.\"default\"");
      if (coll)
        plain(col + " TYPE " + t.type + " COLLATE " + *coll, "collation of column " + c.name());
      else
        skipped("collation of column " + c.name(), "its name is not a collation's");
    }
    if (!c.not_null() && t.not_null) plain(col + " DROP NOT NULL", "NOT NULL of column " + c.name());
    if (opt(c.has_comment(), c.comment()) != t.comment)
      plain(comment("COLUMN " + table_ + "." + quote_ident(c.name()), opt(c.has_comment(), c.comment())),
            "comment of column " + c.name());
  }
  void columns() {
    for (const auto& c : def_.columns())
      if (const TargetSchema::Column* t = target_column(now_, c.name()); t && !c.has_generated()) column(c, *t);
  }

  // Dropped when gone or changed (a NOT VALID one validated is validated), then added.
  void constraints() {
    for (const auto& t : now_.constraints) {
      auto d = find_named(def_.constraints(), t.name);
      if (d != def_.constraints().end() && d->definition() == t.definition) continue;
      if (d != def_.constraints().end() && t.definition == d->definition() + " NOT VALID")
        plain(alter_ + "VALIDATE CONSTRAINT " + quote_ident(t.name), "constraint " + t.name);
      else
        plain(alter_ + "DROP CONSTRAINT " + quote_ident(t.name), "constraint " + t.name);
    }
    for (const auto& d : def_.constraints()) {
      const TargetSchema::Named* t = named(now_.constraints, d.name());
      if (t && (t->definition == d.definition() || t->definition == d.definition() + " NOT VALID")) continue;
      if (d.type() == "f")
        skipped("foreign key " + d.name(),
                "a replay applies the source's changes in order; the shadow makes no foreign keys");
      else
        probed("ADD CONSTRAINT " + quote_ident(d.name()) + " " + d.definition(), "constraint " + d.name());
    }
  }

  // Indexes no constraint owns: dropped when gone or changed, then created.
  void indexes() {
    auto text = [](const shadowstream::v1::IndexDefinition& i) { return (i.unique() ? "UNIQUE " : "") + i.using_(); };
    for (const auto& t : now_.indexes) {
      auto d = find_named(def_.indexes(), t.name);
      if (d != def_.indexes().end() && !d->has_constraint() && text(*d) == t.definition) continue;
      plain("DROP INDEX " + qschema_ + quote_ident(t.name), "index " + t.name);
    }
    for (const auto& d : def_.indexes()) {
      const TargetSchema::Named* t = named(now_.indexes, d.name());
      if (d.has_constraint() || (t && t->definition == text(d))) continue;
      if (d.using_().empty()) {
        skipped("index " + d.name(), "its definition is not one this version reads");
        continue;
      }
      const std::string head =
          std::string("CREATE ") + (d.unique() ? "UNIQUE " : "") + "INDEX " + quote_ident(d.name()) + " ON ";
      steps_.push_back({head + table_ + " USING " + d.using_(),
                        head + probe_table_ + " USING " + d.using_(),
                        "index " + d.name(),
                        {},
                        {},
                        {}});
    }
  }

  // Comments of the table, its constraints and indexes.
  void comments() {
    if (opt(def_.has_comment(), def_.comment()) != now_.comment)
      plain(comment("TABLE " + table_, opt(def_.has_comment(), def_.comment())), "comment of the table");
    for (const auto& d : def_.constraints()) {
      const TargetSchema::Named* t = named(now_.constraints, d.name());
      if (d.type() != "f" && opt(d.has_comment(), d.comment()) != (t ? t->comment : std::nullopt))
        plain(comment("CONSTRAINT " + quote_ident(d.name()) + " ON " + table_, opt(d.has_comment(), d.comment())),
              "comment of constraint " + d.name());
    }
    for (const auto& d : def_.indexes()) {
      const TargetSchema::Named* t = named(now_.indexes, d.name());
      if (!d.has_constraint() && opt(d.has_comment(), d.comment()) != (t ? t->comment : std::nullopt))
        plain(comment("INDEX " + qschema_ + quote_ident(d.name()), opt(d.has_comment(), d.comment())),
              "comment of index " + d.name());
    }
  }

  // The replica identity, as the source's.
  void replica_identity(const std::string& ri) {
    std::string index;
    for (const auto& d : def_.indexes())
      if (d.replica_identity()) index = d.name();
    if (ri == now_.replica_identity && index == now_.identity_index) return;
    const std::string how = ri == "f"                     ? "FULL"
                            : ri == "n"                   ? "NOTHING"
                            : ri == "i" && !index.empty() ? "USING INDEX " + quote_ident(index)
                                                          : "DEFAULT";
    plain(alter_ + "REPLICA IDENTITY " + how, "replica identity");
  }

 private:
  void plain(std::string sql, std::string what) { steps_.push_back({std::move(sql), {}, std::move(what), {}, {}, {}}); }
  void probed(const std::string& rest, std::string what) {
    steps_.push_back({alter_ + rest, "ALTER TABLE " + probe_table_ + " " + rest, std::move(what), {}, {}, {}});
  }
  void skipped(std::string what, std::string why) {
    steps_.push_back({{}, {}, std::move(what), std::move(why), {}, {}});
  }
  std::string comment(const std::string& on, const std::optional<std::string>& text) {
    return "COMMENT ON " + on + " IS " + (text ? literal_(*text) : "NULL");
  }

  const TableDefinition& def_;
  const TargetSchema& now_;
  const std::string& table_;
  const std::string& probe_table_;
  const std::string qschema_, alter_;
  const std::function<std::string(const std::string&)>& literal_;
  std::vector<SchemaStep> steps_;
};

}  // namespace

std::vector<SchemaStep> schema_steps(const TableDefinition& def, const std::string& replica_identity,
                                     const TargetSchema& now, const std::string& schema, const std::string& table,
                                     const std::string& probe_table,
                                     const std::function<std::string(const std::string&)>& literal) {
  Planner plan(def, now, schema, table, probe_table, literal);
  plan.sequences();
  plan.generated();
  plan.columns();
  plan.constraints();
  plan.indexes();
  plan.comments();
  plan.replica_identity(replica_identity);
  return plan.take();
}

// ---- against the target --------------------------------------------------------------------------------------------

namespace {

// The functions a probe's objects call that a shadow may not run: not the server's own, or with side effects. Read
// from the stored expressions themselves (functions, and operators' functions): pg_depend records no dependency on
// the server's own objects, so it would not show them.
constexpr const char* kRefusedCalls =
    "WITH t AS (SELECT adbin::text AS tree FROM pg_attrdef WHERE adrelid = $1::regclass AND ($2 = '' OR adnum = "
    "(SELECT attnum FROM pg_attribute WHERE attrelid = $1::regclass AND attname = $2)) "
    "UNION ALL SELECT conbin::text FROM pg_constraint WHERE $2 = '' AND conrelid = $1::regclass AND conbin IS NOT "
    "NULL UNION ALL SELECT coalesce(indexprs::text, '') || coalesce(indpred::text, '') FROM pg_index WHERE $2 = '' "
    "AND indrelid = $1::regclass), "
    "f AS (SELECT m[2]::oid AS fn FROM t, regexp_matches(t.tree, ':(funcid|opfuncid|hashfuncid|negfuncid) ([0-9]+)', "
    "'g') AS m UNION SELECT o.oprcode FROM t, regexp_matches(t.tree, ':opno ([0-9]+)', 'g') AS m JOIN pg_operator o "
    "ON o.oid = m[1]::oid UNION SELECT o.oprcode FROM pg_constraint k, unnest(k.conexclop) AS x(op) JOIN pg_operator "
    "o ON o.oid = x.op WHERE $2 = '' AND k.conrelid = $1::regclass) "
    "SELECT coalesce(string_agg(p.oid::regprocedure::text, ', ' ORDER BY p.oid::regprocedure::text), '') "
    "FROM f JOIN pg_proc p ON p.oid = f.fn WHERE p.pronamespace <> 'pg_catalog'::regnamespace OR (p.provolatile = "
    "'v' AND p.proname NOT IN ('nextval', 'gen_random_uuid', 'random', 'clock_timestamp', 'timeofday'))";

constexpr const char* kProbeTable = "pg_temp.ss_schema_probe";

std::optional<std::string> value(const pg::Result& r, int row, int col) {
  if (PQgetisnull(r.get(), row, col)) return std::nullopt;
  return std::string(PQgetvalue(r.get(), row, col));
}

}  // namespace

Outcome SchemaApplier::read(Pipeline& p, const std::string& table, TargetSchema& out) {
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
  // Indexes by what follows USING, as the trigger gives the source's (lib/pg/ddl_trigger.sql, index_using).
  if (Outcome o = p.query(
          "SELECT ic.relname, CASE WHEN i.indisunique THEN 'UNIQUE ' ELSE '' END || coalesce(substr(pg_get_indexdef("
          "i.indexrelid), length(format('CREATE %sINDEX %I ON %s%I.%I USING ', CASE WHEN i.indisunique THEN 'UNIQUE ' "
          "ELSE '' END, ic.relname, CASE WHEN c.relkind = 'p' THEN 'ONLY ' ELSE '' END, n.nspname, c.relname)) + 1), "
          "''), obj_description(ic.oid, 'pg_class'), EXISTS (SELECT FROM pg_constraint k WHERE k.conindid = "
          "i.indexrelid AND k.conrelid = c.oid), i.indisreplident FROM pg_index i JOIN pg_class ic ON ic.oid = "
          "i.indexrelid JOIN pg_class c ON c.oid = i.indrelid JOIN pg_namespace n ON n.oid = c.relnamespace WHERE "
          "i.indrelid = $1::regclass",
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
                          "'pg_class'::regclass AND d.deptype IN ('a', 'i')) "
                          "FROM pg_class c WHERE c.oid = $1::regclass",
                          {table}, r);
      !o.ok())
    return o;
  out.comment = value(r, 0, 0);
  out.replica_identity = PQgetvalue(r.get(), 0, 1);
  for (std::string_view seqs = PQgetvalue(r.get(), 0, 2); !seqs.empty();) {
    const size_t nl = std::min(seqs.find('\n'), seqs.size());
    out.sequences.emplace_back(seqs.substr(0, nl));
    seqs.remove_prefix(std::min(nl + 1, seqs.size()));
  }
  return {};
}

// Tries `step` in a savepoint: on an empty temporary copy of the table (`create_probe` makes it), rolled back whatever
// happens; or, a default (`in_place`), on the table itself (SET DEFAULT stores it, never runs it), kept unless
// refused, which saves a temporary table per default changed (a migration's most common step). `refused` says why it
// may not run (it failed there, or calls what a shadow may not run), empty when it may.
Outcome SchemaApplier::probe(Pipeline& p, const std::string& create_probe, const SchemaStep& step,
                             std::string& refused) {
  refused.clear();
  const bool in_place = !step.in_place.empty();
  p.send("SAVEPOINT ss_schema_probe");
  if (!in_place) p.send(create_probe);
  p.send(in_place ? step.sql : step.probe);
  pg::Result r;
  Outcome o = p.query(kRefusedCalls, {in_place ? create_probe : kProbeTable, step.in_place}, r);
  if (!o.ok()) {
    if (!o.failure() || !o.failure()->origin.control()) return o;
    refused = "the target refuses it: " + o.failure()->error;
  } else if (PQgetvalue(r.get(), 0, 0)[0]) {
    refused = std::string("it calls ") + PQgetvalue(r.get(), 0, 0) +
              " (only the server's own functions without side effects are run on a shadow)";
  }
  if (!in_place || !refused.empty()) p.send("ROLLBACK TO SAVEPOINT ss_schema_probe");
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
      const SchemaStep step{
          {}, std::string("ALTER TABLE ") + kProbeTable + " " + rest, "generated column " + c.name(), {}, {}, {}};
      if (Outcome o = probe(p, create_table_sql(kProbeTable, plain_cols, plain_types, false), step, refused); !o.ok())
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

Outcome SchemaApplier::apply(Pipeline& p, ShapeFollower& follower, const ChangeRecord& rec, const std::string& schema,
                             const std::string& table, std::string_view payload,
                             const std::function<Outcome()>& follow_columns) {
  // The definition's text was printed with search_path pg_catalog: read and run it the same way.
  pg::Result r;
  if (Outcome o = p.query("SELECT current_setting('search_path'), set_config('search_path', 'pg_catalog, pg_temp', "
                          "true)",
                          {}, r);
      !o.ok())
    return o;
  const std::string search_path = PQgetvalue(r.get(), 0, 0);
  if (Outcome o = create(p, follower, rec, schema, table, payload); !o.ok()) return o;
  if (Outcome o = follow_columns(); !o.ok()) return o;
  TargetSchema now;
  if (Outcome o = read(p, table, now); !o.ok()) return o;
  auto literal = [&](const std::string& v) { return pg::quote_literal(p.conn(), v); };
  std::vector<SchemaStep> steps =
      schema_steps(rec.definition(), rec.replica_identity(), now, schema, table, kProbeTable, literal);
  for (SchemaStep& step : steps) {
    if (!step.column.empty()) {  // a generated column: its type from the target
      const auto& cols = rec.definition().columns();
      auto c = std::find_if(cols.begin(), cols.end(), [&](const auto& x) { return x.name() == step.column; });
      std::string type;
      if (Outcome o = follower.sql_type(p, rec, as_column(*c), payload, type); !o.ok()) return o;
      const std::string rest =
          "ADD COLUMN " + quote_ident(c->name()) + " " + type + " GENERATED ALWAYS AS (" + c->generated() + ") STORED";
      step.sql = "ALTER TABLE " + table + " " + rest;
      step.probe = std::string("ALTER TABLE ") + kProbeTable + " " + rest;
    }
    if (!step.skip.empty()) {
      report(rec, table, step.what, step.skip);
      continue;
    }
    if (!step.probe.empty() || !step.in_place.empty()) {
      std::string refused;
      const std::string copy = "CREATE TEMP TABLE ss_schema_probe (LIKE " + table + ")";
      if (Outcome o = probe(p, step.in_place.empty() ? copy : table, step, refused); !o.ok()) return o;
      if (!step.in_place.empty() && refused.empty()) continue;  // done by the probe
      if (!refused.empty()) {
        report(rec, table, step.what, refused);
        continue;
      }
    }
    follower.run_ddl(p, rec, step.sql, payload);
  }
  p.send("SELECT set_config('search_path', $1, true)", {search_path});
  follower.forget(table);
  return p.drain();
}

Outcome SchemaApplier::drop_table(Pipeline& p, ShapeFollower& follower, const ChangeRecord& rec,
                                  const std::string& table, std::string_view payload) {
  follower.forget(table);
  p.send("DROP TABLE IF EXISTS " + table, {}, Origin::of(rec, payload));
  return p.drain();
}

Outcome SchemaApplier::drop_index(Pipeline& p, const ChangeRecord& rec, const std::string& schema,
                                  std::string_view payload) {
  p.send("DROP INDEX IF EXISTS " + quote_ident(schema) + "." + quote_ident(rec.definition().dropped_index()), {},
         Origin::of(rec, payload));
  return p.drain();
}

}  // namespace ss::apply
