/* SPDX-License-Identifier: GPL-2.0-only */
/*
 * The manifest in force as bpf/exec.bpf.c decides by it and as
 * bpf/kmeasure.bpf.c appraises its entries lazily (the loader shares the
 * maps: one definition here, so both objects agree on them), and the
 * identity and change time of a file as both see it.
 */
#ifndef IG_MANIFEST_BPF_H
#define IG_MANIFEST_BPF_H

/*
 * The manifest is a hash map in one of the two slots of an outer map;
 * ig_config.slot says which. The daemon fills the other slot's map and flips
 * slot with one update of ig_cfg, so a complete new manifest comes into force
 * at once without an update of the outer map (after which the kernel waits
 * an RCU grace period). Since 5.10 an inner hash map may have any
 * max_entries. An empty slot fails closed.
 */
struct ig_files_map {
	__uint(type, BPF_MAP_TYPE_HASH);
	__uint(max_entries, 1);
	__type(key, struct ig_file_key);
	__type(value, struct ig_file_val);
};

/* Keeps the full key/value types in BTF (they are otherwise only forward-declared). */
const volatile struct ig_file_key ig_btf_key;
const volatile struct ig_file_val ig_btf_val;

struct {
	__uint(type, BPF_MAP_TYPE_ARRAY_OF_MAPS);
	__uint(max_entries, 2);
	__type(key, __u32);
	__array(values, struct ig_files_map);
} ig_manifest SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_ARRAY);
	__uint(max_entries, 1);
	__type(key, __u32);
	__type(value, struct ig_config);
} ig_cfg SEC(".maps");

static __always_inline struct ig_config *ig_config_get(void)
{
	__u32 zero = 0;

	return bpf_map_lookup_elem(&ig_cfg, &zero);
}

#define OVERLAYFS_SUPER_MAGIC 0x794c7630

/*
 * FMODE_BACKING is bit 25 from 6.6 and bit 24 since the fsnotify rework of
 * 6.14 (which Debian's 6.12 carries); a #define, not in BTF. Either bit
 * makes file_inode_named() look at what would be the user path, taken only
 * when it is an overlayfs dentry: files without the backing_file wrapper
 * have other flags there (DIO_PARALLEL_WRITE, NONOTIFY_HSM).
 */
#define IG_FMODE_BACKING_ANY ((1u << 24) | (1u << 25))

struct backing_file___ig {
	struct file file;
	struct path user_path;
} __attribute__((preserve_access_index));

/*
 * The inode a file is known by: the one its path names, what userspace's
 * fstat and /proc/PID/maps see. On overlayfs that is the overlay inode, also
 * for the real file that overlayfs opens underneath and puts in an
 * executable mapping's vm_file, whose f_inode is the layer's inode: before
 * 6.6 its f_path is the overlay's; from 6.6 on it is a backing file whose
 * f_path is the layer's too and whose user path is the overlay's.
 */
static __always_inline struct inode *file_inode_named(struct file *file)
{
	struct backing_file___ig *bf = (void *)file;
	struct inode *inode;
	struct dentry *d;

	if (bpf_core_type_exists(struct backing_file___ig) &&
	    (BPF_CORE_READ(file, f_mode) & IG_FMODE_BACKING_ANY)) {
		d = BPF_CORE_READ(bf, user_path.dentry);
		if (d && BPF_CORE_READ(d, d_sb, s_magic) == OVERLAYFS_SUPER_MAGIC &&
		    BPF_CORE_READ(d, d_inode))
			return BPF_CORE_READ(d, d_inode);
	}
	inode = BPF_CORE_READ(file, f_path.dentry, d_inode);
	return inode ? inode : BPF_CORE_READ(file, f_inode);
}

static __always_inline void file_key(struct file *file, struct ig_file_key *key)
{
	struct inode *inode = file_inode_named(file);

	key->dev = BPF_CORE_READ(inode, i_sb, s_dev);
	key->ino = BPF_CORE_READ(inode, i_ino);
}

/*
 * overlayfs's inode (fs/overlayfs/ovl_entry.h, in the overlay module's BTF):
 * the upper dentry once the file is copied up, else the first lower one
 * (lowerpath up to 6.4, oe->__lowerstack[0] since 6.5). Without the module's
 * BTF, or with another layout, the overlay inode's own ctime is used (which
 * a write to a layer does not move).
 */
struct ovl_path___ig {
	struct dentry *dentry;
} __attribute__((preserve_access_index));

struct ovl_entry___ig {
	struct ovl_path___ig __lowerstack[0];
} __attribute__((preserve_access_index));

struct ovl_inode___ig {
	struct inode vfs_inode;
	struct dentry *__upperdentry;
	struct ovl_path___ig lowerpath;
	struct ovl_entry___ig *oe;
} __attribute__((preserve_access_index));

#define OVL_MAX_STACK 2 /* an overlay whose layer is an overlay (the VM's root) */

/*
 * The inode that holds the file's data: on overlayfs the upper or lower
 * layer's (the inode itself elsewhere, or without the overlay module's BTF).
 */
static __always_inline struct inode *data_inode(struct inode *inode)
{
	for (int i = 0; i < OVL_MAX_STACK; i++) {
		struct ovl_inode___ig *oi;
		struct dentry *real;
		struct inode *ri;

		if (!bpf_core_type_exists(struct ovl_inode___ig) ||
		    BPF_CORE_READ(inode, i_sb, s_magic) != OVERLAYFS_SUPER_MAGIC)
			break;
		oi = (void *)inode - bpf_core_field_offset(struct ovl_inode___ig, vfs_inode);
		real = BPF_CORE_READ(oi, __upperdentry);
		if (!real && bpf_core_field_exists(struct ovl_inode___ig, lowerpath))
			real = BPF_CORE_READ(oi, lowerpath.dentry);
		else if (!real && bpf_core_field_exists(struct ovl_inode___ig, oe))
			real = BPF_CORE_READ(oi, oe, __lowerstack[0].dentry);
		ri = real ? BPF_CORE_READ(real, d_inode) : NULL;
		if (!ri)
			break;
		inode = ri;
	}
	return inode;
}

/*
 * The change time of the inode that holds the file's data, so a write to a
 * layer behind the overlay's back (cat evil > lower/good) moves it.
 * Userspace's fstat of the overlay file reports that same inode's ctime
 * (ovl_getattr), which the manifest holds.
 */
static __always_inline void data_ctime(struct inode *inode, __s64 *sec, __u32 *nsec)
{
	ig_inode_ctime(data_inode(inode), sec, nsec);
}

static __always_inline void *manifest(void)
{
	struct ig_config *cfg = ig_config_get();
	__u32 slot = cfg ? cfg->slot & 1 : 0;

	return bpf_map_lookup_elem(&ig_manifest, &slot);
}

#endif
