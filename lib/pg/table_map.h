// How a replay names a source's table on the target: --table-map and --schema-map, and the bookkeeping table
// --create-tables keeps beside the position table. Pure.
#pragma once

#include <string>
#include <utility>

#include "pg/apply.h"

namespace ss::apply {

// The target's (schema, table), unquoted, after --table-map / --schema-map.
std::pair<std::string, std::string> map_table(const Config& cfg, const std::string& schema, const std::string& table);

// A bookkeeping table beside the position table, quoted: "<position table><suffix>" (_relations: the target table
// of each source relation, --create-tables; _indexes: indexes to build CONCURRENTLY, --concurrent-indexes).
std::string bookkeeping_table(const std::string& position_table, const std::string& suffix);

}  // namespace ss::apply
