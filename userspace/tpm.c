// SPDX-License-Identifier: GPL-2.0-only
/* TPM 2.0 through tpm2-tss, dlopen()ed in isolated children (see tpm.h). */
#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include "isolate.h"
#include "tpm.h"

#if IG_TPM
#include <dlfcn.h>
#include <tss2/tss2_esys.h>
#include <tss2/tss2_tctildr.h>

#define LIB_ESYS "libtss2-esys.so.0"
#define LIB_TCTILDR "libtss2-tctildr.so.0"

/* The tpm2-tss functions used; one list, like crypto.h. */
#define ESYS_FN(X) \
	X(Esys_Initialize) X(Esys_Finalize) X(Esys_PCR_Read) X(Esys_PCR_Extend) X(Esys_Free)
#define TCTI_FN(X) X(Tss2_TctiLdr_Initialize) X(Tss2_TctiLdr_Finalize)

/* clang-format re-indents the member after the macro list on each pass */
// clang-format off
struct tss {
#define TSS_PTR(name) __typeof__(name) *name;
	ESYS_FN(TSS_PTR)
	TCTI_FN(TSS_PTR)
#undef TSS_PTR
	TSS2_TCTI_CONTEXT *tcti;
	ESYS_CONTEXT *esys;
};
// clang-format on

/* What a child hands back (shared memory). */
struct tpm_out {
	char why[IG_TPM_WHY];
	uint8_t pcr[16][IG_SHA256_LEN];
	uint8_t agg[IG_SHA256_LEN]; /* SHA-256 of the PCRs read, if asked */
	size_t done; /* extend: digests extended */
};

struct tpm_job {
	unsigned int first, n; /* read: PCRs first .. first + n - 1; extend: PCR first */
	const uint8_t (*digests)[IG_SHA256_LEN]; /* extend: n digests */
	bool extend;
	bool hash; /* read: hash the values too (libcrypto stays out of the daemon) */
	struct tpm_out *out;
};

static int why(struct tpm_job *j, int err, const char *fmt, ...)
	__attribute__((format(printf, 3, 4)));
static int why(struct tpm_job *j, int err, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(j->out->why, sizeof(j->out->why), fmt, ap);
	va_end(ap);
	return err;
}

static int tss_open(struct tpm_job *j, struct tss *t)
{
	void *he = dlopen(LIB_ESYS, RTLD_NOW | RTLD_LOCAL);
	void *ht = dlopen(LIB_TCTILDR, RTLD_NOW | RTLD_LOCAL);
	TSS2_RC rc;

	if (!he || !ht)
		return why(j, -ENOPKG, "cannot load %s: %s", he ? LIB_TCTILDR : LIB_ESYS,
			   dlerror());
#define TSS_SYM(name, h, lib)                          \
	t->name = (__typeof__(name) *)dlsym(h, #name); \
	if (!t->name)                                  \
		return why(j, -ENOPKG, "%s has no %s", lib, #name);
#define ESYS_SYM(name) TSS_SYM(name, he, LIB_ESYS)
#define TCTI_SYM(name) TSS_SYM(name, ht, LIB_TCTILDR)
	ESYS_FN(ESYS_SYM)
	TCTI_FN(TCTI_SYM)
#undef ESYS_SYM
#undef TCTI_SYM
#undef TSS_SYM
	rc = t->Tss2_TctiLdr_Initialize("device:" IG_TPM_DEVICE, &t->tcti);
	if (rc != TSS2_RC_SUCCESS)
		return why(j, -ENODEV, "cannot open %s (TSS2 rc 0x%x)", IG_TPM_DEVICE, rc);
	rc = t->Esys_Initialize(&t->esys, t->tcti, NULL);
	if (rc != TSS2_RC_SUCCESS)
		return why(j, -EIO, "Esys_Initialize failed on %s (TSS2 rc 0x%x)", IG_TPM_DEVICE,
			   rc);
	return 0;
}

static int tss_read(struct tpm_job *j, struct tss *t)
{
	unsigned int got = 0;

	/* A TPM answers at most 8 digests per read: ask until all came back. */
	while (got < j->n) {
		TPML_PCR_SELECTION sel = { .count = 1 };
		TPML_PCR_SELECTION *sel_out = NULL;
		TPML_DIGEST *vals = NULL;
		UINT32 counter;
		unsigned int want = got, i;
		TSS2_RC rc;

		sel.pcrSelections[0].hash = TPM2_ALG_SHA256;
		sel.pcrSelections[0].sizeofSelect = 3;
		for (i = got; i < j->n; i++) {
			unsigned int p = j->first + i;

			sel.pcrSelections[0].pcrSelect[p / 8] |= 1u << (p % 8);
		}
		rc = t->Esys_PCR_Read(t->esys, ESYS_TR_NONE, ESYS_TR_NONE, ESYS_TR_NONE, &sel,
				      &counter, &sel_out, &vals);
		if (rc != TSS2_RC_SUCCESS)
			return why(j, -EIO, "TPM2_PCR_Read failed (TSS2 rc 0x%x)", rc);
		/* Digests come back in ascending PCR order, the first ones asked. */
		for (i = 0; i < vals->count && got < j->n; i++, got++) {
			if (vals->digests[i].size != IG_SHA256_LEN)
				break;
			memcpy(j->out->pcr[got], vals->digests[i].buffer, IG_SHA256_LEN);
		}
		t->Esys_Free(sel_out);
		t->Esys_Free(vals);
		if (got == want)
			return why(j, -ENOTSUP, "the TPM has no SHA-256 bank for PCR %u",
				   j->first + got);
	}
	return 0;
}

static int tss_extend(struct tpm_job *j, struct tss *t)
{
	for (unsigned int i = 0; i < j->n; i++) {
		TPML_DIGEST_VALUES d = { .count = 1 };
		TSS2_RC rc;

		d.digests[0].hashAlg = TPM2_ALG_SHA256;
		memcpy(d.digests[0].digest.sha256, j->digests[i], IG_SHA256_LEN);
		rc = t->Esys_PCR_Extend(t->esys, ESYS_TR_PCR0 + j->first, ESYS_TR_PASSWORD,
					ESYS_TR_NONE, ESYS_TR_NONE, &d);
		if (rc != TSS2_RC_SUCCESS)
			return why(j, -EIO, "TPM2_PCR_Extend of PCR %u failed (TSS2 rc 0x%x)",
				   j->first, rc);
		j->out->done = i + 1;
	}
	return 0;
}

static int tpm_job(void *arg)
{
	struct tpm_job *j = arg;
	struct tss t = { 0 };
	int ret = tss_open(j, &t);

	if (!ret)
		ret = j->extend ? tss_extend(j, &t) : tss_read(j, &t);
	if (!ret && j->hash)
		ig_sha256_buf(j->out->pcr, j->n * IG_SHA256_LEN, j->out->agg);
	if (t.esys)
		t.Esys_Finalize(&t.esys);
	if (t.tcti)
		t.Tss2_TctiLdr_Finalize(&t.tcti);
	return ret;
}

static int run(struct tpm_job *j, char *why_out)
{
	int ret;

	if (!ig_tpm_present()) {
		snprintf(why_out, IG_TPM_WHY, "no TPM (%s)", IG_TPM_DEVICE);
		return -ENODEV;
	}
	j->out = ig_shared_alloc(sizeof(*j->out));
	if (!j->out) {
		snprintf(why_out, IG_TPM_WHY, "%s", strerror(ENOMEM));
		return -ENOMEM;
	}
	ret = ig_isolate(tpm_job, j);
	if (ret)
		snprintf(why_out, IG_TPM_WHY, "%s", j->out->why[0] ? j->out->why : strerror(-ret));
	return ret;
}

bool ig_tpm_present(void)
{
	return !access(IG_TPM_DEVICE, F_OK);
}

/* IMA's measurement count: -1 without IMA (no securityfs file). */
static long long ima_count(void)
{
	char buf[32] = "";
	FILE *f = fopen(IG_TPM_IMA_COUNT, "re");

	if (!f)
		return -1;
	if (!fgets(buf, sizeof(buf), f))
		buf[0] = '\0';
	fclose(f);
	return strtoll(buf, NULL, 10);
}

/*
 * Is the first record of IMA's list the boot_aggregate record iotgate
 * writes (template ima-ng, digest sha256 and the same value)? Then the
 * kernel extended PCR 10 with the same template hash. Reading the list,
 * not the PCR, gives the same answer after iotgate extended it.
 */
static bool ima_boot_is_ours(const uint8_t boot_aggregate[IG_SHA256_LEN])
{
	char line[256], want[sizeof("ima-ng sha256: boot_aggregate\n") + IG_SHA256_HEX];
	char hex[IG_SHA256_HEX + 1], *p = NULL;
	FILE *f = fopen(IG_TPM_IMA_LIST, "re");

	if (!f)
		return false;
	if (fgets(line, sizeof(line), f))
		p = strchr(line, ' '); /* past the PCR */
	fclose(f);
	if (p)
		p = strchr(p + 1, ' '); /* past the SHA-1 template hash */
	if (!p)
		return false;
	ig_hex(boot_aggregate, IG_SHA256_LEN, hex);
	snprintf(want, sizeof(want), "ima-ng sha256:%s boot_aggregate\n", hex);
	return !strcmp(p + 1, want);
}

int ig_tpm_choose_pcr(const uint8_t boot_aggregate[IG_SHA256_LEN], char *why_out)
{
	long long count = ima_count();

	(void)why_out;
	if (count < 0)
		return IG_TPM_PCR;
	if (count == 1 && ima_boot_is_ours(boot_aggregate))
		return IG_TPM_PCR;
	return IG_TPM_PCR_IMA;
}

static int pcr_read(unsigned int first, unsigned int n, uint8_t out[][IG_SHA256_LEN], uint8_t *agg,
		    char *why_out)
{
	struct tpm_job j = { .first = first, .n = n, .hash = agg };
	int ret;

	if (!n || n > 16 || first + n > 24)
		return -EINVAL;
	ret = run(&j, why_out);
	if (!ret && out)
		memcpy(out, j.out->pcr, n * IG_SHA256_LEN);
	if (!ret && agg)
		memcpy(agg, j.out->agg, IG_SHA256_LEN);
	if (j.out)
		ig_shared_free(j.out, sizeof(*j.out));
	return ret;
}

int ig_tpm_pcr_read(unsigned int first, unsigned int n, uint8_t out[][IG_SHA256_LEN], char *why_out)
{
	return pcr_read(first, n, out, NULL, why_out);
}

int ig_tpm_boot_aggregate(uint8_t out[IG_SHA256_LEN], char *why_out)
{
	return pcr_read(0, 10, NULL, out, why_out);
}

int ig_tpm_extend(unsigned int pcr, const uint8_t (*digests)[IG_SHA256_LEN], size_t n, size_t *done,
		  char *why_out)
{
	struct tpm_job j = { .first = pcr, .n = n, .digests = digests, .extend = true };
	int ret;

	*done = 0;
	if (pcr > 23)
		return -EINVAL;
	ret = run(&j, why_out);
	if (j.out)
		*done = j.out->done;
	if (j.out)
		ig_shared_free(j.out, sizeof(*j.out));
	return ret;
}
#else
bool ig_tpm_present(void)
{
	return false;
}

int ig_tpm_pcr_read(unsigned int first, unsigned int n, uint8_t out[][IG_SHA256_LEN], char *why)
{
	(void)first, (void)n, (void)out;
	snprintf(why, IG_TPM_WHY, "iotgate was built without TPM support (make TPM=0)");
	return -ENOTSUP;
}

int ig_tpm_extend(unsigned int pcr, const uint8_t (*digests)[IG_SHA256_LEN], size_t n, size_t *done,
		  char *why)
{
	(void)pcr, (void)digests, (void)n;
	*done = 0;
	snprintf(why, IG_TPM_WHY, "iotgate was built without TPM support (make TPM=0)");
	return -ENOTSUP;
}

int ig_tpm_choose_pcr(const uint8_t boot_aggregate[IG_SHA256_LEN], char *why)
{
	(void)boot_aggregate;
	snprintf(why, IG_TPM_WHY, "iotgate was built without TPM support (make TPM=0)");
	return -ENOTSUP;
}

int ig_tpm_boot_aggregate(uint8_t out[IG_SHA256_LEN], char *why)
{
	(void)out;
	snprintf(why, IG_TPM_WHY, "iotgate was built without TPM support (make TPM=0)");
	return -ENOTSUP;
}
#endif
