#!/usr/bin/python3
# SPDX-License-Identifier: GPL-2.0-only
# Dead man's switch for tests that enforce in the kill tier on the machine
# they run on: there every exec and executable mapping outside the test's
# manifest is killed, rm and pkill included, and enforcement outlives the
# daemon. Started before enforcement, this process has everything it needs
# loaded already; it removes iotgate's pins (links first: that detaches the
# programs) when it gets SIGUSR1 (sent with the shell's builtin kill) or
# when SECS pass, and exits quietly on SIGTERM.
#   kill-guard.py SECS
import os
import signal
import sys
import time

PIN_DIR = "/sys/fs/bpf/iotgate"


def unpin(*_):
    try:
        names = sorted(os.listdir(PIN_DIR), key=lambda n: not n.startswith("link_"))
    except OSError:
        names = []
    for n in names:
        try:
            os.unlink(os.path.join(PIN_DIR, n))
        except OSError:
            pass
    os._exit(0)


signal.signal(signal.SIGUSR1, unpin)
signal.signal(signal.SIGTERM, lambda *_: os._exit(0))
deadline = time.monotonic() + float(sys.argv[1])
while time.monotonic() < deadline:
    time.sleep(0.2)
unpin()
