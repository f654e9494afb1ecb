// The replay dashboard: ss-replay serve's web face. A single page (embedded HTML/CSS/JS, no network fetches) and the
// JSON API it uses, over the same jobs::Manager as the gRPC services. Every API call needs the token: as a bearer
// header, or as the session cookie the login form sets (HttpOnly, SameSite=Strict); state-changing calls made with
// the cookie also need the session's CSRF token in X-CSRF-Token, and a foreign Origin is refused.
#pragma once

#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <string_view>

#include "core/transport.h"
#include "replay/jobs.h"
#include "serve/progress.h"

namespace ss::dashboard {

struct Config {
  std::string listen;        // "HOST:PORT", ":PORT" or "PORT" (loopback); port 0 picks a free one
  std::string token;         // required
  transport::ServerTls tls;  // HTTPS when on
  std::optional<progress::PipelineConfig> pipeline;  // the pipeline panel's stages, when configured
  int64_t history_interval_us = 1'000'000;
};

// An API answer: status and a JSON body.
struct Reply {
  int status = 200;
  std::string body;
};

// The request parser behind POST /api/jobs, exposed for unit tests: a JSON object with ReplayRequest's fields
// (times as RFC 3339, e.g. {"start_time":"2026-11-24T11:00:00Z","speed_factor":10}). Throws Error(64) with a
// one-line reason for anything the manager would refuse too.
shadowstream::v1::ReplayRequest parse_request(std::string_view json);

// {"error":"..."} with the text escaped.
std::string error_json(const std::string& msg);

class Server {
 public:
  Server(jobs::Manager& manager, Config cfg);
  ~Server();  // stops serving
  Server(const Server&) = delete;
  Server& operator=(const Server&) = delete;

  // Binds and serves on a thread. Prints "dashboard on http://HOST:PORT" on stderr once bound. Throws Error(69)
  // when the address cannot be bound.
  void start();
  void stop();

 private:
  struct Impl;
  std::unique_ptr<Impl> impl_;
};

// The page's assets: lib/serve/assets/, embedded by the Makefile (build/gen/dashboard_assets.cc).
extern const std::string_view kIndexHtml;
extern const std::string_view kDashboardJs;
extern const std::string_view kDashboardCss;

}  // namespace ss::dashboard
