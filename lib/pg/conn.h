// RAII for libpq handles, and the one place conninfo is assembled from flags and environment.
#pragma once

#include <libpq-fe.h>

#include <memory>
#include <string>
#include <utility>

namespace ss::pg {

struct ConnDeleter {
  void operator()(PGconn* c) const { PQfinish(c); }
};
struct ResultDeleter {
  void operator()(PGresult* r) const { PQclear(r); }
};
using Conn = std::unique_ptr<PGconn, ConnDeleter>;
using Result = std::unique_ptr<PGresult, ResultDeleter>;
// What libpq hands over to be freed with PQfreemem (a COPY row, an escaped string).
struct FreememDeleter {
  void operator()(char* p) const { PQfreemem(p); }
};
using Buffer = std::unique_ptr<char, FreememDeleter>;
struct ConninfoDeleter {
  void operator()(PQconninfoOption* o) const { PQconninfoFree(o); }
};
using ConninfoOptions = std::unique_ptr<PQconninfoOption, ConninfoDeleter>;

// A conninfo or URI parsed as libpq parses it; one it refuses is Error(`code`) "`what`: libpq's reason" (redacted:
// libpq repeats a malformed URI whole).
ConninfoOptions parse_conninfo(const std::string& url_or_conninfo, int code, const std::string& what);

// Conninfo for `url_or_conninfo` (a postgres:// URI or key=value string; empty = libpq's PG* defaults). The seed's
// PG_HOST / PG_USER / PG_PASSWORD are honoured by copying them to PGHOST / PGUSER / PGPASSWORD when those are unset,
// so passwords never need to be on a command line.
std::string conninfo(const std::string& url_or_conninfo);

// The database a connection with `url_or_conninfo` would reach, as libpq picks it (its dbname, else PGDATABASE,
// else the user name), known before connecting; "" when the conninfo cannot say (the connection will say why).
std::string database_of(const std::string& url_or_conninfo);

// Connects (replication = "database" for a logical replication connection, "" for a normal one). Throws
// Error(69) with libpq's message (which never contains the password) when the server cannot be reached, Error(78)
// for a malformed conninfo.
Conn connect(const std::string& url_or_conninfo, const std::string& replication = "");

// Runs a statement; throws Error(69) on a lost connection, Error(65)-free: any other failure is Error(70) unless
// `ok_status` matches. Returns the result for inspection.
Result exec(PGconn* c, const std::string& sql, ExecStatusType ok_status = PGRES_TUPLES_OK);
Result exec_command(PGconn* c, const std::string& sql);  // PGRES_COMMAND_OK

// PQerrorMessage / PQresultErrorMessage folded onto one line (libpq's messages span several: ERROR, DETAIL, HINT).
std::string error_text(PGconn* c);
std::string error_text(const PGresult* r);
// The SQLSTATE of a failed result ("" when there is none), for telling one failure from another.
std::string sqlstate(const PGresult* r);

// Quotes an identifier / literal with libpq's escaping.
std::string quote_ident(PGconn* c, const std::string& ident);
std::string quote_literal(PGconn* c, const std::string& value);

// Splits "schema.table" (quotes allowed: "My Schema"."T") into its parts; schema defaults to public.
std::pair<std::string, std::string> split_table_name(const std::string& name);

}  // namespace ss::pg
