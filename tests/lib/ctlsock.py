#!/usr/bin/python3
# SPDX-License-Identifier: GPL-2.0-only
"""Attacks on the iotgated control socket, for tests/host/ctlsock.bats.

  ctlsock.py send SOCK LINE...       send each LINE (raw, newline added) on one
                                     connection; print each reply line
  ctlsock.py apply-close SOCK PATH N N times: subscribe to events, send
                                     policy-apply PATH and close at once
  ctlsock.py status-during SOCK LINE  send LINE (a change) on one connection,
                                     then ask status on others until one says
                                     the change is under way; print "answered
                                     during" (or "not answered during") and
                                     the change's reply
  ctlsock.py hold SOCK N             open N idle connections, print "ready";
                                     on SIGUSR1 print what became of them:
                                     "open O refused R idle I closed C"
  ctlsock.py syslog SOCKPATH OUT     a syslog listener on SOCKPATH: each
                                     datagram to OUT, one line each (repr)
  ctlsock.py check-syslog OUT NAME   the violation line for the file NAME
                                     (bytes, as a Python literal): its RFC 5424
                                     structured data parses and gives back the
                                     path and the process name exactly
  ctlsock.py check-log LOG NAME [N]  the daemon log's violation lines for NAME
                                     (N runs of it, default 1): N lines, each
                                     one's fields giving them back
  ctlsock.py check-status OUT NAME [N]  the same for iotgatectl status's
                                     lines: 1 to N of them (the last 10
                                     violations are shown)
"""
import ast
import json
import os
import re
import signal
import socket
import sys
import time


def conn(path):
    s = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    s.settimeout(10)
    s.connect(path)
    return s


def readline(s):
    buf = b""
    while not buf.endswith(b"\n"):
        chunk = s.recv(65536)
        if not chunk:
            break
        buf += chunk
    return buf


def send(path, lines):
    s = conn(path)
    for line in lines:
        s.sendall(line.encode("utf-8", "surrogateescape") + b"\n")
        sys.stdout.write(readline(s).decode("utf-8", "replace"))
    s.close()


def status_during(path, line):
    a = conn(path)
    a.settimeout(300)
    a.sendall(line.encode() + b"\n")
    during = False
    # Order, not time: status is asked until it reports the change running
    # or the change's reply has come (then status was not answered during it).
    while not during:
        b = conn(path)
        b.sendall(b'{"cmd":"status"}\n')
        st = json.loads(readline(b))
        b.close()
        if st.get("changing"):
            during = True
            break
        a.setblocking(False)
        try:
            pending = a.recv(1, socket.MSG_PEEK)
        except BlockingIOError:
            pending = b""
        a.setblocking(True)
        a.settimeout(300)
        if pending:
            break
    print("answered during" if during else "not answered during")
    sys.stdout.write(readline(a).decode())


def apply_close(path, policy, n):
    for _ in range(n):
        s = conn(path)
        s.sendall(b'{"cmd":"events"}\n')
        assert b"subscribed" in readline(s)
        s.sendall(b'{"cmd":"policy-apply","path":"%s"}\n' % policy.encode())
        s.close()
        time.sleep(0.05)


def hold(path, n):
    import resource

    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    resource.setrlimit(resource.RLIMIT_NOFILE, (max(soft, min(hard, n + 64)), hard))
    socks = []
    for _ in range(n):
        s = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
        s.connect(path)
        s.setblocking(False)
        socks.append([s, b"", False])

    def report(*_):
        for e in socks:
            while not e[2]:
                try:
                    chunk = e[0].recv(65536)
                except BlockingIOError:
                    break
                except OSError:
                    chunk = b""
                e[1] += chunk
                e[2] = not chunk
        st = {"open": 0, "refused": 0, "idle": 0, "closed": 0}
        for _, data, eof in socks:
            if b"too many connections" in data or b"no file descriptor" in data:
                st["refused"] += 1
            elif b"no request for" in data:
                st["idle"] += 1
            elif eof:
                st["closed"] += 1
            else:
                st["open"] += 1
        print(" ".join("%s %d" % kv for kv in st.items()), flush=True)

    signal.signal(signal.SIGUSR1, report)
    print("ready", flush=True)
    while True:
        time.sleep(3600)


def syslog(path, out):
    s = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM)
    if os.path.exists(path):
        os.unlink(path)
    s.bind(path)
    print("ready", flush=True)
    with open(out, "a") as f:
        while True:
            f.write(repr(s.recv(65536)) + "\n")
            f.flush()


def unescape_text(v):
    """Undoes iotgate's text escaping (\\\\ and \\xNN) of a str: the original bytes."""
    out, i, b = b"", 0, v.encode("utf-8")
    while i < len(b):
        if b[i : i + 1] == b"\\":
            if b[i + 1 : i + 2] == b"\\":
                out += b"\\"
                i += 2
                continue
            m = re.match(rb"x([0-9a-f]{2})", b[i + 1 : i + 4])
            assert m, "bad escape in %r" % v
            out += bytes([int(m.group(1), 16)])
            i += 4
            continue
        out += b[i : i + 1]
        i += 1
    return out


def parse_sd(s):
    """One RFC 5424 SD-ELEMENT at the start of s: (SD-ID, {name: value}, rest)."""
    assert s[0] == "[", s
    m = re.match(r"\[([^= \]\"]{1,32})", s)
    assert m, s
    sdid, i, params = m.group(1), m.end(), {}
    while s[i] == " ":
        m = re.compile(r' ([^= \]"]{1,32})="').match(s, i)
        assert m, s[i:]
        name, i, val = m.group(1), m.end(), ""
        while True:
            c = s[i]
            if c == "\\" and s[i + 1] in '"\\]':
                val, i = val + s[i + 1], i + 2
            elif c == '"':
                i += 1
                break
            else:
                # RFC 5424 6.3.3: '"', '\' and ']' MUST be escaped
                assert c != "]", "unescaped ] in %r" % s
                assert ord(c) >= 0x20, "control character in %r" % s
                val, i = val + c, i + 1
        assert name not in params, "param %s twice" % name
        params[name] = val
    assert s[i] == "]", s[i:]
    return sdid, params, s[i + 1 :]


def check_syslog(out, name):
    path = name
    found = 0
    for line in open(out):
        dgram = ast.literal_eval(line)
        text = dgram.decode("utf-8")  # escaped: valid UTF-8 throughout
        assert "\n" not in text
        if "[iotgate@32473" not in text:
            continue
        # RFC 5424: <PRI>1 TIMESTAMP HOSTNAME APP-NAME PROCID MSGID SD MSG
        m = re.match(r"<(\d+)>1 (\S+) (\S+) iotgated (\d+) ([!-~]{1,32}) (\[.*)$", text)
        assert m, text
        assert int(m.group(1)) // 8 == 10, text  # authpriv
        sdid, params, rest = parse_sd(m.group(6))
        assert sdid == "iotgate@32473"
        assert rest.startswith(" iotgate "), rest
        if m.group(5) != "exec":
            continue
        assert {"type", "verdict", "reason", "pid", "uid", "comm", "path"} <= set(params), params
        if unescape_text(params["path"]).endswith(path):
            assert unescape_text(params["comm"]) == path.rsplit(b"/", 1)[-1][:15], params
            assert params["type"] == "exec" and params["reason"] == "not_in_manifest"
            found += 1
    assert found >= 1, "no violation for %r in %s" % (path, out)
    print("ok: %d syslog line(s) parse and give back the path and name" % found)


def field(s, i):
    """A field written by ig_esc(IG_ESC_FIELD) at s[i]: (its original bytes, end)."""
    if s[i] != '"':
        m = re.compile(r"[A-Za-z0-9._/+:@%-]+").match(s, i)
        return m.group(0).encode(), m.end()
    val, i = "", i + 1
    while s[i] != '"':
        if s[i] == "\\" and s[i + 1] == '"':
            val, i = val + '"', i + 2
        elif s[i] == "\\":
            val, i = val + s[i : i + 2], i + 2
        else:
            val, i = val + s[i], i + 1
    return unescape_text(val), i + 1


def check_lines(path, name, prefix, between, rest, lo=1, hi=1):
    """Lines PREFIX PATH BETWEEN COMM REST (regexes) for the file NAME: LO to
    HI of them, valid UTF-8, their escaped fields giving back the path and
    the name."""
    found = 0
    for raw in open(path, "rb").read().split(b"\n"):
        line = raw.decode("utf-8")
        assert not line.lstrip().startswith("iotgated: info: policy:"), line
        m = re.match(prefix, line)
        if not m:
            continue
        p, i = field(line, m.end())
        if not p.endswith(name):
            continue
        m = re.compile(between).match(line, i)
        assert m, line
        comm, j = field(line, m.end())
        assert comm == name.rsplit(b"/", 1)[-1][:15], (comm, line)
        assert re.fullmatch(rest, line[j:]), line[j:]
        found += 1
    assert lo <= found <= hi, "%d lines for %r in %s, not %d to %d" % (found, name, path, lo, hi)
    print("ok: the %d line(s) in %s give back the path and name" % (found, path))


mode = sys.argv[1]
if mode == "send":
    send(sys.argv[2], sys.argv[3:])
elif mode == "apply-close":
    apply_close(sys.argv[2], sys.argv[3], int(sys.argv[4]))
elif mode == "status-during":
    status_during(sys.argv[2], sys.argv[3])
elif mode == "hold":
    hold(sys.argv[2], int(sys.argv[3]))
elif mode == "syslog":
    syslog(sys.argv[2], sys.argv[3])
elif mode == "check-syslog":
    check_syslog(sys.argv[2], ast.literal_eval(sys.argv[3]))
elif mode == "check-log":
    runs = int(sys.argv[4]) if len(sys.argv) > 4 else 1
    check_lines(sys.argv[2], ast.literal_eval(sys.argv[3]), r"iotgated: (info|warning): exec: audit ",
                r" pid=[0-9]+ uid=0 comm=", r" reason=not_in_manifest", runs, runs)
elif mode == "check-status":
    runs = int(sys.argv[4]) if len(sys.argv) > 4 else 1
    check_lines(sys.argv[2], ast.literal_eval(sys.argv[3]), r"    [0-9TZ:-]+ audit ", r" \(",
                r", pid [0-9]+, uid 0, not_in_manifest\)", 1, runs)
else:
    sys.exit("unknown mode " + mode)
