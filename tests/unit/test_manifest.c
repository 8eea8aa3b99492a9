// SPDX-License-Identifier: GPL-2.0-only
#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>
#include <sys/stat.h>
#include <sys/sysmacros.h>
#include <unistd.h>
#include "manifest.h"
#include "test.h"

#define H64 "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855"

static int parse(const char *text, struct ig_manifest *m, struct ig_diag *d)
{
	ig_diag_init(d);
	return ig_manifest_parse("m.sha256", text, strlen(text), m, d);
}

TEST(manifest_sha256sum_format)
{
	struct ig_manifest m;
	struct ig_diag d;

	CHECK(parse("# iotgate-manifest version 12\n" H64 "  /usr/bin/a\n\n# c\n" H64
		    " */usr/bin/b c\n\\" H64 "  /x\\\\y\\nz\n",
		    &m, &d) == 0);
	CHECK(m.version == 12);
	CHECK(m.n == 3);
	if (m.n == 3) {
		CHECK_STR(m.e[0].path, "/usr/bin/a");
		CHECK(m.e[0].line == 2);
		CHECK(m.e[0].digest[0] == 0xe3 && m.e[0].digest[31] == 0x55);
		CHECK_STR(m.e[1].path, "/usr/bin/b c");
		CHECK_STR(m.e[2].path, "/x\\y\nz");
	}
	ig_manifest_free(&m);
	ig_diag_free(&d);
}

TEST(manifest_bad_lines)
{
	struct ig_manifest m;
	struct ig_diag d;
	const char *text = H64
		"  relative/path\n"
		"e3b0c44298fc1c149afbf4c8996fb924  /md5len\n"
		"e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b85g  /badhex\n" H64
		" /one-space\n" H64 "  /dup\n" H64 "  /dup\n"
		"da39a3ee5e6b4b0d3255bfef95601890afd80709  /sha1\n";

	CHECK(parse(text, &m, &d) == -EINVAL);
	CHECK(d.n == 6);
	if (d.n == 6) {
		CHECK_STR(d.msgs[0], "m.sha256:1:67: path must be absolute: 'relative/path'");
		CHECK_STR(d.msgs[1],
			  "m.sha256:2:1: digest has 32 hex digits; only SHA-256 (64) is supported");
		CHECK_STR(d.msgs[2], "m.sha256:3:64: bad hex digit 'g' in digest");
		CHECK_STR(d.msgs[3],
			  "m.sha256:4:65: expected two spaces (or ' *') between digest and path");
		CHECK_STR(d.msgs[4],
			  "m.sha256:7:1: digest has 40 hex digits; only SHA-256 (64) is supported");
		CHECK_STR(d.msgs[5], "m.sha256:6:1: duplicate path '/dup' (first on line 5)");
	}
	CHECK(m.n == 0 && m.e == NULL);
	ig_diag_free(&d);
}

TEST(manifest_bad_header)
{
	struct ig_manifest m;
	struct ig_diag d;

	CHECK(parse("# iotgate-manifest version x\n", &m, &d) == -EINVAL);
	if (d.n == 1)
		CHECK_STR(
			d.msgs[0],
			"m.sha256:1:28: manifest version must be an integer from 0 to 4294967295");
	ig_diag_free(&d);
}

TEST(manifest_verify_accepts_matching_and_rejects_others)
{
	char text[1024];
	const char *good = ig_test_tmpfile("good", "");
	const char *bad = ig_test_tmpfile("bad", "tampered");
	struct ig_verified out[3];
	struct ig_manifest m;
	struct ig_diag d, rej;
	size_t n = 99;
	struct stat st;

	snprintf(text, sizeof(text), H64 "  %s\n" H64 "  %s\n" H64 "  /nonexistent/file\n", good,
		 bad);
	CHECK(parse(text, &m, &d) == 0);
	ig_diag_init(&rej);
	CHECK(ig_manifest_verify(&m, NULL, out, &n, &rej) == 0);
	CHECK(n == 1);
	CHECK(rej.n == 2);
	if (rej.n == 2) {
		CHECK(strstr(rej.msgs[0], "digest differs from manifest line 2") != NULL);
		CHECK(strncmp(rej.msgs[0], bad, strlen(bad)) == 0);
		CHECK_STR(rej.msgs[1],
			  "/nonexistent/file: No such file or directory (manifest line 3)");
	}
	CHECK(stat(good, &st) == 0);
	CHECK(out[0].key.ino == st.st_ino);
	CHECK(out[0].val.ctime_sec == st.st_ctim.tv_sec);
	CHECK(out[0].val.ctime_nsec == (unsigned int)st.st_ctim.tv_nsec);
	CHECK(out[0].val.digest[0] == 0xe3);
	ig_manifest_free(&m);
	ig_diag_free(&d);
	ig_diag_free(&rej);
}

/* Lazy: the identity from one statx of the path is the full pass's; nothing hashed. */
TEST(manifest_prepare_lazy_same_identity_as_full)
{
	char text[1024];
	const char *f = ig_test_tmpfile("lazyid", "not the empty file's content");
	struct ig_verified full[2], lazy[2];
	struct ig_manifest m;
	struct ig_diag d, rej;
	size_t nf = 99, nl = 99;

	snprintf(text, sizeof(text), H64 "  %s\n" H64 "  /tmp\n", f);
	CHECK(parse(text, &m, &d) == 0);
	ig_diag_init(&rej);
	/* the digest differs: the full pass rejects what lazy lists for the kernel to judge */
	CHECK(ig_manifest_prepare(&m, NULL, false, full, &nf, &rej) == 0);
	CHECK(nf == 0);
	ig_diag_free(&rej);
	ig_diag_init(&rej);
	CHECK(ig_manifest_prepare(&m, NULL, true, lazy, &nl, &rej) == 0);
	CHECK(nl == 1);
	CHECK(rej.n == 1); /* a directory is still no file */
	ig_diag_free(&rej);
	if (nl == 1) {
		struct ig_file_key key;
		struct ig_file_val val;
		int fd = open(f, O_RDONLY);

		CHECK(fd >= 0);
		CHECK(ig_file_identity(fd, &key, &val) == 0);
		close(fd);
		CHECK(lazy[0].key.dev == key.dev);
		CHECK(lazy[0].key.ino == key.ino);
		CHECK(lazy[0].val.ctime_sec == val.ctime_sec);
		CHECK(lazy[0].val.ctime_nsec == val.ctime_nsec);
		CHECK(lazy[0].val.flags & IG_FILE_F_UNAPPRAISED);
		CHECK(lazy[0].val.digest[0] == 0xe3); /* the manifest's, for the kernel */
	}
	ig_manifest_free(&m);
	ig_diag_free(&d);
}

TEST(manifest_rejects_non_regular)
{
	struct ig_verified out[1];
	struct ig_manifest m;
	struct ig_diag d, rej;
	size_t n;

	CHECK(parse(H64 "  /tmp\n", &m, &d) == 0);
	ig_diag_init(&rej);
	CHECK(ig_manifest_verify(&m, NULL, out, &n, &rej) == 0);
	CHECK(n == 0);
	if (rej.n == 1)
		CHECK_STR(rej.msgs[0], "/tmp: not a regular file (a directory; manifest line 1)");
	ig_manifest_free(&m);
	ig_diag_free(&d);
	ig_diag_free(&rej);
}

TEST(file_identity_uses_superblock_dev)
{
	struct ig_file_key key;
	struct ig_file_val val;
	const char *p = ig_test_tmpfile("id", "x");
	struct stat st;
	int fd = open(p, O_RDONLY);

	CHECK(fd >= 0);
	CHECK(ig_file_identity(fd, &key, &val) == 0);
	CHECK(fstat(fd, &st) == 0);
	/* On a plain filesystem the mount's dev equals st_dev, in kernel encoding. */
	CHECK(key.dev == ((__u64)major(st.st_dev) << 20 | minor(st.st_dev)));
	CHECK(key.ino == st.st_ino);
	close(fd);
}
