// SPDX-License-Identifier: GPL-2.0-only
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <stdint.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <sys/statfs.h>
#include <sys/sysmacros.h>
#include <unistd.h>
#include "lex.h"
#include "manifest.h"

#define MANIFEST_MAX_BYTES (256u << 20)
#define HEADER "# iotgate-manifest"

static int unescape(char *s)
{
	char *o = s;

	for (; *s; s++) {
		if (*s != '\\') {
			*o++ = *s;
			continue;
		}
		s++;
		if (*s == '\\')
			*o++ = '\\';
		else if (*s == 'n')
			*o++ = '\n';
		else
			return -1;
	}
	*o = '\0';
	return 0;
}

static int cmp_path(const void *a, const void *b)
{
	const struct ig_manifest_entry *x = *(const struct ig_manifest_entry *const *)a;
	const struct ig_manifest_entry *y = *(const struct ig_manifest_entry *const *)b;
	int c = strcmp(x->path, y->path);

	return c ? c : (x->line > y->line) - (x->line < y->line);
}

static void header(const char *name, unsigned int line, const char *s, size_t len,
		   struct ig_manifest *m, struct ig_diag *d)
{
	char tmp[64];
	const char *v = s + strlen(HEADER);

	/* The line is not NUL-terminated: compare only what it holds. */
	if (len >= sizeof(tmp) || len < strlen(HEADER) + 9 || strncmp(v, " version ", 9)) {
		ig_diag_add(d, name, line, 1, "malformed header: expected '%-s version N'", HEADER);
		return;
	}
	memcpy(tmp, v + 9, len - strlen(HEADER) - 9);
	tmp[len - strlen(HEADER) - 9] = '\0';
	if (!ig_parse_u32(tmp, &m->version))
		ig_diag_add(d, name, line, strlen(HEADER) + 10,
			    "manifest version must be an integer from 0 to 4294967295");
}

static void entry(const char *name, unsigned int line, const char *s, size_t len,
		  struct ig_manifest *m, struct ig_diag *d, size_t *cap)
{
	bool escaped = s[0] == '\\';
	const char *h = s + escaped;
	size_t hl = 0, bad;
	struct ig_manifest_entry *e;
	uint8_t digest[IG_SHA256_LEN];
	char *path;

	while (escaped + hl < len && h[hl] != ' ' && h[hl] != '\t')
		hl++;
	if (hl != IG_SHA256_HEX) {
		for (size_t i = 0; i < hl; i++)
			if (!strchr("0123456789abcdefABCDEF", h[i])) {
				ig_diag_add(d, name, line, escaped + i + 1,
					    "bad hex digit '%.1s' in digest", h + i);
				return;
			}
		ig_diag_add(d, name, line, escaped + 1,
			    "digest has %zu hex digits; only SHA-256 (64) is supported", hl);
		return;
	}
	bad = ig_unhex(h, IG_SHA256_LEN, digest);
	if (bad) {
		ig_diag_add(d, name, line, escaped + bad, "bad hex digit '%.1s' in digest",
			    h + bad - 1);
		return;
	}
	if (escaped + hl + 2 > len || h[hl] != ' ' || (h[hl + 1] != ' ' && h[hl + 1] != '*')) {
		ig_diag_add(d, name, line, escaped + hl + 1,
			    "expected two spaces (or ' *') between digest and path");
		return;
	}
	path = strndup(h + hl + 2, len - escaped - hl - 2);
	if (!path)
		return;
	if (escaped && unescape(path)) {
		ig_diag_add(d, name, line, escaped + hl + 3, "bad escape in path");
		free(path);
		return;
	}
	if (path[0] != '/') {
		ig_diag_add(d, name, line, escaped + hl + 3, "path must be absolute: '%s'", path);
		free(path);
		return;
	}
	if (m->n == *cap) {
		size_t nc = *cap ? *cap * 2 : 256;
		struct ig_manifest_entry *ne = realloc(m->e, nc * sizeof(*ne));

		if (!ne) {
			free(path);
			return;
		}
		m->e = ne;
		*cap = nc;
	}
	e = &m->e[m->n++];
	e->path = path;
	e->line = line;
	memcpy(e->digest, digest, sizeof(digest));
}

int ig_manifest_parse(const char *name, const char *buf, size_t len, struct ig_manifest *m,
		      struct ig_diag *d)
{
	size_t before = d->n, pos = 0, cap = 0;
	struct ig_manifest_entry **sorted;
	unsigned int line = 0;

	memset(m, 0, sizeof(*m));
	ig_sha256_buf(buf, len, m->sha256);
	while (pos < len) {
		const char *s = buf + pos, *nl = memchr(s, '\n', len - pos);
		size_t ll = nl ? (size_t)(nl - s) : len - pos;

		line++;
		pos += ll + 1;
		if (ll && s[ll - 1] == '\r')
			ll--;
		if (memchr(s, '\0', ll)) {
			ig_diag_add(d, name, line, 1, "NUL byte in manifest");
			continue;
		}
		if (line == 1 && ll >= strlen(HEADER) && !strncmp(s, HEADER, strlen(HEADER))) {
			header(name, line, s, ll, m, d);
			continue;
		}
		if (!ll || s[0] == '#')
			continue;
		entry(name, line, s, ll, m, d, &cap);
	}
	sorted = m->n ? malloc(m->n * sizeof(*sorted)) : NULL;
	if (m->n && !sorted) {
		ig_manifest_free(m);
		return -ENOMEM;
	}
	for (size_t i = 0; i < m->n; i++)
		sorted[i] = &m->e[i];
	if (m->n)
		qsort(sorted, m->n, sizeof(*sorted), cmp_path);
	for (size_t i = 1; i < m->n; i++)
		if (!strcmp(sorted[i]->path, sorted[i - 1]->path))
			ig_diag_add(d, name, sorted[i]->line, 1,
				    "duplicate path '%s' (first on line %u)", sorted[i]->path,
				    sorted[i - 1]->line);
	free(sorted);
	if (d->n != before) {
		ig_manifest_free(m);
		return -EINVAL;
	}
	m->path = strdup(name);
	return m->path ? 0 : -ENOMEM;
}

int ig_manifest_load(const char *path, struct ig_manifest *m, struct ig_diag *d)
{
	char *buf;
	size_t len;
	int ret;

	memset(m, 0, sizeof(*m));
	ret = ig_read_file(path, MANIFEST_MAX_BYTES, &buf, &len);
	if (ret) {
		ig_diag_add(d, path, 0, 0, "cannot read manifest: %s",
			    ret == -EFBIG ? "larger than 256 MiB" : strerror(-ret));
		return ret;
	}
	ret = ig_manifest_parse(path, buf, len, m, d);
	free(buf);
	return ret;
}

void ig_manifest_free(struct ig_manifest *m)
{
	for (size_t i = 0; m->e && i < m->n; i++)
		free(m->e[i].path);
	free(m->e);
	free(m->path);
	memset(m, 0, sizeof(*m));
}

/* Superblock dev_t of a mount, from /proc/self/mountinfo ("ID PARENT MAJ:MIN ..."). */
static int mount_dev(__u64 mnt_id, __u64 *dev)
{
	unsigned long long id, parent;
	unsigned int maj, min;
	char line[4096];
	int ret = -ENOENT;
	FILE *f;

	f = fopen("/proc/self/mountinfo", "re");
	if (!f)
		return -errno;
	while (fgets(line, sizeof(line), f)) {
		if (sscanf(line, "%llu %llu %u:%u", &id, &parent, &maj, &min) == 4 &&
		    id == mnt_id) {
			*dev = (__u64)maj << 20 | min;
			ret = 0;
			break;
		}
	}
	fclose(f);
	return ret;
}

static int identity(int fd, struct ig_file_key *key, struct ig_file_val *val, bool any)
{
	struct statx stx;
	int ret;

	if (statx(fd, "", AT_EMPTY_PATH, STATX_BASIC_STATS | STATX_MNT_ID, &stx) < 0)
		return -errno;
	if (!any && !S_ISREG(stx.stx_mode))
		return -EINVAL;
	key->ino = stx.stx_ino;
	/* qemu-user reports STATX_MNT_ID but leaves the id 0: fall back then. */
	if ((stx.stx_mask & STATX_MNT_ID) && stx.stx_mnt_id) {
		ret = mount_dev(stx.stx_mnt_id, &key->dev);
		if (ret)
			return ret;
	} else {
		/* Kernels before 5.8: st_dev is the superblock's on simple filesystems. */
		key->dev = (__u64)stx.stx_dev_major << 20 | stx.stx_dev_minor;
	}
	val->ctime_sec = stx.stx_ctime.tv_sec;
	val->ctime_nsec = stx.stx_ctime.tv_nsec;
	return 0;
}

#ifndef OVERLAYFS_SUPER_MAGIC
#define OVERLAYFS_SUPER_MAGIC 0x794c7630
#endif

/*
 * The identity a mapping of fd shows in /proc/self/maps: on overlayfs the
 * kernel maps the layer's file (before 6.6; later kernels show the overlay's
 * there too and BPF resolves the backing file itself). 0 with *differs set
 * when it is not key.
 */
static int real_identity(int fd, const struct ig_file_key *key, struct ig_file_key *real,
			 bool *differs)
{
	unsigned long long lo, hi, ino;
	unsigned int maj, min;
	struct statfs sfs;
	char line[4096];
	void *p;
	FILE *f;
	int ret = -ENOENT;

	*differs = false;
	if (fstatfs(fd, &sfs) < 0)
		return -errno;
	if ((unsigned long)sfs.f_type != OVERLAYFS_SUPER_MAGIC)
		return 0;
	p = mmap(NULL, 1, PROT_READ, MAP_PRIVATE, fd, 0);
	if (p == MAP_FAILED)
		return errno == EINVAL ? 0 : -errno; /* empty file: nothing can map it */
	f = fopen("/proc/self/maps", "re");
	if (!f) {
		ret = -errno;
		goto out;
	}
	while (fgets(line, sizeof(line), f)) {
		if (sscanf(line, "%llx-%llx %*s %*x %x:%x %llu", &lo, &hi, &maj, &min, &ino) == 5 &&
		    lo == (unsigned long long)(uintptr_t)p) {
			real->dev = (__u64)maj << 20 | min;
			real->ino = ino;
			*differs = real->dev != key->dev || real->ino != key->ino;
			ret = 0;
			break;
		}
	}
	fclose(f);
out:
	munmap(p, 1);
	return ret;
}

int ig_file_identity(int fd, struct ig_file_key *key, struct ig_file_val *val)
{
	return identity(fd, key, val, false);
}

int ig_file_identity_any(int fd, struct ig_file_key *key, struct ig_file_val *val)
{
	return identity(fd, key, val, true);
}

int ig_manifest_verify(const struct ig_manifest *m, struct ig_verified *out, size_t *nout,
		       struct ig_diag *rejected)
{
	struct ig_hash_job *jobs;
	size_t n = 0;

	jobs = calloc(m->n ? m->n : 1, sizeof(*jobs));
	if (!jobs)
		return -ENOMEM;
	for (size_t i = 0; i < m->n; i++)
		jobs[i].path = m->e[i].path;
	/* Identity first, then content: a file swapped in between is caught by ctime. */
	for (size_t i = 0; i < m->n; i++) {
		struct ig_verified *v = &out[n];
		int fd, ret;

		memset(v, 0, sizeof(*v));
		fd = open(m->e[i].path, O_RDONLY | O_CLOEXEC | O_NOCTTY | O_NONBLOCK);
		if (fd < 0) {
			jobs[i].err = -errno;
			continue;
		}
		ret = ig_file_identity(fd, &v->key, &v->val);
		if (!ret)
			ret = real_identity(fd, &v->key, &v->real, &v->has_real);
		close(fd);
		if (ret) {
			jobs[i].err = ret;
			continue;
		}
		n++;
		jobs[i].err = 1; /* identity taken; hash below */
	}
	{
		struct ig_hash_job *todo = calloc(n ? n : 1, sizeof(*todo));
		size_t k = 0;

		if (!todo) {
			free(jobs);
			return -ENOMEM;
		}
		for (size_t i = 0; i < m->n; i++)
			if (jobs[i].err == 1)
				todo[k++].path = m->e[i].path;
		ig_hash_files(todo, k, 0);
		k = 0;
		*nout = 0;
		for (size_t i = 0; i < m->n; i++) {
			const struct ig_manifest_entry *e = &m->e[i];

			if (jobs[i].err != 1) {
				ig_diag_add(rejected, e->path, 0, 0, "%s (manifest line %u)",
					    jobs[i].err == -EINVAL ? "not a regular file" :
								     strerror(-jobs[i].err),
					    e->line);
				continue;
			}
			if (todo[k].err) {
				ig_diag_add(rejected, e->path, 0, 0,
					    "cannot hash: %s (manifest line %u)",
					    strerror(-todo[k].err), e->line);
			} else if (memcmp(todo[k].digest, e->digest, IG_SHA256_LEN)) {
				char hex[IG_SHA256_HEX + 1];

				ig_hex(todo[k].digest, IG_SHA256_LEN, hex);
				ig_diag_add(rejected, e->path, 0, 0,
					    "digest differs from manifest line %u (file has %s)",
					    e->line, hex);
			} else {
				out[*nout] = out[k];
				memcpy(out[*nout].val.digest, e->digest, IG_SHA256_LEN);
				out[*nout].entry = i;
				(*nout)++;
			}
			k++;
		}
		free(todo);
	}
	free(jobs);
	return 0;
}
