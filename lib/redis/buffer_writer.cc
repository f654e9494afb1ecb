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
#include "core/defaults.h"
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

// Above this, a record's entry carries no --value-format value (see Writer::add_values).
constexpr size_t kValueMaxRecordBytes = size_t{32} << 20;

struct Item {
  std::string payload;
  std::string key;
  Position pos;
  int64_t commit_us = 0;
};

class Writer {
 public:
  Writer(const WriteConfig& cfg, int out_fd)
      : cfg_(cfg), conn_(redis::parse_url(cfg.redis_url)), maxlen_(std::to_string(cfg.maxlen)) {
    if (cfg.passthrough) out_ = std::make_unique<FrameWriter>(out_fd);
    if (!cfg.ack.empty()) ack_ = std::make_unique<AckWriter>(cfg.ack);
  }

  Item make_item(std::string_view payload) {
    Item it = describe(payload);
    it.payload.assign(payload);
    redis::append_resp(resp_, args_);
    return it;
  }

  // Stores one record straight from `payload` (the frame reader's buffer), as its own batch: for a record of
  // hundreds of MB, no copy of it in the item or the batch buffer. hiredis's output buffer holds the one copy that
  // is sent.
  void store_alone(std::string_view payload) {
    Item it = describe(payload);
    uint64_t dups = conn_.with_retry(cfg_.max_backoff_us, [&](redisContext* c) {
      redis::append_command(c, args_);
      redis::Reply r = redis::get_reply(c);
      if (r->type != REDIS_REPLY_ERROR) return 0;
      std::string msg(r->str, r->len);
      if (!redis::is_duplicate_id_error(msg)) redis::throw_reply_error("XADD to " + it.key, msg);
      return 1;
    });
    if (dups) check_refused({{&it, payload}});
    if (out_) {
      out_->write_payload(payload);
      out_->flush();
    }
    if (!dups) metrics::stage().latency(it.commit_us, now_us());
    note_stored(1, dups, payload.size(), it);
  }

 private:
  // Parses and checks a record and lays out its XADD in args_ (views into `payload`, the item and fields_).
  Item describe(std::string_view payload) {
    if (!rec_.ParseFromArray(payload.data(), static_cast<int>(payload.size())))
      throw Error(kExitDataErr, "frame is not a valid ChangeRecord");
    validate_record(rec_);
    metrics::note_source(rec_.source().name());
    Item it;
    it.pos = Position{rec_.commit_lsn(), rec_.ordinal()};
    it.commit_us = rec_.commit_time();
    metrics::stage().records_in.Increment();
    metrics::stage().bytes_in.Increment(static_cast<double>(payload.size()));
    const std::string source(source_label(rec_.source().name()));
    it.key = !cfg_.stream.empty() ? cfg_.stream
             : cfg_.per_table     ? redis::default_stream_key(source, rec_.schema(), rec_.table())
                                  : redis::default_stream_key(source);
    fields_.emplace(rec_, payload);
    add_values(payload.size());
    id_ = redis::entry_id(it.pos);
    key_ = it.key;
    args_.clear();
    if (cfg_.maxlen > 0)
      args_.insert(args_.end(), {"XADD", key_, "MAXLEN", "~", maxlen_, id_});
    else
      args_.insert(args_.end(), {"XADD", key_, id_});
    args_.insert(args_.end(), fields_->pairs().begin(), fields_->pairs().end());
    if (cfg_.retain_us > 0) keys_.insert(it.key);
    return it;
  }

  // "value": the record as JSON, or its Debezium event; a key change's delete event goes in "delete" beside the
  // create in "value" (one entry per record: Debezium's connector sends the two as two messages).
  void add_values(size_t payload_bytes) {
    // A value is one bulk string, up to twice the record: a record this big keeps only its protobuf parts, which
    // Redis's bulk-length limit never refuses.
    if (payload_bytes > kValueMaxRecordBytes) {
      if (cfg_.value_format != ValueFormat::kNone && !warned_big_)
        log::warn("records over 32 MiB are stored without --value-format's value field (first at position " +
                  format_position({rec_.commit_lsn(), rec_.ordinal()}) + ")");
      warned_big_ = true;
      return;
    }
    if (cfg_.value_format == ValueFormat::kJson) {
      value_.clear();
      json::append(rec_, value_);
      fields_->add("value", value_);
    } else if (cfg_.value_format == ValueFormat::kDebezium) {
      debezium_.convert(rec_, events_);
      if (!events_.empty()) fields_->add("value", events_.back());
      if (events_.size() > 1) fields_->add("delete", events_.front());
    }
  }

  // `n` records of `bytes` stored, `dups` of them already there; `last` is the last of them.
  void note_stored(size_t n, uint64_t dups, size_t bytes, const Item& last) {
    stored_ += n - dups;
    duplicates_ += dups;
    metrics::Stage& m = metrics::stage();
    m.records_out.Increment(static_cast<double>(n - dups));
    m.duplicates.Increment(static_cast<double>(dups));
    m.bytes_out.Increment(static_cast<double>(bytes));
    m.position(last.pos.lsn, last.commit_us);
    if (ack_) ack_->ack(last.pos);
    maybe_retain();
  }

 public:
  // Stores the batch (pipelined), retrying the whole batch on failures: entries already stored are refused by ID.
  void store(const std::vector<Item>& batch) {
    if (batch.empty()) return;
    uint64_t dups = conn_.with_retry(cfg_.max_backoff_us, [&](redisContext* c) {
      if (redisAppendFormattedCommand(c, resp_.data(), resp_.size()) != REDIS_OK)
        throw Error(kExitUnavailable, std::string("lost connection to Redis: ") + c->errstr);
      uint64_t d = 0;
      std::string first_error;
      stored_now_.assign(batch.size(), true);
      for (size_t i = 0; i < batch.size(); ++i) {
        redis::Reply r = redis::get_reply(c);
        if (r->type == REDIS_REPLY_ERROR) {
          std::string msg(r->str, r->len);
          stored_now_[i] = false;
          if (redis::is_duplicate_id_error(msg))
            ++d;
          else if (first_error.empty())
            first_error = msg;
        }
      }
      if (!first_error.empty()) redis::throw_reply_error("XADD to " + batch.front().key, first_error);
      return d;
    });
    if (dups) {
      Refused refused;
      for (size_t i = 0; i < batch.size(); ++i)
        if (!stored_now_[i]) refused.emplace_back(&batch[i], batch[i].payload);
      check_refused(refused);
    }
    if (out_) {
      for (const Item& it : batch) out_->write_payload(it.payload);
      out_->flush();
    }
    resp_.clear();
    // A resend's records were stored before: their commit times would only say how long the restart took.
    size_t bytes = 0;
    times_.clear();
    for (size_t i = 0; i < batch.size(); ++i) {
      if (stored_now_[i]) times_.push_back(batch[i].commit_us);
      bytes += batch[i].payload.size();
    }
    metrics::stage().latencies(times_, now_us());
    note_stored(batch.size(), dups, bytes, batch.back());
  }

  // Stores the pending batch in one MULTI/EXEC, so no other client's entry lands between two of its XADDs: the batch
  // is stored whole or not at all. Returns how many XADDs Redis refused (0 = all stored). Used for positions this
  // process reserved itself, where a refusal means another server's later reservation landed first, not a duplicate.
  size_t store_atomic(const std::vector<Item>& batch) {
    if (batch.empty()) return 0;
    static constexpr std::string_view kMulti = "*1\r\n$5\r\nMULTI\r\n", kExec = "*1\r\n$4\r\nEXEC\r\n";
    size_t refused = conn_.with_retry(cfg_.max_backoff_us, [&](redisContext* c) {
      std::string cmd;
      cmd.reserve(resp_.size() + kMulti.size() + kExec.size());
      cmd.append(kMulti).append(resp_).append(kExec);
      if (redisAppendFormattedCommand(c, cmd.data(), cmd.size()) != REDIS_OK)
        throw Error(kExitUnavailable, std::string("lost connection to Redis: ") + c->errstr);
      std::string first_error;
      for (size_t i = 0; i < batch.size() + 1; ++i) {  // +OK, then +QUEUED per command
        redis::Reply r = redis::get_reply(c);
        if (r->type == REDIS_REPLY_ERROR && first_error.empty()) first_error.assign(r->str, r->len);
      }
      redis::Reply exec = redis::get_reply(c);
      if (!first_error.empty()) redis::throw_reply_error("MULTI to " + batch.front().key, first_error);
      if (exec->type != REDIS_REPLY_ARRAY) redis::throw_reply_error("EXEC", exec->str ? exec->str : "no result");
      size_t n = 0;
      for (size_t i = 0; i < exec->elements; ++i) {
        redisReply* r = exec->element[i];
        if (r->type != REDIS_REPLY_ERROR) continue;
        std::string msg(r->str, r->len);
        if (!redis::is_duplicate_id_error(msg)) redis::throw_reply_error("XADD to " + batch.front().key, msg);
        ++n;
      }
      return n;
    });
    if (refused != 0 && refused != batch.size())
      throw Error(kExitSoftware, "Redis stored part of a MULTI/EXEC batch");  // cannot happen: one LSN per batch
    resp_.clear();
    // A connection lost after EXEC ran makes the retry's XADDs refused by our own entries: the reserved LSN is ours
    // alone, so an entry at its ID means the batch is stored.
    if (refused && !entry_exists(batch.front())) return refused;
    size_t bytes = 0;
    for (const Item& it : batch) bytes += it.payload.size();
    note_stored(batch.size(), 0, bytes, batch.back());
    return 0;
  }

  // The position of `key`'s first entry (`top`: its last one); nullopt when it has none.
  std::optional<Position> end_entry(const std::string& key, bool top) {
    return conn_.with_retry(cfg_.max_backoff_us, [&](redisContext* c) {
      redis::Reply r = top ? redis::command(c, {"XREVRANGE", key, "+", "-", "COUNT", "1"})
                           : redis::command(c, {"XRANGE", key, "-", "+", "COUNT", "1"});
      if (r->type != REDIS_REPLY_ARRAY || r->elements != 1) return std::optional<Position>();
      const redisReply* id = r->element[0]->element[0];
      return redis::parse_entry_id(std::string(id->str, id->len));
    });
  }

  // True when the stream holds this very change at its ID (not merely some entry there).
  bool entry_exists(const Item& it) { return held({{&it, it.payload}}).front() == Held::kSame; }

  enum class Held { kSame, kOther, kNone };
  using Refused = std::vector<std::pair<const Item*, std::string_view>>;  // an item and its record's bytes
  // What the stream holds at each item's ID (the same change, see same_change; another record; or nothing), asked
  // in one round trip.
  std::vector<Held> held(const Refused& items) {
    return conn_.with_retry(cfg_.max_backoff_us, [&](redisContext* c) {
      for (const auto& [it, payload] : items) {
        const std::string id = redis::entry_id(it->pos);
        redis::append_command(c, std::array<std::string_view, 4>{"XRANGE", it->key, id, id});
      }
      std::vector<Held> out;
      for (const auto& [it, payload] : items) {
        redis::Reply r = redis::get_reply(c);
        if (r->type != REDIS_REPLY_ARRAY || r->elements != 1) {
          out.push_back(Held::kNone);
          continue;
        }
        std::string joined;
        std::optional<std::string_view> rec = redis::entry_record(r->element[0]->element[1], joined);
        out.push_back(rec && same_change(*rec, payload) ? Held::kSame : Held::kOther);
      }
      return out;
    });
  }

  // Redis refuses an ID at or below the stream's top entry, held or not. Only the same change at its ID is a
  // duplicate (or nothing at an ID below the first entry: stored, then trimmed by retention). Anything else is a
  // record the stream can never take in order, because something else was stored at or above its position: counted
  // as a duplicate it would be acknowledged upstream and lost.
  void check_refused(const Refused& items) {
    std::vector<Held> h = held(items);
    for (size_t i = 0; i < items.size(); ++i) {
      if (h[i] == Held::kSame) continue;
      const Item& it = *items[i].first;
      const std::string where = "position " + format_position(it.pos) + " of " + it.key;
      if (h[i] == Held::kOther)
        throw Conflict(where +
                       " already holds a different change: a resend must carry the same change (two producers "
                       "share the source name, or positions were forged)");
      std::optional<Position> first = end_entry(it.key, false);
      if (first && it.pos < *first) continue;
      throw Conflict(where +
                     " is below the stream's top entry but not in it: an entry at a later position was "
                     "stored first (forged or foreign positions); nothing from it on was acknowledged");
    }
  }

  // Forgets commands of a batch that was not stored (a failure that is not retried), and the connection whose
  // replies may be out of step with them.
  void discard_pending() {
    resp_.clear();
    conn_.drop();
  }
  void clear_pending() { resp_.clear(); }

  uint64_t stored() const { return stored_; }
  uint64_t duplicates() const { return duplicates_; }
  Connection& connection() { return conn_; }

  void finish() {
    if (out_) out_->flush();
    // Records dropped as already stored are always told: a resend after a restart explains them, anything else is
    // worth a look.
    std::string summary =
        "stored " + std::to_string(stored_) + " records, dropped " + std::to_string(duplicates_) + " already stored";
    if (duplicates_ > 0)
      log::warn(summary);
    else
      log::info(summary);
  }

 private:
  // --retain: entries are in position order, which is commit order, so the expired ones are a prefix: walk it and
  // trim with MINID just past the last expired entry.
  void maybe_retain() {
    if (cfg_.retain_us <= 0 || now_us() - last_retain_ < 1'000'000) return;
    last_retain_ = now_us();
    const int64_t cutoff = last_retain_ - cfg_.retain_us;
    for (const std::string& key : keys_) {
      conn_.with_retry(cfg_.max_backoff_us, [&](redisContext* c) {
        std::string start = "-";
        for (;;) {
          redis::Reply r = redis::command(c, {"XRANGE", key, start, "+", "COUNT", "256"});
          if (r->type != REDIS_REPLY_ARRAY || r->elements == 0) return 0;
          for (size_t i = 0; i < r->elements; ++i) {
            redisReply* e = r->element[i];
            std::string id(e->element[0]->str, e->element[0]->len);
            redisReply* fields = e->element[1];
            int64_t t = INT64_MAX;
            for (size_t f = 0; f + 1 < fields->elements; f += 2) {
              if (std::string_view(fields->element[f]->str, fields->element[f]->len) == "time")
                t = parse_time_us(std::string_view(fields->element[f + 1]->str, fields->element[f + 1]->len))
                        .value_or(INT64_MAX);
            }
            if (t >= cutoff) {
              redis::command(c, {"XTRIM", key, "MINID", id});
              return 0;
            }
            start = "(" + id;
          }
        }
      });
    }
  }

  const WriteConfig& cfg_;
  Connection conn_;
  std::unique_ptr<FrameWriter> out_;
  std::unique_ptr<AckWriter> ack_;
  ChangeRecord rec_;
  std::string maxlen_;
  std::string resp_;                    // the pending batch's commands
  std::vector<std::string_view> args_;  // the XADD being laid out: views into fields_, id_ and the record
  std::vector<int64_t> times_;          // a batch's commit times, for the latency histogram
  std::vector<bool> stored_now_;        // per item of the batch: stored by this call, not a duplicate
  std::string value_;                   // --value-format json
  debezium::Converter debezium_;        // --value-format debezium
  std::vector<std::string> events_;
  bool warned_big_ = false;
  std::optional<redis::EntryFields> fields_;
  std::string id_, key_;
  std::set<std::string> keys_;
  int64_t last_retain_ = 0;
  uint64_t stored_ = 0, duplicates_ = 0;
};

}  // namespace

// Records from this size up are stored alone, straight from the frame reader's buffer.
constexpr size_t kAloneBytes = size_t{8} << 20;

int run_write(const WriteConfig& cfg, int in_fd, int out_fd) {
  Writer w(cfg, out_fd);
  FrameReader in(in_fd, "stdin", cfg.max_frame);
  std::vector<Item> batch;
  batch.reserve(cfg.batch);
  std::string_view payload;
  for (;;) {
    batch.clear();
    try {
      // Fill a batch, but never wait for more input while records are in hand: latency over batch size.
      while (batch.size() < cfg.batch && (batch.empty() || in.buffered() > 0) && in.next(payload)) {
        if (payload.size() < kAloneBytes) {
          batch.push_back(w.make_item(payload));
          continue;
        }
        w.store(batch);  // in order: what came before first
        batch.clear();
        w.store_alone(payload);
        if (stop_requested()) break;
      }
    } catch (const Error& e) {
      // Store what came before the bad frame, then report it: nothing after the last good frame is stored. A bad
      // record (not a bad frame) is told where it lies here.
      w.store(batch);
      w.finish();
      if (e.code() == kExitDataErr && !dynamic_cast<const BadFrame*>(&e))
        throw Error(kExitDataErr,
                    "stdin: " + std::string(e.what()) + " at byte offset " + std::to_string(in.frame_offset()));
      throw;
    }
    if (batch.empty()) break;
    w.store(batch);
    if (stop_requested()) break;
  }
  w.finish();
  return kExitOk;
}

// ---- pushed records ------------------------------------------------------------------------------------------------

namespace {
WriteConfig store_only(WriteConfig c) {
  c.passthrough = false;
  return c;
}
}  // namespace

struct RecordStore::Impl {
  explicit Impl(const WriteConfig& c) : cfg(store_only(c)), writer(cfg, -1) {}
  WriteConfig cfg;
  Writer writer;
  std::mutex mu;

  // A pushed position more than cfg.max_position_jump above its stream's top entry is refused before anything of
  // the call is stored. A stream with no entries takes any position.
  void check_jump(const std::vector<Item>& batch) {
    std::unordered_map<std::string, std::optional<Position>> tops;
    for (const Item& it : batch) {
      auto [top, fresh] = tops.try_emplace(it.key);
      if (fresh) top->second = writer.end_entry(it.key, true);
      if (top->second && it.pos.lsn > top->second->lsn && it.pos.lsn - top->second->lsn > cfg.max_position_jump)
        throw Error(kExitDataErr, "position " + format_position(it.pos) + " is more than " +
                                      std::to_string(cfg.max_position_jump) + " above the top entry of " + it.key +
                                      " (" + format_position(*top->second) + "); see --max-position-jump");
    }
  }
};

RecordStore::RecordStore(const WriteConfig& cfg) : impl_(std::make_unique<Impl>(cfg)) {}
RecordStore::~RecordStore() = default;

namespace {
// Reserves the LSN of the next server-assigned transaction of `stream`: one above both the stream's top entry and
// every LSN reserved before (kept in `counter`), in one atomic step, so any number of servers sharing the stream
// never hand out the same position twice.
// Lua numbers are doubles, exact only below 2^53 while LSNs go to 2^63: the script compares the decimal strings and
// leaves the arithmetic to INCR, which is 64-bit.
constexpr const char* kReserveScript = R"lua(
local top = '0'
local t = redis.call('XREVRANGE', KEYS[1], '+', '-', 'COUNT', 1)
if t[1] then top = string.match(t[1][1], '^(%d+)%-') end
local c = redis.call('GET', KEYS[2]) or '0'
if #c < #top or (#c == #top and c < top) then redis.call('SET', KEYS[2], top) end
redis.call('INCR', KEYS[2])
return redis.call('GET', KEYS[2])
)lua";
}  // namespace

PushResult RecordStore::push(std::vector<ChangeRecord>& records) {
  std::lock_guard<std::mutex> lock(impl_->mu);
  PushResult res;
  if (records.empty()) return res;
  Writer& w = impl_->writer;
  auto build = [&] {
    w.clear_pending();
    std::vector<Item> batch;
    batch.reserve(records.size());
    for (const auto& r : records) batch.push_back(w.make_item(r.SerializeAsString()));
    res.last = batch.back().pos;
    res.entry_id = redis::entry_id(res.last);
    return batch;
  };
  if (records.front().commit_lsn() != 0) {
    std::vector<Item> batch = build();
    if (impl_->cfg.max_position_jump) impl_->check_jump(batch);
    uint64_t before = w.stored(), dups_before = w.duplicates();
    try {
      w.store(batch);
    } catch (...) {
      w.discard_pending();
      throw;
    }
    res.stored = w.stored() - before;
    res.duplicates = w.duplicates() - dups_before;
    return res;
  }
  const auto& src = records.front().source().name();
  const std::string key = !impl_->cfg.stream.empty() ? impl_->cfg.stream : redis::default_stream_key(src);
  const std::string counter = key + ":assigned-lsn";
  // A refusal means another server's reservation landed above ours first: reserve again. Each try stores the whole
  // call or nothing, so nothing is stored twice and nothing is reported stored that is not.
  for (int attempt = 0; attempt < 1000 && !stop_requested(); ++attempt) {
    std::string lsn = w.connection().with_retry(impl_->cfg.max_backoff_us, [&](redisContext* c) {
      redis::Reply r = redis::command(c, {"EVAL", kReserveScript, "2", key, counter});
      if (r->type != REDIS_REPLY_STRING) redis::throw_reply_error("EVAL (reserve a position)", r->str ? r->str : "");
      return std::string(r->str, r->len);
    });
    uint64_t next = std::strtoull(lsn.c_str(), nullptr, 10);
    if (next > kMaxLsn)
      throw Error(kExitDataErr, key + " has no positions left to assign: its top entry is at the last LSN");
    for (size_t i = 0; i < records.size(); ++i) {
      records[i].set_commit_lsn(next);
      records[i].set_ordinal(i);
      records[i].set_tx_last(i + 1 == records.size());
    }
    std::vector<Item> batch = build();
    size_t refused;
    try {
      refused = w.store_atomic(batch);
    } catch (...) {
      w.discard_pending();
      throw;
    }
    if (refused == 0) {
      res.stored = batch.size();
      return res;
    }
  }
  throw Error(kExitTempFail, "could not store the records in " + key + ": other servers kept taking positions first");
}

}  // namespace ss::buffer
