#!/usr/bin/env bash
# run.sh [--smoke | --long] - the agent-alone benchmark behind `make bench`.
#
#   default   ROUNDS (5) rounds of six SECONDS (4 s) runs, interleaved:
#               floor       floor-agent (constant ACK): the protocol floor
#               warm        certspoa, one certificate (cache hit), verify=haproxy
#               warm@50%    the same, open loop at half of this round's warm rate;
#                           with perf, also the agent's internal time per message
#                           (tests/bench/agent-latency.sh)
#               reload      warm@50% again, with a SIGHUP (config and 100k list
#                           loaded again) in the middle
#               cold        certspoa, 8192 certificates cycled through a
#                           1024-entry cache (every message misses), verify=haproxy
#               cold-agent  the same with verify=agent (chain verified per message)
#             then the micro-benchmarks; prints medians, ratios and the issue's
#             targets (met / missed). Under 5 minutes.
#   --smoke   one round of 1 s runs and a short micro pass, small PKI; fails
#             only on errors (ACK validation, start-up), never on timings (CI)
#   --long    RSS across a long run: 10M messages through the warm agent and
#             a cold run of LONG_COLD_SECONDS (120 s), RSS sampled every second
#   --fleet   a device fleet: FLEET_CERTS (10,000) distinct EC P-256 leaves,
#             each with its own key, cycled one per message through two agents
#             side by side: "miss", a cache smaller than the fleet (every
#             message parses its certificate), and "hit", a cache of at least
#             the fleet (after one unmeasured pass, every message is a hit).
#             ROUNDS rounds, interleaved; prints CPU per message of each, the
#             ratio (what caching the parsed facts by DER hash saves) and the
#             hit rate each agent really had (its /metrics)
#
# Every agent runs with one worker thread, thumbprint policy (100,000-line
# list), cache on. When there are two CPUs and taskset, agents are pinned to
# cpu0 and spop-bench to cpu1 (BENCH_AGENT_CPU / BENCH_LOAD_CPU override,
# "" = no pinning). CPU per message comes from /proc/PID/stat (utime+stime).
#
# Environment: CERTSPOA_BIN, BENCH_TOOLS (directory of spop-bench,
# floor-agent, micro), BENCH_ROUNDS, BENCH_SECONDS, BENCH_CONNS (4),
# BENCH_PIPELINE (20). Work files and the raw results stay in
# tests/out/bench/ (the PKI is reused while it is fresh).
set -uo pipefail

TOP=$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)
CERTSPOA_BIN=${CERTSPOA_BIN:-$TOP/certspoa}
BENCH_TOOLS=${BENCH_TOOLS:-$TOP/build/tests/bench}
MODE=normal
case ${1:-} in
    --smoke) MODE=smoke ;;
    --long) MODE=long ;;
    --fleet) MODE=fleet ;;
    "") ;;
    *) echo "usage: run.sh [--smoke|--long|--fleet]" >&2; exit 2 ;;
esac
LONG_N=${LONG_MESSAGES:-10000000}
LONG_COLD=${LONG_COLD_SECONDS:-120}

ROUNDS=${BENCH_ROUNDS:-5}
SECS=${BENCH_SECONDS:-4}
WARMUP=0.5
CONNS=${BENCH_CONNS:-4}
PIPE=${BENCH_PIPELINE:-20}
NCERTS=8192
COLD_CACHE=1024
LIST=100000
MICRO_ARGS=()
if [ "$MODE" = smoke ]; then
    ROUNDS=1 SECS=1 WARMUP=0.2 NCERTS=64 COLD_CACHE=8 LIST=1000
    MICRO_ARGS=(--smoke)
fi
KEYS=rsa
if [ "$MODE" = fleet ]; then
    NCERTS=${FLEET_CERTS:-10000} KEYS=ec
    # miss: a tenth of the fleet, at least 8; fit: the fleet's size; hit:
    # 32 times it. The cache is 2-way set associative: with as many slots as
    # certificates, the sets that draw three or more of them miss on every
    # pass ("fit" shows how many); at 32x, a few in ten thousand do.
    COLD_CACHE=$((NCERTS / 10 > 8 ? NCERTS / 10 : 8))
    HIT_CACHE=$((NCERTS * 32 < 4194304 ? NCERTS * 32 : 4194304))
fi

SPOP_BENCH=$BENCH_TOOLS/spop-bench
FLOOR=$BENCH_TOOLS/floor-agent
MICRO=$BENCH_TOOLS/micro
for b in "$CERTSPOA_BIN" "$SPOP_BENCH" "$FLOOR" "$MICRO"; do
    [ -x "$b" ] || { echo "run.sh: $b is missing (make bench-tools)" >&2; exit 2; }
done

# Pinning: agents on cpu0, load on cpu1, when that is possible.
if [ -z "${BENCH_AGENT_CPU+x}" ]; then
    if command -v taskset >/dev/null && [ "$(nproc)" -ge 2 ]; then
        BENCH_AGENT_CPU=0 BENCH_LOAD_CPU=1
    else
        BENCH_AGENT_CPU="" BENCH_LOAD_CPU=""
    fi
fi
BENCH_LOAD_CPU=${BENCH_LOAD_CPU:-}
pin() {   # pin CPU COMMAND... - run COMMAND on CPU ("" = anywhere)
    local cpu=$1
    shift
    if [ -n "$cpu" ]; then taskset -c "$cpu" "$@"; else "$@"; fi
}

OUT=$TOP/tests/out/bench
PKI=$OUT/pki-$KEYS-$NCERTS-$LIST
mkdir -p "$OUT"
STAMP=$(date +%Y%m%d-%H%M%S)
RAW=$OUT/raw-$MODE-$STAMP.txt
: >"$RAW"
ERRORS=0
# PIDS, cleanup on exit, say
# shellcheck source=tests/bench/benchlib.sh
. "$TOP/tests/bench/benchlib.sh"

# ---------------------------------------------------------------- setup

# The PKI (8192 RSA leaves take ~10 s): reused while younger than 20 days.
if [ ! -s "$PKI/leaves.der" ] || [ -n "$(find "$PKI/leaves.der" -mtime +20 2>/dev/null)" ]; then
    rm -rf "$PKI"
    pin "$BENCH_LOAD_CPU" "$SPOP_BENCH" --gen-pki "$PKI" -k "$NCERTS" --list-size "$LIST" --days 30 --keys "$KEYS" ||
        { echo "run.sh: cannot generate the PKI" >&2; exit 2; }
fi
LEAF0_SHA=$(cat "$PKI/leaf0.sha256")

# agent_ini NAME VERIFY CACHE [stats] - a bench configuration; "stats"
# adds the HTTP status listener on a free port (logged at info level)
agent_ini() {
    local level=warn
    [ "${4:-}" = stats ] && level=info
    cat >"$OUT/$1.ini" <<EOF
; written by tests/bench/run.sh
[agent]
listen = 127.0.0.1:0
threads = 1
cache_size = $3
log_level = $level
log_decisions = none
ready_file = $OUT/$1.ready

[policy default]
require_cert = yes
verify = $2
ca_file = $PKI/ca.pem
thumbprints = $PKI/allowed.txt
EOF
    if [ "${4:-}" = stats ]; then
        printf '\n[stats]\nlisten = 127.0.0.1:0\n' >>"$OUT/$1.ini"
    fi
}


declare -A ADDR PID
# start NAME COMMAND... - start a server on the agent CPU; it writes NAME.ready
start() {
    local name=$1
    shift
    rm -f "$OUT/$name.ready"
    # not through pin(): $! must be the server itself (taskset execs it)
    if [ -n "$BENCH_AGENT_CPU" ]; then
        taskset -c "$BENCH_AGENT_CPU" "$@" >"$OUT/$name.log" 2>&1 &
    else
        "$@" >"$OUT/$name.log" 2>&1 &
    fi
    PID[$name]=$!
    PIDS+=("$!")
    if ! wait_file "$OUT/$name.ready" "${PID[$name]}"; then
        echo "run.sh: $name did not start; see $OUT/$name.log" >&2
        tail -n 5 "$OUT/$name.log" >&2
        exit 2
    fi
    ADDR[$name]=$(head -n 1 "$OUT/$name.ready")
}

cpu_ticks() { awk '{ print $14 + $15 }' "/proc/$1/stat"; }
# time the process's threads spent runnable but waiting for a CPU, in ns
# (/proc/PID/task/*/schedstat, 2nd field): how much the machine's other
# load got in the way
wait_ns() { cat /proc/"$1"/task/*/schedstat 2>/dev/null | awk '{ t += $2 } END { printf "%.0f", t }'; }
rss_kb() { awk '/^VmRSS:/ { print $2 }' "/proc/$1/status"; }
HZ=$(getconf CLK_TCK)

# perf with syscall tracepoints: the agent's internal latency (agent-latency.sh)
PERF_OK=0
if command -v perf >/dev/null &&
    perf record -q -e syscalls:sys_enter_sendto -o /dev/null -- true >/dev/null 2>&1; then
    PERF_OK=1
fi

if [ "$MODE" = fleet ]; then
    agent_ini miss haproxy "$COLD_CACHE" stats
    agent_ini fit haproxy "$NCERTS" stats
    agent_ini hit haproxy "$HIT_CACHE" stats
    start miss "$CERTSPOA_BIN" -f "$OUT/miss.ini"
    start fit "$CERTSPOA_BIN" -f "$OUT/fit.ini"
    start hit "$CERTSPOA_BIN" -f "$OUT/hit.ini"
else
    agent_ini warm haproxy 4096
    agent_ini cold haproxy "$COLD_CACHE"
    agent_ini cold-agent agent "$COLD_CACHE"
    start warm "$CERTSPOA_BIN" -f "$OUT/warm.ini"
    IDLE_RSS=$(rss_kb "${PID[warm]}")
    start cold "$CERTSPOA_BIN" -f "$OUT/cold.ini"
    start cold-agent "$CERTSPOA_BIN" -f "$OUT/cold-agent.ini"
    start floor "$FLOOR" -r "$OUT/floor.ready" --sha256 "$LEAF0_SHA"
fi

# ------------------------------------------------------------------ runs

# run SCENARIO SERVER ROUND [spop-bench args...] - one measured run; appends
# "scenario round key=value..." to $RAW
run() {
    local scen=$1 server=$2 round=$3 pid t0 t1 w0 w1 line acked cpu_us lat="" latpid=""
    shift 3
    pid=${PID[$server]}
    # at half load, also the agent's internal time per message (perf)
    if [ "$scen" = warm@50% ] || [ "$scen" = reload ]; then
        if [ "$PERF_OK" = 1 ]; then
            "$TOP/tests/bench/agent-latency.sh" "$pid" "$SECS" >"$OUT/latency.txt" 2>&1 &
            latpid=$!
        fi
    fi
    # reload: SIGHUP in the middle of the measured time (the 100k list,
    # the CA store and the policy are loaded again, generation + 1)
    if [ "$scen" = reload ]; then
        (sleep "$(awk -v w="$WARMUP" -v s="$SECS" 'BEGIN { print w + s / 2 }')"; kill -HUP "$pid") &
    fi
    t0=$(cpu_ticks "$pid")
    w0=$(wait_ns "$pid")
    line=$(pin "$BENCH_LOAD_CPU" "$SPOP_BENCH" -q -a "${ADDR[$server]}" -c "$CONNS" -p "$PIPE" \
        -w "$WARMUP" --cert "$PKI/leaves.der" --chain "$PKI/chain.der" --expect allow "$@" \
        2>>"$OUT/spop-bench.err" | grep '^result:')
    t1=$(cpu_ticks "$pid")
    w1=$(wait_ns "$pid")
    if [ -n "$latpid" ]; then
        wait "$latpid"
        lat=$(sed -n 's/^agent_latency: //p' "$OUT/latency.txt" | awk '{
            for (i = 1; i <= NF; i++) { split($i, kv, "="); if (kv[1] ~ /^p|^max/) printf " agent_%s_us=%s", kv[1] == "p99.9" ? "p999" : kv[1], kv[2] } }')
    fi
    if [ -z "$line" ]; then
        echo "run.sh: spop-bench printed no result for $scen (see $OUT/spop-bench.err)" >&2
        ERRORS=$((ERRORS + 1))
        return
    fi
    acked=$(sed -n 's/.* acked=\([0-9]*\).*/\1/p' <<<"$line")
    cpu_us=$(awk -v d=$((t1 - t0)) -v hz="$HZ" -v n="$acked" \
        'BEGIN { printf "%.3f", n ? d / hz * 1e6 / n : 0 }')
    echo "$scen $round ${line#result: } cpu_us=$cpu_us agent_wait_ms=$(((w1 - w0) / 1000000)) rss_kb=$(rss_kb "$pid")$lat" >>"$RAW"
    if ! grep -q ' errors=0' <<<"$line"; then
        echo "run.sh: $scen round $round reported errors: $line" >&2
        ERRORS=$((ERRORS + 1))
    fi
}

# field SCENARIO KEY [ROUND] - values of KEY for SCENARIO (one round or all)
field() {
    awk -v s="$1" -v k="$2" -v r="${3:-}" '
        $1 == s && (r == "" || $2 == r) {
            for (i = 3; i <= NF; i++) { split($i, kv, "="); if (kv[1] == k) print kv[2] } }' "$RAW"
}
median() { sort -g | awk '{ v[NR] = $1 } END { if (NR) print (NR % 2 ? v[(NR + 1) / 2] : (v[NR / 2] + v[NR / 2 + 1]) / 2); else print 0 }'; }
med() { field "$1" "$2" | median; }

if [ "$MODE" = fleet ]; then
    say "== certspoa agent alone, a fleet of $NCERTS distinct EC P-256 client certificates cycling: $ROUNDS round(s) x ${SECS} s per run, interleaved =="
elif [ "$MODE" = long ]; then
    say "== certspoa agent-alone long run: $LONG_N messages (warm), then ${LONG_COLD} s of cache misses (cold) =="
else
    say "== certspoa agent-alone benchmark ($MODE): $ROUNDS round(s) x ${SECS} s per run, interleaved =="
fi
say "machine: $(nproc) CPUs, $(awk -F': ' '/^model name/ { print $2; exit }' /proc/cpuinfo), $(uname -r)"
if [ -n "$BENCH_AGENT_CPU" ]; then
    say "pinning: agents on cpu$BENCH_AGENT_CPU, spop-bench on cpu$BENCH_LOAD_CPU (taskset)"
else
    say "pinning: none"
fi
say "load: $CONNS connections x $PIPE frames in flight, ${WARMUP} s warm-up; load average before: $(cut -d' ' -f1-3 /proc/loadavg)"
say "agent: $CERTSPOA_BIN ($("$CERTSPOA_BIN" --version 2>/dev/null | head -n 1)), 1 worker thread, 100k-line thumbprint list"
say ""

if [ "$MODE" = fleet ]; then
    # cache_counts NAME - "hits misses" from the agent's /metrics
    cache_counts() {
        local url
        url=$(sed -n 's|.*stats on \(http://[^ ]*/\).*|\1|p' "$OUT/$1.log" | head -n 1)
        curl -s --max-time 5 "${url}metrics" | awk '
            $1 == "certspoa_cache_hits_total" { h = $2 } $1 == "certspoa_cache_misses_total" { m = $2 }
            END { printf "%d %d\n", h, m }'
    }
    say "miss: cache_size $COLD_CACHE (< $NCERTS); fit: cache_size $NCERTS; hit: cache_size $HIT_CACHE; fit and hit warmed by one unmeasured pass"
    say "certificates: $(wc -c <"$PKI/leaves.der" | awk -v n="$NCERTS" '{ printf "%d", $1 / n }') bytes of DER on average, with their intermediate as 'chain'; verify = haproxy"
    for a in fit hit; do
        pin "$BENCH_LOAD_CPU" "$SPOP_BENCH" -q -a "${ADDR[$a]}" -c "$CONNS" -p "$PIPE" -n $((NCERTS * 2)) \
            -k "$NCERTS" --cert "$PKI/leaves.der" --chain "$PKI/chain.der" --expect allow >/dev/null 2>>"$OUT/spop-bench.err" ||
            { echo "run.sh: warming the $a agent failed (see $OUT/spop-bench.err)" >&2; exit 1; }
    done
    for round in $(seq 1 "$ROUNDS"); do
        order="miss hit fit"
        [ $((round % 2)) = 0 ] && order="fit hit miss"
        say "round $round/$ROUNDS: $order ..."
        for a in $order; do
            read -r h0 m0 < <(cache_counts "$a")
            run "$a" "$a" "$round" -d "$SECS" -k "$NCERTS"
            read -r h1 m1 < <(cache_counts "$a")
            # the hit rate of this run (warm-up included), appended to its line
            sed -i "\$s/\$/ hit_pct=$(awk -v h=$((h1 - h0)) -v m=$((m1 - m0)) 'BEGIN { printf "%.1f", h + m ? h * 100 / (h + m) : 0 }')/" "$RAW"
        done
    done
    say ""
    say "medians of $ROUNDS round(s), agent CPU per message (/proc/PID/stat):"
    printf '  %-6s %10s %11s %9s %9s %10s  %s\n' agent "msg/s" "cpu us/msg" "p50 us" "p99 us" "cache hit" "cpu us/msg per round"
    for a in miss hit fit; do
        printf '  %-6s %10.0f %11.2f %9.1f %9.1f %9.1f%%  %s\n' "$a" "$(med "$a" rate)" "$(med "$a" cpu_us)" \
            "$(med "$a" p50_us)" "$(med "$a" p99_us)" "$(med "$a" hit_pct)" "$(field "$a" cpu_us | paste -sd/)"
    done
    say ""
    say "what caching the parsed facts by DER hash saves: miss / hit CPU per message = $(awk -v m="$(med miss cpu_us)" -v h="$(med hit cpu_us)" 'BEGIN { printf "%.2fx (%.2f us per miss, %.2f us of it saved)", h ? m / h : 0, m, m - h }')"
    say "raw results: $RAW"
    [ "$ERRORS" -gt 0 ] && { say "bench: $ERRORS run(s) had errors"; exit 1; }
    say "bench: done ($MODE), no errors"
    exit 0
fi

if [ "$MODE" = long ]; then
    sample_rss() {   # sample_rss PID FILE - one VmRSS (kB) per second until killed
        while kill -0 "$1" 2>/dev/null; do rss_kb "$1" >>"$2"; sleep 1; done
    }
    for spec in "warm:-n $LONG_N -k 1" "cold:-d $LONG_COLD -k $NCERTS"; do
        name=${spec%%:*}
        args=${spec#*:}
        pid=${PID[$name]}
        : >"$OUT/rss-$name.txt"
        sample_rss "$pid" "$OUT/rss-$name.txt" &
        sampler=$!
        before=$(rss_kb "$pid")
        # shellcheck disable=SC2086
        run "long-$name" "$name" 1 $args
        kill "$sampler" 2>/dev/null
        wait "$sampler" 2>/dev/null
        after=$(rss_kb "$pid")
        awk -v n="$name" -v b="$before" -v a="$after" -v f="$OUT/rss-$name.txt" '
            { v[NR] = $1 } END {
                tenth = v[int(NR / 10) + 1]; max = 0
                for (i = 1; i <= NR; i++) if (v[i] > max) max = v[i]
                printf "%-5s RSS kB: before %d, at 10%% of the run %d, max %d, after %d; growth after the first 10%%: %.1f%% (%d samples in %s)\n",
                    n, b, tenth, max, a, tenth ? (a - tenth) * 100 / tenth : 0, NR, f }' "$OUT/rss-$name.txt"
    done
    say ""
    say "raw results:"
    sed 's/^/  /' "$RAW"
    exit $((ERRORS > 0))
fi

for round in $(seq 1 "$ROUNDS"); do
    say "round $round/$ROUNDS: floor, warm, warm@50%, reload, cold, cold-agent ..."
    run floor floor "$round" -d "$SECS" -k 1
    run warm warm "$round" -d "$SECS" -k 1
    half=$(field warm rate "$round" | awk '{ printf "%d", $1 / 2 }')
    if [ "${half:-0}" -gt 0 ]; then
        run warm@50% warm "$round" -d "$SECS" -k 1 -r "$half"
        run reload warm "$round" -d "$SECS" -k 1 -r "$half"
    fi
    run cold cold "$round" -d "$SECS" -k "$NCERTS"
    run cold-agent cold-agent "$round" -d "$SECS" -k "$NCERTS"
done
END_RSS=$(rss_kb "${PID[warm]}")
COLD_RSS=$(rss_kb "${PID[cold]}")

say ""
say "micro-benchmarks (pinned like the agents):"
MICRO_OUT=$(pin "$BENCH_AGENT_CPU" "$MICRO" "${MICRO_ARGS[@]}") || { ERRORS=$((ERRORS + 1)); MICRO_OUT=""; }
printf '%s\n' "$MICRO_OUT" | grep -v '^result:' | sed 's/^/  /'
mres() { printf '%s\n' "$MICRO_OUT" | sed -n "s/^result:.* $1=\([0-9.]*\).*/\1/p"; }

say ""
say "agent alone, medians of $ROUNDS round(s) (latency from the intended send time):"
printf '  %-11s %10s %11s %9s %9s %9s %9s %9s %7s\n' scenario "msg/s" "cpu us/msg" "p50 us" "p99 us" "p99.9 us" "max us" "wait ms" errors
for s in floor warm warm@50% reload cold cold-agent; do
    [ -n "$(field "$s" rate)" ] || continue
    printf '  %-11s %10.0f %11.2f %9.1f %9.1f %9.1f %9.1f %9.0f %7d\n' "$s" \
        "$(med "$s" rate)" "$(med "$s" cpu_us)" "$(med "$s" p50_us)" "$(med "$s" p99_us)" \
        "$(med "$s" p999_us)" "$(med "$s" max_us)" "$(med "$s" agent_wait_ms)" \
        "$(field "$s" errors | awk '{ t += $1 } END { print t + 0 }')"
done
say "  wait ms: time the agent was runnable but had no CPU (other load on the machine)"
say "  per round, msg/s: $(for s in floor warm cold cold-agent; do printf '%s=%s ' "$s" "$(field "$s" rate | paste -sd/)"; done)"
say "  per round, cpu us/msg: $(for s in floor warm cold cold-agent; do printf '%s=%s ' "$s" "$(field "$s" cpu_us | paste -sd/)"; done)"

# verdict LABEL VALUE OP LIMIT - "met" / "missed" line (no exit status)
verdict() {
    awk -v l="$1" -v v="$2" -v op="$3" -v lim="$4" -v u="${5:-}" 'BEGIN {
        ok = (op == ">=") ? v >= lim : v <= lim
        printf "  %-66s %10s%-3s %s\n", l " (" op " " lim u ")", v, u, ok ? "met" : "MISSED" }'
}
W=$(med warm rate)
F=$(med floor rate)
WC=$(med warm cpu_us)
FC=$(med floor cpu_us)
say ""
say "targets (issue 5), on this run:"
verdict "warm msg/s, one worker thread" "$W" ">=" 400000
verdict "warm CPU per message" "$WC" "<=" 2.5 " us"
verdict "warm / floor throughput, same run" "$(awk -v a="$W" -v b="$F" 'BEGIN { printf "%.2f", b ? a / b : 0 }')" ">=" 0.8
say "  (floor / warm CPU per message: $(awk -v a="$WC" -v b="$FC" 'BEGIN { printf "%.2f", a ? b / a : 0 }'); floor $FC us, warm $WC us)"
if [ -n "$(field warm@50% agent_p99_us)" ]; then
    verdict "agent-internal p99 at half of peak (perf: read -> write)" "$(med warm@50% agent_p99_us)" "<=" 50 " us"
    say "  (agent-internal at half of peak, medians: p50 $(med warm@50% agent_p50_us) us, p90 $(med warm@50% agent_p90_us) us, p99.9 $(med warm@50% agent_p999_us) us;"
    say "   round trip seen by spop-bench, from the intended send time: p50 $(med warm@50% p50_us) us, p99 $(med warm@50% p99_us) us)"
else
    verdict "p99 at half of peak (round trip, upper bound of agent time)" "$(med warm@50% p99_us)" "<=" 50 " us"
fi
REF=$(mres parse_verify_ref)
RATIO=$(mres ratio_cold_agent_ref)
if [ -n "$RATIO" ]; then
    verdict "cache miss verify=agent / (parse + X509_verify_cert), micro" "$RATIO" "<=" 1.15
fi
if [ -n "$REF" ]; then
    verdict "cold-agent agent CPU per message / the same reference" \
        "$(awk -v a="$(med cold-agent cpu_us)" -v b="$REF" 'BEGIN { printf "%.2f", b ? a * 1000 / b : 0 }')" "<=" 1.15
fi
if [ -n "$(field reload agent_max_us)" ]; then
    verdict "longest agent-internal wait, reload ($LIST-line list) under load" \
        "$(field reload agent_max_us | sort -g | tail -n 1)" "<=" 5000 " us"
    say "  (worst of $ROUNDS rounds; per round with a reload: $(field reload agent_max_us | paste -sd/) us,"
    say "   at half load without one: $(field warm@50% agent_max_us | paste -sd/) us; round trip max with a reload"
    say "   $(field reload max_us | paste -sd/) us, without $(field warm@50% max_us | paste -sd/) us)"
fi
verdict "idle RSS, $LIST-line list and CA store loaded" "$(awk -v k="$IDLE_RSS" 'BEGIN { printf "%.1f", k / 1024 }')" "<=" 10 " MB"
say "  RSS after the runs: warm agent $((END_RSS / 1024)) MB, cold agent ($COLD_CACHE-entry cache full) $((COLD_RSS / 1024)) MB"
CE=$(mres cache_entry_bytes)
[ -n "$CE" ] && verdict "bytes per cache entry (sizeof struct cache_entry)" "$CE" "<=" 64
say ""
say "raw results: $RAW"
if [ "$ERRORS" -gt 0 ]; then
    say "bench: $ERRORS run(s) had errors"
    exit 1
fi
say "bench: done ($MODE), no errors"
