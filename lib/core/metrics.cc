#include "core/metrics.h"

#include <fcntl.h>
#include <pthread.h>
#include <signal.h>
#include <unistd.h>

#include <httplib.h>
#include <prometheus/registry.h>
#include <prometheus/text_serializer.h>

#include <algorithm>
#include <atomic>
#include <cerrno>
#include <condition_variable>
#include <cstdio>
#include <cstdlib>
#include <map>
#include <mutex>
#include <thread>
#include <vector>

#include "core/defaults.h"
#include "core/error.h"
#include "core/fd_io.h"
#include "core/log.h"
#include "core/position.h"
#include "core/transport.h"

namespace ss::metrics {
namespace {

std::string& tool_name() {
  static std::string t = "shadowstream";
  return t;
}

// tool, and source when the supervisor names it (SS_METRICS_SOURCE): one host's textfiles for two pipelines must
// not hold the same series.
std::map<std::string, std::string> labels(std::map<std::string, std::string> more = {}) {
  more["tool"] = tool_name();
  if (const char* s = std::getenv("SS_METRICS_SOURCE"); s && *s) more["source"] = s;
  return more;
}

std::shared_ptr<prometheus::Registry> registry_ptr() {
  static auto r = std::make_shared<prometheus::Registry>();
  return r;
}
prometheus::Registry& registry() {
  return *registry_ptr();
}

std::mutex& extra_mu() {
  static std::mutex m;
  return m;
}
std::vector<std::weak_ptr<prometheus::Collectable>>& extras() {
  static std::vector<std::weak_ptr<prometheus::Collectable>> v;
  return v;
}

prometheus::Counter& counter(const std::string& name, const std::string& help) {
  return prometheus::BuildCounter().Name(name).Help(help).Register(registry()).Add(labels());
}
prometheus::Gauge& gauge(const std::string& name, const std::string& help) {
  return prometheus::BuildGauge().Name(name).Help(help).Register(registry()).Add(labels());
}

// Commit-to-sink latencies run from under a millisecond (Redis) to minutes (a stage catching up).
const prometheus::Histogram::BucketBoundaries& latency_buckets() {
  static const prometheus::Histogram::BucketBoundaries b = {0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1,
                                                            0.25,   0.5,   1,      2.5,   5,    10,    30,   60};
  return b;
}

Stage make_stage() {
  prometheus::BuildGauge()
      .Name("shadowstream_build_info")
      .Help("ShadowStream's version, as a label; always 1")
      .Register(registry())
      .Add(labels({{"version", kVersion}}))
      .Set(1);
  // Not process_start_time_seconds: node_exporter, which reads the textfiles, has its own by that name.
  gauge("shadowstream_process_start_time_seconds", "Start time of the process since the Unix epoch, in seconds")
      .Set(static_cast<double>(now_us()) / 1e6);
  return Stage{
      counter("shadowstream_records_in_total", "Records read from upstream"),
      counter("shadowstream_records_out_total", "Records delivered downstream (stored, committed, written, applied)"),
      counter("shadowstream_bytes_in_total", "Serialized record bytes read from upstream"),
      counter("shadowstream_bytes_out_total", "Serialized record bytes delivered downstream"),
      counter("shadowstream_duplicates_total", "Records already held downstream, skipped (resends after a restart)"),
      counter("shadowstream_retries_total", "Operations retried after an outage"),
      counter("shadowstream_errors_total", "Failures met, retried or fatal"),
      gauge("shadowstream_last_commit_lsn", "Commit LSN of the last record delivered"),
      gauge("shadowstream_last_commit_timestamp_seconds",
            "Commit time of the last record delivered, seconds since the Unix epoch"),
      gauge("shadowstream_slot_lag_bytes", "WAL the server has written past what the slot has confirmed, in bytes"),
      prometheus::BuildHistogram()
          .Name("shadowstream_commit_to_sink_seconds")
          .Help("Time from a record's commit on the source to its delivery by this stage, in seconds")
          .Register(registry())
          .Add(labels(), latency_buckets()),
  };
}

// What stages add after the exporter started (ss-replay serve's jobs), collected at each scrape.
class Extras : public prometheus::Collectable {
 public:
  std::vector<prometheus::MetricFamily> Collect() const override {
    std::vector<prometheus::MetricFamily> families;
    std::lock_guard<std::mutex> lock(extra_mu());
    for (auto& w : extras())
      if (auto c = w.lock()) {
        auto more = c->Collect();
        families.insert(families.end(), more.begin(), more.end());
      }
    return families;
  }
};

std::shared_ptr<Extras> extras_collectable() {
  static auto e = std::make_shared<Extras>();
  return e;
}

// source_from_records: whether on, and the source once a record named it.
std::atomic<bool> g_from_records{false}, g_source_known{false};
std::mutex g_source_mu;
std::string g_source;

std::string serialize_all() {
  std::vector<prometheus::MetricFamily> families = registry().Collect();
  auto more = extras_collectable()->Collect();
  families.insert(families.end(), more.begin(), more.end());
  if (g_source_known.load()) {
    std::lock_guard<std::mutex> lock(g_source_mu);
    for (auto& f : families)
      for (auto& m : f.metric)
        if (std::none_of(m.label.begin(), m.label.end(), [](const auto& l) { return l.name == "source"; })) {
          m.label.push_back({"source", g_source});
          std::sort(m.label.begin(), m.label.end(), [](const auto& a, const auto& b) { return a.name < b.name; });
        }
  }
  return prometheus::TextSerializer().Serialize(families);
}

// A path that cannot be written (permissions, no such directory) is a configuration to fix: 78, which a supervisor
// does not restart. A full disk or an I/O error may clear: 74.
Error write_error(const std::string& what) {
  const int e = errno;
  const bool config =
      e == EACCES || e == EPERM || e == ENOENT || e == ENOTDIR || e == EROFS || e == EISDIR || e == ENAMETOOLONG;
  return Error(config ? kExitConfig : kExitIoErr, "--metrics-file: " + what + ": " + errno_text(e));
}

// Writes the text to FILE by rename, so node_exporter never reads half a file. At start a failure ends the stage
// (write_error's code); later, the writer only warns.
void write_file(const std::string& path, const std::string& body) {
  const std::string tmp = path + ".tmp";
  UniqueFd fd(::open(tmp.c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644));
  if (fd.get() < 0) throw write_error("cannot write " + tmp);
  try {
    BufferedWriter out(fd.get());
    out.write(body);
    out.flush();
  } catch (const Error& e) {
    throw Error(e.code(), "--metrics-file: " + tmp + ": " + e.what());
  }
  if (std::rename(tmp.c_str(), path.c_str()) != 0) throw write_error("cannot rename " + tmp);
}

constexpr auto kFileInterval = std::chrono::seconds(5);

}  // namespace

void Stage::delivered(uint64_t commit_lsn, int64_t commit_time_us, size_t bytes, int64_t now) {
  records_out.Increment();
  bytes_out.Increment(static_cast<double>(bytes));
  position(commit_lsn, commit_time_us);
  latency(commit_time_us, now);
}

void Stage::position(uint64_t commit_lsn, int64_t commit_time_us) {
  last_commit_lsn.Set(static_cast<double>(commit_lsn));
  last_commit_time.Set(static_cast<double>(commit_time_us) / 1e6);
}

void Stage::latency(int64_t commit_time_us, int64_t now) {
  // Records replayed from an old archive or pushed without a time would only fill the top bucket.
  if (commit_time_us > 0) commit_to_sink.Observe(static_cast<double>(std::max<int64_t>(0, now - commit_time_us)) / 1e6);
}

void Stage::latencies(const std::vector<int64_t>& commit_times_us, int64_t now) {
  std::vector<double> counts(latency_buckets().size() + 1, 0.0);  // the last is +Inf
  double sum = 0;
  for (int64_t t : commit_times_us) {
    if (t <= 0) continue;
    const double v = static_cast<double>(std::max<int64_t>(0, now - t)) / 1e6;
    counts[std::lower_bound(latency_buckets().begin(), latency_buckets().end(), v) - latency_buckets().begin()] += 1;
    sum += v;
  }
  commit_to_sink.ObserveMultiple(counts, sum);
}

void set_tool(const std::string& tool) {
  tool_name() = tool;
}

const std::string& tool() {
  return tool_name();
}

void source_from_records() {
  const char* s = std::getenv("SS_METRICS_SOURCE");
  g_from_records = !(s && *s);
}

void note_source(std::string_view name) {
  if (!g_from_records.load(std::memory_order_relaxed) || g_source_known.load(std::memory_order_relaxed)) return;
  std::lock_guard<std::mutex> lock(g_source_mu);
  g_source = name.empty() ? std::string(kDefaultSource) : std::string(name);
  g_source_known = true;
}

std::map<std::string, std::string> metric_labels() {
  return labels();
}

Stage& stage() {
  static Stage s = make_stage();
  return s;
}

void retried() {
  stage().errors.Increment();
  stage().retries.Increment();
}

prometheus::Family<prometheus::Gauge>& gauge_family(const std::string& name, const std::string& help) {
  return prometheus::BuildGauge().Name(name).Help(help).Register(registry());
}

void add_collectable(const std::shared_ptr<prometheus::Collectable>& c) {
  std::lock_guard<std::mutex> lock(extra_mu());
  extras().push_back(c);
}

void remove_collectable(const std::shared_ptr<prometheus::Collectable>& c) {
  std::lock_guard<std::mutex> lock(extra_mu());  // waits for a collection in progress
  auto& v = extras();
  v.erase(std::remove_if(v.begin(), v.end(), [&](const auto& w) { return w.expired() || w.lock() == c; }), v.end());
}

std::string text() {
  stage();
  return serialize_all();
}

struct Exporter::Impl {
  Config cfg;
  // /metrics over HTTP: only the registry's series (prometheus-cpp's own Exposer adds exposer_* series of its own).
  std::unique_ptr<httplib::Server> http;
  std::thread server;
  int port = 0;
  std::thread writer;
  std::mutex mu;
  std::condition_variable cv;
  bool stopping = false;
  bool warned = false;

  void write_quietly() {
    try {
      write_file(cfg.file, text());
    } catch (const Error& e) {
      // A full disk must not stop the changes: say so once, count it, keep going.
      stage().errors.Increment();
      if (!warned) log::warn(e.what());
      warned = true;
    }
  }
};

Exporter::Exporter(const Config& cfg) : impl_(std::make_unique<Impl>()) {
  impl_->cfg = cfg;
  stage();
  // The exporter's threads must not take the stop signals: the main thread's blocking reads are what they wake.
  sigset_t stop, old;
  sigemptyset(&stop);
  sigaddset(&stop, SIGTERM);
  sigaddset(&stop, SIGINT);
  sigaddset(&stop, SIGHUP);
  pthread_sigmask(SIG_BLOCK, &stop, &old);
  struct Restore {
    sigset_t* old;
    ~Restore() { pthread_sigmask(SIG_SETMASK, old, nullptr); }
  } restore{&old};
  if (!cfg.listen.empty()) {
    auto [host, port] = transport::parse_listen(cfg.listen, "--metrics");
    if (!transport::is_loopback(host))
      throw Error(kExitUsage, "--metrics " + cfg.listen +
                                  ": /metrics has no token or TLS, so it is served on loopback only; off this "
                                  "machine, use --metrics-file with node_exporter's textfile collector");
    transport::check_port_free("--metrics", cfg.listen);
    auto http = std::make_unique<httplib::Server>();
    // A short read timeout and a small request: a connection that sends nothing must not hold a worker for long,
    // nor a scrape grow without bound.
    http->set_read_timeout(2, 0);
    http->set_payload_max_length(16384);
    http->Get("/metrics", [](const httplib::Request&, httplib::Response& res) {
      res.set_content(text(), "text/plain; version=0.0.4; charset=utf-8");
    });
    const int bound = port == 0 ? http->bind_to_any_port(host) : (http->bind_to_port(host, port) ? port : -1);
    if (bound < 0) throw Error(kExitUnavailable, "cannot listen on " + cfg.listen + " for --metrics");
    impl_->port = bound;
    impl_->http = std::move(http);
    impl_->server = std::thread([h = impl_->http.get()] { h->listen_after_bind(); });
  }
  if (!cfg.file.empty()) {
    write_file(cfg.file, text());  // a bad path fails here, at start, not silently later
    impl_->writer = std::thread([impl = impl_.get()] {
      std::unique_lock<std::mutex> lock(impl->mu);
      while (!impl->cv.wait_for(lock, kFileInterval, [&] { return impl->stopping; })) {
        lock.unlock();
        impl->write_quietly();
        lock.lock();
      }
    });
  }
}

Exporter::~Exporter() {
  if (impl_->http) {
    impl_->http->stop();
    impl_->server.join();
  }
  if (impl_->writer.joinable()) {
    {
      std::lock_guard<std::mutex> lock(impl_->mu);
      impl_->stopping = true;
    }
    impl_->cv.notify_all();
    impl_->writer.join();
    impl_->write_quietly();
  }
}

int Exporter::port() const {
  return impl_->port;
}

}  // namespace ss::metrics
