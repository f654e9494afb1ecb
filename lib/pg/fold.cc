#include "pg/fold.h"

namespace ss::fold {

using shadowstream::v1::ChangeRecord;
using shadowstream::v1::Column;

namespace {

constexpr size_t kEntryOverhead = 96;  // an Entry, its index slots and allocator slack, roughly

bool append_key(const google::protobuf::RepeatedPtrField<Column>& cols, std::string& key) {
  bool any = false;
  for (const Column& c : cols) {
    if (!c.is_key()) continue;
    if (c.unchanged_toast()) return false;
    any = true;
    // Length-prefixed, so that ("a", "bc") and ("ab", "c") differ; NULL differs from every value.
    if (c.is_null()) {
      key.push_back('\xff');
      continue;
    }
    const std::string& v = c.binary().empty() ? c.text() : c.binary();
    uint32_t n = static_cast<uint32_t>(v.size());
    key.append(reinterpret_cast<const char*>(&n), sizeof n);
    key.append(v);
  }
  return any;
}

bool is_insert(const ChangeRecord& rec) {
  return rec.op() == shadowstream::v1::OPERATION_INSERT || rec.op() == shadowstream::v1::OPERATION_SNAPSHOT;
}

bool has_unchanged_toast(const ChangeRecord& rec) {
  for (const Column& c : rec.columns())
    if (c.unchanged_toast()) return true;
  return false;
}

// A version whose unchanged TOASTed values the previous version in the group has: taken from there, as the target
// would have kept them. Those still missing stay marked, and the applier leaves the target's value alone.
void merge_into(Entry& e, const ChangeRecord& rec, std::string_view payload) {
  if (!has_unchanged_toast(rec) || e.kind == Kind::kDelete || e.dead) {
    e.payload.assign(payload);
    return;
  }
  ChangeRecord before;
  before.ParseFromArray(e.payload.data(), static_cast<int>(e.payload.size()));
  ChangeRecord merged = rec;
  for (int i = 0; i < merged.columns_size(); ++i) {
    Column* c = merged.mutable_columns(i);
    if (!c->unchanged_toast()) continue;
    for (const Column& b : before.columns()) {
      if (b.name() != c->name() || b.unchanged_toast()) continue;
      c->set_unchanged_toast(false);
      c->set_is_null(b.is_null());
      c->set_text(b.text());
      c->set_binary(b.binary());
      break;
    }
  }
  merged.SerializeToString(&e.payload);
}

}  // namespace

uint32_t* Fold::find(Table& t, const std::string& key, uint64_t hash) {
  const size_t mask = t.slots.size() - 1;
  for (size_t i = hash & mask;; i = (i + 1) & mask) {
    uint32_t& s = t.slots[i];
    if (!s) return &s;
    const Entry& e = t.entries[s - 1];
    if (e.hash == hash && e.key == key) return &s;
  }
}

void Fold::grow(Table& t) {
  bytes_ -= t.slots.size() * sizeof(uint32_t);
  t.bytes -= t.slots.size() * sizeof(uint32_t);
  t.slots.assign(std::max<size_t>(1024, t.slots.size() * 2), 0);
  const size_t mask = t.slots.size() - 1;
  for (size_t n = 0; n < t.entries.size(); ++n) {
    size_t i = t.entries[n].hash & mask;
    while (t.slots[i]) i = (i + 1) & mask;
    t.slots[i] = static_cast<uint32_t>(n + 1);
  }
  bytes_ += t.slots.size() * sizeof(uint32_t);
  t.bytes += t.slots.size() * sizeof(uint32_t);
}

void RecordLog::append(std::string_view payload) {
  constexpr size_t kBlock = size_t{4} << 20;
  if (blocks_.empty() ||
      (blocks_[block_].size() + payload.size() > blocks_[block_].capacity() && !blocks_[block_].empty())) {
    if (!blocks_.empty()) ++block_;
    if (block_ == blocks_.size()) {
      blocks_.emplace_back();
      bytes_ += std::max(kBlock, payload.size());
    }
    blocks_[block_].reserve(std::max(kBlock, payload.size()));
  }
  std::string& b = blocks_[block_];
  at_.push_back(
      {static_cast<uint32_t>(block_), static_cast<uint32_t>(b.size()), static_cast<uint32_t>(payload.size())});
  b.append(payload);
  bytes_ += sizeof(At);
}

void RecordLog::clear() {
  for (auto& b : blocks_) b.clear();
  block_ = 0;
  bytes_ -= at_.size() * sizeof(At);
  at_.clear();
}

void RecordLog::release() {
  blocks_.clear();
  blocks_.shrink_to_fit();
  at_.clear();
  at_.shrink_to_fit();
  block_ = 0;
  bytes_ = 0;
}

bool row_key(const ChangeRecord& rec, std::string& key) {
  key.clear();
  const bool del = rec.op() == shadowstream::v1::OPERATION_DELETE;
  if (!append_key(del ? rec.old_columns() : rec.columns(), key)) return false;
  if (rec.op() == shadowstream::v1::OPERATION_UPDATE && !rec.old_columns().empty()) {
    std::string old;
    if (!append_key(rec.old_columns(), old) || old != key) return false;
  }
  return true;
}

Added Fold::add(const std::string& target, const ChangeRecord& rec, std::string_view payload) {
  if (rec.replica_identity() == "f" || !row_key(rec, key_)) return Added::kUnfoldable;
  auto [t, fresh] = by_target_.try_emplace(target, tables_.size());
  if (fresh) {
    tables_.emplace_back();
    tables_.back().target = target;
    tables_.back().shape_id = rec.shape_id();
  }
  Table& table = tables_[t->second];
  if (table.shape_id != rec.shape_id()) return Added::kOtherShape;
  const uint64_t hash = std::hash<std::string_view>{}(key_);
  if (table.slots.empty()) grow(table);
  uint32_t* slot = find(table, key_, hash);
  // An insert of a row that exists (inserted or updated before in the group) is a duplicate key, for its own
  // statement to report, not a replacement.
  if (*slot && is_insert(rec)) {
    const Entry& e = table.entries[*slot - 1];
    if (!e.dead && e.kind != Kind::kDelete) return Added::kUnfoldable;
  }
  ++table.records;
  if (!*slot) {
    if ((table.entries.size() + 1) * 2 > table.slots.size()) {
      grow(table);
      slot = find(table, key_, hash);
    }
    *slot = static_cast<uint32_t>(table.entries.size() + 1);
    Entry e;
    e.key = key_;
    e.hash = hash;
    e.kind = is_insert(rec)                                   ? Kind::kUpsert
             : rec.op() == shadowstream::v1::OPERATION_UPDATE ? Kind::kUpdate
                                                              : Kind::kDelete;
    e.from_insert = is_insert(rec);
    e.payload.assign(payload);
    const size_t n = e.payload.capacity() + e.key.capacity() + kEntryOverhead;
    table.bytes += n;
    bytes_ += n;
    table.entries.push_back(std::move(e));
    return Added::kFolded;
  }
  Entry& e = table.entries[*slot - 1];
  const size_t was = e.payload.capacity();
  if (is_insert(rec)) {
    // After a delete in this group (or over a row the window could not see) the new row replaces whatever is there.
    e.from_insert = e.dead;
    e.kind = Kind::kUpsert;
    e.dead = false;
    e.payload.assign(payload);
  } else if (rec.op() == shadowstream::v1::OPERATION_UPDATE) {
    if (e.dead || e.kind == Kind::kDelete) {
      ++table.not_found;
      return Added::kFolded;
    }
    merge_into(e, rec, payload);
  } else {
    if (e.kind == Kind::kUpsert && e.from_insert) {
      e.dead = true;
      e.payload.clear();
    } else {
      e.payload.assign(payload);
    }
    e.kind = Kind::kDelete;
  }
  table.bytes += e.payload.capacity() - was;
  bytes_ += e.payload.capacity() - was;
  return Added::kFolded;
}

Table Fold::take(const std::string& target) {
  auto it = by_target_.find(target);
  if (it == by_target_.end()) return {};
  Table t = std::move(tables_[it->second]);
  tables_.erase(tables_.begin() + static_cast<std::ptrdiff_t>(it->second));
  by_target_.clear();
  for (size_t i = 0; i < tables_.size(); ++i) by_target_.emplace(tables_[i].target, i);
  bytes_ -= t.bytes;
  return t;
}

void Fold::clear() {
  tables_.clear();
  by_target_.clear();
  bytes_ = 0;
}

}  // namespace ss::fold
