# shellcheck shell=bash
# lib.sh - helpers for the package tests (image.sh, pod.sh, deb.sh). Source it
# after tests/integration/lib.sh (check, note, finish, eq, PASS/FAIL):
#
#   . tests/integration/lib.sh
#   . tests/package/lib.sh
#
# Podman from Debian 12, as root, with the settings that work on these
# machines: runc (Debian's package), cgroupfs, host networking and explicit
# rlimits on run and build (the defaults fail on rlimits and cgroups here).
#
# Caches (like the HAProxy roots in /var/cache/certspoa/roots):
#   $CERTSPOA_IMAGES/bookworm-minbase-rN.tar   debootstrap --variant=minbase
#                                          bookworm, as a tarball; imported as
#                                          localhost/debian:bookworm-slim when
#                                          podman does not have that image
#   $CERTSPOA_ROOTS/bookworm               Debian 12 root with haproxy
#                                          (tests/versions/mkroot.sh), copied
#                                          fresh for each deb test
# Nothing is pulled from a registry: the base image comes from Debian's
# archive, and FROM debian:bookworm-slim resolves to the local image.

CERTSPOA_IMAGES=${CERTSPOA_IMAGES:-/var/cache/certspoa/images}
BASE_IMAGE=localhost/debian:bookworm-slim
# Bumped when the way the base is made changes: the cached tarball and the
# imported image are made again.
BASE_REV=2
PODMAN_ULIMITS=(--ulimit nofile=1024:4096 --ulimit nproc=1024:4096)

pm() { podman --runtime=runc --cgroup-manager=cgroupfs "$@"; }

# Debian mirror: the host's own, read from apt (as mkroot.sh does).
pkg_mirror() {
    if [ -n "${CERTSPOA_MIRROR:-}" ]; then
        printf '%s\n' "${CERTSPOA_MIRROR%/}"
        return
    fi
    local m
    m=$(apt-get indextargets --format '$(REPO_URI) $(RELEASE) $(COMPONENT)' 2>/dev/null |
        awk '$2 == "bookworm" && $3 == "main" { print $1; exit }')
    m=${m%/}
    printf '%s\n' "${m:-http://deb.debian.org/debian}"
}

# ensure_base_image - localhost/debian:bookworm-slim exists in podman's store,
# imported from the cached tarball, which is made with debootstrap when it is
# missing. Prints what it did on stderr. Serialised with flock.
ensure_base_image() {
    if pm image exists "$BASE_IMAGE" &&
       [ "$(pm image inspect "$BASE_IMAGE" -f '{{index .Config.Labels "org.certspoa.base"}}')" = "$BASE_REV" ]; then
        note "base image $BASE_IMAGE: present"
        return 0
    fi
    mkdir -p "$CERTSPOA_IMAGES"
    local tarball=$CERTSPOA_IMAGES/bookworm-minbase-r$BASE_REV.tar t0
    t0=$(date +%s)
    (
        flock 9
        [ -s "$tarball" ] && exit 0
        local root=$CERTSPOA_IMAGES/.bookworm-minbase.building mirror
        mirror=$(pkg_mirror)
        rm -rf --one-file-system "$root"
        note "debootstrap --variant=minbase bookworm from $mirror"
        if ! debootstrap --variant=minbase --components=main bookworm "$root" "$mirror" \
                >"$CERTSPOA_IMAGES/.bookworm-minbase.log" 2>&1; then
            tail -n 20 "$CERTSPOA_IMAGES/.bookworm-minbase.log" >&2
            exit 1
        fi
        # What Debian's own bookworm-slim image does: apt lists and caches
        # are not part of the image; apt-get update in the build fetches them.
        printf 'deb %s bookworm main\n' "$mirror" >"$root/etc/apt/sources.list"
        # Like Debian's bookworm-slim: apt keeps no package caches (they
        # would be a layer of their own after every apt-get in a
        # Dockerfile), fetches no translations, and dpkg leaves out
        # documentation, man pages and translations (copyright files stay).
        cat >"$root/etc/apt/apt.conf.d/docker-clean" <<'APT'
// No package cache in image layers: removed after every dpkg run and update.
DPkg::Post-Invoke { "rm -f /var/cache/apt/archives/*.deb /var/cache/apt/archives/partial/*.deb /var/cache/apt/*.bin || true"; };
APT::Update::Post-Invoke { "rm -f /var/cache/apt/archives/*.deb /var/cache/apt/archives/partial/*.deb /var/cache/apt/*.bin || true"; };
Dir::Cache::pkgcache "";
Dir::Cache::srcpkgcache "";
Acquire::Languages "none";
APT
        cat >"$root/etc/dpkg/dpkg.cfg.d/docker-slim" <<'DPKG'
path-exclude /usr/share/doc/*
path-include /usr/share/doc/*/copyright
path-exclude /usr/share/man/*
path-exclude /usr/share/info/*
path-exclude /usr/share/locale/*
path-include /usr/share/locale/locale.alias
DPKG
        find "$root/usr/share/doc" -mindepth 1 ! -name copyright ! -type d -delete
        find "$root/usr/share/doc" -mindepth 1 -type d -empty -delete
        rm -rf "$root"/usr/share/man/* "$root"/usr/share/info/* "$root"/usr/share/locale/[!l]* \
               "$root"/var/lib/apt/lists/* "$root"/var/cache/apt/*.bin \
               "$root"/var/cache/apt/archives/*.deb
        tar --numeric-owner -C "$root" -cf "$tarball.tmp" . && mv "$tarball.tmp" "$tarball"
        rm -rf --one-file-system "$root"
    ) 9>"$CERTSPOA_IMAGES/.bookworm-minbase.lock" || return 1
    pm import --change 'CMD ["/bin/bash"]' --change "LABEL org.certspoa.base=$BASE_REV" \
        "$tarball" "$BASE_IMAGE" >/dev/null || return 1
    note "base image $BASE_IMAGE: imported from $tarball in $(( $(date +%s) - t0 )) s"
}

# build_image CONTEXT DOCKERFILE TAG LOG - podman build with the settings
# that work here. Docker format, so that HEALTHCHECK is kept (the OCI format
# has no field for it). Layers are cached by podman between runs.
build_image() {
    local ctx=$1 file=$2 tag=$3 log=$4
    nice podman --runtime=runc --cgroup-manager=cgroupfs build --format docker --network host "${PODMAN_ULIMITS[@]}" \
        -f "$file" -t "$tag" "$ctx" >"$log" 2>&1
}
