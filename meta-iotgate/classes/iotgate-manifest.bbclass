# SPDX-License-Identifier: GPL-2.0-only
# iotgate-manifest: writes the allowlist that iotgate's default policy names,
# ${sysconfdir}/iotgate/manifest.sha256, from the image's own files. Use it
# in an image recipe (inherit iotgate-manifest) or for every image
# (IMAGE_CLASSES += "iotgate-manifest" in local.conf or the distro).
#
# Every regular file under IOTGATE_MANIFEST_DIRS that is executable or a
# shared object is hashed, in sha256sum(1) format with target paths, sorted
# by path: the same as 'iotgatectl manifest create' would print on the device
# for those files. Symlinked directories (usrmerge) are not followed twice.

IOTGATE_MANIFEST ?= "${sysconfdir}/iotgate/manifest.sha256"
IOTGATE_MANIFEST_DIRS ?= "${base_bindir} ${base_sbindir} ${base_libdir} ${bindir} ${sbindir} ${libdir} ${libexecdir}"

ROOTFS_POSTPROCESS_COMMAND += "iotgate_manifest; "

iotgate_manifest() {
    out=${IMAGE_ROOTFS}${IOTGATE_MANIFEST}
    install -d "$(dirname "$out")"
    (
        cd ${IMAGE_ROOTFS}
        for dir in ${IOTGATE_MANIFEST_DIRS}; do
            if [ -d ".$dir" ] && [ ! -L ".$dir" ]; then
                find ".$dir" -type f \( -perm -u+x -o -name '*.so' -o -name '*.so.*' \) -print0
            fi
        done | LC_ALL=C sort -zu | xargs -0r sha256sum
    ) | sed 's|^\(\\\{0,1\}[0-9a-f]\{64\}  \)\./|\1/|' >"$out.tmp"
    mv "$out.tmp" "$out"
    chmod 0644 "$out"
}
