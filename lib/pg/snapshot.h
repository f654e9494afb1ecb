// Checkpoints: a consistent copy of every published table as of an exported snapshot, written as one checkpoint
// (begin marker, an OPERATION_SNAPSHOT record per row with the shape streaming records of its table carry, end
// marker; see Checkpoint in shadowstream.proto). The initial snapshot is checkpoint zero; `ss-capture
// --checkpoint` takes the others from a temporary slot. Several connections share the snapshot and copy CTID
// ranges in parallel; each takes ACCESS SHARE locks only.
#pragma once

#include <libpq-fe.h>

#include <cstdint>
#include <functional>
#include <optional>
#include <string>
#include <string_view>
#include <unordered_set>
#include <vector>

#include "core/frames.h"
#include "core/position.h"
#include "shadowstream.pb.h"

namespace ss::snapshot {

struct Request {
  std::string conninfo;  // for the workers' own connections
  std::string publication;
  const std::unordered_set<std::string>& excluded;  // "schema.table"
  const shadowstream::v1::Source& source;
  std::string snapshot_name;  // exported by CREATE_REPLICATION_SLOT, alive while its connection is idle
  uint64_t lsn;               // the slot's consistent point: every commit at or after it is outside the snapshot
  std::function<std::string(uint32_t oid)> type_name;
  int jobs = 2;            // connections copying in parallel
  bool progress = false;   // draw a progress bar on stderr
  bool initial = false;    // the initial snapshot (Checkpoint.initial)
  bool lost_slot = false;  // taken from a new slot after the slot was lost (Checkpoint.gap, ss-capture --recover)
};

struct Result {
  bool complete = false;  // false: a stop was requested, and no end marker was written
  uint64_t rows = 0;
  Position last;  // the last record written (the end marker when complete)
  uint64_t frames = 0;
  uint64_t bytes = 0;  // of the records written
};

// Writes the checkpoint to `out`. `sql` (an idle connection of the same database) reads the catalog in the
// snapshot. Throws Error(69) when the server fails a COPY or a worker cannot connect.
Result write_checkpoint(PGconn* sql, const Request& r, FrameWriter& out);

// Serializes COPY text rows as ChangeRecords of one table without building a message per row: the template's
// fields and each column's name and type are serialized once, and a row adds only its values (as `text`, or as
// `binary` when not UTF-8; `is_null` for NULL). The bytes parse as the template with the row's values set
// (protobuf takes fields in any order). The ordinal is left out: the writer appends it.
class RowEncoder {
 public:
  explicit RowEncoder(const shadowstream::v1::ChangeRecord& tmpl);
  // Appends the record for one COPY row (its trailing newline optional). Returns false when the row does not have
  // one field per column.
  bool encode(std::string_view row, std::string& out);

 private:
  std::string head_;
  std::vector<std::string> columns_;  // each column's serialized name and type
  std::string scratch_;
};

// Undoes COPY's escapes of one field into `out` (replacing its contents). Returns false for \N (NULL).
bool unescape_copy_field(std::string_view field, std::string& out);

}  // namespace ss::snapshot
