#!/usr/bin/env bats
# SPDX-License-Identifier: GPL-2.0-only
# Full tier (Debian 6.1 kernel with BPF LSM, inside scripts/vm-run): the exec
# decision against a reference model (tests/helpers/execdiff.py). 1,000
# random files (ELFs and #! scripts), two random signed policy sets, random
# changes after each apply, every file exec'd for real under enforcement;
# any disagreement is printed as the case that shows it. The seed is printed
# (EXECDIFF_SEED=N repeats a run, EXECDIFF_CASES=N sizes it).

load ../lib/common

setup() {
	ig_cleanup
	T=$(mktemp -d)
	# A tmpfs of its own: a file system whose change times are the inode's.
	mount -t tmpfs -o mode=0755 execdiff "$T"
}

teardown() {
	ig_cleanup
	umount "$T" 2>/dev/null || true
	rmdir "$T"
}

@test "exec decision: the kernel agrees with the model on 1,000 random files, manifests and changes" {
	seed=${EXECDIFF_SEED:-$(od -An -N4 -tu4 /dev/urandom | tr -d ' ')}
	echo "# seed $seed"
	run /usr/bin/python3 "$TOP/tests/helpers/execdiff.py" "$T" "$B" "${EXECDIFF_CASES:-1000}" "$seed"
	echo "$output"
	[ "$status" -eq 0 ]
	[[ $output == *": 0 disagreements"* ]]
	[[ $output == *"2000 execs"* || -n ${EXECDIFF_CASES:-} ]]
}
