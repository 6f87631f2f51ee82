#!/usr/bin/env bash
# Make sure a Docker engine answers on this machine. PID 1 here is not systemd,
# so dockerd is started in the background by hand. Does nothing if one answers.
set -euo pipefail

LOG=/var/log/dockerd.log
TIMEOUT="${DOCKER_START_TIMEOUT:-60}"

docker info >/dev/null 2>&1 && { echo "ensure-docker: engine already running"; exit 0; }

if ! command -v dockerd >/dev/null || ! command -v iptables >/dev/null || ! command -v docker >/dev/null; then
  echo "ensure-docker: installing docker.io iptables"
  export DEBIAN_FRONTEND=noninteractive NEEDRESTART_SUSPEND=1
  apt-get update -qq
  apt-get install -y -qq --no-install-recommends docker.io iptables >/dev/null
fi

hint="dockerd was started now"
if pgrep -x dockerd >/dev/null; then
  hint="a dockerd process was already running but does not answer (DOCKER_HOST=${DOCKER_HOST:-unset})"
else
  echo "ensure-docker: starting dockerd (log: $LOG)"
  setsid dockerd >>"$LOG" 2>&1 </dev/null &
fi
for ((i = 0; i < TIMEOUT; i++)); do
  docker info >/dev/null 2>&1 && { echo "ensure-docker: engine ready after ${i}s"; exit 0; }
  sleep 1
done
echo "ensure-docker: no Docker engine answered within ${TIMEOUT}s; $hint. Last lines of $LOG:" >&2
tail -n 10 "$LOG" >&2 || true
exit 1
