#!/usr/bin/env bash
# image.sh - the container image, built for real with Debian 12's podman from
# a clean clone of this repository, then run.
#
#   tests/package/image.sh          (make image; root)
#
# The base image localhost/debian:bookworm-slim is made from Debian's archive
# (debootstrap, cached in /var/cache/certspoa/images; tests/package/lib.sh),
# never pulled from a registry; the Dockerfile builds unchanged against it.
# The result is tagged localhost/certspoa:latest and :VERSION, for pod.sh.
#
# Checked: the build (a clone of HEAD: what is committed, nothing else);
# the image's user (10001:10001), ENTRYPOINT and HEALTHCHECK; no compiler,
# headers or make in the runtime stage; the agent starts with a read-only root
# filesystem, no capabilities and a mounted config, answers /healthz and an
# SPOP health check, and "podman healthcheck run" says healthy; without a
# config it exits 78 naming the file. Prints the image size.
#
# Environment: IMAGE_SRC (default: a clone of this repository's HEAD),
# CERTSPOA_IMAGE (default localhost/certspoa:latest). Ends with
# "image: N passed, N failed".
set -u
. "$(dirname "$0")/../integration/lib.sh"
. "$TOP/tests/package/lib.sh"
CERTSPOA_IMAGE=${CERTSPOA_IMAGE:-localhost/certspoa:latest}
VERSION=$(cat "$TOP/VERSION")
NAME=certspoa-image-test

T0=$(date +%s)
[ "$(id -u)" -eq 0 ] || { fail "image: needs root (podman as root)"; finish image; exit 1; }
for cmd in podman runc git curl; do
    command -v "$cmd" >/dev/null || { fail "image: $cmd is missing (.ci/deps.sh)"; finish image; exit 1; }
done

workdir image
img_cleanup() {
    pm rm -f "$NAME" >/dev/null 2>&1
    pm volume rm -f "$NAME-run" >/dev/null 2>&1
    cleanup
}
trap img_cleanup EXIT

ensure_base_image || { fail "image: base image"; finish image; exit 1; }
note "base image after $(( $(date +%s) - T0 )) s"

# ---------------------------------------------------------------- build
SRC=${IMAGE_SRC:-}
if [ -z "$SRC" ]; then
    SRC=$WORK/clone
    git clone -q --no-hardlinks "$TOP" "$SRC" || { fail "image: git clone"; finish image; exit 1; }
    note "building from a clone of $(git -C "$SRC" rev-parse --short HEAD)" \
         "$(git -C "$TOP" status --porcelain | grep -q . && echo '(uncommitted changes are not in it)')"
fi
check "clean clone: no build output in it" eval '[ ! -e "$SRC/certspoa" ] && [ ! -e "$SRC/build" ]'
t=$(date +%s)
build_image "$SRC" "$SRC/Dockerfile" "$CERTSPOA_IMAGE" "$WORK/build.log"
rc=$?
BUILD_S=$(( $(date +%s) - t ))
check "podman build of the Dockerfile (unchanged) exits 0" eq "$rc" 0
[ "$rc" -eq 0 ] || { tail -n 20 "$WORK/build.log"; finish image; exit 1; }
note "build took $BUILD_S s"
pm tag "$CERTSPOA_IMAGE" "localhost/certspoa:$VERSION"

insp() { pm image inspect "$CERTSPOA_IMAGE" -f "$1"; }
check "image user is 10001:10001" eq "$(insp '{{.Config.User}}')" "10001:10001"
check "ENTRYPOINT is certspoa -f /etc/certspoa/certspoa.ini" \
    eq "$(insp '{{json .Config.Entrypoint}}')" '["/usr/local/bin/certspoa","-f","/etc/certspoa/certspoa.ini"]'
check "HEALTHCHECK is kept (docker format): certspoa-healthcheck" \
    eq "$(insp '{{json .Config.Healthcheck.Test}}')" '["CMD","/usr/local/bin/certspoa-healthcheck"]'
SIZE=$(insp '{{.Size}}')
BASE_SIZE=$(pm image inspect "$BASE_IMAGE" -f '{{.Size}}')
note "image size: $((SIZE / 1000000)) MB ($SIZE bytes; the debootstrap base is $((BASE_SIZE / 1000000)) MB," \
     "certspoa and its libraries add $(((SIZE - BASE_SIZE) / 1000000)) MB)"
check "image size is reported and under 400 MB" eval '[ "$SIZE" -gt 0 ] && [ "$SIZE" -lt 400000000 ]'

run_in() { pm run --rm --network host --no-healthcheck "${PODMAN_ULIMITS[@]}" "$@"; }
nothing_of() { # nothing_of CMD... - none of these programs is in the runtime image
    local found
    found=$(run_in --entrypoint /bin/sh "$CERTSPOA_IMAGE" -c \
        'for c in "$@"; do command -v "$c"; done; ls /usr/include/openssl /usr/include/ev.h 2>/dev/null; true' \
        sh "$@")
    [ -z "$found" ] && return 0
    # shellcheck disable=SC2086,SC2116 # echo joins the words on one line
    WHY="found: $(echo $found)"
    return 1
}
check "no compiler, make or headers in the runtime stage" \
    nothing_of gcc cc c99 clang g++ cpp make ld as
no_dev_pkgs() {
    local p
    p=$(run_in --entrypoint /bin/sh "$CERTSPOA_IMAGE" -c \
        "dpkg-query -W -f '\${Package}\n' | grep -E '^(gcc(-[0-9]+)?|cpp(-[0-9]+)?|g\\+\\+.*|clang.*|binutils.*|make|.*-dev)\$' || true")
    [ -z "$p" ] && return 0
    # shellcheck disable=SC2086,SC2116 # echo joins the words on one line
    WHY="packages: $(echo $p)"
    return 1
}
check "no build packages installed (gcc, binutils, make, -dev)" no_dev_pkgs
check "runs as 10001:10001 by default" \
    eq "$(run_in --entrypoint /bin/sh "$CERTSPOA_IMAGE" -c 'echo $(id -u):$(id -g)')" "10001:10001"
check "certspoa --version in the image" \
    eval 'run_in --entrypoint /usr/local/bin/certspoa "$CERTSPOA_IMAGE" --version | grep -q "$VERSION"'

# ---------------------------------------------------------------- no config
out=$(run_in --read-only "$CERTSPOA_IMAGE" 2>&1)
rc=$?
check "without a mounted config: exit 78 (EX_CONFIG)" eq "$rc" 78
check "without a mounted config: the message names /etc/certspoa/certspoa.ini" \
    has "$out" /etc/certspoa/certspoa.ini

# ---------------------------------------------------------------- run
make_pki || { fail "image: test PKI" "$(tail -n 3 "$WORK/pki.log")"; finish image; exit 1; }
# shellcheck disable=SC2015 # C runs when A or B fails, as meant
free_port SPOP_PORT && free_port STATS_PORT || { fail "image: no free port"; finish image; exit 1; }
CONF=$WORK/conf
mkdir -p "$CONF"
cp "$PKI/ca.pem" "$CONF/ca.pem"
cat "$PKI/allowed.sha256" >"$CONF/allowed.txt"
cat >"$CONF/certspoa.ini" <<EOF
[agent]
listen = 127.0.0.1:$SPOP_PORT
ready_file = /run/certspoa/ready
pid_file = /run/certspoa/certspoa.pid
reload_watch = 2s

[stats]
listen = 127.0.0.1:$STATS_PORT

[policy default]
require_cert = yes
verify = both
ca_file = /etc/certspoa/ca.pem
thumbprints = /etc/certspoa/allowed.txt
EOF
chmod -R a+rX "$CONF"
check "certspoa -c on the test config, in the image, read-only" \
    run_in --read-only -v "$CONF:/etc/certspoa:ro" "$CERTSPOA_IMAGE" -c
pm rm -f "$NAME" >/dev/null 2>&1
pm run -d --name "$NAME" --network host "${PODMAN_ULIMITS[@]}" --read-only --cap-drop ALL \
    --security-opt no-new-privileges -v "$CONF:/etc/certspoa:ro" -v "$NAME-run:/run/certspoa" --health-interval disable \
    "$CERTSPOA_IMAGE" >"$WORK/run.log" 2>&1
check "podman run -d --read-only --cap-drop ALL with the config mounted" eq "$?" 0
healthz() { [ "$(curl -s --max-time 3 -o /dev/null -w '%{http_code}' "http://127.0.0.1:$STATS_PORT/healthz")" = 200 ]; }
check "the agent answers /healthz on its [stats] listener" wait_until 15 healthz
check "the agent wrote its ready_file in /run/certspoa (a volume, as the Dockerfile says; / is read-only)" \
    pm exec "$NAME" test -s /run/certspoa/ready
check "the agent runs as 10001 inside" eq "$(pm exec "$NAME" sh -c 'echo $(id -u)')" 10001
check "the root filesystem is read-only for it" eval '! pm exec "$NAME" sh -c "touch /x" 2>/dev/null'
check "podman healthcheck run: healthy (the image's HEALTHCHECK)" \
    eval 'pm healthcheck run "$NAME" >"$WORK/hc.log" 2>&1'
# HAProxy 2.6's health-check HELLO (tests/frames/), answered by AGENT-HELLO.
spop_hello() {
    python3 - "$1" "$TOP/tests/frames/haproxy26-hello-healthcheck.hex" <<'PY'
import socket, sys
frame = bytes.fromhex("".join(l.split("#")[0] for l in open(sys.argv[2])).replace(" ", "").replace("\n", ""))
s = socket.create_connection(("127.0.0.1", int(sys.argv[1])), timeout=5)
s.sendall(frame)
hdr = s.recv(5)
sys.exit(0 if len(hdr) == 5 and hdr[4] == 101 else 1)
PY
}
check "SPOP: HAProxy's health-check HELLO -> AGENT-HELLO from the container" spop_hello "$SPOP_PORT"
pm logs "$NAME" >"$WORK/agent.log" 2>&1
check "the agent logged 'ready'" file_has "$WORK/agent.log" "ready"
pm stop -t 10 "$NAME" >/dev/null 2>&1
check "podman stop (SIGTERM): exit 0" eq "$(pm inspect "$NAME" -f '{{.State.ExitCode}}')" 0

note "image: built in $BUILD_S s, $((SIZE / 1000000)) MB; whole test $(( $(date +%s) - T0 )) s"
finish image
