#!/usr/bin/env bats
# ss-cat end to end: JSON lines <-> frames exactly, and bad input stopped at the last good frame.

load ../helpers/servers

setup() {
  FIX="$SS_ROOT/tests/fixtures/sample.jsonl"
  T="$BATS_TEST_TMPDIR"
  ss-cat -j "$FIX" >"$T/sample.ss"
}

@test "JSON lines -> frames -> JSON lines reproduces the fixture exactly" {
  ss-cat "$T/sample.ss" >"$T/back.jsonl"
  diff "$FIX" "$T/back.jsonl"
  [ "$(wc -l <"$T/back.jsonl")" -eq "$(wc -l <"$FIX")" ]
}

@test "frames -> JSON -> frames is byte-identical" {
  ss-cat "$T/sample.ss" | ss-cat -j >"$T/again.ss"
  cmp "$T/sample.ss" "$T/again.ss"
}

@test "frames are protobuf's standard delimited form (protoc decodes the first one)" {
  # First frame: a varint length (two bytes here), then the message.
  read -r b0 b1 < <(od -An -tu1 -N2 "$T/sample.ss")
  [ "$b0" -ge 128 ] && [ "$b1" -lt 128 ]
  len=$((b0 - 128 + b1 * 128))
  tail -c +3 "$T/sample.ss" | head -c "$len" >"$T/first.bin"
  run protoc --decode=shadowstream.v1.ChangeRecord -I"$SS_ROOT/proto" "$SS_ROOT/proto/shadowstream.proto" <"$T/first.bin"
  [ "$status" -eq 0 ]
  [[ "$output" == *'op: OPERATION_SNAPSHOT'* ]]
  [[ "$output" == *'table: "orders"'* ]]
}

@test "several inputs and stdin are read in order" {
  run bash -c "ss-cat '$T/sample.ss' - '$T/sample.ss' <'$T/sample.ss' | wc -l"
  [ "$output" -eq $((3 * $(wc -l <"$FIX"))) ]
}

@test "a truncated stream: complete frames out, one-line error with the byte offset, exit 65" {
  size=$(stat -c %s "$T/sample.ss")
  for cut in 1 2 100 $((size / 2)) $((size - 1)); do
    head -c "$cut" "$T/sample.ss" >"$T/cut.ss"
    run --separate-stderr ss-cat "$T/cut.ss"
    [ "$status" -eq 65 ]
    [ "$(wc -l <<<"$stderr")" -eq 1 ]
    [[ "$stderr" == "ss-cat: $T/cut.ss: truncated frame"*"at byte offset "* ]]
    # Exactly the frames wholly before the cut were passed on: re-encoding them gives a prefix of the input that
    # ends at the offset the error names.
    offset=${stderr##*byte offset }
    if [ -n "$output" ]; then printf '%s\n' "$output" | ss-cat -j >"$T/good.ss"; else : >"$T/good.ss"; fi
    [ "$(stat -c %s "$T/good.ss")" -eq "$offset" ]
    cmp "$T/good.ss" <(head -c "$offset" "$T/sample.ss")
  done
}

@test "garbage input is exit 65 naming offset 0, with nothing on stdout" {
  printf 'this is not a frame stream at all\n' >"$T/garbage"
  run --separate-stderr ss-cat "$T/garbage"
  [ "$status" -eq 65 ]
  [ -z "$output" ]
  [[ "$stderr" == *"byte offset 0" ]]
}

@test "an oversized frame is refused by --max-frame" {
  run --separate-stderr ss-cat --max-frame 100 "$T/sample.ss"
  [ "$status" -eq 65 ]
  [[ "$stderr" == *"exceeds the limit of 100 bytes at byte offset "* ]]
}

@test "a bad JSON line is exit 65 naming the line; earlier lines were converted" {
  { head -2 "$FIX"; echo '{"commit_lsn":"nope"}'; tail -1 "$FIX"; } >"$T/bad.jsonl"
  run --separate-stderr bash -c "ss-cat -j '$T/bad.jsonl' >'$T/partial.ss'"
  [ "$status" -eq 65 ]
  [[ "$stderr" == "ss-cat: $T/bad.jsonl line 3: field \"commit_lsn\": expected an LSN"* ]]
  [ "$(ss-cat "$T/partial.ss" | wc -l)" -eq 2 ]
}

@test "a missing input file is exit 66" {
  run --separate-stderr ss-cat "$T/does-not-exist"
  [ "$status" -eq 66 ]
  [[ "$stderr" == "ss-cat: cannot open $T/does-not-exist: No such file or directory" ]]
}

@test "a closed stdout ends quietly" {
  for i in $(seq 200); do cat "$T/sample.ss"; done >"$T/many.ss"
  run --separate-stderr bash -c "ss-cat '$T/many.ss' | head -1"
  [ "$status" -eq 0 ]
  [ -z "$stderr" ]
  [ "$(wc -l <<<"$output")" -eq 1 ]
}

@test "usage errors are exit 64 with one line" {
  run --separate-stderr ss-cat --no-such-flag
  [ "$status" -eq 64 ]
  [ "$(wc -l <<<"$stderr")" -eq 1 ]
  run ss-cat --help
  [ "$status" -eq 0 ]
  [[ "$output" == *"--from-json"* ]]
}
