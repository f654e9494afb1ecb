# shellcheck shell=bash
# Throwaway servers for tests and benchmarks: PostgreSQL 15, redis-server and Apache Kafka (or the mock), each on a free
# loopback port in its own temp dir, polled for readiness, and stopped by ss_stop_all. Usable from bats
# (`load ../helpers/servers`) and from plain bash (`source tests/helpers/servers.bash`). API: HACKING.md.

# Every test file may use run flags (--separate-stderr, ! ).
command -v bats_require_minimum_version >/dev/null && bats_require_minimum_version 1.5.0

SS_ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)"
case ":$PATH:" in
*":$SS_ROOT/build/bin:"*) ;;
*) export PATH="$SS_ROOT/build/bin:$SS_ROOT/build/test-bin:$PATH" ;;
esac
# SS_PG_VERSION=15|16|17|18: the PostgreSQL server tests start. 15 is Debian's; 16 to 18 are the pinned builds
# tests/peers/fetch-postgres.sh keeps (make deps fetches them). Clients (psql, pg_dump) stay Debian's 15.
: "${SS_PG_VERSION:=15}"
export SS_PG_VERSION
if [ -z "${PG_BIN:-}" ]; then
  if [ "$SS_PG_VERSION" = 15 ]; then
    PG_BIN=/usr/lib/postgresql/15/bin
  else
    PG_BIN=$("$SS_ROOT/tests/peers/fetch-postgres.sh" --bin "$SS_PG_VERSION") || return 1
  fi
fi
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

_ss_pg_ctl() { _ss_pg_ctl_dir "$SS_PG_DIR" "$@"; }
_ss_pg_ctl_dir() { # _ss_pg_ctl_dir DIR ARGS...
  local dir=$1
  shift
  # pg_ctl -w polls for readiness itself.
  _ss_as_postgres "$PG_BIN/pg_ctl" -D "$dir/data" -l "$dir/server.log" -w -t 60 "$@" >/dev/null 3>&- ||
    {
      tail -20 "$dir/server.log" >&2
      return 1
    }
}

# A streaming standby of the primary ss_start_postgres started, from a cold copy of its data directory (the primary
# is stopped for the copy and started again): primary_conninfo with a dbname (17's slot synchronization needs one),
# the physical slot ss_standby, hot_standby_feedback, and any extra settings given as arguments. Returns once the
# primary sees it streaming. Sets SS_STANDBY_DIR, SS_STANDBY_PORT (SS_STANDBY_WANT_PORT when set: a failed primary's,
# so that a conninfo naming both servers names the rebuilt one) and SS_STANDBY_URL. A promoted standby that
# ss_standby_takes_over made the primary keeps the slot ss_standby it was copied with, and serves it.
ss_start_standby() {
  psql -XAtq -c "select pg_create_physical_replication_slot('ss_standby') where not exists
    (select from pg_replication_slots where slot_name = 'ss_standby')" >/dev/null
  _ss_pg_ctl -m fast stop
  SS_STANDBY_DIR=$(mktemp -d /tmp/ss-pg.XXXXXX)
  cp -a "$SS_PG_DIR/data" "$SS_STANDBY_DIR/data"
  rm -f "$SS_STANDBY_DIR/data/postmaster.pid"
  [ "$(id -u)" = 0 ] && chown -R postgres: "$SS_STANDBY_DIR"
  SS_STANDBY_PORT=${SS_STANDBY_WANT_PORT:-$(ss_free_port)}
  {
    echo "port = $SS_STANDBY_PORT"
    echo "unix_socket_directories = '$SS_STANDBY_DIR'"
    echo "primary_conninfo = 'host=127.0.0.1 port=$PGPORT user=postgres dbname=postgres application_name=ss_standby'"
    echo "primary_slot_name = 'ss_standby'"
    echo "hot_standby_feedback = on"
    local kv
    for kv in "$@"; do echo "$kv"; done
  } >>"$SS_STANDBY_DIR/data/postgresql.conf"
  _ss_as_postgres touch "$SS_STANDBY_DIR/data/standby.signal"
  export SS_STANDBY_DIR SS_STANDBY_PORT SS_STANDBY_URL="postgresql://postgres@127.0.0.1:$SS_STANDBY_PORT/postgres"
  _ss_register postgres "$SS_STANDBY_DIR"
  _ss_pg_ctl start
  _ss_pg_ctl_dir "$SS_STANDBY_DIR" start
  ss_wait_for _ss_standby_streaming
}
_ss_standby_streaming() {
  [ "$(psql -XAtq -c "select state from pg_stat_replication where application_name = 'ss_standby'")" = streaming ]
}

# The standby becomes a primary (pg_ctl promote waits for it).
ss_promote_standby() { _ss_pg_ctl_dir "$SS_STANDBY_DIR" promote; }

# After ss_kill_primary and ss_promote_standby: the promoted standby is the primary the helpers (and psql) talk to,
# and the dead one's directory is gone. SS_OLD_PRIMARY_PORT is its port, for ss_start_standby to rebuild a standby on.
ss_standby_takes_over() {
  SS_OLD_PRIMARY_PORT=$PGPORT
  _ss_stop_postgres_dir "$SS_PG_DIR"
  SS_PG_DIR=$SS_STANDBY_DIR
  export SS_PG_DIR PGHOST="$SS_STANDBY_DIR" PGPORT="$SS_STANDBY_PORT" SS_PG_URL="$SS_STANDBY_URL" SS_OLD_PRIMARY_PORT
  unset SS_STANDBY_DIR SS_STANDBY_PORT SS_STANDBY_URL
}

# The primary dies as a crash would kill it: SIGKILL to the postmaster (its backends exit when they notice).
ss_kill_primary() { kill -9 "$(head -1 "$SS_PG_DIR/data/postmaster.pid")"; }

ss_restart_postgres() { _ss_pg_ctl -m fast restart; }

ss_stop_postgres() {
  [ -n "${SS_PG_DIR:-}" ] || return 0
  _ss_stop_postgres_dir "$SS_PG_DIR"
}

_ss_stop_postgres_dir() {
  local dir=$1
  if [ -f "$dir/data/postmaster.pid" ]; then
    _ss_as_postgres "$PG_BIN/pg_ctl" -D "$dir/data" -m immediate -w -t 30 stop >/dev/null 2>&1 3>&- || true
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

# ---- Apache Kafka (KRaft) ----------------------------------------------------------------------------------------
# The real broker, fetched by `make deps` (tests/peers/fetch-kafka.sh). Each node is a combined broker+controller JVM
# with its own config, data dir and log under $SS_KAFKA_DIR/nodeID.
ss_kafka_home() { "$SS_ROOT/tests/peers/fetch-kafka.sh" --home; }

# ss_kafka_tool NAME ARGS...: one of Kafka's own command-line tools, quiet but for warnings on stderr.
ss_kafka_tool() {
  local name=$1 cls home
  shift
  case $name in
  console-consumer) cls=org.apache.kafka.tools.consumer.ConsoleConsumer ;;
  console-producer) cls=org.apache.kafka.tools.ConsoleProducer ;;
  producer-perf-test) cls=org.apache.kafka.tools.ProducerPerformance ;;
  consumer-perf-test) cls=org.apache.kafka.tools.ConsumerPerformance ;;
  configs) cls=org.apache.kafka.tools.ConfigCommand ;;
  topics) cls=org.apache.kafka.tools.TopicCommand ;;
  get-offsets) cls=org.apache.kafka.tools.GetOffsetShell ;;
  transactions) cls=org.apache.kafka.tools.TransactionsCommand ;;
  storage) cls=kafka.tools.StorageTool ;;
  *)
    echo "ss_kafka_tool: unknown tool $name" >&2
    return 64
    ;;
  esac
  home=$(ss_kafka_home)
  java -Xms64m -Xmx512m -XX:+UseSerialGC -XX:TieredStopAtLevel=1 -Dlog4j2.configurationFile="$home/tool-log4j2.properties" \
    -cp "$home/libs/*" "$cls" "$@"
}

# ss_kafka_positions TOPIC: the position header of each message in TOPIC, one per line, as Kafka's own console
# consumer reads them with read_committed from the start to the end: an independent count of what ss-archive wrote.
ss_kafka_positions() {
  ss_kafka_tool console-consumer --bootstrap-server "$KAFKA_BROKERS" --topic "$1" --from-beginning \
    --isolation-level read_committed --timeout-ms 10000 --formatter-property print.headers=true \
    --formatter-property print.value=false 2>/dev/null | grep -o 'position:[^,]*'
}

# ss_start_kafka [--nodes N] [--partitions N] [--topic NAME[:PARTITIONS]]... [--config KEY=VALUE]...
#                [--topic-config KEY=VALUE]...
# One node (default) or a cluster of N. Replication factor min(N,3); with 3 or more nodes min.insync.replicas=2.
# --config goes into every node's server.properties; --topic-config into every topic --topic creates (partition count
# --partitions unless NAME:PARTITIONS says otherwise). Exports KAFKA_BROKERS once every node is up and the topics
# exist.
ss_start_kafka() {
  local nodes=1 partitions=1 topics=() configs=() topic_configs=()
  while (($#)); do
    case $1 in
    --nodes) nodes=$2 && shift 2 ;;
    --partitions) partitions=$2 && shift 2 ;;
    --topic) topics+=("$2") && shift 2 ;;
    --config) configs+=("$2") && shift 2 ;;
    --topic-config) topic_configs+=("$2") && shift 2 ;;
    *)
      echo "ss_start_kafka: unknown option $1" >&2
      return 64
      ;;
    esac
  done
  local home
  home=$(ss_kafka_home)
  [ -f "$home/complete" ] || {
    echo "ss_start_kafka: Apache Kafka is not fetched ($home); run make deps" >&2
    return 69
  }
  SS_KAFKA_DIR=$(mktemp -d /tmp/ss-kafka.XXXXXX)
  export SS_KAFKA_DIR
  _ss_register kafka "$SS_KAFKA_DIR"
  local rf=$((nodes < 3 ? nodes : 3)) isr=1 id voters="" brokers="" cluster
  ((nodes >= 3)) && isr=2
  for ((id = 1; id <= nodes; id++)); do
    mkdir -p "$SS_KAFKA_DIR/node$id"
    ss_free_port >"$SS_KAFKA_DIR/node$id/port"
    ss_free_port >"$SS_KAFKA_DIR/node$id/cport"
    voters+="${voters:+,}$id@127.0.0.1:$(cat "$SS_KAFKA_DIR/node$id/cport")"
    brokers+="${brokers:+,}127.0.0.1:$(cat "$SS_KAFKA_DIR/node$id/port")"
  done
  # (--cluster-id=: an id may begin with "-".)
  cluster=$(python3 -c 'import base64,uuid; print(base64.urlsafe_b64encode(uuid.uuid4().bytes).decode().rstrip("="))')
  for ((id = 1; id <= nodes; id++)); do
    local d="$SS_KAFKA_DIR/node$id"
    {
      echo "process.roles=broker,controller"
      echo "node.id=$id"
      echo "controller.quorum.voters=$voters"
      echo "listeners=PLAINTEXT://127.0.0.1:$(cat "$d/port"),CONTROLLER://127.0.0.1:$(cat "$d/cport")"
      echo "advertised.listeners=PLAINTEXT://127.0.0.1:$(cat "$d/port")"
      echo "controller.listener.names=CONTROLLER"
      echo "inter.broker.listener.name=PLAINTEXT"
      echo "listener.security.protocol.map=PLAINTEXT:PLAINTEXT,CONTROLLER:PLAINTEXT"
      echo "log.dirs=$d/data"
      echo "default.replication.factor=$rf"
      echo "min.insync.replicas=$isr"
      echo "offsets.topic.replication.factor=$rf"
      echo "transaction.state.log.replication.factor=$rf"
      echo "transaction.state.log.min.isr=$isr"
      echo "share.coordinator.state.topic.replication.factor=$rf"
      echo "share.coordinator.state.topic.min.isr=$isr"
      # Few internal partitions: each is files and a leader election at start, and tests have few groups.
      echo "offsets.topic.num.partitions=4"
      echo "transaction.state.log.num.partitions=4"
      echo "group.initial.rebalance.delay.ms=0"
      # Test records carry commit times of their own, often weeks old: time-based retention would delete them as
      # soon as they land. Tests of retention set it per topic.
      echo "log.retention.ms=-1"
      local kv
      for kv in "${configs[@]}"; do echo "$kv"; done
    } >"$d/server.properties"
  done
  # Formatting is a JVM start per node: in parallel.
  local pids=()
  for ((id = 1; id <= nodes; id++)); do
    ss_kafka_tool storage format --cluster-id="$cluster" -c "$SS_KAFKA_DIR/node$id/server.properties" \
      >"$SS_KAFKA_DIR/node$id/format.log" 2>&1 &
    pids+=($!)
  done
  for id in "${pids[@]}"; do
    wait "$id" || {
      cat "$SS_KAFKA_DIR"/node*/format.log >&2
      return 1
    }
  done
  for ((id = 1; id <= nodes; id++)); do _ss_kafka_launch "$id"; done
  KAFKA_BROKERS=$brokers
  export KAFKA_BROKERS
  echo "$nodes" >"$SS_KAFKA_DIR/nodes"
  ss_wait_for _ss_kafka_brokers_up "$nodes" || {
    tail -30 "$SS_KAFKA_DIR"/node*/server.log >&2
    return 1
  }
  local t name n args=()
  for kv in "${topic_configs[@]}"; do args+=(--config "$kv"); done
  for t in "${topics[@]}"; do
    name=${t%:*} n=$partitions
    [ "$name" != "$t" ] && n=${t##*:}
    ss-kafka-topic "$name" --partitions "$n" "${args[@]}" || return 1
  done
}

# Brokers the cluster's metadata lists (kcat asks any one that answers).
_ss_kafka_brokers_up() {
  [ "$(kcat -b "$KAFKA_BROKERS" -L -m 2 2>/dev/null | sed -n 's/^ *\([0-9]*\) brokers:$/\1/p')" = "$1" ]
}

_ss_kafka_launch() {
  local id=$1 home d="$SS_KAFKA_DIR/node$1"
  home=$(ss_kafka_home)
  # SerialGC and a small heap: two cores shared with PostgreSQL, Redis and the tools under test.
  java -Xms256m -Xmx1g -XX:+UseSerialGC -Djava.awt.headless=true \
    -Dlog4j2.configurationFile="$home/broker-log4j2.properties" -Dss.log="$d/server.log" \
    -cp "$home/libs/*" kafka.Kafka "$d/server.properties" >>"$d/stdout.log" 2>&1 3>&- &
  echo $! >"$d/pid"
  disown $!
}

# ss_kafka_node kill|stop|start ID: kill -9, stop (SIGTERM, controlled shutdown) or start again one node of the
# cluster, on its ports and data. start waits until the node answers metadata requests again.
ss_kafka_node() {
  local d="$SS_KAFKA_DIR/node$2"
  case $1 in
  kill) _ss_stop_pid "$(cat "$d/pid")" KILL ;;
  stop) _ss_stop_pid "$(cat "$d/pid")" ;;
  start)
    _ss_kafka_launch "$2"
    ss_wait_for kcat -b "127.0.0.1:$(cat "$d/port")" -L -m 2 || return 1
    ;;
  *)
    echo "ss_kafka_node: kill|stop|start ID" >&2
    return 64
    ;;
  esac
}

# ss_kafka_leader TOPIC PARTITION: the node id leading that partition now.
ss_kafka_leader() {
  kcat -b "$KAFKA_BROKERS" -L -t "$1" -m 5 2>/dev/null | sed -n "s/^ *partition $2, leader \([0-9-]*\),.*/\1/p"
}

ss_stop_kafka() {
  [ -n "${SS_KAFKA_DIR:-}" ] || return 0
  _ss_stop_kafka_dir "$SS_KAFKA_DIR"
}

# Throwaway data: no controlled shutdown to wait for.
_ss_stop_kafka_dir() {
  local dir=$1 p
  for p in "$dir"/node*/pid; do
    [ -f "$p" ] && _ss_stop_pid "$(cat "$p")" KILL
  done
  rm -rf "$dir"
}

# ---- Kafka test broker (librdkafka mock cluster) ---------------------------------------------------------------
# Only for faults a real broker cannot be made to produce on cue (injected Produce/EndTxn errors): each test that
# uses it says why. ss_start_kafka_mock [ss-test-broker options...], e.g. --partitions 4 --topic NAME
ss_start_kafka_mock() {
  SS_KAFKA_DIR=$(mktemp -d /tmp/ss-kafka.XXXXXX)
  export SS_KAFKA_DIR
  mkfifo "$SS_KAFKA_DIR/ctl"
  # A writer that never writes keeps the control FIFO open, so the broker sees EOF only when we stop it.
  sleep 1000000 >"$SS_KAFKA_DIR/ctl" 3>&- &
  echo $! >"$SS_KAFKA_DIR/holder.pid"
  ss-test-broker "$@" <"$SS_KAFKA_DIR/ctl" >"$SS_KAFKA_DIR/out" 2>"$SS_KAFKA_DIR/server.log" 3>&- &
  echo $! >"$SS_KAFKA_DIR/pid"
  _ss_register kafka-mock "$SS_KAFKA_DIR"
  ss_wait_for grep -q '^BOOTSTRAP ' "$SS_KAFKA_DIR/out" || {
    cat "$SS_KAFKA_DIR/server.log" >&2
    return 1
  }
  KAFKA_BROKERS=$(sed -n 's/^BOOTSTRAP //p' "$SS_KAFKA_DIR/out" | head -1)
  export KAFKA_BROKERS
}

# ss_kafka_ctl CMD...: one control command to the mock (down ID | up ID | errors APIKEY ERRCODE COUNT | topic NAME
# PARTITIONS); waits for the broker's answer and fails unless it is OK.
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

ss_stop_kafka_mock() {
  [ -n "${SS_KAFKA_DIR:-}" ] || return 0
  _ss_stop_kafka_mock_dir "$SS_KAFKA_DIR"
}

_ss_stop_kafka_mock_dir() {
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
    kafka-mock) _ss_stop_kafka_mock_dir "$dir" ;;
    esac
  done <"$SS_REGISTRY"
  rm -f "$SS_REGISTRY"
}
