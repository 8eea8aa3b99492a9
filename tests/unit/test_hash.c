// SPDX-License-Identifier: GPL-2.0-only
#include <fcntl.h>
#include <unistd.h>
#include <stdlib.h>
#include "diag.h"
#include "hash.h"
#include "test.h"

TEST(sha256_known_vectors)
{
	uint8_t d[IG_SHA256_LEN];
	char hex[IG_SHA256_HEX + 1];

	ig_sha256_buf("abc", 3, d);
	ig_hex(d, sizeof(d), hex);
	CHECK_STR(hex, "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad");
}

TEST(sha256_fd_and_parallel_files)
{
	const char *a = ig_test_tmpfile("ha", "abc");
	const char *b = ig_test_tmpfile("hb", "");
	struct ig_hash_job jobs[3] = { { .path = a }, { .path = b }, { .path = "/nonexistent" } };
	char hex[IG_SHA256_HEX + 1];

	ig_hash_files(jobs, 3, 4);
	CHECK(jobs[0].err == 0);
	ig_hex(jobs[0].digest, IG_SHA256_LEN, hex);
	CHECK_STR(hex, "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad");
	ig_hex(jobs[1].digest, IG_SHA256_LEN, hex);
	CHECK_STR(hex, "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855");
	CHECK(jobs[2].err < 0);
}

TEST(unhex_reports_position)
{
	uint8_t out[2];

	CHECK(ig_unhex("abCD", 2, out) == 0 && out[0] == 0xab && out[1] == 0xcd);
	CHECK(ig_unhex("abxd", 2, out) == 3);
	CHECK(ig_unhex("zbcd", 2, out) == 1);
}

TEST(diag_formats)
{
	struct ig_diag d;
	char *all;

	ig_diag_init(&d);
	ig_diag_add(&d, "f", 3, 4, "bad %s", "thing");
	ig_diag_add(&d, "g", 0, 0, "whole file");
	all = ig_diag_join(&d);
	CHECK_STR(all, "f:3:4: bad thing\ng: whole file");
	free(all);
	ig_diag_free(&d);
}
