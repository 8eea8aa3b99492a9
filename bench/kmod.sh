#!/bin/bash
# SPDX-License-Identifier: GPL-2.0-only
# bench/kmod.sh: in-kernel measurement with kmod/iotgate_measure.ko, in one boot
# of the VM (scripts/vm-run; absolute times under emulation mean nothing, so
# every number is a ratio to a baseline measured in the same run).
#
#   kmod_exec_warm   exec of an allowlisted binary while iotgated runs (audit
#                    mode) and the module measures every exec from its warm
#                    cache, against the same execs with iotgated alone (the
#                    measuring programs detached), in alternating short runs;
#                    each side's lower quartile. Target: ratio <= 1.02.
#   kmod_digest_20mb first exec of a 20 MB binary (cold cache, file in the page
#                    cache): the module's hashing time (its last_ns counter)
#                    against sha256sum of the same file (its start-up time,
#                    sha256sum of an empty file, subtracted), interleaved, the
#                    fastest round of each. Target: ratio <= 1.2.
#
# Prints "bench <name>: <value> <unit> ratio=<x> target=<y>" lines, details as
# "# ..." lines. Needs scripts/build-kmod and make to have run. Environment:
# KMOD_BENCH_ROUNDS (exec pairs, default 60), KMOD_BENCH_EXECS (execs per run,
# default 10), KMOD_BENCH_DIGESTS (20 MB digests, default 7).
set -euo pipefail

TOP=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd -P)
if [[ ${1:-} != --in-vm ]]; then
	exec "$TOP/scripts/vm-run" "$TOP/bench/kmod.sh" --in-vm
fi

# shellcheck source=tests/lib/common.bash
source "$TOP/tests/lib/common.bash"
KO=$TOP/kmod/iotgate_measure.ko
KM=$B/kmod/iotgate-kmeasure
KX=$B/bench/kmod-exec
PARAMS=/sys/module/iotgate_measure/parameters
ROUNDS=${KMOD_BENCH_ROUNDS:-60}
EXECS=${KMOD_BENCH_EXECS:-10}
DROUNDS=${KMOD_BENCH_DIGESTS:-7}

die() { echo "bench/kmod.sh: $*" >&2; exit 1; }
for f in "$KO" "$KM" "$KX" "$IOTGATED" "$CTL"; do
	[[ -e $f ]] || die "$f is missing: run make and scripts/build-kmod first"
done

T=$(mktemp -d)
KMPID=
cleanup() {
	[[ -n $KMPID ]] && kill "$KMPID" 2>/dev/null && wait "$KMPID" 2>/dev/null
	ig_cleanup
	rmmod iotgate_measure 2>/dev/null || true
	rm -rf "$T"
}
trap cleanup EXIT

km_start() {
	"$KM" --source module >"$T/km.out" 2>&1 &
	KMPID=$!
	for _ in $(seq 300); do
		grep -q '^ready$' "$T/km.out" && break
		sleep 0.1
	done
	grep -qx 'source=module' "$T/km.out" || { cat "$T/km.out" >&2; die "the module is not the source"; }
}
km_stop() {
	kill "$KMPID" 2>/dev/null || true
	wait "$KMPID" 2>/dev/null || true
	KMPID=
}
param() { local v; read -r v <"$PARAMS/$1"; echo "$v"; }
# pct P FILE: the P-th percentile of the numbers in FILE (one a line)
pct() { sort -g "$2" | awk -v p="$1" '{ a[NR] = $1 } END { i = int(NR * p / 100 + 0.5); print a[i < 1 ? 1 : i] }'; }
# us_now: microseconds, without forking
us_now() { local t=${EPOCHREALTIME/[.,]/}; echo "$t"; }

ig_cleanup
rmmod iotgate_measure 2>/dev/null || true
# The module hashes with the kernel's best "sha256" driver. Under emulation
# the vector ones (sha256-avx2 from sha256_ssse3) are slower than plain C, so
# the VM keeps sha256-generic: C against sha256sum's C.
insmod "$KO"

# Files on the VM's tmpfs (the work tree is uncached 9p: a new inode per exec).
cp /usr/bin/true "$T/prog"
cp "$KX" "$T/kx"
ig_manifest "$T/prog" "$T/kx" "$CTL" "$IOTGATED"
ig_policy audit
ig_start
"$T/kx" loop 20 "$T/prog" >/dev/null

# --- exec on a warm cache --------------------------------------------------
# Short runs, the programs detached for one and attached for the next (in
# alternating order), so drift of the emulated machine's speed falls on both
# sides. Contention on the host only ever adds time, so each side is
# summarised by the lower quartile of its single execs.
km_start
"$T/kx" loop 5 "$T/prog" >/dev/null # warm: measured once, cached after
toggles=0
km_set() { # km_set 0|1: detach or attach, and wait until done
	kill -"USR$((1 + $1))" "$KMPID"
	toggles=$((toggles + 1))
	for _ in $(seq 200); do
		(($(grep -c '^enabled=' "$T/km.out") >= toggles)) && break
		sleep 0.05
	done
	[[ $(grep '^enabled=' "$T/km.out" | tail -n 1) == "enabled=$1" ]] || die "cannot toggle the programs"
}
: >"$T/base" && : >"$T/with"
for ((r = 0; r < ROUNDS; r++)); do
	if ((r % 2)); then
		km_set 1 && "$T/kx" times "$EXECS" "$T/prog" >>"$T/with"
		km_set 0 && "$T/kx" times "$EXECS" "$T/prog" >>"$T/base"
	else
		km_set 0 && "$T/kx" times "$EXECS" "$T/prog" >>"$T/base"
		km_set 1 && "$T/kx" times "$EXECS" "$T/prog" >>"$T/with"
	fi
done
# The counter pass (bench/counters.bash): KMOD_BENCH_COUNT execs with the
# measuring programs detached, then attached; per exec, instructions (perf)
# or the run time of the programs (bpf_stats: the emulated CPU has no PMU).
# shellcheck source=bench/counters.bash
source "$TOP/bench/counters.bash"
counters_mode
CN=${KMOD_BENCH_COUNT:-300}
count_kx() { # OUT: CN execs of the program
	if [[ $CMODE == perf ]]; then
		perf_count "$1" "$T/kx" loop "$CN" "$T/prog" >/dev/null
	else
		# the daemon's programs (its status) and the module loader's (its fds)
		kx_sum() { echo "$(bpf_sum lsm tracing) $(bpf_sum_pid "$KMPID")" |
			awk '{ print $1 + $3, $2 + $4 }'; }
		{ kx_sum; "$T/kx" loop "$CN" "$T/prog" >/dev/null; kx_sum; } >"$1"
	fi
}
[[ $CMODE == bpf ]] && bpf_stats_on
km_set 0 && count_kx "$T/c-off"
km_set 1 && count_kx "$T/c-on"
bpf_stats_restore
km_stop
b=$(pct 25 "$T/base") w=$(pct 25 "$T/with")
n=$(wc -l <"$T/with")
echo "# exec, $n each: iotgated alone p25 $((b / 1000)) us median $(($(pct 50 "$T/base") / 1000)) us;" \
	"with the module measuring p25 $((w / 1000)) us median $(($(pct 50 "$T/with") / 1000)) us"
# Per round (EXECS execs a side): the ratio of the medians; their median and
# interquartile range give the figure's spread.
rr=$(paste "$T/base" "$T/with" | awk -v e="$EXECS" '
	function med(v, k,   i, j, x) {
		for (i = 2; i <= k; i++) { x = v[i]; for (j = i - 1; j >= 1 && v[j] > x; j--) v[j + 1] = v[j]; v[j + 1] = x }
		return k % 2 ? v[(k + 1) / 2] : (v[k / 2] + v[k / 2 + 1]) / 2
	}
	{ i = (NR - 1) % e + 1; b[i] = $1; w[i] = $2 }
	i == e { print med(w, e) / med(b, e) }' | sort -g | awk '{ a[NR] = $1 } END {
		printf "%.3f %.3f %.3f", a[int((NR + 1) / 2)], a[1 + int((NR - 1) * 0.25 + 0.5)], a[1 + int((NR - 1) * 0.75 + 0.5)] }')
read -r rmed rq1 rq3 <<<"$rr"
awk -v b="$b" -v w="$w" -v m="$rmed" -v q1="$rq1" -v q3="$rq3" -v r="$ROUNDS" 'BEGIN {
	printf "bench kmod_exec_warm: %.1f us ratio=%.3f target=1.02 iqr=%.3f-%.3f (ratio of the p25s; per round, ratio of the medians: median %.3f of %d; no floor measured here)\n",
		w / 1000, w / b, q1, q3, m, r }'
if [[ $CMODE == perf ]]; then
	awk -v n="$CN" 'FNR == NR { off = $1 + $2; next } { on = $1 + $2 } END {
		printf "bench kmod_exec_warm-instructions: %.0f instr/exec ratio=%.3f target=1.02 (kernel+user per exec, perf stat; programs detached %.0f)\n",
			on / n, on / off, off / n }' "$T/c-off" "$T/c-on"
else
	awk -v n="$CN" -v t0="$b" -v why="$COUNTERS_WHY" 'FNR == 1 { t[FILENAME] = -$1; c[FILENAME] = -$2 }
	FNR == 2 { t[FILENAME] += $1; c[FILENAME] += $2 } END {
		off = ARGV[1]; on = ARGV[2]; d = (t[on] - t[off]) / n
		printf "bench kmod_exec_warm-bpf: %.0f ns/exec ratio=%.3f target=1.02 (%s: the BPF run time per exec the measuring programs add (bpf_stats; %.0f ns with them, %.0f without, %.1f program runs per exec), added to the %.0f ns p25 exec without them)\n",
			d, (t0 + d) / t0, why, t[on] / n, t[off] / n, c[on] / n, t0 }' "$T/c-off" "$T/c-on"
fi

# --- first exec of a 20 MB binary ----------------------------------------
# Without iotgated: in audit mode it hashes unknown programs (sha256sum) in
# userspace, which would compete with the timed sha256sum.
ig_cleanup
cp /usr/bin/true "$T/big"
head -c 20M /dev/urandom >>"$T/big"
: >"$T/empty"
cat "$T/big" >/dev/null
km_start
sha256sum "$T/empty" >/dev/null
kern=() user=() empty=()
for ((r = 0; r < DROUNDS; r++)); do
	touch "$T/big" # a new ctime: the next exec misses the cache
	m0=$(param measured)
	"$T/big"
	[[ $(param measured) -gt $m0 ]] || die "the 20 MB exec was not measured by the module"
	kern+=("$(param last_ns)")
	t0=$(us_now)
	sha256sum "$T/big" >/dev/null
	t1=$(us_now)
	sha256sum "$T/empty" >/dev/null
	t2=$(us_now)
	user+=($(((t1 - t0) * 1000)))
	empty+=($(((t2 - t1) * 1000)))
done
km_stop
# the fastest round of each: host contention only ever adds time
fastest() { printf '%s\n' "$@" | sort -g | head -n 1; }
k=$(fastest "${kern[@]}")
u=$(($(fastest "${user[@]}") - $(fastest "${empty[@]}")))
echo "# 20 MB digest by the module ($(param hash_driver)): ${kern[*]} ns"
echo "# sha256sum: ${user[*]} ns; of an empty file (start-up): ${empty[*]} ns"
awk -v k="$k" -v u="$u" 'BEGIN { printf "bench kmod_digest_20mb: %.1f ms ratio=%.3f target=1.2\n", k / 1e6, k / u }'
