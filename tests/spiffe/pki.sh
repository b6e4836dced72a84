#!/usr/bin/env bash
# pki.sh DIR - the SPIFFE test PKI, made at test time (nothing expires in the
# repository): two trust domains, td1.test and td2.test, each with its own CA,
# and X.509-SVIDs good and bad. Files in DIR:
#   ca.pem            every CA pooled (HAProxy's ca-file, and the server's CA
#                     for curl): what a pooled store would trust
#   server.pem        HAProxy's certificate and key (CN=localhost)
#   td1-bundle.json   td1.test's SPIFFE bundle (JWK Set, one x509-svid key)
#   td1-bundle2.json  the same after a rotation: the new td1 CA only
#   td2-bundle.pem    td2.test's bundle as PEM
#   NAME.crt NAME.key client certificates:
#     td1-web, td1-api   spiffe://td1.test/web, /api (two keys: rate limiting)
#     td2-db             spiffe://td2.test/db
#     cross              spiffe://td2.test/db signed by td1.test's CA
#     unknown            spiffe://td3.test/x signed by td1.test's CA
#     multi              two URI SANs
#     nonspiffe          an https URI SAN
#     caleaf             CA:TRUE with spiffe://td1.test/ca
#     kcs                CA:FALSE but keyCertSign (spiffe://td1.test/kcs)
#     rotated            spiffe://td1.test/web signed by the new td1 CA
set -eu
dir=$1
mkdir -p "$dir"
cd "$dir"
days=2
key() { openssl genpkey -algorithm EC -pkeyopt ec_paramgen_curve:P-256 -out "$1.key" 2>/dev/null; }

# ca NAME CN
ca() {
    key "$1"
    openssl req -x509 -new -key "$1.key" -subj "/O=certspoa test/CN=$2" -days "$days" \
        -addext "basicConstraints=critical,CA:TRUE" -addext "keyUsage=critical,keyCertSign,cRLSign" \
        -out "$1.crt" 2>/dev/null
}

# leaf NAME CA KEYNAME EXTENSIONS...
leaf() {
    local name=$1 ca=$2 k=$3 ext
    shift 3
    [ -f "$k.key" ] || key "$k"
    [ "$k" = "$name" ] || cp "$k.key" "$name.key"
    ext=$(mktemp)
    printf '%s\n' "$@" >"$ext"
    openssl req -new -key "$name.key" -subj "/O=certspoa test/CN=$name" -out "$name.csr" 2>/dev/null
    openssl x509 -req -in "$name.csr" -CA "$ca.crt" -CAkey "$ca.key" -CAcreateserial \
        -days "$days" -extfile "$ext" -out "$name.crt" 2>/dev/null
    rm -f "$ext" "$name.csr"
}

svid() {   # svid NAME CA KEY URI...
    local name=$1 ca=$2 k=$3 san="" u
    shift 3
    for u in "$@"; do san="${san:+$san,}URI:$u"; done
    leaf "$name" "$ca" "$k" "basicConstraints=critical,CA:FALSE" \
        "keyUsage=critical,digitalSignature" "extendedKeyUsage=clientAuth" "subjectAltName=$san"
}

ca td1ca "td1.test CA"
ca td1ca2 "td1.test CA (rotated)"
ca td2ca "td2.test CA"
ca srvca "server CA"
leaf server srvca server "subjectAltName=DNS:localhost" "extendedKeyUsage=serverAuth"
cat server.crt server.key >server.pem
cat srvca.crt td1ca.crt td1ca2.crt td2ca.crt >ca.pem

svid td1-web td1ca kweb spiffe://td1.test/web
svid td1-api td1ca kapi spiffe://td1.test/api
svid td2-db td2ca kdb spiffe://td2.test/db
svid cross td1ca kcross spiffe://td2.test/db
svid unknown td1ca kunk spiffe://td3.test/x
svid multi td1ca kmulti spiffe://td1.test/a spiffe://td1.test/b
svid nonspiffe td1ca knon https://td1.test/web
leaf caleaf td1ca kca "basicConstraints=critical,CA:TRUE" "keyUsage=critical,digitalSignature,keyCertSign" \
    "subjectAltName=URI:spiffe://td1.test/ca"
leaf kcs td1ca kkcs "basicConstraints=critical,CA:FALSE" "keyUsage=critical,digitalSignature,keyCertSign" \
    "extendedKeyUsage=clientAuth" "subjectAltName=URI:spiffe://td1.test/kcs"
svid rotated td1ca2 kweb spiffe://td1.test/web

# bundle CAFILE... - a SPIFFE bundle document with these authorities
bundle() {
    local first=1 c
    printf '{\n  "spiffe_sequence": 1,\n  "spiffe_refresh_hint": 300,\n  "keys": ['
    for c in "$@"; do
        [ "$first" = 1 ] || printf ','
        first=0
        printf '\n    {"kty": "EC", "use": "x509-svid", "x5c": ["%s"]}' \
            "$(openssl x509 -in "$c" -outform DER | base64 -w0)"
    done
    printf '\n  ]\n}\n'
}
bundle td1ca.crt >td1-bundle.json
bundle td1ca2.crt >td1-bundle2.json
cp td2ca.crt td2-bundle.pem
