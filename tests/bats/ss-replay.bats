#!/usr/bin/env bats
# ss-replay: pacing measured against the ideal schedule, time-travel replays into a real PostgreSQL compared with
# the source's own checksums at chosen instants, idempotent reruns, apply errors, pause/resume and SIGTERM.

load ../helpers/servers
load ../helpers/streams

setup_file() {
  ss_start_postgres "wal_sender_timeout = 60s"
}

teardown_file() { ss_stop_all; }

teardown() { ss_kill_jobs; }

setup() { T="$BATS_TEST_TMPDIR"; }

q() { psql -XAtq -v ON_ERROR_STOP=1 -c "$1"; }
qd() { psql -XAtq -v ON_ERROR_STOP=1 -d "$1" -c "$2"; }
has_rows() { [ -n "$(qd "$1" "$2")" ]; }
lsn_now() { q "select pg_current_wal_insert_lsn()"; }
sum_of() { # sum_of DB TABLE: count and md5 of the table's rows in key order
  qd "$1" "select count(*) || ' ' || coalesce(md5(string_agg(t::text, ',' order by id)), '-') from $2 t"
}
fresh_db() {
  q "drop database if exists $1"
  q "create database $1"
}

# A stream of about ten seconds with irregular gaps: 20 ms steps, 150 ms steps with 5-record transactions, 7 ms.
irregular_stream() {
  ss-gen-records -n 200 --interval 20ms --start-time 2026-11-20T10:00:00Z --start-lsn 16777216
  ss-gen-records -n 50 --tx-size 5 --interval 150ms --start-time 2026-11-20T10:00:05Z --start-lsn 33554432
  ss-gen-records -n 400 --interval 7ms --start-time 2026-11-20T10:00:07Z --start-lsn 50331648
}

# pacing_error SPEED < clock lines: "max_abs_error_us total_error_us ideal_total_us" against commit gaps / SPEED.
pacing_error() {
  awk -v s="$1" '{ e = $1 - $2 / s; if (e < 0) e = -e; if (e > m) m = e; last = $1; ideal = $2 / s }
                 END { d = last - ideal; if (d < 0) d = -d; printf "%d %d %d\n", m, d, ideal }'
}

@test "--speed 10 keeps the original gaps divided by ten, within 1%, without spinning a core" {
  irregular_stream >"$T/in.ss"
  /usr/bin/time -f "%U %S" -o "$T/cpu" ss-replay --speed 10 <"$T/in.ss" | ss-frame-clock >"$T/clock"
  [ "$(wc -l <"$T/clock")" -eq 610 ]  # one line per transaction
  read -r max total ideal < <(pacing_error 10 <"$T/clock")
  echo "max error ${max}us, end error ${total}us over ${ideal}us" >&3
  [ "$ideal" -gt 900000 ]
  [ "$total" -le $((ideal / 100)) ]
  # Each transaction on time too, allowing for a busy shared machine's scheduling delays.
  [ "$max" -le $((ideal / 20)) ]
  # A busy-waiting pacer would burn about a CPU second here.
  awk '{ exit !($1 + $2 < 0.3) }' "$T/cpu"
}

@test "--max-gap shortens idle stretches and --rate paces by records" {
  { ss-gen-records -n 10 --interval 10ms --start-time 2026-11-20T10:00:00Z --start-lsn 16777216
    ss-gen-records -n 10 --interval 10ms --start-time 2026-11-20T11:00:00Z --start-lsn 33554432; } >"$T/gap.ss"
  ss-replay --speed 1 --max-gap 300ms <"$T/gap.ss" | ss-frame-clock >"$T/clock"
  last=$(tail -1 "$T/clock" | cut -d' ' -f1)
  # 9 + 9 gaps of 10 ms and an hour shortened to 300 ms: 480 ms.
  [ "$last" -ge 475000 ] && [ "$last" -le 500000 ]

  ss-gen-records -n 50 --tx-size 50 >"$T/rate.ss"
  ss-replay --rate 100/s <"$T/rate.ss" | ss-cat | jq -c . >/dev/null
  /usr/bin/time -f "%e" -o "$T/wall" ss-replay --rate 100 <"$T/rate.ss" >/dev/null
  awk '{ exit !($1 >= 0.49 && $1 < 0.75) }' "$T/wall"
}

@test "frames pass through byte for byte; the window selects by time, position and table" {
  { ss-gen-records -n 6 --tx-size 2 --table a --start-lsn 16777216 --interval 1s
    ss-gen-records -n 4 --tx-size 2 --table b --start-lsn 33554432 --interval 1s --start-time 2026-11-20T10:00:10Z
  } >"$T/in.ss"
  ss-replay --speed max --metrics-file "$T/replay.prom" <"$T/in.ss" >"$T/out.ss"
  cmp "$T/in.ss" "$T/out.ss"
  grep -q '^shadowstream_records_out_total{source="bench",tool="ss-replay"} 10$' "$T/replay.prom"
  run -0 bash -c "ss-replay --speed max --since 2026-11-20T10:00:01Z --until 2026-11-20T10:00:11Z <'$T/in.ss' | ss-cat | jq -r '.table + \" \" + .commit_lsn + \":\" + (.ordinal // 0 | tostring)'"
  # until is exclusive: b's second transaction, committed at 10:00:11, is out
  [ "${lines[*]}" = "a 0/1000100:0 a 0/1000100:1 a 0/1000200:0 a 0/1000200:1 b 0/2000000:0 b 0/2000000:1" ]
  run -0 bash -c "ss-replay --speed max --from-position 0/1000100:1 --to-position 0/2000000:0 --table b <'$T/in.ss' | ss-cat | jq -r '.commit_lsn + \":\" + (.ordinal // 0 | tostring)'"
  [ "${lines[*]}" = "0/2000000:0" ]
}

@test "--until into a fresh database rebuilds each table exactly as the source had it at that instant" {
  q "create table orders (id int primary key, status text not null, amount numeric(12,2), note text, tags text[])"
  q "alter table orders alter note set storage external"
  q "create table payments (id bigserial primary key, order_id int, paid timestamptz)"
  q "alter table payments replica identity full"
  q "insert into orders select g, 'new', g * 1.25, repeat('n', 3000), array['x', g::text] from generate_series(1, 200) g"
  # The archive begins with a snapshot: the first capture run creates the slot and copies the tables.
  ss-capture --slot s_until --publication s_until --table public.orders --table public.payments \
    --endpos "$(lsn_now)" >"$T/archive.ss"
  : >"$T/instants"
  for round in 1 2 3 4 5 6; do
    psql -Xq -v ON_ERROR_STOP=1 <<SQL
begin;
update orders set status = 'paid', amount = amount + $round where id % 7 = $round;
insert into payments (order_id, paid) select id, now() from orders where id % 7 = $round;
delete from orders where id % 11 = $round;
insert into orders values (1000 + $round, 'new', $round, null, null);
commit;
update payments set paid = paid + interval '1 day' where order_id % 5 = $round % 5;
SQL
    # An instant after this round's commits and before the next round's: the state to rebuild.
    echo "$(q "select to_char(clock_timestamp() at time zone 'UTC', 'YYYY-MM-DD\"T\"HH24:MI:SS.US\"Z\"')") $(sum_of postgres orders) $(sum_of postgres payments)" >>"$T/instants"
  done
  ss-capture --slot s_until --publication s_until --endpos "$(lsn_now)" >>"$T/archive.ss"

  for round in 2 5; do
    read -r at oc om pc pm < <(sed -n "${round}p" "$T/instants")
    fresh_db shadow_until
    ss-replay --speed max --until "$at" --to "dbname=shadow_until" --create-tables <"$T/archive.ss"
    [ "$(sum_of shadow_until orders)" = "$oc $om" ]
    [ "$(sum_of shadow_until payments)" = "$pc $pm" ]
  done

  # A rerun of the same replay changes nothing: every record is at or below the target's high-water position.
  before=$(qd shadow_until "select commit_lsn || ':' || ordinal || ' ' || updated_at from shadowstream.replay_position")
  run -0 --separate-stderr ss-replay -v --speed max --until "$at" --to "dbname=shadow_until" <"$T/archive.ss"
  [[ "$stderr" == *"applied 0 in 0 transactions"* ]]
  [ "$(sum_of shadow_until orders)" = "$oc $om" ]
  [ "$(qd shadow_until "select commit_lsn || ':' || ordinal || ' ' || updated_at from shadowstream.replay_position")" = "$before" ]

  # And the rest of the archive, replayed on top, reaches the source's final state.
  ss-replay --speed max --to "dbname=shadow_until" <"$T/archive.ss"
  [ "$(sum_of shadow_until orders)" = "$(sum_of postgres orders)" ]
  [ "$(sum_of shadow_until payments)" = "$(sum_of postgres payments)" ]
}

@test "a change that cannot apply stops the replay with the record, its position and the SQL error" {
  q "create table clash (id int primary key, v text)"
  ss-capture --slot s_clash --publication s_clash --table public.clash --create-slot
  q "insert into clash values (1, 'one')"
  q "insert into clash values (2, 'two'), (3, 'three')"
  q "insert into clash values (4, 'four')"
  ss-capture --slot s_clash --publication s_clash --endpos "$(lsn_now)" >"$T/clash.ss"
  fresh_db shadow_clash
  qd shadow_clash "create table clash (id int primary key, v text)"
  qd shadow_clash "insert into clash values (3, 'already here')"

  run -65 --separate-stderr ss-replay --speed max --to dbname=shadow_clash <"$T/clash.ss"
  [ "${#stderr_lines[@]}" -eq 1 ]
  [[ "$stderr" == "ss-replay: cannot apply insert on public.clash at position "*":1: "*"duplicate key"*'record: {'*'"text":"3"'* ]]
  # The failing transaction left nothing behind; the one before it is applied and recorded.
  [ "$(qd shadow_clash "select string_agg(id::text, ',' order by id) from clash")" = "1,3" ]
  [ "$(qd shadow_clash "select count(*) from shadowstream.replay_position")" = 1 ]

  run -0 --separate-stderr ss-replay --speed max --on-error log --to dbname=shadow_clash <"$T/clash.ss"
  [[ "$stderr" == "ss-replay: skipped: insert on public.clash at position "*"duplicate key"* ]]
  [ "$(qd shadow_clash "select string_agg(id || '=' || v, ',' order by id) from clash")" = "1=one,2=two,3=already here,4=four" ]
  # A target without the table says how to get one.
  fresh_db shadow_bare
  run -65 --separate-stderr ss-replay --speed max --to dbname=shadow_bare <"$T/clash.ss"
  [ "${#stderr_lines[@]}" -eq 1 ]
  [[ "$stderr" == *'relation "public.clash" does not exist'*'(rerun with --create-tables to create missing tables from the records, or create the table); record: {'* ]]
}

@test "--schema-map and --table-map send tables elsewhere; --table filters" {
  q "create table mapped (id int primary key, v text)"
  q "create table other (id int primary key)"
  ss-capture --slot s_map --publication s_map --table public.mapped --table public.other --create-slot
  q "insert into mapped values (1, 'a'), (2, 'b')"
  q "insert into other values (1)"
  ss-capture --slot s_map --publication s_map --endpos "$(lsn_now)" >"$T/map.ss"
  fresh_db shadow_map
  ss-replay --speed max --to dbname=shadow_map --create-tables --schema-map public=copy --table-map other=other_v2 <"$T/map.ss"
  [ "$(qd shadow_map "select count(*) from copy.mapped")" = 2 ]
  [ "$(qd shadow_map "select count(*) from copy.other_v2")" = 1 ]
  fresh_db shadow_map
  ss-replay --speed max --to dbname=shadow_map --create-tables --table public.other <"$T/map.ss"
  [ "$(qd shadow_map "select count(*) from other")" = 1 ]
  [ "$(qd shadow_map "select to_regclass('public.mapped') is null")" = t ]
}

@test "SIGTERM inside a paced transaction rolls it back and exits 0; the rerun applies it whole" {
  ss-gen-records -n 60 --tx-size 60 --table slow >"$T/slow.ss"
  fresh_db shadow_term
  ss-replay --rate 20 --to dbname=shadow_term --create-tables <"$T/slow.ss" 2>"$T/err" 3>&- &
  pid=$!
  # The transaction is open on the target once rows are being applied.
  ss_wait_for has_rows shadow_term "select 1 from pg_stat_activity where datname = 'shadow_term' and state = 'idle in transaction'"
  kill -TERM "$pid"
  rc=0
  wait "$pid" || rc=$?
  [ "$rc" -eq 0 ]
  grep -q "stopped inside the transaction" "$T/err"
  [ "$(qd shadow_term "select to_regclass('public.slow') is null")" = t ]
  ss-replay --speed max --to dbname=shadow_term --create-tables <"$T/slow.ss"
  [ "$(qd shadow_term "select count(*) from slow")" = 60 ]
}

@test "SIGTSTP pauses and SIGCONT resumes on the shifted schedule, without a catch-up burst" {
  ss-gen-records -n 30 --interval 50ms >"$T/in.ss"
  mkfifo "$T/pipe"
  ss-frame-clock <"$T/pipe" >"$T/clock" 3>&- &
  ss-replay --speed 1 <"$T/in.ss" >"$T/pipe" 3>&- &
  pid=$!
  ss_wait_for test -s "$T/clock"
  kill -TSTP "$pid"
  ss_wait_for bash -c "awk '{print \$3}' /proc/$pid/stat | grep -qx T"
  sleep 1  # the pause being measured, not a synchronisation
  kill -CONT "$pid"
  wait
  [ "$(wc -l <"$T/clock")" -eq 30 ]
  last=$(tail -1 "$T/clock" | cut -d' ' -f1)
  # 29 gaps of 50 ms plus the pause: a replay that made up for the pause would end near 1.45 s.
  [ "$last" -ge 2400000 ]
  # No two records closer than 30 ms apart: no burst.
  awk 'NR > 1 && $1 - prev < 30000 { exit 1 } { prev = $1 }' "$T/clock"
}

@test "usage, data and connection errors are one line with sysexits codes" {
  run -64 --separate-stderr ss-replay --speed 0
  [[ "$stderr" == "ss-replay: --speed: expected a factor from 0.000001 to 1000000, or 'max', got '0'" ]]
  run -64 --separate-stderr ss-replay --on-error maybe
  run -64 --separate-stderr ss-replay --create-tables
  [[ "$stderr" == *"need --to"* ]]
  run -64 --separate-stderr ss-replay --since "last tuesday"
  printf '\x05abc' >"$T/trunc.ss"
  run -65 --separate-stderr ss-replay --speed max <"$T/trunc.ss"
  [[ "$stderr" == *"offset 0"* ]]
  [ "${#stderr_lines[@]}" -eq 1 ]
  ss-gen-records -n 1 >"$T/one.ss"
  run -69 --separate-stderr ss-replay --speed max --to "host=127.0.0.1 port=$(ss_free_port) dbname=x connect_timeout=2" <"$T/one.ss"
  [ "${#stderr_lines[@]}" -eq 1 ]
}

@test "overlapping replays into one target take turns on the high-water row: every change applied once" {
  overlap_stream 200 >"$T/in.ss"
  fresh_db overlap
  pids=()
  for i in 1 2 3 4; do
    ss-replay --speed max --to dbname=overlap --create-tables <"$T/in.ss" 2>"$T/err$i" 3>&- &
    pids+=($!)
  done
  for p in "${pids[@]}"; do wait "$p"; done
  cat "$T"/err* >&3
  [ "$(qd overlap "select count(*), count(distinct n) from nokey")" = "200|200" ]
  [ "$(qd overlap "select count(*), count(distinct id) from keyed")" = "200|200" ]
  [ "$(qd overlap "select commit_lsn || ':' || ordinal from shadowstream.replay_position")" = \
    "$(ss-cat "$T/in.ss" | tail -1 | jq -r '"\(.commit_lsn):\(.ordinal)"')" ]
  # A rerun and a replay of an overlapping stretch, together: still nothing twice.
  overlap_stream 300 >"$T/more.ss"
  ss-replay --speed max --to dbname=overlap <"$T/in.ss" 3>&- &
  a=$!
  ss-replay --speed max --to dbname=overlap <"$T/more.ss"
  wait "$a"
  [ "$(qd overlap "select count(*), count(distinct n) from nokey")" = "300|300" ]
}

@test "a window replayed into a target without its base is not partial in silence: every mode counts and warns" {
  q "create table nb (id int primary key, v text)"
  q "insert into nb select g, 'a' from generate_series(1, 5) g"
  ss-capture --slot s_nb --publication s_nb --table public.nb --create-slot 2>/dev/null
  q "update nb set v = 'b' where id <= 2"
  q "delete from nb where id = 5"
  q "insert into nb values (6, 'c')"
  ss-capture --slot s_nb --publication s_nb --endpos "$(lsn_now)" >"$T/nb.ss"
  for mode in on off; do
    fresh_db "nb_$mode"
    run -0 --separate-stderr ss-replay --speed max --group "$mode" --to "dbname=nb_$mode" --create-tables <"$T/nb.ss"
    [[ "$stderr" == *"3 updates and deletes found no row in the target: it lacks the history before this input"* ]]
    [[ "$stderr" == *"ss-archive read --as-of START"* ]]
    [ "$(qd "nb_$mode" "select string_agg(id || '=' || v, ',' order by id) from nb")" = "6=c" ]
  done
}
