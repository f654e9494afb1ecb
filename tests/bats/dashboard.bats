#!/usr/bin/env bats
# ss-replay serve --http: the dashboard's JSON API driven with curl (tokens, sessions, CSRF, validation, the job
# lifecycle), and the page itself in headless Chromium (tests/browser/dashboard.mjs, playwright-core).

load ../helpers/servers

setup_file() {
  ss_start_redis
  ss_start_kafka --topic dasharch:2
}
teardown_file() { ss_stop_all; }
teardown() {
  # The server first, gracefully (SIGTERM is its normal stop), then anything else left running.
  if [ -n "${SRV:-}" ]; then kill -TERM "$SRV" 2>/dev/null && wait "$SRV" 2>/dev/null; fi
  ss_kill_jobs
}
setup() {
  unset SHADOWSTREAM_CONF # the pipeline panel reads one: not the caller's
  T="$BATS_TEST_TMPDIR"
  echo "s3cret-$RANDOM$RANDOM" >"$T/token"
  TOKEN=$(cat "$T/token")
}

# web [ARGS]: ss-replay serve with the dashboard on a free loopback port; sets SRV (pid) and URL.
web() {
  : >"$T/serve.err"
  ss-replay serve --listen 127.0.0.1:0 --http 0 --token-file "$T/token" --store-key "ss:dash:$BATS_TEST_NUMBER" \
    --files-dir "$T" --allow-target '127.0.0.1:*/*' "$@" \
    2>>"$T/serve.err" 3>&- &
  SRV=$!
  ss_wait_for grep -q "dashboard on " "$T/serve.err"
  URL=$(sed -n 's/.*dashboard on //p' "$T/serve.err" | tail -1)
}
# api METHOD PATH [JSON]: the API with the bearer token; prints the body, then the status on its own line.
api() {
  local args=(-sS -X "$1" -H "Authorization: Bearer $TOKEN" -w '\n%{http_code}')
  if [ $# -ge 3 ]; then
    args+=(-H 'Content-Type: application/json' --data "$3")
  elif [ "$1" = POST ]; then
    args+=(--data '') # an empty body still needs its Content-Length
  fi
  curl "${args[@]}" "$URL$2"
}
status_of() { tail -1 <<<"$1"; }
body_of() { sed '$d' <<<"$1"; }
job_state() { api GET "/api/jobs/$1" | sed '$d' | jq -r .job.state; }
job_done() { api GET "/api/jobs/$1" | sed '$d' | jq -r '.job.progress.records_done // 0'; }
state_is() { [ "$(job_state "$1")" = "$2" ]; }
done_above() { [ "$(job_done "$1")" -gt "$2" ]; }

@test "no token, no API: 401 without it or with a wrong one; the page itself loads" {
  web
  curl -s -D "$T/h401" -o /dev/null "$URL/api/jobs"
  head -1 "$T/h401" | grep -q ' 401'
  grep -qi '^www-authenticate: Bearer' "$T/h401"
  [ "$(curl -s -o /dev/null -w '%{http_code}' -H 'Authorization: Bearer wrong' "$URL/api/jobs")" = 401 ]
  [ "$(curl -s -o /dev/null -w '%{http_code}' -X POST -H 'Content-Type: application/json' --data '{}' "$URL/api/jobs")" = 401 ]
  run curl -sS -D "$T/h" "$URL/"
  [[ "$output" == *"<title>ShadowStream replay jobs</title>"* ]]
  grep -qi '^content-security-policy: default-src .self.' "$T/h"
  grep -qi '^x-frame-options: DENY' "$T/h"
  # The token never appears in the server's log.
  ! grep -q "$TOKEN" "$T/serve.err"
}

@test "a dry-run job created over the API runs to the end; list and detail show it with its history" {
  ss-gen-records -n 400 --interval 50ms --tx-size 4 --start-time 2026-11-24T11:00:00Z >"$T/in.ss" # 5 s of history
  web
  out=$(api POST /api/jobs "{\"source\":\"file:$T/in.ss\",\"speed_factor\":2,\"name\":\"first\"}")
  [ "$(status_of "$out")" = 201 ]
  id=$(body_of "$out" | jq -r .id)
  [ "$(body_of "$out" | jq -r .request.name)" = first ]
  ss_wait_for state_is "$id" done
  [ "$(job_done "$id")" -eq 400 ]
  out=$(api GET /api/jobs)
  [ "$(status_of "$out")" = 200 ]
  [ "$(body_of "$out" | jq -r --arg id "$id" '.jobs[] | select(.id == $id) | .state')" = done ]
  # History: records done grew over time and ends at the total.
  hist=$(api GET "/api/jobs/$id" | sed '$d' | jq -c .history)
  [ "$(jq 'length' <<<"$hist")" -ge 2 ]
  [ "$(jq '.[-1][1]' <<<"$hist")" -eq 400 ]
  [ "$(jq '[.[][1]] == ([.[][1]] | sort)' <<<"$hist")" = true ]
}

@test "pause, resume and cancel over the API; refused and unknown ones get 409 and 404" {
  # 30 s of history at 1x, progress published every 64 records (~0.3 s): a pause that did nothing would show.
  ss-gen-records -n 6000 --interval 5ms --tx-size 1 >"$T/slow.ss"
  web
  id=$(api POST /api/jobs "{\"source\":\"file:$T/slow.ss\",\"speed_factor\":1}" | sed '$d' | jq -r .id)
  ss_wait_for done_above "$id" 0
  out=$(api POST "/api/jobs/$id/pause")
  [ "$(status_of "$out")" = 200 ]
  [ "$(body_of "$out" | jq -r .state)" = paused ]
  n=$(job_done "$id")
  sleep 1 # the stretch being measured: a paused job must not move
  [ "$(job_done "$id")" -eq "$n" ]
  [ "$(body_of "$(api POST "/api/jobs/$id/resume")" | jq -r .state)" = running ]
  ss_wait_for done_above "$id" "$n"
  [ "$(body_of "$(api POST "/api/jobs/$id/cancel")" | jq -r .state)" = cancelled ]
  out=$(api POST "/api/jobs/$id/resume")
  [ "$(status_of "$out")" = 409 ]
  [ -n "$(body_of "$out" | jq -r .error)" ]
  out=$(api POST /api/jobs/nosuchjob/pause)
  [ "$(status_of "$out")" = 404 ]
  [[ "$(body_of "$out" | jq -r .error)" == *nosuchjob* ]]
}

@test "a job that fails shows why in its detail" {
  ss-gen-records -n 20 >"$T/in.ss"
  port=$(ss_free_port) # nothing listens there
  web
  id=$(api POST /api/jobs "{\"source\":\"file:$T/in.ss\",\"target\":\"host=127.0.0.1 port=$port dbname=shadow\"}" |
    sed '$d' | jq -r .id)
  ss_wait_for state_is "$id" failed
  err=$(api GET "/api/jobs/$id" | sed '$d' | jq -r .job.error)
  [[ "$err" == *"$port"* || "$err" == *"connect"* ]] || { echo "error: $err"; return 1; }
}

@test "every input is validated server-side with a one-line reason; a password is refused without being echoed" {
  web
  bad() { # JSON, expected text in the error
    out=$(api POST /api/jobs "$1")
    [ "$(status_of "$out")" = 400 ] || { echo "status $(status_of "$out") for $1"; return 1; }
    err=$(body_of "$out" | jq -r .error)
    [ "$(wc -l <<<"$err")" -eq 1 ]
    [[ "$err" == *"$2"* ]] || { echo "got: $err"; return 1; }
  }
  bad '{"start_time":"2026-11-24T12:00:00Z","end_time":"2026-11-24T11:00:00Z"}' "start_time must be before end_time"
  bad '{"speed_factor":-3}' "speed_factor"
  bad '{"start_time":"yesterday"}' "start_time"
  bad '{"colour":"red"}' "colour"
  bad '{"source":"ftp:x"}' "source must be"
  bad '{"name": ' "request"
  bad '{"on_error":"ignore"}' "on_error"
  out=$(api POST /api/jobs '{"target":"host=db password=hunter2 dbname=x"}')
  [ "$(status_of "$out")" = 400 ]
  [[ "$out" != *hunter2* ]]
  ! grep -q hunter2 "$T/serve.err"
  # Not JSON at all.
  [ "$(curl -s -o /dev/null -w '%{http_code}' -H "Authorization: Bearer $TOKEN" --data 'speed=3' "$URL/api/jobs")" = 415 ]
  # Nothing was created by any of them.
  [ "$(api GET /api/jobs | sed '$d' | jq '.jobs | length')" -eq 0 ]
}

@test "login sets an HttpOnly SameSite cookie; changes made with it need the CSRF token and our Origin" {
  web
  [ "$(curl -s -o /dev/null -w '%{http_code}' --data-urlencode "token=nope" "$URL/login")" = 401 ]
  # A token in the URL would land in logs: refused even when right.
  [ "$(curl -s -o /dev/null -w '%{http_code}' --data '' "$URL/login?token=$TOKEN")" = 400 ]
  curl -sS -D "$T/h" -c "$T/jar" --data-urlencode "token=$TOKEN" "$URL/login" >"$T/login.json"
  grep -i '^set-cookie: ss_session=' "$T/h" | grep -i 'HttpOnly' | grep -qi 'SameSite=Strict'
  csrf=$(jq -r .csrf "$T/login.json")
  [ -n "$csrf" ]
  # Reading with the cookie works; the session answers with the same CSRF token.
  [ "$(curl -s -b "$T/jar" "$URL/api/session" | jq -r .csrf)" = "$csrf" ]
  [ "$(curl -s -o /dev/null -w '%{http_code}' -b "$T/jar" "$URL/api/jobs")" = 200 ]
  # A change with the cookie alone (what a cross-site form could send) is refused, as is a foreign Origin.
  : >"$T/empty.ss"
  job="{\"source\":\"file:$T/empty.ss\"}"
  [ "$(curl -s -o /dev/null -w '%{http_code}' -b "$T/jar" -H 'Content-Type: application/json' --data "$job" "$URL/api/jobs")" = 403 ]
  [ "$(curl -s -o /dev/null -w '%{http_code}' -b "$T/jar" -H "X-CSRF-Token: $csrf" -H 'Origin: http://evil.example' \
    -H 'Content-Type: application/json' --data "$job" "$URL/api/jobs")" = 403 ]
  [ "$(curl -s -o /dev/null -w '%{http_code}' -b "$T/jar" -H "X-CSRF-Token: $csrf" -H "Origin: $URL" \
    -H 'Content-Type: application/json' --data "$job" "$URL/api/jobs")" = 201 ]
  # Logged out: the cookie is worthless.
  [ "$(curl -s -o /dev/null -w '%{http_code}' -b "$T/jar" -H "X-CSRF-Token: $csrf" --data '' "$URL/logout")" = 200 ]
  [ "$(curl -s -o /dev/null -w '%{http_code}' -b "$T/jar" "$URL/api/jobs")" = 401 ]
}

@test "--http binds to loopback unless told otherwise, and needs --token-file" {
  web
  [[ "$URL" == http://127.0.0.1:* ]]
  kill -TERM "$SRV"
  wait "$SRV"
  run ss-replay serve --listen 127.0.0.1:0 --http 0 --store-key ss:dash:x
  [ "$status" -eq 64 ]
  [[ "$output" == *"--http needs --token-file"* ]]
  run ss-replay serve --listen 127.0.0.1:0 --http 127.0.0.1:notaport --token-file "$T/token"
  [ "$status" -eq 64 ]
}

@test "the pipeline panel's API reports the Kafka group lag and the Redis stream" {
  ss-gen-records -n 50 | ss-archive --topic dasharch
  redis-cli -u "$REDIS_URL" XADD dash:stream '*' f v >/dev/null
  web --pipeline-stream dash:stream --pipeline-topic dasharch --pipeline-group backup-group -X topic.metadata.refresh.interval.ms=1000
  # Sampled in the background: the first sample arrives shortly after the start.
  ss_wait_for bash -c "curl -s -H 'Authorization: Bearer $TOKEN' $URL/api/pipeline | jq -e '.redis.length == 1'"
  out=$(api GET /api/pipeline)
  [ "$(status_of "$out")" = 200 ]
  [ "$(body_of "$out" | jq -r '.kafka.groups[0].name')" = backup-group ]
  # No offsets yet: its lag is the whole topic, 50 records (and, on a real broker, the commit markers after them).
  body_of "$out" | jq -e '.kafka.groups[0].lag >= 50 and .kafka.groups[0].lag <= 60'
}

@test "in Chromium: log in, create a job and watch it reach 100%, pause, resume and cancel another" {
  [ -x /usr/bin/chromium ] || { echo "chromium is not installed (make deps)" >&2; return 1; }
  [ -d "$SS_ROOT/tests/browser/node_modules/playwright-core" ] || { echo "run make deps (npm ci in tests/browser)" >&2; return 1; }
  ss-gen-records -n 300 --interval 10ms --tx-size 3 --start-time 2026-11-24T11:00:00Z >"$T/quick.ss"
  ss-gen-records -n 3000 --interval 20ms --tx-size 1 --start-time 2026-11-24T12:00:00Z >"$T/slow.ss"
  web
  # The screenshots stay after the run, for a person to look at: build/screenshots/.
  local shots="$SS_ROOT/build/screenshots"
  mkdir -p "$shots"
  rm -f "$shots"/*.png
  URL="$URL" TOKEN="$TOKEN" QUICK="file:$T/quick.ss" SLOW="file:$T/slow.ss" SHOTS="$shots" \
    node "$SS_ROOT/tests/browser/dashboard.mjs"
  for s in login jobs-done paused cancelled phone dashboard-1280x900 dashboard-390; do [ -s "$shots/$s.png" ]; done
  # What the browser did, as the server sees it.
  api GET /api/jobs | sed '$d' | jq -r '.jobs[] | "\(.request.name) \(.state)"' | sort >"$T/states"
  printf '%s\n' "based failed" "broken failed" "broken failed" "careful done" "four done" "one done" "quick done" "slow cancelled" \
    "three done" "two done" | diff - "$T/states"
  # The form's choices reached the server as the request's fields.
  [ "$(api GET /api/jobs | sed '$d' | jq -r '.jobs[] | select(.request.name == "careful") | .request | "\(.on_error) \(.create_tables) \(.no_base)"')" = "skip true true" ]
  [ "$(api GET /api/jobs | sed '$d' | jq -r '.jobs[] | select(.request.name == "based") | .request | "\(.rebuild) \(.source)"')" = "true kafka:shadowstream.archive" ]
}
