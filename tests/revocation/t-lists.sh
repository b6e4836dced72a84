#!/usr/bin/env bash
# t-lists.sh - a policy list given as an https:// URL, end to end through
# HAProxy (run.sh runs it once per HAProxy version):
#   - no copy in state_dir and the server down: every request is denied
#     (list_unavailable), never allowed
#   - the server answers: the list is fetched over HTTPS (fetch_ca_file),
#     checked by the configuration's own parser and loaded (a reload)
#   - changed at the server: takes effect; a broken list is refused and
#     the last good one stays
#   - restart with the server down: the last good copy from state_dir
#   - an HTTPS server the agent cannot verify: a TLS error, nothing loaded
set -u
TOP=$(cd "$(dirname "$0")/../.." && pwd)
. "$TOP/tests/integration/lib.sh"
. "$TOP/tests/revocation/lib.sh"
NAME=${SUITE_NAME:-rev-lists}

workdir revocation-lists
WWW=$WORK/www
mkdir -p "$WWW" "$WORK/state"
if ! { free_port LIST_PORT && free_port AGENT_PORT && free_port AGENT_STATS_PORT; }; then
    fail "free ports" "none"
    finish "$NAME"
    exit 1
fi
PKI=$WORK/pki
rev_pki "$PKI" "http://127.0.0.1:1/unused.crl"
check "test PKI" test -s "$PKI/good.crt"
URL=https://localhost:$LIST_PORT/tp.txt
tp() { openssl x509 -in "$PKI/$1.crt" -outform DER | sha256sum | cut -d' ' -f1; }
printf '# allowed clients\n%s\n' "$(tp good)" >"$WWW/tp.txt"
export CRLSRV_CERT=$PKI/server.crt CRLSRV_KEY=$PKI/server.key

INI=$WORK/agent.ini
rev_ini "$INI" "state_dir = $WORK/state" "list_refresh = 1s" "fetch_ca_file = $PKI/ca.pem" \
    "fetch_timeout = 2s" "policy:thumbprints = @$URL"
check "agent starts with a list URL, no copy yet, server down" rev_agent agent "$INI"
check "haproxy starts ($HAPROXY)" start_haproxy haproxy "127.0.0.1:$AGENT_PORT"
code_of good >/dev/null
check "no copy, server down: good is denied (fail closed)" eq "$STATUS $(hdr X-Certspoa-Rule)" "403 list_unavailable"
check "certspoa -c says nothing is wrong with the config" "$CERTSPOA_BIN" -c -f "$INI"

crlsrv_start "$LIST_PORT"
check "server up: the list is fetched over HTTPS and loaded: good 200" wait_until 10 code_is good 200
check "a client not on the list: 403 cert_untrusted" eq "$(code_of ka)" "403 cert_untrusted"
check "the agent reloaded because the list changed" file_has "$WORK/agent.log" "a list given as a URL changed"
check "the copy is in state_dir" test -n "$(ls "$WORK/state"/list-*.txt 2>/dev/null)"

printf '%s\n' "$(tp ka)" >"$WWW/tp.txt.new" && mv "$WWW/tp.txt.new" "$WWW/tp.txt"
check "changed at the server: ka allowed" wait_until 10 code_is ka 200
check "changed at the server: good no longer" eq "$(code_of good)" "403 cert_untrusted"

printf '%s\nnot-a-thumbprint\n' "$(tp good)" >"$WWW/tp.txt.new" && mv "$WWW/tp.txt.new" "$WWW/tp.txt"
check "a broken list at the server is refused (the parser's error)" \
    wait_until 10 source_err_has "$URL" "not a SHA-1 or SHA-256 hex digest"
check "the last good list stays: ka 200" eq "$(code_of ka)" 200
check "the last good list stays: good denied" eq "$(code_of good)" "403 cert_untrusted"

crlsrv_stop
check "restart with the server down" rev_agent agent "$INI"
check "restart, server down: the last good copy (ka 200)" eq "$(code_of ka)" 200
check "restart, server down: good denied" eq "$(code_of good)" "403 cert_untrusted"

rev_ini "$INI" "state_dir = $WORK/state" "list_refresh = 1s" "fetch_timeout = 2s" \
    "policy:thumbprints = @$URL"
crlsrv_start "$LIST_PORT"
check "agent without fetch_ca_file (system CAs)" rev_agent agent "$INI"
check "a server the agent cannot verify: a TLS error" wait_until 10 source_err_has "$URL" "certificate"
check "TLS error: the last good copy stays (ka 200)" eq "$(code_of ka)" 200

stop_haproxy
stop_agent "$AGENT_PID"
check "agent exits 0" eq "$AGENT_RC" 0
finish "$NAME"
