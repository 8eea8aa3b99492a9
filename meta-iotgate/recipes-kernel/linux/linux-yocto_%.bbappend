# SPDX-License-Identifier: GPL-2.0-only
# iotgate's kernel options (linux-yocto/bpf-lsm.cfg) and kernel BTF, for
# distributions that list "iotgate" in DISTRO_FEATURES. Without that feature
# this append changes nothing.

FILESEXTRAPATHS:prepend := "${THISDIR}/linux-yocto:"

IOTGATE_KERNEL = "${@bb.utils.contains('DISTRO_FEATURES', 'iotgate', '1', '', d)}"

SRC_URI:append = "${@' file://bpf-lsm.cfg' if d.getVar('IOTGATE_KERNEL') else ''}"

# linux-yocto runs make with PAHOLE=false unless KERNEL_DEBUG is "True".
# Kconfig then sees no pahole (CONFIG_PAHOLE_VERSION=0) and silently drops
# CONFIG_DEBUG_INFO_BTF: without BTF neither CO-RE nor BPF LSM attach
# works. Give the build pahole instead, already when the kernel is configured.
EXTRA_OEMAKE:remove = "${@'PAHOLE=false' if d.getVar('IOTGATE_KERNEL') else ''}"
DEPENDS:append = "${@' pahole-native' if d.getVar('IOTGATE_KERNEL') else ''}"
do_kernel_configme[depends] += "${@'pahole-native:do_populate_sysroot' if d.getVar('IOTGATE_KERNEL') else ''}"
