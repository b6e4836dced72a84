#!/usr/bin/env bash
# t-perconn.sh - mtls-per-connection: a connection's verdict has a maximum
# age (CERTSPOA_VERDICT_MAX_AGE), so a certificate removed from the list
# loses access on a connection that stays open and busy.
#
# One TLS connection (openssl s_client) sends a request every second. After
# the third, the certificate is removed from the thumbprint list and the
# agent reloaded. With CERTSPOA_VERDICT_MAX_AGE=3 the connection must get
# its first 403 within 3 s (+1.5 s of slack for the 1 s request spacing and
# date()'s whole seconds) - "timeout http-keep-alive" never ends this
# connection, since it is never idle. Then the same with the agent stopped:
# the expired verdict is not renewed and the connection gets 503 (fail
# closed). The agent is asked once per max age, not on every request.
#
#   tests/adversarial/t-perconn.sh
#   HAPROXY="tests/versions/haproxy.sh 3.2" tests/adversarial/t-perconn.sh
. "$(dirname "$0")/examples-lib.sh"

MAX_AGE=3
SLACK_MS=1500

workdir adv-perconn
make_pki || { fail "test PKI" "see $WORK/pki.log"; finish "${SUITE_NAME:-adv-perconn}"; exit; }
printf '%s\n' "$(cat "$PKI/allowed.sha256")" >"$WORK/allowed.txt"
agent_ini "$WORK/agent.ini" 127.0.0.1:0 "$WORK/agent.ready" haproxy "$PKI/ca.pem" "$WORK/allowed.txt" ||
    fail "agent config from the example"

# stream N OUT - one TLS connection with the allowed certificate, a request
# every second (N of them, then one with "Connection: close"); each
# response's status line goes to OUT with the time it arrived (ms).
stream() {
    local n=$1 out=$2 i
    {
        for i in $(seq 1 "$n"); do
            printf 'GET /r%d HTTP/1.1\r\nHost: localhost\r\n\r\n' "$i"
            sleep 1
        done
        printf 'GET /last HTTP/1.1\r\nHost: localhost\r\nConnection: close\r\n\r\n'
    } | timeout $((n + 10)) openssl s_client -connect "127.0.0.1:$HTTPS_PORT" -servername localhost \
            -CAfile "$PKI/ca.pem" -cert "$PKI/allowed.crt" -key "$PKI/allowed.key" -quiet 2>>"$WORK/s_client.log" |
        while IFS= read -r line; do
            # a JSON error body has no final newline: a status line may
            # follow it on the same line
            while [[ $line =~ HTTP/1\.1\ ([0-9]{3}) ]]; do
                printf '%s HTTP/1.1 %s\n' "$(now_ms)" "${BASH_REMATCH[1]}"
                line=${line#*"${BASH_REMATCH[0]}"}
            done
        done >"$out"
}

# first_after OUT T STATUS - ms from T to the first STATUS in OUT (empty: none)
first_after() {
    awk -v t="$2" -v s="$3" '$1 >= t && $3 == s { print $1 - t; exit }' "$1"
}
lines_ge() {   # lines_ge FILE N
    [ -f "$1" ] && [ "$(wc -l <"$1")" -ge "$2" ]
}
within() {   # within MS LIMIT
    [ -n "$1" ] && [ "$1" -le "$2" ] && return 0
    WHY="${1:-never} ms, limit $2 ms"
    return 1
}

if start_agent agent "$WORK/agent.ini" "$WORK/agent.ready" &&
   test_cfg "$EXAMPLES/mtls-per-connection/haproxy.cfg" "$WORK/pc.cfg"; then
    export CERTSPOA_VERDICT_MAX_AGE=$MAX_AGE
    if start_example haproxy "$WORK/pc.cfg" "$AGENT_ADDR" \
           "$EXAMPLES/mtls-per-connection/certspoa-per-connection.conf"; then
        # 1. removal + reload while the connection is busy
        stream 12 "$WORK/revoke.txt" &
        spid=$!
        wait_until 10 lines_ge "$WORK/revoke.txt" 3
        # nobody (an allow list with no entry is a config error: one
        # entry that matches no certificate)
        printf '%064d   # nobody\n' 0 >"$WORK/allowed.txt"
        t_reload=$(now_ms)
        kill -HUP "$AGENT_PID"
        wait "$spid"
        note "statuses: $(awk '{ print $3 }' "$WORK/revoke.txt" | tr '\n' ' ')"
        check "revocation: the connection's first requests -> 200" \
            eq "$(head -n 3 "$WORK/revoke.txt" | awk '{ print $3 }' | tr '\n' ' ')" "200 200 200 "
        check "revocation: reload logged by the agent" file_has "$WORK/agent.log" "generation 2"
        check "revocation: 403 on the SAME open connection within max age ($MAX_AGE s)" \
            within "$(first_after "$WORK/revoke.txt" "$t_reload" 403)" $((MAX_AGE * 1000 + SLACK_MS))
        check "revocation: no 200 after the first 403" \
            eq "$(awk '$3 == 403 { d = 1 } d && $3 == 200' "$WORK/revoke.txt")" ""
        check "revocation: every request was answered on the one connection (13)" \
            eq "$(wc -l <"$WORK/revoke.txt")" 13
        # the agent was asked about once per max age, not once per request
        asked=$(grep -c 'GET /r[0-9]* .*ptime=[0-9]' "$WORK/haproxy.log")
        check "revocation: the agent was asked on a few requests only ($asked of 12)" \
            test "$asked" -ge 2 -a "$asked" -le 6

        # 2. the verdict expires while the agent is down: 503, not a pass
        printf '%s\n' "$(cat "$PKI/allowed.sha256")" >"$WORK/allowed.txt"
        kill -HUP "$AGENT_PID"
        wait_until 5 file_has "$WORK/agent.log" "generation 3"
        stream 9 "$WORK/down.txt" &
        spid=$!
        wait_until 10 lines_ge "$WORK/down.txt" 2
        t_stop=$(now_ms)
        stop_agent "$AGENT_PID"
        wait "$spid"
        note "statuses: $(awk '{ print $3 }' "$WORK/down.txt" | tr '\n' ' ')"
        check "agent down: allowed at first" eq "$(head -n 1 "$WORK/down.txt" | awk '{ print $3 }')" 200
        check "agent down: the expired verdict is not renewed -> 503 within max age" \
            within "$(first_after "$WORK/down.txt" "$t_stop" 503)" $((MAX_AGE * 1000 + SLACK_MS))
        check "agent down: no 200 after the first 503" \
            eq "$(awk '$3 == 503 { d = 1 } d && $3 == 200' "$WORK/down.txt")" ""
        check "agent down: every request was answered on the one connection (10)" \
            eq "$(wc -l <"$WORK/down.txt")" 10
    else
        fail "mtls-per-connection example starts" "$WHY"
    fi
else
    fail "agent and test config" "$WHY"
fi

finish "${SUITE_NAME:-adv-perconn}"
