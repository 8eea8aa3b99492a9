#!/usr/bin/python3
# SPDX-License-Identifier: GPL-2.0-only
"""Differential test of the exec decision (tests/vm/execdiff.bats).

Random files (ELF copies with random tails, and #! scripts whose interpreter
is another such file), random manifests (some digests wrong), random changes
after the apply (append, open for write, chmod, rename, hard link, replace),
and two policy sets (the second applied over the first, protect on or off at
random), then every file exec'd for real under enforcement. The kernel's
verdict is compared with a reference model of the rule iotgate documents
(README "Identity", iotgate.conf(5) "protect"):

  a file may run iff, when the set in force was applied, the inode at one of
  its manifest paths had the digest the manifest gives, the inode is the same
  one now (device, inode number, change time unchanged), and with protect off
  it has not been opened for writing since; a script also needs its
  interpreter to pass the same rule.

The model is written for clarity, from the documentation, not from the BPF
code. Everything this process needs is loaded before enforcement starts
(imports, the daemon), so that it execs nothing but the cases while iotgate
enforces. Prints one line per disagreement (the case, the model's and the
kernel's verdict) and a summary; exits 1 on any disagreement.

  execdiff.py DIR BUILD CASES SEED
"""
import errno
import hashlib
import json
import os
import random
import socket
import subprocess
import sys
import time

DIR, BUILD, CASES, SEED = sys.argv[1], sys.argv[2], int(sys.argv[3]), int(sys.argv[4])
SOCK = "/run/iotgate/iotgate.sock"
rng = random.Random(SEED)
BASE = open("/usr/bin/true", "rb").read()
MUTATIONS = ["none"] * 6 + ["append", "open_w", "chmod", "rename", "link", "replace"]


def sha(path):
    with open(path, "rb") as f:
        return hashlib.sha256(f.read()).hexdigest()


def ident(path):
    st = os.stat(path)
    return (st.st_dev, st.st_ino, st.st_ctime_ns)


def libs(*files):
    out = subprocess.run(["ldd", *files], capture_output=True, text=True).stdout
    paths = set()
    for line in out.splitlines():
        parts = line.split()
        if not parts or parts[0].endswith(":"):
            continue  # the header ldd prints per file
        if "=>" in parts and len(parts) > 2 and parts[2].startswith("/"):
            paths.add(os.path.realpath(parts[2]))
        elif parts[0].startswith("/"):
            paths.add(os.path.realpath(parts[0]))
    crypto = subprocess.run(["sh", "-c", "ldconfig -p | awk '$1 == \"libcrypto.so.3\" { print $NF; exit }'"],
                            capture_output=True, text=True).stdout.strip()
    if crypto:
        paths.add(os.path.realpath(crypto))
    return sorted(paths)


def request(obj):
    s = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    s.connect(SOCK)
    s.sendall((json.dumps(obj) + "\n").encode())
    buf = b""
    while not buf.endswith(b"\n"):
        chunk = s.recv(65536)
        if not chunk:
            break
        buf += chunk
    s.close()
    return json.loads(buf)


# --- the files ---------------------------------------------------------------
daemon_files = [os.path.join(BUILD, "iotgated")] + libs(os.path.join(BUILD, "iotgated"), "/usr/bin/true")
cases = []
for i in range(CASES):
    path = os.path.join(DIR, "c%04d" % i)
    elf = i < 4 or rng.random() < 0.7
    case = {"i": i, "path": path, "elf": elf, "interp": None}
    if elf:
        data = BASE + rng.randbytes(16)
    else:
        interp = cases[rng.randrange(len(cases))]
        while not interp["elf"]:
            interp = cases[rng.randrange(len(cases))]
        case["interp"] = interp["i"]
        data = ("#!%s\n# %d\n" % (interp["path"], rng.getrandbits(32))).encode()
    with open(path, "wb") as f:
        f.write(data)
    os.chmod(path, 0o755)
    cases.append(case)


def manifest(version, protect):
    """A random manifest and its policy, signed now (openssl is not in it)."""
    lines = [(sha(p), p) for p in daemon_files]
    listed = {}
    for c in cases:
        r = rng.random()
        if r < 0.65:
            listed[c["i"]] = "right"
            lines.append((sha(c["path"]), c["path"]))
        elif r < 0.72:
            listed[c["i"]] = "wrong"
            lines.append((hashlib.sha256(os.urandom(8)).hexdigest(), c["path"]))
    m = os.path.join(DIR, "m%d.sha256" % version)
    with open(m, "w") as f:
        f.writelines("%s  %s\n" % l for l in lines)
    pol = os.path.join(DIR, "p%d.conf" % version)
    with open(pol, "w") as f:
        f.write("version %d\nmode enforce\nmanifest m%d.sha256\nprotect %s\n" % (version, version, protect))
    for p in (m, pol):
        subprocess.run(["openssl", "pkeyutl", "-sign", "-rawin", "-inkey", os.path.join(DIR, "key.pem"),
                        "-in", p, "-out", p + ".sig"], check=True)
    return {"policy": pol, "manifest": m, "protect": protect, "listed": listed}


os.makedirs(os.path.join(DIR, "keys"), exist_ok=True)
subprocess.run(["openssl", "genpkey", "-algorithm", "ed25519", "-out", os.path.join(DIR, "key.pem")], check=True)
subprocess.run(["openssl", "pkey", "-in", os.path.join(DIR, "key.pem"), "-pubout", "-out",
                os.path.join(DIR, "keys", "test.pem")], check=True)
sets = [manifest(1, rng.choice(["on", "off"])), manifest(2, rng.choice(["on", "off"]))]


# --- the model -----------------------------------------------------------------
def apply_model(s):
    """Identities trusted by set s, as the files are now."""
    trusted = {}
    entries = []
    with open(s["manifest"]) as f:
        for line in f:
            digest, path = line.rstrip("\n").split("  ", 1)
            entries.append((digest, path))
    for digest, path in entries:
        try:
            if sha(path) == digest:
                trusted[ident(path)] = path
        except OSError:
            pass
    return trusted


def model_allows(trusted, opened_w, path, depth=0):
    try:
        idt = ident(path)
    except OSError:
        return False
    if idt not in trusted or idt[:2] in opened_w:
        return False
    c = cases[int(os.path.basename(path)[1:5])] if os.path.basename(path).startswith("c") else None
    if c and c["interp"] is not None and depth == 0:
        return model_allows(trusted, opened_w, cases[c["interp"]]["path"], 1)
    return True


def kernel_allows(path):
    try:
        pid = os.posix_spawn(path, [path], {})
    except PermissionError:
        return False, "EPERM"
    except OSError as e:
        return False, errno.errorcode.get(e.errno, str(e.errno))
    _, status = os.waitpid(pid, 0)
    if os.WIFEXITED(status) and os.WEXITSTATUS(status) == 0:
        return True, "ran"
    return False, "status %d" % status


def mutate(c, protect, opened_w):
    """A random change after the apply; returns its name."""
    m = rng.choice(MUTATIONS)
    p = c["path"]
    try:
        if m == "append":
            with open(p, "ab") as f:
                f.write(b"\0")
        elif m == "open_w":
            idt = ident(p)
            os.close(os.open(p, os.O_WRONLY))
            if protect == "off":
                opened_w.add(idt[:2])
        elif m == "chmod":
            os.chmod(p, 0o750)
        elif m == "rename":
            os.rename(p, p + ".r")
            os.rename(p + ".r", p)
        elif m == "link":
            os.link(p, p + ".l")
            os.unlink(p + ".l")
        elif m == "replace":
            with open(p, "rb") as f:
                data = f.read()
            with open(p + ".n", "wb") as f:
                f.write(data)
            os.chmod(p + ".n", 0o755)
            os.rename(p + ".n", p)
    except PermissionError:
        if m == "append" and protect == "off":
            return m + "(refused?)"
        return m + "(refused)"
    return m


# --- the run ---------------------------------------------------------------------
state = os.path.join(DIR, "state")
log = open(os.path.join(DIR, "daemon.log"), "w")
daemon = subprocess.Popen([os.path.join(BUILD, "iotgated"), "--policy", sets[0]["policy"], "--keys-dir",
                           os.path.join(DIR, "keys"), "--state-dir", state], stdout=log, stderr=log)
for _ in range(600):
    try:
        st = request({"cmd": "status"})
        break
    except OSError:
        if daemon.poll() is not None:
            print("execdiff: the daemon exited: see %s/daemon.log" % DIR)
            sys.exit(2)
        time.sleep(0.1)
else:
    print("execdiff: the daemon did not answer")
    sys.exit(2)
if st.get("tier") != "full" or st.get("mode") != "enforce":
    request({"cmd": "stop-enforcing"})
    print("execdiff: iotgate runs in tier %s, mode %s: this test needs the full tier enforcing" %
          (st.get("tier"), st.get("mode")))
    sys.exit(2)

disagree = 0
execs = 0
for rnd, s in enumerate(sets):
    if rnd:
        reply = request({"cmd": "policy-apply", "path": s["policy"]})
        if not reply.get("ok"):
            request({"cmd": "stop-enforcing"})
            print("execdiff: apply of set %d refused: %s" % (rnd + 1, reply))
            sys.exit(2)
    trusted = apply_model(s)
    opened_w = set()
    muts = {}
    for c in cases:
        if rng.random() < 0.3:
            muts[c["i"]] = mutate(c, s["protect"], opened_w)
    for c in rng.sample(cases, len(cases)):
        want = model_allows(trusted, opened_w, c["path"])
        got, how = kernel_allows(c["path"])
        execs += 1
        if want != got:
            disagree += 1
            print("DISAGREE seed=%d set=%d protect=%s case=%d %s%s listed=%s change=%s: model %s, kernel %s (%s)" %
                  (SEED, rnd + 1, s["protect"], c["i"], "elf" if c["elf"] else "script",
                   "" if c["interp"] is None else "(interpreter case %d)" % c["interp"],
                   s["listed"].get(c["i"], "no"), muts.get(c["i"], "none"),
                   "allow" if want else "deny", "allow" if got else "deny", how))
reply = request({"cmd": "stop-enforcing"})
daemon.wait(timeout=60)
print("execdiff: %d files, %d execs over 2 policy sets, seed %d: %d disagreements" %
      (len(cases), execs, SEED, disagree))
sys.exit(1 if disagree else 0)
