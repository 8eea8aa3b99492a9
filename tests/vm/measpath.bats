#!/usr/bin/env bats
# SPDX-License-Identifier: GPL-2.0-only
# Full tier (Debian 6.1 with IMA, inside scripts/vm-run), audit mode: a
# program outside the manifest is measured by the kernel's file, not by the
# name it was run by. A relative path (./payload), a descriptor (execveat
# AT_EMPTY_PATH: /dev/fd/N) and /proc/self/fd/N are each logged once, with
# the digest of what the kernel ran and the kernel's path (d_path), as root
# and as uid 65534.

load ../lib/common

NOBODY="/usr/bin/setpriv --reuid 65534 --regid 65534 --clear-groups"

setup() {
	ig_cleanup
	T=$(mktemp -d)
	chmod 755 "$T"
	mkdir "$T/dir"
	# each a different ELF (one byte appended), so each digest names one exec
	for f in dir/rel dir/rel_nobody fd procfd; do
		cp /usr/bin/true "$T/$f"
		echo "$f" >>"$T/$f"
	done
	ig_manifest /usr/bin/setpriv "$CTL" "$IOTGATED" "$EXECTOOL"
}

teardown() {
	ig_cleanup
	rm -rf "$T"
}

@test "audit: relative, /dev/fd and /proc/self/fd execs are logged with the kernel's digest and path" {
	ig_policy audit
	cat >"$T/s.sh" <<-EOS
		cd "$T/dir"
		run_rc rel ./rel
		run_rc rel_nobody $NOBODY ./rel_nobody
		cd /
		run_rc fd "$EXECTOOL" fdexec "$T/fd"
		run_rc procfd $NOBODY "$EXECTOOL" procfd "$T/procfd"
		"\$CTL" status --json >"$T/status.json"
	EOS
	scenario "$T/s.sh"
	for a in rel rel_nobody fd procfd; do
		[[ $output == *"$a=0"* ]]
	done
	jq -e '.measure_source == "ima" or .measure_source == "module"' "$T/status.json"
	cat "$T/state/measurements"
	for f in dir/rel dir/rel_nobody fd procfd; do
		digest=$(sha256sum "$T/$f" | cut -d' ' -f1)
		[ "$(grep -c " ima-ng sha256:$digest " "$T/state/measurements")" -eq 1 ]
		grep -q " ima-ng sha256:$digest $T/$f\$" "$T/state/measurements"
	done
	"$CTL" log verify --file "$T/state/measurements"
}
