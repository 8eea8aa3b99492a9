#!/usr/bin/env bats
# SPDX-License-Identifier: GPL-2.0-only
# Full tier (Debian 6.1 with BPF LSM and IMA, inside scripts/vm-run): hashing
# is bounded. A file bigger than the largest manifest entry cannot match it,
# so neither the kernel (bpf_ima_file_hash inside the exec) nor the daemon
# (audit mode, unknown files) reads it: an unprivileged exec of a 1 PiB sparse
# file is refused at once (enforce) or runs unhashed (audit), and nothing
# stalls (before, the VM logged "soft lockup - CPU#0 stuck for 1062s").

load ../lib/common

setup() {
	ig_cleanup
	T=$(mktemp -d)
	chmod 755 "$T"
	cp /usr/bin/true "$T/allowed"
	cp /usr/bin/true "$T/huge"
	truncate -s 1P "$T/huge" # an ELF that runs, with a sparse 1 PiB tail
	chmod 755 "$T/huge"
	ig_manifest "$T/allowed" /usr/bin/setpriv "$CTL" "$IOTGATED"
	dmesg -c >/dev/null
}

teardown() {
	ig_cleanup
	rm -rf "$T"
}

runs() {
	cat <<-EOS
		run_rc allowed "$T/allowed"
		run_rc huge /usr/bin/setpriv --reuid 65534 --regid 65534 --clear-groups "$T/huge"
		run_rc huge_root "$T/huge"
		"\$CTL" status --json >"$T/status.json"
	EOS
}

# the in-kernel source is IMA, bounded by the largest entry; nothing stalled
bounded() {
	jq -e '.measure_source == "ima"' "$T/status.json"
	max=$(jq -r '.kmeasure.max_size' "$T/status.json")
	[ "$max" -gt 0 ] && [ "$max" -lt $((1 << 30)) ]
	jq -e '.kmeasure.counters.errors >= 2' "$T/status.json"
	jq -e '.health == "ok"' "$T/status.json"
	[ "$(dmesg | grep -c -e 'soft lockup' -e 'hung_task')" -eq 0 ]
}

@test "enforce: a 1 PiB sparse exec (nobody, root) is refused without being hashed" {
	ig_policy enforce
	runs >"$T/s.sh"
	scenario "$T/s.sh"
	[[ $output == *"allowed=0"* ]]
	[[ $output == *"huge=126"* ]]
	[[ $output == *"huge_root=126"* ]]
	grep -q "Operation not permitted" "$T/huge.err"
	bounded
	jq -e --arg p "$T/huge" '[.violations[] | select(.path == $p and .verdict == "deny" and .reason == "not_in_manifest" and .uid == 65534)] | length == 1' "$T/status.json"
	digest=$(sha256sum "$T/allowed" | cut -d' ' -f1)
	[ "$(grep -c " ima-ng sha256:$digest $T/allowed\$" "$T/state/measurements")" -eq 1 ]
}

@test "audit: a 1 PiB sparse exec runs, is reported, counted unhashed, and the daemon answers" {
	ig_policy audit
	runs >"$T/s.sh"
	scenario "$T/s.sh"
	[[ $output == *"allowed=0"* ]]
	[[ $output == *"huge=0"* ]]
	[[ $output == *"huge_root=0"* ]]
	bounded
	jq -e --arg p "$T/huge" '[.violations[] | select(.path == $p and .verdict == "audit")] | length >= 1' "$T/status.json"
	jq -e '.measurement_log.unknown_unhashed >= 1' "$T/status.json"
	[ "$(grep -c "$T/huge" "$T/state/measurements")" -eq 0 ]
	"$CTL" log verify --file "$T/state/measurements"
}
