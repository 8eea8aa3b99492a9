#!/bin/bash
# SPDX-License-Identifier: GPL-2.0-only
# Runs an enforce-mode scenario in ONE already-running shell, so that while
# iotgate enforces, nothing is exec'd but the scenario's own commands (bats
# and most shell helpers are not in the test manifests).
#
#   enforce.sh DIR SCENARIO_FILE
# DIR holds iotgate.conf; SCENARIO_FILE is sourced after the daemon answers
# and may use: ig_sleep SECS, run_rc NAME CMD... (prints NAME=<exit status>),
# $DPID, $CTL, $IOTGATED. Enforcement is always stopped at the end.
set -u
T=$1
TOP=$(cd "$(dirname "$0")/../../.." && pwd)
CTL=$TOP/build/iotgatectl
IOTGATED=$TOP/build/iotgated

# Signed here, before anything is enforced (openssl is not in the manifests).
# shellcheck source=../../lib/common.bash
source "$TOP/tests/lib/common.bash"
[[ -n ${IG_NOSIGN:-} ]] || { ig_sign "$T/iotgate.conf" && ig_sign "$T/manifest.sha256"; }

mkfifo "$T/.sleep"
exec 9<>"$T/.sleep"
ig_sleep() { read -r -t "$1" -u 9 || true; }
run_rc() {
	local name=$1
	shift
	"$@" >"$T/$name.out" 2>"$T/$name.err"
	echo "$name=$?"
}
start_daemon() {
	# shellcheck disable=SC2086 # IG_DAEMON_ARGS: more options, split on blanks
	"$IOTGATED" --policy "$T/iotgate.conf" --keys-dir "$T/keys" --state-dir "$T/state" \
		${IG_DAEMON_ARGS:-} >>"$T/daemon.log" 2>&1 &
	DPID=$!
	# one iotgatectl run once the socket exists: a status request waits
	# for the start to end (common.bash, ig_start)
	for ((i = 0; i < 1200; i++)); do
		[[ -S $SOCK ]] && "$CTL" status >/dev/null 2>&1 && return 0
		kill -0 "$DPID" 2>/dev/null || return 1
		ig_sleep 0.05
	done
	return 1
}

start_daemon || { echo "daemon=failed"; exit 1; }
echo "daemon=started"
# shellcheck source=/dev/null
source "$2"
"$CTL" stop-enforcing >/dev/null 2>&1
echo "stopped=$?"
wait "$DPID" 2>/dev/null
exit 0
