#!/usr/bin/env bash
# Benchmark, not a test: for each size N (default: 3 5) create a fresh cluster
# of lab nodes (1 manager if N<3, else 3; the rest workers), time the first
# converge of playbooks/site.yml and a re-run, count `changed` in the re-run,
# destroy, and print a table. Logs stay in .lab/bench-N/.
# Settings: BENCH_SUITE (bookworm|trixie), BENCH_PLAYBOOK (playbooks/site.yml).
set -euo pipefail

ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cd "$ROOT"
export PATH="$ROOT/.venv/bin:$PATH" ANSIBLE_NOCOLOR=1 ANSIBLE_FORCE_COLOR=0
SUITE="${BENCH_SUITE:-bookworm}"
PLAYBOOK="${BENCH_PLAYBOOK:-playbooks/site.yml}"
(($#)) && sizes=("$@") || sizes=(3 5)

for n in "${sizes[@]}"; do
  [[ "$n" =~ ^[1-9][0-9]*$ ]] || { echo "bench: size '$n' is not a positive number" >&2; exit 2; }
done
[[ -f "$PLAYBOOK" ]] || { echo "bench: $PLAYBOOK does not exist" >&2; exit 1; }
scripts/setup.sh >/dev/null
scripts/ensure-docker.sh >/dev/null
lab/node-image.sh "$SUITE"

inv=""
destroy() { [[ -z "$inv" ]] || ansible-playbook -i "$inv" lab/destroy.yml >"${inv%/*}/destroy.log" 2>&1; }
trap destroy EXIT

# Wall seconds of one ansible-playbook run; its output goes to the log file.
timed() { # LOG ARGS...
  local log="$1" t0="$EPOCHREALTIME" rc=0
  shift
  ansible-playbook "$@" >"$log" 2>&1 || rc=$?
  awk -v a="$t0" -v b="$EPOCHREALTIME" 'BEGIN { printf "%.1f\n", b - a }'
  return "$rc"
}
changed() { awk '/^PLAY RECAP/ { r = 1; next } r { for (i = 1; i <= NF; i++) if ($i ~ /^changed=/) { sub(/changed=/, "", $i); s += $i } } END { print s + 0 }' "$1"; }

rows=() failed=0
for n in "${sizes[@]}"; do
  managers=$((n < 3 ? 1 : 3))
  dir=".lab/bench-$n" inv=".lab/bench-$n/hosts.yml"
  mkdir -p "$dir"
  python3 lab/inventory.py --prefix campus-bench --network campus-bench --subnet 172.28.40.0/24 \
    --managers "$managers" --workers $((n - managers)) --suite "$SUITE" \
    --state-dir "$ROOT/.lab" --output "$inv"
  echo "bench: $n nodes ($managers managers): creating"
  destroy
  ansible-playbook -i "$inv" lab/create.yml >"$dir/create.log" 2>&1 ||
    { echo "bench: node creation failed, see $dir/create.log" >&2; exit 1; }
  echo "bench: $n nodes: first converge"
  if first="$(timed "$dir/first.log" -i "$inv" "$PLAYBOOK")"; then
    echo "bench: $n nodes: re-run"
    if rerun="$(timed "$dir/rerun.log" -i "$inv" "$PLAYBOOK")"; then
      rows+=("$n|$first|$rerun|$(changed "$dir/rerun.log")")
    else
      rows+=("$n|$first|$rerun (failed)|see $dir/rerun.log") failed=1
    fi
  else
    rows+=("$n|$first (failed)|-|see $dir/first.log") failed=1
  fi
  destroy
done

printf '\n%s on %s nodes\n%-5s | %-17s | %-8s | %s\n' "$PLAYBOOK" "$SUITE" nodes "first converge s" "re-run s" "changed on re-run"
printf -- '------+-------------------+----------+------------------\n'
for row in "${rows[@]}"; do
  IFS='|' read -r n a b c <<<"$row"
  printf '%-5s | %-17s | %-8s | %s\n' "$n" "$a" "$b" "$c"
done
exit "$failed"
