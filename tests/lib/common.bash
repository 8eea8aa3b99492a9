# SPDX-License-Identifier: GPL-2.0-only
# Shared by the host and VM bats suites: build paths, a daemon under test,
# and clean-up that leaves no daemon or pin behind.

TOP=$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)
B=$TOP/build
IOTGATED=$B/iotgated
CTL=$B/iotgatectl
PIN_DIR=/sys/fs/bpf/iotgate
SOCK=/run/iotgate/iotgate.sock

# ig_nap SECS: sleeps without starting a process (read -t on a FIFO that
# nobody writes, made once per bats run). Under TCG every exec of sleep(1)
# costs the VM's one CPU ~40 ms, taken from the daemon a test waits for.
ig_nap() {
	local f=${BATS_RUN_TMPDIR:-${TMPDIR:-/tmp}}/ig_nap.fifo
	if [[ -z ${IG_NAP_FD:-} || ! -e /proc/$BASHPID/fd/$IG_NAP_FD ]]; then
		[[ -p $f ]] || mkfifo "$f" 2>/dev/null || [[ -p $f ]] || { sleep "$1"; return 0; }
		exec {IG_NAP_FD}<>"$f"
	fi
	read -rt "$1" -u "$IG_NAP_FD" _ || true
}

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
	local pids i
	if [[ -S $SOCK ]]; then
		"$CTL" stop-enforcing >/dev/null 2>&1 || true
	fi
	pids=$(ig_daemon_pids)
	if [[ -n $pids ]]; then
		kill -KILL $pids 2>/dev/null || true
		for ((i = 0; i < 100; i++)); do
			kill -0 $pids 2>/dev/null || break
			ig_nap 0.05
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
	local i
	for ((i = 0; i < 50; i++)); do grep -q ready "$T/logger.out" && break; ig_nap 0.1; done
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
	local i
	for ((i = 0; i < 100; i++)); do grep -q '"subscribed"' "$T/events" && return 0; ig_nap 0.1; done
	echo "no subscription confirmed" >&2
	return 1
}

# ig_wait_file FILE PATTERN: until grep -q PATTERN FILE (at most 10 s)
ig_wait_file() {
	local i
	for ((i = 0; i < 100; i++)); do grep -q -- "$2" "$1" 2>/dev/null && return 0; ig_nap 0.1; done
	return 1
}

EXECTOOL=$B/tests/exectool

# ig_libs_of FILE... : the shared libraries (and ld.so) the files load,
# resolved; for iotgate's own programs also libcrypto, which they load with
# dlopen()
ig_libs_of() {
	{
		ldd "$@" 2>/dev/null | awk '/=> \// { print $3 } /^\t\// { print $1 }'
		if printf '%s\n' "$@" | grep -qE '/iotgate(d|ctl)$'; then
			# awk reads to the end: an early exit would SIGPIPE ldconfig,
			# which fails pipefail callers (bench/*.sh) when it loses the race
			ldconfig -p | awk '$1 == "libcrypto.so.3" && !n++ { print $NF }'
		fi
	} | xargs -r readlink -f | sort -u
}

# ig_libs FILE... : ig_libs_of, remembered for the rest of a bats run by
# each file's content (and whether it is one of iotgate's programs): ldd
# runs the dynamic loader twice from a shell script, half a second a file
# under TCG, and most tests ask about the same few programs.
ig_libs() {
	local dir=${BATS_RUN_TMPDIR:-} d f key l
	if [[ -z $dir ]]; then
		ig_libs_of "$@"
		return
	fi
	dir+=/ig_libs
	[[ -d $dir ]] || mkdir -p "$dir"
	sha256sum -- "$@" 2>/dev/null | while read -r d f; do
		key=$d
		[[ $f =~ /iotgate(d|ctl)$ ]] && key+=.ig
		if [[ ! -e $dir/$key ]]; then
			ig_libs_of "$f" >"$dir/$key.$BASHPID" && mv -f "$dir/$key.$BASHPID" "$dir/$key"
		fi
		while read -r l; do echo "$l"; done <"$dir/$key"
	done | sort -u
}

# ig_manifest FILE... : a manifest of the given files and the libraries they
# load (mmap of code is checked too) in $T/manifest.sha256
ig_manifest() {
	{
		readlink -f -- "$@"
		ig_libs "$@"
	} | sort -u | xargs -d '\n' sha256sum >"$T/manifest.sha256"
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

# ig_manifest_exact FILE... : exactly these files, in this order
ig_manifest_exact() {
	sha256sum "$@" >"$T/manifest.sha256"
}

# ig_policy MODE : $T/iotgate.conf naming $T/manifest.sha256
ig_policy() {
	printf 'version 1\nmode %s\nmanifest manifest.sha256\n' "$1" >"$T/iotgate.conf"
}

# ig_keys: a test signing key: private $T/key.pem, public $T/keys/test.pem
# (one pair per bats run, copied without a process: two openssl runs cost
# half a second under TCG)
ig_keys() {
	local k=${BATS_RUN_TMPDIR:-}/ig_key
	[[ -e $T/key.pem ]] && return 0
	mkdir -p "$T/keys"
	if [[ -z ${BATS_RUN_TMPDIR:-} ]]; then
		openssl genpkey -algorithm ed25519 -out "$T/key.pem" 2>/dev/null
		openssl pkey -in "$T/key.pem" -pubout -out "$T/keys/test.pem"
		return
	fi
	if [[ ! -s $k.pub ]]; then
		openssl genpkey -algorithm ed25519 -out "$k.$BASHPID" 2>/dev/null &&
			openssl pkey -in "$k.$BASHPID" -pubout -out "$k.pub.$BASHPID" &&
			mv -f "$k.$BASHPID" "$k.pem" && mv -f "$k.pub.$BASHPID" "$k.pub" || return 1
	fi
	(umask 077 && printf '%s\n' "$(<"$k.pem")" >"$T/key.pem")
	printf '%s\n' "$(<"$k.pub")" >"$T/keys/test.pem"
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
	# The socket listens early and a status request waits for the start to
	# end: one iotgatectl run once it exists, not ten a second (under TCG
	# they took the CPU from the start they waited for).
	local i
	for ((i = 0; i < 600; i++)); do
		[[ -S $SOCK ]] && "$CTL" status >/dev/null 2>&1 && return 0
		if ! kill -0 "$DPID" 2>/dev/null; then
			cat "$T/daemon.log" >&2
			return 1
		fi
		ig_nap 0.05
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
