// ss-archive read: a window of the archive in position order, or a consumer-group member (see archive.h).
#include "kafka/archive.h"

#include <google/protobuf/io/coded_stream.h>
#include <poll.h>

#include <algorithm>
#include <charconv>
#include <cstdio>
#include <deque>
#include <functional>
#include <future>
#include <map>
#include <memory>
#include <queue>
#include <thread>
#include <utility>
#include <vector>

#include "core/ack.h"
#include "core/error.h"
#include "core/log.h"
#include "core/metrics.h"
#include "core/signals.h"
#include "core/window_base.h"
#include "kafka/archive_group.h"
#include "kafka/archive_layout.h"

namespace ss::archive {

using shadowstream::v1::ChangeRecord;
using namespace detail;
using kafka::make_consumer;

namespace {

// A record waiting for its turn in the merge. Its payload is copied and the message released at once: holding
// thousands of messages (and their parsed headers) until their turn made freeing them cost more than the copy, most
// of a whole-topic read's time.
struct Buffered {
  Position pos;
  std::string payload;
  int64_t arrived_us;
  uint64_t frames = 0;  // a bundle: this many frames, already framed
};

// With --follow, a partition that has caught up cannot say whether a record with a lower position is still to come,
// and waiting for it to answer could take forever on an idle partition. A transaction's commit markers reach all its
// partitions within milliseconds, so a record that has waited this long behind caught-up partitions goes out.
constexpr int64_t kFollowGraceUs = 200'000;

// A message's commit time, microseconds, rounded up: its timestamp keeps only milliseconds, and a record is taken
// as late as it may be so that one at the window's start is never taken for one before it.
int64_t latest_commit_us(const rd_kafka_message_t* m) {
  return rd_kafka_message_timestamp(m, nullptr) * 1000 + 999;
}

// Where a window starts in each partition: the later of what the time and the position searches find.
std::map<int32_t, int64_t> window_start(rd_kafka_t* c, const std::string& topic, const Span& span,
                                        const std::vector<int32_t>& parts, std::map<int32_t, Watermarks>& wm) {
  std::map<int32_t, int64_t> start;
  for (int32_t p : parts) start[p] = wm[p].low;
  auto later = [&](const std::map<int32_t, int64_t>& other) {
    for (auto [p, off] : other) start[p] = std::max(start[p], off);
  };
  if (span.since_us) later(offsets_for_time(c, topic, parts, wm, *span.since_us / 1000));
  if (span.from) later(offsets_for_position(c, topic, parts, wm, *span.from));
  return start;
}

// A window with a start must not begin where retention has already deleted: in a partition that retention trimmed
// (its log no longer starts at offset 0) and where the window starts at the oldest message held, that message must
// itself lie at or before the window's start, or the records between them are gone. Error(66) naming the partition
// and what it still holds. (A partition emptied altogether tells nothing and is taken as intact, as in
// list_checkpoints: time-based retention empties one only of old records.)
void refuse_trimmed_start(rd_kafka_t* c, const std::string& topic, const Span& span,
                          const std::map<int32_t, int64_t>& start, std::map<int32_t, Watermarks>& wm) {
  if (!span.since_us && !span.from) return;
  std::map<int32_t, int64_t> probe;
  for (auto [p, off] : start)
    if (wm[p].low > 0 && off == wm[p].low && wm[p].high > wm[p].low) probe[p] = off;
  if (probe.empty()) return;
  read_partitions(c, topic, probe, [&](const rd_kafka_message_t* m) {
    std::optional<Position> pos = message_position(m);
    const int64_t time_us = rd_kafka_message_timestamp(m, nullptr) * 1000;
    const bool after_start = (span.since_us && time_us > *span.since_us) || (span.from && pos && *pos > *span.from);
    if (after_start)
      throw Error(kExitNoInput, "retention has deleted the start of the window in " + topic + "[" +
                                    std::to_string(m->partition) + "]: the oldest record it holds is at position " +
                                    (pos ? format_position(*pos) : std::string("?")) + ", " + format_time_us(time_us) +
                                    ", after the window's start");
    return false;
  });
  rd_kafka_assign(c, nullptr);
}

// The k-way merge of a window read: every partition is in position order, so the smallest head among them is the
// next record overall, once every partition that may still hold a smaller one has answered.
class Merge {
 public:
  explicit Merge(const std::map<int32_t, int64_t>& active) {
    for (const auto& [p, off] : active) lanes_[p];
    blocking_ = lanes_.size();
  }
  bool done(int32_t p) { return lanes_[p].done; }
  // Written once, just before the first record: by then every partition has shown what lies before its first.
  void open_with(std::function<void(FrameWriter&)> opening) { opening_ = std::move(opening); }
  // No record of this partition is wanted any more (its end, or past the window).
  void finish(int32_t p) {
    Lane& l = lanes_[p];
    if (l.done) return;
    if (l.queue.empty()) --(l.caught_up ? idle_ : blocking_);
    l.done = true;
    ++finished_;
  }
  bool all_finished() const { return finished_ == lanes_.size(); }
  // --follow: the partition is at its end (true) or has sent more (false).
  void set_caught_up(int32_t p, bool at_end) {
    Lane& l = lanes_[p];
    if (l.caught_up == at_end) return;
    if (l.queue.empty() && !l.done) {
      --(l.caught_up ? idle_ : blocking_);
      ++(at_end ? idle_ : blocking_);
    }
    l.caught_up = at_end;
  }
  void push(int32_t p, Buffered b) {
    Lane& l = lanes_[p];
    if (l.queue.empty()) {
      if (!l.done) --(l.caught_up ? idle_ : blocking_);
      heads_.emplace(b.pos, p);
    }
    l.queue.push_back(std::move(b));
  }

  // Writes every record that is known to come next: the smallest head among the partitions (a heap of them, so a
  // record costs log(partitions), not a scan of them all), once no partition that may still send a smaller one is
  // silent. `final`: no more input, empty partitions are not waited for.
  void emit_ready(FrameWriter& out, bool final) {
    while (!heads_.empty()) {
      if (!final && blocking_ > 0) return;  // cannot know the next record until that partition answers
      auto [pos, p] = heads_.top();
      Lane& l = lanes_[p];
      const Buffered& b = l.queue.front();
      if (!final && idle_ > 0 && now_us() - b.arrived_us < kFollowGraceUs) return;
      heads_.pop();
      if (opening_) std::exchange(opening_, nullptr)(out);
      if (b.frames)
        out.write_frames(b.payload, b.frames);
      else
        out.write_payload(b.payload);
      l.queue.pop_front();
      if (!l.queue.empty())
        heads_.emplace(l.queue.front().pos, p);
      else if (!l.done)
        ++(l.caught_up ? idle_ : blocking_);
    }
  }

 private:
  struct Lane {
    std::deque<Buffered> queue;
    bool done = false;
    bool caught_up = false;  // --follow: at the end of the partition, nothing buffered
  };
  std::map<int32_t, Lane> lanes_;
  // Lanes with records, by their first record's position.
  std::priority_queue<std::pair<Position, int32_t>, std::vector<std::pair<Position, int32_t>>, std::greater<>> heads_;
  size_t finished_ = 0;
  size_t blocking_ = 0;  // lanes with nothing buffered that may still send records
  size_t idle_ = 0;      // of those, the ones at their end (--follow)
  std::function<void(FrameWriter&)> opening_;
};

// The first frame's payload of a bundle. Error(65) when the bundle does not start with a whole frame.
std::string_view first_frame(std::string_view frames, const rd_kafka_message_t* m) {
  google::protobuf::io::CodedInputStream in(reinterpret_cast<const uint8_t*>(frames.data()),
                                            static_cast<int>(std::min<size_t>(frames.size(), INT32_MAX)));
  uint32_t len = 0;
  if (in.ReadVarint32(&len) && len <= frames.size() - static_cast<size_t>(in.CurrentPosition()))
    return frames.substr(static_cast<size_t>(in.CurrentPosition()), len);
  throw Error(kExitDataErr, std::string(rd_kafka_topic_name(m->rkt)) + "[" + std::to_string(m->partition) +
                                "] offset " + std::to_string(m->offset) +
                                ": a bundle that does not start with a frame");
}

// One read of `span` of `topic` to `out` in position order; `seen` is told of each record written.
class WindowRead {
 public:
  using Seen = std::function<void(const ChangeRecord&, uint64_t)>;
  WindowRead(const ReadConfig& cfg, const std::string& topic, const Span& span, bool follow, FrameWriter& out,
             const Seen& seen, bool mark_base = false)
      : cfg_(cfg),
        topic_(topic),
        span_(span),
        follow_(follow),
        mark_base_(mark_base),
        out_(out),
        seen_(seen),
        c_(make_consumer(cfg.kafka, "", nullptr, nullptr, follow)) {}

  void run() {
    if (!open()) return;
    kafka::BatchPoller poller(c_.get());
    while (!merge_->all_finished() && !stop_requested() && !(cfg_.should_stop && cfg_.should_stop())) {
      kafka::Message m = poller.next(follow_ ? 50 : 500);
      if (!m) {
        on_silence();
        continue;
      }
      progressed_ = true;
      const int32_t p = m->partition;
      if (m->err == RD_KAFKA_RESP_ERR__PARTITION_EOF) {
        if (follow_)
          merge_->set_caught_up(p, true);
        else
          merge_->finish(p);
      } else if (m->err) {
        throw Error(kExitUnavailable, std::string("reading ") + topic_ + ": " + rd_kafka_message_errstr(m.get()));
      } else if (!merge_->done(p)) {
        merge_->set_caught_up(p, false);
        take(m.get());
      }
      merge_->emit_ready(out_, false);
    }
    merge_->emit_ready(out_, true);
    out_.flush();
    rd_kafka_consumer_close(c_.get());
  }

 private:
  // Assigns the partitions from the window's start; false when none has anything to read.
  bool open() {
    std::vector<int32_t> parts = partitions_of(c_.get(), topic_);
    if (parts.empty()) throw Error(kExitUnavailable, "topic " + topic_ + " does not exist");
    std::map<int32_t, Watermarks> wm = all_watermarks(c_.get(), topic_, parts);
    std::map<int32_t, int64_t> start;
    {
      // The searches for the window's start seek here and there: a consumer of their own, which fetches little.
      kafka::Handle probe = span_.since_us || span_.from ? kafka::make_probe_consumer(cfg_.kafka) : kafka::Handle();
      rd_kafka_t* seeker = probe ? probe.get() : c_.get();
      start = window_start(seeker, topic_, span_, parts, wm);
      refuse_trimmed_start(seeker, topic_, span_, start, wm);
      if (mark_base_) find_bases(seeker, start, wm);
    }
    for (int32_t p : parts)
      if (start[p] < wm[p].high || follow_) active_[p] = start[p];
    if (active_.empty()) return false;
    assign(c_.get(), topic_, active_);
    merge_.emplace(active_);
    if (mark_base_)
      merge_->open_with([this](FrameWriter& out) {
        for (const auto& [source, base] : bases_)
          out.write_payload(window_base_marker(source, base.first, base.second).SerializeAsString());
      });
    return true;
  }

  // The last change before the window, per source (window_base.h): the message before each partition's start, and
  // the records before the window read past it (take).
  void find_bases(rd_kafka_t* c, const std::map<int32_t, int64_t>& start, std::map<int32_t, Watermarks>& wm) {
    std::map<int32_t, int64_t> probe;
    for (auto [p, off] : start)
      if (off > wm[p].low) probe[p] = off - 1;
    read_partitions(c, topic_, probe, [&](const rd_kafka_message_t* m) {
      if (std::optional<Position> pos = message_position(m))
        note_before(m, *pos, rd_kafka_message_timestamp(m, nullptr) * 1000);
      return false;
    });
    rd_kafka_assign(c, nullptr);
  }
  void note_before(const rd_kafka_message_t* m, const Position& pos, int64_t commit_time_us) {
    auto& base = bases_[std::string(header(m, "source"))];
    if (pos >= base.first) base = {pos, commit_time_us};
  }

  void on_silence() {
    // When the last message came, near enough (the clock is read at a silence, not per message).
    if (progressed_) last_progress_ = now_us();
    progressed_ = false;
    if (follow_) merge_->emit_ready(out_, false);  // records held for the grace period
    out_.flush();
    if (follow_ || now_us() - last_progress_ <= 3'000'000) return;
    // End-of-partition events can go missing (seen after a broker outage on the test broker): when nothing has
    // arrived for a while, a partition whose position reached its high watermark is finished all the same.
    kafka::PartitionList pos(rd_kafka_topic_partition_list_new(static_cast<int>(active_.size())));
    for (auto [p, off] : active_)
      if (!merge_->done(p)) rd_kafka_topic_partition_list_add(pos.get(), topic_.c_str(), p);
    rd_kafka_position(c_.get(), pos.get());
    for (int i = 0; i < pos->cnt; ++i) {
      int32_t p = pos->elems[i].partition;
      if (pos->elems[i].offset >= 0 && pos->elems[i].offset >= watermarks(c_.get(), topic_, p).high) merge_->finish(p);
    }
    merge_->emit_ready(out_, false);
    if (now_us() - last_progress_ > 60'000'000)
      throw Error(kExitUnavailable, "no progress reading " + topic_ + " for 60s; is the cluster healthy?");
  }

  // A message of a partition still wanted: its record (once whole) into the merge when inside the window.
  void take(const rd_kafka_message_t* m) {
    std::optional<std::string_view> whole = chunks_.feed(m);
    if (!whole) {
      // A record whose first chunks are gone cannot be delivered; inside the window, the window cannot be either.
      // (A chunk whose position cannot be read is taken as inside.)
      auto o = chunks_.take_orphan();
      std::optional<Position> at = o ? parse_position(o->position) : std::nullopt;
      if (o && (!at || span_.where(latest_commit_us(o->m), *at) == Span::Where::kInside))
        throw Error(kExitNoInput, "retention has deleted the first chunks of the record at position " + o->position +
                                      " (" + where_in(topic_, o->m) + "), inside the window: it cannot be read whole");
      return;
    }
    // A bundle of checkpoint rows is placed by its first row (the rows after it are consecutive).
    const uint64_t bundled = bundled_records(m);
    // The records go out as they came: only their position and commit time are read here (parsing them whole was
    // most of a whole-topic read's time), and that they are well-formed.
    const std::string_view first = bundled ? first_frame(*whole, m) : *whole;
    Position pos;
    int64_t commit_time = 0;
    if (seen_ || !scan_record(first, pos, commit_time)) {
      parse_record(rec_, first, m);  // throws, naming the message, when it is not a record
      pos = {rec_.commit_lsn(), rec_.ordinal()};
      commit_time = rec_.commit_time();
    }
    switch (span_.where(commit_time, pos)) {
      case Span::Where::kAfter:
        merge_->finish(m->partition);  // partitions are in position (and so commit) order: nothing later qualifies
        break;
      case Span::Where::kBefore:
        if (mark_base_) note_before(m, pos, commit_time);
        break;
      case Span::Where::kInside:
        if (seen_) seen_(rec_, bundled ? bundled : 1);
        metrics::note_source(header(m, "source"));
        // Only --follow's grace period looks at when a record arrived.
        const int64_t arrived = follow_ ? now_us() : 0;
        merge_->push(m->partition, {pos, std::string(*whole), arrived, bundled});
        break;
    }
  }

  const ReadConfig& cfg_;
  const std::string& topic_;
  const Span& span_;
  const bool follow_;
  const bool mark_base_;  // open with the window's bases (a window read, not a rebuild's changes)
  std::map<std::string, std::pair<Position, int64_t>> bases_;
  FrameWriter& out_;
  const Seen& seen_;
  kafka::Handle c_;
  std::map<int32_t, int64_t> active_;  // partitions read, from these offsets
  std::optional<Merge> merge_;
  ChangeRecord rec_;
  Chunks chunks_;
  int64_t last_progress_ = now_us();
  bool progressed_ = false;
};

// Writes `span` of `topic` to `out` in position order; `seen` is told of each record written.
void window_read(const ReadConfig& cfg, const std::string& topic, const Span& span, bool follow, FrameWriter& out,
                 const WindowRead::Seen& seen = {}, bool mark_base = false) {
  WindowRead(cfg, topic, span, follow, out, seen, mark_base).run();
}

// Per partition that retention has trimmed (its log no longer starts at offset 0), the position of the first record
// it still holds; nullopt for a partition emptied altogether. Untrimmed partitions are left out.
std::map<int32_t, std::optional<Position>> first_held(rd_kafka_t* c, const std::string& topic) {
  std::map<int32_t, std::optional<Position>> out;
  std::vector<int32_t> parts = partitions_of(c, topic);
  std::map<int32_t, Watermarks> wm = all_watermarks(c, topic, parts);
  std::map<int32_t, int64_t> probe;
  for (int32_t p : parts) {
    if (wm[p].low <= 0) continue;
    out[p] = std::nullopt;
    if (wm[p].high > wm[p].low) probe[p] = wm[p].low;
  }
  // One message each: the first a partition still holds.
  read_partitions(c, topic, probe, [&](const rd_kafka_message_t* m) {
    out[m->partition] = message_position(m);
    return false;
  });
  rd_kafka_assign(c, nullptr);
  return out;
}

// Whether retention left every record at or after `from` in `topic`: each trimmed partition must still start
// below it. (A partition whose oldest record is above `from` may have lost records between them; an emptied one
// tells nothing and is taken as intact: a time-based retention empties a partition only of old records.)
bool intact_from(const std::map<int32_t, std::optional<Position>>& first, const Position& from) {
  for (const auto& [p, pos] : first)
    if (pos && *pos > from) return false;
  return true;
}

int rebuild_read(const ReadConfig& cfg, int out_fd) {
  std::vector<CheckpointInfo> list = list_checkpoints(cfg.kafka, cfg.topic);
  const CheckpointInfo* pick = nullptr;
  for (const auto& cp : list) {
    if (!cp.complete) continue;
    if (cfg.until_us && cp.time_us >= *cfg.until_us) continue;
    if (cfg.to && Position{cp.lsn, 0} > *cfg.to) continue;
    if (!pick || cp.lsn > pick->lsn) pick = &cp;
  }
  const std::string target = cfg.until_us ? "an instant before " + format_time_us(*cfg.until_us)
                             : cfg.to     ? "position " + format_position(*cfg.to)
                                          : "now";
  auto oldest = oldest_rebuildable(list);
  const std::string hint =
      oldest ? "the oldest instant it can rebuild is " + format_time_us(*oldest) + " (see ss-archive checkpoints)"
             : "it holds no complete checkpoint: take one with ss-capture --checkpoint | ss-archive";
  for (const auto& cp : list)
    if (inside_gap(cp, cfg.until_us, cfg.to, pick ? pick->lsn : 0))
      throw Error(kExitNoInput, "cannot rebuild " + target + ": the archive " + cfg.topic + " lacks the " +
                                    describe_gap(cp) + " (its replication slot was lost); rebuild as of an " +
                                    "instant before the gap, or from the checkpoint on");
  FrameWriter out(out_fd);
  if (!pick) {
    bool any = !list.empty();
    kafka::Handle c = make_consumer(cfg.kafka, "");
    std::map<int32_t, std::optional<Position>> first =
        partitions_of(c.get(), cfg.topic).empty() ? decltype(first){} : first_held(c.get(), cfg.topic);
    rd_kafka_consumer_close(c.get());
    if (any || !first.empty())
      throw Error(kExitNoInput, "cannot rebuild " + target + ": the archive " + cfg.topic +
                                    " holds no complete checkpoint before it" +
                                    (first.empty() ? "" : " and retention has deleted its oldest changes") + "; " +
                                    hint);
    // Nothing was ever checkpointed (capture ran with --snapshot never) and nothing deleted: the changes alone are
    // everything the archive was given.
    log::info("no checkpoint in " + cfg.topic + ": reading its changes from the start");
    window_read(cfg, cfg.topic, Span{std::nullopt, cfg.until_us, std::nullopt, cfg.to}, cfg.follow, out);
    return kExitOk;
  }
  if (!pick->held)
    throw Error(kExitNoInput, "cannot rebuild " + target + ": retention has deleted part of the checkpoint at " +
                                  format_lsn(pick->lsn) + " (" + format_time_us(pick->time_us) +
                                  ") or of the changes after it; " + hint);
  log::info("rebuilding " + target + " from the checkpoint at " + format_lsn(pick->lsn) + " (" +
            format_time_us(pick->time_us) + ", " + std::to_string(pick->checkpoint.rows()) + " rows)");
  // The checkpoint is one transaction whose end marker commits it: it goes out only once every row the marker
  // counts has been read, so retention racing this read can never leave a partial table applied.
  out.write_payload(pick->begin);
  std::map<std::string, uint64_t> counts;
  const Position first_row{pick->lsn - 1, 1}, last_row{pick->lsn - 1, pick->end_ordinal - 1};
  if (pick->end_ordinal > 1)
    window_read(cfg, topic_of(cfg.topic, Dest::kSnapshots), Span{std::nullopt, std::nullopt, first_row, last_row},
                false, out, [&](const ChangeRecord& r, uint64_t n) { counts[r.schema() + "." + r.table()] += n; });
  if (stop_requested() || (cfg.should_stop && cfg.should_stop())) return kExitOk;
  for (const auto& t : pick->checkpoint.tables()) {
    uint64_t got = counts[t.schema() + "." + t.table()];
    if (got != t.rows())
      throw Error(kExitDataErr, "the checkpoint at " + format_lsn(pick->lsn) + " is missing rows of " + t.schema() +
                                    "." + t.table() + " (" + std::to_string(got) + " of " + std::to_string(t.rows()) +
                                    "): retention is deleting it; " + hint);
  }
  out.write_payload(pick->end);
  out.flush();
  {
    // No change was archived since the checkpoint yet: a real cluster creates the changes topic only then.
    kafka::Handle c = make_consumer(cfg.kafka, "");
    if (partitions_of(c.get(), cfg.topic).empty() && !cfg.follow) return kExitOk;
  }
  window_read(cfg, cfg.topic, Span{std::nullopt, cfg.until_us, Position{pick->lsn, 0}, cfg.to}, cfg.follow, out);
  return kExitOk;
}

}  // namespace

std::vector<CheckpointInfo> list_checkpoints(const kafka::Settings& s, const std::string& topic, bool read_held) {
  const std::string markers = topic_of(topic, Dest::kCheckpoints);
  kafka::Handle c = make_consumer(s, "");
  std::vector<int32_t> parts = partitions_of(c.get(), markers);
  std::map<std::pair<std::string, uint64_t>, CheckpointInfo> found;
  if (!parts.empty()) {
    std::map<int32_t, Watermarks> wm = all_watermarks(c.get(), markers, parts);
    std::map<int32_t, int64_t> active;
    for (int32_t p : parts)
      if (wm[p].high > wm[p].low) active[p] = wm[p].low;
    ChangeRecord rec;
    read_partitions(c.get(), markers, active, [&](const rd_kafka_message_t* m) {
      std::string_view payload(static_cast<const char*>(m->payload), m->len);
      parse_record(rec, payload, m);
      if (rec.op() != shadowstream::v1::OPERATION_CHECKPOINT_BEGIN &&
          rec.op() != shadowstream::v1::OPERATION_CHECKPOINT_END)
        return true;
      CheckpointInfo& cp = found[{rec.source().name(), rec.checkpoint().lsn()}];
      cp.source = rec.source().name();
      cp.lsn = rec.checkpoint().lsn();
      cp.time_us = rec.checkpoint().snapshot_time();
      if (rec.op() == shadowstream::v1::OPERATION_CHECKPOINT_END) {
        cp.complete = true;
        cp.checkpoint = rec.checkpoint();
        cp.end.assign(payload);
        cp.end_ordinal = rec.ordinal();
      } else {
        if (!cp.complete) cp.checkpoint = rec.checkpoint();
        cp.begin.assign(payload);
        cp.gap = rec.checkpoint().gap();
      }
      return true;
    });
    rd_kafka_assign(c.get(), nullptr);
  }
  std::vector<CheckpointInfo> out;
  for (auto& [k, cp] : found) {
    if (cp.begin.empty()) cp.complete = false;  // its begin marker is gone: so may be its first rows
    out.push_back(std::move(cp));
  }
  std::sort(out.begin(), out.end(), [](const auto& a, const auto& b) { return a.lsn < b.lsn; });
  if (!read_held || std::none_of(out.begin(), out.end(), [](const CheckpointInfo& cp) { return cp.complete; })) {
    rd_kafka_consumer_close(c.get());
    return out;
  }
  std::map<int32_t, std::optional<Position>> rows = first_held(c.get(), topic_of(topic, Dest::kSnapshots));
  std::map<int32_t, std::optional<Position>> changes = first_held(c.get(), topic);
  rd_kafka_consumer_close(c.get());
  for (auto& cp : out)
    cp.held = cp.complete && intact_from(rows, Position{cp.lsn - 1, 0}) && intact_from(changes, Position{cp.lsn, 0});
  return out;
}

bool inside_gap(const CheckpointInfo& cp, std::optional<int64_t> until_us, std::optional<Position> to,
                uint64_t start_lsn) {
  if (!cp.gap.lost_slot() || (start_lsn && start_lsn >= cp.lsn)) return false;
  if (until_us) return *until_us > cp.gap.after_time();
  if (to) return to->lsn > cp.gap.after_lsn();
  return true;
}

bool crosses_gap(const CheckpointInfo& cp, std::optional<int64_t> since_us, std::optional<int64_t> until_us,
                 std::optional<Position> from, std::optional<Position> to) {
  if (!cp.gap.lost_slot()) return false;
  if (since_us || until_us)
    return since_us.value_or(INT64_MIN) < cp.time_us && until_us.value_or(INT64_MAX) > cp.gap.after_time();
  return from.value_or(Position{}) < Position{cp.lsn, 0} && (!to || to->lsn > cp.gap.after_lsn());
}

std::string describe_gap(const CheckpointInfo& cp) {
  const std::string from =
      cp.gap.after_lsn() ? "after " + format_lsn(cp.gap.after_lsn()) + " (" + format_time_us(cp.gap.after_time()) + ")"
                         : "from its start";
  return "changes of " + cp.source + " " + from + " to the checkpoint at " + format_lsn(cp.lsn) + " (" +
         format_time_us(cp.time_us) + ")";
}

std::optional<int64_t> oldest_rebuildable(const std::vector<CheckpointInfo>& list) {
  for (const auto& cp : list)
    if (cp.held) return cp.time_us;
  return std::nullopt;
}

int print_checkpoints(const kafka::Settings& s, const std::string& topic, int out_fd) {
  {
    // An archive that holds only its initial snapshot has no changes topic yet (a real cluster creates topics only
    // when written to), but has checkpoints to list.
    kafka::Handle c = make_consumer(s, "");
    if (partitions_of(c.get(), topic).empty() && partitions_of(c.get(), topic_of(topic, Dest::kCheckpoints)).empty())
      throw Error(kExitUnavailable, "topic " + topic + " does not exist");
  }
  std::vector<CheckpointInfo> list = list_checkpoints(s, topic);
  BufferedWriter out(out_fd);
  char line[512];
  std::snprintf(line, sizeof line, "%-16s %-18s %-27s %7s %12s  %s\n", "SOURCE", "LSN", "TIME", "TABLES", "ROWS",
                "STATE");
  out.write(line);
  for (const auto& cp : list) {
    const char* state = !cp.complete         ? "incomplete (ignored)"
                        : !cp.held           ? "complete, partly deleted"
                        : cp.gap.lost_slot() ? "complete, after a gap"
                                             : "complete";
    std::snprintf(line, sizeof line, "%-16s %-18s %-27s %7d %12llu  %s\n", cp.source.c_str(),
                  format_lsn(cp.lsn).c_str(), format_time_us(cp.time_us).c_str(), cp.checkpoint.tables_size(),
                  static_cast<unsigned long long>(cp.checkpoint.rows()), state);
    out.write(line);
  }
  for (const auto& cp : list)
    if (cp.complete && cp.gap.lost_slot())
      out.write("gap: the archive lacks the " + describe_gap(cp) + ": its replication slot was lost; rebuilds " +
                "as of an instant in between are refused\n");
  auto oldest = oldest_rebuildable(list);
  out.write(oldest ? "oldest instant a rebuild can reach: " + format_time_us(*oldest) + "\n"
                   : std::string("no checkpoint a rebuild can start from\n"));
  out.flush();
  return kExitOk;
}

int run_read(const ReadConfig& cfg, int out_fd) {
  if (!cfg.group.empty()) return group_read(cfg, out_fd);
  if (cfg.since_us || cfg.from) {
    // Across a gap after a lost slot, a window is not all the source committed: said (a rebuild is refused).
    for (const auto& cp : list_checkpoints(cfg.kafka, cfg.topic, false))
      if (cp.complete && crosses_gap(cp, cfg.since_us, cfg.until_us, cfg.from, cfg.to))
        log::warn("the window crosses a gap: the archive lacks the " + describe_gap(cp) + " (its slot was lost)");
    FrameWriter out(out_fd);
    window_read(cfg, cfg.topic, Span{cfg.since_us, cfg.until_us, cfg.from, cfg.to}, cfg.follow, out, {}, true);
    return kExitOk;
  }
  return rebuild_read(cfg, out_fd);
}

}  // namespace ss::archive
