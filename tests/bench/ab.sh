#!/usr/bin/env bash
# ab.sh OLD_BIN NEW_BIN [ROUNDS] [SECONDS] - two builds of the agent side by
# side on the warm path (one certificate, cache hit, verify = haproxy,
# 100,000-line thumbprint list), rounds alternating which goes first, so
# that the machine's noise falls on both. Prints each round, then the median
# agent CPU per message (utime+stime from /proc) and msg/s of each, and the
# ratio NEW/OLD. Both agents run one worker thread pinned to cpu0, the load
# (tests/bench/spop-bench, 4 connections x 20 in flight) on cpu1.
#
#   make bench-tools && tests/bench/ab.sh /tmp/base/certspoa ./certspoa 9 3
#
# Environment: BENCH_TOOLS (default build/tests/bench), BENCH_AGENT_CPU (0),
# BENCH_LOAD_CPU (1). Work files in tests/out/bench-ab/.
set -uo pipefail

TOP=$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)
OLD=${1:?usage: ab.sh OLD_BIN NEW_BIN [ROUNDS] [SECONDS]}
NEW=${2:?usage: ab.sh OLD_BIN NEW_BIN [ROUNDS] [SECONDS]}
ROUNDS=${3:-9}
SECS=${4:-3}
TOOLS=${BENCH_TOOLS:-$TOP/build/tests/bench}
ACPU=${BENCH_AGENT_CPU:-0}
LCPU=${BENCH_LOAD_CPU:-1}
OUT=$TOP/tests/out/bench-ab
PKI=$OUT/pki
mkdir -p "$OUT"

pin() { local cpu=$1; shift; if [ -n "$cpu" ] && command -v taskset >/dev/null; then taskset -c "$cpu" "$@"; else "$@"; fi; }

[ -x "$TOOLS/spop-bench" ] || { echo "ab: no $TOOLS/spop-bench (make bench-tools)" >&2; exit 2; }
if [ ! -s "$PKI/leaves.der" ]; then
	pin "$LCPU" "$TOOLS/spop-bench" --gen-pki "$PKI" -k 64 --list-size 100000 --days 30 >/dev/null || exit 2
fi

pids=()
cleanup() { for p in "${pids[@]}"; do kill "$p" 2>/dev/null; done; wait 2>/dev/null; }
trap cleanup EXIT

# start NAME BIN: writes NAME.ini, starts the agent, sets PID_NAME and ADDR_NAME
start() {
	local n=$1 bin=$2
	cat >"$OUT/$n.ini" <<EOF
[agent]
listen = 127.0.0.1:0
threads = 1
cache_size = 4096
log_level = warn
log_decisions = none
ready_file = $OUT/$n.ready
[policy default]
require_cert = yes
verify = haproxy
thumbprints = $PKI/allowed.txt
EOF
	rm -f "$OUT/$n.ready"
	# not through pin(): $! must be the agent itself, not a subshell
	if [ -n "$ACPU" ] && command -v taskset >/dev/null; then
		taskset -c "$ACPU" "$bin" -f "$OUT/$n.ini" >"$OUT/$n.log" 2>&1 &
	else
		"$bin" -f "$OUT/$n.ini" >"$OUT/$n.log" 2>&1 &
	fi
	pids+=("$!")
	printf -v "PID_$n" '%s' "$!"
}
start old "$OLD"
start new "$NEW"
for _ in $(seq 100); do
	[ -s "$OUT/old.ready" ] && [ -s "$OUT/new.ready" ] && break
	sleep 0.1
done
if [ ! -s "$OUT/old.ready" ] || [ ! -s "$OUT/new.ready" ]; then
	echo "ab: an agent did not start (see $OUT/*.log)" >&2
	exit 2
fi
# read through indirection in one()
# shellcheck disable=SC2034
ADDR_old=$(head -n 1 "$OUT/old.ready")
# shellcheck disable=SC2034
ADDR_new=$(head -n 1 "$OUT/new.ready")
HZ=$(getconf CLK_TCK)

# one NAME: prints "NAME cpu_us_per_msg msg_per_s"
one() {
	local n=$1 pid addr t0 t1 line acked rate
	pid=PID_$n addr=ADDR_$n
	t0=$(awk '{print $14 + $15}' "/proc/${!pid}/stat")
	line=$(pin "$LCPU" "$TOOLS/spop-bench" -q -a "${!addr}" -c 4 -p 20 -w 0.5 \
	       --cert "$PKI/leaves.der" --chain "$PKI/chain.der" --expect allow -d "$SECS" -k 1 2>/dev/null |
	       grep '^result:')
	t1=$(awk '{print $14 + $15}' "/proc/${!pid}/stat")
	acked=$(sed -n 's/.* acked=\([0-9]*\).*/\1/p' <<<"$line")
	rate=$(sed -n 's/.* rate=\([0-9.]*\).*/\1/p' <<<"$line")
	awk -v n="$n" -v d=$((t1 - t0)) -v hz="$HZ" -v a="${acked:-0}" -v r="${rate:-0}" \
	    'BEGIN { printf "%s %.3f %.0f\n", n, a ? d / hz * 1e6 / a : 0, r }'
}

for r in $(seq "$ROUNDS"); do
	if [ $((r % 2)) -eq 1 ]; then one old; one new; else one new; one old; fi
done | tee "$OUT/raw.txt"

med() { sort -g | awk '{ v[NR] = $1 } END { if (NR) print (NR % 2 ? v[(NR + 1) / 2] : (v[NR / 2] + v[NR / 2 + 1]) / 2) }'; }
co=$(awk '$1 == "old" { print $2 }' "$OUT/raw.txt" | med)
cn=$(awk '$1 == "new" { print $2 }' "$OUT/raw.txt" | med)
ro=$(awk '$1 == "old" { print $3 }' "$OUT/raw.txt" | med)
rn=$(awk '$1 == "new" { print $3 }' "$OUT/raw.txt" | med)
echo "old $OLD: median $co us CPU/msg, $ro msg/s"
echo "new $NEW: median $cn us CPU/msg, $rn msg/s"
awk -v a="$co" -v b="$cn" 'BEGIN { if (a > 0) printf "new/old CPU per message: %.3f\n", b / a }'
