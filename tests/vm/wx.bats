#!/usr/bin/env bats
# SPDX-License-Identifier: GPL-2.0-only
# Full tier (Debian 6.1 kernel with BPF LSM, inside scripts/vm-run): code
# that no manifest measured cannot be made in memory (W^X) or written into
# another process (injection) in enforce mode, except by the programs the
# policy names (allow-jit, allow-ptrace). Each attack runs as root and as
# uid 65534 in one shell under enforcement (tests/vm/lib/enforce.sh).

load ../lib/common

setup() {
	ig_cleanup
	T=$(mktemp -d)
	chmod 755 "$T"
	cp "$EXECTOOL" "$T/tool"
	cp "$EXECTOOL" "$T/jit"
	cp "$EXECTOOL" "$T/tracer"
	cp /usr/bin/true "$T/lib"
	chmod 644 "$T/lib"
	ig_manifest "$T/tool" "$T/jit" "$T/tracer" "$T/lib" /usr/bin/setpriv "$CTL" "$IOTGATED"
}

teardown() {
	ig_cleanup
	umount "$T/fs" 2>/dev/null || true
	rm -rf "$T"
}

# attacks PREFIX: every attack, as root and as nobody, results as PREFIX_NAME=rc
attacks() {
	local who pre
	for who in root nobody; do
		pre=()
		[[ $who == nobody ]] && pre=(/usr/bin/setpriv --reuid 65534 --regid 65534 --clear-groups)
		cat <<-EOS
			run_rc ${who}_anon ${pre[*]} "$T/tool" wx anon
			run_rc ${who}_w2x ${pre[*]} "$T/tool" wx w2x
			run_rc ${who}_pkey ${pre[*]} "$T/tool" wx pkey
			run_rc ${who}_shm ${pre[*]} "$T/tool" wx shm
			run_rc ${who}_rwx ${pre[*]} "$T/tool" wx rwx "$T/lib"
			run_rc ${who}_rxrwrx ${pre[*]} "$T/tool" rxrwrx "$T/lib"
			run_rc ${who}_poke ${pre[*]} "$T/tool" inject poke
			run_rc ${who}_mem ${pre[*]} "$T/tool" inject mem
			run_rc ${who}_vm ${pre[*]} "$T/tool" inject vm
			run_rc ${who}_traceme ${pre[*]} "$T/tool" inject traceme
			run_rc ${who}_selfmem ${pre[*]} "$T/tool" inject selfmem
		EOS
	done
}

@test "without iotgate every one of the attacks works (the baseline)" {
	for a in "wx anon" "wx w2x" "wx pkey" "wx shm" "wx rwx $T/lib" "rxrwrx $T/lib" "inject poke" "inject mem" "inject vm" "inject traceme" "inject selfmem"; do
		# shellcheck disable=SC2086
		run "$T/tool" $a
		[ "$status" -eq 0 ]
		run setpriv --reuid 65534 --regid 65534 --clear-groups "$T/tool" $a
		[ "$status" -eq 0 ]
	done
}

@test "enforce: W^X and injection refused with EPERM, as root and as nobody, and reported" {
	ig_policy enforce
	attacks >"$T/s.sh"
	echo "\"\$CTL\" status --json >\"$T/status.json\"" >>"$T/s.sh"
	scenario "$T/s.sh"
	for who in root nobody; do
		for a in anon w2x pkey shm rwx rxrwrx poke mem vm traceme selfmem; do
			[[ $output == *"${who}_$a=1"* ]]
		done
	done
	grep -q "errno=EPERM" "$T/root_anon.out"
	grep -q "errno=EPERM" "$T/nobody_w2x.out"
	grep -q "errno=EPERM" "$T/root_pkey.out"
	grep -q "errno=EPERM" "$T/nobody_shm.out"
	grep -q "errno=EPERM" "$T/root_poke.out"
	# /proc/PID/mem turns the refusal into EACCES (mm_access); without iotgate it works
	grep -q "errno=EACCES" "$T/nobody_mem.out"
	# its own text through /proc/self/mem: no ptrace check is made for that open
	grep -q "errno=EPERM" "$T/root_selfmem.out"
	grep -q "errno=EPERM" "$T/nobody_selfmem.out"
	jq -e '[.violations[] | select(.reason == "writable_made_executable" and .verdict == "deny")] | length >= 2' "$T/status.json"
	jq -e '[.violations[] | select(.type == "inject" and .reason == "not_allowed_to_trace")] | length >= 1' "$T/status.json"
	jq -e '.health == "ok"' "$T/status.json"
}

@test "enforce: the programs the policy names may (allow-jit, allow-ptrace); others still may not" {
	ig_policy enforce
	printf 'allow-jit %s\nallow-ptrace %s\n' "$T/jit" "$T/tracer" >>"$T/iotgate.conf"
	cat >"$T/s.sh" <<-EOS
		run_rc jit_anon "$T/jit" wx anon
		run_rc jit_w2x "$T/jit" wx w2x
		run_rc jit_shm "$T/jit" wx shm
		run_rc tool_shm "$T/tool" wx shm
		run_rc tracer_poke "$T/tracer" inject poke
		run_rc tracer_mem "$T/tracer" inject mem
		run_rc jit_poke "$T/jit" inject poke
		run_rc tracer_anon "$T/tracer" wx anon
		run_rc jit_selfmem "$T/jit" inject selfmem
		run_rc tool_selfmem "$T/tool" inject selfmem
	EOS
	scenario "$T/s.sh"
	[[ $output == *"jit_anon=0"* ]]
	[[ $output == *"jit_w2x=0"* ]]
	# a SysV segment is a file no manifest lists: allow-jit is for anonymous memory
	[[ $output == *"jit_shm=1"* ]]
	[[ $output == *"tool_shm=1"* ]]
	[[ $output == *"tracer_poke=0"* ]]
	[[ $output == *"tracer_mem=0"* ]]
	[[ $output == *"jit_poke=1"* ]]
	[[ $output == *"tracer_anon=1"* ]]
	[[ $output == *"jit_selfmem=0"* ]]
	[[ $output == *"tool_selfmem=1"* ]]
}

# mapped_write: the shell's own write (printf through <>), dd as root, as
# nobody and from another mount namespace, and a shared writable mapping of
# a descriptor opened before the policy, while $L is mapped executable.
@test "enforce: a file mapped executable is not written while mapped, even with protect off (root, nobody, another namespace, shared mapping)" {
	# A filesystem of its own: on overlayfs (the VM's /) the mapping is the
	# real inode's, which shared writable mappings of the overlay file miss.
	mkdir "$T/fs"
	mount -t tmpfs tmpfs "$T/fs"
	local L=$T/fs/lib
	cp /usr/bin/true "$L"
	chmod 666 "$L"
	mkfifo "$T/hold"
	ig_manifest "$T/tool" "$T/jit" "$T/tracer" "$T/lib" "$L" /usr/bin/setpriv /usr/bin/dd /usr/bin/unshare "$CTL" "$IOTGATED"
	# Without iotgate the write lands under the running mapping (the attack).
	"$T/tool" mapwait "$L" <"$T/hold" >"$T/map0.out" &
	local mp=$! i
	exec 8>"$T/hold"
	for ((i = 0; i < 100; i++)); do [[ -s $T/map0.out ]] && break; sleep 0.1; done
	dd if=/dev/zero of="$L" bs=1 count=1 seek=100 conv=notrunc status=none
	exec 8>&-
	wait "$mp"
	cp /usr/bin/true "$L"
	chmod 666 "$L"
	ig_manifest "$T/tool" "$T/jit" "$T/tracer" "$T/lib" "$L" /usr/bin/setpriv /usr/bin/dd /usr/bin/unshare "$CTL" "$IOTGATED"
	ig_policy enforce
	exec 6<>"$L"
	cat >"$T/s.sh" <<-EOS
		exec 7<>"$T/hold"
		"$T/tool" mapwait "$L" <&7 >"$T/map.out" 2>&1 &
		MP=\$!
		for ((i = 0; i < 100; i++)); do [[ -s $T/map.out ]] && break; ig_sleep 0.1; done
		w() { printf x 1<>"$L"; }
		run_rc root_printf w
		run_rc root_dd dd if=/dev/zero of="$L" bs=1 count=1 conv=notrunc status=none
		run_rc nobody_dd /usr/bin/setpriv --reuid 65534 --regid 65534 --clear-groups dd if=/dev/zero of="$L" bs=1 count=1 conv=notrunc status=none
		run_rc ns_dd unshare -m dd if=/dev/zero of="$L" bs=1 count=1 conv=notrunc status=none
		run_rc root_mmapw "$T/tool" mmapw 6
		read -r -n 4 magic <"$L"
		[[ \$magic == \$'\\x7f'ELF ]] && echo intact=yes
		"\$CTL" status --json >"$T/status.json"
		kill \$MP
		wait \$MP
		run_rc after_dd dd if=/dev/zero of="$L" bs=1 count=1 seek=100 conv=notrunc status=none
		"\$CTL" status --json >"$T/status2.json"
	EOS
	scenario "$T/s.sh"
	exec 6>&-
	jq -c '.violations[]' "$T/status.json"
	cat "$T/root_mmapw.out" "$T/map.out"
	[[ $output == *"root_printf=1"* ]]
	[[ $output == *"root_dd=1"* ]]
	[[ $output == *"nobody_dd=1"* ]]
	[[ $output == *"ns_dd=1"* ]]
	[[ $output == *"root_mmapw=1"* ]]
	[[ $output == *"intact=yes"* ]]
	grep -q "Operation not permitted" "$T/root_dd.err"
	grep -q "errno=EPERM" "$T/root_mmapw.out"
	jq -e '[.violations[] | select(.type == "write" and .reason == "mapped_executable" and .verdict == "deny")] | length >= 4' "$T/status.json"
	jq -e '.health == "ok"' "$T/status.json"
	# The mapping gone, protect off decides again: the write lands, trust dropped.
	[[ $output == *"after_dd=0"* ]]
	jq -e '[.violations[] | select(.type == "write" and .reason == "trust_dropped")] | length >= 1' "$T/status2.json"
}

@test "audit: the attacks work and are reported" {
	ig_policy audit
	cat >"$T/s.sh" <<-EOS
		run_rc anon "$T/tool" wx anon
		run_rc rxrwrx "$T/tool" rxrwrx "$T/lib"
		run_rc shm "$T/tool" wx shm
		"\$CTL" status --json >"$T/status.json"
	EOS
	scenario "$T/s.sh"
	[[ $output == *"anon=0"* ]]
	[[ $output == *"rxrwrx=0"* ]]
	[[ $output == *"shm=0"* ]]
	jq -e '[.violations[] | select(.reason == "writable_made_executable" and .verdict == "audit")] | length >= 2' "$T/status.json"
	jq -e '[.violations[] | select(.type == "mmap" and .reason == "not_in_manifest" and .verdict == "audit")] | length >= 1' "$T/status.json"
}

@test "bad input: allow-jit needs an absolute program path" {
	ig_policy enforce
	echo "allow-jit tool" >>"$T/iotgate.conf"
	run "$IOTGATED" --check --policy "$T/iotgate.conf" --keys-dir "$T/keys"
	[ "$status" -ne 0 ]
	[[ $output == *"iotgate.conf:4:11: program must be an absolute path, as in the manifest"* ]]
}
