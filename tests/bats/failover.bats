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
  ss_kill_jobs
  ss_stop_all
}

sq() { psql -XAtq -h 127.0.0.1 -p "$SS_STANDBY_PORT" -c "$1"; } # on the standby, later the new primary
captured_ids() { ss-cat "$T/out.ss" 2>/dev/null | jq -r 'select(.op == "insert") | "\(.commit_lsn):\(.ordinal // 0) \(.columns[] | select(.name == "id") | .text)"' | sort -u | awk '{print $2}' | sort -n; }
captured_all() { [ "$(captured_ids | wc -l)" = "$(sq "select count(*) from w")" ]; }
workload() { # workload SECONDS: one-row inserts from two clients, 300 a second
  printf 'insert into w (v) values (md5(random()::text));\n' >"$T/insert.sql"
  /usr/lib/postgresql/15/bin/pgbench -n -c 2 -R 300 -T "$1" -f "$T/insert.sql" -h 127.0.0.1 -p "$PGPORT" -U postgres postgres \
    >"$T/pgbench.log" 2>&1
}

@test "a failover under a write workload: capture goes on from the standby's copy of the slot (17+), or says the slot is gone" {
  ss-capture -d "$both" --slot s_fo --publication s_fo --table public.w --create-slot 2>/dev/null
  ss-capture -d "$both" --slot s_fo --publication s_fo >"$T/out.ss" 2>"$T/capture.err" &
  cap=$!
  workload 60 &
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
