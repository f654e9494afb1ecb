#!/usr/bin/env bats
# The servers the version matrix runs on (SS_PG_VERSION=15|16|17|18, tests/helpers/servers.bash): the version asked
# for, logical decoding with pgoutput, and a primary with a streaming standby. CI runs this file on each version.

load ../helpers/servers

setup_file() { ss_start_postgres "hot_standby_feedback = on"; }
teardown_file() { ss_stop_all; }
teardown() { ss_kill_jobs; }

q() { psql -XAtq -v ON_ERROR_STOP=1 -c "$1"; }

@test "the server is the PostgreSQL version asked for, and capture and replay work on it" {
  [ "$(q "select current_setting('server_version_num')::int / 10000")" = "$SS_PG_VERSION" ]
  q "create table v (id int primary key, t text, n numeric, j jsonb)"
  ss-capture --slot s_v --publication s_v --table public.v --create-slot 2>/dev/null
  q "insert into v values (1, 'a', 1.5, '{\"k\": 1}'), (2, 'b', null, null)"
  q "update v set t = 'c' where id = 2"
  q "delete from v where id = 1"
  ss-capture --slot s_v --publication s_v --endpos "$(q "select pg_current_wal_insert_lsn()")" >"$BATS_TEST_TMPDIR/v.ss" 2>/dev/null
  [ "$(ss-cat "$BATS_TEST_TMPDIR/v.ss" | jq -r .op | tr '\n' ' ')" = "insert insert update delete " ]
  q "create database v_target"
  ss-replay --speed max --create-tables --to "postgresql://postgres@127.0.0.1:$PGPORT/v_target" <"$BATS_TEST_TMPDIR/v.ss"
  [ "$(psql -XAtq -d v_target -c "select id, t from public.v")" = "2|c" ]
}

@test "a primary with a streaming standby: a change on the primary reaches the standby" {
  ss_start_standby
  [ "$(psql -XAtq -h 127.0.0.1 -p "$SS_STANDBY_PORT" -c "select pg_is_in_recovery()")" = t ]
  q "create table s (id int primary key); insert into s values (42)"
  standby_has() { [ "$(psql -XAtq -h 127.0.0.1 -p "$SS_STANDBY_PORT" -c "select count(*) from s" 2>/dev/null)" = 1 ]; }
  ss_wait_for standby_has
  ss_promote_standby
  [ "$(psql -XAtq -h 127.0.0.1 -p "$SS_STANDBY_PORT" -c "select pg_is_in_recovery()")" = f ]
}
