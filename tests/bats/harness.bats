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

@test "Kafka test broker speaks the wire protocol to kcat, and takes fault commands" {
  ss_start_kafka --partitions 4 --topic harness.check
  [ -n "$KAFKA_BROKERS" ]
  printf 'a\nb\nc\n' | kcat -b "$KAFKA_BROKERS" -P -t harness.check -p 0
  run kcat -b "$KAFKA_BROKERS" -C -t harness.check -p 0 -o beginning -e -q
  [ "$status" -eq 0 ]
  [ "$output" = "$(printf 'a\nb\nc')" ]
  run kcat -b "$KAFKA_BROKERS" -L -t harness.check
  [[ "$output" == *"4 partitions"* ]]
  ss_kafka_ctl topic harness.other 2
  run kcat -b "$KAFKA_BROKERS" -L -t harness.other
  [[ "$output" == *"2 partitions"* ]]
  ss_kafka_ctl down 1
  ss_kafka_ctl up 1
  run ss_kafka_ctl bogus
  [ "$status" -ne 0 ]
}

@test "ss_stop_all stops servers started inside a test" {
  ss_start_redis
  port=$SS_REDIS_PORT
  ss_stop_all
  run redis-cli -p "$port" ping
  [ "$output" != PONG ]
}
