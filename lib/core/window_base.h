// The base a window read needs. A window of history (ss-archive read --since/--from-position) applied to a target
// that never saw the changes before it builds a partial shadow: updates and deletes of rows it lacks find nothing.
// So a window read opens, per source, with a marker naming the last change before the window; an applier checks
// its target's high-water against it and refuses (or, told --no-base, warns) instead of building that in silence.
//
// The marker is a non-transactional logical message (prefix kWindowBasePrefix) at that change's own position: every
// tool that keeps a high-water takes it as already seen, and a reader that knows nothing of it shows a message.
#pragma once

#include <optional>
#include <string>

#include "core/position.h"
#include "shadowstream.pb.h"

namespace ss {

inline constexpr const char* kWindowBasePrefix = "shadowstream.window-base";

// The marker for `source`'s last change before a window: at `base`, committed at `commit_time_us`.
shadowstream::v1::ChangeRecord window_base_marker(const std::string& source, const Position& base,
                                                  int64_t commit_time_us);
// The base a marker names; nullopt for any other record.
std::optional<Position> window_base_of(const shadowstream::v1::ChangeRecord& rec);

// Whether a target whose high-water for the source is `high_water` (zero: none) holds the window's base.
inline bool holds_base(const Position& high_water, const Position& base) {
  return !high_water.is_zero() && high_water >= base;
}

}  // namespace ss
