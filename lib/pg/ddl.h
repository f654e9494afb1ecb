// Schema changes captured where they happen: ss-capture install-ddl puts an event trigger on the source
// (lib/pg/ddl_trigger.sql) that emits each touched table's full definition as a transactional logical message, and
// the capture turns those messages into schema records (op = schema) at their position in the DDL's transaction.
// Without the trigger, shapes still follow the Relation messages pgoutput sends before a table's next change.
#pragma once

#include <libpq-fe.h>

#include <optional>
#include <string>
#include <unordered_map>

#include "core/defaults.h"
#include "shadowstream.pb.h"

namespace ss::ddl {

// The trigger's format version this build installs and reads (its messages' prefix: core/defaults.h).
inline constexpr int kVersion = 2;

// The trigger's version on the database `c` is connected to; 0 when it is not installed.
int installed_version(PGconn* c);
// Installs the trigger, or replaces an older (or the same) version: idempotent. A role that may not create event
// triggers (superuser, or rds_superuser on managed services) is Error(77) in one line that says so.
void install(PGconn* c);
// Removes the trigger and the schema shadowstream it lives in; nothing to do when it is not installed.
void uninstall(PGconn* c);

// ss-capture install-ddl / uninstall-ddl: does it and says what it did (stderr, as a notice).
int install_or_remove(PGconn* c, const std::string& database, bool remove);
// Says which way the source's schema changes reach the records: as a notice when `creating` the slot, else with -v;
// warns when the installed trigger is not this build's version.
void say_mode(PGconn* c, const std::string& database, bool creating);

// Whether a schema record belongs to a reader of `publication`: its table is in it after the command, or it is a
// drop (which names no publication: the catalog has forgotten it; a reader that never had the table ignores it).
bool carried_by(const shadowstream::v1::ChangeRecord& schema, const std::string& publication);

// A column added with a default after rows existed: those rows read attmissingval, and no WAL says so. The shadow
// needs the value to give its own older rows when it adds the column. Column name -> value text, of relation `oid`.
std::unordered_map<std::string, std::string> missing_values(PGconn* c, uint32_t oid);

// A checkpoint's tables with their definitions (CheckpointTable.definition), read in the checkpoint's transaction
// from the trigger's own function; nothing when the trigger is not installed.
void add_definitions(PGconn* c, shadowstream::v1::Checkpoint& checkpoint);

// The schema record a trigger's message carries: `message` is a transactional logical message with prefix
// kDdlMessagePrefix (anything else: nullopt). Only op, schema, table, relation_oid, replica_identity and the definition
// are taken from the content; the caller gives it its source and position. Content that is not a definition is
// Error(65).
std::optional<shadowstream::v1::ChangeRecord> schema_record(const shadowstream::v1::ChangeRecord& message);

}  // namespace ss::ddl
