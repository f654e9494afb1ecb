#!/usr/bin/env bats
# Failover: the supervised pipeline archives a pgbench workload into a three-node Apache Kafka cluster (replication
# factor 3, min.insync.replicas=2) while the leader of the archive's partitions and the archiver's transaction
# coordinator are killed -9 and restarted, several times each, and then one node is stopped for good. Every
# committed change must be archived exactly once, as Kafka's own console consumer (read_committed) and PostgreSQL's
# test_decoding on a slot of its own both tell, and the pipeline must never stop for good.

load ../helpers/servers
load ../helpers/oracle

setup_file() {
  ss_start_postgres "max_wal_senders = 10" "max_replication_slots = 10"
  ss_start_redis --appendonly yes --appendfsync always
  ss_start_kafka --nodes 3 --partitions 4 --topic shadowstream.archive
}

teardown_file() { ss_stop_all; }

teardown() {
  # A failed run shows what the pipeline logged.
  if [ -z "${BATS_TEST_COMPLETED:-}" ] && [ -d "${STATE_DIR:-/nonexistent}/log" ]; then
    tail -n 15 "$STATE_DIR"/log/*.log | sed 's/^/# /' >&3
  fi
  [ -n "${STATE_DIR:-}" ] && shadowstream down >/dev/null 2>&1
  ss_kill_jobs
}

say() { echo "# $(date +%T) $*" >&3; }
q() { psql -XAtq -v ON_ERROR_STOP=1 -c "$1"; }
slot_active() { [ "$(q "select active from pg_replication_slots where slot_name = 'shadowstream'")" = t ]; }
archived_marker() { ss-archive read | ss-cat | grep -q '"prefix":"failover-end"'; }
# The node coordinating the archiver's transactions, as Kafka's own tool reports it.
coordinator() {
  ss_kafka_tool transactions --bootstrap-server "$KAFKA_BROKERS" describe --transactional-id "$TXID" 2>/dev/null |
    awk 'NR == 2 { print $1 }'
}
# Records archived so far (read_committed), to see the pipeline move on after each fault.
# (Not kcat -e: under read_committed, while transactions keep coming, it does not see the end of a partition.)
archived() { ss-archive read | ss-cat | wc -l; }
archived_beyond() { [ "$(archived)" -gt "$1" ]; }
node_up() { kcat -b "127.0.0.1:$(cat "$SS_KAFKA_DIR/node$1/port")" -L -m 2 >/dev/null 2>&1; }
# Kill -9 node $1, let the pipeline archive more without it, start it again and wait until it is back in sync.
fault() {
  local before
  before=$(archived)
  say "kill -9 node $1 ($2), $before archived"
  ss_kafka_node kill "$1"
  SS_WAIT_TIMEOUT=90 ss_wait_for archived_beyond "$((before + 50))"
  say "restart node $1, $(archived) archived"
  ss_kafka_node start "$1"
  SS_WAIT_TIMEOUT=90 ss_wait_for in_sync
  say "node $1 back in sync"
}
# Every partition of the archive has all three replicas in sync.
in_sync() { [ "$(kcat -b "$KAFKA_BROKERS" -L -t shadowstream.archive | grep -c 'isrs: [0-9]*,[0-9]*,[0-9]*$')" -eq 4 ]; }

@test "leader and coordinator killed -9 and restarted, then a node down for good: every change archived once" {
  T="$BATS_TEST_TMPDIR"
  psql -Xq -v ON_ERROR_STOP=1 <<'SQL'
create table accounts (id int primary key, balance bigint not null);
create table ledger (id bigserial primary key, account int not null, amount int not null);
insert into accounts select g, 0 from generate_series(1, 100) g;
SQL
  cat >"$T/tx.sql" <<'SQL'
\set a random(1, 100)
\set n random(1, 99)
begin;
update accounts set balance = balance + :n where id = :a;
insert into ledger (account, amount) values (:a, :n);
end;
SQL
  pg_recvlogical -d "$PGDATABASE" --slot oracle --create-slot -P test_decoding

  export STATE_DIR="$T/state"
  printf '%s\n' '# failover test' 'SOURCE=failover' 'BACKOFF_MAX=1' 'HEALTHY_AFTER=1' 'ARCHIVE_OPTS="--linger 50ms"' \
    >"$T/shadowstream.conf"
  export SHADOWSTREAM_CONF="$T/shadowstream.conf" TXID=shadowstream-archive-failover
  run -0 shadowstream up
  SS_WAIT_TIMEOUT=60 ss_wait_for slot_active

  # 200 transactions a second, until stopped.
  pgbench -n -f "$T/tx.sql" -c 2 -R 200 -T 600 >"$T/pgbench.log" 2>&1 3>&- &
  wl=$!
  SS_WAIT_TIMEOUT=60 ss_wait_for archived_beyond 500
  say "workload running, $(archived) archived"
  for round in 1 2; do
    fault "$(ss_kafka_leader shadowstream.archive 0)" "leader of shadowstream.archive[0], round $round"
    c=$(coordinator)
    [ -n "$c" ]
    fault "$c" "transaction coordinator of $TXID, round $round"
  done
  # One node down for good: two replicas are still min.insync.replicas.
  gone=$(ss_kafka_leader shadowstream.archive 1)
  say "kill -9 node $gone for good"
  ss_kafka_node kill "$gone"
  before=$(archived)
  SS_WAIT_TIMEOUT=90 ss_wait_for archived_beyond "$((before + 1000))"
  # (TERM: a background job of a script ignores SIGINT.)
  kill -TERM "$wl"
  wait "$wl" || true

  q "select pg_logical_emit_message(true, 'failover-end', 'done')" >/dev/null
  end_lsn=$(q "select pg_current_wal_insert_lsn()")
  SS_WAIT_TIMEOUT=120 ss_wait_for archived_marker
  run -0 shadowstream status
  echo "$output" | sed 's/^/# /' >&3
  run -0 shadowstream down

  # The committed changes, as test_decoding saw them, against the archive: each once, in commit order.
  ss_oracle_vs_archive oracle "$end_lsn" "$T"
  [ "$(wc -l <"$T/want")" -gt 3000 ]
  diff "$T/want" "$T/got"
  # Kafka's own consumer, read_committed, sees each record's position once, and as many as ss-archive read.
  ss_kafka_positions shadowstream.archive >"$T/positions"
  # (ss-archive read starts with the checkpoint, whose records live in shadowstream.archive.snapshots.)
  ss-cat "$T/archive.ss" | jq -r 'select(.op | test("^(snapshot|checkpoint_begin|checkpoint_end)$") | not) | 1' |
    wc -l >"$T/changes"
  echo "# console consumer: $(wc -l <"$T/positions") positions; ss-archive read: $(cat "$T/changes") changes" >&3
  [ "$(wc -l <"$T/positions")" -eq "$(cat "$T/changes")" ]
  [ -z "$(sort "$T/positions" | uniq -d)" ]
  # Never stopped for good; each outage told in the archiver's log, without librdkafka's own lines.
  ! grep -q "giving up\|exited for good" "$STATE_DIR/log/supervisor.log"
  ! grep -q '^%' "$STATE_DIR/log/archive.log"
  sed 's/^/# archive.log: /' "$STATE_DIR/log/archive.log" | tail -20 >&3
}
