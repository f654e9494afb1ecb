// Pacing of a replay: when each record may be emitted so that the replay keeps the original timing (divided by a
// speed factor, idle stretches capped) or a fixed record rate, and a pause that shifts the schedule instead of
// being made up afterwards in a burst.
#pragma once

#include <atomic>
#include <cstdint>
#include <optional>

#include "core/position.h"

namespace ss::pacing {

struct Config {
  double speed = 0;        // 10 = ten times faster than the original; 0 = as fast as possible
  double rate = 0;         // records per second; overrides speed when > 0
  int64_t max_gap_us = 0;  // original gaps longer than this count as this long (0 = no cap)
  bool paced() const { return speed > 0 || rate > 0; }
};

// The ideal schedule, free of clocks so that it can be tested exactly: offsets from the replay's start.
class Schedule {
 public:
  explicit Schedule(const Config& cfg) : cfg_(cfg) {}
  // Offset in µs at which a record may be emitted; nullopt when unpaced. Call once per record, in stream order;
  // `starts_tx` marks the first record of a transaction, the unit whose original gaps speed pacing keeps.
  std::optional<int64_t> due_us(int64_t commit_time_us, bool starts_tx);

 private:
  Config cfg_;
  bool started_ = false;
  int64_t prev_commit_ = 0;
  int64_t source_elapsed_ = 0;  // original time elapsed, gaps capped, summed in integers so nothing drifts
  int64_t current_due_ = 0;
  uint64_t records_ = 0;
};

// Pause state shared between whoever pauses (a signal handler, a gRPC call) and the replay loop. Lock-free so
// that pause()/resume() are async-signal-safe.
class PauseGate {
 public:
  void pause();
  void resume();
  bool paused() const { return paused_.load(); }
  // Total time spent paused, the current pause included: the schedule moves on by this much.
  int64_t paused_total_us() const;

 private:
  std::atomic<bool> paused_{false};
  std::atomic<int64_t> pause_start_{0};
  std::atomic<int64_t> paused_total_{0};
};

using ss::mono_us;  // the pacer's deadlines are CLOCK_MONOTONIC (clock_nanosleep)

// Sleeps the replay loop until records are due, without spinning: absolute-deadline sleeps in slices short enough
// to notice a stop, cancel or pause promptly.
class Pacer {
 public:
  Pacer(const Config& cfg, const PauseGate* gate) : schedule_(cfg), gate_(gate), paced_(cfg.paced()) {}
  // Blocks until the record is due (and while paused). `before_sleep` runs once before the first actual wait, so
  // a stdout sink can flush what is due before falling asleep; `each_nap(left_us)` before every slice of the wait
  // (left_us: how long until the record is due, -1 while paused), so progress can move while nothing is due.
  // Returns false when `should_stop` became true.
  template <class StopFn, class SleepFn, class NapFn>
  bool wait(int64_t commit_time_us, bool starts_tx, StopFn should_stop, SleepFn before_sleep, NapFn each_nap);
  // How far behind its schedule the replay is, µs (0 when on time or unpaced).
  int64_t lag_us() const { return lag_; }

 private:
  bool sleep_until(int64_t deadline_mono_us);

  Schedule schedule_;
  const PauseGate* gate_;
  bool paced_;
  std::optional<int64_t> start_;
  int64_t lag_ = 0;
};

// Longest single sleep, so that stop/pause requests are seen within this time.
inline constexpr int64_t kSleepSliceUs = 50'000;

template <class StopFn, class SleepFn, class NapFn>
bool Pacer::wait(int64_t commit_time_us, bool starts_tx, StopFn should_stop, SleepFn before_sleep, NapFn each_nap) {
  bool slept = false;
  auto nap = [&](int64_t until, int64_t left_us) {
    if (!slept) {
      before_sleep();
      slept = true;
    }
    each_nap(left_us);
    sleep_until(until);
  };
  while (gate_ && gate_->paused()) {
    if (should_stop()) return false;
    nap(mono_us() + kSleepSliceUs, -1);
  }
  if (!paced_) return !should_stop();
  auto due = schedule_.due_us(commit_time_us, starts_tx);
  if (!start_) start_ = mono_us();
  for (;;) {
    if (should_stop()) return false;
    if (gate_ && gate_->paused()) {
      nap(mono_us() + kSleepSliceUs, -1);
      continue;
    }
    int64_t deadline = *start_ + *due + (gate_ ? gate_->paused_total_us() : 0);
    int64_t now = mono_us();
    if (now >= deadline) {
      lag_ = now - deadline;
      return true;
    }
    lag_ = 0;
    nap(std::min(deadline, now + kSleepSliceUs), deadline - now);
  }
}

}  // namespace ss::pacing
