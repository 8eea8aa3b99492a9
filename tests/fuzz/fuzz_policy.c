// SPDX-License-Identifier: GPL-2.0-only
/*
 * libFuzzer target: the policy file (iotgate.conf(5)) with its interface and
 * device rules, then the rule compiler on what parsed. Program paths and
 * device nodes resolve to identities derived from the path (some missing,
 * some not measured); the /proc/devices text is the input's second part.
 */
#include "fuzz.h"
#include "lex.h"
#include "netpolicy.h"
#include "policy.h"

static unsigned int path_hash(const char *s)
{
	unsigned int h = 2166136261u;

	for (; *s; s++)
		h = (h ^ (unsigned char)*s) * 16777619u;
	return h;
}

static int res_program(void *ctx, const char *path, struct ig_file_key *key, int64_t *csec,
		       uint32_t *cnsec, bool *measured)
{
	unsigned int h = path_hash(path);

	(void)ctx;
	if (h % 7 == 0)
		return -ENOENT;
	key->dev = h & 0xff;
	key->ino = h >> 4;
	*csec = h;
	*cnsec = h % 1000000000u;
	*measured = h % 5 != 0;
	return 0;
}

static int res_devnode(void *ctx, const char *path, unsigned int *type, unsigned int *major,
		       unsigned int *minor)
{
	unsigned int h = path_hash(path);

	(void)ctx;
	if (h % 6 == 0)
		return -ENOENT;
	if (h % 6 == 1)
		return -ENOTBLK;
	*type = h & 1 ? IG_DEV_CHAR : IG_DEV_BLOCK;
	*major = (h >> 1) & 0xfff;
	*minor = (h >> 13) & 0xfffff;
	return 0;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct fuzz_part part[2];
	struct ig_policy p;
	struct ig_diag d;
	char *buf, *devs = NULL;

	fuzz_split(data, size, part, 2);
	buf = fuzz_dup(part[0].p, part[0].len);
	if (part[1].present) {
		devs = malloc(part[1].len + 1);
		if (!devs)
			abort();
		memcpy(devs, part[1].p, part[1].len);
		devs[part[1].len] = '\0';
	}
	ig_diag_init(&d);
	if (ig_policy_parse("fuzz.conf", buf, part[0].len, "/etc/iotgate", &p, &d) == 0) {
		struct ig_np_resolver res = { res_program, res_devnode, devs, NULL };
		struct ig_np_compiled c;
		struct ig_diag err, notes;
		static const uint8_t mac[6] = { 2, 0, 0, 0, 0, 1 };

		ig_diag_init(&err);
		ig_diag_init(&notes);
		if (ig_netpolicy_compile(p.net, "fuzz.conf", &res, &c, &err, &notes) == 0) {
			for (size_t i = 0; i < c.nsets; i++)
				if (c.sets[i].n > IG_RULES_MAX || c.sets[i].nspec > c.sets[i].n)
					abort();
			ig_np_compiled_free(&c);
		}
		if (p.net) {
			ig_netpolicy_target(p.net, ig_netpolicy_iface(p.net, "eth0", mac));
			ig_netpolicy_target(p.net, ig_netpolicy_iface(p.net, "wlan0", NULL));
		}
		free(ig_diag_join(&err));
		free(ig_diag_join(&notes));
		ig_diag_free(&err);
		ig_diag_free(&notes);
		ig_policy_free(&p);
	}
	free(ig_diag_join(&d));
	ig_diag_free(&d);
	free(devs);
	free(buf);
	return 0;
}
