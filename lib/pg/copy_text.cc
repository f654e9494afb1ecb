#include "pg/copy_text.h"

#include <algorithm>

#include "pg/statements.h"

namespace ss::apply {

using shadowstream::v1::ChangeRecord;
using shadowstream::v1::Column;

void append_copy_value(std::string& out, const Column& c) {
  if (c.is_null()) {
    out.append("\\N");
    return;
  }
  const std::string& v = c.binary().empty() ? c.text() : c.binary();
  for (char ch : v) {
    switch (ch) {
      case '\\':
        out.append("\\\\");
        break;
      case '\t':
        out.append("\\t");
        break;
      case '\n':
        out.append("\\n");
        break;
      case '\r':
        out.append("\\r");
        break;
      default:
        out.push_back(ch);
    }
  }
}

void append_copy_row(std::string& out, const ChangeRecord& rec) {
  bool first = true;
  for (const Column& c : rec.columns()) {
    if (!first) out.push_back('\t');
    first = false;
    append_copy_value(out, c);
  }
  out.push_back('\n');
}

std::string copy_rows_sql(const std::string& table, const ChangeRecord& rec) {
  std::string sql = "COPY " + table + " (";
  bool first = true;
  for (const Column& c : rec.columns()) {
    sql += (first ? "" : ", ") + quote_ident(c.name());
    first = false;
  }
  return sql + ") FROM STDIN";
}

namespace {

// A delete carries its key only: the key's values, \N for the other columns.
void append_delete_values(std::string& out, const ChangeRecord& rec, const std::vector<std::string>& cols) {
  for (size_t i = 0; i < cols.size(); ++i) {
    if (i) out.push_back('\t');
    auto it = std::find_if(rec.old_columns().begin(), rec.old_columns().end(),
                           [&](const Column& c) { return c.name() == cols[i]; });
    if (it != rec.old_columns().end() && it->is_key())
      append_copy_value(out, *it);
    else
      out.append("\\N");
  }
}

void append_op(std::string& out, const fold::Entry& e, const ChangeRecord& rec) {
  out.append(e.kind == fold::Kind::kDelete   ? "\td\t"
             : e.kind == fold::Kind::kUpdate ? "\tm\t"
             : e.from_insert                 ? "\ti\t"
                                             : "\tu\t");
  const bool any = e.kind != fold::Kind::kDelete &&
                   std::any_of(rec.columns().begin(), rec.columns().end(), [](auto& c) { return c.unchanged_toast(); });
  if (!any) {
    out.append("\\N");
    return;
  }
  out.push_back('{');
  for (int i = 0; i < rec.columns_size(); ++i) {
    if (i) out.push_back(',');
    out.push_back(rec.columns(i).unchanged_toast() ? 't' : 'f');
  }
  out.push_back('}');
}

}  // namespace

bool append_fold_line(std::string& out, const fold::Entry& e, const ChangeRecord& rec,
                      const std::vector<std::string>& cols, bool with_op) {
  if (e.kind == fold::Kind::kDelete) {
    append_delete_values(out, rec, cols);
  } else {
    if (static_cast<size_t>(rec.columns_size()) != cols.size()) return false;
    for (size_t i = 0; i < cols.size(); ++i)
      if (rec.columns(static_cast<int>(i)).name() != cols[i]) return false;
    for (size_t i = 0; i < cols.size(); ++i) {
      const Column& c = rec.columns(static_cast<int>(i));
      if (i) out.push_back('\t');
      if (c.unchanged_toast())
        out.append("\\N");
      else
        append_copy_value(out, c);
    }
  }
  if (with_op) append_op(out, e, rec);
  out.push_back('\n');
  return true;
}

FoldSql fold_sql(const std::string& target, const std::string& tmp, const std::vector<std::string>& cols,
                 const std::vector<std::string>& pk) {
  std::string list;
  for (const std::string& c : cols) list += (list.empty() ? "" : ", ") + quote_ident(c);
  const std::string op = quote_ident("shadowstream op"), kp = quote_ident("shadowstream keep");
  FoldSql s;
  s.copy_direct = "COPY " + target + " (" + list + ") FROM STDIN";
  s.create = "CREATE TEMPORARY TABLE " + tmp + " ON COMMIT DROP AS SELECT " + list + ", NULL::\"char\" AS " + op +
             ", NULL::boolean[] AS " + kp + " FROM " + target + " WITH NO DATA";
  s.copy = "COPY " + tmp + " FROM STDIN";
  std::string match;
  for (const std::string& k : pk) match += " AND ss_t." + quote_ident(k) + " = ss_s." + quote_ident(k);
  s.del = "DELETE FROM " + target + " AS ss_t USING " + tmp + " AS ss_s WHERE ss_s." + op + " = 'd'" + match;
  // An unchanged TOASTed value was not sent: the target keeps the one it has.
  std::string set;
  for (size_t i = 0; i < cols.size(); ++i) {
    if (std::binary_search(pk.begin(), pk.end(), cols[i])) continue;
    const std::string c = quote_ident(cols[i]);
    set += (set.empty() ? "" : ", ") + c + " = CASE WHEN ss_s." + kp + "[" + std::to_string(i + 1) + "] THEN ss_t." +
           c + " ELSE ss_s." + c + " END";
  }
  if (!set.empty())
    s.update =
        "UPDATE " + target + " AS ss_t SET " + set + " FROM " + tmp + " AS ss_s WHERE ss_s." + op + " = 'm'" + match;
  // Rows whose history here began with an insert are inserted (a key the target has already is an error, as it
  // would have been); rows deleted and inserted again replace what is there.
  const std::string insert =
      "INSERT INTO " + target + " (" + list + ") SELECT " + list + " FROM " + tmp + " WHERE " + op;
  s.insert = insert + " = 'i'";
  s.upsert = insert + " = 'u'" + on_conflict(pk, cols);
  return s;
}

}  // namespace ss::apply
