#!/usr/bin/env bats
# The harness itself: each throwaway server is reachable by its real, independent client.

load ../helpers/servers

teardown_file() { ss_stop_all; }

@test "PostgreSQL 15 starts with wal_level=logical and answers psql" {
  ss_start_postgres
  run psql -XAtc 'show wal_level' "$SS_PG_URL"
  [ "$status" -eq 0 ]
  [ "$output" = logical ]
  run psql -XAtc 'select current_setting($$server_version_num$$)::int / 10000'
  [ "$output" = 15 ]
  # A logical replication connection is allowed too.
  run psql -XAtc 'IDENTIFY_SYSTEM' "dbname=postgres replication=database"
  [ "$status" -eq 0 ]
  ss_stop_postgres
  [ ! -d "$SS_PG_DIR" ]
}

@test "redis-server starts on a free port and answers redis-cli; restart keeps an AOF" {
  ss_start_redis --appendonly yes --appendfsync always
  run redis-cli -p "$SS_REDIS_PORT" set k v
  [ "$output" = OK ]
  ss_restart_redis --kill
  run redis-cli -p "$SS_REDIS_PORT" get k
  [ "$output" = v ]
  ss_stop_redis
  run redis-cli -p "$SS_REDIS_PORT" ping
  [ "$output" != PONG ]
}

@test "Apache Kafka: one KRaft node answers kcat and Kafka's own tools, topics carry their configs" {
  ss_start_kafka --partitions 4 --topic harness.check --topic-config retention.ms=3600000
  [ -n "$KAFKA_BROKERS" ]
  # kcat's own complaints are kept: a CI run once read something other than a, b, c here and left no clue why.
  printf 'a\nb\nc\n' | kcat -b "$KAFKA_BROKERS" -P -t harness.check -p 0 2>"$BATS_TEST_TMPDIR/produce.err" || {
    cat "$BATS_TEST_TMPDIR/produce.err"
    false
  }
  # Records only: kcat may also print a passing connection notice on stderr (a run failed on that once).
  run --separate-stderr kcat -b "$KAFKA_BROKERS" -C -t harness.check -p 0 -o beginning -e -q
  [ "$status" -eq 0 ]
  [ "$output" = "$(printf 'a\nb\nc')" ] || {
    printf 'read: %q\nconsumer said: %s\nproducer said: %s\n' "$output" "$stderr" "$(cat "$BATS_TEST_TMPDIR/produce.err")"
    false
  }
  run kcat -b "$KAFKA_BROKERS" -L -t harness.check
  [[ "$output" == *"4 partitions"* ]]
  run ss_kafka_tool configs --bootstrap-server "$KAFKA_BROKERS" --entity-type topics --entity-name harness.check --describe
  [ "$status" -eq 0 ]
  [[ "$output" == *"retention.ms=3600000"* ]]
  run --separate-stderr ss_kafka_tool console-consumer --bootstrap-server "$KAFKA_BROKERS" --topic harness.check --partition 0 \
    --offset earliest --max-messages 3 --isolation-level read_committed
  [ "$status" -eq 0 ]
  [ "$output" = "$(printf 'a\nb\nc')" ]
  # The node survives kill -9 and starts again on its data.
  ss_kafka_node kill 1
  ! kcat -b "$KAFKA_BROKERS" -L -m 1 >/dev/null 2>&1
  ss_kafka_node start 1
  run kcat -b "$KAFKA_BROKERS" -C -t harness.check -p 0 -o beginning -e -q
  [ "$output" = "$(printf 'a\nb\nc')" ]
  dir=$SS_KAFKA_DIR
  ss_stop_kafka
  [ ! -d "$dir" ]
}

@test "Apache Kafka: a three-node cluster replicates to all three and keeps a partition leader when its leader dies" {
  ss_start_kafka --nodes 3 --partitions 2 --topic harness.repl
  run kcat -b "$KAFKA_BROKERS" -L -t harness.repl
  [[ "$output" == *"3 brokers"* ]]
  [[ "$output" == *"isrs: "*","*","* ]]
  run ss_kafka_tool configs --bootstrap-server "$KAFKA_BROKERS" --entity-type brokers --entity-name 1 --describe --all
  [[ "$output" == *"min.insync.replicas=2"* ]]
  printf 'x\n' | kcat -b "$KAFKA_BROKERS" -P -t harness.repl -p 0 -X acks=all
  leader=$(ss_kafka_leader harness.repl 0)
  [ -n "$leader" ]
  ss_kafka_node kill "$leader"
  ss_wait_for _leader_other_than harness.repl 0 "$leader"
  printf 'y\n' | kcat -b "$KAFKA_BROKERS" -P -t harness.repl -p 0 -X acks=all
  # A reader that asks while the cluster still settles may see the log's end early (once, in CI): wait for both.
  ss_wait_for _partition_is harness.repl 0 "$(printf 'x\ny')"
  ss_kafka_node start "$leader"
  ss_stop_kafka
}

_partition_is() {
  [ "$(kcat -b "$KAFKA_BROKERS" -C -t "$1" -p "$2" -o beginning -e -q 2>/dev/null)" = "$3" ]
}

_leader_other_than() {
  local now
  now=$(ss_kafka_leader "$1" "$2")
  [ -n "$now" ] && [ "$now" != -1 ] && [ "$now" != "$3" ]
}

@test "Kafka mock broker (kept for injected faults) takes fault commands" {
  ss_start_kafka_mock --partitions 4 --topic harness.check
  run kcat -b "$KAFKA_BROKERS" -L -t harness.check
  [[ "$output" == *"4 partitions"* ]]
  ss_kafka_ctl topic harness.other 2
  run kcat -b "$KAFKA_BROKERS" -L -t harness.other
  [[ "$output" == *"2 partitions"* ]]
  ss_kafka_ctl down 1
  ss_kafka_ctl up 1
  run ss_kafka_ctl bogus
  [ "$status" -ne 0 ]
  ss_stop_kafka_mock
}

@test "ss_stop_all stops servers started inside a test" {
  ss_start_redis
  port=$SS_REDIS_PORT
  ss_stop_all
  run redis-cli -p "$port" ping
  [ "$output" != PONG ]
}
