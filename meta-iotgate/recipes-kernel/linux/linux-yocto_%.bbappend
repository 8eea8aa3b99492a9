# SPDX-License-Identifier: GPL-2.0-only
# linux-yocto gets iotgate's kernel options (iotgate-kernel.bbclass: bpf-lsm.cfg,
# bpf added to the LSM order, kernel BTF) in distributions that list "iotgate"
# in DISTRO_FEATURES. Without that feature this append changes nothing. Other
# kernel recipes: KERNEL_CLASSES:append = " iotgate-kernel" (see README.md).

inherit ${@bb.utils.contains('DISTRO_FEATURES', 'iotgate', 'iotgate-kernel', '', d)}
