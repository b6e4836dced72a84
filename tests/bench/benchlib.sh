# tests/bench/benchlib.sh - what the end-to-end benchmarks share (sourced by
# e2e.sh and agent-cost.sh; run.sh takes the process handling): background
# processes stopped on exit, free loopback ports, waits bounded in time, and
# a process's CPU time. Sourcing it sets PIDS=() and FAILS=0 and the traps.
# shellcheck shell=bash

# bench_cpus - BENCH_AGENT_CPU (HAProxy and agent) and BENCH_LOAD_CPU (the
# load) from the environment, else cpu0 and cpu1 on a machine with two or
# more, else no pinning
bench_cpus() {
    if [ -z "${BENCH_AGENT_CPU+x}" ]; then
        if [ "$(nproc)" -ge 2 ]; then BENCH_AGENT_CPU=0 BENCH_LOAD_CPU=1; else BENCH_AGENT_CPU="" BENCH_LOAD_CPU=""; fi
    fi
    BENCH_LOAD_CPU=${BENCH_LOAD_CPU:-}
}

# bench_workdir NAME - WORK, a new directory tests/out/NAME.XXXXXX, and RAW,
# its empty raw.txt (TOP is the repository)
bench_workdir() {
    mkdir -p "$TOP/tests/out"
    WORK=$(mktemp -d "$TOP/tests/out/$1.XXXXXX")
    RAW=$WORK/raw.txt
    : >"$RAW"
}

declare -a PIDS=()
FAILS=0

# cleanup - stop every process started with bg (SIGTERM, then wait)
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
# below the kernel's range for outgoing connections' source ports, so that
# none of them takes a port between its pick and its bind
FP_HIGH=$(awk '{ print $1 - 1 }' /proc/sys/net/ipv4/ip_local_port_range 2>/dev/null)
[ "${FP_HIGH:-0}" -gt 12000 ] 2>/dev/null || FP_HIGH=32767
# free_port VAR - a 127.0.0.1 port nothing listens on, not handed out before
free_port() {
    local fp_port
    for _ in $(seq 1 200); do
        fp_port=$((10000 + (RANDOM * 32768 + RANDOM) % (FP_HIGH - 10000 + 1)))
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
# wait_port PORT PID [SECONDS] - PORT accepts connections (default 20 s),
# and PID is still alive meanwhile
wait_port() {
    local tries=$(( ${3:-20} * 10 ))
    for _ in $(seq 1 "$tries"); do
        port_open "$1" && return 0
        kill -0 "$2" 2>/dev/null || return 1
        sleep 0.1
    done
    return 1
}
# wait_file FILE PID - FILE is not empty (up to 10 s), PID alive meanwhile
wait_file() {
    for _ in $(seq 1 100); do
        [ -s "$1" ] && return 0
        kill -0 "$2" 2>/dev/null || return 1
        sleep 0.1
    done
    return 1
}
# cpu_ns PID - CPU time of a process so far, in ns: the sum over its threads
# of /proc/PID/task/TID/schedstat (time on CPU, user + system; the same time
# as utime + stime in /proc/PID/stat, without its 10 ms ticks)
cpu_ns() { cat /proc/"$1"/task/*/schedstat 2>/dev/null | awk '{ t += $1 } END { printf "%.0f", t }'; }

# ab_run PORT CONC KEEPALIVE SECONDS - ab against https://127.0.0.1:PORT/ on
# the load CPU (BENCH_LOAD_CPU), with the client certificate $PKI/client.pem;
# sets AB_DONE AB_FAILED AB_NON2XX AB_RPS (ab's output goes to
# $WORK/ab-errors.log when nothing was done)
ab_run() {
    local port=$1 conc=$2 ka=$3 secs=$4 out
    local ab_args=(-q -c "$conc" -t "$secs" -n 5000000 -E "$PKI/client.pem")
    [ "$ka" = 1 ] && ab_args+=(-k)
    if [ -n "$BENCH_LOAD_CPU" ]; then
        out=$(taskset -c "$BENCH_LOAD_CPU" "$AB" "${ab_args[@]}" "https://127.0.0.1:$port/" 2>&1)
    else
        out=$("$AB" "${ab_args[@]}" "https://127.0.0.1:$port/" 2>&1)
    fi
    AB_DONE=$(sed -n 's/^Complete requests: *\([0-9]*\).*/\1/p' <<<"$out")
    AB_FAILED=$(sed -n 's/^Failed requests: *\([0-9]*\).*/\1/p' <<<"$out")
    AB_NON2XX=$(sed -n 's/^Non-2xx responses: *\([0-9]*\).*/\1/p' <<<"$out")
    AB_RPS=$(sed -n 's/^Requests per second: *\([0-9.]*\).*/\1/p' <<<"$out")
    AB_DONE=${AB_DONE:-0} AB_FAILED=${AB_FAILED:-0} AB_NON2XX=${AB_NON2XX:-0} AB_RPS=${AB_RPS:-0}
    [ "$AB_DONE" -gt 0 ] || printf '%s\n' "$out" >>"$WORK/ab-errors.log"
}
