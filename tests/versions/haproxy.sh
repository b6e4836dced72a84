#!/bin/sh
# haproxy.sh VERSION [HAPROXY ARGS...]
#
# Run a given HAProxy version from Debian's own packages as a drop-in for
# `haproxy ARGS...`:
#
#   2.6 | host      the host's /usr/sbin/haproxy (Debian 12 bookworm)
#   3.0 | trixie    haproxy from a Debian 13 root   (tests/versions/mkroot.sh)
#   3.2 | forky     haproxy from a Debian testing root
#
# For the root versions haproxy runs under chroot in a private mount namespace
# (unshare -m), so every mount below is torn down by the kernel when haproxy
# exits and nothing ever shows in the host's mount table. Inside the root the
# same absolute paths as on the host work for:
#   - the repository checkout this script lives in, and the current directory
#   - /tmp (unix sockets there are shared with host processes)
#   - /dev (null, urandom, log...), /proc, /sys
#   - every directory listed in CERTSPOA_BIND (colon-separated)
# The network is the host's (chroot does not change it). The process is exec'd
# all the way down (haproxy.sh -> unshare -> sh -> chroot -> haproxy keep one
# PID), so it runs in the foreground, signals reach haproxy directly, and
# -D / -W / -sf behave as with a native haproxy.
#
# The root is built on first use unless CERTSPOA_NO_BUILD=1 (then a missing
# root is an error). The major.minor version found in the root must match
# VERSION (a suite that moved on to another HAProxy fails loudly).
#   CERTSPOA_ROOTS   root cache directory (see mkroot.sh)
#   CERTSPOA_HAPROXY host haproxy binary for 2.6 (default /usr/sbin/haproxy)
set -eu

die() { printf 'haproxy.sh: %s\n' "$*" >&2; exit 127; }

[ $# -ge 1 ] || { echo "usage: $0 VERSION [haproxy args...]   (VERSION: 2.6 3.0 3.2)" >&2; exit 2; }
VERSION=$1
shift

case "$VERSION" in
    2.6|host)
        exec "${CERTSPOA_HAPROXY:-/usr/sbin/haproxy}" "$@" ;;
    3.0|trixie) SUITE=trixie; WANT=3.0 ;;
    3.2|forky)  SUITE=forky;  WANT=3.2 ;;
    *) die "unknown HAProxy version '$VERSION' (known: 2.6 3.0 3.2)" ;;
esac

[ "$(id -u)" -eq 0 ] || die "chroot needs root"

HERE=$(cd "$(dirname "$0")" && pwd -P)
REPO=$(cd "$HERE/../.." && pwd -P)
ROOTS=${CERTSPOA_ROOTS:-/var/cache/certspoa/roots}
ROOT=$ROOTS/$SUITE

if [ ! -f "$ROOT/.certspoa-root" ]; then
    [ "${CERTSPOA_NO_BUILD:-0}" = 1 ] && die "no $SUITE root in $ROOTS (run tests/versions/mkroot.sh $SUITE)"
    ROOT=$("$HERE/mkroot.sh" "$SUITE") || die "building the $SUITE root failed"
fi

GOT=$(sed -n 's/^haproxy=//p' "$ROOT/.certspoa-root")
case "$GOT" in
    "$WANT".*) ;;
    *) die "the $SUITE root carries haproxy $GOT, not $WANT" ;;
esac

# Directories to make visible at the same path inside the root.
BINDS="$REPO:/tmp"
CWD=$(pwd -P)
case "$CWD" in
    /) ;;
    *) BINDS="$BINDS:$CWD" ;;
esac
[ -n "${CERTSPOA_BIND:-}" ] && BINDS="$BINDS:$CERTSPOA_BIND"

exec unshare --mount --propagation private -- sh -eu -c '
    root=$1 binds=$2 cwd=$3; shift 3
    mount -t proc proc "$root/proc"
    mount -t sysfs sysfs "$root/sys" 2>/dev/null || true
    mount --rbind /dev "$root/dev"
    # Shortest path first so a nested directory is mounted over its parent.
    # (The loop runs in a subshell of the pipe; mounts are per namespace, so
    # that does not matter.)
    printf "%s\n" "$binds" | tr ":" "\n" | awk "NF && !seen[\$0]++ { print length, \$0 }" |
        sort -n | cut -d" " -f2- | while IFS= read -r d; do
        case "$d" in /*) ;; *) continue ;; esac
        [ -d "$d" ] || continue
        mkdir -p "$root$d"
        mount --rbind "$d" "$root$d"
    done
    # chroot --skip-chdir is not portable across coreutils versions: cd inside.
    exec chroot "$root" /bin/sh -c "cd \"\$1\" 2>/dev/null || cd /; shift; exec /usr/sbin/haproxy \"\$@\"" sh "$cwd" "$@"
' haproxy.sh "$ROOT" "$BINDS" "$CWD" "$@"
