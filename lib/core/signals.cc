#include "core/signals.h"

#include <signal.h>

#include <atomic>

namespace ss {
namespace {
std::atomic<bool> g_stop{false};
std::atomic<int> g_signal{0};

void on_stop(int sig) {
  g_signal.store(sig);
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
void request_stop() {
  g_stop.store(true);
}
int stop_signal() {
  return g_signal.load();
}

}  // namespace ss
