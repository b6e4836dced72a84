#!/usr/bin/env bash
# agent-latency.sh PID SECONDS [OUT] - the agent's internal processing time
# per message, seen from outside with perf syscall tracepoints: no change to
# the agent, no clock in its hot path.
#
# For every recv() of the agent's worker threads, the time from its return
# (the NOTIFY bytes are in the agent's buffer) to the next send() (the ACKs
# are handed to the kernel): certspoa reads a connection (up to 8 times),
# answers every whole frame, then writes once, so that is how long the frames
# of that read spent inside the agent. Weighted by bytes read (so by
# frames), it gives percentiles per message. Kernel queueing before the read
# and the event-loop wake-up are not included; time the thread spent
# preempted in between is (on a busy machine, that is most of the tail).
#
# Prints one line: "agent_latency: p50=US p90=US p99=US p99.9=US max=US
# batches=N kb=N". Needs perf with the syscalls:* tracepoints (root);
# exits 3 when it cannot record. Tracing adds about a microsecond per
# system call to the agent.
set -uo pipefail

pid=${1:?usage: agent-latency.sh PID SECONDS [OUT]}
secs=${2:?usage: agent-latency.sh PID SECONDS [OUT]}
out=${3:-$(mktemp /tmp/certspoa-latency.XXXXXX)}

command -v perf >/dev/null || exit 3
# the worker threads: every thread but the main one
# shellcheck disable=SC2010 # /proc task ids are numbers
tids=$(ls /proc/"$pid"/task 2>/dev/null | grep -vx "$pid" | paste -sd,)
[ -n "$tids" ] || tids=$pid
perf record -q -e syscalls:sys_exit_recvfrom,syscalls:sys_enter_sendto -t "$tids" \
    -o "$out" -- sleep "$secs" >/dev/null 2>&1 || exit 3
[ -s "$out" ] || exit 3

perf script -i "$out" -F time,event,trace 2>/dev/null | awk '
    BEGIN { np = 0 }
    function hex(s,   i, c, v) {
        v = 0; s = tolower(s); sub(/^0x/, "", s)
        for (i = 1; i <= length(s); i++) {
            c = index("0123456789abcdef", substr(s, i, 1)) - 1
            if (c < 0) return -1
            v = v * 16 + c
        }
        return v
    }
    # "  2877.570388: syscalls:sys_exit_recvfrom: 0x6d"
    $1 ~ /^[0-9]+\.[0-9]+:$/ {
        t = $1; sub(":", "", t); t *= 1e6
        if ($2 == "syscalls:sys_exit_recvfrom:") {
            n = hex($3)
            if (n > 0) { pt[np] = t; pb[np] = n; np++ }
        } else if ($2 == "syscalls:sys_enter_sendto:") {
            for (i = 0; i < np; i++) printf "%.1f %d\n", t - pt[i], pb[i]
            np = 0
        }
    }' | sort -g | awk '
    { l[NR] = $1; w[NR] = $2; tot += $2 }
    END {
        if (NR == 0) { print "agent_latency: no data"; exit 1 }
        split("50 90 99 99.9", ps, " "); k = 1; acc = 0
        printf "agent_latency:"
        for (j = 1; j <= NR; j++) {
            acc += w[j]
            while (k <= 4 && acc >= tot * ps[k] / 100) { printf " p%s=%.1f", ps[k], l[j]; k++ }
        }
        printf " max=%.1f batches=%d kb=%.0f\n", l[NR], NR, tot / 1024
    }'
rc=$?
[ -n "${3:-}" ] || rm -f "$out"
exit $rc
