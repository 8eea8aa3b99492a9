# SPDX-License-Identifier: GPL-2.0-only
SUMMARY = "eBPF security agent for IoT Linux: exec allowlist and per-interface access control"
DESCRIPTION = "iotgate loads BPF LSM and cgroup programs that let only measured code \
(a SHA-256 manifest) run and limit which programs may use which network interfaces \
and device nodes. iotgated loads the policy and reports the device's security state \
over a Unix socket; iotgatectl is the command line."
SECTION = "security"

require iotgate-source.inc

SRC_URI += "file://run-ptest"

# The BPF programs are compiled by clang for the BPF target and linked by
# bpftool into skeletons that the programs embed.
DEPENDS = "libbpf elfutils zlib openssl json-c bpftool-native clang-native"

inherit systemd update-rc.d ptest useradd bash-completion

# Optional iotgate_measure kernel module (recipes-kernel/iotgate-kmod).
# tpm2: the measurement log anchored in a TPM 2.0 (README, TPM anchor):
# tpm2-tss's headers at build time, its libraries at run time (dlopen()ed
# only where /dev/tpmrm0 exists, so no link-time dependency shows them);
# tpm2-tss is meta-security's meta-tpm layer. On by default with the tpm2
# distro feature (the one meta-tpm's recipes use); off, the daemon says
# "attestation: self-reported". Never left to the Makefile's TPM=auto, so
# the build does not depend on what else happens to be in the sysroot.
PACKAGECONFIG ??= "${@bb.utils.filter('DISTRO_FEATURES', 'tpm2', d)}"
PACKAGECONFIG[kmod] = ",,,kernel-module-iotgate-measure"
PACKAGECONFIG[tpm2] = "TPM=1,TPM=0,tpm2-tss,libtss2 libtss2-tcti-device"

# A BTF blob or vmlinux of the target kernel to build the BPF programs
# against; empty: the checked-in vmlinux.h of the architecture (CO-RE
# relocates the programs to the running kernel either way).
IOTGATE_VMLINUX_BTF ??= ""

# BPF_CFLAGS: the BPF objects include <bpf/bpf_helpers.h> (libbpf) and
# <linux/types.h>: --sysroot makes clang take them from the target's sysroot
# and never from the build host's /usr/include. DEBUG_PREFIX_MAP maps the
# build paths out of the objects' BTF, which ends up inside the programs;
# clang has no -fcanon-prefix-map (a GCC option of DEBUG_PREFIX_MAP).
IOTGATE_BPF_CFLAGS = "--sysroot=${STAGING_DIR_TARGET} ${DEBUG_PREFIX_MAP}"
IOTGATE_BPF_CFLAGS:remove = "-fcanon-prefix-map"

# Exactly the variables the Makefile documents.
EXTRA_OEMAKE = "\
    CC='${CC}' AR='${AR}' CFLAGS='${CFLAGS}' CPPFLAGS='${CPPFLAGS}' LDFLAGS='${LDFLAGS}' \
    CLANG=clang BPFTOOL=bpftool BPF_CFLAGS='${IOTGATE_BPF_CFLAGS}' \
    VMLINUX_BTF='${IOTGATE_VMLINUX_BTF}' \
    PREFIX='${prefix}' SBINDIR='${sbindir}' SYSCONFDIR='${sysconfdir}' DATADIR='${datadir}' \
    MANDIR='${mandir}' UNITDIR='${systemd_system_unitdir}' BUILD='${B}/build' \
"
EXTRA_OEMAKE += "${PACKAGECONFIG_CONFARGS}"

do_compile() {
    oe_runmake all
}

do_install() {
    oe_runmake install DESTDIR='${D}'
    if ${@bb.utils.contains('DISTRO_FEATURES', 'sysvinit', 'true', 'false', d)}; then
        install -d ${D}${sysconfdir}/init.d
        sed -e 's|@SBINDIR@|${sbindir}|g' -e 's|@SYSCONFDIR@|${sysconfdir}|g' \
            ${S}/scripts/iotgated.init.in >${D}${sysconfdir}/init.d/iotgated
        chmod 0755 ${D}${sysconfdir}/init.d/iotgated
    fi
}

# The ptest tree mirrors the source tree, so the bats suites find
# build/iotgatectl and friends where they look for them on a build host.
# Suites that need the build host (cross toolchains, man pages, this layer,
# the VM) stay behind, and so does progload.bats: it compiles BPF with clang
# and states what this build host's kernel accepts; on a device,
# 'iotgatectl check-kernel' says what its kernel accepts. The suites check
# attached programs with build/tests/bpfls, not bpftool (not built for
# 32-bit ARM).
IOTGATE_PTEST_HOST_ONLY = "cross.bats man.bats vm-run.bats yocto.bats progload.bats"

do_install_ptest() {
    t=${D}${PTEST_PATH}
    install -d $t/build/tests $t/build/bench $t/tests/host $t/tests/lib $t/tests/unit \
        $t/tests/helpers $t/scripts $t/policies
    install -m 0755 ${B}/build/unit-tests $t/build/
    ln -sf ${sbindir}/iotgated $t/build/iotgated
    ln -sf ${sbindir}/iotgatectl $t/build/iotgatectl
    for f in ${B}/build/tests/* ${B}/build/bench/*; do
        if [ -f "$f" ] && [ -x "$f" ]; then
            install -m 0755 "$f" $t/build/$(basename $(dirname "$f"))/
        fi
    done
    cp -R ${S}/tests/unit/data $t/tests/unit/
    install -m 0644 ${S}/tests/lib/*.bash $t/tests/lib/
    # helper scripts the suites run (the C helpers are built into build/tests)
    for f in ${S}/tests/helpers/*; do
        case "$f" in
        *.c | *.h) ;;
        *) install -m 0755 "$f" $t/tests/helpers/ ;;
        esac
    done
    for f in ${S}/tests/host/*.bats; do
        case " ${IOTGATE_PTEST_HOST_ONLY} " in
        *" $(basename "$f") "*) ;;
        *) install -m 0644 "$f" $t/tests/host/ ;;
        esac
    done
    install -m 0755 ${S}/scripts/host-setup $t/scripts/
    install -m 0644 ${S}/VERSION $t/
    install -m 0644 ${S}/policies/* $t/policies/
}

# OE package split: the daemon, the command line, the example policies,
# the tests; man pages go to ${PN}-doc and the completion to
# ${PN}-bash-completion as usual.
PACKAGE_BEFORE_PN = "${PN}-ctl ${PN}-policies"
FILES:${PN}-ctl = "${sbindir}/iotgatectl"
FILES:${PN}-policies = "${datadir}/iotgate/policies"
# iotgate-metrics.timer is shipped, not enabled: where node_exporter runs,
# 'systemctl enable iotgate-metrics.timer' (README, Fleets).
FILES:${PN} += "${systemd_system_unitdir}/iotgated.service \
    ${systemd_system_unitdir}/iotgate-metrics.service ${systemd_system_unitdir}/iotgate-metrics.timer"
CONFFILES:${PN} = "${sysconfdir}/iotgate/iotgate.conf"
RRECOMMENDS:${PN} = "${PN}-ctl ${PN}-policies"
# libcrypto is loaded with dlopen() (userspace/crypto.h): no link-time
# dependency for the package manager to find.
RDEPENDS:${PN} += "libcrypto"
RDEPENDS:${PN}-ctl += "libcrypto"
# What the suites run: bpftool (attached programs), the openssl command
# (signing), python3 (socket load generator), xxd from vim (log hashes).
RDEPENDS:${PN}-ptest += "${PN}-ctl ${PN}-policies bash bats jq iproute2 util-linux procps coreutils \
    gzip openssl-bin python3-modules vim ${IOTGATE_PTEST_BPFTOOL}"
# meta-oe builds bpftool for x86-64, aarch64 and riscv64 only (its
# COMPATIBLE_HOST), and on scarthgap not for musl: elsewhere (32-bit ARM)
# the suites run without it.
IOTGATE_PTEST_BPFTOOL = ""
IOTGATE_PTEST_BPFTOOL:x86-64 = "bpftool"
IOTGATE_PTEST_BPFTOOL:aarch64 = "bpftool"
IOTGATE_PTEST_BPFTOOL:libc-musl = ""

SYSTEMD_SERVICE:${PN} = "iotgated.service"
SYSTEMD_AUTO_ENABLE:${PN} = "enable"

# sysvinit and busybox init: /etc/init.d/iotgated (scripts/iotgated.init.in)
# in rcS, after the modules are loaded (modutils.sh, S06) and before the
# network comes up. Settings in /etc/default/iotgated.
INITSCRIPT_PACKAGES = "${PN}"
INITSCRIPT_NAME:${PN} = "iotgated"
INITSCRIPT_PARAMS:${PN} = "start 07 S ."

# Members of group iotgate may read the state over the control socket.
USERADD_PACKAGES = "${PN}"
GROUPADD_PARAM:${PN} = "--system iotgate"
