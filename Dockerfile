# certspoa container image: the agent alone, meant to run as a sidecar next
# to HAProxy (haproxy-examples/sidecar/k8s/).
#
#   docker build -t certspoa .
#   podman build --format docker -t certspoa .    (the OCI format drops HEALTHCHECK)
#   docker run --rm -v "$PWD/conf:/etc/certspoa:ro" -v certspoa-run:/run/certspoa certspoa
#
# Conventions (docs/DEPLOY.md, "Container"):
#   /etc/certspoa/certspoa.ini   the config; lists and CA bundles beside it.
#                                Nothing is baked in: mount a directory
#                                (ConfigMap/Secret) here. Without it the agent
#                                exits 78 naming the missing file.
#   /run/certspoa/               unix socket, pid_file, ready_file: mount a
#                                volume shared with HAProxy (emptyDir).
#   user 10001:10001             never root; the root filesystem can be
#                                read-only.
#   HEALTHCHECK                  GET /healthz on the config's [stats] listen,
#                                with bash only (no curl in the image).
#
# tests/deploy/run.sh builds and runs exactly what the stages below COPY,
# RUN make and ENTRYPOINT name, without a Docker engine.
# tests/package/image.sh (make image) builds this file unchanged with podman
# on a debootstrapped debian:bookworm-slim and runs the image.

ARG DEBIAN_TAG=bookworm-slim

# ---------------------------------------------------------------- build
FROM debian:${DEBIAN_TAG} AS build
RUN apt-get update \
 && apt-get install -y --no-install-recommends gcc make libc6-dev libssl-dev libev-dev libinih-dev libcurl4-openssl-dev libjansson-dev \
 && rm -rf /var/lib/apt/lists/*
WORKDIR /src
COPY Makefile VERSION ./
COPY agent/ agent/
COPY spoe-conf/ spoe-conf/
COPY docs/man/ docs/man/
RUN make -j"$(nproc)" ERR=1 certspoa && make install PREFIX=/usr/local DESTDIR=/staging

# ---------------------------------------------------------------- runtime
FROM debian:${DEBIAN_TAG}
RUN apt-get update \
 && apt-get install -y --no-install-recommends libssl3 libev4 libinih1 libcurl4 libjansson4 \
 && rm -rf /var/lib/apt/lists/* \
 && groupadd --system --gid 10001 certspoa \
 && useradd --system --uid 10001 --gid 10001 --home-dir /nonexistent --no-create-home \
        --shell /usr/sbin/nologin certspoa \
 && install -d -m 0755 /etc/certspoa \
 && install -d -m 0770 -o 10001 -g 10001 /run/certspoa
COPY --from=build /staging/usr/local/bin/certspoa /usr/local/bin/certspoa
COPY --from=build /staging/usr/local/share/certspoa/ /usr/local/share/certspoa/
COPY haproxy-examples/sidecar/healthcheck.sh /usr/local/bin/certspoa-healthcheck
USER 10001:10001
# the [stats] listener of the example config (/metrics, /healthz, /readyz)
EXPOSE 9180
HEALTHCHECK --interval=10s --timeout=5s --start-period=5s --retries=3 \
    CMD ["/usr/local/bin/certspoa-healthcheck"]
ENTRYPOINT ["/usr/local/bin/certspoa", "-f", "/etc/certspoa/certspoa.ini"]
