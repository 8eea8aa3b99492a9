// SPDX-License-Identifier: GPL-2.0-only
/*
 * ig_manifest_verify against the attacks on it (issue 13): a manifest entry
 * swapped between files while it runs, FIFOs and devices at the path, files
 * too large to hash and hashing that takes too long.
 */
#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <signal.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <sys/stat.h>
#include <unistd.h>
#include "hash.h"
#include "isolate.h"
#include "manifest.h"
#include "test.h"

#define RACE_ROUNDS 10000

/* A manifest of one entry, `path`, that must have the content `good`. */
static int manifest_for(const char *path, const char *good, struct ig_manifest *m)
{
	char hex[IG_SHA256_HEX + 1], text[1024];
	uint8_t d[IG_SHA256_LEN];
	struct ig_diag diag;
	int ret;

	ig_sha256_buf(good, strlen(good), d);
	ig_hex(d, sizeof(d), hex);
	snprintf(text, sizeof(text), "%s  %s\n", hex, path);
	ig_diag_init(&diag);
	ret = ig_manifest_parse("m", text, strlen(text), m, &diag);
	ig_diag_free(&diag);
	return ret;
}

struct swapper {
	const char *link, *tmp;
	const char *target[2];
	bool fifo; /* target[1] is made a FIFO instead of a symlink */
	atomic_bool stop;
	unsigned long swaps;
};

/* Replaces `link` atomically (rename) with a symlink to each target in turn, or a FIFO. */
static void *swap_loop(void *arg)
{
	struct swapper *s = arg;

	for (unsigned long i = 0; !atomic_load(&s->stop); i++) {
		unlink(s->tmp);
		if (s->fifo && i % 2) {
			if (mkfifo(s->tmp, 0600))
				continue;
		} else if (symlink(s->target[i % 2], s->tmp)) {
			continue;
		}
		if (!rename(s->tmp, s->link))
			s->swaps++;
	}
	return NULL;
}

/*
 * The attack: an unprivileged user's manifest entry is a symlink that they
 * swap between good and evil content while the daemon verifies it. Whatever
 * identity is allowed must have the good content; never the evil file's.
 */
static void race(bool fifo, unsigned int rounds, bool isolated)
{
	const char *good = ig_test_tmpfile("race-good", "good content");
	char goodp[480], evilp[512], link[512], tmp[512];
	struct swapper s = { .fifo = fifo };
	unsigned int allowed = 0, refused = 0;
	struct stat gst, est;
	struct ig_manifest m;
	pthread_t tid;

	snprintf(goodp, sizeof(goodp), "%s", good);
	snprintf(evilp, sizeof(evilp), "%s", ig_test_tmpfile("race-evil", "evil content"));
	snprintf(link, sizeof(link), "%s-link", goodp);
	snprintf(tmp, sizeof(tmp), "%s-tmp", goodp);
	CHECK(stat(goodp, &gst) == 0 && stat(evilp, &est) == 0);
	unlink(link);
	CHECK(symlink(goodp, link) == 0);
	CHECK(manifest_for(link, "good content", &m) == 0);
	s.link = link;
	s.tmp = tmp;
	s.target[0] = goodp;
	s.target[1] = evilp;
	atomic_init(&s.stop, false);
	ig_isolate_set(isolated);
	CHECK(pthread_create(&tid, NULL, swap_loop, &s) == 0);
	for (unsigned int i = 0; i < rounds; i++) {
		struct ig_verified out[1];
		struct ig_diag rej;
		size_t n = 0;

		ig_diag_init(&rej);
		CHECK(ig_manifest_verify(&m, NULL, out, &n, &rej) == 0);
		if (n == 1) {
			allowed++;
			/* The identity allowed is the good file's, and no other. */
			if (out[0].key.ino != gst.st_ino) {
				CHECK(out[0].key.ino == gst.st_ino);
				break;
			}
		} else {
			refused++;
			CHECK(rej.n == 1);
		}
		ig_diag_free(&rej);
	}
	atomic_store(&s.stop, true);
	pthread_join(tid, NULL);
	ig_isolate_set(false);
	CHECK(allowed + refused == rounds);
	/* The loop really swapped while verifying (else the test proves nothing). */
	CHECK(s.swaps > 0);
	printf("     %s%s: %u rounds, %lu swaps, %u allowed (the good file), %u refused\n",
	       fifo ? "fifo" : "symlink", isolated ? " (isolated)" : "", rounds, s.swaps, allowed,
	       refused);
	unlink(link);
	unlink(tmp);
	ig_manifest_free(&m);
}

TEST(verify_symlink_swapped_during_verify_never_allows_other_content)
{
	race(false, RACE_ROUNDS, false);
	race(false, 200, true);
}

TEST(verify_fifo_swapped_in_never_hangs)
{
	/* A FIFO opened for reading would block forever: fail loudly instead. */
	alarm(120);
	race(true, RACE_ROUNDS, false);
	race(true, 200, true);
	alarm(0);
}

TEST(verify_refuses_fifos_devices_and_sockets_without_opening_them)
{
	const char *f = ig_test_tmpfile("fifo", "");
	char text[1024];
	struct ig_verified out[2];
	struct ig_manifest m;
	struct ig_diag d, rej;
	size_t n = 9;

	unlink(f);
	CHECK(mkfifo(f, 0600) == 0);
	snprintf(text, sizeof(text), "%s  %s\n%s  /dev/null\n",
		 "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855", f,
		 "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855");
	ig_diag_init(&d);
	CHECK(ig_manifest_parse("m", text, strlen(text), &m, &d) == 0);
	ig_diag_init(&rej);
	alarm(60);
	CHECK(ig_manifest_verify(&m, NULL, out, &n, &rej) == 0);
	alarm(0);
	CHECK(n == 0);
	CHECK(rej.n == 2);
	if (rej.n == 2) {
		char want[512];

		snprintf(want, sizeof(want), "%s: not a regular file (a FIFO; manifest line 1)", f);
		CHECK_STR(rej.msgs[0], want);
		CHECK_STR(rej.msgs[1],
			  "/dev/null: not a regular file (a character device; manifest line 2)");
	}
	/* Nobody opened the FIFO for reading: a writer finds no reader. */
	CHECK(open(f, O_WRONLY | O_NONBLOCK) < 0 && errno == ENXIO);
	ig_manifest_free(&m);
	ig_diag_free(&d);
	ig_diag_free(&rej);
}

/* A sparse file of `size` bytes, all zero. */
static const char *sparse(const char *name, off_t size)
{
	const char *p = ig_test_tmpfile(name, "");

	if (truncate(p, size))
		return NULL;
	return p;
}

static void verify_one_with(const char *path, const struct ig_hash_limits *lim, struct ig_diag *rej,
			    size_t *n)
{
	char text[1024];
	struct ig_verified out[1];
	struct ig_manifest m;
	struct ig_diag d;

	snprintf(text, sizeof(text), "%s  %s\n",
		 "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855", path);
	ig_diag_init(&d);
	CHECK(ig_manifest_parse("m", text, strlen(text), &m, &d) == 0);
	ig_diag_init(rej);
	CHECK(ig_manifest_verify(&m, lim, out, n, rej) == 0);
	ig_manifest_free(&m);
	ig_diag_free(&d);
}

TEST(verify_refuses_a_file_over_the_size_limit_without_reading_it)
{
	/* 8 TiB of holes (ext4 allows no more): hashing it would take hours. */
	const char *p = sparse("huge", (off_t)1 << 43);
	struct ig_hash_limits lim = { .max_file = 1 << 20, .max_total = 1 << 30, .timeout = 600 };
	struct ig_diag rej;
	size_t n = 9;
	char want[512];

	CHECK(p != NULL);
	alarm(60);
	verify_one_with(p, NULL, &rej, &n); /* the default limit */
	CHECK(n == 0 && rej.n == 1);
	snprintf(
		want, sizeof(want),
		"%s: larger than the 1073741824 bytes hash-limits allows a file (8796093022208; manifest line 1)",
		p);
	if (rej.n == 1)
		CHECK_STR(rej.msgs[0], want);
	ig_diag_free(&rej);
	verify_one_with(p, &lim, &rej, &n);
	CHECK(n == 0 && rej.n == 1);
	ig_diag_free(&rej);
	alarm(0);
}

TEST(verify_total_limit_and_deadline)
{
	const char *a = ig_test_tmpfile("tot-a", "0123456789");
	const char *b = ig_test_tmpfile("tot-b", "abcdefghij");
	const char *slow = sparse("slow", (off_t)1 << 40); /* 1 TiB of holes */
	struct ig_hash_limits lim = { .max_file = 16, .max_total = 15, .timeout = 600 };
	struct ig_verified out[2];
	struct ig_manifest m;
	struct ig_diag d, rej;
	char text[1024];
	size_t n = 9;

	snprintf(text, sizeof(text), "%s  %s\n%s  %s\n",
		 "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855", a,
		 "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855", b);
	ig_diag_init(&d);
	CHECK(ig_manifest_parse("m", text, strlen(text), &m, &d) == 0);
	ig_diag_init(&rej);
	CHECK(ig_manifest_verify(&m, &lim, out, &n, &rej) == 0);
	/* One of the two is over the total; which one depends on the threads. */
	CHECK(rej.n == 2);
	CHECK(rej.n == 2 && (strstr(rej.msgs[0], "exceed the 15 bytes of hash-limits") ||
			     strstr(rej.msgs[1], "exceed the 15 bytes of hash-limits")));
	ig_manifest_free(&m);
	ig_diag_free(&d);
	ig_diag_free(&rej);

	/* Hashing 1 TiB takes minutes on any machine: the 1 s deadline ends it. */
	CHECK(slow != NULL);
	lim = (struct ig_hash_limits){ .max_file = 1ull << 41,
				       .max_total = 1ull << 42,
				       .timeout = 1 };
	alarm(60);
	for (int iso = 0; iso < 2; iso++) {
		char want[512];

		ig_isolate_set(iso);
		verify_one_with(slow, &lim, &rej, &n);
		CHECK(n == 0 && rej.n == 1);
		snprintf(want, sizeof(want),
			 "%s: not hashed within the 1 s of hash-limits (manifest line 1)", slow);
		if (rej.n == 1)
			CHECK_STR(rej.msgs[0], want);
		ig_diag_free(&rej);
	}
	ig_isolate_set(false);
	alarm(0);
}

static void block_forever(void *ctx, size_t i)
{
	(void)ctx;
	(void)i;
	pause();
}

TEST(hash_run_ends_a_child_stuck_past_its_timeout)
{
	/* A read that never returns (hung NFS, FUSE) is stuck like this. */
	alarm(60);
	ig_isolate_set(true);
	CHECK(ig_hash_run(block_forever, NULL, 1, 1, 1) == -ECHILD);
	ig_isolate_set(false);
	alarm(0);
}
