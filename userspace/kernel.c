// SPDX-License-Identifier: GPL-2.0-only
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

#define LINK_LSM IG_PIN_DIR "/link_bprm_check"
#define LINK_TP IG_PIN_DIR "/link_exec_tp"

int ig_kernel_check_bpffs(void)
{
	struct statfs sfs;

	if (statfs("/sys/fs/bpf", &sfs) < 0)
		return -errno;
	return sfs.f_type == BPF_FS_MAGIC ? 0 : -ENOENT;
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

static int fill(struct ig_kernel *k, unsigned int mode, const struct ig_verified *v, size_t n)
{
	int ret = ig_kernel_set_manifest(k, v, n);

	return ret ? ret : ig_kernel_set_mode(k, mode);
}

/*
 * One attempt at a tier. want_lsm: load the LSM program (full tier).
 * Returns 0, or negative errno with *lsm_failed set when the LSM program was
 * what the kernel refused.
 */
static int try_tier(struct ig_kernel *k, bool want_lsm, unsigned int mode,
		    const struct ig_verified *v, size_t n, bool *lsm_failed)
{
	bool have_lsm_pin = access(LINK_LSM, F_OK) == 0;
	bool have_tp_pin = access(LINK_TP, F_OK) == 0;
	bool reused[8] = { 0 };
	struct bpf_link *lsm_link = NULL, *tp_link = NULL;
	struct ig_exec *skel;
	int ret;

	*lsm_failed = false;
	skel = ig_exec__open();
	if (!skel)
		return -errno;
	ret = pin_maps(skel);
	if (ret)
		goto fail;
	/* A pinned link from an earlier daemon keeps running: do not attach twice. */
	bpf_program__set_autoload(skel->progs.ig_bprm_check, want_lsm && !have_lsm_pin);
	bpf_program__set_autoload(skel->progs.ig_exec_tp, !want_lsm && !have_tp_pin);
	note_reused(skel, reused);

	ig_log_libbpf_quiet(want_lsm);
	ret = ig_exec__load(skel);
	ig_log_libbpf_quiet(false);
	if (ret) {
		*lsm_failed = want_lsm && !have_lsm_pin;
		goto fail;
	}
	k->skel = skel;
	ret = fill(k, mode, v, n);
	if (ret)
		goto fail;
	if (want_lsm && !have_lsm_pin) {
		ret = attach_one(skel->progs.ig_bprm_check, LINK_LSM, &lsm_link);
		if (ret) {
			*lsm_failed = true;
			goto fail;
		}
	}
	if (!want_lsm && !have_tp_pin) {
		ret = attach_one(skel->progs.ig_exec_tp, LINK_TP, &tp_link);
		if (ret)
			goto fail;
	}
	/* The pins own the links from here on; our handles are not needed. */
	if (lsm_link) {
		bpf_link__disconnect(lsm_link);
		bpf_link__destroy(lsm_link);
	}
	if (tp_link) {
		bpf_link__disconnect(tp_link);
		bpf_link__destroy(tp_link);
	}
	k->lsm_attached = want_lsm;
	k->tp_attached = !want_lsm;
	k->readopted = want_lsm ? have_lsm_pin : have_tp_pin;
	return 0;
fail:
	if (lsm_link) {
		bpf_link__unpin(lsm_link);
		bpf_link__destroy(lsm_link);
	}
	if (tp_link) {
		bpf_link__unpin(tp_link);
		bpf_link__destroy(tp_link);
	}
	unpin_new_maps(skel, reused);
	ig_exec__destroy(skel);
	k->skel = NULL;
	return ret;
}

int ig_kernel_open(struct ig_kernel *k, unsigned int mode, const struct ig_verified *v, size_t n,
		   ig_event_fn fn, void *ctx)
{
	bool lsm_failed = false;
	int ret;

	memset(k, 0, sizeof(*k));
	if (mkdir(IG_PIN_DIR, 0700) && errno != EEXIST)
		return -errno;
	if (access(LINK_LSM, F_OK) == 0 || lsm_listed()) {
		ret = try_tier(k, true, mode, v, n, &lsm_failed);
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
	ret = try_tier(k, false, mode, v, n, &lsm_failed);
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
	if (bpf_map_update_elem(bpf_map__fd(k->skel->maps.ig_manifest), &zero, &inner, BPF_ANY))
		ret = -errno;
	else
		k->generation++;
out:
	if (inner >= 0)
		close(inner);
	free(keys);
	free(vals);
	return ret;
}

int ig_kernel_set_mode(struct ig_kernel *k, unsigned int mode)
{
	struct ig_config cfg = { .mode = mode,
				 .abi_version = IG_ABI_VERSION,
				 .generation = k->generation };
	__u32 zero = 0;

	if (bpf_map_update_elem(bpf_map__fd(k->skel->maps.ig_cfg), &zero, &cfg, BPF_ANY))
		return -errno;
	return 0;
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
	int ret = 0;

	/* Links first: removing their pins detaches the programs. */
	if (unlink(LINK_LSM) && errno != ENOENT)
		ret = -errno;
	if (unlink(LINK_TP) && errno != ENOENT)
		ret = -errno;
	if (k->skel)
		bpf_object__for_each_map(map, k->skel->obj) if (bpf_map__pin_path(map) &&
								unlink(bpf_map__pin_path(map)) &&
								errno != ENOENT) ret = -errno;
	if (rmdir(IG_PIN_DIR) && errno != ENOENT && !ret)
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
