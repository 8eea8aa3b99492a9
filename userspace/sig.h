/* SPDX-License-Identifier: GPL-2.0-only */
/*
 * Detached Ed25519 signatures, made with the openssl command line:
 *   openssl genpkey -algorithm ed25519 -out key.pem
 *   openssl pkey -in key.pem -pubout -out /etc/iotgate/keys/vendor.pem
 *   openssl pkeyutl -sign -rawin -inkey key.pem -in FILE -out FILE.sig
 * FILE.sig holds the 64 raw signature bytes. Verification goes through
 * OpenSSL's libcrypto. A key's id is the SHA-256 of its DER public key
 * (SubjectPublicKeyInfo), in hex; status shows its first 16 digits.
 */
#ifndef IG_SIG_H
#define IG_SIG_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include "diag.h"
#include "hash.h"

#define IG_KEYS_DIR IG_SYSCONFDIR "/iotgate/keys"
#define IG_KEYID_LEN 64

struct ig_keyring;

/*
 * Loads trusted public keys: every *.pem in dir (if dir is not NULL) plus
 * the listed files. Unreadable or non-Ed25519 keys are errors (in d).
 * An empty keyring is valid; it verifies nothing.
 */
int ig_keyring_load(struct ig_keyring **out, const char *dir, char *const *files, size_t nfiles,
		    struct ig_diag *d);
size_t ig_keyring_size(const struct ig_keyring *kr);
void ig_keyring_free(struct ig_keyring *kr);

/*
 * Verifies data against the detached signature in sig_path with any trusted
 * key. Returns 0 and the signer's key id, or: -ENOENT (no signature file),
 * -EBADMSG (not a 64-byte signature), -ENOKEY (keyring empty),
 * -EKEYREJECTED (no trusted key made this signature).
 */
int ig_sig_verify(const struct ig_keyring *kr, const void *data, size_t len, const char *sig_path,
		  char keyid[IG_KEYID_LEN + 1]);
/* The same with the signature's bytes: what was verified is what is kept. */
int ig_sig_verify_mem(const struct ig_keyring *kr, const void *data, size_t len, const void *sig,
		      size_t siglen, char keyid[IG_KEYID_LEN + 1]);
/*
 * ig_sig_verify_mem that also hashes data (SHA-256) in the same libcrypto
 * run: *digested says whether sha256 was filled (false where the signature
 * was refused before any key was tried, or libcrypto failed), whatever the
 * verdict. One isolated child instead of two (isolate.h).
 */
int ig_sig_verify_digest(const struct ig_keyring *kr, const void *data, size_t len, const void *sig,
			 size_t siglen, char keyid[IG_KEYID_LEN + 1], uint8_t sha256[IG_SHA256_LEN],
			 bool *digested);
/* A one-line explanation of an ig_sig_verify() error. */
const char *ig_sig_strerror(int err);

#endif
