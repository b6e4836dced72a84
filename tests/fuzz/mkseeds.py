#!/usr/bin/env python3
"""Write the hand-made seed corpora of tests/fuzz/corpus/<target>/.

    tests/fuzz/mkseeds.py [--openssl]

Seeds come from the golden frames of tests/frames/ (captured from a real
HAProxy 2.6), taken apart and put together again as each target reads its
input (see the comment at the top of each tests/fuzz/fuzz_*.c). Files are
named seed-*; inputs that fuzzing found are named by libFuzzer (a SHA-1) or
crash-*/regress-* and are left alone. With --openssl, a few extra
certificates (RSA, odd names, long serial) are made with the openssl command
for the cert and handler seeds; their keys are thrown away.
"""
import base64
import glob
import os
import re
import subprocess
import sys
import tempfile

HERE = os.path.dirname(os.path.abspath(__file__))
FRAMES = os.path.join(HERE, "..", "frames")
CORPUS = os.path.join(HERE, "corpus")
# The SPOP codec is tests/lib/spopcodec.py, shared by every test that speaks SPOP.
sys.path.insert(0, os.path.join(HERE, "..", "lib"))
import spopcodec  # noqa: E402
from spopcodec import (  # noqa: E402
    T_BIN, T_BOOL, T_INT64, T_NULL, T_STR, T_UINT32, frame, get_varint, kv,
    sstr, typed, varint)


def read_hex(name):
    text = open(os.path.join(FRAMES, name + ".hex")).read()
    text = re.sub(r"#[^\n]*", "", text)
    return bytes.fromhex("".join(text.split()))


def payload_of(fr):
    """Payload of a whole frame (length prefix included)."""
    return fr[4 + spopcodec.frame_header(fr[4:])[4]:]


# typed data
NULL = typed(T_NULL)
TRUE = typed(T_BOOL, True)
FALSE = typed(T_BOOL, False)


def i64(v):
    return typed(T_INT64, v)


def u32(v):
    return typed(T_UINT32, v)


def s(v):
    return typed(T_STR, v)


def binary(v):
    return typed(T_BIN, v)


def message(name, args):
    return sstr(name) + bytes([len(args)]) + b"".join(kv(n, d) for n, d in args)


def hello(mfs=16380, caps="pipelining,async", extra=b"", versions="2.0"):
    return frame(1, kv("supported-versions", s(versions)) +
                 kv("max-frame-size", u32(mfs)) +
                 kv("capabilities", s(caps)) + extra)


def der(tag, body):
    n = len(body)
    if n < 128:
        ln = bytes([n])
    else:
        b = n.to_bytes((n.bit_length() + 7) // 8, "big")
        ln = bytes([0x80 | len(b)]) + b
    return bytes([tag]) + ln + body


def crl_pem():
    """A CRL of "CN=Fuzz CA one" revoking serial 0x1234, with a dummy
    signature: loading a CRL file does not check signatures."""
    seq = lambda *a: der(0x30, b"".join(a))
    ecdsa_sha256 = seq(der(0x06, bytes.fromhex("2a8648ce3d040302")))
    name = seq(der(0x31, seq(der(0x06, b"\x55\x04\x03"), der(0x0C, b"Fuzz CA one"))))
    t1, t2 = der(0x17, b"270115080000Z"), der(0x17, b"270122080000Z")
    revoked = seq(seq(der(0x02, b"\x12\x34"), t1))
    tbs = seq(der(0x02, b"\x01"), ecdsa_sha256, name, t1, t2, revoked)
    body = seq(tbs, ecdsa_sha256, der(0x03, b"\x00" + seq(der(0x02, b"\x01"), der(0x02, b"\x01"))))
    return (b"-----BEGIN X509 CRL-----\n" + base64.encodebytes(body) +
            b"-----END X509 CRL-----\n")


def write(target, name, data):
    d = os.path.join(CORPUS, target)
    os.makedirs(d, exist_ok=True)
    with open(os.path.join(d, "seed-" + name), "wb") as f:
        f.write(data)


def openssl_certs():
    """DER of a few unusual certificates, made with the openssl command."""
    out = {}
    with tempfile.TemporaryDirectory() as t:
        def run(*args):
            subprocess.run(args, cwd=t, check=True, capture_output=True)

        run("openssl", "req", "-x509", "-newkey", "rsa:2048", "-nodes", "-keyout", "k1",
            "-subj", '/CN=quote " and, comma/O=Ex\\+ample/OU=ctl',
            "-set_serial", "0x" + "7f" * 33, "-days", "2", "-outform", "DER", "-out", "rsa.der",
            "-addext", "extendedKeyUsage=clientAuth",
            "-addext", "subjectAltName=DNS:a.test,URI:spiffe://t/x,IP:10.0.0.1,email:a@b")
        run("openssl", "req", "-x509", "-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:P-384",
            "-nodes", "-keyout", "k2", "-subj", "/CN=caf\u00e9/serialNumber=-1",
            "-utf8", "-set_serial", "-5", "-days", "2", "-outform", "DER", "-out", "neg.der",
            "-addext", "certificatePolicies=1.2.3.4",
            "-addext", "nameConstraints=permitted;DNS:.test")
        for n in ("rsa", "neg"):
            out[n] = open(os.path.join(t, n + ".der"), "rb").read()
    return out


def main():
    use_openssl = "--openssl" in sys.argv[1:]
    golden = {os.path.basename(p)[:-4]: read_hex(os.path.basename(p)[:-4])
              for p in glob.glob(os.path.join(FRAMES, "*.hex"))}
    h26 = golden["haproxy26-hello"]
    hc26 = golden["haproxy26-hello-healthcheck"]
    n_cert = golden["haproxy26-notify-tls-cert"]
    n_nocert = golden["haproxy26-notify-tls-nocert"]
    n_plain = golden["haproxy26-notify-plain"]
    d26 = golden["haproxy26-disconnect"]
    # the captured client certificate, from the 'cert' argument
    p = payload_of(n_cert)
    ln, i = get_varint(p, p.index(b"\x04cert\x09") + 6)
    capture_der = p[i:i + ln]
    assert capture_der[0] == 0x30 and len(capture_der) == 654, len(capture_der)
    extra = openssl_certs() if use_openssl else {}

    # --- spop: frames as HAProxy sends them ---
    for name, fr in golden.items():
        write("spop", "golden-" + name, fr)
    write("spop", "stream-26", h26 + n_cert + n_plain + d26)
    write("spop", "hello-31", hello(caps="pipelining", extra=kv("engine-id", s("x" * 36))))
    write("spop", "hello-badversion", hello(versions=" 1.0 ,  3 ,2.x,"))
    write("spop", "hello-int64-mfs", frame(1, kv("supported-versions", s("2.0")) +
                                           kv("max-frame-size", i64(-1)) + kv("capabilities", s(""))))
    write("spop", "notify-types", frame(3, message("m", [
        ("i32", b"\x02" + varint(0xFFFFFFFF80000000)), ("u64", b"\x05\xff" + b"\xff" * 8 + b"\x0e"),
        ("t", b"\x31"), ("b", binary(b"\x00" * 300)), ("", NULL)]), sid=2**33, fid=300))
    write("spop", "fragments", frame(3, message("check-client-cert", [])[:10], flags=0, sid=1, fid=1) +
          frame(0, message("check-client-cert", [])[10:], flags=1, sid=1, fid=1))

    # --- handler: settings byte + NOTIFY payload ---
    good = [("present", TRUE), ("verify", i64(0)),
            ("cert", b"\x09{{LEAF}}"), ("chain", b"\x09{{CHAIN}}")]
    write("handler", "capture-cert", b"\x00" + payload_of(n_cert))
    write("handler", "capture-cert-haproxy", b"\x40" + payload_of(n_cert))
    write("handler", "capture-nocert", b"\x00" + payload_of(n_nocert))
    write("handler", "capture-plain-optional", b"\x80" + payload_of(n_plain))
    write("handler", "leaf-allow-agent", b"\x00" + message("check-client-cert", good))
    write("handler", "leaf-allow-both-small", b"\x21" + message("check-client-cert", good))
    write("handler", "leaf-haproxy", b"\x40" + message("check-client-cert", good[:3]))
    write("handler", "leaf-no-chain", b"\x00" + message("check-client-cert", good[:3]))
    write("handler", "leaf-chain-root", b"\x00" + message("check-client-cert", good[:3] + [
        ("chain", b"\x09{{CHAINROOT}}")]))
    for tok in ("EXPIRED", "SERVERAUTH", "OTHER"):
        write("handler", "leaf-" + tok.lower(), b"\x00" + message("check-client-cert", [
            ("verify", i64(0)), ("cert", b"\x09{{%s}}" % tok.encode()), ("chain", b"\x09{{CHAIN}}")]))
    for flags, name in ((0x00, "leaf-revoked-nocrl"), (0x60, "leaf-revoked-crl")):
        write("handler", name, bytes([flags]) + message("check-client-cert", [
            ("cert", b"\x09{{REVOKED}}"), ("chain", b"\x09{{CHAIN}}")]))
    write("handler", "leaf-allow-crl", b"\x60" + message("check-client-cert", good))
    write("handler", "leaf-frontend-trace", b"\x00" + message("check-client-cert", good + [
        ("frontend", s("fe_tls")), ("trace", s("t-1")), ("sni", s("a.test")), ("host", s("a.test"))]))
    write("handler", "leaf-fwd-untrusted", b"\x00" + message("check-client-cert", good + [
        ("src", b"\x06\x7f\x00\x00\x01"), ("fwd_cert", s(":MIIB:"))]))
    write("handler", "leaf-rogue", b"\x20" + message("check-client-cert", [
        ("verify", i64(0)), ("cert", b"\x09{{ROGUE}}"), ("chain", b"\x09{{ROGUECHAIN}}")]))
    write("handler", "wrong-types", b"\x00" + message("check-client-cert", [
        ("verify", s("0")), ("cert", b"\x09{{LEAF}}"), ("chain", b"\x09{{CHAIN}}"),
        ("src", s("127.0.0.1"))]))
    write("handler", "null-cert-after-leaf", b"\x00" + message("check-client-cert", [
        ("cert", b"\x09{{LEAF}}"), ("cert", NULL), ("chain", b"\x09{{CHAIN}}")]))
    write("handler", "two-messages", b"\x05" + message("other", [("a", i64(1))]) +
          message("check-client-cert", good) +
          message("check-client-cert", [("cert", binary(b""))]))
    write("handler", "unknown-only", b"\x00" + message("something-else", [("x", NULL)]))
    write("handler", "empty", b"\x00")
    for n, der in extra.items():
        write("handler", "openssl-" + n, b"\x40" + message("check-client-cert", [
            ("verify", i64(0)), ("cert", binary(der))]))

    # --- conn: 3 settings bytes + the stream ---
    write("conn", "session-26", b"\x00\x00\x00" + h26 + n_cert + n_nocert + n_plain + d26)
    write("conn", "session-bytewise-eof", b"\x08\x01\x00" + h26 + n_cert + d26)
    write("conn", "session-chunks-lazy", b"\x48\x40\x07" + h26 + n_plain * 8)
    write("conn", "session-smallbuf", b"\x80\xf0\x11" + h26 + n_cert * 16)
    write("conn", "healthcheck", b"\x08\x00\x00" + hc26)
    write("conn", "notify-before-hello", b"\x00\x00\x00" + n_plain)
    write("conn", "hello-small-frames", b"\x01\x00\x00" + hello(mfs=256) + n_plain + n_cert)
    write("conn", "too-big", b"\x00\x00\x00" + h26 + b"\x7f\xff\xff\xff\x03")
    notify_body = payload_of(n_cert)
    cut = [notify_body[:300], notify_body[300:600], notify_body[600:]]
    write("conn", "fragmented", b"\x08\x00\x00" + h26 +
          frame(3, cut[0], flags=0, sid=2, fid=1) + frame(0, cut[1], flags=0, sid=2, fid=1) +
          frame(0, cut[2], flags=1, sid=2, fid=1) + n_plain)
    write("conn", "fragment-abort", b"\x00\x00\x00" + h26 +
          frame(3, cut[0], flags=0, sid=2, fid=1) + frame(0, b"", flags=3, sid=2, fid=1) + n_plain)
    write("conn", "fragment-nofrag", b"\x04\x00\x00" + h26 + frame(3, cut[0], flags=0, sid=2, fid=1))
    write("conn", "fragment-too-big", b"\x10\x00\x00" + h26 +
          frame(3, cut[0], flags=0, sid=2, fid=1) + frame(0, cut[1], flags=1, sid=2, fid=1))
    write("conn", "fragment-interlaced", b"\x00\x00\x00" + h26 +
          frame(3, cut[0], flags=0, sid=2, fid=1) + n_plain)
    write("conn", "burst-26", b"\x00\xff\x02" + h26 + n_plain + n_nocert)
    write("conn", "stop-26", b"\x00\xfe\x00" + h26 + n_plain * 5 + n_cert * 3)
    write("conn", "pipelined-31", b"\x00\x03\x09" + hello(caps="pipelining") +
          b"".join(frame(3, payload_of(n_nocert), sid=2 * k + 1, fid=1) for k in range(20)))

    # --- httpd: 2 settings bytes (idle clients | EOF, write size) + request ---
    write("httpd", "get", b"\x00\x00GET /metrics HTTP/1.1\r\nHost: localhost\r\n\r\n")
    write("httpd", "head-query", b"\x00\x00HEAD /stats.json?x=1 HTTP/1.0\n\n")
    write("httpd", "notfound-bytewise", b"\x00\x01GET /nf HTTP/1.1\r\n\r\n")
    write("httpd", "post", b"\x00\x00POST / HTTP/1.1\r\nContent-Length: 0\r\n\r\n")
    write("httpd", "bad-version", b"\x00\x00GET / HTTP/2\r\n\r\n")
    write("httpd", "nul-in-line", b"\x00\x00GET /\x00x HTTP/1.1\r\n\r\n")
    write("httpd", "partial-eof", b"\x80\x00GET / HTTP/1.1\r\nHost: x\r\n")
    write("httpd", "too-large", b"\x00\x00GET /" + b"a" * 8200)
    write("httpd", "many-idle", b"\x46\x07GET / HTTP/1.1\r\n\r\n")

    # --- cfg: config files (placeholders: see fuzz_cfg.c) ---
    write("cfg", "minimal", b"[agent]\n")
    write("cfg", "empty", b"")
    write("cfg", "full",
          b"; every key\n[agent]\nlisten = 127.0.0.1:0\nlisten = [::1]:0\nlisten = unix:/tmp/s.sock\n"
          b"threads = 2\nmax_frame_size = 16380\nfragmentation = no\nmax_message_size = 65536\n"
          b"max_connections = 100\nhello_timeout = 500ms\nidle_timeout = 2m\n"
          b"shutdown_timeout = 1s\ncache_size = 0\nlog_level = debug\nready_file = /tmp/r\n\n"
          b"[policy default]\nrequire_cert = yes\nverify = both\nca_file = {{CA2}}\n"
          b"thumbprints = {{TP}}\ndeny_status = 495\n")
    write("cfg", "two-policies", b"[policy default]\nverify = agent\nca_file = {{CA}}\n"
          b"[policy  strict.v2]\nrequire_cert = true\nthumbprints = {{TP}}\n")
    write("cfg", "no-default", b"[policy a]\n[policy b]\n")
    write("cfg", "errors", b"[agent]\nthreads = 65\n")
    write("cfg", "bad-files", b"[policy default]\nverify = agent\nca_file = {{EMPTY}}\n"
          b"thumbprints = {{DIR}}\n")
    write("cfg", "self-list", b"[policy default]\nthumbprints = {{SELF}}\n")
    write("cfg", "thumbprints",
          b"# list\n" + capture_der[:20].hex().encode() + b"\n" +
          b":".join(b"%02X" % c for c in capture_der[:32]) + b"   # with colons\r\n\n\t \n")
    pem = (b"-----BEGIN CERTIFICATE-----\n" +
           b"\n".join(base64.encodebytes(capture_der).split(b"\n")).strip() +
           b"\n-----END CERTIFICATE-----\n")
    write("cfg", "pem", b"text before\n" + pem + pem.replace(b"CERTIFICATE", b"TRUSTED CERTIFICATE"))
    write("cfg", "crl", b"[policy default]\nverify = agent\nca_file = {{CA}}\n"
          b"crl_file = {{CRL}}\ncrl_check = leaf\ncrl_missing = allow\n")
    write("cfg", "crl-haproxy", b"[policy default]\nca_file = {{CA}}\ncrl_file = {{CRL}}\n")
    write("cfg", "crl-pem", b"[policy default]\nverify = both\nca_file = {{CA}}\n"
          b"crl_file = {{SELF}}\n" + crl_pem() + crl_pem())
    write("cfg", "long-line", b"[agent]\nlisten = " + b"x" * 300 + b"\n")
    write("cfg", "addresses", b"[agent]\nlisten = 127.0.0.1:93345\nlisten = [fe80::1]:65535\n"
          b"listen = unix:/tmp/" + b"a" * 100 + b"\nlisten = 28347\n[stats]\nlisten = h-1.example:0\n"
          b"[policy default]\nverfy = agnet\nallow_cn = , ,\n")

    # --- cert: flags, leaf length (2 bytes), leaf DER, chain ---
    def cert_input(flags, leaf, chain=b""):
        return bytes([flags]) + len(leaf).to_bytes(2, "big") + leaf + chain

    write("cert", "capture", cert_input(0x80, capture_der))
    write("cert", "capture-chain", cert_input(0x80, capture_der, capture_der))
    write("cert", "capture-trailing", cert_input(0x80, capture_der + b"\x00"))
    write("cert", "good-leaf", bytes([0x81, 0, 0]))
    write("cert", "good-leaf-chain", bytes([0x83, 0, 0]))
    write("cert", "good-leaf-chain-junk", bytes([0x85, 0, 0]) + capture_der[:100])
    write("cert", "good-leaf-expired", bytes([0xF3, 0, 0]))
    for n, der in extra.items():
        write("cert", "openssl-" + n, cert_input(0x82, der, der))


if __name__ == "__main__":
    main()
