#!/usr/bin/env bats
# SPDX-License-Identifier: GPL-2.0-only
# Full tier (Debian 6.1 kernel with BPF LSM, inside scripts/vm-run): interface
# rules for IP per packet, CAN and packet sockets at bind/send/receive, and
# sockets that follow their user (SCM_RIGHTS). Two copies of tests/helpers/ignet,
# "allowed" and "denied", are the programs. IP runs between two network
# namespaces joined by a veth pair (A:vA 10.77.0.1 <-> B:vB 10.77.0.2,
# A:vA2 10.78.0.1 <-> B:vB2 10.78.0.2), the daemon in A; CAN and packet
# tests run the daemon in the VM's own namespace with vcan0/vcan1 and a
# veth pair pk0/pk1.

load ../lib/common

setup_file() {
	modprobe vcan
	modprobe can_raw
	modprobe veth
}

setup() {
	ig_cleanup
	T=$(mktemp -d)
	chmod 755 "$T"
	ig_ignet_pair
	NSA=
	PIDS=()
}

teardown() {
	ig_cleanup
	for p in "${PIDS[@]}"; do kill "$p" 2>/dev/null || true; done
	[[ -n $NSA ]] && ip netns del "$NSA" && ip netns del "$NSB"
	ip link del vcan0 2>/dev/null || true
	ip link del vcan1 2>/dev/null || true
	ip link del pk0 2>/dev/null || true
	for l in rt2 rt9 rt3 rt4 rt5 br7 br8 br9 vx5 vx6 gre5; do ip link del "$l" 2>/dev/null || true; done
	if [[ -e /run/netns/igroot ]]; then
		umount /run/netns/igroot
		rm -f /run/netns/igroot
	fi
	rm -rf "$T"
}

net_policy() {
	{
		printf 'version 1\nmode audit\nmanifest manifest.sha256\n'
		printf '%s\n' "$@"
	} >"$T/iotgate.conf"
}

# net_start [NETNS]: the daemon, in that network namespace if given
net_start() {
	IG_NETNS=${1:-} ig_start
}

# Stops enforcement, waits for the daemon to exit and forgets the applied
# policy set (else it would win over the next --policy).
net_stop() {
	"$CTL" stop-enforcing >/dev/null
	wait "$DPID" 2>/dev/null || true
	rm -rf "$T/state"
}

inA() {
	nsenter --net="/run/netns/$NSA" "$@"
}

make_netns() {
	NSA=igvma
	NSB=igvmb
	ip netns add "$NSA"
	ip netns add "$NSB"
	ip link add vA netns "$NSA" type veth peer name vB netns "$NSB"
	ip link add vA2 netns "$NSA" type veth peer name vB2 netns "$NSB"
	inA ip addr add 10.77.0.1/24 dev vA
	inA ip addr add 10.78.0.1/24 dev vA2
	ip -n "$NSB" addr add 10.77.0.2/24 dev vB
	ip -n "$NSB" addr add 10.78.0.2/24 dev vB2
	for l in lo vA vA2; do inA ip link set "$l" up; done
	for l in lo vB vB2; do ip -n "$NSB" link set "$l" up; done
	ip netns exec "$NSB" "$B/tests/ignet" serve tcp 7000 >/dev/null 2>&1 &
	PIDS+=($!)
	ip netns exec "$NSB" "$B/tests/ignet" serve udp 7001 >/dev/null 2>&1 &
	PIDS+=($!)
	for _ in $(seq 50); do
		inA "$T/allowed" udp 10.77.0.2 7001 >/dev/null && break
		ig_nap 0.1
	done
}

make_vcan() {
	ip link add vcan0 type vcan
	ip link add vcan1 type vcan
	ip link set vcan0 up
	ip link set vcan1 up
}

@test "full tier: every feature available, no reason given" {
	make_vcan
	net_policy "interface vcan1 disable"
	net_start
	run "$CTL" status --json
	echo "$output" | jq -e '.tier == "full" and .net.active'
	echo "$output" | jq -e '.net.features | .can_packet and .socket_follows_user and .devices == "cgroup" and .existing_sockets_labeled'
	echo "$output" | jq -e '.reasons | map(.code) | index("can_packet_unavailable") == null'
	echo "$output" | jq -e '.net.interfaces[] | select(.name == "vcan1") | .kind == "can" and .disabled'
}

@test "IP: allowed program reaches its peer over the allowed interface, denied program is dropped, other interfaces unaffected" {
	make_netns
	net_policy "interface vA default deny" \
		"allow program $T/allowed on vA"
	net_start "$NSA"
	probe ok inA "$T/allowed" tcp 10.77.0.2 7000
	probe ok inA "$T/allowed" udp 10.77.0.2 7001
	probe EPERM inA "$T/denied" udp 10.77.0.2 7001
	probe ETIMEDOUT inA "$T/denied" tcp 10.77.0.2 7000
	probe ok inA "$T/denied" tcp 10.78.0.2 7000
	probe EPERM inA "$T/denied" udp 10.78.0.2 7001 vA
	jget '.net.counters.ipv4.dropped' | awk '{ exit !($1 >= 2) }'
}

@test "CAN: a program allowed on vcan0 only" {
	make_vcan
	net_policy "interface vcan0 default deny" \
		"interface vcan1 default deny" \
		"allow program $T/allowed on vcan0 can"
	net_start
	probe ok "$T/allowed" can vcan0 send
	probe EPERM "$T/allowed" can vcan1 send
	probe EPERM "$T/denied" can vcan0 send
	# Every CAN interface at once (ifindex 0) needs both.
	probe EPERM "$T/allowed" can any recv
	# Receiving on vcan0: a frame sent there reaches the allowed program.
	"$T/allowed" can vcan0 recv >"$T/recv.out" &
	RECV=$!
	ig_nap 0.5
	probe ok "$T/allowed" can vcan0 send
	wait "$RECV"
	[ "$(cat "$T/recv.out")" = ok ]
	run "$CTL" status --json
	echo "$output" | jq -e '.net.counters.can.denied >= 3 and .net.counters.can.allowed >= 3'
	echo "$output" | jq -e '[.net.violations[] | select(.family == "can" and .op == "bind" and .interface == "vcan1" and .comm == "allowed")] | length >= 1'
	echo "$output" | jq -e '[.net.violations[] | select(.family == "can" and .op == "bind" and .ifindex == 0)] | length >= 1'
}

@test "CAN: BCM, ISO-TP and J1939 sockets are held to the same rules" {
	modprobe can_bcm
	modprobe can_isotp
	modprobe can_j1939
	make_vcan
	net_policy "interface vcan0 default deny" \
		"interface vcan1 default deny" \
		"allow program $T/allowed on vcan0 can"
	net_start
	for p in bcm isotp j1939; do
		probe ok "$T/allowed" can-proto "$p" vcan0
		probe EPERM "$T/allowed" can-proto "$p" vcan1
		probe EPERM "$T/denied" can-proto "$p" vcan0
	done
	jget '.net.counters.can.denied' | awk '{ exit !($1 >= 6) }'
}

@test "CAN: every interface at once for a program allowed on all of them; a new CAN interface takes it back" {
	make_vcan
	net_policy "interface-default deny" \
		"allow program $T/allowed on * can"
	net_start
	"$T/allowed" can any recv >"$T/recv.out" &
	RECV=$!
	ig_nap 0.5
	probe ok "$T/allowed" can vcan1 send
	wait "$RECV"
	[ "$(cat "$T/recv.out")" = ok ]
	probe EPERM "$T/denied" can any recv
	# A CAN interface the policy disables appears: "every interface" no longer holds.
	cat >>"$T/iotgate.conf" <<-EOF
		interface vcan9 disable
		interface-changes allow
	EOF
	net_stop
	net_start
	probe ok "$T/allowed" can vcan0 send
	ip link add vcan9 type vcan
	ip link set vcan9 up
	# until the daemon has taken the new device in (no fixed sleep: an
	# emulated arm64 guest takes longer than 0.1 s)
	for _ in $(seq 100); do
		"$CTL" status --json | jq -e '.net.interfaces | map(select(.name == "vcan9" and .ifindex > 0)) | length == 1' >/dev/null && break
		ig_nap 0.1
	done
	probe EPERM "$T/allowed" can any recv
	probe EPERM "$T/allowed" can vcan9 send
	ip link del vcan9
}

@test "SCM_RIGHTS: a socket handed to another program does not carry the sender's rights (CAN and UDP)" {
	make_vcan
	make_netns
	net_policy "interface vcan0 default deny" \
		"allow program $T/allowed on vcan0 can"
	net_start
	# CAN: the giver binds and sends; the taker may not send on the same socket.
	"$T/allowed" scm-give "$T/can.sock" can vcan0 >"$T/give.out" &
	GIVE=$!
	for _ in $(seq 50); do [[ -s $T/give.out ]] && break; ig_nap 0.1; done
	probe EPERM "$T/denied" scm-take "$T/can.sock"
	wait "$GIVE"
	[ "$(head -1 "$T/give.out")" = ready ]
	# Handing it to a program with the rights works.
	"$T/allowed" scm-give "$T/can2.sock" can vcan0 >"$T/give2.out" &
	GIVE=$!
	for _ in $(seq 50); do [[ -s $T/give2.out ]] && break; ig_nap 0.1; done
	probe ok "$T/allowed" scm-take "$T/can2.sock"
	wait "$GIVE"
	net_stop
	# UDP in namespace A: the socket acts for whoever uses it.
	net_policy "interface vA default deny" \
		"allow program $T/allowed on vA"
	net_start "$NSA"
	nsenter --net="/run/netns/$NSA" "$T/allowed" scm-give "$T/udp.sock" udp 10.77.0.2 7001 >"$T/give3.out" &
	GIVE=$!
	for _ in $(seq 50); do [[ -s $T/give3.out ]] && break; ig_nap 0.1; done
	probe EPERM inA "$T/denied" scm-take "$T/udp.sock"
	wait "$GIVE"
	[ "$(head -1 "$T/give3.out")" = ready ]
}

@test "AF_PACKET: bound to an allowed interface only" {
	ip link add pk0 type veth peer name pk1
	ip link set pk0 up
	ip link set pk1 up
	net_policy "interface pk0 default deny" \
		"allow program $T/allowed on pk0 packet"
	net_start
	probe ok "$T/allowed" packet pk0 send
	probe EPERM "$T/denied" packet pk0 send
	# pk1 is not named (default allow), but every interface includes pk0.
	probe ok "$T/denied" packet pk1 send
	probe EPERM "$T/denied" packet any send
	# Obsolete SOCK_PACKET names the device in sockaddr_pkt: judged as every interface.
	probe EPERM "$T/denied" spkt pk0
	probe EPERM "$T/denied" spkt pk1
	probe ok "$T/allowed" spkt pk0
	# A protocol-specific rule does not open packet sockets.
	net_stop
	net_policy "interface pk0 default deny" \
		"allow program $T/allowed on pk0 tcp,udp"
	net_start
	probe EPERM "$T/allowed" packet pk0 send
	jget '.net.counters.packet.denied' | awk '{ exit !($1 >= 1) }'
}

# ifioctl CMD NAME ARG [NETNS]: an old interface ioctl (SIOCSIFNAME: ARG the new
# name, SIOCBRADDIF: ARG the port's name) on a socket opened here, after the
# process setns()es into NETNS if given; prints ok or the errno name
ifioctl() {
	/usr/bin/python3 -c 'import ctypes, errno, fcntl, os, socket, struct, sys
s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
if sys.argv[1] == "rename":
    cmd, arg = 0x8923, struct.pack("16s16s", sys.argv[2].encode(), sys.argv[3].encode())
else:
    cmd, arg = 0x89a2, struct.pack("16si12x", sys.argv[2].encode(), socket.if_nametoindex(sys.argv[3]))
if len(sys.argv) > 4 and ctypes.CDLL(None, use_errno=True).setns(os.open(sys.argv[4], os.O_RDONLY), 0x40000000):
    sys.exit("setns failed")
try:
    fcntl.ioctl(s, cmd, arg)
    print("ok")
except OSError as e:
    print(errno.errorcode[e.errno])' "$@"
}

sifname() {
	ifioctl rename "$@"
}

# gone LINK [NETNS]: the link does not exist (in NETNS)
gone() {
	! ip ${2:+-n "$2"} link show "$1" >/dev/null 2>&1
}

@test "a declared interface cannot be renamed, moved to another namespace, deleted, enslaved or stacked on (root, rtnetlink and ioctl)" {
	modprobe 8021q
	modprobe macvlan
	modprobe bridge
	modprobe vxlan
	modprobe ip_gre
	NSA=igvma
	NSB=igvmb
	ip netns add "$NSA"
	ip netns add "$NSB"
	ip link add rt2 type veth peer name rt2p
	ip link add rt3 type veth peer name rt3p
	net_policy "interface rt2 default deny" \
		"allow program $T/allowed on rt2"
	net_start
	jget '.net.features.interfaces_locked' | grep -qx true
	ip link set rt2 down
	# The attacks of the issue, as root: each refused, rt2 still here with its rules.
	run ip link set rt2 name rt9
	[[ $status -ne 0 && $output == *"Operation not permitted"* ]]
	run ip link set rt2 netns "$NSB"
	[[ $status -ne 0 && $output == *"Operation not permitted"* ]]
	run ip link del rt2
	[[ $status -ne 0 ]]
	run ip link add link rt2 name rt2.5 type vlan id 5
	[[ $status -ne 0 ]]
	run ip link add link rt2 name mv2 type macvlan
	[[ $status -ne 0 ]]
	# Tunnels whose underlay is rt2 (named inside the kind's own attributes).
	run ip link add vx5 type vxlan id 5 dstport 4789 remote 10.99.0.2 dev rt2
	[[ $status -ne 0 && $output == *"Operation not permitted"* ]]
	run ip link add gre5 type gre remote 10.99.0.2 local 10.99.0.1 dev rt2
	[[ $status -ne 0 && $output == *"Operation not permitted"* ]]
	# The same VXLAN as raw requests: the kind's data before the kind (the
	# kernel parses both in any order), and the underlay behind 20 others.
	run python3 "$TOP/tests/lib/rtnl.py" vxlan vx7 7 rt2 data-first
	[[ $output == EPERM ]]
	run python3 "$TOP/tests/lib/rtnl.py" vxlan vx8 8 rt2 pad 20
	[[ $output == EPERM ]]
	ip link add br9 type bridge
	run ip link set rt2 master br9
	[[ $status -ne 0 ]]
	# By name only (index 0): the name picks the device.
	run ip link delete dev rt2
	[[ $status -ne 0 ]]
	probe EPERM sifname rt2 rt9
	# An alternative name would let requests by name miss it.
	run ip link property add dev rt2 altname zz9
	[[ $status -ne 0 ]]
	ip link show rt2 >/dev/null
	gone rt2.5
	gone mv2
	gone vx5
	gone vx7
	gone vx8
	gone gre5
	gone rt2 "$NSB"
	[[ -z $(ip -o link show master br9) ]]
	# What stays possible: up/down and settings, and every change of undeclared devices.
	ip link set rt2 up
	ip link set rt2 mtu 1400
	ip link set rt2 down
	ip link set rt3 down
	ip link set rt3 name rt4
	# The ioctl names the device: wait until the daemon knows the new name.
	for _ in $(seq 50); do jget '.net.interfaces[].name' | grep -qx rt4 && break; ig_nap 0.1; done
	probe ok sifname rt4 rt5
	ip link add link rt5 name rt5.5 type vlan id 5
	ip link add vx6 type vxlan id 6 dstport 4789 remote 10.99.0.2 dev rt5
	ip link del vx6
	[[ $(python3 "$TOP/tests/lib/rtnl.py" vxlan vx7 7 rt5 data-first pad 20) == ok ]]
	ip link del vx7
	ip link set rt5 master br9
	ip link del rt5.5
	ip link set rt5 nomaster
	ip link set rt5 netns "$NSB"
	ip link del br9
	grep -q "denied rename of controlled interface rt2" "$T/daemon.log"
	grep -q "denied move to another namespace of controlled interface rt2" "$T/daemon.log"
	grep -q "denied stack a device on or enslave of controlled interface rt2" "$T/daemon.log"
	# interface-changes allow: the policy's choice; the rules then follow the rename.
	net_stop
	net_policy "interface rt2 default deny" \
		"allow program $T/allowed on rt2" \
		"interface-changes allow"
	net_start
	jget '.net.features.interfaces_locked' | grep -qx false
	ip link set rt2 name rt9
	ig_nap 0.1
	jget '.net.interfaces[] | select(.name == "rt9") | .policy' | grep -qx rt2
	ip link del rt9
}

@test "another network namespace is no way around the rules: unshare -n, setns, a socket used after setns, stacking by namespace id (root and nobody)" {
	modprobe macvlan
	NSA=igvma
	NSB=igvmb
	ip netns add "$NSA"
	ip netns add "$NSB"
	ig_rt2_peer "$NSA"
	for _ in $(seq 50); do
		"$T/allowed" udp 10.99.0.2 7001 >/dev/null && break
		ig_nap 0.1
	done
	# The VM's own namespace by name, so that NSB can give it an id.
	touch /run/netns/igroot
	mount --bind /proc/1/ns/net /run/netns/igroot
	ip -n "$NSB" netns set igroot 7
	idx=$(cat /sys/class/net/rt2/ifindex)
	net_policy "interface rt2 default deny" \
		"allow program $T/allowed on rt2"
	net_start
	probe ok "$T/allowed" udp 10.99.0.2 7001
	probe EPERM "$T/denied" udp 10.99.0.2 7001
	probe ok "$T/allowed" packet rt2 send
	probe EPERM "$T/denied" packet rt2 send
	# A program unshare -n'd: rt2 is not in its namespace, nor a way to it.
	probe ENODEV unshare -n "$T/denied" packet rt2 send
	probe ENETUNREACH unshare -n "$T/denied" udp 10.99.0.2 7001
	# setns into another namespace (root and nobody): rt2 cannot be moved there, so it is not there.
	run ip link set rt2 netns "$NSB"
	[[ $status -ne 0 && $output == *"Operation not permitted"* ]]
	probe ENODEV nsenter --net="/run/netns/$NSB" "$T/denied" packet rt2 send
	probe ENETUNREACH nsenter --net="/run/netns/$NSB" "$T/denied" udp 10.99.0.2 7001
	probe ENETUNREACH nsenter --net="/run/netns/$NSB" setpriv --reuid 65534 --regid 65534 --clear-groups "$T/denied" udp 10.99.0.2 7001
	# nobody cannot move it either (the kernel's own check), and gets nothing here.
	run setpriv --reuid 65534 --regid 65534 --clear-groups ip link set rt2 netns "$NSB"
	[[ $status -ne 0 ]]
	probe EPERM setpriv --reuid 65534 --regid 65534 --clear-groups "$T/denied" udp 10.99.0.2 7001
	# A socket of this namespace used after setns() into NSB still acts here: judged here.
	probe EPERM sifname rt2 rt9 "/run/netns/$NSB"
	ip link show rt2 >/dev/null
	# From inside NSB, a device on rt2 named by the VM namespace's id: refused.
	run ip -n "$NSB" link add mvx link "if$idx" link-netnsid 7 type macvlan
	[[ $status -ne 0 && $output == *"Operation not permitted"* ]]
	gone mvx "$NSB"
	grep -q "denied change by namespace id" "$T/daemon.log"
	# The attack is real: with changes allowed the macvlan in NSB is made on rt2.
	net_stop
	net_policy "interface rt2 default deny" \
		"allow program $T/allowed on rt2" \
		"interface-changes allow"
	net_start
	ip -n "$NSB" link add mvx link "if$idx" link-netnsid 7 type macvlan
	ip -n "$NSB" -d link show mvx | grep -q "link-netns igroot"
	ip -n "$NSB" link del mvx
}

@test "nothing is enslaved to a declared bridge (rtnetlink and SIOCBRADDIF); undeclared bridges stay free" {
	modprobe bridge
	ip link add br7 type bridge
	ip link add br8 type bridge
	ip link add rt3 type veth peer name rt3p
	ip link add rt4 type veth peer name rt4p
	net_policy "interface br7 default deny" \
		"allow program $T/allowed on br7"
	net_start
	# The attack: a new port carries another device's traffic through the bridge.
	run ip link set rt3 master br7
	[[ $status -ne 0 && $output == *"Operation not permitted"* ]]
	probe EPERM ifioctl braddif br7 rt4
	[[ -z $(ip -o link show master br7) ]]
	grep -q "denied stack a device on or enslave of controlled interface br7" "$T/daemon.log"
	ip link set rt3 master br8
	probe ok ifioctl braddif br8 rt4
	[[ $(ip -o link show master br8 | wc -l) -eq 2 ]]
}
