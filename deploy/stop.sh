#!/usr/bin/env bash
# Stops the hub deploy/run.sh started (from another terminal): exactly the processes and nodes it recorded in
# .hub/hub-state.json, nothing else. Run as root (re-executes with sudo otherwise).
set -euo pipefail
source "$(dirname "${BASH_SOURCE[0]}")/common.sh"
require_root "$@"

for configuration in Release Debug; do
  if [[ -f "$repo_root/deploy/LocalHub/bin/$configuration/net10.0/FamiljecentralHub.LocalHub.dll" ]]; then
    exec dotnet "$repo_root/deploy/LocalHub/bin/$configuration/net10.0/FamiljecentralHub.LocalHub.dll" stop "$@"
  fi
done
echo "LocalHub is not built, so no hub can be running (deploy/run.sh builds it)." >&2
