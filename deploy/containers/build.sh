#!/usr/bin/env bash
# Builds the hub's container images with podman from Debian's packages and this repository, nothing else:
#   localhost/familjecentralhub/debian-min:bookworm   mmdebstrap minbase + what .NET and the probes need
#   localhost/familjecentralhub/dotnet-runtime:<ver>  the .NET shared runtime of this machine's SDK
#   localhost/familjecentralhub/<process>:<tag>       gateway and each service: its `dotnet publish` output
#   localhost/familjecentralhub/rabbitmq:<tag>, postgres:<tag>   from Debian's rabbitmq-server and postgresql-15
#   localhost/familjecentralhub/tools:<tag>           LocalHub's CLI: the secrets, the broker definitions, provisioning
# Installs podman, runc, catatonit and mmdebstrap with apt when missing. Idempotent: the base tar is made again only
# when its inputs (suite, package list, this script's base recipe) change, and podman's layer cache does the rest.
# With the argument `nodes`, only the base, RabbitMQ and PostgreSQL: the images the test fixtures start (deploy/test.sh
# runs it before every container-path run, so an entry point or configuration changed since the last build is in use).
# HUB_IMAGE_TAG (default "dev") names the tag; HUB_IMAGE_FROM_BUILD=Debug takes each project's bin/Debug output
# instead of publishing it again (the end-to-end test, after the suite's own build). Run as root (re-executes with sudo otherwise).
set -euo pipefail
source "$(dirname "${BASH_SOURCE[0]}")/../common.sh"
require_root "$@"
cd "$repo_root"
source deploy/containers/podman-env.sh
ensure_podman

tag="${HUB_IMAGE_TAG:-dev}"
only_nodes=false
case "${1:-}" in
  "") ;;
  nodes) only_nodes=true ;;
  *) echo "build.sh: the only argument is 'nodes' (the base, RabbitMQ and PostgreSQL), not '$1'" >&2; exit 2 ;;
esac
prefix=localhost/familjecentralhub
work=.hub/containers
mkdir -p "$work"
started=$SECONDS
step() { printf '[%3ds] %s\n' $((SECONDS - started)) "$*"; }

# 1. The base: Debian bookworm minbase from Debian's mirror, plus the libraries .NET loads (ICU, OpenSSL), the CA
#    certificates, the time zones and curl for the image's health check. Reused while its inputs are unchanged.
suite=bookworm
packages=ca-certificates,libicu72,libssl3,tzdata,curl,zlib1g
# No manuals, documentation (but the licences) or message translations: nothing in a container reads them.
dpkg_options=(--dpkgopt='path-exclude=/usr/share/man/*' --dpkgopt='path-exclude=/usr/share/info/*'
  --dpkgopt='path-exclude=/usr/share/doc/*' --dpkgopt='path-include=/usr/share/doc/*/copyright'
  --dpkgopt='path-exclude=/usr/share/locale/*')
base_inputs="$suite|minbase|$packages|${dpkg_options[*]}|v2"
base_hash=$(printf '%s' "$base_inputs" | sha256sum | cut -c1-16)
base_tar="$work/debian-min-$base_hash.tar"
base_image="$prefix/debian-min:$suite"
base_current() { [[ "$(podman image inspect --format '{{index .Labels "hub.base-hash"}}' "$base_image" 2>/dev/null || true)" == "$base_hash" ]]; }
if ! base_current && [[ ! -s $base_tar ]]; then
  step "mmdebstrap $suite minbase + $packages"
  rm -rf "$work"/debian-min-*
  mmdebstrap --quiet --variant=minbase --include="$packages" "${dpkg_options[@]}" \
    --customize-hook='rm -rf "$1"/var/cache/apt/*.bin "$1"/var/log/*.log "$1"/var/log/apt/*' \
    "$suite" "${base_tar%.tar}.partial.tar"
  mv "${base_tar%.tar}.partial.tar" "$base_tar"
fi
if ! base_current; then
  step "podman import $base_tar"
  podman import --quiet --change "LABEL hub.base-hash=$base_hash" --change 'CMD ["/bin/sh"]' "$base_tar" "$base_image" >/dev/null
fi

if ! $only_nodes; then
# 2. The .NET runtime layer: the shared frameworks of the SDK that builds the apps, so what runs is what was tested.
dotnet_root="$(dirname "$(readlink -f "$(command -v dotnet)")")"
runtime_version="$(dotnet --list-runtimes | awk '$1 == "Microsoft.AspNetCore.App" && $2 ~ /^10\./ { v = $2 } END { print v }')"
[[ -n $runtime_version ]] || { echo "build.sh: no Microsoft.AspNetCore.App 10.x runtime beside the SDK" >&2; exit 1; }
runtime_image="$prefix/dotnet-runtime:$runtime_version"
if ! podman image exists "$runtime_image" || [[ "$(podman image inspect --format '{{index .Labels "hub.base-hash"}}' "$runtime_image")" != "$base_hash" ]]; then
  step "runtime layer .NET $runtime_version from $dotnet_root"
  ctx="$work/ctx-runtime"
  rm -rf "$ctx" && mkdir -p "$ctx/dotnet/shared" "$ctx/dotnet/host"
  cp -a "$dotnet_root/dotnet" "$dotnet_root/LICENSE.txt" "$dotnet_root/ThirdPartyNotices.txt" "$ctx/dotnet/" 2>/dev/null || cp -a "$dotnet_root/dotnet" "$ctx/dotnet/"
  cp -a "$dotnet_root/host/fxr" "$ctx/dotnet/host/"
  for framework in Microsoft.NETCore.App Microsoft.AspNetCore.App; do
    mkdir -p "$ctx/dotnet/shared/$framework"
    cp -a "$dotnet_root/shared/$framework/$runtime_version" "$ctx/dotnet/shared/$framework/"
  done
  podman build --quiet --format docker --network host --label "hub.base-hash=$base_hash" --build-arg "BASE=$base_image" \
    -f deploy/containers/Containerfile.dotnet-runtime -t "$runtime_image" "$ctx" >/dev/null
fi

# 3. One image per process: gateway, services, and LocalHub's CLI as the tools image (secrets, definitions, provisioning).
declare -A projects=(
  [gateway]=gateway/Gateway [consent]=services/Consent [ops]=services/Ops [maternity-care]=services/MaternityCare
  [child-health]=services/ChildHealth [open-preschool]=services/OpenPreschool [social-services]=services/SocialServices
  [tools]=deploy/LocalHub)
for name in "${!projects[@]}"; do
  project="${projects[$name]}"
  assembly="$(sed -nE 's|.*<AssemblyName>([^<]+)</AssemblyName>.*|\1|p' "$project"/*.csproj)"
  [[ -n $assembly ]] || assembly="FamiljecentralHub.$(basename "$project")"
  [[ $name == tools ]] && assembly=FamiljecentralHub.LocalHub
  health=https://127.0.0.1:8080/health/live
  ctx="$work/ctx-$name"
  rm -rf "$ctx" && mkdir -p "$ctx"
  if [[ -n ${HUB_IMAGE_FROM_BUILD:-} ]]; then
    # The solution's own build output (framework-dependent too): what the test suite just built, without a second
    # compilation of every project. deploy/test.sh's end-to-end test uses it; a release image is published.
    output="$project/bin/$HUB_IMAGE_FROM_BUILD/net10.0"
    [[ -f "$output/$assembly.dll" ]] || { echo "build.sh: $output has no $assembly.dll: build with -c $HUB_IMAGE_FROM_BUILD first" >&2; exit 1; }
    step "copy $output"
    cp -a "$output" "$ctx/app"
  else
    step "publish $project"
    # Framework-dependent on the runtime layer; deterministic builds, no PDBs in the image.
    dotnet publish "$project" -c Release --nologo --verbosity quiet -o "$ctx/app" \
      -p:UseAppHost=false -p:DebugType=none -p:GenerateDocumentationFile=false -p:Deterministic=true
  fi
  [[ -f "$ctx/app/$assembly.dll" ]] || { echo "build.sh: $project published no $assembly.dll" >&2; exit 1; }
  step "image $prefix/$name:$tag"
  sed "s|@ASSEMBLY@|$assembly.dll|" deploy/containers/Containerfile.dotnet >"$ctx/Containerfile"
  podman build --quiet --format docker --network host --build-arg "RUNTIME=$runtime_image" \
    --build-arg "HEALTH_URL=$health" -f "$ctx/Containerfile" -t "$prefix/$name:$tag" "$ctx" >/dev/null
done

fi

# 4. RabbitMQ and PostgreSQL from Debian's packages on the same base.
step "image $prefix/rabbitmq:$tag"
podman build --quiet --format docker --network host --build-arg "BASE=$base_image" -f deploy/containers/Containerfile.rabbitmq \
  -t "$prefix/rabbitmq:$tag" deploy/containers >/dev/null
step "image $prefix/postgres:$tag"
podman build --quiet --format docker --network host --build-arg "BASE=$base_image" -f deploy/containers/Containerfile.postgres \
  -t "$prefix/postgres:$tag" deploy/containers >/dev/null

step "done"
podman images --format '{{.Repository}}:{{.Tag}} {{.Size}}' | grep "^$prefix/" | sort
