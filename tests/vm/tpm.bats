#!/usr/bin/env bats
# SPDX-License-Identifier: GPL-2.0-only
# TPM-anchored measurement log (issue #17), in a VM with a software TPM
# (scripts/vm-run with VM_TPM=1: swtpm as tpm-tis). scripts/run-tests runs
# this suite twice: with ima_template=ima-ng, so that the kernel's IMA
# boot_aggregate record is the one iotgate writes and both share PCR 10, and
# with Debian's default template (ima-sig), where iotgate takes PCR 11.
# Keylime's own
# process_measurement_list (the oracle snapshot, tests/lib/keylime_attest.py)
# replays the log from boot to the PCR value tpm2_pcrread reads, before and
# after several rotations; boot_aggregate is recomputed here from
# tpm2_pcrread sha256:0-9; a rewritten entry no longer replays to the PCR;
# an extension that fails is reported and catches up, execs go on.

load ../lib/common

ORACLES=${IOTGATE_ORACLES:-$TOP/../shared/oracles}
export TPM2TOOLS_TCTI=device:/dev/tpmrm0

setup_file() {
	# One boot, one PCR, one log: every test continues the same state.
	export SHARED=$BATS_FILE_TMPDIR/state
	mkdir -p "$SHARED"
}

setup() {
	if [[ ! -e /dev/tpmrm0 ]]; then
		skip "no TPM in this VM: the suite runs in its own VM with VM_TPM=1 (scripts/run-tests)"
	fi
	ig_cleanup
	T=$(mktemp -d)
	S=$T/state
	[[ -r $ORACLES/keylime.tar.xz ]] || {
		echo "no $ORACLES/keylime.tar.xz (set IOTGATE_ORACLES)" >&2
		return 1
	}
	mkdir "$T/kl" "$T/bin"
	ln -s "$SHARED" "$S"
	# Kernel IMA's boot_aggregate record: iotgate shares PCR 10 with it when
	# it is iotgate's own (ima-ng, sha256), else takes PCR 11 (tpm.h).
	WANT_PCR=11
	head -n 1 /sys/kernel/security/ima/ascii_runtime_measurements | grep -q ' ima-ng sha256:' &&
		WANT_PCR=10
	# scripts/run-tests boots the suite twice and says which path each boot
	# is for (IOTGATE_TPM_EXPECT_PCR): a changed kernel default cannot make both
	# runs test the same one
	if [[ -n ${IOTGATE_TPM_EXPECT_PCR:-} && $WANT_PCR != "$IOTGATE_TPM_EXPECT_PCR" ]]; then
		echo "the kernel's first IMA record: $(head -n 1 /sys/kernel/security/ima/ascii_runtime_measurements | cut -d' ' -f3-4)" \
			"gives PCR $WANT_PCR, this run is for PCR $IOTGATE_TPM_EXPECT_PCR" >&2
		return 1
	fi
	tar -xJf "$ORACLES/keylime.tar.xz" -C "$T/kl"
	KL=$(dirname "$(find "$T/kl" -name agentstates.py -path '*/keylime/*' | head -1)")
	KL=${KL%/keylime}
	for i in $(seq 1 40); do
		cp /usr/bin/true "$T/bin/p$i"
		printf '%d %s' "$i" "$BATS_TEST_NUMBER" >>"$T/bin/p$i" # a digest of its own
	done
	ig_manifest_exact "$T"/bin/p*
	# audit: the VM enforces (full tier), and bats, jq and python3 are not listed
	ig_policy audit
}

teardown() {
	ig_cleanup
	rm -rf "$T"
}

# pcr N: the SHA-256 bank's PCR N, as tpm2-tools reads it
pcr() {
	tpm2_pcrread -Q "sha256:$1" -o "$T/pcr.bin"
	od -An -v -tx1 "$T/pcr.bin" | tr -d ' \n'
}

# the files of this boot, oldest first (what 'iotgatectl log' prints)
boot_files() {
	local i
	for i in 4 3 2 1; do
		[[ -e $S/measurements.$i ]] && echo "$S/measurements.$i"
	done
	echo "$S/measurements"
}

# attest ARGS...: Keylime's verdict (JSON) on the log from boot against the
# PCR read from the TPM first (the log is written before it is extended, so
# the value read is reached at some entry of the files read after it, as
# Keylime accepts of a live IMA list)
attest() {
	local v
	v=$(pcr "$WANT_PCR")
	local files=("$@")
	((${#files[@]})) || mapfile -t files < <(boot_files)
	# the policy says sha256 template hashes (Keylime assumes SHA-1 without)
	"$CTL" manifest keylime-policy "$T/manifest.sha256" \
		--boot-aggregate "$BA" >"$T/policy.json"
	PYTHONPATH=$KL /usr/bin/python3 "$TOP/tests/lib/keylime_attest.py" --policy "$T/policy.json" \
		"$v" "${files[@]}" 2>"$T/kl.err"
}

# quiet: stops the daemon (enforcement with it) so that nothing is logged
# while Keylime reads: a live list may rotate under a reader that lists the
# files first
quiet() {
	"$CTL" stop-enforcing >/dev/null
	for _ in $(seq 100); do
		[ -z "$(ig_daemon_pids)" ] && return 0
		ig_nap 0.1
	done
	return 1
}

# attested: Keylime found nothing wrong but the unlisted programs that ran
# (audit mode: bats, jq, python3 are logged too and are not in the policy)
attested() {
	echo "$output" | cut -c1-2000
	echo "$output" | jq -e '(.events - ["not_in_allowlist"]) == []'
}

# run_bins FROM TO: runs p FROM..TO and waits until all are logged and extended
run_bins() {
	local i
	for i in $(seq "$1" "$2"); do "$T/bin/p$i"; done
	for _ in $(seq 300); do
		if cat $(boot_files) | grep -q " $T/bin/p$2\$" &&
			[ "$(jget .measurement_log.unextended)" = 0 ]; then
			return 0
		fi
		ig_nap 0.1
	done
	jget .measurement_log >&2
	return 1
}

@test "tpm: the log from boot replays to the PCR (Keylime), across rotations; boot_aggregate is PCRs 0-9" {
	ig_start --log-max-bytes 4096
	run "$CTL" status
	echo "$output"
	[[ $output == *"attestation: tpm, PCR $WANT_PCR"* ]]
	jget .measurement_log | tee /dev/stderr |
		jq -e --argjson p "$WANT_PCR" '.attestation == "tpm" and .pcr == $p and .extend_errors == 0'
	jget .reasons | jq -e 'map(select(.code == "tpm_extend_failure")) == []'
	# boot_aggregate, computed here from the PCRs: SHA-256(PCR0 || ... || PCR9)
	tpm2_pcrread -Q sha256:0,1,2,3,4,5,6,7,8,9 -o "$T/pcrs.bin"
	[ "$(stat -c %s "$T/pcrs.bin")" -eq 320 ]
	ba=$(sha256sum <"$T/pcrs.bin" | cut -c1-64)
	[ "$ba" != "$(printf '0%.0s' $(seq 64))" ]
	[ "$(jget .measurement_log.boot_aggregate)" = "$ba" ]
	BA=$ba
	head -n 1 "$(boot_files | head -n 1)" | grep -qx "10 [0-9a-f]\{64\} ima-ng sha256:$ba boot_aggregate"
	# sharing PCR 10: the kernel's IMA wrote the very same first record
	if ((WANT_PCR == 10)); then
		head -n 1 /sys/kernel/security/ima/ascii_runtime_measurements |
			grep -q " ima-ng sha256:$ba boot_aggregate\$"
	fi
	run_bins 1 5
	quiet
	"$CTL" log verify --dir "$S"
	run attest
	attested
	# a restart within the boot keeps the PCR and continues it
	ig_start --log-max-bytes 4096
	jget .measurement_log | jq -e --argjson p "$WANT_PCR" '.pcr == $p and .unextended == 0'
	# several rotations, the file that began the boot still kept
	run_bins 6 40
	[ -e "$S/measurements.2" ]
	[ "$(jget .measurement_log.first_entry)" -gt 0 ]
	agg=$(jget .measurement_log.aggregate)
	quiet
	run attest
	attested
	# the PCR is exactly Keylime's running value and the daemon's aggregate
	[ "$(pcr "$WANT_PCR")" = "$(echo "$output" | jq -r .running)" ]
	[ "$(pcr "$WANT_PCR")" = "$agg" ]
	# root rewrites an entry and recomputes its template hash (so the line
	# itself verifies; on a copy: the next test continues this log): the
	# replay no longer reaches the TPM's value
	mkdir "$T/copy"
	cp $(boot_files) "$T/copy/"
	copies=()
	for f in $(boot_files); do copies+=("$T/copy/${f##*/}"); done
	file=$(grep -l " $T/bin/p3\$" "${copies[@]}" | head -n 1)
	[ -n "$file" ]
	evil=$(sha256sum /bin/sh | cut -c1-64)
	python3 - "$file" "$T/bin/p3" "$evil" <<-'PY'
		import hashlib, struct, sys
		path, name, digest = sys.argv[1], sys.argv[2], bytes.fromhex(sys.argv[3])
		d = b"sha256:\0" + digest
		n = name.encode() + b"\0"
		th = hashlib.sha256(struct.pack("<I", len(d)) + d + struct.pack("<I", len(n)) + n).hexdigest()
		new = f"10 {th} ima-ng sha256:{digest.hex()} {name}"
		lines = [new if l.endswith(" " + name) else l for l in open(path).read().split("\n")]
		open(path, "w").write("\n".join(lines))
	PY
	run attest "${copies[@]}"
	echo "$output" | cut -c1-2000
	echo "$output" | jq -e '.events | index("pcr_mismatch")'
	echo "$output" | jq -e '.events | index("ima_hash") | not'
	# the unchanged log still replays
	run attest
	attested
}

@test "tpm: a failed extension is reported, execs go on, and the PCR catches up" {
	ig_start
	# a restart within the boot continues the log and the PCR
	jget .measurement_log | jq -e '.extend_errors == 0 and .unextended == 0'
	jget .reasons | jq -e 'map(select(.code == "tpm_extend_failure")) == []'
	BA=$(jget .measurement_log.boot_aggregate)
	run_bins 1 2
	# the TPM device goes away under the daemon
	mount --bind /dev/null /dev/tpmrm0
	"$T/bin/p3"
	for _ in $(seq 300); do
		[ "$(jget .measurement_log.extend_errors)" -gt 0 ] && break
		ig_nap 0.1
	done
	run "$CTL" status --json
	echo "$output" | jq -e '.health == "degraded" and (.reasons | map(.code) | index("tpm_extend_failure"))'
	echo "$output" | jq -e '.measurement_log.unextended > 0'
	# execs still run
	"$T/bin/p4"
	umount /dev/tpmrm0
	# the next record extends the backlog first, in log order
	run_bins 5 5
	jget .reasons | jq -e 'map(select(.code == "tpm_extend_failure")) == []'
	agg=$(jget .measurement_log.aggregate)
	quiet
	[ "$(pcr "$WANT_PCR")" = "$agg" ]
	run attest
	attested
}
