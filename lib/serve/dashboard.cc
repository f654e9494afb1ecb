#include "serve/dashboard.h"

#include <httplib.h>

#include <strings.h>

#include <algorithm>
#include <condition_variable>
#include <cstdio>
#include <deque>
#include <map>
#include <mutex>
#include <random>
#include <thread>
#include <vector>

#include "core/error.h"
#include "core/json.h"
#include "core/log.h"
#include "core/position.h"
#include "core/transport.h"
#include "serve/http_guard.h"

namespace ss::dashboard {

namespace pb = shadowstream::v1;
using transport::same_secret;

constexpr uint64_t kMaxBody = 1 << 20;

std::string error_json(const std::string& text) {
  const std::string msg = redact_secrets(text);  // no API answer ever carries a password
  std::string out = "{\"error\":\"";
  for (unsigned char c : msg) {
    if (c == '"' || c == '\\') {
      out += '\\';
      out += static_cast<char>(c);
    } else if (c < 0x20) {
      char buf[8];
      std::snprintf(buf, sizeof buf, "\\u%04x", c);
      out += buf;
    } else {
      out += static_cast<char>(c);
    }
  }
  return out + "\"}";
}

pb::ReplayRequest parse_request(std::string_view json) {
  pb::ReplayRequest req;
  try {
    json::Parser parser;
    parser.parse(json, req, "request");
  } catch (const Error& e) {
    throw Error(kExitUsage, e.what());
  }
  jobs::validate(req);
  return req;
}

namespace {

std::string random_hex(size_t bytes) {
  std::random_device rd;  // the kernel's CSPRNG on Linux
  std::string out;
  static const char* digits = "0123456789abcdef";
  for (size_t i = 0; i < bytes; ++i) {
    unsigned v = rd() & 0xff;
    out += digits[v >> 4];
    out += digits[v & 15];
  }
  return out;
}

std::string job_json(const pb::ReplayJob& j) {
  std::string out;
  json::append(j, out);
  return out;
}

// A job's progress over time, for the detail view: (time, records done, rate) every history interval while it
// changes.
struct Point {
  int64_t t;
  uint64_t done;
  double rate;
};

constexpr size_t kHistoryPoints = 3600;
constexpr int64_t kSessionIdleUs = 12LL * 3600 * 1'000'000;  // a working day without a request signs out
constexpr size_t kMaxSessions = 1000;                        // the oldest goes when a new one would exceed it

}  // namespace

// A request body in a type the API does not take (415).
class Unsupported : public Error {
 public:
  explicit Unsupported(const std::string& msg) : Error(kExitUsage, msg) {}
};

struct Server::Impl {
  jobs::Manager& jobs;
  Config cfg;
  http_guard::Guard guard{http_guard::Limits{.body_bytes = kMaxBody}};  // outlives http's listener
  std::unique_ptr<httplib::Server> http;                                // an SSLServer with --tls-cert
  std::thread serving, sampling;
  std::mutex mu;  // guards everything below
  struct Session {
    std::string csrf;
    int64_t used_us;
  };
  std::map<std::string, Session> sessions;  // by session id
  std::map<std::string, std::deque<Point>> history;
  std::unique_ptr<progress::PipelineSampler> sampler;  // used by the background thread only
  std::mutex pipeline_mu;                              // guards pipeline_cache
  std::string pipeline_cache;
  bool stopping = false;
  std::condition_variable wake;

  Impl(jobs::Manager& m, Config c) : jobs(m), cfg(std::move(c)) {
    if (cfg.pipeline) sampler = std::make_unique<progress::PipelineSampler>(*cfg.pipeline);
    if (cfg.tls.on()) {
      auto tls = std::make_unique<httplib::SSLServer>(cfg.tls.cert.c_str(), cfg.tls.key.c_str(),
                                                      cfg.tls.client_ca.empty() ? nullptr : cfg.tls.client_ca.c_str());
      if (!tls->is_valid()) throw Error(kExitConfig, "cannot use TLS certificate " + cfg.tls.cert + " and its key");
      SSL_CTX_set_min_proto_version(tls->ssl_context(), TLS1_2_VERSION);
      http = std::move(tls);
    } else {
      http = std::make_unique<httplib::Server>();
    }
    guard.attach(*http, !cfg.tls.on());
  }

  std::string scheme() const { return cfg.tls.on() ? "https" : "http"; }

  // "" when authenticated by the bearer header, the session's CSRF token when by cookie; nullopt when neither.
  std::optional<std::string> who(const httplib::Request& req) {
    std::string auth = req.get_header_value("Authorization");
    if (auth.size() > 7 && strncasecmp(auth.c_str(), "Bearer ", 7) == 0 && same_secret(auth.substr(7), cfg.token))
      return std::string();
    std::string sid = cookie(req, "ss_session");
    if (sid.empty()) return std::nullopt;
    std::lock_guard<std::mutex> lk(mu);
    auto it = sessions.find(sid);
    if (it == sessions.end()) return std::nullopt;
    if (now_us() - it->second.used_us > kSessionIdleUs) {
      sessions.erase(it);
      return std::nullopt;
    }
    it->second.used_us = now_us();
    return it->second.csrf;
  }

  static std::string cookie(const httplib::Request& req, const std::string& name) {
    std::string all = req.get_header_value("Cookie");
    size_t at = 0;
    while (at < all.size()) {
      size_t end = all.find(';', at);
      if (end == std::string::npos) end = all.size();
      std::string part = all.substr(at, end - at);
      size_t b = part.find_first_not_of(' ');
      if (b != std::string::npos && part.compare(b, name.size() + 1, name + "=") == 0)
        return part.substr(b + name.size() + 1);
      at = end + 1;
    }
    return "";
  }

  // A browser sends Origin on cross-site requests; ours must name this very host.
  bool same_origin(const httplib::Request& req) const {
    if (!req.has_header("Origin")) return true;
    return req.get_header_value("Origin") == scheme() + "://" + req.get_header_value("Host");
  }

  static void send(httplib::Response& res, const Reply& r) {
    res.status = r.status;
    res.set_content(r.body, "application/json");
  }

  // Fills `res` and returns true for a body this server will not read: without exactly one Content-Length
  // (chunked), or over kMaxBody.
  static bool refuse_body(const httplib::Request& req, httplib::Response& res) {
    const std::string& m = req.method;
    if (m == "GET" || m == "HEAD" || m == "OPTIONS") return false;
    if (req.has_header("Transfer-Encoding") || req.get_header_value_count("Content-Length") != 1) {
      send(res, {411, error_json("send the body with one Content-Length header (chunked bodies are refused)")});
      return true;
    }
    if (req.get_header_value<uint64_t>("Content-Length") > kMaxBody) {
      send(res, {413, error_json("request body over " + std::to_string(kMaxBody) + " bytes")});
      return true;
    }
    return false;
  }

  // Runs an API handler after authentication (and, for changes made with the cookie, the CSRF check).
  template <typename Fn>
  void api(const httplib::Request& req, httplib::Response& res, bool changes, Fn fn) {
    std::optional<std::string> csrf = who(req);
    if (!csrf) {
      res.set_header("WWW-Authenticate", "Bearer");
      return send(res, {401, error_json("sign in, or send Authorization: Bearer <token>")});
    }
    if (changes && (!same_origin(req) || (!csrf->empty() && !same_secret(req.get_header_value("X-CSRF-Token"), *csrf))))
      return send(res,
                  {403, error_json("cross-site request refused (missing or wrong X-CSRF-Token, or foreign Origin)")});
    try {
      send(res, fn(*csrf));
    } catch (const Unsupported& e) {
      send(res, {415, error_json(e.what())});
    } catch (const jobs::NotFound& e) {
      send(res, {404, error_json(e.what())});
    } catch (const jobs::Refused& e) {
      send(res, {409, error_json(e.what())});
    } catch (const jobs::Busy& e) {
      res.set_header("Retry-After", "10");
      send(res, {429, error_json(e.what())});
    } catch (const Error& e) {
      int status = e.code() == kExitUsage || e.code() == kExitDataErr ? 400 : e.code() == kExitUnavailable ? 503 : 500;
      send(res, {status, error_json(e.what())});
    } catch (const std::exception& e) {
      send(res, {500, error_json(e.what())});
    }
  }

  Reply job_detail(const std::string& id) {
    pb::ReplayJob j = jobs.get(id);
    std::string out = "{\"job\":" + job_json(j) + ",\"history\":[";
    std::lock_guard<std::mutex> lk(mu);
    // The sampler runs once a second; the job's current progress ends the history whatever its timing.
    std::vector<Point> points(history[id].begin(), history[id].end());
    if (points.empty() || points.back().done != j.progress().records_done())
      points.push_back({now_us(), j.progress().records_done(), j.progress().rate()});
    bool first = true;
    for (const Point& p : points) {
      char buf[96];
      std::snprintf(buf, sizeof buf, "%s[%lld,%llu,%.1f]", first ? "" : ",", static_cast<long long>(p.t / 1000),
                    static_cast<unsigned long long>(p.done), p.rate);
      out += buf;
      first = false;
    }
    return {200, out + "]}"};
  }

  // The latest sample, taken by the background thread: a slow or hung stage must not hold up requests.
  Reply pipeline() {
    std::lock_guard<std::mutex> lk(pipeline_mu);
    return {200, pipeline_cache.empty() ? "{}" : pipeline_cache};
  }

  void sample_pipeline() {
    if (!sampler) return;
    std::string fresh;
    json::append(sampler->sample(), fresh);
    std::lock_guard<std::mutex> lk(pipeline_mu);
    pipeline_cache = std::move(fresh);
  }

  void sample_history() {
    std::unique_lock<std::mutex> lk(mu);
    while (!stopping) {
      lk.unlock();
      try {
        sample_pipeline();
      } catch (const std::exception& e) {
        log::warn(std::string("dashboard: sampling the pipeline: ") + e.what());
      }
      std::vector<pb::ReplayJob> all;
      try {
        all = jobs.list();
      } catch (const std::exception& e) {
        log::warn(std::string("dashboard: listing jobs: ") + e.what());
      }
      lk.lock();
      for (const pb::ReplayJob& j : all) {
        auto& h = history[j.id()];
        const pb::ProgressUpdate& p = j.progress();
        if (!h.empty() && h.back().done == p.records_done() && (jobs::is_final(j.state()) || p.rate() == 0)) continue;
        h.push_back({now_us(), p.records_done(), p.rate()});
        if (h.size() > kHistoryPoints) h.pop_front();
      }
      wake.wait_for(lk, std::chrono::microseconds(cfg.history_interval_us), [&] { return stopping; });
    }
  }

  void routes() {
    page_routes();
    session_routes();
    job_routes();
    guard_routes();
  }

  void page_routes() {
    auto page = [](std::string_view body, const char* type) {
      return
          [body, type](const httplib::Request&, httplib::Response& res) { res.set_content(std::string(body), type); };
    };
    http->set_default_headers(
        {{"X-Content-Type-Options", "nosniff"},
         {"X-Frame-Options", "DENY"},
         {"Referrer-Policy", "no-referrer"},
         {"Cache-Control", "no-store"},
         {"Content-Security-Policy",
          "default-src 'self'; img-src 'self' data:; frame-ancestors 'none'; form-action 'self'"}});
    http->Get("/", page(kIndexHtml, "text/html; charset=utf-8"));
    http->Get("/dashboard.js", page(kDashboardJs, "text/javascript; charset=utf-8"));
    http->Get("/dashboard.css", page(kDashboardCss, "text/css; charset=utf-8"));
  }

  void login(const httplib::Request& req, httplib::Response& res) {
    if (!same_origin(req)) return send(res, {403, error_json("cross-site login refused")});
    // A token in the URL would end up in logs and history: only a form body is accepted.
    if (req.target.find('?') != std::string::npos)
      return send(res, {400, error_json("send the token in the form body, not the URL")});
    if (!same_secret(req.get_param_value("token"), cfg.token)) {
      std::this_thread::sleep_for(std::chrono::milliseconds(200));  // slows guessing
      return send(res, {401, error_json("wrong token")});
    }
    std::string sid = random_hex(32), csrf = random_hex(16);
    {
      std::lock_guard<std::mutex> lk(mu);
      if (sessions.size() >= kMaxSessions) {
        auto oldest = std::min_element(sessions.begin(), sessions.end(), [](const auto& a, const auto& b) {
          return a.second.used_us < b.second.used_us;
        });
        sessions.erase(oldest);
      }
      sessions[sid] = {csrf, now_us()};
    }
    res.set_header("Set-Cookie",
                   "ss_session=" + sid + "; HttpOnly; SameSite=Strict; Path=/" + (cfg.tls.on() ? "; Secure" : ""));
    send(res, {200, "{\"csrf\":\"" + csrf + "\"}"});
  }

  void session_routes() {
    http->Post("/login", [this](const httplib::Request& req, httplib::Response& res) { login(req, res); });
    http->Post("/logout", [this](const httplib::Request& req, httplib::Response& res) {
      api(req, res, true, [&](const std::string&) {
        std::lock_guard<std::mutex> lk(mu);
        sessions.erase(cookie(req, "ss_session"));
        res.set_header("Set-Cookie", "ss_session=; HttpOnly; SameSite=Strict; Path=/; Max-Age=0");
        return Reply{200, "{}"};
      });
    });
    http->Get("/api/session", [this](const httplib::Request& req, httplib::Response& res) {
      api(req, res, false, [&](const std::string& csrf) { return Reply{200, "{\"csrf\":\"" + csrf + "\"}"}; });
    });
  }

  // A page of the newest jobs (?limit=N, at most 1000; ?before=ID for the next), and "next" when more follow.
  Reply list_jobs(const httplib::Request& req) {
    size_t limit = 200;
    if (req.has_param("limit")) {
      const std::string v = req.get_param_value("limit");
      char* end = nullptr;
      unsigned long n = std::strtoul(v.c_str(), &end, 10);
      if (v.empty() || *end || n == 0 || n > 1000) throw Error(kExitUsage, "limit must be 1 to 1000");
      limit = n;
    }
    std::string before = req.get_param_value("before");
    if (before.size() > 64) throw Error(kExitUsage, "before: not a job id");
    std::vector<pb::ReplayJob> page = jobs.list({}, limit + 1, before);
    std::string next;
    if (page.size() > limit) {
      page.resize(limit);
      next = page.back().id();
    }
    std::string out = "{\"jobs\":[";
    bool first = true;
    for (const pb::ReplayJob& j : page) {
      if (!first) out += ',';
      out += job_json(j);
      first = false;
    }
    out += "]";
    if (!next.empty()) out += ",\"next\":\"" + next + "\"";
    return Reply{200, out + "}"};
  }

  Reply act_on_job(const std::string& id, const std::string& verb) {
    if (verb == "delete") {
      jobs.remove(id);
      std::lock_guard<std::mutex> lk(mu);
      history.erase(id);
      return Reply{200, "{\"deleted\":\"" + id + "\"}"};
    }
    pb::ReplayJob j = verb == "pause" ? jobs.pause(id) : verb == "resume" ? jobs.resume(id) : jobs.cancel(id);
    return Reply{200, job_json(j)};
  }

  void job_routes() {
    http->Get("/api/jobs", [this](const httplib::Request& req, httplib::Response& res) {
      api(req, res, false, [&](const std::string&) { return list_jobs(req); });
    });
    http->Post("/api/jobs", [this](const httplib::Request& req, httplib::Response& res) {
      api(req, res, true, [&](const std::string&) {
        if (req.get_header_value("Content-Type").rfind("application/json", 0) != 0)
          throw Unsupported("send the job as Content-Type: application/json");
        return Reply{201, job_json(jobs.create(parse_request(req.body)))};
      });
    });
    http->Get(R"(/api/jobs/([A-Za-z0-9_-]+))", [this](const httplib::Request& req, httplib::Response& res) {
      api(req, res, false, [&](const std::string&) { return job_detail(req.matches[1]); });
    });
    http->Post(R"(/api/jobs/([A-Za-z0-9_-]+)/(pause|resume|cancel|delete))",
               [this](const httplib::Request& req, httplib::Response& res) {
                 api(req, res, true, [&](const std::string&) { return act_on_job(req.matches[1], req.matches[2]); });
               });
    http->Get("/api/pipeline", [this](const httplib::Request& req, httplib::Response& res) {
      api(req, res, false, [&](const std::string&) { return pipeline(); });
    });
  }

  void guard_routes() {
    http->set_error_handler([](const httplib::Request&, httplib::Response& res) {
      if (res.body.empty()) res.set_content(error_json("HTTP " + std::to_string(res.status)), "application/json");
    });
    // A job's JSON is small; an upload larger than this is not a job. httplib enforces the limit only on bodies
    // with a Content-Length: it reads chunked ones (and ones with neither header) whole before any handler runs.
    // The pre-routing handler runs before the body is read, so those are refused there, unread, and the connection
    // is closed after every answer so an unread body is never taken for the next request.
    http->set_payload_max_length(kMaxBody);
    http->set_keep_alive_max_count(1);
    http->set_pre_routing_handler([](const httplib::Request& req, httplib::Response& res) {
      http_guard::Guard::head_read();
      return refuse_body(req, res) ? httplib::Server::HandlerResponse::Handled
                                   : httplib::Server::HandlerResponse::Unhandled;
    });
    // A client that asks first (Expect: 100-continue) gets the refusal instead of a go-ahead.
    http->set_expect_100_continue_handler([](const httplib::Request& req, httplib::Response& res) {
      http_guard::Guard::head_read();
      return refuse_body(req, res) ? res.status : 100;
    });
  }
};

Server::Server(jobs::Manager& manager, Config cfg) : impl_(std::make_unique<Impl>(manager, std::move(cfg))) {
  if (impl_->cfg.token.empty())
    throw Error(kExitUsage, "--http needs --token-file: the dashboard always asks for a token");
}

Server::~Server() {
  stop();
}

void Server::start() {
  auto [host, port] = transport::parse_listen(impl_->cfg.listen, "--http");
  impl_->routes();
  int bound = port == 0 ? impl_->http->bind_to_any_port(host) : (impl_->http->bind_to_port(host, port) ? port : -1);
  if (bound <= 0) throw Error(kExitUnavailable, "cannot listen on " + impl_->cfg.listen + " for the dashboard");
  std::string shown = host.find(':') != std::string::npos ? "[" + host + "]" : host;
  std::fprintf(stderr, "dashboard on %s://%s:%d\n", impl_->scheme().c_str(), shown.c_str(), bound);
  std::fflush(stderr);
  impl_->serving = std::thread([this] { impl_->http->listen_after_bind(); });
  // httplib's stop() is a no-op until the listener runs; a stop right after start would then never end the thread.
  for (int waited_ms = 0; !impl_->http->is_running(); ++waited_ms) {
    if (waited_ms > 5000) throw Error(kExitUnavailable, "the dashboard's listener did not start");
    std::this_thread::sleep_for(std::chrono::milliseconds(1));
  }
  impl_->sampling = std::thread([this] { impl_->sample_history(); });
}

void Server::stop() {
  {
    std::lock_guard<std::mutex> lk(impl_->mu);
    impl_->stopping = true;
  }
  impl_->wake.notify_all();
  impl_->http->stop();
  if (impl_->serving.joinable()) impl_->serving.join();
  if (impl_->sampling.joinable()) impl_->sampling.join();
}

}  // namespace ss::dashboard
