# SPDX-License-Identifier: GPL-2.0-only
# Deterministic companions of the timing figures (sourced by bench/*.sh).
#
# Where the CPU's counters are usable, a load is counted with
#   perf stat -e instructions:k,instructions:u
# (instructions per operation do not depend on what else the machine runs).
# Where they are not (a hypervisor that hides the PMU, like this development
# machine's, or the VM's emulated CPU), the BPF programs' own run-time
# statistics (kernel.bpf_stats_enabled=1, run_time_ns and run_cnt per program)
# give the time spent in iotgate's programs per operation, which the
# scheduler and the other CPU do not inflate the way they inflate a whole
# operation's time. counters_mode says which one this machine gets.

# counters_mode: sets CMODE to "perf" or "bpf", and COUNTERS_WHY to the
# reason for "bpf".
counters_mode() {
	local out
	CMODE=bpf
	COUNTERS_WHY=
	if ! command -v perf >/dev/null; then
		COUNTERS_WHY="no perf (apt-get install linux-perf)"
	else
		out=$(perf stat -x, -e instructions:k,instructions:u true 2>&1 >/dev/null) || true
		if [[ $out =~ ^[0-9]+,[^$'\n']*instructions:k ]] && [[ $out != *"not supported"* ]] &&
			[[ $out != *"not counted"* ]]; then
			CMODE=perf
			return 0
		fi
		COUNTERS_WHY="perf stat -e instructions: not supported (no usable PMU"
		# (the boot message may have left dmesg's ring; the missing PMU device stays)
		if [[ ! -e /sys/bus/event_source/devices/cpu ]] && grep -qw hypervisor /proc/cpuinfo; then
			COUNTERS_WHY+=": hidden by the hypervisor"
		fi
		COUNTERS_WHY+=")"
	fi
}

# perf_count FILE CMD...: run CMD under perf stat; FILE gets "kernel user"
# instructions. CMD's stdout is passed through.
perf_count() {
	local f=$1
	shift
	perf stat -x, -o "$f.raw" -e instructions:k,instructions:u -- "$@"
	awk -F, '/instructions:k/ { k = $1 } /instructions:u/ { u = $1 } END { print k + 0, u + 0 }' \
		"$f.raw" >"$f"
}

BPF_STATS_WAS=
bpf_stats_on() {
	[[ -n $BPF_STATS_WAS ]] || BPF_STATS_WAS=$(sysctl -n kernel.bpf_stats_enabled)
	sysctl -qw kernel.bpf_stats_enabled=1
}
bpf_stats_restore() {
	[[ -z $BPF_STATS_WAS ]] || sysctl -qw kernel.bpf_stats_enabled="$BPF_STATS_WAS"
	BPF_STATS_WAS=
}

# bpf_sum [TYPE...]: "run_time_ns run_cnt" summed over the loaded programs
# named ig_* (iotgate's and bench/bpf's) of the given types (default: the
# cgroup and LSM hooks a load's operations go through; tracepoints on
# syscalls are left out, since every other process on the machine fires them).
bpf_sum() {
	local types=${*:-cgroup_skb cgroup_sock cgroup_device lsm}
	bpftool prog show -j | jq -r --arg t " $types " '
		[ .[] | select((.name // "") | startswith("ig_"))
		      | .type as $ty | select($t | contains(" " + $ty + " ")) ]
		| "\(map(.run_time_ns // 0) | add // 0) \(map(.run_cnt // 0) | add // 0)"'
}
