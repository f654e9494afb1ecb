// A replay server's checks of a target a client names: a conninfo the server will connect to with its own
// credentials (PGPASSWORD, ~/.pgpass), so it may choose only where to connect, and only where --allow-target says.
#pragma once

#include <string>
#include <vector>

namespace ss::pg {

// Error(64) when `target` is not a conninfo or postgres:// URI, or carries a password.
void check_target_form(const std::string& target);

// Error(64) unless `target` sets only dbname, user, host, hostaddr, port and harmless options, and every host it
// names, in `host` and in `hostaddr` alike (libpq connects to hostaddr but looks up the password for host), matches a
// pattern of `allow` ("HOST[:PORT][/DB]", fnmatch wildcards that never span a '/', ':' or the parts). A Unix-socket
// directory (a host starting with '/') matches only a pattern that names a path. A target naming no host and no
// port is the server's own PGHOST/PGPORT and always allowed.
void check_target(const std::string& target, const std::vector<std::string>& allow);

}  // namespace ss::pg
