#!/usr/bin/env bash
# lists.sh - list syntax and key/signature limits, offline: certificates
# made here with the openssl command line, decided by "certspoa explain"
# and "certspoa -c". No HAProxy, no ports.
#
#   tests/integration/lists.sh            (also run by: make policy)
#   CERTSPOA_BIN=/path/to/certspoa tests/integration/lists.sh
#
# Covers: inline DN lists (each DN quoted, unquoted commas refused), one
# comment syntax in values and list files, serials as DER content octets
# (a negative serial), SPKI pins over the canonical key encoding (a
# compressed EC point), forbid_signature names (RSA-SHA1, ecdsa-with-SHA1),
# allowed_curves / allowed_key_types on SM2 and Ed25519 keys.
# Ends with exactly one line "lists: N passed, N failed".
set -u
. "$(dirname "$0")/lib.sh"

workdir lists
note "agent: $CERTSPOA_BIN"
cd "$WORK" || exit 1

# ------------------------------------------------------------------ PKI

ossl() { openssl "$@" >>"$WORK/openssl.log" 2>&1; }

# leaf NAME SUBJECT KEYFILE [x509 -req options...] - NAME.crt signed by the CA.
leaf() {
    local name=$1 subj=$2 key=$3
    shift 3
    ossl req -new -key "$key" -subj "$subj" -out "$name.csr" &&
        ossl x509 -req -in "$name.csr" -CA ca.crt -CAkey ca.key -days 2 -out "$name.crt" "$@"
}

pin_of_key() { openssl pkey -in "$1" -pubout -outform der 2>/dev/null | openssl dgst -sha256 -binary | base64; }

setup_ok=1
{
    ossl ecparam -name prime256v1 -genkey -noout -out ca.key &&
        ossl req -x509 -new -key ca.key -subj "/O=Example/CN=Lists CA" -days 2 -out ca.crt &&
        ossl ecparam -name prime256v1 -genkey -noout -out p256.key &&
        leaf alice "/O=Example/CN=alice" p256.key &&
        leaf org "/O=Example" p256.key &&
        leaf mallory "/O=Example/CN=mallory" p256.key &&
        leaf svcprod "/O=Example/CN=svc#prod" p256.key &&
        leaf svc "/O=Example/CN=svc" p256.key &&
        leaf neg "/O=Example/CN=neg" p256.key -set_serial -1 &&
        leaf sha1 "/O=Example/CN=sha1" p256.key -sha1 &&
        ossl ec -in p256.key -conv_form compressed -out compressed.key &&
        ossl ec -in p256.key -conv_form uncompressed -out uncompressed.key &&
        leaf compressed "/O=Example/CN=compressed" compressed.key &&
        ossl genpkey -algorithm ed25519 -out ed25519.key &&
        leaf ed25519 "/O=Example/CN=ed25519" ed25519.key &&
        ossl genpkey -algorithm EC -pkeyopt ec_paramgen_curve:SM2 -out sm2.key &&
        leaf sm2 "/O=Example/CN=sm2" sm2.key
} || setup_ok=0
if [ $setup_ok = 0 ]; then
    fail "openssl: test certificates (see $WORK/openssl.log)"
    finish lists
    exit 1
fi

# ------------------------------------------------------------- helpers

N=0
# decide CERT "key = value | key = value" -> "code/rule" on stdout
decide() {
    local f=$WORK/c$((N += 1)).ini out
    printf '[policy default]\n%s\n' "${2// | /$'\n'}" >"$f"
    out=$("$CERTSPOA_BIN" explain -f "$f" --cert "$1.crt" --verify 0 2>&1)
    printf '%s/%s' "$(kv code "$out")" "$(kv rule "$out")"
}
kv() { printf '%s\n' "$2" | sed -n "s/^$1: *//p" | head -n 1; }

# expect CERT CONFIG CODE/RULE
expect() { eq "$(decide "$1" "$2")" "$3"; }

# rejected CONFIG NEEDLE - certspoa -c exits 78 with file:2: and NEEDLE
rejected() {
    local f=$WORK/c$((N += 1)).ini out rc
    printf '[policy default]\n%s\n' "${1// | /$'\n'}" >"$f"
    out=$("$CERTSPOA_BIN" -c -f "$f" 2>&1 >/dev/null)
    rc=$?
    [ "$rc" -eq 78 ] || { WHY="exit $rc, want 78 (stderr: $out)"; return 1; }
    has "$out" "$f:2: " && has "$out" "$2"
}

accepted() {
    local f=$WORK/c$((N += 1)).ini out
    printf '[policy default]\n%s\n' "${1// | /$'\n'}" >"$f"
    out=$("$CERTSPOA_BIN" -c -f "$f" 2>&1) && return 0
    WHY=$out
    return 1
}

# ------------------------------------------------------ 1. inline DN lists

note "inline DN lists"
L='allow_subjects = "CN=alice,O=Example", "CN=bob,O=Example"'
check "quoted DN list: /O=Example/CN=alice allowed" expect alice "$L" ok/allow_subjects
check "quoted DN list: /O=Example alone is not on it" expect org "$L" cert_untrusted/identity
check "deny_subjects = \"CN=mallory,O=Example\" denies that certificate" \
    expect mallory 'deny_subjects = "CN=mallory,O=Example"' cert_untrusted/deny_subjects
check "deny_subjects = CN=mallory (one RDN, unquoted) is accepted" accepted 'deny_subjects = CN=mallory'
check "-c: allow_subjects = CN=alice,O=Example is ambiguous" \
    rejected 'allow_subjects = CN=alice,O=Example' 'allow_subjects: ambiguous DN list: quote each DN'
check "-c: deny_subjects = CN=mallory,O=Example is ambiguous" \
    rejected 'deny_subjects = CN=mallory,O=Example' 'deny_subjects: ambiguous DN list'
check "-c: allow_issuers unquoted with a comma is ambiguous" \
    rejected 'allow_issuers = CN=Lists CA,O=Example' 'allow_issuers: ambiguous DN list'
check "-c: deny_issuers unquoted with a comma is ambiguous" \
    rejected 'deny_issuers = CN=Lists CA,O=Example' 'deny_issuers: ambiguous DN list'

# ---------------------------------------------------------- 2. comments

note "one comment syntax"
check "deny_cn = mallory   # revoked denies mallory" \
    expect mallory 'deny_cn = mallory   # revoked' cert_untrusted/deny_cn
check "-c: deny_cn = # revoked is an empty list" rejected 'deny_cn =   # revoked' 'deny_cn: empty list'
printf '# prod only\nCN=svc#prod,O=Example   # the prod service\n' >subjects.txt
check "@file: CN=svc#prod,O=Example is one entry: svc#prod allowed" \
    expect svcprod "allow_subjects = @$WORK/subjects.txt" ok/allow_subjects
check "@file: ... and CN=svc is not on it" \
    expect svc "allow_subjects = @$WORK/subjects.txt" cert_untrusted/identity

# ------------------------------------------------------------ 6. serials

note "serials"
check "deny_serials = FF denies the certificate with serial -1 (DER ff)" \
    expect neg 'deny_serials = FF' cert_untrusted/deny_serials
check "deny_serials = -1 denies it too" expect neg 'deny_serials = -1' cert_untrusted/deny_serials
check "allow_serials = -1 allows it" expect neg 'allow_serials = -1' ok/allow_serials

# ------------------------------------------------------------ 3. SPKI pins

note "SPKI pins"
PIN=$(pin_of_key uncompressed.key)
check "the certificate carries a compressed point (59-byte SPKI)" \
    eq "$(openssl x509 -in compressed.crt -pubkey -noout | openssl pkey -pubin -outform der | wc -c)" 59
check "deny_spki_pins (uncompressed pin) denies the compressed re-encoding" \
    expect compressed "deny_spki_pins = $PIN" cert_untrusted/deny_spki_pins
check "allow_spki_pins (uncompressed pin) allows it" \
    expect compressed "allow_spki_pins = $PIN" ok/allow_spki_pins
out=$("$CERTSPOA_BIN" inspect compressed.crt 2>&1)
check "inspect prints the canonical pin as spki_pin" eq "$(kv spki_pin "$out")" "$PIN"
check "inspect says the certificate's own encoding differs" has "$out" "spki_pin_as_encoded:"

# ----------------------------------------------------- 4. forbid_signature

note "forbid_signature"
for n in sha1 SHA1 RSA-SHA1 ecdsa-with-SHA1 sha1WithRSAEncryption dsaWithSHA1; do
    check "forbid_signature = $n denies a SHA-1 signed certificate" \
        expect sha1 "forbid_signature = $n" cert_untrusted/forbid_signature
done
check "forbid_signature = sha1 lets a SHA-256 signed certificate through" \
    expect alice 'forbid_signature = sha1' ok/verified
check "-c: forbid_signature = CN is refused" rejected 'forbid_signature = CN' "forbid_signature: 'CN' is not a digest"

# ---------------------------------------- 5. allowed_curves, allowed_key_types

note "key limits"
check "allowed_curves = P-256 denies an SM2 key" expect sm2 'allowed_curves = P-256' cert_untrusted/allowed_curves
check "allowed_curves = P-256 denies an Ed25519 key" expect ed25519 'allowed_curves = P-256' cert_untrusted/allowed_curves
check "allowed_curves = P-256 allows a P-256 key" expect alice 'allowed_curves = P-256' ok/verified
check "allowed_curves = P-256, ed25519 allows the Ed25519 key" \
    expect ed25519 'allowed_curves = P-256, ed25519' ok/verified
check "allowed_key_types = rsa, ec denies the SM2 key" \
    expect sm2 'allowed_key_types = rsa, ec' cert_untrusted/allowed_key_types
check "allowed_key_types = sm2 allows it" expect sm2 'allowed_key_types = sm2' ok/verified
check "-c: allowed_curves = CN is refused" rejected 'allowed_curves = CN' "allowed_curves: 'CN' is not a curve"
check "-c: allowed_key_types = elliptic is refused" rejected 'allowed_key_types = elliptic' 'allowed_key_types:'

finish lists
