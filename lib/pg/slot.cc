#include "pg/slot.h"

#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <fstream>

#include "core/error.h"
#include "core/log.h"
#include "core/position.h"
#include "pg/conn.h"

namespace ss::slot {

namespace {
// The comment on a publication ss-capture created (so that --drop-slot may drop it).
constexpr const char* kCreatedBy = "created by ss-capture";
}  // namespace

bool publishes_safely(char replica_identity, bool has_primary_key, bool has_identity_index) {
  return replica_identity == 'f' || (replica_identity == 'd' && has_primary_key) ||
         (replica_identity == 'i' && has_identity_index);
}

std::string keyless_advice(const std::vector<std::string>& tables, const std::string& publication, bool published) {
  std::string names, fix;
  for (const std::string& t : tables) {
    names += (names.empty() ? "" : ", ") + t;
    fix += (fix.empty() ? "" : " ") + std::string("ALTER TABLE ") + t + " REPLICA IDENTITY FULL;";
  }
  if (published)
    return names + " without a primary key or replica identity: the application's UPDATE and DELETE on it fail" +
           " until it has one; give it a primary key, or run: " + fix;
  return names + " (no primary key or replica identity: published, their UPDATE and DELETE would fail on the source)" +
         "; to capture them, give them a primary key, or run: " + fix + " ALTER PUBLICATION " + publication +
         " ADD TABLE " + names + ";";
}

namespace {

// The tables in scope (`where` filters pg_class c / pg_namespace n), quoted and qualified, each with whether it
// publishes safely.
std::vector<std::pair<std::string, bool>> tables_where(PGconn* sql, const std::string& where) {
  pg::Result r =
      pg::exec(sql,
               "SELECT format('%I.%I', n.nspname, c.relname), c.relreplident, EXISTS (SELECT 1 FROM pg_index i WHERE "
               "i.indrelid = c.oid AND i.indisprimary), EXISTS (SELECT 1 FROM pg_index i WHERE i.indrelid = c.oid AND "
               "i.indisreplident) FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace WHERE " +
                   where + " ORDER BY n.nspname, c.relname");
  std::vector<std::pair<std::string, bool>> out;
  for (int i = 0; i < PQntuples(r.get()); ++i)
    out.emplace_back(PQgetvalue(r.get(), i, 0),
                     publishes_safely(PQgetvalue(r.get(), i, 1)[0], PQgetvalue(r.get(), i, 2)[0] == 't',
                                      PQgetvalue(r.get(), i, 3)[0] == 't'));
  return out;
}

// What FOR ALL TABLES publishes: the database's permanent tables outside the system schemas.
const char* const kAllTables =
    "c.relkind IN ('r', 'p') AND c.relpersistence = 'p' AND NOT c.relispartition AND n.nspname NOT IN "
    "('pg_catalog', 'information_schema') AND n.nspname !~ '^pg_(toast|temp)'";

std::vector<std::string> keyless(const std::vector<std::pair<std::string, bool>>& tables) {
  std::vector<std::string> out;
  for (const auto& [name, safe] : tables)
    if (!safe) out.push_back(name);
  return out;
}

}  // namespace

std::vector<std::string> keyless_tables(PGconn* sql, const std::string& publication) {
  return keyless(tables_where(sql,
                              "c.oid IN (SELECT format('%I.%I', schemaname, tablename)::regclass FROM "
                              "pg_publication_tables WHERE pubname = " +
                                  pg::quote_literal(sql, publication) + ")"));
}

std::vector<std::string> ensure_publication(PGconn* sql, const std::string& publication, const Scope& scope) {
  const std::string lit = pg::quote_literal(sql, publication), ident = pg::quote_ident(sql, publication);
  pg::Result r = pg::exec(sql, "SELECT 1 FROM pg_publication WHERE pubname = " + lit);
  if (PQntuples(r.get()) > 0) {
    std::vector<std::string> bad = keyless_tables(sql, publication);
    if (!bad.empty()) log::warn("publication " + publication + " publishes " + keyless_advice(bad, ident, true));
    return bad;
  }
  std::vector<std::pair<std::string, bool>> tables;
  if (!scope.tables.empty()) {
    for (const std::string& t : scope.tables) {
      auto [s, n] = pg::split_table_name(t);
      auto found =
          tables_where(sql, "c.oid = to_regclass(" +
                                pg::quote_literal(sql, pg::quote_ident(sql, s) + "." + pg::quote_ident(sql, n)) + ")");
      if (found.empty()) throw Error(kExitConfig, "--table " + t + ": no such table");
      tables.push_back(found.front());
    }
  } else {
    tables = tables_where(sql, kAllTables);
  }
  const std::vector<std::string> bad = keyless(tables);
  std::string create = "CREATE PUBLICATION " + ident;
  if (scope.all_tables && !bad.empty() && !scope.allow_keyless)
    throw Error(kExitConfig, "not creating publication " + publication + " FOR ALL TABLES with " +
                                 keyless_advice(bad, ident, false) + " (or --allow-keyless to publish them anyway)");
  // Tables named with --table are published as asked (the warning below says what that costs).
  const bool keep_keyless = scope.allow_keyless || !scope.tables.empty();
  std::string list;
  for (const auto& [name, safe] : tables)
    if (safe || keep_keyless) list += (list.empty() ? "" : ", ") + name;
  if (scope.all_tables)
    create += " FOR ALL TABLES";
  else if (!list.empty())
    create += " FOR TABLE " + list;
  if (scope.via_partition_root) create += " WITH (publish_via_partition_root = true)";
  try {
    pg::exec_command(sql, create);
  } catch (const Error& e) {
    if (e.code() == kExitUnavailable) throw;  // a lost connection, not the publication's fault
    throw Error(kExitConfig, "cannot create publication " + publication + " (" + e.what() +
                                 "); create it as a superuser or the tables' owner, then run again");
  }
  // Marked as ss-capture's: --drop-slot removes it with the last slot of the database (drop()).
  pg::exec_command(sql, "COMMENT ON PUBLICATION " + ident + " IS " + pg::quote_literal(sql, kCreatedBy));
  const std::string drop =
      " (DROP PUBLICATION " + ident + " removes it; so does ss-capture --drop-slot of its last slot)";
  if (scope.all_tables) {
    log::notice("created publication " + publication + " FOR ALL TABLES" + drop);
  } else {
    const size_t published = keep_keyless ? tables.size() : tables.size() - bad.size();
    log::notice("created publication " + publication + " for " + std::to_string(published) +
                (published == 1 ? " table" : " tables") +
                (scope.tables.empty() ? "; tables created later are not in it (ALTER PUBLICATION " + ident +
                                            " ADD TABLE ..., or --all-tables)"
                                      : std::string()) +
                drop);
    if (!bad.empty() && !scope.allow_keyless)
      log::warn(keep_keyless ? "publication " + publication + " publishes " + keyless_advice(bad, ident, true)
                             : "left out of publication " + publication + ": " + keyless_advice(bad, ident, false));
  }
  return keep_keyless && !scope.allow_keyless ? bad : std::vector<std::string>();
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
  std::string sql =
      "CREATE_REPLICATION_SLOT " + pg::quote_ident(repl, slot) + (temporary ? " TEMPORARY" : "") + " LOGICAL pgoutput ";
  // From PostgreSQL 17 a slot may follow a failover: standbys with sync_replication_slots keep a copy of it, usable
  // once one is promoted. A temporary slot cannot, nor one made on a standby (decoding there, from 16).
  if (PQserverVersion(repl) >= 170000 && !temporary &&
      PQgetvalue(pg::exec(repl, "SELECT pg_is_in_recovery()").get(), 0, 0)[0] != 't')
    sql += std::string("(SNAPSHOT '") + (export_snapshot ? "export" : "nothing") + "', FAILOVER)";
  else
    sql += export_snapshot ? "EXPORT_SNAPSHOT" : "NOEXPORT_SNAPSHOT";
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

void require_logical_wal(PGconn* sql) {
  pg::Result r = pg::exec(sql, "SHOW wal_level");
  std::string level = PQgetvalue(r.get(), 0, 0);
  if (level != "logical")
    throw Error(kExitConfig, "the source runs with wal_level = " + level +
                                 "; logical replication needs wal_level = logical in postgresql.conf (then restart "
                                 "PostgreSQL)");
  // A standby decodes from PostgreSQL 16 on; before, creating or reading a slot there fails deep in the protocol.
  if (PQserverVersion(sql) < 160000 && PQgetvalue(pg::exec(sql, "SELECT pg_is_in_recovery()").get(), 0, 0)[0] == 't')
    throw Error(kExitConfig, std::string("the source at ") + PQhost(sql) + ":" + PQport(sql) +
                                 " is a standby, and PostgreSQL before 16 decodes only on a primary: capture from the "
                                 "primary, or from a standby of PostgreSQL 16 or later");
}

void start(PGconn* repl, const std::string& slot, const std::string& publication, uint64_t start_lsn,
           const std::string& gone) {
  std::string cmd = "START_REPLICATION SLOT " + pg::quote_ident(repl, slot) + " LOGICAL " + format_lsn(start_lsn) +
                    " (proto_version '1', publication_names " +
                    pg::quote_literal(repl, pg::quote_ident(repl, publication)) + ", messages 'true')";
  pg::Result r(PQexec(repl, cmd.c_str()));
  if (PQresultStatus(r.get()) == PGRES_COPY_BOTH) return;
  std::string msg = pg::error_text(r.get());
  if (pg::sqlstate(r.get()) == "55006")
    throw Error(kExitTempFail, "replication slot " + slot + " is in use by another process (" + msg +
                                   "); is another ss-capture running?");
  if (PQstatus(repl) != CONNECTION_OK) throw Error(kExitUnavailable, "lost connection: " + msg);
  if (pg::sqlstate(r.get()) == "42704") throw Error(kExitNoInput, gone);
  throw Error(kExitConfig, "cannot start replication: " + msg);
}

void drop(PGconn* sql, PGconn* repl, const std::string& slot, const std::string& database,
          const std::string& publication) {
  if (!exists(sql, slot, database)) throw Error(kExitConfig, "replication slot " + slot + " does not exist");
  pg::Result r(PQexec(repl, ("DROP_REPLICATION_SLOT " + pg::quote_ident(repl, slot)).c_str()));
  if (PQresultStatus(r.get()) != PGRES_COMMAND_OK)
    throw Error(pg::sqlstate(r.get()) == "55006" ? kExitTempFail : kExitUnavailable,
                "cannot drop replication slot " + slot + ": " + pg::error_text(r.get()));
  log::notice("dropped replication slot " + slot);
  // The publication goes too when ss-capture created it and no other slot of this database is left to read it.
  pg::Result owned =
      pg::exec(sql, "SELECT obj_description(p.oid, 'pg_publication') = " + pg::quote_literal(sql, kCreatedBy) +
                        ", (SELECT count(*) FROM pg_replication_slots WHERE database = current_database() AND plugin = "
                        "'pgoutput') FROM pg_publication p WHERE p.pubname = " +
                        pg::quote_literal(sql, publication));
  if (PQntuples(owned.get()) == 0) return;
  const std::string ident = pg::quote_ident(sql, publication);
  if (PQgetvalue(owned.get(), 0, 0)[0] != 't') {
    log::notice("kept publication " + publication + ": ss-capture did not create it (DROP PUBLICATION " + ident +
                " removes it)");
  } else if (std::string(PQgetvalue(owned.get(), 0, 1)) != "0") {
    log::notice("kept publication " + publication + ": other slots of the database may read it (DROP PUBLICATION " +
                ident + " once they are gone)");
  } else {
    pg::exec_command(sql, "DROP PUBLICATION " + ident);
    log::notice("dropped publication " + publication);
  }
}

std::string gone_line(PGconn* repl, const std::string& slot, const std::string& why, const std::string& lost) {
  return "replication slot " + slot + " is gone from the source at " + PQhost(repl) + ":" + PQport(repl) + why + ": " +
         lost + "; a new slot would start past them; " + kRecoverHint;
}

bool marked(const std::string& path) {
  struct stat st;
  if (path.empty()) return false;
  if (::stat(path.c_str(), &st) == 0) return true;
  if (errno == ENOENT) return false;
  // Unreadable is not absent: taken as absent, a lost slot would be made again in silence.
  throw Error(kExitIoErr, "cannot read the slot mark " + path + ": " + std::strerror(errno));
}

bool recovering(const std::string& path) {
  if (!marked(path)) return false;
  std::ifstream f(path);
  for (std::string line; std::getline(f, line);)
    if (line == "recovering") return true;
  return false;
}

void mark(const std::string& path, const std::string& slot, const std::string& system_id, bool recovering) {
  if (path.empty()) return;
  const std::string tmp = path + ".tmp";
  {
    std::ofstream f(tmp, std::ios::trunc);
    f << "slot " << slot << "\nsystem " << system_id << "\n" << (recovering ? "recovering\n" : "");
    f.flush();
    if (!f) throw Error(kExitCantCreate, "cannot write the slot mark " + tmp + ": " + std::strerror(errno));
  }
  if (::rename(tmp.c_str(), path.c_str()) != 0)
    throw Error(kExitCantCreate, "cannot write the slot mark " + path + ": " + std::strerror(errno));
}

void check_mark(const std::string& path, PGconn* repl, const std::string& slot, bool exists) {
  if (recovering(path))
    throw Error(kExitNoInput, "a recovery of slot " + slot + " did not finish (" + path +
                                  "): run shadowstream recover (or ss-capture --recover | ss-archive) again");
  if (!exists && marked(path))
    throw Error(kExitNoInput, gone_line(repl, slot, ", and " + path + " says it was made",
                                        "the changes since its last position may be lost to it"));
}

void unmark(const std::string& path) {
  if (!path.empty() && ::unlink(path.c_str()) != 0 && errno != ENOENT)
    log::warn("cannot remove the slot mark " + path + ": " + std::strerror(errno));
}

}  // namespace ss::slot
