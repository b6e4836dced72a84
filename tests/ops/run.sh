#!/usr/bin/env bash
# run.sh - operations tests: what an ops team runs against certspoa, with the
# real tools, on loopback only.
#
#   tests/ops/run.sh          (or: make ops)
#
# One agent (stats listener on, pid_file) behind the mtls-api example's
# HAProxy, driven by curl with the integration tests' generated PKI:
#   1. promtool check metrics on /metrics after traffic
#   2. a real Prometheus (scrape interval 1s) scrapes the agent while HAProxy
#      sends N allowed and M denied requests; its HTTP API must agree
#   3. haproxy-examples/monitoring: every dashboard and alert query uses
#      names that the agent's /metrics or HAProxy's own exporter
#      (monitoring/haproxy-prometheus.cfg, loaded after the example's
#      haproxy.cfg) export, and evaluates on that Prometheus (which scrapes
#      both); the scrape configs parse; promtool test rules
#      (tests/ops/alerts-test.yml); the soonest expiry is the allowed
#      certificate's, not the denied expired one's
#   4. the HTML status page in headless Chromium after a refused reload: no
#      console errors, the figures in the DOM, the 15-minute chart by code,
#      zero rows hidden, expired and expiring certificates highlighted with
#      relative expiry, the reload error, no secret; /config shows the
#      effective configuration with certspoa_config_info's digest and no
#      secret; a screenshot (tests/out/ops/status-page.png)
#   5. /healthz, /readyz, 404, malformed and oversized requests
#   6. reloads under load: good and broken configs alternating while curl
#      loops run; zero failed or wrong answers, exact counters; a reload to a
#      100,000-entry thumbprint list, timed
#   7. SIGTERM under load: exit 0 within shutdown_timeout, fail closed after;
#      a restart on the same files keeps certspoa_config_info's digest
#   8. reload_watch: file changes (and a ConfigMap-style symlink swap) reload
#      the agent; a changed list reaches the agent's open connections
#
# Needs, besides the integration tests' haproxy, curl and openssl: python3,
# and the Debian packages prometheus (prometheus, promtool) and chromium.
# Ends with exactly one line "ops: N passed, N failed"; exits 1 if anything
# failed. Work files: tests/out/ops.*/ (kept when something fails);
# artifacts (screenshot, DOM, /metrics and /stats.json after the traffic,
# timings): tests/out/ops/.
#
# Environment: OPS_RELOADS (reloads under load, default 40), OPS_BIG (entries
# of the large thumbprint list, default 100000), and lib.sh's HAPROXY,
# CERTSPOA_BIN, CURL, KEEP_OUT.
set -u
. "$(dirname "$0")/../integration/lib.sh"

OPS=$TOP/tests/ops
ART=$TOP/tests/out/ops
MON=$TOP/haproxy-examples/monitoring
PY=${PYTHON:-python3}
RELOADS=${OPS_RELOADS:-40}
BIG=${OPS_BIG:-100000}
SHUTDOWN_TIMEOUT_S=3
T_START=$(now_ms)

workdir ops
mkdir -p "$ART"
rm -f "$ART/status-page.png" "$ART/status-dom.html" "$ART/timings.txt" "$ART/metrics.txt" "$ART/stats.json"
note "haproxy: $("${HAPROXY_CMD[@]}" -v 2>/dev/null | head -n 1)"
note "agent:   $CERTSPOA_BIN"
note "work:    $WORK"

ops() { "$PY" "$OPS/ops.py" "$@"; }
timing() { printf '# timing: %s\n' "$*"; printf '%s\n' "$*" >>"$ART/timings.txt"; }

# ------------------------------------------------------------ tools

have() {
    command -v "$1" >/dev/null 2>&1 && return 0
    WHY="$1 not found (Debian package: $2)"
    return 1
}
CHROME=$(command -v chromium || command -v chromium-browser || echo chromium)
check "tool: python3" have "$PY" python3
check "tool: promtool" have promtool prometheus
check "tool: prometheus" have prometheus prometheus
check "tool: chromium" have "$CHROME" chromium
HAVE_PROMTOOL=0 HAVE_PROM=0 HAVE_CHROME=0
have promtool prometheus && HAVE_PROMTOOL=1
have prometheus prometheus && HAVE_PROM=1
have "$CHROME" chromium && HAVE_CHROME=1

# ------------------------------------------------------------ set-up

check "test PKI generated (pki.sh)" make_pki
if [ ! -s "$PKI/allowed.sha256" ] || [ ! -x "$CERTSPOA_BIN" ]; then
    fail "cannot go on without a PKI and an agent binary" "see $WORK/pki.log; agent: $CERTSPOA_BIN"
    finish ops
    exit
fi
ALLOWED_SHA256=$(cat "$PKI/allowed.sha256")
ALLOWED_SUBJECT="CN=allowed client,O=certspoa test"

# Thumbprint list variants that all trust exactly the allowed client:
#   list-a: its SHA-256, lowercase, with comments
#   list-b: its SHA-1, uppercase with colons, plus 500 random SHA-256 lines
# so a reload between them changes the file, the list size and the digest
# kind, never a verdict.
{
    echo "# ops test list A"
    echo "$ALLOWED_SHA256   # allowed client"
} >"$WORK/list-a.txt"
{
    echo "# ops test list B"
    sed 's/../&:/g; s/:$//' "$PKI/allowed.sha1" | tr 'a-f' 'A-F'
    head -c 16000 /dev/urandom | od -An -v -tx1 | tr -d ' \n' | fold -w 64
    echo
} >"$WORK/list-b.txt"
# shellcheck disable=SC2034 # read by the eval'd check s below
LIST_B_COUNT=$(grep -cE '^[0-9a-fA-F:]{40,}' "$WORK/list-b.txt")
{ cat "$WORK/list-a.txt"; echo "this is not a thumbprint"; } >"$WORK/list-bad.txt"
echo "not a certificate" >"$WORK/bad-ca.pem"

free_port STATS_HTTP || fail "free port for the stats listener"
STATS_URL=http://127.0.0.1:$STATS_HTTP

# Secrets the agent holds: no page may ever show them (/config redacts them).
TRACE_SECRET=trace-$(head -c 16 /dev/urandom | od -An -v -tx1 | tr -d ' \n')
STATS_TOKEN=token-$(head -c 16 /dev/urandom | od -An -v -tx1 | tr -d ' \n')
printf '%s\n' "$STATS_TOKEN" >"$WORK/stats.token"
chmod 600 "$WORK/stats.token"

# mk_ini OUT DENY_STATUS LIST [CA] - the agent config: the example's
# certspoa.ini (via lib.sh's agent_ini) plus pid_file, shutdown_timeout,
# trace_secret and the stats listener with a token file.
mk_ini() {
    local out=$1 st=$2 list=$3 ca=${4:-$PKI/ca.pem}
    agent_ini "$out.tmp" 127.0.0.1:0 "$WORK/agent.ready" haproxy "$ca" "$list" || return 1
    sed -i -e "s|^deny_status = .*|deny_status = $st|" \
        -e "/^listen = /a pid_file = $WORK/agent.pid\\nshutdown_timeout = ${SHUTDOWN_TIMEOUT_S}s\\ntrace_secret = $TRACE_SECRET" \
        "$out.tmp"
    printf '\n[stats]\nlisten = 127.0.0.1:%s\ntoken_file = %s\n' "$STATS_HTTP" "$WORK/stats.token" >>"$out.tmp"
    mv "$out.tmp" "$out"
}
# The live config file is always $WORK/agent.ini; variants are moved over it.
mk_ini "$WORK/agent.ini" 403 "$WORK/list-a.txt"
quiet() { "$@" >"$WORK/quiet.out" 2>&1 || { WHY=$(tail -n 3 "$WORK/quiet.out" | tr '\n' ' '); return 1; }; }
check "ops config: certspoa -c accepts it" quiet "$CERTSPOA_BIN" -c -f "$WORK/agent.ini"

if ! start_agent agent "$WORK/agent.ini" "$WORK/agent.ready"; then
    fail "agent starts with a stats listener" "$WHY"
    finish ops
    exit
fi
AGENT=$AGENT_PID
# The example's HAProxy plus its own Prometheus exporter
# (monitoring/haproxy-prometheus.cfg), as the monitoring README says.
hap_promex_env() {
    HAP_ENV=("CERTSPOA_HTTPS_BIND=127.0.0.1:$HTTPS_PORT" "CERTSPOA_APP_BIND=127.0.0.1:$APP_PORT"
        "CERTSPOA_STATS_SOCKET=ipv4@127.0.0.1:$STATS_PORT" "CERTSPOA_AGENT_ADDR=$AGENT_ADDR"
        "CERTSPOA_SERVER_PEM=$PKI/server.pem" "CERTSPOA_CLIENT_CA=$PKI/ca.pem"
        "CERTSPOA_SPOE_CONF=$SPOE_CONF" "CERTSPOA_PROMEX_BIND=127.0.0.1:$PROMEX_PORT")
}
if ! start_haproxy_env haproxy "HTTPS_PORT APP_PORT STATS_PORT PROMEX_PORT" hap_promex_env \
    "$EXAMPLE/haproxy.cfg" "$MON/haproxy-prometheus.cfg"; then
    fail "start haproxy (with monitoring/haproxy-prometheus.cfg)" "$WHY"
    finish ops
    exit
fi
PROMEX_URL=http://127.0.0.1:$PROMEX_PORT
check "HAProxy's health check marks the agent UP" wait_until 5 agent_is UP L7OK

metrics() { $CURL -s --max-time 5 -o "$WORK/metrics.txt" "$STATS_URL/metrics"; }
# mval SELECTOR - a value from a fresh /metrics
mval() { metrics && ops metric "$WORK/metrics.txt" "$1"; }
# gen_fail - "GENERATION FAILURES RELOADS" from /metrics, quickly
gen_fail() {
    $CURL -s --max-time 5 "$STATS_URL/metrics" | awk '
        $1 == "certspoa_config_generation" { g = $2 }
        $1 == "certspoa_config_reload_failures_total" { f = $2 }
        $1 == "certspoa_config_reloads_total" { r = $2 }
        END { print g + 0, f + 0, r + 0 }'
}

# wait_reload GEN FAIL - poll /metrics (every 20 ms, at most 10 s) until the
# generation and failure counters read GEN FAIL; sets RELOAD_MS.
wait_reload() {
    local t0 now
    t0=$(now_ms)
    while :; do
        GF=$(gen_fail)
        now=$(now_ms)
        RELOAD_MS=$((now - t0))
        case $GF in "$1 $2 "*) return 0 ;; esac
        [ "$RELOAD_MS" -gt 10000 ] && { WHY="counters '$GF', want generation $1, failures $2"; return 1; }
        sleep 0.02
    done
}

# ------------------------------------------------------------ Prometheus

PROM_OK=0
if [ "$HAVE_PROM" = 1 ]; then
    mkdir -p "$WORK/prometheus/data"
    free_port PROM_PORT
    PROM_URL=http://127.0.0.1:$PROM_PORT
    # The shipped example, pointed at this agent and scraping every second.
    sed -e "s|127.0.0.1:9180|127.0.0.1:$STATS_HTTP|" \
        -e "s|scrape_interval: 15s|scrape_interval: 1s|" \
        -e "s|evaluation_interval: 15s|evaluation_interval: 1s|" \
        -e "s|^  - alerts.yml|  - $MON/alerts.yml|" \
        -e "s|127.0.0.1:8405|127.0.0.1:$PROMEX_PORT|" \
        "$MON/prometheus.yml" >"$WORK/prometheus/prometheus.yml"
    prometheus --config.file="$WORK/prometheus/prometheus.yml" \
        --storage.tsdb.path="$WORK/prometheus/data" \
        --web.listen-address="127.0.0.1:$PROM_PORT" \
        --log.level=warn >"$WORK/prometheus.log" 2>&1 &
    PROM_PID=$!
    CHILD_PIDS+=("$PROM_PID")
    prom_ready() {
        kill -0 "$PROM_PID" 2>/dev/null || return 2
        $CURL -sf --max-time 2 -o /dev/null "$PROM_URL/-/ready"
    }
    prom_up() { [ "$(ops prom "$PROM_URL" 'up{job="certspoa"}')" = 1 ] &&
        [ "$(ops prom "$PROM_URL" 'up{job="haproxy"}')" = 1 ]; }
    wait_until 20 prom_ready && wait_until 10 prom_up && PROM_OK=1
    check "Prometheus starts (127.0.0.1:$PROM_PORT) and scrapes the agent and HAProxy's exporter (up{job=\"certspoa\"} == up{job=\"haproxy\"} == 1)" \
        eq "$PROM_OK" 1
    if [ "$PROM_OK" != 1 ]; then
        note "prometheus log: $(tail -n 3 "$WORK/prometheus.log" | tr '\n' ' ')"
    fi
fi

# ------------------------------------------------------------ traffic

# N allowed and M denied requests, M over three codes, sent while
# Prometheus scrapes.
N_ALLOW=20
DENY_PLAN="notlisted:cert_untrusted:5 none:cert_missing:3 expired:cert_unverified:2 untrusted:cert_unverified:2"
M_DENY=0
note "traffic: $N_ALLOW allowed, then denials ($DENY_PLAN)"
got=""
for i in $(seq 1 "$N_ALLOW"); do
    req_cert "allow-$i" allowed
    got="$got$STATUS "
    [ $((i % 5)) -eq 0 ] && sleep 0.3       # spread over a few scrapes
done
check "traffic: $N_ALLOW requests with the listed certificate -> 200" \
    eq "$got" "$(printf '200 %.0s' $(seq 1 "$N_ALLOW"))"
for spec in $DENY_PLAN; do
    IFS=: read -r cert code count <<<"$spec"
    got=""
    for i in $(seq 1 "$count"); do
        if [ "$cert" = none ]; then req "deny-$cert-$i"; else req_cert "deny-$cert-$i" "$cert"; fi
        got="$got$STATUS/$(hdr X-Certspoa-Code) "
        M_DENY=$((M_DENY + 1))
    done
    check "traffic: $count x $cert -> 403 $code" eq "$got" "$(printf "403/$code %.0s" $(seq 1 "$count"))"
    sleep 0.3
done
TOTAL=$((N_ALLOW + M_DENY))

check "/metrics: certspoa_messages_total == $TOTAL" eq "$(mval certspoa_messages_total)" "$TOTAL"
check "/metrics: decisions{code=\"ok\"} == $N_ALLOW" \
    eq "$(mval 'certspoa_decisions_total{code="ok"}')" "$N_ALLOW"
check "/metrics: decisions{verdict=\"deny\"} == $M_DENY" \
    eq "$(mval 'certspoa_decisions_total{verdict="deny"}')" "$M_DENY"

# The soonest expiry counts the certificates last allowed only: the expired
# certificate (denied above, not_after in the past) must not be it.
enddate() { date -u -d "$(openssl x509 -in "$1" -noout -enddate | cut -d= -f2)" +%s; }
check "soonest expiry: the allowed certificate's not_after ($(enddate "$PKI/allowed.crt")), not the denied expired one's ($(enddate "$PKI/expired.crt"))" \
    eq "$(mval certspoa_client_certificates_soonest_expiry_timestamp_seconds)" "$(enddate "$PKI/allowed.crt")"

# ------------------------------------------------------------ 1. promtool

metrics
cp "$WORK/metrics.txt" "$ART/metrics.txt"
$CURL -s --max-time 5 -o "$WORK/haproxy-metrics.txt" "$PROMEX_URL/metrics"
cp "$WORK/haproxy-metrics.txt" "$ART/haproxy-metrics.txt"
check "HAProxy's exporter: the agents backend has 1 server UP" \
    eq "$(ops metric "$WORK/haproxy-metrics.txt" 'haproxy_backend_active_servers{proxy="certspoa-agents"}')" 1
BOTH_METRICS=$WORK/metrics.txt,$WORK/haproxy-metrics.txt
check "/metrics: certspoa_build_info{version,openssl,libev} 1" \
    matches "$(grep '^certspoa_build_info{' "$WORK/metrics.txt")" '^certspoa_build_info\{version="[^"]+",openssl="OpenSSL [^"]+",libev="[0-9]+\.[0-9]+"\} 1$'
CONFIG_SHA=$(sed -n 's/^certspoa_config_info{sha256="\([0-9a-f]\{64\}\)"} 1$/\1/p' "$WORK/metrics.txt")
check "/metrics: certspoa_config_info{sha256} 1 ($CONFIG_SHA)" matches "$CONFIG_SHA" '^[0-9a-f]{64}$'
config_sha() { $CURL -s --max-time 5 "$STATS_URL/metrics" | sed -n 's/^certspoa_config_info{sha256="\([0-9a-f]*\)"} 1$/\1/p'; }
$CURL -s --max-time 5 -o "$ART/stats.json" "$STATS_URL/stats.json"
if [ "$HAVE_PROMTOOL" = 1 ]; then
    promtool check metrics <"$WORK/metrics.txt" >"$WORK/promtool.out" 2>&1
    rc=$?
    check "promtool check metrics: exit 0" eq "$rc" 0
    check "promtool check metrics: no warnings" eq "$(cat "$WORK/promtool.out")" ""
    [ -s "$WORK/promtool.out" ] && note "promtool says: $(head -c 2000 "$WORK/promtool.out")"
    # The checker itself must complain about a bad name.
    printf '# HELP certspoa_bad_counter a counter without _total\n# TYPE certspoa_bad_counter counter\ncertspoa_bad_counter 1\n' |
        promtool check metrics >"$WORK/promtool-neg.out" 2>&1
    check "promtool check metrics: flags a counter without _total (self-test)" \
        file_has "$WORK/promtool-neg.out" "_total"
fi

# ------------------------------------------------------------ 2. Prometheus

if [ "$PROM_OK" = 1 ]; then
    prom_is() {   # prom_is EXPR WANT
        local v
        v=$(ops prom "$PROM_URL" "$1")
        [ "$v" = "$2" ] && return 0
        WHY="$1 = $v, want $2"
        return 1
    }
    check "Prometheus: certspoa_messages_total == $TOTAL (N+M)" \
        wait_until 15 prom_is certspoa_messages_total "$TOTAL"
    check "Prometheus: certspoa_decisions_total{code=\"ok\"} == $N_ALLOW" \
        prom_is 'certspoa_decisions_total{code="ok"}' "$N_ALLOW"
    check "Prometheus: sum of deny codes == $M_DENY" \
        prom_is 'sum(certspoa_decisions_total{verdict="deny"})' "$M_DENY"
    check "Prometheus: cert_untrusted == 5, cert_missing == 3, cert_unverified == 4" \
        eq "$(ops prom "$PROM_URL" 'certspoa_decisions_total{code="cert_untrusted"}')/$(ops prom "$PROM_URL" 'certspoa_decisions_total{code="cert_missing"}')/$(ops prom "$PROM_URL" 'certspoa_decisions_total{code="cert_unverified"}')" "5/3/4"
    check "Prometheus: histogram count == messages" \
        prom_is 'certspoa_processing_seconds_count - certspoa_messages_total' 0
    check "Prometheus: histogram +Inf bucket == messages" \
        prom_is 'certspoa_processing_seconds_bucket{le="+Inf"}' "$TOTAL"
    hc=$(ops prom "$PROM_URL" certspoa_spop_healthchecks_total)
    check "Prometheus: certspoa_spop_healthchecks_total > 0 ($hc)" matches "$hc" '^[1-9][0-9]*$'
    check "Prometheus: policy default allow == $N_ALLOW" \
        prom_is 'certspoa_policy_decisions_total{policy="default",verdict="allow"}' "$N_ALLOW"
    samples=$(ops prom "$PROM_URL" 'count_over_time(certspoa_messages_total[5m])')
    check "Prometheus: scraped during the traffic ($samples samples so far)" \
        matches "$samples" '^([5-9]|[1-9][0-9]+)$'
fi

# ------------------------------------------------------------ 3. dashboard

metrics
check "dashboard JSON parses" "$PY" -c 'import json,sys; json.load(open(sys.argv[1]))' "$MON/grafana-dashboard.json"
ops dashboard "$MON/grafana-dashboard.json" "$BOTH_METRICS" >"$WORK/dashboard-names.out" 2>&1
rc=$?
check "dashboard: every expression uses only names the agent's /metrics or HAProxy's exporter export ($(tail -n 1 "$WORK/dashboard-names.out"))" eq "$rc" 0
[ "$rc" = 0 ] || grep '^FAIL' "$WORK/dashboard-names.out" | head -n 10 | sed 's/^/#   /'
# self-test: the checker rejects a name that is not exported
printf '{"panels":[{"title":"t","targets":[{"expr":"sum(rate(certspoa_no_such_metric_total[5m]))"}]}]}' >"$WORK/bad-dash.json"
check "dashboard checker rejects an unknown metric (self-test)" \
    eval '! ops dashboard "$WORK/bad-dash.json" "$BOTH_METRICS" >/dev/null'
check "dashboard: the HAProxy panels' names come from HAProxy's exporter (not in the agent's /metrics)" \
    eval '! ops dashboard "$MON/grafana-dashboard.json" "$WORK/metrics.txt" >/dev/null &&
        grep -q haproxy_server_check_status "$MON/grafana-dashboard.json"'
if [ "$PROM_OK" = 1 ]; then
    # CRL series exist only with a crl_file, which this agent does not have.
    ops dashboard "$MON/grafana-dashboard.json" "$BOTH_METRICS" "$PROM_URL" certspoa_crl_ \
        >"$WORK/dashboard-eval.out" 2>&1
    rc=$?
    check "dashboard: every expression evaluates on the live Prometheus, non-empty ($(tail -n 1 "$WORK/dashboard-eval.out"))" eq "$rc" 0
    [ "$rc" = 0 ] || grep '^FAIL' "$WORK/dashboard-eval.out" | head -n 10 | sed 's/^/#   /'
fi
check "dashboard: every panel query uses \$instance (agents) or \$haproxy (HAProxy's exporter)" \
    "$PY" -c '
import json, sys
d = json.load(open(sys.argv[1]))
bad = [t["expr"] for p in d["panels"] for t in p.get("targets", [])
       if not ("$instance" in t["expr"] or ("$haproxy" in t["expr"] and "haproxy_" in t["expr"]))]
sys.exit(1 if bad else 0)' "$MON/grafana-dashboard.json"
if [ "$HAVE_PROMTOOL" = 1 ]; then
    check "promtool check config: monitoring/prometheus.yml (with alerts.yml)" \
        quiet promtool check config "$MON/prometheus.yml"
    promtool check config "$MON/prometheus-kubernetes.yml" >"$WORK/promtool-k8s.out" 2>&1
    if grep -q "kubernetes_sd_configs not found" "$WORK/promtool-k8s.out"; then
        note "this promtool is built without Kubernetes discovery: checking prometheus-kubernetes.yml's structure"
        check "monitoring/prometheus-kubernetes.yml: pod role, keep on prometheus.io/scrape, port and path relabelled" \
            "$PY" -c '
import sys, yaml
d = yaml.safe_load(open(sys.argv[1]))
j = d["scrape_configs"][0]
assert j["kubernetes_sd_configs"] == [{"role": "pod"}]
r = j["relabel_configs"]
keep = [x for x in r if x.get("action") == "keep"]
assert keep and keep[0]["source_labels"] == ["__meta_kubernetes_pod_annotation_prometheus_io_scrape"]
assert any(x.get("target_label") == "__metrics_path__" for x in r)
assert any(x.get("target_label") == "__address__" and "prometheus_io_port" in x["source_labels"][1] for x in r)' \
            "$MON/prometheus-kubernetes.yml"
    else
        check "promtool check config: monitoring/prometheus-kubernetes.yml" \
            grep -q SUCCESS "$WORK/promtool-k8s.out"
    fi
fi

ALERT_RULES=$(grep -c '^ *- alert:' "$MON/alerts.yml")
if [ "$HAVE_PROMTOOL" = 1 ]; then
    check "promtool check rules: monitoring/alerts.yml ($ALERT_RULES rules)" \
        quiet promtool check rules "$MON/alerts.yml"
    check "promtool test rules: tests/ops/alerts-test.yml (configs differ only by digest, deny ratio, no agent UP in HAProxy)" \
        quiet promtool test rules "$OPS/alerts-test.yml"
    check "haproxy -c: the example's haproxy.cfg with monitoring/haproxy-prometheus.cfg" \
        quiet env "${HAP_ENV[@]}" "${HAPROXY_CMD[@]}" -c -f "$EXAMPLE/haproxy.cfg" -f "$MON/haproxy-prometheus.cfg"
fi
if [ "$PROM_OK" = 1 ]; then
    ops rules "$MON/alerts.yml" "$BOTH_METRICS" "$PROM_URL" >"$WORK/rules.out" 2>&1
    rc=$?
    check "alerts: every expression uses exported names and evaluates ($(tail -n 1 "$WORK/rules.out"))" eq "$rc" 0
    [ "$rc" = 0 ] || grep '^FAIL' "$WORK/rules.out" | head -n 10 | sed 's/^/#   /'
    rules_ok() { ops rules-health "$PROM_URL" "$ALERT_RULES" >"$WORK/rules-health.out"; }
    check "alerts: Prometheus loaded all $ALERT_RULES rules and evaluates them without error" \
        wait_until 10 rules_ok
    # shellcheck disable=SC2034 # read by the eval'd check below
    firing=$($CURL -s "$PROM_URL/api/v1/alerts" | "$PY" -c '
import json, sys
print(",".join(sorted({a["labels"]["alertname"] for a in json.load(sys.stdin)["data"]["alerts"]})) or "none")')
    # the test PKI's allowed certificate lives 2 days: its expiry alert is right
    check "alerts: none pending or firing on a healthy agent (but the 2-day allowed certificate's expiry)" \
        eval 'case $firing in none|CertspoaClientCertificateExpiresSoon) true ;; *) WHY="firing: $firing"; false ;; esac'
fi

# ------------------------------------------------------------ 4. status page

# A refused reload first, so that the page shows its error; a good one
# after the screenshot (section 6 counts both).
cp "$WORK/agent.ini" "$WORK/agent.ini.good"
sed 's/^threads = .*/threads = two/' "$WORK/agent.ini.good" >"$WORK/agent.ini.tmp" && mv "$WORK/agent.ini.tmp" "$WORK/agent.ini"
kill -HUP "$AGENT"
check "a broken config (threads = two) is refused: generation 1, 1 failure" wait_reload 1 1

if [ "$HAVE_CHROME" = 1 ]; then
    CHROME_FLAGS=(--headless --no-sandbox --disable-gpu --disable-quic --no-first-run
        --disable-background-networking --disable-component-update --disable-sync
        --enable-logging=stderr --v=0)
    timeout 60 "$CHROME" "${CHROME_FLAGS[@]}" --user-data-dir="$WORK/chrome-dom" \
        --dump-dom "$STATS_URL/" >"$ART/status-dom.html" 2>"$WORK/chrome-dom.log"
    check "chromium --dump-dom: exit 0" eq "$?" 0
    t0=$(now_ms)
    timeout 60 "$CHROME" "${CHROME_FLAGS[@]}" --user-data-dir="$WORK/chrome-shot" \
        --window-size=1280,1600 --hide-scrollbars --screenshot="$ART/status-page.png" \
        "$STATS_URL/" >"$WORK/chrome-shot.out" 2>"$WORK/chrome-shot.log"
    check "chromium --screenshot: exit 0 ($(( $(now_ms) - t0 )) ms)" eq "$?" 0
    check "no console messages or uncaught errors (chromium logs)" \
        file_hasnt_any 'CONSOLE|Uncaught|Refused to' "$WORK/chrome-dom.log" "$WORK/chrome-shot.log"
    check "screenshot is a 1280x1600 PNG" eq "$("$PY" -c '
import struct, sys
b = open(sys.argv[1], "rb").read(24)
print("%dx%d" % struct.unpack(">II", b[16:24]) if b[:8] == b"\x89PNG\r\n\x1a\n" else "not a PNG")' "$ART/status-page.png" 2>&1)" 1280x1600
    ops dom "$ART/status-dom.html" allowed="$N_ALLOW" denied="$M_DENY" \
        codes=cert_untrusted,cert_missing,cert_unverified subject="$ALLOWED_SUBJECT" \
        allowed_requests="$N_ALLOW" >"$WORK/dom.out" 2>&1
    check "status page DOM: allowed $N_ALLOW, denied $M_DENY, denial codes, the allowed subject in the inventory, no external assets" \
        eq "$?" 0
    grep '^FAIL' "$WORK/dom.out" | sed 's/^/#   /'
    ops dom "$ART/status-dom.html" chart=ok,cert_untrusted,cert_missing,cert_unverified \
        chart_absent=bad_request,internal_error >"$WORK/dom-chart.out" 2>&1
    check "status page: the inline SVG chart has a line for all decisions and one per code seen, none for codes never seen" \
        eq "$?" 0
    grep '^FAIL' "$WORK/dom-chart.out" | sed 's/^/#   /'
    ops dom "$ART/status-dom.html" shown_codes=ok,cert_untrusted,cert_missing,cert_unverified \
        >"$WORK/dom-zero.out" 2>&1
    check "status page: zero rows hidden (the decisions table lists only the 4 codes seen)" eq "$?" 0
    grep '^FAIL' "$WORK/dom-zero.out" | sed 's/^/#   /'
    ops dom "$ART/status-dom.html" expired_subject="CN=expired client,O=certspoa test" \
        expiring_subject="$ALLOWED_SUBJECT" >"$WORK/dom-expiry.out" 2>&1
    check "status page: the expired certificate's row highlighted 'N d/h ago', the 2-day one's 'in N h' as expiring" \
        eq "$?" 0
    grep '^FAIL' "$WORK/dom-expiry.out" | sed 's/^/#   /'
    ops dom "$ART/status-dom.html" reload_error="agent.ini:" absent="$TRACE_SECRET,$STATS_TOKEN" \
        >"$WORK/dom-reload.out" 2>&1
    check "status page: the refused reload's error text (file:line), and no secret" eq "$?" 0
    grep '^FAIL' "$WORK/dom-reload.out" | sed 's/^/#   /'
    check "status page: the reload error names the bad value" \
        file_has "$ART/status-dom.html" "threads"
    # self-test: the checker fails a page without the highlight, the note on
    # hidden rows, or with a "secret" it contains
    sed 's/class="expired"//; s/id="zero-codes"//' "$ART/status-dom.html" >"$WORK/bad-dom.html"
    check "status page checker rejects a page without highlight or hidden-rows note, and a secret it holds (self-test)" \
        eval '[ "$(ops dom "$WORK/bad-dom.html" shown_codes=ok,cert_untrusted,cert_missing,cert_unverified \
            expired_subject="CN=expired client,O=certspoa test" absent=certspoa | grep -c "^FAIL")" = 3 ]'
    note "screenshot: $ART/status-page.png"
fi

# /config: the effective configuration, its digest, no secret
$CURL -s --max-time 5 -o "$ART/config.html" -w '%{http_code}' "$STATS_URL/config" >"$WORK/config.code"
check "/config -> 200" eq "$(cat "$WORK/config.code")" 200
ops config "$ART/config.html" sha256="$CONFIG_SHA" \
    has="[policy default]|verify = haproxy|thumbprints = $WORK/list-a.txt (1 entries; file sha256 $(sha256sum "$WORK/list-a.txt" | cut -c1-64))|trace_secret = (set, redacted)|token_file = $WORK/stats.token (token loaded, redacted)|deny_status = 403" \
    absent="$TRACE_SECRET,$STATS_TOKEN" >"$WORK/config.out" 2>&1
check "/config: policies, list sizes and sources with the file's SHA-256, certspoa_config_info's digest, secrets redacted" \
    eq "$?" 0
grep '^FAIL' "$WORK/config.out" | sed 's/^/#   /'
for page in / /stats.json /metrics /config; do
    $CURL -s --max-time 5 "$STATS_URL$page" >"$WORK/page.out"
    check "$page shows neither trace_secret nor the stats token" \
        eval '! grep -qF -e "$TRACE_SECRET" -e "$STATS_TOKEN" "$WORK/page.out"'
done
check "/stats.json: history of 10 s samples by code, and the refused reload's text" "$PY" -c '
import json, sys, urllib.request
d = json.load(urllib.request.urlopen(sys.argv[1]))
h = d["history"]
assert h["step"] == 10 and h["window"] == 900, h
total = sum(s["decisions"] for s in h["samples"])
assert total == int(sys.argv[2]), (total, sys.argv[2])
by = {}
for s in h["samples"]:
    assert s["decisions"] == sum(s["by_code"].values()), s
    for k, v in s["by_code"].items():
        by[k] = by.get(k, 0) + v
assert by.get("ok") == int(sys.argv[3]), by
assert "agent.ini:" in d["last_reload_error"]["message"], d["last_reload_error"]
assert d["config_sha256"] == sys.argv[4], d["config_sha256"]' "$STATS_URL/stats.json" "$TOTAL" "$N_ALLOW" "$CONFIG_SHA"

# the good config back: generation 2, the same digest as generation 1
mv "$WORK/agent.ini.good" "$WORK/agent.ini"
kill -HUP "$AGENT"
check "the good config back: generation 2" wait_reload 2 1
check "the same files at generation 2: certspoa_config_info keeps its digest" eq "$(config_sha)" "$CONFIG_SHA"

# ------------------------------------------------------------ 5. HTTP endpoints

code_of() { $CURL -s --max-time 5 -o /dev/null -w '%{http_code}' "$@"; }
check "/healthz -> 200" eq "$(code_of "$STATS_URL/healthz")" 200
check "/readyz -> 200" eq "$(code_of "$STATS_URL/readyz")" 200
check "/readyz names the generation" has "$($CURL -s "$STATS_URL/readyz")" "generation 2"
check "/nope -> 404" eq "$(code_of "$STATS_URL/nope")" 404
check "/metrics?x=1 (query string ignored) -> 200" eq "$(code_of "$STATS_URL/metrics?x=1")" 200
check "/stats.json is valid JSON" "$PY" -c '
import json, sys, urllib.request
d = json.load(urllib.request.urlopen(sys.argv[1]))
assert d["figures"]["messages_total"] == int(sys.argv[2]), d["figures"]["messages_total"]' \
    "$STATS_URL/stats.json" "$TOTAL"
check "Content-Type of /metrics is Prometheus text 0.0.4" \
    has "$($CURL -s -D - -o /dev/null "$STATS_URL/metrics" | tr -d '\r')" "Content-Type: text/plain; version=0.0.4"
check "POST / -> 405" eq "$(code_of -X POST --data x "$STATS_URL/")" 405
check "HEAD /healthz -> 200" eq "$(code_of -I "$STATS_URL/healthz")" 200
check "garbage request line -> 400" \
    eq "$(ops http "$STATS_HTTP" 'HELLO THERE\r\n\r\n')" "HTTP/1.1 400 Bad Request"
check "request without HTTP version -> 400" \
    eq "$(ops http "$STATS_HTTP" 'GET /metrics\r\n\r\n')" "HTTP/1.1 400 Bad Request"
check "binary junk -> 400" \
    eq "$(ops http "$STATS_HTTP" '\x01\x02\xff\xfe\r\n\r\n')" "HTTP/1.1 400 Bad Request"
t0=$(now_ms)
got=$(ops http "$STATS_HTTP" 'GET /\x00 HTTP/1.1\r\n\r\n')
check "request head with a NUL byte -> 400 at once (got '$got' after $(( $(now_ms) - t0 )) ms)" \
    eq "$got" "HTTP/1.1 400 Bad Request"
check "20 KB request head -> 413" \
    eq "$(ops http "$STATS_HTTP" 'GET / HTTP/1.1\r\nX-Big: {pad:20000}\r\n\r\n')" "HTTP/1.1 413 Request Entity Too Large"
check "8 KB request path -> 4xx" \
    matches "$(ops http "$STATS_HTTP" 'GET /{pad:9000} HTTP/1.1\r\n\r\n')" '^HTTP/1.1 4[0-9][0-9] '
# The listener serves at most 64 clients and drops idle ones after 5 s:
# fill every slot with idle connections, then watch it recover.
ops hold "$STATS_HTTP" 64 6 >"$WORK/hold.out" 2>&1 &
HOLD_PID=$!
CHILD_PIDS+=("$HOLD_PID")
sleep 1
during=$(code_of --max-time 2 "$STATS_URL/healthz")
wait "$HOLD_PID"
forget_pid "$HOLD_PID"
check "64 idle clients: the agent closes them all within its 5 s timeout ($(cat "$WORK/hold.out") closed)" \
    eq "$(cat "$WORK/hold.out")" 64
note "/healthz while 64 idle clients hold every slot: $during"
check "after all that: /healthz -> 200, /metrics -> 200" \
    eq "$(code_of "$STATS_URL/healthz") $(code_of "$STATS_URL/metrics")" "200 200"
check "the agent is still running" kill -0 "$AGENT"

# ------------------------------------------------------------ 6. reloads under load

LOAD_PIDS=()
# load_loop NAME CERT OUT - curl, 4 keep-alive requests per connection, until
# $WORK/load.stop exists (at most 180 s). One line per request:
# "NAME STATUS TIME [CODE]".
load_loop() {
    local name=$1 cert=$2 out=$3 end=$((SECONDS + 180)) urls=() i
    for i in 1 2 3 4; do urls+=(-o /dev/null "https://localhost:$HTTPS_PORT/load/$name/$i"); done
    while [ ! -e "$WORK/load.stop" ] && [ "$SECONDS" -lt "$end" ]; do
        $CURL -s --max-time 5 --cacert "$PKI/ca.pem" --cert "$PKI/$cert.crt" --key "$PKI/$cert.key" \
            --resolve "localhost:$HTTPS_PORT:127.0.0.1" \
            -w "$name %{http_code} %{time_total} [%header{x-certspoa-code}]\n" "${urls[@]}"
    done >>"$out" 2>/dev/null
}
start_load() {   # start_load TAG: 2 loops with the allowed cert, 1 not listed
    rm -f "$WORK/load.stop"
    LOAD_PIDS=()
    load_loop allowed allowed "$WORK/load-$1.txt" &
    LOAD_PIDS+=($!)
    load_loop allowed allowed "$WORK/load-$1.txt" &
    LOAD_PIDS+=($!)
    load_loop notlisted notlisted "$WORK/load-$1.txt" &
    LOAD_PIDS+=($!)
    CHILD_PIDS+=("${LOAD_PIDS[@]}")
}
stop_load() {
    local p
    touch "$WORK/load.stop"
    for p in "${LOAD_PIDS[@]}"; do
        wait "$p" 2>/dev/null
        forget_pid "$p"
    done
    LOAD_PIDS=()
}
# judge_load FILE - every line right: allowed -> 200 with no code, notlisted
# -> 403 or 401 cert_untrusted. Sets LOAD_N, LOAD_BAD, LOAD_SUMMARY, and
# LOAD_LAT (p50/p99/max of request times, ms).
judge_load() {
    LOAD_N=$(wc -l <"$1")
    LOAD_BAD=$(awk '
        $1 == "allowed" && $2 == 200 && $4 == "[]" { next }
        $1 == "notlisted" && ($2 == 403 || $2 == 401) && $4 == "[cert_untrusted]" { next }
        { n++ } END { print n + 0 }' "$1")
    LOAD_SUMMARY=$(awk '{ c[$1 " " $2 " " $4]++ } END { for (k in c) printf "%s x%d; ", k, c[k] }' "$1")
    LOAD_LAT=$(awk '{ print $3 * 1000 }' "$1" | sort -n | awk '
        function at(q,  i) { i = int(NR * q) + 1; if (i > NR) i = NR; return v[i] }
        { v[NR] = $1 }
        END { if (NR) printf "p50 %.1f ms, p99 %.1f ms, max %.1f ms", at(0.5), at(0.99), v[NR] }')
}

# log_ms - time (ms since the epoch) of the agent's last reload log line
log_ms() {
    local ts
    ts=$(grep -a 'msg="reload (' "$WORK/agent.log" | tail -n 1 | sed -n 's/^ts=\([^ ]*\) .*/\1/p')
    [ -n "$ts" ] && date -d "$ts" +%s%3N
}

note "baseline: the same 3 curl loops for 3 s, no reload"
start_load base
sleep 3
stop_load
judge_load "$WORK/load-base.txt"
BASE_LAT=$LOAD_LAT
timing "baseline load (3 curl loops, 3 s, no reload): $LOAD_N requests, $LOAD_LAT"
check "baseline load: $LOAD_N requests, zero wrong ($LOAD_BAD)" eq "$LOAD_BAD" 0

note "reloads under load: $RELOADS, alternating broken and good, while 3 curl loops run"
metrics
base_errors=$(ops metric "$WORK/metrics.txt" certspoa_spop_errors_total)
# section 4 made one refused and one good reload
GEN=2 FAILS=1 GOOD=1 BROKEN=1 ORDER_OK=1 SEEN_FAILED_STATE=0
RELOAD_TIMES=() AGENT_TIMES=()
BROKEN_KINDS=(syntax missing-list bad-ca bad-list-line)
start_load reload
sleep 1
t_loop=$(now_ms)
for i in $(seq 1 "$RELOADS"); do
    if [ $((i % 2)) -eq 1 ]; then
        kind=${BROKEN_KINDS[$(((i / 2) % 4))]}
        case $kind in
            syntax)
                mk_ini "$WORK/next.ini" 403 "$WORK/list-a.txt"
                sed -i 's/^threads = .*/threads = two/' "$WORK/next.ini" ;;
            missing-list) mk_ini "$WORK/next.ini" 403 "$WORK/no-such-list.txt" ;;
            bad-ca)       mk_ini "$WORK/next.ini" 403 "$WORK/list-a.txt" "$WORK/bad-ca.pem" ;;
            bad-list-line) mk_ini "$WORK/next.ini" 403 "$WORK/list-bad.txt" ;;
        esac
        mv "$WORK/next.ini" "$WORK/agent.ini"
        t_sig=$(now_ms)
        kill -HUP "$AGENT"
        FAILS=$((FAILS + 1))
        BROKEN=$((BROKEN + 1))
    else
        if [ $((i % 4)) -eq 2 ]; then
            mk_ini "$WORK/next.ini" 401 "$WORK/list-b.txt"
        else
            mk_ini "$WORK/next.ini" 403 "$WORK/list-a.txt"
        fi
        mv "$WORK/next.ini" "$WORK/agent.ini"
        t_sig=$(now_ms)
        if [ $((i % 6)) -eq 0 ]; then
            kill -HUP "$AGENT"
        else
            "$CERTSPOA_BIN" reload -f "$WORK/agent.ini" >>"$WORK/reload-cmd.log" 2>&1 ||
                { ORDER_OK=0; note "certspoa reload failed: $(tail -n 1 "$WORK/reload-cmd.log")"; }
        fi
        GEN=$((GEN + 1))
        GOOD=$((GOOD + 1))
    fi
    if ! wait_reload "$GEN" "$FAILS"; then
        ORDER_OK=0
        note "reload $i: $WHY"
        # resynchronise on what the agent says, to judge the rest
        read -r GEN FAILS _ <<<"$GF"
    fi
    RELOAD_TIMES+=("$RELOAD_MS")
    t_log=$(log_ms)
    [ -n "$t_log" ] && AGENT_TIMES+=($((t_log - t_sig)))
    if [ "$i" = 1 ]; then
        st=$(mval certspoa_config_last_reload_success)
        [ "$st" = 0 ] && SEEN_FAILED_STATE=1
    fi
    sleep 0.15
done
t_loop=$(( $(now_ms) - t_loop ))
# certspoa reload refuses a broken file and signals nothing
mk_ini "$WORK/next.ini" 403 "$WORK/no-such-list.txt"
cp "$WORK/agent.ini" "$WORK/agent.ini.good"
mv "$WORK/next.ini" "$WORK/agent.ini"
"$CERTSPOA_BIN" reload -f "$WORK/agent.ini" >"$WORK/reload-refused.out" 2>&1
rc=$?
sleep 0.5
check "certspoa reload with a broken file: exit 78, names the file:line" \
    eval '[ "$rc" = 78 ] && grep -q "agent.ini:[0-9]*: thumbprints" "$WORK/reload-refused.out"'
check "certspoa reload with a broken file: no reload happened" eq "$(gen_fail)" "$GEN $FAILS $GOOD"
mv "$WORK/agent.ini.good" "$WORK/agent.ini"
sleep 0.5
stop_load
judge_load "$WORK/load-reload.txt"
med_max() { printf '%s\n' "$@" | sort -n | awk '{ v[NR] = $1 } END { printf "median %d ms, max %d ms", v[int((NR + 1) / 2)], v[NR] }'; }
RT=$(med_max "${RELOAD_TIMES[@]}")
AT=$(med_max "${AGENT_TIMES[@]}")
note "load during reloads: $LOAD_N requests: $LOAD_SUMMARY"
note "request times: $LOAD_LAT"
timing "reloads under load: $RELOADS reloads ($((GOOD - 1)) good, $((BROKEN - 1)) broken) in $t_loop ms; signal -> agent's reload log line: $AT; signal -> counters seen on /metrics (polling every 20 ms): $RT; $LOAD_N requests, $LOAD_LAT (baseline without reloads: $BASE_LAT)"
check "reloads under load: every reload counted as it happened" eq "$ORDER_OK" 1
check "reloads under load: $LOAD_N requests, zero failed or wrong ($LOAD_BAD)" \
    eval '[ "$LOAD_BAD" = 0 ] && [ "$LOAD_N" -gt 100 ]'
[ "$LOAD_BAD" = 0 ] || awk '!(($1 == "allowed" && $2 == 200) || ($1 == "notlisted" && $4 == "[cert_untrusted]"))' \
    "$WORK/load-reload.txt" | sort | uniq -c | head -n 5 | sed 's/^/#   /'
check "reloads under load: no 5xx and no connection failure" \
    eval '! awk "{print \$2}" "$WORK/load-reload.txt" | grep -qE "^(5..|000)$"'
check "reloads under load: deny_status changes reached open connections (both 401 and 403 seen)" \
    eval 'grep -q "^notlisted 401 " "$WORK/load-reload.txt" && grep -q "^notlisted 403 " "$WORK/load-reload.txt"'
metrics
check "after reloads: certspoa_config_generation == $((1 + GOOD))" \
    eq "$(ops metric "$WORK/metrics.txt" certspoa_config_generation)" "$((1 + GOOD))"
check "after reloads: certspoa_config_reloads_total == $GOOD" \
    eq "$(ops metric "$WORK/metrics.txt" certspoa_config_reloads_total)" "$GOOD"
check "after reloads: certspoa_config_reload_failures_total == $BROKEN" \
    eq "$(ops metric "$WORK/metrics.txt" certspoa_config_reload_failures_total)" "$BROKEN"
check "after reloads: last reload succeeded (1), and a failed one showed 0" \
    eq "$(ops metric "$WORK/metrics.txt" certspoa_config_last_reload_success)/$SEEN_FAILED_STATE" "1/1"
check "after reloads: no SPOP errors" \
    eq "$(ops metric "$WORK/metrics.txt" certspoa_spop_errors_total)" "$base_errors"
check "after reloads: HAProxy never saw the agent DOWN (chkdown 0)" \
    eq "$(stat_field certspoa-agents agent1 chkdown)" 0
check "agent log: one 'failed, keeping generation' line per broken reload ($BROKEN)" \
    eq "$(grep -c 'failed, keeping generation' "$WORK/agent.log")" "$BROKEN"
check "agent log: broken reloads name file:line" \
    file_has "$WORK/agent.log" "agent.ini:"
check "agent log: the missing list is named" file_has "$WORK/agent.log" "no-such-list.txt"
check "agent log: the bad list line is named" file_has "$WORK/agent.log" "list-bad.txt:3"

# ---- a 100,000-entry thumbprint list
note "large list: $BIG random SHA-256 entries plus the allowed client"
t0=$(now_ms)
{
    echo "# $BIG random entries"
    head -c $((BIG * 32)) /dev/urandom | od -An -v -tx1 | tr -d ' \n' | fold -w 64
    echo
    echo "$ALLOWED_SHA256"
} >"$WORK/list-big.txt"
t1=$(now_ms)
BIG_LINES=$(grep -c '^[0-9a-f]\{64\}$' "$WORK/list-big.txt")
mk_ini "$WORK/big.ini" 403 "$WORK/list-big.txt"
t2=$(now_ms)
"$CERTSPOA_BIN" -c -f "$WORK/big.ini" >/dev/null 2>&1
rc=$?
t3=$(now_ms)
check "certspoa -c accepts the $BIG_LINES-entry list ($((t3 - t2)) ms)" eq "$rc" 0
rss0=$(awk '/^VmRSS/ { print $2 }' "/proc/$AGENT/status")
start_load big
sleep 1.5
read -r g f _ <<<"$(gen_fail)"
mv "$WORK/big.ini" "$WORK/agent.ini"
t_sig=$(now_ms)
kill -HUP "$AGENT"
wait_reload $((g + 1)) "$f"
check "reload to the large list under load: generation $((g + 1)) in $RELOAD_MS ms" eq "$?" 0
BIG_UP_MS=$RELOAD_MS
BIG_UP_LOG=$(( $(log_ms) - t_sig ))
sleep 1.5
rss1=$(awk '/^VmRSS/ { print $2 }' "/proc/$AGENT/status")
check "certspoa_thumbprints{policy=\"default\"} == $BIG_LINES" \
    eq "$(mval 'certspoa_thumbprints{policy="default"}')" "$BIG_LINES"
BIG_SHA=$(config_sha)
check "the large list: another certspoa_config_info digest ($BIG_SHA)" \
    eval '[ -n "$BIG_SHA" ] && [ "$BIG_SHA" != "$CONFIG_SHA" ]'
mk_ini "$WORK/next.ini" 403 "$WORK/list-a.txt"
mv "$WORK/next.ini" "$WORK/agent.ini"
t_sig=$(now_ms)
kill -HUP "$AGENT"
wait_reload $((g + 2)) "$f"
check "reload back to the small list under load: generation $((g + 2)) in $RELOAD_MS ms" eq "$?" 0
BIG_DOWN_MS=$RELOAD_MS
check "back to the first files (generation $((g + 2))): certspoa_config_info's first digest again" \
    eq "$(config_sha)" "$CONFIG_SHA"
BIG_DOWN_LOG=$(( $(log_ms) - t_sig ))
sleep 1
stop_load
judge_load "$WORK/load-big.txt"
note "load during large-list reloads: $LOAD_N requests: $LOAD_SUMMARY"
timing "large list: $BIG_LINES entries ($(($(stat -c %s "$WORK/list-big.txt") / 1024)) KiB), generated in $((t1 - t0)) ms; certspoa -c $((t3 - t2)) ms; SIGHUP -> reload log line: $BIG_UP_LOG ms (to the large list), $BIG_DOWN_LOG ms (back); SIGHUP -> new generation seen on /metrics: $BIG_UP_MS ms, $BIG_DOWN_MS ms; agent RSS ${rss0} -> ${rss1} KiB; $LOAD_N requests meanwhile, $LOAD_LAT"
check "large-list reloads: $LOAD_N requests, zero failed or wrong ($LOAD_BAD)" \
    eval '[ "$LOAD_BAD" = 0 ] && [ "$LOAD_N" -gt 20 ]'

# ------------------------------------------------------------ 7. SIGTERM under load

note "SIGTERM under load (shutdown_timeout = ${SHUTDOWN_TIMEOUT_S}s)"
start_load term
sleep 1.5
before_term=$(wc -l <"$WORK/load-term.txt")
t0=$(now_ms)
kill -TERM "$AGENT"
while kill -0 "$AGENT" 2>/dev/null && [ $(($(now_ms) - t0)) -lt $((SHUTDOWN_TIMEOUT_S * 1000 + 5000)) ]; do
    sleep 0.02
done
t1=$(now_ms)
if kill -0 "$AGENT" 2>/dev/null; then
    kill -KILL "$AGENT"
    wait "$AGENT" 2>/dev/null
    TERM_RC=killed
else
    wait "$AGENT" 2>/dev/null
    TERM_RC=$?
fi
forget_pid "$AGENT"
TERM_MS=$((t1 - t0))
sleep 1.5                        # the loops go on against HAProxy alone
stop_load
judge_term() {
    awk '
        $1 == "allowed" && $2 == 200 && $4 == "[]" { next }
        $1 == "notlisted" && $2 == 403 && $4 == "[cert_untrusted]" { next }
        $2 == 503 && $4 == "[agent_unavailable]" { next }
        { n++ } END { print n + 0 }' "$1"
}
TERM_N=$(wc -l <"$WORK/load-term.txt")
TERM_503=$(grep -c ' 503 .*\[agent_unavailable\]' "$WORK/load-term.txt")
timing "SIGTERM under load: exit $TERM_RC after $TERM_MS ms; $TERM_N requests ($before_term before the signal), $TERM_503 answered 503 agent_unavailable"
check "SIGTERM: exit status 0" eq "$TERM_RC" 0
check "SIGTERM: exited within shutdown_timeout ($TERM_MS ms <= ${SHUTDOWN_TIMEOUT_S}000 + 500)" \
    test "$TERM_MS" -le $((SHUTDOWN_TIMEOUT_S * 1000 + 500))
check "SIGTERM: agent log says stopped" file_has "$WORK/agent.log" "msg=stopped"
check "SIGTERM: every answer right or 503 agent_unavailable ($TERM_N requests)" \
    eq "$(judge_term "$WORK/load-term.txt")" 0
check "SIGTERM: requests after the exit failed closed (503 seen: $TERM_503)" test "$TERM_503" -gt 0
got=""
for i in 1 2 3 4 5; do
    req_cert "after-term-$i" allowed
    got="$got$STATUS/$(hdr X-Certspoa-Code) "
done
check "SIGTERM: afterwards the listed certificate gets 503 agent_unavailable (x5)" \
    eq "$got" "$(printf '503/agent_unavailable %.0s' 1 2 3 4 5)"
check "SIGTERM: the stats listener is gone" eval '! port_open "$STATS_HTTP"'
check "HAProxy log: no 200 without certspoa=allow/ok and the allowed sha256 (whole run)" \
    eq "$(awk -v sha="sha256=$ALLOWED_SHA256" '
        $3 == "mtls-api~" && $6 == 200 && !(index($0, "certspoa=allow/ok") && index($0, sha)) { n++ }
        END { print n + 0 }' "$WORK/haproxy.log")" 0
check "HAProxy log: the not-listed client never got a 200" \
    eq "$(awk '$3 == "mtls-api~" && $6 == 200 && /not-listed client/ { n++ } END { print n + 0 }' "$WORK/haproxy.log")" 0
stop_haproxy

# A restart on the same files: generation 1 again, the same digest (an
# alert on differing generations would fire here; CertspoaConfigsDiffer not)
if start_agent again "$WORK/agent.ini" "$WORK/agent.ready"; then
    check "restart on the same files: generation 1, certspoa_config_info's digest unchanged" \
        eq "$(gen_fail | cut -d' ' -f1) $(config_sha)" "1 $CONFIG_SHA"
    stop_agent "$AGENT_PID"
else
    fail "restart the agent on the same files" "$WHY"
fi

# A ca_dir is digested file by file: a CA dropped into it is a new
# configuration, taking it out again restores the digest.
mkdir -p "$WORK/cas"
cp "$PKI/ca.pem" "$WORK/cas/root.pem"
sed "s|^ca_file = .*|ca_dir = $WORK/cas|" "$WORK/agent.ini" >"$WORK/cadir.ini"
if start_agent cadir "$WORK/cadir.ini" "$WORK/agent.ready"; then
    d1=$(config_sha)
    cp "$PKI/untrusted-ca.pem" "$WORK/cas/other.crt"
    kill -HUP "$AGENT_PID"
    wait_reload 2 0
    d2=$(config_sha)
    rm "$WORK/cas/other.crt"
    kill -HUP "$AGENT_PID"
    wait_reload 3 0
    d3=$(config_sha)
    check "ca_dir: a CA added changes certspoa_config_info, removed restores it" \
        eq "$d3 $([ -n "$d2" ] && [ "$d2" != "$d1" ] && echo changed)" "${d1:-none} changed"
    stop_agent "$AGENT_PID"
else
    fail "start the agent with a ca_dir" "$WHY"
fi

# ------------------------------------------------------------ 8. reload_watch

note "reload_watch = 200ms: file changes, ConfigMap-style symlink swap"
mkdir -p "$WORK/cm/..v1" "$WORK/cm/..v2"
cp "$WORK/list-a.txt" "$WORK/cm/..v1/allowed.txt"
# nobody: one entry that matches no certificate (an allow list with no entry
# is a configuration error)
printf '%064d   # nobody\n' 0 >"$WORK/cm/..v2/allowed.txt"
ln -sfn ..v1 "$WORK/cm/..data"
ln -sfn ..data/allowed.txt "$WORK/cm/allowed.txt"
free_port STATS_HTTP
mk_ini "$WORK/watch.ini" 403 "$WORK/cm/allowed.txt"
sed -i -e "s|^ready_file = .*|ready_file = $WORK/watch.ready|" \
    -e "s|^pid_file = .*|pid_file = $WORK/watch.pid\\nreload_watch = 200ms|" "$WORK/watch.ini"
STATS_URL=http://127.0.0.1:$STATS_HTTP
if start_agent watch "$WORK/watch.ini" "$WORK/watch.ready" && start_haproxy haproxy-watch "$AGENT_ADDR"; then
    WATCH=$AGENT_PID
    wait_until 5 agent_is UP >/dev/null
    # HAProxy's SPOP connections to the agent stay open across the change:
    # allowed, then the list swaps to "nobody", then the next request is
    # denied
    req_cert watch-1 allowed
    check "watch: listed certificate -> 200" eq "$STATUS" 200
    ln -sfn ..v2 "$WORK/cm/..data.tmp" && mv -T "$WORK/cm/..data.tmp" "$WORK/cm/..data"
    check "watch: symlink swap to a list of nobody -> generation 2" wait_reload 2 0
    timing "reload_watch 200ms: symlink swap -> generation 2 on /metrics after $RELOAD_MS ms"
    req_cert watch-2 allowed
    check "watch: after the swap the same certificate -> 403 cert_untrusted" \
        eq "$STATUS/$(hdr X-Certspoa-Code)" "403/cert_untrusted"
    sed 's/^threads = .*/threads = many/' "$WORK/watch.ini" >"$WORK/watch.ini.tmp" &&
        mv "$WORK/watch.ini.tmp" "$WORK/watch.ini"
    check "watch: a broken edit is refused (failures 1, generation stays 2)" wait_reload 2 1
    sleep 0.6
    check "watch: the broken file is not retried on every tick" eq "$(gen_fail)" "2 1 1"
    sed -i 's/^threads = .*/threads = 2/' "$WORK/watch.ini"
    check "watch: fixing it reloads (generation 3)" wait_reload 3 1
    ln -sfn ..v1 "$WORK/cm/..data.tmp" && mv -T "$WORK/cm/..data.tmp" "$WORK/cm/..data"
    check "watch: swapping back -> generation 4" wait_reload 4 1
    req_cert watch-3 allowed
    check "watch: listed again -> 200" eq "$STATUS" 200
    stop_agent "$WATCH"
    check "watch agent exits 0" eq "$AGENT_RC" 0
    stop_haproxy
else
    fail "start the reload_watch agent and HAProxy" "$WHY"
fi

# ------------------------------------------------------------ end

check "agent logs: no sanitizer or runtime error reports" \
    file_hasnt_any 'AddressSanitizer|LeakSanitizer|UndefinedBehaviorSanitizer|runtime error:' "$WORK"/agent.log "$WORK"/watch.log
[ -n "${PROM_PID:-}" ] && stop_pid "$PROM_PID"
timing "ops suite: $(( ($(now_ms) - T_START) / 1000 )) s"
finish ops
