#!/usr/bin/env bash
# Builds the solution and runs every test project. One RabbitMQ node and one PostgreSQL cluster are started
# for the whole run (state in .hub/test-nodes, free ports) and handed to every test fixture through the
# HUB_EXTERNAL_NODES variables; each fixture takes its own virtual host, users and databases on them. The nodes
# are stopped on exit, however the run ends. Extra arguments go to dotnet test, e.g.
#   deploy/test.sh --filter "FullyQualifiedName~LocalHub"
# Exit code: the tests'. Run as root (re-executes with sudo otherwise).
set -euo pipefail
source "$(dirname "${BASH_SOURCE[0]}")/common.sh"
require_root "$@"
cd "$repo_root"

deploy/prerequisites.sh
dotnet build FamiljecentralHub.sln -c Debug --nologo --verbosity quiet

state=.hub/test-nodes
stop_nodes() {
  localhub Debug stop --state-dir "$state" >/dev/null 2>&1 || echo "test.sh: stopping the test nodes failed; see $state/hub-state.json" >&2
}
trap stop_nodes EXIT
# 'exit' runs the EXIT trap, so an interrupted run also stops the nodes.
trap 'exit 130' INT
trap 'exit 143' TERM

exports="$(localhub Debug nodes --state-dir "$state")"
eval "$exports"

status=0
log="$state/dotnet-test.log"
# One test assembly at a time: the end-to-end and fault suites each run whole hubs, and side by side on a small
# machine they starve each other into timeouts that say nothing about the hub.
dotnet test FamiljecentralHub.sln --no-build -m:1 "$@" 2>&1 | tee "$log" || status=$?
# One closing line for the whole run, summed over the test assemblies' own summaries.
awk '/(Passed|Failed)! +- +Failed:/ { gsub(/,/, ""); for (i = 1; i <= NF; i++) { if ($i == "Failed:") f += $(i+1); if ($i == "Passed:") p += $(i+1) } }
     END { printf "%d passed, %d failed\n", p, f }' "$log"
exit "$status"
