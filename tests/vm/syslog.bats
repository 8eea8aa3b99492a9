#!/usr/bin/env bats
# SPDX-License-Identifier: GPL-2.0-only
# Full tier (inside scripts/vm-run): the violation kinds only BPF LSM sees
# (mmap, mprotect, write, self-protection) reach the real rsyslogd as RFC
# 5424 with every field equal to the events stream (tests/lib/sdcheck.py,
# tests/host/syslog.bats for the others).

load ../lib/common
load ../lib/rsyslog

setup() {
	ig_cleanup
	T=$(mktemp -d)
	chmod 755 "$T"
	cp /usr/bin/true "$T/allowed"
	cp /usr/bin/true "$T/other"
	echo x >>"$T/other" # not in the manifest
	ig_manifest "$T/allowed" "$CTL" "$IOTGATED" "$EXECTOOL"
	rs_start "$T/rs"
}

teardown() {
	ig_cleanup
	rs_stop
	rm -rf "$T"
}

check_syslog() {
	run python3 "$TOP/tests/lib/sdcheck.py" "$T/rs/out.json" "$T/events.jsonl" "$(hostname)" "$1"
	echo "$output"
	[ "$status" -eq 0 ]
	shift
	for k in "$@"; do
		grep -qE "^$k [1-9]" <<<"$output" || { echo "no $k message"; false; }
	done
}

@test "audit: exec, mmap, mprotect and write violations in syslog as in events" {
	ig_policy audit
	ig_start --syslog-socket "$T/rs/log.sock"
	"$CTL" --json events >"$T/events.jsonl" &
	EP=$!
	for _ in $(seq 50); do [ "$(jget .subscribers)" -ge 1 ] && break; ig_nap 0.1; done
	"$T/other"
	"$EXECTOOL" mmap "$T/other"
	"$EXECTOOL" mprotect "$T/other"
	echo >>"$T/allowed" # an allowlisted file written: trust dropped
	for _ in $(seq 100); do grep -q '"type": *"write"' "$T/events.jsonl" && break; ig_nap 0.1; done
	kill "$EP"
	check_syslog "$DPID" exec mmap mprotect write
}

@test "enforce: self-protection refusals in syslog as in events" {
	ig_policy enforce
	cat >"$T/s.sh" <<-EOS
		"$CTL" --json events >"$T/events.jsonl" &
		EP=\$!
		# the refusals must come after the subscription, however slow the VM
		for ((i = 0; i < 300; i++)); do
			[[ \$("$CTL" --json status) =~ \"subscribers\":\ *[1-9] ]] && break
			ig_sleep 0.1
		done
		echo "subscribed=\$i"
		echo "dpid=\$DPID"
		run_rc kill "$EXECTOOL" kill \$DPID 15
		run_rc ptrace "$EXECTOOL" ptrace \$DPID
		run_rc other "$T/other"
		for ((i = 0; i < 100; i++)); do
			ev=\$(<"$T/events.jsonl")
			[[ \$ev =~ \"type\":\ *\"exec\" && \$ev =~ \"type\":\ *\"self ]] && break
			ig_sleep 0.1
		done
		kill \$EP
	EOS
	IG_DAEMON_ARGS="--syslog-socket $T/rs/log.sock" scenario "$T/s.sh"
	[[ $output == *"kill=1"* ]]
	[[ $output == *"other=126"* ]]
	dpid=$(sed -n 's/^dpid=//p' <<<"$output")
	check_syslog "$dpid" self exec
	# refusals are authpriv.warning
	jq -e -s 'map(select(.msgid == "self")) | length >= 1 and all(.pri == "84")' "$T/rs/out.json"
}
