#!/usr/bin/env bats
# SPDX-License-Identifier: GPL-2.0-only
# meta-iotgate, judged by hand where bitbake cannot run it without fetching
# sources (bitbake itself judges the layer in tests/host/bitbake.bats):
#  - the layer's files where the Yocto tools look for them;
#  - the recipe's compile, install and ptest steps (cross-compiled for
#    aarch64), the module recipe's steps, the kernel class's configuration
#    step and the image class's shell function;
#  - the systemd unit (systemd-analyze, the daemon's sockets under strace)
#    and the init script (against the daemon).

load ../lib/common

LAYER=$TOP/meta-iotgate
RECIPE=$LAYER/recipes-security/iotgate/iotgate_git.bb
INC=$LAYER/recipes-security/iotgate/iotgate-source.inc
KCLASS=$LAYER/classes/iotgate-kernel.bbclass
MCLASS=$LAYER/classes/iotgate-manifest.bbclass
FRAGMENT=$LAYER/recipes-kernel/linux/files/bpf-lsm.cfg
# The lock the host suites share for the pin directory (tests below that
# start the daemon take it).
HOST_LOCK=/tmp/iotgate-host-tests.lock

setup() {
	T=$(mktemp -d)
}

teardown() {
	rm -rf "$T"
}

# ---------------------------------------------------------------------------
# the layer's files, and the recipe's steps run by hand

# A BitBake assignment's value in FILE (VAR = "...", +=, ?= with \-continued
# lines), expanded with the shell variables of the emulated environment.
bbvar() {
	local name=$1 file=${2:-$RECIPE} raw
	raw=$(awk -v n="$name" '
		index($0, n " = \"") == 1 || index($0, n " += \"") == 1 || index($0, n " ?= \"") == 1 { on = 1; sub(/^[^"]*"/, "") }
		on { print; if ($0 ~ /"$/ && $0 !~ /\\$/) exit }' "$file")
	raw=${raw%\"}
	raw=${raw//\\$'\n'/ }
	eval "printf '%s' \"$raw\""
}

# The body of a shell function of the recipe (or of FILE), with ${VAR}
# expanded before the shell sees it, as BitBake does. A variable the
# emulated environment does not define is an error, not an empty string.
# ${@bb.utils.contains('DISTRO_FEATURES', 'F', 'A', 'B', d)} is evaluated
# against $DISTRO_FEATURES.
bbfunc() {
	local s out= pre name
	s=$(awk -v f="$1() {" '$0 == f { on = 1; next } on && /^}/ { exit } on { print }' "${2:-$RECIPE}")
	[ -n "$s" ] || { echo "no function $1" >&2; return 1; }
	while [[ $s == *'${'* ]]; do
		pre=${s%%'${'*}
		s=${s#*'${'}
		name=${s%%\}*}
		s=${s#*\}}
		if [[ $name =~ ^@bb\.utils\.contains\(\'DISTRO_FEATURES\',\ \'([a-z0-9-]+)\',\ \'([^\']*)\',\ \'([^\']*)\',\ d\)$ ]]; then
			if [[ " $DISTRO_FEATURES " == *" ${BASH_REMATCH[1]} "* ]]; then
				out+=$pre${BASH_REMATCH[2]}
			else
				out+=$pre${BASH_REMATCH[3]}
			fi
			continue
		fi
		# bitbake expands ${NAME} only; ${2#...} and the like are the shell's
		if ! [[ $name =~ ^[A-Za-z0-9_+./~:-]+$ ]]; then
			out+=$pre'${'$name'}'
			continue
		fi
		if ! [[ $name =~ ^[A-Za-z_][A-Za-z0-9_]*$ ]] || ! declare -p "$name" >/dev/null 2>&1; then
			echo "\${$name} is not set in the emulated environment" >&2
			return 1
		fi
		out+=$pre${!name}
	done
	printf '%s\n' "$out$s"
}

# OE's variables for a target (aarch64 cross build unless told otherwise).
oe_env() {
	local cross=${1-aarch64-linux-gnu-}
	WORKDIR=$T/work
	S=$TOP
	B=$WORKDIR/build
	D=$WORKDIR/image
	PN=iotgate
	BPN=iotgate
	PV=$(cat "$TOP/VERSION")
	prefix=/usr exec_prefix=/usr bindir=/usr/bin sbindir=/usr/sbin libexecdir=/usr/libexec
	libdir=/usr/lib base_libdir=/usr/lib base_bindir=/usr/bin base_sbindir=/usr/sbin
	sysconfdir=/etc datadir=/usr/share mandir=/usr/share/man docdir=/usr/share/doc
	infodir=/usr/share/info includedir=/usr/include localstatedir=/var
	systemd_system_unitdir=/usr/lib/systemd/system
	PTEST_PATH=/usr/lib/iotgate/ptest
	DISTRO_FEATURES="systemd sysvinit ptest usrmerge"
	CC=${cross}gcc
	AR=${cross}ar
	DEBUG_PREFIX_MAP="-fmacro-prefix-map=$TOP=/usr/src/debug/$PN/$PV -fdebug-prefix-map=$TOP=/usr/src/debug/$PN/$PV -fdebug-prefix-map=$WORKDIR=/usr/src/debug/$PN/$PV"
	CFLAGS="-O2 -pipe -g -feliminate-unused-debug-types $DEBUG_PREFIX_MAP"
	CPPFLAGS=
	LDFLAGS="-Wl,-O1 -Wl,--hash-style=gnu -Wl,--as-needed"
	IOTGATE_VMLINUX_BTF=
	# Debian's multiarch /usr/include is this emulation's target sysroot
	STAGING_DIR_TARGET=/
	IOTGATE_BPF_CFLAGS=$(bbvar IOTGATE_BPF_CFLAGS)
	[[ $IOTGATE_BPF_CFLAGS == "--sysroot=/ $DEBUG_PREFIX_MAP" ]]
	grep -qx 'IOTGATE_BPF_CFLAGS:remove = "-fcanon-prefix-map"' "$RECIPE"
	mkdir -p "$B" "$D"
	EXTRA_OEMAKE=$(bbvar EXTRA_OEMAKE)
	IOTGATE_PTEST_HOST_ONLY=$(bbvar IOTGATE_PTEST_HOST_ONLY)
}

oe_runmake() {
	eval "make -C \"$S\" -j$(nproc) $EXTRA_OEMAKE" '"$@"'
}

# do_compile, do_install, ptest.bbclass's do_install_ptest_base (run-ptest,
# then the recipe's do_install_ptest), in that order, as BitBake would.
oe_build() {
	local f body
	set -e
	cd "$B"
	touch "$T/stamp"
	for f in do_compile do_install do_install_ptest; do
		body=$(bbfunc $f)
		# installs go below ${D}, never to the host
		[[ $f == do_compile || $body == *"DESTDIR='$D'"* || $body == *"t=$D$PTEST_PATH"* ]]
		if [ $f = do_install_ptest ]; then
			install -d "$D$PTEST_PATH"
			install -m 0755 "$LAYER/recipes-security/iotgate/files/run-ptest" "$D$PTEST_PATH/"
		fi
		eval "$body"
	done
	# nothing may have gone to the build host's own directories
	[ -z "$(find /usr/sbin /usr/share/man /usr/lib/systemd /etc -maxdepth 3 -newer "$T/stamp" -name '*iotgate*' 2>/dev/null)" ]
}

# FILES of each package, in OE's PACKAGES order: classes prepend theirs
# (ptest, then bash-completion), PACKAGE_BEFORE_PN comes right before ${PN}.
packages() {
	local before
	before=$(bbvar PACKAGE_BEFORE_PN)
	echo "$PN-bash-completion|$datadir/bash-completion $sysconfdir/bash_completion.d"
	echo "$PN-ptest|$PTEST_PATH"
	echo "$PN-dbg|/usr/lib/debug /usr/src/debug"
	echo "$PN-dev|$includedir $libdir/*.so $libdir/pkgconfig"
	echo "$PN-doc|$docdir $mandir $infodir"
	for p in $before $PN; do
		local own="" def=""
		own=$(bbvar "FILES:\${PN}${p#"$PN"}")
		[[ $p == "$PN" ]] && def="$bindir/* $sbindir/* $libexecdir/* $sysconfdir $localstatedir $datadir/$BPN $libdir/$BPN/* $systemd_system_unitdir/iotgated.service"
		echo "$p|$own $def"
	done
}

# package_of PATH: the first package whose FILES match PATH
package_of() {
	local path=$1 pkg pats p
	local -
	set -f # the patterns are matched below, not against this host's files
	while IFS='|' read -r pkg pats; do
		for p in $pats; do
			# shellcheck disable=SC2053  # glob match on purpose
			if [[ $path == "$p" || $path == "$p"/* || $path == $p ]]; then
				echo "$pkg"
				return
			fi
		done
	done < <(packages)
}

@test "layer: layer.conf, recipes, classes, fragment, license, README and SECURITY where the tools look" {
	conf=$LAYER/conf/layer.conf
	grep -qx 'BBFILE_COLLECTIONS += "iotgate"' "$conf"
	grep -qx 'BBFILE_PATTERN_iotgate = "^${LAYERDIR}/"' "$conf"
	grep -q '^BBFILES += "${LAYERDIR}/recipes-\*/\*/\*.bb ${LAYERDIR}/recipes-\*/\*/\*.bbappend"$' "$conf"
	# the supported releases only: scarthgap (5.0 LTS) and wrynose (6.0 LTS)
	grep -qx 'LAYERSERIES_COMPAT_iotgate = "scarthgap wrynose"' "$conf"
	grep -q '^LAYERDEPENDS_iotgate = "core openembedded-layer"$' "$conf"
	# every recipe and append matches BBFILES
	n=0
	for f in "$LAYER"/recipes-*/*/*.bb "$LAYER"/recipes-*/*/*.bbappend; do
		[ -f "$f" ] && n=$((n + 1))
	done
	[ "$n" -eq 3 ]
	[ -f "$KCLASS" ] && [ -f "$MCLASS" ]
	[ -x "$LAYER/recipes-security/iotgate/files/run-ptest" ]
	[ -f "$FRAGMENT" ]
	grep -qx "inherit \${@bb.utils.contains('DISTRO_FEATURES', 'iotgate', 'iotgate-kernel', '', d)}" \
		"$LAYER/recipes-kernel/linux/linux-yocto_%.bbappend"
	# what yocto-check-layer reads: README with maintainer, patches, e-mail
	# (and no pointer to another README, which would skip those checks); SECURITY
	readme=$LAYER/README.md
	grep -qi maintainer "$readme"
	grep -qi patch "$readme"
	grep -qE '[^@ ]+@[^@ ]+\.[a-z]+' "$readme"
	! grep -qi 'readme' "$readme"
	[ -s "$LAYER/SECURITY.md" ]
	grep -q '^## Adding the layer' "$readme"
	# the license file at the root is the one LIC_FILES_CHKSUM names: the GPL
	# version 2 text, as OE-Core's common license GPL-2.0-only
	grep -qx 'LICENSE = "GPL-2.0-only"' "$INC"
	sum=$(sed -n 's|^LIC_FILES_CHKSUM = "file://COPYING;md5=\([0-9a-f]*\)"$|\1|p' "$INC")
	[ "$sum" = "$(md5sum <"$TOP/COPYING" | cut -d' ' -f1)" ]
	grep -q 'GNU GENERAL PUBLIC LICENSE' "$TOP/COPYING"
	grep -q 'Version 2, June 1991' "$TOP/COPYING"
	# every source file says the same
	grep -q 'MODULE_LICENSE("GPL")' "$TOP/kmod/iotgate_measure.c"
	head -n 1 "$TOP/kmod/iotgate_measure.c" | grep -q 'SPDX-License-Identifier: GPL-2.0-only'
	# every file of the layer has its SPDX line
	for f in $(find "$LAYER" -type f ! -name '*.md'); do
		head -n 2 "$f" | grep -q 'SPDX-License-Identifier: GPL-2.0-only' || { echo "$f"; false; }
	done
}

@test "the readme's signed enforce-mode image: its lines name the classes' variables and a vendor kernel" {
	readme=$LAYER/README.md
	sed -n '/^## A signed enforce-mode image/,/^## What the layer provides/p' "$readme" >"$T/section"
	[ -s "$T/section" ]
	for l in 'KERNEL_CLASSES:append = " iotgate-kernel"' 'IMAGE_CLASSES += "iotgate-manifest"' \
		'IOTGATE_POLICY_MODE = "enforce"' 'IOTGATE_SIGNING_KEY = "/secure/keys/iotgate-image.pem"' \
		'/build/meta-freescale \' '/build/iotgate/meta-iotgate \' \
		'openssl genpkey -algorithm ed25519 -out /secure/keys/iotgate-image.pem'; do
		grep -qF -- "$l" "$T/section" || { echo "missing: $l"; false; }
	done
	# every IOTGATE_ variable the section sets is one the class defines
	for v in $(grep -oE '^ *IOTGATE_[A-Z_]+' "$T/section" | tr -d ' ' | sort -u); do
		grep -q "^$v ?= " "$MCLASS" || { echo "$v is not a variable of the class"; false; }
	done
}

@test "recipe: OE conventions (depends, classes, service, init script, packageconfig, ptest per architecture)" {
	grep -q '^require iotgate-source.inc$' "$RECIPE"
	deps=$(bbvar DEPENDS)
	for d in libbpf elfutils zlib openssl json-c bpftool-native clang-native; do
		[[ " $deps " == *" $d "* ]] || { echo "DEPENDS lacks $d"; false; }
	done
	inherit=$(sed -n 's/^inherit //p' "$RECIPE")
	for c in systemd update-rc.d ptest useradd bash-completion; do
		[[ " $inherit " == *" $c "* ]]
	done
	grep -q '^SYSTEMD_SERVICE:${PN} = "iotgated.service"$' "$RECIPE"
	grep -q '^INITSCRIPT_NAME:${PN} = "iotgated"$' "$RECIPE"
	grep -q '^PACKAGECONFIG\[kmod\] = ",,,kernel-module-iotgate-measure"$' "$RECIPE"
	grep -q '^PACKAGECONFIG\[tpm2\] = "TPM=1,TPM=0,tpm2-tss,libtss2 libtss2-tcti-device"$' "$RECIPE"
	grep -qx 'EXTRA_OEMAKE += "${PACKAGECONFIG_CONFARGS}"' "$RECIPE"
	grep -q '^RPROVIDES:${PN} += "kernel-module-iotgate-measure"$' "$LAYER/recipes-kernel/iotgate-kmod/iotgate-kmod_git.bb"
	grep -q '^inherit module$' "$LAYER/recipes-kernel/iotgate-kmod/iotgate-kmod_git.bb"
	grep -q '^GROUPADD_PARAM:${PN} = "--system iotgate"$' "$RECIPE"
	grep -qx 'RDEPENDS:${PN} += "libcrypto"' "$RECIPE" # dlopen()ed
	# bpftool (meta-oe: x86-64, aarch64 and riscv64 only) is not a ptest
	# dependency everywhere
	! bbvar 'RDEPENDS:${PN}-ptest' | grep -qw bpftool
	grep -qx 'IOTGATE_PTEST_BPFTOOL = ""' "$RECIPE"
	grep -qx 'IOTGATE_PTEST_BPFTOOL:aarch64 = "bpftool"' "$RECIPE"
	grep -qx 'IOTGATE_PTEST_BPFTOOL:x86-64 = "bpftool"' "$RECIPE"
	# the fetch is of a local git clone: no network at any step
	grep -q 'IOTGATE_SRC_URI ??= "git://${IOTGATE_SRCDIR};protocol=file;' "$INC"
	# the Makefile variables the recipe sets are ones the Makefile documents
	oe_env
	for v in $(grep -oE "[A-Z_]+=" <<<"$EXTRA_OEMAKE" | tr -d = | sort -u); do
		grep -qE "^#   .*\b$v\b" "$TOP/Makefile" || { echo "$v is not a documented Makefile variable"; false; }
	done
}

# the kernel class's shell functions, with OE's helpers emulated
kclass_env() {
	B=$T/kbuild
	mkdir -p "$B"
	IOTGATE_KERNEL_FRAGMENT_FILES=bpf-lsm.cfg
	IOTGATE_KERNEL_UNPACKDIR=$(dirname "$FRAGMENT")
	IOTGATE_KERNEL_REQUIRED=$(bbvar IOTGATE_KERNEL_REQUIRED "$KCLASS")
	[[ $IOTGATE_KERNEL_REQUIRED == *CONFIG_BPF_LSM* && $IOTGATE_KERNEL_REQUIRED == *CONFIG_DEBUG_INFO_BTF* ]]
	{
		echo 'bbfatal() { echo "FATAL: $*"; exit 1; }'
		echo 'bbwarn() { echo "WARNING: $*"; }'
		echo 'bbnote() { echo "NOTE: $*"; }'
		for f in iotgate_kconfig_merge iotgate_lsm_order; do
			echo "$f() {"
			bbfunc $f "$KCLASS"
			echo "}"
		done
		echo "cd '$B'" # do_iotgate_kernel_config[dirs]
		bbfunc do_iotgate_kernel_config "$KCLASS"
	} >"$T/kconfig.sh"
}

# kconfig_run CONFIG OLDDEFCONFIG: the task on a copy of CONFIG, with
# OLDDEFCONFIG standing in for the recipe's KERNEL_CONFIG_COMMAND
kconfig_run() {
	cp "$1" "$B/.config"
	KERNEL_CONFIG_COMMAND=$2
	kclass_env
	run bash -e "$T/kconfig.sh"
	echo "$output"
}

@test "iotgate-kernel.bbclass: merges bpf-lsm.cfg, adds bpf to the kernel's LSM order, fails when BTF is lost" {
	KERNEL_CONFIG_COMMAND=true
	kclass_env
	grep -qx 'addtask iotgate_kernel_config after do_configure before do_compile' "$KCLASS"
	grep -qx 'EXTRA_OEMAKE:remove = "PAHOLE=false"' "$KCLASS"
	grep -qx 'DEPENDS += "pahole-native"' "$KCLASS"
	# the fragment cannot replace the order: it has no CONFIG_LSM
	! grep -q '^CONFIG_LSM=' "$FRAGMENT"
	# a vendor configuration: its own LSM order, no BPF LSM, no BTF
	cat >"$T/vendor.config" <<-'EOF'
		CONFIG_ARM64=y
		CONFIG_BPF=y
		CONFIG_BPF_SYSCALL=y
		# CONFIG_BPF_JIT is not set
		CONFIG_SECURITY=y
		CONFIG_SECURITY_SELINUX=y
		CONFIG_LSM="lockdown,yama,loadpin,safesetid,integrity,selinux"
		# CONFIG_BPF_LSM is not set
		# CONFIG_DEBUG_INFO_BTF is not set
		CONFIG_IKCONFIG=m
	EOF
	kconfig_run "$T/vendor.config" true
	[ "$status" -eq 0 ]
	grep -qx 'CONFIG_LSM="lockdown,yama,loadpin,safesetid,integrity,selinux,bpf"' "$B/.config"
	grep -qx 'CONFIG_ARM64=y' "$B/.config"
	grep -qx 'CONFIG_SECURITY_SELINUX=y' "$B/.config"
	while read -r l; do
		grep -qxF "$l" "$B/.config" || { echo "not in the result: $l"; return 1; }
	done < <(grep -E '^CONFIG_' "$FRAGMENT")
	# each option once
	[ -z "$(grep -oE '^(# )?CONFIG_[A-Z0-9_]+' "$B/.config" | sed 's/^# //' | sort | uniq -d)" ]
	# what iotgate itself makes of the result
	run "$CTL" --json check-kernel "$B/.config"
	[ "$status" -eq 0 ]
	echo "$output" | jq -e '.tier == "full" and .reasons == []'
	echo "$output" | jq -e '.checks[] | select(.name == "CONFIG_DEBUG_INFO_BTF_MODULES") | .status == "present"'

	# bpf already in the order: kept where it is
	sed 's/^CONFIG_LSM=.*/CONFIG_LSM="landlock,bpf,yama"/' "$T/vendor.config" >"$T/c2"
	kconfig_run "$T/c2" true
	[ "$status" -eq 0 ]
	grep -qx 'CONFIG_LSM="landlock,bpf,yama"' "$B/.config"

	# no CONFIG_LSM in the recipe's configuration: the kernel's default order
	# (olddefconfig fills it in) gets bpf
	grep -v '^CONFIG_LSM=' "$T/vendor.config" >"$T/c3"
	kconfig_run "$T/c3" 'grep -q ^CONFIG_LSM= .config || echo CONFIG_LSM=\"landlock,lockdown,yama,integrity\" >>.config'
	[ "$status" -eq 0 ]
	grep -qx 'CONFIG_LSM="landlock,lockdown,yama,integrity,bpf"' "$B/.config"

	# Kconfig drops BTF (no pahole): the build fails and says which option
	kconfig_run "$T/vendor.config" "sed -i 's/^CONFIG_DEBUG_INFO_BTF=y\$/# CONFIG_DEBUG_INFO_BTF is not set/' .config"
	[ "$status" -ne 0 ]
	[[ $output == *"FATAL: iotgate-kernel:"*"CONFIG_DEBUG_INFO_BTF=y (the kernel made it: # CONFIG_DEBUG_INFO_BTF is not set)"* ]]
	# an option iotgate can do without: a warning
	kconfig_run "$T/vendor.config" "sed -i 's/^CONFIG_IKCONFIG_PROC=y\$/# CONFIG_IKCONFIG_PROC is not set/' .config"
	[ "$status" -eq 0 ]
	[[ $output == *"WARNING: iotgate-kernel: asked for 'CONFIG_IKCONFIG_PROC=y'"* ]]
	# an option this kernel does not have: a note
	kconfig_run "$T/vendor.config" "sed -i '/CONFIG_DEBUG_INFO_DWARF_TOOLCHAIN_DEFAULT/d' .config"
	[ "$status" -eq 0 ]
	[[ $output == *"NOTE: iotgate-kernel: CONFIG_DEBUG_INFO_DWARF_TOOLCHAIN_DEFAULT is not an option of this kernel"* ]]
}

@test "recipe steps, cross-compiled for aarch64, install exactly what the packages hold" {
	command -v aarch64-linux-gnu-gcc || { echo "run scripts/install-deps --cross" >&2; false; }
	oe_env aarch64-linux-gnu-
	run oe_build
	echo "$output" | tail -n 20
	[ "$status" -eq 0 ]

	# programs for the target
	for f in "$D/usr/sbin/iotgated" "$D/usr/sbin/iotgatectl" "$D$PTEST_PATH/build/unit-tests"; do
		m=$(LC_ALL=C readelf -h "$f" | sed -n 's/^ *Machine: *//p')
		[ "$m" = AArch64 ] || { echo "$f: machine '$m'"; find "$D" -type f | head -50; false; }
	done

	# every installed file belongs to a package, and to the expected one
	cd "$D"
	while read -r f; do
		p=$(package_of "/${f#./}")
		[ -n "$p" ] || { echo "not packaged: /${f#./}"; false; }
		echo "${f#.} $p" >>"$T/map"
	done < <(find . ! -type d | sort)
	cat "$T/map"
	want() { grep -qx "$1 $2" "$T/map" || { echo "$1 is not in $2"; false; }; }
	want /usr/sbin/iotgated iotgate
	want /usr/sbin/iotgatectl iotgate-ctl
	want /usr/lib/systemd/system/iotgated.service iotgate
	want /etc/init.d/iotgated iotgate
	want /etc/iotgate/iotgate.conf iotgate
	want /usr/share/iotgate/policies/default.conf iotgate-policies
	want /usr/share/man/man8/iotgated.8 iotgate-doc
	want /usr/share/man/man8/iotgatectl.8 iotgate-doc
	want /usr/share/man/man5/iotgate.conf.5 iotgate-doc
	want /usr/share/bash-completion/completions/iotgatectl iotgate-bash-completion
	want $PTEST_PATH/run-ptest iotgate-ptest
	want $PTEST_PATH/build/unit-tests iotgate-ptest
	want $PTEST_PATH/tests/lib/common.bash iotgate-ptest
	want $PTEST_PATH/tests/host/ctl.bats iotgate-ptest
	# every helper script the suites call is in the ptest tree
	for h in "$TOP"/tests/helpers/*; do
		case $h in *.c | *.h) continue ;; esac
		want "$PTEST_PATH/tests/helpers/$(basename "$h")" iotgate-ptest
	done
	[ -f "$D/etc/iotgate/iotgate.conf" ] # CONFFILES
	[ "$(bbvar 'CONFFILES:${PN}')" = /etc/iotgate/iotgate.conf ]

	# each FILES the recipe sets holds something
	for p in ctl policies; do
		grep -q " iotgate-$p\$" "$T/map" || { echo "iotgate-$p is empty"; false; }
	done

	# host-only suites stay behind, the others are there
	for s in $IOTGATE_PTEST_HOST_ONLY; do [ ! -e "$D$PTEST_PATH/tests/host/$s" ]; done
	for s in "$TOP"/tests/host/*.bats; do
		b=$(basename "$s")
		[[ " $IOTGATE_PTEST_HOST_ONLY " == *" $b "* ]] || [ -f "$D$PTEST_PATH/tests/host/$b" ]
	done

	# meta-oe builds no bpftool for 32-bit ARM: no installed suite calls it
	# (check-kernel.bats only after 'command -v clang bpftool', else skips)
	! grep -l 'bpftool' "$D$PTEST_PATH"/tests/host/*.bats | grep -v '/check-kernel\.bats$'
	[ -x "$D$PTEST_PATH/build/tests/bpfls" ]

	# the unit file and the init script name the installed daemon and policy
	grep -qx 'ExecStart=/usr/sbin/iotgated --syslog --policy /etc/iotgate/iotgate.conf' \
		"$D/usr/lib/systemd/system/iotgated.service"
	[ -x "$D/etc/init.d/iotgated" ]
	grep -qx 'DAEMON=/usr/sbin/iotgated' "$D/etc/init.d/iotgated"
	grep -qx 'POLICY=/etc/iotgate/iotgate.conf' "$D/etc/init.d/iotgated"
	! grep -q '@[A-Z]*@' "$D/etc/init.d/iotgated"

	# no path of the build host in anything installed (BPF objects included)
	! grep -rlF -e "$TOP" -e "$WORKDIR" "$D"
}

@test "run-ptest reports PASS/FAIL/SKIP per test and fails when a test fails" {
	oe_env ""
	run oe_build
	[ "$status" -eq 0 ]
	pt=$D$PTEST_PATH
	# on the host the ptest tree's programs are this build's
	ln -sf "$D/usr/sbin/iotgatectl" "$pt/build/iotgatectl"
	ln -sf "$D/usr/sbin/iotgated" "$pt/build/iotgated"
	"$pt/build/iotgatectl" --version
	# one quick suite, plus one that passes, fails and skips
	find "$pt/tests/host" -name '*.bats' ! -name ctl.bats -delete
	run env -i PATH=/usr/sbin:/usr/bin:/sbin:/bin HOME="$HOME" "$pt/run-ptest"
	echo "$output"
	[ "$status" -eq 0 ]
	[[ $output == *"PASS: unit/abi_layout_matches_bpf_btf"* ]]
	[[ $output == *"PASS: ctl/unknown object and --help"* ]]
	! grep -q '^FAIL:' <<<"$output"
	printf '@test "passes" {\n\ttrue\n}\n@test "fails" {\n\tfalse\n}\n@test "skips" {\n\tskip "no reason"\n}\n' \
		>"$pt/tests/host/zz.bats"
	run env -i PATH=/usr/sbin:/usr/bin:/sbin:/bin HOME="$HOME" "$pt/run-ptest"
	[ "$status" -eq 1 ]
	[[ $output == *$'PASS: zz/passes\n'* ]]
	[[ $output == *$'FAIL: zz/fails\n'* ]]
	[[ $output == *"SKIP: zz/skips"* ]]
}

@test "kmod recipe: module.bbclass's steps with its targets build and install iotgate_measure.ko" {
	KR=$LAYER/recipes-kernel/iotgate-kmod/iotgate-kmod_git.bb
	grep -q '^inherit module$' "$KR"
	grep -q '^DEPENDS += "pahole-native"$' "$KR"
	# the kernel tree Debian's headers give (scripts/build-kmod prepares it: base
	# BTF as vmlinux, resolve_btfids); in Yocto that is STAGING_KERNEL_DIR
	[[ -x $TOP/scripts/build-kmod ]] || skip "needs the build host's scripts"
	rel=$("$TOP/scripts/vm-kernel" --version)
	KDIR=/usr/src/linux-headers-$rel
	rbi=$(command -v resolve_btfids || true)
	[[ -x $KDIR/tools/bpf/resolve_btfids/resolve_btfids ]] && rbi=$KDIR/tools/bpf/resolve_btfids/resolve_btfids
	[[ -z $rbi && -x /var/cache/iotgate-kmod/resolve_btfids ]] && rbi=/var/cache/iotgate-kmod/resolve_btfids
	if [[ ! -s $KDIR/vmlinux || -z $rbi ]]; then
		"$TOP/scripts/build-kmod" --no-tool
		rbi=${rbi:-/var/cache/iotgate-kmod/resolve_btfids}
	fi
	# a source tree of its own, as do_unpack gives
	S=$T/git B=$T/git D=$T/image
	mkdir -p "$S/kmod" "$D"
	git -C "$TOP" archive HEAD kmod | tar -x -C "$S"
	STAGING_KERNEL_DIR=$KDIR STAGING_KERNEL_BUILDDIR=$KDIR KERNEL_VERSION=$rel nonarch_base_libdir=/lib
	MAKE_TARGETS=$(bbvar MAKE_TARGETS "$KR")
	MODULES_INSTALL_TARGET=$(bbvar MODULES_INSTALL_TARGET "$KR")
	MODULES_MODULE_SYMVERS_LOCATION=$(bbvar MODULES_MODULE_SYMVERS_LOCATION "$KR")
	[[ $MAKE_TARGETS == "-C $KDIR M=$S/kmod modules" ]]
	# module_do_compile and module_do_install (RESOLVE_BTFIDS: Debian's headers lack it)
	cd "$S"
	run make O="$STAGING_KERNEL_BUILDDIR" RESOLVE_BTFIDS="$rbi" $MAKE_TARGETS
	echo "$output" | tail -n 5
	[ "$status" -eq 0 ]
	run make DEPMOD=echo MODLIB="$D$nonarch_base_libdir/modules/$KERNEL_VERSION" \
		INSTALL_FW_PATH="$D$nonarch_base_libdir/firmware" O="$STAGING_KERNEL_BUILDDIR" $MODULES_INSTALL_TARGET
	echo "$output" | tail -n 5
	[ "$status" -eq 0 ]
	[ -f "$B/$MODULES_MODULE_SYMVERS_LOCATION/Module.symvers" ]
	ko=$(find "$D/lib/modules/$rel" -name iotgate_measure.ko)
	[ -n "$ko" ]
	readelf -S "$ko" | grep -q ' \.BTF '
	# module.bbclass names the package kernel-module-<name, _ as ->: what the recipes say
	grep -q '^RPROVIDES:${PN} += "kernel-module-iotgate-measure"$' "$KR"
	grep -q 'kernel-module-iotgate-measure' "$RECIPE"
}

# A test rootfs of copies of this host's files at their own paths, so that the
# manifest the class writes verifies against this host's files too.
mclass_rootfs() {
	R=$T/rootfs
	rm -rf "$R"
	mkdir -p "$R/usr/bin" "$R/usr/sbin" "$R/usr/lib/x" "$R/usr/share" "$R/etc/iotgate" "$R/etc/init.d"
	ln -s usr/bin "$R/bin"
	cp /usr/bin/true /usr/bin/cat "$R/usr/bin/"
	lib=$(readlink -f "$(ldconfig -p | awk '$1 == "libc.so.6" { print $NF; exit }')")
	mkdir -p "$R$(dirname "$lib")"
	cp "$lib" "$R$lib"
	printf 'c' >"$R/usr/lib/x/data.txt"
	printf 'e' >"$R/usr/share/not-code"
	printf '#!/bin/sh\n' >"$R/etc/init.d/rc.local" && chmod 755 "$R/etc/init.d/rc.local"
	printf 'version 1\nmode audit\nmanifest manifest.sha256\n' >"$R/etc/iotgate/iotgate.conf"
	IMAGE_ROOTFS=$R PN=core-image-minimal
	sysconfdir=/etc base_bindir=/bin base_sbindir=/sbin base_libdir=/lib bindir=/usr/bin
	sbindir=/usr/sbin libdir=/usr/lib libexecdir=/usr/libexec
	for v in IOTGATE_MANIFEST IOTGATE_MANIFEST_DIRS IOTGATE_POLICY IOTGATE_POLICY_FILE IOTGATE_POLICY_MODE \
		IOTGATE_POLICY_VERSION IOTGATE_SIGNING_KEY IOTGATE_SIGNING_KEY_NAME; do
		[[ -v $v ]] || printf -v "$v" '%s' "$(bbvar "$v" "$MCLASS")"
	done
	{
		echo 'bbfatal() { echo "FATAL: $*"; exit 1; }'
		echo 'iotgate_relpath() {'
		bbfunc iotgate_relpath "$MCLASS"
		echo '}'
		bbfunc iotgate_manifest "$MCLASS"
	} >"$T/manifest.sh"
}

@test "iotgate-manifest.bbclass: the image's allowlist, target paths, same as manifest create" {
	mclass_rootfs
	grep -qx 'ROOTFS_POSTPROCESS_COMMAND += "iotgate_manifest"' "$MCLASS"
	[[ $IOTGATE_MANIFEST == /etc/iotgate/manifest.sha256 ]]
	run bash -e "$T/manifest.sh"
	echo "$output"
	[ "$status" -eq 0 ]
	m=$R/etc/iotgate/manifest.sha256
	cat "$m"
	[ "$(stat -c %a "$m")" = 644 ]
	# what 'iotgatectl manifest create' prints for the same files, seen from the device
	(cd "$R" && "$CTL" manifest create ./etc/init.d/rc.local ./usr/bin/cat ./usr/bin/true ".$lib") |
		sed 's|  \./|  /|' >"$T/expected"
	diff -u "$T/expected" "$m"
	# no policy made, nothing signed: the package's policy stays
	grep -qx 'mode audit' "$R/etc/iotgate/iotgate.conf"
	[ ! -e "$m.sig" ] && [ ! -e "$R/etc/iotgate/keys" ]
	# and the daemon's parser takes it
	run "$CTL" policy check "$R/etc/iotgate/iotgate.conf"
	[ "$status" -eq 0 ]
}

@test "iotgate-manifest.bbclass: a generated enforce-mode policy and the manifest, signed, that iotgated accepts" {
	openssl genpkey -algorithm ed25519 -out "$T/signing.pem" 2>/dev/null
	IOTGATE_POLICY_MODE=enforce IOTGATE_POLICY_VERSION=7 IOTGATE_SIGNING_KEY=$T/signing.pem
	IOTGATE_SIGNING_KEY_NAME=vendor
	mclass_rootfs
	# only files this host has at the same paths, so that iotgated can verify them here
	rm "$R/etc/init.d/rc.local"
	run bash -e "$T/manifest.sh"
	echo "$output"
	[ "$status" -eq 0 ]
	e=$R/etc/iotgate
	cat "$e/iotgate.conf"
	grep -qx 'mode enforce' "$e/iotgate.conf"
	grep -qx 'version 7' "$e/iotgate.conf"
	grep -qx 'manifest manifest.sha256' "$e/iotgate.conf"
	# the public key only, the signatures openssl checks
	openssl pkey -in "$T/signing.pem" -pubout | cmp - "$e/keys/vendor.pem"
	! grep -q PRIVATE "$e/keys/vendor.pem"
	[ "$(ls "$e/keys")" = vendor.pem ]
	for f in iotgate.conf manifest.sha256; do
		openssl pkeyutl -verify -rawin -pubin -inkey "$e/keys/vendor.pem" -in "$e/$f" -sigfile "$e/$f.sig"
	done
	# iotgated verifies the set as at boot: signed, every entry matching
	n=$(wc -l <"$e/manifest.sha256")
	run "$IOTGATED" --check --keys-dir "$e/keys" --policy "$e/iotgate.conf"
	echo "$output"
	[ "$status" -eq 0 ]
	[[ $output == "$e/iotgate.conf: ok: mode enforce, $n of $n manifest entries verified, signed" ]]

	# a policy of the user's instead, signed the same way
	printf 'version 3\nmode enforce\nmanifest manifest.sha256\nprotect on\n' >"$T/mine.conf"
	IOTGATE_POLICY_MODE= IOTGATE_POLICY_FILE=$T/mine.conf
	mclass_rootfs
	rm "$R/etc/init.d/rc.local"
	run bash -e "$T/manifest.sh"
	[ "$status" -eq 0 ]
	cmp "$T/mine.conf" "$e/iotgate.conf"
	run "$IOTGATED" --check --keys-dir "$e/keys" --policy "$e/iotgate.conf"
	[ "$status" -eq 0 ]
	[[ $output == *": ok: mode enforce, "*", signed" ]]

	# not an Ed25519 key: the build fails
	openssl genpkey -algorithm rsa -pkeyopt rsa_keygen_bits:1024 -out "$T/rsa.pem" 2>/dev/null
	IOTGATE_SIGNING_KEY=$T/rsa.pem
	mclass_rootfs
	run bash -e "$T/manifest.sh"
	[ "$status" -ne 0 ]
	[[ $output == *"FATAL: iotgate-manifest: IOTGATE_SIGNING_KEY $T/rsa.pem is not an Ed25519 private key"* ]]
}

# ---------------------------------------------------------------------------
# the systemd unit and the init script

# the unit as 'make install' writes it, in a root with what it runs
unit_root() {
	U=$T/root/usr/lib/systemd/system/iotgated.service
	mkdir -p "$(dirname "$U")" "$T/root/usr/sbin" "$T/root/usr/bin"
	sed -e 's|@SBINDIR@|/usr/sbin|g' -e 's|@SYSCONFDIR@|/etc|g' "$TOP/scripts/iotgated.service.in" >"$U"
	grep -q "sed -e 's|@SBINDIR@|\$(SBINDIR)|g' -e 's|@SYSCONFDIR@|\$(SYSCONFDIR)|g'" "$TOP/Makefile"
	cp "$IOTGATED" "$T/root/usr/sbin/iotgated"
	cp "$(type -P kill)" "$T/root/usr/bin/kill"
}

@test "iotgated.service: systemd-analyze verify clean, hardened, after module autoload, reload by SIGHUP" {
	unit_root
	grep -qx 'After=sys-fs-bpf.mount sys-kernel-tracing.mount local-fs.target systemd-modules-load.service' "$U"
	grep -qx 'ExecReload=kill -HUP $MAINPID' "$U"
	grep -qx 'Type=notify' "$U"
	grep -qx 'RestrictAddressFamilies=AF_UNIX AF_NETLINK' "$U"
	# device rules need /dev as it is, the socket peers' /proc/PID/status
	! grep -qE '^(PrivateDevices|ProtectProc|PrivateNetwork|PrivateUsers)=' "$U"
	command -v systemd-analyze >/dev/null || skip "no systemd-analyze"
	run systemd-analyze verify --man=no --root="$T/root" "$U"
	echo "$output"
	[ "$status" -eq 0 ]
	[ -z "$output" ]
	run systemd-analyze security --offline=true --root="$T/root" "$U"
	exposure=$(sed -n 's/.*Overall exposure level for iotgated.service: \([0-9.]*\).*/\1/p' <<<"$output")
	echo "# systemd-analyze security: exposure $exposure" >&3
	[ -n "$exposure" ]
	awk -v e="$exposure" 'BEGIN { exit !(e < 4.0) }'
}

@test "the daemon opens only socket families the unit allows, and reads the MAC without AF_INET" {
	unit_root
	allowed=$(sed -n 's/^RestrictAddressFamilies=//p' "$U")
	command -v strace >/dev/null || skip "no strace"
	exec {lk}>"$HOST_LOCK"
	flock -w 1800 "$lk"
	"$TOP/scripts/host-setup"
	ig_cleanup
	printf '#!/bin/sh\nexec strace -f -qq -e trace=socket -o %s %s "$@"\n' "$T/strace" "$B/iotgated" >"$T/iotgated"
	chmod 755 "$T/iotgated"
	ig_manifest_exact "$CTL"
	ig_policy audit
	IOTGATED=$T/iotgated IG_NOSIGN=1 ig_start
	run "$CTL" status --json
	ig_cleanup
	wait "$DPID" || true # strace, done writing its log
	[ "$status" -eq 0 ]
	mac=$(jq -r .device.mac <<<"$output")
	cat "$T/strace"
	fams=$(sed -n 's/.*socket(\(AF_[A-Z0-9]*\),.*/\1/p' "$T/strace" | sort -u)
	[ -n "$fams" ]
	for f in $fams; do
		[[ " $allowed " == *" $f "* ]] || { echo "the daemon opened an $f socket, the unit forbids it"; false; }
	done
	! grep -q 'AF_INET' "$T/strace"
	# the permanent MAC of the first physical NIC, as ethtool sees it
	for n in /sys/class/net/*; do
		[[ -e $n/device ]] || continue
		perm=$(ethtool -P "${n##*/}" 2>/dev/null | awk '{ print $3 }')
		[[ $perm =~ ^[0-9a-f:]{17}$ ]] || continue
		[ "$mac" = "$perm" ]
		break
	done
}

@test "iotgated.init (sysvinit, busybox sh): start waits for the daemon, status, reload, stop leaves enforcement" {
	sh=sh
	command -v busybox >/dev/null && sh="busybox sh"
	mkdir -p "$T/sbin" "$T/etc/iotgate"
	ln -s "$IOTGATED" "$T/sbin/iotgated"
	ln -s "$CTL" "$T/sbin/iotgatectl"
	sed -e "s|@SBINDIR@|$T/sbin|g" -e "s|@SYSCONFDIR@|$T/etc|g" -e "s|/etc/default/iotgated|$T/default|g" \
		-e "s|/run/iotgated.pid|$T/pid|g" "$TOP/scripts/iotgated.init.in" >"$T/init"
	grep -qx "DAEMON=$T/sbin/iotgated" "$T/init"
	printf 'IOTGATED_ARGS="--keys-dir %s --state-dir %s"\nIOTGATED_START_TIMEOUT=60\n' "$T/keys" "$T/state" >"$T/default"
	exec {lk}>"$HOST_LOCK"
	flock -w 1800 "$lk"
	"$TOP/scripts/host-setup"
	ig_cleanup
	ig_manifest_exact "$CTL"
	ig_policy audit
	ig_keys
	mv "$T/iotgate.conf" "$T/manifest.sha256" "$T/etc/iotgate/"
	run $sh "$T/init" start
	echo "$output"
	[ "$status" -eq 0 ]
	[ "$output" = "Starting iotgated: iotgated." ]
	pid=$(cat "$T/pid")
	"$CTL" status --json | jq -e '.mode == "audit" and .policy.version == 1'
	run $sh "$T/init" status
	[ "$status" -eq 0 ]
	[ "$output" = "iotgated is running (pid $pid)" ]
	run $sh "$T/init" start
	[ "$output" = "iotgated is already running (pid $pid)" ]
	# reload: the daemon loads the changed policy set and swaps it in
	sed -i 's/^version 1$/version 2/' "$T/etc/iotgate/iotgate.conf"
	run $sh "$T/init" reload
	[ "$status" -eq 0 ]
	for _ in $(seq 100); do
		[ "$("$CTL" status --json | jq .policy.version)" = 2 ] && break
		sleep 0.1
	done
	[ "$("$CTL" status --json | jq .policy.version)" = 2 ]
	# stop: the daemon ends, the pins (enforcement) stay
	run $sh "$T/init" stop
	echo "$output"
	[ "$status" -eq 0 ]
	! kill -0 "$pid" 2>/dev/null
	[ ! -e "$T/pid" ]
	[ -d "$PIN_DIR" ]
	run $sh "$T/init" status
	[ "$status" -eq 3 ]
	ig_cleanup
	# a daemon that cannot start (and no applied set to fall back on): start fails
	rm -rf "$T/state"
	echo "bogus directive" >>"$T/etc/iotgate/iotgate.conf"
	run $sh "$T/init" start
	echo "$output"
	[ "$status" -ne 0 ]
	[[ $output == "Starting iotgated: failed"* ]]
	ig_cleanup
}
