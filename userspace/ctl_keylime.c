// SPDX-License-Identifier: GPL-2.0-only
/*
 * iotgatectl manifest keylime-policy MANIFEST [--boot-aggregate HEX]...:
 * a Keylime runtime policy (keylime/ima/ima.py RUNTIME_POLICY_SCHEMA,
 * version 1) that accepts exactly the manifest's files as iotgate's log
 * names them, so that Keylime takes it without editing: "log_hash_alg" is
 * sha256 (the log's template hashes are SHA-256; Keylime's own generator
 * writes sha1) and "boot_aggregate" holds the digest the log begins with.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <json-c/json.h>
#include "ctl.h"
#include "hash.h"
#include "manifest.h"
#include "measlog.h"

#define MAX_BOOT 16
/* Keylime's RUNTIME_POLICY_GENERATOR.LegacyAllowList, what its own tool writes. */
#define KEYLIME_GENERATOR 3

/* digests[name] gets hex (once). */
static void add_digest(struct json_object *digests, const char *name, const char *hex)
{
	struct json_object *a;

	if (!json_object_object_get_ex(digests, name, &a)) {
		a = json_object_new_array();
		json_object_object_add(digests, name, a);
	}
	for (size_t i = 0; i < json_object_array_length(a); i++)
		if (!strcmp(json_object_get_string(json_object_array_get_idx(a, i)), hex))
			return;
	json_object_array_add(a, json_object_new_string(hex));
}

static struct json_object *policy_json(const struct ig_manifest *m, const char *const *boot,
				       size_t nboot)
{
	struct json_object *p = json_object_new_object(), *meta = json_object_new_object();
	struct json_object *digests = json_object_new_object(), *ima = json_object_new_object();
	char hex[IG_SHA256_HEX + 1], name[IG_MEASLOG_NAME_MAX + 1];

	json_object_object_add(meta, "version", json_object_new_int(1));
	json_object_object_add(meta, "generator", json_object_new_int(KEYLIME_GENERATOR));
	json_object_object_add(p, "meta", meta);
	json_object_object_add(p, "release", json_object_new_int(0));
	for (size_t i = 0; i < nboot; i++)
		add_digest(digests, IG_MEASLOG_BOOT_NAME, boot[i]);
	for (size_t i = 0; i < m->n; i++) {
		/* Manifest paths are absolute and at most PATH_MAX: always a name. */
		if (ig_measlog_name(name, m->e[i].path))
			continue;
		ig_hex(m->e[i].digest, IG_SHA256_LEN, hex);
		add_digest(digests, name, hex);
	}
	json_object_object_add(p, "digests", digests);
	json_object_object_add(p, "excludes", json_object_new_array());
	json_object_object_add(p, "keyrings", json_object_new_object());
	json_object_object_add(ima, "ignored_keyrings", json_object_new_array());
	json_object_object_add(ima, "log_hash_alg", json_object_new_string("sha256"));
	json_object_object_add(ima, "dm_policy", NULL);
	json_object_object_add(p, "ima", ima);
	json_object_object_add(p, "ima-buf", json_object_new_object());
	json_object_object_add(p, "verification-keys", json_object_new_string(""));
	return p;
}

static bool is_lowhex(const char *s)
{
	return strlen(s) == IG_SHA256_HEX && strspn(s, "0123456789abcdef") == IG_SHA256_HEX;
}

int ctl_keylime_policy(int argc, char **argv)
{
	static const char zero_hex[IG_SHA256_HEX + 1] =
		"0000000000000000000000000000000000000000000000000000000000000000";
	const char *boot[MAX_BOOT], *file = NULL;
	struct ig_manifest m;
	struct ig_diag diag;
	struct json_object *p;
	size_t nboot = 0;
	int ret;

	for (int i = 1; i < argc; i++) {
		const char *a = argv[i], *v = NULL;

		if (!strcmp(a, "--boot-aggregate") && i + 1 < argc)
			v = argv[++i];
		else if (!strncmp(a, "--boot-aggregate=", 17))
			v = a + 17;
		else if (!strcmp(a, "--boot-aggregate"))
			return fail("manifest keylime-policy: --boot-aggregate needs an argument");
		else if (!file && a[0] != '-')
			file = a;
		else
			return fail("manifest keylime-policy: unexpected argument '%s'", a);
		if (v && !is_lowhex(v))
			return fail("manifest keylime-policy: --boot-aggregate needs %d lowercase "
				    "hex digits",
				    IG_SHA256_HEX);
		if (v && nboot == MAX_BOOT)
			return fail("manifest keylime-policy: at most %d --boot-aggregate",
				    MAX_BOOT);
		if (v)
			boot[nboot++] = v;
	}
	if (!file)
		return fail("manifest keylime-policy: expected a MANIFEST");
	/* Without a TPM, iotgate's log begins with a zero boot_aggregate. */
	if (!nboot)
		boot[nboot++] = zero_hex;
	ig_diag_init(&diag);
	ret = ig_manifest_load(file, &m, &diag);
	if (ret) {
		for (size_t i = 0; i < diag.n; i++)
			fail("%s", diag.msgs[i]);
		if (!diag.n)
			fail("manifest keylime-policy: %s: %s", file, strerror(-ret));
		ig_diag_free(&diag);
		return 1;
	}
	ig_diag_free(&diag);
	p = policy_json(&m, boot, nboot);
	printf("%s\n",
	       json_object_to_json_string_ext(p, JSON_C_TO_STRING_PRETTY | JSON_C_TO_STRING_SPACED |
							 JSON_C_TO_STRING_NOSLASHESCAPE));
	json_object_put(p);
	ig_manifest_free(&m);
	return 0;
}
