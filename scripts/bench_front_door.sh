#!/usr/bin/env bash
# Flood measurement of the front doors: how long a new client waits while slow clients
# hold connections open.
#
#   scripts/bench_front_door.sh [N_HTTP] [N_XML]      (defaults 1000 1000)
#
# Starts the server on free loopback ports, opens N_HTTP HTTP connections that send half
# a request head and stop (slowloris) and N_XML idle XML connections, all from
# 127.0.0.1, then times 20 new clients from 127.0.0.2 and 20 from 127.0.0.1: an HTTP GET
# of /index.html (200) and an XML request answered at once (400, no rule). Prints the
# times, how many flood connections the server refused, and its RSS and thread count.
#
# Tunables: BIN (default target/release/clicktocall, else target/debug/clicktocall),
# PER_PEER (HttpMaxConnectionsPerPeer and XmlMaxConnectionsPerPeer; default 2000 so the
# server really holds every slow connection; set 256 for the shipped default, which
# refuses most of the flood from one address). Figures go into notes, never into test
# assertions. Only the process started here is stopped here.
set -euo pipefail

N_HTTP=${1:-1000}
N_XML=${2:-1000}
PER_PEER=${PER_PEER:-2000}
ROOT=$(cd "$(dirname "$0")/.." && pwd)
BIN=${BIN:-}
if [ -z "$BIN" ]; then
    if [ -x "$ROOT/target/release/clicktocall" ]; then BIN=$ROOT/target/release/clicktocall
    else BIN=$ROOT/target/debug/clicktocall; fi
fi
BIN=$(realpath "$BIN" 2>/dev/null || echo "$BIN")
[ -x "$BIN" ] || { echo "no binary at $BIN (cargo build --release)" >&2; exit 2; }
ulimit -n "$(ulimit -Hn)"

PID=
TMP=$(mktemp -d)
cleanup() {
    if [ -n "$PID" ]; then kill "$PID" 2>/dev/null || true; wait "$PID" 2>/dev/null || true; fi
    rm -rf "$TMP"
}
trap cleanup EXIT

free_port() {
    python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])'
}
SIP=$(free_port); HTTP=$(free_port); XML=$(free_port)
cat > "$TMP/clicktocall.config" <<CONF
IPAddress = 127.0.0.1
ClickToCallIdentity = sip:click2call@127.0.0.1
UDPTCPPort = $SIP
TLSPort = 0
ApiIPAddress = 127.0.0.1
HttpPort = $HTTP
XmlRpcPort = $XML
HttpMaxConnectionsPerPeer = $PER_PEER
XmlMaxConnectionsPerPeer = $PER_PEER
HttpRequestTimeout = 120
LogLevel = INFO
LogFilename = $TMP/clicktocall.log
TranslationPattern = ^(sip:.*)\$
TranslationOutput = \$1
CONF
chmod 600 "$TMP/clicktocall.config"
(cd "$TMP" && exec "$BIN" -c "$TMP/clicktocall.config") 2>"$TMP/stderr" &
PID=$!
for _ in $(seq 200); do
    grep -q "clicktocall started" "$TMP/stderr" 2>/dev/null && break
    sleep 0.05
done
grep -q "clicktocall started" "$TMP/stderr" || { cat "$TMP/stderr" >&2; exit 1; }
echo "binary: $BIN; flood: $N_HTTP slowloris HTTP + $N_XML idle XML from 127.0.0.1; per-peer caps $PER_PEER"

python3 - "$HTTP" "$XML" "$N_HTTP" "$N_XML" "$PID" <<'PY'
import socket, statistics, sys, time
http, xml, n_http, n_xml, pid = map(int, sys.argv[1:])

def conn(port, src="127.0.0.1"):
    s = socket.socket()
    s.bind((src, 0))
    s.settimeout(10)
    s.connect(("127.0.0.1", port))
    return s

held, refused = [], 0
for i in range(max(n_http, n_xml)):
    if i < n_http:
        s = conn(http); s.sendall(b"GET /index.html HTTP/1.1\r\nHost: slow\r\n"); held.append(s)
    if i < n_xml:
        held.append(conn(xml))
time.sleep(1.0)
for s in held:  # a refused connection has an answer (503) or is closed
    s.setblocking(False)
    try:
        if s.recv(1, socket.MSG_PEEK) is not None: refused += 1
    except BlockingIOError:
        pass
    except OSError:
        refused += 1

def until(s, done):
    buf = b""
    while not done(buf):
        b = s.recv(65536)
        if not b: break
        buf += b
    return buf

def http_once(src):
    t = time.perf_counter(); s = conn(http, src)
    s.sendall(b"GET /index.html HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n")
    r = until(s, lambda b: False); s.close()
    assert r.startswith(b"HTTP/1.1 200"), r[:80]
    return time.perf_counter() - t

REQ = b"<ClickToCall><Request><Initiator>a</Initiator><Destination>b</Destination></Request></ClickToCall>"
def xml_once(src):
    t = time.perf_counter(); s = conn(xml, src); s.sendall(REQ)
    r = until(s, lambda b: b.endswith(b"</ClickToCall>")); s.close()
    assert b'Code="400"' in r, r[:200]
    return time.perf_counter() - t

status = dict(l.split(":", 1) for l in open(f"/proc/{pid}/status") if ":" in l)
print(f"held by the server: {len(held) - refused} of {len(held)} (refused {refused}); "
      f"server RSS {status['VmRSS'].strip()}, threads {status['Threads'].strip()}")
for src in ("127.0.0.2", "127.0.0.1"):
    for name, f in (("HTTP", http_once), ("XML", xml_once)):
        try:
            ts = sorted(f(src) * 1000 for _ in range(20))
        except AssertionError as e:
            print(f"new {name} client from {src}: refused (its address is at the per-peer cap): {e}"[:160])
            continue
        print(f"new {name} client from {src}: min {ts[0]:.2f} ms, median {statistics.median(ts):.2f} ms, max {ts[-1]:.2f} ms")
PY
