#include "kafka/archive_layout.h"

#include <algorithm>
#include <charconv>
#include <future>
#include <set>

#include <google/protobuf/io/coded_stream.h>
#include <google/protobuf/wire_format_lite.h>

#include "core/log.h"
#include "kafka/archive.h"

namespace ss::archive {

using shadowstream::v1::ChangeRecord;

void detail::append_key(std::string& key, const ChangeRecord& rec) {
  key.append(rec.source().name()).append("/").append(rec.schema()).append(".").append(rec.table());
  const auto& cols = rec.old_columns_size() > 0 ? rec.old_columns() : rec.columns();
  for (const auto& c : cols) {
    if (!c.is_key()) continue;
    key.push_back('/');
    key.append(c.is_null() ? "\\N" : c.text().empty() ? c.binary() : c.text());
  }
}

Dest dest_of(const ChangeRecord& rec) {
  switch (rec.op()) {
    case shadowstream::v1::OPERATION_SNAPSHOT:
      return Dest::kSnapshots;
    case shadowstream::v1::OPERATION_CHECKPOINT_BEGIN:
    case shadowstream::v1::OPERATION_CHECKPOINT_END:
      return Dest::kCheckpoints;
    default:
      return Dest::kChanges;
  }
}

std::string topic_of(const std::string& topic, Dest d) {
  return d == Dest::kSnapshots ? topic + ".snapshots" : d == Dest::kCheckpoints ? topic + ".checkpoints" : topic;
}

std::string message_key(const ChangeRecord& rec) {
  std::string key;
  detail::append_key(key, rec);
  return key;
}

namespace detail {

using kafka::make_consumer;

void parse_record(ChangeRecord& rec, std::string_view whole, const rd_kafka_message_t* m) {
  if (!rec.ParseFromArray(whole.data(), static_cast<int>(whole.size())))
    throw Error(kExitDataErr, std::string(rd_kafka_topic_name(m->rkt)) + "[" + std::to_string(m->partition) +
                                  "] offset " + std::to_string(m->offset) + ": not a ChangeRecord");
}

bool scan_record(std::string_view bytes, Position& pos, int64_t& commit_time) {
  using google::protobuf::internal::WireFormatLite;
  google::protobuf::io::CodedInputStream in(reinterpret_cast<const uint8_t*>(bytes.data()),
                                            static_cast<int>(std::min<size_t>(bytes.size(), INT32_MAX)));
  pos = {};
  commit_time = 0;
  while (uint32_t tag = in.ReadTag()) {
    const int field = WireFormatLite::GetTagFieldNumber(tag);
    const bool varint = WireFormatLite::GetTagWireType(tag) == WireFormatLite::WIRETYPE_VARINT;
    uint64_t v = 0;
    if (varint && (field == ChangeRecord::kCommitLsnFieldNumber || field == ChangeRecord::kOrdinalFieldNumber ||
                   field == ChangeRecord::kCommitTimeFieldNumber)) {
      if (!in.ReadVarint64(&v)) return false;
      if (field == ChangeRecord::kCommitLsnFieldNumber) pos.lsn = v;
      if (field == ChangeRecord::kOrdinalFieldNumber) pos.ordinal = v;
      if (field == ChangeRecord::kCommitTimeFieldNumber) commit_time = static_cast<int64_t>(v);
    } else if (!WireFormatLite::SkipField(&in, tag)) {
      return false;
    }
  }
  return in.ConsumedEntireMessage() && in.CurrentPosition() == static_cast<int>(bytes.size());
}

std::string_view header(const rd_kafka_message_t* m, const char* name) {
  rd_kafka_headers_t* h = nullptr;
  if (rd_kafka_message_headers(m, &h) != RD_KAFKA_RESP_ERR_NO_ERROR) return {};
  const void* v = nullptr;
  size_t n = 0;
  if (rd_kafka_header_get_last(h, name, &v, &n) != RD_KAFKA_RESP_ERR_NO_ERROR || !v) return {};
  return {static_cast<const char*>(v), n};
}

std::optional<Position> message_position(const rd_kafka_message_t* m) {
  return parse_position(header(m, "position"));
}

std::optional<Position> message_last_position(const rd_kafka_message_t* m) {
  std::string_view last = header(m, "last");
  return last.empty() ? message_position(m) : parse_position(last);
}

uint64_t bundled_records(const rd_kafka_message_t* m) {
  std::string_view n = header(m, "records");
  uint64_t v = 0;
  std::from_chars(n.data(), n.data() + n.size(), v);
  return v;
}

std::vector<int32_t> partitions_of(rd_kafka_t* rk, const std::string& topic) {
  return kafka::partitions_of(rk, topic, kTimeoutMs);
}
Watermarks watermarks(rd_kafka_t* rk, const std::string& topic, int32_t p) {
  return kafka::watermarks(rk, topic, p, kTimeoutMs);
}
std::map<int32_t, Watermarks> all_watermarks(rd_kafka_t* rk, const std::string& topic,
                                             const std::vector<int32_t>& parts) {
  return kafka::all_watermarks(rk, topic, parts, kTimeoutMs);
}

void assign(rd_kafka_t* rk, const std::string& topic, const std::map<int32_t, int64_t>& offsets) {
  kafka::PartitionList l(rd_kafka_topic_partition_list_new(static_cast<int>(offsets.size())));
  for (auto [p, off] : offsets) rd_kafka_topic_partition_list_add(l.get(), topic.c_str(), p)->offset = off;
  kafka::check(rd_kafka_assign(rk, l.get()), "cannot assign partitions", kExitUnavailable);
}

void read_partitions(rd_kafka_t* c, const std::string& topic, const std::map<int32_t, int64_t>& offsets,
                     const std::function<bool(const rd_kafka_message_t*)>& each) {
  if (offsets.empty()) return;
  assign(c, topic, offsets);
  std::set<int32_t> finished;
  int64_t deadline = now_us() + kTimeoutMs * 1000LL;
  while (finished.size() < offsets.size()) {
    if (now_us() > deadline) throw Error(kExitUnavailable, "timed out reading " + topic);
    kafka::Message m(rd_kafka_consumer_poll(c, 200));
    if (!m || finished.count(m->partition) || !offsets.count(m->partition)) continue;
    if (m->err == RD_KAFKA_RESP_ERR__PARTITION_EOF) {
      finished.insert(m->partition);
      continue;
    }
    if (m->err)
      throw Error(kExitUnavailable, std::string("reading ") + topic + ": " + rd_kafka_message_errstr(m.get()));
    deadline = now_us() + kTimeoutMs * 1000LL;
    if (!each(m.get())) finished.insert(m->partition);
  }
}

namespace {

// Per partition, the first offset whose message's key (commit time, or LSN) is >= `target`. Every partition is in
// commit order, so the key grows along it. Each round probes every unfinished partition once: first its last and
// its first message (the keys at the range's ends; a window at the end of the topic is often decided there), then
// rounds of three: below the offset interpolated from the keys at the ends, reading on from there through what the
// probe's fetch brought (up to kScan messages) until a key reaches the target; just above it; then a halving (so
// skewed data still converges). Commit times are close to linear in offsets, so the first of the three mostly
// finds the answer itself. It stops within kSearchSlack offsets of the answer: the reader skips the few records
// before the window faster than more rounds would find them. A round seeks the partitions still searched and pauses
// the rest (reassigning cost twice as much). On 1M records in 64 partitions that is 3 rounds (a round costs one
// fetch, 7-8 ms on the test broker) where interpolation alone took 7 and halving 14.
constexpr int64_t kSearchSlack = 32;
constexpr int64_t kScan = 1024;  // a few margins: the interpolation's error on uniform keys is about one
constexpr int64_t kScanBytes = 1 << 20;

// Where the answer lies in one partition during the search.
struct Range {
  int64_t lo, hi;                        // the answer is in [lo, hi]; hi = end means "after everything"
  std::optional<double> key_lo, key_hi;  // keys of the messages just before lo and at hi, once seen
};

// The offset each unfinished partition is probed at in this round's `step` (see above).
std::map<int32_t, int64_t> probes(const std::map<int32_t, Range>& range, int step, double target) {
  std::map<int32_t, int64_t> probe;
  for (auto& [p, r] : range) {
    if (r.hi - r.lo <= kSearchSlack) continue;
    int64_t at = r.lo + (r.hi - r.lo) / 2;
    if (step == 0) {
      at = r.hi - 2;  // the last offset is usually the last transaction's commit marker
    } else if (step == 1) {
      at = r.lo;
    } else if (step < 4 && r.key_lo && r.key_hi && *r.key_hi > *r.key_lo) {
      double f = (target - *r.key_lo) / (*r.key_hi - *r.key_lo);
      int64_t margin = (r.hi - r.lo) / 128 + 1;
      at = r.lo + static_cast<int64_t>(f * static_cast<double>(r.hi - r.lo)) + (step == 2 ? -2 * margin : margin);
    }
    probe[p] = std::clamp(at, r.lo, r.hi - 1);
  }
  return probe;
}

// Points the consumer at this round's probes, pausing the partitions no longer searched.
void seek_probes(rd_kafka_t* c, const std::string& topic, const std::map<int32_t, Range>& range,
                 const std::map<int32_t, int64_t>& probe, bool first_round) {
  if (first_round) {
    assign(c, topic, probe);
    return;
  }
  kafka::PartitionList idle(rd_kafka_topic_partition_list_new(static_cast<int>(range.size())));
  kafka::PartitionList seek(rd_kafka_topic_partition_list_new(static_cast<int>(probe.size())));
  for (auto& [p, r] : range)
    if (!probe.count(p)) rd_kafka_topic_partition_list_add(idle.get(), topic.c_str(), p);
  for (auto [p, off] : probe) rd_kafka_topic_partition_list_add(seek.get(), topic.c_str(), p)->offset = off;
  if (idle->cnt) rd_kafka_pause_partitions(c, idle.get());
  kafka::ErrorPtr e(rd_kafka_seek_partitions(c, seek.get(), kTimeoutMs));
  if (e) throw Error(kExitUnavailable, std::string("seeking in ") + topic + ": " + rd_kafka_error_string(e.get()));
}

// Reads from each probe until its round is over, narrowing the partition's range by the keys read.
template <typename Key>
void read_probes(rd_kafka_t* c, const std::string& topic, std::map<int32_t, Range>& range,
                 const std::map<int32_t, int64_t>& probe, int step, double target, Key& key) {
  std::map<int32_t, int64_t> next = probe, seen, seen_bytes;  // per probed partition: the offset after the last
                                                              // message read; how many messages and bytes read on
  std::set<int32_t> over;                                     // partitions whose round is over
  int64_t deadline = now_us() + kTimeoutMs * 1000LL;
  while (over.size() < probe.size()) {
    if (now_us() > deadline) throw Error(kExitUnavailable, "timed out seeking in " + topic);
    kafka::Message m(rd_kafka_consumer_poll(c, 200));
    if (!m || over.count(m->partition) || !probe.count(m->partition)) continue;
    const int32_t p = m->partition;
    Range& r = range[p];
    if (m->err == RD_KAFKA_RESP_ERR__PARTITION_EOF) {
      // Nothing readable at or after next[p] (aborted records, markers): the answer is at or before it.
      r.hi = std::min(r.hi, next[p]);
      over.insert(p);
      continue;
    }
    if (m->err)
      throw Error(kExitUnavailable, std::string("seeking in ") + topic + ": " + rd_kafka_message_errstr(m.get()));
    // The message read may lie past next[p] (skipped markers); nothing readable lies between them, so it decides
    // for next[p] itself.
    double k = key(m.get());
    if (k >= target) {
      r.hi = std::min(r.hi, next[p]);
      r.key_hi = k;
      over.insert(p);
      continue;
    }
    // A message before the probe (the log's start moved under us) must not move the range backwards.
    r.lo = std::max(r.lo, m->offset + 1);
    r.key_lo = k;
    next[p] = std::max(next[p], m->offset + 1);
    // By bytes too: a checkpoint's messages are bundles of up to 256 KiB.
    seen_bytes[p] += static_cast<int64_t>(m->len);
    if (++seen[p] >= (step == 2 ? kScan : 1) || seen_bytes[p] >= kScanBytes || r.hi - r.lo <= kSearchSlack)
      over.insert(p);
  }
}

template <typename Key>
std::map<int32_t, int64_t> search_offsets(rd_kafka_t* c, const std::string& topic, const std::vector<int32_t>& parts,
                                          std::map<int32_t, Watermarks>& wm, double target, Key key) {
  std::map<int32_t, Range> range;
  for (int32_t p : parts) range[p] = {wm[p].low, wm[p].high, {}, {}};
  for (int round = 0;; ++round) {
    const int step = round < 2 ? round : 2 + (round - 2) % 3;
    const std::map<int32_t, int64_t> probe = probes(range, step, target);
    if (probe.empty()) {
      log::debug("found where the window starts in " + topic + " in " + std::to_string(round) + " rounds");
      break;
    }
    seek_probes(c, topic, range, probe, round == 0);
    read_probes(c, topic, range, probe, step, target, key);
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
}  // namespace

// The first offset of each partition at or after `ts_ms`. offsetsForTimes (one round trip: the broker's time index)
// gives a floor, not the answer: the index counts commit markers too, and a marker's timestamp is the broker's clock
// when it was written, not a record's commit time. Archived live, markers trail their records by the archiver's lag
// and the floor lies just before the window; archived late (a backfill, a rebuilt archive), every marker is newer
// than any record and the floor is the partition's first marker, which read on from there meant reading nearly the
// whole topic (1M records read for a window of 10k). So the search on the records' own timestamps runs from the
// floor: its first probe, at the floor, settles the live case. A partition the broker does not answer (librdkafka's
// mock answers none; a read_committed ListOffsets answers -1 for a partition whose last commit marker has not landed
// yet) is searched whole.
std::map<int32_t, int64_t> offsets_for_time(rd_kafka_t* c, const std::string& topic, const std::vector<int32_t>& parts,
                                            std::map<int32_t, Watermarks>& wm, int64_t ts_ms) {
  std::map<int32_t, Watermarks> floor = wm;
  kafka::PartitionList l(rd_kafka_topic_partition_list_new(static_cast<int>(parts.size())));
  for (int32_t p : parts) rd_kafka_topic_partition_list_add(l.get(), topic.c_str(), p)->offset = ts_ms;
  if (rd_kafka_offsets_for_times(c, l.get(), kTimeoutMs) == RD_KAFKA_RESP_ERR_NO_ERROR)
    for (int i = 0; i < l->cnt; ++i) {
      const rd_kafka_topic_partition_t& e = l->elems[i];
      if (!e.err && e.offset >= 0)
        floor[e.partition].low = std::clamp(e.offset, floor[e.partition].low, floor[e.partition].high);
    }
  return search_offsets(c, topic, parts, floor, static_cast<double>(ts_ms),
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

// The highest position of `source` committed in `topic`: what a restarted archiver must not write again. Reads the
// tail of each partition (widening while a partition's tail holds nothing of this source).
Position committed_high_water(const kafka::Settings& s, const std::string& topic, const std::string& source,
                              int64_t* time_ms) {
  if (time_ms) *time_ms = 0;
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
      if (auto pos = message_last_position(m.get())) {
        if (time_ms && *pos > best) *time_ms = rd_kafka_message_timestamp(m.get(), nullptr);
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

std::string where_in(const std::string& topic, const rd_kafka_message_t* m) {
  return topic + "[" + std::to_string(m->partition) + "] offset " + std::to_string(m->offset);
}

}  // namespace detail
}  // namespace ss::archive
