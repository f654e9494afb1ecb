// Folding a stretch of history to its net effect per row, for rebuilds: only the final state of a group of source
// transactions matters there, so an insert and nine updates of a key become one row to load, an insert then a delete
// nothing at all. The applier turns what is folded into a few set-based statements per table (apply.cc). Pure data:
// no connection, so unit-testable.
#pragma once

#include <cstdint>
#include <string>
#include <string_view>
#include <unordered_map>
#include <vector>

#include "shadowstream.pb.h"

namespace ss::fold {

enum class Kind : uint8_t {
  kUpsert,  // the row exists after the group with this version (an insert was seen, or a delete then an insert)
  kUpdate,  // the row was only updated: it exists in the target, or (a window started mid-history) it does not
  kDelete,  // the row does not exist after the group
};

struct Entry {
  std::string key;  // row_key()
  uint64_t hash = 0;
  Kind kind = Kind::kUpsert;
  // Nothing to apply: the row was inserted in this group and deleted again, so the target never had it.
  bool dead = false;
  // The chain began with an insert: the target is taken not to have had the row before the group.
  bool from_insert = false;
  std::string payload;  // the last version, with unchanged-TOAST values filled in from earlier versions where seen
};

struct Table {
  std::string target;  // the quoted target relation
  uint64_t shape_id = 0;
  uint64_t records = 0;    // folded into its entries
  uint64_t not_found = 0;  // updates that found their row deleted earlier in the group (a row-by-row apply would
                           // have found no row to update)
  size_t bytes = 0;
  std::vector<Entry> entries;  // in order of first appearance
  // Row key -> entries index + 1 (0: free), open addressing: a rebuild looks up every record's row here, and one
  // cache miss for the slot beside the one for the entry was a quarter of its time with a node-based map.
  std::vector<uint32_t> slots;
};

enum class Added {
  kFolded,
  kOtherShape,  // the table's rows folded so far have another shape: apply them, then add again
  kUnfoldable,  // not expressible per key (no key, or an update that changes its key): apply it row by row
};

// The key of the row a record changes, as bytes (its key columns' values, for a delete from its old key). False
// when it has none, a key value is an unchanged TOASTed one, or it is an update that changes its key.
bool row_key(const shadowstream::v1::ChangeRecord& rec, std::string& key);

// A group's records as they came, in blocks kept from one group to the next (so that a rebuild does not pay for
// growing a string of hundreds of megabytes, nor its page faults, again and again).
class RecordLog {
 public:
  void append(std::string_view payload);
  size_t size() const { return at_.size(); }
  size_t bytes() const { return bytes_; }  // held, blocks included
  std::string_view operator[](size_t i) const {
    return std::string_view(blocks_[at_[i].block]).substr(at_[i].offset, at_[i].len);
  }
  void clear();    // keeps the blocks
  void release();  // frees them

 private:
  struct At {
    uint32_t block, offset, len;
  };
  std::vector<std::string> blocks_;
  size_t block_ = 0;  // the one being filled
  std::vector<At> at_;
  size_t bytes_ = 0;
};

class Fold {
 public:
  // An insert, snapshot row, update or delete of `target`.
  Added add(const std::string& target, const shadowstream::v1::ChangeRecord& rec, std::string_view payload);
  bool empty() const { return tables_.empty(); }
  // An estimate of the memory held, for the group's memory bound.
  size_t bytes() const { return bytes_; }
  std::vector<Table>& tables() { return tables_; }
  // Removes one table's rows (to be applied before a record that cannot join them); an empty Table when none.
  Table take(const std::string& target);
  void clear();

 private:
  static uint32_t* find(Table& t, const std::string& key, uint64_t hash);  // its slot, or the free one for it
  void grow(Table& t);

  std::vector<Table> tables_;
  std::unordered_map<std::string, size_t> by_target_;
  size_t bytes_ = 0;
  std::string key_;
};

}  // namespace ss::fold
