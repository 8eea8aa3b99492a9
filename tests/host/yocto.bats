#!/usr/bin/env bats
# SPDX-License-Identifier: GPL-2.0-only
# meta-iotgate, judged by the Yocto Project's own tools where they run here,
# and by hand where they cannot:
#  - bitbake 2.8 with OE-Core scarthgap (meta-oe, meta-clang) and bitbake 2.18
#    with OE-Core wrynose (meta-oe), snapshots in ../shared/oracles, offline
#    and as user nobody: bitbake-layers add-layer, yocto-check-layer, bitbake
#    -e and -g for iotgate and iotgate-kmod (ptest on) on qemuarm64, qemuarm
#    and qemux86-64, and bitbake's parser (tinfoil) on linux-yocto, a
#    vendor-style kernel recipe and an image with the layer's classes;
#  - what bitbake cannot do without fetching sources: the recipe's compile,
#    install and ptest steps (cross-compiled for aarch64), the BPF compile
#    with the flags bitbake gives it against a sysroot, the kernel class's
#    configuration step and the image class's shell function;
#  - the systemd unit (systemd-analyze, the daemon's sockets under strace)
#    and the init script (against the daemon).
# Parsing OE-Core costs most of the time (about a minute per configuration on
# two cores). Each release has one build directory for the whole file, so
# bitbake's parse cache and its server (BB_SERVER_TIMEOUT) serve every call;
# meta-oe is masked down to the recipes iotgate uses and "world" is limited
# to them (see bb_prepare). The file prints its wall time at the end.

load ../lib/common

LAYER=$TOP/meta-iotgate
RECIPE=$LAYER/recipes-security/iotgate/iotgate_git.bb
INC=$LAYER/recipes-security/iotgate/iotgate-source.inc
KCLASS=$LAYER/classes/iotgate-kernel.bbclass
MCLASS=$LAYER/classes/iotgate-manifest.bbclass
FRAGMENT=$LAYER/recipes-kernel/linux/files/bpf-lsm.cfg
ORACLES=${IOTGATE_ORACLES:-$(cd "$TOP/.." && pwd)/shared/oracles}
# The lock the host suites share for the pin directory (tests below that
# start the daemon take it).
HOST_LOCK=/tmp/iotgate-host-tests.lock

setup_file() {
	YOCTO_START=$(date +%s)
	YT=$(mktemp -d /var/tmp/iotgate-yocto.XXXXXX)
	chmod 0755 "$YT"
	export YOCTO_START YT
}

teardown_file() {
	local d
	for d in "$YT"/*/build "$YT"/*/scratch; do
		[[ -d $d/conf ]] && bbx "$d" bitbake -m >/dev/null 2>&1
	done
	rm -rf "$YT"
	echo "# yocto.bats: wall time $(($(date +%s) - YOCTO_START)) s" >&3
}

setup() {
	T=$(mktemp -d)
}

teardown() {
	rm -rf "$T"
}

# ---------------------------------------------------------------------------
# bitbake, offline, as nobody

# oracle archives of a release
archives() {
	case $1 in
	scarthgap) echo bitbake-2.8 openembedded-core-scarthgap meta-oe-scarthgap meta-clang-scarthgap ;;
	wrynose) echo bitbake-2.18 openembedded-core-wrynose meta-oe-wrynose ;;
	esac
}

# layers besides OE-Core, in the order bitbake-layers adds them
dep_layers() {
	echo "$YT/$1/meta-openembedded/meta-oe"
	[[ $1 == scarthgap ]] && echo "$YT/$1/meta-clang"
	true
}

# bbx BUILDDIR CMD...: CMD as nobody in BUILDDIR after oe-init-build-env,
# with a clean environment (no pyenv, Debian's python3)
bbx() {
	local dir=$1 rel
	shift
	rel=$(basename "$(dirname "$dir")")
	runuser -u nobody -- env -i HOME="$YT/home" PATH=/usr/sbin:/usr/bin:/sbin:/bin \
		LANG=en_US.UTF-8 LC_ALL=en_US.UTF-8 \
		bash -c 'cd "$1/openembedded-core" && . ./oe-init-build-env "$2" >/dev/null && shift 2 && exec "$@"' \
		bb "$YT/$rel" "$dir" "$@"
}

bb() {
	local rel=$1
	shift
	bbx "$YT/$rel/build" "$@"
}

# The source repository the recipes fetch (IOTGATE_SRCDIR, the layer's
# parent): this tree's files in a git repository of nobody's, branch main.
src_snapshot() {
	[[ -e $YT/src/.git ]] && return 0
	mkdir -p "$YT/src" "$YT/home"
	(cd "$TOP" && git ls-files -co --exclude-standard -z | tar --null -T - -c) | tar -x -C "$YT/src"
	chown -R nobody: "$YT/src" "$YT/home"
	runuser -u nobody -- env -i HOME="$YT/home" PATH=/usr/bin:/bin sh -c '
		cd "$1" && git init -q -b main && git add -A &&
		git -c user.name=iotgate -c user.email=iotgate@localhost commit -q -m snapshot' sh "$YT/src"
}

# bb_prepare REL: OE-Core, meta-oe (and meta-clang) of REL unpacked, a build
# directory configured, the dependency layers added with bitbake-layers.
bb_prepare() {
	local rel=$1 R=$YT/$1 a t
	[[ -e $R/.ready ]] && return 0
	[[ -d $ORACLES ]] || skip "no bitbake/OE-Core snapshots in $ORACLES"
	for a in $(archives "$rel"); do
		[[ -r $ORACLES/$a.tar.xz ]] || skip "no $ORACLES/$a.tar.xz"
	done
	[[ $(id -u) == 0 ]] || skip "needs root to run bitbake as nobody"
	for t in chrpath diffstat gawk; do
		command -v $t >/dev/null || { echo "bitbake needs $t (scripts/install-deps)"; return 1; }
	done
	# bitbake wants an en_US.UTF-8 locale
	locale -a 2>/dev/null | grep -qix 'en_US.utf8' || localedef -i en_US -f UTF-8 en_US.UTF-8 ||
		{ echo "cannot make the en_US.UTF-8 locale (install locales)"; return 1; }
	src_snapshot
	mkdir -p "$R"
	for a in $(archives "$rel"); do
		tar -xJf "$ORACLES/$a.tar.xz" -C "$R"
	done
	chown -R nobody: "$R"
	bb "$rel" true
	# - no network: the sanity check's connectivity test and uninative's download
	# - systemd and ptest (sysvinit, which wrynose's systemd conflicts with, is
	#   parsed in bb_classes)
	# - OEBasicHash, as yocto-check-layer's signature runs use, so that its
	#   parses and the ones below share the cache
	# - meta-oe (1000 recipes) masked down to what iotgate builds on, and
	#   "world" (yocto-check-layer's world signatures) to iotgate, its
	#   dependencies and the kernel it appends to: OE-Core stays whole
	cat >>"$R/build/conf/local.conf" <<-'EOF'

		# tests/host/yocto.bats
		BB_NO_NETWORK = "1"
		INHERIT_DISTRO:remove = "uninative"
		MACHINE ??= "qemuarm64"
		DISTRO_FEATURES:append = " ptest systemd usrmerge"
		VIRTUAL-RUNTIME_init_manager = "systemd"
		BB_SIGNATURE_HANDLER = "OEBasicHash"
		BB_SERVER_TIMEOUT = "300"
		BBMASK += "/meta-oe/recipes-(?!kernel/(libbpf|bpftool)/|devtools/(jq|pahole)/|support/onig/|test/bats/)"
		BBMASK += "/meta-clang/dynamic-layers/openembedded-layer/recipes-(?!devtools/bpftool/)"
		EXCLUDE_FROM_WORLD = "1"
		EXCLUDE_FROM_WORLD:pn-iotgate = "0"
		EXCLUDE_FROM_WORLD:pn-iotgate-kmod = "0"
		EXCLUDE_FROM_WORLD:pn-linux-yocto = "0"
		EXCLUDE_FROM_WORLD:pn-libbpf = "0"
		EXCLUDE_FROM_WORLD:pn-bpftool = "0"
		EXCLUDE_FROM_WORLD:pn-bpftool-native = "0"
		EXCLUDE_FROM_WORLD:pn-pahole-native = "0"
		EXCLUDE_FROM_WORLD:pn-jq = "0"
		EXCLUDE_FROM_WORLD:pn-bats = "0"
	EOF
	for a in $(dep_layers "$rel"); do
		run bb "$rel" bitbake-layers add-layer "$a"
		echo "$output"
		[ "$status" -eq 0 ] || return 1
	done
	touch "$R/.ready"
}

# with_layer REL: meta-iotgate in REL's BBLAYERS, added the way
# yocto-check-layer adds it (same value of BBLAYERS, so the same parse cache)
with_layer() {
	local c=$YT/$1/build/conf/bblayers.conf
	grep -qF "BBLAYERS += \"$YT/src/meta-iotgate\"" "$c" ||
		printf '\nBBLAYERS += "%s"\n' "$YT/src/meta-iotgate" >>"$c"
}

without_layer() {
	local c=$YT/$1/build/conf/bblayers.conf
	sed -i "\|^BBLAYERS += \"$YT/src/meta-iotgate\"\$|d" "$c"
}

# clean LOG: no error or warning from bitbake
clean() {
	if grep -E '^(ERROR|WARNING): ' "$1"; then
		echo "bitbake reported the above (log $1)"
		return 1
	fi
}

# bbval FILE NAME: a variable's value in bitbake -e output
bbval() {
	sed -n -e "s/^$2=\"\(.*\)\"\$/\1/p" -e "s/^export $2=\"\(.*\)\"\$/\1/p" "$1" | head -n 1
}

# words LIST: one word a line
words() {
	tr -s ' \t' '\n\n' <<<"$1" | sed '/^$/d'
}

bb_add_layer() {
	local rel=$1 R=$YT/$1
	bb_prepare "$rel"
	# in a scratch copy of the configuration: the build directory's BBLAYERS
	# stays as yocto-check-layer wants it (without the layer under test)
	rm -rf "$R/scratch"
	mkdir -p "$R/scratch"
	cp -r "$R/build/conf" "$R/scratch/"
	chown -R nobody: "$R/scratch"
	run bbx "$R/scratch" bitbake-layers add-layer "$YT/src/meta-iotgate"
	echo "$output"
	[ "$status" -eq 0 ]
	! grep -E '^(ERROR|WARNING)' <<<"$output"
	run bbx "$R/scratch" bitbake-layers show-layers
	echo "$output"
	[ "$status" -eq 0 ]
	grep -E "^iotgate +$YT/src/meta-iotgate +6\$" <<<"$output"
	grep -qx 'LAYERSERIES_COMPAT_iotgate = "scarthgap wrynose"' "$LAYER/conf/layer.conf"
	bbx "$R/scratch" bitbake -m >/dev/null 2>&1 || true
}

# yocto-check-layer's common tests on meta-iotgate (a software layer)
ycl() {
	local rel=$1 R=$YT/$1 deps t tests r t0
	t0=$(date +%s)
	bb_prepare "$rel"
	without_layer "$rel"
	deps=$(dep_layers "$rel" | tr '\n' ' ')
	# shellcheck disable=SC2086  # a list of layers
	run bb "$rel" yocto-check-layer --no-auto-dependency --dependency $deps -- "$YT/src/meta-iotgate"
	echo "$output" | grep -E '^INFO: (test_| \.\.\.|meta-iotgate)|Traceback|Error|FAIL' | head -80
	[ "$status" -eq 0 ]
	grep -qx 'INFO: meta-iotgate ... PASS' <<<"$output"
	tests="test_readme test_parse test_show_environment test_world test_world_inherit_class test_signatures test_layerseries_compat test_patches_upstream_status"
	[[ $rel == wrynose ]] && tests+=" test_security"
	for t in $tests; do
		r=$(awk -v t="INFO: $t " 'index($0, t) == 1 { on = 1; next } on && /^INFO:  \.\.\. / { print; exit }' <<<"$output")
		# scarthgap marks the patch check an expected failure: passing is an "unexpected success"
		[[ $r == "INFO:  ... ok" || ($rel == scarthgap && $t == test_patches_upstream_status &&
			$r == "INFO:  ... unexpected success") ]] || { echo "$t: $r"; false; }
	done
	# the README checks ran (a README that names another README skips them)
	! grep -q 'references another README' <<<"$output"
	echo "# yocto-check-layer $rel: $(($(date +%s) - t0)) s" >&3
}

bb_machine() {
	local rel=$1 m=$2 R=$YT/$1 log e k arch t0
	t0=$(date +%s)
	bb_prepare "$rel"
	with_layer "$rel"
	e=$R/e-iotgate-$m
	bb "$rel" env MACHINE="$m" bitbake -e iotgate >"$e" 2>&1 || { tail -n 30 "$e"; false; }
	grep -E '^Parsing of|^NOTE: .*cached' "$e" || true
	clean "$e"
	[ "$(bbval "$e" MACHINE)" = "$m" ]
	arch=$(bbval "$e" TARGET_ARCH)
	echo "$m: $arch"
	# license: the repository's COPYING, GPL-2.0-only
	[ "$(bbval "$e" LICENSE)" = GPL-2.0-only ]
	[ "$(bbval "$e" LIC_FILES_CHKSUM)" = "file://COPYING;md5=$(md5sum <"$TOP/COPYING" | cut -d' ' -f1)" ]
	# the BPF compile: the target's sysroot, never the build host's headers
	flags=$(bbval "$e" IOTGATE_BPF_CFLAGS)
	sysroot=$(bbval "$e" STAGING_DIR_TARGET)
	[[ " $flags " == *" --sysroot=$sysroot "* ]]
	[[ $flags != *canon-prefix-map* ]]
	[[ $(bbval "$e" EXTRA_OEMAKE) == *"BPF_CFLAGS='$flags'"* ]]
	for d in libbpf bpftool-native clang-native json-c openssl elfutils zlib; do
		words "$(bbval "$e" DEPENDS)" | grep -qx "$d"
	done
	# ptest on; bpftool only where meta-oe builds it
	[ "$(bbval "$e" PTEST_ENABLED)" = 1 ]
	rd=$(bbval "$e" RDEPENDS:iotgate-ptest)
	case $arch in
	aarch64 | x86_64) words "$rd" | grep -qx bpftool ;;
	*) ! words "$rd" | grep -qx bpftool ;;
	esac
	# the unit, enabled; the init script as well where the distro has sysvinit
	# too (scarthgap's default features do, wrynose's systemd conflicts with it)
	[ "$(bbval "$e" SYSTEMD_SERVICE:iotgate)" = iotgated.service ]
	[ "$(bbval "$e" SYSTEMD_AUTO_ENABLE:iotgate)" = enable ]
	sysv=false
	[[ " $(bbval "$e" DISTRO_FEATURES) " == *" sysvinit "* ]] && sysv=true
	grep -qx "    if $sysv; then" "$e"

	k=$R/e-iotgate-kmod-$m
	bb "$rel" env MACHINE="$m" bitbake -e iotgate-kmod >"$k" 2>&1 || { tail -n 30 "$k"; false; }
	clean "$k"
	[[ $(bbval "$k" MAKE_TARGETS) == "-C $(bbval "$k" STAGING_KERNEL_DIR) M=$(bbval "$k" S)/kmod modules" ]]
	words "$(bbval "$k" RPROVIDES:iotgate-kmod)" | grep -qx kernel-module-iotgate-measure

	# every build and runtime dependency resolves on this machine (iotgate-ptest's too)
	log=$R/g-$m
	bb "$rel" env MACHINE="$m" bitbake -g iotgate iotgate-kmod >"$log" 2>&1 || { tail -n 30 "$log"; false; }
	clean "$log"
	cp "$R/build/pn-buildlist" "$R/pn-buildlist-$m"
	for d in iotgate iotgate-kmod libbpf bpftool-native clang-native json-c openssl bats jq pahole-native \
		linux-yocto python3 vim; do
		grep -qx "$d" "$R/pn-buildlist-$m" || { echo "$d is not in the build"; false; }
	done
	case $arch in
	aarch64 | x86_64) grep -qx bpftool "$R/pn-buildlist-$m" ;;
	*) ! grep -qx bpftool "$R/pn-buildlist-$m" ;;
	esac
	# the ptest package's runtime dependencies are in the graph
	grep -q '"iotgate.do_package_write_[a-z]*" -> "bats.do_packagedata"' "$R/build/task-depends.dot"
	echo "# bitbake $rel $m: $(($(date +%s) - t0)) s" >&3
}

# bitbake's parser (tinfoil) on single recipes, with a configuration of the
# test's: no full parse. Prints one JSON object.
tinfoil_py() {
	cat >"$YT/parse.py" <<-'EOF'
		import json, os, sys
		import bb.tinfoil, bb.utils
		mode, fn = sys.argv[1], sys.argv[2]
		appends = [a for a in sys.argv[3:] if a.endswith('.bbappend')]
		sets = [a.split('=', 1) for a in sys.argv[3:] if '=' in a and not a.endswith('.bbappend')]
		out = {}
		with bb.tinfoil.Tinfoil(tracking=False) as t:
		    t.prepare(config_only=True, quiet=2)
		    cd = bb.data.createCopy(t.config_data)
		    for k, v in sets:
		        cd.setVar(k, v)
		    try:
		        d = t.parse_recipe_file(fn, appends=bool(appends), appendlist=appends or None, config_data=cd)
		    except Exception as e:
		        print(json.dumps({'error': str(e)}))
		        sys.exit(0)
		    for v in ('PN', 'SRC_URI', 'DEPENDS', 'EXTRA_OEMAKE', 'ROOTFS_POSTPROCESS_COMMAND', 'KERNEL_CLASSES',
		              'do_install', 'INITSCRIPT_PARAMS:' + (d.getVar('PN') or ''),
		              'RDEPENDS:' + (d.getVar('PN') or '')):
		        out[v.split(':')[0]] = d.getVar(v) or ''
		    out['tasks'] = d.getVar('__BBTASKS', False) or []
		    out['deps'] = {tk: d.getVarFlag(tk, 'deps') or [] for tk in ('do_compile', 'do_iotgate_kernel_config', 'do_configure')}
		    if 'file://bpf-lsm.cfg' in out['SRC_URI'].split():
		        out['fragment'] = bb.utils.which(d.getVar('FILESPATH'), 'bpf-lsm.cfg')
		    out['task'] = d.getVar('do_iotgate_kernel_config') or ''
		print(json.dumps(out))
	EOF
	chmod 0644 "$YT/parse.py"
}

# parse REL RECIPE [APPEND.bbappend] [VAR=VALUE]...: JSON on stdout
parse() {
	local rel=$1
	shift
	bb "$rel" python3 "$YT/parse.py" x "$@" 2>"$T/parse.err" | tail -n 1
}

bb_classes() {
	local rel=$1 R=$YT/$1 ly app v j
	bb_prepare "$rel"
	with_layer "$rel"
	tinfoil_py
	ly=$(ls "$R"/openembedded-core/meta/recipes-kernel/linux/linux-yocto_*.bb | head -n 1)
	app=$YT/src/meta-iotgate/recipes-kernel/linux/linux-yocto_%.bbappend

	# linux-yocto without the distro feature: the append changes nothing
	j=$(parse "$rel" "$ly" "$app")
	echo "$j" | jq -c '{SRC_URI, DEPENDS}'
	echo "$j" | jq -e '(.tasks | index("do_iotgate_kernel_config")) == null'
	echo "$j" | jq -e '(.SRC_URI | contains("bpf-lsm.cfg") | not) and (.DEPENDS | contains("pahole") | not)'
	echo "$j" | jq -e '.EXTRA_OEMAKE | test("PAHOLE=false")'

	# with it: the fragment (the layer's), pahole, no PAHOLE=false, the task
	# between do_configure and do_compile
	j=$(parse "$rel" "$ly" "$app" "DISTRO_FEATURES:append= iotgate")
	echo "$j" | jq -c '{SRC_URI, DEPENDS, deps, fragment}'
	echo "$j" | jq -e --arg f "$YT/src/meta-iotgate/recipes-kernel/linux/files/bpf-lsm.cfg" '.fragment == $f'
	echo "$j" | jq -e '(.DEPENDS | split(" ") | index("pahole-native")) != null'
	echo "$j" | jq -e '.EXTRA_OEMAKE | test("PAHOLE=false") | not'
	echo "$j" | jq -e '(.tasks | index("do_iotgate_kernel_config")) != null'
	echo "$j" | jq -e '.deps.do_iotgate_kernel_config == ["do_configure"]'
	echo "$j" | jq -e '(.deps.do_compile | index("do_iotgate_kernel_config")) != null'

	# a vendor-style kernel recipe (kernel.bbclass, its own defconfig and
	# fragment merge, no kernel-yocto), with KERNEL_CLASSES from local.conf
	v=$YT/vendor/linux-vendor_6.6.bb
	mkdir -p "$YT/vendor/files"
	printf 'CONFIG_ARM64=y\n' >"$YT/vendor/files/defconfig"
	printf 'CONFIG_USB=y\n' >"$YT/vendor/files/board.cfg"
	cat >"$v" <<-'EOF'
		SUMMARY = "A vendor kernel the way BSP layers write them (linux-imx, linux-ti-staging)"
		LICENSE = "GPL-2.0-only"
		LIC_FILES_CHKSUM = "file://COPYING;md5=6bc538ed5bd9a7fc9398086aedcd7e46"
		inherit kernel
		SRC_URI = "git://git.example.com/linux-vendor.git;protocol=https;branch=vendor-6.6 \
		           file://defconfig file://board.cfg"
		SRCREV = "0123456789abcdef0123456789abcdef01234567"
		LINUX_VERSION = "6.6.52"
		PV = "${LINUX_VERSION}+git"
		S = "${@d.getVar('UNPACKDIR') or d.getVar('WORKDIR')}/git"
		COMPATIBLE_MACHINE = "qemuarm64|qemuarm|qemux86-64"
		do_configure:prepend() {
		    cat ${@d.getVar('UNPACKDIR') or d.getVar('WORKDIR')}/board.cfg >>${@d.getVar('UNPACKDIR') or d.getVar('WORKDIR')}/defconfig
		}
	EOF
	chown -R nobody: "$YT/vendor"
	j=$(parse "$rel" "$v")
	echo "$j" | jq -e '(.tasks | index("do_iotgate_kernel_config")) == null'
	j=$(parse "$rel" "$v" "KERNEL_CLASSES:append= iotgate-kernel")
	echo "$j" | jq -c '{SRC_URI, DEPENDS, deps, KERNEL_CLASSES}'
	[ "$(echo "$j" | jq -r .error)" = null ] || { cat "$T/parse.err"; false; }
	echo "$j" | jq -e '.KERNEL_CLASSES | split(" ") | index("kernel-uimage") != null'
	echo "$j" | jq -e '(.tasks | index("do_iotgate_kernel_config")) != null'
	echo "$j" | jq -e '.deps.do_iotgate_kernel_config == ["do_configure"]'
	echo "$j" | jq -e '(.deps.do_compile | index("do_iotgate_kernel_config")) != null'
	echo "$j" | jq -e '(.DEPENDS | split(" ") | index("pahole-native")) != null'
	echo "$j" | jq -e --arg f "$YT/src/meta-iotgate/recipes-kernel/linux/files/bpf-lsm.cfg" '.fragment == $f'
	# the task completes the configuration with the recipe's own command
	echo "$j" | jq -e '.task | test("olddefconfig")'

	# the recipe in a sysvinit distribution: the init script, linked into rcS
	j=$(parse "$rel" "$YT/src/meta-iotgate/recipes-security/iotgate/iotgate_git.bb" \
		"DISTRO_FEATURES:remove=systemd" "DISTRO_FEATURES:append= sysvinit" VIRTUAL-RUNTIME_init_manager=sysvinit)
	[ "$(echo "$j" | jq -r .error)" = null ] || { cat "$T/parse.err"; false; }
	echo "$j" | jq -c '{DEPENDS, INITSCRIPT_PARAMS}'
	echo "$j" | jq -e '.do_install | test("if true; then") and test("scripts/iotgated.init.in >.*/etc/init.d/iotgated")'
	echo "$j" | jq -e '.INITSCRIPT_PARAMS == "start 07 S ."'
	echo "$j" | jq -e '(.DEPENDS | split(" ") | index("update-rc.d")) != null'

	# the TPM anchor: off (TPM=0, not the Makefile's auto) without the tpm2
	# distro feature; with it tpm2-tss to build against and its libraries
	# (dlopen()ed) at run time
	j=$(parse "$rel" "$YT/src/meta-iotgate/recipes-security/iotgate/iotgate_git.bb")
	[ "$(echo "$j" | jq -r .error)" = null ] || { cat "$T/parse.err"; false; }
	echo "$j" | jq -c '{EXTRA_OEMAKE, RDEPENDS}'
	echo "$j" | jq -e '(.EXTRA_OEMAKE | split(" ") | index("TPM=0")) != null'
	echo "$j" | jq -e '(.DEPENDS | split(" ") | index("tpm2-tss")) == null'
	echo "$j" | jq -e '.RDEPENDS | test("libtss2") | not'
	j=$(parse "$rel" "$YT/src/meta-iotgate/recipes-security/iotgate/iotgate_git.bb" "DISTRO_FEATURES:append= tpm2")
	[ "$(echo "$j" | jq -r .error)" = null ] || { cat "$T/parse.err"; false; }
	echo "$j" | jq -c '{DEPENDS, EXTRA_OEMAKE, RDEPENDS}'
	echo "$j" | jq -e '(.EXTRA_OEMAKE | split(" ") | index("TPM=1")) != null'
	echo "$j" | jq -e '(.DEPENDS | split(" ") | index("tpm2-tss")) != null'
	echo "$j" | jq -e '(.RDEPENDS | split(" ") | index("libtss2")) != null and (.RDEPENDS | split(" ") | index("libtss2-tcti-device")) != null'

	# an image with the manifest class
	img=$R/openembedded-core/meta/recipes-core/images/core-image-minimal.bb
	j=$(parse "$rel" "$img" "IMAGE_CLASSES:append= iotgate-manifest")
	echo "$j" | jq -e '.ROOTFS_POSTPROCESS_COMMAND | split(" ") | index("iotgate_manifest") != null'
	echo "$j" | jq -e '.DEPENDS | split(" ") | index("openssl-native") == null'
	openssl genpkey -algorithm ed25519 -out "$YT/signing.pem" 2>/dev/null
	chown nobody: "$YT/signing.pem"
	j=$(parse "$rel" "$img" "IMAGE_CLASSES:append= iotgate-manifest" IOTGATE_POLICY_MODE=enforce \
		"IOTGATE_SIGNING_KEY=$YT/signing.pem")
	echo "$j" | jq -e '.DEPENDS | split(" ") | index("openssl-native") != null'
	# refused: enforce mode without a key, a key inside a layer or the build directory
	j=$(parse "$rel" "$img" "IMAGE_CLASSES:append= iotgate-manifest" IOTGATE_POLICY_MODE=enforce)
	echo "$j" | jq -e '.error | test("needs IOTGATE_SIGNING_KEY")' || cat "$T/parse.err"
	cp "$YT/signing.pem" "$YT/src/meta-iotgate/signing.pem"
	j=$(parse "$rel" "$img" "IMAGE_CLASSES:append= iotgate-manifest" \
		"IOTGATE_SIGNING_KEY=$YT/src/meta-iotgate/signing.pem")
	rm -f "$YT/src/meta-iotgate/signing.pem"
	echo "$j" | jq -e '.error | test("keep the private key out of layers")' || cat "$T/parse.err"
}

@test "bitbake wrynose: bitbake-layers add-layer meta-oe and meta-iotgate, series wrynose" {
	bb_add_layer wrynose
}

@test "yocto-check-layer wrynose: common checks (README, SECURITY, parse, world, signatures) pass" {
	ycl wrynose
}

@test "bitbake wrynose qemuarm64: -e iotgate and iotgate-kmod clean, -g resolves everything (ptest on)" {
	bb_machine wrynose qemuarm64
}

@test "bitbake wrynose qemuarm: -e iotgate and iotgate-kmod clean, -g resolves everything (ptest without bpftool)" {
	bb_machine wrynose qemuarm
}

@test "bitbake wrynose qemux86-64: -e iotgate and iotgate-kmod clean, -g resolves everything (ptest on)" {
	bb_machine wrynose qemux86-64
}

@test "bitbake wrynose: the kernel class in linux-yocto and a vendor kernel, the manifest class in an image" {
	bb_classes wrynose
}

@test "bitbake scarthgap: bitbake-layers add-layer meta-oe, meta-clang and meta-iotgate, series scarthgap" {
	bb_add_layer scarthgap
}

@test "yocto-check-layer scarthgap: common checks (README, parse, world, signatures) pass" {
	ycl scarthgap
}

@test "bitbake scarthgap qemuarm64: -e iotgate and iotgate-kmod clean, -g resolves everything (ptest on)" {
	bb_machine scarthgap qemuarm64
}

@test "bitbake scarthgap qemuarm: -e iotgate and iotgate-kmod clean, -g resolves everything (ptest without bpftool)" {
	bb_machine scarthgap qemuarm
}

@test "bitbake scarthgap qemux86-64: -e iotgate and iotgate-kmod clean, -g resolves everything (ptest on)" {
	bb_machine scarthgap qemux86-64
}

@test "bitbake scarthgap: the kernel class in linux-yocto and a vendor kernel, the manifest class in an image" {
	bb_classes scarthgap
}

@test "BPF objects build with the flags bitbake gives them against a sysroot, no header of the build host" {
	e=
	for r in wrynose scarthgap; do
		f=$YT/$r/e-iotgate-qemux86-64
		[[ -s $f ]] && ! grep -q '^ERROR: ' "$f" && e=$f && break
	done
	[[ -n $e ]] || skip "needs the output of bitbake -e iotgate for qemux86-64"
	flags=$(bbval "$e" IOTGATE_BPF_CFLAGS)
	sysroot=$(bbval "$e" STAGING_DIR_TARGET)
	[[ -n $sysroot && $flags == *"--sysroot=$sysroot"* ]]
	# the sysroot as libbpf and linux-libc-headers fill it for x86-64
	mkdir -p "$sysroot/usr/include"
	cp -r /usr/include/bpf /usr/include/linux /usr/include/asm-generic "$sysroot/usr/include/"
	cp -r /usr/include/x86_64-linux-gnu/asm "$sysroot/usr/include/asm"
	objs=()
	for f in "$TOP"/bpf/*.bpf.c; do objs+=("$T/b/bpf/$(basename "${f%.c}").o"); done
	for f in "$TOP"/bench/bpf/*.bpf.c; do objs+=("$T/b/bench/$(basename "${f%.c}").o"); done
	run make -C "$TOP" BUILD="$T/b" CLANG=clang BPF_CFLAGS="$flags -H" "${objs[@]}"
	[ "$status" -eq 0 ] || { echo "$output" | tail -n 20; false; }
	for o in "${objs[@]}"; do [ -s "$o" ]; done
	# every header clang opened is the sysroot's, the tree's or clang's own
	res=$(clang -print-resource-dir)
	hdrs=$(sed -n 's/^\.\+ \(.*\)$/\1/p' <<<"$output" | (cd "$TOP" && xargs -r readlink -f) | sort -u)
	[ -n "$hdrs" ]
	grep -q "^$(readlink -f "$sysroot")/usr/include/bpf/bpf_helpers.h\$" <<<"$hdrs"
	bad=$(grep -v -e "^$(readlink -f "$sysroot")/" -e "^$TOP/" -e "^$(readlink -f "$res")/" <<<"$hdrs" || true)
	[ -z "$bad" ] || { echo "headers from outside the sysroot: $bad"; false; }
	# and without libbpf in the sysroot the compile fails: the host's is not used
	rm -rf "$sysroot/usr/include/bpf"
	run make -C "$TOP" BUILD="$T/b2" CLANG=clang BPF_CFLAGS="$flags" "$T/b2/bpf/exec.bpf.o"
	[ "$status" -ne 0 ]
	[[ $output == *"bpf/bpf_helpers.h' file not found"* ]]
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
