#!/usr/bin/env bash
# A newer engine release, for the upgrade test: these machines reach only
# Debian's docker.io. Debian's docker.io package with its version raised
# (VERSION+campus1: same files, so the engine binary is the same release) in a
# flat apt repository that apt on the nodes takes as a newer version.
#   lab/engine-repo.sh DIR      writes DIR/docker.io_*.deb and DIR/Packages,
#                               prints the new version
set -euo pipefail
out=${1:?usage: lab/engine-repo.sh DIR}
mkdir -p "$out"
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
(cd "$work" && apt-get -q -o APT::Sandbox::User=root download docker.io >/dev/null)
deb=$(ls "$work"/docker.io_*.deb)
dpkg-deb -R "$deb" "$work/root"
version="$(dpkg-deb -f "$deb" Version)+campus1"
arch=$(dpkg-deb -f "$deb" Architecture)
sed -i "s/^Version: .*/Version: $version/" "$work/root/DEBIAN/control"
name="docker.io_${version//:/%3a}_$arch.deb"
rm -f "$out"/docker.io_*.deb
dpkg-deb -b -Zgzip -z1 "$work/root" "$out/$name" >/dev/null
{
  dpkg-deb -f "$out/$name"
  echo "Filename: ./$name"
  echo "Size: $(stat -c %s "$out/$name")"
  echo "SHA256: $(sha256sum "$out/$name" | cut -d' ' -f1)"
  echo
} > "$out/Packages"
echo "$version"
