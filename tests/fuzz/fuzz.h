/* SPDX-License-Identifier: GPL-2.0-only */
/*
 * Helpers shared by the libFuzzer targets (tests/fuzz/README.md).
 *
 * The parsers under test read files by path, so a target writes parts of its
 * input into a private directory on tmpfs (/dev/shm/iotgate-fuzz.PID) and
 * hands the paths over. An input is split into parts at the separator line
 * FUZZ_SEP, so the seed corpus stays readable text.
 */
#ifndef IG_FUZZ_H
#define IG_FUZZ_H

#include <errno.h>
#include <fcntl.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <sys/stat.h>

#define FUZZ_SEP "\n--8<--\n"

static char fuzz_dir_buf[64];

static void fuzz_dir_rm(void)
{
	char cmd[128];

	snprintf(cmd, sizeof(cmd), "rm -rf '%s'", fuzz_dir_buf);
	if (system(cmd) != 0)
		fprintf(stderr, "fuzz: cannot remove %s\n", fuzz_dir_buf);
}

/* The target's scratch directory, made once per process and removed at exit. */
static inline const char *fuzz_dir(void)
{
	if (!fuzz_dir_buf[0]) {
		snprintf(fuzz_dir_buf, sizeof(fuzz_dir_buf), "/dev/shm/iotgate-fuzz.%d",
			 (int)getpid());
		if (mkdir(fuzz_dir_buf, 0700) && errno != EEXIST) {
			perror(fuzz_dir_buf);
			abort();
		}
		atexit(fuzz_dir_rm);
	}
	return fuzz_dir_buf;
}

/* fuzz_dir()/name, into buf. */
static inline const char *fuzz_path(char *buf, size_t size, const char *name)
{
	snprintf(buf, size, "%s/%s", fuzz_dir(), name);
	return buf;
}

/* Writes len bytes to path (replacing it); NULL data: the file is removed. */
static inline void fuzz_write(const char *path, const void *data, size_t len)
{
	int fd;

	unlink(path);
	if (!data)
		return;
	fd = open(path, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
	if (fd < 0 || (len && write(fd, data, len) != (ssize_t)len)) {
		perror(path);
		abort();
	}
	close(fd);
}

struct fuzz_part {
	const uint8_t *p;
	size_t len;
	int present;
};

/* Splits data at FUZZ_SEP into at most n parts; returns how many there were. */
static inline size_t fuzz_split(const uint8_t *data, size_t size, struct fuzz_part *parts, size_t n)
{
	size_t k = 0, sl = strlen(FUZZ_SEP);

	memset(parts, 0, n * sizeof(*parts));
	while (k < n) {
		const uint8_t *s = size >= sl ? memmem(data, size, FUZZ_SEP, sl) : NULL;

		parts[k].p = data;
		parts[k].present = 1;
		if (!s || k == n - 1) {
			parts[k++].len = size;
			break;
		}
		parts[k++].len = (size_t)(s - data);
		size -= (size_t)(s - data) + sl;
		data = s + sl;
	}
	return k;
}

/* A heap copy of exactly len bytes (no terminator), so ASan sees any over-read. */
static inline char *fuzz_dup(const void *p, size_t len)
{
	char *b = malloc(len ? len : 1);

	if (!b)
		abort();
	if (len)
		memcpy(b, p, len);
	return b;
}

#endif
