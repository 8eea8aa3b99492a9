// SPDX-License-Identifier: GPL-2.0-only
#include <stdbool.h>
#include <stdio.h>
#include <string.h>
#include "esc.h"

/*
 * Length (1 to 4) of the valid UTF-8 sequence at s, its code point in *cp;
 * 0 if s does not start one (overlong forms, surrogates and code points
 * above U+10FFFF are not valid).
 */
static size_t utf8_seq(const unsigned char *s, unsigned int *cp)
{
	unsigned int c = s[0], n, min;

	if (c < 0x80) {
		*cp = c;
		return 1;
	}
	if (c >= 0xc2 && c <= 0xdf) {
		n = 1;
		c &= 0x1f;
		min = 0x80;
	} else if (c >= 0xe0 && c <= 0xef) {
		n = 2;
		c &= 0x0f;
		min = 0x800;
	} else if (c >= 0xf0 && c <= 0xf4) {
		n = 3;
		c &= 0x07;
		min = 0x10000;
	} else {
		return 0;
	}
	for (unsigned int i = 1; i <= n; i++) {
		if ((s[i] & 0xc0) != 0x80) /* the terminating NUL stops here too */
			return 0;
		c = c << 6 | (s[i] & 0x3f);
	}
	if (c < min || c > 0x10ffff || (c >= 0xd800 && c <= 0xdfff))
		return 0;
	*cp = c;
	return n + 1;
}

/* Ends a line, or reorders or hides text, on a terminal or in a log viewer. */
static bool unsafe(unsigned int c)
{
	return c < 0x20 || (c >= 0x7f && c <= 0x9f) || c == 0x061c || c == 0x200e || c == 0x200f ||
	       (c >= 0x2028 && c <= 0x202e) || (c >= 0x2066 && c <= 0x2069);
}

static bool plain(unsigned char c)
{
	return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
	       strchr("._/+:@%-", c);
}

struct out {
	char *buf;
	size_t size, len, reserve; /* reserve: the NUL and a closing quote */
	bool full;
};

/* Appends a whole unit or, once one does not fit, nothing more. */
static void put(struct out *o, const char *s, size_t n)
{
	if (o->full || o->len + n + o->reserve > o->size) {
		o->full = true;
		return;
	}
	memcpy(o->buf + o->len, s, n);
	o->len += n;
}

const char *ig_esc(char *buf, size_t size, const char *s, enum ig_esc_style style)
{
	/* what the quoting on top of IG_ESC_TEXT puts a backslash before */
	const char *outer = style == IG_ESC_SD	  ? "\\\"]" :
			    style == IG_ESC_PROM  ? "\\\"" :
			    style == IG_ESC_FIELD ? "\"" :
						    "";
	const unsigned char *p = (const unsigned char *)s;
	struct out o = { .buf = buf, .size = size, .reserve = 1 };
	bool quote = false;

	if (!size)
		return buf;
	if (style == IG_ESC_FIELD) {
		quote = !*p;
		for (const unsigned char *q = p; *q && !quote; q++)
			quote = !plain(*q);
		if (quote) {
			o.reserve = 2;
			put(&o, "\"", 1);
		}
	}
	while (*p) {
		char text[8], unit[16];
		unsigned int cp;
		size_t n = utf8_seq(p, &cp), tl, ul = 0;

		if (!n || unsafe(cp)) {
			tl = snprintf(text, sizeof(text), "\\x%02x", *p);
			n = 1;
		} else if (*p == '\\' && style != IG_ESC_LINE) {
			tl = 2;
			memcpy(text, "\\\\", 2);
		} else {
			tl = n;
			memcpy(text, p, n);
		}
		for (size_t i = 0; i < tl; i++) {
			if (strchr(outer, text[i]))
				unit[ul++] = '\\';
			unit[ul++] = text[i];
		}
		put(&o, unit, ul);
		p += n;
	}
	if (quote) {
		o.reserve = 1;
		o.full = false;
		put(&o, "\"", 1);
	}
	buf[o.len] = '\0';
	return buf;
}
