#include "pg/schema_steps.h"

#include <gtest/gtest.h>

#include <algorithm>

#include <string>
#include <vector>

#include "core/shape.h"

namespace ss::apply {
namespace {

using shadowstream::v1::ChangeRecord;
using shadowstream::v1::TableDefinition;

std::string lit(const std::string& v) {
  return "'" + v + "'";
}

shadowstream::v1::ConstraintDefinition* add_constraint(TableDefinition& d, const std::string& name,
                                                       const std::string& type, const std::string& definition) {
  auto* c = d.add_constraints();
  c->set_name(name);
  c->set_type(type);
  c->set_definition(definition);
  return c;
}

TableDefinition items() {
  TableDefinition d;
  auto* id = d.add_columns();
  id->set_name("id");
  id->set_type_oid(23);
  id->set_type_name("int4");
  id->set_type_modifier(-1);
  id->set_not_null(true);
  id->set_is_key(true);
  id->set_default_("nextval('public.items_id_seq'::regclass)");
  auto* seq = id->mutable_sequence();
  seq->set_name("public.items_id_seq");
  seq->set_type("integer");
  seq->set_start("1");
  seq->set_increment("1");
  seq->set_min_value("1");
  seq->set_max_value("2147483647");
  seq->set_cache("1");
  auto* v = d.add_columns();
  v->set_name("v");
  v->set_type_oid(25);
  v->set_type_name("text");
  v->set_type_modifier(-1);
  v->set_comment("the value");
  auto* g = d.add_columns();
  g->set_name("g");
  g->set_type_oid(23);
  g->set_type_name("int4");
  g->set_generated("(id * 2)");
  add_constraint(d, "items_pkey", "p", "PRIMARY KEY (id)");
  auto* pki = d.add_indexes();
  pki->set_name("items_pkey");
  pki->set_constraint("items_pkey");
  pki->set_unique(true);
  pki->set_using_("btree (id)");
  auto* i = d.add_indexes();
  i->set_name("items_v");
  i->set_using_("btree (lower(v)) WHERE (id > 0)");
  return d;
}

// The target as the follower leaves it: the columns rows carry, the key, nothing else.
TargetSchema bare() {
  TargetSchema t;
  t.columns.push_back({"id", std::nullopt, std::nullopt, true, "", std::nullopt, "integer", std::nullopt});
  t.columns.push_back({"v", std::nullopt, std::nullopt, false, "", std::nullopt, "text", std::nullopt});
  t.constraints.push_back({"items_pkey", "PRIMARY KEY (id)", std::nullopt});
  return t;
}

std::vector<std::string> sql_of(const std::vector<SchemaStep>& steps) {
  std::vector<std::string> out;
  for (const auto& s : steps) out.push_back(s.skip.empty() ? s.sql : "SKIP " + s.what + ": " + s.skip);
  return out;
}

TEST(SchemaSteps, TakeABareTableToTheDefinitionInOrder) {
  const auto steps = schema_steps(items(), "d", bare(), "public", "\"public\".\"items\"", "pg_temp.p", lit);
  const std::vector<std::string> want = {
      "CREATE SEQUENCE \"public\".\"items_id_seq\" AS integer INCREMENT BY 1 MINVALUE 1 MAXVALUE "
      "2147483647 START WITH 1 CACHE 1 NO CYCLE",
      "ALTER SEQUENCE \"public\".\"items_id_seq\" OWNED BY \"public\".\"items\".\"id\"",
      "",  // the generated column: typed against the target by the applier
      "ALTER TABLE \"public\".\"items\" ALTER COLUMN \"id\" SET DEFAULT nextval('public.items_id_seq'::regclass)",
      "COMMENT ON COLUMN \"public\".\"items\".\"v\" IS 'the value'",
      "CREATE INDEX \"items_v\" ON \"public\".\"items\" USING btree (lower(v)) WHERE (id > 0)",
  };
  EXPECT_EQ(sql_of(steps).size(), want.size());
  for (size_t i = 0; i < std::min(want.size(), steps.size()); ++i)
    if (!want[i].empty()) {
      EXPECT_EQ(steps[i].sql, want[i]) << i;
    }
  EXPECT_EQ(steps[2].column, "g");
  EXPECT_TRUE(steps[2].skip.empty());
  // Expressions are tried on the copy first, and read back there as the record has them; plain DDL is not.
  EXPECT_EQ(steps[3].probe,
            "ALTER TABLE pg_temp.p ALTER COLUMN \"id\" SET DEFAULT nextval('public.items_id_seq'::regclass)");
  EXPECT_EQ(steps[3].readback, 'd');
  EXPECT_EQ(steps[3].object, "id");
  EXPECT_EQ(steps[3].expect, "nextval('public.items_id_seq'::regclass)");
  EXPECT_EQ(steps[5].readback, 'i');
  EXPECT_EQ(steps[5].expect, "btree (lower(v)) WHERE (id > 0)");
  EXPECT_EQ(steps[2].readback, 'd');
  EXPECT_EQ(steps[2].expect, "(id * 2)");
  EXPECT_EQ(steps[5].probe, "CREATE INDEX \"items_v\" ON pg_temp.p USING btree (lower(v)) WHERE (id > 0)");
  EXPECT_TRUE(steps[0].probe.empty());
  EXPECT_TRUE(steps[4].probe.empty());
}

TEST(SchemaSteps, NothingWhenTheTargetMatches) {
  TargetSchema t = bare();
  t.columns[0].default_expr = "nextval('public.items_id_seq'::regclass)";
  t.columns[1].comment = "the value";
  t.columns.push_back({"g", std::nullopt, "(id * 2)", false, "", std::nullopt, "integer", std::nullopt});
  t.indexes.push_back({"items_v", "btree (lower(v)) WHERE (id > 0)", std::nullopt});
  t.sequences.push_back("public.items_id_seq");
  EXPECT_TRUE(schema_steps(items(), "d", t, "public", "t", "p", lit).empty());
}

TEST(SchemaSteps, ChangesAndDrops) {
  TableDefinition d = items();
  d.mutable_columns(1)->clear_comment();
  d.mutable_columns(1)->set_not_null(true);
  d.mutable_indexes()->RemoveLast();  // items_v dropped
  add_constraint(d, "items_v_check", "c", "CHECK ((v <> ''::text))");
  add_constraint(d, "items_fk", "f", "FOREIGN KEY (id) REFERENCES public.other(id)");
  TargetSchema t = bare();
  t.columns[0].default_expr = "nextval('public.items_id_seq'::regclass)";
  t.columns[1].comment = "old";
  t.columns.push_back({"g", std::nullopt, "(id * 2)", false, "", std::nullopt, "integer", std::nullopt});
  t.indexes.push_back({"items_v", "btree (lower(v)) WHERE (id > 0)", std::nullopt});
  t.constraints.push_back({"items_old", "CHECK ((id > 0))", std::nullopt});
  t.sequences.push_back("public.items_id_seq");
  const auto got = sql_of(schema_steps(d, "f", t, "public", "t", "p", lit));
  const std::vector<std::string> want = {
      "ALTER TABLE t ALTER COLUMN \"v\" SET NOT NULL",
      "COMMENT ON COLUMN t.\"v\" IS NULL",
      "ALTER TABLE t DROP CONSTRAINT \"items_old\"",
      "ALTER TABLE t ADD CONSTRAINT \"items_v_check\" CHECK ((v <> ''::text))",
      "SKIP foreign key items_fk: it references public.other, which is not a table of this replay",
      "DROP INDEX \"public\".\"items_v\"",
      "ALTER TABLE t REPLICA IDENTITY FULL",
  };
  EXPECT_EQ(got, want);
}

TEST(SchemaSteps, ANotValidConstraintValidatedIsValidated) {
  TableDefinition d = items();
  add_constraint(d, "c", "c", "CHECK ((id > 0))");
  TargetSchema t = bare();
  t.constraints.push_back({"c", "CHECK ((id > 0)) NOT VALID", std::nullopt});
  bool validated = false;
  for (const auto& s : schema_steps(d, "d", t, "public", "t", "p", lit)) {
    EXPECT_EQ(s.sql.find("DROP CONSTRAINT \"c\""), std::string::npos);
    validated |= s.sql == "ALTER TABLE t VALIDATE CONSTRAINT \"c\"";
  }
  EXPECT_TRUE(validated);
}

TEST(SchemaSteps, NamesAndNumbersThatAreNotWhatTheySayAreSkipped) {
  TableDefinition d = items();
  d.mutable_columns(0)->mutable_sequence()->set_start("1; DROP TABLE x");
  d.mutable_columns(1)->set_collation("pg_catalog.\"C\"); DROP TABLE x; --");
  TargetSchema t = bare();
  const auto got = sql_of(schema_steps(d, "d", t, "public", "t", "p", lit));
  EXPECT_EQ(got[0], "SKIP sequence of column id: its name or parameters are not one of this table's sequences");
  bool collation_skipped = false;
  for (const auto& s : got) {
    EXPECT_EQ(s.find("DROP TABLE"), std::string::npos) << s;
    collation_skipped |= s == "SKIP collation of column v: its name is not a collation's";
  }
  EXPECT_TRUE(collation_skipped);
}

TEST(SchemaSteps, ASequenceElsewhereOrAnothersIsNeverTakenOver) {
  TableDefinition d = items();
  TargetSchema t = bare();
  t.others.push_back("public.items_id_seq");  // the schema has it, for something else
  EXPECT_EQ(sql_of(schema_steps(d, "d", t, "public", "t", "p", lit))[0],
            "SKIP sequence of column id: its name or parameters are not one of this table's sequences");
  d.mutable_columns(0)->mutable_sequence()->set_name("billing.invoice_seq");
  EXPECT_EQ(sql_of(schema_steps(d, "d", bare(), "public", "t", "p", lit))[0],
            "SKIP sequence of column id: its name or parameters are not one of this table's sequences");
}

TEST(ForeignKey, ParsesWhatTheCatalogPrintsAndNothingElse) {
  const std::string full =
      "FOREIGN KEY (a, \"B c\") REFERENCES \"Sales\".orders(id, \"x\"\"y\") MATCH FULL ON UPDATE CASCADE ON DELETE SET "
      "NULL (a) DEFERRABLE INITIALLY DEFERRED NOT VALID";
  const auto k = parse_foreign_key(full);
  ASSERT_TRUE(k);
  EXPECT_EQ(k->columns, (std::vector<std::string>{"a", "B c"}));
  EXPECT_EQ(k->schema, "Sales");
  EXPECT_EQ(k->table, "orders");
  EXPECT_EQ(k->referenced, (std::vector<std::string>{"id", "x\"y"}));
  EXPECT_EQ(k->on_delete, "SET NULL");
  EXPECT_EQ(k->delete_columns, (std::vector<std::string>{"a"}));
  EXPECT_TRUE(k->deferrable && k->deferred && k->not_valid);
  EXPECT_EQ(foreign_key_sql(*k, "\"shadow\".\"orders\""),
            "FOREIGN KEY (\"a\", \"B c\") REFERENCES \"shadow\".\"orders\"(\"id\", \"x\"\"y\") MATCH FULL ON UPDATE "
            "CASCADE ON DELETE SET NULL (\"a\") DEFERRABLE INITIALLY DEFERRED NOT VALID");
  const auto plain = parse_foreign_key("FOREIGN KEY (a) REFERENCES public.p(id) ON DELETE SET NULL DEFERRABLE");
  ASSERT_TRUE(plain);
  EXPECT_TRUE(plain->delete_columns.empty() && plain->deferrable && !plain->deferred);
  for (const char* bad :
       {"FOREIGN KEY (a) REFERENCES p(id)",  // not qualified: the trigger always qualifies
        "FOREIGN KEY (a) REFERENCES public.p(id), ADD COLUMN x int",
        "FOREIGN KEY (a) REFERENCES public.p(id) ON DELETE CASCADE; DROP TABLE x",
        "FOREIGN KEY (a) REFERENCES public.p(id) ON DELETE NO ACTION",
        "FOREIGN KEY (a, PERIOD b) REFERENCES public.p(id, PERIOD c)", "FOREIGN KEY (a) REFERENCES public.p(lower(id))",
        "FOREIGN KEY (\"a) REFERENCES public.p(id)", "CHECK ((a > 0))"})
    EXPECT_FALSE(parse_foreign_key(bad)) << bad;
}

TEST(SchemaSteps, AForeignKeyIsMadeBetweenTheReplaysTablesOnly) {
  TableDefinition d = items();
  auto* fk = add_constraint(d, "items_fk", "f", "FOREIGN KEY (id) REFERENCES public.other(id) ON DELETE CASCADE");
  fk->set_comment("the key");
  TargetSchema t = bare();
  t.referenced.push_back({"public", "other", "shadow", "other2", true});
  auto steps = schema_steps(d, "d", t, "public", "t", "p", lit);
  auto has = [&](const std::string& sql) {
    for (const auto& s : steps)
      if (s.sql == sql) return true;
    return false;
  };
  EXPECT_TRUE(
      has("ALTER TABLE t ADD CONSTRAINT \"items_fk\" FOREIGN KEY (\"id\") REFERENCES \"shadow\".\"other2\"(\"id\") "
          "ON DELETE CASCADE"));
  EXPECT_TRUE(has("COMMENT ON CONSTRAINT \"items_fk\" ON t IS 'the key'"));
  // On the target already (as the target prints it): nothing to do; NOT VALID there, validated in the record.
  t.constraints.push_back(
      {"items_fk", "FOREIGN KEY (id) REFERENCES shadow.other2(id) ON DELETE CASCADE NOT VALID", "the key"});
  steps = schema_steps(d, "d", t, "public", "t", "p", lit);
  EXPECT_TRUE(has("ALTER TABLE t VALIDATE CONSTRAINT \"items_fk\""));
  for (const auto& s : steps) EXPECT_EQ(s.sql.find("ADD CONSTRAINT \"items_fk\""), std::string::npos);
  // A target that cannot apply in replica mode, or a table not the replay's: said, not made.
  t = bare();
  t.referenced.push_back({"public", "other", "public", "other", true});
  t.no_foreign_keys = "no replica mode";
  auto said = [&](const std::string& line) {
    const auto got = sql_of(schema_steps(d, "d", t, "public", "t", "p", lit));
    for (const auto& s : got) EXPECT_EQ(s.find("COMMENT ON CONSTRAINT"), std::string::npos);
    return std::find(got.begin(), got.end(), line) != got.end();
  };
  EXPECT_TRUE(said("SKIP foreign key items_fk: no replica mode"));
  t.referenced.back().replayed = false;
  EXPECT_TRUE(said("SKIP foreign key items_fk: it references public.other, which is not a table of this replay"));
  // A checkpoint's first pass: neither made nor said.
  t.defer_foreign_keys = true;
  for (const auto& s : schema_steps(d, "d", t, "public", "t", "p", lit))
    EXPECT_EQ(s.what.find("items_fk"), std::string::npos);
}

TEST(SchemaSteps, AKeyTheReplayCannotMakeStaysOnlyWhileUnchanged) {
  TableDefinition d = items();
  auto* fk = add_constraint(d, "items_fk", "f", "FOREIGN KEY (id) REFERENCES public.other(id)");
  TargetSchema t = bare();
  t.constraints.push_back({"items_fk", "FOREIGN KEY (id) REFERENCES public.other(id)", std::nullopt});
  t.referenced.push_back({"public", "other", "public", "other", true});
  t.no_foreign_keys = "no replica mode";
  for (const auto& s : schema_steps(d, "d", t, "public", "t", "p", lit))
    EXPECT_EQ(s.sql.find("items_fk"), std::string::npos) << s.sql;
  // The source's key now references a table the replay does not follow: the target's old key goes.
  fk->set_definition("FOREIGN KEY (id) REFERENCES public.elsewhere(id)");
  bool dropped = false;
  for (const auto& s : schema_steps(d, "d", t, "public", "t", "p", lit))
    dropped |= s.sql == "ALTER TABLE t DROP CONSTRAINT \"items_fk\"";
  EXPECT_TRUE(dropped);
}

TEST(ShapeRecord, TheDefinitionsColumnsAsARowCarriesThem) {
  ChangeRecord schema;
  schema.set_op(shadowstream::v1::OPERATION_SCHEMA);
  schema.set_schema("public");
  schema.set_table("items");
  schema.set_relation_oid(42);
  schema.set_replica_identity("d");
  *schema.mutable_definition() = items();
  schema.mutable_definition()->mutable_columns(1)->set_missing_value("x");
  const ChangeRecord r = shape_record(schema);
  ASSERT_EQ(r.columns_size(), 2);  // g is generated: pgoutput leaves it out
  EXPECT_EQ(r.columns(0).name(), "id");
  EXPECT_TRUE(r.columns(0).is_key());
  EXPECT_EQ(r.columns(1).missing_value(), "x");
  EXPECT_FALSE(r.has_definition());
  EXPECT_NE(r.shape_id(), 0u);
  // The shape a row of the table would carry.
  ChangeRecord row = r;
  row.set_op(shadowstream::v1::OPERATION_INSERT);
  row.mutable_columns(0)->set_text("1");
  EXPECT_EQ(shape::id(row), r.shape_id());
}

}  // namespace
}  // namespace ss::apply
