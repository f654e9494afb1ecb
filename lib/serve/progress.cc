#include "serve/progress.h"

#include <algorithm>

#include <grpcpp/grpcpp.h>
#include <sys/ioctl.h>
#include <unistd.h>

#include <algorithm>
#include <cmath>
#include <cstdio>
#include <map>
#include <memory>
#include <thread>

#include "core/cli.h"
#include "core/error.h"
#include "core/fd_io.h"
#include "core/json.h"
#include "core/log.h"
#include "core/position.h"
#include "core/signals.h"
#include "pg/conn.h"
#include "pg/ddl.h"
#include "pg/slot.h"
#include "redis/conn.h"
#include "redis/stream.h"
#include "replay/jobs.h"
#include "serve/grpc_server.h"
#include "shadowstream.grpc.pb.h"

namespace ss::progress {

namespace pb = shadowstream::v1;

namespace {
// 1536 -> "1.5 KiB": sizes for people.
std::string bytes_text(uint64_t n) {
  static constexpr const char* kUnits[] = {"bytes", "KiB", "MiB", "GiB", "TiB"};
  double v = static_cast<double>(n);
  int u = 0;
  while (v >= 1024 && u < 4) {
    v /= 1024;
    ++u;
  }
  char buf[32];
  std::snprintf(buf, sizeof buf, u ? "%.1f %s" : "%.0f %s", v, kUnits[u]);
  return buf;
}
}  // namespace

namespace {

bool use_bar(Format f, int fd) {
  return f == Format::kBar || (f == Format::kAuto && isatty(fd));
}

int terminal_width(int fd) {
  winsize ws{};
  if (ioctl(fd, TIOCGWINSZ, &ws) == 0 && ws.ws_col > 20) return ws.ws_col;
  return 80;
}

std::string duration_text(int64_t us) {
  if (us < 0) return "?";
  int64_t s = (us + 500'000) / 1'000'000;
  char buf[32];
  if (s >= 3600)
    std::snprintf(buf, sizeof buf, "%lld:%02lld:%02lld", static_cast<long long>(s / 3600),
                  static_cast<long long>(s / 60 % 60), static_cast<long long>(s % 60));
  else
    std::snprintf(buf, sizeof buf, "%lld:%02lld", static_cast<long long>(s / 60), static_cast<long long>(s % 60));
  return buf;
}

std::string rate_text(double r) {
  char buf[32];
  if (r >= 10'000)
    std::snprintf(buf, sizeof buf, "%.0fk/s", r / 1000);
  else
    std::snprintf(buf, sizeof buf, "%.0f/s", r);
  return buf;
}

}  // namespace

std::string render_bar(const pb::ProgressUpdate& u, const pb::ReplayRequest& req, int width) {
  double frac = -1;
  if (u.records_total() > 0) {
    frac = static_cast<double>(u.records_done()) / static_cast<double>(u.records_total());
  } else if (req.start_time() && req.end_time() && u.replayed_time()) {
    frac = static_cast<double>(u.replayed_time() - req.start_time()) /
           static_cast<double>(req.end_time() - req.start_time());
  }
  if (u.state() == pb::JOB_STATE_DONE) frac = 1;
  std::string tail;
  char pct[16] = "   ?%";
  if (frac >= 0) std::snprintf(pct, sizeof pct, "%5.1f%%", std::min(1.0, std::max(0.0, frac)) * 100);
  tail += pct;
  tail += "  " + std::to_string(u.records_done());
  if (u.records_total()) tail += "/" + std::to_string(u.records_total());
  tail += " rec  " + rate_text(u.rate()) + "  ETA " + duration_text(u.eta_us());
  if (u.replayed_time()) tail += "  at " + format_time_us(u.replayed_time()).substr(0, 19) + "Z";
  tail += "  " + jobs::state_name(u.state());
  int bar = width - static_cast<int>(tail.size()) - 3;
  std::string out;
  if (bar >= 10) {
    int fill = frac < 0 ? 0 : static_cast<int>(std::lround(std::min(1.0, frac) * bar));
    // '#' and '-' rather than colour or block glyphs: readable on any terminal and in a log.
    out = "[" + std::string(fill, '#') + std::string(bar - fill, '-') + "] ";
  }
  out += tail;
  if (static_cast<int>(out.size()) > width) out.resize(width);
  return out;
}

int watch(const WatchConfig& cfg, int out_fd) {
  std::string token = grpc_server::read_token(cfg.token_file);
  auto channel = grpc_server::channel(cfg.server, cfg.tls);
  auto replayer = pb::Replayer::NewStub(channel);
  auto tracker = pb::ProgressTracker::NewStub(channel);
  auto context = [&](grpc::ClientContext& ctx) { grpc_server::add_token(ctx, token); };
  const bool bar = use_bar(cfg.format, out_fd);
  BufferedWriter out(out_fd, 1 << 16);
  pb::ReplayRequest request;
  pb::ProgressUpdate last;
  bool final = false;
  int64_t unreachable_since = 0;
  while (!final && !stop_requested()) {
    grpc::ClientContext gctx;
    context(gctx);
    gctx.set_deadline(std::chrono::system_clock::now() + std::chrono::seconds(5));
    pb::JobRef ref;
    ref.set_id(cfg.job_id);
    pb::ReplayJob job;
    grpc::Status st = replayer->GetJob(&gctx, ref, &job);
    if (st.ok()) {
      request = job.request();
      unreachable_since = 0;
      grpc::ClientContext sctx;
      context(sctx);
      pb::ProgressRequest preq;
      preq.set_job_id(cfg.job_id);
      auto reader = tracker->StreamProgress(&sctx, preq);
      pb::ProgressUpdate u;
      while (reader->Read(&u)) {
        last = u;
        if (bar) {
          out.write("\r" + render_bar(u, request, terminal_width(out_fd) - 1) + "\x1b[K");
        } else {
          json::append(u, out.buffer());
          out.buffer().push_back('\n');
        }
        out.flush();
        if (jobs::is_final(u.state())) {
          final = true;
          sctx.TryCancel();
          break;
        }
      }
      st = reader->Finish();
      if (final || st.ok()) continue;
    }
    if (st.error_code() != grpc::StatusCode::UNAVAILABLE && st.error_code() != grpc::StatusCode::DEADLINE_EXCEEDED &&
        st.error_code() != grpc::StatusCode::CANCELLED)
      grpc_server::throw_status(st, cfg.server);
    // The server is away (restarting?): jobs survive a restart, so keep trying for a while.
    if (!unreachable_since) unreachable_since = now_us();
    if (now_us() - unreachable_since > cfg.reconnect_us) grpc_server::throw_status(st, cfg.server);
    if (!sleep_unless_stopped(500'000)) break;
  }
  if (bar) {
    out.write("\n");
    if (!last.error().empty()) out.write("error: " + log::printable(last.error()) + "\n");
  }
  out.flush();
  if (!final) return kExitOk;  // interrupted by the user
  switch (last.state()) {
    case pb::JOB_STATE_DONE:
      return 0;
    case pb::JOB_STATE_CANCELLED:
      return 2;
    default:
      return 1;
  }
}

namespace {

class Sampler {
 public:
  explicit Sampler(const PipelineConfig& cfg) : cfg_(cfg), redis_(redis::parse_url(cfg.redis_url), 2000) {}

  pb::PipelineStatus sample() {
    pb::PipelineStatus s;
    s.set_sample_time(now_us());
    if (cfg_.postgres) sample_pg(*s.mutable_postgres());
    if (cfg_.redis) sample_redis(*s.mutable_redis());
    if (cfg_.kafka) sample_kafka(*s.mutable_kafka());
    return s;
  }

 private:
  void sample_pg(pb::PipelineStatus::Postgres& p) {
    p.set_slot(cfg_.slot);
    try {
      if (!pg_ || PQstatus(pg_.get()) != CONNECTION_OK) pg_ = pg::connect(cfg_.pg);
      pg::Result r = pg::exec(pg_.get(),
                              "SELECT s.active, pg_current_wal_lsn()::text, coalesce(s.confirmed_flush_lsn::text, ''), "
                              "coalesce(pg_wal_lsn_diff(pg_current_wal_lsn(), s.confirmed_flush_lsn), 0)::bigint, "
                              "coalesce(extract(epoch from r.flush_lag), 0), "
                              "coalesce(pg_wal_lsn_diff(pg_current_wal_lsn(), s.restart_lsn), 0)::bigint "
                              "FROM pg_replication_slots s "
                              "LEFT JOIN pg_stat_replication r ON r.pid = s.active_pid WHERE s.slot_name = " +
                                  pg::quote_literal(pg_.get(), cfg_.slot));
      if (PQntuples(r.get()) == 0) {
        p.set_error("no replication slot " + cfg_.slot);
        return;
      }
      p.set_active(std::string(PQgetvalue(r.get(), 0, 0)) == "t");
      p.set_current_lsn(parse_lsn(PQgetvalue(r.get(), 0, 1)).value_or(0));
      p.set_confirmed_flush_lsn(parse_lsn(PQgetvalue(r.get(), 0, 2)).value_or(0));
      p.set_lag_bytes(std::strtoull(PQgetvalue(r.get(), 0, 3), nullptr, 10));
      p.set_lag_seconds(std::strtod(PQgetvalue(r.get(), 0, 4), nullptr));
      p.set_retained_bytes(std::strtoull(PQgetvalue(r.get(), 0, 5), nullptr, 10));
      if (cfg_.max_slot_lag && p.retained_bytes() > cfg_.max_slot_lag)
        p.add_warnings("slot " + cfg_.slot + " keeps " + bytes_text(p.retained_bytes()) +
                       " of WAL on the server, over --max-slot-lag " + bytes_text(cfg_.max_slot_lag) +
                       (p.active() ? ": the capture is behind"
                                   : ": no capture is connected; if it is gone for good, "
                                     "ss-capture --drop-slot --slot " +
                                         cfg_.slot));
      p.set_ddl_trigger_version(static_cast<uint32_t>(ddl::installed_version(pg_.get())));
      std::vector<std::string> keyless = slot::keyless_tables(pg_.get(), cfg_.publication);
      if (!keyless.empty())
        p.add_warnings("publication " + cfg_.publication + " publishes " +
                       slot::keyless_advice(keyless, pg::quote_ident(pg_.get(), cfg_.publication), true));
    } catch (const Error& e) {
      pg_.reset();
      p.set_error(e.what());
    }
  }

  void sample_redis(pb::PipelineStatus::Redis& out) {
    std::string key = cfg_.stream.empty() ? redis::default_stream_key(cfg_.source) : cfg_.stream;
    out.set_stream(key);
    try {
      redis::Reply len = redis_.run({"XLEN", key}, false);
      if (len->type == REDIS_REPLY_INTEGER) out.set_length(static_cast<uint64_t>(len->integer));
      redis::Reply groups = redis_.run({"XINFO", "GROUPS", key}, false);
      if (redis::is_error(groups.get())) {
        const std::string why(groups->str, groups->len);
        // No stream yet (nothing captured so far): length 0 and no groups, not an error.
        if (out.length() == 0 && why.find("no such key") != std::string::npos) return;
        out.set_error(why);
        return;
      }
      for (size_t i = 0; i < groups->elements; ++i) {
        const redisReply* g = groups->element[i];
        auto* og = out.add_groups();
        og->set_lag(-1);
        for (size_t k = 0; k + 1 < g->elements; k += 2) {
          std::string field(g->element[k]->str, g->element[k]->len);
          const redisReply* v = g->element[k + 1];
          if (field == "name") og->set_name(std::string(v->str, v->len));
          if (field == "pending" && v->type == REDIS_REPLY_INTEGER) og->set_pending(v->integer);
          if (field == "consumers" && v->type == REDIS_REPLY_INTEGER) og->set_consumers(v->integer);
          if (field == "lag" && v->type == REDIS_REPLY_INTEGER) og->set_lag(v->integer);
        }
      }
    } catch (const Error& e) {
      redis_.drop();
      out.set_error(e.what());
    }
  }

  rd_kafka_t* group_handle(const std::string& group) {
    auto it = consumers_.find(group);
    if (it != consumers_.end()) return it->second.get();
    return (consumers_[group] = kafka::make_consumer(cfg_.kafka_settings, group)).get();
  }

  void sample_kafka(pb::PipelineStatus::Kafka& out) {
    out.set_topic(cfg_.topic);
    try {
      // Any group's handle answers metadata and watermarks; the first one serves them all.
      std::string first = cfg_.groups.empty() ? "ss-progress" : cfg_.groups.front();
      rd_kafka_t* h = group_handle(first);
      std::vector<int32_t> parts = kafka::partitions_of(h, cfg_.topic, 5000);
      if (parts.empty()) {
        out.set_error("topic " + cfg_.topic + " does not exist");
        return;
      }
      std::map<int32_t, kafka::Watermarks> marks = kafka::all_watermarks(h, cfg_.topic, parts, 5000);
      int64_t end = 0;
      for (const auto& [p, w] : marks) end += w.high;
      out.set_end_offsets(end);
      for (const auto& g : cfg_.groups) {
        rd_kafka_t* gh = group_handle(g);
        kafka::PartitionList l(rd_kafka_topic_partition_list_new(static_cast<int>(parts.size())));
        for (int32_t p : parts) rd_kafka_topic_partition_list_add(l.get(), cfg_.topic.c_str(), p);
        kafka::check(rd_kafka_committed(gh, l.get(), 5000), "reading offsets of group " + g, kExitUnavailable);
        bool any = false;
        for (int i = 0; i < l->cnt; ++i) any = any || l->elems[i].offset >= 0;
        if (!any && cfg_.existing_groups_only) continue;  // nobody created it: no "lag N, no offsets" line for it
        auto* og = out.add_groups();
        og->set_name(g);
        int64_t lag = 0;
        for (int i = 0; i < l->cnt; ++i) {
          const kafka::Watermarks& w = marks[l->elems[i].partition];
          const int64_t lo = w.low, hi = w.high;
          int64_t committed = l->elems[i].offset;
          if (committed >= 0) og->set_has_offsets(true);
          lag += hi - std::max(committed < 0 ? lo : committed, lo);
        }
        og->set_lag(lag);
      }
      sample_checkpoints(out);
    } catch (const Error& e) {
      out.set_error(e.what());
    }
  }

  // Checkpoints change a few times a day, and listing them reads a topic and a message per partition: every 30 s
  // is often enough.
  void sample_checkpoints(pb::PipelineStatus::Kafka& out) {
    if (!checkpoints_at_ || now_us() - checkpoints_at_ > 30'000'000) {
      std::vector<archive::CheckpointInfo> list = archive::list_checkpoints(cfg_.kafka_settings, cfg_.topic);
      oldest_ = archive::oldest_rebuildable(list);
      complete_ = static_cast<uint32_t>(
          std::count_if(list.begin(), list.end(), [](const archive::CheckpointInfo& c) { return c.complete; }));
      held_times_.clear();
      for (const archive::CheckpointInfo& c : list)
        if (c.held) held_times_.push_back(c.time_us);
      checkpoints_at_ = now_us();
    }
    if (oldest_) out.set_oldest_rebuildable_time(*oldest_);
    out.set_checkpoints(complete_);
    for (int64_t t : held_times_) out.add_checkpoint_time(t);
  }

  const PipelineConfig& cfg_;
  pg::Conn pg_;
  redis::Session redis_;
  std::map<std::string, kafka::Handle> consumers_;
  int64_t checkpoints_at_ = 0;
  std::optional<int64_t> oldest_;
  uint32_t complete_ = 0;
  std::vector<int64_t> held_times_;
};

}  // namespace

std::string render_pipeline(const pb::PipelineStatus& s) {
  std::string out = format_time_us(s.sample_time()).substr(0, 19) + "Z\n";
  if (s.has_postgres()) {
    const auto& p = s.postgres();
    out += "  postgres  slot " + log::printable(p.slot());
    if (!p.error().empty()) {
      out += ": " + log::printable(p.error()) + "\n";
    } else {
      char buf[64];
      std::snprintf(buf, sizeof buf, "%.1f s", p.lag_seconds());
      out += std::string(p.active() ? " (capturing)" : " (no capture connected)") + "  lag " +
             std::to_string(p.lag_bytes()) + " bytes, " + buf + "  confirmed " + format_lsn(p.confirmed_flush_lsn()) +
             " of " + format_lsn(p.current_lsn()) + "  retained " + bytes_text(p.retained_bytes()) + "\n";
      out += p.ddl_trigger_version()
                 ? "            schema changes: captured where they happen (trigger version " +
                       std::to_string(p.ddl_trigger_version()) + ")\n"
                 : "            schema changes: from Relation messages only (no ss-capture install-ddl)\n";
    }
    for (const auto& w : p.warnings()) out += "  WARNING   " + log::printable(w) + "\n";
  }
  if (s.has_redis()) {
    const auto& r = s.redis();
    out += "  redis     " + log::printable(r.stream()) + "  length " + std::to_string(r.length());
    for (const auto& g : r.groups())
      out += "  [" + log::printable(g.name()) + ": pending " + std::to_string(g.pending()) + ", lag " +
             (g.lag() < 0 ? std::string("?") : std::to_string(g.lag())) + "]";
    if (!r.error().empty()) out += "  (" + log::printable(r.error()) + ")";
    out += "\n";
  }
  if (s.has_kafka()) {
    const auto& k = s.kafka();
    out += "  kafka     " + log::printable(k.topic());
    if (!k.error().empty()) {
      out += ": " + log::printable(k.error()) + "\n";
    } else {
      out += "  messages " + std::to_string(k.end_offsets());
      for (const auto& g : k.groups())
        out += "  [" + log::printable(g.name()) + ": lag " + std::to_string(g.lag()) +
               (g.has_offsets() ? "" : ", no offsets") + "]";
      out += k.has_oldest_rebuildable_time()
                 ? "  rebuildable from " + format_time_us(k.oldest_rebuildable_time()).substr(0, 19) + "Z (" +
                       std::to_string(k.checkpoints()) + (k.checkpoints() == 1 ? " checkpoint)" : " checkpoints)")
                 : "  no checkpoint to rebuild from";
      out += "\n";
    }
  }
  return out;
}

struct PipelineSampler::Impl {
  PipelineConfig cfg;
  Sampler sampler{cfg};
  explicit Impl(const PipelineConfig& c) : cfg(c) {}
};
PipelineSampler::PipelineSampler(const PipelineConfig& cfg) : impl_(std::make_unique<Impl>(cfg)) {}
PipelineSampler::~PipelineSampler() = default;
pb::PipelineStatus PipelineSampler::sample() {
  return impl_->sampler.sample();
}

void apply_config(const conf::Config& c, PipelineConfig& p) {
  // As the supervisor's ${KEY:=default}: a key set to nothing takes the default.
  auto fill = [&](std::string& v, const char* key, const std::string& fallback) {
    if (!v.empty()) return;
    std::optional<std::string> got = c.get(key);
    v = got && !got->empty() ? *got : fallback;
  };
  fill(p.pg, "PG_CONNINFO", "");
  fill(p.slot, "SLOT", kDefaultSlot);
  fill(p.publication, "PUBLICATION", kDefaultPublication);
  fill(p.source, "SOURCE", env_or("PGDATABASE", env_or("PG_DATABASE", "postgres")));
  fill(p.topic, "TOPIC", archive::kDefaultTopic);
  fill(p.redis_url, "REDIS_URL", "");
  fill(p.kafka_settings.brokers, "KAFKA_BROKERS", "");
  auto env_set = [](const char* name) {
    const char* v = std::getenv(name);
    return v && *v;
  };
  p.postgres = !p.pg.empty() || env_set("PGDATABASE") || env_set("PGHOST") || env_set("PG_HOST");
  p.redis = !p.redis_url.empty();
  p.kafka = !p.kafka_settings.brokers.empty();
  if (p.groups.empty()) {
    p.groups = {"analytics-group", "backup-group"};
    p.existing_groups_only = true;
  }
}

int pipeline(const PipelineConfig& cfg, int out_fd) {
  if (!cfg.postgres && !cfg.redis && !cfg.kafka)
    throw Error(kExitUsage,
                "nothing to watch: give --dbname, --redis or --brokers (or set PGDATABASE/PGHOST, REDIS_URL, "
                "KAFKA_BROKERS, or name them in shadowstream.conf)");
  Sampler sampler(cfg);
  const bool text = use_bar(cfg.format, out_fd);
  BufferedWriter out(out_fd, 1 << 16);
  for (;;) {
    pb::PipelineStatus s = sampler.sample();
    if (text) {
      out.write(render_pipeline(s));
    } else {
      json::append(s, out.buffer());
      out.buffer().push_back('\n');
    }
    out.flush();
    if (cfg.once || stop_requested()) break;
    if (!sleep_unless_stopped(cfg.interval_us)) break;
  }
  return kExitOk;
}

}  // namespace ss::progress
