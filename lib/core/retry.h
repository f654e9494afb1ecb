// Capped exponential backoff: the one way a loop waits for a service to come back (a lost connection, a transaction
// to write again) or for a cluster to settle (a leader moving, a topic just created). Every wait ends early on a stop
// request, so SIGTERM is heard within a moment whatever a tool is waiting for.
#pragma once

#include <cstdint>
#include <string>

namespace ss {

// The first wait after an outage is met, doubled at each failure up to a stage's cap (kMaxRetryUs by default).
inline constexpr int64_t kFirstRetryUs = 200'000;
inline constexpr int64_t kMaxRetryUs = 30'000'000;
// Polls for a cluster to settle: short, doubled up to kMaxSettleUs, within a caller's deadline.
inline constexpr int64_t kFirstSettleUs = 50'000;
inline constexpr int64_t kMaxSettleUs = 1'000'000;

class Backoff {
 public:
  explicit Backoff(int64_t max_us, int64_t first_us = kFirstRetryUs);
  // What the next wait() sleeps, as the log line announcing it says it: "200ms", "2s", "1.5s".
  int64_t delay_us() const { return delay_us_; }
  std::string delay_text() const;
  // Sleeps the delay, never past `deadline_us` (µs since the epoch; 0: none), then doubles it up to the cap. False
  // only when a stop request cut the sleep short.
  bool wait(int64_t deadline_us = 0);
  // A success: the next outage starts from the first delay again.
  void reset() { delay_us_ = first_us_; }

 private:
  int64_t first_us_, max_us_, delay_us_;
};

}  // namespace ss
