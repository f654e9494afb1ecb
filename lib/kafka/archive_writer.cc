// ss-archive write: records to Kafka in transactions, exactly once across restarts (see archive.h).
#include "kafka/archive.h"

#include <poll.h>
#include <unistd.h>

#include <algorithm>
#include <limits>
#include <map>
#include <memory>
#include <optional>
#include <vector>

#include "core/ack.h"
#include "core/defaults.h"
#include "core/error.h"
#include "core/fd_io.h"
#include "core/log.h"
#include "core/metrics.h"
#include "core/retry.h"
#include "core/signals.h"
#include "kafka/archive_batch.h"
#include "kafka/archive_layout.h"
#include "kafka/archive_resume.h"

namespace ss::archive {

using shadowstream::v1::ChangeRecord;
using namespace detail;
using kafka::make_consumer;

namespace {

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
      std::optional<std::string> failed = try_batch(batch);
      if (!failed) return;
      const std::string& why = *failed;
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

  // Nothing on success, else why it must be retried (the transaction was aborted).
  std::optional<std::string> try_batch(const Batch& batch) {
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
    if (!e) return std::nullopt;
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
    if (!e) return std::nullopt;
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

}  // namespace

// How long input must stay silent to count as a pause that commits what is in hand.
constexpr int kPauseMs = 2;
// A batch of large records is committed by its bytes: two batches are in memory at once.
constexpr size_t kMaxBatchBytes = 64u << 20;
// The input pipe's size (see run_write).
constexpr size_t kInputPipeBytes = 1u << 20;
// Input in bulk: when a batch closes, this much more is there to read. A trickle (2,000 transactions/s) leaves a
// transaction or two behind a commit, a catch-up hundreds of kB.
constexpr size_t kBulkWaitingBytes = 64u << 10;

namespace {

// One run of ss-archive write over its input: batches filled from the input, one committing while the next fills,
// acknowledged upstream once durable.
class WriteRun {
 public:
  // `rec` and `payload` hold the input's first record.
  WriteRun(const WriteConfig& cfg, int in_fd, FrameReader& in, ChangeRecord& rec, std::string_view& payload)
      : cfg_(cfg),
        in_fd_(in_fd),
        in_(in),
        rec_(rec),
        payload_(payload),
        source_(source_label(rec.source().name())),
        producer_(cfg, transactional_id(cfg, rec, source_)) {
    producer_.source_ = source_;
    if (!cfg.ack.empty()) ack_ = std::make_unique<AckWriter>(cfg.ack);
  }

  int run() {
    while (have_) {
      Batch& batch = batches_[filling_];
      batch.clear();
      dropped_high_[filling_].reset();
      counts_ = {};
      try {
        fill(batch);
      } catch (const Error& e) {
        // Commit what came before the bad frame; report it afterwards.
        pending_error_ = e;
        have_ = false;
        bad_ = true;
      }
      batch.seal();
      metrics::stage().records_in.Increment(static_cast<double>(counts_.records));
      metrics::stage().bytes_in.Increment(static_cast<double>(counts_.bytes));
      metrics::stage().duplicates.Increment(static_cast<double>(counts_.dropped));
      settle();  // one transaction at a time
      if (!batch.empty()) {
        committer_.start(batch);
        last_start_us_ = mono_us();
        // Only a batch of input in bulk commits while the next one fills. Overlapping a trickle's commits with
        // waiting for its next records woke the archiver on every write from upstream: at 2,000 transactions/s the
        // machine's other stages lost the core, and commit-to-Redis p99 went from 11 to 45-78 ms. Waiting for every
        // bulk batch's commit instead left the upstream blocked on a full pipe for most of each commit: a reader
        // from Redis at 270k records/s was archived at 35k/s.
        if (!counts_.bulk) settle();
        filling_ ^= 1;
      } else if (!bad_) {
        acknowledge(batch);
      }
      if (stop_requested()) break;
    }
    settle();
    producer_.wait_visible();
    log::info("archived " + std::to_string(written_) + " records, dropped " + std::to_string(dropped_) +
              " already archived");
    if (pending_error_) throw *pending_error_;
    return kExitOk;
  }

 private:
  // A checkpoint run (ss-capture --checkpoint | ss-archive, from cron) writes beside the pipeline's archiver: under
  // that one's transactional id, each would fence the other.
  static std::string transactional_id(const WriteConfig& cfg, const ChangeRecord& first, const std::string& source) {
    if (!cfg.transactional_id.empty()) return cfg.transactional_id;
    const bool checkpoint_run =
        first.op() == shadowstream::v1::OPERATION_CHECKPOINT_BEGIN && !first.checkpoint().initial();
    return (checkpoint_run ? "shadowstream-checkpoint-" : "shadowstream-archive-") + source;
  }

  // What each topic holds, read the first time a record goes there (a checkpoint run never reads the changes).
  Archived& held_for(Dest d) {
    auto& h = held_[static_cast<int>(d)];
    if (!h) {
      producer_.ensure(d);
      h = archived_since(cfg_.kafka, producer_.topic(d), source_, Position{rec_.commit_lsn(), rec_.ordinal()});
      log::info("archive high-water for " + source_ + " in " + producer_.topic(d) + ": " + format_position(h->hw));
    }
    return *h;
  }

  void acknowledge(const Batch& b) {
    const int i = &b == &batches_[0] ? 0 : 1;
    if (!b.empty()) {
      written_ += b.size();
      metrics::Stage& m = metrics::stage();
      m.records_out.Increment(static_cast<double>(b.size()));
      m.bytes_out.Increment(static_cast<double>(b.bytes()));
      m.latencies(b.commit_times(), now_us());
      m.position(b.last().lsn, b.commit_times().back());
      for (int d = 0; d < kDests; ++d)
        if (auto last = b.last_of(static_cast<Dest>(d))) held_[d]->hw = std::max(held_[d]->hw, *last);
      durable_ = std::max(durable_.value_or(b.last()), b.last());
    }
    if (dropped_high_[i]) durable_ = std::max(durable_.value_or(*dropped_high_[i]), *dropped_high_[i]);
    // A batch of records that were all archived already is acknowledged too, so the upstream moves on.
    if (ack_ && durable_ && (!b.empty() || dropped_high_[i])) ack_->ack(*durable_);
  }

  void settle() {
    if (committer_.in_flight()) acknowledge(committer_.finish());
  }

  // Fills the batch until it is full, the input pauses or the oldest record has waited --linger (`ready_` false:
  // the next record is still to be read), or the input ends (`have_` false).
  void fill(Batch& batch) {
    if (!ready_) {
      // Nothing in hand: while waiting for input, acknowledge the batch in flight as soon as it commits.
      if (committer_.in_flight() && in_.buffered() == 0) {
        pollfd pfd[2] = {{in_fd_, POLLIN, 0}, {committer_.done_fd(), POLLIN, 0}};
        if (::poll(pfd, 2, -1) > 0 && (pfd[1].revents & POLLIN)) settle();
      }
      ready_ = true;
      if (!in_.next(rec_, payload_)) {
        have_ = false;
        return;
      }
    }
    int64_t oldest_us = 0;  // when the batch's first record came in
    for (;;) {
      place(batch, oldest_us);
      // The next record is read after the commit starts: input that stops here must not hold the batch back.
      if (batch.size() >= cfg_.batch || batch.bytes() >= kMaxBatchBytes || stop_requested()) {
        counts_.bulk = !stop_requested();
        ready_ = false;
        return;
      }
      if (!batch.empty() && commit_now(oldest_us)) {
        counts_.bulk = in_.waiting() >= kBulkWaitingBytes;
        ready_ = false;
        return;
      }
      if (!in_.next(rec_, payload_)) {
        have_ = false;
        return;
      }
    }
  }

  // The record in hand goes into the batch, or is dropped as archived already.
  void place(Batch& batch, int64_t& oldest_us) {
    const Position pos{rec_.commit_lsn(), rec_.ordinal()};
    const Dest d = dest_of(rec_);
    if (rec_.op() == shadowstream::v1::OPERATION_CHECKPOINT_BEGIN && rec_.checkpoint().gap().lost_slot()) start_gap();
    Archived& h = held_for(d);
    ++counts_.records;
    counts_.bytes += payload_.size();
    if (!h.holds(pos)) {
      h.note_written(pos);
      if (batch.empty()) oldest_us = mono_us();
      batch.add(rec_, d, payload_, producer_.max_value());
      return;
    }
    ++dropped_;
    ++counts_.dropped;
    dropped_high_[filling_] = std::max(dropped_high_[filling_].value_or(pos), pos);
  }

  // A checkpoint after a lost slot (ss-capture --recover): its gap starts after the last change of the source the
  // archive holds. Read here, where it is known, and written into the marker.
  void start_gap() {
    int64_t time_ms = 0;
    const Position last = committed_high_water(cfg_.kafka, producer_.topic(Dest::kChanges), source_, &time_ms);
    // The archive ahead of the new slot: the promoted standby never had the old primary's last changes, and their
    // positions will be used again by others. Not until the source's WAL has passed them.
    if (last.lsn >= rec_.checkpoint().lsn())
      throw Error(kExitTempFail, "the archive holds changes of " + source_ + " up to " + format_lsn(last.lsn) +
                                     ", past the new slot's start " + format_lsn(rec_.checkpoint().lsn()) +
                                     " (changes the promoted source never had): recover again once its WAL is past it");
    auto* gap = rec_.mutable_checkpoint()->mutable_gap();
    gap->set_after_lsn(last.lsn);
    gap->set_after_time(time_ms * 1000);
    gap_payload_ = rec_.SerializeAsString();
    payload_ = gap_payload_;
    log::notice("the checkpoint at " + format_lsn(rec_.checkpoint().lsn()) + " follows a lost replication slot: " +
                "the archive lacks what " + source_ + " committed after " + format_lsn(last.lsn) +
                (time_ms ? " (" + format_time_us(time_ms * 1000) + ")" : std::string(" (nothing archived before)")) +
                " and before it");
  }

  // Commit once input pauses, or once the oldest record in hand has waited --linger: latency stays bounded while
  // input never pauses. A pause is kPauseMs of silence, not an empty pipe: upstream writes a transaction or a read's
  // worth at a time, and committing at every gap between them spent a core on commits at 2,000 transactions/s and
  // slowed every stage on the machine. While the previous batch is still committing this one cannot start: it keeps
  // taking input until then, so at high rates batches grow by themselves (in bulk, a hundredth as many transactions).
  // A pause commits no sooner than --linger after the last commit started: each transaction costs the broker a marker
  // in every partition it wrote; at 1,000 transactions/s, 10 ms apart, twice the CPU (0.35 against 0.18 cores).
  bool commit_now(int64_t oldest_us) {
    const bool busy = committer_.busy();
    if (in_.buffered() == 0) {
      pollfd pfd[2] = {{in_fd_, POLLIN, 0}, {committer_.done_fd(), POLLIN, 0}};
      const int64_t now = mono_us();
      const int64_t left_ms = std::max<int64_t>(0, (oldest_us + cfg_.linger_us - now) / 1000);
      const int64_t spaced_ms = std::max<int64_t>(kPauseMs, (last_start_us_ + cfg_.linger_us - now + 999) / 1000);
      const int64_t wait_ms = std::min<int64_t>({spaced_ms, left_ms, std::numeric_limits<int>::max()});
      const int r = ::poll(pfd, busy ? 2 : 1, busy ? -1 : static_cast<int>(wait_ms));
      // Silence (or the previous commit ended during it), or a signal.
      if (r <= 0 || !(pfd[0].revents & (POLLIN | POLLHUP | POLLERR))) return true;
    }
    return !busy && mono_us() - oldest_us >= cfg_.linger_us;
  }

  const WriteConfig& cfg_;
  const int in_fd_;
  FrameReader& in_;
  ChangeRecord& rec_;  // the record in hand (when ready_)
  std::string_view& payload_;
  const std::string source_;
  // Two batches: one filling while the other commits. Declared before the producer: its messages point into them
  // (their payloads are not copied), and a producer that goes on an error flushes what it still holds.
  Batch batches_[2];
  Producer producer_;
  std::optional<Archived> held_[kDests];
  std::string gap_payload_;          // a gap's begin marker, rewritten with where the gap starts
  std::optional<Position> durable_;  // everything up to it is archived
  std::unique_ptr<AckWriter> ack_;
  // With each batch, the highest record it dropped as already archived: acknowledged only once everything the batch
  // wrote before it is durable.
  std::optional<Position> dropped_high_[2];
  int filling_ = 0;
  int64_t last_start_us_ = 0;  // when the last commit started
  uint64_t written_ = 0, dropped_ = 0;
  struct {
    uint64_t records = 0, bytes = 0, dropped = 0;  // per batch: the metrics' atomics cost per call
    bool bulk = false;  // the input came faster than a trickle: its commit overlaps the next batch's input
  } counts_;
  bool have_ = true, bad_ = false;
  bool ready_ = true;  // rec_ holds the next record to place
  std::optional<Error> pending_error_;
  // After everything its thread uses: destroyed (and waited for) first.
  Committer committer_{[this](const Batch& b) { producer_.commit_batch(b); }};
};

}  // namespace

int run_write(const WriteConfig& cfg, int in_fd) {
  // While a batch commits, the stage upstream (a reader from Redis) goes on writing: with Linux's 64 kB pipe it would
  // block after two hundred records and leave a gap in the input that reads as a pause (a trickle's commit, which
  // takes no input until it ends). A megabyte keeps it ahead: the archiver pair went from 70k to 140k records/s.
  widen_pipe(in_fd, kInputPipeBytes);
  FrameReader in(in_fd, "stdin", cfg.max_frame);
  ChangeRecord rec;
  std::string_view payload;
  if (!in.next(rec, payload)) return kExitOk;  // nothing to archive: no need to reach Kafka
  WriteRun run(cfg, in_fd, in, rec, payload);
  return run.run();
}

}  // namespace ss::archive
