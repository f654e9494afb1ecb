#!/usr/bin/env bash
# ss-cat throughput over a 1M-record stream (~200-byte records): frames -> JSON and JSON -> frames, against jq
# re-printing the same JSON lines (the tool people would otherwise use to look at a change stream).
set -euo pipefail
cd "$(dirname "$0")/.."
PATH="$PWD/build/bin:$PWD/build/test-bin:$PATH"
N=${BENCH_RECORDS:-1000000}
d=$(mktemp -d /tmp/ss-bench-cat.XXXXXX)
trap 'rm -rf "$d"' EXIT
ss-gen-records -n "$N" --tx-size 10 --size 200 >"$d/in.ss"
ss-gen-records -n "$N" --tx-size 10 --size 200 --json >"$d/in.jsonl"
echo "input: $N records, $(stat -c %s "$d/in.ss") bytes of frames, $(stat -c %s "$d/in.jsonl") bytes of JSON" >&2

secs() { # best of 3 wall-clock seconds of "$@"
  local best=""
  for _ in 1 2 3; do
    local t0 t1
    t0=$(date +%s.%N)
    "$@" >/dev/null
    t1=$(date +%s.%N)
    best=$(echo "$t1 $t0 ${best:-999999}" | awk '{d=$1-$2; print (d<$3)?d:$3}')
  done
  echo "$best"
}
rate() { awk -v n="$N" -v s="$1" 'BEGIN{printf "%.0f", n/s}'; }

to_json=$(secs ss-cat "$d/in.ss")
from_json=$(secs ss-cat -j "$d/in.jsonl")
jq_s=$(secs jq -c . "$d/in.jsonl")
cat_s=$(secs cat "$d/in.ss")
r1=$(rate "$to_json") r2=$(rate "$from_json") rj=$(rate "$jq_s")
echo "BENCH|ss-cat frames->JSON (records/s)|$r1|$rj|$(awk -v a="$r1" -v b="$rj" 'BEGIN{printf "%.2f", a/b}')|ours/jq -c, higher is better"
echo "BENCH|ss-cat JSON->frames (records/s)|$r2|$rj|$(awk -v a="$r2" -v b="$rj" 'BEGIN{printf "%.2f", a/b}')|ours/jq -c, higher is better"
echo "BENCH|frames read (MB/s, ss-cat vs cat)|$(awk -v b="$(stat -c %s "$d/in.ss")" -v s="$to_json" 'BEGIN{printf "%.0f", b/s/1e6}')|$(awk -v b="$(stat -c %s "$d/in.ss")" -v s="$cat_s" 'BEGIN{printf "%.0f", b/s/1e6}')|-|ss-cat decodes and prints JSON; cat only copies"
