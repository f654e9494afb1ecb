#!/usr/bin/env bats
# Rows of any size through the supervised pipeline: values of 0.9, 1.1, 5 and 70 MB, text and bytea, and updates that
# leave them as unchanged TOAST, are captured, buffered, archived (as chunk messages none of which exceeds Kafka's
# default broker limit), read back by window and by group, and replayed equal to the source.

load ../helpers/servers

setup_file() {
  ss_start_postgres "max_wal_senders = 10" "max_replication_slots = 10"
  ss_start_redis
  ss_start_kafka --partitions 4 --topic shadowstream.archive
}

teardown_file() { ss_stop_all; }

teardown() {
  [ -n "${STATE_DIR:-}" ] && shadowstream down >/dev/null 2>&1
  ss_kill_jobs
}

q() { psql -XAtq -v ON_ERROR_STOP=1 -c "$1"; }
slot_active() { [ "$(q "select active from pg_replication_slots where slot_name = 'shadowstream'")" = t ]; }
archived_marker() { ss-archive read | ss-cat | grep -q '"prefix":"big-end"'; }
table_sum() { psql -XAtq -d "$1" -c "select count(*) || ' ' || md5(string_agg(md5(t::text), ',' order by id)) from docs t"; }
positions() { ss-cat "$1" | jq -r '"\(.commit_lsn) \(.ordinal // 0)"' | sort; }

@test "values of 0.9, 1.1, 5 and 70 MB, text and bytea, unchanged TOAST: archived in chunks, read back, replayed equal" {
  T="$BATS_TEST_TMPDIR"
  q "create table docs (id int primary key, body text, img bytea, n int not null default 0)"
  export STATE_DIR="$T/state"
  printf '%s\n' '# big rows' 'SOURCE=big' 'BACKOFF_MAX=1' 'ARCHIVE_OPTS="--linger 50ms"' >"$T/conf"
  export SHADOWSTREAM_CONF="$T/conf"
  run -0 shadowstream up
  SS_WAIT_TIMEOUT=60 ss_wait_for slot_active

  # Values of exactly the asked length that repeat a 32,000-byte block: chunk boundaries fall at different places in
  # it, so chunks joined in the wrong order would not add up to the value.
  # Stored external (uncompressed, out of line) so that updates of other columns leave them as unchanged TOAST.
  q "alter table docs alter body set storage external, alter img set storage external"
  q "create function filler(bytes int, seed text) returns text language sql as
     \$\$ select substr(repeat(string_agg(md5(seed || g), '' order by g), bytes / 32000 + 1), 1, bytes)
        from generate_series(1, 1000) g \$\$"
  q "insert into docs (id, body) values (1, filler(900000, 'a'))"
  q "insert into docs (id, img) values (2, convert_to(filler(1100000, 'b'), 'UTF8'))"
  q "insert into docs (id, body, img) values (3, filler(5000000, 'c'), decode(filler(5000000, 'd'), 'hex'))"
  q "insert into docs (id, body) values (4, filler(70000000, 'e'))"
  q "insert into docs (id, img) values (5, decode(filler(140000000, 'f'), 'hex'))"
  # Updates that leave the big values untouched: pgoutput sends them as unchanged TOAST.
  q "update docs set n = n + 1"
  q "update docs set body = body || 'x' where id = 3"
  q "delete from docs where id = 1"
  q "select pg_logical_emit_message(true, 'big-end', 'done')" >/dev/null
  SS_WAIT_TIMEOUT=180 ss_wait_for archived_marker
  run -0 shadowstream down

  # No message in the topic over Kafka's default broker limit (message.max.bytes 1048588), and chunks were used.
  kcat -b "$KAFKA_BROKERS" -C -t shadowstream.archive -e -q -f '%S\n' >"$T/sizes"
  [ "$(sort -n "$T/sizes" | tail -1)" -le 1048588 ]
  [ "$(wc -l <"$T/sizes")" -gt 150 ]
  # Redis holds the 70 MB records in one entry each, in parts under its bulk limit.
  key=shadowstream:big:changes
  parts="local n = 0 for _, e in ipairs(redis.call('xrange', KEYS[1], '-', '+')) do
    for i = 1, #e[2], 2 do if e[2][i] == 'r:2' then n = n + 1 end end end return n"
  [ "$(redis-cli -p "$SS_REDIS_PORT" eval "$parts" 1 "$key")" -eq 2 ]

  # Window read: every record whole, in order; the replay equals the source.
  ss-archive read >"$T/window.ss"
  [ "$(ss-cat "$T/window.ss" | jq -r 'select(.table == "docs") | .op' | tr '\n' ' ')" = \
    "insert insert insert insert insert update update update update update update delete " ]
  q "create database big_replay"
  ss-replay --speed max --to dbname=big_replay --create-tables <"$T/window.ss"
  [ "$(table_sum big_replay)" = "$(table_sum "$PGDATABASE")" ]
  [ "$(psql -XAtq -d big_replay -c 'select length(body) from docs where id = 4')" = 70000000 ]
  [ "$(psql -XAtq -d big_replay -c 'select length(img) from docs where id = 5')" = 70000000 ]

  # A group member reassembles the same records (of the change topic: checkpoints live in topics of their own).
  ss-archive read --group big-readers >"$T/group.ss"
  ss-archive read --from-position 0/1 >"$T/changes.ss"
  [ "$(ss-cat "$T/window.ss" | jq -r .op | grep -c checkpoint)" -eq 2 ]
  diff <(positions "$T/group.ss") <(positions "$T/changes.ss")
  cmp <(ss-cat "$T/group.ss" | sort | md5sum) <(ss-cat "$T/changes.ss" | sort | md5sum)

  # The buffer gives the same records back, joined from their parts.
  ss-buffer read --source big >"$T/buffer.ss"
  cmp <(ss-cat "$T/buffer.ss" | grep -v '"op":"message"' | sort | md5sum) \
    <(ss-cat "$T/window.ss" | grep -v '"op":"message"' | sort | md5sum)
}
