#!/usr/bin/env bats
# SPDX-License-Identifier: GPL-2.0-only
# Full tier (Debian 6.1 kernel with BPF LSM, inside scripts/vm-run): device
# nodes gated per measured program by the cgroup device program (the same in
# both tiers: it sees the opener, and costs nothing on other files' opens).
# Nodes are made with mknod in a temporary directory: char 1:7 (/dev/full's
# numbers) and char 1:1 (/dev/mem's). Two copies of tests/helpers/ignet, "allowed"
# and "denied", are the programs.

load ../lib/common

setup() {
	ig_cleanup
	T=$(mktemp -d)
	chmod 755 "$T"
	ig_ignet_pair
	mknod -m 666 "$T/full" c 1 7
	mkdir "$T/dev"
}

teardown() {
	ig_cleanup
	rm -rf "$T"
}

dev_policy() {
	{
		printf 'version 1\nmode audit\nmanifest manifest.sha256\n'
		printf '%s\n' "$@"
	} >"$T/iotgate.conf"
}

dev_start() {
	ig_start
}

@test "full tier: the cgroup device program decides per program" {
	dev_policy "allow program $T/allowed device char 1:7"
	dev_start
	jget '.net.features.devices' | grep -qx cgroup
	[ -e "$PIN_DIR/link_ig_dev" ]
	probe ok "$T/allowed" open "$T/full" rw
	probe EPERM "$T/denied" open "$T/full" r
	probe EPERM "$T/denied" open /dev/full w
	# A node made after the rules were loaded, anywhere: the numbers decide.
	mknod -m 666 "$T/dev/again" c 1 7
	probe EPERM "$T/denied" open "$T/dev/again" rw
	probe ok "$T/allowed" open "$T/dev/again" r
	probe ok "$T/denied" open /dev/null rw
	run "$CTL" status --json
	echo "$output" | jq -e '.net.counters.device.denied >= 3 and .net.counters.device.allowed >= 2'
	echo "$output" | jq -e '[.net.violations[] | select(.type == "device" and .minor == 7 and .comm == "denied" and .op == "open")] | length >= 1'
}

@test "/dev/mem and friends denied to all; per access and per uid" {
	dev_policy "deny anyone device class mem" \
		"allow uid 65534 device char 1:7 read" \
		"allow program $T/allowed device $T/full write"
	mknod "$T/mem" c 1 1
	dev_start
	probe EPERM "$T/allowed" open "$T/mem" r
	probe EPERM "$T/allowed" open /dev/mem r
	probe ok setpriv --reuid 65534 --regid 65534 --clear-groups "$T/denied" open "$T/full" r
	probe EPERM setpriv --reuid 65534 --regid 65534 --clear-groups "$T/denied" open "$T/full" w
	probe EPERM "$T/denied" open "$T/full" r
	probe ok "$T/allowed" open "$T/full" w
	probe EPERM "$T/allowed" open "$T/full" r
}

# ioport OP: ioperm(0x80) or iopl(3) through python3's ctypes; prints ok or the error
ioport() {
	python3 -c 'import ctypes, os, sys
l = ctypes.CDLL(None, use_errno=True)
r = l.ioperm(0x80, 1, 1) if sys.argv[1] == "ioperm" else l.iopl(3)
print("ok" if r == 0 else os.strerror(ctypes.get_errno()))' "$1"
}

# I/O ports (ioperm, iopl) exist on x86 only; on other architectures the side
# doors of class mem are /proc/kcore and the device nodes.
@test "device class mem covers the side doors: /proc/kcore, ioperm and iopl (x86), as root" {
	local ports=
	[[ $(uname -m) == x86_64 || $(uname -m) == i?86 ]] && ports=1
	[[ -n $ports ]] || echo "# no I/O ports on $(uname -m): ioperm and iopl not tried" >&3
	probe ok "$T/denied" open /proc/kcore r
	if [[ -n $ports ]]; then
		[ "$(ioport ioperm)" = ok ]
		[ "$(ioport iopl)" = ok ]
	fi
	dev_policy "deny anyone device class mem" \
		"allow program $T/allowed device char 1:1 read"
	dev_start
	probe EPERM "$T/denied" open /proc/kcore r
	probe ok "$T/allowed" open /proc/kcore r
	if [[ -n $ports ]]; then
		[ "$(ioport ioperm)" = "Operation not permitted" ]
		[ "$(ioport iopl)" = "Operation not permitted" ]
	fi
	run "$CTL" status --json
	# ioperm and iopl are judged as /dev/port (1:4)
	if [[ -n $ports ]]; then
		echo "$output" | jq -e '[.net.violations[] | select(.type == "device" and .major == 1 and .minor == 4)] | length >= 1'
	fi
	echo "$output" | jq -e '[.net.violations[] | select(.type == "device" and .major == 1 and .minor == 1 and .comm == "denied")] | length >= 1'
	[ -e "$PIN_DIR/link_ig_locked_down" ]
}

@test "a path named by the policy that appears later (hotplug) is gated once it exists" {
	dev_policy "allow program $T/allowed device $T/dev/ttyHOT"
	dev_start
	probe ok "$T/denied" open /dev/full r
	mknod -m 666 "$T/dev/ttyHOT" c 1 7
	ig_nap 0.1
	probe EPERM "$T/denied" open /dev/full r
	probe ok "$T/allowed" open "$T/dev/ttyHOT" rw
}
