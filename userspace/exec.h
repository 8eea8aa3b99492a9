/* SPDX-License-Identifier: GPL-2.0-only */
/*
 * The daemon's view of the kernel side: loads bpf/exec.bpf.c in the tier the
 * kernel allows, pins its maps and links under IG_PIN_DIR so enforcement
 * outlives the daemon, and re-adopts what an earlier daemon pinned.
 */
#ifndef IG_EXEC_H
#define IG_EXEC_H

#include <stdbool.h>
#include <stddef.h>
#include "iotgate.h"
#include "manifest.h"

/*
 * full: BPF LSM (refusals are EPERM); kill: tracing programs only (a refused
 * exec or executable mapping is a SIGKILL before the code runs); partial:
 * exec is measured, never denied.
 */
enum ig_tier { IG_TIER_PARTIAL, IG_TIER_FULL, IG_TIER_KILL };

/* The tier's name in the state: "full", "kill", "partial". */
static inline const char *ig_tier_name(enum ig_tier t)
{
	return t == IG_TIER_FULL ? "full" : t == IG_TIER_KILL ? "kill" : "partial";
}

/* Called for each ring buffer record (a struct ig_event); return 0 to go on. */
typedef int (*ig_event_fn)(void *ctx, void *data, size_t size);

struct ig_exec;

/* A link pinned in IG_PIN_DIR, as the kernel numbered it. */
#define IG_MAX_LINKS 48
struct ig_link_rec {
	char name[48]; /* the program's name (pin link_NAME) */
	__u32 id;
	__u32 type; /* BPF_LINK_TYPE_* */
	__u32 prog_id; /* the program it runs */
};

struct ig_kernel {
	struct ig_exec *skel;
	struct ring_buffer *rb;
	enum ig_tier tier;
	char why_partial[768]; /* why not the full tier and what follows; empty in it */
	bool lsm_attached; /* exec decisions made by the bprm_check_security program */
	bool tp_attached; /* exec observed by the sched_process_exec tracepoint */
	bool kill_attached; /* kill tier: the mmap/mprotect tracepoints too */
	bool readopted; /* links pinned by an earlier daemon were kept */
	__u64 generation;
	__u32 slot; /* the ig_manifest slot in force (ig_config.slot) */
	bool restorable; /* the other slot holds the manifest before the last swap */
	/*
	 * A fresh start with entries left to lazy appraisal runs in audit mode
	 * until the appraising programs are attached (ig_kernel_release_mode):
	 * an allowed program run meanwhile would be refused as not appraised.
	 */
	bool mode_deferred;
	unsigned int deferred_mode, deferred_flags;
	struct ig_link_rec links[IG_MAX_LINKS]; /* listed by ig_kernel_protect_pins */
	size_t nlinks;
	struct ig_file_key pin_dir; /* IG_PIN_DIR when the links were listed */
};

/* What the programs are configured with, besides the manifest. */
struct ig_kernel_config {
	unsigned int mode; /* IG_MODE_* */
	unsigned int flags; /* IG_CFG_* */
	char *const *memfd; /* memfd names allowed to run */
	const __u32 *memfd_mask; /* for each: the IG_FILE_F_MEMFD programs that may run it */
	size_t nmemfd;
};

/*
 * IOTGATE_TEST_REFUSE_PROGS (iotgated(8)) names the program: treat it as
 * refused by the kernel.
 */
bool ig_test_refused(const char *prog);
/*
 * Puts the configured mode in force if the start deferred it (see
 * mode_deferred); call once the lazy appraisal programs are attached or the
 * set was hashed. 0 or negative errno.
 */
int ig_kernel_release_mode(struct ig_kernel *k);
/* Is bpffs mounted at /sys/fs/bpf? 0, -ENOENT (not bpffs) or -errno. */
/* Something the full tier enforces that a lesser tier does not: code and sentence. */
struct ig_tier_gap {
	const char *code;
	const char *what;
};

/* The kill tier's gaps (status "tier_gaps", iotgatectl(8)); *n set to their number. */
const struct ig_tier_gap *ig_kill_tier_gaps(size_t *n);

int ig_kernel_check_bpffs(void);
/*
 * Loads, fills and attaches (or re-adopts). On failure nothing this call
 * created stays pinned; state pinned earlier is left as it was. -EAGAIN:
 * v holds entries for lazy appraisal (IG_FILE_F_UNAPPRAISED) and the BPF LSM
 * programs were refused: hash them and call again.
 */
int ig_kernel_open(struct ig_kernel *k, const struct ig_kernel_config *cfg,
		   const struct ig_verified *v, size_t n, ig_event_fn fn, void *ctx);
/*
 * Where ig_kernel_open_src takes the configuration and the manifest from:
 * get is called once the programs of a tier are loaded and before anything
 * is filled or attached, so that the set can be verified meanwhile (another
 * thread). It returns 0, or negative errno: then ig_kernel_open_src returns
 * that error, nothing attached, nothing it created left pinned. Called again
 * for each tier tried, it must give the same answer each time; *v must stay
 * valid until ig_kernel_open_src returns.
 */
struct ig_kernel_src {
	int (*get)(void *ctx, struct ig_kernel_config *cfg, const struct ig_verified **v,
		   size_t *n);
	void *ctx;
};
/* ig_kernel_open with the set from src (see struct ig_kernel_src). */
int ig_kernel_open_src(struct ig_kernel *k, const struct ig_kernel_src *src, ig_event_fn fn,
		       void *ctx);
/*
 * Puts a new manifest in force: fills the map of the ig_manifest slot not in
 * force, then flips ig_config.slot in one update.
 */
int ig_kernel_set_manifest(struct ig_kernel *k, const struct ig_verified *v, size_t n);
/* Puts the replaced manifest back in force (a later activation step failed). */
int ig_kernel_restore_manifest(struct ig_kernel *k);
/* Lets the replaced manifest go (its map is emptied for the next swap). */
void ig_kernel_commit_manifest(struct ig_kernel *k);
int ig_kernel_set_mode(struct ig_kernel *k, unsigned int mode, unsigned int flags);
int ig_kernel_set_memfd(struct ig_kernel *k, char *const *names, const __u32 *masks, size_t n);
/*
 * Lists IG_PIN_DIR, everything in it and its superblock in ig_pins, and the
 * link pins' ids in ig_links (for IG_CFG_SELF_PROTECT and ig_kernel_check).
 */
int ig_kernel_protect_pins(struct ig_kernel *k);
/*
 * Asks the kernel whether every listed link is still attached and pinned,
 * the pin directory unchanged and (self_protect) this process the recorded
 * daemon, which self-protection exempts. Returns
 * the number of problems, the first described in why (naming the hook).
 */
int ig_kernel_check(struct ig_kernel *k, bool self_protect, char *why, size_t len);
/*
 * Lists what only the daemon may change (full tier, IG_CFG_SELF_PROTECT):
 * paths[i] with flags[i] (IG_PROT_DIR or IG_PROT_FILE); missing paths are
 * skipped. Replaces the earlier list.
 */
int ig_kernel_protect_paths(struct ig_kernel *k, const char *const *paths, const __u32 *flags,
			    size_t n);
/* How the last recorded daemon ended (full tier): 0, or -ENOENT if none did. */
int ig_kernel_previous(struct ig_kernel *k, struct ig_dexit *out);
int ig_kernel_counters(struct ig_kernel *k, __u64 out[IG_CNT_MAX]);
int ig_kernel_events_fd(struct ig_kernel *k);
/* The ig_manifest and ig_cfg maps, for kmeasure's lazy appraisal. */
void ig_kernel_manifest_fds(struct ig_kernel *k, int *manifest_fd, int *cfg_fd);
/* The kernel's id of that ig_manifest map (0: none): which load a handle is of. */
__u32 ig_kernel_manifest_id(struct ig_kernel *k);
int ig_kernel_poll_events(struct ig_kernel *k);
/* Detaches everything and removes the pins: the only way enforcement ends. */
int ig_kernel_stop_enforcing(struct ig_kernel *k);
/* Closes the daemon's handles; pinned links keep enforcing. */
void ig_kernel_close(struct ig_kernel *k);

#endif
