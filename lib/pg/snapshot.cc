#include "pg/snapshot.h"

#include <unistd.h>

#include <cctype>

#include "core/error.h"
#include "core/log.h"
#include "core/position.h"
#include "core/shape.h"
#include "core/signals.h"
#include "pg/conn.h"
#include "pg/pgoutput.h"

namespace ss::snapshot {

using shadowstream::v1::ChangeRecord;

namespace {

// A table's record template as pgoutput would describe it: no dropped or generated columns, only the published
// ones, and under REPLICA IDENTITY FULL every column part of the key. Returns the COPY that reads its rows (empty
// when the publication leaves it no columns).
std::string table_template(PGconn* sql, const Request& r, const std::string& schema, const std::string& table,
                           const char* attnames, const std::string& filter, ChangeRecord& proto) {
  const std::string qualified = pg::quote_ident(sql, schema) + "." + pg::quote_ident(sql, table);
  pg::Result cols = pg::exec(
      sql,
      "SELECT a.attname, a.atttypid, a.atttypmod, c.oid, c.relreplident, "
      "  c.relreplident = 'f' OR coalesce(a.attnum = ANY(i.indkey), false), "
      "  CASE WHEN a.atthasmissing THEN (a.attmissingval::text::text[])[1] END "
      "FROM pg_class c JOIN pg_attribute a ON a.attrelid = c.oid "
      "LEFT JOIN pg_index i ON i.indrelid = c.oid AND ((c.relreplident = 'd' AND i.indisprimary) OR "
      "  (c.relreplident = 'i' AND i.indisreplident)) "
      "WHERE c.oid = " +
          pg::quote_literal(sql, qualified) +
          "::regclass AND a.attnum > 0 AND NOT a.attisdropped AND a.attgenerated = '' AND (" +
          std::string(attnames ? "a.attname = ANY(" + pg::quote_literal(sql, attnames) + "::name[])" : "true") +
          ") ORDER BY a.attnum");
  const int ncols = PQntuples(cols.get());
  if (ncols == 0) return "";
  *proto.mutable_source() = r.source;
  proto.set_op(shadowstream::v1::OPERATION_SNAPSHOT);
  proto.set_schema(schema);
  proto.set_table(table);
  proto.set_relation_oid(static_cast<uint32_t>(std::stoul(PQgetvalue(cols.get(), 0, 3))));
  proto.set_replica_identity(PQgetvalue(cols.get(), 0, 4));
  std::string select = "COPY (SELECT ";
  for (int c = 0; c < ncols; ++c) {
    auto* col = proto.add_columns();
    col->set_name(PQgetvalue(cols.get(), c, 0));
    col->set_type_oid(static_cast<uint32_t>(std::stoul(PQgetvalue(cols.get(), c, 1))));
    std::string tn = r.type_name(col->type_oid());
    col->set_type_name(tn.empty() ? std::to_string(col->type_oid()) : tn);
    col->set_type_modifier(std::stoi(PQgetvalue(cols.get(), c, 2)));
    col->set_is_key(PQgetvalue(cols.get(), c, 5)[0] == 't');
    if (!PQgetisnull(cols.get(), c, 6)) col->set_missing_value(PQgetvalue(cols.get(), c, 6));
    select += (c ? ", " : "") + pg::quote_ident(sql, col->name());
  }
  proto.set_shape_id(shape::id(proto));
  return select + " FROM " + qualified + (filter.empty() ? "" : " WHERE " + filter) + ") TO STDOUT";
}

// Runs a table's COPY, emitting a record per row from the template. Returns the rows copied.
uint64_t copy_rows(PGconn* sql, const std::string& copy, const std::string& what, const ChangeRecord& proto,
                   uint64_t& ordinal, const std::function<void(ChangeRecord&)>& emit,
                   const std::function<void()>& report) {
  pg::Result started(PQexec(sql, copy.c_str()));
  if (PQresultStatus(started.get()) != PGRES_COPY_OUT)
    throw Error(kExitUnavailable, "snapshot of " + what + " failed: " + pg::error_text(sql));
  const size_t ncols = static_cast<size_t>(proto.columns_size());
  uint64_t rows = 0;
  for (;;) {
    char* raw = nullptr;
    int n = PQgetCopyData(sql, &raw, 0);
    if (n == -1) break;
    if (n < 0) throw Error(kExitUnavailable, "snapshot of " + what + " failed: " + pg::error_text(sql));
    pg::Buffer row(raw);
    auto fields = parse_copy_text_row(std::string_view(raw, static_cast<size_t>(n)));
    if (fields.size() != ncols)
      throw Error(kExitSoftware, "snapshot of " + what + ": COPY row has " + std::to_string(fields.size()) +
                                     " fields, expected " + std::to_string(ncols));
    ChangeRecord rec = proto;
    rec.set_ordinal(ordinal++);
    for (size_t c = 0; c < ncols; ++c) {
      auto* col = rec.mutable_columns(static_cast<int>(c));
      if (!fields[c])
        col->set_is_null(true);
      else if (pgoutput::valid_utf8(*fields[c]))
        col->set_text(std::move(*fields[c]));
      else
        col->set_binary(std::move(*fields[c]));
    }
    emit(rec);
    ++rows;
    report();
  }
  pg::Result done(PQgetResult(sql));
  if (PQresultStatus(done.get()) != PGRES_COMMAND_OK)
    throw Error(kExitUnavailable, "snapshot of " + what + " failed: " + pg::error_text(sql));
  while (pg::Result extra{PQgetResult(sql)}) {
  }
  return rows;
}

}  // namespace

uint64_t copy_tables(PGconn* sql, const Request& r, const std::function<void(ChangeRecord&)>& emit) {
  pg::exec_command(sql, "BEGIN ISOLATION LEVEL REPEATABLE READ, READ ONLY");
  pg::exec_command(sql, "SET TRANSACTION SNAPSHOT " + pg::quote_literal(sql, r.snapshot_name));
  pg::Result tables = pg::exec(sql,
                               "SELECT schemaname, tablename, attnames, rowfilter FROM pg_publication_tables "
                               "WHERE pubname = " +
                                   pg::quote_literal(sql, r.publication) + " ORDER BY 1, 2");
  const int64_t snap_time = now_us();
  const bool tty = isatty(STDERR_FILENO);
  uint64_t ordinal = 0;
  int64_t last_report = now_us();
  const int ntables = PQntuples(tables.get());
  for (int ti = 0; ti < ntables && !stop_requested(); ++ti) {
    std::string schema = PQgetvalue(tables.get(), ti, 0), table = PQgetvalue(tables.get(), ti, 1);
    if (r.excluded.count(schema + "." + table)) continue;
    ChangeRecord proto;
    std::string copy = table_template(sql, r, schema, table,
                                      PQgetisnull(tables.get(), ti, 2) ? nullptr : PQgetvalue(tables.get(), ti, 2),
                                      PQgetisnull(tables.get(), ti, 3) ? "" : PQgetvalue(tables.get(), ti, 3), proto);
    if (copy.empty()) continue;
    // Just below every streamed transaction's commit LSN (which is at or after the consistent point).
    proto.set_commit_lsn(r.consistent_point - 1);
    proto.set_commit_time(snap_time);
    const std::string what = schema + "." + table;
    auto report = [&] {
      if (!tty || now_us() - last_report <= 1'000'000) return;
      last_report = now_us();
      double secs = (last_report - snap_time) / 1e6;
      log::warn("snapshot: table " + std::to_string(ti + 1) + "/" + std::to_string(ntables) + " " + what + ", " +
                std::to_string(ordinal) + " rows, " + std::to_string(static_cast<int64_t>(ordinal / secs)) + " rows/s");
    };
    uint64_t rows = copy_rows(sql, copy, what, proto, ordinal, emit, report);
    log::info("snapshot: " + what + ": " + std::to_string(rows) + " rows");
  }
  pg::exec_command(sql, "COMMIT");
  return ordinal;
}

std::vector<std::optional<std::string>> parse_copy_text_row(std::string_view row) {
  std::vector<std::optional<std::string>> out;
  if (!row.empty() && row.back() == '\n') row.remove_suffix(1);
  size_t start = 0;
  for (;;) {
    size_t tab = row.find('\t', start);
    std::string_view f = row.substr(start, tab == std::string_view::npos ? std::string_view::npos : tab - start);
    if (f == "\\N") {
      out.emplace_back(std::nullopt);
    } else {
      std::string v;
      v.reserve(f.size());
      for (size_t i = 0; i < f.size(); ++i) {
        if (f[i] != '\\' || i + 1 == f.size()) {
          v.push_back(f[i]);
          continue;
        }
        char e = f[++i];
        switch (e) {
          case 'b':
            v.push_back('\b');
            break;
          case 'f':
            v.push_back('\f');
            break;
          case 'n':
            v.push_back('\n');
            break;
          case 'r':
            v.push_back('\r');
            break;
          case 't':
            v.push_back('\t');
            break;
          case 'v':
            v.push_back('\v');
            break;
          case 'x': {
            int val = 0, n = 0;
            while (n < 2 && i + 1 < f.size() && std::isxdigit(static_cast<unsigned char>(f[i + 1]))) {
              char h = f[++i];
              val = val * 16 + (std::isdigit(static_cast<unsigned char>(h)) ? h - '0' : (std::tolower(h) - 'a' + 10));
              ++n;
            }
            v.push_back(static_cast<char>(val));
            break;
          }
          default:
            if (e >= '0' && e <= '7') {
              int val = e - '0', n = 1;
              while (n < 3 && i + 1 < f.size() && f[i + 1] >= '0' && f[i + 1] <= '7') {
                val = val * 8 + (f[++i] - '0');
                ++n;
              }
              v.push_back(static_cast<char>(val));
            } else {
              v.push_back(e);  // \\ and any other escaped character stand for themselves
            }
        }
      }
      out.emplace_back(std::move(v));
    }
    if (tab == std::string_view::npos) break;
    start = tab + 1;
  }
  return out;
}

}  // namespace ss::snapshot
