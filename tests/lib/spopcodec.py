"""The SPOP 2.0 codec of the tests: one copy, imported by every test that
speaks SPOP (tests/fault/spop.py, tests/versions/spop_probe.py and
spop_relay.py, tests/fuzz/mkseeds.py; tests/adversarial/spop_malformed.py
through tests/fault/spop.py).

Encoders return bytes. Decoders take (buffer, index), return (value, index
after it) and raise ValueError on a truncated or malformed input.

    import os, sys
    sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)),
                                    "..", "lib"))
    import spopcodec
"""
import struct

# frame types
UNSET, HAPROXY_HELLO, HAPROXY_DISCON, NOTIFY = 0, 1, 2, 3
AGENT_HELLO, AGENT_DISCON, ACK = 101, 102, 103
FRAME_NAMES = {UNSET: "UNSET", HAPROXY_HELLO: "HAPROXY-HELLO",
               HAPROXY_DISCON: "HAPROXY-DISCONNECT", NOTIFY: "NOTIFY",
               AGENT_HELLO: "AGENT-HELLO", AGENT_DISCON: "AGENT-DISCONNECT",
               ACK: "ACK"}
# frame flags
FIN, ABORT = 1, 2
# typed data
T_NULL, T_BOOL, T_INT32, T_UINT32, T_INT64, T_UINT64 = 0, 1, 2, 3, 4, 5
T_IPV4, T_IPV6, T_STR, T_BIN = 6, 7, 8, 9
TYPE_NAMES = ["null", "bool", "int32", "uint32", "int64", "uint64", "ipv4",
              "ipv6", "string", "binary"]
# ACK actions and variable scopes
ACT_SET_VAR, ACT_UNSET_VAR = 1, 2

VARINT_MAX = 10          # bytes: a 64-bit value never needs more


def varint(v):
    """SPOP ("peers") varint of an unsigned 64-bit value."""
    if v < 240:
        return bytes([v])
    out = bytearray([(v & 0xff) | 0xf0])
    v = (v - 240) >> 4
    while v >= 128:
        out.append((v & 0xff) | 0x80)
        v = (v - 128) >> 7
    out.append(v)
    return bytes(out)


def get_varint(b, i):
    """(value, index after it) of the varint at b[i]."""
    if i >= len(b):
        raise ValueError("varint: end of buffer")
    v = b[i]
    i += 1
    if v < 240:
        return v, i
    shift = 4
    for _ in range(VARINT_MAX - 1):
        if i >= len(b):
            raise ValueError("varint: end of buffer")
        c = b[i]
        i += 1
        v += c << shift
        shift += 7
        if c < 128:
            return v, i
    raise ValueError("varint: too long")


def s(x):
    """bytes of a str (UTF-8) or of bytes."""
    return x.encode() if isinstance(x, str) else x


def sstr(x):
    """<varint length><bytes>"""
    x = s(x)
    return varint(len(x)) + x


def get_sstr(b, i):
    """(bytes, index after them) of the <varint length><bytes> at b[i]."""
    n, i = get_varint(b, i)
    if i + n > len(b):
        raise ValueError("string past end")
    return bytes(b[i:i + n]), i + n


def typed(t, v=None):
    """TYPED-DATA. t is a T_* type; v its value (IPv4/IPv6: the address
    bytes or a list of ints)."""
    if t == T_NULL:
        return b"\x00"
    if t == T_BOOL:
        return b"\x11" if v else b"\x01"
    if t in (T_INT32, T_INT64):
        return bytes([t]) + varint(v & 0xffffffffffffffff)
    if t in (T_UINT32, T_UINT64):
        return bytes([t]) + varint(v)
    if t in (T_IPV4, T_IPV6):
        return bytes([t]) + bytes(v)
    if t in (T_STR, T_BIN):
        return bytes([t]) + sstr(v)
    raise ValueError(t)


def get_data(b, i):
    """(value, index after it) of the TYPED-DATA at b[i]: None, bool, int
    (signed for INT32/INT64), bytes (addresses, BINARY) or str (STRING)."""
    if i >= len(b):
        raise ValueError("typed data: end of buffer")
    t = b[i] & 0x0f
    fl = b[i] >> 4
    i += 1
    if t == T_NULL:
        return None, i
    if t == T_BOOL:
        return bool(fl & 1), i
    if t in (T_INT32, T_INT64):
        v, i = get_varint(b, i)
        return (v - (1 << 64) if v >= 1 << 63 else v), i
    if t in (T_UINT32, T_UINT64):
        return get_varint(b, i)
    if t == T_IPV4:
        return bytes(b[i:i + 4]), i + 4
    if t == T_IPV6:
        return bytes(b[i:i + 16]), i + 16
    if t in (T_STR, T_BIN):
        n, i = get_varint(b, i)
        v = bytes(b[i:i + n])
        return (v.decode(errors="replace") if t == T_STR else v), i + n
    raise ValueError("reserved data type %d" % t)


def kv(name, data):
    """One KV-LIST entry: the name, then already encoded TYPED-DATA."""
    return sstr(name) + data


def set_var(scope, name, data):
    """One SET-VAR action of an ACK: scope number, name, TYPED-DATA."""
    return bytes([ACT_SET_VAR, 3, scope]) + sstr(name) + data


def frame(ftype, payload=b"", flags=FIN, sid=0, fid=0):
    """A whole frame, its 4-byte length first."""
    body = bytes([ftype]) + struct.pack(">I", flags) + varint(sid) + varint(fid) + payload
    return struct.pack(">I", len(body)) + body


def frame_header(raw):
    """(type, flags, sid, fid, index of the payload) of a frame without its
    length prefix."""
    if len(raw) < 7:
        raise ValueError("frame shorter than its header")
    flags = struct.unpack(">I", bytes(raw[1:5]))[0]
    sid, i = get_varint(raw, 5)
    fid, i = get_varint(raw, i)
    return raw[0], flags, sid, fid, i
