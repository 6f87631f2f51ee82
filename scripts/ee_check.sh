#!/usr/bin/env bash
# The collection as an execution environment sees it (called by the build
# stage of scripts/test.sh): scripts/ee_check.sh TARBALL COLLECTIONS_PATH
# - ansible-builder introspect, over the installed tarball, finds exactly the
#   Python and system requirements of meta/execution-environment.yml;
# - ansible-builder create accepts examples/ee/execution-environment.yml with
#   the tarball (the image build itself needs a base image from a registry,
#   which these machines cannot reach: not run here);
# - the Python requirements install into a new, empty venv and import there.
set -euo pipefail
TARBALL=$(readlink -f "$1") COLLECTIONS=$(readlink -f "$2")
ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
WORK="$(mktemp -d "${TMPDIR:-/tmp}/campus-ee.XXXXXX")"
trap 'rm -rf "$WORK"' EXIT
log() { printf 'ee-check: %s\n' "$*"; }

# Requirement lines without comments, sorted (ansible-builder adds "# from collection ...").
reqs() { sed -e 's/#.*//' -e 's/[[:space:]]*$//' "$@" | grep -v '^$' | sort; }

ansible-builder introspect --sanitize --write-pip "$WORK/pip.txt" --write-bindep "$WORK/bindep.txt" "$COLLECTIONS" >/dev/null
for kind in pip:ee-requirements.txt bindep:ee-bindep.txt; do
  found="$(reqs "$WORK/${kind%%:*}.txt")" want="$(reqs "$ROOT/meta/${kind#*:}")"
  [[ "$found" == "$want" ]] || { log "introspect found ${kind%%:*} requirements"$'\n'"$found"$'\n'"but meta/${kind#*:} lists"$'\n'"$want"; exit 1; }
done
log "introspect: $(reqs "$WORK/pip.txt" | paste -sd' ') | $(reqs "$WORK/bindep.txt" | paste -sd' ')"

mkdir "$WORK/ee"
cp "$ROOT/examples/ee/execution-environment.yml" "$TARBALL" "$WORK/ee/"
ansible-builder create -f "$WORK/ee/execution-environment.yml" -c "$WORK/context" >/dev/null
[[ -f "$WORK/context/_build/collections/$(basename "$TARBALL")" ]] && grep -q 'ansible-galaxy collection install' "$WORK/context/Dockerfile" ||
  { log "ansible-builder create made no context with the collection"; exit 1; }
log "create: a build context with $(basename "$TARBALL")"

python3 -m venv "$WORK/venv"
"$WORK/venv/bin/pip" install -q -r "$ROOT/meta/ee-requirements.txt"
# The distribution name is the module name for every requirement listed so far.
"$WORK/venv/bin/python" - "$ROOT/meta/ee-requirements.txt" <<'PY'
import importlib, re, sys
names = [re.split(r"[<>=!~;\[ ]", line.split("#")[0].strip())[0] for line in open(sys.argv[1])]
for name in filter(None, names):
    importlib.import_module(name.replace("-", "_"))
print("ee-check: a new venv installs and imports", " ".join(filter(None, names)))
PY
