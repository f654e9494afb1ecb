#include "pg/snapshot.h"

#include <google/protobuf/io/coded_stream.h>
#include <google/protobuf/wire_format_lite.h>
#include <simdjson.h>
#include <unistd.h>

#include <algorithm>
#include <atomic>
#include <cctype>
#include <chrono>
#include <condition_variable>
#include <deque>
#include <exception>
#include <functional>
#include <mutex>
#include <optional>
#include <thread>

#include "core/error.h"
#include "core/log.h"
#include "core/position.h"
#include "core/shape.h"
#include "core/signals.h"
#include "pg/conn.h"
#include "pg/ddl.h"
#include "pg/pgoutput.h"

namespace ss::snapshot {

using shadowstream::v1::ChangeRecord;

namespace {
// The wire tags the encoder writes by hand, from the generated field numbers (each under 16: one byte).
using google::protobuf::internal::WireFormatLite;
constexpr char tag(int field, WireFormatLite::WireType type) {
  return static_cast<char>(WireFormatLite::MakeTag(field, type));
}
constexpr char kColumnsTag = tag(ChangeRecord::kColumnsFieldNumber, WireFormatLite::WIRETYPE_LENGTH_DELIMITED);
constexpr char kTextTag = tag(shadowstream::v1::Column::kTextFieldNumber, WireFormatLite::WIRETYPE_LENGTH_DELIMITED);
constexpr char kBinaryTag =
    tag(shadowstream::v1::Column::kBinaryFieldNumber, WireFormatLite::WIRETYPE_LENGTH_DELIMITED);
constexpr char kNullTag = tag(shadowstream::v1::Column::kIsNullFieldNumber, WireFormatLite::WIRETYPE_VARINT);
constexpr char kOrdinalTag = tag(ChangeRecord::kOrdinalFieldNumber, WireFormatLite::WIRETYPE_VARINT);
static_assert(ChangeRecord::kColumnsFieldNumber < 16 && ChangeRecord::kOrdinalFieldNumber < 16 &&
              shadowstream::v1::Column::kTextFieldNumber < 16 && shadowstream::v1::Column::kBinaryFieldNumber < 16 &&
              shadowstream::v1::Column::kIsNullFieldNumber < 16);
}  // namespace

namespace {

// A published table: its record template (the shape pgoutput would describe: no dropped or generated columns, only
// the published ones, under REPLICA IDENTITY FULL every column part of the key), its SELECT and its size.
struct Table {
  std::string name;       // schema.table
  std::string qualified;  // quoted
  std::string select;     // COPY (SELECT cols FROM t WHERE filter AND ... ): the caller appends the CTID range
  bool has_filter = false;
  ChangeRecord proto;
  int64_t pages = 0;
};

std::optional<Table> describe(PGconn* sql, const Request& r, const std::string& schema, const std::string& table,
                              const char* attnames, const std::string& filter) {
  const std::string qualified = pg::quote_ident(sql, schema) + "." + pg::quote_ident(sql, table);
  pg::Result cols = pg::exec(
      sql,
      "SELECT a.attname, a.atttypid, a.atttypmod, c.oid, c.relreplident, "
      "  c.relreplident = 'f' OR coalesce(a.attnum = ANY(i.indkey), false), "
      "  CASE WHEN a.atthasmissing THEN (a.attmissingval::text::text[])[1] END, "
      "  pg_relation_size(c.oid) / current_setting('block_size')::int "
      "FROM pg_class c JOIN pg_attribute a ON a.attrelid = c.oid "
      "LEFT JOIN pg_index i ON i.indrelid = c.oid AND ((c.relreplident = 'd' AND i.indisprimary) OR "
      "  (c.relreplident = 'i' AND i.indisreplident)) "
      "WHERE c.oid = " +
          pg::quote_literal(sql, qualified) +
          "::regclass AND a.attnum > 0 AND NOT a.attisdropped AND a.attgenerated = '' AND (" +
          std::string(attnames ? "a.attname = ANY(" + pg::quote_literal(sql, attnames) + "::name[])" : "true") +
          ") ORDER BY a.attnum");
  const int ncols = PQntuples(cols.get());
  if (ncols == 0) return std::nullopt;
  Table t;
  t.name = schema + "." + table;
  t.qualified = qualified;
  ChangeRecord& proto = t.proto;
  *proto.mutable_source() = r.source;
  proto.set_op(shadowstream::v1::OPERATION_SNAPSHOT);
  proto.set_schema(schema);
  proto.set_table(table);
  proto.set_relation_oid(static_cast<uint32_t>(std::stoul(PQgetvalue(cols.get(), 0, 3))));
  proto.set_replica_identity(PQgetvalue(cols.get(), 0, 4));
  t.pages = std::stoll(PQgetvalue(cols.get(), 0, 7));
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
  proto.set_commit_lsn(r.lsn - 1);
  t.select = select + " FROM " + qualified + (filter.empty() ? "" : " WHERE (" + filter + ")");
  t.has_filter = !filter.empty();
  return t;
}

// "t1, t2, ..." for a LOCK TABLE of every table.
std::string lock_list(const std::vector<Table>& tables) {
  std::string list;
  for (const auto& t : tables) list += (list.empty() ? "" : ", ") + t.qualified;
  return list;
}

// A CTID range of one table: pages [first, last); last < 0 is open (a table may have grown since it was sized; the
// rows the snapshot sees are all in pages that existed when it was taken, but a rewrite could move them).
struct Chunk {
  size_t table;
  int64_t first, last;
};

std::vector<Chunk> plan(const std::vector<Table>& tables, int jobs) {
  int64_t total = 0;
  for (const auto& t : tables) total += t.pages;
  // Enough chunks that the workers finish together, none so small that a statement's cost shows.
  const int64_t per = std::clamp<int64_t>(total / (std::max(jobs, 1) * 16), 128, 16384);
  std::vector<Chunk> out;
  for (size_t i = 0; i < tables.size(); ++i) {
    int64_t at = 0;
    for (; at + per < tables[i].pages; at += per) out.push_back({i, at, at + per});
    out.push_back({i, at, -1});
  }
  // Largest tables first would balance better; in order is what a reader of the progress bar expects.
  return out;
}

// Rows serialized by a worker, without their ordinals: the writer numbers them as it writes them.
struct Batch {
  size_t table = 0;
  std::string bytes;
  std::vector<uint32_t> sizes;
  int64_t pages = 0;  // pages finished with this batch (the chunk's, on its last batch)
};

// The workers' output: batches in any order (a checkpoint's rows have none), bounded so memory stays a few
// batches per worker whatever the table size.
class Queue {
 public:
  explicit Queue(size_t limit) : limit_(limit) {}
  // False when the run is being abandoned.
  bool push(Batch b) {
    std::unique_lock lock(mu_);
    room_.wait(lock, [&] { return q_.size() < limit_ || abandoned_; });
    if (abandoned_) return false;
    q_.push_back(std::move(b));
    ready_.notify_one();
    return true;
  }
  // The next batch; nullopt when every worker is done and the queue is empty, or after `wait_us` with nothing.
  enum class Got { kBatch, kTimeout, kEnd };
  Got pop(Batch& b, int64_t wait_us) {
    std::unique_lock lock(mu_);
    if (!ready_.wait_for(lock, std::chrono::microseconds(wait_us), [&] { return !q_.empty() || running_ == 0; }))
      return Got::kTimeout;
    if (q_.empty()) return Got::kEnd;
    b = std::move(q_.front());
    q_.pop_front();
    room_.notify_one();
    return Got::kBatch;
  }
  void started() {
    std::lock_guard lock(mu_);
    ++running_;
  }
  void finished(std::exception_ptr e) {
    std::lock_guard lock(mu_);
    if (e && !error_) error_ = e;
    if (e) abandoned_ = true;
    --running_;
    ready_.notify_all();
    room_.notify_all();
  }
  void abandon() {
    std::lock_guard lock(mu_);
    abandoned_ = true;
    room_.notify_all();
  }
  bool abandoned() {
    std::lock_guard lock(mu_);
    return abandoned_;
  }
  std::exception_ptr error() {
    std::lock_guard lock(mu_);
    return error_;
  }

 private:
  std::mutex mu_;
  std::condition_variable ready_, room_;
  std::deque<Batch> q_;
  size_t limit_;
  int running_ = 0;
  bool abandoned_ = false;
  std::exception_ptr error_;
};

constexpr size_t kBatchBytes = 1u << 20;

// One worker: its own connection in the exported snapshot, copying chunks until none are left.
void work(const Request& r, const std::vector<Table>& tables, const std::vector<Chunk>& chunks,
          std::atomic<size_t>& next, std::atomic<size_t>& done, Queue& q) {
  pg::Conn conn = pg::connect(r.conninfo);
  PGconn* sql = conn.get();
  pg::exec_command(sql, "BEGIN ISOLATION LEVEL REPEATABLE READ, READ ONLY");
  pg::exec_command(sql, "SET TRANSACTION SNAPSHOT " + pg::quote_literal(sql, r.snapshot_name));
  if (std::string list = lock_list(tables); !list.empty()) {
    pg::Result locked(PQexec(sql, ("LOCK TABLE " + list + " IN ACCESS SHARE MODE NOWAIT").c_str()));
    if (PQresultStatus(locked.get()) != PGRES_COMMAND_OK)
      throw Error(pg::sqlstate(locked.get()) == "55P03" ? kExitTempFail : kExitUnavailable,
                  "checkpoint: a table is being altered (" + pg::error_text(locked.get()) + "); try again later");
  }
  std::optional<RowEncoder> enc;
  size_t enc_table = SIZE_MAX;
  for (size_t i = next++; i < chunks.size() && !stop_requested() && !q.abandoned(); i = next++) {
    const Chunk& ch = chunks[i];
    const Table& t = tables[ch.table];
    if (enc_table != ch.table) {
      enc.emplace(t.proto);
      enc_table = ch.table;
    }
    std::string copy = t.select;
    if (ch.first > 0 || ch.last >= 0) {
      copy += t.has_filter ? " AND " : " WHERE ";
      copy += "ctid >= '(" + std::to_string(ch.first) + ",0)'::tid";
      if (ch.last >= 0) copy += " AND ctid < '(" + std::to_string(ch.last) + ",0)'::tid";
    }
    copy += ") TO STDOUT";
    pg::Result started(PQexec(sql, copy.c_str()));
    if (PQresultStatus(started.get()) != PGRES_COPY_OUT)
      throw Error(kExitUnavailable, "checkpoint of " + t.name + " failed: " + pg::error_text(sql));
    Batch b;
    b.table = ch.table;
    for (;;) {
      char* raw = nullptr;
      int n = PQgetCopyData(sql, &raw, 0);
      if (n == -1) break;
      if (n < 0) throw Error(kExitUnavailable, "checkpoint of " + t.name + " failed: " + pg::error_text(sql));
      pg::Buffer row(raw);
      const size_t before = b.bytes.size();
      if (!enc->encode(std::string_view(raw, static_cast<size_t>(n)), b.bytes))
        throw Error(kExitSoftware, "checkpoint of " + t.name + ": a COPY row without one field per column (" +
                                       std::to_string(t.proto.columns_size()) + ")");
      b.sizes.push_back(static_cast<uint32_t>(b.bytes.size() - before));
      if (b.bytes.size() >= kBatchBytes) {
        if (!q.push(std::move(b))) return;
        b = Batch{};
        b.table = ch.table;
      }
    }
    pg::Result copied(PQgetResult(sql));
    if (PQresultStatus(copied.get()) != PGRES_COMMAND_OK)
      throw Error(kExitUnavailable, "checkpoint of " + t.name + " failed: " + pg::error_text(sql));
    while (pg::Result extra{PQgetResult(sql)}) {
    }
    b.pages = (ch.last >= 0 ? ch.last : std::max(t.pages, ch.first)) - ch.first;
    if (!q.push(std::move(b))) return;
    ++done;
  }
  pg::exec_command(sql, "COMMIT");
}

// Appends `v` as a protobuf varint.
void put_varint(std::string& out, uint64_t v) {
  uint8_t buf[10];  // the longest varint of 64 bits
  const uint8_t* end = google::protobuf::io::CodedOutputStream::WriteVarint64ToArray(v, buf);
  out.append(reinterpret_cast<const char*>(buf), static_cast<size_t>(end - buf));
}

// "[#####     ]  45%  1,234,567 rows  98,765 rows/s  ETA 12s" on one line of a terminal.
class Bar {
 public:
  Bar(bool on, int64_t total_pages, std::string what) : on_(on), total_(total_pages), what_(std::move(what)) {}
  void draw(int64_t pages, uint64_t rows, bool force = false) {
    if (!on_) return;
    int64_t now = now_us();
    if (!force && now - drawn_ < 200'000) return;
    drawn_ = now;
    double f = total_ > 0 ? std::min(1.0, static_cast<double>(pages) / static_cast<double>(total_)) : 0;
    double secs = std::max(1e-3, (now - start_) / 1e6);
    std::string bar(30, ' ');
    std::fill_n(bar.begin(), static_cast<size_t>(f * 30), '#');
    std::string line = "\r" + what_ + " [" + bar + "] " + std::to_string(static_cast<int>(f * 100)) + "%  " +
                       std::to_string(rows) + " rows  " + std::to_string(static_cast<int64_t>(rows / secs)) + " rows/s";
    if (f > 0.01 && f < 1) line += "  ETA " + std::to_string(static_cast<int64_t>(secs * (1 - f) / f)) + "s";
    line += "\x1b[K";
    ssize_t n = ::write(STDERR_FILENO, line.data(), line.size());
    (void)n;
  }
  void done() {
    if (!on_) return;
    ssize_t n = ::write(STDERR_FILENO, "\n", 1);
    (void)n;
  }

 private:
  bool on_;
  int64_t total_;
  std::string what_;
  int64_t start_ = now_us(), drawn_ = 0;
};

}  // namespace

namespace {

// The publication's tables as the exported snapshot sees them, locked against rewrites until the checkpoint ends.
std::vector<Table> snapshot_tables(PGconn* sql, const Request& r) {
  pg::exec_command(sql, "BEGIN ISOLATION LEVEL REPEATABLE READ, READ ONLY");
  pg::exec_command(sql, "SET TRANSACTION SNAPSHOT " + pg::quote_literal(sql, r.snapshot_name));
  pg::Result listed = pg::exec(sql,
                               "SELECT schemaname, tablename, attnames, rowfilter FROM pg_publication_tables "
                               "WHERE pubname = " +
                                   pg::quote_literal(sql, r.publication) + " ORDER BY 1, 2");
  std::vector<Table> tables;
  for (int ti = 0; ti < PQntuples(listed.get()); ++ti) {
    std::string schema = PQgetvalue(listed.get(), ti, 0), table = PQgetvalue(listed.get(), ti, 1);
    if (r.excluded.count(schema + "." + table)) continue;
    auto t =
        describe(sql, r, schema, table, PQgetisnull(listed.get(), ti, 2) ? nullptr : PQgetvalue(listed.get(), ti, 2),
                 PQgetisnull(listed.get(), ti, 3) ? "" : PQgetvalue(listed.get(), ti, 3));
    if (t) tables.push_back(std::move(*t));
  }
  // As pg_dump -j does: this transaction holds ACCESS SHARE on every table until the workers are done, so no
  // rewrite (VACUUM FULL, CLUSTER, TRUNCATE) can slip in between two chunks of a table; a worker that cannot take
  // its own lock at once (such a command is queued) gives up rather than wait behind it for ever.
  if (std::string list = lock_list(tables); !list.empty())
    pg::exec_command(sql, "LOCK TABLE " + list + " IN ACCESS SHARE MODE");
  return tables;
}

// The checkpoint's begin marker: its LSN, snapshot time and tables (their row counts come with the end marker).
ChangeRecord begin_marker(const Request& r, const std::vector<Table>& tables, int64_t snap_time) {
  ChangeRecord marker;
  *marker.mutable_source() = r.source;
  marker.set_commit_lsn(r.lsn - 1);
  marker.set_commit_time(snap_time);
  marker.set_op(shadowstream::v1::OPERATION_CHECKPOINT_BEGIN);
  auto* cp = marker.mutable_checkpoint();
  cp->set_lsn(r.lsn);
  cp->set_snapshot_time(snap_time);
  cp->set_initial(r.initial);
  if (r.lost_slot) cp->mutable_gap()->set_lost_slot(true);
  for (const auto& t : tables) {
    auto* e = cp->add_tables();
    e->set_schema(t.proto.schema());
    e->set_table(t.proto.table());
  }
  return marker;
}

// Starts `jobs` workers running `work`, each reporting its end (or failure) to the queue. `work` must outlive them.
void start_workers(int jobs, Queue& q, std::vector<std::thread>& workers, const std::function<void()>& work) {
  for (int j = 0; j < jobs; ++j) {
    q.started();
    try {
      workers.emplace_back([&q, &work] {
        try {
          work();
          q.finished(nullptr);
        } catch (...) {
          q.finished(std::current_exception());
        }
      });
    } catch (...) {
      q.finished(nullptr);
      throw;
    }
  }
}

struct Written {
  uint64_t rows = 0;
  int64_t pages = 0;
  uint64_t bytes = 0;
};

// The rows the workers queue, written as they come with ordinals from 1; the rows of each table in `counts`.
void write_rows(Queue& q, FrameWriter& out, Bar& bar, std::vector<uint64_t>& counts, Written& w) {
  std::string field;
  Batch b;
  for (;;) {
    Queue::Got got = q.pop(b, 200'000);
    if (got == Queue::Got::kEnd) break;
    if (got == Queue::Got::kBatch) {
      size_t at = 0;
      for (uint32_t size : b.sizes) {
        // The ordinal goes after the row's own bytes.
        field.assign(1, kOrdinalTag);
        put_varint(field, ++w.rows);
        out.write_payload(std::string_view(b.bytes).substr(at, size), field);
        at += size;
        w.bytes += size + field.size();
      }
      counts[b.table] += b.sizes.size();
      w.pages += b.pages;
    }
    bar.draw(w.pages, w.rows);
  }
}

}  // namespace

Result write_checkpoint(PGconn* sql, const Request& r, FrameWriter& out) {
  std::vector<Table> tables = snapshot_tables(sql, r);
  const int64_t snap_time = now_us();
  for (auto& t : tables) t.proto.set_commit_time(snap_time);
  ChangeRecord marker = begin_marker(r, tables, snap_time);
  ddl::add_definitions(sql, *marker.mutable_checkpoint());
  out.write(marker);
  Result res;
  res.frames = 1;
  res.last = Position{r.lsn - 1, 0};

  std::vector<Chunk> chunks = plan(tables, r.jobs);
  int64_t total_pages = 0;
  for (const auto& t : tables) total_pages += t.pages;
  std::atomic<size_t> next{0}, done{0};
  const int jobs = std::max(1, std::min<int>(r.jobs, static_cast<int>(chunks.size())));
  Queue q(static_cast<size_t>(jobs) * 4);
  std::vector<std::thread> workers;
  auto join_all = [&] {
    for (auto& w : workers) w.join();
    // The leader's locks go with its transaction, once no worker reads any more.
    pg::Result ended(PQexec(sql, "COMMIT"));
  };
  const std::function<void()> copy = [&] { work(r, tables, chunks, next, done, q); };
  try {
    start_workers(jobs, q, workers, copy);
  } catch (...) {
    q.abandon();
    join_all();
    throw;
  }
  std::vector<uint64_t> counts(tables.size());
  Bar bar(r.progress, total_pages, "checkpoint " + format_lsn(r.lsn));
  Written w;
  try {
    write_rows(q, out, bar, counts, w);
  } catch (...) {
    q.abandon();
    join_all();
    bar.done();
    throw;
  }
  join_all();
  bar.draw(w.pages, w.rows, true);
  bar.done();
  if (auto e = q.error()) std::rethrow_exception(e);
  res.rows = w.rows;
  res.frames += res.rows;
  res.bytes = marker.ByteSizeLong() + w.bytes;
  res.last = Position{r.lsn - 1, w.rows};
  if (done < chunks.size()) return res;  // stopped: no end marker, so no reader trusts what was written
  auto* cp = marker.mutable_checkpoint();
  for (size_t i = 0; i < tables.size(); ++i) {
    cp->mutable_tables(static_cast<int>(i))->set_rows(counts[i]);
    log::info("checkpoint " + format_lsn(r.lsn) + ": " + tables[i].name + ": " + std::to_string(counts[i]) + " rows");
  }
  cp->set_rows(res.rows);
  marker.set_op(shadowstream::v1::OPERATION_CHECKPOINT_END);
  marker.set_ordinal(w.rows + 1);
  marker.set_tx_last(true);
  out.write(marker);
  out.flush();
  res.frames += 1;
  res.bytes += marker.ByteSizeLong();
  res.last = Position{r.lsn - 1, w.rows + 1};
  res.complete = true;
  return res;
}

RowEncoder::RowEncoder(const ChangeRecord& tmpl) {
  ChangeRecord head = tmpl;
  head.clear_columns();
  head.clear_ordinal();
  head_ = head.SerializeAsString();
  for (const auto& c : tmpl.columns()) {
    shadowstream::v1::Column meta = c;
    meta.clear_text();
    meta.clear_binary();
    meta.clear_is_null();
    meta.clear_unchanged_toast();
    columns_.push_back(meta.SerializeAsString());
  }
}

bool RowEncoder::encode(std::string_view row, std::string& out) {
  if (!row.empty() && row.back() == '\n') row.remove_suffix(1);
  out.append(head_);
  size_t start = 0;
  for (size_t c = 0; c < columns_.size(); ++c) {
    if (start > row.size()) return false;
    size_t tab = row.find('\t', start);
    if ((tab == std::string_view::npos) != (c + 1 == columns_.size())) return false;
    std::string_view field = row.substr(start, tab == std::string_view::npos ? std::string_view::npos : tab - start);
    start = tab == std::string_view::npos ? row.size() + 1 : tab + 1;
    // The value: NULL, or its text (unescaped when it has escapes) as `text`, or as `binary` when not UTF-8. An
    // empty text is proto3's default and takes no bytes.
    char tag = kNullTag;
    std::string_view v;
    if (field != "\\N") {
      v = field;
      if (field.find('\\') != std::string_view::npos) {
        unescape_copy_field(field, scratch_);
        v = scratch_;
      }
      tag = v.empty() ? 0 : simdjson::validate_utf8(v.data(), v.size()) ? kTextTag : kBinaryTag;
    }
    const size_t value_bytes = tag == kNullTag ? 2
                               : tag ? 1 + google::protobuf::io::CodedOutputStream::VarintSize64(v.size()) + v.size()
                                     : 0;
    out.push_back(kColumnsTag);
    put_varint(out, columns_[c].size() + value_bytes);
    out.append(columns_[c]);
    if (tag == kNullTag) {
      out.push_back(kNullTag);
      out.push_back(1);
    } else if (tag) {
      out.push_back(tag);
      put_varint(out, v.size());
      out.append(v);
    }
  }
  return true;
}

bool unescape_copy_field(std::string_view f, std::string& v) {
  v.clear();
  if (f == "\\N") return false;
  if (f.find('\\') == std::string_view::npos) {
    v.assign(f);
    return true;
  }
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
  return true;
}

}  // namespace ss::snapshot
