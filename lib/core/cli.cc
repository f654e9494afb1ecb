#include "core/cli.h"

#include <cstdlib>
#include <new>
#include <optional>

#include "core/error.h"
#include "core/log.h"
#include "core/position.h"
#include "core/signals.h"

namespace ss {

int run_main(CLI::App& app, int argc, char** argv, const std::function<int()>& body) {
  log::set_tool(app.get_name());
  install_stop_handlers();
  try {
    app.parse(argc, argv);
  } catch (const CLI::CallForHelp& e) {
    return app.exit(e);
  } catch (const CLI::CallForAllHelp& e) {
    return app.exit(e);
  } catch (const CLI::CallForVersion& e) {
    return app.exit(e);
  } catch (const CLI::ParseError& e) {
    log::warn(std::string(e.what()) + " (see --help)");
    return kExitUsage;
  }
  try {
    return body();
  } catch (const BrokenPipe&) {
    return kExitOk;
  } catch (const Error& e) {
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
  if (auto v = positive(text)) return *v;
  throw Error(kExitUsage, flag + ": expected a positive factor or 'max', got '" + text + "'");
}

double rate_flag(const std::string& flag, const std::string& text) {
  bool per_second = text.size() > 2 && text.compare(text.size() - 2, 2, "/s") == 0;
  if (auto v = positive(per_second ? text.substr(0, text.size() - 2) : text)) return *v;
  throw Error(kExitUsage, flag + ": expected records per second such as 5000 or 5000/s, got '" + text + "'");
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

int64_t time_flag(const std::string& flag, const std::string& text) {
  auto v = parse_time_us(text);
  if (!v) throw Error(kExitUsage, flag + " takes an RFC 3339 time like 2026-11-20T10:00Z, got \"" + text + "\"");
  return *v;
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
