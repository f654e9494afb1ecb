// ss-archive write: records to Kafka in transactions, exactly once across restarts (see archive.h).
#include "kafka/archive.h"

#include <fcntl.h>
#include <poll.h>
#include <unistd.h>

#include <algorithm>
#include <atomic>
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
#include "core/fd_io.h"
#include "core/log.h"
#include "core/metrics.h"
#include "core/retry.h"
#include "core/signals.h"
#include "kafka/archive_layout.h"

namespace ss::archive {

using shadowstream::v1::ChangeRecord;
using namespace detail;
using kafka::make_consumer;

namespace {

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
    Dest dest;
    Span last{0, 0}, records{0, 0};  // a bundle's
  };

  // Adds one record: one message, or chunk messages of at most `max_value` bytes each. A checkpoint's rows go
  // many to a message instead (bundle()).
  void add(const ChangeRecord& rec, Dest dest, std::string_view payload, size_t max_value = SIZE_MAX) {
    if (dest == Dest::kSnapshots && payload.size() <= kBundledRow) {
      bundle(rec, payload);
      return;
    }
    seal();
    Item it = describe(rec, dest);
    it.payload = put(payload);
    if (payload.size() <= max_value) {
      items_.push_back(it);
      count(rec);
      return;
    }
    const size_t n = (payload.size() + max_value - 1) / max_value;
    for (size_t i = 0; i < n; ++i) {
      Item c = it;
      c.payload = {it.payload.at + i * max_value, std::min(max_value, payload.size() - i * max_value)};
      c.chunk = put(std::to_string(i + 1) + "/" + std::to_string(n));
      items_.push_back(c);
    }
    count(rec);
  }

  // A checkpoint's rows are many to a message: a bundle holds consecutive rows of one table (contiguous ordinals)
  // as frames back to back, up to kBundleBytes, with headers "position" (the first row's), "last" and "records".
  // A checkpoint of a million rows is then a few hundred messages, and reading it back costs what its bytes cost,
  // not a million messages' overhead. Readers emit a bundle's frames as they are.
  void bundle(const ChangeRecord& rec, std::string_view payload) {
    const Position pos{rec.commit_lsn(), rec.ordinal()};
    if (open_ &&
        (pos.lsn != bundle_last_.lsn || pos.ordinal != bundle_last_.ordinal + 1 || rec.schema() != bundle_schema_ ||
         rec.table() != bundle_table_ || bundle_buf_.size() + payload.size() + 5 > kBundleBytes))
      seal();
    if (!open_) {
      open_ = true;
      // Nothing else writes to the arena until the bundle is sealed: its spans stay where they are put.
      bundle_item_ = describe(rec, Dest::kSnapshots);
      bundle_schema_ = rec.schema();
      bundle_table_ = rec.table();
      bundle_rows_ = 0;
    }
    append_frame(bundle_buf_, payload);
    bundle_last_ = pos;
    last_ = pos;
    last_of_[static_cast<int>(Dest::kSnapshots)] = pos;
    ++bundle_rows_;
    count(rec);
  }
  // Closes the open bundle, if any (before the batch is produced).
  void seal() {
    if (!open_) return;
    open_ = false;
    Item& it = bundle_item_;
    it.payload = put(bundle_buf_);
    it.last = put(format_position(bundle_last_));
    it.records = put(std::to_string(bundle_rows_));
    items_.push_back(it);
    bundle_buf_.clear();
  }

 private:
  // A message's key and headers for `rec`, in the arena.
  Item describe(const ChangeRecord& rec, Dest dest) {
    Item it;
    it.dest = dest;
    size_t key_at = arena_.size();
    append_key(arena_, rec);
    it.key = {key_at, arena_.size() - key_at};
    it.chunk = {0, 0};
    last_ = Position{rec.commit_lsn(), rec.ordinal()};
    last_of_[static_cast<int>(dest)] = last_;
    it.position = put(format_position(last_));
    char num[24];
    it.xid = put(std::string_view(num, std::to_chars(num, num + sizeof num, rec.xid()).ptr - num));
    size_t table_at = arena_.size();
    if (!rec.table().empty()) arena_.append(rec.schema()).append(".").append(rec.table());
    it.table = {table_at, arena_.size() - table_at};
    it.op = put(std::string_view(num, std::to_chars(num, num + sizeof num, static_cast<int>(rec.op())).ptr - num));
    it.timestamp_ms = rec.commit_time() / 1000;
    return it;
  }

 public:
  void clear() {
    arena_.clear();
    items_.clear();
    records_ = 0;
    commit_us_.clear();
    open_ = false;
    bundle_buf_.clear();
    for (auto& l : last_of_) l.reset();
  }
  bool empty() const { return items_.empty() && !open_; }
  size_t size() const { return records_; }  // records, not messages
  size_t bytes() const { return arena_.size() + bundle_buf_.size(); }
  const std::vector<Item>& items() const { return items_; }
  // The position of the last record added, overall and per destination.
  Position last() const { return last_; }
  std::optional<Position> last_of(Dest d) const { return last_of_[static_cast<int>(d)]; }
  const char* at(Span s) const { return arena_.data() + s.at; }
  const std::vector<int64_t>& commit_times() const { return commit_us_; }  // per record, for the metrics

 private:
  void count(const ChangeRecord& rec) {
    ++records_;
    commit_us_.push_back(rec.commit_time());
  }

  Span put(std::string_view v) {
    Span s{arena_.size(), v.size()};
    arena_.append(v);
    return s;
  }

  static constexpr size_t kBundledRow = 64u << 10, kBundleBytes = 256u << 10;

  std::string arena_;
  std::vector<Item> items_;
  size_t records_ = 0;
  std::vector<int64_t> commit_us_;
  Position last_;
  std::optional<Position> last_of_[kDests];
  bool open_ = false;  // a bundle is being filled
  Item bundle_item_;
  std::string bundle_buf_, bundle_schema_, bundle_table_;
  Position bundle_last_;
  size_t bundle_rows_ = 0;
};

class Producer {
 public:
  Producer(const WriteConfig& cfg, const std::string& txid) : cfg_(cfg), txid_(txid) {
    start("");
    // The limit counts the whole record batch: leave room for the key, the headers and the batch's framing.
    const size_t limit = kafka::max_message_bytes(rk_.get(), cfg_.topic, 5000);
    max_value_ = limit > (64u << 10) ? limit - (16u << 10) : limit / 2;
    log::debug("messages to " + cfg_.topic + " carry at most " + std::to_string(max_value_) +
               " bytes of record; larger records are written as chunks");
    // librdkafka fills a partition's record batch up to batch.size (1 MB), and Kafka checks a topic's
    // max.message.bytes against the whole batch: where the topic allows less, so must the producer, or every
    // transaction fails with MSG_SIZE_TOO_LARGE. batch.size is fixed when the handle is made: make it again.
    if (max_value_ < kBatchBytes && !user_sets("batch.size")) {
      rk_.reset();
      start(std::to_string(max_value_));
    }
    for (int d = 0; d < kDests; ++d) topics_[d] = topic_of(cfg.topic, static_cast<Dest>(d));
  }

  // Makes the producer (with `batch_size` unless empty) and initialises its transactions.
  void start(const std::string& batch_size) {
    std::vector<std::pair<std::string, std::string>> defaults{
        {"transactional.id", txid_},
        {"linger.ms", "5"},
        {"log_level", "3"},
        {"transaction.timeout.ms", "60000"},
        // A whole --batch is queued before its commit: librdkafka's default of 100000 would refuse the last ones.
        {"queue.buffering.max.messages", "1000000"}};
    if (!batch_size.empty()) defaults.emplace_back("batch.size", batch_size);
    kafka::Conf conf = kafka::make_conf(cfg_.kafka, defaults);
    rd_kafka_conf_set_dr_msg_cb(conf.get(), &Producer::on_delivery);
    rd_kafka_conf_set_opaque(conf.get(), this);
    char err[512];
    rk_.reset(rd_kafka_new(RD_KAFKA_PRODUCER, conf.get(), err, sizeof err));
    if (!rk_) throw Error(kExitConfig, std::string("cannot create a Kafka producer: ") + err);
    conf.release();
    // The archiver is a long-running stage: it waits for Kafka, saying every time what it waits for (a broker to
    // answer at all, then the transaction coordinator).
    for (Backoff backoff(cfg_.max_backoff_us);;) {
      std::string why;
      try {
        kafka::require_reachable(rk_.get(), cfg_.kafka, kafka::kReachableMs);
        kafka::ErrorPtr e(rd_kafka_init_transactions(rk_.get(), kTimeoutMs));
        if (!e) break;
        if (rd_kafka_error_is_fatal(e.get()) || !rd_kafka_error_is_retriable(e.get()))
          throw Error(kExitTempFail, std::string("cannot initialise transactions as ") + txid_ + ": " +
                                         rd_kafka_error_string(e.get()));
        why = "initialising transactions with Kafka at " + kafka::describe_brokers(rk_.get(), cfg_.kafka) + ": " +
              rd_kafka_error_string(e.get());
      } catch (const Error& e) {
        if (e.code() != kExitUnavailable) throw;
        why = e.what();
      }
      log::warn(why + "; retrying in " + backoff.delay_text());
      metrics::retried();
      if (!backoff.wait()) throw Error(kExitTempFail, "stopped before Kafka was reachable");
    }
  }

  // Makes sure the topic of `d` exists, the first time a record goes there: a stream of changes alone never needs
  // the checkpoint topics. Created with --partitions, they get its retention; the markers need one partition.
  void ensure(Dest d) {
    if (ensured_[static_cast<int>(d)]) return;
    std::map<std::string, std::string> configs{
        {"retention.ms", std::to_string(cfg_.retention_ms < 0 ? -1 : cfg_.retention_ms)}};
    kafka::ensure_topic(rk_.get(), topic(d), d == Dest::kCheckpoints && cfg_.partitions > 0 ? 1 : cfg_.partitions,
                        kTimeoutMs, configs);
    // A checkpoint's rows repeat their table's column names and types row after row: compressed (unless the user
    // chose a codec) they cost a fraction of the bytes to store and to read back, and a rebuild reads them all.
    rd_kafka_topic_conf_t* tconf = nullptr;
    if (d == Dest::kSnapshots && !user_chose_compression()) {
      tconf = rd_kafka_default_topic_conf_dup(rk_.get());
      char err[256];
      if (rd_kafka_topic_conf_set(tconf, "compression.codec", "lz4", err, sizeof err) != RD_KAFKA_CONF_OK) {
        rd_kafka_topic_conf_destroy(tconf);
        tconf = nullptr;
      }
    }
    rkt_[static_cast<int>(d)].reset(rd_kafka_topic_new(rk_.get(), topic(d).c_str(), tconf));
    if (!rkt_[static_cast<int>(d)])
      throw Error(kExitConfig, "cannot use topic " + topic(d) + ": " + rd_kafka_err2str(rd_kafka_last_error()));
    ensured_[static_cast<int>(d)] = true;
  }
  // Whether the user's -X properties or -F files (which may set anything) set a property starting with `prefix`.
  bool user_sets(const std::string& prefix) const {
    for (const auto& p : cfg_.kafka.properties)
      if (p.rfind(prefix, 0) == 0) return true;
    return !cfg_.kafka.property_files.empty();
  }
  bool user_chose_compression() const { return user_sets("compression."); }
  const std::string& topic(Dest d) const { return topics_[static_cast<int>(d)]; }

  // The most bytes of a record one message carries.
  size_t max_value() const { return max_value_; }

  // A commit returns once the coordinator has logged it; the commit markers reach the partitions a few to a few
  // hundred milliseconds later (measured on Kafka 4.4: up to a second for a first transaction in 16 partitions), and
  // until then read_committed readers stop short of the transaction. So that a read right after the archiver exits
  // sees everything it archived, it waits (at most kVisibleUs) until each partition it wrote has a last stable
  // offset past what it wrote there. Call with no transaction in flight.
  void wait_visible() {
    if (written_.empty()) return;
    kafka::Handle c = kafka::make_consumer(cfg_.kafka, "");
    const int64_t deadline = now_us() + kVisibleUs;
    for (const auto& [tp, last] : written_) {
      const std::string t = rd_kafka_topic_name(tp.first);
      while (kafka::watermarks(c.get(), t, tp.second, kTimeoutMs).high <= last) {
        if (now_us() > deadline) {
          log::warn("committed, but not yet visible to read_committed readers of " + t + "[" +
                    std::to_string(tp.second) + "] after " + std::to_string(kVisibleUs / 1'000'000) +
                    "s: its commit markers are late");
          return;
        }
        if (!sleep_unless_stopped(5'000)) return;
      }
    }
    written_.clear();
  }
  ~Producer() {
    if (rk_) rd_kafka_flush(rk_.get(), 5000);
  }

  // Writes the batch in one transaction; on an abortable error aborts and writes it again, so it lands exactly once.
  // A stop request during the retries ends it with Error(75): nothing of the batch was acknowledged.
  void commit_batch(const Batch& batch) {
    for (Backoff backoff(cfg_.max_backoff_us);;) {
      std::string why = try_batch(batch);
      if (why.empty()) return;
      log::warn("transaction of " + std::to_string(batch.size()) + " records failed (" + why + "); retrying in " +
                backoff.delay_text());
      metrics::retried();
      if (!backoff.wait())
        throw Error(kExitTempFail, "stopped while retrying a transaction (" + why +
                                       "); nothing of it was acknowledged, and a rerun writes it again");
    }
  }

 private:
  static void on_delivery(rd_kafka_t*, const rd_kafka_message_t* m, void* opaque) {
    auto* self = static_cast<Producer*>(opaque);
    if (!m->err) {
      int64_t& last = self->written_[{m->rkt, m->partition}];
      last = std::max(last, m->offset);
    }
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
    if (rd_kafka_error_txn_requires_abort(e.get())) {
      // A message the broker refused for good fails the commit too: no retry would change that.
      abort(why);
      if (is_permanent(delivery_code_)) permanent(delivery_code_, delivery_position_);
      if (is_permanent(rd_kafka_error_code(e.get()))) permanent(rd_kafka_error_code(e.get()), "");
      return why;
    }
    // Retriable commit: the outcome is unknown until a commit succeeds; retrying the commit is safe.
    for (int i = 0; i < 10 && e && rd_kafka_error_is_retriable(e.get()) && sleep_unless_stopped(200'000); ++i)
      e = commit_txn();
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
    rd_kafka_vu_t v[13];
    size_t n = 0;
    auto header = [&](const char* name, const char* value, size_t len) {
      v[n].vtype = RD_KAFKA_VTYPE_HEADER;
      v[n++].u.header = {name, value, static_cast<ssize_t>(len)};
    };
    v[n].vtype = RD_KAFKA_VTYPE_RKT;
    v[n++].u.rkt = rkt_[static_cast<int>(p.dest)].get();
    v[n].vtype = RD_KAFKA_VTYPE_KEY;
    v[n++].u.mem = {const_cast<char*>(batch.at(p.key)), p.key.len};
    v[n].vtype = RD_KAFKA_VTYPE_VALUE;
    v[n++].u.mem = {const_cast<char*>(batch.at(p.payload)), p.payload.len};
    // The payload is not copied: the batch stays as it is until its transaction has committed or aborted, by when
    // librdkafka is done with every message of it.
    v[n].vtype = RD_KAFKA_VTYPE_MSGFLAGS;
    v[n++].u.i = 0;
    v[n].vtype = RD_KAFKA_VTYPE_TIMESTAMP;
    v[n++].u.i64 = p.timestamp_ms;
    header("position", batch.at(p.position), p.position.len);
    header("source", source_.data(), source_.size());
    header("xid", batch.at(p.xid), p.xid.len);
    header("table", batch.at(p.table), p.table.len);
    header("op", batch.at(p.op), p.op.len);
    if (p.chunk.len) header("chunk", batch.at(p.chunk), p.chunk.len);
    if (p.records.len) {
      header("last", batch.at(p.last), p.last.len);
      header("records", batch.at(p.records), p.records.len);
    }
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
  std::string topics_[kDests];
  kafka::Topic rkt_[kDests];
  bool ensured_[kDests] = {};
  static constexpr size_t kBatchBytes = 1'000'000;  // librdkafka's default batch.size
  static constexpr int64_t kVisibleUs = 10'000'000;
  size_t max_value_ = 0;
  std::string delivery_error_, delivery_position_;
  // Per partition written to, the last offset delivered (for wait_visible).
  std::map<std::pair<rd_kafka_topic_t*, int32_t>, int64_t> written_;
  rd_kafka_resp_err_t delivery_code_ = RD_KAFKA_RESP_ERR_NO_ERROR;
};

// What the archive holds of one source from a position on. A restarted archiver is resent everything after its
// upstream's last acknowledgement and must write exactly what is missing of it. On a real cluster that is everything
// above the high-water: read_committed hides aborted transactions, and committed ones are whole. A broker that shows
// an aborted transaction's records (librdkafka 2.0's test broker does: its transactions never abort) would make that
// rule drop the records the dead archiver had not flushed; reading what is really there from the first resent
// position on finds those holes, on any broker.
struct Archived {
  Position hw;                                         // the highest position held
  Position floor;                                      // below it, everything up to hw is taken as held
  std::vector<std::pair<Position, Position>> present;  // sorted ranges (a bundle's first and last): what is held
  std::vector<Position> written;                       // written by this run in position order (the newest million)
  std::set<Position> written_late;                     // written by this run below what it had written before

  // Everything written is remembered, so a record delivered again in the same run (a redelivery after a Redis
  // restart can come out of order) is dropped, not written twice. The oldest half goes past a million. Records
  // come in position order all but always: an append to a vector, where a tree node per record was a twentieth of
  // the archiver's time; the rare one that comes late goes to a set.
  void note_written(const Position& p) {
    if (written.empty() || written.back() < p)
      written.push_back(p);
    else
      written_late.insert(p);
    if (written.size() > 1'000'000) {
      written.erase(written.begin(), written.begin() + 500'000);
      written_late.erase(written_late.begin(), written_late.lower_bound(written.front()));
    }
  }

  bool holds(const Position& p) const {
    // Written by this run first: a record of the batch still committing (or of the one filling) is above hw until
    // that commit ends, and a redelivery of it then must not be written again.
    // In order, as nearly always, a record is above everything written (written_late holds only positions below
    // written.back() too): no search.
    const bool above_written = written.empty() || written.back() < p;
    if (!above_written && (std::binary_search(written.begin(), written.end(), p) || written_late.count(p))) return true;
    if (p > hw) return false;
    if (p < floor) return true;
    auto it = std::upper_bound(present.begin(), present.end(), p,
                               [](const Position& x, const std::pair<Position, Position>& r) { return x < r.first; });
    return it != present.begin() && p <= std::prev(it)->second;
  }
};
Archived archived_since(const kafka::Settings& s, const std::string& topic, const std::string& source,
                        const Position& from);

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
  std::map<int32_t, int64_t> start = offsets_for_position(kafka::make_probe_consumer(s).get(), topic, parts, wm, from),
                             offsets;
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
  Chunks chunks;
  read_partitions(c.get(), topic, offsets, [&](const rd_kafka_message_t* m) {
    if (header(m, "source") != source) return true;
    // A chunked record is held once its last chunk is there.
    if (!chunks.feed(m)) return true;
    auto pos = message_position(m);
    auto last = message_last_position(m);
    if (pos && last && *last >= from) a.present.emplace_back(*pos, *last);
    return true;
  });
  rd_kafka_consumer_close(c.get());
  std::sort(a.present.begin(), a.present.end());
  return a;
}

// The transaction in flight. One commits at a time, on a thread of its own, while the next batch fills: in bulk a
// commit (the last messages' acknowledgements and EndTxn) left the archiver idle for a quarter of its time, and
// producing a batch overlaps with reading and parsing the next one. The thread writes a byte to the pipe when it
// ends, so a reader waiting for input hears that the batch is durable and acknowledges it at once.
class Committer {
 public:
  explicit Committer(Producer& producer) : producer_(producer) {
    int fds[2];
    if (pipe2(fds, O_CLOEXEC | O_NONBLOCK) != 0) throw Error(kExitIoErr, "pipe: " + errno_text(errno));
    done_r_.reset(fds[0]);
    done_w_.reset(fds[1]);
  }
  ~Committer() {
    if (running_.valid()) running_.wait();
  }
  const Batch* in_flight() const { return in_flight_; }
  // A batch is in flight and has not committed yet.
  bool busy() const { return in_flight_ && !done_.load(std::memory_order_acquire); }
  int done_fd() const { return done_r_.get(); }
  void start(const Batch& batch) {
    in_flight_ = &batch;
    done_.store(false, std::memory_order_release);
    running_ = std::async(std::launch::async, [this, &batch] {
      struct Signal {
        Committer& c;
        ~Signal() {
          c.done_.store(true, std::memory_order_release);
          [[maybe_unused]] ssize_t n = ::write(c.done_w_.get(), "", 1);
        }
      } signal{*this};
      producer_.commit_batch(batch);
    });
  }
  // Waits for the batch in flight to commit and returns it; rethrows what stopped it.
  const Batch& finish() {
    const Batch* b = in_flight_;
    in_flight_ = nullptr;
    char drain[16];
    running_.wait();
    while (::read(done_r_.get(), drain, sizeof drain) > 0) {
    }
    running_.get();
    return *b;
  }

 private:
  Producer& producer_;
  UniqueFd done_r_, done_w_;
  const Batch* in_flight_ = nullptr;
  std::atomic<bool> done_{true};
  std::future<void> running_;
};

}  // namespace

// How long input must stay silent to count as a pause that commits what is in hand.
constexpr int kPauseMs = 2;
// A batch of large records is committed by its bytes: two batches are in memory at once.
constexpr size_t kMaxBatchBytes = 64u << 20;

int run_write(const WriteConfig& cfg, int in_fd) {
  FrameReader in(in_fd, "stdin", cfg.max_frame);
  ChangeRecord rec;
  std::string_view payload;
  if (!in.next(rec, payload)) return kExitOk;  // nothing to archive: no need to reach Kafka
  std::string source = rec.source().name().empty() ? "default" : rec.source().name();
  // A checkpoint run (ss-capture --checkpoint | ss-archive, from cron) writes beside the pipeline's archiver: under
  // that one's transactional id, each would fence the other.
  const bool checkpoint_run = rec.op() == shadowstream::v1::OPERATION_CHECKPOINT_BEGIN && !rec.checkpoint().initial();
  std::string txid = !cfg.transactional_id.empty() ? cfg.transactional_id
                     : checkpoint_run              ? "shadowstream-checkpoint-" + source
                                                   : "shadowstream-archive-" + source;
  // Two batches: one filling while the other commits. Declared before the producer: its messages point into them
  // (their payloads are not copied), and a producer that goes on an error flushes what it still holds.
  Batch batches[2];
  Producer producer(cfg, txid);
  producer.source_ = source;
  // What each topic holds, read the first time a record goes there (a checkpoint run never reads the changes).
  std::optional<Archived> held[kDests];
  auto held_for = [&](Dest d) -> Archived& {
    auto& h = held[static_cast<int>(d)];
    if (!h) {
      producer.ensure(d);
      h = archived_since(cfg.kafka, producer.topic(d), source, Position{rec.commit_lsn(), rec.ordinal()});
      log::info("archive high-water for " + source + " in " + producer.topic(d) + ": " + format_position(h->hw));
    }
    return *h;
  };
  std::optional<Position> durable;  // everything up to it is archived
  std::unique_ptr<AckWriter> ack;
  if (!cfg.ack.empty()) ack = std::make_unique<AckWriter>(cfg.ack);
  // With each batch, the highest record it dropped as already archived: acknowledged only once everything the batch
  // wrote before it is durable.
  std::optional<Position> dropped_high[2];
  int filling = 0;
  uint64_t written = 0, dropped = 0;
  bool have = true, bad = false;
  std::optional<Error> pending_error;
  auto acknowledge = [&](const Batch& b) {
    const int i = &b == &batches[0] ? 0 : 1;
    if (!b.empty()) {
      written += b.size();
      metrics::Stage& m = metrics::stage();
      m.records_out.Increment(static_cast<double>(b.size()));
      m.bytes_out.Increment(static_cast<double>(b.bytes()));
      const int64_t now = now_us();
      m.latencies(b.commit_times(), now);
      m.position(b.last().lsn, b.commit_times().back());
      for (int d = 0; d < kDests; ++d)
        if (auto last = b.last_of(static_cast<Dest>(d))) held[d]->hw = std::max(held[d]->hw, *last);
      durable = std::max(durable.value_or(b.last()), b.last());
    }
    if (dropped_high[i]) durable = std::max(durable.value_or(*dropped_high[i]), *dropped_high[i]);
    // A batch of records that were all archived already is acknowledged too, so the upstream moves on.
    if (ack && durable && (!b.empty() || dropped_high[i])) ack->ack(*durable);
  };
  Committer committer(producer);  // after everything its thread uses: destroyed (and waited for) first
  auto settle = [&] {
    if (committer.in_flight()) acknowledge(committer.finish());
  };
  bool ready = true;  // `rec` holds the next record to place
  while (have) {
    Batch& batch = batches[filling];
    batch.clear();
    dropped_high[filling].reset();
    int64_t oldest_us = 0;                                  // when the batch's first record came in
    uint64_t in_records = 0, in_bytes = 0, in_dropped = 0;  // counted per batch: the metrics' atomics cost per call
    bool full = false;  // it holds --batch records (or the bytes' cap): the input is coming in bulk
    try {
      if (!ready) {
        // Nothing in hand: while waiting for input, acknowledge the batch in flight as soon as it commits.
        if (committer.in_flight() && in.buffered() == 0) {
          pollfd pfd[2] = {{in_fd, POLLIN, 0}, {committer.done_fd(), POLLIN, 0}};
          if (::poll(pfd, 2, -1) > 0 && (pfd[1].revents & POLLIN)) settle();
        }
        ready = true;
        if (!in.next(rec, payload)) break;
      }
      for (;;) {
        Position pos{rec.commit_lsn(), rec.ordinal()};
        Dest d = dest_of(rec);
        Archived& h = held_for(d);
        ++in_records;
        in_bytes += payload.size();
        if (!h.holds(pos)) {
          h.note_written(pos);
          if (batch.empty()) oldest_us = now_us();
          batch.add(rec, d, payload, producer.max_value());
        } else {
          ++dropped;
          ++in_dropped;
          dropped_high[filling] = std::max(dropped_high[filling].value_or(pos), pos);
        }
        // The next record is read after the commit starts: input that stops here must not hold the batch back.
        if (batch.size() >= cfg.batch || batch.bytes() >= kMaxBatchBytes || stop_requested()) {
          full = !stop_requested();
          ready = false;
          break;
        }
        // Commit once input pauses, or once the oldest record in hand has waited --linger: latency stays bounded
        // while input never pauses. A pause is kPauseMs of silence, not an empty pipe: upstream writes a
        // transaction or a read's worth at a time, and committing at every gap between them spent a core on
        // commits at 2,000 transactions/s and slowed every stage on the machine. While the previous batch is
        // still committing this one cannot start: it keeps taking input until then, so at high rates batches grow
        // by themselves (in bulk, a hundredth as many transactions).
        if (!batch.empty()) {
          const bool busy = committer.busy();
          if (in.buffered() == 0) {
            pollfd pfd[2] = {{in_fd, POLLIN, 0}, {committer.done_fd(), POLLIN, 0}};
            const int64_t left_ms = std::max<int64_t>(0, (oldest_us + cfg.linger_us - now_us()) / 1000);
            const int r = ::poll(pfd, busy ? 2 : 1, busy ? -1 : static_cast<int>(std::min<int64_t>(kPauseMs, left_ms)));
            if (r <= 0 || !(pfd[0].revents & (POLLIN | POLLHUP | POLLERR))) {
              ready = false;  // silence (or the previous commit ended during it), or a signal
              break;
            }
          }
          if (!busy && now_us() - oldest_us >= cfg.linger_us) {
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
    batch.seal();
    metrics::stage().records_in.Increment(static_cast<double>(in_records));
    metrics::stage().bytes_in.Increment(static_cast<double>(in_bytes));
    metrics::stage().duplicates.Increment(static_cast<double>(in_dropped));
    settle();  // one transaction at a time
    if (!batch.empty()) {
      committer.start(batch);
      // Only a full batch commits while the next one fills. Overlapping a trickle's commits with waiting for its
      // next records woke the archiver on every write from upstream: at 2,000 transactions/s the machine's other
      // stages lost the core, and commit-to-Redis p99 went from 11 to 45-78 ms.
      if (!full) settle();
      filling ^= 1;
    } else if (!bad) {
      acknowledge(batch);
    }
    if (stop_requested()) break;
  }
  settle();
  producer.wait_visible();
  log::info("archived " + std::to_string(written) + " records, dropped " + std::to_string(dropped) +
            " already archived");
  if (pending_error) throw *pending_error;
  return kExitOk;
}

}  // namespace ss::archive
