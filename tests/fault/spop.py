#!/usr/bin/env python3
"""spop.py - a raw SPOP 2.0 peer for the fault tests: it plays HAProxy
against the real certspoa process, well or badly.

Standard library only, loopback only. Each subcommand prints one line per
result, tab-separated, for tests/fault/run.sh to count:

    CHECK <TAB> ok|fail <TAB> name <TAB> why (empty when ok)
    NOTE  <TAB> text
    VALUE <TAB> key <TAB> value
    END   <TAB> subcommand          (last line: it ran to the end)

Subcommands (see --help of each):
    abuse   malformed frames of every kind, one connection each, while a
            well-behaved connection keeps asking questions
    slow    slow and idle peers: dribblers, silent ones, idle after HELLO
    flood   more connections than max_connections
    fdex    more connections than the agent has file descriptors
    drive   as many NOTIFY messages as fit in a time, sampling the agent's RSS
    probe   one HELLO + one NOTIFY: exit 0 if answered
"""
import argparse
import os
import random
import select
import signal
import socket
import struct
import sys
import time

# ------------------------------------------------------------------ codec

# The codec itself is tests/lib/spopcodec.py, shared by every test that
# speaks SPOP; this module adds the messages certspoa expects and a peer.
sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "lib"))
from spopcodec import (  # noqa: E402,F401  (re-exported: spop.X in the tools)
    HAPROXY_HELLO, HAPROXY_DISCON, NOTIFY, UNSET, AGENT_HELLO, AGENT_DISCON, ACK,
    FIN, ABORT, T_NULL, T_BOOL, T_INT32, T_UINT32, T_INT64, T_UINT64,
    T_IPV4, T_IPV6, T_STR, T_BIN, varint, get_varint, s, sstr, typed, kv,
    frame, frame_header, get_data)

MESSAGE = b"check-client-cert"


def hello_payload(versions="2.0", max_frame=16380, caps="pipelining",
                  healthcheck=None, engine="fault-test", omit=()):
    p = b""
    if "versions" not in omit:
        p += kv("supported-versions", typed(T_STR, versions))
    if "max-frame-size" not in omit:
        p += kv("max-frame-size", typed(T_UINT32, max_frame))
    if "capabilities" not in omit:
        p += kv("capabilities", typed(T_STR, caps))
    if healthcheck is not None:
        p += kv("healthcheck", typed(T_BOOL, healthcheck))
    if engine:
        p += kv("engine-id", typed(T_STR, engine))
    return p


def message(args, name=MESSAGE):
    """One message of a NOTIFY payload: args is a list of (name, typed)."""
    return sstr(name) + bytes([len(args)]) + b"".join(kv(n, d) for n, d in args)


def cert_args(der, verify=0, present=True, extra=()):
    """What HAProxy sends for a TLS client (see spoe-conf/certspoa.conf)."""
    args = [("present", typed(T_BOOL, present)),
            ("verify", typed(T_INT64, verify)),
            ("cert", typed(T_BIN, der) if der is not None else typed(T_NULL)),
            ("chain", typed(T_NULL)),
            ("sni", typed(T_STR, "localhost")),
            ("host", typed(T_STR, "localhost")),
            ("path", typed(T_STR, "/fault")),
            ("src", typed(T_IPV4, [127, 0, 0, 1]))]
    return args + list(extra)


class Frame:
    def __init__(self, raw):
        self.type, self.flags, self.sid, self.fid, i = frame_header(raw)
        self.payload = raw[i:]

    def kvlist(self):
        """HELLO / DISCONNECT payload as a dict."""
        out, b, i = {}, self.payload, 0
        while i < len(b):
            n, i = get_varint(b, i)
            name = b[i:i + n].decode()
            i += n
            out[name], i = get_data(b, i)
        return out

    def actions(self):
        """ACK payload: {var name: value} (None for UNSET-VAR)."""
        out, b, i = {}, self.payload, 0
        while i < len(b):
            act, nb = b[i], b[i + 1]
            i += 3                       # type, nb-args, scope
            n, i = get_varint(b, i)
            name = b[i:i + n].decode()
            i += n
            if act == 1 and nb == 3:
                out[name], i = get_data(b, i)
            elif act == 2:
                out[name] = None
            else:
                raise ValueError("unknown action %d" % act)
        return out

    def __repr__(self):
        return "frame(type %d flags %d sid %d fid %d len %d)" % (
            self.type, self.flags, self.sid, self.fid, len(self.payload))


# ------------------------------------------------------------------ peer

class Closed(Exception):
    pass


class Peer:
    """One TCP (or unix) connection to the agent."""

    def __init__(self, addr, timeout=5.0, connect=True):
        self.addr = addr
        self.timeout = timeout
        self.buf = b""
        self.eof = None            # how it ended: "eof", "reset"
        self.sock = None
        if connect:
            self.connect()

    def connect(self):
        if self.addr.startswith("unix@"):
            self.sock = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
            self.sock.settimeout(self.timeout)
            self.sock.connect(self.addr[5:])
        else:
            host, port = self.addr.rsplit(":", 1)
            self.sock = socket.create_connection((host, int(port)), timeout=self.timeout)
            self.sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)

    def fileno(self):
        return self.sock.fileno()

    def send(self, data):
        self.sock.sendall(data)

    def close(self):
        if self.sock:
            self.sock.close()
            self.sock = None

    def _fill(self, deadline):
        left = deadline - time.monotonic()
        if left <= 0:
            raise socket.timeout("no answer in time")
        self.sock.settimeout(left)
        try:
            d = self.sock.recv(65536)
        except ConnectionResetError:
            self.eof = "reset"
            raise Closed("reset")
        if not d:
            self.eof = "eof"
            raise Closed("eof")
        self.buf += d

    def recv_frame(self, timeout=None):
        deadline = time.monotonic() + (timeout or self.timeout)
        while len(self.buf) < 4:
            self._fill(deadline)
        n = struct.unpack(">I", self.buf[:4])[0]
        while len(self.buf) < 4 + n:
            self._fill(deadline)
        raw, self.buf = self.buf[4:4 + n], self.buf[4 + n:]
        return Frame(raw)

    def until_closed(self, timeout=None):
        """Every frame until the agent closes. Returns (frames, how) where
        how is "eof", "reset" or "open" (still open after timeout)."""
        frames = []
        deadline = time.monotonic() + (timeout or self.timeout)
        while True:
            try:
                frames.append(self.recv_frame(max(0.001, deadline - time.monotonic())))
            except Closed:
                return frames, self.eof
            except (socket.timeout, TimeoutError):
                return frames, "open"

    def hello(self, **kw):
        self.send(frame(HAPROXY_HELLO, hello_payload(**kw)))
        f = self.recv_frame()
        if f.type != AGENT_HELLO:
            raise ValueError("expected AGENT-HELLO, got %r %r" % (f, f.payload[:80]))
        return f.kvlist()

    def notify(self, args, sid=1, fid=1, name=MESSAGE):
        """Send one NOTIFY, return the ACK's variables."""
        self.send(frame(NOTIFY, message(args, name), sid=sid, fid=fid))
        f = self.recv_frame()
        if f.type != ACK or f.sid != sid or f.fid != fid:
            raise ValueError("expected ACK %d/%d, got %r" % (sid, fid, f))
        return f.actions()


def rss_kb(pid):
    try:
        with open("/proc/%d/status" % pid) as fh:
            for line in fh:
                if line.startswith("VmRSS:"):
                    return int(line.split()[1])
    except OSError:
        return -1
    return -1


def fd_count(pid):
    try:
        return len(os.listdir("/proc/%d/fd" % pid))
    except OSError:
        return -1


def alive(pid):
    if not pid:
        return True
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        pass
    # a zombie has exited too
    try:
        with open("/proc/%d/stat" % pid) as fh:
            return fh.read().rsplit(")", 1)[1].split()[0] != "Z"
    except OSError:
        return False


# ------------------------------------------------------------------ output

COUNTS = {"ok": 0, "fail": 0}


def out(*fields):
    print("\t".join(str(f).replace("\t", " ").replace("\n", " ") for f in fields), flush=True)


def check(name, ok, why=""):
    COUNTS["ok" if ok else "fail"] += 1
    out("CHECK", "ok" if ok else "fail", name, "" if ok else why)
    return ok


def note(text):
    out("NOTE", text)


def value(key, v):
    out("VALUE", key, v)


def read_der(path):
    with open(path, "rb") as fh:
        return fh.read()


# ------------------------------------------------------------------ abuse

class Abuse:
    """Each case opens its own connection and expects a precise end; a good
    connection opened first must answer correctly after every case."""

    def __init__(self, a):
        self.a = a
        self.addr = a.addr
        self.pid = a.pid
        self.allowed = read_der(a.allowed_der)
        self.notlisted = read_der(a.notlisted_der)
        self.good = None
        self.good_sid = 1
        self.good_broken = ""

    def good_ok(self):
        """The well-behaved connection still gets its verdicts."""
        if self.good_broken:
            return False, self.good_broken
        self.good_sid += 2
        try:
            acts = self.good.notify(cert_args(self.allowed), sid=self.good_sid, fid=1)
        except Exception as e:          # noqa: BLE001 - any failure is the finding
            self.good_broken = "good connection failed: %s %s" % (type(e).__name__, e)
            return False, self.good_broken
        if acts.get("verdict") != "allow":
            self.good_broken = "good connection got %r" % acts
            return False, self.good_broken
        return True, ""

    def expect_disconnect(self, name, data, status, hello=False, hello_kw=None,
                          timeout=5.0, allow_reset=False):
        """Send data on a fresh connection (after a HELLO if asked): the agent
        must answer AGENT-DISCONNECT(status) and close."""
        why = ""
        p = None
        try:
            p = Peer(self.addr, timeout)
            if hello:
                p.hello(**(hello_kw or {}))
            p.send(data)
            frames, how = p.until_closed(timeout)
            disc = [f for f in frames if f.type == AGENT_DISCON]
            other = [f for f in frames if f.type != AGENT_DISCON]
            if how == "open":
                why = "connection still open after %.0f s (frames %r)" % (timeout, frames)
            elif not disc and not (allow_reset and how == "reset"):
                why = "closed (%s) without AGENT-DISCONNECT; frames %r" % (how, frames)
            elif disc:
                d = disc[-1]
                kvs = d.kvlist()
                if kvs.get("status-code") != status:
                    why = "status-code %r (%r), want %d" % (kvs.get("status-code"),
                                                            kvs.get("message"), status)
                elif d.flags & FIN == 0 or d.sid or d.fid:
                    why = "AGENT-DISCONNECT flags %d ids %d/%d" % (d.flags, d.sid, d.fid)
                elif frames[-1] is not d:
                    why = "frames after AGENT-DISCONNECT: %r" % frames
                elif other and any(f.type == ACK for f in other):
                    why = "an ACK before the DISCONNECT: %r" % other
        except Exception as e:          # noqa: BLE001
            why = "client error: %s %s" % (type(e).__name__, e)
        finally:
            if p:
                p.close()
        self.finish(name, why)

    def finish(self, name, why):
        if not why and not alive(self.pid):
            why = "agent process is gone"
        if not why:
            ok, w = self.good_ok()
            if not ok:
                why = w
        check(name, not why, why)

    def expect_ack(self, name, args_list, want, hello_kw=None, then_good=True):
        """On a fresh connection: each NOTIFY gets an ACK whose variables
        include want (dict), and the connection stays usable."""
        why = ""
        p = None
        try:
            p = Peer(self.addr)
            p.hello(**(hello_kw or {}))
            sid = 1
            for payload in args_list:
                p.send(frame(NOTIFY, payload, sid=sid, fid=7))
                f = p.recv_frame()
                if f.type != ACK or f.sid != sid or f.fid != 7:
                    why = "expected ACK %d/7, got %r %r" % (sid, f, f.payload[:100])
                    break
                acts = f.actions()
                for k, v in want.items():
                    if acts.get(k, "<unset>") != v:
                        why = "%s = %r, want %r (all: %r)" % (k, acts.get(k, "<unset>"), v, acts)
                        break
                if why:
                    break
                sid += 2
            if not why and then_good:
                acts = p.notify(cert_args(self.allowed), sid=sid, fid=1)
                if acts.get("verdict") != "allow":
                    why = "the same connection afterwards: %r" % acts
        except Exception as e:          # noqa: BLE001
            why = "client error: %s %s" % (type(e).__name__, e)
        finally:
            if p:
                p.close()
        self.finish(name, why)

    def expect_close(self, name, data, how_ok=("eof", "reset"), hello=False, timeout=5.0,
                     half_close=True):
        """Send data, shut our write side: the agent closes without answering."""
        why = ""
        p = None
        try:
            p = Peer(self.addr, timeout)
            if hello:
                p.hello()
            p.send(data)
            if half_close:
                p.sock.shutdown(socket.SHUT_WR)
            frames, how = p.until_closed(timeout)
            if how not in how_ok:
                why = "ended %s, want %s" % (how, "/".join(how_ok))
            elif any(f.type == ACK for f in frames):
                why = "answered a truncated frame: %r" % frames
        except Exception as e:          # noqa: BLE001
            why = "client error: %s %s" % (type(e).__name__, e)
        finally:
            if p:
                p.close()
        self.finish(name, why)

    def run(self):
        a = self.a
        mfs = a.max_frame
        self.good = Peer(self.addr)
        h = self.good.hello()
        check("good connection: HELLO answered with version 2.0",
              h.get("version") == "2.0", "AGENT-HELLO %r" % h)
        ok, why = self.good_ok()
        check("good connection: listed certificate -> allow", ok, why)

        hello = frame(HAPROXY_HELLO, hello_payload())
        rnd = random.Random(6)

        # --- not SPOP at all
        self.expect_disconnect("HTTP request instead of SPOP -> DISCONNECT 3 (length prefix too big)",
                               b"GET / HTTP/1.1\r\nHost: localhost\r\n\r\n", 3)
        junk = bytes(rnd.getrandbits(8) for _ in range(16))
        self.expect_disconnect("16 random bytes framed as a frame of unknown type -> DISCONNECT 4",
                               struct.pack(">I", 16) + b"\x7f" + junk[1:], 4)
        big = b"\xff\xee" + bytes(rnd.getrandbits(8) for _ in range(65534))
        self.expect_disconnect("64 KB of random bytes -> DISCONNECT 3 (or a reset), closed",
                               big, 3, allow_reset=True)

        # --- zero-length and too-short frames
        self.expect_disconnect("zero-length frame before HELLO -> DISCONNECT 4",
                               b"\0\0\0\0", 4)
        self.expect_disconnect("zero-length frame after HELLO -> DISCONNECT 4",
                               b"\0\0\0\0", 4, hello=True)
        self.expect_disconnect("6-byte frame (shorter than a header) -> DISCONNECT 4",
                               struct.pack(">I", 6) + b"\x01\0\0\0\x01\0", 4)

        # --- wrong order and wrong types of frames
        self.expect_disconnect("NOTIFY before HELLO -> DISCONNECT 4",
                               frame(NOTIFY, message(cert_args(self.allowed)), sid=1, fid=1), 4)
        self.expect_disconnect("ACK frame sent to the agent -> DISCONNECT 4",
                               frame(ACK, b"", sid=1, fid=1), 4, hello=True)
        self.expect_disconnect("second HAPROXY-HELLO after the handshake -> DISCONNECT 4",
                               hello, 4, hello=True)
        self.expect_disconnect("AGENT-HELLO frame sent to the agent -> DISCONNECT 4",
                               frame(AGENT_HELLO, hello_payload()), 4)

        # --- oversized
        self.expect_disconnect("length prefix max-frame-size + 1 (%d) before HELLO -> DISCONNECT 3" % (mfs + 1),
                               struct.pack(">I", mfs + 1), 3)
        self.expect_disconnect("length prefix 0xffffffff -> DISCONNECT 3",
                               b"\xff\xff\xff\xff", 3)
        self.expect_disconnect("negotiated max-frame-size 1024, NOTIFY of 1025 bytes -> DISCONNECT 3",
                               self.notify_of_len(1025), 3, hello=True,
                               hello_kw={"max_frame": 1024})
        self.expect_ack("negotiated max-frame-size 1024, NOTIFY of exactly 1024 bytes -> ACK",
                        [self.notify_payload_of_len(1024)], {"verdict": "allow"},
                        hello_kw={"max_frame": 1024})

        # --- HELLO contents
        bad_hellos = [
            ("HELLO with supported-versions \"1.0\" -> DISCONNECT 8", {"versions": "1.0"}, 8),
            ("HELLO with supported-versions \"3.0\" -> DISCONNECT 8", {"versions": "3.0"}, 8),
            ("HELLO without supported-versions -> DISCONNECT 5", {"omit": ("versions",)}, 5),
            ("HELLO without max-frame-size -> DISCONNECT 6", {"omit": ("max-frame-size",)}, 6),
            ("HELLO without capabilities -> DISCONNECT 7", {"omit": ("capabilities",)}, 7),
            ("HELLO with max-frame-size 100 -> DISCONNECT 9", {"max_frame": 100}, 9),
        ]
        for name, kw, st in bad_hellos:
            self.expect_disconnect(name, frame(HAPROXY_HELLO, hello_payload(**kw)), st)
        self.expect_disconnect("HELLO with supported-versions as an integer -> DISCONNECT 4",
                               frame(HAPROXY_HELLO, kv("supported-versions", typed(T_INT64, 2))
                                     + hello_payload(omit=("versions",))), 4)
        self.expect_disconnect("HELLO without FIN (fragmented) -> DISCONNECT 10",
                               frame(HAPROXY_HELLO, hello_payload(), flags=0), 10)
        self.expect_disconnect("HELLO whose KV list is cut in the middle -> DISCONNECT 4",
                               frame(HAPROXY_HELLO, hello_payload()[:-3]), 4)

        # --- bad varints
        body = b"\x01" + struct.pack(">I", FIN) + b"\xff" * 11 + b"\x00"
        self.expect_disconnect("stream-id varint of 11 bytes -> DISCONNECT 4",
                               struct.pack(">I", len(body)) + body, 4)
        body = b"\x03" + struct.pack(">I", FIN) + b"\x01" + b"\xf5"
        self.expect_disconnect("frame-id varint running past the frame -> DISCONNECT 4",
                               struct.pack(">I", len(body)) + body, 4, hello=True)
        payload = b"\xff" * 11 + MESSAGE + b"\x00"
        self.expect_disconnect("NOTIFY with a message-name varint of 11 bytes -> DISCONNECT 4",
                               frame(NOTIFY, payload, sid=1, fid=1), 4, hello=True)
        payload = sstr(MESSAGE) + b"\x01" + sstr("cert") + b"\x09\xff\xff\xff\xff\xff\xff\xff\xff\xff\x7f"
        self.expect_disconnect("NOTIFY with a binary length varint over 2^64 -> DISCONNECT 4",
                               frame(NOTIFY, payload, sid=1, fid=1), 4, hello=True)
        payload = sstr(MESSAGE) + b"\x01" + sstr("cert") + b"\x09" + varint(5000) + b"x" * 10
        self.expect_disconnect("NOTIFY with a binary longer than the frame -> DISCONNECT 4",
                               frame(NOTIFY, payload, sid=1, fid=1), 4, hello=True)
        payload = sstr(MESSAGE) + b"\x01" + sstr("verify") + b"\x0a\x00"
        self.expect_disconnect("NOTIFY argument of reserved type 10 -> DISCONNECT 4",
                               frame(NOTIFY, payload, sid=1, fid=1), 4, hello=True)
        payload = sstr(MESSAGE) + b"\x03" + kv("present", typed(T_BOOL, True))
        self.expect_disconnect("NOTIFY announcing 3 arguments, carrying 1 -> DISCONNECT 4",
                               frame(NOTIFY, payload, sid=1, fid=1), 4, hello=True)

        # --- fragments
        msg = message(cert_args(self.allowed))
        half = len(msg) // 2
        self.expect_disconnect("fragmented NOTIFY interleaved with another NOTIFY -> DISCONNECT 11",
                               frame(NOTIFY, msg[:half], flags=0, sid=1, fid=1)
                               + frame(NOTIFY, msg, sid=3, fid=1), 11, hello=True)
        self.expect_disconnect("continuation frame with no fragmented NOTIFY -> DISCONNECT 12",
                               frame(UNSET, msg[half:], sid=1, fid=1), 12, hello=True)
        self.expect_disconnect("continuation frame with other ids than its NOTIFY -> DISCONNECT 12",
                               frame(NOTIFY, msg[:half], flags=0, sid=1, fid=1)
                               + frame(UNSET, msg[half:], sid=1, fid=2), 12, hello=True)
        self.fragments_ok()
        self.fragment_abort_ok()
        n = a.max_message_size // 16000 + 1
        self.expect_disconnect("fragmented NOTIFY beyond max_message_size (%d x 16000 bytes) -> DISCONNECT 3" % n,
                               frame(NOTIFY, b"\0" * 16000, flags=0, sid=1, fid=1)
                               + b"".join(frame(UNSET, b"\0" * 16000, flags=0, sid=1, fid=1)
                                          for _ in range(n - 1)), 3, hello=True)

        # --- truncated frames
        self.expect_close("truncated frame before HELLO, then close -> agent closes, no answer",
                          struct.pack(">I", 100) + b"\x01" * 20)
        self.expect_close("truncated NOTIFY after HELLO, then close -> agent closes, no answer",
                          frame(NOTIFY, msg, sid=1, fid=1)[:len(msg) // 3], hello=True)
        self.expect_disconnect("truncated frame before HELLO, left open -> DISCONNECT 2 at hello_timeout",
                               struct.pack(">I", 100) + b"\x01" * 20, 2,
                               timeout=a.hello_timeout + 5)
        self.reset_mid_frame(msg)

        # --- HAProxy leaving, health checks
        self.expect_disconnect("HAPROXY-DISCONNECT -> AGENT-DISCONNECT 0 and close",
                               frame(HAPROXY_DISCON, kv("status-code", typed(T_UINT32, 0))
                                     + kv("message", typed(T_STR, "bye"))), 0, hello=True)
        self.healthcheck_ok()

        # --- NOTIFY arguments: absent, NULL, wrong types -> an ACK, not a close
        deny_missing = {"verdict": "deny", "code": "cert_missing"}
        bad = {"verdict": "deny", "code": "bad_request"}
        self.expect_ack("NOTIFY with cert and present NULL -> ACK deny cert_missing",
                        [message([("present", typed(T_NULL)), ("verify", typed(T_NULL)),
                                  ("cert", typed(T_NULL)), ("chain", typed(T_NULL))])],
                        deny_missing)
        self.expect_ack("NOTIFY with no arguments at all -> ACK deny cert_missing",
                        [message([])], deny_missing)
        self.expect_ack("cert sent as STRING -> ACK deny bad_request",
                        [message([("present", typed(T_BOOL, True)), ("verify", typed(T_INT64, 0)),
                                  ("cert", typed(T_STR, self.allowed))])], bad)
        self.expect_ack("verify sent as STRING \"0\" -> ACK deny bad_request",
                        [message([("present", typed(T_BOOL, True)), ("verify", typed(T_STR, "0")),
                                  ("cert", typed(T_BIN, self.allowed))])], bad)
        self.expect_ack("present sent as INT64 1 -> ACK deny bad_request",
                        [message([("present", typed(T_INT64, 1)), ("verify", typed(T_INT64, 0)),
                                  ("cert", typed(T_BIN, self.allowed))])], bad)
        self.expect_ack("src sent as STRING -> ACK deny bad_request",
                        [message(cert_args(self.allowed)[:-1] + [("src", typed(T_STR, "127.0.0.1"))])],
                        bad)
        self.expect_ack("cert of 300 random bytes -> ACK deny (not allow)",
                        [message(cert_args(bytes(rnd.getrandbits(8) for _ in range(300))))],
                        {"verdict": "deny"})
        self.expect_ack("cert = allowed DER + 1 trailing byte -> ACK deny (not allow)",
                        [message(cert_args(self.allowed + b"\0"))], {"verdict": "deny"})
        self.expect_ack("listed certificate with verify = 10 (expired) -> ACK deny cert_unverified",
                        [message(cert_args(self.allowed, verify=10))],
                        {"verdict": "deny", "code": "cert_unverified"})
        self.expect_ack("not-listed certificate -> ACK deny cert_untrusted",
                        [message(cert_args(self.notlisted))],
                        {"verdict": "deny", "code": "cert_untrusted"})
        self.expect_ack("unknown message only -> ACK without a verdict",
                        [message([("x", typed(T_INT64, 1))], name=b"other-message")],
                        {"verdict": None})
        self.expect_ack("unknown and empty-named arguments are skipped -> ACK allow",
                        [message(cert_args(self.allowed, extra=[("", typed(T_STR, "x")),
                                                                ("zzz", typed(T_INT32, -5))]))],
                        {"verdict": "allow"})
        self.pipelined_ok()
        self.zero_ids_ok()
        self.small_frames_ok()
        self.buffered_frames_ok()
        self.expect_disconnect("HAPROXY-DISCONNECT before HELLO -> AGENT-DISCONNECT 0 and close",
                               frame(HAPROXY_DISCON, kv("status-code", typed(T_UINT32, 0))
                                     + kv("message", typed(T_STR, "bye"))), 0)

        self.good_broken or check("good connection: never closed, still answering after every case",
                                  *self.good_ok())
        self.good.close()
        check("agent process alive after the abuse cases", alive(self.pid), "pid %s gone" % self.pid)

    # -- helpers for cases that need more than one exchange

    def notify_payload_of_len(self, flen):
        """A NOTIFY payload such that the whole frame (without its length
        prefix) is exactly flen bytes: padded with an unknown argument."""
        head = 1 + 4 + 1 + 1          # type, flags, sid 1, fid 7 (both one byte)
        base = message(cert_args(self.allowed, extra=[("pad", typed(T_BIN, b""))]))
        pad = flen - head - len(base)
        for extra in range(0, 4):     # the length varint grows with the pad
            m = message(cert_args(self.allowed, extra=[("pad", typed(T_BIN, b"p" * (pad - extra)))]))
            if head + len(m) == flen:
                return m
        raise ValueError("cannot pad to %d" % flen)

    def notify_of_len(self, flen):
        return frame(NOTIFY, self.notify_payload_of_len(flen), sid=1, fid=7)

    def fragments_ok(self):
        name = "fragmented NOTIFY (3 pieces) -> reassembled, ACK allow"
        why = ""
        p = None
        try:
            p = Peer(self.addr)
            p.hello(caps="pipelining,fragmentation")
            msg = message(cert_args(self.allowed))
            k = len(msg) // 3
            p.send(frame(NOTIFY, msg[:k], flags=0, sid=5, fid=9)
                   + frame(UNSET, msg[k:2 * k], flags=0, sid=5, fid=9)
                   + frame(UNSET, msg[2 * k:], flags=FIN, sid=5, fid=9))
            f = p.recv_frame()
            if f.type != ACK or (f.sid, f.fid) != (5, 9) or f.actions().get("verdict") != "allow":
                why = "got %r %r" % (f, f.payload[:100])
        except Exception as e:          # noqa: BLE001
            why = "client error: %s %s" % (type(e).__name__, e)
        finally:
            if p:
                p.close()
        self.finish(name, why)

    def fragment_abort_ok(self):
        name = "fragmented NOTIFY aborted (ABORT flag) -> no ACK for it, next NOTIFY answered"
        why = ""
        p = None
        try:
            p = Peer(self.addr)
            p.hello(caps="pipelining,fragmentation")
            msg = message(cert_args(self.allowed))
            p.send(frame(NOTIFY, msg[:40], flags=0, sid=5, fid=9)
                   + frame(UNSET, b"", flags=ABORT, sid=5, fid=9)
                   + frame(NOTIFY, msg, sid=7, fid=1))
            f = p.recv_frame()
            if f.type != ACK or (f.sid, f.fid) != (7, 1):
                why = "first frame back is %r, want the ACK of 7/1" % f
        except Exception as e:          # noqa: BLE001
            why = "client error: %s %s" % (type(e).__name__, e)
        finally:
            if p:
                p.close()
        self.finish(name, why)

    def reset_mid_frame(self, msg):
        name = "peer resets (RST) in the middle of a NOTIFY -> agent survives"
        why = ""
        try:
            p = Peer(self.addr)
            p.hello()
            p.send(frame(NOTIFY, msg, sid=1, fid=1)[:50])
            p.sock.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
            p.close()                   # SO_LINGER 0: close sends RST
            time.sleep(0.2)
        except Exception as e:          # noqa: BLE001
            why = "client error: %s %s" % (type(e).__name__, e)
        self.finish(name, why)

    def zero_ids_ok(self):
        name = "NOTIFY with stream-id 0 and frame-id 0 (HAProxy 2.6 style) -> ACK 0/0"
        why = ""
        p = None
        try:
            p = Peer(self.addr)
            p.hello()
            if p.notify(cert_args(self.allowed), sid=0, fid=0).get("verdict") != "allow":
                why = "no allow"
        except Exception as e:          # noqa: BLE001
            why = "client error: %s %s" % (type(e).__name__, e)
        finally:
            if p:
                p.close()
        self.finish(name, why)

    def small_frames_ok(self):
        name = "max-frame-size 256 (the minimum): every ACK fits in 256 bytes and carries the verdict"
        why = ""
        p = None
        try:
            p = Peer(self.addr)
            h = p.hello(max_frame=256)
            if h.get("max-frame-size") != 256:
                why = "AGENT-HELLO max-frame-size %r" % h.get("max-frame-size")
            cases = [message([("present", typed(T_BOOL, False))]),
                     message([("present", typed(T_BOOL, True)), ("verify", typed(T_INT64, 0)),
                              ("cert", typed(T_BIN, b"\x30\x82" + b"\x01" * 150))]),
                     message([("present", typed(T_BOOL, True)), ("verify", typed(T_STR, "x" * 150))])]
            for i, m in enumerate(cases):
                if why:
                    break
                p.send(frame(NOTIFY, m, sid=1, fid=i + 1))
                f = p.recv_frame()
                size = 1 + 4 + len(varint(f.sid)) + len(varint(f.fid)) + len(f.payload)
                acts = f.actions()
                if f.type != ACK or size > 256 or acts.get("verdict") != "deny":
                    why = "case %d: %r, %d bytes, %r" % (i, f, size, acts)
        except Exception as e:          # noqa: BLE001
            why = "client error: %s %s" % (type(e).__name__, e)
        finally:
            if p:
                p.close()
        self.finish(name, why)

    def buffered_frames_ok(self):
        """Frames that are already in the agent's socket buffer when it
        wakes up must all be answered. The agent is frozen (SIGSTOP), each
        of 161 connections gets a different number of pipelined NOTIFY
        frames (240 to 400), the agent is thawed (SIGCONT), and every
        connection must get all its ACKs. (The agent reads up to 8 x 16 KiB
        per wake-up and stops answering while its 64 KiB send buffer is
        full; which counts end exactly there depends on the sizes of the
        frames, and recurs about every 140 frames, hence a range that wide.)"""
        counts = list(range(240, 401))
        name = ("%d connections, %d-%d NOTIFY each, already buffered when the agent wakes:"
                " every one answered" % (len(counts), counts[0], counts[-1]))
        why = ""
        peers = []
        stopped = False
        try:
            if not self.pid:
                raise ValueError("needs --pid")
            for n in counts:
                p = Peer(self.addr, timeout=5)
                p.hello()
                peers.append(p)
            os.kill(self.pid, signal.SIGSTOP)
            stopped = True
            msg = message(cert_args(self.allowed))
            for p, n in zip(peers, counts):
                p.sock.sendall(b"".join(frame(NOTIFY, msg, sid=2 * i + 1, fid=1) for i in range(n)))
            os.kill(self.pid, signal.SIGCONT)
            stopped = False
            # read every connection at once until all are complete or
            # nothing has come for 3 s
            want = dict(zip(peers, counts))
            got = dict.fromkeys(peers, 0)
            for p in peers:
                p.sock.setblocking(False)
            last = time.monotonic()
            while time.monotonic() - last < 3 and any(got[p] < want[p] for p in peers):
                live = [p for p in peers if got[p] < want[p]]
                r, _, _ = select.select(live, [], [], 0.2)
                for p in r:
                    try:
                        d = p.sock.recv(1 << 20)
                    except (BlockingIOError, InterruptedError):
                        continue
                    if not d:
                        raise ValueError("connection with %d NOTIFY closed" % want[p])
                    p.buf += d
                    last = time.monotonic()
                    while len(p.buf) >= 4 and len(p.buf) >= 4 + struct.unpack(">I", p.buf[:4])[0]:
                        k = struct.unpack(">I", p.buf[:4])[0]
                        f = Frame(p.buf[4:4 + k])
                        p.buf = p.buf[4 + k:]
                        if f.type != ACK or f.sid != 2 * got[p] + 1:
                            raise ValueError("ACK %d of %d: got %r" % (got[p], want[p], f))
                        got[p] += 1
            short = ["%d/%d" % (got[p], want[p]) for p in peers if got[p] < want[p]]
            if short:
                why = ("%d connections stalled (ACKs received/NOTIFY sent, then 3 s of silence"
                       " while the peer reads): %s" % (len(short), " ".join(short)))
        except Exception as e:          # noqa: BLE001
            why = "client error: %s %s" % (type(e).__name__, e)
        finally:
            if stopped:
                os.kill(self.pid, signal.SIGCONT)
            for p in peers:
                p.close()
        self.finish(name, why)

    def healthcheck_ok(self):
        name = "health-check HELLO -> AGENT-HELLO, then the agent closes"
        why = ""
        p = None
        try:
            p = Peer(self.addr)
            p.send(frame(HAPROXY_HELLO, hello_payload(caps="", healthcheck=True, engine=None)))
            frames, how = p.until_closed(5)
            if not frames or frames[0].type != AGENT_HELLO:
                why = "frames %r" % frames
            elif how == "open":
                why = "not closed after the health check"
        except Exception as e:          # noqa: BLE001
            why = "client error: %s %s" % (type(e).__name__, e)
        finally:
            if p:
                p.close()
        self.finish(name, why)

    def pipelined_ok(self):
        name = "20 pipelined NOTIFY in one write, huge ids -> 20 ACKs with their own ids and verdicts"
        why = ""
        p = None
        try:
            p = Peer(self.addr)
            p.hello()
            want = {}
            data = b""
            for i in range(20):
                sid = (1 << 64) - 1 - 2 * i
                fid = (1 << 63) + i
                der = self.allowed if i % 2 == 0 else self.notlisted
                want[(sid, fid)] = "allow" if i % 2 == 0 else "deny"
                data += frame(NOTIFY, message(cert_args(der)), sid=sid, fid=fid)
            p.send(data)
            got = {}
            for _ in range(20):
                f = p.recv_frame()
                if f.type != ACK:
                    why = "got %r" % f
                    break
                got[(f.sid, f.fid)] = f.actions().get("verdict")
            if not why and got != want:
                why = "verdicts by ids differ: %d matching of 20" % sum(
                    1 for k in want if got.get(k) == want[k])
        except Exception as e:          # noqa: BLE001
            why = "client error: %s %s" % (type(e).__name__, e)
        finally:
            if p:
                p.close()
        self.finish(name, why)


def cmd_abuse(a):
    Abuse(a).run()


# ------------------------------------------------------------------ slow

def cmd_slow(a):
    """Dribblers (HELLO one byte at a time), silent peers, and peers idle
    after HELLO; all must be closed by the agent's timeouts with status 2.
    Plus READY dribblers: a NOTIFY one byte at a time must still be answered."""
    hello = frame(HAPROXY_HELLO, hello_payload())
    base_rss = rss_kb(a.pid)
    base_fds = fd_count(a.pid)
    groups = {"dribble": [], "silent": [], "idle": [], "ready-dribble": []}
    t0 = time.monotonic()
    for _ in range(a.dribblers):
        groups["dribble"].append(Peer(a.addr))
    for _ in range(a.silent):
        groups["silent"].append(Peer(a.addr))
    for _ in range(a.idle):
        p = Peer(a.addr)
        p.hello()
        groups["idle"].append(p)
    # no certificate (about 100 bytes): longer to dribble than idle_timeout
    ready_msg = frame(NOTIFY, message(cert_args(None, present=False)), sid=1, fid=1)
    for _ in range(a.ready_dribblers):
        p = Peer(a.addr)
        p.hello()
        groups["ready-dribble"].append(p)
    opened = time.monotonic() - t0
    note("opened %d dribblers, %d silent, %d idle after HELLO, %d NOTIFY dribblers in %.1f s"
         % (a.dribblers, a.silent, a.idle, a.ready_dribblers, opened))
    for g in groups.values():
        for p in g:
            p.sock.setblocking(False)

    pos = {}           # peer -> bytes of its stream sent
    ended = {}         # peer -> (time, frames, how)
    frames = {}
    peak_rss = rss_kb(a.pid)
    peak_fds = fd_count(a.pid)
    deadline = t0 + a.duration
    stream_of = {}
    for p in groups["dribble"]:
        stream_of[p] = hello
    for p in groups["ready-dribble"]:
        stream_of[p] = ready_msg
    acked = set()
    while time.monotonic() < deadline:
        # one byte to every dribbler still open
        for p, data in stream_of.items():
            if p in ended:
                continue
            i = pos.get(p, 0)
            if i < len(data):
                try:
                    p.sock.send(data[i:i + 1])
                    pos[p] = i + 1
                except (BlockingIOError, InterruptedError):
                    pass
                except OSError:
                    pos[p] = len(data)      # closed by the agent: read its last words
        # collect what the agent said
        live = [p for g in groups.values() for p in g if p not in ended]
        if not live:
            break
        r, _, _ = select.select(live, [], [], a.interval)
        for p in r:
            try:
                d = p.sock.recv(65536)
            except (BlockingIOError, InterruptedError):
                continue
            except ConnectionResetError:
                d = None
            if d:
                p.buf += d
                while len(p.buf) >= 4 and len(p.buf) >= 4 + struct.unpack(">I", p.buf[:4])[0]:
                    n = struct.unpack(">I", p.buf[:4])[0]
                    f = Frame(p.buf[4:4 + n])
                    p.buf = p.buf[4 + n:]
                    frames.setdefault(p, []).append(f)
                    if f.type == ACK:
                        acked.add(p)
                continue
            ended[p] = (time.monotonic() - t0, frames.get(p, []), "eof" if d == b"" else "reset")
        peak_rss = max(peak_rss, rss_kb(a.pid))
        peak_fds = max(peak_fds, fd_count(a.pid))
        if not alive(a.pid):
            break
        # the READY dribblers are done once answered: close them
        for p in groups["ready-dribble"]:
            if p in acked and p not in ended:
                ended[p] = (time.monotonic() - t0, frames.get(p, []), "answered")

    end_rss = rss_kb(a.pid)
    value("rss_before_kb", base_rss)
    value("rss_peak_kb", peak_rss)
    value("rss_after_kb", end_rss)
    value("fds_before", base_fds)
    value("fds_peak", peak_fds)
    value("fds_after", fd_count(a.pid))

    def summarize(gname, want_status):
        g = groups[gname]
        closed = [p for p in g if p in ended and ended[p][2] in ("eof", "reset")]
        with_status = [p for p in closed
                       if any(f.type == AGENT_DISCON and f.kvlist().get("status-code") == want_status
                              for f in ended[p][1])]
        times = sorted(ended[p][0] for p in closed)
        span = ("closed between %.1f and %.1f s" % (times[0], times[-1])) if times else "none closed"
        return len(g), len(closed), len(with_status), span

    for gname, what in (("dribble", "HELLO dribbled a byte at a time"),
                        ("silent", "connected, never said a word"),
                        ("idle", "HELLO, then silent")):
        n, closed, st2, span = summarize(gname, 2)
        if n == 0:
            continue
        note("%s (%s): %d of %d closed, %d with DISCONNECT status 2, %s"
             % (gname, what, closed, n, st2, span))
        check("%d peers %s: all closed by the agent with DISCONNECT 2 (timeout)" % (n, what),
              closed == n and st2 == n, "%d closed, %d with status 2, of %d; %s" % (closed, st2, n, span))
    n = len(groups["ready-dribble"])
    if n:
        took = sorted(ended[p][0] for p in groups["ready-dribble"] if p in acked)
        if took:
            note("NOTIFY dribblers answered after %.1f to %.1f s: each byte counts as activity,"
                 " so idle_timeout does not cut a slow but moving peer" % (took[0], took[-1]))
        check("%d peers dribbling a NOTIFY a byte at a time: every one answered (ACK)" % n,
              len([p for p in groups["ready-dribble"] if p in acked]) == n,
              "%d answered of %d" % (len([p for p in groups["ready-dribble"] if p in acked]), n))
    check("agent process alive after the slow peers", alive(a.pid), "pid gone")
    for g in groups.values():
        for p in g:
            p.close()


# ------------------------------------------------------------------ flood

def settle(peers, wait):
    """Wait up to `wait` s; return (closed, open) lists. A peer is closed
    when a read returns EOF or a reset."""
    deadline = time.monotonic() + wait
    closed = set()
    while time.monotonic() < deadline:
        live = [p for p in peers if p not in closed]
        if not live:
            break
        r, _, _ = select.select(live, [], [], 0.1)
        for p in r:
            try:
                d = p.sock.recv(65536)
            except (BlockingIOError, InterruptedError):
                continue
            except OSError:
                d = b""
            if d:
                p.buf += d
            else:
                closed.add(p)
    return [p for p in peers if p in closed], [p for p in peers if p not in closed]


def connect_many(addr, n):
    peers, failed = [], 0
    for _ in range(n):
        try:
            p = Peer(addr, timeout=3)
            p.sock.setblocking(False)
            peers.append(p)
        except OSError:
            failed += 1
    return peers, failed


def fresh_client_works(addr, der, tries=30):
    """A new, well-behaved client: HELLO + NOTIFY answered (retried for up
    to `tries` x 0.1 s while the agent releases closed connections)."""
    last = ""
    for _ in range(tries):
        p = None
        try:
            p = Peer(addr, timeout=2)
            p.hello()
            acts = p.notify(cert_args(der))
            if acts.get("verdict") == "allow":
                return True, ""
            last = "verdict %r" % acts
        except Exception as e:          # noqa: BLE001
            last = "%s %s" % (type(e).__name__, e)
        finally:
            if p:
                p.close()
        time.sleep(0.1)
    return False, last


def cmd_flood(a):
    der = read_der(a.allowed_der)
    total = a.max_connections + a.extra
    peers, failed = connect_many(a.addr, total)
    closed, held = settle(peers, 2.0)
    value("flood_connected", len(peers))
    value("flood_refused", len(closed))
    value("flood_held", len(held))
    note("%d connections at once against max_connections %d: %d held, %d closed by the agent, %d connect() failures"
         % (total, a.max_connections, len(held), len(closed), failed))
    check("flood: no connect() hangs or failures (%d)" % total, failed == 0, "%d failed" % failed)
    slack = a.threads - 1
    check("flood: the agent holds max_connections (%d) and no more than %d"
          % (a.max_connections, a.max_connections + slack),
          a.max_connections <= len(held) <= a.max_connections + slack, "held %d" % len(held))
    check("flood: every connection beyond the limit is closed at once (within 2 s), none hangs",
          len(closed) + len(held) == len(peers) and len(closed) >= total - a.max_connections - slack,
          "closed %d, held %d" % (len(closed), len(held)))
    # the held ones are real, working connections
    bad = 0
    for i, p in enumerate(held):
        try:
            p.sock.setblocking(True)
            p.sock.settimeout(5)
            p.hello()
            if p.notify(cert_args(der), sid=1, fid=i + 1).get("verdict") != "allow":
                bad += 1
        except Exception:               # noqa: BLE001
            bad += 1
    check("flood: each held connection completes HELLO and gets a verdict", bad == 0,
          "%d of %d failed" % (bad, len(held)))
    # one more while full: refused, not hung
    extra, _ = connect_many(a.addr, 1)
    c2, h2 = settle(extra, 3.0)
    check("flood: one more connection while full -> closed within 3 s", len(c2) == 1 and not h2,
          "still open")
    for p in peers + extra:
        p.close()
    ok, why = fresh_client_works(a.addr, der)
    check("flood: after the flood a new client gets a verdict again", ok, why)
    check("flood: agent process alive", alive(a.pid), "pid gone")


def cmd_fdex(a):
    """More connections than the agent has file descriptors: each either
    works or is closed; none hangs."""
    der = read_der(a.allowed_der)
    fds_before = fd_count(a.pid)
    peers, failed = connect_many(a.addr, a.count)
    # every peer sends a HELLO; it must get AGENT-HELLO or be closed
    hello = frame(HAPROXY_HELLO, hello_payload())
    for p in peers:
        try:
            p.sock.send(hello)
        except OSError:
            pass
    deadline = time.monotonic() + a.wait
    state = {}
    while time.monotonic() < deadline and len(state) < len(peers):
        live = [p for p in peers if p not in state]
        r, _, _ = select.select(live, [], [], 0.1)
        for p in r:
            try:
                d = p.sock.recv(65536)
            except (BlockingIOError, InterruptedError):
                continue
            except OSError:
                d = b""
            if not d:
                state[p] = "closed"
                continue
            p.buf += d
            if len(p.buf) >= 5 and p.buf[4] == AGENT_HELLO:
                state[p] = "served"
    served = sum(1 for v in state.values() if v == "served")
    refused = sum(1 for v in state.values() if v == "closed")
    hung = len(peers) - served - refused
    fds_peak = fd_count(a.pid)
    value("fdex_served", served)
    value("fdex_refused", refused)
    value("fdex_hung", hung)
    value("fdex_agent_fds", "%d before, %d at the peak" % (fds_before, fds_peak))
    note("%d connections against an agent with %d fds: %d served, %d closed by the agent, %d neither after %.0f s, %d connect() failures"
         % (a.count, a.nofile, served, refused, hung, a.wait, failed))
    check("fd exhaustion: some connections served (%d)" % served, served > 0, "none served")
    check("fd exhaustion: connections beyond the fd limit are closed (%d), not left hanging" % refused,
          refused > 0 and hung == 0, "%d refused, %d hung (no AGENT-HELLO, not closed after %.0f s)"
          % (refused, hung, a.wait))
    cpu0 = proc_cpu(a.pid)
    time.sleep(1.0)
    cpu1 = proc_cpu(a.pid)
    value("fdex_agent_cpu_while_full", "%.2f s of CPU in 1 s" % ((cpu1 - cpu0) / os.sysconf("SC_CLK_TCK")))
    check("fd exhaustion: the agent does not spin while out of fds (CPU %.2f s in 1 s)"
          % ((cpu1 - cpu0) / os.sysconf("SC_CLK_TCK")),
          (cpu1 - cpu0) / os.sysconf("SC_CLK_TCK") < 0.5, "busy loop")
    for p in peers:
        p.close()
    ok, why = fresh_client_works(a.addr, der)
    check("fd exhaustion: afterwards a new client gets a verdict again", ok, why)
    check("fd exhaustion: agent process alive", alive(a.pid), "pid gone")


def proc_cpu(pid):
    try:
        with open("/proc/%d/stat" % pid) as fh:
            f = fh.read().rsplit(")", 1)[1].split()
        return int(f[11]) + int(f[12])
    except OSError:
        return 0


# ------------------------------------------------------------------ drive

def cmd_drive(a):
    """Pipelined NOTIFY traffic on a few connections for a.duration seconds:
    real certificates (cached decisions) and unique random 'certificates'
    (cache misses, OpenSSL parse errors). Prints RSS at start (after a
    warm-up), middle and end."""
    ders = [read_der(x) for x in a.ders]
    rnd = random.Random(60)
    conns = []
    for _ in range(a.conns):
        p = Peer(a.addr)
        p.hello()
        conns.append(p)
    t0 = time.monotonic()
    warm = t0 + a.warmup
    mid = t0 + a.warmup + (a.duration - a.warmup) / 2
    end = t0 + a.duration
    samples = {}
    sent = answered = allows = denies = 0
    batch = 20
    fid = 0
    while True:
        now = time.monotonic()
        if "start" not in samples and now >= warm:
            samples["start"] = (rss_kb(a.pid), answered)
        if "middle" not in samples and now >= mid:
            samples["middle"] = (rss_kb(a.pid), answered)
        if now >= end:
            break
        for p in conns:
            data = []
            for i in range(batch):
                fid += 1
                if fid % 4 == 0:
                    der = bytes([0x30, 0x82, 0x01, 0x2c]) + rnd.randbytes(300)
                else:
                    der = ders[fid % len(ders)]
                data.append(frame(NOTIFY, message(cert_args(der, verify=fid % 3 and 0)),
                                  sid=fid, fid=fid))
            p.send(b"".join(data))
            sent += batch
        for p in conns:
            for i in range(batch):
                f = p.recv_frame(10)
                if f.type != ACK:
                    raise ValueError("got %r" % f)
                v = f.actions().get("verdict")
                answered += 1
                if v == "allow":
                    allows += 1
                else:
                    denies += 1
        if not alive(a.pid):
            break
    samples["end"] = (rss_kb(a.pid), answered)
    el = time.monotonic() - t0
    for p in conns:
        p.close()
    value("drive_sent", sent)
    value("drive_answered", answered)
    value("drive_allow", allows)
    value("drive_deny", denies)
    value("drive_seconds", "%.1f" % el)
    value("drive_rate", "%.0f" % (answered / el if el else 0))
    for k in ("start", "middle", "end"):
        value("rss_%s_kb" % k, samples.get(k, (-1, 0))[0])
        value("msgs_at_%s" % k, samples.get(k, (-1, 0))[1])


def cmd_probe(a):
    ok, why = fresh_client_works(a.addr, read_der(a.allowed_der), tries=a.tries)
    if not ok:
        print(why, file=sys.stderr)
    sys.exit(0 if ok else 1)


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--addr", required=True, help="HOST:PORT or unix@/path")
    ap.add_argument("--pid", type=int, default=0, help="the agent's pid (liveness, RSS)")
    ap.add_argument("--allowed-der", help="DER of a certificate the agent allows")
    sub = ap.add_subparsers(dest="cmd", required=True)

    p = sub.add_parser("abuse")
    p.add_argument("--notlisted-der", required=True)
    p.add_argument("--max-frame", type=int, default=16380)
    p.add_argument("--max-message-size", type=int, default=262144)
    p.add_argument("--hello-timeout", type=float, default=5.0)
    p.set_defaults(fn=cmd_abuse)

    p = sub.add_parser("slow")
    p.add_argument("--dribblers", type=int, default=200)
    p.add_argument("--silent", type=int, default=200)
    p.add_argument("--idle", type=int, default=50)
    p.add_argument("--ready-dribblers", type=int, default=20)
    p.add_argument("--duration", type=float, default=15.0)
    p.add_argument("--interval", type=float, default=0.05)
    p.set_defaults(fn=cmd_slow)

    p = sub.add_parser("flood")
    p.add_argument("--max-connections", type=int, required=True)
    p.add_argument("--extra", type=int, default=30)
    p.add_argument("--threads", type=int, default=2)
    p.set_defaults(fn=cmd_flood)

    p = sub.add_parser("fdex")
    p.add_argument("--count", type=int, default=150)
    p.add_argument("--nofile", type=int, default=64)
    p.add_argument("--wait", type=float, default=5.0)
    p.set_defaults(fn=cmd_fdex)

    p = sub.add_parser("drive")
    p.add_argument("--ders", nargs="+", required=True)
    p.add_argument("--duration", type=float, default=60.0)
    p.add_argument("--warmup", type=float, default=5.0)
    p.add_argument("--conns", type=int, default=4)
    p.set_defaults(fn=cmd_drive)

    p = sub.add_parser("probe")
    p.add_argument("--tries", type=int, default=30)
    p.set_defaults(fn=cmd_probe)

    a = ap.parse_args()
    a.fn(a)
    out("END", a.cmd)       # the caller counts a missing END as a failure
    sys.exit(0)


if __name__ == "__main__":
    main()
