#!/usr/bin/env bash
# tests/lint/run.sh - certspoa lint: the corpus, the shipped examples, and
# proof on a real HAProxy that every trap the linter reports is real.
#
#   CERTSPOA_BIN=./certspoa tests/lint/run.sh      (or: make lint)
#   ONLY="fixtures examples proofs" (or LINT_ONLY=)           run only some parts
#
# 1. fixtures: tests/lint/fixtures/NAME.cfg linted, output compared byte for
#    byte with NAME.expected (--haproxy-version any) and NAME.vX.Y.expected
#    (--haproxy-version X.Y); NAME.args adds arguments (--agent-config). The
#    exit status must be 1 exactly when an error is expected. @PKI@ in
#    *.ini is the test PKI.
# 2. examples: every haproxy-examples/*/haproxy.cfg (and the sidecar's
#    embedded one), with every spoe-conf/*.conf, lints clean for 2.6, 3.0,
#    3.2 and "any version".
# 3. proofs: each broken fixture started on HAProxy 2.6 (and 3.2 through
#    tests/versions/haproxy.sh where the rule is version-specific and the
#    root exists), with the agent stopped or running as the trap needs, and
#    a request that shows the harm (it passes, gets a TLS alert, a forged
#    header reaches the app...), next to the passing fixture doing the right
#    thing. Ends with "lint: N passed, N failed".
set -u
cd "$(dirname "$0")/../.." || exit 1
. tests/integration/lib.sh

FX_SRC=$TOP/tests/lint/fixtures
# LINT_ONLY is the older name of ONLY (tests/lib/harness.sh).
[ -n "${LINT_ONLY:-}" ] && ONLY=$LINT_ONLY
only_parts fixtures examples proofs
HAP26=${HAPROXY:-haproxy}
HAP32="$TOP/tests/versions/haproxy.sh 3.2"
HAP30="$TOP/tests/versions/haproxy.sh 3.0"
have_root() {
    [ "$(id -u)" -eq 0 ] && [ -f "${CERTSPOA_ROOTS:-/var/cache/certspoa/roots}/$1/.certspoa-root" ]
}
have_32() { have_root forky; }

workdir lint
make_pki || { fail "test PKI" "see $WORK/pki.log"; finish lint; exit 1; }
FX=$WORK/fx
cp -r "$FX_SRC" "$FX"
ln -s "$PKI" "$FX/pki"
sed -i "s|@PKI@|$PKI|g" "$FX"/*.ini

# ---------------------------------------------------------------- 1. fixtures

# lint_case CFG EXPECTED VERSION - lint CFG in the fixture directory.
lint_case() {
    local cfg=$1 exp=$2 ver=$3 args=() out rc want=0
    [ -f "$FX/${cfg%.cfg}.args" ] && read -r -a args <"$FX/${cfg%.cfg}.args"
    out=$(cd "$FX" && "$CERTSPOA_BIN" lint --haproxy-version "$ver" "${args[@]}" "$cfg" 2>/dev/null)
    rc=$?
    grep -q ': error: ' "$FX/$exp" && want=1
    if [ "$out" != "$(cat "$FX/$exp")" ]; then
        WHY="output differs from $exp:
$(diff <(printf '%s\n' "$out") "$FX/$exp" | sed 's/^/       /')"
        return 1
    fi
    [ "$rc" -eq "$want" ] || { WHY="exit $rc, want $want"; return 1; }
}

if part_wanted fixtures; then
    note "fixtures: each rule's failing and passing configuration, exact output"
    for exp in "$FX"/*.expected; do
        exp=${exp##*/}
        name=${exp%.expected}
        ver=any
        case $name in
            *.v[0-9]*) ver=${name##*.v}; name=${name%.v*} ;;
        esac
        check "lint $name.cfg (HAProxy $ver)" lint_case "$name.cfg" "$exp" "$ver"
    done
    # every fixture has an expectation, every rule a failing and a passing one
    for cfg in "$FX"/*.cfg; do
        n=$(basename "$cfg" .cfg)
        check "fixture $n.cfg has an expected output" \
            test -n "$(ls "$FX/$n".expected "$FX/$n".v*.expected 2>/dev/null)"
    done
    for rule in fail-open order headers bind-verify spoe agent-health per-connection agent-config syntax; do
        bad=$(cat "$FX"/*.expected | grep -c "\[$rule\]$")
        check "rule $rule has a failing fixture" test "$bad" -gt 0
    done
    note "the version from haproxy -v"
    if command -v haproxy >/dev/null; then
        hv=$(haproxy -v 2>/dev/null | sed -n 's/.*[Vv]ersion \([0-9]*\.[0-9]*\).*/\1/p' | head -n 1)
        if [ -f "$FX/spoe-mode-bad.v$hv.expected" ]; then
            check "no --haproxy-version: 'haproxy -v' says $hv, the $hv checks run" \
                eq "$(cd "$FX" && "$CERTSPOA_BIN" lint spoe-mode-bad.cfg 2>/dev/null)" \
                   "$(cat "$FX/spoe-mode-bad.v$hv.expected")"
        fi
    fi
    check "no haproxy on the PATH: every version is checked" \
        eq "$(cd "$FX" && PATH=/nonexistent "$CERTSPOA_BIN" lint spoe-mode-bad.cfg 2>/dev/null)" \
           "$(cat "$FX/spoe-mode-bad.expected")"
    note "usage and input errors"
    check "no file: exit 64" eq "$("$CERTSPOA_BIN" lint >/dev/null 2>&1; echo $?)" 64
    check "missing haproxy.cfg: exit 66" \
        eq "$("$CERTSPOA_BIN" lint "$WORK/nonexistent.cfg" >/dev/null 2>&1; echo $?)" 66
    check "bad --haproxy-version: exit 64" \
        eq "$("$CERTSPOA_BIN" lint --haproxy-version x "$FX/good.cfg" >/dev/null 2>&1; echo $?)" 64
    check "binary garbage does not crash it" \
        test "$(head -c 20000 /dev/urandom >"$WORK/garbage.cfg"; "$CERTSPOA_BIN" lint "$WORK/garbage.cfg" >/dev/null 2>&1; echo $?)" -le 1
fi

# ---------------------------------------------------------------- 2. examples

# lint_clean DIR CFG [ARGS...] - no finding, exit 0, for every version.
lint_clean() {
    local dir=$1 cfg=$2 v out rc
    shift 2
    for v in 2.6 3.0 3.2 any; do
        out=$(cd "$dir" && "$CERTSPOA_BIN" lint --haproxy-version "$v" "$@" "$cfg" 2>/dev/null)
        rc=$?
        if [ -n "$out" ] || [ "$rc" -ne 0 ]; then
            WHY="HAProxy $v: exit $rc: $out"
            return 1
        fi
    done
}

if part_wanted examples; then
    note "examples: every shipped configuration lints clean (2.6, 3.0, 3.2, any)"
    for cfg in haproxy-examples/*/haproxy.cfg; do
        check "$cfg lints clean" lint_clean "$TOP" "$cfg"
    done
    # the sidecar's haproxy.cfg lives in a ConfigMap: take it out (4-space
    # indent under "haproxy.cfg: |"), with its certspoa.conf
    yaml=haproxy-examples/sidecar/k8s/haproxy-config.yaml
    if [ -f "$yaml" ]; then
        awk '/^  haproxy.cfg: \|/ { on = 1; next } on && /^  [^ ]/ { on = 0 }
             on { sub(/^    /, ""); print }' "$yaml" >"$WORK/sidecar-haproxy.cfg"
        check "sidecar haproxy.cfg extracted" test -s "$WORK/sidecar-haproxy.cfg"
        check "sidecar haproxy.cfg (ConfigMap) lints clean with spoe-conf/certspoa.conf" \
            lint_clean "$TOP" "$WORK/sidecar-haproxy.cfg" --spoe spoe-conf/certspoa.conf
        # and with the sidecar's certspoa.ini (ConfigMap certspoa-config), its
        # files pointed at this run's
        ayaml=haproxy-examples/sidecar/k8s/certspoa-config.yaml
        if [ -f "$ayaml" ]; then
            awk '/^  certspoa.ini: \|/ { on = 1; next } on && /^  [^ ]/ { on = 0 }
                 on { sub(/^    /, ""); print }' "$ayaml" |
                sed -e "s|^ca_file = .*|ca_file = $PKI/ca.pem|" \
                    -e "s|^thumbprints = .*|thumbprints = $TOP/haproxy-examples/mtls-api/allowed.txt|" \
                    -e "s|^pid_file = .*||" -e "s|^ready_file = .*||" >"$WORK/sidecar-agent.ini"
            check "sidecar haproxy.cfg lints clean with the sidecar's certspoa.ini" \
                lint_clean "$TOP" "$WORK/sidecar-haproxy.cfg" --spoe spoe-conf/certspoa.conf \
                    --agent-config "$WORK/sidecar-agent.ini"
        fi
    fi
    # with the example's own certspoa.ini (its ca_file pointed at the test PKI)
    for ini in haproxy-examples/*/certspoa.ini; do
        d=$(dirname "$ini")
        [ -f "$d/haproxy.cfg" ] || continue
        sed "s|^ca_file = .*|ca_file = $PKI/ca.pem|" "$ini" >"$WORK/$(basename "$d")-agent.ini"
        check "$d/haproxy.cfg lints clean with --agent-config $ini" \
            lint_clean "$TOP" "$d/haproxy.cfg" --agent-config "$WORK/$(basename "$d")-agent.ini"
    done
    for conf in spoe-conf/*.conf haproxy-examples/*/*.conf; do
        grep -q '^spoe-agent' "$conf" 2>/dev/null || continue
        case $conf in
            *per-connection*) cfg=haproxy-examples/mtls-per-connection/haproxy.cfg ;;
            *forwarded*) cfg=haproxy-examples/behind-proxy/haproxy.cfg ;;
            *) cfg=haproxy-examples/mtls-api/haproxy.cfg ;;
        esac
        check "$conf lints clean (with $cfg)" lint_clean "$TOP" "$cfg" --spoe "$conf"
    done
fi

# ---------------------------------------------------------------- 3. proofs

AGENT_INI=$WORK/agent.ini
cat >"$AGENT_INI" <<EOF
[agent]
listen = 127.0.0.1:0
ready_file = $WORK/agent.ready

[policy default]
require_cert = yes
verify = haproxy
EOF

# fx_start NAME CFG HAPROXY_CMD [ENV=VALUE...] - run fixture CFG from the
# fixture directory on fresh ports; the agent address is $AGENT_ADDR (a
# port nobody listens on when the agent is not running).
fx_start() {
    local name=$1 cfg=$2 hap=$3
    shift 3
    local -a cmd
    read -r -a cmd <<<"$hap"
    for _ in 1 2 3; do
        # shellcheck disable=SC2015 # C runs when A or B fails, as meant
        free_port HTTPS_PORT && free_port APP_PORT && free_port STATS_PORT && free_port HTTP_PORT ||
            { WHY="no free port"; return 1; }
        echo "=== start $(date +%T.%3N) $cfg https=$HTTPS_PORT agent=$AGENT_ADDR" >>"$WORK/$name.log"
        (cd "$FX" && env "LINT_HTTPS_BIND=127.0.0.1:$HTTPS_PORT" "LINT_APP_BIND=127.0.0.1:$APP_PORT" \
            "LINT_HTTP_BIND=127.0.0.1:$HTTP_PORT" \
            "LINT_STATS=ipv4@127.0.0.1:$STATS_PORT" "LINT_AGENT_ADDR=$AGENT_ADDR" "$@" \
            "${cmd[@]}" -db -f "$cfg" >>"$WORK/$name.log" 2>&1) &
        HAP_PID=$!
        CHILD_PIDS+=("$HAP_PID")
        wait_until 10 haproxy_up && return 0
        stop_pid "$HAP_PID"
        grep -q "cannot bind\|Address already in use" "$WORK/$name.log" || break
    done
    WHY="haproxy did not start: $(grep -E 'ALERT' "$WORK/$name.log" | tail -n 2 | tr '\n' ' ')"
    return 1
}

# hap_check HAPROXY_CMD CFG - "haproxy -c" on a fixture; sets HC_RC HC_OUT.
hap_check() {
    local -a cmd
    read -r -a cmd <<<"$1"
    # shellcheck disable=SC2034 # the callers read HC_OUT
    HC_OUT=$(cd "$FX" && env LINT_HTTPS_BIND=127.0.0.1:1 LINT_APP_BIND=127.0.0.1:2 \
        LINT_STATS=ipv4@127.0.0.1:3 LINT_AGENT_ADDR=127.0.0.1:4 "${cmd[@]}" -c -f "$2" 2>&1)
    HC_RC=$?
}

agent_up() {
    start_agent agent "$AGENT_INI" "$WORK/agent.ready"
}
agent_down() {
    [ -n "${AGENT_PID:-}" ] && stop_agent "$AGENT_PID"
    AGENT_PID=""
    free_port DEAD_PORT
    AGENT_ADDR=127.0.0.1:$DEAD_PORT
}

# proof NAME CFG HAPROXY_CMD AGENT(up|down) [ENV=VALUE...] - start it all;
# the caller then sends requests and stops with proof_end.
proof() {
    local name=$1 cfg=$2 hap=$3 ag=$4
    shift 4
    if [ "$ag" = up ]; then
        agent_up || { fail "$name: agent" "$WHY"; return 1; }
    else
        agent_down
    fi
    fx_start "$name" "$cfg" "$hap" "$@" || { fail "$name: haproxy" "$WHY"; return 1; }
    sleep 0.3     # first health check
}
proof_end() {
    stop_haproxy
    [ -n "${AGENT_PID:-}" ] && stop_agent "$AGENT_PID"
    AGENT_PID=""
}

# status_of TAG CERT [CURL ARGS] - the HTTP status of one request ("000": none).
status_of() {
    req_cert "$@"
    printf '%s' "$STATUS"
}

# per-connection: two requests on ONE TLS connection, the agent stopped in
# between; prints both status codes.
two_on_one_conn() {
    local apid=$1 port=$2
    {
        printf 'GET / HTTP/1.1\r\nHost: localhost\r\n\r\n'
        sleep 1
        kill -TERM "$apid" 2>/dev/null
        sleep 2
        printf 'GET / HTTP/1.1\r\nHost: localhost\r\nConnection: close\r\n\r\n'
        sleep 1.5
    } | timeout 10 openssl s_client -connect "127.0.0.1:$port" -servername localhost \
        -cert "$PKI/allowed.crt" -key "$PKI/allowed.key" -quiet 2>/dev/null |
        tr -d '\r' | awk '/^HTTP\/1.1 / { printf "%s%s", sep, $2; sep = " " }'
}

if part_wanted proofs && command -v "${HAP26%% *}" >/dev/null; then
    note "proofs (HAProxy 2.6): each trap, next to the passing fixture"

    # fail-open: agent down; "deny if verdict deny" lets the client through
    if proof fail-open fail-open-bad.cfg "$HAP26" down; then
        check "fail-open-bad, agent down: the request reaches the app (200)" eq "$(status_of fo1 allowed)" 200
        check "fail-open-bad, agent down: even with no certificate (200)" eq "$(req fo2; echo "$STATUS")" 200
        proof_end
    fi
    if proof fail-open-good fail-open-good.cfg "$HAP26" down; then
        check "fail-open-good (if !acl), agent down: 503" eq "$(status_of fo3 allowed)" 503
        proof_end
    fi
    if proof fail-open-backend fail-open-backend-bad.cfg "$HAP26" down; then
        check "fail-open-backend-bad (filter on a backend), agent down: 200" eq "$(status_of fo4 allowed)" 200
        proof_end
    fi
    if proof fail-open-backend-good fail-open-backend-good.cfg "$HAP26" down; then
        check "fail-open-backend-good, agent down: 503" eq "$(status_of fo5 allowed)" 503
        proof_end
    fi
    if proof good good.cfg "$HAP26" down; then
        check "good, agent down: 503" eq "$(status_of g1 allowed)" 503
        proof_end
    fi

    # order: an allow before the gate forwards unchecked requests
    if proof order order-bad.cfg "$HAP26" down; then
        check "order-bad, agent down: /public/x reaches the app with no certificate (200)" \
            eq "$(REQ_PATH=/public/x req o1; echo "$STATUS")" 200
        proof_end
    fi
    if proof order-good order-good.cfg "$HAP26" down; then
        check "order-good, agent down: /public/x gets 503" eq "$(REQ_PATH=/public/x req o2; echo "$STATUS")" 503
        proof_end
    fi

    if proof order-group order-group-bad.cfg "$HAP26" up LINT_MAX_AGE=60; then
        check "order-group-bad, agent up: a trusted client is refused (503), no verdict yet" \
            eq "$(status_of o3 allowed)" 503
        proof_end
    fi
    if proof order-group-good per-connection-good.cfg "$HAP26" up LINT_MAX_AGE=60; then
        check "per-connection-good (send-spoe-group first), agent up: 200" eq "$(status_of o4 allowed)" 200
        proof_end
    fi

    # headers: forged identity headers reach the application
    if proof headers headers-bad.cfg "$HAP26" up; then
        req_cert h1 allowed -H 'X-Forwarded-Client-Cert: By=forged' -H 'Client_Cert: :Zm9yZ2Vk:'
        check "headers-bad: allowed request is 200" eq "$STATUS" 200
        check "headers-bad: a forged X-Forwarded-Client-Cert reaches the app" has "$BODY" x-forwarded-client-cert
        check "headers-bad: a forged Client_Cert reaches the app" has "$BODY" client_cert
        proof_end
    fi
    for f in good headers-good; do
        if proof "$f-h" "$f.cfg" "$HAP26" up; then
            req_cert h2 allowed -H 'X-Forwarded-Client-Cert: By=forged' -H 'Client_Cert: :Zm9yZ2Vk:' -H 'X-SSL-Client-DN: CN=forged'
            if [ "$f" = headers-good ]; then
                # "reject" refuses a request with such a name (403)
                check "$f: Client_Cert is refused (403)" eq "$STATUS" 403
                check "$f: ... by HAProxy, before the app" hasnt "$BODY" "app saw"
                req_cert h3 allowed -H 'X-Forwarded-Client-Cert: By=forged' -H 'X-SSL-Client-DN: CN=forged'
            fi
            check "$f: allowed request is 200" eq "$STATUS" 200
            check "$f: no forged header reaches the app" hasnt "$BODY" forged
            check "$f: no x-forwarded-client-cert / client_cert / x-ssl-client at the app" \
                eval '! printf "%s" "$BODY" | grep -qiE "x-forwarded-client-cert|client_cert|x-ssl-client"'
            proof_end
        fi
    done

    # bind-verify: a TLS alert instead of a 403
    if proof bind bind-verify-bad.cfg "$HAP26" up; then
        check "bind-verify-bad: an untrusted client gets no HTTP answer (TLS alert)" \
            eq "$(status_of b1 untrusted)" 000
        proof_end
    fi
    if proof bind-good good.cfg "$HAP26" up; then
        check "good: an untrusted client gets certspoa's 403" eq "$(status_of b2 untrusted)" 403
        check "good: a trusted client gets 200" eq "$(status_of b3 allowed)" 200
        proof_end
    fi
    if proof bind-plain bind-verify-plain-bad.cfg "$HAP26" up; then
        check "bind-verify-plain-bad: plain HTTP, no certificate: refused (403)" \
            eq "$($CURL -s -o /dev/null -w '%{http_code}' "http://127.0.0.1:$HTTP_PORT/")" 403
        stop_agent "$AGENT_PID"; AGENT_PID=""
        check "bind-verify-plain-bad: the redirect answers with the agent down (302)" \
            eq "$($CURL -s -o /dev/null -w '%{http_code}' "http://127.0.0.1:$HTTP_PORT/old/x")" 302
        proof_end
    fi
    if proof bind-redirect bind-verify-redirect-good.cfg "$HAP26" up; then
        check "bind-verify-redirect-good: plain HTTP is sent to HTTPS (301)" \
            eq "$($CURL -s -o /dev/null -w '%{http_code}' "http://127.0.0.1:$HTTP_PORT/")" 301
        check "bind-verify-redirect-good: HTTPS with a trusted client: 200" eq "$(status_of b5 allowed)" 200
        proof_end
    fi
    if proof bind-none bind-verify-none-bad.cfg "$HAP26" up; then
        req_cert b4 allowed
        check "bind-verify-none-bad: a trusted client is refused (403)" eq "$STATUS" 403
        check "bind-verify-none-bad: ... because no certificate arrived (cert_missing)" \
            eq "$(hdr X-Certspoa-Code)" cert_missing
        proof_end
    fi

    # spoe: the file, the message, the arguments, the prefix
    hap_check "$HAP26" spoe-missing-bad.cfg
    check "spoe-missing-bad: HAProxy refuses to start" ne "$HC_RC" 0
    hap_check "$HAP26" good.cfg
    check "good: haproxy -c passes" eq "$HC_RC" 0
    hap_check "$HAP26" spoe-two-agents-bad.cfg
    check "spoe-two-agents-bad: HAProxy refuses to start" ne "$HC_RC" 0
    hap_check "$HAP26" syntax-bad.cfg
    check "syntax-bad: HAProxy refuses it too" ne "$HC_RC" 0
    for f in spoe-message spoe-prefix; do
        if proof "$f" "$f-bad.cfg" "$HAP26" up; then
            check "$f-bad: a trusted client never gets a verdict (503)" eq "$(status_of s1 allowed)" 503
            proof_end
        fi
    done
    if proof spoe-args spoe-args-bad.cfg "$HAP26" up; then
        check "spoe-args-bad: a trusted client is denied (403)" eq "$(status_of s2 allowed)" 403
        check "spoe-args-bad: ... because verify was not sent" \
            file_has "$WORK/agent.log" "the 'verify' argument (ssl_c_verify) was not sent"
        proof_end
    fi
    hap_check "$HAP26" spoe-mode-bad.cfg
    check "spoe-mode-bad: HAProxy 2.6 refuses 'mode spop'" ne "$HC_RC" 0
    hap_check "$HAP26" spoe-mode-if.cfg
    check "spoe-mode-if: HAProxy 2.6 takes the .else branch" eq "$HC_RC" 0
    if proof reg26 spoe-register-bad.cfg "$HAP26" up; then
        check "spoe-register-bad on 2.6: the name in haproxy.cfg is enough, 200" eq "$(status_of r1 allowed)" 200
        proof_end
    fi

    # send-frag-payload on (spoe-frag, no finding): a message bigger than
    # max-frame-size (4096 here, a 9.5 KB certificate) is refused alone on
    # 2.6 and 3.0, fragmentation announced by the agent or not
    for hv in 2.6 3.0; do
        hap=$HAP26
        if [ "$hv" = 3.0 ]; then
            have_root trixie || continue
            hap=$HAP30
        fi
        for fr in yes no; do
            ini=$WORK/agent-frag.ini
            printf '[agent]\nlisten = 127.0.0.1:0\nready_file = %s\nmax_frame_size = 4096\nfragmentation = %s\n[policy default]\nrequire_cert = yes\nverify = haproxy\n' \
                "$WORK/agent-f.ready" "$fr" >"$ini"
            start_agent agent-f "$ini" "$WORK/agent-f.ready" || { fail "frag agent" "$WHY"; continue; }
            if fx_start "frag-$hv-$fr" spoe-frag.cfg "$hap"; then
                sleep 0.3
                a=$(status_of f1 allowed); b=$(status_of f2 big); c=$(status_of f3 allowed)
                check "spoe-frag on $hv (agent fragmentation = $fr): big certificate 503, the others 200" \
                    eq "$a $b $c" "200 503 200"
                stop_haproxy
            else
                fail "frag haproxy" "$WHY"
            fi
            stop_agent "$AGENT_PID"; AGENT_PID=""
        done
    done

    # no timeout processing on 2.6: a hung agent (SIGSTOP)
    for spoe in spoe-timeout-bad.spoe good.spoe; do
        if proof "timeout26-$spoe" spoe-timeout-bad.cfg "$HAP26" up LINT_SPOE="$spoe"; then
            check "2.6 $spoe: agent answers (200)" eq "$(status_of t2 allowed)" 200
            kill -STOP "$AGENT_PID"
            st=$(status_of t3 allowed --max-time 4)
            kill -CONT "$AGENT_PID"
            note "2.6 $spoe, hung agent: $st"
            if [ "$spoe" = good.spoe ]; then
                check "2.6 timeout processing 500ms, hung agent: 503" eq "$st" 503
            else
                check "2.6 no timeout processing, hung agent: the request stalls (no answer in 4 s)" \
                    eq "$st" 000
            fi
            proof_end
        fi
    done

    # agent-health: a dead agent stays "UP" without checks
    if proof health agent-health-bad.cfg "$HAP26" up; then
        stop_agent "$AGENT_PID"; AGENT_PID=""
        sleep 1.5
        check "agent-health-bad: agent stopped, HAProxy still counts it in ('no check')" \
            eq "$(agent_status)" "no check"
        proof_end
    fi
    if proof health-good good.cfg "$HAP26" up; then
        stop_agent "$AGENT_PID"; AGENT_PID=""
        check "good: agent stopped, HAProxy marks it DOWN" wait_until 5 agent_is DOWN
        proof_end
    fi

    # per-connection: a verdict with no maximum age outlives the agent
    for f in bad good; do
        if proof "perconn-$f" "per-connection-$f.cfg" "$HAP26" up LINT_MAX_AGE=1; then
            got=$(two_on_one_conn "$AGENT_PID" "$HTTPS_PORT")
            if [ "$f" = bad ]; then
                check "per-connection-bad: 2nd request, agent gone, 2 s later: still 200" eq "$got" "200 200"
            else
                check "per-connection-good: 2nd request after the 1 s max age: 503" eq "$got" "200 503"
            fi
            forget_pid "$AGENT_PID"; AGENT_PID=""
            proof_end
        fi
    done

    # agent-config: verify = agent without the chain
    ini=$WORK/agent-verify.ini
    sed -e "s|^listen = .*|listen = 127.0.0.1:0\nready_file = $WORK/agent-v.ready|" "$FX/agent-config-bad.ini" >"$ini"
    for spoe in agent-config.spoe good.spoe; do
        start_agent agent-v "$ini" "$WORK/agent-v.ready" || { fail "agent-config agent" "$WHY"; break; }
        if fx_start "ac-$spoe" agent-config-bad.cfg "$HAP26" LINT_SPOE="$spoe"; then
            sleep 0.3
            if [ "$spoe" = good.spoe ]; then
                check "agent-config: with chain sent, a client of the intermediate CA: 200" \
                    eq "$(status_of a2 chained-full --key "$PKI/chained.key")" 200
            else
                check "agent-config-bad: no chain sent, a client of the intermediate CA: 403" \
                    eq "$(status_of a1 chained-full --key "$PKI/chained.key")" 403
            fi
            stop_haproxy
        else
            fail "agent-config haproxy" "$WHY"
        fi
        stop_agent "$AGENT_PID"; AGENT_PID=""
    done

    # agent-config, host=req.hdr: "Host: api.example, other.example" with SNI
    # other.example goes around the [route api] policy
    ini=$WORK/agent-host.ini
    sed -e "s|^listen = .*|listen = 127.0.0.1:0\nready_file = $WORK/agent-h.ready|" "$FX/agent-config-host-bad.ini" >"$ini"
    for spoe in agent-config-host.spoe good.spoe; do
        start_agent agent-h "$ini" "$WORK/agent-h.ready" || { fail "agent-config host agent" "$WHY"; break; }
        if fx_start "ach-$spoe" agent-config-host-bad.cfg "$HAP26" LINT_SPOE="$spoe"; then
            sleep 0.3
            st=$($CURL -sk -o /dev/null -w '%{http_code}' --cert "$PKI/allowed.crt" --key "$PKI/allowed.key" \
                --resolve "other.example:$HTTPS_PORT:127.0.0.1" -H 'Host: api.example, other.example' \
                "https://other.example:$HTTPS_PORT/")
            if [ "$spoe" = good.spoe ]; then
                check "agent-config-host: with req.fhdr the two-name Host is refused (403)" eq "$st" 403
            else
                check "agent-config-host-bad: 'Host: api.example, other.example' gets around the api route (200)" \
                    eq "$st" 200
            fi
            stop_haproxy
        else
            fail "agent-config host haproxy" "$WHY"
        fi
        stop_agent "$AGENT_PID"; AGENT_PID=""
    done

    # HAProxy 3.2: the version-specific rules
    if have_32; then
        note "proofs (HAProxy 3.2)"
        hap_check "$HAP32" spoe-mode-bad.cfg
        check "spoe-mode-bad: HAProxy 3.2 takes 'mode spop'" eq "$HC_RC" 0
        hap_check "$HAP32" spoe-mode-if.cfg
        check "spoe-mode-if: HAProxy 3.2 takes the .if branch" eq "$HC_RC" 0
        if proof reg32 spoe-register-bad.cfg "$HAP32" up; then
            check "spoe-register-bad on 3.2: the name in haproxy.cfg is enough, 200 (a warning, not an error)" \
                eq "$(status_of r2 allowed)" 200
            proof_end
        fi
        if have_root trixie && proof reg30 spoe-register-bad.cfg "$HAP30" up; then
            check "spoe-register-bad on 3.0: the name in haproxy.cfg is enough, 200 (a warning, not an error)" \
                eq "$(status_of r4 allowed)" 200
            proof_end
        fi
        if proof reg32-good good.cfg "$HAP32" up; then
            check "good on 3.2: a trusted client gets 200" eq "$(status_of r3 allowed)" 200
            proof_end
        fi
        for spoe in spoe-timeout-bad.spoe good.spoe; do
            if proof "timeout-$spoe" spoe-timeout-bad.cfg "$HAP32" up LINT_SPOE="$spoe"; then
                check "3.2 $spoe: agent answers (200)" eq "$(status_of t0 allowed)" 200
                kill -STOP "$AGENT_PID"
                t0=$(now_ms)
                st=$(status_of t1 allowed --max-time 4)
                t1=$(now_ms)
                kill -CONT "$AGENT_PID"
                if [ "$spoe" = good.spoe ]; then
                    check "3.2 timeout processing 500ms, hung agent: 503 at once" eq "$st" 503
                else
                    check "3.2 no timeout processing, hung agent: the request stalls (no answer in 4 s)" \
                        eq "$st" 000
                fi
                note "took $((t1 - t0)) ms"
                proof_end
            fi
        done
    else
        note "no HAProxy 3.2 root: the 3.2 proofs are skipped"
    fi
fi

finish lint
