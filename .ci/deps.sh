#!/usr/bin/env bash
# Install what certspoa needs to build and test, from Debian's archive only.
# Safe to re-run; skips apt entirely when everything is already there.
set -euo pipefail

pkgs=(
	gcc make libc6-dev            # build
	libssl-dev libev-dev libinih-dev libcurl4-openssl-dev   # libcurl: the background fetcher
	libjansson-dev                # SPIFFE bundles, JWKS and JWTs (JSON)
	openssl curl haproxy          # integration tests: PKI, TLS client, HAProxy 2.6
	clang libclang-rt-14-dev      # fuzzing (libFuzzer) and sanitizer runtimes
	valgrind                      # memcheck runs
	python3                       # small test helpers
	debootstrap                   # HAProxy 3.x roots for the version matrix
	prometheus chromium           # ops tests: a real Prometheus (and promtool), the status page
	python3-yaml                  # Kubernetes manifest checks
	mandoc groff-base man-db      # man page lint and rendering
	strace util-linux binutils    # deploy tests (syscall filter, setpriv/unshare), bench (taskset)
	apache2-utils                 # ab: the benchmarks' mTLS load client
	ca-certificates
	podman runc catatonit         # the image and the pod (tests/package; catatonit: the pod's pause image)
	debhelper dpkg-dev lintian    # the Debian package (make deb)
	shellcheck                    # make shellcheck: the test and CI scripts
)

missing=()
for p in "${pkgs[@]}"; do
	dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing+=("$p")
done
if [ ${#missing[@]} -eq 0 ]; then
	echo "deps: all ${#pkgs[@]} packages present"
	exit 0
fi
if [ "$(id -u)" -ne 0 ]; then
	echo "deps: missing ${missing[*]}; run as root (or: sudo $0)" >&2
	exit 1
fi
echo "deps: installing ${missing[*]}"
export DEBIAN_FRONTEND=noninteractive
apt-get update -q
apt-get install -y -q --no-install-recommends "${missing[@]}"
# The haproxy package may start a system instance; the tests run their own.
if command -v systemctl >/dev/null 2>&1 && systemctl is-active --quiet haproxy 2>/dev/null; then
	systemctl stop haproxy || true
fi
