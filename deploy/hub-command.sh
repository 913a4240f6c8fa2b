#!/usr/bin/env bash
# Runs a service of the hub that deploy/run.sh started once as a command, with the running service's own settings
# (its connection strings and broker user, read from the running process). For example:
#   deploy/hub-command.sh consent verify-ledger
#   deploy/hub-command.sh consent errors
#   deploy/hub-command.sh child-health errors redrive <message-id>
# Run as root (re-executes with sudo otherwise): only root reads another process's environment.
set -euo pipefail
source "$(dirname "${BASH_SOURCE[0]}")/common.sh"
require_root "$@"
exec dotnet "$repo_root/deploy/LocalHub/bin/Release/net10.0/FamiljecentralHub.LocalHub.dll" exec "$@"
