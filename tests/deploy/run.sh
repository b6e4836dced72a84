#!/usr/bin/env bash
# run.sh - deployment tests: what "make install", the systemd unit, the
# Dockerfile and the Kubernetes example promise, checked without a Docker
# engine or a running systemd.
#
#   tests/deploy/run.sh
#
#   1. make install DESTDIR=...: the file layout, modes, the example config;
#      make install-config never overwrites.
#   2. man pages: they render (man -l, groff -ww, mandoc -T lint when
#      installed) and their key list is exactly "certspoa --help-config".
#   3. systemd: systemd-analyze verify and security --offline on the unit
#      and its drop-in; every system call the agent makes (start, SPOP,
#      reload, stats, stop, under strace) passes the unit's SystemCallFilter;
#      the unix-socket drop-in's permission model (group + UMask).
#   4. Dockerfile: a lint of our own (hadolint is not in Debian); the build
#      stage replayed from its COPY and RUN lines; the binary needs only the
#      runtime stage's packages.
#   5. Kubernetes: the YAML parses and is consistent (k8s_check.py).
#   6. The pod without Docker: a root laid out as the image (Dockerfile COPY
#      lines) plus the pod's volumes (kubelet's ..data symlink layout),
#      read-only, in a private mount namespace; the ENTRYPOINT and HAProxy
#      with the pod's haproxy.cfg run in it as user 10001 with no
#      capabilities; SPOP health check, real mTLS requests, /healthz,
#      /readyz, /metrics, the image's HEALTHCHECK, a ConfigMap update (good,
#      then broken) picked up by reload_watch, certspoa reload, SIGTERM.
#
# Needs root for 3 (setpriv) and 6 (unshare, mount, chroot); without root
# those parts are skipped and say so. Debian packages: make gcc libc6-dev
# libssl-dev libev-dev libinih-dev haproxy curl openssl python3 python3-yaml
# systemd (systemd-analyze only) strace groff-base man-db mandoc util-linux binutils.
# Everything listens on 127.0.0.1. Ends with "deploy: N passed, N failed".
set -u
. "$(dirname "$0")/../integration/lib.sh"
HERE=$TOP/tests/deploy
K8S=$TOP/haproxy-examples/sidecar/k8s
UNIT=$TOP/haproxy-examples/systemd/certspoa.service
DROPIN=$TOP/haproxy-examples/systemd/unix-socket.conf
DOCKERFILE=$TOP/Dockerfile

workdir deploy
# Files the unprivileged runs (nobody, 10001) read: under /tmp, so that the
# checkout's own directories need not be open to them.
PUB=$(mktemp -d /tmp/certspoa-deploy.XXXXXX)
chmod 0755 "$PUB"
trap 'cleanup; rm -rf "$PUB"' EXIT
SKIPS=()
skip() {
    SKIPS+=("$1")
    printf 'skip %s\n' "$1"
}
IS_ROOT=0
[ "$(id -u)" -eq 0 ] && IS_ROOT=1
PY=python3
if [ -x /usr/bin/python3 ] && /usr/bin/python3 -c 'import yaml' 2>/dev/null; then
    PY=/usr/bin/python3
fi
note "work: $WORK"

# run_quiet OUT CMD... - run CMD with stdout+stderr in OUT; its status.
run_quiet() {
    local out=$1
    shift
    "$@" >"$out" 2>&1
}
rc_is() { # rc_is WANT OUTFILE CMD... - CMD exits WANT (WHY shows its output)
    local want=$1 out=$2 rc
    shift 2
    "$@" >"$out" 2>&1
    rc=$?
    [ "$rc" = "$want" ] && return 0
    WHY="exit $rc, want $want: $(tail -n 5 "$out" | tr '\n' ' ' | cut -c1-400)"
    return 1
}
empty_file() {
    [ ! -s "$1" ] && return 0
    WHY="$(head -n 5 "$1" | tr '\n' ' ' | cut -c1-400)"
    return 1
}
same_file() {
    cmp -s "$1" "$2" && return 0
    WHY="$1 differs from $2: $(diff "$1" "$2" 2>&1 | head -n 6 | tr '\n' ' ' | cut -c1-300)"
    return 1
}
mode_is() { # mode_is FILE MODE
    local m
    m=$(stat -c %a "$1" 2>/dev/null)
    eq "$m" "$2" || { WHY="$1: mode $WHY"; return 1; }
}

# ================================================================ 1. install
D=$WORK/destdir
if ! run_quiet "$WORK/build.log" make -C "$TOP" -s certspoa; then
    fail "make certspoa" "$(tail -n 5 "$WORK/build.log" | tr '\n' ' ')"
    finish deploy
    exit 1
fi
check "install: make install DESTDIR=... succeeds" rc_is 0 "$WORK/install.log" \
    make -C "$TOP" -s install DESTDIR="$D"
BIN=$D/usr/local/bin/certspoa
SHARE=$D/usr/local/share/certspoa
MAN=$D/usr/local/share/man
cp "$BIN" "$PUB/certspoa" 2>/dev/null && chmod 0755 "$PUB/certspoa"

installed_list() { (cd "$D" && find . \( -type f -o -type l \) | sort | tr '\n' ' '); }
check "install: exactly the binary, 2 man pages, SPOE config, example config" \
    eq "$(installed_list)" "./usr/local/bin/certspoa ./usr/local/share/certspoa/certspoa-forwarded.conf ./usr/local/share/certspoa/certspoa.conf ./usr/local/share/certspoa/certspoa.ini.example ./usr/local/share/man/man5/certspoa.ini.5 ./usr/local/share/man/man8/certspoa.8 "
check "install: binary is 0755 and runs" eval 'mode_is "$BIN" 755 && "$BIN" --version >/dev/null'
check "install: data files are 0644" eval 'mode_is "$SHARE/certspoa.conf" 644 && mode_is "$SHARE/certspoa.ini.example" 644 && mode_is "$MAN/man8/certspoa.8" 644 && mode_is "$MAN/man5/certspoa.ini.5" 644'
check "install: share/certspoa/certspoa.conf is spoe-conf/certspoa.conf" \
    same_file "$SHARE/certspoa.conf" "$TOP/spoe-conf/certspoa.conf"
"$BIN" --example-config >"$WORK/example.ini" 2>&1
check "install: certspoa.ini.example is --example-config" same_file "$SHARE/certspoa.ini.example" "$WORK/example.ini"
check "install: the example config passes certspoa -c" rc_is 0 "$WORK/example-c.log" "$BIN" -c -f "$SHARE/certspoa.ini.example"
check "install-config: writes /etc/certspoa/certspoa.ini" rc_is 0 "$WORK/ic1.log" \
    make -C "$TOP" -s install-config DESTDIR="$D"
check "install-config: it is the example" same_file "$D/etc/certspoa/certspoa.ini" "$WORK/example.ini"
echo "; local edit" >>"$D/etc/certspoa/certspoa.ini"
cp "$D/etc/certspoa/certspoa.ini" "$WORK/edited.ini"
make -C "$TOP" -s install-config DESTDIR="$D" >"$WORK/ic2.log" 2>&1
check "install-config: never overwrites an existing config" same_file "$D/etc/certspoa/certspoa.ini" "$WORK/edited.ini"
check "install-config: says it left the file alone" file_has "$WORK/ic2.log" "left as it is"
D2=$WORK/destdir-usr
make -C "$TOP" -s install DESTDIR="$D2" PREFIX=/usr >"$WORK/install-usr.log" 2>&1
check "install: PREFIX=/usr puts the binary in /usr/bin" test -x "$D2/usr/bin/certspoa"
check "install: PREFIX=/usr man pages name /usr/share/certspoa" \
    eval 'grep -q "/usr/share/certspoa" "$D2/usr/share/man/man8/certspoa.8" && ! grep -q "/usr/local" "$D2/usr/share/man/man8/certspoa.8"'

# ================================================================ 2. man pages
for page in man8/certspoa.8 man5/certspoa.ini.5; do
    f=$MAN/$page
    if command -v man >/dev/null; then
        MANWIDTH=80 man -l "$f" >"$WORK/${page#*/}.txt" 2>"$WORK/${page#*/}.man-err"
        check "man: man -l $page renders with NAME and SEE ALSO" \
            eval 'grep -q "^NAME" "$WORK/${page#*/}.txt" && grep -q "^SEE ALSO" "$WORK/${page#*/}.txt"'
    else
        skip "man: man -l $page (man-db not installed)"
    fi
    if command -v groff >/dev/null; then
        LC_ALL=C.UTF-8 groff -man -Tutf8 -ww -z "$f" >"$WORK/groff.out" 2>&1
        check "man: groff -ww has no warnings for $page" empty_file "$WORK/groff.out"
    else
        skip "man: groff -ww $page (groff-base not installed)"
    fi
    if command -v mandoc >/dev/null; then
        mandoc -T lint -W warning "$f" >"$WORK/mandoc.out" 2>&1
        check "man: mandoc -T lint -W warning is clean for $page" empty_file "$WORK/mandoc.out"
    else
        skip "man: mandoc -T lint $page (mandoc not installed)"
    fi
done

# The key list: "section key type default" from the installed page's source
# and from --help-config must be the same lines.
man_keys() {
    awk '
        /^\.SS "\[/ { s = $0; sub(/^\.SS "\[/, "", s); sub(/\]"$/, "", s); next }
        /^\.SH / { s = "" }
        prev == ".TP" && s != "" && /^\\fB/ {
            l = $0
            k = l; sub(/^\\fB/, "", k); sub(/\\fR.*/, "", k)
            t = l; sub(/^[^=]*= \\fI/, "", t); sub(/\\fR \(default: .*/, "", t)
            d = l; sub(/.*\(default: /, "", d); sub(/\)$/, "", d)
            gsub(/\\fB|\\fR/, "", d); if (d == "unset") d = "(unset)"
            gsub(/\\e/, "\\", k); gsub(/\\e/, "\\", t); gsub(/\\e/, "\\", d)
            print s "|" k "|" t "|" d
        }
        { prev = $0 }' "$1"
}
help_keys() {
    "$BIN" --help-config | awk '
        /^\[.*\]$/ { s = substr($0, 2, length($0) - 2); next }
        /^  [^ ]/ {
            l = $0; sub(/^  /, "", l)
            k = l; sub(/ .*/, "", k)
            r = substr(l, length(k) + 1); sub(/^ +/, "", r)
            n = 0
            for (i = 1; i <= length(r) - 9; i++) if (substr(r, i, 10) == ", default ") n = i
            print s "|" k "|" substr(r, 1, n - 1) "|" substr(r, n + 10)
        }'
}
man_keys "$MAN/man5/certspoa.ini.5" >"$WORK/man-keys.txt"
help_keys >"$WORK/help-keys.txt"
check "man: --help-config has keys to compare ($(wc -l <"$WORK/help-keys.txt"))" test -s "$WORK/help-keys.txt"
check "man: certspoa.ini(5) lists exactly the keys of --help-config (section, key, type, default)" \
    same_file "$WORK/man-keys.txt" "$WORK/help-keys.txt"
missing=""
while IFS= read -r k; do
    grep -q "^\\\\fB$k\\\\fR = " "$MAN/man5/certspoa.ini.5" || missing="$missing $k"
done < <(sed -n 's/^;\{0,1\}\([a-z_]*\) = .*/\1/p' "$WORK/example.ini" | sort -u)
check "man: every key of --example-config is in certspoa.ini(5)" eq "$missing" ""
man8_has_all() {
    local o
    for o in "$@"; do
        grep -qF -- "${o//-/\\-}" "$MAN/man8/certspoa.8" || { WHY="no '$o'"; return 1; }
    done
}
check "man: certspoa(8) documents every option, the reload command and the signals" \
    man8_has_all -f -c -d --help-config --example-config --version "reload -f" SIGHUP SIGTERM
if command -v man >/dev/null; then
    check "man: man -w finds both pages under the installed MANPATH" \
        eval 'MANPATH=$MAN man -w certspoa >/dev/null && MANPATH=$MAN man -w 5 certspoa.ini >/dev/null'
fi

# ================================================================ 3. systemd
if command -v systemd-analyze >/dev/null; then
    # The unit names /usr/local/bin/certspoa: verify it against the DESTDIR
    # install (the same binary, where this test put it).
    mkdir -p "$WORK/unit"
    sed "s|/usr/local/bin/certspoa|$BIN|g" "$UNIT" >"$WORK/unit/certspoa.service"
    MANPATH=$MAN: systemd-analyze verify "$WORK/unit/certspoa.service" >"$WORK/verify.log" 2>&1
    check "systemd: systemd-analyze verify: no errors or warnings" eval '[ $? -eq 0 ] && empty_file "$WORK/verify.log"'
    mkdir -p "$WORK/unit/certspoa.service.d"
    cp "$DROPIN" "$WORK/unit/certspoa.service.d/"
    MANPATH=$MAN: systemd-analyze verify "$WORK/unit/certspoa.service" >"$WORK/verify2.log" 2>&1
    check "systemd: verify with the unix-socket drop-in" eval '[ $? -eq 0 ] && empty_file "$WORK/verify2.log"'
    rm -r "$WORK/unit/certspoa.service.d"
    mkdir -p "$WORK/sdroot/etc/systemd/system" "$WORK/sdroot/usr/local/bin"
    cp "$UNIT" "$WORK/sdroot/etc/systemd/system/"
    cp "$BIN" "$WORK/sdroot/usr/local/bin/"
    systemd-analyze security --offline=true --root="$WORK/sdroot" certspoa.service >"$WORK/security.log" 2>&1
    score=$(sed -n 's/.*Overall exposure level for certspoa.service: \([0-9.]*\).*/\1/p' "$WORK/security.log")
    note "systemd-analyze security: exposure ${score:-?} (0 = locked down, 10 = exposed)"
    check "systemd: security --offline exposure is at most 2.0" \
        eval '[ -n "$score" ] && awk -v s="$score" "BEGIN { exit !(s <= 2.0) }" || { WHY="exposure ${score:-not found}: $(grep -v "^✓" "$WORK/security.log" | head -n 8 | tr "\n" " ")"; false; }'
else
    skip "systemd: systemd-analyze not installed (Debian: systemd)"
fi
unit_has() { grep -qxF -- "$1" "$UNIT" || { WHY="no line '$1'"; return 1; }; }
check "systemd: Type=simple, ExecStart -f /etc/certspoa/certspoa.ini" \
    eval 'unit_has "Type=simple" && unit_has "ExecStart=/usr/local/bin/certspoa -f /etc/certspoa/certspoa.ini"'
check "systemd: ExecReload sends SIGHUP to \$MAINPID after a config check" \
    eval 'unit_has "ExecReload=/bin/kill -HUP \$MAINPID" && unit_has "ExecReload=/usr/local/bin/certspoa -c -f /etc/certspoa/certspoa.ini"'
check "systemd: sandboxing directives" eval '
    for l in NoNewPrivileges=yes ProtectSystem=strict ProtectHome=yes PrivateTmp=yes PrivateDevices=yes \
             "RestrictAddressFamilies=AF_INET AF_INET6 AF_UNIX" CapabilityBoundingSet= \
             SystemCallFilter=@system-service DynamicUser=yes RuntimeDirectory=certspoa; do
        unit_has "$l" || exit 1
    done'
check "systemd: no restart loop on a bad config (RestartPreventExitStatus=78)" unit_has "RestartPreventExitStatus=78"

# System calls: the agent under strace, as an unprivileged user, through
# start-up, SPOP (HAProxy's health check and real requests), stats, a
# reload and SIGTERM. Every call must pass the unit's SystemCallFilter=
# (@system-service, minus what the unit takes away again).
syscall_check() {
    local dir=$PUB/strace allowed used denied filt i
    mkdir -p "$dir" && chmod 0777 "$dir"
    make_pki || { WHY="pki.sh failed"; return 1; }
    cp "$PKI/ca.pem" "$dir/ca.pem" && chmod 0644 "$dir/ca.pem"
    free_port SC_STATS || return 1
    cat >"$dir/agent.ini" <<EOF
[agent]
listen = 127.0.0.1:0
threads = 2
ready_file = $dir/ready
pid_file = $dir/pid
[stats]
listen = 127.0.0.1:$SC_STATS
[policy default]
verify = both
ca_file = $dir/ca.pem
EOF
    filter_ini "$dir/agent.ini" "$dir/agent.ini.f" >/dev/null && mv "$dir/agent.ini.f" "$dir/agent.ini"
    chmod 0644 "$dir/agent.ini"
    setpriv --reuid=65534 --regid=65534 --clear-groups --no-new-privs \
        strace -f -qq -o "$dir/trace" "$PUB/certspoa" -f "$dir/agent.ini" >"$dir/agent.log" 2>&1 &
    local spid=$!
    CHILD_PIDS+=("$spid")
    wait_until 10 test -s "$dir/ready" || { WHY="agent did not start: $(tail -n 3 "$dir/agent.log")"; return 1; }
    start_haproxy haproxy-strace "$(head -n 1 "$dir/ready")" || return 1
    wait_until 5 agent_is UP L7OK >/dev/null
    for i in 1 2 3; do req_cert "sc$i" allowed; done
    req sc-none
    if [ "$HAVE_STATS" = 1 ]; then
        curl -s -o /dev/null "http://127.0.0.1:$SC_STATS/metrics"
        curl -s -o /dev/null "http://127.0.0.1:$SC_STATS/"
    fi
    if [ "$HAVE_RELOAD" = 1 ]; then
        kill -HUP "$(pgrep -P "$spid" -x certspoa | head -n 1)" 2>/dev/null
        sleep 1
        req_cert sc4 allowed
    fi
    stop_haproxy
    kill -TERM "$(pgrep -P "$spid" -x certspoa | head -n 1)" 2>/dev/null
    wait_until 10 eval '! kill -0 '"$spid"' 2>/dev/null'
    wait "$spid" 2>/dev/null
    forget_pid "$spid"
    # the filter as systemd resolves it
    filt=$(sed -n 's/^SystemCallFilter=//p' "$UNIT")
    allowed=$(syscall_set "$(printf '%s\n' "$filt" | grep -v '^~')")
    denied=$(syscall_set "$(printf '%s\n' "$filt" | sed -n 's/^~//p')")
    used=$(sed -n 's/^[0-9]\{1,\} \{1,\}\([a-z_0-9]\{1,\}\)(.*/\1/p' "$dir/trace" | sort -u)
    [ -n "$used" ] || { WHY="strace recorded nothing"; return 1; }
    note "agent system calls: $(printf '%s\n' "$used" | wc -l) distinct"
    local bad=""
    for s in $used; do
        case " $allowed " in *" $s "*) ;; *) bad="$bad $s(not allowed)" ;; esac
        case " $denied " in *" $s "*) bad="$bad $s(denied)" ;; esac
    done
    [ -z "$bad" ] && return 0
    WHY="outside SystemCallFilter:$bad"
    return 1
}
# syscall_set "GROUP|NAME ..." - the system calls systemd puts in those sets
syscall_set() {
    local g
    for g in $1; do
        case $g in
            @*) systemd-analyze syscall-filter "$g" 2>/dev/null |
                    awk 'NR > 1 && /^ +[a-z_0-9]+$/ { print $1 } /^ +@/ { print $1 }' ;;
            *) echo "$g" ;;
        esac
    done | while read -r x; do
        case $x in @*) syscall_set "$x" ;; *) echo "$x" ;; esac
    done | sort -u | tr '\n' ' '
}

# The unix-socket drop-in's model: the agent in group G with UMask=0007
# makes a socket that a member of G (HAProxy) may connect to and nobody else.
socket_model_check() {
    local dir=$PUB/sockmodel out
    mkdir -p "$dir/run" && chmod 0755 "$dir"
    chown 10001:10002 "$dir/run" && chmod 0750 "$dir/run"
    printf '[agent]\nlisten = unix:%s/run/certspoa.sock\nthreads = 1\n' "$dir" >"$dir/agent.ini"
    chmod 0644 "$dir/agent.ini"
    (umask 0007 && exec setpriv --reuid=10001 --regid=10002 --clear-groups --no-new-privs \
        "$PUB/certspoa" -f "$dir/agent.ini") >"$dir/agent.log" 2>&1 &
    local apid=$!
    CHILD_PIDS+=("$apid")
    wait_until 5 test -S "$dir/run/certspoa.sock" || { WHY="no socket: $(tail -n 2 "$dir/agent.log")"; return 1; }
    out=$(stat -c '%a %u %g' "$dir/run/certspoa.sock")
    eq "$out" "770 10001 10002" || { WHY="socket mode/owner: $WHY"; stop_pid "$apid"; return 1; }
    connect_as() {
        setpriv --reuid="$1" --regid="$2" --clear-groups "$PY" -c '
import socket, sys
s = socket.socket(socket.AF_UNIX)
try:
    s.connect(sys.argv[1]); print("connected")
except OSError as e:
    print(e.__class__.__name__)' "$dir/run/certspoa.sock" 2>&1
    }
    out=$(connect_as 10003 10002)
    eq "$out" connected || { WHY="member of the group: $WHY"; stop_pid "$apid"; return 1; }
    out=$(connect_as 10004 10004)
    eq "$out" PermissionError || { WHY="other user: $WHY"; stop_pid "$apid"; return 1; }
    stop_pid "$apid"
}

# ---------------------------------------------------------------- features
# What this build of the agent knows (parts of the tests depend on it).
has_key() { help_keys | grep -q "^$1|$2|"; }
HAVE_STATS=0; has_key stats listen && HAVE_STATS=1
HAVE_WATCH=0; has_key agent reload_watch && HAVE_WATCH=1
HAVE_PIDFILE=0; has_key agent pid_file && HAVE_PIDFILE=1
HAVE_RELOAD=0; "$BIN" --help 2>&1 | grep -q "certspoa reload" && HAVE_RELOAD=1
note "agent features: stats=$HAVE_STATS reload=$HAVE_RELOAD reload_watch=$HAVE_WATCH pid_file=$HAVE_PIDFILE"

# filter_ini IN OUT - IN without the sections and keys this build does not
# know (each one printed as a skip), so a new example still runs on an older
# agent. Prints the dropped "section/key" names.
filter_ini() {
    help_keys | awk -F'|' -v out="$2" '
        NR == FNR { known[$1 "|" $2] = 1; sec[$1] = 1; next }
        /^[ \t]*\[/ {
            s = $0; sub(/^[ \t]*\[/, "", s); sub(/\].*/, "", s)
            cur = (s ~ /^policy[ \t]/) ? "policy NAME" : s
            drop = !(cur in sec)
            if (drop) print "[" s "]"
            else print $0 > out
            next
        }
        /^[ \t]*[A-Za-z_]+[ \t]*=/ {
            k = $0; sub(/^[ \t]*/, "", k); sub(/[ \t]*=.*/, "", k)
            if (drop) next
            if (!((cur "|" k) in known)) { print cur "/" k; next }
        }
        { if (!drop) print $0 > out }' - "$1"
}

if [ "$IS_ROOT" = 1 ] && command -v setpriv >/dev/null; then
    if command -v strace >/dev/null && command -v systemd-analyze >/dev/null; then
        check "systemd: every system call of the agent passes SystemCallFilter" syscall_check
    else
        skip "systemd: system calls vs SystemCallFilter (needs strace and systemd-analyze)"
    fi
    check "systemd: unix-socket drop-in: group member connects, others get EACCES" socket_model_check
else
    skip "systemd: system calls and socket permissions (need root for setpriv)"
fi

# ================================================================ 4. Dockerfile
# hadolint is not packaged for Debian; these are the rules that matter here.
df_stage() { # df_stage N - the lines of stage N (1-based)
    awk -v n="$1" '/^FROM /{ i++ } i == n' "$DOCKERFILE" |
        sed -e ':a' -e '/\\$/N; s/\\\n */ /; ta'
}
df_stage 1 >"$WORK/stage1"
df_stage 2 >"$WORK/stage2"
check "docker: two stages, the first 'AS build'" \
    eval '[ "$(grep -c "^FROM " "$DOCKERFILE")" = 2 ] && grep -q "^FROM .* AS build$" "$WORK/stage1"'
check "docker: both stages are debian:bookworm-slim" \
    eval 'grep -q "^ARG DEBIAN_TAG=bookworm-slim$" "$DOCKERFILE" && [ "$(grep -c "^FROM debian:\${DEBIAN_TAG}" "$DOCKERFILE")" = 2 ]'
check "docker: every COPY source from the context exists" eval '
    while read -r _ a; do
        case $a in --from=*) continue ;; esac
        set -- $a; while [ $# -gt 1 ]; do [ -e "$TOP/$1" ] || { WHY="missing $1"; exit 1; }; shift; done
    done < <(grep -h "^COPY " "$WORK/stage1" "$WORK/stage2")'
check "docker: no ADD, apt lists removed, --no-install-recommends" eval '
    ! grep -q "^ADD " "$DOCKERFILE" &&
    [ "$(grep -c "apt-get install -y --no-install-recommends" "$DOCKERFILE")" = 2 ] &&
    [ "$(grep -c "rm -rf /var/lib/apt/lists/\*" "$DOCKERFILE")" = 2 ]'
rt_pkgs=$(sed -n 's/.*apt-get install -y --no-install-recommends \([a-z0-9. -]*\)\( &&.*\)\{0,1\}$/\1/p' "$WORK/stage2" | tr ' ' '\n' | sed '/^$/d' | sort | tr '\n' ' ')
check "docker: runtime installs only libcurl4 libjansson4 libssl3 libev4 libinih1" eq "$rt_pkgs" "libcurl4 libev4 libinih1 libjansson4 libssl3 "
DUSER=$(sed -n 's/^USER //p' "$WORK/stage2")
check "docker: USER is numeric and not root" eval '[[ $DUSER =~ ^[1-9][0-9]*(:[1-9][0-9]*)?$ ]] || { WHY="USER $DUSER"; false; }'
DUID=${DUSER%%:*}
DGID=${DUSER#*:}
check "docker: the image's user exists with that uid (useradd --uid $DUID)" grep -q "useradd .*--uid $DUID " "$WORK/stage2"
HC=$(sed -n 's/^HEALTHCHECK .*CMD \(\[.*\]\)$/\1/p' "$WORK/stage2")
HC_CMD=$(printf '%s' "$HC" | "$PY" -c 'import json,sys; print(" ".join(json.load(sys.stdin)))' 2>/dev/null)
check "docker: HEALTHCHECK runs an exec-form command that a COPY puts in the image" \
    eval '[ -n "$HC_CMD" ] && grep -q "^COPY .* ${HC_CMD%% *}$" "$WORK/stage2"'
ENTRY=$(sed -n 's/^ENTRYPOINT \(\[.*\]\)$/\1/p' "$WORK/stage2" | "$PY" -c 'import json,sys; print(" ".join(json.load(sys.stdin)))' 2>/dev/null)
check "docker: ENTRYPOINT is certspoa -f /etc/certspoa/certspoa.ini (exec form)" \
    eq "$ENTRY" "/usr/local/bin/certspoa -f /etc/certspoa/certspoa.ini"

# The build stage, replayed: only what it COPYs, then its "make" RUN line.
IMG=$WORK/image
mkdir -p "$IMG/src" "$IMG/root"
while read -r _ a; do
    # shellcheck disable=SC2086 # the COPY line's words
    set -- $a
    while [ $# -gt 1 ]; do
        mkdir -p "$IMG/src/$(dirname "$1")"
        cp -a "$TOP/${1%/}" "$IMG/src/$(dirname "$1")/"
        shift
    done
done < <(grep "^COPY " "$WORK/stage1")
rm -rf "$IMG/src/build" "$IMG/src/build-san"
# shellcheck disable=SC2034 # read by the eval'd check below
BUILD_RUN=$(sed -n 's/^RUN \(.*make .*install.*\)$/\1/p' "$WORK/stage1")
check "docker: the build stage's RUN line builds from the COPYed files alone" eval '
    [ -n "$BUILD_RUN" ] &&
    (cd "$IMG/src" && sh -c "${BUILD_RUN//\/staging/$IMG/staging}") >"$WORK/image-build.log" 2>&1 ||
    { WHY="$(tail -n 5 "$WORK/image-build.log" | tr "\n" " ")"; false; }'
# The runtime stage's files: COPY --from=build /staging/X DEST and COPY SRC DEST.
while read -r _ a; do
    # shellcheck disable=SC2086 # the COPY line's words
    set -- $a
    case $1 in
        --from=build) src=$IMG/staging${2#/staging}; dst=$3 ;;
        *) src=$TOP/$1; dst=$2 ;;
    esac
    case $dst in */) mkdir -p "$IMG/root$dst"; cp -a "${src%/}/." "$IMG/root$dst" ;;
                 *) mkdir -p "$IMG/root$(dirname "$dst")"; cp -a "$src" "$IMG/root$dst" ;; esac
done < <(grep "^COPY " "$WORK/stage2")
check "docker: the runtime stage gets the binary, the healthcheck and share/certspoa" eval '
    test -x "$IMG/root/usr/local/bin/certspoa" && test -x "$IMG/root/usr/local/bin/certspoa-healthcheck" &&
    test -s "$IMG/root/usr/local/share/certspoa/certspoa.conf"'
needed_pkgs() {
    local lib path
    objdump -p "$1" | awk '/NEEDED/ { print $2 }' | while read -r lib; do
        path=$(ldd "$1" | awk -v l="$lib" '$1 == l { print $3 }')
        dpkg -S "$(readlink -f "$path")" 2>/dev/null | head -n 1 | cut -d: -f1
    done | sort -u | tr '\n' ' '
}
if command -v objdump >/dev/null && command -v dpkg >/dev/null; then
    np=$(needed_pkgs "$IMG/root/usr/local/bin/certspoa")
    note "the binary's libraries come from: $np"
    check "docker: every library the binary needs is in libc6 or the runtime packages" eval '
        for p in $np; do case " libc6 $rt_pkgs" in *" $p "*) ;; *) WHY="$p is not installed by the runtime stage"; exit 1 ;; esac; done
        [ -n "$np" ]'
else
    skip "docker: library packages (needs objdump and dpkg)"
fi

# ================================================================ 5. Kubernetes
if "$PY" -c 'import yaml' 2>/dev/null; then
    "$PY" "$HERE/k8s_check.py" "$K8S" "$TOP/spoe-conf/certspoa.conf" "$DOCKERFILE" "$WORK/k8s" >"$WORK/k8s.log" 2>&1
    while IFS= read -r line; do
        case $line in
            "ok   "*) PASS=$((PASS + 1)) ;;
            "FAIL "*) FAIL=$((FAIL + 1)) ;;
        esac
        printf '%s\n' "$line"
    done <"$WORK/k8s.log"
    [ -s "$WORK/k8s/facts.sh" ] || fail "k8s: k8s_check.py wrote no facts" "$(tail -n 3 "$WORK/k8s.log")"
    HAVE_K8S=1
else
    skip "k8s: YAML checks (python3-yaml not installed)"
    HAVE_K8S=0
fi

# ================================================================ 6. the pod
# A root directory laid out as the container image plus the pod's volumes,
# in a private mount namespace; both containers run in it, chrooted, as the
# pod's user, with no capabilities and no new privileges.
R=$WORK/podroot
VOL=$WORK/volumes
STATE=$WORK/pod

# kubelet's layout of a ConfigMap/Secret volume: files are symlinks to
# ..data/FILE, ..data is a symlink to a timestamped directory; an update
# writes a new directory and swaps ..data with a rename.
vol_publish() { # vol_publish DIR SRCDIR - atomically make SRCDIR's files the volume's content
    local dir=$1 src=$2 ts f
    ts="..$(date +%Y_%m_%d_%H_%M_%S.%N)"
    mkdir -p "$dir/$ts"
    cp -a "$src/." "$dir/$ts/"
    ln -sfn "$ts" "$dir/..data_tmp"
    mv -T "$dir/..data_tmp" "$dir/..data"
    for f in "$src"/*; do
        f=${f##*/}
        [ -L "$dir/$f" ] || ln -s "..data/$f" "$dir/$f"
    done
    find "$dir" -maxdepth 1 -name '..[0-9]*' ! -name "$ts" -exec rm -rf {} +
}

pod_setup() {
    # shellcheck disable=SC1091 # written by the test at run time
    . "$WORK/k8s/facts.sh"
    K8S_UID=${K8S_UID:-$DUID}
    K8S_GID=${K8S_GID:-$DGID}
    # PKI and app stand-in: the test's own.
    [ -n "$PKI" ] || { make_pki || return 1; }
    # volume contents, from the ConfigMaps (extracted) and the test PKI (Secrets)
    local entry c mp vname file kind obj key src
    mkdir -p "$VOL" "$STATE"
    for entry in "${K8S_MOUNTS[@]}"; do
        IFS='|' read -r c mp vname file kind obj key _ <<<"$entry"
        [ "$kind" = emptyDir ] || mkdir -p "$VOL/$vname.src"
        case $kind in
            emptyDir) mkdir -p "$VOL/$vname"; chown "$K8S_UID:$K8S_GID" "$VOL/$vname"; chmod 2770 "$VOL/$vname"; continue ;;
            configMap) src=$WORK/k8s/$key ;;
            secret)
                case $obj/$key in
                    certspoa-ca/ca.pem) src=$PKI/ca.pem ;;
                    mtls-api-tls/tls.crt) src=$PKI/server.crt ;;
                    mtls-api-tls/tls.key) src=$PKI/server.key ;;
                    *) WHY="no test content for Secret $obj key $key"; return 1 ;;
                esac ;;
        esac
        cp "$src" "$VOL/$vname.src/$file"
    done
    # The trusted list as an operator would edit it: the "allowed" client.
    cat "$PKI/allowed.sha256" >>"$VOL/certspoa-config.src/allowed.txt"
    # Loopback only, free ports: the one change to the pod's certspoa.ini.
    free_port POD_STATS && free_port POD_HTTPS && free_port POD_HEALTH && free_port POD_APP || return 1
    sed -i "s|^listen = 0.0.0.0:$K8S_STATS_PORT\$|listen = 127.0.0.1:$POD_STATS|" "$VOL/certspoa-config.src/certspoa.ini"
    grep -q "^listen = 127.0.0.1:$POD_STATS\$" "$VOL/certspoa-config.src/certspoa.ini" ||
        { WHY="no stats listen 0.0.0.0:$K8S_STATS_PORT to move to loopback"; return 1; }
    DROPPED=$(filter_ini "$VOL/certspoa-config.src/certspoa.ini" "$VOL/filtered.ini")
    mv "$VOL/filtered.ini" "$VOL/certspoa-config.src/certspoa.ini"
    for d in "$VOL"/*.src; do
        v=${d%.src}
        mkdir -p "$v"
        chmod 0644 "$d"/*
        # a Secret's key: group-readable for fsGroup, as defaultMode 0440 would be
        [ -f "$d/tls.key" ] && chgrp "$K8S_GID" "$d/tls.key" && chmod 0640 "$d/tls.key"
        vol_publish "$v" "$d"
    done
    # The root: the image (from the Dockerfile COPYs), the host's /usr for
    # the base system and HAProxy, mount points for the volumes.
    mkdir -p "$R"/{etc,dev,proc,sys,run,usr,tmp} "$R/usr-local"
    cp -a "$IMG/root/usr/local/." "$R/usr-local/"
    for l in bin lib lib64 sbin; do [ -L "/$l" ] && ln -sfn "usr/$l" "$R/$l"; done
    cp /etc/ld.so.cache "$R/etc/" 2>/dev/null
    printf 'root:x:0:0::/root:/bin/sh\ncertspoa:x:%s:%s::/nonexistent:/usr/sbin/nologin\n' "$DUID" "$DGID" >"$R/etc/passwd"
    printf 'root:x:0:\ncertspoa:x:%s:\n' "$DGID" >"$R/etc/group"
    chmod 1777 "$R/tmp"
    for entry in "${K8S_MOUNTS[@]}"; do
        IFS='|' read -r c mp vname file kind obj key _ <<<"$entry"
        case $mp in /usr/local/*) mkdir -p "$R/usr-local/${mp#/usr/local/}" ;; *) mkdir -p "$R$mp" ;; esac
    done
    printf '%s\n' "${K8S_MOUNTS[@]}" | awk -F'|' '{ print $2 "|" $3 "|" $8 }' | sort -u >"$STATE/mounts"
    # the app behind HAProxy: echoes the Client-Cert header it got
    cat >"$STATE/app.py" <<'EOF'
import http.server, sys
class H(http.server.BaseHTTPRequestHandler):
    def do_GET(self):
        body = ("backend saw:\nclient-cert-count: %d\nclient-cert: %s\n" % (
            len(self.headers.get_all("client-cert") or []), self.headers.get("client-cert", ""))).encode()
        self.send_response(200); self.send_header("Content-Length", str(len(body))); self.end_headers()
        self.wfile.write(body)
    def log_message(self, *a): pass
http.server.HTTPServer(("127.0.0.1", int(sys.argv[1])), H).serve_forever()
EOF
    "$PY" "$STATE/app.py" "$POD_APP" >"$STATE/app.log" 2>&1 &
    CHILD_PIDS+=("$!")
    # The mount namespace: its first process mounts everything, then sleeps;
    # the containers are started in it with nsenter.
    unshare --mount --propagation private -- "$HERE/podns.sh" "$R" "$VOL" "$STATE" >"$STATE/podns.log" 2>&1 &
    POD_NS=$!
    CHILD_PIDS+=("$POD_NS")
    wait_until 10 test -e "$STATE/mounted" || { WHY="mount namespace: $(tail -n 3 "$STATE/podns.log")"; return 1; }
}

# pod_cleanup - kill every process left in the pod's mount namespace (the
# containers, whatever a failed check left running), then the namespace.
pod_cleanup() {
    local ns p
    [ -n "${POD_NS:-}" ] || return 0
    ns=$(readlink "/proc/$POD_NS/ns/mnt" 2>/dev/null) || return 0
    for p in /proc/[0-9]*; do
        [ "${p#/proc/}" = "$POD_NS" ] && continue
        [ "$(readlink "$p/ns/mnt" 2>/dev/null)" = "$ns" ] && kill -KILL "${p#/proc/}" 2>/dev/null
    done
    kill -KILL "$POD_NS" 2>/dev/null
    wait "$POD_NS" 2>/dev/null
    forget_pid "$POD_NS"
    POD_NS=""
}
trap 'pod_cleanup; cleanup; rm -rf "$PUB"' EXIT

# inpod CMD... - CMD in the pod's root as its user, no capabilities.
inpod() {
    nsenter --target "$POD_NS" --mount -- chroot "$R" \
        setpriv --reuid="$K8S_UID" --regid="$K8S_GID" --clear-groups --no-new-privs \
        --inh-caps=-all --bounding-set=-all -- "$@"
}

# leaf_pid PID NAME - PID or the first descendant of PID whose command is
# NAME (nsenter may fork; signals must reach the program itself).
leaf_pid() {
    local p=$1 c i
    for i in 1 2 3 4 5; do
        [ "$(cat "/proc/$p/comm" 2>/dev/null)" = "$2" ] && { echo "$p"; return 0; }
        c=$(pgrep -P "$p" | head -n 1)
        [ -n "$c" ] || break
        p=$c
    done
    echo "$1"
}
proc_status() { awk -v f="$2:" '$1 == f { $1 = ""; sub(/^ /, ""); print }' "/proc/$1/status" 2>/dev/null; }
http_code() { curl -s -o "$WORK/last.body" -w '%{http_code}' --max-time 5 "$1"; }
code_is() { # code_is URL WANT
    local got
    got=$(http_code "$1")
    eq "$got" "$2" || { WHY="GET $1: $WHY"; return 1; }
}
pod_req() { # pod_req TAG [curl args] - through the pod's HAProxy
    HTTPS_PORT=$POD_HTTPS req "$@"
}
notlisted_allowed() {
    pod_req nl2 --cert "$PKI/notlisted.crt" --key "$PKI/notlisted.key"
    [ "$STATUS" = 200 ]
}
notlisted_in_list() { # the ConfigMap's list plus notlisted's SHA-256
    openssl x509 -in "$PKI/notlisted.crt" -noout -fingerprint -sha256 | sed 's/.*=//'
}

if [ "$IS_ROOT" = 1 ] && [ "$HAVE_K8S" = 1 ] && command -v unshare >/dev/null && command -v nsenter >/dev/null \
   && unshare --mount --propagation private true 2>/dev/null; then
    if check "pod: volumes, image root and mount namespace set up" pod_setup; then
        for d in $DROPPED; do skip "pod: config key $d is not known to this build (dropped from the ConfigMap's certspoa.ini)"; done
        check "pod: root filesystem is read-only for the containers" eval '! inpod sh -c ": > /etc/x" 2>/dev/null && ! inpod sh -c ": > /usr/local/x" 2>/dev/null'
        check "pod: certspoa -c accepts the ConfigMap's certspoa.ini (as the pod user)" \
            rc_is 0 "$STATE/check.log" inpod /usr/local/bin/certspoa -c -f "$K8S_CONFIG"

        # the ENTRYPOINT, exactly
        read -r -a entry <<<"$ENTRY"
        inpod "${entry[@]}" >"$STATE/certspoa.log" 2>&1 &
        AGENT_NS=$!
        CHILD_PIDS+=("$AGENT_NS")
        SOCK=$VOL/certspoa-run/${K8S_SOCK##*/}
        check "pod: the ENTRYPOINT starts and creates the unix socket in the emptyDir" \
            eval 'wait_until 10 test -S "$SOCK" || { WHY="$(tail -n 3 "$STATE/certspoa.log" | tr "\n" " ")"; false; }'
        AGENT=$(leaf_pid "$AGENT_NS" certspoa)
        check "pod: certspoa runs as $K8S_UID:$K8S_GID" eq "$(proc_status "$AGENT" Uid | awk '{print $1"/"$2"/"$3"/"$4}'):$(proc_status "$AGENT" Gid | awk '{print $1}')" "$K8S_UID/$K8S_UID/$K8S_UID/$K8S_UID:$K8S_GID"
        check "pod: certspoa has no capabilities and no_new_privs" \
            eq "$(proc_status "$AGENT" CapEff) $(proc_status "$AGENT" CapBnd) $(proc_status "$AGENT" NoNewPrivs)" "0000000000000000 0000000000000000 1"
        check "pod: the socket belongs to the pod user" eq "$(stat -c %u "$SOCK")" "$K8S_UID"
        check "pod: logs are logfmt on stderr" eval 'grep -q "^ts=.* level=info " "$STATE/certspoa.log" || { WHY="$(head -n 2 "$STATE/certspoa.log")"; false; }'
        if [ "$HAVE_PIDFILE" = 1 ]; then
            check "pod: pid_file in the emptyDir holds the agent's pid" eq "$(cat "$VOL/certspoa-run/certspoa.pid" 2>/dev/null)" "$AGENT"
        fi

        # HAProxy with the pod's haproxy.cfg, as the same user
        check "pod: haproxy -c accepts the pod's haproxy.cfg" rc_is 0 "$STATE/haproxy-c.log" \
            inpod env "HTTPS_BIND=127.0.0.1:$POD_HTTPS" "HEALTH_BIND=127.0.0.1:$POD_HEALTH" "APP_ADDR=127.0.0.1:$POD_APP" \
            haproxy -c -f /usr/local/etc/haproxy/haproxy.cfg
        inpod env "HTTPS_BIND=127.0.0.1:$POD_HTTPS" "HEALTH_BIND=127.0.0.1:$POD_HEALTH" "APP_ADDR=127.0.0.1:$POD_APP" \
            haproxy -db -f /usr/local/etc/haproxy/haproxy.cfg >"$STATE/haproxy.log" 2>&1 &
        HAPROXY=$!
        CHILD_PIDS+=("$HAPROXY")
        check "pod: haproxy starts (TLS and health ports)" \
            eval 'wait_until 10 eval "port_open $POD_HTTPS && port_open $POD_HEALTH" || { WHY="$(grep -E "ALERT|WARN" "$STATE/haproxy.log" | head -n 3 | tr "\n" " ")"; false; }'
        HAPROXY_LEAF=$(leaf_pid "$HAPROXY" haproxy)
        check "pod: HAProxy's SPOP health check (option spop-check) passes: haproxy /readyz 200" \
            eval 'wait_until 10 code_is "http://127.0.0.1:$POD_HEALTH/readyz" 200'
        check "pod: haproxy /healthz 200" code_is "http://127.0.0.1:$POD_HEALTH/healthz" 200

        pod_req none
        check "pod: no client certificate -> 403 cert_missing" eval '[ "$STATUS" = 403 ] && [ "$(hdr X-Certspoa-Code)" = cert_missing ] || { WHY="$STATUS $(hdr X-Certspoa-Code)"; false; }'
        pod_req nl --cert "$PKI/notlisted.crt" --key "$PKI/notlisted.key"
        check "pod: verified but not listed -> 403 cert_untrusted" eval '[ "$STATUS" = 403 ] && [ "$(hdr X-Certspoa-Code)" = cert_untrusted ] || { WHY="$STATUS $(hdr X-Certspoa-Code)"; false; }'
        pod_req ex --cert "$PKI/expired.crt" --key "$PKI/expired.key"
        check "pod: expired -> 403 cert_unverified" eval '[ "$STATUS" = 403 ] && [ "$(hdr X-Certspoa-Code)" = cert_unverified ] || { WHY="$STATUS $(hdr X-Certspoa-Code)"; false; }'
        pod_req ok --cert "$PKI/allowed.crt" --key "$PKI/allowed.key"
        check "pod: listed -> 200 with its Client-Cert (RFC 9440)" \
            eval '[ "$STATUS" = 200 ] && [ "$(backend_saw client-cert)" = "$(client_cert_value allowed)" ] || { WHY="$STATUS $BODY"; false; }'

        if [ "$HAVE_STATS" = 1 ]; then
            check "pod: stats /healthz 200" code_is "http://127.0.0.1:$POD_STATS/healthz" 200
            check "pod: stats /readyz 200" code_is "http://127.0.0.1:$POD_STATS/readyz" 200
            check "pod: stats /metrics is Prometheus text with certspoa_ metrics" \
                eval 'code_is "http://127.0.0.1:$POD_STATS/metrics" 200 && grep -q "^# TYPE certspoa_" "$WORK/last.body"'
            read -r -a hc <<<"$HC_CMD"
            check "pod: the image's HEALTHCHECK command succeeds as the pod user" rc_is 0 "$STATE/hc.log" inpod "${hc[@]}"
            check "pod: ... and the same script asked for /readyz" rc_is 0 "$STATE/hc2.log" inpod "${hc[@]}" "$K8S_CONFIG" /readyz
        else
            skip "pod: stats /healthz /readyz /metrics and the HEALTHCHECK ([stats] not in this build)"
        fi

        # shellcheck disable=SC2086 # one dropped syscall per word
        if [ "$HAVE_WATCH" = 1 ] && ! printf '%s\n' $DROPPED | grep -q reload_watch; then
            # ConfigMap update, as the kubelet does it: a new ..data.
            notlisted_in_list >>"$VOL/certspoa-config.src/allowed.txt"
            vol_publish "$VOL/certspoa-config" "$VOL/certspoa-config.src"
            check "pod: ConfigMap update (..data swap) is picked up by reload_watch: notlisted -> 200" \
                eval 'wait_until 20 notlisted_allowed || { WHY="still $STATUS after 20 s: $(grep -i reload "$STATE/certspoa.log" | tail -n 2 | tr "\n" " ")"; false; }'
            # A broken update keeps the running config.
            cp "$VOL/certspoa-config.src/allowed.txt" "$STATE/allowed.good"
            echo "this is not a thumbprint" >>"$VOL/certspoa-config.src/allowed.txt"
            vol_publish "$VOL/certspoa-config" "$VOL/certspoa-config.src"
            check "pod: a broken ConfigMap update is refused and logged with file:line" \
                eval 'wait_until 20 grep -q "allowed.txt:[0-9]" "$STATE/certspoa.log" || { WHY="$(tail -n 3 "$STATE/certspoa.log" | tr "\n" " ")"; false; }'
            pod_req nl3 --cert "$PKI/notlisted.crt" --key "$PKI/notlisted.key"
            check "pod: ... and the running config is kept (notlisted still 200, agent alive)" \
                eval '[ "$STATUS" = 200 ] && kill -0 "$AGENT" || { WHY="$STATUS"; false; }'
            cp "$STATE/allowed.good" "$VOL/certspoa-config.src/allowed.txt"
            vol_publish "$VOL/certspoa-config" "$VOL/certspoa-config.src"
        else
            skip "pod: ConfigMap updates via reload_watch (not in this build)"
        fi
        if [ "$HAVE_RELOAD" = 1 ] && [ "$HAVE_PIDFILE" = 1 ]; then
            check "pod: certspoa reload -f (as the pod user) succeeds" \
                rc_is 0 "$STATE/reload.log" inpod /usr/local/bin/certspoa reload -f "$K8S_CONFIG"
            sleep 0.5
            pod_req ok2 --cert "$PKI/allowed.crt" --key "$PKI/allowed.key"
            check "pod: ... and the agent still answers (listed -> 200)" eval '[ "$STATUS" = 200 ] && kill -0 "$AGENT" || { WHY="$STATUS"; false; }'
        else
            skip "pod: certspoa reload -f (needs the reload command and pid_file)"
        fi

        # Stopping the sidecar: SIGTERM, exit 0, HAProxy fails closed.
        # (the signal goes to certspoa; nsenter, its parent, passes on its status)
        kill -TERM "$AGENT"
        wait_until 10 eval '! kill -0 "$AGENT" 2>/dev/null'
        kill -0 "$AGENT" 2>/dev/null && kill -KILL "$AGENT"
        wait "$AGENT_NS" 2>/dev/null
        AGENT_RC=$?
        forget_pid "$AGENT_NS"
        check "pod: SIGTERM -> certspoa exits 0" eq "$AGENT_RC" 0
        check "pod: the socket is removed on exit" eval '! test -e "$SOCK"'
        check "pod: with the agent gone haproxy /readyz turns 503" \
            eval 'wait_until 10 code_is "http://127.0.0.1:$POD_HEALTH/readyz" 503'
        pod_req down --cert "$PKI/allowed.crt" --key "$PKI/allowed.key"
        check "pod: ... and requests get 503 agent_unavailable (fail closed)" \
            eval '[ "$STATUS" = 503 ] && [ "$(hdr X-Certspoa-Code)" = agent_unavailable ] || { WHY="$STATUS $(hdr X-Certspoa-Code)"; false; }'
        kill -TERM "$HAPROXY_LEAF" 2>/dev/null
        stop_pid "$HAPROXY"
        check "pod: nothing but the socket's own files were written to the emptyDir" \
            eval 'left=$(cd "$VOL/certspoa-run" && ls -A | grep -v -x -e certspoa.pid -e ready | tr "\n" " "); [ -z "$left" ] || { WHY="left: $left"; false; }'
        pod_cleanup
    fi
else
    skip "pod: runtime test of the image and the pod (needs root, python3-yaml, unshare and nsenter)"
fi

# ================================================================ summary
[ ${#SKIPS[@]} -gt 0 ] && note "${#SKIPS[@]} parts skipped (see 'skip' lines above)"
finish deploy
