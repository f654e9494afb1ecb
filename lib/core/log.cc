#include "core/log.h"

#include <unistd.h>

#include <mutex>

#include "core/error.h"

namespace ss::log {
namespace {
std::string g_tool = "shadowstream";
int g_verbosity = 0;
std::mutex g_mu;

void emit(std::string_view msg) {
  // One write(2) per line so that lines from concurrent stages sharing a terminal never interleave mid-line.
  std::string clean = redact_secrets(std::string(msg));
  std::string line;
  {
    std::lock_guard<std::mutex> lock(g_mu);
    line.reserve(g_tool.size() + clean.size() + 3);
    line.append(g_tool).append(": ").append(clean).push_back('\n');
  }
  ssize_t ignored = ::write(STDERR_FILENO, line.data(), line.size());
  (void)ignored;
}
}  // namespace

void set_tool(std::string_view name) {
  std::lock_guard<std::mutex> lock(g_mu);
  g_tool = name;
}
void set_verbosity(int level) {
  g_verbosity = level;
}
void warn(std::string_view msg) {
  emit(msg);
}
void info(std::string_view msg) {
  if (g_verbosity >= 1) emit(msg);
}
void debug(std::string_view msg) {
  if (g_verbosity >= 2) emit(msg);
}

}  // namespace ss::log
