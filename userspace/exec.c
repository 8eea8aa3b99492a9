// SPDX-License-Identifier: GPL-2.0-only
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mount.h>
#include <sys/stat.h>
#include <sys/vfs.h>
#include <unistd.h>
#include <bpf/bpf.h>
#include <bpf/btf.h>
#include <bpf/libbpf.h>
#include "iotgate.h" /* before the skeleton: it names our structs */
#include "exec.skel.h"
#include "bpfobj.h"
#include "exec.h"
#include "log.h"

#ifndef BPF_FS_MAGIC
#define BPF_FS_MAGIC 0xcafe4a11
#endif

#define LINK_LSM IG_PIN_DIR "/link_ig_bprm_check"

int ig_kernel_check_bpffs(void)
{
	struct statfs sfs;

	if (statfs("/sys/fs/bpf", &sfs) < 0)
		return -errno;
	return (__u32)sfs.f_type == BPF_FS_MAGIC ? 0 : -ENOENT;
}

bool ig_test_refused(const char *prog)
{
	const char *list = getenv("IOTGATE_TEST_REFUSE_PROGS");
	size_t len = strlen(prog);

	for (const char *p = list; p && (p = strstr(p, prog)); p += len)
		if ((p == list || p[-1] == ' ' || p[-1] == ',') &&
		    (p[len] == 0 || p[len] == ' ' || p[len] == ','))
			return true;
	return false;
}

/* Syscall tracepoints named differently on some architectures (32-bit ARM: mmap2). */
static struct bpf_link *attach_prog(struct bpf_program *prog)
{
	struct bpf_link *link = bpf_program__attach(prog);

	if (!link && !strcmp(bpf_program__name(prog), "ig_mmap_tp"))
		link = bpf_program__attach_tracepoint(prog, "syscalls", "sys_exit_mmap_pgoff");
	return link;
}

static int attach_one(struct bpf_program *prog, const char *pin, struct bpf_link **out)
{
	struct bpf_link *link = attach_prog(prog);
	int ret;

	if (!link)
		return -errno;
	ret = ig_bpf_pin_link(link, pin);
	if (!ret)
		*out = link;
	return ret;
}

static int fill(struct ig_kernel *k, const struct ig_kernel_config *cfg,
		const struct ig_verified *v, size_t n, bool defer)
{
	int ret = ig_kernel_set_manifest(k, v, n);

	if (!ret)
		ret = ig_kernel_set_memfd(k, cfg->memfd, cfg->memfd_mask, cfg->nmemfd);
	if (ret)
		return ret;
	k->mode_deferred = defer && cfg->mode != IG_MODE_AUDIT;
	k->deferred_mode = cfg->mode;
	k->deferred_flags = cfg->flags;
	return ig_kernel_set_mode(k, k->mode_deferred ? IG_MODE_AUDIT : cfg->mode, cfg->flags);
}

int ig_kernel_release_mode(struct ig_kernel *k)
{
	int ret;

	if (!k->skel || !k->mode_deferred)
		return 0;
	ret = ig_kernel_set_mode(k, k->deferred_mode, k->deferred_flags);
	if (!ret)
		k->mode_deferred = false;
	return ret;
}

#define T_FULL (1u << IG_TIER_FULL)
#define T_KILL (1u << IG_TIER_KILL)
#define T_PARTIAL (1u << IG_TIER_PARTIAL)

struct prog_slot {
	struct bpf_program *prog;
	unsigned int tiers; /* T_*: the tiers that load it */
	bool pinned; /* a link pinned by an earlier daemon exists */
	struct bpf_link *link; /* attached by this load */
	char pin[128];
};

#define N_PROGS 39

/* Does tracefs know the syscall tracepoint SEC names ("tracepoint/syscalls/X")? */
static bool syscall_tp_exists(const char *sec)
{
	static const char *const roots[] = { "/sys/kernel/tracing", "/sys/kernel/debug/tracing" };
	const char *ev = strchr(sec, '/');
	char path[160];

	for (size_t i = 0; ev && i < sizeof(roots) / sizeof(roots[0]); i++) {
		snprintf(path, sizeof(path), "%s/events%s", roots[i], ev);
		if (access(path, F_OK) == 0)
			return true;
	}
	return false;
}

static void prog_slots(struct ig_exec *skel, struct prog_slot s[N_PROGS])
{
	struct bpf_program *progs[N_PROGS] = {
		skel->progs.ig_bprm_check,
		skel->progs.ig_mmap_file,
		skel->progs.ig_mprotect,
		skel->progs.ig_file_open,
		skel->progs.ig_file_perm,
		skel->progs.ig_truncate,
		skel->progs.ig_inode_perm,
		skel->progs.ig_bpf_map,
		skel->progs.ig_bpf_prog,
		skel->progs.ig_task_kill,
		skel->progs.ig_ptrace,
		skel->progs.ig_exec_tp,
		skel->progs.ig_mmap_tp,
		skel->progs.ig_mprot_in,
		skel->progs.ig_mprot_tp,
		skel->progs.ig_pkey_in,
		skel->progs.ig_pkey_tp,
		skel->progs.ig_shmat_tp,
		skel->progs.ig_ptrace_tp,
		skel->progs.ig_pvm_tp,
		skel->progs.ig_openat_tp,
		skel->progs.ig_openat2_tp,
		skel->progs.ig_open_tp,
		skel->progs.ig_creat_tp,
		skel->progs.ig_traceme,
		/* the daemon's exit and threads are tracked before it can record itself */
		skel->progs.ig_daemon_exit,
		skel->progs.ig_daemon_thr,
		skel->progs.ig_bpf_cmd,
		skel->progs.ig_umount,
		skel->progs.ig_mount,
		skel->progs.ig_move_mount,
		skel->progs.ig_prctl,
		skel->progs.ig_prot_attr,
		skel->progs.ig_prot_unlink,
		skel->progs.ig_prot_rmdir,
		skel->progs.ig_prot_rename,
		skel->progs.ig_prot_link,
		skel->progs.ig_kread,
		skel->progs.ig_kload,
	};

	for (int i = 0; i < N_PROGS; i++) {
		memset(&s[i], 0, sizeof(s[i]));
		s[i].prog = progs[i];
		if (progs[i] == skel->progs.ig_exec_tp)
			s[i].tiers = T_KILL | T_PARTIAL;
		else if (progs[i] == skel->progs.ig_mmap_tp ||
			 progs[i] == skel->progs.ig_mprot_in ||
			 progs[i] == skel->progs.ig_mprot_tp ||
			 progs[i] == skel->progs.ig_pkey_in || progs[i] == skel->progs.ig_pkey_tp ||
			 progs[i] == skel->progs.ig_shmat_tp ||
			 progs[i] == skel->progs.ig_ptrace_tp ||
			 progs[i] == skel->progs.ig_pvm_tp ||
			 progs[i] == skel->progs.ig_openat_tp ||
			 progs[i] == skel->progs.ig_openat2_tp)
			s[i].tiers = T_KILL;
		else if (progs[i] == skel->progs.ig_open_tp || progs[i] == skel->progs.ig_creat_tp)
			/* open and creat are syscalls of some architectures only (not arm64) */
			s[i].tiers =
				syscall_tp_exists(bpf_program__section_name(progs[i])) ? T_KILL : 0;
		else
			s[i].tiers = T_FULL;
		snprintf(s[i].pin, sizeof(s[i].pin), "%s/link_%s", IG_PIN_DIR,
			 bpf_program__name(progs[i]));
		s[i].pinned = access(s[i].pin, F_OK) == 0;
	}
}

/*
 * One attempt at a tier: loads and attaches the programs of that tier.
 * Returns 0, or negative errno with *refused set when the kernel refused one
 * of the tier's programs (try the next tier).
 */
static int try_tier(struct ig_kernel *k, enum ig_tier tier, const struct ig_kernel_src *src,
		    bool *refused)
{
	struct prog_slot slot[N_PROGS];
	struct ig_bpf_pins pins = { 0 };
	struct ig_kernel_config cfg;
	const struct ig_verified *v;
	struct ig_exec *skel;
	bool lazy = false;
	size_t n;
	int ret;

	*refused = false;
	skel = ig_exec__open();
	if (!skel)
		return -errno;
	ret = ig_bpf_pin_maps(&pins, skel->obj, NULL, 0);
	if (ret)
		goto fail;
	prog_slots(skel, slot);
	/* Inode storage needs CONFIG_BPF_LSM; only the LSM programs use it. */
	ret = bpf_map__set_autocreate(skel->maps.ig_xmapped, tier == IG_TIER_FULL);
	if (ret)
		goto fail;
	/* A pinned link from an earlier daemon keeps running: do not attach twice. */
	for (int i = 0; i < N_PROGS; i++) {
		bool want = slot[i].tiers & (1u << tier);

		bpf_program__set_autoload(slot[i].prog, want && !slot[i].pinned);
		if (want && ig_test_refused(bpf_program__name(slot[i].prog))) {
			*refused = true;
			ret = -EPERM;
			goto fail;
		}
	}

	ig_log_libbpf_quiet(tier != IG_TIER_PARTIAL);
	ret = ig_exec__load(skel);
	ig_log_libbpf_quiet(false);
	ig_bpf_release_skel(ig_exec);
	if (ret) {
		*refused = tier != IG_TIER_PARTIAL;
		goto fail;
	}
	k->skel = skel;
	k->tier = tier;
	/*
	 * Loaded (the verifier's part of a start, the longest under emulation):
	 * now the set, which may have been verified meanwhile.
	 */
	ret = src->get(src->ctx, &cfg, &v, &n);
	if (ret)
		goto fail;
	/* Lazy appraisal needs the LSM programs (kmeasure runs before them on their hooks). */
	for (size_t i = 0; i < n; i++) {
		if (!(v[i].val.flags & IG_FILE_F_UNAPPRAISED))
			continue;
		if (tier != IG_TIER_FULL) {
			ret = -EAGAIN;
			goto fail;
		}
		lazy = true;
	}
	{
		/* Pinned by an earlier daemon: which manifest slot is in force. */
		struct ig_config cur = {};
		__u32 zero = 0;

		k->slot = 0;
		if (!bpf_map_lookup_elem(bpf_map__fd(skel->maps.ig_cfg), &zero, &cur) &&
		    cur.abi_version == IG_ABI_VERSION) {
			k->slot = cur.slot & 1;
			/* an earlier daemon's appraising programs still run: nothing to defer */
			if (cur.mode == IG_MODE_ENFORCE)
				lazy = false;
		}
	}
	ret = fill(k, &cfg, v, n, lazy);
	if (ret)
		goto fail;
	k->readopted = false;
	for (int i = 0; i < N_PROGS; i++) {
		if (!(slot[i].tiers & (1u << tier)))
			continue;
		if (slot[i].pinned) {
			k->readopted = true;
			continue;
		}
		ret = attach_one(slot[i].prog, slot[i].pin, &slot[i].link);
		if (ret) {
			*refused = tier != IG_TIER_PARTIAL;
			goto fail;
		}
	}
	/* Links of another tier an earlier daemon pinned: not what is in force now. */
	for (int i = 0; i < N_PROGS; i++)
		if (!(slot[i].tiers & (1u << tier)) && slot[i].pinned)
			ig_bpf_unpin_link(slot[i].pin);
	/*
	 * The pins own the links from here on: destroying our handle only closes
	 * its fd (a pinned link stays attached), so unpinning later detaches.
	 */
	for (int i = 0; i < N_PROGS; i++)
		bpf_link__destroy(slot[i].link);
	k->lsm_attached = tier == IG_TIER_FULL;
	k->tp_attached = tier != IG_TIER_FULL;
	k->kill_attached = tier == IG_TIER_KILL;
	return 0;
fail:
	for (int i = 0; i < N_PROGS; i++) {
		if (slot[i].link) {
			bpf_link__unpin(slot[i].link);
			bpf_link__destroy(slot[i].link);
		}
	}
	ig_bpf_unpin_new(&pins);
	ig_exec__destroy(skel);
	k->skel = NULL;
	k->tier = IG_TIER_PARTIAL;
	return ret;
}

/*
 * What the kill tier cannot do: a tracepoint runs before or after a syscall
 * and can only kill its caller; what the syscall does to another object is
 * done by then (or done anyway). The order is the one status shows.
 */
static const struct ig_tier_gap kill_gaps[] = {
	{ "write_guard",
	  "a write to a manifest file is neither refused (protect) nor drops the file's trust first, also while the file is mapped executable: the changed file fails its ctime check at its next exec or mapping" },
	{ "self_signal",
	  "signals to the daemon are delivered: kill(2) acts inside the syscall, before a tracepoint could stop it" },
	{ "self_bpf",
	  "bpf() on the daemon's maps, programs and links (by id or by pin) is not refused: it acts inside the syscall" },
	{ "self_pins",
	  "the pins in /sys/fs/bpf/iotgate can be removed and that bpffs unmounted or mounted over" },
	{ "self_process",
	  "the daemon's cgroup (moved, frozen, cgroup.kill), its OOM score and its exe link can be changed, and binfmt_misc handlers registered" },
	{ "self_ptrace",
	  "a program named allow-ptrace may trace the daemon; any other tracer is killed at the attach, but the SIGSTOP of PTRACE_ATTACH leaves the daemon stopped until SIGCONT" },
	{ "protected_paths",
	  "the state and keys directories and the policy and manifest files are not guarded against writes" },
	{ "kernel_loads", "kernel modules, kexec images and firmware load unchecked" },
	{ "mem_fd",
	  "a /proc/PID/mem descriptor the writer did not open itself (opened before enforcement, inherited or passed from an allowed program, opened through io_uring, or swapped in by another thread between the open and its exit tracepoint) is not judged" },
	{ "compat_syscalls",
	  "ia32 compat syscalls on x86-64 fire no syscall tracepoint: mmap, mprotect, socket calls, ptrace, open and process_vm_writev made that way are not seen" },
};

const struct ig_tier_gap *ig_kill_tier_gaps(size_t *n)
{
	*n = sizeof(kill_gaps) / sizeof(kill_gaps[0]);
	return kill_gaps;
}

/* The kill tier's reason: what is enforced and how, then the gaps by code. */
static void kill_reason(struct ig_kernel *k, const char *why_lsm)
{
	size_t len = sizeof(k->why_partial), off;

	off = snprintf(
		k->why_partial, len,
		"%s: exec and executable file mappings outside the manifest are stopped with SIGKILL before they run, not refused with EPERM; so are ptrace attach, PTRACE_TRACEME, process_vm_writev and /proc/PID/mem opened for writing (allow-ptrace, allow-jit excepted); not enforced without LSM hooks (tier_gaps):",
		why_lsm);
	for (size_t i = 0; i < sizeof(kill_gaps) / sizeof(kill_gaps[0]) && off < len; i++)
		off += snprintf(k->why_partial + off, len - off, "%s %s", i ? "," : "",
				kill_gaps[i].code);
}

struct fixed_src {
	const struct ig_kernel_config *cfg;
	const struct ig_verified *v;
	size_t n;
};

static int fixed_get(void *ctx, struct ig_kernel_config *cfg, const struct ig_verified **v,
		     size_t *n)
{
	const struct fixed_src *f = ctx;

	*cfg = *f->cfg;
	*v = f->v;
	*n = f->n;
	return 0;
}

int ig_kernel_open(struct ig_kernel *k, const struct ig_kernel_config *cfg,
		   const struct ig_verified *v, size_t n, ig_event_fn fn, void *ctx)
{
	struct fixed_src f = { .cfg = cfg, .v = v, .n = n };
	struct ig_kernel_src src = { .get = fixed_get, .ctx = &f };

	return ig_kernel_open_src(k, &src, fn, ctx);
}

static int open_tiers(struct ig_kernel *k, const struct ig_kernel_src *src, ig_event_fn fn,
		      void *ctx)
{
	char why_lsm[128], why_kill[96] = "";
	bool refused = false;
	int ret;

	if (access(LINK_LSM, F_OK) == 0 || ig_bpf_lsm_active()) {
		ret = try_tier(k, IG_TIER_FULL, src, &refused);
		if (!ret)
			goto events;
		if (!refused)
			return ret;
		snprintf(why_lsm, sizeof(why_lsm), "the kernel refused the BPF LSM programs (%s)",
			 strerror(-ret));
	} else {
		snprintf(why_lsm, sizeof(why_lsm), "%s",
			 "BPF LSM is not active ('bpf' missing from /sys/kernel/security/lsm)");
	}
	/* Syscall tracepoints are found through tracefs; systemd mounts it, a minimal init may not. */
	if (access("/sys/kernel/tracing/events", F_OK) && errno == ENOENT)
		mount("tracefs", "/sys/kernel/tracing", "tracefs", MS_NOSUID | MS_NODEV | MS_NOEXEC,
		      NULL);
	ret = try_tier(k, IG_TIER_KILL, src, &refused);
	if (!ret) {
		kill_reason(k, why_lsm);
		goto events;
	}
	if (!refused)
		return ret;
	snprintf(why_kill, sizeof(why_kill),
		 "the kill tier's tracing programs were refused too (%s)", strerror(-ret));
	ret = try_tier(k, IG_TIER_PARTIAL, src, &refused);
	if (ret)
		return ret;
	snprintf(k->why_partial, sizeof(k->why_partial),
		 "%s; %s: exec is measured but cannot be denied", why_lsm, why_kill);
events:
	k->rb = ring_buffer__new(bpf_map__fd(k->skel->maps.ig_events), fn, ctx, NULL);
	if (!k->rb) {
		ret = -errno;
		ig_kernel_close(k);
		return ret;
	}
	return 0;
}

int ig_kernel_open_src(struct ig_kernel *k, const struct ig_kernel_src *src, ig_event_fn fn,
		       void *ctx)
{
	bool created;
	int ret;

	memset(k, 0, sizeof(*k));
	created = mkdir(IG_PIN_DIR, 0700) == 0;
	if (!created && errno != EEXIST)
		return -errno;
	ret = open_tiers(k, src, fn, ctx);
	/*
	 * The set may fail to verify only now, after the load: a refused start
	 * leaves no pin directory behind if it made it (its pins are gone).
	 */
	if (ret && created)
		rmdir(IG_PIN_DIR);
	return ret;
}

/* A new, empty manifest map for up to cap entries. Returns its fd or -errno. */
static int new_files_map(struct ig_kernel *k, size_t cap)
{
	LIBBPF_OPTS(bpf_map_create_opts, opts);
	struct btf *btf;
	int fd;

	/*
	 * Created with the object's BTF, like the template libbpf made from the
	 * inner map definition: some kernels (6.1) compare BTF-derived layout
	 * fields when a map is put into the outer map and refuse a mismatch.
	 */
	btf = bpf_object__btf(k->skel->obj);
	if (btf) {
		int key_id = btf__find_by_name_kind(btf, "ig_file_key", BTF_KIND_STRUCT);
		int val_id = btf__find_by_name_kind(btf, "ig_file_val", BTF_KIND_STRUCT);

		if (key_id > 0 && val_id > 0) {
			opts.btf_fd = btf__fd(btf);
			opts.btf_key_type_id = key_id;
			opts.btf_value_type_id = val_id;
		}
	}
	fd = bpf_map_create(BPF_MAP_TYPE_HASH, "ig_files", sizeof(struct ig_file_key),
			    sizeof(struct ig_file_val), cap ? cap : 1, &opts);
	return fd < 0 ? -errno : fd;
}

/* The map in an ig_manifest slot and its capacity; -ENOENT if the slot is empty. */
static int slot_map(struct ig_kernel *k, __u32 slot, __u32 *cap)
{
	struct bpf_map_info info = {};
	__u32 id, len = sizeof(info);
	int fd;

	if (bpf_map_lookup_elem(bpf_map__fd(k->skel->maps.ig_manifest), &slot, &id))
		return -errno;
	fd = bpf_map_get_fd_by_id(id);
	if (fd < 0)
		return -errno;
	if (bpf_obj_get_info_by_fd(fd, &info, &len)) {
		close(fd);
		return -errno;
	}
	*cap = info.max_entries;
	return fd;
}

/* Empties a manifest map (one not in force). */
static int clear_files_map(int fd)
{
	struct ig_file_key keys[256], key;
	struct ig_file_val vals[256];
	__u32 batch, count;
	void *in = NULL;

	for (;;) {
		count = 256;
		if (bpf_map_lookup_and_delete_batch(fd, in, &batch, keys, vals, &count, NULL)) {
			if (errno == ENOENT)
				return 0; /* all of it */
			break; /* no batch support: one at a time */
		}
		in = &batch;
	}
	while (bpf_map_get_next_key(fd, NULL, &key) == 0)
		if (bpf_map_delete_elem(fd, &key) && errno != ENOENT)
			return -errno;
	return 0;
}

/* Puts slot in force: one update of ig_cfg, its mode and flags kept. */
static int set_slot(struct ig_kernel *k, __u32 slot)
{
	int fd = bpf_map__fd(k->skel->maps.ig_cfg);
	struct ig_config cfg = {};
	__u32 zero = 0;

	if (bpf_map_lookup_elem(fd, &zero, &cfg))
		return -errno;
	cfg.slot = slot;
	cfg.generation = ++k->generation;
	cfg.abi_version = IG_ABI_VERSION;
	if (bpf_map_update_elem(fd, &zero, &cfg, BPF_ANY))
		return -errno;
	k->slot = slot;
	return 0;
}

int ig_kernel_set_manifest(struct ig_kernel *k, const struct ig_verified *v, size_t n)
{
	int outer = bpf_map__fd(k->skel->maps.ig_manifest);
	__u32 standby = !k->slot, other, count, cap = 0;
	struct ig_file_key *keys = NULL;
	struct ig_file_val *vals = NULL;
	bool created = false;
	int inner, ret = 0;
	size_t m = n; /* entries, overlayfs aliases included */

	for (size_t i = 0; i < n; i++)
		m += v[i].has_real;
	/* The map of the slot not in force, emptied, if it is large enough. */
	inner = slot_map(k, standby, &cap);
	if (inner >= 0 && cap < m) {
		close(inner);
		inner = -ENOSPC;
	}
	if (inner >= 0) {
		ret = clear_files_map(inner);
		if (ret)
			goto out;
	} else {
		/* Room to grow, so that the next manifests fit the same map. */
		inner = new_files_map(k, m + m / 4);
		if (inner < 0) {
			ret = inner;
			goto out;
		}
		created = true;
	}
	keys = calloc(m ? m : 1, sizeof(*keys));
	vals = calloc(m ? m : 1, sizeof(*vals));
	if (!keys || !vals) {
		ret = -ENOMEM;
		goto out;
	}
	/* Batch updates take keys and values as two packed arrays; aliases after. */
	for (size_t i = 0, a = n; i < n; i++) {
		keys[i] = v[i].key;
		vals[i] = v[i].val;
		if (v[i].has_real) {
			keys[a] = v[i].real;
			vals[a++] = v[i].val;
		}
	}
	n = m;
	for (size_t i = 0; i < n; i += count) {
		count = n - i > 8192 ? 8192 : n - i;
		if (bpf_map_update_batch(inner, &keys[i], &vals[i], &count, NULL) == 0)
			continue;
		/* Kernels without batch support for hash maps: one at a time. */
		count = 1;
		if (bpf_map_update_elem(inner, &keys[i], &vals[i], BPF_ANY)) {
			ret = -errno;
			goto out;
		}
	}
	/*
	 * Only a new map goes into the outer map: after that update the kernel
	 * waits an RCU grace period (16 ms here), which is why maps are reused.
	 */
	if (created && bpf_map_update_elem(outer, &standby, &inner, BPF_ANY)) {
		ret = -errno;
		goto out;
	}
	/* The swap: the programs see either the old manifest or the complete new one. */
	ret = set_slot(k, standby);
	if (ret)
		goto out;
	k->restorable = true;
	/* After the first manifest, the other slot gets its map now, not in an apply. */
	close(inner);
	other = !standby;
	inner = slot_map(k, other, &cap);
	if (inner == -ENOENT) {
		/* Best effort: without it, the next apply makes the map. */
		inner = new_files_map(k, n + n / 4);
		if (inner >= 0)
			bpf_map_update_elem(outer, &other, &inner, BPF_ANY);
	}
out:
	if (inner >= 0)
		close(inner);
	free(keys);
	free(vals);
	return ret;
}

int ig_kernel_restore_manifest(struct ig_kernel *k)
{
	if (!k->restorable)
		return -ENOENT;
	k->restorable = false;
	return set_slot(k, !k->slot);
}

void ig_kernel_commit_manifest(struct ig_kernel *k)
{
	__u32 cap;
	int fd;

	k->restorable = false;
	/* The replaced manifest is emptied now, so that the next apply only fills. */
	fd = slot_map(k, !k->slot, &cap);
	if (fd >= 0) {
		clear_files_map(fd);
		close(fd);
	}
}

int ig_kernel_set_memfd(struct ig_kernel *k, char *const *names, const __u32 *masks, size_t n)
{
	int fd = bpf_map__fd(k->skel->maps.ig_memfd);
	struct ig_memfd_key key, next;
	bool more;

	/* Drop names no longer allowed, then add the new ones. */
	more = bpf_map_get_next_key(fd, NULL, &key) == 0;
	while (more) {
		bool keep = false;

		more = bpf_map_get_next_key(fd, &key, &next) == 0;
		for (size_t i = 0; i < n && !keep; i++)
			keep = !strncmp(key.name, names[i], sizeof(key.name));
		if (!keep)
			bpf_map_delete_elem(fd, &key);
		key = next;
	}
	for (size_t i = 0; i < n; i++) {
		memset(&key, 0, sizeof(key));
		strncpy(key.name, names[i], sizeof(key.name) - 1);
		if (bpf_map_update_elem(fd, &key, &masks[i], BPF_ANY))
			return -errno;
	}
	return 0;
}

int ig_kernel_set_mode(struct ig_kernel *k, unsigned int mode, unsigned int flags)
{
	struct ig_config cfg = { .mode = mode,
				 .flags = flags | (k->tier == IG_TIER_KILL ? IG_CFG_KILL : 0),
				 .abi_version = IG_ABI_VERSION,
				 .generation = k->generation,
				 .slot = k->slot };
	__u32 zero = 0;

	if (bpf_map_update_elem(bpf_map__fd(k->skel->maps.ig_cfg), &zero, &cfg, BPF_ANY))
		return -errno;
	return 0;
}

/* Records a link pin of IG_PIN_DIR: its id for ig_links and the state check. */
static void note_link(struct ig_kernel *k, int links_fd, const char *name, const char *path)
{
	struct bpf_link_info info = {};
	__u32 len = sizeof(info), one = 1;
	struct ig_link_rec *r;
	int fd;

	if (k->nlinks >= IG_MAX_LINKS)
		return;
	fd = bpf_obj_get(path);
	if (fd < 0)
		return;
	if (!bpf_obj_get_info_by_fd(fd, &info, &len)) {
		r = &k->links[k->nlinks++];
		snprintf(r->name, sizeof(r->name), "%s", name + 5);
		r->id = info.id;
		r->type = info.type;
		r->prog_id = info.prog_id;
		bpf_map_update_elem(links_fd, &info.id, &one, BPF_ANY);
	}
	close(fd);
}

int ig_kernel_protect_pins(struct ig_kernel *k)
{
	int fd = bpf_map__fd(k->skel->maps.ig_pins), links_fd = bpf_map__fd(k->skel->maps.ig_links);
	struct ig_file_key key, next;
	struct ig_file_val val;
	struct dirent *de;
	char path[512];
	__u32 one = 1;
	bool more;
	DIR *dir;
	int ret = 0;

	more = bpf_map_get_next_key(fd, NULL, &key) == 0;
	while (more) {
		more = bpf_map_get_next_key(fd, &key, &next) == 0;
		bpf_map_delete_elem(fd, &key);
		key = next;
	}
	k->nlinks = 0;
	dir = opendir(IG_PIN_DIR);
	if (!dir)
		return -errno;
	while ((de = readdir(dir))) {
		int f;

		if (!strcmp(de->d_name, ".."))
			continue;
		snprintf(path, sizeof(path), "%s/%s", IG_PIN_DIR, de->d_name);
		/* O_PATH: pins cannot be opened like files, but statx works on a path fd. */
		f = open(path, O_PATH | O_CLOEXEC | O_NOFOLLOW);
		if (f < 0)
			continue;
		if (ig_file_identity_any(f, &key, &val) == 0 &&
		    bpf_map_update_elem(fd, &key, &one, BPF_ANY))
			ret = -errno;
		/* the directory's superblock too: no unmount or mount over it ({dev, 0}) */
		if (!strcmp(de->d_name, ".") && !ret) {
			k->pin_dir = key;
			key.ino = 0;
			if (bpf_map_update_elem(fd, &key, &one, BPF_ANY))
				ret = -errno;
		}
		close(f);
		if (!strncmp(de->d_name, "link_", 5))
			note_link(k, links_fd, de->d_name, path);
	}
	closedir(dir);
	return ret;
}

/*
 * What the kernel says, not what this daemon remembers: every link listed by
 * ig_kernel_protect_pins still exists, is attached (a cgroup link detached
 * by id has no cgroup), and its pin still holds it; the pin directory is the
 * one listed; this process is the recorded daemon.
 */
int ig_kernel_check(struct ig_kernel *k, bool self_protect, char *why, size_t len)
{
	struct ig_file_key key;
	struct ig_file_val val;
	int fd, problems = 0;

#define PROBLEM(...)                                     \
	do {                                             \
		if (!problems++)                         \
			snprintf(why, len, __VA_ARGS__); \
	} while (0)

	*why = '\0';
	if (!k->skel || !k->nlinks)
		return 0;
	fd = open(IG_PIN_DIR, O_PATH | O_CLOEXEC | O_DIRECTORY);
	if (fd < 0 || ig_file_identity_any(fd, &key, &val) || key.dev != k->pin_dir.dev ||
	    key.ino != k->pin_dir.ino)
		PROBLEM("pin directory %s: not the one the daemon made (unmounted, moved or "
			"covered)",
			IG_PIN_DIR);
	if (fd >= 0)
		close(fd);
	for (size_t i = 0; i < k->nlinks; i++) {
		struct ig_link_rec *r = &k->links[i];
		struct bpf_link_info info = {};
		__u32 ilen = sizeof(info);
		char path[256];

		fd = bpf_link_get_fd_by_id(r->id);
		if (fd < 0) {
			PROBLEM("hook %s: link %u is gone", r->name, r->id);
			continue;
		}
		if (bpf_obj_get_info_by_fd(fd, &info, &ilen))
			PROBLEM("hook %s: link %u: no info", r->name, r->id);
		else if (info.type == BPF_LINK_TYPE_CGROUP && !info.cgroup.cgroup_id)
			PROBLEM("hook %s: link %u detached from its cgroup", r->name, r->id);
		close(fd);
		snprintf(path, sizeof(path), "%s/link_%s", IG_PIN_DIR, r->name);
		fd = bpf_obj_get(path);
		memset(&info, 0, sizeof(info));
		ilen = sizeof(info);
		if (fd < 0 || bpf_obj_get_info_by_fd(fd, &info, &ilen) || info.id != r->id)
			PROBLEM("hook %s: pin %s does not hold link %u", r->name, path, r->id);
		if (fd >= 0)
			close(fd);
	}
	if (k->tier == IG_TIER_FULL && self_protect) {
		struct ig_daemon dr;
		__u32 zero = 0;

		if (bpf_map_lookup_elem(bpf_map__fd(k->skel->maps.ig_daemon), &zero, &dr) ||
		    dr.tgid != (__u32)getpid())
			PROBLEM("hook ig_bpf_cmd: this process is not the recorded daemon");
	}
#undef PROBLEM
	return problems;
}

int ig_kernel_protect_paths(struct ig_kernel *k, const char *const *paths, const __u32 *flags,
			    size_t n)
{
	struct ig_file_key key, next;
	struct ig_file_val val;
	int fd, ret = 0;
	bool more;

	if (!k->skel || k->tier != IG_TIER_FULL)
		return 0;
	fd = bpf_map__fd(k->skel->maps.ig_prot);
	more = bpf_map_get_next_key(fd, NULL, &key) == 0;
	while (more) {
		more = bpf_map_get_next_key(fd, &key, &next) == 0;
		bpf_map_delete_elem(fd, &key);
		key = next;
	}
	for (size_t i = 0; i < n; i++) {
		int f = paths[i] ? open(paths[i], O_PATH | O_CLOEXEC) : -1;

		if (f < 0)
			continue; /* not there (yet): nothing to change */
		if (!ig_file_identity_any(f, &key, &val) &&
		    bpf_map_update_elem(fd, &key, &flags[i], BPF_ANY))
			ret = -errno;
		close(f);
	}
	return ret;
}

int ig_kernel_previous(struct ig_kernel *k, struct ig_dexit *out)
{
	__u32 zero = 0;

	memset(out, 0, sizeof(*out));
	if (!k->skel || k->tier != IG_TIER_FULL)
		return -ENOENT;
	if (bpf_map_lookup_elem(bpf_map__fd(k->skel->maps.ig_dexit), &zero, out))
		return -errno;
	return out->tgid ? 0 : -ENOENT;
}

int ig_kernel_counters(struct ig_kernel *k, __u64 out[IG_CNT_MAX])
{
	int ncpu = libbpf_num_possible_cpus();
	__u64 *vals;

	if (ncpu <= 0)
		return ncpu ? ncpu : -EINVAL;
	vals = calloc(ncpu, sizeof(*vals));
	if (!vals)
		return -ENOMEM;
	for (__u32 i = 0; i < IG_CNT_MAX; i++) {
		out[i] = 0;
		if (bpf_map_lookup_elem(bpf_map__fd(k->skel->maps.ig_counters), &i, vals))
			continue;
		for (int c = 0; c < ncpu; c++)
			out[i] += vals[c];
	}
	free(vals);
	return 0;
}

void ig_kernel_manifest_fds(struct ig_kernel *k, int *manifest_fd, int *cfg_fd)
{
	*manifest_fd = bpf_map__fd(k->skel->maps.ig_manifest);
	*cfg_fd = bpf_map__fd(k->skel->maps.ig_cfg);
}

__u32 ig_kernel_manifest_id(struct ig_kernel *k)
{
	struct bpf_map_info info = {};
	__u32 len = sizeof(info);

	if (!k->skel || bpf_obj_get_info_by_fd(bpf_map__fd(k->skel->maps.ig_manifest), &info, &len))
		return 0;
	return info.id;
}

int ig_kernel_events_fd(struct ig_kernel *k)
{
	return ring_buffer__epoll_fd(k->rb);
}

int ig_kernel_poll_events(struct ig_kernel *k)
{
	return ring_buffer__consume(k->rb);
}

int ig_kernel_stop_enforcing(struct ig_kernel *k)
{
	struct bpf_map *map;
	struct dirent *de;
	char path[512];
	int ret = 0, err;
	DIR *dir;

	k->nlinks = 0; /* nothing the state check should find attached any more */
	/* Links first: removing their pins detaches the programs. */
	dir = opendir(IG_PIN_DIR);
	if (dir) {
		while ((de = readdir(dir))) {
			if (strncmp(de->d_name, "link_", 5))
				continue;
			snprintf(path, sizeof(path), "%s/%s", IG_PIN_DIR, de->d_name);
			err = ig_bpf_unpin_link(path);
			if (err)
				ret = err;
		}
		closedir(dir);
	}
	if (k->skel)
		bpf_object__for_each_map(map, k->skel->obj) if (bpf_map__pin_path(map) &&
								unlink(bpf_map__pin_path(map)) &&
								errno != ENOENT) ret = -errno;
	if (rmdir(IG_PIN_DIR) && errno != ENOENT && errno != ENOTEMPTY && !ret)
		ret = -errno;
	return ret;
}

void ig_kernel_close(struct ig_kernel *k)
{
	ring_buffer__free(k->rb);
	k->rb = NULL;
	ig_exec__destroy(k->skel);
	k->skel = NULL;
}
