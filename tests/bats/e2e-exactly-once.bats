#!/usr/bin/env bats
# The end-to-end proof: a write workload on PostgreSQL while the shadowstream supervisor runs the pipeline, with a
# stage killed (-9) every couple of seconds, a Redis restart, and the Apache Kafka broker itself killed -9 and
# restarted.
# Afterwards the Kafka archive must hold exactly the committed changes, as PostgreSQL's own test_decoding plugin
# reports them on an independent slot: every one once, none invented, in commit order; and a full replay of the
# archive into a fresh database must equal the source, table by table.

load ../helpers/servers
load ../helpers/oracle

setup_file() {
  ss_start_postgres "max_wal_senders = 10" "max_replication_slots = 10"
  ss_start_redis --appendonly yes --appendfsync always
  ss_start_kafka --partitions 16 --topic shadowstream.archive --topic cron.archive
}

teardown_file() { ss_stop_all; }

teardown() {
  [ -n "${STATE_DIR:-}" ] && shadowstream down >/dev/null 2>&1
  ss_kill_jobs
}

q() { psql -XAtq -v ON_ERROR_STOP=1 -c "$1"; }
stage_pid() { awk -v s="$1" '$1 == s { print $2 }' "$STATE_DIR/stages"; }
restarted() { # restarted STAGE OLDPID: a new process runs in its place
  local p
  p=$(stage_pid "$1")
  [ -n "$p" ] && [ "$p" != "$2" ] && [ "$p" != 0 ] && kill -0 "$p" 2>/dev/null
}
slot_active() { [ "$(q "select active from pg_replication_slots where slot_name = 'shadowstream'")" = t ]; }
archived_marker() { ss-archive read | ss-cat | grep -q '"prefix":"e2e-end"'; }
table_sum() { psql -XAtq -d "$1" -c "select count(*) || ' ' || md5(string_agg(t::text, ',' order by id)) from $2 t"; }

@test "kill -9 stages, restart Redis, kill -9 Kafka: the archive holds every committed change exactly once" {
  T="$BATS_TEST_TMPDIR"
  psql -Xq -v ON_ERROR_STOP=1 <<'SQL'
create table accounts (id int primary key, balance bigint not null, version int not null);
create table ledger (id bigserial primary key, account int not null, amount int not null, note text);
insert into accounts select g, 0, 0 from generate_series(1, 50) g;
create procedure workload(n int) language plpgsql as $$
declare a int;
begin
  for i in 1..n loop
    a := 1 + (i * 7) % 50;
    insert into ledger (account, amount, note) values (a, i % 100, 'tx ' || i);
    update accounts set balance = balance + i % 100, version = version + 1 where id = a;
    if i % 10 = 0 then
      delete from ledger where id = (select min(id) from ledger);
    end if;
    commit;
    perform pg_sleep(0.01);
  end loop;
end $$;
SQL
  # The independent witness: PostgreSQL's own test_decoding on a slot of its own, created before any change.
  pg_recvlogical -d "$PGDATABASE" --slot oracle --create-slot -P test_decoding

  export STATE_DIR="$T/state"
  # Restart at once: this test kills stages every couple of seconds on purpose.
  printf '%s\n' '# e2e test' 'BACKOFF_MAX=1' 'HEALTHY_AFTER=1' 'ARCHIVE_OPTS="--linger 50ms"' >"$T/shadowstream.conf"
  export SHADOWSTREAM_CONF="$T/shadowstream.conf"
  run -0 shadowstream up
  [[ "$output" == "shadowstream up: supervisor pid "* ]]
  run -75 --separate-stderr shadowstream up
  [[ "$stderr" == *"already running"* ]]
  SS_WAIT_TIMEOUT=60 ss_wait_for slot_active

  psql -XAtq -c "call workload(4000)" 3>&- &
  wl=$!
  kills=0
  stages=(capture buffer reader archive)
  while ((kills < 24)) || kill -0 "$wl" 2>/dev/null; do
    s=${stages[RANDOM % 4]}
    old=$(stage_pid "$s")
    kill -9 "$old" 2>/dev/null && kills=$((kills + 1))
    SS_WAIT_TIMEOUT=60 ss_wait_for restarted "$s" "$old"
    case $kills in
    6) ss_restart_redis ;;
    10) ss_kafka_node kill 1 ;;
    14) ss_kafka_node start 1 ;;
    esac
    sleep 1.5 # spacing between faults, not synchronisation
  done
  wait "$wl"
  echo "# kills: $kills" >&3

  q "select pg_logical_emit_message(true, 'e2e-end', 'done')" >/dev/null
  end_lsn=$(q "select pg_current_wal_insert_lsn()")
  SS_WAIT_TIMEOUT=120 ss_wait_for archived_marker
  run -0 shadowstream status
  echo "$output" | sed 's/^/# /' >&3
  run -0 shadowstream down
  run -3 shadowstream status
  [ "$(grep -c "restarting" "$STATE_DIR/log/supervisor.log")" -ge 20 ]

  # 1. Exactly the committed changes, once each, in commit order: the archive against test_decoding.
  ss_oracle_vs_archive oracle "$end_lsn" "$T"
  [ "$(wc -l <"$T/want")" -gt 8000 ]
  diff "$T/want" "$T/got"
  # Positions unique across the whole archive (the snapshot included).
  ss-cat "$T/archive.ss" | jq -r '"\(.commit_lsn) \(.ordinal // 0)"' >"$T/positions"
  [ -z "$(uniq -d "$T/positions")" ]

  # 2. A full replay of the archive into a fresh database equals the source.
  q "create database e2e_replay"
  ss-replay --speed max --to dbname=e2e_replay --create-tables <"$T/archive.ss"
  for t in accounts ledger; do
    [ "$(table_sum e2e_replay $t)" = "$(table_sum "$PGDATABASE" $t)" ]
  done
}

entries_read() { redis-cli -p "$SS_REDIS_PORT" xinfo groups shadowstream:cron:changes | awk 'f { print; exit } /^entries-read$/ { f = 1 }'; }
read_at_least() { [ "$(entries_read)" -ge "$1" ] 2>/dev/null; }

@test "cron mode: archiver runs killed at several points, then run again: the archive holds every record once" {
  T="$BATS_TEST_TMPDIR"
  export STATE_DIR="$T/state"
  # Small transactions, so a run takes seconds and each kill lands mid-run.
  printf '%s\n' 'SOURCE=cron' 'TOPIC=cron.archive' 'ARCHIVE_OPTS="--batch 100"' 'READER_OPTS="--count 100"' >"$T/cron.conf"
  export SHADOWSTREAM_CONF="$T/cron.conf"
  ss-gen-records --source cron -n 100000 --tx-size 5 >"$T/in.ss"
  ss-buffer --no-passthrough <"$T/in.ss"
  # The documented cron line, killed at three points of three runs.
  for at in 5000 30000 55000; do
    shadowstream drain 2>>"$T/drain.err" 3>&- &
    d=$!
    ss_wait_for read_at_least "$at"
    pkill -9 -f "ss-archive --topic cron.archive"
    st=0
    wait "$d" || st=$?
    [ "$st" -ne 0 ]
  done
  # The bare pipe a user might write instead, killed too: the reader acknowledges nothing it only wrote to a pipe.
  ss-buffer read --source cron --group archiver --until-idle 2>>"$T/drain.err" 3>&- |
    ss-archive --topic cron.archive --batch 100 2>>"$T/drain.err" 3>&- &
  ss_wait_for read_at_least 80000
  pkill -9 -f "ss-archive --topic cron.archive --batch"
  wait || true
  [ "$(redis-cli -p "$SS_REDIS_PORT" xpending shadowstream:cron:changes archiver | head -1)" -gt 0 ]
  # The next run completes the archive: every record once, in position order, and nothing left pending.
  run -0 shadowstream drain
  [[ "$output" == *"shadowstream: what the Redis stream of cron held is archived in cron.archive"* ]]
  ss-archive read --topic cron.archive >"$T/archive.ss"
  echo "# archived $(ss-cat "$T/archive.ss" | wc -l) of 100000" >&3
  cmp "$T/in.ss" "$T/archive.ss"
  [ "$(redis-cli -p "$SS_REDIS_PORT" xpending shadowstream:cron:changes archiver | head -1)" -eq 0 ]
}
