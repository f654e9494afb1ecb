// ss-buffer: frames -> a Redis Stream (write), and a Redis Stream -> frames (read), idempotent by position.
#pragma once

#include <cstdint>
#include <optional>
#include <string>

#include <memory>
#include <vector>

#include "core/frames.h"
#include "core/position.h"
#include "core/retry.h"
#include "shadowstream.pb.h"

namespace ss::buffer {

// What an entry carries besides the protobuf record, for consumers without protobuf (ss-buffer --value-format).
enum class ValueFormat { kNone, kJson, kDebezium };

struct WriteConfig {
  std::string redis_url;    // empty = REDIS_URL
  std::string stream;       // fixed key; empty = shadowstream:<source>:changes
  bool per_table = false;   // shadowstream:<source>:<schema>.<table>
  bool passthrough = true;  // frames on to stdout once stored
  int64_t maxlen = 0;       // approximate MAXLEN trimming (0 = none)
  int64_t retain_us = 0;    // drop entries whose commit time is older than this (0 = keep)
  std::string ack;          // --ack FILE
  size_t batch = 512;
  size_t max_frame = kDefaultMaxFrame;
  int64_t max_backoff_us = kMaxRetryUs;
  ValueFormat value_format = ValueFormat::kNone;
  // Pushed records (RecordStore) only: a given commit LSN more than this above its stream's top entry is refused,
  // so one client cannot put a stream's positions out of every real producer's reach. 0 = no bound.
  uint64_t max_position_jump = 0;
};

// How long a one-off read waits for an unreachable Redis before it exits 69.
constexpr int64_t kOneOffGiveUpUs = 10'000'000;

struct ReadConfig {
  std::string redis_url;
  std::string stream;  // or derived from source
  std::string source;
  std::string group;  // empty = plain range read (--since/--until), no consumer group
  std::string consumer;
  std::string from = "beginning";  // where a new group starts: beginning, now or an entry ID
  std::string ack_from;
  int64_t claim_idle_us = 60'000'000;
  bool until_idle = false;
  std::optional<int64_t> since_us, until_us;
  size_t count = 512;
  int64_t block_us = 1'000'000;
  int64_t ack_timeout_us = 60'000'000;
  int64_t max_backoff_us = kMaxRetryUs;
};

int run_write(const WriteConfig& cfg, int in_fd, int out_fd);

// Stores records pushed by producers that are not PostgreSQL (ss-buffer serve), with the same guarantees as the
// write mode. Thread-safe.
struct PushResult {
  uint64_t stored = 0, duplicates = 0;
  Position last;
  std::string entry_id;
};
class RecordStore {
 public:
  explicit RecordStore(const WriteConfig& cfg);
  ~RecordStore();
  // Records whose commit_lsn is 0 get positions here: one new transaction after the stream's top entry, ordinals
  // 0..n-1, tx_last on the last. Records that carry a position are stored as given: a resend of the same change
  // (same_change) is a duplicate, a different record at a held position is Conflict (65), a position more than
  // max_position_jump above the stream's top is Error(65).
  PushResult push(std::vector<shadowstream::v1::ChangeRecord>& records);

 private:
  struct Impl;
  std::unique_ptr<Impl> impl_;
};
int run_read(const ReadConfig& cfg, int out_fd);

}  // namespace ss::buffer
