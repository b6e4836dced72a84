# shellcheck shell=bash
# shellcheck disable=SC2034 # sets variables (ports, PIDs, results) that the scripts sourcing it read
# lib.sh - helpers for the integration tests and the demo. Source it:
#
#   . tests/integration/lib.sh
#
# Environment:
#   HAPROXY        HAProxy command (default: haproxy). May carry arguments or
#                  be a wrapper (e.g. one that runs another version in a
#                  chroot); it must pass the environment through, since
#                  haproxy.cfg reads its paths and ports from CERTSPOA_*.
#   CERTSPOA_BIN   the agent binary (default: ./certspoa, then the repository's)
#   CURL           curl command (default: curl)
#   KEEP_OUT=1     keep the work directory under tests/out/ even on success
#
# Everything runs on 127.0.0.1 with ports that are free at the time; the
# agent binds port 0 and reports its port in its ready_file.

TOP=$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)
# check/fail/finish, the predicates and ONLY= (one harness for every suite)
. "$TOP/tests/lib/harness.sh"
EXAMPLE=$TOP/haproxy-examples/mtls-api
SPOE_CONF=$TOP/spoe-conf/certspoa.conf

HAPROXY=${HAPROXY:-haproxy}
read -r -a HAPROXY_CMD <<<"$HAPROXY"
CURL=${CURL:-curl}
CERTSPOA_BIN=${CERTSPOA_BIN:-./certspoa}
if [ ! -e "$CERTSPOA_BIN" ] && [ "$CERTSPOA_BIN" = ./certspoa ]; then
    CERTSPOA_BIN=$TOP/certspoa
fi
case $CERTSPOA_BIN in /*) ;; *) CERTSPOA_BIN=$PWD/${CERTSPOA_BIN#./} ;; esac

WORK=""
PKI=""
USED_PORTS=" "
declare -a CHILD_PIDS=()

# ---------------------------------------------------------------- work area

# workdir NAME - a fresh directory under tests/out/, removed at exit unless
# something failed (or KEEP_OUT=1).
workdir() {
    mkdir -p "$TOP/tests/out"
    WORK=$(mktemp -d "$TOP/tests/out/$1.XXXXXX")
    mkdir -p "$WORK/resp"
    trap cleanup EXIT
    trap 'exit 130' INT
    trap 'exit 143' TERM
}

# Stop everything we started: SIGTERM, a grace period, then SIGKILL.
cleanup() {
    local pid i alive
    for pid in "${CHILD_PIDS[@]}"; do
        kill -TERM "$pid" 2>/dev/null
    done
    for i in $(seq 1 30); do
        alive=0
        for pid in "${CHILD_PIDS[@]}"; do
            kill -0 "$pid" 2>/dev/null && alive=1
        done
        [ "$alive" -eq 0 ] && break
        sleep 0.1
    done
    for pid in "${CHILD_PIDS[@]}"; do
        kill -KILL "$pid" 2>/dev/null
    done
    wait 2>/dev/null
    CHILD_PIDS=()
    if [ -n "$WORK" ] && [ "${KEEP_OUT:-0}" != 1 ]; then
        rm -rf "$WORK"
    fi
}

forget_pid() {
    local pid=$1 p keep=()
    for p in "${CHILD_PIDS[@]}"; do
        [ "$p" = "$pid" ] || keep+=("$p")
    done
    CHILD_PIDS=("${keep[@]}")
}

# make_pki - generate the test PKI into $WORK/pki.
make_pki() {
    PKI=$WORK/pki
    "$TOP/tests/integration/pki.sh" "$PKI" >"$WORK/pki.log" 2>&1
}

# ---------------------------------------------------------------- ports

# The kernel gives outgoing connections (curl, HAProxy to its servers and
# agents) source ports from ip_local_port_range (32768-60999 by default): a
# port picked there may be taken by one of them before the test binds it
# (seen once: "Address already in use" for a stats listener). Ports are
# picked below that range.
PORT_LOW=10000
PORT_HIGH=$(awk '{ print $1 - 1 }' /proc/sys/net/ipv4/ip_local_port_range 2>/dev/null)
[ "${PORT_HIGH:-0}" -gt $((PORT_LOW + 2000)) ] 2>/dev/null || PORT_HIGH=32767

# free_port VAR - store in VAR a TCP port on 127.0.0.1 that nothing listens
# on right now, outside the kernel's range for outgoing connections, and that
# this run has not handed out before.
free_port() {
    local p i
    for i in $(seq 1 200); do
        p=$((PORT_LOW + (RANDOM * 32768 + RANDOM) % (PORT_HIGH - PORT_LOW + 1)))
        case $USED_PORTS in *" $p "*) continue ;; esac
        if ! (exec 3<>"/dev/tcp/127.0.0.1/$p") 2>/dev/null; then
            USED_PORTS="$USED_PORTS$p "
            printf -v "$1" '%s' "$p"
            return 0
        fi
    done
    return 1
}

# port_open PORT - something accepts TCP connections on 127.0.0.1:PORT.
port_open() {
    (exec 3<>"/dev/tcp/127.0.0.1/$1") 2>/dev/null
}

# wait_until SECONDS COMMAND... - poll COMMAND every 0.1 s.
wait_until() {
    local limit=$1 end
    shift
    end=$((SECONDS * 10 + limit * 10))
    local rc
    while :; do
        "$@"
        rc=$?
        # 0: done; 2: will never happen (e.g. the process died)
        [ "$rc" -eq 0 ] || [ "$rc" -eq 2 ] && return "$rc"
        [ $((SECONDS * 10)) -ge "$end" ] && break
        sleep 0.1
    done
    "$@"
}

# A finer clock for timing checks: milliseconds since the epoch.
now_ms() { date +%s%3N; }

# ---------------------------------------------------------------- the agent

# agent_ini OUT LISTEN READY VERIFY CA THUMBPRINTS - write an agent config:
# the example's certspoa.ini with these values substituted, so the tests
# also prove the example is valid (haproxy_socket is left out: the tests'
# HAProxy listens elsewhere). THUMBPRINTS may be "" (no list).
agent_ini() {
    local out=$1 listen=$2 ready=$3 verify=$4 ca=$5 tp=$6
    sed -e "s|^listen = .*|listen = $listen|" \
        -e "s|^; ready_file = .*|ready_file = $ready|" \
        -e "s|^verify = .*|verify = $verify|" \
        -e "s|^ca_file = .*|ca_file = $ca|" \
        -e "s|^thumbprints = .*|thumbprints = $tp|" \
        -e "s|^haproxy_socket = .*|; haproxy_socket: each test that needs it sets its own|" \
        "$EXAMPLE/certspoa.ini" >"$out"
    [ -n "$tp" ] || sed -i 's|^thumbprints = $|; no thumbprint list|' "$out"
    grep -q "^listen = $listen\$" "$out" && grep -q "^ready_file = " "$out" &&
        grep -q "^verify = $verify\$" "$out" && grep -q "^ca_file = " "$out"
}

# start_agent NAME INI READY - start certspoa in the foreground with debug
# logs to $WORK/NAME.log, wait (5 s) for READY, and set AGENT_PID and
# AGENT_ADDR (the first bound address, in HAProxy's syntax: "127.0.0.1:PORT"
# or "unix@/path").
start_agent() { AGENT_FLAGS=-d start_agent_with "$1" "$2" "$3" 5; }

# start_agent_with NAME INI READY WAIT [WRAPPER...] - like
# start_agent, but the agent runs under WRAPPER (e.g. valgrind, or
# "sh -c 'ulimit -n 64; exec \"\$0\" \"\$@\"'"), with up to WAIT seconds to
# get ready, and the log level of AGENT_FLAGS (default -d, debug).
# Sets AGENT_PID (the wrapper's pid: wrappers must exec the agent) and
# AGENT_ADDR.
start_agent_with() {
    local name=$1 ini=$2 ready=$3 wait=$4 addr
    shift 4
    AGENT_PID=""
    AGENT_ADDR=""
    rm -f "$ready"
    [ -x "$CERTSPOA_BIN" ] || { WHY="no agent binary at $CERTSPOA_BIN"; return 1; }
    echo "=== start $(date +%T.%3N)" >>"$WORK/$name.log"
    # shellcheck disable=SC2086 # AGENT_FLAGS: options, split into words
    "$@" "$CERTSPOA_BIN" -f "$ini" ${AGENT_FLAGS--d} >>"$WORK/$name.log" 2>&1 &
    AGENT_PID=$!
    CHILD_PIDS+=("$AGENT_PID")
    if ! wait_until "$wait" agent_ready "$ready" "$AGENT_PID"; then
        if kill -0 "$AGENT_PID" 2>/dev/null; then
            WHY="no $ready after $wait s; see $WORK/$name.log"
        else
            WHY="agent exited at start-up: $(tail -n 3 "$WORK/$name.log" | tr '\n' ' ')"
        fi
        return 1
    fi
    addr=$(head -n 1 "$ready")
    case $addr in
        unix:*) AGENT_ADDR="unix@${addr#unix:}" ;;
        *) AGENT_ADDR=$addr ;;
    esac
}

agent_ready() {
    [ -s "$1" ] && return 0
    kill -0 "$2" 2>/dev/null || return 2
    return 1
}

# stop_agent PID - SIGTERM and wait (5 s). Sets AGENT_RC to its exit status
# (or "timeout" if it had to be killed).
stop_agent() {
    local pid=$1 i
    AGENT_RC=""
    kill -TERM "$pid" 2>/dev/null
    for i in $(seq 1 50); do
        kill -0 "$pid" 2>/dev/null || break
        sleep 0.1
    done
    if kill -0 "$pid" 2>/dev/null; then
        kill -KILL "$pid" 2>/dev/null
        wait "$pid" 2>/dev/null
        AGENT_RC=timeout
    else
        wait "$pid" 2>/dev/null
        AGENT_RC=$?
    fi
    forget_pid "$pid"
}

# ---------------------------------------------------------------- haproxy

# start_haproxy NAME AGENT_ADDR [CLIENT_CA] - run the example haproxy.cfg in
# the foreground on fresh ports with this run's PKI, logs in $WORK/NAME.log.
# AGENT_ADDR "@app" means this HAProxy's own echo app (an HTTP server: a
# garbage-speaking agent). CLIENT_CA defaults to the test root CA.
# Sets HAP_PID HTTPS_PORT APP_PORT STATS_PORT. Waits (10 s) until it listens.
start_haproxy() {
    local name=$1 agent_arg=$2 ca=${3:-$PKI/ca.pem} agent
    for _ in 1 2 3; do
        # shellcheck disable=SC2015 # C runs when A or B fails, as meant
        free_port HTTPS_PORT && free_port APP_PORT && free_port STATS_PORT ||
            { WHY="no free port"; return 1; }
        agent=$agent_arg
        [ "$agent" = "@app" ] && agent=127.0.0.1:$APP_PORT
        echo "=== start $(date +%T.%3N) https=$HTTPS_PORT app=$APP_PORT stats=$STATS_PORT agent=$agent" \
            >>"$WORK/$name.log"
        CERTSPOA_HTTPS_BIND=127.0.0.1:$HTTPS_PORT \
        CERTSPOA_APP_BIND=127.0.0.1:$APP_PORT \
        CERTSPOA_STATS_SOCKET=ipv4@127.0.0.1:$STATS_PORT \
        CERTSPOA_AGENT_ADDR=$agent \
        CERTSPOA_SERVER_PEM=$PKI/server.pem \
        CERTSPOA_CLIENT_CA=$PKI/ca.pem \
        CERTSPOA_SPOE_CONF=$SPOE_CONF \
            "${HAPROXY_CMD[@]}" -db -f "$EXAMPLE/haproxy.cfg" >>"$WORK/$name.log" 2>&1 &
        HAP_PID=$!
        CHILD_PIDS+=("$HAP_PID")
        if wait_until 10 haproxy_up; then
            return 0
        fi
        stop_pid "$HAP_PID"
        # A port taken between free_port and bind: try other ports.
        grep -q "cannot bind\|Address already in use" "$WORK/$name.log" || break
    done
    WHY="haproxy did not start: $(grep -E 'ALERT|error' "$WORK/$name.log" | tail -n 3 | tr '\n' ' ')"
    return 1
}

# start_haproxy_env NAME "PORTVARS" ENVFUNC CFG... - HAProxy in the
# foreground with the config files CFG..., logs in $WORK/NAME.log. A free
# port goes in each variable named in PORTVARS, then ENVFUNC fills HAP_ENV
# (VAR=VALUE items for env); waits (10 s) until every port listens. Retries
# on other ports when one was taken meanwhile. Sets HAP_PID.
start_haproxy_env() {
    local name=$1 portvars=$2 envfn=$3 v files=()
    shift 3
    for v in "$@"; do files+=(-f "$v"); done
    for _ in 1 2 3; do
        for v in $portvars; do free_port "$v" || { WHY="no free port"; return 1; }; done
        HAP_ENV=()
        "$envfn"
        echo "=== start $(date +%T.%3N) ${HAP_ENV[*]}" >>"$WORK/$name.log"
        env "${HAP_ENV[@]}" "${HAPROXY_CMD[@]}" -db "${files[@]}" >>"$WORK/$name.log" 2>&1 &
        HAP_PID=$!
        CHILD_PIDS+=("$HAP_PID")
        HAP_PORTS=""
        for v in $portvars; do HAP_PORTS="$HAP_PORTS ${!v}"; done
        if wait_until 10 hap_listening; then
            return 0
        fi
        stop_pid "$HAP_PID"
        grep -q "cannot bind\|Address already in use" "$WORK/$name.log" || break
    done
    WHY="haproxy did not start: $(grep -E 'ALERT|error' "$WORK/$name.log" | tail -n 3 | tr '\n' ' ')"
    return 1
}

# hap_listening - HAProxy ($HAP_PID) runs and listens on every $HAP_PORTS.
hap_listening() {
    local p
    kill -0 "$HAP_PID" 2>/dev/null || return 2
    for p in $HAP_PORTS; do port_open "$p" || return 1; done
}

haproxy_up() {
    kill -0 "$HAP_PID" 2>/dev/null || return 1
    port_open "$HTTPS_PORT" && port_open "$APP_PORT" && port_open "$STATS_PORT"
}

stop_pid() {
    local pid=$1 i
    kill -TERM "$pid" 2>/dev/null
    for i in $(seq 1 30); do
        kill -0 "$pid" 2>/dev/null || break
        sleep 0.1
    done
    kill -KILL "$pid" 2>/dev/null
    wait "$pid" 2>/dev/null
    forget_pid "$pid"
}

stop_haproxy() { stop_pid "$HAP_PID"; }

# haproxy_check - "haproxy -c" on the example with this run's environment.
# Sets HAP_CHECK_OUT and HAP_CHECK_RC. (2.6 prints "Configuration file is
# valid"; 3.x prints nothing unless -V: judge by the exit status.)
haproxy_check() {
    HAP_CHECK_OUT=$(
        CERTSPOA_HTTPS_BIND=127.0.0.1:1 CERTSPOA_APP_BIND=127.0.0.1:2 \
        CERTSPOA_STATS_SOCKET=ipv4@127.0.0.1:3 CERTSPOA_AGENT_ADDR=127.0.0.1:4 \
        CERTSPOA_SERVER_PEM=$PKI/server.pem CERTSPOA_CLIENT_CA=$PKI/ca.pem \
        CERTSPOA_SPOE_CONF=$SPOE_CONF \
            "${HAPROXY_CMD[@]}" -c -f "$EXAMPLE/haproxy.cfg" 2>&1)
    HAP_CHECK_RC=$?
}

# stats CMD - one command on HAProxy's runtime API (TCP stats socket), using
# bash's /dev/tcp: no socat or nc needed.
stats() {
    local fd out
    exec {fd}<>"/dev/tcp/127.0.0.1/$STATS_PORT" 2>/dev/null || return 1
    printf '%s\n' "$1" >&"$fd"
    out=$(timeout 3 cat <&"$fd")
    exec {fd}>&-
    printf '%s\n' "$out"
}

# stat_field PROXY SERVER FIELD - one column of "show stat" (by its name in
# the CSV header: status, check_status, check_desc, ...).
stat_field() {
    stats "show stat" | awk -F, -v px="$1" -v sv="$2" -v f="$3" '
        NR == 1 { sub(/^# /, ""); for (i = 1; i <= NF; i++) if ($i == f) c = i; next }
        $1 == px && $2 == sv && c { print $c; exit }'
}

agent_status() { stat_field certspoa-agents agent1 status; }
# (a check in progress shows as "* L7OK": the star is dropped)
agent_check_status() { stat_field certspoa-agents agent1 check_status | sed 's/^\* //'; }

# agent_is STATE [CHECK_STATUS] - the certspoa-agents server is in STATE
# ("UP", "DOWN") and, if given, its last check said CHECK_STATUS.
agent_is() {
    local st cs
    st=$(agent_status)
    cs=$(agent_check_status)
    if [ "$st" = "$1" ] && { [ -z "${2:-}" ] || [ "$cs" = "$2" ]; }; then
        return 0
    fi
    WHY="agent1 is '$st' (check '$cs'), want '$1'${2:+ ($2)}"
    return 1
}

# ---------------------------------------------------------------- requests

# req TAG [CURL ARGS...] - GET https://localhost:$HTTPS_PORT$REQ_PATH (default
# /api/ping). Sets STATUS, BODY, HDRS (the response's body and headers, also
# kept in $WORK/resp/TAG.*).
req() {
    local tag=$1
    shift
    STATUS=$($CURL -s --max-time 10 -o "$WORK/resp/$tag.body" -D "$WORK/resp/$tag.hdrs" \
        -w '%{http_code}' --cacert "$PKI/ca.pem" \
        --resolve "localhost:$HTTPS_PORT:127.0.0.1" "$@" \
        "https://localhost:$HTTPS_PORT${REQ_PATH:-/api/ping}")
    BODY=$(cat "$WORK/resp/$tag.body" 2>/dev/null)
    HDRS=$(tr -d '\r' <"$WORK/resp/$tag.hdrs" 2>/dev/null)
    return 0
}

# req_cert TAG NAME [CURL ARGS...] - req presenting client certificate NAME
# (NAME.crt may hold the leaf and the intermediates the client sends).
req_cert() {
    local tag=$1 name=$2
    shift 2
    req "$tag" --cert "$PKI/$name.crt" --key "$PKI/$name.key" "$@"
}

# hdr NAME - a header of the last response (case-insensitive, last one wins).
hdr() {
    printf '%s\n' "$HDRS" | awk -v n="$(printf '%s' "$1" | tr 'A-Z' 'a-z')" '
        { i = index($0, ":"); if (i && tolower(substr($0, 1, i - 1)) == n) { v = substr($0, i + 1); sub(/^[ \t]+/, "", v); last = v } }
        END { print last }'
}

# json_field NAME - a string field of the last response's JSON body (our
# bodies are flat and produced by HAProxy's json converter).
json_field() {
    printf '%s' "$BODY" | sed -n "s/.*\"$1\":\"\\(\\([^\"\\\\]\\|\\\\.\\)*\\)\".*/\\1/p"
}

# backend_saw FIELD - a line "FIELD: value" of the echo app's body.
backend_saw() {
    printf '%s\n' "$BODY" | sed -n "s/^$1: //p"
}

# expected Client-Cert value for certificate NAME (RFC 9440: ":b64(DER):").
client_cert_value() {
    printf ':%s:' "$(base64 -w0 <"$PKI/$1.der")"
}
