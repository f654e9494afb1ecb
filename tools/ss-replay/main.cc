// ss-replay: frames on stdin -> paced frames on stdout, or changes applied to a PostgreSQL target.
#include <unistd.h>

#include <algorithm>
#include <cstdio>
#include <cstdlib>
#include <thread>

#include "core/cli.h"
#include "core/defaults.h"
#include "core/error.h"
#include "core/fd_io.h"
#include "core/json.h"
#include "core/log.h"
#include "core/metrics.h"
#include "replay/replay.h"
#include "serve/progress.h"
#include "serve/replay_service.h"

namespace {

// The flags a local replay and a submitted job share: they fill the same ReplayRequest.
struct RequestFlags {
  std::string speed = "1", rate, max_gap, on_error = "stop";
  ss::WindowFlags window;
  std::vector<std::string> tables;
  bool create_tables = false, concurrent_indexes = false, no_base = false;
};

// `positions`: --from-position/--to-position too (a local replay's window; a job takes LSNs).
void add_request_flags(CLI::App& app, RequestFlags& f, shadowstream::v1::ReplayRequest& req, const char* to_help,
                       bool positions) {
  app.add_option("--speed", f.speed, "Speed factor over the original timing, or 'max' for no pacing")->default_val("1");
  app.add_option("--rate", f.rate, "Pace at N records per second instead (e.g. 5000 or 5000/s)");
  app.add_option("--max-gap", f.max_gap, "Shorten idle stretches longer than DURATION to DURATION (e.g. 5s)");
  ss::add_window_flags(app, f.window, positions);
  app.add_option("-t,--table", f.tables, "Only this table (schema.table; repeatable)");
  app.add_option("--to", *req.mutable_target(), to_help);
  app.add_flag("--create-tables", f.create_tables, "Create missing target tables from the records' columns");
  app.add_flag("--concurrent-indexes", f.concurrent_indexes,
               "With --create-tables: build the indexes schema records create CONCURRENTLY, after their transaction");
  app.add_flag("--no-base", f.no_base,
               "Replay a window into a target that lacks the history before it (warned, instead of refused)");
  app.add_option("--on-error", f.on_error, "A change that cannot be applied: stop, skip or log")
      ->default_val("stop")
      ->check(CLI::IsMember({"stop", "skip", "log"}));
}

// The request the flags describe; the window, whose positions a request does not carry.
ss::WindowFlags::Window fill_request(const RequestFlags& f, shadowstream::v1::ReplayRequest& req) {
  req.set_speed_factor(ss::speed_flag("--speed", f.speed));
  if (!f.rate.empty()) req.set_rate(ss::rate_flag("--rate", f.rate));
  if (!f.max_gap.empty()) req.set_max_gap_us(ss::duration_flag("--max-gap", f.max_gap));
  const ss::WindowFlags::Window w = f.window.parse();
  if (w.since_us) req.set_start_time(*w.since_us);
  if (w.until_us) req.set_end_time(*w.until_us);
  for (const auto& t : f.tables) req.add_tables(t);
  if (f.concurrent_indexes && !f.create_tables)
    throw ss::Error(ss::kExitUsage, "--concurrent-indexes needs --create-tables");
  req.set_create_tables(f.create_tables);
  req.set_concurrent_indexes(f.concurrent_indexes);
  req.set_no_base(f.no_base);
  req.set_on_error(ss::replay::on_error_named(f.on_error).value_or(shadowstream::v1::ON_ERROR_STOP));
  return w;
}

// Client flags of the commands that talk to a server: its address, its token, TLS.
void add_client_flags(CLI::App& cmd, ss::replay_service::ClientConfig& c) {
  cmd.add_option("-s,--server", c.server, "ss-replay serve address")->default_val(ss::transport::kDefaultReplayServer);
  cmd.add_option("--token-file", c.token_file, "Bearer token for the server (first line of FILE)");
  ss::add_client_tls_flags(cmd, c.tls);
}

// ss-replay [flags] < frames: a replay here, to stdout or into a PostgreSQL target.
struct Local {
  RequestFlags flags;
  shadowstream::v1::ReplayRequest req;
  std::vector<std::string> table_maps, schema_maps;
  ss::apply::Config apply;
  size_t max_frame = ss::kDefaultMaxFrame;
  std::string group = "auto", group_time = "5s";
  size_t group_mib = 256;

  void add(CLI::App& app) {
    add_request_flags(app, flags, req,
                      "Apply to this PostgreSQL target (URI or conninfo; password from PGPASSWORD or ~/.pgpass)", true);
    app.add_option("--table-map", table_maps, "Apply table SRC to DST (schema.table or table; repeatable)");
    app.add_option("--schema-map", schema_maps, "Apply schema SRC to schema DST (repeatable)");
    app.add_option("--position-table", apply.position_table, "Target table holding the high-water positions")
        ->default_val("shadowstream.replay_position");
    app.add_option("--max-frame", max_frame, "Largest frame accepted, in bytes")->default_val(ss::kDefaultMaxFrame);
    app.add_option("--group", group,
                   "Apply many source transactions per target transaction, rows folded to their last version: auto "
                   "(at --speed max), on or off")
        ->default_val("auto")
        ->check(CLI::IsMember({"auto", "on", "off"}));
    app.add_option("--group-records", apply.group.records, "A group ends after N source records")
        ->default_val(apply.group.records);
    app.add_option("--group-time", group_time, "A group ends after DURATION")->default_val("5s");
    app.add_option("--group-memory", group_mib, "Folded rows are applied once they hold MIB mebibytes")
        ->default_val(group_mib)
        ->check(CLI::PositiveNumber);
    ss::add_metrics_flags(app);
  }

  int run() {
    ss::metrics::source_from_records();
    const ss::WindowFlags::Window w = fill_request(flags, req);
    ss::replay::Config cfg = ss::replay::config_of(req);
    if (w.from) cfg.window.from = *w.from;
    if (w.to) cfg.window.to = *w.to;
    for (const auto& m : table_maps) apply.table_map.push_back(ss::mapping_flag("--table-map", m));
    for (const auto& m : schema_maps) apply.schema_map.push_back(ss::mapping_flag("--schema-map", m));
    apply = ss::replay::apply_config_of(req, apply);
    if (group != "auto") apply.group.enabled = group == "on";
    apply.group.time_us = ss::duration_flag("--group-time", group_time);
    apply.group.memory = group_mib << 20;
    const bool to_pg = !apply.conninfo.empty();
    if (!to_pg && (apply.create_tables || !table_maps.empty() || !schema_maps.empty()))
      throw ss::Error(ss::kExitUsage, "--create-tables, --table-map and --schema-map need --to");
    if (!to_pg) ss::refuse_terminal(STDOUT_FILENO, "pipe into ss-cat, or use --to");

    ss::pacing::PauseGate gate;
    ss::replay::install_pause_signals(&gate);
    ss::FrameReader in(STDIN_FILENO, "stdin", max_frame);
    ss::replay::Hooks hooks;
    hooks.gate = &gate;
    if (!to_pg) {
      ss::replay::FrameSink sink(STDOUT_FILENO);
      auto p = ss::replay::run(cfg, in, sink, hooks);
      ss::log::info("read " + std::to_string(p.read) + " records; replayed " + std::to_string(p.done));
      return 0;
    }
    ss::replay::PostgresSink sink(apply);
    auto p = ss::replay::run(cfg, in, sink, hooks);
    const auto& s = sink.stats();
    ss::log::info("read " + std::to_string(p.read) + " records; applied " + std::to_string(p.done) + " in " +
                  std::to_string(s.transactions) + " transactions (" + std::to_string(s.commits) + " on the target, " +
                  std::to_string(s.folded) + " records folded into later versions); " + std::to_string(p.duplicates) +
                  " already applied; " + std::to_string(s.not_found) + " updates/deletes found no row; " +
                  std::to_string(s.failed) + " skipped on error");
    // Never a partial shadow in silence: changes to rows the target lacks mean its history before this input is
    // missing.
    if (s.not_found)
      ss::log::warn(std::to_string(s.not_found) +
                    " updates and deletes found no row in the target: it lacks the history before this input, so "
                    "those rows are missing or stale; build it first from the base (ss-archive read --as-of START | "
                    "ss-replay --speed max --to ...), then replay the window");
    return 0;
  }
};

// ss-replay serve: replay jobs over gRPC, and the dashboard.
struct Serve {
  CLI::App* cmd = nullptr;
  ss::replay_service::ServeConfig cfg;
  std::string keep_jobs, job_lease = "15s";
  ss::progress::PipelineConfig panel;

  void add(CLI::App& app) {
    cmd = app.add_subcommand("serve", "Serve replay jobs over gRPC (Replayer, ProgressTracker)");
    cmd->add_option("--listen", cfg.listen, "Address to listen on (port 0 picks a free one)")
        ->default_val(ss::transport::kDefaultReplayServer);
    cmd->add_option("--token-file", cfg.token_file, "Require this bearer token (first line of FILE)");
    ss::add_server_tls_flags(*cmd, cfg.tls, cfg.insecure);
    cmd->add_option("--allow-target", cfg.jobs.allow_targets,
                    "Jobs may name targets matching HOST[:PORT][/DB] (wildcards; repeatable); others use PGHOST");
    cmd->add_option("--files-dir", cfg.jobs.files_dir, "file: sources are files in DIR (default: none)");
    cmd->add_option("--max-jobs", cfg.jobs.max_jobs, "Unfinished jobs this server runs at once; more are refused")
        ->default_val(4 * std::max(1u, std::thread::hardware_concurrency()))
        ->check(CLI::PositiveNumber);
    cmd->add_option("--max-target-jobs", cfg.jobs.max_target_jobs,
                    "Unfinished jobs into one target at once; more are refused")
        ->default_val(4)
        ->check(CLI::PositiveNumber);
    cmd->add_option("--keep-jobs", keep_jobs, "Delete finished jobs older than DURATION (e.g. 30d; default: keep)");
    cmd->add_option("--job-lease", job_lease, "How long a dead server's running jobs wait before another takes them")
        ->default_val("15s");
    cmd->add_option("--redis", cfg.jobs.redis_url, "Redis URL of the job store (default: $REDIS_URL)");
    cmd->add_option("--store-key", cfg.jobs.key, "Redis hash holding the jobs")
        ->default_val("shadowstream:replay:jobs");
    cmd->add_option("--default-source", cfg.jobs.default_source, "Source of jobs that name none")
        ->default_val(std::string("kafka:") + ss::archive::kDefaultTopic);
    cmd->add_option("-b,--brokers", cfg.jobs.kafka.brokers,
                    "Kafka bootstrap brokers for kafka: sources (default: $KAFKA_BROKERS)");
    cmd->add_option("-X", cfg.jobs.kafka.properties, "librdkafka property key=value (repeatable)");
    cmd->add_option("-F", cfg.jobs.kafka.property_files, "File of librdkafka key=value properties");
    cmd->add_option("--http", cfg.http,
                    "Also serve the web dashboard on ADDR (HOST:PORT, or PORT on loopback); needs --token-file");
    panel.slot.clear();  // empty until the flags or shadowstream.conf say
    panel.topic.clear();
    panel.publication.clear();
    cmd->add_option("--pipeline-dbname", panel.pg,
                    "Dashboard pipeline panel: source PostgreSQL conninfo or URI (slot lag)");
    cmd->add_option("--pipeline-pg", panel.pg)->group("");  // its earlier name
    cmd->add_option("--pipeline-slot", panel.slot,
                    "Dashboard pipeline panel: replication slot (default: SLOT, else shadowstream)");
    cmd->add_option("--pipeline-stream", panel.stream, "Dashboard pipeline panel: Redis stream key");
    cmd->add_option("--pipeline-topic", panel.topic,
                    "Dashboard pipeline panel: Kafka archive topic (default: TOPIC, else shadowstream.archive)");
    cmd->add_option("--pipeline-group", panel.groups, "Dashboard pipeline panel: Kafka consumer group (repeatable)");
    ss::add_metrics_flags(*cmd);
  }

  int run() {
    // The panel shows what this server sees of the pipeline: its Redis (the job store's) and Kafka (the jobs'
    // brokers) always, PostgreSQL once it is named; shadowstream.conf fills the rest, as for ss-progress pipeline.
    panel.redis_url = cfg.jobs.redis_url;
    panel.kafka_settings = cfg.jobs.kafka;
    ss::progress::apply_config(ss::conf::Config::load(""), panel);
    panel.postgres = !panel.pg.empty();
    panel.redis = true;  // the job store's, which an empty URL names too (its default address)
    cfg.pipeline = panel;
    if (!keep_jobs.empty()) cfg.jobs.keep_jobs_us = ss::duration_flag("--keep-jobs", keep_jobs);
    cfg.jobs.lease_us = ss::duration_flag("--job-lease", job_lease);
    if (cfg.jobs.lease_us < 1'000'000) throw ss::Error(ss::kExitUsage, "--job-lease: at least 1s");
    return ss::replay_service::run_serve(cfg);
  }
};

// ss-replay submit: a job on a server.
struct Submit {
  CLI::App* cmd = nullptr;
  ss::replay_service::ClientConfig client;
  shadowstream::v1::ReplayRequest req;
  RequestFlags flags;
  std::string from, to;
  bool rebuild = false;

  void add(CLI::App& app) {
    cmd = app.add_subcommand("submit", "Create a replay job on a server and print its id");
    add_client_flags(*cmd, client);
    cmd->add_option("--source", *req.mutable_source(), "kafka:TOPIC or file:PATH (default: the server's)");
    add_request_flags(*cmd, flags, req, "PostgreSQL target, without a password (default: a dry run)", false);
    // A job's window holds whole transactions: the positions are theirs (X/Y), named as a local replay names them.
    cmd->add_option("--from-position,--from-lsn", from, "Records of transactions committed at or after X/Y");
    cmd->add_option("--to-position,--to-lsn", to, "Records of transactions committed at or before X/Y");
    cmd->add_flag("--rebuild", rebuild,
                  "Build the base first: the archive as of --since at full speed, then the window as asked");
    cmd->add_option("--name", *req.mutable_name(), "Label shown in listings");
  }

  int run() {
    fill_request(flags, req);
    if (!from.empty()) req.set_from_lsn(ss::lsn_flag("--from-position", from));
    if (!to.empty()) req.set_to_lsn(ss::lsn_flag("--to-position", to));
    req.set_rebuild(rebuild);
    std::printf("%s\n", ss::replay_service::submit(client, req).id().c_str());
    return 0;
  }
};

// ss-replay jobs [ACTION JOB]: list a server's jobs, or act on one.
struct Jobs {
  CLI::App* cmd = nullptr;
  ss::replay_service::ClientConfig client;
  bool json = false;
  std::string action, id;

  void add(CLI::App& app) {
    cmd = app.add_subcommand("jobs", "List a server's replay jobs, newest first");
    add_client_flags(*cmd, client);
    cmd->add_flag("--json", json, "JSON lines");
    cmd->add_option("action", action, "pause, resume, cancel or delete JOB (without: list the jobs)")
        ->check(CLI::IsMember({"pause", "resume", "cancel", "delete"}));
    cmd->add_option("job", id, "Job id, for an action");
  }

  int run() {
    if (!action.empty()) {
      if (id.empty()) throw ss::Error(ss::kExitUsage, action + " needs a job id");
      auto j = ss::replay_service::job_action(client, action, id);
      if (action == "delete")
        std::printf("%s deleted\n", id.c_str());
      else
        std::printf("%s %s\n", id.c_str(), ss::jobs::state_name(j.state()).c_str());
      return 0;
    }
    ss::BufferedWriter out(STDOUT_FILENO);
    for (const auto& j : ss::replay_service::list_jobs(client)) {
      if (json)
        ss::json::append(j, out.buffer());
      else
        out.buffer() += ss::replay_service::job_line(j);
      out.buffer().push_back('\n');
    }
    out.flush();
    return 0;
  }
};

}  // namespace

int main(int argc, char** argv) {
  CLI::App app{"Replay ShadowStream frames at a chosen speed, to stdout or into a PostgreSQL target.", "ss-replay"};
  Local local;
  local.add(app);
  app.set_version_flag("-V,--version", std::string("ss-replay ") + ss::kVersion);
  ss::add_verbose_flag(app);
  Serve serve;
  serve.add(app);
  Submit submit;
  submit.add(app);
  Jobs jobs;
  jobs.add(app);
  return ss::run_main(app, argc, argv, [&] {
    if (*serve.cmd) return serve.run();
    if (*submit.cmd) return submit.run();
    if (*jobs.cmd) return jobs.run();
    return local.run();
  });
}
