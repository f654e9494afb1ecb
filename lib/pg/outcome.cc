#include "pg/outcome.h"

#include "core/json.h"
#include "pg/statements.h"

namespace ss::apply {

Origin Origin::of(const shadowstream::v1::ChangeRecord& rec, std::string_view payload) {
  if (payload.size() <= kQuotedRecordBytes) return {std::string(payload), {}};
  return named(where_text(rec) + " (a record of " + std::to_string(payload.size()) + " bytes)");
}

std::string describe(const Failure& f) {
  if (!f.origin.what.empty()) return "cannot apply " + f.origin.what + ": " + f.error;
  if (f.origin.payload.empty()) return "target transaction failed: " + f.error;
  shadowstream::v1::ChangeRecord rec;
  rec.ParseFromString(f.origin.payload);
  std::string json;
  json::append(rec, json);
  return "cannot apply " + where_text(rec) + ": " + f.error + "; record: " + json;
}

}  // namespace ss::apply
