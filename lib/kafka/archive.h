// ss-archive: frames -> a Kafka topic in transactions, exactly once by position; and the topic -> frames, by time or
// position window (merged across partitions into global position order) or as a consumer-group member.
#pragma once

#include <cstdint>
#include <functional>
#include <optional>
#include <string>
#include <vector>

#include "core/frames.h"
#include "core/position.h"
#include "core/retry.h"
#include "kafka/handle.h"
#include "shadowstream.pb.h"

namespace ss::archive {

inline constexpr const char* kDefaultTopic = "shadowstream.archive";

// Where a record goes. Changes stay in the topic itself, in commit order per partition (the window search relies on
// it). A checkpoint is taken after changes it sorts below were archived, so its records live apart: its rows in
// <topic>.snapshots (keyed as changes are), its begin and end markers in <topic>.checkpoints (one partition, a few
// hundred bytes per checkpoint: the index a reader lists without scanning the rows).
enum class Dest { kChanges = 0, kSnapshots = 1, kCheckpoints = 2 };
inline constexpr int kDests = 3;
Dest dest_of(const shadowstream::v1::ChangeRecord& rec);
std::string topic_of(const std::string& topic, Dest d);

struct WriteConfig {
  kafka::Settings kafka;
  std::string topic = kDefaultTopic;
  std::string transactional_id;  // default: shadowstream-archive-<source>
  int partitions = 0;            // > 0: create the topics with this many partitions when they are absent
  int64_t retention_ms = -1;     // retention.ms of the topics it creates: -1 keeps everything
  size_t batch = 100000;         // records per transaction at most
  int64_t linger_us = 50'000;    // the longest a record waits in hand while input goes on
  std::string ack;
  size_t max_frame = kDefaultMaxFrame;
  int64_t max_backoff_us = kMaxRetryUs;
};

struct ReadConfig {
  kafka::Settings kafka;
  std::string topic = kDefaultTopic;
  std::optional<int64_t> since_us, until_us;
  std::optional<Position> from, to;  // inclusive
  std::string group;                 // consumer-group member instead of a window read
  std::string ack_from;
  bool follow = false;
  // Besides SIGTERM/SIGINT, what ends a read early (a replay job's cancel): checked at least twice a second.
  std::function<bool()> should_stop;
};

int run_write(const WriteConfig& cfg, int in_fd);

// Reads the archive to `out_fd`. With --since or --from-position: that window of changes. Without them, a rebuild
// as of --until (or now): the latest complete checkpoint before it that the archive still holds, then the changes
// committed after its LSN and before --until, in position order; its cost is the tables plus the changes since,
// never the archive's age. An instant older than every checkpoint held is Error(66) naming the oldest instant
// that can be rebuilt (an archive without any checkpoint whose changes are all still there is read from its start).
int run_read(const ReadConfig& cfg, int out_fd);

// A checkpoint as the archive lists it (from <topic>.checkpoints alone).
struct CheckpointInfo {
  std::string source;
  uint64_t lsn = 0;
  int64_t time_us = 0;
  shadowstream::v1::Checkpoint checkpoint;  // the end marker's (row counts) when complete, else the begin's
  bool complete = false;                    // its end marker is archived
  bool held = false;       // complete, and retention took nothing of its rows nor of the changes after it
  std::string begin, end;  // the markers' records, serialized
  uint64_t end_ordinal = 0;
  shadowstream::v1::Gap gap;  // from the begin marker, where ss-archive wrote where the gap starts
};

// Whether a rebuild as of `until` (an instant, exclusive), `to` (a position, inclusive) or now (neither) that starts
// from the checkpoint at `start_lsn` (0: none) reads across the gap before `cp` (a checkpoint after a lost slot,
// complete or not): its target is after the last change archived before the slot was lost, and it starts before
// `cp`. Such a rebuild would miss what the source committed in between. Pure, for unit tests.
bool inside_gap(const CheckpointInfo& cp, std::optional<int64_t> until_us, std::optional<Position> to,
                uint64_t start_lsn);

// Whether a window read (by time, else by position; each end optional) overlaps the gap before `cp`. Pure.
bool crosses_gap(const CheckpointInfo& cp, std::optional<int64_t> since_us, std::optional<int64_t> until_us,
                 std::optional<Position> from, std::optional<Position> to);

// One line saying what a gap lacks: "changes of S after LSN (TIME) and before the checkpoint at LSN (TIME)".
std::string describe_gap(const CheckpointInfo& cp);

// Every checkpoint of the archive, oldest first. Costs one read of the marker topic and, with `read_held` (else
// `held` stays false), one message per partition of the rows and changes topics.
std::vector<CheckpointInfo> list_checkpoints(const kafka::Settings& s, const std::string& topic, bool read_held = true);

// The commit time of the oldest instant a rebuild can reach: the oldest complete checkpoint still held; nullopt
// when there is none (an archive without checkpoints may still be readable from its start).
std::optional<int64_t> oldest_rebuildable(const std::vector<CheckpointInfo>& list);

// `ss-archive checkpoints`: one line per checkpoint, oldest first, under a header line.
int print_checkpoints(const kafka::Settings& s, const std::string& topic, int out_fd);

// Message key: source, table and primary-key values, so one row's history stays in one partition, in order.
std::string message_key(const shadowstream::v1::ChangeRecord& rec);

}  // namespace ss::archive
