#!/usr/bin/env bats
# SPDX-License-Identifier: GPL-2.0-only
# Events as a log server gets them: the real rsyslogd (as nobody, on a private
# socket, tests/lib/rsyslog.bash) parses iotgated's RFC 5424 messages and
# their structured data (mmpstrucdata), and tests/lib/sdcheck.py compares
# every field of every message with the events stream, in order. The kinds
# this kernel can produce: exec, interface, device, policy and health
# (mapping, write and self-protection need BPF LSM: tests/vm/syslog.bats).
# Names carry ", \, ] and newlines, and one tries to forge a field.

load ../lib/common
load ../lib/rsyslog

setup_file() {
	"$TOP/scripts/host-setup"
	modprobe veth 2>/dev/null || true
}

setup() {
	ig_cleanup
	command -v rsyslogd >/dev/null || skip "rsyslog is not installed (scripts/install-deps)"
	T=$(mktemp -d)
	chmod 755 "$T"
	NSA=igsl$$a$BATS_TEST_NUMBER
	NSB=igsl$$b$BATS_TEST_NUMBER
	ip netns add "$NSA"
	ip netns add "$NSB"
	ip link add vA netns "$NSA" type veth peer name vB netns "$NSB"
	ip link add vQ netns "$NSA" type veth peer name vQ2 netns "$NSB"
	# an interface name with the three characters PARAM-VALUE escapes
	QNAME='q"\]1'
	nsenter --net="/run/netns/$NSA" ip link set vQ name "$QNAME"
	nsenter --net="/run/netns/$NSA" ip addr add 10.81.0.1/24 dev vA
	nsenter --net="/run/netns/$NSA" ip addr add 10.82.0.1/24 dev "$QNAME"
	ip netns exec "$NSB" ip addr add 10.81.0.2/24 dev vB
	ip netns exec "$NSB" ip addr add 10.82.0.2/24 dev vQ2
	for l in lo vA "$QNAME"; do nsenter --net="/run/netns/$NSA" ip link set "$l" up; done
	for l in lo vB vQ2; do ip netns exec "$NSB" ip link set "$l" up; done
	cp "$B/tests/ignet" "$T/allowed"
	cp "$B/tests/ignet" "$T/denied"
	sha256sum "$T/allowed" "$T/denied" >"$T/manifest.sha256"
	mknod -m 666 "$T/full" c 1 7
	rs_start "$T/rs"
}

teardown() {
	[[ -n ${EPID:-} ]] && kill "$EPID" 2>/dev/null
	ig_cleanup
	rs_stop
	ip netns del "$NSA" 2>/dev/null || true
	ip netns del "$NSB" 2>/dev/null || true
	rm -rf "$T"
}

policy() {
	{
		printf 'version %s\nmode audit\nmanifest manifest.sha256\n' "$1"
		printf '%s\n' "interface-default deny" "interface vA default deny" \
			"allow program $T/allowed on vA" "allow program $T/allowed device char 1:7"
	} >"$T/iotgate.conf"
	ig_sign "$T/iotgate.conf"
}

@test "every event kind reaches rsyslog as RFC 5424 with structured data equal to the events stream, whatever the names" {
	policy 1
	ig_sign "$T/manifest.sha256"
	nsenter --net="/run/netns/$NSA" "$IOTGATED" --policy "$T/iotgate.conf" --keys-dir "$T/keys" \
		--state-dir "$T/state" --syslog-socket "$T/rs/log.sock" >"$T/daemon.log" 2>&1 &
	DPID=$!
	for _ in $(seq 300); do "$CTL" status >/dev/null 2>&1 && break; sleep 0.1; done
	"$CTL" --json events >"$T/events.jsonl" &
	EPID=$!
	for _ in $(seq 50); do [ "$(jget .subscribers)" -ge 1 ] && break; sleep 0.1; done

	# exec outside the manifest, under a name that tries to end the value, the
	# element and the message, and to forge a verdict
	mkdir "$T/d"
	evil=$'ev"il\\x]y\nz" verdict="allowed'
	cp /usr/bin/true "$T/d/$evil"
	"$T/d/$evil"
	# interface: a drop on vA, one on the undeclared q"\]1 (interface-default deny)
	[ "$(nsenter --net="/run/netns/$NSA" "$T/denied" udp 10.81.0.2 7001)" = EPERM ]
	[ "$(nsenter --net="/run/netns/$NSA" "$T/denied" udp 10.82.0.2 7001)" = EPERM ]
	# device
	[ "$(nsenter --net="/run/netns/$NSA" "$T/denied" open "$T/full" r)" = EPERM ]
	# policy change
	policy 2
	"$CTL" policy apply "$T/iotgate.conf"
	# health: a link detached as the daemon never would
	id=$(jget '.hooks.links[] | select(.hook == "ig_skb_egress") | .id')
	[[ $id =~ ^[0-9]+$ ]]
	bpftool link detach id "$id"
	for _ in $(seq 50); do [ "$(jget .health)" = compromised ] && break; sleep 0.1; done
	[ "$(jget .health)" = compromised ]

	for _ in $(seq 100); do grep -q '"health"' "$T/events.jsonl" && break; sleep 0.1; done
	kill "$EPID"
	EPID=
	run python3 "$TOP/tests/lib/sdcheck.py" "$T/rs/out.json" "$T/events.jsonl" "$(hostname)" "$DPID"
	echo "$output"
	[ "$status" -eq 0 ]
	for k in exec net device policy health; do
		grep -qE "^$k [1-9]" <<<"$output" || { echo "no $k message"; false; }
	done
	# the names as the events carry them (raw) and as the parser gives them back
	jq -e -s --arg p "$T/d/$evil" 'any(.[]; .type == "exec" and .path == $p and .verdict == "audit")' "$T/events.jsonl"
	jq -e -s --arg q "$QNAME" 'any(.[]; .type == "net" and .interface == $q)' "$T/events.jsonl"
	python3 - "$T/rs/out.json" "$T/d/$evil" <<'EOF'
import json, sys
want = sys.argv[2].replace("\\", "\\\\").replace("\n", "\\x0a")
for l in open(sys.argv[1]):
    r = json.loads(l)
    sd = json.loads(r["sd"]).get("iotgate@32473", {})
    if r["msgid"] == "exec" and sd.get("path") == want:
        assert sd["verdict"] == "audit", sd
        assert r["pri"] == "85", r  # authpriv.notice: audited, not refused
        assert "\n" not in r["msg"], r
        sys.exit(0)
sys.exit("the exec of the evil name is not in syslog as %r" % want)
EOF
	# a refusal and a compromised health are authpriv.warning (10 * 8 + 4)
	jq -e -s 'map(select(.msgid == "device" or .msgid == "health")) | length >= 2 and all(.pri == "84")' "$T/rs/out.json"
}

@test "no syslog listening: the daemon goes on refusing and answering" {
	policy 1
	ig_sign "$T/manifest.sha256"
	rs_stop
	rm -f "$T/rs/log.sock"
	nsenter --net="/run/netns/$NSA" "$IOTGATED" --policy "$T/iotgate.conf" --keys-dir "$T/keys" \
		--state-dir "$T/state" --syslog-socket "$T/rs/log.sock" >"$T/daemon.log" 2>&1 &
	DPID=$!
	for _ in $(seq 300); do "$CTL" status >/dev/null 2>&1 && break; sleep 0.1; done
	[ "$(nsenter --net="/run/netns/$NSA" "$T/denied" open "$T/full" r)" = EPERM ]
	"$CTL" status >/dev/null
	kill -0 "$DPID"
}

@test "README's rsyslog configuration is valid for this rsyslogd and parses as the suite's" {
	awk '/10-iotgate.conf/ { f = 1 } f && /^```$/ { if (++c == 2) exit; next } f && c == 1' \
		"$TOP/README.md" >"$T/10-iotgate.conf"
	grep -q 'UseSpecialParser="off"' "$T/10-iotgate.conf"
	grep -q 'IgnoreTimestamp="off"' "$T/10-iotgate.conf"
	grep -q 'action(type="mmpstrucdata")' "$T/10-iotgate.conf"
	# the suite's input parses with the same settings
	grep -q 'UseSpecialParser="off" IgnoreTimestamp="off"' "$TOP/tests/lib/rsyslog.bash"
	{
		echo 'module(load="imuxsock" SysSock.Use="off")'
		sed "s|/run/iotgate-syslog.sock|$T/x.sock|" "$T/10-iotgate.conf"
	} >"$T/check.conf"
	run rsyslogd -N1 -f "$T/check.conf"
	echo "$output"
	[ "$status" -eq 0 ]
	[[ $output != *error* ]]
	# and the daemon's option it names exists
	"$IOTGATED" --help | grep -q -- '--syslog-socket PATH'
}
