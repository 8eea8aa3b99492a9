#!/usr/bin/env bats
# SPDX-License-Identifier: GPL-2.0-only
# The measurement log kept by the daemon (partial tier: the exec tracepoint
# reports first uses): IMA ima-ng entries, a verifiable aggregate, no
# duplicates across restarts, tampering detected, a full disk survived.

load ../lib/common

setup_file() {
	"$TOP/scripts/host-setup"
}

setup() {
	ig_cleanup
	T=$(mktemp -d)
	S=$T/state
	cp /usr/bin/true "$T/allowed"
	cp /usr/bin/true "$T/unknown"
	echo u >>"$T/unknown"
	ig_manifest_exact "$T/allowed" "$CTL"
}

teardown() {
	ig_cleanup
	mountpoint -q "$S" && umount "$S"
	rm -rf "$T"
}

start() {
	ig_start --state-dir "$S" "$@"
}

@test "first use of a manifest file is logged once, in ima-ng format, and verifies" {
	ig_policy enforce
	start
	"$T/allowed"
	"$T/allowed"
	"$T/allowed"
	# the partial tier logs after the fact: the daemon writes the record
	# once it has the exec's event (CI's run lost that race once)
	ig_wait_file "$S/measurements" " $T/allowed\$"
	run "$CTL" log --file "$S/measurements"
	[ "$status" -eq 0 ]
	[[ ${lines[0]} =~ ^10\ [0-9a-f]{64}\ ima-ng\ sha256:0{64}\ boot_aggregate$ ]]
	digest=$(sha256sum "$T/allowed" | cut -d' ' -f1)
	[ "$(grep -c " ima-ng sha256:$digest $T/allowed\$" "$S/measurements")" -eq 1 ]
	run "$CTL" log verify --file "$S/measurements"
	[ "$status" -eq 0 ]
	agg=$(jget .measurement_log.aggregate)
	[[ $output == "ok: "*" entries, aggregate $agg" ]]
	jget . | jq -e '.measurement_log.entries >= 2 and .health == "degraded"'
}

@test "audit mode: a file outside the manifest is hashed by the daemon and marked unknown" {
	ig_policy audit
	start
	"$T/unknown"
	digest=$(sha256sum "$T/unknown" | cut -d' ' -f1)
	for _ in $(seq 50); do grep -q "$digest" "$S/measurements" && break; sleep 0.1; done
	run "$CTL" --json log --file "$S/measurements"
	[ "$status" -eq 0 ]
	echo "$output" | jq -e --arg d "$digest" --arg p "$T/unknown" '[.[] | select(.digest == "sha256:\($d)" and .path == $p and .unknown == true)] | length == 1'
	"$CTL" log verify --file "$S/measurements"
}

@test "a restart neither loses nor duplicates entries" {
	ig_policy enforce
	start
	"$T/allowed"
	for _ in $(seq 50); do grep -q "$T/allowed" "$S/measurements" && break; sleep 0.1; done
	before=$(wc -l <"$S/measurements")
	kill -KILL "$DPID"
	wait "$DPID" 2>/dev/null || true
	"$T/allowed" # runs while no daemon reads the ring buffer
	start
	"$T/allowed"
	"$CTL" status >/dev/null
	[ "$(grep -c boot_aggregate "$S/measurements")" -eq 1 ]
	[ "$(grep -c " $T/allowed\$" "$S/measurements")" -eq 1 ]
	[ "$(wc -l <"$S/measurements")" -ge "$before" ]
	"$CTL" log verify --file "$S/measurements"
}

@test "a tampered log is named by log verify, moved aside by the daemon and reported" {
	ig_policy enforce
	start
	"$T/allowed"
	for _ in $(seq 50); do grep -q "$T/allowed" "$S/measurements" && break; sleep 0.1; done
	"$CTL" stop-enforcing >/dev/null
	wait "$DPID" 2>/dev/null || true
	# change the first digit of entry 2's digest, whatever it is
	sed -i '2s/sha256:0/sha256:1/;t;2s/sha256:./sha256:0/' "$S/measurements"
	run "$CTL" log verify --file "$S/measurements"
	[ "$status" -eq 1 ]
	[[ $output == "$S/measurements:2: "* ]]
	start
	jget . | jq -e '[.reasons[].code] | index("log_tampered") != null'
	jget . | jq -e '.measurement_log.quarantined | test("measurements.bad")'
	"$CTL" log verify --file "$S/measurements"
}

@test "a full disk: degraded (log write failure), enforcement goes on, entries kept and written later" {
	cp /usr/bin/true "$T/allowed2"
	ig_manifest_exact "$T/allowed" "$T/allowed2" "$CTL"
	mkdir -p "$S"
	mount -t tmpfs -o size=64k tmpfs "$S"
	head -c 1M /dev/zero >"$S/fill" 2>/dev/null || true
	ig_policy enforce
	start
	"$T/allowed"
	for _ in $(seq 50); do [ "$(jget .measurement_log.pending)" -ge 1 ] && break; sleep 0.1; done
	jget . | jq -e '.measurement_log.pending >= 1'
	jget . | jq -e '[.reasons[].code] | index("log_write_failure") != null'
	grep -q "cannot open the measurement log in $S: No space left on device" "$T/daemon.log"
	"$T/allowed" # still counted: the log never stops the programs
	[ "$(jget .counters.exec.allowed)" -ge 2 ]
	rm -f "$S/fill"
	"$T/allowed2" # the next first use writes what was kept
	for _ in $(seq 50); do [ "$(jget .measurement_log.pending)" -eq 0 ] && break; sleep 0.1; done
	jget . | jq -e '.measurement_log.pending == 0 and .measurement_log.dropped == 0'
	grep -q " $T/allowed\$" "$S/measurements"
	grep -q " $T/allowed2\$" "$S/measurements"
	"$CTL" log verify --file "$S/measurements"
	kill -0 "$DPID"
}
