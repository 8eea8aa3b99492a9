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
 *  - file_open for write, path_truncate, file_permission(MAY_WRITE): a
 *    write to an allowlisted file is refused (protect) or first removes the
 *    file's entry, so changed bytes never run as trusted.
 * Kill tier (no BPF LSM, tracing programs load): sched_process_exec checks
 * the new image and its ELF interpreter, the mmap and mprotect syscall-exit
 * tracepoints check what was just mapped executable; a refusal in enforce
 * mode is a SIGKILL of the process, which it meets on its way back to user
 * space, before an instruction of the refused code runs (IG_CFG_KILL).
 * Partial tier (the syscall tracepoints missing too): sched_process_exec sees
 * every successful exec, counts and reports it, but cannot deny.
 */
#include "vmlinux.h"
#include <bpf/bpf_helpers.h>
#include <bpf/bpf_tracing.h>
#include <bpf/bpf_core_read.h>
#include "iotgate.h"
#include "inode_ctime.bpf.h"

#define EPERM 1
#define PROT_WRITE 0x2
#define PROT_EXEC 0x4
#define PTRACE_MODE_ATTACH 0x02
#define VM_WRITE 0x2
#define VM_EXEC 0x4
#define FMODE_WRITE 0x2
#define MAY_WRITE 0x2
#define SB_KERNMOUNT (1 << 22)
#define S_IFMT 00170000
#define S_IFREG 0100000
#define BPF_FS_MAGIC 0xcafe4a11
#define SIGKILL 9

char LICENSE[] SEC("license") = "GPL";

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

struct {
	__uint(type, BPF_MAP_TYPE_HASH);
	__uint(max_entries, 64);
	__type(key, struct ig_memfd_key);
	__type(value, __u32);
} ig_memfd SEC(".maps");

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

/* Keeps the full key/value types in BTF (they are otherwise only forward-declared). */
const volatile struct ig_file_key ig_btf_key;
const volatile struct ig_file_val ig_btf_val;

static __always_inline void count(__u32 idx)
{
	__u64 *v = bpf_map_lookup_elem(&ig_counters, &idx);

	if (v)
		*v += 1;
}

static __always_inline struct ig_config *ig_config_get(void)
{
	__u32 zero = 0;

	return bpf_map_lookup_elem(&ig_cfg, &zero);
}

static __always_inline __u32 current_mode(void)
{
	struct ig_config *cfg = ig_config_get();

	/* No configuration yet means the daemon has not finished loading: audit. */
	return cfg ? cfg->mode : IG_MODE_AUDIT;
}

static __always_inline void file_key(struct file *file, struct ig_file_key *key)
{
	struct inode *inode = BPF_CORE_READ(file, f_inode);

	key->dev = BPF_CORE_READ(inode, i_sb, s_dev);
	key->ino = BPF_CORE_READ(inode, i_ino);
}

static __always_inline void *manifest(void)
{
	struct ig_config *cfg = ig_config_get();
	__u32 slot = cfg ? cfg->slot & 1 : 0;

	return bpf_map_lookup_elem(&ig_manifest, &slot);
}

/* A memfd (internal shm mount, "memfd:NAME") that the policy allows by name. */
static __always_inline bool memfd_allowed(struct file *file)
{
	struct ig_memfd_key mk = {};
	const unsigned char *name;
	char prefix[6];

	if (!(BPF_CORE_READ(file, f_inode, i_sb, s_flags) & SB_KERNMOUNT))
		return false;
	name = BPF_CORE_READ(file, f_path.dentry, d_name.name);
	if (bpf_probe_read_kernel(prefix, sizeof(prefix), name) < 0 || prefix[0] != 'm' ||
	    prefix[1] != 'e' || prefix[2] != 'm' || prefix[3] != 'f' || prefix[4] != 'd' ||
	    prefix[5] != ':')
		return false;
	if (bpf_probe_read_kernel_str(mk.name, sizeof(mk.name), name + 6) <= 0)
		return false;
	return bpf_map_lookup_elem(&ig_memfd, &mk) != NULL;
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
	struct inode *inode = BPF_CORE_READ(file, f_inode);
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
	ig_inode_ctime(inode, &sec, &nsec);
	if (val->ctime_sec != sec || val->ctime_nsec != nsec)
		return IG_REASON_MODIFIED;
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
	ig_inode_ctime(BPF_CORE_READ(exe, f_inode), &sec, &nsec);
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

SEC("lsm/mmap_file")
int BPF_PROG(ig_mmap_file, struct file *file, unsigned long reqprot, unsigned long prot,
	     unsigned long flags)
{
	if (!(prot & PROT_EXEC))
		return 0;
	/* Anonymous executable memory, or a mapping writable and executable at once. */
	if (!file || (prot & PROT_WRITE))
		return refuse_wx(IG_EV_MMAP, file);
	return decide(file, IG_EV_MMAP, IG_CNT_MMAP_ALLOWED,
		      BPF_CORE_READ(file, f_path.dentry, d_name.name));
}

SEC("lsm/file_mprotect")
int BPF_PROG(ig_mprotect, struct vm_area_struct *vma, unsigned long reqprot, unsigned long prot)
{
	struct file *file = BPF_CORE_READ(vma, vm_file);

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
	return decide(file, IG_EV_MPROTECT, IG_CNT_MMAP_ALLOWED,
		      BPF_CORE_READ(file, f_path.dentry, d_name.name));
}

/*
 * A write is about to be allowed to an inode: if it is a manifest entry,
 * refuse (protect) or delete the entry first so the new bytes are never
 * trusted. Returns 0 or -EPERM.
 */
static __always_inline int guard_write(struct inode *inode, struct dentry *dentry)
{
	struct ig_file_key key;
	struct ig_config *cfg;
	void *files;

	if ((BPF_CORE_READ(inode, i_mode) & S_IFMT) != S_IFREG)
		return 0;
	files = manifest();
	if (!files)
		return 0;
	key.dev = BPF_CORE_READ(inode, i_sb, s_dev);
	key.ino = BPF_CORE_READ(inode, i_ino);
	if (!bpf_map_lookup_elem(files, &key))
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

SEC("lsm/file_open")
int BPF_PROG(ig_file_open, struct file *file)
{
	if (!(BPF_CORE_READ(file, f_mode) & FMODE_WRITE))
		return 0;
	return guard_write(BPF_CORE_READ(file, f_inode), BPF_CORE_READ(file, f_path.dentry));
}

SEC("lsm/file_permission")
int BPF_PROG(ig_file_perm, struct file *file, int mask)
{
	/* Writes through descriptors opened before the policy was loaded. */
	if (!(mask & MAY_WRITE))
		return 0;
	return guard_write(BPF_CORE_READ(file, f_inode), BPF_CORE_READ(file, f_path.dentry));
}

SEC("lsm/path_truncate")
int BPF_PROG(ig_truncate, const struct path *path)
{
	struct dentry *dentry = BPF_CORE_READ(path, dentry);

	return guard_write(BPF_CORE_READ(dentry, d_inode), dentry);
}

/* --- self-protection (IG_CFG_SELF_PROTECT) --- */

static __always_inline bool self_protect(void)
{
	struct ig_config *cfg = ig_config_get();

	return cfg && cfg->mode == IG_MODE_ENFORCE && (cfg->flags & IG_CFG_SELF_PROTECT);
}

/* Does the task run the daemon's executable (a manifest entry marked daemon)? */
static __always_inline bool runs_daemon(struct task_struct *task)
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

SEC("lsm/inode_permission")
int BPF_PROG(ig_inode_perm, struct inode *inode, int mask)
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

	if (!self_protect() || !ours(BPF_CORE_READ(prog, aux, name)) ||
	    runs_daemon(bpf_get_current_task_btf()))
		return 0;
	return refuse_self(IG_REASON_BPF_OBJ, &key, BPF_CORE_READ(prog, aux, name));
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
	emit(IG_EV_INJECT, &key, IG_VERDICT_DENY, IG_REASON_NOT_TRACER,
	     BPF_CORE_READ(target, comm), NULL);
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

/* Syscall tracepoints: the common header, then the syscall number, then the arguments. */
struct sys_enter_ctx {
	__u64 common;
	__s64 nr;
	__u64 args[6];
};

struct sys_exit_ctx {
	__u64 common;
	__s64 nr;
	__s64 ret;
};

#define MAX_ERRNO 4095

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
SEC("tracepoint/syscalls/sys_enter_mprotect")
int ig_mprot_in(struct sys_enter_ctx *ctx)
{
	__u64 tid = bpf_get_current_pid_tgid();
	struct mprot_range r = { .start = ctx->args[0], .end = ctx->args[0] + ctx->args[1] };

	if (ctx->args[2] & PROT_EXEC)
		bpf_map_update_elem(&ig_mprot_arg, &tid, &r, BPF_ANY);
	return 0;
}

SEC("tracepoint/syscalls/sys_exit_mprotect")
int ig_mprot_tp(struct sys_exit_ctx *ctx)
{
	__u64 tid = bpf_get_current_pid_tgid();
	struct mprot_range *r;

	r = bpf_map_lookup_elem(&ig_mprot_arg, &tid);
	if (!r)
		return 0;
	if (ctx->ret == 0)
		check_vmas(r->start, r->end, IG_EV_MPROTECT);
	bpf_map_delete_elem(&ig_mprot_arg, &tid);
	return 0;
}
