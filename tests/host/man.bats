#!/usr/bin/env bats
# SPDX-License-Identifier: GPL-2.0-only
# Documentation users expect: iotgated(8), iotgatectl(8), iotgate.conf(5)
# lint clean and installed, saying what the programs really do; the bash
# completion installed and completing.

load ../lib/common

MAN=$TOP/userspace/man

setup() {
	T=$(mktemp -d)
}

teardown() {
	rm -rf "$T"
}

@test "make install puts the man pages and the completion where man and bash look" {
	make -C "$TOP" -s install DESTDIR="$T/root" PREFIX=/usr >/dev/null
	[ -f "$T/root/usr/share/man/man8/iotgated.8" ]
	[ -f "$T/root/usr/share/man/man8/iotgatectl.8" ]
	[ -f "$T/root/usr/share/man/man5/iotgate.conf.5" ]
	[ -f "$T/root/usr/share/bash-completion/completions/iotgatectl" ]
	cmp "$MAN/iotgate.conf.5" "$T/root/usr/share/man/man5/iotgate.conf.5"
	[ "$(stat -c %a "$T/root/usr/share/man/man8/iotgatectl.8")" = 644 ]
	# man finds them in the installed tree
	run man -M "$T/root/usr/share/man" -P cat 5 iotgate.conf
	[ "$status" -eq 0 ]
	[[ $output == *"iotgate policy: mode, manifest, signatures"* ]]
}

@test "mandoc -Tlint -W style: no message, cross references resolved" {
	mkdir -p "$T/man/man5" "$T/man/man8"
	cp "$MAN"/*.8 "$T/man/man8/"
	cp "$MAN"/*.5 "$T/man/man5/"
	makewhatis "$T/man"
	for f in "$MAN"/iotgated.8 "$MAN"/iotgatectl.8 "$MAN"/iotgate.conf.5; do
		run mandoc -Tlint -W style -M "$T/man:/usr/share/man" "$f"
		echo "$output"
		[ "$status" -eq 0 ]
		# only mandoc's note about the system's own database may appear
		[ -z "$(grep -v '^mandoc: outdated mandoc.db' <<<"$output")" ]
	done
	# and the check does report a broken page
	printf '.Dd x\n.Dt X 8\n.Os\n.Sh NAME\n.Nm x\n.Nd y\n.Bl -tag\n' >"$T/bad.8"
	run mandoc -Tlint -W style "$T/bad.8"
	[ "$status" -ne 0 ]
}

@test "iotgated(8) documents every option of iotgated --help, and the socket commands" {
	opts=$("$IOTGATED" --help | grep -oE -- '--[a-z-]+' | sort -u)
	[ -n "$opts" ]
	for o in $opts; do
		grep -qE "^\.It .*Fl -${o#--}( |$)" "$MAN/iotgated.8" || { echo "missing $o"; false; }
	done
	# the commands the daemon answers: the command table iotgated and iotgatectl
	# share (ipc.c's ig_commands), and any the daemon tests by name
	cmds=$( {
		grep -oE '!strcmp\(cmd, "[a-z-]+"\)' "$TOP"/userspace/iotgated.c "$TOP"/userspace/daemon/*.c
		sed -n '/ig_req_cmd ig_commands\[.*\] = {/,/};/p' "$TOP"/userspace/ipc.c |
			grep -oE '= \{ "[a-z-]+"'
	} | grep -oE '"[a-z-]+"' | tr -d '"' | sort -u)
	echo "$cmds"
	[ "$(wc -w <<<"$cmds")" -ge 8 ]
	[[ $cmds == *status* ]]
	for c in $cmds; do
		grep -q "{\"cmd\":\"$c\"" "$MAN/iotgated.8" || { echo "missing command $c"; false; }
	done
}

@test "iotgatectl(8) documents every object of iotgatectl --help and every global option" {
	objs=$("$CTL" --help | sed -n '/^Objects and commands:/,/^$/p' | awk 'NR > 1 && NF { print $1 }' | sort -u)
	[ "$(wc -w <<<"$objs")" -ge 5 ]
	for o in $objs; do
		grep -qE "^\.It Cm $o( |$)" "$MAN/iotgatectl.8" || { echo "missing object $o"; false; }
	done
	# and every command of each object ('policy apply', 'manifest rollback', ...)
	# (the first column of the help, up to two blanks; [cmd] is optional, a|b two)
	"$CTL" --help | sed -n '/^Objects and commands:/,/^$/{s/^  //;s/  .*//;p}' | sed 1d |
		while read -r o rest; do
			for w in $rest; do
				[[ $w =~ ^\[?[a-z][a-z|-]*\]?$ ]] || break
				for c in $(tr '|[]' '   ' <<<"$w"); do
					grep -qE "^\.It Cm $o $c( |$)" "$MAN/iotgatectl.8" ||
						{ echo "missing $o $c"; exit 1; }
				done
			done
		done
	for o in $("$CTL" --help | sed -n '/^Options:/,$p' | grep -oE -- '--[a-z-]+' | sort -u); do
		grep -qE "^\.It .*Fl -${o#--}( |$)" "$MAN/iotgatectl.8" || { echo "missing $o"; false; }
	done
}

@test "iotgate.conf(5) documents every directive the parsers accept, and its examples parse" {
	kws=$(sed -n 's/.*strcmp(kw, "\([a-z-]*\)").*/\1/p' "$TOP/userspace/policy.c" "$TOP/userspace/netpolicy.c" | sort -u)
	[[ $kws == *manifest* && $kws == *interface* ]]
	for k in $kws; do
		case $k in
		allow | deny) grep -q '^\.It Cm allow | deny Ar subject' "$MAN/iotgate.conf.5" ;;
		*) grep -qE "^\.It Ic $k( |$)" "$MAN/iotgate.conf.5" ;;
		esac || { echo "undocumented directive $k"; false; }
	done
	# every .Bd -literal example that has a 'mode' line is a valid policy
	awk '/^\.Bd -literal/ { n++; on = 1; next } /^\.Ed/ { on = 0 } on { print > (dir "/ex" n) }' \
		dir="$T" "$MAN/iotgate.conf.5"
	checked=0
	for ex in "$T"/ex*; do
		grep -q '^mode ' "$ex" || continue
		: >"$T/manifest.sha256"
		sed -i 's|^manifest .*|manifest manifest.sha256|' "$ex"
		run "$CTL" policy check "$ex"
		echo "$output"
		[ "$status" -eq 0 ]
		checked=$((checked + 1))
	done
	[ "$checked" -ge 2 ]
}

@test "bash completion: objects, commands, options and files" {
	[ -r /usr/share/bash-completion/bash_completion ] ||
		{ echo "install bash-completion (scripts/install-deps)"; false; }
	cd "$MAN"
	run bash -c '
		source /usr/share/bash-completion/bash_completion
		source "$1"
		comp() {
			COMP_WORDS=("$@"); COMP_CWORD=$((${#COMP_WORDS[@]} - 1))
			COMP_LINE="$*"; COMP_POINT=${#COMP_LINE}; COMPREPLY=()
			_iotgatectl iotgatectl "${COMP_WORDS[-1]}" "${COMP_WORDS[-2]}"
			printf "%s\n" "${COMPREPLY[@]}" | sort | tr "\n" " "; echo
		}
		comp iotgatectl ""
		comp iotgatectl --js
		comp iotgatectl policy ""
		comp iotgatectl --socket /x log verify --a
		comp iotgatectl check-kernel iotgate.conf
		comp iotgatectl manifest apply m.sha256 --f
		complete -p iotgatectl
	' _ "$TOP/scripts/iotgatectl.bash-completion"
	[ "$status" -eq 0 ]
	[ "${lines[0]}" = "check-kernel events help log manifest metrics policy status stop-enforcing " ]
	[ "${lines[1]}" = "--json " ]
	[ "${lines[2]}" = "--help apply check factory rollback " ]
	[ "${lines[3]}" = "--aggregate " ]
	[ "${lines[4]}" = "iotgate.conf.5 " ]
	[ "${lines[5]}" = "--force " ]
	[ "${lines[6]}" = "complete -F _iotgatectl iotgatectl" ]
	# every object of iotgatectl --help is offered
	for obj in $("$CTL" --help | sed -n '/^Objects and commands:/,/^$/p' | awk 'NR > 1 && NF { print $1 }'); do
		[[ " ${lines[0]}" == *" $obj "* ]] || { echo "completion lacks $obj"; false; }
	done
}
