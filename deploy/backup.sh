#!/usr/bin/env bash
# Backs up the hub's databases: the consent service's (consents, the decision ledger, reviews), each operation
# service's (inboxes, sent messages, webhooks, notices) and Ops'. One pg_dump per database, in custom format with
# --create, so a restore brings back the database with its owner and its grants; a SHA256SUMS file beside them.
#
#   deploy/backup.sh DIRECTORY [DATABASE ...]
#
# Connects as libpq does (PGHOST, PGPORT, PGUSER, PGPASSWORD or ~/.pgpass). The user needs to read everything and
# nothing more: a login granted pg_read_all_data and CONNECT on each database is enough (docs/backup.md, "Backing
# up"). Each dump is one consistent snapshot of its database taken while the hub runs; the databases are not
# dumped at one instant, and need not be: every cross-service step is repeated until the other side confirms it
# (docs/secrecy-gate.md).
# The signing keys, the pseudonym key and the ledger's checkpoint files are not in the databases: back them up with
# the secrets (docs/configuration.md).
set -euo pipefail

source "$(dirname "$0")/databases.sh"
mkdir -p "$directory"
chmod 700 "$directory" # the dumps hold what the hub holds: bodies, identity numbers, consents
umask 077
for database in "${databases[@]}"; do
  "$pg_bin/pg_dump" --format=custom --create --no-password --dbname="$database" --file="$directory/$database.dump"
  echo "backup: $database → $directory/$database.dump ($(stat -c %s "$directory/$database.dump") bytes)"
done
(cd "$directory" && sha256sum -- *.dump > SHA256SUMS)
