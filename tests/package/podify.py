#!/usr/bin/env python3
"""podify.py K8S_DIR SECRETS_YAML VOLDIR OUT_YAML CERTSPOA_IMAGE HAPROXY_IMAGE [APP_ADDR]

Turn the shipped Kubernetes example (haproxy-examples/sidecar/k8s/*.yaml) into
what Debian 12's podman (4.3) can "podman kube play", changing only what that
podman cannot run, and say what was changed, one line per change, on stdout
("podify: ..."), for pod.sh to print:

  - image names: the two images built here (the manifests name
    certspoa:latest and haproxy:3.0);
  - the native sidecar (an initContainer with restartPolicy: Always, Kubernetes
    1.29+): podman 4.3 runs init containers to completion before the pod's
    containers start, so the agent (which never exits) would hold the pod
    back. It becomes the first of "containers", which is what
    deployment.yaml's own comment says to do on clusters older than 1.29;
  - "projected" volumes and Secrets: podman 4.3 supports only hostPath,
    configMap, emptyDir and persistentVolumeClaim volumes and no kind: Secret.
    Each projected volume becomes a hostPath directory under VOLDIR holding
    exactly the keys the projection names, at the paths it names, with its
    defaultMode, in the kubelet's layout (FILE -> ..data/FILE, ..data -> a
    timestamped directory, updated by swapping ..data), written by
    "podify.py --project" (so a ConfigMap update can be replayed the way the
    kubelet applies it);
  - containerPort declarations: podman 4.3 refuses them with host networking
    ("PortMappings can only be used with Bridge or slirp4netns networking");
    with host networking the ports are the host's anyway;
  - replicas: 1, since every pod shares the host's network here;
  - APP_ADDR (haproxy.cfg's address of the application, which the example
    leaves to you) set in the haproxy container's environment when given;
  - Service and NetworkPolicy: podman kube play has no Services (with host
    networking the ports are the host's) and no network policy; they are
    left out.

Everything else (ConfigMap volumes, emptyDir, securityContext, probes,
resources, ports, the commands) goes through unchanged.

podify.py --project K8S_DIR SECRETS_YAML VOLDIR [CONFIGMAP_OVERRIDE_YAML]
  only (re)write the projected volumes' directories, as a kubelet sync
  would, from the ConfigMaps (or the override file's ConfigMaps) and Secrets.

Needs PyYAML (Debian: python3-yaml).
"""
import base64
import glob
import os
import sys
import time

import yaml


def load_docs(paths):
    docs = []
    for path in paths:
        with open(path) as f:
            docs.extend(d for d in yaml.safe_load_all(f) if d)
    return docs


def by_kind(docs, kind):
    return {d["metadata"]["name"]: d for d in docs if d.get("kind") == kind}


def source_items(src, cms, secrets):
    """(path, bytes) for one projected source, as the kubelet would write them."""
    if "configMap" in src:
        ref = src["configMap"]
        data = {k: v.encode() for k, v in (cms[ref["name"]].get("data") or {}).items()}
    elif "secret" in src:
        ref = src["secret"]
        s = secrets[ref["name"]]
        data = {k: base64.b64decode(v) for k, v in (s.get("data") or {}).items()}
        data.update({k: v.encode() for k, v in (s.get("stringData") or {}).items()})
    else:
        raise SystemExit("podify: unsupported projected source %r" % list(src))
    items = ref.get("items")
    if items is None:
        return sorted(data.items())
    return [(it["path"], data[it["key"]]) for it in items]


def project(vol, cms, secrets, voldir, fs_group):
    """Write one projected volume the kubelet's way; return its host path.
    With the pod's fsGroup, files and directories belong to that group, as
    the kubelet makes them (so a 0440 Secret is readable by the pod's user)."""
    name = vol["name"]
    proj = vol["projected"]
    mode = proj.get("defaultMode", 0o644)
    top = os.path.join(voldir, name)
    os.makedirs(top, exist_ok=True)
    os.chmod(top, 0o755)
    stamp = "..%s.%d" % (time.strftime("%Y_%m_%d_%H_%M_%S"), time.monotonic_ns())
    new = os.path.join(top, stamp)
    os.mkdir(new)
    files = []
    for src in proj["sources"]:
        for path, content in source_items(src, cms, secrets):
            p = os.path.join(new, path)
            os.makedirs(os.path.dirname(p), exist_ok=True)
            with open(p, "wb") as f:
                f.write(content)
            os.chmod(p, mode)
            if fs_group is not None:
                os.chown(p, -1, fs_group)
            files.append(path)
    os.chmod(new, 0o755)
    if fs_group is not None:
        os.chown(new, -1, fs_group)
        os.chown(top, -1, fs_group)
    tmp = os.path.join(top, "..data_tmp")
    if os.path.lexists(tmp):
        os.unlink(tmp)
    os.symlink(stamp, tmp)
    old = os.path.join(top, "..data")
    old_target = os.readlink(old) if os.path.islink(old) else None
    os.rename(tmp, old)
    for path in files:
        link = os.path.join(top, path.split("/")[0])
        if not os.path.lexists(link):
            os.symlink(os.path.join("..data", path.split("/")[0]), link)
    if old_target:
        for root, dirs, fnames in os.walk(os.path.join(top, old_target), topdown=False):
            for fn in fnames:
                os.unlink(os.path.join(root, fn))
            os.rmdir(root)
    return top


def main(argv):
    only_project = argv and argv[0] == "--project"
    if only_project:
        argv = argv[1:]
    k8s_dir, secrets_yaml, voldir = argv[0:3]
    docs = load_docs(sorted(glob.glob(os.path.join(k8s_dir, "*.yaml"))))
    secrets = by_kind(load_docs([secrets_yaml]), "Secret")
    cms = by_kind(docs, "ConfigMap")
    if only_project and len(argv) > 3:
        cms.update(by_kind(load_docs([argv[3]]), "ConfigMap"))
    deps = list(by_kind(docs, "Deployment").values())
    if len(deps) != 1:
        raise SystemExit("podify: want one Deployment, found %d" % len(deps))
    dep = deps[0]
    spec = dep["spec"]["template"]["spec"]
    if not only_project and dep["spec"].get("replicas", 1) != 1:
        print("podify: Deployment %s: replicas %d -> 1 (one host network: a second pod's "
              "ports would collide)" % (dep["metadata"]["name"], dep["spec"]["replicas"]))
        dep["spec"]["replicas"] = 1
    os.makedirs(voldir, exist_ok=True)

    projected = [v for v in spec.get("volumes", []) if "projected" in v]
    for v in projected:
        top = project(v, cms, secrets, voldir,
                      (spec.get("securityContext") or {}).get("fsGroup"))
        if only_project:
            continue
        del v["projected"]
        v["hostPath"] = {"path": top, "type": "Directory"}
        print("podify: volume %s: projected -> hostPath %s (kubelet layout)" % (v["name"], top))
    if only_project:
        return 0

    out_yaml, certspoa_image, haproxy_image = argv[3:6]
    app_addr = argv[6] if len(argv) > 6 else None
    images = {"certspoa": certspoa_image, "haproxy": haproxy_image}
    inits = spec.get("initContainers", [])
    sidecars = [c for c in inits if c.get("restartPolicy") == "Always"]
    for c in sidecars:
        inits.remove(c)
        del c["restartPolicy"]
        print("podify: container %s: native sidecar (initContainer, restartPolicy: Always) "
              "-> first of containers" % c["name"])
    if not inits:
        spec.pop("initContainers", None)
    spec["containers"] = sidecars + spec["containers"]
    for c in spec["containers"]:
        if c.get("ports"):
            print("podify: container %s: ports %s left out (podman 4.3 refuses port mappings "
                  "with host networking; the ports are the host's)" %
                  (c["name"], ",".join("%s/%s" % (p.get("name", "?"), p["containerPort"])
                                       for p in c["ports"])))
            del c["ports"]
        if c["name"] == "haproxy" and app_addr:
            # The application is not part of the example ("your application:
            # another container of this pod, or a Service"); haproxy.cfg
            # takes its address from APP_ADDR.
            c.setdefault("env", []).append({"name": "APP_ADDR", "value": app_addr})
            print("podify: container haproxy: env APP_ADDR=%s (the test's application)" % app_addr)
        if c["name"] in images:
            print("podify: container %s: image %s -> %s" % (c["name"], c["image"], images[c["name"]]))
            c["image"] = images[c["name"]]

    kept = []
    for d in docs:
        if d.get("kind") in ("Service", "NetworkPolicy"):
            print("podify: %s %s: left out (podman kube play has none)" %
                  (d["kind"], d["metadata"]["name"]))
            continue
        kept.append(d)
    with open(out_yaml, "w") as f:
        yaml.safe_dump_all(kept, f, sort_keys=False)
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
