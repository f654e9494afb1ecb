#!/usr/bin/env bats
# Fitting the ecosystem: Debezium's change events (ss-cat --format debezium), JSON values in Redis for consumers
# without protobuf (ss-buffer --value-format), Prometheus metrics from every long-running stage, checked by
# Debian's promtool.

load ../helpers/servers

setup_file() {
  ss_start_postgres
  ss_start_redis
  ss_start_kafka
}

teardown_file() { ss_stop_all; }
teardown() {
  if [ -n "${STATE_DIR:-}" ]; then shadowstream down >/dev/null 2>&1 || true; fi
  chmod -R u+w "$BATS_TEST_TMPDIR" 2>/dev/null || true
  ss_kill_jobs
}
setup() { T="$BATS_TEST_TMPDIR"; }

q() { psql -XAtq -v ON_ERROR_STOP=1 -c "$1"; }
lsn_now() { q "select pg_current_wal_insert_lsn()"; }

# The fields that differ from run to run: positions, transaction ids and times (checked on their own below).
strip_run() {
  jq -c 'del(.source.ts_ms, .source.ts_us, .source.ts_ns, .source.txId, .source.lsn, .source.sequence,
             .ts_ms, .ts_us, .ts_ns, .transaction.id)'
}

customers_workload() {
  q "create table if not exists customers (id int primary key, first_name varchar(255) not null, last_name text,
       email text, balance numeric(12,2), joined date, seen timestamptz, updated timestamp(3), tags text[],
       avatar bytea, active boolean, wait interval)"
  ss-capture --slot "$1" --publication "$1" --table public.customers --create-slot --snapshot never
  q "insert into customers values (1001, 'Sally', 'Thomas', 'sally.thomas@acme.com', 1234.50, '2018-06-20',
       '2018-06-20 17:13:16.945104+02', '2018-06-20 15:13:16.945', '{vip,\"early bird\"}', '\\x00ff', true,
       '1 day 02:00:00')"
  q "update customers set first_name = 'Anne Marie' where id = 1001"
  q "update customers set id = 1005 where id = 1001"
  q "delete from customers where id = 1005"
  q "truncate customers"
}

@test "debezium: the events Debezium's PostgreSQL connector documents, field by field, for the same rows" {
  customers_workload dbz
  t0=$(date +%s%3N)
  ss-capture --slot dbz --publication dbz --source-name dbserver1 --endpos "$(lsn_now)" >"$T/c.ss"
  ss-cat --format debezium "$T/c.ss" >"$T/events.jsonl"
  strip_run <"$T/events.jsonl" >"$T/got.jsonl"
  diff <(jq -c . "$SS_ROOT/tests/fixtures/debezium/customers.jsonl") "$T/got.jsonl"
  # What was stripped: txId is the transaction's xid and the transaction id "txId:commit LSN" (one per transaction,
  # shared by the key change's delete and create); lsn increases; ts_ms is the commit time in ms, ts_us its µs.
  jq -e -s 'all(.[]; .transaction.id == "\(.source.txId):\(.transaction.id | split(":")[1])"
                 and (.source.txId | type) == "number" and .source.lsn > 0
                 and .ts_ms == .source.ts_ms and (.source.ts_us / 1000 | floor) == .ts_ms)' "$T/events.jsonl"
  [ "$(jq -r .transaction.id "$T/events.jsonl" | uniq | wc -l)" -eq 5 ]
  jq -e -s --argjson t0 "$t0" 'all(.[]; .ts_ms <= ($t0 + 1000) and .ts_ms > ($t0 - 600000))' "$T/events.jsonl"
  # source.sequence: [previous commit LSN, this change's LSN] as strings, in a string (Debezium's form).
  [ "$(jq -r '.source.sequence | fromjson | .[1]' "$T/events.jsonl" | head -1)" = "$(jq -r .source.lsn "$T/events.jsonl" | head -1)" ]
}

@test "debezium: a jq consumer folding the events rebuilds the table PostgreSQL holds" {
  q "create table accounts (id int primary key, owner text, amount numeric(20,4), note text)"
  ss-capture --slot acc --publication acc --table public.accounts --create-slot --snapshot never
  for i in $(seq 1 30); do q "insert into accounts values ($i, 'owner $i', $i.1234, null)"; done
  q "update accounts set amount = amount * 2, note = 'doubled' where id % 3 = 0"
  q "update accounts set id = id + 100 where id % 5 = 0"
  q "delete from accounts where id % 7 = 0"
  ss-capture --slot acc --publication acc --endpos "$(lsn_now)" | ss-cat --format debezium >"$T/acc.jsonl"
  # The fold people write for Debezium topics: creates, reads and updates upsert .after by key, deletes drop .before.
  jq -n -c 'reduce inputs as $e ({};
      if ($e.op == "c" or $e.op == "r" or $e.op == "u") then .[$e.after.id | tostring] = $e.after
      elif $e.op == "d" then del(.[$e.before.id | tostring])
      elif $e.op == "t" then {} else . end) | [.[]] | sort_by(.id)' "$T/acc.jsonl" >"$T/folded.json"
  psql -XAtq -c "select coalesce(json_agg(json_build_object('id', id, 'owner', owner, 'amount', amount::text,
                   'note', note) order by id), '[]') from accounts" | jq -c . >"$T/table.json"
  [ "$(jq length "$T/table.json")" -eq 25 ]
  diff "$T/table.json" "$T/folded.json"
}

@test "debezium: --format refuses --from-json and --shapes, and an unknown format, with exit 64" {
  run --separate-stderr ss-cat --format debezium --from-json /dev/null
  [ "$status" -eq 64 ]
  run --separate-stderr ss-cat --format avro /dev/null
  [ "$status" -eq 64 ]
  [[ "$stderr" == *"--format"* ]]
}

# A consumer with no protobuf: Debian's python3-redis reading the stream as any Python service would.
py_consumer() { # py_consumer STREAM N FIELD: XREAD (blocking) until N entries, print one JSON line per entry
  /usr/bin/python3 - "$SS_REDIS_PORT" "$@" <<'PY'
import json, sys, redis
port, stream, want, field = int(sys.argv[1]), sys.argv[2], int(sys.argv[3]), sys.argv[4]
r = redis.Redis(host="127.0.0.1", port=port, socket_timeout=60)
last, seen = "0", 0
while seen < want:
    for _, entries in r.xread({stream: last}, block=30000, count=100) or sys.exit("no entries for 30 s"):
        for eid, fields in entries:
            last = eid
            seen += 1
            out = {"id": eid.decode(), "op": fields[b"op"].decode(), "table": fields[b"table"].decode(),
                   "value": json.loads(fields[b"value"])}
            if b"delete" in fields:
                out["delete"] = json.loads(fields[b"delete"])
            print(json.dumps(out), flush=True)
PY
}

@test "value-format json: a Python redis client reads each record's fields from a live stream" {
  q "create table live (id int primary key, name text, price numeric(10,2), at timestamptz)"
  ss-capture --slot live --publication live --table public.live --create-slot --snapshot never
  ss-capture --slot live --publication live | ss-buffer --value-format json --stream live:json --no-passthrough &
  py_consumer live:json 5 value >"$T/read.jsonl" &
  consumer=$!
  for i in 1 2 3 4; do q "insert into live values ($i, 'item $i', $i.25, '2026-11-26 10:00:0$i+00')"; done
  q "update live set name = 'renamed' where id = 2"
  wait "$consumer"
  [ "$(wc -l <"$T/read.jsonl")" -eq 5 ]
  # The value is the record in ss-cat's JSON form: same position as the entry ID, every column's text.
  jq -e -s '.[0].value.op == "insert" and .[0].value.table == "live" and .[0].value.schema == "public"' "$T/read.jsonl"
  jq -e -s 'all(.[]; .op == .value.op and .table == "public.live")' "$T/read.jsonl"
  jq -e -s '[.[].value.columns[] | select(.name == "price") | .text] == ["1.25","2.25","3.25","4.25","2.25"]' "$T/read.jsonl"
  jq -e -s '.[4].value.op == "update" and ([.[4].value.columns[] | select(.name == "name") | .text] == ["renamed"])' "$T/read.jsonl"
  # The protobuf field stays: the same entries read back as frames.
  ss-buffer read --stream live:json >"$T/back.ss"
  [ "$(ss-cat "$T/back.ss" | jq -r .op | tr '\n' ' ')" = "insert insert insert insert update " ]
}

@test "value-format debezium: the entries carry Debezium events, a key change as create plus delete" {
  q "create table dz (id int primary key, v text)"
  ss-capture --slot dz --publication dz --table public.dz --create-slot --snapshot never
  q "insert into dz values (1, 'a')"
  q "update dz set v = 'b' where id = 1"
  q "update dz set id = 2 where id = 1"
  q "delete from dz where id = 2"
  ss-capture --slot dz --publication dz --endpos "$(lsn_now)" |
    ss-buffer --value-format debezium --stream dz:events --no-passthrough
  py_consumer dz:events 4 value >"$T/dz.jsonl"
  [ "$(jq -r .value.op "$T/dz.jsonl" | tr -d '\n')" = "cucd" ]
  jq -e -s '.[1].value.before == null and .[1].value.after == {"id":1,"v":"b"}' "$T/dz.jsonl"
  jq -e -s '.[2].value.after == {"id":2,"v":"b"} and .[2].delete.op == "d" and .[2].delete.before == {"id":1,"v":null}' "$T/dz.jsonl"
  jq -e -s '.[3].value.before == {"id":2,"v":null} and (.[3] | has("delete") | not)' "$T/dz.jsonl"
  # The same events ss-cat prints from the same records.
  ss-buffer read --stream dz:events >"$T/dz.ss"
  diff <(ss-cat --format debezium "$T/dz.ss" | jq -c 'select(.op != "d" or .before.id != 1)') \
       <(jq -c .value "$T/dz.jsonl")
}

# metric FILE NAME{LABELS}: the sample's value, as Prometheus's text format writes it.
metric() { awk -v m="$2" '$1 == m { print $2 }' "$1"; }
# scrape PORT: GET /metrics (Debian's Python: no curl needed).
scrape() {
  /usr/bin/python3 -c 'import sys, urllib.request
sys.stdout.write(urllib.request.urlopen("http://127.0.0.1:%s/metrics" % sys.argv[1], timeout=10).read().decode())' "$1"
}

@test "metrics: capture, buffer and archive textfiles pass promtool and count every record" {
  q "create table met (id int primary key, v text)"
  ss-capture --slot met --publication met --table public.met --create-slot --snapshot never
  for i in $(seq 1 20); do q "insert into met values ($i, 'v$i')"; done
  ss-capture --slot met --publication met --endpos "$(lsn_now)" --metrics-file "$T/capture.prom" |
    ss-buffer --stream met:s --metrics-file "$T/buffer.prom" |
    ss-archive --topic met.archive --metrics-file "$T/archive.prom"
  for f in capture buffer archive; do
    promtool check metrics <"$T/$f.prom"
    [ ! -e "$T/$f.prom.tmp" ]
  done
  # A standalone capture labels its series with its source (the database), as the supervisor does; the stages
  # after it with the source their records name.
  [ "$(metric "$T/capture.prom" 'shadowstream_records_out_total{source="postgres",tool="ss-capture"}')" = 20 ]
  # A snapshot's records count as the changes do (its two markers included).
  ss-capture --slot met2 --publication met --snapshot only --metrics-file "$T/snap.prom" >"$T/snap.ss"
  [ "$(ss-cat "$T/snap.ss" | wc -l)" -eq 22 ]
  [ "$(metric "$T/snap.prom" 'shadowstream_records_out_total{source="postgres",tool="ss-capture"}')" = 22 ]
  ss-capture --slot met2 --drop-slot 2>/dev/null
  [ "$(metric "$T/buffer.prom" 'shadowstream_records_in_total{source="postgres",tool="ss-buffer"}')" = 20 ]
  [ "$(metric "$T/buffer.prom" 'shadowstream_records_out_total{source="postgres",tool="ss-buffer"}')" = 20 ]
  [ "$(metric "$T/buffer.prom" 'shadowstream_commit_to_sink_seconds_count{source="postgres",tool="ss-buffer"}')" = 20 ]
  [ "$(metric "$T/archive.prom" 'shadowstream_records_out_total{source="postgres",tool="ss-archive"}')" = 20 ]
  [ "$(metric "$T/archive.prom" 'shadowstream_commit_to_sink_seconds_count{source="postgres",tool="ss-archive"}')" = 20 ]
  [ "$(metric "$T/archive.prom" 'shadowstream_duplicates_total{source="postgres",tool="ss-archive"}')" = 0 ]
  # The last position is the last record's, the same in every stage; its commit time is a recent one.
  last=$(ss-archive read --topic met.archive | ss-cat | tail -1 | jq -r .commit_lsn)
  lsn_dec=$(( (16#${last%/*} << 32) + 16#${last#*/} ))
  for f in capture buffer archive; do
    awk -v want="$lsn_dec" '$1 ~ /^shadowstream_last_commit_lsn\{/ { found = 1; ok = ($2 + 0 == want) }
                            END { exit !(found && ok) }' "$T/$f.prom"
  done
  awk -v now="$(date +%s)" '$1 ~ /^shadowstream_last_commit_timestamp_seconds\{/ { found = 1; ok = (now - $2 < 600 && $2 <= now + 1) }
                            END { exit !(found && ok) }' "$T/archive.prom"
  grep -q '^shadowstream_slot_lag_bytes{source="postgres",tool="ss-capture"} ' "$T/capture.prom"
  grep -q '^shadowstream_build_info{source="postgres",tool="ss-archive",version="0.1.0"} 1' "$T/archive.prom"
  # The same records again: the buffer counts them as duplicates, not as new.
  ss-archive read --topic met.archive | ss-buffer --stream met:s --metrics-file "$T/buffer2.prom" --no-passthrough
  [ "$(metric "$T/buffer2.prom" 'shadowstream_duplicates_total{source="postgres",tool="ss-buffer"}')" = 20 ]
  [ "$(metric "$T/buffer2.prom" 'shadowstream_records_out_total{source="postgres",tool="ss-buffer"}')" = 0 ]
}

@test "metrics: --metrics serves /metrics over HTTP while the reader runs; a scrape sees live counts" {
  ss-gen-records -n 50 --tx-size 5 --source httpm >"$T/in.ss"
  ss-buffer --stream httpm:s --no-passthrough <"$T/in.ss"
  port=$(ss_free_port)
  ss-buffer read --stream httpm:s --group g --metrics "127.0.0.1:$port" >/dev/null &
  ss_wait_for bash -c "$(declare -f scrape); scrape $port | grep -qx 'shadowstream_records_out_total{source=\"httpm\",tool=\"ss-buffer-read\"} 50'"
  scrape "$port" >"$T/scraped.prom"
  promtool check metrics <"$T/scraped.prom"
  grep -q '^shadowstream_bytes_out_total{source="httpm",tool="ss-buffer-read"} [1-9]' "$T/scraped.prom"
  grep -q '^shadowstream_process_start_time_seconds{source="httpm",tool="ss-buffer-read"} ' "$T/scraped.prom"
  # Only the stage's own series: nothing of the HTTP server's.
  ! grep -v '^#' "$T/scraped.prom" | grep -v '^shadowstream_\|^process_'
  ! grep -q '^exposer_' "$T/scraped.prom"
}

@test "metrics: ss-replay serve counts its jobs by state" {
  ss-gen-records -n 30 --tx-size 3 >"$T/jobs.ss"
  port=$(ss_free_port)
  ss-replay serve --listen 127.0.0.1:0 --store-key ss:metrics:jobs --files-dir "$T" --metrics "127.0.0.1:$port" \
    2>"$T/serve.err" &
  ss_wait_for grep -q "listening on" "$T/serve.err"
  addr=$(sed -n 's/.*listening on //p' "$T/serve.err" | tail -1)
  scrape "$port" >"$T/before.prom"
  for s in pending running paused done failed cancelled; do
    grep -qx "shadowstream_replay_jobs{state=\"$s\",tool=\"ss-replay-serve\"} 0" "$T/before.prom"
  done
  id=$(ss-replay submit -s "$addr" --source "file:$T/jobs.ss" --speed max)
  ss_wait_for bash -c "$(declare -f scrape); scrape $port | grep -qx 'shadowstream_replay_jobs{state=\"done\",tool=\"ss-replay-serve\"} 1'"
  scrape "$port" >"$T/after.prom"
  promtool check metrics <"$T/after.prom"
  [ "$(metric "$T/after.prom" 'shadowstream_records_out_total{tool="ss-replay-serve"}')" = 30 ]
  [ -n "$id" ]
  # The Grafana dashboard in examples/ asks only for metrics a stage exports (a scrape here has every family).
  dash="$SS_ROOT/examples/grafana-shadowstream.json"
  jq -e '.uid == "shadowstream-pipeline" and (.panels | length) > 10' "$dash"
  names=$(jq -r '.. | .expr? // empty' "$dash" | grep -oE '(shadowstream|process)_[a-z_]+' | sed -E 's/_(bucket|sum|count)$//' | sort -u)
  [ "$(wc -l <<<"$names")" -ge 10 ]
  for n in $names; do grep -q "^# TYPE $n " "$T/after.prom" || { echo "dashboard asks for $n"; false; }; done
}

@test "metrics: off loopback is refused (64), an unwritable file fails at start (78), nothing half-written" {
  run --separate-stderr ss-buffer --metrics 0.0.0.0:9 --stream x </dev/null
  [ "$status" -eq 64 ]
  [[ "$stderr" == *"loopback only"*"--metrics-file"* ]]
  run --separate-stderr ss-buffer --metrics-file /nonexistent/dir/m.prom --stream x </dev/null
  [ "$status" -eq 78 ]
  [[ "$stderr" == *"/nonexistent/dir/m.prom"* ]]
  port=$(ss_free_port)
  ss-buffer read --stream nothing --group g --metrics "127.0.0.1:$port" >/dev/null &
  ss_wait_for bash -c "$(declare -f scrape); scrape $port"
  run --separate-stderr ss-buffer read --stream nothing --group g --metrics "127.0.0.1:$port"
  [ "$status" -eq 69 ]
}

@test "metrics: the supervisor's METRICS_DIR gives each stage its textfile" {
  q "create table sup (id int primary key)"
  export STATE_DIR="$T/state" METRICS_DIR="$T/textfiles" SOURCE=supm SLOT=supm PUBLICATION=supm TABLES=public.sup
  export TOPIC=supm.archive CHECKPOINT_EVERY=off
  shadowstream up
  q "insert into sup select generate_series(1, 10)"
  for s in capture buffer reader archive; do ss_wait_for test -s "$METRICS_DIR/shadowstream-supm-$s.prom"; done
  ss_wait_for grep -q '^shadowstream_records_out_total{source="supm",tool="ss-archive"} [1-9]' "$METRICS_DIR/shadowstream-supm-archive.prom"
  shadowstream down
  for s in capture buffer reader archive; do promtool check metrics <"$METRICS_DIR/shadowstream-supm-$s.prom"; done
  grep -q '^shadowstream_records_out_total{source="supm",tool="ss-buffer-read"} [1-9]' "$METRICS_DIR/shadowstream-supm-reader.prom"
  # A directory the pipeline cannot write is refused before anything starts (78), not restarted forever.
  chmod 500 "$METRICS_DIR"
  if [ "$(id -u)" != 0 ]; then
    run --separate-stderr shadowstream up
    [ "$status" -eq 78 ]
  fi
  chmod 700 "$METRICS_DIR"
  METRICS_DIR="$T/bad dir" run --separate-stderr shadowstream up
  [ "$status" -eq 78 ]
  [[ "$stderr" == *METRICS_DIR* ]]
}
