#!/usr/bin/env bash
# Throwaway servers to try the tools by hand, each on a free loopback port in a temp dir (the ones the tests use):
#   eval "$(examples/servers.sh start)"   PostgreSQL 15 (wal_level=logical), redis-server and a Kafka, then prints
#                                         the export lines: PATH with this tree's build/bin (man finds the pages
#                                         make puts in build/share/man), PG*, REDIS_URL, KAFKA_BROKERS, and
#                                         SS_REGISTRY for stopping them
#   examples/servers.sh stop              stops what start started (with the exported SS_REGISTRY)
# KAFKA=mock (default: librdkafka's mock cluster, no JVM, not a real Kafka) or KAFKA=apache (one Apache Kafka node,
# fetched by make deps). Nothing here touches a system-wide server.
set -euo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
case ${1:-} in
start)
  export PATH="$root/build/bin:$root/build/test-bin:$PATH"
  # shellcheck source=../tests/helpers/servers.bash
  source "$root/tests/helpers/servers.bash"
  {
    ss_start_postgres
    ss_start_redis
    case ${KAFKA:-mock} in
    mock) ss_start_kafka_mock ;;
    apache) ss_start_kafka ;;
    *)
      echo "servers.sh: KAFKA is mock or apache, not ${KAFKA}" >&2
      exit 64
      ;;
    esac
  } >&2
  printf 'export %s=%q\n' PATH "$PATH" PGHOST "$PGHOST" PGPORT "$PGPORT" PGUSER "$PGUSER" PGDATABASE "$PGDATABASE" \
    REDIS_URL "$REDIS_URL" KAFKA_BROKERS "$KAFKA_BROKERS" SS_REGISTRY "$SS_REGISTRY"
  # man-db finds build/share/man from build/bin on PATH, unless a MANPATH overrides the search.
  [ -z "${MANPATH:-}" ] || printf 'export MANPATH=%q\n' "$root/build/share/man:$MANPATH"
  echo "# servers up; stop them with: $root/examples/servers.sh stop" >&2
  ;;
stop)
  [ -n "${SS_REGISTRY:-}" ] || {
    echo "servers.sh: SS_REGISTRY is not set (run the export lines start printed first)" >&2
    exit 64
  }
  # shellcheck source=../tests/helpers/servers.bash
  source "$root/tests/helpers/servers.bash"
  ss_stop_all
  echo "# servers stopped" >&2
  ;;
*)
  echo "usage: eval \"\$(examples/servers.sh start)\"   then   examples/servers.sh stop" >&2
  exit 64
  ;;
esac
