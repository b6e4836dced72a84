#!/usr/bin/env bash
# deb.sh - the Debian package, built and then installed, used, upgraded and
# purged in a fresh Debian 12 root.
#
#   tests/package/deb.sh            (make deb-test; root; ~2 min warm)
#
# 1. Build: tests/package/mkdeb.sh (dpkg-buildpackage -us -uc -b, lintian
#    clean), twice: the package, and the same rebuilt with a higher version
#    for the upgrade.
# 2. A fresh root: a copy of the cached Debian 12 root with Debian's haproxy
#    (tests/versions/mkroot.sh bookworm, /var/cache/certspoa/roots/bookworm).
#    Every command below runs in it (chroot, private mount namespace, the
#    host's loopback network).
# 3. apt-get install ./certspoa_*.deb pulls libev4 and libinih1 from Debian
#    (adduser came with haproxy); the files, the conffile, the certspoa user; certspoa -c on the
#    shipped config; systemd-analyze verify on the installed unit; its
#    sandboxing equals haproxy-examples/systemd/certspoa.service's.
# 4. The example for Debian's haproxy (/usr/share/doc/certspoa/examples),
#    installed as README.Debian-haproxy says (the include step in
#    /etc/default/haproxy), HAProxy started as haproxy.service would, the
#    agent as the certspoa user: mTLS requests from the host get 200, 403
#    (cert_missing, cert_unverified), and 503 once the agent is stopped.
# 5. The conffile modified (a thumbprint list): applied on reload; then the
#    upgrade to the rebuilt package keeps it (same bytes, no .dpkg-* files).
# 6. apt-get purge --autoremove: the user, group, /etc/certspoa and every
#    file of the package are gone; the root's file list equals the one taken
#    before the install (both printed: the package's files before the purge,
#    what differs after).
#
# Environment: DEB and DEB_UPGRADE (use these .debs instead of building),
# CERTSPOA_ROOTS (see mkroot.sh). Uses 127.0.0.1:12345 (the shipped
# config's listen). Ends with "deb: N passed, N failed".
set -u
. "$(dirname "$0")/../integration/lib.sh"
. "$TOP/tests/package/lib.sh"
T0=$(date +%s)
[ "$(id -u)" -eq 0 ] || { fail "deb: needs root (chroot)"; finish deb; exit 1; }
for cmd in dpkg-buildpackage lintian dh unshare setpriv curl openssl; do
    command -v "$cmd" >/dev/null || { fail "deb: $cmd is missing (.ci/deps.sh)"; finish deb; exit 1; }
done

workdir deb
ROOT=$WORK/root
AGENT_PID=""
HAP_STARTED=0
deb_cleanup() {
    [ -n "$AGENT_PID" ] && kill "$AGENT_PID" 2>/dev/null
    if [ "$HAP_STARTED" = 1 ] && [ -s "$ROOT/run/haproxy.pid" ]; then
        kill "$(cat "$ROOT/run/haproxy.pid")" 2>/dev/null
    fi
    sleep 0.2
    # Nothing may stay mounted under the copy before it is removed.
    if [ -d "$ROOT" ] && awk -v r="$ROOT" 'index($5, r "/") == 1 { f = 1 } END { exit !f }' /proc/self/mountinfo; then
        note "mounts left under $ROOT; keeping $WORK"
        KEEP_OUT=1
    fi
    cleanup
}
trap deb_cleanup EXIT

# in_root CMD... - CMD in the root: private mount namespace with /proc, /sys
# and a few /dev nodes; the host's network.
in_root() {
    unshare -m --propagation private -- sh -eu -c '
        r=$1; shift
        mount -t proc proc "$r/proc"
        mount -t sysfs sysfs "$r/sys" 2>/dev/null || true
        for d in null zero full random urandom tty; do
            [ -e "/dev/$d" ] || continue
            [ -e "$r/dev/$d" ] || : > "$r/dev/$d"
            mount --bind "/dev/$d" "$r/dev/$d"
        done
        exec chroot "$r" "$@"
    ' in_root "$ROOT" env -i PATH=/usr/sbin:/usr/bin:/sbin:/bin \
        DEBIAN_FRONTEND=noninteractive LC_ALL=C.UTF-8 HOME=/root "$@"
}

empty_file() {
    [ ! -s "$1" ] && return 0
    WHY="$(head -n 5 "$1" | tr '\n' ' ' | cut -c1-400)"
    return 1
}

# ---------------------------------------------------------------- 1. build
UPSTREAM=$(cat "$TOP/VERSION")
if [ -z "${DEB:-}" ]; then
    t=$(date +%s)
    DEB=$("$TOP/tests/package/mkdeb.sh" "$WORK/debs" 2>"$WORK/mkdeb.log" | tail -n 1)
    check "make deb: dpkg-buildpackage -us -uc -b and lintian clean" eval '[ -f "$DEB" ]' ||
        true
    [ -f "$DEB" ] || { tail -n 20 "$WORK/mkdeb.log"; finish deb; exit 1; }
    note "built in $(( $(date +%s) - t )) s: $(basename "$DEB"), $(du -k "$DEB" | cut -f1) KB"
    grep -h '^[EWI]:' "$WORK"/debs/lintian-*.log 2>/dev/null | sed 's/^/# lintian: /'
fi
FULL=$(dpkg-deb -f "$DEB" Version)
UPVER=$FULL+rebuild1
if [ -z "${DEB_UPGRADE:-}" ]; then
    DEB_UPGRADE=$("$TOP/tests/package/mkdeb.sh" --version "$UPVER" "$WORK/debs-up" 2>"$WORK/mkdeb-up.log" | tail -n 1)
    check "the rebuilt package ($UPVER) builds lintian clean too" eval '[ -f "$DEB_UPGRADE" ]'
fi
UPVER=$(dpkg-deb -f "$DEB_UPGRADE" Version)
check "the rebuild's version $UPVER is higher than $FULL" dpkg --compare-versions "$UPVER" gt "$FULL"
check "the package's upstream version is VERSION ($UPSTREAM)" eq "${FULL%-*}" "$UPSTREAM"
check "the package's size is reported (< 1 MB)" eval '[ "$(stat -c %s "$DEB")" -lt 1048576 ]'
note "package: $(basename "$DEB"), $(stat -c %s "$DEB") bytes; installed size $(dpkg-deb -f "$DEB" Installed-Size) KB"

# The packaged unit is the example's, with the Debian paths and a static user.
unit_sandbox() { # the unit's directives, without paths, comments and the user lines
    grep -v '^#' "$1" | grep -v '^$' | sed 's|/usr/local/bin/certspoa|/usr/sbin/certspoa|' |
        grep -v -E '^(DynamicUser)='
}
check "debian/certspoa.service = the example unit (sandboxing included) but for /usr/sbin and DynamicUser" \
    eval 'diff <(unit_sandbox "$TOP/haproxy-examples/systemd/certspoa.service") <(unit_sandbox "$TOP/debian/certspoa.service") >"$WORK/unit.diff" || { WHY=$(head -n 5 "$WORK/unit.diff" | tr "\n" " "); false; }'

# ---------------------------------------------------------------- 2. root
t=$(date +%s)
CACHED=$(CERTSPOA_ROOTS=${CERTSPOA_ROOTS:-/var/cache/certspoa/roots} "$TOP/tests/versions/mkroot.sh" bookworm 2>"$WORK/mkroot.log")
# shellcheck disable=SC2015 # C runs when A or B fails, as meant
[ -n "$CACHED" ] && [ -f "$CACHED/.certspoa-root" ] ||
    { fail "deb: Debian 12 root (tests/versions/mkroot.sh bookworm)" "$(tail -n 3 "$WORK/mkroot.log")"; finish deb; exit 1; }
cp -a "$CACHED" "$ROOT"
rm -f "$ROOT/.certspoa-root"
note "fresh Debian 12 root from $CACHED in $(( $(date +%s) - t )) s ($(sed -n 's/^haproxy=//p' "$CACHED/.certspoa-root"))"
check "the root is Debian 12" eval 'grep -q "^VERSION_CODENAME=bookworm" "$ROOT/etc/os-release"'
check "the root has no certspoa, libev4, libinih1" \
    eval '! in_root dpkg-query -W -f "\${Status}\n" certspoa libev4 libinih1 2>/dev/null | grep -q "install ok installed"'
in_root apt-get update -q >"$WORK/apt-update.log" 2>&1
check "apt-get update in the root (Debian's archive)" eq "$?" 0

# The file list of the root before anything of ours: paths and types.
snapshot() {
    in_root sh -c 'find / -xdev \( -path /proc -o -path /sys -o -path /dev -o -path /tmp \
        -o -path /var/cache/apt -o -path /var/lib/apt/lists -o -path /var/log \
        -o -path /var/cache/debconf \) -prune -o -printf "%y %p\n"' | sort
}
snapshot >"$WORK/files-before.txt"

# ---------------------------------------------------------------- 3. install
cp "$DEB" "$DEB_UPGRADE" "$ROOT/tmp/"
D1=/tmp/$(basename "$DEB")
D2=/tmp/$(basename "$DEB_UPGRADE")
in_root apt-get install -y -q "$D1" >"$WORK/install.log" 2>&1
check "apt-get install ./$(basename "$DEB") exits 0" eq "$?" 0
for dep in libev4 libinih1; do
    check "apt pulled $dep from Debian's archive" \
        eval 'grep -q "^Get:[0-9]* [^ ]* bookworm/main amd64 $dep " "$WORK/install.log" &&
              in_root dpkg-query -W -f "\${Status}" $dep | grep -q "install ok installed"'
done
check "adduser (for postinst) is installed (Debian's haproxy package had pulled it in already)" \
    eval 'in_root dpkg-query -W -f "\${Status}" adduser | grep -q "install ok installed"'
check "certspoa $FULL is installed" eq "$(in_root dpkg-query -W -f '${Status} ${Version}' certspoa)" \
    "install ok installed $FULL"
for f in /usr/sbin/certspoa /usr/share/man/man8/certspoa.8.gz /usr/share/man/man5/certspoa.ini.5.gz \
         /usr/share/certspoa/certspoa.conf /usr/share/certspoa/certspoa.ini.example \
         /lib/systemd/system/certspoa.service /usr/share/doc/certspoa/examples/haproxy-certspoa.cfg \
         /usr/share/doc/certspoa/examples/README.Debian-haproxy /usr/share/doc/certspoa/copyright; do
    check "installed: $f" test -s "$ROOT$f"
done
check "/usr/sbin/certspoa is executable and runs (--version $UPSTREAM)" \
    eval 'in_root /usr/sbin/certspoa --version | grep -q "$UPSTREAM"'
check "the SPOE config is the repository's spoe-conf/certspoa.conf" \
    cmp -s "$ROOT/usr/share/certspoa/certspoa.conf" "$TOP/spoe-conf/certspoa.conf"
check "/etc/certspoa/certspoa.ini is a conffile" \
    eval 'in_root dpkg-query -W -f "\${Conffiles}" certspoa | grep -q "^ /etc/certspoa/certspoa.ini "'
INI=$ROOT/etc/certspoa/certspoa.ini
check "the shipped config listens on loopback (127.0.0.1:12345)" \
    eval 'grep -qx "listen = 127.0.0.1:12345" "$INI"'
check "the shipped config: require_cert = yes" eval 'grep -qx "require_cert = yes" "$INI"'
check "the shipped config has no list (no active thumbprints/allow_/deny_ key)" \
    eval '! grep -E "^(thumbprints|allow_|deny_)" "$INI"'
check "no logrotate file (the agent logs to the journal)" eval '[ ! -e "$ROOT/etc/logrotate.d/certspoa" ]'
# shellcheck disable=SC2034 # read by the eval'd check below
user=$(in_root getent passwd certspoa)
check "postinst made the system user certspoa (uid < 1000, nologin, no home)" \
    eval 'IFS=: read -r n x uid gid g home sh <<<"$user"; [ "$uid" -lt 1000 ] && [ "$sh" = /usr/sbin/nologin ] && [ "$home" = /nonexistent ] && [ ! -e "$ROOT/nonexistent" ]' 
check "postinst made the group certspoa" eval 'in_root getent group certspoa >/dev/null'
check "the service is enabled (multi-user.target.wants)" \
    test -L "$ROOT/etc/systemd/system/multi-user.target.wants/certspoa.service"
as_certspoa() { in_root setpriv --reuid=certspoa --regid=certspoa --clear-groups -- "$@"; }
check "certspoa -c -f /etc/certspoa/certspoa.ini passes (as user certspoa)" \
    eval 'as_certspoa /usr/sbin/certspoa -c -f /etc/certspoa/certspoa.ini >"$WORK/c.log" 2>&1 || { WHY=$(cat "$WORK/c.log"); false; }'
check "the man pages are the build's (name the /usr paths)" \
    eval 'zcat "$ROOT/usr/share/man/man8/certspoa.8.gz" | grep -q "/usr/share/certspoa/certspoa.conf"'
if command -v systemd-analyze >/dev/null; then
    # The root has no systemd (minbase): verify on the host the installed
    # unit, its paths pointed into the root (the same binary, man pages).
    mkdir -p "$WORK/unit"
    sed "s|/usr/sbin/certspoa|$ROOT/usr/sbin/certspoa|g" "$ROOT/lib/systemd/system/certspoa.service" \
        >"$WORK/unit/certspoa.service"
    MANPATH=$ROOT/usr/share/man: systemd-analyze verify "$WORK/unit/certspoa.service" >"$WORK/verify.log" 2>&1
    rc=$?
    check "systemd-analyze verify on the installed unit: no errors or warnings" \
        eval '[ $rc -eq 0 ] && empty_file "$WORK/verify.log"'
    systemd-analyze security --offline=true --root="$ROOT" certspoa.service >"$WORK/security.log" 2>&1
    score=$(sed -n 's/.*Overall exposure level for certspoa.service: \([0-9.]*\).*/\1/p' "$WORK/security.log")
    note "systemd-analyze security of the installed unit: exposure ${score:-?}"
    check "the installed unit's exposure (systemd-analyze security) is at most 2.0" \
        eval '[ -n "$score" ] && awk -v s="$score" "BEGIN { exit !(s <= 2.0) }"'
else
    fail "deb: systemd-analyze is missing (Debian: systemd)"
fi

# ---------------------------------------------------------------- 4. HAProxy
make_pki || { fail "deb: test PKI"; finish deb; exit 1; }
if port_open 12345; then
    fail "deb: 127.0.0.1:12345 is taken (the shipped listen)"
    finish deb
    exit 1
fi
start_agent_in_root() {
    unshare -m --propagation private -- sh -eu -c '
        r=$1; shift
        mount -t proc proc "$r/proc"
        mount --bind /dev/null "$r/dev/null"
        exec chroot "$r" setpriv --reuid=certspoa --regid=certspoa --clear-groups -- \
            /usr/sbin/certspoa -f /etc/certspoa/certspoa.ini
    ' agent "$ROOT" >>"$WORK/agent.log" 2>&1 &
    AGENT_PID=$!
    CHILD_PIDS+=("$AGENT_PID")
    wait_until 10 port_open 12345
}
stop_agent_in_root() {
    [ -n "$AGENT_PID" ] || return 0
    kill -TERM "$AGENT_PID" 2>/dev/null
    wait "$AGENT_PID" 2>/dev/null
    forget_pid "$AGENT_PID"
    AGENT_PID=""
    ! port_open 12345
}
check "the agent starts in the root as certspoa with the shipped config" start_agent_in_root
# The agent process whose root is this root (other agents may run on the host).
agent_pid() {
    local p
    for p in $(pgrep -x certspoa); do
        [ "$(readlink "/proc/$p/root")" = "$ROOT" ] && { echo "$p"; return 0; }
    done
    return 1
}
check "the agent runs as certspoa (its uid in the root's passwd)" \
    eq "$(stat -c %u "/proc/$(agent_pid)")" "$(in_root id -u certspoa)"

# README.Debian-haproxy, step 1 and 2, as an administrator would do them.
# shellcheck disable=SC2015 # C runs when A or B fails, as meant
free_port HTTPS_PORT && free_port APP_PORT || { fail "deb: no free port"; finish deb; exit 1; }
python3 "$TOP/tests/package/echo_app.py" "$WORK/app.port" >"$WORK/app.log" 2>&1 &
CHILD_PIDS+=($!)
wait_until 5 test -s "$WORK/app.port"
APP_PORT=$(cat "$WORK/app.port")
install -d -m 0750 "$ROOT/etc/haproxy/certspoa"
cat "$PKI/server.crt" "$PKI/server.key" >"$ROOT/etc/haproxy/certspoa/server.pem"
cp "$PKI/ca.pem" "$ROOT/etc/haproxy/certspoa/clients-ca.pem"
in_root cp /usr/share/doc/certspoa/examples/haproxy-certspoa.cfg /etc/haproxy/certspoa.cfg
# The two lines README.Debian-haproxy tells the administrator to adapt.
sed -i -e "s|^    bind :8443 |    bind 127.0.0.1:$HTTPS_PORT |" \
       -e "s|^    server app1 127.0.0.1:8080$|    server app1 127.0.0.1:$APP_PORT|" "$ROOT/etc/haproxy/certspoa.cfg"
check "the example's bind and app lines were found and adapted" \
    eval 'grep -q "bind 127.0.0.1:$HTTPS_PORT " "$ROOT/etc/haproxy/certspoa.cfg" && grep -q "server app1 127.0.0.1:$APP_PORT" "$ROOT/etc/haproxy/certspoa.cfg"'
step=$(sed -n "s/^     echo '\(EXTRAOPTS=.*\)' >> \/etc\/default\/haproxy$/\1/p" \
    "$ROOT/usr/share/doc/certspoa/examples/README.Debian-haproxy")
check "README.Debian-haproxy gives the include step" eval '[ -n "$step" ]'
printf '%s\n' "$step" >>"$ROOT/etc/default/haproxy"
mkdir -p "$ROOT/run/haproxy"   # systemd-tmpfiles' job at boot (haproxy's tmpfiles.d)
# haproxy.service's ExecReload check and ExecStart, with its Environment= and
# EnvironmentFile=/etc/default/haproxy.
HAP_SVC_ENV='CONFIG=/etc/haproxy/haproxy.cfg; PIDFILE=/run/haproxy.pid; EXTRAOPTS="-S /run/haproxy-master.sock"; . /etc/default/haproxy'
check "haproxy.service's reload check (haproxy -c with the include) passes" \
    eval 'in_root sh -c "$HAP_SVC_ENV; exec /usr/sbin/haproxy -Ws -f \$CONFIG -c \$EXTRAOPTS" >"$WORK/hap-c.log" 2>&1 || { WHY=$(tail -n 5 "$WORK/hap-c.log" | tr "\n" " "); false; }'
unshare -m --propagation private -- sh -eu -c '
    r=$1; shift
    mount -t proc proc "$r/proc"
    mount --bind /dev/null "$r/dev/null"
    exec chroot "$r" env -i PATH=/usr/sbin:/usr/bin:/sbin:/bin sh -c "$1"
' haproxy "$ROOT" "$HAP_SVC_ENV; exec /usr/sbin/haproxy -Ws -f \$CONFIG -p \$PIDFILE \$EXTRAOPTS" \
    >>"$WORK/haproxy.log" 2>&1 &
HAP_PID=$!
CHILD_PIDS+=("$HAP_PID")
HAP_STARTED=1
check "Debian's haproxy starts with its haproxy.cfg plus the example" wait_until 10 port_open "$HTTPS_PORT"
agent_up() { req_cert up allowed; [ "$STATUS" = 200 ]; }
check "a verified client certificate -> 200 (no list: the verified chain is enough)" wait_until 10 agent_up
check "the application got Client-Cert (RFC 9440)" has "$BODY" "client-cert: $(client_cert_value allowed)"
code_is() {
    [ "$STATUS" = "$1" ] && [ "$(hdr X-Certspoa-Code)" = "$2" ] && return 0
    WHY="got $STATUS '$(hdr X-Certspoa-Code)', want $1 '$2'"
    return 1
}
req nocert
check "no client certificate -> 403 cert_missing" code_is 403 cert_missing
req_cert untrusted untrusted
check "a certificate from an unknown CA -> 403 cert_unverified" code_is 403 cert_unverified
req_cert expired expired
check "an expired certificate -> 403 cert_unverified" code_is 403 cert_unverified

# ---------------------------------------------------------------- 5. conffile, upgrade
cat "$PKI/allowed.sha256" >"$ROOT/etc/certspoa/allowed.txt"
printf '; added by the administrator\nthumbprints = /etc/certspoa/allowed.txt\n' >>"$INI"
check "the modified config passes certspoa -c" \
    eval 'as_certspoa /usr/sbin/certspoa -c -f /etc/certspoa/certspoa.ini >/dev/null 2>&1'
kill -HUP "$(agent_pid)"
notlisted_denied() { req_cert nl notlisted; [ "$STATUS" = 403 ] && [ "$(hdr X-Certspoa-Code)" = cert_untrusted ]; }
check "after a reload (SIGHUP): notlisted.crt -> 403 cert_untrusted" wait_until 10 notlisted_denied
req_cert allowed2 allowed
check "after a reload: allowed.crt (on the list) -> 200" eq "$STATUS" 200
sum_before=$(sha256sum <"$INI")
uid_before=$(in_root id -u certspoa)

in_root apt-get install -y -q "$D2" >"$WORK/upgrade.log" 2>&1
check "apt-get install ./$(basename "$DEB_UPGRADE") (upgrade) exits 0" eq "$?" 0
check "certspoa $UPVER is installed" eq "$(in_root dpkg-query -W -f '${Status} ${Version}' certspoa)" \
    "install ok installed $UPVER"
check "the modified conffile survived the upgrade (same bytes)" eq "$(sha256sum <"$INI")" "$sum_before"
check "no .dpkg-dist/.dpkg-new/.dpkg-old beside it" \
    eval '[ -z "$(ls "$ROOT/etc/certspoa" | grep "\.dpkg-")" ] || { WHY=$(ls "$ROOT/etc/certspoa"); false; }'
check "the administrator's allowed.txt is still there" test -s "$ROOT/etc/certspoa/allowed.txt"
check "the certspoa user kept its uid" eq "$(in_root id -u certspoa)" "$uid_before"
check "certspoa -c still passes after the upgrade" \
    eval 'as_certspoa /usr/sbin/certspoa -c -f /etc/certspoa/certspoa.ini >/dev/null 2>&1'

check "agent stopped (SIGTERM) -> its port closes" stop_agent_in_root
req_cert down allowed
check "agent stopped -> allowed.crt gets 503 agent_unavailable (fail closed)" code_is 503 agent_unavailable
if [ -s "$ROOT/run/haproxy.pid" ]; then
    kill -USR1 "$(cat "$ROOT/run/haproxy.pid")" 2>/dev/null
    wait "$HAP_PID" 2>/dev/null
fi
forget_pid "$HAP_PID"
HAP_STARTED=0
# Debian's haproxy package goes back to how it was (not ours to purge).
sed -i '/^EXTRAOPTS="-S \/run\/haproxy-master.sock -f \/etc\/haproxy\/certspoa.cfg"$/d' "$ROOT/etc/default/haproxy"
rm -rf "$ROOT/etc/haproxy/certspoa" "$ROOT/etc/haproxy/certspoa.cfg" "$ROOT/run/haproxy" \
       "$ROOT/run/haproxy.pid" "$ROOT/run/haproxy-master.sock"

# ---------------------------------------------------------------- 6. purge
note "the package's files before the purge:"
{ in_root dpkg -L certspoa; echo /etc/certspoa/allowed.txt; } | while read -r f; do
    [ -d "$ROOT$f" ] && continue
    [ -e "$ROOT$f" ] && printf '#   %s\n' "$f"
done
in_root sh -c 'grep "^certspoa:" /etc/passwd /etc/group /etc/shadow /etc/gshadow' | sed 's/^/#   /'
in_root apt-get purge -y -q --autoremove certspoa >"$WORK/purge.log" 2>&1
check "apt-get purge --autoremove certspoa exits 0" eq "$?" 0
check "dpkg knows nothing of certspoa any more" \
    eval '[ -z "$(in_root dpkg-query -W -f "\${Status}" certspoa 2>/dev/null)" ] || ! in_root dpkg-query -W certspoa >/dev/null 2>&1'
check "the user certspoa is gone (passwd, shadow)" \
    eval '! grep -q "^certspoa:" "$ROOT/etc/passwd" "$ROOT/etc/shadow"'
check "the group certspoa is gone (group, gshadow)" \
    eval '! grep -q "^certspoa:" "$ROOT/etc/group" "$ROOT/etc/gshadow"'
check "/etc/certspoa is gone (config and lists)" eval '[ ! -e "$ROOT/etc/certspoa" ]'
check "the dependencies apt pulled in are gone again (autoremove)" \
    eval '! in_root dpkg-query -W -f "\${Status}\n" libev4 libinih1 2>/dev/null | grep -q "install ok installed"'
in_root apt-get clean >/dev/null 2>&1
snapshot >"$WORK/files-after.txt"
diff "$WORK/files-before.txt" "$WORK/files-after.txt" >"$WORK/files.diff"
# dpkg's own bookkeeping files rotate (status-old, available); the rest must match.
grep '^[<>]' "$WORK/files.diff" | grep -v -E ' /var/lib/dpkg/(status-old|available|diversions-old|statoverride-old|triggers/)| /etc/(passwd|group|shadow|gshadow)-$| /var/lib/systemd/deb-systemd-helper-(enabled|masked)$| /var/lib/systemd$' \
    >"$WORK/files.left" || true
note "files before the install: $(wc -l <"$WORK/files-before.txt"), after the purge: $(wc -l <"$WORK/files-after.txt")"
if [ -s "$WORK/files.diff" ]; then
    note "differences (dpkg's, the passwd backups and systemd helper directories are expected):"
    grep '^[<>]' "$WORK/files.diff" | sed 's/^/#   /'
fi
check "nothing of the package is left behind (file list as before the install)" \
    eval 'empty_file "$WORK/files.left"'
check "no file anywhere in the root is named certspoa*" \
    eval '[ -z "$(find "$ROOT" -xdev -name "certspoa*" ! -path "$ROOT/tmp/*" | head -n 5)" ] || { WHY=$(find "$ROOT" -xdev -name "certspoa*" ! -path "$ROOT/tmp/*" | head -n 5 | tr "\n" " "); false; }'

note "deb test took $(( $(date +%s) - T0 )) s"
finish deb
