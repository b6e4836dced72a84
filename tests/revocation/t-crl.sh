#!/usr/bin/env bash
# t-crl.sh - CRLs from distribution points, end to end through HAProxy
# (run.sh runs it once per HAProxy version). No reload, no file edit on
# the agent's side: the CRL server changes, the decisions follow.
#   1. crl_fetch = cdp: the first request with an unknown CDP is denied
#      (crl_unavailable, fail closed) and teaches the agent the URL; then
#      good -> 200, revoked -> 403 cert_revoked with the URL in the detail
#   2. a CRL rotated at the server while a keep-alive client is connected:
#      denied on the same connection within one refresh interval
#   3. restart with the CRL server down: the disk cache (state_dir) still
#      denies the revoked certificate
#   4. an expired CRL: accepted within crl_grace, then crl_expired
#   5. a CRL with a bad signature is never used (crl_unavailable)
set -u
TOP=$(cd "$(dirname "$0")/../.." && pwd)
. "$TOP/tests/integration/lib.sh"
. "$TOP/tests/revocation/lib.sh"
NAME=${SUITE_NAME:-rev-crl}

workdir revocation-crl
WWW=$WORK/www
mkdir -p "$WWW" "$WORK/state"
if ! { free_port CRL_PORT && free_port AGENT_PORT && free_port AGENT_STATS_PORT; }; then
    fail "free ports" "none"
    finish "$NAME"
    exit 1
fi
CDP=http://127.0.0.1:$CRL_PORT/root.crl
PKI=$WORK/pki
rev_pki "$PKI" "$CDP"
check "test PKI with a CDP in the client certificates" \
    file_has "$PKI/good.crt" ""
check "the client certificate carries the CDP URL" \
    has "$(openssl x509 -in "$PKI/good.crt" -noout -ext crlDistributionPoints 2>&1)" "$CDP"
cp "$PKI/crl/root.crl" "$WWW/root.crl"
crlsrv_start "$CRL_PORT"
check "CRL server listening on the CDP's port" eq "$(cat "$WORK/crlsrv.port" 2>/dev/null)" "$CRL_PORT"

INI=$WORK/agent.ini
rev_ini "$INI" "crl_fetch = cdp" "crl_refresh = 1s" "state_dir = $WORK/state" "fetch_timeout = 2s"
check "agent starts with crl_fetch = cdp" rev_agent agent "$INI"
check "haproxy starts ($HAPROXY)" start_haproxy haproxy "127.0.0.1:$AGENT_PORT"

# ---- 1. learning the CDP, then good and revoked
first=$(code_of good)
check "first request: CDP unknown yet -> 403 crl_unavailable (fail closed)" eq "$first" "403 crl_unavailable"
check "then the agent fetches the CDP and good gets 200 (no operator action)" wait_until 10 code_is good 200
check "the CDP was fetched" file_has "$WORK/crlsrv.log" "GET /root.crl 200"
code_of revoked >/dev/null
check "revoked -> 403 cert_revoked" eq "$STATUS $(hdr X-Certspoa-Code)" "403 cert_revoked"
check "rule cert_revoked" eq "$(hdr X-Certspoa-Rule)" cert_revoked
check "detail: source crl + URL + reason" has "$(json_field detail | sed 's#\\/#/#g')" \
    "(keyCompromise) at depth 0, source crl $CDP"
check "detail: revocation time" matches "$(json_field detail)" '^revoked 20[0-9-]+T[0-9:]+Z '
check "stats.json: the source, fresh, from the CDP" eq \
    "$(source_field "$CDP" has_crl) $(source_field "$CDP" stale) $(source_field "$CDP" from_cdp)" "true false true"
check "conditional GET: If-None-Match sent on refresh, 304 answered" wait_until 5 \
    grep -q "GET /root.crl 304 INM=\"" "$WORK/crlsrv.log"
metrics=$($CURL -s "http://127.0.0.1:$AGENT_STATS_PORT/metrics")
check "metrics: certspoa_crl_source_stale{url=...} 0" has "$metrics" "certspoa_crl_source_stale{url=\"$CDP\"} 0"
check "metrics: fetch latency histogram" has "$metrics" "certspoa_crl_source_fetch_seconds_count{url=\"$CDP\"}"
page=$($CURL -s "http://127.0.0.1:$AGENT_STATS_PORT/")
check "status page: the revocation sources table" has "$page" "<table id=\"crl-sources\">"

# ---- 2. rotation under a keep-alive connection
note "rotation while a keep-alive client is connected"
urls=()
for i in $(seq 1 16); do urls+=(-o /dev/null "https://localhost:$HTTPS_PORT/api/ka/$i"); done
$CURL -s --max-time 30 --cacert "$PKI/ca.pem" --cert "$PKI/ka.crt" --key "$PKI/ka.key" \
    --resolve "localhost:$HTTPS_PORT:127.0.0.1" --rate 4/s \
    -w '%{http_code} %{num_connects} %{local_port} %header{x-certspoa-code} %header{x-certspoa-rule}\n' \
    "${urls[@]}" >"$WORK/ka.out" 2>"$WORK/ka.err" &
ka_pid=$!
two_answers() { [ "$(grep -c 'GET /api/ka/' "$WORK/haproxy.log")" -ge 2 ]; }
if wait_until 10 two_answers; then
    (cd "$PKI" && openssl ca -batch -config ca/ca.cnf -revoke ka.crt -crl_reason superseded &&
        openssl ca -batch -gencrl -config ca/ca.cnf -out "$WWW/root.crl.new") >"$WORK/ka-revoke.log" 2>&1 &&
        mv -f "$WWW/root.crl.new" "$WWW/root.crl"
    check "ka.crt revoked and the CRL replaced at the server (not at the agent)" eq "$?" 0
else
    fail "keep-alive: the first two answers came" "$(cat "$WORK/ka.err")"
fi
wait "$ka_pid"
check "keep-alive curl finished" eq "$?" 0
ka=$(cat "$WORK/ka.out")
ka_conns=$(printf '%s\n' "$ka" | awk '{ n += $2 } END { print n + 0 }')
ka_403=$(printf '%s\n' "$ka" | grep -c '^403 0 [0-9]* cert_revoked cert_revoked$')
note "keep-alive answers: $(printf '%s' "$ka" | awk '{ printf "%s ", $1 }')"
check "keep-alive: one TCP connection for all 16" eq "$ka_conns" 1
check "keep-alive: allowed before, denied after (200... then 403...)" \
    eq "$(printf '%s\n' "$ka" | awk '{ print $1 }' | uniq | tr '\n' ' ')" "200 403 "
check "keep-alive: denied within one refresh interval (at least 8 x 403 cert_revoked of 16)" test "$ka_403" -ge 8
check "no reload happened" file_hasnt "$WORK/agent.log" "reload"

# ---- 3. disk cache: restart with the CRL server down
crlsrv_stop
check "disk cache written (state_dir)" test -n "$(ls "$WORK/state"/crl-*.der 2>/dev/null)"
check "agent restarts with the CRL server down" rev_agent agent "$INI"
check "restart, server down: revoked still 403 cert_revoked (last good CRL from state_dir)" \
    eq "$(code_of revoked) $(hdr X-Certspoa-Rule)" "403 cert_revoked cert_revoked"
check "restart, server down: ka (revoked by the rotation) still denied" eq "$(code_of ka)" "403 cert_revoked"
check "restart, server down: good still 200" eq "$(code_of good)" 200
check "the log says where the CRL came from" file_has "$WORK/agent.log" "from the disk cache"
check "failures counted while the server is down" wait_until 8 source_err_has "$CDP" "onnect"
check "a loud log line after repeated failures" wait_until 15 \
    grep -q "failed 3 times in a row" "$WORK/agent.log"

# ---- 4. expired CRL: grace, then crl_expired
cp "$PKI/crl/root-expired.crl" "$WWW/root.crl"
rm -rf "$WORK/state"/*
crlsrv_start "$CRL_PORT"
rev_ini "$INI" "crl_urls = $CDP" "crl_refresh = 1s" "crl_grace = 3d"
check "agent with crl_grace = 3d and an expired CRL" rev_agent agent "$INI"
check "within crl_grace: good 200" wait_until 10 code_is good 200
check "within crl_grace: the revocations of the expired CRL stand" eq "$(code_of revoked)" "403 cert_revoked"
rev_ini "$INI" "crl_urls = $CDP" "crl_refresh = 1s" "crl_grace = 1h"
check "agent with crl_grace = 1h" rev_agent agent "$INI"
check "past crl_grace: 403 crl_expired" wait_until 10 code_is good "403 crl_expired"
check "the log says loudly that the CRL expired" wait_until 5 grep -q "EXPIRED" "$WORK/agent.log"
check "stats.json: stale" wait_until 3 source_has "$CDP" stale true
rev_ini "$INI" "crl_urls = $CDP" "crl_refresh = 1s" "policy:crl_expired = allow"
check "agent with crl_expired = allow" rev_agent agent "$INI"
check "crl_expired = allow: good 200" wait_until 10 code_is good 200
check "crl_expired = allow: revoked still denied" eq "$(code_of revoked)" "403 cert_revoked"

# ---- 5. bad signature: never used
cp "$PKI/crl/root-badsig.crl" "$WWW/root.crl"
rev_ini "$INI" "crl_urls = $CDP" "crl_refresh = 1s"
check "agent with a CRL signed by another key under the CA's name" rev_agent agent "$INI"
check "bad signature: the source reports it" wait_until 10 source_err_has "$CDP" "bad CRL signature"
check "bad signature: no CRL, so good is 403 crl_unavailable" eq "$(code_of good)" "403 crl_unavailable"
check "bad signature: revoked is not allowed either" eq "$(code_of revoked)" "403 crl_unavailable"

stop_haproxy
stop_agent "$AGENT_PID"
check "agent exits 0" eq "$AGENT_RC" 0
finish "$NAME"
