// SPDX-License-Identifier: GPL-2.0-only
/*
 * Measured execution: code may run from a file only if the file's identity
 * is in the manifest map the daemon filled after verifying each file's
 * SHA-256, and the file has not changed since.
 *
 * Full tier (BPF LSM):
 *  - bprm_check_security: every exec, once per binfmt stage, so a #! script
 *    and then its interpreter; exec of an fd (AT_EMPTY_PATH, /proc/self/fd/N)
 *    and of a memfd arrive here with the file itself;
 *  - mmap_file with PROT_EXEC and file_mprotect adding PROT_EXEC: shared
 *    libraries, ld.so-run binaries, any file mapped executable;
 *  - kernel_read_file and kernel_load_data: kernel modules, kexec images and
 *    firmware load only from an unchanged manifest entry, never from memory;
 *  - file_open for write, path_truncate, file_permission(MAY_WRITE): a
 *    write to an allowlisted file is refused (protect) or first removes the
 *    file's entry, so changed bytes never run as trusted.
 * Kill tier (no BPF LSM, tracing programs load): sched_process_exec checks
 * the new image and its ELF interpreter, the mmap and mprotect syscall-exit
 * tracepoints check what was just mapped executable; a refusal in enforce
 * mode is a SIGKILL of the process, which it meets on its way back to user
 * space, before an instruction of the refused code runs (IG_CFG_KILL); the
 * ptrace, process_vm_writev and open syscall tracepoints kill injection
 * (see "injection in the kill tier" at the end).
 * Partial tier (the syscall tracepoints missing too): sched_process_exec sees
 * every successful exec, counts and reports it, but cannot deny.
 */
#include "common.bpf.h"

#define MAP_TYPE 0x0f
#define MAP_PRIVATE 0x02
#define PTRACE_MODE_ATTACH 0x02
#define VM_WRITE 0x2
#define VM_EXEC 0x4
#define FMODE_WRITE 0x2
#define MAY_WRITE 0x2
#define SB_KERNMOUNT (1 << 22)
#define TMPFS_MAGIC 0x01021994
#define F_SEAL_WRITE 0x0008
#define BPF_FS_MAGIC 0xcafe4a11

char LICENSE[] SEC("license") = "GPL";

#include "manifest.bpf.h"

struct {
	__uint(type, BPF_MAP_TYPE_HASH);
	__uint(max_entries, 64);
	__type(key, struct ig_memfd_key);
	__type(value, __u32);
} ig_memfd SEC(".maps");

/*
 * Inodes mapped executable while they stay in memory (full tier; the value
 * is unused): a write to one that still has mappings would change code that
 * is running (iotgate.h: IG_REASON_MAPPED_EXEC).
 */
struct {
	__uint(type, BPF_MAP_TYPE_INODE_STORAGE);
	__uint(map_flags, BPF_F_NO_PREALLOC);
	__type(key, int);
	__type(value, __u8);
} ig_xmapped SEC(".maps");

/*
 * The other inodes of a file mapped executable on overlayfs (or another
 * stacking filesystem): the one its path names and the layer's holding the
 * data. BPF can only reach those through the overlay's own structures, not
 * as pointers inode storage takes, so they are keyed by identity (the
 * generation makes a reused inode number another key); least recently
 * marked first out.
 */
struct ig_xlayer_key {
	__u64 dev;
	__u64 ino;
	__u32 gen;
	__u32 pad;
};

struct {
	__uint(type, BPF_MAP_TYPE_LRU_HASH);
	__uint(max_entries, 8192);
	__type(key, struct ig_xlayer_key);
	__type(value, __u8);
} ig_xlayer SEC(".maps");

static __always_inline void xlayer_key(struct inode *inode, struct ig_xlayer_key *k)
{
	k->dev = BPF_CORE_READ(inode, i_sb, s_dev);
	k->ino = BPF_CORE_READ(inode, i_ino);
	k->gen = BPF_CORE_READ(inode, i_generation);
	k->pad = 0;
}

static __always_inline bool xlayer_marked(struct inode *inode)
{
	struct ig_xlayer_key k;

	xlayer_key(inode, &k);
	return bpf_map_lookup_elem(&ig_xlayer, &k) != NULL;
}

/*
 * A file mapped executable: its mapping's inode (f_inode) is marked in inode
 * storage; on overlayfs the inode its path names and the layer's holding the
 * data too, so that a write through any of them, the layer's file opened
 * directly included, meets a mark (guard_write()).
 */
static __always_inline void mark_xmapped(struct inode *mapped, struct file *file)
{
	struct inode *named = file_inode_named(file), *data;
	struct ig_xlayer_key k;
	__u8 one = 1;

	bpf_inode_storage_get(&ig_xmapped, mapped, 0, BPF_LOCAL_STORAGE_GET_F_CREATE);
	if (!named)
		return;
	data = data_inode(named);
	if (named != mapped) {
		xlayer_key(named, &k);
		bpf_map_update_elem(&ig_xlayer, &k, &one, BPF_ANY);
	}
	if (data != mapped && data != named) {
		xlayer_key(data, &k);
		bpf_map_update_elem(&ig_xlayer, &k, &one, BPF_ANY);
	}
}

/* Inodes of /sys/fs/bpf/iotgate and everything pinned in it (self-protection). */
struct {
	__uint(type, BPF_MAP_TYPE_HASH);
	__uint(max_entries, 256);
	__type(key, struct ig_file_key);
	__type(value, __u32);
} ig_pins SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_PERCPU_ARRAY);
	__uint(max_entries, IG_CNT_MAX);
	__type(key, __u32);
	__type(value, __u64);
} ig_counters SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_RINGBUF);
	__uint(max_entries, 256 * 1024);
} ig_events SEC(".maps");

static __always_inline void count(__u32 idx)
{
	__u64 *v = bpf_map_lookup_elem(&ig_counters, &idx);

	if (v)
		*v += 1;
}

static __always_inline __u32 current_mode(void)
{
	struct ig_config *cfg = ig_config_get();

	/* No configuration yet means the daemon has not finished loading: audit. */
	return cfg ? cfg->mode : IG_MODE_AUDIT;
}

static __always_inline __u32 task_file_flags(struct task_struct *task);

/*
 * A memfd (tmpfs's internal mount, "memfd:NAME") that the policy allows by
 * name to the program running now (an exec's old image, the mapping
 * program), sealed against writes so that its bytes are those that run and
 * that the kernel measurement (kmeasure) logs. Hugetlbfs memfds are not
 * allowed. In the kill tier an exec is checked after the old image is gone:
 * there no memfd exec is allowed.
 */
static __always_inline bool memfd_allowed(struct file *file)
{
	struct inode *inode = BPF_CORE_READ(file, f_inode);
	struct ig_memfd_key mk = {};
	struct shmem_inode_info *info;
	const unsigned char *name;
	struct task_struct *task;
	struct ig_config *cfg;
	char prefix[6];
	__u32 *progs;

	if (!(BPF_CORE_READ(inode, i_sb, s_flags) & SB_KERNMOUNT) ||
	    BPF_CORE_READ(inode, i_sb, s_magic) != TMPFS_MAGIC)
		return false;
	name = BPF_CORE_READ(file, f_path.dentry, d_name.name);
	if (bpf_probe_read_kernel(prefix, sizeof(prefix), name) < 0 || prefix[0] != 'm' ||
	    prefix[1] != 'e' || prefix[2] != 'm' || prefix[3] != 'f' || prefix[4] != 'd' ||
	    prefix[5] != ':')
		return false;
	if (bpf_probe_read_kernel_str(mk.name, sizeof(mk.name), name + 6) <= 0)
		return false;
	progs = bpf_map_lookup_elem(&ig_memfd, &mk);
	if (!progs)
		return false;
	info = (void *)inode - bpf_core_field_offset(struct shmem_inode_info, vfs_inode);
	if (!(BPF_CORE_READ(info, seals) & F_SEAL_WRITE))
		return false;
	task = bpf_get_current_task_btf();
	/*
	 * The exec's own image, mapped by the ELF loader once the exec (checked
	 * above with the calling program) is past the point of no return. Not in
	 * the kill tier, whose exec check runs only then.
	 */
	cfg = ig_config_get();
	if (BPF_CORE_READ(task, mm, exe_file, f_inode) == inode && cfg &&
	    !(cfg->flags & IG_CFG_KILL))
		return true;
	return (task_file_flags(task) >> IG_FILE_F_MEMFD_SHIFT) & *progs;
}

static __always_inline void emit(__u32 type, struct ig_file_key *key, __u32 verdict, __u32 reason,
				 const void *path, const struct ig_file_val *val)
{
	struct ig_event *e = bpf_ringbuf_reserve(&ig_events, sizeof(*e), 0);
	__u64 ugid;

	if (!e) {
		count(IG_CNT_EVENTS_LOST);
		return;
	}
	ugid = bpf_get_current_uid_gid();
	e->ts_ns = bpf_ktime_get_boot_ns();
	e->dev = key->dev;
	e->ino = key->ino;
	e->type = type;
	e->verdict = verdict;
	e->reason = reason;
	e->pid = bpf_get_current_pid_tgid() >> 32;
	e->uid = (__u32)ugid;
	e->gid = ugid >> 32;
	bpf_get_current_comm(e->comm, sizeof(e->comm));
	if (bpf_probe_read_kernel_str(e->path, sizeof(e->path), path) < 0)
		e->path[0] = '\0';
	if (val)
		__builtin_memcpy(e->digest, val->digest, sizeof(e->digest));
	else
		__builtin_memset(e->digest, 0, sizeof(e->digest));
	bpf_ringbuf_submit(e, 0);
}

/*
 * Checks a file that is about to run. Returns IG_REASON_NONE if it is a
 * measured, unchanged manifest entry (logging its first use), else why not.
 */
static __always_inline __u32 check_file(struct file *file, struct ig_file_key *key,
					const void *path)
{
	struct inode *inode = file_inode_named(file);
	struct ig_file_val *val;
	__s64 sec;
	__u32 nsec;
	void *files;

	file_key(file, key);
	files = manifest();
	if (!files)
		return IG_REASON_NO_MANIFEST;
	val = bpf_map_lookup_elem(files, key);
	if (!val)
		return memfd_allowed(file) ? IG_REASON_NONE : IG_REASON_NOT_IN_MANIFEST;
	data_ctime(inode, &sec, &nsec);
	if (val->ctime_sec != sec || val->ctime_nsec != nsec)
		return IG_REASON_MODIFIED;
	/* Lazy appraisal: kmeasure's programs on these hooks run first and hashed it, or not. */
	if (val->flags & IG_FILE_F_MISMATCH)
		return IG_REASON_DIGEST_MISMATCH;
	if (val->flags & IG_FILE_F_UNAPPRAISED)
		return IG_REASON_UNAPPRAISED;
	/*
	 * First use of this entry: have the daemon log it. Two CPUs may both see
	 * the flag clear; the log drops the duplicate. (A fetching atomic would
	 * need kernel 5.12.)
	 */
	if (!(val->flags & IG_FILE_F_MEASURED)) {
		val->flags |= IG_FILE_F_MEASURED;
		emit(IG_EV_MEASURE, key, IG_VERDICT_ALLOW, IG_REASON_NONE, path, val);
	}
	return IG_REASON_NONE;
}

/* Common decision for the LSM hooks; cnt is the *_ALLOWED counter, +1 denied, +2 audited. */
static __always_inline int decide(struct file *file, __u32 type, __u32 cnt, const void *path)
{
	struct ig_file_key key;
	__u32 reason;

	reason = check_file(file, &key, path);
	if (reason == IG_REASON_NONE) {
		count(cnt);
		return 0;
	}
	if (current_mode() == IG_MODE_ENFORCE) {
		count(cnt + 1);
		emit(type, &key, IG_VERDICT_DENY, reason, path, NULL);
		return -EPERM;
	}
	count(cnt + 2);
	emit(type, &key, IG_VERDICT_AUDIT, reason, path, NULL);
	return 0;
}

/*
 * IG_FILE_F_* of the task's executable if it is an unchanged manifest entry,
 * else 0: allow-jit and allow-ptrace follow the measured program.
 */
static __always_inline __u32 task_file_flags(struct task_struct *task)
{
	struct file *exe = BPF_CORE_READ(task, mm, exe_file);
	struct ig_file_val *val;
	struct ig_file_key key;
	void *files;
	__s64 sec;
	__u32 nsec;

	if (!exe)
		return 0;
	files = manifest();
	if (!files)
		return 0;
	file_key(exe, &key);
	val = bpf_map_lookup_elem(files, &key);
	if (!val)
		return 0;
	data_ctime(file_inode_named(exe), &sec, &nsec);
	if (val->flags & (IG_FILE_F_UNAPPRAISED | IG_FILE_F_MISMATCH))
		return 0;
	return val->ctime_sec == sec && val->ctime_nsec == nsec ? val->flags : 0;
}

/*
 * W^X: memory that is or was writable becoming executable, for a program
 * not named allow-jit. Returns 0 or -EPERM (enforce mode).
 */
static __always_inline int refuse_wx(__u32 type, struct file *file)
{
	struct ig_file_key key = {};
	const void *name = "(anonymous)";

	if (task_file_flags(bpf_get_current_task_btf()) & IG_FILE_F_JIT)
		return 0;
	if (file) {
		file_key(file, &key);
		name = BPF_CORE_READ(file, f_path.dentry, d_name.name);
	}
	if (current_mode() == IG_MODE_ENFORCE) {
		count(IG_CNT_MMAP_DENIED);
		emit(type, &key, IG_VERDICT_DENY, IG_REASON_WX, name, NULL);
		return -EPERM;
	}
	count(IG_CNT_MMAP_AUDITED);
	emit(type, &key, IG_VERDICT_AUDIT, IG_REASON_WX, name, NULL);
	return 0;
}

SEC("lsm/bprm_check_security")
int BPF_PROG(ig_bprm_check, struct linux_binprm *bprm)
{
	return decide(bprm->file, IG_EV_EXEC, IG_CNT_EXEC_ALLOWED, BPF_CORE_READ(bprm, interp));
}

static __always_inline int guard_write(struct inode *inode, struct dentry *dentry);

/* No counter: kernel code and firmware loads are rare, each one is an event. */
#define CNT_NONE IG_CNT_MAX

/* IG_EV_MODULE/KEXEC/FIRMWARE for what loads code or firmware into the kernel, else 0. */
static __always_inline __u32 kread_type(int id)
{
	switch (id) {
	case READING_MODULE:
		return IG_EV_MODULE;
	case READING_KEXEC_IMAGE:
	case READING_KEXEC_INITRAMFS:
		return IG_EV_KEXEC;
	case READING_FIRMWARE:
		return IG_EV_FIRMWARE;
	default:
		return 0; /* IMA policy, X.509 certificates: data the kernel checks itself */
	}
}

/*
 * finit_module, kexec_file_load, firmware read from a file: the file must be
 * an unchanged manifest entry, as for an exec. A load that is refused
 * cannot be killed afterwards, so these hooks exist in the full tier only.
 */
SEC("lsm/kernel_read_file")
int BPF_PROG(ig_kread, struct file *file, enum kernel_read_file_id id, bool contents)
{
	__u32 type = kread_type(id);

	if (!type || !file)
		return 0;
	return decide(file, type, CNT_NONE, BPF_CORE_READ(file, f_path.dentry, d_name.name));
}

/*
 * init_module from memory, kexec_load of segments, firmware from the sysfs
 * fallback or a platform table: there is no file whose identity the manifest
 * could name, so the load is refused (enforce) or audited.
 */
SEC("lsm/kernel_load_data")
int BPF_PROG(ig_kload, enum kernel_load_data_id id, bool contents)
{
	struct ig_file_key key = {};
	__u32 type;

	switch (id) {
	case LOADING_MODULE:
		type = IG_EV_MODULE;
		break;
	case LOADING_KEXEC_IMAGE:
	case LOADING_KEXEC_INITRAMFS:
		type = IG_EV_KEXEC;
		break;
	case LOADING_FIRMWARE:
		type = IG_EV_FIRMWARE;
		break;
	default:
		return 0;
	}
	if (current_mode() == IG_MODE_ENFORCE) {
		emit(type, &key, IG_VERDICT_DENY, IG_REASON_NO_FILE, "(memory)", NULL);
		return -EPERM;
	}
	emit(type, &key, IG_VERDICT_AUDIT, IG_REASON_NO_FILE, "(memory)", NULL);
	return 0;
}

SEC("lsm/mmap_file")
int BPF_PROG(ig_mmap_file, struct file *file, unsigned long reqprot, unsigned long prot,
	     unsigned long flags)
{
	int ret;

	/* A shared writable mapping writes the file without write(2). */
	if (file && (prot & PROT_WRITE) && (flags & MAP_TYPE) != MAP_PRIVATE &&
	    (BPF_CORE_READ(file, f_mode) & FMODE_WRITE)) {
		ret = guard_write(file->f_inode, file->f_path.dentry);
		if (ret || !(prot & PROT_EXEC))
			return ret;
	}
	if (!(prot & PROT_EXEC))
		return 0;
	/* Anonymous executable memory, or a mapping writable and executable at once. */
	if (!file || (prot & PROT_WRITE))
		return refuse_wx(IG_EV_MMAP, file);
	ret = decide(file, IG_EV_MMAP, IG_CNT_MMAP_ALLOWED,
		     BPF_CORE_READ(file, f_path.dentry, d_name.name));
	if (!ret)
		mark_xmapped(file->f_inode, file);
	return ret;
}

SEC("lsm/file_mprotect")
int BPF_PROG(ig_mprotect, struct vm_area_struct *vma, unsigned long reqprot, unsigned long prot)
{
	struct file *file = BPF_CORE_READ(vma, vm_file);
	int ret;

	if (!(prot & PROT_EXEC))
		return 0;
	/*
	 * Anonymous memory, W+X, or a private file mapping with pages of its
	 * own (anon_vma: written since it was mapped, RX -> RW -> RX).
	 */
	if (!file || (prot & PROT_WRITE) || BPF_CORE_READ(vma, anon_vma))
		return refuse_wx(IG_EV_MPROTECT, file);
	if (BPF_CORE_READ(vma, vm_flags) & VM_EXEC)
		return 0;
	ret = decide(file, IG_EV_MPROTECT, IG_CNT_MMAP_ALLOWED,
		     BPF_CORE_READ(file, f_path.dentry, d_name.name));
	if (!ret)
		mark_xmapped(vma->vm_file->f_inode, file);
	return ret;
}

/*
 * A write is about to be allowed to an inode: refuse it while the inode is
 * mapped executable; if it is a manifest entry, refuse (protect) or delete
 * the entry first so the new bytes are never trusted. Returns 0 or -EPERM.
 */
static __always_inline int guard_write(struct inode *inode, struct dentry *dentry)
{
	struct ig_file_key key;
	struct ig_config *cfg;
	struct inode *di;
	void *files;

	if (!inode || (BPF_CORE_READ(inode, i_mode) & S_IFMT) != S_IFREG)
		return 0;
	key.dev = BPF_CORE_READ(inode, i_sb, s_dev);
	key.ino = BPF_CORE_READ(inode, i_ino);
	/*
	 * Mapped executable once and mapping_mapped() still: the page cache
	 * a write changes is the code of the processes that map it
	 * (MAP_PRIVATE pages they never wrote included), whether or not the
	 * file is still trusted. Dropping trust cannot undo that. On
	 * overlayfs the mapping is the layer inode's: a write through the
	 * overlay (the overlay inode, whose own page cache nobody maps: a
	 * truncate, a shared writable mapping) is judged by the layer inode
	 * holding the data, a write to the layer's file directly by its own.
	 */
	di = data_inode(inode);
	/* mapped first: two loads, where the marks are map lookups (every write(2) is here) */
	if ((BPF_CORE_READ(inode, i_mapping, i_mmap.rb_root.rb_node) ||
	     (di != inode && BPF_CORE_READ(di, i_mapping, i_mmap.rb_root.rb_node))) &&
	    (bpf_inode_storage_get(&ig_xmapped, inode, 0, 0) ||
	     (dentry && bpf_inode_storage_get(&ig_xmapped, dentry->d_inode, 0, 0)) ||
	     xlayer_marked(inode) || (di != inode && xlayer_marked(di)))) {
		if (current_mode() == IG_MODE_ENFORCE) {
			count(IG_CNT_WRITE_DENIED);
			emit(IG_EV_WRITE, &key, IG_VERDICT_DENY, IG_REASON_MAPPED_EXEC,
			     BPF_CORE_READ(dentry, d_name.name), NULL);
			return -EPERM;
		}
		emit(IG_EV_WRITE, &key, IG_VERDICT_AUDIT, IG_REASON_MAPPED_EXEC,
		     BPF_CORE_READ(dentry, d_name.name), NULL);
	}
	files = manifest();
	if (!files || !bpf_map_lookup_elem(files, &key))
		return 0;
	cfg = ig_config_get();
	if (cfg && (cfg->flags & IG_CFG_PROTECT)) {
		count(IG_CNT_WRITE_DENIED);
		emit(IG_EV_WRITE, &key, IG_VERDICT_DENY, IG_REASON_PROTECTED,
		     BPF_CORE_READ(dentry, d_name.name), NULL);
		return -EPERM;
	}
	if (bpf_map_delete_elem(files, &key) == 0) {
		count(IG_CNT_TRUST_DROPPED);
		emit(IG_EV_WRITE, &key, IG_VERDICT_ALLOW, IG_REASON_TRUST_DROPPED,
		     BPF_CORE_READ(dentry, d_name.name), NULL);
	}
	return 0;
}

/* file_open, first check (ig_file_open below): writes to allowlisted files. */
static __always_inline int open_guard(struct file *file)
{
	if (!(BPF_CORE_READ(file, f_mode) & FMODE_WRITE))
		return 0;
	return guard_write(file->f_inode, file->f_path.dentry);
}

/* file_permission, first check (ig_file_perm below). */
static __always_inline int perm_guard(struct file *file, int mask)
{
	/* Writes through descriptors opened before the policy was loaded. */
	if (!(mask & MAY_WRITE))
		return 0;
	return guard_write(file->f_inode, file->f_path.dentry);
}

SEC("lsm/path_truncate")
int BPF_PROG(ig_truncate, const struct path *path)
{
	struct dentry *dentry = path->dentry;

	return guard_write(dentry->d_inode, dentry);
}

/* --- self-protection (IG_CFG_SELF_PROTECT) --- */

static __always_inline bool self_protect(void)
{
	struct ig_config *cfg = ig_config_get();

	return cfg && cfg->mode == IG_MODE_ENFORCE && (cfg->flags & IG_CFG_SELF_PROTECT);
}

/*
 * The daemon process, recorded by itself (iotgate.h: ig_daemon). Self-protection
 * exempts this process only, never its executable file.
 */
struct {
	__uint(type, BPF_MAP_TYPE_HASH);
	__uint(max_entries, 1);
	__type(key, __u32);
	__type(value, struct ig_daemon);
} ig_daemon SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_ARRAY);
	__uint(max_entries, 1);
	__type(key, __u32);
	__type(value, struct ig_dexit);
} ig_dexit SEC(".maps");

/* Thread ids of the recorded daemon (cgroup.procs and /proc take any of them). */
struct {
	__uint(type, BPF_MAP_TYPE_HASH);
	__uint(max_entries, 256);
	__type(key, __u32);
	__type(value, __u32);
} ig_dtids SEC(".maps");

static __always_inline struct ig_daemon *daemon_rec(void)
{
	__u32 zero = 0;

	return bpf_map_lookup_elem(&ig_daemon, &zero);
}

static __always_inline bool is_daemon(const struct ig_daemon *d, struct task_struct *task)
{
	return d && BPF_CORE_READ(task, tgid) == d->tgid &&
	       BPF_CORE_READ(task, group_leader, start_time) == d->start_ns;
}

/* Is the task a thread of the daemon process iotgate recorded? */
static __always_inline bool runs_daemon(struct task_struct *task)
{
	return is_daemon(daemon_rec(), task);
}

/* Runs the daemon's executable (a manifest entry marked daemon): may become the daemon. */
static __always_inline bool runs_daemon_file(struct task_struct *task)
{
	struct file *exe = BPF_CORE_READ(task, mm, exe_file);
	struct ig_file_val *val;
	struct ig_file_key key;
	void *files;

	if (!exe)
		return false;
	files = manifest();
	if (!files)
		return false;
	file_key(exe, &key);
	val = bpf_map_lookup_elem(files, &key);
	return val && (val->flags & IG_FILE_F_DAEMON);
}

static __always_inline int refuse_self(__u32 reason, struct ig_file_key *key, const void *name)
{
	count(IG_CNT_SELF_DENIED);
	emit(IG_EV_SELF, key, IG_VERDICT_DENY, reason, name, NULL);
	return -EPERM;
}

/* inode_permission, first check (ig_inode_perm below): the pins. */
static __always_inline int inode_pins(struct inode *inode, int mask)
{
	struct ig_file_key key;

	/* Every path walk comes here: leave anything not on bpffs at once. */
	if (BPF_CORE_READ(inode, i_sb, s_magic) != BPF_FS_MAGIC || !self_protect())
		return 0;
	key.dev = BPF_CORE_READ(inode, i_sb, s_dev);
	key.ino = BPF_CORE_READ(inode, i_ino);
	if (!bpf_map_lookup_elem(&ig_pins, &key))
		return 0;
	/* Looking through the directory is fine; opening pins or changing it is not. */
	if ((BPF_CORE_READ(inode, i_mode) & S_IFMT) == 0040000 && !(mask & MAY_WRITE))
		return 0;
	if (runs_daemon(bpf_get_current_task_btf()))
		return 0;
	return refuse_self(IG_REASON_PIN, &key, "/sys/fs/bpf/iotgate");
}

/* Name starts with "ig_": one of ours. */
static __always_inline bool ours(const char *name)
{
	char n[3];

	return bpf_probe_read_kernel(n, sizeof(n), name) == 0 && n[0] == 'i' && n[1] == 'g' &&
	       n[2] == '_';
}

SEC("lsm/bpf_map")
int BPF_PROG(ig_bpf_map, struct bpf_map *map, fmode_t fmode)
{
	struct ig_file_key key = {};

	if (!self_protect() || !ours(map->name) || runs_daemon(bpf_get_current_task_btf()))
		return 0;
	return refuse_self(IG_REASON_BPF_OBJ, &key, map->name);
}

SEC("lsm/bpf_prog")
int BPF_PROG(ig_bpf_prog, struct bpf_prog *prog)
{
	struct ig_file_key key = {};

	/*
	 * The name's address in the kernel's bpf_prog_aux: BPF_CORE_READ of the
	 * char array would copy it to this stack frame and return a pointer that
	 * dies with the macro's statement.
	 */
	const char *name = prog->aux->name;

	if (!self_protect() || !ours(name) || runs_daemon(bpf_get_current_task_btf()))
		return 0;
	return refuse_self(IG_REASON_BPF_OBJ, &key, name);
}

SEC("lsm/task_kill")
int BPF_PROG(ig_task_kill, struct task_struct *p, struct kernel_siginfo *info, int sig,
	     const struct cred *cred)
{
	struct task_struct *cur = bpf_get_current_task_btf();
	struct ig_file_key key = {};

	/* sig 0 only probes for existence; init may stop the service. */
	if (!sig || !self_protect() || !runs_daemon(p) || BPF_CORE_READ(cur, tgid) == 1 ||
	    runs_daemon(cur))
		return 0;
	key.ino = BPF_CORE_READ(p, tgid);
	return refuse_self(IG_REASON_SIGNAL, &key, "iotgated");
}

/*
 * Injection: writing into another process (ptrace attach, /proc/PID/mem,
 * process_vm_writev: all PTRACE_MODE_ATTACH) runs code the manifest never
 * saw. In enforce mode only a tracer named allow-ptrace may.
 */
static __always_inline int refuse_inject(struct task_struct *target, struct task_struct *tracer)
{
	struct ig_file_key key = {};

	if (current_mode() != IG_MODE_ENFORCE || (task_file_flags(tracer) & IG_FILE_F_PTRACE))
		return 0;
	key.ino = BPF_CORE_READ(target, tgid);
	count(IG_CNT_SELF_DENIED);
	emit(IG_EV_INJECT, &key, IG_VERDICT_DENY, IG_REASON_NOT_TRACER, target->comm, NULL);
	return -EPERM;
}

SEC("lsm/ptrace_access_check")
int BPF_PROG(ig_ptrace, struct task_struct *child, unsigned int mode)
{
	struct task_struct *cur = bpf_get_current_task_btf();
	struct ig_file_key key = {};

	if (self_protect() && runs_daemon(child) && !runs_daemon(cur)) {
		key.ino = BPF_CORE_READ(child, tgid);
		return refuse_self(IG_REASON_PTRACE, &key, "iotgated");
	}
	if (!(mode & PTRACE_MODE_ATTACH) || BPF_CORE_READ(child, tgid) == cur->tgid)
		return 0;
	return refuse_inject(child, cur);
}

/* PTRACE_TRACEME: the parent becomes the tracer. */
SEC("lsm/ptrace_traceme")
int BPF_PROG(ig_traceme, struct task_struct *parent)
{
	return refuse_inject(bpf_get_current_task_btf(), parent);
}

/*
 * --- self-protection bound to the daemon process (IG_CFG_SELF_PROTECT) ---
 *
 * The daemon records itself in ig_daemon at its first bpf() call (iotgate.h);
 * the hooks below refuse, for anyone but that process, what would end
 * enforcement or silence the daemon without a trace: unmounting, moving or
 * mounting over the bpffs with the pins, fds of iotgate's links by id,
 * moving the daemon to another cgroup, freezing or killing its cgroup,
 * raising its OOM score, changing an exe link and registering binfmt_misc
 * handlers. Each refusal is EPERM and an IG_EV_SELF event.
 */

#define CLONE_THREAD 0x00010000
#define MNT_DETACH 0x2
#define PR_SET_MM 35
#define PR_SET_MM_EXE_FILE 13
#define PR_SET_MM_MAP 14
#define CGROUP2_SUPER_MAGIC 0x63677270
#define CGROUP_SUPER_MAGIC 0x27e0eb
#define PROC_SUPER_MAGIC 0x9fa0
#define BINFMTFS_MAGIC 0x42494e4d
#define NAME_MAX_CMP 16

/* Link ids of iotgate's links, listed by the daemon (value unused). */
struct {
	__uint(type, BPF_MAP_TYPE_HASH);
	__uint(max_entries, 64);
	__type(key, __u32);
	__type(value, __u32);
} ig_links SEC(".maps");

static __always_inline void add_tid(__u32 tid)
{
	__u32 one = 1;

	bpf_map_update_elem(&ig_dtids, &tid, &one, BPF_ANY);
}

/* Records the current process as the daemon unless one is recorded. */
static __always_inline void claim(struct task_struct *cur)
{
	struct kernfs_node *kn = BPF_CORE_READ(cur, cgroups, dfl_cgrp, kn);
	struct ig_daemon d = {};
	__u32 zero = 0;

	d.tgid = BPF_CORE_READ(cur, tgid);
	d.start_ns = BPF_CORE_READ(cur, group_leader, start_time);
	for (int i = 0; i < IG_DAEMON_CGROUPS && kn; i++) {
		d.cgroup_ids[i] = BPF_CORE_READ(kn, id);
		d.nr_cgroups = i + 1;
		kn = BPF_CORE_READ(kn, parent);
	}
	if (bpf_map_update_elem(&ig_daemon, &zero, &d, BPF_NOEXIST))
		return;
	add_tid(d.tgid);
	add_tid(BPF_CORE_READ(cur, pid));
}

SEC("lsm/bpf")
int BPF_PROG(ig_bpf_cmd, int cmd, union bpf_attr *attr, unsigned int size)
{
	struct task_struct *cur = bpf_get_current_task_btf();
	struct ig_daemon *d = daemon_rec();
	struct ig_file_key key = {};
	__u32 id;

	if (d) {
		if (is_daemon(d, cur))
			return 0;
	} else if (!BPF_CORE_READ(cur, ptrace) && runs_daemon_file(cur)) {
		/* No daemon recorded: an untraced process of the daemon's file becomes it. */
		claim(cur);
		return 0;
	}
	/* BPF_LINK_DETACH and BPF_LINK_UPDATE need an fd: from a pin or from here. */
	if (cmd != BPF_LINK_GET_FD_BY_ID || !self_protect())
		return 0;
	id = attr->link_id;
	if (!bpf_map_lookup_elem(&ig_links, &id))
		return 0;
	key.ino = id;
	return refuse_self(IG_REASON_BPF_LINK, &key, "link");
}

SEC("tp_btf/task_newtask")
int BPF_PROG(ig_daemon_thr, struct task_struct *task, unsigned long clone_flags)
{
	if ((clone_flags & CLONE_THREAD) && runs_daemon(task))
		add_tid(task->pid);
	return 0;
}

SEC("tp_btf/sched_process_exit")
int BPF_PROG(ig_daemon_exit, struct task_struct *p)
{
	struct ig_daemon *d = daemon_rec();
	struct ig_dexit x = {};
	__u32 tid = p->pid, zero = 0;

	if (!is_daemon(d, p))
		return 0;
	bpf_map_delete_elem(&ig_dtids, &tid);
	if (p->pid != p->tgid)
		return 0;
	x.tgid = d->tgid;
	x.start_ns = d->start_ns;
	x.exit_code = p->exit_code;
	x.exit_ns = bpf_ktime_get_boot_ns();
	bpf_map_update_elem(&ig_dexit, &zero, &x, BPF_ANY);
	bpf_map_delete_elem(&ig_daemon, &zero);
	return 0;
}

/* The bpffs holding the pins: the daemon lists its superblock as {s_dev, 0} in ig_pins. */
static __always_inline bool pins_sb(struct super_block *sb)
{
	struct ig_file_key key = { .ino = 0 };

	if (!sb || BPF_CORE_READ(sb, s_magic) != BPF_FS_MAGIC)
		return false;
	key.dev = BPF_CORE_READ(sb, s_dev);
	return bpf_map_lookup_elem(&ig_pins, &key) != NULL;
}

static __always_inline int refuse_mount(void)
{
	struct ig_file_key key = {};

	return refuse_self(IG_REASON_MOUNT, &key, IG_PIN_DIR);
}

static __always_inline struct mount *real_mount(struct vfsmount *mnt)
{
	return (void *)mnt - bpf_core_field_offset(struct mount, mnt);
}

#define MOUNTS_SCANNED 32

/*
 * Is a mount on the children list that first (a mount's mnt_mounts.next)
 * starts the pins' bpffs? Bounded. Global: verified once, not once per
 * parent scanned; inlined into the scan of the grandchildren it cost 32 x 32
 * unrolled iterations, the longest verification of any program (1.4 s of a
 * start under emulation). Its argument is a scalar, as a global function's
 * must be: the list head is first->prev (the head itself when empty).
 */
__noinline int ig_child_pins(__u64 first)
{
	struct list_head *pos = (void *)first, *head;
	unsigned long off = bpf_core_field_offset(struct mount, mnt_child);

	if (!pos)
		return 0;
	head = BPF_CORE_READ(pos, prev);
	for (int i = 0; i < MOUNTS_SCANNED && pos && pos != head; i++) {
		struct mount *c = (void *)pos - off;

		if (pins_sb(BPF_CORE_READ(c, mnt.mnt_sb)))
			return 1;
		pos = BPF_CORE_READ(pos, next);
	}
	return 0;
}

/*
 * umount -l of a mount above the bpffs (/sys, /) takes it along: refused when
 * a child or grandchild is the pins' bpffs.
 */
static __always_inline bool pins_below(struct vfsmount *vmnt)
{
	struct mount *m = real_mount(vmnt);
	struct list_head *head, *pos;
	unsigned long off = bpf_core_field_offset(struct mount, mnt_child);

	head = (void *)m + bpf_core_field_offset(struct mount, mnt_mounts);
	pos = BPF_CORE_READ(head, next);
	if (ig_child_pins((__u64)pos))
		return true;
	for (int i = 0; i < MOUNTS_SCANNED && pos && pos != head; i++) {
		struct mount *child = (void *)pos - off;

		if (ig_child_pins((__u64)BPF_CORE_READ(child, mnt_mounts.next)))
			return true;
		pos = BPF_CORE_READ(pos, next);
	}
	return false;
}

SEC("lsm/sb_umount")
int BPF_PROG(ig_umount, struct vfsmount *mnt, int flags)
{
	if (!self_protect())
		return 0;
	if (pins_sb(mnt->mnt_sb) || ((flags & MNT_DETACH) && pins_below(mnt)))
		return refuse_mount();
	return 0;
}

#define MS_MOVE 8192

/* "/sys/fs/bpf" or below, as a string (the old API's move names its source so). */
static __always_inline bool names_bpffs(const char *dev_name)
{
	static const char dir[] = "/sys/fs/bpf";
	char s[sizeof(dir)] = {};

	if (bpf_probe_read_kernel_str(s, sizeof(s), dev_name) < (long)sizeof(dir) - 1)
		return false;
	for (int i = 0; i < (int)sizeof(dir) - 1; i++)
		if (s[i] != dir[i])
			return false;
	return true;
}

/* sb_mount, first check (ig_mount below): the bpffs with the pins. */
static __always_inline int mount_pins(const char *dev_name, const struct path *path,
				      unsigned long flags)
{
	if (!self_protect())
		return 0;
	/* onto it (overmount, remount), or mount --move of it by the old API */
	if (pins_sb(BPF_CORE_READ(path, dentry, d_sb)) ||
	    ((flags & MS_MOVE) && dev_name && names_bpffs(dev_name)))
		return refuse_mount();
	return 0;
}

SEC("lsm/move_mount")
int BPF_PROG(ig_move_mount, const struct path *from_path, const struct path *to_path)
{
	if (self_protect() && (pins_sb(BPF_CORE_READ(from_path, dentry, d_sb)) ||
			       pins_sb(BPF_CORE_READ(to_path, dentry, d_sb))))
		return refuse_mount();
	return 0;
}

/* The exe link names the program for allow-jit/allow-ptrace and the daemon's file. */
SEC("lsm/task_prctl")
int BPF_PROG(ig_prctl, int option, unsigned long arg2, unsigned long arg3, unsigned long arg4,
	     unsigned long arg5)
{
	struct ig_file_key key = {};

	if (option != PR_SET_MM || (arg2 != PR_SET_MM_EXE_FILE && arg2 != PR_SET_MM_MAP) ||
	    !self_protect())
		return 0;
	return refuse_self(IG_REASON_EXE_LINK, &key, "PR_SET_MM_EXE_FILE");
}

/* a NUL-terminated name read from the kernel equals lit (at most NAME_MAX_CMP bytes) */
static __always_inline bool name_is(const char *n, const char *lit)
{
	for (int i = 0; i < NAME_MAX_CMP; i++) {
		if (n[i] != lit[i])
			return false;
		if (!lit[i])
			return true;
	}
	return false;
}

static __always_inline bool is_space(char c)
{
	return c == ' ' || (c >= '\t' && c <= '\r');
}

#define PID_WRITE_MAX 32
#define PID_UNKNOWN (-1) /* not a write(2) we can read: refused */
#define PID_INVALID (-2) /* the kernel refuses it too */

struct pid_parse {
	char s[PID_WRITE_MAX];
	unsigned long v, base;
	int st; /* 0: leading space, 1: number, 2: trailing space */
	int digits;
	int lead0, bad; /* not bool: a callback must return exactly 0 or 1 */
};

/*
 * A zero the verifier cannot know (.bss is writable): 6.1 verifies a
 * bpf_loop callback once, from the state at the call, and removes the
 * branches not taken then. The parser's state starts from it, so every
 * branch stays.
 */
volatile __u32 ig_unknown_zero;

/* bpf_loop step: one character. */
static long pid_step(__u32 i, struct pid_parse *p)
{
	unsigned long dv;
	char c;

	if (i >= PID_WRITE_MAX)
		return 1;
	c = p->s[i];
	if (!c)
		return 1;
	if (p->st == 0 && is_space(c))
		return 0;
	if (p->st == 0) {
		p->st = 1;
		if (c == '+')
			return 0;
	}
	if (p->st == 2 || is_space(c)) {
		p->st = 2;
		if (is_space(c))
			return 0;
		p->bad = 1;
		return 1;
	}
	if (p->lead0 && p->digits == 1 && (c | 0x20) == 'x') {
		p->base = 16;
		p->digits = 0;
		p->lead0 = 0;
		return 0;
	}
	if (c >= '0' && c <= '9')
		dv = c - '0';
	else if (p->base == 16 && (c | 0x20) >= 'a' && (c | 0x20) <= 'f')
		dv = (c | 0x20) - 'a' + 10;
	else
		dv = 99;
	if (!p->digits && p->base == 10 && dv == 0) {
		p->base = 8;
		p->lead0 = 1;
		p->digits = 1;
		return 0;
	}
	if (dv >= p->base || p->v > 0x7fffffff / 16) {
		p->bad = 1;
		return 1;
	}
	p->v = p->v * p->base + dv;
	p->digits++;
	return 0;
}

/*
 * The pid a write(2) to cgroup.procs names, parsed as the kernel does
 * (strstrip, then kstrtoint with base 0: 0x hex, leading 0 octal, a '+'),
 * from the caller's buffer (the syscall's arguments; file_permission has no
 * buffer).
 */
static __always_inline long written_pid(void)
{
	struct pt_regs *regs = (struct pt_regs *)bpf_task_pt_regs(bpf_get_current_task_btf());
	__u32 z = ig_unknown_zero;
	struct pid_parse p = {};
	unsigned long nr, buf, cnt;

	if (!regs)
		return PID_UNKNOWN;
#if defined(__TARGET_ARCH_x86)
	nr = BPF_CORE_READ(regs, orig_ax);
	buf = BPF_CORE_READ(regs, si);
	cnt = BPF_CORE_READ(regs, dx);
	if (nr != 1 && nr != 18) /* write, pwrite64 */
		return PID_UNKNOWN;
#elif defined(__TARGET_ARCH_arm64)
	nr = BPF_CORE_READ(regs, syscallno);
	buf = BPF_CORE_READ(regs, regs[1]);
	cnt = BPF_CORE_READ(regs, regs[2]);
	if (nr != 64 && nr != 68) /* write, pwrite64 */
		return PID_UNKNOWN;
#else
	/* 32-bit ARM has no BPF trampolines, so no LSM programs: never reached. */
	nr = buf = cnt = 0;
	(void)nr;
	return PID_UNKNOWN;
#endif
	if (cnt >= PID_WRITE_MAX)
		return PID_UNKNOWN;
	if (bpf_probe_read_user(p.s, cnt & (PID_WRITE_MAX - 1), (void *)buf))
		return PID_UNKNOWN;
	p.base = 10 + z;
	p.v = z;
	p.st = z;
	p.digits = z;
	p.lead0 = z;
	p.bad = z;
	bpf_loop(PID_WRITE_MAX, pid_step, &p, 0);
	if (p.bad || !p.digits)
		return PID_INVALID;
	return p.v;
}

static __always_inline bool daemon_tid(__u32 tid)
{
	return bpf_map_lookup_elem(&ig_dtids, &tid) != NULL;
}

static __always_inline int refuse_cgroup(struct kernfs_node *kn, const char *name)
{
	struct ig_file_key key = {};

	key.ino = BPF_CORE_READ(kn, id);
	return refuse_self(IG_REASON_CGROUP, &key, name);
}

/* A write to a cgroup file: moving a daemon thread, freezing or killing its cgroup. */
static __always_inline int cgroup_write(struct file *file, const char *n, struct ig_daemon *d,
					struct task_struct *cur)
{
	struct kernfs_node *kn = BPF_CORE_READ(file, f_inode, i_private), *cg;
	const char *name = (const char *)BPF_CORE_READ(file, f_path.dentry, d_name.name);
	__u64 id;
	long pid;

	if (name_is(n, "cgroup.procs") || name_is(n, "cgroup.threads") || name_is(n, "tasks")) {
		/* The daemon lives in the initial pid namespace: others cannot name it. */
		if (BPF_CORE_READ(cur, thread_pid, level))
			return 0;
		pid = written_pid();
		if (pid == PID_UNKNOWN || (pid > 0 && (pid == d->tgid || daemon_tid(pid))))
			return refuse_cgroup(kn, name);
		return 0;
	}
	if (!name_is(n, "cgroup.freeze") && !name_is(n, "cgroup.kill"))
		return 0;
	/* init may kill the service it stops, as with signals */
	if (name_is(n, "cgroup.kill") && BPF_CORE_READ(cur, tgid) == 1)
		return 0;
	cg = BPF_CORE_READ(kn, parent);
	id = BPF_CORE_READ(cg, id);
	for (int i = 0; i < IG_DAEMON_CGROUPS; i++)
		if (i < d->nr_cgroups && d->cgroup_ids[i] == id)
			return refuse_cgroup(cg, name);
	return 0;
}

/* /proc/PID/oom_score_adj and oom_adj of a daemon thread. */
static __always_inline int proc_write(struct file *file, const char *n)
{
	struct inode *inode = BPF_CORE_READ(file, f_inode);
	struct proc_inode *pi;
	struct ig_file_key key = {};
	__u32 pid;

	if (!name_is(n, "oom_score_adj") && !name_is(n, "oom_adj"))
		return 0;
	pi = (void *)inode - bpf_core_field_offset(struct proc_inode, vfs_inode);
	pid = BPF_CORE_READ(pi, pid, numbers[0].nr);
	if (!daemon_tid(pid))
		return 0;
	key.ino = pid;
	return refuse_self(IG_REASON_OOM, &key, BPF_CORE_READ(file, f_path.dentry, d_name.name));
}

/*
 * A write through /proc/PID/mem ignores the pages' protection (FOLL_FORCE):
 * a program writing over its own text this way runs code no manifest
 * measured, and the kernel asks no LSM hook when a process opens its own
 * mem (ptrace_may_access passes its own thread group). Writing one's own
 * code is what a JIT does (allow-jit), writing another's what a tracer does
 * (allow-ptrace; that open was checked by ig_ptrace already). Judged at
 * write time, so a descriptor opened before enforcement or handed over by
 * another process is judged too.
 */
static __always_inline int proc_mem_write(struct file *file)
{
	struct task_struct *cur = bpf_get_current_task_btf();
	struct inode *inode = BPF_CORE_READ(file, f_inode);
	struct ig_file_key key = {};
	struct proc_inode *pi;

	if (current_mode() != IG_MODE_ENFORCE ||
	    (task_file_flags(cur) & (IG_FILE_F_JIT | IG_FILE_F_PTRACE)))
		return 0;
	pi = (void *)inode - bpf_core_field_offset(struct proc_inode, vfs_inode);
	key.ino = BPF_CORE_READ(pi, pid, numbers[0].nr);
	count(IG_CNT_SELF_DENIED);
	emit(IG_EV_INJECT, &key, IG_VERDICT_DENY, IG_REASON_NOT_TRACER, cur->comm, NULL);
	return -EPERM;
}

/*
 * Writes to cgroupfs and procfs files: at write time, so a descriptor opened
 * before enforcement started is checked too (file_permission, second check).
 */
static __always_inline int self_write(struct file *file, int mask)
{
	struct task_struct *cur;
	char n[NAME_MAX_CMP] = {};
	struct ig_daemon *d;
	unsigned long magic;

	if (!(mask & MAY_WRITE))
		return 0;
	magic = BPF_CORE_READ(file, f_inode, i_sb, s_magic);
	if (magic != CGROUP2_SUPER_MAGIC && magic != CGROUP_SUPER_MAGIC &&
	    magic != PROC_SUPER_MAGIC && magic != BINFMTFS_MAGIC)
		return 0;
	if (magic == PROC_SUPER_MAGIC) {
		bpf_probe_read_kernel_str(n, sizeof(n),
					  BPF_CORE_READ(file, f_path.dentry, d_name.name));
		if (name_is(n, "mem"))
			return proc_mem_write(file);
	}
	if (!self_protect())
		return 0;
	cur = bpf_get_current_task_btf();
	d = daemon_rec();
	if (!d || is_daemon(d, cur))
		return 0;
	if (magic == BINFMTFS_MAGIC) {
		struct ig_file_key key = {};

		/* register (and status: enabling disabled handlers) */
		return refuse_self(IG_REASON_BINFMT, &key,
				   BPF_CORE_READ(file, f_path.dentry, d_name.name));
	}
	if (magic == PROC_SUPER_MAGIC)
		return proc_write(file, n);
	bpf_probe_read_kernel_str(n, sizeof(n), BPF_CORE_READ(file, f_path.dentry, d_name.name));
	return cgroup_write(file, n, d, cur);
}

/*
 * --- what the daemon reads and writes (IG_CFG_SELF_PROTECT) ---
 *
 * ig_prot lists the state directory and the trusted-keys directory
 * (IG_PROT_DIR: nothing in them or below may change) and the policy,
 * manifest and signature files (IG_PROT_FILE). Only the daemon may change
 * them while self-protection is on: writes, truncation, attribute changes,
 * creating or removing entries, renames over or away, hard links out, and
 * mounts over them are refused.
 */
struct {
	__uint(type, BPF_MAP_TYPE_HASH);
	__uint(max_entries, 64);
	__type(key, struct ig_file_key);
	__type(value, __u32);
} ig_prot SEC(".maps");

#define PROT_PARENTS 4

static __always_inline __u32 prot_flags(struct dentry *de)
{
	struct inode *inode = BPF_CORE_READ(de, d_inode);
	struct ig_file_key key;
	__u32 *f;

	if (!inode)
		return 0;
	key.dev = BPF_CORE_READ(inode, i_sb, s_dev);
	key.ino = BPF_CORE_READ(inode, i_ino);
	f = bpf_map_lookup_elem(&ig_prot, &key);
	if (!f)
		return 0;
	/*
	 * Directories as directories, files as files: on overlayfs a directory's
	 * inode number and a file's come from different counters and may meet.
	 */
	return ((*f & IG_PROT_DIR) != 0) == ((BPF_CORE_READ(inode, i_mode) & S_IFMT) == 0040000) ?
		       *f :
		       0;
}

/* Listed itself, or below a listed directory. */
static __always_inline bool prot_dentry(struct dentry *de)
{
	if (prot_flags(de))
		return true;
	for (int i = 0; i < PROT_PARENTS; i++) {
		struct dentry *up = BPF_CORE_READ(de, d_parent);

		if (!up || up == de)
			return false;
		de = up;
		if (prot_flags(de) & IG_PROT_DIR)
			return true;
	}
	return false;
}

static __always_inline bool prot_enforced(void)
{
	return self_protect() && !runs_daemon(bpf_get_current_task_btf());
}

static __always_inline int refuse_prot(struct dentry *de)
{
	struct inode *inode = BPF_CORE_READ(de, d_inode);
	struct ig_file_key key = {};

	if (inode) {
		key.dev = BPF_CORE_READ(inode, i_sb, s_dev);
		key.ino = BPF_CORE_READ(inode, i_ino);
	}
	return refuse_self(IG_REASON_PROTECTED_PATH, &key, BPF_CORE_READ(de, d_name.name));
}

/* Creating, removing or renaming entries in a listed directory (or below: its MAY_WRITE). */
static __always_inline int prot_perm(struct inode *inode, int mask)
{
	struct ig_file_key key = {};
	__u32 *f;

	if (!(mask & MAY_WRITE) || (BPF_CORE_READ(inode, i_mode) & S_IFMT) != 0040000)
		return 0;
	key.dev = BPF_CORE_READ(inode, i_sb, s_dev);
	key.ino = BPF_CORE_READ(inode, i_ino);
	f = bpf_map_lookup_elem(&ig_prot, &key);
	if (!f || !(*f & IG_PROT_DIR) || !prot_enforced())
		return 0;
	return refuse_self(IG_REASON_PROTECTED_PATH, &key, "(directory)");
}

static __always_inline int prot_open(struct file *file)
{
	struct dentry *de;

	if (!(BPF_CORE_READ(file, f_mode) & FMODE_WRITE))
		return 0;
	de = BPF_CORE_READ(file, f_path.dentry);
	if (!prot_dentry(de) || !prot_enforced())
		return 0;
	return refuse_prot(de);
}

/* truncate (also open with O_TRUNC), chmod, chown, utimes */
SEC("lsm/inode_setattr")
int BPF_PROG(ig_prot_attr, struct dentry *dentry, struct iattr *attr)
{
	if (!prot_dentry(dentry) || !prot_enforced())
		return 0;
	return refuse_prot(dentry);
}

SEC("lsm/inode_unlink")
int BPF_PROG(ig_prot_unlink, struct inode *dir, struct dentry *dentry)
{
	if (!prot_flags(dentry) || !prot_enforced())
		return 0;
	return refuse_prot(dentry);
}

SEC("lsm/inode_rmdir")
int BPF_PROG(ig_prot_rmdir, struct inode *dir, struct dentry *dentry)
{
	if (!prot_flags(dentry) || !prot_enforced())
		return 0;
	return refuse_prot(dentry);
}

/* away (the listed entry moves) or over (something replaces it) */
SEC("lsm/inode_rename")
int BPF_PROG(ig_prot_rename, struct inode *old_dir, struct dentry *old_dentry,
	     struct inode *new_dir, struct dentry *new_dentry)
{
	struct dentry *hit = NULL;

	if (prot_flags(old_dentry))
		hit = old_dentry;
	else if (prot_flags(new_dentry))
		hit = new_dentry;
	if (!hit || !prot_enforced())
		return 0;
	return refuse_prot(hit);
}

/* a mount over a listed path or one below a listed directory */
static __always_inline int prot_mount(const struct path *path)
{
	struct dentry *de = BPF_CORE_READ(path, dentry);

	if (!prot_dentry(de) || !prot_enforced())
		return 0;
	return refuse_prot(de);
}

/* a hard link outside would be a name the directory's protection does not cover */
SEC("lsm/inode_link")
int BPF_PROG(ig_prot_link, struct dentry *old_dentry, struct inode *dir, struct dentry *new_dentry)
{
	if (!prot_dentry(old_dentry) || !prot_enforced())
		return 0;
	return refuse_prot(old_dentry);
}

/* --- tracing programs: kill and partial tiers --- */

/*
 * A refusal seen by a tracing program. The kill tier in enforce mode sends
 * SIGKILL to the process (every thread); otherwise it is only reported.
 */
static __always_inline void refuse_traced(__u32 type, struct ig_file_key *key, __u32 reason,
					  const void *path, __u32 cnt)
{
	struct ig_config *cfg = ig_config_get();

	if (cfg && cfg->mode == IG_MODE_ENFORCE && (cfg->flags & IG_CFG_KILL)) {
		bpf_send_signal(SIGKILL);
		count(cnt + 1);
		emit(type, key, IG_VERDICT_KILL, reason, path, NULL);
		return;
	}
	count(cnt + 2);
	emit(type, key, IG_VERDICT_AUDIT, reason, path, NULL);
}

/* What bpf_find_vma found: the mapping's file, checked in the callback. */
struct vma_check {
	struct ig_file_key key;
	__u64 end; /* of the mapping found */
	__u32 reason;
	__u32 found; /* an executable file mapping */
	char name[64];
};

static long vma_cb(struct task_struct *task, struct vm_area_struct *vma, struct vma_check *c)
{
	struct file *file = vma->vm_file;
	const unsigned char *name;

	c->end = vma->vm_end;
	c->found = 0;
	if (!(vma->vm_flags & VM_EXEC))
		return 0;
	if (!file) {
		/* Anonymous executable memory (not the vdso: it has vm_ops): W^X. */
		if (!vma->vm_ops) {
			c->found = 1;
			c->reason = IG_REASON_WX;
			__builtin_memcpy(c->name, "(anonymous)", 12);
		}
		return 0;
	}
	c->found = 1;
	name = BPF_CORE_READ(file, f_path.dentry, d_name.name);
	bpf_probe_read_kernel_str(c->name, sizeof(c->name), name);
	/* Writable and executable, or a private mapping written since (its own pages). */
	if ((vma->vm_flags & VM_WRITE) || vma->anon_vma) {
		file_key(file, &c->key);
		c->reason = IG_REASON_WX;
		return 0;
	}
	c->reason = check_file(file, &c->key, name);
	return 0;
}

/* A range of more mappings than this is refused unchecked. */
#define VMA_CHECK_MAX 32

/*
 * One step of check_vmas: the mapping at addr. Returns 0 (allowed or not a
 * file mapped executable; *next is its end), 1 (refused) or 2 (nothing
 * mapped at addr). Global: verified once, not per loop iteration.
 */
__noinline int ig_vma_step(__u64 addr, __u32 type, __u64 *next)
{
	struct task_struct *t = bpf_get_current_task_btf();
	struct vma_check c = {};

	if (!next)
		return 2;
	if (bpf_find_vma(t, addr, vma_cb, &c, 0))
		return 2;
	*next = c.end;
	if (!c.found)
		return 0;
	if (c.reason == IG_REASON_NONE ||
	    (c.reason == IG_REASON_WX && (task_file_flags(t) & IG_FILE_F_JIT))) {
		count(IG_CNT_MMAP_ALLOWED);
		return 0;
	}
	refuse_traced(type, &c.key, c.reason, c.name, IG_CNT_MMAP_ALLOWED);
	return 1;
}

/*
 * Checks every executable file mapping of the current task in [addr, end):
 * one mprotect may span mappings of several files.
 */
static __always_inline void check_vmas(__u64 addr, __u64 end, __u32 type)
{
	struct ig_file_key none = {};
	__u64 next = 0;
	int i;

	for (i = 0; i < VMA_CHECK_MAX && addr < end; i++) {
		if (ig_vma_step(addr, type, &next) || next <= addr)
			return;
		addr = next;
	}
	if (addr < end)
		refuse_traced(type, &none, IG_REASON_NOT_IN_MANIFEST, "(too many mappings)",
			      IG_CNT_MMAP_ALLOWED);
}

SEC("tp_btf/sched_process_exec")
int BPF_PROG(ig_exec_tp, struct task_struct *p, pid_t old_pid, struct linux_binprm *bprm)
{
	const char *path = BPF_CORE_READ(bprm, filename);
	struct ig_config *cfg = ig_config_get();
	struct ig_file_key key;
	struct pt_regs *regs;
	__u32 reason;

	reason = check_file(bprm->file, &key, path);
	if (reason != IG_REASON_NONE) {
		refuse_traced(IG_EV_EXEC, &key, reason, path, IG_CNT_EXEC_ALLOWED);
		return 0;
	}
	count(IG_CNT_EXEC_ALLOWED);
	if (!cfg || !(cfg->flags & IG_CFG_KILL))
		return 0;
	/*
	 * The ELF interpreter (ld.so) was mapped by the kernel, not by a
	 * syscall: the task starts at its entry point, so the mapping there is
	 * the interpreter (or the program itself when it is static).
	 */
	regs = (struct pt_regs *)bpf_task_pt_regs(p);
	if (regs)
		check_vmas(PT_REGS_IP_CORE(regs), PT_REGS_IP_CORE(regs) + 1, IG_EV_MMAP);
	return 0;
}

/* mmap (and mmap2/mmap_pgoff): what was just mapped, at the address returned. */
SEC("tracepoint/syscalls/sys_exit_mmap")
int ig_mmap_tp(struct sys_exit_ctx *ctx)
{
	__u64 addr = ctx->ret;

	if (ctx->ret < 0 && ctx->ret >= -MAX_ERRNO)
		return 0;
	check_vmas(addr, addr + 1, IG_EV_MMAP);
	return 0;
}

/* mprotect ranges with PROT_EXEC, from entry to exit, per thread. */
struct mprot_range {
	__u64 start;
	__u64 end;
};

struct {
	__uint(type, BPF_MAP_TYPE_LRU_HASH);
	__uint(max_entries, 4096);
	__type(key, __u64);
	__type(value, struct mprot_range);
} ig_mprot_arg SEC(".maps");

/* mprotect and pkey_mprotect: start, len, prot first. */
static __always_inline void mprot_enter(struct sys_enter_ctx *ctx)
{
	__u64 tid = bpf_get_current_pid_tgid();
	struct mprot_range r = { .start = ctx->args[0], .end = ctx->args[0] + ctx->args[1] };

	if (ctx->args[2] & PROT_EXEC)
		bpf_map_update_elem(&ig_mprot_arg, &tid, &r, BPF_ANY);
}

static __always_inline void mprot_exit(struct sys_exit_ctx *ctx)
{
	__u64 tid = bpf_get_current_pid_tgid();
	struct mprot_range *r;

	r = bpf_map_lookup_elem(&ig_mprot_arg, &tid);
	if (!r)
		return;
	if (ctx->ret == 0)
		check_vmas(r->start, r->end, IG_EV_MPROTECT);
	bpf_map_delete_elem(&ig_mprot_arg, &tid);
}

SEC("tracepoint/syscalls/sys_enter_mprotect")
int ig_mprot_in(struct sys_enter_ctx *ctx)
{
	mprot_enter(ctx);
	return 0;
}

SEC("tracepoint/syscalls/sys_exit_mprotect")
int ig_mprot_tp(struct sys_exit_ctx *ctx)
{
	mprot_exit(ctx);
	return 0;
}

/* pkey_mprotect(addr, len, prot, -1) is mprotect by another syscall. */
SEC("tracepoint/syscalls/sys_enter_pkey_mprotect")
int ig_pkey_in(struct sys_enter_ctx *ctx)
{
	mprot_enter(ctx);
	return 0;
}

SEC("tracepoint/syscalls/sys_exit_pkey_mprotect")
int ig_pkey_tp(struct sys_exit_ctx *ctx)
{
	mprot_exit(ctx);
	return 0;
}

/*
 * shmat: the SysV segment just attached, at the address returned. With
 * SHM_EXEC it is an executable mapping of a file no manifest lists (the full
 * tier's mmap_file hook sees it, do_shmat calls it; the mmap tracepoint does
 * not).
 */
SEC("tracepoint/syscalls/sys_exit_shmat")
int ig_shmat_tp(struct sys_exit_ctx *ctx)
{
	__u64 addr = ctx->ret;

	if (ctx->ret < 0 && ctx->ret >= -MAX_ERRNO)
		return 0;
	check_vmas(addr, addr + 1, IG_EV_MMAP);
	return 0;
}

/*
 * --- injection in the kill tier ---
 *
 * Without LSM hooks the syscalls that open the way into another process (or
 * into one's own code) are seen at their tracepoints, and the caller is
 * killed before it returns to user space:
 *  - ptrace(PTRACE_ATTACH / PTRACE_SEIZE) and PTRACE_TRACEME, at entry. The
 *    kernel still completes the attach, but only the attaching thread may
 *    then touch the tracee (ptrace_check_attach wants tracee->parent ==
 *    current) and it dies before its next instruction; the tracee is
 *    detached when its tracer exits. After PTRACE_ATTACH the tracee got
 *    SIGSTOP, which becomes a group stop once the tracer is gone: it stays
 *    stopped, unchanged, until a SIGCONT.
 *  - process_vm_writev, at entry: the pages of the target are pinned with
 *    get_user_pages, which gives up when the caller has a fatal signal
 *    pending, so the copy does not happen (tests/vm/kill.bats checks it).
 *  - open, openat, openat2 and creat, at exit: the file the returned
 *    descriptor refers to, when it is a /proc/PID/mem opened for writing
 *    (any PID, its own included: a write there ignores page protection).
 * Allowed: a caller named allow-ptrace (PTRACE_TRACEME: the parent, which
 * becomes the tracer, as in the full tier); for its own memory (the mem file
 * of its own mm, process_vm_writev of itself) also one named allow-jit.
 * Audit mode and the partial tier (these programs are not loaded there):
 * reported, nothing killed.
 */
#define PTRACE_TRACEME 0
#define PTRACE_ATTACH 16
#define PTRACE_SEIZE 0x4206

/* Kills (kill tier, enforce mode) or reports an injection attempt. */
static __always_inline void kill_inject(__u32 target_pid, const char *what)
{
	struct ig_file_key key = { .ino = target_pid };
	struct ig_config *cfg = ig_config_get();

	if (cfg && cfg->mode == IG_MODE_ENFORCE && (cfg->flags & IG_CFG_KILL)) {
		bpf_send_signal(SIGKILL);
		count(IG_CNT_SELF_DENIED);
		emit(IG_EV_INJECT, &key, IG_VERDICT_KILL, IG_REASON_NOT_TRACER, what, NULL);
		return;
	}
	emit(IG_EV_INJECT, &key, IG_VERDICT_AUDIT, IG_REASON_NOT_TRACER, what, NULL);
}

/* The current process's id in its own pid namespace (what it passes as pid). */
static __always_inline __u32 current_vtgid(struct task_struct *t)
{
	struct pid *p = BPF_CORE_READ(t, group_leader, thread_pid);
	__u32 level = BPF_CORE_READ(p, level);
	struct upid up = {};

	if (level > 32)
		return 0;
	bpf_probe_read_kernel(&up, sizeof(up),
			      (void *)p + bpf_core_field_offset(struct pid, numbers) +
				      level * bpf_core_type_size(struct upid));
	return up.nr;
}

SEC("tracepoint/syscalls/sys_enter_ptrace")
int ig_ptrace_tp(struct sys_enter_ctx *ctx)
{
	struct task_struct *cur = bpf_get_current_task_btf();
	long req = ctx->args[0];
	__u32 pid = ctx->args[1];

	if (req == PTRACE_TRACEME) {
		struct task_struct *parent = BPF_CORE_READ(cur, real_parent);

		if (!(task_file_flags(parent) & IG_FILE_F_PTRACE))
			kill_inject(BPF_CORE_READ(parent, tgid), "ptrace(PTRACE_TRACEME)");
		return 0;
	}
	if (req != PTRACE_ATTACH && req != PTRACE_SEIZE)
		return 0;
	/* The kernel refuses to attach to one's own thread group anyway. */
	if (pid == current_vtgid(cur) || (task_file_flags(cur) & IG_FILE_F_PTRACE))
		return 0;
	kill_inject(pid, req == PTRACE_ATTACH ? "ptrace(PTRACE_ATTACH)" : "ptrace(PTRACE_SEIZE)");
	return 0;
}

SEC("tracepoint/syscalls/sys_enter_process_vm_writev")
int ig_pvm_tp(struct sys_enter_ctx *ctx)
{
	struct task_struct *cur = bpf_get_current_task_btf();
	__u32 pid = ctx->args[0];
	__u32 flags = task_file_flags(cur);

	/* Into itself: page protection holds (no FOLL_FORCE), as for any store. */
	if ((flags & IG_FILE_F_PTRACE) || pid == current_vtgid(cur))
		return 0;
	kill_inject(pid, "process_vm_writev");
	return 0;
}

/*
 * The file behind a descriptor of the current task (fdtable of 6.1 and
 * 6.18 alike). Another thread may close and reuse the number between the
 * open and this look-up: a gap README lists.
 */
static __always_inline struct file *current_fd_file(long fd)
{
	struct task_struct *cur = bpf_get_current_task_btf();
	struct fdtable *fdt = BPF_CORE_READ(cur, files, fdt);
	struct file **fds = BPF_CORE_READ(fdt, fd);
	struct file *f = NULL;

	if (fd < 0 || fd >= BPF_CORE_READ(fdt, max_fds))
		return NULL;
	bpf_probe_read_kernel(&f, sizeof(f), &fds[fd]);
	return f;
}

/*
 * A /proc/PID/mem (or /proc/PID/task/TID/mem) opened for writing. Judged on
 * the open file, not the path the caller passed: a procfs inode of a
 * process's directory (proc_inode.pid set, no proc_dir_entry, which
 * /proc/net and other registered entries have) named "mem". Comparing f_op
 * with proc_mem_operations would need that static variable's address:
 * kallsyms lists it only with CONFIG_KALLSYMS_ALL (not set on 6.18 here,
 * nor on many device kernels) and BTF has no static variables.
 */
static __always_inline void check_mem_open(struct sys_exit_ctx *ctx)
{
	struct task_struct *cur;
	char n[4] = {};
	struct proc_inode *pi;
	struct inode *inode;
	struct file *file;
	__u32 flags;

	if (ctx->ret < 0)
		return;
	file = current_fd_file(ctx->ret);
	if (!file)
		return;
	inode = BPF_CORE_READ(file, f_inode);
	/* Every open comes here: leave anything not on procfs at once. */
	if (BPF_CORE_READ(inode, i_sb, s_magic) != PROC_SUPER_MAGIC ||
	    !(BPF_CORE_READ(file, f_mode) & FMODE_WRITE))
		return;
	bpf_probe_read_kernel_str(n, sizeof(n), BPF_CORE_READ(file, f_path.dentry, d_name.name));
	if (n[0] != 'm' || n[1] != 'e' || n[2] != 'm' || n[3])
		return;
	pi = (void *)inode - bpf_core_field_offset(struct proc_inode, vfs_inode);
	if (!BPF_CORE_READ(pi, pid) || BPF_CORE_READ(pi, pde))
		return;
	cur = bpf_get_current_task_btf();
	flags = task_file_flags(cur);
	if ((flags & IG_FILE_F_PTRACE) ||
	    ((flags & IG_FILE_F_JIT) && BPF_CORE_READ(file, private_data) == (void *)cur->mm))
		return;
	kill_inject(BPF_CORE_READ(pi, pid, numbers[0].nr), "/proc/PID/mem");
}

SEC("tracepoint/syscalls/sys_exit_openat")
int ig_openat_tp(struct sys_exit_ctx *ctx)
{
	check_mem_open(ctx);
	return 0;
}

SEC("tracepoint/syscalls/sys_exit_openat2")
int ig_openat2_tp(struct sys_exit_ctx *ctx)
{
	check_mem_open(ctx);
	return 0;
}

/* open and creat: not on every architecture (arm64 has neither); optional. */
SEC("tracepoint/syscalls/sys_exit_open")
int ig_open_tp(struct sys_exit_ctx *ctx)
{
	check_mem_open(ctx);
	return 0;
}

SEC("tracepoint/syscalls/sys_exit_creat")
int ig_creat_tp(struct sys_exit_ctx *ctx)
{
	check_mem_open(ctx);
	return 0;
}

/*
 * One program per hook where two checks share it: a second program costs a
 * trampoline update when it is attached and a program entry at every call of
 * the hook (inode_permission: at every component of every path walk). The
 * checks run in the order the two programs did; the first refusal wins.
 */
SEC("lsm/file_open")
int BPF_PROG(ig_file_open, struct file *file)
{
	int ret = open_guard(file);

	return ret ? ret : prot_open(file);
}

SEC("lsm/file_permission")
int BPF_PROG(ig_file_perm, struct file *file, int mask)
{
	int ret = perm_guard(file, mask);

	return ret ? ret : self_write(file, mask);
}

SEC("lsm/inode_permission")
int BPF_PROG(ig_inode_perm, struct inode *inode, int mask)
{
	int ret = inode_pins(inode, mask);

	return ret ? ret : prot_perm(inode, mask);
}

SEC("lsm/sb_mount")
int BPF_PROG(ig_mount, const char *dev_name, const struct path *path, const char *type,
	     unsigned long flags, void *data)
{
	int ret = mount_pins(dev_name, path, flags);

	return ret ? ret : prot_mount(path);
}
