#include "pg/slot.h"

#include "core/error.h"
#include "core/log.h"
#include "core/position.h"
#include "pg/conn.h"

namespace ss::slot {

void ensure_publication(PGconn* sql, const std::string& publication, const std::vector<std::string>& tables,
                        bool via_partition_root) {
  std::string lit = pg::quote_literal(sql, publication);
  pg::Result r = pg::exec(sql, "SELECT 1 FROM pg_publication WHERE pubname = " + lit);
  if (PQntuples(r.get()) > 0) return;
  std::string create = "CREATE PUBLICATION " + pg::quote_ident(sql, publication);
  if (tables.empty()) {
    create += " FOR ALL TABLES";
  } else {
    create += " FOR TABLE ";
    for (size_t i = 0; i < tables.size(); ++i) {
      auto [s, t] = pg::split_table_name(tables[i]);
      create += (i ? ", " : "") + pg::quote_ident(sql, s) + "." + pg::quote_ident(sql, t);
    }
  }
  if (via_partition_root) create += " WITH (publish_via_partition_root = true)";
  try {
    pg::exec_command(sql, create);
  } catch (const Error& e) {
    if (e.code() == kExitUnavailable) throw;  // a lost connection, not the publication's fault
    throw Error(kExitConfig, "cannot create publication " + publication + " (" + e.what() +
                                 "); create it as a superuser or the tables' owner, then run again");
  }
  log::info("created publication " + publication);
}

bool exists(PGconn* sql, const std::string& slot, const std::string& database) {
  pg::Result r = pg::exec(
      sql, "SELECT plugin, database FROM pg_replication_slots WHERE slot_name = " + pg::quote_literal(sql, slot));
  if (PQntuples(r.get()) == 0) return false;
  std::string plugin = PQgetvalue(r.get(), 0, 0), db = PQgetvalue(r.get(), 0, 1);
  if (plugin != "pgoutput" || db != database)
    throw Error(kExitConfig, "replication slot " + slot + " exists for plugin " + plugin + " in database " + db +
                                 "; ss-capture needs a pgoutput slot in " + database);
  return true;
}

std::pair<uint64_t, std::string> create(PGconn* repl, const std::string& slot, bool export_snapshot, bool temporary) {
  std::string sql = "CREATE_REPLICATION_SLOT " + pg::quote_ident(repl, slot) + (temporary ? " TEMPORARY" : "") +
                    " LOGICAL pgoutput " + (export_snapshot ? "EXPORT_SNAPSHOT" : "NOEXPORT_SNAPSHOT");
  pg::Result r(PQexec(repl, sql.c_str()));
  if (PQresultStatus(r.get()) != PGRES_TUPLES_OK) {
    std::string msg = pg::error_text(r.get());
    throw Error(pg::sqlstate(r.get()) == "42710" ? kExitTempFail : kExitUnavailable,
                "cannot create replication slot " + slot + ": " + msg);
  }
  auto cp = parse_lsn(PQgetvalue(r.get(), 0, 1));
  if (!cp) throw Error(kExitSoftware, "server returned an unparseable consistent point");
  return {*cp, PQgetisnull(r.get(), 0, 2) ? "" : PQgetvalue(r.get(), 0, 2)};
}

void drop(PGconn* sql, PGconn* repl, const std::string& slot, const std::string& database) {
  if (!exists(sql, slot, database)) throw Error(kExitConfig, "replication slot " + slot + " does not exist");
  pg::Result r(PQexec(repl, ("DROP_REPLICATION_SLOT " + pg::quote_ident(repl, slot)).c_str()));
  if (PQresultStatus(r.get()) != PGRES_COMMAND_OK)
    throw Error(pg::sqlstate(r.get()) == "55006" ? kExitTempFail : kExitUnavailable,
                "cannot drop replication slot " + slot + ": " + pg::error_text(r.get()));
  log::info("dropped replication slot " + slot);
}

}  // namespace ss::slot
