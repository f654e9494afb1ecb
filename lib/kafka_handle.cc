#include "kafka_handle.h"

#include <cstdlib>
#include <fstream>

#include "error.h"

namespace ss::kafka {
namespace {
void set(rd_kafka_conf_t* conf, const std::string& key, const std::string& value) {
  char err[512];
  if (rd_kafka_conf_set(conf, key.c_str(), value.c_str(), err, sizeof err) != RD_KAFKA_CONF_OK)
    throw Error(kExitConfig, "Kafka property " + key + ": " + err);
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
  return conf;
}

void check(rd_kafka_resp_err_t err, const std::string& what, int code) {
  if (err != RD_KAFKA_RESP_ERR_NO_ERROR) throw Error(code, what + ": " + rd_kafka_err2str(err));
}

}  // namespace ss::kafka
