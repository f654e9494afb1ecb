#include "core/metrics.h"

#include <gtest/gtest.h>

#include <string>
#include <vector>

namespace ss {
namespace {

// The value of one sample line in Prometheus's text format, or -1.
double sample(const std::string& text, const std::string& name) {
  size_t at = text.find("\n" + name + " ");
  if (at == std::string::npos) return -1;
  return std::stod(text.substr(at + name.size() + 2));
}

TEST(Metrics, BatchLatenciesFallInTheSameBucketsAsSingleOnes) {
  metrics::Stage& m = metrics::stage();
  const std::string before = metrics::text();
  const std::string tool = "{tool=\"" + metrics::tool() + "\"";
  const std::string le = tool + ",le=\"0.01\"}";
  const std::string inf = tool + ",le=\"+Inf\"}";
  const double b01 = sample(before, "shadowstream_commit_to_sink_seconds_bucket" + le);
  const double binf = sample(before, "shadowstream_commit_to_sink_seconds_bucket" + inf);
  const int64_t now = 1'000'000'000'000;
  // 0.01 s exactly is in the le="0.01" bucket (le is <=), 0.0100001 s is not; a time of 0 is not observed.
  m.latencies({now - 10'000, now - 10'001, now - 5'000'000, 0}, now);
  m.latency(now - 10'000, now);
  const std::string after = metrics::text();
  EXPECT_EQ(sample(after, "shadowstream_commit_to_sink_seconds_bucket" + le) - b01, 2);
  EXPECT_EQ(sample(after, "shadowstream_commit_to_sink_seconds_bucket" + inf) - binf, 4);
}

TEST(Metrics, NamesFollowPrometheusConventions) {
  metrics::stage().records_out.Increment(3);
  const std::string text = metrics::text();
  for (const char* name : {"shadowstream_records_in_total", "shadowstream_records_out_total",
                           "shadowstream_bytes_out_total", "shadowstream_retries_total", "shadowstream_errors_total",
                           "shadowstream_last_commit_timestamp_seconds", "shadowstream_slot_lag_bytes",
                           "shadowstream_commit_to_sink_seconds_bucket", "shadowstream_process_start_time_seconds"})
    EXPECT_NE(text.find(std::string("\n") + name + "{"), std::string::npos) << name;
  EXPECT_NE(text.find("# TYPE shadowstream_records_out_total counter"), std::string::npos);
  EXPECT_NE(text.find("# TYPE shadowstream_commit_to_sink_seconds histogram"), std::string::npos);
}

}  // namespace
}  // namespace ss
