#!/usr/bin/env python3
"""Misbehaving OCSP responders for tests/revocation/t-ocsp*.sh.

  ocsp_fake.py PORTFILE silent          accepts connections, never answers
  ocsp_fake.py PORTFILE garbage         answers HTTP 200 with bytes that are no OCSP
  ocsp_fake.py PORTFILE file RESPONSE   answers HTTP 200 with RESPONSE (DER), always

Binds 127.0.0.1 port 0 and writes the port to PORTFILE once listening."""
import os
import socket
import sys
import threading
import time


def serve(conn, body):
    conn.settimeout(5)
    data = b""
    try:
        while b"\r\n\r\n" not in data:
            d = conn.recv(65536)
            if not d:
                return
            data += d
        head, _, rest = data.partition(b"\r\n\r\n")
        for line in head.split(b"\r\n"):
            if line.lower().startswith(b"content-length:"):
                want = int(line.split(b":", 1)[1])
                while len(rest) < want:
                    d = conn.recv(65536)
                    if not d:
                        break
                    rest += d
        conn.sendall(b"HTTP/1.1 200 OK\r\nContent-Type: application/ocsp-response\r\n"
                     b"Content-Length: %d\r\nConnection: close\r\n\r\n" % len(body) + body)
    except OSError:
        pass
    finally:
        conn.close()


def main():
    portfile, mode = sys.argv[1], sys.argv[2]
    s = socket.socket()
    s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    s.bind(("127.0.0.1", 0))
    s.listen(512)
    with open(portfile + ".tmp", "w") as f:
        f.write("%d\n" % s.getsockname()[1])
    os.rename(portfile + ".tmp", portfile)
    if mode == "silent":
        held = []
        while True:                      # accept, keep, never answer
            c, _ = s.accept()
            held.append(c)
    body = b"<html>this is not OCSP</html>" if mode == "garbage" else open(sys.argv[3], "rb").read()
    while True:
        c, _ = s.accept()
        threading.Thread(target=serve, args=(c, body), daemon=True).start()


main()
