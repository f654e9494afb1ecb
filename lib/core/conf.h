// shadowstream.conf as the tools read it: the same file, the same lookup and the same precedence as shadowstream(1),
// so that `ss-progress pipeline` and `shadowstream status` describe one pipeline.
#pragma once

#include <array>
#include <map>
#include <optional>
#include <string>
#include <string_view>

namespace ss::conf {

// Every key shadowstream.conf may hold (shadowstream(1)), in one list: the Makefile stamps it into the supervisor's
// CONF_KEYS (tests/check-docs compares the source script's), and both refuse any other key (78).
inline constexpr std::array<std::string_view, 20> kKeys = {
    "STATE_DIR",       "PG_CONNINFO",   "SLOT",        "PUBLICATION",    "TABLES",        "SOURCE",
    "REDIS_URL",       "KAFKA_BROKERS", "TOPIC",       "ARCHIVER_GROUP", "CAPTURE_OPTS",  "BUFFER_OPTS",
    "READER_OPTS",     "ARCHIVE_OPTS",  "BACKOFF_MAX", "STOP_TIMEOUT",   "HEALTHY_AFTER", "CHECKPOINT_EVERY",
    "CHECKPOINT_OPTS", "METRICS_DIR"};

class Config {
 public:
  // `path` if given (Error 66 when it cannot be read), else the first of $SHADOWSTREAM_CONF, ./shadowstream.conf and
  // /etc/shadowstream/shadowstream.conf that exists; none is an empty configuration. Error 78 names a bad line.
  static Config load(const std::string& path);
  // KEY=value lines: '#' comments, blank lines, a value optionally in matching quotes. Read as data, never run. A key
  // not in kKeys is Error 78, naming the line.
  static Config parse(std::string_view text, const std::string& name);

  // KEY's value: the environment's when set (as in shadowstream(1): one-off overrides need no edit), else the file's.
  std::optional<std::string> get(const std::string& key) const;
  const std::string& file() const { return file_; }

 private:
  std::map<std::string, std::string> values_;
  std::string file_;
};

}  // namespace ss::conf
