// SPDX-License-Identifier: GPL-2.0-only
#include <errno.h>
#include <ftw.h>
#include <signal.h>
#include <stdlib.h>
#include <unistd.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <openssl/evp.h>
#include "hash.h"
#include "lex.h"
#include "isolate.h"
#include "measlog.h"
#include "test.h"

/* Known answers computed with Python's hashlib (an independent implementation). */
#define BOOT_TH "36f1cd67a730bc4137870c4d00dbc7430b51b1ebdaa130744297cf65339078a0"
#define BOOT_AGG "35d08f4de6c76c315d9ea3e5fea0305fc1e902506504f80d7c98d6d4e6e33072"
#define TRUE_TH "c0349c3725b6f011454cca2e38fa24fce828b892f9f3e03b811d830b00ef7c06"
#define TRUE_AGG "1272580416aae4f11681a568a8098cd16c2259e3bad7d45b6a8dd33889cda5e6"
#define ABC "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad"
/* Opens l or ends the test (later checks would dereference NULL). */
#define OPEN(l, dir, max)                                     \
	do {                                                  \
		int r_ = ig_measlog_open(&(l), (dir), (max)); \
		CHECK(r_ == 0);                               \
		if (r_) {                                     \
			cleanup_dir();                        \
			return;                               \
		}                                             \
	} while (0)

#define ZERO64 "0000000000000000000000000000000000000000000000000000000000000000"

/* The template hash computed here with OpenSSL directly, byte by byte. */
static void ref_template_hash(const uint8_t d[32], const char *name, uint8_t out[32])
{
	EVP_MD_CTX *c = EVP_MD_CTX_new();
	uint32_t n = strlen(name) + 1;
	const uint8_t l1[4] = { 40, 0, 0, 0 };
	const uint8_t l2[4] = { n & 0xff, (n >> 8) & 0xff, (n >> 16) & 0xff, n >> 24 };

	EVP_DigestInit_ex(c, EVP_sha256(), NULL);
	EVP_DigestUpdate(c, l1, 4);
	EVP_DigestUpdate(c, "sha256:\0", 8);
	EVP_DigestUpdate(c, d, 32);
	EVP_DigestUpdate(c, l2, 4);
	EVP_DigestUpdate(c, name, n);
	EVP_DigestFinal_ex(c, out, NULL);
	EVP_MD_CTX_free(c);
}

static void ref_extend(uint8_t agg[32], const uint8_t th[32])
{
	uint8_t buf[64];

	memcpy(buf, agg, 32);
	memcpy(buf + 32, th, 32);
	EVP_Digest(buf, 64, agg, NULL, EVP_sha256(), NULL);
}

static const char *hex32(const uint8_t *d)
{
	static char buf[4][65];
	static int i;
	char *b = buf[i++ % 4];

	ig_hex(d, 32, b);
	return b;
}

/* A distinct digest per number. */
static void digest_of(unsigned int i, uint8_t d[32])
{
	ig_sha256_buf(&i, sizeof(i), d);
}

static int rm_fn(const char *p, const struct stat *st, int type, struct FTW *f)
{
	(void)st;
	(void)type;
	(void)f;
	return remove(p);
}

static char tdir_buf[256], logdir_buf[300];

/* A fresh directory; logdir_buf is DIR/log (not created yet). */
static const char *fresh_dir(void)
{
	if (tdir_buf[0])
		nftw(tdir_buf, rm_fn, 16, FTW_DEPTH | FTW_PHYS);
	snprintf(tdir_buf, sizeof(tdir_buf), "/tmp/iotgate-measlog-XXXXXX");
	if (!mkdtemp(tdir_buf))
		return NULL;
	snprintf(logdir_buf, sizeof(logdir_buf), "%s/log", tdir_buf);
	return tdir_buf;
}

static void cleanup_dir(void)
{
	if (tdir_buf[0])
		nftw(tdir_buf, rm_fn, 16, FTW_DEPTH | FTW_PHYS);
	tdir_buf[0] = '\0';
}

static const char *pj(const char *a, const char *b)
{
	static char buf[8][512];
	static int i;
	char *p = buf[i++ % 8], tmp[512];

	snprintf(tmp, sizeof(tmp), "%s/%s", a, b); /* a may be an earlier result */
	memcpy(p, tmp, sizeof(tmp));
	return p;
}

static char *slurp(const char *p)
{
	char *buf = NULL;
	size_t len;

	if (ig_read_file(p, 1 << 24, &buf, &len))
		return NULL;
	return buf;
}

static void spit(const char *p, const char *s)
{
	FILE *f = fopen(p, "w");

	if (f) {
		fputs(s, f);
		fclose(f);
	}
}

static bool exists(const char *p)
{
	return !access(p, F_OK);
}

static unsigned int count_lines(const char *s)
{
	unsigned int n = 0;

	for (; s && *s; s++)
		n += *s == '\n';
	return n;
}

/* Line k (1-based) of s, without its newline, in a static buffer. */
static const char *line_of(const char *s, unsigned int k)
{
	static char buf[IG_MEASLOG_LINE_MAX];

	buf[0] = '\0';
	for (unsigned int i = 1; s && *s; i++) {
		size_t len = strcspn(s, "\n");

		if (i == k) {
			snprintf(buf, sizeof(buf), "%.*s", (int)len, s);
			break;
		}
		s += len + (s[len] == '\n');
	}
	return buf;
}

/* s with line k removed (del) or lines j and k swapped; caller frees. */
static char *edit_lines(const char *s, unsigned int j, unsigned int k, bool del)
{
	unsigned int n = count_lines(s);
	size_t cap = strlen(s) + 1;
	char *out = malloc(cap), *w = out;

	for (unsigned int i = 1; i <= n; i++) {
		unsigned int src = i;

		if (del && i == k)
			continue;
		if (!del && i == j)
			src = k;
		else if (!del && i == k)
			src = j;
		w += sprintf(w, "%s\n", line_of(s, src));
	}
	*w = '\0';
	return out;
}

/* Opens DIR/log, adds entries 1..n (path /bin/p<i>), closes. Returns the log dir. */
static const char *make_log(unsigned int n, uint8_t agg[32])
{
	const char *dir = fresh_dir() ? logdir_buf : NULL;
	struct ig_measlog *l;
	char path[64];
	uint8_t d[32];

	if (!dir)
		return NULL;
	if (ig_measlog_open(&l, dir, 0))
		return NULL;
	for (unsigned int i = 1; i <= n; i++) {
		digest_of(i, d);
		snprintf(path, sizeof(path), "/bin/p%u", i);
		if (ig_measlog_add(l, d, path, false))
			return NULL;
	}
	if (agg)
		memcpy(agg, ig_measlog_aggregate(l), 32);
	ig_measlog_close(l);
	return dir;
}

TEST(measlog_template_hash_known_answers)
{
	uint8_t d[32], th[32], ref[32], agg[32] = { 0 };
	char line[IG_MEASLOG_LINE_MAX];

	memset(d, 0, sizeof(d));
	ig_measlog_template_hash(d, "boot_aggregate", th);
	CHECK_STR(hex32(th), BOOT_TH);
	ref_template_hash(d, "boot_aggregate", ref);
	CHECK(!memcmp(th, ref, 32));
	ig_measlog_extend(agg, th);
	CHECK_STR(hex32(agg), BOOT_AGG);

	ig_sha256_buf("abc", 3, d);
	ig_measlog_template_hash(d, "/usr/bin/true", th);
	CHECK_STR(hex32(th), TRUE_TH);
	ref_template_hash(d, "/usr/bin/true", ref);
	CHECK(!memcmp(th, ref, 32));
	ig_measlog_extend(agg, th);
	CHECK_STR(hex32(agg), TRUE_AGG);
	ref_template_hash(d, "/x/a name\nwith\\odd bytes\t", ref);
	ig_measlog_template_hash(d, "/x/a name\nwith\\odd bytes\t", th);
	CHECK(!memcmp(th, ref, 32));

	CHECK(ig_measlog_format(line, th, d, "/usr/bin/true") > 0);
	ig_measlog_template_hash(d, "/usr/bin/true", th);
	ig_measlog_format(line, th, d, "/usr/bin/true");
	CHECK(!strcmp(line, "10 " TRUE_TH " ima-ng sha256:" ABC " /usr/bin/true\n"));
}

TEST(measlog_new_log_begins_with_boot_aggregate)
{
	const char *dir = fresh_dir() ? logdir_buf : "/nonexistent/log";
	struct ig_measlog *l;
	struct stat st;
	char *s, boot_id[128] = "";

	OPEN(l, dir, 0);
	CHECK(ig_measlog_count(l) == 1);
	CHECK_STR(hex32(ig_measlog_aggregate(l)), BOOT_AGG);
	CHECK_STR(ig_measlog_path(l), pj(dir, "measurements"));
	ig_measlog_close(l);
	s = slurp(pj(dir, "measurements"));
	CHECK_STR(s, "10 " BOOT_TH " ima-ng sha256:" ZERO64 " boot_aggregate\n");
	free(s);
	s = slurp(pj(dir, "measurements.chain"));
	CHECK_STR(s, BOOT_AGG "\n");
	free(s);
	CHECK(stat(dir, &st) == 0 && (st.st_mode & 07777) == 0750);
	CHECK(stat(pj(dir, "measurements"), &st) == 0 && (st.st_mode & 07777) == 0640);
	s = slurp("/proc/sys/kernel/random/boot_id");
	if (s)
		snprintf(boot_id, sizeof(boot_id), "boot_id %.*s\n", (int)strcspn(s, "\n"), s);
	free(s);
	s = slurp(pj(dir, "measurements.state"));
	CHECK(s && boot_id[0] && strstr(s, boot_id));
	free(s);
	CHECK(!exists(pj(dir, "measurements.1")));
	cleanup_dir();
}

TEST(measlog_append_dedup_and_aggregate)
{
	const char *dir = fresh_dir() ? logdir_buf : "/nonexistent/log";
	struct ig_measlog_verify_result res;
	struct ig_measlog *l;
	uint8_t d1[32], d2[32], th[32], agg[32] = { 0 };
	char *s, want[256];

	digest_of(1, d1);
	digest_of(2, d2);
	OPEN(l, dir, 0);
	CHECK(ig_measlog_add(l, d1, "/usr/bin/true", false) == 0);
	CHECK(ig_measlog_add(l, d1, "/usr/bin/true", false) == 1);
	CHECK(ig_measlog_add(l, d1, "/bin/true", false) == 0); /* same content, other name */
	CHECK(ig_measlog_add(l, d2, "/usr/bin/true", false) == 0); /* new version */
	CHECK(ig_measlog_add(l, d2, "/usr/bin/true", true) == 1);
	CHECK(ig_measlog_count(l) == 4);

	ref_template_hash((const uint8_t[32]){ 0 }, "boot_aggregate", th);
	ref_extend(agg, th);
	ref_template_hash(d1, "/usr/bin/true", th);
	ref_extend(agg, th);
	ref_template_hash(d1, "/bin/true", th);
	ref_extend(agg, th);
	ref_template_hash(d2, "/usr/bin/true", th);
	ref_extend(agg, th);
	CHECK(!memcmp(agg, ig_measlog_aggregate(l), 32));
	CHECK(ig_measlog_sync(l) == 0);

	s = slurp(pj(dir, "measurements"));
	CHECK(count_lines(s) == 4);
	ref_template_hash(d2, "/usr/bin/true", th);
	snprintf(want, sizeof(want), "10 %s ima-ng sha256:%s /usr/bin/true", hex32(th), hex32(d2));
	CHECK_STR(line_of(s, 4), want);
	free(s);
	CHECK(ig_measlog_verify(ig_measlog_path(l), agg, &res) == 0);
	CHECK(res.entries == 4 && !memcmp(res.aggregate, agg, 32) && !res.file[0]);
	agg[0] ^= 1;
	CHECK(ig_measlog_verify(ig_measlog_path(l), agg, &res) == -EBADMSG);
	CHECK(res.line == 0);
	CHECK_STR(res.reason, "aggregate differs from the daemon's");
	ig_measlog_close(l);
	cleanup_dir();
}

TEST(measlog_reopen_same_boot_neither_loses_nor_duplicates)
{
	uint8_t agg[32], d[32];
	const char *dir = make_log(5, agg);
	struct ig_measlog *l, *l2;
	char *before, *after;

	CHECK(dir != NULL);
	if (!dir)
		return;
	before = slurp(pj(dir, "measurements"));
	OPEN(l, dir, 0);
	CHECK(ig_measlog_count(l) == 6);
	CHECK(!memcmp(ig_measlog_aggregate(l), agg, 32));
	CHECK(ig_measlog_open(&l2, dir, 0) == -EBUSY); /* one writer */
	after = slurp(pj(dir, "measurements"));
	CHECK_STR(after, before); /* no second boot_aggregate */
	free(after);
	digest_of(3, d);
	CHECK(ig_measlog_add(l, d, "/bin/p3", false) == 1);
	digest_of(6, d);
	CHECK(ig_measlog_add(l, d, "/bin/p6", false) == 0);
	memcpy(agg, ig_measlog_aggregate(l), 32);
	ig_measlog_close(l);
	OPEN(l, dir, 0);
	CHECK(ig_measlog_count(l) == 7);
	CHECK(!memcmp(ig_measlog_aggregate(l), agg, 32));
	CHECK(ig_measlog_add(l, d, "/bin/p6", false) == 1);
	ig_measlog_close(l);
	after = slurp(pj(dir, "measurements"));
	CHECK(count_lines(after) == 7);
	CHECK(strstr(after, "boot_aggregate") == strstr(after, "boot_aggregate\n") &&
	      !strstr(strstr(after, "boot_aggregate") + 1, "boot_aggregate"));
	CHECK(!exists(pj(dir, "measurements.1")));
	free(before);
	free(after);
	cleanup_dir();
}

TEST(measlog_new_boot_starts_a_new_generation)
{
	uint8_t agg[32], d[32];
	const char *dir = make_log(3, agg);
	struct ig_measlog_verify_result res;
	struct ig_measlog *l;
	char *before, *s;

	CHECK(dir != NULL);
	if (!dir)
		return;
	before = slurp(pj(dir, "measurements"));
	spit(pj(dir, "measurements.state"), "boot_id 00000000-0000-0000-0000-000000000000\n");
	OPEN(l, dir, 0);
	CHECK(ig_measlog_count(l) == 1);
	CHECK_STR(hex32(ig_measlog_aggregate(l)), BOOT_AGG);
	digest_of(2, d);
	CHECK(ig_measlog_add(l, d, "/bin/p2", false) == 0); /* measured again in this boot */
	ig_measlog_close(l);
	s = slurp(pj(dir, "measurements.1"));
	CHECK_STR(s, before);
	free(s);
	CHECK(ig_measlog_verify(pj(dir, "measurements.1"), agg, &res) == 0);
	s = slurp(pj(dir, "measurements"));
	CHECK(count_lines(s) == 2 && strstr(line_of(s, 1), " boot_aggregate"));
	free(s);
	s = slurp(pj(dir, "measurements.state"));
	CHECK(s && !strstr(s, "00000000-0000"));
	free(s);
	{
		const char *both[] = { pj(dir, "measurements.1"), pj(dir, "measurements") };

		CHECK(ig_measlog_verify_files(both, 2, NULL, &res) == 0 && res.entries == 6);
	}
	free(before);
	cleanup_dir();
}

/* Plain ima-ng extension (no knowledge of iotgate) of the files, oldest first. */
static void replay(const char *const *files, size_t nf, uint8_t agg[32], size_t *entries)
{
	struct ig_measlog_verify_result res;
	struct ig_measlog_entry *v;
	uint8_t th[32];
	size_t n;

	memset(agg, 0, 32);
	*entries = 0;
	for (size_t f = 0; f < nf; f++) {
		CHECK(ig_measlog_read(files[f], &v, &n, &res) == 0);
		for (size_t k = 0; k < n; k++) {
			ref_template_hash(v[k].digest, v[k].name, th);
			ref_extend(agg, th);
			CHECK(strcmp(v[k].name, IG_MEASLOG_CARRY_NAME));
		}
		*entries += n;
		ig_measlog_entries_free(v, n);
	}
}

TEST(measlog_rotation_keeps_the_list_since_boot)
{
	const char *dir = fresh_dir() ? logdir_buf : "/nonexistent/log";
	struct ig_measlog_verify_result res;
	struct ig_measlog *l;
	uint8_t d[32], agg[32];
	unsigned long long count;
	unsigned int rotations = 0;
	struct stat st;
	size_t entries;
	char path[32], *base;

	OPEN(l, dir, 1000);
	for (unsigned int i = 1; i <= 40; i++) {
		unsigned long long before = ig_measlog_first(l);
		const char *files[IG_MEASLOG_KEEP + 1];
		size_t nf = 0;

		digest_of(i, d);
		snprintf(path, sizeof(path), "/bin/p%u", i);
		CHECK(ig_measlog_add(l, d, path, i % 7 == 0) == 0);
		CHECK(stat(ig_measlog_path(l), &st) == 0 && st.st_size <= 1000);
		if (ig_measlog_first(l) == before)
			continue;
		rotations++;
		/* Entries keep their numbers: i entries and boot_aggregate so far. */
		CHECK(ig_measlog_first(l) + ig_measlog_count(l) == i + 1);
		if (rotations > IG_MEASLOG_KEEP)
			continue;
		/* While boot's file is kept, plain ima-ng extension of the
		 * archives and the current file gives the daemon's aggregate. */
		for (unsigned int k = rotations; k >= 1; k--) {
			static char names[IG_MEASLOG_KEEP][32];

			snprintf(names[k - 1], sizeof(names[0]), "measurements.%u", k);
			files[nf++] = strdup(pj(dir, names[k - 1]));
		}
		files[nf++] = strdup(ig_measlog_path(l));
		replay(files, nf, agg, &entries);
		CHECK(!memcmp(agg, ig_measlog_aggregate(l), 32) && entries == i + 1);
		CHECK(ig_measlog_verify_files(files, nf, agg, &res) == 0);
		for (size_t k = 0; k < nf; k++)
			free((char *)files[k]);
	}
	CHECK(rotations > IG_MEASLOG_KEEP);
	CHECK(exists(pj(dir, "measurements.4")) && !exists(pj(dir, "measurements.5")));
	memcpy(agg, ig_measlog_aggregate(l), 32);
	count = ig_measlog_count(l);
	/* The current file verifies alone from its .base, which names the number
	 * and the aggregate before its first entry; so do the kept archives. */
	base = slurp(pj(dir, "measurements.base"));
	CHECK(base && strstr(base, "\nentry ") && strstr(base, "\naggregate "));
	free(base);
	CHECK(ig_measlog_verify(ig_measlog_path(l), agg, &res) == 0);
	CHECK(res.entries == count && res.first == ig_measlog_first(l));
	{
		char *all[] = { strdup(pj(dir, "measurements.4")),
				strdup(pj(dir, "measurements.3")),
				strdup(pj(dir, "measurements.2")),
				strdup(pj(dir, "measurements.1")),
				strdup(pj(dir, "measurements")) };

		CHECK(ig_measlog_verify_files((const char *const *)all, 5, agg, &res) == 0);
		/* .3 alone is no continuation of .1 */
		CHECK(ig_measlog_verify_files((const char *const *)all + 1, 1, NULL, &res) == 0);
		char *two = all[2];

		all[2] = all[0];
		CHECK(ig_measlog_verify_files((const char *const *)all + 1, 3, NULL, &res) ==
		      -EBADMSG);
		CHECK(strstr(res.reason, "does not continue") != NULL);
		all[2] = two;
		for (size_t k = 0; k < 5; k++)
			free(all[k]);
	}
	/* An entry only in an archive is measured again: every file is complete alone. */
	digest_of(1, d);
	CHECK(ig_measlog_add(l, d, "/bin/p1", false) == 0);
	memcpy(agg, ig_measlog_aggregate(l), 32);
	count = ig_measlog_count(l);
	ig_measlog_close(l);
	OPEN(l, dir, 1000);
	CHECK(ig_measlog_count(l) == count && !memcmp(ig_measlog_aggregate(l), agg, 32));
	CHECK(ig_measlog_add(l, d, "/bin/p1", false) == 1);
	ig_measlog_close(l);
	cleanup_dir();
}

/* Verifies TAMPERED as DIR/t/measurements (with CHAIN if not NULL). */
static int verify_copy(const char *dir, const char *tampered, const char *chain,
		       const uint8_t *expected, struct ig_measlog_verify_result *res)
{
	const char *t = pj(dir, "t");

	mkdir(t, 0755);
	spit(pj(t, "measurements"), tampered);
	unlink(pj(t, "measurements.chain"));
	if (chain)
		spit(pj(t, "measurements.chain"), chain);
	return ig_measlog_verify(pj(t, "measurements"), expected, res);
}

TEST(measlog_verify_names_the_first_bad_line)
{
	uint8_t agg[32], d[32], th[32];
	const char *dir = make_log(5, agg); /* 6 lines */
	struct ig_measlog_verify_result res;
	char *log, *chain, *t, fake[IG_MEASLOG_LINE_MAX], *p;

	CHECK(dir != NULL);
	if (!dir)
		return;
	log = slurp(pj(dir, "measurements"));
	chain = slurp(pj(dir, "measurements.chain"));
	CHECK(log && chain && count_lines(log) == 6);
	if (!log || !chain)
		return;
	CHECK(verify_copy(dir, log, chain, agg, &res) == 0 && res.entries == 6);

	/* one digest character */
	t = strdup(log);
	p = strstr(strstr(t, "/bin/p1\n") + 1, "sha256:") + 7 + 10; /* line 3 */
	*p = *p == '0' ? '1' : '0';
	CHECK(verify_copy(dir, t, chain, NULL, &res) == -EBADMSG);
	CHECK(res.line == 3);
	CHECK_STR(res.reason, "template hash does not match its fields");
	CHECK(res.entries == 2);
	free(t);

	/* a changed entry whose template hash was recomputed: caught by the chain */
	digest_of(99, d);
	ig_measlog_template_hash(d, "/bin/p3", th);
	ig_measlog_format(fake, th, d, "/bin/p3");
	t = malloc(strlen(log) + 512);
	t[0] = '\0';
	for (unsigned int k = 1; k <= 6; k++) {
		if (k == 4) {
			strcat(t, fake);
			continue;
		}
		strcat(t, line_of(log, k));
		strcat(t, "\n");
	}
	CHECK(verify_copy(dir, t, chain, NULL, &res) == -EBADMSG);
	CHECK(res.line == 4);
	CHECK_STR(res.reason,
		  "aggregate differs from measurements.chain: entry deleted, inserted or moved");
	free(t);

	/* a deleted line */
	t = edit_lines(log, 0, 4, true);
	CHECK(verify_copy(dir, t, chain, NULL, &res) == -EBADMSG);
	CHECK(res.line == 4);
	CHECK(strstr(res.reason, "entry deleted, inserted or moved") != NULL);
	/* without the chain only the daemon's aggregate shows it */
	CHECK(verify_copy(dir, t, NULL, NULL, &res) == 0);
	CHECK(verify_copy(dir, t, NULL, agg, &res) == -EBADMSG);
	CHECK(res.line == 0);
	CHECK_STR(res.reason, "aggregate differs from the daemon's");
	free(t);

	/* the last line deleted */
	t = edit_lines(log, 0, 6, true);
	CHECK(verify_copy(dir, t, chain, NULL, &res) == -EBADMSG);
	CHECK(res.line == 6);
	CHECK_STR(res.reason,
		  "entry missing: measurements.chain records more entries than the log");
	free(t);

	/* the first line deleted */
	t = edit_lines(log, 0, 1, true);
	CHECK(verify_copy(dir, t, NULL, NULL, &res) == -EBADMSG);
	CHECK(res.line == 1);
	CHECK_STR(res.reason,
		  "log does not begin with boot_aggregate and has no measurements.base");
	free(t);

	/* two lines swapped */
	t = edit_lines(log, 2, 5, false);
	CHECK(verify_copy(dir, t, chain, NULL, &res) == -EBADMSG);
	CHECK(res.line == 2);
	free(t);
	t = edit_lines(log, 1, 3, false);
	CHECK(verify_copy(dir, t, NULL, NULL, &res) == -EBADMSG);
	CHECK(res.line == 1);
	free(t);

	/* a self-consistent line appended behind the daemon's back */
	t = malloc(strlen(log) + 512);
	sprintf(t, "%s%s", log, fake);
	CHECK(verify_copy(dir, t, NULL, NULL, &res) == 0);
	CHECK(verify_copy(dir, t, NULL, agg, &res) == -EBADMSG);
	CHECK(res.line == 7);
	CHECK(strstr(res.reason, "aggregate differs from the daemon's") == res.reason);
	free(t);

	/* malformed lines */
	t = strdup(log);
	p = strstr(strstr(t, "/bin/p2\n"), "ima-ng");
	memcpy(p, "ima-sg", 6);
	CHECK(verify_copy(dir, t, NULL, NULL, &res) == -EBADMSG);
	CHECK(res.line == 4);
	CHECK_STR(res.reason, "malformed line: template is not ima-ng");
	free(t);
	t = strdup(log);
	t[strlen(t) - 1] = '\0';
	CHECK(verify_copy(dir, t, NULL, NULL, &res) == -EBADMSG);
	CHECK(res.line == 6);
	CHECK_STR(res.reason, "malformed line: no newline at the end");
	free(t);
	t = strdup(log);
	p = strstr(t, "/bin/p4\n");
	p[4] = ' ';
	CHECK(verify_copy(dir, t, NULL, NULL, &res) == -EBADMSG);
	CHECK(res.line == 5);
	CHECK_STR(res.reason, "malformed line: space in name");
	free(t);
	t = strdup(log);
	p = strstr(t, "ima-ng sha256:") - 2;
	*p = 'G';
	CHECK(verify_copy(dir, t, NULL, NULL, &res) == -EBADMSG);
	CHECK(res.line == 1);
	CHECK_STR(res.reason, "malformed line: template hash is not 64 lowercase hex digits");
	free(t);
	CHECK(verify_copy(dir, "", NULL, NULL, &res) == -EBADMSG);
	CHECK_STR(res.reason, "empty log (no boot_aggregate entry)");
	/* a broken chain file is named with its own line */
	t = strdup(chain);
	t[3 * 65 + 5] = 'x';
	CHECK(verify_copy(dir, log, t, NULL, &res) == -EBADMSG);
	CHECK(res.line == 4 && strstr(res.file, "measurements.chain"));
	free(t);
	CHECK(ig_measlog_verify(pj(dir, "none"), NULL, &res) == -ENOENT);
	CHECK(strstr(res.file, "/none") && !strcmp(res.reason, strerror(ENOENT)));

	free(log);
	free(chain);
	cleanup_dir();
}

TEST(measlog_open_refuses_a_tampered_log_and_quarantine_moves_it)
{
	uint8_t agg[32];
	const char *dir = make_log(4, agg);
	struct ig_measlog *l, *l2;
	char *log, *chain, *after, moved[600];
	struct stat st;

	CHECK(dir != NULL);
	if (!dir)
		return;
	log = slurp(pj(dir, "measurements"));
	log[strlen(log) - 3] = 'X'; /* a name character of the last entry */
	spit(pj(dir, "measurements"), log);
	chain = slurp(pj(dir, "measurements.chain"));
	CHECK(ig_measlog_open(&l, dir, 0) == -EBADMSG);
	after = slurp(pj(dir, "measurements"));
	CHECK_STR(after, log); /* untouched */
	free(after);
	after = slurp(pj(dir, "measurements.chain"));
	CHECK_STR(after, chain);
	free(after);

	CHECK(ig_measlog_quarantine(dir, moved, sizeof(moved)) == 0);
	CHECK(strstr(moved, "/measurements.bad.") != NULL);
	after = slurp(moved);
	CHECK_STR(after, log);
	free(after);
	CHECK(stat(pj(dir, "measurements"), &st) < 0);
	CHECK(ig_measlog_quarantine(dir, NULL, 0) == -ENOENT);
	OPEN(l, dir, 0);
	CHECK(ig_measlog_count(l) == 1);
	CHECK(ig_measlog_quarantine(dir, NULL, 0) == -EBUSY);
	CHECK(ig_measlog_open(&l2, dir, 0) == -EBUSY);
	ig_measlog_close(l);
	free(log);
	free(chain);
	cleanup_dir();
}

static off_t size_of(const char *p)
{
	struct stat st;

	return stat(p, &st) < 0 ? -1 : st.st_size;
}

TEST(measlog_write_failure_keeps_file_and_memory_consistent)
{
	const char *dir = fresh_dir() ? logdir_buf : "/nonexistent/log";
	struct ig_measlog_verify_result res;
	struct ig_measlog *l;
	struct rlimit old, lim;
	uint8_t d[32], agg[32];
	off_t s_log, s_chain, s_unk;
	unsigned long long count;
	void (*oldsig)(int);
	char *before;

	OPEN(l, dir, 0);
	digest_of(1, d);
	CHECK(ig_measlog_add(l, d, "/bin/p1", true) == 0);
	digest_of(2, d);
	CHECK(ig_measlog_add(l, d, "/bin/p2", false) == 0);
	memcpy(agg, ig_measlog_aggregate(l), 32);
	count = ig_measlog_count(l);
	s_log = size_of(pj(dir, "measurements"));
	s_chain = size_of(pj(dir, "measurements.chain"));
	s_unk = size_of(pj(dir, "measurements.unknown"));
	before = slurp(pj(dir, "measurements"));

	/* A file size limit that lets 20 bytes of the next line through: the
	 * write is short, then fails with EFBIG (SIGXFSZ ignored). */
	CHECK(getrlimit(RLIMIT_FSIZE, &old) == 0);
	oldsig = signal(SIGXFSZ, SIG_IGN);
	lim = old;
	lim.rlim_cur = s_log + 20;
	CHECK(setrlimit(RLIMIT_FSIZE, &lim) == 0);
	digest_of(3, d);
	CHECK(ig_measlog_add(l, d, "/bin/p3", true) == -EFBIG);
	CHECK(ig_measlog_add(l, d, "/bin/p3", true) == -EFBIG); /* not "already measured" */
	CHECK(setrlimit(RLIMIT_FSIZE, &old) == 0);
	signal(SIGXFSZ, oldsig);

	CHECK(size_of(pj(dir, "measurements")) == s_log);
	CHECK(size_of(pj(dir, "measurements.chain")) == s_chain);
	CHECK(size_of(pj(dir, "measurements.unknown")) == s_unk);
	CHECK(ig_measlog_count(l) == count && !memcmp(ig_measlog_aggregate(l), agg, 32));
	{
		char *now = slurp(pj(dir, "measurements"));

		CHECK_STR(now, before);
		free(now);
	}
	/* the retry succeeds once there is room */
	CHECK(ig_measlog_add(l, d, "/bin/p3", true) == 0);
	CHECK(ig_measlog_count(l) == count + 1);
	memcpy(agg, ig_measlog_aggregate(l), 32);
	CHECK(ig_measlog_verify(ig_measlog_path(l), agg, &res) == 0 && res.entries == count + 1);
	ig_measlog_close(l);
	OPEN(l, dir, 0);
	CHECK(ig_measlog_count(l) == count + 1 && !memcmp(ig_measlog_aggregate(l), agg, 32));
	ig_measlog_close(l);
	free(before);
	cleanup_dir();
}

TEST(measlog_failed_rotation_changes_nothing)
{
	const char *dir = fresh_dir() ? logdir_buf : "/nonexistent/log";
	struct ig_measlog_verify_result res;
	struct ig_measlog *l;
	struct rlimit old, lim;
	uint8_t d[32], agg[32];
	unsigned long long count;
	void (*oldsig)(int);
	char path[32], *before, *now;
	unsigned int i;

	OPEN(l, dir, 600);
	for (i = 1; size_of(pj(dir, "measurements")) < 450; i++) {
		digest_of(i, d);
		snprintf(path, sizeof(path), "/bin/p%u", i);
		CHECK(ig_measlog_add(l, d, path, false) == 0);
	}
	CHECK(!exists(pj(dir, "measurements.1")));
	memcpy(agg, ig_measlog_aggregate(l), 32);
	count = ig_measlog_count(l);
	before = slurp(pj(dir, "measurements"));
	/* The next entry rotates; the new file cannot be written. */
	CHECK(getrlimit(RLIMIT_FSIZE, &old) == 0);
	oldsig = signal(SIGXFSZ, SIG_IGN);
	lim = old;
	lim.rlim_cur = 50;
	CHECK(setrlimit(RLIMIT_FSIZE, &lim) == 0);
	digest_of(i, d);
	snprintf(path, sizeof(path), "/bin/p%u", i);
	CHECK(ig_measlog_add(l, d, path, false) == -EFBIG);
	CHECK(setrlimit(RLIMIT_FSIZE, &old) == 0);
	signal(SIGXFSZ, oldsig);
	CHECK(!exists(pj(dir, "measurements.new")) && !exists(pj(dir, "measurements.chain.new")));
	CHECK(!exists(pj(dir, "measurements.1")));
	now = slurp(pj(dir, "measurements"));
	CHECK_STR(now, before);
	free(now);
	CHECK(ig_measlog_count(l) == count && !memcmp(ig_measlog_aggregate(l), agg, 32));
	CHECK(ig_measlog_add(l, d, path, false) == 0);
	CHECK(exists(pj(dir, "measurements.1")) && ig_measlog_count(l) == 1);
	{
		const char *both[] = { pj(dir, "measurements.1"), pj(dir, "measurements") };

		CHECK(ig_measlog_verify_files(both, 2, ig_measlog_aggregate(l), &res) == 0);
		CHECK(res.entries == count + 1);
	}
	ig_measlog_close(l);
	free(before);
	cleanup_dir();
}

TEST(measlog_names_are_recorded_as_printed)
{
	const char *dir = fresh_dir() ? logdir_buf : "/nonexistent/log";
	struct ig_measlog_verify_result res;
	struct ig_measlog_entry *v;
	struct ig_measlog *l;
	uint8_t d[32], th[32];
	char *s, longname[IG_MEASLOG_NAME_MAX + 2];
	size_t n;

	digest_of(7, d);
	OPEN(l, dir, 0);
	CHECK(ig_measlog_add(l, d, "/opt/my app/x\ny\\z", false) == 0);
	/* IMA writes ' ' as '_', and so do we '\n': all record as /opt/my_app/x_y... */
	CHECK(ig_measlog_add(l, d, "/opt/my_app/x_y\\z", false) == 1);
	CHECK(ig_measlog_add(l, d, "", false) == -EINVAL);
	CHECK(ig_measlog_add(l, d, "boot_aggregate", false) == -EINVAL);
	CHECK(ig_measlog_add(l, d, "iotgate-carryover", false) == -EINVAL);
	memset(longname, 'a', sizeof(longname) - 1);
	longname[0] = '/';
	longname[sizeof(longname) - 1] = '\0';
	CHECK(ig_measlog_add(l, d, longname, false) == -ENAMETOOLONG);
	longname[sizeof(longname) - 2] = '\0';
	CHECK(ig_measlog_add(l, d, longname, false) == 0);
	CHECK(ig_measlog_count(l) == 3);
	s = slurp(ig_measlog_path(l));
	ref_template_hash(d, "/opt/my_app/x_y\\z", th);
	CHECK(count_lines(s) == 3);
	/* the line holds the name exactly as hashed, backslash and all */
	CHECK(strlen(line_of(s, 2)) > 18 &&
	      !strcmp(line_of(s, 2) + strlen(line_of(s, 2)) - 18, " /opt/my_app/x_y\\z"));
	CHECK(!strncmp(line_of(s, 2) + 3, hex32(th), 64));
	free(s);
	CHECK(ig_measlog_verify(ig_measlog_path(l), ig_measlog_aggregate(l), &res) == 0);
	CHECK(ig_measlog_read(ig_measlog_path(l), &v, &n, &res) == 0 && n == 3);
	if (n == 3) {
		CHECK_STR(v[1].name, "/opt/my_app/x_y\\z");
		CHECK(strlen(v[2].name) == IG_MEASLOG_NAME_MAX);
	}
	ig_measlog_entries_free(v, n);
	ig_measlog_close(l);
	cleanup_dir();
}

TEST(measlog_unknown_entries_in_the_sidecar)
{
	const char *dir = fresh_dir() ? logdir_buf : "/nonexistent/log";
	struct ig_measlog_verify_result res;
	struct ig_measlog_entry *v;
	struct ig_measlog *l;
	uint8_t d1[32], d2[32];
	char want[128], *s;
	size_t n;

	digest_of(1, d1);
	digest_of(2, d2);
	OPEN(l, dir, 0);
	CHECK(ig_measlog_add(l, d1, "/tmp/unlisted", true) == 0);
	CHECK(ig_measlog_add(l, d2, "/usr/bin/listed", false) == 0);
	ig_measlog_close(l);
	s = slurp(pj(dir, "measurements.unknown"));
	snprintf(want, sizeof(want), "2 %s\n", hex32(d1));
	CHECK_STR(s, want);
	free(s);
	/* a stale mark (wrong digest) is ignored */
	snprintf(want, sizeof(want), "2 %s\n3 %s\n", hex32(d1), hex32(d1));
	spit(pj(dir, "measurements.unknown"), want);
	CHECK(ig_measlog_read(pj(dir, "measurements"), &v, &n, &res) == 0 && n == 3);
	if (n == 3) {
		CHECK(!v[0].unknown && v[1].unknown && !v[2].unknown);
		CHECK_STR(v[1].name, "/tmp/unlisted");
		CHECK(v[2].line == 3);
	}
	ig_measlog_entries_free(v, n);
	/* the log line itself stays pure ima-ng */
	s = slurp(pj(dir, "measurements"));
	CHECK(strstr(line_of(s, 2), "unknown") == NULL);
	free(s);
	cleanup_dir();
}

TEST(measlog_recovers_from_interrupted_writes)
{
	uint8_t agg[32], d[32];
	const char *dir = make_log(4, agg);
	struct ig_measlog_verify_result res;
	struct ig_measlog *l;
	char *log, *chain, *s;

	CHECK(dir != NULL);
	if (!dir)
		return;
	log = slurp(pj(dir, "measurements"));
	chain = slurp(pj(dir, "measurements.chain"));

	/* crash between a log line and its chain line: the chain is completed */
	s = strdup(chain);
	s[strlen(s) - 65 - 20] = '\0'; /* last line gone, the one before it partial */
	spit(pj(dir, "measurements.chain"), s);
	free(s);
	/* crash during a rotation before the new log was in place */
	spit(pj(dir, "measurements.new"), "partial");
	spit(pj(dir, "measurements.chain.new"), "partial");
	/* crash while writing an unknown mark */
	spit(pj(dir, "measurements.unknown"), "2 abc");
	OPEN(l, dir, 0);
	CHECK(ig_measlog_count(l) == 5 && !memcmp(ig_measlog_aggregate(l), agg, 32));
	CHECK(!exists(pj(dir, "measurements.new")) && !exists(pj(dir, "measurements.chain.new")));
	s = slurp(pj(dir, "measurements.chain"));
	CHECK_STR(s, chain);
	free(s);
	CHECK(size_of(pj(dir, "measurements.unknown")) == 0);
	digest_of(9, d);
	CHECK(ig_measlog_add(l, d, "/bin/p9", true) == 0);
	memcpy(agg, ig_measlog_aggregate(l), 32);
	ig_measlog_close(l);
	CHECK(ig_measlog_verify(pj(dir, "measurements"), agg, &res) == 0);

	/* crash after the new log replaced the old one, before its chain did */
	OPEN(l, dir, 700);
	digest_of(10, d);
	CHECK(ig_measlog_add(l, d, "/bin/p10", false) == 0);
	digest_of(11, d);
	CHECK(ig_measlog_add(l, d, "/bin/p11", false) == 0);
	CHECK(exists(pj(dir, "measurements.1")));
	memcpy(agg, ig_measlog_aggregate(l), 32);
	ig_measlog_close(l);
	CHECK(rename(pj(dir, "measurements.chain"), pj(dir, "measurements.chain.new")) == 0);
	CHECK(link(pj(dir, "measurements.1.chain"), pj(dir, "measurements.chain")) == 0);
	OPEN(l, dir, 700);
	CHECK(!memcmp(ig_measlog_aggregate(l), agg, 32));
	ig_measlog_close(l);
	CHECK(ig_measlog_verify(pj(dir, "measurements"), agg, &res) == 0);

	/* a partial last log line is not repaired silently */
	s = slurp(pj(dir, "measurements"));
	s[strlen(s) - 1] = '\0';
	spit(pj(dir, "measurements"), s);
	free(s);
	CHECK(ig_measlog_open(&l, dir, 0) == -EBADMSG);
	free(log);
	free(chain);
	cleanup_dir();
}

/* With isolation (iotgated), records and the reopen walk hash in children: same log. */
TEST(measlog_isolated_matches_inline)
{
	uint8_t inline_agg[32], iso_agg[32], d[32];
	struct ig_measlog *l;
	char *a, *b;
	const char *dir;

	dir = make_log(5, inline_agg);
	CHECK(dir != NULL);
	a = dir ? slurp(pj(dir, "measurements")) : NULL;
	ig_isolate_set(true);
	dir = make_log(5, iso_agg);
	CHECK(dir != NULL);
	b = dir ? slurp(pj(dir, "measurements")) : NULL;
	CHECK(a && b && !strcmp(a, b));
	CHECK(!memcmp(inline_agg, iso_agg, 32));
	/* Reopened: the isolated walk verifies it, duplicates stay out. */
	OPEN(l, dir, 0);
	CHECK(ig_measlog_count(l) == 6);
	CHECK(!memcmp(ig_measlog_aggregate(l), iso_agg, 32));
	digest_of(3, d);
	CHECK(ig_measlog_add(l, d, "/bin/p3", false) == 1);
	digest_of(6, d);
	CHECK(ig_measlog_add(l, d, "/bin/p6", false) == 0);
	CHECK(ig_measlog_count(l) == 7);
	ig_measlog_close(l);
	ig_isolate_set(false);
	free(a);
	free(b);
	cleanup_dir();
}
