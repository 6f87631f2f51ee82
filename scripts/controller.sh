#!/usr/bin/env bash
# Run a command on another controller: ansible-core VERSION on Debian 13's
# Python 3.13 (ansible-core 2.20 and newer need Python 3.12 or later; this
# machine's Debian 12 has 3.11):
#   scripts/controller.sh VERSION COMMAND [ARG...]
# VERSION names tests/controller/core-VERSION.txt, the Python packages of that
# controller. The command runs in container campus-controller:trixie
# (lab/images/controller) from the current folder, with the work tree at the
# same path, the engine's socket and this machine's docker client, the host's
# network (the lab nodes' SSH addresses, PyPI), in the venv .cache/controller/core-VERSION (scripts/venv.sh:
# made on first use, installed again when the requirements file changes); HOME is
# .cache/controller/home. Nothing is installed on this machine itself.
set -euo pipefail
ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
[[ $# -ge 2 ]] || { echo "usage: $0 VERSION COMMAND [ARG...]" >&2; exit 2; }
VERSION=$1; shift
REQUIREMENTS="$ROOT/tests/controller/core-$VERSION.txt"
[[ -f "$REQUIREMENTS" ]] || { echo "controller: no $REQUIREMENTS (versions: $(cd "$ROOT/tests/controller" && ls core-*.txt | sed 's/core-//; s/\.txt//' | paste -sd' '))" >&2; exit 2; }
"$ROOT/scripts/ensure-docker.sh" >/dev/null
"$ROOT/lab/images/build.sh" controller >/dev/null
mkdir -p "$ROOT/.cache/controller/home"

# The container trusts what the host trusts: the host's CA bundle in place of its own
# (ansible-test runs pip with an environment of its own, without PIP_CERT).
# NET_ADMIN: the lab's create and destroy set this machine's iptables rules (DOCKER-USER).
exec docker run --rm --init --network host --cap-add NET_ADMIN \
  -v /var/run/docker.sock:/var/run/docker.sock -v "$(command -v docker)":/usr/local/bin/docker:ro \
  -v "$ROOT:$ROOT" -w "$PWD" \
  -v /etc/ssl/certs/ca-certificates.crt:/etc/ssl/certs/ca-certificates.crt:ro \
  -e PIP_CERT=/etc/ssl/certs/ca-certificates.crt -e PIP_DISABLE_PIP_VERSION_CHECK=1 \
  -e HOME="$ROOT/.cache/controller/home" \
  -e VENV="$ROOT/.cache/controller/core-$VERSION" -e REQUIREMENTS="$REQUIREMENTS" -e ROOT="$ROOT" \
  ${ANSIBLE_CONFIG:+-e ANSIBLE_CONFIG="$ANSIBLE_CONFIG"} \
  campus-controller:trixie bash -c '
    set -euo pipefail
    "$ROOT/scripts/venv.sh" controller "$VENV" "$REQUIREMENTS" >&2
    export PATH="$VENV/bin:$PATH"
    exec "$@"' controller "$@"
