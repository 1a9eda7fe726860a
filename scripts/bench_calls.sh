#!/usr/bin/env bash
# Load benchmark of the call engine: click-to-calls over the XML interface at a fixed rate
# for a fixed time against SIPp phones on loopback, in REFER mode and in anchored mode.
# The driver (benches/call_load.rs) keeps CONNS connections open, as the original's XML
# clients do. Prints per mode: completed / refused (503/429 at the front door) / failed /
# no-final, completed calls/s, p50/p99 request-to-final latency, the server's CPU per
# call (and instructions per call with PERF=1), RSS before / peak / SETTLE s after, and
# the load average when it started (the machine may be shared: compare like with like).
#
# Usage: scripts/bench_calls.sh [rate/s] [seconds] [mode...]
#   rate     calls started per second (default 200)
#   seconds  how long (default 10)
#   mode     refer and/or anchor (default: both)
# Environment: BIN (default $CARGO_TARGET_DIR/release/clicktocall, built if missing),
#   CONNS (default 10) XML connections, SETTLE (default 60) seconds after the run before
#   RSS is read again, LOGLEVEL (default WARNING), MAX_CPS / MAX_CONCURRENT set
#   MaxCallsPerSecond / MaxConcurrentCalls (admission at the front door), PERF=1 counts
#   the server's user-space instructions and context switches with perf stat, PROFILE=1
#   records a perf profile (cpu-clock, call graphs) and keeps its summary, KEEP=1 keeps the
#   scratch directory, CDR=json or CDR=csv writes call detail records (CdrFilename in the
#   scratch directory, on its file system) and counts them at the end, HOLD_MS (anchored;
#   default 300) how long the destination holds each answered call.
# Needs: sipp (Debian sip-tester), python3, cargo. Kills only the processes it started.
set -euo pipefail

RATE=${1:-200}
SECS=${2:-10}
shift $(( $# > 2 ? 2 : $# )) || true
MODES=("$@")
[ ${#MODES[@]} -eq 0 ] && MODES=(refer anchor)
CONNS=${CONNS:-10}
SETTLE=${SETTLE:-60}
LOGLEVEL=${LOGLEVEL:-WARNING}
CALLS=$(python3 -c "print(round($RATE * $SECS))")

ROOT=$(cd "$(dirname "$0")/.." && pwd)
TARGET=${CARGO_TARGET_DIR:-$ROOT/target}
BIN=${BIN:-$TARGET/release/clicktocall}
if [ ! -x "$BIN" ]; then
  echo "building $BIN ..." >&2
  (cd "$ROOT" && cargo build --release --bin clicktocall >&2)
fi

(cd "$ROOT" && cargo bench --bench call_load --no-run -q 2>/dev/null) ||
  (cd "$ROOT" && cargo bench --bench call_load --no-run >&2)
DRIVER=$(cd "$ROOT" && ls -t "$TARGET"/release/deps/call_load-* | grep -v '\.d$' | head -1)

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
  # -buff_size: SIPp's default 64 kB UDP buffer drops datagrams when a busy machine
  # does not schedule it for a few ms (the kernel caps it at net.core.rmem_max).
  sipp -sf "$2" -i 127.0.0.1 -p "$3" -m "$4" -nostdin -timeout 600s -timeout_error \
    -buff_size 4194304 \
    -trace_err -error_file "$WORK/$1.err" -trace_stat -stf "$WORK/$1.csv" \
    >"$WORK/$1.screen" 2>"$WORK/$1.stderr" &
  PIDS+=($!)
  wait_udp "$3"
}

# CPU seconds (user+system) and current/peak RSS (kB) of pid $1.
cpu_s() { awk -v hz="$(getconf CLK_TCK)" '{ printf "%.2f", ($14 + $15) / hz }' "/proc/$1/stat"; }
rss_kb() { awk '/^VmRSS/ { print $2 }' "/proc/$1/status"; }
hwm_kb() { awk '/^VmHWM/ { print $2 }' "/proc/$1/status"; }
# Per thread of pid $1: name, user and system ticks, voluntary and involuntary switches.
threads() {
  local t
  for t in /proc/"$1"/task/*; do
    echo "${t##*/} $(tr ' ' _ <"$t/comm") $(cut -d' ' -f14,15 "$t/stat")" \
      "$(awk '/^(non)?voluntary_ctxt/ { printf "%s ", $2 }' "$t/status")"
  done
}

run_mode() {
  local mode=$1
  local sip xml http tls
  sip=$(free_port); xml=$(free_port); http=$(free_port); tls=$(free_port)
  # The driver numbers each call in its Initiator (p<port>-100-c<n>); the rule drops the
  # number, which only serves to match the echoed request to its call.
  cat >"$WORK/$mode.config" <<CFG
IPAddress = 127.0.0.1
ClickToCallIdentity = sip:click2call@127.0.0.1
UDPTCPPort = $sip
TLSPort = $tls
XmlRpcPort = $xml
HttpPort = $http
HttpAuthPwd = bench-only
XmlRpcMaxConnections = 256
LogLevel = $LOGLEVEL
LogFilename = $WORK/$mode.log
TranslationPattern = ^p([0-9]+)-([0-9]+)(-c[0-9]+)?$
TranslationOutput = sip:\$2@127.0.0.1:\$1
CFG
  [ -n "${MAX_CPS:-}" ] && echo "MaxCallsPerSecond = $MAX_CPS" >>"$WORK/$mode.config"
  [ -n "${MAX_CONCURRENT:-}" ] && echo "MaxConcurrentCalls = $MAX_CONCURRENT" >>"$WORK/$mode.config"
  if [ -n "${CDR:-}" ]; then
    printf 'CdrFilename = %s\nCdrFormat = %s\n' "$WORK/$mode.cdr" "$CDR" >>"$WORK/$mode.config"
  fi
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
    start_sipp "ini-$mode" "$WORK/ini-$mode.xml" "$ini" "$CALLS"
    anchor=false
  else
    render initiator_anchor.xml "$WORK/ini-$mode.xml" "SERVER_PORT=$sip"
    render destination_anchor.xml "$WORK/dst-$mode.xml" "INIT_PORT=$ini" "SERVER_PORT=$sip"
    # HOLD_MS: how long the destination holds an answered call before its BYE.
    [ -n "${HOLD_MS:-}" ] && sed -i "s/<pause milliseconds=\"300\"\/>/<pause milliseconds=\"$HOLD_MS\"\/>/" "$WORK/dst-$mode.xml"
    start_sipp "ini-$mode" "$WORK/ini-$mode.xml" "$ini" "$CALLS"
    start_sipp "dst-$mode" "$WORK/dst-$mode.xml" "$dst" "$CALLS"
    anchor=true
  fi

  local cpu0 cpu1 rss0 hwm rss_after load perf_pid=""
  sleep 1
  load=$(cut -d' ' -f1-3 /proc/loadavg)
  cpu0=$(cpu_s "$server"); rss0=$(rss_kb "$server")
  [ "${PERF:-0}" = 1 ] && threads "$server" >"$WORK/$mode.threads0"
  if [ "${PERF:-0}" = 1 ]; then
    perf stat -e instructions:u,context-switches -x, -o "$WORK/$mode.perf" -p "$server" &
    perf_pid=$!
    PIDS+=($perf_pid)
  fi
  local rec_pid=""
  if [ "${PROFILE:-0}" = 1 ]; then
    perf record -q -F 499 -e cpu-clock -g -p "$server" -o "$WORK/$mode.perf.data" 2>/dev/null &
    rec_pid=$!
    PIDS+=($rec_pid)
  fi
  local look_pid=""
  if [ "${PERF:-0}" = 1 ]; then # threads that end with their connection: last look counts
    while :; do threads "$server" >>"$WORK/$mode.threads1" 2>/dev/null; sleep 0.2; done &
    look_pid=$!
    PIDS+=($look_pid)
  fi
  "$DRIVER" "$xml" "$RATE" "$SECS" "p$ini-100" "p$dst-200" "$anchor" "$CONNS" >"$WORK/$mode.result"
  cpu1=$(cpu_s "$server"); hwm=$(hwm_kb "$server")
  if [ -n "$look_pid" ]; then
    kill "$look_pid"; wait "$look_pid" 2>/dev/null || true
    PIDS=("${PIDS[@]/$look_pid}")
    threads "$server" >>"$WORK/$mode.threads1"
  fi
  local insns="" csw=""
  if [ -n "$perf_pid" ]; then
    kill -INT "$perf_pid"; wait "$perf_pid" || true
    PIDS=("${PIDS[@]/$perf_pid}")
    insns=$(awk -F, '/instructions/ { print $1 }' "$WORK/$mode.perf")
    csw=$(awk -F, '/context-switches/ { print $1 }' "$WORK/$mode.perf")
  fi
  if [ -n "$rec_pid" ]; then
    kill -INT "$rec_pid"; wait "$rec_pid" || true
    PIDS=("${PIDS[@]/$rec_pid}")
    perf report -i "$WORK/$mode.perf.data" --no-children --sort symbol --stdio 2>/dev/null |
      grep -E '^ +[0-9.]+%' | head -25 >"$WORK/$mode.profile" || true
    perf report -i "$WORK/$mode.perf.data" --no-children --sort comm --stdio 2>/dev/null |
      grep -E '^ +[0-9.]+%' >>"$WORK/$mode.profile" || true
    echo "  profile of $mode (perf record, cpu-clock): $WORK/$mode.profile"
    KEEP=1
  fi
  local end_rss; end_rss=$(rss_kb "$server")
  sleep "$SETTLE"
  rss_after=$(rss_kb "$server")
  python3 - "$mode" "$RATE" "$SECS" "$cpu0" "$cpu1" "$rss0" "$end_rss" "$hwm" "$rss_after" "$SETTLE" "$load" "$insns" "$csw" "$(cat "$WORK/$mode.result")" <<'PY'
import sys
mode, rate, secs, c0, c1, r0, rend, hwm, ra, settle, load, insns, csw, result = sys.argv[1:15]
r = dict(kv.split("=", 1) for kv in result.split())
done = int(r["completed"]); el = float(r["elapsed"])
cpu = float(c1) - float(c0)
admitted = max(done + int(r["failed"]) + int(r["no_final"]), 1)
per_call = f"{1000*cpu/admitted:.3f} ms/call"
if insns and insns.isdigit():
    per_call += f", {int(insns)/admitted/1e6:.2f} M instructions/call"
if csw and csw.isdigit():
    per_call += f", {int(csw)/admitted:.1f} context switches/call"
print(f"{mode:6} rate={rate}/s x {secs}s calls={r['calls']} completed={done} refused={r['refused']}"
      f" failed={r['failed']} ({r['failed_codes']}) no-final={r['no_final']}"
      f" | {done/el:.0f} completed/s, p50={r['p50_ms']} ms p99={r['p99_ms']} ms max={r['max_ms']} ms"
      f" | server cpu {cpu:.2f}s = {100*cpu/el:.0f}% of a core, {per_call} (admitted)"
      f" | rss before={int(r0)//1024} MB end={int(rend)//1024} MB peak={int(hwm)//1024} MB"
      f" {settle}s-after={int(ra)//1024} MB | loadavg at start {load}")
PY
  # The phones exit after their last call (anchored: the destination hangs up 300 ms
  # after answering); exit status 0 = every call of the scenario passed.
  # A phone still waiting after 15 s lost calls (the XML side saw failures): stop it.
  # With admission limits the refused calls never reach the phones, which then wait for
  # them: stopped here, that is not a failure of theirs.
  if [ "${PERF:-0}" = 1 ]; then # per thread kind: CPU ms and wake-ups (switches) per call
    python3 - "$WORK/$mode.threads0" "$WORK/$mode.threads1" "$CALLS" "$(getconf CLK_TCK)" "$cpu0" "$cpu1" <<'PY'
import sys, collections
def read(p):  # tid -> [name, utime, stime, voluntary, involuntary]
    return {l.split()[0]: l.split()[1:] for l in open(p) if len(l.split()) == 6}
a, b, calls, hz = read(sys.argv[1]), read(sys.argv[2]), int(sys.argv[3]), int(sys.argv[4])
tot = collections.defaultdict(lambda: [0, 0, 0, 0])
for tid, row in b.items():
    base = a.get(tid, [row[0], 0, 0, 0, 0])
    for k in range(4):
        tot[row[0]][k] += int(row[k + 1]) - int(base[k + 1])
print("  per call by thread: " + ", ".join(
    f"{n} {1000*u/hz/calls:.3f}+{1000*s/hz/calls:.3f} ms user+sys, {v/calls:.1f}+{nv/calls:.1f} switches"
    for n, (u, s, v, nv) in sorted(tot.items()) if u + s + v + nv)
    # Threads that ended before the second look (the XML connections' own).
    + f"; not seen {1000*(float(sys.argv[6]) - float(sys.argv[5]) - sum(u + s for u, s, _, _ in tot.values())/hz)/calls:.3f} ms")
PY
  fi
  local pid
  for pid in "${PIDS[@]}"; do
    [ -z "$pid" ] || [ "$pid" = "$server" ] && continue
    for _ in $(seq 1 $((150 + ${HOLD_MS:-0} / 100))); do kill -0 "$pid" 2>/dev/null || break; sleep 0.1; done
    if kill "$pid" 2>/dev/null; then
      wait "$pid" || true
      echo "  a SIPp phone of $mode was still waiting for calls: stopped"
    else
      wait "$pid" || { echo "  a SIPp phone of $mode reported failed calls (see $WORK)"; KEEP=1; }
    fi
  done
  kill -TERM "$server"; wait "$server" || true
  PIDS=()
  if [ -n "${CDR:-}" ]; then
    echo "  call detail records ($CDR): $(wc -l <"$WORK/$mode.cdr") lines in $WORK/$mode.cdr"
  fi
  grep -h "Failed call\|Successful call" "$WORK"/*-"$mode".screen 2>/dev/null | sed "s/^/  sipp $mode: /" | tr -s ' ' || true
}

for mode in "${MODES[@]}"; do run_mode "$mode"; done
