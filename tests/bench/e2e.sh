#!/usr/bin/env bash
# e2e.sh [--smoke] - end to end on HAProxy 2.6, 3.0 and 3.2: what the
# client-certificate gate costs per request, native versus offloaded, with
# mTLS clients.
#
#   a   native   HAProxy alone: verify (ssl_c_verify) + thumbprint ACL from a
#                file (ssl_c_der,sha2(256),hex). The baseline: the physical
#                limit of any offload.
#   d   lua      the same three checks in a Lua action (tests/bench/certcheck.lua)
#   b   spoe     certspoa asked on every request (spoe-conf/certspoa.conf)
#   c   spoe-cx  certspoa asked once per TLS connection, unconditionally,
#                verdict kept in sess variables for the connection (at most
#                60 s): the lines are in this file (c_block below)
#   r   reuse    the shipped haproxy-examples/mtls-api/haproxy.cfg decision
#                block (between "# --- verdict reuse: begin" and "end"),
#                copied at run time: certspoa asked again only when it said
#                its verdict is not reusable. Two agents, two rows:
#       rc       a connection-only policy (thumbprints): expect ~c
#       rr       a route-dependent policy (a path_prefix route): expect ~b
#                Skipped, with a message, when mtls-api has no such block.
#
# Each (version, scenario) gets its own HAProxy, started once. Each runs
# with keep-alive (ka: many requests per TLS connection) and with a new TLS
# connection per request (new), ROUNDS times; within a round, versions and
# scenarios are interleaved, the order rotated each round. Reported: req/s,
# and CPU microseconds per request of HAProxy plus certspoa from /proc
# (schedstat: time on CPU in ns), medians, and issue 15's ratios to native.
# Every scenario serves the same trivial answer ("http-request return"),
# logs nothing, and uses the same 100,000-line thumbprint list, server
# certificate and client certificate (RSA-2048 leaf with its intermediate,
# ~1 KB DER, from spop-bench --gen-pki).
#
# Load client: ab (apache2-utils) with -E, the only one of ab, wrk and
# h2load in Debian 12 that presents a client certificate. ab is
# single-threaded and speaks HTTP/1.0 (keep-alive with -k); it runs on cpu1,
# HAProxy (nbthread 1) and certspoa (1 worker thread) on cpu0, so the CPU
# per request is what one core of HAProxy + agent spends (ab's own CPU is not
# counted; the table shows whether cpu0 was saturated).
#
# HAProxy versions: 2.6 is $HAPROXY (/usr/sbin/haproxy); 3.0 and 3.2 run
# through tests/versions/haproxy.sh (chroot into the roots cached in
# /var/cache/certspoa/roots, needs root; the work directory is under the
# repository, which that wrapper makes visible inside). A version that cannot
# run is skipped with a message, or is an error when E2E_VERSIONS names it.
#
# Before measuring, each scenario on each version is checked (client
# certificate: 200; none: 403), and three requests on one TLS connection
# must cost the agent 3 decisions in b and rr, 1 in c and rc (the agent's
# certspoa_messages_total on its /metrics).
#
# Environment: E2E_VERSIONS ("2.6 3.0 3.2"), HAPROXY (2.6's binary), AB (ab),
# CERTSPOA_BIN, BENCH_TOOLS, E2E_ROUNDS (3), E2E_SECONDS (5), E2E_CONC_KA
# (16), E2E_CONC_NEW (8), E2E_SCENARIOS ("a d b c r"), E2E_MODES ("ka new"),
# E2E_REUSE_CFG (haproxy-examples/mtls-api/haproxy.cfg), E2E_LOG (set: HAProxy
# access logs in the work directory, to debug a failure), E2E_PROFILE=1 (after
# the rounds, one more keep-alive run per pair under perf: HAProxy's CPU per
# request split by where it ran, kernel, haproxy, libssl, libcrypto, the
# rest, and its system calls per request; perf.data in the work directory),
# BENCH_AGENT_CPU (0), BENCH_LOAD_CPU (1). Loopback only. Results stay in
# tests/out/e2e.*/.
set -uo pipefail

TOP=$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)
HAPROXY=${HAPROXY:-/usr/sbin/haproxy}
AB=${AB:-ab}
CURL=${CURL:-curl}
CERTSPOA_BIN=${CERTSPOA_BIN:-$TOP/certspoa}
BENCH_TOOLS=${BENCH_TOOLS:-$TOP/build/tests/bench}
ROUNDS=${E2E_ROUNDS:-3}
SECS=${E2E_SECONDS:-5}
CONC_KA=${E2E_CONC_KA:-16}
CONC_NEW=${E2E_CONC_NEW:-8}
SCENARIOS=${E2E_SCENARIOS:-a d b c r}
MODES=${E2E_MODES:-ka new}
VERSIONS_SET=${E2E_VERSIONS+x}
VERSIONS=${E2E_VERSIONS:-2.6 3.0 3.2}
REUSE_CFG=${E2E_REUSE_CFG:-$TOP/haproxy-examples/mtls-api/haproxy.cfg}
LIST=100000
if [ "${1:-}" = --smoke ]; then
    ROUNDS=1 SECS=1 LIST=1000
elif [ -n "${1:-}" ]; then
    echo "usage: e2e.sh [--smoke]" >&2
    exit 2
fi

for tool in "$AB" "$CURL" taskset; do
    command -v "$tool" >/dev/null || { echo "e2e.sh: $tool not found" >&2; exit 2; }
done
for b in "$CERTSPOA_BIN" "$BENCH_TOOLS/spop-bench"; do
    [ -x "$b" ] || { echo "e2e.sh: $b is missing (make bench-tools)" >&2; exit 2; }
done


# hap_cmd VERSION - HAP: the command that runs HAProxy VERSION; every step
# execs the next, so the PID is HAProxy's
hap_cmd() {
    if [ "$1" = 2.6 ]; then HAP=("$HAPROXY")
    else HAP=(env CERTSPOA_NO_BUILD=1 "$TOP/tests/versions/haproxy.sh" "$1")
    fi
}
hap() { hap_cmd "$1"; shift; "${HAP[@]}" "$@"; }

# The versions that can run here.
declare -A HAVER
RUN_VERSIONS=""
for v in $VERSIONS; do
    case $v in 2.6|3.0|3.2) ;; *) echo "e2e.sh: unknown HAProxy version $v (2.6 3.0 3.2)" >&2; exit 2 ;; esac
    line=$(hap "$v" -v 2>&1 | head -n 1)
    case $line in
    *"HAProxy version"*|*"HA-Proxy version"*)
        HAVER[$v]=$(awk '{ print $3 }' <<<"$line")
        RUN_VERSIONS="$RUN_VERSIONS $v" ;;
    *)
        if [ -n "$VERSIONS_SET" ]; then
            echo "e2e.sh: HAProxy $v cannot run: $line" >&2
            exit 2
        fi
        echo "e2e.sh: HAProxy $v skipped (cannot run here: $line)" ;;
    esac
done
[ -n "$RUN_VERSIONS" ] || { echo "e2e.sh: no HAProxy version to run" >&2; exit 2; }

# shellcheck source=tests/bench/benchlib.sh
. "$TOP/tests/bench/benchlib.sh"
bench_workdir e2e
bench_cpus

# bg_hap CPU LOG VERSION ARGS... - bg for HAProxy VERSION
bg_hap() {
    local cpu=$1 log=$2
    hap_cmd "$3"
    shift 3
    bg "$cpu" "$log" "${HAP[@]}" "$@"
}


# ------------------------------------------------------------------ setup

PKI=$WORK/pki
"$BENCH_TOOLS/spop-bench" --gen-pki "$PKI" -k 1 --list-size "$LIST" -q >"$WORK/pki.log" 2>&1 ||
    { cat "$WORK/pki.log" >&2; exit 2; }

# start_agent NAME [route] - certspoa with one worker thread, thumbprint
# policy, cache on, no decision logs; "route" adds a path route (to a policy
# that is the same but for its name), which makes every decision depend on
# the request's path. A status listener on a free port serves /metrics
# (the checks count messages there). Sets AGENT_PID AGENT_ADDR AGENT_STATS
start_agent() {
    free_port AGENT_STATS || { echo "e2e.sh: no free port" >&2; exit 2; }
    cat >"$WORK/$1.ini" <<EOF
[agent]
listen = 127.0.0.1:0
threads = 1
cache_size = 4096
log_level = warn
log_decisions = none
ready_file = $WORK/$1.ready

[policy default]
require_cert = yes
verify = haproxy
ca_file = $PKI/ca.pem
thumbprints = $PKI/allowed.txt

[stats]
listen = 127.0.0.1:$AGENT_STATS
EOF
    if [ "${2:-}" = route ]; then
        cat >>"$WORK/$1.ini" <<EOF

[policy admin]
require_cert = yes
verify = haproxy
ca_file = $PKI/ca.pem
thumbprints = $PKI/allowed.txt

[route admin]
path_prefix = /admin
policy = admin
EOF
    fi
    rm -f "$WORK/$1.ready"
    bg "$BENCH_AGENT_CPU" "$WORK/$1.log" "$CERTSPOA_BIN" -f "$WORK/$1.ini"
    AGENT_PID=$BG_PID
    wait_file "$WORK/$1.ready" "$AGENT_PID" || { echo "e2e.sh: agent did not start" >&2; tail -n 5 "$WORK/$1.log" >&2; exit 2; }
    AGENT_ADDR=$(head -n 1 "$WORK/$1.ready")
}

# Scenario c: certspoa once per TLS connection, unconditionally. The verdict
# and its expiry (60 s) live in sess variables; the agent is asked with a
# SPOE group (no event), only when the connection has no valid verdict.
C_SPOE=$WORK/spoe-per-connection.conf
cat >"$C_SPOE" <<'EOF'
[certspoa]
spoe-agent certspoa
    groups check-client-cert-group
    option var-prefix certspoa
    option set-on-error error
    option set-process-time ptime
    register-var-names verdict status code reason detail
    register-var-names sha1 sha256 subject issuer serial not_after spki_sha256
    register-var-names rule policy route identity days_left expiring would_deny would_rule trace
    register-var-names deny_detail
    timeout hello      2s
    timeout idle       2m
    timeout processing 500ms
    max-frame-size 16380
    no option send-frag-payload
    option pipelining
    use-backend certspoa-agents

spoe-message check-client-cert
    args present=ssl_c_used verify=ssl_c_verify cert=ssl_c_der chain=ssl_c_chain_der sni=ssl_fc_sni src=src

spoe-group check-client-cert-group
    messages check-client-cert
EOF
c_block() {
    cat <<'EOF'
    http-request unset-var(sess.cert_verdict) if { var(sess.cert_verdict) -m found } { date,sub(sess.cert_expires) -m int ge 0 }
    http-request unset-var(sess.cert_code) if !{ var(sess.cert_verdict) -m found }
    http-request send-spoe-group certspoa check-client-cert-group if !{ var(sess.cert_verdict) -m found }
    http-request set-var(sess.cert_code) var(txn.certspoa.code) if { var(txn.certspoa.verdict) -m found }
    http-request set-var(sess.cert_expires) date(60) if { var(txn.certspoa.verdict) -m found }
    http-request set-var(sess.cert_verdict) var(txn.certspoa.verdict) if { var(txn.certspoa.verdict) -m found }
    http-request deny status 403 hdr X-Certspoa-Code "%[var(sess.cert_code)]" if { var(sess.cert_verdict) -m str deny }
    http-request deny status 503 hdr X-Certspoa-Code agent_unavailable unless { var(sess.cert_verdict) -m str allow }
EOF
}

# Scenario r: the shipped mtls-api decision block, as it is, the proc.*
# variables its global section sets, and the SPOE configuration that file
# names (its CERTSPOA_SPOE_CONF default).
r_block() {
    sed -n '/# --- verdict reuse: begin/,/# --- verdict reuse: end/p' "$REUSE_CFG" 2>/dev/null |
        grep -v '^[[:space:]]*#' | grep -v '^[[:space:]]*$'
}
R_SPOE=$(sed -n 's/.*filter spoe engine certspoa config "${CERTSPOA_SPOE_CONF-\([^}]*\)}".*/\1/p' "$REUSE_CFG" 2>/dev/null | head -n 1)
# relative to the root of the repository that holds that file
case $R_SPOE in ""|/*) ;; *) R_SPOE=$(cd "$(dirname "$REUSE_CFG")/../.." 2>/dev/null && pwd)/$R_SPOE ;; esac
KEYS=""
for s in $SCENARIOS; do
    case $s in
    a|b|c|d) KEYS="$KEYS $s" ;;
    r)
        if [ -z "$(r_block)" ]; then
            say "e2e.sh: scenario r skipped: no '# --- verdict reuse: begin/end' block in $REUSE_CFG"
        elif [ ! -f "$R_SPOE" ]; then
            say "e2e.sh: scenario r skipped: no SPOE configuration named in $REUSE_CFG"
        else
            KEYS="$KEYS rc rr"
        fi ;;
    *) echo "e2e.sh: unknown scenario $s (a b c d r)" >&2; exit 2 ;;
    esac
done

# gen_cfg VERSION SCENARIO PORT AGENT_ADDR - the HAProxy configuration
gen_cfg() {
    local v=$1 s=$2 port=$3 agent=$4
    {
        echo "# HAProxy $v, scenario $s, written by tests/bench/e2e.sh"
        echo "global"
        echo "    nbthread 1"
        echo "    maxconn 4000"
        echo "    ssl-default-bind-options ssl-min-ver TLSv1.2"
        [ "$s" = d ] && echo "    lua-load $TOP/tests/bench/certcheck.lua"
        # r: the proc.* variables that file's global section starts with
        case $s in rc|rr) grep '^[[:space:]]*set-var proc\.' "$REUSE_CFG" ;; esac
        [ -n "${E2E_LOG:-}" ] && echo "    log stdout format raw local0 info"
        echo "defaults"
        echo "    mode http"
        [ -n "${E2E_LOG:-}" ] && printf '    log global\n    option httplog\n'
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
            echo "    filter spoe engine certspoa config $C_SPOE"
            c_block
            ;;
        rc|rr)
            echo "    filter spoe engine certspoa config $R_SPOE"
            r_block
            ;;
        d)
            echo "    http-request lua.certcheck"
            echo '    http-request deny status 403 hdr X-Certspoa-Code "%[var(txn.lua.code)]" if { var(txn.lua.verdict) -m str deny }'
            echo '    http-request deny status 503 hdr X-Certspoa-Code internal_error unless { var(txn.lua.verdict) -m str allow }'
            ;;
        esac
        echo '    http-request return status 200 content-type text/plain string "ok"'
        case $s in
        b|c|rc|rr)
            echo "backend certspoa-agents"
            echo "    mode tcp"
            echo "    timeout connect 1s"
            echo "    timeout server 3m"
            echo "    server agent1 $agent"
            ;;
        esac
    } >"$WORK/haproxy-$v-$s.cfg"
}

# curl_status PORT [CURL ARGS] - HTTP status of GET / (one request)
curl_status() {
    local port=$1
    shift
    "$CURL" -s -o /dev/null -w '%{http_code}' --max-time 10 --cacert "$PKI/ca.pem" \
        --resolve "localhost:$port:127.0.0.1" "$@" "https://localhost:$port/"
}

say "== certspoa end to end with HAProxy$RUN_VERSIONS: $ROUNDS round(s) x ${SECS} s per run, interleaved =="
say "machine: $(nproc) CPUs, $(awk -F': ' '/^model name/ { print $2; exit }' /proc/cpuinfo), $(uname -r)"
for v in $RUN_VERSIONS; do say "haproxy $v: ${HAVER[$v]}"; done
say "client: $("$AB" -V 2>/dev/null | head -n 1), -E client.pem (RSA-2048 leaf + intermediate), HTTP/1.0"
if [ -n "$BENCH_AGENT_CPU" ]; then
    say "pinning: haproxy (nbthread 1) and certspoa (1 thread) on cpu$BENCH_AGENT_CPU, ab on cpu$BENCH_LOAD_CPU"
fi
say "concurrency: keep-alive $CONC_KA, new connection per request $CONC_NEW; load average: $(cut -d' ' -f1-3 /proc/loadavg)"
say "scenarios:$KEYS; work directory: $WORK"
say ""

# ------------------------------------------------------------- scenarios

start_agent agent
AGENT_MAIN=$AGENT_PID ADDR_MAIN=$AGENT_ADDR STATS_MAIN=$AGENT_STATS
AGENT_ROUTE="" ADDR_ROUTE="" STATS_ROUTE=""
case " $KEYS " in *" rr "*)
    start_agent agent-route route
    AGENT_ROUTE=$AGENT_PID ADDR_ROUTE=$AGENT_ADDR STATS_ROUTE=$AGENT_STATS ;;
esac
declare -A PORT HPID APID ASTATS
for v in $RUN_VERSIONS; do
    for s in $KEYS; do
        k=$v-$s
        if [ "$s" = rr ]; then APID[$k]=$AGENT_ROUTE ASTATS[$k]=$STATS_ROUTE addr=$ADDR_ROUTE
        else APID[$k]=$AGENT_MAIN ASTATS[$k]=$STATS_MAIN addr=$ADDR_MAIN
        fi
        started=0
        # shellcheck disable=SC2154 # free_port sets hport (printf -v)
        for _ in 1 2 3; do
            free_port hport || { echo "e2e.sh: no free port" >&2; exit 2; }
            PORT[$k]=$hport
            gen_cfg "$v" "$s" "$hport" "$addr"
            if ! hap "$v" -c -f "$WORK/haproxy-$k.cfg" >"$WORK/haproxy-$k.check" 2>&1; then
                echo "e2e.sh: haproxy $v -c failed for scenario $s:" >&2
                cat "$WORK/haproxy-$k.check" >&2
                exit 2
            fi
            CERTCHECK_LIST=$PKI/allowed.txt bg_hap "$BENCH_AGENT_CPU" "$WORK/haproxy-$k.log" \
                "$v" -db -f "$WORK/haproxy-$k.cfg"
            HPID[$k]=$BG_PID
            if wait_port "$hport" "$BG_PID" 10; then
                started=1
                break
            fi
            # a port taken between free_port and bind: try another one
            grep -q "Address already in use" "$WORK/haproxy-$k.log" || break
        done
        if [ "$started" != 1 ]; then
            echo "e2e.sh: haproxy $v ($s) did not start" >&2
            tail -n 5 "$WORK/haproxy-$k.log" >&2
            exit 2
        fi
    done
done
# messages KEY - the messages the agent of KEY has decided so far
messages() {
    "$CURL" -s --max-time 5 "http://127.0.0.1:${ASTATS[$1]}/metrics" |
        awk '$1 == "certspoa_messages_total" { n = $2 } END { printf "%d", n }'
}
for v in $RUN_VERSIONS; do
    for s in $KEYS; do
        k=$v-$s
        ok=$(curl_status "${PORT[$k]}" --cert "$PKI/client.pem")
        no=$(curl_status "${PORT[$k]}")
        if [ "$ok" = 200 ] && [ "$no" = 403 ]; then
            say "ok   $v scenario $s: client certificate -> 200, none -> 403"
        else
            fail "$v scenario $s: client certificate -> $ok (want 200), none -> $no (want 403)"
        fi
        # three requests on one connection: how many did the agent decide?
        case $s in b|rr) want=3 ;; c|rc) want=1 ;; *) continue ;; esac
        n0=$(messages "$k")
        st=$("$CURL" -s -o /dev/null -o /dev/null -o /dev/null -w '%{http_code} ' --max-time 10 \
            --cacert "$PKI/ca.pem" --cert "$PKI/client.pem" --resolve "localhost:${PORT[$k]}:127.0.0.1" \
            "https://localhost:${PORT[$k]}/a" "https://localhost:${PORT[$k]}/b" "https://localhost:${PORT[$k]}/c")
        n1=$(messages "$k")
        if [ "$st" = "200 200 200 " ] && [ $((n1 - n0)) -eq "$want" ]; then
            say "ok   $v scenario $s: 3 requests on one connection -> 200 x3, $want agent decision(s)"
        else
            fail "$v scenario $s: 3 requests on one connection -> '$st' with $((n1 - n0)) agent decisions (want 200 x3, $want)"
        fi
    done
done
if [ "$FAILS" -gt 0 ]; then
    say "e2e: $FAILS check(s) failed; nothing measured (see $WORK)"
    exit 1
fi
say ""

# run VERSION SCENARIO MODE ROUND - one measured ab run; appends to $RAW
run() {
    local v=$1 s=$2 mode=$3 round=$4 k=$1-$2 h0 h1 a0 a1 t0 t1 ka=0 conc=$CONC_NEW
    [ "$mode" = ka ] && ka=1 conc=$CONC_KA
    h0=$(cpu_ns "${HPID[$k]}")
    a0=$(cpu_ns "${APID[$k]}")
    t0=$(date +%s%N)
    ab_run "${PORT[$k]}" "$conc" "$ka" "$SECS"
    t1=$(date +%s%N)
    h1=$(cpu_ns "${HPID[$k]}")
    a1=$(cpu_ns "${APID[$k]}")
    awk -v v="$v" -v s="$s" -v m="$mode" -v r="$round" -v n="$AB_DONE" -v rps="$AB_RPS" \
        -v f="$AB_FAILED" -v x="$AB_NON2XX" -v h=$((h1 - h0)) -v a=$((a1 - a0)) \
        -v wall=$((t1 - t0)) 'BEGIN {
            hu = n ? h / 1e3 / n : 0; au = n ? a / 1e3 / n : 0
            printf "%s %s %s %s rps=%.0f done=%d failed=%d non2xx=%d haproxy_us=%.2f agent_us=%.2f cpu_us=%.2f cpu0_busy=%.0f\n",
                v, s, m, r, rps, n, f, x, hu, au, hu + au, wall ? (h + a) * 100 / wall : 0 }' >>"$RAW"
    if [ "$AB_DONE" -eq 0 ] || [ "$AB_FAILED" -ne 0 ] || [ "$AB_NON2XX" -ne 0 ]; then
        fail "$v scenario $s $mode round $round: $AB_DONE done, $AB_FAILED failed, $AB_NON2XX non-2xx"
    fi
}

# every (version, scenario) pair, the order rotated by one each round
PAIRS=()
for v in $RUN_VERSIONS; do for s in $KEYS; do PAIRS+=("$v $s"); done; done
NP=${#PAIRS[@]}
for round in $(seq 1 "$ROUNDS"); do
    for mode in $MODES; do
        say "round $round/$ROUNDS, $mode: $NP runs ..."
        for i in $(seq 0 $((NP - 1))); do
            # shellcheck disable=SC2086 # "VERSION SCENARIO" splits in two
            run ${PAIRS[$(((i + round - 1) % NP))]} "$mode" "$round"
        done
    done
done

field() {   # field VERSION SCENARIO MODE KEY
    awk -v v="$1" -v s="$2" -v m="$3" -v k="$4" '$1 == v && $2 == s && $3 == m {
        for (i = 5; i <= NF; i++) { split($i, kv, "="); if (kv[1] == k) print kv[2] } }' "$RAW"
}
median() { sort -g | awk '{ v[NR] = $1 } END { if (NR) print (NR % 2 ? v[(NR + 1) / 2] : (v[NR / 2] + v[NR / 2 + 1]) / 2); else print 0 }'; }
med() { field "$1" "$2" "$3" "$4" | median; }

declare -A NAME=([a]="a native" [b]="b spoe/request" [c]="c spoe/connection" [d]="d lua"
    [rc]="r reuse, conn. policy" [rr]="r reuse, route policy")
say ""
say "medians of $ROUNDS round(s); cpu = HAProxy + certspoa CPU time per request (/proc/PID/task/*/schedstat);"
say "x native = cpu / cpu of a; cpu0 busy = that CPU time over the run's wall time (below ~95%, ab on cpu1 was the limit)"
for mode in $MODES; do
    for v in $RUN_VERSIONS; do
        # shellcheck disable=SC2015 # C runs when A or B fails, as meant
        [ "$mode" = ka ] && say "HAProxy ${HAVER[$v]}, keep-alive ($CONC_KA concurrent connections):" ||
            say "HAProxy ${HAVER[$v]}, new TLS connection per request ($CONC_NEW concurrent):"
        printf '  %-24s %9s %12s %12s %10s %9s %10s  %s\n' scenario "req/s" "cpu us/req" "haproxy us" "agent us" "x native" "cpu0 busy" "req/s per round"
        base=$(med "$v" a "$mode" cpu_us)
        for s in $KEYS; do
            cpu=$(med "$v" "$s" "$mode" cpu_us)
            printf '  %-24s %9.0f %12.2f %12.2f %10.2f %9s %9.0f%%  %s\n' "${NAME[$s]}" \
                "$(med "$v" "$s" "$mode" rps)" "$cpu" "$(med "$v" "$s" "$mode" haproxy_us)" \
                "$(med "$v" "$s" "$mode" agent_us)" \
                "$(awk -v c="$cpu" -v b="${base:-0}" 'BEGIN { if (b > 0) printf "%.2fx", c / b; else print "-" }')" \
                "$(med "$v" "$s" "$mode" cpu0_busy)" "$(field "$v" "$s" "$mode" rps | paste -sd/)"
        done
    done
done

ran() { case " $KEYS " in *" $1 "*) return 0 ;; esac; return 1; }
# target LABEL VERSION SCENARIO LIMIT - keep-alive CPU per request of
# SCENARIO over native's, against LIMIT
target() {
    awk -v l="$1" -v v="${HAVER[$2]}" -v x="$(med "$2" "$3" ka cpu_us)" -v y="$(med "$2" a ka cpu_us)" -v lim="$4" 'BEGIN {
        r = y ? x / y : 0
        printf "  %-46s %-8s %.2fx (%.1f / %.1f us)  %s\n", l " <= " lim "x", v, r, x, y, (r <= lim) ? "met" : "MISSED" }'
}
if case " $MODES " in *" ka "*) true ;; *) false ;; esac && ran a; then
    say ""
    say "targets (issue 15), keep-alive, CPU per request over native's:"
    for v in $RUN_VERSIONS; do
        ran rc && target "r, connection-only policy" "$v" rc 1.05
        lim=1.3
        [ "$v" = 2.6 ] || lim=1.6
        ran rr && target "r, route-dependent policy (per request)" "$v" rr "$lim"
        ran b && target "b, per request" "$v" b "$lim"
        ran c && target "c, per connection" "$v" c 1.05
    done
    if ran b; then
        say "agent CPU per NOTIFY in b (keep-alive: one NOTIFY per request), target <= 3 us:"
        for v in $RUN_VERSIONS; do
            awk -v v="${HAVER[$v]}" -v a="$(med "$v" b ka agent_us)" 'BEGIN {
                printf "  %-8s %.2f us  %s\n", v, a, (a <= 3) ? "met" : "MISSED" }'
        done
    fi
fi
# profile VERSION SCENARIO - one more keep-alive run under perf record (cpu
# clock) and perf stat (system calls) on the pair's HAProxy: its CPU per
# request by shared object (µs: the share of the samples times the run's
# HAProxy CPU per request) and its system calls per request. By object only:
# the 3.x binaries run in a chroot, where perf cannot name their functions.
profile() {
    local v=$1 s=$2 k=$1-$2 h0 h1 rp sp
    perf record -q -e cpu-clock -F 2999 -o "$WORK/perf-$k.data" -p "${HPID[$k]}" -- sleep "$SECS" >/dev/null 2>&1 &
    rp=$!
    perf stat -x, -o "$WORK/perf-$k.sys" -e raw_syscalls:sys_enter -p "${HPID[$k]}" -- sleep "$SECS" >/dev/null 2>&1 &
    sp=$!
    h0=$(cpu_ns "${HPID[$k]}")
    ab_run "${PORT[$k]}" "$CONC_KA" 1 "$SECS"
    h1=$(cpu_ns "${HPID[$k]}")
    wait "$rp" "$sp"
    perf report -q -i "$WORK/perf-$k.data" --sort dso --stdio 2>/dev/null >"$WORK/perf-$k.dso"
    awk -v v="${HAVER[$v]}" -v s="$s" -v n="$AB_DONE" -v h=$((h1 - h0)) -v sysf="$WORK/perf-$k.sys" '
        $1 ~ /%$/ { p = $1; sub("%", "", p); d = $2
            if (d ~ /kernel/) c["kernel"] += p
            else if (d ~ /^haproxy/) c["haproxy"] += p
            else if (d ~ /^libssl/) c["libssl"] += p
            else if (d ~ /^libcrypto/) c["libcrypto"] += p
            else c["other"] += p }
        END {
            while ((getline line < sysf) > 0) { split(line, f, ","); if (f[3] == "raw_syscalls:sys_enter") sc = f[1] }
            us = n ? h / 1e3 / n : 0
            printf "  %-8s %-3s %7.1f %7.1f %7.1f %7.1f %9.1f %7.1f %9.2f\n", v, s, us,
                us * c["kernel"] / 100, us * c["haproxy"] / 100, us * c["libssl"] / 100,
                us * c["libcrypto"] / 100, us * c["other"] / 100, n ? sc / n : 0 }' "$WORK/perf-$k.dso"
}
if [ "${E2E_PROFILE:-}" = 1 ] && case " $MODES " in *" ka "*) true ;; *) false ;; esac; then
    if command -v perf >/dev/null; then
        say ""
        say "HAProxy's CPU per request by where it ran (keep-alive, one more run per pair under perf; µs):"
        printf '  %-8s %-3s %7s %7s %7s %7s %9s %7s %9s\n' version sc total kernel haproxy libssl libcrypto other "syscalls"
        for p in "${PAIRS[@]}"; do
            # shellcheck disable=SC2086 # "VERSION SCENARIO" splits in two
            profile $p
        done
    else
        say "e2e: E2E_PROFILE=1 but no perf: profile skipped"
    fi
fi

say ""
say "raw results: $RAW"
if [ "$FAILS" -gt 0 ]; then
    say "e2e: $FAILS failure(s)"
    exit 1
fi
say "e2e: done, no failures"
