#include "redis/buffer.h"

#include <poll.h>
#include <unistd.h>

#include <array>
#include <deque>
#include <memory>
#include <mutex>
#include <set>
#include <thread>
#include <unordered_map>
#include <unordered_set>
#include <vector>

#include "core/ack.h"
#include "core/debezium.h"
#include "core/error.h"
#include "core/json.h"
#include "core/log.h"
#include "core/metrics.h"
#include "core/record_check.h"
#include "core/signals.h"
#include "redis/conn.h"
#include "redis/replies.h"
#include "redis/stream.h"
#include "shadowstream.pb.h"

namespace ss::buffer {
namespace {

using shadowstream::v1::ChangeRecord;
using Connection = redis::Session;

// How often a reader blocked on an idle stream looks for acknowledgements it waits for: the group's pending list
// (what `ss-buffer lag` and the dashboard show) trails the archive by no more than this.
constexpr int64_t kAckPollUs = 20'000;

struct Delivered {
  std::string id;
  Position pos;
};

class Reader {
 public:
  Reader(const ReadConfig& cfg, int out_fd)
      : cfg_(cfg),
        conn_(redis::parse_url(cfg.redis_url)),
        out_fd_(out_fd),
        out_(out_fd),
        out_is_file_(is_regular_file(out_fd)) {
    if (!cfg.ack_from.empty()) acks_ = std::make_unique<AckReader>(cfg.ack_from);
    // A one-off read (--until-idle from cron, a range read at a prompt) says what is wrong and ends; the
    // pipeline's reader keeps waiting for Redis.
    if (cfg.until_idle || cfg.group.empty()) conn_.give_up_after(kOneOffGiveUpUs);
  }

  int run() {
    key_ = resolve_key();
    return cfg_.group.empty() ? range_read() : group_read();
  }

 private:
  std::string resolve_key() {
    if (!cfg_.stream.empty()) return cfg_.stream;
    if (!cfg_.source.empty()) return redis::default_stream_key(cfg_.source);
    return conn_.with_retry(cfg_.max_backoff_us, [&](redisContext* c) {
      std::vector<std::string> keys;
      std::string cursor = "0";
      do {
        redis::Reply r = redis::command(c, {"SCAN", cursor, "MATCH", "shadowstream:*:changes", "TYPE", "stream"});
        cursor.assign(r->element[0]->str, r->element[0]->len);
        for (size_t i = 0; i < r->element[1]->elements; ++i)
          keys.emplace_back(r->element[1]->element[i]->str, r->element[1]->element[i]->len);
      } while (cursor != "0");
      if (keys.size() != 1)
        throw Error(kExitUsage, keys.empty() ? "no shadowstream:*:changes stream in Redis; name one with --stream"
                                             : "several streams in Redis (" + keys.front() +
                                                   ", ...); name one with "
                                                   "--stream or --source");
      return keys.front();
    });
  }

  // Counts what one read delivered; its position and latency are the last record's (one parse per read, not per
  // record: the reader's throughput is the point of it).
  void note_delivered(size_t n, size_t bytes, std::string_view last) {
    metrics::Stage& m = metrics::stage();
    m.records_in.Increment(static_cast<double>(n));
    m.records_out.Increment(static_cast<double>(n));
    m.bytes_in.Increment(static_cast<double>(bytes));
    m.bytes_out.Increment(static_cast<double>(bytes));
    if (!probe_.ParseFromArray(last.data(), static_cast<int>(last.size()))) return;
    metrics::note_source(probe_.source().name());
    m.position(probe_.commit_lsn(), probe_.commit_time());
    m.latency(probe_.commit_time(), now_us());
  }

  bool in_window(std::string_view payload) {
    if (!cfg_.since_us && !cfg_.until_us) return true;
    if (!rec_.ParseFromArray(payload.data(), static_cast<int>(payload.size())))
      throw Error(kExitDataErr, key_ + ": an entry holds an invalid record");
    switch (Span{cfg_.since_us, cfg_.until_us, {}, {}}.where(rec_.commit_time(), {})) {
      case Span::Where::kBefore:
        return false;
      case Span::Where::kAfter:
        past_until_ = true;
        return false;
      case Span::Where::kInside:
        break;
    }
    return true;
  }

  // Writes the entries of an XRANGE/XREADGROUP/XAUTOCLAIM entry array; returns the last ID seen.
  // `claimed`: entries XAUTOCLAIM handed over, which may include this consumer's own still-unacknowledged ones:
  // those were delivered already and are not delivered twice.
  std::string deliver(redisReply* entries, bool track, bool claimed = false) {
    std::string last;
    std::vector<std::string> skip_ack;
    size_t delivered_now = 0, delivered_bytes = 0;
    redisReply* last_delivered = nullptr;  // its record is read again at the end: joined_ may have moved on
    for (size_t i = 0; i < entries->elements; ++i) {
      redisReply* e = entries->element[i];
      if (e->type != REDIS_REPLY_ARRAY || e->elements < 2) continue;
      last.assign(e->element[0]->str, e->element[0]->len);
      if (claimed && delivered_ids_.count(last)) continue;
      redisReply* fields = e->element[1];
      if (fields->type != REDIS_REPLY_ARRAY) {  // deleted meanwhile (XAUTOCLAIM of a trimmed entry)
        if (track) skip_ack.push_back(last);
        continue;
      }
      std::string_view payload = redis::entry_record(fields, joined_).value_or(std::string_view());
      if (!in_window(payload)) {
        // Before --since: skipped on purpose. At or past --until: left pending, for a later run to deliver.
        if (track && !past_until_) skip_ack.push_back(last);
        continue;
      }
      out_.write_payload(payload);
      ++delivered_now;
      delivered_bytes += payload.size();
      last_delivered = fields;
      if (track && tracks()) {
        auto pos = redis::parse_entry_id(last);
        delivered_.push_back({last, pos.value_or(Position{})});
        delivered_ids_.insert(last);
      } else if (track) {
        ++untracked_;  // never acknowledged in this run: nothing to remember of it
      }
    }
    out_.flush();
    if (delivered_now)
      note_delivered(delivered_now, delivered_bytes,
                     redis::entry_record(last_delivered, joined_).value_or(std::string_view()));
    if (!skip_ack.empty()) xack(skip_ack);
    return last;
  }

  void xack(const std::vector<std::string>& ids) {
    if (ids.empty()) return;
    conn_.with_retry(cfg_.max_backoff_us, [&](redisContext* c) {
      std::vector<std::string> argv = {"XACK", key_, cfg_.group};
      argv.insert(argv.end(), ids.begin(), ids.end());
      redis::append_command(c, argv);
      redis::Reply r = redis::get_reply(c);
      if (r->type == REDIS_REPLY_ERROR) redis::throw_reply_error("XACK", std::string(r->str, r->len));
      return 0;
    });
  }

  // Acknowledges to Redis what is stored downstream: what the downstream acknowledged (--ack-from), or what was
  // written to a regular file and fsynced. Written to a pipe is not stored: without --ack-from those entries stay
  // pending and the group delivers them again (the idempotent sink drops what it already holds).
  void settle() {
    std::optional<Position> upto;
    if (acks_) {
      upto = acks_->poll_acks();
    } else if (out_is_file_ && !delivered_.empty()) {
      out_.sync();
    } else {
      return;
    }
    std::vector<std::string> ids;
    while (!delivered_.empty()) {
      if (acks_ && !(upto && delivered_.front().pos <= *upto)) break;
      ids.push_back(delivered_.front().id);
      delivered_ids_.erase(delivered_.front().id);
      delivered_.pop_front();
    }
    xack(ids);
  }

  // Blocks at most `block_us` for new entries (0: not at all).
  redis::Reply read_group(const std::string& start, int64_t block_us) {
    return conn_.with_retry(cfg_.max_backoff_us, [&](redisContext* c) {
      std::vector<std::string> argv = {"XREADGROUP",  "GROUP", cfg_.group,
                                       cfg_.consumer, "COUNT", std::to_string(cfg_.count)};
      if (block_us > 0) argv.insert(argv.end(), {"BLOCK", std::to_string(std::max<int64_t>(1, block_us / 1000))});
      argv.insert(argv.end(), {"STREAMS", key_, start});
      redis::append_command(c, argv);
      redis::Reply r = redis::get_reply(c);
      if (r->type == REDIS_REPLY_ERROR) redis::throw_reply_error("XREADGROUP", std::string(r->str, r->len));
      return r;
    });
  }

  static redisReply* entries_of(redisReply* r) {
    // [[key, [entries...]]] or nil
    if (!r || r->type != REDIS_REPLY_ARRAY || r->elements == 0) return nullptr;
    return r->element[0]->element[1];
  }

  int group_read() {
    conn_.with_retry(cfg_.max_backoff_us, [&](redisContext* c) {
      std::string from = cfg_.from == "beginning" ? "0" : cfg_.from == "now" ? "$" : cfg_.from;
      redis::Reply r = redis::command(c, {"XGROUP", "CREATE", key_, cfg_.group, from, "MKSTREAM"});
      if (redis::is_error(r.get()) && std::string(r->str).rfind("BUSYGROUP", 0) != 0)
        redis::throw_reply_error("XGROUP CREATE", r->str);
      return 0;
    });
    // First what this consumer was given before and never acknowledged (a restart after a crash) ...
    redeliver_lost();
    // ... then what dead consumers of the group left pending for longer than --claim-idle ...
    claim();
    // ... then new entries.
    int64_t last_claim = now_us();
    uint64_t connects = conn_.connects();
    while (!stop_requested() && !past_until_) {
      settle();
      // Draining (--until-idle): an empty non-blocking read means drained; waiting would only add latency.
      // Blocked in Redis, the reader hears no acknowledgement: while it waits for some, it looks every kAckPollUs.
      const int64_t block_us = cfg_.until_idle      ? 0
                               : delivered_.empty() ? cfg_.block_us
                                                    : std::min(cfg_.block_us, kAckPollUs);
      redis::Reply r = read_group(">", block_us);
      if (conn_.connects() != connects) {
        // The connection was lost and made again (a Redis restart): a reply it lost took its entries into this
        // consumer's pending list all the same, and reading on with ">" would skip them, to be claimed a minute
        // later, out of order. Deliver them now, in order, from the pending list (this reply's entries with them).
        connects = conn_.connects();
        redeliver_lost();
        continue;
      }
      redisReply* entries = entries_of(r.get());
      if (entries && entries->elements > 0) {
        last_read_ = deliver(entries, true);
      } else if (cfg_.until_idle) {
        break;
      }
      // Without a way to learn what is stored, this consumer's own entries stay pending for the next run; claiming
      // would only hand them back to it.
      if (tracks() && now_us() - last_claim > cfg_.claim_idle_us) {
        claim();
        last_claim = now_us();
      }
    }
    return finish();
  }

  // This consumer's pending entries past the last one this run delivered from its reads, in order: at start, all of
  // them (a restart after a crash); after a reconnect, those of a lost reply.
  void redeliver_lost() {
    for (;;) {
      redis::Reply r = read_group(last_read_.empty() ? "0" : last_read_, 0);
      redisReply* entries = entries_of(r.get());
      if (!entries || entries->elements == 0) break;
      last_read_ = deliver(entries, true);
    }
  }

  void claim() {
    std::string cursor = "0-0";
    do {
      redis::Reply r = conn_.with_retry(cfg_.max_backoff_us, [&](redisContext* c) {
        return redis::command(
            c, {"XAUTOCLAIM", key_, cfg_.group, cfg_.consumer, std::to_string(cfg_.claim_idle_us / 1000), cursor,
                "COUNT", std::to_string(cfg_.count)});
      });
      if (redis::is_error(r.get())) redis::throw_reply_error("XAUTOCLAIM", r->str);
      cursor.assign(r->element[0]->str, r->element[0]->len);
      if (r->element[1]->elements > 0) {
        log::info("claimed " + std::to_string(r->element[1]->elements) + " pending entries of dead consumers");
        deliver(r->element[1], true, true);
      }
    } while (cursor != "0-0");
  }

  // End of input for the downstream: close stdout so it commits, then wait for its acknowledgements.
  int finish() {
    out_.flush();
    if (!acks_) {
      settle();
      if (untracked_ + delivered_.size() > 0)
        log::warn("left " + std::to_string(untracked_ + delivered_.size()) +
                  " delivered entries pending for consumer " + cfg_.consumer + " of " + cfg_.group +
                  ": without --ack-from nothing is acknowledged, and the group delivers them again");
      return kExitOk;
    }
    ::close(out_fd_);
    int64_t deadline = now_us() + cfg_.ack_timeout_us;
    while (!delivered_.empty() && now_us() < deadline) {
      settle();
      if (delivered_.empty()) break;
      pollfd p{acks_->poll_fd(), POLLIN, 0};
      ::poll(&p, acks_->poll_fd() >= 0 ? 1 : 0, 100);
    }
    if (!delivered_.empty())
      throw Error(kExitTempFail, std::to_string(delivered_.size()) +
                                     " delivered entries were not acknowledged in time; they stay pending and are "
                                     "delivered again on the next run");
    return kExitOk;
  }

  int range_read() {
    std::string start = "-";
    while (!stop_requested() && !past_until_) {
      redis::Reply r = conn_.with_retry(cfg_.max_backoff_us, [&](redisContext* c) {
        return redis::command(c, {"XRANGE", key_, start, "+", "COUNT", std::to_string(cfg_.count)});
      });
      if (redis::is_error(r.get())) redis::throw_reply_error("XRANGE", r->str);
      if (r->elements == 0) break;
      start = "(" + deliver(r.get(), false);
    }
    out_.flush();
    return kExitOk;
  }

  const ReadConfig& cfg_;
  Connection conn_;
  int out_fd_;
  FrameWriter out_;
  bool out_is_file_;
  std::unique_ptr<AckReader> acks_;
  std::string key_;
  std::string joined_;     // a record in several parts, joined
  std::string last_read_;  // the ID of the last entry this consumer's own reads gave it
  ChangeRecord rec_;
  ChangeRecord probe_;  // the last record of a read, for its metrics
  std::deque<Delivered> delivered_;
  std::unordered_set<std::string> delivered_ids_;  // the IDs in delivered_
  uint64_t untracked_ = 0;                         // delivered where nothing tells what is stored (a pipe, no acks)
  bool tracks() const { return acks_ || out_is_file_; }
  bool past_until_ = false;
};

}  // namespace

int run_read(const ReadConfig& cfg, int out_fd) {
  Reader r(cfg, out_fd);
  return r.run();
}

}  // namespace ss::buffer
