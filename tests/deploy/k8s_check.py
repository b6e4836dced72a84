#!/usr/bin/env python3
"""k8s_check.py K8S_DIR SPOE_CONF DOCKERFILE OUTDIR - check the Kubernetes
example against itself, the Dockerfile and the SPOE config.

Prints one line per check, "ok NAME" or "FAIL NAME" followed by an indented
reason, for tests/deploy/run.sh to count. Writes the files the pod would see
to OUTDIR (certspoa.ini, allowed.txt, haproxy.cfg, certspoa.conf) and the
facts the runtime test needs to OUTDIR/facts.sh (shell assignments).
Needs PyYAML (Debian: python3-yaml).
"""
import glob
import json
import os
import re
import shlex
import sys

import yaml

k8s_dir, spoe_conf, dockerfile, outdir = sys.argv[1:5]
results = []


def check(name, cond, why=""):
    results.append((name, bool(cond), why))
    print(("ok   " if cond else "FAIL ") + name, flush=True)
    if not cond and why:
        print("       " + why, flush=True)
    return bool(cond)


# ------------------------------------------------------------- parse
docs = []
for path in sorted(glob.glob(os.path.join(k8s_dir, "*.yaml"))):
    try:
        with open(path) as f:
            for d in yaml.safe_load_all(f):
                if d is not None:
                    docs.append((os.path.basename(path), d))
        check("k8s: %s parses as YAML" % os.path.basename(path), True)
    except yaml.YAMLError as e:
        check("k8s: %s parses as YAML" % os.path.basename(path), False, str(e))

by_kind = {}
for fname, d in docs:
    ok = isinstance(d, dict) and all(k in d for k in ("apiVersion", "kind", "metadata"))
    check("k8s: %s: %s/%s has apiVersion, kind, metadata.name" %
          (fname, d.get("kind") if isinstance(d, dict) else "?",
           (d.get("metadata") or {}).get("name") if isinstance(d, dict) else "?"),
          ok and "name" in d["metadata"])
    if ok:
        by_kind.setdefault(d["kind"], {})[d["metadata"]["name"]] = d

deps = list(by_kind.get("Deployment", {}).values())
if not check("k8s: exactly one Deployment", len(deps) == 1, "found %d" % len(deps)):
    sys.exit(0)
dep = deps[0]
cms = by_kind.get("ConfigMap", {})
spec = dep["spec"]["template"]["spec"]
meta = dep["spec"]["template"]["metadata"]

check("k8s: selector matches the pod labels",
      all(meta.get("labels", {}).get(k) == v
          for k, v in dep["spec"]["selector"]["matchLabels"].items()))
for svc in by_kind.get("Service", {}).values():
    check("k8s: Service %s selects the pods" % svc["metadata"]["name"],
          all(meta.get("labels", {}).get(k) == v for k, v in svc["spec"]["selector"].items()))

containers = {c["name"]: c for c in spec.get("containers", []) + spec.get("initContainers", [])}
agent = containers.get("certspoa")
proxy = containers.get("haproxy")
if not check("k8s: pod has a certspoa and a haproxy container", agent and proxy,
             "containers: %s" % sorted(containers)):
    sys.exit(0)
if agent in spec.get("initContainers", []):
    check("k8s: certspoa as an initContainer is a native sidecar (restartPolicy: Always)",
          agent.get("restartPolicy") == "Always")

# ------------------------------------------------------------- volumes
volumes = {v["name"]: v for v in spec.get("volumes", [])}
mounted = set()
for c in containers.values():
    for m in c.get("volumeMounts", []):
        mounted.add(m["name"])
        check("k8s: %s mounts volume %s, which is declared" % (c["name"], m["name"]),
              m["name"] in volumes)
for name in volumes:
    check("k8s: volume %s is mounted by some container" % name, name in mounted)


def mount_of(c, path):
    """The volumeMount of container c whose mountPath holds path."""
    best = None
    for m in c.get("volumeMounts", []):
        mp = m["mountPath"].rstrip("/")
        if path == mp or path.startswith(mp + "/"):
            if best is None or len(mp) > len(best["mountPath"].rstrip("/")):
                best = m
    return best


def volume_files(vol):
    """{file name in the volume: (kind, object name, key)} for configMap,
    secret and projected volumes (items when listed, else every key of a
    ConfigMap we have)."""
    files = {}
    sources = []
    if "configMap" in vol:
        sources.append(("configMap", vol["configMap"]))
    if "secret" in vol:
        sources.append(("secret", vol["secret"]))
    for s in vol.get("projected", {}).get("sources", []):
        for kind in ("configMap", "secret"):
            if kind in s:
                sources.append((kind, s[kind]))
    for kind, src in sources:
        name = src.get("name") or src.get("secretName")
        items = src.get("items")
        if items:
            for it in items:
                files[it["path"]] = (kind, name, it["key"])
        elif kind == "configMap" and name in cms:
            for key in cms[name].get("data", {}):
                files[key] = (kind, name, key)
    return files


def file_in(c, path, what):
    """Check that path is a file container c gets from a volume; return
    (kind, name, key) or None."""
    m = mount_of(c, path)
    if not check("k8s: %s: %s (%s) is on a volume" % (c["name"], path, what), m,
                 "no volumeMount holds it"):
        return None
    rel = path[len(m["mountPath"].rstrip("/")) + 1:]
    files = volume_files(volumes.get(m["name"], {}))
    ok = check("k8s: %s: %s (%s) is a key of volume %s" % (c["name"], path, what, m["name"]),
               rel in files, "volume has %s" % sorted(files))
    if ok:
        kind, name, key = files[rel]
        if kind == "configMap":
            check("k8s: ConfigMap %s has key %s" % (name, key),
                  name in cms and key in cms[name].get("data", {}),
                  "ConfigMap %s: %s" % (name, sorted(cms.get(name, {}).get("data", {}))))
        return files[rel]
    return None


for vname, vol in volumes.items():
    for kind in ("configMap",):
        srcs = [vol[kind]] if kind in vol else [s[kind] for s in vol.get("projected", {}).get("sources", []) if kind in s]
        for src in srcs:
            if src["name"] in cms and src.get("items"):
                keys = set(cms[src["name"]].get("data", {}))
                used = {it["key"] for it in src["items"]}
                check("k8s: volume %s uses every key of ConfigMap %s" % (vname, src["name"]),
                      keys == used, "ConfigMap keys %s, items %s" % (sorted(keys), sorted(used)))


def cm_text(kind_name_key):
    if not kind_name_key or kind_name_key[0] != "configMap":
        return None
    return cms[kind_name_key[1]]["data"][kind_name_key[2]]


# ------------------------------------------------------------- the agent
with open(dockerfile) as f:
    dtext = f.read()
entry = None
m = re.search(r"^ENTRYPOINT\s+(\[.*\])\s*$", dtext, re.M)
if m:
    entry = json.loads(m.group(1))
cfg_path = None
if check("k8s: Dockerfile ENTRYPOINT is exec form with -f FILE", entry and "-f" in entry,
         "ENTRYPOINT %r" % entry):
    cfg_path = entry[entry.index("-f") + 1]
if "command" in agent or "args" in agent:
    argv = agent.get("command", []) + agent.get("args", [])
    if "-f" in argv:
        cfg_path = argv[argv.index("-f") + 1]
m = re.search(r"^USER\s+(\d+)(?::(\d+))?\s*$", dtext, re.M)
image_uid = int(m.group(1)) if m else None

ini_src = file_in(agent, cfg_path or "/etc/certspoa/certspoa.ini", "config file")
ini = cm_text(ini_src) or ""


def ini_sections(text):
    """[(section, key, value)] of an INI text (inline ; comments cut)."""
    out, sec = [], None
    for line in text.splitlines():
        s = line.strip()
        if not s or s[0] in ";#":
            continue
        if s.startswith("["):
            sec = s[1:s.index("]")].strip()
            continue
        if "=" in s:
            k, v = s.split("=", 1)
            v = re.sub(r"\s+;.*$", "", v).strip()
            out.append((sec, k.strip(), v))
    return out


kv = ini_sections(ini)
listen = [v for s, k, v in kv if s == "agent" and k == "listen"]
sock = None
if check("k8s: certspoa.ini listens on one unix socket", len(listen) == 1 and listen[0].startswith("unix:"),
         "listen = %s" % listen):
    sock = listen[0][len("unix:"):]
for s, k, v in kv:
    if k in ("ca_file", "thumbprints"):
        file_in(agent, v, k)
    if k in ("pid_file", "ready_file"):
        m2 = mount_of(agent, v)
        check("k8s: %s %s is on a writable emptyDir" % (k, v),
              m2 and "emptyDir" in volumes.get(m2["name"], {}) and not m2.get("readOnly"))

stats = [v for s, k, v in kv if s == "stats" and k == "listen"]
stats_port = None
if check("k8s: certspoa.ini has a [stats] listen HOST:PORT", len(stats) == 1 and ":" in stats[0],
         "stats listen = %s" % stats):
    stats_port = int(stats[0].rsplit(":", 1)[1])
    check("k8s: stats listen is on all addresses (kubelet probes and Prometheus use the pod IP)",
          stats[0].rsplit(":", 1)[0] in ("0.0.0.0", "[::]", "*", ""), stats[0])


def port_of(c, port):
    if isinstance(port, int):
        return port
    for p in c.get("ports", []):
        if p.get("name") == port:
            return p["containerPort"]
    return None


for probe in ("startupProbe", "readinessProbe", "livenessProbe"):
    p = agent.get(probe)
    if p is None:
        continue
    hg = p.get("httpGet", {})
    check("k8s: certspoa %s port is the stats listen port %s" % (probe, stats_port),
          port_of(agent, hg.get("port")) == stats_port,
          "probe port %r -> %r" % (hg.get("port"), port_of(agent, hg.get("port"))))
check("k8s: certspoa readinessProbe is GET /readyz",
      agent.get("readinessProbe", {}).get("httpGet", {}).get("path") == "/readyz")
check("k8s: certspoa livenessProbe is GET /healthz",
      agent.get("livenessProbe", {}).get("httpGet", {}).get("path") == "/healthz")
ann = meta.get("annotations", {})
check("k8s: prometheus.io/scrape is \"true\"", ann.get("prometheus.io/scrape") == "true")
check("k8s: prometheus.io/port is the stats listen port",
      str(ann.get("prometheus.io/port")) == str(stats_port),
      "annotation %r, stats port %r" % (ann.get("prometheus.io/port"), stats_port))
check("k8s: prometheus.io/path is /metrics", ann.get("prometheus.io/path") == "/metrics")
m = re.search(r"^EXPOSE\s+(\d+)", dtext, re.M)
check("k8s: Dockerfile EXPOSEs the stats port", m and int(m.group(1)) == stats_port)

# ------------------------------------------------------------- the shared socket
hsrc = file_in(proxy, "/usr/local/etc/haproxy/haproxy.cfg", "haproxy config")
hcfg = cm_text(hsrc) or ""
servers = re.findall(r"^\s*server\s+\S+\s+unix@(\S+)", hcfg, re.M)
check("k8s: haproxy.cfg's agent server is unix@%s" % sock, servers == [sock], "servers: %s" % servers)
if sock:
    ma, mh = mount_of(agent, sock), mount_of(proxy, sock)
    check("k8s: the socket's directory is an emptyDir in certspoa",
          ma and "emptyDir" in volumes.get(ma["name"], {}) and not ma.get("readOnly"))
    check("k8s: haproxy mounts the same volume at the same path",
          ma and mh and ma["name"] == mh["name"] and ma["mountPath"] == mh["mountPath"],
          "certspoa %s, haproxy %s" % (ma, mh))
spoe = re.findall(r"filter\s+spoe\s+engine\s+certspoa\s+config\s+(\S+)", hcfg)
if check("k8s: haproxy.cfg loads the SPOE filter", len(spoe) == 1):
    ssrc = file_in(proxy, spoe[0], "SPOE config")
    with open(spoe_conf) as f:
        check("k8s: the SPOE config in the ConfigMap is spoe-conf/certspoa.conf, unchanged",
              cm_text(ssrc) == f.read())
for word, path in re.findall(r"\b(crt|ca-file)\s+(/\S+)", hcfg):
    file_in(proxy, path, word)
check("k8s: haproxy.cfg fails closed (deny unless verdict is allow)",
      re.search(r"deny status 503 .*unless certspoa_allow", hcfg)
      and re.search(r"acl certspoa_allow var\(txn\.certspoa\.verdict\) -m str allow", hcfg))
# The pod's haproxy.cfg strips the same certificate/identity header family as
# the mtls-api example (t-headers.sh runs that one for real), and shadow mode
# never gets a Client-Cert.
api_cfg = os.path.join(os.path.dirname(os.path.abspath(spoe_conf)), "..", "haproxy-examples",
                       "mtls-api", "haproxy.cfg")
with open(api_cfg) as f:
    api_strip = [l.strip() for l in f if re.match(r"\s*(http-request del-header|option http-restrict-req-hdr-names)\b", l)]
pod_strip = [l.strip() for l in hcfg.splitlines()
             if re.match(r"\s*(http-request del-header|option http-restrict-req-hdr-names)\b", l)]
check("k8s: haproxy.cfg strips every header mtls-api/haproxy.cfg strips",
      api_strip and set(api_strip) <= set(pod_strip),
      "missing: %s" % sorted(set(api_strip) - set(pod_strip)))
check("k8s: haproxy.cfg sets Client-Cert only without would_deny (shadow mode does not vouch)",
      all("would_deny" in l for l in hcfg.splitlines() if re.search(r"set-header\s+Client-Cert\b", l))
      and re.search(r"set-header\s+Client-Cert\b", hcfg))
check("k8s: haproxy.cfg has no chroot (it would hide the socket)",
      not re.search(r"^\s*chroot\b", hcfg, re.M))
hp = proxy.get("readinessProbe", {}).get("httpGet", {})
hb = re.findall(r'bind\s+"\$\{HEALTH_BIND-:(\d+)\}"', hcfg)
check("k8s: haproxy readinessProbe port is its health frontend",
      hb and port_of(proxy, hp.get("port")) == int(hb[0]), "%r vs %r" % (hp, hb))

# ------------------------------------------------------------- network policy
# The stats listener is on the pod IP (probes, Prometheus): only Prometheus
# may reach it; clients only reach HAProxy's TLS port; the SPOP socket is a
# unix socket, so no network port at all.
def named_port(port):
    """A NetworkPolicy port (number or name) as a containerPort number."""
    if isinstance(port, int):
        return port
    for c in containers.values():
        for p in c.get("ports", []):
            if p.get("name") == port:
                return p["containerPort"]
    return None


pod_ports = {p["containerPort"] for c in containers.values() for p in c.get("ports", [])}
https_port = port_of(proxy, "https")
nps = [np for np in by_kind.get("NetworkPolicy", {}).values()
       if all(meta.get("labels", {}).get(k) == v
              for k, v in np["spec"].get("podSelector", {}).get("matchLabels", {}).items())
       and np["spec"].get("podSelector", {}).get("matchLabels")]
if check("k8s: a NetworkPolicy selects the pods", len(nps) == 1, "found %d" % len(nps)):
    np = nps[0]["spec"]
    check("k8s: NetworkPolicy restricts Ingress", "Ingress" in np.get("policyTypes", []))
    rules = np.get("ingress", [])
    check("k8s: NetworkPolicy: every ingress rule names its ports (no all-ports rule)",
          rules and all(r.get("ports") for r in rules))
    opened = {}
    for r in rules:
        for p in r.get("ports", []):
            num = named_port(p.get("port"))
            check("k8s: NetworkPolicy port %r is a port of the pod" % p.get("port"), num in pod_ports,
                  "pod ports %s" % sorted(pod_ports))
            opened.setdefault(num, []).append(r.get("from"))
    check("k8s: NetworkPolicy opens HAProxy's TLS port %s" % https_port, https_port in opened)
    froms = opened.get(stats_port, [])
    check("k8s: NetworkPolicy opens the stats port %s only to selected peers" % stats_port,
          froms and all(f for f in froms), "rules for it: %s" % froms)
    peers = [peer for f in froms if f for peer in f]
    check("k8s: NetworkPolicy: stats peers are a namespace AND a pod selector (Prometheus)",
          peers and all(peer.get("namespaceSelector", {}).get("matchLabels") and
                        peer.get("podSelector", {}).get("matchLabels") and "ipBlock" not in peer
                        for peer in peers), "peers: %s" % peers)
    check("k8s: NetworkPolicy opens nothing but the TLS and stats ports",
          set(opened) <= {https_port, stats_port}, "opened %s" % sorted(opened, key=str))
    check("k8s: no container port for SPOP (the agent is on a unix socket)",
          not [p for p in agent.get("ports", []) if p["containerPort"] != stats_port])

# ------------------------------------------------------------- hardening
psc = spec.get("securityContext", {})
check("k8s: pod runAsNonRoot", psc.get("runAsNonRoot") is True)
check("k8s: pod runAsUser is the image's USER (%s)" % image_uid,
      psc.get("runAsUser") == image_uid and image_uid not in (None, 0))
for name, c in containers.items():
    sc = c.get("securityContext", {})
    check("k8s: %s readOnlyRootFilesystem" % name, sc.get("readOnlyRootFilesystem") is True)
    check("k8s: %s allowPrivilegeEscalation false" % name, sc.get("allowPrivilegeEscalation") is False)
    check("k8s: %s drops ALL capabilities" % name,
          sc.get("capabilities", {}).get("drop") == ["ALL"] and not sc.get("capabilities", {}).get("add"))
    res = c.get("resources", {})
    check("k8s: %s has cpu+memory requests and a memory limit" % name,
          {"cpu", "memory"} <= set(res.get("requests", {})) and "memory" in res.get("limits", {}))

# ------------------------------------------------------------- outputs
os.makedirs(outdir, exist_ok=True)
for fname, src in (("certspoa.ini", ini_src), ("haproxy.cfg", hsrc)):
    if cm_text(src) is not None:
        with open(os.path.join(outdir, fname), "w") as f:
            f.write(cm_text(src))
for cm in cms.values():
    for key, text in cm.get("data", {}).items():
        with open(os.path.join(outdir, key), "w") as f:
            f.write(text)
facts = {
    "K8S_SOCK": sock or "",
    "K8S_STATS_PORT": stats_port or "",
    "K8S_CONFIG": cfg_path or "",
    "K8S_UID": psc.get("runAsUser", ""),
    "K8S_GID": psc.get("runAsGroup", ""),
}
# every file each container sees from volumes: "container|mountPath|volume|file|kind|object|key|readOnly"
mounts = []
for cname, c in containers.items():
    for m in c.get("volumeMounts", []):
        vol = volumes.get(m["name"], {})
        if "emptyDir" in vol:
            mounts.append("%s|%s|%s||emptyDir|||%s" % (cname, m["mountPath"], m["name"], bool(m.get("readOnly"))))
        for fn, (kind, name, key) in sorted(volume_files(vol).items()):
            mounts.append("%s|%s|%s|%s|%s|%s|%s|%s" % (cname, m["mountPath"], m["name"], fn, kind, name, key, bool(m.get("readOnly"))))
with open(os.path.join(outdir, "facts.sh"), "w") as f:
    for k, v in facts.items():
        f.write("%s=%s\n" % (k, shlex.quote(str(v))))
    f.write("K8S_MOUNTS=(%s)\n" % " ".join(shlex.quote(x) for x in mounts))
