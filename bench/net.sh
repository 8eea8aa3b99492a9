#!/bin/bash
# SPDX-License-Identifier: GPL-2.0-only
# Cost of the interface and device rules, measured against no iotgate in the
# same run: TCP throughput (iperf3) and TCP connections per second over a
# veth pair between two network namespaces, 64-byte UDP datagrams per second,
# and open(2) of an allowed, gated device node 100,000 times. With the policy
# loaded the traffic and the opens go through every check (the programs are
# named by rules on the interface and the device). Six configurations run
# in rotating order, ROUNDS times each: no iotgate; do-nothing programs on the
# same hooks (the floor: what any program there costs on this kernel);
# programs that only label each socket in socket storage and look the label
# up per packet (the label floor: what tying sockets to programs costs by
# itself); iotgate without interface or device rules; iotgate with them; and
# (opens only) the same rules naming the device by major:minor instead of by
# path, which needs no inotify watch on the node's directory.
# Each figure is a median, each ratio the median of the rounds' ratios.
#
# Prints, per benchmark, a comment with the absolute figures and the lines
#   bench <name>: <value> <unit> ratio=<with rules / no iotgate> target=<bound>
#   bench <name>-rules-only: ... ratio=<with rules / iotgate without rules> ...
# the second being the cost of this feature alone, and
#   bench <name>-floor: ... ratio=<do-nothing programs / no iotgate> target=info
#   bench <name>-label-floor: ... ratio=<label only / no iotgate> target=info
# (for the open benchmark the ratio is of the time per open: lower is better,
# and there is no label line but a -by-number line).
# Timing ratios come with the interquartile range of the rounds' ratios, and
# are marked "noisy" when the floor's own ratio is more than 2 points from
# 1.00 in the same run (the machine's noise, not iotgate, then decides them).
#
# After the timed rounds, a counter pass runs a fixed number of operations in
# each configuration (bench/counters.bash) and prints, per figure with a
# target, a deterministic companion with the same target:
#   bench <name>-instructions: ...  instructions per operation, with and
#                                   without iotgate: perf stat (kernel+user)
#                                   where this machine's PMU is usable, else
#                                   counted by qemu in icount_vm (the whole
#                                   guest's instructions while the load runs).
# The counting VM boots Debian's 6.1 with BPF LSM left out of lsm=, so the
# daemon runs the tier this machine's kernel gives it (cgroup hooks, BPF LSM
# refused), the one the timed rounds measure. Counts there do not vary
# between runs, so each configuration is counted CPASSES times (default: 3
# with perf, 1 in the VM) and the lowest kept.
# Needs root, iproute2, iperf3, openssl, jq, bpftool and a built tree (make).
# Environment: ROUNDS=7 SECS=3 (per throughput run); counter pass (per
# configuration): CN_TCP=256M (bytes) CN_CRR=4000 CN_UDP=100000 CN_OPEN=50000
#   bench/net.sh               the timed rounds here, then the counter pass
#   bench/net.sh --count-only  the counter pass alone, printing "cnt CONFIG
#                              KEY VALUE" lines (what icount_vm runs)
set -euo pipefail

TOP=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
COUNT_ONLY=0
[[ ${1:-} == --count-only ]] && COUNT_ONLY=1
# shellcheck source=bench/counters.bash
source "$TOP/bench/counters.bash"
counters_mode
B=$TOP/build
ROUNDS=${ROUNDS:-7}
SECS=${SECS:-3}
NSA=igbench$$a
NSB=igbench$$b
T=$(mktemp -d)
DPID=
SRV=()

die() {
	echo "bench/net.sh: $*" >&2
	exit 1
}

# start_daemon POLICY: iotgate.conf or numbered.conf (the rules) or plain.conf
start_daemon() {
	local want=false

	[[ $1 != plain.conf ]] && want=true
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
	if declare -F progs_off >/dev/null; then progs_off; fi
	for p in "${SRV[@]}"; do kill "$p" 2>/dev/null || true; done
	ip netns del "$NSA" 2>/dev/null || true
	ip netns del "$NSB" 2>/dev/null || true
	rm -rf "$T"
}
trap cleanup EXIT

[[ $(id -u) == 0 ]] || die "must run as root (network namespaces, BPF)"
for t in ip iperf3 openssl jq nsenter bpftool; do
	command -v "$t" >/dev/null || die "'$t' is missing (scripts/install-deps)"
done
for f in iotgated iotgatectl tests/ignet; do
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
cp "$B/tests/ignet" "$T/ignet"
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
# numbered.conf: the device named by major:minor, not by path: no inotify
# watch on its directory, whose mark makes every open and close on that
# filesystem go through fsnotify (measured apart: dev-open-allowed-by-number).
sed "s|device $T/full|device char 1:7|" "$T/iotgate.conf" >"$T/numbered.conf"
grep -q 'device char 1:7' "$T/numbered.conf" || die "numbered.conf: no numbered device rule"
mkdir "$T/keys"
openssl genpkey -algorithm ed25519 -out "$T/key.pem" 2>/dev/null
openssl pkey -in "$T/key.pem" -pubout -out "$T/keys/bench.pem"
for f in iotgate.conf numbered.conf plain.conf manifest.sha256; do
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

declare -A none floor label plain rules numbered
for name in tcp crr udp open; do
	none[$name]=
	floor[$name]=
	label[$name]=
	numbered[$name]=
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
# The floor: do-nothing programs on the same hooks (build/bench/floor.bpf.o),
# what any program there costs on this kernel; and the label: programs that
# only label each socket and look the label up per packet
# (build/bench/label.bpf.o), what tying sockets to programs costs by itself.
CG=$(awk '$3 == "cgroup2" { print $2; exit }' /proc/self/mounts)
[[ -n $CG ]] || die "no cgroup2 mount"
for o in floor label; do
	[[ -f $B/bench/$o.bpf.o ]] || die "$B/bench/$o.bpf.o is missing: run make first"
done
PINS=/sys/fs/bpf/ig_bench$$
HOOKS=()
# progs_on OBJECT PREFIX: attach PREFIX{egress,ingress,sock,dev} that exist
progs_on() {
	local h p
	bpftool prog loadall "$B/bench/$1.bpf.o" "$PINS"
	for h in egress:egress ingress:ingress sock_create:sock device:dev; do
		p=$PINS/$2${h#*:}
		[[ -e $p ]] || continue
		bpftool cgroup attach "$CG" "${h%%:*}" pinned "$p" multi
		HOOKS+=("${h%%:*}:$p")
	done
}
progs_off() {
	local h
	for h in "${HOOKS[@]}"; do
		bpftool cgroup detach "$CG" "${h%%:*}" pinned "${h#*:}" 2>/dev/null || true
	done
	HOOKS=()
	rm -rf "$PINS"
}

# The kernel frees detached programs and maps after an RCU grace period,
# and a stopped daemon's work may still be draining: let it settle.
settle() { sleep 2; }

# run_config none|floor|label|plain|rules|numbered
run_config() {
	case $1 in
	none) measure_all none ;;
	floor)
		progs_on floor ig_fl_
		measure_all floor
		progs_off
		;;
	label)
		progs_on label ig_lb_
		measure_all label
		progs_off
		;;
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
	numbered)
		start_daemon numbered.conf
		numbered[open]+="$(opens) "
		stop_daemon
		;;
	esac
	[[ $1 == none ]] || settle
}

CONFIGS=(none floor label plain rules numbered)
NC=${#CONFIGS[@]}
((COUNT_ONLY)) && ROUNDS=0
for ((r = 0; r < ROUNDS; r++)); do
	# Rotate the order, forwards and backwards, so that drift and whatever
	# the previous configuration left behind hit every configuration alike.
	for ((i = 0; i < NC; i++)); do
		if ((r % 2)); then
			run_config "${CONFIGS[(NC - 1 - i + r) % NC]}"
		else
			run_config "${CONFIGS[(i + r) % NC]}"
		fi
	done
done

# --- the counter pass: a fixed number of operations per configuration -------
CN_TCP=${CN_TCP:-256M}
CN_CRR=${CN_CRR:-4000}
CN_UDP=${CN_UDP:-100000}
CN_OPEN=${CN_OPEN:-50000}
# cnt[CONFIG KEY]: per operation, "kernel user" instructions (perf) or
# "total 0" (icount: the guest's instructions); for tcp an operation is a MB.
declare -A cnt
# count_one CONFIG KEY OPS|tcp CMD...: OPS operations (tcp: read from iperf3)
count_one() {
	local c=$1 k=$2 ops=$3 out
	shift 3
	if [[ $CMODE == perf ]]; then
		out=$(perf_count "$T/perf" "$@")
		[[ $ops == tcp ]] && ops=$(jq '.end.sum_sent.bytes / 1e6' <<<"$out")
		out=$(awk -v n="$ops" '{ print $1 / n, $2 / n }' "$T/perf")
	else
		# Every load starts without TIME_WAIT sockets (60 s): ones left
		# by an earlier load lengthen port searches and expire inside a
		# later load. The idle guest's clock jumps the minute at once.
		sleep 61
		# the load's own clock, around its operations only: here that
		# clock counts the guest's instructions
		out=$("$@")
		if [[ $ops == tcp ]]; then
			out=$(jq '"\(.end.sum_sent.seconds * 1e9 / (.end.sum_sent.bytes / 1e6)) 0"' -r <<<"$out")
		else
			out="$(awk -v r="$out" 'BEGIN { printf "%.1f", 1e9 / r }') 0"
		fi
	fi
	# the lowest of the passes: interference only ever adds to a count
	cnt[$c $k]=$(awk -v a="${cnt[$c $k]:-}" -v b="$out" 'BEGIN {
		if (a == "") { print b; exit }
		split(a, x, " "); split(b, y, " ")
		print (y[1] + y[2] < x[1] + x[2] ? b : a) }')
}
CPASSES=${CPASSES:-3}
count_all() {
	local c=$1 p
	for ((p = 0; p < CPASSES; p++)); do count_pass "$c"; done
}
count_pass() {
	local c=$1
	if [[ $c != numbered ]]; then
		count_one "$c" tcp tcp inA "$IPERF" -c 10.88.0.2 -n "$CN_TCP" -J
		count_one "$c" crr "$CN_CRR" inA "$T/ignet" bench-crr 10.88.0.2 7000 0 "$CN_CRR"
		count_one "$c" udp "$CN_UDP" inA "$T/ignet" bench-udp 10.88.0.2 7001 0 "$CN_UDP"
	fi
	count_one "$c" open "$CN_OPEN" inA "$T/ignet" bench-open "$T/full" "$CN_OPEN"
}
if [[ $CMODE == bpf ]]; then
	# this machine cannot count: the VM counts (the same script, same
	# configurations), and its counts become ours
	stop_daemon
	cleanup
	trap - EXIT
	VM_APPEND="${VM_APPEND:+$VM_APPEND }lsm=landlock,lockdown,yama,integrity,apparmor" \
		icount_vm "$TOP/bench/net.sh" --count-only >"$TOP/build/bench-net-count.out" 2>&1 ||
		{ cat "$TOP/build/bench-net-count.out" >&2; die "the counting VM failed"; }
	while read -r tag c k v; do
		[[ $tag == cnt ]] && cnt[$c $k]="$v 0"
	done <"$TOP/build/bench-net-count.out"
	[[ -n ${cnt[rules open]:-} ]] || { cat "$TOP/build/bench-net-count.out" >&2; die "no counts from the VM"; }
	CMODE=icount
	COUNTERS_WHY+="; counted in the VM by qemu -icount"
	T=$(mktemp -d)
	trap 'rm -rf "$T"' EXIT
else
	for c in "${CONFIGS[@]}"; do
		case $c in
		none) count_all none ;;
		floor | label)
			if [[ $c == floor ]]; then progs_on floor ig_fl_; else progs_on label ig_lb_; fi
			count_all "$c"
			progs_off
			;;
		plain | rules | numbered)
			case $c in plain) start_daemon plain.conf ;; rules) start_daemon iotgate.conf ;;
			numbered) start_daemon numbered.conf ;; esac
			count_all "$c"
			stop_daemon
			;;
		esac
		[[ $c == none ]] || settle
	done
fi
if ((COUNT_ONLY)); then
	for key in "${!cnt[@]}"; do
		read -r t _ <<<"${cnt[$key]}"
		echo "cnt $key $t"
	done
	exit 0
fi

# report NAME UNIT KEY TARGET HIGHER_IS_BETTER OPUNIT: the ratios are the
# medians of the rounds' ratios (the configurations of a round run within
# seconds of each other, so the machine's drift between rounds cancels out),
# with their interquartile range; then the counter pass's companions.
report() {
	local n=$1 u=$2 k=$3 t=$4 hib=$5 ou=$6 lab=1
	[[ $k == open ]] && lab=0 # no device program in the label configuration
	awk -v lab="$lab" -v n="$n" -v u="$u" -v A="${none[$k]}" -v P="${plain[$k]}" -v R="${rules[$k]}" \
		-v F="${floor[$k]}" -v L="${label[$k]}" -v NB="${numbered[$k]}" \
		-v t="$t" -v hib="$hib" -v rounds="$ROUNDS" -v key="$k" -v ou="$ou" -v mode="$CMODE" \
		-v why="${COUNTERS_WHY:-}" -v cA="${cnt[none $k]}" -v cF="${cnt[floor $k]:-}" \
		-v cL="${cnt[label $k]:-}" -v cP="${cnt[plain $k]}" -v cR="${cnt[rules $k]}" \
		-v cN="${cnt[numbered $k]:-}" '
	function sortv(v, k,   i, j, x) {
		for (i = 2; i <= k; i++) {
			x = v[i]
			for (j = i - 1; j >= 1 && v[j] > x; j--)
				v[j + 1] = v[j]
			v[j + 1] = x
		}
	}
	function med(v, k) { sortv(v, k); return v[int((k + 1) / 2)] }
	function q(v, k, p) { sortv(v, k); return v[1 + int((k - 1) * p + 0.5)] }
	function spread(v, k) { return sprintf("iqr=%.3f-%.3f", q(v, k, 0.25), q(v, k, 0.75)) }
	# tot(C): kernel+user instructions (perf) or BPF ns (bpf) per operation
	function tot(c,   x) { split(c, x, " "); return mode == "perf" ? x[1] + x[2] : x[1] }
	function kern(c,   x) { split(c, x, " "); return x[1] }
	function runs(c,   x) { split(c, x, " "); return x[2] }
	# cratio(BASE, WITH): the companion ratio, oriented like the timing one
	function cratio(b, w) {
		return hib == 1 ? b / w : w / b
	}
	BEGIN {
		k = split(A, a, " "); split(P, p, " "); split(R, r, " "); split(F, f, " ")
		split(L, l, " "); split(NB, nb, " ")
		for (i = 1; i <= k; i++) {
			if (hib == 1) {
				ra[i] = r[i] / a[i]; rp[i] = r[i] / p[i]; rf[i] = f[i] / a[i]; rl[i] = l[i] / a[i]
			} else {
				ra[i] = a[i] / r[i]; rp[i] = p[i] / r[i]; rf[i] = a[i] / f[i]; rl[i] = a[i] / l[i]
				if (lab == 0) { rn[i] = a[i] / nb[i]; nb[i] = 1e6 / nb[i] }
			}
			a[i] = hib == 1 ? a[i] : 1e6 / a[i]
			f[i] = hib == 1 ? f[i] : 1e6 / f[i]
			l[i] = hib == 1 ? l[i] : 1e6 / l[i]
			p[i] = hib == 1 ? p[i] : 1e6 / p[i]
			r[i] = hib == 1 ? r[i] : 1e6 / r[i]
		}
		va = med(a, k); vp = med(p, k); vr = med(r, k); vf = med(f, k); vl = med(l, k)
		fl = med(rf, k)
		noisy = (fl > 1.02 || fl < 0.98) ? sprintf(" noisy (floor ratio %.3f)", fl) : ""
		printf "# %s: without iotgate %.3f %s, iotgate without interface rules %.3f %s, with the rules %.3f %s (medians of %d rounds)\n", n, va, u, vp, u, vr, u, rounds
		printf "bench %s: %.3f %s ratio=%.3f target=%s %s%s\n", n, vr, u, med(ra, k), t, spread(ra, k), noisy
		printf "bench %s-rules-only: %.3f %s ratio=%.3f target=%s %s%s\n", n, vr, u, med(rp, k), t, spread(rp, k), noisy
		printf "bench %s-floor: %.3f %s ratio=%.3f target=info %s (do-nothing programs on the same hooks)\n", n, vf, u, fl, spread(rf, k)
		if (lab == 1)
			printf "bench %s-label-floor: %.3f %s ratio=%.3f target=info %s (programs that only label each socket and look the label up per packet)\n", n, vl, u, med(rl, k), spread(rl, k)
		if (lab == 0)
			printf "bench %s-by-number: %.3f %s ratio=%.3f target=info %s (the same rules with the device named by major:minor: no watch on its directory)\n", n, med(nb, k), u, med(rn, k), spread(rn, k)
		if (mode == "perf") {
			printf "# %s counted: instructions per %s, kernel+user (kernel): without iotgate %.0f (%.0f), do-nothing programs %.0f (%.0f), label only %.0f (%.0f), iotgate without rules %.0f (%.0f), with the rules %.0f (%.0f)%s\n", n, ou, tot(cA), kern(cA), tot(cF), kern(cF), tot(cL), kern(cL), tot(cP), kern(cP), tot(cR), kern(cR), cN == "" ? "" : sprintf(", by number %.0f (%.0f)", tot(cN), kern(cN))
			printf "bench %s-instructions: %.0f instr/%s ratio=%.3f target=%s (kernel+user instructions per %s, perf stat, without iotgate %.0f)\n", n, tot(cR), ou, cratio(tot(cA), tot(cR)), t, ou, tot(cA)
			printf "bench %s-rules-only-instructions: %.0f instr/%s ratio=%.3f target=%s (against iotgate without rules: %.0f)\n", n, tot(cR), ou, cratio(tot(cP), tot(cR)), t, tot(cP)
			if (cN != "")
				printf "bench %s-by-number-instructions: %.0f instr/%s ratio=%.3f target=info\n", n, tot(cN), ou, cratio(tot(cA), tot(cN))
		} else {
			printf "# %s counted: guest instructions per %s (%s): without iotgate %.0f, do-nothing programs %.0f, label only %.0f, iotgate without rules %.0f, with the rules %.0f%s\n", n, ou, why, tot(cA), tot(cF), tot(cL), tot(cP), tot(cR), cN == "" ? "" : sprintf(", by number %.0f", tot(cN))
			printf "bench %s-instructions: %.0f instr/%s ratio=%.3f target=%s (instructions of the whole guest per %s while the load runs, qemu -icount, BPF LSM off as here; without iotgate %.0f)\n", n, tot(cR), ou, cratio(tot(cA), tot(cR)), t, ou, tot(cA)
			printf "bench %s-rules-only-instructions: %.0f instr/%s ratio=%.3f target=%s (against iotgate without rules: %.0f)\n", n, tot(cR), ou, cratio(tot(cP), tot(cR)), t, tot(cP)
			printf "bench %s-floor-instructions: %.0f instr/%s ratio=%.3f target=info (do-nothing programs on the same hooks)\n", n, tot(cF), ou, cratio(tot(cA), tot(cF))
			if (cN != "")
				printf "bench %s-by-number-instructions: %.0f instr/%s ratio=%.3f target=info\n", n, tot(cN), ou, cratio(tot(cA), tot(cN))
		}
		# connections: iotgate'"'"'s own logic over the cheapest per-socket label
		if (key == "crr")
			printf "bench %s-over-label-instructions: %.0f instr/%s ratio=%.3f target=>=0.98 (with the rules against programs that only label each socket: %.0f)\n", n, tot(cR), ou, cratio(tot(cL), tot(cR)), tot(cL)
	}'
}
report net-tcp-throughput Gbit/s tcp ">=0.97" 1 MB
report net-tcp-connections conn/s crr ">=0.95" 1 conn
report net-udp-64b-pps pkt/s udp ">=0.95" 1 pkt
report dev-open-allowed us/open open "<=1.05" 0 open
