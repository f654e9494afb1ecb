// One transaction of ss-archive write: its records as Kafka messages (a record, a record's chunks, or a bundle of a
// checkpoint's rows), their keys and header values in one arena; and the batch committing on a thread of its own
// while the next one fills (Committer).
#pragma once

#include <atomic>
#include <cstdint>
#include <functional>
#include <future>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "core/error.h"
#include "core/fd_io.h"
#include "core/position.h"
#include "kafka/archive.h"
#include "shadowstream.pb.h"

namespace ss::archive::detail {

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
  void add(const shadowstream::v1::ChangeRecord& rec, Dest dest, std::string_view payload, size_t max_value = SIZE_MAX);

  // A checkpoint's rows are many to a message: a bundle holds consecutive rows of one table (contiguous ordinals)
  // as frames back to back, up to kBundleBytes, with headers "position" (the first row's), "last" and "records".
  // A checkpoint of a million rows is then a few hundred messages, and reading it back costs what its bytes cost,
  // not a million messages' overhead. Readers emit a bundle's frames as they are.
  void bundle(const shadowstream::v1::ChangeRecord& rec, std::string_view payload);
  // Closes the open bundle, if any (before the batch is produced).
  void seal();

 private:
  // A message's key and headers for `rec`, in the arena.
  Item describe(const shadowstream::v1::ChangeRecord& rec, Dest dest);

 public:
  void clear();
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
  void count(const shadowstream::v1::ChangeRecord& rec) {
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

// The transaction in flight. One commits at a time, on a thread of its own, while the next batch fills: in bulk a
// commit (the last messages' acknowledgements and EndTxn) left the archiver idle for a quarter of its time, and
// producing a batch overlaps with reading and parsing the next one. The thread writes a byte to the pipe when it
// ends, so a reader waiting for input hears that the batch is durable and acknowledges it at once.
class Committer {
 public:
  explicit Committer(std::function<void(const Batch&)> commit);
  ~Committer() {
    if (running_.valid()) running_.wait();
  }
  const Batch* in_flight() const { return in_flight_; }
  // A batch is in flight and has not committed yet.
  bool busy() const { return in_flight_ && !done_.load(std::memory_order_acquire); }
  int done_fd() const { return done_r_.get(); }
  void start(const Batch& batch);
  // Waits for the batch in flight to commit and returns it; rethrows what stopped it.
  const Batch& finish();

 private:
  std::function<void(const Batch&)> commit_;
  UniqueFd done_r_, done_w_;
  const Batch* in_flight_ = nullptr;
  std::atomic<bool> done_{true};
  std::future<void> running_;
};

}  // namespace ss::archive::detail
