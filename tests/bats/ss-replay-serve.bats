#!/usr/bin/env bats
# ss-replay serve and ss-progress: replay jobs driven over gRPC by a Python client and by ss-progress, persisted in
# a real Redis across a server restart, applied to a real PostgreSQL; the pipeline lag view.

load ../helpers/servers
load ../helpers/streams

setup_file() {
  ss_start_postgres
  ss_start_redis
  ss_start_kafka --topic replayarch:4 --topic pipearch:2 --topic basearch:3
  protoc --python_out="$BATS_FILE_TMPDIR" -I"$SS_ROOT/proto" "$SS_ROOT/proto/shadowstream.proto"
}

teardown_file() { ss_stop_all; }

teardown() { ss_kill_jobs; }

setup() {
  T="$BATS_TEST_TMPDIR"
  unset SHADOWSTREAM_CONF # ss-progress pipeline reads one: not the caller's
}

qd() { psql -XAtq -v ON_ERROR_STOP=1 -d "$1" -c "$2"; }
fresh_db() {
  psql -XAtq -c "drop database if exists $1" 2>/dev/null
  psql -XAtq -c "create database $1"
}

# serve [ARGS]: starts ss-replay serve on a free port; sets SRV (pid) and ADDR.
serve() {
  : >"$T/serve.err"
  ss-replay serve --listen 127.0.0.1:0 --store-key "ss:test:$BATS_TEST_NUMBER" --files-dir "$T" "$@" \
    2>>"$T/serve.err" 3>&- &
  SRV=$!
  ss_wait_for grep -q "listening on" "$T/serve.err"
  ADDR=$(sed -n 's/.*listening on //p' "$T/serve.err" | tail -1)
}
stop_serve() {
  kill -TERM "$SRV"
  local st=0
  wait "$SRV" || st=$?
  [ "$st" -eq 0 ]
}
# py COMMAND ARGS: the Python gRPC client (Debian's interpreter, which has python3-grpcio).
py() { /usr/bin/python3 "$SS_ROOT/tests/helpers/replay_client.py" "$ADDR" "$BATS_FILE_TMPDIR" "$@"; }
field() { py get "$1" | cut -d' ' -f"$2"; }
state_is() { [ "$(field "$1" 1)" = "$2" ]; }
done_above() { [ "$(field "$1" 2)" -gt "$2" ]; }

@test "job lifecycle from Python and ss-progress: create, pause, resume, cancel, and a server restart" {
  ss-gen-records -n 300 --interval 20ms --tx-size 1 >"$T/six-seconds.ss"
  fresh_db shadow_a
  fresh_db shadow_c
  serve
  a=$(py create source=file:"$T/six-seconds.ss" speed_factor=0.5 target=dbname=shadow_a create_tables=1 name=alpha)
  ss_wait_for done_above "$a" 0
  [ "$(py pause "$a" | cut -d' ' -f1)" = paused ]
  r1=$(field "$a" 2)
  sleep 0.5 # the stretch being measured: a paused job must not move
  [ "$(field "$a" 2)" = "$r1" ]
  [ "$(py resume "$a" | cut -d' ' -f1)" = running ]
  ss_wait_for done_above "$a" "$r1"

  b=$(py create source=file:"$T/six-seconds.ss" speed_factor=0.1)
  ss_wait_for state_is "$b" running
  [ "$(py cancel "$b" | cut -d' ' -f1)" = cancelled ]
  run -2 ss-progress --json -s "$ADDR" "$b"
  [ "$(echo "${lines[-1]}" | jq -r .state)" = cancelled ]
  run -3 py cancel "$b"
  [[ "$output" == "error FAILED_PRECONDITION job $b is already cancelled" ]]

  c=$(py create source=file:"$T/six-seconds.ss" speed_factor=1 target=dbname=shadow_c create_tables=1)
  ss_wait_for done_above "$c" 0
  # From the shell as well as over the API.
  run -0 ss-replay jobs -s "$ADDR" pause "$c"
  [ "$output" = "$c paused" ]

  # A restart: the jobs are in Redis; the running one resumes, the paused one comes back paused.
  stop_serve
  serve
  run -0 py list
  [ "${#lines[@]}" -eq 3 ]
  [[ "$output" == *"$b cancelled"* ]]
  [[ "$output" == *"$c paused"* ]]
  grep -q "resuming replay job $a" "$T/serve.err"
  run -0 ss-replay jobs -s "$ADDR" resume "$c"
  [ "$output" = "$c running" ]

  run -0 ss-progress --json -s "$ADDR" "$a"
  [ "$(echo "${lines[-1]}" | jq -r '.state + " " + (.records_total|tostring)')" = "done 300" ]
  run -0 ss-progress --bar -s "$ADDR" "$c"
  [[ "$output" == *"[#"*"100.0%"*"done"* ]]
  # Exactly once across pause, resume and restart: every row once, and the target's high-water is the end.
  for db in shadow_a shadow_c; do
    [ "$(qd "$db" "select count(*), count(distinct id), min(id), max(id) from items")" = "300|300|1|300" ]
    [ "$(qd "$db" "select commit_lsn || ':' || ordinal from shadowstream.replay_position")" = \
      "$(ss-cat "$T/six-seconds.ss" | tail -1 | jq -r '"\(.commit_lsn):\(.ordinal // 0)"')" ]
  done
  stop_serve
}

@test "two jobs replaying into one target at once apply every change once" {
  overlap_stream 300 >"$T/in.ss"
  fresh_db shared
  serve
  a=$(py create source=file:"$T/in.ss" speed_factor=0 target=dbname=shared create_tables=1)
  b=$(py create source=file:"$T/in.ss" speed_factor=0 target=dbname=shared create_tables=1)
  ss_wait_for state_is "$a" done
  ss_wait_for state_is "$b" done
  [ "$(qd shared "select count(*), count(distinct n) from nokey")" = "300|300" ]
  [ "$(qd shared "select count(*), count(distinct id) from keyed")" = "300|300" ]
  stop_serve
}

@test "bad requests, unknown jobs and tokens get clear answers" {
  echo s3cret >"$T/token"
  serve --token-file "$T/token"
  run -3 py list
  [[ "$output" == "error UNAUTHENTICATED"* ]]
  export SS_TOKEN=s3cret
  run -3 py create source=file:/nonexistent speed_factor=1
  [[ "$output" == "error INVALID_ARGUMENT source file:/nonexistent is outside --files-dir" ]]
  run -3 py create source=file:nonexistent speed_factor=1
  [[ "$output" == "error INVALID_ARGUMENT source file:nonexistent: No such file or directory" ]]
  ss-gen-records -n 5 >"$T/five.ss"
  run -3 py create source=file:"$T/five.ss" target="dbname=x password=hunter2"
  [[ "$output" == *"INVALID_ARGUMENT target must not carry a password"* ]]
  [[ "$output" != *hunter2* ]]
  run -3 py create source=file:"$T/five.ss" start_time=20 end_time=10
  [[ "$output" == *"start_time must be before end_time"* ]]
  run -3 py get nope
  [[ "$output" == "error NOT_FOUND no replay job nope" ]]
  run -66 --separate-stderr ss-progress -s "$ADDR" --token-file "$T/token" nope
  [ "$stderr" = "ss-progress: no replay job nope on $ADDR" ]
  run -77 --separate-stderr ss-progress -s "$ADDR" some-job
  [[ "$stderr" == "ss-progress: the server refused the token"* ]]
  j=$(py create source=file:"$T/five.ss")
  run -0 ss-progress -s "$ADDR" --token-file "$T/token" --json "$j"
  [ "$(echo "${lines[-1]}" | jq -r '.state + " " + (.records_done|tostring)')" = "done 5" ]
  run -69 --separate-stderr ss-progress -s 127.0.0.1:1 --reconnect 1s x
  stop_serve
}

@test "a job reads its window from the Kafka archive" {
  ss-gen-records -n 1000 --tx-size 4 --interval 10ms --start-time 2026-11-20T10:00:00Z >"$T/in.ss"
  ss-archive --topic replayarch <"$T/in.ss"
  serve
  # 10:00:00.5 to 10:00:01.5 holds 100 transactions of 4 records.
  j=$(ss-replay submit -s "$ADDR" --source kafka:replayarch --since 2026-11-20T10:00:00.5Z --until 2026-11-20T10:00:01.5Z --speed max --name window)
  run -0 ss-progress --json -s "$ADDR" "$j"
  [ "$(echo "${lines[-1]}" | jq -r '.state + " " + (.records_done|tostring)')" = "done 400" ]
  run -0 ss-replay jobs -s "$ADDR"
  [ "${lines[0]}" = "$j  done  400 records  2026-11-20T10:00:00.500000Z .. 2026-11-20T10:00:01.500000Z  max  kafka:replayarch -> dry run  window" ]
  [ "$(ss-replay jobs --json -s "$ADDR" | jq -r .request.name)" = window ]
  run -64 --separate-stderr ss-replay submit -s "$ADDR" --source bogus:x
  [ "$stderr" = "ss-replay: source must be kafka:<topic> or file:<path>, not 'bogus:x'" ]
  stop_serve
}

@test "a window needs its base: refused into a target without it, replayed alone with --no-base, built by --rebuild" {
  # Three seconds of inserts, updates and deletes; the window is the second one.
  ss-gen-records -n 1200 --mix --tx-size 4 --interval 10ms --start-time 2026-11-20T10:00:00Z --source src >"$T/in.ss"
  ss-archive --topic basearch <"$T/in.ss"
  local since=2026-11-20T10:00:01Z until=2026-11-20T10:00:02Z
  ss-archive read --topic basearch --since "$since" --until "$until" >"$T/win.ss"
  rows() { qd "$1" "select count(*) || ' ' || md5(string_agg(id || payload, ',' order by id)) from items"; }
  # A fresh target: refused in one line, before anything is applied.
  fresh_db base_fresh
  run -65 --separate-stderr ss-replay --speed max --to dbname=base_fresh --create-tables <"$T/win.ss"
  [[ "$stderr" == "ss-replay: the target holds none of source src's changes, and this window starts after 0/"*": its updates and deletes would miss rows; build the base first"*"or pass --no-base" ]]
  [ "$(qd base_fresh "select count(*) from shadowstream.replay_position")" = 0 ]
  [ -z "$(qd base_fresh "select to_regclass('public.items')")" ]
  run -0 --separate-stderr ss-replay --speed max --to dbname=base_fresh --create-tables --no-base <"$T/win.ss"
  [[ "$stderr" == *"--no-base: the target holds none of source src's changes"* ]]
  [[ "$stderr" == *"updates and deletes found no row in the target"* ]]
  # A base of an earlier instant leaves a gap: refused, naming what the target holds.
  fresh_db base_gap
  ss-archive read --topic basearch --as-of 2026-11-20T10:00:00.5Z | ss-replay --speed max --to dbname=base_gap --create-tables
  run -65 --separate-stderr ss-replay --speed max --to dbname=base_gap <"$T/win.ss"
  [[ "$stderr" == "ss-replay: the target holds src's changes up to 0/"*" only, and this window starts after "* ]]
  # The base, then the window: the archive as of the window's end.
  fresh_db base_cli
  ss-archive read --topic basearch --as-of "$since" | ss-replay --speed max --to dbname=base_cli --create-tables
  ss-replay --speed max --to dbname=base_cli <"$T/win.ss"
  fresh_db base_want
  ss-archive read --topic basearch --as-of "$until" | ss-replay --speed max --to dbname=base_want --create-tables
  [ "$(rows base_cli)" = "$(rows base_want)" ]
  # A job: refused the same way without --rebuild, built from the base with it.
  serve
  fresh_db base_job
  j=$(ss-replay submit -s "$ADDR" --source kafka:basearch --since "$since" --until "$until" --speed 10 --to dbname=base_job --create-tables)
  ss_wait_for state_is "$j" failed
  [[ "$(ss-replay jobs --json -s "$ADDR" | jq -r "select(.id == \"$j\") | .error")" == *"or pass --no-base" ]]
  fresh_db base_job
  j=$(ss-replay submit -s "$ADDR" --source kafka:basearch --since "$since" --until "$until" --speed 10 --to dbname=base_job --create-tables --rebuild)
  run -0 ss-progress --json -s "$ADDR" "$j"
  [ "$(echo "${lines[-1]}" | jq -r .state)" = done ]
  [ "$(rows base_job)" = "$(rows base_want)" ]
  run -64 --separate-stderr ss-replay submit -s "$ADDR" --source kafka:basearch --until "$until" --to dbname=base_job --rebuild
  [ "$stderr" = "ss-replay: rebuild needs a kafka: source, a start_time and a target" ]
  stop_serve
}

@test "ss-progress pipeline reports slot lag, stream length and pending, and consumer-group lag" {
  psql -XAtq -c "create table piped (id int primary key)"
  ss-capture --slot s_pipe --publication s_pipe --table public.piped --create-slot
  psql -XAtq -c "insert into piped select generate_series(1, 100)"
  ss-gen-records -n 50 --source pipesrc | ss-buffer --no-passthrough
  mkfifo "$T/ack"
  ss-buffer read --source pipesrc --group archiver --until-idle --ack-from "$T/ack" |
    ss-archive --topic pipearch --ack "$T/ack"
  ss-archive read --topic pipearch --group backup-group >"$T/backup.ss" # a file: committed once fsynced
  run -0 --separate-stderr ss-progress pipeline --once --json --slot s_pipe --source pipesrc --topic pipearch \
    --group backup-group --group analytics-group

  [ "$(echo "$output" | jq -r '.postgres.lag_bytes > 0 and .postgres.active == null')" = true ]
  [ "$(echo "$output" | jq -r '.redis.length')" = 50 ]
  [ "$(echo "$output" | jq -r '.redis.groups[0] | .name + " " + ((.pending // 0)|tostring) + " " + ((.lag // 0)|tostring)')" = "archiver 0 0" ] # acknowledged through the FIFO
  # (Lag counts offsets: on a real broker the transactions' commit markers take some, a few at most here.)
  echo "$output" | jq -e '[.kafka.groups[] | .name] == ["backup-group", "analytics-group"]
    and (.kafka.groups[0] | (.lag // 0) <= 5 and .has_offsets)
    and (.kafka.groups[1] | .lag >= 50 and .lag <= 60 and (.has_offsets // false | not))' 
  # Without --group: the default groups that exist on the topic, not a line for one nobody created.
  run -0 --separate-stderr ss-progress pipeline --once --json --slot s_pipe --source pipesrc --topic pipearch
  [ "$(echo "$output" | jq -c '[.kafka.groups[] | .name]')" = '["backup-group"]' ]
  run -64 --separate-stderr env -u PGHOST -u PGDATABASE -u REDIS_URL -u KAFKA_BROKERS ss-progress pipeline --once
}

@test "ss-progress pipeline reads shadowstream.conf as shadowstream status does: one pipeline, one answer" {
  psql -XAtq -c "select 1 from pg_create_logical_replication_slot('shadow', 'pgoutput')" >/dev/null
  mkdir "$T/cwd"
  printf '%s\n' 'SLOT=shadow' 'SOURCE=confsrc' 'TOPIC=pipearch' "REDIS_URL=$REDIS_URL" "KAFKA_BROKERS=$KAFKA_BROKERS" \
    "PG_CONNINFO=dbname=$PGDATABASE" >"$T/cwd/shadowstream.conf"
  cd "$T/cwd"
  # Nothing in the environment but PostgreSQL's socket: the file names the slot, the stream and both servers.
  run -0 --separate-stderr env -u PGDATABASE -u REDIS_URL -u KAFKA_BROKERS -u SHADOWSTREAM_CONF \
    ss-progress pipeline --once --json
  [ "$(jq -r '.postgres.slot + " " + (.postgres.error // "")' <<<"$output")" = "shadow " ]
  [ "$(jq -r .redis.stream <<<"$output")" = "shadowstream:confsrc:changes" ]
  [ "$(jq -r .kafka.topic <<<"$output")" = pipearch ]
  # shadowstream status shows the same stages (its sample is ss-progress run with the file's values).
  run -3 --separate-stderr env -u PGDATABASE -u REDIS_URL -u KAFKA_BROKERS STATE_DIR="$T/state" shadowstream status
  [[ "$output" == *"postgres  slot shadow ("* ]]
  [[ "$output" == *"redis     shadowstream:confsrc:changes"* ]]
  run -0 --separate-stderr env -u PGDATABASE -u REDIS_URL -u KAFKA_BROKERS ss-progress pipeline --once --text
  [[ "$output" == *"postgres  slot shadow ("* ]]
  [[ "$output" == *"redis     shadowstream:confsrc:changes"* ]]
  # As in shadowstream(1), the environment wins over the file, and a flag over both.
  run -0 --separate-stderr env SLOT=s_pipe ss-progress pipeline --once --json
  [ "$(jq -r .postgres.slot <<<"$output")" = s_pipe ]
  run -0 --separate-stderr env SLOT=s_pipe ss-progress pipeline --once --json --slot shadow
  [ "$(jq -r .postgres.slot <<<"$output")" = shadow ]
  # -c names the file from anywhere; a bad one is refused as the supervisor refuses it.
  cd "$T"
  run -0 --separate-stderr ss-progress pipeline --once --json -c "$T/cwd/shadowstream.conf"
  [ "$(jq -r .postgres.slot <<<"$output")" = shadow ]
  printf '%s\n' 'SLOT shadow' >"$T/bad.conf"
  run -78 --separate-stderr ss-progress pipeline --once -c "$T/bad.conf"
  [ "$stderr" = "ss-progress: $T/bad.conf:1: expected KEY=value, got: SLOT shadow" ]
  run -66 --separate-stderr ss-progress pipeline --once -c "$T/missing.conf"
  psql -XAtq -c "select pg_drop_replication_slot('shadow')" >/dev/null
}
