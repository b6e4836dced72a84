#!/usr/bin/env bash
# t-cafile.sh - a policy's ca_file given as an https:// URL, end to end
# through HAProxy (run.sh runs it once per HAProxy version):
#   - no copy in state_dir and the server down: no trust anchor, every
#     request is denied (fail closed)
#   - the server answers: the bundle is fetched over HTTPS, checked by
#     the loader of ca_file and loaded (a reload): clients of that CA 200
#   - the server switches to another CA: its clients allowed, the old
#     CA's denied, with no operator action
#   - an empty or broken bundle at the server is refused, the last good
#     copy stays
#   - restart with the server down: the last good copy from state_dir
set -u
TOP=$(cd "$(dirname "$0")/../.." && pwd)
. "$TOP/tests/integration/lib.sh"
. "$TOP/tests/revocation/lib.sh"
NAME=${SUITE_NAME:-rev-cafile}

workdir revocation-cafile
WWW=$WORK/www
mkdir -p "$WWW" "$WORK/state"
if ! { free_port CA_PORT && free_port AGENT_PORT && free_port AGENT_STATS_PORT; }; then
    fail "free ports" "none"
    finish "$NAME"
    exit 1
fi
PKI=$WORK/pki
rev_pki "$PKI" "http://127.0.0.1:1/unused.crl"
rev_pki "$WORK/pki2" "http://127.0.0.1:1/unused.crl"
check "two test PKIs (two CAs of the same name, other keys)" test -s "$WORK/pki2/good.crt"
# the second CA's client, next to the first's so that code_of finds it
cp "$WORK/pki2/good.crt" "$PKI/other.crt" && cp "$WORK/pki2/good.key" "$PKI/other.key"
cat "$PKI/ca.pem" "$WORK/pki2/ca.pem" >"$WORK/both-cas.pem"
URL=https://localhost:$CA_PORT/ca.pem
export CRLSRV_CERT=$PKI/server.crt CRLSRV_KEY=$PKI/server.key
serve() { cp "$1" "$WWW/ca.pem.new" && mv "$WWW/ca.pem.new" "$WWW/ca.pem"; }

INI=$WORK/agent.ini
rev_ini "$INI" "state_dir = $WORK/state" "list_refresh = 1s" "fetch_ca_file = $PKI/ca.pem" \
    "fetch_timeout = 2s"
sed -i "s#^ca_file = .*#ca_file = @$URL#" "$INI"
check "the policy's ca_file is the URL" file_has "$INI" "ca_file = @$URL"
check "certspoa -c accepts a ca_file URL with no copy yet" "$CERTSPOA_BIN" -c -f "$INI"
check "agent starts with a ca_file URL, no copy yet, server down" rev_agent agent "$INI"
check "haproxy starts ($HAPROXY)" start_haproxy haproxy "127.0.0.1:$AGENT_PORT" "$WORK/both-cas.pem"
check "no copy, server down: good is denied (no trust anchor, fail closed)" \
    eq "$(code_of good)" "403 cert_unverified"
check "no copy, server down: the other CA's client is denied too" \
    eq "$(code_of other)" "403 cert_unverified"

serve "$PKI/ca.pem"
crlsrv_start "$CA_PORT"
check "server up: the CA is fetched over HTTPS and loaded: good 200" wait_until 10 code_is good 200
check "the other CA's client: 403 cert_unverified" eq "$(code_of other)" "403 cert_unverified"
check "the agent reloaded because the ca_file changed" file_has "$WORK/agent.log" "ca_file $URL changed"
check "the copy is in state_dir" test -n "$(ls "$WORK/state"/ca-*.pem 2>/dev/null)"

serve "$WORK/pki2/ca.pem"
check "the server switches CA: its client allowed" wait_until 10 code_is other 200
check "the server switches CA: the old CA's client denied" eq "$(code_of good)" "403 cert_unverified"

: >"$WORK/empty.pem"
serve "$WORK/empty.pem"
check "an empty bundle at the server is refused" wait_until 10 source_err_has "$URL" "not a CA bundle: no PEM certificate found"
check "empty bundle: the last good copy stays (other 200)" eq "$(code_of other)" 200
printf -- '-----BEGIN CERTIFICATE-----\nbm90IGEgY2VydA==\n-----END CERTIFICATE-----\n' >"$WORK/broken.pem"
serve "$WORK/broken.pem"
check "a broken bundle at the server is refused (the loader's error)" wait_until 10 source_err_has "$URL" "not a CA bundle: bad PEM data"
check "broken bundle: the last good copy stays (other 200)" eq "$(code_of other)" 200
check "broken bundle: good still denied" eq "$(code_of good)" "403 cert_unverified"

crlsrv_stop
check "restart with the server down" rev_agent agent "$INI"
check "restart, server down: the last good copy (other 200)" eq "$(code_of other)" 200
check "restart, server down: good denied" eq "$(code_of good)" "403 cert_unverified"

stop_haproxy
stop_agent "$AGENT_PID"
check "agent exits 0" eq "$AGENT_RC" 0
finish "$NAME"
