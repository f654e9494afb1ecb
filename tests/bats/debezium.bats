#!/usr/bin/env bats
# Side by side with Debezium's PostgreSQL connector itself (3.6.1, embedded engine, JSON converter with schemas off;
# tests/peers/fetch-debezium.sh): both read the same changes of the same database on slots of their own, and
# `ss-capture | ss-cat --format debezium` must write the events Debezium writes, event by event, but for the
# differences ss-cat(1) lists under "Differences from Debezium's connector": the test asserts exactly that list.

load ../helpers/servers

setup_file() {
  "$SS_ROOT/tests/peers/fetch-debezium.sh" # cached by make deps; compiles the runner if it changed
  ss_start_postgres
}
teardown_file() { ss_stop_all; }
teardown() { ss_kill_jobs; }

@test "ss-cat --format debezium writes Debezium's own events, but for the differences ss-cat(1) lists" {
  T="$BATS_TEST_TMPDIR"
  psql -Xq -v ON_ERROR_STOP=1 <<'SQL'
create type mood as enum ('sad', 'ok', 'happy');
create domain positive_int as int check (value > 0);
create table types (
  id int primary key, small smallint, big bigint, exact numeric(10, 3), free_numeric numeric, cash money,
  real_value real, double_value double precision, txt text, short_text varchar(5), bin bytea, flag bool,
  day date, clock time, clock_ms time(3), clock_tz timetz, stamp timestamp, stamp_ms timestamp(3),
  stamp_tz timestamptz, stamp_tz_s timestamptz(0), stamp_tz_ms timestamptz(3), span interval, uid uuid, doc json, docb jsonb, markup xml,
  addr inet, net cidr, mac macaddr, ints int[], texts text[], stamps timestamptz[], nums numeric[],
  feeling mood, feelings mood[], domain_value positive_int, ints_range int4range, stamps_range tstzrange,
  spot point, segment lseg, area box, ring circle, bit_one bit(1), bits bit(12), bits_varying varbit, words tsvector,
  toasted text);
create table full_identity (id int, v text);
alter table full_identity replica identity full;
insert into types values (1, -2, 9007199254740993, 1.5, 12345.678901, 12.34, 1.25, -2.5e-7, 'hello', 'abc',
  '\xdeadbeef', true, '2024-01-02', '12:34:56', '12:34:56.789', '12:34:56+02', '2024-01-02 03:04:05.123456',
  '2024-01-02 03:04:05.123', '2024-01-02 03:04:05.123456+00', '2024-01-02 03:04:05+00', '2024-01-02 03:04:05.5+00',
  '1 year 2 months 3 days 04:05:06.5', 'a0eebc99-9c0b-4ef8-bb6d-6bb9bd380a11', '{"a": 1}', '{"b": 2}',
  '<a>x</a>', '10.0.0.1', '10.0.0.0/8', '08:00:2b:01:02:03', '{1,2,3}', '{"a","b c"}',
  '{"2024-01-02 03:04:05+00"}', '{1.5,2}', 'happy', '{sad,ok}', 5, '[1,5)', '[2024-01-01,2024-02-01)',
  '(1,2)', '[(0,0),(1,1)]', '((0,0),(2,3))', '<(1,1),2>', '1', '100000000001', '101', 'a fat cat',
  (select string_agg(md5(i::text), '') from generate_series(1, 400) i));
insert into types (id, txt) values (2, 'second');
insert into full_identity values (1, 'a'), (2, 'b');
SQL
  ss-capture --slot ss --publication ss --table public.types --table public.full_identity >"$T/ss.out" 2>"$T/ss.err" &
  "$SS_ROOT/tests/peers/fetch-debezium.sh" --run database.hostname=127.0.0.1 "database.port=$PGPORT" \
    database.user=postgres database.password=unused database.dbname=postgres slot.name=dbz publication.name=dbz \
    publication.autocreate.mode=filtered table.include.list=public.types,public.full_identity snapshot.mode=initial \
    >"$T/dbz.out" 2>"$T/dbz.err" &
  both() { [ "$(psql -XAtq -c "select count(*) from pg_replication_slots where active")" = 2 ]; }
  SS_WAIT_TIMEOUT=120 ss_wait_for both
  psql -Xq -v ON_ERROR_STOP=1 <<'SQL'
insert into types (id, exact, txt, spot, bits, stamp_tz) values (3, 3.14, 'three', '(-1.5,0.25)', '000000000001',
  '2024-05-06 07:08:09+00');
update types set txt = 'changed', cash = 1000.5 where id = 1;
update types set id = 30 where id = 3;
delete from types where id = 30;
update full_identity set v = 'changed' where id = 1;
delete from full_identity where id = 2;
begin;
insert into types (id, txt) values (4, 'in a transaction');
select pg_logical_emit_message(true, 'audit', 'transactional');
update types set flag = false where id in (1, 2);
commit;
select pg_logical_emit_message(false, 'audit', 'not transactional');
truncate full_identity;
insert into types (id, txt) values (99, 'last');
SQL
  # Debezium's engine flushes each batch; ss-capture's stdout is a file (fsynced before it confirms).
  last() { grep -q '"id":99,' "$T/dbz.out" && ss-cat --format debezium "$T/ss.out" 2>/dev/null | grep -q '"id":99,'; }
  SS_WAIT_TIMEOUT=120 ss_wait_for last
  ss-cat --format debezium "$T/ss.out" >"$T/ss.json"
  "$SS_ROOT/tests/helpers/debezium-compare.py" "$T/dbz.out" "$T/ss.json" >"$T/differences"
  cat "$T/differences" >&3
  # Exactly the differences ss-cat(1) lists, by path.
  listed=$(sed -n '/^\.SS Differences from Debezium/,/^\.S[HS] /p' "$SS_ROOT/man/ss-cat.1" | sed -n 's/^\.B \([a-z_.]*\)$/\1/p' | sort)
  [ -n "$listed" ]
  diff <(echo "$listed") <(cut -d: -f1 "$T/differences" | sort)
  # And the comparison saw every kind of event.
  for op in r c u d t m; do jq -s -e --arg op "$op" 'any(.[]; .op == $op)' "$T/dbz.out" >/dev/null; done
  [ "$(grep -c . "$T/ss.json")" -ge 15 ]
}
