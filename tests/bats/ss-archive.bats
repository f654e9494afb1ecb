#!/usr/bin/env bats
# ss-archive against one Apache Kafka node (KRaft) over TCP, checked with kcat and Kafka's own console consumer as
# independent clients. Two tests start librdkafka's mock cluster instead, each saying why.

load ../helpers/servers

setup_file() {
  # Retention checked twice a second, for the test that watches it delete the start of a record.
  ss_start_kafka --config log.retention.check.interval.ms=500
  echo "$KAFKA_BROKERS" >"$BATS_FILE_TMPDIR/brokers"
}
teardown_file() { ss_stop_all; }
teardown() { ss_kill_jobs; }
setup() {
  T="$BATS_TEST_TMPDIR"
  TOPIC="t${BATS_TEST_NUMBER}"
  # One topic per test.
  ss-kafka-topic "$TOPIC" --partitions 16
}
gen() { ss-gen-records --source "src${BATS_TEST_NUMBER}" "$@"; }
committed_count() { # messages kcat sees with read_committed
  kcat -b "$KAFKA_BROKERS" -C -t "$1" -e -q -X isolation.level=read_committed -f '%o\n' | wc -l
}
committed_cmp() { [ "$(committed_count "$1")" "$2" "$3" ]; } # TOPIC -ge|-eq N
# The first offset retention left in partition 0 is above N.
low_above() { [ "$(kcat -b "$KAFKA_BROKERS" -Q -t "$1:0:-2" 2>/dev/null | awk '{print $NF}')" -gt "$2" ]; }
# The mock cluster, for a fault a real broker cannot be made to produce on cue; KAFKA_BROKERS points at it.
with_mock() { ss_start_kafka_mock --partitions 16 --topic "$TOPIC"; }
frames_are() { [ "$(ss-cat "$1" 2>/dev/null | wc -l)" -eq "$2" ]; }
group_lag() { ss-progress pipeline --once --json -t "$1" -g "$2" | jq -r '.kafka.groups[0].lag'; }
lag_below() { [ "$(group_lag "$1" "$2")" -lt "$3" ]; }

@test "write then read gives the input back in position order; kcat sees the committed messages" {
  gen -n 10000 --tx-size 4 >"$T/in.ss"
  ss-archive --topic "$TOPIC" <"$T/in.ss"
  ss-archive read --topic "$TOPIC" >"$T/out.ss"
  cmp "$T/in.ss" "$T/out.ss"
  [ "$(committed_count "$TOPIC")" -eq 10000 ]
  # Headers, key and timestamp as documented.
  run kcat -b "$KAFKA_BROKERS" -C -t "$TOPIC" -p 0 -c 1 -e -q -f '%k|%T|%h\n'
  [[ "$output" == "src1/public.items/"*"|1795"*"|position="*",source=src1,xid="*",table=public.items,op=1" ]]
}

@test "a resend after a crash never duplicates: the committed high-water is recovered" {
  gen -n 3000 >"$T/in.ss"
  head -c 200000 "$T/in.ss" >"$T/part.ss" # a prefix, cut mid-frame
  run -65 ss-archive --topic "$TOPIC" <"$T/part.ss"
  ss-archive --topic "$TOPIC" <"$T/in.ss"
  ss-archive --topic "$TOPIC" <"$T/in.ss"
  [ "$(committed_count "$TOPIC")" -eq 3000 ]
  ss-archive read --topic "$TOPIC" | cmp - "$T/in.ss"
}

@test "kill -9 mid-transaction at several points, then resend: every record once, no aborted record visible" {
  for i in $(seq 0 29); do gen -n 1000 --start-lsn $((0x1000000 + i * 0x1000000)) >"$T/p$i.ss"; done
  cat "$T"/p{0..29}.ss >"$T/all.ss"
  # Each run resends everything (the archiver drops what is held) and is killed once more records are committed.
  for at in 3000 11000 19000; do
    (for i in $(seq 0 29); do cat "$T/p$i.ss"; sleep 0.1; done) | ss-archive --topic "$TOPIC" --batch 700 3>&- &
    ss_wait_for committed_cmp "$TOPIC" -ge "$at"
    pkill -9 -f "ss-archive --topic $TOPIC" || true
    wait || true
  done
  ss-archive --topic "$TOPIC" <"$T/all.ss"
  [ "$(committed_count "$TOPIC")" -eq 30000 ]
  ss-archive read --topic "$TOPIC" | cmp - "$T/all.ss"
  # Kafka's own read_committed consumer agrees: 30000 messages, no position twice.
  ss_kafka_positions "$TOPIC" >"$T/positions"
  [ "$(wc -l <"$T/positions")" -eq 30000 ]
  [ "$(sort -u "$T/positions" | wc -l)" -eq 30000 ]
}

@test "the broker killed -9 mid-stream and restarted: the archiver waits, then nothing is lost or duplicated" {
  gen -n 20000 --tx-size 10 >"$T/in.ss"
  mkfifo "$T/fifo"
  ss-archive --topic "$TOPIC" --batch 500 <"$T/fifo" 2>"$T/err" 3>&- &
  w=$!
  exec {fd}>"$T/fifo"
  head -c 1000000 "$T/in.ss" >&"$fd" # cut mid-frame: the rest follows after the outage
  ss_wait_for committed_cmp "$TOPIC" -ge 1000
  ss_kafka_node kill 1
  tail -c +1000001 "$T/in.ss" >&"$fd" &
  writer=$!
  # The node is away for as long as it takes to start again (seconds): the archiver holds its transaction meanwhile.
  kill -0 "$w"
  ss_kafka_node start 1 {fd}>&- # the broker must not hold the FIFO open
  wait "$writer"
  exec {fd}>&-
  wait "$w"
  [ "$(committed_count "$TOPIC")" -eq 20000 ]
  ss-archive read --topic "$TOPIC" | cmp - "$T/in.ss"
}

@test "injected Produce and EndTxn errors are survived without loss or duplicates (mock)" {
  # Mock: a real broker cannot be made to answer NOT_LEADER_OR_FOLLOWER or COORDINATOR_NOT_AVAILABLE on cue.
  with_mock
  gen -n 5000 --tx-size 10 >"$T/in.ss"
  ss_kafka_ctl errors 0 6 5   # Produce: NOT_LEADER_OR_FOLLOWER
  ss_kafka_ctl errors 26 15 3 # EndTxn: COORDINATOR_NOT_AVAILABLE
  ss-archive --topic "$TOPIC" --batch 500 <"$T/in.ss" 2>"$T/err"
  [ "$(committed_count "$TOPIC")" -eq 5000 ]
  ss-archive read --topic "$TOPIC" | cmp - "$T/in.ss"
  ss_stop_kafka_mock
}

@test "a time-window read returns exactly the records of the window, in order" {
  gen -n 6000 --interval 10ms --tx-size 3 --start-time 2026-11-20T10:00:00Z >"$T/in.ss"
  ss-archive --topic "$TOPIC" <"$T/in.ss"
  ss-archive read --topic "$TOPIC" --since 2026-11-20T10:00:05Z --until 2026-11-20T10:00:07.5Z >"$T/win.ss"
  ss-cat "$T/in.ss" | jq -c 'select(.commit_time >= "2026-11-20T10:00:05" and .commit_time < "2026-11-20T10:00:07.5")' >"$T/want.jsonl"
  [ "$(wc -l <"$T/want.jsonl")" -eq 750 ]
  ss-cat "$T/win.ss" | diff - "$T/want.jsonl"
  # Positions too: inclusive bounds.
  from=$(sed -n 10p "$T/want.jsonl" | jq -r '"\(.commit_lsn):\(.ordinal // 0)"')
  to=$(sed -n 20p "$T/want.jsonl" | jq -r '"\(.commit_lsn):\(.ordinal // 0)"')
  [ "$(ss-archive read --topic "$TOPIC" --from-position "$from" --to-position "$to" | ss-cat | wc -l)" -eq 11 ]
  # A time without a zone is local time, as date(1) reads it: 05:00:05 in New York is 10:00:05Z.
  TZ=America/New_York ss-archive read --topic "$TOPIC" --since "2026-11-20 05:00:05" --until 2026-11-20T05:00:07.5 |
    cmp - "$T/win.ss"
  # Relative times: the whole archive is more than a day old.
  [ "$(ss-archive read --topic "$TOPIC" --since 2026-11-20T10:00:19Z --until -1d | ss-cat | wc -l)" -eq 300 ]
  run -0 --separate-stderr ss-archive read --topic "$TOPIC" --since -1h --until now
  [ -z "$output" ]
}

@test "two members of one group together see every record once; another group sees all again" {
  gen -n 8000 >"$T/in.ss"
  ss-archive --topic "$TOPIC" <"$T/in.ss"
  ss-archive read --topic "$TOPIC" --group analytics-group >"$T/m1.ss" 3>&- &
  a=$!
  ss-archive read --topic "$TOPIC" --group analytics-group >"$T/m2.ss" 3>&- &
  b=$!
  wait "$a"
  wait "$b"
  cat <(ss-cat "$T/m1.ss") <(ss-cat "$T/m2.ss") | jq -r '.columns[0].text' | sort -n >"$T/ids"
  [ "$(wc -l <"$T/ids")" -eq 8000 ]
  [ "$(uniq "$T/ids" | wc -l)" -eq 8000 ]
  ss-archive read --topic "$TOPIC" --group backup-group >"$T/backup.ss"
  [ "$(ss-cat "$T/backup.ss" | wc -l)" -eq 8000 ]
  # Offsets were committed: the same group again finds nothing new.
  ss-archive read --topic "$TOPIC" --group backup-group >"$T/again.ss"
  [ ! -s "$T/again.ss" ]
}

@test "--ack writes the highest committed position after each transaction" {
  gen -n 2500 >"$T/in.ss"
  ss-archive --topic "$TOPIC" --batch 1000 --ack "$T/acks" <"$T/in.ss"
  [ "$(wc -l <"$T/acks")" -eq 3 ]
  [ "$(tail -1 "$T/acks")" = "$(ss-cat "$T/in.ss" | tail -1 | jq -r '"\(.commit_lsn):\(.ordinal // 0)"')" ]
}

@test "a trickle is committed once input pauses, while the input stays open" {
  mkfifo "$T/in"
  ss-archive --topic "$TOPIC" --linger 50ms <"$T/in" 3>&- &
  w=$!
  exec {fd}>"$T/in"
  gen -n 7 >&"$fd"
  # Committed and visible while ss-archive still waits for more input.
  ss_wait_for committed_cmp "$TOPIC" -eq 7
  kill -0 "$w"
  exec {fd}>&-
  wait "$w"
}

@test "input that never pauses is still committed once its oldest record has waited --linger" {
  gen -n 100000 >"$T/in.ss"
  # A file never pauses, and --batch is far: only --linger ends a transaction before the input does.
  ss-archive --topic "$TOPIC" --batch 1000000 --linger 5ms --ack "$T/acks" <"$T/in.ss"
  [ "$(wc -l <"$T/acks")" -gt 2 ]
  [ "$(committed_count "$TOPIC")" -eq 100000 ]
}

@test "--follow keeps delivering records archived after it started, and SIGTERM ends it with 0" {
  gen -n 2000 >"$T/a.ss"
  gen -n 2000 --start-lsn 999999999 >"$T/b.ss"
  ss-archive --topic "$TOPIC" <"$T/a.ss"
  ss-archive read --topic "$TOPIC" --follow >"$T/out.ss" 3>&- &
  r=$!
  ss_wait_for frames_are "$T/out.ss" 2000
  ss-archive --topic "$TOPIC" <"$T/b.ss"
  ss_wait_for frames_are "$T/out.ss" 4000
  kill -TERM "$r"
  wait "$r"
  cat "$T/a.ss" "$T/b.ss" | cmp - "$T/out.ss"
}

@test "a group member with --ack-from commits only what downstream acknowledged; the rest is delivered again" {
  gen -n 3000 >"$T/in.ss"
  ss-archive --topic "$TOPIC" <"$T/in.ss"
  : >"$T/acks"
  ss-archive read --topic "$TOPIC" --group ack-group --ack-from "$T/acks" --follow >"$T/m1.ss" 3>&- &
  m=$!
  ss_wait_for frames_are "$T/m1.ss" 3000
  # Delivered but not acknowledged: nothing committed.
  l0=$(group_lag "$TOPIC" ack-group)
  [ "$l0" -ge 3000 ]
  ack=$(ss-cat "$T/in.ss" | sed -n 1000p | jq -r '"\(.commit_lsn):\(.ordinal // 0)"')
  echo "$ack" >>"$T/acks"
  ss_wait_for lag_below "$TOPIC" ack-group "$l0"
  kill -9 "$m"
  wait "$m" || true
  # The next member gets what was not committed: every record after the acknowledged one, and not everything.
  ss-archive read --topic "$TOPIC" --group ack-group >"$T/m2.ss"
  n=$(ss-cat "$T/m2.ss" | wc -l)
  [ "$n" -ge 2000 ]
  [ "$n" -lt 3000 ]
  ss-cat "$T/in.ss" | sed -n '1001,$p' | jq -r '.columns[0].text' | sort >"$T/after"
  ss-cat "$T/m2.ss" | jq -r '.columns[0].text' | sort >"$T/got"
  [ -z "$(comm -23 "$T/after" "$T/got")" ]
}

@test "a group read into a pipe commits nothing; | head leaves the group at once and the next member gets it all" {
  gen -n 20000 >"$T/in.ss"
  ss-archive --topic "$TOPIC" <"$T/in.ss"
  run --separate-stderr bash -c "ss-archive read --topic '$TOPIC' --group pipe-group | ss-cat | head -n 2000 | wc -l"
  [ "$output" -eq 2000 ]
  # The member that lost its reader left the group: the next one is assigned at once, not after a session timeout,
  # and gets every record, since nothing written to the pipe was stored.
  timeout 30 ss-archive read --topic "$TOPIC" --group pipe-group >"$T/all.ss"
  [ "$(ss-cat "$T/all.ss" | wc -l)" -eq 20000 ]
  ss-cat "$T/all.ss" | jq -r '.columns[0].text' | sort -u | wc -l | grep -qx 20000
  # That one wrote to a file and fsynced it: committed.
  ss-archive read --topic "$TOPIC" --group pipe-group >"$T/none.ss"
  [ ! -s "$T/none.ss" ]
  run --separate-stderr bash -c "ss-archive read --topic '$TOPIC' --group other-group | cat >/dev/null"
  [[ "$stderr" == *"committed no offsets for the 20000 records delivered"* ]]
}

@test "--partitions and --retention create an absent topic with those settings, as kafka-configs reads them back" {
  # Commit times of now: older ones would be past the 3 days' retention, and deleted.
  gen -n 500 --start-time "$(date -u +%Y-%m-%dT%H:%M:%SZ)" >"$T/in.ss"
  new="absent-$BATS_TEST_NUMBER"
  run ss-archive -v --topic "$new" --partitions 8 --retention 3d <"$T/in.ss"
  [ "$status" -eq 0 ]
  [[ "$output" == *"created topic $new with 8 partitions"* ]]
  run kcat -b "$KAFKA_BROKERS" -L -t "$new"
  [[ "$output" == *"8 partitions"* ]]
  run ss_kafka_tool configs --bootstrap-server "$KAFKA_BROKERS" --entity-type topics --entity-name "$new" --describe
  [[ "$output" == *"retention.ms=259200000"* ]]
  ss-archive read --topic "$new" | cmp - "$T/in.ss"
  # Without --retention, nothing is deleted: retention.ms=-1.
  run ss-archive --topic "$new-forever" --partitions 2 <"$T/in.ss"
  run ss_kafka_tool configs --bootstrap-server "$KAFKA_BROKERS" --entity-type topics --entity-name "$new-forever" --describe
  [[ "$output" == *"retention.ms=-1"* ]]
  # An existing topic is used as it is, without a word about creating it.
  run ss-archive --topic "$TOPIC" --partitions 8 <"$T/in.ss"
  [ "$status" -eq 0 ]
  [[ "$output" != *"create"* ]]
}

@test "records arriving out of position order within a batch are all archived (an upstream's redelivery)" {
  gen -n 30 >"$T/in.ss"
  ss-cat "$T/in.ss" | tac | ss-cat -j >"$T/reversed.ss"
  ss-archive --topic "$TOPIC" <"$T/reversed.ss"
  [ "$(committed_count "$TOPIC")" -eq 30 ]
  diff <(ss-archive read --topic "$TOPIC" | ss-cat | sort) <(ss-cat "$T/in.ss" | sort)
}

@test "a record delivered again while its batch is still committing is archived once" {
  gen -n 30 >"$T/in.ss"
  # Full batches of 10 commit while the next fills: 11-20 come again while their own batch commits.
  ss-cat "$T/in.ss" | sed -n '1,20p;11,20p;21,30p' | ss-cat -j >"$T/again.ss"
  ss-archive --topic "$TOPIC" --batch 10 <"$T/again.ss"
  [ "$(committed_count "$TOPIC")" -eq 30 ]
  diff <(ss-archive read --topic "$TOPIC" | ss-cat) <(ss-cat "$T/in.ss")
}

@test "records over Kafka's message limit travel as chunks, and every reader joins them" {
  # 0.9 MB fits a message; 1.1 and 3 MB do not. Small records around them keep the order honest.
  {
    gen -n 3 --start-lsn $((0x1000000))
    gen -n 1 --size 900000 --start-lsn $((0x2000000))
    gen -n 1 --size 1100000 --start-lsn $((0x3000000))
    gen -n 2 --start-lsn $((0x4000000))
    gen -n 1 --size 3000000 --start-lsn $((0x5000000))
    gen -n 2 --start-lsn $((0x6000000))
  } >"$T/in.ss"
  ss-archive --topic "$TOPIC" <"$T/in.ss"
  # No message over Kafka's default broker limit (message.max.bytes 1048588).
  kcat -b "$KAFKA_BROKERS" -C -t "$TOPIC" -e -q -f '%S\n' >"$T/sizes"
  [ "$(sort -n "$T/sizes" | tail -1)" -le 1048588 ]
  [ "$(wc -l <"$T/sizes")" -gt 10 ]
  # A topic's own max.message.bytes is the limit where it is lower.
  ss-kafka-topic "$TOPIC-small" --config max.message.bytes=200000
  ss-archive --topic "$TOPIC-small" <"$T/in.ss"
  kcat -b "$KAFKA_BROKERS" -C -t "$TOPIC-small" -e -q -f '%S\n' >"$T/small-sizes"
  [ "$(sort -n "$T/small-sizes" | tail -1)" -le 200000 ]
  ss-archive read --topic "$TOPIC-small" | cmp - "$T/in.ss"
  kcat -b "$KAFKA_BROKERS" -C -t "$TOPIC" -e -q -f '%h\n' | grep -q 'chunk=1/'
  # Window, position window and group member: whole records, in order.
  ss-archive read --topic "$TOPIC" | cmp - "$T/in.ss"
  ss-archive read --topic "$TOPIC" --from-position 0/1000000 | cmp - "$T/in.ss"
  ss-archive read --topic "$TOPIC" --group chunks >"$T/group.ss"
  [ "$(ss-cat "$T/group.ss" | jq -r '"\(.commit_lsn) \(.ordinal // 0)"' | sort | tr '\n' ' ')" = \
    "$(ss-cat "$T/in.ss" | jq -r '"\(.commit_lsn) \(.ordinal // 0)"' | sort | tr '\n' ' ')" ]
  cmp <(ss-cat "$T/group.ss" | sort) <(ss-cat "$T/in.ss" | sort)
  # A resend drops what is held, chunked records included.
  run --separate-stderr ss-archive -v --topic "$TOPIC" <"$T/in.ss"
  [[ "$stderr" == *"archived 0 records, dropped 10 already archived"* ]]
}

@test "a chunk set cut short never reaches a reader" {
  gen -n 1 --size 2500000 --start-lsn 16777216 >"$T/big.ss"
  gen -n 2 --start-lsn 33554432 >"$T/after.ss"
  ss-archive --topic "$TOPIC" <"$T/big.ss"
  # A first chunk alone, written outside any transaction (so read_committed shows it): what a foreign writer or a
  # damaged log could leave.
  kcat -b "$KAFKA_BROKERS" -C -t "$TOPIC" -e -q -c 1 -f '%k\n' >"$T/key"
  printf 'partial' | kcat -b "$KAFKA_BROKERS" -P -t "$TOPIC" -k "$(cat "$T/key")" \
    -H position=2/0:0 -H "source=src${BATS_TEST_NUMBER}" -H chunk=1/3
  ss-archive --topic "$TOPIC" <"$T/after.ss"
  run --separate-stderr ss-archive read --topic "$TOPIC"
  [ "$status" -eq 0 ]
  [[ "$stderr" == *"dropped an incomplete chunked record at 2/0:0"* ]]
  ss-archive read --topic "$TOPIC" | cmp - <(cat "$T/big.ss" "$T/after.ss")
}

@test "SIGTERM ends an archiver retrying a refused commit at once, with 75 and nothing acknowledged (mock)" {
  # Mock: a real coordinator cannot be made to keep refusing EndTxn with COORDINATOR_NOT_AVAILABLE on cue.
  with_mock
  ss_kafka_ctl errors 26 15 50
  gen -n 5 --start-lsn 50331648 | ss-archive -v --topic "$TOPIC" --ack "$T/acks" 2>"$T/retry.err" 3>&- &
  a=$!
  ss_wait_for grep -q "archive high-water" "$T/retry.err"
  kill -TERM "$a"
  SS_WAIT_TIMEOUT=3 ss_wait_for bash -c "! kill -0 $a 2>/dev/null"
  st=0
  wait "$a" || st=$?
  [ "$st" -eq 75 ]
  [ ! -s "$T/acks" ]
  ss_stop_kafka_mock
}

@test "retention deleting the first chunks of a 70 MB record: reads that would need them fail naming it, never partial" {
  topic="trim-$BATS_TEST_NUMBER"
  # 1 MB segments, 20 MB kept: Kafka deletes the oldest segments, and with them the start of the big record.
  ss-kafka-topic "$topic" --config segment.bytes=1048576 --config retention.bytes=20971520
  gen -n 5 --start-lsn $((0x1000000)) --start-time 2026-11-20T10:00:00Z >"$T/before.ss"
  gen -n 1 --size 70000000 --start-lsn $((0x2000000)) --start-time 2026-11-20T10:01:00Z >"$T/big.ss"
  gen -n 5 --start-lsn $((0x3000000)) --start-time 2026-11-20T10:02:00Z >"$T/after.ss"
  cat "$T/before.ss" "$T/big.ss" "$T/after.ss" | ss-archive --topic "$topic"
  SS_WAIT_TIMEOUT=120 ss_wait_for low_above "$topic" 10
  # A window that starts before the record: its start is gone.
  run -66 --separate-stderr ss-archive read --topic "$topic" --since 2026-11-20T09:59:00Z
  [[ "$stderr" == "ss-archive: retention has deleted the start of the window in $topic[0]: the oldest record it holds is at position 0/2000000:"*"after the window's start" ]]
  run -66 --separate-stderr ss-archive read --topic "$topic" --from-position 0/1000000
  [[ "$stderr" == *"retention has deleted the start of the window in $topic[0]"* ]]
  # A window that starts at the record itself: the record cannot be read whole.
  run -66 --separate-stderr ss-archive read --topic "$topic" --since 2026-11-20T10:01:00Z
  [[ "$stderr" == "ss-archive: retention has deleted the first chunks of the record at position 0/2000000:"*"($topic[0] offset "*"), inside the window: it cannot be read whole" ]]
  # A window after it is whole, opening with its base (the big record, whose last chunk names it: window_base.h,
  # which ss-cat leaves out); a rebuild says what is gone.
  ss-archive read --topic "$topic" --since 2026-11-20T10:02:00Z >"$T/win.ss"
  diff <(ss-cat "$T/win.ss") <(ss-cat "$T/after.ss")
  [ "$(ss-replay --speed max <"$T/win.ss" | head -c 300 | grep -ac 'shadowstream.window-base')" = 1 ]
  run -66 --separate-stderr ss-archive read --topic "$topic"
  [[ "$stderr" == *"retention has deleted its oldest changes"* ]]
  # A group member reads on, saying once what it skipped.
  ss-archive read --topic "$topic" --group trim-group >"$T/group.ss" 2>"$T/group.err"
  cmp "$T/group.ss" "$T/after.ss"
  [ "$(grep -c skipping "$T/group.err")" -eq 1 ]
  [[ "$(cat "$T/group.err")" == *"skipping the record at position 0/2000000:"*"retention has deleted its first chunks"* ]]
}

@test "a message that holds no record stops a window read and a group member alike, with exit 65 naming it" {
  gen -n 5 >"$T/in.ss"
  ss-archive --topic "$TOPIC" <"$T/in.ss"
  kcat -b "$KAFKA_BROKERS" -C -t "$TOPIC" -e -q -c 1 -f '%k\n' >"$T/key"
  printf '\377\377\377 not a record' | kcat -b "$KAFKA_BROKERS" -P -t "$TOPIC" -k "$(cat "$T/key")" \
    -H position=1/0:0 -H "source=src${BATS_TEST_NUMBER}"
  run -65 --separate-stderr ss-archive read --topic "$TOPIC"
  [[ "$stderr" == *"$TOPIC["*"] offset "*": not a ChangeRecord"* ]]
  run -65 --separate-stderr ss-archive read --topic "$TOPIC" --group bad-data
  [[ "$stderr" == *"$TOPIC["*"] offset "*": not a ChangeRecord"* ]]
}

@test "Kafka unset or unreachable: one line naming the brokers and what to set, within seconds; librdkafka's lines only with -v" {
  KAFKA_BROKERS= run -78 --separate-stderr ss-archive read --until now
  [ "$stderr" = "ss-archive: no Kafka brokers: set KAFKA_BROKERS=host:port[,host:port...] or pass --brokers" ]
  port=$(ss_free_port)
  KAFKA_BROKERS=127.0.0.1:$port run -69 --separate-stderr timeout 20 ss-archive read --since -1h
  [ "${#stderr_lines[@]}" -eq 1 ]
  [[ "$stderr" == "ss-archive: cannot reach Kafka at 127.0.0.1:$port (from KAFKA_BROKERS) within 5s: "*"Connection refused"* ]]
  run -69 --separate-stderr timeout 20 ss-archive read -v -b "127.0.0.1:$port" --since -1h
  [[ "$stderr" == *"ss-archive: librdkafka: "*"Connection refused"* ]]
  [[ "$stderr" == *"(from --brokers)"* ]]
  # The archiver is a long-running stage: it keeps waiting, saying for what, until told to stop.
  gen -n 1 >"$T/one.ss"
  ss-archive -b "127.0.0.1:$port" <"$T/one.ss" 2>"$T/err" 3>&- &
  w=$!
  ss_wait_for grep -q "cannot reach Kafka at 127.0.0.1:$port (from --brokers) within 5s: .*; retrying in" "$T/err"
  ss_stop_expect "$w" 75
  ! grep -q '^%' "$T/err"
}
