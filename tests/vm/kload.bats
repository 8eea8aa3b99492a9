#!/usr/bin/env bats
# SPDX-License-Identifier: GPL-2.0-only
# Full tier (Debian 6.1 with BPF LSM, inside scripts/vm-run): code and firmware
# loaded into the kernel are held to the manifest like an exec. A kernel module
# (finit_module), a kexec kernel (kexec_file_load) and a firmware blob load in
# enforce mode only from an unchanged manifest entry, and are then logged like
# an exec; init_module and kexec_load, which bring no file, are refused.
# Loading needs CAP_SYS_MODULE or CAP_SYS_BOOT, so uid 65534 is refused by the
# kernel before iotgate is asked: these attacks are root's.

load ../lib/common

FW_PARAM=/sys/module/firmware_class/parameters/path
FW_DEV=/sys/devices/virtual/misc/test_firmware

setup() {
	ig_cleanup
	T=$(mktemp -d)
	chmod 755 "$T"
	rmmod dummy nlmon 2>/dev/null || true
	if [[ -d /sys/module/dummy || -d /sys/module/nlmon ]]; then
		echo "kload.bats: dummy or nlmon is loaded and cannot be removed" >&2
		return 1
	fi
	cp "$EXECTOOL" "$T/tool"
	cp "$(modinfo -n dummy)" "$T/good.ko"
	cp "$(modinfo -n nlmon)" "$T/evil.ko"
	# the VM's own kernel (scripts/vm-run names its directory in its config)
	# shellcheck source=/dev/null
	source /run/vm-run/config
	cp "$VMRUN_KDIR/boot/vmlinuz-$(uname -r)" "$T/vmlinuz"
	cp "$T/vmlinuz" "$T/evil-vmlinuz"
	head -c 1000 /dev/urandom >"$T/good.bin"
	head -c 1000 /dev/urandom >"$T/evil.bin"
	modprobe test_firmware
	# request_firmware looks in firmware_class.path, resolved from init's root:
	# the VM's init runs the suite chrooted, so name $T as init sees it
	local p
	for p in "" /newroot; do
		[[ /proc/1/root$p$T -ef $T ]] && echo -n "$p$T" >"$FW_PARAM"
	done
	[[ $(cat "$FW_PARAM") == *"$T" ]]
	ig_manifest "$T/tool" "$T/good.ko" "$T/vmlinuz" "$T/good.bin" "$CTL" "$IOTGATED"
}

teardown() {
	ig_cleanup
	echo -n "" >"$FW_PARAM" || true
	rmmod dummy nlmon test_firmware 2>/dev/null || true
	rm -rf "$T"
}

# The scenario: every load, results as NAME=rc; firmware through test_firmware.
loads() {
	cat <<-EOS
		fw() { { echo -n "\$1" >"$FW_DEV/trigger_request"; } 2>"$T/fw_\$1.err"; echo "fw_\$1=\$?"; }
		run_rc mod_evil "$T/tool" kload finit "$T/evil.ko"
		run_rc mod_mem "$T/tool" kload mem "$T/good.ko"
		run_rc mod_good "$T/tool" kload finit "$T/good.ko"
		run_rc kexec_mem "$T/tool" kload kexec x
		run_rc kexec_evil "$T/tool" kload kexec-file "$T/evil-vmlinuz"
		run_rc kexec_good "$T/tool" kload kexec-file "$T/vmlinuz"
		fw evil.bin
		fw good.bin
		"\$CTL" status --json >"$T/status.json"
	EOS
}

@test "enforce: only listed modules, kexec kernels and firmware load; from memory nothing; each refusal reported, each load logged" {
	ig_policy enforce
	loads >"$T/s.sh"
	scenario "$T/s.sh"
	for a in mod_evil mod_mem kexec_mem kexec_evil fw_evil.bin; do
		[[ $output == *"$a=1"* ]]
	done
	for a in mod_good kexec_good fw_good.bin; do
		[[ $output == *"$a=0"* ]]
	done
	grep -q errno=EPERM "$T/mod_evil.out"
	grep -q errno=EPERM "$T/mod_mem.out"
	grep -q errno=EPERM "$T/kexec_mem.out"
	grep -q errno=EPERM "$T/kexec_evil.out"
	[ -d /sys/module/dummy ]
	[ ! -d /sys/module/nlmon ]
	# the loaded firmware is the listed blob
	cmp /dev/test_firmware "$T/good.bin"
	j='[.violations[] | select(.verdict == "deny" and .type == $t and .reason == $r and .path == $p)] | length == 1'
	jq -e --arg t module --arg r not_in_manifest --arg p evil.ko "$j" "$T/status.json"
	jq -e --arg t module --arg r not_from_a_file --arg p "(memory)" "$j" "$T/status.json"
	jq -e --arg t kexec --arg r not_from_a_file --arg p "(memory)" "$j" "$T/status.json"
	jq -e --arg t kexec --arg r not_in_manifest --arg p evil-vmlinuz "$j" "$T/status.json"
	jq -e --arg t firmware --arg r not_in_manifest --arg p evil.bin "$j" "$T/status.json"
	jq -e '.health == "ok"' "$T/status.json"
	# each load of a listed file is logged once, like an exec, with its digest
	for f in good.ko vmlinuz good.bin; do
		digest=$(sha256sum "$T/$f" | cut -d' ' -f1)
		[ "$(grep -c " ima-ng sha256:$digest $T/$f\$" "$T/state/measurements")" -eq 1 ]
	done
	[ "$(grep -c evil "$T/state/measurements")" -eq 0 ]
	"$CTL" log verify --file "$T/state/measurements"
}

@test "enforce: a listed module changed after measurement no longer loads" {
	ig_policy enforce
	cat >"$T/s.sh" <<-EOS
		echo >>"$T/good.ko"
		run_rc mod_changed "$T/tool" kload finit "$T/good.ko"
		"\$CTL" status --json >"$T/status.json"
	EOS
	scenario "$T/s.sh"
	[[ $output == *"mod_changed=1"* ]]
	grep -q errno=EPERM "$T/mod_changed.out"
	[ ! -d /sys/module/dummy ]
	jq -e '[.violations[] | select(.type == "module" and .verdict == "deny" and .path == "good.ko")] | length == 1' "$T/status.json"
}

@test "audit: unlisted and in-memory loads go through, each reported as audit" {
	ig_policy audit
	loads >"$T/s.sh"
	scenario "$T/s.sh"
	for a in mod_evil mod_mem kexec_mem kexec_evil kexec_good fw_evil.bin fw_good.bin; do
		[[ $output == *"$a=0"* ]]
	done
	# dummy came from memory: the file of the same module is then refused by the kernel
	[[ $output == *"mod_good=1"* ]]
	grep -q errno=EEXIST "$T/mod_good.out"
	[ -d /sys/module/nlmon ]
	[ -d /sys/module/dummy ]
	j='[.violations[] | select(.verdict == "audit" and .type == $t and .reason == $r)] | length >= 1'
	jq -e --arg t module --arg r not_in_manifest "$j" "$T/status.json"
	jq -e --arg t module --arg r not_from_a_file "$j" "$T/status.json"
	jq -e --arg t kexec --arg r not_from_a_file "$j" "$T/status.json"
	jq -e --arg t firmware --arg r not_in_manifest "$j" "$T/status.json"
}
