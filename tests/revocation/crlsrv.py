#!/usr/bin/env python3
"""crlsrv.py DIR PORTFILE [PORT] - a small HTTP server for the revocation tests.

Serves the files of DIR (read on every request, so a test rotates a CRL by
renaming a new file into place) with an ETag (SHA-256 of the content) and
Last-Modified, answering 304 to a matching If-None-Match or to an
If-Modified-Since at or after the file's time. It binds 127.0.0.1 PORT
(default 0: any) and writes the port to PORTFILE. Every request is logged to stdout as
"METHOD PATH STATUS INM=... IMS=..." so tests can count fetches.

With CRLSRV_CERT and CRLSRV_KEY in the environment it speaks HTTPS.

A few paths misbehave on purpose:
  /fault/404       404
  /fault/big       200 with 4 MB of bytes (no Content-Length)
  /fault/slow      the status line, then one header byte every 0.5 s
  /fault/reset     a TCP reset right after the request
  /fault/endless   header lines for as long as the client reads
  /fault/garbage   200 with bytes that are no CRL
"""
import email.utils
import hashlib
import os
import socket
import ssl
import struct
import sys
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

ROOT = sys.argv[1]


class Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"

    def log_message(self, fmt, *args):
        pass

    def note(self, status):
        print("%s %s %d INM=%s IMS=%s" % (self.command, self.path, status,
              self.headers.get("If-None-Match", "-"),
              self.headers.get("If-Modified-Since", "-")), flush=True)

    def fault(self, name):
        if name == "404":
            self.note(404)
            self.send_response(404)
            self.send_header("Content-Length", "0")
            self.end_headers()
        elif name == "big":
            self.note(200)
            self.send_response(200)
            self.send_header("Connection", "close")
            self.end_headers()
            chunk = b"x" * 65536
            try:
                for _ in range(64):
                    self.wfile.write(chunk)
            except OSError:
                pass
            self.close_connection = True
        elif name == "slow":
            self.note(200)
            try:
                self.wfile.write(b"HTTP/1.1 200 OK\r\nX-Slow: ")
                self.wfile.flush()
                for _ in range(120):
                    time.sleep(0.5)
                    self.wfile.write(b"a")
                    self.wfile.flush()
            except OSError:
                pass
            self.close_connection = True
        elif name == "reset":
            self.note(0)
            self.connection.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
            self.close_connection = True
        elif name == "endless":
            self.note(200)
            try:
                self.wfile.write(b"HTTP/1.1 200 OK\r\n")
                line = b"X-Pad: " + b"a" * 990 + b"\r\n"
                for _ in range(20000):
                    self.wfile.write(line)
            except OSError:
                pass
            self.close_connection = True
        elif name == "garbage":
            self.note(200)
            body = b"this is not a CRL\n" * 10
            self.send_response(200)
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)
        else:
            self.note(404)
            self.send_response(404)
            self.send_header("Content-Length", "0")
            self.end_headers()

    def do_GET(self):
        path = self.path.split("?", 1)[0]
        if path.startswith("/fault/"):
            return self.fault(path[len("/fault/"):])
        name = os.path.basename(path)
        full = os.path.join(ROOT, name)
        try:
            with open(full, "rb") as f:
                body = f.read()
            mtime = int(os.stat(full).st_mtime)
        except OSError:
            self.note(404)
            self.send_response(404)
            self.send_header("Content-Length", "0")
            self.end_headers()
            return
        etag = '"%s"' % hashlib.sha256(body).hexdigest()[:32]
        inm = self.headers.get("If-None-Match")
        ims = self.headers.get("If-Modified-Since")
        not_modified = False
        if inm is not None:
            not_modified = inm == etag
        elif ims is not None:
            try:
                not_modified = mtime <= email.utils.parsedate_to_datetime(ims).timestamp()
            except (TypeError, ValueError):
                not_modified = False
        status = 304 if not_modified else 200
        self.note(status)
        self.send_response(status)
        self.send_header("ETag", etag)
        self.send_header("Last-Modified", email.utils.formatdate(mtime, usegmt=True))
        if status == 304:
            self.send_header("Content-Length", "0")
            self.end_headers()
            return
        self.send_header("Content-Type", "application/pkix-crl")
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)


def main():
    port = int(sys.argv[3]) if len(sys.argv) > 3 else 0
    ThreadingHTTPServer.allow_reuse_address = True
    ThreadingHTTPServer.request_queue_size = 64   # a slow accept loop must not refuse SYNs
    srv = ThreadingHTTPServer(("127.0.0.1", port), Handler)
    srv.daemon_threads = True
    if os.environ.get("CRLSRV_CERT"):
        ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
        ctx.load_cert_chain(os.environ["CRLSRV_CERT"], os.environ["CRLSRV_KEY"])
        srv.socket = ctx.wrap_socket(srv.socket, server_side=True, do_handshake_on_connect=False)
    tmp = sys.argv[2] + ".tmp"
    with open(tmp, "w") as f:
        f.write("%d\n" % srv.server_address[1])
    os.rename(tmp, sys.argv[2])
    srv.serve_forever()


if __name__ == "__main__":
    main()
