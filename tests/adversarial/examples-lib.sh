# shellcheck shell=bash
# shellcheck disable=SC2034 # sets variables (ports, PIDs, results) that the scripts sourcing it read
# examples-lib.sh - helpers for the HAProxy-level tests of the shipped example
# configurations (t-headers.sh, t-shadow.sh, t-perconn.sh, t-stats.sh,
# t-visibility.sh).
# Source it after nothing else: it sources tests/integration/lib.sh.
#
#   CERTSPOA_EXAMPLES  the haproxy-examples directory under test (default:
#                      this checkout's). Point it at another tree, with
#                      CERTSPOA_BIN, to run the same tests against older
#                      examples and agent.
#   HAPROXY            as in lib.sh (e.g. "tests/versions/haproxy.sh 3.2")
. "$(cd "$(dirname "${BASH_SOURCE[0]}")/../integration" && pwd)/lib.sh"

EXAMPLES=${CERTSPOA_EXAMPLES:-$TOP/haproxy-examples}
EXAMPLE=$EXAMPLES/mtls-api            # agent_ini reads $EXAMPLE/certspoa.ini

# The test-only answer of the stand-in application: what it received. Put
# in front of the example's own "http-request return" in frontend app-echo,
# so the same echo runs on any version of the example.
TEST_ECHO='    http-request return status 200 content-type text/plain lf-string "backend saw:\nclient-cert-count: %[req.fhdr_cnt(client-cert)]\nclient-cert: %[req.fhdr(client-cert)]\nx-client-identity-count: %[req.fhdr_cnt(x-client-identity)]\nx-client-identity: %[req.fhdr(x-client-identity)]\nx-client-cert-days-left: %[req.fhdr(x-client-cert-days-left)]\nheader-names: %[req.hdr_names]\n"'

# test_cfg SRC OUT - a copy of the example SRC with TEST_ECHO in its app-echo.
test_cfg() {
    TEST_ECHO=$TEST_ECHO awk '
        /^frontend app-echo/ { in_app = 1 }
        in_app && !done && /^    http-request return status 200/ { print ENVIRON["TEST_ECHO"]; done = 1 }
        { print }
        END { exit done ? 0 : 1 }' "$1" >"$2"
}

# start_example NAME CFG AGENT_ADDR SPOE_CONF - HAProxy in the foreground on
# CFG (an mtls-api-like example: CERTSPOA_* environment), fresh ports, this
# run's PKI; logs in $WORK/NAME.log. Sets HAP_PID HTTPS_PORT APP_PORT STATS_PORT
# (with KEEP_PORTS=1: uses the ones already set, one attempt; t-reuse.sh
# tells the agent the runtime API's port before HAProxy starts).
start_example() {
    local name=$1 cfg=$2 agent=$3 spoe=$4
    for _ in 1 2 3; do
        if [ "${KEEP_PORTS:-}" != 1 ]; then
            # shellcheck disable=SC2015 # C runs when A or B fails, as meant
            free_port HTTPS_PORT && free_port APP_PORT && free_port STATS_PORT ||
                { WHY="no free port"; return 1; }
        fi
        echo "=== start $(date +%T.%3N) https=$HTTPS_PORT app=$APP_PORT stats=$STATS_PORT" >>"$WORK/$name.log"
        CERTSPOA_HTTPS_BIND=127.0.0.1:$HTTPS_PORT \
        CERTSPOA_APP_BIND=127.0.0.1:$APP_PORT \
        CERTSPOA_STATS_SOCKET=ipv4@127.0.0.1:$STATS_PORT \
        CERTSPOA_AGENT_ADDR=$agent \
        CERTSPOA_SERVER_PEM=$PKI/server.pem \
        CERTSPOA_CLIENT_CA=$PKI/ca.pem \
        CERTSPOA_SPOE_CONF=$spoe \
            "${HAPROXY_CMD[@]}" -db -f "$cfg" >>"$WORK/$name.log" 2>&1 &
        HAP_PID=$!
        CHILD_PIDS+=("$HAP_PID")
        # the agent must be UP too (health checks), or the first request is a 503
        if wait_until 10 haproxy_up && wait_until 5 agent_is UP; then
            return 0
        fi
        stop_pid "$HAP_PID"
        [ "${KEEP_PORTS:-}" = 1 ] && break
        grep -q "cannot bind\|Address already in use" "$WORK/$name.log" || break
    done
    WHY="haproxy did not start: $(grep -E 'ALERT|error' "$WORK/$name.log" | tail -n 3 | tr '\n' ' ')"
    return 1
}

# names_hasnt_any NAME... - the echo's header-names line holds none of NAME
# (case-insensitive, whole names).
names_hasnt_any() {
    local names n bad=""
    names=",$(backend_saw header-names | tr 'A-Z' 'a-z'),"
    has "$BODY" "header-names:" || return 1
    for n in "$@"; do
        n=$(printf '%s' "$n" | tr 'A-Z' 'a-z')
        case $names in *",$n,"*) bad="$bad $n" ;; esac
    done
    [ -z "$bad" ] && return 0
    WHY="the application received:$bad (all headers: $(backend_saw header-names))"
    return 1
}

# selfsigned NAME - a self-signed client certificate $PKI/NAME.crt/.key.
selfsigned() {
    openssl req -x509 -newkey rsa:2048 -nodes -days 2 -subj "/CN=$1.selfsigned.test" \
        -addext "subjectAltName=DNS:$1.selfsigned.test" \
        -keyout "$PKI/$1.key" -out "$PKI/$1.crt" >>"$WORK/pki.log" 2>&1
}
