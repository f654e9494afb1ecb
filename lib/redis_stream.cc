#include "redis_stream.h"

#include <charconv>

#include "json_codec.h"

namespace ss::redis {

std::string entry_id(const Position& p) {
  return std::to_string(p.lsn) + "-" + std::to_string(p.ordinal);
}

std::optional<Position> parse_entry_id(const std::string& id) {
  auto dash = id.find('-');
  if (dash == std::string::npos) return std::nullopt;
  Position p;
  auto [a, e1] = std::from_chars(id.data(), id.data() + dash, p.lsn);
  auto [b, e2] = std::from_chars(id.data() + dash + 1, id.data() + id.size(), p.ordinal);
  if (e1 != std::errc() || e2 != std::errc() || a != id.data() + dash || b != id.data() + id.size())
    return std::nullopt;
  return p;
}

std::string default_stream_key(const std::string& source, const std::string& schema, const std::string& table) {
  if (table.empty()) return "shadowstream:" + source + ":changes";
  return "shadowstream:" + source + ":" + schema + "." + table;
}

std::vector<std::string> entry_fields(const shadowstream::v1::ChangeRecord& rec, const std::string& payload) {
  std::string table = rec.table().empty() ? "" : rec.schema() + "." + rec.table();
  return {"r",     payload,
          "table", table,
          "op",    json::enum_short_name(shadowstream::v1::Operation_descriptor()->FindValueByNumber(rec.op())),
          "time",  format_time_us(rec.commit_time())};
}

bool is_duplicate_id_error(const std::string& message) {
  return message.find("equal or smaller than the target stream top item") != std::string::npos;
}

}  // namespace ss::redis
