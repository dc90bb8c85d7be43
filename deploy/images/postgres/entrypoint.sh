#!/bin/bash
# chartsnap/dev-postgres's entrypoint: the subset of the official postgres
# image's interface chartsnap's dev overlay and tests use.
#   POSTGRES_PASSWORD  required the first time (when PGDATA is empty)
#   POSTGRES_USER      superuser, default postgres
#   POSTGRES_DB        database created the first time, default $POSTGRES_USER
#   POSTGRES_PORT      TCP port on every address, default 5432
#   PGDATA             default /var/lib/postgresql/data/pgdata (a directory
#                      initdb makes inside the mounted volume, so the volume's
#                      own owner and mode do not matter)
# Arguments are passed to postgres (e.g. -c max_connections=200).
set -euo pipefail

: "${PGDATA:=/var/lib/postgresql/data/pgdata}"
: "${POSTGRES_USER:=postgres}"
: "${POSTGRES_DB:=$POSTGRES_USER}"
: "${POSTGRES_PORT:=5432}"
export PGDATA

if [ ! -s "$PGDATA/PG_VERSION" ]; then
  if [ -z "${POSTGRES_PASSWORD:-}" ]; then
    echo "dev-postgres: PGDATA ($PGDATA) is empty and POSTGRES_PASSWORD is not set" >&2
    exit 1
  fi
  echo "dev-postgres: initdb of $PGDATA (superuser $POSTGRES_USER, database $POSTGRES_DB)"
  if ! mkdir -p "$PGDATA"; then
    echo "dev-postgres: cannot create PGDATA ($PGDATA) as uid $(id -u): mount a volume it can write at $(dirname "$PGDATA")" >&2
    exit 1
  fi
  chmod 0700 "$PGDATA"
  pwfile="$(mktemp)"
  trap 'rm -f "$pwfile"' EXIT
  printf '%s\n' "$POSTGRES_PASSWORD" >"$pwfile"
  initdb --pgdata="$PGDATA" --username="$POSTGRES_USER" --pwfile="$pwfile" \
    --encoding=UTF8 --locale=C.UTF-8 --auth-local=trust --auth-host=scram-sha-256 >/dev/null
  rm -f "$pwfile"
  trap - EXIT
  # Password logins from any address (the container's network is the boundary).
  printf 'host all all all scram-sha-256\n' >>"$PGDATA/pg_hba.conf"
  if [ "$POSTGRES_DB" != postgres ]; then
    # Single-user mode: no server, no socket, nothing to wait for.
    printf 'CREATE DATABASE "%s" OWNER "%s";\n' "${POSTGRES_DB//\"/\"\"}" "${POSTGRES_USER//\"/\"\"}" |
      postgres --single -D "$PGDATA" -j postgres >/dev/null
  fi
fi

# exec: postgres is PID 1 and gets the stop signal itself (SIGINT, the
# Dockerfile's STOPSIGNAL: a fast shutdown; SIGTERM: a smart one).
exec postgres -D "$PGDATA" -p "$POSTGRES_PORT" \
  -c listen_addresses='*' -c unix_socket_directories=/tmp "$@"
