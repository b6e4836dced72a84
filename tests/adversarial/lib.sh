# shellcheck shell=bash disable=SC2034
# tests/adversarial/lib.sh - what the adversarial scripts share, on top of
# tests/integration/lib.sh (check/finish, workdir, the PKI, the agent, curl
# helpers). Source it from a t-*.sh script:
#
#   . "$(dirname "$0")/lib.sh"
#   adv_begin resume            # work directory, PKI, a copy of the agent
#
# Environment (besides lib.sh's HAPROXY, CERTSPOA_BIN, CURL, KEEP_OUT):
#   SUITE_NAME   the name on the summary line (run.sh: adv-NAME-VERSION;
#                default adv-NAME)
#
# The scripts drive the SHIPPED examples (haproxy-examples/*/haproxy.cfg)
# with a few test-only lines inserted (adv_test_cfg): what the application
# received and which route/policy/rule decided, as response headers. Nothing
# else of the example is changed.

# shellcheck source=../integration/lib.sh
. "$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)/../integration/lib.sh"

ADV_DIR=$TOP/tests/adversarial
export PYTHONDONTWRITEBYTECODE=1   # no __pycache__ in the tree (spop.py is imported)
POLICY_DIR=$TOP/tests/integration/policy
BEHIND=$TOP/haproxy-examples/behind-proxy
FWD_SPOE_CONF=$TOP/spoe-conf/certspoa-forwarded.conf

# adv_begin NAME - work directory tests/out/adv-NAME.*, the test PKI in
# $PKI (tests/integration/pki.sh) plus a server certificate for the names
# the scripts use (adv_names), and a private copy of the agent binary (the
# tree may be rebuilt while the suite runs). Sets SUITE_NAME and START.
ADV_NAMES="localhost public.example.com admin.example.com a.example b.example"
adv_begin() {
    SUITE_NAME=${SUITE_NAME:-adv-$1}
    START=$SECONDS
    workdir "adv-$1"
    note "haproxy: $("${HAPROXY_CMD[@]}" -v 2>/dev/null | head -n 1)"
    note "agent:   $CERTSPOA_BIN"
    note "work:    $WORK"
    if [ -x "$CERTSPOA_BIN" ] && cp "$CERTSPOA_BIN" "$WORK/certspoa"; then
        CERTSPOA_BIN=$WORK/certspoa
    fi
    if ! make_pki; then
        fail "test PKI generated (pki.sh)" "see $WORK/pki.log"
        finish "$SUITE_NAME"
        exit 1
    fi
    # server certificate for every name the scripts send as SNI
    local san="IP:127.0.0.1" n
    for n in $ADV_NAMES; do san="$san,DNS:$n"; done
    {
        openssl genpkey -algorithm EC -pkeyopt ec_paramgen_curve:P-256 -out "$PKI/adv-server.key" &&
            openssl req -new -key "$PKI/adv-server.key" -subj "/CN=localhost" -out "$PKI/adv-server.csr" &&
            printf 'subjectAltName = %s\nextendedKeyUsage = serverAuth\n' "$san" >"$PKI/adv-server.ext" &&
            openssl x509 -req -in "$PKI/adv-server.csr" -CA "$PKI/ca.pem" -CAkey "$PKI/ca.key" \
                -CAcreateserial -days 2 -sha256 -extfile "$PKI/adv-server.ext" -out "$PKI/adv-server.crt" &&
            cat "$PKI/adv-server.crt" "$PKI/adv-server.key" >"$PKI/adv-server.pem"
    } >>"$WORK/pki.log" 2>&1 || fail "server certificate for $ADV_NAMES" "see $WORK/pki.log"
    [ -x "$CERTSPOA_BIN" ] || { fail "agent binary at $CERTSPOA_BIN" "run make"; finish "$SUITE_NAME"; exit 1; }
}

# adv_end - the sanitizer check on every agent log, the summary line and
# the exit status.
adv_end() {
    check "agent logs: no sanitizer or runtime error reports" \
        file_hasnt_any 'AddressSanitizer|LeakSanitizer|UndefinedBehaviorSanitizer|runtime error:' \
        "$WORK"/agent*.log /dev/null
    finish "$SUITE_NAME"
}

# sha256_of PEM-or-DER-FILE - the certificate's SHA-256, lowercase hex
sha256_of() {
    openssl x509 -in "$1" -noout -fingerprint -sha256 2>/dev/null | sed 's/^.*=//; s/://g' | tr 'A-F' 'a-f'
}

# b64der FILE - base64 of the DER of the (first) PEM certificate in FILE
b64der() { openssl x509 -in "$1" -outform DER | base64 -w0; }

# ------------------------------------------------------------ configs

# adv_test_cfg EXAMPLE-CFG OUT - a copy of a shipped haproxy.cfg with
# test-only lines: tests/integration/policy/mtls-api-test-headers.cfg
# (decision variables as X-Test-* response headers) and
# tests/adversarial/frontend-test.cfg (TLS facts: resumed, version) before
# the "default_backend app" of the gated frontend, and
# tests/adversarial/app-echo-test.cfg (what the application received) before
# the "http-request return" of frontend app-echo.
adv_test_cfg() {
    awk -v fe="$POLICY_DIR/mtls-api-test-headers.cfg" -v app="$ADV_DIR/app-echo-test.cfg" \
        -v tls="$ADV_DIR/frontend-test.cfg" '
        /^frontend / { in_app = ($2 == "app-echo") }
        in_app && !a && /^    http-request return / { while ((getline l < app) > 0) print l; a = 1 }
        !f && !in_app && $0 == "    default_backend app" {
            while ((getline l < fe) > 0) print l
            while ((getline l < tls) > 0) print l
            f = 1
        }
        { print }' "$1" >"$2"
    grep -q 'X-Test-Rule' "$2" && grep -q 'X-Test-App-Path' "$2"
}

# adv_start_hap NAME "PORTVARS" ENVFUNC CFG... - start_haproxy_env (lib.sh)
adv_start_hap() { start_haproxy_env "$@"; }

# mtls_env - HAP_ENV for haproxy-examples/mtls-api/haproxy.cfg
mtls_env() {
    HAP_ENV=(CERTSPOA_HTTPS_BIND="127.0.0.1:$HTTPS_PORT" CERTSPOA_APP_BIND="127.0.0.1:$APP_PORT"
        CERTSPOA_STATS_SOCKET="ipv4@127.0.0.1:$STATS_PORT" CERTSPOA_AGENT_ADDR="$AGENT_ADDR"
        CERTSPOA_SERVER_PEM="$PKI/adv-server.pem" CERTSPOA_CLIENT_CA="$PKI/ca.pem"
        CERTSPOA_SPOE_CONF="$SPOE_CONF")
}

# adv_mtls NAME INI - the agent with INI (listen/ready_file are set here)
# and HAProxy with the shipped mtls-api example (plus the test-only
# lines); waits until HAProxy's health check sees the agent. Sets
# AGENT_PID AGENT_ADDR HAP_PID HTTPS_PORT APP_PORT STATS_PORT BASE.
adv_mtls() {
    local name=$1 ini=$2
    # the [agent] section's listen and ready_file (not [stats] listen)
    awk -v ready="$WORK/$name.ready" '
        /^\[/ { sec = $0 }
        sec == "[agent]" && /^(listen|ready_file) *=/ { next }
        { print }
        $0 == "[agent]" { print "listen = 127.0.0.1:0"; print "ready_file = " ready; done = 1 }
        END { if (!done) { print "[agent]"; print "listen = 127.0.0.1:0"; print "ready_file = " ready } }' \
        "$ini" >"$ini.tmp" && mv -f "$ini.tmp" "$ini"
    adv_test_cfg "$EXAMPLE/haproxy.cfg" "$WORK/$name-haproxy.cfg" || { WHY="test config"; return 1; }
    start_agent "agent-$name" "$ini" "$WORK/$name.ready" || return 1
    adv_start_hap "haproxy-$name" "HTTPS_PORT APP_PORT STATS_PORT" mtls_env "$WORK/$name-haproxy.cfg" ||
        return 1
    wait_until 5 agent_is UP || return 1
    BASE=https://localhost:$HTTPS_PORT
}

# ------------------------------------------------------------ requests

# aget TAG URL [CURL ARGS...] - one request; every name of ADV_NAMES
# resolves to 127.0.0.1 on the URL's port. Sets STATUS BODY HDRS.
aget() {
    local tag=${1//[^A-Za-z0-9.,=_-]/_} url=$2 port h r=()
    shift 2
    port=${url#*://}; port=${port%%/*}; port=${port##*:}
    for h in $ADV_NAMES; do r+=(--resolve "$h:$port:127.0.0.1"); done
    STATUS=$($CURL -s --max-time 10 -o "$WORK/resp/$tag.body" -D "$WORK/resp/$tag.hdrs" \
        -w '%{http_code}' --cacert "$PKI/ca.pem" "${r[@]}" "$@" "$url")
    BODY=$(cat "$WORK/resp/$tag.body" 2>/dev/null)
    HDRS=$(tr -d '\r' <"$WORK/resp/$tag.hdrs" 2>/dev/null)
    return 0
}

# aget_cert TAG URL CERT [CURL ARGS...] - aget presenting $PKI/CERT.crt
# (with the certificates that file holds after the leaf) and its key.
aget_cert() {
    local tag=$1 url=$2 c=$3
    shift 3
    aget "$tag" "$url" --cert "$PKI/$c.crt" --key "$PKI/${c%-full}.key" "$@"
}

# sclient TAG CONNECT REQUEST [S_CLIENT ARGS...] - one raw request (bytes as
# printf %b understands them) over "openssl s_client -connect CONNECT"; the
# connection closes after the answer. Sets STATUS HDRS BODY, and REUSED to
# "New" or "Reused" (TLS session), TLSVER to the protocol.
sclient() {
    local tag=${1//[^A-Za-z0-9.,=_-]/_} connect=$2 reqtext=$3 out
    out=$WORK/resp/$tag.sclient
    shift 3
    printf '%b' "$reqtext" | timeout 10 openssl s_client -connect "$connect" -ign_eof "$@" \
        >"$out" 2>"$WORK/resp/$tag.err"
    # s_client prints its session summary, then the server's bytes
    REUSED=$(sed -n 's/^\(New\|Reused\), \(TLSv[0-9.]*\).*/\1/p' "$out" | tail -n 1)
    TLSVER=$(sed -n 's/^\(New\|Reused\), \(TLSv[0-9.]*\).*/\2/p' "$out" | tail -n 1)
    # (the HTTP answer may start in the middle of a line of s_client's own
    # output, e.g. after a TLS 1.3 ticket's hex dump)
    awk '!on && match($0, /HTTP\/1\.[01] [0-9][0-9][0-9]/) { on = 1; $0 = substr($0, RSTART) } on' "$out" |
        tr -d '\r' >"$WORK/resp/$tag.http"
    STATUS=$(head -n 1 "$WORK/resp/$tag.http" | awk '{ print $2 }')
    HDRS=$(sed '/^$/q' "$WORK/resp/$tag.http")
    BODY=$(sed '1,/^$/d' "$WORK/resp/$tag.http" | grep -v '^closed$\|^read:errno\|^DONE$')
    return 0
}

# ------------------------------------------------------------ predicates

describe() {
    printf '%s code=%s rule=%s route=%s policy=%s app-path=%s' "$STATUS" "$(hdr X-Certspoa-Code)" \
        "$(hdr X-Certspoa-Rule)" "$(hdr X-Test-Route)" "$(hdr X-Test-Policy)" "$(hdr X-Test-App-Path)"
}

# denied STATUS CODE [RULE] - HAProxy answered the agent's denial (status,
# X-Certspoa-Code and -Rule, the JSON body) and nothing reached the app.
denied() {
    local got
    [ "$STATUS" = "$1" ] || { WHY="got $(describe), want $1 $2/${3:-*}"; return 1; }
    got=$(hdr X-Certspoa-Code)
    [ "$got" = "$2" ] || { WHY="X-Certspoa-Code '$got', want '$2': $(describe)"; return 1; }
    if [ -n "${3:-}" ]; then
        got=$(hdr X-Certspoa-Rule)
        [ "$got" = "$3" ] || { WHY="X-Certspoa-Rule '$got', want '$3': $(describe)"; return 1; }
    fi
    got=$(json_field code)
    [ "$got" = "$2" ] || { WHY="JSON code '$got', want '$2' (body $BODY)"; return 1; }
    hasnt "$BODY" "backend saw" || { WHY="the request reached the application: $(describe)"; return 1; }
}

# not_served - whatever the answer, the application did not get the request
# and it was not a success.
not_served() {
    case $STATUS in 2*|'') WHY="got '$STATUS': $(describe)"; return 1 ;; esac
    hasnt "$BODY" "backend saw" || { WHY="the request reached the application: $(describe)"; return 1; }
}

# served_as CERT - 200 from the application, which got exactly one
# Client-Cert: CERT's leaf.
served_as() {
    local got
    [ "$STATUS" = 200 ] || { WHY="got $(describe), want 200"; return 1; }
    has "$BODY" "backend saw" || return 1
    got=$(backend_saw client-cert-count)
    [ "$got" = 1 ] || { WHY="the application saw $got Client-Cert headers, want 1"; return 1; }
    got=$(backend_saw client-cert)
    [ "$got" = ":$(b64der "$PKI/${1%-full}.crt"):" ] || { WHY="the application saw Client-Cert '$got'"; return 1; }
}
