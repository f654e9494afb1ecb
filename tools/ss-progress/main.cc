// ss-progress: a replay job's live progress, or the live pipeline's lag.
#include <unistd.h>

#include <cstdlib>

#include "core/cli.h"
#include "core/defaults.h"
#include "core/error.h"
#include "serve/progress.h"

namespace {
ss::progress::Format format_of(bool json, bool bar) {
  if (json) return ss::progress::Format::kJson;
  if (bar) return ss::progress::Format::kBar;
  return ss::progress::Format::kAuto;
}
}  // namespace

int main(int argc, char** argv) {
  CLI::App app{"Show a replay job's live progress, or the pipeline's lag.", "ss-progress"};
  ss::progress::WatchConfig w;
  bool json = false, bar = false;
  std::string reconnect = "30s";
  app.add_option("job", w.job_id, "Replay job id (from ss-replay serve)");
  app.add_option("-s,--server", w.server, "ss-replay serve address")->default_val(ss::transport::kDefaultReplayServer);
  app.add_option("--token-file", w.token_file, "Bearer token for the server (first line of FILE)");
  ss::add_client_tls_flags(app, w.tls);
  app.add_flag("--json", json, "JSON lines even on a terminal");
  app.add_flag("--bar", bar, "A progress bar even when not on a terminal");
  app.add_option("--reconnect", reconnect, "Keep trying this long while the server is unreachable")->default_val("30s");
  app.set_version_flag("-V,--version", std::string("ss-progress ") + ss::kVersion);
  ss::add_verbose_flag(app);

  ss::progress::PipelineConfig p;
  p.slot.clear();  // empty until the flags, shadowstream.conf or the defaults say
  p.topic.clear();
  p.publication.clear();
  std::string config_file;
  std::string interval = "1s", max_slot_lag = "1GB";
  bool pjson = false, ptext = false;
  CLI::App* pipe = app.add_subcommand("pipeline", "Show the live pipeline's lag: slot, Redis stream, Kafka groups");
  pipe->add_option("-d,--dbname", p.pg,
                   "Source PostgreSQL conninfo or URI, as ss-capture's (default: PG_CONNINFO, else PG* environment)");
  pipe->add_option("--pg", p.pg)->group("");  // its earlier name; one name per thing now: --dbname, as ss-capture
  pipe->add_option("-c,--config", config_file,
                   "shadowstream.conf to read, as shadowstream(1) (default: $SHADOWSTREAM_CONF, ./shadowstream.conf, "
                   "/etc/shadowstream/shadowstream.conf)");
  pipe->add_option("--slot", p.slot, "Replication slot (default: SLOT, else shadowstream)");
  pipe->add_option("--publication", p.publication, "Publication (default: PUBLICATION, else shadowstream)");
  pipe->add_option("--max-slot-lag", max_slot_lag, "Warn when the slot keeps more WAL than SIZE (0: never)")
      ->default_val("1GB");
  pipe->add_option("--redis", p.redis_url, "Redis URL (default: $REDIS_URL)");
  pipe->add_option("--stream", p.stream, "Redis stream key (default: shadowstream:<source>:changes)");
  pipe->add_option("--source", p.source, "Source name, for the default stream key (default: SOURCE, else $PGDATABASE)");
  pipe->add_option("-b,--brokers", p.kafka_settings.brokers, "Kafka bootstrap brokers (default: $KAFKA_BROKERS)");
  pipe->add_option("-X", p.kafka_settings.properties, "librdkafka property key=value (repeatable)");
  pipe->add_option("-F", p.kafka_settings.property_files, "File of librdkafka key=value properties");
  pipe->add_option("-t,--topic", p.topic, "Archive topic (default: TOPIC, else shadowstream.archive)");
  pipe->add_option("-g,--group", p.groups, "Kafka consumer group to report (repeatable)");
  pipe->add_option("--interval", interval, "Time between samples")->default_val("1s");
  pipe->add_flag("--once", p.once, "One sample, then exit");
  pipe->add_flag("--json", pjson, "JSON lines even on a terminal");
  pipe->add_flag("--text", ptext, "Readable lines even when not on a terminal");

  return ss::run_main(app, argc, argv, [&] {
    if (*pipe) {
      ss::progress::apply_config(ss::conf::Config::load(config_file), p);
      p.interval_us = ss::duration_flag("--interval", interval);
      p.max_slot_lag = ss::size_flag("--max-slot-lag", max_slot_lag);
      p.format = format_of(pjson, ptext);
      return ss::progress::pipeline(p, STDOUT_FILENO);
    }
    if (w.job_id.empty()) throw ss::Error(ss::kExitUsage, "a job id is required (or the pipeline subcommand)");
    w.reconnect_us = ss::duration_flag("--reconnect", reconnect);
    w.format = format_of(json, bar);
    return ss::progress::watch(w, STDOUT_FILENO);
  });
}
