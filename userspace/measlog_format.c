// SPDX-License-Identifier: GPL-2.0-only
/* Measurement log: template hash, aggregate, the ima-ng line, reading (see measlog.h). */
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

/* ---- hashes and the line format ---------------------------------------- */

static void put_le32(uint8_t *p, uint32_t v)
{
	p[0] = v;
	p[1] = v >> 8;
	p[2] = v >> 16;
	p[3] = v >> 24;
}

void ig_measlog_template_hash(const uint8_t digest[IG_SHA256_LEN], const char *name,
			      uint8_t out[IG_SHA256_LEN])
{
	size_t nlen = strlen(name) + 1;
	size_t total = 4 + DNG_LEN + 4 + nlen;
	uint8_t stackbuf[4 + DNG_LEN + 4 + IG_MEASLOG_NAME_MAX + 1];
	uint8_t *b = total <= sizeof(stackbuf) ? stackbuf : malloc(total);
	uint8_t *p;

	if (!b) {
		/* Cannot happen for names the log accepts; never match anything. */
		memset(out, 0, IG_SHA256_LEN);
		return;
	}
	p = b;
	put_le32(p, DNG_LEN);
	p += 4;
	memcpy(p, "sha256:", 8); /* with its '\0' */
	p += 8;
	memcpy(p, digest, IG_SHA256_LEN);
	p += IG_SHA256_LEN;
	put_le32(p, nlen);
	p += 4;
	memcpy(p, name, nlen); /* with its '\0' */
	ig_sha256_buf(b, total, out);
	if (b != stackbuf)
		free(b);
}

void ig_measlog_extend(uint8_t aggregate[IG_SHA256_LEN], const uint8_t template_hash[IG_SHA256_LEN])
{
	uint8_t buf[2 * IG_SHA256_LEN];

	memcpy(buf, aggregate, IG_SHA256_LEN);
	memcpy(buf + IG_SHA256_LEN, template_hash, IG_SHA256_LEN);
	ig_sha256_buf(buf, sizeof(buf), aggregate);
}

int ig_measlog_name(char out[IG_MEASLOG_NAME_MAX + 1], const char *path)
{
	size_t n = path ? strlen(path) : 0;

	if (!n)
		return -EINVAL;
	if (n > IG_MEASLOG_NAME_MAX)
		return -ENAMETOOLONG;
	/* IMA's ima_write_template_field_data turns ' ' into '_'; '\n' too here. */
	for (size_t i = 0; i <= n; i++)
		out[i] = path[i] == ' ' || path[i] == '\n' ? '_' : path[i];
	return 0;
}

size_t ig_measlog_format(char *buf, const uint8_t template_hash[IG_SHA256_LEN],
			 const uint8_t digest[IG_SHA256_LEN], const char *name)
{
	char th[IG_SHA256_HEX + 1], dg[IG_SHA256_HEX + 1];
	size_t n;

	if (strlen(name) > IG_MEASLOG_NAME_MAX)
		return 0;
	ig_hex(template_hash, IG_SHA256_LEN, th);
	ig_hex(digest, IG_SHA256_LEN, dg);
	n = (size_t)snprintf(buf, IG_MEASLOG_LINE_MAX, "%d %s ima-ng sha256:%s ", IG_MEASLOG_PCR,
			     th, dg);
	/* The recorded name as it is, as IMA prints it (see measlog.h). */
	memcpy(buf + n, name, strlen(name));
	n += strlen(name);
	buf[n++] = '\n';
	buf[n] = '\0';
	return n;
}

static int lowhex(char c)
{
	if (c >= '0' && c <= '9')
		return c - '0';
	if (c >= 'a' && c <= 'f')
		return c - 'a' + 10;
	return -1;
}

bool ml_parse_hex32(const char *s, uint8_t out[IG_SHA256_LEN])
{
	for (int i = 0; i < IG_SHA256_LEN; i++) {
		int hi = lowhex(s[2 * i]), lo = hi < 0 ? -1 : lowhex(s[2 * i + 1]);

		if (hi < 0 || lo < 0)
			return false;
		out[i] = hi << 4 | lo;
	}
	return true;
}

/* Offsets in "10 <th> ima-ng sha256:<digest> <name>". */
#define OFF_TH 3
#define OFF_TMPL (OFF_TH + IG_SHA256_HEX)
#define OFF_DIGEST (OFF_TMPL + sizeof(" ima-ng sha256:") - 1)
#define OFF_NAME (OFF_DIGEST + IG_SHA256_HEX + 1)

const char *ml_parse_line(char *s, size_t len, struct pline *p)
{
	if (memchr(s, '\0', len))
		return "malformed line: NUL byte";
	if (strncmp(s, "10 ", 3))
		return "malformed line: PCR is not 10";
	if (len < OFF_TMPL || !ml_parse_hex32(s + OFF_TH, p->th))
		return "malformed line: template hash is not 64 lowercase hex digits";
	if (strncmp(s + OFF_TMPL, " ima-ng ", 8))
		return "malformed line: template is not ima-ng";
	if (strncmp(s + OFF_TMPL + 8, "sha256:", 7) || len < OFF_NAME - 1 ||
	    !ml_parse_hex32(s + OFF_DIGEST, p->digest) ||
	    (len >= OFF_NAME && s[OFF_NAME - 1] != ' '))
		return "malformed line: digest is not sha256:<64 lowercase hex digits>";
	if (len <= OFF_NAME)
		return "malformed line: no name";
	p->name = s + OFF_NAME;
	if (strchr(p->name, ' '))
		return "malformed line: space in name";
	if (len - OFF_NAME > IG_MEASLOG_NAME_MAX)
		return "malformed line: name longer than 4095 bytes";
	return NULL;
}

size_t ml_format_base(char *buf, const struct ml_base *b)
{
	char hex[IG_SHA256_HEX + 1];

	ig_hex(b->agg, IG_SHA256_LEN, hex);
	return (size_t)snprintf(buf, BASE_MAX,
				"# where this file continues the list since boot (iotgated)\n"
				"entry %llu\naggregate %s\n",
				b->entry, hex);
}

/* ---- line reader -------------------------------------------------------- */

int ml_next_line(struct lreader *r, size_t *len)
{
	ssize_t n;

	errno = 0;
	n = getline(&r->buf, &r->cap, r->f);
	if (n < 0) {
		if (ferror(r->f))
			return errno ? -errno : -EIO;
		return 0;
	}
	r->line++;
	if (r->buf[n - 1] != '\n')
		return -EBADMSG;
	r->buf[n - 1] = '\0';
	*len = n - 1;
	r->bytes += n;
	return 1;
}

void ml_lreader_close(struct lreader *r)
{
	if (r->f)
		fclose(r->f);
	free(r->buf);
}

int ml_read_base(const char *path, struct ml_base *b, struct ig_measlog_verify_result *res)
{
	char side[PATHBUF];
	struct lreader r = { 0 };
	bool have_entry = false, have_agg = false;
	size_t len;
	int ret;

	snprintf(side, sizeof(side), "%s.base", path);
	r.f = fopen(side, "re");
	if (!r.f) {
		if (errno == ENOENT)
			return 1;
		ret = -errno;
		return ml_bad(res, side, 0, ret, "%s", strerror(-ret));
	}
	while ((ret = ml_next_line(&r, &len)) == 1) {
		char *end;

		if (r.buf[0] == '#')
			continue;
		if (!strncmp(r.buf, "entry ", 6) && r.buf[6] >= '0' && r.buf[6] <= '9') {
			errno = 0;
			b->entry = strtoull(r.buf + 6, &end, 10);
			if (errno || *end)
				break;
			have_entry = true;
		} else if (!strncmp(r.buf, "aggregate ", 10) && len == 10 + IG_SHA256_HEX &&
			   ml_parse_hex32(r.buf + 10, b->agg)) {
			have_agg = true;
		} else {
			break;
		}
	}
	if (ret == 1 || ret == -EBADMSG)
		ret = ml_bad(res, side, r.line, -EBADMSG,
			     "malformed line: expected 'entry N' or 'aggregate <64 hex digits>'");
	else if (ret < 0)
		ret = ml_bad(res, side, r.line, ret, "%s", strerror(-ret));
	else if (!have_entry || !have_agg)
		ret = ml_bad(res, side, 0, -EBADMSG, "%s missing",
			     have_entry ? "'aggregate <hex>'" : "'entry N'");
	ml_lreader_close(&r);
	return ret;
}

/* ---- reading for display ------------------------------------------------ */

void ig_measlog_entries_free(struct ig_measlog_entry *entries, size_t n)
{
	for (size_t i = 0; i < n; i++)
		free(entries[i].name);
	free(entries);
}

/* Marks entries listed in PATH.unknown ("<number> <digest hex>" lines). */
static void read_unknown(const char *path, struct ig_measlog_entry *v, size_t n)
{
	char side[PATHBUF];
	struct lreader r = { 0 };
	size_t len;

	snprintf(side, sizeof(side), "%s.unknown", path);
	r.f = fopen(side, "re");
	if (!r.f)
		return;
	while (ml_next_line(&r, &len) == 1) {
		uint8_t d[IG_SHA256_LEN];
		unsigned long long k;
		char *end;

		errno = 0;
		k = strtoull(r.buf, &end, 10);
		if (errno || end == r.buf || *end != ' ' || strlen(end + 1) != IG_SHA256_HEX ||
		    !ml_parse_hex32(end + 1, d))
			continue;
		if (k >= 1 && k <= n && !memcmp(v[k - 1].digest, d, IG_SHA256_LEN))
			v[k - 1].unknown = true;
	}
	ml_lreader_close(&r);
}

int ig_measlog_read(const char *path, struct ig_measlog_entry **entries, size_t *n,
		    struct ig_measlog_verify_result *res)
{
	struct ig_measlog_entry *v = NULL;
	struct lreader lr = { 0 };
	size_t cnt = 0, cap = 0, len;
	struct pline p;
	int ret;

	memset(res, 0, sizeof(*res));
	*entries = NULL;
	*n = 0;
	lr.f = fopen(path, "re");
	if (!lr.f) {
		ret = -errno;
		return ml_bad(res, path, 0, ret, "%s", strerror(-ret));
	}
	while ((ret = ml_next_line(&lr, &len)) == 1) {
		const char *why = ml_parse_line(lr.buf, len, &p);

		if (why) {
			ret = ml_bad(res, path, lr.line, -EBADMSG, "%s", why);
			break;
		}
		if (cnt == cap) {
			size_t nc = cap ? 2 * cap : 64;
			struct ig_measlog_entry *nv = realloc(v, nc * sizeof(*nv));

			if (!nv) {
				ret = ml_bad(res, path, 0, -ENOMEM, "%s", strerror(ENOMEM));
				break;
			}
			v = nv;
			cap = nc;
		}
		memset(&v[cnt], 0, sizeof(v[cnt]));
		v[cnt].line = lr.line;
		memcpy(v[cnt].template_hash, p.th, IG_SHA256_LEN);
		memcpy(v[cnt].digest, p.digest, IG_SHA256_LEN);
		v[cnt].name = strdup(p.name);
		if (!v[cnt].name) {
			ret = ml_bad(res, path, 0, -ENOMEM, "%s", strerror(ENOMEM));
			break;
		}
		cnt++;
		res->entries++;
	}
	if (ret == -EBADMSG && !res->file[0])
		ret = ml_bad(res, path, lr.line, ret, "malformed line: no newline at the end");
	else if (ret < 0 && !res->file[0])
		ret = ml_bad(res, path, lr.line, ret, "%s", strerror(-ret));
	ml_lreader_close(&lr);
	read_unknown(path, v, cnt);
	*entries = v;
	*n = cnt;
	return ret < 0 ? ret : 0;
}
