#include "kafka/handle.h"

#include <algorithm>
#include <cstdlib>
#include <cstring>
#include <fstream>
#include <mutex>

#include "core/error.h"
#include "core/log.h"
#include "core/position.h"
#include "core/retry.h"
#include "core/signals.h"

namespace ss::kafka {
namespace {
void set(rd_kafka_conf_t* conf, const std::string& key, const std::string& value) {
  char err[512];
  if (rd_kafka_conf_set(conf, key.c_str(), value.c_str(), err, sizeof err) != RD_KAFKA_CONF_OK)
    throw Error(kExitConfig, "Kafka property " + key + ": " + err);
}

// librdkafka's own log lines (%3|...|FAIL|rdkafka#...) are noise at a shell prompt: shown with -v only. The last
// failure is kept, so the one line a user does see can say why Kafka could not be reached.
std::mutex last_failure_mu;
std::string last_failure_text;

void on_log(const rd_kafka_t*, int level, const char*, const char* buf) {
  std::string line(buf);
  if (auto at = line.find("]: "); at != std::string::npos) line.erase(0, at + 3);
  if (level <= 3) {
    std::lock_guard lock(last_failure_mu);
    last_failure_text = line;
  }
  // Debug lines exist only when asked for with -X debug=...: shown as asked.
  if (level >= 7)
    log::warn("librdkafka: " + line);
  else
    log::info("librdkafka: " + line);
}

// The conf's bootstrap.servers, or "" when unset.
std::string bootstrap_servers(const rd_kafka_conf_t* conf) {
  char servers[4096];
  size_t size = sizeof servers;
  return rd_kafka_conf_get(conf, "bootstrap.servers", servers, &size) == RD_KAFKA_CONF_OK ? servers : "";
}

// Where the brokers came from, as the user would look for it.
std::string broker_source(const Settings& s) {
  for (auto it = s.properties.rbegin(); it != s.properties.rend(); ++it)
    if (it->rfind("bootstrap.servers=", 0) == 0 || it->rfind("metadata.broker.list=", 0) == 0) return "-X";
  if (!s.property_files.empty()) return "-F " + s.property_files.back() + " or KAFKA_BROKERS";
  return s.brokers.empty() ? "KAFKA_BROKERS" : "--brokers";
}

void set_kv(rd_kafka_conf_t* conf, const std::string& kv, const std::string& where) {
  auto eq = kv.find('=');
  if (eq == std::string::npos || eq == 0)
    throw Error(kExitUsage, "Kafka property " + where + " must be key=value, got a string without '='");
  set(conf, kv.substr(0, eq), kv.substr(eq + 1));
}
}  // namespace

Conf make_conf(const Settings& settings, const std::vector<std::pair<std::string, std::string>>& defaults) {
  Conf conf(rd_kafka_conf_new());
  for (const auto& [k, v] : defaults) set(conf.get(), k, v);
  std::string brokers = settings.brokers;
  if (brokers.empty()) {
    const char* env = std::getenv("KAFKA_BROKERS");
    if (env && *env) brokers = env;
  }
  if (!brokers.empty()) set(conf.get(), "bootstrap.servers", brokers);
  for (const auto& file : settings.property_files) {
    std::ifstream in(file);
    if (!in) throw Error(kExitConfig, "cannot read Kafka properties file " + file);
    std::string line;
    int n = 0;
    while (std::getline(in, line)) {
      ++n;
      auto first = line.find_first_not_of(" \t");
      if (first == std::string::npos || line[first] == '#') continue;
      set_kv(conf.get(), line.substr(first), file + ":" + std::to_string(n));
    }
  }
  for (const auto& kv : settings.properties) set_kv(conf.get(), kv, "-X");
  if (bootstrap_servers(conf.get()).empty())
    throw Error(kExitConfig, "no Kafka brokers: set KAFKA_BROKERS=host:port[,host:port...] or pass --brokers");
  rd_kafka_conf_set_log_cb(conf.get(), &on_log);
  return conf;
}

std::string describe_brokers(rd_kafka_t* rk, const Settings& s) {
  return bootstrap_servers(rd_kafka_conf(rk)) + " (from " + broker_source(s) + ")";
}

std::string last_failure() {
  std::lock_guard lock(last_failure_mu);
  return last_failure_text.empty() ? "no answer" : last_failure_text;
}

void require_reachable(rd_kafka_t* rk, const Settings& s, int timeout_ms) {
  {
    std::lock_guard lock(last_failure_mu);
    last_failure_text.clear();  // the reason given must be this attempt's
  }
  const rd_kafka_metadata_t* raw = nullptr;
  // Asking for no topic: answered by any broker that is up, in a round trip.
  if (rd_kafka_metadata(rk, 0, nullptr, &raw, timeout_ms) == RD_KAFKA_RESP_ERR_NO_ERROR) {
    Metadata md(raw);
    return;
  }
  throw Error(kExitUnavailable, "cannot reach Kafka at " + describe_brokers(rk, s) + " within " +
                                    std::to_string(timeout_ms / 1000) + "s: " + last_failure());
}

void check(rd_kafka_resp_err_t err, const std::string& what, int code) {
  if (err != RD_KAFKA_RESP_ERR_NO_ERROR) throw Error(code, what + ": " + rd_kafka_err2str(err));
}

}  // namespace ss::kafka

namespace ss::kafka {
namespace {

// -1: absent; else its partition count. all_topics=1 lists without asking the broker to auto-create anything.
int partition_count(rd_kafka_t* rk, const std::string& topic, int timeout_ms) {
  const rd_kafka_metadata_t* raw = nullptr;
  check(rd_kafka_metadata(rk, 1, nullptr, &raw, timeout_ms), "cannot list Kafka topics", kExitUnavailable);
  Metadata md(raw);
  for (int i = 0; i < md->topic_cnt; ++i) {
    const rd_kafka_metadata_topic& t = md->topics[i];
    if (topic == t.topic) return t.err ? -1 : t.partition_cnt;
  }
  return -1;
}

// Whether the cluster's controller is one of its brokers.
bool controller_known(rd_kafka_t* rk, int timeout_ms) {
  int32_t id = rd_kafka_controllerid(rk, std::min(timeout_ms, 5000));
  const rd_kafka_metadata_t* raw = nullptr;
  if (id < 0 || rd_kafka_metadata(rk, 0, nullptr, &raw, timeout_ms)) return false;
  Metadata md(raw);
  for (int i = 0; i < md->broker_cnt; ++i)
    if (md->brokers[i].id == id) return true;
  return false;
}

// "" when created (or created meanwhile by someone else), else why not.
rd_kafka_resp_err_t create_topic(rd_kafka_t* rk, const std::string& topic, int partitions, int timeout_ms,
                                 const std::map<std::string, std::string>& configs, std::string& why) {
  // Admin requests go to the controller; a cluster that names none (the test broker) could only time out.
  if (!controller_known(rk, timeout_ms)) {
    why = "the cluster names no controller to send CreateTopics to";
    return RD_KAFKA_RESP_ERR__UNSUPPORTED_FEATURE;
  }
  char err[512];
  NewTopic nt(rd_kafka_NewTopic_new(topic.c_str(), partitions, -1, err, sizeof err));
  if (!nt) throw Error(kExitUsage, "cannot create topic " + topic + ": " + err);
  for (const auto& [k, v] : configs)
    if (rd_kafka_resp_err_t e = rd_kafka_NewTopic_set_config(nt.get(), k.c_str(), v.c_str()))
      throw Error(kExitUsage, "cannot create topic " + topic + " with " + k + "=" + v + ": " + rd_kafka_err2str(e));
  AdminOptions opts(rd_kafka_AdminOptions_new(rk, RD_KAFKA_ADMIN_OP_CREATETOPICS));
  rd_kafka_AdminOptions_set_request_timeout(opts.get(), timeout_ms, err, sizeof err);
  Queue q(rd_kafka_queue_new(rk));
  rd_kafka_NewTopic_t* topics[] = {nt.get()};
  rd_kafka_CreateTopics(rk, topics, 1, opts.get(), q.get());
  Event ev(rd_kafka_queue_poll(q.get(), timeout_ms + 1000));
  if (!ev) {
    why = "no answer from the broker";
    return RD_KAFKA_RESP_ERR__TIMED_OUT;
  }
  if (rd_kafka_resp_err_t e = rd_kafka_event_error(ev.get())) {
    why = rd_kafka_event_error_string(ev.get());
    return e;
  }
  size_t n = 0;
  const rd_kafka_topic_result_t** res =
      rd_kafka_CreateTopics_result_topics(rd_kafka_event_CreateTopics_result(ev.get()), &n);
  for (size_t i = 0; i < n; ++i) {
    rd_kafka_resp_err_t e = rd_kafka_topic_result_error(res[i]);
    if (e == RD_KAFKA_RESP_ERR_TOPIC_ALREADY_EXISTS) return RD_KAFKA_RESP_ERR_NO_ERROR;
    if (e) {
      const char* s = rd_kafka_topic_result_error_string(res[i]);
      why = s ? s : rd_kafka_err2str(e);
      return e;
    }
  }
  return RD_KAFKA_RESP_ERR_NO_ERROR;
}

}  // namespace

void ensure_topic(rd_kafka_t* rk, const std::string& topic, int partitions, int timeout_ms,
                  const std::map<std::string, std::string>& configs) {
  if (partitions > 0 && partition_count(rk, topic, timeout_ms) < 0) {
    std::string why;
    rd_kafka_resp_err_t e = create_topic(rk, topic, partitions, timeout_ms, configs, why);
    if (e == RD_KAFKA_RESP_ERR_TOPIC_AUTHORIZATION_FAILED || e == RD_KAFKA_RESP_ERR_CLUSTER_AUTHORIZATION_FAILED ||
        e == RD_KAFKA_RESP_ERR_POLICY_VIOLATION)
      throw Error(kExitNoPerm, "not allowed to create topic " + topic + ": " + why);
    // (INVALID_REPLICATION_FACTOR is what a cluster whose brokers are still starting says: an outage, below.)
    if (e == RD_KAFKA_RESP_ERR_INVALID_PARTITIONS || e == RD_KAFKA_RESP_ERR_INVALID_CONFIG)
      throw Error(kExitConfig, "cannot create topic " + topic + ": " + why);
    if (e)
      log::warn("cannot create topic " + topic + " with " + std::to_string(partitions) + " partitions (" + why +
                "); leaving it to the broker's auto-creation and its default partition count" +
                (configs.empty() ? std::string() : " and settings (retention included)"));
    else
      log::info("created topic " + topic + " with " + std::to_string(partitions) + " partitions");
  }
  // Asking for this topic's metadata through a topic handle lets a broker that auto-creates topics do so now, and
  // fills the producer's cache. A topic just created (by us or by auto-creation) is reported without a leader, or
  // not at all by a broker whose cache lags, for a moment: ask again until the timeout.
  Topic rkt(rd_kafka_topic_new(rk, topic.c_str(), nullptr));
  rd_kafka_resp_err_t last = RD_KAFKA_RESP_ERR_NO_ERROR;
  const int64_t deadline = now_us() + timeout_ms * 1000LL;
  for (Backoff backoff(kMaxSettleUs, kFirstSettleUs);;) {
    const rd_kafka_metadata_t* raw = nullptr;
    last = rd_kafka_metadata(rk, 0, rkt.get(), &raw, timeout_ms);
    if (!last) {
      Metadata md(raw);
      last = md->topic_cnt == 1 ? md->topics[0].err : RD_KAFKA_RESP_ERR_UNKNOWN_TOPIC_OR_PART;
      if (!last && md->topics[0].partition_cnt > 0) return;
      if (!last) last = RD_KAFKA_RESP_ERR_LEADER_NOT_AVAILABLE;
    }
    bool transient = last == RD_KAFKA_RESP_ERR_LEADER_NOT_AVAILABLE ||
                     last == RD_KAFKA_RESP_ERR_UNKNOWN_TOPIC_OR_PART || last == RD_KAFKA_RESP_ERR__TRANSPORT ||
                     last == RD_KAFKA_RESP_ERR__TIMED_OUT;
    if (!transient || now_us() > deadline || !backoff.wait(deadline)) break;
  }
  throw Error(kExitUnavailable, "topic " + topic + " is not available (" + rd_kafka_err2str(last) +
                                    "); create it, or pass --partitions N");
}

size_t max_message_bytes(rd_kafka_t* rk, const std::string& topic, int timeout_ms) {
  constexpr size_t kKafkaDefault = 1'048'588;  // message.max.bytes of a broker nobody configured
  char buf[64];
  size_t n = sizeof buf;
  size_t producer = SIZE_MAX;
  if (rd_kafka_conf_get(rd_kafka_conf(rk), "message.max.bytes", buf, &n) == RD_KAFKA_CONF_OK)
    producer = std::strtoull(buf, nullptr, 10);
  size_t cluster = kKafkaDefault;
  // Admin requests go to the controller: a cluster that names none (the mock) could only time out.
  if (!controller_known(rk, timeout_ms)) return std::min(producer, cluster);
  std::unique_ptr<rd_kafka_ConfigResource_t, ConfigResourceDeleter> res(
      rd_kafka_ConfigResource_new(RD_KAFKA_RESOURCE_TOPIC, topic.c_str()));
  char err[256];
  AdminOptions opts(rd_kafka_AdminOptions_new(rk, RD_KAFKA_ADMIN_OP_DESCRIBECONFIGS));
  rd_kafka_AdminOptions_set_request_timeout(opts.get(), timeout_ms, err, sizeof err);
  Queue q(rd_kafka_queue_new(rk));
  rd_kafka_ConfigResource_t* list[] = {res.get()};
  rd_kafka_DescribeConfigs(rk, list, 1, opts.get(), q.get());
  Event ev(rd_kafka_queue_poll(q.get(), timeout_ms + 1000));
  if (ev && rd_kafka_event_error(ev.get()) == RD_KAFKA_RESP_ERR_NO_ERROR) {
    size_t cnt = 0;
    const rd_kafka_ConfigResource_t** rs =
        rd_kafka_DescribeConfigs_result_resources(rd_kafka_event_DescribeConfigs_result(ev.get()), &cnt);
    for (size_t i = 0; i < cnt; ++i) {
      size_t m = 0;
      const rd_kafka_ConfigEntry_t** entries = rd_kafka_ConfigResource_configs(rs[i], &m);
      for (size_t k = 0; k < m; ++k) {
        const char* v = rd_kafka_ConfigEntry_value(entries[k]);
        if (v && std::strcmp(rd_kafka_ConfigEntry_name(entries[k]), "max.message.bytes") == 0)
          cluster = std::strtoull(v, nullptr, 10);
      }
    }
  }
  return std::min(producer, cluster);
}

namespace {
Handle consumer(const Settings& s, const std::string& group, RebalanceCb on_rebalance, void* opaque, bool follow,
                bool probe) {
  std::vector<std::pair<std::string, std::string>> defaults = {{"isolation.level", "read_committed"},
                                                               {"enable.partition.eof", "true"},
                                                               {"enable.auto.commit", "false"},
                                                               {"auto.offset.reset", "earliest"},
                                                               {"log_level", "3"}};
  // A seek probe or a window's end must not wait out the default 500 ms for data that is not coming (each of a
  // seek's rounds waited on it); a window reader that follows polls every 10 ms, and a group member that may follow
  // an idle topic for days keeps the default.
  if (!on_rebalance) defaults.push_back({"fetch.wait.max.ms", follow ? "10" : "1"});
  // A reader that merges partitions waits for the slowest one. librdkafka stops fetching a partition once it holds
  // queued.min.messages of it (100000) and resumes only after a back-off, while the others' queues run dry: prefetch
  // by bytes alone (queued.max.messages.kbytes still bounds the memory).
  defaults.push_back({"queued.min.messages", "1000000"});
  // A probe wants the message at its offset and perhaps a few hundred after it, then seeks elsewhere.
  if (probe) defaults.push_back({"max.partition.fetch.bytes", "65536"});
  // A member that dies without leaving (kill -9) holds its partitions until its session expires: 10 s rather than
  // librdkafka's 45 s before another member takes over.
  if (on_rebalance) defaults.push_back({"session.timeout.ms", "10000"});
  // librdkafka 2.0 refuses rd_kafka_assign() without a group.id; window reads never commit, so any id serves.
  defaults.push_back({"group.id", group.empty() ? "shadowstream-window-reader" : group});
  Conf conf = make_conf(s, defaults);
  if (on_rebalance) {
    rd_kafka_conf_set_rebalance_cb(conf.get(), on_rebalance);
    rd_kafka_conf_set_opaque(conf.get(), opaque);
  }
  char err[512];
  Handle h(rd_kafka_new(RD_KAFKA_CONSUMER, conf.get(), err, sizeof err));
  if (!h) throw Error(kExitConfig, std::string("cannot create a Kafka consumer: ") + err);
  conf.release();  // owned by the handle now
  rd_kafka_poll_set_consumer(h.get());
  // A one-off window read says at once that Kafka is not there; a group member or a follower is a long-running
  // reader and waits for it (librdkafka reconnects), as it did before.
  if (!on_rebalance && !follow) require_reachable(h.get(), s, kReachableMs);
  return h;
}
}  // namespace

Handle make_consumer(const Settings& s, const std::string& group, RebalanceCb on_rebalance, void* opaque, bool follow) {
  return consumer(s, group, on_rebalance, opaque, follow, false);
}

Handle make_probe_consumer(const Settings& s) {
  return consumer(s, "", nullptr, nullptr, false, true);
}

std::vector<int32_t> partitions_of(rd_kafka_t* rk, const std::string& topic, int timeout_ms) {
  Topic t(rd_kafka_topic_new(rk, topic.c_str(), nullptr));
  const rd_kafka_metadata_t* raw = nullptr;
  check(rd_kafka_metadata(rk, 0, t.get(), &raw, timeout_ms), "cannot read metadata of topic " + topic,
        kExitUnavailable);
  Metadata md(raw);
  std::vector<int32_t> ids;
  if (md->topic_cnt == 1 && md->topics[0].err == RD_KAFKA_RESP_ERR_NO_ERROR)
    for (int i = 0; i < md->topics[0].partition_cnt; ++i) ids.push_back(md->topics[0].partitions[i].id);
  std::sort(ids.begin(), ids.end());
  return ids;
}

Watermarks watermarks(rd_kafka_t* rk, const std::string& topic, int32_t p, int timeout_ms) {
  return all_watermarks(rk, topic, {p}, timeout_ms).at(p);
}

namespace {
// Errors that pass once the cluster settles: a partition just created, or whose leader just moved or died, is
// answered "not leader" (or not at all) for a moment; librdkafka refreshes its metadata meanwhile.
bool settling(rd_kafka_resp_err_t e) {
  return e == RD_KAFKA_RESP_ERR_NOT_LEADER_FOR_PARTITION || e == RD_KAFKA_RESP_ERR_LEADER_NOT_AVAILABLE ||
         e == RD_KAFKA_RESP_ERR_UNKNOWN_TOPIC_OR_PART || e == RD_KAFKA_RESP_ERR__TIMED_OUT ||
         e == RD_KAFKA_RESP_ERR__TRANSPORT || e == RD_KAFKA_RESP_ERR__ALL_BROKERS_DOWN ||
         e == RD_KAFKA_RESP_ERR_REQUEST_TIMED_OUT;
}
}  // namespace

// Not rd_kafka_query_watermark_offsets: before librdkafka 2.3 (Debian 12 has 2.0) it retries its request to a
// leader that died forever, past its timeout (librdkafka #2588), so a broker killed while a read starts would hang
// the read for good. ListOffsets for the earliest (-2) and latest (-1) offsets through rd_kafka_offsets_for_times
// keeps to its deadline and asks for every partition in one round trip per leader. Under read_committed the latest
// is the last stable offset, as the query's was.
std::map<int32_t, Watermarks> all_watermarks(rd_kafka_t* rk, const std::string& topic,
                                             const std::vector<int32_t>& parts, int timeout_ms) {
  const int64_t deadline = now_us() + int64_t{timeout_ms} * 1000;
  std::map<int32_t, Watermarks> wm;
  if (parts.empty()) return wm;  // (an empty list is an invalid argument to librdkafka)
  std::vector<int32_t> todo = parts;
  rd_kafka_resp_err_t last = RD_KAFKA_RESP_ERR_NO_ERROR;
  int32_t last_p = parts.front();
  for (Backoff backoff(kMaxSettleUs, kFirstSettleUs);;) {
    // A round bounded well under the deadline: a request stuck on a dead leader is given up and asked again of
    // the new one.
    const int round_ms = static_cast<int>(std::clamp<int64_t>((deadline - now_us()) / 1000, 1, 5000));
    auto ask = [&](int64_t which) {
      PartitionList l(rd_kafka_topic_partition_list_new(static_cast<int>(todo.size())));
      for (int32_t p : todo) rd_kafka_topic_partition_list_add(l.get(), topic.c_str(), p)->offset = which;
      rd_kafka_resp_err_t e = rd_kafka_offsets_for_times(rk, l.get(), round_ms);
      if (e) {
        last = e;
        return PartitionList();
      }
      return l;
    };
    PartitionList low = ask(-2);
    PartitionList high = low ? ask(-1) : PartitionList();
    std::vector<int32_t> again;
    if (!high) {
      again = todo;
    } else {
      for (int i = 0; i < high->cnt; ++i) {
        const rd_kafka_topic_partition_t& h = high->elems[i];
        const rd_kafka_topic_partition_t* l = rd_kafka_topic_partition_list_find(low.get(), topic.c_str(), h.partition);
        const rd_kafka_resp_err_t e = l == nullptr ? RD_KAFKA_RESP_ERR__PARTIAL : l->err ? l->err : h.err;
        if (e) {
          last = e, last_p = h.partition;
          if (!settling(e)) break;
          again.push_back(h.partition);
        } else {
          wm[h.partition] = Watermarks{l->offset, h.offset};
        }
      }
    }
    if (last && !settling(last))
      check(last, "cannot read offsets of " + topic + "[" + std::to_string(last_p) + "]", kExitUnavailable);
    if (again.empty()) return wm;
    if (now_us() + backoff.delay_us() > deadline)
      check(last, "cannot read offsets of " + topic + "[" + std::to_string(again.front()) + "]", kExitUnavailable);
    if (!backoff.wait()) throw Error(kExitTempFail, "stopped while reading the offsets of " + topic);
    todo = std::move(again);
  }
}

Message BatchPoller::next(int timeout_ms) {
  if (at_ == size_) {
    at_ = 0;
    // What is queued now, without waiting (a batch call with a timeout waits to fill the batch); when nothing is,
    // one message as soon as it comes.
    ssize_t n = rd_kafka_consume_batch_queue(q_.get(), 0, batch_.data(), batch_.size());
    size_ = n > 0 ? static_cast<size_t>(n) : 0;
    if (size_ == 0) return Message(rd_kafka_consume_queue(q_.get(), timeout_ms));
  }
  return Message(batch_[at_++]);
}

}  // namespace ss::kafka
