/* SPDX-License-Identifier: GPL-2.0-only */
/*
 * A policy set: one policy file and the manifest it uses, each with its
 * detached signature, parsed, signature-checked and with every manifest file
 * hashed. The daemon only ever swaps complete, verified sets into the kernel:
 * at start, on `policy apply`, `manifest apply`, `policy rollback`,
 * `manifest rollback`, `policy factory` and SIGHUP.
 *
 * Signatures: the policy is signed by a key of the daemon's key directory
 * (/etc/iotgate/keys); the manifest by a key the policy trusts (trusted-key,
 * else the same directory). An unsigned policy is accepted only in audit mode
 * or when the daemon runs with --allow-unsigned-policy; an unsigned manifest
 * only when the policy allows it (unsigned-manifests).
 *
 * Sets are kept in the state directory as <dir>/{policy.conf,policy.conf.sig,
 * manifest,manifest.sig} (active/ and previous/), so the device restarts with
 * what was last applied and can roll back.
 */
#ifndef IG_PSET_H
#define IG_PSET_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <time.h>
#include "diag.h"
#include "hash.h"
#include "manifest.h"
#include "policy.h"
#include "sig.h"

struct ig_blob {
	char *data;
	size_t len;
};

struct ig_set {
	struct ig_policy policy;
	struct ig_manifest manifest;
	struct ig_blob policy_raw, policy_sig; /* policy_sig.len 0: unsigned */
	struct ig_blob manifest_raw, manifest_sig;
	uint8_t policy_sha256[IG_SHA256_LEN];
	char policy_signer[IG_KEYID_LEN + 1]; /* "" if unsigned */
	char manifest_signer[IG_KEYID_LEN + 1];
	struct ig_verified *verified;
	size_t nverified;
	bool lazy; /* verified holds identities the kernel appraises at first use */
	size_t nhashed; /* entries the daemon hashed to load this set */
	struct ig_diag rejected; /* manifest entries not loaded, by path */
	char *source; /* where it was loaded from, for status */
	/*
	 * The absolute directory the policy's relative paths (trusted-key,
	 * manifest) were resolved against; stored with the set, so that a
	 * stored copy resolves them as the original did.
	 */
	char *basedir;
};

struct ig_set_opts {
	const struct ig_keyring *keys; /* the daemon's key directory */
	bool allow_unsigned_policy;
	const char *manifest_path; /* instead of the policy's 'manifest' (stored sets) */
	const char *policy_sig_path; /* default: <policy>.sig */
	const char *manifest_sig_path; /* default: <manifest>.sig */
	/* relative paths in the policy resolve here; default: the policy's directory */
	const char *basedir;
	/* list the manifest's identities without hashing (ig_manifest_prepare) */
	bool lazy;
};

/*
 * Loads and verifies a set. Every problem is added to d (file:line:col for
 * syntax, path: message for the rest). Returns 0 or negative errno; on error
 * the set is empty.
 */
int ig_set_load(struct ig_set *s, const char *policy_path, const struct ig_set_opts *o,
		struct ig_diag *d);
/* Loads a stored set from a state subdirectory (dir/policy.conf ...). */
int ig_set_load_stored(struct ig_set *s, const char *dir, const struct ig_set_opts *o,
		       struct ig_diag *d);
/*
 * Writes a set into dir (created), atomically per file. Returns 0 or
 * negative errno.
 */
int ig_set_store(const struct ig_set *s, const char *dir);
/*
 * Drops what only loading, storing and indexing need (the raw files, the
 * entries, the verified list: megabytes for a large manifest) from a set
 * that is in force and stored. Counts, versions, digests and the policy stay.
 */
void ig_set_compact(struct ig_set *s);
/*
 * Refuses a downgrade: a policy or manifest version below the given ones
 * (the active set's; on a locked device the version floor's if higher),
 * unless forced (rollback and factory force). Equal versions are accepted
 * (re-applying the same set). 0, or -EINVAL with the errors in d.
 */
int ig_set_check_versions(unsigned int policy_version, unsigned int manifest_version,
			  const struct ig_set *next, bool force, struct ig_diag *d);
void ig_set_free(struct ig_set *s);

#endif
