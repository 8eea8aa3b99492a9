# SPDX-License-Identifier: GPL-2.0-only
"""Judges iotgated's syslog against its events stream.

sdcheck.py SYSLOG_JSON EVENTS_JSONL HOSTNAME PID

SYSLOG_JSON: what rsyslog wrote, one JSON object per line (tests/lib/rsyslog.bash:
pri, hostname, app, procid, msgid, timestamp, msg, and sd, mmpstrucdata's parse of
the structured data). EVENTS_JSONL: 'iotgatectl --json events' output.

Every event must be in syslog, in the same order, as one RFC 5424 message: MSGID
the violation's type (else the event's name), the element iotgate@32473 holding
every member of the event but "event" (nested objects as a.b), each value as
IG_ESC_TEXT writes it (what a PARAM-VALUE parser gives back), nothing else; the
header names this host, iotgated and the daemon's pid; facility authpriv.
Prints one line per event type seen; exits 1 with the first difference.
"""
import json
import re
import sys
import time

BIDI = {0x061C, 0x200E, 0x200F, 0x2028, 0x2029} | set(range(0x202A, 0x202F)) | set(range(0x2066, 0x206A))


def text_esc(s):
    """IG_ESC_TEXT (userspace/esc.h) of a string the daemon had as UTF-8."""
    out = []
    for ch in s:
        c = ord(ch)
        if ch == "\\":
            out.append("\\\\")
        elif c < 0x20 or c == 0x7F or 0x80 <= c < 0xA0 or c in BIDI:
            out.append("".join("\\x%02x" % b for b in ch.encode()))
        else:
            out.append(ch)
    return "".join(out)


def flat(o, prefix=""):
    r = {}
    for k, v in o.items():
        if isinstance(v, dict):
            r.update(flat(v, prefix + k + "."))
        elif isinstance(v, list):
            continue
        elif isinstance(v, bool):
            r[prefix + k] = "true" if v else "false"
        elif v is None:
            continue
        else:
            r[prefix + k] = text_esc(str(v))
    return r


def expected(ev):
    want = flat({k: v for k, v in ev.items() if k != "event"})
    msgid = ev["type"] if ev["event"] == "violation" else ev["event"]
    return msgid, want


def load(path):
    with open(path, encoding="utf-8") as f:
        recs = [json.loads(l) for l in f if l.strip()]
    for r in recs:
        # rsyslog's jsonf writes the parsed structured data as a string of JSON
        if isinstance(r.get("sd"), str):
            r["sd"] = json.loads(r["sd"]) if r["sd"].strip() else {}
    return recs


def main():
    sys_path, ev_path, host, pid = sys.argv[1:5]
    # the first line acknowledges the subscription; it is no event
    events = [e for e in load(ev_path) if e.get("event") not in (None, "subscribed")]
    if not events:
        sys.exit("no events")
    first = expected(events[0])
    for _ in range(100):
        recs = load(sys_path)
        got = [(r["msgid"], r["sd"].get("iotgate@32473")) for r in recs]
        starts = [i for i, g in enumerate(got) if g == first]
        if starts and len(got) >= starts[0] + len(events):
            break
        time.sleep(0.1)
    else:
        sys.exit("syslog does not hold the events: first event %r, syslog msgids %r"
                 % (first, [g[0] for g in got][-20:]))
    i = starts[0]
    seen = {}
    for n, ev in enumerate(events):
        r = recs[i + n]
        msgid, want = expected(ev)
        sd = r["sd"]
        if list(sd) != ["iotgate@32473"]:
            sys.exit("event %d: SD-ELEMENTs %r" % (n, list(sd)))
        if r["msgid"] != msgid or sd["iotgate@32473"] != want:
            sys.exit("event %d differs:\n events: %r %r\n syslog: %r %r"
                     % (n, msgid, want, r["msgid"], sd["iotgate@32473"]))
        if r["app"] != "iotgated" or r["procid"] != pid or r["hostname"] != host:
            sys.exit("event %d: header %r %r %r" % (n, r["app"], r["procid"], r["hostname"]))
        if int(r["pri"]) // 8 != 10:
            sys.exit("event %d: facility %d, not authpriv" % (n, int(r["pri"]) // 8))
        if not re.fullmatch(r"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{6}(Z|\+00:00)", r["timestamp"]):
            sys.exit("event %d: timestamp %r" % (n, r["timestamp"]))
        seen[msgid] = seen.get(msgid, 0) + 1
    for k in sorted(seen):
        print("%s %d" % (k, seen[k]))


main()
