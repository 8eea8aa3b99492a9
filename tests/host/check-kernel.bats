#!/usr/bin/env bats
# SPDX-License-Identifier: GPL-2.0-only
# iotgatectl check-kernel: real configurations (this machine's, Debian's 6.1
# VM kernel and edited copies of it), the running kernel, and bad input.

load ../lib/common

setup() {
	T=$(mktemp -d)
	chmod 755 "$T"
}

teardown() {
	rm -f /sys/fs/bpf/ig_ck_probe
	rm -rf "$T"
}

# This machine's configuration as a plain file ($T/host.config).
host_config() {
	if [[ -r /proc/config.gz ]]; then
		zcat /proc/config.gz >"$T/host.config"
	elif [[ -r /boot/config-$(uname -r) ]]; then
		cp "/boot/config-$(uname -r)" "$T/host.config"
	else
		echo "neither /proc/config.gz nor /boot/config-$(uname -r) exists" >&2
		return 1
	fi
}

# Debian's 6.1 VM kernel configuration ($T/debian.config), from scripts/vm-kernel.
debian_config() {
	local dir
	# the ptest copy of this suite runs on a device, without apt
	[[ -x $TOP/scripts/vm-kernel ]] || skip "Debian's kernel package is fetched on the build host only"
	dir=$("$TOP/scripts/vm-kernel")
	cp "$dir"/boot/config-* "$T/debian.config"
}

# Independent oracle: the tier a configuration allows, by grep.
oracle_tier() {
	local f=$1 o
	for o in BPF_SYSCALL CGROUP_BPF DEBUG_INFO_BTF BPF_EVENTS; do
		grep -qx "CONFIG_$o=y" "$f" || { echo none; return; }
	done
	# Without BPF LSM: the kill tier where syscall tracepoints exist.
	local below=partial
	grep -qx "CONFIG_FTRACE_SYSCALLS=y" "$f" && below=kill
	for o in BPF_JIT BPF_LSM; do
		grep -qx "CONFIG_$o=y" "$f" || { echo $below; return; }
	done
	grep -Eq '^CONFIG_LSM="([^"]*,)?bpf(,[^"]*)?"$' "$f" || { echo $below; return; }
	echo full
}

@test "this machine's configuration: judged from the file alone, matching the options it sets" {
	host_config
	expected=$(oracle_tier "$T/host.config")
	run "$CTL" --json check-kernel "$T/host.config"
	[ "$status" -eq 0 ]
	echo "$output" | jq -e --arg t "$expected" '.tier == $t and .source == "config" and .runtime_checked == false'
	echo "$output" | jq -e '.notes[0] | test("alone: the running kernel.s LSM list, BTF, cgroup mount and program loads were not checked")'
	# no runtime checks when a file is given
	echo "$output" | jq -e '[.checks[] | select(.kind == "runtime")] | length == 0'
	# every option the oracle looks at is reported as the file has it
	for o in BPF_SYSCALL CGROUP_BPF DEBUG_INFO_BTF BPF_EVENTS BPF_JIT BPF_LSM IMA FS_VERITY; do
		if grep -qx "CONFIG_$o=y" "$T/host.config"; then want=present; else want=missing; fi
		echo "$output" | jq -e --arg n "CONFIG_$o" --arg w "$want" \
			'.checks[] | select(.name == $n) | .status == $w'
	done
	# the same through zlib from a compressed copy
	gzip -c "$T/host.config" >"$T/host.config.gz"
	run "$CTL" --json check-kernel "$T/host.config.gz"
	[ "$status" -eq 0 ]
	echo "$output" | jq -e --arg t "$expected" '.tier == $t'
}

@test "this machine's configuration allows the full tier (6.18: BPF LSM, bpf in CONFIG_LSM, BTF)" {
	host_config
	grep -qx 'CONFIG_BPF_LSM=y' "$T/host.config" || skip "this kernel is not the 6.18 CI kernel"
	run "$CTL" check-kernel "$T/host.config"
	[ "$status" -eq 0 ]
	[[ $output == *"Tier: full"* ]]
	[[ $output == *"present  CONFIG_LSM "*"bpf is in the default LSM order"* ]]
}

@test "Debian 6.1 configuration: full tier, optional IMA and fs-verity present" {
	debian_config
	run "$CTL" check-kernel "$T/debian.config"
	[ "$status" -eq 0 ]
	[[ $output == *"Kernel configuration $T/debian.config (Linux 6.1."*", x86)"* ]]
	[[ $output == *"Tier: full"* ]]
	[[ $output != *"missing "* ]]
	run "$CTL" --json check-kernel "$T/debian.config"
	[ "$status" -eq 0 ]
	echo "$output" | jq -e '.tier == "full" and .reasons == [] and (.kernel | startswith("6.1."))'
	echo "$output" | jq -e '[.checks[] | select(.status != "present")] | length == 0'
	echo "$output" | jq -e '.checks[] | select(.name == "CONFIG_IMA") | .needed_for == "optional"'
	[ "$(oracle_tier "$T/debian.config")" = full ]
}

@test "Debian 6.1 configuration without bpf in CONFIG_LSM: kill tier, with the exact fix" {
	debian_config
	lsm=$(sed -n 's/^CONFIG_LSM="\(.*\)"$/\1/p' "$T/debian.config")
	[[ $lsm == *,bpf ]]
	sed -i "s/^CONFIG_LSM=.*/CONFIG_LSM=\"${lsm%,bpf}\"/" "$T/debian.config"
	run "$CTL" --json check-kernel "$T/debian.config"
	[ "$status" -eq 0 ]
	echo "$output" | jq -e '.tier == "kill"'
	echo "$output" | jq -e '.reasons == ["bpf is not in CONFIG_LSM"]'
	echo "$output" | jq -e --arg l "$lsm" \
		'.checks[] | select(.name == "CONFIG_LSM") | .status == "missing" and .fix == "CONFIG_LSM=\"\($l)\" or boot with lsm=\($l)"'
	run "$CTL" check-kernel "$T/debian.config"
	[[ $output == *"Tier: kill"* ]]
	[[ $output == *"fix: CONFIG_LSM=\"$lsm\" or boot with lsm=$lsm"* ]]
}

@test "arm64 6.1 and 32-bit ARM configurations: no BPF trampolines, kill tier at best" {
	[[ -x $TOP/scripts/vm-kernel ]] || skip "Debian's kernel package is fetched on the build host only"
	dir=$(VM_ARCH=arm64 "$TOP/scripts/vm-kernel")
	cp "$dir"/boot/config-* "$T/arm64.config"
	run "$CTL" --json check-kernel "$T/arm64.config"
	[ "$status" -eq 0 ]
	echo "$output" | jq -e '.tier == "kill" and (.kernel | startswith("6.1."))'
	echo "$output" | jq -e '.reasons == ["BPF LSM programs cannot attach on arm64 before 6.4 (ENOTSUPP)"]'
	echo "$output" | jq -e '.checks[] | select(.name == "BPF trampolines") | .status == "missing" and .fix == "Linux >= 6.4 on arm64"'
	# the same options on 6.4: nothing missing
	sed -i '0,/Linux\/arm64 6\.1\./s//Linux\/arm64 6.4./' "$T/arm64.config"
	run "$CTL" --json check-kernel "$T/arm64.config"
	echo "$output" | jq -e '.tier == "full" and .reasons == []'
	# 32-bit ARM: what it needs is said, and never the full tier
	debian_config
	echo CONFIG_ARM=y >>"$T/debian.config"
	run "$CTL" --json check-kernel "$T/debian.config"
	echo "$output" | jq -e '.tier == "kill" and .reasons == ["BPF LSM programs cannot attach on 32-bit ARM (no BPF trampolines)"]'
	echo "$output" | jq -e '.notes | map(select(startswith("32-bit ARM: CONFIG_DEBUG_INFO_BTF=y is required"))) | length == 1'
}

@test "Debian 6.1 configuration without BPF LSM, then without cgroup BPF or BTF" {
	debian_config
	sed 's/^CONFIG_BPF_LSM=y$/# CONFIG_BPF_LSM is not set/' "$T/debian.config" >"$T/nolsm"
	run "$CTL" --json check-kernel "$T/nolsm"
	echo "$output" | jq -e '.tier == "kill" and .reasons == ["CONFIG_BPF_LSM is not set"]'
	echo "$output" | jq -e '.checks[] | select(.name == "CONFIG_BPF_LSM") | .fix == "CONFIG_BPF_LSM=y"'
	# ... and without syscall tracepoints too: partial
	sed -i 's/^CONFIG_FTRACE_SYSCALLS=y$/# CONFIG_FTRACE_SYSCALLS is not set/' "$T/nolsm"
	run "$CTL" --json check-kernel "$T/nolsm"
	echo "$output" | jq -e '.tier == "partial" and .reasons == ["CONFIG_BPF_LSM is not set", "CONFIG_FTRACE_SYSCALLS is not set"]'
	[ "$(oracle_tier "$T/nolsm")" = partial ]

	sed 's/^CONFIG_CGROUP_BPF=y$/# CONFIG_CGROUP_BPF is not set/' "$T/debian.config" >"$T/nocg"
	run "$CTL" --json check-kernel "$T/nocg"
	echo "$output" | jq -e '.tier == "none" and .reasons == ["CONFIG_CGROUP_BPF is not set"]'
	run "$CTL" check-kernel "$T/nocg"
	[[ $output == *"Tier: none"*"iotgated cannot run; missing for the partial tier:"*"CONFIG_CGROUP_BPF is not set"* ]]
	[[ $output == *"fix: CONFIG_CGROUP_BPF=y"* ]]

	grep -v '^CONFIG_DEBUG_INFO_BTF=' "$T/debian.config" >"$T/nobtf"
	run "$CTL" --json check-kernel "$T/nobtf"
	echo "$output" | jq -e '.tier == "none"'
	echo "$output" | jq -e '.checks[] | select(.name == "CONFIG_DEBUG_INFO_BTF") | .status == "missing" and .fix == "CONFIG_DEBUG_INFO_BTF=y"'
	[ "$(oracle_tier "$T/nobtf")" = none ]
}

@test "running kernel as root: each runtime fact matches the system, LSM judged by a real load" {
	[ "$(id -u)" -eq 0 ]
	run "$CTL" --json check-kernel
	[ "$status" -eq 0 ]
	out=$output
	echo "$out" | jq -e '.source == "running" and .runtime_checked == true and .tier_verified == true'
	echo "$out" | jq -e --arg k "$(uname -r)" '.kernel == $k'

	# LSM list as securityfs has it
	lsm=$(cat /sys/kernel/security/lsm)
	echo "$out" | jq -e --arg l "$lsm" '.checks[] | select(.name == "LSM list") | .detail | startswith($l)'
	# BTF and cgroup v2 as the system has them
	[ -e /sys/kernel/btf/vmlinux ]
	echo "$out" | jq -e '.checks[] | select(.name == "kernel BTF") | .status == "present"'
	mnt=$(findmnt -rn -t cgroup2 -o TARGET | head -n 1)
	[ -n "$mnt" ]
	echo "$out" | jq -e --arg m "$mnt" '.checks[] | select(.name == "cgroup v2") | .detail == "mounted at \($m)"'

	# An independent BPF LSM load: bpftool loading a real lsm/ object
	# (clang and bpftool are build dependencies; a device may lack them).
	command -v clang bpftool >/dev/null || skip "no clang and bpftool for the independent LSM load"
	cat >"$T/lsm.bpf.c" <<-'EOF'
		typedef unsigned long long u64;
		__attribute__((section("lsm/bprm_check_security"), used))
		int ig_ck(u64 *ctx) { return 0; }
		char LICENSE[] __attribute__((section("license"), used)) = "GPL";
	EOF
	clang -O2 -g -target bpf -c "$T/lsm.bpf.c" -o "$T/lsm.bpf.o"
	if bpftool prog load "$T/lsm.bpf.o" /sys/fs/bpf/ig_ck_probe 2>"$T/bpftool.err"; then
		echo "$out" | jq -e '.checks[] | select(.name == "BPF LSM") | .status == "present"'
	else
		cat "$T/bpftool.err"
		grep -q 'Operation not permitted' "$T/bpftool.err"
		# This machine: bpf is listed, yet the load is refused.
		[[ ,$lsm, == *,bpf,* ]]
		echo "$out" | jq -e '.tier == "kill"'
		echo "$out" | jq -e '.reasons == ["BPF LSM listed but program load refused: EPERM"]'
		echo "$out" | jq -e '.checks[] | select(.name == "kill-tier helpers") | .status == "present"'
		echo "$out" | jq -e '.checks[] | select(.name == "BPF LSM") | .status == "missing" and .detail == "program load refused: EPERM"'
		echo "$out" | jq -e '.checks[] | select(.name == "BTF tracepoint" or .name == "cgroup_skb") | .status == "present"'
		run "$CTL" check-kernel
		[[ $output == *"Tier: kill"* ]]
		[[ $output == *"  - BPF LSM listed but program load refused: EPERM"* ]]
	fi
}

@test "running kernel whose configuration is unreadable: noted, tier from the runtime checks" {
	[ "$(id -u)" -eq 0 ]
	[ -e /proc/config.gz ] || skip "no /proc/config.gz to hide"
	expected=$("$CTL" --json check-kernel | jq -r .tier)
	# /proc/config.gz replaced by an empty file, in a mount namespace of this test's own
	run unshare -m sh -c "mount --bind /dev/null /proc/config.gz && mount --bind /dev/null /boot 2>/dev/null; \"$CTL\" --json check-kernel"
	echo "$output"
	[ "$status" -eq 0 ]
	echo "$output" | jq -e '.config == null and .tier_verified == true'
	echo "$output" | jq -e --arg t "$expected" '.tier == $t'
	echo "$output" | jq -e '.notes[0] == "configuration ignored: /proc/config.gz: no CONFIG_ options: not a kernel configuration"'
	echo "$output" | jq -e '[.checks[] | select(.kind == "config") | .status] | unique == ["unknown"]'
}

@test "running kernel as an unprivileged user: program loads skipped, tier marked unverified" {
	[ "$(id -u)" -eq 0 ]
	run runuser -u nobody -- "$CTL" --json check-kernel
	[ "$status" -eq 0 ]
	echo "$output" | jq -e '.tier_verified == false'
	echo "$output" | jq -e '.checks[] | select(.name == "BPF LSM") | .status == "unknown" and .detail == "program load not tried (needs root)"'
	echo "$output" | jq -e '.notes | any(test("not root: trial program loads were skipped"))'
}

@test "bad input: missing, unreadable, directory, text, binary, empty, truncated gzip" {
	run "$CTL" check-kernel "$T/none"
	[ "$status" -eq 1 ]
	[ "$output" = "iotgatectl: check-kernel: $T/none: cannot read kernel configuration: No such file or directory" ]

	echo 'CONFIG_BPF=y' >"$T/secret"
	chmod 600 "$T/secret"
	run runuser -u nobody -- "$CTL" check-kernel "$T/secret"
	[ "$status" -eq 1 ]
	[ "$output" = "iotgatectl: check-kernel: $T/secret: cannot read kernel configuration: Permission denied" ]

	run "$CTL" check-kernel "$T"
	[ "$status" -eq 1 ]
	[ "$output" = "iotgatectl: check-kernel: $T: cannot read kernel configuration: Is a directory" ]

	printf '# a comment\nCONFIG_BPF=y\nhello world\n' >"$T/text"
	run "$CTL" check-kernel "$T/text"
	[ "$status" -eq 1 ]
	[ "$output" = "iotgatectl: check-kernel: $T/text:3:1: expected CONFIG_NAME=VALUE or a '#' comment: not a kernel configuration" ]

	printf 'CONFIG_BPF=y\nCONFIG_BPF LSM=y\n' >"$T/noeq"
	run "$CTL" check-kernel "$T/noeq"
	[ "$output" = "iotgatectl: check-kernel: $T/noeq:2:11: expected '=' after the option name: not a kernel configuration" ]

	printf 'CONFIG_A=y\nCONFIG_B=\0y\n' >"$T/bin"
	run "$CTL" check-kernel "$T/bin"
	[ "$status" -eq 1 ]
	[ "$output" = "iotgatectl: check-kernel: $T/bin:2:10: binary data (NUL byte): not a kernel configuration" ]

	: >"$T/empty"
	run "$CTL" check-kernel "$T/empty"
	[ "$output" = "iotgatectl: check-kernel: $T/empty: no CONFIG_ options: not a kernel configuration" ]

	host_config
	gzip -c "$T/host.config" | head -c 2000 >"$T/cut.gz"
	run "$CTL" check-kernel "$T/cut.gz"
	[ "$status" -eq 1 ]
	[ "$output" = "iotgatectl: check-kernel: $T/cut.gz: cannot read kernel configuration: corrupt or truncated gzip data" ]

	run "$CTL" --json check-kernel "$T/text"
	[ "$status" -eq 1 ]
	echo "$output" | jq -e --arg f "$T/text" '.error == "check-kernel: \($f):3:1: expected CONFIG_NAME=VALUE or a '"'"'#'"'"' comment: not a kernel configuration"'
}

@test "check-kernel --help and argument errors" {
	run "$CTL" check-kernel --help
	[ "$status" -eq 0 ]
	[[ $output == "Usage: iotgatectl [--json] check-kernel [CONFIG_FILE]"* ]]
	run "$CTL" check-kernel a b
	[ "$status" -eq 1 ]
	[ "$output" = "iotgatectl: check-kernel: expected at most one CONFIG_FILE" ]
	run "$CTL" check-kernel --frob
	[ "$status" -eq 1 ]
	[[ $output == "iotgatectl: check-kernel: unknown option '--frob'"* ]]
}
