// The initial snapshot: every published table as of the slot's exported snapshot, one OPERATION_SNAPSHOT record
// per row, with the shape streaming records of the table carry.
#pragma once

#include <libpq-fe.h>

#include <cstdint>
#include <functional>
#include <optional>
#include <string>
#include <string_view>
#include <unordered_set>
#include <vector>

#include "shadowstream.pb.h"

namespace ss::snapshot {

struct Request {
  std::string publication;
  const std::unordered_set<std::string>& excluded;  // "schema.table"
  const shadowstream::v1::Source& source;
  std::string snapshot_name;  // exported by CREATE_REPLICATION_SLOT
  uint64_t consistent_point;  // the slot's: every streamed commit is at or after it
  std::function<std::string(uint32_t oid)> type_name;
};

// Copies the tables in one REPEATABLE READ transaction on `sql` set to the exported snapshot, handing each row's
// record to `emit` (positions just below the consistent point, ordinals counting up). Returns the rows copied.
// Stops between tables when a stop is requested. Throws Error(69) when the server fails a COPY.
uint64_t copy_tables(PGconn* sql, const Request& r, const std::function<void(shadowstream::v1::ChangeRecord&)>& emit);

// One row of COPY text format -> fields (nullopt = NULL), undoing COPY's backslash escapes.
std::vector<std::optional<std::string>> parse_copy_text_row(std::string_view row);

}  // namespace ss::snapshot
