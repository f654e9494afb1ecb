#!/usr/bin/env bats
# The shadowstream supervisor's command line and configuration file (the pipeline itself is proven in
# e2e-exactly-once.bats).

load ../helpers/servers

setup() {
  T="$BATS_TEST_TMPDIR"
  export STATE_DIR="$T/state"
  unset SHADOWSTREAM_CONF
}

@test "usage errors and unknown commands are exit 64 with one line" {
  run -64 --separate-stderr shadowstream
  run -64 --separate-stderr shadowstream launch
  [ "$stderr" = "shadowstream: unknown command launch (up, down, restart, status, logs, drain, checkpoint, recover, remove)" ]
  run -64 --separate-stderr shadowstream --bogus status
  run -0 shadowstream --version
  [ "$output" = "shadowstream 0.1.0" ]
}

@test "the configuration file is data: bad lines and unknown keys are refused with their line number" {
  printf '%s\n' '# comment' '' 'SLOT=s1' 'rm -rf /' >"$T/bad.conf"
  run -78 --separate-stderr shadowstream --config "$T/bad.conf" status
  [ "$stderr" = "shadowstream: $T/bad.conf:4: expected KEY=value, got: rm -rf /" ]
  printf '%s\n' 'SLOTT=s1' >"$T/typo.conf"
  run -78 --separate-stderr shadowstream -c "$T/typo.conf" status
  [[ "$stderr" == *"typo.conf:1: unknown key SLOTT"* ]]
  run -66 --separate-stderr shadowstream -c "$T/missing.conf" status
  printf '%s\n' 'BACKOFF_MAX=soon' >"$T/nan.conf"
  run -78 --separate-stderr shadowstream -c "$T/nan.conf" status
}

@test "a value with \$(...) is taken literally, and the environment wins over the file" {
  printf '%s\n' "STATE_DIR=\"$T/\$(touch $T/pwned)\"" >"$T/lit.conf"
  unset STATE_DIR
  run -3 shadowstream -c "$T/lit.conf" status
  [ ! -e "$T/pwned" ]
  printf '%s\n' "STATE_DIR=$T/from-file" >"$T/env.conf"
  STATE_DIR="$T/from-env" run -0 shadowstream -c "$T/env.conf" down
  [ "$output" = "shadowstream is not running" ]
}

@test "status when down is exit 3; logs before any run is exit 66" {
  run -3 shadowstream status
  [[ "${lines[0]}" == "supervisor  not running" ]]
  run -66 --separate-stderr shadowstream logs
  run -64 --separate-stderr shadowstream logs nosuchstage
}
