#include "redis/conn.h"

#include <charconv>
#include <cstdlib>
#include <vector>

#include "core/error.h"

namespace ss::redis {

std::string Endpoint::display() const {
  return unix_path.empty() ? host + ":" + std::to_string(port) : unix_path;
}

Endpoint parse_url(const std::string& url_in) {
  std::string url = url_in;
  bool defaulted = false;
  if (url.empty()) {
    const char* env = std::getenv("REDIS_URL");
    defaulted = !(env && *env);
    url = defaulted ? "redis://127.0.0.1:6379" : env;
  }
  Endpoint ep;
  ep.defaulted = defaulted;
  auto bad = [&](const std::string& why) -> Error {
    return Error(kExitConfig, "bad Redis URL (" + why + "): expected redis://[:password@]host[:port][/db]");
  };
  std::string rest;
  if (url.rfind("redis://", 0) == 0) {
    rest = url.substr(8);
  } else if (url.rfind("unix://", 0) == 0 || url.rfind("redis+unix://", 0) == 0) {
    rest = url.substr(url.find("://") + 3);
    auto q = rest.find("?db=");
    if (q != std::string::npos) {
      ep.db = std::atoi(rest.c_str() + q + 4);
      rest.resize(q);
    }
    ep.unix_path = rest;
    if (ep.unix_path.empty()) throw bad("no socket path");
  } else {
    throw bad("unknown scheme");
  }
  if (ep.unix_path.empty()) {
    auto at = rest.rfind('@');
    if (at != std::string::npos) {
      std::string cred = rest.substr(0, at);
      rest = rest.substr(at + 1);
      auto colon = cred.find(':');
      if (colon == std::string::npos) {
        ep.password = cred;
      } else {
        ep.username = cred.substr(0, colon);
        ep.password = cred.substr(colon + 1);
      }
    }
    auto slash = rest.find('/');
    if (slash != std::string::npos) {
      std::string db = rest.substr(slash + 1);
      rest.resize(slash);
      if (!db.empty()) {
        auto [p, ec] = std::from_chars(db.data(), db.data() + db.size(), ep.db);
        if (ec != std::errc() || p != db.data() + db.size()) throw bad("db is not a number");
      }
    }
    auto colon = rest.rfind(':');
    if (colon != std::string::npos && rest.find(']') == std::string::npos) {
      std::string port = rest.substr(colon + 1);
      rest.resize(colon);
      auto [p, ec] = std::from_chars(port.data(), port.data() + port.size(), ep.port);
      if (ec != std::errc() || p != port.data() + port.size() || ep.port <= 0 || ep.port > 65535)
        throw bad("port is not a number");
    }
    if (!rest.empty()) ep.host = rest;
  }
  if (ep.password.empty()) {
    const char* pw = std::getenv("REDISCLI_AUTH");
    if (pw && *pw) ep.password = pw;
  }
  return ep;
}

Context connect(const Endpoint& ep, int timeout_ms) {
  timeval tv{timeout_ms / 1000, (timeout_ms % 1000) * 1000};
  Context c(ep.unix_path.empty() ? redisConnectWithTimeout(ep.host.c_str(), ep.port, tv)
                                 : redisConnectUnixWithTimeout(ep.unix_path.c_str(), tv));
  if (!c) throw Error(kExitSoftware, "out of memory creating a Redis connection");
  if (c->err)
    throw Error(kExitUnavailable, "cannot connect to Redis at " + ep.display() + ": " + c->errstr + ep.hint());
  if (!ep.password.empty()) {
    Reply r = ep.username.empty() ? command(c.get(), {"AUTH", ep.password})
                                  : command(c.get(), {"AUTH", ep.username, ep.password});
    if (is_error(r.get())) {
      // WRONGPASS/NOAUTH/ERR invalid password: credentials, not retried (77). Anything else (a server at its client
      // limit answers before it reads AUTH) may clear: an outage (69).
      std::string why(r->str, r->len);
      bool refused = why.rfind("WRONGPASS", 0) == 0 || why.rfind("NOAUTH", 0) == 0 ||
                     why.find("invalid password") != std::string::npos ||
                     why.find("invalid username") != std::string::npos;
      throw Error(refused ? kExitNoPerm : kExitUnavailable,
                  "Redis at " + ep.display() + (refused ? " refused authentication: " : " answered AUTH with: ") + why);
    }
  }
  if (ep.db != 0) {
    Reply r = command(c.get(), {"SELECT", std::to_string(ep.db)});
    if (is_error(r.get())) throw Error(kExitConfig, "Redis SELECT " + std::to_string(ep.db) + ": " + r->str);
  }
  return c;
}

Reply command(redisContext* c, std::initializer_list<std::string> argv) {
  std::vector<const char*> args;
  std::vector<size_t> lens;
  for (const auto& a : argv) {
    args.push_back(a.data());
    lens.push_back(a.size());
  }
  Reply r(static_cast<redisReply*>(redisCommandArgv(c, static_cast<int>(args.size()), args.data(), lens.data())));
  if (!r) throw Error(kExitUnavailable, std::string("lost connection to Redis: ") + (c->err ? c->errstr : "unknown"));
  return r;
}

bool is_error(const redisReply* r) {
  return r && r->type == REDIS_REPLY_ERROR;
}

redisContext* Session::get() {
  if (!ctx_) {
    ctx_ = connect(ep_, timeout_ms_);
    ++connects_;
  }
  return ctx_.get();
}

Reply Session::run(std::initializer_list<std::string> argv, bool errors_throw) {
  try {
    Reply r = command(get(), argv);
    if (errors_throw && is_error(r.get())) throw Error(kExitUnavailable, std::string(r->str, r->len));
    return r;
  } catch (const Error& e) {
    if (e.code() == kExitUnavailable) drop();
    throw;
  }
}

}  // namespace ss::redis
