#!/usr/bin/env bats
# A new user's first mistakes: permanent failures (a refused password, a source without wal_level=logical) are told
# apart from outages, by the tools' exit codes and by the supervisor, which stops retrying them and says why.

load ../helpers/servers

setup_file() {
  ss_start_postgres "wal_level = replica"
  ss_start_redis
}
teardown_file() { ss_stop_all; }

setup() {
  T="$BATS_TEST_TMPDIR"
  export STATE_DIR="$T/state"
  unset SHADOWSTREAM_CONF
}
teardown() { shadowstream down >/dev/null 2>&1 || true; }

@test "a source without wal_level=logical: ss-capture exits 78 naming the setting, and creates nothing" {
  run -78 --separate-stderr ss-capture --slot s1 --publication p1 --create-slot
  [ "$stderr" = "ss-capture: the source runs with wal_level = replica; logical replication needs wal_level = logical in postgresql.conf (then restart PostgreSQL)" ]
  [ "$(psql -XAtc 'select count(*) from pg_publication')" = 0 ]
}

@test "a refused password is exit 77, and the message never holds the password" {
  psql -XAtqc "create role pwuser login password 'right-secret'"
  sed -i '1i host all pwuser 127.0.0.1/32 scram-sha-256' "$SS_PG_DIR/data/pg_hba.conf"
  psql -XAtqc "select pg_reload_conf()" >/dev/null
  PGPASSWORD=wrong-secret run -77 --separate-stderr ss-capture --slot s2 --publication p2 \
    --dbname "host=127.0.0.1 port=$PGPORT user=pwuser dbname=postgres"
  [[ "$stderr" == *'password authentication failed for user "pwuser"'* ]]
  [ "${#stderr_lines[@]}" -eq 1 ]
  # A password written into the URL (against the advice) is not repeated either.
  run -77 --separate-stderr ss-capture --slot s2 --publication p2 \
    --dbname "postgresql://pwuser:wrong-secret@127.0.0.1:$PGPORT/postgres"
  [[ "$stderr" == *'password authentication failed for user "pwuser"'* ]]
  [[ "$stderr" != *secret* ]]
}

@test "the supervisor does not restart a stage that failed permanently; up and status name it and why" {
  # No checkpointer: once the archiver pair is the only thing left, the supervisor must still idle, not spin.
  printf '%s\n' 'BACKOFF_MAX=1' 'HEALTHY_AFTER=1' 'CHECKPOINT_EVERY=off' >"$T/conf"
  export SHADOWSTREAM_CONF="$T/conf"
  run -78 --separate-stderr shadowstream up
  [[ "$stderr" == "shadowstream up: supervisor pid "*", but capture failed (status 78) and is not restarted: "*"wal_level = logical"* ]]
  run -1 shadowstream status
  [[ "$output" == *"FAILED      capture exited with status 78 and is not restarted: "*"wal_level = logical"* ]]
  ss_wait_for grep -q "capture failed permanently (status 78)" "$STATE_DIR/log/supervisor.log"
  ! grep -q "restarting realtime" "$STATE_DIR/log/supervisor.log"
  run -0 shadowstream down
  run -3 shadowstream status
}

@test "the README's try-by-hand servers: export lines the tools and man use, and a stop that removes them" {
  T="$BATS_TEST_TMPDIR"
  out=$(env -u SS_REGISTRY -u BATS_FILE_TMPDIR -u MANPATH "$SS_ROOT/examples/servers.sh" start 2>"$T/start.err")
  (
    eval "$out"
    [ "$(psql -XAtq -c 'show wal_level')" = logical ]
    [ "$(redis-cli -u "$REDIS_URL" ping)" = PONG ]
    kcat -b "$KAFKA_BROKERS" -L >/dev/null
    [ "$(env -u MANPATH man -w ss-cat)" = "$SS_ROOT/build/share/man/man1/ss-cat.1" ]
    psql -XAtq -c 'create table t (id int primary key, v text)'
    ss-capture --slot try --create-slot 2>/dev/null
    psql -XAtq -c "insert into t values (1, 'a')"
    [ "$(ss-capture --slot try --endpos "$(psql -XAtq -c 'select pg_current_wal_insert_lsn()')" | ss-cat | jq -r '.columns[1].text')" = a ]
    "$SS_ROOT/examples/servers.sh" stop 2>/dev/null
    ! psql -XAtq -c 'select 1' 2>/dev/null
    [ ! -e "$SS_REGISTRY" ]
  )
}
