#!/usr/bin/env bats
# Fitting the ecosystem: Debezium's change events (ss-cat --format debezium), JSON values in Redis for consumers
# without protobuf (ss-buffer --value-format), Prometheus metrics from every long-running stage.

load ../helpers/servers

setup_file() {
  ss_start_postgres
  ss_start_redis
}

teardown_file() { ss_stop_all; }
teardown() { ss_kill_jobs; }
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
  jq -e -s '.[2].value.after == {"id":2,"v":"b"} and .[2].delete.op == "d" and .[2].delete.before == {"id":1}' "$T/dz.jsonl"
  jq -e -s '.[3].value.before == {"id":2} and (.[3] | has("delete") | not)' "$T/dz.jsonl"
  # The same events ss-cat prints from the same records.
  ss-buffer read --stream dz:events >"$T/dz.ss"
  diff <(ss-cat --format debezium "$T/dz.ss" | jq -c 'select(.op != "d" or .before.id != 1)') \
       <(jq -c .value "$T/dz.jsonl")
}
