#!/usr/bin/env bash
# Make sure a PostgreSQL server that trusts local TCP connections is running for the tests.
#
#   bash scripts/ensure_postgres.sh        # start / check (idempotent)
#   bash scripts/ensure_postgres.sh stop   # stop the throwaway cluster, if one was started
#
# 1. If STORK_TEST_PG is set and answers `select 1`, nothing to do.
# 2. Otherwise the server on 127.0.0.1:5432: started with pg_ctlcluster if it is
#    installed but down, installed with apt-get if missing, then waited for (30 s).
# 3. If that server refuses `psql -h 127.0.0.1 -U postgres` without a password (Debian's
#    default pg_hba.conf asks for one on TCP), a throwaway cluster with trust
#    authentication is started on a free port in a temporary folder instead. Its
#    `export STORK_TEST_PG=...` line is printed and written to test-artifacts/pg.env,
#    which scripts/test.sh sources (and stops the cluster afterwards).
#    STORK_PG_FORCE_THROWAWAY=1 takes this path even when the system server would do.
set -euo pipefail

ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
ENV_FILE="$ROOT/test-artifacts/pg.env"
HOST=127.0.0.1
PORT=5432
WAIT=30
export PGCONNECT_TIMEOUT=5

log() { echo "ensure_postgres: $*" >&2; }

pg_bindir() {
    local ver
    ver="$(ls /usr/lib/postgresql 2>/dev/null | sort -V | tail -1 || true)"
    if [ -n "$ver" ]; then echo "/usr/lib/postgresql/$ver/bin"; fi
}

as_postgres() {
    # Run a command as the postgres user when root (initdb refuses to run as root).
    if [ "$(id -u)" = 0 ]; then
        runuser -u postgres -- "$@"
    else
        "$@"
    fi
}

answers() { # URL -> 0 when `select 1` works without a password prompt
    psql -w -X -q -At "$1" -c 'select 1' >/dev/null 2>&1
}

wait_ready() { # host port
    local i
    for ((i = 0; i < WAIT; i++)); do
        pg_isready -q -h "$1" -p "$2" -t 1 && return 0
        sleep 1
    done
    return 1
}

stop_throwaway() {
    [ -f "$ENV_FILE" ] || return 0
    # shellcheck disable=SC1090
    source "$ENV_FILE"
    if [ -n "${STORK_PG_THROWAWAY_DIR:-}" ] && [ -d "$STORK_PG_THROWAWAY_DIR" ]; then
        log "stopping the throwaway cluster in $STORK_PG_THROWAWAY_DIR"
        as_postgres "$(pg_bindir)/pg_ctl" -D "$STORK_PG_THROWAWAY_DIR/data" -m fast -w -t "$WAIT" stop \
            >/dev/null 2>&1 || true
        rm -rf "$STORK_PG_THROWAWAY_DIR"
    fi
    rm -f "$ENV_FILE"
}

if [ "${1:-}" = stop ]; then
    stop_throwaway
    exit 0
fi

# 1. An explicitly configured server that works.
if [ -n "${STORK_TEST_PG:-}" ] && command -v psql >/dev/null 2>&1 && answers "$STORK_TEST_PG"; then
    log "using STORK_TEST_PG"
    exit 0
fi

# A throwaway cluster left running by an earlier call.
if [ -f "$ENV_FILE" ]; then
    # shellcheck disable=SC1090
    source "$ENV_FILE"
    if command -v psql >/dev/null 2>&1 && answers "$STORK_TEST_PG"; then
        log "reusing the throwaway cluster ($STORK_TEST_PG)"
        echo "export STORK_TEST_PG=$STORK_TEST_PG"
        exit 0
    fi
    stop_throwaway
fi

# 2. The system server on 127.0.0.1:5432.
if ! command -v pg_ctlcluster >/dev/null 2>&1 || [ -z "$(pg_bindir)" ]; then
    log "PostgreSQL is not installed; installing it with apt-get"
    export DEBIAN_FRONTEND=noninteractive
    apt-get update -qq
    apt-get install -y -qq postgresql >/dev/null
fi

if ! pg_isready -q -h "$HOST" -p "$PORT" -t 2; then
    ver="$(ls /etc/postgresql 2>/dev/null | sort -V | head -1 || true)"
    if [ -z "$ver" ] || [ ! -d "/etc/postgresql/$ver/main" ]; then
        ver="$(basename "$(dirname "$(pg_bindir)")")"
        log "creating cluster $ver/main"
        pg_createcluster "$ver" main >/dev/null
    fi
    log "starting cluster $ver/main"
    pg_ctlcluster --skip-systemctl-redirect "$ver" main start || true
    if ! wait_ready "$HOST" "$PORT"; then
        log "PostgreSQL $ver/main is not accepting connections on $HOST:$PORT after ${WAIT} s"
        exit 1
    fi
fi

DEFAULT_URL="postgresql://postgres@$HOST:$PORT/postgres"
if [ "${STORK_PG_FORCE_THROWAWAY:-0}" != 1 ] && answers "$DEFAULT_URL"; then
    log "PostgreSQL is ready at $DEFAULT_URL"
    rm -f "$ENV_FILE"
    exit 0
fi

# 3. The system server wants a password: a throwaway trust cluster on a free port.
log "$DEFAULT_URL is not usable without a password (or STORK_PG_FORCE_THROWAWAY=1); starting a throwaway cluster"
bindir="$(pg_bindir)"
dir="$(mktemp -d "${TMPDIR:-/tmp}/stork-pg.XXXXXX")"
chmod 755 "$dir"
if [ "$(id -u)" = 0 ]; then chown postgres: "$dir"; fi
free_port="$(python3 -c 'import socket; s = socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1]); s.close()')"
as_postgres "$bindir/initdb" -D "$dir/data" --auth=trust -U postgres -E UTF8 --locale=C.UTF-8 \
    >"$dir/initdb.log" 2>&1 || {
    cat "$dir/initdb.log" >&2
    exit 1
}
as_postgres "$bindir/pg_ctl" -D "$dir/data" -l "$dir/server.log" -w -t "$WAIT" \
    -o "-p $free_port -k $dir -c listen_addresses=$HOST -c fsync=off" start >/dev/null || {
    cat "$dir/server.log" >&2
    exit 1
}
url="postgresql://postgres@$HOST:$free_port/postgres"
if ! wait_ready "$HOST" "$free_port" || ! answers "$url"; then
    log "the throwaway cluster in $dir did not come up; see $dir/server.log"
    exit 1
fi
mkdir -p "$(dirname "$ENV_FILE")"
{
    echo "export STORK_TEST_PG=$url"
    echo "export STORK_PG_THROWAWAY_DIR=$dir"
} >"$ENV_FILE"
log "throwaway cluster ready at $url (stop it with: bash scripts/ensure_postgres.sh stop)"
echo "export STORK_TEST_PG=$url"
