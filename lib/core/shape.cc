#include "core/shape.h"

#include <algorithm>

#include "core/type_name.h"

namespace ss::shape {

using shadowstream::v1::ChangeRecord;
using shadowstream::v1::Column;

namespace {

// FNV-1a, 64-bit: stable across builds and machines, which std::hash is not.
class Fingerprint {
 public:
  void add(std::string_view s) {
    add(static_cast<uint64_t>(s.size()));  // length first, so "ab"+"c" and "a"+"bc" differ
    for (unsigned char c : s) mix(c);
  }
  void add(uint64_t v) {
    for (int i = 0; i < 8; ++i) mix(static_cast<unsigned char>(v >> (8 * i)));
  }
  uint64_t value() const { return h_ ? h_ : 1; }

 private:
  void mix(unsigned char c) {
    h_ ^= c;
    h_ *= 1099511628211ull;
  }
  uint64_t h_ = 14695981039346656037ull;
};

const google::protobuf::RepeatedPtrField<Column>& shape_columns(const ChangeRecord& rec) {
  return rec.columns().empty() ? rec.old_columns() : rec.columns();
}

// A type as people write it: the name with its modifier decoded where PostgreSQL's encoding is known.
std::string display_type(const std::string& name, int32_t mod) {
  if (mod < 0) return name;
  if (name == "varchar" || name == "bpchar") return name + "(" + std::to_string(mod - 4) + ")";
  if (name == "numeric")
    return name + "(" + std::to_string((mod - 4) >> 16) + "," + std::to_string((mod - 4) & 0xffff) + ")";
  return name + "(" + std::to_string(mod) + ")";
}

}  // namespace

uint64_t id(const ChangeRecord& rec) {
  const auto& cols = shape_columns(rec);
  if (cols.empty()) return 0;
  Fingerprint f;
  f.add(static_cast<uint64_t>(rec.relation_oid()));
  f.add(rec.schema());
  f.add(rec.table());
  f.add(rec.replica_identity());
  for (const Column& c : cols) {
    f.add(c.name());
    f.add(static_cast<uint64_t>(c.type_oid()));
    f.add(static_cast<uint64_t>(static_cast<uint32_t>(c.type_modifier())));
    f.add(static_cast<uint64_t>(c.is_key()));
  }
  return f.value();
}

bool same_type(const Column& c, const TargetColumn& t) {
  if (c.type_modifier() != t.type_modifier) return false;
  if (c.type_oid() != 0 && c.type_oid() < kFirstNormalObjectId) return c.type_oid() == t.type_oid;
  return same_type_name(c.type_name(), t.type_name);
}

Change compare(const ChangeRecord& rec, const std::vector<TargetColumn>& target) {
  Change ch;
  const auto& cols = shape_columns(rec);
  auto find = [&](const std::string& name) {
    return std::find_if(target.begin(), target.end(), [&](const TargetColumn& t) { return t.name == name; });
  };
  for (const Column& c : cols) {
    auto t = find(c.name());
    if (t == target.end())
      ch.added.push_back(&c);
    else if (!same_type(c, *t))
      ch.retyped.push_back(&c);
    // Under REPLICA IDENTITY FULL every column is flagged as key, and the shadow has no primary key.
    if (c.is_key() && rec.replica_identity() != "f") ch.key.push_back(c.name());
  }
  for (const TargetColumn& t : target) {
    bool kept = std::any_of(cols.begin(), cols.end(), [&](const Column& c) { return c.name() == t.name; });
    if (!kept) ch.dropped.push_back(t.name);
  }
  std::vector<std::string> have;
  for (const TargetColumn& t : target)
    if (t.is_key) have.push_back(t.name);
  std::vector<std::string> want = ch.key;
  std::sort(have.begin(), have.end());
  std::sort(want.begin(), want.end());
  ch.key_changed = have != want;
  return ch;
}

std::string describe(const Change& ch, const std::vector<TargetColumn>& target) {
  std::string s;
  auto item = [&](const std::string& text) { s += (s.empty() ? "" : ", ") + text; };
  for (const Column* c : ch.added) item("+" + c->name() + " " + display_type(c->type_name(), c->type_modifier()));
  for (const std::string& d : ch.dropped) item("-" + d);
  for (const Column* c : ch.retyped) {
    auto t = std::find_if(target.begin(), target.end(), [&](const TargetColumn& t) { return t.name == c->name(); });
    item(c->name() + " " + (t == target.end() ? "?" : display_type(t->type_name, t->type_modifier)) + " -> " +
         display_type(c->type_name(), c->type_modifier()));
  }
  if (ch.key_changed) {
    std::string k;
    for (const std::string& n : ch.key) k += (k.empty() ? "" : ", ") + n;
    item("key (" + k + ")");
  }
  return s;
}

void take_schema(const shadowstream::v1::ChangeRecord& from, shadowstream::v1::ChangeRecord& to) {
  to.set_op(shadowstream::v1::OPERATION_SCHEMA);
  to.set_schema(from.schema());
  to.set_table(from.table());
  to.set_relation_oid(from.relation_oid());
  to.set_replica_identity(from.replica_identity());
  *to.mutable_definition() = from.definition();
}

}  // namespace ss::shape
