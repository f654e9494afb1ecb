#include "pg/ddl.h"

#include <absl/strings/escaping.h>
#include <google/protobuf/util/json_util.h>
#include <gtest/gtest.h>

#include <string>

#include "core/debezium.h"
#include "core/error.h"

namespace ss {
namespace {

using shadowstream::v1::ChangeRecord;

ChangeRecord message(const std::string& content, const std::string& prefix = kDdlMessagePrefix, bool tx = true) {
  ChangeRecord m;
  m.set_op(shadowstream::v1::OPERATION_MESSAGE);
  m.set_commit_lsn(0x100);
  m.set_ordinal(3);
  m.mutable_source()->set_name("src");
  m.mutable_message()->set_transactional(tx);
  m.mutable_message()->set_prefix(prefix);
  m.mutable_message()->set_content(content);
  return m;
}

// What the trigger writes (jsonb's text: oids as strings, keys in jsonb's order), abridged.
const char* kAlter = R"json({"op": "OPERATION_SCHEMA", "table": "t", "schema": "public", "relationOid": "16397",
  "replicaIdentity": "d", "source": {"name": "forged"}, "commitLsn": "999",
  "definition": {"kind": "r", "version": 1, "commandTag": "CREATE INDEX", "objectIdentity": "public.t_v",
    "publications": ["shadowstream"], "comment": "hello", "someLaterField": 1,
    "columns": [{"name": "id", "type": "integer", "notNull": true, "typeOid": "23", "typeModifier": -1,
                 "default": "nextval('public.t_id_seq'::regclass)",
                 "sequence": {"name": "public.t_id_seq", "type": "integer", "start": "1", "cycle": false}},
                {"name": "v", "type": "character varying(20)", "typeOid": "1043", "typeModifier": 24,
                 "collation": "pg_catalog.\"C\""}],
    "constraints": [{"name": "t_pkey", "type": "p", "definition": "PRIMARY KEY (id)", "validated": true}],
    "indexes": [{"name": "t_v", "definition": "CREATE INDEX t_v ON public.t USING btree (lower((v)::text))"}]}})json";

TEST(Ddl, AMessageOfTheTriggerIsASchemaRecordAtItsPosition) {
  auto rec = ddl::schema_record(message(kAlter));
  ASSERT_TRUE(rec);
  EXPECT_EQ(rec->op(), shadowstream::v1::OPERATION_SCHEMA);
  EXPECT_FALSE(rec->has_message());
  // Position and source are the capture's; the content's own claims to them are ignored.
  EXPECT_EQ(rec->commit_lsn(), 0x100u);
  EXPECT_EQ(rec->ordinal(), 3u);
  EXPECT_EQ(rec->source().name(), "src");
  EXPECT_EQ(rec->schema(), "public");
  EXPECT_EQ(rec->table(), "t");
  EXPECT_EQ(rec->relation_oid(), 16397u);
  EXPECT_EQ(rec->replica_identity(), "d");
  const auto& d = rec->definition();
  EXPECT_EQ(d.command_tag(), "CREATE INDEX");
  EXPECT_EQ(d.object_identity(), "public.t_v");
  ASSERT_EQ(d.columns_size(), 2);
  EXPECT_EQ(d.columns(0).type_oid(), 23u);
  EXPECT_TRUE(d.columns(0).not_null());
  EXPECT_EQ(d.columns(0).default_(), "nextval('public.t_id_seq'::regclass)");
  EXPECT_EQ(d.columns(0).sequence().name(), "public.t_id_seq");
  EXPECT_FALSE(d.columns(1).has_default_());
  EXPECT_EQ(d.columns(1).type(), "character varying(20)");
  EXPECT_EQ(d.columns(1).type_modifier(), 24);
  EXPECT_EQ(d.columns(1).collation(), "pg_catalog.\"C\"");
  ASSERT_EQ(d.constraints_size(), 1);
  EXPECT_TRUE(d.constraints(0).validated());
  ASSERT_EQ(d.indexes_size(), 1);
  EXPECT_FALSE(d.indexes(0).has_constraint());
  EXPECT_EQ(d.comment(), "hello");
  EXPECT_EQ(d.publications(0), "shadowstream");
}

TEST(Ddl, DropsNameTheTableOrTheIndex) {
  auto t = ddl::schema_record(message(
      R"({"op": "OPERATION_SCHEMA", "schema": "s", "table": "t", "definition": {"commandTag": "DROP TABLE", "dropped": true}})"));
  ASSERT_TRUE(t);
  EXPECT_TRUE(t->definition().dropped());
  auto i = ddl::schema_record(message(
      R"({"op": "OPERATION_SCHEMA", "schema": "s", "definition": {"commandTag": "DROP INDEX", "droppedIndex": "t_v"}})"));
  ASSERT_TRUE(i);
  EXPECT_EQ(i->table(), "");
  EXPECT_EQ(i->definition().dropped_index(), "t_v");
}

TEST(Ddl, OtherMessagesAreNotSchemaRecords) {
  EXPECT_FALSE(ddl::schema_record(message(kAlter, "app.audit")));
  EXPECT_FALSE(ddl::schema_record(message(kAlter, kDdlMessagePrefix, false)));  // only the trigger's transactional ones
  ChangeRecord insert;
  insert.set_op(shadowstream::v1::OPERATION_INSERT);
  EXPECT_FALSE(ddl::schema_record(insert));
}

TEST(Ddl, ContentThatIsNotADefinitionIsBadData) {
  for (const char* bad : {"not json", "{}", R"({"op": "OPERATION_INSERT", "schema": "s", "table": "t"})",
                          R"({"op": "OPERATION_SCHEMA", "table": "t"})", R"({"op": "OPERATION_SCHEMA", "schema": "s"})",
                          R"({"op": "OPERATION_SCHEMA", "schema": "s", "table": "t", "definition": {"columns": 3}})"}) {
    try {
      ddl::schema_record(message(bad));
      ADD_FAILURE() << bad;
    } catch (const Error& e) {
      EXPECT_EQ(e.code(), kExitDataErr) << bad;
      EXPECT_NE(std::string(e.what()).find("not a table definition"), std::string::npos) << e.what();
    }
  }
}

// ss-cat --format debezium shows a schema record as the connector shows the trigger's message: op m, its prefix,
// and content that parses back to the same definition.
TEST(Ddl, DebeziumSeesTheTriggersMessage) {
  auto rec = ddl::schema_record(message(kAlter));
  ASSERT_TRUE(rec);
  debezium::Converter conv;
  std::vector<std::string> ev;
  conv.convert(*rec, ev);
  ASSERT_EQ(ev.size(), 1u);
  EXPECT_TRUE(ev[0].starts_with("{\"op\":\"m\",")) << ev[0];
  EXPECT_NE(ev[0].find("\"prefix\":\"shadowstream.ddl\""), std::string::npos);
  const size_t at = ev[0].find("\"content\":\"") + 11;
  std::string content;
  ASSERT_TRUE(absl::Base64Unescape(ev[0].substr(at, ev[0].find('"', at) - at), &content));
  auto again = ddl::schema_record(message(content));
  ASSERT_TRUE(again);
  EXPECT_EQ(again->definition().SerializeAsString(), rec->definition().SerializeAsString());
  EXPECT_EQ(again->table(), "t");
}

}  // namespace
}  // namespace ss
