#include "pg/statements.h"

#include <algorithm>

#include "core/error.h"
#include "core/json.h"
#include "core/position.h"

namespace ss::apply {

using shadowstream::v1::ChangeRecord;
using shadowstream::v1::Column;

namespace {

std::string op_name(const ChangeRecord& rec) {
  return json::enum_short_name(shadowstream::v1::Operation_descriptor()->FindValueByNumber(rec.op()));
}

void add_param(Statement& st, std::string& sql, const Column& c) {
  st.params.push_back(&c);
  sql += '$';
  sql += std::to_string(st.params.size());
}

void append_where(Statement& st, const ChangeRecord& rec, const std::string& table) {
  const auto& old = rec.old_columns();
  // REPLICA IDENTITY FULL: the whole old row identifies it, NULLs included, and there may be identical rows, of
  // which exactly one must change.
  bool full = rec.replica_identity() == "f" && !old.empty() && !rec.old_key_only();
  std::vector<const Column*> keys;
  for (const Column& c : old.empty() ? rec.columns() : old)
    if ((full || c.is_key()) && !c.unchanged_toast()) keys.push_back(&c);
  if (keys.empty())
    throw Error(kExitDataErr, "the record carries no key columns to find the row by (REPLICA IDENTITY NOTHING?)");
  std::string cond;
  for (size_t i = 0; i < keys.size(); ++i) {
    if (i) cond += " AND ";
    cond += quote_ident(keys[i]->name());
    if (keys[i]->is_null()) {
      cond += " IS NULL";
    } else {
      cond += full ? " IS NOT DISTINCT FROM " : " = ";
      add_param(st, cond, *keys[i]);
    }
  }
  if (full)
    st.sql += " WHERE ctid = (SELECT ctid FROM " + table + " WHERE " + cond + " LIMIT 1)";
  else
    st.sql += " WHERE " + cond;
}

void insert_into(Statement& st, const ChangeRecord& rec, const std::string& table) {
  std::string values;
  st.sql = "INSERT INTO " + table + " (";
  for (const Column& c : rec.columns()) {
    if (c.unchanged_toast()) continue;
    if (!st.params.empty()) {
      st.sql += ", ";
      values += ", ";
    }
    st.sql += quote_ident(c.name());
    add_param(st, values, c);
  }
  if (st.params.empty()) throw Error(kExitDataErr, "the record carries no column values to insert");
  st.sql += ") VALUES (" + values + ")";
}

void update_of(Statement& st, const ChangeRecord& rec, const std::string& table) {
  st.sql = "UPDATE " + table + " SET ";
  bool any = false;
  for (const Column& c : rec.columns()) {
    // An unchanged TOASTed value was not sent: the target keeps the one it has.
    if (c.unchanged_toast()) continue;
    if (any) st.sql += ", ";
    any = true;
    st.sql += quote_ident(c.name()) + " = ";
    add_param(st, st.sql, c);
  }
  if (!any) throw Error(kExitDataErr, "the record carries no column values to update");
  append_where(st, rec, table);
}

}  // namespace

std::string quote_ident(std::string_view ident) {
  std::string s = "\"";
  for (char c : ident) {
    if (c == '"') s += '"';
    s += c;
  }
  s += '"';
  return s;
}

std::string where_text(const ChangeRecord& rec) {
  return op_name(rec) + " on " + rec.schema() + "." + rec.table() + " at position " +
         format_position({rec.commit_lsn(), rec.ordinal()});
}

Statement build_statement(const ChangeRecord& rec, const std::string& table) {
  Statement st;
  switch (rec.op()) {
    case shadowstream::v1::OPERATION_INSERT:
    case shadowstream::v1::OPERATION_SNAPSHOT:
      insert_into(st, rec, table);
      break;
    case shadowstream::v1::OPERATION_UPDATE:
      update_of(st, rec, table);
      break;
    case shadowstream::v1::OPERATION_DELETE:
      st.sql = "DELETE FROM " + table;
      append_where(st, rec, table);
      break;
    case shadowstream::v1::OPERATION_TRUNCATE:
      st.sql = "TRUNCATE TABLE " + table;
      if (rec.truncate_restart_identity()) st.sql += " RESTART IDENTITY";
      if (rec.truncate_cascade()) st.sql += " CASCADE";
      break;
    default:
      throw Error(kExitDataErr, "nothing to apply for operation " + op_name(rec));
  }
  return st;
}

std::string create_table_sql(const std::string& table, const google::protobuf::RepeatedPtrField<Column>& cols,
                             const std::vector<std::string>& types, bool primary_key) {
  std::string ddl = "CREATE TABLE IF NOT EXISTS " + table + " (";
  std::string key;
  for (int i = 0; i < cols.size(); ++i) {
    ddl += (i ? ", " : "") + quote_ident(cols[i].name()) + " " + types.at(i);
    if (cols[i].is_key()) key += (key.empty() ? "" : ", ") + quote_ident(cols[i].name());
  }
  if (!key.empty() && primary_key) ddl += ", PRIMARY KEY (" + key + ")";
  return ddl + ")";
}

std::string on_conflict(const std::vector<std::string>& key, const std::vector<std::string>& columns) {
  std::string keys, set;
  for (const std::string& k : key) keys += (keys.empty() ? "" : ", ") + quote_ident(k);
  for (const std::string& c : columns) {
    if (std::find(key.begin(), key.end(), c) != key.end()) continue;
    set += (set.empty() ? "" : ", ") + quote_ident(c) + " = EXCLUDED." + quote_ident(c);
  }
  return " ON CONFLICT (" + keys + ") DO " + (set.empty() ? "NOTHING" : "UPDATE SET " + set);
}

Statement build_insert(const ChangeRecord& rec, const std::string& table, const std::vector<std::string>* key) {
  Statement st;
  insert_into(st, rec, table);
  if (!key) return st;
  std::vector<std::string> columns;
  for (const Column& c : rec.columns())
    if (!c.unchanged_toast()) columns.push_back(c.name());
  st.sql += on_conflict(*key, columns);
  return st;
}

}  // namespace ss::apply
