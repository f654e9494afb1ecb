# shellcheck shell=bash
# Throwaway servers for tests and benchmarks: PostgreSQL 15, redis-server and the Kafka test broker, each on a free
# loopback port in its own temp dir, polled for readiness, and stopped by ss_stop_all. Usable from bats
# (`load ../helpers/servers`) and from plain bash (`source tests/helpers/servers.bash`). API: HACKING.md.

# Every test file may use run flags (--separate-stderr, ! ).
command -v bats_require_minimum_version >/dev/null && bats_require_minimum_version 1.5.0

SS_ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)"
case ":$PATH:" in
*":$SS_ROOT/build/bin:"*) ;;
*) export PATH="$SS_ROOT/build/bin:$SS_ROOT/build/test-bin:$PATH" ;;
esac
PG_BIN=${PG_BIN:-/usr/lib/postgresql/15/bin}
: "${SS_WAIT_TIMEOUT:=30}"

# Every server started is recorded here so ss_stop_all can stop it, even when it was started inside a bats test
# (a subprocess) and stopped from teardown_file (another one).
if [ -z "${SS_REGISTRY:-}" ]; then
  if [ -n "${BATS_FILE_TMPDIR:-}" ]; then
    SS_REGISTRY="$BATS_FILE_TMPDIR/ss-servers"
  else
    SS_REGISTRY="$(mktemp -d /tmp/ss-registry.XXXXXX)/ss-servers"
  fi
  export SS_REGISTRY
fi

ss_free_port() {
  python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1]); s.close()'
}

# ss_stop_expect PID STATUS: SIGTERM to PID (a background job of this shell), whose exit status must be STATUS.
ss_stop_expect() {
  local st=0
  kill -TERM "$1"
  wait "$1" || st=$?
  [ "$st" -eq "$2" ]
}

# ss_wait_for CMD...: polls CMD until it succeeds; fails after SS_WAIT_TIMEOUT seconds.
ss_wait_for() {
  local deadline=$((SECONDS + SS_WAIT_TIMEOUT))
  until "$@" >/dev/null 2>&1; do
    if ((SECONDS >= deadline)); then
      echo "timed out after ${SS_WAIT_TIMEOUT}s waiting for: $*" >&2
      return 1
    fi
    sleep 0.05
  done
}

_ss_as_postgres() {
  if [ "$(id -u)" = 0 ]; then
    runuser -u postgres -- "$@"
  else
    "$@"
  fi
}

_ss_register() { echo "$*" >>"$SS_REGISTRY"; }

# ---- PostgreSQL ------------------------------------------------------------------------------------------------
# ss_start_postgres [name=value ...]: extra postgresql.conf settings.
ss_start_postgres() {
  SS_PG_DIR=$(mktemp -d /tmp/ss-pg.XXXXXX)
  [ "$(id -u)" = 0 ] && chown postgres: "$SS_PG_DIR"
  local port
  port=$(ss_free_port)
  _ss_as_postgres "$PG_BIN/initdb" -D "$SS_PG_DIR/data" -A trust -U postgres -E UTF8 --no-sync >"$SS_PG_DIR/initdb.log" 2>&1 ||
    {
      cat "$SS_PG_DIR/initdb.log" >&2
      return 1
    }
  {
    echo "port = $port"
    echo "listen_addresses = '127.0.0.1'"
    echo "unix_socket_directories = '$SS_PG_DIR'"
    echo "wal_level = logical"
    echo "max_replication_slots = 20"
    echo "max_wal_senders = 20"
    # Throwaway data: durability against an OS crash is not what these tests measure.
    echo "fsync = off"
    echo "full_page_writes = off"
    local kv
    for kv in "$@"; do echo "$kv"; done
  } >>"$SS_PG_DIR/data/postgresql.conf"
  export PGHOST="$SS_PG_DIR" PGPORT="$port" PGUSER=postgres PGDATABASE=postgres SS_PG_DIR
  export SS_PG_URL="postgresql://postgres@127.0.0.1:$port/postgres"
  _ss_register postgres "$SS_PG_DIR"
  _ss_pg_ctl start
}

_ss_pg_ctl() {
  # pg_ctl -w polls for readiness itself.
  _ss_as_postgres "$PG_BIN/pg_ctl" -D "$SS_PG_DIR/data" -l "$SS_PG_DIR/server.log" -w -t 60 "$@" >/dev/null 3>&- ||
    {
      tail -20 "$SS_PG_DIR/server.log" >&2
      return 1
    }
}

ss_restart_postgres() { _ss_pg_ctl -m fast restart; }

ss_stop_postgres() {
  [ -n "${SS_PG_DIR:-}" ] || return 0
  _ss_stop_postgres_dir "$SS_PG_DIR"
}

_ss_stop_postgres_dir() {
  local dir=$1
  if [ -f "$dir/data/postmaster.pid" ]; then
    _ss_as_postgres "$PG_BIN/pg_ctl" -D "$dir/data" -m immediate -w -t 30 stop >/dev/null 2>&1 3>&-
  fi
  rm -rf "$dir"
}

# ---- Redis -----------------------------------------------------------------------------------------------------
# ss_start_redis [redis-server options...], e.g. ss_start_redis --appendonly yes --appendfsync always
ss_start_redis() {
  SS_REDIS_DIR=$(mktemp -d /tmp/ss-redis.XXXXXX)
  SS_REDIS_PORT=$(ss_free_port)
  export SS_REDIS_DIR SS_REDIS_PORT REDIS_URL="redis://127.0.0.1:$SS_REDIS_PORT"
  : >"$SS_REDIS_DIR/args"
  (($#)) && printf '%s\n' "$@" >"$SS_REDIS_DIR/args"
  _ss_launch_redis
}

_ss_launch_redis() {
  local args=()
  mapfile -t args <"$SS_REDIS_DIR/args"
  redis-server --port "$SS_REDIS_PORT" --bind 127.0.0.1 --save '' --appendonly no --dir "$SS_REDIS_DIR" \
    --daemonize no "${args[@]}" >>"$SS_REDIS_DIR/server.log" 2>&1 3>&- &
  echo $! >"$SS_REDIS_DIR/pid"
  disown $! # stopped by pid; no job-control "Killed" noise when a test kills it
  _ss_register redis "$SS_REDIS_DIR"
  ss_wait_for _ss_redis_ready
}

_ss_redis_ready() { [ "$(redis-cli -p "$SS_REDIS_PORT" ping 2>/dev/null)" = PONG ]; }

_ss_stop_pid() {
  local pid=$1 sig=${2:-TERM}
  kill -"$sig" "$pid" 2>/dev/null || return 0
  local deadline=$((SECONDS + 20))
  while kill -0 "$pid" 2>/dev/null; do
    if ((SECONDS >= deadline)); then
      kill -KILL "$pid" 2>/dev/null
      break
    fi
    sleep 0.05
  done
}

# ss_restart_redis [--kill]: stop (SIGTERM, or SIGKILL with --kill) and start again on the same port and dir.
ss_restart_redis() {
  local sig=TERM
  [ "${1:-}" = --kill ] && sig=KILL
  _ss_stop_pid "$(cat "$SS_REDIS_DIR/pid")" "$sig"
  _ss_launch_redis
}

ss_stop_redis() {
  [ -n "${SS_REDIS_DIR:-}" ] || return 0
  _ss_stop_redis_dir "$SS_REDIS_DIR"
}

_ss_stop_redis_dir() {
  local dir=$1
  [ -f "$dir/pid" ] && _ss_stop_pid "$(cat "$dir/pid")"
  rm -rf "$dir"
}

# ---- Kafka test broker (librdkafka mock cluster) ---------------------------------------------------------------
# ss_start_kafka [ss-test-broker options...], e.g. ss_start_kafka --partitions 64 --topic shadowstream.archive
ss_start_kafka() {
  SS_KAFKA_DIR=$(mktemp -d /tmp/ss-kafka.XXXXXX)
  export SS_KAFKA_DIR
  mkfifo "$SS_KAFKA_DIR/ctl"
  # A writer that never writes keeps the control FIFO open, so the broker sees EOF only when we stop it.
  sleep 1000000 >"$SS_KAFKA_DIR/ctl" 3>&- &
  echo $! >"$SS_KAFKA_DIR/holder.pid"
  ss-test-broker "$@" <"$SS_KAFKA_DIR/ctl" >"$SS_KAFKA_DIR/out" 2>"$SS_KAFKA_DIR/server.log" 3>&- &
  echo $! >"$SS_KAFKA_DIR/pid"
  _ss_register kafka "$SS_KAFKA_DIR"
  ss_wait_for grep -q '^BOOTSTRAP ' "$SS_KAFKA_DIR/out" || {
    cat "$SS_KAFKA_DIR/server.log" >&2
    return 1
  }
  KAFKA_BROKERS=$(sed -n 's/^BOOTSTRAP //p' "$SS_KAFKA_DIR/out" | head -1)
  export KAFKA_BROKERS
}

# ss_kafka_ctl CMD...: one control command (down ID | up ID | errors APIKEY ERRCODE COUNT | topic NAME PARTITIONS);
# waits for the broker's answer and fails unless it is OK.
ss_kafka_ctl() {
  local before
  before=$(_ss_kafka_answers)
  echo "$*" >"$SS_KAFKA_DIR/ctl"
  # The count is re-read on every poll (a $(...) argument to ss_wait_for would be evaluated only once).
  ss_wait_for _ss_kafka_answered_after "$before" || return 1
  grep -E '^(OK|ERR)' "$SS_KAFKA_DIR/out" | tail -1 | grep -q '^OK'
}
_ss_kafka_answers() { grep -cE '^(OK|ERR)' "$SS_KAFKA_DIR/out" || true; }
_ss_kafka_answered_after() { [ "$(_ss_kafka_answers)" -gt "$1" ]; }

ss_stop_kafka() {
  [ -n "${SS_KAFKA_DIR:-}" ] || return 0
  _ss_stop_kafka_dir "$SS_KAFKA_DIR"
}

_ss_stop_kafka_dir() {
  local dir=$1
  [ -f "$dir/holder.pid" ] && _ss_stop_pid "$(cat "$dir/holder.pid")"
  [ -f "$dir/pid" ] && _ss_stop_pid "$(cat "$dir/pid")"
  rm -rf "$dir"
}

# ---- all -------------------------------------------------------------------------------------------------------
# ss_kill_jobs: kill -9 what a test left running in the background, so a failed assertion cannot leave a tool
# retrying a vanished server forever. Call it from teardown.
ss_kill_jobs() {
  local j
  for j in $(jobs -p); do kill -9 "$j" 2>/dev/null || true; done
}

ss_stop_all() {
  [ -f "$SS_REGISTRY" ] || return 0
  local kind dir
  while read -r kind dir; do
    [ -d "$dir" ] || continue
    case $kind in
    postgres) _ss_stop_postgres_dir "$dir" ;;
    redis) _ss_stop_redis_dir "$dir" ;;
    kafka) _ss_stop_kafka_dir "$dir" ;;
    esac
  done <"$SS_REGISTRY"
  rm -f "$SS_REGISTRY"
}
