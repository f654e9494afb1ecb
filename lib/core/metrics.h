// Prometheus metrics of a long-running stage. Every stage always counts (an atomic add per batch or record); the
// figures leave the process only when asked: --metrics ADDR serves /metrics over HTTP (loopback only: the endpoint
// has no token or TLS), --metrics-file FILE rewrites a node_exporter textfile (atomically, by rename) every few
// seconds and at exit. Names follow Prometheus's conventions: shadowstream_<what>_<unit>[_total], label tool.
#pragma once

#include <prometheus/collectable.h>
#include <prometheus/counter.h>
#include <prometheus/gauge.h>
#include <prometheus/histogram.h>

#include <cstdint>
#include <map>
#include <memory>
#include <string>
#include <string_view>
#include <vector>

namespace ss::metrics {

struct Config {
  std::string listen;  // --metrics HOST:PORT
  std::string file;    // --metrics-file
  bool on() const { return !listen.empty() || !file.empty(); }
};

// This process's figures, labelled tool=<the tool, with its subcommand: ss-buffer-read>.
struct Stage {
  prometheus::Counter& records_in;        // records read from upstream
  prometheus::Counter& records_out;       // records delivered downstream (stored, committed, written, applied)
  prometheus::Counter& bytes_in;          // serialized record bytes read
  prometheus::Counter& bytes_out;         // serialized record bytes delivered
  prometheus::Counter& duplicates;        // records already held downstream, skipped (resends after a restart)
  prometheus::Counter& retries;           // operations retried after an outage
  prometheus::Counter& errors;            // failures met, retried or fatal
  prometheus::Gauge& last_commit_lsn;     // commit LSN of the last record delivered
  prometheus::Gauge& last_commit_time;    // its commit time, s since the epoch: time() - this is the stage's lag
  prometheus::Gauge& slot_lag_bytes;      // ss-capture: server WAL end - position confirmed to the slot
  prometheus::Histogram& commit_to_sink;  // commit on the source -> delivered by this stage, seconds

  // A record delivered: counts it, moves the last position, observes its latency.
  void delivered(uint64_t commit_lsn, int64_t commit_time_us, size_t bytes, int64_t now_us);
  // The parts of that, for stages that deliver in batches.
  void position(uint64_t commit_lsn, int64_t commit_time_us);
  void latency(int64_t commit_time_us, int64_t now_us);
  // Many at once: one lock of the histogram instead of one per record.
  void latencies(const std::vector<int64_t>& commit_times_us, int64_t now_us);
};

// The stage's metrics, created at first use.
Stage& stage();

// An outage met and about to be retried: counts an error and a retry.
void retried();

// A gauge family for figures a stage computes when scraped (ss-replay serve: jobs by state).
prometheus::Family<prometheus::Gauge>& gauge_family(const std::string& name, const std::string& help);

// Something to collect at each scrape or file write besides the registry (kept alive by the caller), and its
// removal, which waits for a collection in progress: call it before what the collectable reads goes away.
void add_collectable(const std::shared_ptr<prometheus::Collectable>& c);
void remove_collectable(const std::shared_ptr<prometheus::Collectable>& c);

// The label every metric of this process carries; set before the first use of stage().
void set_tool(const std::string& tool);
const std::string& tool();
// The labels every metric of this process carries (tool, and source under the supervisor).
std::map<std::string, std::string> metric_labels();
// A tool run by hand serves one source, which its records name: without SS_METRICS_SOURCE, the first record's
// source (note_source) labels every metric from then on. Off by default (a replay server serves many sources).
void source_from_records();
void note_source(std::string_view name);

// Exports per `cfg` while it lives; destroyed, it writes the file a last time. Error(64) for an address off
// loopback, 78 for a file that cannot be written (74 for a full disk or an I/O error), 69 for a port in use.
class Exporter {
 public:
  explicit Exporter(const Config& cfg);
  ~Exporter();
  Exporter(const Exporter&) = delete;
  Exporter& operator=(const Exporter&) = delete;
  int port() const;  // the port /metrics is served on (0 without --metrics)

 private:
  struct Impl;
  std::unique_ptr<Impl> impl_;
};

// The registry as Prometheus's text format (for tests and the file).
std::string text();

}  // namespace ss::metrics
