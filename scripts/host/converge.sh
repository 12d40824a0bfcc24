#!/usr/bin/env bash
# Runs the generated Redis playbook against a host booted by boot.sh, the way a user
# would: real ansible-playbook over SSH with become, the environment's generated
# group_vars, and the password read by the role's amazon.aws.secretsmanager_secret
# lookup from a local moto endpoint.
#
#   scripts/host/converge.sh WORKDIR [ENV] [-- ANSIBLE-PLAYBOOK ARGS...]
#
# ENV defaults to dev. The exit code is ansible-playbook's. Each run's output goes to
# WORKDIR/converge-ENV-N.log (N counts runs) and its PLAY RECAP is echoed.
# On the first call it starts moto (moto.sh) and stores a random 32-character
# alphanumeric password under the group_vars' redis_password_secret_name in
# redis_aws_region; later calls store the same one again (moto may have restarted).
# The password is kept in WORKDIR/redis-password-ENV (mode 0600) for the assertions.
#
# Environment:
#   INFRAGEN_ANSIBLE_DIR  generated Ansible tree (default <repo>/generated/ansible);
#                         a test of fresh output passes its `gen --out DIR`/ansible
#   INFRAGEN_HOST_GROUP   group of the host in the inventory (default asterisk)
#   INFRAGEN_SECRET_FROM_AWS=1  the secret already exists (a Terraform apply made it):
#                         read it, never write it
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
# shellcheck source=lib.sh source-path=SCRIPTDIR
. "$here/lib.sh"

[ $# -ge 1 ] || host_die "usage: $0 WORKDIR [ENV] [-- ansible-playbook args]"
work=$(cd "$1" && pwd)
shift
envname=dev
if [ $# -ge 1 ] && [ "$1" != -- ]; then envname=$1; shift; fi
[ $# -ge 1 ] && [ "$1" = -- ] && shift
repo=$(cd "$here/../.." && pwd)
ansible_dir=$(cd "${INFRAGEN_ANSIBLE_DIR:-$repo/generated/ansible}" && pwd)
group_vars_src="$ansible_dir/inventory/$envname/group_vars"
[ -d "$group_vars_src" ] || host_die "no group_vars for environment '$envname' in $ansible_dir/inventory"
[ -f "$work/inventory.yml" ] || host_die "$work has no booted host (run boot.sh first)"
host_proc_is "$(host_env_get "$work/host.env" HOST_NSPAWN_PID)" \
  "$(host_env_get "$work/host.env" HOST_NSPAWN_START)" || host_die "the host of $work is not running"

venv=$("$here/venv.sh")

# A fresh inventory per run: the host from boot.sh plus the generated group_vars, as
# they are now (the test may have regenerated them).
inv="$work/inventory-$envname"
rm -rf "$inv"
mkdir -p "$inv"
cp "$work/inventory.yml" "$inv/hosts.yml"
cp -a "$group_vars_src" "$inv/group_vars"

# The secret's name and region as the role will look them up.
read -r secret_name region < <("$venv/bin/python" - "$inv/group_vars" <<'EOF'
import pathlib, sys, yaml
vals = {}
for f in sorted(pathlib.Path(sys.argv[1]).rglob("*.yml")):
    vals.update(yaml.safe_load(f.read_text()) or {})
print(vals["redis_password_secret_name"], vals["redis_aws_region"])
EOF
)

endpoint=$("$here/moto.sh" start "$work")
pw_file="$work/redis-password-$envname"
if [ "${INFRAGEN_SECRET_FROM_AWS:-}" = 1 ]; then
  (
    umask 077
    "$venv/bin/python" "$here/helper.py" get-secret "$endpoint" "$region" "$secret_name" >"$pw_file"
  )
elif [ -s "$pw_file" ]; then
  "$venv/bin/python" "$here/helper.py" put-secret "$endpoint" "$region" "$secret_name" \
    --value "$(cat "$pw_file")" >/dev/null
else
  (
    umask 077
    "$venv/bin/python" "$here/helper.py" put-secret "$endpoint" "$region" "$secret_name" >"$pw_file"
  )
fi
host_log "secret '$secret_name' ($region) in moto at $endpoint"

# Each consumer's own secret (redis_consumers[].secret_name), as Terraform makes them:
# kept in WORKDIR/redis-password-ENV-CONSUMER (0600); read back when Terraform made it.
while read -r consumer consumer_secret; do
  [ -n "$consumer" ] || continue
  cpw="$work/redis-password-$envname-$consumer"
  if [ "${INFRAGEN_SECRET_FROM_AWS:-}" = 1 ]; then
    (umask 077; "$venv/bin/python" "$here/helper.py" get-secret "$endpoint" "$region" "$consumer_secret" >"$cpw")
  elif [ -s "$cpw" ]; then
    "$venv/bin/python" "$here/helper.py" put-secret "$endpoint" "$region" "$consumer_secret" \
      --value "$(cat "$cpw")" >/dev/null
  else
    (umask 077; "$venv/bin/python" "$here/helper.py" put-secret "$endpoint" "$region" "$consumer_secret" >"$cpw")
  fi
done < <("$venv/bin/python" - "$inv/group_vars" <<'EOF2'
import pathlib, sys, yaml
vals = {}
for f in sorted(pathlib.Path(sys.argv[1]).rglob("*.yml")):
    vals.update(yaml.safe_load(f.read_text()) or {})
for c in vals.get("redis_consumers") or []:
    print(c["name"], c["secret_name"])
EOF2
)

# An ansible.cfg of our own: one found in the caller's directory or home must not
# change what is tested.
cat >"$work/ansible.cfg" <<EOF
[defaults]
roles_path = $ansible_dir/roles
host_key_checking = False
retry_files_enabled = False
local_tmp = $work/ansible-tmp
nocolor = True
# Per-task durations at the end of each log: where a converge spends its time.
callbacks_enabled = ansible.posix.profile_tasks
[ssh_connection]
# One SSH connection for many tasks; sudo on Debian does not require a TTY.
pipelining = True
EOF

n=1
while [ -e "$work/converge-$envname-$n.log" ]; do n=$((n + 1)); done
log="$work/converge-$envname-$n.log"
t=$(host_now)
rc=0
# Fake credentials and the moto endpoint for the controller (the lookup runs there);
# AWS_PROFILE/AWS_CONFIG_FILE of the caller are dropped so no real account is used.
env -u AWS_PROFILE -u AWS_DEFAULT_PROFILE \
  AWS_CONFIG_FILE=/dev/null AWS_SHARED_CREDENTIALS_FILE=/dev/null \
  AWS_ENDPOINT_URL="$endpoint" AWS_ACCESS_KEY_ID=testing AWS_SECRET_ACCESS_KEY=testing \
  AWS_SESSION_TOKEN=testing AWS_DEFAULT_REGION="$region" \
  ANSIBLE_CONFIG="$work/ansible.cfg" ANSIBLE_FORCE_COLOR=0 PYTHONUNBUFFERED=1 \
  "$venv/bin/ansible-playbook" -i "$inv" "$ansible_dir/redis.yml" "$@" \
  >"$log" 2>&1 || rc=$?
secs=$(host_elapsed "$t")
host_env_set "$work/host.env" "HOST_CONVERGE_${envname^^}_${n}_SECONDS" "$secs"
host_env_set "$work/host.env" "HOST_CONVERGE_${envname^^}_${n}_RC" "$rc"
python3 "$here/helper.py" env-json "$work/host.env" >"$work/host.json"
host_log "converge $envname #$n: exit $rc in $secs s (log: $log)"
sed -n '/^PLAY RECAP/,$p' "$log" >&2
exit "$rc"
