// The Redis Streams layout every ShadowStream tool shares: one entry per record, its ID derived from the record's
// position so that Redis itself refuses a resend (XADD with an ID not above the stream's top fails), plus a few
// small readable fields for redis-cli users.
#pragma once

#include <optional>
#include <string>
#include <vector>

#include "position.h"
#include "shadowstream.pb.h"

namespace ss::redis {

// "<commit_lsn>-<ordinal>": both halves of a stream ID are 64-bit, as are LSNs and ordinals.
std::string entry_id(const Position& p);
std::optional<Position> parse_entry_id(const std::string& id);

// shadowstream:<source>:changes, or with per_table shadowstream:<source>:<schema>.<table>.
std::string default_stream_key(const std::string& source, const std::string& schema = "",
                               const std::string& table = "");

// The field/value pairs of one entry: r (the serialized record), table, op, time (RFC 3339 commit time).
std::vector<std::string> entry_fields(const shadowstream::v1::ChangeRecord& rec, const std::string& payload);

// True for the error Redis gives an XADD whose ID is not above the stream's top: the entry is already stored.
bool is_duplicate_id_error(const std::string& message);

}  // namespace ss::redis
