#!/usr/bin/env bash
# shellcheck disable=SC2034  # HAP_ENV, HDRS, BODY are read by lib.sh helpers
# t-forwarded.sh - a forwarded certificate must be exact DER (finding #6).
#
# Behind a trusted proxy the certificate arrives base64 in Client-Cert
# (RFC 9440). A BER re-encoding of the same certificate - the outer
# SEQUENCE length written in long form (30 83 00 LL LL instead of
# 30 82 LL LL), or with an indefinite length - still parses and its
# signature still verifies (the signed tbsCertificate bytes are untouched),
# but its SHA-256 is no longer the certificate's thumbprint: a deny list
# (deny_thumbprints) keyed on the thumbprint no longer matches. The agent
# must refuse anything that is not exactly one DER certificate.
#
# Through haproxy-examples/behind-proxy as shipped, plus the test-only edge
# of tests/integration/policy/behind-proxy-raw.cfg: a trusted proxy that
# forwards whatever Client-Cert / Client-Cert-Chain the test gives it.
set -u
. "$(dirname "$0")/lib.sh"
adv_begin forwarded

DENIED_TP=$(cat "$PKI/allowed.sha256")
B_INI=$WORK/behind.ini
sed -e "s|^listen = .*|listen = 127.0.0.1:0|" \
    -e "s|^; ready_file = .*|ready_file = $WORK/behind.ready|" \
    -e "s|^ca_file = .*|ca_file = $PKI/ca.pem|" \
    -e "s|^allow_thumbprints = .*|deny_thumbprints = $DENIED_TP|" \
    "$BEHIND/certspoa.ini" >"$B_INI"
subst_ok() {
    grep -q "^ready_file = $WORK/behind.ready\$" "$B_INI" && grep -q "^ca_file = $PKI/ca.pem\$" "$B_INI" &&
        grep -q "^deny_thumbprints = $DENIED_TP\$" "$B_INI" && grep -q '^trusted_proxies = 127.0.0.1/32$' "$B_INI" &&
        grep -q '^format = rfc9440$' "$B_INI" && grep -q '^verify = agent$' "$B_INI"
}
check "behind-proxy certspoa.ini has the keys the test substitutes" subst_ok

behind_env() {
    HAP_ENV=(BEHIND_EDGE_BIND="127.0.0.1:$EDGE_PORT" BEHIND_GATEWAY_BIND="127.0.0.1:$GW_PORT"
        BEHIND_APP_BIND="127.0.0.1:$BAPP_PORT" BEHIND_RAW_BIND="127.0.0.1:$RAW_PORT"
        BEHIND_STATS_SOCKET="ipv4@127.0.0.1:$STATS_PORT" BEHIND_AGENT_ADDR="$AGENT_ADDR"
        BEHIND_SERVER_PEM="$PKI/adv-server.pem" BEHIND_CLIENT_CA="$PKI/ca.pem"
        BEHIND_SPOE_CONF="$FWD_SPOE_CONF")
}
B_CFG=$WORK/behind-proxy-test.cfg
if ! adv_test_cfg "$BEHIND/haproxy.cfg" "$B_CFG"; then
    fail "test-only lines inserted into the behind-proxy example"
elif ! start_agent agent-behind "$B_INI" "$WORK/behind.ready"; then
    fail "behind-proxy agent starts" "$WHY"
elif ! adv_start_hap haproxy-behind "EDGE_PORT GW_PORT BAPP_PORT RAW_PORT STATS_PORT" behind_env \
    "$B_CFG" "$POLICY_DIR/behind-proxy-raw.cfg"; then
    fail "behind-proxy HAProxy starts" "$WHY"
else
    check "health check sees the agent" wait_until 5 agent_is UP
    EDGE=https://localhost:$EDGE_PORT
    RAW=http://127.0.0.1:$RAW_PORT

    # raw TAG CLIENT-CERT [CLIENT-CERT-CHAIN] - through the misbehaving
    # trusted proxy
    raw() {
        local a=(-H "X-Raw-Cert: $2")
        [ $# -ge 3 ] && a+=(-H "X-Raw-Chain: $3")
        aget "$1" "$RAW/api" "${a[@]}"
    }
    # ber FILE MODE - base64 of FILE's certificate re-encoded in BER:
    # MODE long (outer length 0x83 00 LL LL) or indef (0x80 ... 00 00)
    ber() {
        openssl x509 -in "$1" -outform DER | python3 -c '
import sys
d = sys.stdin.buffer.read()
assert d[0] == 0x30 and d[1] == 0x82, "expected a 2-byte long-form length"
body = d[4:]
if sys.argv[1] == "long":
    out = b"\x30\x83\x00" + d[2:4] + body
else:
    out = b"\x30\x80" + body + b"\x00\x00"
sys.stdout.buffer.write(out)' "$2" | base64 -w0
    }
    # ber_denied - 403: the forwarded value is not exactly DER
    # (forwarded_invalid, or cert_unverified/cert_parse), never served
    ber_denied() {
        not_served || return 1
        case "$STATUS $(hdr X-Certspoa-Code)/$(hdr X-Certspoa-Rule)" in
            "403 forwarded_invalid/"*|"403 cert_unverified/cert_parse") return 0 ;;
        esac
        WHY="got $(describe), want 403 forwarded_invalid (or cert_unverified/cert_parse)"
        return 1
    }

    note "controls [$((SECONDS - START)) s]"
    aget_cert e-denied "$EDGE/api" allowed
    check "edge (TLS), deny-listed certificate -> 403 deny_thumbprints" denied 403 cert_untrusted deny_thumbprints
    aget_cert e-ok "$EDGE/api" notlisted
    check "edge (TLS), other certificate -> served, the app got it" served_as notlisted
    raw r-der ":$(b64der "$PKI/allowed.crt"):"
    check "trusted proxy, deny-listed certificate in DER -> 403 deny_thumbprints" \
        denied 403 cert_untrusted deny_thumbprints
    raw r-ok ":$(b64der "$PKI/notlisted.crt"):"
    check "trusted proxy, other certificate in DER -> served" served_as notlisted

    note "BER re-encodings from a trusted proxy [$((SECONDS - START)) s]"
    v=$(ber "$PKI/allowed.crt" long)
    check "the BER re-encoding differs from the DER (test sanity)" ne "$v" "$(b64der "$PKI/allowed.crt")"
    raw r-ber-long ":$v:"
    check "deny-listed certificate, outer length in long form (30 83 00 ..) -> 403 forwarded_invalid" ber_denied
    raw r-ber-indef ":$(ber "$PKI/allowed.crt" indef):"
    check "deny-listed certificate, indefinite length (30 80 .. 00 00) -> 403 forwarded_invalid" ber_denied
    raw r-ber-other ":$(ber "$PKI/notlisted.crt" long):"
    check "not deny-listed certificate in BER -> 403 as well (exact DER or nothing)" ber_denied
    raw r-der-trail ":$(openssl x509 -in "$PKI/allowed.crt" -outform DER | cat - <(printf '\0\0') | base64 -w0):"
    check "deny-listed certificate in DER followed by two zero bytes -> 403" ber_denied

    note "BER in the chain [$((SECONDS - START)) s]"
    # (BER first: once the DER chain verified, the agent knows the intermediate)
    raw r-chain-ber ":$(b64der "$PKI/chained.crt"):" ":$(ber "$PKI/inter-ca.pem" long):"
    check "leaf + intermediate in BER (Client-Cert-Chain) -> 403" ber_denied
    raw r-chain-ok ":$(b64der "$PKI/chained.crt"):" ":$(b64der "$PKI/inter-ca.pem"):"
    check "control: leaf + intermediate in DER -> served" served_as chained

    note "BER straight over SPOP, as HAProxy would pass a TLS client's certificate [$((SECONDS - START)) s]"
    # the same policy, the certificate in the SPOP cert argument (ssl_c_der)
    spop_verdict() {   # spop_verdict FILE-OF-BYTES -> "verdict code rule"
        python3 -c '
import os, sys
sys.path.insert(0, os.path.join(sys.argv[1], "tests", "fault"))
import spop
p = spop.Peer(sys.argv[2])
p.hello()
a = p.notify(spop.cert_args(open(sys.argv[3], "rb").read(), verify=0), sid=1, fid=1)
print(a.get("verdict"), a.get("code"), a.get("rule"))' "$TOP" "$AGENT_ADDR" "$1" 2>&1
    }
    openssl x509 -in "$PKI/allowed.crt" -outform DER >"$WORK/allowed.der"
    base64 -d <<<"$(ber "$PKI/allowed.crt" long)" >"$WORK/allowed.ber"
    check "SPOP, deny-listed certificate in DER -> deny deny_thumbprints" \
        eq "$(spop_verdict "$WORK/allowed.der")" "deny cert_untrusted deny_thumbprints"
    check "SPOP, deny-listed certificate in BER -> deny cert_unverified/cert_parse" \
        eq "$(spop_verdict "$WORK/allowed.ber")" "deny cert_unverified cert_parse"

    stop_pid "$HAP_PID"
fi
[ -n "${AGENT_PID:-}" ] && stop_agent "$AGENT_PID"
adv_end
