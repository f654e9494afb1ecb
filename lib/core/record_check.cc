#include "core/record_check.h"

#include <string>

#include <google/protobuf/util/message_differencer.h>

#include "core/error.h"
#include "core/position.h"

namespace ss {

using shadowstream::v1::ChangeRecord;

void validate_record(const ChangeRecord& rec, PositionRule rule) {
  if (!shadowstream::v1::Operation_IsValid(rec.op()))
    throw Error(kExitDataErr, "op " + std::to_string(rec.op()) + " is not an operation this version knows");
  const bool unassigned = rec.commit_lsn() == 0 && rec.ordinal() == 0;
  if (rec.commit_lsn() == 0 && !(unassigned && rule == PositionRule::kOptional))
    throw Error(kExitDataErr, "position " + format_position({rec.commit_lsn(), rec.ordinal()}) +
                                  ": commit_lsn 0 is not a position PostgreSQL produces");
  if (rec.commit_lsn() > kMaxLsn || rec.ordinal() > kMaxLsn)
    throw Error(kExitDataErr, "position " + format_position({rec.commit_lsn(), rec.ordinal()}) +
                                  " is beyond what PostgreSQL can produce (LSN and ordinal below 2^63)");
  if (rec.commit_time() < kMinTimeUs || rec.commit_time() > kMaxTimeUs)
    throw Error(kExitDataErr, "commit_time " + std::to_string(rec.commit_time()) + " us is outside years 0000-9999");
  // A name with a NUL in it names nothing in PostgreSQL, and would cut the statement it is quoted into short.
  auto no_nul = [](const std::string& name, const char* what) {
    if (name.find('\0') != std::string::npos) throw Error(kExitDataErr, std::string(what) + " contains a NUL byte");
  };
  no_nul(rec.schema(), "schema");
  no_nul(rec.table(), "table");
  for (const auto* cols : {&rec.columns(), &rec.old_columns()})
    for (const auto& c : *cols) {
      no_nul(c.name(), "a column name");
      no_nul(c.type_name(), "a column type name");
    }
}

namespace {

bool parse_decoded(std::string_view bytes, ChangeRecord& rec) {
  if (!rec.ParseFromArray(bytes.data(), static_cast<int>(bytes.size()))) return false;
  rec.set_commit_time(0);
  rec.mutable_source()->set_timeline(0);
  for (auto* cols : {rec.mutable_columns(), rec.mutable_old_columns()})
    for (auto& c : *cols) {
      c.clear_type_name();
      c.clear_missing_value();
    }
  return true;
}

}  // namespace

bool same_change(std::string_view a, std::string_view b) {
  if (a == b) return true;
  ChangeRecord ra, rb;
  if (!parse_decoded(a, ra) || !parse_decoded(b, rb)) return false;
  return google::protobuf::util::MessageDifferencer::Equals(ra, rb);  // unknown fields included
}

}  // namespace ss
