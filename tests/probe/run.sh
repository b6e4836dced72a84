#!/usr/bin/env bash
# shellcheck disable=SC2154,SC2153 # NAME_PORT and the *_PORT variables are set by printf -v (start_api, free_port)
# tests/probe/run.sh - `certspoa probe` against real HAProxy and the real
# agent, one misconfiguration at a time, each with its exact diagnosis
# sentence and exit status (docs/PROBE.md):
#
#   happy path (allowed, exit 0), unlisted, expired and wrong-CA clients;
#   no verify on the bind line; a ca-file without the client's issuer;
#   verify required (a TLS alert instead of a 403; TLS 1.3 and 1.2);
#   a TLS-terminating HAProxy in front that drops the certificate (asking
#   for it, or not); the same front forwarding RFC 9440 to a [forwarded]
#   setup (haproxy-examples/behind-proxy); the agent down (503);
#   bad inputs (missing files, garbage, key mismatch, encrypted key,
#   PKCS#12, bad URL, nothing listening, a port that is not TLS).
#
# Every probe also runs under ASan+UBSan when CERTSPOA_SAN_BIN is set
# (`make probe` builds ./certspoa-san): same exit status, same diagnosis,
# no sanitizer report.
#
#   make probe
#   HAPROXY="tests/versions/haproxy.sh 3.2" make probe
#
# Ends with "probe: N passed, N failed".
set -u
. "$(dirname "$0")/../integration/lib.sh"

PROBE_DIR=$TOP/tests/probe
SAN_BIN=${CERTSPOA_SAN_BIN:-}
SECRET=probe-trace-secret-0123456789
BEHIND=$TOP/haproxy-examples/behind-proxy

[ -x "$CERTSPOA_BIN" ] || { echo "probe: no binary at $CERTSPOA_BIN (make)"; exit 1; }
[ -n "$SAN_BIN" ] && [ ! -x "$SAN_BIN" ] && { echo "probe: no $SAN_BIN (make SAN=address,undefined)"; exit 1; }

workdir probe
mkdir -p "$WORK/out"
note "haproxy: $("${HAPROXY_CMD[@]}" -v 2>/dev/null | head -n 1)"
make_pki || { fail "pki" "$(tail -n 5 "$WORK/pki.log")"; finish probe; exit 1; }

# ---------------------------------------------------------------- helpers

# probe NAME ARGS... - run `certspoa probe ARGS`; sets PRC, OUT, ERR, DIAG.
# With SAN_BIN, the same under the sanitizers, checked as "NAME (san)".
probe() {
    local name=$1 src serr sdiag
    shift
    "$CERTSPOA_BIN" probe "$@" >"$WORK/out/$name.out" 2>"$WORK/out/$name.err"
    PRC=$?
    OUT=$(cat "$WORK/out/$name.out")
    ERR=$(cat "$WORK/out/$name.err")
    DIAG=$(sed -n 's/^diagnosis: *//p' "$WORK/out/$name.out")
    [ -n "$SAN_BIN" ] || return 0
    ASAN_OPTIONS=detect_leaks=1 "$SAN_BIN" probe "$@" >"$WORK/out/$name.san.out" 2>"$WORK/out/$name.san.err"
    src=$?
    serr=$(cat "$WORK/out/$name.san.err")
    sdiag=$(sed -n 's/^diagnosis: *//p' "$WORK/out/$name.san.out")
    check "$name (ASan+UBSan: same exit $PRC, same diagnosis, no report)" \
        san_same "$src" "$sdiag" "$serr"
}

san_norm() { printf '%s' "$1" | sed -E 's/spoe error [0-9]+/spoe error N/'; }

san_same() {
    if [ "$1" != "$PRC" ]; then WHY="exit $1, want $PRC"; return 1; fi
    # (HAProxy's SPOE error number for a dead agent depends on timing)
    if [ "$(san_norm "$2")" != "$(san_norm "$DIAG")" ]; then WHY="diagnosis '$2', want '$DIAG'"; return 1; fi
    case $3 in *Sanitizer*|*"runtime error"*) WHY="$(printf '%.400s' "$3")"; return 1 ;; esac
    return 0
}

# expect NAME EXIT SENTENCE - the last probe exited EXIT with this diagnosis.
expect() {
    check "$1: exit $2" eq "$PRC" "$2"
    check "$1: diagnosis" eq "$DIAG" "$3"
}

# no_crash - a bad input: exit 2, one clear line on stderr, no report.
bad_input() {
    local name=$1 want=$2
    shift 2
    probe "$name" "$@"
    check "$name: exit 2" eq "$PRC" 2
    check "$name: says why" has "$ERR" "$want"
}

# start_hap NAME CFG PORTVAR... -- VAR=VALUE... - haproxy -db -f CFG with
# that environment; waits (10 s) until the ports in the named variables
# listen. Sets HAP_PID.
start_hap() {
    local name=$1 cfg=$2 ports=() p
    shift 2
    while [ $# -gt 0 ] && [ "$1" != -- ]; do ports+=("$1"); shift; done
    shift
    echo "=== start $(date +%T.%3N)" >>"$WORK/$name.log"
    env "$@" "${HAPROXY_CMD[@]}" -db -f "$cfg" >>"$WORK/$name.log" 2>&1 &
    HAP_PID=$!
    CHILD_PIDS+=("$HAP_PID")
    for p in "${ports[@]}"; do
        wait_until 10 port_open "${!p}" || {
            WHY="$name: port ${!p} not open: $(grep -E 'ALERT|error' "$WORK/$name.log" | tail -n 2 | tr '\n' ' ')"
            return 1
        }
    done
}

# start_api NAME CFG AGENT_ADDR CLIENT_CA - an mtls-api haproxy.cfg; sets
# <NAME>_PORT (TLS), <NAME>_STATS, and waits until its agent is UP.
start_api() {
    local name=$1 cfg=$2 agent=$3 ca=$4 https app stats
    # shellcheck disable=SC2015 # C runs when A or B fails, as meant
    free_port https && free_port app && free_port stats || { WHY="no free port"; return 1; }
    printf -v "${name}_PORT" '%s' "$https"
    printf -v "${name}_STATS" '%s' "$stats"
    start_hap "$name" "$cfg" https app stats -- \
        "CERTSPOA_HTTPS_BIND=127.0.0.1:$https" "CERTSPOA_APP_BIND=127.0.0.1:$app" \
        "CERTSPOA_STATS_SOCKET=ipv4@127.0.0.1:$stats" "CERTSPOA_AGENT_ADDR=$agent" \
        "CERTSPOA_SERVER_PEM=$PKI/server.pem" "CERTSPOA_CLIENT_CA=$ca" \
        "CERTSPOA_SPOE_CONF=$SPOE_CONF" || return 1
    STATS_PORT=$stats
    wait_until 10 agent_is UP
}

with_secret() {   # with_secret INI - add trace_secret to [agent]
    sed -i "/^\[agent\]/a trace_secret = $SECRET" "$1"
}

pem_date() {      # the notAfter of a certificate, as probe prints it
    date -u -d "$(openssl x509 -enddate -noout -in "$1" | cut -d= -f2)" +%Y-%m-%dT%H:%M:%SZ
}

url() { printf 'https://localhost:%s/api/ping' "$1"; }

# ---------------------------------------------------------------- the setups

{ cat "$PKI/allowed.sha256"; cat "$PKI/chained.sha256"; } >"$WORK/allowed.txt"

# agent "both": mtls-api's certspoa.ini (verify = both, thumbprint list)
# shellcheck disable=SC2015 # C runs when A or B fails, as meant
agent_ini "$WORK/both.ini" 127.0.0.1:0 "$WORK/both.ready" both "$PKI/ca.pem" "$WORK/allowed.txt" &&
    with_secret "$WORK/both.ini" || fail "both.ini"
start_agent both "$WORK/both.ini" "$WORK/both.ready" || { fail "agent both" "$WHY"; finish probe; exit 1; }
BOTH_PID=$AGENT_PID
BOTH_ADDR=$AGENT_ADDR

# agent "agentonly": the same with verify = agent (certspoa's own ca_file)
# shellcheck disable=SC2015 # C runs when A or B fails, as meant
agent_ini "$WORK/agentonly.ini" 127.0.0.1:0 "$WORK/agentonly.ready" agent "$PKI/ca.pem" "$WORK/allowed.txt" &&
    with_secret "$WORK/agentonly.ini" || fail "agentonly.ini"
start_agent agentonly "$WORK/agentonly.ini" "$WORK/agentonly.ready" || fail "agent agentonly" "$WHY"
AONLY_ADDR=$AGENT_ADDR

# mtls-api as shipped, and with one change to its bind line each
CFG=$EXAMPLE/haproxy.cfg
sed 's/ verify optional crt-ignore-err all ca-ignore-err all ca-file "[^"]*"//' "$CFG" >"$WORK/noverify.cfg"
sed 's/verify optional crt-ignore-err all ca-ignore-err all/verify required/' "$CFG" >"$WORK/required.cfg"
check "noverify.cfg: the bind line has no verify" \
    file_hasnt "$WORK/noverify.cfg" '^ *bind .* verify'
check "required.cfg: the bind line says verify required" file_has "$WORK/required.cfg" "verify required ca-file"

start_api api "$CFG" "$BOTH_ADDR" "$PKI/ca.pem" || fail "haproxy api" "$WHY"
start_api noverify "$WORK/noverify.cfg" "$BOTH_ADDR" "$PKI/ca.pem" || fail "haproxy noverify" "$WHY"
start_api required "$WORK/required.cfg" "$BOTH_ADDR" "$PKI/ca.pem" || fail "haproxy required" "$WHY"
# ca-file without the client's issuer (only the other root)
start_api cafile "$CFG" "$AONLY_ADDR" "$PKI/untrusted-ca.pem" || fail "haproxy cafile" "$WHY"
start_api cafileboth "$CFG" "$BOTH_ADDR" "$PKI/untrusted-ca.pem" || fail "haproxy cafileboth" "$WHY"

# the front proxy that asks for the certificate and drops it
free_port FRONT_PORT
start_hap front "$PROBE_DIR/front-drop.cfg" FRONT_PORT -- \
    "PROBE_FRONT_BIND=127.0.0.1:$FRONT_PORT" "PROBE_SERVER_PEM=$PKI/server.pem" \
    "PROBE_CLIENT_CA=$PKI/ca.pem" "PROBE_INNER_ADDR=127.0.0.1:$api_PORT" || fail "haproxy front" "$WHY"

# haproxy-examples/behind-proxy: its edge forwards RFC 9440 to its gateway
sed -e "s|^listen = .*|listen = 127.0.0.1:0|" \
    -e "s|^; ready_file = .*|ready_file = $WORK/fwd.ready|" \
    -e "s|^; trace_secret = .*|trace_secret = $SECRET|" \
    -e "s|^ca_file = .*|ca_file = $PKI/ca.pem|" \
    -e "s|^allow_thumbprints = .*|allow_thumbprints = @$WORK/allowed.txt|" \
    "$BEHIND/certspoa.ini" >"$WORK/fwd.ini"
check "fwd.ini: trace_secret set" file_has "$WORK/fwd.ini" "trace_secret = $SECRET"
start_agent fwd "$WORK/fwd.ini" "$WORK/fwd.ready" || fail "agent fwd" "$WHY"
FWD_ADDR=$AGENT_ADDR
free_port EDGE_PORT && free_port GW_PORT && free_port BAPP_PORT && free_port BSTATS_PORT
start_hap behind "$BEHIND/haproxy.cfg" EDGE_PORT GW_PORT -- \
    "BEHIND_EDGE_BIND=127.0.0.1:$EDGE_PORT" "BEHIND_SERVER_PEM=$PKI/server.pem" \
    "BEHIND_CLIENT_CA=$PKI/ca.pem" "BEHIND_GATEWAY_BIND=127.0.0.1:$GW_PORT" \
    "BEHIND_SPOE_CONF=$TOP/spoe-conf/certspoa-forwarded.conf" "BEHIND_AGENT_ADDR=$FWD_ADDR" \
    "BEHIND_APP_BIND=127.0.0.1:$BAPP_PORT" "BEHIND_STATS_SOCKET=ipv4@127.0.0.1:$BSTATS_PORT" ||
    fail "haproxy behind" "$WHY"
STATS_PORT=$BSTATS_PORT
wait_until 10 agent_is UP || fail "behind: agent UP" "$WHY"

# a front that does not ask, plain HTTP to that gateway, no header
free_port PFRONT_PORT
start_hap pfront "$PROBE_DIR/front-plain.cfg" PFRONT_PORT -- \
    "PROBE_FRONT_BIND=127.0.0.1:$PFRONT_PORT" "PROBE_SERVER_PEM=$PKI/server.pem" \
    "PROBE_INNER_ADDR=127.0.0.1:$GW_PORT" || fail "haproxy pfront" "$WHY"

P=$PKI
CA=(--ca "$P/ca.pem")
ROOT_DN="CN=certspoa test root CA,O=certspoa test"
OTHER_DN="CN=certspoa untrusted CA,O=certspoa test"
FWD_ADVICE="configure that proxy to forward the certificate (RFC 9440) and use certspoa's [forwarded]"
VERIFY_ADVICE="use verify optional + crt-ignore-err all ca-ignore-err all to get a 403 that says why"

# ---------------------------------------------------------------- scenarios

note "happy path"
probe happy "$(url "$api_PORT")" --cert "$P/allowed.crt" --key "$P/allowed.key" "${CA[@]}" --trace-secret "$SECRET"
expect happy 0 "allowed: the server answered 200 and certspoa's trace says verdict=allow"
check "happy: the server asked, listing the root CA" has "$OUT" "acceptable_ca:  $ROOT_DN"
check "happy: the chain leads to it" has "$OUT" "chain_match:    yes: your chain leads to $ROOT_DN"
check "happy: which certificate was sent" has "$OUT" "sent:           CN=allowed client,O=certspoa test (sha256 $(cat "$P/allowed.sha256")"
check "happy: the server's chain, verified" has "$OUT" "server_verify:  yes (against --ca)"
check "happy: server_cert line" has "$OUT" "server_cert:    0: CN=localhost,O=certspoa test (issuer $ROOT_DN)"
check "happy: TLS version" matches "$OUT" "tls: +TLSv1\\.[23], "
check "happy: the agent's trace" has "$OUT" "verdict=allow"

probe happy_chain "$(url "$api_PORT")" --cert "$P/chained.crt" --key "$P/chained.key" --chain "$P/inter-ca.pem" "${CA[@]}"
expect happy_chain 0 "allowed: the server answered 200"
check "happy_chain: leaf + 1 intermediate sent" has "$OUT" "+ 1 chain certificate"

probe happy_json "$(url "$api_PORT")" --cert "$P/allowed.crt" --key "$P/allowed.key" "${CA[@]}" --json
check "happy_json: exit 0" eq "$PRC" 0
check "happy_json: valid JSON with the diagnosis" eq \
    "$(printf '%s' "$OUT" | python3 -c 'import json,sys; d=json.load(sys.stdin); print(d["diagnosis_id"], d["exit"], d["cert_request"]["seen"], d["client_cert"]["sent"], d["http"]["status"])' 2>&1)" \
    "allowed 0 True True 200"

note "certspoa denies: unlisted, expired, wrong CA"
probe unlisted "$(url "$api_PORT")" --cert "$P/notlisted.crt" --key "$P/notlisted.key" "${CA[@]}"
expect unlisted 1 "certspoa denied: cert_untrusted / allow_thumbprints: thumbprint is not on the trusted list"
check "unlisted: X-Certspoa-Code header shown" has "$OUT" "header:         x-certspoa-code: cert_untrusted"
check "unlisted: JSON body shown" has "$OUT" '"code":"cert_untrusted"'

probe expired "$(url "$api_PORT")" --cert "$P/expired.crt" --key "$P/expired.key" "${CA[@]}"
expect expired 1 "certspoa denied: cert_unverified / cert_expired: your certificate expired on $(pem_date "$P/expired.crt"); renew it"

probe wrongca "$(url "$api_PORT")" --cert "$P/untrusted.crt" --key "$P/untrusted.key" "${CA[@]}"
expect wrongca 1 "your certificate's issuer is not among the server's acceptable CAs: use a certificate from one of them, or add \"$OTHER_DN\" to HAProxy's ca-file (certspoa denied: cert_unverified / cert_unknown_ca)"
check "wrongca: chain_match NO" has "$OUT" "chain_match:    NO: your certificate's issuer $OTHER_DN is not among them"

note "no verify on the bind line"
probe noverify "$(url "$noverify_PORT")" --cert "$P/allowed.crt" --key "$P/allowed.key" "${CA[@]}"
expect noverify 1 "the server never asked for a certificate: HAProxy's bind line has no verify; add \"verify optional crt-ignore-err all ca-ignore-err all ca-file <your CA>\" to it (if a proxy in front of HAProxy terminates TLS, configure that proxy to forward the certificate instead)"
check "noverify: no CertificateRequest" has "$OUT" "cert_request:   no: the server did not ask for a client certificate"
check "noverify: nothing sent" has "$OUT" "sent:           nothing: the server did not ask"

note "a ca-file without the client's issuer"
probe cafile "$(url "$cafile_PORT")" --cert "$P/allowed.crt" --key "$P/allowed.key" "${CA[@]}"
expect cafile 0 "allowed, but your certificate's issuer is not among the server's acceptable CAs: HAProxy's ca-file lacks \"$ROOT_DN\", and clients that choose a certificate by that list (browsers, Java, .NET) will send none; add it to the bind line's ca-file"
check "cafile: the list names the other CA" has "$OUT" "acceptable_ca:  $OTHER_DN"
probe cafileboth "$(url "$cafileboth_PORT")" --cert "$P/allowed.crt" --key "$P/allowed.key" "${CA[@]}"
expect cafileboth 1 "your certificate's issuer is not among the server's acceptable CAs: use a certificate from one of them, or add \"$ROOT_DN\" to HAProxy's ca-file (certspoa denied: cert_unverified / cert_unknown_ca)"

note "verify required: a TLS alert instead of a 403"
probe required13 "$(url "$required_PORT")" --cert "$P/expired.crt" --key "$P/expired.key" "${CA[@]}" --tls-max 1.3
expect required13 2 "the server requires a certificate and rejected yours with a TLS alert: certificate expired; $VERIFY_ADVICE"
check "required13: TLS 1.3 alert after the handshake" has "$OUT" "tls_alert:      certificate expired (45), after the handshake (TLS 1.3)"
probe required12 "$(url "$required_PORT")" --cert "$P/untrusted.crt" --key "$P/untrusted.key" "${CA[@]}" --tls-max 1.2
expect required12 2 "the server requires a certificate and rejected yours with a TLS alert: unknown CA; $VERIFY_ADVICE"
check "required12: alert in the handshake" has "$OUT" "tls_alert:      unknown CA (48)"
check "required12: not after it" hasnt "$OUT" "after the handshake"
probe required_ok "$(url "$required_PORT")" --cert "$P/allowed.crt" --key "$P/allowed.key" "${CA[@]}"
expect required_ok 0 "allowed: the server answered 200"

note "a TLS-terminating HAProxy in front drops the certificate (the seed story)"
probe frontdrop "$(url "$FRONT_PORT")" --cert "$P/allowed.crt" --key "$P/allowed.key" "${CA[@]}" --trace-secret "$SECRET"
expect frontdrop 1 "you sent a certificate but certspoa got none: a proxy in front of HAProxy terminates TLS and drops it; $FWD_ADVICE"
check "frontdrop: the front asked and got it" has "$OUT" "cert_request:   yes, 1 acceptable CA name"
note "output of the front-proxy case:"
sed 's/^/#   /' "$WORK/out/frontdrop.out"

probe frontplain "$(url "$PFRONT_PORT")" --cert "$P/allowed.crt" --key "$P/allowed.key" "${CA[@]}"
expect frontplain 1 "the server never asked for a certificate: something in front of HAProxy terminates TLS; $FWD_ADVICE"

note "the front forwards RFC 9440 to a [forwarded] setup (haproxy-examples/behind-proxy)"
probe forwarded "$(url "$EDGE_PORT")" --cert "$P/allowed.crt" --key "$P/allowed.key" "${CA[@]}" --trace-secret "$SECRET"
expect forwarded 0 "allowed: certspoa accepted the certificate that the proxy in front of HAProxy forwarded (RFC 9440, [forwarded])"
check "forwarded: trace shows forwarded=pass" has "$OUT" "forwarded=pass"
probe forwarded_unlisted "$(url "$EDGE_PORT")" --cert "$P/notlisted.crt" --key "$P/notlisted.key" "${CA[@]}"
expect forwarded_unlisted 1 "certspoa denied: cert_untrusted / allow_thumbprints: thumbprint is not on the trusted list"

note "bad inputs: a clear error, exit 2, no crash"
bad_input missing_cert "$P/nope.crt: No such file or directory" "$(url "$api_PORT")" --cert "$P/nope.crt" --key "$P/allowed.key"
bad_input missing_key "$P/nope.key: No such file or directory" "$(url "$api_PORT")" --cert "$P/allowed.crt" --key "$P/nope.key"
head -c 600 /dev/urandom >"$WORK/garbage.crt"
bad_input garbage_cert "not a certificate" "$(url "$api_PORT")" --cert "$WORK/garbage.crt" --key "$P/allowed.key"
printf -- '-----BEGIN CERTIFICATE-----\nAAAA\n-----END CERTIFICATE-----\n' >"$WORK/badpem.crt"
bad_input bad_pem "bad PEM data" "$(url "$api_PORT")" --cert "$WORK/badpem.crt" --key "$P/allowed.key"
bad_input garbage_key "no private key in it" "$(url "$api_PORT")" --cert "$P/allowed.crt" --key "$WORK/garbage.crt"
bad_input key_mismatch "does not match the certificate" "$(url "$api_PORT")" --cert "$P/allowed.crt" --key "$P/notlisted.key"
bad_input no_key "has no private key: give it with --key" "$(url "$api_PORT")" --cert "$P/allowed.crt"
openssl pkey -in "$P/allowed.key" -aes256 -passout pass:s3cret -out "$WORK/enc.key" 2>/dev/null
bad_input encrypted_key "is encrypted: set CERTSPOA_KEY_PASSWORD" "$(url "$api_PORT")" --cert "$P/allowed.crt" --key "$WORK/enc.key"
CERTSPOA_KEY_PASSWORD=wrong bad_input encrypted_wrong "CERTSPOA_KEY_PASSWORD does not decrypt it" \
    "$(url "$api_PORT")" --cert "$P/allowed.crt" --key "$WORK/enc.key"
export CERTSPOA_KEY_PASSWORD=s3cret
probe encrypted_ok "$(url "$api_PORT")" --cert "$P/allowed.crt" --key "$WORK/enc.key" "${CA[@]}"
unset CERTSPOA_KEY_PASSWORD
expect encrypted_ok 0 "allowed: the server answered 200"
openssl pkcs12 -export -in "$P/allowed.crt" -inkey "$P/allowed.key" -passout pass:p12pw \
    -out "$WORK/allowed.p12" 2>/dev/null
export CERTSPOA_P12_PASSWORD=p12pw
probe pkcs12 "$(url "$api_PORT")" --cert "$WORK/allowed.p12" "${CA[@]}"
expect pkcs12 0 "allowed: the server answered 200"
export CERTSPOA_P12_PASSWORD=wrong
bad_input pkcs12_wrong "wrong PKCS#12 password" "$(url "$api_PORT")" --cert "$WORK/allowed.p12"
unset CERTSPOA_P12_PASSWORD
cat "$P/allowed.crt" "$P/allowed.key" >"$WORK/both.pem"
probe pem_with_key "$(url "$api_PORT")" --cert "$WORK/both.pem" "${CA[@]}"
expect pem_with_key 0 "allowed: the server answered 200"

probe bad_url "http://localhost:$api_PORT/" --cert "$P/allowed.crt" --key "$P/allowed.key"
check "bad_url: exit 64" eq "$PRC" 64
check "bad_url: says why" has "$ERR" "the URL must start with https://"
for u in "https://" "https://localhost:0/" "https://localhost:99999/" "https://localhost:12x/" \
         "https://user@localhost/" "https://[::1/" "https://local host/" "ftp://localhost/"; do
    probe bad_url_more "$u" --cert "$P/allowed.crt" --key "$P/allowed.key"
    check "bad URL '$u': exit 64" eq "$PRC" 64
done
probe no_url --cert "$P/allowed.crt" --key "$P/allowed.key"
check "no_url: exit 64" eq "$PRC" 64
free_port DEAD_PORT
probe refused "https://127.0.0.1:$DEAD_PORT/" --cert "$P/allowed.crt" --key "$P/allowed.key"
expect refused 2 "cannot connect to the server: 127.0.0.1:$DEAD_PORT: Connection refused"
probe not_tls "https://127.0.0.1:$GW_PORT/" --cert "$P/allowed.crt" --key "$P/allowed.key" --timeout 3
check "not_tls: exit 2" eq "$PRC" 2
check "not_tls: diagnosis names the handshake" has "$DIAG" "the TLS handshake failed: "

note "a TLS server that never answers, one that closes without answering"
free_port SILENT_PORT
mkfifo "$WORK/s_server.in"
openssl s_server -accept "127.0.0.1:$SILENT_PORT" -cert "$P/server.crt" -key "$P/server.key" \
    -quiet <"$WORK/s_server.in" >"$WORK/s_server.log" 2>&1 &
CHILD_PIDS+=("$!")
exec 7>"$WORK/s_server.in"      # its stdin stays open: it keeps quiet
wait_until 5 port_open "$SILENT_PORT"
probe silent "https://127.0.0.1:$SILENT_PORT/" --cert "$P/allowed.crt" --key "$P/allowed.key" --timeout 1
expect silent 2 "TLS worked but no HTTP answer came back: no answer within 1 s"
free_port CLOSING_PORT
openssl s_server -accept "127.0.0.1:$CLOSING_PORT" -cert "$P/server.crt" -key "$P/server.key" \
    -quiet </dev/null >"$WORK/s_server2.log" 2>&1 &
CHILD_PIDS+=("$!")
wait_until 5 port_open "$CLOSING_PORT"
probe closing "https://127.0.0.1:$CLOSING_PORT/" --cert "$P/allowed.crt" --key "$P/allowed.key" --timeout 3
expect closing 2 "TLS worked but no HTTP answer came back: the server closed the connection without answering"

note "the agent down: 503 agent_unavailable"
stop_agent "$BOTH_PID"
probe agentdown "$(url "$api_PORT")" --cert "$P/allowed.crt" --key "$P/allowed.key" "${CA[@]}"
check "agentdown: exit 2" eq "$PRC" 2
check "agentdown: diagnosis" matches "$DIAG" "^HAProxy answered 503 agent_unavailable \\(no verdict from certspoa( \\(spoe error [0-9]+\\))?\\): the agent is down, too slow or unreachable; start it and check that HAProxy's certspoa-agents backend is UP\$"
check "agentdown: 503" has "$OUT" "http_status:    503"
check "agentdown: detail from the JSON body" has "$DIAG" "no verdict from certspoa"

finish probe
