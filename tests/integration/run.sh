#!/usr/bin/env bash
# run.sh - integration tests: the real certspoa agent behind the real
# HAProxy, driven with curl, using haproxy-examples/mtls-api/haproxy.cfg and
# spoe-conf/certspoa.conf exactly as shipped.
#
#   tests/integration/run.sh            (or: make integration)
#   HAPROXY="/path/to/haproxy-3.2" CERTSPOA_BIN=./certspoa-san tests/integration/run.sh
#   SUITE_NAME=integration-3.2 HAPROXY="tests/versions/haproxy.sh 3.2" tests/integration/run.sh
#
# Needs bash, haproxy, curl, openssl, coreutils (Debian: haproxy curl openssl).
# Ends with exactly one line "integration: N passed, N failed" (SUITE_NAME
# replaces "integration"); exits 1 if anything failed. Work files go to
# tests/out/integration.*/ and are kept when something fails.
set -u
. "$(dirname "$0")/lib.sh"
SUITE_NAME=${SUITE_NAME:-integration}

workdir integration
note "haproxy: $("${HAPROXY_CMD[@]}" -v 2>/dev/null | head -n 1)"
note "agent:   $CERTSPOA_BIN"
note "work:    $WORK"

# ------------------------------------------------------------ predicates

# what the last response was, for failure messages
describe() {
    printf '%s %s %s' "$STATUS" "$(hdr X-Certspoa-Code)" "$(json_field detail)"
}

# is_deny STATUS CODE [REASON] - HAProxy denied with the agent's status,
# code and reason in the headers and the JSON body; the app saw nothing.
is_deny() {
    local want=$1 code=$2 reason=${3:-} got
    [ "$STATUS" = "$want" ] || { WHY="got $(describe), want $want $code"; return 1; }
    got=$(hdr X-Certspoa-Code)
    eq "$got" "$code" || { WHY="X-Certspoa-Code: $WHY"; return 1; }
    if [ -n "$reason" ]; then
        got=$(hdr X-Certspoa-Reason)
        eq "$got" "$reason" || { WHY="X-Certspoa-Reason: $WHY"; return 1; }
        got=$(json_field reason)
        eq "$got" "$reason" || { WHY="body reason: $WHY"; return 1; }
    fi
    got=$(json_field code)
    eq "$got" "$code" || { WHY="body code: $WHY (body $BODY)"; return 1; }
    has "$BODY" "{\"status\":$want," || return 1
    hasnt "$BODY" "backend saw" || { WHY="the request reached the backend"; return 1; }
}

# is_allowed_as CERT - 200 from the app, which saw exactly one Client-Cert
# header holding CERT's DER (RFC 9440).
is_allowed_as() {
    local got
    [ "$STATUS" = 200 ] || { WHY="got $(describe), want 200"; return 1; }
    got=$(backend_saw client-cert-count)
    eq "$got" 1 || { WHY="backend saw $got Client-Cert headers, want 1"; return 1; }
    got=$(backend_saw client-cert)
    eq "$got" "$(client_cert_value "$1")" || { WHY="Client-Cert: $WHY"; return 1; }
}

# is_unavailable - the fail-closed answer: 503 agent_unavailable.
is_unavailable() {
    is_deny 503 agent_unavailable "Client certificate could not be checked"
}

detail_has() {
    local d
    d=$(json_field detail)
    has "$d" "$1" || { WHY="detail '$d' does not mention '$1'"; return 1; }
}

# config_rejected FILE NEEDLE - "certspoa -c -f FILE" exits 78 (EX_CONFIG)
# and its stderr contains NEEDLE ("file:line: key:").
config_rejected() {
    local out rc
    out=$("$CERTSPOA_BIN" -c -f "$1" 2>&1 >/dev/null)
    rc=$?
    [ "$rc" -eq 78 ] || { WHY="exit $rc, want 78 (stderr: $out)"; return 1; }
    has "$out" "$2" || { WHY="stderr '$out' lacks '$2'"; return 1; }
}

config_ok() {
    local out rc
    out=$("$CERTSPOA_BIN" -c -f "$1" 2>&1)
    rc=$?
    [ "$rc" -eq 0 ] || { WHY="exit $rc: $out"; return 1; }
}

# the common verdict cases, for both verification modes
verdict_cases() {
    local m=$1

    req "$m-nocert"
    check "$m: no certificate -> 403 cert_missing" \
        is_deny 403 cert_missing "Client certificate required"

    req_cert "$m-untrusted" untrusted
    check "$m: certificate from an unknown CA -> 403 cert_unverified" \
        is_deny 403 cert_unverified "Client certificate cannot be verified"

    req_cert "$m-expired" expired
    check "$m: expired certificate -> 403 cert_unverified" \
        is_deny 403 cert_unverified "Client certificate cannot be verified"
    check "$m: expired certificate: detail says expired" detail_has expired

    req_cert "$m-notlisted" notlisted
    check "$m: valid but not listed -> 403 cert_untrusted" \
        is_deny 403 cert_untrusted "Client certificate is untrusted or invalid"

    req_cert "$m-allowed" allowed
    check "$m: valid and listed (SHA-256) -> 200, backend got its Client-Cert" \
        is_allowed_as allowed

    req_cert "$m-chained-leafonly" chained
    check "$m: leaf without its intermediate -> 403 cert_unverified" \
        is_deny 403 cert_unverified

    req_cert "$m-chained" chained-full
    check "$m: leaf + intermediate, listed by SHA-1 -> 200, Client-Cert is the leaf" \
        is_allowed_as chained

    # A resumed TLS session has no ssl_c_chain_der: the agent completes the
    # leaf with the intermediate it learned from the chain that verified.
    # HAProxy's own verification has no such memory.
    req_cert "$m-chained-leafonly-again" chained
    case $m in
    *agent*)
        check "$m: the same leaf alone once its chain verified -> 200 (learned intermediate)" \
            is_allowed_as chained ;;
    *)
        check "$m: the same leaf alone again -> 403 cert_unverified" \
            is_deny 403 cert_unverified ;;
    esac
}

# ------------------------------------------------------------ set-up

check "test PKI generated (pki.sh)" make_pki
if [ ! -s "$PKI/allowed.sha256" ]; then
    fail "cannot go on without a PKI" "see $WORK/pki.log"
    finish "$SUITE_NAME"
    exit
fi

# The thumbprint list: the allowed client as lowercase SHA-256, the chained
# client as uppercase SHA-1 with colons, plus comments, as people write it.
{
    echo "# integration test list"
    echo
    echo "$(cat "$PKI/allowed.sha256")   # allowed client"
    sed 's/../&:/g; s/:$//' "$PKI/chained.sha1" | tr 'a-f' 'A-F'
} >"$WORK/allowed.txt"
cat "$PKI/ca.pem" "$PKI/untrusted-ca.pem" >"$WORK/both-cas.pem"

agent_ini "$WORK/agent-a.ini" 127.0.0.1:0 "$WORK/agent-a.ready" haproxy "$PKI/ca.pem" "$WORK/allowed.txt" ||
    fail "example certspoa.ini has the keys the tests substitute"
agent_ini "$WORK/agent-b.ini" "unix:$WORK/b.sock" "$WORK/agent-b.ready" agent "$PKI/ca.pem" "$WORK/allowed.txt" ||
    fail "example certspoa.ini has the keys the tests substitute"

# ------------------------------------------------------------ static checks

haproxy_check
check "haproxy -c accepts the example configuration" eq "$HAP_CHECK_RC" 0
no_warnings() { hasnt "$1" WARNING && hasnt "$1" ALERT; }
check "haproxy -c: no warnings or alerts" no_warnings "$HAP_CHECK_OUT"

HAVE_AGENT=1
check "agent binary exists ($CERTSPOA_BIN)" test -x "$CERTSPOA_BIN" || true
[ -x "$CERTSPOA_BIN" ] || HAVE_AGENT=0

if [ "$HAVE_AGENT" = 1 ]; then
    check "certspoa -c accepts the example certspoa.ini (verify = haproxy)" config_ok "$WORK/agent-a.ini"
    check "certspoa -c accepts verify = agent with ca_file" config_ok "$WORK/agent-b.ini"

    sed 's/^threads = .*/threads = lots/' "$WORK/agent-a.ini" >"$WORK/bad-threads.ini"
    line=$(grep -n '^threads = lots' "$WORK/bad-threads.ini" | cut -d: -f1)
    check "certspoa -c: bad value -> exit 78, 'bad-threads.ini:$line: threads:'" \
        config_rejected "$WORK/bad-threads.ini" "bad-threads.ini:$line: threads:"

    sed 's/^verify = .*/verify = sometimes/' "$WORK/agent-a.ini" >"$WORK/bad-verify.ini"
    line=$(grep -n '^verify = sometimes' "$WORK/bad-verify.ini" | cut -d: -f1)
    check "certspoa -c: unknown enum value -> exit 78, 'bad-verify.ini:$line: verify:'" \
        config_rejected "$WORK/bad-verify.ini" "bad-verify.ini:$line: verify:"

    { cat "$WORK/allowed.txt"; echo "not-a-thumbprint"; } >"$WORK/bad-list.txt"
    line=$(wc -l <"$WORK/bad-list.txt")
    sed "s|^thumbprints = .*|thumbprints = $WORK/bad-list.txt|" "$WORK/agent-a.ini" >"$WORK/bad-list.ini"
    check "certspoa -c: bad thumbprint line -> exit 78, 'bad-list.txt:$line'" \
        config_rejected "$WORK/bad-list.ini" "bad-list.txt:$line"
fi

# ------------------------------------------------------------ no agent at all

note "HAProxy with no agent listening (fail closed)"
free_port DEAD_PORT
if start_haproxy haproxy-noagent "127.0.0.1:$DEAD_PORT"; then
    check "no agent: health check marks the agent DOWN (L4CON)" wait_until 5 agent_is DOWN L4CON
    req_cert noagent-allowed allowed
    check "no agent: listed certificate -> 503 agent_unavailable, not forwarded" is_unavailable
    req noagent-nocert
    check "no agent: no certificate -> 503 agent_unavailable" is_unavailable
    req_cert noagent-forged allowed -H "Client-Cert: :Zm9yZ2Vk:"
    check "no agent: forged Client-Cert -> 503, never reaches the backend" is_unavailable
    stop_haproxy
else
    fail "start haproxy with no agent" "$WHY"
fi

if [ "$HAVE_AGENT" = 0 ]; then
    note "no agent binary: skipping every test that needs it"
    finish "$SUITE_NAME"
    exit
fi

# ------------------------------------------------------------ verify = haproxy

note "agent A: verify = haproxy, TCP listener on port 0"
if ! start_agent agent-a "$WORK/agent-a.ini" "$WORK/agent-a.ready"; then
    fail "agent A starts and writes its ready_file" "$WHY"
    finish "$SUITE_NAME"
    exit
fi
AGENT_A_PID=$AGENT_PID
AGENT_A_ADDR=$AGENT_ADDR
check "agent A: ready_file holds the bound address ($AGENT_A_ADDR)" \
    matches "$AGENT_A_ADDR" '^127\.0\.0\.1:[1-9][0-9]*$'

if ! start_haproxy haproxy-a "$AGENT_A_ADDR"; then
    fail "start haproxy (agent A)" "$WHY"
    finish "$SUITE_NAME"
    exit
fi
check "verify=haproxy: health check (option spop-check) marks the agent UP (L7OK)" \
    wait_until 5 agent_is UP L7OK

verdict_cases verify=haproxy

req_cert forged-allowed allowed -H "Client-Cert: :Zm9yZ2Vk:"
check "forged Client-Cert + listed certificate: backend sees only the real one" \
    is_allowed_as allowed
req_cert forged-twice allowed --http1.1 -H "client-cert: :Zm9yZ2Vk:" -H "CLIENT-CERT: :b3RoZXI=:"
check "two forged Client-Cert headers (HTTP/1.1): backend sees only the real one" \
    is_allowed_as allowed
req forged-nocert -H "Client-Cert: :Zm9yZ2Vk:"
check "forged Client-Cert without a certificate -> 403 cert_missing, not forwarded" \
    is_deny 403 cert_missing

req_cert http11 allowed --http1.1
check "HTTP/1.1 request with a listed certificate -> 200" is_allowed_as allowed

ka=$($CURL -s --max-time 10 --cacert "$PKI/ca.pem" --cert "$PKI/allowed.crt" --key "$PKI/allowed.key" \
    --resolve "localhost:$HTTPS_PORT:127.0.0.1" -o /dev/null -o /dev/null -o /dev/null \
    -w '%{http_code}/%{num_connects} ' \
    "https://localhost:$HTTPS_PORT/a" "https://localhost:$HTTPS_PORT/b" "https://localhost:$HTTPS_PORT/c")
check "keep-alive: 3 requests on one connection, each checked and allowed" \
    eq "$ka" "200/1 200/0 200/0 "

# Concurrent clients: HAProxy pipelines their NOTIFY frames over its agent
# connections; each must get its own verdict back.
pids=()
for i in $(seq 1 24); do
    c=allowed
    [ $((i % 3)) -eq 0 ] && c=notlisted
    ( $CURL -s --max-time 10 --cacert "$PKI/ca.pem" --cert "$PKI/$c.crt" --key "$PKI/$c.key" \
        --resolve "localhost:$HTTPS_PORT:127.0.0.1" -o /dev/null -w "$c %{http_code}\n" \
        "https://localhost:$HTTPS_PORT/par/$i" >"$WORK/resp/par-$i" ) &
    pids+=($!)
done
wait "${pids[@]}"
par=$(cat "$WORK"/resp/par-* | sort | uniq -c | awk '{ printf "%s:%s:%s ", $2, $3, $1 }')
check "24 concurrent clients (16 listed, 8 not) each get their own verdict" \
    eq "$par" "allowed:200:16 notlisted:403:8 "

req_cert big big
check "9.5 KB certificate travels over SPOP: not listed -> 403 cert_untrusted" \
    is_deny 403 cert_untrusted

REQ_PATH=/$(printf 'x%.0s' $(seq 1 8000)) req_cert big-longpath big
check "certificate + 8 KB path exceed max-frame-size -> 503 agent_unavailable" is_unavailable
check "... and the detail names SPOE error 3 (too big)" detail_has "spoe error 3"

req_cert huge huge
check "24 KB certificate (HAProxy cannot pass its DER) -> denied, not forwarded" \
    matches "$STATUS $(hdr X-Certspoa-Code)" '^(4[0-9][0-9]|503) [a-z_]+$'
check "24 KB certificate: the backend saw nothing" hasnt "$BODY" "backend saw"

check "HAProxy log shows the allow verdict" \
    file_has "$WORK/haproxy-a.log" "certspoa=allow/"
check "HAProxy log carries txn.certspoa.sha256 (registered and set)" \
    file_has "$WORK/haproxy-a.log" "sha256=$(cat "$PKI/allowed.sha256")"
check "HAProxy log carries the denial code" \
    file_has "$WORK/haproxy-a.log" "certspoa=deny/cert_untrusted"

# ------------------------------------------------------------ stop / restart

note "agent A stopped, then restarted on the same address"
stop_agent "$AGENT_A_PID"
check "agent A exits 0 on SIGTERM (within 5 s)" eq "$AGENT_RC" 0
statuses=""
for i in 1 2 3; do
    req_cert stopped-$i allowed
    statuses="$statuses$STATUS "
done
check "agent stopped: no request is allowed (503 x3)" eq "$statuses" "503 503 503 "
check "agent stopped: 503 carries code agent_unavailable" is_unavailable
check "agent stopped: health check marks it DOWN" wait_until 5 agent_is DOWN

sed "s|^listen = .*|listen = $AGENT_A_ADDR|" "$WORK/agent-a.ini" >"$WORK/agent-a2.ini"
if start_agent agent-a "$WORK/agent-a2.ini" "$WORK/agent-a.ready"; then
    AGENT_A_PID=$AGENT_PID
    t0=$(now_ms)
    back() { req_cert restarted allowed; [ "$STATUS" = 200 ]; }
    wait_until 5 back
    t1=$(now_ms)
    check "agent restarted: listed certificate -> 200 again" is_allowed_as allowed
    check "agent restarted: back within 3 s (took $((t1 - t0)) ms)" test $((t1 - t0)) -le 3000
    check "agent restarted: health check marks it UP" wait_until 5 agent_is UP L7OK
    stop_agent "$AGENT_A_PID"
    check "restarted agent A exits 0 on SIGTERM" eq "$AGENT_RC" 0
else
    fail "agent A restarts on the same address ($AGENT_A_ADDR)" "$WHY"
fi
stop_haproxy

# ------------------------------------------------------------ broken agents

note "an 'agent' that answers garbage (HAProxy's own HTTP echo app)"
if start_haproxy haproxy-garbage @app; then
    req_cert garbage allowed
    check "agent answering garbage -> 503 agent_unavailable" is_unavailable
    req_cert garbage2 allowed
    check "agent answering garbage, again -> 503 agent_unavailable" is_unavailable
    check "agent answering garbage: health check marks it DOWN" wait_until 5 agent_is DOWN
    stop_haproxy
else
    fail "start haproxy (garbage agent)" "$WHY"
fi

note "an agent that accepts and never answers"
free_port SILENT_PORT
SILENT_BIND=127.0.0.1:$SILENT_PORT "${HAPROXY_CMD[@]}" -db -f "$TOP/tests/integration/silent-agent.cfg" \
    >"$WORK/silent.log" 2>&1 &
SILENT_PID=$!
CHILD_PIDS+=("$SILENT_PID")
if wait_until 5 port_open "$SILENT_PORT" && start_haproxy haproxy-silent "127.0.0.1:$SILENT_PORT"; then
    t0=$(now_ms)
    req_cert silent allowed
    t1=$(now_ms)
    check "silent agent -> 503 agent_unavailable" is_unavailable
    check "silent agent: answered within 2 s (timeout processing 500ms; took $((t1 - t0)) ms)" \
        test $((t1 - t0)) -le 2000
    stop_haproxy
else
    fail "start the silent agent and haproxy" "$WHY"
fi
stop_pid "$SILENT_PID"

# ------------------------------------------------------------ verify = agent

note "agent B: verify = agent, unix socket; HAProxy trusts BOTH CAs"
if start_agent agent-b "$WORK/agent-b.ini" "$WORK/agent-b.ready"; then
    AGENT_B_PID=$AGENT_PID
    check "agent B: ready_file holds the unix socket ($AGENT_ADDR)" eq "$AGENT_ADDR" "unix@$WORK/b.sock"
    # HAProxy's ca-file has both CAs, so HAProxy itself finds the untrusted
    # client fine (ssl_c_verify 0): a deny now proves the agent verified.
    if start_haproxy haproxy-b "$AGENT_ADDR" "$WORK/both-cas.pem"; then
        check "verify=agent: health check over the unix socket marks it UP (L7OK)" \
            wait_until 5 agent_is UP L7OK
        verdict_cases verify=agent
        stop_haproxy
    else
        fail "start haproxy (agent B)" "$WHY"
    fi
    stop_agent "$AGENT_B_PID"
    check "agent B exits 0 on SIGTERM" eq "$AGENT_RC" 0
else
    fail "agent B starts (unix socket, verify = agent)" "$WHY"
fi

# ------------------------------------------------------------ deny statuses

# deny_status_case STATUS WANT_HTTP - an agent with deny_status = STATUS; a
# not-listed certificate must be answered WANT_HTTP (the status itself when
# haproxy.cfg has a rule for it, else the catch-all 403).
deny_status_case() {
    local st=$1 want=$2 ini=$WORK/agent-s$1.ini
    sed "s/^deny_status = .*/deny_status = $st/" "$WORK/agent-a.ini" |
        sed "s|^ready_file = .*|ready_file = $WORK/agent-s$st.ready|" >"$ini"
    if ! start_agent "agent-s$st" "$ini" "$WORK/agent-s$st.ready"; then
        fail "agent with deny_status = $st starts" "$WHY"
        return
    fi
    local pid=$AGENT_PID
    if start_haproxy "haproxy-s$st" "$AGENT_ADDR"; then
        wait_until 5 agent_is UP >/dev/null
        req_cert "status-$st" notlisted --http1.1
        check "deny_status = $st: not listed -> $want cert_untrusted" is_deny "$want" cert_untrusted
        stop_haproxy
    else
        fail "start haproxy (deny_status = $st)" "$WHY"
    fi
    stop_agent "$pid"
}

note "deny_status: one HAProxy rule per supported status, 403 for the rest"
for st in 400 401 421 495 496; do
    deny_status_case "$st" "$st"
done
deny_status_case 451 403

# ------------------------------------------------------------ agent health

check "agent logs: no sanitizer or runtime error reports" \
    file_hasnt_any 'AddressSanitizer|LeakSanitizer|UndefinedBehaviorSanitizer|runtime error:' "$WORK"/agent-*.log

finish "$SUITE_NAME"
