#!/usr/bin/env bash
# shellcheck disable=SC2154 # the V_* values are assigned by py_values (faultlib.sh) from the Python tools' output
# valgrind.sh - memcheck on the unit test runner and on the agent during a
# short integration-style run (HAProxy traffic with every kind of client,
# then the raw protocol abuse cases, then SIGTERM).
#
#   tests/fault/valgrind.sh           (or: make valgrind)
#   UNIT_BIN=build/tests/unit/run-unit CERTSPOA_BIN=./certspoa HAPROXY=... tests/fault/valgrind.sh
#
# Both must end with zero memcheck errors and zero definitely or indirectly
# lost bytes (valgrind --errors-for-leak-kinds=definite,indirect
# --error-exitcode=99). Use a build without sanitizers. Ends with exactly
# one line "valgrind: N passed, N failed".
set -u
. "$(dirname "$0")/../integration/lib.sh"
. "$(dirname "$0")/faultlib.sh"
set +u      # V_* values from the Python tools may be missing (see run.sh)

UNIT_BIN=${UNIT_BIN:-$TOP/build/tests/unit/run-unit}
# shellcheck disable=SC2054 # the commas are in one option's value
VG=(valgrind --leak-check=full --errors-for-leak-kinds=definite,indirect
    --error-exitcode=99 --track-fds=no --num-callers=30)
T_START=$SECONDS

workdir valgrind
note "valgrind: $(valgrind --version 2>&1)"
note "agent:    $CERTSPOA_BIN"
note "unit:     $UNIT_BIN"
note "haproxy:  $("${HAPROXY_CMD[@]}" -v 2>/dev/null | head -n 1)"
note "work:     $WORK"

if ! command -v valgrind >/dev/null; then
    fail "valgrind is installed (Debian: valgrind)"
    finish valgrind
    exit
fi
if sanitized; then
    fail "the agent is built without sanitizers ($CERTSPOA_BIN)" "valgrind and ASan do not mix"
    finish valgrind
    exit
fi

# memcheck_clean LOG - valgrind's own summary: no error, nothing definitely
# or indirectly lost.
memcheck_clean() {
    local log=$1 errs def ind
    errs=$(sed -n 's/.*ERROR SUMMARY: \([0-9,]*\) errors.*/\1/p' "$log" | tail -n 1 | tr -d ,)
    def=$(sed -n 's/.*definitely lost: \([0-9,]*\) bytes.*/\1/p' "$log" | tail -n 1 | tr -d ,)
    ind=$(sed -n 's/.*indirectly lost: \([0-9,]*\) bytes.*/\1/p' "$log" | tail -n 1 | tr -d ,)
    # "All heap blocks were freed" prints no leak lines
    [ -z "$def" ] && grep -q "All heap blocks were freed\|no leaks are possible" "$log" && def=0 && ind=0
    MC_SUMMARY="errors ${errs:-?}, definitely lost ${def:-?} B, indirectly lost ${ind:-?} B"
    if [ "${errs:-x}" = 0 ] && [ "${def:-x}" = 0 ] && [ "${ind:-x}" = 0 ]; then
        return 0
    fi
    WHY="$MC_SUMMARY; first report: $(grep -m1 -A6 -E '== (Invalid|Conditional|Use of|Syscall|Mismatched|Source and|.*definitely lost in|.*indirectly lost in)' "$log" | sed 's/^==[0-9]*== //' | tr '\n' ' ' | cut -c1-600)"
    return 1
}

# ------------------------------------------------------------ unit tests

note "unit tests under memcheck"
if [ -x "$UNIT_BIN" ]; then
    (cd "$TOP" && "${VG[@]}" --log-file="$WORK/unit.vg" "$UNIT_BIN" tests) >"$WORK/unit.out" 2>&1
    rc=$?
    note "$(grep -E '^unit: ' "$WORK/unit.out" | tail -n 1)"
    # Under memcheck everything runs 20-50x slower: the tests that wait on
    # a real socket or timer with a bound set for a normal run (the fetcher
    # against its scripted server, deferred OCSP answers) may miss it. Their
    # failures here are printed as FLAKY (.ci/run repeats them); any other
    # failing test fails this check. Memory errors are checked just below,
    # whatever the tests said.
    TIMING_ERE='^FAIL (fetch_|defer_)'
    unit_ok() {
        grep -qE '^unit: [0-9]+ passed, 0 failed' "$WORK/unit.out" && return 0
        grep -E '^FAIL [a-z0-9_]+ \(' "$WORK/unit.out" | grep -vqE "$TIMING_ERE" && return 1
        grep -E "$TIMING_ERE" "$WORK/unit.out" | sed 's/^/FLAKY (timing under valgrind): /'
        return 0
    }
    check "unit tests pass under valgrind (exit $rc)" unit_ok
    memcheck_clean "$WORK/unit.vg"
    note "memcheck (unit): $MC_SUMMARY"
    check "unit: exit status is not valgrind's error code 99 (got $rc)" ne "$rc" 99
    check "unit: memcheck clean ($MC_SUMMARY)" memcheck_clean "$WORK/unit.vg"
else
    fail "unit test runner built ($UNIT_BIN)" "make $UNIT_BIN"
fi

# ------------------------------------------------------------ the agent

note "the agent under memcheck: HAProxy traffic, protocol abuse, SIGTERM"
check "test PKI generated (pki.sh)" make_pki
{
    echo "# valgrind run: the allowed client and the chained one"
    cat "$PKI/allowed.sha256"
    cat "$PKI/chained.sha1"
} >"$WORK/allowed.txt"
# verify = both: HAProxy's result and the agent's own OpenSSL chain check.
agent_ini "$WORK/vg.ini" 127.0.0.1:0 "$WORK/vg.ready" both "$PKI/ca.pem" "$WORK/allowed.txt"
sed -i 's|^\[agent\]$|[agent]\nhello_timeout = 2s|' "$WORK/vg.ini"
if start_agent_with vg "$WORK/vg.ini" "$WORK/vg.ready" 60 \
    "${VG[@]}" --log-file="$WORK/agent.vg"; then
    pid=$AGENT_PID
    if start_haproxy haproxy-vg "$AGENT_ADDR"; then
        check "HAProxy sees the agent UP (health checks under valgrind)" wait_until 10 agent_is UP
        # every kind of client, for 10 s
        load_start vg "allowed:2,chained-full:1,notlisted:1,none:1,expired:1,untrusted:1,big:1"
        sleep 10
        load_stop
        py_values < <("${LOAD_PY[@]}" analyze --log "$LOAD_LOG" --allowed allowed,chained-full 2>&1)
        note "traffic: $V_requests requests in $V_seconds s: $V_by_cert_status"
        check "traffic: the listed clients got verdicts ($V_allowed_200 x 200)" ge "$V_allowed_200" 1
        check "traffic: the other clients were denied ($V_others_denied of $V_others)" eq "$V_others_denied" "$V_others"
        check "traffic: zero requests reached the backend without an allow" eq "$V_violations" 0
        stop_haproxy
    else
        fail "start haproxy" "$WHY"
    fi
    py_checks < <("${SPOP_PY[@]}" --addr "$AGENT_ADDR" --pid "$pid" \
        --allowed-der "$PKI/allowed.der" abuse --notlisted-der "$PKI/notlisted.der" \
        --hello-timeout 2 2>&1 | grep -v $'^CHECK\tok')
    note "abuse cases ran against the agent under valgrind (only failures are listed)"
    t0=$SECONDS
    rc=""
    kill -TERM "$pid"
    for _ in $(seq 1 600); do
        alive "$pid" || break
        sleep 0.1
    done
    if alive "$pid"; then
        kill -KILL "$pid"
        rc=timeout
    fi
    wait "$pid" 2>/dev/null
    wrc=$?
    [ "$rc" = timeout ] || rc=$wrc
    forget_pid "$pid"
    note "agent stopped $((SECONDS - t0)) s after SIGTERM, exit status $rc"
    check "agent: exit status 0 under valgrind (99 = memcheck errors; got $rc)" eq "$rc" 0
    memcheck_clean "$WORK/agent.vg"
    note "memcheck (agent): $MC_SUMMARY"
    check "agent: memcheck clean ($MC_SUMMARY)" memcheck_clean "$WORK/agent.vg"
else
    fail "agent starts under valgrind" "$WHY"
fi

note "valgrind suite took $((SECONDS - T_START)) s"
finish valgrind
