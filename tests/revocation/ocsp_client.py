#!/usr/bin/env python3
"""A small SPOP client for the OCSP tests (tests/revocation/t-ocsp*.sh):
HAProxy's side of one pipelined connection, talking to the agent directly.

  ocsp_client.py HOST PORT decide FRONTEND:DERFILE...
      one NOTIFY per argument, all sent at once; prints one line per ACK
      as it comes: "fid=N ms=T code=C rule=R detail=D"

  ocsp_client.py HOST PORT blocked SECONDS WAITDER FRONTEND_W N CACHEDDER FRONTEND_C
      sends N NOTIFYs for WAITDER (whose responder never answers) on one
      connection; meanwhile, on a second connection, decides CACHEDDER
      (its OCSP answer cached) one at a time, as fast as it gets answers,
      for SECONDS. Prints "rate=R/s" (cached decisions per second while
      the others waited), then one line per waiting ACK with its ms.
"""
import os
import socket
import sys
import threading
import time

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "lib"))
import spopcodec as sc  # noqa: E402


def hello():
    p = (sc.kv("supported-versions", sc.typed(sc.T_STR, "2.0")) +
         sc.kv("max-frame-size", sc.typed(sc.T_UINT32, 16380)) +
         sc.kv("capabilities", sc.typed(sc.T_STR, "pipelining")))
    return sc.frame(sc.HAPROXY_HELLO, p)


def notify(sid, fid, frontend, der):
    args = [("cert", sc.typed(sc.T_BIN, der)), ("frontend", sc.typed(sc.T_STR, frontend))]
    p = sc.sstr("check-client-cert") + bytes([len(args)])
    for name, data in args:
        p += sc.kv(name, data)
    return sc.frame(sc.NOTIFY, p, sid=sid, fid=fid)


class Conn:
    def __init__(self, host, port):
        self.s = socket.create_connection((host, int(port)), timeout=30)
        self.buf = b""
        self.s.sendall(hello())
        t, _, _, _, _ = self.read_frame()
        if t != sc.AGENT_HELLO:
            raise SystemExit("no AGENT-HELLO (frame type %d)" % t)

    def read_frame(self):
        while True:
            if len(self.buf) >= 4:
                n = int.from_bytes(self.buf[:4], "big")
                if len(self.buf) >= 4 + n:
                    raw = self.buf[4:4 + n]
                    self.buf = self.buf[4 + n:]
                    t, fl, sid, fid, i = sc.frame_header(raw)
                    return t, sid, fid, raw, i
            d = self.s.recv(65536)
            if not d:
                raise SystemExit("the agent closed the connection")
            self.buf += d


def ack_vars(raw, i):
    out = {}
    while i < len(raw):
        act = raw[i]
        nb = raw[i + 1]
        i += 3                          # action, nb-args, scope
        name, i = sc.get_sstr(raw, i)
        if act == sc.ACT_SET_VAR and nb == 3:
            v, i = sc.get_data(raw, i)
            out[name.decode()] = v
    return out


def read_der(path):
    with open(path, "rb") as f:
        return f.read()


def cmd_decide(host, port, items):
    c = Conn(host, port)
    t0 = {}
    for n, item in enumerate(items, 1):
        fe, path = item.split(":", 1)
        t0[n] = time.monotonic()
        c.s.sendall(notify(2 * n + 1, n, fe, read_der(path)))
    for _ in items:
        t, sid, fid, raw, i = c.read_frame()
        if t != sc.ACK:
            raise SystemExit("frame type %d instead of an ACK" % t)
        v = ack_vars(raw, i)
        print("fid=%d ms=%d code=%s rule=%s detail=%s" % (
            fid, (time.monotonic() - t0[fid]) * 1000, v.get("code"), v.get("rule"),
            v.get("detail", "")), flush=True)


def cmd_blocked(host, port, seconds, wait_der, fe_w, n, cached_der, fe_c):
    waiting = Conn(host, port)
    busy = Conn(host, port)
    wder, cder = read_der(wait_der), read_der(cached_der)
    arrived = []

    def reader():
        for _ in range(n):
            t, sid, got, raw, i = waiting.read_frame()
            arrived.append((got, (time.monotonic() - sent) * 1000, ack_vars(raw, i).get("code")))

    sent = time.monotonic()
    for k in range(1, n + 1):
        waiting.s.sendall(notify(2 * k + 1, k, fe_w, wder))
    th = threading.Thread(target=reader, daemon=True)
    th.start()
    done = 0
    fid = 0
    end = time.monotonic() + float(seconds)
    codes = {}
    while time.monotonic() < end:
        fid += 1
        busy.s.sendall(notify(1, fid, fe_c, cder))
        t, _, got, raw, i = busy.read_frame()
        if t != sc.ACK or got != fid:
            raise SystemExit("unexpected frame on the busy connection")
        code = ack_vars(raw, i).get("code")
        codes[code] = codes.get(code, 0) + 1
        done += 1
    print("rate=%d/s decisions=%d codes=%s" % (done / float(seconds), done,
          ",".join("%s:%d" % kv for kv in sorted(codes.items()))), flush=True)
    th.join(30)
    for got, ms, code in arrived:
        print("fid=%d ms=%d code=%s" % (got, ms, code), flush=True)


def main():
    a = sys.argv[1:]
    if len(a) >= 4 and a[2] == "decide":
        cmd_decide(a[0], a[1], a[3:])
    elif len(a) == 9 and a[2] == "blocked":
        cmd_blocked(a[0], a[1], a[3], a[4], a[5], int(a[6]), a[7], a[8])
    else:
        raise SystemExit(__doc__)


main()
