#!/usr/bin/env bash
# Build the lab/Molecule/benchmark node image campus-swarm-node:SUITE locally
# (no registry here): debootstrap minbase + systemd + sshd, imported with
# `docker import`. Skipped when the image already carries this recipe's hash.
# Docker itself is NOT in the image: the collection's docker role installs it.
# Engine 20.10's `docker import` refuses STOPSIGNAL: containers set
# stop_signal SIGRTMIN+3 themselves (lab/roles/lab_node/tasks/create.yml).
set -euo pipefail

SUITE="${1:-bookworm}"
case "$SUITE" in bookworm | trixie) ;; *) echo "usage: $0 bookworm|trixie" >&2; exit 2 ;; esac
IMAGE="campus-swarm-node:$SUITE"
MIRROR="${DEBIAN_MIRROR:-http://deb.debian.org/debian}"
PACKAGES=python3,python3-apt,systemd,systemd-sysv,ca-certificates,iproute2,sudo,openssh-server

RECIPE="$(cat "${BASH_SOURCE[0]}" <(echo "$SUITE") | sha256sum | cut -c1-16)"
have="$(docker image inspect -f '{{ index .Config.Labels "campus.swarm.recipe" }}' "$IMAGE" 2>/dev/null || true)"
if [[ "$have" == "$RECIPE" ]]; then
  echo "build-node-image: $IMAGE is up to date (recipe $RECIPE)"
  exit 0
fi

# One build per suite at a time (lab, Molecule and bench may start together).
exec 9>"/var/tmp/campus-swarm-node-$SUITE.lock"
flock 9
have="$(docker image inspect -f '{{ index .Config.Labels "campus.swarm.recipe" }}' "$IMAGE" 2>/dev/null || true)"
[[ "$have" == "$RECIPE" ]] && { echo "build-node-image: $IMAGE was built meanwhile"; exit 0; }

DIR="$(mktemp -d "/var/tmp/campus-swarm-node-$SUITE.XXXXXX")"
cleanup() {
  findmnt -rno TARGET | grep "^$DIR/" | sort -r | xargs -r umount -l || true
  rm -rf --one-file-system "$DIR" "$DIR.log"
}
trap cleanup EXIT

start=$SECONDS
echo "build-node-image: debootstrap $SUITE into $DIR"
debootstrap --variant=minbase --include="$PACKAGES" "$SUITE" "$DIR" "$MIRROR" >"$DIR.log" 2>&1 ||
  { tail -n 30 "$DIR.log" >&2; exit 1; }
echo "build-node-image: debootstrap done in $((SECONDS - start))s, customising"
in_root() { chroot "$DIR" /usr/bin/env -i PATH=/usr/sbin:/usr/bin:/sbin:/bin "$@"; }

# apt: the sources a real server has, no translations, no docs in new packages.
rm -f "$DIR/etc/apt/sources.list"
cat >"$DIR/etc/apt/sources.list.d/debian.sources" <<SRC
Types: deb
URIs: $MIRROR
Suites: $SUITE $SUITE-updates
Components: main
Signed-By: /usr/share/keyrings/debian-archive-keyring.gpg

Types: deb
URIs: http://deb.debian.org/debian-security
Suites: $SUITE-security
Components: main
Signed-By: /usr/share/keyrings/debian-archive-keyring.gpg
SRC
echo 'Acquire::Languages "none";' >"$DIR/etc/apt/apt.conf.d/90campus-no-translations"
cat >"$DIR/etc/dpkg/dpkg.cfg.d/90campus-nodoc" <<'CFG'
path-exclude=/usr/share/doc/*
path-include=/usr/share/doc/*/copyright
path-exclude=/usr/share/man/*
path-exclude=/usr/share/info/*
path-exclude=/usr/share/locale/*
CFG

# The operator account Ansible logs in as.
in_root useradd --uid 1000 --create-home --shell /bin/bash campus
in_root usermod --password '*' campus # no password, but not "locked" for sshd
install -d -m 0700 -o 1000 -g 1000 "$DIR/home/campus/.ssh"
echo 'campus ALL=(ALL) NOPASSWD:ALL' >"$DIR/etc/sudoers.d/campus"
chmod 0440 "$DIR/etc/sudoers.d/campus"

# sshd: keys only, no root; host keys made at first boot so nodes never share them.
cat >"$DIR/etc/ssh/sshd_config.d/campus.conf" <<'CFG'
PasswordAuthentication no
KbdInteractiveAuthentication no
PermitRootLogin no
UseDNS no
CFG
rm -f "$DIR"/etc/ssh/ssh_host_*
cat >"$DIR/etc/systemd/system/ssh-host-keys.service" <<'UNIT'
[Unit]
Description=Generate SSH host keys on first boot
Before=ssh.service
ConditionPathExists=!/etc/ssh/ssh_host_ed25519_key

[Service]
Type=oneshot
ExecStart=/usr/bin/ssh-keygen -A
RemainAfterExit=yes

[Install]
WantedBy=ssh.service multi-user.target
UNIT
# Docker mounts /proc/sys read-only in a non-privileged container; a real
# server has it writable, and engine 26 needs that for overlay networks (it
# sets disable_ipv6 on the overlay bridge). Same effect as the CLI-only
# `--security-opt systempaths=unconfined`, which the engine API refuses.
cat >"$DIR/etc/systemd/system/proc-sys-rw.service" <<'UNIT'
[Unit]
Description=Make /proc/sys writable as on a real server
DefaultDependencies=no
Before=sysinit.target systemd-sysctl.service
ConditionPathIsReadWrite=!/proc/sys

[Service]
Type=oneshot
ExecStart=/bin/mount -o remount,rw /proc/sys
RemainAfterExit=yes

[Install]
WantedBy=sysinit.target
UNIT
in_root systemctl enable ssh.service ssh-host-keys.service proc-sys-rw.service >/dev/null 2>&1
# Units that are useless (or fail) in a container, and background apt runs
# that would hold the dpkg lock while a role installs packages.
in_root systemctl mask getty@tty1.service console-getty.service systemd-firstboot.service systemd-modules-load.service \
  sys-kernel-config.mount sys-kernel-debug.mount sys-kernel-tracing.mount dev-hugepages.mount \
  apt-daily.timer apt-daily-upgrade.timer dpkg-db-backup.timer e2scrub_all.timer fstrim.timer \
  >/dev/null 2>&1

# Per-container identity comes at boot: machine-id, hostname, resolv.conf.
: >"$DIR/etc/machine-id"
rm -f "$DIR/var/lib/dbus/machine-id" "$DIR/etc/hostname"
: >"$DIR/etc/resolv.conf"

# Small image: no apt lists or caches, no docs.
in_root apt-get clean
rm -rf "$DIR"/var/lib/apt/lists/* "$DIR"/var/cache/apt/*.bin "$DIR"/var/log/*.log \
  "$DIR"/var/log/apt/* "$DIR"/usr/share/man/* "$DIR"/usr/share/info/* "$DIR"/usr/share/locale/*
find "$DIR/usr/share/doc" -mindepth 1 ! -name copyright ! -type d -delete
find "$DIR/usr/share/doc" -mindepth 1 -type d -empty -delete
# Lists are gone: make them look stale, or apt's cache_valid_time (which reads
# the lists directory's mtime) would skip the update for an hour after a build.
touch -d @0 "$DIR/var/lib/apt/lists"

echo "build-node-image: importing $IMAGE"
tar --numeric-owner -C "$DIR" -c . | docker import \
  -c 'CMD ["/lib/systemd/systemd"]' \
  --change "LABEL campus.swarm.recipe=$RECIPE" --change "LABEL campus.swarm.suite=$SUITE" \
  - "$IMAGE" >/dev/null
# Drop replaced builds of this suite that no container uses any more.
docker image prune -f --filter "label=campus.swarm.suite=$SUITE" >/dev/null
echo "build-node-image: $IMAGE built in $((SECONDS - start))s ($(docker image inspect -f '{{ .Size }}' "$IMAGE" | awk '{printf "%d MB", $1/1e6}'))"
