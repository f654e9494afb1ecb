#include "redis/stream.h"

#include <charconv>

#include "core/error.h"
#include "core/json.h"

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

EntryFields::EntryFields(const shadowstream::v1::ChangeRecord& rec, std::string_view payload, size_t part_bytes)
    : table_(rec.table().empty() ? "" : rec.schema() + "." + rec.table()),
      op_(json::enum_short_name(shadowstream::v1::Operation_descriptor()->FindValueByNumber(rec.op()))),
      time_(format_time_us(rec.commit_time())) {
  size_t parts = payload.size() <= part_bytes ? 1 : (payload.size() + part_bytes - 1) / part_bytes;
  names_.reserve(parts);  // the views below point into these strings: no reallocation after the first
  for (size_t i = 2; i <= parts; ++i) names_.push_back("r:" + std::to_string(i));
  pairs_ = {"r", payload.substr(0, part_bytes), "table", table_, "op", op_, "time", time_};
  for (size_t i = 2; i <= parts; ++i) {
    pairs_.push_back(names_[i - 2]);
    pairs_.push_back(payload.substr((i - 1) * part_bytes, part_bytes));
  }
}

std::optional<std::string_view> entry_record(const std::vector<std::string_view>& fields, std::string& joined) {
  std::optional<std::string_view> first;
  size_t next = 2;
  for (size_t f = 0; f + 1 < fields.size(); f += 2) {
    std::string_view name = fields[f];
    if (name == "r") {
      first = fields[f + 1];
    } else if (name.substr(0, 2) == "r:") {
      if (!first || name != "r:" + std::to_string(next))
        throw Error(kExitDataErr, "an entry's record parts are out of order at field " + std::string(name));
      if (next == 2) joined.assign(*first);
      joined.append(fields[f + 1]);
      ++next;
    }
  }
  if (first && next > 2) return std::string_view(joined);
  return first;
}

bool is_duplicate_id_error(const std::string& message) {
  return message.find("equal or smaller than the target stream top item") != std::string::npos;
}

}  // namespace ss::redis
