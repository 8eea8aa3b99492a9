// SPDX-License-Identifier: GPL-2.0-only
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <stdatomic.h>
#include <stdint.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <sys/statfs.h>
#include <sys/sysmacros.h>
#include <time.h>
#include <unistd.h>
#include "isolate.h"
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
	return ig_manifest_parse_digested(name, buf, len, NULL, m, d);
}

int ig_manifest_parse_digested(const char *name, const char *buf, size_t len,
			       const uint8_t sha256[IG_SHA256_LEN], struct ig_manifest *m,
			       struct ig_diag *d)
{
	size_t before = d->n, pos = 0, cap = 0;
	struct ig_manifest_entry **sorted;
	unsigned int line = 0;

	memset(m, 0, sizeof(*m));
	if (sha256)
		memcpy(m->sha256, sha256, IG_SHA256_LEN);
	else
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

/*
 * The mount table's ids and superblock dev_t, read once for a whole pass
 * over the manifest: reading /proc/self/mountinfo for each of 10,000 files
 * cost more than hashing them. A mount made since is looked up alone.
 */
struct mnt_dev {
	__u64 id, dev;
	bool overlay; /* fstype overlay: see real_identity() */
};

struct mnt_devs {
	size_t n;
	struct mnt_dev m[];
};

/*
 * Superblock dev_t of a mount, from /proc/self/mountinfo ("ID PARENT MAJ:MIN
 * ..."); with out, every mount's into a new table (*out, freed by the caller).
 */
static int mount_dev(__u64 mnt_id, __u64 *dev, struct mnt_devs **out)
{
	unsigned long long id, parent;
	unsigned int maj, min;
	struct mnt_devs *t = NULL, *nt;
	const char *sep;
	size_t cap = 0;
	char line[4096];
	int ret = -ENOENT;
	FILE *f;

	f = fopen("/proc/self/mountinfo", "re");
	if (!f)
		return -errno;
	while (fgets(line, sizeof(line), f)) {
		if (sscanf(line, "%llu %llu %u:%u", &id, &parent, &maj, &min) != 4)
			continue;
		if (!out && id == mnt_id) {
			*dev = (__u64)maj << 20 | min;
			ret = 0;
			break;
		}
		if (!out)
			continue;
		if (!t || t->n == cap) {
			cap = cap ? 2 * cap : 64;
			nt = realloc(t, sizeof(*t) + cap * sizeof(t->m[0]));
			if (!nt) {
				ret = -ENOMEM;
				break;
			}
			if (!t)
				nt->n = 0;
			t = nt;
		}
		/* "... - FSTYPE SOURCE OPTIONS": the separator ends the optional fields */
		sep = strstr(line, " - ");
		t->m[t->n].overlay = sep && !strncmp(sep + 3, "overlay ", 8);
		t->m[t->n].id = id;
		t->m[t->n++].dev = (__u64)maj << 20 | min;
		ret = 0;
	}
	fclose(f);
	if (out && ret) {
		free(t);
		t = NULL;
	}
	if (out)
		*out = t;
	return ret;
}

/* The mount table's entry of a statx result's mount, or NULL. */
static const struct mnt_dev *mnt_of(const struct mnt_devs *mnts, const struct statx *stx)
{
	/* qemu-user reports STATX_MNT_ID but leaves the id 0 */
	if (!mnts || !(stx->stx_mask & STATX_MNT_ID) || !stx->stx_mnt_id)
		return NULL;
	for (size_t i = 0; i < mnts->n; i++)
		if (mnts->m[i].id == stx->stx_mnt_id)
			return &mnts->m[i];
	return NULL;
}

static int identity_of(const struct statx *stx, struct ig_file_key *key, struct ig_file_val *val,
		       bool any, const struct mnt_devs *mnts)
{
	const struct mnt_dev *mnt;
	int ret;

	if (!any && !S_ISREG(stx->stx_mode))
		return -EINVAL;
	key->ino = stx->stx_ino;
	/* qemu-user reports STATX_MNT_ID but leaves the id 0: fall back then. */
	if ((stx->stx_mask & STATX_MNT_ID) && stx->stx_mnt_id) {
		mnt = mnt_of(mnts, stx);
		if (mnt) {
			key->dev = mnt->dev;
		} else {
			ret = mount_dev(stx->stx_mnt_id, &key->dev, NULL);
			if (ret)
				return ret;
		}
	} else {
		/* Kernels before 5.8: st_dev is the superblock's on simple filesystems. */
		key->dev = (__u64)stx->stx_dev_major << 20 | stx->stx_dev_minor;
	}
	val->ctime_sec = stx->stx_ctime.tv_sec;
	val->ctime_nsec = stx->stx_ctime.tv_nsec;
	return 0;
}

static int identity(int fd, struct ig_file_key *key, struct ig_file_val *val, bool any,
		    const struct mnt_devs *mnts)
{
	struct statx stx;

	if (statx(fd, "", AT_EMPTY_PATH, STATX_BASIC_STATS | STATX_MNT_ID, &stx) < 0)
		return -errno;
	return identity_of(&stx, key, val, any, mnts);
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

/* On overlayfs (an O_PATH descriptor will do); an error says no, the open that follows tells. */
static bool is_overlay(int fd)
{
	struct statfs sfs;

	return fstatfs(fd, &sfs) < 0 || (unsigned long)sfs.f_type == OVERLAYFS_SUPER_MAGIC;
}

int ig_file_identity(int fd, struct ig_file_key *key, struct ig_file_val *val)
{
	return identity(fd, key, val, false, NULL);
}

int ig_file_identity_any(int fd, struct ig_file_key *key, struct ig_file_val *val)
{
	return identity(fd, key, val, true, NULL);
}

/* One entry's verification, done where the hashing runs (a child, see isolate.h). */
struct vjob {
	const char *path; /* the parent's memory, which a child inherits */
	int err; /* 0, negative errno, or 1: not reached */
	mode_t mode; /* of a file that is not regular */
	uint64_t size;
	uint8_t digest[IG_SHA256_LEN];
	struct ig_verified v;
};

struct vctx {
	struct vjob *jobs; /* shared with the child */
	struct ig_hash_limits lim;
	bool lazy; /* identities only: the kernel appraises at first use */
	struct mnt_devs *mnts; /* the mount table at the start, or NULL */
	struct timespec deadline;
	_Atomic uint64_t total; /* bytes admitted so far */
};

/*
 * Lazy, where the start's mount table knows the file's mount and it is not
 * overlayfs: one statx of the path, nothing opened. Nothing is read, so one
 * resolution of the path is all there is to race with; the kernel hashes
 * what it opens at first use. -EAGAIN: take the path with an open below.
 */
static int verify_lazy(struct vctx *c, struct vjob *j)
{
	const struct mnt_dev *mnt;
	struct statx stx;
	int ret;

	if (statx(AT_FDCWD, j->path, 0, STATX_BASIC_STATS | STATX_MNT_ID, &stx) < 0)
		return -errno;
	mnt = mnt_of(c->mnts, &stx);
	if (!mnt || mnt->overlay)
		return -EAGAIN;
	j->mode = stx.stx_mode;
	j->size = stx.stx_size;
	if (!S_ISREG(stx.stx_mode))
		return -EINVAL;
	if (stx.stx_size > c->lim.max_file)
		return -EFBIG;
	j->v.size = stx.stx_size;
	ret = identity_of(&stx, &j->v.key, &j->v.val, false, c->mnts);
	if (!ret)
		j->v.val.flags |= IG_FILE_F_UNAPPRAISED;
	return ret;
}

/*
 * One open: the path is resolved once by the kernel, symlinks included, into
 * an O_PATH descriptor, which opens nothing (a FIFO cannot block, a device's
 * driver is not called). Only a regular file is then opened for reading, and
 * through /proc/self/fd, which reopens that very inode rather than the path:
 * the identity (fstat) and the digest are of one file, whatever is swapped
 * in at the path meanwhile. Identity is taken before the content is read, so
 * a change while hashing moves the ctime away from what the kernel is given.
 */
static void verify_one(void *ctx, size_t i)
{
	struct vctx *c = ctx;
	struct vjob *j = &c->jobs[i];
	char proc[64];
	struct stat st;
	int pfd, fd = -1, ret;
	struct timespec now;

	/*
	 * Lazy entries are one statx each: the clock every 64 of them (where
	 * the clocksource has no vDSO, reading it costs as much as the statx).
	 */
	if (!c->lazy || !(i & 63)) {
		clock_gettime(CLOCK_MONOTONIC, &now);
		if (now.tv_sec >= c->deadline.tv_sec) {
			j->err = -ETIMEDOUT;
			return;
		}
	}
	if (c->lazy) {
		ret = verify_lazy(c, j);
		if (ret != -EAGAIN) {
			j->err = ret;
			return;
		}
	}
	pfd = open(j->path, O_PATH | O_CLOEXEC);
	if (pfd < 0) {
		j->err = -errno;
		return;
	}
	if (fstat(pfd, &st) < 0) {
		ret = -errno;
		goto out;
	}
	j->mode = st.st_mode;
	j->size = st.st_size;
	if (!S_ISREG(st.st_mode)) {
		ret = -EINVAL;
		goto out;
	}
	if ((uint64_t)st.st_size > c->lim.max_file) {
		ret = -EFBIG;
		goto out;
	}
	if (!c->lazy && atomic_fetch_add(&c->total, st.st_size) + st.st_size > c->lim.max_total) {
		ret = -EDQUOT;
		goto out;
	}
	j->v.size = st.st_size;
	/*
	 * Lazy, on a mount the start's table did not know (verify_lazy()):
	 * the identity is the O_PATH descriptor's (statx works on it); only
	 * overlayfs needs an open file (a mapping shows the layer's identity).
	 */
	if (c->lazy) {
		ret = identity(pfd, &j->v.key, &j->v.val, false, c->mnts);
		if (!ret && !is_overlay(pfd))
			goto done;
		if (ret)
			goto out;
	}
	snprintf(proc, sizeof(proc), "/proc/self/fd/%d", pfd);
	fd = open(proc, O_RDONLY | O_CLOEXEC | O_NOCTTY | O_NONBLOCK);
	if (fd < 0) {
		ret = -errno;
		goto out;
	}
	ret = identity(fd, &j->v.key, &j->v.val, false, c->mnts);
	if (!ret)
		ret = real_identity(fd, &j->v.key, &j->v.real, &j->v.has_real);
done:
	if (!ret && c->lazy)
		j->v.val.flags |= IG_FILE_F_UNAPPRAISED;
	else if (!ret)
		ret = ig_sha256_fd_bounded(fd, c->lim.max_file, &c->deadline, j->digest);
	if (ret == -EFBIG) /* it grew while read */
		j->size = c->lim.max_file + 1;
out:
	if (fd >= 0)
		close(fd);
	close(pfd);
	j->err = ret;
}

static const char *kind(mode_t mode)
{
	switch (mode & S_IFMT) {
	case S_IFDIR:
		return "a directory";
	case S_IFIFO:
		return "a FIFO";
	case S_IFSOCK:
		return "a socket";
	case S_IFCHR:
		return "a character device";
	case S_IFBLK:
		return "a block device";
	default:
		return "not a regular file";
	}
}

static void reject(struct ig_diag *rej, const struct ig_manifest_entry *e, const struct vjob *j,
		   const struct ig_hash_limits *lim)
{
	char hex[IG_SHA256_HEX + 1];

	switch (j->err) {
	case 0:
		ig_hex(j->digest, IG_SHA256_LEN, hex);
		ig_diag_add(rej, e->path, 0, 0,
			    "digest differs from manifest line %u (file has %s)", e->line, hex);
		break;
	case 1:
	case -ETIMEDOUT:
		ig_diag_add(rej, e->path, 0, 0,
			    "not hashed within the %u s of hash-limits (manifest line %u)",
			    lim->timeout, e->line);
		break;
	case -EINVAL:
		ig_diag_add(rej, e->path, 0, 0, "not a regular file (%s; manifest line %u)",
			    kind(j->mode), e->line);
		break;
	case -EFBIG:
		ig_diag_add(
			rej, e->path, 0, 0,
			"larger than the %llu bytes hash-limits allows a file (%llu; manifest line %u)",
			(unsigned long long)lim->max_file, (unsigned long long)j->size, e->line);
		break;
	case -EDQUOT:
		ig_diag_add(
			rej, e->path, 0, 0,
			"not hashed: the manifest's files exceed the %llu bytes of hash-limits (manifest line %u)",
			(unsigned long long)lim->max_total, e->line);
		break;
	default:
		ig_diag_add(rej, e->path, 0, 0, "%s (manifest line %u)", strerror(-j->err),
			    e->line);
	}
}

int ig_manifest_verify(const struct ig_manifest *m, const struct ig_hash_limits *lim,
		       struct ig_verified *out, size_t *nout, struct ig_diag *rejected)
{
	return ig_manifest_prepare(m, lim, false, out, nout, rejected);
}

int ig_manifest_prepare(const struct ig_manifest *m, const struct ig_hash_limits *lim, bool lazy,
			struct ig_verified *out, size_t *nout, struct ig_diag *rejected)
{
	static const struct ig_hash_limits dflt = { .max_file = IG_HASH_MAX_FILE_DEFAULT,
						    .max_total = IG_HASH_MAX_TOTAL_DEFAULT,
						    .timeout = IG_HASH_TIMEOUT_DEFAULT };
	size_t len = (m->n ? m->n : 1) * sizeof(struct vjob);
	struct vctx *c;
	int ret;

	*nout = 0;
	c = ig_shared_alloc(sizeof(*c));
	if (!c)
		return -ENOMEM;
	c->jobs = ig_shared_alloc(len);
	if (!c->jobs) {
		ig_shared_free(c, sizeof(*c));
		return -ENOMEM;
	}
	c->lim = lim ? *lim : dflt;
	c->lazy = lazy;
	for (size_t i = 0; i < m->n; i++) {
		c->jobs[i].path = m->e[i].path;
		c->jobs[i].err = 1;
		if (lazy) /* compared in the kernel at first use */
			memcpy(c->jobs[i].digest, m->e[i].digest, IG_SHA256_LEN);
	}
	ig_deadline(c->lim.timeout, &c->deadline);
	/* Without it (no memory, no /proc), each file looks its mount up alone. */
	if (mount_dev(0, NULL, &c->mnts))
		c->mnts = NULL;
	/* -ECHILD: ended by its alarm, the jobs it finished are in. */
	ret = ig_hash_run(verify_one, c, m->n, 0, c->lim.timeout);
	if (ret == -ECHILD)
		ret = 0;
	free(c->mnts);
	for (size_t i = 0; !ret && i < m->n; i++) {
		const struct ig_manifest_entry *e = &m->e[i];
		struct vjob *j = &c->jobs[i];

		if (j->err || memcmp(j->digest, e->digest, IG_SHA256_LEN)) {
			reject(rejected, e, j, &c->lim);
			continue;
		}
		out[*nout] = j->v;
		memcpy(out[*nout].val.digest, e->digest, IG_SHA256_LEN);
		out[*nout].entry = i;
		(*nout)++;
	}
	ig_shared_free(c->jobs, len);
	ig_shared_free(c, sizeof(*c));
	return ret;
}
