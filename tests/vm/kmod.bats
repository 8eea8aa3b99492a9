#!/usr/bin/env bats
# SPDX-License-Identifier: GPL-2.0-only
# kmod/iotgate_measure.ko and the in-kernel measurement (bpf/kmeasure.bpf.c,
# userspace/kmeasure.c) on Debian's 6.1 kernel, inside scripts/vm-run.
#
# The module and the test tool are built on the host by scripts/build-kmod
# (the VM has no network for apt-get): this suite fails, it does not skip,
# when they are missing or built for another kernel.

load ../lib/common

KO=$TOP/kmod/iotgate_measure.ko
KM=$B/kmod/iotgate-kmeasure
KX=$B/bench/kmod-exec
MODDIR=/sys/module/iotgate_measure
PARAMS=$MODDIR/parameters

setup_file() {
	local missing=() built
	[[ -f $KO ]] || missing+=("$KO")
	[[ -x $KM ]] || missing+=("$KM")
	[[ -x $KX ]] || missing+=("$KX (make)")
	if ((${#missing[@]})); then
		echo "kmod.bats: not built: ${missing[*]}" >&2
		echo "kmod.bats: run scripts/build-kmod on the host before scripts/vm-run (scripts/run-tests does)" >&2
		return 1
	fi
	built=$(modinfo -F vermagic "$KO")
	if [[ ${built%% *} != "$(uname -r)" ]]; then
		echo "kmod.bats: $KO is built for '${built%% *}', this VM runs '$(uname -r)': rerun scripts/build-kmod" >&2
		return 1
	fi
}

setup() {
	T=$(mktemp -d)
	KMPID=
	mod_unload
	dmesg -c >/dev/null
}

teardown() {
	km_stop
	ig_cleanup
	umount "$T/m" 2>/dev/null || true
	umount "$T/l" 2>/dev/null || true
	mod_unload || true
	rm -rf "$T"
}

# mod_unload: rmmod if loaded; a freed sleepable program lets go of the
# module only after an RCU tasks-trace grace period, so retry for a while.
mod_unload() {
	[[ -d $MODDIR ]] || return 0
	for _ in $(seq 100); do
		rmmod iotgate_measure 2>/dev/null && return 0
		ig_nap 0.1
	done
	rmmod iotgate_measure
}

# param NAME: a module parameter or counter (read without exec'ing anything)
param() {
	local v
	read -r v <"$PARAMS/$1"
	echo "$v"
}

# km_start ARGS...: runs iotgate-kmeasure in the background until "ready"
km_start() {
	"$KM" "$@" >"$T/km.out" 2>"$T/km.err" &
	KMPID=$!
	for _ in $(seq 300); do
		grep -q '^ready$' "$T/km.out" && return 0
		kill -0 "$KMPID" 2>/dev/null || break
		ig_nap 0.1
	done
	cat "$T/km.out" "$T/km.err" >&2
	return 1
}

# km_stop: stops it; its output is complete afterwards (ends with "counters")
km_stop() {
	[[ -n ${KMPID:-} ]] || return 0
	kill -TERM "$KMPID" 2>/dev/null || true
	wait "$KMPID" 2>/dev/null || true
	KMPID=
}

# newprog NAME: an executable of its own content (true + random tail) in $T
newprog() {
	cp /usr/bin/true "$T/$1"
	head -c 64 /dev/urandom >>"$T/$1"
}

# records PATH [HOOK]: the tool's records for PATH
records() {
	grep -E " hook=${2:-[a-z]+} .* path=$1\$" "$T/km.out" || true
}

digest_of() { sha256sum "$1" | cut -d' ' -f1; }

no_oops() {
	! dmesg | grep -E 'Oops|BUG:|WARNING:|Call Trace|general protection'
}

@test "module: loads with BTF, registers the sleepable kfunc, shows its parameters" {
	insmod "$KO"
	[ -e /sys/kernel/btf/iotgate_measure ]
	bpftool btf dump file /sys/kernel/btf/iotgate_measure | grep -q "FUNC 'iotgate_file_sha256'"
	[ "$(param cache_entries)" = 4096 ]
	[ "$(param max_size_mb)" = 1024 ]
	[ "$(param measured)" = 0 ]
	[[ $(param hash_driver) == sha256* ]]
	[[ $(param reclaim) == kprobe:* ]]
	dmesg | grep -q 'iotgate_measure: ready: sha256 by'
}

@test "module: the digest of an executed file and of its libraries is sha256sum's" {
	insmod "$KO"
	newprog prog
	km_start
	grep -qx 'source=module' "$T/km.out"
	"$T/prog"
	km_stop
	cat "$T/km.out"
	run records "$T/prog" exec
	[ "${#lines[@]}" -eq 1 ]
	[[ ${lines[0]} == *" source=module hook=exec err=0 digest=$(digest_of "$T/prog") "* ]]
	# libc is mapped executable by ld.so: measured at mmap_file
	libc=$(ldd /usr/bin/true | awk '/libc\.so/ { print $3 }' | xargs readlink -f)
	run records "$libc" mmap
	[ "${#lines[@]}" -eq 1 ]
	[[ ${lines[0]} == *" digest=$(digest_of "$libc") "* ]]
	[ "$(param measured)" -ge 2 ]
}

@test "module: a changed file is measured again at its next exec, an unchanged one comes from the cache" {
	insmod "$KO"
	newprog prog
	old=$(digest_of "$T/prog")
	ig_nap 0.1 # timestamps a tick older than the first measurement: cacheable
	km_start
	"$T/prog"
	m1=$(param measured)
	h1=$(param hits)
	"$T/prog"
	[ "$(param measured)" -eq "$m1" ]
	[ "$(param hits)" -gt "$h1" ]
	echo changed >>"$T/prog"
	# Written in the tick of the next exec, the new digest is not cacheable,
	# and the exec's own mapping of the file would measure it a second time.
	ig_nap 0.1
	"$T/prog"
	# Measured again (a stale cached digest would leave m1). On a filesystem
	# without i_version (tmpfs before 6.6: the VM's /tmp) the module may not
	# prove the new digest current and caches nothing, so the exec's own
	# mapping of the file is measured too.
	m2=$(param measured)
	[ "$m2" -ge $((m1 + 1)) ] && [ "$m2" -le $((m1 + 2)) ]
	new=$(digest_of "$T/prog")
	[ "$old" != "$new" ]
	km_stop
	run records "$T/prog" exec
	printf '%s\n' "${lines[@]}"
	[ "${#lines[@]}" -eq 2 ]
	[[ ${lines[0]} == *" digest=$old "* ]]
	[[ ${lines[1]} == *" digest=$new "* ]]
}

@test "module: 1,000 parallel execs of a new file are measured once" {
	insmod "$KO"
	newprog burst
	# The work tree is 9p without a cache: each exec of a file there gets a new
	# inode, which the module measures anew. A copy on the VM's tmpfs does not.
	cp "$KX" "$T/kx"
	ig_nap 0.1
	km_start
	"$T/kx" mmapx /dev/null >/dev/null || true # kmod-exec itself measured now, not during the burst
	m0=$(param measured)
	h0=$(param hits)
	run "$T/kx" burst 1000 16 "$T/burst"
	echo "$output"
	[ "$status" -eq 0 ]
	[[ $output == "execs=1000 failed=0 "* ]]
	m1=$(param measured)
	h1=$(param hits)
	echo "measured $m0 -> $m1, hits $h0 -> $h1"
	[ $((m1 - m0)) -eq 1 ]
	[ $((h1 - h0)) -ge 999 ]
	km_stop
	run records "$T/burst" exec
	[ "${#lines[@]}" -eq 1 ]
	[[ ${lines[0]} == *" digest=$(digest_of "$T/burst") "* ]]
}

@test "module: rmmod is refused while a BPF program uses the kfunc, allowed after" {
	insmod "$KO"
	km_start --source module
	grep -qx 'source=module' "$T/km.out"
	[ "$(cat $MODDIR/refcnt)" -ge 1 ]
	run rmmod iotgate_measure
	echo "$output"
	[ "$status" -ne 0 ]
	[[ $output == *"in use"* ]]
	[ -d "$MODDIR" ]
	km_stop
	mod_unload
	[ ! -d "$MODDIR" ]
}

@test "module: out-of-range and read-only parameters are refused at load" {
	for arg in cache_entries=15 cache_entries=1048577 cache_entries=many max_size_mb=0 \
		max_size_mb=65537 measured=1 hits=0; do
		run insmod "$KO" "$arg"
		echo "$arg: $status $output"
		[ "$status" -ne 0 ]
		[[ $output == *"Invalid parameters"* ]]
		[ ! -d "$MODDIR" ]
	done
	dmesg | grep -q 'cache_entries=15 refused: must be 16..1048576'
	dmesg | grep -q 'measured is a read-only counter'
	# the bounds themselves are accepted
	insmod "$KO" cache_entries=16 max_size_mb=1
	[ "$(param cache_entries)" = 16 ]
	[ "$(param max_size_mb)" = 1 ]
}

@test "module: the kfunc refuses non-regular files with an error and never oopses" {
	insmod "$KO"
	mkdir "$T/dir"
	mkfifo "$T/fifo"
	km_start --source module
	e0=$(param errors)
	run "$KX" mmapx /dev/zero "$T/dir" "$T/fifo"
	echo "$output"
	# the program only measures: the mappings fail (or not) as they would without it
	[[ ${lines[0]} == "/dev/zero ok" ]]
	[[ ${lines[1]} == "$T/dir errno=ENODEV" ]]
	e1=$(param errors)
	[ $((e1 - e0)) -eq 3 ]
	km_stop
	grep -E '^counters .* errors=[1-9]' "$T/km.out"
	# no record for what cannot be measured by mapping; no oops, no warning
	[ -z "$(records "$T/dir")" ]
	no_oops
	# and a file too large for max_size_mb is refused (EFBIG) rather than hashed
	mod_unload
	insmod "$KO" max_size_mb=1
	newprog big
	head -c 2M /dev/zero >>"$T/big"
	km_start --source module
	"$T/big"
	km_stop
	run records "$T/big" exec
	[[ ${lines[0]} == *" hook=exec err=-27 digest=$(printf '0%.0s' {1..64}) "* ]]
	no_oops
}

@test "module: a module built for another kernel is refused cleanly, the loader falls back and says why" {
	# same module, other kernel configuration: vermagic differs after the release
	LC_ALL=C sed 's/mod_unload modversions/mod_unload modversionX/' "$KO" >"$T/other.ko"
	[[ $(modinfo -F vermagic "$T/other.ko") == *modversionX* ]]
	run insmod "$T/other.ko"
	echo "$output"
	[ "$status" -ne 0 ]
	[[ $output == *"Invalid module format"* ]]
	[ ! -d "$MODDIR" ]
	dmesg | grep -q 'version magic'
	km_start --module "$T/other.ko"
	cat "$T/km.out"
	grep -qx 'source=ima' "$T/km.out"
	grep -q "^reason=cannot load $T/other.ko: Exec format error (built for another kernel" "$T/km.out"
	[ ! -d "$MODDIR" ]
	no_oops
}

@test "loader: loads the module from its path when it is not loaded" {
	km_start --module "$KO"
	grep -qx 'source=module' "$T/km.out"
	grep -qx 'reason=' "$T/km.out"
	[ -d "$MODDIR" ]
	newprog prog
	"$T/prog"
	km_stop
	run records "$T/prog" exec
	[[ ${lines[0]} == *" source=module hook=exec err=0 digest=$(digest_of "$T/prog") "* ]]
}

@test "without the module: bpf_ima_file_hash is the source, and agrees with sha256sum" {
	km_start --status
	grep -qx 'source=ima' "$T/km.out"
	grep -qx 'reason=module: iotgate_measure is not loaded' "$T/km.out"
	newprog prog
	"$T/prog"
	"$T/prog"
	km_stop
	run records "$T/prog" exec
	[ "${#lines[@]}" -eq 1 ]
	[[ ${lines[0]} == *" source=ima hook=exec err=0 digest=$(digest_of "$T/prog") "* ]]
	tail -n 1 "$T/km.out" | jq -e '.measure_source == "ima" and .kmeasure.counters.events >= 1'
}

@test "module: entries of freed inodes are reclaimed; the cache stays within cache_entries" {
	insmod "$KO" cache_entries=16
	for i in $(seq 40); do newprog "p$i"; done
	ig_nap 0.1
	km_start --source module --status
	for i in $(seq 40); do "$T/p$i"; done
	[ "$(param cached)" -le 16 ]
	[ "$(param dropped)" -ge 24 ]
	r0=$(param reclaimed)
	newprog gone
	"$T/gone"
	rm "$T/gone"
	sync
	echo 2 >/proc/sys/vm/drop_caches
	r1=$(param reclaimed)
	echo "reclaimed $r0 -> $r1"
	[ "$r1" -gt "$r0" ]
	km_stop
	tail -n 1 "$T/km.out" | jq -e '.measure_source == "module" and .kmeasure.module.cache_entries == 16'
}

@test "iotgated: with the module, measure_source is module and the log holds the kernel's digest" {
	insmod "$KO"
	mkdir "$T/bin"
	mount -t tmpfs tmpfs "$T/bin" # 9p gives a new inode per lookup: hash on tmpfs
	cp /usr/bin/true "$T/bin/prog"
	ig_manifest "$T/bin/prog" "$CTL" "$IOTGATED"
	ig_policy audit
	ig_start
	"$T/bin/prog"
	for _ in $(seq 50); do grep -q " $T/bin/prog\$" "$T/state/measurements" 2>/dev/null && break; ig_nap 0.1; done
	jget . | jq -e '.measure_source == "module" and .measurement_log.kernel_measured >= 1'
	jget . | jq -e '.measurement_log.kernel_mismatch == 0'
	digest=$(sha256sum "$T/bin/prog" | cut -d' ' -f1)
	[ "$(grep -c " ima-ng sha256:$digest $T/bin/prog\$" "$T/state/measurements")" -eq 1 ]
	"$CTL" log verify --file "$T/state/measurements"
	"$CTL" stop-enforcing >/dev/null
	wait "$DPID" || true
	umount "$T/bin"
}

@test "iotgated: without the module the source falls back and the state says why" {
	ig_manifest /usr/bin/true "$CTL" "$IOTGATED"
	ig_policy audit
	ig_start
	jget . | jq -e '.measure_source == "ima" and (.kmeasure.reason | test("not loaded"))'
	"$CTL" stop-enforcing >/dev/null
	wait "$DPID" || true
}

@test "iotgated, lazy appraisal: a digest the module cached for an overlay file does not outlive a write to its layer (root and nobody)" {
	local nobody="/usr/bin/setpriv --reuid 65534 --regid 65534 --clear-groups"
	local exit42=$B/tests/exit42 f evil
	insmod "$KO"
	chmod 755 "$T"
	mkdir "$T/l" "$T/m"
	mount -t tmpfs tmpfs "$T/l"
	chmod 755 "$T/l"
	mkdir "$T/l/lower" "$T/l/upper" "$T/l/work"
	for f in good mine; do
		cp /usr/bin/true "$T/l/lower/$f"
		echo "$f" >>"$T/l/lower/$f"
	done
	chown 65534:65534 "$T/l/lower/mine"
	mount -t overlay overlay -o "lowerdir=$T/l/lower,upperdir=$T/l/upper,workdir=$T/l/work" "$T/m"
	ig_manifest "$T/m/good" "$T/m/mine" /usr/bin/setpriv "$CTL" "$IOTGATED"
	ig_policy enforce
	ig_nap 0.1 # timestamps a tick older than the first measurement: cacheable
	# first use: appraised by the module, which caches the digest
	cat >"$T/s.sh" <<-EOS
		run_rc good_before "$T/m/good"
		run_rc mine_before $nobody "$T/m/mine"
	EOS
	scenario "$T/s.sh"
	[[ $output == *"good_before=0"* ]]
	[[ $output == *"mine_before=0"* ]]
	# the layer's files rewritten behind the overlay (its inode's ctime and size stay)
	cp "$exit42" "$T/l/lower/good"
	$nobody cp "$exit42" "$T/l/lower/mine"
	run "$T/m/good"
	[ "$status" -eq 42 ] # the attack works without iotgate
	# a new daemon takes the entries' identities now and appraises at first use
	cat >"$T/s.sh" <<-EOS
		run_rc good_after "$T/m/good"
		run_rc mine_after $nobody "$T/m/mine"
		"\$CTL" status --json >"$T/status.json"
	EOS
	scenario "$T/s.sh"
	jq -e '.measure_source == "module" and .manifest.appraisal == "lazy"' "$T/status.json"
	for f in good mine; do
		[[ $output == *"${f}_after=126"* ]]
		grep -q "Operation not permitted" "$T/${f}_after.err"
		jq -e --arg p "$T/m/$f" '[.violations[] | select(.path == $p and .verdict == "deny" and .reason == "digest_mismatch")] | length == 1' "$T/status.json"
	done
	# logged as what it is: the program that exits 42
	evil=$(sha256sum "$exit42" | cut -d' ' -f1)
	[ "$(grep -c " ima-ng sha256:$evil $T/m/" "$T/state/measurements")" -eq 2 ]
	"$CTL" log verify --file "$T/state/measurements"
	umount "$T/m"
	umount "$T/l"
}
