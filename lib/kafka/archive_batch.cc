#include "kafka/archive_batch.h"

#include <fcntl.h>
#include <unistd.h>

#include <algorithm>
#include <charconv>

#include "core/frames.h"
#include "kafka/archive_layout.h"

namespace ss::archive::detail {

using shadowstream::v1::ChangeRecord;

void Batch::add(const ChangeRecord& rec, Dest dest, std::string_view payload, size_t max_value) {
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

void Batch::bundle(const ChangeRecord& rec, std::string_view payload) {
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

void Batch::seal() {
  if (!open_) return;
  open_ = false;
  Item& it = bundle_item_;
  it.payload = put(bundle_buf_);
  it.last = put(format_position(bundle_last_));
  it.records = put(std::to_string(bundle_rows_));
  items_.push_back(it);
  bundle_buf_.clear();
}

Batch::Item Batch::describe(const ChangeRecord& rec, Dest dest) {
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

void Batch::clear() {
  arena_.clear();
  items_.clear();
  records_ = 0;
  commit_us_.clear();
  open_ = false;
  bundle_buf_.clear();
  for (auto& l : last_of_) l.reset();
}

Committer::Committer(std::function<void(const Batch&)> commit) : commit_(std::move(commit)) {
  int fds[2];
  if (pipe2(fds, O_CLOEXEC | O_NONBLOCK) != 0) throw Error(kExitIoErr, "pipe: " + errno_text(errno));
  done_r_.reset(fds[0]);
  done_w_.reset(fds[1]);
}

void Committer::start(const Batch& batch) {
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
    commit_(batch);
  });
}

const Batch& Committer::finish() {
  const Batch* b = in_flight_;
  in_flight_ = nullptr;
  char drain[16];
  running_.wait();
  while (::read(done_r_.get(), drain, sizeof drain) > 0) {
  }
  running_.get();
  return *b;
}

}  // namespace ss::archive::detail
