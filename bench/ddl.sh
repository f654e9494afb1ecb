#!/usr/bin/env bash
# Schema-change capture (ss-capture install-ddl): what the event trigger costs a migration on the source (the same
# migration on 500k-row tables with the trigger against without it), and DML (a batch of one-row inserts, with and
# without: event triggers do not fire on DML); and what schema records cost a replay (200k inserts with a schema
# record every 10,000 records, against the same inserts with none, both --create-tables --speed max).
set -euo pipefail
cd "$(dirname "$0")/.."
source tests/helpers/servers.bash
source bench/lib.bash
ROWS=${BENCH_DDL_ROWS:-500000}
d=$(mktemp -d /tmp/ss-bench-ddl.XXXXXX)
trap 'rm -rf "$d"; ss_stop_all' EXIT
ss_start_postgres "synchronous_commit = off" "shared_buffers = 256MB" "max_wal_size = 4GB" >&2
export PATH=$PWD/build/bin:$PATH
q() { psql -XAtq -v ON_ERROR_STOP=1 -c "$1"; }

# The migration: tables with rows, then the DDL a release ships (columns with defaults, indexes, constraints
# validated, comments, a rename), each statement its own transaction as migration tools run them.
prepare() {
  q "drop table if exists m1, m2, m1_renamed cascade"
  q "create table m1 (id int primary key, a text, b int); create table m2 (id int primary key, c text)"
  q "insert into m1 select g, 'a' || g, g from generate_series(1, $ROWS) g; insert into m2 select g, 'c' || g from generate_series(1, $ROWS) g"
  q "vacuum analyze m1, m2"
}
migrate() {
  psql -Xq -v ON_ERROR_STOP=1 <<'SQL'
alter table m1 add column d int not null default 0;
create index m1_a on m1 (lower(a));
alter table m1 add constraint m1_b_positive check (b > 0) not valid;
alter table m1 validate constraint m1_b_positive;
comment on table m1 is 'migrated';
comment on column m1.a is 'the a';
create unique index m2_c on m2 (c);
alter table m2 add column e timestamptz default now();
alter table m2 alter column c set default 'none';
create index m1_b_d on m1 (b, d) where d >= 0;
alter table m1 rename to m1_renamed;
SQL
}
# Index builds on this shared machine swing by tens of milliseconds run to run, more than the trigger costs: the best
# of five runs each, with and without taking turns.
min() { awk -v a="$1" -v b="$2" 'BEGIN{print (a == "" || b < a) ? b : a}'; }
with='' without=''
q "create publication bench_mig for all tables" # published, as a captured database's tables are
for _ in 1 2 3 4 5; do
  ss-capture install-ddl 2>/dev/null
  prepare
  with=$(min "$with" "$(secs migrate)")
  ss-capture uninstall-ddl 2>/dev/null
  prepare
  without=$(min "$without" "$(secs migrate)")
done
per=$(awk -v a="$with" -v b="$without" 'BEGIN{printf "%.1f", (a - b) * 1000 / 11}')
echo "BENCH|migration with the DDL trigger (s)|$with|$without|$(ratio "$with" "$without")|11 DDL statements on ${ROWS}-row tables in one session, trigger / none, target < 1.05; ${per} ms per statement"

q "create table dml (id serial primary key, v text)"
inserts() { for _ in $(seq 50); do echo "insert into dml (v) select 'v' from generate_series(1, 2000) g;"; done | psql -Xq -v ON_ERROR_STOP=1; }
inserts # warm
with='' without=''
for _ in 1 2 3 4 5; do
  ss-capture install-ddl 2>/dev/null
  with=$(min "$with" "$(secs inserts)")
  ss-capture uninstall-ddl 2>/dev/null
  without=$(min "$without" "$(secs inserts)")
done
echo "BENCH|DML with the DDL trigger installed (s)|$with|$without|$(ratio "$with" "$without")|50 x 2000-row inserts, trigger / none, target 1.00 (event triggers do not fire on DML)"

# Replay: the same 200k inserts (in 2,000 transactions), with a schema record every 10,000 records (a default
# changed, alternating) and without.
ss-capture install-ddl 2>/dev/null
q "create table r1 (id int primary key, v text default 'a', n int)"
q "create table r2 (id int primary key, v text default 'a', n int)"
ss-capture --slot bench_ddl --publication bench_ddl --table public.r1 --table public.r2 --create-slot 2>/dev/null
for ((b = 0; b < 20; b++)); do
  {
    echo "alter table r1 alter column v set default 'd$b';"
    for ((t = 0; t < 100; t++)); do
      lo=$((b * 10000 + t * 100 + 1))
      echo "insert into r1 select g, 'v', g from generate_series($lo, $((lo + 99))) g;"
      echo "insert into r2 select g, 'v', g from generate_series($lo, $((lo + 99))) g;"
    done
  } | psql -Xq -v ON_ERROR_STOP=1
done
ss-capture --slot bench_ddl --publication bench_ddl --endpos "$(psql -XAtq -c 'select pg_current_wal_insert_lsn()')" >"$d/with.ss" 2>/dev/null
ss-cat "$d/with.ss" | jq -c 'select(.op != "schema")' | ss-cat -j >"$d/without.ss"
schemas=$(ss-cat "$d/with.ss" | jq -r 'select(.op == "schema") | 1' | wc -l)
replay() { # replay FRAMES DB: the best of three, each into a fresh database (made outside the timing)
  local best='' t
  for _ in 1 2 3; do
    q "drop database if exists $2" >/dev/null 2>&1
    q "create database $2"
    t=$(secs ss-replay --speed max --create-tables --to "postgresql://postgres@127.0.0.1:$PGPORT/$2" <"$1")
    best=$(min "$best" "$t")
  done
  echo "$best"
}
records=$(ss-cat "$d/without.ss" | wc -l)
with=$(replay "$d/with.ss" r_with)
without=$(replay "$d/without.ss" r_without)
echo "BENCH|replay with a schema record per 10k (rec/s)|$(awk -v n="$records" -v s="$with" 'BEGIN{printf "%.0f", n/s}')|$(awk -v n="$records" -v s="$without" 'BEGIN{printf "%.0f", n/s}')|$(ratio "$without" "$with")|${records} records and ${schemas} schema records / none, --create-tables --speed max, target >= 0.9"
