/* SPDX-License-Identifier: GPL-2.0-only */
/*
 * Line tokenizer shared by the configuration parsers: words separated by
 * blanks, "double quoted" words with \" and \\ escapes, '#' starts a comment.
 * Every token remembers its 1-based column for file:line:col diagnostics.
 */
#ifndef IG_LEX_H
#define IG_LEX_H

#include <stdbool.h>
#include <stddef.h>

#define IG_LEX_MAX_TOKENS 32

struct ig_tok {
	char *s; /* NUL-terminated, unescaped */
	unsigned int col;
};

struct ig_line {
	struct ig_tok tok[IG_LEX_MAX_TOKENS];
	unsigned int ntok;
	char buf[4096];
};

/*
 * Splits one line (without its newline). Returns 0, or the 1-based column of
 * a lexical error with *err set to a static description.
 */
unsigned int ig_lex_line(const char *line, size_t len, struct ig_line *out, const char **err);

/* Reads a whole file (at most max bytes) into a NUL-terminated buffer. 0 or -errno. */
int ig_read_file(const char *path, size_t max, char **buf, size_t *len);

/* Removes a directory tree (no error if it does not exist). 0 or -errno. */
int ig_rmtree(const char *path);

/* Parses a decimal unsigned integer that must fit in 32 bits. */
bool ig_parse_u32(const char *s, unsigned int *out);

#endif
