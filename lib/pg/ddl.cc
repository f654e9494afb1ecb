#include "pg/ddl.h"

#include <google/protobuf/util/json_util.h>

#include <algorithm>

#include "core/error.h"
#include "core/log.h"
#include "core/shape.h"
#include "pg/conn.h"

namespace ss::ddl {

extern const std::string_view kTriggerSql;  // lib/pg/ddl_trigger.sql, embedded by the Makefile

namespace {

using shadowstream::v1::ChangeRecord;

// Runs a script (several statements: one implicit transaction) and tells a refused privilege from an outage.
void run_script(PGconn* c, const std::string& sql, const std::string& what) {
  pg::Result r(PQexec(c, sql.c_str()));
  if (PQresultStatus(r.get()) == PGRES_COMMAND_OK || PQresultStatus(r.get()) == PGRES_TUPLES_OK) return;
  if (PQstatus(c) != CONNECTION_OK) throw Error(kExitUnavailable, what + ": " + pg::error_text(c));
  if (pg::sqlstate(r.get()) == "42501")
    throw Error(kExitNoPerm, what + " needs a superuser (or rds_superuser on managed services): " +
                                 pg::error_text(r.get()) + "; without it, schema changes come from Relation messages");
  throw Error(kExitSoftware, what + ": " + pg::error_text(r.get()));
}

}  // namespace

int installed_version(PGconn* c) {
  // From the catalog, not by calling the function: any role may ask, with or without USAGE on the schema.
  pg::Result r = pg::exec(c,
                          "SELECT substring(p.prosrc FROM '[0-9]+') FROM pg_proc p JOIN pg_namespace n ON n.oid = "
                          "p.pronamespace WHERE n.nspname = 'shadowstream' AND p.proname = 'ddl_version' AND EXISTS "
                          "(SELECT FROM pg_event_trigger WHERE evtname = 'shadowstream_ddl')");
  return PQntuples(r.get()) == 1 && !PQgetisnull(r.get(), 0, 0) ? std::stoi(PQgetvalue(r.get(), 0, 0)) : 0;
}

void install(PGconn* c) {
  std::string sql(kTriggerSql);
  const std::string mark = "@VERSION@";
  for (size_t at = sql.find(mark); at != std::string::npos; at = sql.find(mark, at))
    sql.replace(at, mark.size(), std::to_string(kVersion));
  run_script(c, sql, "installing the schema-change trigger");
}

void uninstall(PGconn* c) {
  run_script(c,
             "SET client_min_messages = warning; DROP EVENT TRIGGER IF EXISTS shadowstream_ddl; "
             "DROP EVENT TRIGGER IF EXISTS shadowstream_drop; DROP SCHEMA IF EXISTS shadowstream CASCADE",
             "removing the schema-change trigger");
}

int install_or_remove(PGconn* c, const std::string& database, bool remove) {
  const int before = installed_version(c);
  if (remove) {
    uninstall(c);
    log::notice(before ? "removed the schema-change trigger from database " + database +
                             ": schema changes now come from Relation messages only"
                       : "no schema-change trigger in database " + database + ": nothing to remove");
    return kExitOk;
  }
  install(c);
  const std::string v = std::to_string(kVersion);
  log::notice(before == kVersion
                  ? "schema-change trigger version " + v + " already installed in database " + database + ": replaced"
              : before ? "schema-change trigger upgraded from version " + std::to_string(before) + " to " + v +
                             " in database " + database
                       : "installed the schema-change trigger (version " + v + ") in database " + database +
                             ": each DDL on a published table now travels as a schema record");
  return kExitOk;
}

void say_mode(PGconn* c, const std::string& database, bool creating) {
  const int version = installed_version(c);
  if (version == 0)
    (creating ? log::notice : log::info)("no schema-change trigger in database " + database +
                                         ": schema changes come from Relation messages only, at each table's next "
                                         "change (ss-capture install-ddl captures them where they happen)");
  else if (version != kVersion)
    log::warn("the schema-change trigger in database " + database + " is version " + std::to_string(version) +
              ", this ss-capture installs " + std::to_string(kVersion) + ": run ss-capture install-ddl to upgrade it");
}

bool carried_by(const ChangeRecord& schema, const std::string& publication) {
  const auto& d = schema.definition();
  const auto& pubs = d.publications();
  return d.dropped() || !d.dropped_index().empty() || std::find(pubs.begin(), pubs.end(), publication) != pubs.end();
}

namespace {
// A definition the trigger's function printed (a ChangeRecord in protobuf's JSON form); Error(65) when it is not.
ChangeRecord parse_definition(const std::string& json) {
  ChangeRecord parsed;
  google::protobuf::util::JsonParseOptions options;
  options.ignore_unknown_fields = true;  // a newer trigger's additions
  const auto status = google::protobuf::util::JsonStringToMessage(json, &parsed, options);
  if (!status.ok() || parsed.op() != shadowstream::v1::OPERATION_SCHEMA || parsed.schema().empty() ||
      (parsed.table().empty() && parsed.definition().dropped_index().empty()))
    throw Error(kExitDataErr, std::string("a ") + kDdlMessagePrefix +
                                  " message at this position is not a table definition" +
                                  (status.ok() ? "" : ": " + std::string(status.message())));
  return parsed;
}
}  // namespace

void add_definitions(PGconn* c, shadowstream::v1::Checkpoint& checkpoint) {
  if (installed_version(c) == 0) return;
  for (auto& t : *checkpoint.mutable_tables()) {
    pg::Result r =
        pg::exec(c,
                 "SELECT shadowstream.table_definition(c.oid, 'CHECKPOINT', format('%I.%I', n.nspname, "
                 "c.relname))::text FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace "
                 "WHERE n.nspname = " +
                     pg::quote_literal(c, t.schema()) + " AND c.relname = " + pg::quote_literal(c, t.table()));
    if (PQntuples(r.get()) != 1 || PQgetisnull(r.get(), 0, 0)) continue;
    ChangeRecord parsed = parse_definition(PQgetvalue(r.get(), 0, 0));
    t.set_relation_oid(parsed.relation_oid());
    t.set_replica_identity(parsed.replica_identity());
    *t.mutable_definition() = std::move(*parsed.mutable_definition());
  }
}

std::optional<ChangeRecord> schema_record(const ChangeRecord& message) {
  if (message.op() != shadowstream::v1::OPERATION_MESSAGE || !message.message().transactional() ||
      message.message().prefix() != kDdlMessagePrefix)
    return std::nullopt;
  ChangeRecord parsed = parse_definition(message.message().content());
  ChangeRecord rec = message;
  rec.clear_message();
  shape::take_schema(parsed, rec);
  return rec;
}

std::unordered_map<std::string, std::string> missing_values(PGconn* c, uint32_t oid) {
  pg::Result r = pg::exec(
      c, "SELECT attname, (attmissingval::text::text[])[1] FROM pg_attribute WHERE attrelid = " + std::to_string(oid) +
             " AND attnum > 0 AND NOT attisdropped AND atthasmissing AND attmissingval IS NOT NULL");
  std::unordered_map<std::string, std::string> out;
  for (int i = 0; i < PQntuples(r.get()); ++i)
    if (!PQgetisnull(r.get(), i, 1)) out[PQgetvalue(r.get(), i, 0)] = PQgetvalue(r.get(), i, 1);
  return out;
}

}  // namespace ss::ddl
