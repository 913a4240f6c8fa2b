# Shared by the deploy scripts; sourced, not run.
#
# The scripts run as root: the private RabbitMQ and PostgreSQL nodes are started through su/runuser as the
# rabbitmq and postgres users (both servers refuse to run as root), and prerequisites.sh installs packages.

repo_root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"

# Re-executes the calling script as root through sudo when needed; PATH is kept so the same dotnet is found.
require_root() {
  if [[ $EUID -eq 0 ]]; then
    open_checkout_to_service_users
    return
  fi
  if command -v sudo >/dev/null 2>&1; then
    exec sudo -- env "PATH=$PATH" bash "$0" "$@"
  fi
  echo "$(basename "$0") must run as root (it starts RabbitMQ and PostgreSQL as their own users)." >&2
  exit 1
}

# The LocalHub CLI of a build configuration: localhub Release run, localhub Debug stop ...
localhub() {
  local configuration=$1
  shift
  dotnet "$repo_root/deploy/LocalHub/bin/$configuration/net10.0/FamiljecentralHub.LocalHub.dll" "$@"
}

# The hub's processes run as their own users (hub-gateway, hub-consent, ...; LocalHub's ServiceAccounts), who must
# reach the built binaries and the demo configuration in this checkout. A checkout in a directory closed to others (a
# mktemp directory, /root) would stop them at start: let others pass through each directory above it (o+x: pass,
# not list), and say which.
open_checkout_to_service_users() {
  [[ "${HUB_SERVICE_USERS:-1}" == 0 ]] && return
  local directory="$repo_root"
  while [[ "$directory" != / ]]; do
    if [[ -d "$directory" && ! $(stat -c %A "$directory") =~ ^d.{8}[xt]$ ]]; then
      chmod o+x "$directory"
      echo "$(basename "$0"): let other users pass through $directory (chmod o+x), for the hub's service users." >&2
    fi
    directory="$(dirname "$directory")"
  done
}
