#!/usr/bin/env bash
# ss-archive against kcat -P on the same broker in the same run: 1M ~200-byte records (ours in transactions, kcat's
# one per line without), and on Apache Kafka against Kafka's own kafka-producer-perf-test (transactional, the same
# record size) and kafka-consumer-perf-test. Then the seek: a time-window read of the last 1% of the topic against
# reading a topic that holds only that 1%.
set -euo pipefail
cd "$(dirname "$0")/.."
source tests/helpers/servers.bash
source bench/lib.bash
d=$(mktemp -d /tmp/ss-bench-archive.XXXXXX)
trap 'rm -rf "$d"; ss_stop_all' EXIT
N=${BENCH_RECORDS:-1000000}
# 64 partitions (on the mock, they keep each under its per-partition cap: HACKING.md, Test harness).
bench_kafka --partitions 64 --topic ours1 --topic ours2 --topic ours3 --topic peer1 --topic peer2 --topic peer3 \
  --topic keyed1 --topic keyed2 --topic keyed3 --topic tail --topic perf1 --topic perf2 --topic perf3 >&2
ss-gen-records -n "$N" --tx-size 10 --size 200 --interval 1ms >"$d/in.ss"
ss-cat "$d/in.ss" | jq -r '.columns[1].text' >"$d/lines.txt"
# The same payloads with a per-row key and five headers, as ours carry (kcat's headers are the same on every message).
ss-cat "$d/in.ss" | jq -r '"\(.source.name)/public.items/\(.columns[0].text)\t\(.columns[1].text)"' >"$d/keyed.txt"
# Writes are the best of three runs each side, each run into a topic of its own (a second run into the same topic
# would find its records archived already): one run of either swings by half on this shared 2-core machine.
best3() { sort -g | head -1; }
ours=$(for i in 1 2 3; do secs bash -c "ss-archive --topic ours$i <'$d/in.ss'"; done | best3)
peer=$(for i in 1 2 3; do secs bash -c "kcat -b '$KAFKA_BROKERS' -P -t peer$i -l '$d/lines.txt'"; done | best3)
r_ours=$(awk -v n="$N" -v s="$ours" 'BEGIN{printf "%.0f", n/s}')
r_peer=$(awk -v n="$N" -v s="$peer" 'BEGIN{printf "%.0f", n/s}')
echo "BENCH|ss-archive write (records/s) [$KAFKA_KIND]|$r_ours|$r_peer|$(ratio "$r_ours" "$r_peer")|ours (transactions)/kcat -P, best of 3 each, target >= 0.7"
keyed=$(for i in 1 2 3; do secs bash -c "kcat -b '$KAFKA_BROKERS' -P -t keyed$i -K \$'\\t' -H position=0/16B3740:9 \
  -H source=bench -H xid=123456 -H table=public.items -H op=2 -l '$d/keyed.txt'"; done | best3)
r_keyed=$(awk -v n="$N" -v s="$keyed" 'BEGIN{printf "%.0f", n/s}')
echo "BENCH|ss-archive write vs keyed kcat (records/s) [$KAFKA_KIND]|$r_ours|$r_keyed|$(ratio "$r_ours" "$r_keyed")|ours/kcat -P -K with 5 -H headers (like for like, no transactions), best of 3 each, target >= 0.8"
# The last 1% by commit time.
since=$(ss-cat "$d/in.ss" | sed -n "$((N - N / 100 + 1))p" | jq -r .commit_time)
tail_n=$(ss-cat "$d/in.ss" | jq -r "select(.commit_time >= \"$since\") | 1" | wc -l)
ss-cat "$d/in.ss" | jq -c "select(.commit_time >= \"$since\")" | ss-cat -j >"$d/tail.ss"
ss-archive --topic tail <"$d/tail.ss"
win=$(secs bash -c "ss-archive read --topic ours1 --since '$since' >'$d/win.ss'")
alone=$(secs bash -c "ss-archive read --topic tail >'$d/alone.ss'")
# The window opens with its base marker (the last change before it), which ss-cat leaves out.
cmp <(ss-cat "$d/win.ss") <(ss-cat "$d/alone.ss") >&2 && echo "window read = the tail alone ($tail_n records)" >&2
echo "BENCH|ss-archive read last 1% by time (s) [$KAFKA_KIND]|$win|$alone|$(ratio "$win" "$alone")|window on 1M topic / same records alone, target < 2"
# The whole topic, in position order, against kcat reading it to its end (unordered); the best of three runs each.
whole=$(best_secs 3 bash -c "ss-archive read --topic ours1 --from-position 0/1 >/dev/null")
kc=$(best_secs 3 bash -c "kcat -b '$KAFKA_BROKERS' -C -t ours1 -o beginning -e -q >/dev/null")
r_whole=$(awk -v n="$N" -v s="$whole" 'BEGIN{printf "%.0f", n/s}')
r_kc=$(awk -v n="$N" -v s="$kc" 'BEGIN{printf "%.0f", n/s}')
echo "BENCH|ss-archive read whole topic (records/s) [$KAFKA_KIND]|$r_whole|$r_kc|$(ratio "$r_whole" "$r_kc")|ours in position order/kcat -C -e (best of 3 each), target >= 0.8"
if [ "$KAFKA_KIND" = apache ]; then
  # Kafka's own producer, transactional, one transaction a second (ours commits at the end of its input or of a
  # --batch of 10000): records/s as it reports them, best of three.
  perf=$(for i in 1 2 3; do
    ss_kafka_tool producer-perf-test --topic "perf$i" --num-records "$N" --record-size 200 --throughput -1 \
      --transactional-id "perf$i" --transaction-duration-ms 1000 --producer-props bootstrap.servers="$KAFKA_BROKERS" \
      2>/dev/null | sed -n 's/.* records sent, \([0-9.]*\) records\/sec.*/\1/p' | tail -1
  done | sort -g | tail -1)
  echo "BENCH|ss-archive write vs kafka-producer-perf-test (records/s) [$KAFKA_KIND]|$r_ours|${perf%.*}|$(ratio "$r_ours" "$perf")|ours/Kafka's producer, transactional, 200-byte records, best of 3 each"
  cperf=$(for i in 1 2 3; do
    ss_kafka_tool consumer-perf-test --bootstrap-server "$KAFKA_BROKERS" --topic ours1 --num-records "$N" \
      --timeout 30000 2>/dev/null | awk -F', *' '/^start.time/ { getline; print $6 }'
  done | sort -g | tail -1)
  echo "BENCH|ss-archive read whole vs kafka-consumer-perf-test (records/s) [$KAFKA_KIND]|$r_whole|${cperf%.*}|$(ratio "$r_whole" "$cperf")|ours in position order, process start included/Kafka's consumer, unordered, JVM start excluded, group join included; best of 3 each"
fi
