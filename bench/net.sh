#!/bin/bash
# SPDX-License-Identifier: GPL-2.0-only
# Cost of the interface and device rules, measured against no iotgate in the
# same run: TCP throughput (iperf3) and TCP connections per second over a
# veth pair between two network namespaces, 64-byte UDP datagrams per second,
# and open(2) of an allowed, gated device node 100,000 times. With the policy
# loaded the traffic and the opens go through every check (the programs are
# named by rules on the interface and the device). Each figure is the median
# of ROUNDS alternating runs with and without the daemon.
#
# Prints, per benchmark, a comment with the absolute figures and one line
#   bench <name>: <value> <unit> ratio=<with/without> target=<bound>
# (for the open benchmark the ratio is of the time per open: lower is better).
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
cat >"$T/iotgate.conf" <<EOF
version 1
mode audit
manifest manifest.sha256
interface vA default deny
allow program $IPERF on vA tcp
allow program $T/ignet on vA tcp,udp
allow program $T/ignet device $T/full
EOF
mkdir "$T/keys"
openssl genpkey -algorithm ed25519 -out "$T/key.pem" 2>/dev/null
openssl pkey -in "$T/key.pem" -pubout -out "$T/keys/bench.pem"
for f in iotgate.conf manifest.sha256; do
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

start_daemon() {
	inA "$B/iotgated" --policy "$T/iotgate.conf" --keys-dir "$T/keys" --state-dir "$T/state" \
		>"$T/daemon.log" 2>&1 &
	DPID=$!
	for _ in $(seq 300); do
		"$B/iotgatectl" status >/dev/null 2>&1 && break
		kill -0 "$DPID" 2>/dev/null || { cat "$T/daemon.log" >&2; die "the daemon did not start"; }
		sleep 0.1
	done
	[[ $("$B/iotgatectl" status --json | jq -r .net.active) == true ]] || die "rules not loaded"
}

stop_daemon() {
	[[ -n $DPID ]] || return 0
	"$B/iotgatectl" stop-enforcing >/dev/null 2>&1 || kill "$DPID" 2>/dev/null || true
	wait "$DPID" 2>/dev/null || true
	DPID=
	rm -rf "$T/state"
}

tcp_gbps() {
	inA "$IPERF" -c 10.88.0.2 -t "$SECS" -J | jq '.end.sum_received.bits_per_second / 1e9'
}
crr() { inA "$T/ignet" bench-crr 10.88.0.2 7000 "$SECS"; }
udp_pps() { inA "$T/ignet" bench-udp 10.88.0.2 7001 "$SECS"; }
opens() { inA "$T/ignet" bench-open "$T/full" 100000; }

median() { sort -g | awk '{ a[NR] = $1 } END { print a[int((NR + 1) / 2)] }'; }

declare -A base loaded
for name in tcp crr udp open; do
	base[$name]=
	loaded[$name]=
done
measure_all() {
	local -n into=$1
	into[tcp]+="$(tcp_gbps) "
	into[crr]+="$(crr) "
	into[udp]+="$(udp_pps) "
	into[open]+="$(opens) "
}

for ((r = 0; r < ROUNDS; r++)); do
	# Alternate which goes first so that drift hits both alike.
	if ((r % 2 == 0)); then
		measure_all base
		start_daemon
		measure_all loaded
		stop_daemon
	else
		start_daemon
		measure_all loaded
		stop_daemon
		measure_all base
	fi
done

# report NAME UNIT BASE LOADED TARGET HIGHER_IS_BETTER
report() {
	local name=$1 unit=$2 b l
	b=$(tr ' ' '\n' <<<"${base[$3]}" | grep . | median)
	l=$(tr ' ' '\n' <<<"${loaded[$3]}" | grep . | median)
	awk -v n="$name" -v u="$unit" -v b="$b" -v l="$l" -v t="$4" -v hib="$5" 'BEGIN {
		if (hib == 1) { ratio = l / b; vb = b; vl = l }
		else { ratio = b / l; vb = 1e6 / b; vl = 1e6 / l }
		printf "# %s: without iotgate %.3f %s, with the policy loaded %.3f %s (median of %d)\n", n, vb, u, vl, u, '"$ROUNDS"'
		printf "bench %s: %.3f %s ratio=%.3f target=%s\n", n, vl, u, ratio, t
	}'
}
report net-tcp-throughput Gbit/s tcp ">=0.97" 1
report net-tcp-connections conn/s crr ">=0.95" 1
report net-udp-64b-pps pkt/s udp ">=0.95" 1
report dev-open-allowed us/open open "<=1.05" 0
