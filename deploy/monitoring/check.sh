#!/usr/bin/env bash
# Checks the monitoring configuration with the tools of Debian's prometheus and prometheus-alertmanager packages:
# the Prometheus config with its rule files, the rules alone, the rules' unit tests (rules_test.yml), and the
# Alertmanager config. Installs the packages when missing (as root). Exit code: non-zero on the first failure.
set -euo pipefail
here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
if ! command -v promtool >/dev/null || ! command -v amtool >/dev/null; then
  if [[ $EUID -ne 0 ]]; then
    echo "check.sh: promtool and amtool are missing; run as root to install prometheus and prometheus-alertmanager." >&2
    exit 1
  fi
  apt-get update -qq
  DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends prometheus prometheus-alertmanager >/dev/null
fi
cd "$here"
# check config also reads the CA file it names: a checkout without a hub's PKI gets a stand-in for the check.
ca=../../.hub/pki/internal/ca.pem
config=prometheus.yml
if [[ ! -f $ca ]]; then
  config="$(mktemp --tmpdir=. .prometheus-check-XXXXXX.yml)"
  trap 'rm -f "$config"' EXIT
  sed "s|ca_file: .*|ca_file: /etc/ssl/certs/ca-certificates.crt|" prometheus.yml > "$config"
fi
promtool check config "$config"
promtool check rules rules.yml
promtool test rules rules_test.yml
amtool check-config alertmanager.yml
echo "monitoring configuration: ok"
