/* SPDX-License-Identifier: GPL-2.0-only */
/*
 * The policy file (iotgate.conf(5)): one directive per line, '#' comments.
 *
 *   version N          policy version (unsigned 32-bit), default 0
 *   mode enforce|audit what happens to code outside the manifest
 *   manifest PATH      sha256sum-format allowlist; relative to the policy's directory
 *   protect on|off     on: writes to allowlisted files are refused; off (default):
 *                      a write first removes the file from the allowlist
 *   allow-memfd PROGRAM NAME  the manifest's PROGRAM may run code from a memfd_create(NAME)
 *                      sealed with F_SEAL_WRITE (repeatable)
 *   allow-jit PROGRAM  the manifest's PROGRAM (absolute path) may make memory
 *                      executable that is or was writable (JITs); others may not (W^X)
 *   allow-ptrace PROGRAM  the manifest's PROGRAM may trace other processes and
 *                      write into them (debuggers); in enforce mode others may not
 *   trusted-key PATH   public key (PEM, Ed25519) trusted to sign manifests (repeatable;
 *                      none: the keys in /etc/iotgate/keys)
 *   self-protect on|off  on (default): in enforce mode only the daemon may touch its
 *                      pins and BPF objects, signal (init excepted) or ptrace it
 *   lock on|off        on: stop-enforcing, rollback, factory, --force are refused and a
 *                      mode change or unlocking needs a signed policy above the version
 *                      floor (iotgate.conf(5): LOCKED DEVICE); default off
 *   policy-key ID      only the key with this id (SHA-256 of its DER public key, 64
 *                      hex digits, as status shows a signer) may sign the next policy
 *                      (repeatable; none: any key of the key directory)
 *   device-id ID       the device's logical id in the state (default /etc/machine-id)
 *   unsigned-manifests refuse|allow
 *                      default: refuse in enforce mode, allow in audit mode
 */
#ifndef IG_POLICY_H
#define IG_POLICY_H

#include <stdbool.h>
#include <stddef.h>
#include "diag.h"
#include "hash.h"
#include "iotgate.h"

struct ig_netpolicy; /* interface and device rules: userspace/netpolicy.c */
struct ig_line;

struct ig_policy {
	char *path; /* the policy file as given */
	unsigned int version;
	unsigned int mode; /* IG_MODE_* */
	char *manifest; /* resolved path */
	bool protect;
	bool self_protect; /* default on; acts in enforce mode, full tier */
	bool lock; /* locked device: changes only by signed policies above the floor */
	char *device_id; /* logical device id (default: /etc/machine-id) */
	char **trusted_keys; /* resolved paths */
	size_t ntrusted_keys;
	char **policy_keys; /* policy-key ids: who may sign the next policy (none: any) */
	size_t npolicy_keys;
	int unsigned_manifests; /* -1 default (by mode), 0 refuse, 1 allow */
	char **memfd; /* allow-memfd names, each once */
	__u32 *memfd_mask; /* for each name: bit N if memfd_progs[N] may run it */
	size_t nmemfd;
	char **memfd_progs; /* allow-memfd programs, each once (at most IG_MEMFD_PROGS) */
	size_t nmemfd_progs;
	char **jit; /* allow-jit programs */
	size_t njit;
	char **tracers; /* allow-ptrace programs */
	size_t ntracers;
	struct ig_hash_limits hash_limits; /* for verifying the manifest */
	struct ig_netpolicy *net; /* NULL when the policy has no interface/device rules */
};

/*
 * Extension point for the interface/device rule directives (netpolicy.c).
 * ig_netpolicy_directive: returns true if l->tok[0] is one of its directives
 * (errors, if any, added to d as file:line:col), false if it is not its
 * keyword. ig_netpolicy_finish: checks across lines (contradictions) once
 * the file is read. Both may allocate *np.
 */
bool ig_netpolicy_directive(struct ig_netpolicy **np, const char *file, unsigned int line,
			    struct ig_line *l, struct ig_diag *d);
void ig_netpolicy_finish(struct ig_netpolicy **np, const char *file, struct ig_diag *d);
void ig_netpolicy_free(struct ig_netpolicy *np);

/* True if the policy names no policy-key, or names id. */
bool ig_policy_key_pinned(const struct ig_policy *p, const char *id);

/* Parses a policy held in memory; name is used in diagnostics, basedir resolves paths. */
int ig_policy_parse(const char *name, const char *buf, size_t len, const char *basedir,
		    struct ig_policy *p, struct ig_diag *d);
/* Reads and parses a file. 0, or -EINVAL with diagnostics, or -errno (also in diagnostics). */
int ig_policy_load(const char *path, struct ig_policy *p, struct ig_diag *d);
void ig_policy_free(struct ig_policy *p);
const char *ig_mode_name(unsigned int mode);
struct ig_manifest;
struct ig_verified;
/* Sets IG_FILE_F_JIT, _PTRACE and _MEMFD(N) on the verified entries the policy names. */
void ig_policy_mark(const struct ig_policy *p, const struct ig_manifest *m, struct ig_verified *v,
		    size_t n);
/* Whether this policy accepts a manifest without a valid signature. */
bool ig_policy_allows_unsigned_manifest(const struct ig_policy *p);

#endif
