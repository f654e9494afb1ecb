#!/usr/bin/env bash
# One row with a 300 MB text value through every stage, each run alone under /usr/bin/time: capture from PostgreSQL,
# buffer into Redis and read it back, archive to Kafka (as chunk messages) and read it back, replay into a fresh
# database. Each row gives the stage's peak RSS against the value's size; the ratio is the multiple. pg_recvlogical
# decoding the same row is the peer for capture.
set -euo pipefail
cd "$(dirname "$0")/.."
source tests/helpers/servers.bash
source bench/lib.bash
d=$(mktemp -d /tmp/ss-bench-bigrow.XXXXXX)
trap 'rm -rf "$d"; ss_stop_all' EXIT
MB=${BENCH_BIG_ROW_MB:-300}
BYTES=$((MB * 1000000))
ss_start_postgres "max_wal_size = 4GB" >&2
ss_start_redis >&2
bench_kafka --partitions 4 --topic big >&2
q() { psql -XAtq -v ON_ERROR_STOP=1 -c "$1"; }
q "create table big (id int primary key, body text)"
q "alter table big alter body set storage external"
q "create publication bench for table big"
ss-capture --slot ours --publication bench --create-slot
pg_recvlogical -d postgres --slot peer --create-slot -P pgoutput
# A 32,000-byte block repeated: compressible, so the mock (about 5 MiB kept per partition) holds all chunks too.
q "insert into big select 1, substr(repeat(string_agg(md5(g::text), '' order by g), $BYTES / 32000 + 1), 1, $BYTES)
   from generate_series(1, 1000) g"
end=$(q "select pg_current_wal_insert_lsn()")

# usage: rss_mib OUT CMD... (stdin as given, stdout to OUT) -> peak RSS in MiB
rss_mib() {
  local f out=$1
  shift
  f=$(mktemp)
  /usr/bin/time -o "$f" -f '%M' "$@" >"$out"
  awk '{ v = $1 } END { printf "%d", v / 1024 }' "$f"
  rm -f "$f"
}
row() { # row STAGE MIB [NOTE]
  echo "BENCH|${MB} MB row: $1 peak RSS (MiB) [$KAFKA_KIND]|$2|$((BYTES / 1048576))|$(ratio "$2" $((BYTES / 1048576)))|${3:-multiple of the value size}"
}

peer=$(rss_mib /dev/null pg_recvlogical -d postgres --slot peer --start --endpos "$end" -o proto_version=1 \
  -o publication_names=bench -f /dev/null)
row "pg_recvlogical (peer)" "$peer" "what the peer holds decoding the same row"
row ss-capture "$(rss_mib "$d/row.ss" ss-capture --slot ours --publication bench --endpos "$end")"
[ "$(ss-cat "$d/row.ss" | jq -r 'select(.table == "big") | .columns[1].text | length')" = "$BYTES" ]
row "ss-buffer (write)" "$(rss_mib /dev/null ss-buffer --stream big --no-passthrough <"$d/row.ss")"
row "ss-buffer read" "$(rss_mib "$d/buffered.ss" ss-buffer read --stream big)"
cmp "$d/row.ss" "$d/buffered.ss" >&2
row "ss-archive (write)" "$(rss_mib /dev/null ss-archive --topic big -X compression.type=zstd <"$d/row.ss")"
row "ss-archive read" "$(rss_mib "$d/archived.ss" ss-archive read --topic big)"
cmp "$d/row.ss" "$d/archived.ss" >&2
q "create database shadow"
row "ss-replay --to" "$(rss_mib /dev/null ss-replay --speed max --to dbname=shadow --create-tables <"$d/row.ss")"
[ "$(psql -XAtq -d shadow -c 'select md5(body) from big')" = "$(q 'select md5(body) from big')" ]
echo "the value arrived whole at every stage" >&2
