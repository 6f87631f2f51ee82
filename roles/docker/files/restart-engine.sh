#!/bin/sh
# Restart the Docker engine and wait until the node is back where it was:
# not in a swarm, a worker connected to its managers, or a manager whose raft
# answers. Run one host at a time (the handler's throttle): restarting the next
# manager before this one is back in raft would lose the quorum.
# Usage: restart-engine.sh [SECONDS]   (default 120)
set -u
limit=${1:-120}
systemctl restart docker.service || exit 1
state=""
i=0
while [ "$i" -lt "$limit" ]; do
  state=$(docker info --format '{{.Swarm.LocalNodeState}} {{.Swarm.ControlAvailable}}' 2>/dev/null)
  case "$state" in
    "inactive "* | "active false") exit 0 ;;
    "active true") docker node ls --quiet >/dev/null 2>&1 && exit 0 ;;
  esac
  sleep 1
  i=$((i + 1))
done
echo "the engine restarted, but its swarm membership is not back after ${limit} s (state: ${state:-no answer})" >&2
exit 1
