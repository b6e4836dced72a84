#!/usr/bin/env bash
# repro/idle-timeout-error.sh [VERSION]   (default: 3.2)
#
# Agent issue, fixed in 1e68434 (kept as a regression check): the agent's
# own idle_timeout closing an idle connection was logged at info
# ("disconnecting: a timeout occurred (status 2): idle timeout") and counted
# in certspoa_spop_errors_total{status="2"}. With the shipped configs on
# HAProxy 3.2, which does not close idle agent connections while health
# checks run, that is how every idle connection ends (after the default
# 10m). Here idle_timeout = 5s. Exit 1 if it is back.
set -u
V=${1:-3.2}
cd "$(dirname "$0")/../../.." || exit 1
HAPROXY="tests/versions/haproxy.sh $V"
. tests/integration/lib.sh
workdir repro-idle
make_pki >/dev/null
cat "$PKI/allowed.sha256" >"$WORK/allowed.txt"
agent_ini "$WORK/a.ini" 127.0.0.1:0 "$WORK/a.ready" haproxy "$PKI/ca.pem" "$WORK/allowed.txt"
free_port SP
sed -i 's/^\[agent\]/[agent]\nidle_timeout = 5s/' "$WORK/a.ini"
printf '\n[stats]\nlisten = 127.0.0.1:%s\n' "$SP" >>"$WORK/a.ini"
start_agent a "$WORK/a.ini" "$WORK/a.ready" || { echo "agent: $WHY"; exit 2; }
start_haproxy h "$AGENT_ADDR" || { echo "haproxy: $WHY"; exit 2; }
wait_until 5 agent_is UP >/dev/null
req_cert r1 allowed
echo "HAProxy $V: request $STATUS; idle for 8 s"
sleep 8
req_cert r2 allowed
echo "next request: $STATUS"
lines=$(grep -E 'level=(info|warn|error).*disconnecting' "$WORK/a.log")
printf '%s\n' "$lines" | cut -c1-160
curl -s "http://127.0.0.1:$SP/metrics" | grep '^certspoa_spop_errors_total{status="2"'
[ -z "$lines" ]
