// SPDX-License-Identifier: GPL-2.0-only
#include <stdarg.h>
#include <stdbool.h>
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

/*
 * The format with every quoted %s ('%s', not '%-s') written as "...%.0s"
 * (the argument is still consumed). False for a format it cannot rewrite
 * that way (%c, '*').
 */
static bool redact_fmt(const char *fmt, char *out, size_t size)
{
	size_t o = 0;

	while (*fmt) {
		size_t n = 1;
		bool left = false;

		if (*fmt == '%' && fmt[1] != '%') {
			while (fmt[n] && strchr("-+ #0'", fmt[n]))
				left |= fmt[n++] == '-';
			n += strspn(fmt + n, "0123456789.hlLqjzt*");
			if (!fmt[n] || fmt[n] == 'c' || memchr(fmt, '*', n))
				return false;
			n++;
			if (fmt[n - 1] == 's' && !left && o && out[o - 1] == '\'') {
				if (o + 9 > size)
					return false;
				memcpy(out + o, "...%.0s", 7);
				o += 7;
				fmt += n;
				continue;
			}
		} else if (*fmt == '%') {
			n = 2;
		}
		if (o + n + 1 > size)
			return false;
		memcpy(out + o, fmt, n);
		o += n;
		fmt += n;
	}
	out[o] = '\0';
	return true;
}

void ig_diag_add(struct ig_diag *d, const char *file, unsigned int line, unsigned int col,
		 const char *fmt, ...)
{
	char body[768], rfmt[512], *msg = NULL;
	const char *f = fmt;
	va_list ap;
	int r;

	if (d->redact && line)
		f = redact_fmt(fmt, rfmt, sizeof(rfmt)) ? rfmt : "invalid input";
	va_start(ap, fmt);
	vsnprintf(body, sizeof(body), f, ap);
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
