// RAII for hiredis handles and REDIS_URL parsing.
#pragma once

#include <hiredis/hiredis.h>

#include <algorithm>
#include <cstdint>
#include <memory>
#include <string>
#include <utility>

#include "core/error.h"
#include "core/log.h"
#include "core/metrics.h"
#include "core/position.h"
#include "core/retry.h"
#include "core/signals.h"

namespace ss::redis {

struct ContextDeleter {
  void operator()(redisContext* c) const { redisFree(c); }
};
struct ReplyDeleter {
  void operator()(redisReply* r) const { freeReplyObject(r); }
};
using Context = std::unique_ptr<redisContext, ContextDeleter>;
using Reply = std::unique_ptr<redisReply, ReplyDeleter>;

struct Endpoint {
  std::string host = "127.0.0.1";
  int port = 6379;
  std::string unix_path;  // redis+unix:///path or unix:///path
  std::string username;
  std::string password;  // from the URL or REDISCLI_AUTH; never logged
  int db = 0;
  bool defaulted = false;  // neither a URL nor REDIS_URL: the default address
  // For messages: host:port or the socket path, never the password.
  std::string display() const;
  // Appended to a connection failure: what to set when the address was only the default.
  std::string hint() const { return defaulted ? " (REDIS_URL is unset: set it to redis://host:port)" : ""; }
};

// Parses redis://[[user]:password@]host[:port][/db] and unix:///path[?db=N]; empty = REDIS_URL, then the default.
// Throws Error(78) on a malformed URL.
Endpoint parse_url(const std::string& url);

// Connects, authenticates and selects the db. Throws Error(69) when unreachable.
Context connect(const Endpoint& ep, int timeout_ms = 5000);

// Runs one command given as argv; returns the reply. Throws Error(69) on a connection error (the context is then
// unusable). A Redis error reply is returned, not thrown; see is_error().
Reply command(redisContext* c, std::initializer_list<std::string> argv);
bool is_error(const redisReply* r);

// A connection made on first use and made again after a failure: what every Redis client here stands on (the
// buffer's reads and writes, the job store, the pipeline panel).
class Session {
 public:
  explicit Session(Endpoint ep, int timeout_ms = 5000) : ep_(std::move(ep)), timeout_ms_(timeout_ms) {}
  redisContext* get();
  void drop() { ctx_.reset(); }
  // How many connections were made: a change tells a caller that replies may have been lost in between.
  uint64_t connects() const { return connects_; }
  const Endpoint& endpoint() const { return ep_; }
  // A one-off run (cron, a shell) gives up on an outage after this long instead of waiting for ever; 0: never.
  void give_up_after(int64_t us) { give_up_us_ = us; }

  // One command. A lost connection drops the session's connection and throws Error(69); an error reply is thrown
  // as Error(69) too, with Redis's text, when `errors_throw`.
  Reply run(std::initializer_list<std::string> argv, bool errors_throw = true);

  // Runs `fn` until it succeeds: an Error 69 or 75 (a lost connection, a server error that may clear: OOM, LOADING,
  // ...) drops the connection, is logged, and is retried with capped exponential backoff. A stop request while
  // waiting ends it with Error(75).
  template <typename Fn>
  auto with_retry(int64_t max_backoff_us, Fn fn) -> decltype(fn(static_cast<redisContext*>(nullptr))) {
    Backoff backoff(max_backoff_us);
    int64_t since = 0;
    for (;;) {
      try {
        return fn(get());
      } catch (const Error& e) {
        if (e.code() != kExitUnavailable && e.code() != kExitTempFail) throw;
        drop();
        if (!since) since = now_us();
        if (give_up_us_ && now_us() - since >= give_up_us_)
          throw Error(kExitUnavailable,
                      std::string(e.what()) + "; gave up after " + std::to_string(give_up_us_ / 1'000'000) + "s");
        log::warn(std::string(e.what()) + "; retrying in " + backoff.delay_text());
        metrics::retried();
      }
      // A run that gives up does so on time, not a doubled backoff later.
      if (!backoff.wait(give_up_us_ ? since + give_up_us_ : 0))
        throw Error(kExitTempFail,
                    "stopped while Redis at " + ep_.display() + " was unavailable; nothing unstored was acknowledged");
    }
  }

 private:
  Endpoint ep_;
  int timeout_ms_;
  Context ctx_;
  uint64_t connects_ = 0;
  int64_t give_up_us_ = 0;
};

}  // namespace ss::redis
