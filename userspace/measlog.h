/* SPDX-License-Identifier: GPL-2.0-only */
/*
 * Measurement log (issue #3, "Measured execution"): every first execution or
 * executable mapping of a file version is appended to a file in IMA's ima-ng
 * ASCII format, with a running SHA-256 aggregate extended the way IMA extends
 * PCR 10. The log lives in a file (never in kernel memory), is bounded and
 * rotated, and survives a daemon restart without losing or duplicating
 * entries. Not thread-safe: the caller serializes calls on one handle.
 *
 * Line format (ima_fs.c ima_ascii_measurements_show, template "ima-ng"):
 *
 *	10 <template-hash> ima-ng sha256:<digest> <name>\n
 *
 *	"10"           the PCR (CONFIG_IMA_MEASURE_PCR_IDX, printed "%2d ")
 *	template-hash  64 lowercase hex digits: SHA-256 of the template data
 *	digest         64 lowercase hex digits: SHA-256 of the file's content
 *	name           the path, see "Names" below
 *
 * Template data and template hash (ima_template_lib.c
 * ima_eventdigest_ng_init -> ima_eventdigest_init_common ->
 * ima_write_template_field_data; ima_crypto.c ima_calc_field_array_hash):
 * for each field of ima-ng ("d-ng|n-ng"), a u32 length in little endian
 * (IMA's canonical format, ima_canonical_fmt) followed by the field data:
 *
 *	d-ng: le32(40) "sha256" ':' '\0' <32-byte digest>
 *	n-ng: le32(strlen(name) + 1) <name> '\0'
 *
 *	template-hash = SHA-256(le32(40) || "sha256:\0" || digest ||
 *				le32(len + 1) || name || "\0")
 *
 * Classic IMA prints the SHA-1 template hash in ascii_runtime_measurements;
 * for the SHA-256 PCR bank it computes the same template data hashed with
 * SHA-256 (ima_calc_field_array_hash runs once per bank) and newer kernels
 * print that one in ascii_runtime_measurements_sha256. We have no SHA-1 bank,
 * so the template hash here is the SHA-256 one: this file reads like IMA's
 * sha256 list.
 *
 * Aggregate (ima_queue.c ima_pcr_extend, as the TPM extends a SHA-256 PCR):
 *
 *	aggregate_0 = 32 zero bytes
 *	aggregate_i = SHA-256(aggregate_{i-1} || template-hash_i)
 *
 * First entry: "boot_aggregate" (ima_init.c ima_add_boot_aggregate). IMA
 * fills its digest from TPM PCRs 0-9 (ima_crypto.c ima_calc_boot_aggregate)
 and with no TPM leaves it at zero. iotgated does the same: where a TPM
 * exists (tpm.h) the digest is SHA-256(PCR0 || ... || PCR9) of the SHA-256
 * bank and every entry's template hash is extended into a PCR after the
 * line is written (measure.c), so that the PCR equals the aggregate from
 * boot; without one the digest is 32 zero bytes and the aggregate is
 * self-reported (nothing anchors it: root can rewrite log and aggregate
 * together):
 *
 *	10 36f1cd67...9078a0 ima-ng sha256:0000...0000 boot_aggregate
 *
 * Names: IMA stores the name with every ' ' replaced by '_'
 * (ima_write_template_field_data, so that the ASCII list stays
 * space-separated) and prints it raw; we do the same, so the recorded name
 * of "/opt/my app" is "/opt/my_app", and a '\\' is printed as one
 * backslash. IMA would print a '\n' in a name raw, which splits the entry
 * over two lines and breaks every reader of the ASCII list (Keylime's
 * included); we record '\n' as '_' too, the same rule for the same reason.
 * The template hash is over the recorded name, exactly as printed, so every
 * line hashes for other ima-ng verifiers (ig_measlog_name()). Names are at
 * most IG_MEASLOG_NAME_MAX bytes; "boot_aggregate" and "iotgate-carryover"
 * are reserved.
 *
 * Deduplication: one entry per (digest, recorded name) and log file, i.e.
 * per template hash; a new file version (new digest) is measured again.
 *
 * Files in DIR (all 0640, DIR created 0750):
 *	measurements          the current log
 *	measurements.chain    aggregate after each entry: line k holds the
 *	                      64-hex aggregate after entry k of the log. Not part
 *	                      of ima-ng: it lets 'log verify' name the first
 *	                      deleted, inserted or reordered line, which the
 *	                      template hashes alone cannot show (IMA relies on a
 *	                      TPM quote for that). Optional for verification.
 *	measurements.unknown  one line "<entry number> <digest hex>" per entry
 *	                      recorded with unknown=true (audit mode, file not in
 *	                      the manifest). The log line itself stays pure
 *	                      ima-ng so that existing verifiers parse it; the mark
 *	                      is advisory (not covered by the aggregate) and is
 *	                      shown only when number and digest both match.
 *	measurements.base     where the file continues the list since boot:
 *	                      "entry N" (number of its first entry, boot_aggregate
 *	                      being 0) and "aggregate <hex>" (the running value
 *	                      before it); '#' lines are comments
 *	measurements.state    "boot_id <id>": the boot the current log belongs to
 *	measurements.<i>      archived files, 1 the newest, at most
 *	                      IG_MEASLOG_KEEP, each with its .chain, .unknown and
 *	                      .base
 *	measurements.bad.<t>  a log moved aside by ig_measlog_quarantine()
 *
 * Generations: a new boot (boot_id differs from the state file, or no state
 * file) archives the current log and starts a new log with a boot_aggregate
 * entry and a zero aggregate, as a PCR is reset at boot. A restart within
 * the same boot appends to the current log.
 *
 * Rotation: when an entry would make the log exceed max_bytes, the log is
 * archived as measurements.1 (.1 becomes .2 and so on; the oldest beyond
 * IG_MEASLOG_KEEP is dropped) and a new, empty log begins whose .base holds
 * the number of the next entry and the aggregate A the old log ended with.
 * No record is added to the ima-ng stream: the archives of this boot
 * followed by the current file are exactly the list since boot, and plain
 * ima-ng extension of it from zero gives the aggregate (what Keylime's
 * process_measurement_list does); entries keep their numbers since boot, so
 * a verifier that attested up to entry N with running value V (Keylime's
 * incremental attestation) continues from the file whose .base names entry
 * N or less. Verification starts from zero at a boot_aggregate, else from
 * .base (or, for consecutive files, from the previous file's end, which
 * .base must then equal). On disk the log takes at most
 * (IG_MEASLOG_KEEP + 1) * max_bytes plus sidecars; once the file that began
 * the boot is dropped, replay from boot is no longer possible (Keylime
 * reports pcr_mismatch until the next boot unless it attests incrementally
 * from a kept entry), so size max_bytes for a boot's distinct (file, name)
 * pairs. The deduplication set restarts with each file so that every file
 * is complete on its own and a restart rebuilds the same set from the
 * current file. Files of iotgate 0.1 that begin with an "iotgate-carryover"
 * record (digest = the aggregate before it) still verify.
 *
 * Durability: each line is written with one write(2) (continued only if
 * short) and removed again with ftruncate(2) on failure, so a file never keeps
 * half a line; fdatasync after every IG_MEASLOG_SYNC_EVERY entries, on
 * ig_measlog_sync() and on close; rotation writes the new file completely
 * (measurements.new), then renames, so a crash at any point leaves a log
 * that verifies (leftovers are cleaned up by the next open).
 */
#ifndef IG_MEASLOG_H
#define IG_MEASLOG_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include "hash.h"

#define IG_MEASLOG_DIR "/var/lib/iotgate"
#define IG_MEASLOG_FILE "measurements"
#define IG_MEASLOG_PCR 10
#define IG_MEASLOG_DEFAULT_MAX (4u << 20) /* max_bytes 0: 4 MiB */
#define IG_MEASLOG_SYNC_EVERY 16
#define IG_MEASLOG_KEEP 4 /* archived files: measurements.1 (newest) .. .4 */
#define IG_MEASLOG_NAME_MAX 4095 /* bytes of a recorded name (PATH_MAX - 1) */
/* Longest ASCII line including '\n' and a NUL. */
#define IG_MEASLOG_LINE_MAX (160 + IG_MEASLOG_NAME_MAX)
#define IG_MEASLOG_BOOT_NAME "boot_aggregate"
#define IG_MEASLOG_CARRY_NAME "iotgate-carryover"

struct ig_measlog;

/*
 * Opens or creates DIR/measurements (creating DIR if missing) and locks DIR
 * against a second writer (-EBUSY). An existing log is verified (template
 * hashes, structure, DIR/measurements.chain); if that fails: -EBADMSG and no
 * file is touched (ig_measlog_verify() on the file says why; the caller
 * reports degraded, calls ig_measlog_quarantine() and opens again). Restores
 * aggregate, count and the measured set; appends the boot_aggregate entry to
 * a new log; starts a new generation on a new boot (see above).
 * max_bytes: rotation threshold (0: IG_MEASLOG_DEFAULT_MAX).
 */
int ig_measlog_open(struct ig_measlog **out, const char *dir, size_t max_bytes);
/*
 * The same, with the digest of the boot_aggregate entry that a new boot's
 * log begins with (ig_measlog_open: 32 zero bytes, IMA's value without a
 * TPM; iotgated passes ig_tpm_boot_aggregate() where a TPM exists).
 */
int ig_measlog_open_boot(struct ig_measlog **out, const char *dir, size_t max_bytes,
			 const uint8_t boot_aggregate[IG_SHA256_LEN]);

/*
 * Appends one entry for (digest, path) unless the log already holds it.
 * Returns 0 if appended, 1 if already measured (nothing written), or negative
 * errno: -EINVAL (empty or reserved name), -ENAMETOOLONG, -EBADMSG (the log
 * file changed behind our back), or the write error (-ENOSPC, -EFBIG, -EIO,
 * ...). On a write error nothing stays in the files or in memory, and a later
 * call retries. Exception: an error of the periodic fdatasync is returned
 * after the entry was appended (a retry then returns 1).
 */
int ig_measlog_add(struct ig_measlog *l, const uint8_t digest[IG_SHA256_LEN], const char *path,
		   bool unknown);
/* fdatasync of the log and its sidecars. 0 or negative errno. */
int ig_measlog_sync(struct ig_measlog *l);
/* The aggregate after the last entry of the current file. */
const uint8_t *ig_measlog_aggregate(const struct ig_measlog *l);
/*
 * Where the running value equals value in the current file: *k entries of
 * it in (0: the value before its first entry, from .base or zero). Lets a
 * TPM that missed the last extensions (a crash between a line and its
 * extension) catch up. 0, -ENOENT if nowhere, or negative errno.
 */
int ig_measlog_position(const struct ig_measlog *l, const uint8_t value[IG_SHA256_LEN],
			unsigned long long *k);
/* Template hash of the entry the last ig_measlog_add() returning 0 (or the
 * open that started a new boot) appended. */
const uint8_t *ig_measlog_last(const struct ig_measlog *l);
/* Entries in the current file (its boot_aggregate included). */
unsigned long long ig_measlog_count(const struct ig_measlog *l);
/* Number since boot (boot_aggregate is 0) of the current file's first entry. */
unsigned long long ig_measlog_first(const struct ig_measlog *l);
/* DIR/measurements. */
const char *ig_measlog_path(const struct ig_measlog *l);
/* Syncs, unlocks and frees (NULL is fine). */
void ig_measlog_close(struct ig_measlog *l);

/*
 * Moves DIR/measurements with its .chain and .unknown aside to
 * DIR/measurements.bad.<unix time>[.<n>], so that the next open starts a new
 * log. moved_to (may be NULL) receives the new path of the log. Returns 0,
 * -ENOENT if there is no log, -EBUSY if a handle is open on DIR, or negative
 * errno.
 */
int ig_measlog_quarantine(const char *dir, char *moved_to, size_t size);

/*
 * The recorded name of a path (see "Names" above) into out. 0, -EINVAL
 * (empty) or -ENAMETOOLONG.
 */
int ig_measlog_name(char out[IG_MEASLOG_NAME_MAX + 1], const char *path);
/* The template hash of one entry: name is the recorded name. */
void ig_measlog_template_hash(const uint8_t digest[IG_SHA256_LEN], const char *name,
			      uint8_t out[IG_SHA256_LEN]);
/* aggregate = SHA-256(aggregate || template_hash) */
void ig_measlog_extend(uint8_t aggregate[IG_SHA256_LEN],
		       const uint8_t template_hash[IG_SHA256_LEN]);
/*
 * Formats one ASCII line with its '\n' into buf (IG_MEASLOG_LINE_MAX bytes);
 * name is a recorded name. Returns its length, or 0 if the name is too long.
 */
size_t ig_measlog_format(char *buf, const uint8_t template_hash[IG_SHA256_LEN],
			 const uint8_t digest[IG_SHA256_LEN], const char *name);

struct ig_measlog_verify_result {
	unsigned long long entries; /* entries that verified, all files */
	uint8_t aggregate[IG_SHA256_LEN]; /* after the last entry (valid when ok) */
	/* Number since boot (from 0) of the last file's first entry (when ok). */
	unsigned long long first;
	/* First problem (file[0] == '\0' if none): the log file or one of its
	 * sidecars, the 1-based line (0: the file as a whole) and why. */
	char file[4096 + 16];
	unsigned int line;
	char reason[192];
};

/*
 * Recomputes every template hash and the aggregate of one log file and
 * checks its structure and, if present, PATH.chain; if expected_aggregate is
 * not NULL, the final aggregate must equal it. Returns 0 if all is well,
 * -EBADMSG with res naming the first bad entry, or another negative errno
 * (res names the file and the error). Reasons include "malformed line: ...",
 * "template hash does not match its fields", "aggregate differs from
 * PATH.chain: ..." and "aggregate differs from the daemon's".
 */
int ig_measlog_verify(const char *path, const uint8_t *expected_aggregate,
		      struct ig_measlog_verify_result *res);
/*
 * The same for consecutive files, oldest first (e.g. measurements.1 and
 * measurements): a file starting with a carry-over must continue the
 * aggregate of the file before it; one starting with boot_aggregate starts a
 * new boot. expected_aggregate applies to the last file.
 */
int ig_measlog_verify_files(const char *const *paths, size_t n, const uint8_t *expected_aggregate,
			    struct ig_measlog_verify_result *res);

struct ig_measlog_entry {
	unsigned int line; /* 1-based line in the file */
	uint8_t template_hash[IG_SHA256_LEN];
	uint8_t digest[IG_SHA256_LEN];
	char *name; /* recorded name, unescaped */
	bool unknown; /* marked in PATH.unknown */
};

/*
 * Parses a log file (no hash checks: see ig_measlog_verify) and the marks of
 * PATH.unknown. Returns 0; -EBADMSG at the first malformed line, with the
 * entries before it returned and res naming it; or another negative errno.
 * Free the entries with ig_measlog_entries_free() in every case.
 */
int ig_measlog_read(const char *path, struct ig_measlog_entry **entries, size_t *n,
		    struct ig_measlog_verify_result *res);
void ig_measlog_entries_free(struct ig_measlog_entry *entries, size_t n);

#endif
