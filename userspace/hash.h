/* SPDX-License-Identifier: GPL-2.0-only */
/*
 * SHA-256 through OpenSSL's libcrypto, files optionally on all cores. With
 * isolation enabled (isolate.h) each call does its hashing in a child process.
 */
#ifndef IG_HASH_H
#define IG_HASH_H

#include <stddef.h>
#include <stdint.h>

#define IG_SHA256_LEN 32
#define IG_SHA256_HEX 64

/* Hashes an open file from offset 0. Returns 0 or negative errno. */
int ig_sha256_fd(int fd, uint8_t out[IG_SHA256_LEN]);
/* Hashes a buffer (never fails). */
void ig_sha256_buf(const void *buf, size_t len, uint8_t out[IG_SHA256_LEN]);
void ig_hex(const uint8_t *in, size_t len, char *out /* 2*len+1 */);
/* Parses exactly 2*len hex digits. Returns 0, or the 1-based index of the first bad char. */
size_t ig_unhex(const char *in, size_t len, uint8_t *out);

struct ig_hash_job {
	const char *path; /* in */
	int err; /* out: 0 or negative errno */
	uint8_t digest[IG_SHA256_LEN]; /* out */
};

/* Hashes n files with up to `threads` workers (0: one per online CPU). */
void ig_hash_files(struct ig_hash_job *jobs, size_t n, unsigned int threads);

#endif
