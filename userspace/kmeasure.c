// SPDX-License-Identifier: GPL-2.0-only
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/utsname.h>
#include <unistd.h>
#include <bpf/bpf.h>
#include <bpf/libbpf.h>
#include "bpfobj.h"
#include "kmeasure.h"
#include "manifest.h"
#include "log.h"

/*
 * The Makefile names every skeleton struct ig_<file>, which for kmeasure.bpf.c
 * is the name of this file's public handle: the skeleton's is renamed here.
 */
#define ig_kmeasure ig_kmeasure_skel
#include "kmeasure.skel.h"
#undef ig_kmeasure

#define MOD_NAME "iotgate_measure"
#define MOD_SYSFS "/sys/module/" MOD_NAME
#define MOD_BTF "/sys/kernel/btf/" MOD_NAME

struct ig_kmeasure {
	int source; /* IG_KMS_* */
	struct ig_kmeasure_skel *skel;
	struct ring_buffer *rb;
	ig_kmeas_fn cb;
	void *ctx;
	struct ig_kmeasure_opts opts;
	int pending; /* loaded by ig_kmeasure_prepare(), not attached yet; -1: none */
	char reason[512];
};

const char *ig_kmeasure_source_name(int source)
{
	switch (source) {
	case IG_KMS_MODULE:
		return "module";
	case IG_KMS_IMA:
		return "ima";
	default:
		return "userspace";
	}
}

/* Appends "; what" to the reason. */
static void __attribute__((format(printf, 2, 3))) why(struct ig_kmeasure *km, const char *fmt, ...)
{
	size_t len = strlen(km->reason);
	va_list ap;

	if (len && len + 2 < sizeof(km->reason)) {
		memcpy(km->reason + len, "; ", 3);
		len += 2;
	}
	va_start(ap, fmt);
	vsnprintf(km->reason + len, sizeof(km->reason) - len, fmt, ap);
	va_end(ap);
}

static int read_small(const char *path, char *buf, size_t size)
{
	ssize_t n;
	int fd;

	fd = open(path, O_RDONLY | O_CLOEXEC);
	if (fd < 0)
		return -errno;
	n = read(fd, buf, size - 1);
	if (n < 0)
		n = -errno;
	close(fd);
	if (n < 0)
		return n;
	buf[n] = '\0';
	buf[strcspn(buf, "\n")] = '\0';
	return 0;
}

static bool module_live(void)
{
	char state[32];

	return read_small(MOD_SYSFS "/initstate", state, sizeof(state)) == 0 &&
	       !strcmp(state, "live") && access(MOD_BTF, F_OK) == 0;
}

/* Loads the module from path. Returns 0 or negative errno with the reason noted. */
static int load_module(struct ig_kmeasure *km, const char *path)
{
	int fd, ret = 0;

	fd = open(path, O_RDONLY | O_CLOEXEC);
	if (fd < 0) {
		ret = -errno;
		why(km, "cannot open %s: %s", path, strerror(-ret));
		return ret;
	}
	if (syscall(SYS_finit_module, fd, "", 0) && errno != EEXIST) {
		ret = -errno;
		if (ret == -ENOEXEC)
			why(km,
			    "cannot load %s: %s (built for another kernel: vermagic or symbol versions differ, see dmesg)",
			    path, strerror(-ret));
		else if (ret == -EPERM || ret == -EKEYREJECTED)
			why(km,
			    "cannot load %s: %s (module loading disabled, signature required, or not in the manifest in force)",
			    path, strerror(-ret));
		else
			why(km, "cannot load %s: %s", path, strerror(-ret));
	}
	close(fd);
	if (!ret && !module_live()) {
		ret = -ENOENT;
		why(km, "%s loaded but " MOD_NAME " is not live with BTF", path);
	}
	return ret;
}

static int on_record(void *ctx, void *data, size_t size)
{
	struct ig_kmeasure *km = ctx;

	if (size < sizeof(struct ig_kmeas_event))
		return 0;
	return km->cb ? km->cb(km->ctx, data) : 0;
}

static void unload(struct ig_kmeasure *km)
{
	ring_buffer__free(km->rb);
	km->rb = NULL;
	ig_kmeasure__destroy(km->skel);
	km->skel = NULL;
}

/*
 * The file the self-test maps: the smallest regular file this process
 * already maps executable (a shared library, else the daemon itself), so
 * the policy that let the daemon run lets it map the file again, and the
 * kernel's hash of it takes as little of the start as it can (the daemon's
 * own binary, with its BPF objects, is over a megabyte). An fd or -errno.
 */
static int probe_file(void)
{
	char line[4096 + 128], best[4096] = "";
	off_t best_size = 0;
	struct stat st;
	FILE *f;
	int fd;

	f = fopen("/proc/self/maps", "re");
	while (f && fgets(line, sizeof(line), f)) {
		char perms[8], *path = strchr(line, '/');
		size_t n;

		if (!path || sscanf(line, "%*s %7s", perms) != 1 || perms[2] != 'x')
			continue;
		n = strlen(path);
		if (n && path[n - 1] == '\n')
			path[--n] = '\0';
		/* replaced since it was mapped: the name is another file's now */
		if (n >= 10 && !strcmp(path + n - 10, " (deleted)"))
			continue;
		if (stat(path, &st) || !S_ISREG(st.st_mode) || st.st_size < 4096 ||
		    (best[0] && st.st_size >= best_size))
			continue;
		snprintf(best, sizeof(best), "%s", path);
		best_size = st.st_size;
	}
	if (f)
		fclose(f);
	fd = best[0] ? open(best, O_RDONLY | O_CLOEXEC) : -1;
	if (fd < 0)
		fd = open("/proc/self/exe", O_RDONLY | O_CLOEXEC);
	return fd < 0 ? -errno : fd;
}

/*
 * Self-test: map a file with PROT_EXEC (probe_file); the mmap_file program
 * records what the source said for it. 0: measured; 1: not observed (another
 * LSM program refused the mapping first); negative errno: the source failed.
 */
static int self_test(struct ig_kmeasure *km)
{
	struct ig_kmeasure_skel *skel = km->skel;
	void *p;
	int fd;

	skel->bss->ig_km_probe_ret = 0;
	skel->bss->ig_km_probe_done = 0;
	skel->bss->ig_km_probe_tgid = getpid();
	fd = probe_file();
	if (fd < 0) {
		skel->bss->ig_km_probe_tgid = 0;
		return 1;
	}
	p = mmap(NULL, 4096, PROT_READ | PROT_EXEC, MAP_PRIVATE, fd, 0);
	if (p != MAP_FAILED)
		munmap(p, 4096);
	close(fd);
	skel->bss->ig_km_probe_tgid = 0;
	if (!skel->bss->ig_km_probe_done)
		return 1;
	return skel->bss->ig_km_probe_ret < 0 ? skel->bss->ig_km_probe_ret : 0;
}

/*
 * Lazy appraisal: manifest entries not yet used are admitted only through
 * these programs, so they outlive the daemon like exec.bpf.c's (a killed
 * daemon leaves enforcement in force, and a restart must be able to run): their
 * links are pinned, replacing those of an earlier daemon once ours are
 * attached. ig_kernel_stop_enforcing removes them with the other link_* pins.
 */
static int pin_links(struct ig_kmeasure *km)
{
	struct bpf_link *links[] = { km->skel->links.ig_km_exec, km->skel->links.ig_km_mmap,
				     km->skel->links.ig_km_kread };
	const char *names[] = { "link_ig_km_exec", "link_ig_km_mmap", "link_ig_km_kread" };
	char path[256];

	for (size_t i = 0; i < sizeof(links) / sizeof(links[0]); i++) {
		snprintf(path, sizeof(path), "%s/%s", IG_PIN_DIR, names[i]);
		if (unlink(path) && errno != ENOENT)
			return -errno;
		if (bpf_link__pin(links[i], path))
			return -errno;
	}
	return 0;
}

/* Loads and attaches the programs for one source. Returns 0 or negative errno, reason noted. */
/* The first half of a source: the object opened and loaded, nothing attached. */
static int load_source(struct ig_kmeasure *km, int source)
{
	const char *name = ig_kmeasure_source_name(source);
	int ret;

	km->skel = ig_kmeasure__open();
	if (!km->skel) {
		ret = -errno;
		why(km, "%s: cannot open the BPF object: %s", name, strerror(-ret));
		return ret;
	}
	km->skel->rodata->ig_km_source = source;
	/* modules, kexec images and firmware are only appraised, not measured here */
	bpf_program__set_autoload(km->skel->progs.ig_km_kread, km->opts.lazy);
	if (km->opts.lazy) {
		km->skel->rodata->ig_km_lazy = 1;
		ret = bpf_map__reuse_fd(km->skel->maps.ig_manifest, km->opts.manifest_fd);
		if (!ret)
			ret = bpf_map__reuse_fd(km->skel->maps.ig_cfg, km->opts.cfg_fd);
		if (ret) {
			why(km, "%s: cannot share the manifest maps: %s", name, strerror(-ret));
			goto fail;
		}
	}
	/* A refusal is an expected answer here, not a warning. */
	ig_log_libbpf_quiet(true);
	ret = ig_kmeasure__load(km->skel);
	ig_log_libbpf_quiet(false);
	ig_bpf_release_skel(ig_kmeasure);
	if (ret) {
		ret = ret < 0 ? ret : -EINVAL;
		why(km, "%s: the kernel refused the sleepable LSM programs: %s", name,
		    strerror(-ret));
		goto fail;
	}
	return 0;
fail:
	unload(km);
	return ret;
}

/* The second half: attached after exec.bpf.c's programs, checked, pinned. */
static int attach_source(struct ig_kmeasure *km, int source)
{
	const char *name = ig_kmeasure_source_name(source);
	int ret;

	ret = ig_kmeasure__attach(km->skel);
	if (ret) {
		ret = ret < 0 ? ret : -EINVAL;
		why(km, "%s: cannot attach the sleepable LSM programs: %s", name, strerror(-ret));
		goto fail;
	}
	km->rb = ring_buffer__new(bpf_map__fd(km->skel->maps.ig_kmeas), on_record, km, NULL);
	if (!km->rb) {
		ret = -errno;
		why(km, "%s: cannot open the ring buffer: %s", name, strerror(-ret));
		goto fail;
	}
	ret = self_test(km);
	if (ret < 0) {
		if (source == IG_KMS_IMA && ret == -EPROTO)
			why(km,
			    "ima: bpf_ima_file_hash does not hash with SHA-256 here (ima_hash=)");
		else
			why(km, "%s: self-test (an executable mapping) failed: %s", name,
			    strerror(-ret));
		goto fail;
	}
	if (ret > 0)
		why(km, "%s: self-test not observed (mapping refused by another program?)", name);
	if (km->opts.lazy) {
		ret = pin_links(km);
		if (ret) {
			why(km, "%s: cannot pin the links: %s", name, strerror(-ret));
			goto fail;
		}
	}
	km->source = source;
	return 0;
fail:
	unload(km);
	return ret;
}

/*
 * The sources in order of preference from 'from' on: loads (attach: and
 * attaches) the first that works. The source's IG_KMS_*, or -1: none.
 */
static int pick_source(struct ig_kmeasure *km, int from, bool attach)
{
	int only = km->opts.only;

	if (from <= IG_KMS_MODULE && (only < 0 || only == IG_KMS_MODULE)) {
		bool live = module_live();

		if (!live && km->opts.module_path)
			live = load_module(km, km->opts.module_path) == 0;
		else if (!live)
			why(km, "module: " MOD_NAME " is not loaded");
		if (live && load_source(km, IG_KMS_MODULE) == 0) {
			if (!attach || attach_source(km, IG_KMS_MODULE) == 0)
				return IG_KMS_MODULE;
		}
	}
	if (from <= IG_KMS_IMA && (only < 0 || only == IG_KMS_IMA) &&
	    load_source(km, IG_KMS_IMA) == 0) {
		if (!attach || attach_source(km, IG_KMS_IMA) == 0)
			return IG_KMS_IMA;
	}
	return -1;
}

int ig_kmeasure_prepare(struct ig_kmeasure **out, const struct ig_kmeasure_opts *opts,
			ig_kmeas_fn cb, void *ctx)
{
	int only = opts ? opts->only : -1;
	struct ig_kmeasure *km;

	*out = NULL;
	if (only > IG_KMS_IMA)
		return -EINVAL;
	km = calloc(1, sizeof(*km));
	if (!km)
		return -ENOMEM;
	km->cb = cb;
	km->ctx = ctx;
	km->opts.only = -1;
	if (opts)
		km->opts = *opts;
	km->source = IG_KMS_USERSPACE;
	km->pending = -1;
	*out = km;
	if (only >= 0 && only != IG_KMS_MODULE && only != IG_KMS_IMA)
		return 0;
	if (!ig_bpf_lsm_active()) {
		why(km, "BPF LSM is not active ('bpf' missing from /sys/kernel/security/lsm)");
		return 0;
	}
	km->pending = pick_source(km, IG_KMS_MODULE, false);
	return 0;
}

int ig_kmeasure_start(struct ig_kmeasure *km)
{
	int src;

	if (km->pending < 0)
		return km->source;
	src = km->pending;
	km->pending = -1;
	if (attach_source(km, src) == 0) {
		km->source = src;
		return src;
	}
	/* attach failed: the sources after it, loaded and attached here */
	src = pick_source(km, src + 1, true);
	if (src >= 0)
		km->source = src;
	return km->source;
}

int ig_kmeasure_open_opts(struct ig_kmeasure **out, const struct ig_kmeasure_opts *opts,
			  ig_kmeas_fn cb, void *ctx)
{
	int ret = ig_kmeasure_prepare(out, opts, cb, ctx);

	return ret ? ret : ig_kmeasure_start(*out);
}

int ig_kmeasure_can_hash(char *why, size_t len)
{
	struct utsname u;
	unsigned int maj = 0, min = 0;

	if (!ig_bpf_lsm_active()) {
		snprintf(why, len, "BPF LSM is not active: the kernel cannot hash files");
		return 0;
	}
	if (module_live())
		return 1;
	/* bpf_ima_file_hash: 5.18; whether IMA is built in shows when the programs load. */
	if (uname(&u) == 0 && sscanf(u.release, "%u.%u", &maj, &min) == 2 &&
	    (maj > 5 || (maj == 5 && min >= 18)) && access("/sys/kernel/security/ima", F_OK) == 0)
		return 1;
	snprintf(why, len, "neither %s nor bpf_ima_file_hash (5.18+, IMA) here", MOD_NAME);
	return 0;
}

int ig_kmeasure_open(struct ig_kmeasure **out, ig_kmeas_fn cb, void *ctx)
{
	return ig_kmeasure_open_opts(out, NULL, cb, ctx);
}

bool ig_kmeasure_lazy(const struct ig_kmeasure *km)
{
	return km && km->skel && km->opts.lazy;
}

const char *ig_kmeasure_source(const struct ig_kmeasure *km)
{
	return ig_kmeasure_source_name(km ? km->source : IG_KMS_USERSPACE);
}

int ig_kmeasure_source_id(const struct ig_kmeasure *km)
{
	return km ? km->source : IG_KMS_USERSPACE;
}

const char *ig_kmeasure_reason(const struct ig_kmeasure *km)
{
	return km ? km->reason : "";
}

int ig_kmeasure_fd(const struct ig_kmeasure *km)
{
	return km && km->rb ? ring_buffer__epoll_fd(km->rb) : -1;
}

int ig_kmeasure_poll(struct ig_kmeasure *km)
{
	if (!km || !km->rb)
		return 0;
	return ring_buffer__consume(km->rb);
}

int ig_kmeasure_counters(const struct ig_kmeasure *km, __u64 out[IG_KMC_MAX])
{
	int ncpu, ret = 0;
	__u64 *vals;

	memset(out, 0, IG_KMC_MAX * sizeof(*out));
	if (!km || !km->skel)
		return 0;
	ncpu = libbpf_num_possible_cpus();
	if (ncpu <= 0)
		return ncpu ? ncpu : -EINVAL;
	vals = calloc(ncpu, sizeof(*vals));
	if (!vals)
		return -ENOMEM;
	for (__u32 i = 0; i < IG_KMC_MAX; i++) {
		if (bpf_map_lookup_elem(bpf_map__fd(km->skel->maps.ig_kmeas_cnt), &i, vals)) {
			ret = -errno;
			continue;
		}
		for (int c = 0; c < ncpu; c++)
			out[i] += vals[c];
	}
	free(vals);
	return ret;
}

/* The module's parameters and counters: numbers as numbers, the rest as strings. */
static struct json_object *module_json(void)
{
	struct json_object *o;
	char path[512], val[128], *end;
	struct dirent *de;
	DIR *dir;

	dir = opendir(MOD_SYSFS "/parameters");
	if (!dir)
		return NULL;
	o = json_object_new_object();
	while ((de = readdir(dir))) {
		long long n;

		if (de->d_name[0] == '.')
			continue;
		snprintf(path, sizeof(path), MOD_SYSFS "/parameters/%s", de->d_name);
		if (read_small(path, val, sizeof(val)))
			continue;
		errno = 0;
		n = strtoll(val, &end, 10);
		if (val[0] && !*end && !errno)
			json_object_object_add(o, de->d_name, json_object_new_int64(n));
		else
			json_object_object_add(o, de->d_name, json_object_new_string(val));
	}
	closedir(dir);
	return o;
}

void ig_kmeasure_status(const struct ig_kmeasure *km, struct json_object *status)
{
	static const char *const names[IG_KMC_MAX] = { "calls", "hashed",    "events",	  "errors",
						       "lost",	"appraised", "mismatched" };
	struct json_object *o = json_object_new_object(), *c, *mod;
	__u64 cnt[IG_KMC_MAX];

	json_object_object_add(status, "measure_source",
			       json_object_new_string(ig_kmeasure_source(km)));
	json_object_object_add(o, "source", json_object_new_string(ig_kmeasure_source(km)));
	json_object_object_add(o, "reason", json_object_new_string(ig_kmeasure_reason(km)));
	if (km && km->skel && ig_kmeasure_counters(km, cnt) == 0) {
		c = json_object_new_object();
		for (int i = 0; i < IG_KMC_MAX; i++)
			json_object_object_add(c, names[i], json_object_new_int64((int64_t)cnt[i]));
		json_object_object_add(o, "counters", c);
	}
	if (km && km->skel) /* bigger files are not hashed in the kernel */
		json_object_object_add(o, "max_size",
				       json_object_new_uint64(km->skel->bss->ig_km_max_size));
	if (km && km->source == IG_KMS_MODULE && (mod = module_json()))
		json_object_object_add(o, "module", mod);
	json_object_object_add(status, "kmeasure", o);
}

int ig_kmeasure_enable(struct ig_kmeasure *km, bool on)
{
	if (!km || !km->skel)
		return -ENOENT;
	if (!on) {
		ig_kmeasure__detach(km->skel);
		return 0;
	}
	if (km->skel->links.ig_km_exec && km->skel->links.ig_km_mmap)
		return 0;
	ig_kmeasure__detach(km->skel);
	return ig_kmeasure__attach(km->skel);
}

void ig_kmeasure_set_manifest(struct ig_kmeasure *km, const struct ig_verified *v, size_t n)
{
	uint64_t max = 1; /* 0 is "no bound": an empty manifest matches no content */

	for (size_t i = 0; i < n; i++)
		if (v[i].size > max)
			max = v[i].size;
	if (km && km->skel)
		km->skel->bss->ig_km_max_size = max;
}

void ig_kmeasure_close(struct ig_kmeasure *km)
{
	if (!km)
		return;
	unload(km);
	free(km);
}
