#!/usr/bin/env bash
# pod.sh - the Kubernetes sidecar example (haproxy-examples/sidecar/k8s/) run
# for real as a pod with Debian 12's podman: "podman kube play" of the shipped
# manifests, HAProxy (Debian's package, tests/package/haproxy.Dockerfile) and
# the certspoa image in one pod sharing the unix-socket emptyDir, real mTLS
# requests from the host.
#
#   tests/package/pod.sh            (make pod-test; root; ~1-2 min warm)
#
# The manifests go through tests/package/podify.py, which changes only what
# podman 4.3 cannot run and prints each change (image names; the native
# sidecar becomes the first container; projected volumes and Secrets become
# hostPath directories in the kubelet's layout; containerPort lists dropped
# under host networking; replicas 1; Service and NetworkPolicy left out; the
# test application's address in APP_ADDR). docs/DEPLOY.md, "The pod under
# podman", lists them with the reasons.
#
# Checked: both containers run in one pod as 10001 with read-only root
# filesystems and share /run/certspoa; no certificate, an unlisted, expired or
# untrusted one -> 403 with the agent's code (cert_missing, cert_untrusted); the ConfigMap's thumbprint list
# updated the kubelet's way (..data swap) -> the certificate gets 200 within
# reload_watch, with no container restart; the probes (kubelet's httpGet
# from the node, the image's HEALTHCHECK command in the container); the agent
# stopped -> 503 and HAProxy's /readyz 503 (fail closed); the agent hung
# (SIGSTOP) -> 503; the agent killed (SIGKILL from the host, a crash) -> no
# request let through meanwhile, and it comes back under the pod's restart
# policy (restartPolicy Always) -> 200.
#
# Environment: CERTSPOA_IMAGE (default localhost/certspoa:latest, built from
# this tree when missing; image.sh builds it from a clean clone),
# HAPROXY_IMAGE (default localhost/certspoa-haproxy:bookworm, built here),
# K8S_DIR (default haproxy-examples/sidecar/k8s).
# Uses host ports 8443, 8404 and 9180 (the manifests' own). Ends with
# "pod: N passed, N failed".
set -u
. "$(dirname "$0")/../integration/lib.sh"
. "$TOP/tests/package/lib.sh"
K8S=${K8S_DIR:-$TOP/haproxy-examples/sidecar/k8s}
CERTSPOA_IMAGE=${CERTSPOA_IMAGE:-localhost/certspoa:latest}
HAPROXY_IMAGE=${HAPROXY_IMAGE:-localhost/certspoa-haproxy:bookworm}
POD=mtls-api-pod-0
AGENT=$POD-certspoa
HAPC=$POD-haproxy
export CONTAINERS_CONF=$TOP/tests/package/containers.conf

T0=$(date +%s)
[ "$(id -u)" -eq 0 ] || { fail "pod: needs root (podman as root)"; finish pod; exit 1; }
for cmd in podman runc catatonit python3 curl openssl; do
    command -v "$cmd" >/dev/null || { fail "pod: $cmd is missing (.ci/deps.sh)"; finish pod; exit 1; }
done

workdir pod
PLAYED=0
pod_cleanup() {
    if [ "$PLAYED" = 1 ]; then
        pm logs "$AGENT" >"$WORK/agent.log" 2>&1
        pm logs "$HAPC" >"$WORK/haproxy.log" 2>&1
        pm kube down "$WORK/pod.yaml" >/dev/null 2>&1
        pm volume rm -f haproxy-config >/dev/null 2>&1
    fi
    cleanup
}
trap pod_cleanup EXIT

# ---------------------------------------------------------------- images
ensure_base_image || { fail "pod: base image"; finish pod; exit 1; }
if ! pm image exists "$CERTSPOA_IMAGE"; then
    note "building $CERTSPOA_IMAGE from $TOP"
    build_image "$TOP" "$TOP/Dockerfile" "$CERTSPOA_IMAGE" "$WORK/build-certspoa.log" ||
        { fail "pod: podman build $CERTSPOA_IMAGE" "$(tail -n 5 "$WORK/build-certspoa.log")"; finish pod; exit 1; }
fi
build_image "$TOP/tests/package" "$TOP/tests/package/haproxy.Dockerfile" "$HAPROXY_IMAGE" \
    "$WORK/build-haproxy.log" ||
    { fail "pod: podman build $HAPROXY_IMAGE" "$(tail -n 5 "$WORK/build-haproxy.log")"; finish pod; exit 1; }
note "images ready after $(( $(date +%s) - T0 )) s"

# ---------------------------------------------------------------- the pod
make_pki || { fail "pod: test PKI" "$(tail -n 3 "$WORK/pki.log")"; finish pod; exit 1; }
# The Secrets the manifests expect (deployment.yaml's header says how to make them).
cat >"$WORK/secrets.yaml" <<EOF
apiVersion: v1
kind: Secret
metadata:
  name: mtls-api-tls
type: kubernetes.io/tls
data:
  tls.crt: $(base64 -w0 "$PKI/server.crt")
  tls.key: $(base64 -w0 "$PKI/server.key")
---
apiVersion: v1
kind: Secret
metadata:
  name: certspoa-ca
data:
  ca.pem: $(base64 -w0 "$PKI/ca.pem")
EOF

python3 "$TOP/tests/package/echo_app.py" "$WORK/app.port" >"$WORK/app.log" 2>&1 &
CHILD_PIDS+=($!)
wait_until 5 test -s "$WORK/app.port"
APP_PORT=$(cat "$WORK/app.port" 2>/dev/null)

for p in 8443 8404 9180; do
    if port_open "$p"; then
        fail "pod: host port $p is already taken (the manifests' ports; host networking)"
        finish pod
        exit 1
    fi
done
# Leftovers of an interrupted run. podman 4.3 makes the configMap volume a
# named volume (haproxy-config) and leaves it behind after "kube down" (the
# next "kube play" rewrites its files; the check below makes sure).
pm pod rm -f "$POD" >/dev/null 2>&1
pm volume rm -f haproxy-config >/dev/null 2>&1

VOL=$WORK/volumes
check "podify: the manifests converted for podman kube play" \
    python3 "$TOP/tests/package/podify.py" "$K8S" "$WORK/secrets.yaml" "$VOL" "$WORK/pod.yaml" \
    "$CERTSPOA_IMAGE" "$HAPROXY_IMAGE" "127.0.0.1:$APP_PORT"

t=$(date +%s)
# From $WORK: podman looks for a build context named after each image in the
# current directory (and ./certspoa is the agent's binary at the top).
(cd "$WORK" && pm kube play --network host "$WORK/pod.yaml") >"$WORK/play.log" 2>&1
rc=$?
PLAYED=1
check "podman kube play (host network) exits 0" eq "$rc" 0
note "kube play took $(( $(date +%s) - t )) s"

http_code() { curl -s --max-time 5 -o /dev/null -w '%{http_code}' "$@"; }
ready() { [ "$(http_code http://127.0.0.1:8404/readyz)" = 200 ]; }
check "the pod becomes ready (HAProxy's /readyz: it reaches a healthy agent)" wait_until 30 ready
if ! ready; then
    pm ps -a --pod >"$WORK/ps.log" 2>&1
    note "not ready; podman ps in $WORK/ps.log"
fi

# ---------------------------------------------------------------- the pod's shape
in_pod() { pm inspect "$1" -f '{{.Pod}}'; }
pod_id=$(pm pod inspect "$POD" -f '{{.Id}}' 2>/dev/null)
check "certspoa and haproxy run in the same pod" \
    eq "$(in_pod "$AGENT") $(in_pod "$HAPC")" "$pod_id $pod_id"
check "certspoa runs as 10001:10001 (pod securityContext)" \
    eq "$(pm exec "$AGENT" sh -c 'echo $(id -u):$(id -g)' 2>&1)" "10001:10001"
check "haproxy runs as 10001:10001 (pod securityContext)" \
    eq "$(pm exec "$HAPC" sh -c 'echo $(id -u):$(id -g)' 2>&1)" "10001:10001"
ro_root() { ! pm exec "$1" sh -c 'touch /probe-ro' >/dev/null 2>&1; }
check "certspoa: root filesystem is read-only" ro_root "$AGENT"
check "haproxy: root filesystem is read-only" ro_root "$HAPC"
check "certspoa: no capabilities (CapEff 0)" \
    eq "$(pm exec "$AGENT" sh -c 'grep ^CapEff /proc/self/status' | awk '{print $2}')" 0000000000000000
sock_in() { pm exec "$1" sh -c 'test -S /run/certspoa/certspoa.sock'; }
check "the unix socket is in the shared emptyDir: certspoa sees it" sock_in "$AGENT"
check "the unix socket is in the shared emptyDir: haproxy sees it" sock_in "$HAPC"
check "the pod's files reach the agent: /etc/certspoa/ca.pem (from the Secret)" \
    pm exec "$AGENT" test -s /etc/certspoa/ca.pem

python3 - "$K8S/haproxy-config.yaml" "$WORK" <<'EOF'
import sys, yaml
d = yaml.safe_load(open(sys.argv[1]))["data"]
for k, v in d.items():
    open("%s/cm-%s" % (sys.argv[2], k), "w").write(v)
EOF
same_in() { # same_in CONTAINER PATH FILE - the container sees FILE's bytes at PATH
    pm exec "$1" cat "$2" >"$WORK/seen" 2>&1 && cmp -s "$WORK/seen" "$3" && return 0
    WHY="$2 differs from $3"
    return 1
}
check "haproxy sees the ConfigMap's haproxy.cfg (configMap volume, this run's)" \
    same_in "$HAPC" /usr/local/etc/haproxy/haproxy.cfg "$WORK/cm-haproxy.cfg"
check "haproxy sees the ConfigMap's certspoa.conf = spoe-conf/certspoa.conf" \
    same_in "$HAPC" /usr/local/etc/haproxy/certspoa.conf "$TOP/spoe-conf/certspoa.conf"

# ---------------------------------------------------------------- requests
HTTPS_PORT=8443
REQ_PATH=/api/ping
code_is() { # code_is STATUS CODE [DETAIL] - the last response
    [ "$STATUS" = "$1" ] && [ "$(hdr X-Certspoa-Code)" = "$2" ] &&
        { [ -z "${3:-}" ] || [ "$(json_field detail)" = "$3" ]; } && return 0
    WHY="got $STATUS code '$(hdr X-Certspoa-Code)', want $1 '$2'; body: $(printf '%s' "$BODY" | head -c 200)"
    return 1
}
req none
check "no certificate -> 403 cert_missing" code_is 403 cert_missing
req_cert notlisted notlisted
NL="thumbprint is not on the trusted list"
check "valid, not on the list -> 403 cert_untrusted ($NL)" code_is 403 cert_untrusted "$NL"
req_cert expired expired
check "expired -> 403 cert_unverified (verify = both: the agent checks too)" code_is 403 cert_unverified
check "expired: the detail says expired" has "$(json_field detail)" expired
req_cert untrusted untrusted
check "certificate from an unknown CA -> 403 cert_unverified" code_is 403 cert_unverified
req_cert allowed0 allowed
check "allowed.crt before it is listed (the shipped list is empty) -> 403 cert_untrusted" \
    code_is 403 cert_untrusted "$NL"
hasnt_backend() { hasnt "$BODY" "backend saw" || { WHY="the request reached the backend"; return 1; }; }
check "denied requests never reach the application" hasnt_backend

# ---------------------------------------------------------------- ConfigMap update
started_before=$(pm inspect "$AGENT" -f '{{.State.StartedAt}} {{.RestartCount}}')
# The ConfigMap edited as "kubectl edit configmap certspoa-config" would:
# allowed.txt gains the thumbprint; the kubelet writes a new ..data and swaps.
python3 - "$K8S/certspoa-config.yaml" "$(cat "$PKI/allowed.sha256")" >"$WORK/cm-edited.yaml" <<'EOF'
import sys, yaml
doc = yaml.safe_load(open(sys.argv[1]))
doc["data"]["allowed.txt"] += "%s\n" % sys.argv[2]
yaml.safe_dump(doc, sys.stdout, sort_keys=False)
EOF
python3 "$TOP/tests/package/podify.py" --project "$K8S" "$WORK/secrets.yaml" "$VOL" "$WORK/cm-edited.yaml"
t_edit=$(date +%s)
allowed_ok() { req_cert allowed allowed; [ "$STATUS" = 200 ]; }
check "ConfigMap update (thumbprint added, ..data swap) -> allowed.crt 200 within 15 s" wait_until 15 allowed_ok
note "picked up after $(( $(date +%s) - t_edit )) s (reload_watch = 5s)"
check "the application got the certificate (Client-Cert, RFC 9440)" \
    has "$BODY" "client-cert: $(client_cert_value allowed)"
check "no restart: the agent container's start time and restart count are unchanged" \
    eq "$(pm inspect "$AGENT" -f '{{.State.StartedAt}} {{.RestartCount}}')" "$started_before"
check "the agent logged the reload" eval 'pm logs "$AGENT" 2>&1 | grep -qi reload'
req_cert notlisted2 notlisted
check "notlisted.crt still -> 403 cert_untrusted" code_is 403 cert_untrusted "$NL"

# ---------------------------------------------------------------- probes
# The kubelet's httpGet probes come from the node: with host networking, the
# host's curl on the named ports (stats 9180, health 8404) is the same request.
for probe in "certspoa startupProbe/readinessProbe:9180/readyz" "certspoa livenessProbe:9180/healthz" \
             "haproxy readinessProbe:8404/readyz" "haproxy livenessProbe:8404/healthz"; do
    what=${probe%%:*}
    url=${probe#*:}
    check "probe $what: GET :$url -> 200" eq "$(http_code "http://127.0.0.1:$url")" 200
done
check "the image's HEALTHCHECK command, run in the container -> exit 0" \
    pm exec "$AGENT" /usr/local/bin/certspoa-healthcheck
check "metrics: /metrics answers with certspoa counters" \
    eval 'curl -s --max-time 5 http://127.0.0.1:9180/metrics | grep -q "^certspoa_"'

# ---------------------------------------------------------------- fail closed
pm stop -t 5 "$AGENT" >/dev/null 2>&1
req_cert stopped allowed
check "agent stopped -> allowed.crt gets 503 agent_unavailable (fail closed)" code_is 503 agent_unavailable
hap_notready() { [ "$(http_code http://127.0.0.1:8404/readyz)" = 503 ]; }
check "agent stopped -> HAProxy's /readyz 503 (the pod leaves the Service)" wait_until 10 hap_notready
check "agent stopped -> its /healthz does not answer (liveness would fail)" \
    eval '! curl -s --max-time 2 -o /dev/null http://127.0.0.1:9180/healthz'
pm start "$AGENT" >/dev/null 2>&1
check "agent started again -> allowed.crt 200" wait_until 15 allowed_ok

apid=$(pm inspect "$AGENT" -f '{{.State.Pid}}')
kill -STOP "$apid"
req_cert hung allowed
check "agent hung (SIGSTOP) -> 503 agent_unavailable after SPOE timeout processing" \
    code_is 503 agent_unavailable
kill -CONT "$apid"
check "agent resumed -> allowed.crt 200" wait_until 15 allowed_ok

# A crash: SIGKILL from the host (podman kill/stop count as the user's stop
# and are not restarted; a dead process is).
restarts=$(pm inspect "$AGENT" -f '{{.RestartCount}}')
apid=$(pm inspect "$AGENT" -f '{{.State.Pid}}')
kill -KILL "$apid"
: >"$WORK/crash.codes"
for _ in $(seq 1 20); do
    printf 'allowed %s\n' "$(http_code --cacert "$PKI/ca.pem" --resolve localhost:8443:127.0.0.1 \
        --cert "$PKI/allowed.crt" --key "$PKI/allowed.key" https://localhost:8443/api/ping)" >>"$WORK/crash.codes"
    printf 'notlisted %s\n' "$(http_code --cacert "$PKI/ca.pem" --resolve localhost:8443:127.0.0.1 \
        --cert "$PKI/notlisted.crt" --key "$PKI/notlisted.key" https://localhost:8443/api/ping)" >>"$WORK/crash.codes"
done
note "around the crash: $(sort "$WORK/crash.codes" | uniq -c | tr -s ' \n' ' ')"
check "around the crash: notlisted.crt never let through (403 or 503 only)" \
    eval '! grep -v -E "^notlisted (403|503)$" "$WORK/crash.codes" | grep -q notlisted'
check "around the crash: allowed.crt gets 200 or 503 only" \
    eval '! grep -v -E "^allowed (200|503)$" "$WORK/crash.codes" | grep -q allowed'
restarted() { [ "$(pm inspect "$AGENT" -f '{{.RestartCount}} {{.State.Status}}')" = "$((restarts + 1)) running" ]; }
check "agent killed -> restarted by the pod's restart policy (RestartCount +1, running)" wait_until 15 restarted
check "after the restart: allowed.crt 200 (the updated list is read again)" wait_until 15 allowed_ok
check "after the restart: HAProxy's /readyz 200" wait_until 15 ready

note "pod test took $(( $(date +%s) - T0 )) s"
finish pod
