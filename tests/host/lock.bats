#!/usr/bin/env bats
# SPDX-License-Identifier: GPL-2.0-only
# Locked device (lock on, iotgate.conf(5)): root over the socket cannot stop
# enforcement, roll back, go back to the factory policy or force a
# downgrade; a mode change or unlocking needs a policy signed by a trusted
# key with a version above the persisted floor; the floor survives restarts.
# Every refusal leaves the set in force as it was.

load ../lib/common

setup_file() {
	"$TOP/scripts/host-setup"
}

setup() {
	ig_cleanup
	T=$(mktemp -d)
	cp /usr/bin/true "$T/a"
	ig_manifest_exact "$T/a" "$CTL"
	ig_keys
	openssl genpkey -algorithm ed25519 -out "$T/rogue.pem" 2>/dev/null
}

teardown() {
	ig_cleanup
	rm -rf "$T"
}

# pol VERSION MODE LOCK [KEY]: $T/p<VERSION>-<MODE>-<LOCK>.conf, signed (KEY: another key)
pol() {
	P=$T/p$1-$2-$3.conf
	printf 'version %s\nmode %s\nmanifest %s\nlock %s\n' "$1" "$2" "$T/manifest.sha256" "$3" >"$P"
	ig_sign "$P" "${4:-$T/key.pem}"
}

# unchanged VERSION MODE: the set in force is still that one, locked
unchanged() {
	jget . | jq -e --argjson v "$1" --arg m "$2" '.policy.version == $v and .mode == $m and .locked == true'
}

@test "locked: stop-enforcing, rollback, factory and --force are refused and logged" {
	ig_policy audit
	ig_start
	pol 2 enforce on
	"$CTL" policy apply "$P"
	pol 3 enforce on
	"$CTL" policy apply "$P"
	unchanged 3 enforce
	run "$CTL" stop-enforcing
	[ "$status" -eq 1 ]
	[[ $output == *"stop-enforcing is refused: the device is locked (lock on)"* ]]
	[ -e "$PIN_DIR" ]
	run "$CTL" policy rollback
	[ "$status" -eq 1 ]
	[[ $output == *"rollback is refused: the device is locked"* ]]
	run "$CTL" policy factory
	[ "$status" -eq 1 ]
	[[ $output == *"factory is refused: the device is locked"* ]]
	pol 1 audit off
	run "$CTL" policy apply "$P" --force
	[ "$status" -eq 1 ]
	[[ $output == *"--force is refused: the device is locked"* ]]
	unchanged 3 enforce
	for op in stop-enforcing rollback factory "policy-apply --force"; do
		grep -q "$op by uid 0.* refused: the device is locked" "$T/daemon.log"
	done
}

@test "locked: a mode change or 'lock off' needs a trusted signature and a version above the floor" {
	ig_policy audit
	ig_start
	pol 2 enforce on
	"$CTL" policy apply "$P"
	unchanged 2 enforce
	# same version, other mode
	pol 2 audit on
	run "$CTL" policy apply "$P"
	[ "$status" -eq 1 ]
	[[ $output == *"the device is locked: a mode change needs a policy version above 2, not 2"* ]]
	# same version, unlocking
	pol 2 enforce off
	run "$CTL" policy apply "$P"
	[ "$status" -eq 1 ]
	[[ $output == *"the device is locked: 'lock off' needs a policy version above 2, not 2"* ]]
	# a higher version signed by a key the daemon does not trust
	pol 9 audit off "$T/rogue.pem"
	run "$CTL" policy apply "$P"
	[ "$status" -eq 1 ]
	unchanged 2 enforce
	# a key added to the key directory while locked is not trusted: keys were read at lock time
	openssl pkey -in "$T/rogue.pem" -pubout -out "$T/keys/rogue.pem"
	run "$CTL" policy apply "$P"
	[ "$status" -eq 1 ]
	unchanged 2 enforce
	# the same change of the same version, locked, is fine (no mode change)
	pol 2 enforce on
	"$CTL" policy apply "$P"
	# signed and above the floor: unlocks, and then stop-enforcing works
	rm "$T/keys/rogue.pem"
	pol 3 audit off
	"$CTL" policy apply "$P"
	jget . | jq -e '.policy.version == 3 and .mode == "audit" and .locked == false'
	run "$CTL" stop-enforcing
	[ "$status" -eq 0 ]
}

@test "the version floor is persisted: a locked device restarted on an older set says so and refuses below it" {
	# shipped: locked, version 1; applied: version 3
	printf 'version 1\nmode enforce\nmanifest manifest.sha256\nlock on\n' >"$T/iotgate.conf"
	ig_start
	pol 3 enforce on
	"$CTL" policy apply "$P"
	jget . | jq -e '.version_floor.policy == 3'
	grep -qx "policy 3 manifest 0" "$T/state/version-floor"
	kill -TERM "$DPID"
	wait "$DPID" || true
	# the applied sets vanish while no daemon runs; the floor does not
	rm -rf "$T/state/active" "$T/state/previous"
	ig_start
	jget . | jq -e '.policy.version == 1 and .locked == true and .version_floor.policy == 3'
	jget . | jq -e '.health == "degraded" and ([.reasons[].code] | index("below_version_floor") != null)'
	pol 2 enforce on
	run "$CTL" policy apply "$P"
	[ "$status" -eq 1 ]
	[[ $output == *"policy version 2 is older than the active version 3"* ]]
	pol 4 enforce on
	"$CTL" policy apply "$P"
	jget . | jq -e '.policy.version == 4 and .version_floor.policy == 4'
}

@test "unlocked: rollback and --force work as before and may lower the floor" {
	ig_policy audit
	ig_start
	pol 3 enforce off
	"$CTL" policy apply "$P"
	pol 1 audit off
	"$CTL" policy apply "$P" --force
	jget . | jq -e '.policy.version == 1 and .locked == false and .version_floor.policy == 1'
	"$CTL" policy rollback
	jget . | jq -e '.policy.version == 3'
}

# keyid PEM: the key id status shows for a signer (SHA-256 of the DER public key)
keyid() {
	openssl pkey -in "$1" -pubout -outform DER | sha256sum | cut -d' ' -f1
}

@test "policy-key: only a key the active policy pins may sign the next policy, whatever the key directory holds" {
	ig_policy audit
	ig_start
	openssl pkey -in "$T/rogue.pem" -pubout -out "$T/keys/rogue.pem"
	pol 2 enforce on
	printf 'policy-key %s\n' "$(keyid "$T/key.pem")" >>"$P"
	ig_sign "$P"
	"$CTL" policy apply "$P"
	jget . | jq -e --arg k "$(keyid "$T/key.pem")" '.policy.version == 2 and .policy.signer == $k'
	# The rogue key is in the directory the daemon reads, and signs a newer policy.
	pol 3 audit off "$T/rogue.pem"
	run "$CTL" policy apply "$P"
	[ "$status" -eq 1 ]
	[[ $output == *"the active policy pins the keys that may sign the next one (policy-key): signed by key $(keyid "$T/rogue.pem")"* ]]
	unchanged 2 enforce
	# The pinned key may, and its policy may pin another one for the next change.
	pol 3 enforce on
	printf 'policy-key %s\n' "$(keyid "$T/rogue.pem")" >>"$P"
	ig_sign "$P"
	"$CTL" policy apply "$P"
	unchanged 3 enforce
	pol 4 enforce on
	run "$CTL" policy apply "$P"
	[ "$status" -eq 1 ]
	[[ $output == *"(policy-key): signed by key $(keyid "$T/key.pem")"* ]]
	pol 4 enforce on "$T/rogue.pem"
	"$CTL" policy apply "$P"
	unchanged 4 enforce
}

@test "bad input: policy-key needs a 64-digit hex key id" {
	ig_policy audit
	echo "policy-key ABCD" >>"$T/iotgate.conf"
	run "$IOTGATED" --check --policy "$T/iotgate.conf" --keys-dir "$T/keys"
	[ "$status" -ne 0 ]
	[[ $output == *"iotgate.conf:4:12: a key id is 64 lowercase hex digits"* ]]
}
