// SPDX-License-Identifier: GPL-2.0-only
#include <dirent.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <openssl/evp.h>
#include <openssl/pem.h>
#include <openssl/x509.h>
#include "hash.h"
#include "lex.h"
#include "sig.h"

#define ED25519_SIG_LEN 64

struct key {
	EVP_PKEY *pkey;
	char id[IG_KEYID_LEN + 1];
};

struct ig_keyring {
	struct key *keys;
	size_t n;
};

static int add_key(struct ig_keyring *kr, const char *path, struct ig_diag *d)
{
	unsigned char *der = NULL;
	uint8_t digest[IG_SHA256_LEN];
	EVP_PKEY *pkey;
	struct key *nk;
	FILE *f;
	int len;

	f = fopen(path, "re");
	if (!f) {
		ig_diag_add(d, path, 0, 0, "cannot read key: %s", strerror(errno));
		return -errno;
	}
	pkey = PEM_read_PUBKEY(f, NULL, NULL, NULL);
	fclose(f);
	if (!pkey) {
		ig_diag_add(d, path, 0, 0, "not a PEM public key");
		return -EINVAL;
	}
	if (EVP_PKEY_get_id(pkey) != EVP_PKEY_ED25519) {
		ig_diag_add(d, path, 0, 0, "not an Ed25519 key");
		EVP_PKEY_free(pkey);
		return -EINVAL;
	}
	len = i2d_PUBKEY(pkey, &der);
	nk = realloc(kr->keys, (kr->n + 1) * sizeof(*nk));
	if (len <= 0 || !nk) {
		OPENSSL_free(der);
		EVP_PKEY_free(pkey);
		if (nk)
			kr->keys = nk;
		return -ENOMEM;
	}
	kr->keys = nk;
	ig_sha256_buf(der, len, digest);
	OPENSSL_free(der);
	ig_hex(digest, sizeof(digest), nk[kr->n].id);
	nk[kr->n].pkey = pkey;
	kr->n++;
	return 0;
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
		while (dh && (de = readdir(dh))) {
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
	for (size_t i = 0; i < kr->n; i++)
		EVP_PKEY_free(kr->keys[i].pkey);
	free(kr->keys);
	free(kr);
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
	if (siglen != ED25519_SIG_LEN) {
		free(sig);
		return -EBADMSG;
	}
	ret = ig_keyring_size(kr) ? -EKEYREJECTED : -ENOKEY;
	for (size_t i = 0; kr && i < kr->n && ret; i++) {
		EVP_MD_CTX *ctx = EVP_MD_CTX_new();

		if (!ctx) {
			ret = -ENOMEM;
			break;
		}
		/* Ed25519 signs the message itself (no pre-hash): one-shot verify. */
		if (EVP_DigestVerifyInit(ctx, NULL, NULL, NULL, kr->keys[i].pkey) == 1 &&
		    EVP_DigestVerify(ctx, (unsigned char *)sig, siglen, data, len) == 1) {
			memcpy(keyid, kr->keys[i].id, IG_KEYID_LEN + 1);
			ret = 0;
		}
		EVP_MD_CTX_free(ctx);
	}
	free(sig);
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
