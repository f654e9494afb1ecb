// ss-kafka-watch: for benchmarks, watches how many messages topics whose name starts with a prefix hold (the sum of
// their partitions' high watermarks) and prints, once --count more than at its start are there, the wall-clock µs
// of the first new one and of the last: "FIRST_US LAST_US MESSAGES". Polled every 20 ms (a peer's topics may be
// created meanwhile). For non-transactional producers a watermark counts messages; transaction markers would count
// too. Exit 75 after --timeout without them.
#include <librdkafka/rdkafka.h>

#include <chrono>
#include <cstdio>
#include <string>
#include <thread>

#include "core/cli.h"
#include "core/error.h"
#include "kafka/handle.h"

namespace {

int64_t wall_us() {
  return std::chrono::duration_cast<std::chrono::microseconds>(std::chrono::system_clock::now().time_since_epoch())
      .count();
}

int64_t held(rd_kafka_t* rk, const std::string& prefix) {
  const rd_kafka_metadata_t* md = nullptr;
  if (rd_kafka_metadata(rk, 1, nullptr, &md, 5000) != RD_KAFKA_RESP_ERR_NO_ERROR) return -1;
  int64_t sum = 0;
  for (int t = 0; t < md->topic_cnt; ++t) {
    const auto& topic = md->topics[t];
    if (std::string(topic.topic).rfind(prefix, 0) != 0) continue;
    for (int p = 0; p < topic.partition_cnt; ++p) {
      int64_t lo = 0, hi = 0;
      if (rd_kafka_query_watermark_offsets(rk, topic.topic, topic.partitions[p].id, &lo, &hi, 5000) ==
          RD_KAFKA_RESP_ERR_NO_ERROR)
        sum += hi;
    }
  }
  rd_kafka_metadata_destroy(md);
  return sum;
}

}  // namespace

int main(int argc, char** argv) {
  CLI::App app{"Watches topics fill up, for benchmarks.", "ss-kafka-watch"};
  std::string prefix;
  int64_t count = 1;
  double timeout = 600;
  ss::kafka::Settings settings;
  app.add_option("--prefix", prefix, "Topics whose name starts with this")->required();
  app.add_option("--count", count, "New messages to wait for")->default_val(1);
  app.add_option("--timeout", timeout, "Seconds to wait at most")->default_val(600);
  app.add_option("--brokers", settings.brokers, "Bootstrap servers (default: KAFKA_BROKERS)");
  return ss::run_main(app, argc, argv, [&] {
    char err[256];
    ss::kafka::Conf conf = ss::kafka::make_conf(settings, {{"log_level", "3"}});
    ss::kafka::Handle rk(rd_kafka_new(RD_KAFKA_PRODUCER, conf.release(), err, sizeof err));
    if (!rk) throw ss::Error(ss::kExitSoftware, std::string("cannot create a Kafka handle: ") + err);
    const int64_t base = std::max<int64_t>(0, held(rk.get(), prefix));
    const int64_t deadline = wall_us() + static_cast<int64_t>(timeout * 1e6);
    int64_t first = 0;
    for (;;) {
      const int64_t n = held(rk.get(), prefix) - base;
      const int64_t now = wall_us();
      if (n > 0 && !first) first = now;
      if (n >= count) {
        std::printf("%lld %lld %lld\n", static_cast<long long>(first), static_cast<long long>(now),
                    static_cast<long long>(n));
        return ss::kExitOk;
      }
      if (now > deadline)
        throw ss::Error(ss::kExitTempFail, "timed out with " + std::to_string(n) + " of " + std::to_string(count) +
                                               " messages in topics " + prefix + "*");
      std::this_thread::sleep_for(std::chrono::milliseconds(20));
    }
  });
}
