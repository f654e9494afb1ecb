#include "core/debezium.h"

#include <absl/strings/escaping.h>
#include <google/protobuf/util/json_util.h>

#include <charconv>
#include <cstdio>
#include <optional>
#include <string_view>

#include "core/defaults.h"
#include "core/json.h"
#include "core/position.h"
#include "core/shape.h"

namespace ss::debezium {
namespace {

using json::append_base64;
using json::append_number;
using shadowstream::v1::ChangeRecord;
using shadowstream::v1::Column;

// An old row of the key alone (REPLICA IDENTITY DEFAULT) still names every column, the others null, as the
// connector writes it.
void append_row(const google::protobuf::RepeatedPtrField<Column>& cols, bool key_only, std::string& out) {
  out += '{';
  bool first = true;
  for (const auto& col : cols) {
    if (!first) out += ',';
    first = false;
    json::append_string(out, col.name());
    out += ':';
    if (key_only && !col.is_key())
      out += "null";
    else
      append_value(col, out);
  }
  out += '}';
}

bool same_value(const Column& a, const Column& b) {
  return a.is_null() == b.is_null() && a.text() == b.text() && a.binary() == b.binary();
}

// Whether an update moved the row to another key, which Debezium's connector shows as a delete and a create.
// Under REPLICA IDENTITY FULL every column is flagged as key, so there the key is unknown and an update stays one.
bool key_changed(const ChangeRecord& rec) {
  if (rec.old_columns().empty() || rec.replica_identity() == "f") return false;
  for (const auto& old : rec.old_columns()) {
    if (!old.is_key()) continue;
    for (const auto& now : rec.columns())
      if (now.name() == old.name() && !now.unchanged_toast() && !same_value(now, old)) return true;
  }
  return false;
}

// A schema record as the trigger emitted it: a transactional message whose content is the record's schema, table,
// relation and definition in protobuf's JSON form (field for field what the trigger writes; the text differs only in
// spacing and key order from the jsonb the source printed).
ChangeRecord schema_message(const ChangeRecord& rec) {
  ChangeRecord body;
  shape::take_schema(rec, body);
  ChangeRecord m = rec;
  m.clear_schema();
  m.clear_table();
  m.clear_relation_oid();
  m.clear_replica_identity();
  m.clear_definition();
  m.set_op(shadowstream::v1::OPERATION_MESSAGE);
  m.mutable_message()->set_transactional(true);
  m.mutable_message()->set_prefix(kDdlMessagePrefix);
  (void)google::protobuf::util::MessageToJsonString(body, m.mutable_message()->mutable_content());
  return m;
}

}  // namespace

// The "source" block and its comma.
void Converter::append_source(const ChangeRecord& rec, std::string& out) const {
  const bool snapshot = rec.op() == shadowstream::v1::OPERATION_SNAPSHOT;
  const int64_t us = rec.commit_time();
  const int64_t ms = floor_div(us, 1000);
  out += "\"source\":{\"version\":\"shadowstream-";
  out += kVersion;
  out += "\",\"connector\":\"postgresql\",\"name\":";
  json::append_string(out, rec.source().name());
  out += ",\"ts_ms\":";
  append_number(out, ms);
  out += ",\"snapshot\":";
  out += snapshot ? "\"true\"" : "\"false\"";
  out += ",\"db\":";
  json::append_string(out, rec.source().database());
  out += ",\"sequence\":";
  const uint64_t lsn = rec.change_lsn() ? rec.change_lsn() : rec.commit_lsn();
  std::string seq = "[";
  seq += previous_commit_ && !snapshot ? "\"" + std::to_string(previous_commit_) + "\"" : "null";
  seq += ",\"" + std::to_string(lsn) + "\"]";
  json::append_string(out, seq);
  out += ",\"ts_us\":";
  append_number(out, us);
  out += ",\"ts_ns\":";
  append_number(out, us * 1000);
  out += ",\"schema\":";
  json::append_string(out, rec.schema());
  out += ",\"table\":";
  json::append_string(out, rec.table());
  out += ",\"txId\":";
  if (rec.xid())
    append_number(out, rec.xid());
  else
    out += "null";
  out += ",\"lsn\":";
  append_number(out, lsn);
  out += ",\"xmin\":null,\"origin\":";
  if (rec.origin().empty()) {
    out += "null,\"origin_lsn\":null},";
    return;
  }
  json::append_string(out, rec.origin());
  out += ",\"origin_lsn\":";
  append_number(out, rec.origin_lsn());
  out += "},";
}

// One event: before and after (or a message's content), source, op, times and the transaction block.
void Converter::append_event(const ChangeRecord& rec, bool transactional, const char* code, const std::string* before,
                             const std::string* after, std::vector<std::string>& events) {
  const bool message = rec.op() == shadowstream::v1::OPERATION_MESSAGE;
  std::string& out = events.emplace_back();
  out += '{';
  if (message) {
    out += "\"op\":\"m\",";
  } else {
    out += "\"before\":";
    out += before ? *before : "null";
    out += ",\"after\":";
    out += after ? *after : "null";
    out += ',';
  }
  append_source(rec, out);
  if (!message) {
    out += "\"op\":\"";
    out += code;
    out += "\",";
  }
  const int64_t us = rec.commit_time();
  out += "\"ts_ms\":";
  append_number(out, floor_div(us, 1000));
  out += ",\"ts_us\":";
  append_number(out, us);
  out += ",\"ts_ns\":";
  append_number(out, us * 1000);
  if (message) {
    out += ",\"message\":{\"prefix\":";
    json::append_string(out, rec.message().prefix());
    out += ",\"content\":";
    append_base64(out, rec.message().content());
    out += '}';
  }
  out += ",\"transaction\":";
  if (!transactional) {
    out += "null}";
    return;
  }
  append_transaction(rec, out);
  out += '}';
}

// The transaction block: the event's place in its transaction, overall and in its table.
void Converter::append_transaction(const ChangeRecord& rec, std::string& out) {
  ++total_order_;
  uint64_t* per_table = nullptr;
  const std::string table = rec.schema() + "." + rec.table();
  for (auto& [name, n] : table_order_)
    if (name == table) per_table = &n;
  if (!per_table) per_table = &table_order_.emplace_back(table, 0).second;
  ++*per_table;
  out += "{\"id\":\"";
  append_number(out, rec.xid());
  out += ':';
  append_number(out, rec.commit_lsn());
  out += "\",\"total_order\":";
  append_number(out, total_order_);
  out += ",\"data_collection_order\":";
  append_number(out, *per_table);
  out += '}';
}

void Converter::convert(const ChangeRecord& rec, std::vector<std::string>& events) {
  using shadowstream::v1::Operation;
  events.clear();
  const Operation op = rec.op();
  // The connector reads the schema-change trigger's message as the message it is.
  if (op == shadowstream::v1::OPERATION_SCHEMA) return convert(schema_message(rec), events);
  if (op == shadowstream::v1::OPERATION_HEARTBEAT || op == shadowstream::v1::OPERATION_CHECKPOINT_BEGIN ||
      op == shadowstream::v1::OPERATION_CHECKPOINT_END || op == shadowstream::v1::OPERATION_UNSPECIFIED)
    return;
  const bool transactional = op != shadowstream::v1::OPERATION_SNAPSHOT &&
                             !(op == shadowstream::v1::OPERATION_MESSAGE && !rec.message().transactional());
  if (transactional && rec.commit_lsn() != tx_lsn_) {
    if (tx_lsn_) previous_commit_ = tx_lsn_;
    tx_lsn_ = rec.commit_lsn();
    total_order_ = rec.ordinal();  // a stream that starts inside a transaction counts from the record's place in it
    table_order_.clear();
  }
  auto event = [&](const char* code, const std::string* before, const std::string* after) {
    append_event(rec, transactional, code, before, after, events);
  };
  std::string before, after;
  switch (op) {
    case shadowstream::v1::OPERATION_INSERT:
      append_row(rec.columns(), false, after);
      event("c", nullptr, &after);
      break;
    case shadowstream::v1::OPERATION_SNAPSHOT:
      append_row(rec.columns(), false, after);
      event("r", nullptr, &after);
      break;
    case shadowstream::v1::OPERATION_UPDATE:
      append_row(rec.columns(), false, after);
      if (!rec.old_columns().empty()) append_row(rec.old_columns(), rec.old_key_only(), before);
      if (key_changed(rec)) {
        event("d", &before, nullptr);
        event("c", nullptr, &after);
      } else {
        event("u", rec.old_columns().empty() ? nullptr : &before, &after);
      }
      break;
    case shadowstream::v1::OPERATION_DELETE:
      append_row(rec.old_columns(), rec.old_key_only(), before);
      event("d", &before, nullptr);
      break;
    case shadowstream::v1::OPERATION_TRUNCATE:
      event("t", nullptr, nullptr);
      break;
    case shadowstream::v1::OPERATION_MESSAGE:
      event("m", nullptr, nullptr);
      break;
    default:
      break;
  }
}

}  // namespace ss::debezium
