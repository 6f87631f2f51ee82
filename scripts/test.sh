#!/usr/bin/env bash
# The test command (README, .ci/run): installs what it needs, then runs every
# stage and prints one summary line. Stages: unit, lint, sanity, compat, build, molecule.
# Usage: scripts/test.sh [stage ...]   (default: all stages)
set -uo pipefail
cd "$(dirname "$(readlink -f "$0")")/.."
ROOT=$PWD
STAGES=("$@")
# compat runs inside the molecule stage, beside lifecycle (BESIDE below); alone: scripts/test.sh compat.
[ ${#STAGES[@]} -gt 0 ] || STAGES=(unit lint sanity build molecule)

scripts/setup.sh || { echo "setup failed"; exit 1; }
export PATH="$ROOT/.venv/bin:$PATH"
export ANSIBLE_CONFIG="$ROOT/ansible.cfg"

passed=0; failed=0; failed_names=(); failures=()
run_stage() {
  local name=$1; shift
  local start=$SECONDS
  echo "=== stage $name"
  if "$@"; then
    passed=$((passed + 1)); echo "=== stage $name passed in $((SECONDS - start)) s"
  else
    failed=$((failed + 1)); failed_names+=("$name"); echo "=== stage $name FAILED in $((SECONDS - start)) s"
  fi
}

stage_unit() {
  pytest tests/unit -q -p no:cacheprovider
  local rc=$?
  # pytest exits 5 when it collects nothing: that is a failure here, not a pass.
  [ $rc -eq 5 ] && echo "pytest collected no tests"
  return $rc
}

stage_lint() {
  local rc=0
  ruff check plugins tests lab scripts extensions || rc=1
  mypy plugins tests/unit || rc=1
  yamllint --strict . || rc=1
  ansible-lint --offline || rc=1
  # The plugin and role docs as the docs site reads them (and docs/docsite/ once there).
  antsibull-docs lint-collection-docs --plugin-docs "$ROOT/.cache/collections/ansible_collections/campus/swarm" || rc=1
  return $rc
}

# The collection where ansible-test wants it, ansible_collections/campus/swarm: a
# copy (lab/ and scripts/ are tooling outside the built collection: not copied),
# indexed with git (ansible-test lists the collection's files with git).
sanity_tree() {
  local tree=$ROOT/.cache/sanity/ansible_collections/campus/swarm
  mkdir -p "$tree"
  rsync -a --delete --delete-excluded --exclude-from=<(printf '%s\n' /.git /.venv /.cache /.lab /tests/output /inventories/lab /lab /scripts .ansible __pycache__ .pytest_cache .ruff_cache .mypy_cache) "$ROOT/" "$tree/"
  (cd "$tree" && rm -rf .git && git init -q && git add -A) || return 1
  echo "$tree"
}

stage_sanity() {
  # Offline, ansible-test needs a local stand-in for get-pip (see scripts/get_pip_standin.py).
  install -D -m 0644 scripts/get_pip_standin.py "$HOME/.ansible/test/cache/get_pip_24_2.py"
  local tree; tree=$(sanity_tree) || return 1
  (cd "$tree" && ansible-test sanity --venv --python 3.11 --color no)
}

# The newer ansible-core releases, each on Debian 13's Python 3.13 in a container
# (scripts/controller.sh): the unit tests and ansible-test sanity. The trixie
# scenario runs on the newest of them (CONTROLLER, below).
COMPAT=(2.20 2.21)
stage_compat() {
  local rc=0 v tree start
  install -D -m 0644 scripts/get_pip_standin.py "$ROOT/.cache/controller/home/.ansible/test/cache/get_pip_25_2.py"
  tree=$(sanity_tree) || return 1
  for v in "${COMPAT[@]}"; do
    start=$SECONDS
    echo "--- ansible-core $v: unit"
    scripts/controller.sh "$v" pytest tests/unit -q -p no:cacheprovider || rc=1
    echo "--- ansible-core $v: sanity"
    (cd "$tree" && "$ROOT/scripts/controller.sh" "$v" ansible-test sanity --venv --python 3.13 --color no) || rc=1
    echo "--- ansible-core $v: $((SECONDS - start)) s"
  done
  return $rc
}

stage_build() {
  local out=$ROOT/.cache/build
  rm -rf "$out"; mkdir -p "$out/collections"
  # No ansible.cfg of the work tree: only the installed copy may be found.
  printf '[defaults]\n' >"$out/empty.cfg"
  ansible-galaxy collection build --force --output-path "$out" . || return 1
  # The tarball, galaxy.yml, the changelog and the docs name one version; the fragments are valid.
  python3 scripts/release_check.py "$out"/campus-swarm-*.tar.gz && antsibull-changelog lint || return 1
  # The installed copy, not the work tree, must serve roles, filters and modules.
  (cd "$out" && export ANSIBLE_CONFIG="$out/empty.cfg" ANSIBLE_COLLECTIONS_PATH="$out/collections" &&
     ansible-galaxy collection install --offline --no-deps -p "$out/collections" "$out"/campus-swarm-*.tar.gz &&
     ansible-playbook -i localhost, -c local "$ROOT/tests/build/installed.yml" &&
     for module in node_info plan swarm_nodes swarm_networks swarm_port_probe swarm_stack_wait firewalld_info swarm_remove swarm_rotate swarm_node_cycle; do
       ansible-doc -t module "campus.swarm.$module" >/dev/null || exit 1; done &&
     for role in plan docker firewall swarm networks images proxy certbot portainer stacks packages; do
       ansible-doc -t role "campus.swarm.$role" >/dev/null || exit 1; done &&
     ansible-doc -t lookup campus.swarm.template >/dev/null &&
     ! ansible-doc -t filter -l campus.swarm | grep -q UNDOCUMENTED) || return 1
  # What ansible-builder makes of the installed tarball (meta/execution-environment.yml).
  scripts/ee_check.sh "$out"/campus-swarm-*.tar.gz "$out/collections"
}

# The engine and the images the scenarios need: started in the background when
# the molecule stage is asked for, so it runs beside the stages before it (a
# debootstrap is mostly download and unpacking); the molecule stage waits for it.
prepare_molecule() {
  local start=$SECONDS trixie_log=$ROOT/.cache/logs/node-image-trixie.log trixie_rc=0 images_rc=0
  scripts/ensure-docker.sh || return 1
  # The trixie node image is built beside the rest.
  lab/node-image.sh trixie >"$trixie_log" 2>&1 &
  local trixie=$!
  lab/node-image.sh bookworm &&
    lab/images/build.sh lab-proxy nginx demo-web demo-worker rabbitmq acme portainer-double &&
    lab/probe/build.sh || images_rc=1
  wait "$trixie" || trixie_rc=1
  cat "$trixie_log"
  [ $images_rc -eq 0 ] && [ $trixie_rc -eq 0 ] || return 1
  echo "--- engine and images ready $((SECONDS - start)) s after they were started"
}
prepare_log=$ROOT/.cache/logs/prepare-molecule.log prepare_pid=
if [[ " ${STAGES[*]} " == *" molecule "* ]]; then
  mkdir -p "$ROOT/.cache/logs"
  prepare_molecule >"$prepare_log" 2>&1 &
  prepare_pid=$!
fi

# The scenarios that run on another controller (scripts/controller.sh VERSION):
# trixie on the newest, ansible 14 (ansible-core 2.21, community.docker 5); the
# others on this machine's .venv (ansible 12: ansible-core 2.19, community.docker 4.8).
declare -A CONTROLLER=([trixie]=2.21)

# One scenario's molecule test into its log (and onto the output unless "quiet").
scenario() {
  local log=$ROOT/.cache/logs/molecule-$1.log run=(molecule test -s "$1")
  [ -z "${CONTROLLER[$1]:-}" ] || run=("$ROOT/scripts/controller.sh" "${CONTROLLER[$1]}" "${run[@]}")
  if [ "${2:-}" = quiet ]; then (cd extensions && "${run[@]}") >"$log" 2>&1; return; fi
  (cd extensions && "${run[@]}") 2>&1 | tee "$log"
  return "${PIPESTATUS[0]}"
}

# Say how a scenario ended (NAME RC SECONDS [NOTE]); a failure keeps for the end
# of the output (CI keeps only the tail) the lines that say why.
scenario_result() {
  local log=$ROOT/.cache/logs/molecule-$1.log what="molecule scenario $1"
  [ "$1" != compat ] || what="compat (ansible-core ${COMPAT[*]}: unit, sanity)"
  if [ "$2" -eq 0 ]; then echo "--- $what passed in $3 s${4:-}"; return 0; fi
  echo "--- $what FAILED in $3 s${4:-}"
  local why
  if [ "$1" = compat ]; then why=$(grep -a -E '^(FAILED|ERROR|FATAL)|^--- |[0-9]+ (passed|failed)' "$log" | tail -n 25)
  else why=$(python3 "$ROOT/scripts/failure_excerpt.py" "$log"); fi
  failures+=("$what (full log: $log):"$'\n'"$why")
  return 1
}

# trixie (two nodes, the CPU busy all along: 13 % idle) runs beside frontdoor,
# the scenario that waits most (47 % of the CPU idle; vmstat, 2026-12-07), and
# the compat stage beside lifecycle (about 40 % idle, 2026-12-08): the one's
# work fills the other's waits. Their networks, names and logs differ.
declare -A BESIDE=([frontdoor]=trixie [lifecycle]=compat)
# A partner is a scenario, or the compat stage.
run_partner() {
  if [ "$1" = compat ]; then stage_compat >"$ROOT/.cache/logs/molecule-compat.log" 2>&1; else scenario "$1" quiet; fi
}

stage_molecule() {
  local prepare_rc=0
  wait "$prepare_pid" || prepare_rc=1
  cat "$prepare_log"
  [ $prepare_rc -eq 0 ] || return 1
  local rc=0 s start partner partner_pid partner_rc
  rm -f "$ROOT"/.cache/logs/molecule-*.seconds
  for s in $(ls extensions/molecule | grep -v '^shared$'); do
    [ -f "extensions/molecule/$s/molecule.yml" ] || continue
    [[ " ${BESIDE[*]} " == *" $s "* ]] && continue # run beside its partner
    partner=${BESIDE[$s]:-} start=$SECONDS
    if [ -n "$partner" ]; then
      echo "--- molecule scenario $s, and $partner beside it (its output follows)"
      (t0=$SECONDS; run_partner "$partner"; rc=$?
        echo $((SECONDS - t0)) >"$ROOT/.cache/logs/molecule-$partner.seconds"; exit $rc) &
      partner_pid=$!
    else
      echo "--- molecule scenario $s"
    fi
    scenario "$s"
    scenario_result "$s" $? $((SECONDS - start)) || rc=1
    [ -n "$partner" ] || continue
    partner_rc=0
    wait "$partner_pid" || partner_rc=$?
    echo "--- $partner (beside $s)"
    cat "$ROOT/.cache/logs/molecule-$partner.log"
    scenario_result "$partner" $partner_rc "$(cat "$ROOT/.cache/logs/molecule-$partner.seconds")" " (beside $s)" || rc=1
  done
  return $rc
}

for s in "${STAGES[@]}"; do run_stage "$s" "stage_$s"; done
for f in "${failures[@]}"; do printf '=== why: %s\n' "$f"; done
echo "failed stages: ${failed_names[*]:-none}"
echo "stages: $passed passed, $failed failed"
[ $failed -eq 0 ]
