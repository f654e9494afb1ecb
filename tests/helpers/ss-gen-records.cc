// ss-gen-records: synthetic ChangeRecords for tests and benchmarks: increasing positions, transactions of
// --tx-size records, commit times --interval apart, rows of about --size bytes.
#include <unistd.h>

#include "core/cli.h"
#include "core/error.h"
#include "core/frames.h"
#include "core/json.h"
#include "core/position.h"
#include "core/shape.h"
#include "shadowstream.pb.h"

int main(int argc, char** argv) {
  CLI::App app{"Write synthetic ChangeRecord frames (or JSON lines) to stdout.", "ss-gen-records"};
  uint64_t count = 1000, tx_size = 1, start_lsn = 0x1000000;
  size_t size = 200;
  std::string start_time = "2026-11-20T10:00:00Z", interval = "1ms", source = "bench", table = "items";
  bool json = false, mix = false, sql = false;
  app.add_option("-n,--count", count, "Records to write");
  app.add_option("--tx-size", tx_size, "Records per transaction")->check(CLI::PositiveNumber);
  app.add_option("--size", size, "Approximate serialized size of a record, bytes");
  app.add_option("--start-time", start_time, "Commit time of the first transaction");
  app.add_option("--interval", interval, "Commit-time gap between transactions");
  app.add_option("--start-lsn", start_lsn, "Commit LSN of the first transaction");
  app.add_option("--source", source, "Source name");
  app.add_option("--table", table, "Table name");
  app.add_flag("--json", json, "JSON lines instead of frames");
  app.add_flag("--mix", mix, "Inserts, updates and deletes of live rows (6:3:1) instead of inserts only");
  app.add_flag("--sql", sql, "The same changes as SQL statements in the same transactions (a psql baseline)");
  uint64_t shape_every = 0;
  app.add_option("--shape-every", shape_every,
                 "Records carry a relation shape, which gains a column \"extra\" and loses it again every N records "
                 "(a migration each time; larger than -n: one shape throughout)");
  return ss::run_main(app, argc, argv, [&] {
    auto t0 = ss::parse_time_us(start_time);
    auto gap = ss::parse_duration_us(interval);
    if (!t0 || !gap) throw ss::Error(ss::kExitUsage, "bad --start-time or --interval");
    shadowstream::v1::ChangeRecord rec;
    rec.mutable_source()->set_name(source);
    rec.mutable_source()->set_database(source);
    rec.set_schema("public");
    rec.set_table(table);
    rec.set_op(shadowstream::v1::OPERATION_INSERT);
    shadowstream::v1::Column id_col, payload_col;
    auto* id = &id_col;
    id->set_name("id");
    id->set_type_oid(20);
    id->set_type_name("int8");
    id->set_type_modifier(-1);
    id->set_is_key(true);
    auto* payload = &payload_col;
    payload->set_name("payload");
    payload->set_type_oid(25);
    payload->set_type_name("text");
    payload->set_type_modifier(-1);
    const size_t base = rec.ByteSizeLong() + id_col.ByteSizeLong() + payload_col.ByteSizeLong() + 44;
    const std::string filler(size > base ? size - base : 1, 'x');
    ss::FrameWriter frames(STDOUT_FILENO);
    ss::BufferedWriter text(STDOUT_FILENO);
    // --mix: rows live in a window [oldest, next_id); deletes take the oldest, updates one a little younger.
    uint64_t next_id = 1, oldest = 1;
    for (uint64_t i = 0; i < count; ++i) {
      uint64_t tx = i / tx_size;
      rec.set_commit_lsn(start_lsn + tx * 0x100);
      rec.set_ordinal(i % tx_size);
      rec.set_tx_last(i % tx_size == tx_size - 1 || i == count - 1);
      rec.set_xid(static_cast<uint32_t>(1000 + tx));
      rec.set_commit_time(*t0 + static_cast<int64_t>(tx) * *gap);
      auto op = shadowstream::v1::OPERATION_INSERT;
      uint64_t row = next_id;
      if (mix && next_id - oldest > 10) {
        if (i % 10 == 9) {
          op = shadowstream::v1::OPERATION_DELETE;
          row = oldest++;
        } else if (i % 10 >= 6) {
          op = shadowstream::v1::OPERATION_UPDATE;
          row = oldest + 1 + (i % 7);
        }
      }
      if (op == shadowstream::v1::OPERATION_INSERT) ++next_id;
      rec.set_op(op);
      rec.clear_old_columns();
      rec.clear_columns();
      id->set_text(std::to_string(row));
      payload->set_text(filler);
      if (op == shadowstream::v1::OPERATION_DELETE) {
        *rec.add_old_columns() = id_col;
      } else {
        *rec.add_columns() = id_col;
        *rec.add_columns() = payload_col;
      }
      if (shape_every) {
        // As pgoutput does: a key-only old image still lists every column, the others null.
        auto* cols = op == shadowstream::v1::OPERATION_DELETE ? rec.mutable_old_columns() : rec.mutable_columns();
        if (op == shadowstream::v1::OPERATION_DELETE) {
          auto* p = cols->Add();
          *p = payload_col;
          p->clear_text();
          p->set_is_null(true);
        }
        uint64_t period = i / shape_every;
        if (period % 2 == 1) {
          auto* extra = cols->Add();
          extra->set_name("extra");
          extra->set_type_oid(23);
          extra->set_type_name("int4");
          extra->set_type_modifier(-1);
          if (op == shadowstream::v1::OPERATION_DELETE)
            extra->set_is_null(true);
          else
            extra->set_text(std::to_string(period));
        }
        rec.set_relation_oid(16384);
        rec.set_replica_identity("d");
        rec.set_shape_id(ss::shape::id(rec));
      }
      if (sql) {
        std::string& b = text.buffer();
        if (rec.ordinal() == 0) b += "BEGIN;\n";
        if (op == shadowstream::v1::OPERATION_INSERT)
          b += "INSERT INTO " + table + " (id, payload) VALUES (" + id->text() + ", '" + filler + "');\n";
        else if (op == shadowstream::v1::OPERATION_UPDATE)
          b += "UPDATE " + table + " SET id = " + id->text() + ", payload = '" + filler + "' WHERE id = " + id->text() +
               ";\n";
        else
          b += "DELETE FROM " + table + " WHERE id = " + std::to_string(row) + ";\n";
        if (rec.tx_last()) b += "COMMIT;\n";
        text.maybe_flush();
      } else if (json) {
        ss::json::append(rec, text.buffer());
        text.buffer().push_back('\n');
        text.maybe_flush();
      } else {
        frames.write(rec);
      }
    }
    frames.flush();
    text.flush();
    return ss::kExitOk;
  });
}
