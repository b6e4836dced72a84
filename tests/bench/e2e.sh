#!/usr/bin/env bash
# e2e.sh [--smoke] - HAProxy 2.6 end to end: what the client-certificate
# gate costs per request, native versus offloaded, with mTLS clients.
#
#   a  native   HAProxy alone: verify (ssl_c_verify) + thumbprint ACL from a
#               file (ssl_c_der,sha2(256),hex). The baseline: the physical
#               limit of any offload.
#   b  spoe     certspoa asked on every request (spoe-conf/certspoa.conf)
#   c  spoe-cx  certspoa asked once per TLS connection, verdict kept in sess
#               variables: the decision lines of the shipped example
#               haproxy-examples/mtls-per-connection/haproxy.cfg
#   d  lua      the same three checks in a Lua action (tests/bench/certcheck.lua)
#
# Each scenario runs with keep-alive (ka: many requests per TLS connection)
# and with a new TLS connection per request (new), ROUNDS times, the
# scenarios interleaved. Reported: requests/s, and CPU microseconds per
# request of HAProxy plus certspoa from /proc (schedstat: utime + stime in ns), with
# medians and the issue's ratios. Every scenario serves the same trivial
# answer ("http-request return"), logs nothing, and uses the same 100,000-line
# thumbprint list, server certificate and client certificate (RSA-2048 leaf
# with its intermediate, ~1 KB DER, from spop-bench --gen-pki).
#
# Load client: ab (apache2-utils) with -E, the only one of ab, wrk and h2load
# in Debian 12 that presents a client certificate. ab is single-threaded and
# speaks HTTP/1.0 (keep-alive with -k); it runs on cpu1, HAProxy (nbthread 1)
# and certspoa (1 worker thread) on cpu0, so requests/s measures what one
# core of HAProxy + agent does, as long as ab keeps up (its own CPU is not
# counted; the table shows whether cpu0 was saturated).
#
# Before measuring, each scenario is checked (client certificate: 200; none:
# 403), and the shipped per-connection example runs whole: allow, one agent
# call for several requests on a connection, deny, 503 with the agent down.
#
# Environment: HAPROXY (haproxy), AB (ab), CERTSPOA_BIN, BENCH_TOOLS,
# E2E_ROUNDS (3), E2E_SECONDS (5), E2E_CONC_KA (16), E2E_CONC_NEW (8),
# E2E_SCENARIOS ("a b c d"), E2E_MODES ("ka new"), BENCH_AGENT_CPU (0),
# BENCH_LOAD_CPU (1). Loopback only. Results stay in tests/out/e2e.*/.
set -uo pipefail

TOP=$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)
HAPROXY=${HAPROXY:-haproxy}
AB=${AB:-ab}
CURL=${CURL:-curl}
CERTSPOA_BIN=${CERTSPOA_BIN:-$TOP/certspoa}
BENCH_TOOLS=${BENCH_TOOLS:-$TOP/build/tests/bench}
ROUNDS=${E2E_ROUNDS:-3}
SECS=${E2E_SECONDS:-5}
CONC_KA=${E2E_CONC_KA:-16}
CONC_NEW=${E2E_CONC_NEW:-8}
SCENARIOS=${E2E_SCENARIOS:-a b c d}
MODES=${E2E_MODES:-ka new}
LIST=100000
if [ "${1:-}" = --smoke ]; then
    ROUNDS=1 SECS=1 LIST=1000
elif [ -n "${1:-}" ]; then
    echo "usage: e2e.sh [--smoke]" >&2
    exit 2
fi
EXAMPLE=$TOP/haproxy-examples/mtls-per-connection

for tool in "$HAPROXY" "$AB" "$CURL" taskset; do
    command -v "$tool" >/dev/null || { echo "e2e.sh: $tool not found" >&2; exit 2; }
done
for b in "$CERTSPOA_BIN" "$BENCH_TOOLS/spop-bench"; do
    [ -x "$b" ] || { echo "e2e.sh: $b is missing (make bench-tools)" >&2; exit 2; }
done

if [ -z "${BENCH_AGENT_CPU+x}" ]; then
    if [ "$(nproc)" -ge 2 ]; then BENCH_AGENT_CPU=0 BENCH_LOAD_CPU=1; else BENCH_AGENT_CPU="" BENCH_LOAD_CPU=""; fi
fi
BENCH_LOAD_CPU=${BENCH_LOAD_CPU:-}

mkdir -p "$TOP/tests/out"
WORK=$(mktemp -d "$TOP/tests/out/e2e.XXXXXX")
RAW=$WORK/raw.txt
: >"$RAW"
declare -a PIDS=()
FAILS=0

cleanup() {
    local p
    for p in "${PIDS[@]}"; do kill -TERM "$p" 2>/dev/null; done
    for p in "${PIDS[@]}"; do wait "$p" 2>/dev/null; done
    PIDS=()
}
trap cleanup EXIT
trap 'exit 130' INT
trap 'exit 143' TERM

say() { printf '%s\n' "$*"; }
fail() { say "FAIL $*"; FAILS=$((FAILS + 1)); }

# bg CPU LOG COMMAND... - start COMMAND in the background (on CPU if set);
# BG_PID is the command itself (taskset execs it).
bg() {
    local cpu=$1 log=$2
    shift 2
    if [ -n "$cpu" ]; then taskset -c "$cpu" "$@" >>"$log" 2>&1 &
    else "$@" >>"$log" 2>&1 &
    fi
    BG_PID=$!
    PIDS+=("$BG_PID")
}

USED_PORTS=" "
# free_port VAR - a 127.0.0.1 port nothing listens on, not handed out before
free_port() {
    local fp_port
    for _ in $(seq 1 200); do
        fp_port=$((20000 + (RANDOM * 32768 + RANDOM) % 40000))
        case $USED_PORTS in *" $fp_port "*) continue ;; esac
        if ! (exec 3<>"/dev/tcp/127.0.0.1/$fp_port") 2>/dev/null; then
            USED_PORTS="$USED_PORTS$fp_port "
            printf -v "$1" '%s' "$fp_port"
            return 0
        fi
    done
    return 1
}
port_open() { (exec 3<>"/dev/tcp/127.0.0.1/$1") 2>/dev/null; }
wait_port() {   # wait_port PORT PID - up to 10 s
    for _ in $(seq 1 100); do
        port_open "$1" && return 0
        kill -0 "$2" 2>/dev/null || return 1
        sleep 0.1
    done
    return 1
}
wait_file() {   # wait_file FILE PID - up to 10 s
    for _ in $(seq 1 100); do
        [ -s "$1" ] && return 0
        kill -0 "$2" 2>/dev/null || return 1
        sleep 0.1
    done
    return 1
}
# CPU time of a process so far, in ns: the sum over its threads of
# /proc/PID/task/TID/schedstat (time on CPU, user + system; the same time
# as utime + stime in /proc/PID/stat, without its 10 ms ticks)
cpu_ns() { cat /proc/"$1"/task/*/schedstat 2>/dev/null | awk '{ t += $1 } END { printf "%.0f", t }'; }

# ------------------------------------------------------------------ setup

PKI=$WORK/pki
"$BENCH_TOOLS/spop-bench" --gen-pki "$PKI" -k 1 --list-size "$LIST" -q >"$WORK/pki.log" 2>&1 ||
    { cat "$WORK/pki.log" >&2; exit 2; }

# start_agent NAME DECISIONS - certspoa with one worker thread, thumbprint
# policy, cache on; DECISIONS "all" logs one "decision" line per message,
# "none" nothing; sets AGENT_PID AGENT_ADDR
start_agent() {
    local level=warn
    [ "$2" = all ] && level=info
    cat >"$WORK/$1.ini" <<EOF
[agent]
listen = 127.0.0.1:0
threads = 1
cache_size = 4096
log_level = $level
log_decisions = $2
ready_file = $WORK/$1.ready

[policy default]
require_cert = yes
verify = haproxy
ca_file = $PKI/ca.pem
thumbprints = $PKI/allowed.txt
EOF
    rm -f "$WORK/$1.ready"
    bg "$BENCH_AGENT_CPU" "$WORK/$1.log" "$CERTSPOA_BIN" -f "$WORK/$1.ini"
    AGENT_PID=$BG_PID
    wait_file "$WORK/$1.ready" "$AGENT_PID" || { echo "e2e.sh: agent did not start" >&2; tail -n 5 "$WORK/$1.log" >&2; exit 2; }
    AGENT_ADDR=$(head -n 1 "$WORK/$1.ready")
}

# The decision lines of the shipped per-connection example, as they are.
example_block() {
    sed -n '/# --- per-connection decision: begin/,/# --- per-connection decision: end/p' \
        "$EXAMPLE/haproxy.cfg" | grep -v '^[[:space:]]*#' | grep -v '^[[:space:]]*$'
}
[ -n "$(example_block)" ] || { echo "e2e.sh: no decision block in $EXAMPLE/haproxy.cfg" >&2; exit 2; }

# gen_cfg SCENARIO PORT - the HAProxy configuration of one scenario
gen_cfg() {
    local s=$1 port=$2
    {
        echo "# scenario $s, written by tests/bench/e2e.sh"
        echo "global"
        echo "    nbthread 1"
        echo "    maxconn 4000"
        echo "    ssl-default-bind-options ssl-min-ver TLSv1.2"
        [ "$s" = d ] && echo "    lua-load $TOP/tests/bench/certcheck.lua"
        echo "defaults"
        echo "    mode http"
        echo "    timeout connect 2s"
        echo "    timeout client 30s"
        echo "    timeout server 30s"
        echo "    timeout http-request 10s"
        echo "    timeout http-keep-alive 10s"
        echo "frontend fe"
        echo "    bind 127.0.0.1:$port ssl crt $PKI/server.pem verify optional crt-ignore-err all ca-ignore-err all ca-file $PKI/ca.pem"
        echo "    http-request del-header Client-Cert"
        case $s in
        a)
            echo "    acl cert_used ssl_c_used"
            echo "    acl cert_ok ssl_c_verify 0"
            echo "    acl cert_listed ssl_c_der,sha2(256),hex,lower -m str -f $PKI/allowed.txt"
            echo "    http-request deny status 403 hdr X-Certspoa-Code cert_missing unless cert_used"
            echo "    http-request deny status 403 hdr X-Certspoa-Code cert_unverified unless cert_ok"
            echo "    http-request deny status 403 hdr X-Certspoa-Code cert_untrusted unless cert_listed"
            ;;
        b)
            echo "    filter spoe engine certspoa config $TOP/spoe-conf/certspoa.conf"
            echo '    http-request deny status 403 hdr X-Certspoa-Code "%[var(txn.certspoa.code)]" if { var(txn.certspoa.verdict) -m str deny }'
            echo '    http-request deny status 503 hdr X-Certspoa-Code agent_unavailable unless { var(txn.certspoa.verdict) -m str allow }'
            ;;
        c)
            echo "    filter spoe engine certspoa config $EXAMPLE/certspoa-per-connection.conf"
            example_block
            ;;
        d)
            echo "    http-request lua.certcheck"
            echo '    http-request deny status 403 hdr X-Certspoa-Code "%[var(txn.lua.code)]" if { var(txn.lua.verdict) -m str deny }'
            echo '    http-request deny status 503 hdr X-Certspoa-Code internal_error unless { var(txn.lua.verdict) -m str allow }'
            ;;
        esac
        echo '    http-request return status 200 content-type text/plain string "ok"'
        if [ "$s" = b ] || [ "$s" = c ]; then
            echo "backend certspoa-agents"
            echo "    mode tcp"
            echo "    timeout connect 1s"
            echo "    timeout server 3m"
            echo "    server agent1 $AGENT_ADDR"
        fi
    } >"$WORK/haproxy-$s.cfg"
}

# ab_run PORT CONC KEEPALIVE SECONDS - ab against https://127.0.0.1:PORT/ on
# the load CPU; sets AB_DONE AB_FAILED AB_NON2XX AB_RPS
ab_run() {
    local port=$1 conc=$2 ka=$3 secs=$4 out
    local args=(-q -c "$conc" -t "$secs" -n 5000000 -E "$PKI/client.pem")
    [ "$ka" = 1 ] && args+=(-k)
    if [ -n "$BENCH_LOAD_CPU" ]; then
        out=$(taskset -c "$BENCH_LOAD_CPU" "$AB" "${args[@]}" "https://127.0.0.1:$port/" 2>&1)
    else
        out=$("$AB" "${args[@]}" "https://127.0.0.1:$port/" 2>&1)
    fi
    AB_DONE=$(sed -n 's/^Complete requests: *\([0-9]*\).*/\1/p' <<<"$out")
    AB_FAILED=$(sed -n 's/^Failed requests: *\([0-9]*\).*/\1/p' <<<"$out")
    AB_NON2XX=$(sed -n 's/^Non-2xx responses: *\([0-9]*\).*/\1/p' <<<"$out")
    AB_RPS=$(sed -n 's/^Requests per second: *\([0-9.]*\).*/\1/p' <<<"$out")
    AB_DONE=${AB_DONE:-0} AB_FAILED=${AB_FAILED:-0} AB_NON2XX=${AB_NON2XX:-0} AB_RPS=${AB_RPS:-0}
    [ "$AB_DONE" -gt 0 ] || printf '%s\n' "$out" >>"$WORK/ab-errors.log"
}

# curl_status PORT [CURL ARGS] - HTTP status of GET / (one request)
curl_status() {
    local port=$1
    shift
    "$CURL" -s -o /dev/null -w '%{http_code}' --max-time 10 --cacert "$PKI/ca.pem" \
        --resolve "localhost:$port:127.0.0.1" "$@" "https://localhost:$port/"
}

say "== certspoa end to end with HAProxy: $ROUNDS round(s) x ${SECS} s per run, interleaved =="
say "machine: $(nproc) CPUs, $(awk -F': ' '/^model name/ { print $2; exit }' /proc/cpuinfo), $(uname -r)"
say "haproxy: $("$HAPROXY" -v 2>/dev/null | head -n 1)"
say "client: $("$AB" -V 2>/dev/null | head -n 1), -E client.pem (RSA-2048 leaf + intermediate), HTTP/1.0"
if [ -n "$BENCH_AGENT_CPU" ]; then
    say "pinning: haproxy (nbthread 1) and certspoa (1 thread) on cpu$BENCH_AGENT_CPU, ab on cpu$BENCH_LOAD_CPU"
fi
say "concurrency: keep-alive $CONC_KA, new connection per request $CONC_NEW; load average: $(cut -d' ' -f1-3 /proc/loadavg)"
say "work directory: $WORK"
say ""

# ------------------------------------------- the shipped example, whole

check_example() {
    local port app stats n1 n2 st body pid=""
    start_agent example all
    # another program may take a port between free_port and bind: retry
    for _ in 1 2 3; do
        # shellcheck disable=SC2015 # C runs when A or B fails, as meant
        free_port port && free_port app && free_port stats || { fail "example: no free port"; return; }
        CERTSPOA_HTTPS_BIND=127.0.0.1:$port CERTSPOA_APP_BIND=127.0.0.1:$app \
        CERTSPOA_STATS_SOCKET=ipv4@127.0.0.1:$stats CERTSPOA_AGENT_ADDR=$AGENT_ADDR \
        CERTSPOA_SERVER_PEM=$PKI/server.pem CERTSPOA_CLIENT_CA=$PKI/ca.pem \
        CERTSPOA_SPOE_CONF=$EXAMPLE/certspoa-per-connection.conf \
            bg "" "$WORK/example-haproxy.log" "$HAPROXY" -db -f "$EXAMPLE/haproxy.cfg"
        pid=$BG_PID
        wait_port "$port" "$pid" && wait_port "$app" "$pid" && break
        kill -TERM "$pid" 2>/dev/null
        wait "$pid" 2>/dev/null
        pid=""
        grep -q "Address already in use" "$WORK/example-haproxy.log" || break
    done
    if [ -z "$pid" ]; then
        fail "example: haproxy did not start ($(grep -E 'ALERT' "$WORK/example-haproxy.log" | head -n 2 | tr '\n' ' '))"
        return
    fi
    # the agent must be UP for HAProxy (option spop-check, 0.5 s retries)
    sleep 1.5
    n1=$(grep -c 'decision' "$WORK/example.log")
    # three requests on one connection: one agent decision
    st=$("$CURL" -s -o /dev/null -o /dev/null -o /dev/null -w '%{http_code} %{num_connects}\n' --max-time 10 \
        --cacert "$PKI/ca.pem" --cert "$PKI/client.pem" --resolve "localhost:$port:127.0.0.1" \
        "https://localhost:$port/a" "https://localhost:$port/b" "https://localhost:$port/c" | tr '\n' ' ')
    sleep 0.3
    n2=$(grep -c 'decision' "$WORK/example.log")
    if [ "$st" = "200 1 200 0 200 0 " ] && [ $((n2 - n1)) -eq 1 ]; then
        say "ok   example: 3 requests on one connection -> 200 x3, 1 agent decision"
    else
        fail "example: 3 requests on one connection gave '$st' with $((n2 - n1)) agent decisions (want 200 x3, 1)"
    fi
    body=$("$CURL" -s --max-time 10 --cacert "$PKI/ca.pem" --cert "$PKI/client.pem" \
        --resolve "localhost:$port:127.0.0.1" "https://localhost:$port/")
    case $body in
        *"client-cert-count: 1"*) say "ok   example: the application gets one Client-Cert" ;;
        *) fail "example: the application did not get one Client-Cert: $body" ;;
    esac
    st=$(curl_status "$port")
    # shellcheck disable=SC2015 # C runs when A or B fails, as meant
    [ "$st" = 403 ] && say "ok   example: no client certificate -> 403" ||
        fail "example: no client certificate -> $st (want 403)"
    kill -TERM "$AGENT_PID" 2>/dev/null
    wait "$AGENT_PID" 2>/dev/null
    st=$(curl_status "$port" --cert "$PKI/client.pem")
    # shellcheck disable=SC2015 # C runs when A or B fails, as meant
    [ "$st" = 503 ] && say "ok   example: agent stopped, new connection -> 503 (fail closed)" ||
        fail "example: agent stopped -> $st (want 503)"
    kill -TERM "$pid" 2>/dev/null
    wait "$pid" 2>/dev/null
}
check_example

# ------------------------------------------------------------- scenarios

start_agent agent none
AGENT_MAIN=$AGENT_PID
declare -A PORT HPID
for s in $SCENARIOS; do
    started=0
    # shellcheck disable=SC2154 # free_port sets hport (printf -v)
    for _ in 1 2 3; do
        free_port hport || { echo "e2e.sh: no free port" >&2; exit 2; }
        PORT[$s]=$hport
        gen_cfg "$s" "$hport"
        if ! "$HAPROXY" -c -f "$WORK/haproxy-$s.cfg" >"$WORK/haproxy-$s.check" 2>&1; then
            echo "e2e.sh: haproxy -c failed for scenario $s:" >&2
            cat "$WORK/haproxy-$s.check" >&2
            exit 2
        fi
        CERTCHECK_LIST=$PKI/allowed.txt bg "$BENCH_AGENT_CPU" "$WORK/haproxy-$s.log" \
            "$HAPROXY" -db -f "$WORK/haproxy-$s.cfg"
        HPID[$s]=$BG_PID
        if wait_port "$hport" "$BG_PID"; then
            started=1
            break
        fi
        # a port taken between free_port and bind: try another one
        grep -q "Address already in use" "$WORK/haproxy-$s.log" || break
    done
    if [ "$started" != 1 ]; then
        echo "e2e.sh: haproxy ($s) did not start" >&2
        tail -n 5 "$WORK/haproxy-$s.log" >&2
        exit 2
    fi
done
for s in $SCENARIOS; do
    ok=$(curl_status "${PORT[$s]}" --cert "$PKI/client.pem")
    no=$(curl_status "${PORT[$s]}")
    if [ "$ok" = 200 ] && [ "$no" = 403 ]; then
        say "ok   scenario $s: client certificate -> 200, none -> 403"
    else
        fail "scenario $s: client certificate -> $ok (want 200), none -> $no (want 403)"
    fi
done
if [ "$FAILS" -gt 0 ]; then
    say "e2e: $FAILS check(s) failed; nothing measured (see $WORK)"
    exit 1
fi
say ""

# run SCENARIO MODE ROUND - one measured ab run; appends to $RAW
run() {
    local s=$1 mode=$2 round=$3 h0 h1 a0 a1 t0 t1 ka=0 conc=$CONC_NEW
    [ "$mode" = ka ] && ka=1 conc=$CONC_KA
    h0=$(cpu_ns "${HPID[$s]}")
    a0=$(cpu_ns "$AGENT_MAIN")
    t0=$(date +%s%N)
    ab_run "${PORT[$s]}" "$conc" "$ka" "$SECS"
    t1=$(date +%s%N)
    h1=$(cpu_ns "${HPID[$s]}")
    a1=$(cpu_ns "$AGENT_MAIN")
    awk -v s="$s" -v m="$mode" -v r="$round" -v n="$AB_DONE" -v rps="$AB_RPS" \
        -v f="$AB_FAILED" -v x="$AB_NON2XX" -v h=$((h1 - h0)) -v a=$((a1 - a0)) \
        -v wall=$((t1 - t0)) 'BEGIN {
            hu = n ? h / 1e3 / n : 0; au = n ? a / 1e3 / n : 0
            printf "%s %s %s rps=%.0f done=%d failed=%d non2xx=%d haproxy_us=%.2f agent_us=%.2f cpu_us=%.2f cpu0_busy=%.0f\n",
                s, m, r, rps, n, f, x, hu, au, hu + au, wall ? (h + a) * 100 / wall : 0 }' >>"$RAW"
    if [ "$AB_DONE" -eq 0 ] || [ "$AB_FAILED" -ne 0 ] || [ "$AB_NON2XX" -ne 0 ]; then
        fail "scenario $s $mode round $round: $AB_DONE done, $AB_FAILED failed, $AB_NON2XX non-2xx"
    fi
}

for round in $(seq 1 "$ROUNDS"); do
    for mode in $MODES; do
        say "round $round/$ROUNDS, $mode: $SCENARIOS ..."
        for s in $SCENARIOS; do
            run "$s" "$mode" "$round"
        done
    done
done

field() {   # field SCENARIO MODE KEY
    awk -v s="$1" -v m="$2" -v k="$3" '$1 == s && $2 == m {
        for (i = 4; i <= NF; i++) { split($i, kv, "="); if (kv[1] == k) print kv[2] } }' "$RAW"
}
median() { sort -g | awk '{ v[NR] = $1 } END { if (NR) print (NR % 2 ? v[(NR + 1) / 2] : (v[NR / 2] + v[NR / 2 + 1]) / 2); else print 0 }'; }
med() { field "$1" "$2" "$3" | median; }

declare -A NAME=([a]="a native" [b]="b spoe/request" [c]="c spoe/connection" [d]="d lua")
say ""
say "medians of $ROUNDS round(s); cpu = HAProxy + certspoa CPU time per request (/proc/PID/task/*/schedstat);"
say "cpu0 busy = that CPU time over the run's wall time: below ~95%, ab (cpu1) was the limit, not HAProxy"
for mode in $MODES; do
    # shellcheck disable=SC2015 # C runs when A or B fails, as meant
    [ "$mode" = ka ] && say "keep-alive ($CONC_KA concurrent connections):" ||
        say "new TLS connection per request ($CONC_NEW concurrent):"
    printf '  %-20s %9s %12s %12s %10s %10s  %s\n' scenario "req/s" "cpu us/req" "haproxy us" "agent us" "cpu0 busy" "req/s per round"
    for s in $SCENARIOS; do
        printf '  %-20s %9.0f %12.2f %12.2f %10.2f %9.0f%%  %s\n' "${NAME[$s]}" \
            "$(med "$s" "$mode" rps)" "$(med "$s" "$mode" cpu_us)" "$(med "$s" "$mode" haproxy_us)" \
            "$(med "$s" "$mode" agent_us)" "$(med "$s" "$mode" cpu0_busy)" "$(field "$s" "$mode" rps | paste -sd/)"
    done
done

# ratio X Y MODE KEY - X/Y of medians (for cpu, Y/X: the cheaper, the higher)
ratio() {
    awk -v x="$(med "$1" "$3" "$4")" -v y="$(med "$2" "$3" "$4")" -v inv="${5:-0}" \
        'BEGIN { if (inv) printf "%.2f", x ? y / x : 0; else printf "%.2f", y ? x / y : 0 }'
}
target() {   # target LABEL X Y LIMIT
    local mode r_rps r_cpu
    for mode in $MODES; do
        r_rps=$(ratio "$2" "$3" "$mode" rps)
        r_cpu=$(ratio "$2" "$3" "$mode" cpu_us 1)
        awk -v l="$1" -v m="$mode" -v a="$r_rps" -v c="$r_cpu" -v lim="$4" 'BEGIN {
            printf "  %-26s %-4s req/s %5s (%s)   by CPU per request %5s (%s)\n", l " >= " lim, m,
                a, (a >= lim) ? "met" : "MISSED", c, (c >= lim) ? "met" : "MISSED" }'
    done
}
say ""
say "targets (issue 5): ratio of throughputs, and of CPU per request inverted (x/y = cpu_y / cpu_x)"
ran() { case " $SCENARIOS " in *" $1 "*) return 0 ;; esac; return 1; }
ran c && ran a && target "c / a" c a 0.95
ran c && ran d && target "c / d" c d 1.2
ran b && ran a && target "b / a" b a 0.7
ran b && ran d && target "b / d" b d 0.9
say ""
say "raw results: $RAW"
if [ "$FAILS" -gt 0 ]; then
    say "e2e: $FAILS failure(s)"
    exit 1
fi
say "e2e: done, no failures"
