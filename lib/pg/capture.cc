#include "pg/capture.h"

#include <poll.h>
#include <unistd.h>

#include <deque>
#include <memory>
#include <unordered_map>
#include <unordered_set>

#include "core/ack.h"
#include "core/error.h"
#include "core/frames.h"
#include "core/log.h"
#include "core/metrics.h"
#include "core/position.h"
#include "core/signals.h"
#include "core/type_name.h"
#include "pg/conn.h"
#include "pg/ddl.h"
#include "pg/pgoutput.h"
#include "pg/replication.h"
#include "pg/slot.h"
#include "pg/snapshot.h"
#include "shadowstream.pb.h"

namespace ss::capture {

using shadowstream::v1::ChangeRecord;

namespace {

// A transaction emitted downstream but not yet known to be durable there.
struct InFlight {
  uint64_t commit_lsn;
  uint64_t last_ordinal;
  uint64_t end_lsn;  // what confirming this transaction reports to PostgreSQL
  bool empty;        // nothing of it was emitted (all excluded): durable as soon as what precedes it is
};

class Capture {
 public:
  Capture(const Config& cfg, int out_fd) : cfg_(cfg), out_(out_fd) {
    out_is_file_ = is_regular_file(out_fd);
    for (const auto& t : cfg.exclude_tables) {
      auto [s, n] = pg::split_table_name(t);
      excluded_.insert(s + "." + n);
    }
    if (!cfg.ack_from.empty())
      acks_ = std::make_unique<AckReader>(cfg.ack_from);
    else if (!out_is_file_)
      log::info(
          "stdout is not a file and there is no --ack-from: nothing is confirmed to PostgreSQL, so the slot "
          "keeps its WAL and a restart resends from the last confirmed position (the supervisor wires acks)");
  }

  int run() {
    if (cfg_.ddl != DdlAction::kNone) {  // a plain connection: the trigger needs no replication privilege
      sql_ = pg::connect(cfg_.conninfo);
      source_.set_database(PQdb(sql_.get()));
      return ddl::install_or_remove(sql_.get(), source_.database(), cfg_.ddl == DdlAction::kUninstall);
    }
    connect();
    if (cfg_.drop_slot_only) return drop_slot(true);
    slot::require_logical_wal(sql_.get());
    ensure_publication();
    if (cfg_.checkpoint) return checkpoint();
    bool exists = slot_exists();
    if (cfg_.recover) return recover(exists);
    slot::check_mark(cfg_.slot_mark, repl_.get(), cfg_.slot, exists);
    // Installed before the slot exists, so the slot sees every schema change after its first position.
    if (!exists && cfg_.install_ddl) ddl::install_or_remove(sql_.get(), source_.database(), false);
    ddl::say_mode(sql_.get(), source_.database(), !exists);
    if (!exists) {
      bool snap = cfg_.snapshot != SnapshotMode::kNever && !cfg_.create_slot_only;
      auto [cp, snapshot_name] = create_slot(snap);
      log::notice("created replication slot " + cfg_.slot + " at " + format_lsn(cp) +
                  ": the server keeps WAL for it until it is dropped (ss-capture --drop-slot --slot " + cfg_.slot +
                  ")");
      if (cfg_.create_slot_only) return mark_slot();
      if (snap) {
        bool complete = false;
        try {
          complete = take_snapshot(snapshot_name, cp).complete;
        } catch (...) {
          // An incomplete snapshot must be taken again; a slot left behind would make the next run skip it.
          abandon_slot();
          throw;
        }
        if (!complete || stop_requested()) {
          abandon_slot();
          return kExitOk;
        }
      }
      if (cfg_.snapshot == SnapshotMode::kOnly) return mark_slot();
    } else if (cfg_.create_slot_only) {
      throw Error(kExitTempFail, "replication slot " + cfg_.slot + " already exists");
    } else if (cfg_.snapshot == SnapshotMode::kOnly) {
      throw Error(kExitUsage, "--snapshot only needs a new slot, and " + cfg_.slot +
                                  " exists (drop it with --drop-slot, or pick another --slot)");
    }
    mark_slot();
    stream_with_reconnect();
    return kExitOk;
  }

 private:
  // ---- connections and catalog ---------------------------------------------------------------------------------
  void connect() {
    sql_ = pg::connect(cfg_.conninfo);
    repl_ = pg::connect(cfg_.conninfo, "database");
    pg::Result id = pg::exec(repl_.get(), "IDENTIFY_SYSTEM");
    const std::string system = PQgetvalue(id.get(), 0, 0);
    const auto timeline = static_cast<uint32_t>(std::stoul(PQgetvalue(id.get(), 0, 1)));
    if (!source_.system_id().empty()) say_failover(system, timeline);
    source_.set_system_id(system);
    source_.set_timeline(timeline);
    source_.set_database(PQgetvalue(id.get(), 0, 3));
    source_.set_name(cfg_.source_name.empty() ? source_.database() : cfg_.source_name);
    source_.set_slot(cfg_.slot);
    load_type_names();
  }

  // A reconnection that reached another server: a promoted standby of the same cluster goes on from the slot (a
  // failover slot, PostgreSQL 17), said in one line; another cluster's positions mean nothing here.
  void say_failover(const std::string& system, uint32_t timeline) {
    const std::string where = std::string(PQhost(repl_.get())) + ":" + PQport(repl_.get());
    if (system != source_.system_id())
      throw Error(kExitConfig, "the source at " + where + " is another cluster (system identifier " + system +
                                   ", was " + source_.system_id() + "): its positions are not this slot's");
    if (timeline != source_.timeline())
      failed_over_ =
          where + ", timeline " + std::to_string(timeline) + " (was " + std::to_string(source_.timeline()) + ")";
  }

  void load_type_names() {
    pg::Result r = pg::exec(
        sql_.get(), "SELECT t.oid, n.nspname, t.typname FROM pg_type t JOIN pg_namespace n ON n.oid = t.typnamespace");
    for (int i = 0; i < PQntuples(r.get()); ++i)
      type_names_[static_cast<uint32_t>(std::stoul(PQgetvalue(r.get(), i, 0)))] =
          catalog_type_name(PQgetvalue(r.get(), i, 1), PQgetvalue(r.get(), i, 2));
  }

  std::string type_name(uint32_t oid) {
    auto it = type_names_.find(oid);
    if (it != type_names_.end()) return it->second;
    load_type_names();  // a type created since start-up (a new enum, domain or composite)
    it = type_names_.find(oid);
    return it != type_names_.end() ? it->second : std::string();
  }

  void ensure_publication() {
    keyless_at_start_ = slot::ensure_publication(
        sql_.get(), cfg_.publication, {cfg_.tables, cfg_.all_tables, cfg_.allow_keyless, cfg_.via_partition_root});
  }
  bool slot_exists() { return slot::exists(sql_.get(), cfg_.slot, source_.database()); }
  std::pair<uint64_t, std::string> create_slot(bool export_snapshot) {
    return slot::create(repl_.get(), cfg_.slot, export_snapshot);
  }
  int drop_slot(bool on_purpose = false) {
    slot::drop(sql_.get(), repl_.get(), cfg_.slot, source_.database(), cfg_.publication);
    if (on_purpose) slot::unmark(cfg_.slot_mark);
    return kExitOk;
  }
  int mark_slot(bool recovering = false) {
    if (recovering || cfg_.recover || !slot::marked(cfg_.slot_mark))
      slot::mark(cfg_.slot_mark, cfg_.slot, source_.system_id(), recovering);
    return kExitOk;
  }

  void abandon_slot() {
    try {
      repl_ = pg::connect(cfg_.conninfo, "database");
      drop_slot();
      log::warn("snapshot incomplete: dropped slot " + cfg_.slot + " so the next run takes it again");
    } catch (const std::exception& e) {
      log::warn(std::string("snapshot incomplete, and the slot could not be dropped: ") + e.what() +
                "; drop it with --drop-slot before running again");
    }
  }

  // ---- emission ----------------------------------------------------------------------------------------------------
  // One record is held back so that tx_last can be set on the last record of a transaction when its Commit arrives.
  void stage(ChangeRecord& rec) {
    if (has_pending_) write(pending_);
    pending_.Swap(&rec);
    has_pending_ = true;
  }
  void finish_tx() {
    if (!has_pending_) return;
    pending_.set_tx_last(true);
    write(pending_);
    has_pending_ = false;
  }
  void write(const ChangeRecord& rec) {
    try {
      out_.write(rec);
    } catch (const Error& e) {
      if (e.code() != kExitDataErr) throw;
      throw Error(kExitDataErr, std::string(e.what()) + ": " + rec.schema() + "." + rec.table() + " at position " +
                                    format_position({rec.commit_lsn(), rec.ordinal()}));
    }
    last_emitted_ = Position{rec.commit_lsn(), rec.ordinal()};
    ++emitted_;
    metrics::stage().delivered(rec.commit_lsn(), rec.commit_time(), static_cast<size_t>(rec.GetCachedSize()), now_us());
  }

  // ---- snapshot ----------------------------------------------------------------------------------------------------
  // The initial snapshot is checkpoint zero: the same records as any checkpoint, at the slot's consistent point.
  snapshot::Result take_snapshot(const std::string& snapshot_name, uint64_t cp) {
    snapshot::Request r{cfg_.conninfo,
                        cfg_.publication,
                        excluded_,
                        source_,
                        snapshot_name,
                        cp,
                        [this](uint32_t oid) { return type_name(oid); },
                        cfg_.jobs,
                        isatty(STDERR_FILENO) == 1,
                        !cfg_.checkpoint && !cfg_.recover,
                        cfg_.recover};
    snapshot::Result res = snapshot::write_checkpoint(sql_.get(), r, out_);
    last_emitted_ = res.last;
    emitted_ += res.frames;
    // Its records count as any others do: what the capture handed on, as its sinks count them.
    metrics::Stage& m = metrics::stage();
    m.records_out.Increment(static_cast<double>(res.frames));
    m.bytes_out.Increment(static_cast<double>(res.bytes));
    m.position(res.last.lsn, now_us());
    if (res.complete) log::info("checkpoint complete: " + std::to_string(res.rows) + " rows at " + format_lsn(cp));
    return res;
  }

  // --checkpoint: a checkpoint of its own, from a temporary slot whose exported snapshot the workers share. The
  // running capture is not involved: its slot, its connections and its position are untouched.
  int checkpoint() {
    // One checkpoint of a publication at a time: two would only cost the database twice.
    const std::string publication = pg::quote_literal(sql_.get(), cfg_.publication);
    pg::Result locked = pg::exec(
        sql_.get(), "SELECT pg_try_advisory_lock(hashtext('shadowstream checkpoint'), hashtext(" + publication + "))");
    if (PQgetvalue(locked.get(), 0, 0)[0] != 't')
      throw Error(kExitTempFail, "another checkpoint of publication " + cfg_.publication + " is running");
    std::string slot = "ss_checkpoint_" + std::to_string(getpid());
    auto [cp, snapshot_name] = slot::create(repl_.get(), slot, true, true);
    log::info("checkpoint at " + format_lsn(cp) + " (temporary slot " + slot + ")");
    snapshot::Result res = take_snapshot(snapshot_name, cp);
    if (!res.complete)
      throw Error(kExitTempFail, "stopped before the checkpoint at " + format_lsn(cp) +
                                     " was complete; without its end marker, readers ignore it");
    return kExitOk;
  }

  // --recover: a new slot for a lost one, and a checkpoint from it marked as following a gap (ss-archive bounds it).
  int recover(bool exists) {
    // A recovery that did not finish left its slot (the mark says so): made again.
    if (exists && !slot::recovering(cfg_.slot_mark))
      throw Error(kExitUsage, "replication slot " + cfg_.slot + " exists: nothing to recover");
    if (exists) drop_slot();
    mark_slot(true);
    auto [cp, snapshot_name] = create_slot(true);
    log::notice("recovering: created replication slot " + cfg_.slot + " at " + format_lsn(cp) +
                ", its checkpoint next");
    snapshot::Result res;
    try {
      res = take_snapshot(snapshot_name, cp);
    } catch (...) {
      abandon_slot();
      throw;
    }
    if (res.complete) return mark_slot();
    abandon_slot();
    throw Error(kExitTempFail, "stopped before the checkpoint at " + format_lsn(cp) + " was complete: --recover again");
  }

  // ---- streaming ---------------------------------------------------------------------------------------------------
  void stream_with_reconnect() {
    Backoff backoff(cfg_.max_backoff_us);
    for (;;) {
      try {
        stream();
        return;
      } catch (const Error& e) {
        if (e.code() != kExitUnavailable || stop_requested()) throw;
        metrics::retried();
        log::warn(std::string(e.what()) + "; reconnecting in " + backoff.delay_text());
      }
      out_.flush();  // what was held (kCoalesceUs) goes downstream before the wait
      if (!backoff.wait()) return;
      try {
        connect();
        backoff.reset();
      } catch (const Error& e) {
        if (e.code() != kExitUnavailable) throw;
        log::warn(e.what());
      }
    }
  }

  void stream() {
    decoder_ =
        std::make_unique<pgoutput::Decoder>([this](uint32_t oid) { return type_name(oid); },
                                            [this](uint32_t oid) { return ddl::missing_values(sql_.get(), oid); });
    in_tx_ = false;
    has_pending_ = false;
    slot::start(repl_.get(), cfg_.slot, cfg_.publication, cfg_.start_lsn.value_or(0),
                std::string(failed_over_.empty() ? "" : "the source failed over, and ") +
                    slot::gone_line(repl_.get(), cfg_.slot, " (timeline " + std::to_string(source_.timeline()) + ")",
                                    "changes after " + format_lsn(confirmed_) + " are lost to it"));
    log::info("streaming from slot " + cfg_.slot);
    if (!failed_over_.empty())
      log::notice("the source failed over: slot " + cfg_.slot + " goes on at " + failed_over_ +
                  ", from its position there (downstream drops what it already has; confirmed here: " +
                  format_lsn(confirmed_) + ")");
    failed_over_.clear();
    int64_t last_status = 0;
    last_activity_ = now_us();
    while (!done_ && !stop_requested()) {
      char* raw = nullptr;
      int n = PQgetCopyData(repl_.get(), &raw, 1);
      if (n > 0) {
        pg::Buffer buf(raw);
        handle(raw, static_cast<size_t>(n));
        continue;
      }
      if (n == -2) throw Error(kExitUnavailable, "lost replication connection: " + pg::error_text(repl_.get()));
      if (n == -1) {  // the server ended the COPY
        pg::Result end(PQgetResult(repl_.get()));
        if (PQresultStatus(end.get()) != PGRES_COMMAND_OK)
          throw Error(kExitUnavailable, "replication ended: " + pg::error_text(repl_.get()));
        break;
      }
      // Nothing more buffered: output goes downstream before waiting, unless held (kCoalesceUs).
      const bool hold = out_.pending() > 0 && mono_us() - last_write_us_ < kCoalesceUs;
      if (!hold) make_durable();
      int64_t now = now_us();
      if (cfg_.heartbeat_us > 0 && now - last_activity_ >= cfg_.heartbeat_us) heartbeat(now);
      if (reply_requested_ || now - last_status >= cfg_.status_interval_us ||
          (confirmed_ > reported_ && now - last_status >= 1'000'000)) {
        send_status();
        last_status = now;
      }
      wait_for_input(last_status, hold);
      if (PQconsumeInput(repl_.get()) == 0)
        throw Error(kExitUnavailable, "lost replication connection: " + pg::error_text(repl_.get()));
    }
    make_durable();
    send_status();
    PQputCopyEnd(repl_.get(), nullptr);
    PQflush(repl_.get());
  }

  void wait_for_input(int64_t last_status, bool hold) {
    int64_t now = now_us();
    int64_t timeout_us = std::max<int64_t>(0, last_status + cfg_.status_interval_us - now);
    if (hold) timeout_us = std::min(timeout_us, std::max<int64_t>(0, last_write_us_ + kCoalesceUs - mono_us()));
    if (cfg_.heartbeat_us > 0)
      timeout_us = std::min(timeout_us, std::max<int64_t>(0, last_activity_ + cfg_.heartbeat_us - now));
    if (acks_) timeout_us = std::min<int64_t>(timeout_us, acks_->poll_fd() >= 0 ? 1'000'000 : 200'000);
    pollfd fds[2] = {{PQsocket(repl_.get()), POLLIN, 0}, {acks_ && !hold ? acks_->poll_fd() : -1, POLLIN, 0}};
    ::poll(fds, 2, static_cast<int>(timeout_us / 1000) + 1);
  }

  void handle(const char* buf, size_t n) {
    replication::ServerMessage m = replication::parse_server_message(std::string_view(buf, n));
    if (m.kind == replication::ServerMessage::Kind::kXLogData) {
      received_ = std::max(received_, m.wal_end);
      last_activity_ = now_us();
      on_message(m.data, m.wal_start);
    } else if (m.kind == replication::ServerMessage::Kind::kKeepalive) {
      received_ = std::max(received_, m.wal_end);
      // A keepalive carries the walsender's sent pointer: every transaction committed before it was sent to us
      // already, so it is safe to confirm once all of those are durable.
      keepalive_end_ = std::max(keepalive_end_, m.wal_end);
      note_lag();
      if (m.reply_requested) reply_requested_ = true;
      if (!in_tx_ && cfg_.endpos && m.wal_end >= *cfg_.endpos) done_ = true;
    }
  }

  // A table published without a key (one created after the publication, in a FOR ALL TABLES one) makes the
  // application's UPDATE and DELETE on it fail: said once per relation, with what fixes it.
  void warn_keyless(uint32_t oid) {
    const pgoutput::Relation* rel = decoder_->relation(oid);
    if (!rel || !keyless_warned_.insert(oid).second) return;
    const bool key = std::any_of(rel->columns.begin(), rel->columns.end(), [](auto& c) { return c.is_key; });
    if (slot::publishes_safely(rel->replica_identity, key, key)) return;
    // Named as the catalog query at start names it (format's %I), so a table warned about then is not again.
    pg::Result name = pg::exec(sql_.get(), "SELECT format('%I.%I', " + pg::quote_literal(sql_.get(), rel->schema) +
                                               ", " + pg::quote_literal(sql_.get(), rel->table) + ")");
    const std::string table = PQgetvalue(name.get(), 0, 0);
    if (std::find(keyless_at_start_.begin(), keyless_at_start_.end(), table) != keyless_at_start_.end()) return;
    log::warn("publication " + cfg_.publication + " publishes " +
              slot::keyless_advice({table}, pg::quote_ident(sql_.get(), cfg_.publication), true));
  }

  void on_message(std::string_view msg, uint64_t wal_start) {
    const pgoutput::Event& ev = decoder_->decode(msg);
    switch (ev.kind) {
      case pgoutput::Kind::kBegin:
        if (cfg_.endpos && ev.lsn > *cfg_.endpos) {
          done_ = true;
          return;
        }
        in_tx_ = true;
        tx_lsn_ = ev.lsn;
        tx_time_ = ev.time_us;
        tx_xid_ = ev.xid;
        tx_ordinal_ = 0;
        origin_.clear();
        origin_lsn_ = 0;
        break;
      case pgoutput::Kind::kRelation:
        warn_keyless(ev.relation_oid);
        break;
      case pgoutput::Kind::kOrigin:
        origin_ = ev.record.origin();
        origin_lsn_ = ev.record.origin_lsn();
        break;
      case pgoutput::Kind::kChange: {
        pgoutput::Event e = ev;
        do {
          add_change(e.record, wal_start);
        } while (decoder_->next_truncate(e));
        break;
      }
      case pgoutput::Kind::kMessage: {
        if (std::optional<ChangeRecord> schema = ddl::schema_record(ev.record)) {
          add_schema(*schema, wal_start);
          break;
        }
        ChangeRecord rec = ev.record;
        if (rec.message().prefix() == kHeartbeatPrefix) rec.set_op(shadowstream::v1::OPERATION_HEARTBEAT);
        if (ev.transactional && in_tx_) {
          add_change(rec, wal_start);
        } else {
          if (cfg_.endpos && ev.lsn > *cfg_.endpos) {
            done_ = true;
            return;
          }
          // Outside any transaction: its own position, complete in itself.
          *rec.mutable_source() = source_;
          rec.set_commit_lsn(ev.lsn);
          rec.set_ordinal(0);
          rec.set_tx_last(true);
          rec.set_commit_time(now_us());
          rec.set_change_lsn(wal_start);
          if (Position{ev.lsn, 0} > last_emitted_) {
            write(rec);
            in_flight_.push_back({ev.lsn, 0, ev.lsn + 1, false});
          }
        }
        break;
      }
      case pgoutput::Kind::kCommit: {
        bool emitted = has_pending_;
        uint64_t last_ord = has_pending_ ? pending_.ordinal() : 0;
        finish_tx();
        if (tx_lsn_ > last_tracked_) {
          in_flight_.push_back({tx_lsn_, last_ord, ev.end_lsn, !emitted});
          last_tracked_ = tx_lsn_;
        }
        in_tx_ = false;
        if (cfg_.endpos && ev.end_lsn >= *cfg_.endpos) done_ = true;
        break;
      }
      default:
        break;
    }
  }

  void add_change(ChangeRecord& rec, uint64_t wal_start) {
    uint64_t ordinal = tx_ordinal_++;
    if (!rec.table().empty() && excluded_.count(rec.schema() + "." + rec.table())) return;
    if (Position{tx_lsn_, ordinal} <= last_emitted_) return;  // already emitted before a reconnect
    *rec.mutable_source() = source_;
    rec.set_commit_lsn(tx_lsn_);
    rec.set_ordinal(ordinal);
    rec.set_xid(tx_xid_);
    rec.set_commit_time(tx_time_);
    rec.set_change_lsn(wal_start);
    if (!origin_.empty()) {
      rec.set_origin(origin_);
      rec.set_origin_lsn(origin_lsn_);
    }
    stage(rec);
  }

  // Another publication's schema record takes its ordinal, as an excluded table's change does, so positions do not
  // depend on which publication reads the transaction.
  void add_schema(ChangeRecord& rec, uint64_t wal_start) {
    if (ddl::carried_by(rec, cfg_.publication))
      add_change(rec, wal_start);
    else
      ++tx_ordinal_;
  }

  // Flushes output and advances `confirmed_` over every transaction known to be durable downstream.
  void make_durable() {
    if (out_.pending() > 0) last_write_us_ = mono_us();
    out_.flush();
    std::optional<Position> durable;
    if (acks_) {
      durable = acks_->poll_acks();
    } else if (emitted_ > 0 && out_is_file_) {
      // Without acknowledgements: a regular file is durable once fsynced (as pg_recvlogical does). Written to a
      // pipe is not stored: nothing is confirmed, and a restart resends from the slot's confirmed position.
      if (emitted_ != synced_) {
        out_.sync();
        synced_ = emitted_;
      }
      durable = last_emitted_;
    }
    while (!in_flight_.empty()) {
      const InFlight& t = in_flight_.front();
      bool ok = t.empty || (durable && (t.commit_lsn < durable->lsn ||
                                        (t.commit_lsn == durable->lsn && t.last_ordinal <= durable->ordinal)));
      if (!ok) break;
      confirmed_ = std::max(confirmed_, t.end_lsn);
      in_flight_.pop_front();
    }
    // Idle and everything acknowledged: PostgreSQL's keepalives tell how far WAL has moved without anything for us;
    // confirming that keeps the slot from pinning WAL on a quiet database.
    if (in_flight_.empty() && !in_tx_ && keepalive_end_ > confirmed_) confirmed_ = keepalive_end_;
  }

  void heartbeat(int64_t now) {
    last_activity_ = now;
    if (cfg_.heartbeat_message) {
      try {
        pg::exec(sql_.get(),
                 "SELECT pg_logical_emit_message(false, '" + std::string(kHeartbeatPrefix) + "', now()::text)");
      } catch (const Error& e) {
        log::warn(std::string("heartbeat message failed: ") + e.what());
      }
    }
    reply_requested_ = true;
  }

  // The WAL the server has sent past what the slot has confirmed: what PostgreSQL keeps for us.
  void note_lag() {
    uint64_t end = std::max(received_, keepalive_end_);
    metrics::stage().slot_lag_bytes.Set(end > confirmed_ ? static_cast<double>(end - confirmed_) : 0.0);
  }

  void send_status() {
    std::string msg = replication::standby_status(std::max(received_, confirmed_), confirmed_, confirmed_, now_us());
    if (PQputCopyData(repl_.get(), msg.data(), static_cast<int>(msg.size())) <= 0 || PQflush(repl_.get()) != 0)
      throw Error(kExitUnavailable, "lost replication connection: " + pg::error_text(repl_.get()));
    reported_ = confirmed_;
    reply_requested_ = false;
    note_lag();
    log::debug("confirmed flush " + format_lsn(confirmed_));
  }

  static constexpr const char* kHeartbeatPrefix = "shadowstream.heartbeat";
  const Config& cfg_;
  FrameWriter out_;
  bool out_is_file_ = false;
  std::unique_ptr<AckReader> acks_;
  std::unordered_set<std::string> excluded_;
  std::unordered_set<uint32_t> keyless_warned_;  // relations already warned about (warn_keyless)
  std::vector<std::string> keyless_at_start_;    // ... and the tables ensure_publication warned about
  pg::Conn sql_, repl_;
  shadowstream::v1::Source source_;
  std::unordered_map<uint32_t, std::string> type_names_;
  std::unique_ptr<pgoutput::Decoder> decoder_;

  ChangeRecord pending_;
  bool has_pending_ = false;
  Position last_emitted_;
  uint64_t emitted_ = 0, synced_ = 0;

  bool in_tx_ = false;
  uint64_t tx_lsn_ = 0, tx_ordinal_ = 0, origin_lsn_ = 0, last_tracked_ = 0;
  int64_t tx_time_ = 0;
  uint32_t tx_xid_ = 0;
  std::string origin_;

  std::deque<InFlight> in_flight_;
  uint64_t received_ = 0, keepalive_end_ = 0, confirmed_ = 0, reported_ = 0;
  std::string failed_over_;  // where a reconnection found a promoted standby, until streaming resumes there
  bool reply_requested_ = false, done_ = false;
  int64_t last_activity_ = 0, last_write_us_ = 0;  // last_write_us_: when output last went downstream (mono_us)
  // Output (and reading acks) waits this long after a write while transactions keep coming: a write wakes every
  // stage after us and Redis, which at 1,000 transactions/s one by one cost more than the changes.
  static constexpr int64_t kCoalesceUs = 5'000;
};

}  // namespace

int run(const Config& cfg, int out_fd) {
  Capture c(cfg, out_fd);
  return c.run();
}

std::string expected_source_name(const Config& cfg) {
  return cfg.source_name.empty() ? pg::database_of(cfg.conninfo) : cfg.source_name;
}

}  // namespace ss::capture
