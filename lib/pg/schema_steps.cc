#include "pg/schema_steps.h"

#include <algorithm>
#include <charconv>

#include "core/shape.h"
#include "core/type_name.h"
#include "pg/statements.h"

namespace ss::apply {

using shadowstream::v1::ChangeRecord;
using shadowstream::v1::TableDefinition;

shadowstream::v1::Column as_column(const shadowstream::v1::ColumnDefinition& c) {
  shadowstream::v1::Column col;
  col.set_name(c.name());
  col.set_type_oid(c.type_oid());
  col.set_type_name(c.type_name());
  col.set_type_modifier(c.type_modifier());
  col.set_is_key(c.is_key());
  return col;
}

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

std::optional<std::string> qualified_name(const std::string& text) {
  std::optional<TypeRef> ref = parse_type_name(text);
  if (!ref || ref->array_dims || ref->schema.empty()) return std::nullopt;
  return quote_ident(ref->schema) + "." + quote_ident(ref->name);
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
        schema_(schema),
        qschema_(quote_ident(schema) + "."),
        alter_("ALTER TABLE " + table + " "),
        literal_(literal) {}

  std::vector<SchemaStep> take() { return std::move(steps_); }

  // Sequences a column owns (serial): a default's nextval() needs its sequence first.
  void sequences() {
    for (const auto& c : def_.columns()) {
      if (!c.has_sequence() || !c.identity().empty()) continue;
      const auto name = own_sequence(c.sequence().name());
      const auto options = sequence_options(c.sequence(), true);
      if (!name || !options) {
        skipped("sequence of column " + c.name(), "its name or parameters are not one of this table's sequences");
        continue;
      }
      const auto& have = now_.sequences;
      if (std::find(have.begin(), have.end(), c.sequence().name()) != have.end()) continue;
      plain("CREATE SEQUENCE " + *name + *options, "sequence " + c.sequence().name());
      plain("ALTER SEQUENCE " + *name + " OWNED BY " + table_ + "." + quote_ident(c.name()),
            "sequence " + c.sequence().name());
    }
  }

  // Generated columns: rows never carry them. One to add waits for the target's spelling of its type.
  void generated() {
    for (const auto& c : def_.columns())
      if (c.has_generated() && !target_column(now_, c.name()))
        steps_.push_back({{}, {}, "generated column " + c.name(), {}, c.name(), 'd', c.name(), c.generated()});
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
      const auto name = own_sequence(c.sequence().name());
      const auto options = sequence_options(c.sequence(), false);
      if (t.default_expr) plain(col + " DROP DEFAULT", "default of column " + c.name());
      // BY DEFAULT even for ALWAYS: the replay writes the source's values into the column.
      if (name && options)
        plain(col + " ADD GENERATED BY DEFAULT AS IDENTITY (SEQUENCE NAME " + *name + *options + ")",
              "identity of column " + c.name());
      else
        skipped("identity of column " + c.name(), "its sequence's name or parameters are not one of this table's");
    } else if (c.identity().empty()) {
      if (!t.identity.empty()) plain(col + " DROP IDENTITY IF EXISTS", "identity of column " + c.name());
      if (c.has_default_() && (!t.default_expr || *t.default_expr != c.default_()))
        probed("ALTER COLUMN " + quote_ident(c.name()) + " SET DEFAULT " + c.default_(),
               "default of column " + c.name(), 'd', c.name(), c.default_());
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
        probed("ADD CONSTRAINT " + quote_ident(d.name()) + " " + d.definition(), "constraint " + d.name(), 'c',
               d.name(), d.definition());
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
                        'i',
                        d.name(),
                        text(d)});
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
    // An index's comment only on this table's index as it stands (one made by this record gets it from the
    // COMMENT's own record): the name alone could be another table's index in the schema.
    for (const auto& d : def_.indexes()) {
      const TargetSchema::Named* t = named(now_.indexes, d.name());
      if (t && !d.has_constraint() && opt(d.has_comment(), d.comment()) != t->comment)
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
  void plain(std::string sql, std::string what) {
    SchemaStep& st = steps_.emplace_back();
    st.sql = std::move(sql);
    st.what = std::move(what);
  }
  void probed(const std::string& rest, std::string what, char readback, std::string object, std::string expect) {
    steps_.push_back({alter_ + rest,
                      "ALTER TABLE " + probe_table_ + " " + rest,
                      std::move(what),
                      {},
                      {},
                      readback,
                      std::move(object),
                      std::move(expect)});
  }
  void skipped(std::string what, std::string why) {
    SchemaStep& st = steps_.emplace_back();
    st.what = std::move(what);
    st.skip = std::move(why);
  }
  // A sequence the record names for one of this table's columns: in the table's own schema, and not one the schema
  // already has for something else (taking it over would hand it to this table, and a drop would take it along).
  std::optional<std::string> own_sequence(const std::string& text) const {
    std::optional<TypeRef> ref = parse_type_name(text);
    if (!ref || ref->array_dims || ref->schema != schema_) return std::nullopt;
    if (std::find(now_.others.begin(), now_.others.end(), text) != now_.others.end()) return std::nullopt;
    return quote_ident(ref->schema) + "." + quote_ident(ref->name);
  }
  std::string comment(const std::string& on, const std::optional<std::string>& text) {
    return "COMMENT ON " + on + " IS " + (text ? literal_(*text) : "NULL");
  }

  const TableDefinition& def_;
  const TargetSchema& now_;
  const std::string& table_;
  const std::string& probe_table_;
  const std::string schema_, qschema_, alter_;
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

}  // namespace ss::apply
