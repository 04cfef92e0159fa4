#!/usr/bin/env bash
# Starts a throwaway PostgreSQL 15 server for the scry-pg integration tests.
#
# Installs postgresql-15 with apt when its binaries are missing, initdb's a data directory
# under /tmp as an unprivileged user (postgres refuses to run as root), starts the server on
# 127.0.0.1 with trust authentication (but password, MD5 and SCRAM logins for three roles the
# client tests make) and logical decoding on (wal_level=logical, replication slots, prepared
# transactions for two-phase decoding), creates a database and prints the conninfo.
#
# Usage:  eval "$(bash .ci/postgres.sh)"    # exports SCRY_PG_URL
# Stop:   bash .ci/postgres-stop.sh
# Environment: SCRY_PG_PORT (default 54329; the next free port is taken when it is busy), SCRY_PG_DIR (default /tmp/scry-pg-data),
#              SCRY_PG_USER (default postgres when it exists, else scrypg), SCRY_PG_DB (scry),
#              SCRY_PG_BINDIR (another server build's bin directory: initdb, pg_ctl and
#              postgres; see .ci/postgres-versions.sh),
#              SCRY_PG_VAR (default SCRY_PG_URL: the variable it prints; VAR_DIR is the data
#              directory, for .ci/postgres-ctl.sh), SCRY_PG_TLS=1 (a TLS-only server, see
#              below; VAR_CA, VAR_OTHER_CA, VAR_PASSWORD and VAR_SOCKET are printed too).
set -euo pipefail

PORT="${SCRY_PG_PORT:-54329}"
DATA="${SCRY_PG_DIR:-/tmp/scry-pg-data}"
DB="${SCRY_PG_DB:-scry}"
LOG="$DATA.log"

log() { echo "postgres.sh: $*" >&2; }

bindir=""
if command -v pg_config >/dev/null 2>&1; then
    bindir="$(pg_config --bindir)"
fi
if [ -z "$bindir" ] || [ ! -x "$bindir/initdb" ]; then
    if [ -x /usr/lib/postgresql/15/bin/initdb ]; then
        bindir=/usr/lib/postgresql/15/bin
    else
        log "installing postgresql-15 with apt"
        export DEBIAN_FRONTEND=noninteractive
        apt-get update >&2
        apt-get install -y --no-install-recommends postgresql-15 postgresql-client-15 >&2
        bindir=/usr/lib/postgresql/15/bin
    fi
fi
# The client programs (createdb, psql) are Debian's 15 ones, which talk to every version;
# the server may be another build (SCRY_PG_BINDIR: initdb, pg_ctl and postgres only).
client_bindir="$bindir"
bindir="${SCRY_PG_BINDIR:-$bindir}"

if [ -n "${SCRY_PG_USER:-}" ]; then
    PGUSER_NAME="$SCRY_PG_USER"
elif id postgres >/dev/null 2>&1; then
    PGUSER_NAME=postgres
else
    PGUSER_NAME=scrypg
fi
if [ "$(id -u)" = 0 ]; then
    if ! id "$PGUSER_NAME" >/dev/null 2>&1; then
        log "creating user $PGUSER_NAME"
        useradd --system --no-create-home --shell /bin/sh "$PGUSER_NAME"
    fi
    as_pg() { su -s /bin/sh "$PGUSER_NAME" -c "$(printf '%q ' "$@")"; }
else
    PGUSER_NAME="$(id -un)"
    as_pg() { "$@"; }
fi

# A previous server on this data directory is stopped and its data thrown away.
if [ -f "$DATA/postmaster.pid" ]; then
    as_pg "$bindir/pg_ctl" -D "$DATA" -m immediate stop >&2 || true
fi
rm -rf "$DATA" "$LOG"
mkdir -p "$DATA"
touch "$LOG"
if [ "$(id -u)" = 0 ]; then
    chown "$PGUSER_NAME" "$DATA" "$LOG"
fi
chmod 700 "$DATA"

# The first free port from $PORT on (a port something already listens on is skipped).
port_busy() { (exec 3<>"/dev/tcp/127.0.0.1/$1") 2>/dev/null; }
for _ in $(seq 1 50); do
    if port_busy "$PORT"; then PORT=$((PORT + 1)); else break; fi
done
if port_busy "$PORT"; then log "no free port found"; exit 1; fi

as_pg "$bindir/initdb" -D "$DATA" -U "$PGUSER_NAME" --auth=trust --encoding=UTF8 \
    --locale=C --no-sync >&2
# Password logins for the client's tests, for these roles only (everyone else is trusted).
hba="$(mktemp)"
{
    printf 'host all scry_password 127.0.0.1/32 password\n'
    printf 'host all scry_md5 127.0.0.1/32 md5\n'
    printf 'host all scry_scram 127.0.0.1/32 scram-sha-256\n'
    cat "$DATA/pg_hba.conf"
} >"$hba"
cat "$hba" >"$DATA/pg_hba.conf"
rm -f "$hba"
# The settings go into postgresql.conf, so that a plain `pg_ctl start` (a test that stops and
# starts the server, see .ci/postgres-ctl.sh) brings it back as it was.
cat >>"$DATA/postgresql.conf" <<CONF
listen_addresses = '127.0.0.1'
port = $PORT
unix_socket_directories = '/tmp'
fsync = off
full_page_writes = off
wal_level = logical
max_replication_slots = 40
max_wal_senders = 40
max_prepared_transactions = 20
CONF
# A port taken between the check above and the start (a server of an earlier run still
# going away) moves the server to the next free one.
for attempt in 1 2 3 4 5; do
    if as_pg "$bindir/pg_ctl" -D "$DATA" -l "$LOG" -w -t 60 start >&2; then
        break
    fi
    if [ "$attempt" = 5 ] || ! grep -q "could not bind" "$LOG"; then
        log "the server did not start; its log:"
        tail -20 "$LOG" >&2
        exit 1
    fi
    PORT=$((PORT + 1))
    while port_busy "$PORT"; do PORT=$((PORT + 1)); done
    log "port taken; trying port $PORT"
    sed -i "s/^port = .*/port = $PORT/" "$DATA/postgresql.conf"
    : >"$LOG"
done
as_pg "$client_bindir/createdb" -h 127.0.0.1 -p "$PORT" -U "$PGUSER_NAME" "$DB" >&2

URL="host=127.0.0.1 port=$PORT user=$PGUSER_NAME dbname=$DB"

# SCRY_PG_TLS=1: a server as managed services configure it: TLS only (hostssl), SCRAM
# passwords, a certificate for localhost and 127.0.0.1 signed by a test CA. Trust stays on
# the Unix socket only, for the tests' set-up.
if [ "${SCRY_PG_TLS:-}" = 1 ]; then
    if ! command -v openssl >/dev/null 2>&1; then
        export DEBIAN_FRONTEND=noninteractive
        apt-get install -y --no-install-recommends openssl >&2
    fi
    TLS_DIR="$DATA.tls"
    rm -rf "$TLS_DIR"
    mkdir -p "$TLS_DIR"
    (
        cd "$TLS_DIR"
        openssl req -new -x509 -nodes -days 30 -subj "/CN=scry test CA" \
            -keyout ca.key -out ca.pem >/dev/null 2>&1
        openssl req -new -x509 -nodes -days 30 -subj "/CN=another test CA" \
            -keyout other-ca.key -out other-ca.pem >/dev/null 2>&1
        openssl req -new -nodes -subj "/CN=localhost" -keyout server.key -out server.csr \
            >/dev/null 2>&1
        printf 'subjectAltName = DNS:localhost, IP:127.0.0.1\n' >san.ext
        openssl x509 -req -in server.csr -CA ca.pem -CAkey ca.key -CAcreateserial -days 30 \
            -extfile san.ext -out server.crt >/dev/null 2>&1
    )
    cp "$TLS_DIR/server.crt" "$TLS_DIR/server.key" "$DATA/"
    if [ "$(id -u)" = 0 ]; then
        chown "$PGUSER_NAME" "$DATA/server.crt" "$DATA/server.key"
    fi
    chmod 600 "$DATA/server.key"
    printf "ssl = on\nssl_cert_file = 'server.crt'\nssl_key_file = 'server.key'\npassword_encryption = 'scram-sha-256'\n" \
        >>"$DATA/postgresql.conf"
    as_pg "$client_bindir/psql" -h /tmp -p "$PORT" -U "$PGUSER_NAME" -d "$DB" -qc \
        "CREATE ROLE scry_tls LOGIN SUPERUSER REPLICATION PASSWORD 'tls pass word'" >&2
    printf 'local all all trust\nhostssl all all 127.0.0.1/32 scram-sha-256\nhostssl all all ::1/128 scram-sha-256\n' \
        >"$DATA/pg_hba.conf"
    as_pg "$bindir/pg_ctl" -D "$DATA" -l "$LOG" -w -t 60 restart >&2
    URL="host=localhost port=$PORT user=scry_tls dbname=$DB"
    echo "export ${SCRY_PG_VAR:-SCRY_PG_URL}_CA='$TLS_DIR/ca.pem'"
    echo "export ${SCRY_PG_VAR:-SCRY_PG_URL}_OTHER_CA='$TLS_DIR/other-ca.pem'"
    echo "export ${SCRY_PG_VAR:-SCRY_PG_URL}_PASSWORD='tls pass word'"
    echo "export ${SCRY_PG_VAR:-SCRY_PG_URL}_SOCKET='host=/tmp port=$PORT user=$PGUSER_NAME dbname=$DB'"
fi
log "server up: $URL"
echo "export ${SCRY_PG_VAR:-SCRY_PG_URL}='$URL'"
echo "export ${SCRY_PG_VAR:-SCRY_PG_URL}_DIR='$DATA'"
