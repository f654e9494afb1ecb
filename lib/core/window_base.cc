#include "core/window_base.h"

namespace ss {

using shadowstream::v1::ChangeRecord;

ChangeRecord window_base_marker(const std::string& source, const Position& base, int64_t commit_time_us) {
  ChangeRecord rec;
  rec.mutable_source()->set_name(source);
  rec.set_commit_lsn(base.lsn);
  rec.set_ordinal(base.ordinal);
  rec.set_tx_last(true);
  rec.set_commit_time(commit_time_us);
  rec.set_op(shadowstream::v1::OPERATION_MESSAGE);
  auto* m = rec.mutable_message();
  m->set_transactional(false);
  m->set_prefix(kWindowBasePrefix);
  m->set_content("the changes up to this position are not in this stream; a target must hold them already");
  return rec;
}

std::optional<Position> window_base_of(const ChangeRecord& rec) {
  if (rec.op() != shadowstream::v1::OPERATION_MESSAGE || rec.message().transactional() ||
      rec.message().prefix() != kWindowBasePrefix)
    return std::nullopt;
  return Position{rec.commit_lsn(), rec.ordinal()};
}

}  // namespace ss
