#!/usr/bin/env bash
# Builds the solution (Release), starts a fresh hub on free ports with private nodes, sends referrals through the
# gateway at a steady rate (default 200/s for 30 s after a 30 s warm-up) and prints throughput and
# submit → delivered latency percentiles. Extra arguments go to the bench command, e.g.
#   deploy/bench.sh --rate 300 --seconds 60 --output docs/bench.txt
# Run as root (re-executes with sudo otherwise).
set -euo pipefail
source "$(dirname "${BASH_SOURCE[0]}")/common.sh"
require_root "$@"

"$repo_root/deploy/prerequisites.sh"
echo "Building ..."
dotnet build "$repo_root/FamiljecentralHub.sln" -c Release --nologo --verbosity quiet
localhub Release bench "$@"
