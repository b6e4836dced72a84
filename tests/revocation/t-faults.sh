#!/usr/bin/env bash
# once
# t-faults.sh - the fetcher's peers misbehave; the agent runs under
# valgrind (memcheck, --error-exitcode=99) and must stay up, count and
# report every failure per source, keep serving its stats, and exit 0 with
# no error and no definitely/indirectly lost byte. No HAProxy: run.sh runs
# it once.
#   404, an answer larger than fetch_max_size, a slowloris server past
#   fetch_timeout, a TCP reset, endless headers, garbage instead of a CRL,
#   https:// to a plain HTTP server (TLS error), a closed port.
set -u
TOP=$(cd "$(dirname "$0")/../.." && pwd)
. "$TOP/tests/integration/lib.sh"
. "$TOP/tests/revocation/lib.sh"
NAME=${SUITE_NAME:-rev-faults}

workdir revocation-faults
WWW=$WORK/www
mkdir -p "$WWW"
if ! command -v valgrind >/dev/null; then
    fail "valgrind is installed (Debian: valgrind)"
    finish "$NAME"
    exit 1
fi
if ! { free_port SRV_PORT && free_port AGENT_PORT && free_port AGENT_STATS_PORT && free_port CLOSED_PORT; }; then
    fail "free ports" "none"
    finish "$NAME"
    exit 1
fi
PKI=$WORK/pki
rev_pki "$PKI" "http://127.0.0.1:1/unused.crl"
cp "$PKI/crl/root.crl" "$WWW/root.crl"
crlsrv_start "$SRV_PORT"
B=http://127.0.0.1:$SRV_PORT
declare -A WANT=(
    ["$B/fault/404"]="HTTP status 404"
    ["$B/fault/big"]="answer larger than 100000 bytes"
    ["$B/fault/slow"]="imed out"
    ["$B/fault/reset"]="eset"
    ["$B/fault/endless"]="response headers larger than"
    ["$B/fault/garbage"]="neither a DER nor a PEM CRL"
    ["https://127.0.0.1:$SRV_PORT/root.crl"]="SSL"
    ["http://127.0.0.1:$CLOSED_PORT/root.crl"]="onnect"
)
printf '%s\n' "# the faults, then one good source" "${!WANT[@]}" "$B/root.crl" >"$WORK/crl-urls.txt"
INI=$WORK/agent.ini
rev_ini "$INI" "crl_urls = @$WORK/crl-urls.txt" "crl_refresh = 3s" "fetch_timeout = 3s" \
    "fetch_max_size = 100000"
AGENT_FLAGS='' REV_WAIT=60 rev_agent agent "$INI" valgrind --leak-check=full \
    --errors-for-leak-kinds=definite,indirect --error-exitcode=99 --track-fds=no --num-callers=30 \
    --log-file="$WORK/valgrind.log"
if ! check "agent starts under valgrind" test -s "$WORK/agent.ready"; then
    finish "$NAME"
    exit 1
fi
check "the good source is fetched (the CRL is held)" wait_until 40 source_has "$B/root.crl" has_crl true
# (the log, not the last error: under valgrind on a busy machine an
# attempt may also just time out)
logged() { grep -qF "fetching $1 failed: " "$WORK/agent.log" &&
           grep -F "fetching $1 failed: " "$WORK/agent.log" | grep -qF "$2"; }
for u in "${!WANT[@]}"; do
    check "$u: failed with '${WANT[$u]}'" wait_until 60 logged "$u" "${WANT[$u]}"
done
# a second round of every fault (the retries back off from 2 s)
sleep 6
for u in "${!WANT[@]}"; do
    n=$(source_field "$u" failures)
    check "$u: failed again (failures=$n >= 2)" test "${n:-0}" -ge 2
done
check "repeated failures logged loudly" wait_until 20 grep -q "failed 3 times in a row" "$WORK/agent.log"
check "stats still answer" test -n "$($CURL -s --max-time 5 "http://127.0.0.1:$AGENT_STATS_PORT/healthz")"
# (valgrind on a loaded machine: give the exit more than stop_agent's 5 s)
kill -TERM "$AGENT_PID" 2>/dev/null
wait_until 60 sh -c "! kill -0 $AGENT_PID 2>/dev/null"
stop_agent "$AGENT_PID"
check "agent exits 0 under valgrind (99 = memcheck errors; got $AGENT_RC)" eq "$AGENT_RC" 0
check "valgrind: no error" grep -q "ERROR SUMMARY: 0 errors" "$WORK/valgrind.log"
check "valgrind: definitely lost 0" grep -qE "definitely lost: 0 bytes|no leaks are possible" "$WORK/valgrind.log"
finish "$NAME"
