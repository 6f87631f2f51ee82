#!/usr/bin/env bash
# Build the lab's and the tests' service images from the local node image (no
# registry here): lab/images/build.sh RECIPE... where each RECIPE is a folder
# next to this script holding a Dockerfile (ARG BASE), its files and IMAGE (the
# image name). An image is rebuilt only when its folder or the node image changed
# (the hash covers the folder's files by their paths inside it, not its location).
# A recipe is built on campus-swarm-node:bookworm, or on the suite its SUITE file names.
set -euo pipefail

HERE="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
[[ $# -gt 0 ]] || { echo "usage: $0 RECIPE... (folders of $HERE)" >&2; exit 2; }

for recipe in "$@"; do
  dir="$HERE/$recipe"
  [[ -f "$dir/Dockerfile" && -f "$dir/IMAGE" ]] || { echo "lab-images: no recipe $dir (Dockerfile, IMAGE)" >&2; exit 2; }
  suite="$(cat "$dir/SUITE" 2>/dev/null || echo bookworm)"
  BASE="campus-swarm-node:$suite"
  "$HERE/../node-image.sh" "$suite" >/dev/null
  base_id="$(docker image inspect -f '{{ .Id }}' "$BASE")"
  image="$(cat "$dir/IMAGE")"
  hash="$( (cd "$dir" && find . -type f -print0 | sort -z | xargs -0 sha256sum; echo "$base_id") | sha256sum | cut -c1-16)"
  have() { docker image inspect -f '{{ index .Config.Labels "campus.swarm.recipe" }}' "$image" 2>/dev/null || true; }
  if [[ "$(have)" == "$hash" ]]; then
    echo "lab-images: $image is up to date (recipe $hash)"
    continue
  fi
  # One build per image at a time (lab, Molecule and bench may start together).
  exec 9>"/var/tmp/campus-build-$recipe.lock"
  flock 9
  if [[ "$(have)" != "$hash" ]]; then
    start=$SECONDS
    log="$(docker build -q --build-arg "BASE=$BASE" --label "campus.swarm.recipe=$hash" -t "$image" "$dir" 2>&1)" \
      || { echo "$log" >&2; exit 1; }
    echo "lab-images: $image built in $((SECONDS - start))s"
  fi
  exec 9>&-
done
docker image prune -f --filter "label=campus.swarm.recipe" --filter "dangling=true" >/dev/null
