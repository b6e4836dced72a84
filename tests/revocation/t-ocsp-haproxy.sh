#!/usr/bin/env bash
# t-ocsp-haproxy.sh - OCSP end to end through real HAProxy: the one in
# $HAPROXY when run.sh runs it (once per version, HAP_VERSION set), else
# 2.6, 3.0 and 3.2 in turn (tests/versions/haproxy.sh; HAPROXY_VERSIONS="2.6"
# for fewer): the
# example mtls-api frontend, curl with client certificates, an openssl ocsp
# responder named in the certificates' AIA. A revoked certificate gets 403
# cert_revoked; a good one 200; a silent responder ocsp_unavailable (403)
# within ocsp_timeout, below the SPOE 'timeout processing'.
#
# Ends with "t-ocsp-haproxy: N passed, N failed" (SUITE_NAME under run.sh).
set -u
. "$(dirname "$0")/../integration/lib.sh"
. "$(dirname "$0")/ocsp-lib.sh"

workdir t-ocsp-haproxy
free_port P_CA || exit 1
if ! ocsp_pki "$WORK/ocsp" "$P_CA" good:client:V revoked:client:R slow:noaia:V; then
    fail pki "openssl failed"
    finish "${SUITE_NAME:-t-ocsp-haproxy}"
    exit 1
fi
PKI=$WORK/ocsp
for f in good revoked slow; do chmod 644 "$PKI/$f.key"; done
check "responder" ocsp_responder resp-ca "$P_CA" ca
ocsp_fake silent silent && P_SILENT=$FAKE_PORT

# The shipped SPOE file with room for OCSP: timeout processing 3s
SPOE_CONF=$WORK/spoe.conf
sed 's/^\( *timeout processing\).*/\1 3s/' "$TOP/spoe-conf/certspoa.conf" >"$SPOE_CONF"
check "spoe: timeout processing 3s" file_has "$SPOE_CONF" "timeout processing 3s"

cat >"$WORK/agent.ini" <<INI
[agent]
listen = 127.0.0.1:0
ready_file = $WORK/ready
threads = 2
[route slow]
path_prefix = /slow
policy = slow
[policy slow]
verify = agent
ca_file = $PKI/ca.pem
ocsp = leaf
ocsp_url = http://127.0.0.1:$P_SILENT/
ocsp_error_ttl = 0
ocsp_timeout = 1s
[policy default]
verify = both
ca_file = $PKI/ca.pem
ocsp = leaf
ocsp_timeout = 1s
INI
# certspoa -c and lint: the shipped SPOE file's 500 ms is too short for
# ocsp_timeout = 1s; the 3s one is fine
OUT=$(CERTSPOA_SPOE_FILE=$TOP/spoe-conf/certspoa.conf "$CERTSPOA_BIN" -f "$WORK/agent.ini" -c 2>&1)
check "certspoa -c: warns about timeout processing 500ms" has "$OUT" "is not above [policy slow] ocsp_timeout (1000 ms)"
OUT=$(CERTSPOA_SPOE_FILE=$SPOE_CONF "$CERTSPOA_BIN" -f "$WORK/agent.ini" -c 2>&1)
check "certspoa -c: quiet with timeout processing 3s" hasnt "$OUT" "WARNING"
OUT=$("$CERTSPOA_BIN" lint "$EXAMPLE/haproxy.cfg" --spoe "$TOP/spoe-conf/certspoa.conf" \
    --agent-config "$WORK/agent.ini" 2>&1)
check "certspoa lint: the same warning" has "$OUT" "ocsp_timeout (1000 ms)"

if ! start_agent agent "$WORK/agent.ini" "$WORK/ready"; then
    fail "agent starts" "$WHY"
    finish "${SUITE_NAME:-t-ocsp-haproxy}"
    exit 1
fi

for v in ${HAP_VERSION:-${HAPROXY_VERSIONS:-2.6 3.0 3.2}}; do
    if [ -z "${HAP_VERSION:-}" ]; then
        HAPROXY="$TOP/tests/versions/haproxy.sh $v"
        read -r -a HAPROXY_CMD <<<"$HAPROXY"
    fi
    if ! start_haproxy "haproxy-$v" "$AGENT_ADDR"; then
        fail "haproxy $v starts" "$WHY"
        continue
    fi
    req_cert "good-$v" good
    check "haproxy $v: good certificate: 200" eq "$STATUS" 200
    req_cert "revoked-$v" revoked
    check "haproxy $v: revoked certificate: 403" eq "$STATUS" 403
    check "haproxy $v: code cert_revoked" eq "$(hdr X-Certspoa-Code)" cert_revoked
    check "haproxy $v: rule ocsp_revoked" eq "$(hdr X-Certspoa-Rule)" ocsp_revoked
    check "haproxy $v: detail names the source and responder" has "$BODY" "source ocsp http:\\/\\/127.0.0.1:$P_CA\\/: revoked"
    check "haproxy $v: detail has the reason" has "$BODY" "(keyCompromise)"
    t0=$(now_ms)
    REQ_PATH=/slow/x req_cert "slow-$v" slow
    ms=$(($(now_ms) - t0))
    check "haproxy $v: silent responder: ocsp_unavailable" eq "$(hdr X-Certspoa-Code)" ocsp_unavailable
    check "haproxy $v: ... after ocsp_timeout, before timeout processing ($ms ms)" \
        test "$ms" -ge 900 -a "$ms" -lt 2900
    stop_haproxy
done
stop_agent "$AGENT_PID"
check "agent stops cleanly" eq "$AGENT_RC" 0
finish "${SUITE_NAME:-t-ocsp-haproxy}"
