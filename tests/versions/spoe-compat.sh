#!/usr/bin/env bash
# spoe-compat.sh [VERSION...]   (default: 2.6 3.0 3.2)
#
# Re-checks, with the real HAProxy of each version (through haproxy.sh), the
# SPOE differences recorded in docs/haproxy-versions.md, so that a Debian
# update that changes them is noticed:
#   - parsing: a 2.6-style SPOE file with a "mode tcp" agent backend is clean
#     everywhere; "mode spop" is refused by 2.6/3.0 and taken by 3.2; an
#     agent backend inheriting "mode http" is refused everywhere; which
#     missing timeouts warn on which version;
#   - live, against tests/versions/spop_probe.py on 127.0.0.1: verdict set,
#     HELLO capabilities and engine-id, stream/frame ids, FIN, option
#     spop-check's HELLO, what a soft stop sends, oversized NOTIFY and
#     processing timeout error codes.
# Needs root (for 3.0/3.2), curl, openssl, python3. Loopback only.
# Last line: "spoe-compat: N passed, N failed".
set -u

HERE=$(cd "$(dirname "$0")" && pwd -P)
REPO=$(cd "$HERE/../.." && pwd -P)
HA=$HERE/haproxy.sh
PROBE=$HERE/spop_probe.py
VERSIONS=${*:-2.6 3.0 3.2}
. "$REPO/tests/lib/harness.sh"
ok()  { check "$*" true; }
bad() { check "$*" false; }
expect() { check "$@"; } # expect DESC CONDITION...

mkdir -p "$REPO/tests/out"
W=$(mktemp -d "$REPO/tests/out/spoe-compat.XXXXXX")
PIDS=()
cleanup() {
    local p
    for p in "${PIDS[@]}"; do kill "$p" 2>/dev/null; done
    sleep 0.2
    for p in "${PIDS[@]}"; do kill -9 "$p" 2>/dev/null; done
    [ -n "${KEEP_OUT:-}" ] || rm -rf "$W"
}
trap cleanup EXIT

free_port() {
    python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])'
}

# --- PKI: a CA, a client certificate, a server certificate -----------------
(
    cd "$W" || exit 1
    openssl req -x509 -newkey rsa:2048 -nodes -days 2 -subj /CN=compat-ca -keyout ca.key -out ca.crt
    openssl req -newkey rsa:2048 -nodes -subj /CN=client -keyout client.key -out client.csr
    openssl x509 -req -in client.csr -CA ca.crt -CAkey ca.key -CAcreateserial -days 2 -out client.crt
    openssl req -x509 -newkey rsa:2048 -nodes -days 2 -subj /CN=localhost -keyout srv.key -out srv.crt
    cat srv.crt srv.key > srv.pem
) >/dev/null 2>&1 || { echo "spoe-compat: openssl failed"; exit 1; }

# --- SPOE files -------------------------------------------------------------
spoe() { # spoe NAME [sed expressions...]: the 2.6-style file, edited
    local name=$1; shift
    sed "$@" > "$W/$name.conf" <<'EOF'
[certspoa]
spoe-agent certspoa
    messages check-client-cert
    option var-prefix certspoa
    option set-on-error error
    option set-process-time ptime
    register-var-names verdict probe_ids
    timeout hello      2s
    timeout idle       2m
    timeout processing 500ms
    max-frame-size 16380
    no option send-frag-payload
    option pipelining
    option async
    maxconnrate 100
    maxerrrate 50
    max-waiting-frames 20
    use-backend agents

spoe-message check-client-cert
    args present=ssl_c_used verify=ssl_c_verify cert=ssl_c_der chain=ssl_c_chain_der sni=ssl_fc_sni host=req.hdr(host) path=path src=src
    event on-frontend-http-request
EOF
}
spoe full -e ''
spoe nohello -e '/timeout hello/d' -e '/timeout idle/d'
spoe noproc -e '/timeout processing/d'

# haproxy.cfg: cfg NAME SPOE BACKEND-MODE-LINE PORT AGENT-PORT [extra backend lines]
cfg() {
    local name=$1 spoef=$2 mode=$3 port=$4 aport=$5 extra=${6:-}
    cat > "$W/$name.cfg" <<EOF
global
    log stderr format short local0 info
defaults
    mode http
    log global
    timeout connect 1s
    timeout client 5s
    timeout server 5s
frontend fe
    bind 127.0.0.1:$port ssl crt $W/srv.pem verify optional crt-ignore-err all ca-ignore-err all ca-file $W/ca.crt
    filter spoe engine certspoa config $W/$spoef.conf
    http-request return status 403 content-type text/plain lf-string "denied err=%[var(txn.certspoa.error)]\n" unless { var(txn.certspoa.verdict) -m str allow }
    http-request return status 200 content-type text/plain lf-string "allow ids=%[var(txn.certspoa.probe_ids)]\n"
backend agents
$mode
$extra
    server a1 127.0.0.1:$aport
EOF
}

# Summaries of a probe log, computed by python (the log is JSON lines).
probe_facts() { # probe_facts LOG -> shell assignments
    python3 - "$1" <<'EOF'
import json, sys
hellos, hc, notif, disc, closes = [], [], [], [], []
for line in open(sys.argv[1]):
    e = json.loads(line)
    if e.get("ev") == "frame":
        if e["type"] == "HAPROXY-HELLO":
            (hc if e["kv"].get("healthcheck") else hellos).append(e)
        elif e["type"] == "NOTIFY":
            notif.append(e)
        elif e["type"] == "HAPROXY-DISCONNECT":
            disc.append(e)
    elif e.get("ev") == "close":
        closes.append(e["how"])
allf = hellos + hc + notif + disc
caps = sorted(set(h["kv"].get("capabilities", "") for h in hellos))
engines = set(h["kv"].get("engine-id") for h in hellos)
bycon = {}
for n in notif:
    bycon.setdefault(n["conn"], []).append(n["sid"])
odd_from_1 = all(s[0] == 1 and all(x % 2 == 1 for x in s) for s in bycon.values()) if bycon else False
print("CAPS='%s'" % "|".join(caps))
print("ENGINES=%d" % len(engines))
print("CONNS=%d" % len(hellos))
print("NOTIFIES=%d" % len(notif))
print("ALLFIN=%d" % all(f["fin"] for f in allf))
print("FID1=%d" % all(n["fid"] == 1 for n in notif))
print("SID_ODD_FROM_1=%d" % odd_from_1)
print("HC=%d" % len(hc))
print("HC_CAPS_EMPTY=%d" % all(h["kv"].get("capabilities", "") == "" for h in hc))
print("HC_NO_ENGINE=%d" % all("engine-id" not in h["kv"] for h in hc))
print("DISC='%s'" % "|".join(sorted(set("%s:%s" % (d["kv"].get("status-code"), d["kv"].get("message")) for d in disc))))
EOF
}

start_probe() { # start_probe PORT LOG [args]
    local port=$1 log=$2; shift 2
    python3 "$PROBE" --listen "127.0.0.1:$port" --log "$log" "$@" &
    PIDS+=($!)
    for _ in $(seq 50); do grep -q listening "$log" 2>/dev/null && return 0; sleep 0.05; done
    return 1
}

wait_https() {
    for _ in $(seq 60); do curl -sk -o /dev/null "https://127.0.0.1:$1/" && return 0; sleep 0.1; done
    return 1
}

req() { # req PORT PATH -> body
    curl -sk --cert "$W/client.crt" --key "$W/client.key" "https://127.0.0.1:$1$2"
}

# live RUNNAME VERSION SPOE MODE-LINE EXTRA PROBE-ARGS... ; leaves haproxy
# running as $HP, probe log in $W/RUNNAME.jsonl, ports in $PORT/$APORT.
live() {
    local run=$1 v=$2 s=$3 mode=$4 extra=$5; shift 5
    PORT=$(free_port); APORT=$(free_port)
    cfg "$run" "$s" "$mode" "$PORT" "$APORT" "$extra"
    start_probe "$APORT" "$W/$run.jsonl" "$@" || return 1
    PP=${PIDS[-1]}
    "$HA" "$v" -db -f "$W/$run.cfg" >"$W/$run.log" 2>&1 &
    HP=$!
    PIDS+=("$HP")
    wait_https "$PORT"
}

stop() { # stop SIGNAL: stop haproxy, then the probe
    kill "-$1" "$HP" 2>/dev/null
    for _ in $(seq 50); do kill -0 "$HP" 2>/dev/null || break; sleep 0.1; done
    kill -9 "$HP" 2>/dev/null
    wait "$HP" 2>/dev/null
    sleep 0.3
    kill "$PP" 2>/dev/null
    wait "$PP" 2>/dev/null
}

for v in $VERSIONS; do
    echo "--- HAProxy $v: $("$HA" "$v" -v 2>&1 | head -n 1)"
    t0=$(date +%s)

    # ---- parsing ----
    cfg p-tcp full "    mode tcp" 1 2
    out=$("$HA" "$v" -c -V -f "$W/p-tcp.cfg" 2>&1); st=$?
    expect "$v: 2.6-style SPOE + mode tcp backend: -c exit 0" [ $st -eq 0 ]
    expect "$v: ... with no warning" bash -c '! grep -q -E "WARNING|ALERT" <<<"$1"' _ "$out"

    cfg p-spop full "    mode spop" 1 2
    out=$("$HA" "$v" -c -f "$W/p-spop.cfg" 2>&1); st=$?
    if [ "$v" = 3.2 ]; then
        expect "$v: mode spop backend accepted" [ $st -eq 0 ]
    else
        expect "$v: mode spop refused: unknown proxy mode 'spop'" bash -c '[ $1 -ne 0 ] && grep -q "unknown proxy mode .spop." <<<"$2"' _ $st "$out"
    fi

    cfg p-http full "" 1 2
    out=$("$HA" "$v" -c -f "$W/p-http.cfg" 2>&1); st=$?
    if [ "$v" = 3.2 ]; then msg="must use SPOP mode"; else msg="does not support HTTP mode"; fi
    expect "$v: backend inheriting mode http refused: $msg" bash -c '[ $1 -ne 0 ] && grep -q "$3" <<<"$2"' _ $st "$out" "$msg"

    cfg p-nohello nohello "    mode tcp" 1 2
    out=$("$HA" "$v" -c -f "$W/p-nohello.cfg" 2>&1); st=$?
    if [ "$v" = 3.2 ]; then
        expect "$v: no timeout hello/idle: no warning" bash -c '[ $1 -eq 0 ] && ! grep -q WARNING <<<"$2"' _ $st "$out"
    else
        expect "$v: no timeout hello/idle: 'missing timeouts' warning" bash -c '[ $1 -eq 0 ] && grep -q "missing timeouts for SPOE agent" <<<"$2"' _ $st "$out"
    fi

    cfg p-noproc noproc "    mode tcp" 1 2
    out=$("$HA" "$v" -c -f "$W/p-noproc.cfg" 2>&1); st=$?
    if [ "$v" = 3.2 ]; then msg="missing 'processing' timeout"; else msg="missing timeouts for SPOE agent"; fi
    expect "$v: no timeout processing: warning \"$msg\"" bash -c '[ $1 -eq 0 ] && grep -q "$3" <<<"$2"' _ $st "$out" "$msg"

    # ---- live: traffic, HELLO, ids, soft stop ----
    if live "l-$v" "$v" full "    mode tcp" ""; then
        r1=$(req "$PORT" /a); r2=$(req "$PORT" /b); r3=$(req "$PORT" /c)
        expect "$v: verdict from the agent reaches http-request rules" bash -c '[[ $1 == allow* && $2 == allow* && $3 == allow* ]]' _ "$r1" "$r2" "$r3"
        sleep 0.3
        stop USR1
        eval "$(probe_facts "$W/l-$v.jsonl")"
        if [ "$v" = 3.2 ]; then
            expect "$v: HELLO capabilities 'pipelining' ($CAPS)" [ "$CAPS" = pipelining ]
            expect "$v: one engine-id for all connections ($ENGINES)" [ "$ENGINES" -eq 1 ]
            expect "$v: stream ids odd, from 1 on each connection" [ "$SID_ODD_FROM_1" = 1 ]
            expect "$v: soft stop sends no HAPROXY-DISCONNECT ($DISC)" [ -z "$DISC" ]
        else
            expect "$v: HELLO capabilities 'pipelining,async' ($CAPS)" [ "$CAPS" = "pipelining,async" ]
            expect "$v: soft stop sends HAPROXY-DISCONNECT 0 normal ($DISC)" [ "$DISC" = "0:normal" ]
        fi
        expect "$v: FIN on every frame from HAProxy" [ "$ALLFIN" = 1 ]
        expect "$v: NOTIFY frame-id always 1" [ "$FID1" = 1 ]
    else
        bad "$v: live run did not start"; sed 's/^/     /' "$W/l-$v.log"
    fi

    # ---- live: option spop-check ----
    if live "h-$v" "$v" full "    mode tcp" "    option spop-check
    default-server check inter 300ms"; then
        sleep 1
        stop TERM
        eval "$(probe_facts "$W/h-$v.jsonl")"
        expect "$v: option spop-check sends HELLO with healthcheck ($HC seen)" [ "$HC" -ge 1 ]
        expect "$v: ... with empty capabilities and no engine-id" [ "$HC_CAPS_EMPTY$HC_NO_ENGINE" = 11 ]
        expect "$v: ... and the server is not marked DOWN" bash -c '! grep -q "is DOWN" "$1"' _ "$W/h-$v.log"
    else
        bad "$v: spop-check run did not start"
    fi

    # ---- live: NOTIFY larger than the agent's max-frame-size ----
    if live "b-$v" "$v" full "    mode tcp" "" --max-frame-size 256; then
        r=$(req "$PORT" /big)
        sleep 0.3
        stop USR1
        eval "$(probe_facts "$W/b-$v.jsonl")"
        expect "$v: oversized NOTIFY not sent, error 3 or 259 ($r)" bash -c '[[ $1 == "denied err=3" || $1 == "denied err=259" ]]' _ "$r"
        expect "$v: ... and no reconnect storm ($CONNS connections)" [ "$CONNS" -le 4 ]
    else
        bad "$v: oversized run did not start"
    fi

    # ---- live: agent slower than timeout processing ----
    if live "t-$v" "$v" full "    mode tcp" "" --delay-ms 800; then
        r=$(req "$PORT" /slow)
        stop TERM
        expect "$v: processing timeout: no verdict, error 1 ($r)" [ "$r" = "denied err=1" ]
    else
        bad "$v: timeout run did not start"
    fi
    echo "    ($v took $(( $(date +%s) - t0 )) s)"
done

finish spoe-compat
