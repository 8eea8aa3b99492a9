/* SPDX-License-Identifier: GPL-2.0-only */
/*
 * OpenSSL's libcrypto, loaded on first use with dlopen().
 *
 * Merely linking libcrypto costs a process about 1.4 MB of resident memory
 * (the loader reads its relocations and writes its RELRO data) whether or
 * not it is used. iotgated does all of its crypto in short-lived children
 * (isolate.h), so with libcrypto loaded there, the long-lived daemon never
 * maps it. Every user (daemon, iotgatectl, tests) goes through this table:
 * one code path. The library is the one the headers belong to
 * (libcrypto.so.OPENSSL_SHLIB_VERSION); packages must depend on it.
 */
#ifndef IG_CRYPTO_H
#define IG_CRYPTO_H

#include <stddef.h>
#include <openssl/evp.h>
#include <openssl/pem.h>
#include <openssl/x509.h>

/* clang-format 14 re-wraps this list differently on each pass */
// clang-format off
#define IG_CRYPTO_FN(X)                                                                \
	X(EVP_Digest) X(EVP_sha256) X(EVP_MD_CTX_new) X(EVP_MD_CTX_free)                 \
	X(EVP_DigestInit_ex) X(EVP_DigestUpdate) X(EVP_DigestFinal_ex)                   \
	X(EVP_DigestVerifyInit) X(EVP_DigestVerify) X(EVP_PKEY_get_id) X(EVP_PKEY_free) \
	X(BIO_new_mem_buf) X(BIO_free) X(PEM_read_bio_PUBKEY) X(i2d_PUBKEY) X(CRYPTO_free)
// clang-format on

struct ig_crypto {
#define IG_CRYPTO_PTR(name) __typeof__(name) *name;
	IG_CRYPTO_FN(IG_CRYPTO_PTR)
#undef IG_CRYPTO_PTR
};

/*
 * The loaded table, or NULL (and the reason in *why, if given) when
 * libcrypto cannot be loaded. Loads once per process; thread-safe.
 */
const struct ig_crypto *ig_crypto(const char **why);
/* Can libcrypto be loaded (tried where the crypto work runs)? 0, or -errno and why. */
int ig_crypto_probe(char *why, size_t len);

#endif
