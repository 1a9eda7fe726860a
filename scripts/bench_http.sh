#!/usr/bin/env bash
# Load test of the HTTP interface with wrk: requests/s and p99 latency.
#
#   scripts/bench_http.sh                 build the release binary, start it on free
#                                         loopback ports and load /index.html (and
#                                         /clicktocall.html with calls to a SIPp UAS
#                                         when sipp is installed)
#   BENCH_URL=http://127.0.0.1:5090 scripts/bench_http.sh
#                                         load an already running server instead
#                                         (BENCH_C2C=1: also /clicktocall.html, which
#                                         places real calls: point the server's
#                                         translation rules at a test UAS)
#
# Tunables: DURATION (10s), THREADS (2), CONNECTIONS (32). Figures go into the issue
# notes, never into test assertions. Only processes started here are stopped here.
#
# The SIPp UAS plays tests/sipp/bench_uas_busy.xml (every INVITE answered 486 at once,
# so each placed call ends within milliseconds and calls never pile up); the number of
# calls that reached it is printed after the run. Without that file: `sipp -sn uas`.
set -euo pipefail

DURATION=${DURATION:-10s}
THREADS=${THREADS:-2}
CONNECTIONS=${CONNECTIONS:-32}
ROOT=$(cd "$(dirname "$0")/.." && pwd)

command -v wrk >/dev/null || { echo "wrk is required (apt-get install -y wrk)" >&2; exit 2; }

PIDS=()
TMP=$(mktemp -d)
cleanup() {
    for pid in "${PIDS[@]}"; do kill "$pid" 2>/dev/null || true; done
    for pid in "${PIDS[@]}"; do wait "$pid" 2>/dev/null || true; done
    rm -rf "$TMP"
}
trap cleanup EXIT

free_port() {
    python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])'
}

# One wrk run; prints "<label>: <requests/s> req/s, p99 <latency>".
run_wrk() {
    local label=$1 url=$2 out
    out=$(wrk -t"$THREADS" -c"$CONNECTIONS" -d"$DURATION" --latency "$url")
    echo "$out" >"$TMP/wrk-$label.txt"
    local rps p99 errors
    rps=$(awk '/^Requests\/sec:/ {print $2}' <<<"$out")
    p99=$(awk '$1 == "99%" {print $2}' <<<"$out")
    errors=$(awk '/Non-2xx or 3xx responses:|Socket errors:/ {print}' <<<"$out" | tr '\n' ' ')
    echo "$label: ${rps} req/s, p99 ${p99} (${THREADS} threads, ${CONNECTIONS} connections, ${DURATION}) ${errors}"
}

if [[ -n "${BENCH_URL:-}" ]]; then
    run_wrk index "$BENCH_URL/index.html"
    if [[ "${BENCH_C2C:-0}" == 1 ]]; then
        run_wrk clicktocall "$BENCH_URL/clicktocall.html?initiator=100&destination=200&anchor=true"
    fi
    exit 0
fi

(cd "$ROOT" && cargo build --release --quiet)
BIN=${CARGO_TARGET_DIR:-$ROOT/target}/release/clicktocall

HTTP_PORT=$(free_port)
SIP_PORT=$(free_port)
TLS_PORT=$(free_port)
UAS_PORT=$(free_port)
cat >"$TMP/clicktocall.config" <<CONF
IPAddress = 127.0.0.1
UDPTCPPort = $SIP_PORT
TLSPort = $TLS_PORT
HttpPort = $HTTP_PORT
XmlRpcPort = 0
HttpAuth = 0
HttpMaxConnections = $((CONNECTIONS + 16))
LogLevel = WARNING
LogFilename = $TMP/clicktocall.log
TranslationPattern = ^(.*)\$
TranslationOutput = sip:\$1@127.0.0.1:$UAS_PORT
CONF

(cd "$TMP" && exec "$BIN" -c "$TMP/clicktocall.config") >"$TMP/server.out" 2>&1 &
PIDS+=($!)
for _ in $(seq 1 100); do
    curl -s -o /dev/null "http://127.0.0.1:$HTTP_PORT/index.html" && break
    sleep 0.1
done
curl -s -o /dev/null "http://127.0.0.1:$HTTP_PORT/index.html" || {
    echo "server did not start:" >&2
    cat "$TMP/server.out" >&2
    exit 1
}

run_wrk index "http://127.0.0.1:$HTTP_PORT/index.html"

if command -v sipp >/dev/null; then
    SCENARIO=(-sn uas)
    [[ -f "$ROOT/tests/sipp/bench_uas_busy.xml" ]] && SCENARIO=(-sf "$ROOT/tests/sipp/bench_uas_busy.xml")
    # -trace_stat: the statistics file tells how many calls reached the UAS.
    (cd "$TMP" && exec sipp "${SCENARIO[@]}" -i 127.0.0.1 -p "$UAS_PORT" -nostdin \
        -trace_stat -stf "$TMP/sipp-stats.csv" -fd 1) >"$TMP/sipp.out" 2>&1 &
    SIPP_PID=$!
    PIDS+=("$SIPP_PID")
    for _ in $(seq 1 50); do
        grep -q "$(printf ':%04X ' "$UAS_PORT")" /proc/net/udp && break
        sleep 0.1
    done
    run_wrk clicktocall "http://127.0.0.1:$HTTP_PORT/clicktocall.html?initiator=100&destination=200&anchor=true"
    # Let the last calls end, then read SIPp's counters (columns named in the header).
    sleep 2
    if [[ -f "$TMP/sipp-stats.csv" ]]; then
        awk -F';' 'NR == 1 { for (i = 1; i <= NF; i++) col[$i] = i; next }
                   { last = $0 }
                   END { split(last, v, ";");
                         printf "  calls at the UAS: %s received, %s completed (486 + ACK), %s failed\n",
                                v[col["TotalCallCreated"]], v[col["SuccessfulCall(C)"]], v[col["FailedCall(C)"]] }' \
            "$TMP/sipp-stats.csv"
    fi
    # The server must still answer after the load.
    curl -s -o /dev/null -w "  server after the load: %{http_code} on /index.html\n" \
        "http://127.0.0.1:$HTTP_PORT/index.html" || echo "  server after the load: no answer"
else
    echo "clicktocall: skipped (sipp not installed)"
fi
