#include "replay/replay.h"

#include <cctype>

#include <signal.h>

#include "core/error.h"
#include "core/log.h"
#include "core/metrics.h"
#include "core/signals.h"
#include "core/window_base.h"
#include "pg/conn.h"

namespace ss::replay {

using shadowstream::v1::ChangeRecord;

void Window::add_table(const std::string& name) {
  tables.push_back(pg::split_table_name(name));
}

bool Window::contains(const ChangeRecord& rec) const {
  if (Span{since_us, until_us, from, to}.where(rec.commit_time(), {rec.commit_lsn(), rec.ordinal()}) !=
      Span::Where::kInside)
    return false;
  if (tables.empty()) return true;
  // A checkpoint's markers pass a table filter: run() narrows their table list to the tables it keeps.
  if (rec.op() == shadowstream::v1::OPERATION_CHECKPOINT_BEGIN ||
      rec.op() == shadowstream::v1::OPERATION_CHECKPOINT_END)
    return true;
  for (const auto& [s, t] : tables)
    if (s == rec.schema() && t == rec.table()) return true;
  return false;
}

bool Window::past_end(const ChangeRecord& rec) const {
  return to && Position{rec.commit_lsn(), rec.ordinal()} > *to;
}

namespace {

// One replay: records read, windowed, paced and written to the sink, transaction by transaction.
class Run {
 public:
  Run(const Config& cfg, FrameReader& in, Sink& sink, const Hooks& hooks)
      : cfg_(cfg),
        in_(in),
        sink_(sink),
        hooks_(hooks),
        should_stop_(hooks.should_stop ? hooks.should_stop : [] { return stop_requested(); }),
        pacer_(cfg.pacing, hooks.gate),
        paced_(cfg.pacing.paced()) {}

  Progress run() {
    while (next()) {
      // A window's base: not history to pace or filter, and before the window's first record.
      if (window_base_of(rec_)) {
        sink_.base(rec_, payload_);
        continue;
      }
      ++prog_.read;
      if (!have_tx_ || rec_.commit_lsn() != tx_lsn_) {
        // The previous transaction's last record may have been filtered out; it is complete all the same.
        end_tx();
        have_tx_ = true;
        tx_lsn_ = rec_.commit_lsn();
        tx_first_ = true;
        tx_checkpoint_ = false;
      }
      input_at_tx_end_ = rec_.tx_last();
      if (cfg_.window.past_end(rec_)) {
        cut_ = true;
        break;
      }
      if (cfg_.window.contains(rec_) && !replay_record()) {
        stopped_ = true;
        break;
      }
      if (rec_.tx_last()) end_tx();
      // Paced, every record counts (a slow replay reports each one); at full speed a clock read per 64 is enough.
      if (paced_ || (prog_.read & 63) == 0) report(false);
    }
    finish();
    return prog_;
  }

 private:
  // The next record into rec_/payload_; false at the end of input or on a stop (stopped_).
  bool next() {
    if (should_stop_()) {
      stopped_ = true;
      return false;
    }
    // Between transactions, input that goes quiet (a live stream followed) lets the sink make what it holds visible
    // (a grouped target commits its group) instead of holding it until more comes.
    if (!tx_open_ && in_.buffered() == 0 && !in_.readable(static_cast<int>(hooks_.idle_flush_ms))) {
      sink_.flush();
      if (should_stop_()) {  // the signal that ended the wait: read() would block past it
        stopped_ = true;
        return false;
      }
    }
    if (!in_.next(rec_, payload_)) {
      stopped_ = should_stop_();
      return false;
    }
    return true;
  }

  // A record inside the window, when it is due, to the sink; false when a stop came while waiting.
  bool replay_record() {
    // While the next record is not due yet, the replay's clock still moves: progress shows where the schedule is (a
    // 0.02x replay can wait minutes between records) rather than standing at the last record. (Paused, nothing
    // moves: no report, so a paused job's figures stand still.)
    auto each_nap = [&](int64_t left_us) {
      if (left_us < 0) return;
      if (cfg_.pacing.speed > 0) {
        const int64_t at = rec_.commit_time() - static_cast<int64_t>(static_cast<double>(left_us) * cfg_.pacing.speed);
        prog_.replayed_time = std::max(prog_.replayed_time, at);
      }
      report(false);
    };
    if (!pacer_.wait(
            rec_.commit_time(), tx_first_, should_stop_, [&] { sink_.flush(); }, each_nap))
      return false;
    tx_first_ = false;
    const bool marker = rec_.op() == shadowstream::v1::OPERATION_CHECKPOINT_BEGIN ||
                        rec_.op() == shadowstream::v1::OPERATION_CHECKPOINT_END;
    if (marker) tx_checkpoint_ = true;
    if (marker && !cfg_.window.tables.empty()) narrow_checkpoint();
    // A replay's records are history: their commit-to-sink time says nothing, so no latency is observed.
    metrics::Stage& m = metrics::stage();
    if (sink_.write(rec_, payload_)) {
      ++prog_.done;
      prog_.last = {rec_.commit_lsn(), rec_.ordinal()};
      prog_.replayed_time = rec_.commit_time();
      if (hooks_.metrics) {
        m.records_out.Increment();
        m.bytes_out.Increment(static_cast<double>(payload_.size()));
        m.position(rec_.commit_lsn(), rec_.commit_time());
      }
    } else {
      ++prog_.duplicates;
      if (hooks_.metrics) m.duplicates.Increment();
    }
    tx_open_ = true;
    return true;
  }

  // A checkpoint marker's table list narrowed to the window's tables.
  void narrow_checkpoint() {
    auto* tables = rec_.mutable_checkpoint()->mutable_tables();
    for (int i = tables->size() - 1; i >= 0; --i) {
      ChangeRecord named;
      named.set_commit_time(rec_.commit_time());
      named.set_commit_lsn(rec_.commit_lsn());
      named.set_ordinal(rec_.ordinal());
      named.set_schema(tables->Get(i).schema());
      named.set_table(tables->Get(i).table());
      if (!cfg_.window.contains(named)) tables->DeleteSubrange(i, 1);
    }
    narrowed_ = rec_.SerializeAsString();
    payload_ = narrowed_;
  }

  void report(bool force) {
    if (!hooks_.on_progress) return;
    int64_t now = pacing::mono_us();
    if (!force && now - last_report_ < hooks_.progress_interval_us) return;
    last_report_ = now;
    prog_.lag_us = pacer_.lag_us();
    prog_.paused = hooks_.gate && hooks_.gate->paused();
    hooks_.on_progress(prog_);
  }

  void end_tx() {
    if (!tx_open_) return;
    sink_.end_tx();
    tx_open_ = false;
    ++prog_.transactions;
  }

  void finish() {
    if (tx_open_) {
      // A window cut inside a checkpoint leaves its tables emptied and partly loaded: never commit that.
      if (stopped_ || (!cut_ && !input_at_tx_end_) || (cut_ && tx_checkpoint_)) {
        if (sink_.abort_tx())
          log::warn(std::string(stopped_ ? "stopped" : "input ended") + " inside the transaction at " +
                    format_lsn(tx_lsn_) + ": its changes were not applied (a rerun applies them once it is whole)");
      } else {
        end_tx();
      }
    }
    sink_.flush();
    prog_.finished = !stopped_;
    report(true);
  }

  const Config& cfg_;
  FrameReader& in_;
  Sink& sink_;
  const Hooks& hooks_;
  const std::function<bool()> should_stop_;
  pacing::Pacer pacer_;
  const bool paced_;
  Progress prog_;
  ChangeRecord rec_;
  std::string_view payload_;
  bool have_tx_ = false;  // a transaction has been seen
  uint64_t tx_lsn_ = 0;   // its commit LSN
  bool tx_open_ = false;  // records of it went to the sink
  bool tx_first_ = true;  // the next replayed record is the first of its transaction
  bool input_at_tx_end_ = true;
  bool cut_ = false, stopped_ = false;
  bool tx_checkpoint_ = false;  // the open transaction is a checkpoint: only its end marker may commit it
  std::string narrowed_;        // a checkpoint marker's payload, its table list narrowed to the window's tables
  int64_t last_report_ = pacing::mono_us();
};

}  // namespace

Progress run(const Config& cfg, FrameReader& in, Sink& sink, const Hooks& hooks) {
  return Run(cfg, in, sink, hooks).run();
}

namespace {
pacing::PauseGate* g_gate = nullptr;

void on_tstp(int) {
  if (g_gate) g_gate->pause();
  raise(SIGSTOP);
}
void on_cont(int) {
  if (g_gate) g_gate->resume();
}
}  // namespace

void install_pause_signals(pacing::PauseGate* gate) {
  g_gate = gate;
  struct sigaction sa {};
  sigemptyset(&sa.sa_mask);
  sa.sa_handler = on_tstp;
  sigaction(SIGTSTP, &sa, nullptr);
  sa.sa_handler = on_cont;
  sigaction(SIGCONT, &sa, nullptr);
}

Config config_of(const shadowstream::v1::ReplayRequest& r) {
  Config c;
  c.pacing.speed = r.speed_factor();
  c.pacing.rate = r.rate();
  c.pacing.max_gap_us = r.max_gap_us();
  if (r.start_time()) c.window.since_us = r.start_time();
  if (r.end_time()) c.window.until_us = r.end_time();
  if (r.from_lsn()) c.window.from = Position{r.from_lsn(), 0};
  if (r.to_lsn()) c.window.to = Position{r.to_lsn(), UINT64_MAX};
  for (const auto& t : r.tables()) c.window.add_table(t);
  return c;
}

std::optional<shadowstream::v1::OnError> on_error_named(std::string_view name) {
  std::string upper = "ON_ERROR_";
  for (char c : name) upper += static_cast<char>(std::toupper(static_cast<unsigned char>(c)));
  shadowstream::v1::OnError v;
  if (name.empty() || name == "unspecified" || !shadowstream::v1::OnError_Parse(upper, &v)) return std::nullopt;
  return v;
}

std::optional<apply::OnError> on_error_of(const shadowstream::v1::ReplayRequest& r) {
  std::optional<shadowstream::v1::OnError> named;
  if (!r.on_error_name().empty() && !(named = on_error_named(r.on_error_name()))) return std::nullopt;
  shadowstream::v1::OnError mode = r.on_error();
  if (mode == shadowstream::v1::ON_ERROR_UNSPECIFIED) mode = named.value_or(shadowstream::v1::ON_ERROR_STOP);
  if (named && *named != mode) return std::nullopt;
  switch (mode) {
    case shadowstream::v1::ON_ERROR_STOP:
      return apply::OnError::kStop;
    case shadowstream::v1::ON_ERROR_SKIP:
      return apply::OnError::kSkip;
    case shadowstream::v1::ON_ERROR_LOG:
      return apply::OnError::kLog;
    default:
      return std::nullopt;
  }
}

apply::Config apply_config_of(const shadowstream::v1::ReplayRequest& r, apply::Config ac) {
  ac.conninfo = r.target();
  ac.create_tables = r.create_tables();
  ac.concurrent_indexes = r.concurrent_indexes();
  ac.no_base = r.no_base();
  // A rebuild's intermediate states are not watched: at full speed, transactions are grouped and their rows folded.
  ac.group.enabled = r.speed_factor() == 0 && r.rate() == 0;
  ac.on_error = on_error_of(r).value_or(apply::OnError::kStop);
  return ac;
}

}  // namespace ss::replay
