#!/usr/bin/env bats
# SPDX-License-Identifier: GPL-2.0-only
# build/tests/progload on Debian's 6.1 kernel with BPF LSM (inside
# scripts/vm-run): every program of every object the daemon loads must load
# here, LSM and sleepable LSM included; nothing is expected to fail.
#
# kmeasure.bpf.o calls the kfunc iotgate_file_sha256 of the optional module
# kmod/iotgate_measure.ko, declared __weak. progload loads the objects as they
# ship: ig_km_source in .rodata is IG_KMS_IMA, so the kfunc call is dead code
# the verifier drops. Without the module, libbpf leaves the weak extern
# unresolved (call imm 0), which the kernel accepts only in dead code; that
# is how the daemon loads it when the module is absent, so the first test
# loads kmeasure with the module unloaded and counts a refusal as a failure.
# The second test loads the module (when scripts/build-kmod built it for this
# kernel; the kmod suite fails when it did not) and loads kmeasure again, the
# extern now resolved against the module's BTF. The module branch itself
# (ig_km_source = IG_KMS_MODULE, set by the loader) is verified by
# tests/vm/kmod.bats, whose loader sets it.

bats_require_minimum_version 1.5.0

load ../lib/common
load ../lib/progload

KO=$TOP/kmod/iotgate_measure.ko

setup() {
	pl_objects
	mod_unload
}

teardown() {
	mod_unload
}

# mod_unload: a freed sleepable program holds the module until an RCU
# tasks-trace grace period has passed, so retry for up to 10 s
mod_unload() {
	for _ in $(seq 100); do
		[[ -d /sys/module/iotgate_measure ]] || return 0
		rmmod iotgate_measure 2>/dev/null || ig_nap 0.1
	done
	rmmod iotgate_measure
}

@test "progload: every program of every object loads on the BPF LSM kernel" {
	run "$PROGLOAD" "${OBJS[@]}"
	echo "$output"
	[ "$status" -eq 0 ]
	pl_check "$output"
}

@test "progload: kmeasure loads with the weak kfunc resolved from iotgate_measure.ko" {
	local built km
	[[ -f $KO ]] || skip "$KO not built (scripts/build-kmod)"
	built=$(modinfo -F vermagic "$KO")
	[[ ${built%% *} == "$(uname -r)" ]] || skip "$KO is built for ${built%% *}"
	insmod "$KO"
	km=$B/bpf/kmeasure.bpf.o
	run --separate-stderr "$PROGLOAD" -vv "$km"
	echo "$output"
	[ "$status" -eq 0 ]
	# libbpf 1.1: "extern (func ksym) 'NAME': resolved to kernel [BTF id]"
	grep -q "'iotgate_file_sha256': resolved to " <<<"$stderr"
	OBJS=("$km")
	pl_check "$output"
}
