#!/usr/bin/env bats
# SPDX-License-Identifier: GPL-2.0-only
# Full tier (Debian 6.1 kernel with BPF LSM, inside scripts/vm-run): exec of
# code outside the manifest is denied in enforce mode and counted in audit mode.

load ../lib/common

setup() {
	ig_cleanup
	T=$(mktemp -d)
	cp /usr/bin/true "$T/allowed"
	cp /usr/bin/true "$T/denied"
	echo x >>"$T/denied" # other content: not in the manifest
	ig_manifest "$T/allowed" "$CTL" "$IOTGATED"
}

teardown() {
	ig_cleanup
	rm -rf "$T"
}

@test "full tier: BPF LSM attached, health ok" {
	ig_policy audit
	ig_start
	run "$CTL" status --json
	[ "$status" -eq 0 ]
	echo "$output" | jq -e '.tier == "full" and .health == "ok" and (.reasons | length) == 0'
	echo "$output" | jq -e '.hooks.exec_lsm == true and .hooks.exec_tracepoint == false'
	bpftool prog show | grep -q "lsm .*name ig_bprm_check"
	[ -e "$PIN_DIR/link_ig_bprm_check" ]
}

@test "enforce: allowlisted binary runs, others get EPERM, status counts them" {
	ig_policy enforce
	cat >"$T/s.sh" <<-EOS
		run_rc allowed "$T/allowed"
		run_rc denied "$T/denied"
		"$CTL" status --json >"$T/status.json"
	EOS
	scenario "$T/s.sh"
	[[ $output == *"allowed=0"* ]]
	[[ $output == *"denied=126"* ]]
	grep -q "Operation not permitted" "$T/denied.err"
	jq -e '.mode == "enforce" and .tier == "full" and .health == "ok"' "$T/status.json"
	jq -e '.counters.exec.allowed >= 1 and .counters.exec.denied == 1' "$T/status.json"
	jq -e --arg p "$T/denied" '[.violations[] | select(.path == $p and .verdict == "deny" and .reason == "not_in_manifest")] | length == 1' "$T/status.json"
	# the first use was measured in the kernel and logged, once, in ima-ng format
	digest=$(sha256sum "$T/allowed" | cut -d' ' -f1)
	[ "$(grep -c " ima-ng sha256:$digest $T/allowed\$" "$T/state/measurements")" -eq 1 ]
	"$CTL" log verify --file "$T/state/measurements"
}

@test "enforce: an allowed program run while the daemon starts is never refused" {
	# Lazy appraisal: the exec programs are attached before the appraising
	# ones; a fresh start must not refuse a listed program in between.
	ig_policy enforce
	mkfifo "$T/tick"
	(
		# one exec every 20 ms or so (read -t: no sleep binary to exec), so
		# that the loop does not take the VM's CPU from the start it probes
		exec 9<>"$T/tick"
		while [[ ! -e $T/stop ]]; do
			"$T/allowed" || echo "allowed exited $?" >>"$T/fails"
			read -r -t 0.02 -u 9 || true
		done
	) &
	loop=$!
	cat >"$T/s.sh" <<-EOS
		"$CTL" status --json >"$T/status.json"
		run_rc allowed "$T/allowed"
	EOS
	scenario "$T/s.sh"
	touch "$T/stop"
	wait "$loop"
	[[ $output == *"allowed=0"* ]]
	[ ! -e "$T/fails" ] || { cat "$T/fails"; false; }
	jq -e '.mode == "enforce" and .counters.exec.denied == 0' "$T/status.json"
	jq -e '[.violations[] | select(.verdict == "deny")] | length == 0' "$T/status.json"
}

@test "enforce: copies, changed files and interpreters do not inherit trust" {
	ig_policy enforce
	ln "$T/allowed" "$T/hardlink" # same inode, same content: still trusted
	cp "$T/allowed" "$T/copy"
	printf '#!/bin/sh\nexit 0\n' >"$T/script.sh"
	chmod +x "$T/script.sh"
	cat >"$T/s.sh" <<-EOS
		run_rc hardlink "$T/hardlink"
		# a copy is another file: identity is the verified inode, not the path's bytes
		run_rc copy "$T/copy"
		# #! script: bash itself is not in the manifest, nor the script
		run_rc script "$T/script.sh"
		# changing an allowlisted file drops its trust before it can run
		echo >>"$T/allowed"
		run_rc modified "$T/allowed"
		"$CTL" status --json >"$T/status.json"
	EOS
	scenario "$T/s.sh"
	[[ $output == *"hardlink=0"* ]]
	[[ $output == *"copy=126"* ]]
	[[ $output == *"script=126"* ]]
	[[ $output == *"modified=126"* ]]
	# the write removed the entry first (protect off), so the exec finds no entry
	# (on overlayfs twice: the overlay's identity and the layer's, both in the map)
	jq -e '[.violations[] | select(.type == "write" and .reason == "trust_dropped" and .path == "allowed")] | length >= 1' "$T/status.json"
	jq -e --arg p "$T/allowed" '[.violations[] | select(.path == $p and .verdict == "deny")] | length == 1' "$T/status.json"
}

@test "audit: code outside the manifest runs and is counted" {
	ig_policy audit
	cat >"$T/s.sh" <<-EOS
		run_rc allowed "$T/allowed"
		run_rc denied "$T/denied"
		"$CTL" status --json >"$T/status.json"
	EOS
	scenario "$T/s.sh"
	[[ $output == *"allowed=0"* ]]
	[[ $output == *"denied=0"* ]]
	jq -e '.mode == "audit" and .counters.exec.denied == 0 and .counters.exec.audited >= 1' "$T/status.json"
	jq -e --arg p "$T/denied" '[.violations[] | select(.path == $p and .verdict == "audit")] | length == 1' "$T/status.json"
}

@test "enforcement survives SIGKILL of the daemon; a restart re-adopts it" {
	ig_policy enforce
	echo "self-protect off" >>"$T/iotgate.conf" # so that the test may kill it
	cat >"$T/s.sh" <<-EOS
		kill -KILL \$DPID
		wait \$DPID 2>/dev/null
		run_rc denied_nodaemon "$T/denied"
		run_rc allowed_nodaemon "$T/allowed"
		start_daemon && echo restarted=1
		"$CTL" status --json >"$T/status.json"
		run_rc denied_again "$T/denied"
	EOS
	scenario "$T/s.sh"
	[[ $output == *"denied_nodaemon=126"* ]]
	[[ $output == *"allowed_nodaemon=0"* ]]
	[[ $output == *"restarted=1"* ]]
	[[ $output == *"denied_again=126"* ]]
	jq -e '.readopted == true and .tier == "full" and .counters.exec.denied >= 1' "$T/status.json"
}

@test "self-protection: no signal, ptrace, pin access or BPF fd for others while enforcing" {
	ig_manifest "$T/allowed" "$CTL" "$IOTGATED" "$EXECTOOL" "$(command -v bpftool)"
	ig_policy enforce
	cat >"$T/s.sh" <<-EOS
		run_rc kill "$EXECTOOL" kill \$DPID 15
		run_rc kill0 "$EXECTOOL" kill \$DPID 0
		run_rc ptrace "$EXECTOOL" ptrace \$DPID
		run_rc unlink "$EXECTOOL" unlink "$PIN_DIR/link_ig_bprm_check"
		run_rc objget "$EXECTOOL" objget "$PIN_DIR/ig_manifest"
		run_rc bpftool "$(command -v bpftool)" map dump name ig_cfg
		"$CTL" status --json >"$T/status.json"
	EOS
	scenario "$T/s.sh"
	[[ $output == *"kill=1"* ]]
	[[ $output == *"kill0=0"* ]]
	[[ $output == *"ptrace=1"* ]]
	[[ $output == *"unlink=1"* ]]
	[[ $output == *"objget=1"* ]]
	[[ $output != *"bpftool=0"* ]]
	for f in kill ptrace unlink objget; do grep -q "errno=EPERM" "$T/$f.out"; done
	jq -e '.hooks.self_protect == true and .counters.self_denied >= 5' "$T/status.json"
	jq -e '[.violations[] | select(.type == "self")] | length >= 5' "$T/status.json"
}
