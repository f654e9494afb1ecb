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

# best_secs N CMD...: the fewest wall-clock seconds of N runs of CMD. Used where one run of a peer swings two- or
# threefold on this shared 2-core machine (a fetch that waits on the broker), for both sides alike.
best_secs() {
  local n=$1 best='' t
  shift
  for ((i = 0; i < n; i++)); do
    t=$(secs "$@")
    best=$(awk -v a="$best" -v b="$t" 'BEGIN{print (a == "" || b < a) ? b : a}')
  done
  echo "$best"
}

# ratio A B: A/B to two decimals.
ratio() { awk -v a="$1" -v b="$2" 'BEGIN{printf "%.2f", a/b}'; }

# bench_kafka ARGS...: the broker a Kafka benchmark runs against, with ss_start_kafka's --partitions/--topic
# arguments: Apache Kafka, one KRaft node (BENCH_KAFKA=apache, the default), or librdkafka's in-memory mock cluster
# (BENCH_KAFKA=mock; bench/run runs each Kafka benchmark on both, for comparison). KAFKA_KIND names it in the rows.
bench_kafka() {
  KAFKA_KIND=${BENCH_KAFKA:-apache}
  case $KAFKA_KIND in
  apache) ss_start_kafka "$@" >&2 ;;
  mock) ss_start_kafka_mock "$@" >&2 ;;
  *)
    echo "BENCH_KAFKA is apache or mock, not '$KAFKA_KIND'" >&2
    return 64
    ;;
  esac
}

# Wall-clock µs.
wall_us() { echo $(($(date +%s%N) / 1000)); }

# The supervised pipeline (SOURCE=bench) is idle: its archiver has stored and acknowledged everything in the Redis
# stream. (The group must be there; a nil lag, which Redis gives when it cannot tell, counts by the pending list alone.)
archived_all() {
  redis-cli -u "$REDIS_URL" --raw XINFO GROUPS shadowstream:bench:changes 2>/dev/null |
    awk '$0 == "name" { getline; g = $0; if (g == "archiver") seen = 1 }
         g == "archiver" && ($0 == "pending" || $0 == "lag") { getline; if ($0 != "" && $0 != 0) bad = 1 }
         END { exit !seen || bad }'
}
