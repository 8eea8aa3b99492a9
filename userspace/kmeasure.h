/* SPDX-License-Identifier: GPL-2.0-only */
/*
 * In-kernel measurement: picks the best source of file digests at the moment
 * of exec/mmap, loads bpf/kmeasure.bpf.c for it and delivers its records
 * (struct ig_kmeas_event, bpf/iotgate.h).
 *
 * Sources, best first:
 *  "module"     kfunc iotgate_file_sha256 of kmod/iotgate_measure.ko (loaded,
 *               or loaded here from opts->module_path): cached per inode;
 *  "ima"        bpf_ima_file_hash: hashes in the kernel on each new version;
 *  "userspace"  nothing loaded: the daemon hashes files itself, after the fact.
 * Each in-kernel source must pass a self-test after it is attached (the
 * caller maps /proc/self/exe executable once and the program must measure
 * it), else the next one is tried. Kernels without BPF LSM, or that refuse
 * sleepable LSM programs (this project's CI host), end at "userspace".
 *
 * The programs are not pinned: they measure while the handle is open.
 * Library code: nothing here logs; ig_kmeasure_reason() says why a better
 * source was not used, for the caller to log.
 */
#ifndef IG_KMEASURE_H
#define IG_KMEASURE_H

#include <stdbool.h>
#include <stddef.h>
#include <json-c/json.h>
#include "iotgate.h"

struct ig_kmeasure;
struct ig_verified;

/* Called for each record; a non-zero return stops the current poll. */
typedef int (*ig_kmeas_fn)(void *ctx, const struct ig_kmeas_event *ev);

struct ig_kmeasure_opts {
	/*
	 * iotgate_measure.ko to load with finit_module(2) when the module is
	 * not loaded yet; NULL: use the module only if something loaded it.
	 */
	const char *module_path;
	/* IG_KMS_* to use only that source (tests); -1: the best available. */
	int only;
	/*
	 * Lazy appraisal: exec.bpf.c's ig_manifest and ig_cfg maps, whose
	 * IG_FILE_F_UNAPPRAISED entries the programs appraise at first use.
	 * Attach after exec.bpf.c's programs (newest run first).
	 */
	bool lazy;
	int manifest_fd;
	int cfg_fd;
};

/*
 * Opens the best source. Returns its IG_KMS_* (>= 0) with *out set, or a
 * negative errno (out of memory, bad arguments) with *out NULL. Failing to
 * use an in-kernel source is not an error: it ends at IG_KMS_USERSPACE.
 */
int ig_kmeasure_open(struct ig_kmeasure **out, ig_kmeas_fn cb, void *ctx);
int ig_kmeasure_open_opts(struct ig_kmeasure **out, const struct ig_kmeasure_opts *opts,
			  ig_kmeas_fn cb, void *ctx);

/*
 * ig_kmeasure_open_opts() in two halves, so that the verifier's part can run
 * in another thread while exec.bpf.c's programs are attached: prepare loads
 * the best source's programs (0, or a negative errno with *out NULL), start
 * attaches them (after exec.bpf.c's) and returns what open_opts returns,
 * trying the next source if the attach fails. opts' map fds must stay open
 * until prepare returns.
 */
int ig_kmeasure_prepare(struct ig_kmeasure **out, const struct ig_kmeasure_opts *opts,
			ig_kmeas_fn cb, void *ctx);
int ig_kmeasure_start(struct ig_kmeasure *km);
/*
 * 1 if the kernel can likely hash files for lazy appraisal (BPF LSM with the
 * module or bpf_ima_file_hash), else 0 with why. ig_kmeasure_lazy() after
 * the open is the answer that counts.
 */
int ig_kmeasure_can_hash(char *why, size_t len);
/* Appraises manifest entries lazily (a kernel source, opened with opts.lazy). */
bool ig_kmeasure_lazy(const struct ig_kmeasure *km);
/* "module", "ima" or "userspace" */
const char *ig_kmeasure_source(const struct ig_kmeasure *km);
int ig_kmeasure_source_id(const struct ig_kmeasure *km);
const char *ig_kmeasure_source_name(int source);
/* Why the better sources were not used, "" if none was skipped. */
const char *ig_kmeasure_reason(const struct ig_kmeasure *km);
/* Epoll fd of the ring buffer (readable when records wait); -1 for userspace. */
int ig_kmeasure_fd(const struct ig_kmeasure *km);
/* Delivers waiting records to cb. Returns how many, or negative errno. */
int ig_kmeasure_poll(struct ig_kmeasure *km);
/* Sums the per-CPU counters (IG_KMC_*); zeros for userspace. */
int ig_kmeasure_counters(const struct ig_kmeasure *km, __u64 out[IG_KMC_MAX]);
/*
 * Adds "measure_source" and "kmeasure" (source, reason, program counters
 * and, with the module, its counters and settings) to a status object.
 */
void ig_kmeasure_status(const struct ig_kmeasure *km, struct json_object *status);
/*
 * Detaches (on false) or re-attaches (on true) the programs; the ring buffer
 * and the record of what was reported stay. 0, -ENOENT for userspace, or
 * negative errno.
 */
int ig_kmeasure_enable(struct ig_kmeasure *km, bool on);
/*
 * The manifest in force: files bigger than its largest entry are not hashed
 * in the kernel (they cannot match). NULL and userspace are fine.
 */
void ig_kmeasure_set_manifest(struct ig_kmeasure *km, const struct ig_verified *v, size_t n);
/* Detaches the programs and frees the handle (NULL is fine). */
void ig_kmeasure_close(struct ig_kmeasure *km);

#endif
