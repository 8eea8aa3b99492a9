// SPDX-License-Identifier: GPL-2.0-only
#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>
#include "crypto.h"
#include "hash.h"
#include "isolate.h"

static int sha256_fd(int fd, uint8_t out[IG_SHA256_LEN])
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
	for (off_t off = 0;; off += n) {
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
		c->EVP_DigestUpdate(ctx, buf, n);
	}
	if (!c->EVP_DigestFinal_ex(ctx, out, NULL))
		ret = -EIO;
out:
	c->EVP_MD_CTX_free(ctx);
	return ret;
}

struct fd_job {
	int fd;
	uint8_t *out; /* shared */
};

static int fd_job(void *arg)
{
	struct fd_job *j = arg;

	return sha256_fd(j->fd, j->out);
}

int ig_sha256_fd(int fd, uint8_t out[IG_SHA256_LEN])
{
	struct fd_job j = { .fd = fd, .out = out };
	int ret;

	if (!ig_isolate_enabled())
		return sha256_fd(fd, out);
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

void ig_sha256_buf(const void *buf, size_t len, uint8_t out[IG_SHA256_LEN])
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
	/* All zero on failure (no libcrypto, no child): it matches no digest. */
	if (ret)
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
	struct ig_hash_job *jobs;
	size_t n;
	atomic_size_t next;
};

static void hash_one(struct ig_hash_job *job)
{
	int fd = open(job->path, O_RDONLY | O_CLOEXEC | O_NOCTTY);

	if (fd < 0) {
		job->err = -errno;
		return;
	}
	job->err = sha256_fd(fd, job->digest);
	close(fd);
}

static void *worker(void *arg)
{
	struct pool *p = arg;
	size_t i;

	while ((i = atomic_fetch_add(&p->next, 1)) < p->n)
		hash_one(&p->jobs[i]);
	return NULL;
}

static void hash_pool(struct ig_hash_job *jobs, size_t n, unsigned int threads)
{
	struct pool p = { .jobs = jobs, .n = n };
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

struct files_job {
	struct ig_hash_job *jobs; /* shared */
	size_t n;
	unsigned int threads;
};

static int files_job(void *arg)
{
	struct files_job *j = arg;

	hash_pool(j->jobs, j->n, j->threads);
	return 0;
}

void ig_hash_files(struct ig_hash_job *jobs, size_t n, unsigned int threads)
{
	struct files_job j = { .n = n, .threads = threads };
	size_t len = n * sizeof(*jobs);
	int ret;

	if (!ig_isolate_enabled() || !n) {
		hash_pool(jobs, n, threads);
		return;
	}
	/* Paths stay in the parent's memory, which the child inherits. */
	j.jobs = ig_shared_alloc(len);
	ret = j.jobs ? 0 : -ENOMEM;
	if (!ret) {
		memcpy(j.jobs, jobs, len);
		ret = ig_isolate(files_job, &j);
	}
	for (size_t i = 0; i < n; i++) {
		jobs[i].err = ret ? ret : j.jobs[i].err;
		if (!ret)
			memcpy(jobs[i].digest, j.jobs[i].digest, IG_SHA256_LEN);
	}
	ig_shared_free(j.jobs, len);
}
