#!/usr/bin/env bash
# man.sh - the man page sources agree with the code, on what the code
# decides alone (the key list is generated: docs/man/mkman.awk):
#   - certspoa(8) names every subcommand that main.c dispatches on
#     (strcmp(argv[1], "NAME")), in SYNOPSIS and in COMMANDS, and
#     `certspoa -h` lists it;
#   - certspoa.ini(5)'s SECTIONS names every section of cfg.c's
#     section_names[];
#   - its durations are exactly the units of cfg.c's duration_units[], and
#     the binary accepts each;
#   - its line limit is the one the binary enforces (found by loading a
#     long line, then checked at N and N + 1 characters).
#
#   tests/docs/man.sh BIN MAN8 MAN5 MAIN_C CFG_C
# Prints one line per problem; exit 0 when there is none, 1 otherwise.
# tests/docs/run.sh runs it on the real files, and on copies with a
# subcommand, a section, a unit or the limit taken out (it must fail).
set -u
BIN=$1 MAN8=$2 MAN5=$3 MAIN_C=$4 CFG_C=$5
bad=0
problem() { echo "$*"; bad=1; }
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT

# a section of a man source: from ".SH NAME" to the next ".SH"
man_section() { sed -n "/^\\.SH $2\$/,/^\\.SH /p" "$1" | sed '$d'; }

# ---- subcommands
cmds=$(grep -o 'strcmp(argv\[1\], "[a-z-]*")' "$MAIN_C" | sed 's/.*"\([a-z-]*\)".*/\1/' | sort -u)
[ -n "$cmds" ] || problem "no subcommands found in $MAIN_C (strcmp(argv[1], \"NAME\"))"
syn=$(man_section "$MAN8" SYNOPSIS)
# the COMMANDS entries: the tag line after each .TP
com=$(man_section "$MAN8" COMMANDS | awk 'tp { print; tp = 0 } /^\.TP/ { tp = 1 }')
help=$("$BIN" -h 2>&1)
for c in $cmds; do
	printf '%s\n' "$syn" | grep -Eq "^\\.B certspoa $c( |\$)" ||
		problem "certspoa(8) SYNOPSIS lacks '.B certspoa $c'"
	printf '%s\n' "$com" | grep -Eq "^\\.BI? \"?$c( |\"|\$)" ||
		problem "certspoa(8) COMMANDS lacks an entry (.TP, then .BI \"$c ...) for $c"
	printf '%s\n' "$help" | grep -Eq "certspoa $c( |\$)" ||
		problem "certspoa -h does not list 'certspoa $c'"
done

# ---- sections: section_names[] = { [CFG_S_X] = "name" or "name NAME" }
secs=$(sed -n '/section_names\[CFG_S_SECTIONS\] = {/,/^};/p' "$CFG_C" |
       sed -n 's/^[[:space:]]*\[CFG_S_[A-Z]*\] *= *"\([a-z]*\).*/\1/p')
[ -n "$secs" ] || problem "no sections found in $CFG_C section_names[]"
msec=$(man_section "$MAN5" SECTIONS)
for s in $secs; do
	printf '%s\n' "$msec" | grep -Eq "^\\.BI? \"?\\[$s(\\]| )" ||
		problem "certspoa.ini(5) SECTIONS lacks [$s]"
done

# ---- duration units: duration_units[] = { { "ms", 1 }, ... }
units=$(sed -n '/duration_units\[\] = {/,/^};/p' "$CFG_C" |
        sed -n 's/^[[:space:]]*{ *"\([a-z]*\)".*/\1/p' | sort)
[ -n "$units" ] || problem "no duration units found in $CFG_C duration_units[]"
mline=$(grep -A1 '^Durations take the units' "$MAN5" | tail -n 1)
case $mline in
.BR*) munits=$(printf '%s\n' "$mline" | sed 's/^\.BR //; s/ ;$//; s/", "/ /g; s/"//g' | tr ' ' '\n' | grep -v '^$' | sort) ;;
*) munits=""; problem "certspoa.ini(5): no '.BR' line of units after 'Durations take the units'" ;;
esac
for u in $units; do
	printf '%s\n' "$munits" | grep -qx "$u" || problem "certspoa.ini(5) durations lack the unit $u"
	printf '[agent]\nreload_watch = 1%s\n' "$u" >"$tmp/u.ini"
	"$BIN" -c -f "$tmp/u.ini" >/dev/null 2>&1 || problem "the binary refuses reload_watch = 1$u"
done
for u in $munits; do
	printf '%s\n' "$units" | grep -qx "$u" || problem "certspoa.ini(5) names a duration unit the code lacks: $u"
done

# ---- the line limit, as the binary enforces it
long=$(printf '%0400d' 0)
printf '[agent]\n; %s\n' "$long" >"$tmp/l.ini"
limit=$("$BIN" -c -f "$tmp/l.ini" 2>&1 | sed -n 's/.*line longer than \([0-9]*\) characters.*/\1/p')
if [ -z "$limit" ]; then
	problem "a 402-character line is not refused with 'line longer than N characters'"
else
	pad() { printf '[agent]\n;%s\n' "$(printf "%0$(($1 - 1))d" 0)" >"$tmp/l.ini"; }
	pad "$limit"
	"$BIN" -c -f "$tmp/l.ini" >/dev/null 2>&1 || problem "a line of $limit characters (the limit) is refused"
	pad $((limit + 1))
	"$BIN" -c -f "$tmp/l.ini" >/dev/null 2>&1 && problem "a line of $((limit + 1)) characters is accepted"
	grep -q "longer than $limit characters" "$MAN5" ||
		problem "certspoa.ini(5) does not say 'longer than $limit characters' (the binary's limit)"
	others=$(grep -o 'longer than [0-9]* characters' "$MAN5" | grep -v "than $limit " | head -1)
	[ -z "$others" ] || problem "certspoa.ini(5) also says '$others'"
fi
exit $bad
