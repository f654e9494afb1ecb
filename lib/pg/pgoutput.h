// Decoder of PostgreSQL's pgoutput logical replication messages (protocol version 1, text values) into
// ChangeRecords. Pure: bytes in, events out, so every message form is unit-testable without a server. The relation
// cache lives here because Insert/Update/Delete refer to relations by OID only.
#pragma once

#include <cstdint>
#include <functional>
#include <optional>
#include <string>
#include <string_view>
#include <unordered_map>
#include <vector>

#include "shadowstream.pb.h"

namespace ss::pgoutput {

// PostgreSQL timestamps count µs from 2000-01-01; ours from 1970-01-01.
inline constexpr int64_t kPgEpochOffsetUs = 946'684'800'000'000;

// A PostgreSQL timestamp (µs since 2000-01-01) as Unix µs; saturated rather than overflowing on values no server
// sends (the record check refuses them further on).
inline int64_t unix_us(int64_t pg_us) {
  int64_t out;
  if (__builtin_add_overflow(pg_us, kPgEpochOffsetUs, &out)) return pg_us < 0 ? INT64_MIN : INT64_MAX;
  return out;
}

struct Column {
  std::string name;
  uint32_t type_oid = 0;
  int32_t type_modifier = -1;
  bool is_key = false;
  std::optional<std::string> missing_value;  // see ChangeRecord's Column.missing_value
};

struct Relation {
  uint32_t oid = 0;
  std::string schema;
  std::string table;
  char replica_identity = 'd';
  std::vector<Column> columns;
  uint64_t shape_id = 0;  // shape::id of its records
};

enum class Kind { kNone, kBegin, kCommit, kChange, kMessage, kOrigin, kRelation, kType };

// What one message decoded to. For kChange and kMessage, `record` holds everything but source and position fields
// (commit_lsn, ordinal, tx_last), which the capture loop assigns. A Truncate of several relations yields several
// kChange events: call next_truncate() to take them one by one.
struct Event {
  Kind kind = Kind::kNone;
  uint64_t lsn = 0;           // Begin: final (commit) LSN; Commit: commit LSN; Message: its LSN
  uint64_t end_lsn = 0;       // Commit: end of the commit record (what a confirmed flush must pass)
  int64_t time_us = 0;        // Begin/Commit: commit time, Unix µs
  uint32_t xid = 0;           // Begin
  bool transactional = true;  // Message
  uint32_t relation_oid = 0;  // Relation: the relation described (relation() has it)
  shadowstream::v1::ChangeRecord record;
};

class Decoder {
 public:
  // Resolves a type OID to its name (schema-qualified unless pg_catalog), or "" when unknown (then the Type
  // message's name, or the OID, is used). Called once per unseen OID.
  using TypeNamer = std::function<std::string(uint32_t oid)>;
  // The values rows older than a column read for it (attmissingval), by column name: asked for each Relation
  // message, which pgoutput sends when a relation is first used in a session and after every change to it.
  using MissingValues = std::function<std::unordered_map<std::string, std::string>(uint32_t oid)>;
  explicit Decoder(TypeNamer namer, MissingValues missing = nullptr)
      : namer_(std::move(namer)), missing_(std::move(missing)) {}

  // Decodes one pgoutput message. Throws Error(65) naming the message type on malformed input (a protocol bug or
  // version mismatch, never expected from a real server).
  const Event& decode(std::string_view msg);

  // After a Truncate event: the remaining truncated relations, one per call; false when none are left.
  bool next_truncate(Event& ev);

  const Relation* relation(uint32_t oid) const;
  // Forget cached relations (after a reconnect the server sends them again).
  void reset() { relations_.clear(); }

 private:
  const std::string& type_name(uint32_t oid);
  void decode_tuple(class Reader& r, const Relation& rel,
                    google::protobuf::RepeatedPtrField<shadowstream::v1::Column>* out);
  void fill_relation(const Relation& rel, shadowstream::v1::ChangeRecord& rec);
  const Relation& relation_for(class Reader& r);  // reads the relation's OID
  void decode_relation(class Reader& r);
  void decode_change(class Reader& r, char type);
  void decode_truncate(class Reader& r);
  void decode_message(class Reader& r);

  TypeNamer namer_;
  MissingValues missing_;
  std::unordered_map<uint32_t, Relation> relations_;
  std::unordered_map<uint32_t, std::string> type_names_;
  std::unordered_map<uint32_t, std::string> type_fallback_;
  Event ev_;
  std::vector<uint32_t> truncate_pending_;
  bool truncate_cascade_ = false, truncate_restart_ = false;
};

// True when `s` is valid UTF-8 (values that are not go to Column.binary).
bool valid_utf8(std::string_view s);

}  // namespace ss::pgoutput
