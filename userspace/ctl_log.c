// SPDX-License-Identifier: GPL-2.0-only
/*
 * iotgatectl log [verify]: print the measurement log (IMA ima-ng ASCII) or
 * recompute its template hashes and aggregate. Reads the files directly, so
 * it works without the daemon and on copies of a device's log. By default
 * the list since boot: the archived files of this boot, oldest first, then
 * the current one (measlog.h).
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <json-c/json.h>
#include "ctl.h"
#include "hash.h"
#include "measlog.h"

#define MAX_FILES 16

struct log_opts {
	const char *files[MAX_FILES];
	size_t n;
	const char *dir;
	const char *aggregate;
	bool annotate;
};

static void usage_log(void)
{
	printf("Usage: iotgatectl [--json] log [--annotate] [--dir DIR | --file PATH...]\n"
	       "Print the measurement log in IMA's ima-ng ASCII format, one entry per line,\n"
	       "exactly as written (what Keylime and other IMA verifiers read):\n"
	       "  10 <template-hash> ima-ng sha256:<digest> <name>\n"
	       "By default the list since boot: DIR/measurements.N ... .1 (the archived files\n"
	       "of this boot, oldest first), then DIR/measurements.\n"
	       "  --dir DIR    the log directory (default %s)\n"
	       "  --file PATH  one log file instead; give it more than once to print\n"
	       "               consecutive files, oldest first (PATH.1, PATH)\n"
	       "  --annotate   for people: append '  (unknown: not in the manifest)' to the\n"
	       "               entries of files outside the manifest (audit mode); such lines\n"
	       "               are no longer ima-ng\n"
	       "  --json       an array of {pcr, template_hash, template, digest, path, unknown}\n"
	       "See 'iotgatectl log verify --help' to check the aggregate.\n",
	       IG_MEASLOG_DIR);
}

static void usage_verify(void)
{
	printf("Usage: iotgatectl [--json] log verify [--dir DIR | --file PATH...] [--aggregate HEX]\n"
	       "Recompute every template hash and the running SHA-256 aggregate (extended like\n"
	       "PCR 10), compare with PATH.chain if present, and name the first entry that\n"
	       "does not match:\n"
	       "  ok: N entries, aggregate <hex>     (exit 0)\n"
	       "  PATH:LINE: <reason>                (exit 1)\n"
	       "  --dir DIR        the log directory (default %s): the list since boot\n"
	       "  --file PATH      one log file instead; give it more than once to verify\n"
	       "                   consecutive files, oldest first: a rotated file must\n"
	       "                   continue the previous one (PATH.base)\n"
	       "  --aggregate HEX  the final aggregate must equal HEX (e.g. the daemon's)\n",
	       IG_MEASLOG_DIR);
}

static bool want_help(int argc, char **argv)
{
	for (int i = 0; i < argc; i++)
		if (!strcmp(argv[i], "--help") || !strcmp(argv[i], "-h"))
			return true;
	return false;
}

/* Does the file begin with the boot_aggregate entry? */
static bool begins_boot(const char *path)
{
	char line[256];
	FILE *f = fopen(path, "re");
	bool ret = false;

	if (f && fgets(line, sizeof(line), f))
		ret = strlen(line) > 16 &&
		      !strcmp(line + strlen(line) - 16, " " IG_MEASLOG_BOOT_NAME "\n");
	if (f)
		fclose(f);
	return ret;
}

/*
 * The files of the current boot, oldest first: DIR/measurements and its
 * archives back to the one that begins with boot_aggregate. Says so on
 * stderr if that one was dropped (the list then starts after entry 0).
 */
static void boot_files(struct log_opts *o)
{
	static char paths[IG_MEASLOG_KEEP + 1][4096];
	const char *rev[IG_MEASLOG_KEEP + 1];
	size_t n = 0;

	for (unsigned int i = 0; i <= IG_MEASLOG_KEEP; i++) {
		if (i)
			snprintf(paths[i], sizeof(paths[i]), "%s/" IG_MEASLOG_FILE ".%u", o->dir,
				 i);
		else
			snprintf(paths[i], sizeof(paths[i]), "%s/" IG_MEASLOG_FILE, o->dir);
		if (i && access(paths[i], F_OK))
			break;
		rev[n++] = paths[i];
		if (begins_boot(paths[i]))
			break;
	}
	if (n && !begins_boot(rev[n - 1]) && !access(rev[n - 1], F_OK))
		fprintf(stderr,
			"note: the archive that began this boot was dropped; the list starts at "
			"%s (see its .base)\n",
			rev[n - 1]);
	for (size_t i = 0; i < n; i++)
		o->files[i] = rev[n - 1 - i];
	o->n = n;
}

static int parse_opts(const char *cmd, int argc, char **argv, int i, bool verify,
		      struct log_opts *o)
{
	o->dir = IG_MEASLOG_DIR;
	for (; i < argc; i++) {
		const char *a = argv[i], *v = NULL;
		int kind = 0; /* 0 aggregate, 1 file, 2 dir */

		if (!strcmp(a, "--annotate") && !verify) {
			o->annotate = true;
			continue;
		}
		if (!strcmp(a, "--file") || !strcmp(a, "-f") || !strcmp(a, "--aggregate") ||
		    !strcmp(a, "--dir")) {
			if (i + 1 >= argc)
				return fail("%s: %s needs an argument", cmd, a);
			kind = !strcmp(a, "--dir") ? 2 : strcmp(a, "--aggregate") ? 1 : 0;
			v = argv[++i];
		} else if (!strncmp(a, "--file=", 7)) {
			kind = 1;
			v = a + 7;
		} else if (!strncmp(a, "--dir=", 6)) {
			kind = 2;
			v = a + 6;
		} else if (!strncmp(a, "--aggregate=", 12)) {
			v = a + 12;
		} else {
			return fail("%s: unexpected argument '%s' (try 'iotgatectl %s --help')",
				    cmd, a, cmd);
		}
		if (kind == 2) {
			o->dir = v;
		} else if (kind == 1) {
			if (o->n == MAX_FILES)
				return fail("%s: at most %d files", cmd, MAX_FILES);
			o->files[o->n++] = v;
		} else if (verify) {
			o->aggregate = v;
		} else {
			return fail("%s: --aggregate belongs to 'log verify'", cmd);
		}
	}
	if (!o->n)
		boot_files(o);
	return 0;
}

static void report(const struct ig_measlog_verify_result *res)
{
	char where[sizeof(res->file) + 16];

	if (res->line)
		snprintf(where, sizeof(where), "%s:%u", res->file, res->line);
	else
		snprintf(where, sizeof(where), "%s", res->file);
	if (json_mode) {
		struct json_object *o = json_object_new_object();
		char msg[sizeof(where) + sizeof(res->reason) + 4];

		snprintf(msg, sizeof(msg), "%s: %s", where, res->reason);
		json_object_object_add(o, "ok", json_object_new_boolean(false));
		json_object_object_add(o, "error", json_object_new_string(msg));
		json_object_object_add(o, "file", json_object_new_string(res->file));
		json_object_object_add(o, "line", json_object_new_int64(res->line));
		json_object_object_add(o, "reason", json_object_new_string(res->reason));
		json_object_object_add(o, "entries", json_object_new_int64(res->entries));
		printf("%s\n", json_object_to_json_string_ext(o, JSON_C_TO_STRING_PLAIN));
		json_object_put(o);
	} else {
		fprintf(stderr, "%s: %s\n", where, res->reason);
	}
}

static int cmd_verify(const struct log_opts *o)
{
	struct ig_measlog_verify_result res;
	uint8_t want[IG_SHA256_LEN];
	char hex[IG_SHA256_HEX + 1];

	if (o->aggregate &&
	    (strlen(o->aggregate) != IG_SHA256_HEX || ig_unhex(o->aggregate, IG_SHA256_LEN, want)))
		return fail("log verify: --aggregate needs %d hex digits", IG_SHA256_HEX);
	if (ig_measlog_verify_files(o->files, o->n, o->aggregate ? want : NULL, &res)) {
		report(&res);
		return 1;
	}
	ig_hex(res.aggregate, IG_SHA256_LEN, hex);
	if (json_mode) {
		struct json_object *j = json_object_new_object();

		json_object_object_add(j, "ok", json_object_new_boolean(true));
		json_object_object_add(j, "entries", json_object_new_int64(res.entries));
		json_object_object_add(j, "first_entry", json_object_new_int64(res.first));
		json_object_object_add(j, "aggregate", json_object_new_string(hex));
		printf("%s\n", json_object_to_json_string_ext(j, JSON_C_TO_STRING_PLAIN));
		json_object_put(j);
	} else {
		printf("ok: %llu entries, aggregate %s\n", res.entries, hex);
	}
	return 0;
}

static struct json_object *entry_json(const struct ig_measlog_entry *e)
{
	struct json_object *o = json_object_new_object();
	char hex[IG_SHA256_HEX + 1], digest[sizeof("sha256:") + IG_SHA256_HEX];

	ig_hex(e->template_hash, IG_SHA256_LEN, hex);
	json_object_object_add(o, "pcr", json_object_new_int(IG_MEASLOG_PCR));
	json_object_object_add(o, "template_hash", json_object_new_string(hex));
	json_object_object_add(o, "template", json_object_new_string("ima-ng"));
	ig_hex(e->digest, IG_SHA256_LEN, hex);
	snprintf(digest, sizeof(digest), "sha256:%s", hex);
	json_object_object_add(o, "digest", json_object_new_string(digest));
	json_object_object_add(o, "path", json_object_new_string(e->name));
	json_object_object_add(o, "unknown", json_object_new_boolean(e->unknown));
	return o;
}

static int cmd_print(const struct log_opts *o)
{
	struct json_object *arr = json_mode ? json_object_new_array() : NULL;
	static char line[IG_MEASLOG_LINE_MAX];
	int ret = 0;

	for (size_t f = 0; f < o->n && !ret; f++) {
		struct ig_measlog_verify_result res;
		struct ig_measlog_entry *v;
		size_t n;

		ret = ig_measlog_read(o->files[f], &v, &n, &res);
		for (size_t i = 0; i < n; i++) {
			size_t len;

			if (arr) {
				json_object_array_add(arr, entry_json(&v[i]));
				continue;
			}
			len = ig_measlog_format(line, v[i].template_hash, v[i].digest, v[i].name);
			if (v[i].unknown && o->annotate)
				printf("%.*s  (unknown: not in the manifest)\n", (int)len - 1,
				       line);
			else
				fputs(line, stdout);
		}
		ig_measlog_entries_free(v, n);
		if (ret) {
			fflush(stdout);
			report(&res);
		}
	}
	if (arr) {
		if (!ret)
			printf("%s\n",
			       json_object_to_json_string_ext(
				       arr, JSON_C_TO_STRING_PRETTY | JSON_C_TO_STRING_SPACED));
		json_object_put(arr);
	}
	return ret ? 1 : 0;
}

int ctl_log(int argc, char **argv)
{
	struct log_opts o = { 0 };
	bool verify = argc > 1 && !strcmp(argv[1], "verify");

	if (want_help(argc, argv)) {
		if (verify)
			usage_verify();
		else
			usage_log();
		return 0;
	}
	if (parse_opts(verify ? "log verify" : "log", argc, argv, verify ? 2 : 1, verify, &o))
		return 1;
	return verify ? cmd_verify(&o) : cmd_print(&o);
}
