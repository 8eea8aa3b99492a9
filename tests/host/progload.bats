#!/usr/bin/env bats
# SPDX-License-Identifier: GPL-2.0-only
# build/tests/progload on this machine's kernel (partial tier: LSM and lsm.s
# programs are refused with EPERM; cgroup, iter and tp_btf programs load).
# Every program of every object the daemon loads is loaded on its own, so a
# verifier change shows up here as a named program and the verifier's words,
# not as a silent fall-back to a lower tier. The programs are listed from the
# objects with readelf (tests/lib/progload.bash), never by name here.

bats_require_minimum_version 1.5.0

load ../lib/common
load ../lib/progload

setup() {
	T=$(mktemp -d)
	pl_objects
}

teardown() {
	rm -rf "$T"
}

# fixture: $T/t.bpf.o, two socket filters: "good" (using a hash map and a
# map-in-map whose inner map, both left to the loader to size) and "bad"
# (a load through a scalar, which any verifier refuses)
fixture() {
	cat >"$T/t.bpf.c" <<-'EOF'
		#include <linux/bpf.h>
		#include <bpf/bpf_helpers.h>

		struct inner {
			__uint(type, BPF_MAP_TYPE_ARRAY);
			__type(key, __u32);
			__type(value, __u64);
		};

		struct {
			__uint(type, BPF_MAP_TYPE_ARRAY_OF_MAPS);
			__type(key, __u32);
			__array(values, struct inner);
		} outer SEC(".maps");

		struct {
			__uint(type, BPF_MAP_TYPE_HASH);
			__type(key, __u32);
			__type(value, __u64);
		} sized_by_loader SEC(".maps");

		SEC("socket")
		int good(struct __sk_buff *skb)
		{
			__u32 k = 0;
			void *in = bpf_map_lookup_elem(&outer, &k);
			__u64 *v = in ? bpf_map_lookup_elem(in, &k) : bpf_map_lookup_elem(&sized_by_loader, &k);

			return v ? *v : 0;
		}

		SEC("socket")
		int bad(struct __sk_buff *skb)
		{
			return *(int *)(long)skb->len;
		}

		char LICENSE[] SEC("license") = "GPL";
	EOF
	clang -g -O2 -target bpf -I"/usr/include/$(cc -dumpmachine)" -c "$T/t.bpf.c" -o "$T/t.bpf.o"
}

@test "progload: every program is named; all but LSM load on this kernel" {
	run "$PROGLOAD" --expect-fail-type lsm "${OBJS[@]}"
	echo "$output"
	[ "$status" -eq 0 ]
	# lsm/ and lsm.s/ may be refused (both are program type "lsm"), nothing else
	pl_check "$output" '^lsm(\.s)?/'
	[[ $output != *FAIL* ]]
}

@test "progload: LSM programs are FAIL here unless expected, exit 1" {
	run "$PROGLOAD" "${OBJS[@]}"
	echo "$output"
	[ "$status" -eq 1 ]
	grep -qE '^FAIL .* \(lsm/[a-z_]+\): Operation not permitted$' <<<"$output"
	grep -qE '^FAIL .* \(lsm\.s/[a-z_]+\): Operation not permitted$' <<<"$output"
	! grep -qE '^(FAIL|refused) .* \((tp_btf|iter|cgroup|cgroup_skb)/' <<<"$output"
}

@test "progload: a program the verifier refuses is FAIL with the end of its log; the rest load" {
	fixture
	run "$PROGLOAD" "$T/t.bpf.o"
	echo "$output"
	[ "$status" -eq 1 ]
	[ "${lines[0]}" = "ok $T/t.bpf.o good (socket)" ]
	[ "${lines[1]}" = "FAIL $T/t.bpf.o bad (socket): Permission denied" ]
	# the verifier's reason, indented, at most 8 lines of it
	[[ $output == *$'\n    '*"invalid mem access"* ]]
	[ "${#lines[@]}" -ge 3 ] && [ "${#lines[@]}" -le 10 ]
	for l in "${lines[@]:2}"; do [[ $l == "    "?* ]]; done
}

@test "progload: --expect-fail-type takes a program type or a section prefix" {
	fixture
	for types in socket_filter socket cgroup_skb,socket; do
		run "$PROGLOAD" --expect-fail-type "$types" "$T/t.bpf.o"
		echo "$types: $output"
		[ "$status" -eq 0 ]
		[ "${lines[0]}" = "ok $T/t.bpf.o good (socket)" ]
		[ "${lines[1]}" = "refused $T/t.bpf.o bad (socket): Permission denied (expected on this kernel)" ]
		[ "${#lines[@]}" -eq 2 ]
	done
	run "$PROGLOAD" --expect-fail-type sock,lsm "$T/t.bpf.o"
	[ "$status" -eq 1 ]
	[[ ${lines[1]} == "FAIL "* ]]
}

@test "progload: libbpf's own messages go to stderr only with -v" {
	fixture
	run --separate-stderr "$PROGLOAD" "$T/t.bpf.o"
	[ "$status" -eq 1 ]
	[ -z "$stderr" ]
	run --separate-stderr "$PROGLOAD" -v "$T/t.bpf.o"
	[ "$status" -eq 1 ]
	[[ $stderr == *"libbpf: prog 'bad': BPF program load failed"* ]]
	[[ $output != *"libbpf:"* ]]
}

@test "progload: a missing object or a non-ELF file is one line on stderr, exit 2" {
	fixture
	echo "not an object" >"$T/text.bpf.o"
	for bad in "$T/missing.bpf.o" "$T/text.bpf.o" "$B/tests/exectool"; do
		run --separate-stderr "$PROGLOAD" "$bad"
		echo "$bad: $stderr"
		[ "$status" -eq 2 ]
		[ -z "$output" ]
		[ "${#stderr_lines[@]}" -eq 1 ]
		[[ $stderr == "progload: $bad: "* ]]
	done
	[[ $stderr == *"format invalid"* ]]
	# the other objects are still loaded and reported
	run --separate-stderr "$PROGLOAD" --expect-fail-type socket "$T/missing.bpf.o" "$T/t.bpf.o"
	[ "$status" -eq 2 ]
	[ "$stderr" = "progload: $T/missing.bpf.o: cannot open as a BPF object: No such file or directory" ]
	[ "${lines[0]}" = "ok $T/t.bpf.o good (socket)" ]
	run --separate-stderr "$PROGLOAD"
	[ "$status" -eq 2 ]
	[[ $stderr == usage:* ]]
}
