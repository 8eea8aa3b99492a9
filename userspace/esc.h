/* SPDX-License-Identifier: GPL-2.0-only */
/*
 * Escaping of text from outside (file paths, process names, anything a
 * request or a file carries) wherever it leaves the daemon or the command:
 * logs, syslog, human output, metrics labels. No byte of such text can end a
 * line or forge a field.
 *
 * Every style writes the text as IG_ESC_TEXT does and quotes that on top, so
 * a reader who undoes the outer quoting gets the IG_ESC_TEXT form back.
 */
#ifndef IG_ESC_H
#define IG_ESC_H

#include <stddef.h>

enum ig_esc_style {
	/*
	 * Printable UTF-8 as it is, a backslash doubled, and as \xNN each byte
	 * of a control character (C0, DEL, C1), of a line or paragraph
	 * separator (U+2028, U+2029) or bidirectional control, and each byte
	 * that is not valid UTF-8.
	 */
	IG_ESC_TEXT,
	/*
	 * A field of a log line or of human output: as it is when non-empty and
	 * made only of letters, digits and ._/+:@%-, else IG_ESC_TEXT between
	 * double quotes, with \" for a quote.
	 */
	IG_ESC_FIELD,
	/* An RFC 5424 PARAM-VALUE (no quotes): IG_ESC_TEXT, then \\, \" and \]. */
	IG_ESC_SD,
	/* A Prometheus label value (no quotes): IG_ESC_TEXT, then \\ and \". */
	IG_ESC_PROM,
	/*
	 * A whole message whose fields were escaped already: as IG_ESC_TEXT
	 * but a backslash stays as it is. It keeps the message on one line.
	 */
	IG_ESC_LINE,
};

/* Room ig_esc() needs for n bytes in any style: \\xNN (5) per byte, quotes, NUL. */
#define IG_ESC_SIZE(n) (5 * (n) + 3)

/*
 * Writes s, escaped, to buf and returns buf. The result is always
 * NUL-terminated and, if size is too small, cut before an escape rather
 * than inside one (a quoted field keeps its closing quote).
 */
const char *ig_esc(char *buf, size_t size, const char *s, enum ig_esc_style style);

#endif
