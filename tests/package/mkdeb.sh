#!/usr/bin/env bash
# mkdeb.sh [--version V] [OUTDIR] - build the Debian package (make deb).
#
# dpkg-buildpackage -us -uc -b runs in a copy of the tree (the files git
# knows, committed or not), so its by-products stay out of the checkout and
# out of the directory above it; the .deb, .buildinfo and .changes go to
# OUTDIR (default build/deb). Then lintian on the .changes: the package must
# be clean (debian/certspoa.lintian-overrides explains each override).
#
#   --version V   add a changelog entry for version V first (in the copy
#                 only): the "rebuilt with a higher version" package of
#                 tests/package/deb.sh's upgrade test.
#
# Prints the path of the .deb as its last line. Needs dpkg-dev, debhelper,
# lintian and the Build-Depends (debian/control); not root.
set -euo pipefail
TOP=$(cd "$(dirname "$0")/../.." && pwd)
VERSION=""
if [ "${1:-}" = --version ]; then
    VERSION=$2
    shift 2
fi
OUT=${1:-$TOP/build/deb}
mkdir -p "$OUT"
OUT=$(cd "$OUT" && pwd)

UPSTREAM=$(cat "$TOP/VERSION")
CHANGELOG_VERSION=$(dpkg-parsechangelog -l "$TOP/debian/changelog" -S Version)
case $CHANGELOG_VERSION in
    "$UPSTREAM"-*) ;;
    *) echo "mkdeb: debian/changelog is at $CHANGELOG_VERSION but VERSION says $UPSTREAM:" \
            "add a debian/changelog entry $UPSTREAM-1" >&2
       exit 1 ;;
esac

WORKDIR=$(mktemp -d "$OUT/.src.XXXXXX")
trap 'rm -rf "$WORKDIR"' EXIT
SRC=$WORKDIR/certspoa-$UPSTREAM
mkdir -p "$SRC"
# Tracked and new (not ignored) files; deleted ones are skipped.
git -C "$TOP" ls-files -z --cached --others --exclude-standard |
    (cd "$TOP" && xargs -0 sh -c 'for f; do [ -e "$f" ] && printf "%s\0" "$f"; done; true' sh) |
    tar -C "$TOP" --null -T - -cf - | tar -C "$SRC" -xf -

if [ -n "$VERSION" ]; then
    {
        printf 'certspoa (%s) unstable; urgency=medium\n\n' "$VERSION"
        printf '  * Rebuild for the upgrade test (tests/package/deb.sh).\n\n'
        printf ' -- %s  %s\n\n' "$(dpkg-parsechangelog -l "$SRC/debian/changelog" -S Maintainer)" \
            "$(date -R -u)"
        cat "$SRC/debian/changelog"
    } >"$SRC/debian/changelog.new"
    mv "$SRC/debian/changelog.new" "$SRC/debian/changelog"
fi

FULL=$(dpkg-parsechangelog -l "$SRC/debian/changelog" -S Version)
ARCH=$(dpkg-architecture -qDEB_HOST_ARCH)
echo "mkdeb: dpkg-buildpackage -us -uc -b for certspoa $FULL ($ARCH)" >&2
(cd "$SRC" && nice dpkg-buildpackage -us -uc -b -j2) >"$OUT/build-$FULL.log" 2>&1 || {
    tail -n 30 "$OUT/build-$FULL.log" >&2
    echo "mkdeb: dpkg-buildpackage failed (log: $OUT/build-$FULL.log)" >&2
    exit 1
}
for f in "$WORKDIR"/certspoa_"$FULL"_*; do
    mv -f "$f" "$OUT/"
done
mv -f "$WORKDIR"/certspoa-dbgsym_"$FULL"_* "$OUT/" 2>/dev/null || true
DEB=$OUT/certspoa_${FULL}_$ARCH.deb
[ -f "$DEB" ] || { echo "mkdeb: no $DEB" >&2; exit 1; }

echo "mkdeb: lintian" >&2
if ! lintian --fail-on error,warning "$OUT/certspoa_${FULL}_$ARCH.changes" >"$OUT/lintian-$FULL.log" 2>&1; then
    cat "$OUT/lintian-$FULL.log" >&2
    echo "mkdeb: lintian is not clean" >&2
    exit 1
fi
echo "mkdeb: $(du -k "$DEB" | cut -f1) KB, lintian clean ($(grep -c . "$OUT/lintian-$FULL.log" || true) info lines)" >&2
echo "$DEB"
