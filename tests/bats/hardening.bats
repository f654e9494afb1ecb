#!/usr/bin/env bats
# Hostile input and hostile clients: records no source can produce, declared lengths without data, and the servers'
# limits, credentials and transport (issue: hardening).

load ../helpers/servers

setup_file() {
  ss_start_redis
  protoc --python_out="$BATS_FILE_TMPDIR" -I"$SS_ROOT/proto" "$SS_ROOT/proto/shadowstream.proto"
}
teardown_file() { ss_stop_all; }
teardown() { ss_kill_jobs; }
setup() { T="$BATS_TEST_TMPDIR"; }

rc() { redis-cli -p "$SS_REDIS_PORT" "$@"; }
raw() { python3 "$SS_ROOT/tests/helpers/raw_frames.py" "$@"; }

@test "an op the schema does not define is bad data everywhere, not a crash" {
  printf '\x06\x10\x05\x20\x01\x40\x64' >"$T/op100.ss"
  for tool in "ss-buffer --no-passthrough" "ss-cat" "ss-archive" "ss-replay --speed max"; do
    run --separate-stderr $tool <"$T/op100.ss"
    echo "$tool: $status $stderr"
    [ "$status" -eq 65 ]
    [[ "$stderr" == *"op 100 is not an operation"*"byte offset 0"* ]]
    [ "${#stderr_lines[@]}" -eq 1 ]
  done
  [ "$(rc exists shadowstream:default:changes)" -eq 0 ]
  # What ss-cat prints, ss-cat -j takes back; a name it does not know is refused with its line.
  ss-gen-records -n 3 --mix | ss-cat | ss-cat -j | ss-cat >"$T/round.jsonl"
  [ "$(wc -l <"$T/round.jsonl")" -eq 3 ]
  run --separate-stderr ss-cat -j <<<'{"commit_lsn":"0/5","op":"frobnicate","table":"t"}'
  [ "$status" -eq 65 ]
}

@test "an Ingestor call with an unknown op is INVALID_ARGUMENT and the server lives on" {
  ss-buffer serve --listen 127.0.0.1:0 2>"$T/serve.err" 3>&- &
  ss_wait_for grep -q "listening on" "$T/serve.err"
  addr=$(sed -n 's/.*listening on //p' "$T/serve.err")
  cat >"$T/push.py" <<'PY'
import sys, grpc
sys.path.insert(0, sys.argv[2])
import shadowstream_pb2 as pb
one = grpc.insecure_channel(sys.argv[1]).unary_unary("/shadowstream.v1.Ingestor/PushChange",
    request_serializer=pb.ChangeRecord.SerializeToString, response_deserializer=pb.PushResponse.FromString)
bad = pb.ChangeRecord(source=pb.Source(name="h"), table="t", columns=[pb.Column(name="id", text="1")])
bad.op = 100
for rec in (bad, pb.ChangeRecord(source=pb.Source(name="h"), op=1, table="t", commit_lsn=2**63, tx_last=True,
                                 columns=[pb.Column(name="id", text="1")])):
    try:
        one(rec, timeout=10)
        raise SystemExit("accepted")
    except grpc.RpcError as e:
        assert e.code() == grpc.StatusCode.INVALID_ARGUMENT, e
        print(e.details())
r = one(pb.ChangeRecord(source=pb.Source(name="h"), op=1, table="t", columns=[pb.Column(name="id", text="1")]),
        timeout=10)
assert r.stored == 1, r
print("alive")
PY
  run /usr/bin/python3 "$T/push.py" "$addr" "$BATS_FILE_TMPDIR"
  echo "$output"
  [ "$status" -eq 0 ]
  [[ "${lines[0]}" == *"op 100 is not an operation"* ]]
  [[ "${lines[1]}" == *"beyond what PostgreSQL can produce"* ]]
  [ "${lines[2]}" = alive ]
}

@test "positions no PostgreSQL can produce are refused before anything is stored; drops are always told" {
  raw 0x1000000:0:1 0xFFFFFFFF00000000:0:1 0x2000000:0:1 >"$T/high.ss"
  run --separate-stderr ss-buffer --no-passthrough --stream hw <"$T/high.ss"
  [ "$status" -eq 65 ]
  [[ "$stderr" == *"FFFFFFFF/0:0 is beyond what PostgreSQL can produce"*"byte offset"* ]]
  [ "$(rc xlen hw)" -eq 1 ]
  # Nothing poisoned: a later record is stored.
  raw 0x2000000:0:1 | ss-buffer --no-passthrough --stream hw
  [ "$(rc xlen hw)" -eq 2 ]
  run --separate-stderr ss-buffer --no-passthrough --stream zero < <(raw 0:0:1)
  [ "$status" -eq 65 ]
  [[ "$stderr" == *"commit_lsn 0 is not a position"* ]]
  # A resend is dropped, and the summary says so without -v.
  run --separate-stderr ss-buffer --no-passthrough --stream hw < <(raw 0x1000000:0:1 0x2000000:0:1)
  [ "$status" -eq 0 ]
  [[ "$stderr" == *"stored 0 records, dropped 2 already stored"* ]]
}

@test "commit times are years 0000-9999: the ends round-trip, beyond them is refused" {
  for t in 0000-01-01T00:00:00.000000Z 9999-12-31T23:59:59.999999Z; do
    line="{\"commit_lsn\":\"0/5\",\"tx_last\":true,\"commit_time\":\"$t\",\"op\":\"insert\",\"table\":\"t\"}"
    [ "$(echo "$line" | ss-cat -j | ss-cat)" = "$line" ]
  done
  run --separate-stderr ss-cat -j <<<'{"commit_lsn":"0/5","commit_time":"10000-01-01T00:00:00Z","op":"insert"}'
  [ "$status" -eq 65 ]
  for us in 9223372036854775807 -9223372036854775808 253402300800000000; do
    run --separate-stderr ss-cat < <(raw "5:0:1:$us")
    [ "$status" -eq 65 ]
    [[ "$stderr" == *"outside years 0000-9999"* ]]
  done
}

@test "a declared frame length costs memory only as its bytes arrive" {
  for tool in "ss-cat --max-frame 4294967295" "ss-cat" "ss-buffer --no-passthrough --max-frame 4294967295"; do
    printf '\xff\xff\xff\xff\x0f' >"$T/claim.ss"
    run --separate-stderr /usr/bin/time -f '%M' $tool <"$T/claim.ss"
    [ "$status" -eq 65 ]
    rss_kb=${stderr_lines[-1]}
    echo "$tool: ${rss_kb} KB" >&3
    [ "$rss_kb" -lt 40000 ]
  done
}
