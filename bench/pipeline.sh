#!/usr/bin/env bash
# The whole pipeline as `shadowstream up` runs it (defaults, acknowledgement FIFOs) on local servers, under pgbench
# transactions of an update, an insert and, one time in ten, a delete: at fixed rates and flat out. For each run, the
# transactions committed in a 10 s window after a warm-up are timed from PostgreSQL's commit to their arrival at a
# Redis stream reader (a consumer group of its own) and at a read_committed Kafka consumer (a group member with
# fetch.wait.max.ms=5: the mock holds a fetch for the whole wait). The peer is PostgreSQL itself: the rate it
# commits (pgbench's tps) against the rate that reaches Kafka, and whether the lag grows over the window.
set -euo pipefail
cd "$(dirname "$0")/.."
source tests/helpers/servers.bash
source bench/lib.bash
d=$(mktemp -d /tmp/ss-bench-pipeline.XXXXXX)
export STATE_DIR="$d/state" SHADOWSTREAM_CONF="$d/shadowstream.conf"
trap 'shadowstream down >/dev/null 2>&1 || true; ss_kill_jobs; rm -rf "$d"; ss_stop_all' EXIT
RATES=${BENCH_PIPELINE_RATES:-1000 2000 5000 max}
WARMUP=${BENCH_PIPELINE_WARMUP:-5}
WINDOW=${BENCH_PIPELINE_WINDOW:-10}
ss_start_postgres >&2
ss_start_redis >&2
# A topic per run: the mock looks messages up by a scan of the partition's log, so a long log would slow the
# later runs down (a real cluster indexes its segments).
topics=(--topic bench.pipeline.warm)
# (A rate may be listed more than once, e.g. "2000 2000 2000" for three runs of it: a topic per run.)
n=0
for rate in $RATES; do topics+=(--topic "bench.pipeline.$((++n)).$rate"); done
bench_kafka --partitions 16 "${topics[@]}" >&2
q() { psql -XAtq -v ON_ERROR_STOP=1 -c "$1"; }

# Scale 1: the pipeline starts with a checkpoint of the tables, which should not still be archiving when timing starts.
pgbench -i -q -s 1 >&2
# pgbench_history has no key: give it one, so its deletes can be published.
q "alter table pgbench_history add column hid bigserial primary key"
cat >"$d/tx.sql" <<'SQL'
\set aid random(1, 100000 * :scale)
\set bid random(1, :scale)
\set tid random(1, 10 * :scale)
\set delta random(-5000, 5000)
\set del random(1, 10)
BEGIN;
UPDATE pgbench_accounts SET abalance = abalance + :delta WHERE aid = :aid;
INSERT INTO pgbench_history (tid, bid, aid, delta, mtime) VALUES (:tid, :bid, :aid, :delta, CURRENT_TIMESTAMP);
\if :del = 1
DELETE FROM pgbench_history WHERE hid = (SELECT min(hid) FROM pgbench_history);
\endif
END;
SQL
printf '%s\n' "SOURCE=bench" "CHECKPOINT_EVERY=off" "BACKOFF_MAX=1" >"$SHADOWSTREAM_CONF"
slot_active() { [ "$(q "select active from pg_replication_slots where slot_name = 'shadowstream'")" = t ]; }

# A broker that has just started spends a core compiling its hot paths (the JIT's compiler threads took a fifth of
# the machine's CPU in the second minute, and p99s halved from the first run to the third): a production broker has
# been up for days. The pipeline runs at 2,000 tx/s for BENCH_PIPELINE_BROKER_WARMUP seconds first, untimed.
BROKER_WARMUP=${BENCH_PIPELINE_BROKER_WARMUP:-60}
if [ "$KAFKA_KIND" = apache ] && ((BROKER_WARMUP > 0)); then
  echo "warming the broker up: ${BROKER_WARMUP}s at 2000 tx/s" >&2
  TOPIC=bench.pipeline.warm shadowstream up >&2
  SS_WAIT_TIMEOUT=60 ss_wait_for slot_active
  pgbench -n -f "$d/tx.sql" -c 4 -j 2 -R 2000 -T "$BROKER_WARMUP" >/dev/null 2>&1
  shadowstream down >&2
fi
n=0
for rate in $RATES; do
  export TOPIC="bench.pipeline.$((++n)).$rate"
  shadowstream down >&2
  shadowstream up >&2
  SS_WAIT_TIMEOUT=60 ss_wait_for slot_active
  SS_WAIT_TIMEOUT=120 ss_wait_for archived_all
  from=$(($(wall_us) + WARMUP * 1000000))
  until=$((from + WINDOW * 1000000))
  (ss-buffer read --source bench --group "probe-$rate" --from now 2>/dev/null |
    ss-frame-latency --from "$from" --until "$until" >"$d/redis.$rate") &
  probes=($!)
  (ss-archive read --topic "$TOPIC" --group "probe-$rate" --follow -X fetch.wait.max.ms=5 2>/dev/null |
    ss-frame-latency --from "$from" --until "$until" >"$d/kafka.$rate") &
  probes+=($!)
  flags=(-c 4 -j 2)
  [ "$rate" = max ] || flags+=(-R "$rate")
  pgbench -n -f "$d/tx.sql" "${flags[@]}" -T $((WARMUP + WINDOW + 2)) >"$d/pgbench.$rate" 2>&1
  tps=$(awk '/^tps = / { printf "%.0f", $3; exit }' "$d/pgbench.$rate")
  SS_WAIT_TIMEOUT=120 ss_wait_for test -s "$d/kafka.$rate"
  SS_WAIT_TIMEOUT=30 ss_wait_for test -s "$d/redis.$rate"
  # The probes' readers end at their next write into the closed pipe; a quiet one is stopped, not left to compete.
  for p in "${probes[@]}"; do pkill -P "$p" 2>/dev/null || true; done
  read -r rn r50 r99 rmax _ _ _ <"$d/redis.$rate"
  read -r kn k50 k99 kmax kr k50a k50b <"$d/kafka.$rate"
  got=$(awk -v n="$kn" -v w="$WINDOW" 'BEGIN{printf "%.0f", n/w}')
  at="at $rate tx/s"
  [ "$rate" = max ] && at="flat out ($tps tx/s)"
  echo "BENCH|commit to Redis $at (ms) [$KAFKA_KIND]|$r50 / $r99|5|$(ratio "$r99" 5)|p50 / p99 over $rn transactions, max ${rmax}; p99 target <= 5 at 2000 tx/s"
  echo "BENCH|commit to Kafka $at (ms) [$KAFKA_KIND]|$k50 / $k99|50|$(ratio "$k99" 50)|p50 / p99 over $kn transactions, max ${kmax}; p99 target <= 50 at 2000 tx/s"
  echo "BENCH|transactions/s into Kafka $at [$KAFKA_KIND]|$got|$tps|$(ratio "$got" "$tps")|the window's transactions read from Kafka / pgbench's tps ($kr changes/s); p50 in the window's first half ${k50a} ms, second half ${k50b} ms (flat = keeping up)"
done
