#!/bin/bash
# SPDX-License-Identifier: GPL-2.0-only
# Cost of the interface and device rules, measured against no iotgate in the
# same run: TCP throughput (iperf3) and TCP connections per second over a
# veth pair between two network namespaces, 64-byte UDP datagrams per second,
# and open(2) of an allowed, gated device node 100,000 times. With the policy
# loaded the traffic and the opens go through every check (the programs are
# named by rules on the interface and the device). Three configurations run
# in rotating order, ROUNDS times each: no iotgate, iotgate without interface
# or device rules, iotgate with them; each figure is a median.
#
# Prints, per benchmark, a comment with the absolute figures and two lines
#   bench <name>: <value> <unit> ratio=<with rules / no iotgate> target=<bound>
#   bench <name>-rules-only: ... ratio=<with rules / iotgate without rules> ...
# the second being the cost of this feature alone (for the open benchmark
# the ratio is of the time per open: lower is better).
# Needs root, iproute2, iperf3, openssl and a built tree (make).
# Environment: ROUNDS=3 SECS=5 (per throughput run)
set -euo pipefail

TOP=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
B=$TOP/build
ROUNDS=${ROUNDS:-3}
SECS=${SECS:-5}
NSA=igbench$$a
NSB=igbench$$b
T=$(mktemp -d)
DPID=
SRV=()

die() {
	echo "bench/net.sh: $*" >&2
	exit 1
}

# start_daemon POLICY: iotgate.conf (the rules) or plain.conf
start_daemon() {
	local want=false

	[[ $1 == iotgate.conf ]] && want=true
	inA "$B/iotgated" --policy "$T/$1" --keys-dir "$T/keys" --state-dir "$T/state" \
		>"$T/daemon.log" 2>&1 &
	DPID=$!
	for _ in $(seq 300); do
		"$B/iotgatectl" status >/dev/null 2>&1 && break
		kill -0 "$DPID" 2>/dev/null || { cat "$T/daemon.log" >&2; die "the daemon did not start"; }
		sleep 0.1
	done
	[[ $("$B/iotgatectl" status --json | jq -r .net.active) == "$want" ]] ||
		die "the daemon did not load $1 as expected"
}

stop_daemon() {
	[[ -n $DPID ]] || return 0
	"$B/iotgatectl" stop-enforcing >/dev/null 2>&1 || kill "$DPID" 2>/dev/null || true
	wait "$DPID" 2>/dev/null || true
	DPID=
	rm -rf "$T/state"
}

cleanup() {
	stop_daemon
	for p in "${SRV[@]}"; do kill "$p" 2>/dev/null || true; done
	ip netns del "$NSA" 2>/dev/null || true
	ip netns del "$NSB" 2>/dev/null || true
	rm -rf "$T"
}
trap cleanup EXIT

[[ $(id -u) == 0 ]] || die "must run as root (network namespaces, BPF)"
for t in ip iperf3 openssl jq nsenter; do
	command -v "$t" >/dev/null || die "'$t' is missing (scripts/install-deps)"
done
for f in iotgated iotgatectl bench/ignet; do
	[[ -x $B/$f ]] || die "$B/$f is missing: run make first"
done
if pgrep -x iotgated >/dev/null; then
	die "an iotgated is already running: the baseline would not be one"
fi

inA() { nsenter --net="/run/netns/$NSA" "$@"; }

modprobe veth 2>/dev/null || true
ip netns add "$NSA"
ip netns add "$NSB"
ip link add vA netns "$NSA" type veth peer name vB netns "$NSB"
inA ip addr add 10.88.0.1/24 dev vA
ip -n "$NSB" addr add 10.88.0.2/24 dev vB
for l in lo vA; do inA ip link set "$l" up; done
for l in lo vB; do ip -n "$NSB" link set "$l" up; done

chmod 755 "$T"
cp "$B/bench/ignet" "$T/ignet"
IPERF=$(readlink -f "$(command -v iperf3)")
mknod -m 666 "$T/full" c 1 7
# The programs, their libraries and the tools run while measuring: known to
# the manifest, so the daemon has nothing to hash in the middle of a run.
{
	printf '%s\n' "$T/ignet" "$IPERF" "$(readlink -f "$(command -v nsenter)")"
	ldd "$IPERF" "$T/ignet" | awk '/=> \// { print $3 } /^\t\// { print $1 }' | xargs -r readlink -f
} | sort -u | xargs -d '\n' sha256sum >"$T/manifest.sha256"
# iotgate.conf: the rules under test; plain.conf: the same daemon without
# interface or device rules, to tell this feature's cost from the rest.
printf 'version 1\nmode audit\nmanifest manifest.sha256\n' >"$T/plain.conf"
{
	cat "$T/plain.conf"
	printf 'interface vA default deny\n'
	printf 'allow program %s on vA tcp\n' "$IPERF"
	printf 'allow program %s on vA tcp,udp\n' "$T/ignet"
	printf 'allow program %s device %s\n' "$T/ignet" "$T/full"
} >"$T/iotgate.conf"
mkdir "$T/keys"
openssl genpkey -algorithm ed25519 -out "$T/key.pem" 2>/dev/null
openssl pkey -in "$T/key.pem" -pubout -out "$T/keys/bench.pem"
for f in iotgate.conf plain.conf manifest.sha256; do
	openssl pkeyutl -sign -rawin -inkey "$T/key.pem" -in "$T/$f" -out "$T/$f.sig"
done

ip netns exec "$NSB" "$IPERF" -s >/dev/null 2>&1 &
SRV+=($!)
ip netns exec "$NSB" "$T/ignet" serve tcp1 7000 >/dev/null 2>&1 &
SRV+=($!)
ip netns exec "$NSB" "$T/ignet" sink-udp 7001 >/dev/null 2>&1 &
SRV+=($!)
for _ in $(seq 50); do
	inA "$T/ignet" tcp 10.88.0.2 7000 >/dev/null 2>&1 && break
	sleep 0.1
done

tcp_gbps() {
	inA "$IPERF" -c 10.88.0.2 -t "$SECS" -J | jq '.end.sum_received.bits_per_second / 1e9'
}
crr() { inA "$T/ignet" bench-crr 10.88.0.2 7000 "$SECS"; }
udp_pps() { inA "$T/ignet" bench-udp 10.88.0.2 7001 "$SECS"; }
opens() { inA "$T/ignet" bench-open "$T/full" 100000; }

median() { sort -g | awk '{ a[NR] = $1 } END { print a[int((NR + 1) / 2)] }'; }

declare -A none plain rules
for name in tcp crr udp open; do
	none[$name]=
	plain[$name]=
	rules[$name]=
done
measure_all() {
	local -n into=$1
	into[tcp]+="$(tcp_gbps) "
	into[crr]+="$(crr) "
	into[udp]+="$(udp_pps) "
	into[open]+="$(opens) "
}
# run_config none|plain|rules
run_config() {
	case $1 in
	none) measure_all none ;;
	plain)
		start_daemon plain.conf
		measure_all plain
		stop_daemon
		;;
	rules)
		start_daemon iotgate.conf
		measure_all rules
		stop_daemon
		;;
	esac
}

for ((r = 0; r < ROUNDS; r++)); do
	# Rotate the order so that drift hits every configuration alike.
	case $((r % 3)) in
	0) order="none plain rules" ;;
	1) order="rules none plain" ;;
	2) order="plain rules none" ;;
	esac
	for c in $order; do run_config "$c"; done
done

med() { tr ' ' '\n' <<<"$1" | grep . | median; }

# report NAME UNIT KEY TARGET HIGHER_IS_BETTER
report() {
	local n=$1 u=$2 k=$3 t=$4 hib=$5
	awk -v n="$n" -v u="$u" -v a="$(med "${none[$k]}")" -v p="$(med "${plain[$k]}")" \
		-v r="$(med "${rules[$k]}")" -v t="$t" -v hib="$hib" -v rounds="$ROUNDS" 'BEGIN {
		if (hib == 1) { va = a; vp = p; vr = r; ra = r / a; rp = r / p }
		else { va = 1e6 / a; vp = 1e6 / p; vr = 1e6 / r; ra = a / r; rp = p / r }
		printf "# %s: without iotgate %.3f %s, iotgate without interface rules %.3f %s, with the rules %.3f %s (medians of %d)\n", n, va, u, vp, u, vr, u, rounds
		printf "bench %s: %.3f %s ratio=%.3f target=%s\n", n, vr, u, ra, t
		printf "bench %s-rules-only: %.3f %s ratio=%.3f target=%s\n", n, vr, u, rp, t
	}'
}
report net-tcp-throughput Gbit/s tcp ">=0.97" 1
report net-tcp-connections conn/s crr ">=0.95" 1
report net-udp-64b-pps pkt/s udp ">=0.95" 1
report dev-open-allowed us/open open "<=1.05" 0
