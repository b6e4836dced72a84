# shellcheck shell=bash
# tests/spiffe/t-redteam.sh - the part "redteam" of tests/spiffe/run.sh
# (sourced by it: its PKI, helpers and VERSIONS). Attacks on client_id and
# the rate-limit example through real HAProxy and curl, with
# client_id = spiffe and per-trust-domain bundles:
#   - a certificate of td1's CA claiming td2's SPIFFE ID ("cross") is
#     denied; when HAProxy counts failed attempts too (track-sc0 before
#     the deny), its failures must not spend the victim's (td2-db) budget
#   - two SPIFFE IDs of exactly 128 bytes (client_id's bound) that differ
#     in their last byte are two stick-table keys ("type string len 128"
#     cuts nothing)
#   - requests on one keep-alive connection, and HTTP/2 streams sent in
#     parallel on one connection, are each counted

if part_wanted redteam; then
    # two IDs of 128 bytes: "spiffe://td1.test/" (18) + 110
    long=$(printf 'a%.0s' $(seq 1 109))
    ( cd "$PKI" && for n in 1 2; do
          openssl genpkey -algorithm EC -pkeyopt ec_paramgen_curve:P-256 -out "long$n.key" 2>/dev/null
          openssl req -new -key "long$n.key" -subj "/O=certspoa test/CN=long$n" -out "long$n.csr" 2>/dev/null
          printf '%s\n' "basicConstraints=critical,CA:FALSE" "keyUsage=critical,digitalSignature" \
              "extendedKeyUsage=clientAuth" "subjectAltName=URI:spiffe://td1.test/$long$n" >"long$n.ext"
          openssl x509 -req -in "long$n.csr" -CA td1ca.crt -CAkey td1ca.key -CAcreateserial \
              -days 2 -extfile "long$n.ext" -out "long$n.crt" 2>/dev/null
      done ) >"$WORK/redteam-pki.log" 2>&1
    check "redteam: 128-byte SPIFFE IDs made" test -s "$PKI/long2.crt"

    # the rate-limit example's agent, with the trust domains and client_id = spiffe
    sed -e "s|^listen = .*|listen = 127.0.0.1:0\nready_file = $WORK/ready|" \
        -e "s|^ca_file = .*|spiffe_bundles = td1.test=$PKI/td1-bundle.json, td2.test=$PKI/td2-bundle.pem|" \
        -e "s|^client_id = .*|client_id = spiffe|" \
        "$RL/certspoa.ini" >"$WORK/rt.ini"
    # and a HAProxy that counts failed attempts: track-sc0 before the deny
    awk '/^    http-request track-sc0 / { next }
         /^    # 1\. fail closed/ { print "    http-request track-sc0 var(txn.certspoa.client_id) table per-client if { var(txn.certspoa.client_id) -m found }" }
         { print }' "$RL/haproxy.cfg" >"$WORK/rt-count-fails.cfg"
    check "redteam: the variant tracks before the deny" file_has "$WORK/rt-count-fails.cfg" "track-sc0"

    for V in $VERSIONS; do
        hap_cmd "$V"
        if ! check "redteam $V: agent starts" start_agent "rt-agent-$V" "$WORK/rt.ini" "$WORK/ready"; then
            continue
        fi
        if check "redteam $V: haproxy starts (counting failed attempts)" \
            start_haproxy_env "rt-fails-$V" "HTTPS_PORT APP_PORT STATS_PORT" rl_env "$WORK/rt-count-fails.cfg"; then
            burst cross 6
            check "redteam $V: td1's CA claiming spiffe://td2.test/db is refused" \
                eq "$STATUSES" "403 403 403 403 403 403"
            check "redteam $V: ... as cert_unverified" eq "$(hdr X-Certspoa-Code)" cert_unverified
            hap_req rt-victim td2-db
            check "redteam $V: the victim's budget is untouched by the forger's failures" eq "$STATUS" 200
            check "redteam $V: the victim's client_id is its SPIFFE ID" eq "$BODY" "client-id: spiffe://td2.test/db"
            stop_haproxy
        fi
        if check "redteam $V: haproxy starts (haproxy-examples/rate-limit)" \
            start_haproxy_env "rt-rl-$V" "HTTPS_PORT APP_PORT STATS_PORT" rl_env "$RL/haproxy.cfg"; then
            burst long1 5
            check "redteam $V: 5 requests with a 128-byte ID pass" eq "$STATUSES" "200 200 200 200 200"
            id=${BODY#client-id: }
            check "redteam $V: its client_id is the whole ID, 128 bytes" eq "${#id}" 128
            burst long1 1
            check "redteam $V: the 128-byte ID over its limit gets 429" eq "$STATUSES" 429
            burst long2 1
            check "redteam $V: an ID differing only in byte 128 has its own bucket" eq "$STATUSES" 200
            # one keep-alive connection, 7 requests: each is counted
            urls=()
            for _ in 1 2 3 4 5 6 7; do urls+=(-o /dev/null "https://localhost:$HTTPS_PORT/api/ping"); done
            out=$($CURL -s --max-time 20 --cacert "$PKI/ca.pem" --resolve "localhost:$HTTPS_PORT:127.0.0.1" \
                  --cert "$PKI/td2-db.crt" --key "$PKI/td2-db.key" -w '%{http_code} %{num_connects}\n' "${urls[@]}")
            check "redteam $V: 7 requests on one connection: 5 pass, 2 limited" \
                eq "$(printf '%s\n' "$out" | awk '{ printf "%s%s", (NR > 1 ? " " : ""), $1 }')" \
                "200 200 200 200 200 429 429"
            check "redteam $V: ... and they did share one connection" \
                eq "$(printf '%s\n' "$out" | awk '{ s += $2 } END { print s }')" 1
            stop_haproxy
        fi
        # the same over HTTP/2: 7 streams, in parallel, on one connection
        sed 's|^\(    bind "${CERTSPOA_HTTPS_BIND[^ ]*\) ssl |\1 ssl alpn h2,http/1.1 |' "$RL/haproxy.cfg" >"$WORK/rt-h2.cfg"
        if check "redteam $V: haproxy starts (rate-limit example with alpn h2)" \
            start_haproxy_env "rt-h2-$V" "HTTPS_PORT APP_PORT STATS_PORT" rl_env "$WORK/rt-h2.cfg"; then
            urls=()
            for _ in 1 2 3 4 5 6 7; do urls+=(-o /dev/null "https://localhost:$HTTPS_PORT/api/ping"); done
            out=$($CURL -s --http2 --parallel --parallel-immediate --max-time 20 --cacert "$PKI/ca.pem" \
                  --resolve "localhost:$HTTPS_PORT:127.0.0.1" --cert "$PKI/td2-db.crt" --key "$PKI/td2-db.key" \
                  -w '%{http_code} %{http_version}\n' "${urls[@]}" 2>/dev/null)
            check "redteam $V: HTTP/2: every stream was h2" \
                eq "$(printf '%s\n' "$out" | awk '$2 != "2" { bad++ } END { print bad + 0 }')" 0
            check "redteam $V: HTTP/2: 7 streams, 5 pass, 2 limited" \
                eq "$(printf '%s\n' "$out" | awk '{ print $1 }' | sort | uniq -c | awk '{ printf "%s%s:%s", (NR > 1 ? " " : ""), $2, $1 }')" \
                "200:5 429:2"
            stop_haproxy
        fi
        stop_agent "$AGENT_PID"
    done
fi
