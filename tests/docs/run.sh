#!/usr/bin/env bash
# Documentation that must stay in step with the code:
#  - README's configuration reference equals `certspoa --help-config`;
#  - every variable the agent sets is registered in every shipped SPOE config
#    (HAProxy silently drops unregistered variables);
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

# variable names the agent sets: the string literals handed to the ACK encoders
vars=$(grep -oE '(put_cstr_var|put_int_var|put_str_var|opt_str|opt_int)\(p, end, "[a-z_0-9]+"' agent/handler.c |
       sed 's/.*"\(.*\)"/\1/' | sort -u)
# shellcheck disable=SC2015 # C runs when A or B fails, as meant
[ -n "$vars" ] && ok "found $(echo "$vars" | wc -w) variable names in agent/handler.c" || bad "no variable names found"
for conf in spoe-conf/*.conf; do
	reg=$(grep -E '^\s*register-var-names' "$conf" | sed 's/register-var-names//' | tr -s ' \t' '\n' | sort -u)
	missing=$(comm -23 <(echo "$vars") <(echo "$reg") | tr '\n' ' ')
	if [ -z "$missing" ]; then
		ok "$conf registers every variable"
	else
		bad "$conf does not register: $missing"
	fi
done

finish docs
