#!/usr/bin/env bash
# Builds the solution (Release) and starts a local hub on the fixed ports: gateway https://127.0.0.1:8443,
# RabbitMQ 5672 (management 15672), PostgreSQL 5432, services 5101-5106. Ctrl-C or deploy/stop.sh stops it.
# --broker-nodes 3 starts a RabbitMQ cluster instead (5672-5674, management 15672-15674).
# Every process runs in Production, as a deployment does; --environment Development only on a machine no one else
# reaches (DI scope validation and developer pages; the hub still answers every error with a bare ProblemDetails).
# Run as root (re-executes with sudo otherwise).
set -euo pipefail
source "$(dirname "${BASH_SOURCE[0]}")/common.sh"
require_root "$@"

"$repo_root/deploy/prerequisites.sh"
echo "Building ..."
dotnet build "$repo_root/FamiljecentralHub.sln" -c Release --nologo --verbosity quiet
exec dotnet "$repo_root/deploy/LocalHub/bin/Release/net10.0/FamiljecentralHub.LocalHub.dll" run "$@"
