#!/usr/bin/env python3
"""spop_probe.py - a minimal SPOP 2.0 agent that records what HAProxy sends.

A reference peer for comparing HAProxy versions, not the product: it answers
HELLO, ACKs every NOTIFY with SET-VAR txn.<prefix>.verdict (and the NOTIFY's
ids), answers HAPROXY-DISCONNECT, and writes one JSON object per event to
--log (or stdout): connection open/close and how it ended (EOF, reset),
every frame's type, flags, stream-id, frame-id, the HELLO keys, the messages
and argument types of each NOTIFY, and the number of NOTIFY frames in flight
on the connection. Standard library only; loopback addresses only.

  spop_probe.py --listen 127.0.0.1:12345 --log /tmp/probe.jsonl
      [--caps pipelining] [--max-frame-size 16380] [--delay-ms 0]
      [--verdict allow] [--no-ack] [--no-hello] [--ready-file F]
"""
import argparse
import json
import os
import socket
import struct
import sys
import threading
import time

# The codec is tests/lib/spopcodec.py, shared by every test that speaks SPOP.
sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "lib"))
from spopcodec import (  # noqa: E402
    ACK, AGENT_HELLO, FIN, FRAME_NAMES, HAPROXY_HELLO, NOTIFY, T_STR, T_UINT32,
    TYPE_NAMES, get_sstr, get_varint, kv, set_var, typed)
from spopcodec import ABORT  # noqa: E402,F401
from spopcodec import AGENT_DISCON as AGENT_DISCONNECT  # noqa: E402
from spopcodec import HAPROXY_DISCON as HAPROXY_DISCONNECT  # noqa: E402
import spopcodec  # noqa: E402

LOCK = threading.Lock()
OUT = sys.stdout
T0 = time.monotonic()


def emit(**ev):
    ev["t"] = round(time.monotonic() - T0, 4)
    with LOCK:
        OUT.write(json.dumps(ev, sort_keys=True) + "\n")
        OUT.flush()


# names this tool and spop_relay.py use
dec_varint = get_varint
dec_str = get_sstr


def dec_typed(b, i):
    t = b[i]
    i += 1
    typ, flags = t & 0x0f, t >> 4
    if typ == 0:
        return ("null", None), i
    if typ == 1:
        return ("bool", bool(flags & 1)), i
    if 2 <= typ <= 5:
        v, i = dec_varint(b, i)
        return (TYPE_NAMES[typ], v), i
    if typ == 6:
        return ("ipv4", socket.inet_ntop(socket.AF_INET, b[i:i + 4])), i + 4
    if typ == 7:
        return ("ipv6", socket.inet_ntop(socket.AF_INET6, b[i:i + 16])), i + 16
    if typ in (8, 9):
        s, i = dec_str(b, i)
        if typ == 8:
            return ("string", s.decode("utf-8", "replace")), i
        return ("binary", len(s)), i
    raise ValueError("reserved type %d" % typ)


def dec_kvlist(b, i=0):
    out = {}
    while i < len(b):
        k, i = dec_str(b, i)
        (t, v), i = dec_typed(b, i)
        out[k.decode()] = v if t != "binary" else "<%d bytes>" % v
    return out


def dec_messages(b):
    msgs, i = [], 0
    while i < len(b):
        name, i = dec_str(b, i)
        nargs = b[i]
        i += 1
        args = []
        for _ in range(nargs):
            k, i = dec_str(b, i)
            (t, v), i = dec_typed(b, i)
            args.append({"name": k.decode(), "type": t,
                         "len": v if t == "binary" else None,
                         "value": v if t in ("bool", "string", "ipv4", "ipv6") or t.startswith(("int", "uint")) else None})
        msgs.append({"name": name.decode(), "args": args})
    return msgs


def typed_str(v):
    return typed(T_STR, v)


def typed_uint32(v):
    return typed(T_UINT32, v)


def frame(ftype, flags, sid, fid, payload):
    return spopcodec.frame(ftype, payload, flags, sid, fid)


class Conn:
    def __init__(self, sock, peer, args, cid):
        self.s, self.peer, self.a, self.cid = sock, peer, args, cid
        self.wlock = threading.Lock()
        self.inflight = 0
        self.max_inflight = 0
        self.notifies = 0
        self.closed = False
        self.max_frame = args.max_frame_size

    def send(self, data):
        with self.wlock:
            if not self.closed:
                self.s.sendall(data)

    def recv_exact(self, n):
        buf = bytearray()
        while len(buf) < n:
            chunk = self.s.recv(n - len(buf))
            if not chunk:
                raise EOFError("eof after %d/%d bytes" % (len(buf), n))
            buf += chunk
        return bytes(buf)

    def ack(self, sid, fid, notify_t):
        if self.a.delay_ms:
            time.sleep(self.a.delay_ms / 1000.0)
        actions = set_var(2, "verdict", typed_str(self.a.verdict))
        actions += set_var(2, "probe_ids", typed_str("%d/%d/%d" % (self.cid, sid, fid)))
        try:
            self.send(frame(ACK, FIN, sid, fid, actions))
        except OSError as e:
            emit(ev="ack-failed", conn=self.cid, sid=sid, fid=fid, err=str(e))
        with LOCK:
            self.inflight -= 1

    def run(self):
        emit(ev="open", conn=self.cid, peer=self.peer)
        how = "?"
        try:
            while True:
                hdr = self.recv_exact(4)
                (length,) = struct.unpack(">I", hdr)
                body = self.recv_exact(length)
                ftype = body[0]
                (flags,) = struct.unpack(">I", body[1:5])
                sid, i = dec_varint(body, 5)
                fid, i = dec_varint(body, i)
                payload = body[i:]
                ev = {"ev": "frame", "conn": self.cid, "type": FRAME_NAMES.get(ftype, ftype),
                      "fin": bool(flags & FIN), "abort": bool(flags & ABORT),
                      "flags": flags, "sid": sid, "fid": fid, "len": length}
                if ftype == HAPROXY_HELLO:
                    kvs = dec_kvlist(payload)
                    ev["kv"] = kvs
                    emit(**ev)
                    hmax = int(kvs.get("max-frame-size", 16380))
                    self.max_frame = min(self.a.max_frame_size, hmax)
                    if self.a.no_hello:
                        continue
                    p = kv("version", typed_str("2.0"))
                    p += kv("max-frame-size", typed_uint32(self.max_frame))
                    p += kv("capabilities", typed_str(self.a.caps))
                    self.send(frame(AGENT_HELLO, FIN, 0, 0, p))
                    if kvs.get("healthcheck"):
                        how = "healthcheck-done"
                        # HAProxy closes after our HELLO; wait for it.
                elif ftype == HAPROXY_DISCONNECT:
                    ev["kv"] = dec_kvlist(payload)
                    emit(**ev)
                    p = kv("status-code", typed_uint32(0)) + kv("message", typed_str(""))
                    self.send(frame(AGENT_DISCONNECT, FIN, 0, 0, p))
                    how = "haproxy-disconnect"
                    break
                elif ftype == NOTIFY:
                    self.notifies += 1
                    try:
                        ev["messages"] = dec_messages(payload)
                    except (ValueError, IndexError) as e:
                        ev["decode_error"] = str(e)
                    with LOCK:
                        self.inflight += 1
                        self.max_inflight = max(self.max_inflight, self.inflight)
                        ev["inflight"] = self.inflight
                    emit(**ev)
                    if not (flags & FIN):
                        emit(ev="fragmented-notify", conn=self.cid, sid=sid, fid=fid)
                    if self.a.no_ack:
                        continue
                    if self.a.delay_ms:
                        threading.Thread(target=self.ack, args=(sid, fid, time.monotonic()), daemon=True).start()
                    else:
                        self.ack(sid, fid, 0)
                else:
                    emit(**ev)
        except EOFError as e:
            how = how if how != "?" else "eof"
            if how == "eof" and str(e) != "eof after 0/4 bytes":
                how = "eof-mid-frame"
        except ConnectionResetError:
            how = "reset" if how == "?" else how + "+reset"
        except (OSError, ValueError) as e:
            how = "error: %s" % e
        finally:
            with self.wlock:
                self.closed = True
            # Let delayed ACK threads drain before reporting counts.
            emit(ev="close", conn=self.cid, how=how, notifies=self.notifies,
                 max_inflight=self.max_inflight)
            try:
                self.s.close()
            except OSError:
                pass


def main():
    global OUT
    ap = argparse.ArgumentParser()
    ap.add_argument("--listen", default="127.0.0.1:12345")
    ap.add_argument("--log")
    ap.add_argument("--caps", default="pipelining")
    ap.add_argument("--max-frame-size", type=int, default=16380)
    ap.add_argument("--delay-ms", type=int, default=0)
    ap.add_argument("--verdict", default="allow")
    ap.add_argument("--no-ack", action="store_true")
    ap.add_argument("--no-hello", action="store_true",
                    help="never answer HAPROXY-HELLO (hung agent)")
    ap.add_argument("--ready-file")
    a = ap.parse_args()
    if a.log:
        OUT = open(a.log, "a", buffering=1)
    if a.listen.startswith("unix@"):
        path = a.listen[5:]
        try:
            os.unlink(path)
        except FileNotFoundError:
            pass
        ls = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
        ls.bind(path)
    else:
        host, port = a.listen.rsplit(":", 1)
        if host not in ("127.0.0.1", "::1", "localhost"):
            sys.exit("spop_probe: loopback only")
        ls = socket.socket(socket.AF_INET6 if ":" in host else socket.AF_INET)
        ls.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        ls.bind((host, int(port)))
    ls.listen(512)
    emit(ev="listening", addr=a.listen, pid=os.getpid())
    if a.ready_file:
        with open(a.ready_file, "w") as f:
            f.write("%s\n" % a.listen)
    cid = 0
    while True:
        s, peer = ls.accept()
        cid += 1
        threading.Thread(target=Conn(s, str(peer), a, cid).run, daemon=True).start()


if __name__ == "__main__":
    main()
