#!/usr/bin/env bash
# run.sh - the adversarial suite: every executable tests/adversarial/t-*.sh
# against every HAProxy version, through the shipped examples.
#
#   tests/adversarial/run.sh                (or: make adversarial)
#   VERSIONS=2.6 ONLY=resume tests/adversarial/run.sh
#   CERTSPOA_BIN=/path/to/certspoa tests/adversarial/run.sh
#
# Environment:
#   VERSIONS      HAProxy versions (default "2.6 3.0 3.2"): 2.6 is the host's
#                 haproxy, 3.0 and 3.2 run from the Debian roots in
#                 /var/cache/certspoa/roots through tests/versions/haproxy.sh
#                 (built by tests/versions/ci-prepare.sh). A missing root is
#                 a FAILED line, never a silent skip.
#   ONLY (or T)   a pattern (bash glob, or a plain substring) on the script
#                 names without "t-" and ".sh": ONLY=resume, ONLY='r*'
#   CERTSPOA_BIN  the agent (make adversarial passes the one it built)
#   KEEP_OUT=1    keep every script's work directory under tests/out/
#   SCRIPT_TIMEOUT  seconds a script may run before it is killed and
#                 counted as failed (default 300)
#
# Each script prints its checks and ends with one line
#   adv-NAME-VERSION: N passed, N failed
# and run.sh prints the wall time per version. There is no total line (CI
# sums the per-script lines); run.sh exits non-zero if anything failed or
# a script did not end with its summary line.
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
t_all=$SECONDS

# wanted NAME - ONLY is empty, a glob that NAME matches, or a substring
wanted() {
    [ -z "$ONLY" ] && return 0
    # shellcheck disable=SC2053
    [[ $1 == $ONLY ]] && return 0
    [[ $1 == *"$ONLY"* ]]
}

scripts=()
for s in "$HERE"/t-*.sh; do
    [ -x "$s" ] || continue
    n=$(basename "$s" .sh)
    n=${n#t-}
    wanted "$n" && scripts+=("$s")
done
if [ "${#scripts[@]}" -eq 0 ]; then
    echo "adversarial: no script matches ONLY='$ONLY'"
    echo "adv-none: 0 passed, 1 failed"
    exit 1
fi

for v in $VERSIONS; do
    t0=$SECONDS
    case $v in
        2.6) hap=${HAPROXY_26:-haproxy} ;;
        3.0|3.2)
            suite=trixie
            [ "$v" = 3.2 ] && suite=forky
            if [ ! -f "$ROOTS/$suite/.certspoa-root" ]; then
                echo "FAILED: HAProxy $v: no $suite root in $ROOTS (run tests/versions/ci-prepare.sh)"
                for s in "${scripts[@]}"; do
                    n=$(basename "$s" .sh)
                    echo "adv-${n#t-}-$v: 0 passed, 1 failed"
                done
                rc=1
                continue
            fi
            hap="$TOP/tests/versions/haproxy.sh $v" ;;
        *)
            echo "FAILED: unknown HAProxy version '$v' (known: 2.6 3.0 3.2)"
            echo "adv-version-$v: 0 passed, 1 failed"
            rc=1
            continue ;;
    esac
    echo "=== HAProxy $v: $(CERTSPOA_NO_BUILD=1 $hap -v 2>&1 | head -n 1)"
    for s in "${scripts[@]}"; do
        n=$(basename "$s" .sh)
        n=${n#t-}
        name=adv-$n-$v
        ts=$SECONDS
        out=$(ONLY="" T="" HAPROXY=$hap CERTSPOA_NO_BUILD=1 SUITE_NAME=$name timeout -k 10 "$SCRIPT_TIMEOUT" "$s" 2>&1)
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
                    rc=1
                fi ;;
            *) rc=1 ;;
        esac
        echo "# $name: $((SECONDS - ts)) s"
        echo "$line"
    done
    echo "# HAProxy $v: wall time $((SECONDS - t0)) s"
done
echo "# adversarial: total wall time $((SECONDS - t_all)) s"
exit $rc
