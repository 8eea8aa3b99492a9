#!/usr/bin/env bats
# SPDX-License-Identifier: GPL-2.0-only
# iotgatectl log / log verify on logs written here by an independent shell
# implementation of IMA's ima-ng template hash and PCR-style extension
# (sha256sum and xxd), then tampered with.

load ../lib/common

ZERO=0000000000000000000000000000000000000000000000000000000000000000

setup() {
	T=$(mktemp -d)
}

teardown() {
	rm -rf "$T"
}

le32hex() {
	printf '%02x%02x%02x%02x' $(($1 & 255)) $(($1 >> 8 & 255)) $(($1 >> 16 & 255)) $(($1 >> 24 & 255))
}

# th DIGEST_HEX NAME: SHA-256 of le32(40) "sha256:\0" digest le32(len+1) name "\0"
th() {
	local name_hex
	name_hex=$(printf '%s' "$2" | xxd -p | tr -d '\n')
	printf '%s' "$(le32hex 40)$(printf 'sha256:' | xxd -p)00$1$(le32hex $((${#name_hex} / 2 + 1)))${name_hex}00" |
		xxd -r -p | sha256sum | cut -d' ' -f1
}

# extend AGG_HEX TH_HEX: SHA-256(agg || th)
extend() {
	printf '%s%s' "$1" "$2" | xxd -r -p | sha256sum | cut -d' ' -f1
}

# entry FILE DIGEST NAME [SHOWN]: appends an ima-ng line, extends $AGG, writes FILE.chain
entry() {
	local t
	t=$(th "$2" "$3")
	printf '10 %s ima-ng sha256:%s %s\n' "$t" "$2" "${4:-$3}" >>"$1"
	AGG=$(extend "$AGG" "$t")
	echo "$AGG" >>"$1.chain"
	N=$((N + 1))
}

dig() {
	sha256sum <"$1" | cut -d' ' -f1
}

# mklog FILE: boot_aggregate and three programs
mklog() {
	: >"$1"
	: >"$1.chain"
	AGG=$ZERO N=0
	entry "$1" "$ZERO" boot_aggregate
	entry "$1" "$(dig /usr/bin/true)" /usr/bin/true
	entry "$1" "$(dig /usr/bin/env)" /usr/bin/env
	entry "$1" "$(dig /bin/sh)" /bin/sh
}

@test "log verify accepts a log written by an independent implementation" {
	mklog "$T/m"
	[ "$(th "$ZERO" boot_aggregate)" = 36f1cd67a730bc4137870c4d00dbc7430b51b1ebdaa130744297cf65339078a0 ]
	run "$CTL" log verify --file "$T/m"
	[ "$status" -eq 0 ]
	[ "$output" = "ok: 4 entries, aggregate $AGG" ]
	rm "$T/m.chain" # the chain file is optional
	run "$CTL" log verify --file "$T/m" --aggregate "$AGG"
	[ "$status" -eq 0 ]
	[ "$output" = "ok: 4 entries, aggregate $AGG" ]
	run "$CTL" --json log verify --file="$T/m"
	[ "$status" -eq 0 ]
	echo "$output" | jq -e --arg a "$AGG" '.ok == true and .entries == 4 and .aggregate == $a'
}

@test "log prints pure ima-ng; --annotate and --json mark unknown entries" {
	mklog "$T/m"
	printf '3 %s\n' "$(dig /usr/bin/env)" >"$T/m.unknown"
	printf '4 %s\n' "$(dig /usr/bin/env)" >>"$T/m.unknown" # digest does not match: ignored
	run "$CTL" log --file "$T/m"
	[ "$status" -eq 0 ]
	[ "$output" = "$(cat "$T/m")" ]
	run "$CTL" log --annotate --file "$T/m"
	[ "$status" -eq 0 ]
	[ "${#lines[@]}" -eq 4 ]
	[ "${lines[0]}" = "$(sed -n 1p "$T/m")" ]
	[ "${lines[1]}" = "$(sed -n 2p "$T/m")" ]
	[ "${lines[2]}" = "$(sed -n 3p "$T/m")  (unknown: not in the manifest)" ]
	[ "${lines[3]}" = "$(sed -n 4p "$T/m")" ]
	run "$CTL" log --file "$T/m" --json
	[ "$status" -eq 0 ]
	echo "$output" | jq -e --arg d "sha256:$(dig /usr/bin/true)" --arg t "$(th "$(dig /usr/bin/true)" /usr/bin/true)" '
		length == 4 and
		.[0].path == "boot_aggregate" and .[0].unknown == false and
		.[1] == {pcr: 10, template_hash: $t, template: "ima-ng", digest: $d,
			 path: "/usr/bin/true", unknown: false} and
		.[2].path == "/usr/bin/env" and .[2].unknown == true and .[3].unknown == false'
}

@test "a changed digest character is named with its line" {
	mklog "$T/m"
	c=$(sed -n '3s/.*sha256:\(.\).*/\1/p' "$T/m")
	[ "$c" = 0 ] && r=1 || r=0
	sed -i "3s/sha256:$c/sha256:$r/" "$T/m"
	run "$CTL" log verify --file "$T/m"
	[ "$status" -eq 1 ]
	[ "$output" = "$T/m:3: template hash does not match its fields" ]
	run "$CTL" --json log verify --file "$T/m"
	[ "$status" -eq 1 ]
	echo "$output" | jq -e --arg f "$T/m" '.ok == false and .file == $f and .line == 3 and
		.reason == "template hash does not match its fields" and .entries == 2'
}

@test "deleted and reordered lines are named by the chain file" {
	mklog "$T/m"
	cp "$T/m" "$T/orig"
	sed -i 3d "$T/m"
	run "$CTL" log verify --file "$T/m"
	[ "$status" -eq 1 ]
	[ "$output" = "$T/m:3: aggregate differs from m.chain: entry deleted, inserted or moved" ]

	for k in 1 4 3 2; do sed -n "${k}p" "$T/orig"; done >"$T/m"
	run "$CTL" log verify --file "$T/m"
	[ "$status" -eq 1 ]
	[ "$output" = "$T/m:2: aggregate differs from m.chain: entry deleted, inserted or moved" ]

	sed 4d "$T/orig" >"$T/m"
	run "$CTL" log verify --file "$T/m"
	[ "$status" -eq 1 ]
	[ "$output" = "$T/m:4: entry missing: m.chain records more entries than the log" ]

	sed 1d "$T/orig" >"$T/m"
	run "$CTL" log verify --file "$T/m"
	[ "$status" -eq 1 ]
	[ "$output" = "$T/m:1: log does not begin with boot_aggregate and has no m.base" ]
}

@test "without the chain file, the daemon's aggregate catches a deleted line" {
	mklog "$T/m"
	good=$AGG
	rm "$T/m.chain"
	sed -i 3d "$T/m"
	run "$CTL" log verify --file "$T/m"
	[ "$status" -eq 0 ]
	run "$CTL" log verify --file "$T/m" --aggregate "$good"
	[ "$status" -eq 1 ]
	[ "$output" = "$T/m: aggregate differs from the daemon's" ]
	run "$CTL" log verify --file "$T/m" --aggregate nothex
	[ "$status" -eq 1 ]
	[ "$output" = "iotgatectl: log verify: --aggregate needs 64 hex digits" ]
}

# base FILE ENTRY AGG: FILE.base as iotgated writes it
base() {
	printf '# comment\nentry %s\naggregate %s\n' "$2" "$3" >"$1.base"
}

@test "a rotated log: no extra record, the list since boot replays as plain ima-ng" {
	mklog "$T/measurements.1"
	prev=$AGG n1=$N
	# the new file continues with the next entry; .base says from where
	: >"$T/measurements"
	: >"$T/measurements.chain"
	base "$T/measurements" "$n1" "$prev"
	N=0
	entry "$T/measurements" "$(dig /usr/bin/id)" /usr/bin/id
	entry "$T/measurements" "$(dig /usr/bin/head)" /usr/bin/head
	run "$CTL" log verify --file "$T/measurements"
	[ "$status" -eq 0 ]
	[ "$output" = "ok: 2 entries, aggregate $AGG" ]
	run "$CTL" --json log verify --file "$T/measurements"
	echo "$output" | jq -e --argjson n "$n1" '.first_entry == $n'
	run "$CTL" log verify --file "$T/measurements.1" --file "$T/measurements" --aggregate "$AGG"
	[ "$status" -eq 0 ]
	[ "$output" = "ok: $((n1 + N)) entries, aggregate $AGG" ]
	# the default is the list since boot in --dir: the same two files
	run "$CTL" log verify --dir "$T" --aggregate "$AGG"
	[ "$status" -eq 0 ]
	[ "$output" = "ok: $((n1 + N)) entries, aggregate $AGG" ]
	# plain ima-ng extension over what 'log' prints gives the same aggregate
	run "$CTL" log --dir "$T"
	[ "$status" -eq 0 ]
	[ "$output" = "$(cat "$T/measurements.1" "$T/measurements")" ]
	a=$ZERO
	while read -r _ t _; do a=$(extend "$a" "$t"); done <<<"$output"
	[ "$a" = "$AGG" ]

	# an empty segment (rotated before its first entry) continues too
	: >"$T/e"
	base "$T/e" "$((n1 + N))" "$AGG"
	run "$CTL" log verify --file "$T/measurements.1" --file "$T/measurements" --file "$T/e"
	[ "$status" -eq 0 ]
	[ "$output" = "ok: $((n1 + N)) entries, aggregate $AGG" ]

	# a base that does not continue the previous file, by aggregate or by number
	base "$T/measurements" "$n1" "$ZERO"
	run "$CTL" log verify --file "$T/measurements.1" --file "$T/measurements"
	[ "$status" -eq 1 ]
	[ "$output" = "$T/measurements:1: measurements.base does not continue the aggregate of the previous file" ]
	base "$T/measurements" "$((n1 + 1))" "$prev"
	run "$CTL" log verify --file "$T/measurements.1" --file "$T/measurements"
	[ "$status" -eq 1 ]
	[ "$output" = "$T/measurements:1: measurements.base names entry $((n1 + 1)), the previous file ends before entry $n1" ]
	printf 'entry x\n' >"$T/measurements.base"
	run "$CTL" log verify --file "$T/measurements"
	[ "$status" -eq 1 ]
	[ "$output" = "$T/measurements.base:1: malformed line: expected 'entry N' or 'aggregate <64 hex digits>'" ]
	rm "$T/measurements.base"
	run "$CTL" log verify --file "$T/measurements"
	[ "$status" -eq 1 ]
	[ "$output" = "$T/measurements:1: log does not begin with boot_aggregate and has no measurements.base" ]
}

@test "a carry-over record of iotgate 0.1 still verifies" {
	mklog "$T/measurements.1"
	prev=$AGG
	: >"$T/measurements"
	: >"$T/measurements.chain"
	entry "$T/measurements" "$prev" iotgate-carryover
	entry "$T/measurements" "$(dig /usr/bin/id)" /usr/bin/id
	run "$CTL" log verify --file "$T/measurements.1" --file "$T/measurements" --aggregate "$AGG"
	[ "$status" -eq 0 ]
	: >"$T/measurements"
	: >"$T/measurements.chain"
	AGG=$ZERO
	entry "$T/measurements" "$ZERO" iotgate-carryover
	run "$CTL" log verify --file "$T/measurements.1" --file "$T/measurements"
	[ "$status" -eq 1 ]
	[ "$output" = "$T/measurements:1: carry-over does not continue the aggregate of the previous file" ]
}

@test "names: printed exactly as hashed (backslash raw; ' ' and newline recorded as '_')" {
	mklog "$T/m"
	entry "$T/m" "$(dig /usr/bin/true)" '/opt/my_app/a_b\c\n'
	run "$CTL" log verify --file "$T/m"
	[ "$status" -eq 0 ]
	[ "$output" = "ok: 5 entries, aggregate $AGG" ]
	[ "$(sed -n '5s/.* //p' "$T/m")" = '/opt/my_app/a_b\c\n' ]
	run "$CTL" --json log --file "$T/m"
	echo "$output" | jq -e '.[4].path == "/opt/my_app/a_b\\c\\n"'
	run "$CTL" log --file "$T/m"
	[ "${lines[4]}" = "$(sed -n 5p "$T/m")" ]
	# a space in a name cannot come from IMA (it writes '_')
	sed -i '5s|/opt/my_app|/opt/my app|' "$T/m"
	run "$CTL" log verify --file "$T/m"
	[ "$status" -eq 1 ]
	[ "$output" = "$T/m:5: malformed line: space in name" ]
}

@test "malformed and missing logs" {
	mklog "$T/m"
	sed -i '2s/ ima-ng / ima-sig /' "$T/m"
	run "$CTL" log verify --file "$T/m"
	[ "$status" -eq 1 ]
	[ "$output" = "$T/m:2: malformed line: template is not ima-ng" ]
	run "$CTL" log --file "$T/m"
	[ "$status" -eq 1 ]
	[ "${lines[0]}" = "$(sed -n 1p "$T/m")" ]
	[ "${lines[1]}" = "$T/m:2: malformed line: template is not ima-ng" ]
	printf 'garbage' >"$T/g"
	run "$CTL" log verify --file "$T/g"
	[ "$status" -eq 1 ]
	[ "$output" = "$T/g:1: malformed line: no newline at the end" ]
	run "$CTL" log verify --file "$T/none"
	[ "$status" -eq 1 ]
	[ "$output" = "$T/none: No such file or directory" ]
	run "$CTL" --json log --file "$T/none"
	[ "$status" -eq 1 ]
	echo "$output" | jq -e '.error | endswith("/none: No such file or directory")'
}

@test "log --help, log verify --help and bad arguments" {
	run "$CTL" log --help
	[ "$status" -eq 0 ]
	[[ $output == "Usage: iotgatectl [--json] log [--annotate] [--dir DIR | --file PATH...]"* ]]
	run "$CTL" log verify --help
	[ "$status" -eq 0 ]
	[[ $output == "Usage: iotgatectl [--json] log verify [--dir DIR | --file PATH...] [--aggregate HEX]"* ]]
	run "$CTL" --help
	[[ $output == *"  log [verify] [--file PATH]"* ]]
	run "$CTL" log frobnicate
	[ "$status" -eq 1 ]
	[ "$output" = "iotgatectl: log: unexpected argument 'frobnicate' (try 'iotgatectl log --help')" ]
	run "$CTL" log verify --file
	[ "$status" -eq 1 ]
	[ "$output" = "iotgatectl: log verify: --file needs an argument" ]
	run "$CTL" log --aggregate "$ZERO"
	[ "$status" -eq 1 ]
	[ "$output" = "iotgatectl: log: --aggregate belongs to 'log verify'" ]
}
