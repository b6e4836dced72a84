#!/usr/bin/env bash
# run.sh - the runtime API (docs/OPERATE.md "Runtime API"): the real agent
# with an admin_socket and a state_dir behind the real HAProxy (the shipped
# mtls-api example), driven with curl, `certspoa ctl` and raw bytes on the
# socket (tests/ctl/raw.py: what plain socat sends).
#
#   tests/ctl/run.sh                 (make ctl; ONLY="protocol keepalive ...")
#   CERTSPOA_BIN=./certspoa-san tests/ctl/run.sh    (make SAN=address,undefined ctl)
#
# Parts: protocol traffic keepalive restart ttl kinds load state. Ends with
# "ctl: N passed, N failed".
set -u
. "$(dirname "$0")/../integration/lib.sh"
RAW=$TOP/tests/ctl/raw.py

only_parts protocol traffic keepalive restart ttl kinds load state
want() { part_wanted "$1"; }

workdir ctl
note "agent: $CERTSPOA_BIN"
note "work:  $WORK"
START=$SECONDS

check "test PKI generated (pki.sh)" make_pki
if [ ! -s "$PKI/allowed.sha256" ]; then
    fail "cannot go on without a PKI" "see $WORK/pki.log"
    finish ctl
    exit
fi
ALLOWED_SHA256=$(cat "$PKI/allowed.sha256")
CHAINED_SHA1=$(cat "$PKI/chained.sha1")
{
    echo "$ALLOWED_SHA256"
    cat "$PKI/chained.sha1"
} >"$WORK/allowed.txt"

ADMIN=$WORK/admin.sock
STATE=$WORK/state
mkdir -p "$STATE"
free_port AGENT_PORT
free_port STATS_HTTP_PORT
agent_ini "$WORK/agent.ini" "127.0.0.1:$AGENT_PORT" "$WORK/agent.ready" both "$PKI/ca.pem" "$WORK/allowed.txt" ||
    fail "example certspoa.ini has the keys the tests substitute"
# the runtime API's keys go in [agent] (after threads), a stats listener at the end
sed -i "s|^threads = .*|threads = 2\nadmin_socket = $ADMIN\nstate_dir = $STATE|" "$WORK/agent.ini"
printf '\n[stats]\nlisten = 127.0.0.1:%s\n' "$STATS_HTTP_PORT" >>"$WORK/agent.ini"
# the keepalive part counts one decision per request on one connection: no
# verdict reuse here (t-reuse.sh tests a runtime deny reaching a reused one)
sed -i 's/^\[policy default\]$/&\nreuse_max_age = 0/' "$WORK/agent.ini"

# ctl ARGS... - certspoa ctl on the admin socket; sets OUT and RC
ctl() {
    OUT=$("$CERTSPOA_BIN" ctl -S "$ADMIN" "$@" 2>&1)
    RC=$?
}

# raw BYTES [HOLD] - printf BYTES into the socket; sets OUT. The sending
# side stays open (the agent must close a one-command connection by
# itself); raw_eof closes it after BYTES, as socat does at the end of its input.
raw() {
    # shellcheck disable=SC2059 # BYTES is a printf format on purpose (\n, \x..)
    OUT=$(printf "$1" | python3 "$RAW" "$ADMIN" "${2:-0}")
}
raw_eof() {
    # shellcheck disable=SC2059 # as raw
    OUT=$(printf "$1" | RAW_EOF=1 python3 "$RAW" "$ADMIN" 0)
}

# has_line TEXT ERE - a line of TEXT matches ERE
has_line() {
    printf '%s\n' "$1" | grep -Eq -- "$2" && return 0
    WHY="no line of '$1' matches /$2/"
    return 1
}

# info_field NAME - a line "NAME: value" of show info
info_field() {
    ctl show info
    printf '%s\n' "$OUT" | sed -n "s/^$1: //p"
}

# answer TAG CERT - one request with CERT; sets STATUS, HDRS, BODY
answer() { req_cert "$1" "$2"; }

is_runtime_denied() {
    [ "$STATUS" = 403 ] || { WHY="status $STATUS, want 403"; return 1; }
    eq "$(hdr X-Certspoa-Code) $(hdr X-Certspoa-Rule)" "cert_untrusted runtime_deny"
}

is_ok() {
    [ "$STATUS" = 200 ] || { WHY="status $STATUS ($(hdr X-Certspoa-Code) $(hdr X-Certspoa-Rule)), want 200"; return 1; }
}

start_all() {
    AGENT_FLAGS="" start_agent_with agent "$WORK/agent.ini" "$WORK/agent.ready" 10
}

agent_up() { agent_is UP; }

if ! start_all; then
    fail "agent started with admin_socket and state_dir" "$WHY"
    finish ctl
    exit
fi
check "agent started with admin_socket and state_dir" true
if ! start_haproxy haproxy "$AGENT_ADDR"; then
    fail "haproxy started" "$WHY"
    finish ctl
    exit
fi
check "haproxy started, agent UP" wait_until 10 agent_up

# ---------------------------------------------------------------- protocol

if want protocol; then
    note "protocol [$((SECONDS - START)) s]"
    check "admin socket is mode 0600 by default (admin_socket_mode)" eq "$(stat -c %a "$ADMIN")" 600
    ctl help
    check "ctl help: exit 0" eq "$RC" 0
    for c in "show info" "show policies" "show inventory" "show denials" "show cache" "show denies" \
             "clear cache" "set log-level" "reload" "explain" "add deny" "del deny" "prompt" "quit"; do
        check "help lists '$c'" has "$OUT" "$c"
    done
    OUT=$("$CERTSPOA_BIN" ctl -f "$WORK/agent.ini" show info 2>&1)
    check "ctl -f CONFIG finds admin_socket: show info answers" has "$OUT" "name: certspoa"
    check "show info: the config generation" has "$OUT" "config_generation: 1"
    check "show info: 2 workers" has "$OUT" "workers: 2"
    raw 'show info\n'
    check "raw bytes (socat): one command, the answer, then the agent closes" has "$OUT" "version: "
    check "... and nothing after the first answer (no prompt)" hasnt "$OUT" "> "
    raw_eof 'show info'
    check "raw: a last command without its newline is answered at end of input" has "$OUT" "version: "
    raw 'prompt\nshow denies\n\nhelp\nquit\nshow info\n'
    check "prompt: each answer followed by a '> ' prompt" eq "$(printf '%s' "$OUT" | grep -c '^> ')" 4
    check "prompt: several commands on one connection" has "$OUT" "runtime denies"
    check "prompt: ... help too" has "$OUT" "show inventory"
    check "prompt: nothing after quit" hasnt "$OUT" "version: "
    ctl frobnicate
    check "unknown command: exit 1" eq "$RC" 1
    check "unknown command: a clear error" has "$OUT" "error: unknown command 'frobnicate'"
    ctl add deny thumbprint 1234
    check "add deny with a short thumbprint: refused with the reason" has "$OUT" "40 or 64 hex digits"
    ctl add deny fingerprint "$ALLOWED_SHA256"
    check "add deny with an unknown kind: refused" has "$OUT" "thumbprint, serial or spki"
    ctl add deny thumbprint "$ALLOWED_SHA256" ttl forever
    check "add deny with a bad ttl: refused" has "$OUT" "is not a duration"
    ctl set log-level loud
    check "set log-level loud: usage" has "$OUT" "usage: set log-level"
    raw "$(head -c 3000 /dev/zero | tr '\0' a)\n"
    check "a 3000-byte line: 'line too long', closed" has "$OUT" "error: line too long"
    raw 'show\xff\x01info\n'
    check "bytes that are not printable ASCII: an error" has "$OUT" "not printable ASCII"
    raw 'show info\n' 16
    check "a 17th connection while 16 are open: 'too many admin connections'" has "$OUT" "too many admin connections"
    raw 'show info\n'
    check "... then served again once they are gone" has "$OUT" "version: "
    check "agent alive after the bad input" kill -0 "$AGENT_PID"
    ctl set log-level debug
    check "set log-level debug: ok" has "$OUT" "ok: log level debug"
    check "show info: log_level debug" eq "$(info_field log_level)" debug
    ctl reload
    check "reload: generation 2" has "$OUT" "ok: configuration generation 2 loaded"
    check "show info after reload: generation 2, log level from the config again" \
        eq "$(info_field config_generation) $(info_field log_level)" "2 info"
    ctl show policies
    check "show policies: the default policy, its mode and verification" \
        has "$OUT" "policy default (default): mode enforce, verify both"
    check "show policies: the thumbprint list with its size and the file's SHA-256" \
        has "$OUT" "  thumbprints: 2 entries, file $WORK/allowed.txt, sha256 $(sha256sum <"$WORK/allowed.txt" | cut -d' ' -f1)"
    check "show policies: the config file's SHA-256" \
        has "$OUT" "sha256 $(sha256sum <"$WORK/agent.ini" | cut -d' ' -f1)"
fi

# ---------------------------------------------------------------- traffic

if want traffic || want keepalive || want restart || want kinds || want load; then
    answer t-allowed allowed
    check "allowed certificate: 200 before any runtime deny" is_ok
    answer t-notlisted notlisted
    check "notlisted: 403 cert_untrusted" eq "$STATUS $(hdr X-Certspoa-Code)" "403 cert_untrusted"
fi

if want traffic; then
    note "traffic [$((SECONDS - START)) s]"
    ctl show inventory
    check "show inventory: the allowed certificate, allow ok, its rule" has_line "$OUT" "^$ALLOWED_SHA256 [^ ]+ [0-9]+ allow ok allow_thumbprints "
    check "show inventory: the notlisted one, denied" has_line "$OUT" " deny cert_untrusted allow_thumbprints .*CN=not-listed client"
    ctl show denials
    check "show denials: the notlisted denial" has_line "$OUT" "cert_untrusted default 127.0.0.1 [0-9a-f]{64} CN=not-listed client.* \\| thumbprint is not on the trusted list"
    ctl show cache
    check "show cache: one line per worker" eq "$(printf '%s\n' "$OUT" | grep -c '^[01] ')" 2
    check "show cache: totals" matches "$OUT" "total: 2 distinct certificates"
    ctl explain "$ALLOWED_SHA256"
    check "explain SHA256: the last decision and its rule" has "$OUT" "last_decision: allow ok rule allow_thumbprints at "
    check "explain: no runtime deny yet" has "$OUT" "runtime_deny: none"
    ctl explain "$(printf '0%.0s' {1..64})"
    check "explain an unseen certificate: error, exit 1" eq "$RC $(printf '%s' "$OUT" | cut -c1-6)" "1 error:"
    ctl clear cache
    check "clear cache: ok" has "$OUT" "ok: every worker empties"
    ctl show inventory
    check "after clear cache: the inventory is empty" has "$OUT" "# 0 certificates"
    answer t-allowed-2 allowed
    check "after clear cache: still allowed (facts parsed again)" is_ok
fi

# ---------------------------------------------------------------- keepalive

if want keepalive; then
    note "keepalive [$((SECONDS - START)) s]"
    # One curl, twelve requests on one connection, four a second; after the
    # second answer, add deny on the certificate it presents.
    urls=()
    for i in $(seq 1 12); do urls+=(-o /dev/null "https://localhost:$HTTPS_PORT/api/ka/$i"); done
    base=$(info_field decisions)
    $CURL -s --max-time 30 --cacert "$PKI/ca.pem" --cert "$PKI/allowed.crt" --key "$PKI/allowed.key" \
        --resolve "localhost:$HTTPS_PORT:127.0.0.1" --rate 4/s \
        -w '%{http_code} %{num_connects} %{local_port} %header{x-certspoa-code} %header{x-certspoa-rule}\n' \
        "${urls[@]}" >"$WORK/ka.out" 2>"$WORK/ka.err" &
    ka_pid=$!
    two_more() { [ "$(info_field decisions)" -ge $((base + 2)) ]; }
    if wait_until 10 two_more; then
        ctl add deny thumbprint "$ALLOWED_SHA256" comment keep-alive test
        check "add deny on an open keep-alive client's thumbprint: ok" has "$OUT" "ok: deny thumbprint $ALLOWED_SHA256 added, expires never"
    else
        fail "keep-alive: the first two answers came" "$(cat "$WORK/ka.err")"
    fi
    wait "$ka_pid"
    check "keep-alive curl finished (exit 0)" eq "$?" 0
    ka=$(cat "$WORK/ka.out")
    note "keep-alive answers: $(printf '%s' "$ka" | awk '{ printf "%s ", $1 }')"
    check "keep-alive: 12 answers" eq "$(printf '%s\n' "$ka" | grep -c .)" 12
    check "keep-alive: one TCP connection for all" \
        eq "$(printf '%s\n' "$ka" | awk '{ n += $2 } END { print n + 0 }')/$(printf '%s\n' "$ka" | awk '{ print $3 }' | sort -u | grep -c .)" 1/1
    check "keep-alive: allowed before (at least 2 x 200), denied after on the SAME connection, never allowed again" \
        matches "$(printf '%s\n' "$ka" | awk '{ print $1 }' | uniq -c | awk '{ printf "%s:%s ", $2, $1 }')" '^200:([2-9]|1[0-9]) 403:[0-9]+ $'
    check "keep-alive: the denials say cert_untrusted runtime_deny" \
        eq "$(printf '%s\n' "$ka" | grep '^403 ' | awk '{ print $4, $5 }' | sort -u)" "cert_untrusted runtime_deny"
    answer k-new allowed
    check "a new connection with that certificate: 403 runtime_deny" is_runtime_denied
    ctl reload
    check "reload with a runtime deny in force: ok" has "$OUT" "ok: configuration generation"
    answer k-reloaded allowed
    check "after a reload: still denied (runtime denies are not part of the config)" is_runtime_denied
    ctl show denies
    check "show denies: the entry, its origin (uid/ctl) and comment" \
        has_line "$OUT" "^thumbprint $ALLOWED_SHA256 expires never added [0-9T:Z-]+ by uid=$(id -u)/ctl comment keep-alive test$"
    raw 'show denies\n'
    check "show denies over raw bytes too" has "$OUT" "thumbprint $ALLOWED_SHA256"
    check "the agent logged the change with its origin" \
        file_has "$WORK/agent.log" "runtime deny added: thumbprint $ALLOWED_SHA256 expires never origin uid=$(id -u)/ctl"
    check "the state file holds it" file_has "$STATE/runtime-denies" "thumbprint $ALLOWED_SHA256 0 "
    check "the state file is 0600" eq "$(stat -c %a "$STATE/runtime-denies")" 600
    json=$($CURL -s "http://127.0.0.1:$STATS_HTTP_PORT/stats.json")
    check "stats.json: runtime_denies [{kind,value,expires,comment,origin}]" \
        has "$json" "\"runtime_denies\":[{\"kind\":\"thumbprint\",\"value\":\"$ALLOWED_SHA256\",\"expires\":0,"
    check "stats.json: ... with its comment and origin" has "$json" "\"comment\":\"keep-alive test\",\"origin\":\"uid=$(id -u)/ctl\"}]"
    metrics=$($CURL -s "http://127.0.0.1:$STATS_HTTP_PORT/metrics")
    check "/metrics: the denials counted with rule=\"runtime_deny\"" \
        matches "$metrics" 'certspoa_decisions_total\{[^}]*rule="runtime_deny"[^}]*\} [1-9]'
    ctl show policies
    check "show policies: the runtime denies count" has "$OUT" "runtime denies: 1 in force"
    ctl explain "$ALLOWED_SHA256"
    check "explain: the runtime deny applies now" has "$OUT" "now: deny (runtime_deny)"
    check "explain: the last decision was the runtime denial" has "$OUT" "last_decision: deny cert_untrusted rule runtime_deny at "
    ctl show denials
    check "show denials: the runtime denial" has "$OUT" "denied at runtime by thumbprint"
fi

# ---------------------------------------------------------------- restart

if want restart; then
    note "restart [$((SECONDS - START)) s]"
    [ -n "$(ctl show denies; printf '%s' "$OUT" | grep "^thumbprint $ALLOWED_SHA256")" ] ||
        ctl add deny thumbprint "$ALLOWED_SHA256" comment restart test
    stop_agent "$AGENT_PID"
    check "agent stopped (exit 0)" eq "$AGENT_RC" 0
    check "the admin socket is removed at exit" test ! -e "$ADMIN"
    if start_all; then
        check "agent restarted" true
        check "haproxy sees the agent UP again" wait_until 15 agent_up
        answer r-allowed allowed
        check "after a restart: still denied (runtime_deny from the state file)" is_runtime_denied
        check "the agent logged loading it" file_has "$WORK/agent.log" "runtime denies loaded from $STATE/runtime-denies"
        ctl del deny thumbprint "${ALLOWED_SHA256^^}"
        check "del deny (in upper case: the same thumbprint): ok" has "$OUT" "ok: deny thumbprint $ALLOWED_SHA256 deleted"
        check "the deletion is logged with its origin" \
            file_has "$WORK/agent.log" "runtime deny deleted: thumbprint $ALLOWED_SHA256 origin uid=$(id -u)/ctl"
        answer r-allowed-2 allowed
        check "after del deny: allowed again at once" is_ok
        ctl del deny thumbprint "$ALLOWED_SHA256"
        check "del deny of what is not there: error, exit 1" eq "$RC" 1
    else
        fail "agent restarted" "$WHY"
    fi
fi

# ---------------------------------------------------------------- ttl

if want ttl; then
    note "ttl [$((SECONDS - START)) s]"
    req_cert tt-0 chained-full
    check "chained client (listed by SHA-1): 200" is_ok
    ctl add deny thumbprint "$CHAINED_SHA1" ttl 2s comment short
    check "add deny by SHA-1 with ttl 2s: ok, with its expiry" has_line "$OUT" "^ok: deny thumbprint $CHAINED_SHA1 added, expires [0-9T:-]+Z"
    req_cert tt-1 chained-full
    check "denied at once (SHA-1 thumbprint)" is_runtime_denied
    ttl_over() { req_cert tt-2 chained-full; [ "$STATUS" = 200 ]; }
    check "allowed again once the ttl is over" wait_until 6 ttl_over
    # (the purge runs once a second: the log and the state file may lag the decision by up to 1 s)
    check "the expiry is logged" wait_until 3 file_has "$WORK/agent.log" "runtime deny expired: thumbprint $CHAINED_SHA1"
    ctl show denies
    check "show denies: empty after the expiry" has "$OUT" "# 0 runtime denies"
    check "the state file no longer has it" wait_until 3 file_hasnt "$STATE/runtime-denies" "$CHAINED_SHA1"
fi

# ---------------------------------------------------------------- kinds

if want kinds; then
    note "kinds [$((SECONDS - START)) s]"
    serial=$(openssl x509 -in "$PKI/allowed.crt" -noout -serial | sed 's/^serial=//')
    ctl add deny serial "$serial"
    check "add deny serial (as openssl prints it): ok" has "$OUT" "ok: deny serial"
    answer s-1 allowed
    check "denied by serial" is_runtime_denied
    ctl del deny serial "$(printf '%s' "$serial" | tr 'A-F' 'a-f' | sed 's/../&:/g; s/:$//')"
    check "del deny serial (lower case, with colons: the same serial)" has "$OUT" "deleted"
    answer s-2 allowed
    check "allowed after del deny serial" is_ok
    pin=$(openssl x509 -in "$PKI/allowed.crt" -noout -pubkey | openssl pkey -pubin -outform DER |
          openssl dgst -sha256 -binary | base64)
    ctl add deny spki "$pin" comment compromised key
    check "add deny spki: ok" has "$OUT" "ok: deny spki $pin added"
    answer p-1 allowed
    check "denied by SPKI pin" is_runtime_denied
    answer p-other chained-full
    check "another key: still allowed" is_ok
    ctl del deny spki "$pin"
    answer p-2 allowed
    check "allowed after del deny spki" is_ok
fi

# ---------------------------------------------------------------- load

if want load; then
    note "load [$((SECONDS - START)) s]"
    # curl traffic, 6 ctl clients adding 25 denies each (distinct fake
    # thumbprints) and 2 readers, all at once
    ka_urls=()
    for i in $(seq 1 150); do ka_urls+=(-o /dev/null "https://localhost:$HTTPS_PORT/api/load/$i"); done
    curls=()
    for l in 1 2; do
        $CURL -s --max-time 60 --cacert "$PKI/ca.pem" --cert "$PKI/allowed.crt" --key "$PKI/allowed.key" \
            --resolve "localhost:$HTTPS_PORT:127.0.0.1" -w '%{http_code}\n' "${ka_urls[@]}" \
            >"$WORK/load-$l.out" 2>&1 &
        curls+=($!)
    done
    pids=()
    for c in 1 2 3 4 5 6; do
        (
            for j in $(seq 1 25); do
                "$CERTSPOA_BIN" ctl -S "$ADMIN" add deny thumbprint \
                    "$(printf '%s' "load-$c-$j" | sha256sum | cut -d' ' -f1)" comment "load $c $j" || echo "ctl failed $c $j"
            done >"$WORK/load-ctl-$c.out" 2>&1
        ) &
        pids+=($!)
    done
    for r in 1 2; do
        (
            for j in $(seq 1 20); do
                "$CERTSPOA_BIN" ctl -S "$ADMIN" show info >/dev/null || echo "show info failed"
                "$CERTSPOA_BIN" ctl -S "$ADMIN" show inventory >/dev/null || echo "show inventory failed"
                "$CERTSPOA_BIN" ctl -S "$ADMIN" show denies >/dev/null || echo "show denies failed"
            done >"$WORK/load-read-$r.out" 2>&1
        ) &
        pids+=($!)
    done
    wait "${pids[@]}" "${curls[@]}"
    check "every ctl client answered ok" eq "$(cat "$WORK"/load-ctl-*.out "$WORK"/load-read-*.out | grep -c failed)" 0
    ctl show denies
    check "no lost update: 150 runtime denies" has "$OUT" "# 150 runtime denies"
    check "the state file has all 150" eq "$(grep -c '^thumbprint ' "$STATE/runtime-denies")" 150
    check "the curl load was answered 300 x 200 meanwhile" \
        eq "$(cat "$WORK"/load-1.out "$WORK"/load-2.out | grep -c '^200$')" 300
    check "agent alive" kill -0 "$AGENT_PID"
    pids=()
    for c in 1 2 3 4 5 6; do
        (
            for j in $(seq 1 25); do
                "$CERTSPOA_BIN" ctl -S "$ADMIN" del deny thumbprint \
                    "$(printf '%s' "load-$c-$j" | sha256sum | cut -d' ' -f1)" || echo "ctl failed $c $j"
            done >"$WORK/load-del-$c.out" 2>&1
        ) &
        pids+=($!)
    done
    wait "${pids[@]}"
    check "every del deny answered ok" eq "$(cat "$WORK"/load-del-*.out | grep -c failed)" 0
    ctl show denies
    check "all deleted: 0 runtime denies" has "$OUT" "# 0 runtime denies"
fi

# ---------------------------------------------------------------- state

if want state; then
    note "state [$((SECONDS - START)) s]"
    MAIN_AGENT_PID=$AGENT_PID
    bad=$WORK/bad-state
    mkdir -p "$bad"
    sed "s|^state_dir = .*|state_dir = $bad|; s|^admin_socket = .*|admin_socket = $WORK/bad.sock|; s|^listen = .*|listen = 127.0.0.1:0|; s|^ready_file = .*|ready_file = $WORK/bad.ready|; /^\[stats\]/,\$d" \
        "$WORK/agent.ini" >"$WORK/bad.ini"
    printf '# a state file damaged by hand\nthumbprint %s 0 0 uid=0/ctl fine\nthumbprint nothex 0 0 uid=0/ctl bad\n' \
        "$ALLOWED_SHA256" >"$bad/runtime-denies"
    "$CERTSPOA_BIN" -f "$WORK/bad.ini" >"$WORK/bad.log" 2>&1
    rc=$?
    check "a damaged state file: the agent refuses to start (exit 78)" eq "$rc" 78
    check "... naming the file and the line" file_has "$WORK/bad.log" "$bad/runtime-denies: line 3: a thumbprint is 40 or 64 hex digits"
    check "... and it never listened (no ready_file)" test ! -e "$WORK/bad.ready"
    sed -i "s|^state_dir = .*|state_dir = $WORK/missing-dir|" "$WORK/bad.ini"
    "$CERTSPOA_BIN" -f "$WORK/bad.ini" >"$WORK/bad2.log" 2>&1
    check "a state_dir that does not exist: refused at start" eq "$?" 78
    check "... saying so" file_has "$WORK/bad2.log" "state_dir $WORK/missing-dir"
    sed -i "s|^state_dir = .*|state_dir = $bad|; s|^admin_socket = .*|admin_socket = $WORK/bad.sock\nadmin_socket_group = nosuchgroup-ctl\nadmin_socket_mode = 0660|" "$WORK/bad.ini"
    rm -f "$bad/runtime-denies"
    "$CERTSPOA_BIN" -f "$WORK/bad.ini" >"$WORK/bad3.log" 2>&1
    check "admin_socket_group that does not exist: refused at start (78)" eq "$?" 78
    check "... saying so" file_has "$WORK/bad3.log" "admin_socket_group nosuchgroup-ctl: no such group"
    sed -i "s|^admin_socket_group = .*|admin_socket_group = $(id -gn)|" "$WORK/bad.ini"
    if start_agent_with grp "$WORK/bad.ini" "$WORK/bad.ready" 10; then
        check "admin_socket_group and admin_socket_mode 0660 applied" \
            eq "$(stat -c '%a %G' "$WORK/bad.sock")" "660 $(id -gn)"
        stop_agent "$AGENT_PID"
    else
        fail "agent with admin_socket_group started" "$WHY"
    fi
    sed "s|^admin_socket = .*|admin_socket = relative/admin.sock|" "$WORK/bad.ini" >"$WORK/rel.ini"
    out=$("$CERTSPOA_BIN" -c -f "$WORK/rel.ini" 2>&1)
    check "certspoa -c: a relative admin_socket is refused (78)" eq "$?" 78
    check "... naming the key" has "$out" "admin_socket: 'relative/admin.sock' is not an absolute unix socket path"
    AGENT_PID=$MAIN_AGENT_PID
fi

stop_haproxy
stop_agent "$AGENT_PID"
check "agent exits 0 at the end" eq "$AGENT_RC" 0
check "no sanitizer report in the agent's log" file_hasnt "$WORK/agent.log" "runtime error"
check "no AddressSanitizer/LeakSanitizer report in the agent's log" file_hasnt "$WORK/agent.log" "Sanitizer"
note "ctl suite took $((SECONDS - START)) s"
finish ctl
