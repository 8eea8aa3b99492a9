// SPDX-License-Identifier: GPL-2.0-only
/* Escaping of names and paths wherever they leave the daemon or the command. */
#include "esc.h"
#include "test.h"

TEST(esc_styles)
{
	char b[256];

	CHECK_STR(ig_esc(b, sizeof(b), "/usr/bin/true", IG_ESC_FIELD), "/usr/bin/true");
	CHECK_STR(ig_esc(b, sizeof(b), "", IG_ESC_FIELD), "\"\"");
	CHECK_STR(ig_esc(b, sizeof(b), "a b", IG_ESC_FIELD), "\"a b\"");
	CHECK_STR(ig_esc(b, sizeof(b), "x\nuid=0 \"q\"\\", IG_ESC_FIELD),
		  "\"x\\x0auid=0 \\\"q\\\"\\\\\"");
	CHECK_STR(ig_esc(b, sizeof(b), "x\nq\"]\\", IG_ESC_TEXT), "x\\x0aq\"]\\\\");
	CHECK_STR(ig_esc(b, sizeof(b), "x\nq\"]\\", IG_ESC_SD), "x\\\\x0aq\\\"\\]\\\\\\\\");
	CHECK_STR(ig_esc(b, sizeof(b), "x\nq\"]\\", IG_ESC_PROM), "x\\\\x0aq\\\"]\\\\\\\\");
	CHECK_STR(ig_esc(b, sizeof(b), "x\nq\"]\\", IG_ESC_LINE), "x\\x0aq\"]\\");
	/* UTF-8 stays; invalid bytes, C1 controls and bidi overrides do not */
	CHECK_STR(ig_esc(b, sizeof(b), "gr\xc3\xbc\xc3\x9f", IG_ESC_TEXT), "gr\xc3\xbc\xc3\x9f");
	CHECK_STR(ig_esc(b, sizeof(b), "\xff\xc3(\xc2\x85\xe2\x80\xae", IG_ESC_TEXT),
		  "\\xff\\xc3(\\xc2\\x85\\xe2\\x80\\xae");
	CHECK_STR(ig_esc(b, sizeof(b), "\xc0\xaf\xed\xa0\x80\xf4\x90\x80\x80", IG_ESC_TEXT),
		  "\\xc0\\xaf\\xed\\xa0\\x80\\xf4\\x90\\x80\\x80");
	/* cut before an escape, never inside one; a quoted field keeps its quote */
	CHECK_STR(ig_esc(b, 8, "abcd\n", IG_ESC_TEXT), "abcd");
	CHECK_STR(ig_esc(b, 8, "ab cdefgh", IG_ESC_FIELD), "\"ab cd\"");
	CHECK_STR(ig_esc(b, 1, "abc", IG_ESC_TEXT), "");
}
