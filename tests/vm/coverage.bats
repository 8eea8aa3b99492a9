#!/usr/bin/env bats
# SPDX-License-Identifier: GPL-2.0-only
# Full tier: every way code reaches execution from a file is checked, and an
# allowlisted file cannot be changed behind the agent's back. Each case tries
# the obvious ways around the rule.

load ../lib/common

setup() {
	ig_cleanup
	T=$(mktemp -d)
	cp /usr/bin/true "$T/allowed"
	cp /usr/bin/true "$T/denied"
	echo x >>"$T/denied"
	cp /usr/bin/true "$T/victim" # an allowlisted file the tests try to change
	# the dynamic loader and libc of this architecture (x86-64 or arm64 guest)
	LDSO=$(readlink -f "$(ldd /usr/bin/true | awk '$1 ~ /^\/.*\/ld-linux/ { print $1 }')")
	ig_manifest "$T/allowed" "$T/victim" "$CTL" "$IOTGATED" "$EXECTOOL"
}

teardown() {
	ig_cleanup
	mountpoint -q "$T/m1" && umount "$T/m1"
	mountpoint -q "$T/m2" && umount "$T/m2"
	rm -rf "$T"
}

@test "exec of an fd (AT_EMPTY_PATH) and of /proc/self/fd/N is checked" {
	ig_policy enforce
	cat >"$T/s.sh" <<-EOS
		run_rc fd_allowed "$EXECTOOL" fdexec "$T/allowed"
		run_rc fd_denied "$EXECTOOL" fdexec "$T/denied"
		run_rc proc_allowed "$EXECTOOL" procfd "$T/allowed"
		run_rc proc_denied "$EXECTOOL" procfd "$T/denied"
	EOS
	scenario "$T/s.sh"
	[[ $output == *"fd_allowed=0"* ]]
	[[ $output == *"fd_denied=1"* ]]
	[[ $output == *"proc_allowed=0"* ]]
	[[ $output == *"proc_denied=1"* ]]
	grep -q "errno=EPERM" "$T/fd_denied.out"
	grep -q "errno=EPERM" "$T/proc_denied.out"
}

@test "running a binary through ld.so directly is caught at mmap" {
	ig_policy enforce
	cat >"$T/s.sh" <<-EOS
		run_rc ldso_allowed "$LDSO" "$T/allowed"
		run_rc ldso_denied "$LDSO" "$T/denied"
		"$CTL" status --json >"$T/status.json"
	EOS
	scenario "$T/s.sh"
	[[ $output == *"ldso_allowed=0"* ]]
	[[ $output != *"ldso_denied=0"* ]]
	jq -e '.counters.mmap.denied >= 1' "$T/status.json"
}

@test "a shared library outside the manifest is not loaded; mmap and mprotect PROT_EXEC are checked" {
	ig_policy enforce
	mkdir "$T/lib"
	cp "$(readlink -f "$(ldd /usr/bin/true | awk '$1 == "libc.so.6" { print $3 }')")" "$T/lib/libc.so.6"
	cat >"$T/s.sh" <<-EOS
		LD_LIBRARY_PATH="$T/lib" run_rc foreign_libc "$T/allowed"
		run_rc mmap_allowed "$EXECTOOL" mmap "$T/allowed"
		run_rc mmap_denied "$EXECTOOL" mmap "$T/denied"
		run_rc mprotect_denied "$EXECTOOL" mprotect "$T/denied"
	EOS
	scenario "$T/s.sh"
	[[ $output != *"foreign_libc=0"* ]]
	[[ $output == *"mmap_allowed=0"* ]]
	[[ $output == *"mmap_denied=1"* ]]
	[[ $output == *"mprotect_denied=1"* ]]
	grep -q "errno=EPERM" "$T/mmap_denied.out"
	grep -q "errno=EPERM" "$T/mprotect_denied.out"
}

@test "memfd code runs only sealed, by its name, from the program the policy names (root and nobody), and is measured" {
	chmod 755 "$T"
	cp "$EXECTOOL" "$T/other" # listed, but not named for memfds
	ig_manifest "$T/allowed" "$T/victim" "$T/other" /usr/bin/setpriv "$CTL" "$IOTGATED" "$EXECTOOL"
	ig_policy enforce
	echo "allow-memfd $EXECTOOL trusted-jit" >>"$T/iotgate.conf"
	nobody="/usr/bin/setpriv --reuid 65534 --regid 65534 --clear-groups"
	# the memfd's content: $T/denied, which no manifest lists
	cat >"$T/s.sh" <<-EOS
		run_rc named "$EXECTOOL" memfd trusted-jit "$T/denied" seal
		run_rc unsealed "$EXECTOOL" memfd trusted-jit "$T/denied"
		run_rc other_name "$EXECTOOL" memfd evil "$T/denied" seal
		run_rc other_prog "$T/other" memfd trusted-jit "$T/denied" seal
		run_rc nobody_named $nobody "$EXECTOOL" memfd trusted-jit "$T/denied" seal
		run_rc nobody_unsealed $nobody "$EXECTOOL" memfd trusted-jit "$T/denied"
		run_rc nobody_other_prog $nobody "$T/other" memfd trusted-jit "$T/denied" seal
		"\$CTL" status --json >"$T/status.json"
	EOS
	scenario "$T/s.sh"
	for a in named nobody_named; do
		[[ $output == *"$a=0"* ]]
	done
	for a in unsealed other_name other_prog nobody_unsealed nobody_other_prog; do
		[[ $output == *"$a=1"* ]]
		grep -q "errno=EPERM" "$T/$a.out"
	done
	# what ran from the memfd is in the measurement log with its digest (kernel measurement)
	jq -e '.measure_source == "ima" or .measure_source == "module"' "$T/status.json"
	digest=$(sha256sum "$T/denied" | cut -d' ' -f1)
	grep " ima-ng sha256:$digest .*memfd:trusted-jit" "$T/state/measurements"
	"$CTL" log verify --file "$T/state/measurements"
}

@test "a file named like a memfd on a real tmpfs does not pass as one" {
	ig_policy enforce
	echo "allow-memfd $EXECTOOL x" >>"$T/iotgate.conf"
	cp "$T/allowed" "/dev/shm/memfd:x"
	cat >"$T/s.sh" <<-EOS
		run_rc fake_memfd "/dev/shm/memfd:x"
	EOS
	scenario "$T/s.sh"
	rm -f "/dev/shm/memfd:x"
	[[ $output == *"fake_memfd=126"* ]]
}

@test "identity is per filesystem: the same inode number on another mount is not trusted" {
	mkdir "$T/m1" "$T/m2"
	mount -t tmpfs tmpfs "$T/m1"
	mount -t tmpfs tmpfs "$T/m2"
	cp /usr/bin/true "$T/m1/prog"
	cp "$T/denied" "$T/m2/prog"
	[ "$(stat -c %i "$T/m1/prog")" = "$(stat -c %i "$T/m2/prog")" ] # same inode number
	ig_manifest "$T/m1/prog" "$CTL" "$IOTGATED"
	ig_policy enforce
	cat >"$T/s.sh" <<-EOS
		run_rc m1 "$T/m1/prog"
		run_rc m2 "$T/m2/prog"
	EOS
	scenario "$T/s.sh"
	[[ $output == *"m1=0"* ]]
	[[ $output == *"m2=126"* ]]
}

@test "a bind mount shows the same file: trusted through either path, and only that file" {
	mkdir "$T/bind"
	mount --bind "$T" "$T/bind"
	ig_policy enforce
	cat >"$T/s.sh" <<-EOS
		run_rc via_bind "$T/bind/allowed"
		run_rc denied_via_bind "$T/bind/denied"
	EOS
	scenario "$T/s.sh"
	umount "$T/bind"
	[[ $output == *"via_bind=0"* ]]
	[[ $output == *"denied_via_bind=126"* ]]
}

@test "protect on: writing, truncating or writing through an old descriptor is refused" {
	ig_policy enforce
	echo "protect on" >>"$T/iotgate.conf"
	before=$(sha256sum <"$T/victim")
	cat >"$T/s.sh" <<-EOS
		exec 7>>"$T/victim" # opened before the policy was loaded
		( echo x >>"$T/victim" ) 2>"$T/append.err"; echo append=\$?
		( : >"$T/victim" ) 2>"$T/trunc.err"; echo trunc=\$?
		run_rc oldfd "$EXECTOOL" writefd 7
		exec 7>&-
		run_rc victim "$T/victim"
		"$CTL" status --json >"$T/status.json"
	EOS
	scenario "$T/s.sh"
	[[ $output == *"append=1"* ]]
	[[ $output == *"trunc=1"* ]]
	[[ $output == *"oldfd=1"* ]]
	[[ $output == *"victim=0"* ]]
	grep -q "Operation not permitted" "$T/append.err"
	[ "$(sha256sum <"$T/victim")" = "$before" ]
	jq -e '.counters.write.denied >= 3' "$T/status.json"
}

@test "protect off: a write drops trust before the first byte changes; rename does not carry trust" {
	ig_policy enforce
	cat >"$T/s.sh" <<-EOS
		run_rc before "$T/victim"
		echo >>"$T/victim"
		run_rc after "$T/victim"
		run_rc allowed_before_mv "$T/allowed"
	EOS
	scenario "$T/s.sh"
	[[ $output == *"before=0"* ]]
	[[ $output == *"after=126"* ]]
	[[ $output == *"allowed_before_mv=0"* ]]
}

@test "replacing an allowlisted path by rename or hard link to other content is denied" {
	ig_policy enforce
	ln "$T/denied" "$T/denied-link"
	cat >"$T/s.sh" <<-EOS
		run_rc link "$T/denied-link"
	EOS
	# rename happens before enforcement: the path now names other content
	mv "$T/denied" "$T/victim"
	scenario "$T/s.sh"
	[[ $output == *"link=126"* ]]
	cat >"$T/s2.sh" <<-EOS
		run_rc renamed "$T/victim"
	EOS
	scenario "$T/s2.sh"
	[[ $output == *"renamed=126"* ]]
}

@test "audit mode: the same attempts are logged, not denied" {
	ig_policy audit
	cat >"$T/s.sh" <<-EOS
		run_rc ldso_denied "$LDSO" "$T/denied"
		run_rc mmap_denied "$EXECTOOL" mmap "$T/denied"
		run_rc fd_denied "$EXECTOOL" fdexec "$T/denied"
		"$CTL" status --json >"$T/status.json"
	EOS
	scenario "$T/s.sh"
	[[ $output == *"ldso_denied=0"* ]]
	[[ $output == *"mmap_denied=0"* ]]
	[[ $output == *"fd_denied=0"* ]]
	jq -e '.counters.mmap.audited >= 2 and .counters.exec.audited >= 1' "$T/status.json"
	jq -e '.counters.exec.denied == 0 and .counters.mmap.denied == 0' "$T/status.json"
}
