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
