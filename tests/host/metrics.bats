#!/usr/bin/env bats
# SPDX-License-Identifier: GPL-2.0-only
# Metrics as Prometheus gets them: 'iotgatectl metrics --textfile' (what
# iotgate-metrics.timer runs) writes node_exporter's textfile, the real
# prometheus-node-exporter (as nobody, on loopback, a free port, killed at
# the end) serves it, and the values are read back from its /metrics.
# The daemon governs namespace A: vA <-> vB (B, an echo server), and a
# second pair whose A end is named q"\1 (a label value that needs escaping).

load ../lib/common

setup_file() {
	"$TOP/scripts/host-setup"
	modprobe veth 2>/dev/null || true
}

setup() {
	ig_cleanup
	command -v prometheus-node-exporter >/dev/null ||
		skip "prometheus-node-exporter is not installed (scripts/install-deps)"
	T=$(mktemp -d)
	chmod 755 "$T"
	mkdir -m 755 "$T/tf"
	NSA=igmet$$a$BATS_TEST_NUMBER
	NSB=igmet$$b$BATS_TEST_NUMBER
	ip netns add "$NSA"
	ip netns add "$NSB"
	ip link add vA netns "$NSA" type veth peer name vB netns "$NSB"
	ip link add vQ netns "$NSA" type veth peer name vQ2 netns "$NSB"
	inA ip link set vQ name 'q"\1'
	inA ip addr add 10.79.0.1/24 dev vA
	inA ip addr add 10.80.0.1/24 dev 'q"\1'
	inB ip addr add 10.79.0.2/24 dev vB
	inB ip addr add 10.80.0.2/24 dev vQ2
	for l in lo vA 'q"\1'; do inA ip link set "$l" up; done
	for l in lo vB vQ2; do inB ip link set "$l" up; done
	cp "$B/tests/ignet" "$T/allowed"
	cp "$B/tests/ignet" "$T/denied"
	sha256sum "$T/allowed" "$T/denied" >"$T/manifest.sha256"
	mknod -m 666 "$T/full" c 1 7
	ip netns exec "$NSB" "$B/tests/ignet" serve udp 7001 >/dev/null 2>&1 &
	SRV=$!
	NE=""
}

teardown() {
	[[ -n ${DPID:-} ]] && kill -CONT "$DPID" 2>/dev/null
	[[ -n ${NE:-} ]] && kill "$NE" 2>/dev/null
	ig_cleanup
	kill "$SRV" 2>/dev/null || true
	ip netns del "$NSA" 2>/dev/null || true
	ip netns del "$NSB" 2>/dev/null || true
	rm -rf "$T"
}

inA() {
	nsenter --net="/run/netns/$NSA" "$@"
}

inB() {
	ip netns exec "$NSB" "$@"
}

start_daemon() {
	{
		printf 'version 1\nmode audit\nmanifest manifest.sha256\n'
		printf '%s\n' "interface vA default deny" "allow program $T/allowed on vA" \
			"allow program $T/allowed device char 1:7"
	} >"$T/iotgate.conf"
	ig_sign "$T/iotgate.conf"
	ig_sign "$T/manifest.sha256"
	nsenter --net="/run/netns/$NSA" "$IOTGATED" --policy "$T/iotgate.conf" --keys-dir "$T/keys" \
		--state-dir "$T/state" >"$T/daemon.log" 2>&1 &
	DPID=$!
	for _ in $(seq 300); do
		"$CTL" status >/dev/null 2>&1 && return 0
		kill -0 "$DPID" 2>/dev/null || break
		sleep 0.1
	done
	cat "$T/daemon.log" >&2
	return 1
}

# Starts node_exporter (textfile collector only) on 127.0.0.1 and a free port.
start_node_exporter() {
	for _ in 1 2 3 4 5; do
		PORT=$(python3 -c 'import socket; s = socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])')
		timeout 300 setpriv --reuid=65534 --regid=65534 --clear-groups \
			prometheus-node-exporter --collector.disable-defaults --collector.textfile \
			--collector.textfile.directory="$T/tf" --web.listen-address="127.0.0.1:$PORT" \
			>"$T/ne.log" 2>&1 &
		NE=$!
		for _ in $(seq 50); do
			curl -fsS --max-time 2 "http://127.0.0.1:$PORT/metrics" >/dev/null 2>&1 && return 0
			kill -0 "$NE" 2>/dev/null || break
			sleep 0.1
		done
		kill "$NE" 2>/dev/null
		NE=""
	done
	cat "$T/ne.log" >&2
	return 1
}

scrape() {
	curl -fsS --max-time 5 "http://127.0.0.1:$PORT/metrics" >"$T/scrape"
	# node_exporter parsed the file: an escaping error would make it drop it whole
	grep -qx 'node_textfile_scrape_error 0' "$T/scrape" || {
		cat "$T/ne.log" "$T/tf/iotgate.prom" >&2
		return 1
	}
}

# value SERIES: the value of one exact series in the last scrape (node_exporter prints floats)
value() {
	S=$1 awk 'index($0, ENVIRON["S"] " ") == 1 { print $NF; f = 1 } END { exit !f }' "$T/scrape"
}

@test "node_exporter serves iotgate_up, the collection time and decisions per interface and per device" {
	start_daemon
	start_node_exporter
	[ "$(inA "$T/allowed" udp 10.79.0.2 7001)" = ok ]
	[ "$(inA "$T/denied" udp 10.79.0.2 7001)" = EPERM ]
	[ "$(inA "$T/denied" udp 10.80.0.2 7001)" = ok ]
	[ "$(inA "$T/allowed" open "$T/full" r)" = ok ]
	[ "$(inA "$T/denied" open "$T/full" r)" = EPERM ]
	[ "$(inA "$T/denied" open /dev/full w)" = EPERM ]
	# opens answered by the device cache count in the device's slot too
	[ "$(inA "$T/allowed" open-count "$T/full" 5)" = "opened 5 refused 0" ]
	[ "$(inA "$T/denied" open-count "$T/full" 3)" = "opened 0 refused 3" ]

	before=$(date +%s)
	run "$CTL" metrics --textfile "$T/tf/iotgate.prom"
	echo "$output"
	[ "$status" -eq 0 ]
	[ -z "$output" ]
	# written whole, readable by node_exporter's user, no temporary file left
	[ "$(stat -c %a "$T/tf/iotgate.prom")" = 644 ]
	[ "$(ls "$T/tf")" = iotgate.prom ]
	scrape
	grep iotgate "$T/scrape"
	[ "$(value iotgate_up)" = 1 ]
	ts=$(value iotgate_collected_timestamp_seconds)
	awk -v t="$ts" -v b="$before" 'BEGIN { exit !(t >= b && t <= b + 60) }'
	[ "$(value 'iotgate_interface_decisions_total{interface="vA",verdict="allowed"}')" -ge 2 ]
	[ "$(value 'iotgate_interface_decisions_total{interface="vA",verdict="dropped"}')" -ge 1 ]
	[ "$(value 'iotgate_interface_decisions_total{interface="vA",verdict="audited"}')" = 0 ]
	# The undeclared interface (interface-default allow). Its name as every
	# iotgate output writes outside text (esc.h: IG_ESC_TEXT, here q"\\1, a
	# backslash doubled), escaped as a label value, read back by
	# node_exporter's parser and escaped again by its exposition.
	[ "$(value 'iotgate_interface_decisions_total{interface="q\"\\\\1",verdict="allowed"}')" -ge 2 ]
	[ "$(value 'iotgate_interface_decisions_total{interface="q\"\\\\1",verdict="dropped"}')" = 0 ]
	[ "$(value 'iotgate_device_decisions_total{device="/dev/full",verdict="allowed"}')" = 6 ]
	[ "$(value 'iotgate_device_decisions_total{device="/dev/full",verdict="denied"}')" = 5 ]
	[ "$(value 'iotgate_decisions_untracked')" = 0 ]
	# the same numbers as the state
	run "$CTL" status --json
	echo "$output" | jq -e '.net.counters.devices[] | select(.device == "/dev/full") | .allowed == 6 and .denied == 5 and .major == 1 and .minor == 7'
	echo "$output" | jq -e '[.net.counters.interfaces[].interface] | index("vA") != null and index("q\"\\1") != null'
	# the file passes promtool's checks where promtool is installed
	if command -v promtool >/dev/null; then promtool check metrics <"$T/tf/iotgate.prom"; fi

	# An interface that appears while the daemon runs is counted from its
	# first packet; one that takes the index of a deleted one starts from zero.
	for name in vR vS; do
		ip link add "$name" netns "$NSA" index 900 type veth peer name "${name}2" netns "$NSB"
		inA ip addr add 10.81.0.1/24 dev "$name"
		inB ip addr add 10.81.0.2/24 dev "${name}2"
		inA ip link set "$name" up
		inB ip link set "${name}2" up
		ip netns exec "$NSB" "$B/tests/ignet" serve udp 7002 >/dev/null 2>&1 &
		local srv=$!
		ok=0
		for _ in $(seq 50); do
			[ "$(inA "$T/denied" udp 10.81.0.2 7002)" = ok ] && { ok=1; break; }
			sleep 0.1
		done
		kill "$srv"
		[ "$ok" = 1 ]
		run "$CTL" status --json
		echo "$output" | jq -e --arg n "$name" '.net.counters.interfaces[] | select(.interface == $n) | .ifindex == 900 and .allowed >= 2 and .dropped == 0'
		[ "$name" = vS ] || first=$(echo "$output" | jq --arg n "$name" '.net.counters.interfaces[] | select(.interface == $n) | .allowed')
		inA ip link del "$name"
	done
	# vS's count is its own: vR's did not carry over to the index
	second=$(echo "$output" | jq '.net.counters.interfaces[] | select(.interface == "vS") | .allowed')
	[ "$second" -le "$first" ]
}

@test "the daemon down or frozen: iotgate_up 0, no stale values, the collection time moves on" {
	start_daemon
	start_node_exporter
	[ "$(inA "$T/denied" open "$T/full" r)" = EPERM ]
	"$CTL" metrics --textfile "$T/tf/iotgate.prom"
	scrape
	[ "$(value iotgate_up)" = 1 ]
	t1=$(value iotgate_collected_timestamp_seconds)

	# frozen: it accepts the connection but never answers
	kill -STOP "$DPID"
	run "$CTL" metrics --timeout 1 --textfile "$T/tf/iotgate.prom"
	echo "$output"
	[ "$status" -eq 1 ]
	[[ $output == *"did not answer"* ]]
	scrape
	[ "$(value iotgate_up)" = 0 ]
	! grep -q '^iotgate_device_decisions_total' "$T/scrape"
	kill -CONT "$DPID"

	# killed (enforcement stays pinned, nobody answers)
	kill -KILL "$DPID"
	wait "$DPID" 2>/dev/null || true
	sleep 1.1 # the collection time has millisecond resolution; make the step visible
	run "$CTL" metrics --textfile "$T/tf/iotgate.prom"
	echo "$output"
	[ "$status" -eq 1 ]
	[[ $output == *"not running"* ]]
	scrape
	grep iotgate "$T/scrape"
	[ "$(value iotgate_up)" = 0 ]
	t2=$(value iotgate_collected_timestamp_seconds)
	awk -v a="$t1" -v b="$t2" 'BEGIN { exit !(b > a) }'
	! grep -E '^iotgate_(healthy|decisions_total|interface_decisions_total|device_decisions_total|policy_version)' "$T/scrape"
	# node_exporter's own signal that the file is being refreshed
	grep -qE '^node_textfile_mtime_seconds\{file=".*iotgate\.prom"\} ' "$T/scrape"

	# stdout too: same content, status 1
	run "$CTL" metrics
	[ "$status" -eq 1 ]
	[[ $output == *"iotgate_up 0"* ]]
}

@test "the shipped units: the timer's service runs exactly this command; systemd-analyze verify is clean" {
	S=$T/root/usr/lib/systemd/system
	mkdir -p "$S" "$T/root/usr/sbin"
	sed -e 's|@SBINDIR@|/usr/sbin|g' "$TOP/scripts/iotgate-metrics.service.in" >"$S/iotgate-metrics.service"
	cp "$TOP/scripts/iotgate-metrics.timer" "$S/"
	grep -q "scripts/iotgate-metrics.service.in" "$TOP/Makefile"
	grep -q "scripts/iotgate-metrics.timer" "$TOP/Makefile"
	cp "$CTL" "$T/root/usr/sbin/iotgatectl"
	# the targets the default dependencies name, as this host has them
	cp /usr/lib/systemd/system/*.target "$S/" 2>/dev/null || true
	if command -v systemd-analyze >/dev/null; then
		run systemd-analyze verify --man=no --root="$T/root" "$S/iotgate-metrics.service" "$S/iotgate-metrics.timer"
		echo "$output"
		[ "$status" -eq 0 ]
		[ -z "$output" ]
	else
		echo "# no systemd-analyze: units not verified" >&3
	fi
	# the ExecStart line, with the environment the unit sets, against a running daemon
	dir=$(sed -n 's/^Environment=IOTGATE_TEXTFILE_DIR=//p' "$S/iotgate-metrics.service")
	[ "$dir" = /var/lib/prometheus/node-exporter ]
	grep -qx "ReadWritePaths=$dir" "$S/iotgate-metrics.service"
	cmd=$(sed -n 's/^ExecStart=//p' "$S/iotgate-metrics.service")
	cmd=${cmd//\/usr\/sbin\/iotgatectl/$CTL}
	cmd=${cmd//\$\{IOTGATE_TEXTFILE_DIR\}/$T/tf}
	start_daemon
	start_node_exporter
	# shellcheck disable=SC2086 # the unit's words
	$cmd
	scrape
	[ "$(value iotgate_up)" = 1 ]
}
