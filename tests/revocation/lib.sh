# shellcheck shell=bash
# shellcheck disable=SC2034 # sets variables that the t-*.sh scripts read
# lib.sh - helpers of the revocation suite (tests/revocation/run.sh). A
# t-*.sh script sources it after tests/integration/lib.sh:
#
#   . "$TOP/tests/integration/lib.sh"; . "$TOP/tests/revocation/lib.sh"
#
# rev_pki DIR CRL_URL   a PKI whose client certificates carry CRL_URL as
#                       their CRL distribution point (see below)
# crlsrv_start PORT     the CRL server (crlsrv.py) on PORT serving $WWW
# crlsrv_stop
# rev_agent NAME INI    the agent on $AGENT_PORT (fixed for the script, so
#                       one HAProxy serves every agent the script starts)
# rev_ini OUT KEY=VALUE... an agent config (see rev_ini below)
# sources_json          /stats.json's crl_sources of the running agent
#
# Environment: the one of tests/integration/lib.sh, plus HAP_VERSION (the
# HAProxy version the script runs against, for its summary line).

REV_DIR=$TOP/tests/revocation

# rev_pki DIR URL - into DIR (absolute), with openssl ca:
#   ca.pem ca.key ca/            the root CA (no CDP of its own) and its database
#   server.pem                   localhost, for HAProxy
#   good.crt revoked.crt ka.crt  clients (+ .key), CDP = URL
#   evil-ca/                     another CA with the root's very name
#   crl/root.crl                 revokes revoked.crt (keyCompromise)
#   crl/root-expired.crl         revokes revoked.crt; nextUpdate yesterday
#   crl/root-badsig.crl          same name and content, signed by evil-ca
#   crl/root.der                 crl/root.crl in DER
rev_pki() {
    local d=$1 url=$2
    mkdir -p "$d/crl"
    (
        set -e
        cd "$d"
        cat >ext.cnf <<CNF
[ca_ext]
basicConstraints = critical, CA:TRUE
keyUsage = critical, keyCertSign, cRLSign
subjectKeyIdentifier = hash
authorityKeyIdentifier = keyid:always
[server_ext]
basicConstraints = critical, CA:FALSE
keyUsage = critical, digitalSignature
extendedKeyUsage = serverAuth
subjectAltName = DNS:localhost, IP:127.0.0.1
[client_ext]
basicConstraints = critical, CA:FALSE
keyUsage = critical, digitalSignature
extendedKeyUsage = clientAuth
crlDistributionPoints = URI:$url
subjectKeyIdentifier = hash
authorityKeyIdentifier = keyid
CNF
        for ca in ca evil-ca; do
            mkdir -p "$ca/certs"
            : >"$ca/index.txt"
            echo 1000 >"$ca/serial"
            echo 1000 >"$ca/crlnumber"
            cat >"$ca/ca.cnf" <<CNF
[ca]
default_ca = this_ca
[this_ca]
dir = $d/$ca
database = \$dir/index.txt
serial = \$dir/serial
crlnumber = \$dir/crlnumber
new_certs_dir = \$dir/certs
certificate = \$dir/ca.pem
private_key = \$dir/ca.key
default_md = sha256
default_days = 2
default_crl_days = 2
policy = anything
unique_subject = no
copy_extensions = none
[anything]
organizationName = optional
commonName = supplied
CNF
            openssl genpkey -algorithm EC -pkeyopt ec_paramgen_curve:P-256 -out "$ca/ca.key" 2>/dev/null
            openssl req -new -x509 -key "$ca/ca.key" -subj "/O=certspoa revocation/CN=revocation root" \
                -days 3 -extensions ca_ext -config <(printf '[req]\ndistinguished_name=dn\n[dn]\n'; cat ext.cnf) \
                -out "$ca/ca.pem" 2>/dev/null
        done
        cp ca/ca.pem ca.pem
        issue() {
            openssl genpkey -algorithm EC -pkeyopt ec_paramgen_curve:P-256 -out "$1.key" 2>/dev/null
            openssl req -new -key "$1.key" -subj "/O=certspoa revocation/CN=$2" -out "$1.csr" 2>/dev/null
            openssl ca -batch -notext -config ca/ca.cnf -extfile ext.cnf -extensions "$3" \
                -in "$1.csr" -out "$1.crt" 2>/dev/null
            rm -f "$1.csr"
        }
        issue server localhost server_ext
        cat server.crt server.key >server.pem
        issue good "good client" client_ext
        issue revoked "revoked client" client_ext
        issue ka "keepalive client" client_ext
        openssl ca -batch -config ca/ca.cnf -revoke revoked.crt -crl_reason keyCompromise 2>/dev/null
        openssl ca -batch -gencrl -config ca/ca.cnf -out crl/root.crl 2>/dev/null
        openssl crl -in crl/root.crl -outform DER -out crl/root.der
        openssl ca -batch -gencrl -config ca/ca.cnf -out crl/root-expired.crl \
            -crl_lastupdate "$(date -u -d '-3 days' +%Y%m%d%H%M%SZ)" \
            -crl_nextupdate "$(date -u -d '-1 day' +%Y%m%d%H%M%SZ)" 2>/dev/null
        cp ca/index.txt evil-ca/index.txt
        openssl ca -batch -gencrl -config evil-ca/ca.cnf -out crl/root-badsig.crl 2>/dev/null
    ) >"$d.log" 2>&1
}

# crlsrv_start PORT - serve $WWW on PORT; requests logged to $WORK/crlsrv.log.
crlsrv_start() {
    rm -f "$WORK/crlsrv.port"
    python3 "$REV_DIR/crlsrv.py" "$WWW" "$WORK/crlsrv.port" "$1" >>"$WORK/crlsrv.log" 2>&1 &
    CRLSRV_PID=$!
    CHILD_PIDS+=("$CRLSRV_PID")
    wait_until 10 test -s "$WORK/crlsrv.port"
}

crlsrv_stop() {
    [ -n "${CRLSRV_PID:-}" ] && stop_pid "$CRLSRV_PID"
    CRLSRV_PID=""
}

# rev_ini OUT [KEY = VALUE lines...] - an agent config: listen on
# $AGENT_PORT, a ready file, stats on $AGENT_STATS_PORT, one policy that
# verifies in the agent against $PKI/ca.pem; extra lines go to [agent]
# (KEY=...) or, prefixed "policy:", to the policy.
rev_ini() {
    local out=$1 l
    shift
    {
        echo "[agent]"
        echo "listen = 127.0.0.1:$AGENT_PORT"
        echo "ready_file = $WORK/agent.ready"
        echo "threads = 2"
        for l in "$@"; do case $l in policy:*) ;; *) echo "$l" ;; esac; done
        echo "[stats]"
        echo "listen = 127.0.0.1:$AGENT_STATS_PORT"
        echo "[policy default]"
        echo "require_cert = yes"
        echo "verify = agent"
        echo "ca_file = $PKI/ca.pem"
        # every request decided (the keep-alive checks count on it); a
        # revocation reaching reused verdicts is t-reuse.sh's (adversarial)
        echo "reuse_max_age = 0"
        for l in "$@"; do case $l in policy:*) echo "${l#policy:}" ;; esac; done
    } >"$out"
}

# rev_agent NAME INI [WRAPPER...] - (re)start the agent; sets AGENT_PID.
rev_agent() {
    local name=$1 ini=$2
    shift 2
    [ -n "${AGENT_PID:-}" ] && kill -0 "$AGENT_PID" 2>/dev/null && stop_agent "$AGENT_PID"
    AGENT_FLAGS=${AGENT_FLAGS--d} start_agent_with "$name" "$ini" "$WORK/agent.ready" "${REV_WAIT:-10}" "$@"
}

# sources_json - the crl_sources array of /stats.json.
sources_json() {
    $CURL -s --max-time 5 "http://127.0.0.1:$AGENT_STATS_PORT/stats.json" |
        python3 -c 'import json,sys; print(json.dumps(json.load(sys.stdin)["crl_sources"]))'
}

# source_field URL FIELD - one field of one source in /stats.json.
source_field() {
    $CURL -s --max-time 5 "http://127.0.0.1:$AGENT_STATS_PORT/stats.json" |
        python3 -c 'import json,sys
for s in json.load(sys.stdin)["crl_sources"]:
    if s["url"] == sys.argv[1]:
        v = s[sys.argv[2]]
        print(str(v).lower() if isinstance(v, bool) else v)' "$1" "$2"
}

# source_has URL FIELD VALUE - for wait_until.
source_has() { [ "$(source_field "$1" "$2")" = "$3" ]; }
# source_err_has URL TEXT - its last_error contains TEXT.
source_err_has() { case $(source_field "$1" last_error) in *"$2"*) return 0 ;; esac; return 1; }

# code_of NAME - the status and X-Certspoa-Code of a request with client NAME.
# ("200" when allowed, "403 cert_unverified" when denied)
code_of() {
    local c
    req_cert "$1-$(date +%s%N)" "$1"
    c=$(hdr X-Certspoa-Code)
    printf '%s%s' "$STATUS" "${c:+ $c}"
}

# code_is NAME "STATUS CODE" - for wait_until.
code_is() { [ "$(code_of "$1")" = "$2" ]; }
