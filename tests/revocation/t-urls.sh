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
finish "$NAME"
