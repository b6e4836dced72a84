#!/usr/bin/env bash
# t-headers.sh - no certificate or identity header from the client reaches
# the application, whatever its spelling, through every shipped example
# (mtls-api, mtls-per-connection, behind-proxy), over HTTP/1.1 and HTTP/2.
#
# Each request carries an ALLOWED client certificate (the request reaches
# the application) plus forged Client-Cert, Client_Cert, Client-Cert-Chain,
# X-Forwarded-Client-Cert, X-ARR-ClientCert, X-SSL-Client-*, X-Client-Identity,
# X-Client-Cert-Days-Left and X-Certspoa-* headers. The application (the
# examples' app-echo with a test-only echo of every header name) must see
# exactly one Client-Cert, the real one, and none of the others.
#
#   tests/adversarial/t-headers.sh
#   HAPROXY="tests/versions/haproxy.sh 3.2" tests/adversarial/t-headers.sh
. "$(dirname "$0")/examples-lib.sh"

workdir adv-headers
make_pki || { fail "test PKI" "see $WORK/pki.log"; finish "${SUITE_NAME:-adv-headers}"; exit; }
printf '%s\n' "$(cat "$PKI/allowed.sha256")" >"$WORK/allowed.txt"
agent_ini "$WORK/agent.ini" 127.0.0.1:0 "$WORK/agent.ready" haproxy "$PKI/ca.pem" "$WORK/allowed.txt" ||
    fail "agent config from the example"
start_agent agent "$WORK/agent.ini" "$WORK/agent.ready" || fail "agent starts" "$WHY"

# the identity certspoa reports for allowed.crt under this policy, as
# "certspoa explain" says it (what matched: here the thumbprint)
ALLOWED_ID=$("$CERTSPOA_BIN" explain -f "$WORK/agent.ini" --cert "$PKI/allowed.crt" 2>/dev/null |
    sed -n 's/^identity:[[:space:]]*//p')
check "certspoa explain names the allowed certificate's identity" test -n "$ALLOWED_ID"
FORGED=(Client-Cert Client_Cert Client-Cert-Chain X-Forwarded-Client-Cert X-ARR-ClientCert
        X-SSL-Client-Cert X-SSL-Client-Verify X-SSL-Client-S-DN X-Client-Identity
        X-Client-Cert-Days-Left X-Certspoa-Trace X-Certspoa-Anything)
# The family, as curl -H arguments. Values look real enough for a framework.
forged_args() {
    local fake
    fake=":$(base64 -w0 <"$PKI/untrusted.der"):"
    FORGED_ARGS=(-H "Client-Cert: $fake" -H "Client_Cert: $fake" -H "Client-Cert-Chain: $fake"
        -H "X-Forwarded-Client-Cert: Hash=00;Subject=\"CN=admin\"" -H "X-ARR-ClientCert: $fake"
        -H "X-SSL-Client-Cert: $fake" -H "X-SSL-Client-Verify: SUCCESS"
        -H "X-SSL-Client-S-DN: CN=admin" -H "X-Client-Identity: spiffe://forged/admin"
        -H "X-Client-Cert-Days-Left: 999" -H "X-Certspoa-Trace: 0123456789abcdef0123"
        -H "X-Certspoa-Anything: yes")
}

# one_example LABEL CFG SPOE - start it, then forged requests over h1 and h2
one_example() {
    local label=$1 src=$2 spoe=$3 cfg=$WORK/$1.cfg proto
    if ! test_cfg "$src" "$cfg"; then
        fail "$label: test echo inserted into $src"
        return
    fi
    if ! start_example "haproxy-$label" "$cfg" "$AGENT_ADDR" "$spoe"; then
        fail "$label: HAProxy starts" "$WHY"
        return
    fi
    forged_args
    for proto in --http1.1 --http2; do
        req "$label$proto" "$proto" --cert "$PKI/allowed.crt" --key "$PKI/allowed.key" "${FORGED_ARGS[@]}"
        check "$label $proto: allowed certificate with forged headers -> 200" eq "$STATUS" 200
        check "$label $proto: the application got exactly one Client-Cert" \
            eq "$(backend_saw client-cert-count)" 1
        check "$label $proto: ... the verified one, not the forged one" \
            eq "$(backend_saw client-cert)" "$(client_cert_value allowed)"
        # mtls-api sets X-Client-Identity itself on an allow: the agent's, once
        check "$label $proto: X-Client-Identity, if any, is the agent's, once" \
            eq "$(backend_saw x-client-identity-count) $(backend_saw x-client-identity)" \
            "$(case $label in mtls-api) echo "1 $ALLOWED_ID" ;; *) echo "0 " ;; esac)"
        check "$label $proto: no other certificate or identity header reached the application" \
            names_hasnt_any "${FORGED[@]:1:7}" "${FORGED[@]:9}"
        # anonymous: no certificate at all -> denied before the app
        req "$label$proto-anon" "$proto" "${FORGED_ARGS[@]}"
        check "$label $proto: forged headers without a certificate -> 403" eq "$STATUS" 403
        hasnt "$BODY" "backend saw" || fail "$label $proto: the anonymous request reached the app"
    done
    stop_pid "$HAP_PID"
}

if [ -n "$AGENT_ADDR" ]; then
    one_example mtls-api "$EXAMPLES/mtls-api/haproxy.cfg" "$TOP/spoe-conf/certspoa.conf"
    one_example per-connection "$EXAMPLES/mtls-per-connection/haproxy.cfg" \
        "$EXAMPLES/mtls-per-connection/certspoa-per-connection.conf"
fi

# behind-proxy: the client talks to the edge, which forwards to the gateway.
behind() {
    local cfg=$WORK/behind.cfg ini=$WORK/behind.ini port_e port_g port_a port_s proto
    if ! test_cfg "$EXAMPLES/behind-proxy/haproxy.cfg" "$cfg"; then
        fail "behind-proxy: test echo inserted"
        return
    fi
    sed -e "s|^listen = .*|listen = 127.0.0.1:0|" -e "/^;* *ready_file = /d" \
        -e "s|^\[agent\]|[agent]\nready_file = $WORK/behind.ready|" \
        -e "s|^ca_file = .*|ca_file = $PKI/ca.pem|" \
        -e "s|^allow_thumbprints = .*|allow_thumbprints = @$WORK/allowed.txt|" \
        "$EXAMPLES/behind-proxy/certspoa.ini" >"$ini"
    if ! start_agent behind-agent "$ini" "$WORK/behind.ready"; then
        fail "behind-proxy: agent starts" "$WHY"
        return
    fi
    free_port port_e && free_port port_g && free_port port_a && free_port port_s
    BEHIND_EDGE_BIND=127.0.0.1:$port_e BEHIND_GATEWAY_BIND=127.0.0.1:$port_g \
    BEHIND_APP_BIND=127.0.0.1:$port_a BEHIND_STATS_SOCKET=ipv4@127.0.0.1:$port_s \
    BEHIND_AGENT_ADDR=$AGENT_ADDR BEHIND_SERVER_PEM=$PKI/server.pem BEHIND_CLIENT_CA=$PKI/ca.pem \
    BEHIND_SPOE_CONF=$TOP/spoe-conf/certspoa-forwarded.conf \
        "${HAPROXY_CMD[@]}" -db -f "$cfg" >>"$WORK/haproxy-behind.log" 2>&1 &
    HAP_PID=$!
    CHILD_PIDS+=("$HAP_PID")
    STATS_PORT=$port_s
    if ! wait_until 10 port_open "$port_e" || ! wait_until 5 port_open "$port_a" ||
       ! wait_until 5 agent_is UP; then
        fail "behind-proxy: HAProxy starts" "$(grep -E 'ALERT' "$WORK/haproxy-behind.log" | tail -n 2)"
        return
    fi
    forged_args
    HTTPS_PORT=$port_e
    for proto in --http1.1 --http2; do
        req "behind$proto" "$proto" --cert "$PKI/allowed.crt" --key "$PKI/allowed.key" "${FORGED_ARGS[@]}"
        check "behind-proxy $proto: allowed certificate with forged headers -> 200" eq "$STATUS" 200
        check "behind-proxy $proto: the application got exactly one Client-Cert, the verified one" \
            eq "$(backend_saw client-cert-count) $(backend_saw client-cert)" "1 $(client_cert_value allowed)"
        check "behind-proxy $proto: no other certificate or identity header reached the application" \
            names_hasnt_any "${FORGED[@]:1}"
    done
}
[ -r "$EXAMPLES/behind-proxy/certspoa.ini" ] && behind

finish "${SUITE_NAME:-adv-headers}"
