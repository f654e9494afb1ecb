// Replication slot and publication administration for capture: what exists, what to create, what to drop.
#pragma once

#include <libpq-fe.h>

#include <cstdint>
#include <string>
#include <utility>
#include <vector>

namespace ss::slot {

// Which tables a publication ss-capture creates holds.
struct Scope {
  std::vector<std::string> tables;  // --table: these ("schema.table" or "table")
  bool all_tables = false;          // --all-tables: FOR ALL TABLES, tables created later included
  bool allow_keyless = false;       // --allow-keyless: publish tables without a key or replica identity anyway
  bool via_partition_root = false;
};

// A table whose UPDATE and DELETE fail on the source once it is published: no primary key and replica identity
// DEFAULT, or replica identity NOTHING (or USING INDEX of an index that is gone). Pure, for unit tests.
bool publishes_safely(char replica_identity, bool has_primary_key, bool has_identity_index);
// One line naming `tables` (quoted, qualified) and the statements that make them safe: `published` ones need a
// replica identity; ones left out of `publication` need one and then adding to it.
std::string keyless_advice(const std::vector<std::string>& tables, const std::string& publication, bool published);

// The tables `publication` holds that have no replica identity (quoted, qualified); none when it does not exist.
std::vector<std::string> keyless_tables(PGconn* sql, const std::string& publication);

// Creates the publication unless it exists, and says so on stderr with how to drop it. Publishing a table without a
// key makes the application's UPDATE and DELETE on it fail, so by default the publication holds only the tables that
// publish safely (the others named in one warning); --table publishes the tables named, warning about those without
// a key; --all-tables refuses (78) while a table has no key, unless `allow_keyless`. An existing publication is left
// as it is, with a warning when it holds such a table. Error(78) too when the user may not create it.
// Returns the published tables it warned about (as format('%I.%I') names them).
std::vector<std::string> ensure_publication(PGconn* sql, const std::string& publication, const Scope& scope);

// Error(78) unless the source runs with wal_level = logical, and is a primary before PostgreSQL 16. Checked before
// anything is created on the source: a slot cannot exist below it, and a publication made first would be left behind by
// the failure.
void require_logical_wal(PGconn* sql);

// Whether the slot exists. Error(78) when it does, but for another plugin or database.
bool exists(PGconn* sql, const std::string& slot, const std::string& database);

// Creates a pgoutput slot on the replication connection: its consistent point, and the exported snapshot's name
// ("" without export). A temporary slot lives as long as the connection (a checkpoint's). On PostgreSQL 17 and later
// a permanent one made on a primary is a failover slot (standbys with sync_replication_slots keep it). Error(75) when
// another creator got there first, 69 for other failures.
std::pair<uint64_t, std::string> create(PGconn* repl, const std::string& slot, bool export_snapshot,
                                        bool temporary = false);

// START_REPLICATION of the slot with pgoutput (protocol 1, the publication, logical messages) from `start_lsn` (0:
// the slot's confirmed position). Error(75) while another process streams from it, 69 when the connection is lost,
// 66 with `gone` (one line) when the slot does not exist: gone while ss-capture streamed from it (a failover to a
// standby without a copy of it, or a drop), the changes since its position are lost to it, and a new slot would
// start past them. 78 otherwise.
void start(PGconn* repl, const std::string& slot, const std::string& publication, uint64_t start_lsn,
           const std::string& gone);

// What says how to go on once the slot is lost: a new slot and a checkpoint, with the archive told of the gap.
inline constexpr const char* kRecoverHint =
    "recover with a new slot and a checkpoint: shadowstream recover (or ss-capture --recover | ss-archive)";

// One line: replication slot `slot` is gone from the source `repl` is connected to (`why` follows its host:port),
// what is `lost` with it, and how to recover.
std::string gone_line(PGconn* repl, const std::string& slot, const std::string& why, const std::string& lost);

// --slot-mark FILE: made once the slot is, it tells a lost slot from a first run. While it is there, a missing slot
// is refused (66) instead of made again past the changes lost with it. `marked`: whether it is there (Error(74)
// when that cannot be told); `recovering`: whether it says a recovery (--recover) has not finished.
bool marked(const std::string& path);
bool recovering(const std::string& path);
// Writes it (a temporary file renamed over it) naming the slot and the cluster, and "recovering" while a recovery
// runs. Error(73) when it cannot.
void mark(const std::string& path, const std::string& slot, const std::string& system_id, bool recovering);
// Error(66) when the mark says a recovery did not finish, or that the slot was made and it does not exist.
void check_mark(const std::string& path, PGconn* repl, const std::string& slot, bool exists);
// Removes it (a slot dropped on purpose); nothing when it is not there.
void unmark(const std::string& path);

// Drops the slot, and `publication` with it when ss-capture created it and no other pgoutput slot of the database
// is left (each said on stderr). Error(78) when the slot does not exist, 75 while it is in use.
void drop(PGconn* sql, PGconn* repl, const std::string& slot, const std::string& database,
          const std::string& publication);

}  // namespace ss::slot
