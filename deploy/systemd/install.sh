#!/usr/bin/env bash
# Installs the hub as systemd units on a Debian machine without Kubernetes (as root): each process published to
# /opt/familjecentralhub/<name>, the units to /etc/systemd/system, the users through systemd-sysusers, and a settings
# skeleton in /etc/familjecentralhub that is never overwritten. RabbitMQ and PostgreSQL are Debian's own units, set up
# from the definitions file and the provisioning (deploy/systemd/README.md). DESTDIR=<dir> stages everything under
# <dir> instead, touching nothing of the machine.
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/../.."
root="${DESTDIR:-}"
opt="$root/opt/familjecentralhub"
etc="$root/etc/familjecentralhub"

declare -A projects=(
  [maternity-care]=services/MaternityCare [child-health]=services/ChildHealth [open-preschool]=services/OpenPreschool
  [social-services]=services/SocialServices [consent]=services/Consent [ops]=services/Ops [gateway]=gateway/Gateway)

for name in "${!projects[@]}"; do
  project="${projects[$name]}"
  dotnet publish "$project" -c Release --nologo --verbosity quiet -o "$opt/$name"
  echo "HUB_ASSEMBLY=FamiljecentralHub.$(basename "$project").dll" >"$opt/$name/assembly.env"
done

install -d -m 0755 "$root/etc/systemd/system" "$root/usr/lib/sysusers.d"
install -m 0644 deploy/systemd/*.service deploy/systemd/*.target "$root/etc/systemd/system/"
install -m 0644 deploy/systemd/familjecentralhub.sysusers "$root/usr/lib/sysusers.d/familjecentralhub.conf"
[[ -z $root ]] && systemd-sysusers /usr/lib/sysusers.d/familjecentralhub.conf

# Settings: one file per process, readable by root and that process's user only (passwords and keys are in them or
# beside them); never overwritten. The values are the ones to fill in; docs/configuration.md says what each one is.
declare -A ports=([maternity-care]=7101 [child-health]=7102 [open-preschool]=7103 [social-services]=7104 [consent]=7105 [ops]=7106)
install -d -m 0755 "$etc" "$etc/keys"
skeleton() { # file, owner user, content
  [[ -e "$1" ]] && return
  install -m 0640 /dev/null "$1"
  printf '%s\n' "$3" >"$1"
  [[ -z $root ]] && chown "root:$2" "$1"
  return 0
}
skeleton "$etc/common.env" root "# Every service. Organisation: units, operations and principals; the caller-token and internal CA public files.
RabbitMq__Host=127.0.0.1
RabbitMq__Port=5672
RabbitMq__VirtualHost=/
Organisation__Path=/etc/familjecentralhub/organisation.json
CallerToken__PublicKeyPath=/etc/familjecentralhub/caller-token.pub.pem
Tls__ClientCaPath=/etc/familjecentralhub/internal-ca.pem"
chmod 0644 "$etc/common.env"
# Passwords and the pseudonym key as files, one per setting (SecretsDirectory, docs/configuration.md), never in an
# environment file: RabbitMq__Password, ConnectionStrings__Database, Pseudonym__Key.
install -d -m 0755 "$etc/secrets"
for name in "${!ports[@]}" gateway; do
  install -d -m 0750 "$etc/keys/$name" "$etc/secrets/$name"
  [[ -z $root ]] && chown "root:hub-$name" "$etc/keys/$name" "$etc/secrets/$name"
done
for name in "${!ports[@]}"; do
  database="hub_${name//-/_}"
  extra=""
  if [[ $name == consent ]]; then
    extra="
Ledger__SigningKeyPath=/etc/familjecentralhub/keys/consent/ledger-signing.key
Ledger__VerificationKeyPaths__0=/etc/familjecentralhub/ledger-signing.pub.pem
Ledger__CheckpointDirectory=/var/lib/familjecentralhub/consent/ledger-checkpoints"
  fi
  skeleton "$etc/$name.env" "hub-$name" "ASPNETCORE_URLS=https://127.0.0.1:${ports[$name]}
RabbitMq__Username=$name
# RabbitMq__Password, ConnectionStrings__Database (Host=…;Database=$database;Username=${database}_runtime;Password=…)
# and Pseudonym__Key: one file each in this directory.
SecretsDirectory=/etc/familjecentralhub/secrets/$name
Tls__CertificatePath=/etc/familjecentralhub/keys/$name/$name.pem
Tls__KeyPath=/etc/familjecentralhub/keys/$name/$name.key$extra"
  skeleton "$etc/$name.migrate.env" "hub-$name" "ConnectionStrings__Database=Host=127.0.0.1;Database=$database;Username=${database}_migrator;Password="
done
install -d -m 0750 "$etc/gateway"
[[ -z $root ]] && chown "root:hub-gateway" "$etc/gateway"
services=""
for name in "${!ports[@]}"; do services+="
Services__$name=https://127.0.0.1:${ports[$name]}"; done
skeleton "$etc/gateway.env" hub-gateway "Gateway__Url=https://0.0.0.0:8443
Gateway__HealthUrl=http://127.0.0.1:8080
Gateway__ServerCertificatePath=/etc/familjecentralhub/keys/gateway/gateway.pem
Gateway__ServerKeyPath=/etc/familjecentralhub/keys/gateway/gateway.key
Gateway__ClientCaPath=/etc/familjecentralhub/gateway/client-ca.pem
Gateway__ClientCrlPath=/etc/familjecentralhub/gateway/client-ca.crl.pem
Gateway__ClientsPath=/etc/familjecentralhub/gateway/clients.json
CallerToken__PrivateKeyPath=/etc/familjecentralhub/keys/gateway/caller-token.key
ServiceHop__CaPath=/etc/familjecentralhub/internal-ca.pem
ServiceHop__ClientCertificatePath=/etc/familjecentralhub/keys/gateway/gateway-hop.pem
ServiceHop__ClientKeyPath=/etc/familjecentralhub/keys/gateway/gateway-hop.key$services"

[[ -z $root ]] && systemctl daemon-reload
echo "Installed. Fill in $etc (docs/configuration.md), put each process's keys in $etc/keys/<name>, then:"
echo "  systemctl enable --now familjecentralhub.target"
