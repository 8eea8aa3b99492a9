/* SPDX-License-Identifier: GPL-2.0-only */
/*
 * The daemon's measurement recorder: turns first-use events from the BPF
 * programs into entries of the IMA-format measurement log (measlog.h).
 * Manifest entries are logged with their manifest path and digest; in audit
 * mode an exec of a file outside the manifest is hashed here and logged as
 * unknown. Entries that cannot be written (full disk) are kept, bounded, and
 * written by the next successful append; the state reports them.
 */
#ifndef IG_MEASURE_H
#define IG_MEASURE_H

#include <stdbool.h>
#include <json-c/json.h>
#include "iotgate.h"
#include "manifest.h"

struct ig_measure;

/*
 * dir: log directory; max_bytes: rotation size (0: default). A log that
 * fails verification is moved aside (reported in status) and a new one begun.
 * Returns 0 or negative errno; on -errno the recorder still exists (*out set)
 * and reports the failure, so enforcement never depends on the log.
 */
int ig_measure_open(struct ig_measure **out, const char *dir, size_t max_bytes);
/* (Re)indexes the active manifest: identity -> manifest path. */
int ig_measure_set_manifest(struct ig_measure *ms, const struct ig_manifest *m,
			    const struct ig_verified *v, size_t n);
/*
 * Handles one event: IG_EV_MEASURE is logged; with unknown_too, an audited
 * exec of a file outside the manifest is hashed and logged as unknown; so is
 * an exec the kill tier killed, always (its image was loaded).
 * Returns 0, 1 if nothing was logged, or negative errno (log write failure).
 */
int ig_measure_event(struct ig_measure *ms, const struct ig_event *ev, bool unknown_too);
/*
 * on: the kernel measures every exec (kmeasure source ima or module) and its
 * records, with the kernel's path, log unknown files; the daemon then does
 * not hash audited execs itself.
 */
void ig_measure_set_kernel_hashes(struct ig_measure *ms, bool on);
/*
 * A digest computed in the kernel at exec/mmap time (kmeasure.h) is logged
 * for the file's manifest path (or the kernel's path if it is not in the
 * manifest, as unknown). Sets *mismatch if the kernel's digest differs from
 * the manifest's for that identity. Returns like ig_measure_event().
 */
int ig_measure_kernel(struct ig_measure *ms, const struct ig_kmeas_event *ev, bool *mismatch);
/* An exec the kernel could not hash (its record has err): counted unknown_unhashed. */
void ig_measure_kernel_unhashed(struct ig_measure *ms);
/* Adds "measurement_log" to a status object and degraded reasons to `reasons`. */
void ig_measure_status(struct ig_measure *ms, struct json_object *status,
		       struct json_object *reasons);
void ig_measure_close(struct ig_measure *ms);

#endif
