#!/usr/bin/env bash
# First start: a cluster whose superuser is POSTGRES_USER with POSTGRES_PASSWORD (taken from a file, so
# any character works), and the database POSTGRES_DB. Every start: the server in the foreground on
# POSTGRES_LISTEN:POSTGRES_PORT.
set -euo pipefail
: "${POSTGRES_USER:=callcenter}" "${POSTGRES_DB:=callcenter}" "${POSTGRES_PORT:=5432}"
: "${POSTGRES_LISTEN:=127.0.0.1}"
if [ ! -s "$PGDATA/PG_VERSION" ]; then
    [ -n "${POSTGRES_PASSWORD:-}" ] || { echo "error: POSTGRES_PASSWORD is empty: set it in .env" >&2; exit 2; }
    pwfile=$(mktemp)
    trap 'rm -f "$pwfile"' EXIT
    printf '%s\n' "$POSTGRES_PASSWORD" >"$pwfile"
    initdb --username="$POSTGRES_USER" --pwfile="$pwfile" --auth-host=scram-sha-256 --auth-local=peer \
        --encoding=UTF8 --locale=C.UTF-8 -D "$PGDATA"
    rm -f "$pwfile"
    # Logins: by password over TCP; on the container's own socket, the postgres OS user as POSTGRES_USER
    # (peer), so `docker-compose exec postgres pg_dump callcenter` needs no password.
    printf 'local all all peer map=container\nhost all all 127.0.0.1/32 scram-sha-256\nhost all all ::1/128 scram-sha-256\n' \
        >"$PGDATA/pg_hba.conf"
    printf 'container postgres %s\n' "$POSTGRES_USER" >>"$PGDATA/pg_ident.conf"
    postgres --single -D "$PGDATA" -c listen_addresses= template1 <<<"CREATE DATABASE \"$POSTGRES_DB\" OWNER \"$POSTGRES_USER\";" >/dev/null
fi
exec postgres -D "$PGDATA" -c listen_addresses="$POSTGRES_LISTEN" -c port="$POSTGRES_PORT" \
    -c unix_socket_directories=/var/run/postgresql
