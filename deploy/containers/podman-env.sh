# Sourced by the container scripts: podman with the settings that work on these machines (containers.conf beside
# this file), installed with apt when missing, as deploy/prerequisites.sh does for the local hub.
export CONTAINERS_CONF="${CONTAINERS_CONF:-$repo_root/deploy/containers/containers.conf}"

ensure_podman() {
  local missing=()
  command -v podman >/dev/null 2>&1 || missing+=(podman)
  command -v runc >/dev/null 2>&1 || missing+=(runc)
  [[ -x /usr/bin/catatonit || -x /usr/libexec/podman/catatonit ]] || missing+=(catatonit)
  command -v mmdebstrap >/dev/null 2>&1 || missing+=(mmdebstrap)
  command -v curl >/dev/null 2>&1 || missing+=(curl)
  # kube-split.py reads the rendered manifests.
  python3 -c "import yaml" >/dev/null 2>&1 || missing+=(python3-yaml)
  if ((${#missing[@]} > 0)); then
    echo "Installing ${missing[*]} ..."
    DEBIAN_FRONTEND=noninteractive apt-get update -qq
    DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
  fi
}
