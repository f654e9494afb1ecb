#!/usr/bin/env bash
# make demo: the main job on local defaults, end to end.
#   throwaway PostgreSQL 15 + redis-server + Kafka test broker (librdkafka's in-memory mock cluster: NOT a real
#   Kafka; set KAFKA_BROKERS and drop ss_start_kafka to use a real cluster)
#   -> a small orders/payments workload with inserts, updates and deletes
#   -> ss-capture | ss-buffer (real time, acknowledged through a FIFO) and ss-buffer read | ss-archive (exactly once)
#   -> time travel: the archive read up to an instant in the middle of the workload, folded into table state, must
#      equal the source as it was at that instant.
# Stops everything it started.
set -euo pipefail
cd "$(dirname "$0")/.."
source tests/helpers/servers.bash
work=$(mktemp -d /tmp/ss-demo.XXXXXX)
pids=()
cleanup() {
  local p
  for p in "${pids[@]}"; do kill "$p" 2>/dev/null || true; done
  for p in "${pids[@]}"; do wait "$p" 2>/dev/null || true; done
  ss_stop_all
  rm -rf "$work"
}
trap cleanup EXIT

step() { printf '\n== %s\n' "$*"; }
q() { psql -XAtq -v ON_ERROR_STOP=1 -c "$1"; }

step "starting throwaway servers"
ss_start_postgres
ss_start_redis --appendonly yes --appendfsync everysec
ss_start_kafka --partitions 16 --topic shadowstream.archive
echo "PostgreSQL $SS_PG_URL"
echo "Redis      $REDIS_URL"
echo "Kafka      $KAFKA_BROKERS  (in-memory test broker)"

step "schema: orders and payments"
psql -Xq -v ON_ERROR_STOP=1 <<'SQL'
create table orders (id int primary key, customer text not null, total numeric(12,2) not null, status text not null);
create table payments (id int primary key, order_id int not null, amount numeric(12,2) not null);
insert into orders select g, 'customer ' || g % 17, g * 1.25, 'new' from generate_series(1, 200) g;
SQL

step "pipeline: ss-capture | ss-buffer   and   ss-buffer read | ss-archive   (acks through FIFOs)"
# Named pipes instead of `|` so every stage has its own pid to stop.
mkfifo "$work/rt.ack" "$work/ar.ack" "$work/rt.pipe" "$work/ar.pipe"
ss-buffer --no-passthrough --ack "$work/rt.ack" <"$work/rt.pipe" 2>"$work/buffer.log" &
pids+=($!)
ss-capture --slot demo --publication demo --ack-from "$work/rt.ack" >"$work/rt.pipe" 2>"$work/capture.log" &
pids+=($!)
ss-archive --ack "$work/ar.ack" --linger 50ms <"$work/ar.pipe" 2>"$work/archive.log" &
pids+=($!)
ss-buffer read --source postgres --group archiver --ack-from "$work/ar.ack" >"$work/ar.pipe" 2>"$work/reader.log" &
pids+=($!)

step "workload: 6 seconds of orders, payments, status updates and cancellations"
deadline=$((SECONDS + 6))
i=200
mid_done=0
while ((SECONDS < deadline)); do
  i=$((i + 1))
  psql -Xq -v ON_ERROR_STOP=1 >/dev/null <<SQL
begin;
insert into orders values ($i, 'customer $((i % 17))', $((i % 97)).50, 'new');
insert into payments values ($i, $((i - 150)), $((i % 97)).50);
update orders set status = 'paid' where id = $((i - 150));
delete from orders where id = $((i - 190)) and status = 'new';
commit;
SQL
  if ((!mid_done && SECONDS >= deadline - 3)); then
    # The instant to travel back to, and what the source looked like then.
    at=$(q "select to_char(clock_timestamp() at time zone 'utc', 'YYYY-MM-DD\"T\"HH24:MI:SS.US\"Z\"')")
    truth=$(q "select count(*) || ' ' || md5(string_agg(id || ',' || status, ';' order by id)) from orders")
    mid_done=1
  fi
done
q "select pg_logical_emit_message(true, 'demo', 'end')" >/dev/null
changes=$(q "select count(*) from orders")
echo "orders now: $changes rows; travelling back to $at"

step "waiting for the archive to hold everything"
SS_WAIT_TIMEOUT=60 ss_wait_for bash -c "ss-archive read | ss-cat | grep -q '\"prefix\":\"demo\"'"
captured=$(ss-buffer read --source postgres | ss-cat | wc -l)
archived=$(ss-archive read | ss-cat | wc -l)
echo "captured into Redis: $captured records; archived in Kafka: $archived records"

step "time travel: the archive up to $at, folded into the orders table"
ss-archive read --until "$at" | ss-cat >"$work/window.jsonl"
echo "records committed before $at: $(wc -l <"$work/window.jsonl")"
rebuilt=$(python3 tests/helpers/fold_state.py "$work/window.jsonl" orders status)
echo "source at $at:  $truth"
echo "rebuilt:           $rebuilt"

step "verdict"
ok=1
[ "$captured" -eq "$archived" ] || { echo "FAIL: Redis and Kafka disagree"; ok=0; }
[ "$rebuilt" = "$truth" ] || { echo "FAIL: the rebuilt table differs from the source at $at"; ok=0; }
if ((ok)); then
  echo "OK: $captured changes captured, $archived archived exactly once; orders as of $at rebuilt exactly."
  echo "(Paced replay into a shadow database, ss-replay, lands with its own issue.)"
else
  exit 1
fi
