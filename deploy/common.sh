# Shared by the deploy scripts; sourced, not run.
#
# The scripts run as root: the private RabbitMQ and PostgreSQL nodes are started through su/runuser as the
# rabbitmq and postgres users (both servers refuse to run as root), and prerequisites.sh installs packages.

repo_root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"

# Re-executes the calling script as root through sudo when needed; PATH is kept so the same dotnet is found.
require_root() {
  if [[ $EUID -eq 0 ]]; then
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
