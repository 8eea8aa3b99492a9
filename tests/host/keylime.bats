#!/usr/bin/env bats
# SPDX-License-Identifier: GPL-2.0-only
# Keylime judges iotgate's measurement log with its own code (the snapshot in
# ../shared/oracles/keylime.tar.xz, run by tests/lib/keylime_attest.py):
# every line parses as ima-ng, every template hash matches, the replay from
# boot ends at the daemon's aggregate (Keylime's PCR 10 value: iotgate has no
# TPM here, so the aggregate stands in for the PCR read), before and after
# several rotations, incrementally as Keylime's verifier attests, with names
# holding '\', '"', ']', ' ' and a newline; and the runtime policy from
# 'manifest keylime-policy' passes every listed file and fails the unlisted one.

load ../lib/common

ORACLES=${IOTGATE_ORACLES:-$TOP/../shared/oracles}

setup_file() {
	"$TOP/scripts/host-setup"
}

setup() {
	ig_cleanup
	T=$(mktemp -d)
	S=$T/state
	[[ -r $ORACLES/keylime.tar.xz ]] || {
		echo "no $ORACLES/keylime.tar.xz (set IOTGATE_ORACLES)" >&2
		return 1
	}
	mkdir "$T/kl"
	tar -xJf "$ORACLES/keylime.tar.xz" -C "$T/kl"
	KL=$(dirname "$(find "$T/kl" -name agentstates.py -path '*/keylime/*' | head -1)")
	KL=${KL%/keylime}
	mkdir "$T/bin"
	# names as an attacker or a careless vendor may choose them
	NAMES=('back\slash' 'new
line' 'quote"d' 'brack]et' 'sp ace')
	for i in $(seq 1 60); do NAMES+=("p$i"); done
	for i in "${!NAMES[@]}"; do
		cp /usr/bin/true "$T/bin/${NAMES[$i]}"
		printf '%d' "$i" >>"$T/bin/${NAMES[$i]}" # a digest of its own
	done
	(cd "$T/bin" && sha256sum -- "$T/bin/"* >"$T/manifest.sha256")
	ig_policy enforce
}

teardown() {
	ig_cleanup
	rm -rf "$T"
}

# attest ARGS...: Keylime's verdict (JSON) on the files, PCR = the daemon's aggregate
attest() {
	local agg
	agg=$(jget .measurement_log.aggregate)
	PYTHONPATH=$KL /usr/bin/python3 "$TOP/tests/lib/keylime_attest.py" "$@" "$agg" $(boot_files) 2>"$T/kl.err"
}

# the files of this boot, oldest first (what 'iotgatectl log' prints)
boot_files() {
	local i
	for i in 4 3 2 1; do
		[[ -e $S/measurements.$i ]] && echo "$S/measurements.$i"
	done
	echo "$S/measurements"
}

# run_names FROM TO: runs NAMES[FROM..TO] and waits until all are in the log
run_names() {
	local i want
	for i in $(seq "$1" "$2"); do "$T/bin/${NAMES[$i]}"; done
	want=$(($2 + 2)) # boot_aggregate and NAMES[0..TO]
	for _ in $(seq 100); do
		[ "$(jget '.measurement_log.first_entry + .measurement_log.entries')" -ge "$want" ] && return 0
		sleep 0.1
	done
	jget .measurement_log >&2
	return 1
}

@test "keylime replays the log from boot and attests incrementally across rotations" {
	ig_start --log-max-bytes 4096
	# no TPM on this machine: nothing anchors the aggregate, and the state says so
	[ ! -e /dev/tpmrm0 ]
	"$CTL" status | grep -q 'attestation: self-reported$'
	jget .measurement_log | jq -e '.attestation == "self-reported" and (has("pcr") | not)'
	jget .reasons | jq -e 'map(select(.code == "tpm_extend_failure")) == []'
	# without a policy Keylime takes template hashes for SHA-1: the policy says sha256
	"$CTL" manifest keylime-policy "$T/manifest.sha256" >"$T/policy.json"
	run_names 0 9
	[ ! -e "$S/measurements.1" ]
	run attest --policy "$T/policy.json" --state "$T/kl.state"
	echo "$output"
	echo "$output" | jq -e '.events == [] and .next == 11'
	[ "$(echo "$output" | jq -r .running)" = "$(jget .measurement_log.aggregate)" ]

	run_names 10 64
	# several rotations, the file that began the boot still kept
	[ -e "$S/measurements.2" ]
	[ "$(jget .measurement_log.first_entry)" -gt 0 ]
	! grep -q iotgate-carryover $(boot_files)
	# incrementally: only the entries after the last attestation
	run attest --policy "$T/policy.json" --state "$T/kl.state"
	echo "$output"
	echo "$output" | jq -e '.events == [] and .next == 66 and .lines == 55'
	# from boot, after the rotations: 'iotgatectl log' prints the same list
	"$CTL" log --dir "$S" >"$T/list"
	cat $(boot_files) | cmp - "$T/list"
	run attest --policy "$T/policy.json"
	echo "$output"
	echo "$output" | jq -e '.events == [] and .lines == 66'
	[ "$(echo "$output" | jq -r .running)" = "$(jget .measurement_log.aggregate)" ]
	# a rewritten line is caught by keylime too
	sed -i '3s/sha256:\(.\)/sha256:X\1/; 3s/sha256:X0/sha256:1/; 3s/sha256:X./sha256:0/' "$S/measurements.2"
	run attest --policy "$T/policy.json"
	echo "$output"
	echo "$output" | jq -e '.events | index("ima_hash") and index("pcr_mismatch")'
}

@test "the runtime policy from 'manifest keylime-policy' passes every listed file and fails the unlisted one" {
	ig_start --log-max-bytes 4096
	run_names 0 30
	"$CTL" manifest keylime-policy "$T/manifest.sha256" >"$T/policy.json"
	jq -e '.ima.log_hash_alg == "sha256" and .digests.boot_aggregate == ["'"$(printf '0%.0s' $(seq 64))"'"]' "$T/policy.json"
	run attest --policy "$T/policy.json"
	echo "$output"
	echo "$output" | jq -e '.events == [] and .lines == 32'
	# names as the log records them: ' ' and newline as '_', the rest raw
	jq -e --arg b "$T/bin/back\\slash" --arg n "$T/bin/new_line" --arg s "$T/bin/sp_ace" \
		--arg q "$T/bin/quote\"d" --arg k "$T/bin/brack]et" \
		'.digests | has($b) and has($n) and has($s) and has($q) and has($k)' "$T/policy.json"
	# a policy whose manifest lacks one file fails exactly that file
	grep -v ' .*/bin/p7$' "$T/manifest.sha256" >"$T/less.sha256"
	"$CTL" manifest keylime-policy "$T/less.sha256" >"$T/less.json"
	run attest --policy "$T/less.json"
	echo "$output"
	echo "$output" | jq -e --arg p "$T/bin/p7" '.events == ["not_in_allowlist"] and
		([.details[] | select(.[0] == "not_in_allowlist") | .[1] | fromjson | .message] ==
		 ["File not found in allowlist: \($p)"])'
	# and one whose digest for a file differs fails that file's hash
	sed "s|^[0-9a-f]*\(  .*/bin/p8\)\$|$(printf '1%.0s' $(seq 64))\1|" "$T/manifest.sha256" >"$T/bad.sha256"
	"$CTL" manifest keylime-policy "$T/bad.sha256" >"$T/bad.json"
	run attest --policy "$T/bad.json"
	echo "$output"
	echo "$output" | jq -e '.events == ["runtime_policy_hash"]'
}

@test "manifest keylime-policy: Keylime's schema, --boot-aggregate, errors" {
	"$CTL" manifest keylime-policy "$T/manifest.sha256" --boot-aggregate "$(printf 'ab%.0s' $(seq 32))" >"$T/p.json"
	jq -e '.digests.boot_aggregate == ["'"$(printf 'ab%.0s' $(seq 32))"'"] and (.digests | length) == 66 and
		.meta.version == 1' "$T/p.json"
	run "$CTL" manifest keylime-policy "$T/manifest.sha256" --boot-aggregate xyz
	[ "$status" -eq 1 ]
	[ "$output" = "iotgatectl: manifest keylime-policy: --boot-aggregate needs 64 lowercase hex digits" ]
	run "$CTL" manifest keylime-policy
	[ "$status" -eq 1 ]
	[ "$output" = "iotgatectl: manifest keylime-policy: expected a MANIFEST" ]
	printf 'nothex  /x\n' >"$T/broken.sha256"
	run "$CTL" manifest keylime-policy "$T/broken.sha256"
	[ "$status" -eq 1 ]
	[[ $output == "iotgatectl: $T/broken.sha256:1:"* ]]
}
