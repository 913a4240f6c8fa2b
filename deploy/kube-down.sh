#!/usr/bin/env bash
# Takes down what deploy/kube-up.sh played: every pod, the podman secrets it made, and (unless --keep-data) the
# volumes of PostgreSQL, RabbitMQ and the ledger checkpoints. Safe to run when nothing is up. Run as root.
set -euo pipefail
source "$(dirname "${BASH_SOURCE[0]}")/common.sh"
require_root "$@"
cd "$repo_root"
source deploy/containers/podman-env.sh
command -v podman >/dev/null 2>&1 || exit 0

keep_data=false
[[ ${1:-} == --keep-data ]] && keep_data=true
state=.hub/kube
for stage in 4-hub 3-migrations 2-provisioning 1-nodes; do
  [[ -f $state/$stage.yaml ]] && podman kube down "$state/$stage.yaml" >/dev/null 2>&1 || true
done
if [[ -d $state/secrets ]]; then
  for secret in "$state"/secrets/*.json; do
    [[ -e $secret ]] && podman secret rm "$(basename "$secret" .json)" >/dev/null 2>&1 || true
  done
fi
# The copies podman made of each Secret and ConfigMap: never state, and a stale one would hide a new key.
if [[ -f $state/copies ]]; then
  while read -r copy; do
    podman volume rm --force "$copy" >/dev/null 2>&1 || true
  done <"$state/copies"
fi
if [[ $keep_data == false ]]; then
  for volume in postgres-data rabbitmq-data consent-checkpoints; do
    podman volume rm --force "$volume" >/dev/null 2>&1 || true
  done
fi
echo "kube-down.sh: the hub's pods are down$([[ $keep_data == true ]] && echo ', volumes kept' || echo ', volumes removed')."
