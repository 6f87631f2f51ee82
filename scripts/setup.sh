#!/usr/bin/env bash
# Prepare this machine (Debian 12, root) to work on campus.swarm. Idempotent:
# apt only when a package is missing, pip only when requirements.txt changed.
set -euo pipefail

ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
VENV="$ROOT/.venv"
APT_PACKAGES=(python3-venv debootstrap docker.io iptables openssh-client rsync gcc libc6-dev)

log() { printf 'setup: %s\n' "$*"; }

missing=()
for pkg in "${APT_PACKAGES[@]}"; do
  dpkg-query -W -f='${Status}' "$pkg" 2>/dev/null | grep -q 'install ok installed' || missing+=("$pkg")
done
if ((${#missing[@]})); then
  [[ $EUID -eq 0 ]] || { echo "setup: run as root to install: ${missing[*]}" >&2; exit 1; }
  log "apt: installing ${missing[*]}"
  export DEBIAN_FRONTEND=noninteractive NEEDRESTART_SUSPEND=1
  apt-get update -qq
  apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
else
  log "apt: all packages present"
fi

"$ROOT/scripts/venv.sh" setup "$VENV" "$ROOT/requirements.txt"

farm="$ROOT/.cache/collections/ansible_collections/campus"
mkdir -p "$farm"
if [[ "$(readlink "$farm/swarm" 2>/dev/null || true)" != "../../../.." ]]; then
  log "collections: linking campus.swarm"
  rm -rf "$farm/swarm"
  ln -s ../../../.. "$farm/swarm"
fi
log "done (activate with: . $VENV/bin/activate)"
