// ss-buffer: frames -> a Redis Stream, idempotent by position (default), or a Redis Stream -> frames (`read`).
#include <unistd.h>

#include "core/cli.h"
#include "core/defaults.h"
#include "core/error.h"
#include "core/metrics.h"
#include "core/position.h"
#include "redis/buffer.h"
#include "serve/ingestor.h"

int main(int argc, char** argv) {
  CLI::App app{"Buffer ShadowStream frames in a Redis Stream, or read them back through a consumer group.",
               "ss-buffer"};
  ss::buffer::WriteConfig w;
  std::string retain;
  bool no_passthrough = false;
  app.add_option("--redis", w.redis_url,
                 "Redis URL, redis://[user@]host[:port][/db] (default: $REDIS_URL; the password in $REDISCLI_AUTH)");
  app.add_option("--stream", w.stream, "Stream key (default: shadowstream:<source>:changes)");
  app.add_flag("--stream-per-table", w.per_table, "One stream per table: shadowstream:<source>:<schema>.<table>");
  app.add_flag("--no-passthrough", no_passthrough, "Do not copy stored frames to stdout");
  app.add_option("--maxlen", w.maxlen, "Trim each stream to about N entries")->check(CLI::NonNegativeNumber);
  app.add_option("--retain", retain, "Trim entries whose commit time is older than this (e.g. 24h)");
  app.add_option("--ack", w.ack, "After each stored batch, write the highest stored position to FILE (a FIFO)");
  app.add_option("--batch", w.batch, "Records per pipelined batch")->default_val(512)->check(CLI::Range(1, 100000));
  app.add_option("--max-frame", w.max_frame, "Largest frame accepted, in bytes")->default_val(ss::kDefaultMaxFrame);
  std::string value_format = "none";
  app.add_option("--value-format", value_format,
                 "Also store each record readable without protobuf, in the entry's \"value\" field: json (ss-cat's "
                 "form) or debezium (Debezium's change event)")
      ->check(CLI::IsMember({"none", "json", "debezium"}))
      ->default_val("none");
  app.set_version_flag("-V,--version", std::string("ss-buffer ") + ss::kVersion);
  ss::add_metrics_flags(app);
  ss::add_verbose_flag(app);

  ss::buffer::ReadConfig r;
  std::string claim_idle = "60s", ack_timeout = "60s";
  ss::WindowFlags window;
  CLI::App* read = app.add_subcommand("read", "Read a stream to stdout through a consumer group (or a time range)");
  read->add_option("--redis", r.redis_url, "Redis URL (default: $REDIS_URL)");
  read->add_option("--stream", r.stream, "Stream key");
  read->add_option("--source", r.source, "Read shadowstream:<source>:changes");
  read->add_option("--group", r.group, "Consumer group, created if missing (without it: a plain range read)");
  read->add_option("--consumer", r.consumer, "Consumer name within the group (default: the host name)");
  read->add_option("--from", r.from, "Where a new group starts: beginning, now, or an entry ID")
      ->default_val("beginning");
  read->add_option("--ack-from", r.ack_from, "XACK only what the downstream acknowledged in FILE (a FIFO)");
  read->add_option("--claim-idle", claim_idle, "Claim entries pending this long at dead consumers")->default_val("60s");
  read->add_flag("--until-idle", r.until_idle, "Exit 0 once the stream is drained (for cron)");
  read->add_option("--ack-timeout", ack_timeout, "With --until-idle and --ack-from, how long to wait for acks")
      ->default_val("60s");
  ss::add_window_flags(*read, window, false);
  read->add_option("--count", r.count, "Entries per read")->default_val(512)->check(CLI::Range(1, 100000));
  ss::add_metrics_flags(*read);

  ss::ingestor::ServeConfig sv;
  CLI::App* serve = app.add_subcommand("serve", "Serve gRPC Ingestor.PushChange into the same Redis stream");
  serve->add_option("--redis", sv.store.redis_url, "Redis URL (default: $REDIS_URL)");
  serve->add_option("--stream", sv.store.stream, "Stream key (default: shadowstream:<source>:changes)");
  serve->add_option("--listen", sv.listen, "Address to listen on (port 0 picks a free one)")
      ->default_val(ss::transport::kDefaultIngestorListen);
  serve->add_option("--token-file", sv.token_file, "Require \"authorization: Bearer <token>\" with the token in FILE");
  ss::add_server_tls_flags(*serve, sv.tls, sv.insecure);
  serve->add_option("--source", sv.default_source, "Source name for records that carry none")->default_val("grpc");
  serve->add_option("--allow-source", sv.allow_sources,
                    "Take records of source NAME (repeatable; * for any; default: --source's alone)");
  serve
      ->add_option("--max-position-jump", sv.store.max_position_jump,
                   "Refuse a pushed commit LSN more than N above its stream's top entry (0: no bound)")
      ->default_val(uint64_t{1} << 40);
  ss::add_metrics_flags(*serve);

  return ss::run_main(app, argc, argv, [&] {
    if (*serve) return ss::ingestor::run_serve(sv);
    ss::metrics::source_from_records();
    if (*read) {
      r.claim_idle_us = ss::duration_flag("--claim-idle", claim_idle);
      r.ack_timeout_us = ss::duration_flag("--ack-timeout", ack_timeout);
      auto w = window.parse();
      r.since_us = w.since_us;
      r.until_us = w.until_us;
      if (r.consumer.empty()) {
        char host[256] = "consumer";
        gethostname(host, sizeof host - 1);
        r.consumer = host;
      }
      if (r.group.empty() && (r.until_idle || !r.ack_from.empty()))
        throw ss::Error(ss::kExitUsage, "--until-idle and --ack-from need --group");
      ss::refuse_terminal(STDOUT_FILENO);
      return ss::buffer::run_read(r, STDOUT_FILENO);
    }
    w.value_format = value_format == "json"       ? ss::buffer::ValueFormat::kJson
                     : value_format == "debezium" ? ss::buffer::ValueFormat::kDebezium
                                                  : ss::buffer::ValueFormat::kNone;
    if (!retain.empty()) w.retain_us = ss::duration_flag("--retain", retain);
    // At a terminal the copy would be binary noise: store only.
    w.passthrough = !no_passthrough && !isatty(STDOUT_FILENO);
    return ss::buffer::run_write(w, STDIN_FILENO, STDOUT_FILENO);
  });
}
