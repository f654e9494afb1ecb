// The one check every tool makes of a record before it stores, applies or prints it: values a PostgreSQL source can
// produce. Anything else is bad data (exit 65, INVALID_ARGUMENT over gRPC), refused before anything is stored.
#pragma once

#include <string_view>

#include "shadowstream.pb.h"

namespace ss {

enum class PositionRule {
  kRequired,  // frames from a source: every record carries its position
  kOptional,  // pushed records: 0/0 means "assign one", a position given must be valid
};

// Throws Error(kExitDataErr) naming what is wrong: an enum value the schema does not define, a position outside
// (0, kMaxLsn], a commit time outside [kMinTimeUs, kMaxTimeUs], a schema, table, column or type name with a NUL.
void validate_record(const shadowstream::v1::ChangeRecord& rec, PositionRule rule = PositionRule::kRequired);

// Whether two serialized records are the same change: equal but for what a capture reads at decode time rather
// than from the WAL (the commit time of records outside a transaction, the timeline, the type names and missing
// values it looks up). A capture that restarts and decodes a stretch again sends such a record; it is a resend, not
// a conflict. False when either does not parse.
bool same_change(std::string_view a, std::string_view b);

}  // namespace ss
