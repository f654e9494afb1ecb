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
