# shellcheck shell=bash
# shellcheck disable=SC2034 # sets variables (ports, PIDs, results) that the scripts sourcing it read
# faultlib.sh - helpers for the fault tests, on top of
# tests/integration/lib.sh (source that first). Source it:
#
#   . tests/integration/lib.sh
#   . tests/fault/faultlib.sh
#
# Environment (besides lib.sh's HAPROXY, CERTSPOA_BIN, KEEP_OUT):
#   PYTHON   python3 interpreter for the raw SPOP client and the load driver

FAULT_DIR=$TOP/tests/fault
PYTHON=${PYTHON:-python3}
SPOP_PY=("$PYTHON" "$FAULT_DIR/spop.py")
LOAD_PY=("$PYTHON" "$FAULT_DIR/load.py")

# fault_ini OUT LISTEN READY [KEY=VALUE...] - an agent config: the example's
# certspoa.ini (as agent_ini writes it: verify = haproxy, the run's
# thumbprint list) with [agent] keys set to the given values.
fault_ini() {
    local out=$1 listen=$2 ready=$3 kvs k v
    shift 3
    agent_ini "$out" "$listen" "$ready" haproxy "$PKI/ca.pem" "$WORK/allowed.txt" || return 1
    # every request decided: the outage checks want 503 on every request
    # (a reused verdict outlives an outage by up to max_age: t-reuse.sh 6)
    sed -i 's/^\[policy default\]$/&\nreuse_max_age = 0/' "$out"
    for kvs in "$@"; do
        k=${kvs%%=*}
        v=${kvs#*=}
        sed -i "/^$k = /d; /^; $k = /d" "$out"
        sed -i "s|^\[agent\]\$|[agent]\n$k = $v|" "$out"
        grep -q "^$k = $v\$" "$out" || { WHY="cannot set $k in $out"; return 1; }
    done
}

# py_checks - read spop.py / load.py output on stdin: CHECK lines are
# counted like lib.sh's check, NOTE lines printed, VALUE lines stored as
# V_<key> and printed. Call as: py_checks < <(command).
py_checks() {
    local tag a b c ended=0
    while IFS=$'\t' read -r tag a b c; do
        case $tag in
            END) ended=1 ;;
            CHECK)
                if [ "$a" = ok ]; then
                    check "$b" true
                else
                    check "$b" why_fail "$c"
                fi ;;
            NOTE) note "$a" ;;
            VALUE)
                printf -v "V_$a" '%s' "$b"
                note "  $a = $b" ;;
            '') ;;
            *) note "(client) $tag $a $b $c" ;;
        esac
    done
    [ "$ended" = 1 ] || fail "the python client ran to its end" "it stopped early: see its output above"
}
why_fail() { WHY=$1; return 1; }

# py_values - like py_checks for VALUE lines only, without printing them.
# Both count a failure when the tool did not print its END line (it died).
py_values() {
    local tag a b ended=0
    while IFS=$'\t' read -r tag a b; do
        case $tag in
            VALUE) printf -v "V_$a" '%s' "$b" ;;
            END) ended=1 ;;
            *) note "(client) $tag $a $b" ;;
        esac
    done
    [ "$ended" = 1 ] || fail "the python analysis ran to its end" "it stopped early: see its output above"
}

# rss_kb PID - resident set size in KiB (-1 if the process is gone).
rss_kb() {
    awk '/^VmRSS:/ { print $2; found = 1 } END { if (!found) print -1 }' "/proc/$1/status" 2>/dev/null ||
        echo -1
}

alive() { kill -0 "$1" 2>/dev/null && ! grep -q '^State:.*Z' "/proc/$1/status" 2>/dev/null; }

# le A B / ge A B - numeric comparisons for check, with WHY.
le() { [ "$1" -le "$2" ] 2>/dev/null && return 0; WHY="$1 > $2"; return 1; }
ge() { [ "$1" -ge "$2" ] 2>/dev/null && return 0; WHY="$1 < $2"; return 1; }

# sanitized - the agent binary was built with AddressSanitizer (RSS numbers
# then include its shadow memory and quarantine, and mean nothing).
sanitized() {
    ldd "$CERTSPOA_BIN" 2>/dev/null | grep -q 'libasan' ||
        grep -q '__asan_init' "$CERTSPOA_BIN" 2>/dev/null
}

# reload_haproxy NAME - soft reload: a new HAProxy on the same ports and
# configuration, started with -sf OLD_PID (the old one stops listening and
# finishes its connections). HAP_PID becomes the new process; HAP_OLD_PIDS
# collects the old ones. Each process logs to its own NAME.rN.log: HAProxy
# makes its stdout non-blocking with F_SETFL, which drops O_APPEND, so two
# processes sharing one file overwrite each other's lines.
reload_haproxy() {
    local name=$1.r$((${#HAP_OLD_PIDS[@]} + 1)) old=$HAP_PID
    echo "=== reload $(date +%T.%3N) old=$old" >>"$WORK/$name.log"
    CERTSPOA_HTTPS_BIND=127.0.0.1:$HTTPS_PORT \
    CERTSPOA_APP_BIND=127.0.0.1:$APP_PORT \
    CERTSPOA_STATS_SOCKET=ipv4@127.0.0.1:$STATS_PORT \
    CERTSPOA_AGENT_ADDR=$HAP_AGENT \
    CERTSPOA_SERVER_PEM=$PKI/server.pem \
    CERTSPOA_CLIENT_CA=$PKI/ca.pem \
    CERTSPOA_SPOE_CONF=$SPOE_CONF \
        "${HAPROXY_CMD[@]}" -db -f "$EXAMPLE/haproxy.cfg" -sf "$old" >>"$WORK/$name.log" 2>&1 &
    HAP_PID=$!
    CHILD_PIDS+=("$HAP_PID")
    HAP_OLD_PIDS+=("$old")
    wait_until 10 haproxy_up
}

# stop_bg PID - wait for a background job we told to stop (5 s), else kill.
stop_bg() {
    local pid=$1 i
    for i in $(seq 1 50); do
        kill -0 "$pid" 2>/dev/null || break
        sleep 0.1
    done
    kill -KILL "$pid" 2>/dev/null
    wait "$pid" 2>/dev/null
    forget_pid "$pid"
}

# load_start NAME CLIENTS - load.py through HAProxy until load_stop.
load_start() {
    LOAD_LOG=$WORK/$1.load
    LOAD_STOP=$WORK/$1.stop
    rm -f "$LOAD_STOP"
    "${LOAD_PY[@]}" run --port "$HTTPS_PORT" --pki "$PKI" --out "$LOAD_LOG" \
        --clients "$2" --stop-file "$LOAD_STOP" --duration "${3:-300}" 2>>"$WORK/$1.load-err" &
    LOAD_PID=$!
    CHILD_PIDS+=("$LOAD_PID")
}

load_stop() {
    touch "$LOAD_STOP"
    stop_bg "$LOAD_PID"
}

# sanitizer_clean LOG... - no ASan/UBSan report in the agent's logs.
sanitizer_clean() {
    file_hasnt_any 'AddressSanitizer|LeakSanitizer|UndefinedBehaviorSanitizer|runtime error:' "$@"
}
