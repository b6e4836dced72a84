#!/usr/bin/env bash
# policy.sh - the policy engine, offline and end to end.
#
#   tests/integration/policy.sh            (or: make policy)
#   HAPROXY=... CERTSPOA_BIN=./certspoa-san tests/integration/policy.sh
#   POLICY_ONLY="explain e2e" tests/integration/policy.sh   (some parts only)
#
# Parts (ONLY, or POLICY_ONLY, takes their names; default: all):
#   explain  every case of the corpus (tests/integration/corpus.sh) through
#            "certspoa explain": exact code, rule and exit status
#   e2e      the same cases through HAProxy (haproxy-examples/mtls-api) +
#            certspoa + curl: one agent holds every case as a policy picked
#            by a [route] on the path; status, X-Certspoa-Code and -Rule
#   routes   route selection by SNI, Host, path and frontend; shadow mode;
#            optional certificate; SNI vs Host (domain fronting)
#   keepalive  a CRL update reaching an already open keep-alive connection
#   trace    the X-Certspoa-Trace header with the right and a wrong secret
#   output   "certspoa explain" and "certspoa inspect" output on the corpus
#   behind   haproxy-examples/behind-proxy: certificates forwarded in headers
#   config   policy configuration errors (certspoa -c: exit 78, file: key)
#
# Needs bash, haproxy, curl (7.84+: -w %header{}), openssl, coreutils.
# Everything listens on 127.0.0.1 (the behind-proxy part also connects from
# 127.0.0.2) on free ports. Ends with exactly one line
# "policy: N passed, N failed"; work files go to tests/out/policy.*/ and are
# kept when something failed.
set -u
. "$(dirname "$0")/lib.sh"

POLICY_DIR=$TOP/tests/integration/policy
BEHIND=$TOP/haproxy-examples/behind-proxy
FWD_SPOE_CONF=$TOP/spoe-conf/certspoa-forwarded.conf
TRACE_SECRET=policy-trace-secret-0123456789
START=$SECONDS

workdir policy
note "haproxy: $("${HAPROXY_CMD[@]}" -v 2>/dev/null | head -n 1)"
note "agent:   $CERTSPOA_BIN"
# Run a copy: the tree may be rebuilt while the suite runs.
if [ -x "$CERTSPOA_BIN" ] && cp "$CERTSPOA_BIN" "$WORK/certspoa"; then
    CERTSPOA_BIN=$WORK/certspoa
fi
note "work:    $WORK"

# POLICY_ONLY is the older name of ONLY (tests/lib/harness.sh).
[ -n "${POLICY_ONLY:-}" ] && ONLY=$POLICY_ONLY
only_parts explain e2e routes keepalive trace output behind config
want() { part_wanted "$1"; }

# ------------------------------------------------------------ the corpus

CORPUS=$WORK/corpus
gen_corpus() { "$TOP/tests/integration/corpus.sh" "$CORPUS" >"$WORK/corpus.log" 2>&1; }
check "corpus generated (corpus.sh)" gen_corpus
if [ ! -s "$CORPUS/manifest.tsv" ]; then
    fail "cannot go on without the corpus" "see $WORK/corpus.log"
    finish policy
    exit
fi
[ -x "$CERTSPOA_BIN" ] || { fail "agent binary at $CERTSPOA_BIN" "run make"; finish policy; exit; }
# Manifest paths are relative to the corpus; so are the agents' files.
cd "$CORPUS" || exit 1
PKI=$CORPUS

declare -a C_NAME=() C_CERT=() C_CODE=() C_RULE=() C_E2E=() C_ARGS=() C_CFG=()
while IFS=$'\t' read -r name cert code rule e2e args cfg; do
    case $name in ''|'#'*) continue ;; esac
    C_NAME+=("$name"); C_CERT+=("$cert"); C_CODE+=("$code"); C_RULE+=("$rule")
    C_E2E+=("$e2e"); C_ARGS+=("$args"); C_CFG+=("$cfg")
done <manifest.tsv
NCASES=${#C_NAME[@]}
note "corpus: $NCASES cases"

# cfg_lines "a = 1 | b = 2" - one config line per " | "-separated item.
cfg_lines() { printf '%s\n' "${1// | /$'\n'}"; }

# kv KEY TEXT - the value of a "KEY:   value" line of explain/inspect output
# (the first one).
kv() {
    local l
    while IFS= read -r l; do
        if [[ $l == "$1:"* ]]; then
            l=${l#"$1:"}
            printf '%s' "${l#"${l%%[![:space:]]*}"}"
            return 0
        fi
    done <<<"$2"
}

# leaf NAME.crt|NAME-full.crt -> NAME (its key is NAME.key, its DER NAME.der)
leaf() { local b=${1%.crt}; printf '%s' "${b%-full}"; }

# cert_args CERT - curl's arguments to present CERT ("-": none).
cert_args() {
    [ "$1" = - ] && return 0
    printf '%s\n' --cert "$CORPUS/$1" --key "$CORPUS/$(leaf "$1").key"
}

# Client certificates that OpenSSL's default security level (1) refuses to
# even load: an RSA 1024-bit key, a SHA-1 signature. curl presents those
# with security level 0, set by an OpenSSL config file (curl loads the
# certificate before it applies --ciphers). HAProxy then reports them with
# ssl_c_verify 66 and 68; only verify = agent policies accept them.
SECLEVEL0_CNF=$WORK/seclevel0.cnf
cat >"$SECLEVEL0_CNF" <<'CNF'
openssl_conf = openssl_init
[openssl_init]
ssl_conf = ssl_sect
[ssl_sect]
system_default = system_default_sect
[system_default_sect]
CipherString = DEFAULT:@SECLEVEL=0
CNF
CURL_ENV=()

# client_cert_of CERT - the RFC 9440 value of CERT's leaf: ":b64(DER):"
client_cert_of() { printf ':%s:' "$(base64 -w0 <"$CORPUS/$(leaf "$1").der")"; }

# ------------------------------------------------------------ requests

# get TAG URL [CURL ARGS...] - like lib.sh's req for any URL: a.example,
# b.example, api.example and localhost all resolve to 127.0.0.1 on every
# port this run uses. Sets STATUS BODY HDRS.
get() {
    local tag=$1 url=$2 port r=()
    shift 2
    port=${url#*://}; port=${port%%/*}; port=${port##*:}
    for h in localhost a.example b.example api.example; do
        r+=(--resolve "$h:$port:127.0.0.1")
    done
    # shellcheck disable=SC2086 # CURL may carry arguments
    STATUS=$(env "${CURL_ENV[@]}" $CURL -s --max-time 10 -o "$WORK/resp/$tag.body" -D "$WORK/resp/$tag.hdrs" \
        -w '%{http_code}' --cacert "$CORPUS/ca.pem" "${r[@]}" "$@" "$url")
    BODY=$(cat "$WORK/resp/$tag.body" 2>/dev/null)
    HDRS=$(tr -d '\r' <"$WORK/resp/$tag.hdrs" 2>/dev/null)
    return 0
}

# get_cert TAG URL CERT [CURL ARGS...]
get_cert() {
    local tag=$1 url=$2 c=$3 a
    shift 3
    mapfile -t a < <(cert_args "$c")
    case $(leaf "$c") in
        rsa1024|sha1) CURL_ENV=(OPENSSL_CONF="$SECLEVEL0_CNF") ;;
        *) CURL_ENV=() ;;
    esac
    get "$tag" "$url" "${a[@]}" "$@"
    CURL_ENV=()
}

describe() {
    printf '%s code=%s rule=%s/%s route=%s policy=%s detail=%s' "$STATUS" "$(hdr X-Certspoa-Code)" \
        "$(hdr X-Certspoa-Rule)" "$(hdr X-Test-Rule)" "$(hdr X-Test-Route)" "$(hdr X-Test-Policy)" \
        "$(json_field detail)"
}

# denied STATUS CODE RULE - HAProxy answered the agent's denial: status,
# X-Certspoa-Code and -Rule headers, the JSON body, nothing reached the app.
denied() {
    local got
    [ "$STATUS" = "$1" ] || { WHY="got $(describe), want $1 $2/$3"; return 1; }
    got=$(hdr X-Certspoa-Code)
    [ "$got" = "$2" ] || { WHY="X-Certspoa-Code '$got', want '$2': $(describe)"; return 1; }
    got=$(hdr X-Certspoa-Rule)
    [ "$got" = "$3" ] || { WHY="X-Certspoa-Rule '$got', want '$3': $(describe)"; return 1; }
    got=$(json_field code)
    [ "$got" = "$2" ] || { WHY="JSON code '$got', want '$2' (body $BODY)"; return 1; }
    got=$(json_field rule)
    [ "$got" = "$3" ] || { WHY="JSON rule '$got', want '$3' (body $BODY)"; return 1; }
    hasnt "$BODY" "backend saw" || { WHY="the request reached the backend"; return 1; }
}

# allowed RULE CERT - 200 from the app with X-Test-Rule RULE; the app saw
# CERT's leaf in Client-Cert (CERT "-": no Client-Cert at all).
allowed() {
    local got want=0
    [ "$STATUS" = 200 ] || { WHY="got $(describe), want 200 $1"; return 1; }
    has "$BODY" "backend saw" || return 1
    got=$(hdr X-Test-Rule)
    [ "$got" = "$1" ] || { WHY="rule '$got', want '$1': $(describe)"; return 1; }
    [ "$2" != - ] && want=1
    got=$(backend_saw client-cert-count)
    [ "$got" = "$want" ] || { WHY="backend saw $got Client-Cert headers, want $want"; return 1; }
    if [ "$2" != - ]; then
        got=$(backend_saw client-cert)
        [ "$got" = "$(client_cert_of "$2")" ] || { WHY="backend saw Client-Cert '$got'"; return 1; }
    fi
}

# routed ROUTE POLICY - the decision came from that route and policy.
routed() {
    local r p
    r=$(hdr X-Test-Route)
    p=$(hdr X-Test-Policy)
    [ "$r/$p" = "$1/$2" ] && return 0
    WHY="route/policy '$r/$p', want '$1/$2': $(describe)"
    return 1
}

# ------------------------------------------------------------ HAProxy

# start_hap NAME "PORTVARS" ENVFUNC CFG... - start_haproxy_env (lib.sh)
start_hap() { start_haproxy_env "$@"; }

config_ok() {
    local out
    out=$("$CERTSPOA_BIN" -c -f "$1" 2>&1) && return 0
    WHY=$out
    return 1
}

# config_rejected NAME FILE-CONTENT NEEDLE - "certspoa -c" exits 78 and
# names the file and NEEDLE (a key) on stderr.
config_rejected() {
    local f=$WORK/config/$1.ini out rc
    printf '%s\n' "$2" >"$f"
    out=$("$CERTSPOA_BIN" -c -f "$f" 2>&1 >/dev/null)
    rc=$?
    [ "$rc" -eq 78 ] || { WHY="exit $rc, want 78 (stderr: $out)"; return 1; }
    has "$out" "$f:" || return 1
    has "$out" "$3" || return 1
}

# ---------------------------------------------------------------- config

if want config; then
    note "policy configuration errors: exit 78, file:line: key [$((SECONDS - START)) s]"
    mkdir -p "$WORK/config"
    P=$'[policy default]\nverify = agent\nca_file = ca.pem'
    check "allow_ip with host bits set (10.1.2.3/16)" config_rejected ip-bits "$P"$'\nallow_ip = 10.1.2.3/16' allow_ip
    check "allow_ip that is no address" config_rejected ip-junk "$P"$'\nallow_ip = 10.1.2.300' allow_ip
    check "allow_thumbprints with a non-hex entry" config_rejected tp-junk "$P"$'\nallow_thumbprints = abcdef' allow_thumbprints
    check "allow_dns = @file that does not exist" config_rejected list-missing "$P"$'\nallow_dns = @lists/no-such-file.txt' allow_dns
    check "allow_spiffe that is not spiffe://" config_rejected spiffe-junk "$P"$'\nallow_spiffe = https://corpus.test' allow_spiffe
    check "max_depth = 33" config_rejected depth "$P"$'\nmax_depth = 33' max_depth
    check "mode = audit" config_rejected mode "$P"$'\nmode = audit' mode
    check "crl_file with verify = haproxy" config_rejected crl-haproxy \
        $'[policy default]\nverify = haproxy\ncrl_file = crl/root.crl' crl_file
    check "crl_file that is not a CRL" config_rejected crl-junk "$P"$'\ncrl_file = ca.pem' crl_file
    check "trace_secret shorter than 16 characters" config_rejected trace \
        $'[agent]\ntrace_secret = short\n'"$P" trace_secret
    check "[route] naming a policy that does not exist" config_rejected route-policy \
        "$P"$'\n[route r]\npath_prefix = /x\npolicy = nope' policy
    check "[forwarded] without trusted_proxies" config_rejected fwd-empty \
        $'[forwarded]\nformat = rfc9440\n'"$P" trusted_proxies
    check "[forwarded] format = json" config_rejected fwd-format \
        $'[forwarded]\ntrusted_proxies = 127.0.0.1/32\nformat = json\n'"$P" format
    # An allow list written with no value must not mean "no list" (anyone
    # who verifies gets in): it is a configuration error, or it allows
    # nobody, like "allow_cn = ," and an empty @file do.
    empty_list_closed() {   # empty_list_closed "KEY =" CERT
        local f=$WORK/config/empty.ini out
        printf '%s\n%s\n' "$P" "$1" >"$f"
        "$CERTSPOA_BIN" -c -f "$f" >/dev/null 2>&1
        [ $? -eq 78 ] && return 0
        out=$("$CERTSPOA_BIN" explain -f "$f" --cert "$2" 2>&1)
        [ "$(kv code "$out")" != ok ] && return 0
        WHY="'$1' is accepted and $2 is allowed (rule $(kv rule "$out")): an empty allow list fails open"
        return 1
    }
    for k in allow_cn allow_dns allow_thumbprints thumbprints allow_spiffe allow_ip; do
        check "'$k =' (empty value): a config error or nobody allowed, never everyone" \
            empty_list_closed "$k =" good.crt
    done
    long=$(printf 'allow_cn = %0240d' 0)
    check "a 250-character line (inih would cut it)" config_rejected long "$P"$'\n'"$long" "line longer than"
    # issuer rules are matched on the path the agent verifies itself: with
    # no trust store there is none
    check "deny_issuer_thumbprints under verify = haproxy without ca_file" config_rejected issuer-nostore \
        $'[policy default]\nverify = haproxy\ndeny_issuer_thumbprints = '"$(printf '%064d' 0)" \
        ":3: deny_issuer_thumbprints: [policy default]: issuer rules need ca_file or ca_dir"
    # a warning, not an error: a [route] on frontend to verify = haproxy
    config_warned() {
        local f=$WORK/config/fe-haproxy.ini out rc
        printf '%s\n' $'[route partners]\nfrontend = fe_partners\npolicy = default\n[policy default]\nverify = haproxy' >"$f"
        out=$("$CERTSPOA_BIN" -c -f "$f" 2>&1 >/dev/null)
        rc=$?
        [ "$rc" -eq 0 ] || { WHY="exit $rc, want 0 (stderr: $out)"; return 1; }
        has "$out" "$f:2: WARNING: [route partners]" || return 1
        has "$out" "set verify = both with this frontend's CA as ca_file" || return 1
    }
    check "[route] on frontend to a verify = haproxy policy: -c warns, exit 0" config_warned
fi

# ---------------------------------------------------------------- (a) explain

if want explain; then
    note "(a) every corpus case through certspoa explain [$((SECONDS - START)) s]"
    mkdir -p "$WORK/explain"
    # explain_is CODE RULE - the last explain said CODE and RULE, and exited
    # 0 for an allow, 1 for a denial.
    explain_is() {
        local c r rc=1
        c=$(kv code "$EX_OUT")
        r=$(kv rule "$EX_OUT")
        [ "$1" = ok ] && rc=0
        if [ "$c/$r" != "$1/$2" ]; then
            WHY="got $c/$r (exit $EX_RC), want $1/$2; detail: $(kv detail "$EX_OUT")"
            return 1
        fi
        [ "$EX_RC" = "$rc" ] || { WHY="exit $EX_RC, want $rc"; return 1; }
    }
    for i in $(seq 0 $((NCASES - 1))); do
        n=${C_NAME[$i]}
        ini=$WORK/explain/$n.ini
        { echo "[policy default]"; cfg_lines "${C_CFG[$i]}"; } >"$ini"
        a=(explain -f "$ini")
        [ "${C_CERT[$i]}" != - ] && a+=(--cert "${C_CERT[$i]}")
        if [ "${C_ARGS[$i]}" != - ]; then
            read -r -a extra <<<"${C_ARGS[$i]}"
            a+=("${extra[@]}")
        fi
        EX_OUT=$("$CERTSPOA_BIN" "${a[@]}" 2>&1)
        EX_RC=$?
        printf '%s\n' "$EX_OUT" >"$WORK/explain/$n.out"
        check "explain $n: ${C_CODE[$i]}/${C_RULE[$i]}" explain_is "${C_CODE[$i]}" "${C_RULE[$i]}"
    done
fi

# ---------------------------------------------------------------- the agent for (b)-(e)

# One agent for the end-to-end parts: the route tests' policies, then a
# batch of corpus cases, each a policy picked by a [route] on the path
# /c/NAME/. The agent takes at most 64 policies, so the corpus goes through
# in batches of E2E_BATCH: the next batch is a new config file, which
# reload_watch (200ms) loads. reload_watch also makes the keep-alive test's
# CRL change reach the agent.
E2E_INI=$WORK/e2e.ini
KA_CRL=$WORK/ka.crl
E2E_BATCH=48
cp "$CORPUS/crl/root.crl" "$KA_CRL"
declare -a E2E_CASES=()
for i in $(seq 0 $((NCASES - 1))); do
    [ "${C_E2E[$i]}" = yes ] && E2E_CASES+=("$i")
done
E2E_BATCHES=$(( (${#E2E_CASES[@]} + E2E_BATCH - 1) / E2E_BATCH ))

# write_e2e_ini BATCH - the agent config with that batch of corpus cases,
# written next to $E2E_INI and renamed over it.
write_e2e_ini() {
    local b=$1 k i
    {
        cat <<INI
[agent]
listen = 127.0.0.1:0
ready_file = $WORK/e2e.ready
threads = 2
trace_secret = $TRACE_SECRET
reload_watch = 200ms

[policy default]
verify = agent
ca_file = ca.pem
allow_cn = good client

[policy r_sni]
verify = agent
ca_file = ca.pem
allow_cn = id client

[policy r_host]
verify = agent
ca_file = ca.pem
allow_cn = other client

[policy r_admin]
verify = agent
ca_file = ca.pem
allow_spiffe = spiffe://corpus.test/ns/prod

[policy r_both]
verify = agent
ca_file = ca.pem
allow_dns = other.corpus.test

[policy r_fe]
verify = agent
ca_file = ca.pem
allow_email = api@corpus.test

[policy r_strict]
verify = agent
ca_file = ca.pem
sni_host_match = yes

[policy r_shadow]
mode = shadow
verify = agent
ca_file = ca.pem
allow_cn = id client

[policy r_optional]
require_cert = no
verify = agent
ca_file = ca.pem

[policy r_ka]
verify = agent
ca_file = ca.pem
crl_file = $KA_CRL

[policy r_warn]
verify = agent
ca_file = ca.pem
warn_days = 30

[policy r_denywins]
verify = agent
ca_file = ca.pem
allow_thumbprints = @lists/id.tp
deny_spiffe = spiffe://corpus.test/ns/prod

; first match wins
[route strict]
path_prefix = /strict/
policy = r_strict

[route shadow]
path_prefix = /shadow/
policy = r_shadow

[route optional]
path_prefix = /optional/
policy = r_optional

[route ka]
path_prefix = /ka/
policy = r_ka

[route warn]
path_prefix = /warn/
policy = r_warn

[route denywins]
path_prefix = /denywins/
policy = r_denywins

[route both]
sni = b.example
path_prefix = /both/
policy = r_both

[route sni]
sni = a.example
policy = r_sni

[route host]
host = api.example
policy = r_host

[route fe-other]
frontend = another-frontend
path_prefix = /fe/
policy = r_sni

[route fe]
frontend = mtls-api
path_prefix = /fe/
policy = r_fe

[route admin]
path_prefix = /admin/, /ops/
policy = r_admin
INI
        for k in $(seq $((b * E2E_BATCH)) $(((b + 1) * E2E_BATCH - 1))); do
            [ "$k" -lt "${#E2E_CASES[@]}" ] || break
            i=${E2E_CASES[$k]}
            printf '\n[policy c_%s]\n' "${C_NAME[$i]}"
            cfg_lines "${C_CFG[$i]}"
            printf '[route c_%s]\npath_prefix = /c/%s/\npolicy = c_%s\n' "${C_NAME[$i]}" "${C_NAME[$i]}" "${C_NAME[$i]}"
        done
    } >"$E2E_INI.tmp" && mv -f "$E2E_INI.tmp" "$E2E_INI"
}
write_e2e_ini 0

# test_cfg EXAMPLE-CFG OUT - a copy of an example's haproxy.cfg with the
# test-only lines of policy/app-echo-test-headers.cfg inserted into its
# frontend app-echo (what the application received, as response headers)
# and policy/mtls-api-test-headers.cfg into the frontend that sends to
# backend app (mtls-api; behind-proxy's gateway): the decision variables as
# response headers.
test_cfg() {
    awk -v fe="$POLICY_DIR/mtls-api-test-headers.cfg" -v app="$POLICY_DIR/app-echo-test-headers.cfg" '
        !a && /^frontend app-echo/ { in_app = 1 }
        in_app && !a && /^    http-request return status 200/ { while ((getline l < app) > 0) print l; a = 1 }
        !f && $0 == "    default_backend app" && !in_app { while ((getline l < fe) > 0) print l; f = 1 }
        { print }' "$1" >"$2"
}
HAP_CFG=$WORK/mtls-api-test.cfg
test_cfg "$EXAMPLE/haproxy.cfg" "$HAP_CFG"

mtls_env() {
    HAP_ENV=(CERTSPOA_HTTPS_BIND="127.0.0.1:$HTTPS_PORT" CERTSPOA_APP_BIND="127.0.0.1:$APP_PORT"
        CERTSPOA_STATS_SOCKET="ipv4@127.0.0.1:$STATS_PORT" CERTSPOA_AGENT_ADDR="$AGENT_ADDR"
        CERTSPOA_SERVER_PEM="$CORPUS/server.pem" CERTSPOA_CLIENT_CA="$CORPUS/ca.pem"
        CERTSPOA_SPOE_CONF="$SPOE_CONF")
}

E2E_UP=0
if want e2e || want routes || want keepalive || want trace; then
    check "test config inserts the test headers into the example" file_has "$HAP_CFG" "X-Test-Rule"
    check "... and into its app-echo" file_has "$HAP_CFG" "X-Test-App-Trace-Count"
    if ! check_out=$("$CERTSPOA_BIN" -c -f "$E2E_INI" 2>&1); then
        fail "certspoa -c accepts the end-to-end config (every case as a policy + route)" "$check_out"
    elif ! start_agent e2e-agent "$E2E_INI" "$WORK/e2e.ready"; then
        fail "end-to-end agent starts" "$WHY"
    elif ! start_hap haproxy-e2e "HTTPS_PORT APP_PORT STATS_PORT" mtls_env "$HAP_CFG"; then
        fail "HAProxy with the mtls-api example starts" "$WHY"
    else
        E2E_AGENT_PID=$AGENT_PID
        check "HAProxy's health check sees the end-to-end agent" wait_until 5 agent_is UP
        E2E_UP=1
        BASE=https://localhost:$HTTPS_PORT
    fi
fi

# ---------------------------------------------------------------- (b) e2e corpus

if want e2e && [ "$E2E_UP" = 1 ]; then
    note "(b) corpus cases through HAProxy + certspoa + curl (route /c/NAME/), ${#E2E_CASES[@]} in $E2E_BATCHES batches [$((SECONDS - START)) s]"
    # generations N - how many configurations the agent has loaded so far
    generations() { grep -c 'configuration generation [0-9]* loaded' "$WORK/e2e-agent.log"; }
    for b in $(seq 0 $((E2E_BATCHES - 1))); do
        if [ "$b" -gt 0 ]; then
            gen0=$(generations)
            write_e2e_ini "$b"
            reloaded() { [ "$(generations)" -gt "$gen0" ]; }
            check "batch $b: the agent reloads the new config by itself (reload_watch)" wait_until 5 reloaded
        fi
        for k in $(seq $((b * E2E_BATCH)) $(((b + 1) * E2E_BATCH - 1))); do
            [ "$k" -lt "${#E2E_CASES[@]}" ] || break
            i=${E2E_CASES[$k]}
            n=${C_NAME[$i]}
            get_cert "c-$n" "$BASE/c/$n/x" "${C_CERT[$i]}"
            if [ "${C_CODE[$i]}" = ok ] && [ "${C_RULE[$i]}" = shadow ]; then
                # shadow mode does not vouch: no Client-Cert for the app
                check "e2e $n: 200 shadow, the app gets no Client-Cert" allowed shadow -
                check "e2e $n: shadow mode reports would_deny" ne "$(hdr X-Test-Would-Deny)" ""
            elif [ "${C_CODE[$i]}" = ok ]; then
                check "e2e $n: 200 ${C_RULE[$i]}" allowed "${C_RULE[$i]}" "${C_CERT[$i]}"
            else
                check "e2e $n: 403 ${C_CODE[$i]}/${C_RULE[$i]}" denied 403 "${C_CODE[$i]}" "${C_RULE[$i]}"
            fi
            check "e2e $n: decided by route c_$n" routed "c_$n" "c_$n"
        done
    done
fi

# ---------------------------------------------------------------- (c) routes

if want routes && [ "$E2E_UP" = 1 ]; then
    note "(c) routes, shadow mode, optional certificate, SNI vs Host [$((SECONDS - START)) s]"

    get_cert r-default "$BASE/x" good.crt
    check "no route matches: [policy default] (good allowed)" allowed allow_cn good.crt
    check "... route 'default', policy 'default'" routed default default
    get_cert r-default-deny "$BASE/x" id.crt
    check "default policy: id client not on its list -> 403 cert_untrusted/identity" \
        denied 403 cert_untrusted identity

    get_cert r-sni "https://a.example:$HTTPS_PORT/x" id.crt
    check "SNI a.example -> route sni: id client allowed" allowed allow_cn id.crt
    check "... route sni, policy r_sni" routed sni r_sni
    get_cert r-sni-deny "https://a.example:$HTTPS_PORT/x" good.crt
    check "SNI a.example: good client (allowed by default) -> 403 identity" \
        denied 403 cert_untrusted identity

    get_cert r-host "https://api.example:$HTTPS_PORT/x" other.crt --http1.1 -H "Host: api.example"
    check "Host api.example (HTTP/1.1) -> route host: other client allowed" allowed allow_cn other.crt
    check "... route host, policy r_host" routed host r_host
    get_cert r-host-port "https://api.example:$HTTPS_PORT/x" other.crt --http1.1 -H "Host: api.example:$HTTPS_PORT"
    check "Host api.example:PORT: the port is ignored -> route host" routed host r_host
    get_cert r-host-h2 "https://api.example:$HTTPS_PORT/x" other.crt --http2
    check "HTTP/2 :authority api.example -> route host" routed host r_host
    get_cert r-host-dot "https://api.example:$HTTPS_PORT/x" other.crt --http1.1 -H "Host: api.example."
    check "Host api.example. (trailing dot) -> route host" routed host r_host
    get_cert r-host-case "https://api.example:$HTTPS_PORT/x" other.crt --http1.1 -H "Host: API.Example:$HTTPS_PORT"
    check "Host API.Example:PORT (case) -> route host" routed host r_host
    # Routes use SNI and Host: when both are given they must name the same
    # host, checked BEFORE a route is chosen (domain fronting). This used to
    # pick a route by one name while the application served the other.
    get_cert r-first "https://a.example:$HTTPS_PORT/x" id.crt --http1.1 -H "Host: api.example"
    check "SNI a.example + Host api.example -> 403 sni_host_mismatch before routing" \
        denied 403 sni_host_mismatch sni_host
    check "... route (none), no policy" routed "(none)" ""
    get_cert r-front "$BASE/x" other.crt --http1.1 -H "Host: api.example"
    check "SNI localhost + Host api.example (was: route host) -> 403 sni_host_mismatch" \
        denied 403 sni_host_mismatch sni_host
    get_cert r-nohost "https://api.example:$HTTPS_PORT/x" other.crt --http1.1 -H "Host:"
    check "no Host header (routes use host) -> 403 bad_request/host_ambiguous" \
        denied 403 bad_request host_ambiguous
    get_cert r-hostlist "https://api.example:$HTTPS_PORT/x" other.crt --http1.1 -H "Host: api.example, a.example"
    # HAProxy 2.6 passes "Host: a, b" on (req.hdr_cnt 2); 3.0+ answers 400 itself
    if [ "$STATUS" = 400 ] && [ -z "$(hdr X-Certspoa-Code)" ]; then
        check "Host 'api.example, a.example': HAProxy itself refused it (400)" hasnt "$BODY" "backend saw"
    else
        check "Host 'api.example, a.example' -> 403 bad_request/host_ambiguous" \
            denied 403 bad_request host_ambiguous
    fi

    # path_prefix routes see the normalized path (docs/POLICY.md "Routes")
    # and the application gets the same path (set-path from txn.certspoa.path)
    n=0
    for p in /ADMIN/users //admin/users /./admin/users /x/../admin/users /%61dmin/users /%2e%2e/admin/users; do
        n=$((n + 1))
        get_cert "r-norm$n" "$BASE$p?q=1" id.crt --path-as-is
        check "path $p -> route admin (allow_spiffe)" allowed allow_spiffe id.crt
        check "... route admin, policy r_admin" routed admin r_admin
        if [ "$p" = /ADMIN/users ]; then
            want="/ADMIN/users?q=1"     # case is compared without, not changed
        else
            want="/admin/users?q=1"
        fi
        check "... the application got $want" eq "$(hdr X-Test-App-Url)" "$want"
    done
    for p in /%2Fadmin/users /%2fadmin/users '/;/admin/users' '/admin;x=1/users' '/a%5Cb' '/admin%00'; do
        n=$((n + 1))
        get_cert "r-ambig$n" "$BASE$p" id.crt --path-as-is
        check "path $p -> 403 bad_request/path_ambiguous" denied 403 bad_request path_ambiguous
    done
    get_cert r-backslash "$BASE/admin\\users" id.crt --path-as-is
    check "path with a backslash -> 403 bad_request/path_ambiguous" denied 403 bad_request path_ambiguous
    get_cert r-plainpath "$BASE/admin/users?q=1" id.crt
    check "a normal path reaches the application unchanged" eq "$(hdr X-Test-App-Url)" "/admin/users?q=1"

    get_cert r-admin "$BASE/admin/users" id.crt
    check "path /admin/users -> route admin (allow_spiffe)" allowed allow_spiffe id.crt
    check "... route admin, policy r_admin" routed admin r_admin
    get_cert r-ops "$BASE/ops/x" id.crt
    check "path /ops/x: second prefix of the same route" routed admin r_admin
    get_cert r-adminx "$BASE/administrator" id.crt
    check "path /administrator is not under /admin/ -> default" routed default default

    get_cert r-both "https://b.example:$HTTPS_PORT/both/x" other.crt
    check "SNI b.example + /both/ -> route both (all conditions met)" routed both r_both
    check "... other client allowed by r_both's allow_dns" allowed allow_dns other.crt
    get_cert r-both-nosni "$BASE/both/x" other.crt
    check "/both/ without SNI b.example -> not route both (default)" routed default default
    get_cert r-both-nopath "https://b.example:$HTTPS_PORT/x" other.crt
    check "SNI b.example without /both/ -> default" routed default default

    get_cert r-fe "$BASE/fe/x" id.crt
    check "frontend mtls-api + /fe/: route fe, not fe-other (frontend differs)" routed fe r_fe
    check "... id client allowed by allow_email" allowed allow_email id.crt

    # deny wins over allow (also corpus cases deny-wins*, part e2e)
    get_cert r-denywins "$BASE/denywins/x" id.crt
    check "deny wins: thumbprint allowed, SPIFFE ID denied -> 403 deny_spiffe" \
        denied 403 cert_untrusted deny_spiffe
    get_cert r-denywins-other "$BASE/denywins/x" other.crt
    check "deny wins: neither list matches -> 403 allow_thumbprints" \
        denied 403 cert_untrusted allow_thumbprints

    # shadow mode: everything passes, the would-be denial is reported
    get_cert r-shadow "$BASE/shadow/x" other.crt
    # (shadow mode does not vouch: the app gets no Client-Cert, no identity)
    check "shadow: not allowed -> 200 all the same, rule shadow, no Client-Cert" allowed shadow -
    check "shadow: not allowed -> the app gets no X-Client-Identity" eq "$(hdr X-Test-App-Identity)" ""
    check "shadow: would_deny cert_untrusted" eq "$(hdr X-Test-Would-Deny)" cert_untrusted
    check "shadow: would_rule identity" eq "$(hdr X-Test-Would-Rule)" identity
    get_cert r-shadow-expired "$BASE/shadow/x" expired.crt
    check "shadow: expired -> 200, would_deny cert_unverified" \
        eq "$STATUS $(hdr X-Test-Would-Deny) $(hdr X-Test-Would-Rule)" "200 cert_unverified cert_expired"
    get r-shadow-none "$BASE/shadow/x"
    check "shadow: no certificate -> 200, would_deny cert_missing" \
        eq "$STATUS $(hdr X-Test-Would-Deny)" "200 cert_missing"
    get_cert r-shadow-ok "$BASE/shadow/x" id.crt
    check "shadow: allowed certificate -> 200 allow_cn, no would_deny" \
        eq "$STATUS $(hdr X-Test-Rule) [$(hdr X-Test-Would-Deny)]" "200 allow_cn []"

    # optional certificate
    get r-optional "$BASE/optional/x"
    check "optional: no certificate -> 200 anonymous, the app gets no Client-Cert" allowed anonymous -
    check "optional: anonymous has no identity" eq "$(hdr X-Test-Identity)" ""
    get_cert r-optional-cert "$BASE/optional/x" good.crt
    check "optional: a valid certificate -> 200 verified with Client-Cert" allowed verified good.crt
    get_cert r-optional-bad "$BASE/optional/x" expired.crt
    check "optional: an expired certificate is still checked -> 403 cert_expired" \
        denied 403 cert_unverified cert_expired

    # SNI vs Host under sni_host_match = yes
    get_cert r-strict-ok "https://a.example:$HTTPS_PORT/strict/x" good.crt --http1.1
    check "strict: SNI a.example, Host a.example -> 200" allowed verified good.crt
    get_cert r-strict-front "https://a.example:$HTTPS_PORT/strict/x" good.crt --http1.1 -H "Host: b.example"
    check "strict: SNI a.example, Host b.example -> 403 sni_host_mismatch/sni_host" \
        denied 403 sni_host_mismatch sni_host
    get_cert r-strict-nosni "https://127.0.0.1:$HTTPS_PORT/strict/x" good.crt --http1.1 -H "Host: a.example"
    check "strict: no SNI (IP address URL), Host a.example -> 403 sni_host_mismatch" \
        denied 403 sni_host_mismatch sni_host
    get_cert r-loose-front "https://localhost:$HTTPS_PORT/x" good.crt --http1.1 -H "Host: b.example"
    check "not strict, but routes use SNI/Host: SNI localhost, Host b.example -> 403 sni_host_mismatch" \
        denied 403 sni_host_mismatch sni_host

    # identity and expiry variables
    get_cert r-identity "$BASE/admin/x" id.crt -H "X-Client-Identity: forged"
    check "identity: the SPIFFE ID first" eq "$(hdr X-Test-Identity)" spiffe://corpus.test/ns/prod/sa/api
    check "identity: the application gets it in X-Client-Identity (the forged one dropped)" \
        eq "$(hdr X-Test-App-Identity)" spiffe://corpus.test/ns/prod/sa/api
    get r-identity-anon "$BASE/optional/x" -H "X-Client-Identity: forged" -H "X-Client-Cert-Days-Left: 99"
    check "anonymous: the application gets neither X-Client-Identity nor X-Client-Cert-Days-Left" \
        eq "$STATUS [$(hdr X-Test-App-Identity)] [$(hdr X-Test-App-Days-Left)]" "200 [] []"
    get_cert r-identity-san "$BASE/optional/x" good.crt
    check "identity: with no allow list (verified), descriptive: else the first SAN" \
        eq "$(hdr X-Test-Identity)" good.corpus.test
    get_cert r-identity-cn "$BASE/x" good.crt
    check "identity: what the deciding rule matched (allow_cn: the CN, not a SAN)" \
        eq "$(hdr X-Test-Identity)" "good client"
    get_cert r-warn "$BASE/warn/x" good.crt
    check "warn_days = 30: a 2-day certificate is expiring, days_left 1" \
        eq "$STATUS $(hdr X-Test-Days-Left) $(hdr X-Test-Expiring)" "200 1 1"
    check "warn_days = 30: the application gets X-Client-Cert-Days-Left: 1" eq "$(hdr X-Test-App-Days-Left)" 1
    get_cert r-nowarn "$BASE/x" good.crt
    check "no warn_days: days_left 1, not expiring" \
        eq "$STATUS $(hdr X-Test-Days-Left) [$(hdr X-Test-Expiring)]" "200 1 []"
    check "not expiring: no X-Client-Cert-Days-Left for the application" eq "[$(hdr X-Test-App-Days-Left)]" "[]"
fi

# ---------------------------------------------------------------- (d) keep-alive

if want keepalive && [ "$E2E_UP" = 1 ]; then
    note "(d) revocation reaching an open keep-alive connection [$((SECONDS - START)) s]"
    # One curl, sixteen requests on one connection, four a second. After the
    # second answer the certificate is revoked and the CRL file replaced;
    # reload_watch (200ms) makes the agent load it.
    urls=()
    for i in $(seq 1 16); do urls+=(-o /dev/null "$BASE/ka/$i"); done
    : >"$WORK/ka.out"
    $CURL -s --max-time 30 --cacert ca.pem --cert ka.crt --key ka.key \
        --resolve "localhost:$HTTPS_PORT:127.0.0.1" --rate 4/s \
        -w '%{http_code} %{num_connects} %{local_port} %header{x-certspoa-code} %header{x-certspoa-rule}\n' \
        "${urls[@]}" >"$WORK/ka.out" 2>"$WORK/ka.err" &
    ka_pid=$!
    # (curl's -w output reaches the file only at exit: count HAProxy's log lines)
    two_answers() { [ "$(grep -c "mtls-api~ .*\"GET $BASE/ka/" "$WORK/haproxy-e2e.log")" -ge 2 ]; }
    if wait_until 10 two_answers; then
        openssl ca -batch -config ca/root/ca.cnf -revoke ka.crt >"$WORK/ka-revoke.log" 2>&1 &&
            openssl ca -batch -gencrl -config ca/root/ca.cnf -out "$KA_CRL.new" >>"$WORK/ka-revoke.log" 2>&1 &&
            mv -f "$KA_CRL.new" "$KA_CRL"
        check "ka.crt revoked and the CRL file replaced (openssl ca)" eq "$?" 0
    else
        fail "keep-alive: the first two answers came" "$(cat "$WORK/ka.err")"
    fi
    wait "$ka_pid"
    ka_rc=$?
    check "keep-alive curl finished (exit 0)" eq "$ka_rc" 0
    ka=$(cat "$WORK/ka.out")
    ka_n=$(printf '%s\n' "$ka" | grep -c .)
    ka_200=$(printf '%s\n' "$ka" | grep -c '^200 ')
    ka_403=$(printf '%s\n' "$ka" | grep -c '^403 0 [0-9]* cert_revoked cert_revoked$')
    ka_conns=$(printf '%s\n' "$ka" | awk '{ n += $2 } END { print n + 0 }')
    ka_ports=$(printf '%s\n' "$ka" | awk '{ print $3 }' | sort -u | grep -c .)
    note "keep-alive answers: $(printf '%s' "$ka" | awk '{ printf "%s ", $1 }')"
    check "keep-alive: 16 answers" eq "$ka_n" 16
    check "keep-alive: one TCP connection for all 16 (num_connects sums to 1, one local port)" \
        eq "$ka_conns/$ka_ports" 1/1
    check "keep-alive: allowed before the revocation (at least 2 x 200)" test "$ka_200" -ge 2
    check "keep-alive: once revoked, denied on the SAME connection (at least 6 x 403 cert_revoked)" \
        test "$ka_403" -ge 6
    check "keep-alive: never allowed again after the first denial" \
        eq "$(printf '%s\n' "$ka" | awk '{ print $1 }' | uniq | tr '\n' ' ')" "200 403 "
    check "agent logged a reload" file_has "$WORK/e2e-agent.log" "reload"
fi

# ---------------------------------------------------------------- (e) trace

if want trace && [ "$E2E_UP" = 1 ]; then
    note "(e) X-Certspoa-Trace [$((SECONDS - START)) s]"
    get_cert t-allow "$BASE/x" good.crt -H "X-Certspoa-Trace: $TRACE_SECRET"
    tr_allow=$(hdr X-Certspoa-Trace)
    check "trace secret, allowed: 200 with X-Certspoa-Trace" eq "$STATUS" 200
    check "... the application did not get the trace header (the secret)" eq "$(hdr X-Test-App-Trace-Count)" 0
    check "... the trace lists the checks in order" \
        matches "$tr_allow" 'policy=default.*verify\(agent\)=pass.*allow_cn=match\(good client\).*verdict=allow'
    get_cert t-deny "$BASE/x" other.crt -H "X-Certspoa-Trace: $TRACE_SECRET"
    tr_deny=$(hdr X-Certspoa-Trace)
    check "trace secret, denied: 403 with X-Certspoa-Trace too" eq "$STATUS" 403
    check "... the trace shows the failed check" matches "$tr_deny" 'allow_cn=no.*verdict=deny'
    get_cert t-expired "$BASE/x" expired.crt -H "X-Certspoa-Trace: $TRACE_SECRET"
    check "trace of an expired certificate shows the agent's verification failure" \
        matches "$(hdr X-Certspoa-Trace)" 'verify\(agent\)=fail'
    get_cert t-wrong "$BASE/x" good.crt -H "X-Certspoa-Trace: not-the-secret-0123456789"
    check "wrong secret: no X-Certspoa-Trace" eq "$STATUS [$(hdr X-Certspoa-Trace)]" "200 []"
    get_cert t-prefix "$BASE/x" good.crt -H "X-Certspoa-Trace: ${TRACE_SECRET%?}"
    check "secret minus its last character: no X-Certspoa-Trace" eq "[$(hdr X-Certspoa-Trace)]" "[]"
    get_cert t-longer "$BASE/x" good.crt -H "X-Certspoa-Trace: ${TRACE_SECRET}x"
    check "secret plus a character: no X-Certspoa-Trace" eq "[$(hdr X-Certspoa-Trace)]" "[]"
    get_cert t-none "$BASE/x" good.crt
    check "no trace header: no X-Certspoa-Trace" eq "[$(hdr X-Certspoa-Trace)]" "[]"
    get_cert t-deny-wrong "$BASE/x" other.crt -H "X-Certspoa-Trace: not-the-secret-0123456789"
    check "wrong secret on a denial: no X-Certspoa-Trace" eq "$STATUS [$(hdr X-Certspoa-Trace)]" "403 []"
fi

if [ "$E2E_UP" = 1 ]; then
    stop_haproxy_pid=$HAP_PID
    stop_pid "$stop_haproxy_pid"
    stop_agent "$E2E_AGENT_PID"
    check "end-to-end agent exits 0 on SIGTERM" eq "$AGENT_RC" 0
fi

# ---------------------------------------------------------------- (f) output

if want output; then
    note "(f) explain and inspect output [$((SECONDS - START)) s]"
    CLIENTS="good id other wild chained deep expired future revoked serverauth unknown rsa1024 rsa2048 ec384 sha1 longlived"
    # openssl's view of a certificate, for comparison
    iso_date() { date -u -d "$1" +%Y-%m-%dT%H:%M:%SZ; }
    for c in $CLIENTS; do
        out=$("$CERTSPOA_BIN" inspect "$c.crt" 2>&1)
        rc=$?
        printf '%s\n' "$out" >"$WORK/inspect-$c.out"
        want_subj=$(openssl x509 -in "$c.crt" -noout -subject -nameopt RFC2253 | sed 's/^subject=//')
        want_iss=$(openssl x509 -in "$c.crt" -noout -issuer -nameopt RFC2253 | sed 's/^issuer=//')
        want_na=$(iso_date "$(openssl x509 -in "$c.crt" -noout -enddate | sed 's/^notAfter=//')")
        want_nb=$(iso_date "$(openssl x509 -in "$c.crt" -noout -startdate | sed 's/^notBefore=//')")
        got="$rc|$(kv sha256 "$out")|$(kv sha1 "$out")|$(kv spki_pin "$out")|$(kv serial "$out" | tr 'a-f' 'A-F')"
        check "inspect $c: sha256, sha1, spki_pin and serial equal openssl's" \
            eq "$got" "0|$(cat "$c.sha256")|$(cat "$c.sha1")|$(cat "$c.pin")|$(cat "$c.serial")"
        check "inspect $c: subject, issuer, not_before, not_after" \
            eq "$(kv subject "$out")|$(kv issuer "$out")|$(kv not_before "$out")|$(kv not_after "$out")" \
            "$want_subj|$want_iss|$want_nb|$want_na"
    done
    out=$(cat "$WORK/inspect-id.out")
    check "inspect id: six san: lines, in order" \
        eq "$(printf '%s\n' "$out" | sed -n 's/^san:[[:space:]]*//p' | tr '\n' ' ')" \
        "DNS:api.corpus.test URI:spiffe://corpus.test/ns/prod/sa/api URI:https://corpus.test/clients/api email:api@corpus.test IP:10.1.2.3 IP:fd00::5 "
    check "inspect id: spiffe_id, cn, policies, eku, is_ca" \
        eq "$(kv spiffe_id "$out")|$(kv cn "$out")|$(kv policies "$out")|$(kv eku "$out")|$(kv is_ca "$out")" \
        "spiffe://corpus.test/ns/prod/sa/api|id client|1.3.6.1.4.1.55555.1.1|clientAuth|no"
    check "inspect id: days_left 1" eq "$(kv days_left "$out")" 1
    check "inspect id: key EC P-256" matches "$(kv key "$out")" '(EC|ec).*(prime256v1|P-256)'
    check "inspect ec384: key EC P-384" matches "$(kv key "$(cat "$WORK/inspect-ec384.out")")" '(EC|ec).*(secp384r1|P-384)'
    check "inspect rsa1024: key RSA 1024" matches "$(kv key "$(cat "$WORK/inspect-rsa1024.out")")" 'RSA.*1024'
    check "inspect sha1: signature SHA-1" matches "$(kv signature "$(cat "$WORK/inspect-sha1.out")")" '[Ss][Hh][Aa]-?1'
    check "inspect serverauth: eku serverAuth" eq "$(kv eku "$(cat "$WORK/inspect-serverauth.out")")" serverAuth
    out=$(cat "$WORK/inspect-good.out")
    check "inspect good: policies (none), no spiffe_id, one san: line" \
        eq "[$(kv policies "$out")][$(kv spiffe_id "$out")][$(printf '%s\n' "$out" | grep -c '^san:')]" "[(none)][][1]"
    out=$(cat "$WORK/inspect-chained.out")
    check "inspect chained: no san: lines" eq "$(printf '%s\n' "$out" | grep -c '^san:')" 0
    check "inspect expired: days_left negative" matches "$(kv days_left "$(cat "$WORK/inspect-expired.out")")" '^-[0-9]+$'
    out=$("$CERTSPOA_BIN" inspect ca.pem 2>&1)
    check "inspect ca.pem: is_ca yes" eq "$(kv is_ca "$out")" yes
    out=$("$CERTSPOA_BIN" inspect id.der 2>&1)
    check "inspect id.der (DER): same sha256" eq "$(kv sha256 "$out")" "$(cat id.sha256)"
    out=$(CERTSPOA_P12_PASSWORD=$(cat p12.pass) "$CERTSPOA_BIN" inspect id.p12 2>&1 </dev/null)
    check "inspect id.p12 (PKCS#12, CERTSPOA_P12_PASSWORD): same sha256 and spki_pin" \
        eq "$(kv sha256 "$out") $(kv spki_pin "$out")" "$(cat id.sha256) $(cat id.pin)"
    out=$(CERTSPOA_P12_PASSWORD=wrong-password timeout 10 "$CERTSPOA_BIN" inspect id.p12 2>&1 </dev/null)
    rc=$?
    check "inspect id.p12 with a wrong password: fails, no hang (exit $rc)" test "$rc" -ne 0 -a "$rc" -ne 124
    out=$("$CERTSPOA_BIN" inspect good.crt id.crt 2>&1)
    check "inspect two files: both certificates" \
        eq "$(printf '%s\n' "$out" | sed -n 's/^sha256:[[:space:]]*//p' | tr '\n' ' ')" "$(cat good.sha256) $(cat id.sha256) "
    out=$("$CERTSPOA_BIN" inspect deep-full.crt 2>&1)
    check "inspect deep-full.crt: leaf and its three intermediates" \
        eq "$(printf '%s\n' "$out" | grep -c '^sha256:')" 4
    timeout 10 "$CERTSPOA_BIN" inspect "$WORK/no-such-file.pem" >/dev/null 2>&1
    rc=$?
    check "inspect of a missing file fails (exit $rc)" test "$rc" -ne 0 -a "$rc" -ne 124
    printf 'not a certificate\n' >"$WORK/garbage.pem"
    timeout 10 "$CERTSPOA_BIN" inspect "$WORK/garbage.pem" >/dev/null 2>&1
    rc=$?
    check "inspect of a file with no certificate fails (exit $rc)" test "$rc" -ne 0 -a "$rc" -ne 124

    # explain: the shape of the output on every case of the corpus
    if [ -d "$WORK/explain" ]; then
        bad=""
        for i in $(seq 0 $((NCASES - 1))); do
            n=${C_NAME[$i]}
            o=$(cat "$WORK/explain/$n.out" 2>/dev/null)
            keys=$(printf '%s\n' "$o" | sed -n 's/^\([a-z_]*\):.*/\1/p' | tr '\n' ' ')
            case $keys in
                "checks route policy verdict status code reason rule "*) ;;
                *) bad="$bad $n($keys)" ;;
            esac
            [ "$(printf '%s\n' "$o" | head -n 1)" = "checks:" ] || bad="$bad $n(first line)"
            if [ "${C_CERT[$i]}" != - ]; then
                [ "$(kv sha256 "$o")" = "$(cat "$(leaf "${C_CERT[$i]}").sha256")" ] || bad="$bad $n(sha256)"
                [ -n "$(kv subject "$o")" ] || bad="$bad $n(subject)"
            fi
            v=allow; s=200
            [ "${C_CODE[$i]}" = ok ] || { v=deny; s=403; }
            [ "$(kv verdict "$o")/$(kv status "$o")" = "$v/$s" ] || bad="$bad $n(verdict/status)"
        done
        check "explain output on all $NCASES cases: checks:, then route policy verdict status code reason rule; sha256 = openssl's" \
            eq "${bad:-none}" none
        o=$(cat "$WORK/explain/allow_cn.out")
        check "explain allow_cn: the checks, indented, end with verdict=allow" \
            eq "$(printf '%s\n' "$o" | sed -n '/^checks:/,/^[a-z]/p' | grep '^  ' | tail -n 1)" "  verdict=allow"
        check "explain allow_cn: the matching check is listed" matches "$o" $'\n  allow_cn=match\\(id client\\)\n'
        check "explain allow_cn: identity = the CN allow_cn matched" eq "$(kv identity "$o")" "id client"
        check "explain allow_cn: route default, policy default" eq "$(kv route "$o")/$(kv policy "$o")" default/default
        o=$(cat "$WORK/explain/verified.out")
        check "explain verified (good): identity = first SAN, days_left 1" \
            eq "$(kv identity "$o")|$(kv days_left "$o")" "good.corpus.test|1"
        o=$(cat "$WORK/explain/chain-sent.out")
        check "explain chain-sent (no SAN): identity = CN" eq "$(kv identity "$o")" "chained client"
        o=$(cat "$WORK/explain/cert_expired.out")
        check "explain cert_expired: detail has OpenSSL's text and number" \
            eq "$(kv detail "$o")" "certificate has expired (10)"
        o=$(cat "$WORK/explain/shadow.out")
        check "explain shadow: would_deny and would_rule" \
            eq "$(kv would_deny "$o")/$(kv would_rule "$o")" cert_untrusted/identity
        o=$(cat "$WORK/explain/require_cert-deny.out")
        check "explain without --cert: no subject/sha256 lines" \
            eq "[$(kv subject "$o")][$(kv sha256 "$o")]" "[][]"

        # warn_days, deny_status, routes: small configs of their own
        printf '[policy default]\nverify = agent\nca_file = ca.pem\nwarn_days = 7\n' >"$WORK/ex-warn.ini"
        o=$("$CERTSPOA_BIN" explain -f "$WORK/ex-warn.ini" --cert good.crt 2>&1)
        check "explain warn_days = 7: days_left 1 (expiring)" eq "$(kv days_left "$o")" "1 (expiring)"
        o=$("$CERTSPOA_BIN" explain -f "$WORK/ex-warn.ini" --cert longlived.crt 2>&1)
        check "explain warn_days = 7, 3650-day certificate: not expiring" matches "$(kv days_left "$o")" '^36[0-9][0-9]$'
        printf '[policy default]\nverify = agent\nca_file = ca.pem\nallow_cn = id client\ndeny_status = 401\n' \
            >"$WORK/ex-status.ini"
        o=$("$CERTSPOA_BIN" explain -f "$WORK/ex-status.ini" --cert good.crt 2>&1)
        check "explain deny_status = 401: status 401" eq "$(kv status "$o")/$(kv code "$o")" 401/cert_untrusted
        cp "$E2E_INI" "$WORK/ex-routes.ini"
        ex_route() { "$CERTSPOA_BIN" explain -f "$WORK/ex-routes.ini" --cert id.crt "$@" 2>&1; }
        # routes use host: every request needs a Host (the SNI's name)
        o=$(ex_route --sni a.example --host a.example --path /x)
        check "explain --sni a.example: route sni, policy r_sni" eq "$(kv route "$o")/$(kv policy "$o")" sni/r_sni
        o=$(ex_route --sni api.example --host api.example:8443 --path /x)
        check "explain --host api.example:8443: route host" eq "$(kv route "$o")/$(kv policy "$o")" host/r_host
        o=$(ex_route --sni localhost --host localhost --path /ops/a)
        check "explain --path /ops/a: route admin" eq "$(kv route "$o")/$(kv policy "$o")" admin/r_admin
        o=$(ex_route --sni localhost --host localhost --path /fe/a --frontend mtls-api)
        check "explain --frontend mtls-api --path /fe/a: route fe" eq "$(kv route "$o")/$(kv policy "$o")" fe/r_fe
        o=$(ex_route --sni localhost --host localhost --path /fe/a --frontend another-frontend)
        check "explain --frontend another-frontend --path /fe/a: route fe-other" \
            eq "$(kv route "$o")/$(kv policy "$o")" fe-other/r_sni
        o=$(ex_route --sni localhost --host localhost --path /denywins/x)
        check "explain --path /denywins/x: route denywins, deny_spiffe" \
            eq "$(kv route "$o")/$(kv policy "$o")/$(kv rule "$o")" denywins/r_denywins/deny_spiffe
        o=$(ex_route --sni localhost --host localhost --path /x)
        check "explain, no route matches: route default, policy default" \
            eq "$(kv route "$o")/$(kv policy "$o")" default/default
        # the sidesteps of issue 10 #3, offline: the same normalization
        for p in /ADMIN/a //admin/a /./admin/a /x/../admin/a /%61dmin/a; do
            o=$(ex_route --sni localhost --host localhost --path "$p")
            check "explain --path $p: route admin" eq "$(kv route "$o")/$(kv policy "$o")" admin/r_admin
        done
        o=$(ex_route --sni localhost --host localhost --path //%61dmin/./a)
        check "explain prints the normalized path" eq "$(kv path "$o")" "/admin/a (normalized)"
        check "... and the trace says so" has "$o" "path=normalized(/admin/a)"
        for p in /%2Fadmin/a '/;/admin/a' '/a\b'; do
            o=$(ex_route --sni localhost --host localhost --path "$p")
            check "explain --path $p: bad_request/path_ambiguous" \
                eq "$(kv code "$o")/$(kv rule "$o")/$(kv route "$o")" "bad_request/path_ambiguous/(none)"
        done
        o=$(ex_route --sni localhost --host "api.example, localhost" --path /x)
        check "explain --host 'api.example, localhost': bad_request/host_ambiguous" \
            eq "$(kv code "$o")/$(kv rule "$o")" bad_request/host_ambiguous
        o=$(ex_route --sni localhost --path /x)
        check "explain without --host (routes use host): bad_request/host_ambiguous" \
            eq "$(kv code "$o")/$(kv rule "$o")" bad_request/host_ambiguous
        o=$(ex_route --sni api.example. --host API.example.:443 --path /x)
        check "explain --sni api.example. --host API.example.:443: route host" \
            eq "$(kv route "$o")/$(kv policy "$o")" host/r_host
        o=$(ex_route --sni localhost --host api.example --path /x)
        check "explain SNI localhost + Host api.example: sni_host_mismatch before routing" \
            eq "$(kv code "$o")/$(kv rule "$o")/$(kv route "$o")" "sni_host_mismatch/sni_host/(none)"

        printf '[policy default]\nverify = sometimes\n' >"$WORK/ex-bad.ini"
        "$CERTSPOA_BIN" explain -f "$WORK/ex-bad.ini" --cert good.crt >/dev/null 2>&1
        check "explain with a bad config: exit 78 (EX_CONFIG)" eq "$?" 78
        "$CERTSPOA_BIN" explain -f "$WORK/ex-warn.ini" --cert "$WORK/no-such-file.pem" >/dev/null 2>&1
        rc=$?
        check "explain with a missing --cert file: neither allow nor deny (exit $rc)" test "$rc" -gt 1
    fi
fi

# ---------------------------------------------------------------- (g) behind a proxy

if want behind; then
    note "(g) haproxy-examples/behind-proxy: certificate forwarded in a header [$((SECONDS - START)) s]"
    B_INI=$WORK/behind.ini
    {
        cat "$BEHIND/allowed.txt"
        echo "$(cat good.sha256)   # good client"
        echo "$(cat chained.sha256)   # chained client"
        echo "$(cat deep.sha256)   # deep client"
    } >"$WORK/behind-allowed.txt"
    sed -e "s|^listen = .*|listen = 127.0.0.1:0|" \
        -e "s|^; ready_file = .*|ready_file = $WORK/behind.ready|" \
        -e "s|^ca_file = .*|ca_file = $CORPUS/ca.pem|" \
        -e "s|^allow_thumbprints = .*|allow_thumbprints = @$WORK/behind-allowed.txt|" \
        -e "s|^; trace_secret = .*|trace_secret = $TRACE_SECRET|" \
        "$BEHIND/certspoa.ini" >"$B_INI"
    # Two more policies, by path: HAProxy's verification cannot vouch for a
    # forwarded certificate; "both" then means the agent's alone.
    cat >>"$B_INI" <<INI

[route haproxy-verify]
path_prefix = /haproxy-verify/
policy = haproxy_verify

[route both-verify]
path_prefix = /both-verify/
policy = both_verify

[policy haproxy_verify]
verify = haproxy

[policy both_verify]
verify = both
ca_file = $CORPUS/ca.pem
allow_thumbprints = @$WORK/behind-allowed.txt
INI
    subst_ok() {
        grep -q "^ready_file = $WORK/behind.ready\$" "$B_INI" && grep -q "^ca_file = $CORPUS/ca.pem\$" "$B_INI" &&
            grep -q "^allow_thumbprints = @$WORK/behind-allowed.txt\$" "$B_INI" &&
            grep -q '^trusted_proxies = 127.0.0.1/32$' "$B_INI" && grep -q '^verify = agent$' "$B_INI" &&
            grep -q "^trace_secret = $TRACE_SECRET\$" "$B_INI"
    }
    check "behind-proxy certspoa.ini has the keys the test substitutes" subst_ok
    check "certspoa -c accepts the behind-proxy certspoa.ini" config_ok "$B_INI"

    behind_env() {
        HAP_ENV=(BEHIND_EDGE_BIND="127.0.0.1:$EDGE_PORT" BEHIND_GATEWAY_BIND="127.0.0.1:$GW_PORT"
            BEHIND_APP_BIND="127.0.0.1:$BAPP_PORT" BEHIND_RAW_BIND="127.0.0.1:$RAW_PORT"
            BEHIND_STATS_SOCKET="ipv4@127.0.0.1:$STATS_PORT" BEHIND_AGENT_ADDR="${AGENT_ADDR:-127.0.0.1:1}"
            BEHIND_SERVER_PEM="$CORPUS/server.pem" BEHIND_CLIENT_CA="$CORPUS/ca.pem"
            BEHIND_SPOE_CONF="$FWD_SPOE_CONF")
    }
    EDGE_PORT=1 GW_PORT=2 BAPP_PORT=3 RAW_PORT=4 STATS_PORT=5 AGENT_ADDR=127.0.0.1:6
    behind_env
    hc=$(env "${HAP_ENV[@]}" "${HAPROXY_CMD[@]}" -c -f "$BEHIND/haproxy.cfg" 2>&1)
    check "haproxy -c accepts haproxy-examples/behind-proxy/haproxy.cfg" eq "$?" 0
    check "haproxy -c: no warnings or alerts" eq "$(printf '%s\n' "$hc" | grep -cE 'WARNING|ALERT')" 0
    if printf '%s\n' "$hc" | grep -qE 'WARNING|ALERT'; then note "$hc"; fi

    B_CFG=$WORK/behind-proxy-test.cfg
    test_cfg "$BEHIND/haproxy.cfg" "$B_CFG"
    if ! start_agent behind-agent "$B_INI" "$WORK/behind.ready"; then
        fail "behind-proxy agent starts" "$WHY"
    elif ! start_hap haproxy-behind "EDGE_PORT GW_PORT BAPP_PORT RAW_PORT STATS_PORT" behind_env \
        "$B_CFG" "$POLICY_DIR/behind-proxy-raw.cfg"; then
        fail "behind-proxy HAProxy starts" "$WHY"
    else
        B_AGENT_PID=$AGENT_PID
        check "behind-proxy: health check sees the agent" wait_until 5 agent_is UP
        EDGE=https://localhost:$EDGE_PORT
        GW=http://127.0.0.1:$GW_PORT
        RAW=http://127.0.0.1:$RAW_PORT

        # gateway_allowed CERT - 200; the app got exactly one Client-Cert,
        # CERT's leaf, and no Client-Cert-Chain.
        gateway_allowed() {
            local got
            [ "$STATUS" = 200 ] || { WHY="got $(describe), want 200"; return 1; }
            got="$(backend_saw client-cert-count)/$(backend_saw client-cert-chain-count)"
            [ "$got" = 1/0 ] || { WHY="backend saw Client-Cert/-Chain counts $got, want 1/0"; return 1; }
            got=$(backend_saw client-cert)
            [ "$got" = "$(client_cert_of "$1")" ] || { WHY="backend saw Client-Cert '$got'"; return 1; }
        }
        # gateway_denied STATUS CODE RULE - like denied
        gateway_denied() { denied "$@"; }
        # gateway_passed VALUE - 200, allowed by the thumbprint list (so the
        # listed certificate was decoded), and the app got exactly VALUE:
        # the gateway passes on the header value certspoa verified, as it
        # came, in the configured format.
        gateway_passed() {
            local got
            [ "$STATUS" = 200 ] || { WHY="got $(describe), want 200"; return 1; }
            got=$(hdr X-Test-Rule)
            [ "$got" = allow_thumbprints ] || { WHY="rule '$got', want allow_thumbprints"; return 1; }
            got="$(backend_saw client-cert-count)/$(backend_saw client-cert-chain-count)"
            [ "$got" = 1/0 ] || { WHY="backend saw Client-Cert/-Chain counts $got, want 1/0"; return 1; }
            got=$(backend_saw client-cert)
            [ "$got" = "$1" ] || { WHY="backend saw Client-Cert '$got', want '$1'"; return 1; }
        }

        get_cert b-good "$EDGE/api" good.crt
        check "edge, listed certificate -> 200, the app got its Client-Cert" gateway_allowed good.crt
        get_cert b-good-forged "$EDGE/api" good.crt -H "Client-Cert: $(client_cert_of id.crt)" \
            -H "Client-Cert-Chain: :Zm9v:"
        check "edge, listed certificate + forged headers from the client -> the real one only" \
            gateway_allowed good.crt
        get_cert b-trace "$EDGE/api" good.crt -H "X-Certspoa-Trace: $TRACE_SECRET"
        check "edge, with the trace secret: the trace shows the forwarded certificate's checks" \
            matches "$(hdr X-Certspoa-Trace)" 'forwarded=pass.*verify\(agent\)=pass.*allow_thumbprints=match.*verdict=allow'
        check "... and the application did not get the trace header" eq "$(hdr X-Test-App-Trace-Count)" 0
        get b-trace-untrusted "$GW/api" --interface 127.0.0.2 -H "Client-Cert: $(client_cert_of good.crt)" \
            -H "X-Certspoa-Trace: $TRACE_SECRET"
        check "direct from 127.0.0.2, with the trace secret: the trace says forwarded=fail" \
            matches "$(hdr X-Certspoa-Trace)" 'forwarded=fail.*verdict=deny'
        get_cert b-other "$EDGE/api" other.crt
        check "edge, unlisted certificate -> 403 cert_untrusted/allow_thumbprints" \
            gateway_denied 403 cert_untrusted allow_thumbprints
        get b-none "$EDGE/api"
        check "edge, no certificate -> 403 cert_missing" gateway_denied 403 cert_missing require_cert
        get_cert b-expired "$EDGE/api" expired.crt
        check "edge, expired (listed or not) -> 403 cert_unverified/cert_expired" \
            gateway_denied 403 cert_unverified cert_expired
        get_cert b-unknown "$EDGE/api" unknown.crt
        check "edge, unknown CA -> 403 cert_unverified/cert_unknown_ca" \
            gateway_denied 403 cert_unverified cert_unknown_ca
        get_cert b-chain-leaf "$EDGE/api" chained.crt
        check "edge, a leaf without its intermediate -> 403 cert_unknown_ca" \
            gateway_denied 403 cert_unverified cert_unknown_ca
        get_cert b-chain "$EDGE/api" chained-full.crt
        check "edge, leaf + intermediate (Client-Cert-Chain) -> verified with the chain, 200" \
            gateway_allowed chained.crt
        # like a resumed TLS session: the intermediate learned from the
        # chain that verified completes the leaf
        get_cert b-chain-leaf2 "$EDGE/api" chained.crt
        check "edge, the same leaf alone once its chain verified -> 200 (learned intermediate)" \
            gateway_allowed chained.crt
        get_cert b-deep "$EDGE/api" deep-full.crt
        check "edge, three intermediates in one Client-Cert-Chain item -> 200" gateway_allowed deep.crt

        # straight to the gateway, not through the edge
        get b-untrusted "$GW/api" --interface 127.0.0.2 -H "Client-Cert: $(client_cert_of good.crt)"
        check "direct from 127.0.0.2 with a (valid, listed) Client-Cert -> 403 forwarded_untrusted" \
            gateway_denied 403 forwarded_untrusted forwarded
        get b-untrusted-chain "$GW/api" --interface 127.0.0.2 -H "Client-Cert-Chain: $(client_cert_of good.crt)"
        check "direct from 127.0.0.2 with only a Client-Cert-Chain -> 403 forwarded_untrusted" \
            gateway_denied 403 forwarded_untrusted forwarded
        get b-untrusted-none "$GW/api" --interface 127.0.0.2
        check "direct from 127.0.0.2 without certificate headers -> 403 cert_missing" \
            gateway_denied 403 cert_missing require_cert
        get b-trusted-direct "$GW/api" -H "Client-Cert: $(client_cert_of good.crt)"
        check "direct from 127.0.0.1 (a trusted proxy's address) is believed: 200" gateway_allowed good.crt

        # a misbehaving trusted proxy (edge-raw)
        raw_denied() {   # raw_denied TAG VALUE [CHAIN] -> sets the response
            local tag=$1 v=$2 a=(-H "X-Raw-Cert: $2")
            [ $# -ge 3 ] && a+=(-H "X-Raw-Chain: $3")
            get "$tag" "$RAW/api" "${a[@]}"
        }
        good_b64=$(base64 -w0 <good.der)
        raw_denied b-raw-garbage "this is not a certificate"
        check "trusted proxy sends garbage -> 403 forwarded_invalid" gateway_denied 403 forwarded_invalid forwarded
        raw_denied b-raw-nocolon "$good_b64"
        check "trusted proxy sends base64 without the RFC 9440 colons -> 403 forwarded_invalid" \
            gateway_denied 403 forwarded_invalid forwarded
        raw_denied b-raw-badb64 ":${good_b64:0:40}*${good_b64:41}:"
        check "trusted proxy sends bad base64 -> 403 forwarded_invalid" gateway_denied 403 forwarded_invalid forwarded
        raw_denied b-raw-param ":$good_b64:;a=b"
        check "trusted proxy sends a parameter after the value -> 403 forwarded_invalid" \
            gateway_denied 403 forwarded_invalid forwarded
        raw_denied b-raw-empty "::"
        check "trusted proxy sends '::' -> 403 forwarded_invalid" gateway_denied 403 forwarded_invalid forwarded
        raw_denied b-raw-notder ":$(printf 'not DER at all, but valid base64' | base64 -w0):"
        check "trusted proxy sends base64 of something that is not DER -> denied, not forwarded" \
            matches "$STATUS $(hdr X-Certspoa-Code)" '^403 (forwarded_invalid|cert_unverified)$'
        raw_denied b-raw-badchain ":$good_b64:" "garbage"
        check "trusted proxy sends a malformed Client-Cert-Chain -> 403 forwarded_invalid" \
            gateway_denied 403 forwarded_invalid forwarded
        raw_denied b-raw-ok ":$good_b64:"
        check "trusted proxy sends a well-formed Client-Cert -> 200" gateway_allowed good.crt
        # RFC 9440 proper: one list item per chain certificate
        item() { printf ':%s:' "$(openssl x509 -in "$1" -outform DER | base64 -w0)"; }
        raw_denied b-raw-chain1 "$(item chained.crt)" "$(item ca/inter/ca.pem)"
        check "Client-Cert-Chain with one item (the intermediate) -> verified, 200" gateway_allowed chained.crt
        raw_denied b-raw-chain3 "$(item deep.crt)" "$(item ca/deep3/ca.pem), $(item ca/deep2/ca.pem),$(item ca/deep1/ca.pem)"
        check "Client-Cert-Chain with three items (', ' and ',') -> verified, 200" gateway_allowed deep.crt
        raw_denied b-raw-chain-trailing "$(item deep.crt)" "$(item ca/deep3/ca.pem), "
        check "Client-Cert-Chain with a trailing comma -> 403 forwarded_invalid" \
            gateway_denied 403 forwarded_invalid forwarded
        many=$(item ca/deep3/ca.pem)
        for i in $(seq 2 17); do many="$many, $(item ca/deep3/ca.pem)"; done
        raw_denied b-raw-chain17 "$(item deep.crt)" "$many"
        check "Client-Cert-Chain with 17 certificates (${#many} bytes) -> 403 forwarded_invalid" \
            gateway_denied 403 forwarded_invalid forwarded
        # Size limits: HAProxy's buffer (tune.bufsize 16384, less
        # tune.maxrewrite) bounds a request's headers, so any header value
        # that reaches certspoa fits its SPOE frame and certspoa's 64 KB
        # header limit. 15 KB of base64 is decoded and refused as not DER
        # (a forwarded certificate that is not DER is a malformed header);
        # 30 KB never gets past HAProxy.
        big=":$(head -c 15000 /dev/zero | tr '\0' 'A'):"
        raw_denied b-raw-oversized "$big"
        check "15 KB Client-Cert (${#big} bytes, 11 KB of zero bytes) -> 403 forwarded_invalid/forwarded" \
            gateway_denied 403 forwarded_invalid forwarded
        big=":$(head -c 30000 /dev/zero | tr '\0' 'A'):"
        raw_denied b-raw-huge "$big"
        # 2.6 and 3.0 answer 400, 3.2 431 (Request Header Fields Too Large)
        check "Client-Cert larger than HAProxy's buffer (${#big} bytes) -> 400 or 431 from HAProxy" \
            matches "$STATUS" '^(400|431)$'
        check "... the app saw nothing" hasnt "$BODY" "backend saw"

        get_cert b-haproxy-verify "$EDGE/haproxy-verify/x" good.crt
        check "forwarded certificate under verify = haproxy -> 403 cert_unverified/verify_forwarded" \
            gateway_denied 403 cert_unverified verify_forwarded
        get_cert b-both-verify "$EDGE/both-verify/x" good.crt
        check "forwarded certificate under verify = both: the agent's verification alone -> 200" \
            gateway_allowed good.crt
        get_cert b-both-verify-bad "$EDGE/both-verify/x" expired.crt
        check "... and an expired one under verify = both -> 403 cert_expired" \
            gateway_denied 403 cert_unverified cert_expired

        # The other header formats, each after a reload with that format.
        urlenc() {   # urlenc STRING - percent-encode all but RFC 3986 unreserved
            local s=$1 out="" c i LC_ALL=C
            for ((i = 0; i < ${#s}; i++)); do
                c=${s:i:1}
                case $c in
                    [A-Za-z0-9._~-]) out+=$c ;;
                    *) printf -v c '%%%02X' "'$c"; out+=$c ;;
                esac
            done
            printf '%s' "$out"
        }
        pem_of() { openssl x509 -in "$1"; }
        b_generations() { grep -c 'configuration generation [0-9]* loaded' "$WORK/behind-agent.log"; }
        # reformat FORMAT - the behind agent, reloaded (SIGHUP) with that format
        reformat() {
            local g0
            g0=$(b_generations)
            sed -i "s|^format = .*|format = $1|" "$B_INI"
            kill -HUP "$B_AGENT_PID"
            # shellcheck disable=SC2317 # called through wait_until
            b_reloaded() { [ "$(b_generations)" -gt "$g0" ]; }
            wait_until 5 b_reloaded
        }
        good_pem=$(pem_of good.crt)$'\n'
        other_pem=$(pem_of other.crt)$'\n'
        good_sha256=$(cat good.sha256)

        check "format = xfcc: agent reloaded (SIGHUP)" reformat xfcc
        v="By=spiffe://edge.test;Hash=$good_sha256;Cert=\"$(urlenc "$good_pem")\""
        raw_denied b-xfcc "$v"
        check "xfcc: By, Hash and Cert -> 200, passed on as it came" gateway_passed "$v"
        v="Cert=\"$(urlenc "$good_pem")\""
        raw_denied b-xfcc-nohash "$v"
        check "xfcc: Cert alone -> 200" gateway_passed "$v"
        raw_denied b-xfcc-nochain "Cert=\"$(urlenc "$(pem_of chained.crt)"$'\n')\""
        check "xfcc: a leaf without Chain -> 403 cert_unknown_ca" \
            gateway_denied 403 cert_unverified cert_unknown_ca
        v="Cert=\"$(urlenc "$(pem_of chained.crt)"$'\n')\";Chain=\"$(urlenc "$(pem_of chained.crt)"$'\n'"$(pem_of ca/inter/ca.pem)"$'\n')\""
        raw_denied b-xfcc-chain "$v"
        check "xfcc: Chain with the leaf and the intermediate (as Envoy sends it) -> verified, 200" \
            gateway_passed "$v"
        raw_denied b-xfcc-hash "Hash=$(cat other.sha256);Cert=\"$(urlenc "$good_pem")\""
        check "xfcc: Hash of another certificate -> 403 forwarded_invalid" \
            gateway_denied 403 forwarded_invalid forwarded
        v="By=a;Cert=\"$(urlenc "$other_pem")\",By=b;Cert=\"$(urlenc "$good_pem")\""
        raw_denied b-xfcc-last "$v"
        check "xfcc: two elements, the last (nearest proxy's) is used: good -> 200" gateway_passed "$v"
        raw_denied b-xfcc-last2 "By=a;Cert=\"$(urlenc "$good_pem")\",By=b;Cert=\"$(urlenc "$other_pem")\""
        check "xfcc: two elements, last = other (not listed) -> 403 allow_thumbprints" \
            gateway_denied 403 cert_untrusted allow_thumbprints
        raw_denied b-xfcc-quote "By=a;Cert=\"$(urlenc "$good_pem")"
        check "xfcc: unterminated quote -> 403 forwarded_invalid" gateway_denied 403 forwarded_invalid forwarded
        raw_denied b-xfcc-rfc ":$good_b64:"
        check "xfcc expected, RFC 9440 value sent -> 403 forwarded_invalid" \
            gateway_denied 403 forwarded_invalid forwarded
        get_cert b-xfcc-edge "$EDGE/api" good.crt
        check "xfcc expected, the RFC 9440 edge -> 403 forwarded_invalid (a format mismatch fails closed)" \
            gateway_denied 403 forwarded_invalid forwarded

        check "format = pem-urlencoded: agent reloaded" reformat pem-urlencoded
        v=$(urlenc "$good_pem")
        raw_denied b-pem "$v"
        check "pem-urlencoded: the certificate -> 200" gateway_passed "$v"
        v=$(urlenc "$good_pem" | sed 's/%2B/+/g')
        raw_denied b-pem-plus "$v"
        check "pem-urlencoded: '+' left unescaped (AWS ALB) -> 200" gateway_passed "$v"
        raw_denied b-pem-two "$(urlenc "$good_pem$other_pem")"
        check "pem-urlencoded: two certificates -> 403 forwarded_invalid" \
            gateway_denied 403 forwarded_invalid forwarded
        raw_denied b-pem-escape "$(urlenc "$good_pem" | sed 's/%0A/%ZZ/')"
        check "pem-urlencoded: a bad %XX escape -> 403 forwarded_invalid" \
            gateway_denied 403 forwarded_invalid forwarded
        raw_denied b-pem-chain "$(urlenc "$good_pem")" "garbage"
        check "pem-urlencoded: a Client-Cert-Chain header means nothing in this format: ignored, 200" \
            gateway_passed "$(urlenc "$good_pem")"

        check "format = base64-der: agent reloaded" reformat base64-der
        raw_denied b-b64 "$good_b64"
        check "base64-der: the certificate -> 200" gateway_passed "$good_b64"
        raw_denied b-b64-nopad "${good_b64%%=*}"
        check "base64-der: without '=' padding -> 200" gateway_passed "${good_b64%%=*}"
        raw_denied b-b64-colons ":$good_b64:"
        check "base64-der: RFC 9440 colons -> 403 forwarded_invalid" \
            gateway_denied 403 forwarded_invalid forwarded

        check "format = rfc9440 again: agent reloaded" reformat rfc9440
        get_cert b-rfc-again "$EDGE/api" good.crt
        check "rfc9440 again: the edge -> 200" gateway_allowed good.crt

        check "gateway log carries verdict/code/rule" file_has "$WORK/haproxy-behind.log" \
            "certspoa=deny/forwarded_untrusted/forwarded"
        stop_agent "$B_AGENT_PID"
        check "behind-proxy agent exits 0 on SIGTERM" eq "$AGENT_RC" 0
        # fail closed: with no agent, no verdict, so nothing passes the
        # gateway (tests/mutation: hap-behind-503-fail-open)
        gateway_unavailable() {
            [ "$STATUS" = 503 ] || { WHY="got $(describe), want 503 agent_unavailable"; return 1; }
            [ "$(hdr X-Certspoa-Code)" = agent_unavailable ] || { WHY="got $(describe)"; return 1; }
            hasnt "$BODY" "backend saw" || { WHY="the request reached the backend"; return 1; }
        }
        get_cert b-noagent "$EDGE/api" good.crt
        check "agent stopped: edge, listed certificate -> 503 agent_unavailable" gateway_unavailable
        get b-noagent-direct "$GW/api" -H "Client-Cert: $(client_cert_of good.crt)"
        check "agent stopped: trusted proxy's Client-Cert -> 503, never reaches the app" gateway_unavailable
        stop_pid "$HAP_PID"
    fi
fi

# ---------------------------------------------------------------- the end

check "agent logs, explain and inspect output: no sanitizer or runtime error reports" \
    file_hasnt_any 'AddressSanitizer|LeakSanitizer|UndefinedBehaviorSanitizer|runtime error:' \
    "$WORK"/e2e-agent.log "$WORK"/behind-agent.log "$WORK"/explain/*.out "$WORK"/inspect-*.out /dev/null
note "policy suite took $((SECONDS - START)) s"
cd "$TOP" || true
finish policy
