#!/bin/sh
# campus-rabbitmq: entrypoint of campus-rabbitmq:bookworm (the example stack's
# broker). Writes the server's configuration, then runs RabbitMQ in the
# foreground as user rabbitmq (it becomes PID 1: docker stop is a clean stop).
#
# Settings (environment):
#   AMQP_USER           the one AMQP user (default app): administrator of vhost /
#   AMQP_PASSWORD_FILE  file holding its password (default
#                       /run/secrets/amqp_password); trailing newlines are not
#                       part of it. Must exist and not be empty.
#
# The user and its password reach RabbitMQ as a definitions file imported at
# EVERY start (/etc/rabbitmq/definitions.json, mode 0600, owner rabbitmq, the
# password only as RabbitMQ's salted SHA-256 hash), not as default_user and
# default_pass in rabbitmq.conf: those are used once, on an empty database, so a
# rotated secret would never reach a broker that keeps its data volume (and
# rabbitmq.conf cuts a value at '#'). With definitions to load, RabbitMQ creates
# no default user at all: there is no guest. A user named before under another
# AMQP_USER is not removed.
# /etc/rabbitmq/rabbitmq.conf (written at every start, mode 0600): AMQP on 5672,
# logs on stdout, no log files; under a memory limit (cgroup), RabbitMQ sizes its
# memory alarm from the limit instead of the host's memory. More settings: mount
# files into /etc/rabbitmq/conf.d/ (read after rabbitmq.conf).
# The password is never printed, nor put on a command line.
set -eu

AMQP_USER="${AMQP_USER:-app}"
AMQP_PASSWORD_FILE="${AMQP_PASSWORD_FILE:-/run/secrets/amqp_password}"
CONF=/etc/rabbitmq/rabbitmq.conf
DEFINITIONS=/etc/rabbitmq/definitions.json
DATA=/var/lib/rabbitmq
# A name that does not change with the container's hostname: the data stays the node's.
export RABBITMQ_NODENAME="${RABBITMQ_NODENAME:-rabbit@localhost}"

die() { echo "campus-rabbitmq: $*" >&2; exit 1; }

[ "$(id -u)" = 0 ] || die "must start as root (it hands over to user rabbitmq)"
[ -n "$AMQP_USER" ] || die "AMQP_USER is empty"
[ -f "$AMQP_PASSWORD_FILE" ] && [ -r "$AMQP_PASSWORD_FILE" ] ||
  die "no readable password file $AMQP_PASSWORD_FILE (AMQP_PASSWORD_FILE)"

umask 077

# The definitions: python3 (in the base image) reads the password file itself
# and writes only its hash.
python3 - "$AMQP_USER" "$AMQP_PASSWORD_FILE" >"$DEFINITIONS.new" <<'PY'
import base64
import hashlib
import json
import os
import sys

user, path = sys.argv[1], sys.argv[2]
with open(path, "rb") as f:
    password = f.read().rstrip(b"\r\n")
if not password:
    sys.exit(f"campus-rabbitmq: the password file {path} (AMQP_PASSWORD_FILE) is empty")
salt = os.urandom(4)  # rabbit_password_hashing_sha256: base64(salt + sha256(salt + password))
digest = base64.b64encode(salt + hashlib.sha256(salt + password).digest()).decode()
json.dump({
    "users": [{"name": user, "password_hash": digest, "hashing_algorithm": "rabbit_password_hashing_sha256", "tags": ["administrator"]}],
    "vhosts": [{"name": "/"}],
    "permissions": [{"user": user, "vhost": "/", "configure": ".*", "write": ".*", "read": ".*"}],
}, sys.stdout, indent=2)
PY

# A memory limit of this container's cgroup (v2, else v1), if below the host's memory.
limit=""
for f in /sys/fs/cgroup/memory.max /sys/fs/cgroup/memory/memory.limit_in_bytes; do
  [ -r "$f" ] && { limit="$(cat "$f")"; break; }
done
host_kb="$(awk '/^MemTotal:/ { print $2 }' /proc/meminfo)"
case "$limit" in
  '' | max | *[!0-9]*) limit="" ;;
  *) [ "$((limit / 1024))" -lt "$host_kb" ] || limit="" ;;
esac

{
  echo "# Written by campus-rabbitmq at every start; add settings in /etc/rabbitmq/conf.d/."
  echo "listeners.tcp.default = 5672"
  echo "load_definitions = $DEFINITIONS"
  echo "log.console = true"
  echo "log.console.level = info"
  echo "log.console.use_colors = off"
  echo "log.file = false"
  [ -z "$limit" ] || echo "total_memory_available_override_value = $limit"
} >"$CONF.new"

chown rabbitmq:rabbitmq "$CONF.new" "$DEFINITIONS.new"
chmod 0600 "$CONF.new" "$DEFINITIONS.new"
mv -f "$DEFINITIONS.new" "$DEFINITIONS"
mv -f "$CONF.new" "$CONF"

# The data directory may be a fresh bind mount or volume owned by root.
mkdir -p "$DATA"
find "$DATA" \! -user rabbitmq -exec chown rabbitmq:rabbitmq '{}' +

echo "campus-rabbitmq: starting node $RABBITMQ_NODENAME, AMQP user $AMQP_USER${limit:+, memory limit $limit bytes}"
cd "$DATA"
export HOME="$DATA"
exec setpriv --reuid=rabbitmq --regid=rabbitmq --init-groups -- /usr/lib/rabbitmq/bin/rabbitmq-server
