#!/usr/bin/env bash
# The lab in one command: a real multi-node swarm on this machine, nodes being
# systemd containers with their own Docker engine, reached over SSH.
#   lab/lab.sh up       prepare the machine, build the node image, create the
#                       nodes and run playbooks/site.yml (LAB_SITE=0: nodes only)
#   lab/lab.sh down     remove nodes (with their volumes) and the network
#   lab/lab.sh status   show the nodes
# Settings: LAB_MANAGERS (3), LAB_WORKERS (2), LAB_SUITE (bookworm|trixie),
# LAB_SUBNET (172.28.10.0/24).
set -euo pipefail

ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cd "$ROOT"
export PATH="$ROOT/.venv/bin:$PATH"
INV=inventories/lab/hosts.yml
NET=campus-lab

up() {
  local suite="${LAB_SUITE:-bookworm}" new
  scripts/setup.sh
  scripts/ensure-docker.sh
  lab/node-image.sh "$suite"
  # The entrance and the example stack (no registry: built here from Debian packages).
  lab/images/build.sh nginx demo-web demo-worker rabbitmq
  new="$INV.new"; mkdir -p "$(dirname "$INV")"
  python3 lab/inventory.py --prefix campus-lab --network "$NET" \
    --managers "${LAB_MANAGERS:-3}" --workers "${LAB_WORKERS:-2}" \
    --subnet "${LAB_SUBNET:-172.28.10.0/24}" --suite "$suite" \
    --state-dir "$ROOT/.lab" --output "$new"
  if [[ -f "$INV" ]] && ! cmp -s "$new" "$INV"; then
    echo "lab: the lab's shape changed; removing the old nodes first"
    ansible-playbook -i "$INV" lab/destroy.yml
  fi
  mv "$new" "$INV"
  ansible-playbook -i "$INV" lab/create.yml
  if [[ "${LAB_SITE:-1}" == 0 ]]; then
    echo "lab: nodes ready (LAB_SITE=0: playbooks/site.yml not run)"
  elif [[ -f playbooks/site.yml ]]; then
    ansible-playbook -i "$INV" playbooks/site.yml -e @examples/stack/stack.yml
    echo "lab: the example stack answers at https://app.campus.test/work?text=hello+campus through the entrance on ${LAB_SUBNET:-172.28.10.0/24} .11:"
    echo "     curl --resolve app.campus.test:443:$(python3 -c "import ipaddress,sys; print(ipaddress.ip_network(sys.argv[1])[11])" "${LAB_SUBNET:-172.28.10.0/24}") -k 'https://app.campus.test/work?text=hello+campus'"
  else
    echo "lab: nodes ready; playbooks/site.yml does not exist yet" >&2
  fi
  echo "lab: try  ansible -i $INV swarm -m ansible.builtin.ping   or   ssh -i .lab/id_ed25519 campus@<ip>"
}

down() {
  if [[ -f "$INV" ]]; then
    ansible-playbook -i "$INV" lab/destroy.yml
    rm -f "$INV"
  else
    echo "lab: no $INV, nothing to remove"
  fi
}

status() {
  docker ps -a --filter "label=campus.swarm.lab=$NET" \
    --format 'table {{.Names}}\t{{.Status}}\t{{.Image}}\t{{.Networks}}'
  [[ -f "$INV" ]] && echo "inventory: $INV" || echo "no inventory (lab not up)"
}

case "${1:-}" in
  up | down | status) "$1" ;;
  *) sed -n '2,10s/^# \{0,1\}//p' "$0" >&2; exit 2 ;;
esac
