#!/usr/bin/env bash
# Speed of the SIP reactor: a SIPp UAC sends out-of-dialog OPTIONS (each a new non-INVITE
# transaction, answered 200 by the server) at a high rate to the release binary on
# loopback. Reports OPTIONS answered per second, failures and retransmissions, and the
# server's CPU — whole process and the sip-reactor thread — per 1000 messages answered
# (utime+stime from /proc before and after). A measurement, not a test.
#
# Usage: scripts/bench_reactor.sh [count] [rate/s] [max-outstanding]
#   count            OPTIONS to send (default 40000). Each answered OPTIONS holds a server
#                    transaction for Timer J (64*T1 = 32 s on UDP, RFC 3261 §17.2.2); the
#                    layer keeps at most 50000 (LayerConfig::max_server_transactions), so
#                    more than that within 32 s measures the drop policy, not the speed.
#   rate             SIPp's target rate (default 20000: above what one core answers, so
#                    the figure is the limit of the pair on this machine)
#   max-outstanding  SIPp -l: OPTIONS in flight at once (default 100)
# Environment: BIN (default $CARGO_TARGET_DIR/release/clicktocall, built when missing or
#   BUILD=1), LOGLEVEL (default WARNING; DEBUG logs every message), KEEP=1 keeps the
#   scratch directory.
# Needs sipp (Debian sip-tester), python3, ss. Stops only the processes it started, by PID.
set -euo pipefail

COUNT=${1:-40000}
RATE=${2:-20000}
LIMIT=${3:-100}
LOGLEVEL=${LOGLEVEL:-WARNING}

ROOT=$(cd "$(dirname "$0")/.." && pwd)
TARGET=${CARGO_TARGET_DIR:-$ROOT/target}
BIN=${BIN:-$TARGET/release/clicktocall}
if [ ! -x "$BIN" ] || [ "${BUILD:-0}" = 1 ]; then
  echo "building $BIN ..." >&2
  (cd "$ROOT" && cargo build --release --bin clicktocall >&2)
fi
command -v sipp >/dev/null || { echo "sipp not found (apt-get install sip-tester)" >&2; exit 2; }

WORK=$(mktemp -d /tmp/c2c-bench-reactor.XXXXXX)
SERVER_PID=""
cleanup() {
  if [ -n "$SERVER_PID" ] && kill -0 "$SERVER_PID" 2>/dev/null; then
    kill -TERM "$SERVER_PID" 2>/dev/null || true
    for _ in $(seq 1 100); do kill -0 "$SERVER_PID" 2>/dev/null || break; sleep 0.05; done
    kill -KILL "$SERVER_PID" 2>/dev/null || true
  fi
  if [ "${KEEP:-0}" = 1 ]; then echo "scratch kept in $WORK" >&2; else rm -rf "$WORK"; fi
}
trap cleanup EXIT

# A port in 20000–31999 with nothing bound on it for TCP or UDP (ss reads only).
pick_port() {
  local p
  for _ in $(seq 1 200); do
    p=$(( 20000 + RANDOM % 12000 ))
    if ! ss -Hlntu "( sport = :$p )" | grep -q .; then echo "$p"; return 0; fi
  done
  echo "no free port" >&2; return 1
}
SIP_PORT=$(pick_port)
XML_PORT=$(pick_port)
SIPP_PORT=$(pick_port)

cat > "$WORK/bench.config" <<EOF
IPAddress = 127.0.0.1
UDPTCPPort = $SIP_PORT
TLSPort = 0
XmlRpcPort = $XML_PORT
HttpPort = 0
KeepAlives = 0
LogLevel = $LOGLEVEL
LogFilename = $WORK/clicktocall.log
TranslationPattern = ^(.*)\$
TranslationOutput = sip:\$1@127.0.0.1:9
EOF

(cd "$WORK" && exec "$BIN" -c bench.config >"$WORK/console.out" 2>&1) &
SERVER_PID=$!
for _ in $(seq 1 400); do
  grep -q "clicktocall started" "$WORK/console.out" "$WORK/clicktocall.log" 2>/dev/null && break
  kill -0 "$SERVER_PID" 2>/dev/null || { cat "$WORK/console.out" >&2; exit 1; }
  sleep 0.05
done
# Give the listeners a moment after the start line.
sleep 0.2

TICKS=$(getconf CLK_TCK)
# utime+stime (fields 14 and 15) of /proc/<pid>/stat or /proc/<pid>/task/<tid>/stat;
# the command name in field 2 may hold spaces, so cut after the last ')'.
cpu_ticks() { sed 's/.*) //' "$1" | awk '{ print $12 + $13 }'; }
REACTOR_STAT=""
for t in /proc/"$SERVER_PID"/task/*; do
  if [ "$(cat "$t/comm" 2>/dev/null)" = "sip-reactor" ]; then REACTOR_STAT="$t/stat"; fi
done
[ -n "$REACTOR_STAT" ] || echo "note: no thread named sip-reactor; reactor CPU not shown" >&2

# UDP datagrams the kernel dropped for a full receive buffer, host-wide (RFC 1213 udp
# group as /proc/net/snmp shows it): tells lost datagrams from slow answers.
rcvbuf_errors() { awk '/^Udp:/ { if (!h) { for (i = 1; i <= NF; i++) if ($i == "RcvbufErrors") c = i; h = 1 } else print $c }' /proc/net/snmp; }
RCVBUF_BEFORE=$(rcvbuf_errors)
PROC_BEFORE=$(cpu_ticks "/proc/$SERVER_PID/stat")
REACTOR_BEFORE=$([ -n "$REACTOR_STAT" ] && cpu_ticks "$REACTOR_STAT" || echo 0)

STAT_FILE="$WORK/sipp_stat.csv"
TIMEFORMAT='%U %S'
SIPP_CPU=$( { time timeout 600 sipp -sf "$ROOT/tests/sipp/reactor_options_uac.xml" \
    -i 127.0.0.1 -p "$SIPP_PORT" -r "$RATE" -rp 1000 -l "$LIMIT" -m "$COUNT" \
    -buff_size 4194304 -nostdin -trace_stat -stf "$STAT_FILE" -fd 1 -trace_err -error_file "$WORK/sipp_err.log" \
    "127.0.0.1:$SIP_PORT" >"$WORK/sipp.out" 2>&1 || true; } 2>&1 )

PROC_AFTER=$(cpu_ticks "/proc/$SERVER_PID/stat")
RCVBUF_AFTER=$(rcvbuf_errors)
# The server's own UDP socket: the last column of /proc/net/udp counts its drops.
SERVER_DROPS=$(awk -v port="$(printf ':%04X' "$SIP_PORT")" '$2 ~ port"$" { print $NF }' /proc/net/udp | head -n1)
REACTOR_AFTER=$([ -n "$REACTOR_STAT" ] && cpu_ticks "$REACTOR_STAT" || echo 0)

[ -s "$STAT_FILE" ] || { echo "SIPp wrote no statistics:" >&2; cat "$WORK/sipp.out" >&2; exit 1; }
# The last row is SIPp's final dump; columns are named in the header row.
read -r ELAPSED OK FAILED RETRANS < <(python3 - "$STAT_FILE" <<'PY'
import csv, sys
rows = list(csv.reader(open(sys.argv[1]), delimiter=';'))
head, last = rows[0], rows[-1]
col = lambda name: last[head.index(name)]
# Start and current times end with the epoch in seconds (after a tab).
epoch = lambda name: float(col(name).split("\t")[-1])
elapsed = epoch("CurrentTime") - epoch("StartTime")
print(elapsed, col("SuccessfulCall(C)"), col("FailedCall(C)"), col("Retransmissions(C)"))
PY
)

python3 - "$COUNT" "$RATE" "$LIMIT" "$ELAPSED" "$OK" "$FAILED" "$RETRANS" \
  "$PROC_BEFORE" "$PROC_AFTER" "$REACTOR_BEFORE" "$REACTOR_AFTER" "$TICKS" "$SIPP_CPU" \
  "$LOGLEVEL" "$((RCVBUF_AFTER - RCVBUF_BEFORE))" "${SERVER_DROPS:-?}" <<'PY'
import sys
(count, rate, limit, elapsed, ok, failed, retrans, p0, p1, r0, r1, ticks, sipp_cpu,
 level, rcvbuf, server_drops) = sys.argv[1:]
elapsed, ok, failed, retrans = float(elapsed), int(ok), int(failed), int(retrans)
ticks = int(ticks)
proc_s = (int(p1) - int(p0)) / ticks
reactor_s = (int(r1) - int(r0)) / ticks
su, ss = (float(x) for x in sipp_cpu.split()[-2:])
print(f"OPTIONS sent {count} (SIPp -r {rate} -l {limit}), server LogLevel {level}")
print(f"answered 200: {ok}   failed: {failed}   retransmissions: {retrans}   "
      f"UDP receive-buffer drops: {rcvbuf} host-wide, {server_drops} at the server's socket")
print(f"elapsed {elapsed:.2f} s  ->  {ok / elapsed if elapsed else 0:.0f} OPTIONS answered/s")
if ok:
    print(f"server CPU {proc_s:.2f} s = {proc_s * 1000 / ok * 1000:.1f} ms per 1000 OPTIONS "
          f"({proc_s / elapsed * 100 if elapsed else 0:.0f}% of a core)")
    print(f"sip-reactor thread CPU {reactor_s:.2f} s = {reactor_s * 1000 / ok * 1000:.1f} ms "
          f"per 1000 ({reactor_s / elapsed * 100 if elapsed else 0:.0f}% of a core)")
print(f"SIPp CPU {su + ss:.2f} s ({(su + ss) / elapsed * 100 if elapsed else 0:.0f}% of a core)")
PY
