# shellcheck shell=bash
# Shared by the bench/*.sh scripts (sourced, not run: bench/run runs only *.sh files that are benchmarks).

# secs CMD...: wall-clock seconds CMD took.
secs() {
  local t0 t1
  t0=$(date +%s.%N)
  "$@"
  t1=$(date +%s.%N)
  awk -v a="$t0" -v b="$t1" 'BEGIN{print b-a}'
}

# ratio A B: A/B to two decimals.
ratio() { awk -v a="$1" -v b="$2" 'BEGIN{printf "%.2f", a/b}'; }
