// SPDX-License-Identifier: GPL-2.0-only
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/vfs.h>
#include <unistd.h>
#include <bpf/bpf.h>
#include <bpf/btf.h>
#include <bpf/libbpf.h>
#include "iotgate.h" /* before the skeleton: it names our structs */
#include "exec.skel.h"
#include "kernel.h"
#include "log.h"

#ifndef BPF_FS_MAGIC
#define BPF_FS_MAGIC 0xcafe4a11
#endif

#define LINK_LSM IG_PIN_DIR "/link_ig_bprm_check"

static void close_fd(int *fd)
{
	if (*fd >= 0)
		close(*fd);
	*fd = -1;
}

int ig_kernel_check_bpffs(void)
{
	struct statfs sfs;

	if (statfs("/sys/fs/bpf", &sfs) < 0)
		return -errno;
	return (__u32)sfs.f_type == BPF_FS_MAGIC ? 0 : -ENOENT;
}

static bool lsm_listed(void)
{
	char buf[512] = "";
	ssize_t n;
	int fd;

	fd = open("/sys/kernel/security/lsm", O_RDONLY | O_CLOEXEC);
	if (fd < 0)
		return false;
	n = read(fd, buf, sizeof(buf) - 1);
	close(fd);
	if (n <= 0)
		return false;
	buf[n] = '\0';
	for (char *tok = strtok(buf, ",\n"); tok; tok = strtok(NULL, ",\n"))
		if (!strcmp(tok, "bpf"))
			return true;
	return false;
}

static int pin_maps(struct ig_exec *skel)
{
	struct bpf_map *map;
	char path[256];

	bpf_object__for_each_map(map, skel->obj)
	{
		/* .rodata is per-load and frozen: only the shared ig_ maps are pinned. */
		if (strchr(bpf_map__name(map), '.'))
			continue;
		snprintf(path, sizeof(path), "%s/%s", IG_PIN_DIR, bpf_map__name(map));
		if (bpf_map__set_pin_path(map, path))
			return -ENOMEM;
	}
	return 0;
}

/* Maps this load pinned for the first time (not re-used): unpinned on failure. */
static void unpin_new_maps(struct ig_exec *skel, bool reused[8])
{
	struct bpf_map *map;
	int i = 0;

	bpf_object__for_each_map(map, skel->obj)
	{
		if (i < 8 && !reused[i] && bpf_map__is_pinned(map))
			bpf_map__unpin(map, NULL);
		i++;
	}
}

static void note_reused(struct ig_exec *skel, bool reused[8])
{
	struct bpf_map *map;
	int i = 0;

	bpf_object__for_each_map(map, skel->obj)
	{
		if (i < 8)
			reused[i] =
				bpf_map__pin_path(map) && access(bpf_map__pin_path(map), F_OK) == 0;
		i++;
	}
}

static int attach_one(struct bpf_program *prog, const char *pin, struct bpf_link **out)
{
	struct bpf_link *link = bpf_program__attach(prog);
	int ret;

	if (!link)
		return -errno;
	ret = bpf_link__pin(link, pin);
	if (ret) {
		bpf_link__destroy(link);
		return ret;
	}
	*out = link;
	return 0;
}

static int fill(struct ig_kernel *k, const struct ig_kernel_config *cfg, const struct ig_verified *v,
		size_t n)
{
	int ret = ig_kernel_set_manifest(k, v, n);

	if (!ret)
		ret = ig_kernel_set_memfd(k, cfg->memfd, cfg->nmemfd);
	return ret ? ret : ig_kernel_set_mode(k, cfg->mode, cfg->flags);
}

struct prog_slot {
	struct bpf_program *prog;
	bool lsm; /* needs BPF LSM (full tier) */
	bool pinned; /* a link pinned by an earlier daemon exists */
	struct bpf_link *link; /* attached by this load */
	char pin[128];
};

#define N_PROGS 12

static void prog_slots(struct ig_exec *skel, struct prog_slot s[N_PROGS])
{
	struct bpf_program *progs[N_PROGS] = {
		skel->progs.ig_bprm_check, skel->progs.ig_mmap_file,  skel->progs.ig_mprotect,
		skel->progs.ig_file_open,  skel->progs.ig_file_perm,  skel->progs.ig_truncate,
		skel->progs.ig_inode_perm, skel->progs.ig_bpf_map,    skel->progs.ig_bpf_prog,
		skel->progs.ig_task_kill,  skel->progs.ig_ptrace,     skel->progs.ig_exec_tp,
	};

	for (int i = 0; i < N_PROGS; i++) {
		memset(&s[i], 0, sizeof(s[i]));
		s[i].prog = progs[i];
		s[i].lsm = progs[i] != skel->progs.ig_exec_tp;
		snprintf(s[i].pin, sizeof(s[i].pin), "%s/link_%s", IG_PIN_DIR,
			 bpf_program__name(progs[i]));
		s[i].pinned = access(s[i].pin, F_OK) == 0;
	}
}

/*
 * One attempt at a tier. want_lsm: load the LSM programs (full tier), else
 * the tracepoint. Returns 0, or negative errno with *lsm_failed set when the
 * kernel refused an LSM program.
 */
static int try_tier(struct ig_kernel *k, bool want_lsm, const struct ig_kernel_config *cfg,
		    const struct ig_verified *v, size_t n, bool *lsm_failed)
{
	struct prog_slot slot[N_PROGS];
	bool reused[8] = { 0 };
	struct ig_exec *skel;
	int ret;

	*lsm_failed = false;
	close_fd(&k->manifest_fd); /* an earlier attempt's */
	close_fd(&k->prev_manifest_fd);
	skel = ig_exec__open();
	if (!skel)
		return -errno;
	ret = pin_maps(skel);
	if (ret)
		goto fail;
	prog_slots(skel, slot);
	/* A pinned link from an earlier daemon keeps running: do not attach twice. */
	for (int i = 0; i < N_PROGS; i++)
		bpf_program__set_autoload(slot[i].prog, slot[i].lsm == want_lsm && !slot[i].pinned);
	note_reused(skel, reused);

	ig_log_libbpf_quiet(want_lsm);
	ret = ig_exec__load(skel);
	ig_log_libbpf_quiet(false);
	if (ret) {
		*lsm_failed = want_lsm;
		goto fail;
	}
	k->skel = skel;
	ret = fill(k, cfg, v, n);
	if (ret)
		goto fail;
	k->readopted = false;
	for (int i = 0; i < N_PROGS; i++) {
		if (slot[i].lsm != want_lsm)
			continue;
		if (slot[i].pinned) {
			k->readopted = true;
			continue;
		}
		ret = attach_one(slot[i].prog, slot[i].pin, &slot[i].link);
		if (ret) {
			*lsm_failed = want_lsm;
			goto fail;
		}
	}
	/*
	 * The pins own the links from here on: destroying our handle only closes
	 * its fd (a pinned link stays attached), so unpinning later detaches.
	 */
	for (int i = 0; i < N_PROGS; i++)
		bpf_link__destroy(slot[i].link);
	k->lsm_attached = want_lsm;
	k->tp_attached = !want_lsm;
	return 0;
fail:
	for (int i = 0; i < N_PROGS; i++) {
		if (slot[i].link) {
			bpf_link__unpin(slot[i].link);
			bpf_link__destroy(slot[i].link);
		}
	}
	unpin_new_maps(skel, reused);
	ig_exec__destroy(skel);
	k->skel = NULL;
	return ret;
}

int ig_kernel_open(struct ig_kernel *k, const struct ig_kernel_config *cfg,
		   const struct ig_verified *v, size_t n, ig_event_fn fn, void *ctx)
{
	bool lsm_failed = false;
	int ret;

	memset(k, 0, sizeof(*k));
	k->manifest_fd = k->prev_manifest_fd = -1;
	if (mkdir(IG_PIN_DIR, 0700) && errno != EEXIST)
		return -errno;
	if (access(LINK_LSM, F_OK) == 0 || lsm_listed()) {
		ret = try_tier(k, true, cfg, v, n, &lsm_failed);
		if (!ret) {
			k->tier = IG_TIER_FULL;
			goto events;
		}
		if (!lsm_failed)
			return ret;
		snprintf(
			k->why_partial, sizeof(k->why_partial),
			"the kernel refused the BPF LSM program (%s): exec is measured but cannot be denied",
			strerror(-ret));
	} else {
		snprintf(
			k->why_partial, sizeof(k->why_partial),
			"BPF LSM is not active ('bpf' missing from /sys/kernel/security/lsm): exec is measured but cannot be denied");
	}
	ret = try_tier(k, false, cfg, v, n, &lsm_failed);
	if (ret)
		return ret;
	k->tier = IG_TIER_PARTIAL;
events:
	k->rb = ring_buffer__new(bpf_map__fd(k->skel->maps.ig_events), fn, ctx, NULL);
	if (!k->rb) {
		ret = -errno;
		ig_kernel_close(k);
		return ret;
	}
	return 0;
}

int ig_kernel_set_manifest(struct ig_kernel *k, const struct ig_verified *v, size_t n)
{
	struct ig_file_key *keys = calloc(n ? n : 1, sizeof(*keys));
	struct ig_file_val *vals = calloc(n ? n : 1, sizeof(*vals));
	LIBBPF_OPTS(bpf_map_create_opts, opts);
	struct btf *btf;
	__u32 zero = 0, count;
	int inner = -1, ret = 0;

	if (!keys || !vals) {
		ret = -ENOMEM;
		goto out;
	}
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
	inner = bpf_map_create(BPF_MAP_TYPE_HASH, "ig_files", sizeof(*keys), sizeof(*vals),
			       n ? n : 1, &opts);
	if (inner < 0) {
		ret = -errno;
		goto out;
	}
	/* Batch updates take keys and values as two packed arrays. */
	for (size_t i = 0; i < n; i++) {
		keys[i] = v[i].key;
		vals[i] = v[i].val;
	}
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
	/* The swap: the programs see either the old map or the complete new one. */
	if (bpf_map_update_elem(bpf_map__fd(k->skel->maps.ig_manifest), &zero, &inner, BPF_ANY)) {
		ret = -errno;
		goto out;
	}
	k->generation++;
	/* The replaced map is kept until commit, so a failed activation can put it back. */
	close_fd(&k->prev_manifest_fd);
	k->prev_manifest_fd = k->manifest_fd;
	k->manifest_fd = inner;
	inner = -1;
out:
	if (inner >= 0)
		close(inner);
	free(keys);
	free(vals);
	return ret;
}

int ig_kernel_restore_manifest(struct ig_kernel *k)
{
	__u32 zero = 0;
	int fd = k->prev_manifest_fd;

	if (fd < 0)
		return -ENOENT;
	if (bpf_map_update_elem(bpf_map__fd(k->skel->maps.ig_manifest), &zero, &fd, BPF_ANY))
		return -errno;
	k->generation++;
	k->prev_manifest_fd = k->manifest_fd;
	k->manifest_fd = fd;
	return 0;
}

void ig_kernel_commit_manifest(struct ig_kernel *k)
{
	close_fd(&k->prev_manifest_fd);
}

int ig_kernel_set_memfd(struct ig_kernel *k, char *const *names, size_t n)
{
	int fd = bpf_map__fd(k->skel->maps.ig_memfd);
	struct ig_memfd_key key, next;
	bool more;
	__u32 one = 1;

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
		if (bpf_map_update_elem(fd, &key, &one, BPF_ANY))
			return -errno;
	}
	return 0;
}

int ig_kernel_set_mode(struct ig_kernel *k, unsigned int mode, unsigned int flags)
{
	struct ig_config cfg = { .mode = mode,
				 .flags = flags,
				 .abi_version = IG_ABI_VERSION,
				 .generation = k->generation };
	__u32 zero = 0;

	if (bpf_map_update_elem(bpf_map__fd(k->skel->maps.ig_cfg), &zero, &cfg, BPF_ANY))
		return -errno;
	return 0;
}

int ig_kernel_protect_pins(struct ig_kernel *k)
{
	int fd = bpf_map__fd(k->skel->maps.ig_pins);
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
		close(f);
	}
	closedir(dir);
	return ret;
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
	int ret = 0;
	DIR *dir;

	/* Links first: removing their pins detaches the programs. */
	dir = opendir(IG_PIN_DIR);
	if (dir) {
		while ((de = readdir(dir))) {
			if (strncmp(de->d_name, "link_", 5))
				continue;
			snprintf(path, sizeof(path), "%s/%s", IG_PIN_DIR, de->d_name);
			if (unlink(path) && errno != ENOENT)
				ret = -errno;
		}
		closedir(dir);
	}
	if (k->skel)
		bpf_object__for_each_map(map, k->skel->obj)
			if (bpf_map__pin_path(map) && unlink(bpf_map__pin_path(map)) &&
			    errno != ENOENT)
				ret = -errno;
	if (rmdir(IG_PIN_DIR) && errno != ENOENT && errno != ENOTEMPTY && !ret)
		ret = -errno;
	return ret;
}

void ig_kernel_close(struct ig_kernel *k)
{
	close_fd(&k->manifest_fd);
	close_fd(&k->prev_manifest_fd);
	ring_buffer__free(k->rb);
	k->rb = NULL;
	ig_exec__destroy(k->skel);
	k->skel = NULL;
}
