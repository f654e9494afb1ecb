#!/usr/bin/env bats
# make deb: the package holds what a user needs, lintian finds no errors, and it installs and removes cleanly.
# Installing needs root (CI runs as root on a throwaway machine); elsewhere those tests are reported as skipped.

load ../helpers/servers

setup_file() {
  # The build the tests run (PATH starts with its bin/), never an installed copy further along PATH.
  BUILD_DIR=$(dirname "$(dirname "$(command -v ss-capture)")")
  [[ $BUILD_DIR != /usr && $BUILD_DIR != /usr/local ]]
  # Not `$(build-deb.sh | tail -1)`: tail's success would hide a failed build and leave DEB empty.
  "$SS_ROOT/packaging/deb/build-deb.sh" "$BUILD_DIR" "$BATS_FILE_TMPDIR" >"$BATS_FILE_TMPDIR/build-deb.out"
  DEB=$(tail -1 "$BATS_FILE_TMPDIR/build-deb.out")
  export DEB
}

# A package of ours left by a failed test is purged; one that was there before the tests is never touched.
teardown() {
  if [ -n "${INSTALLED_HERE:-}" ]; then dpkg -P shadowstream >/dev/null 2>&1 || true; fi
}

need_root_and_no_package() {
  [ "$(id -u)" = 0 ] || skip "installing a package needs root"
  if dpkg-query -W -f='${Status}' shadowstream 2>/dev/null | grep -q 'install ok'; then
    skip "a shadowstream package is installed already: not replacing it"
  fi
  # dpkg would overwrite (and dpkg -r then delete) files of the same names that no package owns: a make install.
  local f
  for f in $(dpkg-deb --contents "$DEB" | awk '$6 !~ /\/$/ { sub(/^\./, "", $6); print $6 }'); do
    [ ! -e "$f" ] || skip "$f exists already (a make install?): not overwriting it"
  done
}

@test "the package holds the tools, man pages, completions, units and example config, and names its libraries" {
  [ -f "$DEB" ]
  [ "$(dpkg-deb --field "$DEB" Package)" = shadowstream ]
  [ "$(dpkg-deb --field "$DEB" Version)" = 0.1.0-1 ]
  [ "$(dpkg-deb --field "$DEB" Architecture)" = "$(dpkg --print-architecture)" ]
  depends=$(dpkg-deb --field "$DEB" Depends)
  for lib in libpq5 librdkafka1 libhiredis libjemalloc2 libprotobuf libgrpc++ libprometheus-cpp-core adduser; do
    [[ $depends == *"$lib"* ]] || { echo "Depends lacks $lib: $depends"; false; }
  done
  dpkg-deb --contents "$DEB" | awk '{ print $6 }' >"$BATS_TEST_TMPDIR/files"
  for f in usr/bin/ss-capture usr/bin/ss-buffer usr/bin/ss-archive usr/bin/ss-replay usr/bin/ss-progress usr/bin/ss-cat \
    usr/bin/shadowstream usr/share/man/man1/ss-capture.1.gz usr/share/man/man1/shadowstream.1.gz \
    usr/share/bash-completion/completions/ss-replay usr/share/zsh/vendor-completions/_ss-replay \
    lib/systemd/system/shadowstream.service lib/systemd/system/shadowstream-replay.service \
    usr/share/doc/shadowstream/examples/shadowstream.conf usr/share/doc/shadowstream/copyright; do
    grep -qx "./$f" "$BATS_TEST_TMPDIR/files" || { echo "missing $f"; false; }
  done
}

@test "lintian reports no errors" {
  run lintian --allow-root --fail-on error "$DEB"
  echo "$output"
  [ "$status" -eq 0 ]
  ! grep -q '^E:' <<<"$output"
}

@test "dpkg -i installs it: the tools run, man finds the pages, the units name /usr/bin; dpkg -r and -P remove it" {
  need_root_and_no_package
  INSTALLED_HERE=1
  dpkg -i "$DEB"
  [ "$(/usr/bin/ss-cat --version)" = "ss-cat 0.1.0" ]
  /usr/bin/ss-capture --help | grep -q -- '--metrics-file'
  # The system's PATH: with build/bin on it, man finds build/share/man first (as it should for a build tree).
  [ "$(env -u MANPATH PATH=/usr/sbin:/usr/bin:/sbin:/bin man -w ss-capture)" = /usr/share/man/man1/ss-capture.1.gz ]
  env -u MANPATH PATH=/usr/sbin:/usr/bin:/sbin:/bin MANPAGER=cat MANWIDTH=80 man ss-capture 2>/dev/null |
    grep -q 'logical replication'
  grep -qx 'ExecStart=/usr/bin/shadowstream --config /etc/shadowstream/shadowstream.conf up --foreground' \
    /lib/systemd/system/shadowstream.service
  # The units' User=: a system account with its own group.
  [ "$(id -u shadowstream)" -lt 1000 ]
  [ "$(id -gn shadowstream)" = shadowstream ]
  dpkg -r shadowstream
  # One test per line: set -e ignores a failure that is not the last command of an && list.
  [ ! -e /usr/bin/ss-cat ]
  [ ! -e /usr/share/man/man1/ss-capture.1.gz ]
  [ ! -e /lib/systemd/system/shadowstream.service ]
  # Gone, or only its configuration left for -P (dpkg keeps that state for a package with a postrm).
  run dpkg-query -W -f='${Status}' shadowstream
  [ "$status" -ne 0 ] || [ "$output" = "deinstall ok config-files" ]
  dpkg -P shadowstream
  # (`! cmd` would never fail the test: set -e exempts negated commands.)
  run dpkg-query -W -f='${Status}' shadowstream
  [ "$status" -ne 0 ]
  INSTALLED_HERE=
}
