#!/usr/bin/env bats
# SPDX-License-Identifier: GPL-2.0-only
# meta-iotgate: the layer's structure, and the recipe's compile, install and
# ptest steps run by hand the way BitBake runs them (its shell functions with
# OE's variables, cross-compiling for aarch64), checked against the files the
# recipe packages. BitBake itself is not available here: OE's default
# package layout (bitbake.conf, ptest, bash-completion and systemd classes)
# is modelled below.

load ../lib/common

LAYER=$TOP/meta-iotgate
RECIPE=$LAYER/recipes-security/iotgate/iotgate_git.bb
INC=$LAYER/recipes-security/iotgate/iotgate-source.inc

setup() {
	T=$(mktemp -d)
}

teardown() {
	rm -rf "$T"
}

# A BitBake assignment's value (VAR = "..." with \-continued lines, or +=),
# expanded with the shell variables of the emulated environment.
bbvar() {
	local name=$1 file=${2:-$RECIPE} raw
	raw=$(awk -v n="$name" '
		index($0, n " = \"") == 1 || index($0, n " += \"") == 1 { on = 1; sub(/^[^"]*"/, "") }
		on { print; if ($0 ~ /"$/ && $0 !~ /\\$/) exit }' "$file")
	raw=${raw%\"}
	eval "printf '%s' \"$raw\""
}

# The body of a shell function of the recipe (or of FILE), with ${VAR}
# expanded before the shell sees it, as BitBake does. A variable the
# emulated environment does not define is an error, not an empty string.
bbfunc() {
	local s out= pre name
	s=$(awk -v f="$1() {" '$0 == f { on = 1; next } on && /^}/ { exit } on { print }' "${2:-$RECIPE}")
	[ -n "$s" ] || { echo "no function $1" >&2; return 1; }
	while [[ $s == *'${'* ]]; do
		pre=${s%%'${'*}
		s=${s#*'${'}
		name=${s%%\}*}
		s=${s#*\}}
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
	CC=${cross}gcc
	AR=${cross}ar
	DEBUG_PREFIX_MAP="-fmacro-prefix-map=$TOP=/usr/src/debug/$PN/$PV -fdebug-prefix-map=$TOP=/usr/src/debug/$PN/$PV -fdebug-prefix-map=$WORKDIR=/usr/src/debug/$PN/$PV"
	CFLAGS="-O2 -pipe -g -feliminate-unused-debug-types $DEBUG_PREFIX_MAP"
	CPPFLAGS=
	LDFLAGS="-Wl,-O1 -Wl,--hash-style=gnu -Wl,--as-needed"
	IOTGATE_VMLINUX_BTF=
	# IOTGATE_BPF_CFLAGS: DEBUG_PREFIX_MAP less -fcanon-prefix-map (its :remove)
	IOTGATE_BPF_CFLAGS=$DEBUG_PREFIX_MAP
	grep -qx 'IOTGATE_BPF_CFLAGS = "${DEBUG_PREFIX_MAP}"' "$RECIPE"
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

@test "layer: layer.conf, recipes, classes and the kernel fragment are where BitBake looks" {
	conf=$LAYER/conf/layer.conf
	grep -qx 'BBFILE_COLLECTIONS += "iotgate"' "$conf"
	grep -qx 'BBFILE_PATTERN_iotgate = "^${LAYERDIR}/"' "$conf"
	grep -q '^BBFILES += "${LAYERDIR}/recipes-\*/\*/\*.bb ${LAYERDIR}/recipes-\*/\*/\*.bbappend"$' "$conf"
	compat=$(sed -n 's/^LAYERSERIES_COMPAT_iotgate = "\(.*\)"$/\1/p' "$conf")
	[[ " $compat " == *" kirkstone "* && " $compat " == *" scarthgap "* ]]
	grep -q '^LAYERDEPENDS_iotgate = "core openembedded-layer"$' "$conf"
	# every recipe and append matches BBFILES
	n=0
	for f in "$LAYER"/recipes-*/*/*.bb "$LAYER"/recipes-*/*/*.bbappend; do
		[ -f "$f" ] && n=$((n + 1))
	done
	[ "$n" -eq 3 ]
	[ -f "$LAYER/classes/iotgate-manifest.bbclass" ]
	[ -x "$LAYER/recipes-security/iotgate/files/run-ptest" ]
	[ -f "$LAYER/recipes-kernel/linux/linux-yocto/bpf-lsm.cfg" ]
	grep -q 'file://bpf-lsm.cfg' "$LAYER/recipes-kernel/linux/linux-yocto_%.bbappend"
	grep -q '^## Adding the layer' "$LAYER/README.md"
	# every file has its SPDX line
	for f in $(find "$LAYER" -type f ! -name '*.md'); do
		head -n 2 "$f" | grep -q 'SPDX-License-Identifier: GPL-2.0-only' || { echo "$f"; false; }
	done
}

@test "recipe: OE conventions (license checksum, depends, classes, service, packageconfig, packages)" {
	# LIC_FILES_CHKSUM is right for the Makefile's first line
	sum=$(sed -n 's/.*file:\/\/Makefile;beginline=1;endline=1;md5=\([0-9a-f]*\)".*/\1/p' "$INC")
	[ "$sum" = "$(head -n 1 "$TOP/Makefile" | md5sum | cut -d' ' -f1)" ]
	grep -q '^LICENSE = "GPL-2.0-only"$' "$INC"
	grep -q '^require iotgate-source.inc$' "$RECIPE"
	deps=$(bbvar DEPENDS)
	for d in libbpf elfutils zlib openssl json-c bpftool-native clang-native; do
		[[ " $deps " == *" $d "* ]] || { echo "DEPENDS lacks $d"; false; }
	done
	inherit=$(sed -n 's/^inherit //p' "$RECIPE")
	for c in systemd ptest useradd bash-completion; do
		[[ " $inherit " == *" $c "* ]]
	done
	grep -q '^SYSTEMD_SERVICE:${PN} = "iotgated.service"$' "$RECIPE"
	grep -q '^PACKAGECONFIG\[kmod\] = ",,,kernel-module-iotgate-measure"$' "$RECIPE"
	grep -q '^RPROVIDES:${PN} += "kernel-module-iotgate-measure"$' "$LAYER/recipes-kernel/iotgate-kmod/iotgate-kmod_git.bb"
	grep -q '^inherit module$' "$LAYER/recipes-kernel/iotgate-kmod/iotgate-kmod_git.bb"
	grep -q '^GROUPADD_PARAM:${PN} = "--system iotgate"$' "$RECIPE"
	grep -qx 'RDEPENDS:${PN} += "libcrypto"' "$RECIPE" # dlopen()ed
	# the fetch is of a local git clone: no network at any step
	grep -q 'IOTGATE_SRC_URI ??= "git://${IOTGATE_SRCDIR};protocol=file;' "$INC"
	# the Makefile variables the recipe sets are ones the Makefile documents
	oe_env
	for v in $(grep -oE "[A-Z_]+=" <<<"$EXTRA_OEMAKE" | tr -d = | sort -u); do
		grep -qE "^#   .*\b$v\b" "$TOP/Makefile" || { echo "$v is not a documented Makefile variable"; false; }
	done
}

@test "kernel fragment: check-kernel judges bpf-lsm.cfg full, and the append turns on pahole" {
	cfg=$LAYER/recipes-kernel/linux/linux-yocto/bpf-lsm.cfg
	run "$CTL" --json check-kernel "$cfg"
	[ "$status" -eq 0 ]
	echo "$output" | jq -e '.tier == "full" and .reasons == []'
	echo "$output" | jq -e '.checks[] | select(.name == "CONFIG_DEBUG_INFO_BTF_MODULES") | .status == "present"'
	grep -qx 'CONFIG_LSM="[a-z,]*,bpf"' "$cfg"
	grep -qx 'CONFIG_IKCONFIG_PROC=y' "$cfg"
	app=$LAYER/recipes-kernel/linux/linux-yocto_%.bbappend
	grep -q "^EXTRA_OEMAKE:remove = .*PAHOLE=false" "$app"
	grep -q '^DEPENDS:append = .*pahole-native' "$app"
	grep -q '^do_kernel_configme\[depends\] += .*pahole-native:do_populate_sysroot' "$app"
	# nothing changes without the distro feature
	grep -q "bb.utils.contains('DISTRO_FEATURES', 'iotgate'" "$app"
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

	# the unit file names the installed daemon and policy
	grep -qx 'ExecStart=/usr/sbin/iotgated --syslog --policy /etc/iotgate/iotgate.conf' \
		"$D/usr/lib/systemd/system/iotgated.service"

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

@test "iotgate-manifest.bbclass: the image's allowlist, target paths, same as manifest create" {
	R=$T/rootfs
	mkdir -p "$R/usr/bin" "$R/usr/sbin" "$R/usr/lib/x" "$R/usr/share" "$R/etc"
	ln -s usr/bin "$R/bin"
	printf 'a' >"$R/usr/bin/tool" && chmod 755 "$R/usr/bin/tool"
	printf 'b' >"$R/usr/lib/libx.so.1" && chmod 644 "$R/usr/lib/libx.so.1"
	printf 'c' >"$R/usr/lib/x/data.txt"
	printf 'd' >"$R/usr/sbin/odd name" && chmod 700 "$R/usr/sbin/odd name"
	printf 'e' >"$R/usr/share/not-code"
	IMAGE_ROOTFS=$R
	sysconfdir=/etc base_bindir=/bin base_sbindir=/sbin base_libdir=/lib bindir=/usr/bin
	sbindir=/usr/sbin libdir=/usr/lib libexecdir=/usr/libexec
	cls=$LAYER/classes/iotgate-manifest.bbclass
	IOTGATE_MANIFEST_DIRS=$(sed -n 's/^IOTGATE_MANIFEST_DIRS ?= "\(.*\)"$/\1/p' "$cls")
	IOTGATE_MANIFEST=$(sed -n 's/^IOTGATE_MANIFEST ?= "\(.*\)"$/\1/p' "$cls")
	eval "IOTGATE_MANIFEST=\"$IOTGATE_MANIFEST\"; IOTGATE_MANIFEST_DIRS=\"$IOTGATE_MANIFEST_DIRS\""
	grep -q '^ROOTFS_POSTPROCESS_COMMAND += "iotgate_manifest; "$' "$cls"
	body=$(bbfunc iotgate_manifest "$cls")
	[[ $body == *"out=$R/etc/iotgate/manifest.sha256"* ]]
	eval "$body"
	m=$R/etc/iotgate/manifest.sha256
	cat "$m"
	[ "$(stat -c %a "$m")" = 644 ]
	# what 'iotgatectl manifest create' prints for the same files, seen from the device
	(cd "$R" && "$CTL" manifest create ./usr/bin/tool ./usr/lib/libx.so.1 "./usr/sbin/odd name") |
		sed 's|  \./|  /|' >"$T/expected"
	diff -u "$T/expected" "$m"
	# and the daemon's parser takes it
	printf 'mode audit\nmanifest manifest.sha256\n' >"$R/etc/iotgate/iotgate.conf"
	run "$CTL" policy check "$R/etc/iotgate/iotgate.conf"
	[ "$status" -eq 0 ]
}
