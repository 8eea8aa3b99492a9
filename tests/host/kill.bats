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
	for p in ig_exec_tp ig_mmap_tp ig_mprot_in ig_mprot_tp; do
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
		run_rc jit_anon "$T/jit" wx anon
		run_rc jit_w2x "$T/jit" wx w2x
		"$CTL" status --json >"$T/status.json"
	EOS
	scenario "$T/s.sh"
	for a in anon w2x rwx rxrwrx; do
		[[ $output == *"$a=137"* ]]
	done
	[[ $output == *"jit_anon=0"* ]]
	[[ $output == *"jit_w2x=0"* ]]
	jq -e '[.violations[] | select(.reason == "writable_made_executable" and .verdict == "kill")] | length >= 4' "$T/status.json"
}
