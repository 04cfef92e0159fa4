#!/usr/bin/env bash
# Stops (fast shutdown) or starts again a server that .ci/postgres.sh started, as the owner of
# its data directory (PostgreSQL refuses to run as root): for tests that restart a server.
#
# Usage:  bash .ci/postgres-ctl.sh DATA_DIR stop|crash|start
#         (stop: a fast shutdown; crash: an immediate one, as a crash; start: again)
set -euo pipefail
DATA="$1"
ACTION="$2"
bindir="/usr/lib/postgresql/15/bin"
if command -v pg_config >/dev/null 2>&1 && [ -x "$(pg_config --bindir)/pg_ctl" ]; then
    bindir="$(pg_config --bindir)"
fi
case "$ACTION" in
    stop) args=(-D "$DATA" -m fast -w -t 60 stop) ;;
    crash) args=(-D "$DATA" -m immediate -w -t 60 stop) ;;
    start) args=(-D "$DATA" -l "$DATA.log" -w -t 60 start) ;;
    *) echo "postgres-ctl.sh: stop, crash or start, not $ACTION" >&2; exit 2 ;;
esac
owner="$(stat -c %U "$DATA")"
if [ "$(id -u)" = 0 ] && [ "$owner" != root ]; then
    su -s /bin/sh "$owner" -c "$(printf '%q ' "$bindir/pg_ctl" "${args[@]}")"
else
    "$bindir/pg_ctl" "${args[@]}"
fi
