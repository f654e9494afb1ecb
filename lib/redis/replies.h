// Commands and replies on a hiredis connection, as ss-buffer's writer and reader use them: commands appended for
// pipelining (argv, or RESP text formatted into one buffer), replies read back, and Redis's error replies told apart:
// those that may clear by themselves (OOM, LOADING, READONLY, ...) from the rest.
#pragma once

#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "core/error.h"
#include "redis/conn.h"

namespace ss::redis {

// An error reply: Error(75) when it may clear by itself (its code is OOM, MISCONF, LOADING, BUSY, TRYAGAIN or
// READONLY), else Error(70). `what` names the command.
[[noreturn]] void throw_reply_error(const std::string& what, const std::string& msg);

// The next reply of a pipelined command; Error(69) when the connection is gone.
Reply get_reply(redisContext* c);

// Appends a command (`argv`: strings or string views) to the connection's output buffer; Error(69) when it is gone.
template <typename Args>
void append_command(redisContext* c, const Args& argv) {
  std::vector<const char*> a;
  std::vector<size_t> l;
  a.reserve(argv.size());
  l.reserve(argv.size());
  for (const auto& s : argv) {
    a.push_back(s.data());
    l.push_back(s.size());
  }
  if (redisAppendCommandArgv(c, static_cast<int>(a.size()), a.data(), l.data()) != REDIS_OK)
    throw Error(kExitUnavailable, std::string("lost connection to Redis: ") + c->errstr);
}

// Appends one command in RESP form to `out`. Formatting a whole batch into one buffer costs no allocation per
// record, which is most of what separates a pipelining client from redis-benchmark.
void append_resp(std::string& out, const std::vector<std::string_view>& args);

// The record a stream entry's field array holds (see stream.h's entry_record).
std::optional<std::string_view> entry_record(redisReply* fields, std::string& joined);

}  // namespace ss::redis
