// What every tool's main() shares: CLI11 parsing mapped to sysexits, and the single place where ss::Error
// becomes a one-line message and an exit code.
#pragma once

#include <CLI/CLI.hpp>
#include <cstdint>
#include <functional>
#include <optional>

#include <string>
#include <utility>

#include "core/metrics.h"
#include "core/position.h"
#include "core/transport.h"

namespace ss {

// Parses argv with `app` (help/version print and return 0; a usage error prints one line and returns 64), then runs
// `body` and maps what it throws: ss::Error -> "tool: message" + its code, BrokenPipe -> quiet 0, anything else ->
// "tool: internal error: ..." + 70. Installs the stop handlers first.
int run_main(CLI::App& app, int argc, char** argv, const std::function<int()>& body);

// The --metrics flags' values (set by parsing; tests may set them).
metrics::Config& metrics_config();

// Adds --metrics ADDR and --metrics-file FILE (see core/metrics.h); run_main exports while the body runs.
void add_metrics_flags(CLI::App& app);

// Adds -v/--verbose (repeatable) wired to ss::log.
void add_verbose_flag(CLI::App& app);

// Flag values in the forms every tool accepts; a malformed one is a usage error (64) naming the flag.
int64_t duration_flag(const std::string& flag, const std::string& text);  // 10s, 500ms, 24h -> µs
uint64_t size_flag(const std::string& flag, const std::string& text);     // 512MB, 1GB (x1024), 4096 -> bytes
// RFC 3339 (a time without a zone is local time, as date(1) reads it), "now", "-1h" (a duration ago), "today" or
// "yesterday" with an optional HH:MM[:SS] -> µs since the epoch.
int64_t time_flag(const std::string& flag, const std::string& text);
// --since at or after --until is a usage error (64), not an empty result.
void check_window(const std::optional<int64_t>& since_us, const std::optional<int64_t>& until_us);
uint64_t lsn_flag(const std::string& flag, const std::string& text);  // X/Y

// The paces a replay takes: beyond them a schedule's times overflow int64 microseconds (1e-300x) or mean nothing a
// clock can keep (1e9x). Flags and requests alike are checked against them.
inline constexpr double kMinSpeed = 1e-6, kMaxSpeed = 1e6, kMinRate = 1e-3, kMaxRate = 1e9;

Position position_flag(const std::string& flag, const std::string& text);  // X/Y or X/Y:N

// The window of history a tool reads: --since/--until (commit times) and, where the tool takes them,
// --from-position/--to-position. One definition, so that every tool spells, explains and parses them alike.
struct WindowFlags {
  std::string since, until, from, to;
  struct Window {
    std::optional<int64_t> since_us, until_us;
    std::optional<Position> from, to;
  };
  // The flags parsed; a malformed value or an empty time window is a usage error (64) naming the flag.
  Window parse() const;
};
void add_window_flags(CLI::App& app, WindowFlags& w, bool positions);
double speed_flag(const std::string& flag, const std::string& text);  // a factor > 0, or "max" -> 0
double rate_flag(const std::string& flag, const std::string& text);   // records per second: 5000 or 5000/s
std::pair<std::string, std::string> mapping_flag(const std::string& flag, const std::string& text);  // SRC=DST

// A server's --tls-cert/--tls-key/--tls-ca and --insecure; a client's --tls-ca/--tls-cert/--tls-key.
void add_server_tls_flags(CLI::App& app, transport::ServerTls& tls, bool& insecure);
void add_client_tls_flags(CLI::App& app, transport::ClientTls& tls);

// Value of an environment variable, or `fallback` when unset or empty.
std::string env_or(const char* name, const std::string& fallback);

}  // namespace ss
