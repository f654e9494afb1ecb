// ss-replay's engine: frames in, filtered to a window, paced, out to a sink (frames on a descriptor, or a
// PostgreSQL target applied transaction by transaction). The same engine runs the command line and server jobs.
#pragma once

#include <cstdint>
#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "core/frames.h"
#include "core/position.h"
#include "pg/apply.h"
#include "replay/pacing.h"
#include "shadowstream.pb.h"

namespace ss::replay {

struct Window {
  std::optional<int64_t> since_us, until_us;                // commit time: since inclusive, until exclusive
  std::optional<Position> from, to;                         // inclusive
  std::vector<std::pair<std::string, std::string>> tables;  // schema, table; empty = all

  // Adds a --table value ("schema.table" or "table" in public).
  void add_table(const std::string& name);
  bool contains(const shadowstream::v1::ChangeRecord& rec) const;
  // True once the stream has passed `to`: positions only grow, so nothing later can be in the window.
  bool past_end(const shadowstream::v1::ChangeRecord& rec) const;
};

struct Progress {
  uint64_t read = 0;          // records read from the input
  uint64_t done = 0;          // replayed: written out or applied
  uint64_t duplicates = 0;    // already applied to the target by an earlier run
  uint64_t transactions = 0;  // whole transactions replayed
  Position last;              // position of the last replayed record
  int64_t replayed_time = 0;  // its commit time
  int64_t lag_us = 0;         // behind the pacing schedule
  bool paused = false;
  bool finished = false;  // the input ended (or passed the window); false when stopped early
};

class Sink {
 public:
  virtual ~Sink() = default;
  // False when the record was already applied by an earlier run (a duplicate), true when replayed.
  virtual bool write(const shadowstream::v1::ChangeRecord& rec, std::string_view payload) = 0;
  // The transaction's last record was written: make it durable as a whole.
  virtual void end_tx() {}
  // The transaction cannot be completed (input ended inside it, or a stop): drop what is pending. Returns true
  // when something was dropped.
  virtual bool abort_tx() { return false; }
  // About to sleep or to finish: let downstream see what is due.
  virtual void flush() {}
  // A window's base marker (window_base.h), ahead of the window: passed on, or checked against the target.
  virtual void base(const shadowstream::v1::ChangeRecord& marker, std::string_view payload) {
    (void)marker;
    (void)payload;
  }
};

// Frames, passed on byte for byte.
class FrameSink : public Sink {
 public:
  explicit FrameSink(int fd) : out_(fd) {}
  bool write(const shadowstream::v1::ChangeRecord&, std::string_view payload) override {
    out_.write_payload(payload);
    return true;
  }
  void flush() override { out_.flush(); }
  void base(const shadowstream::v1::ChangeRecord&, std::string_view payload) override { out_.write_payload(payload); }

 private:
  FrameWriter out_;
};

// A dry run: counts what would be replayed.
class CountSink : public Sink {
 public:
  bool write(const shadowstream::v1::ChangeRecord&, std::string_view) override { return true; }
};

// Changes applied to PostgreSQL, exactly once by position.
class PostgresSink : public Sink {
 public:
  explicit PostgresSink(const apply::Config& cfg) : applier_(cfg) {}
  bool write(const shadowstream::v1::ChangeRecord& rec, std::string_view payload) override {
    return applier_.apply(rec, payload);
  }
  void end_tx() override { applier_.commit(); }
  bool abort_tx() override {
    bool open = applier_.in_transaction();
    applier_.rollback();
    return open;
  }
  void flush() override { applier_.flush(); }
  void base(const shadowstream::v1::ChangeRecord& marker, std::string_view) override { applier_.require_base(marker); }
  const apply::Stats& stats() const { return applier_.stats(); }

 private:
  apply::Applier applier_;
};

struct Config {
  pacing::Config pacing;
  Window window;
};

// A ReplayRequest as the engine's settings (pacing and window): the one translation, used by ss-replay's own flags
// (which fill a request) and by server jobs alike.
Config config_of(const shadowstream::v1::ReplayRequest& r);
// The applier settings a request names (target, create_tables, on_error; grouping on at full speed) over `ac`, which
// brings what requests do not carry (table and schema maps, the position table, the group's bounds).
apply::Config apply_config_of(const shadowstream::v1::ReplayRequest& r, apply::Config ac = {});
// The request's on_error: its enum, or the text older clients send in on_error_name; nullopt for a value that is
// neither (or the two disagreeing), which validation refuses.
std::optional<apply::OnError> on_error_of(const shadowstream::v1::ReplayRequest& r);
// "stop", "skip" or "log" (any case) as the enum; nullopt for anything else.
std::optional<shadowstream::v1::OnError> on_error_named(std::string_view name);

struct Hooks {
  const pacing::PauseGate* gate = nullptr;
  std::function<bool()> should_stop;                 // default: a stop signal (signals.h)
  std::function<void(const Progress&)> on_progress;  // at most every progress_interval_us, and at the end
  int64_t progress_interval_us = 1'000'000;
  int64_t idle_flush_ms = 200;  // input quiet this long between transactions: the sink is flushed
  bool metrics = true;          // count the records in this process's metrics (not for a counting pass)
};

// Replays `in` into `sink` until the input ends, passes the window or a stop is requested. Whole transactions
// only: a transaction cut short by the end of input or a stop is abandoned (a PostgreSQL target rolls it back).
Progress run(const Config& cfg, FrameReader& in, Sink& sink, const Hooks& hooks = {});

// SIGTSTP pauses (the schedule then shifts by the time spent stopped, so there is no catch-up burst) and stops
// the process as usual; SIGCONT resumes.
void install_pause_signals(pacing::PauseGate* gate);

}  // namespace ss::replay
