#!/usr/bin/env bash
# Builds the solution (Release) and starts a local hub on the fixed ports: gateway https://127.0.0.1:8443,
# RabbitMQ 5672 (management 15672, Prometheus plugin 15692), PostgreSQL 5432, services 5101-5106. Ctrl-C or
# deploy/stop.sh stops it.
# --broker-nodes 3 starts a RabbitMQ cluster instead (5672-5674, management 15672-15674).
# --monitoring also starts Prometheus (127.0.0.1:9090) and Alertmanager (127.0.0.1:9093) from Debian's packages
# (installed when missing) with deploy/monitoring's scrape configuration and alerting rules, as the prometheus user,
# their data under .hub/monitoring; they stop with the hub (docs/alerts.md).
# Every process runs in Production, as a deployment does; --environment Development only on a machine no one else
# reaches (DI scope validation and developer pages; the hub still answers every error with a bare ProblemDetails).
# Run as root (re-executes with sudo otherwise).
set -euo pipefail
source "$(dirname "${BASH_SOURCE[0]}")/common.sh"
require_root "$@"

monitoring=0
args=()
for arg in "$@"; do
  if [[ $arg == --monitoring ]]; then monitoring=1; else args+=("$arg"); fi
done

"$repo_root/deploy/prerequisites.sh"
echo "Building ..."
dotnet build "$repo_root/FamiljecentralHub.sln" -c Release --nologo --verbosity quiet
if [[ $monitoring == 0 ]]; then
  exec dotnet "$repo_root/deploy/LocalHub/bin/Release/net10.0/FamiljecentralHub.LocalHub.dll" run "${args[@]}"
fi

if ! command -v prometheus >/dev/null || ! command -v prometheus-alertmanager >/dev/null; then
  echo "Installing prometheus and prometheus-alertmanager ..."
  apt-get update -qq
  # Debian's packages start their own daemons where they can (with the default configuration): not these.
  DEBIAN_FRONTEND=noninteractive RUNLEVEL=1 apt-get install -y -qq --no-install-recommends prometheus prometheus-alertmanager >/dev/null
fi
"$repo_root/deploy/monitoring/check.sh" >/dev/null

data="$repo_root/.hub/monitoring"
mkdir -p "$data/prometheus" "$data/alertmanager"
chown -R prometheus:prometheus "$data"
pids=()
stop_monitoring() {
  # Only the two processes started here, by their ids.
  for pid in "${pids[@]}"; do kill "$pid" 2>/dev/null || true; done
  for pid in "${pids[@]}"; do wait "$pid" 2>/dev/null || true; done
}
trap stop_monitoring EXIT
trap 'exit 130' INT
trap 'exit 143' TERM
runuser -u prometheus -- prometheus-alertmanager \
  --config.file="$repo_root/deploy/monitoring/alertmanager.yml" --storage.path="$data/alertmanager" \
  --web.listen-address=127.0.0.1:9093 --cluster.listen-address= >"$data/alertmanager.log" 2>&1 &
pids+=($!)
runuser -u prometheus -- prometheus \
  --config.file="$repo_root/deploy/monitoring/prometheus.yml" --storage.tsdb.path="$data/prometheus" \
  --web.listen-address=127.0.0.1:9090 >"$data/prometheus.log" 2>&1 &
pids+=($!)
echo "Prometheus http://127.0.0.1:9090 and Alertmanager http://127.0.0.1:9093 (logs in $data)."
dotnet "$repo_root/deploy/LocalHub/bin/Release/net10.0/FamiljecentralHub.LocalHub.dll" run "${args[@]}"
