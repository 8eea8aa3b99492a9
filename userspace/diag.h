/* SPDX-License-Identifier: GPL-2.0-only */
/*
 * Collected diagnostics for bad input. Parsers keep going after an error so
 * that one run reports every problem, each as "file:line:col: message" (or
 * "path: message" for problems that belong to a file as a whole).
 */
#ifndef IG_DIAG_H
#define IG_DIAG_H

#include <stddef.h>

struct ig_diag {
	char **msgs;
	size_t n;
	size_t cap;
};

void ig_diag_init(struct ig_diag *d);
void ig_diag_free(struct ig_diag *d);
/* line/col are 1-based; line 0 means the message is about the whole file. */
void ig_diag_add(struct ig_diag *d, const char *file, unsigned int line, unsigned int col,
		 const char *fmt, ...) __attribute__((format(printf, 5, 6)));
/* Joins all messages with '\n' (caller frees); NULL if there are none. */
char *ig_diag_join(const struct ig_diag *d);

#endif
