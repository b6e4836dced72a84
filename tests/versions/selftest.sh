#!/bin/sh
# selftest.sh [VERSION...]   (default: 2.6 3.0 3.2)
#
# Checks that tests/versions/haproxy.sh is a drop-in `haproxy` for each
# version: -vv, -c -f on a config inside the repository, a TLS frontend on
# 127.0.0.1 reached by the host's curl, a frontend on a unix socket under /tmp
# reached by the host's curl, a backend on a unix socket served by a host-side
# haproxy, signals reaching haproxy (same PID, clean SIGTERM/SIGUSR1 exit), and
# no mount left behind on the host. Loopback only. Prints "versions: N passed, N failed".
set -u

HERE=$(cd "$(dirname "$0")" && pwd -P)
REPO=$(cd "$HERE/../.." && pwd -P)
HA=$HERE/haproxy.sh
VERSIONS=${*:-2.6 3.0 3.2}
PASS=0 FAIL=0
ok()   { PASS=$((PASS + 1)); printf 'ok   %s\n' "$*"; }
bad()  { FAIL=$((FAIL + 1)); printf 'FAIL %s\n' "$*"; }
check() { d=$1; shift; if "$@"; then ok "$d"; else bad "$d"; fi; }

# Config and certificate inside the repository (tests/out is git-ignored),
# sockets under /tmp: both must resolve to the same paths inside the roots.
W=$(mktemp -d "$REPO/tests/out/versions.XXXXXX" 2>/dev/null) ||
    { mkdir -p "$REPO/tests/out" && W=$(mktemp -d "$REPO/tests/out/versions.XXXXXX"); }
S=$(mktemp -d /tmp/certspoa-versions.XXXXXX)
PIDS=""
cleanup() {
    for p in $PIDS; do kill "$p" 2>/dev/null; done
    sleep 0.2
    for p in $PIDS; do kill -9 "$p" 2>/dev/null; done
    rm -rf "$W" "$S"
}
trap cleanup EXIT INT TERM

openssl req -x509 -newkey rsa:2048 -nodes -days 2 -subj /CN=localhost \
    -addext subjectAltName=DNS:localhost,IP:127.0.0.1 \
    -keyout "$W/srv.key" -out "$W/srv.crt" 2>/dev/null
cat "$W/srv.crt" "$W/srv.key" > "$W/srv.pem"

# Host-side backend on a unix socket (host haproxy 2.6).
cat > "$W/backend.cfg" <<EOF
global
    log stderr format short local0 notice
defaults
    mode http
    timeout connect 2s
    timeout client 5s
    timeout server 5s
frontend be
    bind unix@$S/backend.sock mode 666
    http-request return status 200 content-type text/plain string "from-host-backend"
EOF
/usr/sbin/haproxy -f "$W/backend.cfg" >"$W/backend.log" 2>&1 &
PIDS="$PIDS $!"

free_port() {
    python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])'
}

wait_for() {  # wait_for FILE-OR-PORT
    i=0
    while [ $i -lt 50 ]; do
        case "$1" in
            /*) [ -S "$1" ] && return 0 ;;
            *) curl -sk -o /dev/null "https://127.0.0.1:$1/" && return 0 ;;
        esac
        sleep 0.1; i=$((i + 1))
    done
    return 1
}

for v in $VERSIONS; do
    echo "--- HAProxy $v"
    out=$("$HA" "$v" -vv 2>&1)
    check "$v: -vv exits 0" [ $? -eq 0 ]
    printf '%s\n' "$out" | head -1 | sed 's/^/     /'
    case "$out" in "HAProxy version $v."*) ok "$v: -vv reports $v.x" ;; *) bad "$v: -vv reports $v.x" ;; esac

    port=$(free_port)
    cfg=$W/tls-$v.cfg
    cat > "$cfg" <<EOF
global
    log stderr format short local0 notice
    stats socket $S/stats-$v.sock mode 600 level admin
defaults
    mode http
    log global
    timeout connect 2s
    timeout client 5s
    timeout server 5s
frontend tls
    bind 127.0.0.1:$port ssl crt $W/srv.pem
    bind unix@$S/front-$v.sock mode 666
    http-request return status 200 content-type text/plain string "hello-$v" if { path /hello }
    default_backend hostbe
backend hostbe
    server s1 unix@$S/backend.sock
EOF
    out=$("$HA" "$v" -c -f "$cfg" 2>&1)
    check "$v: -c -f $cfg" [ $? -eq 0 ]
    [ -n "$out" ] && printf '%s\n' "$out" | sed 's/^/     /'

    "$HA" "$v" -db -f "$cfg" >"$W/run-$v.log" 2>&1 &
    pid=$!
    PIDS="$PIDS $pid"
    if wait_for "$port"; then
        r=$(curl -s --cacert "$W/srv.crt" --resolve "localhost:$port:127.0.0.1" "https://localhost:$port/hello")
        check "$v: TLS frontend on 127.0.0.1 from host curl ($r)" [ "$r" = "hello-$v" ]
        r=$(curl -s --cacert "$W/srv.crt" --resolve "localhost:$port:127.0.0.1" "https://localhost:$port/other")
        check "$v: backend on host unix socket under /tmp ($r)" [ "$r" = "from-host-backend" ]
        r=$(curl -s --unix-socket "$S/front-$v.sock" "http://x/hello")
        check "$v: frontend unix socket under /tmp from host ($r)" [ "$r" = "hello-$v" ]
        check "$v: stats socket created under /tmp" [ -S "$S/stats-$v.sock" ]
        exe=$(readlink "/proc/$pid/exe" 2>/dev/null)
        case "$exe" in */haproxy) ok "$v: started PID is haproxy itself ($exe)" ;; *) bad "$v: started PID is haproxy itself ($exe)" ;; esac
    else
        bad "$v: haproxy did not start"; sed 's/^/     /' "$W/run-$v.log"
    fi
    kill -TERM "$pid" 2>/dev/null
    i=0; while kill -0 "$pid" 2>/dev/null && [ $i -lt 30 ]; do sleep 0.1; i=$((i + 1)); done
    if kill -0 "$pid" 2>/dev/null; then bad "$v: SIGTERM stops haproxy"; kill -9 "$pid"; else ok "$v: SIGTERM stops haproxy"; fi
    wait "$pid" 2>/dev/null

    # Master-worker mode with SIGUSR1 (soft stop) through the wrapper.
    "$HA" "$v" -W -db -f "$cfg" >"$W/mw-$v.log" 2>&1 &
    pid=$!
    PIDS="$PIDS $pid"
    if wait_for "$port"; then
        kill -USR1 "$pid"
        i=0; while kill -0 "$pid" 2>/dev/null && [ $i -lt 50 ]; do sleep 0.1; i=$((i + 1)); done
        if kill -0 "$pid" 2>/dev/null; then bad "$v: -W master stops on SIGUSR1"; kill -9 "$pid"; else ok "$v: -W master stops on SIGUSR1"; fi
    else
        bad "$v: -W haproxy did not start"; sed 's/^/     /' "$W/mw-$v.log"
    fi
    wait "$pid" 2>/dev/null
done

leak=$(awk '$5 ~ /certspoa\/roots/' /proc/self/mountinfo)
check "no mount left under the roots on the host" [ -z "$leak" ]

echo "versions: $PASS passed, $FAIL failed"
[ "$FAIL" -eq 0 ]
