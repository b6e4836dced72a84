#!/usr/bin/env bash
# corpus.sh OUTDIR - generate the policy-engine certificate corpus with the
# openssl CLI (OpenSSL 3.0 or later), and its manifest: for every rule a
# case that trips it and a case that passes it.
#
# Everything is made fresh at test time and lives for a few days at most;
# nothing here is committed (.gitignore has *.pem *.key *.crt *.p12).
#
# OUTDIR afterwards holds (paths in the manifest are relative to OUTDIR, so
# run certspoa from there):
#   ca.pem                 the corpus root CA (agent ca_file, HAProxy ca-file)
#   ca/NAME/               one "openssl ca" directory per CA: ca.pem ca.key
#                          ca.cnf index.txt serial crlnumber; NAME is root,
#                          inter, deep1, deep2, deep3 or unknown
#   server.pem             HAProxy's certificate: CN=localhost, SAN DNS
#                          localhost a.example b.example api.example, IP
#                          127.0.0.1 (for SNI tests with curl --resolve)
#   NAME.crt NAME.key      a client certificate and its key (PEM)
#   NAME-full.crt          the leaf followed by the CA certificates the client
#                          sends (chained, deep; id-full sends the root)
#   NAME.der               DER of the leaf
#   NAME.sha1 .sha256      thumbprints, lowercase hex
#   NAME.pin               SPKI pin: base64 SHA-256 of the SubjectPublicKeyInfo
#   NAME.serial            serial number, uppercase hex as openssl prints it
#   id.p12                 id.crt + id.key, PKCS#12, password in p12.pass
#   crl/*.crl              CRLs (see below)
#   lists/*.txt            list files named by "@lists/..." in the manifest
#   manifest.tsv           one case per line (below)
#
# Client certificates (root-issued, EC P-256, SHA-256, clientAuth, 2 days,
# unless said otherwise):
#   good        CN=good client, DNS good.corpus.test
#   id          O=certspoa corpus/OU=api/CN=id client, serial 1D5E7A11, SAN
#               DNS api.corpus.test, URI spiffe://corpus.test/ns/prod/sa/api,
#               URI https://corpus.test/clients/api, email api@corpus.test,
#               IP 10.1.2.3, IP fd00::5; certificate policy 1.3.6.1.4.1.55555.1.1
#   other       O=certspoa corpus/OU=web/CN=other client, DNS other.corpus.test,
#               URI spiffe://other.test/ns/prod/sa/api, email other@corpus.test,
#               IP 192.168.7.7; no policies
#   id-full.crt id.crt followed by the root CA: a client that sends the root
#   wild        CN=wild client, DNS *.wild.corpus.test (a wildcard SAN)
#   chained     CN=chained client, issued by the intermediate (chained-full.crt)
#   deep        issued by deep3 <- deep2 <- deep1 <- root: three intermediates
#   expired     validity entirely in the past (4 to 2 days ago)
#   future      valid from 1 hour from now
#   revoked     revoked in crl/root.crl
#   serverauth  extendedKeyUsage serverAuth only
#   unknown     issued by a CA nobody trusts
#   rsa1024     RSA 1024-bit key        rsa2048   RSA 2048-bit key
#   ec384       EC P-384 key            sha1      signed with ecdsa-with-SHA1
#   longlived   valid for 3650 days
#   ka          for the keep-alive revocation test: revoked at test time
# CRLs:
#   crl/root.crl           root CA: revokes "revoked"
#   crl/root-expired.crl   root CA: nothing revoked, nextUpdate yesterday
#   crl/inter.crl          intermediate CA: nothing revoked
#   crl/root+inter.crl     both of the above fresh ones, one file
#
# manifest.tsv: "#" lines are comments; each case is one line of 7 fields
# separated by TABs:
#   NAME  CERT  CODE  RULE  E2E  ARGS  CONFIG
# NAME is the case (also usable as a policy name), CERT the certificate file
# the client presents ("-" for none; extra certificates in the file are the
# chain it sends), CODE and RULE the expected code and rule, E2E "yes" when
# the case means the same through HAProxy (the client presents CERT, HAProxy
# verifies against ca.pem), ARGS extra "certspoa explain" arguments ("-" for
# none), CONFIG the [policy] lines separated by " | ".
set -euo pipefail

die() { echo "corpus.sh: $*" >&2; exit 1; }

[ $# -eq 1 ] || die "usage: corpus.sh OUTDIR"
mkdir -p "$1"
cd "$1"
OUT=$PWD
command -v openssl >/dev/null || die "openssl not found"
mkdir -p ca crl lists

DAYS=${CORPUS_DAYS:-2}

# ------------------------------------------------------------ keys

# newkey FILE TYPE - TYPE is ec256, ec384, rsa1024 or rsa2048.
newkey() {
    case $2 in
        ec256)   openssl genpkey -algorithm EC -pkeyopt ec_paramgen_curve:P-256 -out "$1" ;;
        ec384)   openssl genpkey -algorithm EC -pkeyopt ec_paramgen_curve:P-384 -out "$1" ;;
        rsa1024) openssl genpkey -algorithm RSA -pkeyopt rsa_keygen_bits:1024 -out "$1" ;;
        rsa2048) openssl genpkey -algorithm RSA -pkeyopt rsa_keygen_bits:2048 -out "$1" ;;
        *) die "newkey: unknown key type $2" ;;
    esac 2>/dev/null
    chmod 600 "$1"
}

# ------------------------------------------------------------ extensions

cat > ext.cnf <<'CNF'
[ca_ext]
basicConstraints = critical, CA:TRUE
keyUsage = critical, keyCertSign, cRLSign
subjectKeyIdentifier = hash
authorityKeyIdentifier = keyid:always

[inter_ext]
basicConstraints = critical, CA:TRUE, pathlen:0
keyUsage = critical, keyCertSign, cRLSign
subjectKeyIdentifier = hash
authorityKeyIdentifier = keyid:always

[server_ext]
basicConstraints = critical, CA:FALSE
keyUsage = critical, digitalSignature, keyEncipherment
extendedKeyUsage = serverAuth
subjectAltName = DNS:localhost, DNS:a.example, DNS:b.example, DNS:api.example, IP:127.0.0.1
subjectKeyIdentifier = hash
authorityKeyIdentifier = keyid

[client_ext]
basicConstraints = critical, CA:FALSE
keyUsage = critical, digitalSignature, keyEncipherment
extendedKeyUsage = clientAuth
subjectKeyIdentifier = hash
authorityKeyIdentifier = keyid

[serverauth_ext]
basicConstraints = critical, CA:FALSE
keyUsage = critical, digitalSignature
extendedKeyUsage = serverAuth
subjectKeyIdentifier = hash
authorityKeyIdentifier = keyid

[good_ext]
basicConstraints = critical, CA:FALSE
keyUsage = critical, digitalSignature
extendedKeyUsage = clientAuth
subjectAltName = DNS:good.corpus.test
subjectKeyIdentifier = hash
authorityKeyIdentifier = keyid

[id_ext]
basicConstraints = critical, CA:FALSE
keyUsage = critical, digitalSignature
extendedKeyUsage = clientAuth
subjectAltName = DNS:api.corpus.test, URI:spiffe://corpus.test/ns/prod/sa/api, URI:https://corpus.test/clients/api, email:api@corpus.test, IP:10.1.2.3, IP:fd00::5
certificatePolicies = 1.3.6.1.4.1.55555.1.1
subjectKeyIdentifier = hash
authorityKeyIdentifier = keyid

[wild_ext]
basicConstraints = critical, CA:FALSE
keyUsage = critical, digitalSignature
extendedKeyUsage = clientAuth
subjectAltName = DNS:*.wild.corpus.test
subjectKeyIdentifier = hash
authorityKeyIdentifier = keyid

[other_ext]
basicConstraints = critical, CA:FALSE
keyUsage = critical, digitalSignature
extendedKeyUsage = clientAuth
subjectAltName = DNS:other.corpus.test, URI:spiffe://other.test/ns/prod/sa/api, email:other@corpus.test, IP:192.168.7.7
subjectKeyIdentifier = hash
authorityKeyIdentifier = keyid
CNF

# ------------------------------------------------------------ CAs

# ca_dir NAME - the "openssl ca" database of CA NAME (its ca.pem and ca.key
# must be in ca/NAME/ already).
ca_dir() {
    local d=$OUT/ca/$1
    mkdir -p "$d/certs"
    : > "$d/index.txt"
    printf '%s\n' "${2:-1000}" > "$d/serial"
    echo 1000 > "$d/crlnumber"
    cat > "$d/ca.cnf" <<CNF
[ca]
default_ca = this_ca
[this_ca]
dir = $d
database = \$dir/index.txt
serial = \$dir/serial
crlnumber = \$dir/crlnumber
new_certs_dir = \$dir/certs
certificate = \$dir/ca.pem
private_key = \$dir/ca.key
default_md = sha256
default_days = $DAYS
default_crl_days = $DAYS
policy = anything
unique_subject = no
copy_extensions = none
preserve = yes
[anything]
organizationName = optional
organizationalUnitName = optional
commonName = supplied
CNF
}

# CAs are valid from a week ago, so that "certspoa explain --time" can go
# back to when the expired client was still valid.
CA_START=$(date -u -d '-7 days' +%Y%m%d%H%M%SZ)
CA_END=$(date -u -d "+$DAYS days" +%Y%m%d%H%M%SZ)

# root_ca NAME CN - a self-signed root ("openssl ca -selfsign": "openssl req
# -x509" on OpenSSL 3.0 cannot backdate).
root_ca() {
    local d=ca/$1
    mkdir -p "$d"
    newkey "$d/ca.key" ec256
    ca_dir "$1"
    openssl req -new -key "$d/ca.key" -subj "/O=certspoa corpus/CN=$2" -out "$d/ca.csr" 2>/dev/null
    openssl ca -batch -notext -selfsign -config "$d/ca.cnf" -keyfile "$d/ca.key" \
        -startdate "$CA_START" -enddate "$CA_END" -extfile ext.cnf -extensions ca_ext \
        -in "$d/ca.csr" -out "$d/ca.pem" 2>"$d/err" || die "cannot make root $1: $(cat "$d/err")"
    rm -f "$d/ca.csr" "$d/err"
}

# sub_ca NAME CN PARENT EXT - an intermediate signed by PARENT.
sub_ca() {
    local d=ca/$1
    mkdir -p "$d"
    newkey "$d/ca.key" ec256
    openssl req -new -key "$d/ca.key" -subj "/O=certspoa corpus/CN=$2" -out "$d/ca.csr" 2>/dev/null
    openssl ca -batch -notext -config "ca/$3/ca.cnf" -extfile ext.cnf -extensions "$4" \
        -startdate "$CA_START" -enddate "$CA_END" \
        -in "$d/ca.csr" -out "$d/ca.pem" 2>/dev/null || die "cannot issue CA $1"
    rm -f "$d/ca.csr"
    ca_dir "$1" "$(printf '%X' $((0x2000 + RANDOM)))"
}

# issue NAME SUBJECT CA KEYTYPE EXT [openssl ca options...] - a client
# certificate NAME.crt/.key signed by CA with extension section EXT.
issue() {
    local name=$1 subj=$2 ca=$3 kt=$4 ext=$5
    shift 5
    newkey "$name.key" "$kt"
    openssl req -new -key "$name.key" -subj "$subj" -out "$name.csr" 2>/dev/null
    openssl ca -batch -notext -config "ca/$ca/ca.cnf" -extfile ext.cnf -extensions "$ext" \
        "$@" -in "$name.csr" -out "$name.crt" 2>"$name.err" ||
        die "cannot issue $name: $(cat "$name.err")"
    rm -f "$name.csr" "$name.err"
}

# gencrl CA OUT [openssl ca options...]
gencrl() {
    local ca=$1 out=$2
    shift 2
    openssl ca -batch -gencrl -config "ca/$ca/ca.cnf" "$@" -out "$out" 2>/dev/null ||
        die "cannot make $out"
}

root_ca root "certspoa corpus root CA"
root_ca unknown "certspoa corpus unknown CA"
sub_ca inter "certspoa corpus intermediate CA" root inter_ext
sub_ca deep1 "certspoa corpus deep CA 1" root ca_ext
sub_ca deep2 "certspoa corpus deep CA 2" deep1 ca_ext
sub_ca deep3 "certspoa corpus deep CA 3" deep2 ca_ext
cp ca/root/ca.pem ca.pem

# ------------------------------------------------------------ certificates

O="/O=certspoa corpus"
issue server "$O/CN=localhost" root ec256 server_ext
cat server.crt server.key > server.pem
chmod 600 server.pem

issue good "$O/CN=good client" root ec256 good_ext
echo 1D5E7A11 > ca/root/serial
issue id "$O/OU=api/CN=id client" root ec256 id_ext
issue other "$O/OU=web/CN=other client" root ec256 other_ext
cat id.crt ca.pem > id-full.crt
issue wild "$O/CN=wild client" root ec256 wild_ext
issue chained "$O/CN=chained client" inter ec256 client_ext
cat chained.crt ca/inter/ca.pem > chained-full.crt
issue deep "$O/CN=deep client" deep3 ec256 client_ext
cat deep.crt ca/deep3/ca.pem ca/deep2/ca.pem ca/deep1/ca.pem > deep-full.crt
issue expired "$O/CN=expired client" root ec256 client_ext \
    -startdate "$(date -u -d '-4 days' +%Y%m%d%H%M%SZ)" -enddate "$(date -u -d '-2 days' +%Y%m%d%H%M%SZ)"
issue future "$O/CN=future client" root ec256 client_ext \
    -startdate "$(date -u -d '+1 hour' +%Y%m%d%H%M%SZ)" -enddate "$(date -u -d '+3 days' +%Y%m%d%H%M%SZ)"
issue revoked "$O/CN=revoked client" root ec256 client_ext
issue serverauth "$O/CN=serverauth client" root ec256 serverauth_ext
issue unknown "$O/CN=unknown client" unknown ec256 client_ext
issue rsa1024 "$O/CN=rsa1024 client" root rsa1024 client_ext
issue rsa2048 "$O/CN=rsa2048 client" root rsa2048 client_ext
issue ec384 "$O/CN=ec384 client" root ec384 client_ext
issue sha1 "$O/CN=sha1 client" root ec256 client_ext -md sha1
issue longlived "$O/CN=longlived client" root ec256 client_ext -days 3650
issue ka "$O/CN=keepalive client" root ec256 client_ext

CLIENTS="good id other wild chained deep expired future revoked serverauth unknown rsa1024 rsa2048 ec384 sha1 longlived ka"

openssl pkcs12 -export -in id.crt -inkey id.key -name "id client" \
    -passout pass:corpus-p12-secret -out id.p12 2>/dev/null || die "cannot make id.p12"
echo corpus-p12-secret > p12.pass

# ------------------------------------------------------------ CRLs

gencrl inter crl/inter.crl
gencrl root crl/root-expired.crl \
    -crl_lastupdate "$(date -u -d '-3 days' +%Y%m%d%H%M%SZ)" \
    -crl_nextupdate "$(date -u -d '-1 day' +%Y%m%d%H%M%SZ)"
openssl ca -batch -config ca/root/ca.cnf -revoke revoked.crt -crl_reason keyCompromise 2>/dev/null ||
    die "cannot revoke revoked.crt"
gencrl root crl/root.crl
cat crl/root.crl crl/inter.crl > crl/root+inter.crl

# ------------------------------------------------------------ facts

fingerprint() {   # fingerprint FILE ALG -> lowercase hex, no colons
    openssl x509 -in "$1" -noout -fingerprint "-$2" | sed 's/^.*=//; s/://g' | tr 'A-F' 'a-f'
}
spki_pin() {
    openssl x509 -in "$1" -noout -pubkey | openssl pkey -pubin -outform DER |
        openssl dgst -sha256 -binary | base64 -w0
}
for c in $CLIENTS server; do
    openssl x509 -in "$c.crt" -outform DER -out "$c.der"
    fingerprint "$c.crt" sha1 > "$c.sha1"
    fingerprint "$c.crt" sha256 > "$c.sha256"
    spki_pin "$c.crt" > "$c.pin"
    openssl x509 -in "$c.crt" -noout -serial | sed 's/^serial=//' > "$c.serial"
done
for c in root inter deep1 deep2 deep3 unknown; do
    fingerprint "ca/$c/ca.pem" sha256 > "ca/$c/ca.sha256"
    fingerprint "ca/$c/ca.pem" sha1 > "ca/$c/ca.sha1"
done

# ------------------------------------------------------------ sanity

ok() { openssl verify -CAfile ca.pem "$@" >/dev/null 2>&1; }
ok good.crt id.crt other.crt revoked.crt serverauth.crt rsa1024.crt rsa2048.crt ec384.crt \
    sha1.crt longlived.crt ka.crt || die "a valid client does not verify against ca.pem"
ok -untrusted ca/inter/ca.pem chained.crt || die "chained does not verify through inter"
ok -untrusted <(cat ca/deep3/ca.pem ca/deep2/ca.pem ca/deep1/ca.pem) deep.crt ||
    die "deep does not verify through deep1..3"
! ok expired.crt || die "expired.crt verifies"
! ok future.crt || die "future.crt verifies"
! ok unknown.crt || die "unknown.crt verifies against ca.pem"
! ok -purpose sslclient serverauth.crt || die "serverauth.crt passes as a client"
! ok -crl_check -CRLfile crl/root.crl revoked.crt || die "revoked.crt is not revoked"
ok -crl_check -CRLfile crl/root.crl good.crt || die "good.crt fails the root CRL"
[ "$(cat id.serial)" = 1D5E7A11 ] || die "id.crt has serial $(cat id.serial), want 1D5E7A11"
openssl x509 -in sha1.crt -noout -text | grep -q 'ecdsa-with-SHA1' || die "sha1.crt is not SHA-1 signed"

# ------------------------------------------------------------ lists

# Subject and issuer DNs with commas go in files (an inline list splits at
# commas). RFC 2253 order is most specific first; "oneline" is root first.
echo "CN=id client,OU=api,O=certspoa corpus" > lists/subject-id-rfc2253.txt
printf '# two DNs, one per line\nCN=good client,O=certspoa corpus\nCN=id client,OU=api,O=certspoa corpus\n' \
    > lists/subjects-good-id.txt
echo "CN=ID Client,  OU=API , O=certspoa   Corpus" > lists/subject-id-spacing.txt
echo "CN=certspoa corpus intermediate CA,O=certspoa corpus" > lists/issuer-inter-rfc2253.txt
echo "1D5E7A11 CN=certspoa corpus root CA,O=certspoa corpus" > lists/serial-id-root.txt
{
    echo "# thumbprints of the id client: SHA-256 lowercase, SHA-1 upper with colons"
    cat id.sha256
    sed 's/../&:/g; s/:$//' id.sha1 | tr 'a-f' 'A-F'
} > lists/id.tp
cat good.sha256 > lists/good.tp
printf '# DNS names\nnothing.corpus.test\n*.corpus.test\n' > lists/dns-wild.txt

# ------------------------------------------------------------ manifest

MANIFEST=$OUT/manifest.tsv
NCASES=0
# case NAME CERT CODE RULE E2E ARGS CONFIG-LINE...
case_() {
    local name=$1 cert=$2 code=$3 rule=$4 e2e=$5 args=$6 cfg=""
    shift 6
    local l
    for l in "$@"; do cfg="${cfg:+$cfg | }$l"; done
    printf '%s\t%s\t%s\t%s\t%s\t%s\t%s\n' "$name" "$cert" "$code" "$rule" "$e2e" "$args" "$cfg" >>"$MANIFEST"
    NCASES=$((NCASES + 1))
}

A="verify = agent"
CA="ca_file = ca.pem"
ID_SHA256=$(cat id.sha256)
ID_SHA1_COLONS=$(sed 's/../&:/g; s/:$//' id.sha1 | tr 'a-f' 'A-F')
ID_PIN=$(cat id.pin)
ROOT_SHA256=$(cat ca/root/ca.sha256)
INTER_SHA256=$(cat ca/inter/ca.sha256)

{
    echo "# certspoa policy corpus, generated $(date -u +%Y-%m-%dT%H:%M:%SZ) by tests/integration/corpus.sh"
    printf '# NAME\tCERT\tCODE\tRULE\tE2E\tARGS\tCONFIG\n'
} >"$MANIFEST"

# presence
case_ require_cert-deny     -              cert_missing    require_cert       yes - "require_cert = yes" "$A" "$CA"
case_ require_cert-pass     good.crt       ok              verified           yes - "require_cert = yes" "$A" "$CA"
case_ anonymous-pass        -              ok              anonymous          yes - "require_cert = no" "$A" "$CA"
case_ anonymous-cert        good.crt       ok              verified           yes - "require_cert = no" "$A" "$CA"
case_ anonymous-bad-cert    expired.crt    cert_unverified cert_expired       yes - "require_cert = no" "$A" "$CA"

# verification by HAProxy (explain: --verify is HAProxy's ssl_c_verify)
case_ haproxy-verified      good.crt       ok              verified           yes "--verify 0" "verify = haproxy"
case_ haproxy-expired       expired.crt    cert_unverified cert_expired       yes "--verify 10" "verify = haproxy"
case_ haproxy-unknown-ca    unknown.crt    cert_unverified cert_unknown_ca    yes "--verify 20" "verify = haproxy"
case_ haproxy-bad-purpose   serverauth.crt cert_unverified cert_bad_purpose   yes "--verify 26" "verify = haproxy"
case_ both-revoked          revoked.crt    cert_revoked cert_revoked       yes "--verify 0" "verify = both" "$CA" "crl_file = crl/root.crl"
case_ both-verified         good.crt       ok              verified           yes "--verify 0" "verify = both" "$CA" "crl_file = crl/root.crl"

# verification by the agent
case_ verified              good.crt       ok              verified           yes - "$A" "$CA"
case_ cert_expired          expired.crt    cert_unverified cert_expired       yes - "$A" "$CA"
case_ cert_expired-then     expired.crt    ok              verified           no "--time $(( $(date -u -d '-3 days' +%s) ))" "$A" "$CA"
case_ cert_not_yet_valid    future.crt     cert_unverified cert_not_yet_valid yes - "$A" "$CA"
case_ cert_not_yet_valid-skew future.crt   ok              verified           yes - "$A" "$CA" "clock_skew = 2h"
case_ cert_not_yet_valid-small-skew future.crt cert_unverified cert_not_yet_valid yes - "$A" "$CA" "clock_skew = 10m"
case_ cert_unknown_ca       unknown.crt    cert_unverified cert_unknown_ca    yes - "$A" "$CA"
case_ cert_unknown_ca-no-inter chained.crt cert_unverified cert_unknown_ca    yes - "$A" "$CA"
case_ chain-sent            chained-full.crt ok            verified           yes - "$A" "$CA"
case_ cert_bad_purpose      serverauth.crt cert_unverified cert_bad_purpose   yes - "$A" "$CA"
case_ cert_chain_too_long   deep-full.crt  cert_unverified cert_chain_too_long yes - "$A" "$CA" "max_depth = 1"
case_ cert_chain_too_long-2 deep-full.crt  cert_unverified cert_chain_too_long yes - "$A" "$CA" "max_depth = 2"
case_ cert_chain_too_long-fits deep-full.crt ok            verified           yes - "$A" "$CA" "max_depth = 3"
case_ cert_chain-no-limit   deep-full.crt  ok              verified           yes - "$A" "$CA"
case_ cert_revoked          revoked.crt    cert_revoked cert_revoked       yes - "$A" "$CA" "crl_file = crl/root.crl"
case_ cert_revoked-not      good.crt       ok              verified           yes - "$A" "$CA" "crl_file = crl/root.crl"
case_ cert_revoked-leaf     revoked.crt    cert_revoked cert_revoked       yes - "$A" "$CA" "crl_file = crl/root.crl" "crl_check = leaf"
case_ cert_revoked-missing-allow revoked.crt cert_revoked cert_revoked     yes - "$A" "$CA" "crl_file = crl/root.crl" "crl_missing = allow"
case_ crl_missing           chained-full.crt crl_unavailable crl_missing      yes - "$A" "$CA" "crl_file = crl/inter.crl" "crl_check = all"
case_ crl_missing-leaf      chained-full.crt ok            verified           yes - "$A" "$CA" "crl_file = crl/inter.crl" "crl_check = leaf"
case_ crl_missing-allow     chained-full.crt ok            verified           yes - "$A" "$CA" "crl_file = crl/inter.crl" "crl_check = all" "crl_missing = allow"
case_ crl_missing-both-crls chained-full.crt ok            verified           yes - "$A" "$CA" "crl_file = crl/root+inter.crl" "crl_check = all"
case_ crl_missing-leaf-other chained-full.crt crl_unavailable crl_missing     yes - "$A" "$CA" "crl_file = crl/root.crl" "crl_check = leaf"
case_ crl_expired           good.crt       crl_expired     crl_expired        yes - "$A" "$CA" "crl_file = crl/root-expired.crl"
case_ crl_expired-fresh     good.crt       ok              verified           yes - "$A" "$CA" "crl_file = crl/root.crl"

# thumbprints
case_ thumbprints-file      id.crt         ok              allow_thumbprints  yes - "$A" "$CA" "thumbprints = lists/id.tp"
case_ thumbprints-file-not  other.crt      cert_untrusted  allow_thumbprints  yes - "$A" "$CA" "thumbprints = lists/id.tp"
case_ allow_thumbprints     id.crt         ok              allow_thumbprints  yes - "$A" "$CA" "allow_thumbprints = $ID_SHA256"
case_ allow_thumbprints-sha1 id.crt        ok              allow_thumbprints  yes - "$A" "$CA" "allow_thumbprints = $ID_SHA1_COLONS"
case_ allow_thumbprints-at  id.crt         ok              allow_thumbprints  yes - "$A" "$CA" "allow_thumbprints = @lists/id.tp"
case_ allow_thumbprints-not other.crt      cert_untrusted  allow_thumbprints  yes - "$A" "$CA" "allow_thumbprints = $ID_SHA256, $(cat good.sha256)"
case_ deny_thumbprints      id.crt         cert_untrusted  deny_thumbprints   yes - "$A" "$CA" "deny_thumbprints = @lists/id.tp"
case_ deny_thumbprints-not  other.crt      ok              verified           yes - "$A" "$CA" "deny_thumbprints = @lists/id.tp"

# serials, optionally with the issuer's DN
case_ allow_serials         id.crt         ok              allow_serials      yes - "$A" "$CA" "allow_serials = 1D5E7A11"
case_ allow_serials-lower   id.crt         ok              allow_serials      yes - "$A" "$CA" "allow_serials = 1d5e7a11"
case_ allow_serials-issuer  id.crt         ok              allow_serials      yes - "$A" "$CA" "allow_serials = 1D5E7A11 /O=certspoa corpus/CN=certspoa corpus root CA"
case_ allow_serials-issuer-file id.crt     ok              allow_serials      yes - "$A" "$CA" "allow_serials = @lists/serial-id-root.txt"
case_ allow_serials-zeros   id.crt         ok              allow_serials      yes - "$A" "$CA" "allow_serials = 00:1D:5E:7A:11"
case_ allow_serials-wrong-issuer id.crt    cert_untrusted  identity           yes - "$A" "$CA" "allow_serials = 1D5E7A11 /O=certspoa corpus/CN=certspoa corpus unknown CA"
case_ allow_serials-not     other.crt      cert_untrusted  identity           yes - "$A" "$CA" "allow_serials = 1D5E7A11"
case_ deny_serials          id.crt         cert_untrusted  deny_serials       yes - "$A" "$CA" "deny_serials = 1D5E7A11"
case_ deny_serials-not      other.crt      ok              verified           yes - "$A" "$CA" "deny_serials = 1D5E7A11"

# subject and issuer DNs: RFC 2253 (in files) and oneline forms
case_ allow_subjects-rfc2253 id.crt        ok              allow_subjects     yes - "$A" "$CA" "allow_subjects = @lists/subject-id-rfc2253.txt"
case_ allow_subjects-oneline id.crt        ok              allow_subjects     yes - "$A" "$CA" "allow_subjects = /O=certspoa corpus/OU=api/CN=id client"
case_ allow_subjects-spacing id.crt       ok              allow_subjects     yes - "$A" "$CA" "allow_subjects = @lists/subject-id-spacing.txt"
case_ allow_subjects-oneline-case id.crt   ok              allow_subjects     yes - "$A" "$CA" "allow_subjects = /O=Certspoa  Corpus/OU=API/CN=id client"
case_ allow_subjects-two    good.crt       ok              allow_subjects     yes - "$A" "$CA" "allow_subjects = @lists/subjects-good-id.txt"
case_ allow_subjects-not    other.crt      cert_untrusted  identity           yes - "$A" "$CA" "allow_subjects = @lists/subjects-good-id.txt"
case_ allow_subjects-order  id.crt         cert_untrusted  identity           yes - "$A" "$CA" "allow_subjects = /CN=id client/OU=api/O=certspoa corpus"
case_ deny_subjects         id.crt         cert_untrusted  deny_subjects      yes - "$A" "$CA" "deny_subjects = /O=certspoa corpus/OU=api/CN=id client"
case_ deny_subjects-not     other.crt      ok              verified           yes - "$A" "$CA" "deny_subjects = @lists/subject-id-rfc2253.txt"
case_ allow_issuers         chained-full.crt ok            allow_issuers      yes - "$A" "$CA" "allow_issuers = /O=certspoa corpus/CN=certspoa corpus intermediate CA"
case_ allow_issuers-file    chained-full.crt ok            allow_issuers      yes - "$A" "$CA" "allow_issuers = @lists/issuer-inter-rfc2253.txt"
case_ allow_issuers-not     id.crt         cert_untrusted  identity           yes - "$A" "$CA" "allow_issuers = @lists/issuer-inter-rfc2253.txt"
case_ deny_issuers          chained-full.crt cert_untrusted deny_issuers      yes - "$A" "$CA" "deny_issuers = @lists/issuer-inter-rfc2253.txt"
case_ deny_issuers-not      id.crt         ok              verified           yes - "$A" "$CA" "deny_issuers = @lists/issuer-inter-rfc2253.txt"

# issuer thumbprints (pinning an intermediate)
case_ allow_issuer_thumbprints chained-full.crt ok         allow_issuer_thumbprints yes - "$A" "$CA" "allow_issuer_thumbprints = $INTER_SHA256"
case_ allow_issuer_thumbprints-not id.crt  cert_untrusted  identity           yes - "$A" "$CA" "allow_issuer_thumbprints = $INTER_SHA256"
case_ deny_issuer_thumbprints chained-full.crt cert_untrusted deny_issuer_thumbprints yes - "$A" "$CA" "deny_issuer_thumbprints = $INTER_SHA256"
case_ deny_issuer_thumbprints-root id-full.crt cert_untrusted deny_issuer_thumbprints yes - "$A" "$CA" "deny_issuer_thumbprints = $ROOT_SHA256"
case_ deny_issuer_thumbprints-not chained-full.crt ok      verified           yes - "$A" "$CA" "deny_issuer_thumbprints = $ROOT_SHA256"
# The issuer is the one on the path the agent verified, not one the client
# sent: id.crt alone (a resumed session, a client that sends no chain) is
# still caught by the deny list of its root.
case_ deny_issuer_thumbprints-not-sent id.crt cert_untrusted deny_issuer_thumbprints yes - "$A" "$CA" "deny_issuer_thumbprints = $ROOT_SHA256"

# ... also under verify = haproxy, where the agent builds the path itself
# from ca_file, intermediates and what the client sent; no path is a denial
case_ haproxy-issuer-deny-sent chained-full.crt cert_untrusted deny_issuer_thumbprints yes "--verify 0" "verify = haproxy" "$CA" "deny_issuer_thumbprints = $INTER_SHA256"
case_ haproxy-issuer-allow  chained-full.crt ok             allow_issuer_thumbprints yes "--verify 0" "verify = haproxy" "$CA" "allow_issuer_thumbprints = $INTER_SHA256"
case_ haproxy-issuer-deny-intermediates chained.crt cert_untrusted deny_issuer_thumbprints no "--verify 0" "verify = haproxy" "$CA" "intermediates = ca/inter/ca.pem" "deny_issuer_thumbprints = $INTER_SHA256"
case_ haproxy-issuer-deny-nopath chained.crt cert_untrusted issuer_unknown   no "--verify 0" "verify = haproxy" "$CA" "deny_issuer_thumbprints = $INTER_SHA256"
case_ haproxy-issuer-allow-nopath chained.crt cert_untrusted issuer_unknown  no "--verify 0" "verify = haproxy" "$CA" "allow_issuer_thumbprints = $INTER_SHA256"

# SPKI pins
case_ allow_spki_pins       id.crt         ok              allow_spki_pins    yes - "$A" "$CA" "allow_spki_pins = $ID_PIN"
case_ allow_spki_pins-not   other.crt      cert_untrusted  identity           yes - "$A" "$CA" "allow_spki_pins = $ID_PIN"
case_ deny_spki_pins        id.crt         cert_untrusted  deny_spki_pins     yes - "$A" "$CA" "deny_spki_pins = $ID_PIN"
case_ deny_spki_pins-not    other.crt      ok              verified           yes - "$A" "$CA" "deny_spki_pins = $ID_PIN"

# SPIFFE IDs: trust domain, path prefix (whole segments only)
case_ allow_spiffe-td       id.crt         ok              allow_spiffe       yes - "$A" "$CA" "allow_spiffe = spiffe://corpus.test"
case_ allow_spiffe-prefix   id.crt         ok              allow_spiffe       yes - "$A" "$CA" "allow_spiffe = spiffe://corpus.test/ns/prod"
case_ allow_spiffe-exact    id.crt         ok              allow_spiffe       yes - "$A" "$CA" "allow_spiffe = spiffe://corpus.test/ns/prod/sa/api"
case_ allow_spiffe-td-case  id.crt         ok              allow_spiffe       yes - "$A" "$CA" "allow_spiffe = spiffe://Corpus.TEST/ns/prod"
case_ allow_spiffe-path-case id.crt        cert_untrusted  identity           yes - "$A" "$CA" "allow_spiffe = spiffe://corpus.test/NS/prod"
case_ allow_spiffe-partial  id.crt         cert_untrusted  identity           yes - "$A" "$CA" "allow_spiffe = spiffe://corpus.test/ns/pro"
case_ allow_spiffe-other-td other.crt      cert_untrusted  identity           yes - "$A" "$CA" "allow_spiffe = spiffe://corpus.test"
case_ allow_spiffe-no-uri   good.crt       cert_untrusted  identity           yes - "$A" "$CA" "allow_spiffe = spiffe://corpus.test"
case_ deny_spiffe           id.crt         cert_untrusted  deny_spiffe        yes - "$A" "$CA" "deny_spiffe = spiffe://corpus.test/ns/prod"
case_ deny_spiffe-not       other.crt      ok              verified           yes - "$A" "$CA" "deny_spiffe = spiffe://corpus.test/ns/prod"

# URIs (exact)
case_ allow_uri             id.crt         ok              allow_uri          yes - "$A" "$CA" "allow_uri = https://corpus.test/clients/api"
case_ allow_uri-prefix-only id.crt         cert_untrusted  identity           yes - "$A" "$CA" "allow_uri = https://corpus.test/clients"
case_ deny_uri              id.crt         cert_untrusted  deny_uri           yes - "$A" "$CA" "deny_uri = spiffe://corpus.test/ns/prod/sa/api"
case_ deny_uri-not          other.crt      ok              verified           yes - "$A" "$CA" "deny_uri = https://corpus.test/clients/api"

# DNS names: exact, "*." = exactly one label
case_ allow_dns             id.crt         ok              allow_dns          yes - "$A" "$CA" "allow_dns = api.corpus.test"
case_ allow_dns-wildcard    id.crt         ok              allow_dns          yes - "$A" "$CA" "allow_dns = *.corpus.test"
case_ allow_dns-file        id.crt         ok              allow_dns          yes - "$A" "$CA" "allow_dns = @lists/dns-wild.txt"
case_ allow_dns-case        id.crt         ok              allow_dns          yes - "$A" "$CA" "allow_dns = API.Corpus.Test"
case_ allow_dns-wild-san    wild.crt       ok              allow_dns          yes - "$A" "$CA" "allow_dns = *.wild.corpus.test"
case_ allow_dns-wild-san-name wild.crt     cert_untrusted  identity           yes - "$A" "$CA" "allow_dns = x.wild.corpus.test"
case_ allow_dns-wild-san-up wild.crt       cert_untrusted  identity           yes - "$A" "$CA" "allow_dns = *.corpus.test"
case_ allow_dns-two-labels  id.crt         cert_untrusted  identity           yes - "$A" "$CA" "allow_dns = *.test"
case_ allow_dns-not         other.crt      cert_untrusted  identity           yes - "$A" "$CA" "allow_dns = api.corpus.test"
case_ deny_dns              id.crt         cert_untrusted  deny_dns           yes - "$A" "$CA" "deny_dns = *.corpus.test"
case_ deny_dns-not          id.crt         ok              verified           yes - "$A" "$CA" "deny_dns = other.corpus.test, *.example"

# e-mail addresses
case_ allow_email           id.crt         ok              allow_email        yes - "$A" "$CA" "allow_email = api@corpus.test"
case_ allow_email-case      id.crt         ok              allow_email        yes - "$A" "$CA" "allow_email = API@Corpus.Test"
case_ allow_email-not       other.crt      cert_untrusted  identity           yes - "$A" "$CA" "allow_email = api@corpus.test"
case_ deny_email            other.crt      cert_untrusted  deny_email         yes - "$A" "$CA" "deny_email = other@corpus.test"
case_ deny_email-not        id.crt         ok              verified           yes - "$A" "$CA" "deny_email = other@corpus.test"

# IP addresses (CIDR)
case_ allow_ip              id.crt         ok              allow_ip           yes - "$A" "$CA" "allow_ip = 10.1.0.0/16"
case_ allow_ip-v6           id.crt         ok              allow_ip           yes - "$A" "$CA" "allow_ip = fd00::/16"
case_ allow_ip-host         id.crt         ok              allow_ip           yes - "$A" "$CA" "allow_ip = 10.1.2.3/32"
case_ allow_ip-address      id.crt         ok              allow_ip           yes - "$A" "$CA" "allow_ip = 192.0.2.1, 10.1.2.3"
case_ allow_ip-v6-not       id.crt         cert_untrusted  identity           yes - "$A" "$CA" "allow_ip = fd01::/16"
case_ allow_ip-not          id.crt         cert_untrusted  identity           yes - "$A" "$CA" "allow_ip = 10.2.0.0/16, 192.168.0.0/16"
case_ deny_ip               other.crt      cert_untrusted  deny_ip            yes - "$A" "$CA" "deny_ip = 192.168.0.0/16"
case_ deny_ip-not           id.crt         ok              verified           yes - "$A" "$CA" "deny_ip = 192.168.0.0/16"

# common names
case_ allow_cn              id.crt         ok              allow_cn           yes - "$A" "$CA" "allow_cn = id client"
case_ allow_cn-case         id.crt         ok              allow_cn           yes - "$A" "$CA" "allow_cn = ID CLIENT"
case_ allow_cn-not          other.crt      cert_untrusted  identity           yes - "$A" "$CA" "allow_cn = id client, good client"
case_ deny_cn               other.crt      cert_untrusted  deny_cn            yes - "$A" "$CA" "deny_cn = other client"
case_ deny_cn-not           id.crt         ok              verified           yes - "$A" "$CA" "deny_cn = other client"

# several lists: deny always wins, any one allow list is enough
case_ deny-wins             id.crt         cert_untrusted  deny_cn            yes - "$A" "$CA" "allow_thumbprints = $ID_SHA256" "deny_cn = id client"
case_ deny-wins-spiffe      id.crt         cert_untrusted  deny_dns           yes - "$A" "$CA" "allow_spiffe = spiffe://corpus.test" "deny_dns = api.corpus.test"
case_ any-allow             id.crt         ok              allow_cn           yes - "$A" "$CA" "allow_dns = nothing.corpus.test" "allow_cn = id client"
case_ identity              id.crt         cert_untrusted  identity           yes - "$A" "$CA" "allow_dns = nothing.corpus.test" "allow_cn = nobody"
case_ identity-deny-only-miss id.crt       ok              verified           yes - "$A" "$CA" "deny_dns = nothing.corpus.test" "deny_cn = nobody"

# key, signature, lifetime and certificate-policy limits
case_ min_rsa_bits          rsa1024.crt    cert_untrusted  min_rsa_bits       yes - "$A" "$CA" "min_rsa_bits = 2048"
case_ min_rsa_bits-2048     rsa2048.crt    ok              verified           yes - "$A" "$CA" "min_rsa_bits = 2048"
case_ min_rsa_bits-ec       good.crt       ok              verified           yes - "$A" "$CA" "min_rsa_bits = 2048"
case_ allowed_curves        ec384.crt      cert_untrusted  allowed_curves     yes - "$A" "$CA" "allowed_curves = prime256v1"
case_ allowed_curves-p256   good.crt       ok              verified           yes - "$A" "$CA" "allowed_curves = P-256"
case_ allowed_curves-p384   ec384.crt      ok              verified           yes - "$A" "$CA" "allowed_curves = prime256v1, secp384r1"
case_ allowed_curves-rsa    rsa2048.crt    ok              verified           yes - "$A" "$CA" "allowed_curves = prime256v1"
case_ forbid_signature      sha1.crt       cert_untrusted  forbid_signature   yes - "$A" "$CA" "forbid_signature = md5, sha1"
case_ forbid_signature-sha256 good.crt     ok              verified           yes - "$A" "$CA" "forbid_signature = md5, sha1"
case_ forbid_signature-other sha1.crt      ok              verified           yes - "$A" "$CA" "forbid_signature = md5"
case_ max_lifetime_days     longlived.crt  cert_untrusted  max_lifetime_days  yes - "$A" "$CA" "max_lifetime_days = 398"
case_ max_lifetime_days-short good.crt     ok              verified           yes - "$A" "$CA" "max_lifetime_days = 398"
case_ require_policies      other.crt      cert_untrusted  require_policies   yes - "$A" "$CA" "require_policies = 1.3.6.1.4.1.55555.1.1"
case_ require_policies-has  id.crt         ok              verified           yes - "$A" "$CA" "require_policies = 1.3.6.1.4.1.55555.1.1"
case_ require_policies-two  id.crt         cert_untrusted  require_policies   yes - "$A" "$CA" "require_policies = 1.3.6.1.4.1.55555.1.1, 1.3.6.1.4.1.55555.1.2"

# SNI against Host (domain fronting); through HAProxy in policy.sh
case_ sni_host              good.crt       sni_host_mismatch sni_host         no "--sni a.example --host b.example" "$A" "$CA" "sni_host_match = yes"
case_ sni_host-same         good.crt       ok              verified           no "--sni a.example --host a.example:8443" "$A" "$CA" "sni_host_match = yes"
case_ sni_host-case         good.crt       ok              verified           no "--sni a.example --host A.Example" "$A" "$CA" "sni_host_match = yes"
case_ sni_host-off          good.crt       ok              verified           no "--sni a.example --host b.example" "$A" "$CA"

# shadow mode: a denial is reported, not enforced
case_ shadow                other.crt      ok              shadow             yes - "$A" "$CA" "mode = shadow" "allow_cn = id client"
case_ shadow-allowed        id.crt         ok              allow_cn           yes - "$A" "$CA" "mode = shadow" "allow_cn = id client"
case_ shadow-missing        -              ok              shadow             yes - "$A" "$CA" "mode = shadow"
case_ enforce               other.crt      cert_untrusted  identity           yes - "$A" "$CA" "mode = enforce" "allow_cn = id client"

echo "corpus.sh: $NCASES cases in $MANIFEST"
