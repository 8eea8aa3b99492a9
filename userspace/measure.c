// SPDX-License-Identifier: GPL-2.0-only
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <sys/stat.h>
#include "hash.h"
#include "measlog.h"
#include "measure.h"
#include "tpm.h"

#define MAX_PENDING 4096
#define MAX_UNEXTENDED 4096 /* written, not yet in the PCR (TPM unavailable) */
#define UNKNOWN_CACHE 1024 /* direct-mapped: unknown file versions already logged */

struct idx {
	struct ig_file_key key;
	uint8_t digest[IG_SHA256_LEN];
	char *path;
};

struct pending {
	uint8_t digest[IG_SHA256_LEN];
	char *path;
	bool unknown;
};

struct ig_measure {
	char *dir;
	size_t max_bytes;
	struct ig_measlog *log;
	int open_err; /* why the log could not be opened, 0 if it is open */
	char quarantined[4096]; /* where a tampered log was moved, "" if none */
	struct idx *idx;
	size_t nidx;
	struct pending pend[MAX_PENDING];
	size_t npend;
	unsigned long long dropped; /* pending queue overflowed */
	unsigned long long write_errors;
	int last_err;
	unsigned long long unknown_unhashed; /* audited execs we could not hash */
	struct {
		struct ig_file_key key;
		__s64 ctime_sec;
		__u32 ctime_nsec;
	} seen[UNKNOWN_CACHE]; /* so an exec storm of one unknown file is hashed once */
	uint64_t max_unknown; /* unknown files up to this size are hashed */
	bool kernel_hashes; /* the kernel measures every exec (kmeasure): leave unknown ones to it */
	unsigned long long kernel_measured; /* entries whose digest the kernel computed */
	unsigned long long kernel_mismatch; /* ... and that differed from the manifest */
	/* TPM anchoring (tpm.h): pcr < 0 without a TPM. */
	int pcr;
	uint8_t boot_aggregate[IG_SHA256_LEN];
	/* Template hashes written to the log but not yet extended, in log order. */
	uint8_t (*unext)[IG_SHA256_LEN];
	size_t nunext;
	bool unext_lost; /* more than MAX_UNEXTENDED: the PCR can never match again */
	bool pcr_mismatch; /* at open, the PCR was neither the log's value nor zero */
	unsigned long long extend_errors;
	char tpm_why[IG_TPM_WHY]; /* the last TPM failure, "" if none */
};

static int cmp_key(const void *a, const void *b)
{
	const struct ig_file_key *x = a, *y = b;

	if (x->dev != y->dev)
		return x->dev < y->dev ? -1 : 1;
	return x->ino < y->ino ? -1 : x->ino > y->ino;
}

/*
 * Extends the PCR with what the log holds and the PCR lacks, oldest first.
 * A failure is kept (status reason tpm_extend_failure) and retried with the
 * next record; it never holds up the log, let alone an exec.
 */
static void extend_pending(struct ig_measure *ms)
{
	size_t done;
	int ret;

	if (ms->pcr < 0 || !ms->nunext)
		return;
	ret = ig_tpm_extend(ms->pcr, (const uint8_t(*)[IG_SHA256_LEN])ms->unext, ms->nunext, &done,
			    ms->tpm_why);
	memmove(ms->unext, ms->unext + done, (ms->nunext - done) * IG_SHA256_LEN);
	ms->nunext -= done;
	if (ret) {
		ms->extend_errors++;
		return;
	}
	ms->tpm_why[0] = '\0';
}

static void queue_extend(struct ig_measure *ms, const uint8_t th[IG_SHA256_LEN])
{
	if (ms->pcr < 0)
		return;
	if (ms->nunext == MAX_UNEXTENDED) {
		ms->unext_lost = true;
		return;
	}
	memcpy(ms->unext[ms->nunext++], th, IG_SHA256_LEN);
	extend_pending(ms);
}

/*
 * After opening the log: the PCR must equal the log's value since boot. It
 * does after a restart, and on a new boot where the kernel's IMA extended
 * the very same boot_aggregate record into PCR 10. A PCR that stands at an
 * earlier entry of the current file (zero before a boot's first entry; a
 * crash between lines and their extension) gets the entries after it.
 * Anything else is reported, never papered over.
 */
static void tpm_sync(struct ig_measure *ms)
{
	struct ig_measlog_verify_result res;
	struct ig_measlog_entry *e = NULL;
	uint8_t pcr[1][IG_SHA256_LEN];
	unsigned long long k;
	size_t n = 0;

	if (ig_tpm_pcr_read(ms->pcr, 1, pcr, ms->tpm_why)) {
		ms->extend_errors++;
		ms->pcr_mismatch = true;
		return;
	}
	if (!memcmp(pcr[0], ig_measlog_aggregate(ms->log), IG_SHA256_LEN))
		return;
	if (ig_measlog_position(ms->log, pcr[0], &k) ||
	    ig_measlog_read(ig_measlog_path(ms->log), &e, &n, &res) || k > n) {
		ig_measlog_entries_free(e, n);
		ms->pcr_mismatch = true;
		snprintf(ms->tpm_why, sizeof(ms->tpm_why),
			 "PCR %d does not hold the log's value since boot", ms->pcr);
		return;
	}
	for (size_t i = k; i < n; i++)
		queue_extend(ms, e[i].template_hash);
	ig_measlog_entries_free(e, n);
}

static int open_log(struct ig_measure *ms)
{
	int ret = ig_measlog_open_boot(&ms->log, ms->dir, ms->max_bytes, ms->boot_aggregate);

	if (ret == -EBADMSG) {
		/* A log that does not verify is evidence: keep it aside, start anew. */
		ret = ig_measlog_quarantine(ms->dir, ms->quarantined, sizeof(ms->quarantined));
		if (!ret)
			ret = ig_measlog_open_boot(&ms->log, ms->dir, ms->max_bytes,
						   ms->boot_aggregate);
	}
	ms->open_err = ret;
	if (ret)
		ms->log = NULL;
	else if (ms->pcr >= 0)
		tpm_sync(ms);
	return ret;
}

/* Where a TPM exists: its PCR and the boot_aggregate (PCRs 0-9). */
static void tpm_open(struct ig_measure *ms)
{
	int pcr;

	ms->pcr = -1;
	if (!ig_tpm_present())
		return;
	ms->unext = calloc(MAX_UNEXTENDED, IG_SHA256_LEN);
	if (!ms->unext) {
		snprintf(ms->tpm_why, sizeof(ms->tpm_why), "%s", strerror(ENOMEM));
		return;
	}
	if (ig_tpm_boot_aggregate(ms->boot_aggregate, ms->tpm_why) ||
	    (pcr = ig_tpm_choose_pcr(ms->boot_aggregate, ms->tpm_why)) < 0) {
		/* A TPM we cannot read: the log is self-reported, and says why. */
		memset(ms->boot_aggregate, 0, IG_SHA256_LEN);
		ms->extend_errors++;
		return;
	}
	ms->pcr = pcr;
}

int ig_measure_open(struct ig_measure **out, const char *dir, size_t max_bytes)
{
	struct ig_measure *ms = calloc(1, sizeof(*ms));

	*out = ms;
	if (!ms)
		return -ENOMEM;
	ms->pcr = -1;
	ms->dir = strdup(dir);
	ms->max_bytes = max_bytes;
	if (!ms->dir)
		return -ENOMEM;
	tpm_open(ms);
	return open_log(ms);
}

int ig_measure_set_manifest(struct ig_measure *ms, const struct ig_manifest *m,
			    const struct ig_verified *v, size_t n)
{
	struct idx *idx = calloc(n ? n : 1, sizeof(*idx));

	if (!idx)
		return -ENOMEM;
	for (size_t i = 0; i < n; i++) {
		idx[i].key = v[i].key;
		memcpy(idx[i].digest, v[i].val.digest, IG_SHA256_LEN);
		idx[i].path = strdup(m->e[v[i].entry].path);
		if (!idx[i].path) {
			while (i--)
				free(idx[i].path);
			free(idx);
			return -ENOMEM;
		}
	}
	qsort(idx, n, sizeof(*idx), cmp_key);
	/*
	 * Unknown files are hashed here, on the event loop: up to the largest
	 * entry (nothing bigger can match) or 1 GiB, so that audit mode on a
	 * small manifest still measures ordinary programs; a sparse 1 PiB file
	 * is counted unhashed at once.
	 */
	ms->max_unknown = IG_HASH_MAX_FILE_DEFAULT;
	for (size_t i = 0; i < n; i++)
		if (v[i].size > ms->max_unknown)
			ms->max_unknown = v[i].size;
	for (size_t i = 0; i < ms->nidx; i++)
		free(ms->idx[i].path);
	free(ms->idx);
	ms->idx = idx;
	ms->nidx = n;
	return 0;
}

static int flush_pending(struct ig_measure *ms)
{
	size_t done = 0;
	int ret = 0;

	while (done < ms->npend) {
		struct pending *p = &ms->pend[done];

		ret = ig_measlog_add(ms->log, p->digest, p->path, p->unknown);
		if (ret < 0)
			break;
		if (ret == 0)
			queue_extend(ms, ig_measlog_last(ms->log));
		free(p->path);
		done++;
	}
	memmove(ms->pend, ms->pend + done, (ms->npend - done) * sizeof(*ms->pend));
	ms->npend -= done;
	return ret < 0 ? ret : 0;
}

static int record(struct ig_measure *ms, const uint8_t digest[IG_SHA256_LEN], const char *path,
		  bool unknown)
{
	struct pending *p;
	int ret;

	if (!ms->log && open_log(ms))
		ret = ms->open_err;
	else if (!(ret = flush_pending(ms)) &&
		 (ret = ig_measlog_add(ms->log, digest, path, unknown)) >= 0) {
		if (ret == 0)
			queue_extend(ms, ig_measlog_last(ms->log));
		else
			extend_pending(ms); /* retry a failed extension with each record */
		return ret;
	}
	/* Could not write: keep it for the next attempt (bounded). */
	ms->write_errors++;
	ms->last_err = ret;
	if (ms->npend == MAX_PENDING) {
		ms->dropped++;
		return ret;
	}
	p = &ms->pend[ms->npend];
	p->path = strdup(path);
	if (!p->path) {
		ms->dropped++;
		return ret;
	}
	memcpy(p->digest, digest, IG_SHA256_LEN);
	p->unknown = unknown;
	ms->npend++;
	return ret;
}

/*
 * The name an exec event gives its file, when it is one: an absolute path,
 * but not a descriptor's (/dev/fd/N, /proc/self/fd/N, which the process may
 * have closed since).
 */
static bool names_file(const char *path)
{
	return path[0] == '/' && strncmp(path, "/dev/fd/", 8) && strncmp(path, "/proc/", 6);
}

/*
 * Opens the file an audited exec ran: /proc/PID/exe while the process runs
 * (the kernel's file, whatever name the program used: relative, a
 * descriptor, deleted, another mount namespace; its kernel path in name),
 * else the absolute path it named. Only if it is still the file of the event.
 */
static int open_ran(const struct ig_event *ev, char name[IG_PATH_LEN], struct ig_file_key *key,
		    struct ig_file_val *val)
{
	char proc[32];
	ssize_t n;
	int fd, ret;

	snprintf(proc, sizeof(proc), "/proc/%u/exe", ev->pid);
	fd = open(proc, O_RDONLY | O_CLOEXEC | O_NOCTTY | O_NONBLOCK);
	n = fd < 0 ? -1 : readlink(proc, name, IG_PATH_LEN - 1);
	if (n > 0 && !ig_file_identity(fd, key, val) && key->dev == ev->dev &&
	    key->ino == ev->ino) {
		name[n] = '\0';
		return fd;
	}
	if (fd >= 0)
		close(fd);
	if (!names_file(ev->path))
		return -ENOENT; /* the process is gone, and the name is not the file's */
	fd = open(ev->path, O_RDONLY | O_CLOEXEC | O_NOCTTY | O_NONBLOCK);
	if (fd < 0)
		return -errno;
	ret = ig_file_identity(fd, key, val);
	if (!ret && (key->dev != ev->dev || key->ino != ev->ino))
		ret = -ESTALE; /* replaced since it ran: do not log the wrong digest */
	if (ret) {
		close(fd);
		return ret;
	}
	snprintf(name, IG_PATH_LEN, "%s", ev->path);
	return fd;
}

/*
 * Hashes the file an audited exec ran, if it is still the same file; name
 * gets the path to log. Returns 1 if this version (identity and ctime) was
 * hashed and logged before.
 */
static int hash_unknown(struct ig_measure *ms, const struct ig_event *ev,
			uint8_t digest[IG_SHA256_LEN], char name[IG_PATH_LEN])
{
	size_t slot = (ev->dev * 31 + ev->ino) % UNKNOWN_CACHE;
	uint64_t max = ms->max_unknown ? ms->max_unknown : IG_HASH_MAX_FILE_DEFAULT;
	struct ig_file_key key;
	struct ig_file_val val;
	struct stat st;
	int fd, ret = 0;

	fd = open_ran(ev, name, &key, &val);
	if (fd < 0)
		return fd;
	if (ms->seen[slot].key.dev == key.dev && ms->seen[slot].key.ino == key.ino &&
	    ms->seen[slot].ctime_sec == val.ctime_sec &&
	    ms->seen[slot].ctime_nsec == val.ctime_nsec)
		ret = 1;
	if (!ret && fstat(fd, &st) == 0 && (uint64_t)st.st_size > max)
		ret = -EFBIG; /* not even read: a sparse file costs nothing to make */
	if (!ret)
		ret = ig_sha256_fd_max(fd, max, digest);
	if (!ret) {
		ms->seen[slot].key = key;
		ms->seen[slot].ctime_sec = val.ctime_sec;
		ms->seen[slot].ctime_nsec = val.ctime_nsec;
	}
	close(fd);
	return ret;
}

void ig_measure_set_kernel_hashes(struct ig_measure *ms, bool on)
{
	ms->kernel_hashes = on;
}

int ig_measure_event(struct ig_measure *ms, const struct ig_event *ev, bool unknown_too)
{
	uint8_t digest[IG_SHA256_LEN];
	char name[IG_PATH_LEN];
	struct idx *hit;
	int ret;

	if (ev->type == IG_EV_MEASURE) {
		struct ig_file_key key = { .dev = ev->dev, .ino = ev->ino };

		hit = bsearch(&key, ms->idx, ms->nidx, sizeof(*ms->idx), cmp_key);
		/* A measure event from before a manifest swap names a path we no longer index. */
		return record(ms, ev->digest, hit ? hit->path : ev->path, false);
	}
	/*
	 * Unknown code that ran (audit), or that the kill tier loaded and then
	 * killed: its image was in memory, so it is measured like IMA does.
	 */
	if (ev->type != IG_EV_EXEC ||
	    !((unknown_too && ev->verdict == IG_VERDICT_AUDIT) || ev->verdict == IG_VERDICT_KILL))
		return 1;
	/* The kernel's record (kmeasure: its digest, its d_path) is the evidence. */
	if (ms->kernel_hashes && ev->verdict == IG_VERDICT_AUDIT)
		return 1;
	ret = hash_unknown(ms, ev, digest, name);
	if (ret == 1)
		return 1;
	if (ret) {
		ms->unknown_unhashed++;
		return 1;
	}
	return record(ms, digest, name, true);
}

void ig_measure_kernel_unhashed(struct ig_measure *ms)
{
	/* With kernel hashes the exec event path hashed nothing (ig_measure_event). */
	if (ms->kernel_hashes)
		ms->unknown_unhashed++;
}

int ig_measure_kernel(struct ig_measure *ms, const struct ig_kmeas_event *ev, bool *mismatch)
{
	struct ig_file_key key = { .dev = ev->dev, .ino = ev->ino };
	struct idx *hit = bsearch(&key, ms->idx, ms->nidx, sizeof(*ms->idx), cmp_key);
	char path[IG_PATH_LEN];

	*mismatch = hit && memcmp(hit->digest, ev->digest, IG_SHA256_LEN);
	if (*mismatch)
		ms->kernel_mismatch++;
	memcpy(path, ev->path, sizeof(path));
	path[sizeof(path) - 1] = '\0';
	ms->kernel_measured++;
	/* A mismatching file is logged as what it is: unknown content. */
	return record(ms, ev->digest, hit ? hit->path : path, !hit || *mismatch);
}

void ig_measure_status(struct ig_measure *ms, struct json_object *status,
		       struct json_object *reasons)
{
	struct json_object *o = json_object_new_object();
	char hex[IG_SHA256_HEX + 1], msg[4608];

	if (ms->log) {
		ig_hex(ig_measlog_aggregate(ms->log), IG_SHA256_LEN, hex);
		json_object_object_add(o, "path", json_object_new_string(ig_measlog_path(ms->log)));
		json_object_object_add(o, "entries",
				       json_object_new_uint64(ig_measlog_count(ms->log)));
		/* entries since boot: the archived files of this boot hold the rest */
		json_object_object_add(o, "first_entry",
				       json_object_new_uint64(ig_measlog_first(ms->log)));
		json_object_object_add(o, "aggregate", json_object_new_string(hex));
		/* Without a TPM nothing outside the device vouches for the aggregate. */
		json_object_object_add(
			o, "attestation",
			json_object_new_string(ms->pcr < 0 ? "self-reported" : "tpm"));
		if (ms->pcr >= 0) {
			json_object_object_add(o, "pcr", json_object_new_int(ms->pcr));
			ig_hex(ms->boot_aggregate, IG_SHA256_LEN, hex);
			json_object_object_add(o, "boot_aggregate", json_object_new_string(hex));
			json_object_object_add(o, "unextended", json_object_new_uint64(ms->nunext));
			json_object_object_add(o, "extend_errors",
					       json_object_new_uint64(ms->extend_errors));
		}
	} else {
		json_object_object_add(o, "path", NULL);
	}
	json_object_object_add(o, "pending", json_object_new_uint64(ms->npend));
	json_object_object_add(o, "dropped", json_object_new_uint64(ms->dropped));
	json_object_object_add(o, "write_errors", json_object_new_uint64(ms->write_errors));
	json_object_object_add(o, "unknown_unhashed", json_object_new_uint64(ms->unknown_unhashed));
	json_object_object_add(o, "kernel_measured", json_object_new_uint64(ms->kernel_measured));
	json_object_object_add(o, "kernel_mismatch", json_object_new_uint64(ms->kernel_mismatch));
	if (ms->quarantined[0])
		json_object_object_add(o, "quarantined", json_object_new_string(ms->quarantined));
	json_object_object_add(status, "measurement_log", o);

	if (!ms->log || ms->npend || ms->dropped) {
		struct json_object *r = json_object_new_object();

		snprintf(
			msg, sizeof(msg),
			"measurement log %s/%s cannot be written (%s): %zu entries pending, %llu dropped",
			ms->dir, IG_MEASLOG_FILE,
			strerror(-(ms->log ? ms->last_err : ms->open_err)), ms->npend, ms->dropped);
		json_object_object_add(r, "code", json_object_new_string("log_write_failure"));
		json_object_object_add(r, "message", json_object_new_string(msg));
		json_object_array_add(reasons, r);
	}
	if (ms->tpm_why[0] || ms->nunext || ms->unext_lost || ms->pcr_mismatch) {
		struct json_object *r = json_object_new_object();

		char where[24] = "";

		if (ms->pcr >= 0)
			snprintf(where, sizeof(where), " (PCR %d)", ms->pcr);
		snprintf(msg, sizeof(msg),
			 "the measurement log is not anchored in the TPM%s: %s%s; %zu entries "
			 "not extended yet",
			 where, ms->tpm_why[0] ? ms->tpm_why : "extension pending",
			 ms->unext_lost ? "; entries were lost, the PCR cannot match until reboot" :
					  "",
			 ms->nunext);
		json_object_object_add(r, "code", json_object_new_string("tpm_extend_failure"));
		json_object_object_add(r, "message", json_object_new_string(msg));
		json_object_array_add(reasons, r);
	}
	if (ms->quarantined[0]) {
		struct json_object *r = json_object_new_object();

		snprintf(
			msg, sizeof(msg),
			"the measurement log did not verify and was moved to %s; a new log was started",
			ms->quarantined);
		json_object_object_add(r, "code", json_object_new_string("log_tampered"));
		json_object_object_add(r, "message", json_object_new_string(msg));
		json_object_array_add(reasons, r);
	}
}

void ig_measure_close(struct ig_measure *ms)
{
	if (!ms)
		return;
	if (ms->log) {
		flush_pending(ms);
		ig_measlog_sync(ms->log);
		ig_measlog_close(ms->log);
	}
	for (size_t i = 0; i < ms->nidx; i++)
		free(ms->idx[i].path);
	for (size_t i = 0; i < ms->npend; i++)
		free(ms->pend[i].path);
	free(ms->idx);
	free(ms->unext);
	free(ms->dir);
	free(ms);
}
