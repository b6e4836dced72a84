#!/usr/bin/env python3
"""h2req.py - one HTTP/2 request whose header block is exactly what the
test asks for (curl folds a Host header into :authority; an attacker need
not). Standard library only; loopback test use.

    h2req.py --connect 127.0.0.1:PORT --sni NAME --cert C --key K \
        ':method=GET' ':scheme=https' ':authority=a' ':path=/x' 'host=b'

Prints the answer as curl -D would, then the body:
    HTTP/2 STATUS
    name: value
    ...
    <empty line>
    body
Exit 0 when an answer came (whatever its status), 1 otherwise.
"""
import argparse
import socket
import ssl
import struct
import sys

# RFC 7541 Appendix A: the static table (index 1..61)
STATIC = [
    (":authority", ""), (":method", "GET"), (":method", "POST"), (":path", "/"),
    (":path", "/index.html"), (":scheme", "http"), (":scheme", "https"),
    (":status", "200"), (":status", "204"), (":status", "206"), (":status", "304"),
    (":status", "400"), (":status", "404"), (":status", "500"), ("accept-charset", ""),
    ("accept-encoding", "gzip, deflate"), ("accept-language", ""), ("accept-ranges", ""),
    ("accept", ""), ("access-control-allow-origin", ""), ("age", ""), ("allow", ""),
    ("authorization", ""), ("cache-control", ""), ("content-disposition", ""),
    ("content-encoding", ""), ("content-language", ""), ("content-length", ""),
    ("content-location", ""), ("content-range", ""), ("content-type", ""), ("cookie", ""),
    ("date", ""), ("etag", ""), ("expect", ""), ("expires", ""), ("from", ""), ("host", ""),
    ("if-match", ""), ("if-modified-since", ""), ("if-none-match", ""), ("if-range", ""),
    ("if-unmodified-since", ""), ("last-modified", ""), ("link", ""), ("location", ""),
    ("max-forwards", ""), ("proxy-authenticate", ""), ("proxy-authorization", ""),
    ("range", ""), ("referer", ""), ("refresh", ""), ("retry-after", ""), ("server", ""),
    ("set-cookie", ""), ("strict-transport-security", ""), ("transfer-encoding", ""),
    ("user-agent", ""), ("vary", ""), ("via", ""), ("www-authenticate", ""),
]

DATA, HEADERS, RST, SETTINGS, PING, GOAWAY, WINUPD, CONT = 0, 1, 3, 4, 6, 7, 8, 9
END_STREAM, END_HEADERS, PADDED, PRIORITY = 1, 4, 8, 0x20


def enc_int(v, prefix, first=0):
    lim = (1 << prefix) - 1
    if v < lim:
        return bytes([first | v])
    out = [first | lim]
    v -= lim
    while v >= 128:
        out.append((v & 127) | 128)
        v >>= 7
    out.append(v)
    return bytes(out)


def enc_str(s):
    b = s.encode("latin-1")
    return enc_int(len(b), 7) + b


def encode(headers):
    """Every field as 'literal without indexing, new name', no Huffman."""
    return b"".join(b"\x00" + enc_str(n) + enc_str(v) for n, v in headers)


def dec_int(b, i, prefix):
    lim = (1 << prefix) - 1
    v = b[i] & lim
    i += 1
    if v < lim:
        return v, i
    m = 0
    while True:
        c = b[i]
        i += 1
        v += (c & 127) << m
        m += 7
        if not c & 128:
            return v, i


def dec_str(b, i):
    huff = b[i] & 0x80
    n, i = dec_int(b, i, 7)
    s = b[i:i + n]
    return ("<huffman>" if huff else s.decode("latin-1")), i + n


def decode(b, dyn):
    out, i = [], 0

    def entry(k):
        if 1 <= k <= len(STATIC):
            return STATIC[k - 1]
        return dyn[k - len(STATIC) - 1]

    while i < len(b):
        c = b[i]
        if c & 0x80:                      # indexed
            k, i = dec_int(b, i, 7)
            out.append(entry(k))
        elif c & 0xe0 == 0x20:            # table size update
            _, i = dec_int(b, i, 5)
        else:
            prefix, add = (6, True) if c & 0x40 else (4, False)
            k, i = dec_int(b, i, prefix)
            if k:
                name = entry(k)[0]
            else:
                name, i = dec_str(b, i)
            val, i = dec_str(b, i)
            out.append((name, val))
            if add:
                dyn.insert(0, (name, val))
    return out


def frame(ftype, flags, sid, payload=b""):
    return struct.pack(">I", len(payload))[1:] + bytes([ftype, flags]) + struct.pack(">I", sid) + payload


def recv_exact(s, n):
    buf = b""
    while len(buf) < n:
        d = s.recv(n - len(buf))
        if not d:
            raise EOFError
        buf += d
    return buf


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--connect", required=True)
    ap.add_argument("--sni")
    ap.add_argument("--cert")
    ap.add_argument("--key")
    ap.add_argument("--timeout", type=float, default=10)
    ap.add_argument("headers", nargs="+", help="name=value, in order")
    a = ap.parse_args()

    hdrs = []
    for h in a.headers:
        n, _, v = h[1:].partition("=") if h.startswith(":") else h.partition("=")
        hdrs.append((":" + n if h.startswith(":") else n, v))

    ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_CLIENT)
    ctx.check_hostname = False
    ctx.verify_mode = ssl.CERT_NONE
    ctx.set_alpn_protocols(["h2"])
    if a.cert:
        ctx.load_cert_chain(a.cert, a.key)
    host, port = a.connect.rsplit(":", 1)
    raw = socket.create_connection((host, int(port)), timeout=a.timeout)
    s = ctx.wrap_socket(raw, server_hostname=a.sni)
    if s.selected_alpn_protocol() != "h2":
        print("no h2 (ALPN %r)" % s.selected_alpn_protocol(), file=sys.stderr)
        return 1
    s.sendall(b"PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n" + frame(SETTINGS, 0, 0)
              + frame(HEADERS, END_STREAM | END_HEADERS, 1, encode(hdrs)))
    dyn, block, resp, body = [], b"", None, b""
    try:
        while True:
            h = recv_exact(s, 9)
            ln = int.from_bytes(h[:3], "big")
            ftype, flags, sid = h[3], h[4], struct.unpack(">I", h[5:9])[0] & 0x7fffffff
            p = recv_exact(s, ln)
            if ftype == SETTINGS and not flags & 1:
                s.sendall(frame(SETTINGS, 1, 0))
            elif ftype == PING and not flags & 1:
                s.sendall(frame(PING, 1, 0, p))
            elif ftype == GOAWAY:
                break
            elif sid == 1 and ftype in (HEADERS, CONT):
                if ftype == HEADERS:
                    if flags & PADDED:
                        p = p[1:len(p) - p[0]]
                    if flags & PRIORITY:
                        p = p[5:]
                block += p
                if flags & END_HEADERS:
                    fields = decode(block, dyn)
                    block = b""
                    if resp is None:
                        resp = fields
                if flags & END_STREAM:
                    break
            elif sid == 1 and ftype == DATA:
                if flags & PADDED:
                    p = p[1:len(p) - p[0]]
                body += p
                if p:
                    s.sendall(frame(WINUPD, 0, 0, struct.pack(">I", len(p)))
                              + frame(WINUPD, 0, 1, struct.pack(">I", len(p))))
                if flags & END_STREAM:
                    break
            elif sid == 1 and ftype == RST:
                print("stream reset, error %d" % struct.unpack(">I", p)[0], file=sys.stderr)
                break
    except (EOFError, OSError) as e:
        if resp is None:
            print("connection ended: %s" % e, file=sys.stderr)
    if resp is None:
        return 1
    status = dict(resp).get(":status", "")
    out = "HTTP/2 %s\n" % status
    out += "".join("%s: %s\n" % (n, v) for n, v in resp if not n.startswith(":"))
    sys.stdout.write(out + "\n" + body.decode("utf-8", "replace"))
    return 0


if __name__ == "__main__":
    sys.exit(main())
