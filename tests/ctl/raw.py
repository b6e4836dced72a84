#!/usr/bin/env python3
"""raw.py SOCKET [HOLD] - what plain socat does: stdin's bytes to the admin
socket, the answer to stdout, until the agent closes (10 s at most). Never
closes its own sending side first, so a one-command connection must be
closed by the agent. HOLD: open that many idle connections first and keep
them while talking (to reach the connection limit). RAW_EOF=1: close the
sending side after stdin's bytes, as socat does at the end of its input."""
import os
import socket
import sys

path = sys.argv[1]
held = []
for _ in range(int(sys.argv[2]) if len(sys.argv) > 2 else 0):
    h = socket.socket(socket.AF_UNIX)
    h.connect(path)
    held.append(h)
s = socket.socket(socket.AF_UNIX)
s.settimeout(10)
s.connect(path)
s.sendall(sys.stdin.buffer.read())
if os.environ.get("RAW_EOF") == "1":
    s.shutdown(socket.SHUT_WR)
out = b""
try:
    while True:
        b = s.recv(65536)
        if not b:
            break
        out += b
except socket.timeout:
    out += b"\n[raw.py: no close from the agent within 10 s]\n"
sys.stdout.buffer.write(out)
