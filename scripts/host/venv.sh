#!/usr/bin/env bash
# Creates (once) the Python venv of the host tests and prints its path on stdout.
#
#   venv=$(scripts/host/venv.sh)     # then "$venv/bin/ansible-playbook", moto_server ...
#
# Holds requirements-host.txt beside this script: ansible-core + the ansible bundle
# (amazon.aws), boto3, moto[server]. Cached under INFRAGEN_HOST_CACHE, keyed by the
# requirements file and the Python version; override the location with
# INFRAGEN_HOST_VENV. A venv cannot be moved (its scripts name their interpreter by
# absolute path), so it is built in place and a stamp written last marks it complete:
# a venv without the stamp is a killed build and is built again.
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
# shellcheck source=lib.sh source-path=SCRIPTDIR
. "$here/lib.sh"

req="$here/requirements-host.txt"
py=${INFRAGEN_HOST_PYTHON:-python3}
key=$({ cat "$req"; "$py" --version; } | sha256sum | cut -c1-12)
venv=${INFRAGEN_HOST_VENV:-$INFRAGEN_HOST_CACHE/venv-$key}
stamp="$venv/.infragen-host-venv"

mkdir -p "$(dirname "$venv")"
exec 9>"$venv.lock"
flock 9
if [ -f "$stamp" ] && [ "$(cat "$stamp")" = "$key" ]; then
  echo "$venv"
  exit 0
fi
t=$(host_now)
host_log "creating host venv $venv ($("$py" --version))"
rm -rf -- "$venv"
"$py" -m venv "$venv"
log="$venv/.pip-install.log"
if ! "$venv/bin/python" -m pip install --disable-pip-version-check -q -r "$req" >"$log" 2>&1; then
  tail -n 20 "$log" >&2
  host_die "pip install -r $req failed (log: $log)"
fi
echo "$key" >"$stamp"
host_log "host venv ready in $(host_elapsed "$t") s ($(du -sh "$venv" | cut -f1))"
echo "$venv"
