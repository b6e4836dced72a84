#!/usr/bin/env bash
# The include rule of docs/ARCHITECTURE.md, checked: every #include "..."
# in agent/*.c and agent/*.h must go from a file's layer to a layer that
# its row of ALLOWED names. A file that no pattern in LAYERS classifies
# fails the check: a new file is given its layer here (and in the doc's
# table) in the commit that adds it.
#
#   tests/arch/check-includes.sh [AGENT_DIR]      (make arch-check)
#
# Ends with "arch-check: N passed, N failed" (N = files checked).
set -u
cd "$(dirname "$0")/../.." || exit 1
dir=${1:-agent}

# --- the table: file pattern (shell glob, first match wins) -> layer ---
# Keep in step with the "Layers" table of docs/ARCHITECTURE.md.
LAYERS='
errbuf.h        base
comment.h       base
counter.h       base
log.[ch]        base
log-t.h         base
sbuf.[ch]       base
strset.[ch]     base
strutil.[ch]    base
cidr.[ch]       base
addr.[ch]       base
dn.[ch]         base
uri.[ch]        base
spiffe-bundle.[ch] policy
spiffe.[ch]     base
tplist.[ch]     base
spop-t.h        codec
spop.[ch]       codec
cfg-t.h         cfgtypes
cert.[ch]       policy
cert-*.[ch]     policy
cache.[ch]      policy
ocsp.[ch]       policy
ocsp-cache.[ch] policy
fwd.[ch]        policy
lists.[ch]      policy
rules.[ch]      policy
rules-t.h       policy
statsauth.[ch]  policy
rtdeny.[ch]     policy
token.[ch]      policy
cfg.[ch]        config
crl-cache.[ch]  config
ctl-cmd.[ch]    config
decide.[ch]     decide
decide-t.h      decide
handler.[ch]    handler
handler-t.h     handler
conn.[ch]       transport
conn-t.h        transport
listener.[ch]   transport
worker.[ch]     server
worker-t.h      server
declog.[ch]     server
httpd.[ch]      server
fetch.[ch]      server
fetch-t.h       server
ocsp-fetch.[ch] server
revoc.[ch]      server
revoc-t.h       server
hapush.[ch]     server
stats.[ch]      ops
stats-*.[ch]    ops
ctl.[ch]        ops
explain.[ch]    offline
inspect.[ch]    offline
probe.[ch]      offline
probe-*.[ch]    offline
lint.[ch]       offline
ctl-client.[ch] offline
hacfg.[ch]      offline
hacfg-t.h       offline
agent.h         main
reload.c        main
pidfile.[ch]    main
main.c          main
'

# --- the rule: layer -> the layers it may include (besides itself) ---
# "L:t" allows only L's type headers (name-t.h: plain types, no functions).
declare -A ALLOWED=(
	[base]=""
	[codec]="base"
	[cfgtypes]="base"
	[policy]="base cfgtypes codec:t"
	[config]="base cfgtypes codec:t policy"
	[decide]="base cfgtypes codec:t policy config"
	[handler]="base cfgtypes codec policy config decide"
	[transport]="base cfgtypes codec"
	[server]="base cfgtypes codec policy config decide handler transport ops:t"
	[ops]="base cfgtypes codec policy config decide handler transport server"
	[offline]="base cfgtypes codec policy config decide handler"
	[main]="base cfgtypes codec policy config decide handler transport server ops offline"
)

# Layers that are pure (docs/ARCHITECTURE.md): no event loop.
PURE="base codec cfgtypes policy config decide handler"

# --- known exceptions: "file header  reason"; each is debt to pay off ---
# The check fails when an exception is no longer needed, so this list only
# shrinks.
EXCEPTIONS='
rules.c spop.h  uses only struct spop_str (spop-t.h would do)
'

layer_of() {
	local f=$1 pat lay
	while read -r pat lay; do
		[ -n "$pat" ] || continue
		# shellcheck disable=SC2254 # the pattern is meant to glob
		case $f in $pat) echo "$lay"; return 0;; esac
	done <<<"$LAYERS"
	return 1
}

is_exception() {
	local f=$1 h=$2 ef eh _rest
	while read -r ef eh _rest; do
		[ "$ef" = "$f" ] && [ "$eh" = "$h" ] && return 0
	done <<<"$EXCEPTIONS"
	return 1
}

may_include() {                 # from-layer to-layer header
	local from=$1 to=$2 h=$3 a
	[ "$from" = "$to" ] && return 0
	for a in ${ALLOWED[$from]}; do
		[ "$a" = "$to" ] && return 0
		if [ "$a" = "$to:t" ]; then
			case $h in *-t.h) return 0;; esac
		fi
	done
	return 1
}

passed=0 failed=0
declare -A used_exc=()
for path in "$dir"/*.c "$dir"/*.h; do
	[ -e "$path" ] || continue
	f=${path##*/}
	ok=1
	if ! lf=$(layer_of "$f"); then
		echo "FAIL $f: no layer (add it to LAYERS in $0 and to docs/ARCHITECTURE.md)"
		failed=$((failed + 1))
		continue
	fi
	while IFS= read -r h; do
		if ! lh=$(layer_of "$h"); then
			echo "FAIL $f: includes \"$h\", which has no layer"
			ok=0
			continue
		fi
		if ! may_include "$lf" "$lh" "$h"; then
			if is_exception "$f" "$h"; then
				used_exc["$f $h"]=1
				continue
			fi
			echo "FAIL $f ($lf) includes \"$h\" ($lh): $lf may include: ${ALLOWED[$lf]:-nothing else}"
			ok=0
		fi
	done < <(sed -n 's/^[[:space:]]*#[[:space:]]*include[[:space:]]*"\([^"]*\)".*/\1/p' "$path")
	case " $PURE " in
	*" $lf "*)
		if grep -Eq '^[[:space:]]*#[[:space:]]*include[[:space:]]*<ev\.h>' "$path"; then
			echo "FAIL $f ($lf) includes <ev.h>: the $lf layer is pure (no event loop)"
			ok=0
		fi;;
	esac
	if [ $ok = 1 ]; then passed=$((passed + 1)); else failed=$((failed + 1)); fi
done

while read -r ef eh _rest; do
	[ -n "$ef" ] || continue
	if [ -z "${used_exc["$ef $eh"]:-}" ]; then
		echo "FAIL exception \"$ef -> $eh\" is no longer needed: remove it from EXCEPTIONS"
		failed=$((failed + 1))
	fi
done <<<"$EXCEPTIONS"

echo "arch-check: $passed passed, $failed failed"
[ "$failed" = 0 ]
