// SPDX-License-Identifier: GPL-2.0-only
/*
 * libFuzzer target: what iotgate reads from /proc. The input is given as
 * /proc/self/mountinfo to the three readers of the mount table (the
 * superblock of a file in manifest.c, the cgroup v2 root in ifaces.c and in
 * check-kernel), all static: their files are compiled into this target with
 * fopen() of that path answered from the input. The same text is then
 * /proc/devices for the device classes of the interface rules.
 */
#include "fuzz.h"

static const uint8_t *cur;
static size_t cur_len;

static FILE *fuzz_fopen(const char *path, const char *mode)
{
	if (strcmp(path, "/proc/self/mountinfo"))
		return fopen(path, mode);
	/* fmemopen() refuses an empty buffer: /dev/null reads the same. */
	return cur_len ? fmemopen((void *)cur, cur_len, "r") : fopen("/dev/null", "r");
}

#define fopen fuzz_fopen
#include "../../userspace/manifest.c"
#include "../../userspace/ifaces.c"
#define try_load ck_try_load
#include "../../userspace/ctl_checkkernel.c"
#undef try_load
#undef fopen

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	char out[PATH_MAX], *text;
	struct ig_dev_num nums[64];
	struct mnt_devs *mnts = NULL;
	__u64 dev = 0;

	text = malloc(size + 1);
	if (!text)
		abort();
	memcpy(text, data, size);
	text[size] = '\0';
	cur = data;
	cur_len = size;
	/* The mount ids most likely to be in the input: small ones and the first number. */
	for (__u64 id = 0; id < 4; id++)
		mount_dev(id, &dev, NULL);
	mount_dev(strtoull(text, NULL, 10), &dev, NULL);
	/* and the whole table, as the manifest pass reads it */
	if (mount_dev(0, &dev, &mnts) == 0)
		free(mnts);
	if (cgroup2_root(out, sizeof(out)) == 0 && strlen(out) >= sizeof(out))
		abort();
	cgroup2_mount(out, sizeof(out));
	for (const struct ig_dev_class *c = ig_dev_classes; c->name; c++)
		if (ig_dev_class_nums(c, text, nums, 64) > 64)
			abort();
	free(text);
	return 0;
}
