#!/usr/bin/env bats
# SPDX-License-Identifier: GPL-2.0-only
# Forwarded traffic (iotgate.conf(5) 'forward') on this machine's kernel:
# the router and client namespaces of tests/lib/forward.bash.

load ../lib/common
load ../lib/forward

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
	bridged
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
	fw_apply "interface rA forward allow"
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
	wait_filters rC
	"$CTL" stop-enforcing
	[ "$(filters rA ingress)" -eq 0 ]
	[ "$(filters rA egress)" -eq 0 ]
	[ "$(filters rC ingress)" -eq 0 ]
	reach "$NSCA" 10.91.2.2
}

@test "a macvlan stacked on a forward deny interface takes its verdict, made before the daemon and after; status shows it" {
	routed
	ip -n "$NSR" link add link rA name mvA type macvlan mode bridge
	stacked_route mvA 10.91.3.2
	reach "$NSCA" 10.91.2.2
	fw_policy "interface rA forward deny"
	fw_start
	wait_filters mvA
	unreached "$NSCA" 10.91.2.2
	# Dropped entering mvA (rA's hooks saw a frame for another address).
	[ "$(violations_on mvA in)" -ge 1 ]
	[ "$(fwd_of mvA)" = "deny from rA" ]
	[ "$(fwd_of rA)" = "deny" ]
	[ "$(fwd_of rB)" = "none" ]
	jget '.net.interfaces[] | select(.name == "mvA") | .forward_filter' | grep -qx true
	jget '.net.interfaces[] | select(.name == "rB") | .forward_filter' | grep -qx false
	run "$CTL" status
	[[ $output == *"interface: rA: rules of rA, default allow, forward deny"$'\n'* ]]
	[[ $output == *"interface: mvA: not declared, default allow, forward deny from rA"* ]]
	[[ $output != *"interface: rB"* ]]
	# One made while the daemon runs.
	ip -n "$NSR" link del mvA
	ip -n "$NSR" link add link rA name mvA2 type macvlan mode bridge
	ip -n "$NSR" link set mvA2 address 02:91:00:00:00:0a up
	ip -n "$NSR" addr add 10.91.3.1/24 dev mvA2
	wait_filters mvA2
	unreached "$NSCA" 10.91.2.2
	[ "$(violations_on mvA2 in)" -ge 1 ]
	# The lower device's verdict changes: the stacked one follows.
	fw_apply "interface rA forward allow"
	reach "$NSCA" 10.91.2.2
	[ "$(fwd_of mvA2)" = "allow from rA" ]
}

@test "a VXLAN tunnel whose underlay is a forward deny interface takes its verdict (made after the daemon started)" {
	routed
	fw_policy "interface rA forward deny"
	fw_start
	# Its outer packets are R's own (the kernel's tunnel socket): rA's hooks let them pass.
	ip -n "$NSR" link add vxA type vxlan id 91 dstport 4789 local 10.91.1.1 remote 10.91.1.2 dev rA
	ip -n "$NSCA" link add vxC type vxlan id 91 dstport 4789 local 10.91.1.2 remote 10.91.1.1 dev cA
	ip -n "$NSR" link set vxA up
	ip -n "$NSCA" link set vxC up
	ip -n "$NSR" addr add 10.91.4.1/24 dev vxA
	ip -n "$NSCA" addr add 10.91.4.2/24 dev vxC
	ip -n "$NSCA" route add 10.91.2.2/32 via 10.91.4.1 src 10.91.4.2
	wait_filters vxA
	[ "$(fwd_of vxA)" = "deny from rA" ]
	unreached "$NSCA" 10.91.2.2
	[ "$(violations_on vxA in)" -ge 1 ]
	# The tunnel itself works: with forward allow the same path carries it.
	fw_apply "interface rA forward allow"
	reach "$NSCA" 10.91.2.2
}

@test "the ports of a bridge with forward deny take its verdict: nothing is bridged between them, the bridge's own address answers, a released port is free" {
	bridged
	fw_policy "interface br0 forward deny"
	fw_start
	wait_filters rA
	wait_filters rB
	unreached "$NSCA" 10.93.0.3
	unreached "$NSCB" 10.93.0.2
	reach "$NSCA" 10.93.0.1
	reach "$NSCB" 10.93.0.1
	[ "$(fwd_of rA)" = "deny from br0" ]
	[ "$(violations_on rA in)" -ge 1 ]
	ip -n "$NSR" link set rB nomaster
	wait_filters rB 0
	[ "$(fwd_of rB)" = "none" ]
	[ "$(filters rA ingress)" -eq 1 ]
}
