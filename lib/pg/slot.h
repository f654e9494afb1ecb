// Replication slot and publication administration for capture: what exists, what to create, what to drop.
#pragma once

#include <libpq-fe.h>

#include <cstdint>
#include <string>
#include <utility>
#include <vector>

namespace ss::slot {

// Creates the publication unless it exists: for `tables` ("schema.table" or "table"), or all tables when empty.
// Error(78) when the user may not create it.
void ensure_publication(PGconn* sql, const std::string& publication, const std::vector<std::string>& tables,
                        bool via_partition_root);

// Whether the slot exists. Error(78) when it does, but for another plugin or database.
bool exists(PGconn* sql, const std::string& slot, const std::string& database);

// Creates a pgoutput slot on the replication connection: its consistent point, and the exported snapshot's name
// ("" without export). A temporary slot lives as long as the connection (a checkpoint's). Error(75) when another
// creator got there first, 69 for other failures.
std::pair<uint64_t, std::string> create(PGconn* repl, const std::string& slot, bool export_snapshot,
                                        bool temporary = false);

// Drops the slot. Error(78) when it does not exist, 75 while it is in use.
void drop(PGconn* sql, PGconn* repl, const std::string& slot, const std::string& database);

}  // namespace ss::slot
