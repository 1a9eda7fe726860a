#!/usr/bin/env bash
# Load benchmark of the call engine: N click-to-calls over the XML interface at a fixed
# rate against SIPp phones on loopback, in REFER mode and in anchored mode. Reports
# completed calls per second, failures, and the server's CPU time and memory.
#
# Usage: scripts/bench_calls.sh [calls] [rate/s] [mode...]
#   calls  number of click-to-calls per mode (default 500)
#   rate   calls started per second (default 50)
#   mode   refer and/or anchor (default: both)
# Environment: BIN (default $CARGO_TARGET_DIR/release/clicktocall, built if missing),
#   ROUNDS (default 1) load rounds against the same server, SETTLE (default 1) seconds
#   to wait after each round before reading RSS again (transactions linger up to 32 s,
#   RFC 3261 Timer J), KEEP=1 keeps the scratch directory.
# Needs: sipp (Debian sip-tester), python3. Kills only the processes it started.
set -euo pipefail

CALLS=${1:-500}
ROUNDS=${ROUNDS:-1}
SETTLE=${SETTLE:-1}
RATE=${2:-50}
shift $(( $# > 2 ? 2 : $# )) || true
MODES=("$@")
[ ${#MODES[@]} -eq 0 ] && MODES=(refer anchor)

ROOT=$(cd "$(dirname "$0")/.." && pwd)
TARGET=${CARGO_TARGET_DIR:-$ROOT/target}
BIN=${BIN:-$TARGET/release/clicktocall}
if [ ! -x "$BIN" ]; then
  echo "building $BIN ..." >&2
  (cd "$ROOT" && cargo build --release --bin clicktocall >&2)
fi

WORK=$(mktemp -d /tmp/c2c-bench.XXXXXX)
PIDS=()
cleanup() {
  for pid in "${PIDS[@]}"; do kill "$pid" 2>/dev/null || true; done
  if [ "${KEEP:-0}" = 1 ]; then echo "scratch kept in $WORK" >&2; else rm -rf "$WORK"; fi
}
trap cleanup EXIT

# A loopback port free for TCP and UDP at the time of asking.
free_port() {
  python3 - <<'PY'
import socket
for _ in range(100):
    t = socket.socket(); t.bind(("127.0.0.1", 0)); p = t.getsockname()[1]
    u = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    try:
        u.bind(("127.0.0.1", p)); print(p); break
    except OSError:
        pass
    finally:
        u.close(); t.close()
PY
}

# Waits until UDP port $1 is bound on 127.0.0.1 (read-only look at /proc/net/udp).
wait_udp() {
  local hex; hex=$(printf '0100007F:%04X' "$1")
  for _ in $(seq 1 500); do
    grep -q " $hex " /proc/net/udp && return 0
    sleep 0.02
  done
  echo "port $1 never bound" >&2; return 1
}

render() { # scenario, output, then NAME=value pairs for @NAME@ placeholders
  local src=$ROOT/tests/sipp/$1 out=$2; shift 2
  cp "$src" "$out"
  for kv in "$@"; do sed -i "s/@${kv%%=*}@/${kv#*=}/g" "$out"; done
  if grep -qE '@[A-Z_]+@' "$out"; then
    echo "$1: placeholder without value: $(grep -oE '@[A-Z_]+@' "$out" | head -1)" >&2; exit 1
  fi
}

start_sipp() { # name, scenario file, port, calls
  sipp -sf "$2" -i 127.0.0.1 -p "$3" -m "$4" -nostdin -timeout 600s -timeout_error \
    -trace_err -error_file "$WORK/$1.err" -trace_stat -stf "$WORK/$1.csv" \
    >"$WORK/$1.screen" 2>"$WORK/$1.stderr" &
  PIDS+=($!)
  wait_udp "$3"
}

# CPU seconds (user+system) and current/peak RSS (kB) of pid $1.
cpu_s() { awk -v hz="$(getconf CLK_TCK)" '{ printf "%.2f", ($14 + $15) / hz }' "/proc/$1/stat"; }
rss_kb() { awk '/^VmRSS/ { print $2 }' "/proc/$1/status"; }
hwm_kb() { awk '/^VmHWM/ { print $2 }' "/proc/$1/status"; }

run_mode() {
  local mode=$1
  local sip xml http tls
  sip=$(free_port); xml=$(free_port); http=$(free_port); tls=$(free_port)
  cat >"$WORK/$mode.config" <<CFG
IPAddress = 127.0.0.1
ClickToCallIdentity = sip:click2call@127.0.0.1
UDPTCPPort = $sip
TLSPort = $tls
XmlRpcPort = $xml
HttpPort = $http
HttpAuthPwd = bench-only
XmlRpcMaxConnections = 256
LogLevel = INFO
LogFilename = $WORK/$mode.log
TranslationPattern = ^p([0-9]+)-(.+)$
TranslationOutput = sip:\$2@127.0.0.1:\$1
CFG
  "$BIN" -c "$WORK/$mode.config" >"$WORK/$mode.stdout" 2>"$WORK/$mode.stderr" &
  local server=$!
  PIDS+=($server)
  for _ in $(seq 1 500); do
    (exec 3<>"/dev/tcp/127.0.0.1/$xml") 2>/dev/null && break
    sleep 0.02
  done

  local ini dst anchor
  ini=$(free_port); dst=$(free_port)
  if [ "$mode" = refer ]; then
    render initiator_refer_ok.xml "$WORK/ini-$mode.xml" "DEST_PORT=$dst" "SERVER_PORT=$sip"
    start_sipp "ini-$mode" "$WORK/ini-$mode.xml" "$ini" $((CALLS * ROUNDS))
    anchor=false
  else
    render initiator_anchor.xml "$WORK/ini-$mode.xml" "SERVER_PORT=$sip"
    render destination_anchor.xml "$WORK/dst-$mode.xml" "INIT_PORT=$ini" "SERVER_PORT=$sip"
    start_sipp "ini-$mode" "$WORK/ini-$mode.xml" "$ini" $((CALLS * ROUNDS))
    start_sipp "dst-$mode" "$WORK/dst-$mode.xml" "$dst" $((CALLS * ROUNDS))
    anchor=true
  fi

  local round
  for round in $(seq 1 "$ROUNDS"); do
    local cpu0 cpu1 rss0 rss1 hwm rss_after
    cpu0=$(cpu_s "$server"); rss0=$(rss_kb "$server")
    python3 - "$xml" "$CALLS" "$RATE" "p$ini-100" "p$dst-200" "$anchor" >"$WORK/$mode.result" <<'PY'
import asyncio, sys, time
port, calls, rate = int(sys.argv[1]), int(sys.argv[2]), float(sys.argv[3])
ini, dst, anchor = sys.argv[4], sys.argv[5], sys.argv[6]
REQ = (f"<ClickToCall>\r\n  <Request>\r\n    <Initiator>{ini}</Initiator>\r\n    "
       f"<Destination>{dst}</Destination>\r\n    <AnchorCall>{anchor}</AnchorCall>\r\n  "
       f"</Request>\r\n</ClickToCall>\r\n").encode()
END = b"</ClickToCall>"
results = {}
async def one(i):
    try:
        r, w = await asyncio.open_connection("127.0.0.1", port)
        w.write(REQ); await w.drain()
        buf = b""
        while True:
            chunk = await asyncio.wait_for(r.read(4096), 60)
            if not chunk:
                results[i] = "closed"; break
            buf += chunk
            done = None
            while END in buf:
                doc, buf = buf.split(END, 1)
                code = int(doc.split(b'<Result Code="', 1)[1].split(b'"', 1)[0])
                leg = b'Leg="Destination"' in doc
                if code >= 300 or (200 <= code < 300 and leg):
                    done = code
            if done is not None:
                results[i] = done; break
        w.close()
    except Exception as e:  # noqa: BLE001 - any failure counts as one failed call
        results[i] = f"error {type(e).__name__}"
async def main():
    start = time.monotonic()
    tasks = []
    for i in range(calls):
        delay = start + i / rate - time.monotonic()
        if delay > 0:
            await asyncio.sleep(delay)
        tasks.append(asyncio.create_task(one(i)))
    await asyncio.gather(*tasks)
    return time.monotonic() - start
elapsed = asyncio.run(main())
ok = sum(1 for v in results.values() if v == 200)
fails = {}
for v in results.values():
    if v != 200:
        fails[v] = fails.get(v, 0) + 1
print(f"{ok} {calls - ok} {elapsed:.3f} {fails}")
PY
    cpu1=$(cpu_s "$server"); rss1=$(rss_kb "$server"); hwm=$(hwm_kb "$server")
    sleep "$SETTLE"
    rss_after=$(rss_kb "$server")
    read -r ok failed elapsed fails <"$WORK/$mode.result"
    python3 - "$mode#$round" "$CALLS" "$RATE" "$ok" "$failed" "$elapsed" "$cpu0" "$cpu1" "$rss0" "$rss1" "$hwm" "$rss_after" "$SETTLE" "$fails" <<'PY'
import sys
mode, calls, rate, ok, failed, elapsed, c0, c1, r0, r1, hwm, ra, settle = sys.argv[1:14]
fails = sys.argv[14]
cpu = float(c1) - float(c0)
el = float(elapsed)
print(f"{mode:8} calls={calls} rate={rate}/s completed={ok} failed={failed} {fails if failed != '0' else ''}"
      f" elapsed={el:.2f}s completed/s={int(ok)/el:.1f} server_cpu={cpu:.2f}s"
      f" ({100*cpu/el:.1f}% of one core, {1000*cpu/max(int(ok),1):.2f} ms/call)"
      f" rss: before={r0}kB end={r1}kB peak={hwm}kB {settle}s-later={ra}kB")
PY
  done
  # The phones exit after their last call (anchored: the destination hangs up 300 ms
  # after answering); exit status 0 = every call of the scenario passed.
  # A phone still waiting after 15 s lost calls (the XML side saw failures): stop it.
  local pid
  for pid in "${PIDS[@]}"; do
    [ "$pid" = "$server" ] && continue
    for _ in $(seq 1 150); do kill -0 "$pid" 2>/dev/null || break; sleep 0.1; done
    kill "$pid" 2>/dev/null || true
    wait "$pid" || { echo "  a SIPp phone of $mode reported failed calls (see $WORK)"; KEEP=1; }
  done
  kill -TERM "$server"; wait "$server" || true
  PIDS=()
  grep -h "Failed call\|Successful call" "$WORK"/*-"$mode".screen 2>/dev/null | sed "s/^/  sipp $mode: /" | tr -s ' ' || true
}

for mode in "${MODES[@]}"; do run_mode "$mode"; done
