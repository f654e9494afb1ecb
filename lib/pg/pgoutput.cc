#include "pg/pgoutput.h"

#include <algorithm>
#include <cstring>

#include "core/error.h"
#include "core/shape.h"

namespace ss::pgoutput {

using shadowstream::v1::ChangeRecord;

// Big-endian reader over one message; every read is bounds-checked.
class Reader {
 public:
  Reader(std::string_view data, char type) : data_(data), type_(type) {}
  uint8_t u8() { return static_cast<uint8_t>(take(1)[0]); }
  uint16_t u16() { return static_cast<uint16_t>(be(2)); }
  uint32_t u32() { return static_cast<uint32_t>(be(4)); }
  uint64_t u64() { return be(8); }
  int64_t i64() { return static_cast<int64_t>(be(8)); }
  std::string_view cstr() {
    const void* nul = std::memchr(data_.data() + pos_, '\0', data_.size() - pos_);
    if (!nul) fail("unterminated string");
    size_t len = static_cast<const char*>(nul) - (data_.data() + pos_);
    std::string_view s(data_.data() + pos_, len);
    pos_ += len + 1;
    return s;
  }
  std::string_view bytes(size_t n) { return take(n); }
  bool done() const { return pos_ == data_.size(); }
  [[noreturn]] void fail(const std::string& why) const {
    throw Error(kExitDataErr, std::string("malformed pgoutput '") + type_ + "' message: " + why);
  }

 private:
  std::string_view take(size_t n) {
    if (data_.size() - pos_ < n) fail("message too short");
    std::string_view s(data_.data() + pos_, n);
    pos_ += n;
    return s;
  }
  uint64_t be(int n) {
    std::string_view s = take(static_cast<size_t>(n));
    uint64_t v = 0;
    for (char c : s) v = (v << 8) | static_cast<uint8_t>(c);
    return v;
  }
  std::string_view data_;
  size_t pos_ = 0;
  char type_;
};

bool valid_utf8(std::string_view s) {
  const auto* p = reinterpret_cast<const unsigned char*>(s.data());
  const auto* end = p + s.size();
  while (p < end) {
    if (*p < 0x80) {
      ++p;
      continue;
    }
    int n;
    uint32_t cp;
    if ((*p & 0xE0) == 0xC0)
      n = 1, cp = *p & 0x1F;
    else if ((*p & 0xF0) == 0xE0)
      n = 2, cp = *p & 0x0F;
    else if ((*p & 0xF8) == 0xF0)
      n = 3, cp = *p & 0x07;
    else
      return false;
    if (end - p <= n) return false;
    for (int i = 1; i <= n; ++i) {
      if ((p[i] & 0xC0) != 0x80) return false;
      cp = (cp << 6) | (p[i] & 0x3F);
    }
    if ((n == 1 && cp < 0x80) || (n == 2 && cp < 0x800) || (n == 3 && cp < 0x10000) || cp > 0x10FFFF ||
        (cp >= 0xD800 && cp <= 0xDFFF))
      return false;
    p += n + 1;
  }
  return true;
}

const std::string& Decoder::type_name(uint32_t oid) {
  auto it = type_names_.find(oid);
  if (it != type_names_.end()) return it->second;
  std::string name = namer_ ? namer_(oid) : std::string();
  if (name.empty()) {
    auto fb = type_fallback_.find(oid);
    name = fb != type_fallback_.end() ? fb->second : std::to_string(oid);
  }
  return type_names_.emplace(oid, std::move(name)).first->second;
}

const Relation* Decoder::relation(uint32_t oid) const {
  auto it = relations_.find(oid);
  return it == relations_.end() ? nullptr : &it->second;
}

void Decoder::fill_relation(const Relation& rel, ChangeRecord& rec) {
  rec.set_schema(rel.schema);
  rec.set_table(rel.table);
  rec.set_relation_oid(rel.oid);
  rec.set_replica_identity(std::string(1, rel.replica_identity));
  rec.set_shape_id(rel.shape_id);
}

void Decoder::decode_tuple(Reader& r, const Relation& rel,
                           google::protobuf::RepeatedPtrField<shadowstream::v1::Column>* out) {
  uint16_t n = r.u16();
  if (n > rel.columns.size())
    r.fail("tuple has " + std::to_string(n) + " columns, relation " + rel.table + " has " +
           std::to_string(rel.columns.size()));
  for (uint16_t i = 0; i < n; ++i) {
    const Column& meta = rel.columns[i];
    auto* c = out->Add();
    c->set_name(meta.name);
    c->set_type_oid(meta.type_oid);
    c->set_type_name(type_name(meta.type_oid));
    c->set_type_modifier(meta.type_modifier);
    c->set_is_key(meta.is_key);
    if (meta.missing_value) c->set_missing_value(*meta.missing_value);
    char kind = static_cast<char>(r.u8());
    switch (kind) {
      case 'n':
        c->set_is_null(true);
        break;
      case 'u':
        c->set_unchanged_toast(true);
        break;
      case 't':
      case 'b': {
        std::string_view v = r.bytes(r.u32());
        if (kind == 't' && valid_utf8(v))
          c->set_text(std::string(v));
        else
          c->set_binary(std::string(v));
        break;
      }
      default:
        r.fail(std::string("unknown tuple column kind '") + kind + "'");
    }
  }
}

const Relation& Decoder::relation_for(Reader& r) {
  const uint32_t oid = r.u32();
  auto it = relations_.find(oid);
  if (it == relations_.end()) r.fail("change for relation " + std::to_string(oid) + " before its Relation message");
  return it->second;
}

void Decoder::decode_relation(Reader& r) {
  Relation rel;
  rel.oid = r.u32();
  rel.schema = r.cstr();
  rel.table = r.cstr();
  rel.replica_identity = static_cast<char>(r.u8());
  uint16_t n = r.u16();
  rel.columns.reserve(n);
  for (uint16_t i = 0; i < n; ++i) {
    Column c;
    c.is_key = (r.u8() & 1) != 0;
    c.name = r.cstr();
    c.type_oid = r.u32();
    c.type_modifier = static_cast<int32_t>(r.u32());
    rel.columns.push_back(std::move(c));
  }
  if (missing_) {
    auto values = missing_(rel.oid);
    for (Column& c : rel.columns)
      if (auto v = values.find(c.name); v != values.end()) c.missing_value = v->second;
  }
  // The fingerprint from the very fields every record of this shape carries, so that it equals shape::id of each of
  // them (and of a snapshot record built from the catalog).
  ChangeRecord probe;
  fill_relation(rel, probe);
  for (const Column& c : rel.columns) {
    auto* pc = probe.add_columns();
    pc->set_name(c.name);
    pc->set_type_oid(c.type_oid);
    pc->set_type_modifier(c.type_modifier);
    pc->set_is_key(c.is_key);
  }
  rel.shape_id = shape::id(probe);
  ev_.relation_oid = rel.oid;
  relations_[rel.oid] = std::move(rel);
}

// An insert ('I'), update ('U') or delete ('D') of a known relation.
void Decoder::decode_change(Reader& r, char type) {
  ChangeRecord& rec = ev_.record;
  ev_.kind = Kind::kChange;
  const Relation& rel = relation_for(r);
  rec.set_op(type == 'I'   ? shadowstream::v1::OPERATION_INSERT
             : type == 'U' ? shadowstream::v1::OPERATION_UPDATE
                           : shadowstream::v1::OPERATION_DELETE);
  fill_relation(rel, rec);
  char t = static_cast<char>(r.u8());
  if (type == 'D') {
    if (t != 'K' && t != 'O') r.fail("expected 'K' or 'O' tuple");
    rec.set_old_key_only(t == 'K');
    decode_tuple(r, rel, rec.mutable_old_columns());
    return;
  }
  if (type == 'U' && (t == 'K' || t == 'O')) {
    rec.set_old_key_only(t == 'K');
    decode_tuple(r, rel, rec.mutable_old_columns());
    t = static_cast<char>(r.u8());
  }
  if (t != 'N') r.fail("expected 'N' tuple");
  decode_tuple(r, rel, rec.mutable_columns());
}

void Decoder::decode_truncate(Reader& r) {
  uint32_t n = r.u32();
  uint8_t flags = r.u8();
  truncate_cascade_ = flags & 1;
  truncate_restart_ = flags & 2;
  truncate_pending_.clear();
  for (uint32_t i = 0; i < n; ++i) truncate_pending_.push_back(r.u32());
  // Emit them in order: the first now, the rest through next_truncate().
  std::reverse(truncate_pending_.begin(), truncate_pending_.end());
  if (!next_truncate(ev_)) ev_.kind = Kind::kNone;
}

void Decoder::decode_message(Reader& r) {
  ChangeRecord& rec = ev_.record;
  ev_.kind = Kind::kMessage;
  uint8_t flags = r.u8();
  ev_.transactional = flags & 1;
  ev_.lsn = r.u64();
  rec.set_op(shadowstream::v1::OPERATION_MESSAGE);
  auto* m = rec.mutable_message();
  m->set_transactional(ev_.transactional);
  m->set_prefix(std::string(r.cstr()));
  m->set_content(std::string(r.bytes(r.u32())));
}

const Event& Decoder::decode(std::string_view msg) {
  if (msg.empty()) throw Error(kExitDataErr, "empty pgoutput message");
  char type = msg[0];
  Reader r(msg.substr(1), type);
  ev_.kind = Kind::kNone;
  ev_.record.Clear();
  ChangeRecord& rec = ev_.record;
  switch (type) {
    case 'B':
      ev_.kind = Kind::kBegin;
      ev_.lsn = r.u64();
      ev_.time_us = unix_us(r.i64());
      ev_.xid = r.u32();
      break;
    case 'C':
      ev_.kind = Kind::kCommit;
      r.u8();  // flags, unused
      ev_.lsn = r.u64();
      ev_.end_lsn = r.u64();
      ev_.time_us = unix_us(r.i64());
      break;
    case 'O':
      ev_.kind = Kind::kOrigin;
      rec.set_origin_lsn(r.u64());
      rec.set_origin(std::string(r.cstr()));
      break;
    case 'R':
      ev_.kind = Kind::kRelation;
      decode_relation(r);
      break;
    case 'Y': {
      ev_.kind = Kind::kType;
      uint32_t oid = r.u32();
      std::string_view nsp = r.cstr();
      std::string_view name = r.cstr();
      // pgoutput describes a domain by its base type and sends pg_catalog as an empty namespace; the catalog's own
      // name (via the namer) is preferred, this is only the fallback.
      type_fallback_[oid] =
          nsp.empty() || nsp == "pg_catalog" ? std::string(name) : std::string(nsp) + "." + std::string(name);
      break;
    }
    case 'I':
    case 'U':
    case 'D':
      decode_change(r, type);
      break;
    case 'T':
      decode_truncate(r);
      break;
    case 'M':
      decode_message(r);
      break;
    default:
      throw Error(kExitDataErr, std::string("unknown pgoutput message type '") + type +
                                    "' (is the server newer than protocol version 1 expects?)");
  }
  return ev_;
}

bool Decoder::next_truncate(Event& ev) {
  if (truncate_pending_.empty()) return false;
  uint32_t oid = truncate_pending_.back();
  truncate_pending_.pop_back();
  ev.kind = Kind::kChange;
  ev.record.Clear();
  ev.record.set_op(shadowstream::v1::OPERATION_TRUNCATE);
  ev.record.set_truncate_cascade(truncate_cascade_);
  ev.record.set_truncate_restart_identity(truncate_restart_);
  if (const Relation* rel = relation(oid)) {
    fill_relation(*rel, ev.record);
  } else {
    ev.record.set_relation_oid(oid);
  }
  return true;
}

}  // namespace ss::pgoutput
