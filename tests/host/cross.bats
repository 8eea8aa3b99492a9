#!/usr/bin/env bats
# SPDX-License-Identifier: GPL-2.0-only
# Cross builds (aarch64, armhf): one ABI on every target, the programs built
# for the right machine and working under qemu-user, and early, clear
# failures when a cross toolchain or a target library is missing.
# Needs 'scripts/install-deps --cross'.

load ../lib/common

setup() {
	T=$(mktemp -d)
}

teardown() {
	rm -rf "$T"
}

# The layout clang gives every struct of bpf/iotgate.h for TARGET, as
# printed by -fdump-record-layouts. The __u* types are the kernel's
# (asm-generic/int-ll64.h) on all of these targets.
layouts() {
	clang -target "$1" -nostdinc -I"$T/shim" -I"$TOP/bpf" -fsyntax-only \
		-Xclang -fdump-record-layouts "$T/layout.c"
}

@test "every struct in bpf/iotgate.h has one layout for bpf, x86_64, aarch64 and armhf" {
	mkdir -p "$T/shim/linux"
	cat >"$T/shim/linux/types.h" <<-'EOF'
		typedef unsigned char __u8;
		typedef signed char __s8;
		typedef unsigned short __u16;
		typedef short __s16;
		typedef unsigned int __u32;
		typedef int __s32;
		typedef unsigned long long __u64;
		typedef long long __s64;
	EOF
	structs=$(sed -n 's/^struct \(ig_[a-z0-9_]*\) {.*/\1/p' "$TOP/bpf/iotgate.h")
	[ "$(wc -w <<<"$structs")" -ge 4 ]
	{
		echo '#include <linux/types.h>'
		echo '#include "iotgate.h"'
		for s in $structs; do echo "int size_$s = sizeof(struct $s);"; done
	} >"$T/layout.c"
	layouts bpf >"$T/bpf"
	for s in $structs; do grep -q "^ *0 | struct $s\$" "$T/bpf"; done
	for t in x86_64-linux-gnu aarch64-linux-gnu armv7a-linux-gnueabihf; do
		layouts "$t" >"$T/$t"
		diff -u "$T/bpf" "$T/$t"
	done

	# and the comparison does see a member whose size depends on the target
	printf 'struct ig_probe_long {\n\t__u32 a;\n\tlong b;\n};\nint p = sizeof(struct ig_probe_long);\n' >>"$T/layout.c"
	layouts bpf >"$T/bpf2"
	layouts armv7a-linux-gnueabihf >"$T/arm2"
	! diff -q "$T/bpf2" "$T/arm2"
}

@test "aarch64 and armhf builds: programs for the target machine in build/<arch>, working under qemu" {
	command -v aarch64-linux-gnu-gcc arm-linux-gnueabihf-gcc qemu-aarch64-static qemu-arm-static ||
		{ echo "run scripts/install-deps --cross" >&2; false; }
	debian=$(ls "$("$TOP/scripts/vm-kernel")"/boot/config-*)
	native=$("$CTL" --json check-kernel "$debian" | jq -c 'del(.config)')
	for x in aarch64-linux-gnu-:arm64:AArch64:qemu-aarch64-static arm-linux-gnueabihf-:arm:ARM:qemu-arm-static; do
		IFS=: read -r prefix arch machine qemu <<<"$x"
		make -C "$TOP" -s -j"$(nproc)" CROSS_COMPILE="$prefix" "build/$arch/iotgatectl" "build/$arch/iotgated"
		for p in iotgatectl iotgated; do
			LC_ALL=C readelf -h "$TOP/build/$arch/$p" | grep -Eq "Machine: +$machine\$"
		done
		run "$qemu" "$TOP/build/$arch/iotgatectl" --version
		[ "$status" -eq 0 ]
		[ "$output" = "iotgatectl $(cat "$TOP/VERSION")" ]
		# the whole check-kernel parser, 32- and 64-bit, agrees with the native build
		cross=$("$qemu" "$TOP/build/$arch/iotgatectl" --json check-kernel "$debian" | jq -c 'del(.config)')
		[ "$cross" = "$native" ]
	done
	# the native build directory holds native programs still
	LC_ALL=C readelf -h "$CTL" | grep -Eq 'Machine: +Advanced Micro Devices X86-64$'
}

@test "missing cross toolchain: make stops at once and names the fix" {
	run make -C "$TOP" CROSS_COMPILE=nonexistent-linux-gnu- BUILD="$T/b"
	[ "$status" -ne 0 ]
	[[ $output == *"cannot run the C compiler 'nonexistent-linux-gnu-gcc': install it (for cross builds: scripts/install-deps --cross)"* ]]
	[ ! -e "$T/b" ]

	run "$TOP/scripts/cross-test" nonexistent-linux-gnu-
	[ "$status" -eq 1 ]
	[[ $output == "cross-test: unsupported prefix 'nonexistent-linux-gnu-'"* ]]
	run "$TOP/scripts/cross-test" aarch64-nonexistent-gnu-
	[ "$status" -eq 1 ]
	[ "$output" = "cross-test: no aarch64-nonexistent-gnu-gcc: install gcc-aarch64-nonexistent-gnu (scripts/install-deps --cross)" ]
}

@test "missing target libraries: make stops before compiling and names the package" {
	command -v aarch64-linux-gnu-gcc || { echo "run scripts/install-deps --cross" >&2; false; }
	# a sysroot without any target library
	mkdir -p "$T/sysroot"
	run make -C "$TOP" CROSS_COMPILE=aarch64-linux-gnu- BUILD="$T/b" \
		CC="aarch64-linux-gnu-gcc --sysroot=$T/sysroot" "$T/b/iotgatectl"
	[ "$status" -ne 0 ]
	[[ $output == *"Makefile: aarch64-linux-gnu-gcc --sysroot=$T/sysroot cannot build for aarch64-linux-gnu against <bpf/libbpf.h> and -lbpf: install libbpf-dev:arm64 (Debian: scripts/install-deps --cross)"* ]]
	[[ $output == *"bpf/libbpf.h: No such file or directory"* ]]
	[ ! -e "$T/b/userspace" ]

	# native build: the message names the package without an architecture
	run make -C "$TOP" BUILD="$T/b2" \
		TARGET_LIBS="json-c/nonexistent.h:json-c:libjson-c-dev" "$T/b2/.target-libs-ok"
	[ "$status" -ne 0 ]
	[[ $output == *"against <json-c/nonexistent.h> and -ljson-c: install libjson-c-dev (Debian: scripts/install-deps)"* ]]
}
