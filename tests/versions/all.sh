#!/usr/bin/env bash
# all.sh - the HAProxy version matrix ("make versions"; CI runs it after
# "make check"):
#
#   1. ci-prepare.sh: build or reuse the Debian roots carrying 3.0 (trixie)
#      and 3.2 (forky); check that 2.6, 3.0 and 3.2 start
#   2. for each version: the integration suite with that HAProxy
#      (summary "integration-VERSION: N passed, N failed"), then
#      conformance.sh VERSION ("conformance-VERSION: ...")
#   3. spoe-compat.sh: the SPOE differences of docs/haproxy-versions.md
#
# Prints the wall time of each step and of each version. Exit 1 if anything
# failed. Needs root. Environment:
#   CERTSPOA_BIN   the agent (default: the repository's ./certspoa)
#   VERSIONS       default "2.6 3.0 3.2"
#   CERTSPOA_ROOTS where the roots are cached (see mkroot.sh)
set -u

HERE=$(cd "$(dirname "$0")" && pwd -P)
REPO=$(cd "$HERE/../.." && pwd -P)
VERSIONS=${VERSIONS:-2.6 3.0 3.2}
export CERTSPOA_BIN=${CERTSPOA_BIN:-$REPO/certspoa}
rc=0
T_ALL=$(date +%s)
say() { printf 'versions: %s\n' "$*"; }

# run_suite NAME CMD...: run a suite; if it died without its summary line,
# print one failure under its name so CI's totals count it.
run_suite() {
    local name=$1 out st
    shift
    out=$(mktemp)
    "$@" 2>&1 | tee "$out"
    st=${PIPESTATUS[0]}
    if ! grep -q "^$name: [0-9]* passed, [0-9]* failed" "$out"; then
        echo "$name: 0 passed, 1 failed"
        st=1
    fi
    rm -f "$out"
    [ "$st" -eq 0 ] || rc=1
    return "$st"
}

t0=$(date +%s)
if "$HERE/ci-prepare.sh"; then
    echo "ci-prepare: 1 passed, 0 failed"
else
    echo "ci-prepare: 0 passed, 1 failed"
    rc=1
fi
T_PREP=$(( $(date +%s) - t0 ))
say "prepare took $T_PREP s"

# Roots are ready (or failed above): never build them in the middle of a suite.
export CERTSPOA_NO_BUILD=1
TIMES=""
for v in $VERSIONS; do
    tv=$(date +%s)
    t0=$tv
    SUITE_NAME=integration-$v HAPROXY="$HERE/haproxy.sh $v" \
        run_suite "integration-$v" "$REPO/tests/integration/run.sh"
    ti=$(( $(date +%s) - t0 ))
    t0=$(date +%s)
    run_suite "conformance-$v" "$HERE/conformance.sh" "$v"
    tc=$(( $(date +%s) - t0 ))
    t=$(( $(date +%s) - tv ))
    say "$v took $t s (integration $ti s, conformance $tc s)"
    TIMES="$TIMES $v=${t}s"
done

t0=$(date +%s)
# shellcheck disable=SC2086
run_suite spoe-compat "$HERE/spoe-compat.sh" $VERSIONS
T_COMPAT=$(( $(date +%s) - t0 ))
say "spoe-compat took $T_COMPAT s"
say "total $(( $(date +%s) - T_ALL )) s: prepare ${T_PREP}s$TIMES spoe-compat ${T_COMPAT}s"
exit $rc
