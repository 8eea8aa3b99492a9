// SPDX-License-Identifier: GPL-2.0-only
/*
 * libFuzzer target: the measurement log reader and verifier, and the log as
 * iotgated finds it at start. Parts of the input (FUZZ_SEP): measurements,
 * measurements.chain, measurements.unknown, measurements.1 (the previous
 * log), measurements.state; a missing part is a missing file.
 */
#include <dirent.h>
#include "fuzz.h"
#include "measlog.h"

static const char *const files[] = { "measurements", "measurements.chain", "measurements.unknown",
				     "measurements.1", "measurements.state" };
#define NFILES (sizeof(files) / sizeof(files[0]))

/* Empties the scratch directory (open may rotate, quarantine or leave .new files). */
static void clear_dir(void)
{
	DIR *d = opendir(fuzz_dir());
	struct dirent *e;

	if (!d)
		abort();
	while ((e = readdir(d)))
		if (strcmp(e->d_name, ".") && strcmp(e->d_name, ".."))
			unlinkat(dirfd(d), e->d_name, 0);
	closedir(d);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static const uint8_t digest[IG_SHA256_LEN] = { 1, 2, 3 };
	struct ig_measlog_verify_result res;
	struct fuzz_part part[NFILES];
	struct ig_measlog_entry *e = NULL;
	char log[128], prev[128], path[128];
	const char *both[2];
	struct ig_measlog *l;
	size_t n = 0;

	fuzz_split(data, size, part, NFILES);
	clear_dir();
	for (size_t i = 0; i < NFILES; i++)
		fuzz_write(fuzz_path(path, sizeof(path), files[i]),
			   part[i].present ? part[i].p : NULL, part[i].len);
	fuzz_path(log, sizeof(log), "measurements");
	fuzz_path(prev, sizeof(prev), "measurements.1");

	memset(&res, 0, sizeof(res));
	ig_measlog_read(log, &e, &n, &res);
	ig_measlog_entries_free(e, n);
	memset(&res, 0, sizeof(res));
	ig_measlog_verify(log, NULL, &res);
	memset(&res, 0, sizeof(res));
	ig_measlog_verify(log, digest, &res);
	both[0] = prev;
	both[1] = log;
	memset(&res, 0, sizeof(res));
	ig_measlog_verify_files(both, 2, NULL, &res);

	/* At start: a log that verifies is continued, one that does not is refused. */
	if (ig_measlog_open(&l, fuzz_dir(), 4096) == 0) {
		ig_measlog_add(l, digest, "/usr/bin/fuzz", false);
		ig_measlog_add(l, digest, "/usr/bin/fuzz me\\\n", true);
		ig_measlog_close(l);
		memset(&res, 0, sizeof(res));
		if (ig_measlog_verify(log, NULL, &res))
			abort(); /* what iotgated wrote must verify */
	}
	return 0;
}
