#!/usr/bin/env bash
# tests/spiffe/run.sh - SPIFFE trust domains and per-client rate limiting,
# end to end (make spiffe). A PKI of two trust domains is made at test time
# (tests/spiffe/pki.sh). Parts (ONLY= names them):
#   explain    every X.509-SVID case through `certspoa explain`: the
#              trust-domain step, its codes and rules; and why: a pooled
#              ca_file lets td1.test's CA speak for td2.test
#   haproxy    the same certificates through real HAProxy and curl, with
#              verify = haproxy and a HAProxy ca-file that pools every CA:
#              the agent re-verifies against the trust domain's bundle; then
#              a bundle rotated on disk and a reload (SIGHUP), and a broken
#              bundle on reload (refused, the running one stays)
#   ratelimit  haproxy-examples/rate-limit: one certificate over its limit
#              gets 429 while another one from the same address passes;
#              and why its rules are http-request rules: tracking in
#              tcp-request content runs before the agent answered
#   redteam    attacks on client_id and the rate limit (tests/spiffe/t-redteam.sh)
# HAProxy parts run on each of VERSIONS (default "2.6 3.2"; 3.x through
# tests/versions/haproxy.sh). Ends with "spiffe: N passed, N failed".
set -u
. "$(dirname "$0")/../integration/lib.sh"

VERSIONS=${VERSIONS:-2.6 3.2}
only_parts explain haproxy ratelimit redteam
workdir spiffe
PKI=$WORK/pki
if ! "$TOP/tests/spiffe/pki.sh" "$PKI" >"$WORK/pki.log" 2>&1; then
    fail "make the SPIFFE test PKI" "see $WORK/pki.log"
    finish spiffe
fi

# The agent's config: td1.test's bundle is a copy in $WORK (rotated below).
cp "$PKI/td1-bundle.json" "$WORK/td1.json"
spiffe_ini() {   # spiffe_ini FILE VERIFY
    cat >"$1" <<EOF
[agent]
listen = 127.0.0.1:0
ready_file = $WORK/ready
threads = 1

[policy default]
require_cert = yes
verify = $2
spiffe_bundles = td1.test=$WORK/td1.json, td2.test=$PKI/td2-bundle.pem
client_id = spiffe
EOF
}
spiffe_ini "$WORK/agent.ini" haproxy

# explain_is CERT CODE RULE - explain's verdict for PKI/CERT.crt
explain_is() {
    local out code rule
    out=$("$CERTSPOA_BIN" explain -f "$WORK/agent.ini" --cert "$PKI/$1.crt" 2>&1)
    code=$(printf '%s\n' "$out" | sed -n 's/^code: *//p')
    rule=$(printf '%s\n' "$out" | sed -n 's/^rule: *//p')
    [ "$code" = "$2" ] && [ "$rule" = "$3" ] && return 0
    WHY="code '$code' rule '$rule', want '$2' '$3'"
    return 1
}

# the cases: certificate, code, rule
CASES="td1-web ok verified
td2-db ok verified
cross cert_unverified cert_unknown_ca
unknown spiffe_td_unknown spiffe_td_unknown
multi spiffe_multi_uri spiffe_multi_uri
nonspiffe svid_invalid spiffe_not_spiffe
caleaf svid_invalid svid_ca
kcs svid_invalid svid_key_usage"

if part_wanted explain; then
    while read -r cert code rule; do
        check "explain: $cert is $code/$rule" explain_is "$cert" "$code" "$rule"
    done <<<"$CASES"
    out=$("$CERTSPOA_BIN" explain -f "$WORK/agent.ini" --cert "$PKI/td1-web.crt" 2>&1)
    check "explain: shows the trust-domain step" has "$out" "trust_domain=pass(td1.test)"
    check "explain: the agent verifies although verify = haproxy" has "$out" "verify(agent)=pass"
    check "explain: client_id = spiffe gives the SPIFFE ID" has "$out" "client_id:   spiffe://td1.test/web"
    out=$("$CERTSPOA_BIN" explain -f "$WORK/agent.ini" --cert "$PKI/unknown.crt" 2>&1)
    check "explain: the unknown trust domain is named" has "$out" "no bundle in this policy for trust domain td3.test"
    # why per-domain bundles: one pooled store lets td1's CA mint td2's IDs
    cat >"$WORK/pooled.ini" <<EOF
[policy default]
verify = agent
ca_file = $PKI/ca.pem
allow_spiffe = spiffe://td2.test
EOF
    out=$("$CERTSPOA_BIN" explain -f "$WORK/pooled.ini" --cert "$PKI/cross.crt" 2>&1)
    check "explain: (why) a pooled ca_file accepts td2's ID minted by td1's CA" has "$out" "verdict:     allow"
    for bad in "td1.test=$PKI/td1-web.crt" "td1.test=$PKI/nonexistent.json" \
               "TD1.test=$PKI/td1-bundle.json" "td1.test=$PKI/td1-bundle.json, td1.test=$PKI/td2-bundle.pem"; do
        printf '[policy default]\nverify = agent\nspiffe_bundles = %s\n' "$bad" >"$WORK/bad.ini"
        out=$("$CERTSPOA_BIN" -c -f "$WORK/bad.ini" 2>&1)
        check "config: refused: spiffe_bundles = ${bad//$PKI\//}" has "$out" "spiffe_bundles"
    done
fi

# ---------------------------------------------------------------- HAProxy

# hap_req TAG CERT - a request with PKI/CERT through $HAPROXY; STATUS, HDRS
hap_req() {
    req "$1" --cert "$PKI/$2.crt" --key "$PKI/$2.key"
}

req_is() {   # req_is CERT STATUS CODE RULE
    hap_req "$1" "$1"
    local code rule
    code=$(hdr X-Certspoa-Code)
    rule=$(hdr X-Certspoa-Rule)
    if [ "$2" = 200 ]; then
        [ "$STATUS" = 200 ] && return 0
        WHY="status $STATUS code '$code' rule '$rule', want 200"
        return 1
    fi
    [ "$STATUS" = "$2" ] && [ "$code" = "$3" ] && [ "$rule" = "$4" ] && return 0
    WHY="status $STATUS code '$code' rule '$rule', want $2 $3 $4"
    return 1
}

reloaded() {   # reloaded N - the agent's log shows generation N
    grep -q "configuration generation $1 loaded" "$WORK/agent-$V.log"
}
reload_failed() {
    grep -q "reload (SIGHUP) failed" "$WORK/agent-$V.log"
}

hap_cmd() {
    case $1 in
        2.6) HAPROXY=${HAPROXY_26:-/usr/sbin/haproxy} ;;
        *) HAPROXY="$TOP/tests/versions/haproxy.sh $1" ;;
    esac
    read -r -a HAPROXY_CMD <<<"$HAPROXY"
}

if part_wanted haproxy; then
    for V in $VERSIONS; do
        hap_cmd "$V"
        cp "$PKI/td1-bundle.json" "$WORK/td1.json"
        if ! check "haproxy $V: agent starts" start_agent "agent-$V" "$WORK/agent.ini" "$WORK/ready"; then
            continue
        fi
        if ! check "haproxy $V: starts (mtls-api example, pooled ca-file)" start_haproxy "hap-$V" "$AGENT_ADDR"; then
            stop_agent "$AGENT_PID"
            continue
        fi
        while read -r cert code rule; do
            if [ "$code" = ok ]; then
                check "haproxy $V: $cert passes" req_is "$cert" 200
            else
                check "haproxy $V: $cert is refused $code/$rule" req_is "$cert" 403 "$code" "$rule"
            fi
        done <<<"$CASES"
        # the bundle rotated on disk: the new CA only, then a reload
        cp "$PKI/td1-bundle2.json" "$WORK/td1.json"
        kill -HUP "$AGENT_PID"
        check "haproxy $V: reload after the rotation" wait_until 5 reloaded 2
        check "haproxy $V: after rotation, the old CA's SVID is refused" \
            req_is td1-web 403 cert_unverified cert_unknown_ca
        check "haproxy $V: after rotation, the new CA's SVID passes" req_is rotated 200
        check "haproxy $V: td2.test is untouched" req_is td2-db 200
        # a broken bundle: the reload fails, the running configuration stays
        printf '{"keys": [' >"$WORK/td1.json"
        kill -HUP "$AGENT_PID"
        check "haproxy $V: a broken bundle fails the reload" wait_until 5 reload_failed
        check "haproxy $V: log names the bundle" file_has "$WORK/agent-$V.log" "$WORK/td1.json"
        check "haproxy $V: the running bundle stays" req_is rotated 200
        stop_haproxy
        stop_agent "$AGENT_PID"
    done
fi

# ---------------------------------------------------------------- rate limit

RL=$TOP/haproxy-examples/rate-limit
rl_env() {
    HAP_ENV=("CERTSPOA_HTTPS_BIND=127.0.0.1:$HTTPS_PORT" "CERTSPOA_APP_BIND=127.0.0.1:$APP_PORT"
             "CERTSPOA_STATS_SOCKET=ipv4@127.0.0.1:$STATS_PORT" "CERTSPOA_AGENT_ADDR=$AGENT_ADDR"
             "CERTSPOA_SERVER_PEM=$PKI/server.pem" "CERTSPOA_CLIENT_CA=$PKI/ca.pem"
             "CERTSPOA_SPOE_CONF=$SPOE_CONF" CERTSPOA_RATE_LIMIT=5)
}

# burst CERT N - N requests with CERT; STATUSES gets their statuses
burst() {
    local i
    STATUSES=""
    for i in $(seq 1 "$2"); do
        hap_req "rl-$1-$i" "$1"
        STATUSES="$STATUSES${STATUSES:+ }$STATUS"
    done
}

if part_wanted ratelimit; then
    sed -e "s|^listen = .*|listen = 127.0.0.1:0\nready_file = $WORK/ready|" \
        -e "s|^ca_file = .*|ca_file = $PKI/ca.pem|" "$RL/certspoa.ini" >"$WORK/rl.ini"
    check "ratelimit: the example's certspoa.ini is used" file_has "$WORK/rl.ini" "client_id = spki"
    for V in $VERSIONS; do
        hap_cmd "$V"
        if ! check "ratelimit $V: agent starts" start_agent "rl-agent-$V" "$WORK/rl.ini" "$WORK/ready"; then
            continue
        fi
        if ! check "ratelimit $V: haproxy starts (haproxy-examples/rate-limit)" \
            start_haproxy_env "rl-hap-$V" "HTTPS_PORT APP_PORT STATS_PORT" rl_env "$RL/haproxy.cfg"; then
            stop_agent "$AGENT_PID"
            continue
        fi
        burst td1-web 5
        check "ratelimit $V: 5 requests with td1-web pass" eq "$STATUSES" "200 200 200 200 200"
        check "ratelimit $V: the application sees the client_id" matches "$BODY" "^client-id: spki:[0-9a-f]{64}$"
        burst td1-web 2
        check "ratelimit $V: td1-web over its limit gets 429" eq "$STATUSES" "429 429"
        burst td1-api 3
        check "ratelimit $V: td1-api from the same address passes" eq "$STATUSES" "200 200 200"
        # rotated has td1-web's key (same SPKI): the same client, still limited
        hap_req rl-rotated rotated
        check "ratelimit $V: a certificate with td1-web's key shares its bucket" eq "$STATUS" 429
        stop_haproxy
        # the ordering matters: tcp-request content rules run before the
        # HTTP request is analysed, so before the agent answered; tracking
        # there sees no client_id and never limits
        sed 's/^    http-request track-sc0 /    tcp-request content track-sc0 /' "$RL/haproxy.cfg" >"$WORK/rl-tcp.cfg"
        if check "ratelimit $V: (ordering) variant tracking in tcp-request content" \
            start_haproxy_env "rl-tcp-$V" "HTTPS_PORT APP_PORT STATS_PORT" rl_env "$WORK/rl-tcp.cfg"; then
            burst td1-web 7
            check "ratelimit $V: (ordering) tracked before the verdict: no client_id, never 429" \
                eq "$STATUSES" "200 200 200 200 200 200 200"
            stop_haproxy
        fi
        stop_agent "$AGENT_PID"
    done
fi

. "$TOP/tests/spiffe/t-redteam.sh"

finish spiffe
