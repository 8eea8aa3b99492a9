#!/usr/bin/env bats
# SPDX-License-Identifier: GPL-2.0-only
# meta-iotgate, judged by bitbake itself: bitbake 2.8 with OE-Core scarthgap
# (meta-oe, meta-clang) and bitbake 2.18 with OE-Core wrynose (meta-oe),
# snapshots in ../shared/oracles, offline and as user nobody:
# bitbake-layers add-layer, yocto-check-layer, bitbake -e and -g for iotgate
# and iotgate-kmod (ptest on) on qemuarm64, qemuarm and qemux86-64, bitbake's
# parser (tinfoil) on linux-yocto, a vendor-style kernel recipe and an image
# with the layer's classes, and the BPF compile with the flags bitbake gives
# it against a sysroot. What bitbake cannot do without fetching sources is in
# tests/host/yocto.bats.
#
# Nothing here loads BPF programs or starts the daemon, so scripts/run-tests
# runs this file beside everything else from the start (it is the longest
# host suite).
#
# Parsing OE-Core costs most of the time (about a minute per configuration on
# two cores). Each release has one build directory for the whole file, so
# bitbake's parse cache and its server (BB_SERVER_TIMEOUT) serve every call;
# meta-oe is masked down to the recipes iotgate uses and "world" is limited
# to them (see bb_prepare). The file prints its wall time at the end.

load ../lib/common

LAYER=$TOP/meta-iotgate
ORACLES=${IOTGATE_ORACLES:-$(cd "$TOP/.." && pwd)/shared/oracles}

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
	echo "# bitbake.bats: wall time $(($(date +%s) - YOCTO_START)) s" >&3
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
	# bitbake wants an en_US.UTF-8 locale (made once: run-tests runs the
	# two releases side by side, and both would write the locale archive)
	(
		flock 9
		locale -a 2>/dev/null | grep -qix 'en_US.utf8' || localedef -i en_US -f UTF-8 en_US.UTF-8
	) 9>/run/lock/iotgate-bitbake-locale ||
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
