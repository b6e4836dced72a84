#!/usr/bin/env bash
# t-stats.sh - the stats listener off loopback: /metrics, /healthz and
# /readyz are public (and /metrics carries no subject, thumbprint or
# address); every other page needs "Authorization: Bearer <token_file's
# token>" (401 with WWW-Authenticate otherwise), or answers 403 with no
# token_file. A loopback listener serves everything. The token is re-read on
# reload; certspoa -c validates token_file.
#
# Traffic goes through the shipped mtls-api example first, so the pages hold
# real subjects, thumbprints and client addresses.
#
#   tests/adversarial/t-stats.sh
#   HAPROXY="tests/versions/haproxy.sh 3.2" tests/adversarial/t-stats.sh
. "$(dirname "$0")/examples-lib.sh"

workdir adv-stats
make_pki || { fail "test PKI" "see $WORK/pki.log"; finish "${SUITE_NAME:-adv-stats}"; exit; }
printf '%s\n' "$(cat "$PKI/allowed.sha256")" >"$WORK/allowed.txt"
TOKEN=$(openssl rand -hex 24)
printf '%s\n' "$TOKEN" >"$WORK/token"
chmod 0600 "$WORK/token"
ALLOWED_SHA=$(cat "$PKI/allowed.sha256")
DENIED_SHA=$(openssl x509 -in "$PKI/notlisted.crt" -outform DER | sha256sum | cut -c1-64)

# stats_ini OUT LISTEN [TOKEN_FILE] - the example's agent config plus [stats]
stats_ini() {
    agent_ini "$1" 127.0.0.1:0 "$1.ready" haproxy "$PKI/ca.pem" "$WORK/allowed.txt" || return 1
    printf '\n[stats]\nlisten = %s\n' "$2" >>"$1"
    [ -z "${3:-}" ] || printf 'token_file = %s\n' "$3" >>"$1"
}

# get TAG PORT PATH [CURL ARGS] - plain HTTP GET on the stats port
get() {
    local tag=${1//[^A-Za-z0-9_.-]/_} port=$2 path=$3
    shift 3
    STATUS=$($CURL -s --max-time 5 -o "$WORK/resp/$tag.body" -D "$WORK/resp/$tag.hdrs" \
        -w '%{http_code}' "$@" "http://127.0.0.1:$port$path")
    BODY=$(cat "$WORK/resp/$tag.body" 2>/dev/null)
    HDRS=$(tr -d '\r' <"$WORK/resp/$tag.hdrs" 2>/dev/null)
}

# nothing_secret - the last body has no subject, thumbprint or client address
nothing_secret() {
    hasnt "$BODY" "allowed client" && hasnt "$BODY" "$ALLOWED_SHA" && hasnt "$BODY" "$DENIED_SHA" &&
        hasnt "$BODY" "not listed" && hasnt "$BODY" "127.0.0.1"
}

# --- 1. a wildcard listener with a token_file
free_port SP
stats_ini "$WORK/a.ini" "0.0.0.0:$SP" "$WORK/token" || fail "agent config"
sed -i 's|^\[agent\]$|[agent]\nreload_watch = 200ms|' "$WORK/a.ini"
out=$("$CERTSPOA_BIN" -c -f "$WORK/a.ini" 2>&1)
check "certspoa -c accepts token_file (0600), no warning" eq "$?/$(printf '%s' "$out" | grep -ci warning)" 0/0
if start_agent agent "$WORK/a.ini" "$WORK/a.ini.ready" &&
   test_cfg "$EXAMPLE/haproxy.cfg" "$WORK/api.cfg" &&
   start_example haproxy "$WORK/api.cfg" "$AGENT_ADDR" "$TOP/spoe-conf/certspoa.conf"; then
    req_cert t-allowed allowed
    check "traffic: allowed certificate -> 200" eq "$STATUS" 200
    req_cert t-denied notlisted
    check "traffic: unlisted certificate -> 403" eq "$STATUS" 403

    for p in /metrics /healthz /readyz; do
        get "pub$p" "$SP" "$p"
        check "0.0.0.0: $p without a token -> 200" eq "$STATUS" 200
    done
    get metrics "$SP" /metrics
    check "0.0.0.0: /metrics counts the decisions" matches "$BODY" 'certspoa_decisions_total\{verdict="deny",code="cert_untrusted"(,rule="[a-z_]+")?\} [1-9]'
    check "0.0.0.0: /metrics has no subject, thumbprint or client address" nothing_secret

    for p in / /stats.json /config /no-such-page "/stats.json?x=1"; do
        get "anon$p" "$SP" "$p"
        check "0.0.0.0: $p without a token -> 401" eq "$STATUS" 401
        check "0.0.0.0: $p 401 carries WWW-Authenticate: Bearer" matches "$(hdr WWW-Authenticate)" '^Bearer '
        check "0.0.0.0: $p 401 shows nothing of the page" nothing_secret
    done
    get wrong "$SP" /stats.json -H "Authorization: Bearer ${TOKEN}x"
    check "0.0.0.0: a wrong token -> 401" eq "$STATUS" 401
    get basic "$SP" /stats.json -u "certspoa:$TOKEN"
    check "0.0.0.0: the token as Basic credentials -> 401" eq "$STATUS" 401
    get query "$SP" "/stats.json?access_token=$TOKEN"
    check "0.0.0.0: the token in the query string -> 401" eq "$STATUS" 401
    get good "$SP" /stats.json -H "Authorization: Bearer $TOKEN"
    check "0.0.0.0: /stats.json with the token -> 200" eq "$STATUS" 200
    check "0.0.0.0: ... and it is the page with the thumbprints" has "$BODY" "$ALLOWED_SHA"
    get good-html "$SP" / -H "authorization: bearer $TOKEN"
    check "0.0.0.0: / with the token (any case) -> 200" eq "$STATUS" 200
    get good-config "$SP" /config -H "Authorization: Bearer $TOKEN"
    check "0.0.0.0: /config with the token -> 200, the effective configuration" \
        eval '[ "$STATUS" = 200 ] && has "$BODY" "[policy default]"'
    check "0.0.0.0: /config never shows the token" hasnt "$BODY" "$TOKEN"

    # rotate the token: reload picks the new one up, the old one stops working
    NEW=$(openssl rand -hex 24)
    printf '%s\n' "$NEW" >"$WORK/token"
    kill -HUP "$AGENT_PID"
    wait_until 5 file_has "$WORK/agent.log" "generation 2"
    get old "$SP" /stats.json -H "Authorization: Bearer $TOKEN"
    check "reload: the old token -> 401" eq "$STATUS" 401
    get new "$SP" /stats.json -H "Authorization: Bearer $NEW"
    check "reload: the new token -> 200" eq "$STATUS" 200
    # reload_watch notices a rotated token file by itself
    sleep 1.1     # a new mtime even on coarse-grained file systems
    NEW2=$(openssl rand -hex 24)
    printf '%s\n' "$NEW2" >"$WORK/token.tmp" && mv "$WORK/token.tmp" "$WORK/token"
    check "reload_watch: a rotated token file is reloaded" wait_until 5 file_has "$WORK/agent.log" "generation 3"
    get new2 "$SP" /stats.json -H "Authorization: Bearer $NEW2"
    check "reload_watch: the rotated token -> 200" eq "$STATUS" 200
    get new-old "$SP" /stats.json -H "Authorization: Bearer $NEW"
    check "reload_watch: the token before it -> 401" eq "$STATUS" 401
    stop_pid "$HAP_PID"
    stop_agent "$AGENT_PID"
else
    fail "agent and HAProxy start" "$WHY"
fi

# --- 2. a wildcard listener without token_file: the private pages are off
free_port SP
stats_ini "$WORK/b.ini" "0.0.0.0:$SP" || fail "agent config"
if start_agent agent-b "$WORK/b.ini" "$WORK/b.ini.ready"; then
    get b-root "$SP" / -H "Authorization: Bearer $TOKEN"
    check "0.0.0.0, no token_file: / -> 403" eq "$STATUS" 403
    check "0.0.0.0, no token_file: the 403 says to set token_file" has "$BODY" "token_file"
    get b-json "$SP" /stats.json
    check "0.0.0.0, no token_file: /stats.json -> 403" eq "$STATUS" 403
    get b-metrics "$SP" /metrics
    check "0.0.0.0, no token_file: /metrics -> 200" eq "$STATUS" 200
    get b-ready "$SP" /readyz
    check "0.0.0.0, no token_file: /readyz -> 200" eq "$STATUS" 200
    stop_agent "$AGENT_PID"
else
    fail "agent without token_file starts" "$WHY"
fi

# --- 3. a loopback listener: everything, as before
free_port SP
stats_ini "$WORK/c.ini" "127.0.0.1:$SP" || fail "agent config"
if start_agent agent-c "$WORK/c.ini" "$WORK/c.ini.ready"; then
    get c-json "$SP" /stats.json
    check "127.0.0.1: /stats.json without a token -> 200" eq "$STATUS" 200
    stop_agent "$AGENT_PID"
else
    fail "agent on loopback starts" "$WHY"
fi

# --- 4. certspoa -c on token_file
chmod 0644 "$WORK/token"
out=$("$CERTSPOA_BIN" -c -f "$WORK/a.ini" 2>&1)
rc=$?
check "certspoa -c: world-readable token_file -> valid, with a warning" \
    eq "$rc $(printf '%s' "$out" | grep -c 'WARNING: token_file .*readable by every user')" "0 1"
sed -i "s|^token_file = .*|token_file = $WORK/missing-token|" "$WORK/a.ini"
out=$("$CERTSPOA_BIN" -c -f "$WORK/a.ini" 2>&1)
rc=$?
check "certspoa -c: missing token_file -> exit 78 naming file:line: token_file" \
    eq "$rc $(printf '%s' "$out" | grep -c "a.ini:[0-9]*: token_file: .*missing-token")" "78 1"
: >"$WORK/empty-token"
sed -i "s|^token_file = .*|token_file = $WORK/empty-token|" "$WORK/a.ini"
"$CERTSPOA_BIN" -c -f "$WORK/a.ini" >/dev/null 2>&1
check "certspoa -c: empty token_file -> exit 78" eq "$?" 78

finish "${SUITE_NAME:-adv-stats}"
