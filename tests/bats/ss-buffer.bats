#!/usr/bin/env bats
# ss-buffer against a real redis-server: idempotent writes, consumer-group reads, crash recovery.

load ../helpers/servers

setup_file() { ss_start_redis --appendonly yes --appendfsync always; }
teardown_file() { ss_stop_all; }

setup() {
  T="$BATS_TEST_TMPDIR"
  KEY="shadowstream:t${BATS_TEST_NUMBER}:changes"
}
# A failed assertion must not leave a tool running (a capture would retry its vanished server forever).
teardown() { ss_kill_jobs; }

rc() { redis-cli -p "$SS_REDIS_PORT" "$@"; }
gen() { ss-gen-records --source "t${BATS_TEST_NUMBER}" "$@"; }

@test "write then read through a group gives back the input byte for byte; passthrough is the input" {
  gen -n 5000 --tx-size 7 >"$T/in.ss"
  ss-buffer <"$T/in.ss" >"$T/pass.ss"
  cmp "$T/in.ss" "$T/pass.ss"
  [ "$(rc xlen "$KEY")" -eq 5000 ]
  ss-buffer read --stream "$KEY" --group g --until-idle >"$T/out.ss"
  cmp "$T/in.ss" "$T/out.ss"
  # Entry IDs are positions, fields readable from redis-cli.
  run rc xrange "$KEY" - + COUNT 1
  [ "${lines[0]}" = "16777216-0" ]
  [[ "$output" == *"public.items"*"insert"*"2026-11-20T10:00:00.000000Z"* ]]
}

@test "resending the same stream stores nothing new" {
  # Whole transactions (the generator marks the last record of its output tx_last, as a capture cut would not).
  gen -n 2001 --tx-size 3 >"$T/in.ss"
  ss-buffer --no-passthrough <"$T/in.ss"
  ss-buffer --no-passthrough <"$T/in.ss"
  # A resend that overlaps and extends: only the new tail is stored.
  gen -n 2502 --tx-size 3 >"$T/more.ss"
  run --separate-stderr ss-buffer --no-passthrough -v <"$T/more.ss"
  [ "$status" -eq 0 ]
  [[ "$stderr" == *"stored 501 records, dropped 2001 already stored"* ]]
  [ "$(rc xlen "$KEY")" -eq 2502 ]
  ss-buffer read --stream "$KEY" --group g --until-idle | cmp - "$T/more.ss"
}

@test "two consumers of one group split the stream with no overlap and no gap" {
  gen -n 20000 >"$T/in.ss"
  ss-buffer --no-passthrough <"$T/in.ss"
  ss-buffer read --stream "$KEY" --group split --consumer c1 --count 100 --until-idle >"$T/c1.ss" 3>&- &
  p1=$!
  ss-buffer read --stream "$KEY" --group split --consumer c2 --count 100 --until-idle >"$T/c2.ss" 3>&- &
  p2=$!
  wait "$p1"
  wait "$p2"
  n1=$(ss-cat "$T/c1.ss" | wc -l)
  n2=$(ss-cat "$T/c2.ss" | wc -l)
  [ $((n1 + n2)) -eq 20000 ]
  [ "$(cat <(ss-cat "$T/c1.ss") <(ss-cat "$T/c2.ss") | jq -r '.columns[0].text' | sort -n | uniq | wc -l)" -eq 20000 ]
  [ "$(rc xpending "$KEY" split | head -1)" -eq 0 ]
}

@test "kill -9 of a reader mid-stream: the restarted reader delivers exactly the unacknowledged rest" {
  gen -n 300 >"$T/in.ss"
  ss-buffer --no-passthrough <"$T/in.ss"
  : >"$T/acks"
  ss-buffer read --stream "$KEY" --group g --consumer r1 --ack-from "$T/acks" >"$T/out1.ss" 3>&- &
  reader=$!
  ss_wait_for bash -c "[ \$(ss-cat '$T/out1.ss' 2>/dev/null | wc -l) -eq 300 ]"
  # The downstream acknowledges the first 120; the reader XACKs them, and then dies without warning.
  ss-cat "$T/out1.ss" | sed -n 120p | jq -r '"\(.commit_lsn):\(.ordinal // 0)"' >>"$T/acks"
  ss_wait_for bash -c "[ \"\$(redis-cli -p $SS_REDIS_PORT xpending '$KEY' g | head -1)\" = 180 ]"
  kill -9 "$reader"
  wait "$reader" || true
  ss-buffer read --stream "$KEY" --group g --consumer r1 --until-idle >"$T/out2.ss"
  [ "$(ss-cat "$T/out2.ss" | jq -r '.columns[0].text' | tr '\n' ' ')" = "$(seq 121 300 | tr '\n' ' ')" ]
  [ "$(rc xpending "$KEY" g | head -1)" -eq 0 ]
}

@test "entries a lost reply gave the reader are delivered when it reconnects, in order, not a minute later" {
  gen -n 20 >"$T/in.ss"
  ss-cat "$T/in.ss" | head -10 | ss-cat -j | ss-buffer --no-passthrough
  ss-buffer read --stream "$KEY" --group g --consumer r1 --ack-from "$T/acks" >"$T/out.ss" 3>&- &
  ss_wait_for bash -c "[ \$(ss-cat '$T/out.ss' 2>/dev/null | wc -l) -eq 10 ]"
  # What a reply lost in a Redis restart leaves behind: entries that Redis counts as delivered to r1 (in its
  # pending list) while r1 never saw them. One script adds five entries, reads them for another consumer and hands
  # them to r1, so the blocked reader is not given them.
  ss-cat "$T/in.ss" | sed -n 11,15p | ss-cat -j | ss-buffer --stream "$KEY.staged" --no-passthrough
  [ "$(rc eval "
    for _, e in ipairs(redis.call('XRANGE', KEYS[2], '-', '+')) do redis.call('XADD', KEYS[1], e[1], unpack(e[2])) end
    local got = redis.call('XREADGROUP', 'GROUP', 'g', 'other', 'COUNT', 100, 'STREAMS', KEYS[1], '>')
    local ids = {}
    for _, e in ipairs(got[1][2]) do table.insert(ids, e[1]) end
    redis.call('XCLAIM', KEYS[1], 'g', 'r1', 0, unpack(ids))
    return #ids" 2 "$KEY" "$KEY.staged")" = 5 ]
  [ "$(ss-cat "$T/out.ss" | wc -l)" -eq 10 ]
  # The connection drops; the reader makes it again.
  rc client kill type normal skipme yes >/dev/null
  ss-cat "$T/in.ss" | sed -n 16,20p | ss-cat -j | ss-buffer --no-passthrough
  ss_wait_for bash -c "[ \$(ss-cat '$T/out.ss' 2>/dev/null | wc -l) -ge 20 ]"
  [ "$(ss-cat "$T/out.ss" | jq -r '.columns[0].text' | tr '\n' ' ')" = "$(seq 1 20 | tr '\n' ' ')" ]
}

@test "a group read into a pipe acknowledges nothing: the next run delivers it all again; a file is acknowledged" {
  gen -n 3000 >"$T/in.ss"
  ss-buffer --no-passthrough <"$T/in.ss"
  # Written to a pipe is not stored: a reader killed downstream must not have taken the entries with it.
  ss-buffer read --stream "$KEY" --group g --until-idle | head -c 1000 >/dev/null
  [ "$(rc xpending "$KEY" g | head -1)" -gt 0 ]
  run --separate-stderr bash -c "ss-buffer read --stream '$KEY' --group g --until-idle | cat >'$T/again.ss'"
  [ "$status" -eq 0 ]
  [[ "$stderr" == *"left 3000 delivered entries pending for consumer"*"without --ack-from"* ]]
  cmp "$T/in.ss" "$T/again.ss"
  [ "$(rc xpending "$KEY" g | head -1)" -eq 3000 ]
  # Into a regular file, fsynced: acknowledged.
  ss-buffer read --stream "$KEY" --group g --until-idle >"$T/file.ss"
  cmp "$T/in.ss" "$T/file.ss"
  [ "$(rc xpending "$KEY" g | head -1)" -eq 0 ]
}

@test "a group read stops at --until and leaves what follows for a later run" {
  gen -n 100 --interval 1s --start-time 2026-11-20T10:00:00Z >"$T/in.ss"
  ss-buffer --no-passthrough <"$T/in.ss"
  ss-buffer read --stream "$KEY" --group g --until 2026-11-20T10:00:40Z --until-idle >"$T/first.ss"
  [ "$(ss-cat "$T/first.ss" | wc -l)" -eq 40 ]
  ss-buffer read --stream "$KEY" --group g --until-idle >"$T/rest.ss"
  cat "$T/first.ss" "$T/rest.ss" | cmp - "$T/in.ss"
}

@test "a dead consumer's pending entries are claimed after --claim-idle" {
  gen -n 50 >"$T/in.ss"
  ss-buffer --no-passthrough <"$T/in.ss"
  : >"$T/never"
  ss-buffer read --stream "$KEY" --group g --consumer dead --ack-from "$T/never" >/dev/null 3>&- &
  dead=$!
  ss_wait_for bash -c "[ \"\$(redis-cli -p $SS_REDIS_PORT xpending '$KEY' g | head -1)\" = 50 ]"
  kill -9 "$dead"
  wait "$dead" || true
  ss-buffer read --stream "$KEY" --group g --consumer heir --claim-idle 1ms --until-idle >"$T/heir.ss"
  cmp "$T/in.ss" "$T/heir.ss"
}

@test "Redis killed and restarted mid-write (AOF always): nothing lost, nothing doubled" {
  for i in $(seq 0 39); do
    gen -n 500 --start-lsn $((0x1000000 + i * 0x100000)) >"$T/part$i.ss"
  done
  cat "$T"/part{0..39}.ss >"$T/all.ss"
  (for i in $(seq 0 39); do cat "$T/part$i.ss"; sleep 0.05; done) |
    ss-buffer --no-passthrough --batch 50 2>"$T/err" 3>&- &
  writer=$!
  ss_wait_for bash -c "[ \"\$(redis-cli -p $SS_REDIS_PORT xlen '$KEY')\" -gt 2000 ]"
  ss_restart_redis --kill
  wait "$writer"
  [ "$(rc xlen "$KEY")" -eq 20000 ]
  ss-buffer read --stream "$KEY" --group g --until-idle | cmp - "$T/all.ss"
}

@test "bad frames: exit 65 naming the offset, and nothing after the last good frame is stored" {
  gen -n 10 >"$T/in.ss"
  { cat "$T/in.ss"; printf '\x05garbage'; gen -n 20 --start-lsn 99999999; } >"$T/bad.ss"
  run --separate-stderr ss-buffer --no-passthrough <"$T/bad.ss"
  [ "$status" -eq 65 ]
  [[ "$stderr" == "ss-buffer: stdin: "*"byte offset $(stat -c %s "$T/in.ss")" ]]
  [ "$(rc xlen "$KEY")" -eq 10 ]
}

@test "--ack writes the highest stored position after each batch" {
  gen -n 1000 --tx-size 4 >"$T/in.ss"
  ss-buffer --no-passthrough --batch 100 --ack "$T/acks" <"$T/in.ss"
  [ "$(wc -l <"$T/acks")" -eq 10 ]
  [ "$(tail -1 "$T/acks")" = "$(ss-cat "$T/in.ss" | tail -1 | jq -r '"\(.commit_lsn):\(.ordinal)"')" ]
}

@test "range reads by commit time, and retention by age and length" {
  gen -n 100 --interval 1s --start-time 2026-11-20T10:00:00Z >"$T/in.ss"
  ss-buffer --no-passthrough <"$T/in.ss"
  ss-buffer read --stream "$KEY" --since 2026-11-20T10:00:10Z --until 2026-11-20T10:00:20Z >"$T/win.ss"
  [ "$(ss-cat "$T/win.ss" | jq -r '.columns[0].text' | tr '\n' ' ')" = "$(seq 11 20 | tr '\n' ' ')" ]
  # --retain 1h: the 2026-11-20 entries are older than an hour and go; fresh ones stay.
  gen -n 10 --start-time "$(date -u +%FT%TZ)" --start-lsn 999999999 >"$T/fresh.ss"
  ss-buffer --no-passthrough --retain 1h <"$T/fresh.ss"
  [ "$(rc xlen "$KEY")" -eq 10 ]
  ss-gen-records -n 5000 --source maxlen-test >"$T/long.ss"
  ss-buffer --no-passthrough --maxlen 1000 <"$T/long.ss"
  [ "$(rc xlen shadowstream:maxlen-test:changes)" -lt 1500 ]
}

@test "Redis unreachable at start: retried with a log line; SIGTERM then gives up with exit 75" {
  gen -n 5 >"$T/in.ss"
  REDIS_URL=redis://127.0.0.1:1 ss-buffer --no-passthrough <"$T/in.ss" 2>"$T/err" 3>&- &
  w=$!
  ss_wait_for grep -q "cannot connect to Redis at 127.0.0.1:1" "$T/err"
  ss_stop_expect "$w" 75
}

@test "gRPC Ingestor from another language (Python): positions assigned, duplicates dropped, bad input refused" {
  echo tok3n >"$T/token"
  ss-buffer serve --listen 127.0.0.1:0 --token-file "$T/token" --allow-source py 2>"$T/serve.err" 3>&- &
  srv=$!
  ss_wait_for grep -q "listening on" "$T/serve.err"
  addr=$(sed -n 's/.*listening on //p' "$T/serve.err")
  protoc --python_out="$T" -I"$SS_ROOT/proto" "$SS_ROOT/proto/shadowstream.proto"
  cat >"$T/client.py" <<'PY'
import sys, grpc
sys.path.insert(0, sys.argv[3])
import ss_grpc
pb = ss_grpc.load(sys.argv[2])
auth = [("authorization", "Bearer tok3n")]
one, many = ss_grpc.ingestor(sys.argv[1])
def rec(i):
    return pb.ChangeRecord(source=pb.Source(name="py"), op=pb.OPERATION_INSERT, schema="public", table="orders",
                           columns=[pb.Column(name="id", type_name="int4", text=str(i), is_key=True)])
for i in range(3):
    r = one(rec(i), metadata=auth)
    assert r.accepted and r.stored == 1, r
print("single", r.entry_id)
r = many(iter([rec(10 + i) for i in range(5)]), metadata=auth)
assert r.stored == 5 and r.ordinal == 4, r
# A resend of a record that carries its position is a duplicate, not a second copy; a different record at a held
# position is a conflict, never a duplicate.
again = rec(99); again.commit_lsn = r.commit_lsn + 1; again.tx_last = True; again.commit_time = 1764000000000000
r2 = one(again, metadata=auth)
assert r2.accepted and r2.stored == 1 and r2.duplicates == 0, r2
r2 = one(again, metadata=auth)
assert r2.accepted and r2.stored == 0 and r2.duplicates == 1, r2
# A capture that decodes the stretch again reads some fields anew (a message's commit time, type names): same change.
redecoded = pb.ChangeRecord(); redecoded.CopyFrom(again)
redecoded.commit_time += 5000000; redecoded.columns[0].type_name = "pg_catalog.int4"
r2 = one(redecoded, metadata=auth)
assert r2.accepted and r2.stored == 0 and r2.duplicates == 1, r2
other = rec(98); other.commit_lsn = again.commit_lsn; other.tx_last = True; other.commit_time = again.commit_time
try:
    one(other, metadata=auth)
    raise SystemExit("a different record at a held position was accepted")
except grpc.RpcError as e:
    assert e.code() == grpc.StatusCode.ALREADY_EXISTS, e
    print("conflict:", e.details())
try:
    one(pb.ChangeRecord(source=pb.Source(name="py"), table="orders"), metadata=auth)
    raise SystemExit("invalid record accepted")
except grpc.RpcError as e:
    assert e.code() == grpc.StatusCode.INVALID_ARGUMENT, e
    print("invalid:", e.details())
try:
    one(rec(1), metadata=[("authorization", "Bearer wrong")])
    raise SystemExit("wrong token accepted")
except grpc.RpcError as e:
    assert e.code() == grpc.StatusCode.UNAUTHENTICATED, e
print("ok")
PY
  # Debian's interpreter: python3-grpcio is installed for it, whatever python3 comes first on PATH.
  run /usr/bin/python3 "$T/client.py" "$addr" "$T" "$SS_ROOT/tests/helpers"
  echo "$output"
  [ "$status" -eq 0 ]
  [ "${lines[-1]}" = ok ]
  [[ "$output" == *"invalid: record 0: op is required"* ]]
  [[ "$output" == *"conflict: position "*" already holds a different change"* ]]
  kill -TERM "$srv"
  wait "$srv"
  [ "$(rc xlen shadowstream:py:changes)" -eq 9 ]
  # Pushed records read back like captured ones: three one-record transactions, then one of five.
  ss-buffer read --source py >"$T/py.ss"
  run bash -c "ss-cat '$T/py.ss' | jq -r '\"\(.ordinal // 0) \(.tx_last // false) \(.columns[0].text)\"'"
  [ "${lines[0]}" = "0 true 0" ]
  [ "${lines[3]}" = "0 false 10" ]
  [ "${lines[7]}" = "4 true 14" ]
  [ "${lines[8]}" = "0 true 99" ]
}

@test "two Ingestor servers on one stream: 8 concurrent clients, every record stored once, none reported a duplicate" {
  addrs=()
  for i in 1 2; do
    ss-buffer serve --listen 127.0.0.1:0 --allow-source two 2>"$T/serve$i.err" 3>&- &
    ss_wait_for grep -q "listening on" "$T/serve$i.err"
    addrs+=("$(sed -n 's/.*listening on //p' "$T/serve$i.err")")
  done
  protoc --python_out="$T" -I"$SS_ROOT/proto" "$SS_ROOT/proto/shadowstream.proto"
  cat >"$T/push.py" <<'PY'
import sys, threading
sys.path.insert(0, sys.argv[2])
import ss_grpc
pb = ss_grpc.load(sys.argv[1])
addrs = sys.argv[3:]
bad = []
def client(c):
    one, many = ss_grpc.ingestor(addrs[c % len(addrs)])
    def rec(i):
        return pb.ChangeRecord(source=pb.Source(name="two"), op=pb.OPERATION_INSERT, schema="public", table="t",
                               columns=[pb.Column(name="id", type_name="int4", text=str(i), is_key=True)])
    for k in range(150):
        i = c * 1000 + k * 2
        r = one(rec(i))
        if not (r.accepted and r.stored == 1 and r.duplicates == 0): bad.append(r)
        r = many(iter([rec(i + 1), rec(100000 + i)]))
        if not (r.accepted and r.stored == 2 and r.duplicates == 0): bad.append(r)
ts = [threading.Thread(target=client, args=(c,)) for c in range(8)]
for t in ts: t.start()
for t in ts: t.join()
print("bad", len(bad), bad[:1])
PY
  run /usr/bin/python3 "$T/push.py" "$T" "$SS_ROOT/tests/helpers" "${addrs[@]}"
  echo "$output"
  [ "$status" -eq 0 ]
  [ "$output" = "bad 0 []" ]
  [ "$(rc xlen shadowstream:two:changes)" -eq 3600 ]
  ss-buffer read --source two >"$T/two.ss"
  [ "$(ss-cat "$T/two.ss" | jq -r '.columns[0].text' | sort -u | wc -l)" -eq 3600 ]
  # Each call is one transaction: its records share a position's LSN and nothing else does.
  [ "$(ss-cat "$T/two.ss" | jq -r .commit_lsn | uniq -c | awk '{print $1}' | sort | uniq -c | tr -s ' ')" =     "$(printf ' 1200 1\n 1200 2')" ]
}

@test "an OOM answer is logged clearly and retried (back-pressure) until Redis has room again" {
  gen -n 3000 --size 1000 >"$T/in.ss"
  used=$(rc info memory | sed -n 's/^used_memory:\([0-9]*\).*/\1/p' | tr -d '\r')
  rc config set maxmemory-policy noeviction >/dev/null
  rc config set maxmemory $((used + 1000000)) >/dev/null
  ss-buffer --no-passthrough <"$T/in.ss" 2>"$T/err" 3>&- &
  w=$!
  ss_wait_for grep -q "Redis answered: OOM" "$T/err"
  [[ "$(grep -m1 OOM "$T/err")" == "ss-buffer: XADD to $KEY: Redis answered: OOM"*"retrying in"* ]]
  rc config set maxmemory 0 >/dev/null
  wait "$w"
  [ "$(rc xlen "$KEY")" -eq 3000 ]
  ss-buffer read --stream "$KEY" --group g --until-idle | cmp - "$T/in.ss"
}

@test "a one-off read gives up on an unreachable Redis after 10 s with exit 69, hinting at REDIS_URL when it is unset" {
  # Nothing may listen on the default address for this test to mean anything.
  ! (exec 3<>/dev/tcp/127.0.0.1/6379) 2>/dev/null
  run -69 --separate-stderr env -u REDIS_URL ss-buffer read --group g --until-idle --source x
  [[ "${stderr_lines[-1]}" == "ss-buffer: cannot connect to Redis at 127.0.0.1:6379: "*"(REDIS_URL is unset: set it to redis://host:port); gave up after 10s" ]]
  # Named but down: no hint, and a range read is a one-off too.
  port=$(ss_free_port)
  REDIS_URL=redis://127.0.0.1:$port run -69 --separate-stderr ss-buffer read --source x
  [[ "${stderr_lines[-1]}" == "ss-buffer: cannot connect to Redis at 127.0.0.1:$port: Connection refused; gave up after 10s" ]]
}

@test "a refused Redis password is exit 77, one line that never holds the password" {
  port=$(ss_free_port)
  redis-server --port "$port" --bind 127.0.0.1 --save '' --appendonly no --dir "$T" --requirepass right-secret \
    --daemonize no >/dev/null 2>&1 3>&- &
  r=$!
  ss_wait_for bash -c "REDISCLI_AUTH=right-secret redis-cli -p $port ping 2>/dev/null | grep -qx PONG"
  REDIS_URL=redis://127.0.0.1:$port REDISCLI_AUTH=wrong-secret run -77 --separate-stderr ss-buffer read --source x
  kill "$r"
  [ "$stderr" = "ss-buffer: Redis at 127.0.0.1:$port refused authentication: WRONGPASS invalid username-password pair or user is disabled." ]
}
