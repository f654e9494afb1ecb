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

#include "core/position.h"
#include "shadowstream.pb.h"

namespace ss::fold {

enum class Kind : uint8_t {
  kUpsert,  // the row exists after the group with this version (an insert was seen, or a delete then an insert)
  kUpdate,  // the row was only updated: it exists in the target, or (a window started mid-history) it does not
  kDelete,  // the row does not exist after the group
};

struct Entry {
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
  std::vector<Entry> entries;                     // in order of first appearance
  std::unordered_map<std::string, size_t> index;  // row key -> entries
};

enum class Added {
  kFolded,
  kOtherShape,  // the table's rows folded so far have another shape: apply them, then add again
  kUnfoldable,  // not expressible per key (no key, or an update that changes its key): apply it row by row
};

// The key of the row a record changes, as bytes (its key columns' values, for a delete from its old key). False
// when it has none, a key value is an unchanged TOASTed one, or it is an update that changes its key.
bool row_key(const shadowstream::v1::ChangeRecord& rec, std::string& key);

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
  std::vector<Table> tables_;
  std::unordered_map<std::string, size_t> by_target_;
  size_t bytes_ = 0;
  std::string key_;
};

}  // namespace ss::fold
