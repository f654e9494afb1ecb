// ss-archive: frames -> a Kafka topic in transactions, exactly once by position; and the topic -> frames, by time or
// position window (merged across partitions into global position order) or as a consumer-group member.
#pragma once

#include <cstdint>
#include <functional>
#include <optional>
#include <string>

#include "core/frames.h"
#include "core/position.h"
#include "kafka/handle.h"
#include "shadowstream.pb.h"

namespace ss::archive {

inline constexpr const char* kDefaultTopic = "shadowstream.archive";

struct WriteConfig {
  kafka::Settings kafka;
  std::string topic = kDefaultTopic;
  std::string transactional_id;  // default: shadowstream-archive-<source>
  int partitions = 0;            // > 0: create the topic with this many partitions when it is absent
  size_t batch = 10000;          // records per transaction at most
  int64_t linger_us = 100'000;   // a transaction waits at most this long for more input
  std::string ack;
  size_t max_frame = kDefaultMaxFrame;
  int64_t max_backoff_us = 30'000'000;
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
int run_read(const ReadConfig& cfg, int out_fd);

// Message key: source, table and primary-key values, so one row's history stays in one partition, in order.
std::string message_key(const shadowstream::v1::ChangeRecord& rec);

}  // namespace ss::archive
