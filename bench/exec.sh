#!/bin/bash
# SPDX-License-Identifier: GPL-2.0-only
# Exec overhead of measured execution, inside the VM (full tier; with --kill
# on this machine in the kill tier), as
#   bench <name>: <value> <unit> ratio=<with/without> target=<max>
# Without and with iotgate enforcing are measured alternately in the same
# boot, 2,000 posix_spawn+wait of each binary per configuration in rounds
# (A B B A ...), and the median of the rounds' ratios is reported with their
# interquartile range: emulation makes absolute times meaningless, the ratio
# is what counts. A third configuration, do-nothing programs on the same hooks
# (bench/bpf/execfloor.bpf.c, the floor), marks a figure "noisy" when its own
# ratio is more than 2 points from 1.00. After the rounds, a counter pass
# (bench/counters.bash) prints each figure's deterministic companion with the
# same target: instructions per exec where the CPU has counters, else (the
# emulated CPU) the run time of iotgate's programs per exec from bpf_stats,
# added to the time per exec without iotgate.
#   bench/exec.sh          runs itself in scripts/vm-run
#   bench/exec.sh --in-vm  the measurement
#   bench/exec.sh --kill   the same on this machine's own kernel in the kill
#                          tier (exec_small_kill, exec_10libs_kill): tracing
#                          programs only, LSM programs refused by the test
#                          switch where the kernel would take them
set -euo pipefail
TOP=$(cd "$(dirname "$0")/.." && pwd)
KILL=
case ${1:-} in
--in-vm) ;;
--kill)
	KILL=_kill
	# Enforcing in the kill tier kills every other exec on this machine
	# that is not in the bench's manifest: run this alone.
	export IOTGATE_TEST_REFUSE_PROGS=ig_bprm_check
	;;
*) VM_TIMEOUT=${VM_TIMEOUT:-3600} exec "$TOP/scripts/vm-run" "$TOP/bench/exec.sh" --in-vm ;;
esac
source "$TOP/tests/lib/common.bash"
T=$(mktemp -d)
# Private copies: a rebuild of the tree while this runs must not change them.
mkdir "$T/bin"
cp "$CTL" "$IOTGATED" "$B/bench/spawn" "$B/bench/progs" "$B/bench/execfloor.bpf.o" \
	"$B/bench/killfloor.bpf.o" "$T/bin/"
FLOOR_OBJ=$T/bin/execfloor.bpf.o
[[ -z $KILL ]] || FLOOR_OBJ=$T/bin/killfloor.bpf.o
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

# bpftool, jq (and perf): the counter pass reads its counters while iotgate enforces.
ig_manifest "$SMALL" "$HEAVY" "$SPAWN" "$CTL" "$IOTGATED" "$(command -v sleep)" \
	"$(command -v bpftool)" "$(command -v jq)" "$(command -v perf || command -v jq)"
ig_policy enforce
ig_sign "$T/iotgate.conf"
ig_sign "$T/manifest.sha256"

# In the kill tier a dead man's switch (tests/lib/kill-guard.py) removes
# the pins if this script dies while iotgate enforces; started before
# enforcement, stopped (quietly) after it.
GUARD=
guard_start() {
	[[ -n $KILL ]] || return 0
	/usr/bin/python3 "$TOP/tests/lib/kill-guard.py" 1800 &
	GUARD=$!
}
guard_stop() {
	[[ -n $GUARD ]] || return 0
	kill -TERM "$GUARD" 2>/dev/null || true
	GUARD=
}
trap '[[ -n $GUARD ]] && kill -USR1 "$GUARD" 2>/dev/null' EXIT
tier_check() { # status.json: the tier measured is the one named
	local want=full
	[[ -z $KILL ]] || want=kill
	jq -e --arg t "$want" '.tier == $t' "$1" >/dev/null ||
		{ echo "bench: iotgate ran in tier $(jq -r .tier "$1"), not $want" >&2; exit 1; }
}

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
declare -A tm ratios floors
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
FLOOR=1
run() { # off|floor|on
	local dpid i
	[[ $1 == floor ]] && ((FLOOR == 0)) && return 0
	if [[ $1 == floor ]]; then
		"$T/bin/progs" "$FLOOR_OBJ" >"$T/floor.out" 2>&1 &
		dpid=$!
		for ((i = 0; i < 100; i++)); do grep -q '^ready' "$T/floor.out" && break; sleep 0.1; done
		grep -q '^ready' "$T/floor.out" || {
			echo "# exec floor unavailable: $(tr '\n' ' ' <"$T/floor.out")"
			kill "$dpid" 2>/dev/null; wait "$dpid" 2>/dev/null
			FLOOR=0
			return 0
		}
	fi
	if [[ $1 == on ]]; then
		guard_start
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
	if [[ $1 == floor ]]; then
		kill "$dpid"
		wait "$dpid" 2>/dev/null || true
	fi
	if [[ $1 == on ]]; then
		"$CTL" status --json >"$T/status.json" # jq is not in the manifest: read it afterwards
		"$CTL" stop-enforcing >/dev/null
		guard_stop
		wait
		tier_check "$T/status.json"
		denied=$(jq '.counters.exec.denied + .counters.mmap.denied' "$T/status.json")
		[[ $denied == 0 ]] || { echo "bench: $denied execs were denied: the manifest is incomplete" >&2; exit 1; }
	fi
}
for r in $(seq $ROUNDS); do
	if ((r % 2)); then run off; run floor; run on; else run on; run floor; run off; fi
	for b in small heavy; do
		ratios[$b]+="$(awk -v a="${tm[off $b]}" -v b="${tm[on $b]}" 'BEGIN { print b / a }')"$'\n'
		if ((FLOOR)); then floors[$b]+="$(awk -v a="${tm[off $b]}" -v b="${tm[floor $b]}" 'BEGIN { print b / a }')"$'\n'; fi
		tm[total off $b]=$((${tm[total off $b]:-0} + ${tm[off $b]}))
		tm[total on $b]=$((${tm[total on $b]:-0} + ${tm[on $b]}))
		t=$((${tm[off $b]} / PER))
		((${tm[best off $b]:-0} && ${tm[best off $b]:-0} <= t)) || tm[best off $b]=$t
	done
done

# --- the counter pass: iotgate enforcing, bpf_stats on, CN_EXECS of each --
# shellcheck source=bench/counters.bash
source "$TOP/bench/counters.bash"
counters_mode
CN=${BENCH_COUNT_EXECS:-500}
declare -A cnt
# count_exec OUT BINARY ARGS...: CN execs; OUT gets "kernel user"
# instructions (perf) or the programs' "run_time_ns run_cnt" before and after
# (bpf). Only programs in the manifest run here: iotgate may be enforcing.
count_exec() {
	local out=$1
	shift
	if [[ $CMODE == perf ]]; then
		perf stat -x, -o "$out.raw" -e instructions:k,instructions:u -- "$SPAWN" "$CN" "$@" >/dev/null
	else
		bpf_sum lsm tracing tracepoint >"$out"
		"$SPAWN" "$CN" "$@" >/dev/null
		bpf_sum lsm tracing tracepoint >>"$out"
	fi
}
# per_exec OUT: per exec, "kernel user" instructions or "BPF ns, program runs"
per_exec() {
	if [[ $CMODE == perf ]]; then
		awk -F, -v n="$CN" '/instructions:k/ { k = $1 } /instructions:u/ { u = $1 } END { print k / n, u / n }' "$1.raw"
	else
		awk -v n="$CN" 'NR == 1 { t = $1; c = $2 } NR == 2 { print ($1 - t) / n, ($2 - c) / n }' "$1"
	fi
}
[[ $CMODE == bpf ]] && bpf_stats_on
if [[ $CMODE == perf ]]; then
	count_exec "$T/c-off-small" "$SMALL"
	count_exec "$T/c-off-heavy" "$HEAVY" "${HEAVY_ARGS[@]}"
	cnt[off small]=$(per_exec "$T/c-off-small")
	cnt[off heavy]=$(per_exec "$T/c-off-heavy")
fi
guard_start
"$IOTGATED" --policy "$T/iotgate.conf" --keys-dir "$T/keys" --state-dir "$T/state" >"$T/daemon.log" 2>&1 &
dpid=$!
for ((i = 0; i < 300; i++)); do "$CTL" status >/dev/null 2>&1 && break; sleep 0.1; done
"$SPAWN" 1 "$SMALL" >/dev/null
"$SPAWN" 1 "$HEAVY" "${HEAVY_ARGS[@]}" >/dev/null
wait_idle "$dpid"
count_exec "$T/c-on-small" "$SMALL"
count_exec "$T/c-on-heavy" "$HEAVY" "${HEAVY_ARGS[@]}"
"$CTL" stop-enforcing >/dev/null
guard_stop
wait "$dpid" || true
bpf_stats_restore
cnt[on small]=$(per_exec "$T/c-on-small")
cnt[on heavy]=$(per_exec "$T/c-on-heavy")

report() { # name binary target
	local fl=""
	if ((FLOOR)); then fl=$(printf '%s' "${floors[$2]}" | median); fi
	printf '%s' "${ratios[$2]}" | sort -g >"$T/sorted"
	awk -v n="$1" -v r="$(printf '%s' "${ratios[$2]}" | median)" -v a="${tm[total off $2]}" \
		-v b="${tm[total on $2]}" -v k="$((PER * ROUNDS))" -v rounds="$ROUNDS" -v t="$3" \
		-v fl="$fl" -v mode="$CMODE" -v why="${COUNTERS_WHY:-}" -v cA="${cnt[off $2]:-}" \
		-v cR="${cnt[on $2]}" -v best="${tm[best off $2]}" -v sorted="$(tr '\n' ' ' <"$T/sorted")" 'BEGIN {
		m = split(sorted, v, " ")
		iqr = sprintf("iqr=%.3f-%.3f", v[1 + int((m - 1) * 0.25 + 0.5)], v[1 + int((m - 1) * 0.75 + 0.5)])
		noisy = fl == "" ? " (no floor: the do-nothing programs did not attach)" : \
			(fl > 1.02 || fl < 0.98) ? sprintf(" noisy (floor ratio %.3f)", fl) : ""
		printf "bench %s: %.1f execs/s ratio=%.3f target=%s %s%s (without iotgate: %.1f execs/s; %d execs each, median of %d rounds)\n",
			n, k / (b / 1e9), r, t, iqr, noisy, k / (a / 1e9), k, rounds
		if (fl != "")
			printf "bench %s-floor: ratio=%.3f target=info (do-nothing programs on the same hooks)\n", n, fl
		t0 = best # ns per exec without iotgate: the fastest round (noise only adds time)
		split(cR, c, " ")
		if (mode == "perf") {
			split(cA, o, " ")
			printf "bench %s-instructions: %.0f instr/exec ratio=%.3f target=%s (kernel+user instructions per exec, perf stat; without iotgate %.0f)\n",
				n, c[1] + c[2], (c[1] + c[2]) / (o[1] + o[2]), t, o[1] + o[2]
		} else
			printf "bench %s-bpf: %.0f ns/exec ratio=%.3f target=%s (%s: BPF run time of iotgate'"'"'s programs per exec from bpf_stats, %.1f program runs per exec, added to the %.0f ns an exec takes without iotgate (fastest round); the daemon'"'"'s and the measurement'"'"'s costs outside the programs are not in it)\n",
				n, c[1], (t0 + c[1]) / t0, t, why, c[2], t0
	}'
}
report "exec_small$KILL" small 1.03
report "exec_10libs$KILL" heavy 1.05
rm -rf "$T"
