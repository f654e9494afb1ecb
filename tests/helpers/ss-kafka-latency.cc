// ss-kafka-latency: commit-to-Kafka latency measured the same way for ShadowStream's archive and for Debezium's
// topics (bench/debezium.sh). A read_committed consumer of every partition of the topics whose name starts with
// --prefix, from their end when it starts, takes each message's commit time from the message itself: a ChangeRecord
// (the archive: commit_time, its transaction by commit_lsn) or Debezium's JSON envelope (source.ts_us, or ts_ms
// before Debezium 2.6; its transaction by source.txId). Prints "ready" on stderr once positioned, then the window's
// figures (latency_window.h) on stdout once a message committed a second past --until arrives; 75 after --timeout.
#include <librdkafka/rdkafka.h>
#include <simdjson.h>

#include <cstdint>
#include <cstdio>
#include <optional>
#include <string>
#include <vector>

#include "core/cli.h"
#include "core/error.h"
#include "core/position.h"
#include "kafka/handle.h"
#include "latency_window.h"
#include "shadowstream.pb.h"

namespace {

struct Stamp {
  uint64_t tx = 0;
  int64_t commit_us = 0;
};

// The commit time and transaction of one message's value, if it has them.
std::optional<Stamp> stamp_of(const rd_kafka_message_t* m, simdjson::ondemand::parser& json) {
  const auto* bytes = static_cast<const char*>(m->payload);
  if (m->len == 0) return std::nullopt;
  if (bytes[0] == '{') {
    simdjson::padded_string value(bytes, m->len);
    simdjson::ondemand::document doc;
    if (json.iterate(value).get(doc)) return std::nullopt;
    simdjson::ondemand::object source;
    if (doc["source"].get_object().get(source)) return std::nullopt;
    Stamp s;
    int64_t ts = 0;
    if (!source["ts_ms"].get_int64().get(ts)) s.commit_us = ts * 1000;
    if (!source["ts_us"].get_int64().get(ts)) s.commit_us = ts;
    if (source["txId"].get_uint64().get(s.tx) || !s.commit_us) return std::nullopt;
    return s;
  }
  shadowstream::v1::ChangeRecord rec;
  if (!rec.ParseFromArray(bytes, static_cast<int>(m->len)) || !rec.commit_time()) return std::nullopt;
  return Stamp{rec.commit_lsn(), rec.commit_time()};
}

// Every partition of the topics named PREFIX*, from their end as it is now: looked up here rather than assigned as
// OFFSET_END (resolved in the background), so that "ready" means positioned and a window that starts then loses
// nothing to the lookup.
ss::kafka::PartitionList partitions(rd_kafka_t* rk, const std::string& prefix) {
  const rd_kafka_metadata_t* raw = nullptr;
  if (rd_kafka_metadata(rk, 1, nullptr, &raw, 10000) != RD_KAFKA_RESP_ERR_NO_ERROR)
    throw ss::Error(ss::kExitUnavailable, "cannot read the cluster's metadata");
  ss::kafka::Metadata md(raw);
  ss::kafka::PartitionList list(rd_kafka_topic_partition_list_new(16));
  for (int t = 0; t < md->topic_cnt; ++t) {
    if (std::string(md->topics[t].topic).rfind(prefix, 0) != 0) continue;
    for (int p = 0; p < md->topics[t].partition_cnt; ++p) {
      const int32_t id = md->topics[t].partitions[p].id;
      int64_t low = 0, high = 0;
      if (rd_kafka_query_watermark_offsets(rk, md->topics[t].topic, id, &low, &high, 10000))
        throw ss::Error(ss::kExitUnavailable, std::string("cannot read the end of ") + md->topics[t].topic);
      rd_kafka_topic_partition_list_add(list.get(), md->topics[t].topic, id)->offset = high;
    }
  }
  if (list->cnt == 0) throw ss::Error(ss::kExitUsage, "no topic named " + prefix + "*");
  return list;
}

}  // namespace

int main(int argc, char** argv) {
  CLI::App app{"Commit-to-Kafka latency of the transactions committed in a window, for benchmarks.",
               "ss-kafka-latency"};
  std::string prefix;
  int64_t from = 0, until = 0;
  double timeout = 120;
  ss::kafka::Settings settings;
  app.add_option("--prefix", prefix, "Topics whose name starts with this")->required();
  app.add_option("--from", from, "Count transactions committed at or after this (µs since the epoch)")->required();
  app.add_option("--until", until, "Stop at the first message committed a second after this")->required();
  app.add_option("--timeout", timeout, "Seconds to wait at most")->default_val(120);
  app.add_option("--brokers", settings.brokers, "Bootstrap servers (default: KAFKA_BROKERS)");
  return ss::run_main(app, argc, argv, [&] {
    // The same fetch wait as bench/pipeline.sh's probe (ss-archive read --follow -X fetch.wait.max.ms=5), so the
    // figures of both benches compare.
    settings.properties.push_back("fetch.wait.max.ms=5");
    ss::kafka::Handle rk = ss::kafka::make_consumer(settings, "", nullptr, nullptr, true);
    ss::kafka::PartitionList list = partitions(rk.get(), prefix);
    if (rd_kafka_resp_err_t e = rd_kafka_assign(rk.get(), list.get()))
      throw ss::Error(ss::kExitUnavailable, std::string("cannot assign the partitions: ") + rd_kafka_err2str(e));
    ss::bench::LatencyWindow window(from, until);
    ss::kafka::BatchPoller poller(rk.get());
    simdjson::ondemand::parser json;
    const int64_t deadline = ss::now_us() + static_cast<int64_t>(timeout * 1e6);
    std::fprintf(stderr, "ready\n");
    for (;;) {
      if (ss::now_us() > deadline) throw ss::Error(ss::kExitTempFail, "timed out before the window's end arrived");
      ss::kafka::Message m = poller.next(100);
      if (!m || m->err) continue;
      const int64_t now = ss::now_us();
      if (auto s = stamp_of(m.get(), json); s && !window.add(s->tx, s->commit_us, now)) break;
    }
    window.print();
    return 0;
  });
}
