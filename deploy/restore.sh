#!/usr/bin/env bash
# Restores databases backed up by deploy/backup.sh, each as it was: schema, rows, owner and grants.
#
#   deploy/restore.sh DIRECTORY [DATABASE ...]
#
# Run it with the hub's services stopped, as a superuser (libpq's PGHOST, PGPORT, PGUSER, PGPASSWORD), on a server where
# the hub's roles exist (LocalHub's provisioning or the deployment's database job creates them) and the databases do
# not: a restore never writes over a database. It checks the dumps against SHA256SUMS first, and stops at the first
# error. Afterwards, run the consent service's verify-ledger: a ledger restored from a backup older than its last
# signed checkpoint fails verification, which is how a lost tail of the ledger is noticed (docs/backup.md).
set -euo pipefail

source "$(dirname "$0")/databases.sh"
(cd "$directory" && sha256sum --check --quiet SHA256SUMS)
for database in "${databases[@]}"; do
  # --create makes the database from the dump, with its owner and grants; connecting to postgres to do so.
  "$pg_bin/pg_restore" --create --exit-on-error --no-password --dbname=postgres "$directory/$database.dump"
  echo "restore: $directory/$database.dump → $database"
done
