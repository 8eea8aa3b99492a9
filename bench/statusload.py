#!/usr/bin/python3
# SPDX-License-Identifier: GPL-2.0-only
"""status round trips from C concurrent clients: prints "p50_us p99_us errors requests"."""
import json
import socket
import sys
import threading
import time

sock, clients, per = sys.argv[1], int(sys.argv[2]), int(sys.argv[3])
lat, errors = [], []
lock = threading.Lock()
start = threading.Barrier(clients)


def client():
    mine = []
    try:
        s = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
        s.connect(sock)
        f = s.makefile("rb")
        start.wait()
        for _ in range(per):
            t = time.perf_counter()
            s.sendall(b'{"cmd":"status"}\n')
            r = json.loads(f.readline())
            mine.append(time.perf_counter() - t)
            if "mode" not in r:
                errors.append(r)
        s.close()
    except Exception as e:  # noqa: BLE001 - every failure is an error
        errors.append(repr(e))
    with lock:
        lat.extend(mine)


threads = [threading.Thread(target=client) for _ in range(clients)]
for t in threads:
    t.start()
for t in threads:
    t.join()
lat.sort()
p = lambda q: lat[min(len(lat) - 1, int(q * len(lat)))] * 1e6 if lat else 0  # noqa: E731
print("%.0f %.0f %d %d" % (p(0.50), p(0.99), len(errors), len(lat)))
