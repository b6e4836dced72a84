#!/usr/bin/env bash
# repro/resumption-chain.sh [VERSION] [VERIFY]   (default: 3.2 both)
#
# Agent issue on every HAProxy version, fixed in af13b68 (kept as a
# regression check): with verify = agent or both, a client that sends an
# intermediate was denied cert_unverified ("unable to get local issuer
# certificate (20)") when its TLS session was resumed: HAProxy has no
# ssl_c_chain_der on a resumed session. One curl, three URLs, a new TLS
# connection each ("Connection: close"): the 2nd and 3rd resume the session.
# Was: "200/ 403/cert_unverified 403/cert_unverified"; with --no-sessionid
# "200/ 200/ 200/"; verify = haproxy was not affected. Exit 1 if it is back.
set -u
V=${1:-3.2} VERIFY=${2:-both}
cd "$(dirname "$0")/../../.." || exit 1
HAPROXY="tests/versions/haproxy.sh $V"
. tests/integration/lib.sh
workdir repro-resumption
make_pki
{ cat "$PKI/allowed.sha256"; cat "$PKI/chained.sha1"; } >"$WORK/allowed.txt"
agent_ini "$WORK/a.ini" 127.0.0.1:0 "$WORK/a.ready" "$VERIFY" "$PKI/ca.pem" "$WORK/allowed.txt"
start_agent a "$WORK/a.ini" "$WORK/a.ready" || { echo "agent: $WHY"; exit 2; }
start_haproxy h "$AGENT_ADDR" || { echo "haproxy: $WHY"; exit 2; }
wait_until 5 agent_is UP >/dev/null
u="https://localhost:$HTTPS_PORT/api/ping"
three() {
    curl -s "$@" --cacert "$PKI/ca.pem" --resolve "localhost:$HTTPS_PORT:127.0.0.1" \
        --cert "$PKI/chained-full.crt" --key "$PKI/chained-full.key" -H 'Connection: close' --http1.1 \
        -o /dev/null -o /dev/null -o /dev/null -w '%{http_code}/%header{x-certspoa-code} ' "$u" "$u" "$u"
}
got=$(three)
echo "HAProxy $V, verify = $VERIFY, leaf + intermediate, session reused: $got"
echo "same with --no-sessionid:                                   $(three --no-sessionid)"
grep -o 'verdict=deny code=cert_unverified.*' "$WORK/a.log" | sed 's/subject=.*detail=/detail=/' | sort | uniq -c
[ "$got" = "200/ 200/ 200/ " ]
