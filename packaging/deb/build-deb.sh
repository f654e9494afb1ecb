#!/usr/bin/env bash
# build-deb.sh BUILD_DIR OUT_DIR: the shadowstream .deb from what `make` built in BUILD_DIR (nothing is compiled
# here), for `make deb`. Plain dpkg-deb rather than a debian/ source tree: the project builds with its own Makefile,
# and a binary package is what users install. Depends comes from dpkg-shlibdeps, so it names exactly the runtime
# libraries the binaries link.
set -euo pipefail
build=$(cd "$1" && pwd)
mkdir -p "$2"
out=$(cd "$2" && pwd)
root=$(cd "$(dirname "$0")/../.." && pwd)
version=${DEB_VERSION:-0.1.0-1}
arch=$(dpkg --print-architecture)
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
# dpkg-shlibdeps expects the binaries it reads under debian/<package>/ and warns about anything elsewhere.
stage=$work/src/debian/shadowstream
umask 022

tools=(ss-capture ss-buffer ss-archive ss-replay ss-progress ss-cat)
for t in "${tools[@]}" shadowstream; do
  [ -x "$build/bin/$t" ] || { echo "build-deb.sh: $build/bin/$t is missing: run make first" >&2; exit 66; }
done
install -d "$stage/usr/bin" "$stage/usr/share/man/man1" "$stage/usr/share/bash-completion/completions" \
  "$stage/usr/share/zsh/vendor-completions" "$stage/lib/systemd/system" \
  "$stage/usr/share/doc/shadowstream/examples" "$stage/DEBIAN"
for t in "${tools[@]}"; do
  install -m 755 "$build/bin/$t" "$stage/usr/bin/$t"
  strip --strip-unneeded --remove-section=.comment --remove-section=.note "$stage/usr/bin/$t"
done
# Debian's interpreter path, not env's lookup (lintian: a packaged script names its interpreter).
sed '1s|^#!/usr/bin/env bash$|#!/bin/bash|' "$build/bin/shadowstream" >"$stage/usr/bin/shadowstream"
chmod 755 "$stage/usr/bin/shadowstream"

for m in "$root"/man/*.1; do gzip -9nc "$m" >"$stage/usr/share/man/man1/$(basename "$m").gz"; done
install -m 644 "$root"/completions/bash/* "$stage/usr/share/bash-completion/completions/"
install -m 644 "$root"/completions/zsh/_* "$stage/usr/share/zsh/vendor-completions/"
for u in "$root"/examples/systemd/*.service; do
  sed 's|/usr/local/bin/|/usr/bin/|g' "$u" >"$stage/lib/systemd/system/$(basename "$u")"
done
install -m 644 "$root/examples/shadowstream.conf" "$root/examples/grafana-shadowstream.json" \
  "$root/examples/cron.d-shadowstream" "$stage/usr/share/doc/shadowstream/examples/"

cat >"$stage/usr/share/doc/shadowstream/copyright" <<COPYRIGHT
Format: https://www.debian.org/doc/packaging-manuals/copyright-format/1.0/
Upstream-Name: shadowstream

Files: *
Copyright: 2026 The ShadowStream authors
License: Expat

License: Expat
$(sed -n '/^Permission is hereby granted/,$p' "$root/LICENSE" | sed 's/^$/./; s/^/ /')
COPYRIGHT
cat >"$work/changelog" <<CHANGELOG
shadowstream (${version}) unstable; urgency=medium

  * Packaged from the project's own build (make deb).

 -- ShadowStream developers <shadowstream@lists.example.org>  $(date -R -d @"${SOURCE_DATE_EPOCH:-$(git -C "$root" log -1 --format=%ct 2>/dev/null || date +%s)}")
CHANGELOG
gzip -9n <"$work/changelog" >"$stage/usr/share/doc/shadowstream/changelog.Debian.gz"

# Runtime libraries of the binaries, as dpkg-shlibdeps finds them (it wants a debian/control to read).
printf 'Source: shadowstream\n\nPackage: shadowstream\nArchitecture: any\n' >"$work/src/debian/control"
shlibs=$(cd "$work/src" && dpkg-shlibdeps -O "${tools[@]/#/$stage/usr/bin/}" | sed -n 's/^shlibs:Depends=//p')
[ -n "$shlibs" ] || { echo "build-deb.sh: dpkg-shlibdeps found no libraries" >&2; exit 70; }

# Hand-written maintainer scripts (no debhelper here), doing what dh_installsystemd's would for units that are
# shipped but not enabled: the admin enables them once /etc/shadowstream holds a configuration. The [ -d
# /run/systemd/system ] guards keep them harmless in containers and chroots where systemd is not running.
# The units run as the system user shadowstream; the group may exist alone (left by an earlier install).
cat >"$stage/DEBIAN/postinst" <<'POSTINST'
#!/bin/sh
set -e
if [ "$1" = configure ]; then
  if ! getent passwd shadowstream >/dev/null; then
    if getent group shadowstream >/dev/null; then
      adduser --system --ingroup shadowstream --home /nonexistent --no-create-home --quiet shadowstream
    else
      adduser --system --group --home /nonexistent --no-create-home --quiet shadowstream
    fi
  fi
  if [ -d /run/systemd/system ]; then
    systemctl --system daemon-reload >/dev/null || true
    # An upgrade puts the new binaries to work in units that were running (try-restart leaves stopped ones alone).
    if [ -n "$2" ]; then
      deb-systemd-invoke try-restart shadowstream.service shadowstream-replay.service >/dev/null || true
    fi
  fi
fi
POSTINST
# Stopped before their binaries go, rather than left running deleted executables.
cat >"$stage/DEBIAN/prerm" <<'PRERM'
#!/bin/sh
set -e
if [ "$1" = remove ] && [ -d /run/systemd/system ]; then
  deb-systemd-invoke stop shadowstream.service shadowstream-replay.service >/dev/null || true
fi
PRERM
# Purging leaves the user and group: files they own may outlive the package (e.g. in /etc/shadowstream), and a
# recycled uid would inherit them. Debian's usual practice; `deluser --system shadowstream` removes it by hand.
cat >"$stage/DEBIAN/postrm" <<'POSTRM'
#!/bin/sh
set -e
if [ "$1" = remove ] && [ -d /run/systemd/system ]; then
  systemctl --system daemon-reload >/dev/null || true
fi
POSTRM
chmod 755 "$stage/DEBIAN/postinst" "$stage/DEBIAN/prerm" "$stage/DEBIAN/postrm"

size=$(du -sk --exclude=DEBIAN "$stage" | cut -f1)
cat >"$stage/DEBIAN/control" <<CONTROL
Package: shadowstream
Version: ${version}
Architecture: ${arch}
Maintainer: ShadowStream developers <shadowstream@lists.example.org>
Installed-Size: ${size}
Depends: ${shlibs}, adduser
Recommends: postgresql-client, redis-tools
Section: database
Priority: optional
Description: change data capture for PostgreSQL with Redis, Kafka and replay
 ShadowStream streams every change of a PostgreSQL database through logical
 replication (pgoutput), buffers it in Redis Streams for low-latency consumers,
 archives it exactly once to Kafka, and replays any stretch of history into a
 shadow database at a chosen speed.
 .
 The package holds the composable tools (ss-capture, ss-buffer, ss-archive,
 ss-replay, ss-progress, ss-cat), the shadowstream supervisor, their manual
 pages and shell completions, and systemd units for the pipeline and the
 replay server.
CONTROL
(cd "$stage" && find . -type f ! -path './DEBIAN/*' -printf '%P\0' | LC_ALL=C sort -z | xargs -0 md5sum) \
  >"$stage/DEBIAN/md5sums"
chmod 644 "$stage/DEBIAN/control" "$stage/DEBIAN/md5sums"

deb=$out/shadowstream_${version}_${arch}.deb
dpkg-deb --root-owner-group -Zxz --build "$stage" "$deb" >/dev/null
echo "$deb"
