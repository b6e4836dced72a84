#!/usr/bin/env python3
"""spop_malformed.py HOST:PORT GOOD.der BER.der - malformed certificates
sent straight to the agent over SPOP, as HAProxy would send them with
ssl_c_verify = 0 (HAProxy "verified": a verify = haproxy policy trusts it).

Uses the SPOP peer of tests/fault/spop.py. Prints one line per case:
    CHECK <TAB> ok|fail <TAB> name <TAB> why
Every malformed value must get verdict "deny" (never "allow", never a
dropped connection); GOOD.der must still be allowed afterwards, on the
same connection and on a new one.
"""
import os
import sys

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "fault"))
import spop  # noqa: E402  (tests/fault/spop.py)


def out(ok, name, why=""):
    print("CHECK\t%s\t%s\t%s" % ("ok" if ok else "fail", name, why), flush=True)


def main():
    addr, good_path, ber_path = sys.argv[1:4]
    good = open(good_path, "rb").read()
    ber = open(ber_path, "rb").read()
    cases = [
        ("empty certificate", b""),
        ("one byte", b"\x30"),
        ("garbage", b"this is not a certificate at all" * 4),
        ("truncated DER (first half)", good[:len(good) // 2]),
        ("DER minus its last byte", good[:-1]),
        ("DER plus a trailing byte", good + b"\x00"),
        ("two certificates in one value", good + good),
        ("BER re-encoding (long-form outer length)", ber),
        ("outer length larger than the value", good[:2] + b"\xff\xff" + good[4:]),
        ("a SEQUENCE of nothing", b"\x30\x00"),
        ("64 KB of 0x30", b"\x30" * 15000),
        ("DER with one bit flipped in the signature", good[:-5] + bytes([good[-5] ^ 1]) + good[-4:]),
    ]
    try:
        p = spop.Peer(addr)
        p.hello()
    except Exception as e:  # noqa: BLE001
        out(False, "HELLO to the agent", "%s: %s" % (type(e).__name__, e))
        return
    sid = 1
    for name, der in cases:
        sid += 2
        try:
            acts = p.notify(spop.cert_args(der, verify=0), sid=sid, fid=1)
            v = acts.get("verdict")
            out(v == "deny", "SPOP, verify=0, %s -> deny" % name,
                "" if v == "deny" else "verdict %r, code %r, rule %r" % (v, acts.get("code"), acts.get("rule")))
        except Exception as e:  # noqa: BLE001
            out(False, "SPOP, verify=0, %s -> deny" % name, "no ACK: %s: %s" % (type(e).__name__, e))
            try:
                p = spop.Peer(addr)
                p.hello()
            except Exception:  # noqa: BLE001
                pass
    for label, fresh in (("same connection", False), ("new connection", True)):
        try:
            if fresh:
                p = spop.Peer(addr)
                p.hello()
            sid += 2
            acts = p.notify(spop.cert_args(good, verify=0), sid=sid, fid=1)
            out(acts.get("verdict") == "allow", "SPOP, the good certificate afterwards (%s) -> allow" % label,
                "got %r" % acts)
        except Exception as e:  # noqa: BLE001
            out(False, "SPOP, the good certificate afterwards (%s) -> allow" % label,
                "%s: %s" % (type(e).__name__, e))


if __name__ == "__main__":
    main()
