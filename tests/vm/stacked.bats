#!/usr/bin/env bats
# SPDX-License-Identifier: GPL-2.0-only
# Full tier: devices stacked on a declared interface carry its socket rules
# (iotgate.conf(5), interface-changes). rt2 (10.99.0.1) here, its veth peer
# rt2p in NSA with a UDP echo server on every address: 10.99.0.2, a VLAN
# rt2p.5 (10.98.5.2) and 10.97.0.2 for a macvlan on rt2. The rule denies
# the program "denied" on rt2; "allowed" (the same content, another file)
# may use it.

load ../lib/common

setup_file() {
	modprobe veth
	modprobe 8021q
	modprobe macvlan
}

setup() {
	ig_cleanup
	T=$(mktemp -d)
	chmod 755 "$T"
	ig_ignet_pair
	PIDS=()
	NSA=igsta
	NSB=igstb
	ip netns add "$NSA"
	ip netns add "$NSB"
	ig_rt2_peer "$NSA"
	ip -n "$NSA" addr add 10.97.0.2/24 dev rt2p
	ip -n "$NSA" link add link rt2p name rt2p.5 type vlan id 5
	ip -n "$NSA" addr add 10.98.5.2/24 dev rt2p.5
	ip -n "$NSA" link set rt2p.5 up
	ip netns exec "$NSA" "$B/tests/ignet" serve tcp 7000 >/dev/null 2>&1 &
	PIDS+=($!)
}

teardown() {
	ig_cleanup
	for p in "${PIDS[@]}"; do kill "$p" 2>/dev/null || true; done
	for l in rt2.5 rt2.6 mv2 rt2; do ip link del "$l" 2>/dev/null || true; done
	ip netns del "$NSA" 2>/dev/null || true
	ip netns del "$NSB" 2>/dev/null || true
	rm -rf "$T"
}

st_policy() {
	{
		printf 'version 1\nmode audit\nmanifest manifest.sha256\n'
		printf '%s\n' "interface rt2" "deny program $T/denied on rt2" "$@"
	} >"$T/iotgate.conf"
}

# vlan NAME: a VLAN (id 5) on rt2 at 10.98.5.1, answered by rt2p.5
vlan() {
	ip link add link rt2 name "$1" type vlan id 5
	ip addr add 10.98.5.1/24 dev "$1"
	ip link set "$1" up
}

macvlan() {
	ip link add link rt2 name mv2 type macvlan mode bridge
	ip addr add 10.97.0.1/24 dev mv2
	ip link set mv2 up
}

# reachable ADDR: the echo server answers the allowed program there (before the rules too)
reachable() {
	for _ in $(seq 50); do
		"$T/allowed" udp "$1" 7001 >/dev/null && return 0
		ig_nap 0.1
	done
	return 1
}

nobody() {
	setpriv --reuid 65534 --regid 65534 --clear-groups "$@"
}

# judged ADDR DEV: the allowed program passes through DEV, the denied one does not,
# as root, as nobody, UDP, TCP and a packet socket on DEV
judged() {
	probe ok "$T/allowed" udp "$1" 7001
	probe ok "$T/allowed" tcp "$1" 7000
	probe EPERM "$T/denied" udp "$1" 7001
	probe ETIMEDOUT "$T/denied" tcp "$1" 7000
	probe ok nobody "$T/allowed" udp "$1" 7001
	probe EPERM nobody "$T/denied" udp "$1" 7001
	probe ok "$T/allowed" packet "$2" send
	probe EPERM "$T/denied" packet "$2" send
	probe EPERM "$T/denied" udp "$1" 7001 "$2"
}

# other_netns ADDR DEV: from another network namespace DEV is not there, and
# cannot be moved there (root; nobody cannot move anything)
other_netns() {
	probe ENETUNREACH nsenter --net="/run/netns/$NSB" "$T/denied" udp "$1" 7001
	probe ENETUNREACH nsenter --net="/run/netns/$NSB" setpriv --reuid 65534 --regid 65534 --clear-groups "$T/denied" udp "$1" 7001
	probe ENODEV nsenter --net="/run/netns/$NSB" "$T/denied" packet "$2" send
	run ip link set "$2" netns "$NSB"
	[[ $status -ne 0 && $output == *"Operation not permitted"* ]]
	ip link show "$2" >/dev/null
	grep -q "denied move to another namespace of controlled interface $2" "$T/daemon.log"
}

@test "a VLAN made on the declared interface before the daemon carries its rules: root, nobody, packet sockets, another namespace; status names rules_from" {
	vlan rt2.5
	reachable 10.98.5.2
	# The attack before the rules: the denied program gets through the VLAN.
	probe ok "$T/denied" udp 10.98.5.2 7001
	st_policy
	ig_start
	judged 10.98.5.2 rt2.5
	other_netns 10.98.5.2 rt2.5
	[ "$(jget '.net.interfaces[] | select(.name == "rt2.5") | .rules_from')" = rt2 ]
	[ "$(jget '.net.interfaces[] | select(.name == "rt2") | .rules_from')" = null ]
	run jget '.reasons[].code'
	[[ $output != *stacked_on_declared* ]]
	# Deleted and made again under the same name it is still judged (interface-changes allow).
	"$CTL" stop-enforcing >/dev/null
	wait "$DPID" 2>/dev/null || true
	rm -rf "$T/state"
	st_policy "interface-changes allow"
	ig_start
	judged 10.98.5.2 rt2.5
	ip link del rt2.5
	vlan rt2.6
	reachable 10.98.5.2
	judged 10.98.5.2 rt2.6
	[ "$(jget '.net.interfaces[] | select(.name == "rt2.6") | .rules_from')" = rt2 ]
}

@test "a VLAN made while the daemon runs (interface-changes allow) carries the rules; without allow it is refused" {
	st_policy "interface-changes allow"
	ig_start
	vlan rt2.5
	reachable 10.98.5.2
	judged 10.98.5.2 rt2.5
	"$CTL" stop-enforcing >/dev/null
	wait "$DPID" 2>/dev/null || true
	rm -rf "$T/state"
	ip link del rt2.5
	st_policy
	ig_start
	run ip link add link rt2 name rt2.5 type vlan id 5
	[[ $status -ne 0 && $output == *"Operation not permitted"* ]]
}

@test "a macvlan made on the declared interface before the daemon carries its rules (root, nobody, another namespace)" {
	macvlan
	reachable 10.97.0.2
	probe ok "$T/denied" udp 10.97.0.2 7001
	st_policy
	ig_start
	judged 10.97.0.2 mv2
	other_netns 10.97.0.2 mv2
	[ "$(jget '.net.interfaces[] | select(.name == "mv2") | .rules_from')" = rt2 ]
}

@test "a stacked device with a declaration of its own: the stricter of its rules and the lower device's" {
	vlan rt2.5
	reachable 10.98.5.2
	# rt2.5 would allow the denied program; rt2 below it does not.
	st_policy "interface rt2.5 default deny" "allow program $T/denied on rt2.5" \
		"allow program $T/allowed on rt2.5"
	ig_start
	probe ok "$T/allowed" udp 10.98.5.2 7001
	probe EPERM "$T/denied" udp 10.98.5.2 7001
	probe EPERM nobody "$T/denied" udp 10.98.5.2 7001
	[ "$(jget '.net.interfaces[] | select(.name == "rt2.5") | .policy + " " + .rules_from')" = "rt2.5 rt2" ]
	# Its own rules still count: a program neither allows is refused there.
	cp "$B/tests/ignet" "$T/other"
	probe EPERM "$T/other" udp 10.98.5.2 7001
	probe ok "$T/other" udp 10.99.0.2 7001
}
