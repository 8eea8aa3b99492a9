#!/usr/bin/env bats
# SPDX-License-Identifier: GPL-2.0-only
# Forwarded traffic through stacked devices the host kernel cannot make
# (no 8021q here): the router and client namespaces of tests/lib/forward.bash
# in the VM. tests/host/forward.bats has the rest (macvlan, VXLAN, bridge).

load ../lib/common
load ../lib/forward

@test "a VLAN on a forward deny interface takes its verdict, made before the daemon and after (interface-changes allow); made without allow it is refused" {
	modprobe 8021q
	routed
	ip -n "$NSR" link add link rA name rA.5 type vlan id 5
	ip -n "$NSCA" link add link cA name cA.5 type vlan id 5
	ip -n "$NSCA" link set cA.5 up
	stacked_route rA.5 10.91.3.2 cA.5
	reach "$NSCA" 10.91.2.2
	fw_policy "interface rA forward deny" "interface-changes allow"
	fw_start
	wait_filters rA.5
	unreached "$NSCA" 10.91.2.2
	# Dropped entering rA.5: on rA the frame was for another address.
	[ "$(violations_on rA.5 in)" -ge 1 ]
	[ "$(fwd_of rA.5)" = "deny from rA" ]
	# One made while the daemon runs.
	ip -n "$NSR" link del rA.5
	ip -n "$NSR" link add link rA name rA.6 type vlan id 5
	ip -n "$NSR" link set rA.6 address 02:91:00:00:00:0a up
	ip -n "$NSR" addr add 10.91.3.1/24 dev rA.6
	wait_filters rA.6
	unreached "$NSCA" 10.91.2.2
	[ "$(violations_on rA.6 in)" -ge 1 ]
	[ "$(fwd_of rA.6)" = "deny from rA" ]
	# Without interface-changes allow the full tier refuses making one.
	fw_apply "interface rA forward deny"
	run ip -n "$NSR" link add link rA name rA.7 type vlan id 7
	[ "$status" -ne 0 ]
	[[ $output == *"Operation not permitted"* ]]
}
