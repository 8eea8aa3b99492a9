#!/usr/bin/env bats
# SPDX-License-Identifier: GPL-2.0-only
# Full tier (Debian 6.1 with BPF LSM, inside scripts/vm-run): opens submitted
# through io_uring (IORING_OP_OPENAT, run by the kernel's io-wq workers) meet
# the same hooks as open(2): a write open of a listed file is refused
# (protect on) or drops its trust (protect off), and a descriptor io_uring
# opened is exec'd only if its file is listed. io_uring has no exec or mmap
# operation of its own. As root and as uid 65534.

load ../lib/common

NOBODY="/usr/bin/setpriv --reuid 65534 --regid 65534 --clear-groups"

setup() {
	ig_cleanup
	T=$(mktemp -d)
	chmod 755 "$T"
	cp /usr/bin/true "$T/allowed"
	cp /usr/bin/true "$T/victim"
	chown 65534:65534 "$T/victim" # nobody may write it as far as permissions go
	cp /usr/bin/true "$T/denied"
	echo x >>"$T/denied"
	ig_manifest "$T/allowed" "$T/victim" /usr/bin/setpriv "$CTL" "$IOTGATED" "$EXECTOOL"
}

teardown() {
	ig_cleanup
	rm -rf "$T"
}

@test "without iotgate the io_uring opens and execs all work" {
	for a in "$T/allowed x" "$T/denied x" "$T/victim w"; do
		# shellcheck disable=SC2086
		run $NOBODY "$EXECTOOL" uring-open $a
		[ "$status" -eq 0 ]
	done
}

@test "enforce, protect on: io_uring write opens refused, unlisted io_uring-opened files not exec'd (root, nobody)" {
	ig_policy enforce
	echo "protect on" >>"$T/iotgate.conf"
	before=$(sha256sum <"$T/victim")
	cat >"$T/s.sh" <<-EOS
		run_rc listed_x "$EXECTOOL" uring-open "$T/allowed" x
		run_rc unlisted_x "$EXECTOOL" uring-open "$T/denied" x
		run_rc write "$EXECTOOL" uring-open "$T/victim" w
		run_rc nobody_listed_x $NOBODY "$EXECTOOL" uring-open "$T/allowed" x
		run_rc nobody_unlisted_x $NOBODY "$EXECTOOL" uring-open "$T/denied" x
		run_rc nobody_write $NOBODY "$EXECTOOL" uring-open "$T/victim" w
		run_rc victim "$T/victim"
		"\$CTL" status --json >"$T/status.json"
	EOS
	scenario "$T/s.sh"
	for a in listed_x nobody_listed_x victim; do
		[[ $output == *"$a=0"* ]]
	done
	for a in unlisted_x write nobody_unlisted_x nobody_write; do
		[[ $output == *"$a=1"* ]]
		grep -q errno=EPERM "$T/$a.out"
	done
	[ "$(sha256sum <"$T/victim")" = "$before" ]
	# the exec of a descriptor names it /dev/fd/N
	jq -e '[.violations[] | select(.type == "exec" and (.path | startswith("/dev/fd/")) and .verdict == "deny")] | length == 2' "$T/status.json"
	jq -e '[.violations[] | select(.type == "write" and .reason == "protected")] | length == 2' "$T/status.json"
	jq -e '.counters.write.denied == 2' "$T/status.json"
}

@test "enforce, protect off: an io_uring write open by nobody drops the file's trust first" {
	ig_policy enforce
	cat >"$T/s.sh" <<-EOS
		run_rc before "$T/victim"
		run_rc nobody_write $NOBODY "$EXECTOOL" uring-open "$T/victim" w
		run_rc after "$T/victim"
		"\$CTL" status --json >"$T/status.json"
	EOS
	scenario "$T/s.sh"
	[[ $output == *"before=0"* ]]
	[[ $output == *"nobody_write=0"* ]]
	[[ $output == *"after=126"* ]]
	# >= 1: on the VM's overlay root the layer's inode is listed too (mappings show it)
	jq -e '.counters.write.trust_dropped >= 1' "$T/status.json"
}
