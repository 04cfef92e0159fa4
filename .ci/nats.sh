#!/usr/bin/env bash
# Starts throwaway NATS servers with JetStream (file storage) for the scry-nats tests.
#
# Installs Debian's nats-server with apt when it is missing, then starts N servers on
# loopback ports. With N = 1 (the default) a lone server; with N > 1 a cluster of N (routes
# between all of them), which elects its JetStream metadata leader before this returns.
# Prints the address of every server, comma-separated, as a stream-less NATS URL.
#
# Usage:  eval "$(bash .ci/nats.sh)"                      # exports SCRY_NATS_URL
#         eval "$(SCRY_NATS_NODES=3 SCRY_NATS_VAR=SCRY_NATS_CLUSTER_URL SCRY_NATS_PORT=54432 bash .ci/nats.sh)"
# Stop:   pkill -f scry-nats-   (each server's config lives in $SCRY_NATS_DIR-K.conf)
# Environment: SCRY_NATS_PORT (first client port, default 54422; server K takes PORT+K-1 and
#              cluster port PORT+100+K-1), SCRY_NATS_NODES (default 1), SCRY_NATS_DIR (default
#              /tmp/scry-nats-PORT), SCRY_NATS_VAR (default SCRY_NATS_URL: the variable printed;
#              VAR_DIR holds the directory prefix, so a test can stop and start node K with
#              `nats-server -c VAR_DIR-K.conf`), SCRY_NATS_TLS (1: TLS required, with a
#              certificate for 127.0.0.1 signed by a test CA, and client certificates
#              verified; prints a tls:// URL and VAR_CA, VAR_CERT, VAR_KEY: the CA and a
#              client certificate and key it signed).
set -euo pipefail

PORT="${SCRY_NATS_PORT:-54422}"
NODES="${SCRY_NATS_NODES:-1}"
DIR="${SCRY_NATS_DIR:-/tmp/scry-nats-$PORT}"
VAR="${SCRY_NATS_VAR:-SCRY_NATS_URL}"

log() { echo "nats.sh: $*" >&2; }

bin="$(command -v nats-server || true)"
[ -z "$bin" ] && [ -x /usr/sbin/nats-server ] && bin=/usr/sbin/nats-server
if [ -z "$bin" ]; then
    log "installing nats-server with apt"
    export DEBIAN_FRONTEND=noninteractive
    apt-get update >&2
    apt-get install -y --no-install-recommends nats-server >&2
    bin=/usr/sbin/nats-server
fi

TLS="${SCRY_NATS_TLS:-}"
TLS_DIR="$DIR-tls"
if [ "$TLS" = 1 ]; then
    if ! command -v openssl >/dev/null 2>&1; then
        export DEBIAN_FRONTEND=noninteractive
        apt-get install -y --no-install-recommends openssl >&2
    fi
    rm -rf "$TLS_DIR"
    mkdir -p "$TLS_DIR"
    (
        cd "$TLS_DIR"
        openssl req -new -x509 -nodes -days 30 -subj "/CN=scry NATS test CA" \
            -keyout ca.key -out ca.pem >/dev/null 2>&1
        printf 'subjectAltName = DNS:localhost, IP:127.0.0.1\n' >server.ext
        printf 'extendedKeyUsage = clientAuth\n' >client.ext
        for who in server client; do
            openssl req -new -nodes -subj "/CN=scry-$who" -keyout "$who.key" -out "$who.csr" \
                >/dev/null 2>&1
            openssl x509 -req -in "$who.csr" -CA ca.pem -CAkey ca.key -CAcreateserial -days 30 \
                -extfile "$who.ext" -out "$who.pem" >/dev/null 2>&1
        done
    )
fi

routes=""
urls=""
for k in $(seq 1 "$NODES"); do
    routes="$routes${routes:+, }nats-route://127.0.0.1:$((PORT + 100 + k - 1))"
    urls="$urls${urls:+,}127.0.0.1:$((PORT + k - 1))"
done

for k in $(seq 1 "$NODES"); do
    conf="$DIR-$k.conf"
    store="$DIR-$k.store"
    pkill -f -- "-c $conf" 2>/dev/null || true
    rm -rf "$store"
    mkdir -p "$store"
    {
        echo "server_name: scry-nats-$PORT-$k"
        echo "listen: 127.0.0.1:$((PORT + k - 1))"
        echo "jetstream { store_dir: \"$store\" }"
        if [ "$TLS" = 1 ]; then
            echo "tls { cert_file: \"$TLS_DIR/server.pem\", key_file: \"$TLS_DIR/server.key\", ca_file: \"$TLS_DIR/ca.pem\", verify: true }"
        fi
        if [ "$NODES" -gt 1 ]; then
            echo "cluster { name: scry-nats-$PORT, listen: 127.0.0.1:$((PORT + 100 + k - 1)), routes: [ $routes ] }"
        fi
    } > "$conf"
    # setsid: the server outlives this script and the CI step that ran it.
    setsid "$bin" -c "$conf" > "$DIR-$k.log" 2>&1 < /dev/null &
done

# Ready when every server answers its monitoring-free health check: a TCP connect that
# reads the INFO line; a cluster also needs its JetStream leader, which the log announces.
for k in $(seq 1 "$NODES"); do
    port=$((PORT + k - 1))
    for _ in $(seq 1 100); do
        if (exec 3<>"/dev/tcp/127.0.0.1/$port" && head -c 4 <&3 | grep -q INFO) 2>/dev/null; then
            break
        fi
        sleep 0.1
    done
done
if [ "$NODES" -gt 1 ]; then
    for _ in $(seq 1 100); do
        if grep -qh "JetStream cluster new metadata leader\|Self is new JetStream cluster metadata leader" "$DIR"-*.log; then
            break
        fi
        sleep 0.1
    done
fi
scheme=nats
[ "$TLS" = 1 ] && scheme=tls
log "up: $scheme://$urls ($NODES node(s), logs in $DIR-*.log)"
echo "export $VAR='$scheme://$urls'"
echo "export ${VAR}_DIR='$DIR'"
if [ "$TLS" = 1 ]; then
    echo "export ${VAR}_CA='$TLS_DIR/ca.pem'"
    echo "export ${VAR}_CERT='$TLS_DIR/client.pem'"
    echo "export ${VAR}_KEY='$TLS_DIR/client.key'"
fi
