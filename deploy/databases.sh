# Shared by backup.sh and restore.sh; sourced, not run. Reads "DIRECTORY [DATABASE ...]" from the caller's arguments:
# sets $directory, $databases (by default every database of the hub, hub_<service>) and $pg_bin.
if [[ $# -lt 1 ]]; then
  echo "usage: $(basename "$0") DIRECTORY [DATABASE ...]" >&2
  exit 2
fi

directory=$1
shift
databases=("$@")
if [[ ${#databases[@]} -eq 0 ]]; then
  databases=(hub_consent hub_maternity_care hub_child_health hub_open_preschool hub_social_services hub_ops)
fi

pg_bin=${PG_BIN:-/usr/lib/postgresql/15/bin}
