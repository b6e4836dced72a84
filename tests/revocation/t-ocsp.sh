#!/usr/bin/env bash
# once
# t-ocsp.sh - OCSP against real responders (openssl ocsp) and broken ones,
# through the agent's SPOP port (tests/revocation/ocsp_client.py plays
# HAProxy): good, revoked, unknown, delegated signer, wrong signer, stale,
# responder down, responder silent past ocsp_timeout, garbage, nonce, POST,
# ocsp_url fallback, soft-fail; then NO WORKER BLOCKS: one worker thread,
# NOTIFYs waiting on a silent responder while a cached certificate keeps
# its decision rate, and the waiting ones end at ocsp_timeout.
#
#   tests/revocation/t-ocsp.sh          (ONLY=pattern for some checks)
# Needs no HAProxy: run.sh runs it once ("# once" above).
# Ends with "t-ocsp: N passed, N failed" (SUITE_NAME when run.sh runs it).
set -u
. "$(dirname "$0")/../integration/lib.sh"
. "$(dirname "$0")/ocsp-lib.sh"

workdir t-ocsp
for v in P_CA P_DEL P_WRONG P_DOWN P_STATS; do free_port "$v" || { fail setup "no free port"; finish t-ocsp; exit 1; }; done
# one certificate per scenario: answers are cached per certificate
if ! ocsp_pki "$WORK/ocsp" "$P_CA" good:client:V revoked:client:R unknown:client:- \
    unknown2:client:- noaia:noaia:V noaia2:noaia:V good-del:client:V revoked-del:client:R \
    good-wrong:client:V good-down:client:V good-soft:client:V good-silent:client:V \
    revoked-silent:client:R good-garbage:client:V good-stale:client:V revoked-nonce:client:R \
    revoked-post:client:R wait-block:client:V; then
    fail "pki" "openssl failed"
    finish "${SUITE_NAME:-t-ocsp}"
    exit 1
fi
O=$WORK/ocsp

# a response without nextUpdate, made now and served as is: stale once
# ocsp_max_age (1 s) has passed
openssl ocsp -issuer "$O/ca.pem" -cert "$O/good-stale.crt" -no_nonce -reqout "$O/req.der" >/dev/null 2>&1
openssl ocsp -index "$O/index.txt" -CA "$O/ca.pem" -rsigner "$O/ca.pem" -rkey "$O/ca.key" \
    -reqin "$O/req.der" -respout "$O/stale.der" >/dev/null 2>&1

check "responder (CA signs)" ocsp_responder resp-ca "$P_CA" ca
check "responder (delegated)" ocsp_responder resp-del "$P_DEL" resp
check "responder (wrong signer)" ocsp_responder resp-wrong "$P_WRONG" wrong
ocsp_fake silent silent && P_SILENT=$FAKE_PORT
ocsp_fake garbage garbage && P_GARBAGE=$FAKE_PORT
ocsp_fake stale file "$O/stale.der" && P_STALE=$FAKE_PORT
LONG=$(printf 'x%.0s' $(seq 1 150))

pol() {  # pol NAME URL [MORE...]
    local n=$1 u=$2
    shift 2
    printf '[route %s]\nfrontend = %s\npolicy = %s\n' "$n" "$n" "$n"
    printf '[policy %s]\nverify = agent\nca_file = %s\nocsp = leaf\nocsp_timeout = 1s\nocsp_error_ttl = 1s\n' "$n" "$O/ca.pem"
    [ -n "$u" ] && printf 'ocsp_url = %s\nocsp_url_mode = override\n' "$u"
    for m in "$@"; do printf '%s\n' "$m"; done
}
{
    printf '[agent]\nlisten = 127.0.0.1:0\nready_file = %s\nthreads = 1\nlog_decisions = none\n' "$WORK/ready"
    printf '[stats]\nlisten = 127.0.0.1:%s\n' "$P_STATS"
    pol del "http://127.0.0.1:$P_DEL/"
    pol wrong "http://127.0.0.1:$P_WRONG/"
    pol down "http://127.0.0.1:$P_DOWN/"
    pol silent "http://127.0.0.1:$P_SILENT/"
    pol garbage "http://127.0.0.1:$P_GARBAGE/"
    pol stale "http://127.0.0.1:$P_STALE/" "ocsp_max_age = 1s"
    pol soft "http://127.0.0.1:$P_DOWN/" "ocsp_unavailable = allow"
    pol nonce "" "ocsp_nonce = yes"
    pol post "http://127.0.0.1:$P_CA/$LONG"
    pol fallback "" "ocsp_url = http://127.0.0.1:$P_CA/"
    pol unknownok "" "ocsp_unknown = allow"
    printf '[policy default]\nverify = agent\nca_file = %s\nocsp = leaf\nocsp_timeout = 1s\n' "$O/ca.pem"
} >"$WORK/agent.ini"
if ! start_agent agent "$WORK/agent.ini" "$WORK/ready"; then
    fail "agent starts" "$WHY"
    finish "${SUITE_NAME:-t-ocsp}"
    exit 1
fi

# --- answers from the responder the certificate names (AIA) ---
ocsp_decide default:good
check "aia good: ok" eq "$(field code)" ok
ocsp_decide default:revoked
check "aia revoked: cert_revoked" eq "$(field code)" cert_revoked
check "revoked: rule ocsp_revoked" eq "$(field rule)" ocsp_revoked
check "revoked: detail names the source and responder" has "$OUT" "source ocsp http://127.0.0.1:$P_CA/"
check "revoked: detail has the reason" has "$OUT" "(keyCompromise)"
ocsp_decide default:unknown
check "aia unknown: ocsp_unknown" eq "$(field code)" ocsp_unknown
ocsp_decide unknownok:unknown2
check "ocsp_unknown = allow: ok" eq "$(field code)" ok
ocsp_decide default:noaia
check "no AIA, no ocsp_url: ocsp_unavailable" eq "$(field code)" ocsp_unavailable
check "no AIA: detail says so" has "$OUT" "no OCSP responder"
ocsp_decide fallback:noaia2
check "ocsp_url as fallback: ok" eq "$(field code)" ok
ocsp_decide default:good
check "cached: answered at once (< 100 ms)" test "$(field ms)" -lt 100

# --- a delegated responder, and one that is not ---
ocsp_decide del:good-del
check "delegated signer: ok" eq "$(field code)" ok
ocsp_decide del:revoked-del
check "delegated signer, revoked: cert_revoked" eq "$(field code)" cert_revoked
ocsp_decide wrong:good-wrong
check "wrong signer: ocsp_unavailable" eq "$(field code)" ocsp_unavailable
check "wrong signer: detail" has "$OUT" "not signed by the CA"

# --- broken responders ---
ocsp_decide down:good-down
check "responder down: ocsp_unavailable" eq "$(field code)" ocsp_unavailable
check "responder down: no wait for the timeout (< 900 ms)" test "$(field ms)" -lt 900
ocsp_decide soft:good-soft
check "responder down, ocsp_unavailable = allow: ok" eq "$(field code)" ok
ocsp_decide silent:good-silent
check "silent responder: ocsp_unavailable" eq "$(field code)" ocsp_unavailable
check "silent responder: at ocsp_timeout (>= 950 ms)" test "$(field ms)" -ge 950
check "silent responder: within ocsp_timeout + 500 ms" test "$(field ms)" -lt 1500
ocsp_decide garbage:good-garbage
check "garbage answer: ocsp_unavailable" eq "$(field code)" ocsp_unavailable
check "garbage answer: detail" has "$OUT" "malformed response"
sleep 2
ocsp_decide stale:good-stale
check "stale answer (no nextUpdate, older than ocsp_max_age): ocsp_unavailable" eq "$(field code)" ocsp_unavailable
check "stale answer: detail" has "$OUT" "older than ocsp_max_age"

# --- transport ---
ocsp_decide nonce:revoked-nonce
check "nonce sent and echoed: cert_revoked" eq "$(field code)" cert_revoked
ocsp_decide post:revoked-post
check "URL over 255 bytes: POST, cert_revoked" eq "$(field code)" cert_revoked
check "POST reached the responder" file_has "$WORK/resp-ca.log" "1st line: POST /$LONG"

# --- several NOTIFYs for one certificate: one fetch, all answered ---
ocsp_decide silent:revoked-silent silent:revoked-silent silent:revoked-silent default:good
check "pipelined: the cached one comes first" eq "$(printf '%s\n' "$OUT" | head -n 1 | sed 's/ .*//')" "fid=4"
check "pipelined: the three waiting end unavailable" eq "$(printf '%s\n' "$OUT" | grep -c 'code=ocsp_unavailable')" 3

# --- no worker blocks: one worker, 20 NOTIFYs on a silent responder ---
ocsp_decide default:good
OUT=$(timeout 30 python3 "$OCSP_DIR/ocsp_client.py" "${AGENT_ADDR%:*}" "${AGENT_ADDR##*:}" \
    blocked 0.8 "$O/wait-block.der" silent 20 "$O/good.der" default 2>&1)
# the same client without anything waiting, right after (warm)
base=$(timeout 30 python3 "$OCSP_DIR/ocsp_client.py" "${AGENT_ADDR%:*}" "${AGENT_ADDR##*:}" \
    blocked 0.8 "$O/wait-block.der" silent 0 "$O/good.der" default 2>&1 | sed -n 's/^rate=\([0-9]*\).*/\1/p')
rate=$(printf '%s\n' "$OUT" | sed -n 's/^rate=\([0-9]*\).*/\1/p')
note "cached decisions, one worker: ${base:-?}/s alone, ${rate:-?}/s while 20 NOTIFYs wait on a silent responder"
check "cached certificate decided while others wait" test "${rate:-0}" -gt 100
# the window (0.8 s) lies inside the wait (ocsp_timeout 1 s): a worker that
# blocked on the fetch would decide nothing in it; the margin is for a
# machine shared with other builds
check "its rate holds (>= 25% of the rate alone)" test $((${rate:-0} * 4)) -ge "${base:-1}"
check "the cached decisions were all ok" matches "$(printf '%s\n' "$OUT" | head -n 1)" "codes=ok:[0-9]+$"
check "all 20 waiting NOTIFYs answered" eq "$(printf '%s\n' "$OUT" | grep -c '^fid=.*code=ocsp_unavailable')" 20
maxms=$(printf '%s\n' "$OUT" | sed -n 's/^fid=.* ms=\([0-9]*\) .*/\1/p' | sort -n | tail -n 1)
note "the waiting NOTIFYs ended after at most ${maxms:-?} ms (ocsp_timeout = 1000 ms)"
check "they ended within ocsp_timeout + 500 ms" test "${maxms:-99999}" -lt 1500

# --- metrics and the status page ---
OUT=$($CURL -s --max-time 5 "http://127.0.0.1:$P_STATS/metrics")
check "metrics: fetches ok from the CA's responder" \
    matches "$OUT" "certspoa_ocsp_fetches_total\\{responder=\"http://127.0.0.1:$P_CA/\",result=\"ok\"\\} [1-9]"
check "metrics: the silent responder is failing" \
    matches "$OUT" "certspoa_ocsp_responder_consecutive_failures\\{responder=\"http://127.0.0.1:$P_SILENT/\"\\} [1-9]"
check "metrics: answers by status" matches "$OUT" "certspoa_ocsp_answers_total\\{status=\"revoked\"\\} [1-9]"
check "metrics: cache hits" matches "$OUT" "certspoa_ocsp_cache_hits_total [1-9]"
check "metrics: deferred NOTIFYs counted" matches "$OUT" "certspoa_ocsp_deferred_total [1-9]"
check "metrics: none waiting now" has "$OUT" "certspoa_ocsp_deferred 0"
check "metrics: fetch latency histogram" matches "$OUT" "certspoa_ocsp_fetch_seconds_count [1-9]"
OUT=$($CURL -s --max-time 5 "http://127.0.0.1:$P_STATS/")
check "status page: an OCSP responders section" has "$OUT" "<h2>OCSP responders</h2>"
check "status page: the silent responder in red" has "$OUT" "<td class=\"deny\">failing</td>"

# --- certspoa explain: where the answer came from, and --offline ---
OUT=$("$CERTSPOA_BIN" explain -f "$WORK/agent.ini" --cert "$O/revoked.crt" 2>&1)
check "explain: cert_revoked" has "$OUT" "code:        cert_revoked"
check "explain: the responder and the answer" has "$OUT" "revocation:  ocsp http://127.0.0.1:$P_CA/: revoked (keyCompromise)"
check "explain: fetched now" has "$OUT" "source:    fetched now by this command"
check "explain: how fresh" matches "$OUT" "produced: +[0-9]+s ago"
OUT=$("$CERTSPOA_BIN" explain -f "$WORK/agent.ini" --cert "$O/good.crt" 2>&1)
check "explain: good" has "$OUT" "code:        ok"
check "explain: the trace says ocsp=good" has "$OUT" "ocsp=good("
OUT=$("$CERTSPOA_BIN" explain -f "$WORK/agent.ini" --cert "$O/good.crt" --offline 2>&1)
check "explain --offline: nothing fetched, ocsp_unavailable" has "$OUT" "code:        ocsp_unavailable"
check "explain --offline: says why" has "$OUT" "(--offline: nothing is fetched"

check "agent still alive" kill -0 "$AGENT_PID"
stop_agent "$AGENT_PID"
check "agent stops cleanly" eq "$AGENT_RC" 0
check "a responder failing in a row is logged loudly" file_has "$WORK/agent.log" "failed 3 times in a row"
finish "${SUITE_NAME:-t-ocsp}"
