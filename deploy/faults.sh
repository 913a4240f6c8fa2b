#!/usr/bin/env bash
# The fault-injection suite on its own: builds the solution and runs tests/Faults.Tests, which start whole hubs on
# private nodes (one broker, a 3-node cluster, two instances of every service), inject each fault under a steady
# stream of referrals, count lost, duplicated and leaked messages, and write the table to .hub/fault-results.md (docs/fault-results.md
# is a dated copy of a whole run, taken by hand).
# deploy/test.sh (and so CI) runs the same tests with everything else. About six minutes on two cores.
# Extra arguments go to dotnet test, e.g.  deploy/faults.sh --filter "FullyQualifiedName~BrokerKilled"
# Run as root (re-executes with sudo otherwise).
set -euo pipefail
source "$(dirname "${BASH_SOURCE[0]}")/common.sh"
require_root "$@"
cd "$repo_root"

deploy/prerequisites.sh
dotnet build FamiljecentralHub.sln -c Debug --nologo --verbosity quiet
status=0
dotnet test tests/Faults.Tests --no-build "$@" || status=$?
if [[ -f .hub/fault-results.md ]]; then
  cat .hub/fault-results.md
fi
exit "$status"
