#!/usr/bin/env bash
# inspect.sh - 'certspoa inspect' on PEM, DER and PKCS#12 files that the
# openssl command line makes here, at test time, in a fresh work directory.
# What inspect prints is checked against what 'openssl x509' says about the
# same file: thumbprints, SPKI pin, serial, names, validity, SANs; and the
# exit codes: 65 for what is not a readable certificate, 66 for a missing
# file, 64 for usage.
#
#   tests/integration/inspect.sh            (CERTSPOA_BIN=./certspoa-san ...)
#
# Needs bash, openssl, GNU coreutils. Ends with exactly one line
# "inspect: N passed, N failed"; exits 1 if anything failed.
set -u
. "$(dirname "$0")/lib.sh"

workdir inspect
note "agent:   $CERTSPOA_BIN"
note "openssl: $(openssl version)"
cd "$WORK" || exit 1

OUT=""      # stdout of the last inspect
ERR=""      # its stderr
RC=0        # its exit status

# inspect FILE... - run 'certspoa inspect' and keep OUT, ERR, RC.
inspect() {
    OUT=$("$CERTSPOA_BIN" inspect "$@" 2>"$WORK/stderr")
    RC=$?
    ERR=$(cat "$WORK/stderr")
}

# val KEY [N] - the value of the Nth (default 1st) "KEY:" line of OUT.
val() {
    printf '%s\n' "$OUT" | awk -v k="$1:" -v n="${2:-1}" \
        '$1 == k { if (++i == n) { sub(/^[^:]*:[ ]+/, ""); print; exit } }'
}

# vals KEY - every "KEY:" value of OUT, one per line.
vals() {
    printf '%s\n' "$OUT" | awk -v k="$1:" '$1 == k { sub(/^[^:]*:[ ]+/, ""); print }'
}

# What openssl says about a PEM certificate.
ossl_sha256() { openssl x509 -in "$1" -noout -fingerprint -sha256 | sed 's/.*=//; s/://g' | tr A-F a-f; }
ossl_sha1()   { openssl x509 -in "$1" -noout -fingerprint -sha1 | sed 's/.*=//; s/://g' | tr A-F a-f; }
ossl_serial() { openssl x509 -in "$1" -noout -serial | sed 's/.*=//' | tr A-F a-f; }
ossl_subject() { openssl x509 -in "$1" -noout -subject -nameopt RFC2253 | sed 's/^subject=//'; }
ossl_issuer()  { openssl x509 -in "$1" -noout -issuer -nameopt RFC2253 | sed 's/^issuer=//'; }
ossl_pin() {
    openssl x509 -in "$1" -noout -pubkey | openssl pkey -pubin -outform der |
        openssl dgst -sha256 -binary | base64
}
ossl_spki_hex() {
    openssl x509 -in "$1" -noout -pubkey | openssl pkey -pubin -outform der |
        openssl dgst -sha256 -r | cut -d' ' -f1
}
ossl_end() {
    date -u -d "$(openssl x509 -in "$1" -noout -enddate | sed 's/^notAfter=//')" +%Y-%m-%dT%H:%M:%SZ
}
ossl_start() {
    date -u -d "$(openssl x509 -in "$1" -noout -startdate | sed 's/^notBefore=//')" +%Y-%m-%dT%H:%M:%SZ
}

# v6_full ADDR - "2001:db8::1" as openssl prints it: "2001:DB8:0:0:0:0:0:1".
v6_full() {
    local a=$1 head tail n i g
    local -a H=() T=() G=()
    if [[ $a == *::* ]]; then head=${a%%::*}; tail=${a#*::}; else head=$a; tail=; fi
    [ -n "$head" ] && IFS=: read -r -a H <<<"$head"
    [ -n "$tail" ] && IFS=: read -r -a T <<<"$tail"
    n=$((8 - ${#H[@]} - ${#T[@]}))
    G=("${H[@]}")
    for ((i = 0; i < n; i++)); do G+=(0); done
    G+=("${T[@]}")
    for i in "${!G[@]}"; do
        g=${G[$i]}
        G[i]=$(printf '%X' "$((16#${g:-0}))")
    done
    (IFS=:; printf '%s\n' "${G[*]}")
}

# The SANs of a PEM certificate as inspect writes them (DNS lowercased,
# "IP Address:" as "IP:" with IPv6 in openssl's long form), one per line.
ossl_sans() {
    openssl x509 -in "$1" -noout -ext subjectAltName 2>/dev/null | tail -n +2 |
        sed 's/^ *//' | tr ',' '\n' | sed 's/^ *//' | while IFS= read -r s; do
            case $s in
            DNS:*) printf 'DNS:%s\n' "$(printf '%s' "${s#DNS:}" | tr A-Z a-z)" ;;
            "IP Address:"*) printf 'IP:%s\n' "${s#IP Address:}" ;;
            *) printf '%s\n' "$s" ;;
            esac
        done
}

# inspect's SANs in the same form.
our_sans() {
    vals san | while IFS= read -r s; do
        case $s in
        IP:*:*) printf 'IP:%s\n' "$(v6_full "${s#IP:}")" ;;
        *) printf '%s\n' "$s" ;;
        esac
    done
}

# same_as PEM [N] - the Nth certificate of OUT is the certificate in PEM,
# by everything openssl can tell us about it.
same_as() {
    local pem=$1 n=${2:-1}
    eq "$(val sha256 "$n")" "$(ossl_sha256 "$pem")" || { WHY="sha256: $WHY"; return 1; }
    eq "$(val sha1 "$n")" "$(ossl_sha1 "$pem")" || { WHY="sha1: $WHY"; return 1; }
    eq "$(val spki_pin "$n")" "$(ossl_pin "$pem")" || { WHY="spki_pin: $WHY"; return 1; }
    eq "$(val spki_sha256 "$n")" "$(ossl_spki_hex "$pem")" || { WHY="spki_sha256: $WHY"; return 1; }
    eq "$(val serial "$n")" "$(ossl_serial "$pem")" || { WHY="serial: $WHY"; return 1; }
    eq "$(val subject "$n")" "$(ossl_subject "$pem")" || { WHY="subject: $WHY"; return 1; }
    eq "$(val issuer "$n")" "$(ossl_issuer "$pem")" || { WHY="issuer: $WHY"; return 1; }
    eq "$(val not_before "$n")" "$(ossl_start "$pem")" || { WHY="not_before: $WHY"; return 1; }
    eq "$(val not_after "$n")" "$(ossl_end "$pem")" || { WHY="not_after: $WHY"; return 1; }
}

sans_as() {    # sans_as PEM - (one certificate in OUT)
    eq "$(our_sans)" "$(ossl_sans "$1")" || { WHY="SANs: $WHY"; return 1; }
}

rc_is() {      # rc_is WANT [STDERR-NEEDLE]
    eq "$RC" "$1" || { WHY="exit status $RC, want $1 (stderr: $ERR)"; return 1; }
    [ -z "${2:-}" ] || has "$ERR" "$2"
}

days_left_ok() {   # days_left within the second we looked
    local end now want
    end=$(date -u -d "$(openssl x509 -in "$1" -noout -enddate | sed 's/^notAfter=//')" +%s)
    now=$(date +%s)
    want=$(( (end - now) / 86400 ))
    [ "$(val days_left)" = "$want" ] || [ "$(val days_left)" = $(( (end - now + 5) / 86400 )) ] ||
        { WHY="days_left $(val days_left), want $want"; return 1; }
}

# ------------------------------------------------------------ the PKI

mk() { "$@" >>"$WORK/openssl.log" 2>&1 || fail "openssl: $*" "see $WORK/openssl.log"; }

mk openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:P-384 -nodes -sha384 \
    -keyout ca.key -out ca.pem -days 3650 -subj "/O=Example/CN=Inspect Test CA" \
    -addext basicConstraints=critical,CA:TRUE -addext keyUsage=critical,keyCertSign,cRLSign

cat >leaf.ext <<'EOF'
basicConstraints = critical,CA:FALSE
keyUsage = critical,digitalSignature
extendedKeyUsage = clientAuth,serverAuth
subjectAltName = DNS:Alice.Example.COM,DNS:*.wild.example,URI:spiffe://example.org/ns/prod/sa/alice,URI:https://example.org/x,email:alice@example.com,IP:192.0.2.1,IP:2001:db8::1
certificatePolicies = 1.2.3.4,2.23.140.1.2.1
EOF
mk openssl req -new -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes -keyout leaf.key \
    -out leaf.csr -subj "/C=US/O=Example Corp/OU=Eng/CN=Alice Smith"
mk openssl x509 -req -in leaf.csr -CA ca.pem -CAkey ca.key -set_serial 0x00c0ffee0123456789 \
    -days 30 -sha256 -extfile leaf.ext -out leaf.pem

mk openssl req -x509 -newkey rsa:2048 -sha1 -nodes -keyout rsa.key -out rsa-sha1.pem \
    -days 10 -subj "/O=Legacy/OU=a+CN=b"
mk openssl req -x509 -newkey rsa:3072 -sha256 -sigopt rsa_padding_mode:pss -nodes \
    -keyout pss.key -out pss.pem -days 10 -subj "/CN=pss"
printf -v utf8_subj '/CN=J\xc3\xbcrgen'
mk openssl req -x509 -newkey ed25519 -nodes -keyout ed.key -out ed.pem -days 10 \
    -utf8 -subj "$utf8_subj" -addext "subjectAltName=DNS:ed.example"

# the files
cat leaf.pem ca.pem >bundle.pem
cat leaf.key leaf.pem >key-then-cert.pem
openssl x509 -in leaf.pem -outform der -out leaf.der
mk openssl pkcs12 -export -in leaf.pem -inkey leaf.key -certfile ca.pem -out pw.p12 \
    -passout pass:'s3cret pass'
mk openssl pkcs12 -export -in leaf.pem -inkey leaf.key -certfile ca.pem -out nopw.p12 \
    -passout pass:
if openssl pkcs12 -help 2>&1 | grep -q -- -legacy; then
    mk openssl pkcs12 -export -legacy -in leaf.pem -inkey leaf.key -out legacy.p12 \
        -passout pass:old
fi
head -c 300 /dev/urandom >garbage.bin
: >empty.pem
head -c 100 leaf.der >truncated.der
{ cat leaf.der; printf 'x'; } >trailing.der
printf -- '-----BEGIN CERTIFICATE-----\nbm90IGEgY2VydA==\n-----END CERTIFICATE-----\n' >bad.pem

# ------------------------------------------------------------ PEM

inspect leaf.pem
check "pem: exit 0" rc_is 0
check "pem: thumbprints, SPKI pin, serial, names, validity as openssl" same_as leaf.pem
check "pem: SANs as openssl" sans_as leaf.pem
check "pem: serial with its leading zero byte dropped" eq "$(val serial)" c0ffee0123456789
check "pem: subject_canon" eq "$(val subject_canon)" "C=us/O=example corp/OU=eng/CN=alice smith"
check "pem: issuer_canon" eq "$(val issuer_canon)" "O=example/CN=inspect test ca"
check "pem: key" eq "$(val key)" "EC prime256v1 256 bits"
check "pem: signature" eq "$(val signature)" "ecdsa-with-SHA256"
check "pem: sig_digest" eq "$(val sig_digest)" "sha256"
check "pem: eku" eq "$(val eku)" "clientAuth, serverAuth"
check "pem: policies" eq "$(val policies)" "1.2.3.4, 2.23.140.1.2.1"
check "pem: is_ca" eq "$(val is_ca)" "no"
check "pem: spiffe_id" eq "$(val spiffe_id)" "spiffe://example.org/ns/prod/sa/alice"
check "pem: cn" eq "$(val cn)" "Alice Smith"
check "pem: wildcard SAN kept" has "$(vals san)" "DNS:*.wild.example"
check "pem: IPv6 SAN in inet_ntop form" has "$(vals san)" "IP:2001:db8::1"
check "pem: days_left" days_left_ok leaf.pem
check "pem: values aligned" eq "$(printf '%s\n' "$OUT" | awk '{ print index($0, $2) }' | sort -u)" 16

inspect bundle.pem
check "pem bundle: exit 0" rc_is 0
check "pem bundle: two certificates" eq "$(vals cert | tr '\n' '|')" "1 of 2|2 of 2|"
check "pem bundle: leaf first" same_as leaf.pem 1
check "pem bundle: then the CA" same_as ca.pem 2
check "pem bundle: CA is_ca" eq "$(val is_ca 2)" "yes"
check "pem bundle: CA key" eq "$(val key 2)" "EC secp384r1 384 bits"
check "pem bundle: CA signature" eq "$(val signature 2)" "ecdsa-with-SHA384"
check "pem bundle: CA has no EKU" eq "$(val eku 2)" "(absent)"

inspect key-then-cert.pem
check "pem with a key block first: the certificate" same_as leaf.pem

# ------------------------------------------------------------ DER

inspect leaf.der
check "der: exit 0" rc_is 0
check "der: one certificate" eq "$(val cert)" "1 of 1"
check "der: same certificate as the PEM" same_as leaf.pem
check "der: SANs as openssl" sans_as leaf.pem

# ------------------------------------------------------------ PKCS#12

CERTSPOA_P12_PASSWORD='s3cret pass' inspect pw.p12
check "p12 with password from the environment: exit 0" rc_is 0
check "p12: leaf first" same_as leaf.pem 1
check "p12: then the CA" same_as ca.pem 2
check "p12: SANs of the leaf" eq "$(our_sans | head -n 7)" "$(ossl_sans leaf.pem)"

CERTSPOA_P12_PASSWORD='wrong' inspect pw.p12
check "p12 wrong password: exit 65" rc_is 65 "wrong PKCS#12 password"

if command -v setsid >/dev/null 2>&1; then
    OUT=$(env -u CERTSPOA_P12_PASSWORD setsid -w "$CERTSPOA_BIN" inspect pw.p12 \
          2>"$WORK/stderr" </dev/null)
    RC=$?
    ERR=$(cat "$WORK/stderr")
    check "p12 needing a password, none given, no terminal: exit 65" rc_is 65 \
        "CERTSPOA_P12_PASSWORD"
else
    note "no setsid: the no-terminal case is not run"
fi

env -u CERTSPOA_P12_PASSWORD "$CERTSPOA_BIN" inspect nopw.p12 >"$WORK/nopw.out" 2>&1 </dev/null
RC=$?
OUT=$(cat "$WORK/nopw.out")
check "p12 without a password: read without asking" rc_is 0
check "p12 without a password: leaf first" same_as leaf.pem 1

if [ -e legacy.p12 ]; then
    CERTSPOA_P12_PASSWORD=old inspect legacy.p12
    check "legacy p12 (RC2/3DES): exit 0" rc_is 0
    check "legacy p12: the leaf" same_as leaf.pem
fi

# ------------------------------------------------------------ other keys

inspect rsa-sha1.pem
check "rsa sha1: as openssl" same_as rsa-sha1.pem
check "rsa sha1: key" eq "$(val key)" "RSA 2048 bits"
check "rsa sha1: signature" eq "$(val signature)" "sha1WithRSAEncryption"
check "rsa sha1: sig_digest" eq "$(val sig_digest)" "sha1"
check "rsa sha1: multi-valued RDN sorted" eq "$(val subject_canon)" "O=legacy/CN=b+OU=a"
check "rsa sha1: no SAN lines" eq "$(vals san)" ""
check "rsa sha1: no spiffe_id line" eq "$(val spiffe_id)" ""

inspect pss.pem
check "rsa-pss: key" eq "$(val key)" "RSA 3072 bits"
check "rsa-pss: signature" eq "$(val signature)" "rsassaPss"
check "rsa-pss: digest from the PSS parameters" eq "$(val sig_digest)" "sha256"

inspect ed.pem
check "ed25519: as openssl" same_as ed.pem
check "ed25519: key" eq "$(val key)" "ED25519 256 bits"
check "ed25519: signature" eq "$(val signature)" "ED25519"
check "ed25519: no digest" eq "$(val sig_digest)" "(none)"
check "ed25519: UTF-8 CN" eq "$(val cn)" "$(printf 'J\xc3\xbcrgen')"
check "ed25519: UTF-8 subject_canon" eq "$(val subject_canon)" "$(printf 'CN=j\xc3\xbcrgen')"
check "ed25519: RFC 2253 subject escapes UTF-8" eq "$(val subject)" 'CN=J\C3\BCrgen'

# ------------------------------------------------------------ failures

inspect garbage.bin
check "garbage: exit 65" rc_is 65 "not a certificate"
inspect empty.pem
check "empty file: exit 65" rc_is 65 "empty file"
inspect truncated.der
check "truncated DER: exit 65" rc_is 65 "not a certificate"
inspect trailing.der
check "DER with a byte after it: exit 65" rc_is 65 "not a certificate"
inspect bad.pem
check "PEM block that is no certificate: exit 65" rc_is 65 "bad PEM data"
inspect "$WORK/missing.pem"
check "missing file: exit 66" rc_is 66 "No such file"
check "missing file: nothing on stdout" eq "$OUT" ""
inspect "$WORK"
check "directory: exit 66" rc_is 66 "directory"
if [ "$(id -u)" != 0 ]; then
    cp leaf.pem unreadable.pem && chmod 000 unreadable.pem
    inspect unreadable.pem
    check "unreadable file: exit 66" rc_is 66 "Permission denied"
fi
inspect leaf.pem "$WORK/missing.pem" garbage.bin
check "several files: the first failure's status" rc_is 66
check "several files: the good one still printed" same_as leaf.pem
inspect
check "no file: usage, exit 64" rc_is 64 "usage:"
inspect --bogus leaf.pem
check "unknown option: exit 64" rc_is 64 "unknown option"
inspect --help
check "--help: exit 0" rc_is 0
check "--help: usage on stdout" has "$OUT" "usage: certspoa inspect"
inspect -- leaf.pem
check "-- ends the options" rc_is 0

finish inspect
