#!/usr/bin/env bats
# The README's shell lines, run as a reader types them (HOME, the working directory and the servers are this test's
# own; the README's two fixed ports become free ones, its rebuild's instant is now). A line that follows something
# live must still be running when it is stopped; every other line must succeed, every stage of it.

load ../helpers/servers

setup_file() {
  ss_start_postgres
  ss_start_redis
  ss_start_kafka
}
teardown_file() { ss_stop_all; }
# What the lines left running, also when one failed: the servers started with &, the workload, the supervisor.
teardown() {
  [ -s "$BATS_TEST_TMPDIR/pids" ] && kill $(cat "$BATS_TEST_TMPDIR/pids") 2>/dev/null
  STATE_DIR="$BATS_TEST_TMPDIR/state" shadowstream down >/dev/null 2>&1 || true
}

# One logical command per line: the ```sh blocks, continued lines joined, comments dropped.
readme_commands() {
  awk '
    /^```sh$/ { inblock = 1; next }
    /^```/ { inblock = 0; next }
    inblock {
      line = $0
      sub(/^[ \t]+/, "", line)
      if (line ~ /^#/ || line == "") next
      sub(/[ \t]+#[ \t].*$/, "", line)
      cmd = cmd (cmd == "" ? "" : " ") line
      if (cmd ~ /\\$/) { sub(/\\$/, "", cmd); next }
      if (cmd ~ /\|$/) next
      print cmd
      cmd = ""
    }' "$SS_ROOT/README.md"
}

# Lines that follow a live source until stopped.
follows() {
  case $1 in
  "ss-capture --slot shadow | "* | *"--ack-from ack | ss-archive --ack ack" | *"ss-capture --ack-from acks | "* | \
    "ss-progress pipeline" | "shadowstream logs --follow") return 0 ;;
  esac
  return 1
}

@test "every shell line of the README runs as written" {
  T="$BATS_TEST_TMPDIR"
  export HOME="$T/home" STATE_DIR="$T/state"
  unset SHADOWSTREAM_CONF
  mkdir -p "$HOME" "$T/cwd"
  cd "$T/cwd"
  psql -XAtq -c "create table orders (id int primary key, total numeric)" \
    -c "create role shadow login" -c "create database shop owner shadow" \
    -c "create database rebuild" -c "create database shadow" -c "create database shadow_check"
  local grpc http cmd n=0
  set -o pipefail # a stage that fails inside a pipeline fails its line
  grpc=$(ss_free_port)
  http=$(ss_free_port)
  (while sleep 0.2; do psql -XAtq -c "insert into orders values ((random() * 1e9)::int, 1) on conflict do nothing"; done) 3>&- &
  echo $! >>"$T/pids"
  while IFS= read -r cmd; do
    case $cmd in make\ *) continue ;; esac # the set-up lines are what runs this test
    cmd=${cmd//127.0.0.1:50053/127.0.0.1:$grpc}
    cmd=${cmd//--http 8000/--http $http}
    # The README's rebuild names an instant of its own; this archive began a minute ago.
    [[ $cmd =~ --as-of\ 20[^\ ]+ ]] && cmd=${cmd/${BASH_REMATCH[0]}/--as-of now}
    # Its time travel names yesterday's 11:00-12:00: here, the first half and the second half of what this archive
    # holds, so that both the base and the window have changes in them.
    if [[ $cmd == *"'yesterday 11:00'"* && -z ${t1:-} ]]; then
      ss-archive read | ss-cat | jq -r '.commit_time' | sort >"$T/times"
      t1=$(sed -n "$(($(wc -l <"$T/times") / 2 + 1))p" "$T/times")
      t2=$(date -u -d "@$(($(date -u -d "$(tail -1 "$T/times")" +%s) + 1))" +%Y-%m-%dT%H:%M:%SZ)
    fi
    cmd=${cmd//"'yesterday 11:00'"/$t1}
    cmd=${cmd//"'yesterday 12:00'"/$t2}
    n=$((n + 1))
    echo "\$ $cmd" >>"$T/transcript"
    if [[ $cmd == *"&" ]]; then
      eval "$cmd" 3>&- >>"$T/transcript" 2>&1
      echo $! >>"$T/pids"
      # Each server must be the line's own, up and answering (not another one on its port).
      local pid=$!
      if [[ $cmd == "ss-replay serve &" ]]; then
        ss_wait_for bash -c "kill -0 $pid && exec 5<>/dev/tcp/127.0.0.1/50052"
      else
        ss_wait_for bash -c "kill -0 $pid && curl -sf http://127.0.0.1:$http/ >/dev/null"
      fi
    elif follows "$cmd"; then
      run timeout -k 5 8 bash -c "$cmd"
      echo "$output" >>"$T/transcript"
      [ "$status" = 124 ] || { cat "$T/transcript"; echo "line $n ended with status $status: $cmd"; return 1; }
    else
      local rc=0
      # An assignment runs in this shell (later lines use it); any other line is bounded, so a hang fails it.
      if [[ $cmd =~ ^[a-z_]+=\$\( ]]; then
        eval "$cmd" >>"$T/transcript" 2>&1 3>&- || rc=$?
        export "${cmd%%=*}"
      else
        timeout -k 5 300 bash -o pipefail -c "$cmd" >>"$T/transcript" 2>&1 3>&- || rc=$?
      fi
      [ "$rc" = 0 ] || { cat "$T/transcript"; echo "line $n failed with status $rc: $cmd"; return 1; }
    fi
  done < <(readme_commands)
  [ "$n" -ge 18 ] # the README's lines were found
  # The time travel's shadow, built from the base and then the window, is the archive as of the window's end.
  [ -n "${t1:-}" ]
  ss-archive read --as-of "$t2" | ss-replay --speed max --to dbname=shadow_check --create-tables
  sum() { psql -XAtq -d "$1" -c "select count(*) || ' ' || md5(string_agg(id || ':' || total, ',' order by id)) from orders"; }
  [ "$(sum shop)" = "$(sum shadow_check)" ]
  [ "$(sum shop | cut -d' ' -f1)" -gt 0 ]
}
