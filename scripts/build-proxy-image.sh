#!/usr/bin/env bash
# Build campus-lab-proxy:bookworm, the lab's HTTP proxy (Debian's squid), from the
# local node image (no registry here). The lab's nodes have no way out but
# through it, like servers on a campus network. Skipped when the image already
# carries this recipe's hash.
set -euo pipefail

ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
IMAGE=campus-lab-proxy:bookworm
BASE=campus-swarm-node:bookworm
"$ROOT/scripts/build-node-image.sh" bookworm >/dev/null

RECIPE="$(cat "${BASH_SOURCE[0]}" <(docker image inspect -f '{{ .Id }}' "$BASE") | sha256sum | cut -c1-16)"
have="$(docker image inspect -f '{{ index .Config.Labels "campus.swarm.recipe" }}' "$IMAGE" 2>/dev/null || true)"
if [[ "$have" == "$RECIPE" ]]; then
  echo "build-proxy-image: $IMAGE is up to date (recipe $RECIPE)"
  exit 0
fi
exec 9>/var/tmp/campus-lab-proxy.lock
flock 9

start=$SECONDS
ctx="$(mktemp -d)"
trap 'rm -rf "$ctx"' EXIT
# Forward proxy for the lab networks only; apt's packages are kept in memory so
# that every node after the first gets them from the proxy, not the mirror.
cat >"$ctx/campus.conf" <<'CONF'
http_port 3128
acl lab src 172.28.0.0/16
acl SSL_ports port 443
acl Safe_ports port 80 443
acl CONNECT method CONNECT
http_access deny !Safe_ports
http_access deny CONNECT !SSL_ports
http_access allow lab
http_access deny all
cache_mem 512 MB
maximum_object_size_in_memory 128 MB
maximum_object_size 128 MB
access_log stdio:/var/log/squid/access.log
cache_log stdio:/var/log/squid/cache.log
pid_filename /run/squid.pid
coredump_dir /var/spool/squid
CONF
cat >"$ctx/Dockerfile" <<DOCKERFILE
FROM $BASE
RUN apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends squid >/dev/null \
    && apt-get clean && rm -rf /var/lib/apt/lists/*
COPY campus.conf /etc/squid/campus.conf
LABEL campus.swarm.recipe=$RECIPE
CMD ["/usr/sbin/squid", "-N", "-f", "/etc/squid/campus.conf"]
DOCKERFILE
docker build -q -t "$IMAGE" "$ctx" >"$ctx/build.log" 2>&1 || { cat "$ctx/build.log" >&2; exit 1; }
docker image prune -f --filter "label=campus.swarm.recipe" --filter "dangling=true" >/dev/null
echo "build-proxy-image: $IMAGE built in $((SECONDS - start))s"
