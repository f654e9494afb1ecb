#!/usr/bin/env bash
# ss-capture against pg_recvlogical (pgoutput) over the same pre-generated WAL on the same server: 1M single-row
# inserts in one transaction, and 100k one-row transactions. Both decode from their own slot, created before the
# workload, and stop at the same --endpos; the server's decoding is the shared cost, the ratio is what our client adds.
set -euo pipefail
cd "$(dirname "$0")/.."
source tests/helpers/servers.bash
trap ss_stop_all EXIT
ROWS=${BENCH_CAPTURE_ROWS:-1000000}
TXS=${BENCH_CAPTURE_TXS:-100000}
ss_start_postgres "max_wal_size = 4GB" "logical_decoding_work_mem = 64MB" >&2
q() { psql -XAtq -v ON_ERROR_STOP=1 -c "$1"; }
q "create table bench (id bigint primary key, payload text)"
q "create publication bench for table bench"

# usage: measure CMD... -> "seconds max_rss_kb"
measure() {
  local f
  f=$(mktemp)
  /usr/bin/time -o "$f" -f '%e %M' "$@" >/dev/null
  tail -1 "$f"
  rm -f "$f"
}

run_case() {
  local name=$1 workload=$2 id=$3
  local s_ours="ours_$id" s_peer="peer_$id"
  ss-capture --slot "$s_ours" --publication bench --create-slot
  pg_recvlogical -d postgres --slot "$s_peer" --create-slot -P pgoutput
  q "$workload"
  local end
  end=$(q "select pg_current_wal_insert_lsn()")
  q "checkpoint"
  # Alternate the order between the two runs so neither always gets a warm cache.
  read -r peer_s peer_kb < <(measure pg_recvlogical -d postgres --slot "$s_peer" --start --endpos "$end" \
    -o proto_version=1 -o publication_names=bench -f /dev/null)
  read -r ours_s ours_kb < <(measure ss-capture --slot "$s_ours" --publication bench --endpos "$end")
  echo "BENCH|capture $name (s)|$ours_s|$peer_s|$(awk -v a="$ours_s" -v b="$peer_s" 'BEGIN{printf "%.2f", a/b}')|ss-capture/pg_recvlogical time, target <= 1.15"
  echo "BENCH|capture $name peak RSS (MiB)|$((ours_kb / 1024))|$((peer_kb / 1024))|$(awk -v a="$ours_kb" -v b="$peer_kb" 'BEGIN{printf "%.2f", a/b}')|ss-capture/pg_recvlogical"
  q "select pg_drop_replication_slot('$s_ours'), pg_drop_replication_slot('$s_peer')" >/dev/null
}

echo "generating WAL: $ROWS rows in one transaction" >&2
run_case "1 tx x ${ROWS} rows" "insert into bench select g, repeat('x', 150) from generate_series(1, $ROWS) g" big
q "truncate bench"
q "create procedure many_tx(n int) language plpgsql as \$\$ begin for i in 1..n loop insert into bench values (i, repeat('y', 150)); commit; end loop; end \$\$"
echo "generating WAL: $TXS one-row transactions" >&2
run_case "${TXS} tx x 1 row" "call many_tx($TXS)" many
