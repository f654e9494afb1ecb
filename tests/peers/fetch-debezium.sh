#!/usr/bin/env bash
# Fetches Debezium's PostgreSQL connector and its embedded engine (a test and benchmark peer, never linked into
# ShadowStream) with Maven into a cache outside the source tree, $SS_DEBEZIUM_HOME (default
# ~/.cache/shadowstream/debezium-$DEBEZIUM_VERSION), and compiles the runner tests/peers/debezium/DebeziumPeer.java
# there. Does nothing when the cache is complete. The one pin of the Debezium version.
#   fetch-debezium.sh --home   prints the cache directory
#   fetch-debezium.sh --run ARGS...   runs the peer (DebeziumPeer key=value...)
set -euo pipefail
DEBEZIUM_VERSION=3.6.1.Final
home=${SS_DEBEZIUM_HOME:-$HOME/.cache/shadowstream/debezium-$DEBEZIUM_VERSION}
here=$(cd "$(dirname "$0")" && pwd)
case ${1:-} in
--home)
  echo "$home"
  exit 0
  ;;
--run)
  shift
  [ -f "$home/complete" ] || { echo "fetch-debezium: Debezium is not fetched ($home); run make deps" >&2; exit 69; }
  exec java -Xss1m -Dlog4j2.configurationFile="$home/log4j2.properties" -cp "$home/classes:$home/libs/*" DebeziumPeer "$@"
  ;;
esac
# The cache is complete for this version, runner and pom (a changed runner is compiled again).
stamp="$DEBEZIUM_VERSION $(cat "$here/debezium/"* | sha1sum | cut -c1-12)"
[ "$(cat "$home/complete" 2>/dev/null)" = "$stamp" ] && exit 0
command -v mvn >/dev/null || { echo "fetch-debezium: mvn not found (make deps installs maven)" >&2; exit 69; }
command -v javac >/dev/null || { echo "fetch-debezium: javac not found (make deps installs a JDK)" >&2; exit 69; }
echo "fetching Debezium $DEBEZIUM_VERSION with Maven into $home"
rm -rf "$home/libs" "$home/classes"
mkdir -p "$home/classes"
mvn -q -B -Dstyle.color=never -f "$here/debezium/pom.xml" -Ddebezium.version="$DEBEZIUM_VERSION" \
  dependency:copy-dependencies -DoutputDirectory="$home/libs" -DincludeScope=runtime
javac -nowarn -d "$home/classes" -cp "$home/libs/*" "$here/debezium/DebeziumPeer.java"
cp "$here/debezium/log4j2.properties" "$home/"
echo "$stamp" >"$home/complete"
