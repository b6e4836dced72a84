#!/usr/bin/env bash
# bench-ocsp.sh - what OCSP costs on a miss (docs/BENCHMARKS.md): N client
# certificates decided once each through the agent's SPOP port (each a miss:
# the ACK is deferred, one GET to a local `openssl ocsp` responder, the
# answer checked, the ACK sent), then again (each a hit). Prints the median
# and p90 of both, and the agent's own fetch time (certspoa_ocsp_fetch_seconds).
#   tests/revocation/bench-ocsp.sh [N]        (default 30)
# Not a pass/fail suite: it ends with "bench-ocsp: N passed, N failed" only
# for its setup checks.
set -u
. "$(dirname "$0")/../integration/lib.sh"
. "$(dirname "$0")/ocsp-lib.sh"
N=${1:-30}

workdir bench-ocsp
free_port P_CA && free_port P_STATS || exit 1
names=()
for i in $(seq 1 "$N"); do names+=("c$i:client:V"); done
check "pki" ocsp_pki "$WORK/ocsp" "$P_CA" "${names[@]}"
check "responder" ocsp_responder resp-ca "$P_CA" ca
printf '[agent]\nlisten = 127.0.0.1:0\nready_file = %s\nthreads = 1\nlog_decisions = none\n[stats]\nlisten = 127.0.0.1:%s\n[policy default]\nverify = agent\nca_file = %s\nocsp = leaf\n' \
    "$WORK/ready" "$P_STATS" "$WORK/ocsp/ca.pem" >"$WORK/agent.ini"
check "agent" start_agent agent "$WORK/agent.ini" "$WORK/ready"

stats_of() {  # stats_of LABEL FILE: median and p90 of the ms= values
    sort -n "$2" | awk -v l="$1" '{ v[NR] = $1 } END {
        printf "%-22s n=%d  median %d ms  p90 %d ms  max %d ms\n", l, NR, v[int((NR + 1) / 2)],
               v[int(NR * 0.9 + 0.999)], v[NR] }'
}
for pass in miss hit; do
    : >"$WORK/$pass.ms"
    for i in $(seq 1 "$N"); do
        ocsp_decide "default:c$i"
        [ "$(field code)" = ok ] || fail "$pass c$i" "$OUT"
        field ms >>"$WORK/$pass.ms"
    done
done
stats_of "miss (fetch + check)" "$WORK/miss.ms"
stats_of "hit (cached answer)" "$WORK/hit.ms"
M=$($CURL -s "http://127.0.0.1:$P_STATS/metrics")
printf '%s\n' "$M" | awk '/^certspoa_ocsp_fetch_seconds_(sum|count)/ { v[$1] = $2 }
    END { if (v["certspoa_ocsp_fetch_seconds_count"] > 0)
        printf "agent fetch time       mean %.1f ms over %d fetches (request, GET, check)\n",
               1000 * v["certspoa_ocsp_fetch_seconds_sum"] / v["certspoa_ocsp_fetch_seconds_count"],
               v["certspoa_ocsp_fetch_seconds_count"] }'
stop_agent "$AGENT_PID"
finish bench-ocsp
