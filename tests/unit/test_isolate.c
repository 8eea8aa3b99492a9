// SPDX-License-Identifier: GPL-2.0-only
/*
 * Isolation (isolate.h): the work runs in a child and gives the same results
 * as inline; failures and crashes of the child come back as errors.
 */
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdlib.h>
#include <unistd.h>
#include <openssl/evp.h>
#include <openssl/pem.h>
#include "diag.h"
#include "hash.h"
#include "isolate.h"
#include "lex.h"
#include "measlog.h"
#include "sig.h"
#include "test.h"

static int report_pid(void *arg)
{
	*(pid_t *)arg = getpid();
	return -EBADMSG;
}

static int die(void *arg)
{
	(void)arg;
	raise(SIGKILL);
	return 0;
}

TEST(isolate_runs_in_a_child_and_passes_errors_back)
{
	pid_t *pid = ig_shared_alloc(sizeof(*pid));

	CHECK(pid != NULL);
	if (!pid)
		return;
	CHECK(ig_isolate(report_pid, pid) == -EBADMSG);
	CHECK(*pid == getpid()); /* disabled: inline */
	ig_isolate_set(true);
	CHECK(ig_isolate(report_pid, pid) == -EBADMSG);
	CHECK(*pid != getpid() && *pid > 0);
	CHECK(ig_isolate(die, NULL) == -ECHILD);
	ig_isolate_set(false);
	ig_shared_free(pid, sizeof(*pid));
}

static int ok_job(void *arg)
{
	(void)arg;
	return 0;
}

struct wait_log {
	int outer_calls, inner_calls;
	void *outer_ctx;
};

static int inner_wait(int fd, void *ctx)
{
	char c;

	((struct wait_log *)ctx)->inner_calls++;
	while (read(fd, &c, 1) > 0)
		;
	return 0;
}

/* The outer waiter runs work that sets a waiter of its own for its time, then none. */
static int outer_wait(int fd, void *ctx)
{
	struct wait_log *l = ctx;
	char c;

	l->outer_calls++;
	l->outer_ctx = ctx;
	ig_isolate_set_waiter(inner_wait, ctx);
	ig_isolate(ok_job, NULL);
	ig_isolate_set_waiter(NULL, NULL);
	while (read(fd, &c, 1) > 0)
		;
	return 0;
}

TEST(a_waiter_and_its_ctx_survive_a_waiter_set_while_it_waits)
{
	struct wait_log l = { 0 };

	ig_isolate_set(true);
	ig_isolate_set_waiter(outer_wait, &l);
	CHECK(ig_isolate(ok_job, NULL) == 0);
	CHECK(ig_isolate(ok_job, NULL) == 0); /* the same waiter, the same ctx */
	ig_isolate_set_waiter(NULL, NULL);
	ig_isolate_set(false);
	CHECK(l.outer_calls == 2 && l.inner_calls == 2 && l.outer_ctx == &l);
}

TEST(isolated_hashing_matches_inline)
{
	const char *a = ig_test_tmpfile("iso-a", "abc");
	struct ig_hash_job in[2] = { { .path = a }, { .path = "/nonexistent" } };
	struct ig_hash_job iso[2] = { { .path = a }, { .path = "/nonexistent" } };
	uint8_t b1[32], b2[32], f1[32], f2[32];
	int fd = open(a, O_RDONLY);

	CHECK(fd >= 0);
	ig_sha256_buf("iotgate", 7, b1);
	CHECK(ig_sha256_fd(fd, f1) == 0);
	ig_hash_files(in, 2, 2);
	ig_isolate_set(true);
	ig_sha256_buf("iotgate", 7, b2);
	CHECK(ig_sha256_fd(fd, f2) == 0);
	ig_hash_files(iso, 2, 2);
	ig_isolate_set(false);
	close(fd);
	CHECK(!memcmp(b1, b2, 32));
	CHECK(!memcmp(f1, f2, 32));
	CHECK(iso[0].err == 0 && !memcmp(in[0].digest, iso[0].digest, 32));
	CHECK(!memcmp(iso[0].digest, f1, 32));
	CHECK(iso[1].err == -ENOENT && in[1].err == -ENOENT);
}

/* Writes an Ed25519 public key and a signature of msg made with its private key. */
static bool make_signed(const char *pub_path, const char *sig_path, const char *msg)
{
	EVP_PKEY *key = EVP_PKEY_Q_keygen(NULL, NULL, "ED25519");
	EVP_MD_CTX *ctx = EVP_MD_CTX_new();
	unsigned char sig[64];
	size_t siglen = sizeof(sig);
	bool ok = key && ctx;
	FILE *f;

	ok = ok && EVP_DigestSignInit(ctx, NULL, NULL, NULL, key) == 1 &&
	     EVP_DigestSign(ctx, sig, &siglen, (const unsigned char *)msg, strlen(msg)) == 1;
	if (ok && (f = fopen(pub_path, "w"))) {
		ok = PEM_write_PUBKEY(f, key) == 1;
		fclose(f);
	}
	if (ok && (f = fopen(sig_path, "w"))) {
		ok = fwrite(sig, 1, siglen, f) == siglen;
		fclose(f);
	}
	EVP_MD_CTX_free(ctx);
	EVP_PKEY_free(key);
	return ok;
}

static void check_signatures(bool isolated)
{
	char dir[] = "/tmp/iotgate-iso-XXXXXX", pub[64], sig[64], other[64], ec[64];
	char id1[IG_KEYID_LEN + 1] = "", id2[IG_KEYID_LEN + 1] = "";
	const char *msg = "version 1\n";
	struct ig_keyring *kr = NULL;
	EVP_PKEY *p256;
	struct ig_diag d;
	FILE *f;

	CHECK(mkdtemp(dir) != NULL);
	snprintf(pub, sizeof(pub), "%s/a.pem", dir);
	snprintf(sig, sizeof(sig), "%s/m.sig", dir);
	snprintf(other, sizeof(other), "%s/o.sig", dir);
	snprintf(ec, sizeof(ec), "%s/ec.pem", dir);
	CHECK(make_signed(pub, sig, msg));
	ig_isolate_set(isolated);
	ig_diag_init(&d);
	CHECK(ig_keyring_load(&kr, dir, NULL, 0, &d) == 0 && ig_keyring_size(kr) == 1);
	CHECK(ig_sig_verify(kr, msg, strlen(msg), sig, id1) == 0 && strlen(id1) == 64);
	CHECK(ig_sig_verify(kr, "version 2\n", 10, sig, id2) == -EKEYREJECTED);
	/* The digest from the signature's own run, with either verdict. */
	{
		uint8_t want[IG_SHA256_LEN], got[IG_SHA256_LEN] = { 0 };
		char *sb = NULL;
		size_t sl = 0;
		bool dg = false;

		CHECK(ig_read_file(sig, 4096, &sb, &sl) == 0);
		CHECK(ig_sha256_mem(msg, strlen(msg), want) == 0);
		CHECK(ig_sig_verify_digest(kr, msg, strlen(msg), sb, sl, id2, got, &dg) == 0 &&
		      dg && !memcmp(got, want, sizeof(want)) && !strcmp(id1, id2));
		CHECK(ig_sha256_mem("version 2\n", 10, want) == 0);
		CHECK(ig_sig_verify_digest(kr, "version 2\n", 10, sb, sl, id2, got, &dg) ==
			      -EKEYREJECTED &&
		      dg && !memcmp(got, want, sizeof(want)));
		/* refused before any key was tried: no digest */
		CHECK(ig_sig_verify_digest(kr, msg, strlen(msg), sb, 10, id2, got, &dg) ==
			      -EBADMSG &&
		      !dg);
		free(sb);
	}
	ig_keyring_free(kr);
	/* A signature by another key: rejected. */
	snprintf(ec, sizeof(ec), "%s/b.pem.off", dir);
	CHECK(make_signed(ec, other, msg));
	ig_isolate_set(isolated);
	CHECK(ig_keyring_load(&kr, dir, NULL, 0, &d) == 0);
	CHECK(ig_sig_verify(kr, msg, strlen(msg), other, id2) == -EKEYREJECTED);
	ig_keyring_free(kr);
	/* Keys that are not Ed25519 or not keys: named, nothing loaded. */
	p256 = EVP_PKEY_Q_keygen(NULL, NULL, "EC", "P-256");
	snprintf(ec, sizeof(ec), "%s/ec.pem", dir);
	if ((f = fopen(ec, "w"))) {
		PEM_write_PUBKEY(f, p256);
		fclose(f);
	}
	EVP_PKEY_free(p256);
	kr = NULL;
	CHECK(ig_keyring_load(&kr, dir, NULL, 0, &d) == -EINVAL && kr == NULL);
	CHECK(d.n == 1 && strstr(d.msgs[0], "ec.pem: not an Ed25519 key"));
	ig_isolate_set(false);
	ig_diag_free(&d);
	unlink(pub);
	unlink(sig);
	unlink(other);
	unlink(ec);
	snprintf(ec, sizeof(ec), "%s/b.pem.off", dir);
	unlink(ec);
	rmdir(dir);
}

TEST(signatures_inline)
{
	check_signatures(false);
}

TEST(signatures_isolated)
{
	check_signatures(true);
}
