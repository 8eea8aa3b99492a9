// SPDX-License-Identifier: GPL-2.0-only
/*
 * iotgate_measure: SHA-256 of files for BPF programs, for kernels without IMA.
 *
 * One kfunc, iotgate_file_sha256(file, digest, 32), gives a sleepable BPF
 * program (lsm.s/bprm_check_security, lsm.s/mmap_file, fentry.s/...) the
 * digest of a regular file it was handed. Reading the file can sleep, so the
 * kfunc is KF_SLEEPABLE: the verifier refuses it in non-sleepable programs.
 *
 * Digests are cached per inode. An entry records the state of the file it
 * was computed from (superblock, inode number and generation, size, ctime,
 * mtime and, where the filesystem keeps one, i_version); any difference is a
 * miss and the file is hashed again. A file whose timestamps are not older
 * than the clock tick in which its hashing began is hashed but not cached:
 * without i_version a write in that same tick could not be told apart
 * ("racy clean", as git calls it).
 *
 * Concurrent callers for one inode are serialised on the entry's mutex, so
 * a burst of execs of a new file hashes it once. The cache is bounded
 * (cache_entries, CLOCK replacement) and an entry goes away with its inode:
 * a kprobe on the kernel's inode destruction drops it (where the
 * architecture gives kprobes the argument; otherwise only the bound and the
 * state check apply, which keep answers right but memory longer).
 *
 * The module stays loaded while any BPF program that calls the kfunc is
 * loaded: the verifier takes a module reference through the module's BTF.
 */
#define pr_fmt(fmt) KBUILD_MODNAME ": " fmt

#include <linux/atomic.h>
#include <linux/btf.h>
#include <linux/btf_ids.h>
#include <linux/dcache.h>
#include <linux/fs.h>
#include <linux/hash.h>
#include <linux/iversion.h>
#include <linux/kmod.h>
#include <linux/kprobes.h>
#include <linux/ktime.h>
#include <linux/list.h>
#include <linux/log2.h>
#include <linux/mm.h>
#include <linux/module.h>
#include <linux/moduleparam.h>
#include <linux/mutex.h>
#include <linux/rculist.h>
#include <linux/refcount.h>
#include <linux/sched/signal.h>
#include <linux/slab.h>
#include <linux/spinlock.h>
#include <linux/version.h>
#include <crypto/hash.h>
#include <crypto/sha2.h>

#if LINUX_VERSION_CODE < KERNEL_VERSION(6, 1, 0)
#error "iotgate_measure needs Linux 6.1 or later (KF_SLEEPABLE kfuncs usable from LSM programs)"
#endif

#ifndef __bpf_kfunc
#define __bpf_kfunc __used noinline
#endif

#define IGM_CHUNK (128 * 1024) /* bytes read and hashed per step */
#define IGM_RETRIES 3 /* file changed while it was hashed: try again */

/* --- parameters ---------------------------------------------------------- */

static unsigned int cache_entries = 4096;
static unsigned int max_size_mb = 1024;

static int igm_set_range(const char *val, const struct kernel_param *kp, unsigned int min,
			 unsigned int max)
{
	int ret = param_set_uint_minmax(val, kp, min, max);

	if (ret)
		pr_err("%s=%s refused: must be %u..%u\n", kp->name, val, min, max);
	return ret;
}

static int igm_set_entries(const char *val, const struct kernel_param *kp)
{
	return igm_set_range(val, kp, 16, 1U << 20);
}

static int igm_set_size(const char *val, const struct kernel_param *kp)
{
	return igm_set_range(val, kp, 1, 1U << 16);
}

static const struct kernel_param_ops igm_entries_ops = {
	.set = igm_set_entries,
	.get = param_get_uint,
};

static const struct kernel_param_ops igm_size_ops = {
	.set = igm_set_size,
	.get = param_get_uint,
};

module_param_cb(cache_entries, &igm_entries_ops, &cache_entries, 0444);
MODULE_PARM_DESC(cache_entries, "Digests kept in the cache (16..1048576, default 4096)");
module_param_cb(max_size_mb, &igm_size_ops, &max_size_mb, 0444);
MODULE_PARM_DESC(max_size_mb, "Largest file hashed, in MiB (1..65536, default 1024)");

/* Counters, read-only in /sys/module/iotgate_measure/parameters/. */
struct igm_stats {
	atomic64_t measured; /* files hashed */
	atomic64_t hits; /* answered from the cache */
	atomic64_t errors; /* calls refused or failed */
	atomic64_t reclaimed; /* entries dropped because their inode was freed */
	atomic64_t dropped; /* entries dropped to stay within cache_entries */
	atomic64_t measure_ns; /* time spent hashing, in total */
	atomic64_t last_ns; /* time the last hashing took */
	atomic64_t cached; /* entries in the cache now */
};

static struct igm_stats igm_stats;

static int igm_counter_set(const char *val, const struct kernel_param *kp)
{
	pr_err("%s is a read-only counter\n", kp->name);
	return -EINVAL;
}

static int igm_counter_get(char *buf, const struct kernel_param *kp)
{
	return sysfs_emit(buf, "%lld\n", (long long)atomic64_read((atomic64_t *)kp->arg));
}

static const struct kernel_param_ops igm_counter_ops = {
	.set = igm_counter_set,
	.get = igm_counter_get,
};

#define IGM_COUNTER(name, desc)                                                \
	module_param_cb(name, &igm_counter_ops, &igm_stats.name, 0444);        \
	MODULE_PARM_DESC(name, desc)

IGM_COUNTER(measured, "Files hashed (read-only)");
IGM_COUNTER(hits, "Digests answered from the cache (read-only)");
IGM_COUNTER(errors, "Calls that returned an error (read-only)");
IGM_COUNTER(reclaimed, "Cache entries dropped with their inode (read-only)");
IGM_COUNTER(dropped, "Cache entries dropped to stay within cache_entries (read-only)");
IGM_COUNTER(measure_ns, "Nanoseconds spent hashing in total (read-only)");
IGM_COUNTER(last_ns, "Nanoseconds the last hashing took (read-only)");
IGM_COUNTER(cached, "Entries in the cache (read-only)");

static struct crypto_shash *igm_tfm;
static char igm_reclaim[64] = "bound";

static int igm_info_get(char *buf, const struct kernel_param *kp)
{
	if (kp->arg == igm_reclaim)
		return sysfs_emit(buf, "%s\n", igm_reclaim);
	return sysfs_emit(buf, "%s\n", igm_tfm ? crypto_shash_driver_name(igm_tfm) : "");
}

static const struct kernel_param_ops igm_info_ops = {
	.set = igm_counter_set,
	.get = igm_info_get,
};

module_param_cb(hash_driver, &igm_info_ops, NULL, 0444);
MODULE_PARM_DESC(hash_driver, "Kernel crypto driver computing SHA-256 (read-only)");
module_param_cb(reclaim, &igm_info_ops, igm_reclaim, 0444);
MODULE_PARM_DESC(reclaim, "How entries of freed inodes are reclaimed (read-only)");

/* --- cache --------------------------------------------------------------- */

/* What a digest was computed from: any difference means the file changed. */
struct igm_state {
	dev_t dev;
	unsigned long ino;
	u32 gen;
	bool has_version;
	u64 version;
	loff_t size;
	struct timespec64 ctime;
	struct timespec64 mtime;
};

struct igm_entry {
	struct hlist_node hnode; /* igm_table bucket; RCU readers, igm_lock writers */
	struct list_head lru; /* igm_lru, under igm_lock */
	struct rcu_head rcu;
	refcount_t ref; /* one for the table while hashed, one per user */
	const struct inode *inode; /* key only: never dereferenced */
	bool in_table; /* under igm_lock */
	bool referenced; /* CLOCK bit: used since the hand last passed */
	struct mutex lock; /* serialises hashing; protects the fields below */
	bool valid;
	struct igm_state st;
	u8 digest[SHA256_DIGEST_SIZE];
};

static DEFINE_SPINLOCK(igm_lock);
static LIST_HEAD(igm_lru);
static struct hlist_head *igm_table;
static unsigned int igm_bits;
static unsigned int igm_count;

static struct hlist_head *igm_bucket(const struct inode *inode)
{
	return &igm_table[hash_ptr(inode, igm_bits)];
}

static void igm_free_rcu(struct rcu_head *head)
{
	struct igm_entry *e = container_of(head, struct igm_entry, rcu);

	mutex_destroy(&e->lock);
	kfree(e);
}

static void igm_put(struct igm_entry *e)
{
	if (refcount_dec_and_test(&e->ref))
		call_rcu(&e->rcu, igm_free_rcu);
}

/* Takes e out of the table (caller holds igm_lock); the caller drops the table's reference. */
static void igm_unhash_locked(struct igm_entry *e)
{
	hlist_del_init_rcu(&e->hnode);
	list_del_init(&e->lru);
	e->in_table = false;
	igm_count--;
	atomic64_set(&igm_stats.cached, igm_count);
}

/* CLOCK: evicts entries not used since the hand last passed them. Caller holds igm_lock. */
static void igm_shrink_locked(struct list_head *victims)
{
	unsigned int scanned = 0;

	while (igm_count > cache_entries && scanned++ < 2 * igm_count + 2) {
		struct igm_entry *e = list_last_entry(&igm_lru, struct igm_entry, lru);

		if (READ_ONCE(e->referenced)) {
			WRITE_ONCE(e->referenced, false);
			list_move(&e->lru, &igm_lru);
			continue;
		}
		igm_unhash_locked(e);
		list_add(&e->lru, victims);
		atomic64_inc(&igm_stats.dropped);
	}
}

static struct igm_entry *igm_lookup(const struct inode *inode)
{
	struct igm_entry *e;

	rcu_read_lock();
	hlist_for_each_entry_rcu(e, igm_bucket(inode), hnode) {
		if (e->inode == inode && refcount_inc_not_zero(&e->ref)) {
			rcu_read_unlock();
			return e;
		}
	}
	rcu_read_unlock();
	return NULL;
}

/* The entry of inode, created if missing, with a reference for the caller. */
static struct igm_entry *igm_get(const struct inode *inode)
{
	struct igm_entry *e, *old, *tmp;
	unsigned long flags;
	LIST_HEAD(victims);

	e = igm_lookup(inode);
	if (e)
		return e;
	e = kzalloc(sizeof(*e), GFP_KERNEL);
	if (!e)
		return NULL;
	e->inode = inode;
	refcount_set(&e->ref, 2);
	mutex_init(&e->lock);
	INIT_LIST_HEAD(&e->lru);

	spin_lock_irqsave(&igm_lock, flags);
	hlist_for_each_entry(old, igm_bucket(inode), hnode) {
		if (old->inode == inode && refcount_inc_not_zero(&old->ref)) {
			spin_unlock_irqrestore(&igm_lock, flags);
			mutex_destroy(&e->lock);
			kfree(e);
			return old;
		}
	}
	hlist_add_head_rcu(&e->hnode, igm_bucket(inode));
	list_add(&e->lru, &igm_lru);
	e->in_table = true;
	igm_count++;
	igm_shrink_locked(&victims);
	atomic64_set(&igm_stats.cached, igm_count);
	spin_unlock_irqrestore(&igm_lock, flags);

	list_for_each_entry_safe(old, tmp, &victims, lru) {
		list_del_init(&old->lru);
		igm_put(old);
	}
	return e;
}

/* Drops inode's entry (the inode is being freed). Any context. */
static void igm_forget(const struct inode *inode)
{
	struct igm_entry *e, *hit = NULL;
	unsigned long flags;

	rcu_read_lock();
	hlist_for_each_entry_rcu(e, igm_bucket(inode), hnode) {
		if (e->inode == inode) {
			hit = e;
			break;
		}
	}
	rcu_read_unlock();
	if (!hit)
		return;
	spin_lock_irqsave(&igm_lock, flags);
	/* Re-check under the lock: the entry may have left the table meanwhile. */
	hlist_for_each_entry(e, igm_bucket(inode), hnode) {
		if (e == hit && e->in_table) {
			igm_unhash_locked(e);
			spin_unlock_irqrestore(&igm_lock, flags);
			atomic64_inc(&igm_stats.reclaimed);
			igm_put(e);
			return;
		}
	}
	spin_unlock_irqrestore(&igm_lock, flags);
}

static void igm_flush(void)
{
	struct igm_entry *e, *tmp;
	unsigned long flags;
	LIST_HEAD(all);

	spin_lock_irqsave(&igm_lock, flags);
	list_for_each_entry_safe(e, tmp, &igm_lru, lru) {
		igm_unhash_locked(e);
		list_add(&e->lru, &all);
	}
	spin_unlock_irqrestore(&igm_lock, flags);
	list_for_each_entry_safe(e, tmp, &all, lru) {
		list_del_init(&e->lru);
		igm_put(e);
	}
}

/* --- reclaim with the inode ---------------------------------------------- */

#ifdef CONFIG_HAVE_FUNCTION_ARG_ACCESS_API
static int igm_inode_free_pre(struct kprobe *kp, struct pt_regs *regs)
{
	igm_forget((const struct inode *)regs_get_kernel_argument(regs, 0));
	return 0;
}

static struct kprobe igm_kp = { .pre_handler = igm_inode_free_pre };
static bool igm_kp_on;

static void igm_reclaim_start(void)
{
	/* Both are called once per inode, before its memory is released. */
	static const char *const syms[] = { "security_inode_free", "__destroy_inode" };
	int ret = -ENOENT;

	for (int i = 0; i < ARRAY_SIZE(syms); i++) {
		memset(&igm_kp, 0, sizeof(igm_kp));
		igm_kp.pre_handler = igm_inode_free_pre;
		igm_kp.symbol_name = syms[i];
		ret = register_kprobe(&igm_kp);
		if (!ret) {
			igm_kp_on = true;
			snprintf(igm_reclaim, sizeof(igm_reclaim), "kprobe:%s", syms[i]);
			return;
		}
	}
	pr_warn("no kprobe on inode destruction (%d): entries of freed inodes leave only by the cache bound\n",
		ret);
}

static void igm_reclaim_stop(void)
{
	if (igm_kp_on)
		unregister_kprobe(&igm_kp);
	igm_kp_on = false;
}
#else
static void igm_reclaim_start(void)
{
	pr_warn("no kprobe argument access on this architecture: entries of freed inodes leave only by the cache bound\n");
}

static void igm_reclaim_stop(void)
{
}
#endif

/* --- measuring ----------------------------------------------------------- */

static void igm_state(struct inode *inode, struct igm_state *st)
{
	st->dev = inode->i_sb->s_dev;
	st->ino = inode->i_ino;
	st->gen = inode->i_generation;
	st->has_version = IS_I_VERSION(inode);
	/* Querying marks i_version so that the next change increments it. */
	st->version = st->has_version ? inode_query_iversion(inode) : 0;
	st->size = i_size_read(inode);
#if LINUX_VERSION_CODE >= KERNEL_VERSION(6, 6, 0)
	st->ctime = inode_get_ctime(inode);
#else
	st->ctime = inode->i_ctime;
#endif
#if LINUX_VERSION_CODE >= KERNEL_VERSION(6, 7, 0)
	st->mtime = inode_get_mtime(inode);
#else
	st->mtime = inode->i_mtime;
#endif
}

static bool igm_state_eq(const struct igm_state *a, const struct igm_state *b)
{
	return a->dev == b->dev && a->ino == b->ino && a->gen == b->gen &&
	       a->has_version == b->has_version && a->version == b->version &&
	       a->size == b->size && timespec64_equal(&a->ctime, &b->ctime) &&
	       timespec64_equal(&a->mtime, &b->mtime);
}

/*
 * The inode that holds the file's data, which the cache is keyed on and
 * checked against: on overlayfs (and stacked overlays) the upper or lower
 * layer's, not the overlay inode an exec's file has, whose ctime, size and
 * i_version a write to a layer behind the overlay's back do not move (a
 * digest cached from the overlay inode would outlive such a write).
 */
static struct inode *igm_data_inode(struct file *file)
{
	struct inode *inode = d_real_inode(file->f_path.dentry);

	return inode ? inode : file_inode(file);
}

/* Hashes the whole file; *len: bytes read. */
static int igm_hash(struct file *file, u8 *out, loff_t *len)
{
	SHASH_DESC_ON_STACK(desc, igm_tfm);
	u64 limit = (u64)max_size_mb << 20;
	loff_t pos = 0;
	void *buf;
	int ret;

	buf = kvmalloc(IGM_CHUNK, GFP_KERNEL);
	if (!buf)
		return -ENOMEM;
	desc->tfm = igm_tfm;
	ret = crypto_shash_init(desc);
	while (!ret) {
		ssize_t n = kernel_read(file, buf, IGM_CHUNK, &pos);

		if (n <= 0) {
			ret = n;
			break;
		}
		if (pos > limit) {
			ret = -EFBIG;
			break;
		}
		ret = crypto_shash_update(desc, buf, n);
		if (!ret && fatal_signal_pending(current))
			ret = -EINTR;
		cond_resched();
	}
	if (!ret)
		ret = crypto_shash_final(desc, out);
	shash_desc_zero(desc);
	kvfree(buf);
	*len = pos;
	return ret;
}

/*
 * Hashes file into e (e->lock held). Returns 0 or negative errno; e->valid
 * says whether the digest may answer later calls.
 */
static int igm_measure(struct file *file, struct igm_entry *e)
{
	struct inode *inode = igm_data_inode(file);
	struct igm_state before, after;
	struct timespec64 t0;
	u64 start, ns;
	loff_t len;
	int ret = -EAGAIN;

	e->valid = false;
	for (int i = 0; i < IGM_RETRIES && ret == -EAGAIN; i++) {
		t0 = current_time(inode);
		igm_state(inode, &before);
		if ((u64)before.size > ((u64)max_size_mb << 20))
			return -EFBIG;
		start = ktime_get_ns();
		ret = igm_hash(file, e->digest, &len);
		ns = ktime_get_ns() - start;
		if (ret)
			return ret;
		atomic64_inc(&igm_stats.measured);
		atomic64_add(ns, &igm_stats.measure_ns);
		atomic64_set(&igm_stats.last_ns, ns);
		igm_state(inode, &after);
		if (!igm_state_eq(&before, &after))
			ret = -EAGAIN; /* written to while we read it */
	}
	if (ret)
		return ret;
	e->st = after;
	/*
	 * Cache only what a later change is sure to show: i_version, or
	 * timestamps from a tick before this measurement began, and content
	 * that was as long as the inode said (not a pseudo-file).
	 */
	e->valid = len == after.size &&
		   (after.has_version || (timespec64_compare(&after.ctime, &t0) < 0 &&
					  timespec64_compare(&after.mtime, &t0) < 0));
	return 0;
}

static int igm_check_file(struct file *file)
{
	struct inode *inode;

	if (!file)
		return -EINVAL;
	inode = file_inode(file);
	if (!inode || !S_ISREG(inode->i_mode))
		return -EINVAL;
	if (!(file->f_mode & FMODE_READ))
		return -EBADF;
	/* kernel_read() refuses (and warns about) files that cannot read_iter. */
	if (!(file->f_mode & FMODE_CAN_READ) || !file->f_op || !file->f_op->read_iter ||
	    file->f_op->read)
		return -EOPNOTSUPP;
	return 0;
}

/* --- kfuncs -------------------------------------------------------------- */

__diag_push();
__diag_ignore_all("-Wmissing-prototypes", "kfuncs are called from BPF programs only");

/**
 * iotgate_file_sha256 - SHA-256 of a regular file's content
 * @file: an open, readable regular file (e.g. linux_binprm->file)
 * @digest: where the 32-byte digest goes
 * @digest__sz: size of @digest, must be 32
 *
 * Sleeps (reads the file on a cache miss). Return: 0 if the digest came
 * from the cache, 1 if the file was hashed now, or a negative errno:
 * -EINVAL (no file, not a regular file, wrong size), -EBADF (not open for
 * reading), -EOPNOTSUPP (filesystem cannot be read from the kernel),
 * -EFBIG (larger than max_size_mb), -EAGAIN (kept changing while read),
 * -EINTR (fatal signal), -ENOMEM or the filesystem's read error. On error
 * @digest is zeroed.
 */
__bpf_kfunc int iotgate_file_sha256(struct file *file, u8 *digest, u32 digest__sz)
{
	struct igm_entry *e;
	struct igm_state now;
	int ret;

	if (!digest || digest__sz != SHA256_DIGEST_SIZE) {
		atomic64_inc(&igm_stats.errors);
		return -EINVAL;
	}
	ret = igm_check_file(file);
	if (ret)
		goto fail;
	e = igm_get(igm_data_inode(file));
	if (!e) {
		ret = -ENOMEM;
		goto fail;
	}
	ret = mutex_lock_killable(&e->lock);
	if (ret) {
		igm_put(e);
		goto fail;
	}
	igm_state(igm_data_inode(file), &now);
	if (e->valid && igm_state_eq(&e->st, &now)) {
		memcpy(digest, e->digest, SHA256_DIGEST_SIZE);
		WRITE_ONCE(e->referenced, true);
		atomic64_inc(&igm_stats.hits);
		ret = 0;
	} else {
		ret = igm_measure(file, e);
		if (!ret) {
			memcpy(digest, e->digest, SHA256_DIGEST_SIZE);
			ret = 1;
		}
	}
	mutex_unlock(&e->lock);
	igm_put(e);
	if (ret >= 0)
		return ret;
fail:
	memset(digest, 0, digest__sz);
	atomic64_inc(&igm_stats.errors);
	return ret;
}

__diag_pop();

#ifdef BTF_KFUNCS_START
BTF_KFUNCS_START(igm_kfunc_ids)
BTF_ID_FLAGS(func, iotgate_file_sha256, KF_SLEEPABLE)
BTF_KFUNCS_END(igm_kfunc_ids)
#else
BTF_SET8_START(igm_kfunc_ids)
BTF_ID_FLAGS(func, iotgate_file_sha256, KF_SLEEPABLE)
BTF_SET8_END(igm_kfunc_ids)
#endif

static const struct btf_kfunc_id_set igm_kfunc_set = {
	.owner = THIS_MODULE,
	.set = &igm_kfunc_ids,
};

/* --- module -------------------------------------------------------------- */

static int __init igm_init(void)
{
	int ret;

	igm_bits = clamp_t(unsigned int, order_base_2(cache_entries) - 1, 4, 18);
	igm_table = kvcalloc(1U << igm_bits, sizeof(*igm_table), GFP_KERNEL);
	if (!igm_table)
		return -ENOMEM;
	/* An accelerated SHA-256 may be a module that nothing has loaded yet. */
	request_module("crypto-sha256");
	igm_tfm = crypto_alloc_shash("sha256", 0, 0);
	if (IS_ERR(igm_tfm)) {
		ret = PTR_ERR(igm_tfm);
		igm_tfm = NULL;
		pr_err("no sha256 in the kernel crypto API (%d)\n", ret);
		goto out_table;
	}
	igm_reclaim_start();
	/*
	 * LSM programs share the TRACING kfunc hook (6.1 and later), and a
	 * module may register one set per hook: TRACING covers both.
	 */
	ret = register_btf_kfunc_id_set(BPF_PROG_TYPE_TRACING, &igm_kfunc_set);
	if (ret) {
		pr_err("cannot register kfuncs (%d): was the module built with BTF (pahole, vmlinux in the build tree)?\n",
		       ret);
		goto out_reclaim;
	}
	pr_info("ready: sha256 by %s, %u cache entries, reclaim by %s\n",
		crypto_shash_driver_name(igm_tfm), cache_entries, igm_reclaim);
	return 0;

out_reclaim:
	igm_reclaim_stop();
	crypto_free_shash(igm_tfm);
	igm_tfm = NULL;
out_table:
	kvfree(igm_table);
	igm_table = NULL;
	return ret;
}

static void __exit igm_exit(void)
{
	igm_reclaim_stop();
	igm_flush();
	rcu_barrier(); /* every igm_free_rcu has run before the code goes */
	crypto_free_shash(igm_tfm);
	kvfree(igm_table);
}

module_init(igm_init);
module_exit(igm_exit);

MODULE_LICENSE("GPL");
MODULE_AUTHOR("iotgate");
MODULE_DESCRIPTION("iotgate: SHA-256 of files for BPF programs (kfunc), with a per-inode cache");
