// SPDX-License-Identifier: GPL-2.0-only
#include <dirent.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include "crypto.h"
#include "hash.h"
#include "isolate.h"
#include "lex.h"
#include "sig.h"

#define ED25519_SIG_LEN 64

/*
 * A key is kept as its PEM text and parsed where it is used: in iotgated
 * that is an isolated child (isolate.h), so the daemon never holds OpenSSL
 * objects or initialises OpenSSL.
 */
struct key {
	char *path;
	char *pem;
	size_t len;
	char id[IG_KEYID_LEN + 1];
};

struct ig_keyring {
	struct key *keys;
	size_t n;
};

#define KEY_MAX 16384

enum { KEY_OK, KEY_NOT_PEM, KEY_NOT_ED25519 };

static EVP_PKEY *parse_key(const struct ig_crypto *c, const struct key *k, int *why)
{
	BIO *bio = c->BIO_new_mem_buf(k->pem, (int)k->len);
	EVP_PKEY *pkey = bio ? c->PEM_read_bio_PUBKEY(bio, NULL, NULL, NULL) : NULL;

	c->BIO_free(bio);
	*why = pkey ? KEY_OK : KEY_NOT_PEM;
	if (pkey && c->EVP_PKEY_get_id(pkey) != EVP_PKEY_ED25519) {
		c->EVP_PKEY_free(pkey);
		pkey = NULL;
		*why = KEY_NOT_ED25519;
	}
	return pkey;
}

struct check_job {
	const struct ig_keyring *kr;
	struct {
		int why;
		char id[IG_KEYID_LEN + 1];
	} * res; /* shared, one per key */
};

static int check_keys(void *arg)
{
	struct check_job *j = arg;
	const struct ig_crypto *c = ig_crypto(NULL);

	if (!c)
		return -ENOPKG;
	for (size_t i = 0; i < j->kr->n; i++) {
		EVP_PKEY *pkey = parse_key(c, &j->kr->keys[i], &j->res[i].why);
		uint8_t digest[IG_SHA256_LEN];
		unsigned char *der = NULL;
		int len;

		if (!pkey)
			continue;
		len = c->i2d_PUBKEY(pkey, &der);
		c->EVP_PKEY_free(pkey);
		if (len <= 0)
			return -ENOMEM;
		ig_sha256_buf(der, len, digest);
		c->CRYPTO_free(der, OPENSSL_FILE, OPENSSL_LINE);
		ig_hex(digest, sizeof(digest), j->res[i].id);
	}
	return 0;
}

static int add_key(struct ig_keyring *kr, const char *path, struct ig_diag *d)
{
	struct key *nk = realloc(kr->keys, (kr->n + 1) * sizeof(*nk));
	int ret;

	if (!nk)
		return -ENOMEM;
	kr->keys = nk;
	nk += kr->n;
	memset(nk, 0, sizeof(*nk));
	ret = ig_read_file(path, KEY_MAX, &nk->pem, &nk->len);
	if (ret) {
		ig_diag_add(d, path, 0, 0, "cannot read key: %s",
			    ret == -EFBIG ? "larger than 16 KiB" : strerror(-ret));
		return ret;
	}
	nk->path = strdup(path);
	if (!nk->path) {
		free(nk->pem);
		return -ENOMEM;
	}
	kr->n++;
	return 0;
}

/* Parses every key once (in a child when isolated): reports bad ones, sets ids. */
static int check_keyring(struct ig_keyring *kr, struct ig_diag *d)
{
	struct check_job j = { .kr = kr };
	size_t len = kr->n * sizeof(*j.res);
	int ret;

	if (!kr->n)
		return 0;
	j.res = ig_shared_alloc(len);
	if (!j.res)
		return -ENOMEM;
	ret = ig_isolate(check_keys, &j);
	for (size_t i = 0; !ret && i < kr->n; i++) {
		if (j.res[i].why == KEY_NOT_PEM)
			ig_diag_add(d, kr->keys[i].path, 0, 0, "not a PEM public key");
		else if (j.res[i].why == KEY_NOT_ED25519)
			ig_diag_add(d, kr->keys[i].path, 0, 0, "not an Ed25519 key");
		else
			memcpy(kr->keys[i].id, j.res[i].id, sizeof(kr->keys[i].id));
	}
	ig_shared_free(j.res, len);
	return ret;
}

static int cmp_str(const void *a, const void *b)
{
	return strcmp(*(char *const *)a, *(char *const *)b);
}

int ig_keyring_load(struct ig_keyring **out, const char *dir, char *const *files, size_t nfiles,
		    struct ig_diag *d)
{
	struct ig_keyring *kr = calloc(1, sizeof(*kr));
	size_t before = d->n;
	char **names = NULL;
	size_t nn = 0;

	if (!kr)
		return -ENOMEM;
	if (dir) {
		DIR *dh = opendir(dir);
		struct dirent *de;

		/* A missing key directory is an empty keyring, not an error. */
		if (!dh && errno != ENOENT)
			ig_diag_add(d, dir, 0, 0, "cannot read key directory: %s", strerror(errno));
		while (dh && (errno = 0, de = readdir(dh))) {
			size_t l = strlen(de->d_name);
			char **nn2;

			if (l < 5 || strcmp(de->d_name + l - 4, ".pem"))
				continue;
			nn2 = realloc(names, (nn + 1) * sizeof(*names));
			if (!nn2)
				break;
			names = nn2;
			if (asprintf(&names[nn], "%s/%s", dir, de->d_name) > 0)
				nn++;
		}
		/* e.g. EOVERFLOW: an inode number too large for a 32-bit readdir */
		if (dh && errno)
			ig_diag_add(d, dir, 0, 0, "cannot read key directory: %s", strerror(errno));
		if (dh)
			closedir(dh);
		if (nn)
			qsort(names, nn, sizeof(*names), cmp_str);
	}
	for (size_t i = 0; i < nn; i++) {
		add_key(kr, names[i], d);
		free(names[i]);
	}
	free(names);
	for (size_t i = 0; i < nfiles; i++)
		add_key(kr, files[i], d);
	if (d->n == before && check_keyring(kr, d) && d->n == before)
		ig_diag_add(d, dir ? dir : files[0], 0, 0, "cannot check keys: out of memory");
	if (d->n != before) {
		ig_keyring_free(kr);
		return -EINVAL;
	}
	*out = kr;
	return 0;
}

size_t ig_keyring_size(const struct ig_keyring *kr)
{
	return kr ? kr->n : 0;
}

void ig_keyring_free(struct ig_keyring *kr)
{
	if (!kr)
		return;
	for (size_t i = 0; i < kr->n; i++) {
		free(kr->keys[i].path);
		free(kr->keys[i].pem);
	}
	free(kr->keys);
	free(kr);
}

struct verify_job {
	const struct ig_keyring *kr;
	const void *data, *sig;
	size_t len;
	int *signer; /* shared: index of the key that verifies, -1 if none */
	uint8_t *sha256; /* shared, or NULL: data's digest */
	bool *digested; /* shared: sha256 was filled */
};

static int verify_keys(void *arg)
{
	struct verify_job *j = arg;
	const struct ig_crypto *c = ig_crypto(NULL);

	if (!c)
		return -ENOPKG;
	if (j->sha256)
		*j->digested =
			c->EVP_Digest(j->data, j->len, j->sha256, NULL, c->EVP_sha256(), NULL) == 1;
	for (size_t i = 0; i < j->kr->n && *j->signer < 0; i++) {
		EVP_PKEY *pkey;
		EVP_MD_CTX *ctx;
		int why;

		pkey = parse_key(c, &j->kr->keys[i], &why);
		ctx = pkey ? c->EVP_MD_CTX_new() : NULL;
		/* Ed25519 signs the message itself (no pre-hash): one-shot verify. */
		if (ctx && c->EVP_DigestVerifyInit(ctx, NULL, NULL, NULL, pkey) == 1 &&
		    c->EVP_DigestVerify(ctx, j->sig, ED25519_SIG_LEN, j->data, j->len) == 1)
			*j->signer = (int)i;
		c->EVP_MD_CTX_free(ctx);
		c->EVP_PKEY_free(pkey);
	}
	return 0;
}

int ig_sig_verify(const struct ig_keyring *kr, const void *data, size_t len, const char *sig_path,
		  char keyid[IG_KEYID_LEN + 1])
{
	char *sig;
	size_t siglen;
	int ret;

	ret = ig_read_file(sig_path, 4096, &sig, &siglen);
	if (ret)
		return ret == -ENOENT ? -ENOENT : ret;
	ret = ig_sig_verify_mem(kr, data, len, sig, siglen, keyid);
	free(sig);
	return ret;
}

int ig_sig_verify_mem(const struct ig_keyring *kr, const void *data, size_t len, const void *sig,
		      size_t siglen, char keyid[IG_KEYID_LEN + 1])
{
	return ig_sig_verify_digest(kr, data, len, sig, siglen, keyid, NULL, NULL);
}

/* What a verify child hands back: the signer's index and, if asked, the digest. */
struct verify_out {
	int signer;
	bool digested;
	uint8_t sha256[IG_SHA256_LEN];
};

int ig_sig_verify_digest(const struct ig_keyring *kr, const void *data, size_t len, const void *sig,
			 size_t siglen, char keyid[IG_KEYID_LEN + 1], uint8_t sha256[IG_SHA256_LEN],
			 bool *digested)
{
	struct verify_job j = { .kr = kr, .data = data, .len = len };
	struct verify_out *out;
	int ret;

	if (digested)
		*digested = false;
	if (siglen != ED25519_SIG_LEN)
		return -EBADMSG;
	if (!ig_keyring_size(kr))
		return -ENOKEY;
	j.sig = sig;
	out = ig_shared_alloc(sizeof(*out));
	if (!out)
		return -ENOMEM;
	out->signer = -1;
	j.signer = &out->signer;
	if (sha256) {
		j.sha256 = out->sha256;
		j.digested = &out->digested;
	}
	ret = ig_isolate(verify_keys, &j);
	if (sha256 && out->digested) {
		memcpy(sha256, out->sha256, IG_SHA256_LEN);
		*digested = true;
	}
	if (!ret && out->signer < 0)
		ret = -EKEYREJECTED;
	if (!ret)
		memcpy(keyid, kr->keys[out->signer].id, IG_KEYID_LEN + 1);
	ig_shared_free(out, sizeof(*out));
	return ret;
}

const char *ig_sig_strerror(int err)
{
	switch (err) {
	case -ENOENT:
		return "no signature file";
	case -EBADMSG:
		return "signature file is not a 64-byte Ed25519 signature";
	case -ENOKEY:
		return "no trusted keys are configured";
	case -EKEYREJECTED:
		return "signature does not verify with any trusted key";
	default:
		return strerror(-err);
	}
}
