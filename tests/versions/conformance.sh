#!/usr/bin/env bash
# conformance.sh VERSION   (VERSION: 2.6, 3.0 or 3.2)
#
# The real certspoa agent against the real SPOE engine of one HAProxy
# version (run through tests/versions/haproxy.sh), with the shipped
# haproxy-examples/mtls-api/haproxy.cfg and spoe-conf/certspoa.conf unchanged:
#
#   health     option spop-check marks the agent UP; the agent counts the checks
#   reuse      200 sequential keep-alive requests: few agent connections
#   pipelining 240 concurrent requests (HTTP/2 streams and HTTP/1.1
#              connections, four certificates): each gets its own verdict,
#              checked per request in HAProxy's log; NOTIFY count == requests;
#              then a chained client on resumed TLS sessions
#   chains     a client chain of four intermediates, NOTIFY ~15 KB: right
#              verdicts; a NOTIFY over max-frame-size: 503 (fail closed);
#              with send-frag-payload, 2.6/3.0 fragment and the agent
#              reassembles
#   reload     two soft reloads (-sf) under traffic: every answer for the
#              allowed certificate is an allow; the new processes' connection
#              bursts are absorbed (none refused)
#   teardown   soft stop (2.6/3.0: HAPROXY-DISCONNECT; 3.2: reset) and hard
#              stop: every agent connection closes; a second agent's
#              idle_timeout close is quiet
#   in flight  the same burst through tests/versions/spop_relay.py, which
#              counts the NOTIFY frames HAProxy has in flight per connection
#   logs       the agent logs nothing above debug for any of these normal
#              ends (no level=warn/error, no protocol-error disconnect)
#
# Needs root (3.0/3.2 run in a chroot), curl, openssl, python3. Loopback
# only. Reuses tests/integration/lib.sh and pki.sh. Last line:
# "conformance-VERSION: N passed, N failed"; exit 1 if anything failed.
# Work files in tests/out/conformance-VERSION.*/, kept when something fails.
#   CERTSPOA_BIN   the agent (default ./certspoa)
#   KEEP_OUT=1     keep the work directory
set -u

HERE=$(cd "$(dirname "$0")" && pwd -P)
VERSION=${1:-}
case $VERSION in
    2.6|3.0|3.2) ;;
    *) echo "usage: $0 VERSION   (2.6, 3.0 or 3.2)" >&2; exit 2 ;;
esac
HAPROXY="$HERE/haproxy.sh $VERSION"
. "$HERE/../integration/lib.sh"

SUITE=conformance-$VERSION
BURST=60                     # requests per client in a burst (4 clients)
T_START=$(date +%s)

workdir "$SUITE"
note "haproxy: $("${HAPROXY_CMD[@]}" -v 2>/dev/null | head -n 1)"
note "agent:   $CERTSPOA_BIN"
note "work:    $WORK"

# ------------------------------------------------------------ helpers

# The agent's /metrics ([stats] listen): M[name] = sum over labels.
declare -A M
metrics() {
    local name val
    M=()
    while read -r name val; do
        M[$name]=$val
    done < <($CURL -s --max-time 5 "http://127.0.0.1:$AGENT_STATS_PORT/metrics" |
        awk '!/^#/ && NF >= 2 { n = $1; sub(/\{.*/, "", n); s[n] += $NF } END { for (n in s) printf "%s %.0f\n", n, s[n] }')
    [ -n "${M[certspoa_spop_notify_frames_total]:-}" ]
}
# stats_port LOG: AGENT_STATS_PORT from the agent's "stats on http://ADDR/"
# line ([stats] listen on port 0: no port to race for).
stats_port() {
    AGENT_STATS_PORT=$(sed -n 's|.*stats on http://127\.0\.0\.1:\([0-9]*\)/.*|\1|p' "$1" | tail -n 1)
}
# snap VAR: save the counters we compare (space-separated, fixed order).
COUNTERS="certspoa_spop_notify_frames_total certspoa_spop_connections_accepted_total
 certspoa_spop_healthchecks_total certspoa_spop_connections_refused_total
 certspoa_spop_haproxy_disconnects_total certspoa_spop_received_bytes_total
 certspoa_spop_errors_total certspoa_messages_total"
snap() {
    local c out=""
    metrics || { printf -v "$1" '%s' ""; return 1; }
    for c in $COUNTERS; do out="$out${M[$c]:-0} "; done
    printf -v "$1" '%s' "$out"
}
# delta BEFORE AFTER NAME: AFTER - BEFORE for one counter.
delta() {
    local i=0 c b a
    read -r -a b <<<"$1"
    read -r -a a <<<"$2"
    for c in $COUNTERS; do
        [ "$c" = "$3" ] && { echo $(( ${a[$i]:-0} - ${b[$i]:-0} )); return; }
        i=$((i + 1))
    done
    echo 0
}
# agent connections that were not health checks, between two snapshots
spop_conns() {
    echo $(( $(delta "$1" "$2" certspoa_spop_connections_accepted_total) -
             $(delta "$1" "$2" certspoa_spop_healthchecks_total) ))
}
open_conns() { metrics && echo "${M[certspoa_spop_connections]:-?}"; }
conns_are() {
    local n
    n=$(open_conns)
    [ "$n" = "$1" ] && return 0
    WHY="certspoa_spop_connections is '$n', want $1"
    return 1
}

# Agent log: nothing above debug, no protocol-error disconnect, between a
# mark (byte offset) and now. Start-up and stop lines are info; they are
# outside the marked stretches.
BAD_LOG='level=(warn|error)|msg="disconnecting'
log_mark() { stat -c %s "$AGENT_LOG"; }
log_clean_since() {
    local hit
    hit=$(tail -c +"$(( $1 + 1 ))" "$AGENT_LOG" | grep -E -m 3 -- "$BAD_LOG") || return 0
    WHY="agent log: $(printf '%s' "$hit" | tr '\n' ' ' | cut -c1-400)"
    return 1
}

# Response predicates, copied from tests/integration/run.sh (they live there,
# not in lib.sh).
describe() {
    printf '%s %s %s' "$STATUS" "$(hdr X-Certspoa-Code)" "$(json_field detail)"
}
is_deny() {
    local want=$1 code=$2 got
    [ "$STATUS" = "$want" ] || { WHY="got $(describe), want $want $code"; return 1; }
    got=$(hdr X-Certspoa-Code)
    eq "$got" "$code" || { WHY="X-Certspoa-Code: $WHY"; return 1; }
    got=$(json_field code)
    eq "$got" "$code" || { WHY="body code: $WHY (body $BODY)"; return 1; }
    hasnt "$BODY" "backend saw" || { WHY="the request reached the backend"; return 1; }
}
is_allowed_as() {
    local got
    [ "$STATUS" = 200 ] || { WHY="got $(describe), want 200"; return 1; }
    got=$(backend_saw client-cert-count)
    eq "$got" 1 || { WHY="backend saw $got Client-Cert headers, want 1"; return 1; }
    got=$(backend_saw client-cert)
    eq "$got" "$(client_cert_value "$1")" || { WHY="Client-Cert: $WHY"; return 1; }
}
is_unavailable() { is_deny 503 agent_unavailable; }

le() { [ "$1" -le "$2" ] && return 0; WHY="$1 > $2"; return 1; }
ge() { [ "$1" -ge "$2" ] && return 0; WHY="$1 < $2"; return 1; }
lt() { [ "$1" -lt "$2" ] && return 0; WHY="$1 >= $2"; return 1; }

sha256_of() { openssl x509 -in "$PKI/$1.crt" -outform DER | sha256sum | cut -d' ' -f1; }

# stopped_ok STATUS LOG: a stopped HAProxy exited 0. One exception, counted
# in KNOWN_CRASHES and reported: HAProxy 2.6.12 (Debian 12) sometimes dies
# of SIGSEGV (status 139) in its own exit path after a soft stop, once every
# proxy has stopped (deinit -> free_proxy -> sock_conn_ctrl_close ->
# _fd_delete_orphan; about 1 soft stop in 80, docs/haproxy-versions.md).
# That is accepted on 2.6 only, and only when the log's last proxy line is
# the final "Proxy <HTTPCLIENT> stopped".
KNOWN_CRASHES=0
stopped_ok() {
    [ "$1" -eq 0 ] && return 0
    if [ "$VERSION" = 2.6 ] && [ "$1" -eq 139 ] &&
       [ "$(grep '^Proxy .* stopped' "$2" | tail -n 1 | cut -d' ' -f2)" = "<HTTPCLIENT>" ]; then
        KNOWN_CRASHES=$((KNOWN_CRASHES + 1))
        note "KNOWN: HAProxy 2.6.12 died of SIGSEGV in its exit path after every proxy stopped ($2)"
        return 0
    fi
    WHY="exit status $1 (see $2)"
    return 1
}

# A copy of lib.sh's start_haproxy for reloads: the same ports as the
# running instance, extra arguments (-sf PID). Sets HAP_PID.
start_haproxy_again() {
    local name=$1
    shift
    echo "=== start $(date +%T.%3N) $*" >>"$WORK/$name.log"
    CERTSPOA_HTTPS_BIND=127.0.0.1:$HTTPS_PORT \
    CERTSPOA_APP_BIND=127.0.0.1:$APP_PORT \
    CERTSPOA_STATS_SOCKET=ipv4@127.0.0.1:$STATS_PORT \
    CERTSPOA_AGENT_ADDR=$HAP_AGENT \
    CERTSPOA_SERVER_PEM=$PKI/server.pem \
    CERTSPOA_CLIENT_CA=$PKI/ca.pem \
    CERTSPOA_SPOE_CONF=$SPOE_CONF \
        "${HAPROXY_CMD[@]}" -db -f "$EXAMPLE/haproxy.cfg" "$@" >>"$WORK/$name.log" 2>&1 &
    HAP_PID=$!
    CHILD_PIDS+=("$HAP_PID")
}
start_hap() { # start_hap NAME AGENT: lib's start_haproxy, remembering the agent
    HAP_AGENT=$2
    start_haproxy "$1" "$2"
}
gone() { ! kill -0 "$1" 2>/dev/null; }

# burst TAG CERT N [CURL ARGS]: N requests at once from one curl --parallel
# to /burst/TAG/1..N, presenting CERT ("none": no certificate). One line per
# response in $WORK/resp/burst-TAG: URL|STATUS|X-Certspoa-Code|X-Client-Cert-Seen
burst() {
    local tag=$1 cert=$2 n=$3 i rc
    shift 3
    local certargs=()
    [ "$cert" = none ] || certargs=(--cert "$PKI/$cert.crt" --key "$PKI/$cert.key")
    for i in $(seq 1 "$n"); do
        printf 'url = "https://localhost:%s/burst/%s/%d"\noutput = "/dev/null"\n' "$HTTPS_PORT" "$tag" "$i"
    done >"$WORK/burst-$tag.curlrc"
    $CURL -s --parallel --parallel-max "$n" --max-time 20 --cacert "$PKI/ca.pem" \
        --resolve "localhost:$HTTPS_PORT:127.0.0.1" "${certargs[@]}" "$@" \
        -w '%{url}|%{http_code}|%header{x-certspoa-code}|%header{x-client-cert-seen}\n' \
        -K "$WORK/burst-$tag.curlrc" >"$WORK/resp/burst-$tag" 2>>"$WORK/curl.err"
}

# burst_set PREFIX: four clients at once, BURST requests each: the allowed
# and the not-listed certificate over HTTP/2 (one TLS connection each, all
# requests as concurrent streams), no certificate and the chained client over
# HTTP/1.1 (BURST TLS connections each). The chained client does not resume
# TLS sessions here: a resumed session has no ssl_c_chain_der, and the agent
# can complete such a leaf only once it has verified its chain in full,
# which in a burst may not have happened yet (resumption is checked on its
# own after the first burst).
burst_set() {
    local p=$1 pids=()
    burst "$p-allowed" allowed "$BURST" --http2 & pids+=($!)
    burst "$p-notlisted" notlisted "$BURST" --http2 & pids+=($!)
    burst "$p-nocert" none "$BURST" --http1.1 & pids+=($!)
    burst "$p-chained" chained-full "$BURST" --http1.1 --no-sessionid & pids+=($!)
    wait "${pids[@]}"
}

# burst_ok PREFIX [TOLERATE]: every response of a burst as expected. With
# TOLERATE=1 a 503 agent_unavailable (no verdict in time) is counted in
# BURST_NOVERDICT instead of failing; a wrong verdict always fails.
burst_ok() {
    local p=$1 tol=${2:-0} out total
    total=$(cat "$WORK/resp/burst-$p-"* 2>/dev/null | wc -l)
    out=$(cat "$WORK/resp/burst-$p-"* 2>/dev/null | awk -F'|' -v tol="$tol" '
        { split($1, u, "/"); tag = u[5]; sub(/^[^-]*-/, "", tag)
          if (tag == "allowed" || tag == "chained") want = "200  1"
          else if (tag == "notlisted") want = "403 cert_untrusted "
          else want = "403 cert_missing "
          got = $2 " " $3 " " $4
          if (got == want) next
          if (tol && got == "503 agent_unavailable ") { nv++; next }
          n++; if (n <= 3) printf "%s: got [%s] want [%s]; ", $1, got, want }
        END { printf "|%d|%d\n", n, nv }')
    BURST_NOVERDICT=${out##*|}
    out=${out%|*}
    [ "$total" -eq $((4 * BURST)) ] || { WHY="$total responses, want $((4 * BURST))"; return 1; }
    case ${out##*|} in 0) return 0 ;; esac
    WHY="wrong answers: ${out##*|}: ${out%|*}"
    return 1
}

# HAProxy's log line of every burst request names the certificate the agent
# decided on (txn.certspoa.sha256, set from the NOTIFY of that very stream).
burst_log_ok() {
    local p=$1 log=$2 tol=${3:-0} out
    out=$(awk -v tol="$tol" -v p="/burst/$p-" -v a="$(sha256_of allowed)" -v nl="$(sha256_of notlisted)" \
              -v ch="$(sha256_of chained)" '
        index($0, p) && index($0, " certspoa=") {
            split(substr($0, index($0, p) + length(p)), t, "/"); tag = t[1]
            sha = ""; v = ""
            for (i = 1; i <= NF; i++) {
                if ($i ~ /^sha256=/) sha = substr($i, 8)
                if ($i ~ /^certspoa=/) v = substr($i, 10)
            }
            # certspoa=verdict/code/rule: the rule is not compared here
            if (split(v, vp, "/") >= 2) v = vp[1] "/" vp[2]
            if (tag == "allowed") want = "allow/ok " a
            else if (tag == "chained") want = "allow/ok " ch
            else if (tag == "notlisted") want = "deny/cert_untrusted " nl
            else want = "deny/cert_missing -"
            n++
            if (tol && v " " sha == "-/- -") next
            if (v " " sha != want) { bad++; if (bad <= 2) printf "[%s: %s %s] ", tag, v, sha }
        }
        END { printf "%d %d\n", n, bad }' "$log")
    # shellcheck disable=SC2086 # split the fields on purpose
    set -- $out
    [ "${2:-x}" = 0 ] && [ "$1" -eq $((4 * BURST)) ] && return 0
    WHY="log lines: $out"
    return 1
}

# ------------------------------------------------------------ set-up

check "test PKI generated (pki.sh)" make_pki
if [ ! -s "$PKI/allowed.sha256" ]; then
    fail "cannot go on without a PKI" "see $WORK/pki.log"
    finish "$SUITE"
    exit
fi

# A client chain of several intermediates, each padded with subjectAltNames
# so that a NOTIFY carrying leaf + chain is about 15 KB (max-frame-size is
# 16380): lc-near (listed), lc-other (not listed), and lc-over, whose bigger
# leaf (still far below tune.bufsize on its own, as is the chain) makes the
# NOTIFY larger than max-frame-size.
long_chain() {
    local k prev=ca n=$1 i
    cd "$PKI" || return 1
    for k in $(seq 1 4); do
        {
            echo "[lc-i$k]"
            echo "basicConstraints = critical, CA:TRUE"
            echo "keyUsage = critical, keyCertSign, cRLSign"
            echo "subjectKeyIdentifier = hash"
            echo "authorityKeyIdentifier = keyid:always"
            echo "subjectAltName = @lc-i${k}_san"
            echo "[lc-i${k}_san]"
            for i in $(seq 1 "$n"); do echo "DNS.$i = i$k-$i.intermediate-padding.certspoa.test"; done
        } >"lc-i$k.cnf"
        openssl genpkey -algorithm EC -pkeyopt ec_paramgen_curve:P-256 -out "lc-i$k.key" &&
        openssl req -new -key "lc-i$k.key" -subj "/O=certspoa test/CN=long chain intermediate $k" -out "lc-i$k.csr" &&
        openssl x509 -req -in "lc-i$k.csr" -CA "$prev.pem" -CAkey "$prev.key" -CAcreateserial -days 2 \
            -sha256 -extfile "lc-i$k.cnf" -extensions "lc-i$k" -out "lc-i$k.pem" || return 1
        prev=lc-i$k
    done
    leaf() { # leaf NAME SANS
        {
            echo "[$1]"
            echo "basicConstraints = critical, CA:FALSE"
            echo "keyUsage = critical, digitalSignature"
            echo "extendedKeyUsage = clientAuth"
            echo "subjectAltName = @$1_san"
            echo "[$1_san]"
            echo "DNS.1 = $1.certspoa.test"
            for i in $(seq 2 "$2"); do echo "DNS.$i = $1-$i.leaf-padding.certspoa.test"; done
        } >"$1.cnf"
        openssl genpkey -algorithm EC -pkeyopt ec_paramgen_curve:P-256 -out "$1.key" &&
        openssl req -new -key "$1.key" -subj "/O=certspoa test/CN=$1 client" -out "$1.csr" &&
        openssl x509 -req -in "$1.csr" -CA lc-i4.pem -CAkey lc-i4.key -CAcreateserial -days 2 \
            -sha256 -extfile "$1.cnf" -extensions "$1" -out "$1.leaf" || return 1
        cat "$1.leaf" lc-i4.pem lc-i3.pem lc-i2.pem lc-i1.pem >"$1.crt"
        openssl x509 -in "$1.leaf" -outform DER -out "$1.der"
    }
    leaf lc-near 1 && leaf lc-other 1 && leaf lc-over 60 || return 1
    cp lc-near.leaf lc-leafonly.crt && cp lc-near.key lc-leafonly.key
    for k in 1 2 3 4; do openssl x509 -in "lc-i$k.pem" -outform DER; done >lc-chain.der
}
check "long client chain generated (4 intermediates)" eval '(long_chain 72) >"$WORK/longchain.log" 2>&1'
CHAIN_BYTES=$(stat -c %s "$PKI/lc-chain.der" 2>/dev/null || echo 0)
note "long chain: $CHAIN_BYTES bytes of intermediates (DER); leaves $(stat -c %s "$PKI/lc-near.der" 2>/dev/null) and $(stat -c %s "$PKI/lc-over.der" 2>/dev/null) bytes"

{
    echo "# conformance list"
    cat "$PKI/allowed.sha256"
    cat "$PKI/chained.sha1"
    sha256_of lc-near
    openssl x509 -in "$PKI/lc-over.leaf" -outform DER | sha256sum | cut -d' ' -f1
} >"$WORK/allowed.txt"

# The example's certspoa.ini with verify = both (HAProxy's ssl_c_verify AND
# the agent's own chain verification, so the chain must arrive whole) and the
# stats listener on.
agent_ini "$WORK/agent.ini" 127.0.0.1:0 "$WORK/agent.ready" both "$PKI/ca.pem" "$WORK/allowed.txt" ||
    fail "example certspoa.ini has the keys the tests substitute"
printf '\n[stats]\nlisten = 127.0.0.1:0\n' >>"$WORK/agent.ini"
# these checks count one NOTIFY per request: no verdict reuse (mtls-api
# reuses a connection's verdict when the agent allows it; t-reuse.sh)
sed -i 's/^\[policy default\]$/&\nreuse_max_age = 0/' "$WORK/agent.ini"
check "certspoa -c accepts the conformance config" "$CERTSPOA_BIN" -c -f "$WORK/agent.ini"

AGENT_LOG=$WORK/agent.log
if ! start_agent agent "$WORK/agent.ini" "$WORK/agent.ready"; then
    fail "agent starts" "$WHY"
    finish "$SUITE"
    exit
fi
AGENT_MAIN_PID=$AGENT_PID
AGENT=$AGENT_ADDR
stats_port "$AGENT_LOG"
check "agent: /metrics answers on [stats] listen" wait_until 5 metrics

# ------------------------------------------------------------ health checks

note "health checks, reuse and pipelining, agent at $AGENT"
MARK=$(log_mark)
if ! start_hap haproxy-1 "$AGENT"; then
    fail "start haproxy" "$WHY"
    finish "$SUITE"
    exit
fi
check "option spop-check marks the agent UP (L7OK)" wait_until 5 agent_is UP L7OK
sleep 2.2                  # inter 2s: at least one more check
snap S0
check "the agent answered the health checks (${M[certspoa_spop_healthchecks_total]:-0})" \
    ge "${M[certspoa_spop_healthchecks_total]:-0}" 2
check "health checks: agent log clean (they end in a close or reset)" log_clean_since "$MARK"

# ------------------------------------------------------------ reuse

MARK=$(log_mark)
snap S0
for i in $(seq 1 200); do
    printf 'url = "https://localhost:%s/seq/%d"\noutput = "/dev/null"\n' "$HTTPS_PORT" "$i"
done >"$WORK/seq.curlrc"
$CURL -s --max-time 30 --cacert "$PKI/ca.pem" --resolve "localhost:$HTTPS_PORT:127.0.0.1" \
    --cert "$PKI/allowed.crt" --key "$PKI/allowed.key" --http1.1 \
    -w '%{http_code} %{num_connects}\n' -K "$WORK/seq.curlrc" >"$WORK/resp/seq" 2>>"$WORK/curl.err"
snap S1
seq_res=$(sort "$WORK/resp/seq" | uniq -c | awk '{ printf "%s:%s:%s ", $2, $3, $1 }')
check "200 sequential keep-alive requests on one TLS connection: all 200" eq "$seq_res" "200:0:199 200:1:1 "
CONNS_SEQ=$(spop_conns "$S0" "$S1")
check "... NOTIFY count == 200" eq "$(delta "$S0" "$S1" certspoa_spop_notify_frames_total)" 200
note "200 sequential requests used $CONNS_SEQ new agent connections"
check "... agent connections reused: $CONNS_SEQ new ones for 200 requests (<= 10)" le "$CONNS_SEQ" 10
check "reuse: agent log clean" log_clean_since "$MARK"

# ------------------------------------------------------------ pipelining

MARK=$(log_mark)
snap S0
t0=$(now_ms)
burst_set p1
t1=$(now_ms)
snap S1
n=$((4 * BURST))
check "$n concurrent requests (2 x HTTP/2 streams, 2 x HTTP/1.1): each got its own verdict" burst_ok p1
wait_until 3 burst_log_ok p1 "$WORK/haproxy-1.log" >/dev/null
check "... and HAProxy's log ties each one to its own certificate's SHA-256" burst_log_ok p1 "$WORK/haproxy-1.log"
NOTIFY_P1=$(delta "$S0" "$S1" certspoa_spop_notify_frames_total)
CONNS_P1=$(spop_conns "$S0" "$S1")
check "agent NOTIFY count == requests ($NOTIFY_P1 == $n)" eq "$NOTIFY_P1" "$n"
check "agent messages decided == requests" eq "$(delta "$S0" "$S1" certspoa_messages_total)" "$n"
note "burst: $n requests in $((t1 - t0)) ms over $CONNS_P1 new agent connections"
if [ "$VERSION" = 3.2 ]; then
    check "3.2 multiplexes: agent connections ($CONNS_P1) < requests ($n)" lt "$CONNS_P1" "$n"
else
    check "agent connections ($CONNS_P1) <= requests ($n)" le "$CONNS_P1" "$n"
fi
check "no connection refused" eq "$(delta "$S0" "$S1" certspoa_spop_connections_refused_total)" 0
check "pipelining: agent log clean" log_clean_since "$MARK"

# A resumed TLS session has no ssl_c_chain_der: the agent completes the
# chained client's leaf with the intermediates it has verified before (it
# denied it cert_unverified until commit af13b68). The burst above runs that
# client without session reuse so as not to race its first full handshake.
u="https://localhost:$HTTPS_PORT/resume"
res=$($CURL -s -v --max-time 10 --cacert "$PKI/ca.pem" --resolve "localhost:$HTTPS_PORT:127.0.0.1" \
    --cert "$PKI/chained-full.crt" --key "$PKI/chained-full.key" -H 'Connection: close' --http1.1 \
    -o /dev/null -o /dev/null -o /dev/null -w '%{http_code}/%{num_connects} ' "$u" "$u" "$u" 2>"$WORK/curl-resume.err")
check "chained client, 3 TLS connections resuming one session: 200 x3 (verify = both)" \
    eq "$res" "200/1 200/1 200/1 "
check "... curl did resume (offered its session twice)" \
    eq "$(grep -c 'SSL re-using session ID' "$WORK/curl-resume.err")" 2

# ------------------------------------------------------------ large chains

MARK=$(log_mark)
snap S0
req_cert lc-near lc-near
snap S1
NOTIFY_BYTES=$(delta "$S0" "$S1" certspoa_spop_received_bytes_total)
check "chain of 4 intermediates, listed leaf -> 200, Client-Cert is the leaf" is_allowed_as lc-near
note "that request: $NOTIFY_BYTES bytes received by the agent (NOTIFY + any health check HELLO)"
check "... its NOTIFY is near max-frame-size: 14000 <= $NOTIFY_BYTES bytes <= 16384" \
    eval '[ "$NOTIFY_BYTES" -ge 14000 ] && [ "$NOTIFY_BYTES" -le 16384 ]'
req_cert lc-other lc-other
check "same chain, leaf not listed -> 403 cert_untrusted" is_deny 403 cert_untrusted
req_cert lc-leafonly lc-leafonly
check "the listed leaf without its intermediates -> 403 cert_unverified" is_deny 403 cert_unverified
snap S0
req_cert lc-over lc-over
snap S1
check "NOTIFY over max-frame-size (bigger leaf, same chain) -> 503 agent_unavailable" is_unavailable
check "... detail names SPOE error 3 or 259 (frame too big)" \
    matches "$(json_field detail)" 'spoe error (3|259)\)'
check "... the agent never saw it (no NOTIFY)" eq "$(delta "$S0" "$S1" certspoa_spop_notify_frames_total)" 0
check "... and HAProxy did not reconnect in a loop ($(spop_conns "$S0" "$S1") new connections)" \
    le "$(spop_conns "$S0" "$S1")" 2
req_cert lc-near-again lc-near
check "the listed long chain is allowed again right after" is_allowed_as lc-near
check "large chains: agent log clean" log_clean_since "$MARK"

# ------------------------------------------------------------ fragmentation

# The shipped SPOE file says "no option send-frag-payload". With it turned
# back on, 2.6 and 3.0 split the oversized NOTIFY into fragments, which
# certspoa announces ("fragmentation") and reassembles; 3.1+ never
# fragments (the option is ignored) and the request fails closed.
note "the shipped SPOE file with 'option send-frag-payload' (a separate HAProxy)"
MARK=$(log_mark)
sed 's/^\([[:space:]]*\)no option send-frag-payload/\1option send-frag-payload/' "$SPOE_CONF" >"$WORK/certspoa-frag.conf"
SAVED="$HAP_PID $HTTPS_PORT $APP_PORT $STATS_PORT"
SAVED_SPOE=$SPOE_CONF
SPOE_CONF=$WORK/certspoa-frag.conf
if grep -q '^[[:space:]]*option send-frag-payload' "$SPOE_CONF" && start_hap haproxy-frag "$AGENT"; then
    wait_until 5 agent_is UP >/dev/null
    snap S0
    req_cert frag-over lc-over
    snap S1
    if [ "$VERSION" = 3.2 ]; then
        check "3.2 ignores send-frag-payload: NOTIFY over max-frame-size -> 503" is_unavailable
        check "... the agent never saw it" eq "$(delta "$S0" "$S1" certspoa_spop_notify_frames_total)" 0
    else
        check "$VERSION fragments the oversized NOTIFY; the agent reassembles it -> 200" is_allowed_as lc-over
        check "... one NOTIFY answered" eq "$(delta "$S0" "$S1" certspoa_spop_notify_frames_total)" 1
        check "... of $(delta "$S0" "$S1" certspoa_spop_received_bytes_total) bytes, more than max-frame-size" \
            lt 16380 "$(delta "$S0" "$S1" certspoa_spop_received_bytes_total)"
    fi
    req_cert frag-near lc-near
    check "... and the ~15 KB one still passes whole -> 200" is_allowed_as lc-near
    check "fragmentation: no protocol error" eq "$(delta "$S0" "$S1" certspoa_spop_errors_total)" 0
    stop_haproxy
    check "fragmentation: agent log clean" log_clean_since "$MARK"
else
    fail "start haproxy with send-frag-payload" "$WHY"
fi
SPOE_CONF=$SAVED_SPOE
read -r HAP_PID HTTPS_PORT APP_PORT STATS_PORT <<<"$SAVED"

# ------------------------------------------------------------ reload bursts

# traffic LOOP STOPFILE: requests with the allowed certificate until
# STOPFILE exists; odd loops a new TLS connection per request, even loops
# five keep-alive requests per connection. "STATUS CURL_EXIT" per request;
# curl's -v output in $WORK/curl-reload-LOOP.err (for its retries).
traffic() {
    local i=$1 stopf=$2 urls
    urls=("https://localhost:$HTTPS_PORT/reload/$i")
    [ $((i % 2)) -eq 0 ] && urls=("${urls[@]}" "${urls[@]}" "${urls[@]}" "${urls[@]}" "${urls[@]}")
    while [ ! -e "$stopf" ]; do
        $CURL -s --max-time 5 --cacert "$PKI/ca.pem" --resolve "localhost:$HTTPS_PORT:127.0.0.1" \
            --cert "$PKI/allowed.crt" --key "$PKI/allowed.key" --http1.1 \
            -w '%{http_code} %{exitcode}\n' -o /dev/null -o /dev/null -o /dev/null -o /dev/null -o /dev/null \
            -v "${urls[@]}" 2>>"$WORK/curl-reload-$i.err"
    done >"$WORK/resp/reload-$i"
}

note "soft reloads (-sf) under traffic"
MARK=$(log_mark)
snap S0
rm -f "$WORK/stop-traffic"
tpids=()
for i in $(seq 1 8); do
    traffic "$i" "$WORK/stop-traffic" &
    tpids+=($!)
done
sleep 1.5
RELOAD_OK=1
RELOAD_WHY=""
RELOAD_EXITS=""
OLD=$HAP_PID
for r in 2 3; do
    snap SR0
    start_haproxy_again "haproxy-$r" -sf "$OLD"
    if ! wait_until 15 gone "$OLD"; then
        RELOAD_OK=0
        RELOAD_WHY="old haproxy $OLD still running 15 s after -sf"
    fi
    wait "$OLD" 2>/dev/null
    st=$?
    RELOAD_EXITS="$RELOAD_EXITS$st "
    stopped_ok "$st" "$WORK/haproxy-$((r - 1)).log" ||
        { RELOAD_OK=0; RELOAD_WHY="old haproxy $OLD: $WHY"; }
    sleep 1.5
    snap SR1
    note "reload $r: old process gone; $(spop_conns "$SR0" "$SR1") new agent connections in the next 1.5 s"
    forget_pid "$OLD"
    OLD=$HAP_PID
done
touch "$WORK/stop-traffic"
wait "${tpids[@]}"
snap S1
reload_ok() { [ "$RELOAD_OK" = 1 ] || { WHY=$RELOAD_WHY; return 1; }; }
check "two soft reloads: each old process finishes and exits 0 (2.6: or its known crash at exit; statuses: $RELOAD_EXITS)" reload_ok
kill -0 "$HAP_PID" 2>/dev/null
check "the last new process is running" eq $? 0
RESULTS=$(cat "$WORK"/resp/reload-* | sort | uniq -c | awk '{ printf "%s:%s:%s ", $2, $3, $1 }')
TOTAL=$(cat "$WORK"/resp/reload-* | wc -l)
OK200=$(cat "$WORK"/resp/reload-* | grep -c '^200 0$')
note "reload traffic: $TOTAL requests: $RESULTS"
# An answer that is not 200 is a failed decision. A request with no HTTP
# answer at all (000) never reached a decision: with a plain -sf reload
# (no -x socket passing) a connection still in the old process's accept
# queue when it closes its listener is reset during the TLS handshake
# (curl exit 35, or 56). Those are counted, must stay rare, and must be
# exactly that kind of failure.
NOT200=$(cat "$WORK"/resp/reload-* | awk '$1 != "200" && $1 != "000"' | wc -l)
NOANSWER=$(cat "$WORK"/resp/reload-* | awk '$1 == "000"' | wc -l)
# shellcheck disable=SC2034 # read by the eval'd check below
NOANSWER_OTHER=$(cat "$WORK"/resp/reload-* | awk '$1 == "000" && $2 != 35 && $2 != 56' | wc -l)
note "reload traffic: $NOANSWER requests reset before any HTTP answer (listener handover of a -sf reload)"
check "reload traffic: $TOTAL requests, every answer an allow (200) - zero failed decisions" eq "$NOT200" 0
check "reload traffic: every answered request allowed ($OK200 == $TOTAL - $NOANSWER)" eq "$OK200" $((TOTAL - NOANSWER))
check "reload traffic: resets at the listener handover stay rare ($NOANSWER <= 1%) and are TLS-handshake resets" \
    eval '[ "$NOANSWER" -le $((TOTAL / 100)) ] && [ "$NOANSWER_OTHER" -eq 0 ]'
check "reload traffic: enough requests to mean something (>= 100)" ge "$TOTAL" 100
# 3.0 and 3.2 (not seen on 2.6): a soft-stopping process may drop a request
# it read on a keep-alive connection, at times after asking the agent,
# without answering or logging it; curl resends it on a new connection
# ("Connection died, retrying a fresh connect"). So the agent may have seen
# up to one NOTIFY more per such retry.
RETRIES=$(cat "$WORK"/curl-reload-*.err 2>/dev/null | grep -c 'Connection died, retrying')
NOTIFY_R=$(delta "$S0" "$S1" certspoa_spop_notify_frames_total)
note "reload traffic: agent answered $NOTIFY_R NOTIFY frames for $OK200 requests; curl retried $RETRIES requests that died on a closing keep-alive connection"
check "agent NOTIFY count == requests answered (+ at most one per curl retry): $OK200 <= $NOTIFY_R <= $OK200 + $RETRIES" \
    eval '[ "$NOTIFY_R" -ge "$OK200" ] && [ "$NOTIFY_R" -le $((OK200 + RETRIES)) ]'
check "reload bursts absorbed: no agent connection refused" \
    eq "$(delta "$S0" "$S1" certspoa_spop_connections_refused_total)" 0
check "reload: no protocol error (agent's certspoa_spop_errors_total unchanged)" \
    eq "$(delta "$S0" "$S1" certspoa_spop_errors_total)" 0
check "reload: agent log clean" log_clean_since "$MARK"

# ------------------------------------------------------------ teardown

MARK=$(log_mark)
req_cert before-stop allowed
OPEN=$(open_conns)
snap S0
kill -USR1 "$HAP_PID"
check "soft stop (SIGUSR1): haproxy exits" wait_until 10 gone "$HAP_PID"
wait "$HAP_PID" 2>/dev/null
check "soft stop: haproxy exits 0 (2.6: or its known crash at exit)" stopped_ok "$?" "$WORK/haproxy-3.log"
forget_pid "$HAP_PID"
check "soft stop: every agent connection closed ($OPEN open before)" wait_until 5 conns_are 0
snap S1
DISC=$(delta "$S0" "$S1" certspoa_spop_haproxy_disconnects_total)
note "soft stop: $OPEN agent connections, $DISC HAPROXY-DISCONNECT frames"
if [ "$VERSION" = 3.2 ]; then
    check "3.2 soft stop: no HAPROXY-DISCONNECT, connections reset or closed ($DISC)" eq "$DISC" 0
else
    check "$VERSION soft stop: HAPROXY-DISCONNECT on the agent connections ($DISC >= 1)" ge "$DISC" 1
fi
check "soft stop: agent log clean" log_clean_since "$MARK"

MARK=$(log_mark)
if start_hap haproxy-4 "$AGENT"; then
    wait_until 5 agent_is UP >/dev/null
    burst_set p4 >/dev/null
    check "hard-stop run: burst answered correctly" burst_ok p4
    stop_haproxy
    check "hard stop (SIGTERM): every agent connection closed" wait_until 5 conns_are 0
    check "hard stop: agent log clean" log_clean_since "$MARK"
else
    fail "start haproxy (hard-stop run)" "$WHY"
fi

# ------------------------------------------------------------ agent idle timeout

# 3.2 does not close idle agent connections while health checks run: the
# agent's idle_timeout does. On every version that end must be as quiet as
# the others (a debug line, no SPOP error counted), and the next request
# must not notice. A second agent with idle_timeout = 2s.
note "a second agent with idle_timeout = 2s"
MAIN_AGENT_LOG=$AGENT_LOG MAIN_STATS_PORT=$AGENT_STATS_PORT
sed -e 's/^\[agent\]$/[agent]\nidle_timeout = 2s/' \
    -e "s|^ready_file = .*|ready_file = $WORK/agent-idle.ready|" \
    "$WORK/agent.ini" >"$WORK/agent-idle.ini"
AGENT_LOG=$WORK/agent-idle.log
if grep -q '^idle_timeout = 2s' "$WORK/agent-idle.ini" &&
   start_agent agent-idle "$WORK/agent-idle.ini" "$WORK/agent-idle.ready"; then
    IDLE_AGENT_PID=$AGENT_PID
    stats_port "$AGENT_LOG"
    if start_hap haproxy-idle "$AGENT_ADDR"; then
        wait_until 5 agent_is UP >/dev/null
        req_cert idle-1 allowed
        check "idle agent: first request allowed" is_allowed_as allowed
        MARK=$(log_mark)
        sleep 3.5
        check "idle agent: the agent closed the idle connection (closing: idle timeout)" \
            file_has "$AGENT_LOG" "closing: idle timeout"
        req_cert idle-2 allowed
        check "idle agent: the next request is allowed" is_allowed_as allowed
        metrics
        check "idle agent: no SPOP error counted" eq "${M[certspoa_spop_errors_total]:-x}" 0
        check "idle agent: agent log clean" log_clean_since "$MARK"
        stop_haproxy
    else
        fail "start haproxy (idle agent)" "$WHY"
    fi
    stop_agent "$IDLE_AGENT_PID"
    check "idle agent exits 0 on SIGTERM" eq "$AGENT_RC" 0
else
    fail "second agent with idle_timeout = 2s starts" "$WHY"
fi
AGENT_LOG=$MAIN_AGENT_LOG AGENT_STATS_PORT=$MAIN_STATS_PORT

# ------------------------------------------------------------ frames in flight

note "the same burst through spop_relay.py (batches HAProxy's frames for 25 ms)"
MARK=$(log_mark)
free_port RELAY_PORT
python3 "$HERE/spop_relay.py" --listen "127.0.0.1:$RELAY_PORT" --agent "$AGENT" \
    --stats "$WORK/relay.json" --batch-ms 25 >"$WORK/relay.log" 2>&1 &
RELAY_PID=$!
CHILD_PIDS+=("$RELAY_PID")
rj() { python3 -c 'import json,sys; d=json.load(open(sys.argv[1])); v=d
for k in sys.argv[2].split("."): v=v[k]
print(v)' "$WORK/relay.json" "$1" 2>/dev/null; }
if wait_until 5 port_open "$RELAY_PORT" && start_hap haproxy-5 "127.0.0.1:$RELAY_PORT"; then
    check "through the relay: health check UP" wait_until 5 agent_is UP L7OK
    snap S0
    burst_set p5
    snap S1
    # The relay holds frames and is a python process: on a busy machine a
    # request may miss HAProxy's 500 ms "timeout processing" here. That is
    # a 503 with no verdict (fail closed), counted and reported; a wrong
    # verdict fails, and so does a missing or unmatched ACK (below).
    check "through the relay: $n concurrent requests, no wrong verdict" burst_ok p5 1
    wait_until 3 burst_log_ok p5 "$WORK/haproxy-5.log" 1 >/dev/null
    check "... each verdict tied to its own certificate in HAProxy's log" burst_log_ok p5 "$WORK/haproxy-5.log" 1
    note "through the relay: $BURST_NOVERDICT of $n requests had no verdict within timeout processing (503)"
    check "... at most 5% without a verdict in time ($BURST_NOVERDICT)" le "$BURST_NOVERDICT" $((n / 20))
    check "... agent NOTIFY count == requests" eq "$(delta "$S0" "$S1" certspoa_spop_notify_frames_total)" "$n"
    sleep 0.3
    MAXIF=$(rj max_inflight)
    note "relay: $(rj conns) connections, NOTIFY $(rj notify), ACK $(rj ack), max in flight on one connection $MAXIF, connections with 2+ in flight $(rj conns_pipelined), connections by their max in flight $(rj inflight_hist)"
    check "relay: every ACK matched a NOTIFY in flight on its connection (unmatched $(rj unmatched_acks))" \
        eq "$(rj unmatched_acks)" 0
    check "relay: ACK count == NOTIFY count" eq "$(rj ack)" "$(rj notify)"
    check "several NOTIFY frames in flight on one connection (max $MAXIF >= 2)" ge "${MAXIF:-0}" 2
    check "HAProxy's pipelining limit respected (max in flight $MAXIF <= 20)" le "${MAXIF:-99}" 20
    stop_haproxy
    check "relay run: every agent connection closed after the stop" wait_until 5 conns_are 0
    check "relay run: agent log clean" log_clean_since "$MARK"
else
    fail "start the relay and haproxy" "$WHY"
fi
stop_pid "$RELAY_PID"

# ------------------------------------------------------------ end

snap S_END
check "agent: no protocol error over the whole run (certspoa_spop_errors_total 0)" \
    eq "${M[certspoa_spop_errors_total]:-x}" 0
check "agent: no connection refused over the whole run" \
    eq "${M[certspoa_spop_connections_refused_total]:-x}" 0
stop_agent "$AGENT_MAIN_PID"
check "agent exits 0 on SIGTERM" eq "$AGENT_RC" 0
check "agent log: no warn/error line and no protocol-error disconnect, whole run" \
    log_clean_since 0
check "agent log: no sanitizer or runtime error reports" \
    file_hasnt_any 'AddressSanitizer|LeakSanitizer|UndefinedBehaviorSanitizer|runtime error:' "$AGENT_LOG"
[ "$KNOWN_CRASHES" -eq 0 ] || note "HAProxy 2.6.12 crashed at exit $KNOWN_CRASHES time(s) in this run (known, accepted)"
note "conformance $VERSION took $(( $(date +%s) - T_START )) s"
finish "$SUITE"
