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

setup() {
	ig_cleanup
	T=$(mktemp -d)
	chmod 755 "$T"
	for f in listed unlisted mod_root mod_nobody; do
		cp /usr/bin/true "$T/$f"
		echo "$f" >>"$T/$f" # each its own content
	done
	ig_manifest "$T/listed" "$T/mod_root" "$T/mod_nobody" /usr/bin/setpriv "$CTL" "$IOTGATED"
	# modified after the manifest was made, before the daemon starts
	echo x >>"$T/mod_root"
	echo x >>"$T/mod_nobody"
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
