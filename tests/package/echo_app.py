#!/usr/bin/env python3
"""echo_app.py PORTFILE - the application behind HAProxy in the pod tests:
answers every GET with 200 and a body naming what it was given
("backend saw", then "client-cert: VALUE" for each Client-Cert header).
Binds 127.0.0.1 on a free port and writes the port to PORTFILE."""
import http.server
import sys


class Echo(http.server.BaseHTTPRequestHandler):
    def do_GET(self):
        lines = ["backend saw %s" % self.path]
        for v in self.headers.get_all("Client-Cert") or []:
            lines.append("client-cert: %s" % v)
        body = ("\n".join(lines) + "\n").encode()
        self.send_response(200)
        self.send_header("Content-Type", "text/plain")
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def log_message(self, fmt, *args):
        pass


srv = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Echo)
with open(sys.argv[1] + ".tmp", "w") as f:
    f.write("%d\n" % srv.server_address[1])
import os
os.rename(sys.argv[1] + ".tmp", sys.argv[1])
srv.serve_forever()
