# shellcheck shell=bash
# shellcheck disable=SC2034 # sets variables (FAKE_PORT, RESP_PID, OUT) the t-ocsp*.sh scripts read
# ocsp-lib.sh - the OCSP tests' PKI and responders (tests/revocation/t-ocsp*.sh).
# Source it after tests/integration/lib.sh, inside a workdir.
#
# ocsp_pki DIR CA_PORT NAME:PROFILE:STATE... - with the openssl CLI, short-lived:
#   ca.pem ca.key              root CA (the agent's ca_file)
#   resp.crt .key              delegated responder: id-kp-OCSPSigning, issued by ca
#   wrong.crt .key             issued by ca, clientAuth only: no responder
#   NAME.crt .key .der         a client per argument; PROFILE client (AIA names
#                              http://127.0.0.1:CA_PORT/) or noaia; STATE V
#                              (good), R (revoked, keyCompromise) or - (not in
#                              the index: unknown)
#   server.pem                 CN=localhost for HAProxy (start_haproxy with PKI=DIR)
#   index.txt                  the responders' index
# ocsp_responder NAME PORT SIGNER - openssl ocsp on PORT signing with SIGNER
#   (ca, resp or wrong), answers valid 1 day; sets RESP_PID.
# ocsp_fake NAME MODE [FILE] - tests/revocation/ocsp_fake.py; sets FAKE_PORT.

OCSP_DIR=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)

ocsp_pki() {
    local d=$1 port=$2
    shift 2
    mkdir -p "$d" && (
        cd "$d" || exit 1
        cat >ext.cnf <<CNF
[ca]
basicConstraints = critical, CA:TRUE
keyUsage = critical, keyCertSign, cRLSign
subjectKeyIdentifier = hash
[client]
basicConstraints = CA:FALSE
keyUsage = critical, digitalSignature
extendedKeyUsage = clientAuth
authorityInfoAccess = OCSP;URI:http://127.0.0.1:$port/
[noaia]
basicConstraints = CA:FALSE
keyUsage = critical, digitalSignature
extendedKeyUsage = clientAuth
[responder]
basicConstraints = CA:FALSE
keyUsage = critical, digitalSignature
extendedKeyUsage = OCSPSigning
[wrong]
basicConstraints = CA:FALSE
keyUsage = critical, digitalSignature
extendedKeyUsage = clientAuth
[server]
basicConstraints = CA:FALSE
keyUsage = critical, digitalSignature
extendedKeyUsage = serverAuth
subjectAltName = DNS:localhost, IP:127.0.0.1
CNF
        key() { openssl genpkey -algorithm EC -pkeyopt ec_paramgen_curve:P-256 -out "$1.key" 2>/dev/null; }
        cert() {  # cert NAME PROFILE
            key "$1"
            openssl req -new -key "$1.key" -subj "/CN=$1" -out "$1.csr" 2>/dev/null || return 1
            openssl x509 -req -in "$1.csr" -CA ca.pem -CAkey ca.key -set_serial "0x$(openssl rand -hex 8)" \
                -days 2 -extfile ext.cnf -extensions "$2" -out "$1.crt" 2>/dev/null || return 1
            openssl x509 -in "$1.crt" -outform DER -out "$1.der"
        }
        key ca
        openssl req -x509 -new -key ca.key -subj "/CN=certspoa OCSP test CA" -days 3 \
            -extensions ca -config <(printf '[req]\ndistinguished_name=dn\n[dn]\n'; cat ext.cnf) \
            -out ca.pem 2>/dev/null || exit 1
        cert resp responder && cert wrong wrong && cert server server || exit 1
        cat server.crt server.key >server.pem
        : >index.txt
        for a in "$@"; do
            IFS=: read -r name profile state <<<"$a"
            cert "$name" "$profile" || exit 1
            [ "$state" = - ] && continue
            serial=$(openssl x509 -in "$name.crt" -noout -serial | cut -d= -f2)
            rev=""
            [ "$state" = R ] && rev="$(date -u -d '-1 hour' +%y%m%d%H%M%SZ),keyCompromise"
            printf '%s\t%s\t%s\t%s\tunknown\t/CN=%s\n' "$state" \
                "$(date -u -d '+2 days' +%y%m%d%H%M%SZ)" "$rev" "$serial" "$name" >>index.txt
        done
    )
}

ocsp_responder() {
    local name=$1 port=$2 signer=$3 d=$WORK/ocsp crt
    crt=$d/$signer.crt
    [ "$signer" = ca ] && crt=$d/ca.pem
    openssl ocsp -index "$d/index.txt" -port "$port" -CA "$d/ca.pem" -rsigner "$crt" \
        -rkey "$d/$signer.key" -ndays 1 -ignore_err >"$WORK/$name.log" 2>&1 &
    RESP_PID=$!
    CHILD_PIDS+=("$RESP_PID")
    # not port_open: openssl ocsp serves one connection at a time, and an
    # empty probe connection wedges it
    wait_until 20 ocsp_listening "$WORK/$name.log"
}

# (grep says 2 for a log not made yet; wait_until takes 2 as "never")
ocsp_listening() { grep -q "waiting for OCSP client connections" "$1" 2>/dev/null && return 0; return 1; }

ocsp_fake() {
    local name=$1 mode=$2 args=()
    [ -n "${3:-}" ] && args=("$3")
    rm -f "$WORK/$name.port"
    python3 "$OCSP_DIR/ocsp_fake.py" "$WORK/$name.port" "$mode" "${args[@]}" >>"$WORK/$name.log" 2>&1 &
    CHILD_PIDS+=("$!")
    wait_until 5 test -s "$WORK/$name.port" || return 1
    FAKE_PORT=$(cat "$WORK/$name.port")
}

# ocsp_decide FRONTEND:CERT... - one NOTIFY each through ocsp_client.py to
# the agent at $AGENT_ADDR; sets OUT (one line per ACK).
ocsp_decide() {
    local args=() a
    for a in "$@"; do args+=("${a%%:*}:$WORK/ocsp/${a#*:}.der"); done
    OUT=$(timeout 30 python3 "$OCSP_DIR/ocsp_client.py" "${AGENT_ADDR%:*}" "${AGENT_ADDR##*:}" \
        decide "${args[@]}" 2>&1)
}

# field NAME - NAME=value of the first line of OUT ("code", "ms", ...).
field() { printf '%s\n' "$OUT" | head -n 1 | sed -n "s/.* $1=\([^ ]*\).*/\1/p"; }
