#!/bin/bash
# SPDX-License-Identifier: GPL-2.0-only
# The daemon under load, on this machine:
#  - status_latency: 50 concurrent clients doing status round trips; p99/p50
#    (target <= 10) with zero errors;
#  - daemon_peak_rss: VmHWM with a 10,000-entry manifest after that load
#    (target <= 6 MB: ratio is RSS / 6 MB);
#  - the stripped size of iotgated with its embedded BPF objects.
set -euo pipefail
TOP=$(cd "$(dirname "$0")/.." && pwd)
source "$TOP/tests/lib/common.bash"
T=$(mktemp -d)
trap 'ig_cleanup; rm -rf "$T"' EXIT
"$TOP/scripts/host-setup"
ig_cleanup

mkdir "$T/files"
for i in $(seq 0 99); do
	head -c $((100 * 64)) /dev/urandom | split -b 64 -a 3 -d - "$T/files/f$i-"
done
find "$T/files" -type f -print0 | xargs -0 sha256sum >"$T/manifest.sha256"
[[ $(wc -l <"$T/manifest.sha256") == 10000 ]]
ig_policy audit
ig_start
start_hwm=$(awk '/^VmHWM:/ { print $2 }' "/proc/$DPID/status")
# Peak under load: reset the high-water mark to the current RSS first (the
# start-up peak, libbpf parsing the kernel's BTF for CO-RE, is reported apart).
echo 5 >"/proc/$DPID/clear_refs"
read -r p50 p99 errors n < <(python3 "$TOP/bench/statusload.py" "$SOCK" 50 200)
awk -v a="$p50" -v b="$p99" -v e="$errors" -v n="$n" 'BEGIN {
	printf "bench status_latency: p50 %.0f us p99 %.0f us ratio=%.2f target=10 (%d round trips, 50 clients, %d errors)\n",
		a, b, b / a, n, e }'
[[ $errors == 0 ]] || echo "bench: status_latency had $errors errors" >&2
hwm=$(awk '/^VmHWM:/ { print $2 }' "/proc/$DPID/status")
entries=$(jget .manifest.verified)
awk -v k="$hwm" -v n="$entries" -v s="$start_hwm" 'BEGIN {
	printf "bench daemon_peak_rss: %.2f MB ratio=%.2f target=1.00 (limit 6 MB; %d manifest entries; start-up peak %.1f MB; Tetragon sample 151.7 MB)\n",
		k / 1024, (k / 1024) / 6, n, s / 1024 }'
strip -o "$T/iotgated.stripped" "$IOTGATED"
awk -v s="$(stat -c %s "$T/iotgated.stripped")" 'BEGIN {
	printf "bench iotgated_size: %.0f KiB ratio=1.00 target=info (stripped, BPF objects embedded)\n", s / 1024 }'
