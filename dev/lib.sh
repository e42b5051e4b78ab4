# Shared set-up for dev/demo and dev/test: sourced, not run.
# Idempotent: every step checks what exists before acting.
set -euo pipefail

ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
CKAN_VERSION="${CKAN_VERSION:-2.11.6}"
VENV="${VENV:-$ROOT/.venv}"
PG_ROLE="${PG_ROLE:-ckan_default}"
PG_PASS="${PG_PASS:-pass}"
PG_HOST=127.0.0.1
PG_PORT="${PG_PORT:-5432}"
REDIS_PORT="${REDIS_PORT:-6379}"

log() { printf '\033[1m[kpigov]\033[0m %s\n' "$*" >&2; }

as_root() { if [ "$(id -u)" = 0 ]; then "$@"; else sudo "$@"; fi; }

ensure_apt() {
    # Debian packages the stack needs; PostgreSQL itself is on the machine.
    local missing=()
    command -v redis-server >/dev/null || missing+=(redis-server)
    command -v pg_ctlcluster >/dev/null || missing+=(postgresql)
    dpkg -s libmagic1 >/dev/null 2>&1 || missing+=(libmagic1)
    # headless browser test (Playwright drives Debian's Chromium) and Thai fonts
    command -v chromium >/dev/null || missing+=(chromium)
    dpkg -s fonts-thai-tlwg >/dev/null 2>&1 || missing+=(fonts-thai-tlwg)
    if [ "${#missing[@]}" -gt 0 ]; then
        log "apt-get install ${missing[*]}"
        as_root apt-get update -qq
        DEBIAN_FRONTEND=noninteractive as_root apt-get install -y -qq "${missing[@]}" >/dev/null
    fi
}

ensure_venv() {
    local stamp="$VENV/.kpigov-ckan-$CKAN_VERSION"
    if [ ! -x "$VENV/bin/python" ]; then
        log "creating virtualenv $VENV"
        python3 -m venv "$VENV"
    fi
    if [ ! -f "$stamp" ] || [ "$ROOT/pyproject.toml" -nt "$stamp" ] || [ "$ROOT/setup.py" -nt "$stamp" ] || [ "$ROOT/dev/requirements-dev.txt" -nt "$stamp" ]; then
        log "installing CKAN $CKAN_VERSION, ckanext-scheming and ckanext-kpigov into $VENV"
        "$VENV/bin/pip" install -q -U pip setuptools wheel
        "$VENV/bin/pip" install -q "ckan[requirements]==$CKAN_VERSION"
        "$VENV/bin/pip" install -q -r "$ROOT/dev/requirements-dev.txt"
        "$VENV/bin/pip" install -q --no-deps -e "$ROOT"
        "$VENV/bin/pip" install -q -e "$ROOT"
        touch "$stamp"
    fi
}

start_postgres() {
    local ver cluster
    ver="$(ls /usr/lib/postgresql | sort -n | tail -1)"
    cluster=main
    if ! pg_lsclusters -h | grep -q "^$ver $cluster"; then
        log "creating PostgreSQL $ver cluster"
        as_root pg_createcluster "$ver" "$cluster" >/dev/null
    fi
    if ! pg_lsclusters -h | awk -v v="$ver" -v c="$cluster" '$1==v && $2==c {print $4}' | grep -q online; then
        log "starting PostgreSQL $ver"
        as_root pg_ctlcluster "$ver" "$cluster" start
    fi
    PG_PORT="$(pg_lsclusters -h | awk -v v="$ver" -v c="$cluster" '$1==v && $2==c {print $3}')"
    for _ in $(seq 1 30); do
        pg_isready -q -h "$PG_HOST" -p "$PG_PORT" && return 0
        sleep 1
    done
    log "PostgreSQL did not come up"; return 1
}

psql_admin() { as_root su postgres -c "psql -p $PG_PORT -v ON_ERROR_STOP=1 -qAt $(printf '%q ' "$@")"; }

ensure_database() {
    local db="$1"
    if [ -z "$(psql_admin -c "SELECT 1 FROM pg_roles WHERE rolname='$PG_ROLE'")" ]; then
        log "creating role $PG_ROLE"
        psql_admin -c "CREATE ROLE $PG_ROLE LOGIN PASSWORD '$PG_PASS'"
    fi
    if [ -z "$(psql_admin -c "SELECT 1 FROM pg_database WHERE datname='$db'")" ]; then
        log "creating database $db"
        psql_admin -c "CREATE DATABASE $db OWNER $PG_ROLE ENCODING 'UTF8' LC_COLLATE 'C.UTF-8' LC_CTYPE 'C.UTF-8' TEMPLATE template0"
    fi
    # pg_trgm is a trusted extension, but creating it up front keeps the
    # migration independent of the role's rights on older servers.
    psql_admin -d "$db" -c "CREATE EXTENSION IF NOT EXISTS pg_trgm"
}

ensure_datastore() {
    # DataStore: its own database, written by the CKAN role, read by a
    # read-only role. Arguments: datastore db, main db.
    local db="$1"
    if [ -z "$(psql_admin -c "SELECT 1 FROM pg_roles WHERE rolname='datastore_ro'")" ]; then
        log "creating role datastore_ro"
        psql_admin -c "CREATE ROLE datastore_ro LOGIN PASSWORD '$PG_PASS'"
    fi
    if [ -z "$(psql_admin -c "SELECT 1 FROM pg_database WHERE datname='$db'")" ]; then
        log "creating database $db"
        psql_admin -c "CREATE DATABASE $db OWNER $PG_ROLE ENCODING 'UTF8' LC_COLLATE 'C.UTF-8' LC_CTYPE 'C.UTF-8' TEMPLATE template0"
        # the SQL of `ckan datastore set-permissions` (which needs the
        # datastore plugin in the ini), from CKAN's own template
        "$VENV/bin/python" -c 'import sys; from ckanext.datastore.cli import permissions_sql; print(permissions_sql(*sys.argv[1:]))' \
            "$2" "$db" "$PG_ROLE" "$PG_ROLE" datastore_ro \
            | as_root su postgres -c "psql -p $PG_PORT -v ON_ERROR_STOP=1 -q -d $db" >/dev/null
    fi
}

start_redis() {
    if redis-cli -p "$REDIS_PORT" ping >/dev/null 2>&1; then return 0; fi
    log "starting Redis on 127.0.0.1:$REDIS_PORT"
    redis-server --port "$REDIS_PORT" --bind 127.0.0.1 --daemonize yes \
        --save '' --appendonly no --logfile /tmp/kpigov-redis.log
    for _ in $(seq 1 20); do
        redis-cli -p "$REDIS_PORT" ping >/dev/null 2>&1 && return 0
        sleep 0.5
    done
    log "Redis did not come up"; return 1
}

ensure_stack() {
    ensure_apt
    start_postgres
    start_redis
    ensure_venv
}
