// SPDX-License-Identifier: GPL-2.0-only
/* Measurement log: the daemon's writer, generations and rotation (see measlog.h). */
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>
#include <sys/file.h>
#include <sys/stat.h>
#include "lex.h"
#include "isolate.h"
#include "measlog_int.h"

struct ig_measlog {
	int dirfd, fd, chain_fd, unk_fd;
	size_t max_bytes;
	off_t size, chain_size, unk_size;
	uint8_t agg[IG_SHA256_LEN];
	uint8_t boot[IG_SHA256_LEN]; /* boot_aggregate digest of a new boot's log */
	uint8_t last_th[IG_SHA256_LEN]; /* template hash of the last entry written */
	unsigned long long first; /* number since boot of the file's first entry */
	unsigned long long count;
	unsigned int unsynced;
	bool dirty; /* a roll-back ftruncate failed: redo it before writing */
	bool reload; /* a rotation failed after its point of no return */
	struct tset set;
	char boot_id[64];
	char p_log[PATHBUF], p_chain[PATHBUF], p_unknown[PATHBUF], p_state[PATHBUF];
	char p_base[PATHBUF], p_new[PATHBUF], p_chain_new[PATHBUF], p_base_new[PATHBUF];
	char p_old[PATHBUF]; /* DIR/measurements.1 */
};

struct record_job {
	const uint8_t *digest;
	const char *name;
	uint8_t (*io)[IG_SHA256_LEN]; /* shared: [0] aggregate in, [1] out, [2] template hash */
};

static int record_job(void *arg)
{
	struct record_job *j = arg;

	ig_measlog_template_hash(j->digest, j->name, j->io[2]);
	memcpy(j->io[1], j->io[0], IG_SHA256_LEN);
	ig_measlog_extend(j->io[1], j->io[2]);
	return 0;
}

/*
 * A record's template hash and the aggregate extended by it, in one go: in
 * iotgated that is one isolated child (isolate.h) per new log record.
 */
static int record_hashes(const uint8_t digest[IG_SHA256_LEN], const char *name,
			 const uint8_t agg_in[IG_SHA256_LEN], uint8_t th[IG_SHA256_LEN],
			 uint8_t agg_out[IG_SHA256_LEN])
{
	struct record_job j = { .digest = digest, .name = name };
	size_t len = 3 * IG_SHA256_LEN;
	int ret;

	j.io = ig_shared_alloc(len);
	if (!j.io)
		return -ENOMEM;
	memcpy(j.io[0], agg_in, IG_SHA256_LEN);
	ret = ig_isolate(record_job, &j);
	if (!ret) {
		memcpy(agg_out, j.io[1], IG_SHA256_LEN);
		memcpy(th, j.io[2], IG_SHA256_LEN);
	}
	ig_shared_free(j.io, len);
	return ret;
}

/* ---- the writer --------------------------------------------------------- */

/*
 * Appends buf to fd (O_APPEND, size bytes so far). On failure truncates the
 * file back to size, so it never keeps part of the line.
 */
static int append_all(int fd, off_t size, const void *buf, size_t len, bool *dirty)
{
	size_t done = 0;
	int ret;

	while (done < len) {
		ssize_t w = write(fd, (const char *)buf + done, len - done);

		if (w < 0 && errno == EINTR)
			continue;
		if (w <= 0) {
			ret = w < 0 ? -errno : -EIO;
			if (done && ftruncate(fd, size) < 0)
				*dirty = true;
			return ret;
		}
		done += w;
	}
	return 0;
}

static void undo(int fd, off_t size, bool *dirty)
{
	if (fd >= 0 && ftruncate(fd, size) < 0)
		*dirty = true;
}

static int unlink_opt(const char *p)
{
	return unlink(p) < 0 && errno != ENOENT ? -errno : 0;
}

static int link_opt(const char *from, const char *to)
{
	return link(from, to) < 0 && errno != ENOENT ? -errno : 0;
}

static int open_append(const char *p, bool create)
{
	int fd = open(p, O_WRONLY | O_APPEND | O_CLOEXEC | O_NOCTTY | (create ? O_CREAT : 0), 0640);

	return fd < 0 ? -errno : fd;
}

static void close_fd(int *fd)
{
	if (*fd >= 0)
		close(*fd);
	*fd = -1;
}

static bool same_inode(const char *a, const char *b)
{
	struct stat sa, sb;

	return !stat(a, &sa) && !stat(b, &sb) && sa.st_dev == sb.st_dev && sa.st_ino == sb.st_ino;
}

/* The sidecars that travel with a log file (measlog.h). */
static const char *const sidecars[] = { "", ".chain", ".unknown", ".base" };
#define NSIDECARS (sizeof(sidecars) / sizeof(sidecars[0]))

/* DIR/measurements.<i><sfx>: archived segment i (1 is the newest). */
static void seg_path(const struct ig_measlog *l, unsigned int i, const char *sfx,
		     char out[PATHBUF + 16])
{
	snprintf(out, PATHBUF + 16, "%s.%u%s", l->p_log, i, sfx);
}

/* Removes the links .1 to the current files (a rotation that did not happen). */
static void drop_old_links(struct ig_measlog *l)
{
	char p[PATHBUF + 16];

	if (!same_inode(l->p_log, l->p_old))
		return;
	for (size_t s = 0; s < NSIDECARS; s++) {
		seg_path(l, 1, sidecars[s], p);
		unlink(p);
	}
}

/*
 * Archives the current file with its sidecars as .1: .IG_MEASLOG_KEEP is
 * dropped and every .i becomes .i+1. The current files stay in place
 * (hard links) until the new log is renamed over them.
 */
static int archive(struct ig_measlog *l)
{
	char from[PATHBUF + 16], to[PATHBUF + 16];
	int ret = 0;

	for (size_t s = 0; s < NSIDECARS && !ret; s++) {
		seg_path(l, IG_MEASLOG_KEEP, sidecars[s], to);
		ret = unlink_opt(to);
	}
	for (unsigned int i = IG_MEASLOG_KEEP - 1; i >= 1 && !ret; i--)
		for (size_t s = 0; s < NSIDECARS && !ret; s++) {
			seg_path(l, i, sidecars[s], from);
			seg_path(l, i + 1, sidecars[s], to);
			if (rename(from, to) < 0 && errno != ENOENT)
				ret = -errno;
		}
	for (size_t s = 0; s < NSIDECARS && !ret; s++) {
		snprintf(from, sizeof(from), "%s%s", l->p_log, sidecars[s]);
		seg_path(l, 1, sidecars[s], to);
		ret = s ? link_opt(from, to) : link(from, to) < 0 ? -errno : 0;
	}
	return ret;
}

/*
 * Finishes or undoes a rotation interrupted by a crash. Its steps: write
 * .new, .chain.new and .base.new; archive the current files as .1; rename
 * .new over the log (the point of no return); unlink .unknown; rename
 * .base.new over .base, then .chain.new over the chain.
 */
static int recover(struct ig_measlog *l)
{
	int ret;

	if (!access(l->p_new, F_OK)) {
		/* The log was not replaced: drop the new files and the .1 links. */
		drop_old_links(l);
		ret = unlink_opt(l->p_new);
		if (!ret)
			ret = unlink_opt(l->p_base_new);
		return ret ? ret : unlink_opt(l->p_chain_new);
	}
	if (!access(l->p_chain_new, F_OK)) {
		ret = unlink_opt(l->p_unknown);
		if (!ret && rename(l->p_base_new, l->p_base) < 0 && errno != ENOENT)
			ret = -errno;
		if (!ret && rename(l->p_chain_new, l->p_chain) < 0)
			ret = -errno;
		return ret;
	}
	return 0;
}

/* Drops a partial last line of the unknown sidecar (crash during its write). */
static int trim_unknown(struct ig_measlog *l)
{
	char *buf;
	size_t len, full;
	int ret = ig_read_file(l->p_unknown, 64u << 20, &buf, &full);

	if (ret == -ENOENT)
		return 0;
	if (ret)
		return ret;
	for (len = full; len && buf[len - 1] != '\n'; len--)
		;
	free(buf);
	l->unk_size = len;
	if (len != full && truncate(l->p_unknown, len) < 0)
		return -errno;
	return 0;
}

/* What a walk in an isolated child hands back (shared memory). */
struct walk_out {
	struct ig_measlog_verify_result res;
	int ret;
	uint8_t agg[IG_SHA256_LEN];
	unsigned long long n;
	off_t size, chain_size;
	bool have_chain;
	size_t nmissing, cap;
	uint8_t missing[][IG_SHA256_LEN];
};

struct walk_job {
	struct walk *w;
	struct walk_out *out;
};

static int walk_job(void *arg)
{
	struct walk_job *j = arg;
	struct walk_out *o = j->out;
	struct walk *w = j->w;

	o->ret = ml_walk_file(w, &o->res);
	memcpy(o->agg, w->agg, IG_SHA256_LEN);
	o->n = w->n;
	o->size = w->size;
	o->chain_size = w->chain_size;
	o->have_chain = w->have_chain;
	if (w->nmissing > o->cap)
		return -E2BIG;
	if (w->nmissing)
		memcpy(o->missing, w->missing, w->nmissing * IG_SHA256_LEN);
	o->nmissing = w->nmissing;
	/* Handed over through o (run inline, this is still the caller's walk). */
	free(w->missing);
	w->missing = NULL;
	return 0;
}

/*
 * ml_walk_file() for load(), in an isolated child: the daemon itself never
 * hashes the log (isolate.h). Template hashes are collected apart.
 */
static int walk_isolated(struct walk *w, struct ig_measlog_verify_result *res, off_t file_size)
{
	/* An ima-ng line is over 140 bytes: at most one aggregate per 128. */
	size_t cap = (size_t)file_size / 128 + 2;
	size_t len = sizeof(struct walk_out) + cap * IG_SHA256_LEN;
	struct walk_job j = { .w = w };
	int ret;

	j.out = ig_shared_alloc(len);
	if (!j.out)
		return -ENOMEM;
	j.out->cap = cap;
	ret = ig_isolate(walk_job, &j);
	if (!ret) {
		*res = j.out->res;
		ret = j.out->ret;
	}
	if (!ret && j.out->nmissing) {
		w->missing = malloc(j.out->nmissing * IG_SHA256_LEN);
		if (!w->missing)
			ret = -ENOMEM;
		else
			memcpy(w->missing, j.out->missing, j.out->nmissing * IG_SHA256_LEN);
	}
	if (!ret) {
		memcpy(w->agg, j.out->agg, IG_SHA256_LEN);
		w->n = j.out->n;
		w->size = j.out->size;
		w->chain_size = j.out->chain_size;
		w->have_chain = j.out->have_chain;
		w->nmissing = j.out->nmissing;
	}
	ig_shared_free(j.out, len);
	return ret;
}

/* The template hashes of a verified log, as written (no hashing). */
static int collect(const char *path, struct tset *set)
{
	struct lreader lr = { 0 };
	struct pline p;
	size_t len;
	int ret;

	lr.f = fopen(path, "re");
	if (!lr.f)
		return -errno;
	while ((ret = ml_next_line(&lr, &len)) == 1) {
		if (ml_parse_line(lr.buf, len, &p)) {
			ret = -EBADMSG;
			break;
		}
		ret = ml_tset_add(set, p.th);
		if (ret)
			break;
	}
	ml_lreader_close(&lr);
	return ret;
}

/* Loads the current log: 0 loaded, 1 no log (or an empty one), or -errno. */
static int load(struct ig_measlog *l)
{
	struct ig_measlog_verify_result res;
	struct walk w = { .path = l->p_log, .collect = true };
	struct stat st;
	char *buf = NULL;
	int ret;

	ret = recover(l);
	if (ret)
		return ret;
	if (stat(l->p_log, &st) < 0)
		return errno == ENOENT ? 1 : -errno;
	if (!S_ISREG(st.st_mode))
		return -EINVAL;
	if (st.st_size == 0) {
		if (!stat(l->p_chain, &st) && st.st_size > 0)
			return -EBADMSG; /* entries were deleted */
		if (access(l->p_base, F_OK))
			return 1;
		/* else a segment rotated before its first entry */
	}
	memset(&res, 0, sizeof(res));
	ret = walk_isolated(&w, &res, st.st_size);
	if (!ret)
		ret = collect(l->p_log, &l->set);
	if (ret)
		goto out;
	ret = open_append(l->p_log, false);
	if (ret < 0)
		goto out;
	l->fd = ret;
	ret = open_append(l->p_chain, true);
	if (ret < 0)
		goto out;
	l->chain_fd = ret;
	/* Complete the chain (a crash between a log line and its chain line). */
	if (ftruncate(l->chain_fd, w.chain_size) < 0) {
		ret = -errno;
		goto out;
	}
	if (w.nmissing) {
		buf = malloc(w.nmissing * CHAIN_LINE + 1);
		if (!buf) {
			ret = -ENOMEM;
			goto out;
		}
		for (size_t i = 0; i < w.nmissing; i++) {
			ig_hex(w.missing[i], IG_SHA256_LEN, buf + i * CHAIN_LINE);
			buf[i * CHAIN_LINE + IG_SHA256_HEX] = '\n';
		}
		ret = append_all(l->chain_fd, w.chain_size, buf, w.nmissing * CHAIN_LINE,
				 &l->dirty);
		if (ret)
			goto out;
	}
	l->chain_size = w.chain_size + (off_t)(w.nmissing * CHAIN_LINE);
	l->size = w.size;
	l->first = w.first;
	l->count = w.n;
	memcpy(l->agg, w.agg, IG_SHA256_LEN);
	ret = trim_unknown(l);
out:
	free(buf);
	free(w.missing);
	return ret;
}

/* Writes a complete new file (mode 0640) and syncs it; returns its fd. */
static int write_new(const char *p, const void *buf, size_t len)
{
	bool dirty = false;
	int fd, ret;

	fd = open(p, O_WRONLY | O_CREAT | O_EXCL | O_APPEND | O_CLOEXEC | O_NOCTTY, 0640);
	if (fd < 0)
		return -errno;
	ret = fchmod(fd, 0640) < 0 ? -errno : 0;
	if (!ret)
		ret = append_all(fd, 0, buf, len, &dirty);
	if (!ret && fdatasync(fd) < 0)
		ret = -errno;
	if (ret) {
		close(fd);
		unlink(p);
		return ret;
	}
	return fd;
}

/*
 * Starts a new log file: an empty segment that continues the list since boot
 * (rotate), or a new boot's log with its boot_aggregate entry. Either way
 * PATH.base says where the file starts. The current file is archived as .1
 * if keep_old. See recover() for the order of the steps.
 */
static int new_generation(struct ig_measlog *l, bool rotate, bool keep_old)
{
	struct ml_base base = { .entry = rotate ? l->first + l->count : 0 };
	uint8_t th[IG_SHA256_LEN], agg[IG_SHA256_LEN];
	char line[IG_MEASLOG_LINE_MAX], cline[CHAIN_LINE + 1], bbuf[BASE_MAX];
	size_t len = 0, clen = 0, blen;
	int fd = -1, cfd = -1, bfd = -1, ret;

	memcpy(base.agg, rotate ? l->agg : zero, IG_SHA256_LEN);
	memcpy(agg, base.agg, IG_SHA256_LEN);
	if (!rotate) {
		ret = record_hashes(l->boot, IG_MEASLOG_BOOT_NAME, zero, th, agg);
		if (ret)
			return ret;
		len = ig_measlog_format(line, th, l->boot, IG_MEASLOG_BOOT_NAME);
		ig_hex(agg, IG_SHA256_LEN, cline);
		cline[IG_SHA256_HEX] = '\n';
		clen = CHAIN_LINE;
	}
	blen = ml_format_base(bbuf, &base);

	ret = unlink_opt(l->p_new);
	if (!ret)
		ret = unlink_opt(l->p_chain_new);
	if (!ret)
		ret = unlink_opt(l->p_base_new);
	if (ret)
		return ret;
	fd = write_new(l->p_new, line, len);
	if (fd < 0)
		return fd;
	cfd = write_new(l->p_chain_new, cline, clen);
	if (cfd < 0) {
		ret = cfd;
		goto undo;
	}
	bfd = write_new(l->p_base_new, bbuf, blen);
	if (bfd < 0) {
		ret = bfd;
		goto undo;
	}
	close_fd(&bfd);
	if (keep_old) {
		ret = archive(l);
		if (ret)
			goto undo;
	}
	if (rename(l->p_new, l->p_log) < 0) {
		ret = -errno;
		goto undo;
	}
	/* Point of no return: the new log is in place. */
	ret = unlink_opt(l->p_unknown);
	if (!ret && rename(l->p_base_new, l->p_base) < 0)
		ret = -errno;
	if (!ret && rename(l->p_chain_new, l->p_chain) < 0)
		ret = -errno;
	if (ret) {
		close(fd);
		close(cfd);
		l->reload = true;
		return ret;
	}
	close_fd(&l->fd);
	close_fd(&l->chain_fd);
	close_fd(&l->unk_fd);
	l->fd = fd;
	l->chain_fd = cfd;
	l->size = len;
	l->chain_size = clen;
	l->unk_size = 0;
	l->first = base.entry;
	l->count = rotate ? 0 : 1;
	l->unsynced = 0;
	l->dirty = false;
	memcpy(l->agg, agg, IG_SHA256_LEN);
	ml_tset_clear(&l->set);
	ret = rotate ? 0 : ml_tset_add(&l->set, th);
	if (!rotate)
		memcpy(l->last_th, th, IG_SHA256_LEN);
	if (fsync(l->dirfd) < 0 && !ret)
		ret = -errno;
	return ret;
undo:
	close(fd);
	unlink(l->p_new);
	if (cfd >= 0) {
		close(cfd);
		unlink(l->p_chain_new);
	}
	unlink(l->p_base_new);
	if (keep_old)
		drop_old_links(l);
	return ret;
}

/* Re-reads the state from the files after a failed rotation. */
static int reload(struct ig_measlog *l)
{
	int ret;

	close_fd(&l->fd);
	close_fd(&l->chain_fd);
	close_fd(&l->unk_fd);
	ml_tset_clear(&l->set);
	l->dirty = false;
	ret = load(l);
	if (ret == 1)
		ret = new_generation(l, false, false);
	if (!ret)
		l->reload = false;
	return ret;
}

static void read_boot_id(char *out, size_t size)
{
	char *buf;
	size_t len;

	snprintf(out, size, "unknown");
	if (ig_read_file(BOOT_ID_PATH, 256, &buf, &len))
		return;
	buf[strcspn(buf, " \t\n")] = '\0';
	if (buf[0])
		snprintf(out, size, "%s", buf);
	free(buf);
}

/* The boot id recorded in the state file ("" if none). */
static void read_state(const struct ig_measlog *l, char *out, size_t size)
{
	char *buf, *p;
	size_t len;

	out[0] = '\0';
	if (ig_read_file(l->p_state, 4096, &buf, &len))
		return;
	for (p = buf; p && *p; p = strchr(p, '\n'), p = p ? p + 1 : NULL) {
		if (!strncmp(p, "boot_id ", 8)) {
			snprintf(out, size, "%.*s", (int)strcspn(p + 8, "\n"), p + 8);
			break;
		}
	}
	free(buf);
}

static int write_state(struct ig_measlog *l)
{
	char tmp[PATHBUF + 8], buf[160];
	int len, fd, ret = 0;

	snprintf(tmp, sizeof(tmp), "%s.new", l->p_state);
	len = snprintf(buf, sizeof(buf),
		       "# iotgate measurement log state (written by iotgated)\nboot_id %s\n",
		       l->boot_id);
	unlink(tmp);
	fd = write_new(tmp, buf, len);
	if (fd < 0)
		return fd;
	close(fd);
	if (rename(tmp, l->p_state) < 0)
		ret = -errno;
	if (ret)
		unlink(tmp);
	else if (fsync(l->dirfd) < 0)
		ret = -errno;
	return ret;
}

static int make_paths(struct ig_measlog *l, const char *dir)
{
	static const struct {
		size_t off;
		const char *suffix;
	} p[] = {
		{ offsetof(struct ig_measlog, p_log), "" },
		{ offsetof(struct ig_measlog, p_chain), ".chain" },
		{ offsetof(struct ig_measlog, p_unknown), ".unknown" },
		{ offsetof(struct ig_measlog, p_state), ".state" },
		{ offsetof(struct ig_measlog, p_base), ".base" },
		{ offsetof(struct ig_measlog, p_new), ".new" },
		{ offsetof(struct ig_measlog, p_chain_new), ".chain.new" },
		{ offsetof(struct ig_measlog, p_base_new), ".base.new" },
		{ offsetof(struct ig_measlog, p_old), ".1" },
	};

	if (strlen(dir) > PATH_MAX - 64)
		return -ENAMETOOLONG;
	for (size_t i = 0; i < sizeof(p) / sizeof(p[0]); i++)
		snprintf((char *)l + p[i].off, PATHBUF, "%s/" IG_MEASLOG_FILE "%s", dir,
			 p[i].suffix);
	return 0;
}

/* Opens and locks DIR (creating it 0750). */
static int lock_dir(const char *dir)
{
	int fd;

	if (mkdir(dir, 0750) < 0 && errno != EEXIST)
		return -errno;
	fd = open(dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	if (fd < 0)
		return -errno;
	if (flock(fd, LOCK_EX | LOCK_NB) < 0) {
		int err = errno == EWOULDBLOCK ? -EBUSY : -errno;

		close(fd);
		return err;
	}
	return fd;
}

int ig_measlog_open(struct ig_measlog **out, const char *dir, size_t max_bytes)
{
	return ig_measlog_open_boot(out, dir, max_bytes, zero);
}

int ig_measlog_open_boot(struct ig_measlog **out, const char *dir, size_t max_bytes,
			 const uint8_t boot_aggregate[IG_SHA256_LEN])
{
	struct ig_measlog *l;
	char state_boot[64];
	int ret;

	*out = NULL;
	l = calloc(1, sizeof(*l));
	if (!l)
		return -ENOMEM;
	l->fd = l->chain_fd = l->unk_fd = -1;
	l->max_bytes = max_bytes ? max_bytes : IG_MEASLOG_DEFAULT_MAX;
	memcpy(l->boot, boot_aggregate, IG_SHA256_LEN);
	ret = make_paths(l, dir);
	if (ret) {
		free(l);
		return ret;
	}
	l->dirfd = lock_dir(dir);
	if (l->dirfd < 0) {
		ret = l->dirfd;
		free(l);
		return ret;
	}
	read_boot_id(l->boot_id, sizeof(l->boot_id));
	read_state(l, state_boot, sizeof(state_boot));
	ret = load(l);
	if (ret == 0 && strcmp(state_boot, l->boot_id))
		ret = new_generation(l, false, true); /* a new boot */
	else if (ret == 1)
		ret = new_generation(l, false, false);
	if (!ret && strcmp(state_boot, l->boot_id))
		ret = write_state(l);
	if (ret) {
		ig_measlog_close(l);
		return ret;
	}
	*out = l;
	return 0;
}

/* Sizes must be what we wrote: redo a failed roll-back, or refuse. */
static int check_size(int fd, off_t want, bool dirty)
{
	struct stat st;

	if (fd < 0)
		return 0;
	if (fstat(fd, &st) < 0)
		return -errno;
	if (st.st_size == want)
		return 0;
	if (!dirty)
		return -EBADMSG;
	return ftruncate(fd, want) < 0 ? -errno : 0;
}

static int check_files(struct ig_measlog *l)
{
	int ret = check_size(l->fd, l->size, l->dirty);

	if (!ret)
		ret = check_size(l->chain_fd, l->chain_size, l->dirty);
	if (!ret)
		ret = check_size(l->unk_fd, l->unk_size, l->dirty);
	if (!ret)
		l->dirty = false;
	return ret;
}

int ig_measlog_add(struct ig_measlog *l, const uint8_t digest[IG_SHA256_LEN], const char *path,
		   bool unknown)
{
	char name[IG_MEASLOG_NAME_MAX + 1], line[IG_MEASLOG_LINE_MAX], cline[CHAIN_LINE + 1];
	char uline[32 + IG_SHA256_HEX];
	uint8_t th[IG_SHA256_LEN], agg[IG_SHA256_LEN], base[IG_SHA256_LEN];
	size_t len;
	int ulen = 0, ret;

	ret = ig_measlog_name(name, path);
	if (ret)
		return ret;
	if (!strcmp(name, IG_MEASLOG_BOOT_NAME) || !strcmp(name, IG_MEASLOG_CARRY_NAME))
		return -EINVAL;
	memcpy(base, l->agg, IG_SHA256_LEN);
	ret = record_hashes(digest, name, base, th, agg);
	if (ret)
		return ret;
	if (ml_tset_has(&l->set, th))
		return 1;
	if (l->reload) {
		ret = reload(l);
		if (ret)
			return ret;
		if (ml_tset_has(&l->set, th))
			return 1;
	}
	ret = check_files(l);
	if (ret)
		return ret;
	len = ig_measlog_format(line, th, digest, name);
	if (l->count > 0 && (size_t)l->size + len > l->max_bytes) {
		ret = new_generation(l, true, true);
		if (ret)
			return ret;
	}
	if (ml_tset_reserve(&l->set, l->set.n + 1))
		return -ENOMEM;
	/* A reload or rotation moved the aggregate on. */
	if (memcmp(base, l->agg, IG_SHA256_LEN)) {
		ret = record_hashes(digest, name, l->agg, th, agg);
		if (ret)
			return ret;
	}
	ig_hex(agg, IG_SHA256_LEN, cline);
	cline[IG_SHA256_HEX] = '\n';
	if (unknown) {
		char hex[IG_SHA256_HEX + 1];

		if (l->unk_fd < 0) {
			ret = open_append(l->p_unknown, true);
			if (ret < 0)
				return ret;
			l->unk_fd = ret;
			if (fchmod(l->unk_fd, 0640) < 0)
				return -errno;
		}
		ig_hex(digest, IG_SHA256_LEN, hex);
		ulen = snprintf(uline, sizeof(uline), "%llu %s\n", l->count + 1, hex);
		ret = append_all(l->unk_fd, l->unk_size, uline, ulen, &l->dirty);
		if (ret)
			return ret;
	}
	ret = append_all(l->fd, l->size, line, len, &l->dirty);
	if (ret) {
		if (ulen)
			undo(l->unk_fd, l->unk_size, &l->dirty);
		return ret;
	}
	ret = append_all(l->chain_fd, l->chain_size, cline, CHAIN_LINE, &l->dirty);
	if (ret) {
		undo(l->fd, l->size, &l->dirty);
		if (ulen)
			undo(l->unk_fd, l->unk_size, &l->dirty);
		return ret;
	}
	l->size += len;
	l->chain_size += CHAIN_LINE;
	l->unk_size += ulen;
	l->count++;
	memcpy(l->agg, agg, IG_SHA256_LEN);
	memcpy(l->last_th, th, IG_SHA256_LEN);
	ml_tset_add(&l->set, th); /* room reserved above */
	if (++l->unsynced >= IG_MEASLOG_SYNC_EVERY)
		return ig_measlog_sync(l);
	return 0;
}

int ig_measlog_sync(struct ig_measlog *l)
{
	int fds[] = { l->fd, l->chain_fd, l->unk_fd }, ret = 0;

	for (size_t i = 0; i < sizeof(fds) / sizeof(fds[0]); i++)
		if (fds[i] >= 0 && fdatasync(fds[i]) < 0 && !ret)
			ret = -errno;
	if (!ret)
		l->unsynced = 0;
	return ret;
}

const uint8_t *ig_measlog_aggregate(const struct ig_measlog *l)
{
	return l->agg;
}

int ig_measlog_position(const struct ig_measlog *l, const uint8_t value[IG_SHA256_LEN],
			unsigned long long *k)
{
	struct ig_measlog_verify_result res;
	uint8_t a[IG_SHA256_LEN];
	char hex[IG_SHA256_HEX + 1], *buf;
	struct ml_base b;
	size_t len;
	int ret = ml_read_base(l->p_base, &b, &res);

	if (ret < 0)
		return ret;
	if (ret == 1)
		memset(b.agg, 0, IG_SHA256_LEN); /* a boot's file: from zero */
	*k = 0;
	if (!memcmp(b.agg, value, IG_SHA256_LEN))
		return 0;
	ret = ig_read_file(l->p_chain, (size_t)l->chain_size + 1, &buf, &len);
	if (ret)
		return ret;
	ret = -ENOENT;
	for (size_t off = 0; off + CHAIN_LINE <= len && ret; off += CHAIN_LINE) {
		memcpy(hex, buf + off, IG_SHA256_HEX);
		hex[IG_SHA256_HEX] = '\0';
		++*k;
		if (ml_parse_hex32(hex, a) && !memcmp(a, value, IG_SHA256_LEN))
			ret = 0;
	}
	free(buf);
	return ret;
}

const uint8_t *ig_measlog_last(const struct ig_measlog *l)
{
	return l->last_th;
}

unsigned long long ig_measlog_count(const struct ig_measlog *l)
{
	return l->count;
}

unsigned long long ig_measlog_first(const struct ig_measlog *l)
{
	return l->first;
}

const char *ig_measlog_path(const struct ig_measlog *l)
{
	return l->p_log;
}

void ig_measlog_close(struct ig_measlog *l)
{
	if (!l)
		return;
	ig_measlog_sync(l);
	close_fd(&l->fd);
	close_fd(&l->chain_fd);
	close_fd(&l->unk_fd);
	close_fd(&l->dirfd);
	ml_tset_clear(&l->set);
	free(l);
}

int ig_measlog_quarantine(const char *dir, char *moved_to, size_t size)
{
	char log[PATHBUF], base[PATHBUF + 48], from[PATHBUF + 16], to[PATHBUF + 64];
	long long t = (long long)time(NULL);
	struct stat st;
	int dfd, ret = 0;

	if (strlen(dir) > PATH_MAX - 64)
		return -ENAMETOOLONG;
	dfd = lock_dir(dir);
	if (dfd < 0)
		return dfd;
	snprintf(log, sizeof(log), "%s/" IG_MEASLOG_FILE, dir);
	if (lstat(log, &st) < 0) {
		ret = -errno;
		goto out;
	}
	snprintf(base, sizeof(base), "%s.bad.%lld", log, t);
	for (int i = 1; !lstat(base, &st); i++) {
		if (i > 999) {
			ret = -EEXIST;
			goto out;
		}
		snprintf(base, sizeof(base), "%s.bad.%lld.%d", log, t, i);
	}
	if (rename(log, base) < 0) {
		ret = -errno;
		goto out;
	}
	for (size_t i = 1; i < NSIDECARS; i++) {
		snprintf(from, sizeof(from), "%s%s", log, sidecars[i]);
		snprintf(to, sizeof(to), "%s%s", base, sidecars[i]);
		if (rename(from, to) < 0 && errno != ENOENT && !ret)
			ret = -errno;
	}
	if (fsync(dfd) < 0 && !ret)
		ret = -errno;
	if (moved_to && size)
		snprintf(moved_to, size, "%s", base);
out:
	close(dfd);
	return ret;
}
