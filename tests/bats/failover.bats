#!/usr/bin/env bats
# The source fails over: its primary is killed by -9 under a write workload and its streaming standby promoted, while
# ss-capture streams with both servers in a multi-host conninfo (target_session_attrs=primary). On PostgreSQL 17 and
# later the slot is a failover slot the standby keeps (sync_replication_slots) and capture goes on; before 17 the
# slot is gone and ss-capture says so in one line (66) instead of starting a new one past the lost changes. The
# matrix (tests/run-all) runs this file on 15 to 18.

load ../helpers/servers

setup() {
  T="$BATS_TEST_TMPDIR"
  # The primary holds back from logical readers what the standby has not received: nothing it loses in the crash
  # was ever captured.
  if ((SS_PG_VERSION >= 17)); then
    ss_start_postgres "synchronized_standby_slots = 'ss_standby'"
    # A standby promoted has no standby of its own until one is rebuilt: it waits for none.
    ss_start_standby "sync_replication_slots = on" "synchronized_standby_slots = ''"
  else
    ss_start_postgres
    ss_start_standby
  fi
  psql -XAtq -v ON_ERROR_STOP=1 -c "create table w (id bigint generated always as identity primary key, v text)"
  both="host=127.0.0.1,127.0.0.1 port=$PGPORT,$SS_STANDBY_PORT user=postgres dbname=postgres target_session_attrs=primary"
}
teardown() {
  pipeline_down
  ss_kill_jobs
  ss_stop_all
}

sq() { psql -XAtq -h 127.0.0.1 -p "$SS_STANDBY_PORT" -c "$1"; } # on the standby, later the new primary
captured_ids() { ss-cat "$T/out.ss" 2>/dev/null | jq -r 'select(.op == "insert") | "\(.commit_lsn):\(.ordinal // 0) \(.columns[] | select(.name == "id") | .text)"' | sort -u | awk '{print $2}' | sort -n; }
captured_all() { [ "$(captured_ids | wc -l)" = "$(sq "select count(*) from w")" ]; }

@test "a failover under a write workload: capture goes on from the standby's copy of the slot (17+), or says the slot is gone" {
  ss-capture -d "$both" --slot s_fo --publication s_fo --table public.w --create-slot 2>/dev/null
  ss-capture -d "$both" --slot s_fo --publication s_fo >"$T/out.ss" 2>"$T/capture.err" &
  cap=$!
  pgbench_on "$PGPORT" 60 &
  some() { [ "$(captured_ids | wc -l)" -ge 200 ]; }
  SS_WAIT_TIMEOUT=60 ss_wait_for some
  if ((SS_PG_VERSION >= 17)); then
    [ "$(psql -XAtq -c "select failover from pg_replication_slots where slot_name = 's_fo'")" = t ]
    # The standby's copy is usable once it has followed the slot past where it was made.
    synced() { [ "$(sq "select synced and not temporary from pg_replication_slots where slot_name = 's_fo'")" = t ]; }
    SS_WAIT_TIMEOUT=90 ss_wait_for synced
  fi
  ss_kill_primary
  ss_promote_standby
  if ((SS_PG_VERSION >= 17)); then
    sq "insert into w (v) select 'after' from generate_series(1, 50)"
    SS_WAIT_TIMEOUT=90 ss_wait_for captured_all
    # Every row the new primary holds, once each (by position: what a restart resends, downstream drops), and none
    # it lacks.
    diff <(sq "select id from w order by id") <(captured_ids)
    [ "$(grep -c "the source failed over: slot s_fo goes on at 127.0.0.1:$SS_STANDBY_PORT, timeline 2 (was 1)" "$T/capture.err")" = 1 ]
    kill -TERM "$cap"
    wait "$cap"
  else
    st=0
    wait "$cap" || st=$?
    [ "$st" -eq 66 ]
    [ "$(grep -c "goes on at" "$T/capture.err")" = 0 ]
    grep -q "the source failed over, and replication slot s_fo is gone from the source at 127.0.0.1:$SS_STANDBY_PORT (timeline 2): changes after .* are lost to it; a new slot would start past them" "$T/capture.err"
    [ "$(sq "select count(*) from pg_replication_slots where slot_type = 'logical'")" = 0 ]
  fi
}

# The supervised pipeline (shadowstream) into Redis and a real Kafka broker, given both servers.
pipeline_up() {
  ss_start_redis
  ss_start_kafka --topic shadowstream.archive
  export STATE_DIR="$T/state" SHADOWSTREAM_CONF="$T/shadowstream.conf"
  printf '%s\n' "PG_CONNINFO=\"$both\"" 'SLOT=s_fo' 'PUBLICATION=s_fo' 'TABLES=public.w' 'BACKOFF_MAX=1' \
    'HEALTHY_AFTER=1' 'ARCHIVE_OPTS="--linger 50ms"' >"$SHADOWSTREAM_CONF"
  shadowstream up >/dev/null
  active() { [ "$(psql -XAtq -c "select active from pg_replication_slots where slot_name = 's_fo'")" = t ]; }
  SS_WAIT_TIMEOUT=60 ss_wait_for active
}
pipeline_down() { [ -n "${STATE_DIR:-}" ] && shadowstream down >/dev/null 2>&1 || true; }
# The ids of the rows inserted into w, as the archive holds their changes: once each, or the diff shows it.
archived_ids() { ss-archive read --from-position 0/0 2>/dev/null | ss-cat | jq -r 'select(.op == "insert") | .columns[] | select(.name == "id") | .text' | sort -n; }
rebuilt_ids() { ss-archive read 2>/dev/null | ss-cat | jq -r 'select(.op == "insert" or .op == "snapshot") | .columns[] | select(.name == "id") | .text' | sort -n; }
archived_all() { [ "$(archived_ids | wc -l)" = "$(psql -XAtq -c "select count(*) from w")" ]; }
synced_on() { [ "$(psql -XAtq -h 127.0.0.1 -p "$1" -c "select synced and not temporary from pg_replication_slots where slot_name = 's_fo'")" = t ]; }
pgbench_on() { # pgbench_on PORT SECONDS
  printf 'insert into w (v) values (md5(random()::text));\n' >"$T/insert.sql"
  /usr/lib/postgresql/15/bin/pgbench -n -c 2 -R 300 -T "$2" -f "$T/insert.sql" -h 127.0.0.1 -p "$1" -U postgres postgres \
    >>"$T/pgbench.log" 2>&1
}
# Kill -9 the primary under the workload once the standby's copy of the slot is usable, promote the standby, and make
# it the primary the helpers talk to.
fail_over() {
  pgbench_on "$PGPORT" 120 &
  local wl=$!
  some() { [ "$(archived_ids | wc -l)" -ge "$1" ]; }
  SS_WAIT_TIMEOUT=60 ss_wait_for some "$(($(archived_ids | wc -l) + 300))"
  if ((SS_PG_VERSION >= 17)); then SS_WAIT_TIMEOUT=90 ss_wait_for synced_on "$SS_STANDBY_PORT"; fi
  ss_kill_primary
  wait "$wl" || true
  ss_promote_standby
  ss_standby_takes_over
}

@test "the supervised pipeline into Kafka through failovers: on 17+ it goes on, and on after a failback; before 17 it stops (66) and shadowstream recover goes on past a stated gap" {
  SS_SOURCE=$(psql -XAtq -c "select current_database()")
  pipeline_up
  if ((SS_PG_VERSION >= 17)); then
    fail_over
    pgbench_on "$PGPORT" 3
    SS_WAIT_TIMEOUT=90 ss_wait_for archived_all
    # Fail back: a standby rebuilt from the new primary where the old one was (the name the conninfo has), the new
    # primary holding changes back from logical readers until it has them.
    echo "synchronized_standby_slots = 'ss_standby'" >>"$SS_PG_DIR/data/postgresql.conf"
    back=$SS_OLD_PRIMARY_PORT
    SS_STANDBY_WANT_PORT=$back ss_start_standby "sync_replication_slots = on" "synchronized_standby_slots = ''"
    fail_over
    pgbench_on "$PGPORT" 3
    SS_WAIT_TIMEOUT=90 ss_wait_for archived_all
    diff <(psql -XAtq -c "select id from w order by id") <(archived_ids)
    [ "$(grep -c "the source failed over: slot s_fo goes on at" "$STATE_DIR/log/capture.log")" = 2 ]
    grep -q "goes on at 127.0.0.1:[0-9]*, timeline 2 (was 1)" "$STATE_DIR/log/capture.log"
    grep -q "goes on at 127.0.0.1:$back, timeline 3 (was 2)" "$STATE_DIR/log/capture.log"
    [ ! -s "$STATE_DIR/failed" ]
  else
    fail_over
    stopped() { grep -q "^capture 66 " "$STATE_DIR/failed" 2>/dev/null; }
    SS_WAIT_TIMEOUT=60 ss_wait_for stopped
    run -1 shadowstream status
    [[ "$output" == *"FAILED      capture exited with status 66 and is not restarted: "*"replication slot s_fo is gone from the source"*"shadowstream recover"* ]]
    # A restart does not make a new slot past the gap either: the supervisor's slot mark says one was made.
    # (up reports the failure when it comes within its first seconds; the FAILED file says it in any case.)
    shadowstream restart >/dev/null 2>&1 || true
    SS_WAIT_TIMEOUT=60 ss_wait_for stopped
    grep -q "replication slot s_fo is gone from the source at 127.0.0.1:$PGPORT, and $STATE_DIR/slot-made says it was made" "$STATE_DIR/log/capture.log"
    [ "$(psql -XAtq -c "select count(*) from pg_replication_slots where slot_type = 'logical'")" = 0 ]
    psql -XAtq -c "insert into w (v) values ('committed while no slot read the source')"
    inside=$(date -u +%Y-%m-%dT%H:%M:%S.%6NZ)
    run -75 --separate-stderr shadowstream recover
    [ "$stderr" = "shadowstream: the pipeline is running: shadowstream down first" ]
    shadowstream down >/dev/null
    run -0 shadowstream recover
    [[ "$output" == *"shadowstream: recovered $SS_SOURCE: a new slot s_fo and a checkpoint archived in shadowstream.archive after the gap"* ]]
    run -0 ss-archive checkpoints
    [[ "$output" == *"complete, after a gap"* ]]
    [[ "$output" == *"gap: the archive lacks the changes of $SS_SOURCE after "*" to the checkpoint at "*": its replication slot was lost; rebuilds as of an instant in between are refused"* ]]
    run -66 --separate-stderr ss-archive read --as-of "$inside"
    ss-archive read --from-position 0/0 2>"$T/window.err" >/dev/null
    grep -q "the window crosses a gap: the archive lacks the changes of $SS_SOURCE after " "$T/window.err"
    [[ "$stderr" == *"cannot rebuild an instant before "*": the archive shadowstream.archive lacks the changes of $SS_SOURCE after "* ]]
    # From the checkpoint on the archive is whole again: a rebuild as of now holds every row the source has.
    shadowstream up >/dev/null
    pgbench_on "$PGPORT" 2
    rebuilt_all() { [ "$(rebuilt_ids | wc -l)" = "$(psql -XAtq -c "select count(*) from w")" ]; }
    SS_WAIT_TIMEOUT=60 ss_wait_for rebuilt_all
    diff <(psql -XAtq -c "select id from w order by id") <(rebuilt_ids)
  fi
  pipeline_down
}

@test "capture from a standby (16+): the initial snapshot and every change made on the primary; before 16, 78 in one line" {
  psql -XAtq -v ON_ERROR_STOP=1 -c "insert into w (v) select 'before' from generate_series(1, 100)" \
    -c "create publication s_sb for table w"
  standby="host=127.0.0.1 port=$SS_STANDBY_PORT user=postgres dbname=postgres"
  caught_up() { [ "$(sq "select count(*) from pg_publication where pubname = 's_sb'")" = 1 ] && [ "$(sq "select count(*) from w")" = 100 ]; }
  ss_wait_for caught_up
  if ((SS_PG_VERSION < 16)); then
    run -78 --separate-stderr ss-capture -d "$standby" --slot s_sb --publication s_sb --endpos 0/1
    [ "$stderr" = "ss-capture: the source at 127.0.0.1:$SS_STANDBY_PORT is a standby, and PostgreSQL before 16 decodes only on a primary: capture from the primary, or from a standby of PostgreSQL 16 or later" ]
    return
  fi
  # A slot on a standby waits for the primary to log its running transactions (every 15 s; asked here at once).
  ss-capture -d "$standby" --slot s_sb --publication s_sb >"$T/out.ss" 2>"$T/capture.err" &
  made() {
    psql -XAtq -c "select pg_log_standby_snapshot()" >/dev/null
    grep -q "created replication slot s_sb" "$T/capture.err"
  }
  SS_WAIT_TIMEOUT=60 ss_wait_for made
  psql -XAtq -c "insert into w (v) select 'after' from generate_series(1, 50)" -c "update w set v = 'changed' where id <= 10" \
    -c "delete from w where id > 140"
  ids() { ss-cat "$T/out.ss" 2>/dev/null | jq -r "select(.op == \"$1\") | .columns[] | select(.name == \"id\") | .text" | sort -n | tr '\n' ' '; }
  all() { [ "$(ids insert | wc -w)" = 50 ] && [ "$(ids update | wc -w)" = 10 ] && [ "$(ss-cat "$T/out.ss" 2>/dev/null | jq -r 'select(.op == "delete") | .op' | wc -l)" = 10 ]; }
  SS_WAIT_TIMEOUT=60 ss_wait_for all
  [ "$(ids snapshot)" = "$(seq 1 100 | tr '\n' ' ')" ]
  [ "$(ids insert)" = "$(seq 101 150 | tr '\n' ' ')" ]
  [ "$(ids update)" = "$(seq 1 10 | tr '\n' ' ')" ]
  [ "$(sq "select slot_type || ' ' || database from pg_replication_slots where slot_name = 's_sb'")" = "logical postgres" ]
  [ "$(psql -XAtq -c "select count(*) from pg_replication_slots where slot_name = 's_sb'")" = 0 ]
}
