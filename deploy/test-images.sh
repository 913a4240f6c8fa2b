#!/usr/bin/env bash
# Builds the two images the test fixtures start with Testcontainers, localhost/familjecentralhub/rabbitmq:dev and
# postgres:dev, from the deployment's own Containerfiles (deploy/containers), with the engine the developer has: no
# root, no apt on the host. The base is the hub's mmdebstrap image when the engine has it (deploy/containers/build.sh
# made it, as on the CI machines, which reach no image registry), otherwise Debian's from Docker Hub
# (HUB_TEST_IMAGE_BASE overrides). Skips an image that exists; --rebuild builds both again.
#   deploy/test-images.sh            # docker, or podman when there is no docker CLI (HUB_CONTAINER_CLI overrides)
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."

rebuild=false
for argument in "$@"; do
  case $argument in
    --rebuild) rebuild=true ;;
    *) echo "test-images.sh: unknown argument $argument (only --rebuild)" >&2; exit 2 ;;
  esac
done

cli=${HUB_CONTAINER_CLI:-}
if [[ -z $cli ]]; then
  if command -v docker >/dev/null 2>&1; then cli=docker; elif command -v podman >/dev/null 2>&1; then cli=podman; fi
fi
[[ -n $cli ]] || { echo "test-images.sh: neither docker nor podman is installed" >&2; exit 1; }

exists() { "$cli" image inspect "$1" >/dev/null 2>&1; }
prefix=localhost/familjecentralhub
base=${HUB_TEST_IMAGE_BASE:-}
if [[ -z $base ]]; then
  if exists "$prefix/debian-min:bookworm"; then base=$prefix/debian-min:bookworm; else base=docker.io/library/debian:bookworm-slim; fi
fi

for name in rabbitmq postgres; do
  image=$prefix/$name:dev
  if [[ $rebuild == false ]] && exists "$image"; then
    echo "$image: there"
    continue
  fi
  echo "$image: building from deploy/containers/Containerfile.$name on $base ..."
  "$cli" build --quiet --build-arg "BASE=$base" -f "deploy/containers/Containerfile.$name" -t "$image" deploy/containers >/dev/null
done
