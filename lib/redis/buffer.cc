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
#include "redis/stream.h"
#include "shadowstream.pb.h"

namespace ss::buffer {
namespace {

using shadowstream::v1::ChangeRecord;

using Connection = redis::Session;

// A Redis error reply that may clear by itself: retry rather than fail.
[[noreturn]] void throw_reply_error(const std::string& what, const std::string& msg) {
  bool transient = msg.rfind("OOM", 0) == 0 || msg.rfind("MISCONF", 0) == 0 || msg.rfind("LOADING", 0) == 0 ||
                   msg.rfind("BUSY", 0) == 0 || msg.rfind("TRYAGAIN", 0) == 0 || msg.rfind("READONLY", 0) == 0;
  throw Error(transient ? kExitTempFail : kExitSoftware, what + ": Redis answered: " + msg);
}

redis::Reply get_reply(redisContext* c) {
  void* raw = nullptr;
  if (redisGetReply(c, &raw) != REDIS_OK || !raw)
    throw Error(kExitUnavailable, std::string("lost connection to Redis: ") + (c->err ? c->errstr : "no reply"));
  return redis::Reply(static_cast<redisReply*>(raw));
}

// `argv`: strings or string views.
template <typename Args>
void append_command(redisContext* c, const Args& argv) {
  std::vector<const char*> a;
  std::vector<size_t> l;
  a.reserve(argv.size());
  l.reserve(argv.size());
  for (const auto& s : argv) {
    a.push_back(s.data());
    l.push_back(s.size());
  }
  if (redisAppendCommandArgv(c, static_cast<int>(a.size()), a.data(), l.data()) != REDIS_OK)
    throw Error(kExitUnavailable, std::string("lost connection to Redis: ") + c->errstr);
}

// The record a stream entry's field array holds (see redis::entry_record).
std::optional<std::string_view> entry_record(redisReply* fields, std::string& joined) {
  if (!fields || fields->type != REDIS_REPLY_ARRAY) return std::nullopt;
  std::vector<std::string_view> f;
  f.reserve(fields->elements);
  for (size_t i = 0; i < fields->elements; ++i) f.emplace_back(fields->element[i]->str, fields->element[i]->len);
  return redis::entry_record(f, joined);
}

// ---- write ---------------------------------------------------------------------------------------------------------

// Above this, a record's entry carries no --value-format value (see Writer::add_values).
constexpr size_t kValueMaxRecordBytes = size_t{32} << 20;

struct Item {
  std::string payload;
  std::string key;
  Position pos;
  int64_t commit_us = 0;
};

// Appends one command in RESP form. Formatting the whole batch into one buffer costs no allocation per record,
// which is most of what separates a pipelining client from redis-benchmark.
void append_resp(std::string& out, const std::vector<std::string_view>& args) {
  out.push_back('*');
  out.append(std::to_string(args.size()));
  out.append("\r\n");
  for (std::string_view a : args) {
    out.push_back('$');
    out.append(std::to_string(a.size()));
    out.append("\r\n");
    out.append(a);
    out.append("\r\n");
  }
}

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
    append_resp(resp_, args_);
    return it;
  }

  // Stores one record straight from `payload` (the frame reader's buffer), as its own batch: for a record of
  // hundreds of MB, no copy of it in the item or the batch buffer. hiredis's output buffer holds the one copy that
  // is sent.
  void store_alone(std::string_view payload) {
    Item it = describe(payload);
    uint64_t dups = conn_.with_retry(cfg_.max_backoff_us, [&](redisContext* c) {
      append_command(c, args_);
      redis::Reply r = get_reply(c);
      if (r->type != REDIS_REPLY_ERROR) return 0;
      std::string msg(r->str, r->len);
      if (!redis::is_duplicate_id_error(msg)) throw_reply_error("XADD to " + it.key, msg);
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
    Item it;
    it.pos = Position{rec_.commit_lsn(), rec_.ordinal()};
    it.commit_us = rec_.commit_time();
    metrics::stage().records_in.Increment();
    metrics::stage().bytes_in.Increment(static_cast<double>(payload.size()));
    const std::string& source = rec_.source().name().empty() ? std::string("default") : rec_.source().name();
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
        redis::Reply r = get_reply(c);
        if (r->type == REDIS_REPLY_ERROR) {
          std::string msg(r->str, r->len);
          stored_now_[i] = false;
          if (redis::is_duplicate_id_error(msg))
            ++d;
          else if (first_error.empty())
            first_error = msg;
        }
      }
      if (!first_error.empty()) throw_reply_error("XADD to " + batch.front().key, first_error);
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
        redis::Reply r = get_reply(c);
        if (r->type == REDIS_REPLY_ERROR && first_error.empty()) first_error.assign(r->str, r->len);
      }
      redis::Reply exec = get_reply(c);
      if (!first_error.empty()) throw_reply_error("MULTI to " + batch.front().key, first_error);
      if (exec->type != REDIS_REPLY_ARRAY) throw_reply_error("EXEC", exec->str ? exec->str : "no result");
      size_t n = 0;
      for (size_t i = 0; i < exec->elements; ++i) {
        redisReply* r = exec->element[i];
        if (r->type != REDIS_REPLY_ERROR) continue;
        std::string msg(r->str, r->len);
        if (!redis::is_duplicate_id_error(msg)) throw_reply_error("XADD to " + batch.front().key, msg);
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
        append_command(c, std::array<std::string_view, 4>{"XRANGE", it->key, id, id});
      }
      std::vector<Held> out;
      for (const auto& [it, payload] : items) {
        redis::Reply r = get_reply(c);
        if (r->type != REDIS_REPLY_ARRAY || r->elements != 1) {
          out.push_back(Held::kNone);
          continue;
        }
        std::string joined;
        std::optional<std::string_view> rec = entry_record(r->element[0]->element[1], joined);
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
      if (r->type != REDIS_REPLY_STRING) throw_reply_error("EVAL (reserve a position)", r->str ? r->str : "");
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

// ---- read ----------------------------------------------------------------------------------------------------------
namespace {

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
      std::string_view payload = entry_record(fields, joined_).value_or(std::string_view());
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
                     entry_record(last_delivered, joined_).value_or(std::string_view()));
    if (!skip_ack.empty()) xack(skip_ack);
    return last;
  }

  void xack(const std::vector<std::string>& ids) {
    if (ids.empty()) return;
    conn_.with_retry(cfg_.max_backoff_us, [&](redisContext* c) {
      std::vector<std::string> argv = {"XACK", key_, cfg_.group};
      argv.insert(argv.end(), ids.begin(), ids.end());
      append_command(c, argv);
      redis::Reply r = get_reply(c);
      if (r->type == REDIS_REPLY_ERROR) throw_reply_error("XACK", std::string(r->str, r->len));
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

  redis::Reply read_group(const std::string& start, bool block) {
    return conn_.with_retry(cfg_.max_backoff_us, [&](redisContext* c) {
      std::vector<std::string> argv = {"XREADGROUP",  "GROUP", cfg_.group,
                                       cfg_.consumer, "COUNT", std::to_string(cfg_.count)};
      if (block) argv.insert(argv.end(), {"BLOCK", std::to_string(cfg_.block_us / 1000)});
      argv.insert(argv.end(), {"STREAMS", key_, start});
      append_command(c, argv);
      redis::Reply r = get_reply(c);
      if (r->type == REDIS_REPLY_ERROR) throw_reply_error("XREADGROUP", std::string(r->str, r->len));
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
        throw_reply_error("XGROUP CREATE", r->str);
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
      redis::Reply r = read_group(">", !cfg_.until_idle);
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
      redis::Reply r = read_group(last_read_.empty() ? "0" : last_read_, false);
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
      if (redis::is_error(r.get())) throw_reply_error("XAUTOCLAIM", r->str);
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
      if (redis::is_error(r.get())) throw_reply_error("XRANGE", r->str);
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
