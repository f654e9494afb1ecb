// ss-archive read --group: a consumer-group member (see archive.h).
#include "kafka/archive_group.h"

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
#include <vector>

#include "core/ack.h"
#include "core/error.h"
#include "core/log.h"
#include "core/signals.h"
#include "kafka/archive_layout.h"

namespace ss::archive::detail {
namespace {

using kafka::make_consumer;
using shadowstream::v1::ChangeRecord;

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
    } catch (const Error&) {
      // Bad data (a message that holds no record) stops a member as it stops a window read; what the downstream
      // acknowledged before it is committed, so a rerun starts there.
      commit();
      rd_kafka_consumer_close(c_.get());
      throw;
    }
    int64_t deadline = now_us() + (acks_ ? 10'000'000 : 30'000'000);
    while (!unacked_.empty() && now_us() < deadline) {
      commit();
      if (!sleep_unless_stopped(50'000)) break;
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
      kafka::Message m(rd_kafka_consumer_poll(c_.get(), 0));
      if (!m) {
        // Nothing more is here yet: what was delivered goes out now, not when the output buffer fills (a
        // real-time consumer would otherwise see a busy topic late), then wait for more.
        out_.flush();
        m.reset(rd_kafka_consumer_poll(c_.get(), 200));
      }
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
      if (!whole) {
        // A group reads on (it has no window to refuse); it says so once per lost record.
        if (auto o = chunks_.take_orphan(); o && o->position != orphan_told_) {
          orphan_told_ = o->position;
          log::warn("skipping the record at position " + o->position + " (" + where_in(cfg_.topic, o->m) +
                    "): retention has deleted its first chunks");
        }
        continue;
      }
      parse_record(rec_, *whole, m.get());
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
  std::string orphan_told_;
  std::deque<std::tuple<Position, int32_t, int64_t>> unacked_;
  std::optional<Position> upto_;  // highest position acknowledged downstream so far
  int64_t assigned_at_ = 0;
  uint64_t delivered_ = 0;
};

}  // namespace

int group_read(const ReadConfig& cfg, int out_fd) {
  GroupMember m(cfg, out_fd);
  return m.run();
}

}  // namespace ss::archive::detail
