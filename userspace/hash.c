// SPDX-License-Identifier: GPL-2.0-only
#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>
#include "crypto.h"
#include "hash.h"
#include "isolate.h"

static bool past(const struct timespec *deadline)
{
	struct timespec now;

	if (!deadline)
		return false;
	clock_gettime(CLOCK_MONOTONIC, &now);
	return now.tv_sec > deadline->tv_sec ||
	       (now.tv_sec == deadline->tv_sec && now.tv_nsec >= deadline->tv_nsec);
}

/* At most max bytes (more: -EFBIG), and not past the deadline (-ETIMEDOUT). */
static int sha256_fd(int fd, uint64_t max, const struct timespec *deadline,
		     uint8_t out[IG_SHA256_LEN])
{
	static __thread uint8_t buf[1 << 17];
	const struct ig_crypto *c = ig_crypto(NULL);
	EVP_MD_CTX *ctx;
	int ret = 0;
	ssize_t n;

	if (!c)
		return -ENOPKG;
	ctx = c->EVP_MD_CTX_new();
	if (!ctx)
		return -ENOMEM;
	if (!c->EVP_DigestInit_ex(ctx, c->EVP_sha256(), NULL)) {
		ret = -EIO;
		goto out;
	}
	for (uint64_t off = 0;; off += n) {
		if (past(deadline)) {
			ret = -ETIMEDOUT;
			goto out;
		}
		n = pread(fd, buf, sizeof(buf), off);
		if (n < 0) {
			if (errno == EINTR) {
				n = 0;
				continue;
			}
			ret = -errno;
			goto out;
		}
		if (n == 0)
			break;
		/* Bytes past the size fstat gave count too: a file can grow while read. */
		if ((uint64_t)n > max - off) {
			ret = -EFBIG;
			goto out;
		}
		c->EVP_DigestUpdate(ctx, buf, n);
	}
	if (!c->EVP_DigestFinal_ex(ctx, out, NULL))
		ret = -EIO;
out:
	c->EVP_MD_CTX_free(ctx);
	return ret;
}

int ig_sha256_fd_bounded(int fd, uint64_t max, const struct timespec *deadline,
			 uint8_t out[IG_SHA256_LEN])
{
	return sha256_fd(fd, max, deadline, out);
}

void ig_deadline(unsigned int seconds, struct timespec *out)
{
	clock_gettime(CLOCK_MONOTONIC, out);
	out->tv_sec += seconds;
}

struct fd_job {
	int fd;
	uint64_t max;
	uint8_t *out; /* shared */
};

static int fd_job(void *arg)
{
	struct fd_job *j = arg;

	return sha256_fd(j->fd, j->max, NULL, j->out);
}

int ig_sha256_fd(int fd, uint8_t out[IG_SHA256_LEN])
{
	return ig_sha256_fd_max(fd, UINT64_MAX, out);
}

int ig_sha256_fd_max(int fd, uint64_t max, uint8_t out[IG_SHA256_LEN])
{
	struct fd_job j = { .fd = fd, .max = max, .out = out };
	int ret;

	if (!ig_isolate_enabled())
		return sha256_fd(fd, max, NULL, out);
	j.out = ig_shared_alloc(IG_SHA256_LEN);
	if (!j.out)
		return -ENOMEM;
	ret = ig_isolate(fd_job, &j);
	if (!ret)
		memcpy(out, j.out, IG_SHA256_LEN);
	ig_shared_free(j.out, IG_SHA256_LEN);
	return ret;
}

struct buf_job {
	const void *buf;
	size_t len;
	uint8_t *out; /* shared */
};

static int buf_job(void *arg)
{
	struct buf_job *j = arg;
	const struct ig_crypto *c = ig_crypto(NULL);

	if (!c)
		return -ENOPKG;
	return c->EVP_Digest(j->buf, j->len, j->out, NULL, c->EVP_sha256(), NULL) ? 0 : -EIO;
}

int ig_sha256_mem(const void *buf, size_t len, uint8_t out[IG_SHA256_LEN])
{
	struct buf_job j = { .buf = buf, .len = len, .out = out };
	int ret = -ENOMEM;

	if (ig_isolate_enabled()) {
		j.out = ig_shared_alloc(IG_SHA256_LEN);
		if (j.out)
			ret = ig_isolate(buf_job, &j);
		if (!ret)
			memcpy(out, j.out, IG_SHA256_LEN);
		ig_shared_free(j.out, IG_SHA256_LEN);
	} else {
		ret = buf_job(&j);
	}
	return ret;
}

void ig_sha256_buf(const void *buf, size_t len, uint8_t out[IG_SHA256_LEN])
{
	/* All zero on failure (no libcrypto, no child): it matches no digest. */
	if (ig_sha256_mem(buf, len, out))
		memset(out, 0, IG_SHA256_LEN);
}

void ig_hex(const uint8_t *in, size_t len, char *out)
{
	static const char digits[] = "0123456789abcdef";

	for (size_t i = 0; i < len; i++) {
		out[2 * i] = digits[in[i] >> 4];
		out[2 * i + 1] = digits[in[i] & 15];
	}
	out[2 * len] = '\0';
}

static int hexval(char c)
{
	if (c >= '0' && c <= '9')
		return c - '0';
	if (c >= 'a' && c <= 'f')
		return c - 'a' + 10;
	if (c >= 'A' && c <= 'F')
		return c - 'A' + 10;
	return -1;
}

size_t ig_unhex(const char *in, size_t len, uint8_t *out)
{
	for (size_t i = 0; i < len; i++) {
		int hi = hexval(in[2 * i]), lo;

		if (hi < 0)
			return 2 * i + 1;
		lo = hexval(in[2 * i + 1]);
		if (lo < 0)
			return 2 * i + 2;
		out[i] = hi << 4 | lo;
	}
	return 0;
}

struct pool {
	void (*fn)(void *ctx, size_t i);
	void *ctx;
	size_t n;
	atomic_size_t next;
};

static void *worker(void *arg)
{
	struct pool *p = arg;
	size_t i;

	while ((i = atomic_fetch_add(&p->next, 1)) < p->n)
		p->fn(p->ctx, i);
	return NULL;
}

static void pool_run(void (*fn)(void *ctx, size_t i), void *ctx, size_t n, unsigned int threads)
{
	struct pool p = { .fn = fn, .ctx = ctx, .n = n };
	pthread_t tid[64];
	unsigned int started = 0;

	if (!threads) {
		long c = sysconf(_SC_NPROCESSORS_ONLN);

		threads = c > 0 ? (unsigned int)c : 1;
	}
	if (threads > 64)
		threads = 64;
	if (threads > n)
		threads = n ? n : 1;
	atomic_init(&p.next, 0);
	/* The calling thread works too; extra threads only if there is more than one job. */
	for (unsigned int t = 1; t < threads; t++)
		if (!pthread_create(&tid[started], NULL, worker, &p))
			started++;
	worker(&p);
	for (unsigned int t = 0; t < started; t++)
		pthread_join(tid[t], NULL);
}

struct run_job {
	void (*fn)(void *ctx, size_t i);
	void *ctx;
	size_t n;
	unsigned int threads, alarm;
};

static int run_job(void *arg)
{
	struct run_job *j = arg;

	/* A read that never returns (a hung network or FUSE file) ends with the child. */
	if (j->alarm)
		alarm(j->alarm);
	pool_run(j->fn, j->ctx, j->n, j->threads);
	return 0;
}

int ig_hash_run(void (*fn)(void *ctx, size_t i), void *ctx, size_t n, unsigned int threads,
		unsigned int timeout)
{
	struct run_job j = { .fn = fn, .ctx = ctx, .n = n, .threads = threads };

	if (!n)
		return 0;
	/* Only a child of ours may be ended this way; inline, fn watches the time itself. */
	if (ig_isolate_enabled() && timeout)
		j.alarm = timeout + 1;
	return ig_isolate(run_job, &j);
}

static void hash_one(void *ctx, size_t i)
{
	struct ig_hash_job *job = (struct ig_hash_job *)ctx + i;
	int fd = open(job->path, O_RDONLY | O_CLOEXEC | O_NOCTTY);

	if (fd < 0) {
		job->err = -errno;
		return;
	}
	job->err = sha256_fd(fd, UINT64_MAX, NULL, job->digest);
	close(fd);
}

void ig_hash_files(struct ig_hash_job *jobs, size_t n, unsigned int threads)
{
	size_t len = n * sizeof(*jobs);
	struct ig_hash_job *shared;
	int ret;

	if (!ig_isolate_enabled() || !n) {
		pool_run(hash_one, jobs, n, threads);
		return;
	}
	/* Paths stay in the parent's memory, which the child inherits. */
	shared = ig_shared_alloc(len);
	ret = shared ? 0 : -ENOMEM;
	if (!ret) {
		memcpy(shared, jobs, len);
		ret = ig_hash_run(hash_one, shared, n, threads, 0);
	}
	for (size_t i = 0; i < n; i++) {
		jobs[i].err = ret ? ret : shared[i].err;
		if (!ret)
			memcpy(jobs[i].digest, shared[i].digest, IG_SHA256_LEN);
	}
	ig_shared_free(shared, len);
}
