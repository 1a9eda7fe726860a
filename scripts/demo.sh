#!/usr/bin/env bash
# make demo: the server on loopback with a demo configuration, SIPp phones (the scenarios
# of tests/sipp/), one REFER-mode and one anchored click-to-call placed through the JSON
# API, their progress printed from the event streams as it arrives. Then the web page's
# address; Ctrl-C stops everything this script started. DEMO_ONCE=1: stop after the two
# calls (CI). Needs sipp (Debian sip-tester) and curl.
#
#   scripts/demo.sh [path of the clicktocall binary]
set -euo pipefail

BIN=${1:-target/debug/clicktocall}
ROOT=$(cd "$(dirname "$0")/.." && pwd)
SCENARIOS=$ROOT/tests/sipp
DIR=$(mktemp -d "${TMPDIR:-/tmp}/clicktocall-demo.XXXXXX")
# Every wait is bounded; a demo that hangs says where.
WAIT_S=30

for tool in sipp curl; do
  command -v "$tool" >/dev/null || { echo "demo: $tool is missing (Debian: sip-tester, curl)" >&2; exit 1; }
done
[[ -x $BIN ]] || { echo "demo: no binary at $BIN (cargo build first)" >&2; exit 1; }

pids=()
stop_all() {
  # Only the processes started here, by their PID.
  for pid in "${pids[@]}"; do kill "$pid" 2>/dev/null || true; done
  for pid in "${pids[@]}"; do wait "$pid" 2>/dev/null || true; done
  rm -rf "$DIR"
}
trap stop_all EXIT
trap 'echo; echo "demo: stopping"; exit 0' INT TERM

cat >"$DIR/demo.config" <<EOF
IPAddress = 127.0.0.1
ApiIPAddress = 127.0.0.1
ClickToCallIdentity = sip:click2call@127.0.0.1
UDPTCPPort = auto
TLSPort = 0
XmlRpcPort = auto
HttpPort = auto
HttpAuth = 0
InstanceName = demo
LogFilename = $DIR/clicktocall.log
# p<port>-<user>: the SIPp phone listening on that loopback port.
TranslationPattern = ^p([0-9]+)-(.+)\$
TranslationOutput = sip:\$2@127.0.0.1:\$1
EOF

"$BIN" -c "$DIR/demo.config" --ready-file "$DIR/ready" >"$DIR/server.out" 2>&1 &
pids+=($!)
for _ in $(seq $((WAIT_S * 10))); do [[ -s $DIR/ready ]] && break; sleep 0.1; done
[[ -s $DIR/ready ]] || { echo "demo: the server did not start:" >&2; cat "$DIR/server.out" >&2; exit 1; }
port_of() { awk -v n="$1" '$1 == n { sub(/.*:/, "", $2); print $2; exit }' "$DIR/ready"; }
SIP=$(port_of sip-udp)
HTTP=$(port_of http)
echo "demo: server up (pid ${pids[0]}; SIP $SIP, HTTP $HTTP, XML $(port_of xml)), log in $DIR/clicktocall.log"

# Starts a SIPp phone playing scenario $1 with @NAME@=value pairs $2…; sets PHONE_PORT.
# SIPp cannot report a port it chose: a candidate is tried, again if another took it.
start_phone() {
  local scenario=$1; shift
  local rendered="$DIR/$scenario"
  local subst=(-e "s/@SERVER_PORT@/$SIP/g")
  for pair in "$@"; do subst+=(-e "s/@${pair%%=*}@/${pair#*=}/g"); done
  sed "${subst[@]}" "$SCENARIOS/$scenario" >"$rendered"
  for _ in 1 2 3 4 5; do
    PHONE_PORT=$((20000 + RANDOM % 30000))
    sipp -sf "$rendered" -i 127.0.0.1 -p "$PHONE_PORT" -m 1 -nostdin \
      -timeout 60s -timeout_error >"$DIR/${scenario%.xml}-$PHONE_PORT.out" 2>&1 &
    local pid=$!
    sleep 0.5
    if kill -0 "$pid" 2>/dev/null; then
      pids+=("$pid")
      return 0
    fi
  done
  echo "demo: SIPp $scenario did not start" >&2
  exit 1
}

# Places a call through the JSON API and prints its progress until the call is over.
call() {
  local label=$1 initiator=$2 destination=$3 anchor=$4
  local placed id
  placed=$(curl -sS --max-time "$WAIT_S" -X POST -H 'Content-Type: application/json' \
    -d "{\"initiator\": \"$initiator\", \"destination\": \"$destination\", \"anchor\": $anchor}" \
    "http://127.0.0.1:$HTTP/api/v1/calls")
  id=$(sed -n 's/.*"id":"\([^"]*\)".*/\1/p' <<<"$placed")
  [[ -n $id ]] || { echo "demo: [$label] refused: $placed" >&2; exit 1; }
  echo "demo: [$label] call $id: $initiator -> $destination"
  local event=""
  while IFS= read -r line; do
    case $line in
      "event: "*) event=${line#event: } ;;
      "data: "*)
        local data=${line#data: }
        if [[ $event == progress ]]; then
          local code leg text
          code=$(sed -n 's/.*"code":\([0-9]*\).*/\1/p' <<<"$data")
          leg=$(sed -n 's/.*"leg":"\([^"]*\)".*/\1/p' <<<"$data")
          text=$(sed -n 's/.*"text":"\([^"]*\)".*/\1/p' <<<"$data")
          echo "demo: [$label] $code $leg $text"
        else
          echo "demo: [$label] call over"
        fi
        ;;
    esac
  done < <(curl -sSN --max-time 120 "http://127.0.0.1:$HTTP/api/v1/calls/$id/events" | tr -d '\r')
}

# REFER mode: the initiator's phone is told to call the destination (it reports success
# in its NOTIFY); the destination's phone is never called by us.
DEST_PORT=$((20000 + RANDOM % 30000))
start_phone initiator_refer_ok.xml "DEST_PORT=$DEST_PORT"
call refer "p$PHONE_PORT-100" "p$DEST_PORT-200" false

# Anchored: both phones are called by us and their media relayed; the destination hangs
# up after a moment.
start_phone initiator_anchor.xml
INIT_PORT=$PHONE_PORT
start_phone destination_anchor.xml "INIT_PORT=$INIT_PORT"
call anchored "p$INIT_PORT-100" "p$PHONE_PORT-200" true

echo "demo: the web page is at http://127.0.0.1:$HTTP/ (metrics at /metrics)"
if [[ ${DEMO_ONCE:-0} == 1 ]]; then
  exit 0
fi
echo "demo: Ctrl-C stops the server"
wait "${pids[0]}"
