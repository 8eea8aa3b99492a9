/* SPDX-License-Identifier: GPL-2.0-only */
/*
 * Manifests: the allowlist of executable content, in sha256sum(1) format
 *
 *   # iotgate-manifest version N        (optional first line)
 *   <64 hex digits><space><space or *><absolute path>
 *
 * so `find / -xdev -type f -perm /111 -exec sha256sum {} +` makes one.
 * sha256sum's escaping (a leading backslash, then \\ and \n in the path) is
 * understood. Verification hashes every file and keeps only those whose
 * content matches; each is then identified the way the kernel sees it.
 */
#ifndef IG_MANIFEST_H
#define IG_MANIFEST_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include "diag.h"
#include "hash.h"
#include "iotgate.h"

struct ig_manifest_entry {
	char *path;
	uint8_t digest[IG_SHA256_LEN];
	unsigned int line;
};

struct ig_manifest {
	char *path;
	unsigned int version;
	uint8_t sha256[IG_SHA256_LEN]; /* of the manifest file itself */
	struct ig_manifest_entry *e; /* NULL once compacted (ig_set_compact) */
	size_t n;
};

/* A verified entry, ready for the kernel map. */
struct ig_verified {
	struct ig_file_key key;
	struct ig_file_val val;
	/*
	 * On overlayfs before 6.6, a file mapped into memory is the layer's file,
	 * not the overlay's: the identity a mapping shows (kill tier). has_real
	 * says real differs from key.
	 */
	struct ig_file_key real;
	bool has_real;
	size_t entry; /* index of the manifest entry it came from */
	uint64_t size; /* bytes hashed */
};

int ig_manifest_parse(const char *name, const char *buf, size_t len, struct ig_manifest *m,
		      struct ig_diag *d);
/* The same with buf's SHA-256 already known (the signature's child computed it). */
int ig_manifest_parse_digested(const char *name, const char *buf, size_t len,
			       const uint8_t sha256[IG_SHA256_LEN], struct ig_manifest *m,
			       struct ig_diag *d);
int ig_manifest_load(const char *path, struct ig_manifest *m, struct ig_diag *d);
void ig_manifest_free(struct ig_manifest *m);

/*
 * Opens every entry's file once and takes both its identity and its digest
 * from that one descriptor (all cores, in a child when isolation is on), and
 * fills out[] with the ones whose content matches, setting *nout.
 *
 * Symlinks: an entry's path is resolved once, by the kernel, at that open
 * (symlinks in it are followed, /bin -> usr/bin included); what is allowed is
 * the final file's identity, and only if its content has the entry's digest.
 * Swapping the path to other content in between cannot get that content in.
 *
 * Only regular files are read (a FIFO, socket or device is never opened);
 * lim (NULL: the defaults) bounds the size of a file, the bytes of the whole
 * pass and its time. Entries that are missing, not regular files, over a
 * limit or whose digest differs are reported in `rejected` by path.
 * out must have room for m->n entries. Returns 0 or negative errno.
 */
int ig_manifest_verify(const struct ig_manifest *m, const struct ig_hash_limits *lim,
		       struct ig_verified *out, size_t *nout, struct ig_diag *rejected);

/*
 * The same, or with lazy set only the identities, without reading the files:
 * each entry is marked IG_FILE_F_UNAPPRAISED with the manifest's digest for
 * the kernel to compare at first use (bpf/kmeasure.bpf.c). The per-file size
 * limit applies; the total and the time limits are the hashing pass's.
 */
int ig_manifest_prepare(const struct ig_manifest *m, const struct ig_hash_limits *lim, bool lazy,
			struct ig_verified *out, size_t *nout, struct ig_diag *rejected);

/*
 * Identity of an open file as the BPF programs see it (superblock dev_t from
 * the mount table, inode number, ctime). Returns 0 or negative errno.
 */
int ig_file_identity(int fd, struct ig_file_key *key, struct ig_file_val *val);
/* The same for any kind of file (directories, bpffs pins, O_PATH fds). */
int ig_file_identity_any(int fd, struct ig_file_key *key, struct ig_file_val *val);

#endif
