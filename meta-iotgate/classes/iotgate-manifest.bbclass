# SPDX-License-Identifier: GPL-2.0-only
# iotgate-manifest: the image's own policy set. Use it in an image recipe
# (inherit iotgate-manifest) or for every image (IMAGE_CLASSES += "iotgate-manifest"
# in local.conf or the distro).
#
# At rootfs time it writes the allowlist that the policy names,
# ${sysconfdir}/iotgate/manifest.sha256: every regular file under
# IOTGATE_MANIFEST_DIRS that is executable or a shared object, hashed in
# sha256sum(1) format with target paths, sorted by path, the same as
# 'iotgatectl manifest create' would print on the device for those files.
# Symlinked directories (usrmerge) are not followed twice.
#
# The policy (${sysconfdir}/iotgate/iotgate.conf) is the package's factory
# default (audit mode), unless
#   IOTGATE_POLICY_FILE  names a policy file to install instead, or
#   IOTGATE_POLICY_MODE  is "audit" or "enforce": a policy of that mode naming
#                        the manifest is generated (version IOTGATE_POLICY_VERSION).
#
# With IOTGATE_SIGNING_KEY, the path of an Ed25519 private key (PEM) on the
# build host, the policy and the manifest are signed (iotgate.conf.sig,
# manifest.sha256.sig, as 'openssl pkeyutl -sign -rawin' makes them) and the
# public key is installed as ${sysconfdir}/iotgate/keys/${IOTGATE_SIGNING_KEY_NAME}.pem,
# so iotgated trusts the set at the first boot. Enforce mode needs that:
# iotgated refuses an unsigned policy or manifest in enforce mode. The key
# must not be inside a layer (it would be published with it) nor in the
# build directory; keep it in a vault or on a signing host.

IOTGATE_MANIFEST ?= "${sysconfdir}/iotgate/manifest.sha256"
# ${sysconfdir}: executable scripts there run too (init scripts, hooks).
IOTGATE_MANIFEST_DIRS ?= "${base_bindir} ${base_sbindir} ${base_libdir} ${bindir} ${sbindir} ${libdir} ${libexecdir} ${sysconfdir}"
IOTGATE_POLICY ?= "${sysconfdir}/iotgate/iotgate.conf"
IOTGATE_POLICY_FILE ?= ""
IOTGATE_POLICY_MODE ?= ""
IOTGATE_POLICY_VERSION ?= "1"
IOTGATE_SIGNING_KEY ?= ""
IOTGATE_SIGNING_KEY_NAME ?= "image"

ROOTFS_POSTPROCESS_COMMAND += "iotgate_manifest"

# openssl for the signatures; the key's path is part of the task's signature,
# its contents are not (they never go into a sstate or siginfo file).
DEPENDS += "${@'openssl-native' if d.getVar('IOTGATE_SIGNING_KEY') else ''}"

python () {
    key = d.getVar('IOTGATE_SIGNING_KEY')
    mode = d.getVar('IOTGATE_POLICY_MODE')
    if mode not in ('', 'audit', 'enforce'):
        bb.fatal('IOTGATE_POLICY_MODE is "%s": "audit", "enforce" or empty (the package\'s policy)' % mode)
    if mode and d.getVar('IOTGATE_POLICY_FILE'):
        bb.fatal('set IOTGATE_POLICY_MODE (a generated policy) or IOTGATE_POLICY_FILE (yours), not both')
    if mode == 'enforce' and not key:
        bb.fatal('IOTGATE_POLICY_MODE = "enforce" needs IOTGATE_SIGNING_KEY: iotgated refuses an unsigned policy set in enforce mode')
    if not key:
        return
    if not os.path.isabs(key):
        bb.fatal('IOTGATE_SIGNING_KEY must be an absolute path, not "%s"' % key)
    real = os.path.realpath(key)
    inside = [p for p in (d.getVar('BBLAYERS') or '').split() + [d.getVar('TOPDIR'), d.getVar('TMPDIR')]
              if p and (real + '/').startswith(os.path.realpath(p) + '/')]
    if inside:
        bb.fatal('IOTGATE_SIGNING_KEY %s is inside %s: keep the private key out of layers and the build directory' % (key, inside[0]))
}

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

    policy=${IMAGE_ROOTFS}${IOTGATE_POLICY}
    if [ -n "${IOTGATE_POLICY_FILE}" ]; then
        install -d "$(dirname "$policy")"
        install -m 0644 "${IOTGATE_POLICY_FILE}" "$policy"
    elif [ -n "${IOTGATE_POLICY_MODE}" ]; then
        install -d "$(dirname "$policy")"
        {
            echo "# iotgate policy of ${PN}, written by iotgate-manifest.bbclass"
            echo "version ${IOTGATE_POLICY_VERSION}"
            echo "mode ${IOTGATE_POLICY_MODE}"
            echo "manifest $(iotgate_relpath "$(dirname "${IOTGATE_POLICY}")" "${IOTGATE_MANIFEST}")"
        } >"$policy"
        chmod 0644 "$policy"
    fi

    if [ -n "${IOTGATE_SIGNING_KEY}" ]; then
        key=${IOTGATE_SIGNING_KEY}
        [ -r "$key" ] || bbfatal "iotgate-manifest: cannot read IOTGATE_SIGNING_KEY $key"
        # iotgated checks Ed25519 signatures only
        openssl pkey -in "$key" -noout -text 2>/dev/null | head -n 1 | grep -qx 'ED25519 Private-Key:' ||
            bbfatal "iotgate-manifest: IOTGATE_SIGNING_KEY $key is not an Ed25519 private key (openssl genpkey -algorithm ed25519)"
        [ -f "$policy" ] || bbfatal "iotgate-manifest: no policy ${IOTGATE_POLICY} in the image to sign"
        keys=${IMAGE_ROOTFS}${sysconfdir}/iotgate/keys
        install -d "$keys"
        openssl pkey -in "$key" -pubout -out "$keys/${IOTGATE_SIGNING_KEY_NAME}.pem" ||
            bbfatal "iotgate-manifest: $key is not a private key openssl can read"
        chmod 0644 "$keys/${IOTGATE_SIGNING_KEY_NAME}.pem"
        for f in "$out" "$policy"; do
            rm -f "$f.sig"
            openssl pkeyutl -sign -rawin -inkey "$key" -in "$f" -out "$f.sig" ||
                bbfatal "iotgate-manifest: cannot sign $f with $key (an Ed25519 key is needed)"
            openssl pkeyutl -verify -rawin -pubin -inkey "$keys/${IOTGATE_SIGNING_KEY_NAME}.pem" \
                -in "$f" -sigfile "$f.sig" >/dev/null ||
                bbfatal "iotgate-manifest: the signature of $f does not verify"
            chmod 0644 "$f.sig"
        done
    fi
}

# iotgate_relpath DIR FILE: FILE relative to DIR (both absolute, FILE below DIR
# or not), as the policy's manifest directive takes it.
iotgate_relpath() {
    case "$2" in
    "$1"/*) echo "${2#"$1"/}" ;;
    *) echo "$2" ;;
    esac
}
