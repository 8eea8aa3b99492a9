// SPDX-License-Identifier: GPL-2.0-only
#include <dlfcn.h>
#include <pthread.h>
#include <errno.h>
#include <stdio.h>
#include <string.h>
#include "crypto.h"
#include "isolate.h"

#define STR_(x) #x
#define STR(x) STR_(x)
#define LIBCRYPTO "libcrypto.so." STR(OPENSSL_SHLIB_VERSION)

static struct ig_crypto table;
static const struct ig_crypto *loaded;
static char error[256];
static pthread_once_t once = PTHREAD_ONCE_INIT;

static void load(void)
{
	void *h = dlopen(LIBCRYPTO, RTLD_NOW | RTLD_LOCAL);

	if (!h) {
		snprintf(error, sizeof(error), "cannot load %s: %s", LIBCRYPTO, dlerror());
		return;
	}
#define IG_CRYPTO_SYM(name)                                                       \
	table.name = (__typeof__(name) *)dlsym(h, #name);                         \
	if (!table.name) {                                                        \
		snprintf(error, sizeof(error), "%s has no %s", LIBCRYPTO, #name); \
		return;                                                           \
	}
	IG_CRYPTO_FN(IG_CRYPTO_SYM)
#undef IG_CRYPTO_SYM
	loaded = &table;
}

const struct ig_crypto *ig_crypto(const char **why)
{
	pthread_once(&once, load);
	if (!loaded && why)
		*why = error;
	return loaded;
}

static int probe(void *arg)
{
	const char *why;

	if (ig_crypto(&why))
		return 0;
	snprintf(arg, sizeof(error), "%s", why);
	return -ENOPKG;
}

int ig_crypto_probe(char *why, size_t len)
{
	char *shared = ig_shared_alloc(sizeof(error));
	int ret = shared ? ig_isolate(probe, shared) : -ENOMEM;

	snprintf(why, len, "%s", ret == -ENOPKG ? shared : strerror(-ret));
	ig_shared_free(shared, sizeof(error));
	return ret;
}
