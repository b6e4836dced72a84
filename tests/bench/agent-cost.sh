#!/usr/bin/env bash
# agent-cost.sh [--smoke] [VERSION...] - what certspoa costs per NOTIFY, and
# HAProxy per request, with per-request SPOE (spoe-conf/certspoa.conf, event
# on-frontend-http-request) behind HAProxy 2.6, 3.0 and 3.2 (issue 15).
#
# For each setup (a HAProxy version, an agent binary, an SPOE variant) one
# certspoa (threads = 1) and one HAProxy (nbthread 1) run pinned to cpu0,
# `ab -k -E client.pem` loads them from cpu1 (mTLS keep-alive, as
# tests/bench/e2e.sh does). The setups are interleaved for ROUNDS rounds of
# SECONDS each, so the machine's noise falls on all of them. Per setup, the
# medians of:
#   notify/s     NOTIFY frames the agent answered per second
#   agent us     agent CPU (utime + stime, /proc/PID/task/*/schedstat) per NOTIFY
#                (count: spop_notify_frames_total from the agent's /stats.json)
#   haproxy us   HAProxy CPU per request (ab's completed requests)
#   conns        SPOP connections open at the end of the round (spop_connections)
# Then one more short round per setup under `perf stat -e raw_syscalls:sys_enter
# -e syscalls:sys_enter_...` on the agent: syscalls per NOTIFY, in total
# and for the ones that matter (AGENT_COST_SYSCALLS=0 skips it).
#
# Setups:
#   VERSION...            2.6 (/usr/sbin/haproxy), 3.0, 3.2 (tests/versions/haproxy.sh)
#   AGENT_COST_BASE=BIN   also run every setup with this agent binary ("base"),
#                         side by side with CERTSPOA_BIN ("new"): before/after
#   AGENT_COST_FLOOR=1    also run every setup with tests/bench/floor-agent
#                         ("floor": a constant ACK, no decision, one libev
#                         loop, the same codec): what any SPOP agent costs on
#                         this machine; its NOTIFY count is ab's requests
#   AGENT_COST_VARIANTS   SPOE settings, default "default"; any of
#       default           spoe-conf/certspoa.conf, one agent server over TCP
#       maxconn1 maxconn4 the agent server with "maxconn 1" / "maxconn 4"
#       servers2          two agent servers (two addresses of the same agent)
#       unix              the agent server over a unix socket
#       mwf1              spoe-agent "max-waiting-frames 1" (2.6 only honours it)
#       nopipe            "no option pipelining"
#
# --smoke: 1 round of 1 s, 2.6 only, no syscall round, checks that NOTIFYs
# were answered and that no request failed (for CI's bench-smoke).
#
# Environment: CERTSPOA_BIN (./certspoa), BENCH_TOOLS, AB, AGENT_COST_ROUNDS (3),
# AGENT_COST_SECONDS (5), AGENT_COST_CONC (16), BENCH_AGENT_CPU (0),
# BENCH_LOAD_CPU (1), AGENT_COST_PERF=DIR: also `perf record -g` the agent
# (cpu-clock) during one extra round per setup, reports in DIR.
# HAProxy 3.x needs root (chroot) and its roots in /var/cache/certspoa/roots.
# Loopback only; work files in tests/out/agent-cost.*/.
set -uo pipefail

TOP=$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)
AB=${AB:-ab}
CURL=${CURL:-curl}
CERTSPOA_BIN=${CERTSPOA_BIN:-$TOP/certspoa}
BENCH_TOOLS=${BENCH_TOOLS:-$TOP/build/tests/bench}
ROUNDS=${AGENT_COST_ROUNDS:-3}
SECS=${AGENT_COST_SECONDS:-5}
CONC=${AGENT_COST_CONC:-16}
VARIANTS=${AGENT_COST_VARIANTS:-default}
BASE=${AGENT_COST_BASE:-}
SYSCALLS=${AGENT_COST_SYSCALLS:-1}
PERF_DIR=${AGENT_COST_PERF:-}
if [ "${1:-}" = --smoke ]; then
    ROUNDS=1 SECS=1 SYSCALLS=0 PERF_DIR=""
    shift
    [ $# -gt 0 ] || set -- 2.6
fi
for a in "$@"; do
    case $a in 2.6|3.0|3.2) ;; *) echo "usage: agent-cost.sh [--smoke] [2.6|3.0|3.2]..." >&2; exit 2 ;; esac
done
VERSIONS=${*:-2.6 3.0 3.2}

for tool in "$AB" "$CURL" taskset; do
    command -v "$tool" >/dev/null || { echo "agent-cost.sh: $tool not found" >&2; exit 2; }
done
for b in "$CERTSPOA_BIN" "$BENCH_TOOLS/spop-bench" ${BASE:+"$BASE"}; do
    [ -x "$b" ] || { echo "agent-cost.sh: $b is missing (make bench-tools)" >&2; exit 2; }
done
if [ "$SYSCALLS" = 1 ] || [ -n "$PERF_DIR" ]; then
    command -v perf >/dev/null || { echo "agent-cost.sh: no perf: syscall round skipped" >&2; SYSCALLS=0 PERF_DIR=""; }
fi


# shellcheck source=tests/bench/benchlib.sh
. "$TOP/tests/bench/benchlib.sh"
bench_workdir agent-cost
bench_cpus

# figure STATS_SOCKET NAME... - values of /stats.json figures, space-separated
figure() {
    local sock=$1 json
    shift
    json=$("$CURL" -s --max-time 5 --unix-socket "$sock" "http://localhost/stats.json")
    for n in "$@"; do
        sed -n "s/.*\"figures\":{[^}]*\"$n\":\([0-9.e+]*\).*/\1/p" <<<"$json" | awk '{ printf "%.0f ", $1 + 0 }'
    done
}

hap_cmd() {   # hap_cmd VERSION - the command that runs that HAProxy
    case $1 in
        2.6) echo "${HAPROXY_26:-/usr/sbin/haproxy}" ;;
        *) echo "$TOP/tests/versions/haproxy.sh $1" ;;
    esac
}

# ------------------------------------------------------------------ setup

PKI=$WORK/pki
"$BENCH_TOOLS/spop-bench" --gen-pki "$PKI" -k 1 --list-size 1000 -q >"$WORK/pki.log" 2>&1 ||
    { cat "$WORK/pki.log" >&2; exit 2; }

# start_agent SETUP BIN - sets AGENT_PID AGENT_ADDR STATS_SOCK; a unix
# listener too (for the unix variant), in WORK (visible inside the chroot)
start_agent() {
    local name=$1 bin=$2
    cat >"$WORK/$name.ini" <<EOF
[agent]
listen = 127.0.0.1:0
listen = unix:$WORK/$name.sock
threads = 1
cache_size = 4096
log_level = warn
log_decisions = none
ready_file = $WORK/$name.ready

[stats]
listen = unix:$WORK/$name.stats

[policy default]
require_cert = yes
verify = haproxy
ca_file = $PKI/ca.pem
thumbprints = $PKI/allowed.txt
EOF
    rm -f "$WORK/$name.ready"
    bg "$BENCH_AGENT_CPU" "$WORK/$name.log" "$bin" -f "$WORK/$name.ini"
    AGENT_PID=$BG_PID
    wait_file "$WORK/$name.ready" "$AGENT_PID" || { echo "agent-cost.sh: agent $name did not start" >&2; tail -n 5 "$WORK/$name.log" >&2; exit 2; }
    AGENT_ADDR=$(grep -v '^unix' "$WORK/$name.ready" | head -n 1)
    STATS_SOCK=$WORK/$name.stats
}

# start_floor SETUP - the floor agent (no stats: STATS_SOCK empty)
start_floor() {
    local name=$1
    rm -f "$WORK/$name.ready"
    bg "$BENCH_AGENT_CPU" "$WORK/$name.log" "$BENCH_TOOLS/floor-agent" -r "$WORK/$name.ready"
    AGENT_PID=$BG_PID
    wait_file "$WORK/$name.ready" "$AGENT_PID" || { echo "agent-cost.sh: floor agent did not start" >&2; exit 2; }
    AGENT_ADDR=$(head -n 1 "$WORK/$name.ready")
    STATS_SOCK=""
}

# notifies SETUP [NAME...] - figures of the agent; the floor agent has none:
# its NOTIFYs are the requests HAProxy made (AB_TOTAL, one per request)
notifies() {
    local name=$1
    shift
    if [ -n "${SPORT[$name]}" ]; then
        figure "${SPORT[$name]}" "$@"
    else
        shift
        printf '%s' "$AB_TOTAL"
        for _ in "$@"; do printf ' 0'; done
        printf '\n'
    fi
}
AB_TOTAL=0

# spoe_conf VARIANT FILE - the shipped SPOE configuration, with the variant's change
spoe_conf() {
    local v=$1 out=$2
    case $v in
        mwf1) sed 's/^\(    option pipelining\)$/\1\n    max-waiting-frames 1/' "$TOP/spoe-conf/certspoa.conf" >"$out" ;;
        nopipe) sed 's/^    option pipelining$/    no option pipelining/' "$TOP/spoe-conf/certspoa.conf" >"$out" ;;
        *) cp "$TOP/spoe-conf/certspoa.conf" "$out" ;;
    esac
}

# gen_cfg SETUP VARIANT PORT - scenario b of e2e.sh
gen_cfg() {
    local name=$1 v=$2 port=$3
    spoe_conf "$v" "$WORK/$name.spoe.conf"
    {
        echo "global"
        echo "    nbthread 1"
        echo "    maxconn 4000"
        echo "    ssl-default-bind-options ssl-min-ver TLSv1.2"
        echo "defaults"
        echo "    mode http"
        echo "    timeout connect 2s"
        echo "    timeout client 30s"
        echo "    timeout server 30s"
        echo "    timeout http-request 10s"
        echo "    timeout http-keep-alive 10s"
        echo "frontend fe"
        echo "    bind 127.0.0.1:$port ssl crt $PKI/server.pem verify optional crt-ignore-err all ca-ignore-err all ca-file $PKI/ca.pem"
        echo "    filter spoe engine certspoa config $WORK/$name.spoe.conf"
        echo '    http-request deny status 403 if { var(txn.certspoa.verdict) -m str deny }'
        echo '    http-request deny status 503 unless { var(txn.certspoa.verdict) -m str allow }'
        echo '    http-request return status 200 content-type text/plain string "ok"'
        echo "backend certspoa-agents"
        echo "    mode tcp"
        echo "    timeout connect 1s"
        echo "    timeout server 3m"
        case $v in
            maxconn1) echo "    server agent1 $AGENT_ADDR maxconn 1" ;;
            maxconn4) echo "    server agent1 $AGENT_ADDR maxconn 4" ;;
            servers2) echo "    server agent1 $AGENT_ADDR"; echo "    server agent2 $AGENT_ADDR" ;;
            unix) echo "    server agent1 unix@$WORK/$name.sock" ;;
            *) echo "    server agent1 $AGENT_ADDR" ;;
        esac
    } >"$WORK/$name.cfg"
}

# ab_run_ka PORT SECONDS - benchlib's ab_run with keep-alive at CONC; adds
# the requests done to AB_TOTAL
ab_run_ka() {
    ab_run "$1" "$CONC" 1 "$2"
    AB_TOTAL=$((AB_TOTAL + AB_DONE))
}

BINS="new"
[ -n "$BASE" ] && BINS="base new"
if [ "${AGENT_COST_FLOOR:-0}" = 1 ]; then
    [ -x "$BENCH_TOOLS/floor-agent" ] || { echo "agent-cost.sh: no $BENCH_TOOLS/floor-agent (make bench-tools)" >&2; exit 2; }
    BINS="floor $BINS"
fi
declare -A APID HPID SPORT HPORT
SETUPS=""
for ver in $VERSIONS; do
    for v in $VARIANTS; do
        for b in $BINS; do
            name="$ver-$v-$b"
            [ "$b" = floor ] && [ "$v" = unix ] && continue   # floor-agent: TCP only
            bin=$CERTSPOA_BIN
            [ "$b" = base ] && bin=$BASE
            if [ "$b" = floor ]; then
                start_floor "$name"
            else
                start_agent "$name" "$bin"
            fi
            APID[$name]=$AGENT_PID SPORT[$name]=$STATS_SOCK
            started=0
            # shellcheck disable=SC2154 # free_port sets hport
            for _ in 1 2 3; do
                free_port hport || { echo "agent-cost.sh: no free port" >&2; exit 2; }
                gen_cfg "$name" "$v" "$hport"
                # shellcheck disable=SC2046 # hap_cmd is a command line
                if ! $(hap_cmd "$ver") -c -f "$WORK/$name.cfg" >"$WORK/$name.check" 2>&1; then
                    echo "agent-cost.sh: haproxy $ver -c failed for $name:" >&2
                    cat "$WORK/$name.check" >&2
                    exit 2
                fi
                # shellcheck disable=SC2046
                bg "$BENCH_AGENT_CPU" "$WORK/$name.haproxy.log" $(hap_cmd "$ver") -db -f "$WORK/$name.cfg"
                HPID[$name]=$BG_PID HPORT[$name]=$hport
                if wait_port "$hport" "$BG_PID"; then started=1; break; fi
                grep -q "Address already in use" "$WORK/$name.haproxy.log" || break
            done
            [ "$started" = 1 ] || { echo "agent-cost.sh: haproxy for $name did not start" >&2; tail -n 5 "$WORK/$name.haproxy.log" >&2; exit 2; }
            SETUPS="$SETUPS $name"
        done
    done
done

say "== certspoa agent cost per NOTIFY, per-request SPOE: $ROUNDS round(s) x ${SECS} s, interleaved =="
say "machine: $(nproc) CPUs, $(uname -r); load average at start: $(cut -d' ' -f1-3 /proc/loadavg)"
for ver in $VERSIONS; do
    say "haproxy $ver: $($(hap_cmd "$ver") -v 2>/dev/null | head -n 1)"
done
say "agent: ${CERTSPOA_BIN}${BASE:+ (new), base: $BASE}"
[ -n "$BENCH_AGENT_CPU" ] && say "pinning: haproxy (nbthread 1) + certspoa (threads 1) on cpu$BENCH_AGENT_CPU, ab -k -c $CONC on cpu$BENCH_LOAD_CPU"
say "work directory: $WORK"

sleep 1   # the first health checks / HELLOs
for name in $SETUPS; do
    ok=$("$CURL" -s -o /dev/null -w '%{http_code}' --max-time 10 --cacert "$PKI/ca.pem" --cert "$PKI/client.pem" \
        --resolve "localhost:${HPORT[$name]}:127.0.0.1" "https://localhost:${HPORT[$name]}/")
    [ "$ok" = 200 ] || fail "$name: a request with the client certificate got $ok (want 200)"
done
[ "$FAILS" -eq 0 ] || { say "agent-cost: nothing measured (see $WORK)"; exit 1; }

# measure SETUP ROUND - one round; appends to $RAW
measure() {
    local name=$1 r=$2 h0 h1 a0 a1 t0 t1 n0 n1 conns
    read -r n0 <<<"$(notifies "$name" spop_notify_frames_total)"
    h0=$(cpu_ns "${HPID[$name]}") a0=$(cpu_ns "${APID[$name]}") t0=$(date +%s%N)
    ab_run_ka "${HPORT[$name]}" "$SECS"
    t1=$(date +%s%N) h1=$(cpu_ns "${HPID[$name]}") a1=$(cpu_ns "${APID[$name]}")
    read -r n1 conns <<<"$(notifies "$name" spop_notify_frames_total spop_connections)"
    awk -v s="$name" -v r="$r" -v n=$((n1 - n0)) -v req="$AB_DONE" \
        -v h=$((h1 - h0)) -v a=$((a1 - a0)) -v wall=$((t1 - t0)) -v c="${conns:-0}" 'BEGIN {
            printf "%s %s notify_s=%.0f agent_us=%.3f haproxy_us=%.2f conns=%d req=%d\n",
                s, r, wall ? n * 1e9 / wall : 0, n ? a / 1e3 / n : 0, req ? h / 1e3 / req : 0, c, req }' >>"$RAW"
    if [ "$AB_DONE" -eq 0 ] || [ "$AB_FAILED" -ne 0 ] || [ "$AB_NON2XX" -ne 0 ] || [ $((n1 - n0)) -eq 0 ]; then
        fail "$name round $r: $AB_DONE done, $AB_FAILED failed, $AB_NON2XX non-2xx, $((n1 - n0)) NOTIFYs"
    fi
}

for round in $(seq 1 "$ROUNDS"); do
    say "round $round/$ROUNDS:$SETUPS"
    for name in $SETUPS; do measure "$name" "$round"; done
done

field() { awk -v s="$1" -v k="$2" '$1 == s { for (i = 3; i <= NF; i++) { split($i, kv, "="); if (kv[1] == k) print kv[2] } }' "$RAW"; }
median() { sort -g | awk '{ v[NR] = $1 } END { if (NR) print (NR % 2 ? v[(NR + 1) / 2] : (v[NR / 2] + v[NR / 2 + 1]) / 2); else print 0 }'; }
med() { field "$1" "$2" | median; }

say ""
say "medians of $ROUNDS round(s) (agent us = agent CPU per NOTIFY; haproxy us = HAProxy CPU per request):"
printf '  %-22s %10s %10s %11s %6s  %s\n' setup "notify/s" "agent us" "haproxy us" conns "agent us per round"
for name in $SETUPS; do
    printf '  %-22s %10.0f %10.2f %11.2f %6.0f  %s\n' "$name" "$(med "$name" notify_s)" \
        "$(med "$name" agent_us)" "$(med "$name" haproxy_us)" "$(med "$name" conns)" \
        "$(field "$name" agent_us | paste -sd/)"
done
if [ -n "$BASE" ]; then
    say "new/base, agent us per NOTIFY (medians):"
    for ver in $VERSIONS; do
        for v in $VARIANTS; do
            awk -v l="$ver-$v" -v b="$(med "$ver-$v-base" agent_us)" -v n="$(med "$ver-$v-new" agent_us)" \
                'BEGIN { printf "  %-22s %.2f -> %.2f  (%.2fx)\n", l, b, n, b ? n / b : 0 }'
        done
    done
fi

SC_LIST="recvfrom sendto epoll_wait epoll_ctl read write futex"
if [ "$SYSCALLS" = 1 ]; then
    say ""
    say "syscalls per NOTIFY (one ${SECS} s round per setup under perf stat; 'all' = raw_syscalls:sys_enter):"
    printf '  %-22s %6s' setup all
    for sc in $SC_LIST; do printf ' %10s' "$sc"; done
    printf '\n'
    for name in $SETUPS; do
        evs=(-e raw_syscalls:sys_enter)
        for sc in $SC_LIST; do evs+=(-e "syscalls:sys_enter_$sc"); done
        read -r n0 <<<"$(notifies "$name" spop_notify_frames_total)"
        perf stat -x, -o "$WORK/$name.syscalls" "${evs[@]}" -p "${APID[$name]}" -- sleep "$SECS" &
        sp=$!
        ab_run_ka "${HPORT[$name]}" "$SECS"
        wait "$sp"
        read -r n1 <<<"$(notifies "$name" spop_notify_frames_total)"
        # perf counted for SECS s while ab ran about as long: close enough for ratios
        awk -F, -v s="$name" -v n=$((n1 - n0)) -v list="$SC_LIST" '
            $3 == "raw_syscalls:sys_enter" { all = $1 }
            $3 ~ /^syscalls:sys_enter_/ { sub("syscalls:sys_enter_", "", $3); c[$3] = $1 }
            END {
                printf "  %-22s %6.2f", s, n ? all / n : 0
                k = split(list, names, " ")
                for (i = 1; i <= k; i++) printf " %10.2f", n ? c[names[i]] / n : 0
                printf "\n" }' "$WORK/$name.syscalls"
    done
fi

if [ -n "$PERF_DIR" ]; then
    mkdir -p "$PERF_DIR"
    for name in $SETUPS; do
        perf record -q -g -e cpu-clock -F 4999 -o "$PERF_DIR/$name.data" -p "${APID[$name]}" -- sleep "$SECS" 2>/dev/null &
        sp=$!
        ab_run_ka "${HPORT[$name]}" "$SECS"
        wait "$sp"
        perf report -q -i "$PERF_DIR/$name.data" --no-children --percent-limit 1 --stdio -g none \
            >"$PERF_DIR/$name.txt" 2>/dev/null
        say "perf profile of the agent, $name: $PERF_DIR/$name.txt"
    done
fi

say ""
say "load average at the end: $(cut -d' ' -f1-3 /proc/loadavg)"
say "raw results: $RAW"
if [ "$FAILS" -gt 0 ]; then
    say "agent-cost: $FAILS failure(s)"
    exit 1
fi
say "agent-cost: done, no failures"
