#!/usr/bin/env bash
# demo.sh - see certspoa work in a few seconds: builds a throw-away PKI,
# starts certspoa and HAProxy with haproxy-examples/mtls-api, sends a few
# requests with curl and prints what happened, then stops everything.
#
#   make && tests/integration/demo.sh
#
# Needs haproxy, curl and openssl. Uses only 127.0.0.1 and free ports.
# HAPROXY and CERTSPOA_BIN work as in run.sh. DEMO_KEEP=1 keeps the files.
set -u
. "$(dirname "$0")/lib.sh"

die() { printf 'demo: %s\n' "$*" >&2; exit 1; }

[ -x "$CERTSPOA_BIN" ] || die "no agent binary at $CERTSPOA_BIN: run 'make' first"
command -v "${HAPROXY_CMD[0]}" >/dev/null || die "haproxy not found (apt-get install haproxy)"
command -v "$CURL" >/dev/null || die "curl not found (apt-get install curl)"
command -v openssl >/dev/null || die "openssl not found (apt-get install openssl)"

WORK=$(mktemp -d "${TMPDIR:-/tmp}/certspoa-demo.XXXXXX")
mkdir -p "$WORK/resp"
KEEP_OUT=${DEMO_KEEP:-0}
trap cleanup EXIT
trap 'exit 130' INT
trap 'exit 143' TERM

make_pki || die "PKI generation failed: $(tail -n 5 "$WORK/pki.log")"

# The example's thumbprint list, plus the demo's allowed client.
{
    cat "$EXAMPLE/allowed.txt"
    echo "$(cat "$PKI/allowed.sha256")   # demo: CN=allowed client"
} >"$WORK/allowed.txt"
agent_ini "$WORK/certspoa.ini" 127.0.0.1:0 "$WORK/ready" haproxy "$PKI/ca.pem" "$WORK/allowed.txt" ||
    die "cannot adapt $EXAMPLE/certspoa.ini"
# the probe at the end asks for the agent's trace with this
DEMO_SECRET=demo-trace-secret-$$-$RANDOM
sed -i "/^\[agent\]/a trace_secret = $DEMO_SECRET" "$WORK/certspoa.ini"

start_agent agent "$WORK/certspoa.ini" "$WORK/ready" || die "certspoa did not start: $WHY"
AGENT=$AGENT_PID
start_haproxy haproxy "$AGENT_ADDR" || die "haproxy did not start: $WHY"
wait_until 5 agent_is UP >/dev/null || die "HAProxy's health check does not see the agent: $WHY"

URL=https://localhost:$HTTPS_PORT/api/orders
cat <<TXT

certspoa demo ($("${HAPROXY_CMD[@]}" -v 2>/dev/null | sed -n '1s/ [0-9]*\/.*//p'))
  certspoa  $AGENT_ADDR   verify = haproxy, thumbprint list $WORK/allowed.txt
  HAProxy   $URL  (haproxy-examples/mtls-api/haproxy.cfg)
  files     $WORK  (PKI from tests/integration/pki.sh)

TXT

n=0
# show TITLE CERT [CURL ARGS...] - one request, explained. CERT may be "-".
show() {
    local title=$1 c=$2 args=()
    shift 2
    n=$((n + 1))
    [ "$c" != - ] && args=(--cert "$PKI/$c.crt" --key "$PKI/$c.key")
    local shown="curl --cacert pki/ca.pem" a
    [ "$c" != - ] && shown="$shown --cert pki/$c.crt --key pki/$c.key"
    for a in "$@"; do
        case $a in *' '*) shown="$shown '$a'" ;; *) shown="$shown $a" ;; esac
    done
    printf '%d. %s\n' "$n" "$title"
    printf '   $ %s %s\n' "$shown" "$URL"
    REQ_PATH=/api/orders req "demo$n" "${args[@]}" "$@"
    if [ "$STATUS" = 200 ]; then
        printf '   -> %s  the API got %s Client-Cert header(s): %.44s...\n' \
            "$STATUS" "$(backend_saw client-cert-count)" "$(backend_saw client-cert)"
    else
        printf '   -> %s  %s: %s\n' "$STATUS" "$(hdr X-Certspoa-Code)" "$(hdr X-Certspoa-Reason)"
        [ -n "$(json_field detail)" ] && printf '          detail: %s\n' "$(json_field detail)"
    fi
    printf '\n'
}

show "No client certificate" -
show "A certificate from a CA nobody trusts" untrusted
show "An expired certificate from the right CA" expired
show "A valid certificate that is not on the list" notlisted
show "A valid certificate on the list" allowed
show "The same, with a forged Client-Cert header" allowed -H "Client-Cert: :Zm9yZ2Vk:"

printf 'Stopping certspoa: HAProxy must now refuse everyone (fail closed).\n\n'
stop_agent "$AGENT"
show "A valid certificate on the list, agent down" allowed

# Where does it break? certspoa probe walks the path from the client's side
# (docs/PROBE.md). The agent comes back on the same address first.
sed "s|^listen = .*|listen = $AGENT_ADDR|" "$WORK/certspoa.ini" >"$WORK/certspoa-again.ini"
if start_agent agent "$WORK/certspoa-again.ini" "$WORK/ready" && wait_until 5 agent_is UP >/dev/null; then
    printf 'certspoa is back. When a client gets 403, ask certspoa probe where it breaks:\n'
    printf '   $ certspoa probe %s --cert pki/notlisted.crt --key pki/notlisted.key --ca pki/ca.pem --trace-secret ...\n' "$URL"
    "$CERTSPOA_BIN" probe "$URL" --cert "$PKI/notlisted.crt" --key "$PKI/notlisted.key" \
        --ca "$PKI/ca.pem" --trace-secret "$DEMO_SECRET" | sed 's/^/   /'
    printf '   (exit status %d: 0 allowed, 1 denied, 2 broken before the agent)\n\n' "${PIPESTATUS[0]}"
else
    printf 'certspoa did not come back (%s): probe skipped\n\n' "$WHY"
fi

stop_haproxy
if [ "$KEEP_OUT" = 1 ]; then
    printf 'Done. Files kept in %s\n' "$WORK"
else
    printf 'Done. Everything stopped and removed.\n'
fi
