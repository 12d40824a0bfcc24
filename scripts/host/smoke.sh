#!/usr/bin/env bash
# End-to-end check of the harness with the current generated output: boot a host,
# converge the generated playbook twice (and a third time), and report what Redis is
# running afterwards. Prints a summary; exits 0 when the harness itself worked, whatever
# the converges did (their exit codes are in the summary: this is a probe, not a test).
#
#   scripts/host/smoke.sh [SUITE] [ENV]        # default bookworm dev
#
# WORKDIR is a new /tmp/infragen-host.XXXXXX, kept for its logs unless
# INFRAGEN_SMOKE_CLEAN=1; the host and moto are always stopped (trap).
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
# shellcheck source=lib.sh source-path=SCRIPTDIR
. "$here/lib.sh"

suite=${1:-bookworm}
envname=${2:-dev}
work=$(mktemp -d /tmp/infragen-host.XXXXXX)
cleanup() {
  "$here/stop.sh" "$work" || true
  if [ "${INFRAGEN_SMOKE_CLEAN:-0}" = 1 ]; then rm -rf "$work"; fi
}
trap cleanup EXIT
trap 'exit 130' INT TERM

t=$(host_now)
"$here/boot.sh" "$suite" "$work"
get() { host_env_get "$work/host.env" "$1"; }

for n in 1 2 3; do
  "$here/converge.sh" "$work" "$envname" || true
done

pw=$(cat "$work/redis-password-$envname")
port=$(sed -n 's/^redis_port: *//p' "$work/inventory-$envname/group_vars/"*/redis.yml | head -n 1)
# What the running server uses, asked with and without the password (redis-cli exits 0
# either way: the answers tell).
probe=$("$work/ssh" "echo '--- without password:'; redis-cli -p $port ping 2>&1;
  echo '--- with password:'; REDISCLI_AUTH='$pw' redis-cli --no-auth-warning -p $port CONFIG GET maxmemory 2>&1 | paste -sd' ';
  echo '--- redis-server:'; redis-server --version | cut -d' ' -f3;
  echo \"oom_score_adj \$(cat /proc/\$(pidof redis-server)/oom_score_adj)\";
  echo '--- systemd:'; systemctl is-active redis-server redis-metrics.timer | paste -sd' ';
  systemctl is-system-running; systemctl --failed --plain --no-legend | cut -d' ' -f1 | paste -sd' '" || true)

repo=$(cd "$here/../.." && pwd)
ansible_dir=${INFRAGEN_ANSIBLE_DIR:-$repo/generated/ansible}
# Which generated output was tested: it changes while people work.
fingerprint=$(cd "$ansible_dir" && find . -type f -print0 | sort -z | xargs -0 sha256sum | sha256sum | cut -c1-12)
echo "=== smoke $suite/$envname in $work ($(host_elapsed "$t") s), $ansible_dir fingerprint $fingerprint"
echo "boot: copy $(get HOST_COPY_SECONDS) s ($(get HOST_COPY_MODE)), boot $(get HOST_BOOT_SECONDS) s, ssh $(get HOST_SSH_SECONDS) s, state $(get HOST_STATE) [$(get HOST_FAILED_UNITS)]"
for n in 1 2 3; do
  log="$work/converge-$envname-$n.log"
  echo "converge #$n: exit $(get "HOST_CONVERGE_${envname^^}_${n}_RC") in $(get "HOST_CONVERGE_${envname^^}_${n}_SECONDS") s: $(grep -E '^\S+ +: ok=' "$log" | sed 's/  */ /g')"
  grep -E '^fatal:|^\[ERROR\]' "$log" | cut -c1-300 | sed 's/^/    /' || true
done
echo "$probe"
