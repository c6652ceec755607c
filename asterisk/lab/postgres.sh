#!/usr/bin/env bash
# The lab's PostgreSQL: Debian's own cluster on this host, with the role and database that
# DATABASE_URL names. If DATABASE_URL already reaches a server, nothing is touched.
#
#   postgres.sh up|down|status
set -euo pipefail
export LAB_NAME=postgres # read by lib.sh
# shellcheck source=lib.sh
. "$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)/lib.sh"

export PGCONNECT_TIMEOUT=3

# postgresql://USER[:PASSWORD]@HOST[:PORT]/DB[?...]; no URL-escapes in the lab's parts.
url_re='^postgres(ql)?://([^:@/]+)(:([^@/]*))?@([^:/?]+)(:([0-9]+))?/([^?]+)'
[[ $DATABASE_URL =~ $url_re ]] || die "cannot parse DATABASE_URL ($DATABASE_URL): expected postgresql://user:password@host:port/db"
DB_USER=${BASH_REMATCH[2]}
DB_PASSWORD=${BASH_REMATCH[4]}
DB_HOST=${BASH_REMATCH[5]}
DB_PORT=${BASH_REMATCH[7]:-5432}
DB_NAME=${BASH_REMATCH[8]}
SAFE_URL="postgresql://$DB_USER@$DB_HOST:$DB_PORT/$DB_NAME"   # for messages: no password

reachable() { command -v psql >/dev/null && psql "$DATABASE_URL" -tAq -c 'select 1' >/dev/null 2>&1; }

is_local() { case $DB_HOST in 127.0.0.1 | localhost | ::1) return 0 ;; *) return 1 ;; esac; }

# The Debian cluster ("VERSION NAME") listening on DB_PORT, if any.
local_cluster() { pg_lsclusters -h 2>/dev/null | awk -v p="$DB_PORT" '$3 == p { print $1, $2; exit }'; }

wait_ready() {
    for _ in $(seq 60); do
        pg_isready -q -h "$DB_HOST" -p "$DB_PORT" && return 0
        sleep 0.5
    done
    return 1
}

as_postgres_psql() { runuser -u postgres -- psql -X -q -p "$DB_PORT" -v ON_ERROR_STOP=1 "$@"; }

ensure_role_and_db() {
    # Idempotent: create when missing, and (re)set the password so it always matches the URL.
    # CREATEDB lets integration tests make throw-away databases; this is a lab role.
    log "step: role $DB_USER and database $DB_NAME"
    if ! as_postgres_psql -d postgres -v u="$DB_USER" -v p="$DB_PASSWORD" -v d="$DB_NAME" >>"$LAB_LOG" 2>&1 <<'SQL'; then
SELECT format('CREATE ROLE %I LOGIN', :'u') WHERE NOT EXISTS (SELECT FROM pg_roles WHERE rolname = :'u') \gexec
SELECT format('ALTER ROLE %I LOGIN CREATEDB PASSWORD %L', :'u', :'p') \gexec
SELECT format('CREATE DATABASE %I OWNER %I', :'d', :'u') WHERE NOT EXISTS (SELECT FROM pg_database WHERE datname = :'d') \gexec
SQL
        die "creating role $DB_USER / database $DB_NAME failed (see $LAB_LOG)"
    fi
}

cmd_up() {
    lab_lock postgres
    if reachable; then
        info "already reachable: $SAFE_URL"
        return 0
    fi
    is_local || die "DATABASE_URL ($SAFE_URL) does not answer and is not on this host: start that server"
    [ "$(id -u)" -eq 0 ] || die "starting the local PostgreSQL needs root"
    apt_ensure postgresql postgresql-client
    local cluster ver name
    cluster=$(local_cluster)
    if [ -z "$cluster" ]; then
        # Debian's postgresql package normally creates "main" on 5432; make one for another port.
        ver=$(pg_lsclusters -h 2>/dev/null | awk '{ print $1; exit }')
        [ -n "$ver" ] || ver=$(ls /usr/lib/postgresql | sort -V | tail -n 1)
        info "creating cluster $ver/lab on port $DB_PORT"
        step "pg_createcluster" pg_createcluster -p "$DB_PORT" "$ver" lab
        cluster="$ver lab"
    fi
    read -r ver name <<<"$cluster"
    # No systemd here: pg_ctlcluster starts the server itself (as the postgres user).
    if ! pg_lsclusters -h | awk -v v="$ver" -v n="$name" '$1 == v && $2 == n && $4 ~ /online/ { f = 1 } END { exit !f }'; then
        info "starting cluster $ver/$name (port $DB_PORT)"
        step "pg_ctlcluster $ver $name start" pg_ctlcluster "$ver" "$name" start
    fi
    wait_ready || die "PostgreSQL $ver/$name does not accept connections on port $DB_PORT (log: /var/log/postgresql/postgresql-$ver-$name.log)"
    ensure_role_and_db
    reachable || die "$SAFE_URL still not reachable with the URL's password (lab log: $LAB_LOG; server log: /var/log/postgresql/postgresql-$ver-$name.log)"
    info "up: $SAFE_URL (cluster $ver/$name)"
}

cmd_down() {
    lab_lock postgres
    local cluster ver name
    if ! is_local || ! command -v pg_lsclusters >/dev/null || [ -z "$(local_cluster)" ]; then
        info "no local cluster on port $DB_PORT: nothing to stop"
        return 0
    fi
    read -r ver name <<<"$(local_cluster)"
    if pg_lsclusters -h | awk -v v="$ver" -v n="$name" '$1 == v && $2 == n && $4 ~ /online/ { f = 1 } END { exit !f }'; then
        step "pg_ctlcluster $ver $name stop" pg_ctlcluster "$ver" "$name" stop -m fast
        info "stopped cluster $ver/$name"
    else
        info "cluster $ver/$name is not running"
    fi
}

cmd_status() {
    if reachable; then
        info "reachable: $SAFE_URL"
    else
        info "not reachable: $SAFE_URL"
        return 1
    fi
}

case "${1:-}" in
up) cmd_up ;;
down) cmd_down ;;
status) cmd_status ;;
*)
    echo "usage: $0 up|down|status" >&2
    exit 2
    ;;
esac
