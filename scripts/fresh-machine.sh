#!/usr/bin/env bash
# Puts this machine back in the state of a brand-new one, as far as the test command can
# tell, then runs the README's test command on a fresh clone and times it:
#
#   sudo scripts/fresh-machine.sh [--keep]      # as root; takes about 20 minutes
#
# "Fresh" means what a new machine of this kind lacks and the test command installs:
#   - the Debian packages scripts/setup-tools.sh installs are purged (debootstrap,
#     systemd-container, redis-server, redis-tools), so apt must install them again;
#   - the booted hosts' cache (root file systems and their venv) is an empty directory
#     (INFRAGEN_HOST_CACHE), and so are cargo's registry (CARGO_HOME) and pip's cache;
#   - the clone is new, so its project venv (.venv/) and target/ do not exist.
# What a new machine of this kind does have stays: the Rust toolchain, Python 3, the
# Terraform CLI and its AWS provider mirror, ssh and util-linux.
#
# The machine's own host cache (/var/cache/infragen-hosts) and ~/.cargo are not touched:
# the run uses directories of its own under a temporary root, removed at the end
# (--keep leaves them, and prints where). The log is kept: its path is printed.
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
repo=$(cd "$here/.." && pwd)
# shellcheck source=host/lib.sh source-path=SCRIPTDIR
. "$here/host/lib.sh"
[ "$(id -u)" -eq 0 ] || { echo "fresh-machine.sh: must run as root (apt, test hosts)" >&2; exit 2; }
keep=0
case ${1:-} in
  --keep) keep=1 ;;
  "") ;;
  *) echo "usage: $0 [--keep]" >&2; exit 2 ;;
esac

# The packages a new machine lacks; setup-tools.sh's host_need_cmd list is the other
# half of this contract (a package missing here would hide a missing install there).
packages=(debootstrap systemd-container redis-server redis-tools)
installed=()
for p in "${packages[@]}"; do
  if dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q 'install ok installed'; then
    installed+=("$p")
  fi
done
if [ ${#installed[@]} -gt 0 ]; then
  echo "fresh-machine: purging ${installed[*]}"
  DEBIAN_FRONTEND=noninteractive apt-get -o DPkg::Lock::Timeout=600 purge -y -qq "${installed[@]}" >/dev/null
fi
for cmd in debootstrap systemd-nspawn redis-server redis-cli; do
  if command -v "$cmd" >/dev/null 2>&1; then
    echo "fresh-machine: $cmd is still on PATH ($(command -v "$cmd")): not a fresh state" >&2
    exit 1
  fi
done

tmp=$(mktemp -d /var/tmp/infragen-fresh.XXXXXX)
log="/var/tmp/infragen-fresh-$(date -u +%Y%m%dT%H%M%SZ).log"
# Run by the EXIT trap below.
# shellcheck disable=SC2329
cleanup() {
  if [ "$keep" = 1 ]; then
    echo "fresh-machine: kept $tmp"
  else
    # The host cache holds root file systems: remove them the harness's way (unmount first).
    host_remove_tree "$tmp"
  fi
}
trap cleanup EXIT

git clone -q --no-hardlinks "$repo" "$tmp/clone"
mkdir -p "$tmp/hosts" "$tmp/cargo-home" "$tmp/pip-cache"
echo "fresh-machine: clone of $(git -C "$repo" rev-parse --short HEAD) in $tmp/clone; log $log"

started=$(date +%s)
rc=0
(
  cd "$tmp/clone"
  export CI=true
  export INFRAGEN_HOST_CACHE="$tmp/hosts"
  unset INFRAGEN_HOST_VENV
  export CARGO_HOME="$tmp/cargo-home"
  export CARGO_TARGET_DIR="$tmp/clone/target"
  export PIP_CACHE_DIR="$tmp/pip-cache"
  # The README's test command, exactly as CI runs it.
  bash .ci/run </dev/null
) >"$log" 2>&1 || rc=$?
elapsed=$(($(date +%s) - started))
tail -n 25 "$log"
printf 'fresh-machine: the test command exited %d after %d min %02d s (log: %s)\n' \
  "$rc" $((elapsed / 60)) $((elapsed % 60)) "$log"
exit "$rc"
