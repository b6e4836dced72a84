#!/usr/bin/env bash
# Documentation that must stay in step with the code:
#  - README's configuration reference equals `certspoa --help-config`;
#  - every variable the agent sets (ACK_VAR_LIST in agent/handler.h) is
#    documented in README and registered in every shipped SPOE config
#    (HAProxy silently drops unregistered variables), and nothing else is;
#  - every SPOE argument (spoe_args[] in agent/handler.c) is documented in
#    README, and the shipped configs send no other;
#  - every config key appears in the certspoa.ini(5) source or is generated.
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

finish docs
