#include "pg/apply.h"

#include <libpq-fe.h>

#include <algorithm>
#include <chrono>
#include <cstring>
#include <deque>
#include <optional>
#include <unordered_map>
#include <unordered_set>

#include "core/error.h"
#include "core/json.h"
#include "core/log.h"
#include "core/shape.h"
#include "core/type_name.h"
#include "pg/conn.h"
#include "pg/fold.h"

namespace ss::apply {

using shadowstream::v1::ChangeRecord;
using shadowstream::v1::Column;
using shadowstream::v1::Operation;

namespace {

std::string mapped_schema(const Config& cfg, const std::string& schema) {
  for (const auto& [src, dst] : cfg.schema_map)
    if (src == schema) return dst;
  return schema;
}

std::string op_name(const ChangeRecord& rec) {
  return json::enum_short_name(shadowstream::v1::Operation_descriptor()->FindValueByNumber(rec.op()));
}

std::string where_text(const ChangeRecord& rec) {
  return op_name(rec) + " on " + rec.schema() + "." + rec.table() + " at position " +
         format_position({rec.commit_lsn(), rec.ordinal()});
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

// A value in COPY's text format.
void append_copy_value(std::string& line, const Column& c) {
  if (c.is_null()) {
    line.append("\\N");
    return;
  }
  const std::string& v = c.binary().empty() ? c.text() : c.binary();
  for (char ch : v) {
    switch (ch) {
      case '\\':
        line.append("\\\\");
        break;
      case '\t':
        line.append("\\t");
        break;
      case '\n':
        line.append("\\n");
        break;
      case '\r':
        line.append("\\r");
        break;
      default:
        line.push_back(ch);
    }
  }
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

std::pair<std::string, std::string> map_table(const Config& cfg, const std::string& schema, const std::string& table) {
  for (const auto& [src, dst] : cfg.table_map) {
    size_t dot = src.find('.');
    bool match = dot == std::string::npos ? src == table
                                          : src.compare(0, dot, schema) == 0 && dot == schema.size() &&
                                                src.compare(dot + 1, std::string::npos, table) == 0;
    if (!match) continue;
    size_t d = dst.find('.');
    if (d == std::string::npos) return {mapped_schema(cfg, schema), dst};
    return {dst.substr(0, d), dst.substr(d + 1)};
  }
  return {mapped_schema(cfg, schema), table};
}

Statement build_statement(const ChangeRecord& rec, const std::string& table) {
  Statement st;
  switch (rec.op()) {
    case shadowstream::v1::OPERATION_INSERT:
    case shadowstream::v1::OPERATION_SNAPSHOT:
      insert_into(st, rec, table);
      break;
    case shadowstream::v1::OPERATION_UPDATE: {
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
      break;
    }
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

namespace {
// ON CONFLICT on `key`: the other `columns` take the new row's values (DO NOTHING when there are none).
std::string on_conflict(const std::vector<std::string>& key, const std::vector<std::string>& columns) {
  std::string keys, set;
  for (const std::string& k : key) keys += (keys.empty() ? "" : ", ") + quote_ident(k);
  for (const std::string& c : columns) {
    if (std::find(key.begin(), key.end(), c) != key.end()) continue;
    set += (set.empty() ? "" : ", ") + quote_ident(c) + " = EXCLUDED." + quote_ident(c);
  }
  return " ON CONFLICT (" + keys + ") DO " + (set.empty() ? "NOTHING" : "UPDATE SET " + set);
}
}  // namespace

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

struct Applier::Impl {
  enum class Kind { kControl, kPrepare, kStatement, kQuery };
  struct Pending {
    Kind kind;
    std::string payload;  // the record, for error messages; empty for control statements and large records
    std::string sql;      // kPrepare: the cached text, forgotten again if the prepare fails
    bool counts_rows = false;
    std::string large;  // a large record's table and position, for error messages
  };
  // A failing record is reported whole (as JSON) up to this size, and past it by table and position only: a one-line
  // error must not carry a 300 MB value, nor the pipeline a copy of it per statement.
  static constexpr size_t kQuotedRecordBytes = size_t{64} << 10;
  static Pending record_pending(Kind kind, const ChangeRecord& rec, std::string_view payload, std::string sql = {},
                                bool counts_rows = false) {
    if (payload.size() <= kQuotedRecordBytes) return {kind, std::string(payload), std::move(sql), counts_rows, {}};
    return {kind,
            {},
            std::move(sql),
            counts_rows,
            where_text(rec) + " (a record of " + std::to_string(payload.size()) + " bytes)"};
  }
  struct Failure {
    Pending pending;
    std::string error;
  };

  Config cfg;
  pg::Conn conn;
  std::string pos_table;
  // --create-tables: which target table holds each source relation (by OID), so that a renamed relation renames its
  // table and a dropped and recreated one replaces it, across runs too.
  std::string rel_table;
  // oid -> (source, target) as registered: a vector, as sources replayed into one target may share OIDs.
  std::unordered_map<uint32_t, std::vector<std::pair<std::string, std::string>>> rel_targets;
  struct TargetShape {
    uint64_t shape = 0;  // the shape_id the target was last checked against
    std::vector<shape::TargetColumn> columns;
  };
  std::unordered_map<std::string, TargetShape> shapes;  // target -> what it is known to match
  Stats stats;
  std::unordered_map<std::string, std::string> prepared;                         // SQL -> statement name
  uint64_t statements = 0;                                                       // names handed out, never reused
  std::unordered_map<std::string, std::pair<std::string, std::string>> targets;  // schema '\0' table -> target
  std::unordered_set<std::string> checked;                                       // target relations known to exist
  std::unordered_map<std::string, Position> hw;                                  // committed high-water per source
  std::map<std::string, std::pair<Position, int64_t>> tx_hw;
  std::unordered_map<std::string, Position> firsts;  // per source in this transaction: its first record
  std::unordered_set<std::string> has_row;           // sources whose position row is known to exist
  uint64_t tx_statements = 0;                        // statements applied in this transaction
  bool loading = false;  // a checkpoint above the high-water is being applied: its tables were emptied
  bool copying = false;  // its rows are going in by COPY (copy_key: table and shape)
  std::string copy_key, copy_source, copy_table, copy_line;
  uint64_t copy_rows = 0;
  std::deque<Pending> pending;
  size_t unsynced = 0;
  bool in_tx = false;
  pg::Result query_result;
  std::vector<const char*> values;
  std::vector<int> lengths;
  // Grouping (Config::group): the open target transaction holds whole source transactions, their rows folded.
  fold::Fold fold;
  struct FoldTarget {
    bool checked = false;
    bool blocked = false;         // other unique indexes, foreign keys or triggers: row-by-row order matters there
    std::vector<std::string> pk;  // the target's primary key columns, sorted; empty: none, so no folding
    bool shape_known = false;
    uint64_t shape = 0;
    bool keys_match = false;  // the records of `shape` identify rows by exactly the primary key
  };
  std::unordered_map<std::string, FoldTarget> fold_targets;
  std::unordered_set<std::string> locked;  // sources whose position row the open group holds
  uint64_t group_records = 0;
  std::chrono::steady_clock::time_point group_start;
  bool mid_tx = false;       // records of a source transaction whose end has not been seen are applied
  uint64_t group_txs = 0;    // source transactions in the open target transaction
  uint64_t fold_tables = 0;  // temporary table names handed out
  // This source transaction is applied alone, without grouping: a checkpoint, or the rest of one whose group had to
  // be applied again record by record.
  bool plain_tx = false;
  // The group's records as they came, while they fit in its memory: when its folded rows cannot go in together, the
  // group is rolled back and applied again from here, a statement per record and a target transaction per source
  // transaction, so that what happens is exactly what happens without grouping (earlier transactions committed, the
  // failing record named, or skipped alone). A group that outgrows its memory drops its log and ends with the
  // source transaction that outgrew it; a failure then can only roll the group back and name the row at fault.
  bool logged = true;
  bool current_logged = false;  // the record being applied is in the log
  fold::RecordLog log;
  std::vector<size_t> log_tx_ends;  // log sizes at which a source transaction ended
  uint64_t group_folded = 0;        // counted by this group, taken back when it is applied again
  struct Redo {};                   // thrown to apply the group again from its log

  bool grouping() const { return cfg.group.enabled && !plain_tx; }
  // The open group can be applied again from its log.
  bool logging() const { return grouping() && logged; }
  // ... and doing so commits something before the failure: worth it for a failure that would otherwise stop.
  bool redoable() const { return logging() && !log_tx_ends.empty(); }

  explicit Impl(const Config& c) : cfg(c) {
    conn = pg::connect(cfg.conninfo);
    PQsetNoticeProcessor(
        conn.get(),
        [](void*, const char* msg) {
          std::string m = msg;
          while (!m.empty() && m.back() == '\n') m.pop_back();
          log::debug("target: " + m);
        },
        nullptr);
    auto [s, t] = pg::split_table_name(cfg.position_table);
    pos_table = quote_ident(s) + "." + quote_ident(t);
    rel_table = quote_ident(s) + "." + quote_ident(t + "_relations");
    // IF NOT EXISTS is not safe against a concurrent creator (two replays starting together fail on pg_type's
    // unique index): one transaction under an advisory lock, so the second waits and then finds the table.
    pg::exec_command(conn.get(), "BEGIN; SELECT pg_advisory_xact_lock(hashtext(" +
                                     pg::quote_literal(conn.get(), pos_table) + ")); CREATE SCHEMA IF NOT EXISTS " +
                                     quote_ident(s) + "; CREATE TABLE IF NOT EXISTS " + pos_table +
                                     " (source text PRIMARY KEY, commit_lsn pg_lsn NOT NULL, ordinal bigint NOT "
                                     "NULL, commit_time timestamptz, updated_at timestamptz NOT NULL DEFAULT now());" +
                                     (cfg.create_tables ? "CREATE TABLE IF NOT EXISTS " + rel_table +
                                                              " (source text NOT NULL, relation_oid bigint NOT NULL, "
                                                              "target text NOT NULL, PRIMARY KEY (source, "
                                                              "relation_oid));"
                                                        : std::string()) +
                                     " COMMIT");
    // Pipelining sends a transaction's statements without waiting for each reply: one round trip per
    // pipeline_depth statements instead of one per row.
    if (PQenterPipelineMode(conn.get()) != 1)
      throw Error(kExitUnavailable, "cannot use pipeline mode on the target: " + pg::error_text(conn.get()));
  }

  [[noreturn]] void lost() {
    throw Error(kExitTempFail, "lost the connection to the target PostgreSQL (" + pg::error_text(conn.get()) +
                                   "); the open transaction was not applied: rerun to resume");
  }

  // Like send(), as a statement prepared once: for what every transaction runs (the position write).
  void send_prepared(Kind kind, const std::string& sql, const std::vector<std::string>& params) {
    auto it = prepared.find(sql);
    if (it == prepared.end()) {
      std::string name = "ss" + std::to_string(++statements);
      if (PQsendPrepare(conn.get(), name.c_str(), sql.c_str(), 0, nullptr) != 1) lost();
      pending.push_back({Kind::kPrepare, {}, sql, false, {}});
      it = prepared.emplace(sql, name).first;
    }
    values.clear();
    for (const auto& p : params) values.push_back(p.c_str());
    if (PQsendQueryPrepared(conn.get(), it->second.c_str(), static_cast<int>(values.size()), values.data(), nullptr,
                            nullptr, 0) != 1)
      lost();
    pending.push_back({kind, {}, {}, false, {}});
  }

  void send(Kind kind, const std::string& sql, const std::vector<std::string>& params = {},
            Pending what = {Kind::kControl, {}, {}, false, {}}) {
    values.clear();
    for (const auto& p : params) values.push_back(p.c_str());
    if (PQsendQueryParams(conn.get(), sql.c_str(), static_cast<int>(values.size()), nullptr, values.data(), nullptr,
                          nullptr, 0) != 1)
      lost();
    what.kind = kind;
    pending.push_back(std::move(what));
  }

  // Sends a sync and reads every pending result. Returns the first failure (later statements of the pipeline are
  // then aborted by the server); the caller decides what it means.
  std::optional<Failure> drain() {
    if (pending.empty()) return std::nullopt;
    if (PQpipelineSync(conn.get()) != 1) lost();
    std::optional<Failure> fail;
    while (!pending.empty()) {
      Pending p = std::move(pending.front());
      pending.pop_front();
      while (PGresult* raw = PQgetResult(conn.get())) {
        pg::Result r(raw);
        ExecStatusType st = PQresultStatus(raw);
        if (st == PGRES_FATAL_ERROR) {
          if (PQstatus(conn.get()) == CONNECTION_BAD) lost();
          if (p.kind == Kind::kPrepare) prepared.erase(p.sql);
          if (!fail) fail = Failure{p, pg::error_text(raw)};
        } else if (st == PGRES_PIPELINE_ABORTED) {
          if (p.kind == Kind::kPrepare) prepared.erase(p.sql);
        } else if (p.kind == Kind::kStatement) {
          ++stats.applied;
          ++tx_statements;
          if (p.counts_rows && std::strcmp(PQcmdTuples(raw), "0") == 0) ++stats.not_found;
        } else if (p.kind == Kind::kQuery) {
          query_result = std::move(r);
        }
      }
      if (PQstatus(conn.get()) == CONNECTION_BAD) lost();
    }
    pg::Result sync(PQgetResult(conn.get()));
    if (!sync || PQresultStatus(sync.get()) != PGRES_PIPELINE_SYNC) {
      if (PQstatus(conn.get()) == CONNECTION_BAD) lost();
      throw Error(kExitSoftware, "PostgreSQL pipeline out of step: " + pg::error_text(conn.get()));
    }
    unsynced = 0;
    return fail;
  }

  std::string describe(const Failure& f) {
    if (!f.pending.large.empty()) return "cannot apply " + f.pending.large + ": " + f.error;
    if (f.pending.payload.empty()) return "target transaction failed: " + f.error;
    ChangeRecord rec;
    rec.ParseFromString(f.pending.payload);
    std::string json;
    json::append(rec, json);
    return "cannot apply " + where_text(rec) + ": " + f.error + "; record: " + json;
  }

  void abandon() {
    if (copying) finish_copy("abandoned");
    drain();  // results still in flight belong to the transaction being abandoned; their errors no longer matter
    if (in_tx) {
      send(Kind::kControl, "ROLLBACK");
      drain();
      // What the rolled-back transaction created or changed (position rows, tables, their shapes) is gone with it:
      // known again from the target when next needed, as a replay applied again from a group's log goes on.
      has_row.clear();
      checked.clear();
      shapes.clear();
      fold_targets.clear();
      rel_targets.clear();
    }
    reset_tx();
  }

  [[noreturn]] void stop_on(const Failure& f) {
    // In a group, the transactions before the failing one are applied first, as they would have been without it.
    if (redoable()) throw Redo{};
    std::string msg = describe(f);
    abandon();
    throw Error(kExitDataErr, msg);
  }

  void check(std::optional<Failure> f) {
    if (!f) return;
    // A group holds its sources' position rows, so nobody else applied it: it is applied again from its log (stop_on)
    // before applied_elsewhere() would roll it back and lose the log.
    if (redoable()) throw Redo{};
    if (!applied_elsewhere()) stop_on(*f);
  }

  pg::Result query(const std::string& sql, const std::vector<std::string>& params) {
    send(Kind::kQuery, sql, params);
    check(drain());
    return std::move(query_result);
  }

  // The source's high-water as the target holds it (`lock`: its row locked until the transaction ends).
  Position held_position(const std::string& source, bool lock = false) {
    pg::Result r =
        query("SELECT commit_lsn::text, ordinal FROM " + pos_table + " WHERE source = $1" + (lock ? " FOR UPDATE" : ""),
              {source});
    Position p;
    if (r && PQntuples(r.get()) == 1) {
      p.lsn = parse_lsn(PQgetvalue(r.get(), 0, 0)).value_or(0);
      p.ordinal = std::strtoull(PQgetvalue(r.get(), 0, 1), nullptr, 10);
    }
    return p;
  }

  Position& high_water(const std::string& source) {
    auto it = hw.find(source);
    if (it != hw.end()) return it->second;
    return hw[source] = held_position(source);
  }

  // Overlapping replays into one target (two CLI runs, two server jobs) take turns on the source's position row:
  // the commit writes the new high-water only over one below the transaction's first record, so of two replays
  // applying the same transaction the second fails there (or earlier, on a key the first inserted), rolls back,
  // finds the high-water past its transaction, and goes on as for any duplicate. No lock or round trip is spent
  // when nobody overlaps. The row must exist for that: the first transaction of a source creates it (a concurrent
  // creator waits for ours to end, then finds it), one round trip per source and run.
  //
  // A group (Config::group) holds its sources' rows from its first record to its commit instead: the check at the
  // commit could only tell that another replay applied part of the group, whose records are then already consumed.
  // Overlapping replays take turns by group, and one that waited here finds the high-water past what the other
  // applied. Returns false when `first` is at or below it.
  bool track_source(const std::string& source, const Position& first) {
    if (!has_row.count(source)) {
      query("INSERT INTO " + pos_table +
                " (source, commit_lsn, ordinal) VALUES ($1, '0/0', 0) ON CONFLICT (source) DO NOTHING",
            {source});
      has_row.insert(source);
    }
    if (cfg.group.enabled) {
      if (!locked.count(source)) {
        hw[source] = std::max(hw[source], held_position(source, true));
        locked.insert(source);
      }
      if (first <= hw[source]) return false;
    }
    firsts[source] = first;
    return true;
  }

  // After a failure inside a transaction: true when another replay committed it meanwhile (then it is rolled back,
  // counted as duplicates, and the high-water is known past it), false for a real failure.
  bool applied_elsewhere() {
    if (!in_tx || firsts.empty()) return false;
    auto mine = firsts;
    uint64_t statements = tx_statements;
    abandon();
    for (const auto& [source, first] : mine) {
      Position held = held_position(source);
      hw[source] = std::max(hw[source], held);
      if (held < first) return false;
    }
    stats.applied -= statements;
    stats.duplicates += statements;
    return true;
  }

  void begin() {
    if (in_tx) return;
    send(Kind::kControl, "BEGIN");
    in_tx = true;
    group_start = std::chrono::steady_clock::now();
  }

  // The target's own spelling of a column's type. A built-in type is named by OID; any other by its name, parsed
  // into identifiers and looked up on the target (see core/type_name.h): a name that is not a type name, or a type the
  // target lacks, stops the replay at this record (65) before any DDL is sent.
  std::string sql_type(const ChangeRecord& rec, const Column& c, std::string_view payload) {
    const std::string typmod = std::to_string(c.type_modifier());
    if (c.type_oid() != 0 && c.type_oid() < kFirstNormalObjectId) {
      pg::Result r = query("SELECT format_type($1::oid, $2::int)", {std::to_string(c.type_oid()), typmod});
      return PQgetvalue(r.get(), 0, 0);
    }
    std::optional<TypeRef> ref = parse_type_name(c.type_name());
    if (!ref)
      stop_on({record_pending(Kind::kControl, rec, payload),
               "column " + c.name() + " has type name " + c.type_name() +
                   ", which is not a type name (name or schema.name, each part bare or \"quoted\", then []s)"});
    pg::Result r = query("SELECT format_type(to_regtype($1), $2::int)", {regtype_text(*ref), typmod});
    if (PQgetisnull(r.get(), 0, 0))
      stop_on({record_pending(Kind::kControl, rec, payload),
               "column " + c.name() + " has type " + c.type_name() +
                   ", which the target does not have: create the type on the target first (--create-tables makes "
                   "tables, not types)"});
    return PQgetvalue(r.get(), 0, 0);
  }

  std::string at_position(const ChangeRecord& rec) { return format_position({rec.commit_lsn(), rec.ordinal()}); }

  // A DDL statement of the open transaction, logged with the position that called for it.
  void run_ddl(const ChangeRecord& rec, const std::string& sql, std::string_view payload) {
    log::info(at_position(rec) + ": " + sql);
    send(Kind::kControl, sql, {}, record_pending(Kind::kControl, rec, payload));
  }

  // Whether the target has this (quoted, qualified) table, as seen by the open transaction.
  bool table_exists(const std::string& table) {
    pg::Result r = query("SELECT to_regclass($1) IS NOT NULL", {table});
    return std::strcmp(PQgetvalue(r.get(), 0, 0), "t") == 0;
  }

  std::vector<shape::TargetColumn> target_columns(const std::string& table) {
    pg::Result r = query(
        "SELECT a.attname, a.atttypid, n.nspname, t.typname, a.atttypmod, coalesce(a.attnum = ANY(i.indkey), false) "
        "FROM pg_attribute a JOIN pg_type t ON t.oid = a.atttypid JOIN pg_namespace n ON n.oid = t.typnamespace "
        "LEFT JOIN pg_index i ON i.indrelid = a.attrelid AND i.indisprimary "
        "WHERE a.attrelid = $1::regclass AND a.attnum > 0 AND NOT a.attisdropped AND a.attgenerated = '' "
        "ORDER BY a.attnum",
        {table});
    std::vector<shape::TargetColumn> cols;
    for (int i = 0; i < PQntuples(r.get()); ++i)
      cols.push_back({PQgetvalue(r.get(), i, 0),
                      static_cast<uint32_t>(std::strtoul(PQgetvalue(r.get(), i, 1), nullptr, 10)),
                      catalog_type_name(PQgetvalue(r.get(), i, 2), PQgetvalue(r.get(), i, 3)),
                      std::atoi(PQgetvalue(r.get(), i, 4)), PQgetvalue(r.get(), i, 5)[0] == 't'});
    return cols;
  }

  // Before the first record of a new shape, the target takes that shape, in the same transaction: a replay that
  // stops leaves the table as it was, and a rerun finds nothing to change. A target the user manages (no
  // --create-tables) is never altered: a record with columns it lacks stops the replay before anything of the
  // transaction is applied.
  void follow_shape(const ChangeRecord& rec, const std::string& table, std::string_view payload) {
    TargetShape& ts = shapes[table];
    if (ts.shape == rec.shape_id()) return;
    flush_fold(&table);  // its rows folded in the old shape go in before it changes
    if (!checked.count(table) && !cfg.create_tables && !table_exists(table)) return;  // the insert says so
    ts.columns = target_columns(table);
    shape::Change ch = shape::compare(rec, ts.columns);
    if (ch.empty()) {
      ts.shape = rec.shape_id();
      return;
    }
    if (!cfg.create_tables) {
      if (ch.added.empty()) {  // extra columns or other types in a table the user shaped: theirs to decide
        ts.shape = rec.shape_id();
        return;
      }
      std::string missing;
      for (const Column* c : ch.added) missing += (missing.empty() ? "" : ", ") + c->name() + " " + c->type_name();
      stop_on({record_pending(Kind::kControl, rec, {}),
               "target table " + table + " lacks column(s) " + missing + " that " + where_text(rec) +
                   " has; rerun with --create-tables to evolve the target, or add them"});
    }
    log::info(table + " changes shape at " + at_position(rec) + ": " + shape::describe(ch, ts.columns));
    const std::string alter = "ALTER TABLE " + table + " ";
    if (ch.key_changed && std::any_of(ts.columns.begin(), ts.columns.end(), [](auto& c) { return c.is_key; })) {
      pg::Result r =
          query("SELECT conname FROM pg_constraint WHERE conrelid = $1::regclass AND contype = 'p'", {table});
      if (PQntuples(r.get()) == 1)
        run_ddl(rec, alter + "DROP CONSTRAINT " + quote_ident(PQgetvalue(r.get(), 0, 0)), payload);
    }
    fold_targets.erase(table);
    for (const std::string& d : ch.dropped) run_ddl(rec, alter + "DROP COLUMN " + quote_ident(d), payload);
    for (const Column* c : ch.added) {
      std::string type = sql_type(rec, *c, payload), col = quote_ident(c->name());
      if (!c->has_missing_value()) {
        run_ddl(rec, alter + "ADD COLUMN " + col + " " + type, payload);
        continue;
      }
      // Rows already in the shadow are the source's rows older than the column: they read its missing value.
      run_ddl(rec,
              alter + "ADD COLUMN " + col + " " + type + " DEFAULT " +
                  pg::quote_literal(conn.get(), c->missing_value()) + "::" + type,
              payload);
      run_ddl(rec, alter + "ALTER COLUMN " + col + " DROP DEFAULT", payload);
    }
    for (const Column* c : ch.retyped) {
      std::string type = sql_type(rec, *c, payload), col = quote_ident(c->name());
      run_ddl(rec, alter + "ALTER COLUMN " + col + " TYPE " + type + " USING " + col + "::" + type, payload);
    }
    if (ch.key_changed && !ch.key.empty()) {
      std::string key;
      for (const std::string& k : ch.key) key += (key.empty() ? "" : ", ") + quote_ident(k);
      run_ddl(rec, alter + "ADD PRIMARY KEY (" + key + ")", payload);
    }
    check(drain());
    ts.shape = rec.shape_id();
    ts.columns.clear();
  }

  // --create-tables: a relation is known by its OID. Renamed on the source (same OID, new name), its table is
  // renamed; dropped and recreated (a new OID under a name whose table held another), the table is replaced.
  void follow_relation(const ChangeRecord& rec, const std::string& table, std::string_view payload) {
    if (rec.relation_oid() == 0) return;
    auto& known = rel_targets[rec.relation_oid()];
    auto mine = std::find_if(known.begin(), known.end(), [&](auto& k) { return k.first == rec.source().name(); });
    if (mine != known.end() && mine->second == table) return;
    std::string oid = std::to_string(rec.relation_oid());
    std::string was;
    if (mine != known.end()) {
      was = mine->second;
    } else {
      pg::Result r = query("SELECT target FROM " + rel_table + " WHERE source = $1 AND relation_oid = $2",
                           {rec.source().name(), oid});
      if (PQntuples(r.get()) == 1) was = PQgetvalue(r.get(), 0, 0);
    }
    if (!was.empty() && was != table && table_exists(was)) {
      flush_fold();  // rows folded under either name go in before the names change
      if (table_exists(table)) {
        run_ddl(rec, "DROP TABLE " + table, payload);  // the new name's old table is gone on the source too
      }
      auto [s, t] = pg::split_table_name(table);
      auto [ws, wt] = pg::split_table_name(was);
      if (s != ws) run_ddl(rec, "ALTER TABLE " + was + " SET SCHEMA " + quote_ident(s), payload);
      if (t != wt)
        run_ddl(rec, "ALTER TABLE " + quote_ident(s) + "." + quote_ident(wt) + " RENAME TO " + quote_ident(t), payload);
      forget(was);
      forget(table);
    } else if (was.empty() || was != table) {
      // The name's table, if any, belongs to another OID of this source: a relation dropped and created again.
      pg::Result r =
          query("SELECT relation_oid FROM " + rel_table + " WHERE source = $1 AND target = $2 AND relation_oid <> $3",
                {rec.source().name(), table, oid});
      if (PQntuples(r.get()) > 0 && table_exists(table)) {
        flush_fold(&table);
        run_ddl(rec, "DROP TABLE " + table, payload);
        forget(table);
      }
      if (PQntuples(r.get()) > 0)
        send(Kind::kControl, "DELETE FROM " + rel_table + " WHERE source = $1 AND target = $2",
             {rec.source().name(), table});
    }
    send(Kind::kControl,
         "INSERT INTO " + rel_table +
             " (source, relation_oid, target) VALUES ($1, $2, $3) "
             "ON CONFLICT (source, relation_oid) DO UPDATE SET target = excluded.target",
         {rec.source().name(), oid, table});
    check(drain());
    if (mine != known.end())
      mine->second = table;
    else
      known.emplace_back(rec.source().name(), table);
  }

  void forget(const std::string& table) {
    checked.erase(table);
    shapes.erase(table);
    fold_targets.erase(table);
  }

  // --create-tables: the target relation is made from the record's own column names and types, in the open
  // transaction, so a failed replay leaves no empty tables behind.
  void ensure_table(const ChangeRecord& rec, const std::string& schema, const std::string& qualified,
                    std::string_view payload) {
    if (checked.count(qualified)) return;
    if (!table_exists(qualified)) {
      const auto& cols = rec.columns().empty() ? rec.old_columns() : rec.columns();
      if (cols.empty())
        stop_on({record_pending(Kind::kControl, rec, payload),
                 "target table " + qualified + " does not exist and the record has no columns to create it from"});
      std::vector<std::string> types;
      for (const Column& c : cols) types.push_back(sql_type(rec, c, payload));
      std::string ddl = create_table_sql(qualified, cols, types, rec.replica_identity() != "f");
      send(Kind::kControl, "CREATE SCHEMA IF NOT EXISTS " + quote_ident(schema), {},
           record_pending(Kind::kControl, rec, payload));
      send(Kind::kControl, ddl, {}, record_pending(Kind::kControl, rec, payload));
      check(drain());
      log::info("created target table " + qualified);
    }
    checked.insert(qualified);
  }

  // Per source relation, resolved once: the target schema (for --create-tables) and the quoted target relation.
  const std::pair<std::string, std::string>& target(const ChangeRecord& rec) {
    std::string key = rec.schema();
    key += '\0';
    key += rec.table();
    auto it = targets.find(key);
    if (it != targets.end()) return it->second;
    auto [s, t] = map_table(cfg, rec.schema(), rec.table());
    return targets[key] = {s, quote_ident(s) + "." + quote_ident(t)};
  }

  void send_statement(const Statement& st, const ChangeRecord& rec, std::string_view payload, bool counts_rows) {
    auto it = prepared.find(st.sql);
    if (it == prepared.end()) {
      std::string name = "ss" + std::to_string(++statements);
      if (PQsendPrepare(conn.get(), name.c_str(), st.sql.c_str(), 0, nullptr) != 1) lost();
      pending.push_back(record_pending(Kind::kPrepare, rec, payload, st.sql));
      it = prepared.emplace(st.sql, name).first;
    }
    values.clear();
    lengths.clear();
    for (const Column* c : st.params) {
      if (c->is_null()) {
        values.push_back(nullptr);
        lengths.push_back(0);
      } else {
        // Values that are not UTF-8 travel in `binary`, still in the server's text form.
        const std::string& v = c->binary().empty() ? c->text() : c->binary();
        values.push_back(v.c_str());
        lengths.push_back(static_cast<int>(v.size()));
      }
    }
    if (PQsendQueryPrepared(conn.get(), it->second.c_str(), static_cast<int>(values.size()), values.data(),
                            lengths.data(), nullptr, 0) != 1)
      lost();
    pending.push_back(record_pending(Kind::kStatement, rec, payload, {}, counts_rows));
  }

  void skip(const std::string& msg) {
    ++stats.failed;
    if (cfg.on_error == OnError::kLog) log::warn("skipped: " + msg);
  }

  bool apply(const ChangeRecord& rec, std::string_view payload) {
    current_logged = false;
    Position pos{rec.commit_lsn(), rec.ordinal()};
    const std::string& source = rec.source().name();
    auto op = rec.op();
    // The connection is in COPY mode while a checkpoint's rows stream in: the next row of the same table and shape
    // continues it (its source and position were checked with the COPY's first row), anything else ends it first.
    const bool continues =
        copying && op == shadowstream::v1::OPERATION_SNAPSHOT && copy_key == copy_key_of(rec) && source == copy_source;
    if (copying && !continues) end_copy();
    // At or below the committed high-water, or below what the open transaction took already (a stretch sent twice
    // inside one group): applied.
    auto taken = tx_hw.find(source);
    if ((taken != tx_hw.end() && pos <= taken->second.first) || (!continues && pos <= high_water(source))) {
      ++stats.duplicates;
      return false;
    }
    if (!continues && op == shadowstream::v1::OPERATION_CHECKPOINT_BEGIN && grouping()) {
      // A checkpoint is its own target transaction, loaded with COPY: the group before it is committed first.
      if (in_tx && !mid_tx) finish();
      plain_tx = true;
    }
    if (!continues) {
      begin();
      if (!firsts.count(source) && !track_source(source, pos)) {
        ++stats.duplicates;
        return false;
      }
    }
    tx_hw[source] = {pos, rec.commit_time()};
    mid_tx = true;
    ++group_records;
    if (logging()) {
      log.append(payload);
      current_logged = true;
      if (log.bytes() + fold.bytes() > cfg.group.memory) {
        logged = false;  // the fold goes on, itself bounded (fold_record)
        log.release();
        log_tx_ends.clear();
      }
    }
    if (op == shadowstream::v1::OPERATION_CHECKPOINT_BEGIN) {
      load_checkpoint(rec, payload);
      return true;
    }
    if (copying) {
      put_copy_row(rec);
      return true;
    }
    if (op != shadowstream::v1::OPERATION_INSERT && op != shadowstream::v1::OPERATION_SNAPSHOT &&
        op != shadowstream::v1::OPERATION_UPDATE && op != shadowstream::v1::OPERATION_DELETE &&
        op != shadowstream::v1::OPERATION_TRUNCATE) {
      ++stats.ignored;
      return true;
    }
    const auto& [schema, table] = target(rec);
    if (cfg.create_tables) follow_relation(rec, table, payload);
    if (cfg.create_tables) ensure_table(rec, schema, table, payload);
    if (rec.shape_id() != 0 && op != shadowstream::v1::OPERATION_TRUNCATE) follow_shape(rec, table, payload);
    if (loading && op == shadowstream::v1::OPERATION_SNAPSHOT && cfg.on_error == OnError::kStop) {
      if (start_copy(rec, table)) {
        put_copy_row(rec);
        return true;
      }
      if (!in_tx) return false;  // applied elsewhere meanwhile
    }
    if (op == shadowstream::v1::OPERATION_TRUNCATE) {
      flush_fold();
    } else if (grouping() && fold_record(rec, payload, table)) {
      return true;
    }
    apply_row(rec, payload, table);
    return true;
  }

  // One record as its own statement (`upsert_key`: its row inserted or updated in place, for a folded row).
  // `as_insert`: the record's row is inserted whatever its operation (a folded row; with `upsert_key`, updated in place
  // when the key exists).
  void apply_row(const ChangeRecord& rec, std::string_view payload, const std::string& table, bool as_insert = false,
                 const std::vector<std::string>* upsert_key = nullptr) {
    std::optional<Statement> st;
    try {
      st = as_insert ? build_insert(rec, table, upsert_key) : build_statement(rec, table);
    } catch (const Error& e) {
      if (cfg.on_error == OnError::kStop) stop_on({record_pending(Kind::kControl, rec, payload), e.what()});
      if (logging()) throw Redo{};
      skip(where_text(rec) + ": " + e.what());
      return;
    }
    auto op = rec.op();
    bool counts_rows =
        !as_insert && (op == shadowstream::v1::OPERATION_UPDATE || op == shadowstream::v1::OPERATION_DELETE);
    if (cfg.on_error == OnError::kStop) {
      send_statement(*st, rec, payload, counts_rows);
      if (++unsynced >= cfg.pipeline_depth) check(drain());
      return;
    }
    // skip/log: each row in its own savepoint, so a failing one is undone alone and the transaction goes on.
    send(Kind::kControl, "SAVEPOINT ss_apply");
    send_statement(*st, rec, payload, counts_rows);
    send(Kind::kControl, "RELEASE SAVEPOINT ss_apply");
    if (auto f = drain()) {
      if (f->pending.kind == Kind::kControl && f->pending.payload.empty() && f->pending.large.empty()) stop_on(*f);
      // In a group, the change is skipped (and reported) once, when the group is applied again without grouping.
      if (logging()) throw Redo{};
      send(Kind::kControl, "ROLLBACK TO SAVEPOINT ss_apply");
      send(Kind::kControl, "RELEASE SAVEPOINT ss_apply");
      check(drain());
      skip(where_text(rec) + ": " + f->error);
    }
  }

  // --- Grouping: folded rows, applied per table with COPY and set-based statements ---

  // Whether `table`'s rows can be folded: a primary key that is exactly the records' key, and nothing on the target
  // that would see the difference between one statement per change and the net effect (another unique index, which
  // a set-based statement can trip over midway; foreign keys, whose order across tables folding does not keep;
  // triggers).
  bool foldable(const ChangeRecord& rec, const std::string& table) {
    FoldTarget& ft = fold_targets[table];
    if (!ft.checked) {
      pg::Result r = query(
          "SELECT a.attname, EXISTS (SELECT 1 FROM pg_index u WHERE u.indrelid = i.indrelid AND u.indisunique AND "
          "NOT u.indisprimary) OR EXISTS (SELECT 1 FROM pg_constraint c WHERE c.contype = 'f' AND (c.conrelid = "
          "i.indrelid OR c.confrelid = i.indrelid)) OR EXISTS (SELECT 1 FROM pg_trigger g WHERE g.tgrelid = "
          "i.indrelid AND NOT g.tgisinternal) FROM pg_index i JOIN pg_attribute a ON a.attrelid = i.indrelid AND "
          "a.attnum = ANY (i.indkey) WHERE i.indrelid = to_regclass($1) AND i.indisprimary",
          {table});
      if (!in_tx) return false;
      ft = {};
      ft.checked = true;
      for (int i = 0; i < PQntuples(r.get()); ++i) {
        ft.pk.push_back(PQgetvalue(r.get(), i, 0));
        ft.blocked = ft.blocked || PQgetvalue(r.get(), i, 1)[0] == 't';
      }
      std::sort(ft.pk.begin(), ft.pk.end());
    }
    if (ft.blocked || ft.pk.empty()) return false;
    if (!ft.shape_known || ft.shape != rec.shape_id()) {
      std::vector<std::string> names;
      for (const Column& c : rec.op() == shadowstream::v1::OPERATION_DELETE ? rec.old_columns() : rec.columns())
        if (c.is_key()) names.push_back(c.name());
      std::sort(names.begin(), names.end());
      ft.shape_known = true;
      ft.shape = rec.shape_id();
      ft.keys_match = names == ft.pk;
    }
    return ft.keys_match;
  }

  // True when the record joined the fold; false when it is to be applied as its own statement (after whatever of
  // its table was folded before it).
  bool fold_record(const ChangeRecord& rec, std::string_view payload, const std::string& table) {
    if (!foldable(rec, table)) return false;
    for (;;) {
      switch (fold.add(table, rec, payload)) {
        case fold::Added::kFolded:
          if (fold.bytes() > cfg.group.memory) flush_fold();
          return true;
        case fold::Added::kOtherShape:
          flush_fold(&table);
          if (!in_tx) return true;
          continue;
        case fold::Added::kUnfoldable:
          flush_fold(&table);
          return !in_tx;
      }
    }
  }

  // Applies what is folded (of one table, or of all), inside the open transaction.
  void flush_fold(const std::string* only = nullptr) {
    if (fold.empty()) return;
    check(drain());
    if (!in_tx) {
      fold.clear();
      return;
    }
    if (only) {
      fold::Table t = fold.take(*only);
      if (!t.entries.empty()) apply_folded(t);
      return;
    }
    for (fold::Table& t : fold.tables()) {
      apply_folded(t);
      if (!in_tx) break;
    }
    fold.clear();
  }

  // Outside pipeline mode: one statement, "" or its error.
  std::string exec_direct(const std::string& sql, pg::Result* out = nullptr) {
    pg::Result r(PQexec(conn.get(), sql.c_str()));
    ExecStatusType st = PQresultStatus(r.get());
    if (st == PGRES_COMMAND_OK || st == PGRES_TUPLES_OK) {
      if (out) *out = std::move(r);
      return {};
    }
    if (PQstatus(conn.get()) == CONNECTION_BAD) lost();
    return pg::error_text(r.get());
  }

  // Outside pipeline mode: COPY ... FROM STDIN of the lines `fill` appends (called until it returns false).
  template <typename Fill>
  std::string copy_direct(const std::string& sql, Fill fill) {
    pg::Result r(PQexec(conn.get(), sql.c_str()));
    if (PQresultStatus(r.get()) != PGRES_COPY_IN) {
      if (PQstatus(conn.get()) == CONNECTION_BAD) lost();
      return pg::error_text(r.get());
    }
    for (bool more = true; more;) {
      more = fill(copy_line);
      if (copy_line.size() >= kCopyBlock) put_copy_block();
    }
    put_copy_block();
    return end_copy_data(nullptr);
  }

  void apply_folded(fold::Table& t) {
    stats.not_found += t.not_found;
    size_t inserts = 0, upserts = 0, updates = 0, deletes = 0, live = 0;
    const fold::Entry* model = nullptr;
    for (const fold::Entry& e : t.entries) {
      if (e.dead) continue;
      ++live;
      if (e.kind == fold::Kind::kUpsert) ++(e.from_insert ? inserts : upserts);
      if (e.kind == fold::Kind::kUpdate) ++updates;
      if (e.kind == fold::Kind::kDelete) ++deletes;
      if (!model || (model->kind == fold::Kind::kDelete && e.kind != fold::Kind::kDelete)) model = &e;
    }
    if (!model) {
      count_folded(t.records, t.records - live);
      return;
    }
    const std::vector<std::string>& pk = fold_targets[t.target].pk;
    ChangeRecord rec;
    rec.ParseFromString(model->payload);
    // The rows' columns: those of an insert or update (deletes carry only their key).
    std::vector<std::string> cols;
    for (const Column& c : model->kind == fold::Kind::kDelete ? rec.old_columns() : rec.columns())
      cols.push_back(c.name());
    std::string list;
    for (const std::string& c : cols) list += (list.empty() ? "" : ", ") + quote_ident(c);

    if (PQexitPipelineMode(conn.get()) != 1)
      throw Error(kExitSoftware, "cannot leave pipeline mode: " + pg::error_text(conn.get()));
    std::string error = exec_direct("SAVEPOINT ss_fold");
    bool empty = false;
    if (error.empty() && (inserts || upserts)) {
      pg::Result r;
      error = exec_direct("SELECT NOT EXISTS (SELECT 1 FROM " + t.target + ")", &r);
      empty = error.empty() && PQgetvalue(r.get(), 0, 0)[0] == 't';
    }
    // One line per row; false (and nothing appended) when a row's columns are not the model's, which only its own
    // statement can express.
    bool uniform = true;
    std::string keep;
    auto line = [&](const fold::Entry& e, std::string& out, bool with_op) {
      rec.ParseFromString(e.payload);
      keep.clear();
      const size_t start = out.size();
      if (e.kind == fold::Kind::kDelete) {
        for (size_t i = 0; i < cols.size(); ++i) {
          if (i) out.push_back('\t');
          auto it = std::find_if(rec.old_columns().begin(), rec.old_columns().end(),
                                 [&](const Column& c) { return c.name() == cols[i]; });
          if (it != rec.old_columns().end() && it->is_key())
            append_copy_value(out, *it);
          else
            out.append("\\N");
        }
      } else {
        if (static_cast<size_t>(rec.columns_size()) != cols.size()) uniform = false;
        for (size_t i = 0; uniform && i < cols.size(); ++i) {
          const Column& c = rec.columns(static_cast<int>(i));
          if (c.name() != cols[i]) uniform = false;
          if (i) out.push_back('\t');
          keep += c.unchanged_toast() ? 't' : 'f';
          if (c.unchanged_toast())
            out.append("\\N");
          else
            append_copy_value(out, c);
        }
        if (!uniform) {
          out.resize(start);
          return false;
        }
      }
      if (with_op) {
        out.append(e.kind == fold::Kind::kDelete   ? "\td\t"
                   : e.kind == fold::Kind::kUpdate ? "\tm\t"
                   : e.from_insert                 ? "\ti\t"
                                                   : "\tu\t");
        if (keep.find('t') == std::string::npos) {
          out.append("\\N");
        } else {
          out.push_back('{');
          for (size_t i = 0; i < keep.size(); ++i) {
            if (i) out.push_back(',');
            out.push_back(keep[i]);
          }
          out.push_back('}');
        }
      }
      out.push_back('\n');
      return true;
    };
    size_t next = 0;
    auto rows = [&](bool inserts_only, bool with_op) {
      return [&, inserts_only, with_op](std::string& out) {
        while (next < t.entries.size()) {
          const fold::Entry& e = t.entries[next++];
          if (e.dead || (inserts_only && e.kind != fold::Kind::kUpsert)) continue;
          if (!line(e, out, with_op)) {
            next = t.entries.size();
            return false;
          }
          return next < t.entries.size();
        }
        return false;
      };
    };
    if (error.empty() && empty) {
      // Nothing to update or delete in an empty table: its rows go straight in, at COPY's speed.
      error = copy_direct("COPY " + t.target + " (" + list + ") FROM STDIN", rows(true, false));
      stats.not_found += updates;
    } else if (error.empty()) {
      const std::string tmp = "ss_fold_" + std::to_string(++fold_tables);
      const std::string op = quote_ident("shadowstream op"), kp = quote_ident("shadowstream keep");
      error =
          exec_direct("CREATE TEMPORARY TABLE " + tmp + " ON COMMIT DROP AS SELECT " + list + ", NULL::\"char\" AS " +
                      op + ", NULL::boolean[] AS " + kp + " FROM " + t.target + " WITH NO DATA");
      if (error.empty()) error = copy_direct("COPY " + tmp + " FROM STDIN", rows(false, true));
      std::string match;
      for (const std::string& k : pk) match += " AND ss_t." + quote_ident(k) + " = ss_s." + quote_ident(k);
      if (error.empty() && deletes)
        error = exec_direct("DELETE FROM " + t.target + " AS ss_t USING " + tmp + " AS ss_s WHERE ss_s." + op +
                            " = 'd'" + match);
      std::string set;
      for (size_t i = 0; i < cols.size(); ++i) {
        if (std::binary_search(pk.begin(), pk.end(), cols[i])) continue;
        const std::string c = quote_ident(cols[i]);
        set += (set.empty() ? "" : ", ") + c + " = CASE WHEN ss_s." + kp + "[" + std::to_string(i + 1) +
               "] THEN ss_t." + c + " ELSE ss_s." + c + " END";
      }
      if (error.empty() && updates && !set.empty()) {
        pg::Result r;
        error = exec_direct("UPDATE " + t.target + " AS ss_t SET " + set + " FROM " + tmp + " AS ss_s WHERE ss_s." +
                                op + " = 'm'" + match,
                            &r);
        if (error.empty()) stats.not_found += updates - std::strtoull(PQcmdTuples(r.get()), nullptr, 10);
      }
      // Rows whose history here began with an insert are inserted (a key the target has already is an error, as
      // it would have been); rows deleted and inserted again replace what is there.
      if (error.empty() && inserts)
        error = exec_direct("INSERT INTO " + t.target + " (" + list + ") SELECT " + list + " FROM " + tmp + " WHERE " +
                            op + " = 'i'");
      if (error.empty() && upserts)
        error = exec_direct("INSERT INTO " + t.target + " (" + list + ") SELECT " + list + " FROM " + tmp + " WHERE " +
                            op + " = 'u'" + on_conflict(pk, cols));
    }
    if (error.empty() && !uniform) error = "rows of more than one set of columns";
    if (error.empty()) error = exec_direct("RELEASE SAVEPOINT ss_fold");
    if (!error.empty()) {
      std::string undo = exec_direct("ROLLBACK TO SAVEPOINT ss_fold");
      if (undo.empty()) undo = exec_direct("RELEASE SAVEPOINT ss_fold");
      if (!undo.empty()) {
        if (PQenterPipelineMode(conn.get()) != 1) lost();
        stop_on({{Kind::kControl, {}, {}, false, {}}, undo});
      }
    }
    if (PQenterPipelineMode(conn.get()) != 1)
      throw Error(kExitSoftware, "cannot use pipeline mode on the target: " + pg::error_text(conn.get()));
    if (error.empty()) {
      count_folded(t.records, t.records - live);
      return;
    }
    log::debug("the folded rows of " + t.target + " cannot go in together: " + error);
    if (logged) throw Redo{};
    // Each row alone, so that the one at fault is found, named with its position, and (skip, log) left out while
    // the others go in.
    for (const fold::Entry& e : t.entries) {
      if (e.dead) continue;
      rec.ParseFromString(e.payload);
      const bool insert = e.kind == fold::Kind::kUpsert;
      apply_row(rec, e.payload, t.target, insert, insert && !e.from_insert ? &pk : nullptr);
      if (!in_tx) return;
    }
    check(drain());
  }

  void count_folded(uint64_t records, uint64_t folded) {
    stats.applied += records;
    stats.folded += folded;
    tx_statements += records;
    group_folded += folded;
  }

  // The group's folded rows failed to go in together: it is rolled back and applied again from its log without
  // grouping, committing each complete source transaction. The rest of an incomplete one goes on without grouping
  // too, and grouping resumes after it.
  void redo() {
    fold::RecordLog data;
    std::swap(data, log);
    std::vector<size_t> tx_ends;
    std::swap(tx_ends, log_tx_ends);
    const uint64_t applied = tx_statements, folded = group_folded;
    abandon();
    stats.applied -= applied;
    stats.folded -= folded;
    // The high-water read under the group's lock may be past what this replay committed; the records at or below it
    // are duplicates again.
    size_t tx = 0;
    ChangeRecord rec;
    for (size_t i = 0; i < data.size(); ++i) {
      plain_tx = true;
      std::string_view payload = data[i];
      rec.ParseFromArray(payload.data(), static_cast<int>(payload.size()));
      apply(rec, payload);
      if (tx < tx_ends.size() && tx_ends[tx] == i + 1) {
        ++tx;
        commit();
      }
      while (tx < tx_ends.size() && tx_ends[tx] <= i + 1) ++tx;
    }
  }

  // A checkpoint above the target's high-water replaces its tables' contents: rows deleted between the target's
  // position and the checkpoint's are in none of its records, so the tables are emptied first, in the checkpoint's
  // own transaction (TRUNCATE's lock makes readers of those tables wait until its end marker commits it). A target at
  // or above the checkpoint never gets here: the position check drops it, and the changes after it roll the target
  // forward.
  void load_checkpoint(const ChangeRecord& rec, std::string_view payload) {
    for (const auto& t : rec.checkpoint().tables()) {
      ChangeRecord named;
      named.set_schema(t.schema());
      named.set_table(t.table());
      const std::string& table = target(named).second;
      if (table_exists(table)) run_ddl(rec, "TRUNCATE TABLE " + table, payload);
    }
    loading = true;
  }

  // A checkpoint being loaded fills emptied (or new) tables: its rows go in with COPY, a table at a time, at the
  // speed PostgreSQL loads a dump, instead of a statement each. (With --on-error skip or log each row keeps its own
  // statement and savepoint, so a bad one is isolated.) COPY cannot run in a pipeline: the pipeline is drained and
  // left for the COPY's duration.
  static std::string copy_key_of(const ChangeRecord& rec) {
    return rec.schema() + '\0' + rec.table() + '\0' + std::to_string(rec.shape_id());
  }
  // False when the transaction was given up meanwhile (another replay applied it): the caller goes on without COPY.
  bool start_copy(const ChangeRecord& rec, const std::string& table) {
    check(drain());
    if (!in_tx || !loading) return false;
    if (PQexitPipelineMode(conn.get()) != 1)
      throw Error(kExitSoftware, "cannot leave pipeline mode: " + pg::error_text(conn.get()));
    std::string sql = "COPY " + table + " (";
    bool first = true;
    for (const Column& c : rec.columns()) {
      sql += (first ? "" : ", ") + quote_ident(c.name());
      first = false;
    }
    sql += ") FROM STDIN";
    pg::Result r(PQexec(conn.get(), sql.c_str()));
    if (PQresultStatus(r.get()) != PGRES_COPY_IN) {
      if (PQstatus(conn.get()) == CONNECTION_BAD) lost();
      while (pg::Result extra{PQgetResult(conn.get())}) {
      }
      if (PQenterPipelineMode(conn.get()) != 1) lost();
      stop_on({{Kind::kControl, {}, {}, false, "the checkpoint rows of " + table}, pg::error_text(r.get())});
    }
    copying = true;
    copy_key = copy_key_of(rec);
    copy_source = rec.source().name();
    copy_table = table;
    copy_rows = 0;
    return true;
  }
  void put_copy_row(const ChangeRecord& rec) {
    bool first = true;
    for (const Column& c : rec.columns()) {
      if (!first) copy_line.push_back('\t');
      first = false;
      append_copy_value(copy_line, c);
    }
    copy_line.push_back('\n');
    // Rows go to libpq in blocks of its own send size: fewer calls than a row each, while larger blocks (256 KiB)
    // made the server wait for each one and loaded a checkpoint at half the speed.
    if (copy_line.size() >= kCopyBlock) put_copy_block();
    ++copy_rows;
  }
  void end_copy() {
    if (!copying) return;
    std::string error = finish_copy(nullptr);
    if (!error.empty()) stop_on({{Kind::kControl, {}, {}, false, "the checkpoint rows of " + copy_table}, error});
    stats.applied += copy_rows;
    tx_statements += copy_rows;
  }
  static constexpr size_t kCopyBlock = size_t{8} << 10;
  void put_copy_block() {
    if (!copy_line.empty() && PQputCopyData(conn.get(), copy_line.data(), static_cast<int>(copy_line.size())) != 1)
      lost();
    copy_line.clear();
  }
  // Ends the COPY in progress (`failure`: abort it with that message), reads its outcome and goes back to pipeline
  // mode. Returns the server's error, "" when it succeeded.
  std::string finish_copy(const char* failure) {
    copying = false;
    if (failure)
      copy_line.clear();
    else
      put_copy_block();
    std::string error = end_copy_data(failure);
    if (PQenterPipelineMode(conn.get()) != 1)
      throw Error(kExitSoftware, "cannot use pipeline mode on the target: " + pg::error_text(conn.get()));
    return error;
  }

  std::string end_copy_data(const char* failure) {
    if (PQputCopyEnd(conn.get(), failure) != 1) lost();
    std::string error;
    while (PGresult* raw = PQgetResult(conn.get())) {
      pg::Result r(raw);
      if (PQresultStatus(raw) != PGRES_COMMAND_OK && error.empty()) error = pg::error_text(raw);
    }
    if (PQstatus(conn.get()) == CONNECTION_BAD) lost();
    return error;
  }

  // The end of a source transaction.
  void commit() {
    end_copy();
    loading = false;
    const bool had = mid_tx;
    mid_tx = false;
    if (!in_tx) {
      plain_tx = false;
      return;
    }
    if (had) ++group_txs;
    if (logging()) {
      if (log.size() > (log_tx_ends.empty() ? 0 : log_tx_ends.back())) log_tx_ends.push_back(log.size());
      if (group_records < cfg.group.records &&
          std::chrono::steady_clock::now() - group_start < std::chrono::microseconds(cfg.group.time_us))
        return;
    }
    finish();
    plain_tx = false;
  }

  // Commits the open target transaction.
  void finish() {
    flush_fold();
    if (!in_tx) return;
    for (const auto& [source, ph] : tx_hw) {
      // The new high-water, written only over one below this transaction's first record; otherwise (another
      // replay applied it meanwhile) the statement fails, so the COMMIT behind it in the pipeline never runs. The
      // division by zero (by the count of rows written, so not folded away at plan time) is that failure; nobody
      // sees its text: applied_elsewhere() tells it from a real one.
      const Position& first = firsts[source];
      send_prepared(
          Kind::kControl,
          "WITH u AS (INSERT INTO " + pos_table +
              " AS t (source, commit_lsn, ordinal, commit_time) VALUES ($1, $2::pg_lsn, $3::bigint, "
              "$4::timestamptz) ON CONFLICT (source) DO UPDATE SET commit_lsn = EXCLUDED.commit_lsn, ordinal = "
              "EXCLUDED.ordinal, commit_time = EXCLUDED.commit_time, updated_at = now() WHERE (t.commit_lsn, "
              "t.ordinal) < ($5::pg_lsn, $6::bigint) RETURNING 1) SELECT 1 / count(*) FROM u",
          {source, format_lsn(ph.first.lsn), std::to_string(ph.first.ordinal), format_time_us(ph.second),
           format_lsn(first.lsn), std::to_string(first.ordinal)});
    }
    send(Kind::kControl, "COMMIT");
    check(drain());
    if (!in_tx) return;  // applied elsewhere: rolled back
    for (const auto& [source, ph] : tx_hw) hw[source] = ph.first;
    stats.transactions += group_txs;
    ++stats.commits;
    reset_tx();
  }

  void reset_tx() {
    loading = false;
    tx_hw.clear();
    firsts.clear();
    tx_statements = 0;
    in_tx = false;
    fold.clear();
    locked.clear();
    group_records = 0;
    group_txs = 0;
    group_folded = 0;
    mid_tx = false;
    logged = true;
    log.clear();
    log_tx_ends.clear();
  }
};

Applier::Applier(const Config& cfg) : impl_(std::make_unique<Impl>(cfg)) {}
Applier::~Applier() {
  if (impl_ && impl_->in_tx) {
    try {
      impl_->abandon();
    } catch (const Error&) {
      // The server rolls back an abandoned transaction when the connection closes.
    }
  }
}
bool Applier::apply(const ChangeRecord& rec, std::string_view payload) {
  // At most twice: a record not yet logged when its group failed goes into a new group, whose failure (if any)
  // comes with the record logged.
  for (;;) {
    try {
      return impl_->apply(rec, payload);
    } catch (const Impl::Redo&) {
      const bool logged = impl_->current_logged;
      impl_->redo();
      if (logged) return true;  // applied again with the rest of its group
    }
  }
}
void Applier::commit() {
  try {
    impl_->commit();
  } catch (const Impl::Redo&) {
    impl_->redo();
  }
}
void Applier::flush() {
  try {
    if (impl_->grouping() && impl_->in_tx && !impl_->mid_tx)
      impl_->finish();
    else
      impl_->check(impl_->drain());
  } catch (const Impl::Redo&) {
    impl_->redo();
  }
}
void Applier::rollback() {
  if (impl_->grouping() && impl_->group_txs > 0)
    log::warn("rolling back the target transaction: the " + std::to_string(impl_->group_txs) +
              " whole source transactions grouped in it are not applied either (a rerun applies them)");
  impl_->abandon();
}
bool Applier::in_transaction() const {
  return impl_->in_tx;
}
const Stats& Applier::stats() const {
  return impl_->stats;
}
}  // namespace ss::apply
