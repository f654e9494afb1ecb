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
  ss-buffer serve --listen 127.0.0.1:0 --allow-source h 2>"$T/serve.err" 3>&- &
  ss_wait_for grep -q "listening on" "$T/serve.err"
  addr=$(sed -n 's/.*listening on //p' "$T/serve.err")
  cat >"$T/push.py" <<'PY'
import sys, grpc
sys.path.insert(0, sys.argv[3])
import ss_grpc
pb = ss_grpc.load(sys.argv[2])
one, _ = ss_grpc.ingestor(sys.argv[1])
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
  run /usr/bin/python3 "$T/push.py" "$addr" "$BATS_FILE_TMPDIR" "$SS_ROOT/tests/helpers"
  echo "$output"
  [ "$status" -eq 0 ]
  [[ "${lines[0]}" == *"op 100 is not an operation"* ]]
  [[ "${lines[1]}" == *"beyond what PostgreSQL can produce"* ]]
  [ "${lines[2]}" = alive ]
}

@test "an Ingestor client cannot silence another source: sources allowed, positions bounded, a resend is the same change" {
  ss-gen-records -n 1000 --source victimdb --start-lsn 16777216 >"$T/victim.ss"
  ss-gen-records -n 10 --source victimdb --start-lsn 16777216 | ss-buffer --no-passthrough
  cat >"$T/forge.py" <<'PY'
import sys, grpc
sys.path.insert(0, sys.argv[3])
import ss_grpc
pb = ss_grpc.load(sys.argv[2])
one, _ = ss_grpc.ingestor(sys.argv[1])
def push(source, lsn, text="1"):
    lsn = int(lsn)
    rec = pb.ChangeRecord(source=pb.Source(name=source), op=1, table="t", commit_lsn=lsn, tx_last=True,
                          columns=[pb.Column(name="id", text=text)])
    try:
        r = one(rec, timeout=10)
        return "OK stored=%d duplicates=%d" % (r.stored, r.duplicates)
    except grpc.RpcError as e:
        return "%s %s" % (e.code().name, e.details())
for arg in sys.argv[4:]:
    print(push(*arg.split(":")))
PY
  forge() { /usr/bin/python3 "$T/forge.py" "$ADDR" "$BATS_FILE_TMPDIR" "$SS_ROOT/tests/helpers" "$@"; }
  # By default a server takes records of its own --source name only.
  mport=$(ss_free_port)
  start_bg plain ss-buffer serve --listen 127.0.0.1:0 --metrics "127.0.0.1:$mport"
  ADDR=$(addr_of plain)
  run forge "victimdb:$((2**63 - 1))" "grpc:0"
  echo "$output"
  [[ "${lines[0]}" == "PERMISSION_DENIED "*'source "victimdb"'*"--allow-source"* ]]
  [[ "${lines[1]}" == "OK stored=1 duplicates=0" ]]
  curl -sS "http://127.0.0.1:$mport/metrics" | grep -q '^shadowstream_records_out_total.* 1$'  # serve's --metrics
  # Allowed, a position far beyond the stream's own is refused; so is a different record at a held position.
  start_bg allowed ss-buffer serve --listen 127.0.0.1:0 --allow-source victimdb --max-position-jump 1000000
  ADDR=$(addr_of allowed)
  run forge "victimdb:$((2**63 - 1))" "victimdb:16777216:other" "victimdb:$((16777216 + 100000000))"
  echo "$output"
  [[ "${lines[0]}" == "INVALID_ARGUMENT position 7FFFFFFF/FFFFFFFF:0 is more than 1000000 above the top entry"* ]]
  [[ "${lines[1]}" == "ALREADY_EXISTS position 0/1000000:0 of shadowstream:victimdb:changes already holds a different change"* ]]
  [[ "${lines[2]}" == "INVALID_ARGUMENT "*"more than 1000000 above"* ]]
  # The real capture of victimdb goes on storing everything.
  run --separate-stderr ss-buffer --no-passthrough <"$T/victim.ss"
  echo "$stderr"
  [ "$status" -eq 0 ]
  [[ "$stderr" == *"stored 990 records, dropped 10 already stored"* ]]
  [ "$(rc xlen shadowstream:victimdb:changes)" -eq 1000 ]
}

@test "a record below a stream's top that the stream does not hold is never dropped as a duplicate" {
  # Something stored far ahead (a forged position, a second producer under the same name): the records below it can
  # never be stored in order. Exit 65 naming the first; the acknowledgement never passes it.
  ss-gen-records -n 5 --source s2 --start-lsn 16777216 >"$T/first.ss"
  ss-gen-records -n 5 --source s2 --start-lsn $((16777216 * 4)) >"$T/ahead.ss"
  ss-gen-records -n 5 --source s2 --start-lsn $((16777216 * 2)) >"$T/gap.ss"
  ss-buffer --no-passthrough <"$T/first.ss"
  ss-buffer --no-passthrough <"$T/ahead.ss"
  run --separate-stderr ss-buffer --no-passthrough --ack "$T/ack" <"$T/gap.ss"
  echo "$stderr"
  [ "$status" -eq 65 ]
  [[ "$stderr" == *"position 0/2000000:0 of shadowstream:s2:changes is below the stream's top entry but not in it"* ]]
  [ ! -s "$T/ack" ]
  # A resend of the same change is a duplicate as always, also after retention trimmed it away.
  run --separate-stderr ss-buffer --no-passthrough <"$T/first.ss"
  [ "$status" -eq 0 ]
  [[ "$stderr" == *"dropped 5 already stored"* ]]
  rc xtrim shadowstream:s2:changes maxlen 5 >/dev/null
  run --separate-stderr ss-buffer --no-passthrough <"$T/first.ss"
  [ "$status" -eq 0 ]
  [[ "$stderr" == *"dropped 5 already stored"* ]]
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

# certs DIR: a CA, a server certificate for localhost/127.0.0.1 and a client certificate, all signed by the CA.
certs() {
  local d=$1 n
  openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:prime256v1 -nodes -keyout "$d/ca.key" -out "$d/ca.pem" \
    -days 2 -subj /CN=ss-test-ca 2>/dev/null
  for n in srv cli; do
    openssl req -newkey ec -pkeyopt ec_paramgen_curve:prime256v1 -nodes -keyout "$d/$n.key" -out "$d/$n.csr" \
      -subj "/CN=$n" 2>/dev/null
    openssl x509 -req -in "$d/$n.csr" -CA "$d/ca.pem" -CAkey "$d/ca.key" -CAcreateserial -out "$d/$n.pem" -days 2 \
      -extfile <(printf 'subjectAltName=DNS:localhost,IP:127.0.0.1\n') 2>/dev/null
  done
}
# start_bg NAME CMD...: runs CMD in the background with stderr in $T/NAME.err; waits for "listening on".
start_bg() {
  local name=$1
  shift
  "$@" 2>"$T/$name.err" 3>&- &
  BG_PID=$!
  ss_wait_for grep -q "listening on" "$T/$name.err"
}
addr_of() { sed -n 's/.*listening on //p' "$T/$1.err" | tail -1; }

@test "off loopback a server needs a token and TLS, or --insecure" {
  echo tok >"$T/token"
  for cmd in "ss-replay serve --store-key ss:h:exp" "ss-buffer serve"; do
    run --separate-stderr $cmd --listen 0.0.0.0:0
    [ "$status" -eq 64 ]
    [[ "$stderr" == *"--listen 0.0.0.0:0 is reachable from other hosts: it needs --token-file and --tls-cert/--tls-key"*"--insecure"* ]]
    run --separate-stderr $cmd --listen '[::]:0' --token-file "$T/token"
    [ "$status" -eq 64 ]
    [[ "$stderr" == *"it needs --tls-cert/--tls-key"* ]]
  done
  run --separate-stderr ss-replay serve --store-key ss:h:exp --listen 127.0.0.1:0 --token-file "$T/token" --http 0.0.0.0:0
  [ "$status" -eq 64 ]
  [[ "$stderr" == *"--http 0.0.0.0:0 is reachable from other hosts"* ]]
  start_bg insecure ss-buffer serve --listen 0.0.0.0:0 --insecure
  [[ "$(addr_of insecure)" == 0.0.0.0:* ]]
}

@test "a second server on a port in use fails at once and takes over no job" {
  ss-gen-records -n 500 --interval 20ms >"$T/slow.ss"
  start_bg first ss-replay serve --listen 127.0.0.1:0 --store-key ss:h:port --files-dir "$T"
  addr=$(addr_of first)
  /usr/bin/python3 "$SS_ROOT/tests/helpers/replay_client.py" "$addr" "$BATS_FILE_TMPDIR" create source=file:"$T/slow.ss" \
    speed_factor=0.5 >"$T/job"
  run --separate-stderr ss-replay serve --listen "$addr" --store-key ss:h:port
  [ "$status" -eq 69 ]
  [[ "$stderr" == *"the port is in use"* ]]
  [[ "$stderr" != *"resuming"* ]]
  [ "${#stderr_lines[@]}" -eq 1 ]
  start_bg ingest ss-buffer serve --listen 127.0.0.1:0
  run --separate-stderr ss-buffer serve --listen "$(addr_of ingest)"
  [ "$status" -eq 69 ]
}

@test "TLS on both gRPC servers and the dashboard, with client certificates when asked" {
  certs "$T"
  echo "tok-$RANDOM" >"$T/token"
  start_bg tls ss-replay serve --listen 127.0.0.1:0 --store-key ss:h:tls --token-file "$T/token" \
    --tls-cert "$T/srv.pem" --tls-key "$T/srv.key" --http 0
  port=$(addr_of tls | sed 's/.*://')
  ss_wait_for grep -q "dashboard on https://" "$T/tls.err"
  url=$(sed -n 's/.*dashboard on https:\/\/127.0.0.1/https:\/\/localhost/p' "$T/tls.err")
  # gRPC: the CA makes it work; without TLS or without the CA it does not.
  run -0 ss-replay jobs -s "localhost:$port" --token-file "$T/token" --tls-ca "$T/ca.pem"
  run -69 ss-replay jobs -s "localhost:$port" --token-file "$T/token"
  # The dashboard over HTTPS: the API answers, and the session cookie is Secure.
  [ "$(curl -sS --cacert "$T/ca.pem" -o /dev/null -w '%{http_code}' -H "Authorization: Bearer $(cat "$T/token")" \
    "$url/api/jobs")" = 200 ]
  curl -sS --cacert "$T/ca.pem" -D "$T/login.h" -o /dev/null --data-urlencode "token=$(cat "$T/token")" "$url/login"
  grep -qi '^set-cookie: ss_session=.*; Secure' "$T/login.h"
  run curl -sS -o /dev/null "http://localhost:${url##*:}/api/jobs"
  [ "$status" -ne 0 ] # plain HTTP is not spoken there

  # Client certificates required: refused without one, served with one.
  start_bg mtls ss-replay serve --listen 127.0.0.1:0 --store-key ss:h:mtls --tls-cert "$T/srv.pem" \
    --tls-key "$T/srv.key" --tls-ca "$T/ca.pem"
  mport=$(addr_of mtls | sed 's/.*://')
  run -69 ss-replay jobs -s "localhost:$mport" --tls-ca "$T/ca.pem"
  run -0 ss-replay jobs -s "localhost:$mport" --tls-ca "$T/ca.pem" --tls-cert "$T/cli.pem" --tls-key "$T/cli.key"
  run -66 --separate-stderr ss-progress -s "localhost:$mport" --tls-ca "$T/ca.pem" --tls-cert "$T/cli.pem" \
    --tls-key "$T/cli.key" --reconnect 1s no-such-job
  [[ "$stderr" == *"no-such-job"* ]]

  # The Ingestor over TLS, from Python.
  start_bg ingest ss-buffer serve --listen 127.0.0.1:0 --allow-source tls --tls-cert "$T/srv.pem" --tls-key "$T/srv.key"
  cat >"$T/tls.py" <<'PY'
import sys
sys.path.insert(0, sys.argv[4])
import ss_grpc
pb = ss_grpc.load(sys.argv[3])
one, _ = ss_grpc.ingestor(sys.argv[1], open(sys.argv[2], "rb").read())
r = one(pb.ChangeRecord(source=pb.Source(name="tls"), op=1, table="t", columns=[pb.Column(name="id", text="1")]),
        timeout=10)
print("stored", r.stored)
PY
  run /usr/bin/python3 "$T/tls.py" "localhost:$(addr_of ingest | sed 's/.*://')" "$T/ca.pem" "$BATS_FILE_TMPDIR" \
    "$SS_ROOT/tests/helpers"
  [ "$output" = "stored 1" ]
}

@test "a gRPC call without the token is refused on its metadata: its message costs the server nothing" {
  echo "tok-$RANDOM" >"$T/token"
  cat >"$T/big.py" <<'PY'
import sys, grpc
sys.path.insert(0, sys.argv[3])
import ss_grpc
pb = ss_grpc.load(sys.argv[2])
ch = grpc.insecure_channel(sys.argv[1], options=[("grpc.max_send_message_length", -1)])
method, req = sys.argv[4], None
if method == "push":
    call = ch.unary_unary("/shadowstream.v1.Ingestor/PushChange", request_serializer=pb.ChangeRecord.SerializeToString,
                          response_deserializer=pb.PushResponse.FromString)
    req = pb.ChangeRecord(source=pb.Source(name="grpc"), op=1, table="t", columns=[pb.Column(name="id", text="x" * 300_000_000)])
else:
    call = ch.unary_unary("/shadowstream.v1.Replayer/ReplayEvent", request_serializer=pb.ReplayRequest.SerializeToString,
                          response_deserializer=pb.ReplayResponse.FromString)
    req = pb.ReplayRequest(name="x" * 300_000_000)
try:
    call(req, timeout=60)
    print("accepted")
except grpc.RpcError as e:
    print(e.code().name)
PY
  for srv in "ss-buffer serve --listen 127.0.0.1:0" "ss-replay serve --listen 127.0.0.1:0 --store-key ss:h:big"; do
    start_bg big $srv --token-file "$T/token"
    before=$(awk '/VmHWM/ { print $2 }' "/proc/$BG_PID/status")
    what=$([[ $srv == ss-buffer* ]] && echo push || echo job)
    run /usr/bin/python3 "$T/big.py" "$(addr_of big)" "$BATS_FILE_TMPDIR" "$SS_ROOT/tests/helpers" "$what"
    echo "$srv: $output"
    [ "$output" = UNAUTHENTICATED ]
    after=$(awk '/VmHWM/ { print $2 }' "/proc/$BG_PID/status")
    echo "# $srv: peak RSS ${before} KB -> ${after} KB" >&3
    [ $((after - before)) -lt 50000 ]
    kill "$BG_PID"
    wait "$BG_PID" || true
  done
}

@test "the dashboard refuses chunked and oversized bodies before buffering them, and before the token" {
  echo "tok-$RANDOM" >"$T/token"
  ss-replay serve --listen 127.0.0.1:0 --store-key ss:h:body --token-file "$T/token" --http 0 2>"$T/web.err" 3>&- &
  srv=$!
  ss_wait_for grep -q "dashboard on " "$T/web.err"
  url=$(sed -n 's/.*dashboard on //p' "$T/web.err")
  before=$(awk '/VmHWM/ { print $2 }' "/proc/$srv/status")
  # 200 MB sent chunked with no token: refused unread, and the server did not grow by it.
  code=$(head -c 200000000 /dev/zero | curl -sS -o "$T/body" -w '%{http_code}' -X POST -T - \
    -H 'Transfer-Encoding: chunked' -H 'Content-Type: application/json' "$url/api/jobs" || true)
  # The answer is 411; curl may not read it when the server closes while 200 MB are still being sent.
  [[ "$code" = 411 || "$code" = 000 ]]
  [ "$(curl -sS -o /dev/null -w '%{http_code}' -X POST -H 'Transfer-Encoding: chunked' --data-binary '{}' \
    -H 'Content-Type: application/json' "$url/api/jobs")" = 411 ]
  after=$(awk '/VmHWM/ { print $2 }' "/proc/$srv/status")
  echo "# peak RSS ${before} KB -> ${after} KB" >&3
  [ $((after - before)) -lt 20000 ]
  head -c 2000000 /dev/zero >"$T/big"
  [ "$(curl -sS -o /dev/null -w '%{http_code}' -X POST --data-binary @"$T/big" -H 'Content-Type: application/json' \
    "$url/api/jobs")" = 413 ]
  # An ordinary request with a body still works.
  [ "$(curl -sS -o /dev/null -w '%{http_code}' -X POST --data '' -H "Authorization: Bearer $(cat "$T/token")" \
    "$url/logout")" = 200 ]
}

@test "the dashboard bounds a request head before the token: size, and time from first byte to last header" {
  echo "tok-$RANDOM" >"$T/token"
  mport=$(ss_free_port)
  start_bg web ss-replay serve --listen 127.0.0.1:0 --store-key ss:h:head --token-file "$T/token" --http 0 \
    --metrics "127.0.0.1:$mport"
  ss_wait_for grep -q "dashboard on " "$T/web.err"
  url=$(sed -n 's/.*dashboard on //p' "$T/web.err")
  cat >"$T/heads.py" <<'PY'
import socket, sys, threading, time, urllib.error, urllib.parse, urllib.request
u = urllib.parse.urlsplit(sys.argv[1])
host, port = u.hostname, u.port
mode = sys.argv[2]
if mode == "flood":
    # 200 MB of header lines: the server must close the connection long before.
    s = socket.create_connection((host, port))
    s.sendall(b"GET / HTTP/1.1\r\nHost: x\r\n")
    sent = 0
    try:
        while sent < 200_000_000:
            s.sendall(b"X-Pad: " + b"a" * 1000 + b"\r\n")
            sent += 1009
    except OSError:
        pass
    print("closed after", sent // 1_000_000, "MB" if sent < 200_000_000 else "(never)")
elif mode == "slow":
    # More slow clients than workers, each sending a header line every second for ever.
    conns = []
    for _ in range(40):
        c = socket.create_connection((host, port))
        c.sendall(b"GET / HTTP/1.1\r\nHost: x\r\n")
        conns.append(c)
    def drip():
        for _ in range(30):
            for c in conns:
                try:
                    c.sendall(b"X-Slow: 1\r\n")
                except OSError:
                    pass
            time.sleep(1)
    threading.Thread(target=drip, daemon=True).start()
    time.sleep(1.5)
    t0 = time.time()
    code = None
    try:
        urllib.request.urlopen(sys.argv[1] + "/api/jobs", timeout=20)
    except urllib.error.HTTPError as e:
        code = e.code
    print("good client answered", code, "in %.1f s" % (time.time() - t0))
    # The slow ones are closed at their deadline (10 s from accept).
    t0 = time.time()
    closed = 0
    for c in conns:
        c.settimeout(max(0.1, 25 - (time.time() - t0)))
        try:
            while c.recv(4096):
                pass
            closed += 1
        except OSError:
            closed += 1
    print("slow clients closed:", closed, "after %.0f s" % (time.time() - t0))
PY
  before=$(awk '/VmHWM/ { print $2 }' "/proc/$BG_PID/status")
  run /usr/bin/python3 "$T/heads.py" "$url" flood
  echo "$output"
  [[ "$output" == "closed after "*" MB" ]]
  after=$(awk '/VmHWM/ { print $2 }' "/proc/$BG_PID/status")
  echo "# 200 MB of header lines: peak RSS ${before} KB -> ${after} KB" >&3
  [ $((after - before)) -lt 20000 ]
  run /usr/bin/python3 "$T/heads.py" "$url" slow
  echo "# $output" >&3
  [[ "${lines[0]}" =~ ^good\ client\ answered\ 401\ in\ [0-2]\.[0-9]\ s$ ]]
  [[ "${lines[1]}" =~ ^slow\ clients\ closed:\ 40\ after\ ([0-9]+)\ s$ ]]
  [ "${BASH_REMATCH[1]}" -le 15 ]
  # The metrics exporter: a silent connection holds no scrape back.
  maddr="http://127.0.0.1:$mport/metrics"
  /usr/bin/python3 -c 'import socket, sys, time
h, p = sys.argv[1].split("//")[1].split("/")[0].rsplit(":", 1)
socks = [socket.create_connection((h, int(p))) for _ in range(3)]
time.sleep(60)' "$maddr" 3>&- &
  silent=$!
  sleep 0.5  # the silent connections are open (a connect returns at once on loopback)
  start=$(date +%s%N)
  curl -sS --max-time 10 "$maddr" | grep -q '^shadowstream_'
  elapsed_ms=$(( ($(date +%s%N) - start) / 1000000 ))
  kill "$silent"
  echo "# a scrape beside 3 silent connections: ${elapsed_ms} ms" >&3
  [ "$elapsed_ms" -lt 3000 ]
}

@test "no message, log line or API answer carries a password" {
  ss-gen-records -n 1 >"$T/one.ss"
  bad='postgresql://u:pw123@[::1/x'
  run --separate-stderr ss-replay --speed max --to "$bad" <"$T/one.ss"
  [ "$status" -eq 78 ]
  [[ "$stderr" == *"postgresql://u:***@"* ]]
  [[ "$stderr" != *pw123* ]]
  run --separate-stderr ss-capture -d "$bad" --slot x
  [[ "$stderr" != *pw123* ]]
  run --separate-stderr ss-capture -d "host=/nonexistent password=pw123 dbname=x connect_timeout=1" --slot x
  [[ "$stderr" != *pw123* ]]
  echo "tok-$RANDOM" >"$T/token"
  ss-replay serve --listen 127.0.0.1:0 --store-key ss:h:pw --token-file "$T/token" --http 0 --pipeline-dbname "$bad" \
    2>"$T/web.err" 3>&- &
  ss_wait_for grep -q "dashboard on " "$T/web.err"
  url=$(sed -n 's/.*dashboard on //p' "$T/web.err")
  auth=(-H "Authorization: Bearer $(cat "$T/token")" -H 'Content-Type: application/json')
  run curl -sS "${auth[@]}" -X POST --data "{\"target\":\"$bad\"}" "$url/api/jobs"
  [[ "$output" == *'"error"'* ]]
  [[ "$output" != *pw123* ]]
  run curl -sS "${auth[@]}" "$url/api/pipeline"
  [[ "$output" != *pw123* ]]
  [[ "$(cat "$T/web.err")" != *pw123* ]]
}

py() { /usr/bin/python3 "$SS_ROOT/tests/helpers/replay_client.py" "$ADDR" "$BATS_FILE_TMPDIR" "$@"; }
state_of() { py get "$1" | cut -d' ' -f1; }
state_is() { [ "$(state_of "$1")" = "$2" ]; }

@test "a job's target gets the server's credentials only where --allow-target says" {
  ss-gen-records -n 5 >"$T/five.ss"
  # A listener standing in for a host a client names: it must never be connected to.
  python3 -c 'import socket,sys
s=socket.socket(); s.bind(("127.0.0.1",0)); s.listen(8); print(s.getsockname()[1], flush=True)
s.settimeout(30)
try:
    c,_=s.accept(); print("CONNECTED", flush=True)
except Exception: pass' >"$T/listener.out" 3>&- &
  ss_wait_for test -s "$T/listener.out"
  lport=$(head -1 "$T/listener.out")
  start_bg srv ss-replay serve --listen 127.0.0.1:0 --store-key ss:h:tgt --files-dir "$T" \
    --allow-target 'db-*.internal:5432/shadow*' --allow-target '*.trusted'
  ADDR=$(addr_of srv)
  # A wildcard never spans the parts: a dbname holding ":port/db" does not make another host match.
  for target in "host=127.0.0.1 port=$lport dbname=x" "postgresql://127.0.0.1:$lport/x" "hostaddr=127.0.0.1 port=$lport" \
    "host=db-1.internal dbname=other" "host=db-1.internal,127.0.0.1 port=5432 dbname=shadow" \
    "host=127.0.0.1 port=$lport dbname=x.trusted:1/y" "host=127.0.0.1.trusted.evil port=$lport dbname=x" \
    "host=$T/x.trusted port=$lport dbname=x" "host=a.trusted hostaddr=127.0.0.1 port=$lport dbname=x"; do
    run -3 py create source=file:five.ss "target=$target"
    [[ "$output" == "error INVALID_ARGUMENT target "*"is not allowed"* ]] || { echo "$target: $output"; return 1; }
  done
  for target in "dbname=x passfile=/etc/shadow" "service=prod dbname=x" "dbname=x sslkey=/root/key"; do
    run -3 py create source=file:five.ss "target=$target"
    [[ "$output" == "error INVALID_ARGUMENT target may not set "* ]] || { echo "$target: $output"; return 1; }
  done
  ! grep -q CONNECTED "$T/listener.out"
  # Allowed: a pattern's host, and a target that names no host at all (the server's own PGHOST).
  run -0 py create source=file:five.ss "target=host=db-7.internal port=5432 dbname=shadow_a connect_timeout=1"
  run -0 py create source=file:five.ss "target=dbname=anything"
}

@test "file: sources are regular files inside --files-dir, and nothing else" {
  mkdir "$T/files"
  ss-gen-records -n 5 >"$T/files/ok.ss"
  ln -s /etc/passwd "$T/files/link.ss"
  mkfifo "$T/files/fifo.ss"
  start_bg srv ss-replay serve --listen 127.0.0.1:0 --store-key ss:h:files --files-dir "$T/files"
  ADDR=$(addr_of srv)
  for src in /etc/shadow /etc/no-such-file "$T/files/../five.ss" ../etc/passwd link.ss; do
    run -3 py create "source=file:$src"
    [[ "$output" == "error INVALID_ARGUMENT source file:$src is outside --files-dir" ]] || { echo "$src: $output"; return 1; }
  done
  for src in fifo.ss /dev/zero; do
    run -3 py create "source=file:$src"
    [[ "$output" == *"is not a regular file"* || "$output" == *"outside --files-dir"* ]]
  done
  j=$(py create source=file:ok.ss)
  ss_wait_for state_is "$j" done
  j=$(py create "source=file:$T/files/ok.ss")
  ss_wait_for state_is "$j" done
  start_bg nofiles ss-replay serve --listen 127.0.0.1:0 --store-key ss:h:nofiles
  ADDR=$(addr_of nofiles)
  run -3 py create "source=file:$T/files/ok.ss"
  [[ "$output" == *"this server reads no files (start it with --files-dir DIR)"* ]]
}

@test "requests are bounded, the job list is paged, jobs can be deleted and expire" {
  ss-gen-records -n 1 >"$T/one.ss"
  start_bg srv ss-replay serve --listen 127.0.0.1:0 --store-key ss:h:jobs --files-dir "$T"
  srv_pid=$BG_PID
  ADDR=$(addr_of srv)
  run -3 py create source=file:one.ss "name=$(head -c 300 /dev/zero | tr '\0' n)"
  [[ "$output" == *"INVALID_ARGUMENT name is longer than 256 bytes"* ]]
  # Over the server's 1 MiB request limit: refused by gRPC before the call is even looked at.
  run /usr/bin/python3 -c 'import sys, grpc
sys.path.insert(0, sys.argv[3])
import ss_grpc
pb = ss_grpc.load(sys.argv[2])
create = ss_grpc.replayer(sys.argv[1], "ReplayEvent", pb.ReplayRequest, pb.ReplayResponse)
try:
    create(pb.ReplayRequest(source="file:one.ss", name="n" * 2000000), timeout=10)
except grpc.RpcError as e:
    print(e.code().name)' "$ADDR" "$BATS_FILE_TMPDIR" "$SS_ROOT/tests/helpers"
  [ "$output" = RESOURCE_EXHAUSTED ]
  for i in $(seq 1 230); do py create source=file:one.ss "name=$(printf 'job%03d' "$i")$(head -c 200 /dev/zero | tr '\0' x)"; done >"$T/ids"
  [ "$(wc -l <"$T/ids")" -eq 230 ]
  # Pages of 100 through gRPC, newest first, each job once.
  cat >"$T/pages.py" <<'PY'
import sys
sys.path.insert(0, sys.argv[3])
import ss_grpc
pb = ss_grpc.load(sys.argv[2])
ls = ss_grpc.replayer(sys.argv[1], "ListJobs", pb.ListJobsRequest, pb.ListJobsResponse)
token, sizes, names = "", [], []
while True:
    r = ls(pb.ListJobsRequest(page_size=100, page_token=token), timeout=10)
    sizes.append(len(r.jobs)); names += [j.request.name[:6] for j in r.jobs]
    token = r.next_page_token
    if not token: break
print(sizes, len(set(names)), names[0], names[-1])
PY
  run /usr/bin/python3 "$T/pages.py" "$ADDR" "$BATS_FILE_TMPDIR" "$SS_ROOT/tests/helpers"
  [ "$output" = "[100, 100, 30] 230 job230 job001" ]
  run -0 ss-replay jobs -s "$ADDR"
  [ "${#lines[@]}" -eq 230 ]
  # Delete: a finished job goes; a running one must be cancelled first.
  first=$(head -1 "$T/ids")
  ss_wait_for state_is "$first" done
  run -0 ss-replay jobs -s "$ADDR" delete "$first"
  [ "$output" = "$first deleted" ]
  run -66 ss-replay jobs -s "$ADDR" delete "$first"
  ss-gen-records -n 300 --interval 50ms >"$T/slow.ss"
  slow=$(py create source=file:slow.ss speed_factor=1)
  run -64 --separate-stderr ss-replay jobs -s "$ADDR" delete "$slow"
  [[ "$stderr" == *"cancel it before deleting it"* ]]
  run -0 ss-replay jobs -s "$ADDR" cancel "$slow"
  [ "$output" = "$slow cancelled" ]
  # A server with --keep-jobs 2s on the same store: finished jobs older than that go from the list and the store.
  kill -TERM "$srv_pid"
  start_bg keep ss-replay serve --listen 127.0.0.1:0 --store-key ss:h:jobs --files-dir "$T" --keep-jobs 2s
  ADDR=$(addr_of keep)
  ss_wait_for bash -c "[ \$(ss-replay jobs -s '$ADDR' | wc -l) -eq 0 ]"
  [ "$(redis-cli -p "$SS_REDIS_PORT" hlen ss:h:jobs)" -eq 0 ]
}

@test "jobs are bounded per server and per target; what a client named is shown escaped" {
  ss-gen-records -n 200 --interval 50ms >"$T/slow.ss"
  start_bg srv ss-replay serve --listen 127.0.0.1:0 --store-key ss:h:max --files-dir "$T" --max-jobs 3 \
    --max-target-jobs 2 --allow-target '127.0.0.1'
  ADDR=$(addr_of srv)
  # A paced dry run each: they stay running while the bounds are tried.
  for i in 1 2 3; do py create source=file:slow.ss speed_factor=1 >>"$T/ids"; done
  run -3 py create source=file:slow.ss speed_factor=1
  [[ "$output" == "error RESOURCE_EXHAUSTED this server runs 3 jobs, its most (--max-jobs)"* ]]
  run -75 --separate-stderr ss-replay submit -s "$ADDR" --source file:slow.ss --speed 1
  [[ "$stderr" == *"--max-jobs"* ]]
  while read -r id; do ss-replay jobs -s "$ADDR" cancel "$id" >/dev/null; done <"$T/ids"
  # Per target: two jobs into one target (a server that accepts and never answers, so they stay connecting), a
  # third into it refused.
  python3 -c 'import socket, time
s = socket.socket(); s.bind(("127.0.0.1", 0)); s.listen(8); print(s.getsockname()[1], flush=True)
held = []
end = time.time() + 60
s.settimeout(1)
while time.time() < end:
    try:
        held.append(s.accept()[0])
    except OSError:
        pass' >"$T/mute.out" 3>&- &
  ss_wait_for test -s "$T/mute.out"
  tgt="target=host=127.0.0.1 port=$(head -1 "$T/mute.out") dbname=a"
  for i in 1 2; do py create source=file:slow.ss speed_factor=1 "$tgt" >/dev/null; done
  run -3 py create source=file:slow.ss speed_factor=1 "$tgt"
  [[ "$output" == *"RESOURCE_EXHAUSTED"*"--max-target-jobs"* ]]
  # A name with terminal controls: one line, shown escaped.
  name=$'x\e]0;owned\a\r\nabc done'
  run -0 py create source=file:slow.ss speed_factor=1 "name=$name"
  run -0 ss-replay jobs -s "$ADDR"
  echo "$output"
  [[ "$output" != *$'\e'* && "$output" != *$'\a'* && "$output" != *$'\r'* ]]
  [ "$(grep -c 'abc done' <<<"$output")" -eq 1 ]
  [[ "$output" == *'x\x1b]0;owned\x07\r\nabc done'* ]]
}

@test "SIGTERM stops a server promptly while a job counts a large file" {
  ss-gen-records -n 3000000 --tx-size 100 >"$T/big.ss"
  start_bg srv ss-replay serve --listen 127.0.0.1:0 --store-key ss:h:term --files-dir "$T"
  ADDR=$(addr_of srv)
  j=$(py create source=file:big.ss speed_factor=0)
  ss_wait_for state_is "$j" running
  pid=$BG_PID
  kill -TERM "$pid"
  SS_WAIT_TIMEOUT=3 ss_wait_for bash -c "! kill -0 $pid 2>/dev/null"
}

@test "two servers on one job store never run a job twice; one takes over when the other dies" {
  ss-gen-records -n 200 --interval 20ms >"$T/four-seconds.ss"
  start_bg a ss-replay serve --listen 127.0.0.1:0 --store-key ss:h:lease --files-dir "$T" --job-lease 2s
  apid=$BG_PID
  ADDR=$(addr_of a)
  j=$(py create source=file:four-seconds.ss speed_factor=1)
  ss_wait_for state_is "$j" running
  start_bg b ss-replay serve --listen 127.0.0.1:0 --store-key ss:h:lease --files-dir "$T" --job-lease 2s
  grep -q "replay job $j runs on another server" "$T/b.err"
  ! grep -q "resuming replay job $j" "$T/b.err"
  ADDR=$(addr_of b)
  run -3 py pause "$j"
  [[ "$output" == "error FAILED_PRECONDITION job $j runs on another server"* ]]
  # A dies without a word: B takes the job over once the lease lapses, and finishes it exactly once.
  kill -9 "$apid"
  ss_wait_for grep -q "taking over replay job $j" "$T/b.err"
  ss_wait_for state_is "$j" done
  [ "$(py get "$j")" = "done 200 200" ]
}
