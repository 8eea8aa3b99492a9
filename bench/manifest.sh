#!/bin/bash
# SPDX-License-Identifier: GPL-2.0-only
# Manifest benchmarks on this machine, baselines measured in the same run:
#  - manifest_create: 'iotgatectl manifest create' over 5,000 files / 200 MB
#    against sha256sum of the same files (target: time ratio <= 0.35);
#  - manifest_apply: putting 10,000 verified entries into the kernel map
#    against the time it took to hash them (target: <= 0.05).
set -euo pipefail
TOP=$(cd "$(dirname "$0")/.." && pwd)
B=$TOP/build
T=$(mktemp -d)
trap 'rm -rf "$T"' EXIT

mkdir "$T/tree"
for i in $(seq 0 49); do
	mkdir "$T/tree/d$i"
	# 100 files of 40 KiB per directory: 5,000 files, 200 MB
	head -c $((100 * 40960)) /dev/urandom | split -b 40960 -a 3 -d - "$T/tree/d$i/f"
done
sync
ns() { local a b; a=$(date +%s%N); "$@" >/dev/null; b=$(date +%s%N); echo $((b - a)); }
best() { # the fastest of three: noise only ever adds time
	local m=""
	for _ in 1 2 3; do
		local t
		t=$(ns "$@")
		[[ -z $m || $t -lt $m ]] && m=$t
	done
	echo "$m"
}
ours=$(best "$B/iotgatectl" manifest create "$T/tree")
theirs=$(best sh -c "find '$T/tree' -type f -print0 | LC_ALL=C sort -z | xargs -0 sha256sum")
"$B/iotgatectl" manifest create "$T/tree" >"$T/ours"
find "$T/tree" -type f -print0 | LC_ALL=C sort -z | xargs -0 sha256sum >"$T/theirs"
cmp -s "$T/ours" "$T/theirs" || { echo "bench: manifest create output differs from sha256sum" >&2; exit 1; }
awk -v a="$ours" -v b="$theirs" 'BEGIN {
	printf "bench manifest_create: %.0f MB/s ratio=%.3f target=0.35 (sha256sum: %.0f MB/s, 5000 files, 200 MB, %d cores)\n",
		200 / (a / 1e9), a / b, 200 / (b / 1e9), '"$(nproc)"' }'

# 10,000 entries need 10,000 distinct inodes: 5,000 more files of 20 KiB.
for i in $(seq 50 99); do
	mkdir "$T/tree/d$i"
	head -c $((100 * 20480)) /dev/urandom | split -b 20480 -a 3 -d - "$T/tree/d$i/f"
done
mapfile -t files < <(find "$T/tree" -type f | head -10000)
read -r hash apply commit first < <("$B/bench/mapapply" "${files[@]}")
awk -v h="$hash" -v a="$apply" -v c="$commit" -v f="$first" -v n="${#files[@]}" 'BEGIN {
	printf "bench manifest_apply: %.1f ms ratio=%.4f target=0.05 (%d entries; hashing them took %.0f ms; emptying the replaced map afterwards %.1f ms; the first manifest after start, which creates the maps, %.1f ms)\n",
		a / 1e6, a / h, n, h / 1e6, c / 1e6, f / 1e6 }'
