#!/usr/bin/env bats
# SPDX-License-Identifier: GPL-2.0-only
# Verifying a manifest under attack (issue 13): an unprivileged user whose
# directory holds a manifest entry swaps it between good and evil content, or
# swaps a FIFO in, in a tight loop while root runs `policy apply` over and
# over. The kernel must never be given the evil file's identity, and no apply
# may hang. Userspace only: runs on the host (partial tier, audit mode).

load ../lib/common

setup_file() {
	"$TOP/scripts/host-setup"
}

setup() {
	ig_cleanup
	T=$(mktemp -d)
	# the attacker's directory: nobody owns it
	D=$(mktemp -d)
	chmod 755 "$D"
	cp /usr/bin/true "$D/good"
	cp /usr/bin/false "$D/evil"
	ln -s good "$D/entry"
	chown -R -h 65534:65534 "$D"
	{
		sha256sum "$D/good" | sed "s|  .*|  $D/entry|"
		sha256sum "$CTL"
	} >"$T/manifest.sha256"
	ig_policy audit
	ig_start
	EVIL_INO=$(stat -c %i "$D/evil")
	GOOD_INO=$(stat -c %i "$D/good")
}

teardown() {
	if [[ -n ${SWAPPER:-} ]]; then
		kill "$SWAPPER" 2>/dev/null || true
		wait "$SWAPPER" 2>/dev/null || true
	fi
	ig_cleanup
	rm -rf "$T" "$D"
}

# swap MODE: as nobody, rename a symlink to evil (or a FIFO) and one to good
# over $D/entry, as fast as it can, until killed
swap() {
	setpriv --reuid 65534 --regid 65534 --clear-groups /usr/bin/python3 -c '
import os, sys
d, mode = sys.argv[1], sys.argv[2]
i = 0
while True:
    tmp = os.path.join(d, "tmp")
    try:
        os.unlink(tmp)
    except FileNotFoundError:
        pass
    if i % 2 == 0:
        os.symlink("good", tmp)
    elif mode == "fifo":
        os.mkfifo(tmp, 0o600)
    else:
        os.symlink("evil", tmp)
    os.rename(tmp, os.path.join(d, "entry"))
    i += 1
' "$D" "$1" &
	SWAPPER=$!
}

# the inode numbers in every manifest map the kernel holds (both slots)
kernel_inos() {
	bpftool -j map dump name ig_files 2>/dev/null | jq -r '.. | .ino? // empty'
}

# rounds MODE N: N applies while the swapper runs; the evil inode is never
# in the kernel, each apply answers, and both outcomes were seen
rounds() {
	local allowed=0 refused=0 i
	swap "$1"
	for ((i = 0; i < $2; i++)); do
		run timeout 60 "$CTL" policy apply "$T/iotgate.conf"
		[ "$status" -ne 124 ] # a FIFO never hangs the daemon
		if [[ $output == *"2 files verified, 0 rejected"* ]]; then
			allowed=$((allowed + 1))
		else
			[[ $output == *"1 files verified, 1 rejected"* ]] || {
				echo "$output"
				false
			}
			refused=$((refused + 1))
		fi
		if kernel_inos | grep -qx "$EVIL_INO"; then
			echo "round $i: the evil file's inode $EVIL_INO is allowed"
			false
		fi
	done
	kill "$SWAPPER"
	wait "$SWAPPER" || true
	SWAPPER=
	echo "# $1: $2 applies, $allowed allowed the good file, $refused refused the entry" >&3
	# the race was on: some applies saw the good file, some the other
	[ "$allowed" -gt 0 ]
	[ "$refused" -gt 0 ]
}

@test "the kernel map holds inode numbers we can check" {
	ig_policy audit
	"$CTL" policy apply "$T/iotgate.conf"
	kernel_inos | grep -qx "$GOOD_INO"
	! kernel_inos | grep -qx "$EVIL_INO"
}

@test "a symlink entry swapped to evil content during policy apply never allows it (unprivileged)" {
	rounds symlink 40
}

@test "a FIFO swapped in during policy apply is rejected and never hangs the daemon" {
	rounds fifo 40
	"$CTL" status >/dev/null
}

@test "an entry that is a FIFO, a device or too large is rejected with a clear message" {
	mkfifo "$T/fifo"
	truncate -s 2G "$T/huge"
	{
		echo "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855  $T/fifo"
		echo "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855  /dev/zero"
		echo "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855  $T/huge"
		sha256sum "$CTL"
	} >"$T/manifest.sha256"
	printf 'version 2\nmode audit\nmanifest manifest.sha256\nhash-limits 1G 4G 60\n' >"$T/iotgate.conf"
	ig_sign "$T/iotgate.conf"
	ig_sign "$T/manifest.sha256"
	run timeout 60 "$CTL" policy apply "$T/iotgate.conf"
	echo "$output"
	[ "$status" -eq 0 ]
	[[ $output == *"1 files verified, 3 rejected"* ]]
	grep -F "rejected $T/fifo: not a regular file (a FIFO; manifest line 1)" "$T/daemon.log"
	grep -F "rejected /dev/zero: not a regular file (a character device; manifest line 2)" "$T/daemon.log"
	grep -F "rejected $T/huge: larger than the 1073741824 bytes hash-limits allows a file (2147483648; manifest line 3)" "$T/daemon.log"
}
