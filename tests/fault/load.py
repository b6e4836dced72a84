#!/usr/bin/env python3
"""load.py - HTTPS load through HAProxy for the fault tests, and the
analysis of what came back.

    load.py run --port P --pki DIR --out LOG --clients allowed:3,notlisted:1,none:1
                [--duration S] [--stop-file F]
        One thread per client, each on its own keep-alive TLS connection
        (with the named client certificate from DIR, or none), sending GETs
        until the duration ends or the stop file appears. A dropped
        connection is re-opened. One line per request in LOG:
            cert  start_ms  end_ms  status  code  client_cert  path  spoe_error
        status is the HTTP status or ERR:<what> for a transport error;
        client_cert says what the backend echo saw for a 200: "ok" (exactly
        one Client-Cert header, holding this client's own certificate),
        "none", or "other". spoe_error is N from a 503's detail "no verdict
        from certspoa (spoe error N)", or "-".

    load.py analyze --log LOG [--kill-ms T] [--dead-ms T] [--restart-ms T] [--ready-ms T]
        Prints VALUE lines (see spop.py) with the counts the tests assert
        on, then END.

Standard library only, loopback only.
"""
import argparse
import base64
import http.client
import os
import re
import socket
import ssl
import sys
import threading
import time


def now_ms():
    return int(time.time() * 1000)


def client_loop(a, cert, idx, stop, rows):
    try:
        client_run(a, cert, idx, stop, rows)
    except Exception as e:              # noqa: BLE001 - a dead client must be seen
        rows.append("%s\t%d\t%d\tERR:client-died-%s\t-\t-\t-\t-" % (cert, now_ms(), now_ms(),
                                                                     type(e).__name__))
        print("load.py: client %s died: %r" % (cert, e), file=sys.stderr)


def client_run(a, cert, idx, stop, rows):
    ctx = ssl.create_default_context(cafile=os.path.join(a.pki, "ca.pem"))
    ctx.check_hostname = False          # we connect to 127.0.0.1, the cert is for localhost
    expected = None
    if cert != "none":
        ctx.load_cert_chain(os.path.join(a.pki, cert + ".crt"), os.path.join(a.pki, cert + ".key"))
        # "chained-full" sends chained.crt plus its intermediate: the
        # backend must see the leaf, chained.der
        leaf = cert[:-len("-full")] if cert.endswith("-full") else cert
        with open(os.path.join(a.pki, leaf + ".der"), "rb") as fh:
            expected = ":%s:" % base64.b64encode(fh.read()).decode()
    conn = None
    n = 0
    while not stop.is_set():
        if conn is None:
            conn = http.client.HTTPSConnection("127.0.0.1", a.port, context=ctx, timeout=10)
        n += 1
        t0 = now_ms()
        status, code, cc, err = "", "-", "-", "-"
        path = "/load/%s/%d/%d" % (cert, idx, n)
        try:
            conn.request("GET", path, headers={"Host": "localhost"})
            r = conn.getresponse()
            body = r.read()
            status = str(r.status)
            code = r.getheader("X-Certspoa-Code") or "-"
            if r.status == 200:
                lines = dict(l.split(": ", 1) for l in body.decode(errors="replace").splitlines()
                             if ": " in l)
                seen = lines.get("client-cert", "")
                cnt = lines.get("client-cert-count", "")
                if cnt == "1" and expected is not None and seen == expected:
                    cc = "ok"
                elif cnt in ("", "0"):
                    cc = "none"
                else:
                    cc = "other"
            elif r.status == 503:
                m = re.search(rb"spoe error (\d+)", body)
                err = m.group(1).decode() if m else "none"
            if r.will_close:
                conn.close()
                conn = None
        except Exception as e:          # noqa: BLE001 - any transport failure is data
            status = "ERR:%s" % type(e).__name__
            try:
                conn.close()
            except Exception:           # noqa: BLE001
                pass
            conn = None
            time.sleep(0.01)
        rows.append("%s\t%d\t%d\t%s\t%s\t%s\t%s\t%s" % (cert, t0, now_ms(), status, code, cc,
                                                       path, err))
        if a.pause:
            time.sleep(a.pause)
    if conn:
        conn.close()


def cmd_run(a):
    stop = threading.Event()
    rows = []
    threads = []
    idx = 0
    for spec in a.clients.split(","):
        cert, n = spec.split(":")
        for _ in range(int(n)):
            idx += 1
            t = threading.Thread(target=client_loop, args=(a, cert, idx, stop, rows), daemon=True)
            t.start()
            threads.append(t)
    end = time.monotonic() + a.duration if a.duration else None
    while True:
        if end and time.monotonic() >= end:
            break
        if a.stop_file and os.path.exists(a.stop_file):
            break
        time.sleep(0.05)
    stop.set()
    for t in threads:
        t.join(15)
    with open(a.out, "w") as fh:
        fh.write("\n".join(rows) + ("\n" if rows else ""))


def value(k, v):
    print("VALUE\t%s\t%s" % (k, v), flush=True)


def cmd_analyze(a):
    rows = []
    with open(a.log) as fh:
        for line in fh:
            f = line.rstrip("\n").split("\t")
            if len(f) == 8:
                rows.append((f[0], int(f[1]), int(f[2]), f[3], f[4], f[5], f[6], f[7]))
    value("requests", len(rows))
    by = {}
    for r in rows:
        by[(r[0], r[3])] = by.get((r[0], r[3]), 0) + 1
    value("by_cert_status", " ".join("%s:%s=%d" % (k[0], k[1], v) for k, v in sorted(by.items())))
    allowed = set(a.allowed.split(","))
    # Never: a 200 for a client that is not on the list, or a 200 whose
    # backend saw anything but this client's own certificate.
    bad200 = [r for r in rows if r[3] == "200" and (r[0] not in allowed or r[5] != "ok")]
    value("violations", len(bad200))
    if bad200:
        value("violation_example", " ".join(map(str, bad200[0])))
    value("allowed_200", sum(1 for r in rows if r[0] in allowed and r[3] == "200"))
    nonallowed = [r for r in rows if r[0] not in allowed]
    value("others_denied", sum(1 for r in nonallowed if r[3] in ("403", "503")))
    value("others", sum(1 for r in nonallowed if not r[3].startswith("ERR")))
    errs = [r for r in rows if r[3].startswith("ERR")]
    value("transport_errors", len(errs))
    if errs:
        kinds = {}
        for r in errs:
            kinds[r[3]] = kinds.get(r[3], 0) + 1
        value("transport_error_kinds", " ".join("%s=%d" % kv for kv in sorted(kinds.items())))
        value("transport_error_paths", " ".join(r[6] for r in errs[:20]))
    # For the allowed client: every HTTP answer that is not 200. With an
    # outage, only before the kill and after the first 200 that followed
    # the restart (the recovery) count.
    recovered = None
    if a.kill_ms:
        after = sorted((r for r in rows if r[0] in allowed and r[3] == "200" and r[1] >= a.restart_ms),
                       key=lambda r: r[2])
        recovered = after[0][2] if after else None
    outside = [r for r in rows if r[0] in allowed and not r[3].startswith("ERR")
               and (not a.kill_ms or r[2] < a.kill_ms or (recovered and r[1] >= recovered))]
    fails = [r for r in outside if r[3] != "200"]
    value("allowed_answers_outside_outage", len(outside))
    value("allowed_non200_outside_outage", len(fails))
    if fails:
        kinds = {}
        for r in fails:
            kinds["%s/%s" % (r[3], r[4])] = kinds.get("%s/%s" % (r[3], r[4]), 0) + 1
        value("allowed_non200_kinds", " ".join("%s=%d" % kv for kv in sorted(kinds.items())))
        value("allowed_non200_starts_ms", " ".join(str(r[1]) for r in fails[:20]))
    if a.kill_ms:
        # Requests entirely inside the outage: started after the agent was
        # seen dead, ended before the new one was started. Nothing can
        # allow them.
        inside = [r for r in rows if r[1] >= a.dead_ms and r[2] <= a.restart_ms]
        value("outage_requests", len(inside))
        value("outage_200", sum(1 for r in inside if r[3] == "200"))
        value("outage_503", sum(1 for r in inside if r[3] == "503" and r[4] == "agent_unavailable"))
        errs = {}
        for r in inside:
            errs[r[7]] = errs.get(r[7], 0) + 1
        value("outage_spoe_errors", " ".join("%s=%d" % kv for kv in sorted(errs.items())))
        value("outage_other", " ".join(sorted(set("%s/%s" % (r[3], r[4]) for r in inside
                                                   if not (r[3] == "503" and r[4] == "agent_unavailable")))) or "-")
        value("recovery_from_restart_ms", recovered - a.restart_ms if recovered else -1)
        value("recovery_from_ready_ms", recovered - a.ready_ms if recovered else -1)
    if rows:
        span = (max(r[2] for r in rows) - min(r[1] for r in rows)) / 1000.0
        value("seconds", "%.1f" % span)
        value("rate", "%.0f" % (len(rows) / span if span else 0))


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    sub = ap.add_subparsers(dest="cmd", required=True)
    p = sub.add_parser("run")
    p.add_argument("--port", type=int, required=True)
    p.add_argument("--pki", required=True)
    p.add_argument("--out", required=True)
    p.add_argument("--clients", default="allowed:3,notlisted:1,none:1")
    p.add_argument("--duration", type=float, default=0)
    p.add_argument("--stop-file")
    p.add_argument("--pause", type=float, default=0, help="seconds between requests of a client")
    p.set_defaults(fn=cmd_run)
    p = sub.add_parser("analyze")
    p.add_argument("--log", required=True)
    p.add_argument("--allowed", default="allowed")
    p.add_argument("--kill-ms", type=int, default=0, help="when SIGKILL was sent")
    p.add_argument("--dead-ms", type=int, default=0, help="when the agent was seen dead")
    p.add_argument("--restart-ms", type=int, default=0, help="when the new agent was started")
    p.add_argument("--ready-ms", type=int, default=0, help="when the new agent was listening")
    p.set_defaults(fn=cmd_analyze)
    a = ap.parse_args()
    a.fn(a)
    if a.cmd == "analyze":
        print("END\tanalyze", flush=True)


if __name__ == "__main__":
    sys.exit(main())
