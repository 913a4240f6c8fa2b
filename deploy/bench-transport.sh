#!/usr/bin/env bash
# Issue 16, S2: the hub's transport (MassTransit 8.5 on RabbitMQ) against RabbitMQ.Client 7 alone, on one private
# RabbitMQ node of its own (free ports, stopped at the end however the run ends): the same ~1 KB message on a quorum
# queue, publisher confirms, manual acknowledgement, at 1, 8 and 64 in flight. Prints messages/s, publish → consume
# latency and CPU per message (this process and the broker). Builds the solution (Release) first. Extra arguments go to
# the command, e.g.
#   deploy/bench-transport.sh --seconds 20 --warm-up 5 --inflight 1,8,64 --body-bytes 1024 --output docs/benchmarks.md
# Run as root (re-executes with sudo otherwise): the node runs as the rabbitmq user.
set -euo pipefail
source "$(dirname "${BASH_SOURCE[0]}")/common.sh"
require_root "$@"

"$repo_root/deploy/prerequisites.sh"
echo "Building ..."
dotnet build "$repo_root/FamiljecentralHub.sln" -c Release --nologo --verbosity quiet
localhub Release bench-transport "$@"
