/* SPDX-License-Identifier: GPL-2.0-only */
/*
 * Internals shared by measlog_format.c (hashes, the ima-ng line, reading),
 * measlog_verify.c (verification) and measlog_writer.c (the daemon's
 * writer). Not an API: see measlog.h.
 */
#ifndef IG_MEASLOG_INT_H
#define IG_MEASLOG_INT_H

#include <limits.h>
#include <stdbool.h>
#include <stdio.h>
#include <sys/types.h>
#include "measlog.h"

#define BOOT_ID_PATH "/proc/sys/kernel/random/boot_id"
#define DNG_LEN (sizeof("sha256:") + IG_SHA256_LEN) /* "sha256:" '\0' digest = 40 */
#define CHAIN_LINE (IG_SHA256_HEX + 1)
#define PATHBUF (PATH_MAX + 64)

/* A set of template hashes (open addressing; all-zero marks a free slot). */
struct tset {
	uint8_t (*v)[IG_SHA256_LEN];
	size_t cap, n;
};

static const uint8_t zero[IG_SHA256_LEN];

struct pline {
	uint8_t th[IG_SHA256_LEN];
	uint8_t digest[IG_SHA256_LEN];
	char *name; /* unescaped in place, NUL-terminated */
};

struct lreader {
	FILE *f;
	char *buf;
	size_t cap;
	unsigned int line;
	off_t bytes; /* bytes of the complete lines read */
};

struct walk {
	/* in */
	const char *path;
	bool cont; /* a file precedes this one and ended with aggregate prev */
	uint8_t prev[IG_SHA256_LEN];
	unsigned long long next; /* entry number after the previous file's last */
	const uint8_t *expected;
	struct tset *set; /* collects the template hashes */
	bool collect; /* collects the aggregates the chain file lacks */
	/* out */
	uint8_t agg[IG_SHA256_LEN];
	unsigned long long first; /* entry number (0 at boot) of the file's first entry */
	unsigned long long n;
	off_t size;
	bool have_chain;
	off_t chain_size; /* bytes of the chain's lines that matched */
	uint8_t (*missing)[IG_SHA256_LEN];
	size_t nmissing, capmissing;
	unsigned int matched_line; /* last line whose aggregate equals expected */
};

/* PATH.base: where a rotated segment continues (see measlog.h). */
struct ml_base {
	unsigned long long entry;
	uint8_t agg[IG_SHA256_LEN];
};

#define BASE_MAX 256

/* measlog_format.c */
/* Reads PATH.base: 0 read, 1 there is none, or -errno with res filled. */
int ml_read_base(const char *path, struct ml_base *b, struct ig_measlog_verify_result *res);
/* The contents of a .base file (BASE_MAX bytes); returns its length. */
size_t ml_format_base(char *buf, const struct ml_base *b);
/* Exactly 64 lowercase hex digits (IMA prints lowercase). */
bool ml_parse_hex32(const char *s, uint8_t out[IG_SHA256_LEN]);
/* Parses one line (without its '\n'). Returns NULL or why it is malformed. */
const char *ml_parse_line(char *s, size_t len, struct pline *p);
/* 1: a line in r->buf (its '\n' removed), 0: end, -EBADMSG: last line has no '\n'. */
int ml_next_line(struct lreader *r, size_t *len);
void ml_lreader_close(struct lreader *r);

/* measlog_verify.c */
int ml_bad(struct ig_measlog_verify_result *res, const char *file, unsigned int line, int ret,
	   const char *fmt, ...) __attribute__((format(printf, 5, 6)));
int ml_tset_reserve(struct tset *s, size_t n);
bool ml_tset_has(const struct tset *s, const uint8_t th[IG_SHA256_LEN]);
int ml_tset_add(struct tset *s, const uint8_t th[IG_SHA256_LEN]);
void ml_tset_clear(struct tset *s);
/* Verifies one log file and its chain file; fills w and res. */
int ml_walk_file(struct walk *w, struct ig_measlog_verify_result *res);

#endif
