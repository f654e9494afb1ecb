// How the applier's parts (pipeline, positions, shape follower, loaders) report what became of a step against the
// open target transaction: done, refused (a Failure, with what it was sent for), or, for a grouped rebuild, to be
// applied again from the group's log. The Applier alone decides what a failure means (apply.cc: settle). Losing the
// connection or the pipeline's step is no record's failure: that ends the run as Error(75) or Error(70).
#pragma once

#include <optional>
#include <string>
#include <string_view>
#include <utility>

#include "shadowstream.pb.h"

namespace ss::apply {

// What a statement was sent for, for the message that names it if the target refuses it: the record whole while it
// is small, past that (or for a stretch of rows) a description; both empty for a control statement.
struct Origin {
  std::string payload;
  std::string what;
  // A failing record is reported whole (as JSON) up to this size, and past it by table and position only: a one-line
  // error must not carry a 300 MB value, nor the pipeline a copy of it per statement.
  static constexpr size_t kQuotedRecordBytes = size_t{64} << 10;
  static Origin of(const shadowstream::v1::ChangeRecord& rec, std::string_view payload);
  static Origin named(std::string what) { return {{}, std::move(what)}; }
  bool control() const { return payload.empty() && what.empty(); }
};

struct Failure {
  Failure(Origin o, std::string e, std::string state = {})
      : origin(std::move(o)), error(std::move(e)), sqlstate(std::move(state)) {}
  Origin origin;
  std::string error;     // the server's, on one line, or the applier's own reason
  std::string sqlstate;  // the server's error code ("" for the applier's own)
};
// The message a failure stops a replay with: the record named by table and position, and shown whole when small.
std::string describe(const Failure& f);

class [[nodiscard]] Outcome {
 public:
  Outcome() = default;
  Outcome(Failure f) : failure_(std::move(f)) {}  // NOLINT: a failure is an outcome
  static Outcome redo() {
    Outcome o;
    o.redo_ = true;
    return o;
  }
  bool ok() const { return !failure_ && !redo_; }
  // The open group's folded rows cannot stand for its records here: it is to be applied again from its log.
  bool is_redo() const { return redo_; }
  const std::optional<Failure>& failure() const { return failure_; }

 private:
  std::optional<Failure> failure_;
  bool redo_ = false;
};

}  // namespace ss::apply
