/* SPDX-License-Identifier: GPL-2.0-only */
/*
 * SHA-256 through OpenSSL's libcrypto, files optionally on all cores. With
 * isolation enabled (isolate.h) each call does its hashing in a child process.
 */
#ifndef IG_HASH_H
#define IG_HASH_H

#include <stddef.h>
#include <stdint.h>
#include <time.h>

#define IG_SHA256_LEN 32
#define IG_SHA256_HEX 64

/* Hashes an open file from offset 0. Returns 0 or negative errno. */
int ig_sha256_fd(int fd, uint8_t out[IG_SHA256_LEN]);
/* The same, reading at most max bytes (a longer file: -EFBIG). */
int ig_sha256_fd_max(int fd, uint64_t max, uint8_t out[IG_SHA256_LEN]);
/*
 * The same, in this process, also giving up once the CLOCK_MONOTONIC
 * deadline has passed (-ETIMEDOUT; NULL: none).
 */
int ig_sha256_fd_bounded(int fd, uint64_t max, const struct timespec *deadline,
			 uint8_t out[IG_SHA256_LEN]);
/* The CLOCK_MONOTONIC time `seconds` from now. */
void ig_deadline(unsigned int seconds, struct timespec *out);
/* Hashes a buffer: 0, or -errno (-ENOPKG: no libcrypto). */
int ig_sha256_mem(const void *buf, size_t len, uint8_t out[IG_SHA256_LEN]);
/* The same that never fails: all zero on failure, a digest that matches nothing. */
void ig_sha256_buf(const void *buf, size_t len, uint8_t out[IG_SHA256_LEN]);
void ig_hex(const uint8_t *in, size_t len, char *out /* 2*len+1 */);
/* Parses exactly 2*len hex digits. Returns 0, or the 1-based index of the first bad char. */
size_t ig_unhex(const char *in, size_t len, uint8_t *out);

/*
 * What verifying a manifest may cost: no file larger than max_file bytes and
 * no more than max_total bytes are read, and reading stops after timeout
 * seconds (the policy's hash-limits, iotgate.conf(5)). A file over a limit is
 * rejected with a diagnostic; nothing waits for it.
 */
struct ig_hash_limits {
	uint64_t max_file;
	uint64_t max_total;
	unsigned int timeout;
};

#define IG_HASH_MAX_FILE_DEFAULT (1ull << 30) /* 1 GiB */
#define IG_HASH_MAX_TOTAL_DEFAULT (64ull << 30) /* 64 GiB */
#define IG_HASH_TIMEOUT_DEFAULT 900 /* s */

struct ig_hash_job {
	const char *path; /* in */
	int err; /* out: 0 or negative errno */
	uint8_t digest[IG_SHA256_LEN]; /* out */
};

/* Hashes n files with up to `threads` workers (0: one per online CPU). */
void ig_hash_files(struct ig_hash_job *jobs, size_t n, unsigned int threads);

/*
 * Runs fn(ctx, i) for every i < n on up to `threads` workers (0: one per
 * online CPU), in a child process when isolation is enabled: ctx must then
 * be ig_shared_alloc() memory for results to come back, and a child still
 * working `timeout` seconds (+1) later is ended by SIGALRM (0: no limit),
 * so fn should give up by itself at the deadline and leave a result that
 * says "not done" for jobs it never reached. 0, or negative errno (-ECHILD:
 * the child died, ended by the alarm or otherwise).
 */
int ig_hash_run(void (*fn)(void *ctx, size_t i), void *ctx, size_t n, unsigned int threads,
		unsigned int timeout);

#endif
