#!/usr/bin/env bash
# ss-buffer into Redis against redis-benchmark's own pipelined XADD (-P 64) of same-sized entries, on the same
# server in the same run; then ss-buffer read (consumer group) of the same stream.
set -euo pipefail
cd "$(dirname "$0")/.."
source tests/helpers/servers.bash
source bench/lib.bash
trap ss_stop_all EXIT
N=${BENCH_RECORDS:-1000000}
ss_start_redis >&2
d=$(mktemp -d /tmp/ss-bench-buffer.XXXXXX)
trap 'rm -rf "$d"; ss_stop_all' EXIT
ss-gen-records -n "$N" --tx-size 10 --size 200 --source bench >"$d/in.ss"
rate() { awk -v n="$N" -v s="$1" 'BEGIN{printf "%.0f", n/s}'; }
w=$(secs bash -c "ss-buffer --no-passthrough <'$d/in.ss'")
r=$(secs bash -c "ss-buffer read --source bench --group bench --until-idle >/dev/null")
# The peer: one field of the same size as our serialized record, entry IDs chosen by Redis.
payload=$(head -c 200 /dev/zero | tr '\0' x)
peer=$(redis-benchmark -p "$SS_REDIS_PORT" -n "$N" -P 64 -c 1 --csv XADD peerstream '*' r "$payload" |
  awk -F'"' 'NR==2{print $4}')
# What a value for consumers without protobuf costs: the same write with each value format, fresh streams.
wj=$(secs bash -c "ss-buffer --no-passthrough --value-format json --stream bench:json <'$d/in.ss'")
wd=$(secs bash -c "ss-buffer --no-passthrough --value-format debezium --stream bench:dbz <'$d/in.ss'")
ours_w=$(rate "$w")
ours_r=$(rate "$r")
ours_wj=$(rate "$wj")
ours_wd=$(rate "$wd")
echo "BENCH|ss-buffer write (records/s)|$ours_w|${peer%.*}|$(ratio "$ours_w" "$peer")|ours/redis-benchmark XADD -P 64 -c 1, target >= 0.6"
echo "BENCH|ss-buffer read --group (records/s)|$ours_r|$ours_w|$(ratio "$ours_r" "$ours_w")|read/write, target >= 1"
echo "BENCH|ss-buffer write --value-format json (records/s)|$ours_wj|$ours_w|$(ratio "$ours_wj" "$ours_w")|with/without the JSON value"
echo "BENCH|ss-buffer write --value-format debezium (records/s)|$ours_wd|$ours_w|$(ratio "$ours_wd" "$ours_w")|with/without the Debezium value"
