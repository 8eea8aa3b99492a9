#!/usr/bin/env bats
# SPDX-License-Identifier: GPL-2.0-only
# The kill tier: BPF LSM refused, tracing programs loaded. On this machine's
# kernel it is what the kernel gives; in the VM (tests/vm/kill.bats runs this
# file) the LSM programs are refused by IOTGATE_TEST_REFUSE_PROGS. In
# enforce mode a refused exec or executable mapping is a SIGKILL (exit 137)
# before the code runs. Enforcement here is machine-wide: each scenario runs
# in one shell (tests/vm/lib/enforce.sh) and a guard process removes the pins
# if a test leaves them behind (tests/lib/kill-guard.py).

load ../lib/common

setup_file() {
	"$TOP/scripts/host-setup"
}

setup() {
	ig_cleanup
	export IOTGATE_TEST_REFUSE_PROGS=ig_bprm_check
	T=$(mktemp -d)
	chmod 755 "$T"
	cp /usr/bin/touch "$T/allowed"
	cp /usr/bin/touch "$T/denied"
	echo x >>"$T/denied" # other content, still a runnable ELF
	cp "$(ig_libs /usr/bin/touch | grep '/libc\.so')" "$T/evil.so"
	cp /usr/bin/true "$T/data"
	ig_manifest "$T/allowed" "$EXECTOOL" "$CTL" "$IOTGATED"
	/usr/bin/python3 "$TOP/tests/lib/kill-guard.py" 120 &
	GUARD=$!
}

teardown() {
	kill -USR1 "$GUARD" 2>/dev/null
	wait "$GUARD" 2>/dev/null
	ig_cleanup
	for l in igk0 igkc0 igkc1; do ip link del "$l" 2>/dev/null || true; done
	rm -rf "$T"
}

@test "kill tier: chosen when BPF LSM is refused; the state says what it enforces and how" {
	ig_policy audit
	ig_start
	run "$CTL" status --json
	[ "$status" -eq 0 ]
	echo "$output" | jq -e '.tier == "kill" and .health == "degraded"'
	echo "$output" | jq -e '.hooks.exec_lsm == false and .hooks.exec_tracepoint and .hooks.mmap_tracepoint'
	echo "$output" | jq -r '.reasons[] | select(.code == "kill_tier") | .message' | grep -q "stopped with SIGKILL before they run"
	echo "$output" | jq -e '.hooks.inject_tracepoint and .hooks.self_protect == false'
	echo "$output" | jq -r '.reasons[] | select(.code == "kill_tier") | .message' | grep -q "so are ptrace attach, PTRACE_TRACEME, process_vm_writev and /proc/PID/mem opened for writing"
	# each gap named in the reason is listed with its sentence
	for g in write_guard self_signal self_bpf self_pins self_process self_ptrace protected_paths kernel_loads mem_fd compat_syscalls; do
		echo "$output" | jq -e --arg g "$g" '.tier_gaps | map(select(.code == $g and (.message | length) > 20)) | length == 1'
		echo "$output" | jq -r '.reasons[] | select(.code == "kill_tier") | .message' | grep -q " $g"
	done
	for p in ig_exec_tp ig_mmap_tp ig_mprot_in ig_mprot_tp ig_ptrace_tp ig_pvm_tp ig_openat_tp ig_openat2_tp; do
		[ -e "$PIN_DIR/link_$p" ]
	done
	[ ! -e "$PIN_DIR/link_ig_bprm_check" ]
	run "$CTL" status
	[[ $output == *"tier:      kill"* ]]
}

@test "enforce: an allowlisted binary runs, another is killed before it runs, logged with its digest" {
	ig_policy enforce
	cat >"$T/s.sh" <<-EOS
		run_rc allowed "$T/allowed" "$T/made-by-allowed"
		run_rc denied "$T/denied" "$T/made-by-denied"
		"$CTL" status --json >"$T/status.json"
	EOS
	scenario "$T/s.sh"
	[[ $output == *"allowed=0"* ]]
	[[ $output == *"denied=137"* ]]
	[ -e "$T/made-by-allowed" ]
	[ ! -e "$T/made-by-denied" ]
	jq -e '.tier == "kill" and .counters.exec.allowed >= 1 and .counters.exec.denied == 1' "$T/status.json"
	jq -e --arg p "$T/denied" '[.violations[] | select(.path == $p and .verdict == "kill" and .reason == "not_in_manifest")] | length == 1' "$T/status.json"
	digest=$(sha256sum "$T/denied" | cut -d' ' -f1)
	grep -q " ima-ng sha256:$digest $T/denied\$" "$T/state/measurements"
	"$CTL" log verify --file "$T/state/measurements"
}

@test "enforce: a changed allowlisted binary is killed" {
	ig_policy enforce
	cat >"$T/s.sh" <<-EOS
		run_rc before "$T/allowed" "$T/one"
		printf 'x' >>"$T/allowed"
		run_rc after "$T/allowed" "$T/two"
	EOS
	scenario "$T/s.sh"
	[[ $output == *"before=0"* ]]
	[[ $output == *"after=137"* ]]
	[ ! -e "$T/two" ]
}

@test "enforce: files mapped executable outside the manifest kill the process (mmap, mprotect, LD_PRELOAD)" {
	ig_policy enforce
	cat >"$T/s.sh" <<-EOS
		run_rc mmap_listed "$EXECTOOL" mmap "$T/allowed"
		run_rc mmap "$EXECTOOL" mmap "$T/data"
		run_rc mprotect "$EXECTOOL" mprotect "$T/data"
		LD_PRELOAD="$T/evil.so" run_rc preload "$T/allowed" "$T/made-with-preload"
		"$CTL" status --json >"$T/status.json"
	EOS
	scenario "$T/s.sh"
	[[ $output == *"mmap_listed=0"* ]]
	[[ $output == *"mmap=137"* ]]
	[[ $output == *"mprotect=137"* ]]
	[[ $output == *"preload=137"* ]]
	[ ! -e "$T/made-with-preload" ]
	jq -e '.counters.mmap.denied >= 3' "$T/status.json"
	jq -e '[.violations[] | select(.verdict == "kill" and (.type == "mmap" or .type == "mprotect"))] | length >= 3' "$T/status.json"
}

@test "audit: what would have been killed runs and is reported" {
	ig_policy audit
	cat >"$T/s.sh" <<-EOS
		run_rc denied "$T/denied" "$T/made-by-denied"
		run_rc mmap "$EXECTOOL" mmap "$T/data"
		"$CTL" status --json >"$T/status.json"
	EOS
	scenario "$T/s.sh"
	[[ $output == *"denied=0"* ]]
	[[ $output == *"mmap=0"* ]]
	[ -e "$T/made-by-denied" ]
	jq -e --arg p "$T/denied" '[.violations[] | select(.path == $p and .verdict == "audit")] | length == 1' "$T/status.json"
	jq -e '.counters.exec.audited >= 1 and .counters.mmap.audited >= 1' "$T/status.json"
}

@test "enforce: W^X, anonymous or written memory made executable is killed; allow-jit names who may" {
	ig_policy enforce
	cp "$EXECTOOL" "$T/jit"
	ig_manifest "$T/allowed" "$EXECTOOL" "$T/jit" "$CTL" "$IOTGATED"
	printf 'allow-jit %s\n' "$T/jit" >>"$T/iotgate.conf"
	cat >"$T/s.sh" <<-EOS
		run_rc anon "$EXECTOOL" wx anon
		run_rc w2x "$EXECTOOL" wx w2x
		run_rc rwx "$EXECTOOL" wx rwx "$T/allowed"
		run_rc rxrwrx "$EXECTOOL" rxrwrx "$T/allowed"
		run_rc pkey "$EXECTOOL" wx pkey
		run_rc shm "$EXECTOOL" wx shm
		run_rc jit_anon "$T/jit" wx anon
		run_rc jit_pkey "$T/jit" wx pkey
		run_rc jit_w2x "$T/jit" wx w2x
		"$CTL" status --json >"$T/status.json"
	EOS
	scenario "$T/s.sh"
	for a in anon w2x rwx rxrwrx pkey shm; do
		[[ $output == *"$a=137"* ]]
	done
	[[ $output == *"jit_anon=0"* ]]
	[[ $output == *"jit_w2x=0"* ]]
	[[ $output == *"jit_pkey=0"* ]]
	jq -e '[.violations[] | select(.reason == "writable_made_executable" and .verdict == "kill")] | length >= 5' "$T/status.json"
	# a SysV segment attached executable (SHM_EXEC) is a file no manifest lists
	jq -e '[.violations[] | select(.type == "mmap" and .reason == "not_in_manifest" and .verdict == "kill")] | length >= 1' "$T/status.json"
}

# inject_attacks: the "exectool inject" runs as root and as nobody, each
# attack's exit status as WHO_ATTACK (tests/helpers/exectool.c: 137 when the
# attacker was killed; its child reports victim=1 unchanged, 2 injected)
inject_attacks() {
	local who pre a
	for who in root nobody; do
		pre=()
		# not setpriv: it loads NSS modules for the uid, which the kill tier kills
		[[ $who == nobody ]] && pre=("$T/tool" as 65534)
		for a in poke mem vm traceme selfmem; do
			echo "run_rc ${who}_$a ${pre[*]} \"$T/tool\" inject $a"
		done
	done
}

inject_setup() {
	for f in tool tracer jit; do cp "$EXECTOOL" "$T/$f"; done
	ig_manifest "$T/allowed" "$T/tool" "$T/tracer" "$T/jit" /usr/bin/unshare "$CTL" "$IOTGATED"
}

@test "without iotgate every injection works, as root and as nobody (the baseline)" {
	inject_setup
	for a in poke mem vm traceme selfmem; do
		run "$T/tool" inject "$a"
		[ "$status" -eq 0 ]
		run "$T/tool" as 65534 "$T/tool" inject "$a"
		[ "$status" -eq 0 ]
		[[ $a == selfmem ]] || [[ $output == *"victim=2"* ]]
	done
}

@test "enforce: injection kills the attacker before the syscall returns, as root and as nobody; the victim's code is unchanged" {
	ig_policy enforce
	inject_setup
	{
		inject_attacks
		# from another pid namespace (the attack's top process is its init)
		for a in poke mem selfmem; do
			echo "run_rc ns_$a /usr/bin/unshare --pid --fork --mount-proc \"$T/tool\" inject $a"
		done
		echo "run_rc dptrace \"$T/tool\" ptrace \"\$DPID\""
		echo "run_rc dalive \"\$CTL\" status"
		echo "\"\$CTL\" status --json >\"$T/status.json\""
	} >"$T/s.sh"
	scenario "$T/s.sh"
	for f in "$T"/{root,nobody,ns}_*.{out,err}; do echo "${f##*/}: $(<"$f")"; done
	jq -c '.violations[] | {type,verdict,reason,path,uid,comm}' "$T/status.json"
	for who in root nobody; do
		for a in poke mem vm traceme selfmem; do
			[[ $output == *"${who}_$a=137"* ]]
		done
		# PTRACE_ATTACH completed in the kernel and sent SIGSTOP: the victim is
		# left stopped when its tracer dies, and runs on unchanged after SIGCONT
		grep -qx "victim=stopped" "$T/${who}_poke.out"
		for a in poke mem vm; do
			grep -qx "victim=1" "$T/${who}_$a.out"
			[[ $(<"$T/${who}_$a.out") != *victim=2* ]]
		done
		# killed at PTRACE_TRACEME: the child never reached its exec
		[[ $(<"$T/${who}_traceme.out") != *victim=* ]]
		[ ! -s "$T/${who}_selfmem.out" ]
	done
	for a in ns_poke ns_mem ns_selfmem; do
		[[ $output == *"$a=137"* ]]
	done
	grep -qx "victim=1" "$T/ns_poke.out"
	grep -qx "victim=1" "$T/ns_mem.out"
	# the daemon: its tracer is killed, it keeps answering
	[[ $output == *"dptrace=137"* ]]
	[[ $output == *"dalive=0"* ]]
	jq -e '.tier == "kill"' "$T/status.json"
	for w in "ptrace(PTRACE_ATTACH)" "ptrace(PTRACE_SEIZE)" "ptrace(PTRACE_TRACEME)" "/proc/PID/mem" "process_vm_writev"; do
		jq -e --arg w "$w" '[.violations[] | select(.type == "inject" and .verdict == "kill" and .reason == "not_allowed_to_trace" and .path == $w)] | length >= 1' "$T/status.json"
	done
	jq -e '[.violations[] | select(.type == "inject" and .verdict == "kill" and .uid == 65534)] | length >= 5' "$T/status.json"
}

@test "enforce: allow-ptrace may trace and write into others, allow-jit only into its own memory; others are killed" {
	ig_policy enforce
	inject_setup
	printf 'allow-jit %s\nallow-ptrace %s\n' "$T/jit" "$T/tracer" >>"$T/iotgate.conf"
	cat >"$T/s.sh" <<-EOS
		run_rc tracer_poke "$T/tracer" inject poke
		run_rc tracer_mem "$T/tracer" inject mem
		run_rc tracer_vm "$T/tracer" inject vm
		run_rc tracer_traceme "$T/tracer" inject traceme
		run_rc tracer_selfmem "$T/tracer" inject selfmem
		run_rc jit_selfmem "$T/jit" inject selfmem
		run_rc jit_mem "$T/jit" inject mem
		run_rc jit_poke "$T/jit" inject poke
		run_rc tool_selfmem "$T/tool" inject selfmem
	EOS
	scenario "$T/s.sh"
	for a in tracer_poke tracer_mem tracer_vm tracer_traceme tracer_selfmem jit_selfmem; do
		[[ $output == *"$a=0"* ]]
	done
	for a in poke mem vm traceme; do
		grep -qx "victim=2" "$T/tracer_$a.out"
	done
	for a in jit_mem jit_poke tool_selfmem; do
		[[ $output == *"$a=137"* ]]
	done
	grep -qx "victim=1" "$T/jit_mem.out"
}

@test "audit: injection is reported, not killed" {
	ig_policy audit
	inject_setup
	cat >"$T/s.sh" <<-EOS
		run_rc poke "$T/tool" inject poke
		run_rc mem "$T/tool" inject mem
		run_rc vm "$T/tool" inject vm
		run_rc traceme "$T/tool" inject traceme
		run_rc selfmem "$T/tool" inject selfmem
		"$CTL" status --json >"$T/status.json"
	EOS
	scenario "$T/s.sh"
	for a in poke mem vm traceme selfmem; do
		[[ $output == *"$a=0"* ]]
	done
	for w in "ptrace(PTRACE_ATTACH)" "ptrace(PTRACE_TRACEME)" "/proc/PID/mem" "process_vm_writev"; do
		jq -e --arg w "$w" '[.violations[] | select(.type == "inject" and .verdict == "audit" and .path == $w)] | length >= 1' "$T/status.json"
	done
	jq -e '[.violations[] | select(.verdict == "kill")] | length == 0' "$T/status.json"
}

make_veth() {
	modprobe veth 2>/dev/null || true # a module in the VM's kernel
	ip link add igk0 type veth peer name igk1
	ip link set igk0 up
	ip link set igk1 up
}

# A veth pair igk0/igk1 and, where the kernel has CAN (the VM; not this
# machine's kernel), vcan igkc0/igkc1: netok may use igk0 (packet) and
# igkc0 (CAN) only, netno no interface of either kind.
@test "enforce: CAN and packet sockets on an interface the program may not use are killed (socket, bind, sendto, sendmsg); allowed ones work" {
	make_veth
	local can=
	# can_raw now: under enforcement the kernel's own modprobe would be killed
	if modprobe vcan 2>/dev/null && modprobe can_raw && ip link add igkc0 type vcan 2>/dev/null; then
		ip link add igkc1 type vcan
		ip link set igkc0 up
		ip link set igkc1 up
		can=1
	else
		echo "# this kernel has no CAN (vcan): the CAN half runs in the VM's kill tier (tests/vm/kill.bats)" >&3
	fi
	cp "$B/tests/ignet" "$T/netok"
	cp "$B/tests/ignet" "$T/netno"
	ig_manifest "$T/allowed" "$EXECTOOL" "$CTL" "$IOTGATED" "$T/netok" "$T/netno"
	{
		printf 'version 1\nmode enforce\nmanifest manifest.sha256\ninterface-default deny\n'
		printf 'interface igk0 default deny\ninterface igk1 default deny\nallow program %s on igk0 packet\n' "$T/netok"
		[[ -z $can ]] || printf 'interface igkc0 default deny\ninterface igkc1 default deny\nallow program %s on igkc0 can\n' "$T/netok"
	} >"$T/iotgate.conf"
	cat >"$T/s.sh" <<-EOS
		run_rc pk_ok "$T/netok" packet igk0 send
		run_rc pk_other "$T/netok" packet igk1 send
		run_rc pk_any "$T/netok" packet any send
		run_rc pk_spkt "$T/netok" spkt igk0
		run_rc pk_to_ok "$T/netok" packet-to igk0 sendto
		run_rc pk_msg_ok "$T/netok" packet-to igk0 sendmsg
		run_rc pk_to "$T/netok" packet-to igk1 sendto
		run_rc pk_msg "$T/netok" packet-to igk1 sendmsg
		run_rc pk_none "$T/netno" packet igk0 send
		if [[ -n "$can" ]]; then
			run_rc can_ok "$T/netok" can igkc0 send
			run_rc can_other "$T/netok" can igkc1 send
			run_rc can_any "$T/netok" can any recv
			run_rc can_none "$T/netno" can igkc0 send
		fi
		"\$CTL" status --json >"$T/status.json"
	EOS
	scenario "$T/s.sh"
	[[ $output == *"pk_ok=0"* && $output == *"pk_to_ok=0"* && $output == *"pk_msg_ok=0"* ]]
	for a in pk_other pk_any pk_spkt pk_none pk_to pk_msg; do
		[[ $output == *"$a=137"* ]]
	done
	jq -e '.net.features.can_packet_kill and (.reasons | map(.code) | index("can_packet_kill") != null)' "$T/status.json"
	jq -e '[.net.violations[] | select(.family == "packet" and .verdict == "kill" and .op == "bind" and .interface == "igk1" and .comm == "netok")] | length >= 1' "$T/status.json"
	jq -e '[.net.violations[] | select(.family == "packet" and .verdict == "kill" and .op == "create" and .comm == "netno")] | length >= 1' "$T/status.json"
	jq -e '[.net.violations[] | select(.family == "packet" and .verdict == "kill" and .op == "send")] | length >= 1' "$T/status.json"
	jq -e '[.net.violations[] | select(.family == "packet" and .verdict == "kill" and .op == "send" and .interface == "igk1")] | length >= 2' "$T/status.json"
	jq -e '.net.counters.packet.denied >= 6' "$T/status.json"
	if [[ -n $can ]]; then
		[[ $output == *"can_ok=0"* ]]
		for a in can_other can_any can_none; do
			[[ $output == *"$a=137"* ]]
		done
		jq -e '[.net.violations[] | select(.family == "can" and .verdict == "kill" and .op == "create" and .comm == "netno")] | length >= 1' "$T/status.json"
	fi
}

@test "audit: CAN and packet sockets the rules refuse are reported, not killed" {
	make_veth
	cp "$B/tests/ignet" "$T/netok"
	ig_manifest "$T/allowed" "$EXECTOOL" "$CTL" "$IOTGATED" "$T/netok"
	printf 'version 1\nmode enforce\naccess-mode audit\nmanifest manifest.sha256\ninterface igk0 default deny\ninterface igk1 default deny\nallow program %s on igk0 packet\n' "$T/netok" >"$T/iotgate.conf"
	cat >"$T/s.sh" <<-EOS
		run_rc pk_other "$T/netok" packet igk1 send
		"\$CTL" status --json >"$T/status.json"
	EOS
	scenario "$T/s.sh"
	[[ $output == *"pk_other=0"* ]]
	jq -e '[.net.violations[] | select(.family == "packet" and .verdict == "audit" and .op == "bind" and .interface == "igk1")] | length >= 1' "$T/status.json"
}
