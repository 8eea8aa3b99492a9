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
#
# The network and device figures (bench/net.sh) count more exactly where the
# PMU is missing: their loads run again in a VM booted with qemu's
# instruction counting (icount_vm: -icount shift=0,sleep=off, one vCPU). The
# guest's clocks then advance by exactly one nanosecond per emulated
# instruction, so a load's own clock around a fixed number of operations
# reads the instructions the whole guest (kernel, the load, the BPF programs,
# the daemon) executed for them, which nothing on the host can change. That
# holds only while the guest never waits for the host: an idle guest's clock
# jumps to its next timer, so a wait for the host's 9p file server counts as
# millions of instructions. The network loads touch no file while they run;
# an exec opens several files of the 9p root (16 requests per exec of
# /usr/bin/true), so the exec figures keep bpf_stats.

# counters_mode: sets CMODE to "perf", "bpf" or (inside icount_vm) "icount",
# and COUNTERS_WHY to the reason for the last two.
counters_mode() {
	local out
	if [[ ${IOTGATE_ICOUNT:-0} == 1 ]]; then
		CMODE=icount
		COUNTERS_WHY="qemu -icount: 1 ns of the guest's clock per instruction"
		return 0
	fi
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
# While a daemon answers, from its status (hooks.links: self-protection
# refuses bpftool an fd of iotgate's programs), each program once.
bpf_sum() {
	local types=${*:-cgroup_skb cgroup_sock cgroup_device lsm} st
	if [[ -S $SOCK ]] && st=$("$CTL" status --json 2>/dev/null); then
		jq -r --arg t " $types " '
			[ .hooks.links[] | select(.prog_type != null) | . as $l
			      | select($t | contains(" " + $l.prog_type + " ")) ]
			| unique_by(.prog_id)
			| "\(map(.run_time_ns) | add // 0) \(map(.run_cnt) | add // 0)"' <<<"$st"
		return
	fi
	bpftool prog show -j | jq -r --arg t " $types " '
		[ .[] | select((.name // "") | startswith("ig_"))
		      | .type as $ty | select($t | contains(" " + $ty + " ")) ]
		| "\(map(.run_time_ns // 0) | add // 0) \(map(.run_cnt // 0) | add // 0)"'
}

# bpf_sum_pid PID: "run_time_ns run_cnt" summed over the programs whose
# descriptors process PID holds (their fdinfo: a loader outside the daemon,
# whose programs are not in the daemon's status).
bpf_sum_pid() {
	local f t=0 c=0 k v
	for f in /proc/"$1"/fdinfo/*; do
		while read -r k v; do
			case $k in
			run_time_ns:) t=$((t + v)) ;;
			run_cnt:) c=$((c + v)) ;;
			esac
		done <"$f" 2>/dev/null || true
	done
	echo "$t $c"
}

# icount_vm CMD...: CMD in scripts/vm-run with instruction counting. One
# vCPU: qemu counts instructions with single-threaded TCG only, and a second
# vCPU does not come up under -icount. sleep=off: an idle guest's clock jumps
# to its next timer instead of following the host's.
icount_vm() {
	VM_CPUS=1 VM_ACCEL=tcg VM_TCG_THREAD=single IOTGATE_ICOUNT=1 \
		VM_QEMU_ARGS="${VM_QEMU_ARGS:+$VM_QEMU_ARGS }-icount shift=0,sleep=off" \
		VM_TIMEOUT="${VM_TIMEOUT:-3600}" "$TOP/scripts/vm-run" "$@"
}
