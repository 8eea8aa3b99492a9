# SPDX-License-Identifier: GPL-2.0-only
# For tests/host/progload.bats and tests/vm/progload.bats: the BPF objects the
# daemon loads and their programs, read from the ELF files with readelf (not
# with libbpf, which build/tests/progload itself uses). Load after common.

PROGLOAD=$B/tests/progload

# pl_objects: OBJS=(build/bpf/X.bpf.o for every bpf/X.bpf.c); fails when one
# is not built
pl_objects() {
	local src obj
	OBJS=()
	for src in "$TOP"/bpf/*.bpf.c; do
		obj=$B/bpf/$(basename "${src%.c}").o
		if [[ ! -f $obj ]]; then
			echo "not built: $obj (make)" >&2
			return 1
		fi
		OBJS+=("$obj")
	done
	[[ -x $PROGLOAD ]] || { echo "not built: $PROGLOAD (make)" >&2; return 1; }
}

# pl_programs OBJ: "NAME SEC" for each program of OBJ, where libbpf finds
# them: global functions in executable sections other than .text
pl_programs() {
	awk 'NR == FNR {
		if ($1 ~ /^\[[0-9]+\]$/ && NF == 11 && $8 ~ /X/ && $2 != ".text")
			sec[substr($1, 2, length($1) - 2)] = $2
		next
	}
	$4 == "FUNC" && $5 == "GLOBAL" && ($7 in sec) { print $8, sec[$7] }' \
		<(readelf -SW "$1" | sed 's/\[ */[/') <(readelf -sW "$1" 2>/dev/null)
}

# pl_check OUTPUT [REFUSABLE]: OUTPUT (progload's) has one line per program of
# OBJS and nothing else but indented log lines; each says "ok OBJ NAME (SEC)",
# or, for a SEC matching the extended regex REFUSABLE, "refused OBJ NAME (SEC): ..."
pl_check() {
	local out=$'\n'$1$'\n' refusable=${2:-} obj name sec n=0 m
	for obj in "${OBJS[@]}"; do
		m=0
		while read -r name sec; do
			m=$((m + 1))
			[[ $out == *$'\n'"ok $obj $name ($sec)"$'\n'* ]] && continue
			if [[ -n $refusable && $sec =~ $refusable &&
				$out == *$'\n'"refused $obj $name ($sec): "* ]]; then
				continue
			fi
			echo "pl_check: $obj $name ($sec) did not load" >&2
			return 1
		done < <(pl_programs "$obj")
		if ((m == 0)); then
			echo "pl_check: readelf finds no programs in $obj" >&2
			return 1
		fi
		n=$((n + m))
	done
	m=$(grep -cv '^    ' <<<"$1")
	if ((m != n)); then
		echo "pl_check: $m lines for $n programs" >&2
		return 1
	fi
}
