#!/usr/bin/env bash
# Documentation that must stay in step with the code:
#  - README's configuration reference equals `certspoa --help-config`;
#  - every variable the agent sets (ACK_VAR_LIST in agent/handler.h) is
#    documented in README and registered in every shipped SPOE config
#    (HAProxy silently drops unregistered variables), and nothing else is;
#  - every SPOE argument (spoe_args[] in agent/handler.c) is documented in
#    README, and the shipped configs send no other;
#  - every config key appears in the certspoa.ini(5) source or is generated;
#  - the man pages name every subcommand, section, duration unit and the
#    line limit of the code (tests/docs/man.sh);
#  - every HAProxy snippet passes haproxy -c on 2.6, 3.0, 3.2 (tests/docs/snippets.sh).
# Ends with "docs: N passed, N failed".
set -u
cd "$(dirname "$0")/../.." || exit 1
BIN=${CERTSPOA_BIN:-./certspoa}
. tests/lib/harness.sh
ok()  { check "$*" true; }
bad() { check "$*" false; }

want=$(mktemp) got=$(mktemp)
trap 'rm -f "$want" "$got"' EXIT
{ echo '| section | key | type | default | meaning |'; echo '|---|---|---|---|---|'
  awk -f docs/config-ref.awk <("$BIN" --help-config); } > "$want"
sed -n '/<!-- config-reference:start -->/,/<!-- config-reference:end -->/p' README.md | sed '1d;$d' > "$got"
if cmp -s "$want" "$got"; then
	ok "README configuration reference matches --help-config ($(($(wc -l < "$want") - 2)) keys)"
else
	bad "README configuration reference is out of date: run 'make docs'"
	diff "$want" "$got" | head -10
fi

# variable names the agent sets: the one table of them, ACK_VAR_LIST in
# agent/handler.h (one X(ID, "name", TYPE, "when") line per variable)
vars=$(sed -n '/^#define ACK_VAR_LIST(X)/,/^$/p' agent/handler.h |
       sed -n 's/^[[:space:]]*X([A-Z_0-9]*, *"\([a-z_0-9]*\)".*/\1/p' | sort -u)
if [ -n "$vars" ]; then
	ok "found $(echo "$vars" | wc -w) variables in agent/handler.h ACK_VAR_LIST"
else
	bad "no variable names found in agent/handler.h ACK_VAR_LIST"
fi
for conf in spoe-conf/*.conf; do
	reg=$(grep -E '^\s*register-var-names' "$conf" | sed 's/register-var-names//' | tr -s ' \t' '\n' | sort -u)
	missing=$(comm -23 <(echo "$vars") <(echo "$reg") | tr '\n' ' ')
	extra=$(comm -13 <(echo "$vars") <(echo "$reg") | grep -v '^$' | tr '\n' ' ')
	if [ -z "$missing" ]; then
		ok "$conf registers every variable"
	else
		bad "$conf does not register: $missing"
	fi
	if [ -z "$extra" ]; then
		ok "$conf registers no variable the agent does not set"
	else
		bad "$conf registers variables the agent never sets: $extra"
	fi
done
# README's "Variables set" table names each variable (in backquotes)
vdoc=$(sed -n '/^### Variables set/,/^## /p' README.md)
missing=
for v in $vars; do
	printf '%s\n' "$vdoc" | grep -q "\`$v\`" || missing="$missing $v"
done
if [ -z "$missing" ]; then
	ok "README documents every variable"
else
	bad "README's 'Variables set' table lacks:$missing"
fi

# the fuzz harness's ACK checker (tests/fuzz/fuzzlib.c once[]) knows every
# variable: one it does not know aborts every handler and conn replay
fz=$(sed -n '/static const char \*const once\[\] = {/,/^[[:space:]]*};/p' tests/fuzz/fuzzlib.c)
missing=
for v in $vars; do
	printf '%s\n' "$fz" | grep -q "\"$v\"" || missing="$missing $v"
done
if [ -z "$missing" ]; then
	ok "tests/fuzz/fuzzlib.c's ACK checker knows every variable"
else
	bad "tests/fuzz/fuzzlib.c once[] lacks:$missing"
fi

# SPOE arguments: the one table of them, spoe_args[] in agent/handler.c;
# each is documented in README and sent by the shipped configs
args=$(sed -n '/^const struct spoe_arg spoe_args\[\] = {/,/^};/p' agent/handler.c |
       sed -n 's/^[[:space:]]*ARG("\([a-z_0-9]*\)".*/\1/p' | sort -u)
if [ -n "$args" ]; then
	ok "found $(echo "$args" | wc -w) arguments in agent/handler.c spoe_args[]"
else
	bad "no arguments found in agent/handler.c spoe_args[]"
fi
adoc=$(sed -n '/^### SPOE message/,/^### /p' README.md)
missing=
for a in $args; do
	printf '%s\n' "$adoc" | grep -q "\`$a\`" || missing="$missing $a"
done
if [ -z "$missing" ]; then
	ok "README documents every argument"
else
	bad "README's arguments table lacks:$missing"
fi
sent=$(grep -hE '^\s*args ' spoe-conf/*.conf | tr -s ' \t' '\n' | sed -n 's/^\([a-z_0-9]*\)=.*/\1/p' | sort -u)
unknown=$(comm -13 <(echo "$args") <(echo "$sent") | grep -v '^$' | tr '\n' ' ')
if [ -z "$unknown" ]; then
	ok "spoe-conf/ sends only arguments the agent reads"
else
	bad "spoe-conf/ sends arguments the agent ignores: $unknown"
fi

# Man pages: what the code alone decides (subcommands, sections, duration
# units, the line limit) is in the sources (tests/docs/man.sh) ...
mtmp=$(mktemp -d)
trap 'rm -f "$want" "$got"; rm -rf "$mtmp"' EXIT
MANARGS=("$BIN" docs/man/certspoa.8.in docs/man/certspoa.ini.5.in agent/main.c agent/cfg.c)
if out=$(tests/docs/man.sh "${MANARGS[@]}" 2>&1); then
	ok "man pages name every subcommand, section, duration unit and the line limit"
else
	bad "man pages out of step with the code:"
	printf '       %s\n' "$out"
fi
# ... and the check fails when one is missing: each doctored copy must be
# refused, naming what is missing. mancheck_fails NAME WANT FILE-INDEX COPY
mancheck_fails() {
	local name=$1 want=$2 idx=$3 copy=$4 args=("${MANARGS[@]}") out
	args[idx]=$copy
	if out=$(tests/docs/man.sh "${args[@]}" 2>&1); then
		bad "man check: $name passes, it must fail"
	elif printf '%s\n' "$out" | grep -qF -- "$want"; then
		ok "man check: $name is caught"
	else
		bad "man check: $name fails without saying '$want': $out"
	fi
}
grep -v 'explain' docs/man/certspoa.8.in >"$mtmp/no-explain.8"
mancheck_fails "certspoa(8) without explain" "for explain" 1 "$mtmp/no-explain.8"
sed 's/strcmp(argv\[1\], "inspect")/strcmp(argv[1], "frobnicate")/' agent/main.c >"$mtmp/main.c"
mancheck_fails "a new subcommand not in the man page" "lacks '.B certspoa frobnicate'" 3 "$mtmp/main.c"
sed '/^\.B \[forwarded\]$/d' docs/man/certspoa.ini.5.in >"$mtmp/no-fwd.5"
mancheck_fails "SECTIONS without [forwarded]" "lacks [forwarded]" 2 "$mtmp/no-fwd.5"
sed 's/", " h ", " d ;$/", " h ;/' docs/man/certspoa.ini.5.in >"$mtmp/no-d.5"
mancheck_fails "durations without d" "lack the unit d" 2 "$mtmp/no-d.5"
sed 's/longer than 198 characters/longer than 200 characters/' docs/man/certspoa.ini.5.in >"$mtmp/200.5"
mancheck_fails "the line limit as 200" "does not say 'longer than 198" 2 "$mtmp/200.5"
sed 's/^\([[:space:]]*\){ "d",  86400L \* 1000 },/&\n\1{ "w", 604800L * 1000 },/' agent/cfg.c >"$mtmp/unit.c"
mancheck_fails "a new duration unit" "lack the unit w" 4 "$mtmp/unit.c"
sed 's/^\([[:space:]]*\)\[CFG_S_STATS\]  = "stats",/&\n\1[CFG_S_ADMIN] = "admin",/' agent/cfg.c >"$mtmp/sec.c"
mancheck_fails "a new section" "lacks [admin]" 4 "$mtmp/sec.c"

# Every HAProxy snippet of the documentation passes haproxy -c on 2.6, 3.0
# and 3.2, and the README's essential lines fail closed with
# agent_unavailable (tests/docs/snippets.sh, its own summary line)
if out=$(tests/docs/snippets.sh 2>&1); then
	ok "$(printf '%s\n' "$out" | tail -n 1) (HAProxy snippets of the docs)"
else
	bad "HAProxy snippets of the docs:"
	printf '%s\n' "$out" | grep -v '^ok ' | sed 's/^/       /'
fi

finish docs
