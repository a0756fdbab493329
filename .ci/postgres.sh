#!/usr/bin/env bash
# Start a throw-away PostgreSQL server for the tests and print its URL on stdout.
#
# Installs Debian's postgresql package when no server binaries are found (needs root and
# Debian's package registry), initialises a cluster under $PGDATA_DIR (default
# /tmp/gru-search-pg) owned by an unprivileged user, and starts it on 127.0.0.1:$PGPORT
# (default 54329). Idempotent: a server already running there is reused.
set -euo pipefail
PGPORT="${PGPORT:-54329}"
PGDATA_DIR="${PGDATA_DIR:-/tmp/gru-search-pg}"
DB=gru_search_test

find_bin() {
    local dir
    for dir in /usr/lib/postgresql/*/bin; do
        [ -x "$dir/pg_ctl" ] && { echo "$dir"; return; }
    done
    command -v pg_ctl >/dev/null 2>&1 && dirname "$(command -v pg_ctl)"
}

BIN="$(find_bin || true)"
if [ -z "$BIN" ]; then
    echo "installing postgresql from Debian's packages" >&2
    apt-get update -qq >&2
    DEBIAN_FRONTEND=noninteractive apt-get install -y -qq postgresql >&2
    BIN="$(find_bin)"
fi

# PostgreSQL refuses to run as root: use the package's postgres user (or a new one)
RUN=()
if [ "$(id -u)" = 0 ]; then
    id postgres >/dev/null 2>&1 || useradd --system --no-create-home postgres
    RUN=(runuser -u postgres --)
fi

if ! "${RUN[@]}" "$BIN/pg_isready" -q -h 127.0.0.1 -p "$PGPORT" 2>/dev/null; then
    if [ ! -s "$PGDATA_DIR/PG_VERSION" ]; then
        mkdir -p "$PGDATA_DIR"
        [ "$(id -u)" = 0 ] && chown postgres "$PGDATA_DIR"
        "${RUN[@]}" "$BIN/initdb" -D "$PGDATA_DIR" -U postgres --auth=trust >/dev/null
    fi
    "${RUN[@]}" "$BIN/pg_ctl" -D "$PGDATA_DIR" -l "$PGDATA_DIR/server.log" -w \
        -o "-p $PGPORT -k $PGDATA_DIR -c listen_addresses=127.0.0.1 -c max_connections=200" \
        start >&2
fi
if ! "${RUN[@]}" "$BIN/psql" -h 127.0.0.1 -p "$PGPORT" -U postgres -tAc \
        "SELECT 1 FROM pg_database WHERE datname='$DB'" | grep -q 1; then
    "${RUN[@]}" "$BIN/createdb" -h 127.0.0.1 -p "$PGPORT" -U postgres "$DB"
fi
echo "postgresql://postgres@127.0.0.1:$PGPORT/$DB"
