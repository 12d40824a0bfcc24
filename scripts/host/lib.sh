# shellcheck shell=bash
# Shared helpers of the host harness (sourced by rootfs.sh, boot.sh, stop.sh, moto.sh).
# Every message goes to stderr, so that a script's stdout carries only its result (a
# path, an endpoint) and callers can capture it with $(...).

# The harness keeps no state outside WORKDIR and the cache, so two test runs with
# different WORKDIRs can share one machine.
INFRAGEN_HOST_CACHE=${INFRAGEN_HOST_CACHE:-/var/cache/infragen-hosts}

host_log() { printf '%s: %s\n' "${0##*/}" "$*" >&2; }
host_die() { host_log "error: $*"; exit 1; }

# Seconds since the epoch with milliseconds, for the timings every script prints.
host_now() { date +%s.%N; }
host_elapsed() { awk -v a="$1" -v b="$(host_now)" 'BEGIN { printf "%.1f", b - a }'; }

host_require_root() {
  [ "$(id -u)" -eq 0 ] || host_die "must run as root (debootstrap, mounts and systemd-nspawn need it)"
}

# Installs Debian packages only when a command is missing: a warm machine never runs apt.
# Usage: host_need_cmd COMMAND PACKAGE [COMMAND PACKAGE ...]
# scripts/setup-tools.sh installs everything once before anything runs in parallel; this
# is the fallback for a script run by hand. Concurrent callers are serialised (one lock
# file for every apt call of the project, waited for, never failed on) and apt itself
# waits for a lock another program holds instead of failing at once.
host_need_cmd() {
  local missing=()
  while [ $# -ge 2 ]; do
    command -v "$1" >/dev/null 2>&1 || missing+=("$2")
    shift 2
  done
  [ ${#missing[@]} -eq 0 ] && return 0
  [ "$(id -u)" -eq 0 ] || host_die "must run as root to install Debian packages: ${missing[*]}"
  mapfile -t missing < <(printf '%s\n' "${missing[@]}" | sort -u)
  host_log "installing Debian packages: ${missing[*]}"
  local log rc=0
  log=$(mktemp)
  (
    flock -w 900 8 || { echo "waited 900 s for $HOST_APT_LOCK" >&2; exit 1; }
    # Lists may be absent on a fresh machine (apt-get install then finds nothing).
    apt-get -o DPkg::Lock::Timeout=600 update -qq &&
      DEBIAN_FRONTEND=noninteractive RUNLEVEL=1 apt-get -o DPkg::Lock::Timeout=600 \
        install -y -qq --no-install-recommends "${missing[@]}"
  ) 8>"$HOST_APT_LOCK" >"$log" 2>&1 || rc=$?
  if [ "$rc" -ne 0 ]; then
    tail -n 20 "$log" >&2
    rm -f "$log"
    host_die "apt-get install ${missing[*]} failed"
  fi
  rm -f "$log"
  # Whatever a caller that waited behind another found: each command must be there now.
  hash -r
}
# One lock for every apt call of the project's scripts (not apt's own lock files).
HOST_APT_LOCK=${HOST_APT_LOCK:-/run/lock/infragen-apt.lock}

# A TCP port on 127.0.0.1 that nothing listens on right now. The kernel picks it, so
# parallel runs do not collide the way a fixed port or a counter would; the window
# between this check and the server's bind is small and the callers retry on failure.
host_free_port() {
  python3 -c 'import socket; s = socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1]); s.close()'
}

# Field 22 of /proc/PID/stat: the process's start time in clock ticks since boot. A
# recorded PID is trusted only while it still has the recorded start time, so a stop
# never signals a process that reused the number after ours died.
host_proc_start() {
  local stat
  stat=$(cat "/proc/$1/stat" 2>/dev/null) || return 1
  # The command name (field 2) may contain spaces: cut after its closing parenthesis.
  stat=${stat##*) }
  # Fields from 3 on: start time is field 22, the 20th of what is left.
  awk '{ print $20 }' <<<"$stat"
}

# True while PID is alive and still the process that started at START.
host_proc_is() {
  local pid=$1 start=$2 now
  [ -n "$pid" ] && [ -n "$start" ] || return 1
  now=$(host_proc_start "$pid") || return 1
  [ "$now" = "$start" ]
}

# Waits up to SECONDS for PID (with START) to exit. Returns 1 on time-out.
host_wait_gone() {
  local pid=$1 start=$2 secs=$3 i
  for ((i = 0; i < secs * 10; i++)); do
    host_proc_is "$pid" "$start" || return 0
    sleep 0.1
  done
  return 1
}

# Reads KEY from a shell-style KEY=VALUE file written by the harness (never sourced:
# a WORKDIR may be left over from another run and must not execute anything).
host_env_get() {
  local file=$1 key=$2
  [ -f "$file" ] || return 0
  sed -n "s/^${key}=//p" "$file" | tail -n 1 | sed "s/^'\\(.*\\)'\$/\\1/"
}

# Unmounts everything mounted at or below DIR, deepest first. A killed debootstrap
# leaves proc, sys and dev mounted inside its target, and removing such a tree with
# rm -rf would delete the host's device nodes through the bind mount.
host_umount_under() {
  local dir mnts m
  dir=$(realpath -m "$1")
  # /proc/self/mountinfo field 5 is the mount point (octal escapes for spaces).
  mapfile -t mnts < <(awk -v d="$dir" '$5 == d || index($5, d "/") == 1 { print $5 }' \
    /proc/self/mountinfo | sort -r)
  for m in "${mnts[@]}"; do
    umount "$m" 2>/dev/null && continue
    # Still busy: detach it so the tree can go; its memory is freed with its last user.
    host_log "warning: $m is busy; detaching it (umount -l)"
    umount -l "$m" 2>/dev/null || host_log "warning: cannot unmount $m"
  done
}

# Removes a directory tree the harness made, after unmounting what is below it.
# --one-file-system is the second guard: a mount that could not be removed is skipped.
host_remove_tree() {
  local dir=$1
  if [ -z "$dir" ] || [ "$dir" = / ]; then host_die "refusing to remove '$dir'"; fi
  [ -e "$dir" ] || return 0
  host_umount_under "$dir"
  rm -rf --one-file-system -- "$dir"
}

# Appends KEY=VALUE to a state file at once (not at the end of a script): stop.sh must
# find every PID and mount even when the script that recorded them died half way.
host_env_set() {
  local file=$1 key=$2 value=$3
  case $value in *[[:space:]\'\"\\\$\`]*) host_die "state value of $key has unsafe characters: $value" ;; esac
  printf '%s=%s\n' "$key" "$value" >>"$file"
}

# Runs a command inside the booted container through its leader's namespaces, without
# SSH (works while sshd is not up yet, or broken). The environment is reset: the
# machine's own (PATH under /usr/local, proxies, PIP_*) is not the container's.
host_nsenter() {
  local leader=$1
  shift
  nsenter --target "$leader" --mount --uts --ipc --net --pid --cgroup --root --wd=/ \
    env -i PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin \
    LANG=C.UTF-8 TERM=dumb SYSTEMD_PAGER= SYSTEMD_COLORS=0 "$@"
}

# The run's cgroup (boot.sh starts nspawn in "infragen/<name>" of every hierarchy) holds
# nspawn and every process of the container, including ones whose PIDs were never
# recorded (a boot killed before it found the container's PID 1). Prints their PIDs.
host_cgroup_pids() {
  local rel=$1
  find /sys/fs/cgroup/*/"$rel" -name cgroup.procs -exec cat {} + 2>/dev/null | sort -un
}

# SIGKILLs everything in the run's cgroup and waits up to SECONDS for it to be empty.
# cgroup v2's cgroup.kill does it atomically (no fork can escape); without it, kill
# the listed PIDs until none is left.
host_cgroup_kill() {
  local rel=$1 secs=$2 i pids
  for ((i = 0; i < secs * 10; i++)); do
    pids=$(host_cgroup_pids "$rel")
    [ -z "$pids" ] && return 0
    if [ -f "/sys/fs/cgroup/unified/$rel/cgroup.kill" ]; then
      echo 1 >"/sys/fs/cgroup/unified/$rel/cgroup.kill" 2>/dev/null || true
    else
      # shellcheck disable=SC2086 # one PID a word
      kill -KILL $pids 2>/dev/null || true
    fi
    sleep 0.1
  done
  [ -z "$(host_cgroup_pids "$rel")" ]
}
