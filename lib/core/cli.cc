#include "core/cli.h"

#include <algorithm>
#include <cctype>
#include <charconv>
#include <cstdio>
#include <cstdlib>
#include <ctime>
#include <new>
#include <optional>
#include <string_view>
#include <vector>

#include "core/defaults.h"
#include "core/error.h"
#include "core/log.h"
#include "core/metrics.h"
#include "core/position.h"
#include "core/signals.h"

namespace ss {

namespace {
// Edits (insert, delete, replace, or swap two neighbours: "raed" is one from "read") between `a` and `b`.
size_t edit_distance(std::string_view a, std::string_view b) {
  std::vector<std::vector<size_t>> d(a.size() + 1, std::vector<size_t>(b.size() + 1));
  for (size_t i = 0; i <= a.size(); ++i) d[i][0] = i;
  for (size_t j = 0; j <= b.size(); ++j) d[0][j] = j;
  for (size_t i = 1; i <= a.size(); ++i)
    for (size_t j = 1; j <= b.size(); ++j) {
      d[i][j] = std::min({d[i - 1][j] + 1, d[i][j - 1] + 1, d[i - 1][j - 1] + (a[i - 1] == b[j - 1] ? 0 : 1)});
      if (i > 1 && j > 1 && a[i - 1] == b[j - 2] && a[i - 2] == b[j - 1])
        d[i][j] = std::min(d[i][j], d[i - 2][j - 2] + 1);
    }
  return d[a.size()][b.size()];
}

// The closest of `names` to `word` when it is a plausible typo of it (a third of its letters or fewer differ).
std::optional<std::string> closest(std::string_view word, const std::vector<std::string>& names) {
  std::optional<std::string> best;
  // Any one-letter flag is a letter away from every other: a guess there would mislead.
  const size_t dashes = std::min(word.size(), word.find_first_not_of('-'));
  if (word.size() - dashes < 3) return best;
  size_t best_d = std::max<size_t>(1, word.size() / 3) + 1;
  for (const std::string& n : names) {
    size_t d = edit_distance(word, n);
    if (d < best_d) {
      best_d = d;
      best = n;
    }
  }
  return best;
}

// What an unexpected argument most likely was, in a line naming it: a mistyped flag or subcommand, with the
// nearest real one. Empty when nothing on the command line looks like either (CLI11's own message is kept).
std::string unexpected_message(CLI::App& app) {
  CLI::App* at = &app;  // the deepest subcommand the command line entered
  while (!at->get_subcommands().empty()) at = at->get_subcommands().back();
  std::vector<std::string> flags, commands;
  // The flags `at` takes: its own, and its parents' when it lets them through.
  for (CLI::App* a = at; a; a = a->get_parent()) {
    for (const CLI::Option* o : a->get_options()) {
      for (const std::string& l : o->get_lnames()) flags.push_back("--" + l);
      for (const std::string& n : o->get_snames()) flags.push_back("-" + n);
    }
    if (!a->get_fallthrough()) break;
  }
  for (const CLI::App* sub : at->get_subcommands({})) commands.push_back(sub->get_name());
  // A mistyped subcommand may have been taken as a positional value (`ss-progress pipline --once`: a job id), and
  // the error is then about the flags after it: the typo is what to name. Values of named flags are not looked at.
  std::vector<std::string> loose = app.remaining(true);
  for (const CLI::Option* o : at->get_options())
    if (o->get_positional()) loose.insert(loose.begin(), o->results().begin(), o->results().end());
  for (const std::string& arg : loose)
    if (!arg.empty() && arg[0] != '-')
      if (auto near = closest(arg, commands)) return "unknown command " + arg + "; did you mean " + *near + "?";
  for (const std::string& arg : loose) {
    if (arg.size() > 1 && arg[0] == '-') {
      std::string name = arg.substr(0, arg.find('='));
      auto near = closest(name, flags);
      return "unknown flag " + name + (near ? "; did you mean " + *near + "?" : "");
    }
  }
  return "";
}
}  // namespace

int run_main(CLI::App& app, int argc, char** argv, const std::function<int()>& body) {
  log::set_tool(app.get_name());
  install_stop_handlers();
  // -v and --version work after a subcommand too (`ss-archive read -v`, `ss-replay serve --version`), as the man
  // pages list them among the common flags.
  const bool verbose = app.get_option_no_throw("-v") != nullptr, version = app.get_option_no_throw("--version");
  std::function<void(CLI::App&)> spread = [&](CLI::App& a) {
    for (CLI::App* sub : a.get_subcommands({})) {
      if (verbose && !sub->get_option_no_throw("-v")) add_verbose_flag(*sub);
      if (version && !sub->get_option_no_throw("--version"))
        sub->set_version_flag("-V,--version", app.get_name() + " " + std::string(kVersion));
      spread(*sub);
    }
  };
  spread(app);
  try {
    app.parse(argc, argv);
  } catch (const CLI::CallForHelp& e) {
    return app.exit(e);
  } catch (const CLI::CallForAllHelp& e) {
    return app.exit(e);
  } catch (const CLI::CallForVersion& e) {
    return app.exit(e);
  } catch (const CLI::ExtrasError& e) {
    std::string why = unexpected_message(app);
    log::warn((why.empty() ? std::string(e.what()) : why) + " (see --help)");
    return kExitUsage;
  } catch (const CLI::ParseError& e) {
    log::warn(std::string(e.what()) + " (see --help)");
    return kExitUsage;
  }
  // Metrics are labelled by tool and subcommand (ss-buffer-read); the exporter outlives the catch below, so a
  // fatal error is counted in the file's last write.
  std::string label = app.get_name();
  for (CLI::App* sub : app.get_subcommands()) label += "-" + sub->get_name();
  metrics::set_tool(label);
  std::optional<metrics::Exporter> exporter;
  try {
    if (metrics_config().on()) exporter.emplace(metrics_config());
    return body();
  } catch (const BrokenPipe&) {
    return kExitOk;
  } catch (const Error& e) {
    metrics::stage().errors.Increment();
    log::warn(e.what());
    return e.code();
  } catch (const std::bad_alloc&) {
    log::warn("out of memory");
    return kExitSoftware;
  } catch (const std::exception& e) {
    log::warn(std::string("internal error: ") + e.what());
    return kExitSoftware;
  }
}

metrics::Config& metrics_config() {
  static metrics::Config cfg;
  return cfg;
}

void add_metrics_flags(CLI::App& app) {
  app.add_option("--metrics", metrics_config().listen,
                 "Serve Prometheus metrics on http://HOST:PORT/metrics (loopback only)");
  app.add_option("--metrics-file", metrics_config().file,
                 "Write Prometheus metrics to FILE every 5 s and at exit (node_exporter textfile)");
}

void add_verbose_flag(CLI::App& app) {
  app.add_flag_function(
      "-v,--verbose", [](std::int64_t count) { log::set_verbosity(static_cast<int>(count)); },
      "More diagnostics on stderr (repeat for debug)");
}

namespace {
// A number above zero written in full ("1.5", not "1.5x"), or nothing.
std::optional<double> positive(const std::string& text) {
  char* end = nullptr;
  double v = std::strtod(text.c_str(), &end);
  if (text.empty() || *end != '\0' || !(v > 0)) return std::nullopt;
  return v;
}
}  // namespace

double speed_flag(const std::string& flag, const std::string& text) {
  if (text == "max") return 0;
  if (auto v = positive(text); v && *v >= kMinSpeed && *v <= kMaxSpeed) return *v;
  throw Error(kExitUsage, flag + ": expected a factor from 0.000001 to 1000000, or 'max', got '" + text + "'");
}

double rate_flag(const std::string& flag, const std::string& text) {
  bool per_second = text.size() > 2 && text.compare(text.size() - 2, 2, "/s") == 0;
  if (auto v = positive(per_second ? text.substr(0, text.size() - 2) : text); v && *v >= kMinRate && *v <= kMaxRate)
    return *v;
  throw Error(kExitUsage,
              flag + ": expected records per second from 0.001 to 1e9, such as 5000 or 5000/s, got '" + text + "'");
}

std::pair<std::string, std::string> mapping_flag(const std::string& flag, const std::string& text) {
  size_t eq = text.find('=');
  if (eq == std::string::npos || eq == 0 || eq + 1 == text.size())
    throw Error(kExitUsage, flag + ": expected SRC=DST, got '" + text + "'");
  return {text.substr(0, eq), text.substr(eq + 1)};
}

int64_t duration_flag(const std::string& flag, const std::string& text) {
  auto v = parse_duration_us(text);
  if (!v) throw Error(kExitUsage, flag + " takes a duration like 10s, 500ms or 24h, got \"" + text + "\"");
  return *v;
}

uint64_t size_flag(const std::string& flag, const std::string& text) {
  uint64_t n = 0;
  auto [end, ec] = std::from_chars(text.data(), text.data() + text.size(), n);
  std::string unit(end, text.data() + text.size());
  for (char& c : unit) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
  int shift = -1;
  if (unit.empty() || unit == "b") shift = 0;
  if (unit == "kb" || unit == "kib" || unit == "k") shift = 10;
  if (unit == "mb" || unit == "mib" || unit == "m") shift = 20;
  if (unit == "gb" || unit == "gib" || unit == "g") shift = 30;
  if (unit == "tb" || unit == "tib" || unit == "t") shift = 40;
  if (ec != std::errc() || end == text.data() || shift < 0 || (shift && n > (UINT64_MAX >> shift)))
    throw Error(kExitUsage,
                flag + " takes a size like 512MB or 1GB (units of 1024, as PostgreSQL's), got \"" + text + "\"");
  return n << shift;
}

namespace {
// Whether a date-time names its zone (Z, or an offset after the time of day).
bool names_zone(std::string_view t) {
  if (t.size() <= 10) return false;
  return t.back() == 'Z' || t.back() == 'z' || t.find_first_of("+-", 10) != std::string_view::npos;
}

// Broken-down local time -> µs since the epoch (mktime: TZ, daylight saving included).
std::optional<int64_t> from_local(std::tm tm, int64_t frac_us) {
  tm.tm_isdst = -1;
  std::time_t t = std::mktime(&tm);
  if (t == static_cast<std::time_t>(-1)) return std::nullopt;
  int64_t us = static_cast<int64_t>(t) * 1'000'000 + frac_us;
  if (us < kMinTimeUs || us > kMaxTimeUs) return std::nullopt;
  return us;
}

// "H:MM" or "HH:MM", then optionally ":SS": a time of day.
bool parse_clock(std::string_view t, int& h, int& m, int& sec) {
  auto num = [&](size_t& at, size_t min_digits, int& v) {
    size_t start = at;
    v = 0;
    while (at < t.size() && at - start < 2 && std::isdigit(static_cast<unsigned char>(t[at])))
      v = v * 10 + (t[at++] - '0');
    return at - start >= min_digits;
  };
  size_t at = 0;
  sec = 0;
  if (!num(at, 1, h) || at >= t.size() || t[at++] != ':' || !num(at, 2, m)) return false;
  if (at < t.size() && (t[at++] != ':' || !num(at, 2, sec))) return false;
  return at == t.size() && h <= 23 && m <= 59 && sec <= 59;
}

// "today" or "yesterday", optionally followed by a time of day, or a time of day alone (today), in the local zone.
std::optional<int64_t> parse_day_word(std::string_view t) {
  int back = 0, h = 0, m = 0, sec = 0;
  if (t.substr(0, 5) == "today") {
    t.remove_prefix(5);
  } else if (t.substr(0, 9) == "yesterday") {
    back = 1;
    t.remove_prefix(9);
  } else if (!parse_clock(t, h, m, sec)) {
    return std::nullopt;
  } else {
    t = {};
  }
  if (!t.empty() && (t[0] != ' ' || !parse_clock(t.substr(1), h, m, sec))) return std::nullopt;
  std::time_t now = static_cast<std::time_t>(now_us() / 1'000'000);
  std::tm tm{};
  localtime_r(&now, &tm);
  tm.tm_mday -= back;  // mktime carries it into the month before
  tm.tm_hour = h;
  tm.tm_min = m;
  tm.tm_sec = sec;
  return from_local(tm, 0);
}
}  // namespace

int64_t time_flag(const std::string& flag, const std::string& text) {
  std::string_view t = text;
  if (t == "now") return now_us();
  // A duration ago: at most a thousand years (beyond that is a typo, and near int64's end arithmetic breaks).
  if (t.size() > 1 && t[0] == '-')
    if (auto d = parse_duration_us(t.substr(1)); d && *d < 1000LL * 366 * 86400 * 1'000'000) return now_us() - *d;
  if (auto v = parse_day_word(t)) return *v;
  if (auto v = parse_time_us(t)) {
    if (names_zone(t)) return *v;
    // No zone: the local one, as date(1) reads it (with TZ=America/New_York, 21:51 is 21:51 there).
    std::time_t secs = static_cast<std::time_t>(*v / 1'000'000);
    std::tm tm{};
    gmtime_r(&secs, &tm);
    if (auto local = from_local(tm, *v % 1'000'000)) return *local;
  }
  throw Error(kExitUsage, flag + " takes a time like 2026-11-20T10:00Z, 2026-11-20 10:00 (local), now, -1h, 7:23 " +
                              "(today) or 'yesterday 11:00', got \"" + text + "\"");
}

void check_window(const std::optional<int64_t>& since_us, const std::optional<int64_t>& until_us) {
  if (since_us && until_us && *since_us >= *until_us)
    throw Error(kExitUsage, "--since " + format_time_us(*since_us) + " is not before --until " +
                                format_time_us(*until_us) + ": the window is empty");
}

uint64_t lsn_flag(const std::string& flag, const std::string& text) {
  auto v = parse_lsn(text);
  if (!v) throw Error(kExitUsage, flag + " takes an LSN like 0/16B3748, got \"" + text + "\"");
  return *v;
}

Position position_flag(const std::string& flag, const std::string& text) {
  auto v = parse_position(text);
  if (!v) throw Error(kExitUsage, flag + " takes a position like 0/16B3748:3, got \"" + text + "\"");
  return *v;
}

WindowFlags::Window WindowFlags::parse() const {
  Window w;
  if (!since.empty()) w.since_us = time_flag("--since", since);
  if (!until.empty()) w.until_us = time_flag("--until", until);
  check_window(w.since_us, w.until_us);
  if (!from.empty()) w.from = position_flag("--from-position", from);
  if (!to.empty()) w.to = position_flag("--to-position", to);
  return w;
}

void add_window_flags(CLI::App& app, WindowFlags& w, bool positions) {
  app.add_option("--since", w.since,
                 "Records committed at or after TIME (RFC 3339; no zone: local; now, -1h, 'yesterday 11:00')");
  app.add_option("--until", w.until, "Records committed before TIME");
  if (!positions) return;
  app.add_option("--from-position", w.from, "Records at or after POSITION (X/Y or X/Y:N)");
  app.add_option("--to-position", w.to, "Records at or before POSITION");
}

std::string env_or(const char* name, const std::string& fallback) {
  const char* v = std::getenv(name);
  return (v && *v) ? std::string(v) : fallback;
}

void add_server_tls_flags(CLI::App& app, transport::ServerTls& tls, bool& insecure) {
  app.add_option("--tls-cert", tls.cert, "Serve over TLS with this certificate chain (PEM)");
  app.add_option("--tls-key", tls.key, "The certificate's private key (PEM)");
  app.add_option("--tls-ca", tls.client_ca, "Require client certificates signed by this CA (PEM)");
  app.add_flag("--insecure", insecure, "Allow listening off loopback without a token and TLS");
}

void add_client_tls_flags(CLI::App& app, transport::ClientTls& tls) {
  app.add_option("--tls-ca", tls.ca, "Connect over TLS, trusting this CA for the server's certificate (PEM)");
  app.add_option("--tls-cert", tls.cert, "Client certificate for servers that require one (PEM)");
  app.add_option("--tls-key", tls.key, "The client certificate's private key (PEM)");
}

}  // namespace ss
