// SPDX-License-Identifier: GPL-2.0-only
#include <errno.h>
#include <stdlib.h>
#include "iotgate.h"
#include "lex.h"
#include "policy.h"
#include "test.h"

static int parse(const char *text, struct ig_policy *p, struct ig_diag *d)
{
	ig_diag_init(d);
	return ig_policy_parse("p.conf", text, strlen(text), "/etc/iotgate", p, d);
}

TEST(policy_minimal)
{
	struct ig_policy p;
	struct ig_diag d;

	CHECK(parse("# comment\nversion 7\nmode enforce\nmanifest m.sha256 # trailing\n", &p, &d) ==
	      0);
	CHECK(d.n == 0);
	CHECK(p.version == 7);
	CHECK(p.mode == IG_MODE_ENFORCE);
	CHECK_STR(p.manifest, "/etc/iotgate/m.sha256");
	ig_policy_free(&p);
	ig_diag_free(&d);
}

TEST(policy_absolute_and_quoted_manifest)
{
	struct ig_policy p;
	struct ig_diag d;

	CHECK(parse("mode audit\nmanifest \"/var/lib/my dir/m\"\n", &p, &d) == 0);
	CHECK(p.mode == IG_MODE_AUDIT);
	CHECK(p.version == 0);
	CHECK_STR(p.manifest, "/var/lib/my dir/m");
	ig_policy_free(&p);
	ig_diag_free(&d);
}

TEST(policy_reports_every_error_with_position)
{
	struct ig_policy p;
	struct ig_diag d;

	CHECK(parse("mode enforcing\nversion -1\nfrobnicate yes\nmanifest\nmode audit\n", &p, &d) ==
	      -EINVAL);
	CHECK(d.n == 5);
	if (d.n == 5) {
		CHECK_STR(d.msgs[0],
			  "p.conf:1:6: unknown mode 'enforcing' (expected 'enforce' or 'audit')");
		CHECK_STR(d.msgs[1],
			  "p.conf:2:9: version must be an integer from 0 to 4294967295, not '-1'");
		CHECK_STR(d.msgs[2], "p.conf:3:1: unknown directive 'frobnicate'");
		CHECK_STR(d.msgs[3], "p.conf:4:10: missing argument: usage is 'manifest PATH'");
		CHECK_STR(d.msgs[4], "p.conf:5:1: 'mode' given again (first on line 1)");
	}
	CHECK(p.manifest == NULL);
	ig_diag_free(&d);
}

TEST(policy_missing_directives)
{
	struct ig_policy p;
	struct ig_diag d;

	CHECK(parse("version 1\n", &p, &d) == -EINVAL);
	CHECK(d.n == 2);
	if (d.n == 2) {
		CHECK_STR(d.msgs[0], "p.conf:2:1: missing 'mode enforce|audit' directive");
		CHECK_STR(d.msgs[1], "p.conf:2:1: missing 'manifest PATH' directive");
	}
	ig_diag_free(&d);
}

TEST(policy_lexical_errors)
{
	struct ig_policy p;
	struct ig_diag d;

	CHECK(parse("mode audit\nmanifest \"/x\n", &p, &d) == -EINVAL);
	CHECK(d.n >= 1);
	if (d.n >= 1)
		CHECK_STR(d.msgs[0], "p.conf:2:10: unterminated quoted string");
	ig_diag_free(&d);
	CHECK(parse("mode audit extra\nmanifest /m\n", &p, &d) == -EINVAL);
	if (d.n >= 1)
		CHECK_STR(d.msgs[0],
			  "p.conf:1:12: unexpected 'extra': usage is 'mode enforce|audit'");
	ig_diag_free(&d);
}

TEST(policy_load_missing_file)
{
	struct ig_policy p;
	struct ig_diag d;

	ig_diag_init(&d);
	CHECK(ig_policy_load("/nonexistent/iotgate.conf", &p, &d) == -ENOENT);
	CHECK(d.n == 1);
	if (d.n == 1)
		CHECK_STR(
			d.msgs[0],
			"/nonexistent/iotgate.conf: cannot read policy: No such file or directory");
	ig_diag_free(&d);
}

TEST(policy_load_resolves_relative_to_file)
{
	const char *path = ig_test_tmpfile("rel.conf", "mode audit\nmanifest sub/m.sha256\n");
	struct ig_policy p;
	struct ig_diag d;
	char *want;

	ig_diag_init(&d);
	CHECK(ig_policy_load(path, &p, &d) == 0);
	CHECK(asprintf(&want, "%.*s/sub/m.sha256", (int)(strrchr(path, '/') - path), path) > 0);
	CHECK_STR(p.manifest, want);
	free(want);
	ig_policy_free(&p);
	ig_diag_free(&d);
}

TEST(lex_columns_and_escapes)
{
	struct ig_line l;
	const char *err = NULL;
	const char *in = "  a \"b \\\" c\"\tdd # x";

	CHECK(ig_lex_line(in, strlen(in), &l, &err) == 0);
	CHECK(l.ntok == 3);
	CHECK_STR(l.tok[0].s, "a");
	CHECK(l.tok[0].col == 3);
	CHECK_STR(l.tok[1].s, "b \" c");
	CHECK(l.tok[1].col == 5);
	CHECK_STR(l.tok[2].s, "dd");
	CHECK(l.tok[2].col == 14);
}

TEST(parse_u32_bounds)
{
	unsigned int v;

	CHECK(ig_parse_u32("0", &v) && v == 0);
	CHECK(ig_parse_u32("4294967295", &v) && v == 4294967295u);
	CHECK(!ig_parse_u32("4294967296", &v));
	CHECK(!ig_parse_u32("-1", &v));
	CHECK(!ig_parse_u32("12a", &v));
	CHECK(!ig_parse_u32("", &v));
	CHECK(!ig_parse_u32(" 1", &v));
}

TEST(policy_hash_limits)
{
	struct ig_policy p;
	struct ig_diag d;

	CHECK(parse("mode audit\nmanifest m\n", &p, &d) == 0);
	CHECK(p.hash_limits.max_file == IG_HASH_MAX_FILE_DEFAULT);
	CHECK(p.hash_limits.max_total == IG_HASH_MAX_TOTAL_DEFAULT);
	CHECK(p.hash_limits.timeout == IG_HASH_TIMEOUT_DEFAULT);
	ig_policy_free(&p);
	ig_diag_free(&d);
	CHECK(parse("mode audit\nmanifest m\nhash-limits 512M 2T 60\n", &p, &d) == 0);
	CHECK(p.hash_limits.max_file == 512ull << 20);
	CHECK(p.hash_limits.max_total == 2ull << 40);
	CHECK(p.hash_limits.timeout == 60);
	ig_policy_free(&p);
	ig_diag_free(&d);
	CHECK(parse("mode audit\nmanifest m\nhash-limits 1X 2G 60\nhash-limits 1G 1M 5\n"
		    "hash-limits 1K 1K 0\n",
		    &p, &d) == -EINVAL);
	CHECK(d.n == 3);
	if (d.n == 3) {
		CHECK_STR(d.msgs[0],
			  "p.conf:3:13: expected a size such as 512M (K, M, G, T), not '1X'");
		CHECK_STR(d.msgs[1], "p.conf:4:1: 'hash-limits' given again (first on line 3)");
		CHECK_STR(d.msgs[2], "p.conf:5:1: 'hash-limits' given again (first on line 3)");
	}
	ig_diag_free(&d);
	CHECK(parse("mode audit\nmanifest m\nhash-limits 1G 1M 5\n", &p, &d) == -EINVAL);
	if (d.n == 1)
		CHECK_STR(d.msgs[0], "p.conf:3:16: total size is smaller than the file size");
	ig_diag_free(&d);
	CHECK(parse("mode audit\nmanifest m\nhash-limits 1K 99999999999999999T 0\n", &p, &d) ==
	      -EINVAL);
	if (d.n == 1)
		CHECK_STR(
			d.msgs[0],
			"p.conf:3:16: expected a size such as 16G (K, M, G, T), not '99999999999999999T'");
	ig_diag_free(&d);
	CHECK(parse("mode audit\nmanifest m\nhash-limits 1K 1K 0\n", &p, &d) == -EINVAL);
	if (d.n == 1)
		CHECK_STR(d.msgs[0], "p.conf:3:19: expected seconds from 1 to 4294967295, not '0'");
	ig_diag_free(&d);
}

TEST(policy_allow_memfd_names_program_and_name)
{
	struct ig_policy p;
	struct ig_diag d;

	CHECK(parse("mode audit\nmanifest m\nallow-memfd /usr/bin/a jit\nallow-memfd /usr/bin/b jit\n"
		    "allow-memfd /usr/bin/b x\n",
		    &p, &d) == 0);
	CHECK(p.nmemfd == 2 && p.nmemfd_progs == 2);
	if (p.nmemfd == 2 && p.nmemfd_progs == 2) {
		CHECK_STR(p.memfd[0], "jit");
		CHECK(p.memfd_mask[0] == 3); /* /usr/bin/a and /usr/bin/b */
		CHECK_STR(p.memfd[1], "x");
		CHECK(p.memfd_mask[1] == 2); /* /usr/bin/b only */
		CHECK_STR(p.memfd_progs[1], "/usr/bin/b");
	}
	ig_policy_free(&p);
	ig_diag_free(&d);

	CHECK(parse("mode audit\nmanifest m\nallow-memfd jit\nallow-memfd bin/a jit\nallow-memfd /a a/b\n"
		    "allow-memfd /a j\nallow-memfd /a j\n",
		    &p, &d) == -EINVAL);
	CHECK(d.n == 4);
	if (d.n == 4) {
		CHECK_STR(d.msgs[0],
			  "p.conf:3:13: missing argument: usage is 'allow-memfd PROGRAM NAME'");
		CHECK_STR(d.msgs[1],
			  "p.conf:4:13: program must be an absolute path, as in the manifest");
		CHECK_STR(d.msgs[2],
			  "p.conf:5:16: memfd name must be 1 to 63 characters without '/'");
		CHECK_STR(d.msgs[3], "p.conf:7:13: allow-memfd /a j given twice");
	}
	ig_diag_free(&d);
}
