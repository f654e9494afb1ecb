#!/usr/bin/env bash
# ShadowStream against Debezium 3.6.1's PostgreSQL connector on Kafka Connect standalone (tests/peers/fetch-debezium.sh),
# one after the other on the same PostgreSQL, the same workload and the same Apache Kafka broker:
#   - sustained throughput into Kafka: a backlog of BENCH_DBZ_TX pgbench transactions (an insert, an update and a
#     delete each: three changes) is written while the pipeline is down, then each side is started and timed from
#     its first message in Kafka to its last (changes/s at saturation); the CPU seconds its processes spent per
#     million changes (all of ShadowStream's stages summed, the Connect JVM) and their peak RSS (summed);
#   - time from start to the first event in Kafka (the same run);
#   - an initial snapshot of a table of BENCH_DBZ_ROWS rows into Kafka: ss-capture --checkpoint | ss-archive against
#     Debezium's snapshot.mode=initial_only, from start to the last row in Kafka.
# Debezium runs as users run it: Kafka Connect standalone's JVM flags (-Xms256M -Xmx2G), JSON converter with schemas
# off, a topic per table (16 partitions, as the archive), tombstones off (so messages count changes);
#   - commit-to-Kafka latency at fixed rates (BENCH_DBZ_RATES transactions/s, the same workload), each side caught up
#     and running: the transactions committed in a BENCH_DBZ_WINDOW-second window after a BENCH_DBZ_WARMUP-second
#     warm-up, timed from PostgreSQL's commit to a read_committed consumer of its topics (ss-kafka-latency: the same
#     consumer for both, the commit time read from each message), after BENCH_DBZ_SETTLE seconds at 2,000 tx/s; with
#     the cores each side, the broker and the machine were busy with.
set -euo pipefail
cd "$(dirname "$0")/.."
source tests/helpers/servers.bash
source bench/lib.bash
TX=${BENCH_DBZ_TX:-100000}
ROWS=${BENCH_DBZ_ROWS:-2000000}
d=$(mktemp -d /tmp/ss-bench-dbz.XXXXXX)
export STATE_DIR="$d/state" SHADOWSTREAM_CONF="$d/shadowstream.conf"
jvm=0
trap 'shadowstream down >/dev/null 2>&1 || true; ((jvm)) && kill "$jvm" 2>/dev/null; ss_kill_jobs; rm -rf "$d"; ss_stop_all' EXIT
tests/peers/fetch-debezium.sh >&2
home=$(tests/peers/fetch-debezium.sh --home)
ss_start_postgres "max_wal_size = 4GB" >&2
ss_start_redis >&2
ss_start_kafka --partitions 16 --topic bench.dbz.archive --topic bench.dbz.snapshot >&2
q() { psql -XAtq -v ON_ERROR_STOP=1 -c "$1"; }

pgbench -i -q -s 1 >&2
q "alter table pgbench_history add column hid bigserial primary key"
cat >"$d/tx.sql" <<'SQL'
\set aid random(1, 100000 * :scale)
\set delta random(-5000, 5000)
BEGIN;
INSERT INTO pgbench_history (tid, bid, aid, delta, mtime) VALUES (1, 1, :aid, :delta, CURRENT_TIMESTAMP);
UPDATE pgbench_accounts SET abalance = abalance + :delta WHERE aid = :aid;
DELETE FROM pgbench_history WHERE hid = currval('pgbench_history_hid_seq');
END;
SQL
backlog() { pgbench -n -f "$d/tx.sql" -c 4 -j 2 -t $((TX / 4)) >"$d/pgbench.log" 2>&1; }
CHANGES=$((TX / 4 * 4 * 3))
RATES=${BENCH_DBZ_RATES:-1000 5000}
WARMUP=${BENCH_DBZ_WARMUP:-5}
WINDOW=${BENCH_DBZ_WINDOW:-10}
# Before a side's latency windows: its workload at 2,000 tx/s for this long, untimed. The broker compiles its hot
# paths (the JIT) in its first minutes under a new load: the side measured first would pay for that alone.
SETTLE=${BENCH_DBZ_SETTLE:-20}
settle() { pgbench -n -f "$d/tx.sql" -c 4 -j 2 -R 2000 -T "$SETTLE" >/dev/null 2>&1; }
# latency_at PREFIX RATE OUT PIDS...: the window's figures (ss-kafka-latency's line) in OUT; in OUT.cpu, the cores
# the side's processes PIDS, the Kafka broker and the whole machine were busy with while pgbench ran (what a side
# costs at a rate is what it leaves PostgreSQL).
latency_at() {
  local from until probe broker n c0 c1 b0 b1 m0 m1 t0 t1
  from=$(($(wall_us) + WARMUP * 1000000))
  until=$((from + WINDOW * 1000000))
  ss-kafka-latency --prefix "$1" --from "$from" --until "$until" >"$3" 2>"$3.err" &
  probe=$!
  SS_WAIT_TIMEOUT=30 ss_wait_for grep -qx ready "$3.err"
  broker=$(cat "$SS_KAFKA_DIR/node1/pid")
  c0=$(cpu_secs "${@:4}") b0=$(cpu_secs "$broker") m0=$(busy_secs) t0=$(wall_us)
  pgbench -n -f "$d/tx.sql" -c 4 -j 2 -R "$2" -T $((WARMUP + WINDOW + 2)) >"$3.pgbench" 2>&1
  c1=$(cpu_secs "${@:4}") b1=$(cpu_secs "$broker") m1=$(busy_secs) t1=$(wall_us)
  awk -v c="$c0" -v C="$c1" -v b="$b0" -v B="$b1" -v m="$m0" -v M="$m1" -v t="$((t1 - t0))" \
    'BEGIN{t /= 1e6; printf "%.2f %.2f %.2f\n", (C - c) / t, (B - b) / t, (M - m) / t}' >"$3.cpu"
  wait "$probe" || {
    echo "ss-kafka-latency on $1* failed: $(tail -n 1 "$3.err")" >&2
    return 1
  }
  # A window that caught nothing (a side that stopped, a probe on the wrong topics) is an error, not a row of zeros.
  read -r n _ <"$3"
  ((n > 0)) || {
    echo "no transaction of the $2 tx/s window reached $1*" >&2
    return 1
  }
}

# CPU seconds (user + system) and peak RSS (kB) of the processes PIDS, summed; busy_secs: the machine's, all cores.
cpu_secs() { for p in "$@"; do awk '{print $14 + $15}' "/proc/$p/stat"; done | awk -v hz="$(getconf CLK_TCK)" '{s += $1} END {printf "%.2f", s / hz}'; }
busy_secs() { awk -v hz="$(getconf CLK_TCK)" '$1 == "cpu" {printf "%.2f", ($2 + $3 + $4 + $7 + $8 + $9) / hz; exit}' /proc/stat; }
peak_kb() { for p in "$@"; do awk '/^VmHWM:/ {print $2}' "/proc/$p/status"; done | awk '{s += $1} END {print s}'; }

# ---- ShadowStream: the supervised pipeline ----------------------------------------------------------------------
printf '%s\n' "SOURCE=bench" "TOPIC=bench.dbz.archive" "CHECKPOINT_EVERY=off" "TABLES=public.pgbench_accounts public.pgbench_history" >"$SHADOWSTREAM_CONF"
slot_active() { [ "$(q "select active from pg_replication_slots where slot_name = 'shadowstream'")" = t ]; }
confirmed_past() { [ "$(q "select confirmed_flush_lsn >= '$1' from pg_replication_slots where slot_name = 'shadowstream'")" = t ]; }
# The initial snapshot first (untimed), then the backlog with the pipeline down.
shadowstream up >&2
SS_WAIT_TIMEOUT=60 ss_wait_for slot_active
SS_WAIT_TIMEOUT=300 ss_wait_for archived_all
shadowstream down >&2
echo "ShadowStream: writing the backlog ($TX transactions)" >&2
backlog
target=$(q "select pg_current_wal_lsn()")
ss-kafka-watch --prefix bench.dbz.archive --count 1 >"$d/ss.first" &
watch=$!
t0=$(wall_us)
shadowstream up >&2
SS_WAIT_TIMEOUT=600 ss_wait_for confirmed_past "$target"
SS_WAIT_TIMEOUT=600 ss_wait_for archived_all
t_end=$(wall_us)
wait "$watch"
read -r t_first _ _ <"$d/ss.first"
mapfile -t pids < <(awk '$2 != 0 {print $2}' "$STATE_DIR/stages")
ss_cpu=$(cpu_secs "${pids[@]}")
ss_rss=$(peak_kb "${pids[@]}")
settle
for rate in $RATES; do latency_at bench.dbz.archive "$rate" "$d/ss.lat.$rate" "${pids[@]}" "$(cat "$SS_REDIS_DIR/pid")"; done
shadowstream down >&2
q "select pg_drop_replication_slot('shadowstream')" >/dev/null
ss_rate=$(awk -v n="$CHANGES" -v a="$t_first" -v b="$t_end" 'BEGIN{printf "%.0f", n / ((b - a) / 1e6)}')
ss_start_ms=$(((t_first - t0) / 1000))
echo "ShadowStream: $CHANGES changes in $(((t_end - t_first) / 1000)) ms after its first, ${ss_cpu} s CPU, peak RSS ${ss_rss} kB" >&2

# ---- Debezium on Kafka Connect standalone ----------------------------------------------------------------------
cat >"$d/worker.properties" <<EOF2
bootstrap.servers=$KAFKA_BROKERS
key.converter=org.apache.kafka.connect.json.JsonConverter
value.converter=org.apache.kafka.connect.json.JsonConverter
key.converter.schemas.enable=false
value.converter.schemas.enable=false
offset.storage.file.filename=$d/connect.offsets
offset.flush.interval.ms=1000
listeners=http://127.0.0.1:$(ss_free_port)
EOF2
connector() { # connector NAME TABLES SNAPSHOT_MODE
  cat <<EOF2
name=$1
connector.class=io.debezium.connector.postgresql.PostgresConnector
database.hostname=127.0.0.1
database.port=$PGPORT
database.user=postgres
database.password=unused
database.dbname=postgres
plugin.name=pgoutput
slot.name=$1
publication.name=$1
publication.autocreate.mode=filtered
table.include.list=$2
snapshot.mode=$3
topic.prefix=$1
tombstones.on.delete=false
topic.creation.default.partitions=16
topic.creation.default.replication.factor=1
EOF2
}
start_connect() { # start_connect CONNECTOR_FILE: the JVM's pid in $jvm
  java -Xms256M -Xmx2G -Dlog4j2.configurationFile="$home/log4j2.properties" -cp "$home/classes:$home/libs/*" \
    org.apache.kafka.connect.cli.ConnectStandalone "$d/worker.properties" "$1" >>"$d/connect.log" 2>&1 &
  jvm=$!
}
# connect_until CONNECTOR_FILE PREFIX COUNT OUT: starts Connect ($t0 when) and returns once its topics PREFIX* hold
# COUNT more messages, ss-kafka-watch's "first last count" in OUT.
connect_until() {
  ss-kafka-watch --prefix "$2" --count "$3" >"$4" &
  local watch=$!
  t0=$(wall_us)
  start_connect "$1"
  wait "$watch"
}
# Connect's shutdown hook can hang in Jetty's (IllegalStateException: STARTED): SIGKILL after 15 s.
stop_connect() {
  kill "$jvm" 2>/dev/null || true
  for ((i = 0; i < 150; i++)); do kill -0 "$jvm" 2>/dev/null || break; sleep 0.1; done
  kill -9 "$jvm" 2>/dev/null || true
  wait "$jvm" 2>/dev/null || true
  jvm=0
}

connector dbzbench public.pgbench_accounts,public.pgbench_history initial >"$d/stream.properties"
# The initial snapshot first (untimed): 100,000 accounts.
connect_until "$d/stream.properties" dbzbench. 100000 /dev/null
sleep 3 # offset.flush.interval.ms: let Connect store the snapshot's offsets before it stops
stop_connect
echo "Debezium: writing the backlog ($TX transactions)" >&2
backlog
connect_until "$d/stream.properties" dbzbench. "$CHANGES" "$d/dbz.times"
read -r t_first t_end _ <"$d/dbz.times"
dbz_cpu=$(cpu_secs "$jvm")
dbz_rss=$(peak_kb "$jvm")
settle
for rate in $RATES; do latency_at dbzbench. "$rate" "$d/dbz.lat.$rate" "$jvm"; done
stop_connect
q "select pg_drop_replication_slot('dbzbench')" >/dev/null
dbz_rate=$(awk -v n="$CHANGES" -v a="$t_first" -v b="$t_end" 'BEGIN{printf "%.0f", n / ((b - a) / 1e6)}')
dbz_start_ms=$(((t_first - t0) / 1000))
echo "Debezium: $CHANGES changes in $(((t_end - t_first) / 1000)) ms after its first, ${dbz_cpu} s CPU, peak RSS ${dbz_rss} kB" >&2

per_m() { awk -v c="$1" -v n="$CHANGES" 'BEGIN{printf "%.1f", c * 1e6 / n}'; }
echo "BENCH|Debezium: changes/s into Kafka, backlog|$ss_rate|$dbz_rate|$(ratio "$ss_rate" "$dbz_rate")|$CHANGES changes (insert, update, delete per tx), first to last in Kafka; target ratio >= 3"
echo "BENCH|Debezium: CPU s per million changes|$(per_m "$ss_cpu")|$(per_m "$dbz_cpu")|$(ratio "$(per_m "$ss_cpu")" "$(per_m "$dbz_cpu")")|all four stages summed / the Connect JVM"
echo "BENCH|Debezium: peak RSS (MB)|$((ss_rss / 1024))|$((dbz_rss / 1024))|$(ratio "$ss_rss" "$dbz_rss")|all four stages summed / the Connect JVM; target ratio <= 0.1"
echo "BENCH|Debezium: start to first event in Kafka (ms)|$ss_start_ms|$dbz_start_ms|$(ratio "$ss_start_ms" "$dbz_start_ms")|with a backlog waiting"
for rate in $RATES; do
  read -r sn s50 s99 _ <"$d/ss.lat.$rate"
  read -r dn d50 d99 _ <"$d/dbz.lat.$rate"
  tps() { awk '/^tps = / { printf "%.0f", $3; exit }' "$1"; }
  read -r sc sb sm <"$d/ss.lat.$rate.cpu"
  read -r dc db dm <"$d/dbz.lat.$rate.cpu"
  echo "BENCH|Debezium: commit to Kafka p99 at $rate tx/s (ms)|$s99|$d99|$(ratio "$s99" "$d99")|p50 $s50 / $d50 ms over $sn / $dn transactions (3 changes each; pgbench committed $(tps "$d/ss.lat.$rate.pgbench") / $(tps "$d/dbz.lat.$rate.pgbench") tx/s; cores busy: stages and Redis $sc / JVM $dc, broker $sb / $db, machine $sm / $dm of 2), read_committed consumer; target ratio <= 0.33"
done

# ---- initial snapshot of a big table ----------------------------------------------------------------------------
q "create table big (id bigint primary key, a int, b text, c timestamptz)"
q "insert into big select g, g % 1000, md5(g::text), now() from generate_series(1, $ROWS) g"
q "vacuum analyze big"
t0=$(wall_us)
ss-capture --publication bench_snap --table public.big --checkpoint --source-name snap 2>>"$d/snap.err" |
  ss-archive --topic bench.dbz.snapshot 2>>"$d/snap.err"
ss_snap_ms=$((($(wall_us) - t0) / 1000))
connector dbzsnap public.big initial_only >"$d/snap.properties"
connect_until "$d/snap.properties" dbzsnap. "$ROWS" "$d/snap.times"
read -r _ t_end _ <"$d/snap.times"
stop_connect
dbz_snap_ms=$(((t_end - t0) / 1000))
echo "BENCH|Debezium: initial snapshot of $ROWS rows into Kafka (s)|$(awk -v m="$ss_snap_ms" 'BEGIN{printf "%.1f", m/1000}')|$(awk -v m="$dbz_snap_ms" 'BEGIN{printf "%.1f", m/1000}')|$(ratio "$ss_snap_ms" "$dbz_snap_ms")|ss-capture --checkpoint | ss-archive / snapshot.mode=initial_only, start to last row"
