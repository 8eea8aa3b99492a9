#!/bin/bash
# SPDX-License-Identifier: GPL-2.0-only
# Exec overhead of measured execution, inside the VM (full tier), as
#   bench <name>: <value> <unit> ratio=<with/without> target=<max>
# Without and with iotgate enforcing are measured alternately in the same
# boot (A B A B A B), and the medians compared: emulation makes absolute
# times meaningless, the ratio is what counts.
#   bench/exec.sh          runs itself in scripts/vm-run
#   bench/exec.sh --in-vm  the measurement
set -euo pipefail
TOP=$(cd "$(dirname "$0")/.." && pwd)
if [[ ${1:-} != --in-vm ]]; then
	VM_TIMEOUT=${VM_TIMEOUT:-3600} exec "$TOP/scripts/vm-run" "$TOP/bench/exec.sh" --in-vm
fi
source "$TOP/tests/lib/common.bash"
T=$(mktemp -d)
# Private copies: a rebuild of the tree while this runs must not change them.
mkdir "$T/bin"
cp "$CTL" "$IOTGATED" "$B/bench/spawn" "$T/bin/"
CTL=$T/bin/iotgatectl
IOTGATED=$T/bin/iotgated
B_SPAWN=$T/bin/spawn
N=${BENCH_EXECS:-2000}
ROUNDS=${BENCH_ROUNDS:-3}
SPAWN=$B_SPAWN
SMALL=$T/small
cp /usr/bin/true "$SMALL"
HEAVY=$(command -v ssh) # 10+ shared libraries
HEAVY_ARGS=(-V)
[[ $(ldd "$HEAVY" | wc -l) -ge 11 ]] || { echo "bench: $HEAVY links fewer than 10 libraries" >&2; exit 1; }

ig_manifest "$SMALL" "$HEAVY" "$SPAWN" "$CTL" "$IOTGATED"
ig_policy enforce
ig_sign "$T/iotgate.conf"
ig_sign "$T/manifest.sha256"

median() { sort -n | awk '{ a[NR] = $1 } END { print a[int((NR + 1) / 2)] }'; }

declare -A off on
for r in $(seq $ROUNDS); do
	off[small]+="$("$SPAWN" "$N" "$SMALL")"$'\n'
	off[heavy]+="$("$SPAWN" "$((N / 4))" "$HEAVY" "${HEAVY_ARGS[@]}")"$'\n'
	"$IOTGATED" --policy "$T/iotgate.conf" --keys-dir "$T/keys" --state-dir "$T/state" \
		>"$T/daemon.log" 2>&1 &
	for _ in $(seq 300); do "$CTL" status >/dev/null 2>&1 && break; sleep 0.1; done
	on[small]+="$("$SPAWN" "$N" "$SMALL")"$'\n'
	on[heavy]+="$("$SPAWN" "$((N / 4))" "$HEAVY" "${HEAVY_ARGS[@]}")"$'\n'
	"$CTL" status --json >"$T/status.json" # jq is not in the manifest: read it afterwards
	"$CTL" stop-enforcing >/dev/null
	wait
	denied=$(jq '.counters.exec.denied + .counters.mmap.denied' "$T/status.json")
	[[ $denied == 0 ]] || { echo "bench: $denied execs were denied: the manifest is incomplete" >&2; exit 1; }
done

report() { # name off on execs target
	local a b
	a=$(printf '%s' "$2" | median)
	b=$(printf '%s' "$3" | median)
	awk -v n="$1" -v a="$a" -v b="$b" -v k="$4" -v t="$5" 'BEGIN {
		printf "bench %s: %.0f execs/s ratio=%.3f target=%s (without iotgate: %.0f execs/s)\n",
			n, k / (b / 1e9), b / a, t, k / (a / 1e9) }'
}
report exec_small "${off[small]}" "${on[small]}" "$N" 1.03
report exec_10libs "${off[heavy]}" "${on[heavy]}" "$((N / 4))" 1.05
rm -rf "$T"
