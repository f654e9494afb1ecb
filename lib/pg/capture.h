// ss-capture: PostgreSQL logical replication (pgoutput) -> ChangeRecord frames, with an initial consistent snapshot
// and flush confirmation driven by downstream acknowledgements.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include "core/defaults.h"
#include "core/retry.h"

namespace ss::capture {

enum class SnapshotMode { kInitial, kNever, kOnly };
// ss-capture install-ddl / uninstall-ddl: put the schema-change trigger (pg/ddl.h) on the source, or take it off.
enum class DdlAction { kNone, kInstall, kUninstall };

struct Config {
  std::string conninfo;  // libpq URI or key=value; empty = PG* environment
  std::string slot = kDefaultSlot;
  std::string publication = kDefaultPublication;
  std::vector<std::string> tables;          // schema.table: publication FOR TABLE list when it is created
  std::vector<std::string> exclude_tables;  // schema.table: never emitted, never snapshotted
  bool via_partition_root = false;          // publish_via_partition_root when the publication is created
  bool all_tables = false;                  // --all-tables: create the publication FOR ALL TABLES
  bool allow_keyless = false;               // --allow-keyless: publish tables without a key or replica identity anyway
  bool create_slot_only = false;            // --create-slot: create slot (+ publication) and exit
  bool drop_slot_only = false;              // --drop-slot: drop the slot and exit
  DdlAction ddl = DdlAction::kNone;         // install-ddl / uninstall-ddl, then exit
  bool install_ddl = false;                 // --install-ddl: install the trigger before creating the slot
  SnapshotMode snapshot = SnapshotMode::kInitial;
  bool checkpoint = false;            // --checkpoint: write one checkpoint from a temporary slot and exit
  bool recover = false;               // --recover: a new slot for a lost one, and its checkpoint (Checkpoint.gap)
  std::string slot_mark;              // --slot-mark FILE: made with the slot; while there, a missing slot is 66
  int jobs = 2;                       // --jobs: connections copying a snapshot or checkpoint in parallel
  std::string ack_from;               // --ack-from FILE
  std::optional<uint64_t> start_lsn;  // --start-lsn
  std::optional<uint64_t> endpos;     // --endpos
  int64_t status_interval_us = 10'000'000;
  int64_t heartbeat_us = 0;        // --heartbeat: confirm idle progress this often (0 = off)
  bool heartbeat_message = false;  // --heartbeat-message: also write a logical message so idle WAL moves
  std::string source_name;         // default: the database name
  int64_t max_backoff_us = kMaxRetryUs;
};

// The source name records will carry (--source-name, else the database the conninfo names, as libpq picks it),
// known before connecting: the metrics' source label. "" when the conninfo cannot say.
std::string expected_source_name(const Config& cfg);

// Runs until --endpos, a stop signal or a fatal error (thrown as ss::Error). Writes frames to `out_fd`.
int run(const Config& cfg, int out_fd);

}  // namespace ss::capture
