#include "core/retry.h"

#include <algorithm>

#include "core/position.h"
#include "core/signals.h"

namespace ss {

Backoff::Backoff(int64_t max_us, int64_t first_us)
    : first_us_(first_us), max_us_(std::max(max_us, first_us)), delay_us_(first_us) {}

std::string Backoff::delay_text() const {
  if (delay_us_ < 1'000'000 || delay_us_ % 1'000 != 0) return std::to_string(delay_us_ / 1'000) + "ms";
  if (delay_us_ % 1'000'000 == 0) return std::to_string(delay_us_ / 1'000'000) + "s";
  return std::to_string(delay_us_ / 1'000'000) + "." + std::to_string(delay_us_ % 1'000'000 / 100'000) + "s";
}

bool Backoff::wait(int64_t deadline_us) {
  int64_t us = delay_us_;
  if (deadline_us) us = std::clamp<int64_t>(deadline_us - now_us(), 0, us);
  delay_us_ = std::min(delay_us_ * 2, max_us_);
  return sleep_unless_stopped(us);
}

}  // namespace ss
