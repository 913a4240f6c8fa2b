#!/usr/bin/env bash
# Issue 16's ledger benchmark: builds the solution (Release), starts a scratch PostgreSQL, applies the consent service's
# migrations, writes a valid hash chain of generated entries (default ten million), times the verification verify-ledger
# runs (entries per second, memory), shows that an entry altered in the middle is named, and times the family's log
# extract by subject pseudonym. Extra arguments go to the command, e.g.
#   deploy/bench-ledger.sh --entries 1000000 --runs 1 --output /tmp/ledger.txt
# Run as root (re-executes with sudo otherwise).
set -euo pipefail
source "$(dirname "${BASH_SOURCE[0]}")/common.sh"
require_root "$@"

"$repo_root/deploy/prerequisites.sh"
echo "Building ..."
dotnet build "$repo_root/FamiljecentralHub.sln" -c Release --nologo --verbosity quiet
localhub Release bench-ledger "$@"
