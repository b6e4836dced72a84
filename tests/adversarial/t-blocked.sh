#!/usr/bin/env bash
# t-blocked.sh - attacks the review found already blocked: regression
# guards. Through haproxy-examples/mtls-api as shipped:
#   - a forged Client-Cert / X-Client-Identity (HTTP/1.1, HTTP/2, several
#     spellings) never reaches the application;
#   - the agent hung (SIGSTOP) -> 503 within timeout processing; killed ->
#     503 agent_unavailable; an "agent" answering garbage -> 503;
#   - a NOTIFY larger than max-frame-size (big certificate + chain, or +
#     a long path) -> 503, even for a listed certificate;
#   - verdicts do not cross between concurrent HTTP/2 streams of two
#     clients (pipelined NOTIFY frames);
#   - TLS 1.2 renegotiation cannot turn a denial into an allow; TLS 1.0
#     and 1.1 get no handshake;
#   - malformed certificates over SPOP straight to the agent, with
#     ssl_c_verify 0 (HAProxy "verified") -> deny, the agent lives on;
#   - a subject holding <script> is escaped on the agent's status page
#     (/ and /stats.json).
set -u
. "$(dirname "$0")/lib.sh"
adv_begin blocked

# listed: allowed and big (a 9.5 KB certificate)
{
    cat "$PKI/allowed.sha256"
    sha256_of "$PKI/big.crt"
} >"$WORK/allowed.txt"

# a client whose subject is markup
{
    openssl genpkey -algorithm EC -pkeyopt ec_paramgen_curve:P-256 -out "$PKI/xss.key" &&
        openssl req -new -key "$PKI/xss.key" -subj '/O=<b>bold<\/b>/CN=<script>alert(1)<\/script>' \
            -out "$PKI/xss.csr" &&
        openssl x509 -req -in "$PKI/xss.csr" -CA "$PKI/ca.pem" -CAkey "$PKI/ca.key" -CAcreateserial \
            -days 2 -sha256 -extfile "$PKI/ext.cnf" -extensions client -out "$PKI/xss.crt"
} >>"$WORK/pki.log" 2>&1
check "client certificate with subject CN=<script>alert(1)</script>" test -s "$PKI/xss.crt"

INI=$WORK/blocked.ini
# The stats listener's port is chosen here: if another test took it in the
# meantime, the agent cannot bind it - try another.
for try in 1 2 3; do
    free_port STATS_HTTP_PORT
    agent_ini "$INI" 127.0.0.1:0 "$WORK/blocked.ready" haproxy "$PKI/ca.pem" "$WORK/allowed.txt" ||
        fail "example certspoa.ini has the keys the test substitutes"
    # big.crt has 200 SANs: above the default max_sans (100), where the
    # agent has that key
    if "$CERTSPOA_BIN" --help-config 2>/dev/null | grep -q 'max_sans'; then
        sed -i 's|^deny_status = .*|&\nmax_sans = 1000|' "$INI"
    fi
    printf '\n[stats]\nlisten = 127.0.0.1:%s\n' "$STATS_HTTP_PORT" >>"$INI"
    adv_mtls blocked "$INI" && break
    note "start $try failed: $WHY"
    cleanup_started() { local p; for p in "${CHILD_PIDS[@]}"; do stop_pid "$p"; done; }
    cleanup_started
    [ "$try" = 3 ] && { fail "agent and HAProxy (mtls-api example) start" "$WHY"; adv_end; exit; }
done
AGENT_MAIN_PID=$AGENT_PID

is_unavailable() { denied 503 agent_unavailable; }

# ------------------------------------------------------------ forged headers

note "forged certificate headers [$((SECONDS - START)) s]"
FORGED=":$(b64der "$PKI/notlisted.crt"):"
for proto in --http1.1 --http2; do
    aget_cert "forged$proto" "$BASE/x" allowed "$proto" -H "Client-Cert: $FORGED" \
        -H "X-Client-Identity: admin" -H "client-cert: :Zm9v:"
    check "$proto: listed client + forged Client-Cert (x2) -> the app got only the real one" served_as allowed
    # (the identity is what matched: here the thumbprint; the CN before
    # identities followed the match)
    check "$proto: ... and one X-Client-Identity, the real one (not the forged 'admin')" \
        matches "$(hdr X-Test-App-Identity-Count)/$(hdr X-Test-App-Identity)" \
        "^1/($(cat "$PKI/allowed.sha256")|allowed client)\$"
    aget "forged-nocert$proto" "$BASE/x" "$proto" -H "Client-Cert: $FORGED"
    check "$proto: no certificate + forged Client-Cert -> 403 cert_missing" denied 403 cert_missing
done
sclient forged-fold "127.0.0.1:$HTTPS_PORT" \
    'GET /x HTTP/1.1\r\nHost: localhost\r\nClient-Cert : :Zm9v:\r\nConnection: close\r\n\r\n' \
    -servername localhost -cert "$PKI/allowed.crt" -key "$PKI/allowed.key"
check "HTTP/1.1 'Client-Cert :' (space before the colon) -> refused or stripped" \
    eval 'not_served || served_as allowed'

# ------------------------------------------------------------ oversized NOTIFY

note "oversized NOTIFY (max-frame-size 16380) [$((SECONDS - START)) s]"
REQ_PATH=/$(printf 'x%.0s' $(seq 1 8000)) req_cert big-path big
check "listed 9.5 KB certificate + 8 KB path -> 503 agent_unavailable (never allowed unchecked)" is_unavailable
# the same certificate with a chain of filler CA certificates: ~18 KB of
# certificate data in one NOTIFY
{
    cat "$PKI/big.crt"
    for i in $(seq 1 14); do cat "$PKI/inter-ca.pem"; done
} >"$PKI/big-chain.crt"
cp "$PKI/big.key" "$PKI/big-chain.key"
aget_cert big-chain "$BASE/x" big-chain
check "listed 9.5 KB certificate + 14 chain certificates -> not served unchecked (503)" \
    eval 'is_unavailable || denied 403 cert_unverified'
aget_cert big-alone "$BASE/x" big
check "control: the listed 9.5 KB certificate alone -> served" served_as big

# ------------------------------------------------------------ verdicts do not cross

note "verdicts do not cross: concurrent HTTP/2 streams from a listed and a not-listed client [$((SECONDS - START)) s]"
# Two clients at once, each multiplexing 30 requests over one HTTP/2
# connection: HAProxy pipelines all 60 NOTIFY frames over its agent
# connections; each answer must go to its own request.
cross() {   # cross CERT OUT
    local u=() i
    for i in $(seq 1 30); do u+=(-o /dev/null "$BASE/cross/$1/$i"); done
    $CURL -s --max-time 30 --http2 --parallel --parallel-max 30 --cacert "$PKI/ca.pem" \
        --cert "$PKI/$1.crt" --key "$PKI/$1.key" --resolve "localhost:$HTTPS_PORT:127.0.0.1" \
        -w '%{http_code}\n' "${u[@]}" >"$2" 2>/dev/null
}
cross allowed "$WORK/cross-allowed" &
p1=$!
cross notlisted "$WORK/cross-notlisted" &
p2=$!
wait "$p1" "$p2"
check "30 concurrent streams, listed client: 30 x 200" \
    eq "$(sort "$WORK/cross-allowed" | uniq -c | awk '{ printf "%s:%s ", $2, $1 }')" "200:30 "
check "30 concurrent streams, not-listed client: 30 x 403, none served" \
    eq "$(sort "$WORK/cross-notlisted" | uniq -c | awk '{ printf "%s:%s ", $2, $1 }')" "403:30 "

# ------------------------------------------------------------ renegotiation

note "TLS 1.2 renegotiation [$((SECONDS - START)) s]"
reneg() {   # reneg TAG CERT - request, 'R', request; output in $WORK/resp/TAG.reneg
    {
        printf 'GET /r1 HTTP/1.1\r\nHost: localhost\r\n\r\n'
        sleep 1
        printf 'R\n'
        sleep 1
        printf 'GET /r2 HTTP/1.1\r\nHost: localhost\r\nConnection: close\r\n\r\n'
        sleep 1
    } | timeout 10 openssl s_client -connect "127.0.0.1:$HTTPS_PORT" -servername localhost -tls1_2 \
        -legacy_renegotiation -cert "$PKI/$2.crt" -key "$PKI/$2.key" >"$WORK/resp/$1.reneg" 2>&1
    RENEG=$(tr -d '\r' <"$WORK/resp/$1.reneg")
    RENEG_CODES=$(printf '%s\n' "$RENEG" | grep -o 'HTTP/1\.1 [0-9][0-9][0-9]' | awk '{ printf "%s ", $2 }')
}
reneg reneg-deny notlisted
check "renegotiation attempted (s_client says RENEGOTIATING)" has "$RENEG" RENEGOTIATING
check "not-listed client: first request 403; after 'R' nothing is served" \
    matches "$RENEG_CODES" '^403 (403 )?$'
check "... the application saw nothing" hasnt "$RENEG" "backend saw"

# ------------------------------------------------------------ old TLS versions

note "TLS 1.0 / 1.1 (ssl-min-ver TLSv1.2) [$((SECONDS - START)) s]"
for v in tls1 tls1_1; do
    sclient "old-$v" "127.0.0.1:$HTTPS_PORT" 'GET /x HTTP/1.1\r\nHost: localhost\r\nConnection: close\r\n\r\n' \
        -servername localhost "-$v" -cipher 'DEFAULT:@SECLEVEL=0' -cert "$PKI/allowed.crt" -key "$PKI/allowed.key"
    check "$v: no handshake, no answer (the listed client included)" eq "[$STATUS][$TLSVER]" "[][]"
    check "$v: HAProxy refused it (alert protocol version)" file_has "$WORK/resp/old-$v.err" "alert protocol version"
done

# ------------------------------------------------------------ SPOP straight to the agent

note "malformed certificates over SPOP, verify = 0 [$((SECONDS - START)) s]"
openssl x509 -in "$PKI/allowed.crt" -outform DER | python3 -c '
import sys
d = sys.stdin.buffer.read()
sys.stdout.buffer.write(b"\x30\x83\x00" + d[2:])' >"$WORK/allowed.ber"
while IFS=$'\t' read -r kind res name why; do
    [ "$kind" = CHECK ] || continue
    WHY=$why
    check "$name" eq "$res" ok
done < <(timeout 60 python3 "$ADV_DIR/spop_malformed.py" "$AGENT_ADDR" "$PKI/allowed.der" "$WORK/allowed.ber" 2>&1 |
    tee "$WORK/spop_malformed.out")
check "SPOP: every case ran (14 lines)" eq "$(grep -c '^CHECK' "$WORK/spop_malformed.out")" 14
check "agent still running" kill -0 "$AGENT_MAIN_PID"
req_cert after-spop allowed
check "through HAProxy afterwards: listed client -> served" served_as allowed

# ------------------------------------------------------------ status page

note "markup in a subject on the status page [$((SECONDS - START)) s]"
aget_cert xss "$BASE/x" xss
check "client with <script> subject, not listed -> 403 cert_untrusted" denied 403 cert_untrusted
page=$($CURL -s --max-time 5 "http://127.0.0.1:$STATS_HTTP_PORT/")
json=$($CURL -s --max-time 5 "http://127.0.0.1:$STATS_HTTP_PORT/stats.json")
printf '%s\n' "$page" >"$WORK/status.html"
printf '%s\n' "$json" >"$WORK/stats.json"
check "status page / lists the denied subject, escaped (&lt;script...alert(1))" \
    matches "$page" '&lt;script[^<>]*alert\(1\)'
check "status page / has no raw <script>alert" hasnt "$page" "<script>alert"
check "status page / has no raw <b>bold" hasnt "$page" "<b>bold"
check "/stats.json lists the subject" has "$json" "alert(1)"
# (the DN itself escapes < and > with a backslash, RFC 4514: no tag can
# open; JSON escapes them as \u003c too, and the content type says it is
# not HTML)
check "/stats.json has no <script> tag that could open" eval '! [[ $json =~ \<script[[:space:]/\>] ]]' 
check "/stats.json writes < as \\u003c (inert even if sniffed as HTML)" has "$json" '\u003cscript'
ctype=$($CURL -s -o /dev/null -w '%{content_type}' --max-time 5 "http://127.0.0.1:$STATS_HTTP_PORT/stats.json")
check "/stats.json is served as application/json" matches "$ctype" '^application/json'
sh=$($CURL -s -o /dev/null -D - --max-time 5 "http://127.0.0.1:$STATS_HTTP_PORT/stats.json" | tr -d '\r')
check "/stats.json: X-Content-Type-Options: nosniff (a browser never reads it as HTML)" \
    has "$sh" "X-Content-Type-Options: nosniff"

# ------------------------------------------------------------ agent hung, killed

note "agent hung (SIGSTOP), then killed [$((SECONDS - START)) s]"
kill -STOP "$AGENT_MAIN_PID"
t0=$(now_ms)
req_cert hung allowed
t1=$(now_ms)
check "agent hung: listed client -> 503 agent_unavailable" is_unavailable
check "agent hung: answered within 2 s (timeout processing 500ms; took $((t1 - t0)) ms)" \
    test $((t1 - t0)) -le 2000
kill -CONT "$AGENT_MAIN_PID"
back() { req_cert back allowed; [ "$STATUS" = 200 ]; }
check "agent resumed (SIGCONT): served again within 10 s" wait_until 10 back
kill -KILL "$AGENT_MAIN_PID"
wait "$AGENT_MAIN_PID" 2>/dev/null
forget_pid "$AGENT_MAIN_PID"
req_cert killed allowed
check "agent killed: listed client -> 503 agent_unavailable" is_unavailable
aget "killed-forged" "$BASE/x" -H "Client-Cert: $FORGED"
check "agent killed: forged Client-Cert -> 503, not forwarded" is_unavailable
stop_pid "$HAP_PID"

# ------------------------------------------------------------ garbage agent

note "an 'agent' that answers garbage [$((SECONDS - START)) s]"
# (it binds port 0 and writes the port it got, so no other test can take it
# in between)
python3 -c '
import os, socket, sys, threading
s = socket.socket()
s.bind(("127.0.0.1", 0))
s.listen(64)
with open(sys.argv[1] + ".tmp", "w") as f:
    f.write("%d\n" % s.getsockname()[1])
os.rename(sys.argv[1] + ".tmp", sys.argv[1])
def serve(c):
    try:
        c.recv(65536)
        c.sendall(b"\x00\x00\x00\x10\x67garbage-garbage!" + b"HTTP/1.0 200 OK\r\n\r\n" + bytes(range(256)))
        c.recv(65536)
    except OSError:
        pass
    c.close()
while True:
    c, _ = s.accept()
    threading.Thread(target=serve, args=(c,), daemon=True).start()
' "$WORK/garbage.port" >"$WORK/garbage.log" 2>&1 &
CHILD_PIDS+=("$!")
if wait_until 5 test -s "$WORK/garbage.port" && AGENT_ADDR=127.0.0.1:$(cat "$WORK/garbage.port") &&
    adv_start_hap haproxy-garbage "HTTPS_PORT APP_PORT STATS_PORT" mtls_env "$WORK/blocked-haproxy.cfg"; then
    BASE=https://localhost:$HTTPS_PORT
    req_cert garbage allowed
    check "garbage agent: listed client -> 503 agent_unavailable" is_unavailable
    aget "garbage-forged" "$BASE/x" -H "Client-Cert: $FORGED"
    check "garbage agent: forged Client-Cert, no certificate -> 503" is_unavailable
    stop_pid "$HAP_PID"
else
    fail "garbage agent and HAProxy start" "$WHY"
fi
adv_end
