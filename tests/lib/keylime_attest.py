#!/usr/bin/python3
# SPDX-License-Identifier: GPL-2.0-only
"""Judges iotgate's measurement log with Keylime's own verifier code.

keylime_attest.py [--policy FILE] [--state FILE] PCRVAL LOGFILE...

Feeds the lines of LOGFILE... (oldest first, as `iotgatectl log --file`
takes them) to keylime.ima.ima.process_measurement_list with SHA-256 as
the PCR bank, PCRVAL as the PCR 10 value read from the device, and the
runtime policy FILE (none: template hashes and PCR only). With --state,
attests incrementally as Keylime's verifier does: the state file holds the
next entry number and the running PCR value of the last attestation; only
the entries from that number on are sent (numbers since boot: a rotated
file starts at the entry its .base names), and the state is written back.
Prints JSON: {"running", "events", "next"}.
"""
import json
import os
import sys

from keylime.agentstates import AgentAttestState
from keylime.common.algorithms import Hash
from keylime.ima import ima


def first_entry(path):
    """Number since boot of the file's first entry (iotgate's PATH.base)."""
    try:
        with open(path + ".base", encoding="utf-8") as f:
            for line in f:
                if line.startswith("entry "):
                    return int(line.split()[1])
    except FileNotFoundError:
        pass
    return 0


def main():
    args = sys.argv[1:]
    policy = state_path = None
    while args and args[0].startswith("--"):
        if args[0] == "--policy":
            with open(args[1], encoding="utf-8") as f:
                policy = json.load(f)
                ima.validate_runtime_policy(policy)
        elif args[0] == "--state":
            state_path = args[1]
        else:
            sys.exit(f"unknown option {args[0]}")
        args = args[2:]
    pcrval, files = args[0], args[1:]
    lines = []
    for path in files:
        with open(path, encoding="utf-8", newline="\n") as f:
            lines += f.read().split("\n")[:-1]
    start = first_entry(files[0])
    state = None
    if state_path:
        state = AgentAttestState("iotgate-test")
        if os.path.exists(state_path):
            with open(state_path, encoding="utf-8") as f:
                saved = json.load(f)
            state.set_ima_pcrs({10: bytes.fromhex(saved["pcr"])})
            state.set_next_ima_ml_entry(saved["next"])
        nth = state.get_next_ima_ml_entry()
        if nth < start:
            sys.exit(f"entry {nth} is no longer in the files (they start at {start})")
        lines = lines[nth - start :]
    running, failure = ima.process_measurement_list(
        state, lines, runtime_policy=policy, pcrval=pcrval, hash_alg=Hash.SHA256
    )
    events = sorted({e.event_id.split(".")[-1] for e in failure.events})
    details = [[e.event_id.split(".")[-1], e.context] for e in failure.events]
    out = {"running": running, "events": events, "details": details, "lines": len(lines)}
    if state:
        out["next"] = state.get_next_ima_ml_entry()
        pcr = state.get_ima_pcrs().get(10)
        with open(state_path, "w", encoding="utf-8") as f:
            json.dump({"next": out["next"], "pcr": pcr.hex() if pcr else ""}, f)
    print(json.dumps(out))


if __name__ == "__main__":
    main()
