// SPDX-License-Identifier: GPL-2.0-only
/*
 * In-kernel measurement: the SHA-256 of every file that is executed or
 * mapped executable, taken in the kernel at that moment, reported to the
 * daemon through the ring buffer "ig_kmeas" (struct ig_kmeas_event).
 *
 * Reading a file can sleep, so these are sleepable LSM programs (lsm.s/):
 *  - bprm_check_security: each binfmt stage of an exec (a #! script, then
 *    its interpreter);
 *  - mmap_file with PROT_EXEC: shared libraries and anything else mapped to
 *    run (called before mmap_lock is taken, unlike file_mprotect, which is
 *    not hooked here for that reason).
 * They only measure: the decision stays with bpf/exec.bpf.c, and a program
 * that already refused the operation is not overridden.
 *
 * The digest comes from one of two sources, chosen by the loader before load
 * (ig_km_source in .rodata, so the verifier drops the other branch):
 *  - IG_KMS_MODULE: the kfunc iotgate_file_sha256 of kmod/iotgate_measure.ko,
 *    which caches digests per inode and invalidates on change. Declared weak:
 *    without the module libbpf leaves the call unresolved, which the verifier
 *    accepts only because the branch is dead;
 *  - IG_KMS_IMA: bpf_ima_file_hash (5.18+), which hashes the file again on
 *    every call unless an IMA policy keeps its own cache; here a file whose
 *    identity, ctime and size were reported already is not hashed again.
 * Each file version is reported once per load ("ig_kmeas_seen").
 */
#include "common.bpf.h"
#include "manifest.bpf.h"

char LICENSE[] SEC("license") = "GPL";

extern int iotgate_file_sha256(struct file *file, __u8 *digest, __u32 digest__sz) __ksym __weak;

/* IG_KMS_MODULE or IG_KMS_IMA: set by the loader before load. */
const volatile __u32 ig_km_source = IG_KMS_IMA;

/*
 * Self-test of the loader: after attaching, it maps a file executable once
 * with ig_km_probe_tgid set to its own pid and reads the result here.
 */
__u32 ig_km_probe_tgid;
__s32 ig_km_probe_ret;
__u32 ig_km_probe_done;

/*
 * The size of the largest manifest entry, set by the daemon with each
 * manifest (0: no manifest yet, no bound). A bigger file cannot match any
 * entry, so it is not hashed: hashing an unbounded file (a sparse 1 PiB file
 * costs nothing to make) inside an exec would stall the CPU for as long as
 * it takes. It is reported with -EFBIG; bpf/exec.bpf.c refuses it (enforce)
 * as a file outside the manifest.
 */
__u64 ig_km_max_size;

/*
 * Lazy appraisal (set by the loader when it shares exec.bpf.c's ig_manifest
 * and ig_cfg): an entry the daemon listed without hashing
 * (IG_FILE_F_UNAPPRAISED) is compared here with the digest just taken, and
 * marked appraised or mismatched before bpf/exec.bpf.c's program on the same
 * hook decides (BPF LSM programs run newest first; these are attached after
 * exec.bpf.c's, and an entry nobody appraised stays refused).
 */
const volatile __u32 ig_km_lazy;

struct km_seen {
	__u8 digest[32];
	__s64 ctime_sec;
	__u32 ctime_nsec;
	__u32 pad;
	__u64 size;
};

struct {
	__uint(type, BPF_MAP_TYPE_RINGBUF);
	__uint(max_entries, 256 * 1024);
} ig_kmeas SEC(".maps");

/* File versions reported since load: identity -> what was reported. */
struct {
	__uint(type, BPF_MAP_TYPE_LRU_HASH);
	__uint(max_entries, 16384);
	__type(key, struct ig_file_key);
	__type(value, struct km_seen);
} ig_kmeas_seen SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_PERCPU_ARRAY);
	__uint(max_entries, IG_KMC_MAX);
	__type(key, __u32);
	__type(value, __u64);
} ig_kmeas_cnt SEC(".maps");

/* Keeps the record type in BTF for tools and the ABI test. */
const volatile struct ig_kmeas_event ig_btf_kmeas;

static __always_inline void count(__u32 idx)
{
	__u64 *v = bpf_map_lookup_elem(&ig_kmeas_cnt, &idx);

	if (v)
		*v += 1;
}

static __always_inline bool same_digest(const __u8 *a, const __u8 *b)
{
	const __u64 *x = (const __u64 *)a, *y = (const __u64 *)b;

	return x[0] == y[0] && x[1] == y[1] && x[2] == y[2] && x[3] == y[3];
}

/*
 * The manifest entry of file if it waits for lazy appraisal and is unchanged
 * since the daemon listed it (a changed one exec.bpf.c refuses as modified).
 */
static __always_inline struct ig_file_val *pending(struct file *file)
{
	struct ig_file_key key;
	struct ig_file_val *val;
	void *files;
	__s64 sec;
	__u32 nsec;

	if (!ig_km_lazy)
		return NULL;
	files = manifest();
	if (!files)
		return NULL;
	file_key(file, &key);
	val = bpf_map_lookup_elem(files, &key);
	if (!val || !(val->flags & IG_FILE_F_UNAPPRAISED) || (val->flags & IG_FILE_F_MISMATCH))
		return NULL;
	data_ctime(file_inode_named(file), &sec, &nsec);
	if (val->ctime_sec != sec || val->ctime_nsec != nsec)
		return NULL;
	return val;
}

/*
 * Lazy appraisal of the manifest entry of file against the digest just taken
 * (ret < 0: none). Returns true if it was found to differ.
 */
static __always_inline bool appraise(struct file *file, const __u8 *digest, long ret)
{
	struct ig_file_val *val = ret < 0 ? NULL : pending(file);

	if (!val)
		return false;
	if (same_digest(val->digest, digest)) {
		val->flags &= ~IG_FILE_F_UNAPPRAISED;
		count(IG_KMC_APPRAISED);
		return false;
	}
	val->flags |= IG_FILE_F_MISMATCH;
	count(IG_KMC_REFUSED);
	return true;
}

static __always_inline void emit(struct file *file, const struct ig_file_key *key,
				 const struct km_seen *cur, __u32 hook, long err)
{
	struct ig_kmeas_event *e = bpf_ringbuf_reserve(&ig_kmeas, sizeof(*e), 0);
	__u64 ugid;

	if (!e) {
		count(IG_KMC_LOST);
		return;
	}
	ugid = bpf_get_current_uid_gid();
	e->ts_ns = bpf_ktime_get_boot_ns();
	e->dev = key->dev;
	e->ino = key->ino;
	e->ctime_sec = cur->ctime_sec;
	e->ctime_nsec = cur->ctime_nsec;
	e->source = ig_km_source;
	e->hook = hook;
	e->err = err;
	e->pid = bpf_get_current_pid_tgid() >> 32;
	e->uid = (__u32)ugid;
	e->size = cur->size;
	__builtin_memcpy(e->digest, cur->digest, sizeof(e->digest));
	bpf_get_current_comm(e->comm, sizeof(e->comm));
	if (bpf_d_path(&file->f_path, e->path, sizeof(e->path)) < 0 &&
	    bpf_probe_read_kernel_str(e->path, sizeof(e->path),
				      BPF_CORE_READ(file, f_path.dentry, d_name.name)) < 0)
		e->path[0] = '\0';
	count(IG_KMC_EVENTS);
	bpf_ringbuf_submit(e, 0);
}

static __always_inline void probe_report(long ret)
{
	if (ig_km_probe_tgid && (bpf_get_current_pid_tgid() >> 32) == ig_km_probe_tgid) {
		ig_km_probe_ret = ret;
		ig_km_probe_done = 1;
	}
}

static __always_inline void measure(struct file *file, __u32 hook)
{
	struct inode *inode = BPF_CORE_READ(file, f_inode);
	struct ig_file_key key = {};
	struct km_seen cur = {};
	struct km_seen *seen;
	long ret;

	key.dev = BPF_CORE_READ(inode, i_sb, s_dev);
	key.ino = BPF_CORE_READ(inode, i_ino);
	ig_inode_ctime(inode, &cur.ctime_sec, &cur.ctime_nsec);
	cur.size = BPF_CORE_READ(inode, i_size);
	count(IG_KMC_CALLS);
	if (ig_km_max_size && cur.size > ig_km_max_size) {
		ret = -EFBIG;
		goto out;
	}
	if (ig_km_source == IG_KMS_MODULE) {
		/* The module checks the file itself (and refuses what is not regular). */
		ret = iotgate_file_sha256(file, cur.digest, sizeof(cur.digest));
		if (ret == 1)
			count(IG_KMC_HASHED);
		if (ret > 0)
			ret = 0;
	} else {
		if ((BPF_CORE_READ(inode, i_mode) & S_IFMT) != S_IFREG) {
			ret = -EINVAL;
			goto out;
		}
		seen = bpf_map_lookup_elem(&ig_kmeas_seen, &key);
		/*
		 * An entry waiting for appraisal is hashed anyway: on overlayfs this
		 * identity (the overlay inode's) keeps its ctime when a layer is
		 * written, so what was reported may be older than the entry.
		 */
		if (seen && seen->ctime_sec == cur.ctime_sec &&
		    seen->ctime_nsec == cur.ctime_nsec && seen->size == cur.size && !pending(file))
			return; /* reported, and unchanged since */
		ret = bpf_ima_file_hash(file, cur.digest, sizeof(cur.digest));
		count(IG_KMC_HASHED);
		/* IMA hashes with ima_hash_algo, SHA-256 unless ima_hash= says otherwise. */
		if (ret >= 0)
			ret = ret == HASH_ALGO_SHA256 ? 0 : -EPROTO;
	}
out:
	probe_report(ret);
	appraise(file, cur.digest, ret);
	if (ret < 0) {
		count(IG_KMC_ERRORS);
		if (hook == IG_KMH_EXEC) {
			__builtin_memset(cur.digest, 0, sizeof(cur.digest));
			emit(file, &key, &cur, hook, ret);
		}
		return;
	}
	seen = bpf_map_lookup_elem(&ig_kmeas_seen, &key);
	if (seen) {
		if (same_digest(seen->digest, cur.digest)) {
			/* Same content, new ctime or size (IMA): remember, no record. */
			if (seen->ctime_sec != cur.ctime_sec ||
			    seen->ctime_nsec != cur.ctime_nsec || seen->size != cur.size)
				bpf_map_update_elem(&ig_kmeas_seen, &key, &cur, BPF_ANY);
			return;
		}
		bpf_map_update_elem(&ig_kmeas_seen, &key, &cur, BPF_ANY);
	} else if (bpf_map_update_elem(&ig_kmeas_seen, &key, &cur, BPF_NOEXIST)) {
		return; /* another CPU reported this version first */
	}
	emit(file, &key, &cur, hook, 0);
}

SEC("lsm.s/bprm_check_security")
int BPF_PROG(ig_km_exec, struct linux_binprm *bprm, int ret)
{
	if (ret)
		return ret;
	measure(bprm->file, IG_KMH_EXEC);
	return 0;
}

/*
 * Lazy appraisal of a file that is a manifest entry waiting for it, where
 * nothing is measured or reported: the decision is bpf/exec.bpf.c's, by the
 * entry's flags this leaves.
 */
static __always_inline void appraise_now(struct file *file, bool report)
{
	struct inode *inode = BPF_CORE_READ(file, f_inode);
	struct ig_file_key key = {};
	struct km_seen cur = {};
	long r;

	if (!pending(file))
		return;
	cur.size = BPF_CORE_READ(inode, i_size);
	if (ig_km_max_size && cur.size > ig_km_max_size)
		return;
	if (ig_km_source == IG_KMS_MODULE) {
		r = iotgate_file_sha256(file, cur.digest, sizeof(cur.digest));
	} else {
		r = bpf_ima_file_hash(file, cur.digest, sizeof(cur.digest));
		if (r >= 0)
			r = r == HASH_ALGO_SHA256 ? 0 : -EPROTO;
	}
	if (!appraise(file, cur.digest, r) || !report)
		return;
	/*
	 * Refused from now on, when mprotect makes it executable: what it is
	 * goes to the measurement log (once: it is not pending any more).
	 */
	key.dev = BPF_CORE_READ(inode, i_sb, s_dev);
	key.ino = BPF_CORE_READ(inode, i_ino);
	ig_inode_ctime(inode, &cur.ctime_sec, &cur.ctime_nsec);
	bpf_map_update_elem(&ig_kmeas_seen, &key, &cur, BPF_ANY);
	emit(file, &key, &cur, IG_KMH_MMAP, 0);
}

SEC("lsm.s/mmap_file")
int BPF_PROG(ig_km_mmap, struct file *file, unsigned long reqprot, unsigned long prot,
	     unsigned long flags, int ret)
{
	if (ret)
		return ret;
	if (!file)
		return 0;
	/*
	 * A mapping that is not executable yet may become so by mprotect, whose
	 * hook cannot sleep to hash: a listed file is appraised at its first
	 * mapping of any kind (file_mprotect then finds it appraised or not).
	 */
	if (!(prot & PROT_EXEC)) {
		appraise_now(file, true);
		return 0;
	}
	measure(file, IG_KMH_MMAP);
	return 0;
}

/*
 * Lazy appraisal only (loaded with ig_km_lazy): a kernel module, kexec image
 * or firmware file that is a manifest entry waiting for appraisal is hashed
 * and compared here, before bpf/exec.bpf.c's kernel_read_file program
 * decides. Nothing is reported: the load is logged like an exec by that path.
 */
SEC("lsm.s/kernel_read_file")
int BPF_PROG(ig_km_kread, struct file *file, enum kernel_read_file_id id, bool contents, int ret)
{
	if (ret || !file)
		return ret;
	appraise_now(file, false);
	return 0;
}
