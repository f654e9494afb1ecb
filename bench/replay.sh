#!/usr/bin/env bash
# ss-replay: unthrottled replay of 1M records to /dev/null (target >= 1M records/s); the same records applied to
# PostgreSQL against psql running the equivalent INSERT/UPDATE/DELETE statements in the same transactions, on the
# same server in the same run; and pacing accuracy of a one-minute replay at 10x.
set -euo pipefail
cd "$(dirname "$0")/.."
source tests/helpers/servers.bash
source bench/lib.bash
N=${BENCH_RECORDS:-1000000}
d=$(mktemp -d /tmp/ss-bench-replay.XXXXXX)
trap 'rm -rf "$d"; ss_stop_all' EXIT
ss_start_postgres "synchronous_commit = off" "shared_buffers = 512MB" "max_wal_size = 4GB" >&2
rate() { awk -v n="$N" -v s="$1" 'BEGIN{printf "%.0f", n/s}'; }

parts=${BENCH_REPLAY_PARTS:-devnull postgres shapes pacing}
ss-gen-records -n "$N" --tx-size 10 --size 200 --mix --source bench >"$d/in.ss"
[[ " $parts " == *" postgres "* ]] && ss-gen-records -n "$N" --tx-size 10 --size 200 --mix --source bench --sql >"$d/in.sql"

if [[ " $parts " == *" devnull "* ]]; then
  t=$(secs bash -c "ss-replay --speed max <'$d/in.ss' >/dev/null")
  ours=$(rate "$t")
  echo "BENCH|ss-replay --speed max > /dev/null (rec/s)|$ours|1000000|$(ratio "$ours" 1000000)|peer = the 1M records/s target"
fi

if [[ " $parts " == *" postgres "* ]]; then
for db in viapsql viareplay viaplain; do
  psql -XAtq -c "create database $db"
  psql -XAtq -d "$db" -c "create table items (id bigint primary key, payload text)"
done
p=$(secs bash -c "psql -XAtq -v ON_ERROR_STOP=1 -d viapsql -f '$d/in.sql' >/dev/null")
r=$(secs bash -c "ss-replay --speed max --to dbname=viareplay <'$d/in.ss'")
same=$([ "$(psql -XAtq -d viapsql -c "select md5(string_agg(id || payload, ',' order by id)) from items")" = \
  "$(psql -XAtq -d viareplay -c "select md5(string_agg(id || payload, ',' order by id)) from items")" ] && echo same || echo DIFFERENT)
echo "BENCH|ss-replay --to postgres (rec/s)|$(rate "$r")|$(rate "$p")|$(ratio "$p" "$r")|ours/psql -f same statements+txns, target >= 1; tables $same"
# The path paced replays take: a target transaction per source transaction, a statement per change.
g=$(secs bash -c "ss-replay --speed max --group off --to dbname=viaplain <'$d/in.ss'")
same=$([ "$(psql -XAtq -d viapsql -c "select md5(string_agg(id || payload, ',' order by id)) from items")" = \
  "$(psql -XAtq -d viaplain -c "select md5(string_agg(id || payload, ',' order by id)) from items")" ] && echo same || echo DIFFERENT)
echo "BENCH|ss-replay --to postgres --group off (rec/s)|$(rate "$g")|$(rate "$p")|$(ratio "$p" "$g")|ungrouped, as paced replays apply; ours/psql -f, target >= 1; tables $same"
fi

if [[ " $parts " == *" shapes "* ]]; then
  # A migration every 10,000 records (a column added, then dropped again) against the same stream with one shape
  # throughout: what following the source's shape costs a replay.
  ss-gen-records -n "$N" --tx-size 10 --size 200 --mix --source bench --shape-every 10000 >"$d/migrating.ss"
  ss-gen-records -n "$N" --tx-size 10 --size 200 --mix --source bench --shape-every $((N + 1)) >"$d/steady.ss"
  psql -XAtq -c "create database migrating" -c "create database steady"
  st=$(secs bash -c "ss-replay --speed max --to dbname=steady --create-tables <'$d/steady.ss'")
  mt=$(secs bash -c "ss-replay --speed max --to dbname=migrating --create-tables <'$d/migrating.ss'")
  sum() { psql -XAtq -d "$1" -c "select md5(string_agg(id || payload, ',' order by id)) from items"; }
  same=$([ "$(sum steady)" = "$(sum migrating)" ] && echo same || echo DIFFERENT)
  echo "BENCH|ss-replay --to postgres, migration per 10k (rec/s)|$(rate "$mt")|$(rate "$st")|$(ratio "$st" "$mt")|the same stream with one shape throughout, target >= 0.9; rows $same"
fi

if [[ " $parts " == *" pacing "* ]]; then
  # Ten minutes of history in ten back-to-back stretches with different gaps (2 to 38 ms), replayed at 10x: a minute.
  t0=$(date -u -d 2026-11-20T10:00:00Z +%s%3N)
  off=0
  for i in 0 1 2 3 4 5 6 7 8 9; do
    gap=$((2 + i * 4))
    ss-gen-records -n 3000 --interval "${gap}ms" --start-lsn $((16777216 * (i + 1))) \
      --start-time "$(date -u -d "@$(((t0 + off) / 1000)).$(printf %03d $(((t0 + off) % 1000)))" +%Y-%m-%dT%H:%M:%S.%3NZ)"
    off=$((off + 3000 * gap))
  done >"$d/pace.ss"
  /usr/bin/time -f "%U %S" -o "$d/cpu" ss-replay --speed 10 <"$d/pace.ss" | ss-frame-clock >"$d/clock"
  read -r max total ideal < <(awk '{ e = $1 - $2 / 10; if (e < 0) e = -e; if (e > m) m = e; last = $1; ideal = $2 / 10 }
    END { d = last - ideal; if (d < 0) d = -d; printf "%d %d %d\n", m, d, ideal }' "$d/clock")
  cpu=$(awk '{print $1 + $2}' "$d/cpu")
  echo "BENCH|ss-replay --speed 10, 60 s: worst error (us)|$max|$((ideal / 100))|$(ratio "$max" $((ideal / 100)))|peer = 1% of the ${ideal}us schedule; end error ${total}us; CPU ${cpu}s"
fi
