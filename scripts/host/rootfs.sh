#!/usr/bin/env bash
# Builds a Debian root file system for a test host once and caches it.
#
#   scripts/host/rootfs.sh SUITE        # bookworm | bullseye | trixie (any Debian suite)
#
# Prints the cached rootfs path on stdout (messages go to stderr), e.g.
#   root=$(scripts/host/rootfs.sh bookworm)
#
# Environment:
#   INFRAGEN_HOST_CACHE     cache directory (default /var/cache/infragen-hosts)
#   INFRAGEN_HOST_PACKAGES  extra packages, comma-separated (part of the cache key)
#   INFRAGEN_HOST_MIRROR    Debian mirror (default http://deb.debian.org/debian)
#   INFRAGEN_HOST_REBUILD=1 build again even when cached
#
# The cache key is the suite, the mirror, the package list and RECIPE below: a cached
# tree is never modified after it is renamed into place, so boot.sh can use it as the
# read-only lower layer of an overlay and several hosts can share it.
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
# shellcheck source=lib.sh source-path=SCRIPTDIR
. "$here/lib.sh"

# Bump when the customisation after debootstrap changes: old trees then stop matching.
RECIPE=2

[ $# -eq 1 ] || host_die "usage: $0 SUITE"
suite=$1
[[ $suite =~ ^[a-z]+$ ]] || host_die "suite must be a Debian code name, got '$suite'"
host_require_root

mirror=${INFRAGEN_HOST_MIRROR:-http://deb.debian.org/debian}
# What the test host needs on top of minbase:
#  systemd, systemd-sysv, dbus: a real init that boots under systemd-nspawn --boot;
#  python3, python3-apt: Ansible's modules, and its apt module (Debian's cloud images
#    carry python3-apt through unattended-upgrades, so a converge does not install it);
#  openssh-server, sudo: Ansible connects over SSH and may become root through sudo;
#  ca-certificates: apt and the AWS CLI over HTTPS;
#  procps: sysctl(8), present on every real Debian host and used by the role's handler.
packages="systemd,systemd-sysv,dbus,python3,python3-apt,openssh-server,sudo,ca-certificates,procps"
if [ -n "${INFRAGEN_HOST_PACKAGES:-}" ]; then
  packages="$packages,$INFRAGEN_HOST_PACKAGES"
fi
packages=$(tr -s ', ' '\n' <<<"$packages" | sed '/^$/d' | sort -u | paste -sd, -)
key=$(printf '%s\n' "$suite" "$mirror" "$packages" "$RECIPE" | sha256sum | cut -c1-12)
final="$INFRAGEN_HOST_CACHE/$suite-$key"

mkdir -p "$INFRAGEN_HOST_CACHE"
# One builder per key: a second caller waits here, then finds the finished tree.
exec 9>"$INFRAGEN_HOST_CACHE/.lock-$suite-$key"
if ! flock -n 9; then
  host_log "another build of $suite-$key is running; waiting for it"
  flock 9
fi

if [ -d "$final" ] && [ "${INFRAGEN_HOST_REBUILD:-0}" != 1 ]; then
  host_log "reusing cached $suite rootfs $final (built $(sed -n 's/^built=//p' "$final.info" 2>/dev/null))"
  echo "$final"
  exit 0
fi

host_need_cmd debootstrap debootstrap systemd-nspawn systemd-container

# Holding the lock, any build directory of this key is a leftover of a killed build.
for stale in "$INFRAGEN_HOST_CACHE/.build-$suite-$key".*; do
  [ -e "$stale" ] || continue
  host_log "removing leftover of an interrupted build: $stale"
  host_remove_tree "$stale"
done

tmp=$(mktemp -d "$INFRAGEN_HOST_CACHE/.build-$suite-$key.XXXXXX")
# Also on failure or Ctrl-C: never leave a half tree (nor its proc/sys/dev mounts).
cleanup() { host_remove_tree "$tmp"; }
trap cleanup EXIT
trap 'exit 130' INT TERM

started=$(host_now)
host_log "building $suite rootfs ($packages) into $tmp"
debootstrap --variant=minbase --include="$packages" "$suite" "$tmp/root" "$mirror" \
  >"$tmp/debootstrap.log" 2>&1 || {
  tail -n 30 "$tmp/debootstrap.log" >&2
  host_die "debootstrap $suite failed (log above)"
}
root="$tmp/root"

# debootstrap writes only "<suite> main"; a real host also has the point-release
# updates and security archives, and package versions the tests see must match it.
security=${mirror%/debian}/debian-security
cat >"$root/etc/apt/sources.list" <<EOF
deb $mirror $suite main
deb $mirror $suite-updates main
deb $security $suite-security main
EOF

# The container shares the machine's network: an sshd on the default 0.0.0.0:22 would
# collide with the machine's own and listen on its interfaces. boot.sh replaces this
# file with the run's port; this default keeps a tree booted by hand on loopback.
mkdir -p "$root/etc/ssh/sshd_config.d"
cat >"$root/etc/ssh/sshd_config.d/00-infragen.conf" <<'EOF'
# Written by scripts/host: loopback only (the test host shares the machine's network).
ListenAddress 127.0.0.1
Port 2222
PermitRootLogin prohibit-password
PasswordAuthentication no
UseDNS no
EOF

# Debian's ssh.service runs `sshd -t` before starting, which needs /run/sshd; the unit
# creates it through RuntimeDirectory, so nothing else is needed here.

# Keep the tree small: downloaded .debs are not needed once installed.
rm -f "$root"/var/cache/apt/archives/*.deb "$root"/var/cache/apt/*.bin

# Everything the tests read about the tree.
{
  echo "suite=$suite"
  echo "mirror=$mirror"
  echo "packages=$packages"
  echo "recipe=$RECIPE"
  echo "built=$(date -u +%Y-%m-%dT%H:%M:%SZ)"
  echo "build_seconds=$(host_elapsed "$started")"
} >"$tmp/infragen-rootfs.info"
cp "$tmp/debootstrap.log" "$tmp/infragen-debootstrap.log"

# Atomic publish: the tree appears under its final name complete, or not at all.
if [ -d "$final" ]; then
  old="$INFRAGEN_HOST_CACHE/.build-$suite-$key.old.$$"
  mv "$final" "$old"
  host_remove_tree "$old"
fi
mv "$root" "$final"
mv "$tmp/infragen-rootfs.info" "$final.info"
mv "$tmp/infragen-debootstrap.log" "$final.debootstrap.log"
host_log "built $suite rootfs $final in $(host_elapsed "$started") s ($(du -sh "$final" | cut -f1))"
echo "$final"
