#!/bin/sh
# First start: initdb with the superuser's password from POSTGRES_PASSWORD_FILE (a Secret volume), trust on the
# Unix socket only (inside the container), scram-sha-256 for every TCP login. Then the server in the foreground.
set -eu
if [ ! -s "$PGDATA/PG_VERSION" ]; then
  : "${POSTGRES_PASSWORD_FILE:?the superuser password file (POSTGRES_PASSWORD_FILE) is required on first start}"
  mkdir -p "$PGDATA"
  chmod 0700 "$PGDATA"
  initdb -D "$PGDATA" -U postgres --pwfile="$POSTGRES_PASSWORD_FILE" --auth-local=trust --auth-host=scram-sha-256 \
    -E UTF8 --locale=C.UTF-8 >/dev/null
  echo "postgres-entrypoint: made a new cluster in $PGDATA"
fi
# As LocalHub's nodes (PostgresNode): a failing statement's text, parameters, detail and context would quote the values a
# service sent (free text, a name), so the log keeps the error's code and message alone (docs/error-queues.md).
# The socket directory is /tmp (an emptyDir): /var/run/postgresql is on the read-only root filesystem.
exec postgres -D "$PGDATA" -c unix_socket_directories=/tmp -c listen_addresses="${POSTGRES_LISTEN:-*}" \
  -c port="${PGPORT:-5432}" -c log_statement=none -c password_encryption=scram-sha-256 \
  -c log_min_error_statement=panic -c log_parameter_max_length_on_error=0 -c log_parameter_max_length=0 \
  -c log_error_verbosity=terse "$@"
