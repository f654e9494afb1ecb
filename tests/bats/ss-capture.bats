#!/usr/bin/env bats
# ss-capture against a real PostgreSQL 15: every operation and type family, TOAST, replica identities, partitions,
# snapshot + stream exactness, acknowledged restarts after kill -9, idle heartbeats, slot conflicts and SIGTERM.

load ../helpers/servers

setup_file() {
  ss_start_postgres "wal_sender_timeout = 60s"
}

teardown_file() { ss_stop_all; }

# A failed assertion must not leave a tool running (a capture would retry its vanished server forever).
teardown() { ss_kill_jobs; }

setup() { T="$BATS_TEST_TMPDIR"; }

q() { psql -XAtq -v ON_ERROR_STOP=1 -c "$1"; }
# The insert position: a non-transactional message in a read-only transaction is not flushed at commit, so the
# write position (pg_current_wal_lsn) can still be behind it.
lsn_now() { q "select pg_current_wal_insert_lsn()"; }

# capture SLOT PUBTABLES... : creates the slot (no snapshot) now; later `drain` streams to the current WAL end.
new_slot() { # new_slot SLOT TABLE... (a publication named after the slot, for just these tables)
  local slot=$1
  shift
  local targs=()
  for t in "$@"; do targs+=(--table "$t"); done
  ss-capture --slot "$slot" --publication "$slot" "${targs[@]}" --create-slot
}
drain() { # drain SLOT > frames: everything up to now
  ss-capture --slot "$1" --publication "$1" --endpos "$(lsn_now)"
}
json() { ss-cat "$@"; }

@test "insert, update, delete, truncate and messages, with positions and transaction boundaries" {
  q "create table ops (id int primary key, v text)"
  new_slot s_ops public.ops
  q "insert into ops values (1, 'a'), (2, 'b')"
  psql -Xq -v ON_ERROR_STOP=1 <<'SQL'
begin;
update ops set v = 'z' where id = 1;
delete from ops where id = 2;
select pg_logical_emit_message(true, 'app', 'in-tx');
commit;
truncate ops restart identity cascade;
select pg_logical_emit_message(false, 'app', 'outside');
SQL
  drain s_ops >"$T/ops.ss"
  json "$T/ops.ss" >"$T/ops.jsonl"
  run jq -r '[.op, (.columns // [] | map(.text // "null") | join(",")), (.old_columns // [] | map(.text // "null") | join(","))] | join("|")' "$T/ops.jsonl"
  [ "${lines[0]}" = "insert|1,a|" ]
  [ "${lines[1]}" = "insert|2,b|" ]
  [ "${lines[2]}" = "update|1,z|" ]
  [ "${lines[3]}" = "delete||2,null" ]
  [ "${lines[4]}" = "message||" ]
  [ "${lines[5]}" = "truncate||" ]
  [ "${lines[6]}" = "message||" ]
  [ "${#lines[@]}" -eq 7 ]
  # Transactions: records share a commit LSN, ordinals count from 0, tx_last marks each transaction's end.
  run jq -r '"\(.commit_lsn) \(.ordinal // 0) \(.tx_last // false) \(.xid // 0)"' "$T/ops.jsonl"
  read -r l0 o0 t0 x0 <<<"${lines[0]}"
  read -r l1 o1 t1 x1 <<<"${lines[1]}"
  read -r l2 o2 t2 x2 <<<"${lines[2]}"
  read -r l4 o4 t4 _ <<<"${lines[4]}"
  [ "$l0" = "$l1" ] && [ "$o0" = 0 ] && [ "$o1" = 1 ] && [ "$t0" = false ] && [ "$t1" = true ] && [ "$x0" = "$x1" ]
  [ "$l2" != "$l1" ] && [ "$o2" = 0 ] && [ "$t2" = false ] && [ "$x2" != "$x1" ]
  [ "$l4" = "$l2" ] && [ "$o4" = 2 ] && [ "$t4" = true ]
  # Positions strictly increase.
  run python3 -c '
import json,sys
prev=None
for line in open(sys.argv[1]):
    r=json.loads(line); hi,lo=r["commit_lsn"].split("/"); p=((int(hi,16)<<32)|int(lo,16), r.get("ordinal",0))
    assert prev is None or p>prev, (prev,p); prev=p
' "$T/ops.jsonl"
  [ "$status" -eq 0 ]
  [ "$(jq -r 'select(.op=="truncate") | "\(.truncate_cascade) \(.truncate_restart_identity)"' "$T/ops.jsonl")" = "true true" ]
  [ "$(jq -r 'select(.op=="message") | .message.content | @base64d' "$T/ops.jsonl" | tr '\n' ' ')" = "in-tx outside " ]
  [ "$(jq -r 'select(.op=="message") | .message.transactional // false' "$T/ops.jsonl" | tr '\n' ' ')" = "true false " ]
  [ "$(jq -r '.source | "\(.name) \(.database) \(.slot)"' "$T/ops.jsonl" | sort -u)" = "postgres postgres s_ops" ]
}

@test "every type family arrives in PostgreSQL's own text form with its type OID and name" {
  psql -Xq -v ON_ERROR_STOP=1 <<'SQL'
create type mood as enum ('sad', 'happy');
create domain posint as int check (value > 0);
create type pair as (a int, b text);
create table types (
  id int primary key, n numeric, ts timestamptz, iv interval, arr text[], j jsonb, b bytea, u uuid,
  m mood, d posint, c pair, f float8, bo bool, dt date, r int4range);
SQL
  new_slot s_types public.types
  q "set timezone = 'UTC'; insert into types values (1, 12345678901234567890.12345678901234567890, '2026-11-20 10:00:00.123456+02', '1 year 2 mons 3 days 04:05:06.789', '{a,\"b c\",NULL}', '{\"k\": [1, 2.50, \"é\"]}', '\\x00ff10', '6f1c2a3e-0000-4000-8000-000000000001', 'happy', 42, '(7,\"x y\")', 1.5e300, true, '2026-02-28', '[1,10)')"
  drain s_types >"$T/types.ss"
    # Plain column output is each type's output function, as pgoutput uses (bool prints t, not true as ::text would).
  expected=$(psql -XAtq -F'|' -c "set timezone = 'UTC'" -c "select n, ts, iv, arr, j, b, u, m, d, c, f, bo, dt, r from types")
  # pgoutput prints with the walsender's settings; compare the values that do not depend on the session.
  got=$(json "$T/types.ss" | jq -r '[.columns[1:][] | .text] | join("|")')
  [ "$(cut -d'|' -f1,3- <<<"$got")" = "$(cut -d'|' -f1,3- <<<"$expected")" ]
  # timestamptz: the same instant whatever the time zone it was printed in.
  [ "$(q "select '$(cut -d'|' -f2 <<<"$got")'::timestamptz = '2026-11-20 08:00:00.123456+00'")" = t ]
  run bash -c "ss-cat '$T/types.ss' | jq -r '.columns[] | \"\(.name) \(.type_oid) \(.type_name)\"'"
  [[ "$output" == *"n 1700 numeric"* ]]
  [[ "$output" == *"arr 1009 _text"* ]]
  [[ "$output" == *"j 3802 jsonb"* ]]
  [[ "$output" == *"u 2950 uuid"* ]]
  [[ "$output" == *"m $(q "select 'mood'::regtype::oid") public.mood"* ]]
  [[ "$output" == *"d $(q "select 'posint'::regtype::oid") public.posint"* ]]
  [[ "$output" == *"c $(q "select 'pair'::regtype::oid") public.pair"* ]]
  [ "$(json "$T/types.ss" | jq -r '.columns[0] | "\(.is_key) \(.type_modifier)"')" = "true -1" ]
}

@test "an unchanged TOASTed value is flagged, never sent as empty or NULL" {
  q "create table docs (id int primary key, title text, body text)"
  q "alter table docs alter column body set storage external"
  new_slot s_toast public.docs
  q "insert into docs select 1, 't', string_agg(md5(g::text), '') from generate_series(1, 300) g"
  q "update docs set title = 'changed' where id = 1"
  drain s_toast >"$T/toast.ss"
  json "$T/toast.ss" >"$T/toast.jsonl"
  [ "$(jq -r 'select(.op=="insert") | .columns[2].text | length' "$T/toast.jsonl")" -eq 9600 ]
  [ "$(jq -c 'select(.op=="update") | .columns[2] | {unchanged_toast, is_null, text}' "$T/toast.jsonl")" = '{"unchanged_toast":true,"is_null":null,"text":null}' ]
  [ "$(jq -r 'select(.op=="update") | .columns[1].text' "$T/toast.jsonl")" = changed ]
}

@test "replica identity DEFAULT, FULL, USING INDEX and NOTHING" {
  psql -Xq -v ON_ERROR_STOP=1 <<'SQL'
create table ri_d (id int primary key, v text);
create table ri_f (id int primary key, v text);
alter table ri_f replica identity full;
create table ri_i (id int, code text not null, v text);
create unique index ri_i_code on ri_i (code);
alter table ri_i replica identity using index ri_i_code;
create table ri_n (id int, v text);
alter table ri_n replica identity nothing;
insert into ri_d values (1, 'a'); insert into ri_f values (1, 'a'); insert into ri_i values (1, 'c1', 'a');
SQL
  new_slot s_ri public.ri_d public.ri_f public.ri_i public.ri_n
  psql -Xq -v ON_ERROR_STOP=1 <<'SQL'
update ri_d set v = 'b'; update ri_d set id = 2; delete from ri_d;
update ri_f set v = 'b'; delete from ri_f;
update ri_i set code = 'c2'; delete from ri_i;
insert into ri_n values (1, 'x');
SQL
  drain s_ri >"$T/ri.ss"
  json "$T/ri.ss" | jq -r '[.table, .op, .replica_identity, (.old_key_only // false), ((.old_columns // []) | map(.text // "-") | join(","))] | join(" ")' >"$T/ri.txt"
  run cat "$T/ri.txt"
  [ "${lines[0]}" = "ri_d update d false " ]    # key unchanged: no old row
  [ "${lines[1]}" = "ri_d update d true 1,-" ]  # key changed: old key
  [ "${lines[2]}" = "ri_d delete d true 2,-" ]
  [ "${lines[3]}" = "ri_f update f false 1,a" ] # full old row
  [ "${lines[4]}" = "ri_f delete f false 1,b" ]
  [ "${lines[5]}" = "ri_i update i true -,c1,-" ]
  [ "${lines[6]}" = "ri_i delete i true -,c2,-" ]
  [ "${lines[7]}" = "ri_n insert n false " ]
  # Key flags follow the identity: FULL flags every column, USING INDEX the index's.
  [ "$(json "$T/ri.ss" | jq -r 'select(.table=="ri_f" and .op=="update") | [.columns[] | .is_key // false] | map(tostring) | join(",")' | head -1)" = "true,true" ]
  [ "$(json "$T/ri.ss" | jq -r 'select(.table=="ri_i" and .op=="update") | [.columns[] | .is_key // false] | map(tostring) | join(",")')" = "false,true,false" ]
  # A replica identity changed on a table is a shape change ss-cat --shapes names.
  psql -Xq -v ON_ERROR_STOP=1 -c "alter table ri_d replica identity full" -c "insert into ri_d values (3, 'c')"
  drain s_ri >>"$T/ri.ss"
  ss-cat --shapes "$T/ri.ss" >"$T/ri.shapes"
  grep -Eq ' public.ri_d shape [0-9a-f]{16}: replica identity default -> full$' "$T/ri.shapes"
}

@test "partitioned tables are reported as their root with publish_via_partition_root" {
  psql -Xq -v ON_ERROR_STOP=1 <<'SQL'
create table sales (id int, region text, amount int) partition by list (region);
create table sales_eu partition of sales for values in ('eu');
create table sales_us partition of sales for values in ('us');
SQL
  ss-capture --slot s_part --publication s_part --table public.sales --via-partition-root --create-slot
  q "insert into sales values (1, 'eu', 10), (2, 'us', 20)"
  drain s_part >"$T/part.ss"
  [ "$(json "$T/part.ss" | jq -r '.table' | sort -u)" = sales ]
  [ "$(json "$T/part.ss" | jq -s 'length')" -eq 2 ]
}

@test "initial snapshot + stream is exactly the table: no gap, no overlap, under concurrent writes" {
  q "create table acct (id int primary key, balance int)"
  q "insert into acct select g, g from generate_series(1, 20000) g"
  # Writes run while the slot is created and the snapshot is copied.
  (for i in $(seq 1 150); do
    psql -Xq -c "begin; update acct set balance = balance + 1 where id = $i * 7; delete from acct where id = $i * 13; insert into acct values (100000 + $i, $i); commit;" 2>/dev/null
  done) 3>&- &
  writer=$!
  ss-capture --slot s_snap --publication s_snap --table public.acct >"$T/snap.ss" 2>"$T/snap.err" 3>&- &
  cap=$!
  wait "$writer"
  q "select pg_logical_emit_message(true, 'test', 'done')"
  ss_wait_for bash -c "ss-cat '$T/snap.ss' 2>/dev/null | grep -q '\"prefix\":\"test\"'"
  kill -TERM "$cap"
  wait "$cap"
  [ "$(json "$T/snap.ss" | jq -r 'select(.op=="snapshot") | .op' | wc -l)" -ge 19000 ]
  expected="$(q "select count(*) from acct") $(q "select md5(string_agg(id || ',' || balance, ';' order by id)) from acct")"
  json "$T/snap.ss" >"$T/snap.jsonl"
  [ "$(python3 "$SS_ROOT/tests/helpers/fold_state.py" "$T/snap.jsonl" acct balance)" = "$expected" ]
  # Snapshot rows sit just below every streamed transaction.
  run python3 -c '
import json,sys
snap=[];stream=[]
for l in open(sys.argv[1]):
    r=json.loads(l); hi,lo=r["commit_lsn"].split("/"); p=(int(hi,16)<<32|int(lo,16), r.get("ordinal",0))
    (snap if r["op"].startswith(("snapshot","checkpoint")) else stream).append(p)
assert len(set(snap))==len(snap) and max(snap) < min(stream)
' <(json "$T/snap.ss")
  [ "$status" -eq 0 ]
}

@test "kill -9 and restart with --ack-from: PostgreSQL resends exactly what was not acknowledged" {
  q "create table ack (id int primary key)"
  new_slot s_ack public.ack
  for i in $(seq 1 40); do q "insert into ack values ($i)"; done
  : >"$T/acks"
  ss-capture --slot s_ack --publication s_ack --ack-from "$T/acks" --status-interval 1s >"$T/run1.ss" 3>&- &
  cap=$!
  ss_wait_for bash -c "[ \$(ss-cat '$T/run1.ss' 2>/dev/null | wc -l) -eq 40 ]"
  # The downstream acknowledges the first 15 records, then the capture is killed without warning.
  pos=$(json "$T/run1.ss" | sed -n 15p | jq -r '"\(.commit_lsn):\(.ordinal // 0)"')
  before=$(q "select confirmed_flush_lsn from pg_replication_slots where slot_name = 's_ack'")
  echo "$pos" >>"$T/acks"
  ss_wait_for bash -c "[ \"\$(psql -XAtc \"select confirmed_flush_lsn > '$before' from pg_replication_slots where slot_name = 's_ack'\")\" = t ]"
  kill -9 "$cap"
  wait "$cap" || true
  # Nothing beyond what came back was confirmed: the 16th record onwards is sent again.
  drain s_ack >"$T/run2.ss"
  [ "$(json "$T/run2.ss" | jq -r '.columns[0].text' | head -1)" = 16 ]
  [ "$( (json "$T/run1.ss" | head -15; json "$T/run2.ss") | jq -r '.columns[0].text' | tr '\n' ' ')" = "$(seq 1 40 | tr '\n' ' ')" ]
}

@test "an idle source keeps its slot moving: confirmed_flush_lsn follows WAL written elsewhere" {
  q "create table quiet (id int primary key)"
  new_slot s_idle public.quiet
  createdb busy
  start=$(q "select confirmed_flush_lsn from pg_replication_slots where slot_name = 's_idle'")
  ss-capture --slot s_idle --publication s_idle --heartbeat 1s --status-interval 1s >"$T/idle.ss" 3>&- &
  cap=$!
  psql -Xq -d busy -c "create table noise as select g from generate_series(1, 50000) g"
  target=$(lsn_now)
  SS_WAIT_TIMEOUT=60 ss_wait_for bash -c "[ \"\$(psql -XAtc \"select confirmed_flush_lsn >= '$target' from pg_replication_slots where slot_name = 's_idle'\")\" = t ]"
  kill -TERM "$cap"
  wait "$cap"
  [ ! -s "$T/idle.ss" ]
  [ "$(q "select '$target'::pg_lsn > '$start'::pg_lsn")" = t ]
}

@test "--heartbeat-message writes heartbeat records on an idle database" {
  q "create table hb (id int primary key)"
  new_slot s_hb public.hb
  ss-capture --slot s_hb --publication s_hb --heartbeat 1s --heartbeat-message >"$T/hb.ss" 3>&- &
  cap=$!
  ss_wait_for bash -c "ss-cat '$T/hb.ss' 2>/dev/null | grep -q '\"op\":\"heartbeat\"'"
  kill -TERM "$cap"
  wait "$cap"
}

@test "a slot in use by another capture is exit 75 with a clear message; SIGTERM is a clean exit 0" {
  q "create table busy1 (id int primary key)"
  new_slot s_busy public.busy1
  ss-capture --slot s_busy --publication s_busy >"$T/busy.ss" 3>&- &
  cap=$!
  ss_wait_for bash -c "[ \"\$(psql -XAtc \"select active from pg_replication_slots where slot_name = 's_busy'\")\" = t ]"
  run --separate-stderr ss-capture --slot s_busy --publication s_busy
  [ "$status" -eq 75 ]
  [[ "$stderr" == "ss-capture: replication slot s_busy is in use by another process"* ]]
  [ "$(wc -l <<<"$stderr")" -eq 1 ]
  kill -TERM "$cap"
  st=0
  wait "$cap" || st=$?
  [ "$st" -eq 0 ]
}

@test "--exclude-table drops a table's changes, and --snapshot only copies without streaming" {
  q "create table keep1 (id int primary key); create table skip1 (id int primary key)"
  q "insert into keep1 values (1); insert into skip1 values (1)"
  ss-capture --slot s_only --publication s_only --table public.keep1 --table public.skip1 --exclude-table public.skip1 --snapshot only >"$T/only.ss"
  [ "$(json "$T/only.ss" | jq -r 'select(.op == "snapshot") | "\(.op) \(.table)"')" = "snapshot keep1" ]
  # Checkpoint zero: its markers around the rows, the end one counting them.
  [ "$(json "$T/only.ss" | jq -r '.op' | sed -n '1p;$p' | tr '\n' ' ')" = "checkpoint_begin checkpoint_end " ]
  [ "$(json "$T/only.ss" | jq -r 'select(.op == "checkpoint_end") | .checkpoint.tables[] | "\(.schema).\(.table)=\(.rows)"')" = public.keep1=1 ]
  [ "$(json "$T/only.ss" | jq -r '.tx_last // false' | tr '\n' ' ')" = "false false true " ]
}

@test "usage and connection errors are one line with sysexits codes" {
  run --separate-stderr ss-capture --endpos nonsense
  [ "$status" -eq 64 ]
  [[ "$stderr" == "ss-capture: --endpos takes an LSN like 0/16B3748"* ]]
  run --separate-stderr ss-capture --dbname "postgresql://postgres@127.0.0.1:1/postgres" --slot x
  [ "$status" -eq 69 ]
  [ "$(wc -l <<<"$stderr")" -eq 1 ]
  [[ "$stderr" == "ss-capture: cannot connect to PostgreSQL"* ]]
}

@test "a lost connection is retried with backoff and resumes without loss or duplicate" {
  q "create table rc (id int primary key)"
  new_slot s_rc public.rc
  for i in $(seq 1 10); do q "insert into rc values ($i)"; done
  ss-capture --slot s_rc --publication s_rc --status-interval 1s >"$T/rc.ss" 2>"$T/rc.err" 3>&- &
  cap=$!
  ss_wait_for bash -c "[ \$(ss-cat '$T/rc.ss' 2>/dev/null | wc -l) -eq 10 ]"
  # The server drops the walsender, as a failover or network cut would.
  q "select pg_terminate_backend(active_pid) from pg_replication_slots where slot_name = 's_rc'" >/dev/null
  for i in $(seq 11 20); do q "insert into rc values ($i)"; done
  ss_wait_for bash -c "[ \$(ss-cat '$T/rc.ss' 2>/dev/null | wc -l) -ge 20 ]"
  kill -TERM "$cap"
  wait "$cap"
  grep -q "reconnecting in" "$T/rc.err"
  [ "$(ss-cat "$T/rc.ss" | jq -r '.columns[0].text' | tr '\n' ' ')" = "$(seq 1 20 | tr '\n' ' ')" ]
}

@test "a REPLICATION user without superuser rights streams once the publication exists" {
  q "create table ru (id int primary key)"
  q "create publication s_ru for table ru"
  q "create role repl_only login replication"
  q "grant select on ru to repl_only"
  ss-capture --dbname "user=repl_only" --slot s_ru --publication s_ru --create-slot
  q "insert into ru values (1)"
  ss-capture --dbname "user=repl_only" --slot s_ru --publication s_ru --endpos "$(lsn_now)" >"$T/ru.ss"
  [ "$(ss-cat "$T/ru.ss" | jq -r '"\(.op) \(.columns[0].text)"')" = "insert 1" ]
  # Creating a publication FOR ALL TABLES is what it cannot do: a clear configuration error.
  run --separate-stderr ss-capture --dbname "user=repl_only" --slot s_ru2 --publication s_ru2 --create-slot
  [ "$status" -eq 78 ]
  [[ "$stderr" == "ss-capture: cannot create publication s_ru2"* ]]
}

@test "with a regular file as stdout and no acks, records are fsynced then confirmed" {
  q "create table rf (id int primary key)"
  new_slot s_rf public.rf
  q "insert into rf values (1)"
  end=$(lsn_now)
  ss-capture --slot s_rf --publication s_rf --endpos "$end" >"$T/rf.ss"
  [ "$(q "select confirmed_flush_lsn >= '$end' from pg_replication_slots where slot_name = 's_rf'")" = t ]
  # Nothing is sent twice: a second run from the slot has nothing before the end.
  ss-capture --slot s_rf --publication s_rf --endpos "$(lsn_now)" >"$T/rf2.ss"
  [ ! -s "$T/rf2.ss" ]
}

@test "a transaction replayed under a replication origin carries the origin's name and LSN" {
  q "create table org (id int primary key)"
  new_slot s_org public.org
  q "select pg_replication_origin_create('upstream_a')" >/dev/null
  psql -Xq -v ON_ERROR_STOP=1 >/dev/null <<'SQL'
select pg_replication_origin_session_setup('upstream_a');
begin;
select pg_replication_origin_xact_setup('0/ABCDEF', now());
insert into org values (1);
commit;
SQL
  drain s_org >"$T/org.ss"
  [ "$(ss-cat "$T/org.ss" | jq -r '"\(.origin) \(.origin_lsn)"')" = "upstream_a 0/ABCDEF" ]
}

@test "the default publication leaves keyless tables out: the application's UPDATE on them still succeeds" {
  q "create database keyless"
  k() { psql -XAtq -v ON_ERROR_STOP=1 -d keyless -c "$1"; }
  k "create table keyed (id int primary key, v text); create table nopk (v text); insert into nopk values ('a')"
  run -0 --separate-stderr ss-capture -d dbname=keyless --slot ks1 --publication kp1 --create-slot
  [[ "$stderr" == *"created publication kp1 for 1 table; tables created later are not in it"* ]]
  [[ "$stderr" == *"DROP PUBLICATION \"kp1\" removes it"* ]]
  [[ "$stderr" == *"left out of publication kp1: public.nopk (no primary key or replica identity"* ]]
  [[ "$stderr" == *"ALTER TABLE public.nopk REPLICA IDENTITY FULL;"* ]]
  [[ "$stderr" == *"created replication slot ks1 at "*"ss-capture --drop-slot --slot ks1"* ]]
  [ "$(k "select string_agg(tablename, ',') from pg_publication_tables where pubname = 'kp1'")" = keyed ]
  # The application goes on as before: a keyless table outside the publication takes its UPDATE and DELETE.
  k "update nopk set v = 'b'"
  k "delete from nopk"
  # FOR ALL TABLES would break them: refused, and nothing is created.
  run -78 --separate-stderr ss-capture -d dbname=keyless --slot ks2 --publication kp2 --all-tables --create-slot
  [[ "$stderr" == *"not creating publication kp2 FOR ALL TABLES with public.nopk"*"--allow-keyless"* ]]
  [ "$(k "select count(*) from pg_publication where pubname = 'kp2'")" = 0 ]
  [ "$(k "select count(*) from pg_replication_slots where slot_name = 'ks2'")" = 0 ]
  # Once the table has a replica identity, FOR ALL TABLES is created; a keyless table created later is warned about
  # with its first change.
  k "alter table nopk replica identity full"
  run -0 --separate-stderr ss-capture -d dbname=keyless --slot ks2 --publication kp2 --all-tables --create-slot
  [[ "$stderr" == *"created publication kp2 FOR ALL TABLES"* ]]
  k "create table late (v text); insert into late values ('x')"
  end=$(k "select pg_current_wal_insert_lsn()")
  ss-capture -d dbname=keyless --slot ks2 --publication kp2 --endpos "$end" >"$T/late.ss" 2>"$T/late.err"
  grep -q 'publication kp2 publishes public.late without a primary key or replica identity' "$T/late.err"
  [ "$(grep -c 'publishes public.late' "$T/late.err")" -eq 1 ] # once, not again at its first change
  # One created while the capture streams is named at its first change.
  ss-capture -v -d dbname=keyless --slot ks2 --publication kp2 >"$T/live.ss" 2>"$T/live.err" 3>&- &
  pid=$!
  ss_wait_for grep -q "streaming from slot ks2" "$T/live.err"
  k "create table later (v text); insert into later values ('y')"
  ss_wait_for grep -q 'publication kp2 publishes public.later without a primary key' "$T/live.err"
  ss_stop_expect "$pid" 0
  [ "$(ss-cat "$T/late.ss" | jq -r 'select(.table == "late") | .columns[0].text')" = x ]
  # The pipeline's status says what WAL the slot keeps, and warns past --max-slot-lag and about the keyless table.
  run -0 --separate-stderr env -u REDIS_URL -u KAFKA_BROKERS ss-progress pipeline --once --json -d dbname=keyless \
    --slot ks2 --publication kp2 --max-slot-lag 1
  echo "$output" | jq -e '.postgres.retained_bytes > 1'
  echo "$output" | jq -e '[.postgres.warnings[] | select(startswith("slot ks2 keeps "))] | length == 1'
  echo "$output" | jq -e '[.postgres.warnings[] | select(contains("publishes public.late, public.later without a primary key"))] | length == 1'
  run -0 --separate-stderr env -u REDIS_URL -u KAFKA_BROKERS ss-progress pipeline --once --text -d dbname=keyless \
    --slot ks2 --publication kp2
  [[ "$output" == *"retained "* ]]
  [[ "$output" == *"WARNING   publication kp2 publishes public.late"* ]]
  [[ "$output" != *"WARNING   slot"* ]] # under the default 1GB
  run -0 --separate-stderr ss-capture -d dbname=keyless --slot ks1 --drop-slot
  [[ "$stderr" == *"dropped replication slot ks1"* ]]
  ss-capture -d dbname=keyless --slot ks2 --drop-slot 2>/dev/null
}

@test "--drop-slot and shadowstream remove take away what ss-capture created, and keep what it did not" {
  q "create database rm"
  r() { psql -XAtq -v ON_ERROR_STOP=1 -d rm -c "$1"; }
  r "create table a (id int primary key)"
  ss-capture -d dbname=rm --slot rm1 --publication rmp --create-slot 2>/dev/null
  ss-capture -d dbname=rm --slot rm2 --publication rmp --create-slot 2>/dev/null
  run -0 --separate-stderr ss-capture -d dbname=rm --slot rm1 --publication rmp --drop-slot
  [[ "$stderr" == *"dropped replication slot rm1"*"kept publication rmp: other slots of the database may read it"* ]]
  # The supervisor's remove, with the pipeline down: the last slot, the publication ss-capture made, the state.
  mkdir -p "$T/state"
  run -0 env STATE_DIR="$T/state" PG_CONNINFO=dbname=rm SLOT=rm2 PUBLICATION=rmp shadowstream remove
  [[ "$output" == *"dropped publication rmp"* ]]
  [[ "$output" == *"shadowstream: removed slot rm2"*"the Redis stream and the Kafka archive keep their data" ]]
  [ ! -e "$T/state" ]
  [ "$(r "select count(*) from pg_publication where pubname = 'rmp'")" = 0 ]
  [ "$(r "select count(*) from pg_replication_slots where slot_name in ('rm1', 'rm2')")" = 0 ]
  # A publication the user made stays.
  r "create publication mine for table a"
  ss-capture -d dbname=rm --slot rm3 --publication mine --create-slot 2>/dev/null
  run -0 --separate-stderr ss-capture -d dbname=rm --slot rm3 --publication mine --drop-slot
  [[ "$stderr" == *"kept publication mine: ss-capture did not create it"* ]]
  [ "$(r "select count(*) from pg_publication where pubname = 'mine'")" = 1 ]
}
