#include "replay/pacing.h"

#include <time.h>

#include <cerrno>
#include <cstdint>

namespace ss::pacing {

namespace {
// A due time in µs, saturated: a double past int64 converts to undefined behaviour, not to "much later".
int64_t saturated_us(double us) {
  return us >= 9.2e18 ? INT64_MAX : static_cast<int64_t>(us);
}
}  // namespace

std::optional<int64_t> Schedule::due_us(int64_t commit_time_us, bool starts_tx) {
  if (cfg_.rate > 0) {
    // Record n is due at n/rate seconds; computed from the count, not accumulated, so rounding never drifts.
    return saturated_us(static_cast<double>(records_++) * 1e6 / cfg_.rate);
  }
  if (cfg_.speed <= 0) return std::nullopt;
  if (!started_) {
    started_ = true;
    prev_commit_ = commit_time_us;
  } else if (starts_tx) {
    int64_t gap = commit_time_us - prev_commit_;
    // Commit times can step backwards (clock adjustments on the source); order comes from positions, so such a
    // transaction simply follows at once.
    if (gap < 0) gap = 0;
    if (cfg_.max_gap_us > 0 && gap > cfg_.max_gap_us) gap = cfg_.max_gap_us;
    source_elapsed_ += gap;
    prev_commit_ = commit_time_us;
    current_due_ = saturated_us(static_cast<double>(source_elapsed_) / cfg_.speed);
  }
  return current_due_;
}

void PauseGate::pause() {
  if (!paused_.load()) {
    pause_start_.store(mono_us());
    paused_.store(true);
  }
}

void PauseGate::resume() {
  if (paused_.exchange(false)) paused_total_.fetch_add(mono_us() - pause_start_.load());
}

int64_t PauseGate::paused_total_us() const {
  int64_t total = paused_total_.load();
  if (paused_.load()) total += mono_us() - pause_start_.load();
  return total;
}

bool Pacer::sleep_until(int64_t deadline_mono_us) {
  timespec ts{};
  ts.tv_sec = deadline_mono_us / 1'000'000;
  ts.tv_nsec = (deadline_mono_us % 1'000'000) * 1000;
  // EINTR (a stop or pause signal) just returns early; the caller re-evaluates.
  return clock_nanosleep(CLOCK_MONOTONIC, TIMER_ABSTIME, &ts, nullptr) == 0;
}

}  // namespace ss::pacing
