// The Redis Streams layout every ShadowStream tool shares: one entry per record, its ID derived from the record's
// position so that Redis itself refuses a resend (XADD with an ID not above the stream's top fails), plus a few
// small readable fields for redis-cli users.
#pragma once

#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "core/position.h"
#include "shadowstream.pb.h"

namespace ss::redis {

// "<commit_lsn>-<ordinal>": both halves of a stream ID are 64-bit, as are LSNs and ordinals.
std::string entry_id(const Position& p);
std::optional<Position> parse_entry_id(const std::string& id);

// shadowstream:<source>:changes, or with per_table shadowstream:<source>:<schema>.<table>.
std::string default_stream_key(const std::string& source, const std::string& schema = "",
                               const std::string& table = "");

// Redis refuses a bulk string over proto-max-bulk-len (512 MB by default, often set lower) and holds each one in a
// single allocation, while a PostgreSQL row can carry several 1 GB values. So a record longer than this travels in
// its one entry as several fields: "r" holds the first part and "r:2", "r:3"... the rest, in order. The entry keeps
// its one ID, so Redis's refusal of a resend still works for it.
inline constexpr size_t kEntryPartBytes = size_t{64} << 20;

// The field/value pairs of one entry: r (the serialized record, with its continuation parts), table, op, time
// (RFC 3339 commit time). The pairs are views into `payload` and into the object itself, which therefore stays put.
class EntryFields {
 public:
  EntryFields(const shadowstream::v1::ChangeRecord& rec, std::string_view payload, size_t part_bytes = kEntryPartBytes);
  EntryFields(const EntryFields&) = delete;
  EntryFields& operator=(const EntryFields&) = delete;
  const std::vector<std::string_view>& pairs() const { return pairs_; }
  // Adds a field; `value` is not copied and must outlive the pairs' use.
  void add(std::string_view name, std::string_view value) { pairs_.insert(pairs_.end(), {name, value}); }

 private:
  std::string table_, op_, time_;
  std::vector<std::string> names_;
  std::vector<std::string_view> pairs_;
};

// The record an entry holds, from its fields as Redis returns them (name, value, name, value...): the "r" field
// joined with its continuation fields (into `joined` when there are any). nullopt when the entry holds no record;
// Error(65) when its parts are not r, r:2, r:3... in order.
std::optional<std::string_view> entry_record(const std::vector<std::string_view>& fields, std::string& joined);

// True for the error Redis gives an XADD whose ID is not above the stream's top: the entry is already stored.
bool is_duplicate_id_error(const std::string& message);

}  // namespace ss::redis
