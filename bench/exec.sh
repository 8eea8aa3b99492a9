#!/bin/bash
# SPDX-License-Identifier: GPL-2.0-only
# Exec overhead of measured execution, inside the VM (full tier), as
#   bench <name>: <value> <unit> ratio=<with/without> target=<max>
# Without and with iotgate enforcing are measured alternately in the same
# boot, 2,000 posix_spawn+wait of each binary per configuration in rounds
# (A B B A ...), and the median of the rounds' ratios is reported: emulation
# makes absolute times meaningless, the ratio is what counts.
#   bench/exec.sh          runs itself in scripts/vm-run
#   bench/exec.sh --in-vm  the measurement
set -euo pipefail
TOP=$(cd "$(dirname "$0")/.." && pwd)
if [[ ${1:-} != --in-vm ]]; then
	VM_TIMEOUT=${VM_TIMEOUT:-3600} exec "$TOP/scripts/vm-run" "$TOP/bench/exec.sh" --in-vm
fi
source "$TOP/tests/lib/common.bash"
T=$(mktemp -d)
# Private copies: a rebuild of the tree while this runs must not change them.
mkdir "$T/bin"
cp "$CTL" "$IOTGATED" "$B/bench/spawn" "$T/bin/"
CTL=$T/bin/iotgatectl
IOTGATED=$T/bin/iotgated
B_SPAWN=$T/bin/spawn
N=${BENCH_EXECS:-2000}    # execs per configuration and binary, over all rounds
ROUNDS=${BENCH_ROUNDS:-10}
PER=$((N / ROUNDS))
SPAWN=$B_SPAWN
SMALL=$T/small
cp /usr/bin/true "$SMALL"
HEAVY=$(command -v ssh) # 10+ shared libraries
HEAVY_ARGS=(-V)
[[ $(ldd "$HEAVY" | wc -l) -ge 11 ]] || { echo "bench: $HEAVY links fewer than 10 libraries" >&2; exit 1; }

ig_manifest "$SMALL" "$HEAVY" "$SPAWN" "$CTL" "$IOTGATED" "$(command -v sleep)"
ig_policy enforce
ig_sign "$T/iotgate.conf"
ig_sign "$T/manifest.sha256"

median() { sort -n | awk '{ a[NR] = $1 } END { print a[int((NR + 1) / 2)] }'; }

# One round: PER execs of each binary without iotgate and PER with it
# enforcing, in alternating order (ABBA...) so that drift of this emulated
# machine hits both alike; the ratio reported is the median of the rounds'.
#
# Both configurations first run each binary once and, with iotgate, wait
# until the daemon is idle: the first run of a file adds its record to the
# measurement log (hashed in a child process), a one-time cost per file
# version that is not the per-exec overhead measured here. Without the wait
# the daemon's start-up and those records ran on the other CPU of the VM
# during the first binary's measurement.
declare -A tm ratios
cpu_of() { # utime+stime of the process and its reaped children (builtins only: enforcing)
	local f
	read -ra f <"/proc/$1/stat"
	echo $((f[13] + f[14] + f[15] + f[16]))
}
wait_idle() { # pid: until it used no CPU for half a second (at most 60 s)
	local prev now i
	prev=$(cpu_of "$1")
	for ((i = 0; i < 120; i++)); do
		sleep 0.5
		now=$(cpu_of "$1")
		[[ $now == "$prev" ]] && return 0
		prev=$now
	done
	echo "bench: the daemon did not become idle" >&2
	exit 1
}
run() { # off|on
	local dpid i
	if [[ $1 == on ]]; then
		"$IOTGATED" --policy "$T/iotgate.conf" --keys-dir "$T/keys" --state-dir "$T/state" \
			>"$T/daemon.log" 2>&1 &
		dpid=$!
		for ((i = 0; i < 300; i++)); do "$CTL" status >/dev/null 2>&1 && break; sleep 0.1; done
	fi
	"$SPAWN" 1 "$SMALL" >/dev/null
	"$SPAWN" 1 "$HEAVY" "${HEAVY_ARGS[@]}" >/dev/null
	if [[ $1 == on ]]; then wait_idle "$dpid"; fi
	tm[$1 small]=$("$SPAWN" "$PER" "$SMALL")
	tm[$1 heavy]=$("$SPAWN" "$PER" "$HEAVY" "${HEAVY_ARGS[@]}")
	if [[ $1 == on ]]; then
		"$CTL" status --json >"$T/status.json" # jq is not in the manifest: read it afterwards
		"$CTL" stop-enforcing >/dev/null
		wait
		denied=$(jq '.counters.exec.denied + .counters.mmap.denied' "$T/status.json")
		[[ $denied == 0 ]] || { echo "bench: $denied execs were denied: the manifest is incomplete" >&2; exit 1; }
	fi
}
for r in $(seq $ROUNDS); do
	if ((r % 2)); then run off; run on; else run on; run off; fi
	for b in small heavy; do
		ratios[$b]+="$(awk -v a="${tm[off $b]}" -v b="${tm[on $b]}" 'BEGIN { print b / a }')"$'\n'
		tm[total off $b]=$((${tm[total off $b]:-0} + ${tm[off $b]}))
		tm[total on $b]=$((${tm[total on $b]:-0} + ${tm[on $b]}))
	done
done

report() { # name binary target
	awk -v n="$1" -v r="$(printf '%s' "${ratios[$2]}" | median)" -v a="${tm[total off $2]}" \
		-v b="${tm[total on $2]}" -v k="$((PER * ROUNDS))" -v rounds="$ROUNDS" -v t="$3" 'BEGIN {
		printf "bench %s: %.1f execs/s ratio=%.3f target=%s (without iotgate: %.1f execs/s; %d execs each, median of %d rounds)\n",
			n, k / (b / 1e9), r, t, k / (a / 1e9), k, rounds }'
}
report exec_small small 1.03
report exec_10libs heavy 1.05
rm -rf "$T"
