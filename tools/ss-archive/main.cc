// ss-archive: frames -> a Kafka topic in transactions (default), or the topic -> frames (`read`).
#include <unistd.h>

#include "core/cli.h"
#include "core/defaults.h"
#include "core/error.h"
#include "core/metrics.h"
#include "core/position.h"
#include "kafka/archive.h"

namespace {
void add_kafka_flags(CLI::App* app, ss::kafka::Settings& k) {
  app->add_option("-b,--brokers", k.brokers, "Bootstrap brokers host:port,... (default: $KAFKA_BROKERS)");
  app->add_option("-X", k.properties, "librdkafka property key=value (repeatable), as kcat -X");
  app->add_option("-F", k.property_files, "File of librdkafka key=value properties, as kcat -F");
}
}  // namespace

int main(int argc, char** argv) {
  CLI::App app{"Archive ShadowStream frames to Kafka exactly once, or read them back by time, position or group.",
               "ss-archive"};
  ss::archive::WriteConfig w;
  std::string linger = "50ms";
  add_kafka_flags(&app, w.kafka);
  app.add_option("-t,--topic", w.topic, "Topic")->default_val(ss::archive::kDefaultTopic);
  app.add_option("--partitions", w.partitions, "Create the topic with N partitions when it does not exist")
      ->check(CLI::Range(1, 100000));
  std::string retention = "infinite";
  app.add_option("--retention", retention,
                 "retention.ms of the topics --partitions creates: infinite, or a duration like 30d")
      ->default_val("infinite");
  app.add_option("--transactional-id", w.transactional_id, "Transactional id (default: shadowstream-archive-<source>)");
  app.add_option("--batch", w.batch, "Records per transaction at most")
      ->default_val(10000)
      ->check(CLI::Range(1, 1000000));
  app.add_option("--linger", linger, "The longest a record waits for its transaction to commit while input goes on")
      ->default_val("50ms");
  app.add_option("--ack", w.ack, "After each committed transaction, write its highest position to FILE");
  app.add_option("--max-frame", w.max_frame, "Largest frame accepted, in bytes")->default_val(ss::kDefaultMaxFrame);
  app.set_version_flag("-V,--version", std::string("ss-archive ") + ss::kVersion);
  ss::add_metrics_flags(app);
  ss::add_verbose_flag(app);

  ss::archive::ReadConfig r;
  ss::WindowFlags window;
  std::string as_of;
  CLI::App* read =
      app.add_subcommand("read", "Read the archive to stdout: a window in position order, or as a group member");
  add_kafka_flags(read, r.kafka);
  read->add_option("-t,--topic", r.topic, "Topic")->default_val(ss::archive::kDefaultTopic);
  ss::add_window_flags(*read, window, true);
  read->add_option("--as-of", as_of,
                   "Rebuild as of TIME: the latest checkpoint before it, then the changes up to it (as --until "
                   "without --since)");
  read->add_option("--group", r.group, "Consumer-group member (e.g. analytics-group, backup-group)");
  read->add_option("--ack-from", r.ack_from, "With --group, commit offsets only for positions acknowledged in FILE");
  read->add_flag("--follow", r.follow, "Keep reading new records");

  ss::kafka::Settings listing;
  std::string list_topic;
  CLI::App* checkpoints = app.add_subcommand(
      "checkpoints", "List the archive's checkpoints: LSN, time, tables, rows, and whether a rebuild can use them");
  add_kafka_flags(checkpoints, listing);
  checkpoints->add_option("-t,--topic", list_topic, "Topic")->default_val(ss::archive::kDefaultTopic);

  return ss::run_main(app, argc, argv, [&] {
    if (*checkpoints) return ss::archive::print_checkpoints(listing, list_topic, STDOUT_FILENO);
    ss::metrics::source_from_records();
    if (*read) {
      if (!as_of.empty() && (!window.since.empty() || !window.until.empty() || !window.from.empty()))
        throw ss::Error(ss::kExitUsage,
                        "--as-of is a rebuild's instant: it excludes --since, --until and --from-position");
      if (!as_of.empty()) window.until = as_of;
      auto w = window.parse();
      r.since_us = w.since_us;
      r.until_us = w.until_us;
      r.from = w.from;
      r.to = w.to;
      if (!r.ack_from.empty() && r.group.empty()) throw ss::Error(ss::kExitUsage, "--ack-from needs --group");
      ss::refuse_terminal(STDOUT_FILENO);
      return ss::archive::run_read(r, STDOUT_FILENO);
    }
    w.linger_us = ss::duration_flag("--linger", linger);
    if (retention != "infinite") w.retention_ms = ss::duration_flag("--retention", retention) / 1000;
    return ss::archive::run_write(w, STDIN_FILENO);
  });
}
