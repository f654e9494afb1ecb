// ss-progress: a replay job's live progress (from ss-replay serve's ProgressTracker) as a terminal bar or JSON
// lines, and the live pipeline's lag (replication slot, Redis stream, Kafka consumer groups).
#pragma once

#include <cstdint>
#include <memory>
#include <string>
#include <vector>

#include "core/conf.h"
#include "core/defaults.h"
#include "core/transport.h"
#include "kafka/archive.h"
#include "kafka/handle.h"
#include "shadowstream.pb.h"

namespace ss::progress {

enum class Format { kAuto, kBar, kJson };

struct WatchConfig {
  std::string server = transport::kDefaultReplayServer;
  std::string token_file;
  transport::ClientTls tls;
  std::string job_id;
  Format format = Format::kAuto;
  int64_t reconnect_us = 30'000'000;  // how long to keep trying when the server is unreachable
};

// Follows the job until it ends. Returns 0 when it is done, 1 when it failed, 2 when it was cancelled. Throws
// Error(66) for an unknown job, 69 when the server cannot be reached, 77 for a refused token.
int watch(const WatchConfig& cfg, int out_fd);

// One progress-bar line (no newline) for a terminal `width` columns wide. The percentage comes from the record
// counts when the total is known, else from how far the replayed commit time is into the request's window.
std::string render_bar(const shadowstream::v1::ProgressUpdate& u, const shadowstream::v1::ReplayRequest& req,
                       int width);

struct PipelineConfig {
  bool postgres = false;
  std::string pg;  // conninfo; empty = PG* environment
  std::string slot = kDefaultSlot;
  std::string publication = kDefaultPublication;
  uint64_t max_slot_lag = uint64_t{1} << 30;  // warn when the slot keeps more WAL than this (0: never)
  bool redis = false;
  std::string redis_url;
  std::string stream;  // key; empty = shadowstream:<source>:changes
  std::string source;
  bool kafka = false;
  kafka::Settings kafka_settings;
  std::string topic = archive::kDefaultTopic;
  std::vector<std::string> groups;
  bool existing_groups_only = false;  // leave out groups with no committed offset on the topic (the defaults)
  Format format = Format::kAuto;
  int64_t interval_us = 1'000'000;
  bool once = false;
};

// Fills what the flags left empty (pg, slot, source, topic, redis_url, brokers) from shadowstream.conf and the
// environment, as `shadowstream status` sees them, and decides which stages to show: PostgreSQL when a conninfo or
// PGHOST/PGDATABASE is there, Redis and Kafka when their addresses are. Without groups: analytics-group and
// backup-group, each shown only once it has offsets on the topic.
void apply_config(const conf::Config& c, PipelineConfig& p);

// Samples the pipeline's configured stages on demand (ss-progress pipeline and the dashboard's panel). Keeps its
// connections between samples. Not thread-safe.
class PipelineSampler {
 public:
  explicit PipelineSampler(const PipelineConfig& cfg);
  ~PipelineSampler();
  PipelineSampler(const PipelineSampler&) = delete;
  PipelineSampler& operator=(const PipelineSampler&) = delete;
  shadowstream::v1::PipelineStatus sample();

 private:
  struct Impl;
  std::unique_ptr<Impl> impl_;
};

// Samples until stopped (or once). A stage that cannot be sampled reports its error in the sample; it does not
// end the watch.
int pipeline(const PipelineConfig& cfg, int out_fd);

// The sample as a few readable lines (for a terminal).
std::string render_pipeline(const shadowstream::v1::PipelineStatus& s);

}  // namespace ss::progress
