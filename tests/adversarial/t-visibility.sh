#!/usr/bin/env bash
# t-visibility.sh - what an operator sees, through the shipped mtls-api
# example and real HAProxy (issue 16, items 4 and 6, correlation):
#
#  1. shadow mode is visible: with the default log_decisions = denials and
#     the agent at info level, a request a shadow policy lets through that
#     enforcing would deny is logged by the agent (would_deny, would_rule),
#     shows in HAProxy's log line (would_deny=...), in /stats.json's recent
#     denials ("shadow":true, its rule) and in
#     certspoa_shadow_denials_total{code,rule};
#  2. one grep joins the logs: the 403 body's req_id is HAProxy's unique-id,
#     found in HAProxy's log line AND in the agent's decision line, with the
#     rule; /metrics carries the rule label;
#  3. deny_detail = none|code|hint decides what the denied client is told
#     (body and X-Certspoa-* headers); hint (the default) also gives the
#     req_id;
#  4. certspoa explain agrees with live traffic under verify = haproxy: with
#     the policy's ca_file or --haproxy-ca it verifies as HAProxy does (an
#     expired or unknown-CA certificate is cert_unverified, as live), without
#     one it says it ASSUMED the result; --time takes ISO 8601; --json for
#     explain and inspect.
#  5. the per-connection example: deny_detail = none in its 403, req_id in
#     both logs, would_deny in its log line.
#
#   tests/adversarial/t-visibility.sh
#   HAPROXY="tests/versions/haproxy.sh 3.2" tests/adversarial/t-visibility.sh
. "$(dirname "$0")/examples-lib.sh"

workdir adv-visibility
make_pki || { fail "test PKI" "see $WORK/pki.log"; finish "${SUITE_NAME:-adv-visibility}"; exit; }
printf '%s\n' "$(cat "$PKI/allowed.sha256")" >"$WORK/allowed.txt"

# get TAG PORT PATH - plain HTTP GET on the agent's stats port
get() {
    local tag=${1//[^A-Za-z0-9_.-]/_}
    STATUS=$($CURL -s --max-time 5 -o "$WORK/resp/$tag.body" -w '%{http_code}' "http://127.0.0.1:$2$3")
    BODY=$(cat "$WORK/resp/$tag.body" 2>/dev/null)
}

# kv KEY TEXT - the value of a "KEY:   value" line of explain output
kv() { printf '%s\n' "$2" | sed -n "s/^$1: *//p" | head -n 1; }

# log_line FILE PATTERN... - the last line of FILE holding every PATTERN
# (fixed strings); WHY names what is missing.
log_line() {
    local f=$1 l
    shift
    l=$(cat "$f" 2>/dev/null)
    for p in "$@"; do l=$(printf '%s\n' "$l" | grep -F -- "$p"); done
    LINE=$(printf '%s\n' "$l" | tail -n 1)
    [ -n "$LINE" ] && return 0
    WHY="no line of $(basename "$f") has all of: $*"
    return 1
}

# The example's agent config, a shadow policy for /shadow/, and the stats
# listener. Only keys older than this test, so that it runs against an
# older agent too (and fails there for what it checks, not for a key).
agent_ini "$WORK/agent.ini" 127.0.0.1:0 "$WORK/agent.ready" haproxy "$PKI/ca.pem" "$WORK/allowed.txt" ||
    fail "agent config from the example"
cat >>"$WORK/agent.ini" <<INI

[policy watch]
mode = shadow
verify = haproxy
thumbprints = $WORK/allowed.txt

[route shadow]
path_prefix = /shadow/
policy = watch

[stats]
listen = 127.0.0.1:0
INI
# the same without ca_file, for explain
grep -v '^ca_file' "$WORK/agent.ini" >"$WORK/noca.ini"
# info level (no -d): what production logs
# (the stats port: port 0, read back from the start-up log line, so no
# other test can take it between choosing and binding)
if AGENT_FLAGS="" start_agent_with agent "$WORK/agent.ini" "$WORK/agent.ready" 5 &&
   SP=$(sed -n 's|.*msg="stats on http://127\.0\.0\.1:\([0-9]*\)/".*|\1|p' "$WORK/agent.log" | tail -n 1) &&
   [ -n "$SP" ] &&
   test_cfg "$EXAMPLE/haproxy.cfg" "$WORK/api.cfg" &&
   start_example haproxy "$WORK/api.cfg" "$AGENT_ADDR" "$TOP/spoe-conf/certspoa.conf"; then
    # --- 1. shadow mode
    REQ_PATH=/shadow/x
    req_cert shadow notlisted
    check "shadow: unlisted certificate on the shadow route -> 200" eq "$STATUS" 200
    sleep 0.3
    check "shadow: the agent logs the would-be denial under log_decisions = denials" \
        log_line "$WORK/agent.log" "msg=decision" "would_deny=cert_untrusted" "would_rule=allow_thumbprints"
    check "shadow: ... as allowed, by rule shadow, policy watch" \
        log_line "$WORK/agent.log" "would_deny=cert_untrusted" "verdict=allow" "rule=shadow" "policy=watch"
    check "shadow: HAProxy's log line has would_deny" \
        log_line "$WORK/haproxy.log" "/shadow/x" "would_deny=cert_untrusted/allow_thumbprints"
    get json "$SP" /stats.json
    check "shadow: /stats.json recent denials has it, marked shadow, with its rule" \
        matches "$BODY" '"code":"cert_untrusted","policy":"watch",[^}]*"rule":"allow_thumbprints","shadow":true'
    get metrics "$SP" /metrics
    check "shadow: /metrics certspoa_shadow_denials_total by code and rule" \
        matches "$BODY" 'certspoa_shadow_denials_total\{code="cert_untrusted",rule="allow_thumbprints"\} 1'
    REQ_PATH=/shadow/y
    req_cert shadow-ok allowed
    sleep 0.3
    check "shadow: an allowed certificate is not logged under denials" \
        eq "$(grep -c '/shadow/y\|would_deny=.*sha256='"$(cat "$PKI/allowed.sha256")" "$WORK/agent.log")" 0

    # --- 2. one grep joins HAProxy's log line and the agent's
    REQ_PATH=/api/ping
    req_cert enforce notlisted
    check "enforce: unlisted certificate -> 403" eq "$STATUS" 403
    RID=$(json_field req_id)
    check "enforce: the 403 body has a req_id" ne "$RID" ""
    check "enforce: ... and the X-Certspoa-Req-Id header, the same" eq "$(hdr X-Certspoa-Req-Id)" "$RID"
    sleep 0.3
    check "join: HAProxy's log line for req_id" log_line "$WORK/haproxy.log" "req_id=$RID" " 403 "
    check "join: ... says the verdict and rule" \
        log_line "$WORK/haproxy.log" "req_id=$RID" "certspoa=deny/cert_untrusted/allow_thumbprints"
    check "join: the agent's decision line for the same req_id, with its rule" \
        log_line "$WORK/agent.log" "req_id=$RID" "verdict=deny" "code=cert_untrusted" "rule=allow_thumbprints"
    get json2 "$SP" /stats.json
    check "enforce: /stats.json recent denials: rule, not shadow, req_id" \
        matches "$BODY" "\"rule\":\"allow_thumbprints\",\"shadow\":false,\"req_id\":\"$RID\""
    get metrics2 "$SP" /metrics
    check "enforce: /metrics decision counter by rule" \
        matches "$BODY" 'certspoa_decisions_total\{verdict="deny",code="cert_untrusted",rule="allow_thumbprints"\} 1'
    check "enforce: ... and the shadow allow under rule shadow" \
        matches "$BODY" 'certspoa_decisions_total\{verdict="allow",code="ok",rule="shadow"\} 1'
    req_cert expired expired
    check "enforce: expired -> 403 cert_unverified" eq "$STATUS/$(json_field code)" 403/cert_unverified
    get metrics3 "$SP" /metrics
    check "enforce: expired and unlisted are told apart by the rule label" \
        matches "$BODY" 'certspoa_decisions_total\{verdict="deny",code="cert_unverified",rule="cert_expired"\} 1'

    # --- 4. explain agrees with production (verify = haproxy)
    for c in expired untrusted; do
        req_cert "live-$c" "$c"
        live="$(json_field code)/$(json_field rule)"
        out=$("$CERTSPOA_BIN" explain -f "$WORK/agent.ini" --cert "$PKI/$c.crt" --path /api/ping 2>&1)
        check "explain = live for $c (verify = haproxy, the policy's ca_file): $live" \
            eq "$(kv code "$out")/$(kv rule "$out")" "$live"
        check "explain says how it got ssl_c_verify for $c (computed against ca_file)" \
            has "$out" "computed as HAProxy would against $PKI/ca.pem"
        out=$("$CERTSPOA_BIN" explain -f "$WORK/noca.ini" --path /api/ping --cert "$PKI/$c.crt" --haproxy-ca "$PKI/ca.pem" 2>&1)
        check "explain --haproxy-ca = live for $c: $live" eq "$(kv code "$out")/$(kv rule "$out")" "$live"
        out=$("$CERTSPOA_BIN" explain -f "$WORK/noca.ini" --path /api/ping --cert "$PKI/$c.crt" 2>&1)
        check "explain without a CA says it ASSUMED HAProxy's result for $c" \
            has "$out" "ssl_c_verify: 0 ASSUMED"
    done
    stop_pid "$HAP_PID"
else
    fail "agent and mtls-api example start" "$WHY"
fi

# explain --json, --time in ISO 8601; inspect --json
out=$("$CERTSPOA_BIN" explain -f "$WORK/agent.ini" --path /api/ping --cert "$PKI/allowed.crt" --json \
    --time "$(date -u -d '+1 hour' +%Y-%m-%dT%H:%M:%SZ)")
check "explain --json: one JSON object with verdict, rule, ssl_c_verify source" \
    eq "$(printf '%s' "$out" | python3 -c 'import json,sys; d=json.load(sys.stdin); print(d["verdict"], d["rule"], d["ssl_c_verify"]["source"], len(d["checks"]) > 2)')" \
    "allow allow_thumbprints computed True"
na=$(openssl x509 -in "$PKI/allowed.crt" -noout -enddate | sed 's/notAfter=//')
out=$("$CERTSPOA_BIN" explain -f "$WORK/agent.ini" --path /api/ping --cert "$PKI/allowed.crt" \
    --time "$(date -u -d "$na + 1 day" +%Y-%m-%dT%H:%M:%SZ)")
check "explain --time ISO 8601, one day after not_after: expired, days_left -1" \
    eq "$(kv rule "$out")/$(kv days_left "$out")" "cert_expired/-1"
out=$("$CERTSPOA_BIN" explain -f "$WORK/agent.ini" --path /api/ping --cert "$PKI/allowed.crt" \
    --time "$(date -u -d "$na" +%Y-%m-%d)")
check "explain --time YYYY-MM-DD (midnight UTC, before not_after): allowed" eq "$(kv verdict "$out")" allow
"$CERTSPOA_BIN" explain -f "$WORK/agent.ini" --path /api/ping --cert "$PKI/allowed.crt" --time 2026-02-30 >/dev/null 2>&1
check "explain --time 2026-02-30: usage error (64)" eq "$?" 64
out=$("$CERTSPOA_BIN" inspect --json "$PKI/allowed.crt" "$PKI/chained-full.crt")
check "inspect --json: a JSON array, one object per certificate, days_left a number" \
    eq "$(printf '%s' "$out" | python3 -c 'import json,sys; d=json.load(sys.stdin); print(len(d), d[0]["sha256"], type(d[0]["days_left"]).__name__)')" \
    "3 $(cat "$PKI/allowed.sha256") int"
[ -z "${AGENT_PID:-}" ] || stop_agent "$AGENT_PID"

# --- 3. deny_detail, per policy
agent_ini "$WORK/dd.ini" 127.0.0.1:0 "$WORK/dd.ready" haproxy "$PKI/ca.pem" "$WORK/allowed.txt" ||
    fail "agent config from the example"
for lvl in none code; do
    cat >>"$WORK/dd.ini" <<INI

[policy p$lvl]
verify = haproxy
thumbprints = $WORK/allowed.txt
deny_detail = $lvl

[route r$lvl]
path_prefix = /$lvl/
policy = p$lvl
INI
done
if start_agent agent-dd "$WORK/dd.ini" "$WORK/dd.ready" &&
   test_cfg "$EXAMPLE/haproxy.cfg" "$WORK/dd.cfg" &&
   start_example haproxy-dd "$WORK/dd.cfg" "$AGENT_ADDR" "$TOP/spoe-conf/certspoa.conf"; then
    REQ_PATH=/none/x
    req_cert dd-none notlisted
    check "deny_detail = none: 403, body says the status only" eq "$STATUS $BODY" '403 {"status":403}'
    check "deny_detail = none: no X-Certspoa-Code, -Reason, -Rule or -Req-Id header" \
        eq "$(printf '%s\n' "$HDRS" | grep -ci '^x-certspoa-')" 0
    REQ_PATH=/code/x
    req_cert dd-code notlisted
    check "deny_detail = code: body has the code only" eq "$STATUS $BODY" '403 {"status":403,"code":"cert_untrusted"}'
    check "deny_detail = code: X-Certspoa-Code and nothing else" \
        eq "$(hdr X-Certspoa-Code)/$(printf '%s\n' "$HDRS" | grep -ci '^x-certspoa-')" cert_untrusted/1
    REQ_PATH=/api/x
    req_cert dd-hint notlisted
    check "deny_detail = hint (default): code, reason, rule, detail, req_id in the body" \
        eq "$(json_field code)/$(json_field rule)/$(json_field detail)/$([ -n "$(json_field req_id)" ] && echo id)" \
        "cert_untrusted/allow_thumbprints/thumbprint is not on the trusted list/id"
    check "deny_detail = hint: X-Certspoa-Code, -Reason, -Rule, -Req-Id" \
        eq "$(hdr X-Certspoa-Code)/$(hdr X-Certspoa-Rule)/$(hdr X-Certspoa-Req-Id)" \
        "cert_untrusted/allow_thumbprints/$(json_field req_id)"
    check "deny_detail = hint: X-Certspoa-Reason" eq "$(hdr X-Certspoa-Reason)" \
        "Client certificate is untrusted or invalid"
    # a request refused before routing: the default policy's deny_detail
    REQ_PATH="/none/a;b"
    req_cert dd-route notlisted
    check "refused before routing (path_ambiguous): default policy's hint" \
        eq "$STATUS/$(json_field code)/$(json_field rule)" 403/bad_request/path_ambiguous
    REQ_PATH=/none/ok
    req_cert dd-allowed allowed
    check "deny_detail = none: an allowed certificate still gets through" eq "$STATUS" 200
    stop_pid "$HAP_PID"
else
    fail "agent (deny_detail) and mtls-api example start" "$WHY"
fi

# --- 5. the per-connection example: would_deny and req_id in its log line,
# deny_detail in its 403
[ -z "${AGENT_PID:-}" ] || stop_agent "$AGENT_PID"
agent_ini "$WORK/pc.ini" 127.0.0.1:0 "$WORK/pc.ready" haproxy "$PKI/ca.pem" "$WORK/allowed.txt" ||
    fail "agent config from the example"
sed -i "s|^deny_status = .*|&\ndeny_detail = none|" "$WORK/pc.ini"
printf '\n[policy watch]\nmode = shadow\nverify = haproxy\nthumbprints = %s\n' "$WORK/allowed.txt" >>"$WORK/pc.ini"
if AGENT_FLAGS="" start_agent_with agent-pc "$WORK/pc.ini" "$WORK/pc.ready" 5 &&
   test_cfg "$EXAMPLES/mtls-per-connection/haproxy.cfg" "$WORK/pc.cfg" &&
   start_example haproxy-pc "$WORK/pc.cfg" "$AGENT_ADDR" \
       "$EXAMPLES/mtls-per-connection/certspoa-per-connection.conf"; then
    REQ_PATH=/pc/x
    req_cert pc-deny notlisted
    check "per-connection, deny_detail = none: 403 with no code, no X-Certspoa-Code" \
        eq "$STATUS/$(json_field code)/$(hdr X-Certspoa-Code)" "403//"
    sleep 0.3
    check "per-connection: HAProxy's line has req_id, the agent logs the same" \
        log_line "$WORK/haproxy-pc.log" "/pc/x" "req_id="
    rid=$(printf '%s\n' "$LINE" | sed -n 's/.* req_id=\([^ ]*\) .*/\1/p')
    check "per-connection: ... the agent's decision line for req_id $rid" \
        log_line "$WORK/agent-pc.log" "req_id=$rid" "code=cert_untrusted"
    stop_pid "$HAP_PID"
    stop_agent "$AGENT_PID"
    sed -i 's|^deny_detail = none|mode = shadow|' "$WORK/pc.ini"
    if AGENT_FLAGS="" start_agent_with agent-pc2 "$WORK/pc.ini" "$WORK/pc.ready" 5 &&
       start_example haproxy-pc2 "$WORK/pc.cfg" "$AGENT_ADDR" \
           "$EXAMPLES/mtls-per-connection/certspoa-per-connection.conf"; then
        REQ_PATH=/pc/shadow
        req_cert pc-shadow notlisted
        sleep 0.3
        check "per-connection, shadow: 200 and HAProxy's line has would_deny" \
            log_line "$WORK/haproxy-pc2.log" "/pc/shadow" " 200 " "would_deny=cert_untrusted"
        stop_pid "$HAP_PID"
    else
        fail "per-connection example (shadow) starts" "$WHY"
    fi
else
    fail "agent and mtls-per-connection example start" "$WHY"
fi

finish "${SUITE_NAME:-adv-visibility}"
