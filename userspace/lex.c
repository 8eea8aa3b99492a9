// SPDX-License-Identifier: GPL-2.0-only
#include <errno.h>
#include <fcntl.h>
#include <ftw.h>
#include <stdio.h>
#include <limits.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>
#include "lex.h"

unsigned int ig_lex_line(const char *line, size_t len, struct ig_line *out, const char **err)
{
	size_t i = 0, o = 0;

	out->ntok = 0;
	while (i < len) {
		unsigned int start;

		while (i < len && (line[i] == ' ' || line[i] == '\t' || line[i] == '\r'))
			i++;
		if (i >= len || line[i] == '#')
			break;
		if (out->ntok == IG_LEX_MAX_TOKENS) {
			*err = "too many words on one line";
			return i + 1;
		}
		start = i + 1;
		out->tok[out->ntok].s = out->buf + o;
		out->tok[out->ntok].col = start;
		if (line[i] == '"') {
			i++;
			for (;;) {
				if (i >= len) {
					*err = "unterminated quoted string";
					return start;
				}
				if (line[i] == '"')
					break;
				if (line[i] == '\\' && i + 1 < len)
					i++;
				if (o + 2 >= sizeof(out->buf)) {
					*err = "line too long";
					return start;
				}
				out->buf[o++] = line[i++];
			}
			i++;
			if (i < len && line[i] != ' ' && line[i] != '\t' && line[i] != '\r') {
				*err = "expected a blank after the closing quote";
				return i + 1;
			}
		} else {
			while (i < len && line[i] != ' ' && line[i] != '\t' && line[i] != '\r') {
				if (line[i] == '"') {
					*err = "quote inside a word";
					return i + 1;
				}
				if (o + 2 >= sizeof(out->buf)) {
					*err = "line too long";
					return start;
				}
				out->buf[o++] = line[i++];
			}
		}
		out->buf[o++] = '\0';
		out->ntok++;
	}
	return 0;
}

int ig_read_file(const char *path, size_t max, char **buf, size_t *len)
{
	size_t cap = 8192, n = 0;
	char *b = NULL;
	struct stat st;
	int fd, ret;

	fd = open(path, O_RDONLY | O_CLOEXEC | O_NOCTTY);
	if (fd < 0)
		return -errno;
	if (fstat(fd, &st) < 0) {
		ret = -errno;
		goto fail;
	}
	if (S_ISDIR(st.st_mode)) {
		ret = -EISDIR;
		goto fail;
	}
	for (;;) {
		ssize_t r;

		if (!b || n + 1 >= cap) {
			char *nb;

			if (b)
				cap *= 2;
			nb = realloc(b, cap);
			if (!nb) {
				ret = -ENOMEM;
				goto fail;
			}
			b = nb;
		}
		r = read(fd, b + n, cap - n - 1);
		if (r < 0) {
			if (errno == EINTR)
				continue;
			ret = -errno;
			goto fail;
		}
		if (r == 0)
			break;
		n += r;
		if (n > max) {
			ret = -EFBIG;
			goto fail;
		}
	}
	close(fd);
	b[n] = '\0';
	*buf = b;
	*len = n;
	return 0;
fail:
	free(b);
	close(fd);
	return ret;
}

bool ig_parse_u32(const char *s, unsigned int *out)
{
	unsigned long v;
	char *end;

	if (*s < '0' || *s > '9')
		return false;
	errno = 0;
	v = strtoul(s, &end, 10);
	if (errno || *end || v > UINT_MAX)
		return false;
	*out = v;
	return true;
}

static int rm_one(const char *path, const struct stat *st, int type, struct FTW *ftw)
{
	(void)st;
	(void)ftw;
	return (type == FTW_DP ? rmdir(path) : unlink(path)) ? -1 : 0;
}

int ig_rmtree(const char *path)
{
	if (access(path, F_OK) && errno == ENOENT)
		return 0;
	return nftw(path, rm_one, 16, FTW_DEPTH | FTW_PHYS) ? -errno : 0;
}
