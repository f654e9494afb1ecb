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
