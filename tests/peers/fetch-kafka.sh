#!/usr/bin/env bash
# Fetches Apache Kafka's broker and tools (test peers, never linked into ShadowStream) with Maven into a cache outside
# the source tree: $SS_KAFKA_HOME, by default ~/.cache/shadowstream/kafka-$KAFKA_VERSION/libs. Does nothing when the
# cache is complete. The one pin of the Kafka version used by tests, benchmarks and `make demo KAFKA=apache`.
set -euo pipefail
KAFKA_VERSION=4.4.0
home=${SS_KAFKA_HOME:-$HOME/.cache/shadowstream/kafka-$KAFKA_VERSION}
if [ "${1:-}" = --home ]; then
  echo "$home"
  exit 0
fi
[ -f "$home/complete" ] && exit 0
here=$(cd "$(dirname "$0")" && pwd)
command -v mvn >/dev/null || { echo "fetch-kafka: mvn not found (make deps installs maven)" >&2; exit 69; }
echo "fetching Apache Kafka $KAFKA_VERSION with Maven into $home"
rm -rf "$home/libs"
mkdir -p "$home"
mvn -q -B -Dstyle.color=never -f "$here/kafka/pom.xml" -Dkafka.version="$KAFKA_VERSION" \
  dependency:copy-dependencies -DoutputDirectory="$home/libs" -DincludeScope=runtime
cp "$here/kafka/"*-log4j2.properties "$home/"
echo "$KAFKA_VERSION" >"$home/complete"
