// The commit-to-arrival figures of the transactions committed in a window, for the latency helpers (ss-frame-latency
// reads frames, ss-kafka-latency Kafka messages of either side of a comparison): each transaction counts once, at
// the first of its records to arrive.
#pragma once

#include <algorithm>
#include <cstddef>
#include <cstdint>
#include <cstdio>
#include <unordered_set>
#include <vector>

namespace ss::bench {

class LatencyWindow {
 public:
  LatencyWindow(int64_t from_us, int64_t until_us) : from_(from_us), until_(until_us) {}

  // A record of transaction `tx` committed at `commit_us` arrived at `now_us`. False once records come from a second
  // past the window: a reader of several partitions gets records of the window after the first one past it.
  bool add(uint64_t tx, int64_t commit_us, int64_t now_us) {
    if (commit_us >= until_ + 1'000'000) return false;
    if (commit_us < from_ || commit_us >= until_) return true;
    ++records_;
    if (!seen_.insert(tx).second) return true;
    lat_.push_back(now_us - commit_us);
    (commit_us < from_ + (until_ - from_) / 2 ? first_ : second_).push_back(lat_.back());
    return true;
  }

  // "transactions p50_ms p99_ms max_ms records_per_s p50_first_half_ms p50_second_half_ms": the two halves' medians
  // tell a lag that grows over the window from one that stays flat.
  void print() {
    const int64_t max = lat_.empty() ? 0 : *std::max_element(lat_.begin(), lat_.end());
    const double rate = static_cast<double>(records_) * 1e6 / static_cast<double>(until_ - from_);
    std::printf("%zu %.2f %.2f %.2f %.0f %.2f %.2f\n", lat_.size(), percentile_ms(lat_, 0.50),
                percentile_ms(lat_, 0.99), static_cast<double>(max) / 1000.0, rate, percentile_ms(first_, 0.5),
                percentile_ms(second_, 0.5));
  }

 private:
  static double percentile_ms(std::vector<int64_t>& v, double q) {
    if (v.empty()) return 0;
    const size_t i = std::min(v.size() - 1, static_cast<size_t>(q * static_cast<double>(v.size())));
    std::nth_element(v.begin(), v.begin() + static_cast<std::ptrdiff_t>(i), v.end());
    return static_cast<double>(v[i]) / 1000.0;
  }

  int64_t from_, until_;
  uint64_t records_ = 0;
  std::unordered_set<uint64_t> seen_;
  std::vector<int64_t> lat_, first_, second_;
};

}  // namespace ss::bench
