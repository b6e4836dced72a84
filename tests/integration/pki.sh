#!/usr/bin/env bash
# pki.sh OUTDIR - generate the throw-away test PKI for the integration tests
# and the demo, with the openssl CLI only (OpenSSL 3.0 or later).
#
# Everything is made fresh at test time and lives for a few days at most;
# nothing here is ever committed (.gitignore has *.pem *.key *.crt).
#
# OUTDIR afterwards holds (PEM unless stated):
#   ca.pem ca.key                 root CA: HAProxy's bind "ca-file" and the
#                                 agent's ca_file (verify = agent|both)
#   inter-ca.pem inter-ca.key     intermediate CA signed by the root
#   untrusted-ca.pem .key         a second root that nobody trusts
#   server.crt server.key         CN=localhost, SAN DNS:localhost IP:127.0.0.1
#   server.pem                    server.crt + server.key, for HAProxy "crt"
#   allowed.crt .key              client, root CA, on the thumbprint list
#   notlisted.crt .key            client, root CA, NOT on the list
#   expired.crt .key              client, root CA, validity entirely in the past
#   untrusted.crt .key            client signed by untrusted-ca
#   chained.crt .key              client signed by inter-ca, on the list
#   chained-full.crt .key         chained.crt followed by inter-ca.pem (what the
#                                 client sends: its leaf and the intermediate)
#   big.crt .key                  client, root CA, valid, ~9.5 KB DER, not listed
#   huge.crt .key                 the same, ~24 KB DER: larger than HAProxy's
#                                 16 KB buffer (ssl_c_der is NULL), not listed
#   <name>.der                    DER of each client certificate
#   allowed.sha256 allowed.sha1   thumbprints of allowed.crt, lowercase hex
#   chained.sha256 chained.sha1   thumbprints of chained.crt, lowercase hex
set -euo pipefail

die() { echo "pki.sh: $*" >&2; exit 1; }

[ $# -eq 1 ] || die "usage: pki.sh OUTDIR"
out=$1
mkdir -p "$out"
cd "$out"
command -v openssl >/dev/null || die "openssl not found"

DAYS=${PKI_DAYS:-2}     # lifetime of every certificate that is meant to be valid

# Elliptic-curve keys: instant to generate, small DER (short SPOP frames).
newkey() {
    openssl genpkey -algorithm EC -pkeyopt ec_paramgen_curve:P-256 \
        -out "$1.key" 2>/dev/null
    chmod 600 "$1.key"
}

# X.509v3 extensions for every kind of certificate we issue.
cat > ext.cnf <<'CNF'
[ca]
basicConstraints = critical, CA:TRUE
keyUsage = critical, keyCertSign, cRLSign
subjectKeyIdentifier = hash
authorityKeyIdentifier = keyid:always

[inter]
basicConstraints = critical, CA:TRUE, pathlen:0
keyUsage = critical, keyCertSign, cRLSign
subjectKeyIdentifier = hash
authorityKeyIdentifier = keyid:always

[server]
basicConstraints = critical, CA:FALSE
keyUsage = critical, digitalSignature
extendedKeyUsage = serverAuth
subjectAltName = DNS:localhost, IP:127.0.0.1
subjectKeyIdentifier = hash
authorityKeyIdentifier = keyid

[client]
basicConstraints = critical, CA:FALSE
keyUsage = critical, digitalSignature
extendedKeyUsage = clientAuth
subjectKeyIdentifier = hash
authorityKeyIdentifier = keyid
CNF

# selfsign NAME CN
selfsign() {
    newkey "$1"
    openssl req -new -x509 -key "$1.key" -subj "/O=certspoa test/CN=$2" \
        -days "$DAYS" -sha256 -extensions ca -config ext.cnf -out "$1.pem" \
        2>/dev/null
}

# issue NAME CN ISSUER EXTSECTION [OUTSUFFIX]
issue() {
    local name=$1 cn=$2 ca=$3 ext=$4 suffix=${5:-crt}
    newkey "$name"
    openssl req -new -key "$name.key" -subj "/O=certspoa test/CN=$cn" \
        -out "$name.csr" 2>/dev/null
    openssl x509 -req -in "$name.csr" -CA "$ca.pem" -CAkey "$ca.key" \
        -CAcreateserial -days "$DAYS" -sha256 \
        -extfile ext.cnf -extensions "$ext" -out "$name.$suffix" 2>/dev/null
    rm -f "$name.csr"
}

selfsign ca "certspoa test root CA"
selfsign untrusted-ca "certspoa untrusted CA"
issue inter-ca "certspoa test intermediate CA" ca inter pem

issue server localhost ca server
cat server.crt server.key > server.pem
chmod 600 server.pem

issue allowed   "allowed client"     ca           client
issue notlisted "not-listed client"  ca           client
issue untrusted "untrusted client"   untrusted-ca client
issue chained   "chained client"     inter-ca     client
cat chained.crt inter-ca.pem > chained-full.crt
cp chained.key chained-full.key

# Valid clients with a long subjectAltName: big (~9.5 KB DER: fits one SPOP
# frame, but not together with an 8 KB request path) and huge (~24 KB: larger
# than HAProxy's 16 KB buffer, so its ssl_c_der fetch fails: the agent gets
# present=true and no certificate).
# oversized NAME COUNT
oversized() {
    {
        echo "[$1]"
        echo "basicConstraints = critical, CA:FALSE"
        echo "keyUsage = critical, digitalSignature"
        echo "extendedKeyUsage = clientAuth"
        echo "subjectAltName = @${1}_san"
        echo "[${1}_san]"
        for i in $(seq 1 "$2"); do
            echo "DNS.$i = host-$i.oversized-certificate.certspoa.test"
        done
    } >> ext.cnf
    issue "$1" "$1 client" ca "$1"
}
oversized big 200
oversized huge 520

# The expired client: "openssl x509 -req" on OpenSSL 3.0 cannot set dates in
# the past, "openssl ca" can (-startdate/-enddate, YYMMDDHHMMSSZ).
newkey expired
openssl req -new -key expired.key -subj "/O=certspoa test/CN=expired client" \
    -out expired.csr 2>/dev/null
mkdir -p ca-db
: > ca-db/index.txt
echo 1000 > ca-db/serial
cat > ca-db/ca.cnf <<CNF
[ca]
default_ca = test_ca
[test_ca]
dir = $PWD/ca-db
database = \$dir/index.txt
serial = \$dir/serial
new_certs_dir = \$dir
certificate = $PWD/ca.pem
private_key = $PWD/ca.key
default_md = sha256
policy = anything
unique_subject = no
copy_extensions = none
[anything]
organizationName = optional
commonName = supplied
CNF
start=$(date -u -d '-3 days' +%y%m%d%H%M%SZ)
end=$(date -u -d '-1 day' +%y%m%d%H%M%SZ)
openssl ca -batch -notext -config ca-db/ca.cnf -startdate "$start" \
    -enddate "$end" -extfile ext.cnf -extensions client \
    -in expired.csr -out expired.crt 2>/dev/null \
    || die "openssl ca failed to issue the expired certificate"
rm -f expired.csr

for c in allowed notlisted expired untrusted chained big huge; do
    openssl x509 -in "$c.crt" -outform DER -out "$c.der"
done

# thumbprint NAME ALG -> lowercase hex, no colons
thumbprint() {
    openssl x509 -in "$1.crt" -noout -fingerprint "-$2" \
        | sed 's/^.*=//; s/://g' | tr 'A-F' 'a-f'
}
for c in allowed chained; do
    thumbprint "$c" sha256 > "$c.sha256"
    thumbprint "$c" sha1 > "$c.sha1"
done

# Sanity: the valid ones verify, the bad ones do not (catches an openssl that
# silently did something else).
openssl verify -CAfile ca.pem allowed.crt notlisted.crt >/dev/null \
    || die "allowed/notlisted do not verify against ca.pem"
openssl verify -CAfile ca.pem -untrusted inter-ca.pem chained.crt >/dev/null \
    || die "chained does not verify through inter-ca"
if openssl verify -CAfile ca.pem expired.crt >/dev/null 2>&1; then
    die "expired.crt verifies: its dates are not in the past"
fi
if openssl verify -CAfile ca.pem untrusted.crt >/dev/null 2>&1; then
    die "untrusted.crt verifies against ca.pem"
fi
