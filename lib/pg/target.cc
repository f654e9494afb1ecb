#include "pg/target.h"

#include <fnmatch.h>
#include <libpq-fe.h>

#include <algorithm>
#include <cstring>
#include <iterator>
#include <memory>
#include <string_view>

#include "core/cli.h"
#include "core/error.h"
#include "pg/conn.h"

namespace ss::pg {

namespace {

using Options = ConninfoOptions;

Options parse(const std::string& target) {
  return parse_conninfo(target, kExitUsage, "target");
}

std::vector<std::string> split_hosts(const std::string& list) {
  std::vector<std::string> out;
  for (size_t at = 0;;) {
    size_t comma = list.find(',', at);
    out.push_back(list.substr(at, comma == std::string::npos ? std::string::npos : comma - at));
    if (comma == std::string::npos) return out;
    at = comma + 1;
  }
}

bool matches(const std::string& pattern, const std::string& host, const std::string& port, const std::string& dbname) {
  // HOST[:PORT][/DB], each part matched on its own: a wildcard never spans a ':' or '/' of the target (a dbname
  // "x.internal:1/y" must not make evil.com match "*.internal"). A pattern for a socket directory is a path, whose
  // database follows a "//" ("/run/pg//shadow*").
  std::string hp = pattern, pp = "*", dp = "*";
  const bool path = !hp.empty() && hp[0] == '/';
  if (size_t slash = path ? hp.find("//") : hp.find('/'); slash != std::string::npos) {
    dp = hp.substr(slash + (path ? 2 : 1));
    hp.resize(slash);
  }
  if (size_t colon = hp.rfind(':'); colon != std::string::npos && hp.find(']') == std::string::npos) {
    pp = hp.substr(colon + 1);
    hp.resize(colon);
  }
  const bool socket = !host.empty() && host[0] == '/';
  if (socket != path) return false;  // "*.trusted" never matches a directory anyone may create
  return fnmatch(hp.c_str(), host.c_str(), FNM_PATHNAME) == 0 && fnmatch(pp.c_str(), port.c_str(), 0) == 0 &&
         fnmatch(dp.c_str(), dbname.c_str(), FNM_PATHNAME) == 0;
}

}  // namespace

void check_target_form(const std::string& target) {
  Options opts = parse(target);
  for (PQconninfoOption* o = opts.get(); o->keyword; ++o)
    if (std::strcmp(o->keyword, "password") == 0 && o->val && *o->val)
      throw Error(kExitUsage, "target must not carry a password: the server uses its own PGPASSWORD or ~/.pgpass");
}

void check_target(const std::string& target, const std::vector<std::string>& allow) {
  Options opts = parse(target);
  // Only keywords that choose what to connect to; the rest (passfile, sslkey, service, ...) would make the server
  // read files or settings a client names.
  static const char* const kClientKeys[] = {"dbname",          "user",    "host",
                                            "hostaddr",        "port",    "application_name",
                                            "connect_timeout", "sslmode", "target_session_attrs"};
  std::string host, hostaddr, port, dbname;
  for (PQconninfoOption* o = opts.get(); o->keyword; ++o) {
    if (!o->val || !*o->val) continue;
    std::string_view k = o->keyword;
    if (std::find(std::begin(kClientKeys), std::end(kClientKeys), k) == std::end(kClientKeys))
      throw Error(kExitUsage,
                  "target may not set " + std::string(k) + " (a job chooses only dbname, user, host and port)");
    if (k == "host") host = o->val;
    if (k == "hostaddr") hostaddr = o->val;
    if (k == "port") port = o->val;
    if (k == "dbname") dbname = o->val;
  }
  if (host.empty() && hostaddr.empty() && port.empty()) return;  // the server's own PGHOST and PGPORT
  if (host.empty() && hostaddr.empty()) host = env_or("PGHOST", "localhost");
  if (port.empty()) port = env_or("PGPORT", "5432");
  // Every host-like value must be allowed: several hosts ("h1,h2") each, and host beside hostaddr both.
  std::vector<std::string> hosts;
  for (const std::string* list : {&host, &hostaddr})
    if (!list->empty())
      for (std::string& h : split_hosts(*list)) hosts.push_back(std::move(h));
  for (const std::string& h : hosts)
    if (std::none_of(allow.begin(), allow.end(), [&](const std::string& p) { return matches(p, h, port, dbname); }))
      throw Error(kExitUsage, "target " + h + ":" + port + "/" + dbname +
                                  " is not allowed: the server sends its credentials only where --allow-target says");
}

}  // namespace ss::pg
