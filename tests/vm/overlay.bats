#!/usr/bin/env bats
# SPDX-License-Identifier: GPL-2.0-only
# Full tier (Debian 6.1 with BPF LSM, inside scripts/vm-run): on overlayfs the
# change check follows the inode that holds the data. With merged/FILE in the
# manifest, rewriting the layer's file behind the overlay's back
# (cp evil lower/FILE, or upper/FILE once copied up) must not let the new
# bytes run through merged/FILE. Layers on tmpfs and on ext4; the writer is
# root or uid 65534 (who owns its lower file).

load ../lib/common

NOBODY=(/usr/bin/setpriv --reuid 65534 --regid 65534 --clear-groups)

setup() {
	ig_cleanup
	T=$(mktemp -d)
	chmod 755 "$T"
	mkdir "$T/l" "$T/m"
	cp /usr/bin/false "$T/evil" # an ELF that does something else: exits 1
	chmod 755 "$T/evil"
}

teardown() {
	ig_cleanup
	umount "$T/m" 2>/dev/null || true
	umount "$T/l" 2>/dev/null || true
	[[ -n ${LOOP:-} ]] && losetup -d "$LOOP" 2>/dev/null
	rm -rf "$T"
}

# layers FSTYPE: lower, upper and work on a fresh FSTYPE at $T/l, the overlay
# at $T/m; good (root's), mine (nobody's), up (copied up now) and thru in lower
layers() {
	if [[ $1 == ext4 ]]; then
		modprobe loop
		modprobe ext4
		truncate -s 32M "$T/ext4.img"
		mkfs.ext4 -q "$T/ext4.img"
		LOOP=$(losetup -f --show "$T/ext4.img")
		mount "$LOOP" "$T/l"
	else
		mount -t tmpfs tmpfs "$T/l"
	fi
	chmod 755 "$T/l"
	mkdir "$T/l/lower" "$T/l/upper" "$T/l/work"
	for f in good mine up thru; do
		cp /usr/bin/true "$T/l/lower/$f"
	done
	chown 65534:65534 "$T/l/lower/mine"
	mount -t overlay overlay -o "lowerdir=$T/l/lower,upperdir=$T/l/upper,workdir=$T/l/work" "$T/m"
	chown 0:0 "$T/m/up" # copy-up: the upper layer holds it from now on
	[ -e "$T/l/upper/up" ]
	ig_manifest "$T/m/good" "$T/m/mine" "$T/m/up" "$T/m/thru" /usr/bin/cp /usr/bin/setpriv \
		"$CTL" "$IOTGATED"
}

# attack: each file runs, is rewritten with evil's bytes in its layer (or
# through the overlay: copy-up on write), and runs again
attack() {
	cat <<-EOS
		run_rc good_before "$T/m/good"
		run_rc good_write /usr/bin/cp "$T/evil" "$T/l/lower/good"
		run_rc good_after "$T/m/good"
		run_rc mine_before ${NOBODY[*]} "$T/m/mine"
		run_rc mine_write ${NOBODY[*]} /usr/bin/cp "$T/evil" "$T/l/lower/mine"
		run_rc mine_after ${NOBODY[*]} "$T/m/mine"
		run_rc up_before "$T/m/up"
		run_rc up_write /usr/bin/cp "$T/evil" "$T/l/upper/up"
		run_rc up_after "$T/m/up"
		run_rc thru_before "$T/m/thru"
		run_rc thru_write /usr/bin/cp "$T/evil" "$T/m/thru"
		run_rc thru_after "$T/m/thru"
		"\$CTL" status --json >"$T/status.json"
	EOS
}

@test "without iotgate a write to a layer runs through the overlay (the attack works)" {
	layers tmpfs
	cp "$T/evil" "$T/l/lower/good"
	run "$T/m/good"
	[ "$status" -eq 1 ]
	cp "$T/evil" "$T/l/upper/up"
	run "$T/m/up"
	[ "$status" -eq 1 ]
}

check_refused() {
	for f in good mine up thru; do
		[[ $output == *"${f}_before=0"* ]]
		[[ $output == *"${f}_write=0"* ]]
		[[ $output == *"${f}_after=126"* ]]
		grep -q "Operation not permitted" "$T/${f}_after.err"
	done
	for f in good mine up; do
		jq -e --arg p "$T/m/$f" '[.violations[] | select(.path == $p and .verdict == "deny" and .reason == "modified_since_measured")] | length == 1' "$T/status.json"
	done
	jq -e '.health == "ok"' "$T/status.json"
	# what ran was logged with the digest of what was measured; evil never ran
	digest=$(sha256sum /usr/bin/true | cut -d' ' -f1)
	[ "$(grep -c " ima-ng sha256:$digest $T/m/" "$T/state/measurements")" -eq 4 ]
	"$CTL" log verify --file "$T/state/measurements"
}

@test "enforce, layers on tmpfs: a lower or upper file rewritten behind the overlay no longer runs (root and nobody)" {
	layers tmpfs
	ig_policy enforce
	attack >"$T/s.sh"
	scenario "$T/s.sh"
	check_refused
}

@test "enforce, layers on ext4: a lower or upper file rewritten behind the overlay no longer runs (root and nobody)" {
	layers ext4
	ig_policy enforce
	attack >"$T/s.sh"
	scenario "$T/s.sh"
	check_refused
}
