// RAII for hiredis handles and REDIS_URL parsing.
#pragma once

#include <hiredis/hiredis.h>

#include <memory>
#include <string>

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
  // For messages: host:port or the socket path, never the password.
  std::string display() const;
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

}  // namespace ss::redis
