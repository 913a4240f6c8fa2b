#!/usr/bin/env bash
# deploy/bench.sh with CPU accounting: runs the same benchmark (arguments go to it, e.g. --rate 200 --seconds 30
# --warm-up 120) while sampling every process of the hub from /proc, then prints CPU milliseconds per referral per
# process over the measured sending phase (3 s trimmed at each end). Run as root. Figures: docs/benchmarks.md.
# HUB_BENCH_NICE=-15 runs the hub ahead of anything else on a shared machine (the machine total then still shows it).
set -euo pipefail
source "$(dirname "${BASH_SOURCE[0]}")/common.sh"
require_root "$@"

work=$(mktemp -d)
trap 'kill "$sampler" 2>/dev/null || true; rm -rf "$work"' EXIT
python3 "$repo_root/deploy/cpu-per-process.py" sample "$work/cpu" "$repo_root" &
sampler=$!

nice -n "${HUB_BENCH_NICE:-0}" "$repo_root/deploy/bench.sh" "$@" > "$work/out" 2>&1 &
bench=$!
seen=0
stamp() { # prints the new output lines, and keeps each with the time it was first seen in $work/stamped
  local n; n=$(wc -l < "$work/out")
  if (( n > seen )); then
    sed -n "$((seen + 1)),${n}p" "$work/out" > "$work/new"
    cat "$work/new"
    sed "s/^/$(date +%s.%N) /" "$work/new" >> "$work/stamped"
    seen=$n
  fi
}
while kill -0 "$bench" 2>/dev/null; do stamp; sleep 0.5; done
status=0; wait "$bench" || status=$?
stamp

t0=$(awk '/ Sending [0-9]+ referrals/ {print $1; exit}' "$work/stamped")
t1=$(awk '/ Waiting for [0-9]+ deliveries/ {print $1; exit}' "$work/stamped")
count=$(awk '/ Sending [0-9]+ referrals/ {print $3; exit}' "$work/stamped")
if [[ -n $t0 && -n $t1 ]]; then
  # Referrals are sent evenly over [t0, t1]: the trimmed window holds its share of them.
  python3 - "$work/cpu" "$t0" "$t1" "$count" "$repo_root/deploy/cpu-per-process.py" <<'PY'
import subprocess, sys
cpu, t0, t1, count, script = sys.argv[1], float(sys.argv[2]), float(sys.argv[3]), int(sys.argv[4]), sys.argv[5]
a, b = t0 + 3, t1 - 3
subprocess.run([sys.executable, script, "window", cpu, str(a), str(b), str(int(count * (b - a) / (t1 - t0)))], check=True)
PY
fi
exit "$status"
