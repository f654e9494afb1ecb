// ss-frame-latency: reads frames and measures, for each transaction committed in [--from, --until) (µs since the
// epoch, PostgreSQL's commit time), how long after its commit the first of its records arrived here: commit to
// readable, for whatever stage feeds stdin. Ends at the first record committed at or after --until (or at the end of
// input) and prints "transactions p50_ms p99_ms max_ms records_per_s p50_first_half_ms p50_second_half_ms": the two
// halves' medians tell a lag that grows over the window from one that stays flat.
#include <unistd.h>

#include <algorithm>
#include <cstdio>
#include <unordered_set>
#include <vector>

#include "core/cli.h"
#include "core/frames.h"
#include "core/position.h"
#include "shadowstream.pb.h"

namespace {
double percentile_ms(std::vector<int64_t>& v, double q) {
  if (v.empty()) return 0;
  size_t i = std::min(v.size() - 1, static_cast<size_t>(q * static_cast<double>(v.size())));
  std::nth_element(v.begin(), v.begin() + static_cast<std::ptrdiff_t>(i), v.end());
  return static_cast<double>(v[i]) / 1000.0;
}
}  // namespace

int main(int argc, char** argv) {
  CLI::App app{"Commit-to-arrival latency of the transactions committed in a window.", "ss-frame-latency"};
  int64_t from = 0, until = 0;
  app.add_option("--from", from, "Count transactions committed at or after this (µs since the epoch)")->required();
  app.add_option("--until", until, "Stop at the first record committed at or after this")->required();
  return ss::run_main(app, argc, argv, [&] {
    ss::FrameReader in(STDIN_FILENO);
    shadowstream::v1::ChangeRecord rec;
    std::vector<int64_t> lat, first, second;
    std::unordered_set<uint64_t> seen;  // a Kafka group member interleaves partitions, and so transactions
    uint64_t records = 0;
    const int64_t middle = from + (until - from) / 2;
    while (in.next(rec)) {
      const int64_t now = ss::now_us();
      // A group member interleaves partitions: records of the window still come after the first one past it, so
      // the end is a record a second past the window.
      if (rec.commit_time() >= until + 1'000'000) break;
      if (rec.commit_time() < from || rec.commit_time() >= until) continue;
      ++records;
      if (!seen.insert(rec.commit_lsn()).second) continue;
      lat.push_back(now - rec.commit_time());
      (rec.commit_time() < middle ? first : second).push_back(lat.back());
    }
    int64_t max = lat.empty() ? 0 : *std::max_element(lat.begin(), lat.end());
    double p50 = percentile_ms(lat, 0.50), p99 = percentile_ms(lat, 0.99);
    double rate = static_cast<double>(records) * 1e6 / static_cast<double>(until - from);
    std::printf("%zu %.2f %.2f %.2f %.0f %.2f %.2f\n", lat.size(), p50, p99, static_cast<double>(max) / 1000.0, rate,
                percentile_ms(first, 0.5), percentile_ms(second, 0.5));
    return 0;
  });
}
