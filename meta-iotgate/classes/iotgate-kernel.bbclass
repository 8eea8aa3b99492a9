# SPDX-License-Identifier: GPL-2.0-only
# iotgate-kernel: the kernel options of iotgate's full tier (bpf-lsm.cfg), BPF
# LSM in the LSM order and kernel BTF, for any kernel recipe that inherits
# kernel.bbclass: linux-yocto and vendor kernels (linux-imx, linux-raspberrypi,
# linux-ti-staging, ...) alike, whatever way they configure themselves
# (defconfig, kernel-yocto fragments and KERNEL_FEATURES, a do_configure that
# merges its own fragments). Use it with
#
#   KERNEL_CLASSES:append = " iotgate-kernel"   (local.conf or the distro: every kernel recipe)
#   inherit iotgate-kernel                       (in a bbappend of one kernel recipe)
#
# or, for linux-yocto, DISTRO_FEATURES "iotgate" (recipes-kernel/linux).
#
# do_iotgate_kernel_config runs after the recipe's do_configure, on the
# .config it produced:
#   1. merges the fragments (IOTGATE_KERNEL_FRAGMENTS) into it, the way the
#      kernel's merge_config.sh does (a fragment's value replaces the old one),
#      and completes it with the recipe's KERNEL_CONFIG_COMMAND (olddefconfig);
#   2. appends "bpf" to the LSM order that configuration has (CONFIG_LSM: the
#      recipe's own, or the kernel's default for it), keeping every LSM and
#      its position, unless bpf is in it already; completes it again;
#   3. fails the build if an option the full tier needs did not survive
#      (CONFIG_DEBUG_INFO_BTF without pahole, say), and warns about the other
#      options of the fragments that the kernel changed (an option this
#      kernel does not have is only noted).
# An "lsm=" boot argument still replaces CONFIG_LSM at boot: it must name bpf.

FILESEXTRAPATHS:prepend = "${IOTGATE_LAYERDIR}/recipes-kernel/linux/files:"
IOTGATE_KERNEL_FRAGMENTS ?= "file://bpf-lsm.cfg"
SRC_URI += "${IOTGATE_KERNEL_FRAGMENTS}"

# Options whose loss fails the build (the full tier needs each of them).
IOTGATE_KERNEL_REQUIRED ?= "CONFIG_BPF_SYSCALL CONFIG_BPF_JIT CONFIG_CGROUP_BPF \
    CONFIG_DEBUG_INFO_BTF CONFIG_BPF_EVENTS CONFIG_SECURITY CONFIG_BPF_LSM"

# Kernel BTF: pahole when the kernel is configured (Kconfig drops
# CONFIG_DEBUG_INFO_BTF without it) and built. linux-yocto passes
# PAHOLE=false to make unless KERNEL_DEBUG is "True".
DEPENDS += "pahole-native"
EXTRA_OEMAKE:remove = "PAHOLE=false"
do_kernel_configme[depends] += "pahole-native:do_populate_sysroot"

IOTGATE_KERNEL_UNPACKDIR = "${@d.getVar('UNPACKDIR') or d.getVar('WORKDIR')}"
IOTGATE_KERNEL_FRAGMENT_FILES = "${@' '.join(u.split('://', 1)[1].split(';')[0] \
    for u in d.getVar('IOTGATE_KERNEL_FRAGMENTS').split() if u.startswith('file://'))}"

# iotgate_kconfig_merge CONFIG FRAGMENT...: each option a fragment sets,
# set or "is not set", replaces that option's line in CONFIG.
iotgate_kconfig_merge() {
    cfg=$1
    shift
    for frag in "$@"; do
        sed -n -e 's/^\(CONFIG_[A-Za-z0-9_]*\)=.*/\1/p' \
            -e 's/^# \(CONFIG_[A-Za-z0-9_]*\) is not set$/\1/p' "$frag" >"$cfg.iotgate-opts"
        while read -r opt; do
            sed -i -e "/^$opt=/d" -e "/^# $opt is not set\$/d" "$cfg"
        done <"$cfg.iotgate-opts"
        grep -E '^(CONFIG_[A-Za-z0-9_]+=|# CONFIG_[A-Za-z0-9_]+ is not set$)' "$frag" >>"$cfg"
        rm -f "$cfg.iotgate-opts"
    done
}

# iotgate_lsm_order ORDER: ORDER with bpf last, unless it has bpf already.
iotgate_lsm_order() {
    case ",$1," in
    *,bpf,*) echo "$1" ;;
    ,,) echo "bpf" ;;
    *) echo "$1,bpf" ;;
    esac
}

do_iotgate_kernel_config() {
    cfg=${B}/.config
    [ -f "$cfg" ] || bbfatal "iotgate-kernel: do_configure left no ${B}/.config"
    frags=
    for f in ${IOTGATE_KERNEL_FRAGMENT_FILES}; do
        [ -f "${IOTGATE_KERNEL_UNPACKDIR}/$f" ] || bbfatal "iotgate-kernel: no fragment ${IOTGATE_KERNEL_UNPACKDIR}/$f"
        frags="$frags ${IOTGATE_KERNEL_UNPACKDIR}/$f"
    done

    iotgate_kconfig_merge "$cfg" $frags
    ${KERNEL_CONFIG_COMMAND}

    lsm=$(sed -n 's/^CONFIG_LSM="\(.*\)"$/\1/p' "$cfg")
    printf 'CONFIG_LSM="%s"\n' "$(iotgate_lsm_order "$lsm")" >${B}/iotgate-lsm.cfg
    bbnote "iotgate-kernel: CONFIG_LSM \"$lsm\" -> $(cat ${B}/iotgate-lsm.cfg)"
    iotgate_kconfig_merge "$cfg" ${B}/iotgate-lsm.cfg
    ${KERNEL_CONFIG_COMMAND}

    grep -hE '^(CONFIG_[A-Za-z0-9_]+=|# CONFIG_[A-Za-z0-9_]+ is not set$)' $frags ${B}/iotgate-lsm.cfg >${B}/iotgate-want
    missing=
    while read -r line; do
        grep -qxF "$line" "$cfg" && continue
        opt=$(echo "$line" | sed -n -e 's/^\(CONFIG_[A-Za-z0-9_]*\)=.*/\1/p' -e 's/^# \(CONFIG_[A-Za-z0-9_]*\) is not set$/\1/p')
        now=$(grep -E "^$opt=|^# $opt is not set\$" "$cfg" || echo "absent")
        case " ${IOTGATE_KERNEL_REQUIRED} CONFIG_LSM " in
        *" $opt "*) missing="$missing
    $line (the kernel made it: $now)" ;;
        *)
            if [ "$now" = absent ]; then
                bbnote "iotgate-kernel: $opt is not an option of this kernel"
            else
                bbwarn "iotgate-kernel: asked for '$line', the kernel made it: $now"
            fi
            ;;
        esac
    done <${B}/iotgate-want
    rm -f ${B}/iotgate-want
    if [ -n "$missing" ]; then
        bbfatal "iotgate-kernel: the kernel configuration lacks what iotgate's full tier needs (a dependency of it is off or missing: pahole for DEBUG_INFO_BTF, BPF_SYSCALL and SECURITY for BPF_LSM, ...):$missing"
    fi
}
do_iotgate_kernel_config[dirs] = "${B}"
addtask iotgate_kernel_config after do_configure before do_compile
