#include "pg/conn.h"

#include <cstdlib>
#include <vector>

#include "core/error.h"

namespace ss::pg {
namespace {
void adopt_seed_env(const char* seed, const char* libpq) {
  const char* v = std::getenv(seed);
  const char* cur = std::getenv(libpq);
  if (v && *v && !(cur && *cur)) setenv(libpq, v, 0);
}

// libpq messages span lines ("...failed: Connection refused\n\tIs the server running..."); ours are one line.
std::string trim(const std::string& in) {
  std::string s;
  for (char c : in) {
    if (c == '\n' || c == '\t') {
      if (!s.empty() && s.back() != ' ') s.push_back(' ');
    } else {
      s.push_back(c);
    }
  }
  while (!s.empty() && s.back() == ' ') s.pop_back();
  return s;
}
}  // namespace

std::string conninfo(const std::string& url_or_conninfo) {
  adopt_seed_env("PG_HOST", "PGHOST");
  adopt_seed_env("PG_PORT", "PGPORT");
  adopt_seed_env("PG_USER", "PGUSER");
  adopt_seed_env("PG_PASSWORD", "PGPASSWORD");
  adopt_seed_env("PG_DATABASE", "PGDATABASE");
  return url_or_conninfo;
}

ConninfoOptions parse_conninfo(const std::string& url_or_conninfo, int code, const std::string& what) {
  char* err = nullptr;
  ConninfoOptions opts(PQconninfoParse(url_or_conninfo.c_str(), &err));
  if (!opts) {
    std::string msg = err ? trim(err) : "not a conninfo or postgres:// URI";
    if (err) PQfreemem(err);
    throw Error(code, what + ": " + msg);
  }
  return opts;
}

Conn connect(const std::string& url_or_conninfo, const std::string& replication) {
  std::string info = conninfo(url_or_conninfo);
  // A conninfo libpq cannot parse is configuration, told by libpq's parser rather than by its message's words.
  if (!info.empty()) parse_conninfo(info, kExitConfig, "cannot connect to PostgreSQL");
  // Pass the conninfo as "dbname" with expand_dbname so both URIs and key=value strings work, and add the
  // replication keyword without string surgery on the user's text.
  const char* keys[] = {"dbname", replication.empty() ? nullptr : "replication", nullptr};
  const char* vals[] = {info.empty() ? nullptr : info.c_str(), replication.c_str(), nullptr};
  if (info.empty()) {
    keys[0] = replication.empty() ? nullptr : "replication";
    vals[0] = replication.c_str();
    keys[1] = nullptr;
  }
  Conn c(PQconnectdbParams(keys, vals, 1));
  if (!c) throw Error(kExitSoftware, "out of memory creating a PostgreSQL connection");
  if (PQstatus(c.get()) != CONNECTION_OK) {
    std::string msg = trim(PQerrorMessage(c.get()));
    // A value libpq refuses when it connects (a port that is not a number, an unknown sslmode) or a database that
    // does not exist is configuration; anything else (refused, timed out) an outage worth retrying. libpq gives no
    // SQLSTATE for a failed connection: its words and the server's are all there is.
    bool config = msg.find("invalid") != std::string::npos || msg.find("missing") != std::string::npos ||
                  (msg.find("database \"") != std::string::npos && msg.find("does not exist") != std::string::npos);
    // Refused credentials are permanent too: retrying them only fills the server's log (and may lock the role).
    bool auth = PQconnectionNeedsPassword(c.get()) || msg.find("authentication failed") != std::string::npos ||
                msg.find("no password supplied") != std::string::npos ||
                msg.find("no pg_hba.conf entry") != std::string::npos ||
                (msg.find("role \"") != std::string::npos && msg.find("does not exist") != std::string::npos);
    int code = auth ? kExitNoPerm : config ? kExitConfig : kExitUnavailable;
    throw Error(code, "cannot connect to PostgreSQL: " + msg);
  }
  return c;
}

std::string error_text(PGconn* c) {
  return trim(PQerrorMessage(c));
}
std::string error_text(const PGresult* r) {
  return trim(PQresultErrorMessage(r));
}

Result exec(PGconn* c, const std::string& sql, ExecStatusType ok_status) {
  Result r(PQexec(c, sql.c_str()));
  if (r && PQresultStatus(r.get()) == ok_status) return r;
  if (PQstatus(c) != CONNECTION_OK) throw Error(kExitUnavailable, "lost connection to PostgreSQL: " + error_text(c));
  std::string msg = r ? error_text(r.get()) : error_text(c);
  throw Error(kExitSoftware, "PostgreSQL: " + msg);
}

Result exec_command(PGconn* c, const std::string& sql) {
  return exec(c, sql, PGRES_COMMAND_OK);
}

std::string quote_ident(PGconn* c, const std::string& ident) {
  std::unique_ptr<char, decltype(&PQfreemem)> q(PQescapeIdentifier(c, ident.data(), ident.size()), PQfreemem);
  if (!q) throw Error(kExitDataErr, "cannot quote identifier: " + error_text(c));
  return q.get();
}

std::string quote_literal(PGconn* c, const std::string& value) {
  std::unique_ptr<char, decltype(&PQfreemem)> q(PQescapeLiteral(c, value.data(), value.size()), PQfreemem);
  if (!q) throw Error(kExitDataErr, "cannot quote literal: " + error_text(c));
  return q.get();
}

std::pair<std::string, std::string> split_table_name(const std::string& name) {
  // Split on the first dot outside double quotes; strip the quotes (doubled quotes stand for one).
  std::vector<std::string> parts(1);
  bool quoted = false;
  for (size_t i = 0; i < name.size(); ++i) {
    char c = name[i];
    if (c == '"') {
      if (quoted && i + 1 < name.size() && name[i + 1] == '"') {
        parts.back().push_back('"');
        ++i;
      } else {
        quoted = !quoted;
      }
    } else if (c == '.' && !quoted && parts.size() == 1) {
      parts.emplace_back();
    } else {
      parts.back().push_back(c);
    }
  }
  if (parts.size() == 1) return {"public", parts[0]};
  return {parts[0], parts[1]};
}

std::string sqlstate(const PGresult* r) {
  const char* s = r ? PQresultErrorField(r, PG_DIAG_SQLSTATE) : nullptr;
  return s ? s : "";
}

std::string database_of(const std::string& url_or_conninfo) {
  const std::string info = conninfo(url_or_conninfo);
  if (!info.empty()) {
    try {
      ConninfoOptions opts = parse_conninfo(info, kExitConfig, "--dbname");
      for (PQconninfoOption* o = opts.get(); o->keyword; ++o)
        if (std::string_view(o->keyword) == "dbname" && o->val && *o->val) return o->val;
    } catch (const Error&) {
      return "";
    }
  }
  for (const char* env : {"PGDATABASE", "PGUSER", "USER"})
    if (const char* v = std::getenv(env); v && *v) return v;
  return "";
}

}  // namespace ss::pg
