#include "redis/replies.h"

#include "redis/stream.h"

namespace ss::redis {

void throw_reply_error(const std::string& what, const std::string& msg) {
  bool transient = msg.rfind("OOM", 0) == 0 || msg.rfind("MISCONF", 0) == 0 || msg.rfind("LOADING", 0) == 0 ||
                   msg.rfind("BUSY", 0) == 0 || msg.rfind("TRYAGAIN", 0) == 0 || msg.rfind("READONLY", 0) == 0;
  throw Error(transient ? kExitTempFail : kExitSoftware, what + ": Redis answered: " + msg);
}

Reply get_reply(redisContext* c) {
  void* raw = nullptr;
  if (redisGetReply(c, &raw) != REDIS_OK || !raw)
    throw Error(kExitUnavailable, std::string("lost connection to Redis: ") + (c->err ? c->errstr : "no reply"));
  return Reply(static_cast<redisReply*>(raw));
}

void append_resp(std::string& out, const std::vector<std::string_view>& args) {
  out.push_back('*');
  out.append(std::to_string(args.size()));
  out.append("\r\n");
  for (std::string_view a : args) {
    out.push_back('$');
    out.append(std::to_string(a.size()));
    out.append("\r\n");
    out.append(a);
    out.append("\r\n");
  }
}

std::optional<std::string_view> entry_record(redisReply* fields, std::string& joined) {
  if (!fields || fields->type != REDIS_REPLY_ARRAY) return std::nullopt;
  std::vector<std::string_view> f;
  f.reserve(fields->elements);
  for (size_t i = 0; i < fields->elements; ++i) f.emplace_back(fields->element[i]->str, fields->element[i]->len);
  return entry_record(f, joined);
}

}  // namespace ss::redis
