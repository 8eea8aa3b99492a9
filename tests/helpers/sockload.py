#!/usr/bin/python3
# SPDX-License-Identifier: GPL-2.0-only
"""Abusive and concurrent clients of the iotgated socket, for tests/host/socket.bats.

  sockload.py SOCK big|malformed|unknown|half|noread|disconnect|many N|slowsub
Prints one line per check, "ok ..." or "FAIL ...", and exits 1 on any FAIL.
"""
import json
import socket
import sys
import threading
import time

SOCK = sys.argv[1]
fails = 0


def check(cond, what):
    global fails
    print(("ok " if cond else "FAIL ") + what)
    if not cond:
        fails += 1


def conn():
    s = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    s.settimeout(10)
    s.connect(SOCK)
    return s


def readline(s):
    buf = b""
    while not buf.endswith(b"\n"):
        chunk = s.recv(65536)
        if not chunk:
            break
        buf += chunk
    return buf.decode()


def ask(s, obj):
    s.sendall((json.dumps(obj) + "\n").encode())
    return json.loads(readline(s))


def alive():
    s = conn()
    r = ask(s, {"cmd": "ping"})
    s.close()
    return r.get("ok") is True


mode = sys.argv[2]
if mode == "big":
    s = conn()
    try:
        s.sendall(b"x" * (65 * 1024))
    except OSError:
        pass
    r = readline(s)
    check("larger than 65536 bytes" in r, "over-long request refused: " + r.strip())
    try:
        closed = s.recv(10) == b""
    except ConnectionResetError:
        closed = True
    check(closed, "and the connection closed")
elif mode == "malformed":
    s = conn()
    for bad in [b"{not json\n", b"[1,2]\n", b"{\"cmd\": 5}\n", b"\n"]:
        s.sendall(bad)
        r = json.loads(readline(s))
        check("error" in r and "malformed" in r["error"], "malformed %r -> %s" % (bad, r["error"]))
    check(ask(s, {"cmd": "ping"}).get("ok") is True, "same connection still served")
elif mode == "unknown":
    s = conn()
    r = ask(s, {"cmd": "frobnicate"})
    check(r.get("error") == "unknown command 'frobnicate'", "unknown command: %s" % r)
elif mode == "half":
    s = conn()
    s.sendall(b'{"cmd": "pi')
    check(alive(), "others served while a line is half sent")
    s.sendall(b'ng"}\n')
    check(json.loads(readline(s)).get("ok") is True, "the completed line is answered")
elif mode == "noread":
    # Clients that ask for a lot and never read: the daemon must not stall.
    hogs = []
    for _ in range(20):
        h = conn()
        h.setblocking(False)
        try:
            for _ in range(2000):
                h.send(b'{"cmd":"status"}\n')
        except BlockingIOError:
            pass
        hogs.append(h)
    t0 = time.time()
    check(alive(), "a well-behaved client is answered while 20 never read")
    check(time.time() - t0 < 10, "without a stall")
elif mode == "disconnect":
    for _ in range(50):
        s = conn()
        s.sendall(b'{"cmd":"status"}\n' * 50)
        s.close()
    check(alive(), "peers that leave mid-reply do not hurt the daemon")
elif mode == "many":
    n = int(sys.argv[3])
    errors = []

    def client():
        try:
            s = conn()
            for _ in range(5):
                r = ask(s, {"cmd": "status"})
                if "mode" not in r:
                    errors.append(r)
            s.close()
        except Exception as e:  # noqa: BLE001 - every failure counts
            errors.append(repr(e))

    threads = [threading.Thread(target=client) for _ in range(n)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    check(not errors, "%d clients at once, 5 requests each, no errors (%s)" % (n, errors[:3]))
elif mode == "slowsub":
    # A subscriber that never reads while events flood in is dropped.
    s = conn()
    s.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 4096)
    s.sendall(b'{"cmd":"events"}\n')
    print("subscribed", flush=True)
    time.sleep(float(sys.argv[3]) if len(sys.argv) > 3 else 5)
    check(alive(), "daemon serves others while a subscriber is stuck")
sys.exit(1 if fails else 0)
