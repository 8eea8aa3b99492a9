#!/usr/bin/env bats
# SPDX-License-Identifier: GPL-2.0-only
# Full tier (Debian 6.1 with IMA, inside scripts/vm-run): where the kernel
# hashes (measure source ima or module), the manifest is appraised lazily: the
# daemon lists identities at start without hashing, and the first exec of a
# listed file is hashed in the kernel and compared with the manifest. Counted:
# status manifest.hashed_at_load (only the daemon's own entry, which runs
# already) against every entry with --appraise-at-start, and the kernel's
# appraisals (kmeasure.counters.appraised, .mismatched). Root and uid 65534:
# a listed program runs, an unlisted one and ones modified before the start
# are refused; a change after the first appraisal drops the file's trust.

load ../lib/common

NOBODY="/usr/bin/setpriv --reuid 65534 --regid 65534 --clear-groups"
EXIT42=$B/tests/exit42

setup() {
	ig_cleanup
	T=$(mktemp -d)
	chmod 755 "$T"
	for f in listed unlisted mod_root mod_nobody; do
		cp /usr/bin/true "$T/$f"
		echo "$f" >>"$T/$f" # each its own content
	done
	ig_manifest "$T/listed" "$T/mod_root" "$T/mod_nobody" /usr/bin/setpriv "$CTL" "$IOTGATED"
	# replaced after the manifest was made, before the daemon starts: by a
	# program that exits 42 (same inode: cp truncates and writes)
	cp "$EXIT42" "$T/mod_root"
	cp "$EXIT42" "$T/mod_nobody"
}

teardown() {
	ig_cleanup
	rm -rf "$T"
}

@test "lazy: a listed program runs on first exec, hashed only in the kernel; unlisted and modified ones are refused" {
	ig_policy enforce
	cat >"$T/s.sh" <<-EOS
		"\$CTL" status --json >"$T/status0.json"
		run_rc listed "$T/listed"
		run_rc listed_nobody $NOBODY "$T/listed"
		run_rc unlisted "$T/unlisted"
		run_rc unlisted_nobody $NOBODY "$T/unlisted"
		run_rc mod_root "$T/mod_root"
		run_rc mod_nobody $NOBODY "$T/mod_nobody"
		run_rc mod_again "$T/mod_root"
		"\$CTL" status --json >"$T/status.json"
	EOS
	scenario "$T/s.sh"
	[[ $output == *"listed=0"* ]]
	[[ $output == *"listed_nobody=0"* ]]
	for a in unlisted unlisted_nobody mod_root mod_nobody mod_again; do
		[[ $output == *"$a=126"* ]]
		grep -q "Operation not permitted" "$T/$a.err"
	done
	# hashed at load: only the daemon's own entry (it runs already: no exec appraises it)
	jq -e '.manifest.appraisal == "lazy" and .manifest.hashed_at_load == 1' "$T/status0.json"
	jq -e '.measure_source == "ima" or .measure_source == "module"' "$T/status.json"
	# nothing appraised before the first exec; the listed program and its libraries after
	a0=$(jq '.kmeasure.counters.appraised' "$T/status0.json")
	jq -e --argjson a0 "$a0" '.kmeasure.counters.appraised > $a0 and .kmeasure.counters.mismatched == 2' "$T/status.json"
	jq -e --arg p "$T/unlisted" '[.violations[] | select(.path == $p and .verdict == "deny" and .reason == "not_in_manifest")] | length == 2' "$T/status.json"
	jq -e --arg p "$T/mod_root" '[.violations[] | select(.path == $p and .verdict == "deny" and .reason == "digest_mismatch")] | length == 2' "$T/status.json"
	jq -e --arg p "$T/mod_nobody" '[.violations[] | select(.path == $p and .verdict == "deny" and .reason == "digest_mismatch")] | length == 1' "$T/status.json"
	digest=$(sha256sum "$T/listed" | cut -d' ' -f1)
	[ "$(grep -c " ima-ng sha256:$digest $T/listed\$" "$T/state/measurements")" -eq 1 ]
	# what was refused is logged as what it is: the digest of the program that exits 42
	evil=$(sha256sum "$EXIT42" | cut -d' ' -f1)
	grep -q " ima-ng sha256:$evil $T/mod_root\$" "$T/state/measurements"
	grep -q " ima-ng sha256:$evil $T/mod_nobody\$" "$T/state/measurements"
	"$CTL" log verify --file "$T/state/measurements"
	# the same set hashed at load: every entry
	ig_policy audit
	ig_start --appraise-at-start
	n=$(jq '.manifest.entries' "$T/status.json")
	jq -e --argjson n "$n" '.manifest.appraisal == "at_start" and .manifest.hashed_at_load == $n' <("$CTL" status --json)
}

@test "lazy: a change after the first appraisal drops trust; --appraise-at-start hashes at start" {
	ig_policy enforce
	cat >"$T/s.sh" <<-EOS
		run_rc first "$T/listed"
		echo y >>"$T/listed"
		run_rc changed "$T/listed"
		run_rc changed_nobody $NOBODY "$T/listed"
		"\$CTL" status --json >"$T/status.json"
	EOS
	scenario "$T/s.sh"
	[[ $output == *"first=0"* ]]
	[[ $output == *"changed=126"* ]]
	[[ $output == *"changed_nobody=126"* ]]
	"$CTL" log verify --file "$T/state/measurements"
	ig_policy audit
	ig_start --appraise-at-start
	jq -e '.manifest.appraisal == "at_start" and (.manifest.appraisal_reason | contains("--appraise-at-start"))' <("$CTL" status --json)
}

# libs DIR...: a copy of this architecture's libc in each DIR (a library of its own inode)
libs() {
	local libc d
	libc=$(readlink -f "$(ldd /usr/bin/true | awk '$1 == "libc.so.6" { print $3 }')")
	for d in "$@"; do
		mkdir -p "$T/$d"
		cp "$libc" "$T/$d/libc.so.6"
	done
}

@test "lazy: a listed library changed before its first use is refused at its first executable mapping (ld.so, mmap; root and nobody)" {
	# l_ok*: listed and unchanged; l_mod*: listed, changed before the daemon starts
	libs l_ok l_ok_nobody l_mod l_mod_nobody
	for f in map_root map_nobody; do cp /usr/bin/true "$T/$f" && echo "$f" >>"$T/$f"; done
	ig_manifest "$T/listed" "$T"/{l_ok,l_ok_nobody,l_mod,l_mod_nobody}/libc.so.6 "$T/map_root" "$T/map_nobody" \
		"$EXECTOOL" /usr/bin/setpriv /usr/bin/env "$CTL" "$IOTGATED"
	echo x >>"$T/l_mod/libc.so.6" # still a working libc: the attack works without iotgate
	echo x >>"$T/l_mod_nobody/libc.so.6"
	cp "$EXIT42" "$T/map_root"
	cp "$EXIT42" "$T/map_nobody"
	LD_LIBRARY_PATH="$T/l_mod" "$T/listed"
	ig_policy enforce
	cat >"$T/s.sh" <<-EOS
		LD_LIBRARY_PATH="$T/l_ok" run_rc ok "$T/listed"
		run_rc ok_nobody $NOBODY /usr/bin/env LD_LIBRARY_PATH="$T/l_ok_nobody" "$T/listed"
		LD_LIBRARY_PATH="$T/l_mod" run_rc mod "$T/listed"
		run_rc mod_nobody $NOBODY /usr/bin/env LD_LIBRARY_PATH="$T/l_mod_nobody" "$T/listed"
		run_rc map_root "$EXECTOOL" mmap "$T/map_root"
		run_rc map_nobody $NOBODY "$EXECTOOL" mmap "$T/map_nobody"
		"\$CTL" status --json >"$T/status.json"
	EOS
	scenario "$T/s.sh"
	[[ $output == *"ok=0"* ]]
	[[ $output == *"ok_nobody=0"* ]]
	# ld.so cannot map the changed libc: the program does not start
	[[ $output == *"mod=127"* ]]
	[[ $output == *"mod_nobody=127"* ]]
	for a in map_root map_nobody; do
		[[ $output == *"$a=1"* ]]
		grep -q "errno=EPERM" "$T/$a.out"
		jq -e --arg p "$a" '[.violations[] | select(.path == $p and .verdict == "deny" and .reason == "digest_mismatch")] | length == 1' "$T/status.json"
	done
	# (a mapping's event names the file by its last component)
	jq -e '[.violations[] | select(.path == "libc.so.6" and .verdict == "deny" and .reason == "digest_mismatch")] | length >= 2' "$T/status.json"
	jq -e '.kmeasure.counters.mismatched == 4' "$T/status.json"
	# logged as what they are, by their paths
	for f in l_mod/libc.so.6 l_mod_nobody/libc.so.6 map_root map_nobody; do
		digest=$(sha256sum "$T/$f" | cut -d' ' -f1)
		grep -q " ima-ng sha256:$digest $T/$f\$" "$T/state/measurements"
	done
	"$CTL" log verify --file "$T/state/measurements"
}

@test "lazy: mprotect(PROT_EXEC) as a file's first executable use is appraised like mmap (root and nobody)" {
	for f in good good_nobody mod mod_nobody unlisted; do
		cp /usr/bin/true "$T/p_$f" && echo "$f" >>"$T/p_$f"
	done
	ig_manifest "$T"/p_{good,good_nobody,mod,mod_nobody} "$EXECTOOL" /usr/bin/setpriv "$CTL" "$IOTGATED"
	cp "$EXIT42" "$T/p_mod"
	cp "$EXIT42" "$T/p_mod_nobody"
	cp "$EXIT42" "$T/p_unlisted"
	ig_policy enforce
	# each file's first mapping is the read-only one exectool then makes executable
	cat >"$T/s.sh" <<-EOS
		run_rc good "$EXECTOOL" mprotect "$T/p_good"
		run_rc good_nobody $NOBODY "$EXECTOOL" mprotect "$T/p_good_nobody"
		run_rc mod "$EXECTOOL" mprotect "$T/p_mod"
		run_rc mod_nobody $NOBODY "$EXECTOOL" mprotect "$T/p_mod_nobody"
		run_rc unlisted "$EXECTOOL" mprotect "$T/p_unlisted"
		run_rc unlisted_nobody $NOBODY "$EXECTOOL" mprotect "$T/p_unlisted"
		"\$CTL" status --json >"$T/status.json"
	EOS
	scenario "$T/s.sh"
	[[ $output == *"good=0"* ]]
	[[ $output == *"good_nobody=0"* ]]
	for a in mod mod_nobody unlisted unlisted_nobody; do
		[[ $output == *"$a=1"* ]]
		grep -q "errno=EPERM" "$T/$a.out"
	done
	jq -e '.kmeasure.counters.mismatched == 2' "$T/status.json"
	for f in mod mod_nobody; do
		jq -e --arg p "p_$f" '[.violations[] | select(.path == $p and .verdict == "deny" and .reason == "digest_mismatch")] | length == 1' "$T/status.json"
		# logged as what it is (the program that exits 42), by its path, at its first mapping
		digest=$(sha256sum "$T/p_$f" | cut -d' ' -f1)
		grep -q " ima-ng sha256:$digest $T/p_$f\$" "$T/state/measurements"
	done
	jq -e '[.violations[] | select(.path == "p_unlisted" and .verdict == "deny" and .reason == "not_in_manifest")] | length == 2' "$T/status.json"
	"$CTL" log verify --file "$T/state/measurements"
}
