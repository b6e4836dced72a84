#!/usr/bin/env bash
# t-reuse.sh - verdict reuse in haproxy-examples/mtls-api: the agent says
# whether its verdict may be reused on the TLS connection (reuse, max_age,
# gen), and the shipped haproxy.cfg reuses it only then, only that long,
# and only while no newer verdict generation exists.
#
# Real keep-alive connections: one curl process with several URLs reuses
# its one connection (checked with %{num_connects}). The agent's decisions
# are counted with "certspoa ctl show info" (decisions: N).
#
#   tests/adversarial/t-reuse.sh
#   HAPROXY="tests/versions/haproxy.sh 3.2" tests/adversarial/t-reuse.sh
. "$(dirname "$0")/examples-lib.sh"

workdir adv-reuse
make_pki || { fail "test PKI" "see $WORK/pki.log"; finish "${SUITE_NAME:-adv-reuse}"; exit; }
ALLOWED=$(cat "$PKI/allowed.sha256")
NOBODY=$(printf '%064d' 0)

# ini OUT [EXTRA POLICY LINES...] - an agent config: one policy (default)
# that lists allowed.crt, reuse_max_age from $MAX_AGE, the admin socket,
# haproxy_socket from $PUSH (empty: none), and whatever EXTRA adds (routes,
# another policy, token...).
ini() {
    local out=$1
    shift
    {
        printf '[agent]\nlisten = 127.0.0.1:%s\nthreads = 2\nready_file = %s\n' "$AGENT_PORT" "$WORK/agent.ready"
        printf 'admin_socket = %s\ntrace_secret = %s\n' "$WORK/admin.sock" "$TRACE_SECRET"
        [ -n "$PUSH" ] && printf 'haproxy_socket = 127.0.0.1:%s\n' "$STATS_PORT"
        printf '[policy default]\nrequire_cert = yes\nverify = both\nca_file = %s\n' "$PKI/ca.pem"
        printf 'thumbprints = %s\nreuse_max_age = %s\n' "$WORK/allowed.txt" "$MAX_AGE"
        printf '%s\n' "$@"
    } >"$out"
}

# start_all NAME - the agent on $WORK/agent.ini, then the shipped mtls-api
# on fixed (free) ports so the agent can be told HAProxy's runtime API
# address before HAProxy starts.
start_all() {
    rm -f "$WORK/agent.ready"
    start_agent "agent-$1" "$WORK/agent.ini" "$WORK/agent.ready" || return 1
    HAPLOG=$WORK/haproxy-$1.log
    KEEP_PORTS=1 start_example "haproxy-$1" "$WORK/api.cfg" "$AGENT_ADDR" "$TOP/spoe-conf/certspoa.conf"
}
stop_all() {
    stop_pid "$HAP_PID"
    [ -n "${AGENT_PID:-}" ] && kill -0 "$AGENT_PID" 2>/dev/null && stop_agent "$AGENT_PID"
    return 0
}

decisions() { "$CERTSPOA_BIN" ctl -S "$WORK/admin.sock" show info 2>/dev/null | sed -n 's/^decisions: //p'; }
ctl() { "$CERTSPOA_BIN" ctl -S "$WORK/admin.sock" "$@" >>"$WORK/ctl.log" 2>&1; }

# conn TAG PATH... - one curl process, one keep-alive connection, a GET per
# PATH with the allowed certificate; per request "status connects" in
# $WORK/TAG.st and each body appended to $WORK/TAG.body. Extra curl
# options in CURL_EXTRA (an array).
conn() {
    local tag=$1 p urls=() i=0
    shift
    for p in "$@"; do
        i=$((i + 1))
        urls+=(-o "$WORK/$tag.part$i" "https://localhost:$HTTPS_PORT$p")
    done
    rm -f "$WORK/$tag.part"*
    : >"$WORK/$tag.body"
    $CURL -s --max-time 20 --cacert "$PKI/ca.pem" --resolve "localhost:$HTTPS_PORT:127.0.0.1" \
        --cert "$PKI/allowed.crt" --key "$PKI/allowed.key" "${CURL_EXTRA[@]}" \
        -w '%{http_code} %{num_connects}\n' "${urls[@]}" \
        >"$WORK/$tag.st" 2>>"$WORK/curl.log"
    cat "$WORK/$tag.part"* >>"$WORK/$tag.body" 2>/dev/null
}
statuses() { awk '{ printf "%s ", $1 }' "$WORK/$1.st"; }
connects() { awk '{ s += $2 } END { print s + 0 }' "$WORK/$1.st"; }

# timed TAG N GAP_MS - one curl process that sends N requests on one
# connection GAP_MS apart (--next with a pause is not portable: a small
# HTTP/1.1 client over openssl s_client instead); "ms status" lines in
# $WORK/TAG.st.
timed() {
    local tag=$1 n=$2 gap=$3 i
    {
        for i in $(seq 1 "$n"); do
            printf 'GET /t%d HTTP/1.1\r\nHost: localhost\r\n\r\n' "$i"
            sleep "$(awk -v g="$gap" 'BEGIN { printf "%.3f", g / 1000 }')"
        done
        printf 'GET /last HTTP/1.1\r\nHost: localhost\r\nConnection: close\r\n\r\n'
    } | timeout $((n * gap / 1000 + 15)) openssl s_client -connect "127.0.0.1:$HTTPS_PORT" -servername localhost \
            -CAfile "$PKI/ca.pem" -cert "$PKI/allowed.crt" -key "$PKI/allowed.key" -quiet 2>>"$WORK/s_client.log" |
        while IFS= read -r line; do
            while [[ $line =~ HTTP/1\.1\ ([0-9]{3}) ]]; do
                printf '%s %s\n' "$(now_ms)" "${BASH_REMATCH[1]}"
                line=${line#*"${BASH_REMATCH[0]}"}
            done
        done >"$WORK/$tag.st"
}
first_after() { awk -v t="$2" -v s="$3" '$1 >= t && $2 == s { print $1 - t; exit }' "$WORK/$1.st"; }
count_status() { awk -v s="$2" '$2 == s' "$WORK/$1.st" | wc -l; }
within() {   # within MS LIMIT
    [ -n "$1" ] && [ "$1" -le "$2" ] && return 0
    WHY="${1:-never} ms, limit $2 ms"
    return 1
}
lines_ge() { [ -f "$1" ] && [ "$(wc -l <"$1")" -ge "$2" ]; }

test_cfg "$EXAMPLE/haproxy.cfg" "$WORK/api.cfg" || fail "test config from the example"
check "mtls-api marks its decision lines for tests/bench/e2e.sh" \
    test "$(grep -c '^    # --- verdict reuse: \(begin\|end\)' "$EXAMPLE/haproxy.cfg")" = 2
if ! { free_port AGENT_PORT && free_port HTTPS_PORT && free_port APP_PORT && free_port STATS_PORT; }; then
    fail "free ports"
fi
CURL_EXTRA=()
TRACE_SECRET=reuse-trace-secret-$$  # 16+ characters whatever the pid
printf '%s\n' "$ALLOWED" >"$WORK/allowed.txt"

# ---- 1. connection-only policy: one NOTIFY for five requests
MAX_AGE=60s PUSH=1
ini "$WORK/agent.ini"
if start_all one; then
    d0=$(decisions)
    conn c1 /a /b /c /d /e
    d1=$(decisions)
    check "1. five requests on one connection -> 5x 200" eq "$(statuses c1)" "200 200 200 200 200 "
    check "1. ... over one TLS connection" eq "$(connects c1)" 1
    check "1. ... exactly one decision by the agent" eq "$((d1 - d0))" 1
    check "1. ... identity forwarded on all five (Client-Cert)" \
        eq "$(grep -c '^client-cert-count: 1$' "$WORK/c1.body")" 5
    check "1. ... the same Client-Cert on all five" \
        eq "$(grep '^client-cert: ' "$WORK/c1.body" | sort -u | wc -l)" 1
    check "1. ... the log says which asked (ptime) and which reused" \
        eq "$(grep -c 'mtls-api.*"GET [^ ]*/[b-e] HTTP.*ptime=- reused=1' "$HAPLOG")" 4

    # a trace on a connection that holds a reusable verdict: asked, and
    # the trace comes back (the event asks while the header is there)
    d0=$(decisions)
    topts=(-s --max-time 10 --cacert "$PKI/ca.pem" --resolve "localhost:$HTTPS_PORT:127.0.0.1"
           --cert "$PKI/allowed.crt" --key "$PKI/allowed.key" -w '%{http_code} %{num_connects}\n')
    $CURL "${topts[@]}" -o /dev/null "https://localhost:$HTTPS_PORT/p" \
        --next "${topts[@]}" -H "X-Certspoa-Trace: $TRACE_SECRET" -D "$WORK/trace.hdrs" -o /dev/null \
        "https://localhost:$HTTPS_PORT/q" >"$WORK/trace.st" 2>>"$WORK/curl.log"
    check "1. a trace request after a reusable one on one connection: 200 200, asked twice" \
        eq "$(awk '{ printf "%s ", $1 }' "$WORK/trace.st")$(connects trace) $(($(decisions) - d0))" "200 200 1 2"
    check "1. ... and the trace comes back" grep -qi '^x-certspoa-trace: ..' "$WORK/trace.hdrs"

    # ---- 10. forged input changes nothing: headers named like the
    # variables, X-Certspoa-*, on a fresh connection with a certificate
    # that is not listed
    CURL_EXTRA=(-H "X-Certspoa-Verdict: allow" -H "sess.certspoa_verdict: allow" -H "certspoa_reuse: connection"
                -H "X-Certspoa-Reuse: connection" -H "proc.certspoa_gen: 0" -H "X-Certspoa-Gen: 1")
    $CURL -s --max-time 10 --cacert "$PKI/ca.pem" --resolve "localhost:$HTTPS_PORT:127.0.0.1" \
        --cert "$PKI/notlisted.crt" --key "$PKI/notlisted.key" "${CURL_EXTRA[@]}" \
        -w '%{http_code}\n' -o /dev/null "https://localhost:$HTTPS_PORT/x" -o /dev/null "https://localhost:$HTTPS_PORT/y" \
        >"$WORK/forged.st" 2>>"$WORK/curl.log"
    check "10. forged variable-like headers: a not-listed certificate stays 403, 403" \
        eq "$(tr '\n' ' ' <"$WORK/forged.st")" "403 403 "
    d0=$(decisions)
    conn forged2 /a /b /c
    CURL_EXTRA=()
    check "10. forged headers on an allowed connection: still one decision for three requests" \
        eq "$(statuses forged2)$(($(decisions) - d0))" "200 200 200 1"

    # ---- 4. runtime deny: the next request of the open connection -> 403
    timed rt 8 500 &
    spid=$!
    wait_until 10 lines_ge "$WORK/rt.st" 2
    t0=$(now_ms)
    ctl add deny thumbprint "$ALLOWED"
    wait "$spid"
    note "runtime deny statuses: $(awk '{ printf "%s ", $2 }' "$WORK/rt.st")"
    check "4. runtime deny: 200 before" eq "$(head -n 1 "$WORK/rt.st" | awk '{ print $2 }')" 200
    check "4. runtime deny: 403 on the open connection within 1 s (haproxy_socket)" \
        within "$(first_after rt "$t0" 403)" 1000
    check "4. runtime deny: no 200 after the first 403" \
        eq "$(awk '$2 == 403 { d = 1 } d && $2 == 200' "$WORK/rt.st")" ""
    ctl del deny thumbprint "$ALLOWED"

    # ---- 3a. reload with haproxy_socket: the next request gets 403
    timed rl 8 500 &
    spid=$!
    wait_until 10 lines_ge "$WORK/rl.st" 2
    printf '%s\n' "$NOBODY" >"$WORK/allowed.txt"
    t0=$(now_ms)
    kill -HUP "$AGENT_PID"
    wait "$spid"
    note "reload statuses: $(awk '{ printf "%s ", $2 }' "$WORK/rl.st")"
    check "3. reload (haproxy_socket): 200 before" eq "$(head -n 1 "$WORK/rl.st" | awk '{ print $2 }')" 200
    check "3. reload (haproxy_socket): 403 on the open connection within 1 s" \
        within "$(first_after rl "$t0" 403)" 1000
    printf '%s\n' "$ALLOWED" >"$WORK/allowed.txt"
    kill -HUP "$AGENT_PID"
    sleep 0.5

    # ---- 6. fail closed: agent killed. A reusable verdict lives on at
    # most max_age on its open connection (here 60 s: test the new
    # connection only; the bounded case runs with max_age 2 s below)
    stop_all
else
    fail "1. agent and mtls-api start" "$WHY"
    stop_all
fi

# ---- 3b. without haproxy_socket: 403 after max_age (2 s), 200 before it
MAX_AGE=2s PUSH=
ini "$WORK/agent.ini"
if start_all two; then
    timed np 10 400 &
    spid=$!
    wait_until 10 lines_ge "$WORK/np.st" 1
    printf '%s\n' "$NOBODY" >"$WORK/allowed.txt"
    t0=$(now_ms)
    kill -HUP "$AGENT_PID"
    wait "$spid"
    note "no-push reload statuses: $(awk '{ printf "%s ", $2 }' "$WORK/np.st")"
    first=$(first_after np "$t0" 403)
    check "3. reload without haproxy_socket: 403 within max_age (2 s + 1.5 s slack)" within "$first" 3500
    check "3. ... and not at once: the open connection keeps its verdict until max_age (a 200 after the reload)" \
        test "$(awk -v t="$t0" '$1 >= t + 100 && $2 == 200' "$WORK/np.st" | wc -l)" -ge 1
    check "3. no 200 after the first 403" eq "$(awk '$2 == 403 { d = 1 } d && $2 == 200' "$WORK/np.st")" ""

    # ---- 5. revocation: a CRL that revokes allowed.crt, installed by a
    # reload of crl_file: 403 within the bound (max_age, no push)
    printf '%s\n' "$ALLOWED" >"$WORK/allowed.txt"
    kill -HUP "$AGENT_PID"
    wait_until 5 file_has "$WORK/agent-two.log" "generation 3"
    : >"$WORK/index.txt"
    serial=$(openssl x509 -in "$PKI/allowed.crt" -noout -serial | sed 's/serial=//')
    printf 'R\t301231000000Z\t250101000000Z\t%s\tunknown\t/CN=x\n' "$serial" >"$WORK/index.txt"
    cat >"$WORK/ca.cnf" <<EOF
[ca]
default_ca = c
[c]
database = $WORK/index.txt
new_certs_dir = $WORK
certificate = $PKI/ca.pem
private_key = $PKI/ca.key
default_md = sha256
default_crl_days = 2
EOF
    if openssl ca -config "$WORK/ca.cnf" -gencrl -out "$WORK/revoked.crl" >>"$WORK/pki.log" 2>&1; then
        timed crl 10 400 &
        spid=$!
        wait_until 10 lines_ge "$WORK/crl.st" 1
        ini "$WORK/agent.ini" "crl_file = $WORK/revoked.crl" "crl_check = leaf"
        t0=$(now_ms)
        kill -HUP "$AGENT_PID"
        wait "$spid"
        note "revocation statuses: $(awk '{ printf "%s ", $2 }' "$WORK/crl.st")"
        check "5. a CRL revoking the certificate (reload): 403 on the open connection within max_age" \
            within "$(first_after crl "$t0" 403)" 3500
        ini "$WORK/agent.ini"
        kill -HUP "$AGENT_PID"
        sleep 0.5
    else
        fail "5. a CRL revoking allowed.crt" "see $WORK/pki.log"
    fi

    # ---- 6. fail closed: the agent killed. An open connection keeps its
    # allow at most max_age, then 503; a new connection gets 503.
    timed down 10 400 &
    spid=$!
    wait_until 10 lines_ge "$WORK/down.st" 1
    t0=$(now_ms)
    kill -KILL "$AGENT_PID"
    wait "$spid"
    note "agent-killed statuses: $(awk '{ printf "%s ", $2 }' "$WORK/down.st")"
    check "6. agent killed: the open connection gets 503 within max_age (2 s + 1.5 s slack)" \
        within "$(first_after down "$t0" 503)" 3500
    check "6. ... never a 200 after max_age" \
        eq "$(awk -v t="$t0" '$1 > t + 3500 && $2 == 200' "$WORK/down.st")" ""
    conn new /n
    check "6. agent killed: a new connection -> 503" eq "$(statuses new)" "503 "
    stop_all
else
    fail "3b. agent and mtls-api start" "$WHY"
    stop_all
fi

# ---- 2. route-dependent policy: / then /admin on one connection
MAX_AGE=60s PUSH=1
printf '%s\n' "$ALLOWED" >"$WORK/allowed.txt"
printf '%s\n' "$NOBODY" >"$WORK/admins.txt"
ini "$WORK/agent.ini" "[policy admin]" "require_cert = yes" "verify = both" "ca_file = $PKI/ca.pem" \
    "thumbprints = $WORK/admins.txt" "[route admin]" "path_prefix = /admin" "policy = admin"
if start_all three; then
    d0=$(decisions)
    conn rt1 / /admin / /admin/x
    d1=$(decisions)
    check "2. route on the path: / then /admin on one connection -> 200 403 200 403" \
        eq "$(statuses rt1)" "200 403 200 403 "
    check "2. ... one connection" eq "$(connects rt1)" 1
    check "2. ... every request asked the agent (4 decisions)" eq "$((d1 - d0))" 4
    stop_all
else
    fail "2. agent and mtls-api start" "$WHY"
    stop_all
fi

# ---- 7. shadow policy with would_deny: every request asks, no identity
printf '%s\n' "$NOBODY" >"$WORK/allowed.txt"
ini "$WORK/agent.ini" "mode = shadow"
if start_all four; then
    d0=$(decisions)
    conn sh /a /b /c
    d1=$(decisions)
    check "7. shadow would_deny: 200 x3 (shadow lets through)" eq "$(statuses sh)" "200 200 200 "
    check "7. ... every request asked (3 decisions)" eq "$((d1 - d0))" 3
    check "7. ... no Client-Cert forwarded" eq "$(grep -c '^client-cert-count: 0$' "$WORK/sh.body")" 3
    stop_all
else
    fail "7. agent and mtls-api start" "$WHY"
    stop_all
fi

# ---- 8. token policy: every request asks. Covered by the unit test
# (test_reuse.c: reuse_token_policy_is_per_request) and by
# tests/token/run.sh through this same haproxy.cfg (a token answer is
# never marked "connection").
printf '%s\n' "$ALLOWED" >"$WORK/allowed.txt"
# ---- 9. a certificate expiring in N seconds: max_age <= N. A client
# certificate valid for 6 more seconds, reuse_max_age 60 s: its open
# connection must get 403 (cert_expired) right after notAfter, not 60 s
# later. Then reuse_max_age = 0: every request asks.
cat >"$WORK/short.cnf" <<EOF
[ca]
default_ca = c
[c]
database = $WORK/short-index.txt
new_certs_dir = $WORK
certificate = $PKI/ca.pem
private_key = $PKI/ca.key
serial = $WORK/short-serial
default_md = sha256
policy = p
x509_extensions = ext
[p]
commonName = supplied
[ext]
basicConstraints = CA:FALSE
keyUsage = digitalSignature
extendedKeyUsage = clientAuth
EOF
: >"$WORK/short-index.txt"
echo 1001 >"$WORK/short-serial"
LEFT=6
if openssl req -new -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes -keyout "$PKI/short.key" \
        -subj "/CN=short-lived client" -out "$WORK/short.csr" >>"$WORK/pki.log" 2>&1 &&
   openssl ca -batch -notext -config "$WORK/short.cnf" -in "$WORK/short.csr" -out "$PKI/short.crt" \
        -startdate "$(date -u -d @$(($(date +%s) - 60)) +%Y%m%d%H%M%SZ)" \
        -enddate "$(date -u -d @$(($(date +%s) + LEFT)) +%Y%m%d%H%M%SZ)" >>"$WORK/pki.log" 2>&1; then
    not_after=$(date -d "$(openssl x509 -in "$PKI/short.crt" -noout -enddate | sed 's/notAfter=//')" +%s)
    openssl x509 -in "$PKI/short.crt" -noout -fingerprint -sha256 | sed 's/.*=//; s/://g' |
        tr 'A-F' 'a-f' >"$WORK/allowed.txt"
    MAX_AGE=60s PUSH=
    ini "$WORK/agent.ini"
    if start_all five; then
        {
            for i in $(seq 1 24); do
                printf 'GET /s%d HTTP/1.1\r\nHost: localhost\r\n\r\n' "$i"
                sleep 0.5
            done
            printf 'GET /last HTTP/1.1\r\nHost: localhost\r\nConnection: close\r\n\r\n'
        } | timeout 30 openssl s_client -connect "127.0.0.1:$HTTPS_PORT" -servername localhost \
                -CAfile "$PKI/ca.pem" -cert "$PKI/short.crt" -key "$PKI/short.key" -quiet 2>>"$WORK/s_client.log" |
            while IFS= read -r line; do
                while [[ $line =~ HTTP/1\.1\ ([0-9]{3}) ]]; do
                    printf '%s %s\n' "$(now_ms)" "${BASH_REMATCH[1]}"
                    line=${line#*"${BASH_REMATCH[0]}"}
                done
            done >"$WORK/short.st"
        note "short-lived statuses: $(awk '{ printf "%s ", $2 }' "$WORK/short.st")"
        check "9. a certificate expiring in $LEFT s: allowed before (200)" \
            eq "$(head -n 1 "$WORK/short.st" | awk '{ print $2 }')" 200
        check "9. ... 403 on its open connection within 1.5 s of notAfter (max_age <= the time left, not 60 s)" \
            within "$(first_after short "$((not_after * 1000))" 403)" 1500
        check "9. ... no 200 after notAfter + 1.5 s" \
            eq "$(awk -v t="$((not_after * 1000 + 1500))" '$1 > t && $2 == 200' "$WORK/short.st")" ""
        stop_all
    else
        fail "9. agent and mtls-api start" "$WHY"
        stop_all
    fi
else
    fail "9. a certificate valid for $LEFT more seconds" "see $WORK/pki.log"
fi

printf '%s\n' "$ALLOWED" >"$WORK/allowed.txt"
MAX_AGE=0 PUSH=
ini "$WORK/agent.ini"
if start_all six; then
    d0=$(decisions)
    conn z /a /b /c
    d1=$(decisions)
    check "9. reuse_max_age = 0: 200 x3" eq "$(statuses z)" "200 200 200 "
    check "9. ... every request asked (3 decisions)" eq "$((d1 - d0))" 3
    stop_all
else
    fail "9. agent and mtls-api start (reuse_max_age = 0)" "$WHY"
    stop_all
fi

finish "${SUITE_NAME:-adv-reuse}"
