/* SPDX-License-Identifier: GPL-2.0-only */
/*
 * Collected diagnostics for bad input. Parsers keep going after an error so
 * that one run reports every problem, each as "file:line:col: message" (or
 * "path: message" for problems that belong to a file as a whole).
 */
#ifndef IG_DIAG_H
#define IG_DIAG_H

#include <stdbool.h>
#include <stddef.h>

struct ig_diag {
	char **msgs;
	size_t n;
	size_t cap;
	/*
	 * Leave the input's text out of messages about a place in it (line
	 * not 0), for replies to someone who may not read the file. The
	 * parsers quote the input's text, '%s': each such %s is written as
	 * '...'. A quoted %s that is never the input's text (a usage, a known
	 * keyword) is written '%-s' and kept; so is an unquoted %s (a
	 * description, a strerror()), which must never be the input's text.
	 */
	bool redact;
};

void ig_diag_init(struct ig_diag *d);
void ig_diag_free(struct ig_diag *d);
/* line/col are 1-based; line 0 means the message is about the whole file. */
void ig_diag_add(struct ig_diag *d, const char *file, unsigned int line, unsigned int col,
		 const char *fmt, ...) __attribute__((format(printf, 5, 6)));
/* Joins all messages with '\n' (caller frees); NULL if there are none. */
char *ig_diag_join(const struct ig_diag *d);

#endif
