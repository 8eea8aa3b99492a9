# SPDX-License-Identifier: GPL-2.0-only
SUMMARY = "iotgate_measure: kfuncs for in-kernel measurement (optional iotgate module)"
DESCRIPTION = "Out-of-tree kernel module from the iotgate repository's kmod/ directory. \
iotgate works without it; enable it with PACKAGECONFIG:append:pn-iotgate = \" kmod\"."
SECTION = "kernel/modules"

require recipes-security/iotgate/iotgate-source.inc

inherit module

# The kfuncs need the module's BTF: pahole runs when the module is linked
# (the kernel needs CONFIG_DEBUG_INFO_BTF_MODULES, see bpf-lsm.cfg).
DEPENDS += "pahole-native"

# kmod/ holds the kbuild file only: build and install it with the kernel's
# own make, as 'make KDIR=...' does outside Yocto.
MAKE_TARGETS = "-C ${STAGING_KERNEL_DIR} M=${S}/kmod modules"
MODULES_INSTALL_TARGET = "-C ${STAGING_KERNEL_DIR} M=${S}/kmod modules_install"
MODULES_MODULE_SYMVERS_LOCATION = "kmod"

# module.bbclass names the package after the .ko file.
RPROVIDES:${PN} += "kernel-module-iotgate-measure"

# Loaded at boot, before iotgated starts, so the daemon picks it as its
# measurement source (status: measure_source "module").
KERNEL_MODULE_AUTOLOAD += "iotgate_measure"

# A module without BTF builds but cannot serve its kfunc: fail the build
# instead (the kernel's build tree needs vmlinux and resolve_btfids).
do_compile:append() {
	if ! ${READELF} -S ${S}/kmod/iotgate_measure.ko | grep -q '\.BTF'; then
		bbfatal "iotgate_measure.ko has no .BTF section: enable CONFIG_DEBUG_INFO_BTF_MODULES and pahole"
	fi
}
