#!/usr/bin/env bats
# SPDX-License-Identifier: GPL-2.0-only
# The daemon on this machine's kernel: partial tier (BPF LSM refused), exec
# measured by the tracepoint, state over the socket, bad input refused.

load ../lib/common

setup_file() {
	"$TOP/scripts/host-setup"
}

setup() {
	ig_cleanup
	T=$(mktemp -d)
	cp /usr/bin/true "$T/allowed"
	cp /usr/bin/true "$T/other"
	echo extra >>"$T/other" # different content, different digest
}

teardown() {
	ig_cleanup
	[[ -n ${LISTENER:-} ]] && kill "$LISTENER" 2>/dev/null
	rm -rf "$T"
}

@test "partial tier: degraded with the reason, exec counted, status --json has the keys" {
	ig_manifest_exact "$T/allowed" "$CTL"
	ig_policy enforce
	ig_start
	"$T/allowed"
	"$T/allowed"
	"$T/other" || true
	run "$CTL" status --json
	[ "$status" -eq 0 ]
	echo "$output" | jq -e '.mode == "enforce" and .tier == "partial" and .health == "degraded"'
	echo "$output" | jq -e '.reasons[0].code == "partial_tier"'
	echo "$output" | jq -e '.reasons[0].message | test("BPF LSM")'
	echo "$output" | jq -e '.hooks.exec_lsm == false and .hooks.exec_tracepoint == true'
	echo "$output" | jq -e '.manifest.entries == 2 and .manifest.verified == 2'
	echo "$output" | jq -e '.counters.exec.allowed >= 2 and .counters.exec.denied == 0'
	echo "$output" | jq -e '.counters.exec.audited >= 1'
	echo "$output" | jq -e --arg p "$T/other" '[.violations[] | select(.path == $p and .verdict == "audit" and .reason == "not_in_manifest")] | length == 1'
}

@test "status gives each link's program, with its run count and time when kernel.bpf_stats_enabled=1" {
	local was
	was=$(sysctl -n kernel.bpf_stats_enabled)
	ig_manifest_exact "$T/allowed"
	ig_policy audit
	sysctl -qw kernel.bpf_stats_enabled=0
	ig_start
	# without the kernel's statistics: the program's id only
	run "$CTL" status --json
	[ "$status" -eq 0 ]
	echo "$output" | jq -e '(.hooks.links | length) > 0 and all(.hooks.links[]; .prog_id > 0 and .run_cnt == null)'
	sysctl -qw kernel.bpf_stats_enabled=1
	"$T/allowed"
	"$T/allowed"
	run "$CTL" status --json
	sysctl -qw kernel.bpf_stats_enabled="$was"
	[ "$status" -eq 0 ]
	echo "$output" | jq -c '.hooks.links[]'
	# every link says its program's type; the exec tracepoint ran for the two execs
	echo "$output" | jq -e 'all(.hooks.links[]; (.prog_type | type) == "string" and .run_cnt >= 0 and .run_time_ns >= 0)'
	echo "$output" | jq -e '[.hooks.links[] | select(.prog_type == "tracepoint" or .prog_type == "tracing") | .run_cnt] | add >= 2'
	# the kernel's own ids and names (bpfls lists what the kernel has loaded)
	echo "$output" | jq -r '.hooks.links[] | "prog \(.prog_id) \(.hook) \(.prog_type)"' >"$T/want"
	"$B/tests/bpfls" progs >"$T/progs"
	while read -r line; do
		grep -qxF "$line" "$T/progs" || { echo "not loaded: $line"; false; }
	done <"$T/want"
}

@test "human status names mode, tier, health and counters" {
	ig_manifest_exact "$T/allowed"
	ig_policy audit
	ig_start
	run "$CTL" status
	[ "$status" -eq 0 ]
	[[ $output == *"mode:      audit"* ]]
	[[ $output == *"tier:      partial"* ]]
	[[ $output == *"health:    degraded"* ]]
	[[ $output == *"partial_tier:"* ]]
	[[ $output == *"allowed"*"denied"*"audited"* ]]
}

@test "a changed allowlisted file loses its trust (ctime moved)" {
	ig_manifest_exact "$T/allowed"
	ig_policy audit
	ig_start
	"$T/allowed"
	[ "$(jget .counters.exec.allowed)" -ge 1 ]
	chmod 0755 "$T/allowed" # metadata change moves ctime too
	"$T/allowed"
	jget . | jq -e --arg p "$T/allowed" '[.violations[] | select(.path == $p)] | length == 1 and .[0].reason == "modified_since_measured"'
}

@test "programs, maps and links are pinned; SIGKILL leaves them; a new daemon re-adopts" {
	ig_manifest_exact "$T/allowed"
	ig_policy audit
	ig_start
	[ -e "$PIN_DIR/link_ig_exec_tp" ]
	[ -e "$PIN_DIR/ig_manifest" ]
	[ -e "$PIN_DIR/ig_counters" ]
	"$B/tests/bpfls" progs | grep -q ' ig_exec_tp '
	"$T/allowed"
	before=$(jget .counters.exec.allowed)
	kill -KILL "$DPID"
	wait "$DPID" 2>/dev/null || true
	[ -e "$PIN_DIR/link_ig_exec_tp" ]
	"$T/other" || true # measured while no daemon runs
	ig_start
	[ "$(jget .readopted)" = true ]
	[ "$(jget .counters.exec.audited)" -ge 1 ]
	[ "$(jget .counters.exec.allowed)" -ge "$before" ]
	# not attached twice
	[ "$("$B/tests/bpfls" links | grep -c ' sched_process_exec$')" -eq 1 ]
}

@test "stop-enforcing detaches everything and removes the pins" {
	ig_manifest_exact "$T/allowed"
	ig_policy audit
	ig_start
	run "$CTL" stop-enforcing
	[ "$status" -eq 0 ]
	[[ $output == "enforcement stopped" ]]
	for _ in $(seq 50); do kill -0 "$DPID" 2>/dev/null || break; sleep 0.1; done
	! kill -0 "$DPID" 2>/dev/null
	[ ! -e "$PIN_DIR" ]
	# programs are freed after an RCU grace period
	for _ in $(seq 50); do "$B/tests/bpfls" progs | grep -q ' ig_exec_tp ' || break; sleep 0.1; done
	! "$B/tests/bpfls" progs | grep -q ' ig_exec_tp '
}

@test "a manifest entry whose digest differs or whose file is missing is reported by path" {
	ig_manifest_exact "$T/allowed" "$T/other"
	echo "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855  $T/missing" >>"$T/manifest.sha256"
	echo more >>"$T/other"
	ig_policy audit
	ig_start
	grep -q "rejected $T/other: digest differs from manifest line 2" "$T/daemon.log"
	grep -q "rejected $T/missing: No such file or directory (manifest line 3)" "$T/daemon.log"
	jget . | jq -e '.manifest.verified == 1 and .manifest.rejected == 2'
	jget . | jq -e '[.reasons[].code] | index("manifest_entries_rejected") != null'
}

@test "malformed policy: every error as file:line:col, nothing loaded" {
	printf 'version x\nmode enforcing\nmanifest\nbogus 1\n' >"$T/iotgate.conf"
	run "$IOTGATED" --state-dir "$T/state" --policy "$T/iotgate.conf"
	[ "$status" -eq 1 ]
	[[ ${lines[0]} == "$T/iotgate.conf:1:9: version must be an integer from 0 to 4294967295, not 'x'" ]]
	[[ ${lines[1]} == "$T/iotgate.conf:2:6: unknown mode 'enforcing' (expected 'enforce' or 'audit')" ]]
	[[ ${lines[2]} == "$T/iotgate.conf:3:10: missing argument: usage is 'manifest PATH'" ]]
	[[ ${lines[3]} == "$T/iotgate.conf:4:1: unknown directive 'bogus'" ]]
	[ ! -e "$PIN_DIR" ]
	[ ! -S "$SOCK" ]
}

@test "missing policy, missing manifest, malformed manifest: clear message, nothing loaded" {
	run "$IOTGATED" --state-dir "$T/state" --policy "$T/nope.conf"
	[ "$status" -eq 1 ]
	[[ $output == "$T/nope.conf: cannot read policy: No such file or directory" ]]
	ig_policy audit
	run "$IOTGATED" --state-dir "$T/state" --policy "$T/iotgate.conf"
	[ "$status" -eq 1 ]
	[[ $output == "$T/manifest.sha256: cannot read manifest: No such file or directory" ]]
	printf 'abc  /usr/bin/true\n' >"$T/manifest.sha256"
	run "$IOTGATED" --state-dir "$T/state" --policy "$T/iotgate.conf"
	[ "$status" -eq 1 ]
	[[ $output == "$T/manifest.sha256:1:1: digest has 3 hex digits; only SHA-256 (64) is supported" ]]
	[ ! -e "$PIN_DIR" ]
}

@test "unreadable policy is refused" {
	ig_manifest_exact "$T/allowed"
	ig_policy audit
	chmod 000 "$T/iotgate.conf"
	run setpriv --reuid=65534 --regid=65534 --clear-groups "$IOTGATED" --check --policy "$T/iotgate.conf"
	[ "$status" -eq 1 ]
	[[ $output == "$T/iotgate.conf: cannot read policy: Permission denied" ]]
}

@test "not root: one sentence, non-zero exit" {
	ig_manifest_exact "$T/allowed"
	ig_policy audit
	chmod 755 "$T"
	run setpriv --reuid=65534 --regid=65534 --clear-groups "$IOTGATED" --policy "$T/iotgate.conf"
	[ "$status" -eq 1 ]
	[[ $output == "iotgated: must run as root: it loads BPF programs into the kernel" ]]
}

@test "no bpffs: one sentence, non-zero exit" {
	ig_manifest_exact "$T/allowed"
	ig_policy audit
	run unshare -m sh -c "umount /sys/fs/bpf && exec '$IOTGATED' --policy '$T/iotgate.conf'"
	[ "$status" -eq 1 ]
	[[ $output == "iotgated: no BPF filesystem at /sys/fs/bpf (mount it with 'mount -t bpf bpf /sys/fs/bpf')" ]]
}

@test "a second daemon is refused while the first runs" {
	ig_manifest_exact "$T/allowed"
	ig_policy audit
	ig_start
	run "$IOTGATED" --policy "$T/iotgate.conf"
	[ "$status" -eq 1 ]
	[[ $output == "iotgated: another iotgated is already running (pid $DPID)" ]]
	"$CTL" status >/dev/null # the first one is untouched
}

@test "--check verifies without loading" {
	ig_manifest_exact "$T/allowed"
	ig_policy enforce
	ig_sign "$T/iotgate.conf"
	ig_sign "$T/manifest.sha256"
	run "$IOTGATED" --check --keys-dir "$T/keys" --policy "$T/iotgate.conf"
	[ "$status" -eq 0 ]
	[[ $output == "$T/iotgate.conf: ok: mode enforce, 1 of 1 manifest entries verified, signed" ]]
	[ ! -e "$PIN_DIR" ]
}

@test "status identifies the device: logical id (machine-id or configured), serial, permanent MAC" {
	ig_manifest_exact "$T/allowed"
	ig_policy audit
	ig_start
	run "$CTL" status --json
	[ "$status" -eq 0 ]
	if [[ -s /etc/machine-id ]]; then
		echo "$output" | jq -e --arg id "$(cat /etc/machine-id)" '.device.logical_id == $id and .device.logical_id_source == "/etc/machine-id"'
	fi
	echo "$output" | jq -e '.device | has("serial") and has("mac")'
	# a physical NIC with a burned-in address is reported by its permanent MAC
	for n in /sys/class/net/*; do
		[[ -e $n/device ]] || continue
		perm=$(ethtool -P "${n##*/}" 2>/dev/null | awk '{ print $3 }')
		[[ $perm =~ ^[0-9a-f:]{17}$ ]] || continue
		echo "$output" | jq -e --arg m "$perm" '.device.mac == $m'
		break
	done
	"$CTL" stop-enforcing >/dev/null
	wait "$DPID" || true
	echo "device-id gateway-0042" >>"$T/iotgate.conf"
	ig_start
	jget . | jq -e '.device.logical_id == "gateway-0042" and .device.logical_id_source == "policy"'
}

@test "under systemd (NOTIFY_SOCKET) the start timeout is extended while the manifest is hashed, then READY=1" {
	# 3,000 files and one of 256 MiB: longer to hash than a start takes otherwise
	mkdir "$T/tree"
	python3 -c '
import os, sys
for i in range(3000):
    with open(os.path.join(sys.argv[1], "f%04d" % i), "w") as f:
        f.write("file %d\n" % i)
' "$T/tree"
	head -c 256M /dev/zero >"$T/tree/big"
	{
		find "$T/tree" -type f -print0 | xargs -0 sha256sum
		sha256sum "$T/allowed" "$CTL"
	} >"$T/manifest.sha256"
	ig_policy audit
	python3 "$TOP/tests/lib/ctlsock.py" syslog "$T/notify" "$T/notify.out" >"$T/listener.out" &
	LISTENER=$!
	for _ in $(seq 50); do grep -q ready "$T/listener.out" && break; sleep 0.1; done
	NOTIFY_SOCKET=$T/notify ig_start
	ig_wait_file "$T/notify.out" "READY=1"
	kill "$LISTENER"
	cat "$T/notify.out"
	# only these two messages; the extension first (30 s, renewed every 10 s
	# while hashing), READY=1 once and last
	[ -z "$(grep -vxE "b'(EXTEND_TIMEOUT_USEC=[0-9]+|READY=1)'" "$T/notify.out")" ]
	head -1 "$T/notify.out" | grep -qx "b'EXTEND_TIMEOUT_USEC=30000000'"
	[ "$(grep -c "READY=1" "$T/notify.out")" -eq 1 ]
	tail -1 "$T/notify.out" | grep -qx "b'READY=1'"
	"$CTL" status --json | jq -e '.manifest.verified == 3003'
}
