#!/usr/bin/env bats
# SPDX-License-Identifier: GPL-2.0-only
# Device rules on this machine's kernel (partial tier: the cgroup device
# program on the cgroup v2 root). The gated numbers are char 1:7 (/dev/full)
# and char 1:1 (/dev/mem, absent here: opening a node of it gives ENXIO unless
# the rules refuse first). Two copies of tests/helpers/ignet, "allowed" and "denied",
# are the programs. The daemon runs in a network namespace of its own so its
# (empty) interface rules govern nothing of the host.

load ../lib/common

setup_file() {
	"$TOP/scripts/host-setup"
}

setup() {
	ig_cleanup
	T=$(mktemp -d)
	chmod 755 "$T"
	NS=igdev$$n$BATS_TEST_NUMBER
	ip netns add "$NS"
	cp "$B/tests/ignet" "$T/allowed"
	cp "$B/tests/ignet" "$T/denied"
	sha256sum "$T/allowed" "$T/denied" >"$T/manifest.sha256"
	mknod -m 666 "$T/full" c 1 7
	mkdir "$T/dev"
}

teardown() {
	ig_cleanup
	ip netns del "$NS" 2>/dev/null || true
	rm -rf "$T"
}

dev_policy() {
	{
		printf 'version 1\nmode audit\nmanifest manifest.sha256\n'
		printf '%s\n' "$@"
	} >"$T/iotgate.conf"
}

dev_start() {
	IG_NETNS=$NS ig_start
}

@test "a gated device: the allowed program opens it, others get EPERM, whatever node or path" {
	dev_policy "allow program $T/allowed device char 1:7"
	probe ok "$T/denied" open "$T/full" r
	dev_start
	probe ok "$T/allowed" open "$T/full" rw
	probe EPERM "$T/denied" open "$T/full" r
	# The kernel's own node and one made after the rules were loaded: same numbers, same rule.
	probe EPERM "$T/denied" open /dev/full w
	mknod -m 666 "$T/dev/another" c 1 7
	probe EPERM "$T/denied" open "$T/dev/another" rw
	probe ok "$T/allowed" open "$T/dev/another" rw
	# Other devices are not gated.
	probe ok "$T/denied" open /dev/null rw
	run "$CTL" status --json
	echo "$output" | jq -e '.net.features.devices == "cgroup" and .net.gated_devices == 1'
	echo "$output" | jq -e '.net.counters.device.denied >= 3 and .net.counters.device.allowed >= 2'
	echo "$output" | jq -e '[.net.violations[] | select(.type == "device" and .major == 1 and .minor == 7 and .comm == "denied")] | length >= 1'
	grep -q "denied open of char 1:7" "$T/daemon.log"
}

@test "a device refusal reaches events, syslog, the status ring and the per-type counter" {
	dev_policy "allow program $T/allowed device char 1:7"
	ig_syslog_capture
	dev_start
	ig_events_start
	probe ok "$T/allowed" open "$T/full" r
	probe EPERM "$T/denied" open "$T/full" r
	ig_wait_file "$T/events" '"type":"device"'
	ig_wait_file "$T/syslog" 'type="device"'
	cat "$T/events" "$T/syslog"
	jq -s -e '[.[] | select(.event == "violation" and .type == "device" and .verdict == "deny" and .reason == "device_rule" and .comm == "denied" and .major == 1 and .minor == 7 and .detail == "open of char 1:7 for read")] | length == 1' "$T/events"
	# the allowed open is no violation
	jq -s -e '[.[] | select(.event == "violation" and .comm == "allowed")] | length == 0' "$T/events"
	# syslog: authpriv.warning (10 * 8 + 4), the RFC 5424 line with what was refused
	grep -qE '^b.<84>1 [^ ]+ [^ ]+ iotgated [0-9]+ device \[iotgate@32473 [^]]*type="device" verdict="deny" reason="device_rule" path="" comm="denied" pid="[0-9]+" uid="0" detail="open of char 1:7 for read" gid="0"[^]]*\] iotgate device deny: open of char 1:7 for read' "$T/syslog"
	run "$CTL" status --json
	echo "$output" | jq -e '[.violations[] | select(.type == "device" and .comm == "denied")] | length == 1'
	echo "$output" | jq -e '.counters.violations.device == 1 and .counters.violations.net == 0'
	"$CTL" metrics | grep -qx 'iotgate_violations_total{type="device"} 1'
}

@test "/dev/mem and friends denied to everyone, root included" {
	dev_policy "deny anyone device class mem"
	mknod "$T/mem" c 1 1
	mknod "$T/port" c 1 4
	# Without rules the driver answers (it is not built here: ENXIO).
	probe ENXIO "$T/allowed" open "$T/mem" r
	dev_start
	probe EPERM "$T/allowed" open "$T/mem" r
	probe EPERM "$T/allowed" open "$T/port" r
	probe ok "$T/allowed" open "$T/full" r
}

@test "per access and per uid" {
	dev_policy "allow uid 65534 device char 1:7 read" \
		"allow program $T/allowed device $T/full write"
	dev_start
	probe ok setpriv --reuid 65534 --regid 65534 --clear-groups "$T/denied" open "$T/full" r
	probe EPERM setpriv --reuid 65534 --regid 65534 --clear-groups "$T/denied" open "$T/full" w
	probe EPERM "$T/denied" open "$T/full" r
	probe ok "$T/allowed" open "$T/full" w
	probe EPERM "$T/allowed" open "$T/full" r
	# The program's rules say nothing about reading: as uid 65534 its uid's rule decides.
	probe ok setpriv --reuid 65534 --regid 65534 --clear-groups "$T/allowed" open "$T/full" r
}

@test "the per-CPU decision cache never hands one task's allowed answer to another on the same CPU" {
	# The cache remembers the last allowed open per CPU. An allowed and a
	# denied program opening the same device in tight loops on one CPU (root,
	# and the denied one also as uid 65534): every denied open must be refused
	# and every allowed one must pass, however their opens interleave.
	dev_policy "allow program $T/allowed device char 1:7"
	dev_start
	n=20000
	taskset -c 0 "$T/allowed" open-count "$T/full" $n >"$T/a1" &
	a=$!
	taskset -c 0 "$T/denied" open-count "$T/full" $n >"$T/d1" &
	d=$!
	taskset -c 0 setpriv --reuid 65534 --regid 65534 --clear-groups "$T/denied" open-count "$T/full" $n >"$T/d2" &
	u=$!
	wait $a && wait $d && wait $u
	cat "$T/a1" "$T/d1" "$T/d2"
	grep -qx "opened $n refused 0" "$T/a1"
	grep -qx "opened 0 refused $n" "$T/d1"
	grep -qx "opened 0 refused $n" "$T/d2"
	# Each refusal was judged, not taken from the cache: all counted.
	[ "$(jget .net.counters.device.denied)" -ge $((2 * n)) ]
}

@test "a path the policy names that appears later (hotplug) is gated once it exists" {
	dev_policy "allow program $T/allowed device $T/dev/ttyLATE rw"
	dev_start
	jget '.net.notes[0]' | grep -q "ttyLATE: No such file or directory"
	probe ok "$T/denied" open /dev/full r
	mknod -m 666 "$T/dev/ttyLATE" c 1 7
	sleep 0.1
	probe EPERM "$T/denied" open /dev/full r
	probe ok "$T/allowed" open "$T/dev/ttyLATE" r
	jget '.net.gated_devices' | grep -qx 1
}

@test "a changed program loses its allow rules; stop-enforcing ungates" {
	dev_policy "allow program $T/allowed device char 1:7"
	dev_start
	probe ok "$T/allowed" open "$T/full" r
	chmod 700 "$T/allowed" # ctime moves: no longer the measured file
	probe EPERM "$T/allowed" open "$T/full" r
	"$CTL" stop-enforcing
	probe ok "$T/denied" open "$T/full" r
	[ ! -e "$PIN_DIR/link_ig_dev" ]
}
