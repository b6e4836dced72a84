#!/usr/bin/env bash
# t-resume.sh - issuer rules on resumed TLS sessions (finding #1).
#
# A resumed TLS session carries no ssl_c_chain_der: HAProxy hands the agent
# the leaf alone. An issuer rule (deny_issuer_thumbprints pinning a
# compromised intermediate) that only looks at the chain the client sent
# is skipped on resumption, and a client denied on its first connection is
# let in on its second. Likewise a client that first sends its leaf alone,
# then leaf + intermediate (the agent learns the intermediate), then the
# leaf alone again.
#
# Through haproxy-examples/mtls-api as shipped, with one agent holding a
# policy per verify mode (haproxy, agent, both) for each of
# deny_issuer_thumbprints and allow_issuer_thumbprints, picked by path:
#   - full handshake (leaf + intermediate) -> 403; then the SAME session
#     resumed, TLS 1.3 ticket and TLS 1.2 session id (openssl s_client
#     -sess_out / -sess_in, "Reused" checked) -> 403 as well;
#   - the allow_ variant: the listed intermediate's client is served on the
#     full and on the resumed session; a root-issued client is refused on
#     both;
#   - ordering: leaf alone, leaf + intermediate, leaf alone again -> never
#     served.
set -u
. "$(dirname "$0")/lib.sh"
adv_begin resume

INTER_TP=$(sha256_of "$PKI/inter-ca.pem")
check "intermediate CA thumbprint computed" matches "$INTER_TP" '^[0-9a-f]{64}$'

INI=$WORK/resume.ini
{
    printf '[agent]\nthreads = 2\n\n'
    printf '[policy default]\nverify = haproxy\n\n'
    for m in haproxy agent both; do
        k=${m:0:1}
        printf '[policy deny_%s]\nverify = %s\nca_file = %s\ndeny_issuer_thumbprints = %s\n\n' \
            "$m" "$m" "$PKI/ca.pem" "$INTER_TP"
        printf '[policy allow_%s]\nverify = %s\nca_file = %s\nallow_issuer_thumbprints = %s\n\n' \
            "$m" "$m" "$PKI/ca.pem" "$INTER_TP"
        printf '[policy order_%s]\nverify = %s\nca_file = %s\ndeny_issuer_thumbprints = %s\n\n' \
            "$m" "$m" "$PKI/ca.pem" "$INTER_TP"
        printf '[route d%s]\npath_prefix = /d%s/\npolicy = deny_%s\n\n' "$k" "$k" "$m"
        printf '[route a%s]\npath_prefix = /a%s/\npolicy = allow_%s\n\n' "$k" "$k" "$m"
        printf '[route o%s]\npath_prefix = /o%s/\npolicy = order_%s\n\n' "$k" "$k" "$m"
    done
} >"$INI"

if ! adv_mtls resume "$INI"; then
    fail "agent and HAProxy (mtls-api example) start" "$WHY"
    adv_end
    exit
fi
CONNECT=127.0.0.1:$HTTPS_PORT

# request PATH - the raw HTTP/1.1 request s_client sends
request() { printf 'GET %s HTTP/1.1\\r\\nHost: localhost\\r\\nConnection: close\\r\\n\\r\\n' "$1"; }

# issuer_denied - 403, refused by the issuer rule (or, with the fix, for
# an issuer that cannot be established), never served
issuer_denied() {
    not_served || return 1
    [ "$STATUS" = 403 ] || { WHY="got $(describe), want 403"; return 1; }
    case $(hdr X-Certspoa-Rule) in
        deny_issuer_thumbprints|issuer_unknown|allow_issuer_thumbprints|identity) return 0 ;;
    esac
    WHY="rule '$(hdr X-Certspoa-Rule)', want an issuer rule: $(describe)"
    return 1
}

# resumed, as s_client and as HAProxy (ssl_fc_is_resumed) see it
reused() {
    eq "$REUSED" Reused || return 1
    eq "$(hdr X-Test-TLS-Resumed)" 1 || { WHY="HAProxy's ssl_fc_is_resumed: $WHY"; return 1; }
}
served_or_unknown() {
    [ "$STATUS $(hdr X-Certspoa-Rule)" = "403 issuer_unknown" ] && not_served && return 0
    served_as "$1"
}
fresh() {
    eq "$REUSED" New || return 1
    eq "$(hdr X-Test-TLS-Resumed)" 0 || { WHY="HAProxy's ssl_fc_is_resumed: $WHY"; return 1; }
}

# ------------------------------------------------------------ ordering first
# (before any request has shown the agent the intermediate)

note "ordering: leaf alone, leaf + intermediate, leaf alone again [$((SECONDS - START)) s]"
for m in haproxy agent both; do
    k=${m:0:1}
    aget_cert "o$k-1" "$BASE/o$k/x" chained
    check "order verify=$m: 1. leaf alone -> not served" not_served
    aget_cert "o$k-2" "$BASE/o$k/x" chained-full
    check "order verify=$m: 2. leaf + intermediate -> 403 deny_issuer_thumbprints" \
        denied 403 cert_untrusted deny_issuer_thumbprints
    aget_cert "o$k-3" "$BASE/o$k/x" chained
    check "order verify=$m: 3. leaf alone again -> not served" not_served
done

# ------------------------------------------------------------ resumption

CHAIN=(-cert "$PKI/chained.crt" -key "$PKI/chained.key" -cert_chain "$PKI/inter-ca.pem")
ROOTC=(-cert "$PKI/allowed.crt" -key "$PKI/allowed.key")

# resume_case TAG PATH EXPECT CERTARGS... - a full handshake and the same
# session resumed, for TLS 1.3 (ticket), TLS 1.2 (session id) and TLS 1.2
# (ticket); EXPECT is "deny" or "serve:CERT".
resume_case() {
    local tag=$1 path=$2 expect=$3 v vargs s
    shift 3
    for v in 13 12id 12t; do
        case $v in
            13) vargs=(-tls1_3) ;;
            12id) vargs=(-tls1_2 -no_ticket) ;;
            12t) vargs=(-tls1_2) ;;
        esac
        s=$WORK/$tag-$v.sess
        sclient "$tag-$v-full" "$CONNECT" "$(request "$path")" -servername localhost "${vargs[@]}" "$@" \
            -sess_out "$s"
        check "$tag TLS $v: full handshake (New)" fresh
        if [ "$expect" = deny ]; then
            check "$tag TLS $v: full handshake -> 403 issuer rule" issuer_denied
        else
            check "$tag TLS $v: full handshake -> served, the app got the leaf" served_as "${expect#serve:}"
        fi
        sclient "$tag-$v-resumed" "$CONNECT" "$(request "$path")" -servername localhost "${vargs[@]}" "$@" \
            -sess_in "$s"
        check "$tag TLS $v: the session WAS resumed (s_client: Reused; HAProxy: ssl_fc_is_resumed 1)" reused
        if [ "$expect" = deny ]; then
            check "$tag TLS $v: resumed session -> 403 as well" issuer_denied
        elif [ "$tag" != "${tag#*verify=haproxy}" ]; then
            # HAProxy verified; the agent may not hold the intermediate to
            # rebuild the path: then it must deny (issuer_unknown), never
            # skip the rule
            check "$tag TLS $v: resumed session -> served, or 403 issuer_unknown" \
                served_or_unknown "${expect#serve:}"
        else
            check "$tag TLS $v: resumed session -> served as well" served_as "${expect#serve:}"
        fi
    done
}

for m in haproxy agent both; do
    k=${m:0:1}
    note "verify = $m [$((SECONDS - START)) s]"
    resume_case "deny_issuer verify=$m" "/d$k/x" deny "${CHAIN[@]}"
    resume_case "allow_issuer verify=$m, listed intermediate" "/a$k/x" serve:chained "${CHAIN[@]}"
    resume_case "allow_issuer verify=$m, root-issued client" "/a$k/x" deny "${ROOTC[@]}"
done

# The realistic order: the session is made on a route without issuer
# rules (the agent never looked at the chain), then resumed for one with.
note "session made on the default route, resumed on an issuer route [$((SECONDS - START)) s]"
for m in haproxy agent both; do
    k=${m:0:1}
    for v in 13 12id; do
        case $v in
            13) vargs=(-tls1_3) ;;
            12id) vargs=(-tls1_2 -no_ticket) ;;
        esac
        s=$WORK/x$k-$v.sess
        sclient "x$k-$v-full" "$CONNECT" "$(request /x)" -servername localhost "${vargs[@]}" "${CHAIN[@]}" \
            -sess_out "$s"
        check "cross verify=$m TLS $v: full handshake on the default route -> served" served_as chained
        sclient "x$k-$v-resumed" "$CONNECT" "$(request "/d$k/x")" -servername localhost "${vargs[@]}" \
            "${CHAIN[@]}" -sess_in "$s"
        check "cross verify=$m TLS $v: the session WAS resumed" reused
        check "cross verify=$m TLS $v: resumed on the deny_issuer route -> 403" issuer_denied
    done
done

# The decisions on resumed sessions were made without a chain from HAProxy:
# make sure HAProxy did resume (ssl_fc_is_resumed is not logged by the
# example: s_client's "Reused" above is the evidence), and that the agent
# is still up and answering.
aget_cert alive "$BASE/dh/x" allowed
check "agent still answers (root-issued client on deny_haproxy -> 200)" served_as allowed

stop_pid "$HAP_PID"
stop_agent "$AGENT_PID"
check "agent exits 0 on SIGTERM" eq "$AGENT_RC" 0
adv_end
