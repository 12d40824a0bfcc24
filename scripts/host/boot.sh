#!/usr/bin/env bash
# Boots a throwaway Debian test host (systemd-nspawn) reachable over SSH on loopback.
#
#   scripts/host/boot.sh SUITE WORKDIR
#   trap 'scripts/host/stop.sh WORKDIR' EXIT    # always: stop.sh is safe to call twice
#
# On success WORKDIR holds:
#   host.env      KEY=VALUE lines: HOST_PORT, HOST_KEY, HOST_USER, HOST_ADDR,
#                 HOST_NSPAWN_PID, HOST_LEADER_PID, HOST_ROOT, HOST_STATE (running or
#                 degraded), HOST_FAILED_UNITS (comma-separated), timings. The last line
#                 for a key wins. Never `source` it from an untrusted WORKDIR.
#   host.json     the same as one JSON object (for the Rust tests)
#   id_ed25519    the run's private key (id_ed25519.pub installed for root)
#   ssh_config    `ssh -F WORKDIR/ssh_config host CMD` works
#   ssh           executable wrapper: `WORKDIR/ssh CMD...` runs CMD on the host as root
#   inventory.yml Ansible inventory: the host in group $INFRAGEN_HOST_GROUP (asterisk)
#   host.ini      the same host as one INI inventory line
#   console.log   the container's console (boot messages), for failures
#
# Environment:
#   INFRAGEN_HOST_COPY     overlay | copy | auto (default auto: overlay, else cp -a)
#   INFRAGEN_HOST_UPPER    tmpfs | disk: where the overlay's writable layer lives
#                          (default tmpfs, INFRAGEN_HOST_TMPFS_SIZE, default 4g)
#   INFRAGEN_HOST_GROUP    inventory group of the host (default asterisk)
#   INFRAGEN_HOST_TIMEOUT  seconds to wait for boot and SSH (default 120)
#   INFRAGEN_HOST_WRITABLE_SYSCTL=1  let the container write /proc/sys and /sys
#                          (SYSTEMD_NSPAWN_API_VFS_WRITABLE): `sysctl vm.*` in it then
#                          changes THE MACHINE's kernel setting (vm.* is not
#                          namespaced). stop.sh puts vm.overcommit_memory back; the
#                          container's systemd-sysctl.service is masked so its boot
#                          does not apply Debian's defaults to the machine.
#   INFRAGEN_HOST_KEEP_ON_FAILURE=1  leave a failed boot running for inspection
#   plus rootfs.sh's INFRAGEN_HOST_CACHE / _PACKAGES / _MIRROR.
#
# The container shares the machine's network namespace (apt inside it needs the
# machine's route out, and no bridge exists here): every port a service in it opens is
# a port of the machine. See README.md beside this script.
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
# shellcheck source=lib.sh source-path=SCRIPTDIR
. "$here/lib.sh"

[ $# -eq 2 ] || host_die "usage: $0 SUITE WORKDIR"
suite=$1
host_require_root
mkdir -p "$2"
work=$(cd "$2" && pwd)
env_file="$work/host.env"
timeout=${INFRAGEN_HOST_TIMEOUT:-120}
group=${INFRAGEN_HOST_GROUP:-asterisk}
copy_mode=${INFRAGEN_HOST_COPY:-auto}
upper_fs=${INFRAGEN_HOST_UPPER:-tmpfs}
tmpfs_size=${INFRAGEN_HOST_TMPFS_SIZE:-4g}

# A WORKDIR whose host is still up must be stopped first: two containers on one tree
# would corrupt it.
if [ -f "$env_file" ]; then
  old_pid=$(host_env_get "$env_file" HOST_NSPAWN_PID)
  old_start=$(host_env_get "$env_file" HOST_NSPAWN_START)
  if host_proc_is "$old_pid" "$old_start"; then
    host_die "$work already has a running host (nspawn PID $old_pid): run stop.sh first"
  fi
  "$here/stop.sh" "$work"
  rm -f "$env_file"
fi

host_need_cmd systemd-nspawn systemd-container ssh openssh-client ssh-keygen openssh-client \
  nsenter util-linux

t_total=$(host_now)
lower=$("$here/rootfs.sh" "$suite")

ok=0
on_exit() {
  local rc=$?
  [ "$ok" = 1 ] && return 0
  host_log "boot failed (exit $rc); last console lines:"
  tail -n 25 "$work/console.log" 2>/dev/null | sed 's/^/  | /' >&2 || true
  if [ "${INFRAGEN_HOST_KEEP_ON_FAILURE:-0}" = 1 ]; then
    host_log "INFRAGEN_HOST_KEEP_ON_FAILURE=1: left running; stop with $here/stop.sh $work"
  else
    "$here/stop.sh" "$work" || true
  fi
}
trap on_exit EXIT
trap 'exit 130' INT TERM

host_env_set "$env_file" HOST_SUITE "$suite"
host_env_set "$env_file" HOST_WORKDIR "$work"
host_env_set "$env_file" HOST_LOWER "$lower"

# --- The run's own copy of the cached tree ------------------------------------------
# overlayfs costs nothing up front (the cached tree is the read-only lower layer and
# only what the run changes is written); cp -a copies the whole tree (ext4 has no
# reflinks) but works on any file system.
t_copy=$(host_now)
root="$work/root"
mode=$copy_mode
if [ "$mode" = auto ] || [ "$mode" = overlay ]; then
  mkdir -p "$work/overlay" "$root"
  # Recorded before mounting: if a mount succeeds and we die, stop.sh unmounts it.
  host_env_set "$env_file" HOST_MOUNT "$root"
  if [ "$upper_fs" = tmpfs ]; then
    # The run's writes in memory: dpkg fsyncs every file it unpacks, which on the
    # machine's disk makes a converge's apt installs several times slower, and
    # removing a few hundred MB of small files at stop takes seconds more.
    host_env_set "$env_file" HOST_UPPER_MOUNT "$work/overlay"
    mount -t tmpfs -o "size=$tmpfs_size,mode=0755" tmpfs "$work/overlay"
  fi
  mkdir -p "$work/overlay/upper" "$work/overlay/work"
  if mount -t overlay overlay \
    -o "lowerdir=$lower,upperdir=$work/overlay/upper,workdir=$work/overlay/work" "$root" 2>"$work/overlay.err"; then
    mode=overlay
  elif [ "$mode" = overlay ]; then
    host_die "overlay mount failed: $(cat "$work/overlay.err")"
  else
    host_log "overlay mount failed ($(cat "$work/overlay.err")); copying instead"
    rmdir "$root"
    host_umount_under "$work/overlay"
    rm -rf "$work/overlay"
    mode=copy
  fi
fi
if [ "$mode" = copy ]; then
  host_env_set "$env_file" HOST_COPY_DIR "$root"
  cp -a --reflink=auto "$lower" "$root"
elif [ "$mode" != overlay ]; then
  host_die "INFRAGEN_HOST_COPY must be overlay, copy or auto, not '$copy_mode'"
fi
host_env_set "$env_file" HOST_ROOT "$root"
host_env_set "$env_file" HOST_COPY_MODE "$mode"
copy_s=$(host_elapsed "$t_copy")
host_env_set "$env_file" HOST_COPY_SECONDS "$copy_s"
host_log "root file system ready by $mode in $copy_s s: $root"

# --- Per-run identity: name, SSH key, sshd port --------------------------------------
name="ig-$suite-$(head -c 3 /dev/urandom | od -An -tx1 | tr -d ' \n')"
host_env_set "$env_file" HOST_NAME "$name"
# The container's systemd sets the host name from /etc/hostname (debootstrap copied the
# machine's there), and sudo (Ansible's become) warns on every call when it does not
# resolve.
echo "$name" >"$root/etc/hostname"
printf '127.0.0.1\tlocalhost\n127.0.1.1\t%s\n::1\tlocalhost ip6-localhost ip6-loopback\n' \
  "$name" >"$root/etc/hosts"

key="$work/id_ed25519"
rm -f "$key" "$key.pub"
ssh-keygen -q -t ed25519 -N '' -C "infragen-host-test@$name" -f "$key"
install -d -m 0700 "$root/root/.ssh"
install -m 0600 "$key.pub" "$root/root/.ssh/authorized_keys"
host_env_set "$env_file" HOST_KEY "$key"

write_sshd_config() {
  cat >"$root/etc/ssh/sshd_config.d/00-infragen.conf" <<EOF
# Written by scripts/host/boot.sh: loopback only, this run's port (the test host
# shares the machine's network namespace).
ListenAddress 127.0.0.1
Port $1
PermitRootLogin prohibit-password
PasswordAuthentication no
UseDNS no
EOF
}
port=$(host_free_port)
write_sshd_config "$port"

# --- Boot ---------------------------------------------------------------------------
# nspawn refuses to clean up a /run/systemd/nspawn that is not a tmpfs, and this
# machine has no systemd to mount one. The tmpfs is shared by all runs and left
# mounted (it holds nothing once the containers are gone).
(
  flock 8
  mkdir -p /run/systemd/nspawn
  if [ "$(findmnt -n -o FSTYPE --target /run/systemd/nspawn)" != tmpfs ] ||
    ! mountpoint -q /run/systemd/nspawn; then
    mount -t tmpfs -o mode=0755 tmpfs /run/systemd/nspawn
  fi
) 8>/run/.infragen-nspawn.lock

# nspawn without systemd splits the cgroup it starts in into "payload" (the container)
# and "supervisor" (itself). Started from the machine's root cgroup, two containers
# would share one payload group and each one's systemd would see the other's
# processes. So each run starts nspawn in a cgroup of its own, in every hierarchy
# (cpuset excepted: a new cpuset group has no CPUs until configured). The memory, cpu,
# pids groups also let a test limit the whole host from outside (the container gets no
# delegated controller, so limits set inside it are not enforced).
cgroup="infragen/$name"
host_env_set "$env_file" HOST_CGROUP "$cgroup"
procs_files=()
for hier in /sys/fs/cgroup/*/; do
  hier=${hier%/}
  [ "${hier##*/}" = cpuset ] && continue
  [ -f "$hier/cgroup.procs" ] || continue
  mkdir -p "$hier/$cgroup"
  procs_files+=("$hier/$cgroup/cgroup.procs")
done
[ ${#procs_files[@]} -gt 0 ] || host_die "no writable cgroup hierarchy under /sys/fs/cgroup"

nspawn_env=()
if [ "${INFRAGEN_HOST_WRITABLE_SYSCTL:-0}" = 1 ]; then
  host_env_set "$env_file" HOST_RESTORE_OVERCOMMIT "$(cat /proc/sys/vm/overcommit_memory)"
  ln -sf /dev/null "$root/etc/systemd/system/systemd-sysctl.service"
  nspawn_env=(SYSTEMD_NSPAWN_API_VFS_WRITABLE=1)
  host_log "warning: /proc/sys is writable in the container: its sysctl changes the machine"
fi

t_boot=$(host_now)
# --register=no --keep-unit: there is no systemd (machined, bus) on this machine.
# --console=passive: no TTY needed, the console goes to console.log.
# setsid: the container must not share the caller's session or process group, so a
# terminal's Ctrl-C or a test runner's group kill does not hit it before stop.sh does.
# Run without a subshell so that $! is nspawn itself (setsid execs when the caller is
# not a process-group leader, which a background job of a script never is).
# The inner bash joins the run's cgroups, then becomes nspawn (same PID).
# shellcheck disable=SC2016 # expanded by the inner bash
env "${nspawn_env[@]}" setsid bash -c 'for f in "${@:2:$1}"; do echo $$ >"$f"; done; shift "$(($1 + 1))"; exec "$@"' \
  cgroup-join "${#procs_files[@]}" "${procs_files[@]}" \
  systemd-nspawn --quiet --directory="$root" --machine="$name" --boot \
  --register=no --keep-unit --console=passive --link-journal=no \
  </dev/null >"$work/console.log" 2>&1 &
nspawn_pid=$!
nspawn_start=$(host_proc_start "$nspawn_pid") || host_die "systemd-nspawn exited at once"
host_env_set "$env_file" HOST_NSPAWN_PID "$nspawn_pid"
host_env_set "$env_file" HOST_NSPAWN_START "$nspawn_start"

# The container's PID 1 is nspawn's child whose PID in its own namespace is 1.
find_leader() {
  local status pid
  for status in /proc/[0-9]*/status; do
    pid=${status#/proc/}
    pid=${pid%/status}
    awk -v p="$nspawn_pid" '
      $1 == "PPid:" && $2 == p { child = 1 }
      $1 == "NSpid:" && NF == 3 && $3 == 1 { inner = 1 }
      END { exit !(child && inner) }' "$status" 2>/dev/null && { echo "$pid"; return 0; }
  done
  return 1
}
deadline=$(($(date +%s) + timeout))
leader=
while [ -z "$leader" ]; do
  host_proc_is "$nspawn_pid" "$nspawn_start" || host_die "systemd-nspawn exited during start"
  [ "$(date +%s)" -lt "$deadline" ] || host_die "no container leader after ${timeout}s"
  leader=$(find_leader) || { leader=; sleep 0.1; }
done
leader_start=$(host_proc_start "$leader")
host_env_set "$env_file" HOST_LEADER_PID "$leader"
host_env_set "$env_file" HOST_LEADER_START "$leader_start"

# is-system-running says "starting" until the boot job queue is empty, then "running",
# or "degraded" when some unit failed. Before systemd listens it fails: keep polling.
state=
while :; do
  host_proc_is "$nspawn_pid" "$nspawn_start" || host_die "container exited during boot"
  state=$(host_nsenter "$leader" systemctl is-system-running 2>/dev/null) || true
  case $state in running | degraded) break ;; esac
  [ "$(date +%s)" -lt "$deadline" ] || host_die "container not up after ${timeout}s (state '$state')"
  sleep 0.2
done
boot_s=$(host_elapsed "$t_boot")
failed=$(host_nsenter "$leader" systemctl list-units --failed --plain --no-legend --no-pager |
  awk '{ print $1 }' | paste -sd, -)
host_env_set "$env_file" HOST_STATE "$state"
host_env_set "$env_file" HOST_FAILED_UNITS "${failed:-}"
host_env_set "$env_file" HOST_BOOT_SECONDS "$boot_s"
if [ "$state" = degraded ]; then
  host_log "booted in $boot_s s, DEGRADED; failed units: $failed"
else
  host_log "booted in $boot_s s ($state)"
fi

# --- SSH ----------------------------------------------------------------------------
ssh_opts=(-i "$key" -o IdentitiesOnly=yes -o BatchMode=yes -o StrictHostKeyChecking=no
  -o UserKnownHostsFile=/dev/null -o LogLevel=ERROR -o ConnectTimeout=5)
# The port was free when picked but another process may have taken it before sshd
# bound it: then pick another and restart sshd inside, a few times.
t_ssh=$(host_now)
for attempt in 1 2 3 4; do
  for _ in $(seq 1 50); do
    if ssh "${ssh_opts[@]}" -p "$port" root@127.0.0.1 true 2>/dev/null; then
      break 2
    fi
    host_proc_is "$nspawn_pid" "$nspawn_start" || host_die "container exited while waiting for SSH"
    if host_nsenter "$leader" systemctl is-failed --quiet ssh.service; then
      break
    fi
    sleep 0.2
  done
  [ "$attempt" -lt 4 ] || host_die "sshd in the container does not answer on port $port"
  host_log "sshd not reachable on $port (attempt $attempt): $(host_nsenter "$leader" \
    journalctl -u ssh.service -n 3 --no-pager -o cat 2>/dev/null | tr '\n' ' ')"
  port=$(host_free_port)
  write_sshd_config "$port"
  host_nsenter "$leader" systemctl restart ssh.service || true
done
ssh_s=$(host_elapsed "$t_ssh")
host_env_set "$env_file" HOST_PORT "$port"
host_env_set "$env_file" HOST_ADDR 127.0.0.1
host_env_set "$env_file" HOST_USER root
host_env_set "$env_file" HOST_SSH_SECONDS "$ssh_s"

# --- What callers use ---------------------------------------------------------------
cat >"$work/ssh_config" <<EOF
Host host $name
  HostName 127.0.0.1
  Port $port
  User root
  IdentityFile $key
  IdentitiesOnly yes
  BatchMode yes
  StrictHostKeyChecking no
  UserKnownHostsFile /dev/null
  LogLevel ERROR
  ConnectTimeout 5
EOF
cat >"$work/ssh" <<EOF
#!/bin/sh
# Runs a command on the test host $name as root: $work/ssh 'systemctl is-active ssh'
exec ssh -F '$work/ssh_config' host "\$@"
EOF
chmod 0755 "$work/ssh"

ssh_args="-o StrictHostKeyChecking=no -o UserKnownHostsFile=/dev/null -o IdentitiesOnly=yes"
printf '%s ansible_host=127.0.0.1 ansible_port=%s ansible_user=root ansible_ssh_private_key_file=%s ansible_python_interpreter=/usr/bin/python3 ansible_ssh_common_args="%s"\n' \
  "$name" "$port" "$key" "$ssh_args" >"$work/host.ini"
cat >"$work/inventory.yml" <<EOF
# Test host $name booted by scripts/host/boot.sh ($suite).
all:
  children:
    $group:
      hosts:
        $name:
          ansible_host: 127.0.0.1
          ansible_port: $port
          ansible_user: root
          ansible_ssh_private_key_file: $key
          ansible_python_interpreter: /usr/bin/python3
          ansible_ssh_common_args: "$ssh_args"
EOF

total_s=$(host_elapsed "$t_total")
host_env_set "$env_file" HOST_TOTAL_SECONDS "$total_s"
python3 "$here/helper.py" env-json "$env_file" >"$work/host.json"
ok=1
host_log "host $name ($suite) up in $total_s s: ssh -F $work/ssh_config host  (port $port)"
