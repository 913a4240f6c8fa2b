#!/usr/bin/env bash
# Installs what a local hub needs and is missing (RabbitMQ, PostgreSQL 15, openssl, curl, procps, util-linux, passwd,
# systemd for systemd-analyze, chromium for the console's browser tests) with apt and
# checks for the .NET 10 SDK. Quiet when everything is there. Run as root (re-executes with sudo otherwise).
set -euo pipefail
source "$(dirname "${BASH_SOURCE[0]}")/common.sh"
require_root "$@"

missing=()
command -v rabbitmq-server >/dev/null 2>&1 || missing+=(rabbitmq-server)
[[ -x /usr/lib/postgresql/15/bin/postgres ]] || missing+=(postgresql)
command -v openssl >/dev/null 2>&1 || missing+=(openssl)
command -v curl >/dev/null 2>&1 || missing+=(curl)
command -v pgrep >/dev/null 2>&1 || missing+=(procps)
# setpriv runs each hub process as its own user; systemd-analyze checks the systemd units (deploy/systemd).
command -v setpriv >/dev/null 2>&1 || missing+=(util-linux)
command -v useradd >/dev/null 2>&1 || missing+=(passwd)
command -v systemd-analyze >/dev/null 2>&1 || missing+=(systemd)
# The ops console's browser tests drive Debian's Chromium through Playwright, which downloads no browser of its own.
[[ -x /usr/bin/chromium ]] || missing+=(chromium)

if ((${#missing[@]} > 0)); then
  echo "Installing ${missing[*]} ..."
  # Debian's packages start their default servers on install (PostgreSQL on 5432, RabbitMQ on 5672), which would
  # hold the ports the hub uses; a policy-rc.d that says "no" stops that. An existing one is left alone.
  policy=/usr/sbin/policy-rc.d
  own_policy=false
  if [[ ! -e $policy ]]; then
    printf '#!/bin/sh\nexit 101\n' >"$policy"
    chmod +x "$policy"
    own_policy=true
  fi
  trap '[[ $own_policy == true ]] && rm -f "$policy"' EXIT
  export DEBIAN_FRONTEND=noninteractive
  apt-get update -qq
  apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
fi

if ! command -v dotnet >/dev/null 2>&1 || ! dotnet --list-sdks 2>/dev/null | grep -q '^10\.'; then
  echo "The .NET 10 SDK is required: https://dotnet.microsoft.com/download/dotnet/10.0 (dotnet --list-sdks shows none)." >&2
  exit 1
fi
