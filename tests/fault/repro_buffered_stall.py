#!/usr/bin/env python3
"""repro_buffered_stall.py - minimal reproducer: certspoa leaves NOTIFY
frames unanswered when they are already buffered as it wakes up.

    certspoa -f agent.ini &          (any config; threads = 1 makes it simplest)
    tests/fault/repro_buffered_stall.py 127.0.0.1:PORT AGENT_PID allowed.der [N...]

For each N: one connection, HELLO, the agent is frozen (SIGSTOP), N
pipelined NOTIFY frames are written (they sit in the socket buffers), the
agent is thawed (SIGCONT), and we read. Expected: N ACKs. Observed: for a
few consecutive N (which ones depends on the sizes of the certificate and
of the agent's ACKs; 255..262 with the fault suite's config, where the
ACKs stop at 254) the ACKs stop short and nothing more comes while we keep
reading; the connection stays open until idle_timeout. Without N, it tries
N = 230..380 and stops at the first stall (the stalls recur about every
140 frames). Exit status 1 if a stall was seen.
"""
import os
import signal
import sys
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from spop import ACK, NOTIFY, Peer, cert_args, frame, message  # noqa: E402


def trial(addr, pid, der, n):
    p = Peer(addr, timeout=5)
    p.hello()
    data = b"".join(frame(NOTIFY, message(cert_args(der)), sid=2 * i + 1, fid=1) for i in range(n))
    os.kill(pid, signal.SIGSTOP)
    try:
        time.sleep(0.05)
        p.sock.sendall(data)
        time.sleep(0.05)
    finally:
        os.kill(pid, signal.SIGCONT)
    got = 0
    try:
        while got < n:
            f = p.recv_frame(3)
            if f.type != ACK or f.sid != 2 * got + 1:
                raise ValueError("unexpected %r" % f)
            got += 1
    except Exception as e:              # noqa: BLE001
        print("N=%d: STALL after %d of %d ACKs (%s)" % (n, got, n, type(e).__name__))
        return False
    finally:
        p.close()
    print("N=%d: ok, %d ACKs" % (n, got))
    return True


def main():
    addr, pid, der = sys.argv[1], int(sys.argv[2]), open(sys.argv[3], "rb").read()
    counts = [int(x) for x in sys.argv[4:]]
    if counts:
        ok = all([trial(addr, pid, der, n) for n in counts])
    else:
        ok = True
        for n in range(230, 381):
            if not trial(addr, pid, der, n):
                ok = False
                break
    sys.exit(0 if ok else 1)


if __name__ == "__main__":
    main()
