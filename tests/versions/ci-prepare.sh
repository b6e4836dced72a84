#!/bin/sh
# ci-prepare.sh [SUITE...]   (default: trixie forky)
#
# For CI: make sure the Debian roots that carry HAProxy 3.0 (trixie) and 3.2
# (forky) exist, building them from Debian's archive when they are not cached
# (installs debootstrap when missing), then check that every version answers
# through tests/versions/haproxy.sh. Prints one line per root with the time it
# took and whether it was built or reused, e.g.
#
#   ci-prepare: trixie built in 25 s: haproxy 3.0.11-1+deb13u4, 137 MB, /var/cache/certspoa/roots/trixie
#
# Exit status is non-zero if any root could not be built or does not run.
# Environment: CERTSPOA_ROOTS, CERTSPOA_MIRROR (see mkroot.sh).
set -u

HERE=$(cd "$(dirname "$0")" && pwd -P)
SUITES=${*:-trixie forky}
rc=0
t_all=$(date +%s)

for s in $SUITES; do
    ROOTS=${CERTSPOA_ROOTS:-/var/cache/certspoa/roots}
    how=built
    [ -f "$ROOTS/$s/.certspoa-root" ] && how=reused
    t0=$(date +%s)
    if root=$("$HERE/mkroot.sh" "$s"); then
        t=$(( $(date +%s) - t0 ))
        ver=$(sed -n 's/^haproxy=//p' "$root/.certspoa-root")
        size=$(sed -n 's/^size_mb=//p' "$root/.certspoa-root")
        echo "ci-prepare: $s $how in $t s: haproxy $ver, $size MB, $root"
    else
        t=$(( $(date +%s) - t0 ))
        echo "ci-prepare: $s FAILED after $t s" >&2
        rc=1
    fi
done

# Every version must start through the wrapper (host 2.6 included).
for v in 2.6 3.0 3.2; do
    case "$v:$SUITES" in
        3.0:*trixie*|3.2:*forky*|2.6:*) ;;
        *) continue ;;
    esac
    line=$(CERTSPOA_NO_BUILD=1 "$HERE/haproxy.sh" "$v" -v 2>&1 | head -n 1)
    case "$line" in
        "HAProxy version $v."*) echo "ci-prepare: $v ok: $line" ;;
        *) echo "ci-prepare: $v does not run: $line" >&2; rc=1 ;;
    esac
done

echo "ci-prepare: total $(( $(date +%s) - t_all )) s"
exit $rc
