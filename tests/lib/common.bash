# SPDX-License-Identifier: GPL-2.0-only
# Shared by the host and VM bats suites: build paths, a daemon under test,
# and clean-up that leaves no daemon or pin behind.

TOP=$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)
B=$TOP/build
IOTGATED=$B/iotgated
CTL=$B/iotgatectl
PIN_DIR=/sys/fs/bpf/iotgate
SOCK=/run/iotgate/iotgate.sock

# Suites that are not about the kill tier pin the partial tier where BPF LSM
# is refused (this machine's kernel): enforcing in the kill tier kills every
# exec outside the test's manifest on the whole machine, bats included
# (tests/host/kill.bats does that, with a guard). With BPF LSM (the VM) this
# changes nothing. iotgated(8): IOTGATE_TEST_REFUSE_PROGS.
export IOTGATE_TEST_REFUSE_PROGS=${IOTGATE_TEST_REFUSE_PROGS-ig_mmap_tp}

# ig_daemon_pids: the daemon under test: the one this test started ($DPID)
# and the one holding the daemon's lock file (a test may start it another
# way), each only if that pid is an iotgated still (pids are reused).
ig_daemon_pids() {
	local p
	for p in ${DPID:-} $(cat /run/iotgate/iotgated.lock 2>/dev/null); do
		# an if, not &&: a dead pid last must not fail the loop (set -e -o
		# pipefail callers: bench/*.sh)
		if [[ $p =~ ^[0-9]+$ && $(cat "/proc/$p/comm" 2>/dev/null) == iotgated ]]; then
			echo "$p"
		fi
	done | sort -u
}

# Stops the daemon under test (by pid, never any other iotgated on the
# machine) and removes every pin, whatever state a test left.
ig_cleanup() {
	local pids
	if [[ -S $SOCK ]]; then
		"$CTL" stop-enforcing >/dev/null 2>&1 || true
	fi
	pids=$(ig_daemon_pids)
	if [[ -n $pids ]]; then
		kill -KILL $pids 2>/dev/null || true
		for _ in $(seq 50); do
			kill -0 $pids 2>/dev/null || break
			sleep 0.1
		done
	fi
	DPID=
	rm -rf "$PIN_DIR"
	rm -f "$SOCK"
	if [[ -n ${EVENTS:-} ]]; then
		kill "$EVENTS" 2>/dev/null || true
		EVENTS=
	fi
	if [[ -n ${LOGGER:-} ]]; then
		kill "$LOGGER" 2>/dev/null || true
		LOGGER=
	fi
	if [[ -n ${MADE_DEVLOG:-} ]]; then
		rm -f /dev/log
		MADE_DEVLOG=
	fi
}

# ig_syslog_capture: the daemon started after this logs to a syslog listener
# of the test's own: each datagram lands in $T/syslog as one line (Python
# repr of the bytes). The listener's socket is bound over /dev/log in a mount
# namespace of the daemon's own ($IOTGATED becomes a wrapper), so a system
# logger, if any, is neither read nor disturbed.
ig_syslog_capture() {
	if [[ ! -e /dev/log ]]; then
		: >/dev/log
		MADE_DEVLOG=1
	fi
	python3 "$TOP/tests/lib/ctlsock.py" syslog "$T/devlog" "$T/syslog" >"$T/logger.out" &
	LOGGER=$!
	for _ in $(seq 50); do grep -q ready "$T/logger.out" && break; sleep 0.1; done
	printf '#!/bin/sh\nexec unshare -m --propagation private sh -c '"'"'mount --bind "$0" /dev/log && exec "$@"'"'"' "%s" "%s" "$@"\n' \
		"$T/devlog" "$IOTGATED" >"$T/iotgated-ns"
	chmod 755 "$T/iotgated-ns"
	IOTGATED=$T/iotgated-ns
}

# ig_events_start: subscribes to the daemon's events into $T/events and
# returns once the daemon has confirmed the subscription.
ig_events_start() {
	"$CTL" --json events >"$T/events" &
	EVENTS=$!
	for _ in $(seq 100); do grep -q '"subscribed"' "$T/events" && return 0; sleep 0.1; done
	echo "no subscription confirmed" >&2
	return 1
}

# ig_wait_file FILE PATTERN: until grep -q PATTERN FILE (at most 10 s)
ig_wait_file() {
	for _ in $(seq 100); do grep -q -- "$2" "$1" 2>/dev/null && return 0; sleep 0.1; done
	return 1
}

EXECTOOL=$B/tests/exectool

# ig_libs FILE... : the shared libraries (and ld.so) the files load, resolved;
# for iotgate's own programs also libcrypto, which they load with dlopen()
ig_libs() {
	{
		ldd "$@" 2>/dev/null | awk '/=> \// { print $3 } /^\t\// { print $1 }'
		if printf '%s\n' "$@" | grep -qE '/iotgate(d|ctl)$'; then
			# awk reads to the end: an early exit would SIGPIPE ldconfig,
			# which fails pipefail callers (bench/*.sh) when it loses the race
			ldconfig -p | awk '$1 == "libcrypto.so.3" && !n++ { print $NF }'
		fi
	} | xargs -r readlink -f | sort -u
}

# ig_ignet_pair : two copies of tests/helpers/ignet, $T/allowed and
# $T/denied (same content, two files: the rules tell them apart by file), and
# a manifest of both
ig_ignet_pair() {
	cp "$B/tests/ignet" "$T/allowed"
	cp "$B/tests/ignet" "$T/denied"
	sha256sum "$T/allowed" "$T/denied" >"$T/manifest.sha256"
}

# ig_rt2_peer NS : a veth rt2 (10.99.0.1) here, its peer rt2p (10.99.0.2, up)
# in the namespace NS with a UDP echo server on port 7001 (its pid in PIDS)
ig_rt2_peer() {
	ip link add rt2 type veth peer name rt2p netns "$1"
	ip addr add 10.99.0.1/24 dev rt2
	ip link set rt2 up
	ip -n "$1" addr add 10.99.0.2/24 dev rt2p
	ip -n "$1" link set rt2p up
	ip netns exec "$1" "$B/tests/ignet" serve udp 7001 >/dev/null 2>&1 &
	PIDS+=($!)
}

# ig_manifest FILE... : a manifest of the given files and the libraries they
# load (mmap of code is checked too) in $T/manifest.sha256
ig_manifest() {
	{
		for f in "$@"; do readlink -f "$f"; done
		ig_libs "$@"
	} | sort -u | xargs -d '\n' sha256sum >"$T/manifest.sha256"
}

# ig_manifest_exact FILE... : exactly these files, in this order
ig_manifest_exact() {
	sha256sum "$@" >"$T/manifest.sha256"
}

# ig_policy MODE : $T/iotgate.conf naming $T/manifest.sha256
ig_policy() {
	printf 'version 1\nmode %s\nmanifest manifest.sha256\n' "$1" >"$T/iotgate.conf"
}

# ig_keys: a test signing key: private $T/key.pem, public $T/keys/test.pem
ig_keys() {
	[[ -e $T/key.pem ]] && return 0
	mkdir -p "$T/keys"
	openssl genpkey -algorithm ed25519 -out "$T/key.pem" 2>/dev/null
	openssl pkey -in "$T/key.pem" -pubout -out "$T/keys/test.pem"
}

# ig_sign FILE [KEY]: detached Ed25519 signature FILE.sig, the way operators make it
ig_sign() {
	ig_keys
	openssl pkeyutl -sign -rawin -inkey "${2:-$T/key.pem}" -in "$1" -out "$1.sig"
}

# Starts the daemon on $T/iotgate.conf (signed with the test key unless
# IG_NOSIGN=1) with its keys and state in $T, and waits until it answers.
# IG_NETNS=NAME: in that network namespace only (bpffs and cgroupfs stay
# the host's).
ig_start() {
	local ns=()
	ig_keys
	if [[ -z ${IG_NOSIGN:-} ]]; then
		ig_sign "$T/iotgate.conf"
		[[ -e $T/manifest.sha256 ]] && ig_sign "$T/manifest.sha256"
	fi
	[[ -n ${IG_NETNS:-} ]] && ns=(nsenter --net="/run/netns/$IG_NETNS")
	# Not through a shell function: $! must be the daemon (nsenter execs it).
	"${ns[@]}" "$IOTGATED" --policy "$T/iotgate.conf" --keys-dir "$T/keys" --state-dir "$T/state" \
		"$@" >"$T/daemon.log" 2>&1 &
	DPID=$!
	for _ in $(seq 300); do
		"$CTL" status >/dev/null 2>&1 && return 0
		if ! kill -0 "$DPID" 2>/dev/null; then
			cat "$T/daemon.log" >&2
			return 1
		fi
		sleep 0.1
	done
	echo "daemon did not answer within 30 s" >&2
	cat "$T/daemon.log" >&2
	return 1
}

# probe EXPECTED CMD... : runs a probe (tests/helpers/ignet) and compares
# its one-word result (ok or an errno name); IG_PROBE_NETNS=NAME: in that
# network namespace.
probe() {
	local want=$1
	shift
	if [[ -n ${IG_PROBE_NETNS:-} ]]; then
		run nsenter --net="/run/netns/$IG_PROBE_NETNS" "$@"
	else
		run "$@"
	fi
	if [[ $output != "$want" ]]; then
		echo "expected '$want' from '$*', got '$output'" >&2
		return 1
	fi
}

# scenario FILE: runs FILE under enforcement in one shell
# (tests/vm/lib/enforce.sh); its output in $output, checked to have started
# the daemon and stopped enforcement at the end.
scenario() {
	run bash "$TOP/tests/vm/lib/enforce.sh" "$T" "$1"
	echo "$output"
	[[ $output == *"daemon=started"* ]]
	[[ $output == *"stopped=0"* ]]
}

# jget EXPR : reads status JSON and prints a jq expression's value
jget() {
	"$CTL" status --json | jq -r "$1"
}
