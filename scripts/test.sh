#!/usr/bin/env bash
# The one command that runs every test, on a fresh machine or a used one:
#   1. installs the real tools (pinned; cached in .venv/ and apt between runs);
#   2. checks formatting and lints: rustfmt, clippy with warnings as errors, shellcheck on
#      every shell script, ruff (lint and format) on every Python file;
#   3. runs the whole test suite, the real-tool, plan and booted-host tests included
#      (they are ignored in a plain `cargo test`; here a missing tool fails them).
set -euo pipefail
cd "$(dirname "$0")/.."

# Each stage's time, for the README's table of what the command costs.
stage_start=$SECONDS
stage_done() { echo "-- $1: $((SECONDS - stage_start)) s"; stage_start=$SECONDS; }

bash scripts/setup-tools.sh
stage_done "setup (packages, venvs, test hosts)"

export PYTHONDONTWRITEBYTECODE=1

echo "== cargo fmt --check"
cargo fmt --all -- --check
echo "== cargo clippy"
cargo clippy --locked --all-targets -- -D warnings
stage_done "rustfmt and clippy (with the build)"
# The scripts are a second codebase (the host harness, the benchmark, and the Python the
# role installs on production hosts, where it runs as root): the same gate as the Rust.
echo "== shellcheck"
# Every tracked shell script: *.sh, and any file whose first line starts sh or bash.
sh_files=()
while IFS= read -r -d '' f; do
  [ -f "$f" ] || continue
  if [[ $f == *.sh ]] || head -n 1 -- "$f" | grep -qE '^#!.*[/ ](ba|da)?sh( |$)'; then
    sh_files+=("$f")
  fi
done < <(git ls-files -z)
[ ${#sh_files[@]} -gt 0 ] || { echo "test.sh: no shell script found (not a git checkout?)" >&2; exit 1; }
.venv/bin/shellcheck --external-sources "${sh_files[@]}"
echo "shellcheck: ${#sh_files[@]} scripts clean"
echo "== ruff"
.venv/bin/ruff check --no-cache .
.venv/bin/ruff format --check --no-cache .
stage_done "shellcheck and ruff"
echo "== cargo test"
# --include-ignored: the booted-host tests (tests/it/host.rs) are ignored in a plain
# `cargo test`; this command has installed what they need.
# Nothing is printed after it: its closing "test result" lines end the output.
cargo test --locked -- --include-ignored
