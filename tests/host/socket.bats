#!/usr/bin/env bats
# SPDX-License-Identifier: GPL-2.0-only
# The control socket under bad input and load, events, syslog, metrics.

load ../lib/common

setup_file() {
	"$TOP/scripts/host-setup"
}

setup() {
	ig_cleanup
	T=$(mktemp -d)
	cp /usr/bin/true "$T/allowed"
	ig_manifest_exact "$T/allowed" "$CTL"
	ig_policy audit
	ig_start
	LOAD="$TOP/tests/helpers/sockload.py"
}

teardown() {
	ig_cleanup
	[[ -n ${LOGGER:-} ]] && kill "$LOGGER" 2>/dev/null
	[[ -n ${MADE_DEVLOG:-} ]] && rm -f /dev/log
	rm -rf "$T"
}

@test "socket is 0660 and owned by group iotgate when it exists" {
	[ "$(stat -c %a "$SOCK")" = 660 ]
}

@test "requests over 64 KiB are refused and the peer dropped" {
	run python3 "$LOAD" "$SOCK" big
	echo "$output"
	[ "$status" -eq 0 ]
}

@test "malformed JSON and unknown commands get an error object" {
	run python3 "$LOAD" "$SOCK" malformed
	echo "$output"
	[ "$status" -eq 0 ]
	run python3 "$LOAD" "$SOCK" unknown
	echo "$output"
	[ "$status" -eq 0 ]
}

@test "half-sent lines, clients that never read and peers that leave do not stall the daemon" {
	for m in half noread disconnect; do
		run python3 "$LOAD" "$SOCK" "$m"
		echo "$output"
		[ "$status" -eq 0 ]
	done
	kill -0 "$DPID"
}

@test "200 clients at once are all served" {
	run python3 "$LOAD" "$SOCK" many 200
	echo "$output"
	[ "$status" -eq 0 ]
}

@test "events stream violations and policy changes; a stuck subscriber is dropped and counted" {
	"$CTL" --json events >"$T/events" &
	EV=$!
	sleep 0.5
	cp /usr/bin/true "$T/stranger"
	echo s >>"$T/stranger"
	"$T/stranger"
	kill -HUP "$DPID"
	for _ in $(seq 50); do grep -q '"event":"policy"' "$T/events" && break; sleep 0.1; done
	kill "$EV"
	jq -s -e --arg p "$T/stranger" '[.[] | select(.event == "violation" and .path == $p and .verdict == "audit")] | length >= 1' "$T/events"
	jq -s -e '[.[] | select(.event == "policy" and .op == "reload" and .by == "SIGHUP")] | length == 1' "$T/events"
	# a subscriber that never reads while events flood in
	python3 "$LOAD" "$SOCK" slowsub 120 >"$T/slow" &
	SLOW=$!
	for _ in $(seq 50); do grep -q subscribed "$T/slow" && break; sleep 0.1; done
	# flood until the daemon gives up on it (bounded)
	for _ in $(seq 20); do
		for _ in $(seq 200); do "$T/stranger"; done
		[ "$(jget .subscribers_dropped)" -ge 1 ] && break
	done
	kill "$SLOW"
	[ "$(jget .subscribers_dropped)" -ge 1 ] # and the daemon still answers everyone else
	grep -q "dropped subscriber uid 0" "$T/daemon.log"
}

@test "violations go to syslog (authpriv) as one structured line" {
	if [[ ! -e /dev/log ]]; then
		python3 -c '
import socket, sys
s = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM)
s.bind("/dev/log")
print("ready", flush=True)
with open(sys.argv[1], "ab") as f:
    while True:
        f.write(s.recv(65536) + b"\n"); f.flush()
' "$T/syslog" >"$T/logger.out" &
		LOGGER=$!
		MADE_DEVLOG=1
		for _ in $(seq 50); do grep -q ready "$T/logger.out" && break; sleep 0.1; done
	else
		skip "a system logger owns /dev/log here; its files are not ours to read"
	fi
	cp /usr/bin/true "$T/stranger"
	echo s >>"$T/stranger"
	"$T/stranger"
	for _ in $(seq 50); do grep -q "$T/stranger" "$T/syslog" 2>/dev/null && break; sleep 0.1; done
	# RFC 5424: <PRI> facility authpriv (10) * 8 + notice (5) = 85, version 1,
	# MSGID the type, structured data (32473: the documentation enterprise number)
	grep -E "^<85>1 [0-9T:.-]+Z [^ ]+ iotgated [0-9]+ exec \[iotgate@32473 [^]]*type=\"exec\" verdict=\"audit\" reason=\"not_in_manifest\" path=\"$T/stranger\" comm=\"stranger\" pid=\"[0-9]+\" uid=\"0\"[^]]*\] iotgate exec audit: $T/stranger$" "$T/syslog"
}

@test "metrics: Prometheus text exposition of the state" {
	"$T/allowed"
	run "$CTL" metrics
	[ "$status" -eq 0 ]
	echo "$output"
	[[ $output == *'# TYPE iotgate_decisions_total counter'* ]]
	echo "$output" | grep -qE '^iotgate_decisions_total\{capability="exec",verdict="allowed"\} [1-9][0-9]*$'
	echo "$output" | grep -qE '^iotgate_healthy\{tier="partial",mode="audit"\} 0$'
	echo "$output" | grep -qE '^iotgate_degraded\{reason="partial_tier"\} 1$'
	echo "$output" | grep -qE '^iotgate_policy_version 1$'
	echo "$output" | grep -qE '^iotgate_up 1$'
	# every sample line is NAME{LABELS} VALUE or NAME VALUE (integers, but the collection
	# time); every metric has HELP and TYPE
	! echo "$output" | grep -vE '^(# (HELP|TYPE) [a-z_]+ .+|[a-z_]+(\{[a-z_]+="[^"]*"(,[a-z_]+="[^"]*")*\})? [0-9]+|iotgate_collected_timestamp_seconds [0-9]+\.[0-9]{3})$'
}
