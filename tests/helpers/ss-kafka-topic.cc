// ss-kafka-topic: creates a topic on a real Kafka cluster for tests, with a partition count and topic configs, via
// the same ensure_topic the archiver uses (CreateTopics, the cluster's default replication factor). An existing
// topic is left as it is. Exits 0 when the topic exists and has a leader for every partition.
#include <map>
#include <string>
#include <vector>

#include "core/cli.h"
#include "core/error.h"
#include "kafka/handle.h"

int main(int argc, char** argv) {
  CLI::App app{"Creates a Kafka topic for ShadowStream's tests.", "ss-kafka-topic"};
  std::string topic;
  int partitions = 1;
  std::vector<std::string> configs;
  ss::kafka::Settings settings;
  app.add_option("topic", topic, "Topic name")->required();
  app.add_option("--partitions", partitions, "Partition count")->default_val(1)->check(CLI::Range(1, 1024));
  app.add_option("--config", configs, "Topic config KEY=VALUE (repeatable)");
  app.add_option("--brokers", settings.brokers, "Bootstrap servers (default: KAFKA_BROKERS)");
  return ss::run_main(app, argc, argv, [&] {
    std::map<std::string, std::string> kv;
    for (const auto& c : configs) {
      auto eq = c.find('=');
      if (eq == std::string::npos || eq == 0) throw ss::Error(ss::kExitUsage, "--config wants KEY=VALUE: " + c);
      kv[c.substr(0, eq)] = c.substr(eq + 1);
    }
    char err[256];
    ss::kafka::Conf conf = ss::kafka::make_conf(settings, {{"log_level", "3"}});
    ss::kafka::Handle rk(rd_kafka_new(RD_KAFKA_PRODUCER, conf.release(), err, sizeof err));
    if (!rk) throw ss::Error(ss::kExitSoftware, std::string("cannot create a Kafka handle: ") + err);
    ss::kafka::ensure_topic(rk.get(), topic, partitions, 30000, kv);
    return ss::kExitOk;
  });
}
