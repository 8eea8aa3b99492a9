#!/usr/bin/env bats
# SPDX-License-Identifier: GPL-2.0-only
# Signed policies and manifests, apply/rollback/factory, downgrade refusal,
# SIGHUP, persistence across restarts, and who may change anything. Every
# refused change must leave the active set exactly as it was.

load ../lib/common

setup_file() {
	"$TOP/scripts/host-setup"
}

setup() {
	ig_cleanup
	T=$(mktemp -d)
	cp /usr/bin/true "$T/a"
	cp /usr/bin/true "$T/b"
	echo b >>"$T/b"
	ig_manifest_exact "$T/a" "$CTL"
	ig_policy enforce
	ig_keys
	# a second key pair that the daemon does not trust
	openssl genpkey -algorithm ed25519 -out "$T/rogue.pem" 2>/dev/null
}

teardown() {
	ig_cleanup
	rm -rf "$T"
}

# new_manifest VERSION FILE...: $T/m<VERSION>, signed with the trusted key
new_manifest() {
	local v=$1
	shift
	{
		echo "# iotgate-manifest version $v"
		sha256sum "$@"
	} >"$T/m$v"
	ig_sign "$T/m$v"
}

@test "enforce mode refuses an unsigned policy; --allow-unsigned-policy runs it degraded" {
	run "$IOTGATED" --keys-dir "$T/keys" --state-dir "$T/state" --policy "$T/iotgate.conf"
	[ "$status" -eq 1 ]
	[[ $output == "$T/iotgate.conf: policy is not signed (no $T/iotgate.conf.sig): enforce mode needs a policy signed by a key in /etc/iotgate/keys" ]]
	[ ! -e "$PIN_DIR" ]
	ig_sign "$T/manifest.sha256"
	IG_NOSIGN=1 ig_start --allow-unsigned-policy
	jget . | jq -e '.policy.signed == false and ([.reasons[].code] | index("unsigned_policy") != null)'
}

@test "a policy signed by an untrusted key, or changed after signing, is refused" {
	ig_sign "$T/iotgate.conf" "$T/rogue.pem"
	ig_sign "$T/manifest.sha256"
	run "$IOTGATED" --keys-dir "$T/keys" --state-dir "$T/state" --policy "$T/iotgate.conf"
	[ "$status" -eq 1 ]
	[[ $output == "$T/iotgate.conf.sig: policy signature refused: signature does not verify with any trusted key" ]]
	ig_sign "$T/iotgate.conf"
	echo "protect on" >>"$T/iotgate.conf"
	run "$IOTGATED" --keys-dir "$T/keys" --state-dir "$T/state" --policy "$T/iotgate.conf"
	[ "$status" -eq 1 ]
	[[ $output == *"policy signature refused: signature does not verify with any trusted key" ]]
	head -c 10 /dev/zero >"$T/iotgate.conf.sig"
	run "$IOTGATED" --keys-dir "$T/keys" --state-dir "$T/state" --policy "$T/iotgate.conf"
	[[ $output == *"policy signature refused: signature file is not a 64-byte Ed25519 signature" ]]
}

@test "unsigned manifests: refused in enforce mode unless the policy allows them" {
	ig_sign "$T/iotgate.conf"
	run "$IOTGATED" --keys-dir "$T/keys" --state-dir "$T/state" --policy "$T/iotgate.conf"
	[ "$status" -eq 1 ]
	[[ $output == "$T/manifest.sha256: manifest is not signed (no $T/manifest.sha256.sig) and the policy refuses unsigned manifests" ]]
	echo "unsigned-manifests allow" >>"$T/iotgate.conf"
	ig_sign "$T/iotgate.conf"
	IG_NOSIGN=1 ig_start
	jget . | jq -e '.manifest.signed == false and ([.reasons[].code] | index("unsigned_manifest") != null)'
	jget . | jq -e '.policy.signed == true and (.policy.signer | length) == 64'
}

@test "manifest apply swaps in a signed manifest; rollback restores the previous one" {
	ig_start
	[ "$(jget .manifest.version)" -eq 0 ]
	new_manifest 2 "$T/a" "$T/b" "$CTL"
	run "$CTL" manifest apply "$T/m2"
	[ "$status" -eq 0 ]
	[[ $output == "manifest-apply: ok: policy version 1, manifest version 2, 3 files verified, 0 rejected" ]]
	jget . | jq -e '.manifest.version == 2 and .manifest.entries == 3 and .manifest.signed == true'
	before=$(jget .counters.exec.allowed)
	"$T/b" # in the new manifest: counted as allowed
	[ "$(jget .counters.exec.allowed)" -gt "$before" ]
	run "$CTL" manifest rollback
	[ "$status" -eq 0 ]
	[ "$(jget .manifest.version)" -eq 0 ]
	jget . | jq -e '.policy.loaded_by | test("^uid 0 pid [0-9]+$")'
}

@test "manifest apply refuses a downgrade unless forced" {
	ig_start
	new_manifest 5 "$T/a" "$CTL"
	"$CTL" manifest apply "$T/m5"
	new_manifest 4 "$T/a" "$T/b" "$CTL"
	run "$CTL" manifest apply "$T/m4"
	[ "$status" -eq 1 ]
	[[ $output == "$T/m4: manifest version 4 is older than the active version 5 (force to downgrade)" ]]
	[ "$(jget .manifest.version)" -eq 5 ]
	run "$CTL" manifest apply --force "$T/m4"
	[ "$status" -eq 0 ]
	[ "$(jget .manifest.version)" -eq 4 ]
}

@test "bad manifests are refused with file:line and the active one stays" {
	ig_start
	sha=$(jget .manifest.sha256)
	new_manifest 3 "$T/a" "$CTL"
	ig_sign "$T/m3" "$T/rogue.pem"
	run "$CTL" manifest apply "$T/m3"
	[ "$status" -eq 1 ]
	[[ $output == "$T/m3.sig: manifest signature refused: signature does not verify with any trusted key" ]]
	printf '# iotgate-manifest version 3\nzz  /x\n%064d  /y\n%064d  /y\n' 0 0 >"$T/m3"
	ig_sign "$T/m3"
	run "$CTL" manifest apply "$T/m3"
	[ "$status" -eq 1 ]
	# where and what, never the file's text (ctlsock.bats)
	[[ ${lines[0]} == "$T/m3:2:1: bad hex digit '...' in digest" ]]
	[[ ${lines[1]} == "$T/m3:4:1: duplicate path '...' (first on line 3)" ]]
	new_manifest 3 "$T/a"
	run "$CTL" manifest apply "$T/m3" "$T/nonexistent.sig"
	[ "$status" -eq 1 ]
	[[ $output == *"nonexistent.sig: No such file or directory" ]]
	[ "$(jget .manifest.sha256)" = "$sha" ]
	[ "$(jget .manifest.version)" -eq 0 ]
}

@test "policy apply, rollback and factory; the applied set survives a restart" {
	ig_policy audit
	ig_start
	cp "$T/iotgate.conf" "$T/shipped.conf"
	printf 'version 2\nmode enforce\nmanifest %s\n' "$T/manifest.sha256" >"$T/p2.conf"
	ig_sign "$T/p2.conf"
	run "$CTL" policy apply "$T/p2.conf"
	[ "$status" -eq 0 ]
	jget . | jq -e '.mode == "enforce" and .policy.version == 2'
	kill -TERM "$DPID"
	wait "$DPID" || true
	IG_NOSIGN=1 ig_start # same --policy (audit, version 1): the applied set wins
	jget . | jq -e '.mode == "enforce" and .policy.version == 2 and .readopted == true'
	run "$CTL" policy rollback
	[ "$status" -eq 0 ]
	jget . | jq -e '.mode == "audit" and .policy.version == 1'
	"$CTL" policy apply "$T/p2.conf"
	run "$CTL" policy factory
	[ "$status" -eq 0 ]
	jget . | jq -e '.mode == "audit" and .policy.version == 1'
	printf 'version 1\nmode enforce\nmanifest %s\n' "$T/manifest.sha256" >"$T/p1.conf"
	ig_sign "$T/p1.conf"
	"$CTL" policy apply "$T/p2.conf"
	run "$CTL" policy apply "$T/p1.conf"
	[ "$status" -eq 1 ]
	[[ $output == "$T/p1.conf: policy version 1 is older than the active version 2 (force to downgrade)" ]]
}

@test "SIGHUP reloads the policy file with the same checks; a bad edit changes nothing" {
	ig_policy audit
	ig_start
	printf 'version 3\nmode enforce\nmanifest manifest.sha256\n' >"$T/iotgate.conf"
	ig_sign "$T/iotgate.conf"
	kill -HUP "$DPID"
	for _ in $(seq 50); do [ "$(jget .policy.version)" = 3 ] && break; sleep 0.1; done
	jget . | jq -e '.mode == "enforce" and .policy.version == 3 and .policy.loaded_by == "SIGHUP"'
	printf 'version 4\nmode enforcing\nmanifest manifest.sha256\n' >"$T/iotgate.conf"
	ig_sign "$T/iotgate.conf"
	kill -HUP "$DPID"
	for _ in $(seq 50); do grep -q "reload by SIGHUP refused" "$T/daemon.log" && break; sleep 0.1; done
	grep -q "reload by SIGHUP refused: $T/iotgate.conf:2:6: unknown mode 'enforcing'" "$T/daemon.log"
	jget . | jq -e '.mode == "enforce" and .policy.version == 3'
}

@test "only root may change the policy; group iotgate may read; others may not connect" {
	groupadd -f iotgate
	ig_start
	new_manifest 2 "$T/a" "$CTL"
	chmod 755 "$T"
	chmod 644 "$T/m2" "$T/m2.sig"
	run setpriv --reuid=65534 --regid=65534 --groups="$(getent group iotgate | cut -d: -f3)" "$CTL" status --json
	[ "$status" -eq 0 ]
	echo "$output" | jq -e '.mode == "enforce"'
	run setpriv --reuid=65534 --regid=65534 --groups="$(getent group iotgate | cut -d: -f3)" "$CTL" manifest apply "$T/m2"
	[ "$status" -eq 1 ]
	[[ $output == "iotgatectl: permission denied: 'manifest-apply' needs root" ]]
	grep -q "refused 'manifest-apply' from uid 65534 pid [0-9]*: not root" "$T/daemon.log"
	run setpriv --reuid=65534 --regid=65534 --clear-groups "$CTL" status
	[ "$status" -eq 1 ]
	[[ $output == "iotgatectl: permission denied on $SOCK: root or group iotgate needed" ]]
	[ "$(jget .manifest.version)" -eq 0 ]
}

@test "the policy signature is read once: what is stored is what was verified" {
	ig_policy audit
	ig_start
	printf 'version 2\nmode audit\nmanifest %s\n' "$T/manifest.sha256" >"$T/p2.conf"
	ig_sign "$T/p2.conf"
	mv "$T/p2.conf.sig" "$T/good.sig"
	ig_sign "$T/p2.conf" "$T/rogue.pem"
	mv "$T/p2.conf.sig" "$T/rogue.sig"
	mkfifo "$T/p2.conf.sig"
	# the first read gets an untrusted signature, a second read would get the trusted one
	# (offered only once the first reader has closed the FIFO: a second writer
	# opening while it still reads would add its bytes to the first read's;
	# each writer gives up after 10 s without a reader)
	{
		timeout 10 sh -c 'cat "$1" >"$2"' - "$T/rogue.sig" "$T/p2.conf.sig" &&
			while find /proc/[0-9]*/fd -lname "$T/p2.conf.sig" 2>/dev/null | grep -q .; do
				sleep 0.05
			done &&
			timeout 10 sh -c 'cat "$1" >"$2"' - "$T/good.sig" "$T/p2.conf.sig"
	} 2>/dev/null &
	w=$!
	run "$CTL" policy apply "$T/p2.conf"
	timeout 5 cat "$T/p2.conf.sig" >/dev/null || true
	wait "$w" || true
	[ "$status" -eq 1 ]
	[[ $output == *"policy signature refused: signature does not verify with any trusted key"* ]]
	jget . | jq -e '.policy.version == 1'
}

@test "a relative trusted-key resolves after a restart from the stored set as it did at apply" {
	ig_policy audit
	ig_start
	mkdir "$T/sub"
	openssl genpkey -algorithm ed25519 -out "$T/sub/mkey.pem" 2>/dev/null
	openssl pkey -in "$T/sub/mkey.pem" -pubout -out "$T/sub/m.pub.pem"
	sha256sum "$T/a" >"$T/sub/m.sha256"
	ig_sign "$T/sub/m.sha256" "$T/sub/mkey.pem"
	printf 'version 2\nmode audit\nmanifest m.sha256\ntrusted-key m.pub.pem\n' >"$T/sub/p2.conf"
	ig_sign "$T/sub/p2.conf"
	(cd "$T" && "$CTL" policy apply sub/p2.conf)
	jget . | jq -e '.policy.version == 2 and .manifest.signed == true'
	kill -TERM "$DPID"
	wait "$DPID" || true
	(cd / && IG_NOSIGN=1 ig_start)
	jget . | jq -e '.policy.version == 2 and .manifest.signed == true'
	jget . | jq -e '[.reasons[].code] | index("active_policy_unusable") == null'
	grep -qx "$T/sub" "$T/state/active/basedir"
}

@test "status answers while an apply of a 10,000-entry manifest is hashing" {
	ig_start
	# 10,000 small files: the verify phase hashes each in a child of the daemon
	mkdir "$T/tree"
	python3 -c '
import os, sys
for i in range(10000):
    with open(os.path.join(sys.argv[1], "f%05d" % i), "w") as f:
        f.write("file %d\n" % i)
' "$T/tree"
	{
		echo "# iotgate-manifest version 2"
		find "$T/tree" -type f -print0 | xargs -0 sha256sum
		sha256sum "$T/a" "$CTL"
	} >"$T/m2"
	ig_sign "$T/m2"
	printf 'version 2\nmode enforce\nmanifest m2\n' >"$T/p2.conf"
	ig_sign "$T/p2.conf"
	run python3 "$TOP/tests/lib/ctlsock.py" status-during "$SOCK" \
		"{\"cmd\":\"policy-apply\",\"path\":\"$T/p2.conf\"}"
	echo "$output"
	[ "${lines[0]}" = "answered during" ]
	echo "${lines[1]}" | jq -e '.ok == true and .verified == 10002'
	[ "$(jget .policy.version)" = 2 ]
	[ "$(jget .changing)" = false ]
}
