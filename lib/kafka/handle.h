// RAII for librdkafka handles, and the kcat-style configuration every Kafka-facing tool accepts:
// KAFKA_BROKERS, -X key=value, -F file.
#pragma once

#include <librdkafka/rdkafka.h>

#include <map>
#include <memory>
#include <string>
#include <utility>
#include <vector>

namespace ss::kafka {

struct HandleDeleter {
  void operator()(rd_kafka_t* k) const { rd_kafka_destroy(k); }
};
struct ConfDeleter {
  void operator()(rd_kafka_conf_t* c) const { rd_kafka_conf_destroy(c); }
};
struct PartitionListDeleter {
  void operator()(rd_kafka_topic_partition_list_t* l) const { rd_kafka_topic_partition_list_destroy(l); }
};
struct MessageDeleter {
  void operator()(rd_kafka_message_t* m) const { rd_kafka_message_destroy(m); }
};
struct ErrorDeleter {
  void operator()(rd_kafka_error_t* e) const { rd_kafka_error_destroy(e); }
};
struct HeadersDeleter {
  void operator()(rd_kafka_headers_t* h) const { rd_kafka_headers_destroy(h); }
};
struct MetadataDeleter {
  void operator()(const rd_kafka_metadata_t* m) const { rd_kafka_metadata_destroy(m); }
};
struct TopicDeleter {
  void operator()(rd_kafka_topic_t* t) const { rd_kafka_topic_destroy(t); }
};
struct QueueDeleter {
  void operator()(rd_kafka_queue_t* q) const { rd_kafka_queue_destroy(q); }
};
struct EventDeleter {
  void operator()(rd_kafka_event_t* e) const { rd_kafka_event_destroy(e); }
};
struct NewTopicDeleter {
  void operator()(rd_kafka_NewTopic_t* t) const { rd_kafka_NewTopic_destroy(t); }
};
struct ConfigResourceDeleter {
  void operator()(rd_kafka_ConfigResource_t* r) const { rd_kafka_ConfigResource_destroy(r); }
};
struct AdminOptionsDeleter {
  void operator()(rd_kafka_AdminOptions_t* o) const { rd_kafka_AdminOptions_destroy(o); }
};
using Handle = std::unique_ptr<rd_kafka_t, HandleDeleter>;
using Metadata = std::unique_ptr<const rd_kafka_metadata_t, MetadataDeleter>;
using Topic = std::unique_ptr<rd_kafka_topic_t, TopicDeleter>;
using Queue = std::unique_ptr<rd_kafka_queue_t, QueueDeleter>;
using Event = std::unique_ptr<rd_kafka_event_t, EventDeleter>;
using NewTopic = std::unique_ptr<rd_kafka_NewTopic_t, NewTopicDeleter>;
using AdminOptions = std::unique_ptr<rd_kafka_AdminOptions_t, AdminOptionsDeleter>;
using Conf = std::unique_ptr<rd_kafka_conf_t, ConfDeleter>;
using PartitionList = std::unique_ptr<rd_kafka_topic_partition_list_t, PartitionListDeleter>;
using Message = std::unique_ptr<rd_kafka_message_t, MessageDeleter>;
using ErrorPtr = std::unique_ptr<rd_kafka_error_t, ErrorDeleter>;
using Headers = std::unique_ptr<rd_kafka_headers_t, HeadersDeleter>;

// Properties in the order they apply: bootstrap.servers from KAFKA_BROKERS (or `brokers` when non-empty), then each
// -F file's "key=value" lines (# comments allowed), then each -X. Later wins, as in kcat.
struct Settings {
  std::string brokers;
  std::vector<std::string> property_files;
  std::vector<std::string> properties;  // "key=value"
};

// Builds a conf from `settings` plus `defaults` (applied first, so the user can override them). Throws Error(78)
// naming the bad key (never the value: it may be a secret).
Conf make_conf(const Settings& settings, const std::vector<std::pair<std::string, std::string>>& defaults = {});

// Makes sure `topic` exists before the first message is produced. When it is absent and `partitions` > 0 it is
// created with that many partitions (CreateTopics, the broker's replication factor); when the broker cannot create
// topics that way the broker's auto-creation (its default partition count) is left to do it, with a warning. Then
// the topic's metadata is fetched through `rk`, so the first transaction does not wait for librdkafka's periodic
// topic scan. Throws Error(69) when the topic does not exist afterwards, Error(77) when creating it is not allowed.
// `configs` go with the creation (e.g. retention.ms).
void ensure_topic(rd_kafka_t* rk, const std::string& topic, int partitions, int timeout_ms,
                  const std::map<std::string, std::string>& configs = {});

// The largest message `rk` may write to `topic`: the smaller of the producer's own message.max.bytes and what the
// cluster says of the topic (max.message.bytes, which defaults to the broker's message.max.bytes); Kafka's default
// (1048588) when the cluster does not answer DescribeConfigs or names no controller to ask (the mock).
size_t max_message_bytes(rd_kafka_t* rk, const std::string& topic, int timeout_ms);

// "host:port,... (from KAFKA_BROKERS)": what a handle was pointed at, for messages.
std::string describe_brokers(rd_kafka_t* rk, const Settings& s);
// librdkafka's last error line (a connect failure, all brokers down), or "no answer".
std::string last_failure();
// How long a one-off reader waits for any broker before it gives up with the brokers it tried (69).
constexpr int kReachableMs = 5000;
// Throws Error(69) naming the brokers and the last failure when no broker answers within `timeout_ms`.
void require_reachable(rd_kafka_t* rk, const Settings& s, int timeout_ms);

using RebalanceCb = void (*)(rd_kafka_t*, rd_kafka_resp_err_t, rd_kafka_topic_partition_list_t*, void*);

// A read_committed consumer that never commits by itself. Window reads, probes and lag figures pass no callback
// (and assign partitions themselves, or only ask); a consumer-group member passes its rebalance callback and itself
// as opaque. `follow`: a window reader that waits at the end for more.
Handle make_consumer(const Settings& s, const std::string& group, RebalanceCb on_rebalance = nullptr,
                     void* opaque = nullptr, bool follow = false);
// A consumer for probes: a few messages here and there (a window's start, a retention check), each seek followed
// by another. It fetches little and prefetches nothing, where a reader's consumer fetches a megabyte per partition
// and keeps going: each round of a search on 64 partitions then moved ~50 MB (170 ms on one broker).
Handle make_probe_consumer(const Settings& s);

// A consumer's messages taken from its queue a thousand at a time (rd_kafka_consume_batch_queue): one lock and one
// clock read per batch instead of per message, which is most of a tight read loop's own time.
class BatchPoller {
 public:
  explicit BatchPoller(rd_kafka_t* rk) : q_(rd_kafka_queue_get_consumer(rk)) {}
  ~BatchPoller() {
    for (; at_ < size_; ++at_) rd_kafka_message_destroy(batch_[at_]);
  }
  BatchPoller(const BatchPoller&) = delete;
  BatchPoller& operator=(const BatchPoller&) = delete;
  // The next message, or null when none came within `timeout_ms`.
  Message next(int timeout_ms);

 private:
  Queue q_;
  std::vector<rd_kafka_message_t*> batch_ = std::vector<rd_kafka_message_t*>(1024);
  size_t at_ = 0, size_ = 0;
};

// Partition ids of `topic`, sorted (waits for metadata); empty when the topic does not exist.
std::vector<int32_t> partitions_of(rd_kafka_t* rk, const std::string& topic, int timeout_ms);

struct Watermarks {
  int64_t low = 0, high = 0;
};
Watermarks watermarks(rd_kafka_t* rk, const std::string& topic, int32_t p, int timeout_ms);
// Every partition's watermarks (under read_committed, high is the last stable offset), asked of each leader in
// one round trip, while a leader moves asked again until the timeout.
std::map<int32_t, Watermarks> all_watermarks(rd_kafka_t* rk, const std::string& topic,
                                             const std::vector<int32_t>& parts, int timeout_ms);

// Throws Error(code) with librdkafka's text when err is not NO_ERROR.
void check(rd_kafka_resp_err_t err, const std::string& what, int code);

}  // namespace ss::kafka
