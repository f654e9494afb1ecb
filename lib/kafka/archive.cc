#include "kafka/archive.h"

#include <poll.h>

#include <algorithm>
#include <charconv>
#include <future>
#include <map>
#include <memory>
#include <queue>
#include <set>
#include <thread>
#include <vector>

#include "core/ack.h"
#include "core/error.h"
#include "core/log.h"
#include "core/signals.h"

namespace ss::archive {

using shadowstream::v1::ChangeRecord;

namespace {

void append_key(std::string& key, const ChangeRecord& rec) {
  key.append(rec.source().name()).append("/").append(rec.schema()).append(".").append(rec.table());
  const auto& cols = rec.old_columns_size() > 0 ? rec.old_columns() : rec.columns();
  for (const auto& c : cols) {
    if (!c.is_key()) continue;
    key.push_back('/');
    key.append(c.is_null() ? "\\N" : c.text().empty() ? c.binary() : c.text());
  }
}

}  // namespace

std::string message_key(const ChangeRecord& rec) {
  std::string key;
  append_key(key, rec);
  return key;
}

namespace {

constexpr int kTimeoutMs = 30'000;

std::string header(const rd_kafka_message_t* m, const char* name) {
  rd_kafka_headers_t* h = nullptr;
  if (rd_kafka_message_headers(m, &h) != RD_KAFKA_RESP_ERR_NO_ERROR) return "";
  const void* v = nullptr;
  size_t n = 0;
  if (rd_kafka_header_get_last(h, name, &v, &n) != RD_KAFKA_RESP_ERR_NO_ERROR || !v) return "";
  return std::string(static_cast<const char*>(v), n);
}

std::optional<Position> message_position(const rd_kafka_message_t* m) {
  return parse_position(header(m, "position"));
}

// A record larger than a message may be (the cluster's limit) travels as chunk messages: consecutive, in one
// partition (same key), one transaction, each with the record's headers plus "chunk: I/N" (1-based), their values
// concatenated in order being the record. Readers join them here; a set that is cut short (its transaction did not
// commit whole, or retention took its start) is dropped, never delivered in part.
class Chunks {
 public:
  // Feeds the next message of its partition. Returns the whole record's payload (the message's own, or the joined
  // chunks once the last arrives; valid until the next call for that partition), or nullopt meanwhile.
  std::optional<std::string_view> feed(const rd_kafka_message_t* m) {
    std::string chunk = header(m, "chunk");
    Partial& part = partial_[m->partition];
    if (chunk.empty()) {
      drop(part, m);
      return std::string_view(static_cast<const char*>(m->payload), m->len);
    }
    int i = 0, n = 0;
    if (std::sscanf(chunk.c_str(), "%d/%d", &i, &n) != 2 || i < 1 || n < 1 || i > n)
      throw Error(kExitDataErr, "offset " + std::to_string(m->offset) + ": bad chunk header '" + chunk + "'");
    std::string pos = header(m, "position");
    if (i == 1 || pos != part.position || i != part.next) {
      drop(part, m);
      if (i != 1) return std::nullopt;  // the middle of a set whose start is gone
      part.position = pos;
      part.total = n;
    }
    part.data.append(static_cast<const char*>(m->payload), m->len);
    part.next = i + 1;
    if (i < part.total) return std::nullopt;
    part.whole.swap(part.data);
    part.data.clear();
    part.next = 0;
    return std::string_view(part.whole);
  }

 private:
  struct Partial {
    std::string position, data, whole;
    int next = 0, total = 0;
  };
  static void drop(Partial& part, const rd_kafka_message_t* m) {
    if (part.next > 0)
      log::warn("dropped an incomplete chunked record at " + part.position + " before offset " +
                std::to_string(m->offset) + " of partition " + std::to_string(m->partition));
    part.data.clear();
    part.next = 0;
  }
  std::map<int32_t, Partial> partial_;
};

using RebalanceCb = void (*)(rd_kafka_t*, rd_kafka_resp_err_t, rd_kafka_topic_partition_list_t*, void*);

// A read_committed consumer. Window reads and probes pass no callback; a consumer-group member passes its
// rebalance callback and itself as opaque.
kafka::Handle make_consumer(const kafka::Settings& s, const std::string& group, RebalanceCb on_rebalance = nullptr,
                            void* opaque = nullptr, bool follow = false) {
  std::vector<std::pair<std::string, std::string>> defaults = {{"isolation.level", "read_committed"},
                                                               {"enable.partition.eof", "true"},
                                                               {"enable.auto.commit", "false"},
                                                               {"auto.offset.reset", "earliest"},
                                                               {"log_level", "3"}};
  // A seek probe or a window's end must not wait out the default 500 ms for data that is not coming (each of a
  // seek's rounds waited on it); a window reader that follows polls every 10 ms, and a group member that may follow
  // an idle topic for days keeps the default.
  if (!on_rebalance) defaults.push_back({"fetch.wait.max.ms", follow ? "10" : "1"});
  // A member that dies without leaving (kill -9) holds its partitions until its session expires: 10 s rather than
  // librdkafka's 45 s before another member takes over.
  if (on_rebalance) defaults.push_back({"session.timeout.ms", "10000"});
  // librdkafka 2.0 refuses rd_kafka_assign() without a group.id; window reads never commit, so any id serves.
  defaults.push_back({"group.id", group.empty() ? "shadowstream-window-reader" : group});
  kafka::Conf conf = kafka::make_conf(s, defaults);
  if (on_rebalance) {
    rd_kafka_conf_set_rebalance_cb(conf.get(), on_rebalance);
    rd_kafka_conf_set_opaque(conf.get(), opaque);
  }
  char err[512];
  kafka::Handle h(rd_kafka_new(RD_KAFKA_CONSUMER, conf.get(), err, sizeof err));
  if (!h) throw Error(kExitConfig, std::string("cannot create a Kafka consumer: ") + err);
  conf.release();  // owned by the handle now
  rd_kafka_poll_set_consumer(h.get());
  return h;
}

// Partition ids of `topic` (waits for metadata; the topic must exist).
std::vector<int32_t> partitions_of(rd_kafka_t* rk, const std::string& topic) {
  kafka::Topic t(rd_kafka_topic_new(rk, topic.c_str(), nullptr));
  const rd_kafka_metadata_t* raw = nullptr;
  kafka::check(rd_kafka_metadata(rk, 0, t.get(), &raw, kTimeoutMs), "cannot read metadata of topic " + topic,
               kExitUnavailable);
  kafka::Metadata md(raw);
  std::vector<int32_t> ids;
  if (md->topic_cnt == 1 && md->topics[0].err == RD_KAFKA_RESP_ERR_NO_ERROR)
    for (int i = 0; i < md->topics[0].partition_cnt; ++i) ids.push_back(md->topics[0].partitions[i].id);
  std::sort(ids.begin(), ids.end());
  return ids;
}

struct Watermarks {
  int64_t low = 0, high = 0;
};

Watermarks watermarks(rd_kafka_t* rk, const std::string& topic, int32_t p) {
  Watermarks w;
  kafka::check(rd_kafka_query_watermark_offsets(rk, topic.c_str(), p, &w.low, &w.high, kTimeoutMs),
               "cannot read offsets of " + topic + "[" + std::to_string(p) + "]", kExitUnavailable);
  return w;
}

// Every partition's watermarks, asked for in parallel: one round trip each, and topics have dozens of partitions.
std::map<int32_t, Watermarks> all_watermarks(rd_kafka_t* rk, const std::string& topic,
                                             const std::vector<int32_t>& parts) {
  std::vector<std::future<Watermarks>> answers;
  for (int32_t p : parts) answers.push_back(std::async(std::launch::async, [=] { return watermarks(rk, topic, p); }));
  std::map<int32_t, Watermarks> wm;
  for (size_t i = 0; i < parts.size(); ++i) wm[parts[i]] = answers[i].get();
  return wm;
}

void assign(rd_kafka_t* rk, const std::string& topic, const std::map<int32_t, int64_t>& offsets) {
  kafka::PartitionList l(rd_kafka_topic_partition_list_new(static_cast<int>(offsets.size())));
  for (auto [p, off] : offsets) rd_kafka_topic_partition_list_add(l.get(), topic.c_str(), p)->offset = off;
  kafka::check(rd_kafka_assign(rk, l.get()), "cannot assign partitions", kExitUnavailable);
}

// The highest position of `source` committed in `topic`: what a restarted archiver must not write again. Reads the
// tail of each partition (widening while a partition's tail holds nothing of this source).
Position committed_high_water(const kafka::Settings& s, const std::string& topic, const std::string& source) {
  kafka::Handle c = make_consumer(s, "");
  std::vector<int32_t> parts = partitions_of(c.get(), topic);
  Position best;
  std::map<int32_t, Watermarks> wm = all_watermarks(c.get(), topic, parts);
  std::map<int32_t, int64_t> window;
  for (int32_t p : parts) window[p] = 64;
  while (!window.empty()) {
    std::map<int32_t, int64_t> offsets;
    for (auto [p, w] : window) {
      if (wm[p].high <= wm[p].low) continue;
      offsets[p] = std::max(wm[p].low, wm[p].high - w);
    }
    if (offsets.empty()) break;
    assign(c.get(), topic, offsets);
    std::map<int32_t, bool> found, eof;
    size_t done = 0;
    int64_t deadline = now_us() + kTimeoutMs * 1000LL;
    while (done < offsets.size()) {
      if (now_us() > deadline) throw Error(kExitUnavailable, "timed out reading the tail of " + topic);
      kafka::Message m(rd_kafka_consumer_poll(c.get(), 200));
      if (!m) continue;
      if (m->err == RD_KAFKA_RESP_ERR__PARTITION_EOF) {
        if (!eof[m->partition]) ++done;
        eof[m->partition] = true;
        continue;
      }
      if (m->err)
        throw Error(kExitUnavailable, std::string("reading ") + topic + ": " + rd_kafka_message_errstr(m.get()));
      if (header(m.get(), "source") != source) continue;
      if (auto pos = message_position(m.get())) {
        best = std::max(best, *pos);
        found[m->partition] = true;
      }
    }
    std::map<int32_t, int64_t> wider;
    for (auto [p, off] : offsets)
      if (!found[p] && off > wm[p].low) wider[p] = window[p] * 8;
    window = std::move(wider);
  }
  rd_kafka_consumer_close(c.get());
  return best;
}

// One transaction's records. Payloads, keys and header values live back to back in one arena that is kept between
// batches, so a record costs no allocation of its own: at archive rates the allocator was the largest cost.
class Batch {
 public:
  struct Span {
    size_t at, len;
  };
  struct Item {
    Span payload, key, position, xid, table, op, chunk;
    int64_t timestamp_ms;
  };

  // Adds one record: one message, or chunk messages of at most `max_value` bytes each.
  void add(const ChangeRecord& rec, std::string_view payload, size_t max_value = SIZE_MAX) {
    Item it;
    it.payload = put(payload);
    it.chunk = {0, 0};
    size_t key_at = arena_.size();
    append_key(arena_, rec);
    it.key = {key_at, arena_.size() - key_at};
    last_ = Position{rec.commit_lsn(), rec.ordinal()};
    it.position = put(format_position(last_));
    char num[24];
    it.xid = put(std::string_view(num, std::to_chars(num, num + sizeof num, rec.xid()).ptr - num));
    size_t table_at = arena_.size();
    if (!rec.table().empty()) arena_.append(rec.schema()).append(".").append(rec.table());
    it.table = {table_at, arena_.size() - table_at};
    it.op = put(std::string_view(num, std::to_chars(num, num + sizeof num, static_cast<int>(rec.op())).ptr - num));
    it.timestamp_ms = rec.commit_time() / 1000;
    if (payload.size() <= max_value) {
      items_.push_back(it);
      ++records_;
      return;
    }
    const size_t n = (payload.size() + max_value - 1) / max_value;
    for (size_t i = 0; i < n; ++i) {
      Item c = it;
      c.payload = {it.payload.at + i * max_value, std::min(max_value, payload.size() - i * max_value)};
      c.chunk = put(std::to_string(i + 1) + "/" + std::to_string(n));
      items_.push_back(c);
    }
    ++records_;
  }
  void clear() {
    arena_.clear();
    items_.clear();
    records_ = 0;
  }
  bool empty() const { return items_.empty(); }
  size_t size() const { return records_; }  // records, not messages
  const std::vector<Item>& items() const { return items_; }
  // The position of the last record added.
  Position last() const { return last_; }
  const char* at(Span s) const { return arena_.data() + s.at; }

 private:
  Span put(std::string_view v) {
    Span s{arena_.size(), v.size()};
    arena_.append(v);
    return s;
  }

  std::string arena_;
  std::vector<Item> items_;
  size_t records_ = 0;
  Position last_;
};

class Producer {
 public:
  Producer(const WriteConfig& cfg, const std::string& txid) : cfg_(cfg), txid_(txid) {
    kafka::Conf conf = kafka::make_conf(
        cfg.kafka,
        {{"transactional.id", txid}, {"linger.ms", "5"}, {"log_level", "3"}, {"transaction.timeout.ms", "60000"}});
    rd_kafka_conf_set_dr_msg_cb(conf.get(), &Producer::on_delivery);
    rd_kafka_conf_set_opaque(conf.get(), this);
    char err[512];
    rk_.reset(rd_kafka_new(RD_KAFKA_PRODUCER, conf.get(), err, sizeof err));
    if (!rk_) throw Error(kExitConfig, std::string("cannot create a Kafka producer: ") + err);
    conf.release();
    for (int64_t backoff = 500'000;; backoff = std::min(backoff * 2, cfg.max_backoff_us)) {
      kafka::ErrorPtr e(rd_kafka_init_transactions(rk_.get(), kTimeoutMs));
      if (!e) break;
      if (rd_kafka_error_is_fatal(e.get()) || !rd_kafka_error_is_retriable(e.get()))
        throw Error(kExitTempFail,
                    std::string("cannot initialise transactions as ") + txid + ": " + rd_kafka_error_string(e.get()));
      log::warn(std::string("initialising transactions: ") + rd_kafka_error_string(e.get()) + "; retrying");
      std::this_thread::sleep_for(std::chrono::microseconds(backoff));
      if (stop_requested()) throw Error(kExitTempFail, "stopped before Kafka was reachable");
    }
    kafka::ensure_topic(rk_.get(), cfg.topic, cfg.partitions, kTimeoutMs);
  }

  // The most bytes of a record one message carries. Asked of the cluster only once a record is large enough to
  // matter (a broker that does not answer DescribeConfigs costs its timeout, 5 s on the test broker, which every
  // short cron run would otherwise pay); anything smaller fits any topic's limit.
  size_t max_value(size_t record_bytes) {
    if (record_bytes <= kAlwaysFits) return SIZE_MAX;
    if (max_value_ == 0) {
      // The limit counts the whole record batch: leave room for the key, the headers and the batch's framing.
      size_t limit = kafka::max_message_bytes(rk_.get(), cfg_.topic, 5000);
      max_value_ = limit > (64u << 10) ? limit - (16u << 10) : limit / 2;
      log::info("messages to " + cfg_.topic + " carry at most " + std::to_string(max_value_) +
                " bytes of record; larger records are written as chunks");
    }
    return max_value_;
  }
  ~Producer() {
    if (rk_) rd_kafka_flush(rk_.get(), 5000);
  }

  // Writes the batch in one transaction; on an abortable error aborts and writes it again, so it lands exactly once.
  // A stop request during the retries ends it with Error(75): nothing of the batch was acknowledged.
  void commit_batch(const Batch& batch) {
    for (int64_t backoff = 200'000;; backoff = std::min(backoff * 2, cfg_.max_backoff_us)) {
      std::string why = try_batch(batch);
      if (why.empty()) return;
      log::warn("transaction of " + std::to_string(batch.size()) + " records failed (" + why + "); retrying in " +
                std::to_string(backoff / 1000) + "ms");
      for (int64_t waited = 0; waited < backoff; waited += 50'000) {
        if (stop_requested())
          throw Error(kExitTempFail, "stopped while retrying a transaction (" + why +
                                         "); nothing of it was acknowledged, and a rerun writes it again");
        std::this_thread::sleep_for(std::chrono::milliseconds(50));
      }
    }
  }

 private:
  static void on_delivery(rd_kafka_t*, const rd_kafka_message_t* m, void* opaque) {
    auto* self = static_cast<Producer*>(opaque);
    if (m->err && self->delivery_error_.empty()) {
      self->delivery_error_ = rd_kafka_err2str(m->err);
      self->delivery_code_ = m->err;
      self->delivery_position_ = header(m, "position");
    }
  }

  // Errors that no retry clears: a message over a limit that was not read right (the cluster's limit lowered under
  // us), or a permission the producer lacks. They stop the archiver with the setting to change.
  [[noreturn]] void permanent(rd_kafka_resp_err_t err, const std::string& position) {
    const std::string at = position.empty() ? "" : " at " + position;
    switch (err) {
      case RD_KAFKA_RESP_ERR_MSG_SIZE_TOO_LARGE:
      case RD_KAFKA_RESP_ERR_RECORD_LIST_TOO_LARGE:
        throw Error(kExitDataErr, "a message" + at + " is larger than " + cfg_.topic +
                                      " accepts: raise the topic's max.message.bytes (and the producer's "
                                      "message.max.bytes with -X), or restart ss-archive to read the limits again");
      case RD_KAFKA_RESP_ERR_TOPIC_AUTHORIZATION_FAILED:
      case RD_KAFKA_RESP_ERR_TRANSACTIONAL_ID_AUTHORIZATION_FAILED:
      case RD_KAFKA_RESP_ERR_CLUSTER_AUTHORIZATION_FAILED:
        throw Error(kExitNoPerm, std::string("Kafka refused the archiver") + at + ": " + rd_kafka_err2str(err) +
                                     " (grant its user Write on " + cfg_.topic + " and the transactional-id ACLs)");
      default:
        throw Error(kExitSoftware, std::string("unexpected permanent Kafka error: ") + rd_kafka_err2str(err));
    }
  }
  static bool is_permanent(rd_kafka_resp_err_t err) {
    return err == RD_KAFKA_RESP_ERR_MSG_SIZE_TOO_LARGE || err == RD_KAFKA_RESP_ERR_RECORD_LIST_TOO_LARGE ||
           err == RD_KAFKA_RESP_ERR_TOPIC_AUTHORIZATION_FAILED ||
           err == RD_KAFKA_RESP_ERR_TRANSACTIONAL_ID_AUTHORIZATION_FAILED ||
           err == RD_KAFKA_RESP_ERR_CLUSTER_AUTHORIZATION_FAILED;
  }

  [[noreturn]] void fatal(rd_kafka_error_t* e) {
    throw Error(kExitTempFail, std::string("Kafka producer ") + txid_ + " failed fatally: " + rd_kafka_error_string(e) +
                                   (rd_kafka_error_code(e) == RD_KAFKA_RESP_ERR__FENCED
                                        ? " (another archiver took over this transactional id)"
                                        : ""));
  }

  // "" on success, else why it must be retried (the transaction was aborted).
  std::string try_batch(const Batch& batch) {
    delivery_error_.clear();
    delivery_code_ = RD_KAFKA_RESP_ERR_NO_ERROR;
    if (kafka::ErrorPtr e{rd_kafka_begin_transaction(rk_.get())}) {
      if (rd_kafka_error_is_fatal(e.get())) fatal(e.get());
      return rd_kafka_error_string(e.get());
    }
    for (const Batch::Item& p : batch.items()) {
      for (;;) {
        rd_kafka_resp_err_t err = produce(batch, p);
        if (err == RD_KAFKA_RESP_ERR__QUEUE_FULL) {
          rd_kafka_poll(rk_.get(), 50);
          continue;
        }
        if (err) {
          std::string why = abort(std::string("produce: ") + rd_kafka_err2str(err));
          if (is_permanent(err)) permanent(err, std::string(batch.at(p.position), p.position.len));
          return why;
        }
        break;
      }
      rd_kafka_poll(rk_.get(), 0);
    }
    kafka::ErrorPtr e = commit_txn();
    if (!e && !delivery_error_.empty()) {
      std::string why = abort(delivery_error_);
      if (is_permanent(delivery_code_)) permanent(delivery_code_, delivery_position_);
      return why;
    }
    if (!e) return "";
    if (rd_kafka_error_is_fatal(e.get())) fatal(e.get());
    std::string why = rd_kafka_error_string(e.get());
    if (rd_kafka_error_txn_requires_abort(e.get())) return abort(why);
    // Retriable commit: the outcome is unknown until a commit succeeds; retrying the commit is safe.
    for (int i = 0; i < 10 && e && rd_kafka_error_is_retriable(e.get()); ++i) {
      std::this_thread::sleep_for(std::chrono::milliseconds(200));
      e = commit_txn();
    }
    if (!e) return "";
    if (rd_kafka_error_is_fatal(e.get())) fatal(e.get());
    return abort(rd_kafka_error_string(e.get()));
  }

  // Commits the open transaction, waiting at most kTimeoutMs in one-second calls (a retriable timeout may be
  // called again), so that SIGTERM is heard within a second: then Error(75), and the transaction stays open for
  // the next producer of this transactional id to abort.
  kafka::ErrorPtr commit_txn() {
    int64_t deadline = now_us() + kTimeoutMs * 1000LL;
    for (;;) {
      kafka::ErrorPtr e(rd_kafka_commit_transaction(rk_.get(), 1000));
      if (!e || rd_kafka_error_code(e.get()) != RD_KAFKA_RESP_ERR__TIMED_OUT || now_us() > deadline) return e;
      if (stop_requested())
        throw Error(kExitTempFail, "stopped while a transaction was committing; nothing of it was acknowledged");
    }
  }

  // One message: the record's headers, and for a chunk its "chunk" header (produceva: one call shape for both).
  rd_kafka_resp_err_t produce(const Batch& batch, const Batch::Item& p) {
    rd_kafka_vu_t v[11];
    size_t n = 0;
    auto header = [&](const char* name, const char* value, size_t len) {
      v[n].vtype = RD_KAFKA_VTYPE_HEADER;
      v[n++].u.header = {name, value, static_cast<ssize_t>(len)};
    };
    v[n].vtype = RD_KAFKA_VTYPE_TOPIC;
    v[n++].u.cstr = cfg_.topic.c_str();
    v[n].vtype = RD_KAFKA_VTYPE_KEY;
    v[n++].u.mem = {const_cast<char*>(batch.at(p.key)), p.key.len};
    v[n].vtype = RD_KAFKA_VTYPE_VALUE;
    v[n++].u.mem = {const_cast<char*>(batch.at(p.payload)), p.payload.len};
    v[n].vtype = RD_KAFKA_VTYPE_MSGFLAGS;
    v[n++].u.i = RD_KAFKA_MSG_F_COPY;
    v[n].vtype = RD_KAFKA_VTYPE_TIMESTAMP;
    v[n++].u.i64 = p.timestamp_ms;
    header("position", batch.at(p.position), p.position.len);
    header("source", source_.data(), source_.size());
    header("xid", batch.at(p.xid), p.xid.len);
    header("table", batch.at(p.table), p.table.len);
    header("op", batch.at(p.op), p.op.len);
    if (p.chunk.len) header("chunk", batch.at(p.chunk), p.chunk.len);
    kafka::ErrorPtr e(rd_kafka_produceva(rk_.get(), v, n));
    return e ? rd_kafka_error_code(e.get()) : RD_KAFKA_RESP_ERR_NO_ERROR;
  }

  std::string abort(const std::string& why) {
    kafka::ErrorPtr e(rd_kafka_abort_transaction(rk_.get(), kTimeoutMs));
    if (e && rd_kafka_error_is_fatal(e.get())) fatal(e.get());
    return why;
  }

 public:
  std::string source_;

 private:
  const WriteConfig& cfg_;
  std::string txid_;
  kafka::Handle rk_;
  static constexpr size_t kAlwaysFits = 64u << 10;
  size_t max_value_ = 0;  // 0 = not asked yet
  std::string delivery_error_, delivery_position_;
  rd_kafka_resp_err_t delivery_code_ = RD_KAFKA_RESP_ERR_NO_ERROR;
};

}  // namespace

namespace {
// What the archive holds of one source from a position on. A restarted archiver is resent everything after its
// upstream's last acknowledgement and must write exactly what is missing of it. On a real cluster that is everything
// above the high-water: read_committed hides aborted transactions, and committed ones are whole. A broker that shows
// an aborted transaction's records (librdkafka 2.0's test broker does: its transactions never abort) would make that
// rule drop the records the dead archiver had not flushed; reading what is really there from the first resent
// position on finds those holes, on any broker.
struct Archived {
  Position hw;                    // the highest position held
  Position floor;                 // below it, everything up to hw is taken as held
  std::vector<Position> present;  // sorted: what is held in [floor, hw]
  std::set<Position> written;     // written by this run (the newest million)

  // Everything written is remembered, so a record delivered again in the same run (a redelivery after a Redis
  // restart can come out of order) is dropped, not written twice. The oldest half goes past a million.
  void note_written(const Position& p) {
    written.insert(p);
    if (written.size() > 1'000'000) written.erase(written.begin(), std::next(written.begin(), 500'000));
  }

  bool holds(const Position& p) const {
    return p <= hw && (p < floor || std::binary_search(present.begin(), present.end(), p) || written.count(p));
  }
};
Archived archived_since(const kafka::Settings& s, const std::string& topic, const std::string& source,
                        const Position& from);
}  // namespace

int run_write(const WriteConfig& cfg, int in_fd) {
  FrameReader in(in_fd, "stdin", cfg.max_frame);
  ChangeRecord rec;
  std::string_view payload;
  if (!in.next(rec, payload)) return kExitOk;  // nothing to archive: no need to reach Kafka
  std::string source = rec.source().name().empty() ? "default" : rec.source().name();
  std::string txid = cfg.transactional_id.empty() ? "shadowstream-archive-" + source : cfg.transactional_id;
  Producer producer(cfg, txid);
  producer.source_ = source;
  Archived held = archived_since(cfg.kafka, cfg.topic, source, Position{rec.commit_lsn(), rec.ordinal()});
  log::info("archive high-water for " + source + ": " + format_position(held.hw));
  std::unique_ptr<AckWriter> ack;
  if (!cfg.ack.empty()) ack = std::make_unique<AckWriter>(cfg.ack);
  Batch batch;
  uint64_t written = 0, dropped = 0;
  bool have = true, bad = false;
  std::optional<Error> pending_error;
  bool ready = true;  // `rec` holds the next record to place
  while (have) {
    batch.clear();
    int64_t started = now_us();
    try {
      if (!ready) {
        ready = true;
        if (!in.next(rec, payload)) break;
      }
      for (;;) {
        Position pos{rec.commit_lsn(), rec.ordinal()};
        if (!held.holds(pos)) {
          held.note_written(pos);
          batch.add(rec, payload, producer.max_value(payload.size()));
        } else {
          ++dropped;
        }
        if (batch.size() >= cfg.batch || stop_requested()) {
          have = in.next(rec, payload);
          break;
        }
        if (in.buffered() == 0 && !batch.empty()) {
          // Input is idle: wait for more at most until the linger time is up, then commit what is in hand rather
          // than hold the transaction open until the next record arrives.
          int64_t left_ms = std::max<int64_t>(0, (started + cfg.linger_us - now_us()) / 1000);
          pollfd pfd{in_fd, POLLIN, 0};
          if (::poll(&pfd, 1, static_cast<int>(left_ms)) == 0) {
            ready = false;
            break;
          }
        }
        if (!in.next(rec, payload)) {
          have = false;
          break;
        }
      }
    } catch (const Error& e) {
      // Commit what came before the bad frame; report it afterwards.
      pending_error = e;
      have = false;
      bad = true;
    }
    if (!batch.empty()) {
      producer.commit_batch(batch);
      written += batch.size();
      held.hw = std::max(held.hw, batch.last());
      if (ack) ack->ack(held.hw);
    } else if (ack && !bad && held.hw.lsn) {
      ack->ack(held.hw);  // everything was already archived: acknowledge it so the upstream moves on
    }
    if (stop_requested()) break;
  }
  log::info("archived " + std::to_string(written) + " records, dropped " + std::to_string(dropped) +
            " already archived");
  if (pending_error) throw *pending_error;
  return kExitOk;
}

// ---- read --------------------------------------------------------------------------------------------------------

namespace {

// Per partition, the first offset whose message's key (commit time, or LSN) is >= `target`. Every partition is in
// commit order, so the key grows along it. Each round probes every unfinished partition once: first its last and
// its first message (the keys at the range's ends; a window at the end of the topic is often decided there), then
// rounds of three: just below and just above the offset interpolated from the keys at the ends (commit times are
// close to linear in offsets, so the range shrinks ~100x per pair), then a halving (so skewed data still
// converges). It stops within kSearchSlack offsets of the answer: the reader skips the few records before the
// window faster than more rounds would find them. A round seeks the partitions still searched and pauses the rest
// (reassigning cost twice as much). On 1M records in 64 partitions that is ~6 rounds instead of 14 halvings.
constexpr int64_t kSearchSlack = 32;

template <typename Key>
std::map<int32_t, int64_t> search_offsets(rd_kafka_t* c, const std::string& topic, const std::vector<int32_t>& parts,
                                          std::map<int32_t, Watermarks>& wm, double target, Key key) {
  struct Range {
    int64_t lo, hi;                        // the answer is in [lo, hi]; hi = end means "after everything"
    std::optional<double> key_lo, key_hi;  // keys of the messages just before lo and at hi, once seen
  };
  std::map<int32_t, Range> range;
  for (int32_t p : parts) range[p] = {wm[p].low, wm[p].high, {}, {}};
  for (int round = 0;; ++round) {
    std::map<int32_t, int64_t> probe;
    for (auto& [p, r] : range) {
      if (r.hi - r.lo <= kSearchSlack) continue;
      int64_t at = r.lo + (r.hi - r.lo) / 2;
      int step = round < 2 ? round : 2 + (round - 2) % 3;
      if (step == 0) {
        at = r.hi - 2;  // the last offset is usually the last transaction's commit marker
      } else if (step == 1) {
        at = r.lo;
      } else if (step < 4 && r.key_lo && r.key_hi && *r.key_hi > *r.key_lo) {
        double f = (target - *r.key_lo) / (*r.key_hi - *r.key_lo);
        int64_t margin = (r.hi - r.lo) / 128 + 1;
        at = r.lo + static_cast<int64_t>(f * static_cast<double>(r.hi - r.lo)) + (step == 2 ? -margin : margin);
      }
      probe[p] = std::clamp(at, r.lo, r.hi - 1);
    }
    if (probe.empty()) break;
    if (round == 0) {
      assign(c, topic, probe);
    } else {
      kafka::PartitionList idle(rd_kafka_topic_partition_list_new(static_cast<int>(range.size())));
      kafka::PartitionList seek(rd_kafka_topic_partition_list_new(static_cast<int>(probe.size())));
      for (auto& [p, r] : range)
        if (!probe.count(p)) rd_kafka_topic_partition_list_add(idle.get(), topic.c_str(), p);
      for (auto [p, off] : probe) rd_kafka_topic_partition_list_add(seek.get(), topic.c_str(), p)->offset = off;
      if (idle->cnt) rd_kafka_pause_partitions(c, idle.get());
      kafka::ErrorPtr e(rd_kafka_seek_partitions(c, seek.get(), kTimeoutMs));
      if (e) throw Error(kExitUnavailable, std::string("seeking in ") + topic + ": " + rd_kafka_error_string(e.get()));
    }
    std::map<int32_t, bool> answered;
    int64_t deadline = now_us() + kTimeoutMs * 1000LL;
    while (answered.size() < probe.size()) {
      if (now_us() > deadline) throw Error(kExitUnavailable, "timed out seeking in " + topic);
      kafka::Message m(rd_kafka_consumer_poll(c, 200));
      if (!m || answered.count(m->partition) || !probe.count(m->partition)) continue;
      Range& r = range[m->partition];
      if (m->err == RD_KAFKA_RESP_ERR__PARTITION_EOF) {
        // Nothing readable at or after the probe (aborted records, markers): the answer is at or before it.
        r.hi = probe[m->partition];
      } else if (m->err) {
        throw Error(kExitUnavailable, std::string("seeking in ") + topic + ": " + rd_kafka_message_errstr(m.get()));
      } else {
        // The message read may lie past the probe (skipped markers); its offset bounds the answer either way.
        // Nothing readable lies between the probe and this message, so it decides for the probe itself.
        double k = key(m.get());
        if (k >= target) {
          r.hi = probe[m->partition];
          r.key_hi = k;
        } else {
          // A message before the probe (the log's start moved under us) must not move the range backwards.
          r.lo = std::max(r.lo, m->offset + 1);
          r.key_lo = k;
        }
      }
      answered[m->partition] = true;
    }
  }
  // The reader assigns the consumer afresh; nothing of the search's pauses may carry over.
  kafka::PartitionList all(rd_kafka_topic_partition_list_new(static_cast<int>(parts.size())));
  for (int32_t p : parts) rd_kafka_topic_partition_list_add(all.get(), topic.c_str(), p);
  rd_kafka_resume_partitions(c, all.get());
  rd_kafka_assign(c, nullptr);
  std::map<int32_t, int64_t> result;
  for (auto& [p, r] : range) result[p] = r.lo;
  return result;
}

// The first offset of each partition at or after `ts_ms`: offsetsForTimes where the cluster answers it, else a
// binary search on the messages' timestamps (the test broker answers with nothing).
std::map<int32_t, int64_t> offsets_for_time(rd_kafka_t* c, const std::string& topic, const std::vector<int32_t>& parts,
                                            std::map<int32_t, Watermarks>& wm, int64_t ts_ms) {
  kafka::PartitionList l(rd_kafka_topic_partition_list_new(static_cast<int>(parts.size())));
  for (int32_t p : parts) rd_kafka_topic_partition_list_add(l.get(), topic.c_str(), p)->offset = ts_ms;
  if (rd_kafka_offsets_for_times(c, l.get(), kTimeoutMs) == RD_KAFKA_RESP_ERR_NO_ERROR) {
    std::map<int32_t, int64_t> result;
    for (int i = 0; i < l->cnt; ++i) {
      if (l->elems[i].err || l->elems[i].offset < 0) break;
      result[l->elems[i].partition] = l->elems[i].offset;
    }
    if (result.size() == parts.size()) return result;
  }
  return search_offsets(c, topic, parts, wm, static_cast<double>(ts_ms),
                        [](const rd_kafka_message_t* m) { return double(rd_kafka_message_timestamp(m, nullptr)); });
}

// The first offset of each partition holding a position at or after `from` (the position header; messages
// without one count as before it, which only widens the window's scan).
std::map<int32_t, int64_t> offsets_for_position(rd_kafka_t* c, const std::string& topic,
                                                const std::vector<int32_t>& parts, std::map<int32_t, Watermarks>& wm,
                                                const Position& from) {
  // The key is the LSN; a message without a position header counts as before everything, which only widens the
  // scan. Records sharing the start's LSN are then filtered by ordinal while reading.
  return search_offsets(c, topic, parts, wm, static_cast<double>(from.lsn), [](const rd_kafka_message_t* m) {
    std::optional<Position> pos = message_position(m);
    return pos ? static_cast<double>(pos->lsn) : -1.0;
  });
}

// Reading back what is held costs about what the upstream resends; past this many messages the archiver keeps to
// the high-water rule alone.
constexpr int64_t kMaxRescan = 4'000'000;

Archived archived_since(const kafka::Settings& s, const std::string& topic, const std::string& source,
                        const Position& from) {
  Archived a;
  a.hw = committed_high_water(s, topic, source);
  a.floor = from;
  if (a.hw < from) return a;
  kafka::Handle c = make_consumer(s, "");
  std::vector<int32_t> parts = partitions_of(c.get(), topic);
  std::map<int32_t, Watermarks> wm = all_watermarks(c.get(), topic, parts);
  std::map<int32_t, int64_t> start = offsets_for_position(c.get(), topic, parts, wm, from), offsets;
  int64_t total = 0;
  for (auto [p, off] : start) {
    if (off >= wm[p].high) continue;
    offsets[p] = off;
    total += wm[p].high - off;
  }
  if (total > kMaxRescan) {
    log::warn("the resend starts " + std::to_string(total) + " messages back in " + topic +
              "; taking everything up to the high-water " + format_position(a.hw) + " as archived");
    a.floor = Position{a.hw.lsn, a.hw.ordinal + 1};
    rd_kafka_consumer_close(c.get());
    return a;
  }
  if (!offsets.empty()) assign(c.get(), topic, offsets);
  std::set<int32_t> eof;
  Chunks chunks;
  int64_t deadline = now_us() + kTimeoutMs * 1000LL;
  while (eof.size() < offsets.size()) {
    if (now_us() > deadline) throw Error(kExitUnavailable, "timed out reading back " + topic);
    kafka::Message m(rd_kafka_consumer_poll(c.get(), 200));
    if (!m) continue;
    if (m->err == RD_KAFKA_RESP_ERR__PARTITION_EOF) {
      eof.insert(m->partition);
      continue;
    }
    if (m->err)
      throw Error(kExitUnavailable, std::string("reading ") + topic + ": " + rd_kafka_message_errstr(m.get()));
    deadline = now_us() + kTimeoutMs * 1000LL;
    if (header(m.get(), "source") != source) continue;
    // A chunked record is held once its last chunk is there.
    if (!chunks.feed(m.get())) continue;
    if (auto pos = message_position(m.get()); pos && *pos >= from) a.present.push_back(*pos);
  }
  rd_kafka_consumer_close(c.get());
  std::sort(a.present.begin(), a.present.end());
  return a;
}

struct Buffered {
  Position pos;
  kafka::Message msg;
  std::string joined;  // a chunked record's payload; else the message's
  int64_t arrived_us;
  std::string_view payload() const {
    return msg ? std::string_view(static_cast<const char*>(msg->payload), msg->len) : std::string_view(joined);
  }
};

// With --follow, a partition that has caught up cannot say whether a record with a lower position is still to come,
// and waiting for it to answer could take forever on an idle partition. A transaction's commit markers reach all its
// partitions within milliseconds, so a record that has waited this long behind caught-up partitions goes out.
constexpr int64_t kFollowGraceUs = 200'000;

int window_read(const ReadConfig& cfg, int out_fd) {
  kafka::Handle c = make_consumer(cfg.kafka, "", nullptr, nullptr, cfg.follow);
  std::vector<int32_t> parts = partitions_of(c.get(), cfg.topic);
  if (parts.empty()) throw Error(kExitUnavailable, "topic " + cfg.topic + " does not exist");
  std::map<int32_t, Watermarks> wm = all_watermarks(c.get(), cfg.topic, parts);
  std::map<int32_t, int64_t> start;
  for (int32_t p : parts) start[p] = wm[p].low;
  auto later = [&](const std::map<int32_t, int64_t>& other) {
    for (auto [p, off] : other) start[p] = std::max(start[p], off);
  };
  if (cfg.since_us) later(offsets_for_time(c.get(), cfg.topic, parts, wm, *cfg.since_us / 1000));
  if (cfg.from) later(offsets_for_position(c.get(), cfg.topic, parts, wm, *cfg.from));
  std::map<int32_t, int64_t> active;
  for (int32_t p : parts)
    if (start[p] < wm[p].high || cfg.follow) active[p] = start[p];
  FrameWriter out(out_fd);
  if (active.empty()) return kExitOk;
  assign(c.get(), cfg.topic, active);
  // k-way merge: every partition is in position order, so the smallest head among them is the next record overall.
  std::map<int32_t, std::deque<Buffered>> heads;
  std::map<int32_t, bool> done;
  ChangeRecord rec;
  std::map<int32_t, bool> caught_up;  // --follow: at the end of the partition, nothing buffered
  Chunks chunks;
  auto emit_ready = [&](bool final) {
    for (;;) {
      int32_t best = -1;
      bool waiting_on_caught_up = false;
      for (auto& [p, q] : heads) {
        if (q.empty()) {
          if (done[p] || final) continue;
          if (!caught_up[p]) return;  // cannot know the next record until this partition answers
          waiting_on_caught_up = true;
          continue;
        }
        if (best < 0 || q.front().pos < heads[best].front().pos) best = p;
      }
      if (best < 0) return;
      if (waiting_on_caught_up && now_us() - heads[best].front().arrived_us < kFollowGraceUs) return;
      Buffered b = std::move(heads[best].front());
      heads[best].pop_front();
      out.write_payload(b.payload());
    }
  };
  for (int32_t p : parts)
    if (active.count(p)) heads[p];
  size_t finished = 0;
  int64_t last_progress = now_us();
  while (finished < active.size() && !stop_requested() && !(cfg.should_stop && cfg.should_stop())) {
    kafka::Message m(rd_kafka_consumer_poll(c.get(), cfg.follow ? 50 : 500));
    if (!m) {
      if (cfg.follow) emit_ready(false);  // records held for the grace period
      out.flush();
      // End-of-partition events can go missing (seen after a broker outage on the test broker): when nothing has
      // arrived for a while, a partition whose position reached its high watermark is finished all the same.
      if (!cfg.follow && now_us() - last_progress > 3'000'000) {
        kafka::PartitionList pos(rd_kafka_topic_partition_list_new(static_cast<int>(active.size())));
        for (auto [p, off] : active)
          if (!done[p]) rd_kafka_topic_partition_list_add(pos.get(), cfg.topic.c_str(), p);
        rd_kafka_position(c.get(), pos.get());
        for (int i = 0; i < pos->cnt; ++i) {
          int32_t p = pos->elems[i].partition;
          if (pos->elems[i].offset >= 0 && pos->elems[i].offset >= watermarks(c.get(), cfg.topic, p).high && !done[p]) {
            done[p] = true;
            ++finished;
          }
        }
        emit_ready(false);
        if (now_us() - last_progress > 60'000'000)
          throw Error(kExitUnavailable, "no progress reading " + cfg.topic + " for 60s; is the cluster healthy?");
      }
      continue;
    }
    last_progress = now_us();
    int32_t p = m->partition;
    if (m->err == RD_KAFKA_RESP_ERR__PARTITION_EOF) {
      if (cfg.follow) caught_up[p] = true;
      if (!cfg.follow && !done[p]) {
        done[p] = true;
        ++finished;
      }
      emit_ready(false);
      continue;
    }
    if (m->err)
      throw Error(kExitUnavailable, std::string("reading ") + cfg.topic + ": " + rd_kafka_message_errstr(m.get()));
    if (done[p]) continue;
    caught_up[p] = false;
    std::optional<std::string_view> whole = chunks.feed(m.get());
    if (!whole) continue;
    const bool chunked = whole->data() != m->payload;
    if (!rec.ParseFromArray(whole->data(), static_cast<int>(whole->size())))
      throw Error(kExitDataErr, cfg.topic + "[" + std::to_string(p) + "] offset " + std::to_string(m->offset) +
                                    ": not a ChangeRecord");
    Position pos{rec.commit_lsn(), rec.ordinal()};
    bool past = (cfg.until_us && rec.commit_time() >= *cfg.until_us) || (cfg.to && pos > *cfg.to);
    bool before = (cfg.since_us && rec.commit_time() < *cfg.since_us) || (cfg.from && pos < *cfg.from);
    if (past) {
      done[p] = true;  // partitions are in position (and so commit) order: nothing later qualifies
      ++finished;
    } else if (!before) {
      if (chunked)
        heads[p].push_back({pos, nullptr, std::string(*whole), now_us()});
      else
        heads[p].push_back({pos, std::move(m), {}, now_us()});
    }
    emit_ready(false);
  }
  emit_ready(true);
  out.flush();
  rd_kafka_consumer_close(c.get());
  return kExitOk;
}

// A consumer-group member. Offsets are committed only for records the downstream acknowledged (--ack-from), also
// before a rebalance takes partitions away, so that the member that gets them next starts right after them.
// Without --ack-from nothing is committed: written to a pipe is not stored, and the group delivers it again.
class GroupMember {
 public:
  GroupMember(const ReadConfig& cfg, int out_fd) : cfg_(cfg), out_(out_fd), out_is_file_(is_regular_file(out_fd)) {
    c_ = make_consumer(cfg.kafka, cfg.group, &GroupMember::on_rebalance, this);
    if (!cfg.ack_from.empty()) acks_ = std::make_unique<AckReader>(cfg.ack_from);
  }

  int run() {
    kafka::PartitionList topics(rd_kafka_topic_partition_list_new(1));
    rd_kafka_topic_partition_list_add(topics.get(), cfg_.topic.c_str(), RD_KAFKA_PARTITION_UA);
    kafka::check(rd_kafka_subscribe(c_.get(), topics.get()), "cannot subscribe to " + cfg_.topic, kExitUnavailable);
    try {
      consume();
    } catch (const BrokenPipe&) {
      // The reader went away (`| head`): leave the group now, so another member takes the partitions at once
      // instead of after the session times out. Nothing unacknowledged is committed.
      commit();
      rd_kafka_consumer_close(c_.get());
      throw;
    }
    int64_t deadline = now_us() + (acks_ ? 10'000'000 : 30'000'000);
    while (!unacked_.empty() && now_us() < deadline) {
      commit();
      std::this_thread::sleep_for(std::chrono::milliseconds(50));
    }
    rd_kafka_consumer_close(c_.get());
    if (!tracks()) {
      if (delivered_ > 0)
        log::warn("committed no offsets for the " + std::to_string(delivered_) +
                  " records delivered: without --ack-from nothing is acknowledged, and the group delivers them again");
      return kExitOk;
    }
    if (!unacked_.empty())
      throw Error(kExitTempFail, std::to_string(unacked_.size()) +
                                     " delivered records were not acknowledged in time: the group delivers them again");
    return kExitOk;
  }

 private:
  void consume() {
    int64_t idle_since = now_us();
    while (!stop_requested()) {
      kafka::Message m(rd_kafka_consumer_poll(c_.get(), 200));
      if (!m || m->err == RD_KAFKA_RESP_ERR__PARTITION_EOF) {
        out_.flush();
        commit();
        // Without --follow, a member stops once its partitions have been quiet for a while after it got them
        // (joining a group takes seconds; that is not idleness).
        if (!assigned_at_) idle_since = now_us();
        if (!cfg_.follow && assigned_at_ && now_us() - std::max(idle_since, assigned_at_) > 3'000'000) break;
        continue;
      }
      if (m->err) {
        log::warn(std::string("consumer: ") + rd_kafka_message_errstr(m.get()));
        continue;
      }
      idle_since = now_us();
      std::optional<std::string_view> whole = chunks_.feed(m.get());
      if (!whole) continue;
      if (!rec_.ParseFromArray(whole->data(), static_cast<int>(whole->size()))) continue;
      out_.write_payload(*whole);
      ++delivered_;
      if (tracks()) unacked_.emplace_back(Position{rec_.commit_lsn(), rec_.ordinal()}, m->partition, m->offset + 1);
    }
    out_.flush();
  }

  static void on_rebalance(rd_kafka_t* rk, rd_kafka_resp_err_t err, rd_kafka_topic_partition_list_t* parts,
                           void* opaque) {
    auto* self = static_cast<GroupMember*>(opaque);
    if (err == RD_KAFKA_RESP_ERR__ASSIGN_PARTITIONS) {
      rd_kafka_assign(rk, parts);
      self->assigned_at_ = now_us();
      return;
    }
    // Revoked: hand over exactly where this member stopped.
    try {
      self->out_.flush();
      self->commit();
    } catch (const std::exception& e) {
      log::warn(std::string("committing before a rebalance: ") + e.what());
    }
    // What could not be committed for the revoked partitions is the next owner's to deliver again: say so, and do
    // not keep retrying offsets this member no longer owns.
    size_t before = self->unacked_.size();
    std::erase_if(self->unacked_, [&](const auto& u) {
      for (int i = 0; i < parts->cnt; ++i)
        if (parts->elems[i].partition == std::get<1>(u)) return true;
      return false;
    });
    if (self->unacked_.size() != before)
      log::warn(std::to_string(before - self->unacked_.size()) +
                " delivered records of revoked partitions were not committed; the group may deliver them again");
    rd_kafka_assign(rk, nullptr);
  }

  // Delivered records become stored downstream when the downstream acknowledges them (--ack-from) or, written to a
  // regular file, once it is fsynced. Written to a pipe they never do: nothing is committed.
  bool tracks() const { return acks_ || out_is_file_; }

  // Commits the offsets of what is stored downstream. Returns false when the commit failed; the offsets stay
  // pending and the next call tries again.
  bool commit() {
    if (!tracks() || unacked_.empty()) return true;
    if (acks_)
      upto_ = std::max(upto_, acks_->poll_acks());
    else
      out_.sync();
    std::map<int32_t, int64_t> offs;
    size_t n = 0;
    for (const auto& [pos, p, next] : unacked_) {
      if (acks_ && !(upto_ && pos <= *upto_)) break;
      offs[p] = std::max(offs[p], next);
      ++n;
    }
    if (offs.empty()) return true;
    kafka::PartitionList l(rd_kafka_topic_partition_list_new(static_cast<int>(offs.size())));
    for (auto [p, o] : offs) rd_kafka_topic_partition_list_add(l.get(), cfg_.topic.c_str(), p)->offset = o;
    rd_kafka_resp_err_t err = rd_kafka_commit(c_.get(), l.get(), 0);
    if (err) {
      log::warn(std::string("committing offsets: ") + rd_kafka_err2str(err) + "; will retry");
      return false;
    }
    unacked_.erase(unacked_.begin(), unacked_.begin() + static_cast<std::ptrdiff_t>(n));
    return true;
  }

  const ReadConfig& cfg_;
  FrameWriter out_;
  bool out_is_file_;
  kafka::Handle c_;
  std::unique_ptr<AckReader> acks_;
  ChangeRecord rec_;
  Chunks chunks_;
  std::deque<std::tuple<Position, int32_t, int64_t>> unacked_;
  std::optional<Position> upto_;  // highest position acknowledged downstream so far
  int64_t assigned_at_ = 0;
  uint64_t delivered_ = 0;
};

int group_read(const ReadConfig& cfg, int out_fd) {
  GroupMember m(cfg, out_fd);
  return m.run();
}

}  // namespace

int run_read(const ReadConfig& cfg, int out_fd) {
  return cfg.group.empty() ? window_read(cfg, out_fd) : group_read(cfg, out_fd);
}

}  // namespace ss::archive
