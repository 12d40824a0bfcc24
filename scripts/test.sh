#!/usr/bin/env bash
# The one command that runs every test, on a fresh machine or a used one:
#   1. installs the real tools (pinned; cached in .venv/ and apt between runs);
#   2. checks formatting and lints (rustfmt, clippy with warnings as errors);
#   3. runs the whole test suite, the real-tool, plan and booted-host tests included
#      (they are ignored in a plain `cargo test`; here a missing tool fails them).
set -euo pipefail
cd "$(dirname "$0")/.."

bash scripts/setup-tools.sh

export PYTHONDONTWRITEBYTECODE=1

echo "== cargo fmt --check"
cargo fmt --all -- --check
echo "== cargo clippy"
cargo clippy --locked --all-targets -- -D warnings
echo "== cargo test"
# --include-ignored: the booted-host tests (tests/it/host.rs) are ignored in a plain
# `cargo test`; this command has installed what they need.
cargo test --locked -- --include-ignored
