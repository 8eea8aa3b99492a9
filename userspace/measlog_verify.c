// SPDX-License-Identifier: GPL-2.0-only
/* Measurement log: verification of files and their chains (see measlog.h). */
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

/* ---- verification ------------------------------------------------------- */

int ml_bad(struct ig_measlog_verify_result *res, const char *file, unsigned int line, int ret,
	   const char *fmt, ...)
{
	va_list ap;

	snprintf(res->file, sizeof(res->file), "%s", file);
	res->line = line;
	va_start(ap, fmt);
	vsnprintf(res->reason, sizeof(res->reason), fmt, ap);
	va_end(ap);
	return ret;
}

int ml_tset_reserve(struct tset *s, size_t n)
{
	uint8_t(*nv)[IG_SHA256_LEN];
	size_t ncap;

	if (2 * n <= s->cap)
		return 0;
	ncap = s->cap ? s->cap : 64;
	while (2 * n > ncap)
		ncap *= 2;
	nv = calloc(ncap, sizeof(*nv));
	if (!nv)
		return -ENOMEM;
	for (size_t i = 0; i < s->cap; i++) {
		size_t j;

		if (!memcmp(s->v[i], zero, IG_SHA256_LEN))
			continue;
		memcpy(&j, s->v[i], sizeof(j));
		for (j &= ncap - 1; memcmp(nv[j], zero, IG_SHA256_LEN); j = (j + 1) & (ncap - 1))
			;
		memcpy(nv[j], s->v[i], IG_SHA256_LEN);
	}
	free(s->v);
	s->v = nv;
	s->cap = ncap;
	return 0;
}

/* Slot of th, or of the free slot where it belongs. */
static size_t tset_slot(const struct tset *s, const uint8_t th[IG_SHA256_LEN])
{
	size_t j;

	memcpy(&j, th, sizeof(j));
	for (j &= s->cap - 1; memcmp(s->v[j], zero, IG_SHA256_LEN); j = (j + 1) & (s->cap - 1))
		if (!memcmp(s->v[j], th, IG_SHA256_LEN))
			break;
	return j;
}

bool ml_tset_has(const struct tset *s, const uint8_t th[IG_SHA256_LEN])
{
	return s->cap && !memcmp(s->v[tset_slot(s, th)], th, IG_SHA256_LEN);
}

int ml_tset_add(struct tset *s, const uint8_t th[IG_SHA256_LEN])
{
	size_t j;

	if (ml_tset_reserve(s, s->n + 1))
		return -ENOMEM;
	j = tset_slot(s, th);
	if (memcmp(s->v[j], th, IG_SHA256_LEN)) {
		memcpy(s->v[j], th, IG_SHA256_LEN);
		s->n++;
	}
	return 0;
}

void ml_tset_clear(struct tset *s)
{
	free(s->v);
	memset(s, 0, sizeof(*s));
}

static const char *base_name(const char *p)
{
	const char *s = strrchr(p, '/');

	return s ? s + 1 : p;
}

static int push_missing(struct walk *w)
{
	if (w->nmissing == w->capmissing) {
		size_t nc = w->capmissing ? 2 * w->capmissing : 16;
		void *nv = realloc(w->missing, nc * sizeof(*w->missing));

		if (!nv)
			return -ENOMEM;
		w->missing = nv;
		w->capmissing = nc;
	}
	memcpy(w->missing[w->nmissing++], w->agg, IG_SHA256_LEN);
	return 0;
}

/*
 * The first entry of a file that is neither boot_aggregate nor a carry-over:
 * a rotated segment, which continues from PATH.base or from the previous file.
 */
static int start_segment(struct walk *w, struct ig_measlog_verify_result *res,
			 const struct ml_base *base, unsigned int line)
{
	if (!base && !w->cont)
		return ml_bad(res, w->path, line, -EBADMSG,
			      "log does not begin with boot_aggregate and has no %s.base",
			      base_name(w->path));
	if (base && w->cont && memcmp(base->agg, w->prev, IG_SHA256_LEN))
		return ml_bad(res, w->path, line, -EBADMSG,
			      "%s.base does not continue the aggregate of the previous file",
			      base_name(w->path));
	if (base && w->cont && base->entry != w->next)
		return ml_bad(res, w->path, line, -EBADMSG,
			      "%s.base names entry %llu, the previous file ends before entry %llu",
			      base_name(w->path), base->entry, w->next);
	memcpy(w->agg, base ? base->agg : w->prev, IG_SHA256_LEN);
	w->first = base ? base->entry : w->next;
	return 0;
}

int ml_walk_file(struct walk *w, struct ig_measlog_verify_result *res)
{
	struct ml_base base;
	bool have_base;
	char chain[PATHBUF];
	struct lreader lr = { 0 }, cr = { 0 };
	bool chain_end = false;
	struct pline p;
	size_t len;
	int ret;

	snprintf(chain, sizeof(chain), "%s.chain", w->path);
	lr.f = fopen(w->path, "re");
	if (!lr.f) {
		ret = -errno;
		return ml_bad(res, w->path, 0, ret, "%s", strerror(-ret));
	}
	cr.f = fopen(chain, "re");
	if (!cr.f && errno != ENOENT) {
		ret = -errno;
		ret = ml_bad(res, chain, 0, ret, "%s", strerror(-ret));
		goto out;
	}
	w->have_chain = cr.f != NULL;
	w->n = 0;
	ret = ml_read_base(w->path, &base, res);
	if (ret < 0)
		goto out;
	have_base = ret == 0;
	while ((ret = ml_next_line(&lr, &len)) == 1) {
		uint8_t th[IG_SHA256_LEN];
		const char *why = ml_parse_line(lr.buf, len, &p);
		bool boot, carry;

		if (why) {
			ret = ml_bad(res, w->path, lr.line, -EBADMSG, "%s", why);
			goto out;
		}
		ig_measlog_template_hash(p.digest, p.name, th);
		if (memcmp(th, p.th, IG_SHA256_LEN)) {
			ret = ml_bad(res, w->path, lr.line, -EBADMSG,
				     "template hash does not match its fields");
			goto out;
		}
		boot = !strcmp(p.name, IG_MEASLOG_BOOT_NAME);
		carry = !strcmp(p.name, IG_MEASLOG_CARRY_NAME);
		if (w->n == 0 && boot) {
			/* A boot starts from zero (also after a previous boot's file). */
			if (have_base && (base.entry || memcmp(base.agg, zero, IG_SHA256_LEN))) {
				ret = ml_bad(res, w->path, lr.line, -EBADMSG,
					     "boot_aggregate, but %s.base names entry %llu",
					     base_name(w->path), base.entry);
				goto out;
			}
			memcpy(w->agg, zero, IG_SHA256_LEN);
			w->first = 0;
		} else if (w->n == 0 && carry) {
			/* Written by iotgate before 0.2: a record whose digest is the base. */
			if (w->cont && memcmp(p.digest, w->prev, IG_SHA256_LEN)) {
				ret = ml_bad(
					res, w->path, lr.line, -EBADMSG,
					"carry-over does not continue the aggregate of the previous file");
				goto out;
			}
			memcpy(w->agg, p.digest, IG_SHA256_LEN);
			w->first = w->cont ? w->next : 0;
		} else if (w->n == 0) {
			ret = start_segment(w, res, have_base ? &base : NULL, lr.line);
			if (ret)
				goto out;
		} else if (boot || carry) {
			ret = ml_bad(res, w->path, lr.line, -EBADMSG,
				     "%s entry after the first line",
				     boot ? "boot_aggregate" : "carry-over");
			goto out;
		}
		ig_measlog_extend(w->agg, th);
		w->n++;
		if (w->set && ml_tset_add(w->set, th)) {
			ret = ml_bad(res, w->path, lr.line, -ENOMEM, "%s", strerror(ENOMEM));
			goto out;
		}
		if (w->expected && !memcmp(w->agg, w->expected, IG_SHA256_LEN))
			w->matched_line = lr.line;
		if (cr.f && !chain_end) {
			uint8_t want[IG_SHA256_LEN];
			size_t clen;

			ret = ml_next_line(&cr, &clen);
			if (ret == 0 || ret == -EBADMSG) {
				/* Shorter, or a line being written: checked up to here. */
				chain_end = true;
			} else if (ret < 0) {
				ret = ml_bad(res, chain, cr.line, ret, "%s", strerror(-ret));
				goto out;
			} else if (clen != IG_SHA256_HEX || !ml_parse_hex32(cr.buf, want)) {
				ret = ml_bad(
					res, chain, cr.line, -EBADMSG,
					"malformed line: expected the 64 lowercase hex digits of an aggregate");
				goto out;
			} else if (memcmp(want, w->agg, IG_SHA256_LEN)) {
				ret = ml_bad(
					res, w->path, lr.line, -EBADMSG,
					"aggregate differs from %s: entry deleted, inserted or moved",
					base_name(chain));
				goto out;
			} else {
				w->chain_size = cr.bytes;
			}
		}
		if ((!cr.f || chain_end) && w->collect && push_missing(w)) {
			ret = ml_bad(res, w->path, lr.line, -ENOMEM, "%s", strerror(ENOMEM));
			goto out;
		}
		res->entries++;
	}
	if (ret == -EBADMSG) {
		ret = ml_bad(res, w->path, lr.line, ret, "malformed line: no newline at the end");
		goto out;
	}
	if (ret < 0) {
		ret = ml_bad(res, w->path, lr.line, ret, "%s", strerror(-ret));
		goto out;
	}
	if (w->n == 0) {
		/* A segment rotated before its first entry was written. */
		if (have_base || w->cont) {
			ret = start_segment(w, res, have_base ? &base : NULL, 0);
			if (ret)
				goto out;
		} else {
			ret = ml_bad(res, w->path, 0, -EBADMSG,
				     "empty log (no boot_aggregate entry)");
			goto out;
		}
	}
	if (cr.f && !chain_end && ml_next_line(&cr, &len) == 1) {
		ret = ml_bad(res, w->path, lr.line + 1, -EBADMSG,
			     "entry missing: %s records more entries than the log",
			     base_name(chain));
		goto out;
	}
	w->size = lr.bytes;
	ret = 0;
out:
	ml_lreader_close(&lr);
	ml_lreader_close(&cr);
	return ret;
}

int ig_measlog_verify_files(const char *const *paths, size_t n, const uint8_t *expected_aggregate,
			    struct ig_measlog_verify_result *res)
{
	struct walk w = { 0 };
	int ret;

	memset(res, 0, sizeof(*res));
	if (!n)
		return -EINVAL;
	for (size_t i = 0; i < n; i++) {
		w.path = paths[i];
		w.cont = i > 0;
		w.next = w.first + w.n;
		memcpy(w.prev, w.agg, IG_SHA256_LEN);
		w.expected = i == n - 1 ? expected_aggregate : NULL;
		w.matched_line = 0;
		ret = ml_walk_file(&w, res);
		if (ret)
			return ret;
	}
	memcpy(res->aggregate, w.agg, IG_SHA256_LEN);
	res->first = w.first;
	if (expected_aggregate && memcmp(w.agg, expected_aggregate, IG_SHA256_LEN)) {
		if (w.matched_line)
			return ml_bad(
				res, w.path, w.matched_line + 1, -EBADMSG,
				"aggregate differs from the daemon's: it ends at the line before");
		return ml_bad(res, w.path, 0, -EBADMSG, "aggregate differs from the daemon's");
	}
	return 0;
}

int ig_measlog_verify(const char *path, const uint8_t *expected_aggregate,
		      struct ig_measlog_verify_result *res)
{
	return ig_measlog_verify_files(&path, 1, expected_aggregate, res);
}
