#!/usr/bin/env bash
# Build .lab/probe/probe.tar: a rootfs holding only /probe (static), for
#   docker import -c 'ENTRYPOINT ["/probe"]' -c 'CMD ["sleep"]' probe.tar campus-probe:1
# on engines that cannot pull images. Rebuilt only when probe.c or this script changes.
set -euo pipefail

HERE="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
OUT="$HERE/../../.lab/probe"
mkdir -p "$OUT"
OUT="$(cd "$OUT" && pwd)"
want="$(cat "$HERE/probe.c" "${BASH_SOURCE[0]}" | sha256sum | cut -d' ' -f1)"
if [[ -f "$OUT/probe.tar" && "$(cat "$OUT/probe.sha256" 2>/dev/null || true)" == "$want" ]]; then
  echo "probe: $OUT/probe.tar is up to date"
  exit 0
fi
root="$(mktemp -d)"
trap 'rm -rf "$root"' EXIT
# Static glibc warns that getaddrinfo wants NSS libraries at runtime; glibc 2.34+
# has files+dns built in, so names resolve with /etc/hosts and resolv.conf only.
log="$(gcc -static -Os -s -Wall -Wextra -Werror -o "$root/probe" "$HERE/probe.c" 2>&1)" || { echo "$log" >&2; exit 1; }
grep -v -e 'in function' -e 'statically linked applications' <<<"$log" >&2 || true
tar --numeric-owner --owner=0 --group=0 --mtime=@0 -C "$root" -cf "$OUT/probe.tar.tmp" probe
mv "$OUT/probe.tar.tmp" "$OUT/probe.tar"
echo "$want" >"$OUT/probe.sha256"
echo "probe: built $OUT/probe.tar ($(stat -c %s "$OUT/probe.tar") bytes)"
