// SPDX-License-Identifier: GPL-2.0-only
/*
 * Policy-set rules (pset.h): which signatures a set needs, and downgrades.
 * Keys and signatures are made with the openssl command line, the way
 * operators make them (README).
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include "pset.h"
#include "sig.h"
#include "test.h"

static char dir[256];

static int sh(const char *fmt, const char *a, const char *b)
{
	char cmd[2048];

	snprintf(cmd, sizeof(cmd), fmt, a, b);
	return system(cmd);
}

static void put(const char *name, const char *text)
{
	char path[512];
	FILE *f;

	snprintf(path, sizeof(path), "%s/%s", dir, name);
	f = fopen(path, "w");
	CHECK(f != NULL);
	if (!f)
		return;
	fputs(text, f);
	fclose(f);
}

/* dir/NAME.sig with key KEY (trusted: keys/test.pem's; rogue: not in keys/) */
static void sign(const char *name, const char *key)
{
	char path[512], k[512];

	snprintf(path, sizeof(path), "%s/%s", dir, name);
	snprintf(k, sizeof(k), "%s/%s.pem", dir, key);
	CHECK(sh("openssl pkeyutl -sign -rawin -inkey %s -in %2$s -out %2$s.sig 2>/dev/null", k,
		 path) == 0);
}

/* A fresh directory: a file "a", its manifest "m", keys, policy "p.conf" of mode. */
static void setup(const char *policy)
{
	char cmd[1024];

	snprintf(dir, sizeof(dir), "/tmp/ig-pset-XXXXXX");
	CHECK(mkdtemp(dir) != NULL);
	put("a", "content\n");
	snprintf(cmd, sizeof(cmd),
		 "cd %s && mkdir keys && sha256sum %s/a >m && "
		 "openssl genpkey -algorithm ed25519 -out test.pem 2>/dev/null && "
		 "openssl pkey -in test.pem -pubout -out keys/test.pem && "
		 "openssl genpkey -algorithm ed25519 -out rogue.pem 2>/dev/null",
		 dir, dir);
	CHECK(system(cmd) == 0);
	put("p.conf", policy);
}

static void teardown(void)
{
	sh("rm -rf %s%s", dir, "");
}

/* Loads dir/p.conf: 0 or -errno, the first message in msg. */
static int load(struct ig_set *s, bool allow_unsigned, char *msg, size_t len)
{
	struct ig_set_opts o = { .allow_unsigned_policy = allow_unsigned };
	struct ig_keyring *kr = NULL;
	struct ig_diag d;
	char keys[512], pol[512];
	int ret;

	ig_diag_init(&d);
	snprintf(keys, sizeof(keys), "%s/keys", dir);
	snprintf(pol, sizeof(pol), "%s/p.conf", dir);
	ret = ig_keyring_load(&kr, keys, NULL, 0, &d);
	CHECK(ret == 0);
	o.keys = kr;
	memset(s, 0, sizeof(*s));
	ret = ig_set_load(s, pol, &o, &d);
	snprintf(msg, len, "%s", d.n ? d.msgs[0] : "");
	ig_diag_free(&d);
	ig_keyring_free(kr);
	return ret;
}

TEST(pset_enforce_needs_a_signed_policy)
{
	struct ig_set s;
	char msg[1024];

	setup("version 1\nmode enforce\nmanifest m\n");
	sign("m", "test");
	CHECK(load(&s, false, msg, sizeof(msg)) < 0);
	CHECK(strstr(msg, "policy is not signed") != NULL);
	/* --allow-unsigned-policy: accepted, and the set says it is unsigned */
	CHECK(load(&s, true, msg, sizeof(msg)) == 0);
	CHECK(s.policy_signer[0] == '\0' && s.manifest_signer[0] != '\0');
	CHECK(s.nverified == 1);
	ig_set_free(&s);
	/* signed by the trusted key: accepted, signer named */
	sign("p.conf", "test");
	CHECK(load(&s, false, msg, sizeof(msg)) == 0);
	CHECK(s.policy_signer[0] != '\0');
	ig_set_free(&s);
	teardown();
}

TEST(pset_untrusted_or_changed_policy_is_refused)
{
	struct ig_set s;
	char msg[1024];

	setup("version 1\nmode enforce\nmanifest m\n");
	sign("m", "test");
	sign("p.conf", "rogue");
	/* even with unsigned policies allowed: a bad signature is never "unsigned" */
	CHECK(load(&s, true, msg, sizeof(msg)) < 0);
	CHECK(strstr(msg, "does not verify with any trusted key") != NULL);
	sign("p.conf", "test");
	put("p.conf", "version 1\nmode audit\nmanifest m\n");
	CHECK(load(&s, true, msg, sizeof(msg)) < 0);
	CHECK(strstr(msg, "policy signature refused") != NULL);
	teardown();
}

TEST(pset_unsigned_manifest_only_if_the_policy_allows)
{
	struct ig_set s;
	char msg[1024];

	setup("version 1\nmode enforce\nmanifest m\n");
	sign("p.conf", "test");
	CHECK(load(&s, false, msg, sizeof(msg)) < 0);
	CHECK(strstr(msg, "manifest is not signed") != NULL);
	/* a manifest signed by a key the daemon does not trust */
	sign("m", "rogue");
	CHECK(load(&s, false, msg, sizeof(msg)) < 0);
	CHECK(strstr(msg, "manifest signature refused") != NULL);
	/* the policy allows unsigned manifests: no signature is fine, a bad one is not */
	put("p.conf", "version 1\nmode enforce\nmanifest m\nunsigned-manifests allow\n");
	sign("p.conf", "test");
	CHECK(load(&s, false, msg, sizeof(msg)) < 0);
	sh("rm -f %s/m.sig%s", dir, "");
	CHECK(load(&s, false, msg, sizeof(msg)) == 0);
	CHECK(s.manifest_signer[0] == '\0');
	ig_set_free(&s);
	/* audit mode: neither needs a signature */
	put("p.conf", "version 1\nmode audit\nmanifest m\n");
	sh("rm -f %s/p.conf.sig%s", dir, "");
	CHECK(load(&s, false, msg, sizeof(msg)) == 0);
	ig_set_free(&s);
	teardown();
}

TEST(pset_downgrade_refused_unless_forced)
{
	struct ig_set next = { 0 };
	struct ig_diag d;

	/* the versions in force: policy 3, manifest 5 */
	ig_diag_init(&d);
	next.policy.version = 3;
	next.manifest.version = 5;
	CHECK(ig_set_check_versions(3, 5, &next, false, &d) == 0); /* same: re-apply */
	next.policy.version = 4;
	next.manifest.version = 6;
	CHECK(ig_set_check_versions(3, 5, &next, false, &d) == 0);
	next.policy.version = 2;
	CHECK(ig_set_check_versions(3, 5, &next, false, &d) == -EINVAL);
	CHECK(d.n == 1 && strstr(d.msgs[0], "policy version 2 is older than the active version 3"));
	next.policy.version = 3;
	next.manifest.version = 4;
	CHECK(ig_set_check_versions(3, 5, &next, false, &d) == -EINVAL);
	CHECK(d.n == 2 &&
	      strstr(d.msgs[1], "manifest version 4 is older than the active version 5"));
	/* rollback and factory force it */
	next.policy.version = 1;
	CHECK(ig_set_check_versions(3, 5, &next, true, &d) == 0);
	CHECK(d.n == 2);
	ig_diag_free(&d);
}
