#!/usr/bin/env bash
# Make the venv VENV (python3 -m venv) when it is missing and install
# REQUIREMENTS into it when they changed since its last install (their SHA-256
# is kept in the venv): scripts/venv.sh LABEL VENV REQUIREMENTS
# Used by scripts/setup.sh (the project's .venv) and scripts/controller.sh (a
# controller's venv, inside its container); LABEL starts each line it prints.
set -euo pipefail
LABEL=$1 VENV=$2 REQUIREMENTS=$3
log() { printf '%s: %s\n' "$LABEL" "$*"; }

if [[ ! -x "$VENV/bin/python" ]]; then
  log "venv: creating $VENV"
  python3 -m venv "$VENV"
fi
want="$(sha256sum "$REQUIREMENTS" | cut -d' ' -f1)"
stamp="$VENV/.requirements.sha256"
if [[ "$(cat "$stamp" 2>/dev/null || true)" != "$want" ]]; then
  log "pip: installing $(basename "$REQUIREMENTS")"
  "$VENV/bin/pip" install -q -r "$REQUIREMENTS"
  echo "$want" >"$stamp"
else
  log "pip: requirements unchanged"
fi
