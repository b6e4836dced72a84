#!/usr/bin/env bash
# t-urls.sh - jwks_file given as an https:// URL, end to end through
# HAProxy (run.sh runs it once per HAProxy version), with tokens minted by
# tests/token/mint.c and sent by curl:
#   - no copy in state_dir and the server down: a token policy denies
#     every request (list_unavailable), even with a good token
#   - the server answers: the JWKS is fetched over HTTPS, checked by the
#     token module's parser and loaded (a reload): a bound token signed by
#     its key is accepted
#   - the server rotates to a new key: old tokens refused, new accepted,
#     with no operator action
#   - a broken JWKS at the server is refused, the last good one stays
#   - restart with the server down: the last good copy from state_dir
# and the same for a SPIFFE bundle endpoint (spiffe_bundles = TD=@https://),
# with the SPIFFE test PKI (tests/spiffe/pki.sh):
#   - no copy yet: that trust domain's certificates are denied
#     (list_unavailable), another trust domain's still pass
#   - fetched: its SVIDs pass; the server rotates the CA: the new SVIDs
#     pass, the old ones are refused; a broken bundle is refused
#   - restart with the server down: the last good copy
#   - an http:// bundle endpoint is refused (https only)
set -u
TOP=$(cd "$(dirname "$0")/../.." && pwd)
. "$TOP/tests/integration/lib.sh"
. "$TOP/tests/revocation/lib.sh"
NAME=${SUITE_NAME:-rev-urls}
MINT=${MINT_BIN:-$TOP/build/tests/token/mint}

workdir revocation-urls
WWW=$WORK/www
mkdir -p "$WWW" "$WORK/state"
if [ ! -x "$MINT" ]; then
    fail "mint helper" "no $MINT (make token or make revocation builds it)"
    finish "$NAME"
    exit 1
fi
if ! { free_port JWKS_PORT && free_port AGENT_PORT && free_port AGENT_STATS_PORT; }; then
    fail "free ports" "none"
    finish "$NAME"
    exit 1
fi
PKI=$WORK/pki
rev_pki "$PKI" "http://127.0.0.1:1/unused.crl"
check "test PKI" test -s "$PKI/good.crt"
export CRLSRV_CERT=$PKI/server.crt CRLSRV_KEY=$PKI/server.key

for k in key1 key2; do
    openssl genpkey -algorithm EC -pkeyopt ec_paramgen_curve:P-256 -out "$WORK/$k.key" \
        >>"$WORK/openssl.log" 2>&1
done
check "signing keys" test -s "$WORK/key2.key"
NOW=$(date +%s)
X5T=$("$MINT" x5t "$PKI/good.crt")
CLAIMS="{\"sub\":\"alice\",\"exp\":$((NOW + 3600)),\"cnf\":{\"x5t#S256\":\"$X5T\"}}"
TOK1=$("$MINT" sign "$WORK/key1.key" ES256 '{"alg":"ES256","kid":"k1","typ":"at+jwt"}' "$CLAIMS")
TOK2=$("$MINT" sign "$WORK/key2.key" ES256 '{"alg":"ES256","kid":"k2","typ":"at+jwt"}' "$CLAIMS")
check "tokens minted" test -n "$TOK1" -a -n "$TOK2"
# serve KEYNAME KID - the JWKS at the server holds that key only
serve() {
    printf '{"keys":[%s]}\n' "$("$MINT" jwk "$WORK/$1.key" "$2")" >"$WWW/jwks.json.new" &&
        mv "$WWW/jwks.json.new" "$WWW/jwks.json"
}
serve key1 k1
URL=https://localhost:$JWKS_PORT/jwks.json

# tok_code NAME TOKEN - status and X-Certspoa-Code with client NAME and a bearer token
tok_code() {
    local c
    req_cert "$1-$(date +%s%N)" "$1" -H "Authorization: Bearer $2"
    c=$(hdr X-Certspoa-Code)
    printf '%s%s' "$STATUS" "${c:+ $c}"
}
tok_is() { [ "$(tok_code "$1" "$2")" = "$3" ]; }

INI=$WORK/agent.ini
rev_ini "$INI" "state_dir = $WORK/state" "list_refresh = 1s" "fetch_ca_file = $PKI/ca.pem" \
    "fetch_timeout = 2s" "policy:token = required" "policy:jwks_file = @$URL"
check "agent starts with a JWKS URL, no copy yet, server down" rev_agent agent "$INI"
check "haproxy starts ($HAPROXY)" start_haproxy haproxy "127.0.0.1:$AGENT_PORT"
tok_code good "$TOK1" >/dev/null
check "no copy, server down: a good token is denied (fail closed)" \
    eq "$STATUS $(hdr X-Certspoa-Rule)" "403 list_unavailable"

crlsrv_start "$JWKS_PORT"
check "server up: the JWKS is fetched over HTTPS and loaded: token 1 -> 200" wait_until 10 tok_is good "$TOK1" 200
check "the copy is in state_dir" test -n "$(ls "$WORK/state"/jwks-*.json 2>/dev/null)"
check "a token signed by a key not in it: 401" eq "$(tok_code good "$TOK2")" "401 token_invalid"
check "no token (token = required): 401" eq "$(code_of good)" "401 token_missing"

serve key2 k2
check "the server rotates its key: token 2 accepted, no operator action" wait_until 10 tok_is good "$TOK2" 200
check "rotated: token 1 refused" eq "$(tok_code good "$TOK1")" "401 token_invalid"

printf '{"keys":[{"kty":"EC","crv":"P-256","x":"AAAA"}]}\n' >"$WWW/jwks.json"
check "a broken JWKS at the server is refused (the token parser's error)" \
    wait_until 10 source_err_has "$URL" "JWKS:"
check "the last good JWKS stays: token 2 accepted" eq "$(tok_code good "$TOK2")" 200
check "the last good JWKS stays: token 1 refused" eq "$(tok_code good "$TOK1")" "401 token_invalid"

crlsrv_stop
check "restart with the server down" rev_agent agent "$INI"
check "restart, server down: the last good copy (token 2 accepted)" eq "$(tok_code good "$TOK2")" 200
check "restart, server down: token 1 refused" eq "$(tok_code good "$TOK1")" "401 token_invalid"

stop_haproxy
stop_agent "$AGENT_PID"
check "agent exits 0" eq "$AGENT_RC" 0

# ---------------------------------------------- a SPIFFE bundle endpoint
PKI=$WORK/spki
if ! "$TOP/tests/spiffe/pki.sh" "$PKI" >"$WORK/spki.log" 2>&1; then
    fail "the SPIFFE test PKI" "see $WORK/spki.log"
    finish "$NAME"
    exit 1
fi
export CRLSRV_CERT=$PKI/server.crt CRLSRV_KEY=$PKI/server.key
BURL=https://localhost:$JWKS_PORT/td1.json
cp "$PKI/td1-bundle.json" "$WWW/td1.json"
# spiffe_ini OUT BUNDLE-URL
spiffe_ini() {
    cat >"$1" <<EOF
[agent]
listen = 127.0.0.1:$AGENT_PORT
ready_file = $WORK/agent.ready
threads = 2
state_dir = $WORK/state
list_refresh = 1s
fetch_ca_file = $PKI/ca.pem
fetch_timeout = 2s
[stats]
listen = 127.0.0.1:$AGENT_STATS_PORT
[policy default]
require_cert = yes
verify = agent
spiffe_bundles = td1.test=@$2, td2.test=$PKI/td2-bundle.pem
EOF
}
spiffe_ini "$INI" "$BURL"
check "agent starts with a bundle URL, no copy yet, server down" rev_agent agent "$INI"
check "haproxy starts with the SPIFFE PKI" start_haproxy haproxy "127.0.0.1:$AGENT_PORT"
code_of td1-web >/dev/null
check "no copy: td1.test's SVID is denied (fail closed)" \
    eq "$STATUS $(hdr X-Certspoa-Rule)" "403 list_unavailable"
check "no copy of td1.test: td2.test's SVID still passes" eq "$(code_of td2-db)" 200

crlsrv_start "$JWKS_PORT"
check "server up: the bundle is fetched and loaded: td1-web 200" wait_until 10 code_is td1-web 200
check "the bundle's copy is in state_dir" test -n "$(ls "$WORK/state"/bundle-*.json 2>/dev/null)"
check "an SVID of the next td1 CA: not yet" eq "$(code_of rotated)" "403 cert_unverified"

cp "$PKI/td1-bundle2.json" "$WWW/td1.json.new" && mv "$WWW/td1.json.new" "$WWW/td1.json"
check "the server rotates td1's CA: the new SVID passes" wait_until 10 code_is rotated 200
check "rotated: the old CA's SVID is refused" eq "$(code_of td1-web)" "403 cert_unverified"

printf '{"keys":[]}\n' >"$WWW/td1.json"
check "a broken bundle at the server is refused (the bundle parser's error)" \
    wait_until 10 source_err_has "$BURL" "SPIFFE bundle:"
check "the last good bundle stays: rotated 200" eq "$(code_of rotated)" 200

crlsrv_stop
check "restart with the server down" rev_agent agent "$INI"
check "restart, server down: the last good copy (rotated 200)" eq "$(code_of rotated)" 200
check "restart, server down: td1-web refused" eq "$(code_of td1-web)" "403 cert_unverified"

spiffe_ini "$WORK/http.ini" "http://localhost:$JWKS_PORT/td1.json"
check "an http:// bundle endpoint is refused (https only)" \
    has "$("$CERTSPOA_BIN" -c -f "$WORK/http.ini" 2>&1)" "must be https://"

stop_haproxy
stop_agent "$AGENT_PID"
check "agent exits 0 (SPIFFE part)" eq "$AGENT_RC" 0
finish "$NAME"
