#!/usr/bin/env bats
# House rules that are cheap to check mechanically: every tool has a man page and bash + zsh completions, and every
# long flag its --help shows is in all three; the C++ sources are clang-formatted.

load ../helpers/servers

tools() {
  local t
  for t in "$SS_ROOT"/build/bin/ss-* "$SS_ROOT"/build/bin/shadowstream; do
    [ -x "$t" ] && basename "$t"
  done
}

# Long flags and subcommands named in a tool's help (all subcommands' help included).
help_flags() {
  local tool=$1 sub
  {
    "$tool" --help
    for sub in $("$tool" --help 2>/dev/null | awk '/^Subcommands:/{f=1;next} f&&/^ +[a-z]/{print $1} f&&/^$/{f=0}'); do
      "$tool" "$sub" --help
    done
  } 2>/dev/null | grep -oE -- '--[a-z][a-z0-9-]+' | sort -u
}

@test "there are tools to check" {
  [ -n "$(tools)" ]
}

@test "every tool has a man page and bash and zsh completions" {
  for t in $(tools); do
    [ -f "$SS_ROOT/man/$t.1" ] || { echo "no man/$t.1"; return 1; }
    [ -f "$SS_ROOT/completions/bash/$t" ] || { echo "no completions/bash/$t"; return 1; }
    [ -f "$SS_ROOT/completions/zsh/_$t" ] || { echo "no completions/zsh/_$t"; return 1; }
  done
}

@test "every long flag in --help is in the man page and both completions" {
  for t in $(tools); do
    man=$(sed 's/\\//g' "$SS_ROOT/man/$t.1")
    for f in $(help_flags "$t"); do
      [ "$f" = --help ] && continue
      grep -qF -- "$f" <<<"$man" || { echo "$t: $f missing from man/$t.1"; return 1; }
      grep -qF -- "$f" "$SS_ROOT/completions/bash/$t" || { echo "$t: $f missing from bash completion"; return 1; }
      grep -qF -- "$f" "$SS_ROOT/completions/zsh/_$t" || { echo "$t: $f missing from zsh completion"; return 1; }
    done
  done
}

@test "man pages render without warnings" {
  for t in $(tools); do
    run bash -c "MANWIDTH=100 man --warnings -l '$SS_ROOT/man/$t.1' 2>&1 >/dev/null"
    [ -z "$output" ] || { echo "$t: $output"; return 1; }
  done
}

@test "C++ sources are clang-formatted" {
  cd "$SS_ROOT"
  run make -s check-format
  [ "$status" -eq 0 ]
}

@test "a mistyped flag or subcommand is exit 64 with one line naming the nearest real one" {
  run -64 --separate-stderr ss-capture --slto x
  [ "$stderr" = "ss-capture: unknown flag --slto; did you mean --slot? (see --help)" ]
  run -64 --separate-stderr ss-archive read --sinse=2026-11-20T10:00Z
  [ "$stderr" = "ss-archive: unknown flag --sinse; did you mean --since? (see --help)" ]
  run -64 --separate-stderr ss-archive reed
  [ "$stderr" = "ss-archive: unknown command reed; did you mean read? (see --help)" ]
  run -64 --separate-stderr ss-archive raed
  [ "$stderr" = "ss-archive: unknown command raed; did you mean read? (see --help)" ]
  # --version after a subcommand is the tool's version, not an unknown flag.
  version=$(sed -n 's/.*kVersion = "\(.*\)";/\1/p' "$SS_ROOT/lib/core/defaults.h")
  [ "$(ss-replay serve --version)" = "ss-replay $version" ]
  [ "$(ss-archive read -V)" = "ss-archive $version" ]
  # A typo taken for a job id is still named as the typo it is.
  run -64 --separate-stderr ss-progress pipline --once
  [ "$stderr" = "ss-progress: unknown command pipline; did you mean pipeline? (see --help)" ]
  # Nothing near, or too short to guess from: the flag alone. A flag's value is not taken for a subcommand.
  run -64 --separate-stderr ss-buffer --zzzzzz
  [ "$stderr" = "ss-buffer: unknown flag --zzzzzz (see --help)" ]
  run -64 --separate-stderr ss-archive -x
  [ "$stderr" = "ss-archive: unknown flag -x (see --help)" ]
  run -64 --separate-stderr ss-archive --topic reed --lingr 5ms
  [ "$stderr" = "ss-archive: unknown flag --lingr; did you mean --linger? (see --help)" ]
  # -v is taken after a subcommand too.
  run -64 --separate-stderr ss-archive read -v --since 2026-11-20T11:00Z --until 2026-11-20T10:00Z
  [[ "$stderr" == *"the window is empty" ]]
}

@test "the source PostgreSQL has one name in every tool: --dbname (the panel's --pipeline-dbname); the old names parse" {
  local t names
  # Every PostgreSQL connection flag any tool's help shows: the source's --dbname, and ss-replay's --to (the target).
  names=$(for t in $(tools); do help_flags "$t"; done | grep -E -- '-(pg|dbname|conninfo|postgres)' | sort -u | xargs)
  [ "$names" = "--dbname --pipeline-dbname" ]
  run -0 ss-capture --help
  [[ "$output" == *"-d,--dbname"* ]]
  run -0 ss-progress pipeline --help
  [[ "$output" == *"-d,--dbname"* ]]
  # The earlier names still parse (scripts written against them keep working), and reach the same setting.
  run -0 --separate-stderr env -u REDIS_URL -u KAFKA_BROKERS ss-progress pipeline --once --json --pg "host=/nonexistent"
  [[ "$(jq -r .postgres.error <<<"$output")" == *'"/nonexistent/.s.PGSQL.'* ]]
  run -0 --separate-stderr env -u REDIS_URL -u KAFKA_BROKERS ss-progress pipeline --once --json -d "host=/nonexistent"
  [[ "$(jq -r .postgres.error <<<"$output")" == *'"/nonexistent/.s.PGSQL.'* ]]
}

@test "--since at or after --until is a usage error in every tool, before any server is reached" {
  for cmd in "ss-archive read" "ss-buffer read" "ss-replay"; do
    run -64 --separate-stderr $cmd --since 2026-11-20T11:00Z --until 2026-11-20T10:00Z
    [ "$stderr" = "${cmd%% *}: --since 2026-11-20T11:00:00.000000Z is not before --until 2026-11-20T10:00:00.000000Z: the window is empty" ]
  done
  run -64 --separate-stderr ss-archive read --since "today 1: 5"
  run -64 --separate-stderr ss-archive read --since -99999999999h
  run -64 --separate-stderr ss-archive read --since "last tuesday"
  [[ "$stderr" == *"now, -1h, 7:23 (today) or 'yesterday 11:00', got \"last tuesday\""* ]]
  # A time of day takes a one-digit hour, alone (today) or after a day word.
  run -64 --separate-stderr ss-archive read --since 7:23 --until "today 7:22:59"
  [[ "$stderr" == *"is not before --until"*"the window is empty" ]]
  run -64 --separate-stderr ss-archive read --since "yesterday 7:23" --until "yesterday 07:23"
  [[ "$stderr" == *"the window is empty" ]]
  run -64 --separate-stderr ss-archive read --since "today 24:00"
  [[ "$stderr" == *"takes a time like"* ]]
}

@test "make deps installs nodejs and npm from Debian when no npm is on the PATH" {
  # A PATH with make and a shell but no npm; apt-get and dpkg-query stand in for the package manager (every other
  # package reads as installed) and record what they were asked.
  T="$BATS_TEST_TMPDIR"
  mkdir -p "$T/bin"
  for c in make sh bash grep id cat cut sha1sum dirname; do ln -s "$(command -v "$c")" "$T/bin/$c"; done
  printf '#!/bin/sh\necho "install ok installed"\n' >"$T/bin/dpkg-query"
  printf '#!/bin/sh\necho "apt-get $*" >>"%s/apt.log"\n' "$T" >"$T/bin/apt-get"
  printf '#!/bin/sh\n"$@"\n' >"$T/bin/sudo"
  chmod +x "$T/bin/"*
  [ -d "$SS_ROOT/tests/browser/node_modules/playwright-core" ] # so deps has no npm ci to run
  PATH="$T/bin" run -0 make -s -C "$SS_ROOT" deps
  [[ "$output" == *"installing: nodejs npm"* ]]
  grep -q -- "install -y -qq --no-install-recommends nodejs npm" "$T/apt.log"
  # With npm on the PATH (the stubs still first) nothing is installed.
  rm "$T/apt.log"
  command -v npm
  PATH="$T/bin:$PATH" run -0 make -s -C "$SS_ROOT" deps
  [ ! -e "$T/apt.log" ]
}
