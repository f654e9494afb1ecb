#!/usr/bin/env bats
# Rebuilds at bulk speed (ss-replay --speed max, grouped and folded): the result is the source's, and the same as
# a replay without grouping, across keyed, keyless, REPLICA IDENTITY FULL and TOASTed tables, key changes,
# deletes, re-inserts and TRUNCATE; kill -9 in the middle of a group; bad rows in a folded group; the memory bound.

load ../helpers/servers

setup_file() {
  ss_start_postgres "wal_sender_timeout = 60s"
}

teardown_file() { ss_stop_all; }

teardown() { ss_kill_jobs; }

setup() { T="$BATS_TEST_TMPDIR"; }

q() { psql -XAtq -v ON_ERROR_STOP=1 -c "$1"; }
qd() { psql -XAtq -v ON_ERROR_STOP=1 -d "$1" -c "$2"; }
lsn_now() { q "select pg_current_wal_insert_lsn()"; }
fresh_db() {
  q "drop database if exists $1"
  q "create database $1"
}
# rows DB TABLE...: each table's count and a checksum of its rows, whatever their physical order.
rows() {
  local db=$1 t
  shift
  for t in "$@"; do
    qd "$db" "select '$t ' || count(*) || ' ' || coalesce(md5(string_agg(x, ',' order by x)), '-') from (select r::text as x from $t r) s"
  done
}

@test "a grouped rebuild equals the source and an ungrouped replay: keys, no keys, FULL, TOAST, key changes, truncate" {
  q "create table k (id int primary key, v int, big text)"
  q "alter table k alter column big set storage external" # out of line, so updates leave it unchanged-TOAST
  q "create table nk (n int, v text)"
  q "alter table nk replica identity full"
  q "create table f (id int primary key, v text)"
  q "alter table f replica identity full"
  q "create table c (id int primary key, v int)"
  ss-capture --slot s_fold --publication s_fold --create-slot
  q "insert into k select g, 0, repeat(md5(g::text), 100) from generate_series(1, 300) g"
  q "insert into nk select g % 7, 'n' || g from generate_series(1, 50) g"
  q "insert into f select g, 'f' || g from generate_series(1, 50) g"
  q "insert into c select g, g from generate_series(1, 100) g"
  for i in 1 2 3; do
    psql -Xq -v ON_ERROR_STOP=1 <<SQL
begin;
update k set v = v + $i where id % 3 = $i % 3;
update k set big = repeat(md5((id * $i)::text), 100) where id % 10 = $i;
delete from k where id % 17 = $i;
insert into k select id, -$i, 'back ' || id from generate_series(1, 300) id where id % 17 = $i and $i = 2;
insert into k values (1000 + $i, $i, 'brief');
delete from k where id = 1000 + $i and $i = 3;
update nk set v = v || '+' where n = $i;
delete from nk where n = $i + 3;
update f set v = v || '+' where id % 5 = $i;
delete from f where id % 11 = $i;
commit;
SQL
  done
  q "update k set id = id + 5000 where id % 25 = 0" # key changes
  q "update k set v = v + 1 where id > 5000"
  q "truncate c"
  q "insert into c select g, -g from generate_series(1, 40) g"
  q "update c set v = 0 where id % 2 = 0"
  ss-capture --slot s_fold --publication s_fold --endpos "$(lsn_now)" >"$T/history.ss"

  fresh_db grouped
  fresh_db plain
  run -0 --separate-stderr ss-replay -v --speed max --to dbname=grouped --create-tables <"$T/history.ss"
  # Many source transactions per target one, and rows folded.
  [[ "$stderr" =~ applied\ [0-9]+\ in\ ([0-9]+)\ transactions\ \(([0-9]+)\ on\ the\ target,\ ([0-9]+)\ records\ folded ]]
  [ "${BASH_REMATCH[2]}" -lt "${BASH_REMATCH[1]}" ]
  [ "${BASH_REMATCH[3]}" -gt 300 ]
  ss-replay --speed max --group off --to dbname=plain --create-tables <"$T/history.ss"
  rows postgres k nk f c >"$T/source"
  rows grouped k nk f c >"$T/grouped"
  rows plain k nk f c >"$T/plain"
  diff "$T/source" "$T/grouped"
  diff "$T/source" "$T/plain"
  # The same stretch twice in one input (a resend), inside one group: applied once.
  fresh_db twice
  cat "$T/history.ss" "$T/history.ss" | ss-replay --speed max --to dbname=twice --create-tables
  rows twice k nk f c >"$T/twice"
  diff "$T/source" "$T/twice"
  # A rerun finds everything applied.
  run -0 --separate-stderr ss-replay -v --speed max --to dbname=grouped <"$T/history.ss"
  [[ "$stderr" == *"applied 0 in 0 transactions"* ]]
  # A paced replay is not grouped.
  fresh_db paced
  run -0 --separate-stderr ss-replay -v --speed 1000 --to dbname=paced --create-tables <"$T/history.ss"
  [[ "$stderr" == *" 0 records folded"* ]]
  rows paced k nk f c >"$T/paced"
  diff "$T/source" "$T/paced"
}

@test "a group commits when input goes quiet; kill -9 inside one leaves whole transactions up to the high-water; a rerun equals the source" {
  q "create table big (id int primary key, v int, pad text)"
  ss-capture --slot s_kill --publication s_kill --create-slot
  q "insert into big select g, 0, repeat('p', 50) from generate_series(1, 4000) g"
  q "create procedure bump(n int) language plpgsql as \$\$ begin for i in 0..n - 1 loop update big set v = v + 1 where id % n = i; commit; end loop; end \$\$"
  q "call bump(40)"
  q "call bump(40)"
  ss-capture --slot s_kill --publication s_kill --endpos "$(lsn_now)" >"$T/history.ss"
  # Input that goes quiet between transactions: the open group commits (a followed stream shows up).
  boundary=$(ss-cat "$T/history.ss" | head -7000 | jq -r 'select(.tx_last) | "\(.commit_lsn):\(.ordinal // 0)"' | tail -1)
  ss-replay --speed max --to-position "$boundary" <"$T/history.ss" >"$T/whole.ss"
  fresh_db live
  mkfifo "$T/live"
  ss-replay --speed max --to dbname=live --create-tables <"$T/live" 3>&- &
  lpid=$!
  exec 5>"$T/live"
  cat "$T/whole.ss" >&5
  ss_wait_for bash -c "[ \"\$(psql -XAtq -d live -c 'select commit_lsn || chr(58) || ordinal from shadowstream.replay_position')\" = '$boundary' ]"
  # Waiting for more, it stops at SIGTERM with the input still open.
  kill -TERM "$lpid"
  ss_wait_for bash -c "! kill -0 $lpid 2>/dev/null"
  wait "$lpid"
  exec 5>&-

  # The first half of the history, cut inside a transaction; the rest is never sent.
  mid=$(ss-cat "$T/history.ss" | sed -n 7050p | jq -r '"\(.commit_lsn):\(.ordinal)"')
  ss-replay --speed max --to-position "$mid" <"$T/history.ss" >"$T/first.ss"

  fresh_db killed
  mkfifo "$T/in"
  ss-replay --speed max --group-records 2500 --to dbname=killed --create-tables <"$T/in" 3>&- &
  pid=$!
  exec 4>"$T/in"
  cat "$T/first.ss" >&4
  # A group committed, and the next one open: waiting for input inside its target transaction.
  ss_wait_for bash -c "[ \"\$(psql -XAtq -d killed -c 'select count(*) from shadowstream.replay_position')\" = 1 ]"
  ss_wait_for bash -c "[ -n \"\$(psql -XAtq -c \"select 1 from pg_stat_activity where datname = 'killed' and state = 'idle in transaction'\")\" ]"
  kill -9 "$pid"
  exec 4>&-
  wait "$pid" || true
  # What survived is exactly the transactions up to the high-water: the same as an ungrouped replay up to there.
  hw=$(qd killed "select commit_lsn || ':' || ordinal from shadowstream.replay_position")
  [ "$(qd killed "select count(*) from big")" = 4000 ]
  fresh_db upto
  ss-replay --speed max --group off --to-position "$hw" --to dbname=upto --create-tables <"$T/history.ss"
  [ "$(rows killed big)" = "$(rows upto big)" ]
  [ "$(rows killed big)" != "$(rows postgres big)" ]

  run -0 --separate-stderr ss-replay -v --speed max --to dbname=killed <"$T/history.ss"
  [[ "$stderr" =~ \ ([0-9]+)\ already\ applied ]]
  [ "${BASH_REMATCH[1]}" -gt 0 ]
  [ "$(rows killed big)" = "$(rows postgres big)" ]
}

@test "a bad row in a folded group: stop names it after committing what came before; skip and log leave it out alone" {
  q "create table chk (id int primary key, v int)"
  q "create table aux (id int primary key)"
  ss-capture --slot s_chk --publication s_chk --table public.chk --table public.aux --create-slot
  q "insert into chk select g, 1 from generate_series(1, 50) g"
  q "insert into aux values (1)" # a table --create-tables makes in the group that is applied again
  q "update chk set v = v + 1"
  q "update chk set v = 500 where id = 7" # the target refuses it
  q "update chk set v = v + 1 where id <> 7"
  q "insert into chk select g, 1 from generate_series(51, 60) g"
  ss-capture --slot s_chk --publication s_chk --endpos "$(lsn_now)" >"$T/history.ss"
  bad=$(ss-cat "$T/history.ss" | jq -r 'select(.op == "update" and .columns[1].text == "500") | "\(.commit_lsn):\(.ordinal // 0)"')
  for mode in on off; do
    for policy in stop skip log stop-nokey; do
      db=chk_${mode}_${policy/-/_}
      fresh_db "$db"
      create=--create-tables
      if [ "$policy" = stop-nokey ]; then # tables without a key, left as they are: nothing folded
        qd "$db" "create table chk (id int, v int check (v < 100))"
        qd "$db" "create table aux (id int)"
        policy=stop
        create=
      else
        qd "$db" "create table chk (id int primary key, v int check (v < 100))"
      fi
      if [ "$policy" = stop ]; then
        run -65 --separate-stderr ss-replay --speed max --group "$mode" --to "dbname=$db" $create <"$T/history.ss"
        [ "${#stderr_lines[@]}" -eq 1 ]
        [[ "$stderr" == "ss-replay: cannot apply update on public.chk at position $bad: "*"check constraint"* ]]
        # The three transactions before it are committed, nothing after.
        [ "$(qd "$db" "select count(*), sum(v) from chk")" = "50|100" ]
        [ "$(qd "$db" "select count(*) from aux")" = 1 ]
      else
        run -0 --separate-stderr ss-replay --speed max --group "$mode" --on-error "$policy" --to "dbname=$db" \
          --create-tables <"$T/history.ss"
        [ "$(qd "$db" "select count(*), sum(v), min(v) filter (where id = 7) from chk")" = "60|159|2" ]
        [ "$(qd "$db" "select count(*) from aux")" = 1 ]
        if [ "$policy" = log ]; then
          [ "${#stderr_lines[@]}" -eq 1 ]
          [[ "$stderr" == "ss-replay: skipped: update on public.chk at position $bad: "*"check constraint"* ]]
        else
          [ -z "$stderr" ]
        fi
      fi
      echo "$stderr" >"$T/err.$mode.$policy"
    done
  done
  for policy in stop skip log; do diff "$T/err.on.$policy" "$T/err.off.$policy"; done
}

@test "--group-memory bounds a group: its folded rows go in as they outgrow it, and the rebuild is the same" {
  q "create table wide (id int primary key, v int, pad text)"
  ss-capture --slot s_mem --publication s_mem --table public.wide --create-slot
  q "insert into wide select g, 0, repeat(md5(g::text), 30) from generate_series(1, 40000) g"
  q "update wide set v = 1"
  ss-capture --slot s_mem --publication s_mem --endpos "$(lsn_now)" >"$T/history.ss"
  for mib in 1 256; do
    fresh_db mem_$mib
    /usr/bin/time -f %M -o "$T/rss.$mib" ss-replay --speed max --group-memory "$mib" --to dbname=mem_$mib \
      --create-tables <"$T/history.ss"
    [ "$(rows mem_$mib wide)" = "$(rows postgres wide)" ]
  done
  echo "max RSS: $(cat "$T/rss.1") KiB with 1 MiB, $(cat "$T/rss.256") KiB with 256 MiB" >&3
  # The 80 MB history held whole by default, not with 1 MiB.
  [ "$(cat "$T/rss.1")" -lt $(($(cat "$T/rss.256") / 2)) ]
}
