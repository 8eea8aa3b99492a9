// SPDX-License-Identifier: GPL-2.0-only
#include <errno.h>
#include <fcntl.h>
#include <libgen.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>
#include "lex.h"
#include "pset.h"

#define POLICY_MAX (1u << 20)
#define MANIFEST_MAX (256u << 20)
#define SIG_MAX 4096

static void blob_free(struct ig_blob *b)
{
	free(b->data);
	b->data = NULL;
	b->len = 0;
}

/* Reads an optional file: 0 (absent: empty blob), or negative errno. */
static int read_opt(const char *path, size_t max, struct ig_blob *b)
{
	int ret = ig_read_file(path, max, &b->data, &b->len);

	if (ret == -ENOENT) {
		b->data = NULL;
		b->len = 0;
		return 0;
	}
	return ret;
}

static char *with_suffix(const char *path, const char *suffix)
{
	char *out;

	return asprintf(&out, "%s%s", path, suffix) < 0 ? NULL : out;
}

/*
 * Verifies data against sig_path; records the signer. Returns 0, 1
 * (unsigned), -errno. With sha256, data's digest comes from the same child
 * as the verdict (*digested says whether it did).
 */
static int check_sig(const struct ig_keyring *kr, const struct ig_blob *data, const char *sig_path,
		     struct ig_blob *sig, char signer[IG_KEYID_LEN + 1],
		     uint8_t sha256[IG_SHA256_LEN], bool *digested)
{
	int ret;

	signer[0] = '\0';
	if (digested)
		*digested = false;
	ret = read_opt(sig_path, SIG_MAX, sig);
	if (ret)
		return ret;
	if (!sig->data)
		return 1;
	/* the bytes read once: the signature stored is the one verified */
	return ig_sig_verify_digest(kr, data->data, data->len, sig->data, sig->len, signer, sha256,
				    digested);
}

int ig_set_load(struct ig_set *s, const char *policy_path, const struct ig_set_opts *o,
		struct ig_diag *d)
{
	char *copy = NULL, *psig = NULL, *msig = NULL;
	struct ig_keyring *mkeys = NULL;
	const struct ig_keyring *mk;
	const char *mpath;
	size_t before = d->n;
	uint8_t msha[IG_SHA256_LEN];
	bool digested, mdigested;
	int ret;

	memset(s, 0, sizeof(*s));
	ig_diag_init(&s->rejected);
	ret = ig_read_file(policy_path, POLICY_MAX, &s->policy_raw.data, &s->policy_raw.len);
	if (ret) {
		ig_diag_add(d, policy_path, 0, 0, "cannot read policy: %s",
			    ret == -EFBIG ? "larger than 1 MiB" : strerror(-ret));
		goto fail;
	}
	copy = strdup(policy_path);
	if (!copy) {
		ret = -ENOMEM;
		goto fail;
	}
	/* absolute, so that the paths resolved are too, whatever the working directory */
	s->basedir = o->basedir ? strdup(o->basedir) : realpath(dirname(copy), NULL);
	if (!s->basedir) {
		ret = -errno;
		ig_diag_add(d, policy_path, 0, 0, "cannot resolve its directory: %s",
			    strerror(-ret));
		goto fail;
	}
	ret = ig_policy_parse(policy_path, s->policy_raw.data, s->policy_raw.len, s->basedir,
			      &s->policy, d);
	if (ret)
		goto fail;

	psig = o->policy_sig_path ? strdup(o->policy_sig_path) : with_suffix(policy_path, ".sig");
	if (!psig) {
		ret = -ENOMEM;
		goto fail;
	}
	ret = check_sig(o->keys, &s->policy_raw, psig, &s->policy_sig, s->policy_signer,
			s->policy_sha256, &digested);
	/* the policy's digest, from the signature's child where there was one */
	if (!digested && ret >= 0) {
		int r = ig_sha256_mem(s->policy_raw.data, s->policy_raw.len, s->policy_sha256);

		if (r) {
			ig_diag_add(d, policy_path, 0, 0, "cannot hash the policy: %s",
				    r == -ENOPKG ? "libcrypto is unavailable" : strerror(-r));
			ret = r;
			goto fail;
		}
	}
	if (ret == 1) {
		if (s->policy.mode == IG_MODE_ENFORCE && !o->allow_unsigned_policy) {
			ig_diag_add(
				d, policy_path, 0, 0,
				"policy is not signed (no %s): enforce mode needs a policy signed by a key in %s",
				psig, IG_KEYS_DIR);
			ret = -EKEYREJECTED;
			goto fail;
		}
	} else if (ret) {
		ig_diag_add(d, psig, 0, 0, "policy signature refused: %s", ig_sig_strerror(ret));
		goto fail;
	}

	/* The manifest: its keys come from the policy, else the key directory. */
	if (s->policy.ntrusted_keys) {
		ret = ig_keyring_load(&mkeys, NULL, s->policy.trusted_keys, s->policy.ntrusted_keys,
				      d);
		if (ret)
			goto fail;
	}
	mk = mkeys ? mkeys : o->keys;
	mpath = o->manifest_path ? o->manifest_path : s->policy.manifest;
	ret = ig_read_file(mpath, MANIFEST_MAX, &s->manifest_raw.data, &s->manifest_raw.len);
	if (ret) {
		ig_diag_add(d, mpath, 0, 0, "cannot read manifest: %s",
			    ret == -EFBIG ? "larger than 256 MiB" : strerror(-ret));
		goto fail;
	}
	msig = o->manifest_sig_path ? strdup(o->manifest_sig_path) : with_suffix(mpath, ".sig");
	if (!msig) {
		ret = -ENOMEM;
		goto fail;
	}
	ret = check_sig(mk, &s->manifest_raw, msig, &s->manifest_sig, s->manifest_signer, msha,
			&mdigested);
	if (ret == 1) {
		if (!ig_policy_allows_unsigned_manifest(&s->policy)) {
			ig_diag_add(
				d, mpath, 0, 0,
				"manifest is not signed (no %s) and the policy refuses unsigned manifests",
				msig);
			ret = -EKEYREJECTED;
			goto fail;
		}
	} else if (ret) {
		ig_diag_add(d, msig, 0, 0, "manifest signature refused: %s", ig_sig_strerror(ret));
		goto fail;
	}
	ret = ig_manifest_parse_digested(mpath, s->manifest_raw.data, s->manifest_raw.len,
					 mdigested ? msha : NULL, &s->manifest, d);
	if (ret)
		goto fail;
	s->verified = calloc(s->manifest.n ? s->manifest.n : 1, sizeof(*s->verified));
	if (!s->verified) {
		ret = -ENOMEM;
		goto fail;
	}
	ret = ig_manifest_prepare(&s->manifest, &s->policy.hash_limits, o->lazy, s->verified,
				  &s->nverified, &s->rejected);
	s->nhashed = o->lazy ? 0 : s->manifest.n;
	if (ret)
		goto fail;
	s->source = strdup(policy_path);
	ret = s->source ? 0 : -ENOMEM;
fail:
	if (!ret && d->n != before)
		ret = -EINVAL;
	ig_keyring_free(mkeys);
	free(copy);
	free(psig);
	free(msig);
	if (ret)
		ig_set_free(s);
	return ret;
}

int ig_set_load_stored(struct ig_set *s, const char *dir, const struct ig_set_opts *o,
		       struct ig_diag *d)
{
	struct ig_set_opts so = *o;
	char *p = NULL, *m = NULL;
	int ret = -ENOMEM;

	struct ig_blob base = { 0 };
	char *bpath = NULL;

	if (asprintf(&p, "%s/policy.conf", dir) < 0 || asprintf(&m, "%s/manifest", dir) < 0 ||
	    asprintf(&bpath, "%s/basedir", dir) < 0)
		goto out;
	so.manifest_path = m;
	/* stored by ig_set_store: where the original policy's relative paths pointed */
	if (!read_opt(bpath, 4096, &base) && base.data && base.len && base.data[0] == '/') {
		base.data[base.len - (base.data[base.len - 1] == '\n')] = '\0';
		so.basedir = base.data;
	}
	ret = ig_set_load(s, p, &so, d);
out:
	free(p);
	free(m);
	free(bpath);
	blob_free(&base);
	return ret;
}

/* Writes a file via a temporary name and rename, so readers never see half of it. */
static int put(const char *dir, const char *name, const struct ig_blob *b)
{
	char *path = NULL, *tmp = NULL;
	int fd = -1, ret = -ENOMEM;

	if (asprintf(&path, "%s/%s", dir, name) < 0 || asprintf(&tmp, "%s/.%s.tmp", dir, name) < 0)
		goto out;
	if (!b->data) {
		ret = unlink(path) && errno != ENOENT ? -errno : 0;
		goto out;
	}
	fd = open(tmp, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0640);
	if (fd < 0) {
		ret = -errno;
		goto out;
	}
	if (write(fd, b->data, b->len) != (ssize_t)b->len || fsync(fd)) {
		ret = errno ? -errno : -EIO;
		unlink(tmp);
		goto out;
	}
	ret = rename(tmp, path) ? -errno : 0;
out:
	if (fd >= 0)
		close(fd);
	free(path);
	free(tmp);
	return ret;
}

int ig_set_store(const struct ig_set *s, const char *dir)
{
	int ret;

	if (mkdir(dir, 0750) && errno != EEXIST)
		return -errno;
	ret = put(dir, "manifest", &s->manifest_raw);
	if (!ret)
		ret = put(dir, "manifest.sig", &s->manifest_sig);
	if (!ret)
		ret = put(dir, "policy.conf.sig", &s->policy_sig);
	if (!ret && s->basedir) {
		struct ig_blob b = { .data = s->basedir, .len = strlen(s->basedir) };

		ret = put(dir, "basedir", &b);
	}
	if (!ret)
		ret = put(dir, "policy.conf", &s->policy_raw);
	return ret;
}

void ig_set_compact(struct ig_set *s)
{
	for (size_t i = 0; s->manifest.e && i < s->manifest.n; i++)
		free(s->manifest.e[i].path);
	free(s->manifest.e);
	s->manifest.e = NULL;
	blob_free(&s->policy_raw);
	blob_free(&s->policy_sig);
	blob_free(&s->manifest_raw);
	blob_free(&s->manifest_sig);
	free(s->verified);
	s->verified = NULL;
}

void ig_set_free(struct ig_set *s)
{
	ig_policy_free(&s->policy);
	ig_manifest_free(&s->manifest);
	blob_free(&s->policy_raw);
	blob_free(&s->policy_sig);
	blob_free(&s->manifest_raw);
	blob_free(&s->manifest_sig);
	free(s->verified);
	free(s->source);
	free(s->basedir);
	ig_diag_free(&s->rejected);
	memset(s, 0, sizeof(*s));
}

int ig_set_check_versions(unsigned int policy_version, unsigned int manifest_version,
			  const struct ig_set *next, bool force, struct ig_diag *d)
{
	size_t before = d->n;

	if (force)
		return 0;
	if (next->policy.version < policy_version)
		ig_diag_add(
			d, next->policy.path, 0, 0,
			"policy version %u is older than the active version %u (force to downgrade)",
			next->policy.version, policy_version);
	if (next->manifest.version < manifest_version)
		ig_diag_add(
			d, next->manifest.path, 0, 0,
			"manifest version %u is older than the active version %u (force to downgrade)",
			next->manifest.version, manifest_version);
	return d->n != before ? -EINVAL : 0;
}
