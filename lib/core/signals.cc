#include "core/signals.h"

#include <signal.h>

#include <algorithm>
#include <atomic>
#include <chrono>
#include <thread>

namespace ss {
namespace {
std::atomic<bool> g_stop{false};

void on_stop(int) {
  g_stop.store(true);
}
}  // namespace

void install_stop_handlers() {
  struct sigaction sa {};
  sa.sa_handler = on_stop;
  sigemptyset(&sa.sa_mask);
  sa.sa_flags = 0;  // no SA_RESTART: a blocked read must return EINTR so the loop can see the flag
  sigaction(SIGTERM, &sa, nullptr);
  sigaction(SIGINT, &sa, nullptr);
  signal(SIGPIPE, SIG_IGN);
}

bool stop_requested() {
  return g_stop.load(std::memory_order_relaxed);
}
bool sleep_unless_stopped(int64_t us) {
  for (int64_t waited = 0; waited < us && !stop_requested(); waited += 50'000)
    std::this_thread::sleep_for(std::chrono::microseconds(std::min<int64_t>(50'000, us - waited)));
  return !stop_requested();
}

}  // namespace ss
