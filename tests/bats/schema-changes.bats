#!/usr/bin/env bats
# Time travel across schema changes: a workload interleaving DML with migrations (columns added with and without
# defaults, dropped, retyped; a table created, renamed, dropped and recreated; a new primary key; a TRUNCATE). The
# source's shape and checksums are recorded at instants between the migrations, and rebuilds --until each instant
# must equal the source as it was then: from the frames, through a Kafka archive window and as a server job.

load ../helpers/servers

setup_file() {
  ss_start_postgres "wal_sender_timeout = 60s"
  ss_start_redis
  ss_start_kafka --partitions 4 --topic schema.archive
}

teardown_file() { ss_stop_all; }

teardown() { ss_kill_jobs; }

setup() { T="$BATS_TEST_TMPDIR"; }

q() { psql -XAtq -v ON_ERROR_STOP=1 -c "$1"; }
qd() { psql -XAtq -v ON_ERROR_STOP=1 -d "$1" -c "$2"; }
job_done() { [ "$(ss-replay jobs --json -s "$ADDR" | jq -r .state)" = done ]; }
lsn_now() { q "select pg_current_wal_insert_lsn()"; }
fresh_db() {
  q "drop database if exists $1"
  q "create database $1"
}
# state DB: every public table with its columns and types, row count and a checksum of its rows that does not
# depend on column order (jsonb sorts keys).
state() {
  qd "$1" "select string_agg(line, ' | ' order by line) from (
    select c.relname || '(' || (select string_agg(attname || ' ' || format_type(atttypid, atttypmod), ', ' order by attname)
      from pg_attribute where attrelid = c.oid and attnum > 0 and not attisdropped) || ') pk ' ||
      coalesce((select string_agg(a.attname, ',' order by a.attname) from pg_index i
        join pg_attribute a on a.attrelid = i.indrelid and a.attnum = any(i.indkey)
        where i.indrelid = c.oid and i.indisprimary), '-') as line
    from pg_class c join pg_namespace n on n.oid = c.relnamespace
    where n.nspname = 'public' and c.relkind = 'r') s"
  for t in $(qd "$1" "select relname from pg_class c join pg_namespace n on n.oid = c.relnamespace
      where n.nspname = 'public' and c.relkind = 'r' order by 1"); do
    qd "$1" "select '$t ' || count(*) || ' ' || coalesce(md5(string_agg(to_jsonb(t)::text, ',' order by to_jsonb(t)::text)), '-') from $t t"
  done
}
instant() { # instant: the time now, after every commit so far, and the source's state then
  q "select to_char(clock_timestamp() at time zone 'UTC', 'YYYY-MM-DD\"T\"HH24:MI:SS.US\"Z\"')" >>"$T/instants"
  state "$PGDATABASE" >"$T/state.$(wc -l <"$T/instants")"
}

migrate() {
  # A source database of its own per test, so that each starts from the same empty schema.
  psql -XAtq -d postgres -c "create database src_$BATS_TEST_NUMBER"
  export PGDATABASE=src_$BATS_TEST_NUMBER
  q "create table ev (id int primary key, a int, b varchar(10), c text, d int)"
  ss-capture --slot "s_shape$BATS_TEST_NUMBER" --publication s_shape --all-tables --create-slot # tables come later
  : >"$T/instants"
  q "insert into ev select g, g, 'b' || g, '{\"n\": ' || g || '}', g from generate_series(1, 50) g"
  instant # 1: the first shape
  q "alter table ev add column e int"
  q "insert into ev (id, a, b, c, d, e) values (51, 51, 'x', '{}', 1, 5)"
  q "alter table ev add column f text default 'fx'"
  q "alter table ev add column g int not null default 7"
  q "update ev set a = a + 1 where id % 5 = 0"
  q "delete from ev where id % 9 = 0"
  instant # 2: three columns added, rows older than f and g read their defaults
  # Capture reads those defaults when it meets the new shape, as it does running live: before the rewrite below
  # (ALTER TYPE) folds them into the rows and the catalog forgets them.
  ss-capture --slot "s_shape$BATS_TEST_NUMBER" --publication s_shape --endpos "$(lsn_now)" >"$T/history.ss"
  q "alter table ev drop column d"
  q "alter table ev alter column a type bigint"
  q "alter table ev alter column b type varchar(40)"
  q "alter table ev alter column c type jsonb using c::jsonb"
  q "update ev set b = 'a much longer value than ten', a = 5000000000 where id = 3"
  q "insert into ev (id, a, b, c, e, f, g) values (60, 1, 'y', '{\"k\": 1}', 6, 'f6', 8)"
  q "create table t2 (id int primary key, v text)"
  q "insert into t2 select g, 'v' || g from generate_series(1, 5) g"
  instant # 3: a column dropped, three retyped, a table created
  q "alter table t2 rename to t3"
  q "insert into t3 values (6, 'v6')"
  q "update t3 set v = 'w' where id = 1"
  instant # 4: renamed
  q "drop table t3"
  q "create table t3 (id int primary key, w int)"
  q "insert into t3 values (1, 10), (2, 20)"
  q "alter table ev drop constraint ev_pkey, add primary key (id, g)"
  q "update ev set g = g + 1 where id % 4 = 0"
  q "truncate t3"
  q "insert into t3 values (3, 30)"
  instant # 5: recreated, a new key, truncated
  ss-capture --slot "s_shape$BATS_TEST_NUMBER" --publication s_shape --endpos "$(lsn_now)" >>"$T/history.ss"
}

@test "replays --until each instant between migrations equal the source as it was then, shape included" {
  migrate
  [ "$(wc -l <"$T/instants")" -eq 5 ]
  # Records carry the shape: it changes at each migration, not on every record.
  [ "$(ss-cat "$T/history.ss" | jq -r 'select(.table == "ev") | .shape_id' | uniq | wc -l)" -ge 5 ]
  # ss-cat --shapes tells each change in a line.
  ss-cat --shapes "$T/history.ss" >"$T/shapes"
  grep -Eq '^0/[0-9A-F]+:0 public.ev shape [0-9a-f]{16}: \+id int4, \+a int4, \+b varchar\(10\), \+c text, \+d int4 \(key id\)$' "$T/shapes"
  grep -Eq ' public.ev shape [0-9a-f]{16}: \+e int4$' "$T/shapes"
  grep -Eq ' public.ev shape [0-9a-f]{16}: -d, a int4 -> int8, b varchar\(10\) -> varchar\(40\), c text -> jsonb$' "$T/shapes"
  grep -Eq ' public.t3 shape [0-9a-f]{16}: renamed from public.t2$' "$T/shapes"
  grep -Eq ' public.ev shape [0-9a-f]{16}: key \(g, id\)$|key \(id, g\)$' "$T/shapes"
  # Every line says what changed: none is empty.
  ! grep -Eq 'shape [0-9a-f]{16}: $' "$T/shapes"
  for k in 1 2 3 4 5; do
    at=$(sed -n "${k}p" "$T/instants")
    fresh_db shape_$k
    run -0 --separate-stderr ss-replay -v --speed max --until "$at" --to "dbname=shape_$k" --create-tables <"$T/history.ss"
    state shape_$k >"$T/got.$k"
    diff "$T/state.$k" "$T/got.$k"
  done
  # -v names each DDL with the position that called for it.
  [[ "$stderr" == *": ALTER TABLE \"public\".\"ev\" ADD COLUMN \"e\" integer"* ]]
  [[ "$stderr" == *"ALTER TABLE \"public\".\"t2\" RENAME TO \"t3\""* || "$stderr" == *"RENAME TO \"t3\""* ]]
  # A rerun changes nothing; the rest of the history on top of instant 2 reaches the final state.
  run -0 --separate-stderr ss-replay -v --speed max --to "dbname=shape_5" --create-tables <"$T/history.ss"
  [[ "$stderr" != *"ALTER TABLE"* ]]
  state shape_5 >"$T/got.rerun"
  diff "$T/state.5" "$T/got.rerun"
  ss-replay --speed max --to "dbname=shape_2" --create-tables <"$T/history.ss"
  state shape_2 >"$T/got.rest"
  diff "$T/state.5" "$T/got.rest"
}

@test "a target the user manages is never altered: a record with columns it lacks stops the replay, nothing applied" {
  migrate
  fresh_db managed
  qd managed "create table ev (id int primary key, a int, b varchar(10), c text, d int)"
  run -65 --separate-stderr ss-replay --speed max --to "dbname=managed" <"$T/history.ss"
  [[ "$stderr" == *"target table \"public\".\"ev\" lacks column(s) e int4 that insert on public.ev at position "* ]]
  [[ "$stderr" == *"rerun with --create-tables"* ]]
  [ "$(echo "$stderr" | wc -l)" -eq 1 ]
  # Everything before the migration's transaction is applied, nothing of it.
  [ "$(qd managed "select count(*) from ev")" = 50 ]
}

@test "through a Kafka archive window and as a server job, rebuilds follow the shape too" {
  migrate
  ss-archive --topic schema.archive <"$T/history.ss"
  at=$(sed -n 3p "$T/instants")
  fresh_db via_kafka
  ss-archive read --topic schema.archive --until "$at" | ss-replay --speed max --to dbname=via_kafka --create-tables
  state via_kafka >"$T/got.kafka"
  diff "$T/state.3" "$T/got.kafka"

  fresh_db via_job
  ss-replay serve --listen 127.0.0.1:0 --store-key ss:schema --brokers "$KAFKA_BROKERS" 2>"$T/serve.err" 3>&- &
  srv=$!
  ss_wait_for grep -q "listening on" "$T/serve.err"
  ADDR=$(sed -n 's/.*listening on //p' "$T/serve.err" | tail -1)
  at=$(sed -n 4p "$T/instants")
  ss-replay submit -s "$ADDR" --source kafka:schema.archive --until "$at" --speed max --to dbname=via_job \
    --create-tables
  SS_WAIT_TIMEOUT=60 ss_wait_for job_done
  state via_job >"$T/got.job"
  diff "$T/state.4" "$T/got.job"
  kill -TERM "$srv"
  wait "$srv"
}

@test "a migration inside a transaction; a capture split by restarts carries the same shapes; a failed transaction leaves no half-evolved table" {
  psql -XAtq -d postgres -c "create database src_$BATS_TEST_NUMBER"
  export PGDATABASE=src_$BATS_TEST_NUMBER
  q "create table tx (id int primary key, v text)"
  ss-capture --slot split --publication p_split --all-tables --create-slot
  ss-capture --slot whole2 --publication p_split --create-slot
  q "insert into tx values (1, 'a')"
  ss-capture --slot split --publication p_split --endpos "$(lsn_now)" >"$T/split.ss"
  psql -Xq -v ON_ERROR_STOP=1 <<'SQL'
begin;
insert into tx values (2, 'b');
alter table tx add column w int;
insert into tx values (3, 'c', 30);
alter table tx alter column v type varchar(5);
update tx set w = 10 where id = 1;
commit;
SQL
  ss-capture --slot split --publication p_split --endpos "$(lsn_now)" >>"$T/split.ss"
  q "insert into tx values (4, 'd', 40)"
  ss-capture --slot split --publication p_split --endpos "$(lsn_now)" >>"$T/split.ss"
  ss-capture --slot whole2 --publication p_split --endpos "$(lsn_now)" >"$T/whole.ss"
  # The same shapes at the same positions, however the capture was split.
  shapes() { ss-cat "$1" | jq -r 'select(.table == "tx") | "\(.commit_lsn) \(.ordinal // 0) \(.shape_id)"'; }
  diff <(shapes "$T/split.ss") <(shapes "$T/whole.ss")
  # Within the one transaction, three shapes follow each other.
  xid=$(ss-cat "$T/whole.ss" | jq -r 'select(.table == "tx" and .op == "update") | .xid')
  [ "$(ss-cat "$T/whole.ss" | jq -r --argjson x "$xid" 'select(.xid == $x) | .shape_id' | uniq | wc -l)" -eq 3 ]
  fresh_db tx_shadow
  ss-replay --speed max --to dbname=tx_shadow --create-tables <"$T/whole.ss"
  state "$PGDATABASE" >"$T/want"
  state tx_shadow >"$T/got"
  diff "$T/want" "$T/got"

  # A transaction that fails after its DDL: rolled back whole, the table keeps its shape.
  fresh_db tx_fail
  qd tx_fail "create table tx (id int primary key, v text)"
  qd tx_fail "insert into tx values (3, 'in the way')"
  run -65 --separate-stderr ss-replay --speed max --to dbname=tx_fail --create-tables <"$T/whole.ss"
  [[ "$stderr" == *"duplicate key"* ]]
  [ "$(qd tx_fail "select string_agg(attname, ',' order by attnum) from pg_attribute where attrelid = 'tx'::regclass and attnum > 0 and not attisdropped")" = "id,v" ]
  [ "$(qd tx_fail "select count(*) from tx")" = 2 ]
}
