#!/usr/bin/env bash
# run.sh - the revocation suite: every executable tests/revocation/t-*.sh.
# Scripts that drive HAProxy run once per HAProxy version; a script whose
# second line is "# once" (it needs no HAProxy: the fetcher's faults under
# valgrind, say) runs once, with the first version.
#
#   tests/revocation/run.sh               (or: make revocation)
#   VERSIONS=2.6 ONLY=crl tests/revocation/run.sh
#
# Environment:
#   VERSIONS      HAProxy versions (default "2.6 3.0 3.2"): 2.6 is the
#                 host's haproxy, 3.0 and 3.2 run through
#                 tests/versions/haproxy.sh from /var/cache/certspoa/roots.
#                 A missing root is a FAILED line, never a silent skip.
#   ONLY (or T)   a pattern on the script names without "t-" and ".sh"
#                 (bash glob or plain substring): ONLY=crl, ONLY='ocsp*'
#   CERTSPOA_BIN  the agent (make revocation passes the one it built)
#   KEEP_OUT=1    keep every script's work directory under tests/out/
#   SCRIPT_TIMEOUT  seconds a script may run (default 300)
#
# Each script ends with one line "rev-NAME-VERSION: N passed, N failed"
# ("rev-NAME: ..." for a once script); the last line is
# "revocation: N passed, N failed", the sum. Parts are files, so that the
# CRL half (t-crl*.sh) and the OCSP half (t-ocsp*.sh) grow without
# touching each other.
set -u
HERE=$(cd "$(dirname "$0")" && pwd)
TOP=$(cd "$HERE/../.." && pwd)
VERSIONS=${VERSIONS:-2.6 3.0 3.2}
ONLY=${ONLY:-${T:-}}
CERTSPOA_BIN=${CERTSPOA_BIN:-$TOP/certspoa}
case $CERTSPOA_BIN in /*) ;; *) CERTSPOA_BIN=$PWD/$CERTSPOA_BIN ;; esac
export CERTSPOA_BIN
ROOTS=${CERTSPOA_ROOTS:-/var/cache/certspoa/roots}
SCRIPT_TIMEOUT=${SCRIPT_TIMEOUT:-300}
rc=0
pass=0
failed=0
t_all=$SECONDS

wanted() {
    [ -z "$ONLY" ] && return 0
    # shellcheck disable=SC2053
    [[ $1 == $ONLY ]] && return 0
    [[ $1 == *"$ONLY"* ]]
}

is_once() { [ "$(sed -n 2p "$1")" = "# once" ]; }

scripts=()
for s in "$HERE"/t-*.sh; do
    [ -x "$s" ] || continue
    n=$(basename "$s" .sh)
    wanted "${n#t-}" && scripts+=("$s")
done
if [ "${#scripts[@]}" -eq 0 ]; then
    echo "revocation: no script matches ONLY='$ONLY'"
    echo "revocation: 0 passed, 1 failed"
    exit 1
fi

# run_script SCRIPT NAME HAPROXY VERSION - one script, its summary line checked.
run_script() {
    local s=$1 name=$2 hap=$3 v=$4 out src line ts=$SECONDS p f
    out=$(ONLY="" T="" HAPROXY=$hap HAP_VERSION=$v CERTSPOA_NO_BUILD=1 SUITE_NAME=$name \
        timeout -k 10 "$SCRIPT_TIMEOUT" "$s" 2>&1)
    src=$?
    [ "$src" -eq 124 ] && echo "FAILED: $s did not finish within $SCRIPT_TIMEOUT s (killed)"
    printf '%s\n' "$out" | grep -v "^$name: [0-9]* passed, [0-9]* failed\$"
    line=$(printf '%s\n' "$out" | grep "^$name: [0-9]* passed, [0-9]* failed\$" | tail -n 1)
    if [ -z "$line" ]; then
        echo "FAILED: $s ended without its summary line (exit $src)"
        line="$name: 0 passed, 1 failed"
    fi
    case $line in
        *" 0 failed")
            if [ "$src" -ne 0 ]; then
                echo "FAILED: $s said 0 failed but exited $src"
                line="${line% 0 failed} 1 failed"
            fi ;;
    esac
    p=$(printf '%s' "$line" | sed -n 's/.*: \([0-9]*\) passed, \([0-9]*\) failed$/\1/p')
    f=$(printf '%s' "$line" | sed -n 's/.*: \([0-9]*\) passed, \([0-9]*\) failed$/\2/p')
    pass=$((pass + p))
    failed=$((failed + f))
    [ "$f" -eq 0 ] || rc=1
    echo "# $name: $((SECONDS - ts)) s"
    echo "$line"
}

first=1
for v in $VERSIONS; do
    t0=$SECONDS
    case $v in
        2.6) hap=${HAPROXY_26:-haproxy} ;;
        3.0|3.2)
            suite=trixie
            [ "$v" = 3.2 ] && suite=forky
            if [ ! -f "$ROOTS/$suite/.certspoa-root" ]; then
                echo "FAILED: HAProxy $v: no $suite root in $ROOTS (run tests/versions/ci-prepare.sh)"
                echo "rev-version-$v: 0 passed, 1 failed"
                failed=$((failed + 1))
                rc=1
                continue
            fi
            hap="$TOP/tests/versions/haproxy.sh $v" ;;
        *)
            echo "FAILED: unknown HAProxy version '$v' (known: 2.6 3.0 3.2)"
            echo "rev-version-$v: 0 passed, 1 failed"
            failed=$((failed + 1))
            rc=1
            continue ;;
    esac
    echo "=== HAProxy $v: $(CERTSPOA_NO_BUILD=1 $hap -v 2>&1 | head -n 1)"
    for s in "${scripts[@]}"; do
        n=$(basename "$s" .sh)
        n=${n#t-}
        if is_once "$s"; then
            [ "$first" = 1 ] || continue
            run_script "$s" "rev-$n" "$hap" "$v"
        else
            run_script "$s" "rev-$n-$v" "$hap" "$v"
        fi
    done
    first=0
    echo "# HAProxy $v: wall time $((SECONDS - t0)) s"
done
echo "# revocation: total wall time $((SECONDS - t_all)) s"
echo "revocation: $pass passed, $failed failed"
exit $rc
