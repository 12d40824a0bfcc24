#!/usr/bin/env bash
# Stops what boot.sh (and moto.sh) started for WORKDIR and removes the throwaway root.
#
#   scripts/host/stop.sh WORKDIR
#
# Safe to call any number of times, and after a boot that failed half way: it acts only
# on the PIDs and mounts recorded in WORKDIR/host.env (each PID only while it still has
# its recorded start time, so a reused PID is never signalled) and never kills by name.
# Keeps WORKDIR's logs and key (console.log, host.env); deletes the root copy/overlay.
#
# Environment: INFRAGEN_HOST_STOP_TIMEOUT  seconds for an orderly shutdown (default 20)
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
# shellcheck source=lib.sh source-path=SCRIPTDIR
. "$here/lib.sh"

[ $# -eq 1 ] || host_die "usage: $0 WORKDIR"
[ -d "$1" ] || { host_log "no such WORKDIR $1: nothing to stop"; exit 0; }
work=$(cd "$1" && pwd)
env_file="$work/host.env"
grace=${INFRAGEN_HOST_STOP_TIMEOUT:-20}
rc=0

# A moto server started for the same WORKDIR goes with the host: one trap stops both.
if [ -f "$work/moto.env" ]; then
  "$here/moto.sh" stop "$work" || rc=1
fi

[ -f "$env_file" ] || exit "$rc"
host_require_root
get() { host_env_get "$env_file" "$1"; }

nspawn_pid=$(get HOST_NSPAWN_PID)
nspawn_start=$(get HOST_NSPAWN_START)
leader=$(get HOST_LEADER_PID)
leader_start=$(get HOST_LEADER_START)
cgroup=$(get HOST_CGROUP)
case $cgroup in infragen/?*) ;; *) cgroup= ;; esac

if host_proc_is "$nspawn_pid" "$nspawn_start"; then
  t=$(host_now)
  # nspawn --boot turns SIGTERM into an orderly shutdown of the container (SIGRTMIN+3
  # to its systemd), then exits after unmounting what it mounted. A PID 1 ignores
  # signals it has no handler for yet, so one sent early in the boot is lost: repeat.
  stopped=0
  for ((i = 0; i < grace; i += 2)); do
    kill -TERM "$nspawn_pid" 2>/dev/null || true
    if host_wait_gone "$nspawn_pid" "$nspawn_start" 2; then stopped=1; break; fi
  done
  if [ "$stopped" = 1 ]; then
    host_log "container stopped in $(host_elapsed "$t") s"
  else
    host_log "container did not shut down in ${grace}s: killing it"
  fi
fi
# Whatever is left: nspawn, the container's PID 1 (killing it from outside ends its
# PID namespace), and any process of the run's cgroup, recorded by PID or not.
if host_proc_is "$nspawn_pid" "$nspawn_start"; then kill -KILL "$nspawn_pid" 2>/dev/null || true; fi
if host_proc_is "$leader" "$leader_start"; then kill -KILL "$leader" 2>/dev/null || true; fi
if [ -n "$cgroup" ]; then
  left=$(host_cgroup_pids "$cgroup" | wc -l)
  if [ "$left" -gt 0 ]; then
    host_log "killing $left process(es) left in cgroup $cgroup"
    host_cgroup_kill "$cgroup" 10 || { host_log "error: processes survive in cgroup $cgroup"; rc=1; }
  fi
fi
host_wait_gone "$nspawn_pid" "$nspawn_start" 10 || { host_log "error: nspawn PID $nspawn_pid survives SIGKILL"; rc=1; }
host_wait_gone "$leader" "$leader_start" 10 || { host_log "error: container PID 1 $leader survives SIGKILL"; rc=1; }

if [ "$rc" -ne 0 ]; then
  # Removing a root still in use would pull files from under live processes.
  host_log "error: processes survive; leaving $work/root in place"
  exit "$rc"
fi

# A container booted with INFRAGEN_HOST_WRITABLE_SYSCTL=1 may have changed the machine.
restore=$(get HOST_RESTORE_OVERCOMMIT)
if [[ $restore =~ ^[012]$ ]] && [ "$(cat /proc/sys/vm/overcommit_memory)" != "$restore" ]; then
  echo "$restore" >/proc/sys/vm/overcommit_memory
  host_log "restored the machine's vm.overcommit_memory to $restore"
fi

# Only paths inside WORKDIR are ever unmounted or removed, whatever host.env says.
inside() { case $1 in "$work"/*) return 0 ;; *) host_log "warning: ignoring path outside $work: $1"; return 1 ;; esac; }
t=$(host_now)
# The overlay first, then the tmpfs under its writable layer.
for mnt in "$(get HOST_MOUNT)" "$(get HOST_UPPER_MOUNT)"; do
  if [ -n "$mnt" ] && inside "$mnt"; then host_umount_under "$mnt"; fi
done
for dir in "$(get HOST_ROOT)" "$(get HOST_COPY_DIR)" "$work/root" "$work/overlay"; do
  if [ -z "$dir" ] || ! inside "$dir"; then continue; fi
  [ -e "$dir" ] || continue
  host_remove_tree "$dir"
  removed=1
done
if [ "${removed:-0}" = 1 ]; then
  host_log "removed the run's root file system in $(host_elapsed "$t") s"
fi
# The run's cgroups (boot.sh), deepest first: rmdir fails on a group that still has
# processes, and the run's cgroup was found empty above.
if [ -n "$cgroup" ]; then
  for hier in /sys/fs/cgroup/*/; do
    [ -d "$hier$cgroup" ] || continue
    find "$hier$cgroup" -depth -type d -exec rmdir {} + 2>/dev/null ||
      host_log "warning: cannot remove cgroup $hier$cgroup"
  done
fi
exit 0
