#!/usr/bin/env bash
# tests/token/run.sh - certificate-bound access tokens (RFC 8705) end to
# end: tokens minted here (tests/token/mint.c, OpenSSL) and sent by a real
# curl with a client certificate and an Authorization header through the
# shipped haproxy-examples/mtls-api and spoe-conf/certspoa.conf, on each
# HAProxy of VERSIONS (default "2.6 3.2"; 3.x through tests/versions/).
#
#   make token                        (builds certspoa and the mint helper)
#   VERSIONS=2.6 ONLY=binding tests/token/run.sh
#
# The agent: policy default with token = required (issuer and audience
# set), and a route /optional/ to a policy with token = bound. Checked per
# version: a valid token for each of RS256 PS256 ES256 EdDSA (200, claims
# forwarded as X-Token-*, forged X-Token-* dropped); the same token with
# another certificate on the same agent connection (401
# token_binding_mismatch, then 200 again with the right one); unbound,
# expired, wrong issuer, wrong audience, alg none, HS256 keyed with the
# public JWKS, a bad signature, an unknown kid, an oversized token, a hex
# binding, two Authorization headers, none at all (401 and the RFC 6750
# WWW-Authenticate), and token = bound without a token (200) or with a
# token hidden behind another scheme (401); shadow mode passes a refused
# token without forwarding its claims.
# Ends with exactly one line "token: N passed, N failed".
set -u
. "$(dirname "$0")/../integration/lib.sh"

MINT=${MINT_BIN:-$TOP/build/tests/token/mint}
VERSIONS=${VERSIONS:-2.6 3.2}
ISS=https://as.example
AUD=api.example

workdir token
note "agent: $CERTSPOA_BIN, versions: $VERSIONS"
if [ ! -x "$MINT" ]; then
    fail "mint helper" "no $MINT (make token builds it)"
    finish token
    exit 1
fi
if ! make_pki; then
    fail "test PKI" "see $WORK/pki.log"
    finish token
    exit 1
fi
cd "$WORK" || exit 1

# ------------------------------------------------------------ keys, tokens

ossl() { openssl "$@" >>"$WORK/openssl.log" 2>&1; }
if ! { ossl genpkey -algorithm RSA -pkeyopt rsa_keygen_bits:2048 -out rsa.key &&
       ossl genpkey -algorithm RSA -pkeyopt rsa_keygen_bits:2048 -out rogue.key &&
       ossl genpkey -algorithm EC -pkeyopt ec_paramgen_curve:P-256 -out ec.key &&
       ossl genpkey -algorithm ed25519 -out ed.key; }; then
    fail "signing keys" "see $WORK/openssl.log"
    finish token
    exit 1
fi
printf '{"keys":[%s,%s,%s]}\n' "$("$MINT" jwk rsa.key rsa1)" "$("$MINT" jwk ec.key ec1)" \
    "$("$MINT" jwk ed.key ed1)" >jwks.json
X5T_A=$("$MINT" x5t "$PKI/allowed.crt")      # the certificate the tokens are bound to
X5T_B=$("$MINT" x5t "$PKI/notlisted.crt")    # another valid certificate
NOW=$(date +%s)

# payload [X5T] [EXP] [EXTRA JSON MEMBERS] - the claims, bound to X5T
payload() {
    local x5t=${1-$X5T_A} exp=${2:-$((NOW + 600))} extra=${3:-} cnf=""
    [ -n "$x5t" ] && cnf=",\"cnf\":{\"x5t#S256\":\"$x5t\"}"
    printf '{"iss":"%s","aud":"%s","sub":"alice","client_id":"app-1","scope":"read write","exp":%s%s%s}' \
        "$ISS" "$AUD" "$exp" "$cnf" "$extra"
}
# sign KEY ALG KID PAYLOAD
sign() { "$MINT" sign "$1" "$2" "{\"alg\":\"$2\",\"kid\":\"$3\",\"typ\":\"at+jwt\"}" "$4"; }
b64url() { base64 -w0 | tr '+/' '-_' | tr -d '='; }

declare -A TOK
TOK[rs256]=$(sign rsa.key RS256 rsa1 "$(payload)")
TOK[ps256]=$(sign rsa.key PS256 rsa1 "$(payload)")
TOK[es256]=$(sign ec.key ES256 ec1 "$(payload)")
TOK[eddsa]=$(sign ed.key EdDSA ed1 "$(payload)")
TOK[other]=$(sign rsa.key RS256 rsa1 "$(payload "$X5T_B")")
TOK[untrusted]=$(sign rsa.key RS256 rsa1 "$(payload "$("$MINT" x5t "$PKI/untrusted.crt")")")
TOK[unbound]=$(sign rsa.key RS256 rsa1 "$(payload "")")
TOK[expired]=$(sign ec.key ES256 ec1 "$(payload "$X5T_A" $((NOW - 3600)))")
TOK[issuer]=$(sign rsa.key RS256 rsa1 "$(payload | sed "s|$ISS|https://evil.example|")")
TOK[audience]=$(sign rsa.key RS256 rsa1 "$(payload | sed "s|$AUD|other.example|")")
TOK[none]="$(printf '{"alg":"none"}' | b64url).$(payload | b64url)."
TOK[hs256]=$("$MINT" hs256 jwks.json '{"alg":"HS256","kid":"rsa1"}' "$(payload)")
TOK[badsig]=$(sign rogue.key RS256 rsa1 "$(payload)")
TOK[kid]=$(sign rsa.key RS256 rsa9 "$(payload)")
TOK[oversized]=$(sign rsa.key RS256 rsa1 "$(payload "$X5T_A" "" ",\"pad\":\"$(head -c 9000 /dev/zero | tr '\0' x)\"")")
TOK[hex]=$(sign rsa.key RS256 rsa1 "$(payload "$(openssl x509 -in "$PKI/allowed.crt" -outform der | sha256sum | cut -c1-64)")")
for t in "${!TOK[@]}"; do
    [ -n "${TOK[$t]}" ] || fail "mint token $t"
done

# ------------------------------------------------------------ the agent

if ! agent_ini "$WORK/agent.ini" 127.0.0.1:0 "$WORK/ready" both "$PKI/ca.pem" ""; then
    fail "agent config"
    finish token
    exit 1
fi
cat >>"$WORK/agent.ini" <<INI
token = required
jwks_file = $WORK/jwks.json
token_issuer = $ISS
token_audience = $AUD

[route optional]
path_prefix = /optional/
policy = optional

[policy optional]
verify = both
ca_file = $PKI/ca.pem
token = bound
jwks_file = $WORK/jwks.json

[route shadow]
path_prefix = /shadow/
policy = shadow

[policy shadow]
verify = both
ca_file = $PKI/ca.pem
mode = shadow
token = required
jwks_file = $WORK/jwks.json
INI
if ! start_agent agent "$WORK/agent.ini" "$WORK/ready"; then
    fail "agent starts" "$WHY"
    finish token
    exit 1
fi

# ------------------------------------------------------------ requests

# call TAG CERT TOKEN-NAME [CURL ARGS...] - one request with that
# certificate and "Authorization: Bearer <token>" ("-" = no header)
call() {
    local tag=$1 cert=$2 t=$3
    shift 3
    if [ "$t" = - ]; then
        req_cert "$tag" "$cert" "$@"
    else
        req_cert "$tag" "$cert" -H "Authorization: Bearer ${TOK[$t]}" "$@"
    fi
}

# refused V NAME CERT TOKEN CODE RULE [WWW-AUTHENTICATE]
refused() {
    local v=$1 name=$2 cert=$3 t=$4 code=$5 rule=$6 www=${7:-Bearer error=\"invalid_token\"}
    only_match "$name" || return 0
    call "$v-$name" "$cert" "$t"
    check "$v $name: 401" eq "$STATUS" 401
    check "$v $name: code $code" eq "$(hdr X-Certspoa-Code)" "$code"
    check "$v $name: rule $rule" eq "$(hdr X-Certspoa-Rule)" "$rule"
    check "$v $name: WWW-Authenticate" eq "$(hdr WWW-Authenticate)" "$www"
}

run_version() {
    local v=$1 alg
    if [ "$v" = 2.6 ]; then HAPROXY=haproxy; else HAPROXY="$TOP/tests/versions/haproxy.sh $v"; fi
    # shellcheck disable=SC2034 # read by the lib.sh helpers
    read -r -a HAPROXY_CMD <<<"$HAPROXY"
    if ! start_haproxy "hap-$v" "$AGENT_ADDR"; then
        fail "$v haproxy starts" "$WHY"
        return
    fi
    for alg in rs256 ps256 es256 eddsa; do
        only_match "$alg" || continue
        call "$v-$alg" allowed "$alg" -H "X-Token-Sub: mallory"
        check "$v $alg bound token: 200" eq "$STATUS" 200
        check "$v $alg: sub forwarded, the forged one dropped" eq "$(backend_saw x-token-sub)" alice
        check "$v $alg: client_id forwarded" eq "$(backend_saw x-token-client-id)" app-1
        check "$v $alg: scope forwarded" eq "$(backend_saw x-token-scope)" "read write"
    done
    if only_match binding; then
        # the same token, another certificate, then the right one again:
        # one agent connection and its cache between them
        call "$v-bind1" allowed rs256
        check "$v binding: right certificate 200" eq "$STATUS" 200
        call "$v-bind2" notlisted rs256
        check "$v binding: other certificate 401" eq "$STATUS" 401
        check "$v binding: code token_binding_mismatch" eq "$(hdr X-Certspoa-Code)" token_binding_mismatch
        check "$v binding: no claims forwarded" eq "$(backend_saw x-token-sub)" ""
        call "$v-bind3" allowed rs256
        check "$v binding: right certificate again 200" eq "$STATUS" 200
    fi
    refused "$v" other-cert-token allowed other token_binding_mismatch token_binding
    refused "$v" unbound allowed unbound token_unbound token_unbound
    refused "$v" expired allowed expired token_expired token_expired
    refused "$v" wrong-issuer allowed issuer token_invalid token_issuer
    refused "$v" wrong-audience allowed audience token_invalid token_audience
    refused "$v" alg-none allowed none token_invalid token_alg_none
    refused "$v" hs256-public-key allowed hs256 token_invalid token_alg_hmac
    refused "$v" bad-signature allowed badsig token_invalid token_signature
    refused "$v" unknown-kid allowed kid token_invalid token_kid_unknown
    refused "$v" oversized allowed oversized token_invalid token_too_large
    refused "$v" hex-binding allowed hex token_binding_mismatch token_binding
    refused "$v" missing allowed - token_missing token_missing Bearer
    if only_match two-headers; then
        call "$v-two" allowed rs256 -H "Authorization: Bearer ${TOK[other]}"
        check "$v two-headers: 401" eq "$STATUS" 401
        check "$v two-headers: rule token_ambiguous" eq "$(hdr X-Certspoa-Rule)" token_ambiguous
    fi
    if only_match bound-mode; then
        REQ_PATH=/optional/x call "$v-opt1" allowed - -H "X-Token-Sub: mallory"
        check "$v bound-mode: no token 200" eq "$STATUS" 200
        check "$v bound-mode: forged X-Token-Sub dropped" eq "$(backend_saw x-token-sub)" ""
        REQ_PATH=/optional/x call "$v-opt2" allowed unbound
        check "$v bound-mode: unbound token 401" eq "$(hdr X-Certspoa-Code)" token_unbound
        REQ_PATH=/optional/x call "$v-opt3" notlisted rs256
        check "$v bound-mode: token of another certificate 401" eq "$(hdr X-Certspoa-Code)" token_binding_mismatch
        REQ_PATH=/optional/x call "$v-opt4" allowed rs256
        check "$v bound-mode: bound token 200" eq "$STATUS" 200
        # a stolen token behind another scheme is no way around "bound"
        REQ_PATH=/optional/x req_cert "$v-opt5" notlisted -H "Authorization: Basic YTpi, Bearer ${TOK[rs256]}"
        check "$v bound-mode: Bearer behind Basic 401" eq "$STATUS" 401
        check "$v bound-mode: Bearer behind Basic is token_ambiguous" eq "$(hdr X-Certspoa-Rule)" token_ambiguous
        # ... nor is a stolen token in the query (RFC 6750 2.3), which the
        # agent never sees: the shipped config refuses access_token=
        REQ_PATH="/optional/x?access_token=${TOK[rs256]}" req_cert "$v-opt6" notlisted
        check "$v bound-mode: access_token in the query 400" eq "$STATUS" 400
        check "$v bound-mode: access_token in the query never reaches the app" hasnt "$BODY" "backend saw"
    fi
    if only_match shadow; then
        # shadow mode lets a refused token through, but never vouches for it
        REQ_PATH=/shadow/x call "$v-sh1" notlisted rs256
        check "$v shadow: token of another certificate passes (200)" eq "$STATUS" 200
        check "$v shadow: ... and forwards no claim" eq "$(backend_saw x-token-sub)" ""
        # a valid token bound to a certificate the policy refuses: the
        # token verifies, the certificate does not, nothing is vouched for
        REQ_PATH=/shadow/x call "$v-sh3" untrusted untrusted
        check "$v shadow: refused certificate with its bound token passes (200)" eq "$STATUS" 200
        check "$v shadow: ... and vouches for no claim" eq "$(backend_saw x-token-sub)" ""
        REQ_PATH=/shadow/x call "$v-sh2" allowed rs256
        check "$v shadow: a bound token forwards its claims" eq "$(backend_saw x-token-sub)" alice
    fi
    stop_haproxy
}

for v in $VERSIONS; do
    run_version "$v"
done

# explain shows each step of the token check
if only_match explain; then
    out=$("$CERTSPOA_BIN" explain -f "$WORK/agent.ini" --path /api/ping --cert "$PKI/notlisted.crt" --token "${TOK[rs256]}" 2>&1)
    check "explain: binding fails for another certificate" has "$out" "binding    fail: token_binding"
    check "explain: the signature step passed" has "$out" "signature  pass"
    check "explain: the alg is shown" has "$out" "alg        pass (RS256)"
    out=$("$CERTSPOA_BIN" explain -f "$WORK/agent.ini" --path /api/ping --cert "$PKI/allowed.crt" --token "${TOK[none]}" 2>&1)
    check "explain: alg none stops at alg" has "$out" "alg        fail: token_alg_none"
    check "explain: later steps not reached" has "$out" "binding    not reached"
fi

finish token
