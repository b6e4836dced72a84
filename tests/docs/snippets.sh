#!/usr/bin/env bash
# snippets.sh - every HAProxy snippet of the documentation is a valid
# HAProxy configuration, without warnings, on 2.6, 3.0 and 3.2 (haproxy -c),
# and the README's essential lines fail closed with agent_unavailable when
# the agent is down.
#
#   tests/docs/snippets.sh          (also run by: make docs-check)
#   VERSIONS="2.6" tests/docs/snippets.sh     (default: 2.6 3.0 3.2)
#
# Convention (README.md, docs/*.md, haproxy-examples/*/README.md):
#   - a block fenced ```haproxy is an HAProxy snippet, and is checked;
#   - a block that holds HAProxy rules (http-request, filter spoe, ...) must
#     be fenced ```haproxy: an unmarked one is an error here;
#   - the line before the fence says what the snippet is:
#       (nothing)                          whole sections (frontend, backend...)
#       <!-- haproxy-snippet: frontend --> lines of a frontend that has the
#                                          certspoa filter
# The wrapper adds what a snippet leaves out, and nothing else:
#   - "global" and a "defaults" section (mode http, the usual timeouts);
#   - for a "frontend" snippet, the frontend around it: a TLS bind line with
#     client-certificate options, "filter spoe" with the shipped SPOE file,
#     "default_backend app";
#   - a stub for each backend the SPOE file or the snippet uses and does not
#     define (app, certspoa-agents), each with one server on loopback;
#   - the files named: server.pem and clients-ca.pem are generated in the
#     work directory, and the installed SPOE file's path
#     (/usr/local/share/certspoa/) is the repository's spoe-conf/.
# The README's essential lines are then run for real on HAProxy 2.6, with
# no agent listening: a request must get 503 with X-Certspoa-Code
# agent_unavailable (the wrapper also turns "bind :443" into a free loopback
# port and the agent server into a port nothing listens on).
#
# Ends with exactly one line "snippets: N passed, N failed".
set -u
. "$(dirname "$0")/../integration/lib.sh"
VERSIONS=${VERSIONS:-2.6 3.0 3.2}
PY=${PYTHON:-python3}

workdir snippets
cd "$WORK" || exit 1

# ---- the files the snippets name
ossl() { openssl "$@" >>"$WORK/openssl.log" 2>&1; }
if ! { ossl ecparam -name prime256v1 -genkey -noout -out ca.key &&
       ossl req -x509 -new -key ca.key -subj "/CN=Snippets CA" -days 2 -out clients-ca.pem &&
       ossl ecparam -name prime256v1 -genkey -noout -out server.key &&
       ossl req -x509 -new -key server.key -subj "/CN=localhost" -days 2 -out server.crt &&
       cat server.crt server.key >server.pem &&
       ossl ecparam -name prime256v1 -genkey -noout -out client.key &&
       ossl req -new -key client.key -subj "/CN=alice" -out client.csr &&
       ossl x509 -req -in client.csr -CA clients-ca.pem -CAkey ca.key -days 2 -out client.crt; }; then
	fail "test PKI" "see $WORK/openssl.log"
	finish snippets
	exit 1
fi

# ---- extract: one NNN.cfg per snippet (wrapped), NNN.src = "file:line kind"
if ! "$PY" - "$TOP" "$WORK" >extract.log 2>&1 <<'PYEOF'
import glob, os, re, sys
top, work = sys.argv[1], sys.argv[2]
files = ["README.md"] + sorted(glob.glob(os.path.join(top, "docs", "*.md")))
files += sorted(glob.glob(os.path.join(top, "haproxy-examples", "*", "README*")))
rules = re.compile(r"^\s*(http-request|http-response|tcp-request|tcp-response|filter spoe|spoe-agent|spoe-message)\b")
fence = re.compile(r"^(\s*)```(\S*)\s*$")
marker = re.compile(r"^\s*<!--\s*haproxy-snippet:\s*(\S+)\s*-->\s*$")
spoe = os.path.join(top, "spoe-conf", "certspoa.conf")
errors, n = 0, 0

def backends(text):
    return set(re.findall(r"^\s*backend\s+(\S+)", text, re.M))

def used(text):
    u = set(re.findall(r"^\s*(?:default_backend|use_backend)\s+(\S+)", text, re.M))
    return u

for f in files:
    path = f if os.path.isabs(f) else os.path.join(top, f)
    rel = os.path.relpath(path, top)
    lines = open(path, encoding="utf-8").read().split("\n")
    i = 0
    while i < len(lines):
        m = fence.match(lines[i])
        if not m:
            i += 1
            continue
        lang, start = m.group(2), i
        kind = None
        if start > 0:
            mk = marker.match(lines[start - 1])
            if mk:
                kind = mk.group(1)
        i += 1
        body = []
        while i < len(lines) and not fence.match(lines[i]):
            body.append(lines[i])
            i += 1
        i += 1
        where = "%s:%d" % (rel, start + 1)
        if lang != "haproxy":
            if lang in ("", "text") and any(rules.match(b) for b in body):
                print("%s: HAProxy rules in a block not fenced ```haproxy" % where)
                errors += 1
            continue
        if kind not in (None, "frontend"):
            print("%s: unknown haproxy-snippet kind '%s'" % (where, kind))
            errors += 1
            continue
        text = "\n".join(body)
        text = text.replace("/usr/local/share/certspoa/", os.path.join(top, "spoe-conf") + "/")
        out = ["global", "    log stderr format raw local0 notice", "",
               "defaults", "    mode http", "    log global", "    timeout connect 2s",
               "    timeout client 10s", "    timeout server 10s", ""]
        if kind == "frontend":
            out += ["frontend snippet",
                    "    bind 127.0.0.1:8443 ssl crt server.pem verify optional crt-ignore-err all ca-ignore-err all ca-file clients-ca.pem",
                    "    filter spoe engine certspoa config " + spoe]
            out += ["    " + b.strip() if b.strip() else "" for b in body]
            out += ["    default_backend app", ""]
            full = "\n".join(out)
        else:
            out += [text, ""]
            full = "\n".join(out)
        have = backends(full)
        need = (used(full) | {"certspoa-agents"}) - have
        for b in sorted(need):
            if b == "certspoa-agents":
                full += "\nbackend certspoa-agents\n    mode tcp\n    option spop-check\n    server agent1 127.0.0.1:12345 check\n"
            else:
                full += "\nbackend %s\n    server s1 127.0.0.1:8081\n" % b
        n += 1
        with open(os.path.join(work, "%03d.cfg" % n), "w") as o:
            o.write(full)
        with open(os.path.join(work, "%03d.src" % n), "w") as o:
            o.write("%s %s\n" % (where, kind or "sections"))
print("extracted %d snippets" % n)
sys.exit(1 if errors else 0)
PYEOF
then
	while IFS= read -r l; do fail "snippet convention: $l"; done < <(grep -v '^extracted' extract.log)
fi
note "$(grep '^extracted' extract.log)"
snips=( [0-9][0-9][0-9].cfg )
nsnip=0
[ -e "${snips[0]}" ] && nsnip=${#snips[@]}
check "the documentation has HAProxy snippets (found $nsnip)" test "$nsnip" -ge 4

# ---- haproxy -c: one run per snippet per version
hap() {   # hap VERSION ARGS...
	local v=$1
	shift
	if [ "$v" = 2.6 ]; then "${HAPROXY_CMD[@]}" "$@"; else "$TOP/tests/versions/haproxy.sh" "$v" "$@"; fi
}
hap_check() {   # hap_check VERSION CFG - haproxy -c, WHY = its alerts
	if hap "$1" -c -f "$WORK/$2" >"${2%.cfg}.$1.log" 2>&1; then
		grep -q 'WARNING' "${2%.cfg}.$1.log" || return 0
		WHY="valid, with warnings: $(grep -m3 WARNING "${2%.cfg}.$1.log" | tr '\n' ' ')"
		return 1
	fi
	# shellcheck disable=SC2034 # WHY is read by check (harness.sh)
	WHY="$(grep -m3 -E 'ALERT|rror' "${2%.cfg}.$1.log" | tr '\n' ' ')"
	return 1
}
for cfg in [0-9][0-9][0-9].cfg; do
	[ -e "$cfg" ] || continue
	read -r src kind <"${cfg%.cfg}.src"
	for v in $VERSIONS; do
		check "$src ($kind) passes haproxy -c on $v" hap_check "$v" "$cfg"
	done
done

# ---- the README's essential lines, agent down: 503 agent_unavailable
ess=""
for src in [0-9][0-9][0-9].src; do
	[ -e "$src" ] || continue
	grep -q '^README.md:[0-9]* sections$' "$src" && grep -q '^frontend api' "${src%.src}.cfg" && ess=${src%.src}.cfg
done
if [ -z "$ess" ]; then
	fail "README's essential lines (frontend api) not found among the snippets"
else
	if ! { free_port HTTPS && free_port DEAD && free_port APP; }; then fail "free ports"; fi
	sed -e "s|^    bind :443 |    bind 127.0.0.1:$HTTPS |" \
	    -e "s|server agent1 127.0.0.1:12345|server agent1 127.0.0.1:$DEAD|" \
	    -e "s|server s1 127.0.0.1:8081|server s1 127.0.0.1:$APP|" "$ess" >essential.cfg
	check "the wrapper moved the essential lines to free ports" file_has essential.cfg "bind 127.0.0.1:$HTTPS "
	"${HAPROXY_CMD[@]}" -db -f "$WORK/essential.cfg" >essential.log 2>&1 &
	HPID=$!
	CHILD_PIDS+=("$HPID")
	wait_until 5 port_open "$HTTPS"
	for who in "with a client certificate" "without a client certificate"; do
		args=(-sk -o body -D headers -w '%{http_code}' "https://127.0.0.1:$HTTPS/")
		[ "$who" = "with a client certificate" ] && args+=(--cert client.crt --key client.key)
		code=$("$CURL" "${args[@]}" 2>curl.err)
		check "agent down, $who: 503" eq "$code" 503
		check "agent down, $who: X-Certspoa-Code agent_unavailable" \
			eq "$(tr -d '\r' <headers | sed -n 's/^[Xx]-[Cc]ertspoa-[Cc]ode: //p')" agent_unavailable
		check "agent down, $who: the body says agent_unavailable" file_has body '"code":"agent_unavailable"'
	done
	stop_pid "$HPID"
fi

finish snippets
