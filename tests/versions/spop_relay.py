#!/usr/bin/env python3
"""spop_relay.py - a transparent SPOP relay that measures HAProxy's pipelining.

Sits between HAProxy and a real agent (certspoa) on 127.0.0.1 and forwards
every byte unchanged in both directions, one agent connection per HAProxy
connection. On the way it reads the frame headers and counts, per
connection, the NOTIFY frames HAProxy has sent and not yet seen an ACK for
("in flight"): the largest such number shows how many frames HAProxy really
pipelines on one connection. An ACK whose (stream-id, frame-id) matches no
NOTIFY in flight on the same connection is counted as unmatched.

--batch-ms N holds what HAProxy sends for N ms and forwards it in one write:
the agent then gets several NOTIFY frames in one read, and HAProxy, seeing a
slower agent, pipelines more (up to its own limits). Ends are passed on as
they came: an EOF as an EOF, a reset as a reset (SO_LINGER 0), so the agent
sees what HAProxy did.

  spop_relay.py --listen 127.0.0.1:P --agent 127.0.0.1:A --stats FILE [--batch-ms 0]
                [--log EVENTS.jsonl]

FILE is rewritten (atomically, JSON) at most every 100 ms and on SIGTERM:
conns, hellos, healthchecks, notify, ack, unmatched_acks, max_inflight,
conns_pipelined (connections that had 2+ in flight at once), inflight_hist
(connections by their largest in-flight count), haproxy_disconnects,
agent_disconnects, ends_haproxy / ends_agent ({"eof": n, "reset": n}),
open. --log writes one JSON line per connection open/close and per NOTIFY
(connection, stream-id, frame-id, the "path" argument if any) and ACK, for
matching NOTIFY frames to requests. Standard library only; loopback only.
"""
import argparse
import json
import os
import selectors
import signal
import socket
import struct
import sys
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from spop_probe import (  # noqa: E402  (spop_probe.py: on tests/lib/spopcodec.py)
    ACK, AGENT_DISCONNECT, HAPROXY_DISCONNECT, HAPROXY_HELLO, NOTIFY,
    dec_kvlist, dec_messages, dec_varint)

STATS = {"conns": 0, "open": 0, "hellos": 0, "healthchecks": 0, "notify": 0,
         "ack": 0, "unmatched_acks": 0, "max_inflight": 0,
         "conns_pipelined": 0, "inflight_hist": {}, "haproxy_disconnects": 0,
         "agent_disconnects": 0, "parse_errors": 0,
         "ends_haproxy": {"eof": 0, "reset": 0},
         "ends_agent": {"eof": 0, "reset": 0}}


LOG = None
T0 = time.monotonic()


def log(**ev):
    if LOG:
        ev["t"] = round(time.monotonic() - T0, 4)
        LOG.write(json.dumps(ev, sort_keys=True) + "\n")


def notify_path(payload):
    try:
        for m in dec_messages(payload):
            for a in m["args"]:
                if a["name"] == "path":
                    return a["value"]
    except (ValueError, IndexError, UnicodeDecodeError):
        pass
    return None


def loopback(addr):
    host, port = addr.rsplit(":", 1)
    if host not in ("127.0.0.1", "localhost"):
        sys.exit("spop_relay: loopback only (%s)" % addr)
    return ("127.0.0.1", int(port))


def frames(buf):
    """Yield (type, flags, sid, fid, payload) for every whole frame in buf
    (a bytearray) and remove them from it."""
    i = 0
    while len(buf) - i >= 4:
        (n,) = struct.unpack_from(">I", buf, i)
        if len(buf) - i - 4 < n:
            break
        body = bytes(buf[i + 4:i + 4 + n])
        i += 4 + n
        try:
            (flags,) = struct.unpack_from(">I", body, 1)
            sid, j = dec_varint(body, 5)
            fid, j = dec_varint(body, j)
        except (ValueError, struct.error, IndexError):
            STATS["parse_errors"] += 1
            continue
        yield body[0], flags, sid, fid, body[j:]
    del buf[:i]


class Pair:
    def __init__(self, relay, hs, asock, cid):
        self.r, self.h, self.a, self.cid = relay, hs, asock, cid
        self.h_in, self.a_in = bytearray(), bytearray()
        self.pend_a, self.pend_since = bytearray(), 0.0
        self.out_a, self.out_h = bytearray(), bytearray()
        self.h_eof = self.a_eof = False
        self.shut_a = self.shut_h = False
        self.inflight = set()
        self.max_inflight = 0
        self.closed = False
        for s in (hs, asock):
            s.setblocking(False)
            relay.sel.register(s, selectors.EVENT_READ, self)

    # ---- accounting
    def from_haproxy(self, data):
        self.h_in += data
        for t, _flags, sid, fid, payload in frames(self.h_in):
            if t == HAPROXY_HELLO:
                STATS["hellos"] += 1
                try:
                    if dec_kvlist(payload).get("healthcheck"):
                        STATS["healthchecks"] += 1
                except (ValueError, IndexError, UnicodeDecodeError):
                    STATS["parse_errors"] += 1
            elif t == NOTIFY:
                STATS["notify"] += 1
                log(ev="notify", conn=self.cid, sid=sid, fid=fid, path=notify_path(payload) if LOG else None)
                self.inflight.add((sid, fid))
                self.max_inflight = max(self.max_inflight, len(self.inflight))
                STATS["max_inflight"] = max(STATS["max_inflight"], self.max_inflight)
            elif t == HAPROXY_DISCONNECT:
                STATS["haproxy_disconnects"] += 1

    def from_agent(self, data):
        self.a_in += data
        for t, _flags, sid, fid, _payload in frames(self.a_in):
            if t == ACK:
                STATS["ack"] += 1
                if (sid, fid) in self.inflight:
                    self.inflight.discard((sid, fid))
                    log(ev="ack", conn=self.cid, sid=sid, fid=fid)
                else:
                    STATS["unmatched_acks"] += 1
                    log(ev="ack", conn=self.cid, sid=sid, fid=fid, unmatched=True)
            elif t == AGENT_DISCONNECT:
                STATS["agent_disconnects"] += 1

    # ---- I/O
    def update(self):
        if self.closed:
            return
        for s, out, eof in ((self.h, self.out_h, self.h_eof), (self.a, self.out_a, self.a_eof)):
            ev = (0 if eof else selectors.EVENT_READ) | (selectors.EVENT_WRITE if out else 0)
            try:
                if ev:
                    self.r.sel.modify(s, ev, self)
                else:
                    self.r.sel.unregister(s)
            except (KeyError, ValueError):
                if ev:
                    self.r.sel.register(s, ev, self)

    def release(self, now, force=False):
        if self.pend_a and (force or now - self.pend_since >= self.r.batch):
            self.out_a += self.pend_a
            self.pend_a.clear()

    def flush(self, s, out):
        while out:
            try:
                n = s.send(out)
            except BlockingIOError:
                return
            except OSError:
                out.clear()
                return
            del out[:n]

    def readable(self, s, now):
        try:
            data = s.recv(262144)
        except BlockingIOError:
            return
        except ConnectionResetError:
            self.reset_from(s)
            return
        except OSError:
            data = b""
        if s is self.h:
            if data:
                self.from_haproxy(data)
                if self.r.batch > 0:
                    if not self.pend_a:
                        self.pend_since = now
                    self.pend_a += data
                else:
                    self.out_a += data
            else:
                self.h_eof = True
                STATS["ends_haproxy"]["eof"] += 1
                log(ev="eof", conn=self.cid, by="haproxy", inflight=sorted(self.inflight))
                self.release(now, force=True)
        else:
            if data:
                self.from_agent(data)
                self.out_h += data
            else:
                self.a_eof = True
                STATS["ends_agent"]["eof"] += 1
                log(ev="eof", conn=self.cid, by="agent", inflight=sorted(self.inflight))

    def reset_from(self, s):
        """One side reset: reset the other one too and drop the pair."""
        STATS["ends_haproxy" if s is self.h else "ends_agent"]["reset"] += 1
        log(ev="reset", conn=self.cid, by="haproxy" if s is self.h else "agent",
            inflight=sorted(self.inflight))
        other = self.a if s is self.h else self.h
        try:
            other.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
        except OSError:
            pass
        self.close()

    def step(self, now):
        """After I/O: flush, pass EOFs on once everything before them went."""
        if self.closed:
            return
        self.release(now)
        self.flush(self.a, self.out_a)
        self.flush(self.h, self.out_h)
        if self.h_eof and not self.pend_a and not self.out_a and not self.shut_a:
            self.shut_a = True
            try:
                self.a.shutdown(socket.SHUT_WR)
            except OSError:
                pass
        if self.a_eof and not self.out_h and not self.shut_h:
            self.shut_h = True
            try:
                self.h.shutdown(socket.SHUT_WR)
            except OSError:
                pass
        if self.shut_a and self.shut_h:
            self.close()
        else:
            self.update()

    def close(self):
        if self.closed:
            return
        self.closed = True
        for s in (self.h, self.a):
            try:
                self.r.sel.unregister(s)
            except (KeyError, ValueError):
                pass
            s.close()
        STATS["open"] -= 1
        k = str(self.max_inflight)
        STATS["inflight_hist"][k] = STATS["inflight_hist"].get(k, 0) + 1
        if self.max_inflight >= 2:
            STATS["conns_pipelined"] += 1
        self.r.pairs.discard(self)


class Relay:
    def __init__(self, a):
        self.sel = selectors.DefaultSelector()
        self.batch = a.batch_ms / 1000.0
        self.agent = loopback(a.agent)
        self.stats_file = a.stats
        self.pairs = set()
        self.ls = socket.socket()
        self.ls.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        self.ls.bind(loopback(a.listen))
        self.ls.listen(1024)
        self.ls.setblocking(False)
        self.sel.register(self.ls, selectors.EVENT_READ, None)
        self.last_write = 0.0
        self.dirty = True

    def write_stats(self):
        live_max = max((p.max_inflight for p in self.pairs), default=0)
        hist = dict(STATS["inflight_hist"])
        for p in self.pairs:
            k = str(p.max_inflight)
            hist[k] = hist.get(k, 0) + 1
        out = dict(STATS, max_inflight=max(STATS["max_inflight"], live_max),
                   inflight_hist=hist,
                   conns_pipelined=STATS["conns_pipelined"] +
                   sum(1 for p in self.pairs if p.max_inflight >= 2))
        tmp = self.stats_file + ".tmp"
        with open(tmp, "w") as f:
            json.dump(out, f, sort_keys=True)
            f.write("\n")
        os.replace(tmp, self.stats_file)
        self.dirty = False

    def accept(self):
        while True:
            try:
                hs, _ = self.ls.accept()
            except BlockingIOError:
                return
            asock = socket.socket()
            try:
                asock.connect(self.agent)
            except OSError:
                hs.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
                hs.close()
                asock.close()
                continue
            STATS["conns"] += 1
            STATS["open"] += 1
            log(ev="open", conn=STATS["conns"])
            self.pairs.add(Pair(self, hs, asock, STATS["conns"]))

    def run(self):
        stop = []
        signal.signal(signal.SIGTERM, lambda *_: stop.append(1))
        signal.signal(signal.SIGINT, lambda *_: stop.append(1))
        while not stop:
            now = time.monotonic()
            timeout = 0.1
            for p in self.pairs:
                if p.pend_a:
                    timeout = min(timeout, max(0.0, p.pend_since + self.batch - now))
            events = self.sel.select(timeout)
            now = time.monotonic()
            touched = set()
            for key, mask in events:
                if key.data is None:
                    self.accept()
                    continue
                p = key.data
                if p.closed:
                    continue
                if mask & selectors.EVENT_READ:
                    p.readable(key.fileobj, now)
                touched.add(p)
                self.dirty = True
            for p in list(self.pairs):
                if p in touched or p.pend_a:
                    p.step(now)
            if events:
                self.dirty = True
            if self.dirty and now - self.last_write >= 0.1:
                self.write_stats()
                self.last_write = now
        self.write_stats()


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--listen", required=True)
    ap.add_argument("--agent", required=True)
    ap.add_argument("--stats", required=True)
    ap.add_argument("--batch-ms", type=int, default=0)
    ap.add_argument("--log")
    a = ap.parse_args()
    global LOG
    if a.log:
        LOG = open(a.log, "a", buffering=1)
    Relay(a).run()


if __name__ == "__main__":
    main()
