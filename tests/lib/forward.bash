# SPDX-License-Identifier: GPL-2.0-only
# Shared by tests/host/forward.bats and tests/vm/forward.bats (forwarded
# traffic, iotgate.conf(5) 'forward'): a router namespace R with
# ip_forward=1 between two client namespaces: CA:cA 10.91.1.2 <-> R:rA
# 10.91.1.1 and CB:cB 10.91.2.2 <-> R:rB 10.91.2.1, each client routed
# through R. The daemon runs in R and governs R's interfaces; the clients'
# traffic to each other only crosses R (no socket of R sends or receives it).
# Load after common.bash.

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

# fw_apply LINE...: the policy of fw_policy applied to the running daemon.
fw_apply() {
	fw_policy "$@"
	ig_sign "$T/iotgate.conf"
	"$CTL" policy apply "$T/iotgate.conf"
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

# wait_filters DEV [N]: our filters appear on DEV's two hooks in R (the
# daemon follows devices over rtnetlink); N=0: they are gone from both.
wait_filters() {
	local want=${2:-1}
	for _ in $(seq 50); do
		[[ $(filters "$1" ingress) -eq $want && $(filters "$1" egress) -eq $want ]] && return 0
		sleep 0.1
	done
	echo "expected $want forward filter(s) on $1: ingress $(filters "$1" ingress), egress $(filters "$1" egress)" >&2
	return 1
}

# fwd_of DEV: DEV's forward verdict and where it comes from, as status says
# ("deny from rA", "allow", "none").
fwd_of() {
	jget ".net.interfaces[] | select(.name == \"$1\") | .forward + (if .forward_from then \" from \" + .forward_from else \"\" end)"
}

# violations_on DEV DIR: forward violations reported on DEV in direction DIR (in, out)
violations_on() {
	jget "[.net.violations[] | select(.op == \"forward\" and .interface == \"$1\" and (.detail | test(\" forward $2 through \")))] | length"
}

# bridged: R bridges rA and rB (br0 10.93.0.1, CA 10.93.0.2, CB 10.93.0.3),
# br0 on rB's address: frames for the bridge through rA are then not for
# rA's own address.
bridged() {
	ip -n "$NSR" link add br0 type bridge
	ip -n "$NSR" link set rA master br0
	ip -n "$NSR" link set rB master br0
	ip -n "$NSR" link set br0 address "$(ip -n "$NSR" -br link show rB | awk '{ print $3 }')"
	ip -n "$NSR" link set br0 up
	ip -n "$NSR" addr add 10.93.0.1/24 dev br0
	ip -n "$NSCA" addr add 10.93.0.2/24 dev cA
	ip -n "$NSCB" addr add 10.93.0.3/24 dev cB
	reach "$NSCA" 10.93.0.3
}

# stacked_route DEV ADDR [CADEV]: CA reaches CB through R's device DEV (stacked on
# rA, address 10.91.3.1/24, hardware address 02:91:00:00:00:0a) as
# 10.91.3.2 on CADEV (default cA), the neighbour entry naming DEV's own
# address: frames for it are not for rA's address, so rA's own hooks never
# see them as routed.
stacked_route() {
	ip -n "$NSR" link set "$1" address 02:91:00:00:00:0a
	ip -n "$NSR" link set "$1" up
	ip -n "$NSR" addr add 10.91.3.1/24 dev "$1"
	ip -n "$NSCA" addr add "$2"/24 dev "${3:-cA}"
	ip -n "$NSCA" neigh replace 10.91.3.1 lladdr 02:91:00:00:00:0a dev "${3:-cA}"
	ip -n "$NSCA" route add 10.91.2.2/32 via 10.91.3.1 src "$2"
}
