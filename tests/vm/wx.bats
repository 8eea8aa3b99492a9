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
	umount "$T/ov" 2>/dev/null || true
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
	for ((i = 0; i < 100; i++)); do [[ -s $T/map0.out ]] && break; ig_nap 0.1; done
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

# The same on overlayfs (layers on tmpfs): the mapping holds the layer's
# inode, not the overlay's. lo lives in the lower layer only, up was copied up.
ovl_layers() {
	mkdir -p "$T/fs" "$T/ov"
	mount -t tmpfs tmpfs "$T/fs"
	mkdir "$T/fs/lower" "$T/fs/upper" "$T/fs/work"
	cp /usr/bin/true "$T/fs/lower/lo"
	cp /usr/bin/true "$T/fs/lower/up"
	chmod 666 "$T/fs/lower/lo" "$T/fs/lower/up"
	mount -t overlay overlay -o "lowerdir=$T/fs/lower,upperdir=$T/fs/upper,workdir=$T/fs/work" "$T/ov"
	chown 0:0 "$T/ov/up" # copy-up
	[ -e "$T/fs/upper/up" ]
}

# ovl_writes: each write that would change the mapped code, as root, nobody
# and from another mount namespace: the layer's file directly, and through
# the overlay a truncate and a shared writable mapping (fd 6, opened before)
ovl_writes() {
	local nobody=(/usr/bin/setpriv --reuid 65534 --regid 65534 --clear-groups)
	cat <<-EOS
		run_rc lower_dd dd if=/dev/zero of="$T/fs/lower/lo" bs=1 count=1 seek=200 conv=notrunc status=none
		run_rc nobody_lower_dd ${nobody[*]} dd if=/dev/zero of="$T/fs/lower/lo" bs=1 count=1 seek=200 conv=notrunc status=none
		run_rc ns_lower_dd unshare -m dd if=/dev/zero of="$T/fs/lower/lo" bs=1 count=1 seek=200 conv=notrunc status=none
		run_rc upper_dd dd if=/dev/zero of="$T/fs/upper/up" bs=1 count=1 seek=200 conv=notrunc status=none
		run_rc nobody_upper_dd ${nobody[*]} dd if=/dev/zero of="$T/fs/upper/up" bs=1 count=1 seek=200 conv=notrunc status=none
		run_rc merged_mmapw "$T/tool" mmapw 6
		run_rc merged_truncate truncate -s 100 "$T/ov/up"
	EOS
}

@test "without iotgate a layer's file mapped executable through an overlay is written under the mapping (the baseline)" {
	ovl_layers
	mkfifo "$T/hold"
	exec 7<>"$T/hold"
	"$T/tool" mapwait "$T/ov/lo" <&7 >"$T/map1.out" &
	local m1=$!
	"$T/tool" mapwait "$T/ov/up" <&7 >"$T/map2.out" &
	local m2=$! i
	for ((i = 0; i < 100; i++)); do [[ -s $T/map1.out && -s $T/map2.out ]] && break; ig_nap 0.1; done
	exec 6<>"$T/ov/up"
	{
		echo "T=$T"
		echo 'run_rc() { local n=$1; shift; "$@" >"$T/$n.out" 2>"$T/$n.err"; echo "$n=$?"; }'
		ovl_writes
	} >"$T/w.sh"
	run bash "$T/w.sh"
	exec 6>&- 7>&-
	kill "$m1" "$m2" 2>/dev/null || true
	echo "$output"
	for w in lower_dd nobody_lower_dd ns_lower_dd upper_dd nobody_upper_dd merged_mmapw merged_truncate; do
		[[ $output == *"$w=0"* ]]
	done
}

@test "enforce: a layer's file mapped executable through an overlay is not written while mapped (lower and upper directly, truncate and shared mapping through the overlay; root, nobody, another namespace)" {
	ovl_layers
	mkfifo "$T/hold"
	ig_manifest "$T/tool" "$T/ov/lo" "$T/ov/up" /usr/bin/setpriv /usr/bin/dd /usr/bin/unshare \
		/usr/bin/truncate "$CTL" "$IOTGATED"
	ig_policy enforce
	exec 6<>"$T/ov/up"
	{
		cat <<-EOS
			exec 7<>"$T/hold"
			"$T/tool" mapwait "$T/ov/lo" <&7 >"$T/map1.out" 2>&1 &
			M1=\$!
			"$T/tool" mapwait "$T/ov/up" <&7 >"$T/map2.out" 2>&1 &
			M2=\$!
			for ((i = 0; i < 100; i++)); do [[ -s $T/map1.out && -s $T/map2.out ]] && break; ig_sleep 0.1; done
			echo "mapped=\$(<"$T/map1.out") \$(<"$T/map2.out")"
		EOS
		ovl_writes
		cat <<-EOS
			read -r -n 4 m1 <"$T/fs/lower/lo"
			read -r -n 4 m2 <"$T/fs/upper/up"
			[[ \$m1 == \$'\\x7f'ELF && \$m2 == \$'\\x7f'ELF ]] && echo intact=yes
			"\$CTL" status --json >"$T/status.json"
			kill \$M1 \$M2
			wait \$M1 \$M2
			run_rc after_dd dd if=/dev/zero of="$T/fs/lower/lo" bs=1 count=1 seek=200 conv=notrunc status=none
		EOS
	} >"$T/s.sh"
	scenario "$T/s.sh"
	exec 6>&-
	jq -c '.violations[]' "$T/status.json"
	[[ $output == *"mapped=mapped mapped"* ]]
	for w in lower_dd nobody_lower_dd ns_lower_dd upper_dd nobody_upper_dd merged_truncate; do
		[[ $output == *"$w=1"* ]] || { echo "$w was not refused"; false; }
		grep -q "Operation not permitted" "$T/$w.err"
	done
	[[ $output == *"merged_mmapw=1"* ]]
	grep -q "errno=EPERM" "$T/merged_mmapw.out"
	[[ $output == *"intact=yes"* ]]
	jq -e '[.violations[] | select(.type == "write" and .reason == "mapped_executable" and .verdict == "deny")] | length >= 7' "$T/status.json"
	# unmapped, the layer's file is writable again (protect off: trust dropped)
	[[ $output == *"after_dd=0"* ]]
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
