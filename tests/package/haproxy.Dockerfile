# HAProxy from Debian's own package, laid out like the official haproxy image
# (config in /usr/local/etc/haproxy, "haproxy -W -db -f ..." as the command),
# so that haproxy-examples/sidecar/k8s/deployment.yaml runs it unchanged. Built
# by tests/package/pod.sh on localhost/debian:bookworm-slim (debootstrap, never
# pulled from a registry): HAProxy 2.6, Debian 12's.
ARG DEBIAN_TAG=bookworm-slim
FROM debian:${DEBIAN_TAG}
RUN apt-get update \
 && apt-get install -y --no-install-recommends haproxy \
 && rm -rf /var/lib/apt/lists/* \
 && install -d -m 0755 /usr/local/etc/haproxy
# The pod's securityContext runs it as 10001; alone, it runs as haproxy.
USER haproxy
STOPSIGNAL SIGUSR1
CMD ["haproxy", "-W", "-db", "-f", "/usr/local/etc/haproxy/haproxy.cfg"]
