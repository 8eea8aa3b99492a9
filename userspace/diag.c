// SPDX-License-Identifier: GPL-2.0-only
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include "diag.h"

void ig_diag_init(struct ig_diag *d)
{
	memset(d, 0, sizeof(*d));
}

void ig_diag_free(struct ig_diag *d)
{
	for (size_t i = 0; i < d->n; i++)
		free(d->msgs[i]);
	free(d->msgs);
	memset(d, 0, sizeof(*d));
}

void ig_diag_add(struct ig_diag *d, const char *file, unsigned int line, unsigned int col,
		 const char *fmt, ...)
{
	char body[768], *msg = NULL;
	va_list ap;
	int r;

	va_start(ap, fmt);
	vsnprintf(body, sizeof(body), fmt, ap);
	va_end(ap);
	if (line)
		r = asprintf(&msg, "%s:%u:%u: %s", file, line, col ? col : 1, body);
	else
		r = asprintf(&msg, "%s: %s", file, body);
	if (r < 0)
		return;
	if (d->n == d->cap) {
		size_t cap = d->cap ? d->cap * 2 : 8;
		char **m = realloc(d->msgs, cap * sizeof(*m));

		if (!m) {
			free(msg);
			return;
		}
		d->msgs = m;
		d->cap = cap;
	}
	d->msgs[d->n++] = msg;
}

char *ig_diag_join(const struct ig_diag *d)
{
	size_t len = 0, off = 0;
	char *out;

	if (!d->n)
		return NULL;
	for (size_t i = 0; i < d->n; i++)
		len += strlen(d->msgs[i]) + 1;
	out = malloc(len);
	if (!out)
		return NULL;
	for (size_t i = 0; i < d->n; i++) {
		size_t l = strlen(d->msgs[i]);

		memcpy(out + off, d->msgs[i], l);
		off += l;
		out[off++] = i + 1 < d->n ? '\n' : '\0';
	}
	return out;
}
