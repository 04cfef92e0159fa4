#!/usr/bin/env bash
# Stops the server .ci/postgres.sh started and removes its data directory.
set -euo pipefail
DATA="${SCRY_PG_DIR:-/tmp/scry-pg-data}"
bindir="/usr/lib/postgresql/15/bin"
if command -v pg_config >/dev/null 2>&1; then
    bindir="$(pg_config --bindir)"
fi
if [ -f "$DATA/postmaster.pid" ]; then
    owner="$(stat -c %U "$DATA")"
    if [ "$(id -u)" = 0 ] && [ "$owner" != root ]; then
        su -s /bin/sh "$owner" -c "$bindir/pg_ctl -D $DATA -m fast -w stop" >&2
    else
        "$bindir/pg_ctl" -D "$DATA" -m fast -w stop >&2
    fi
fi
rm -rf "$DATA" "$DATA.log" "$DATA.tls"
echo "postgres-stop.sh: stopped" >&2
