#!/usr/bin/env bash
# shellcheck disable=SC2034  # HAP_ENV, HDRS, BODY are read by lib.sh helpers
# t-routes.sh - route selection cannot be dodged (finding #3).
#
# certspoa picks the policy from the request's path, Host and SNI. If the
# agent compares them as sent while the application normalizes them, a
# request for the protected route can be spelled so that the agent sees
# "not /admin" (and applies the lenient default policy) while the
# application serves /admin.
#
# Through haproxy-examples/mtls-api as shipped: [route admin] (path_prefix
# /admin) and [route adminhost] (host admin.example.com) go to a strict
# policy the "not-listed client" is not on; the default policy admits any
# verified certificate. For every spelling the request must be decided by
# the strict policy or refused as ambiguous, never served by the default
# policy; what the application receives must be the normalized path.
set -u
. "$(dirname "$0")/lib.sh"
adv_begin routes

INI=$WORK/routes.ini
cat >"$INI" <<INI
[agent]
threads = 2

[policy default]
verify = haproxy

[policy admin]
verify = haproxy
allow_cn = allowed client

[route admin]
path_prefix = /admin
policy = admin

[route adminhost]
host = admin.example.com
policy = admin
INI

if ! adv_mtls routes "$INI"; then
    fail "agent and HAProxy (mtls-api example) start" "$WHY"
    adv_end
    exit
fi
PUB=https://public.example.com:$HTTPS_PORT
ADM=https://admin.example.com:$HTTPS_PORT

# the strict policy's denial of the not-listed client
admin_denied() { denied 403 cert_untrusted identity; }
# ambiguous requests: refused (403 bad_request RULE) by certspoa, or
# refused by HAProxy itself before certspoa (400, nothing reached the app)
refused() {
    if [ "$STATUS" = 400 ] && [ -z "$(hdr X-Certspoa-Code)" ]; then
        not_served
        return
    fi
    denied 403 bad_request "$1"
}
# app_path PATH - served (200) and the application received PATH
app_path() {
    [ "$STATUS" = 200 ] || { WHY="got $(describe), want 200"; return 1; }
    eq "$(hdr X-Test-App-Path)" "$1" || { WHY="the application received path: $WHY"; return 1; }
}

note "controls [$((SECONDS - START)) s]"
aget_cert c-admin "$PUB/admin/x" notlisted --http1.1
check "control: /admin/x, not-listed client -> 403 by the admin policy" admin_denied
aget_cert c-pub "$PUB/public/x" notlisted --http1.1
check "control: /public/x, not-listed client -> served (default policy)" served_as notlisted
check "control: the application received /public/x" eq "$(hdr X-Test-App-Path)" /public/x
aget_cert c-admin-ok "$PUB/admin/x" allowed --http1.1
check "control: /admin/x, listed client -> served" served_as allowed

note "path spellings of /admin [$((SECONDS - START)) s]"
for p in '//admin/x' '/ADMIN/x' '/./admin/x' '/x/../admin/x' '/%61dmin/x' '/adm%69n/x' '/admin/./x' \
    '///admin/x' '/Admin/x' '/%41DMIN/x' '/%2E%2E/admin/x' '/public/%2e%2e/admin/x' '/admin?x=1'; do
    aget_cert "p-$p" "$PUB$p" notlisted --http1.1 --path-as-is
    check "path $p -> 403 by the admin policy, not the default" admin_denied
done
for p in '/%2Fadmin/x' '/%2fadmin/x' '/;/admin/x' '/a\..\admin/x' '/%00/admin/x' '/admin%00/x' \
    '/public/..;/admin/x' '/admin;jsessionid=x/y' \
    '/%2e/admin/x' '/%2e%2e/admin/x' '/%252Fadmin/x' '/%C0%AFadmin/x' '/%E0%80%AFadmin/x'; do
    aget_cert "q-$p" "$PUB$p" notlisted --http1.1 --path-as-is
    case $p in
        # %2e is an unreserved character: decoded, then a dot segment
        *%2e*) check "path $p -> 403 by the admin policy (or refused as ambiguous)" \
            eval 'admin_denied || refused path_ambiguous' ;;
        *) check "path $p -> 403 bad_request path_ambiguous" refused path_ambiguous ;;
    esac
done
aget_cert p-h2 "$PUB//admin/x" notlisted --http2 --path-as-is
check "HTTP/2 path //admin/x -> 403 by the admin policy" admin_denied

note "the application receives the normalized path [$((SECONDS - START)) s]"
aget_cert n-admin "$PUB//admin/./y/../x" allowed --http1.1 --path-as-is
check "listed client, //admin/./y/../x: served, the app received /admin/x" app_path /admin/x
aget_cert n-admin-enc "$PUB/%61dmin/x" allowed --http1.1 --path-as-is
check "listed client, /%61dmin/x: served, the app received /admin/x" app_path /admin/x
aget_cert n-pub "$PUB/public//a/../b" notlisted --http1.1 --path-as-is
check "default policy, /public//a/../b: served, the app received /public/b" app_path /public/b
aget_cert n-pub-h2 "$PUB/public/./c" notlisted --http2 --path-as-is
check "default policy over HTTP/2, /public/./c: the app received /public/c" app_path /public/c

note "Host spellings of admin.example.com [$((SECONDS - START)) s]"
aget_cert h-plain "$ADM/x" notlisted --http1.1
check "control: SNI+Host admin.example.com -> 403 by the admin policy" admin_denied
aget_cert h-dot "$ADM/x" notlisted --http1.1 -H "Host: admin.example.com."
check "Host admin.example.com. (trailing dot) -> 403 by the admin policy" admin_denied
aget_cert h-upper "$ADM/x" notlisted --http1.1 -H "Host: ADMIN.example.com:443"
check "Host ADMIN.example.com:443 -> 403 by the admin policy" admin_denied
aget_cert h-upper-dot "$ADM/x" notlisted --http1.1 -H "Host: ADMIN.example.com.:443"
check "Host ADMIN.example.com.:443 -> 403 by the admin policy" admin_denied
aget_cert h-upper-h2 "https://ADMIN.EXAMPLE.COM:$HTTPS_PORT/x" notlisted --http2 \
    --resolve "ADMIN.EXAMPLE.COM:$HTTPS_PORT:127.0.0.1"
check "HTTP/2, SNI and :authority ADMIN.EXAMPLE.COM -> 403 by the admin policy" admin_denied
for h in 'admin.example.com@public.example.com' 'public.example.com@admin.example.com' 'admin.example.com:443@x' \
    'admin.example.com:abc' '[admin.example.com]' 'admin.example.com..' 'admin%2eexample.com' 'admin.example.com%00' \
    'admin.example.com:0443' 'admin.example.com:'; do
    sclient "h-odd-$h" "127.0.0.1:$HTTPS_PORT" "GET /x HTTP/1.1\\r\\nHost: $h\\r\\nConnection: close\\r\\n\\r\\n" \
        -servername admin.example.com -cert "$PKI/notlisted.crt" -key "$PKI/notlisted.key"
    check "SNI admin, Host '$h' -> the admin policy or refused, never the default" \
        eval 'admin_denied || refused host_ambiguous || denied 403 sni_host_mismatch'
done
aget_cert h-none "$ADM/x" notlisted --http1.0 -H "Host:"
check "HTTP/1.0 without Host (SNI admin) -> refused, host_ambiguous" refused host_ambiguous

CONNECT=127.0.0.1:$HTTPS_PORT
NL=(-cert "$PKI/notlisted.crt" -key "$PKI/notlisted.key")
sclient h-two "$CONNECT" 'GET /x HTTP/1.1\r\nHost: admin.example.com\r\nHost: public.example.com\r\nConnection: close\r\n\r\n' \
    -servername admin.example.com "${NL[@]}"
check "two Host headers (admin, public) -> refused, host_ambiguous" refused host_ambiguous
sclient h-two-rev "$CONNECT" 'GET /x HTTP/1.1\r\nHost: public.example.com\r\nHost: admin.example.com\r\nConnection: close\r\n\r\n' \
    -servername public.example.com "${NL[@]}"
check "two Host headers (public, admin) -> refused, host_ambiguous" refused host_ambiguous
sclient h-list "$CONNECT" 'GET /x HTTP/1.1\r\nHost: public.example.com, admin.example.com\r\nConnection: close\r\n\r\n' \
    -servername public.example.com "${NL[@]}"
check "Host: public.example.com, admin.example.com -> refused, host_ambiguous" refused host_ambiguous

note "SNI vs Host, :authority vs Host, absolute-form [$((SECONDS - START)) s]"
aget_cert s-front "$PUB/x" notlisted --http1.1 -H "Host: admin.example.com"
check "SNI public, Host admin -> 403 sni_host_mismatch" denied 403 sni_host_mismatch
aget_cert s-front-h2 "$PUB/x" notlisted --http2 -H "Host: admin.example.com"
check "HTTP/2: SNI public, :authority admin -> 403 sni_host_mismatch" denied 403 sni_host_mismatch
aget_cert s-back "$ADM/x" notlisted --http1.1 -H "Host: public.example.com"
check "SNI admin, Host public -> 403 sni_host_mismatch" denied 403 sni_host_mismatch

# h2raw TAG SNI FIELD=VALUE... - an HTTP/2 request with exactly these fields
h2raw() {
    local tag=$1 sni=$2 out=$WORK/resp/$1.h2
    shift 2
    timeout 15 python3 "$ADV_DIR/h2req.py" --connect "127.0.0.1:$HTTPS_PORT" --sni "$sni" \
        --cert "$PKI/notlisted.crt" --key "$PKI/notlisted.key" "$@" >"$out" 2>"$WORK/resp/$tag.err"
    STATUS=$(head -n 1 "$out" | awk '{ print $2 }')
    HDRS=$(sed '/^$/q' "$out")
    BODY=$(sed '1,/^$/d' "$out")
}
h2raw a-auth admin.example.com ':method=GET' ':scheme=https' ':authority=admin.example.com' ':path=/x' \
    'host=public.example.com'
check "HTTP/2 :authority admin, host public (SNI admin) -> never the default policy" \
    eval 'denied 403 sni_host_mismatch || refused host_ambiguous || admin_denied'
h2raw a-auth2 public.example.com ':method=GET' ':scheme=https' ':authority=public.example.com' ':path=/x' \
    'host=admin.example.com'
# HAProxy replaces a host field by :authority (RFC 9113 8.3.1): served by
# the default policy is right if the application, too, got Host public
check "HTTP/2 :authority public, host admin (SNI public) -> refused, or served with Host public" \
    eval 'denied 403 sni_host_mismatch || refused host_ambiguous || { [ "$STATUS" = 200 ] && eq "$(hdr X-Test-App-Host)" public.example.com; }'
h2raw a-ctl public.example.com ':method=GET' ':scheme=https' ':authority=public.example.com' ':path=/public/x'
check "HTTP/2 raw client, control: :authority public -> served (the client works)" eq "$STATUS" 200

aget_cert abs "$PUB/x" notlisted --http1.1 --request-target "https://admin.example.com/public/x"
check "absolute-form https://admin.example.com/public/x, Host public (SNI public) -> never the default policy" \
    eval 'denied 403 sni_host_mismatch || refused host_ambiguous || admin_denied'
aget_cert abs-path "$PUB/x" notlisted --http1.1 --request-target "https://public.example.com//admin/x"
check "absolute-form https://public.example.com//admin/x -> 403 by the admin policy (or refused)" \
    eval 'admin_denied || refused path_ambiguous'

stop_pid "$HAP_PID"
stop_agent "$AGENT_PID"
check "agent exits 0 on SIGTERM" eq "$AGENT_RC" 0
adv_end
