#!/usr/bin/env bash
# make demo: the main job on local defaults, end to end.
#   throwaway PostgreSQL 15 + redis-server + a Kafka, chosen by KAFKA (make demo KAFKA=...):
#     mock (default)  librdkafka's in-memory mock cluster: no JVM, NOT a real Kafka
#     apache          Apache Kafka, one KRaft node (the broker `make deps` fetched)
#     external        your own cluster at KAFKA_BROKERS (the topic shadowstream.archive is created if absent)
#   -> a small orders/payments workload with inserts, updates and deletes
#   -> ss-capture | ss-buffer (real time, acknowledged through a FIFO) and ss-buffer read | ss-archive (exactly once)
#   -> time travel: a shadow database rebuilt from the archive as of an instant early in the workload must equal
#      the source as it was then; then ss-replay serve replays the next stretch of history into it at 10x, followed
#      by ss-progress, and the shadow must equal the source at the window's end.
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
case ${KAFKA:-mock} in
mock)
  ss_start_kafka_mock --partitions 16 --topic shadowstream.archive
  kafka_is="librdkafka's in-memory mock cluster, not a real Kafka: make demo KAFKA=apache for one"
  ;;
apache)
  ss_start_kafka --partitions 16 --topic shadowstream.archive
  kafka_is="Apache Kafka, one KRaft node, data in $SS_KAFKA_DIR"
  ;;
external)
  [ -n "${KAFKA_BROKERS:-}" ] || {
    echo "demo: KAFKA=external needs KAFKA_BROKERS=host:port[,...]" >&2
    exit 78
  }
  ss-kafka-topic shadowstream.archive --partitions 16
  kafka_is="your cluster"
  ;;
*)
  echo "demo: KAFKA is mock, apache or external, not '$KAFKA'" >&2
  exit 64
  ;;
esac
echo "PostgreSQL $SS_PG_URL"
echo "Redis      $REDIS_URL"
echo "Kafka      $KAFKA_BROKERS  ($kafka_is)"

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
ss-archive --ack "$work/ar.ack" <"$work/ar.pipe" 2>"$work/archive.log" &
pids+=($!)
ss-buffer read --source postgres --group archiver --ack-from "$work/ar.ack" >"$work/ar.pipe" 2>"$work/reader.log" &
pids+=($!)

# snapshot NAME: an instant, and the source's orders and payments as they are at it.
snapshot() {
  local at
  at=$(q "select to_char(clock_timestamp() at time zone 'utc', 'YYYY-MM-DD\"T\"HH24:MI:SS.US\"Z\"')")
  printf -v "$1" '%s' "$at"
  printf -v "$1_truth" '%s' "$(sums postgres)"
}
sums() {
  psql -XAtq -d "$1" -c "select (select count(*) || ' ' || md5(string_agg(o::text, ';' order by id)) from orders o)
    || ' / ' || (select count(*) || ' ' || md5(string_agg(p::text, ';' order by id)) from payments p)"
}

step "workload: 15 seconds of orders, payments, status updates and cancellations"
deadline=$((SECONDS + 15))
i=200
t1_done=0
t2_done=0
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
  # Two instants to travel to: one early on, one near the end; what the source looked like at each.
  if ((!t1_done && SECONDS >= deadline - 12)); then
    snapshot t1
    t1_done=1
  elif ((!t2_done && SECONDS >= deadline - 2)); then
    snapshot t2
    t2_done=1
  fi
done
q "select pg_logical_emit_message(true, 'demo', 'end')" >/dev/null
changes=$(q "select count(*) from orders")
echo "orders now: $changes rows; travelling back to $t1, then replaying to $t2 at 10x"

step "waiting for the archive to hold everything"
SS_WAIT_TIMEOUT=60 ss_wait_for bash -c "ss-archive read | ss-cat | grep -q '\"prefix\":\"demo\"'"
captured=$(ss-buffer read --source postgres | ss-cat | wc -l)
archived=$(ss-archive read | ss-cat | wc -l)
echo "captured into Redis: $captured records; archived in Kafka: $archived records"

step "a checkpoint beside the running pipeline: later rebuilds start from it, not from the first snapshot"
ss-capture --publication demo --checkpoint | ss-archive
ss-archive checkpoints

step "time travel: a shadow database as the source was at $t1"
q "create database shadow"
ss-archive read --until "$t1" | ss-replay --speed max --until "$t1" --to dbname=shadow --create-tables
at_t1=$(sums shadow)
echo "source at $t1:  $t1_truth"
echo "shadow:                          $at_t1"

step "replay: $t1 .. $t2 at 10x into the shadow database, as a job of ss-replay serve"
head -c 24 /dev/urandom | base64 | tr -d '/+=' >"$work/token"
ss-replay serve --listen 127.0.0.1:0 --token-file "$work/token" --http 0 --pipeline-dbname "dbname=$PGDATABASE" \
  --pipeline-slot demo --pipeline-stream shadowstream:postgres:changes \
  --pipeline-group analytics-group 2>"$work/serve.log" &
pids+=($!)
ss_wait_for grep -q "dashboard on" "$work/serve.log"
server=$(sed -n 's/.*listening on //p' "$work/serve.log")
echo "dashboard: $(sed -n 's/.*dashboard on //p' "$work/serve.log") (token: first line of $work/token)"
job=$(ss-replay submit --server "$server" --token-file "$work/token" --source kafka:shadowstream.archive \
  --since "$t1" --until "$t2" --speed 10 --to dbname=shadow --name demo)
echo "job $job"
ss-progress --bar --server "$server" --token-file "$work/token" "$job"
replayed=$(ss-replay jobs --server "$server" --token-file "$work/token" --json |
  jq -r "select(.id == \"$job\") | .progress.records_done // 0")
at_t2=$(sums shadow)
echo "source at $t2:  $t2_truth"
echo "shadow:                          $at_t2"

step "verdict"
ok=1
[ "$captured" -eq "$archived" ] || { echo "FAIL: Redis and Kafka disagree"; ok=0; }
[ "$at_t1" = "$t1_truth" ] || { echo "FAIL: the shadow differs from the source at $t1"; ok=0; }
[ "$at_t2" = "$t2_truth" ] || { echo "FAIL: the shadow differs from the source at $t2 after the replay"; ok=0; }
if ((ok)); then
  echo "OK: $captured changes captured, $archived archived exactly once, $replayed replayed at 10x;"
  echo "    the shadow database equals the source at $t1 and at $t2."
else
  exit 1
fi
