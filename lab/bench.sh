#!/usr/bin/env bash
# Benchmark, not a test. For each size N (default: 3 5 10) it creates a fresh
# lab cluster (1 manager if N<3, else 3; the rest workers; the lab's front door
# and the example stack), installs the engine (not timed), then on that same
# cluster times, one after the other, a converge and a no-op re-run of
#   baseline   lab/bench/baseline.yml - a hand-written community.docker playbook
#              (init, joins, labels; nothing else)
#   swarm.yml  playbooks/swarm.yml (plan, swarm role)
#   site.yml   playbooks/site.yml with the example stack (everything)
# leaving the swarm on every node between them (not timed), and prints a table:
# seconds, the ratio of each re-run to the baseline's, task results per host
# (every result of the recap - ok, changed, skipped, failed - divided by the
# number of nodes) and the changes on the re-run. Logs stay in .lab/bench-N/.
# Settings: BENCH_SUITE (bookworm|trixie); BENCH_MITOGEN=1 adds a re-run of
# site.yml with the mitogen strategy (pip-installed into .lab/mitogen for the
# benchmark only, outside the project's venv; the collection does not depend on it).
set -euo pipefail

ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cd "$ROOT"
export PATH="$ROOT/.venv/bin:$PATH" ANSIBLE_NOCOLOR=1 ANSIBLE_FORCE_COLOR=0 ANSIBLE_CONFIG="$ROOT/ansible.cfg"
SUITE="${BENCH_SUITE:-bookworm}"
(($#)) && sizes=("$@") || sizes=(3 5 10)

for n in "${sizes[@]}"; do
  [[ "$n" =~ ^[1-9][0-9]*$ ]] || { echo "bench: size '$n' is not a positive number" >&2; exit 2; }
done
scripts/setup.sh >/dev/null
scripts/ensure-docker.sh >/dev/null
lab/node-image.sh "$SUITE"
lab/images/build.sh nginx demo-web demo-worker rabbitmq >/dev/null
if [[ "${BENCH_MITOGEN:-0}" == 1 ]]; then
  [[ -d .lab/mitogen/ansible_mitogen ]] || pip install -q --target .lab/mitogen mitogen
  MITOGEN_STRATEGY="$ROOT/.lab/mitogen/ansible_mitogen/plugins/strategy"
fi

inv=""
destroy() { [[ -z "$inv" ]] || ansible-playbook -i "$inv" lab/destroy.yml >"${inv%/*}/destroy.log" 2>&1; }
trap destroy EXIT

# Wall seconds of one ansible-playbook run (output to the log file); fails with the run.
timed() { # LOG ARGS...
  local log="$1" t0="$EPOCHREALTIME" rc=0
  shift
  ansible-playbook "$@" >"$log" 2>&1 || rc=$?
  awk -v a="$t0" -v b="$EPOCHREALTIME" 'BEGIN { printf "%.1f\n", b - a }'
  return "$rc"
}
# From a log's recap: "changed results-per-host" (results: every counted status but changed, which ok includes).
recap() { # LOG NODES
  awk -v n="$2" '/^PLAY RECAP/ { r = 1; next }
    r && /: ok=/ { for (i = 1; i <= NF; i++) { split($i, kv, "="); if (kv[1] == "changed") c += kv[2];
                   else if (kv[1] ~ /^(ok|failed|skipped|unreachable|rescued|ignored)$/) t += kv[2] } }
    END { printf "%d %.0f\n", c, t / n }' "$1"
}
leave_swarm() { ansible -i "$inv" swarm -m ansible.builtin.command -a 'docker swarm leave --force' >"${inv%/*}/leave.log" 2>&1 || true; }

rows=() failed=0
declare -A rerun_site
for n in "${sizes[@]}"; do
  managers=$((n < 3 ? 1 : 3))
  dir=".lab/bench-$n" inv=".lab/bench-$n/hosts.yml"
  mkdir -p "$dir"
  python3 lab/inventory.py --prefix campus-bench --network campus-bench --subnet 172.28.50.0/24 \
    --managers "$managers" --workers $((n - managers)) --suite "$SUITE" \
    --state-dir "$ROOT/.lab" --output "$inv"
  echo "bench: $n nodes ($managers managers): creating, installing the engine (not timed)"
  destroy
  ansible-playbook -i "$inv" lab/create.yml >"$dir/create.log" 2>&1 ||
    { echo "bench: node creation failed, see $dir/create.log" >&2; exit 1; }
  ansible-playbook -i "$inv" playbooks/docker.yml >"$dir/engine.log" 2>&1 ||
    { echo "bench: engine installation failed, see $dir/engine.log" >&2; exit 1; }
  base_rerun=""
  for job in baseline swarm site; do
    case $job in
      baseline) play=(lab/bench/baseline.yml) ;;
      swarm) play=(playbooks/swarm.yml) ;;
      site) play=(playbooks/site.yml -e @examples/stack/stack.yml) ;;
    esac
    echo "bench: $n nodes: $job converge and re-run"
    if first="$(timed "$dir/$job-first.log" -i "$inv" "${play[@]}")" && again="$(timed "$dir/$job-rerun.log" -i "$inv" "${play[@]}")"; then
      read -r changed tasks <<<"$(recap "$dir/$job-rerun.log" "$n")"
      [[ $job == baseline ]] && base_rerun=$again
      ratio="$(awk -v a="$again" -v b="$base_rerun" 'BEGIN { printf "%.2f", a / b }')"
      rows+=("$n|$job|$first|$again|$ratio|$tasks|$changed")
      [[ $job == site ]] && rerun_site[$n]=$again
    else
      rows+=("$n|$job|failed|-|-|-|see $dir/$job-*.log") failed=1
    fi
    if [[ $job == site && "${BENCH_MITOGEN:-0}" == 1 ]]; then
      # mitogen opens its own SSH connections and takes host key checking from the
      # configuration only (the lab's nodes get new host keys with each cluster).
      if again="$(ANSIBLE_HOST_KEY_CHECKING=False PYTHONPATH="$ROOT/.lab/mitogen" ANSIBLE_STRATEGY_PLUGINS="$MITOGEN_STRATEGY" ANSIBLE_STRATEGY=mitogen_linear \
                  timed "$dir/site-mitogen.log" -i "$inv" "${play[@]}")"; then
        read -r changed tasks <<<"$(recap "$dir/site-mitogen.log" "$n")"
        rows+=("$n|site (mitogen)|-|$again|$(awk -v a="$again" -v b="$base_rerun" 'BEGIN { printf "%.2f", a / b }')|$tasks|$changed")
      else
        rows+=("$n|site (mitogen)|-|failed|-|-|see $dir/site-mitogen.log")
      fi
    fi
    [[ $job == site ]] || leave_swarm
  done
  destroy
done

printf '\nNo-op re-runs on %s nodes (engine installed; each job from a node set that left the swarm)\n' "$SUITE"
printf '%-5s | %-15s | %-10s | %-8s | %-11s | %-14s | %s\n' nodes job "converge s" "re-run s" "x baseline" "tasks per host" "changed on re-run"
printf -- '------+-----------------+------------+----------+-------------+----------------+------------------\n'
for row in "${rows[@]}"; do
  IFS='|' read -r n job a b r t c <<<"$row"
  printf '%-5s | %-15s | %-10s | %-8s | %-11s | %-14s | %s\n' "$n" "$job" "$a" "$b" "$r" "$t" "$c"
done
small="${sizes[0]}" large="${sizes[-1]}"
if [[ -n "${rerun_site[$small]:-}" && -n "${rerun_site[$large]:-}" && "$small" != "$large" ]]; then
  awk -v a="${rerun_site[$large]}" -v b="${rerun_site[$small]}" -v l="$large" -v s="$small" \
    'BEGIN { printf "site.yml re-run, %s nodes against %s: %.2fx\n", l, s, a / b }'
fi
exit "$failed"
