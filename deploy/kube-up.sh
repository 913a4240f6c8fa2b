#!/usr/bin/env bash
# Brings the hub up from the Kubernetes manifests with `podman kube play` (deploy/kubernetes, overlay local-podman):
# builds the images when one is missing (deploy/containers/build.sh; --build builds them again), makes the secrets
# with LocalHub's demo PKI (deploy/kubernetes/secrets, kept across runs, never committed), renders the overlay, gives
# its Secrets to podman, and plays it in the order a cluster's jobs and probes would impose: PostgreSQL and RabbitMQ,
# the database provisioning, each service's migrations, then the services and the gateway; then waits until every one
# is ready. Everything listens on loopback: the gateway on https://127.0.0.1:9443. deploy/kube-down.sh takes it down.
# Run as root (re-executes with sudo otherwise).
set -euo pipefail
source "$(dirname "${BASH_SOURCE[0]}")/common.sh"
require_root "$@"
cd "$repo_root"
source deploy/containers/podman-env.sh
ensure_podman

build=false
for argument in "$@"; do
  case $argument in
    --build) build=true ;;
    *) echo "kube-up.sh: unknown argument $argument (only --build)" >&2; exit 2 ;;
  esac
done

started=$SECONDS
step() { printf '[%3ds] %s\n' $((SECONDS - started)) "$*"; }
state=.hub/kube
secrets=deploy/kubernetes/secrets
tools=.hub/containers/ctx-tools/app/FamiljecentralHub.LocalHub.dll
mkdir -p "$state"

images=(gateway consent ops maternity-care child-health open-preschool social-services tools rabbitmq postgres)
for image in "${images[@]}"; do
  podman image exists "localhost/familjecentralhub/$image:dev" || build=true
done
[[ -f $tools ]] || build=true
if [[ $build == true ]]; then
  step "building the images (deploy/containers/build.sh)"
  deploy/containers/build.sh
fi

step "secrets in $secrets (deployment-secrets)"
dotnet "$tools" deployment-secrets --dir "$secrets" --postgres-host 127.0.0.1 --postgres-port 9432 >/dev/null

# A hub this script played before goes first (its data kept): podman refuses to play a pod that exists.
[[ -f $state/1-nodes.yaml ]] && deploy/kube-down.sh --keep-data >/dev/null

step "rendering deploy/kubernetes/overlays/local-podman"
kubectl kustomize --load-restrictor LoadRestrictionsNone deploy/kubernetes/overlays/local-podman >"$state/rendered.yaml"
# The Secrets go to podman (podman 4.3 reads a Secret's values as given, not base64: decoded here), the rest is split
# into the stages below, each with every ConfigMap, since podman resolves a pod's ConfigMaps from its own file.
python3 deploy/kube-split.py "$state/rendered.yaml" "$state"
for secret in "$state"/secrets/*.json; do
  name="$(basename "$secret" .json)"
  podman secret rm "$name" >/dev/null 2>&1 || true
  podman secret create "$name" "$secret" >/dev/null
done

# podman's output goes to a file, never to this script's: the containers' monitors (conmon) inherit the descriptors
# podman has, and would hold a caller's pipe open for as long as the hub runs. podman runs health checks from systemd
# timers; with no systemd here it says so for every container, which is noise: kube-up.sh polls the health endpoints.
play() {
  local log="$state/play-$(basename "$1" .yaml).log"
  if ! podman kube play --quiet "$1" >"$log" 2>&1; then
    grep -v 'systemd connection' "$log" >&2
    return 1
  fi
}

wait_until() { # description, seconds, command...
  local description=$1 seconds=$2
  shift 2
  local deadline=$((SECONDS + seconds))
  until "$@" >/dev/null 2>&1; do
    if ((SECONDS > deadline)); then
      echo "kube-up.sh: $description not ready after ${seconds}s; podman pod ps and podman logs <container> say why." >&2
      exit 1
    fi
    sleep 1
  done
}
# A pod played as a Job: wait for its one container to exit, and fail with its log unless it exited 0.
wait_job() {
  local container="$1"
  local code
  code="$(podman wait "$container")"
  if [[ $code != 0 ]]; then
    podman logs "$container" >&2 || true
    echo "kube-up.sh: $container exited $code." >&2
    exit 1
  fi
}
tcp_open() { (exec 3<>"/dev/tcp/127.0.0.1/$1") 2>/dev/null; }

step "PostgreSQL and RabbitMQ"
while read -r volume; do
  podman volume exists "$volume" || podman volume create "$volume" >/dev/null
done <"$state/volumes"
play "$state/1-nodes.yaml"
wait_until "PostgreSQL (127.0.0.1:9432)" 60 tcp_open 9432
step "database provisioning"
play "$state/2-provisioning.yaml"
wait_job database-provisioning-provision
step "migrations"
play "$state/3-migrations.yaml"
for service in maternity-care child-health open-preschool social-services consent ops; do
  wait_job "$service-migrate-migrate"
done
# The services connect to the broker at start: it must have imported its definitions and opened its listener.
wait_until "RabbitMQ (127.0.0.1:9672)" 120 tcp_open 9672
step "services and gateway"
play "$state/4-hub.yaml"
port=9101
for service in maternity-care child-health open-preschool social-services consent ops; do
  wait_until "$service (https://127.0.0.1:$port/health/ready)" 180 curl -fsk --max-time 2 "https://127.0.0.1:$port/health/ready"
  port=$((port + 1))
done
wait_until "the gateway (http://127.0.0.1:9080/health/ready)" 120 curl -fs --max-time 2 http://127.0.0.1:9080/health/ready
step "ready: gateway https://127.0.0.1:9443 (client certificates in $secrets/pki/clients, CA $secrets/pki/ca.pem)"
