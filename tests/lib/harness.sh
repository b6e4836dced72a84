# shellcheck shell=bash
# shellcheck disable=SC2034 # sets variables (KEEP_OUT, WHY) that the scripts sourcing it read
# harness.sh - the test harness every shell suite shares: counters,
# check/fail/note/finish, the predicates, and ONLY= (one way to run one
# test). tests/integration/lib.sh sources it; a suite that needs nothing
# else sources it alone:
#
#   . "$TOP/tests/lib/harness.sh"
#
# Each suite ends with one line exactly "NAME: N passed, N failed".
#
# ONLY=pattern (T=pattern is the same; a suite's old variable, e.g.
# POLICY_ONLY, still works and wins): words, each a bash glob or a plain
# substring.
#   - A suite made of parts declares them with `only_parts PART...` and asks
#     `part_wanted PART`. When a word of ONLY names a part, only those parts run,
#     all of their checks shown.
#   - Otherwise every check still runs (an earlier check may set up a later
#     one), but a passing check whose name ONLY does not match is neither
#     printed nor counted. A failing check is always printed and counted:
#     ONLY never hides a failure.

PASS=0
FAIL=0
WHY=""
HIDDEN=0
ONLY=${ONLY:-${T:-}}
ONLY_BY_PART=0

# only_match NAME - ONLY is empty, or one of its words matches NAME.
only_match() {
    local w
    [ -z "$ONLY" ] && return 0
    for w in $ONLY; do
        # shellcheck disable=SC2053 # the word is meant to glob
        [[ $1 == $w ]] && return 0
        [[ $1 == *"$w"* ]] && return 0
    done
    return 1
}

# only_parts PART... - the suite's parts; decides whether ONLY selects parts
# (a word names one) or checks (no word does).
only_parts() {
    local p w
    ONLY_BY_PART=0
    [ -z "$ONLY" ] && return 0
    for p in "$@"; do
        for w in $ONLY; do
            # shellcheck disable=SC2053
            if [[ $p == $w ]] || [[ $p == *"$w"* ]]; then ONLY_BY_PART=1; fi
        done
    done
    return 0
}

# part_wanted PART - PART is to run.
part_wanted() {
    [ "$ONLY_BY_PART" = 1 ] || return 0
    only_match "$1"
}

# only_shown NAME - a passing check NAME is printed and counted.
only_shown() {
    [ "$ONLY_BY_PART" = 1 ] && return 0
    only_match "$1"
}

# ---------------------------------------------------------------- reporting

# check NAME COMMAND [ARGS...] - run COMMAND; count and print the result.
# Predicates below set WHY to say what was wrong.
check() {
    local name=$1
    shift
    WHY=""
    if "$@"; then
        if only_shown "$name"; then
            PASS=$((PASS + 1))
            printf 'ok   %s\n' "$name"
        else
            HIDDEN=$((HIDDEN + 1))
        fi
    else
        FAIL=$((FAIL + 1))
        printf 'FAIL %s\n' "$name"
        [ -n "$WHY" ] && printf '       %s\n' "$WHY"
    fi
    return 0
}

# fail NAME WHY - count a failure that is not a check (setup went wrong).
fail() {
    FAIL=$((FAIL + 1))
    printf 'FAIL %s\n' "$1"
    [ -n "${2:-}" ] && printf '       %s\n' "$2"
    return 0
}

note() { printf '# %s\n' "$*"; }

# The one summary line, then the exit status.
finish() {
    local label=${1:-integration}
    if [ "$FAIL" -gt 0 ] && [ -n "${WORK:-}" ]; then
        KEEP_OUT=1
        note "logs and responses kept in $WORK"
    fi
    if [ -n "$ONLY" ] && [ "$ONLY_BY_PART" = 0 ]; then
        note "ONLY='$ONLY': $HIDDEN passing checks not shown"
        [ $((PASS + FAIL)) -eq 0 ] && note "ONLY='$ONLY' matches no check of $label"
    fi
    printf '%s: %d passed, %d failed\n' "$label" "$PASS" "$FAIL"
    [ "$FAIL" -eq 0 ]
}

# Predicates for check. They print nothing and set WHY on failure.
eq() {
    [ "$1" = "$2" ] && return 0
    WHY="got '$1', want '$2'"
    return 1
}
ne() {
    [ "$1" != "$2" ] && return 0
    WHY="got '$1', which it must not be"
    return 1
}
has() {       # has HAYSTACK NEEDLE  (fixed string)
    case $1 in *"$2"*) return 0 ;; esac
    WHY="'$(printf '%.300s' "$1")' does not contain '$2'"
    return 1
}
hasnt() {
    case $1 in *"$2"*) WHY="'$(printf '%.300s' "$1")' contains '$2'"; return 1 ;; esac
    return 0
}
matches() {   # matches STRING ERE
    [[ $1 =~ $2 ]] && return 0
    WHY="'$(printf '%.300s' "$1")' does not match /$2/"
    return 1
}
file_has() {  # file_has FILE NEEDLE
    grep -qF -- "$2" "$1" 2>/dev/null && return 0
    WHY="$1 does not contain '$2'"
    return 1
}
file_hasnt() {
    local hit
    hit=$(grep -E -m1 -- "$2" "$1" 2>/dev/null) || return 0
    WHY="$1 has: $hit"
    return 1
}

file_hasnt_any() {  # file_hasnt_any ERE FILE...
    local re=$1 hit
    shift
    hit=$(grep -E -m1 -H -- "$re" "$@" 2>/dev/null) || return 0
    WHY="$hit"
    return 1
}

