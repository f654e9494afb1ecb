#!/usr/bin/env bats
# Checkpoints and retention: three checkpoints (the initial snapshot and two ss-capture --checkpoint runs)
# interleaved with a workload, then Kafka's retention (retention.bytes: each partition keeps ~4 MiB in 1 MiB segments,
# deleting its oldest segments past that) deletes everything before the second. Rebuilds as of instants after it must equal the source
# as it was then, one before it is refused, a checkpoint cut by kill -9 is ignored and a rerun completes it, and a
# checkpoint takes only ACCESS SHARE locks while the running capture streams on.

load ../helpers/servers

setup_file() {
  ss_start_postgres "wal_sender_timeout = 60s"
  ss_start_redis
  # One partition per topic, so that retention deletes the oldest records of each in order; checked twice a second.
  ss_start_kafka --config log.retention.check.interval.ms=500 \
    --topic-config retention.bytes=4194304 --topic-config segment.bytes=1048576 \
    --topic cp.archive:1 --topic cp.archive.snapshots:1 --topic cp.archive.checkpoints:1 \
    --topic kill.archive:2 --topic kill.archive.snapshots:2 --topic kill.archive.checkpoints:1
}

teardown_file() { ss_stop_all; }

teardown() {
  [ -n "${STATE_DIR:-}" ] && shadowstream down >/dev/null 2>&1
  ss_kill_jobs
}

setup() { T="$BATS_TEST_TMPDIR"; }

q() { psql -XAtq -v ON_ERROR_STOP=1 -c "$1"; }
qd() { psql -XAtq -v ON_ERROR_STOP=1 -d "$1" -c "$2"; }
lsn_now() { q "select pg_current_wal_insert_lsn()"; }
now_utc() { q "select to_char(clock_timestamp() at time zone 'utc', 'YYYY-MM-DD\"T\"HH24:MI:SS.US\"Z\"')"; }
sum_of() { qd "$1" "select count(*) || ' ' || md5(string_agg(id || ',' || v || ',' || pad, ';' order by id)) from t"; }
fresh_db() {
  q "drop database if exists $1"
  q "create database $1"
}
# Archives everything the slot has up to now: capture to a file (a file is confirmed once synced), then archive it.
archive_changes() {
  ss-capture --slot cp --publication cp --endpos "$(lsn_now)" >"$T/changes.ss"
  ss-archive -t cp.archive --linger 10ms <"$T/changes.ss"
}
first_partly_deleted() { ss-archive checkpoints -t cp.archive | sed -n 2p | grep -q 'partly deleted'; }
rebuild() { # rebuild DB INSTANT: a fresh database rebuilt as of INSTANT from the archive
  fresh_db "$1"
  ss-archive read -t cp.archive --as-of "$2" >"$T/$1.ss"
  ss-replay --to "$(sed "s#/postgres\$#/$1#" <<<"$SS_PG_URL")" --create-tables <"$T/$1.ss"
}

@test "rebuilds after the second of three checkpoints equal the source; retention refuses one before it" {
  q "create table t (id int primary key, v int, pad text)"
  # ~1.4 KB per record: three checkpoints of 1500 rows are ~6.3 MB, past the snapshot partition's retention.bytes.
  # Distinct hashes, not one repeated: the checkpoint's rows are written lz4-compressed, and must stay that large.
  q "insert into t select g, 0, (select string_agg(md5(g::text || i::text), '') from generate_series(1, 32) i)
     from generate_series(1, 1500) g"
  ss-capture --slot cp --publication cp --table public.t --snapshot only >"$T/cp0.ss"
  ss-archive -t cp.archive <"$T/cp0.ss"
  q "update t set v = v + 1 where id <= 1000"
  q "update t set v = v + 1 where id <= 1000"
  t_a=$(now_utc)
  s_a=$(sum_of postgres)
  archive_changes

  ss-capture --publication cp --checkpoint | ss-archive -t cp.archive
  t_b1=$(now_utc)
  s_b1=$(sum_of postgres)
  q "update t set v = v + 10 where id > 500 and id <= 1000"
  q "delete from t where id > 1400"
  q "insert into t select g, 7, repeat('n', 1000) from generate_series(2001, 2100) g"
  t_b=$(now_utc)
  s_b=$(sum_of postgres)
  archive_changes

  ss-capture --publication cp --checkpoint | ss-archive -t cp.archive
  q "update t set v = v + 100 where id <= 1500"
  t_c=$(now_utc)
  s_c=$(sum_of postgres)
  archive_changes

  # Retention takes the start of the first checkpoint and of the changes after it.
  SS_WAIT_TIMEOUT=60 ss_wait_for first_partly_deleted
  run ss-archive checkpoints -t cp.archive
  echo "$output"
  [ "$status" -eq 0 ]
  [ "$(grep -c ' complete' <<<"$output")" -eq 3 ]
  [ "$(sed -n 2p <<<"$output" | grep -c 'partly deleted')" -eq 1 ]
  [ "$(grep -c 'complete$' <<<"$output")" -eq 2 ]
  [[ "$output" == *"oldest instant a rebuild can reach"* ]]
  # The pipeline panel's time line gets the two a rebuild can start from, the oldest of them its start.
  run -0 --separate-stderr ss-progress pipeline --once --json -t cp.archive
  [ "$(jq -r '.kafka.checkpoint_time | length' <<<"$output")" = 2 ]
  [ "$(jq -r '.kafka.checkpoint_time[0] == .kafka.oldest_rebuildable_time' <<<"$output")" = true ]
  [ "$(jq -r '.kafka.checkpoints' <<<"$output")" = 3 ]

  rebuild r_b1 "$t_b1"
  [ "$(sum_of r_b1)" = "$s_b1" ]
  rebuild r_b "$t_b"
  [ "$(sum_of r_b)" = "$s_b" ]
  rebuild r_c "$t_c"
  [ "$(sum_of r_c)" = "$s_c" ]
  # A target behind a checkpoint rolls forward through it: its tables emptied and loaded in the checkpoint's
  # transaction, then the changes after it; a --table filter narrows the checkpoint to the tables it keeps.
  ss-archive read -t cp.archive --as-of "$t_c" |
    ss-replay --table public.t --to "$(sed "s#/postgres\$#/r_b#" <<<"$SS_PG_URL")"
  [ "$(sum_of r_b)" = "$s_c" ]
  # Read from the nearest checkpoint: the rows of the third and the changes after it, not the whole history.
  [ "$(ss-cat "$T/r_c.ss" | jq -r .op | sort | uniq -c | awk '{print $2 "=" $1}' | tr '\n' ' ')" = \
    "checkpoint_begin=1 checkpoint_end=1 snapshot=1500 update=1400 " ]
  # --until without --since is the same rebuild.
  ss-archive read -t cp.archive --until "$t_b" | cmp - "$T/r_b.ss"
  # A server job with only an end time rebuilds the same way, from the nearest checkpoint.
  fresh_db r_job
  ss-replay serve --listen 127.0.0.1:0 --store-key ss:cp --brokers "$KAFKA_BROKERS" 2>"$T/serve.err" 3>&- &
  ss_wait_for grep -q "listening on" "$T/serve.err"
  addr=$(sed -n 's/.*listening on //p' "$T/serve.err" | tail -1)
  ss-replay submit -s "$addr" --source kafka:cp.archive --until "$t_b" --speed max \
    --to dbname=r_job --create-tables
  SS_WAIT_TIMEOUT=60 ss_wait_for bash -c "[ \"\$(ss-replay jobs --json -s '$addr' | jq -r .state)\" = done ]"
  [ "$(sum_of r_job)" = "$s_b" ]
  # A job as of an instant retention made unreachable fails with the archive's reason.
  ss-replay submit -s "$addr" --source kafka:cp.archive --until "$t_a" --speed max \
    --to dbname=r_job --create-tables
  SS_WAIT_TIMEOUT=60 ss_wait_for bash -c "ss-replay jobs --json -s '$addr' | jq -r .state | grep -q failed"
  [[ "$(ss-replay jobs --json -s "$addr" | jq -r 'select(.state == "failed") | .error')" == *"oldest instant it can rebuild"* ]]

  run ss-archive read -t cp.archive --as-of "$t_a"
  echo "$output"
  [ "$status" -eq 66 ]
  [ "${#lines[@]}" -eq 1 ]
  [[ "$output" == *"retention has deleted part of the checkpoint"*"oldest instant it can rebuild is"* ]]
  run ss-archive read -t cp.archive --as-of 2020-01-01T00:00:00Z
  [ "$status" -eq 66 ]
  [[ "$output" == *"holds no complete checkpoint before it"* ]]
}

@test "a checkpoint cut by kill -9 is ignored by readers, and a rerun completes it exactly once" {
  q "create table k (id int primary key, v text)"
  q "insert into k select g, 'k' || g from generate_series(1, 2998) g"
  # Values COPY must escape, and a NULL: the rebuild loads checkpoint rows with COPY.
  q "insert into k values (2999, E'tab\\there\\nnew line \\\\ back\\\\slash \\\\N \\r'), (3000, null)"
  ss-capture --publication kpub --table public.k --checkpoint >"$T/full.ss"
  # The archiver gets the begin marker and half the rows, commits them, and is killed waiting for the rest.
  ss-cat "$T/full.ss" | head -n 1500 | ss-cat --from-json >"$T/half.ss"
  mkfifo "$T/in"
  ss-archive -t kill.archive --linger 10ms <"$T/in" 3>&- &
  arch=$!
  exec 7>"$T/in"
  cat "$T/half.ss" >&7
  ss_wait_for bash -c "ss-archive checkpoints -t kill.archive | grep -q 'incomplete (ignored)'"
  kill -9 "$arch"
  exec 7>&-
  wait "$arch" || true
  run ss-archive read -t kill.archive
  [ "$status" -eq 66 ]
  [[ "$output" == *"holds no complete checkpoint"* ]]
  # The rerun resends it all; what the killed run committed is dropped, the rest completes it.
  ss-archive -t kill.archive <"$T/full.ss"
  run ss-archive checkpoints -t kill.archive
  [ "$(grep -c 'complete$' <<<"$output")" -eq 1 ]
  [ "$(grep -c incomplete <<<"$output")" -eq 0 ]
  ss-archive read -t kill.archive | ss-cat >"$T/read.jsonl"
  [ "$(jq -r 'select(.op == "snapshot") | .columns[0].text' "$T/read.jsonl" | sort -u | wc -l)" -eq 3000 ]
  [ "$(jq -r 'select(.op == "snapshot")' "$T/read.jsonl" | jq -s length)" -eq 3000 ]
  q "create database kdb"
  ss-archive read -t kill.archive | ss-replay --to "$(sed 's#/postgres$#/kdb#' <<<"$SS_PG_URL")" --create-tables
  [ "$(qd kdb "select md5(string_agg(id || ':' || coalesce(v, '<null>'), ';' order by id)) from k")" = \
    "$(q "select md5(string_agg(id || ':' || coalesce(v, '<null>'), ';' order by id)) from k")" ]

  # ss-capture --checkpoint killed mid-run leaves no slot behind, and the next run takes a new checkpoint.
  mkfifo "$T/stall"
  exec 8<>"$T/stall"
  ss-capture --publication kpub --checkpoint >"$T/stall" 3>&- &
  cap=$!
  ss_wait_for bash -c "[ \$(psql -XAt -c \"select count(*) from pg_replication_slots where slot_name like 'ss_checkpoint_%'\") -eq 1 ]"
  kill -9 "$cap"
  wait "$cap" || true
  exec 8>&-
  ss_wait_for bash -c "[ \$(psql -XAt -c \"select count(*) from pg_replication_slots where slot_name like 'ss_checkpoint_%'\") -eq 0 ]"
  ss-capture --publication kpub --checkpoint | ss-archive -t kill.archive
  [ "$(ss-archive checkpoints -t kill.archive | grep -c 'complete$')" -eq 2 ]
}

@test "a checkpoint takes ACCESS SHARE locks only, one runs at a time, and the running capture streams on" {
  q "create table l (id int primary key, v text)"
  q "insert into l select g, repeat('l', 200) from generate_series(1, 50000) g"
  ss-capture --slot live --publication lpub --table public.l --snapshot never >"$T/live.ss" 3>&- &
  ss_wait_for bash -c "[ \$(psql -XAt -c \"select count(*) from pg_replication_slots where slot_name = 'live' and active\") -eq 1 ]"
  # Nobody reads the checkpoint: it stalls on a full pipe with its snapshot transactions open.
  mkfifo "$T/stall"
  exec 8<>"$T/stall"
  ss-capture --publication lpub --checkpoint --jobs 2 >"$T/stall" 3>&- &
  ss_wait_for bash -c "[ \$(psql -XAt -c \"select count(*) from pg_locks where relation = 'l'::regclass and pid <> pg_backend_pid()\") -ge 2 ]"
  [ "$(q "select string_agg(distinct mode, ',') from pg_locks where relation = 'l'::regclass and pid <> pg_backend_pid()")" = AccessShareLock ]
  run ss-capture --publication lpub --checkpoint
  [ "$status" -eq 75 ]
  [[ "$output" == *"another checkpoint of publication lpub is running"* ]]
  # Writes go on, and the running capture streams them meanwhile.
  q "insert into l values (60001, 'during'); update l set v = 'moved' where id = 1; delete from l where id = 2"
  ss_wait_for bash -c "ss-cat '$T/live.ss' 2>/dev/null | grep -q '\"op\":\"delete\"'"
  [ "$(ss-cat "$T/live.ss" | jq -r .op | tr '\n' ' ')" = "insert update delete " ]
  exec 8>&-
}

@test "ss-capture --checkpoint draws a progress bar on a terminal" {
  q "create table p (id int primary key)"
  q "insert into p select generate_series(1, 1000)"
  script -qec "ss-capture --publication ppub --table public.p --checkpoint > '$T/p.ss'" /dev/null >"$T/tty.out"
  grep -q 'checkpoint .*\[#*\] 100%' "$T/tty.out"
  [ "$(ss-cat "$T/p.ss" | jq -r 'select(.op == "checkpoint_end") | .checkpoint.rows | tonumber')" = 1000 ]
}

@test "ss-archive --retention takes infinite or a duration" {
  run ss-archive --retention forever </dev/null
  [ "$status" -eq 64 ]
  [[ "$output" == *"--retention takes a duration"* ]]
  ss-archive --retention 30d </dev/null
  run ss-archive read --as-of 2026-01-01T00:00:00Z --since 2025-01-01T00:00:00Z
  [ "$status" -eq 64 ]
}

complete_checkpoints() { ss-archive checkpoints -t sup.archive 2>/dev/null | grep -c 'complete$'; }
@test "the supervisor takes a checkpoint every CHECKPOINT_EVERY beside the running pipeline" {
  q "create table s (id int primary key, v text)"
  q "insert into s select g, 's' || g from generate_series(1, 500) g"
  export STATE_DIR="$T/state"
  printf '%s\n' 'SLOT=sup' 'PUBLICATION=sup' 'TABLES=public.s' 'SOURCE=sup' 'TOPIC=sup.archive' \
    'ARCHIVE_OPTS="--linger 20ms"' 'CHECKPOINT_EVERY=3s' >"$T/sup.conf"
  export SHADOWSTREAM_CONF="$T/sup.conf"
  shadowstream up
  # The initial snapshot, then the supervisor's own.
  SS_WAIT_TIMEOUT=60 ss_wait_for bash -c '[ "$(ss-archive checkpoints -t sup.archive 2>/dev/null | grep -c "complete$")" -ge 2 ]'
  q "update s set v = 'after' where id <= 10; delete from s where id > 490"
  # The archiver goes on beside the checkpoints (a shared transactional id would have fenced it).
  want=$(q "select count(*) || ' ' || md5(string_agg(id || v, ',' order by id)) from s")
  q "create database sup_shadow"
  rebuilt() {
    ss-archive read -t sup.archive | ss-replay --to "$(sed 's#/postgres$#/sup_shadow#' <<<"$SS_PG_URL")" --create-tables
    [ "$(qd sup_shadow "select count(*) || ' ' || md5(string_agg(id || v, ',' order by id)) from s")" = "$want" ]
  }
  SS_WAIT_TIMEOUT=60 ss_wait_for rebuilt
  grep -q "checkpoint: archived" "$STATE_DIR/log/supervisor.log"
  ! grep -q "restarting" "$STATE_DIR/log/supervisor.log"
  shadowstream down
  [ "$(cat "$STATE_DIR/last-checkpoint")" -gt 0 ]
}
