#!/usr/bin/env bats
# Tests of the VM harness itself: scripts/vm-run and scripts/vm-kernel.
# Every test that boots a VM takes a few seconds (TCG, more when the host is busy);
# the suite boots 13 VMs (one arm64, one 6.12, one 6.12-rt).  Needs root (as vm-run does).
# Where a test compares the guest's output line by line, vm-run's own messages
# (a first boot of a kernel builds its initramfs, of arm64 its root) are kept
# apart with --separate-stderr.

bats_require_minimum_version 1.5.0

setup_file() {
	WT=$(cd "$BATS_TEST_DIRNAME/../.." && pwd -P)
	export WT VMRUN=$WT/scripts/vm-run VMKERNEL=$WT/scripts/vm-kernel
	if [ "$(id -u)" != 0 ]; then
		skip "vm-run needs root"
	fi
	# download/unpack the kernel once, outside any test's timing
	"$VMKERNEL" >/dev/null
}

setup() {
	TMP=$(mktemp -d "$WT/tests/host/.vm-run-test.XXXXXX")
}

teardown() {
	rm -rf "$TMP"
}

@test "vm-kernel resolves a Debian kernel release and a ready cache dir" {
	run -0 "$VMKERNEL" --version
	[[ $output =~ ^[0-9]+\.[0-9]+\.[0-9]+-[0-9]+-amd64$ ]]
	release=$output
	run -0 "$VMKERNEL"
	[ -d "$output/lib/modules/$release" ]
	[ -f "$output/lib/modules/$release/modules.dep" ]
	[ -f "$output/boot/vmlinuz-$release" ]
	[ "$(cat "$output/release")" = "$release" ]
}

@test "vm-run without a command fails loudly without booting" {
	run --separate-stderr -125 "$VMRUN"
	[[ $stderr == vm-run:*usage* ]]
}

@test "output streams while CMD runs, stderr is merged, exit status propagates" {
	"$VMRUN" sh -c 'echo hello; echo to-stderr >&2; sleep 6; echo done; exit 7' \
		>"$TMP/out" 2>"$TMP/err" 3>&- &
	pid=$!
	for _ in $(seq 1 600); do
		grep -qx hello "$TMP/out" 2>/dev/null && break
		kill -0 "$pid" 2>/dev/null || break
		sleep 0.2
	done
	# "hello" is there while the command is still sleeping
	grep -qx hello "$TMP/out"
	! grep -q done "$TMP/out"
	kill -0 "$pid"
	st=0
	wait "$pid" || st=$?
	[ "$st" -eq 7 ]
	# nothing but the command's output on stdout: no boot noise, no markers, no \r
	[ "$(cat "$TMP/out")" = "$(printf 'hello\nto-stderr\ndone')" ]
	! grep -q 'hello\|to-stderr' "$TMP/err"
}

@test "arguments with spaces, quotes, globs and newlines are passed intact" {
	run -0 "$VMRUN" printf '[%s]\n' 'a b' "it's" '"q"' '' '$HOME' '*' "$(printf 'x\ny')" '-n' 'back\slash' '  '
	expected='[a b]
[it'"'"'s]
["q"]
[]
[$HOME]
[*]
[x
y]
[-n]
[back\slash]
[  ]'
	[ "$output" = "$expected" ]
}

@test "environment: sane defaults, IOTGATE_/VM_/BATS_ and VM_ENV names pass, others do not" {
	run -0 env -i PATH="$PATH" HOME=/nonexistent TERM=xterm \
		IOTGATE_T1="a'b \$c" VM_T2=two BATS_T3=three VM_ENV="MYVAR UNSETVAR" MYVAR=mine \
		NOTPASSED=no "$VMRUN" sh -c \
		'printf "%s|" "$IOTGATE_T1" "$VM_T2" "$BATS_T3" "$MYVAR" "${UNSETVAR-unset}" "${NOTPASSED-unset}" "$HOME" "$TERM" "$PATH"; id -u'
	[ "$output" = "a'b \$c|two|three|mine|unset|unset|/root|dumb|/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin|0" ]
}

@test "the guest runs Debian's kernel with BPF LSM and the expected mounts" {
	release=$("$VMKERNEL" --version)
	run -0 --separate-stderr "$VMRUN" sh -c 'uname -r; cat /sys/kernel/security/lsm; echo; hostname; cat /sys/class/net/lo/flags; cut -d" " -f2,3 /proc/mounts'
	[ "${lines[0]}" = "$release" ]
	[ "${lines[0]}" != "$(uname -r)" ]
	[[ ,${lines[1]}, == *,bpf,* ]]
	[ "${lines[2]}" = iotgate-vm ]
	(( ${lines[3]} & 1 )) # lo is IFF_UP
	for m in "/ overlay" "/proc proc" "/sys sysfs" "/dev devtmpfs" "/dev/pts devpts" \
		"/dev/shm tmpfs" "/run tmpfs" "/sys/kernel/security securityfs" "/sys/fs/bpf bpf" \
		"/sys/fs/cgroup cgroup2" "/sys/fs/cgroup/unified cgroup2" \
		"/sys/kernel/debug debugfs" "/tmp tmpfs" "$WT 9p" "/lib/modules/$release 9p"; do
		grep -qxF "$m" <<<"$output" || grep -qxF "/usr$m" <<<"$output" ||
			{ echo "missing mount: $m"; false; }
	done
}

@test "cwd is kept, the work tree is writable, the host root is untouched" {
	mkdir "$TMP/sub dir"
	cd "$TMP/sub dir"
	etcfile=/etc/iotgate-vm-run-test.$$
	run -0 "$VMRUN" sh -c 'pwd; echo from-guest >written-in-guest; echo x >"$1"; cat "$1";
		echo y >/usr/iotgate-vm-run-test; echo "iotgate-vm-run-test:x:4242:4242::/:/bin/false" >>/etc/passwd;
		grep -c iotgate-vm-run-test /etc/passwd' sh "$etcfile"
	[ "${lines[0]}" = "$TMP/sub dir" ]
	[ "${lines[1]}" = x ]
	[ "${lines[2]}" = 1 ]
	[ "$(cat "$TMP/sub dir/written-in-guest")" = from-guest ]
	[ ! -e "$etcfile" ]
	[ ! -e /usr/iotgate-vm-run-test ]
	! grep -q iotgate-vm-run-test /etc/passwd
}

@test "modprobe works inside for modules of the VM kernel" {
	run -0 "$VMRUN" sh -c 'modprobe vcan && modprobe can-raw && modprobe veth &&
		ip link add dev vcan0 type vcan && ip link add va type veth peer name vb && ip -br link'
	[[ $output == *vcan0* ]]
	[[ $output == *va@vb* ]]
}

@test "a command missing in the guest fails with 127 and a message" {
	run --separate-stderr -127 "$VMRUN" no-such-command-iotgate
	[[ $stderr == *"vm-run: no-such-command-iotgate: command not found"* ]]
}

@test "timeout kills the VM and exits 124 with a message and a hang report" {
	start=$SECONDS
	run --separate-stderr -124 env VM_TIMEOUT=30 "$VMRUN" sh -c 'echo started; sleep 1000'
	[ "$output" = started ]
	[[ $(tail -n 1 <<<"$stderr") == "vm-run: timeout"* ]]
	# the guest's watchdog listed what was still running
	[[ $stderr == *"vm-run: | == guest processes"* ]]
	[[ $stderr == *"hrtimer_nanosleep sleep 1000"* ]]
	(( SECONDS - start < 90 ))
}

@test "a guest kernel panic exits 125 with a message" {
	run --separate-stderr -125 "$VMRUN" sh -c 'echo c >/proc/sysrq-trigger; sleep 100'
	[[ $(tail -n 1 <<<"$stderr") == "vm-run: guest kernel panic"* ]]
}

@test "SIGTERM stops the VM and cleans up" {
	"$VMRUN" sh -c 'touch /run/vm-run/started; sleep 1000' >"$TMP/out" 2>"$TMP/err" 3>&- &
	pid=$!
	qpid=
	for _ in $(seq 1 600); do
		qpid=$(pgrep -P "$pid" -f qemu-system-x86_64 || true)
		if [ -n "$qpid" ]; then
			rundir=$(tr '\0' '\n' <"/proc/$qpid/cmdline" | sed -n 's/.*path=\(.*\)\/ctl,mount_tag=vmctl.*/\1/p')
			[ -e "$rundir/ctl/started" ] && break
		fi
		sleep 0.2
	done
	[ -n "$qpid" ] && [ -e "$rundir/ctl/started" ]
	kill -TERM "$pid"
	st=0
	wait "$pid" || st=$?
	[ "$st" -eq 143 ]
	! kill -0 "$qpid" 2>/dev/null
	[ ! -e "$rundir" ]
	grep -q '^vm-run: interrupted' "$TMP/err"
}

@test "bad --arch and --kernel: one sentence, exit 125, nothing downloaded or booted" {
	mkdir "$TMP/cache"
	run --separate-stderr -125 env VM_CACHE="$TMP/cache" "$VMRUN" --arch sparc64 true
	[ "$stderr" = "vm-run: unknown architecture 'sparc64' (--arch amd64 or arm64)" ]
	run --separate-stderr -125 env VM_CACHE="$TMP/cache" "$VMRUN" --kernel 5.4 true
	[ "$stderr" = "vm-run: unknown kernel '5.4' (--kernel 6.1, 6.12 or 6.12-rt)" ]
	run --separate-stderr -125 env VM_CACHE="$TMP/cache" "$VMRUN" --arch=armhf true
	[[ $stderr == "vm-run: --arch armhf is not supported: "*"without BTF"* ]]
	[ "${#stderr_lines[@]}" -eq 1 ]
	run --separate-stderr -125 env VM_CACHE="$TMP/cache" "$VMRUN" --kernel
	[ "$stderr" = "vm-run: --kernel needs a value (see --help)" ]
	[ -z "$(ls -A "$TMP/cache")" ]
}

@test "a real root, not a chroot: user namespaces work, as root and as nobody" {
	run -0 "$VMRUN" sh -c 'unshare -U --map-root-user id -u; unshare -Urn sh -c "id -u; ip -br link | cut -d\" \" -f1";
		setpriv --reuid 65534 --regid 65534 --clear-groups unshare -Ur id -u'
	[ "$output" = "$(printf '0\n0\nlo\n0')" ]
}

@test "--kernel 6.12 and 6.12-rt boot Debian's 6.12 kernels with BPF LSM" {
	for k in 6.12 6.12-rt; do
		release=$(VM_KERNEL=$k "$VMKERNEL" --version)
		[[ $release == 6.12.* ]]
		run -0 --separate-stderr "$VMRUN" --kernel "$k" sh -c 'uname -r; cat /sys/kernel/security/lsm; echo; cat /sys/kernel/realtime 2>/dev/null || echo 0'
		[ "${lines[0]}" = "$release" ]
		[[ ,${lines[1]}, == *,bpf,* ]]
		if [ "$k" = 6.12-rt ]; then [ "${lines[2]}" = 1 ]; else [ "${lines[2]}" = 0 ]; fi
	done
}

@test "--arch arm64 boots Debian's arm64 kernel on an arm64 root; build/ is build/arm64" {
	release=$(VM_ARCH=arm64 "$VMKERNEL" --version)
	[[ $release =~ ^6\.1\.[0-9]+-[0-9]+-arm64$ ]]
	mkdir -p "$WT/build/arm64"
	echo "$TMP" >"$WT/build/arm64/.vm-run-test"
	run -0 --separate-stderr "$VMRUN" --arch arm64 sh -c 'uname -r; uname -m; cat /sys/kernel/security/lsm; echo
		cat "$1/build/.vm-run-test"; dpkg --print-architecture; unshare -Urn id -u' sh "$WT"
	rm -f "$WT/build/arm64/.vm-run-test"
	[ "${lines[0]}" = "$release" ]
	[ "${lines[1]}" = aarch64 ]
	[[ ,${lines[2]}, == *,bpf,* ]]
	[ "${lines[3]}" = "$TMP" ]
	[ "${lines[4]}" = arm64 ]
	[ "${lines[5]}" = 0 ]
}
