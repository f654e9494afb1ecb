#include "replay/replay.h"

#include <signal.h>

#include "core/error.h"
#include "core/log.h"
#include "core/metrics.h"
#include "core/signals.h"
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

Progress run(const Config& cfg, FrameReader& in, Sink& sink, const Hooks& hooks) {
  auto should_stop = hooks.should_stop ? hooks.should_stop : [] { return stop_requested(); };
  pacing::Pacer pacer(cfg.pacing, hooks.gate);
  Progress prog;
  ChangeRecord rec;
  std::string_view payload;
  bool have_tx = false;  // a transaction has been seen
  uint64_t tx_lsn = 0;   // its commit LSN
  bool tx_open = false;  // records of it went to the sink
  bool tx_first = true;  // the next replayed record is the first of its transaction
  bool input_at_tx_end = true;
  bool cut = false, stopped = false;
  bool tx_checkpoint = false;  // the open transaction is a checkpoint: only its end marker may commit it
  std::string narrowed;        // a checkpoint marker's payload, its table list narrowed to the window's tables
  int64_t last_report = pacing::mono_us();
  const bool paced = cfg.pacing.paced();

  auto report = [&](bool force) {
    if (!hooks.on_progress) return;
    int64_t now = pacing::mono_us();
    if (!force && now - last_report < hooks.progress_interval_us) return;
    last_report = now;
    prog.lag_us = pacer.lag_us();
    prog.paused = hooks.gate && hooks.gate->paused();
    hooks.on_progress(prog);
  };
  auto end_tx = [&] {
    if (!tx_open) return;
    sink.end_tx();
    tx_open = false;
    ++prog.transactions;
  };

  for (;;) {
    if (should_stop()) {
      stopped = true;
      break;
    }
    // Between transactions, input that goes quiet (a live stream followed) lets the sink make what it holds visible
    // (a grouped target commits its group) instead of holding it until more comes.
    if (!tx_open && in.buffered() == 0 && !in.readable(static_cast<int>(hooks.idle_flush_ms))) {
      sink.flush();
      if (should_stop()) {  // the signal that ended the wait: read() would block past it
        stopped = true;
        break;
      }
    }
    if (!in.next(rec, payload)) {
      stopped = should_stop();
      break;
    }
    ++prog.read;
    if (!have_tx || rec.commit_lsn() != tx_lsn) {
      // The previous transaction's last record may have been filtered out; it is complete all the same.
      end_tx();
      have_tx = true;
      tx_lsn = rec.commit_lsn();
      tx_first = true;
      tx_checkpoint = false;
    }
    input_at_tx_end = rec.tx_last();
    if (cfg.window.past_end(rec)) {
      cut = true;
      break;
    }
    if (cfg.window.contains(rec)) {
      // While the next record is not due yet, the replay's clock still moves: progress shows where the schedule
      // is (a 0.02x replay can wait minutes between records) rather than standing at the last record.
      // (Paused, nothing moves: no report, so a paused job's figures stand still.)
      auto each_nap = [&](int64_t left_us) {
        if (left_us < 0) return;
        if (cfg.pacing.speed > 0) {
          const int64_t at = rec.commit_time() - static_cast<int64_t>(static_cast<double>(left_us) * cfg.pacing.speed);
          prog.replayed_time = std::max(prog.replayed_time, at);
        }
        report(false);
      };
      if (!pacer.wait(
              rec.commit_time(), tx_first, should_stop, [&] { sink.flush(); }, each_nap)) {
        stopped = true;
        break;
      }
      tx_first = false;
      const bool marker = rec.op() == shadowstream::v1::OPERATION_CHECKPOINT_BEGIN ||
                          rec.op() == shadowstream::v1::OPERATION_CHECKPOINT_END;
      if (marker) tx_checkpoint = true;
      if (marker && !cfg.window.tables.empty()) {
        auto* tables = rec.mutable_checkpoint()->mutable_tables();
        for (int i = tables->size() - 1; i >= 0; --i) {
          ChangeRecord named;
          named.set_commit_time(rec.commit_time());
          named.set_commit_lsn(rec.commit_lsn());
          named.set_ordinal(rec.ordinal());
          named.set_schema(tables->Get(i).schema());
          named.set_table(tables->Get(i).table());
          if (!cfg.window.contains(named)) tables->DeleteSubrange(i, 1);
        }
        narrowed = rec.SerializeAsString();
        payload = narrowed;
      }
      // A replay's records are history: their commit-to-sink time says nothing, so no latency is observed.
      metrics::Stage& m = metrics::stage();
      if (sink.write(rec, payload)) {
        ++prog.done;
        prog.last = {rec.commit_lsn(), rec.ordinal()};
        prog.replayed_time = rec.commit_time();
        if (hooks.metrics) {
          m.records_out.Increment();
          m.bytes_out.Increment(static_cast<double>(payload.size()));
          m.position(rec.commit_lsn(), rec.commit_time());
        }
      } else {
        ++prog.duplicates;
        if (hooks.metrics) m.duplicates.Increment();
      }
      tx_open = true;
    }
    if (rec.tx_last()) end_tx();
    // Paced, every record counts (a slow replay reports each one); at full speed a clock read per 64 is enough.
    if (paced || (prog.read & 63) == 0) report(false);
  }

  if (tx_open) {
    // A window cut inside a checkpoint leaves its tables emptied and partly loaded: never commit that.
    if (stopped || (!cut && !input_at_tx_end) || (cut && tx_checkpoint)) {
      if (sink.abort_tx())
        log::warn(std::string(stopped ? "stopped" : "input ended") + " inside the transaction at " +
                  format_lsn(tx_lsn) + ": its changes were not applied (a rerun applies them once it is whole)");
    } else {
      end_tx();
    }
  }
  sink.flush();
  prog.finished = !stopped;
  report(true);
  return prog;
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

apply::Config apply_config_of(const shadowstream::v1::ReplayRequest& r, apply::Config ac) {
  ac.conninfo = r.target();
  ac.create_tables = r.create_tables();
  // A rebuild's intermediate states are not watched: at full speed, transactions are grouped and their rows folded.
  ac.group.enabled = r.speed_factor() == 0 && r.rate() == 0;
  ac.on_error = r.on_error() == "skip"  ? apply::OnError::kSkip
                : r.on_error() == "log" ? apply::OnError::kLog
                                        : apply::OnError::kStop;
  return ac;
}

}  // namespace ss::replay
