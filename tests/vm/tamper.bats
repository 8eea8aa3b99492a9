#!/usr/bin/env bats
# SPDX-License-Identifier: GPL-2.0-only
# Tamper-proofing (full tier, enforce mode, self-protect on): each attack of
# issue 12, with the issue's own commands, as root. Each is refused with
# EPERM, logged as a "self" violation naming what was refused, and the state
# is ok before and still ok after. What is not refused (a link detached while
# self-protection is off) turns the state "compromised" within a bounded poll.

load ../lib/common

CG=/sys/fs/cgroup/igtamper

setup() {
	ig_cleanup
	T=$(mktemp -d)
	cp /usr/bin/true "$T/allowed"
	ig_manifest "$T/allowed" "$CTL" "$IOTGATED" "$EXECTOOL" "$(command -v bpftool)" \
		"$(command -v umount)" "$(command -v mount)" "$(command -v unshare)"
}

teardown() {
	if [[ -d $CG ]]; then
		echo 0 >"$CG/d/cgroup.freeze" 2>/dev/null || true
		echo $$ >/sys/fs/cgroup/cgroup.procs 2>/dev/null || true
	fi
	ig_cleanup
	if [[ -d $CG ]]; then
		for p in $(cat "$CG"/*/cgroup.procs 2>/dev/null); do
			echo "$p" >/sys/fs/cgroup/cgroup.procs 2>/dev/null || true
		done
		rmdir "$CG"/* "$CG" 2>/dev/null || true
	fi
	rm -rf "$T"
}


# tpolicy MODE: ig_policy with an interface rule, so that the cgroup programs are attached too
tpolicy() {
	ig_policy "$1"
	echo "interface igtamper0 disable" >>"$T/iotgate.conf"
}

# ok_around: health ok and self-protection on before and after the attacks
ok_around() {
	for f in before after; do
		jq -e '.health == "ok" and .tier == "full" and .hooks.self_protect == true' "$T/$f.json"
	done
}

# refused NAME...: each attack printed errno=EPERM (exectool) or the shell said so
refused() {
	for n in "$@"; do
		# util-linux says "must be superuser" or "permission denied" for EPERM
		grep -qE "errno=EPERM|Operation not permitted|must be superuser|permission denied" \
			"$T/$n.out" "$T/$n.err" ||
			{ echo "$n: not refused with EPERM" >&2; cat "$T/$n.out" "$T/$n.err" >&2; return 1; }
	done
}

# logged REASON MIN: at least MIN "self" violations with that reason, denied
logged() {
	jq -e --arg r "$1" --argjson n "$2" \
		'[.violations[] | select(.type == "self" and .verdict == "deny" and .reason == $r)] | length >= $n' \
		"$T/after.json" ||
		{ jq -c '.violations[] | [.type, .reason, .path, .comm]' "$T/after.json" >&2; return 1; }
}

@test "the daemon is a process, not a file: a traced or renamed copy of its binary gets nothing" {
	# the tracer may trace (allow-ptrace), so the traced exec happens; the exemption does not follow
	tpolicy enforce
	echo "allow-ptrace $EXECTOOL" >>"$T/iotgate.conf"
	cat >"$T/s.sh" <<-'EOS'
		"$CTL" status --json >"$T/before.json"
		run_rc traced "$EXECTOOL" traced-unlink "$IOTGATED" "$PIN_DIR/link_ig_bprm_check"
		run_rc exefile "$EXECTOOL" exe-file "$IOTGATED"
		run_rc unlink "$EXECTOOL" unlink "$PIN_DIR/link_ig_bprm_check"
		"$CTL" status --json >"$T/after.json"
	EOS
	scenario "$T/s.sh"
	[[ $output == *"traced=1"* ]]
	[[ $output == *"exefile=1"* ]]
	[[ $output == *"unlink=1"* ]]
	refused traced exefile unlink
	ok_around
	logged pinned_object 2
	logged exe_link 1
}

@test "PTRACE_TRACEME by a child of a tracer not named allow-ptrace is refused" {
	tpolicy enforce
	cat >"$T/s.sh" <<-'EOS'
		"$CTL" status --json >"$T/before.json"
		run_rc traced "$EXECTOOL" traced-unlink "$IOTGATED" "$PIN_DIR/link_ig_bprm_check"
		"$CTL" status --json >"$T/after.json"
	EOS
	scenario "$T/s.sh"
	[[ $output == *"traced=1"* ]]
	grep -q "traceme errno=EPERM" "$T/traced.out"
	ok_around
	jq -e '[.violations[] | select(.type == "inject" and .verdict == "deny")] | length >= 1' "$T/after.json"
}

@test "bpffs: umount -l /sys/fs/bpf, /sys or / (in a mount namespace), mounting over it and moving it are refused" {
	tpolicy enforce
	mkdir -p "$T/mnt"
	cat >"$T/s.sh" <<-'EOS'
		"$CTL" status --json >"$T/before.json"
		run_rc umount_bpf umount -l /sys/fs/bpf
		run_rc umount_sys umount -l /sys
		# the pins' bpffs is a grandchild of /: / -> /sys -> /sys/fs/bpf
		run_rc umount_root unshare -m --propagation private umount -l /
		run_rc umount_pins umount /sys/fs/bpf
		run_rc over_bpf mount -t tmpfs none /sys/fs/bpf
		run_rc over_pins mount -t tmpfs none $PIN_DIR
		run_rc move_bpf mount --move /sys/fs/bpf "$T/mnt"
		"$CTL" status --json >"$T/after.json"
	EOS
	scenario "$T/s.sh"
	for n in umount_bpf umount_sys umount_root umount_pins over_bpf over_pins move_bpf; do
		[[ $output == *"$n=32"* || $output == *"$n=1"* ]]
	done
	refused umount_bpf umount_sys umount_root umount_pins over_bpf over_pins move_bpf
	ok_around
	logged bpffs_mount 7
	# still mounted where it was, the pins in it
	[ "$(stat -f -c %T /sys/fs/bpf)" = bpf_fs ]
}

@test "bpf(): bpftool link detach id N, link fds by id and pinned objects are refused" {
	tpolicy enforce
	cat >"$T/s.sh" <<-'EOS'
		"$CTL" status --json >"$T/before.json"
		re='"ig_skb_egress",[[:space:]]*"id":[[:space:]]*([0-9]+)'
		[[ $(<"$T/before.json") =~ $re ]]
		id=${BASH_REMATCH[1]}
		echo "link_id=$id"
		run_rc detach "$(command -v bpftool)" link detach id "$id"
		run_rc linkfd "$EXECTOOL" linkfd "$id"
		run_rc objget "$EXECTOOL" objget "$PIN_DIR/link_ig_skb_egress"
		run_rc mapget "$EXECTOOL" objget "$PIN_DIR/ig_cfg"
		"$CTL" status --json >"$T/after.json"
	EOS
	scenario "$T/s.sh"
	[[ $output =~ link_id=[0-9]+ ]]
	[[ $output == *"detach="[1-9]* ]]
	[[ $output == *"linkfd=1"* ]]
	[[ $output == *"objget=1"* ]]
	[[ $output == *"mapget=1"* ]]
	refused detach linkfd objget mapget
	ok_around
	logged bpf_link 2
}

@test "cgroup: moving the daemon (cgroup.procs), cgroup.freeze and cgroup.kill of its cgroup are refused" {
	tpolicy enforce
	mkdir -p "$CG/d" "$CG/sh" "$CG/evil"
	# the daemon starts in $CG/d, as in a service's cgroup; the shell then leaves it
	echo $$ >"$CG/d/cgroup.procs"
	cat >"$T/s.sh" <<-'EOS'
		CG=/sys/fs/cgroup/igtamper
		echo $$ >"$CG/sh/cgroup.procs" && echo shell_moved=1
		"$CTL" status --json >"$T/before.json"
		attack() { local n=$1 v=$2 f=$3; { echo "$v" >"$f"; } 2>"$T/$n.err"; echo "$n=$?"; : >"$T/$n.out"; }
		attack procs "$DPID" "$CG/evil/cgroup.procs"
		attack procs_root "$DPID" /sys/fs/cgroup/cgroup.procs
		attack procs_hex "0x$(printf %x "$DPID")" "$CG/evil/cgroup.procs"
		attack threads "$DPID" "$CG/evil/cgroup.threads"
		attack freeze 1 "$CG/d/cgroup.freeze"
		attack kill 1 "$CG/d/cgroup.kill"
		attack kill_parent 1 "$CG/cgroup.kill"
		# the shell itself may still move: only the daemon is protected
		attack self_move $$ "$CG/evil/cgroup.procs"
		read -r dcg </proc/$DPID/cgroup; echo "dcg=$dcg"
		"$CTL" status --json >"$T/after.json"
	EOS
	scenario "$T/s.sh"
	[[ $output == *"shell_moved=1"* ]]
	for n in procs procs_root procs_hex threads freeze kill kill_parent; do
		[[ $output == *"$n=1"* ]]
	done
	[[ $output == *"self_move=0"* ]]
	refused procs procs_root procs_hex threads freeze kill kill_parent
	ok_around
	logged cgroup 7
	[[ $output == *"dcg=0::/igtamper/d"* ]]
}

@test "OOM: writing the daemon's oom_score_adj or oom_adj is refused" {
	tpolicy enforce
	cat >"$T/s.sh" <<-'EOS'
		"$CTL" status --json >"$T/before.json"
		{ echo 1000 >/proc/$DPID/oom_score_adj; } 2>"$T/adj.err"; echo "adj=$?"; : >"$T/adj.out"
		{ echo 15 >/proc/$DPID/oom_adj; } 2>"$T/oldadj.err"; echo "oldadj=$?"; : >"$T/oldadj.out"
		read -r score </proc/$DPID/oom_score_adj; echo "score=$score"
		"$CTL" status --json >"$T/after.json"
	EOS
	scenario "$T/s.sh"
	[[ $output == *"adj=1"* ]]
	[[ $output == *"oldadj=1"* ]]
	[[ $output != *"score=1000"* ]]
	refused adj oldadj
	ok_around
	logged oom_score 2
}

@test "binfmt_misc: registering a handler is refused and logged" {
	bm=/proc/sys/fs/binfmt_misc
	if [[ ! -e $bm/register ]]; then
		modprobe binfmt_misc 2>/dev/null || true
		mount -t binfmt_misc binfmt_misc "$bm" 2>/dev/null || true
	fi
	if [[ ! -e $bm/register ]]; then
		skip "binfmt_misc is not available in this kernel (module not loaded)"
	fi
	tpolicy enforce
	cat >"$T/s.sh" <<-'EOS'
		"$CTL" status --json >"$T/before.json"
		bm=/proc/sys/fs/binfmt_misc
		{ echo ":igtamper:M::IGT::$T/allowed:" >$bm/register; } 2>"$T/reg.err"; echo "reg=$?"; : >"$T/reg.out"
		"$CTL" status --json >"$T/after.json"
	EOS
	scenario "$T/s.sh"
	[[ $output == *"reg=1"* ]]
	refused reg
	[ ! -e "$bm/igtamper" ]
	ok_around
	logged binfmt_misc 1
}

@test "files: the state and keys directories and the policy files change only through the daemon" {
	tpolicy enforce
	cat >"$T/s.sh" <<-'EOS'
		"$CTL" status --json >"$T/before.json"
		w() { local n=$1; shift; { "$@"; } 2>"$T/$n.err"; echo "$n=$?"; : >"$T/$n.out"; }
		w append eval 'echo "mode audit" >>"$T/iotgate.conf"'
		w truncate eval ': >"$T/iotgate.conf.sig"'
		w manifest eval 'echo >>"$T/manifest.sha256"'
		w create eval 'echo x >"$T/state/evil"'
		w keyadd eval 'echo x >"$T/keys/evil.pem"'
		run_rc keyrm "$EXECTOOL" unlink "$T/keys/test.pem"
		run_rc staterename "$EXECTOOL" rename "$T/state" "$T/state.old"
		run_rc over "$EXECTOOL" rename "$T/allowed" "$T/iotgate.conf"
		run_rc hardlink "$EXECTOOL" link "$T/iotgate.conf" "$T/conf.link"
		run_rc mountover mount -t tmpfs none "$T/state"
		# next to the policy, other files are not the daemon's
		w other eval 'echo x >"$T/other.txt"'
		"$CTL" status --json >"$T/after.json"
	EOS
	scenario "$T/s.sh"
	for n in append truncate manifest create keyadd keyrm staterename over hardlink; do
		[[ $output == *"$n=1"* ]]
	done
	[[ $output == *"mountover=32"* ]]
	[[ $output == *"other=0"* ]]
	refused append truncate manifest create keyadd keyrm staterename over hardlink mountover
	ok_around
	logged protected_path 10
	grep -q '^mode enforce' "$T/iotgate.conf"
	[ ! -e "$T/state/evil" ]
}

@test "state: a link detached as the daemon never would turns health compromised (self-protect off)" {
	ig_manifest_exact "$T/allowed"
	tpolicy audit
	echo "self-protect off" >>"$T/iotgate.conf"
	ig_start
	jget .health | grep -qx ok
	id=$(jget '.hooks.links[] | select(.hook == "ig_skb_egress") | .id')
	[[ $id =~ ^[0-9]+$ ]]
	"$CTL" --json events >"$T/events.out" 2>&1 &
	epid=$!
	ig_nap 0.5
	start=$(date +%s%N)
	bpftool link detach id "$id"
	health=
	for i in $(seq 50); do
		health=$(jget .health)
		[[ $health == compromised ]] && break
		ig_nap 0.1
	done
	echo "compromised after $(((($(date +%s%N) - start) / 1000000))) ms, $i polls"
	[[ $health == compromised ]]
	jget '.reasons[] | select(.code == "compromised") | .message' | grep -q "hook ig_skb_egress"
	"$CTL" metrics | grep -qx 'iotgate_compromised{tier="full",mode="audit"} 1'
	kill "$epid"
	grep -q '"event": *"health", *"health": *"compromised", *"reason": *"hook ig_skb_egress' "$T/events.out"
	grep -q "compromised: hook ig_skb_egress" "$T/daemon.log"
}

@test "previous_daemon: clean after a stop, killed after SIGKILL, frozen when frozen first" {
	# the daemon is recorded (and its exit) when its binary is in the manifest
	ig_manifest "$T/allowed" "$CTL" "$IOTGATED"
	tpolicy audit
	ig_start
	jget .previous_daemon | grep -Exq 'clean|unclean|killed|frozen'
	kill -TERM "$DPID"
	wait "$DPID" || true
	ig_start
	jget .previous_daemon | grep -qx clean
	kill -KILL "$DPID"
	wait "$DPID" 2>/dev/null || true
	ig_start
	jget .previous_daemon | grep -qx killed
	grep -q "previous daemon (pid [0-9]*) ended killed" "$T/daemon.log"
	mkdir -p "$CG/f"
	echo "$DPID" >"$CG/f/cgroup.procs"
	echo 1 >"$CG/f/cgroup.freeze"
	sleep 4
	kill -KILL "$DPID"
	echo 0 >"$CG/f/cgroup.freeze"
	wait "$DPID" 2>/dev/null || true
	ig_start
	jget .previous_daemon | grep -qx frozen
}
