#!/usr/bin/env bats
# SPDX-License-Identifier: GPL-2.0-only
# Forwarded traffic (iotgate.conf(5) 'forward'): a router namespace R with
# ip_forward=1 between two client namespaces: CA:cA 10.91.1.2 <-> R:rA
# 10.91.1.1 and CB:cB 10.91.2.2 <-> R:rB 10.91.2.1, each client routed
# through R. The daemon runs in R and governs R's interfaces; the clients'
# traffic to each other only crosses R (no socket of R sends or receives it).

load ../lib/common

NS_PREFIX=igfw$$

setup_file() {
	"$TOP/scripts/host-setup"
	modprobe veth 2>/dev/null || true
}

setup() {
	ig_cleanup
	T=$(mktemp -d)
	NSR=${NS_PREFIX}r$BATS_TEST_NUMBER
	NSCA=${NS_PREFIX}a$BATS_TEST_NUMBER
	NSCB=${NS_PREFIX}b$BATS_TEST_NUMBER
	for ns in "$NSR" "$NSCA" "$NSCB"; do ip netns add "$ns"; done
	ip link add rA netns "$NSR" type veth peer name cA netns "$NSCA"
	ip link add rB netns "$NSR" type veth peer name cB netns "$NSCB"
	for ns in "$NSR" "$NSCA" "$NSCB"; do ip -n "$ns" link set lo up; done
	ip -n "$NSR" link set rA up
	ip -n "$NSR" link set rB up
	ip -n "$NSCA" link set cA up
	ip -n "$NSCB" link set cB up
	cp "$B/tests/ignet" "$T/allowed"
	sha256sum "$T/allowed" >"$T/manifest.sha256"
	SRVS=()
	for ns in "$NSR" "$NSCA" "$NSCB"; do
		serve "$ns" udp 7001
		serve "$ns" tcp 7000
	done
}

# routed: R routes between 10.91.1.0/24 (rA) and 10.91.2.0/24 (rB).
routed() {
	ip -n "$NSR" addr add 10.91.1.1/24 dev rA
	ip -n "$NSR" addr add 10.91.2.1/24 dev rB
	ip -n "$NSCA" addr add 10.91.1.2/24 dev cA
	ip -n "$NSCB" addr add 10.91.2.2/24 dev cB
	ip -n "$NSCA" route add default via 10.91.1.1
	ip -n "$NSCB" route add default via 10.91.2.1
	ip netns exec "$NSR" sysctl -qw net.ipv4.ip_forward=1
}

# serve NS PROTO PORT: an echo server in NS, up before the tests go on.
serve() {
	ip netns exec "$1" "$B/tests/ignet" serve "$2" "$3" >/dev/null 2>&1 &
	SRVS+=($!)
}

teardown() {
	ig_cleanup
	for p in ${SRVS[@]+"${SRVS[@]}"}; do kill "$p" 2>/dev/null || true; done
	for ns in "$NSR" "$NSCA" "$NSCB"; do ip netns del "$ns" 2>/dev/null || true; done
	rm -rf "$T"
}

fw_policy() {
	{
		printf 'version 1\nmode audit\nmanifest manifest.sha256\n'
		printf '%s\n' "$@"
	} >"$T/iotgate.conf"
}

fw_start() {
	IG_NETNS=$NSR ig_start
}

# nsrun NS CMD...: CMD in NS's network namespace only.
nsrun() {
	local ns=$1
	shift
	nsenter --net="/run/netns/$ns" "$@"
}

# reach NS ADDR: a UDP datagram from NS to ADDR is echoed (tries for 1 s
# while the servers start).
reach() {
	local out
	for _ in $(seq 10); do
		out=$(nsrun "$1" "$B/tests/ignet" udp "$2" 7001) && [[ $out == ok ]] && return 0
		sleep 0.1
	done
	echo "no echo from $2 in $1: $out" >&2
	return 1
}

# unreached NS ADDR: the datagram or its answer is lost.
unreached() {
	local out
	out=$(nsrun "$1" "$B/tests/ignet" udp "$2" 7001) || true
	[[ $out == ETIMEDOUT ]] || {
		echo "expected no echo from $2 in $1, got $out" >&2
		return 1
	}
}

# our filters on DEV's HOOK (ingress or egress) in R
filters() {
	tc -n "$NSR" filter show dev "$1" "$2" | grep -c 'handle 0x1914' || true
}

@test "forward deny: traffic routed through the interface is dropped both ways and reported; R's own sockets are unaffected" {
	routed
	fw_policy "interface rA forward deny" "allow program $T/allowed on *"
	# Before the rules R forwards.
	reach "$NSCA" 10.91.2.2
	probe ok nsrun "$NSCA" "$B/tests/ignet" tcp 10.91.2.2 7000
	fw_start
	unreached "$NSCA" 10.91.2.2
	# CB -> CA leaves R through rA: refused there.
	unreached "$NSCB" 10.91.1.2
	probe ETIMEDOUT nsrun "$NSCA" "$B/tests/ignet" tcp 10.91.2.2 7000
	# R's own traffic on rA and rB: sockets, judged by the other rules.
	probe ok nsrun "$NSR" "$T/allowed" tcp 10.91.1.2 7000
	probe ok nsrun "$NSR" "$T/allowed" tcp 10.91.2.2 7000
	reach "$NSR" 10.91.1.2
	# Clients reach R itself through rA.
	reach "$NSCA" 10.91.1.1
	reach "$NSCA" 10.91.2.1
	[ "$(filters rA ingress)" -eq 1 ]
	[ "$(filters rA egress)" -eq 1 ]
	[ "$(filters rB ingress)" -eq 0 ]
	run "$CTL" status --json
	[ "$status" -eq 0 ]
	echo "$output" | jq -e '.net.counters.ipv4.dropped >= 2'
	echo "$output" | jq -e '[.net.violations[] | select(.op == "forward" and .type == "net" and .verdict == "deny" and .interface == "rA")] | length >= 2'
	echo "$output" | jq -e '[.net.violations[] | select(.op == "forward" and (.detail | test("^ipv4 forward (in|out) through rA \\(index [0-9]+\\) (udp|tcp)$")))] | length >= 2'
	echo "$output" | jq -e '[.net.interfaces[] | select(.name == "rA")] | length == 1'
}

@test "forward allow passes and is counted; a disabled interface drops forwarded traffic unless it says forward allow" {
	routed
	fw_policy "interface rA forward allow"
	fw_start
	reach "$NSCA" 10.91.2.2
	probe ok nsrun "$NSCA" "$B/tests/ignet" tcp 10.91.2.2 7000
	[ "$(jget '.net.counters.ipv4.allowed')" -ge 2 ]
	ig_cleanup
	fw_policy "interface rB disable"
	fw_start
	unreached "$NSCA" 10.91.2.2
	probe ETIMEDOUT nsrun "$NSCA" "$B/tests/ignet" tcp 10.91.2.2 7000
	jget '.net.violations' | jq -e '[.[] | select(.op == "forward" and .interface == "rB")] | length >= 1'
	ig_cleanup
	fw_policy "interface rB disable forward allow"
	fw_start
	reach "$NSCA" 10.91.2.2
	# R's own sockets on the disabled interface stay refused.
	probe ETIMEDOUT nsrun "$NSR" "$T/allowed" tcp 10.91.2.2 7000
}

@test "a bridge cannot carry frames through a port with forward deny; the bridge's own address still answers" {
	ip -n "$NSR" link add br0 type bridge
	ip -n "$NSR" link set rA master br0
	ip -n "$NSR" link set rB master br0
	# Frames for the bridge through rA are then not for rA's own address.
	ip -n "$NSR" link set br0 address "$(ip -n "$NSR" -br link show rB | awk '{ print $3 }')"
	ip -n "$NSR" link set br0 up
	ip -n "$NSR" addr add 10.93.0.1/24 dev br0
	ip -n "$NSCA" addr add 10.93.0.2/24 dev cA
	ip -n "$NSCB" addr add 10.93.0.3/24 dev cB
	reach "$NSCA" 10.93.0.3
	fw_policy "interface rA forward deny"
	fw_start
	unreached "$NSCA" 10.93.0.3
	unreached "$NSCB" 10.93.0.2
	reach "$NSCA" 10.93.0.1
	reach "$NSCB" 10.93.0.1
	# A new address of the bridge is followed (an address the clients resolve afresh).
	ip -n "$NSR" link set br0 address 02:93:00:00:00:01
	ip -n "$NSR" addr add 10.93.0.11/24 dev br0
	reach "$NSCA" 10.93.0.11
	unreached "$NSCA" 10.93.0.3
	jget '.net.violations' | jq -e '[.[] | select(.op == "forward" and .interface == "rA")] | length >= 1'
	# The port with its forward verdict allowed: bridged again.
	fw_policy "interface rA forward allow"
	ig_sign "$T/iotgate.conf"
	"$CTL" policy apply "$T/iotgate.conf"
	reach "$NSCA" 10.93.0.3
}

@test "audit mode reports forwarded traffic without dropping it" {
	routed
	fw_policy "access-mode audit" "interface rA forward deny"
	fw_start
	reach "$NSCA" 10.91.2.2
	[ "$(jget '.net.counters.ipv4.audited')" -ge 1 ]
	jget '.net.violations' | jq -e '[.[] | select(.op == "forward" and .verdict == "audit" and .interface == "rA")] | length >= 1'
}

@test "restart re-adopts the filters (one per hook), an interface that appears gets them, stop-enforcing removes them" {
	routed
	fw_policy "interface rA forward deny" "interface rC forward deny"
	fw_start
	unreached "$NSCA" 10.91.2.2
	kill -KILL "$DPID"
	wait "$DPID" 2>/dev/null || true
	# No daemon: the filters stay in force.
	unreached "$NSCA" 10.91.2.2
	[ "$(filters rA ingress)" -eq 1 ]
	fw_start
	[ "$(filters rA ingress)" -eq 1 ]
	[ "$(filters rA egress)" -eq 1 ]
	unreached "$NSCA" 10.91.2.2
	jget '.net.violations' | jq -e '[.[] | select(.op == "forward" and .interface == "rA")] | length >= 1'
	# A declared interface that appears later.
	ip -n "$NSR" link add rC type veth peer name cC
	for _ in $(seq 50); do
		[ "$(filters rC ingress)" -eq 1 ] && break
		sleep 0.1
	done
	[ "$(filters rC ingress)" -eq 1 ]
	[ "$(filters rC egress)" -eq 1 ]
	"$CTL" stop-enforcing
	[ "$(filters rA ingress)" -eq 0 ]
	[ "$(filters rA egress)" -eq 0 ]
	[ "$(filters rC ingress)" -eq 0 ]
	reach "$NSCA" 10.91.2.2
}
