#!/usr/bin/env bats
# SPDX-License-Identifier: GPL-2.0-only
# iotgatectl without a kernel: errors, JSON errors, manifest creation, policy check.

load ../lib/common

setup() {
	T=$(mktemp -d)
}

teardown() {
	rm -rf "$T"
}

@test "no daemon: clear error, and {\"error\": ...} in JSON mode" {
	run "$CTL" --socket "$T/none.sock" status
	[ "$status" -eq 1 ]
	[[ $output == "iotgatectl: iotgated is not running (no daemon listening on $T/none.sock)" ]]
	run "$CTL" --socket "$T/none.sock" status --json
	[ "$status" -eq 1 ]
	echo "$output" | jq -e --arg s "$T/none.sock" '.error == "iotgated is not running (no daemon listening on \($s))"'
}

@test "unknown object and --help" {
	run "$CTL" frobnicate
	[ "$status" -eq 1 ]
	[[ $output == "iotgatectl: unknown object 'frobnicate' (see 'iotgatectl --help')" ]]
	run "$CTL" --help
	[ "$status" -eq 0 ]
	[[ $output == *"Usage: iotgatectl"* ]]
	for o in status policy manifest stop-enforcing; do
		run "$CTL" $o --help
		[ "$status" -eq 0 ]
		[[ $output == *"Usage: iotgatectl"*"$o"* ]]
	done
}

@test "manifest create is byte-identical to sha256sum, sorted, with escapes" {
	mkdir -p "$T/tree/sub"
	printf a >"$T/tree/a"
	printf b >"$T/tree/sub/b"
	printf c >"$T/tree/back\\slash"
	printf d >"$T/tree/new
line"
	ln -s a "$T/tree/link" # symlinks are not files of the tree
	mkfifo "$T/tree/fifo"
	"$CTL" manifest create "$T/tree" >"$T/ours"
	find "$T/tree" -type f -print0 | LC_ALL=C sort -z | xargs -0 sha256sum >"$T/theirs"
	cmp "$T/ours" "$T/theirs"
	[ "$(grep -c . "$T/ours")" -eq 4 ]
}

@test "policy check reports every error with file:line:col" {
	printf 'mode enforce\nmanifest m\n' >"$T/p.conf"
	printf 'zz  /bin/true\n%064d  relative\n' 0 >"$T/m"
	run "$CTL" policy check "$T/p.conf"
	[ "$status" -eq 1 ]
	[[ ${lines[0]} == "$T/m:1:1: bad hex digit 'z' in digest" ]]
	[[ ${lines[1]} == "$T/m:2:67: path must be absolute: 'relative'" ]]
	run "$CTL" --json policy check "$T/p.conf"
	[ "$status" -eq 1 ]
	echo "$output" | jq -e '(.errors | length) == 2 and (.error | test(":1:1: "))'
}

@test "policy check accepts a good policy" {
	printf 'version 3\nmode audit\nmanifest m\n' >"$T/p.conf"
	sha256sum /usr/bin/true >"$T/m"
	run "$CTL" policy check "$T/p.conf"
	[ "$status" -eq 0 ]
	[[ $output == "$T/p.conf: ok (mode audit, version 3)" ]]
}

@test "the shipped default policy parses" {
	run "$CTL" policy check "$TOP/policies/default.conf"
	# its manifest is made per device; only the policy itself must be valid here
	[[ $output == "$TOP/policies/manifest.sha256: cannot read manifest: No such file or directory" ]]
}
