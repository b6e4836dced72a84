#!/bin/sh
# mkroot.sh [--rebuild] SUITE
#
# Build (or reuse from the cache) a minimal Debian root for SUITE (trixie or
# forky, or any other Debian suite) with the distribution's `haproxy` package
# installed inside, and print the root's path on stdout. Progress goes to
# stderr.
#
#   CERTSPOA_ROOTS    cache directory (default /var/cache/certspoa/roots);
#                     the root is $CERTSPOA_ROOTS/SUITE
#   CERTSPOA_MIRROR   Debian mirror (default: the host's own, read from apt's
#                     configuration, else http://deb.debian.org/debian)
#   --rebuild         throw the cached root away and build it again
#
# A root is complete only when its stamp file (.certspoa-root) exists; a root
# without one (an interrupted build) is removed and built again. Builds of the
# same suite are serialised with flock, so concurrent callers are safe. Needs
# root; installs debootstrap with apt-get if it is missing. Only Debian's
# package archive is contacted.
set -eu

STAMP=.certspoa-root
# Packages added on top of minbase: nothing. haproxy's own dependencies come
# from apt inside the root. (ca-certificates, curl etc. are not needed: the
# tests run the host's curl and openssl.)

log() { printf 'mkroot[%s]: %s\n' "${SUITE:-?}" "$*" >&2; }
die() { log "error: $*"; exit 1; }

REBUILD=0
while [ $# -gt 0 ]; do
    case "$1" in
        --rebuild) REBUILD=1; shift ;;
        -h|--help) sed -n '2,20s/^# \{0,1\}//p' "$0"; exit 0 ;;
        --) shift; break ;;
        -*) die "unknown option $1" ;;
        *) break ;;
    esac
done
[ $# -eq 1 ] || { echo "usage: $0 [--rebuild] SUITE" >&2; exit 2; }
SUITE=$1
case "$SUITE" in
    *[!a-z0-9-]*|'') die "bad suite name '$SUITE'" ;;
esac
[ "$(id -u)" -eq 0 ] || die "must run as root (debootstrap, chroot)"

ROOTS=${CERTSPOA_ROOTS:-/var/cache/certspoa/roots}
ROOT=$ROOTS/$SUITE

# Fast path: a complete cached root.
if [ "$REBUILD" -eq 0 ] && [ -f "$ROOT/$STAMP" ]; then
    printf '%s\n' "$ROOT"
    exit 0
fi

mkdir -p "$ROOTS"
exec 9>"$ROOTS/.$SUITE.lock"
if ! flock -n 9; then
    log "waiting for another build of $SUITE to finish"
    flock 9
fi
# Someone else may have finished it while we waited.
if [ "$REBUILD" -eq 0 ] && [ -f "$ROOT/$STAMP" ]; then
    printf '%s\n' "$ROOT"
    exit 0
fi

# Refuse to delete anything that still has a mount under it (a leaked bind
# mount of the repository or /tmp would otherwise be emptied by rm -rf).
mounts_under() {
    awk -v r="$1" '$5 == r || index($5, r "/") == 1 { print $5 }' /proc/self/mountinfo
}
remove_root() {
    [ -e "$1" ] || return 0
    m=$(mounts_under "$1")
    if [ -n "$m" ]; then
        log "unmounting leftovers under $1: $m"
        printf '%s\n' "$m" | sort -r | while read -r p; do umount -l "$p" || true; done
        [ -z "$(mounts_under "$1")" ] || die "mounts remain under $1; not removing it"
    fi
    rm -rf --one-file-system "$1"
}

detect_mirror() {
    if [ -n "${CERTSPOA_MIRROR:-}" ]; then
        printf '%s\n' "${CERTSPOA_MIRROR%/}"
        return
    fi
    codename=$(. /etc/os-release 2>/dev/null && printf '%s' "${VERSION_CODENAME:-}")
    m=""
    if [ -n "$codename" ] && command -v apt-get >/dev/null; then
        m=$(apt-get indextargets --format '$(REPO_URI) $(RELEASE) $(COMPONENT)' 2>/dev/null |
            awk -v c="$codename" '$2 == c && $3 == "main" { print $1; exit }')
    fi
    m=${m%/}
    printf '%s\n' "${m:-http://deb.debian.org/debian}"
}

ensure_debootstrap() {
    command -v debootstrap >/dev/null 2>&1 && return 0
    log "installing debootstrap"
    # A failing third-party source must not stop us: Debian's own lists are
    # all debootstrap needs.
    apt-get update -qq >&2 || log "apt-get update reported errors; trying the install anyway"
    DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends debootstrap >/dev/null 2>&1 ||
        DEBIAN_FRONTEND=noninteractive apt-get install -y --no-install-recommends debootstrap >&2
    command -v debootstrap >/dev/null 2>&1 || die "debootstrap still missing"
}

# Run a command inside the root in a private mount namespace with /proc,
# /dev/null etc. available; nothing leaks to the host's mount table and the
# mounts disappear when the command exits.
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
    ' in_root "$TMPROOT" env -i PATH=/usr/sbin:/usr/bin:/sbin:/bin \
        DEBIAN_FRONTEND=noninteractive LC_ALL=C.UTF-8 HOME=/root "$@"
}

ensure_debootstrap
MIRROR=$(detect_mirror)

# debootstrap from older hosts may not know newer codenames (Debian 12's
# 1.0.128 knows trixie but not forky). Every Debian suite since bullseye uses
# the same script as sid.
SCRIPT=""
SCRIPTS_DIR=${DEBOOTSTRAP_DIR:-/usr/share/debootstrap}/scripts
if [ ! -e "$SCRIPTS_DIR/$SUITE" ]; then
    [ -e "$SCRIPTS_DIR/sid" ] || die "debootstrap has neither a '$SUITE' nor a 'sid' script"
    SCRIPT=$SCRIPTS_DIR/sid
    log "debootstrap does not know '$SUITE'; using $SCRIPT"
fi

TMPROOT=$ROOTS/.$SUITE.building
remove_root "$TMPROOT"
[ "$REBUILD" -eq 1 ] && remove_root "$ROOT"
# An incomplete root (no stamp) from an interrupted older build.
[ -f "$ROOT/$STAMP" ] || remove_root "$ROOT"

START=$(date +%s)
log "debootstrap --variant=minbase $SUITE from $MIRROR into $TMPROOT"
# shellcheck disable=SC2086
if ! debootstrap --variant=minbase --components=main \
        --merged-usr \
        "$SUITE" "$TMPROOT" "$MIRROR" $SCRIPT >"$ROOTS/.$SUITE.debootstrap.log" 2>&1; then
    tail -n 30 "$ROOTS/.$SUITE.debootstrap.log" >&2
    [ -f "$TMPROOT/debootstrap/debootstrap.log" ] && tail -n 30 "$TMPROOT/debootstrap/debootstrap.log" >&2
    die "debootstrap failed (full log: $ROOTS/.$SUITE.debootstrap.log)"
fi
T1=$(date +%s)
log "debootstrap done in $((T1 - START)) s"

# Keep services from starting inside the root, keep apt lean.
printf '#!/bin/sh\nexit 101\n' > "$TMPROOT/usr/sbin/policy-rc.d"
chmod 755 "$TMPROOT/usr/sbin/policy-rc.d"
cat > "$TMPROOT/etc/apt/apt.conf.d/90certspoa" <<'EOF'
APT::Install-Recommends "false";
APT::Install-Suggests "false";
Acquire::Languages "none";
Dpkg::Use-Pty "false";
// The archive seen here can lag behind: testing's Release file may be past its
// Valid-Until date. Signatures are still checked.
Acquire::Check-Valid-Until "false";
EOF
printf 'deb %s %s main\n' "$MIRROR" "$SUITE" > "$TMPROOT/etc/apt/sources.list"
# Name resolution for localhost inside the root, whatever the host has.
printf '127.0.0.1\tlocalhost\n::1\tlocalhost ip6-localhost ip6-loopback\n' > "$TMPROOT/etc/hosts"

log "apt-get install haproxy"
if ! in_root sh -c 'apt-get update -q && apt-get install -y -q haproxy && apt-get clean' \
        >"$ROOTS/.$SUITE.apt.log" 2>&1; then
    tail -n 30 "$ROOTS/.$SUITE.apt.log" >&2
    die "installing haproxy failed (full log: $ROOTS/.$SUITE.apt.log)"
fi
rm -rf "$TMPROOT"/var/lib/apt/lists/* "$TMPROOT"/var/cache/apt/*.bin
T2=$(date +%s)

HAVERSION=$(in_root /usr/sbin/haproxy -v 2>/dev/null | sed -n '1s/^HAProxy version \([^ ]*\).*/\1/p')
[ -n "$HAVERSION" ] || die "haproxy does not run inside the root"
PKGVERSION=$(in_root dpkg-query -W -f '${Version}' haproxy)
SIZE=$(du -sx --block-size=1M "$TMPROOT" | cut -f1)

{
    echo "suite=$SUITE"
    echo "haproxy=$HAVERSION"
    echo "package=$PKGVERSION"
    echo "mirror=$MIRROR"
    echo "built=$(date -u +%Y-%m-%dT%H:%M:%SZ)"
    echo "seconds=$((T2 - START))"
    echo "size_mb=$SIZE"
} > "$TMPROOT/$STAMP.tmp"
mv "$TMPROOT/$STAMP.tmp" "$TMPROOT/$STAMP"
mv "$TMPROOT" "$ROOT"
log "haproxy $HAVERSION (package $PKGVERSION), ${SIZE} MB, built in $((T2 - START)) s (debootstrap $((T1 - START)) s, apt $((T2 - T1)) s)"
printf '%s\n' "$ROOT"
