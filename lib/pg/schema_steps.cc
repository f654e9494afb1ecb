#include "pg/schema_steps.h"

#include <algorithm>
#include <charconv>
#include <set>

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

// Reads a foreign key's definition left to right: fixed words, identifiers, lists of them.
class KeyScanner {
 public:
  explicit KeyScanner(std::string_view text) : text_(text) {}
  bool done() const { return text_.empty(); }
  bool next(std::string_view w) const { return text_.substr(0, w.size()) == w; }
  // The words, if they come next.
  bool word(std::string_view w) {
    if (text_.substr(0, w.size()) != w) return false;
    text_.remove_prefix(w.size());
    return true;
  }
  // A name as quote_identifier prints it: bare (lower-case letters, digits, _, $, non-ASCII) or double-quoted.
  bool ident(std::string& out) {
    out.clear();
    if (word("\"")) {
      for (;;) {
        if (text_.empty() || text_[0] == '\0') return false;
        if (word("\"\"")) {
          out += '"';
        } else if (word("\"")) {
          return !out.empty();
        } else {
          out += text_[0];
          text_.remove_prefix(1);
        }
      }
    }
    size_t n = 0;
    for (; n < text_.size(); ++n) {
      const unsigned char c = text_[n];
      if (!((c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '_' || c == '$' || c >= 0x80)) break;
    }
    if (n == 0 || (text_[0] >= '0' && text_[0] <= '9')) return false;
    out = text_.substr(0, n);
    text_.remove_prefix(n);
    return true;
  }
  // "(a, b)", after `open`.
  bool list(std::vector<std::string>& out, std::string_view open = "(") {
    if (!word(open)) return false;
    for (;;) {
      if (!ident(out.emplace_back())) return false;
      if (word(")")) return true;
      if (!word(", ")) return false;
    }
  }
  // One of the actions ON UPDATE / ON DELETE name.
  bool action(std::string& out) {
    for (std::string_view a : {"CASCADE", "SET NULL", "SET DEFAULT", "RESTRICT"})
      if (word(a)) {
        out = a;
        return true;
      }
    return false;
  }

 private:
  std::string_view text_;
};

std::string quoted_list(const std::vector<std::string>& names) {
  std::string s = "(";
  for (size_t i = 0; i < names.size(); ++i) s += (i ? ", " : "") + quote_ident(names[i]);
  return s + ")";
}

}  // namespace

std::optional<ForeignKey> parse_foreign_key(std::string_view definition) {
  KeyScanner in(definition);
  ForeignKey k;
  if (!in.word("FOREIGN KEY ") || !in.list(k.columns) || !in.word(" REFERENCES ") || !in.ident(k.schema) ||
      !in.word(".") || !in.ident(k.table) || !in.list(k.referenced))
    return std::nullopt;
  if (in.word(" MATCH FULL")) k.match = "FULL";
  if (in.word(" ON UPDATE ") && !in.action(k.on_update)) return std::nullopt;
  if (in.word(" ON DELETE ")) {
    if (!in.action(k.on_delete)) return std::nullopt;
    if (k.on_delete.starts_with("SET ") && in.next(" (") && !in.list(k.delete_columns, " (")) return std::nullopt;
  }
  k.deferrable = in.word(" DEFERRABLE");
  k.deferred = in.word(" INITIALLY DEFERRED");
  k.not_valid = in.word(" NOT VALID");
  if (!in.done()) return std::nullopt;
  return k;
}

std::string foreign_key_sql(const ForeignKey& k, const std::string& table) {
  std::string s = "FOREIGN KEY " + quoted_list(k.columns) + " REFERENCES " + table + quoted_list(k.referenced);
  if (!k.match.empty()) s += " MATCH " + k.match;
  if (!k.on_update.empty()) s += " ON UPDATE " + k.on_update;
  if (!k.on_delete.empty()) s += " ON DELETE " + k.on_delete;
  if (!k.delete_columns.empty()) s += " " + quoted_list(k.delete_columns);
  if (k.deferrable) s += " DEFERRABLE";
  if (k.deferred) s += " INITIALLY DEFERRED";
  if (k.not_valid) s += " NOT VALID";
  return s;
}

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
        checked({}, {}, "generated column " + c.name(), 'd', c.name(), c.generated()).column = c.name();
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

  // Dropped when gone or changed (a NOT VALID one validated is validated), then added. A foreign key compares as
  // the replay makes it (its referenced table mapped); one the replay cannot make now is kept only while unchanged.
  void constraints() {
    for (const auto& t : now_.constraints) {
      auto d = find_named(def_.constraints(), t.name);
      std::string want = d == def_.constraints().end() ? "" : d->definition(), why;
      if (d != def_.constraints().end() && d->type() == "f") {
        const auto sql = key_sql(*d, why);
        // One the replay cannot make now stays only while it is the source's key as the record has it.
        if (!sql && normal_key(t.definition) == normal_key(d->definition())) continue;
        want = sql.value_or("");
      }
      const std::string have = normal_key(t.definition);
      if (!want.empty() && have == want) continue;
      if (!want.empty() && have == want + " NOT VALID")
        plain(alter_ + "VALIDATE CONSTRAINT " + quote_ident(t.name), "constraint " + t.name);
      else
        plain(alter_ + "DROP CONSTRAINT " + quote_ident(t.name), "constraint " + t.name);
    }
    for (const auto& d : def_.constraints()) {
      const TargetSchema::Named* t = named(now_.constraints, d.name());
      if (d.type() == "f") {
        std::string why;
        const auto sql = now_.defer_foreign_keys ? std::nullopt : key_sql(d, why);
        if (sql && t && (normal_key(t->definition) == *sql || normal_key(t->definition) == *sql + " NOT VALID"))
          continue;
        if (sql) {
          plain(alter_ + "ADD CONSTRAINT " + quote_ident(d.name()) + " " + *sql, "foreign key " + d.name());
          made_keys_.insert(d.name());
        } else if (!t && !now_.defer_foreign_keys)
          skipped("foreign key " + d.name(), why);
        continue;
      }
      if (t && (t->definition == d.definition() || t->definition == d.definition() + " NOT VALID")) continue;
      probed("ADD CONSTRAINT " + quote_ident(d.name()) + " " + d.definition(), "constraint " + d.name(), 'c', d.name(),
             d.definition());
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
      checked(head + table_ + " USING " + d.using_(), head + probe_table_ + " USING " + d.using_(), "index " + d.name(),
              'i', d.name(), text(d));
    }
  }

  // Comments of the table, its constraints and indexes.
  void comments() {
    if (opt(def_.has_comment(), def_.comment()) != now_.comment)
      plain(comment("TABLE " + table_, opt(def_.has_comment(), def_.comment())), "comment of the table");
    for (const auto& d : def_.constraints()) {
      const TargetSchema::Named* t = named(now_.constraints, d.name());
      if (!t && d.type() == "f" && !made_keys_.count(d.name())) continue;
      if (opt(d.has_comment(), d.comment()) != (t ? t->comment : std::nullopt)) {
        plain(comment("CONSTRAINT " + quote_ident(d.name()) + " ON " + table_, opt(d.has_comment(), d.comment())),
              "comment of constraint " + d.name());
        if (!t) steps_.back().needs = "constraint " + d.name();  // made by this record, if its probe passes
      }
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
    const bool owned = std::any_of(def_.indexes().begin(), def_.indexes().end(),
                                   [&](const auto& d) { return d.name() == index && d.has_constraint(); });
    if (ri == "i" && !index.empty() && !owned && !named(now_.indexes, index)) steps_.back().needs = "index " + index;
  }

 private:
  void plain(std::string sql, std::string what) {
    SchemaStep& st = steps_.emplace_back();
    st.sql = std::move(sql);
    st.what = std::move(what);
  }
  // A step tried on the probe first, and read back.
  SchemaStep& checked(std::string sql, std::string probe, std::string what, char readback, std::string object,
                      std::string expect) {
    SchemaStep& st = steps_.emplace_back();
    st.sql = std::move(sql);
    st.probe = std::move(probe);
    st.what = std::move(what);
    st.readback = readback;
    st.object = std::move(object);
    st.expect = std::move(expect);
    return st;
  }
  void probed(const std::string& rest, std::string what, char readback, std::string object, std::string expect) {
    checked(alter_ + rest, "ALTER TABLE " + probe_table_ + " " + rest, std::move(what), readback, std::move(object),
            std::move(expect));
  }
  // A foreign key of the record as this replay makes it on the target (the referenced table mapped), or why not.
  std::optional<std::string> key_sql(const shadowstream::v1::ConstraintDefinition& d, std::string& why) const {
    const auto k = parse_foreign_key(d.definition());
    if (!k) {
      why = "its definition is not one this version reads";
      return std::nullopt;
    }
    for (const auto& r : now_.referenced) {
      if (r.schema != k->schema || r.table != k->table || !r.replayed) continue;
      if (!now_.no_foreign_keys.empty()) {
        why = now_.no_foreign_keys;
        return std::nullopt;
      }
      return foreign_key_sql(*k, quote_ident(r.target_schema) + "." + quote_ident(r.target_table));
    }
    why = "it references " + k->schema + "." + k->table + ", which is not a table of this replay";
    return std::nullopt;
  }
  // A target's constraint as key_sql writes a foreign key, so that the two compare.
  static std::string normal_key(const std::string& definition) {
    const auto k = parse_foreign_key(definition);
    return k ? foreign_key_sql(*k, quote_ident(k->schema) + "." + quote_ident(k->table)) : definition;
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
  std::set<std::string> made_keys_;  // foreign keys this record makes
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
