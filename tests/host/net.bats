#!/usr/bin/env bats
# SPDX-License-Identifier: GPL-2.0-only
# Interface rules on this machine's kernel (partial tier: cgroup programs).
# Everything runs in two network namespaces made here, joined by two veth
# pairs: A:vA 10.77.0.1 <-> B:vB 10.77.0.2 (and fd77::1/2), A:vA2 10.78.0.1
# <-> B:vB2 10.78.0.2. The daemon runs in A (only its network namespace:
# bpffs and cgroupfs stay the host's) and governs A's interfaces; echo
# servers run in B. Two copies of tests/helpers/ignet, "allowed" and "denied", are
# the programs: the same content, two files, two identities.

load ../lib/common

NS_PREFIX=ignet$$

setup_file() {
	"$TOP/scripts/host-setup"
	# In the VM (scripts/vm-run) veth is a module; here it is built in.
	modprobe veth 2>/dev/null || true
}

setup() {
	ig_cleanup
	T=$(mktemp -d)
	NSA=${NS_PREFIX}a$BATS_TEST_NUMBER
	NSB=${NS_PREFIX}b$BATS_TEST_NUMBER
	IG_PROBE_NETNS=$NSA # probes run in A
	ip netns add "$NSA"
	ip netns add "$NSB"
	ip link add vA netns "$NSA" address 02:77:00:00:00:01 type veth peer name vB netns "$NSB"
	ip link add vA2 netns "$NSA" address 02:77:00:00:00:02 type veth peer name vB2 netns "$NSB"
	inA ip addr add 10.77.0.1/24 dev vA
	inA ip addr add fd77::1/64 dev vA nodad
	inA ip addr add 10.78.0.1/24 dev vA2
	inB ip addr add 10.77.0.2/24 dev vB
	inB ip addr add fd77::2/64 dev vB nodad
	inB ip addr add 10.78.0.2/24 dev vB2
	for l in lo vA vA2; do inA ip link set "$l" up; done
	for l in lo vB vB2; do inB ip link set "$l" up; done
	ig_ignet_pair
	ip netns exec "$NSB" "$B/tests/ignet" serve tcp 7000 >/dev/null 2>&1 &
	SRV1=$!
	ip netns exec "$NSB" "$B/tests/ignet" serve udp 7001 >/dev/null 2>&1 &
	SRV2=$!
	# Both servers answer before any test runs.
	for _ in $(seq 50); do
		inA "$T/allowed" tcp 10.77.0.2 7000 >/dev/null && break
		ig_nap 0.1
	done
}

teardown() {
	ig_cleanup
	kill "$SRV1" "$SRV2" 2>/dev/null || true
	[[ -n ${HOLD:-} ]] && kill "$HOLD" 2>/dev/null
	for p in ${HOLDS[@]+"${HOLDS[@]}"}; do kill "$p" 2>/dev/null || true; done
	ip netns del "$NSA" 2>/dev/null || true
	ip netns del "$NSB" 2>/dev/null || true
	rm -rf "$T"
}

# Runs a command in namespace A's network namespace only.
inA() {
	nsenter --net="/run/netns/$NSA" "$@"
}

inB() {
	ip netns exec "$NSB" "$@"
}

# net_policy LINE... : exec in audit mode (not under test here), then the rules.
net_policy() {
	{
		printf 'version 1\nmode audit\nmanifest manifest.sha256\n'
		printf '%s\n' "$@"
	} >"$T/iotgate.conf"
}

# net_apply VERSION LINE...: applies the rules (exec in audit mode) as that version.
net_apply() {
	local v=$1
	shift
	{
		printf 'version %s\nmode audit\nmanifest manifest.sha256\n' "$v"
		printf '%s\n' "$@"
	} >"$T/p$v.conf"
	ig_sign "$T/p$v.conf"
	"$CTL" policy apply "$T/p$v.conf"
}

# Starts the daemon in namespace A and waits until it answers.
net_start() {
	IG_NETNS=$NSA ig_start
}

# rename_in_A OLD NEW: a device cannot be renamed while up
rename_in_A() {
	inA ip link set "$1" down
	inA ip link set "$1" name "$2"
	inA ip link set "$2" up
}

@test "allowed program reaches its peer over the allowed interface; denied program is dropped and counted; other interfaces unaffected" {
	net_policy "interface vA default deny" \
		"allow program $T/allowed on vA"
	net_start
	probe ok "$T/allowed" tcp 10.77.0.2 7000
	probe ok "$T/allowed" udp 10.77.0.2 7001
	probe ok "$T/allowed" tcp fd77::2 7000
	# Egress drops of a datagram reach the sender as EPERM; TCP's SYN just never leaves.
	probe EPERM "$T/denied" udp 10.77.0.2 7001
	probe ETIMEDOUT "$T/denied" tcp 10.77.0.2 7000
	probe ETIMEDOUT "$T/denied" tcp fd77::2 7000
	# vA2 is not named: the global default (allow) applies to everyone.
	probe ok "$T/denied" tcp 10.78.0.2 7000
	probe ok "$T/denied" udp 10.78.0.2 7001
	run "$CTL" status --json
	[ "$status" -eq 0 ]
	# CAN and packet sockets are controlled in the full tier only (this suite also runs in the VM).
	echo "$output" | jq -e '.net.active and .net.features.ip and .net.features.can_packet == (.tier == "full")'
	echo "$output" | jq -e '.net.counters.ipv4.dropped >= 2 and .net.counters.ipv6.dropped >= 1'
	echo "$output" | jq -e '.net.counters.ipv4.allowed >= 1 and .net.counters.ipv6.allowed >= 1'
	echo "$output" | jq -e '[.net.violations[] | select(.comm == "denied" and .interface == "vA" and .verdict == "deny" and .rport == 7000)] | length >= 1'
	echo "$output" | jq -e '[.net.violations[] | select(.comm == "allowed")] | length == 0'
	echo "$output" | jq -e '.net.interfaces[] | select(.name == "vA") | .policy == "vA" and .default == "deny" and (.rules | length) == 1'
	echo "$output" | jq -e '(.reasons | map(.code) | index("can_packet_unavailable") != null) == (.tier != "full")'
}

@test "an interface refusal reaches events and syslog" {
	net_policy "interface vA default deny" \
		"allow program $T/allowed on vA"
	ig_syslog_capture
	net_start
	ig_events_start
	probe ok "$T/allowed" udp 10.77.0.2 7001
	probe EPERM "$T/denied" udp 10.77.0.2 7001
	ig_wait_file "$T/events" '"type":"net"'
	ig_wait_file "$T/syslog" 'type="net"'
	cat "$T/events" "$T/syslog"
	jq -s -e '[.[] | select(.event == "violation" and .type == "net" and .verdict == "deny" and .reason == "interface_rule" and .comm == "denied" and .interface == "vA" and .rport == 7001 and .op == "egress")] | length >= 1' "$T/events"
	jq -s -e '[.[] | select(.event == "violation" and .type == "net" and .comm == "allowed")] | length == 0' "$T/events"
	grep -qE '^b.<84>1 [^ ]+ [^ ]+ iotgated [0-9]+ net \[iotgate@32473 [^]]*type="net" verdict="deny" reason="interface_rule" path="" comm="denied" pid="[0-9]+" uid="0" detail="ipv4 egress on vA \(index [0-9]+\) udp ports [0-9]+/7001" gid="0"[^]]*\] iotgate net deny: ipv4 egress on vA' "$T/syslog"
	[ "$(jget .counters.violations.net)" -ge 1 ]
}

@test "the interface is the real one per packet: routing changes and SO_BINDTODEVICE after creation" {
	net_policy "interface vA default deny" \
		"allow program $T/allowed on vA"
	net_start
	probe ok "$T/denied" tcp 10.78.0.2 7000
	# The same destination, forced out of vA after the socket exists.
	probe ETIMEDOUT "$T/denied" tcp 10.78.0.2 7000 vA
	probe EPERM "$T/denied" udp 10.78.0.2 7001 vA
	probe ok "$T/allowed" tcp 10.78.0.2 7000 vA
	# A route change sends the same traffic through vA.
	inA ip route add 10.78.0.2/32 dev vA
	probe ETIMEDOUT "$T/denied" tcp 10.78.0.2 7000
	probe ok "$T/allowed" tcp 10.78.0.2 7000
	inA ip route del 10.78.0.2/32 dev vA
	probe ok "$T/denied" tcp 10.78.0.2 7000
}

@test "ports, protocols and directions" {
	net_policy "interface vA default deny" \
		"allow program $T/allowed on vA out tcp port 7000" \
		"allow program $T/denied on vA out udp port 7001" \
		"deny program $T/denied on vA2 out tcp port 7000-7005"
	net_start
	probe ok "$T/allowed" tcp 10.77.0.2 7000
	probe EPERM "$T/allowed" udp 10.77.0.2 7001
	probe ok "$T/denied" udp 10.77.0.2 7001
	probe ETIMEDOUT "$T/denied" tcp 10.77.0.2 7000
	# vA2's default is allow, but the port range is denied to this program.
	probe ETIMEDOUT "$T/denied" tcp 10.78.0.2 7000
	probe ok "$T/allowed" tcp 10.78.0.2 7000
	probe ok "$T/denied" udp 10.78.0.2 7001
}

@test "two processes sending on one UDP socket at once, to an allowed and a denied port: nothing passes to the denied one" {
	# The socket's verdict cache is shared by every CPU sending on it: an
	# answer for one port must never be taken for the other.
	net_policy "interface vA default deny" \
		"allow program $T/allowed on vA out udp port 7001"
	net_start
	run inA "$T/allowed" udp-race 10.77.0.2 7001 7002 2
	echo "$output"
	[ "$status" -eq 0 ]
	[[ $output =~ ^ok=([0-9]+)\ bad=([0-9]+)$ ]]
	((BASH_REMATCH[1] > 1000))
	[ "${BASH_REMATCH[2]}" -eq 0 ]
}

@test "inbound rules: a server may accept only what its rules allow" {
	net_policy "interface vA default deny" \
		"allow program $T/allowed on vA in tcp port 7100" \
		"allow anyone on vA out"
	nsenter --net="/run/netns/$NSA" "$T/allowed" serve tcp 7100 >/dev/null 2>&1 &
	SRVA=$!
	nsenter --net="/run/netns/$NSA" "$T/denied" serve tcp 7101 >/dev/null 2>&1 &
	SRVD=$!
	net_start
	run inB "$B/tests/ignet" tcp 10.77.0.1 7100
	out1=$output
	run inB "$B/tests/ignet" tcp 10.77.0.1 7101
	kill "$SRVA" "$SRVD"
	[ "$out1" = ok ]
	[ "$output" = ETIMEDOUT ]
}

@test "a socket opened before the rules were loaded is covered" {
	net_policy "interface vA default deny" \
		"allow program $T/allowed on vA"
	mkfifo "$T/fifo"
	nsenter --net="/run/netns/$NSA" "$T/denied" hold-tcp 10.77.0.2 7000 "$T/fifo" >"$T/hold.out" &
	HOLD=$!
	exec 7>"$T/fifo"
	echo one >&7
	for _ in $(seq 50); do [[ $(wc -l <"$T/hold.out") -ge 2 ]] && break; ig_nap 0.1; done
	net_start
	echo two >&7
	for _ in $(seq 100); do [[ $(wc -l <"$T/hold.out") -ge 3 ]] && break; ig_nap 0.1; done
	exec 7>&-
	run cat "$T/hold.out"
	[ "${lines[0]}" = connected ]
	[ "${lines[1]}" = ok ]
	[ "${lines[2]}" = ETIMEDOUT ]
	jget '.net.features.existing_sockets_labeled' | grep -qx true
}

# hold NAME PROGRAM tcp|udp PORT: PROGRAM in A holds a connected socket to B
# (made now, before the daemon); hold_round NAME prints the result of one
# round trip on it. HOLD_AS=nobody: as uid and gid 65534.
hold() {
	local fd as=()
	[[ ${HOLD_AS:-} == nobody ]] && as=(setpriv --reuid 65534 --regid 65534 --clear-groups)
	mkfifo "$T/$1.fifo"
	nsenter --net="/run/netns/$NSA" "${as[@]}" "$2" "hold-$3" 10.77.0.2 "$4" "$T/$1.fifo" >"$T/$1.out" &
	HOLDS+=($!)
	exec {fd}>"$T/$1.fifo"
	eval "HOLD_FD_$1=$fd"
	for _ in $(seq 50); do [[ -s $T/$1.out ]] && break; ig_nap 0.1; done
	[ "$(head -1 "$T/$1.out")" = connected ]
}

hold_round() {
	local fd n
	eval "fd=\$HOLD_FD_$1"
	n=$(wc -l <"$T/$1.out")
	echo x >&"$fd"
	for _ in $(seq 100); do [[ $(wc -l <"$T/$1.out") -gt $n ]] && break; ig_nap 0.1; done
	tail -1 "$T/$1.out"
}

@test "TCP and UDP sockets opened before the rules: a denied program's are refused, an allowed program's keep working" {
	net_policy "interface vA default deny" \
		"allow program $T/allowed on vA"
	hold at "$T/allowed" tcp 7000
	hold au "$T/allowed" udp 7001
	hold dt "$T/denied" tcp 7000
	hold du "$T/denied" udp 7001
	[ "$(hold_round du)" = ok ]
	net_start
	[ "$(hold_round at)" = ok ]
	[ "$(hold_round au)" = ok ]
	[ "$(hold_round dt)" = ETIMEDOUT ]
	[ "$(hold_round du)" = EPERM ]
	run "$CTL" status --json
	echo "$output" | jq -e '.net.features.existing_sockets_labeled == true and .net.features.existing_sockets_unlabelled == 0'
	echo "$output" | jq -e '.reasons | map(.code) | index("unlabelled_sockets") == null'
	echo "$output" | jq -e '[.net.violations[] | select(.comm == "denied" and .op == "egress")] | length >= 2'
}

@test "when the kernel refuses the socket iterators the state names the gap, and enforce mode judges unlabelled sockets as unknown" {
	net_policy "interface vA default deny" \
		"allow program $T/allowed on vA"
	hold dt "$T/denied" tcp 7000
	hold at "$T/allowed" tcp 7000
	local keep=$IOTGATE_TEST_REFUSE_PROGS
	IOTGATE_TEST_REFUSE_PROGS="$keep ig_sk_tcp"
	net_start
	IOTGATE_TEST_REFUSE_PROGS=$keep
	# B's servers anew: sockets of another namespace made while unlabelled
	# sockets are refused are labeled as foreign. (Older ones are judged by
	# our interface of the same index where the kernel cannot tell a
	# packet's namespace, e.g. 6.1: iotgate.conf(5).)
	kill "$SRV1"
	wait "$SRV1" 2>/dev/null || true
	ip netns exec "$NSB" "$B/tests/ignet" serve tcp 7000 >/dev/null 2>&1 &
	SRV1=$!
	for _ in $(seq 50); do
		inA "$T/allowed" tcp 10.77.0.2 7000 >/dev/null && break
		ig_nap 0.1
	done
	# Unknown program, unknown user: vA's default decides, for both.
	[ "$(hold_round dt)" = ETIMEDOUT ]
	[ "$(hold_round at)" = ETIMEDOUT ]
	# Sockets made now are labeled at creation; B's servers (another namespace) are not judged.
	probe ok "$T/allowed" tcp 10.77.0.2 7000
	probe ETIMEDOUT "$T/denied" tcp 10.77.0.2 7000
	probe ok "$T/denied" tcp 10.78.0.2 7000
	run "$CTL" status --json
	echo "$output" | jq -e '.net.features.existing_sockets_labeled == false and .net.features.unlabelled_sockets == "deny"'
	echo "$output" | jq -e '.health == "degraded"'
	echo "$output" | jq -r '.reasons[] | select(.code == "unlabelled_sockets") | .message' >"$T/reason"
	grep -q "the kernel refused the socket iterators (Operation not permitted)" "$T/reason"
	grep -q "unlabelled-sockets deny" "$T/reason"
	grep -q "could not be labeled" "$T/daemon.log"
	run "$CTL" status
	[[ $output == *"could not be labeled"* ]]
}

@test "unlabelled-sockets allow keeps the gap open, and says so" {
	net_policy "interface vA default deny" \
		"allow program $T/allowed on vA" \
		"unlabelled-sockets allow"
	hold dt "$T/denied" tcp 7000
	local keep=$IOTGATE_TEST_REFUSE_PROGS
	IOTGATE_TEST_REFUSE_PROGS="$keep ig_sk_owners"
	net_start
	IOTGATE_TEST_REFUSE_PROGS=$keep
	[ "$(hold_round dt)" = ok ]
	probe ETIMEDOUT "$T/denied" tcp 10.77.0.2 7000
	jget '.net.features.unlabelled_sockets' | grep -qx allow
	jget '.reasons[] | select(.code == "unlabelled_sockets") | .message' | grep -q "pass every interface rule"
}

@test "MPTCP is refused while rules are loaded (its subflows could not be tied to the program)" {
	probe ok "$T/allowed" mptcp
	net_policy "interface vA default deny"
	net_start
	probe EPERM "$T/allowed" mptcp
}

@test "disable switches an interface off for every program, root included" {
	net_policy "interface vA2 disable" \
		"allow uid 0 on * tcp"
	net_start
	probe ETIMEDOUT "$T/allowed" tcp 10.78.0.2 7000
	probe EPERM "$T/allowed" udp 10.78.0.2 7001
	probe ok "$T/allowed" tcp 10.77.0.2 7000
	jget '.net.interfaces[] | select(.name == "vA2") | .disabled' | grep -qx true
}

@test "uid and gid subjects, precedence program > uid > anyone" {
	net_policy "interface vA default deny" \
		"allow uid 65534 on vA" \
		"deny program $T/allowed on vA udp" \
		"allow anyone on vA tcp port 7000"
	chmod 755 "$T" "$T/allowed" "$T/denied"
	net_start
	probe ok setpriv --reuid 65534 --regid 65534 --clear-groups "$T/denied" udp 10.77.0.2 7001
	probe EPERM "$T/denied" udp 10.77.0.2 7001
	probe ok "$T/denied" tcp 10.77.0.2 7000
	# The program's own rule beats its uid's.
	probe EPERM setpriv --reuid 65534 --regid 65534 --clear-groups "$T/allowed" udp 10.77.0.2 7001
}

@test "rules follow an interface rename (by name, and by MAC address)" {
	# interface-changes allow: in the full tier (the VM) renames of declared
	# interfaces are otherwise refused (tests/vm/net.bats).
	net_policy "interface vA mac 02:77:00:00:00:01 default deny" \
		"allow program $T/allowed on vA" \
		"interface wan9 disable" \
		"interface-changes allow"
	net_start
	probe ok "$T/denied" tcp 10.78.0.2 7000
	# vA2 renamed to a name the policy disables: off within 100 ms.
	inA ip link set vA2 down
	inA ip link set vA2 name wan9
	inA ip link set wan9 up
	ig_nap 0.1
	probe EPERM "$T/denied" udp 10.78.0.2 7001
	probe ETIMEDOUT "$T/allowed" tcp 10.78.0.2 7000
	jget '.net.interfaces[] | select(.name == "wan9") | .disabled' | grep -qx true
	# vA renamed: its declaration follows its address, not its name.
	inA ip link set vA down
	inA ip link set vA name free0
	inA ip link set free0 up
	ig_nap 0.1
	probe EPERM "$T/denied" udp 10.77.0.2 7001
	probe ok "$T/allowed" udp 10.77.0.2 7001
	jget '.net.interfaces[] | select(.name == "free0") | .policy' | grep -qx vA
	# And back: the device stays bound to wan9's declaration (off) under any name.
	inA ip link set wan9 down
	inA ip link set wan9 name vA2
	inA ip link set vA2 up
	ig_nap 0.1
	probe EPERM "$T/denied" udp 10.78.0.2 7001
	jget '.net.interfaces[] | select(.name == "vA2") | .policy' | grep -qx wan9
	grep -q "renamed to wan9" "$T/daemon.log"
}

@test "a rename does not lift the rules: renamed away keeps them, renamed to an allowed name gets the stricter of both" {
	# vA is controlled by name only (no MAC); vA2 is declared and open.
	net_policy "interface vA default deny" \
		"allow program $T/allowed on vA" \
		"interface vA2 default allow" \
		"interface-changes allow"
	chmod 755 "$T" "$T/allowed" "$T/denied"
	net_start
	# Renames are not refused here (partial tier, or the policy allows them): the state says so.
	jget '.net.features.interfaces_locked' | grep -qx false
	if [[ $(jget .tier) == partial ]]; then
		jget '.reasons[].code' | grep -qx interfaces_unlocked
	fi
	probe EPERM "$T/denied" udp 10.77.0.2 7001
	# The attack: rename the controlled device away from its name.
	rename_in_A vA rt9
	ig_nap 0.1
	probe EPERM "$T/denied" udp 10.77.0.2 7001
	probe ok "$T/allowed" udp 10.77.0.2 7001
	jget '.net.interfaces[] | select(.name == "rt9") | .policy' | grep -qx vA
	# And to the allowed one's name (after moving that one out of the way).
	rename_in_A vA2 spare
	rename_in_A rt9 vA2
	ig_nap 0.1
	probe EPERM "$T/denied" udp 10.77.0.2 7001
	probe ok "$T/allowed" udp 10.77.0.2 7001
	jget '.net.interfaces[] | select(.name == "vA2") | .policy + "," + .also' | grep -qx vA,vA2
	# The open device renamed keeps its own (open) rules; nobody gains the controlled ones' rights.
	probe ok "$T/denied" udp 10.78.0.2 7001
	probe EPERM setpriv --reuid 65534 --regid 65534 --clear-groups "$T/denied" udp 10.77.0.2 7001
	# A device that takes the controlled name later gets its rules too.
	rename_in_A spare vA
	ig_nap 0.1
	probe EPERM "$T/denied" udp 10.78.0.2 7001
	grep -q "kept from before a rename\|and of 'vA2'" "$T/daemon.log"
}

@test "an interface that appears later gets its rules; names not present are reported" {
	net_policy "interface vN disable" \
		"interface usb0 disable" \
		"interface-changes allow"
	net_start
	jget '.net.absent | sort | join(",")' | grep -qx usb0,vN
	grep -q "interface usb0 named by the policy is not present" "$T/daemon.log"
	inA ip link add vN address 02:77:00:00:00:03 type veth peer name vNp netns "$NSB"
	inA ip addr add 10.79.0.1/24 dev vN
	inB ip addr add 10.79.0.2/24 dev vNp
	inA ip link set vN up
	inB ip link set vNp up
	ig_nap 0.1
	probe EPERM "$T/allowed" udp 10.79.0.2 7001
	jget '.net.absent | join(",")' | grep -qx usb0
	grep -q "interface vN (index [0-9]*) appeared: disabled" "$T/daemon.log"
	inA ip link del vN
	ig_nap 0.1
	jget '.net.absent | sort | join(",")' | grep -qx usb0,vN
}

@test "access-mode audit reports without refusing" {
	net_policy "access-mode audit" \
		"interface vA default deny"
	net_start
	probe ok "$T/denied" udp 10.77.0.2 7001
	run "$CTL" status --json
	echo "$output" | jq -e '.net.mode == "audit" and .net.counters.ipv4.audited >= 1 and .net.counters.ipv4.dropped == 0'
	echo "$output" | jq -e '[.net.violations[] | select(.verdict == "audit" and .comm == "denied")] | length >= 1'
}

@test "enforcement survives the daemon and a restart re-adopts it" {
	net_policy "interface vA default deny" \
		"allow program $T/allowed on vA"
	net_start
	probe EPERM "$T/denied" udp 10.77.0.2 7001
	kill -KILL "$DPID"
	wait "$DPID" 2>/dev/null || true
	probe EPERM "$T/denied" udp 10.77.0.2 7001
	probe ok "$T/allowed" udp 10.77.0.2 7001
	net_start
	jget '.net.readopted' | grep -qx true
	probe EPERM "$T/denied" udp 10.77.0.2 7001
	probe ok "$T/allowed" udp 10.77.0.2 7001
	# stop-enforcing removes the rules with the rest.
	"$CTL" stop-enforcing
	probe ok "$T/denied" udp 10.77.0.2 7001
	[ ! -e "$PIN_DIR/link_ig_skb_egress" ]
}

@test "bad rules: every error as file:line:col, nothing loaded" {
	net_policy "interface vA default deny" \
		"allow program $T/allowed on vA sctp" \
		"allow anyone on vA tcp port 90-80" \
		"deny anyone device class serial" \
		"allow uid 0 on vA tcp" \
		"deny uid 0 on vA" \
		"unlabelled-sockets maybe"
	ig_sign "$T/iotgate.conf"
	ig_sign "$T/manifest.sha256"
	run inA "$IOTGATED" --policy "$T/iotgate.conf" --keys-dir "$T/keys" --state-dir "$T/state"
	[ "$status" -eq 1 ]
	[[ $output == *"iotgate.conf:5:"*"unknown protocol 'sctp'"* ]]
	[[ $output == *"iotgate.conf:6:"*"bad port range '90-80'"* ]]
	[[ $output == *"iotgate.conf:7:"*"unknown device class 'serial'"* ]]
	[[ $output == *"iotgate.conf:9:1: deny rule contradicts line 8"* ]]
	[[ $output == *"iotgate.conf:10:20: unknown value 'maybe' (expected 'allow' or 'deny')"* ]]
	[ ! -e "$PIN_DIR/link_ig_skb_egress" ]
	[ ! -e "$PIN_DIR/ig_rules" ]
	run "$IOTGATED" --check --policy "$T/iotgate.conf" --keys-dir "$T/keys"
	[ "$status" -eq 1 ]
	[[ $output == *"iotgate.conf:6:"* ]]
}

@test "a policy applied at run time swaps the rules in without a restart; a bad one changes nothing" {
	net_policy "interface vA default deny" \
		"allow program $T/allowed on vA"
	net_start
	probe EPERM "$T/denied" udp 10.77.0.2 7001
	# Version 2 lets the other program through instead.
	net_apply 2 "interface vA default deny" "allow program $T/denied on vA"
	probe ok "$T/denied" udp 10.77.0.2 7001
	probe EPERM "$T/allowed" udp 10.77.0.2 7001
	# A contradiction is refused with its position; the rules in force stay.
	{
		printf 'version 3\nmode audit\nmanifest manifest.sha256\n'
		printf 'allow uid 0 on vA udp\ndeny uid 0 on vA\n'
	} >"$T/p3.conf"
	ig_sign "$T/p3.conf"
	run "$CTL" policy apply "$T/p3.conf"
	[ "$status" -ne 0 ]
	[[ $output == *"p3.conf:5:1: deny rule contradicts line 4"* ]]
	probe ok "$T/denied" udp 10.77.0.2 7001
	probe EPERM "$T/allowed" udp 10.77.0.2 7001
	# A policy without interface rules takes them away.
	printf 'version 4\nmode audit\nmanifest manifest.sha256\n' >"$T/p4.conf"
	ig_sign "$T/p4.conf"
	"$CTL" policy apply "$T/p4.conf"
	probe ok "$T/allowed" udp 10.77.0.2 7001
	[ ! -e "$PIN_DIR/link_ig_skb_egress" ]
	jget '.net.active' | grep -qx false
}

@test "a policy apply decides every existing socket's next send (cached verdicts are not kept), both ways, as root and nobody" {
	net_policy "interface vA default deny" \
		"allow program $T/allowed on vA"
	chmod 755 "$T" "$T/allowed" "$T/denied"
	net_start
	hold ra "$T/allowed" udp 7001
	HOLD_AS=nobody hold na "$T/allowed" udp 7001
	hold rd "$T/denied" udp 7001
	HOLD_AS=nobody hold nd "$T/denied" udp 7001
	# Each socket's verdict is cached by its first packet.
	for round in 1 2; do
		[ "$(hold_round ra)" = ok ]
		[ "$(hold_round na)" = ok ]
		[ "$(hold_round rd)" = EPERM ]
		[ "$(hold_round nd)" = EPERM ]
	done
	net_apply 2 "interface vA default deny" "allow program $T/denied on vA"
	[ "$(hold_round ra)" = EPERM ]
	[ "$(hold_round na)" = EPERM ]
	[ "$(hold_round rd)" = ok ]
	[ "$(hold_round nd)" = ok ]
	# And back.
	net_apply 3 "interface vA default deny" "allow program $T/allowed on vA"
	[ "$(hold_round ra)" = ok ]
	[ "$(hold_round na)" = ok ]
	[ "$(hold_round rd)" = EPERM ]
	[ "$(hold_round nd)" = EPERM ]
	# The interface's own default, no program named: the same sockets follow it.
	net_apply 4 "interface vA default allow" "deny uid 65534 on vA"
	[ "$(hold_round ra)" = ok ]
	[ "$(hold_round na)" = EPERM ]
	[ "$(hold_round rd)" = ok ]
	[ "$(hold_round nd)" = EPERM ]
}

@test "a rule set too large for the map: policy check and iotgated --check find it, apply refuses it with its position and changes nothing" {
	net_policy "interface vA default deny" \
		"allow program $T/allowed on vA"
	net_start
	# 17 rules of one subject on one interface: one more than a rule set holds
	# (IG_RULES_MAX), which only compiling the rules finds.
	{
		printf 'version 2\nmode audit\nmanifest manifest.sha256\ninterface vA default deny\n'
		for p in $(seq 1001 1017); do printf 'allow uid 0 on vA tcp port %s\n' "$p"; done
	} >"$T/big.conf"
	ig_sign "$T/big.conf"
	want="$T/big.conf:21:1: too many rules for one subject on interface 'vA'"
	run "$CTL" policy check "$T/big.conf"
	echo "$output"
	[ "$status" -eq 1 ]
	[[ $output == *"$want"* ]]
	run "$IOTGATED" --check --policy "$T/big.conf" --keys-dir "$T/keys"
	echo "$output"
	[ "$status" -eq 1 ]
	[[ $output == *"$want"* ]]
	run "$CTL" policy apply "$T/big.conf"
	echo "$output"
	[ "$status" -ne 0 ]
	[[ $output == *"$want"* ]]
	[[ $output != *"kernel refused"* ]]
	# the set in force is the one before, rules included
	[ "$(jget .policy.version)" = 1 ]
	[ "$(jget .policy.path)" = "$T/iotgate.conf" ]
	probe ok "$T/allowed" udp 10.77.0.2 7001
	probe EPERM "$T/denied" udp 10.77.0.2 7001
	jget '.net.interfaces[] | select(.name == "vA") | .rules | length' | grep -qx 1
}

@test "a program outside the manifest gets nothing from its allow rules, and the state says so" {
	cp "$B/tests/ignet" "$T/unmeasured"
	net_policy "interface vA default deny" \
		"allow program $T/unmeasured on vA" \
		"allow program $T/allowed on vA"
	net_start
	probe EPERM "$T/unmeasured" udp 10.77.0.2 7001
	probe ok "$T/allowed" udp 10.77.0.2 7001
	run "$CTL" status --json
	echo "$output" | jq -e '.reasons | map(.code) | index("net_rules_unmatched") != null'
	echo "$output" | jq -e --arg p "$T/unmeasured" '.net.notes[0] | contains($p + " is not a verified manifest entry")'
	grep -q "unmeasured is not a verified manifest entry" "$T/daemon.log"
}

@test "rights follow the file, not the code: a socket handed over (SCM_RIGHTS) and a preloaded library; where not refused the state says so" {
	net_policy "interface vA default deny" \
		"allow program $T/allowed on vA"
	chmod 755 "$T" "$T/allowed" "$T/denied"
	net_start
	tier=$(jget .tier)
	# The allowed program connects a UDP socket and hands it over; the denied one sends on it.
	nsenter --net="/run/netns/$NSA" "$T/allowed" scm-give "$T/udp.sock" udp 10.77.0.2 7001 >"$T/give.out" &
	GIVE=$!
	for _ in $(seq 50); do [[ -s $T/give.out ]] && break; ig_nap 0.1; done
	run inA "$T/denied" scm-take "$T/udp.sock"
	wait "$GIVE"
	[ "$(head -1 "$T/give.out")" = ready ]
	# The same as nobody (the denied program's user does not matter).
	nsenter --net="/run/netns/$NSA" "$T/allowed" scm-give "$T/udp2.sock" udp 10.77.0.2 7001 >"$T/give2.out" &
	GIVE=$!
	for _ in $(seq 50); do [[ -s $T/give2.out ]] && break; ig_nap 0.1; done
	chmod 777 "$T/udp2.sock"
	nobody=$(inA setpriv --reuid 65534 --regid 65534 --clear-groups "$T/denied" scm-take "$T/udp2.sock" || true)
	wait "$GIVE"
	reasons=$(jget '.reasons[].code')
	if [[ $tier == full ]]; then
		[ "$output" = EPERM ]
		[ "$nobody" = EPERM ]
		[[ $reasons != *socket_passing_uncovered* ]]
	else
		[ "$output" = ok ]
		[ "$nobody" = ok ]
		grep -qx socket_passing_uncovered <<<"$reasons"
	fi
	# Code outside the manifest preloaded into the allowed program sends with its rights
	# (mode audit: the mapping is reported; refused in enforce mode in the full and kill tiers).
	cp "$(ig_libs /usr/bin/true | grep '/libc\.so')" "$T/evil.so"
	chmod 755 "$T/evil.so"
	probe ok env LD_PRELOAD="$T/evil.so" "$T/allowed" udp 10.77.0.2 7001
	probe ok setpriv --reuid 65534 --regid 65534 --clear-groups env LD_PRELOAD="$T/evil.so" "$T/allowed" udp 10.77.0.2 7001
	probe EPERM env LD_PRELOAD="$T/evil.so" "$T/denied" udp 10.77.0.2 7001
	if [[ $tier == partial ]]; then
		grep -qx library_injection_uncovered <<<"$reasons"
	else
		[[ $reasons != *library_injection_uncovered* ]]
	fi
}

@test "devices stacked on a declared interface before the rules load carry its socket rules (root and nobody), and status says whose" {
	modprobe macvlan 2>/dev/null || true
	modprobe bridge 2>/dev/null || true
	# The attack: a macvlan on vA made before the daemon starts carries the denied program.
	inA ip link add link vA name mvA type macvlan
	inA ip addr add 10.79.0.1/24 dev mvA
	inA ip link set mvA up
	inB ip addr add 10.79.0.2/24 dev vB
	# vA2 a bridge port (the bridge is its master).
	inA ip link add brx type bridge
	inA ip link set vA2 master brx
	ip netns exec "$NSB" "$B/tests/ignet" serve udp 7002 >/dev/null 2>&1 &
	HOLDS+=($!)
	for _ in $(seq 50); do
		inA "$T/allowed" udp 10.79.0.2 7002 >/dev/null && break
		ig_nap 0.1
	done
	# Before the rules: the macvlan carries anyone (the test can fail).
	probe ok "$T/denied" udp 10.79.0.2 7002
	net_policy "interface vA default deny" \
		"interface vA2 default deny" \
		"allow program $T/allowed on vA"
	net_start
	probe EPERM "$T/denied" udp 10.77.0.2 7001
	# Through the macvlan: vA's rules, for root and nobody.
	probe ok "$T/allowed" udp 10.79.0.2 7002
	probe EPERM "$T/denied" udp 10.79.0.2 7002
	probe ok setpriv --reuid 65534 --regid 65534 --clear-groups "$T/allowed" udp 10.79.0.2 7002
	probe EPERM setpriv --reuid 65534 --regid 65534 --clear-groups "$T/denied" udp 10.79.0.2 7002
	jget '.net.stacked[] | select(.name == "mvA") | .on + " " + .how' | grep -qx "vA stacked"
	jget '.net.stacked[] | select(.name == "brx") | .on + " " + .how' | grep -qx "vA2 master"
	[ "$(jget '.net.interfaces[] | select(.name == "mvA") | .rules_from')" = vA ]
	[ "$(jget '.net.interfaces[] | select(.name == "brx") | .rules_from')" = vA2 ]
	[ "$(jget '.net.interfaces[] | select(.name == "vA") | .rules_from')" = null ]
	run jget '.reasons[].code'
	[[ $output != *stacked_on_declared* ]]
	# Undeclared devices stacked on undeclared ones are not listed.
	[ "$(jget '.net.stacked | length')" -eq 2 ]
}
