#!/usr/bin/env bash
# Checkpoints: ss-capture --checkpoint of a 1M-row table (two workers) against COPY ... TO STDOUT of the same table
# on one connection; and the rebuild as of now of a 100k-row table after 1M changes (an insert and nine updates per
# row), with a checkpoint near the end, from Kafka into a fresh database, against
# pg_dump -t | psql of the same table into another.
set -euo pipefail
cd "$(dirname "$0")/.."
source tests/helpers/servers.bash
source bench/lib.bash
ROWS=${BENCH_CHECKPOINT_ROWS:-1000000}
KEYS=${BENCH_REBUILD_ROWS:-100000}
d=$(mktemp -d /tmp/ss-bench-checkpoint.XXXXXX)
trap 'rm -rf "$d"; ss_stop_all' EXIT
ss_start_postgres "synchronous_commit = off" "shared_buffers = 512MB" "max_wal_size = 4GB" >&2
# 1M changes of ~250 bytes are ~4 MiB in each of 64 partitions: under the mock's 5 MiB cap per partition.
bench_kafka --topic bench.archive:128 --topic bench.archive.snapshots:64 --topic bench.archive.checkpoints:1 >&2
q() { psql -XAtq -v ON_ERROR_STOP=1 -c "$1"; }

q "create table wide (id bigint primary key, name text, amount numeric, at timestamptz, payload text)"
q "insert into wide select g, 'name ' || g, g * 1.5, now(), repeat('x', 100) from generate_series(1, $ROWS) g"
q "vacuum analyze wide"
q "create publication wide for table wide"
secs psql -XAtq -c "copy wide to stdout" >/dev/null # warm the cache
peer=$(secs bash -c "psql -XAtq -c 'copy wide to stdout' >/dev/null")
ours=$(secs bash -c "ss-capture --publication wide --checkpoint --jobs 2 >/dev/null")
one=$(secs bash -c "ss-capture --publication wide --checkpoint --jobs 1 >/dev/null")
echo "BENCH|checkpoint of ${ROWS} rows, 2 jobs (s) [$KAFKA_KIND]|$ours|$peer|$(ratio "$ours" "$peer")|ss-capture --checkpoint / COPY TO STDOUT on one connection, target <= 1.2; 1 job: ${one}s"

# The checkpoint's records replayed into an empty database, against COPY FROM of the same rows into an empty table.
ss-capture --publication wide --checkpoint --jobs 2 >"$d/wide.ss"
psql -XAtq -c "copy wide to stdout" >"$d/wide.copy"
q "create database viacopy" >/dev/null
q "create database viasnapshot" >/dev/null
psql -XAtq -d viacopy -c "create table wide (id bigint primary key, name text, amount numeric, at timestamptz, payload text)"
peer=$(secs bash -c "psql -XAtq -d viacopy -c 'copy wide from stdin' <'$d/wide.copy'")
ours=$(secs bash -c "ss-replay --speed max --to dbname=viasnapshot --create-tables <'$d/wide.ss'")
n=$(psql -XAtq -d viasnapshot -c "select count(*) from wide")
rm -f "$d/wide.ss" "$d/wide.copy"
echo "BENCH|snapshot records into an empty table (rows/s) [$KAFKA_KIND]|$(awk -v n="$ROWS" -v s="$ours" 'BEGIN{printf "%.0f", n/s}')|$(awk -v n="$ROWS" -v s="$peer" 'BEGIN{printf "%.0f", n/s}')|$(ratio "$peer" "$ours")|ss-replay of a ${ROWS}-row checkpoint / COPY FROM of its rows, target >= 0.7; $n rows"

# The running capture while a checkpoint runs: the same decoded WAL (200k one-row transactions) read by two slots,
# one alone and one beside a checkpoint of the 1M-row table (on 2 cores they share the CPU).
q "create table ev (id bigint primary key, payload text)"
q "create publication ev for table ev"
ss-capture --slot ev_alone --publication ev --create-slot
ss-capture --slot ev_beside --publication ev --create-slot
q "create procedure many_tx(n int) language plpgsql as \$\$ begin for i in 1..n loop insert into ev values (i, repeat('e', 100)); commit; end loop; end \$\$"
q "call many_tx(200000)"
end=$(q "select pg_current_wal_insert_lsn()")
alone=$(secs bash -c "ss-capture --slot ev_alone --publication ev --endpos $end >/dev/null")
ss-capture --publication wide --checkpoint --jobs 2 >/dev/null &
cp=$!
beside=$(secs bash -c "ss-capture --slot ev_beside --publication ev --endpos $end >/dev/null")
wait "$cp"
echo "BENCH|capture of 200k tx beside a checkpoint (s) [$KAFKA_KIND]|$beside|$alone|$(ratio "$beside" "$alone")|the same WAL captured alone; the checkpoint's COPY shares the 2 cores"

q "create table acct (id bigint primary key, balance bigint, note text)"
ss-capture --slot rb --publication rb --table public.acct --create-slot
q "insert into acct select g, 0, 'account ' || g from generate_series(1, $KEYS) g"
for i in 1 2 3 4 5 6 7 8 9; do q "update acct set balance = balance + $i"; done
ss-capture --slot rb --publication rb --endpos "$(q "select pg_current_wal_insert_lsn()")" >"$d/changes.ss"
ss-archive -t bench.archive <"$d/changes.ss"
ss-capture --publication rb --checkpoint | ss-archive -t bench.archive
q "update acct set balance = balance + 1 where id % 100 = 0"
ss-capture --slot rb --publication rb --endpos "$(q "select pg_current_wal_insert_lsn()")" >"$d/changes.ss"
ss-archive -t bench.archive <"$d/changes.ss"
q "create database viadump" >/dev/null
q "create database viarebuild" >/dev/null
q "create database viahistory" >/dev/null
peer=$(secs bash -c "pg_dump -t acct postgres | psql -XAtq -d viadump >/dev/null")
ours=$(secs bash -c "ss-archive read -t bench.archive | ss-replay --speed max --to dbname=viarebuild --create-tables")
# The whole history instead, as without a checkpoint: every change, folded.
history=$(secs bash -c "ss-archive read -t bench.archive --from-position 0/1 | ss-replay --speed max --to dbname=viahistory --create-tables")
# The floor under that row: kcat reading the change topic to its end, no order, no apply (the best of three).
floor=$(best_secs 3 bash -c "kcat -b '$KAFKA_BROKERS' -C -t bench.archive -o beginning -e -q >/dev/null")
sum() { psql -XAtq -d "$1" -c "select count(*) || ' ' || md5(string_agg(id || ',' || balance || note, ';' order by id)) from acct"; }
same=$([ "$(sum viadump)" = "$(sum viarebuild)" ] && [ "$(sum viadump)" = "$(sum postgres)" ] && echo same || echo DIFFERENT)
echo "BENCH|rebuild of ${KEYS} rows after $((KEYS * 10)) changes (s) [$KAFKA_KIND]|$ours|$peer|$(ratio "$ours" "$peer")|from the latest checkpoint / pg_dump -t | psql, target <= 3; tables $same"
same=$([ "$(sum viahistory)" = "$(sum postgres)" ] && echo same || echo DIFFERENT)
echo "BENCH|rebuild of ${KEYS} rows from all $((KEYS * 10)) changes (s) [$KAFKA_KIND]|$history|$peer|$(ratio "$history" "$peer")|the whole history, no checkpoint / pg_dump -t | psql, target <= 8; tables $same; kcat -C -e of the topic alone: ${floor}s = $(ratio "$floor" "$peer")x"
