#!/usr/bin/env bash
# t-shadow.sh - shadow mode does not block, and it does not vouch: a request
# that a shadow policy would deny (txn.certspoa.would_deny) reaches the
# application WITHOUT Client-Cert, X-Client-Identity or
# X-Client-Cert-Days-Left, through the shipped mtls-api and
# mtls-per-connection examples. An allowed certificate on the same routes
# still gets them (so the checks can see the headers when they are there).
#
# mtls-api: a path-selected route (path_prefix = /shadow/) with mode =
# shadow next to an enforcing default policy. (Not a Host route: with one,
# certspoa refuses a Host that differs from the SNI before routing.)
# mtls-per-connection: the default policy in shadow mode, two requests on
# one connection (the second decided from the session's verdict).
#
#   tests/adversarial/t-shadow.sh
#   HAPROXY="tests/versions/haproxy.sh 3.2" tests/adversarial/t-shadow.sh
. "$(dirname "$0")/examples-lib.sh"

workdir adv-shadow
make_pki || { fail "test PKI" "see $WORK/pki.log"; finish "${SUITE_NAME:-adv-shadow}"; exit; }
selfsigned mallory || fail "self-signed certificate"
printf '%s\n' "$(cat "$PKI/allowed.sha256")" >"$WORK/allowed.txt"

# The example's agent config plus a shadow policy for paths under /shadow/;
# warn_days large so that X-Client-Cert-Days-Left is set for every cert.
agent_ini "$WORK/agent.ini" 127.0.0.1:0 "$WORK/agent.ready" haproxy "$PKI/ca.pem" "$WORK/allowed.txt" ||
    fail "agent config from the example"
sed -i "s|^deny_status = .*|&\nwarn_days = 3650|" "$WORK/agent.ini"
cat >>"$WORK/agent.ini" <<INI

[policy watch]
mode = shadow
verify = haproxy
thumbprints = $WORK/allowed.txt
warn_days = 3650

[route shadow]
path_prefix = /shadow/
policy = watch
INI
start_agent agent "$WORK/agent.ini" "$WORK/agent.ready" || fail "agent starts" "$WHY"

# shadow_pass TAG - 200 from the application, which got no identity header
shadow_pass() {
    [ "$STATUS" = 200 ] || { WHY="got $STATUS, want 200 (shadow mode must not block)"; return 1; }
    names_hasnt_any Client-Cert X-Client-Identity X-Client-Cert-Days-Left Client-Cert-Chain
}
# vouched CERT - 200, and the application got CERT in Client-Cert
vouched() {
    [ "$STATUS" = 200 ] || { WHY="got $STATUS, want 200"; return 1; }
    eq "$(backend_saw client-cert-count) $(backend_saw client-cert)" "1 $(client_cert_value "$1")"
}

if [ -n "$AGENT_ADDR" ] && test_cfg "$EXAMPLES/mtls-api/haproxy.cfg" "$WORK/mtls-api.cfg" &&
   start_example haproxy-api "$WORK/mtls-api.cfg" "$AGENT_ADDR" "$TOP/spoe-conf/certspoa.conf"; then
    for proto in --http1.1 --http2; do
        H=()
        REQ_PATH=/shadow/x
        req_cert "api-self$proto" mallory "$proto" "${H[@]}"
        check "mtls-api $proto: self-signed certificate on the shadow route -> 200, no identity headers" shadow_pass
        req_cert "api-untrusted$proto" untrusted "$proto" "${H[@]}"
        check "mtls-api $proto: certificate of an unknown CA on the shadow route -> 200, no identity headers" shadow_pass
        req_cert "api-notlisted$proto" notlisted "$proto" "${H[@]}"
        check "mtls-api $proto: valid but unlisted certificate on the shadow route -> 200, no identity headers" shadow_pass
        req_cert "api-expired$proto" expired "$proto" "${H[@]}"
        check "mtls-api $proto: expired certificate on the shadow route -> 200, no identity headers" shadow_pass
        req "api-none$proto" "$proto" "${H[@]}"
        check "mtls-api $proto: no certificate on the shadow route -> 200, no identity headers" shadow_pass
        # forged identity headers do not survive either
        req_cert "api-forged$proto" mallory "$proto" "${H[@]}" -H "X-Client-Identity: admin" \
            -H "Client-Cert: :$(base64 -w0 <"$PKI/allowed.der"):"
        check "mtls-api $proto: self-signed + forged identity headers on the shadow route -> none arrive" shadow_pass
        # the allowed certificate on the shadow route: vouched for as usual
        req_cert "api-ok$proto" allowed "$proto" "${H[@]}"
        check "mtls-api $proto: allowed certificate on the shadow route -> Client-Cert" vouched allowed
        check "mtls-api $proto: ... and X-Client-Identity" ne "$(backend_saw x-client-identity)" ""
        check "mtls-api $proto: ... and X-Client-Cert-Days-Left (warn_days)" \
            ne "$(backend_saw x-client-cert-days-left)" ""
        # the enforcing default policy still blocks
        REQ_PATH=/api/ping
        req_cert "api-enforce$proto" mallory "$proto"
        check "mtls-api $proto: self-signed certificate on the enforcing default route -> 403" eq "$STATUS" 403
    done
    stop_pid "$HAP_PID"
else
    fail "mtls-api example starts" "$WHY"
fi

# mtls-per-connection: the whole default policy in shadow mode
if [ -n "$AGENT_ADDR" ]; then
    stop_agent "$AGENT_PID"
    agent_ini "$WORK/agent-pc.ini" 127.0.0.1:0 "$WORK/agent-pc.ready" haproxy "$PKI/ca.pem" "$WORK/allowed.txt"
    sed -i "s|^deny_status = .*|&\nmode = shadow|" "$WORK/agent-pc.ini"
    if start_agent agent-pc "$WORK/agent-pc.ini" "$WORK/agent-pc.ready" &&
       test_cfg "$EXAMPLES/mtls-per-connection/haproxy.cfg" "$WORK/pc.cfg" &&
       start_example haproxy-pc "$WORK/pc.cfg" "$AGENT_ADDR" \
           "$EXAMPLES/mtls-per-connection/certspoa-per-connection.conf"; then
        for proto in --http1.1 --http2; do
            # two requests on one connection: the second uses the session's verdict
            REQ_PATH=/first
            out=$($CURL -s --max-time 10 "$proto" --cacert "$PKI/ca.pem" \
                --resolve "localhost:$HTTPS_PORT:127.0.0.1" --cert "$PKI/mallory.crt" --key "$PKI/mallory.key" \
                -w 'STATUS=%{http_code}\n' \
                "https://localhost:$HTTPS_PORT/first" "https://localhost:$HTTPS_PORT/second")
            printf '%s\n' "$out" >"$WORK/resp/pc$proto.body"
            check "per-connection $proto: self-signed, shadow: both requests -> 200" \
                eq "$(printf '%s\n' "$out" | grep -c '^STATUS=200$')" 2
            check "per-connection $proto: no Client-Cert on either request" \
                eq "$(printf '%s\n' "$out" | sed -n 's/^client-cert-count: //p' | tr '\n' ' ')" "0 0 "
            check "per-connection $proto: no X-Client-Identity on either request" \
                eq "$(printf '%s\n' "$out" | sed -n 's/^x-client-identity-count: //p' | tr '\n' ' ')" "0 0 "
            req_cert "pc-ok$proto" allowed "$proto"
            check "per-connection $proto: allowed certificate under shadow -> Client-Cert" vouched allowed
        done
    else
        fail "mtls-per-connection example starts" "$WHY"
    fi
fi

finish "${SUITE_NAME:-adv-shadow}"
