// SPDX-License-Identifier: GPL-2.0-only
/*
 * Measured execution: allow an exec only if the file's identity is in the
 * manifest map the daemon filled after verifying each file's SHA-256.
 *
 * Full tier: ig_bprm_check on the bprm_check_security LSM hook decides.
 * The hook runs once per binfmt stage, so for a #! script it sees the
 * script and then the interpreter.
 * Partial tier (no BPF LSM): ig_exec_tp on the sched_process_exec
 * tracepoint sees every successful exec, counts it and reports files outside
 * the manifest, but cannot deny.
 */
#include "vmlinux.h"
#include <bpf/bpf_helpers.h>
#include <bpf/bpf_tracing.h>
#include <bpf/bpf_core_read.h>
#include "iotgate.h"

#define EPERM 1

char LICENSE[] SEC("license") = "GPL";

/*
 * The manifest is a hash map held in slot 0 of an outer map, so the daemon
 * swaps a complete new manifest in with one update (since 5.10 an inner
 * hash map may have any max_entries). An empty slot fails closed.
 */
struct ig_files_map {
	__uint(type, BPF_MAP_TYPE_HASH);
	__uint(max_entries, 1);
	__type(key, struct ig_file_key);
	__type(value, struct ig_file_val);
};

struct {
	__uint(type, BPF_MAP_TYPE_ARRAY_OF_MAPS);
	__uint(max_entries, 1);
	__type(key, __u32);
	__array(values, struct ig_files_map);
} ig_manifest SEC(".maps");

/* Keeps the full key/value types in BTF (they are otherwise only forward-declared). */
const volatile struct ig_file_key ig_btf_key;
const volatile struct ig_file_val ig_btf_val;

struct {
	__uint(type, BPF_MAP_TYPE_ARRAY);
	__uint(max_entries, 1);
	__type(key, __u32);
	__type(value, struct ig_config);
} ig_cfg SEC(".maps");

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

/*
 * inode ctime moved twice upstream; CO-RE picks the layout of the running
 * kernel whatever vmlinux.h the object was built against.
 */
struct inode___v61 {
	struct timespec64 i_ctime;
} __attribute__((preserve_access_index));

struct inode___v66 {
	struct timespec64 __i_ctime;
} __attribute__((preserve_access_index));

struct inode___v611 {
	time64_t i_ctime_sec;
	__u32 i_ctime_nsec;
} __attribute__((preserve_access_index));

static __always_inline void inode_ctime(struct inode *inode, __s64 *sec, __u32 *nsec)
{
	struct inode___v611 *i611 = (void *)inode;
	struct inode___v66 *i66 = (void *)inode;
	struct inode___v61 *i61 = (void *)inode;

	if (bpf_core_field_exists(i611->i_ctime_sec)) {
		*sec = BPF_CORE_READ(i611, i_ctime_sec);
		/* Since 6.13 bit 31 is the multigrain I_CTIME_QUERIED flag, not time. */
		*nsec = BPF_CORE_READ(i611, i_ctime_nsec) & 0x3fffffff;
	} else if (bpf_core_field_exists(i66->__i_ctime)) {
		*sec = BPF_CORE_READ(i66, __i_ctime.tv_sec);
		*nsec = BPF_CORE_READ(i66, __i_ctime.tv_nsec);
	} else {
		*sec = BPF_CORE_READ(i61, i_ctime.tv_sec);
		*nsec = BPF_CORE_READ(i61, i_ctime.tv_nsec);
	}
}

static __always_inline void count(__u32 idx)
{
	__u64 *v = bpf_map_lookup_elem(&ig_counters, &idx);

	if (v)
		*v += 1;
}

static __always_inline __u32 current_mode(void)
{
	__u32 zero = 0;
	struct ig_config *cfg = bpf_map_lookup_elem(&ig_cfg, &zero);

	/* No configuration yet means the daemon has not finished loading: audit. */
	return cfg ? cfg->mode : IG_MODE_AUDIT;
}

/* Returns IG_REASON_NONE if the file is a measured, unchanged manifest entry. */
static __always_inline __u32 check_file(struct file *file, struct ig_file_key *key)
{
	struct inode *inode = BPF_CORE_READ(file, f_inode);
	struct ig_file_val *val;
	__u32 zero = 0;
	__s64 sec;
	__u32 nsec;
	void *files;

	key->dev = BPF_CORE_READ(inode, i_sb, s_dev);
	key->ino = BPF_CORE_READ(inode, i_ino);

	files = bpf_map_lookup_elem(&ig_manifest, &zero);
	if (!files)
		return IG_REASON_NO_MANIFEST;
	val = bpf_map_lookup_elem(files, key);
	if (!val)
		return IG_REASON_NOT_IN_MANIFEST;
	inode_ctime(inode, &sec, &nsec);
	if (val->ctime_sec != sec || val->ctime_nsec != nsec)
		return IG_REASON_MODIFIED;
	return IG_REASON_NONE;
}

static __always_inline void emit(struct ig_file_key *key, __u32 verdict, __u32 reason,
				 const char *path)
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
	e->type = IG_EV_EXEC;
	e->verdict = verdict;
	e->reason = reason;
	e->pid = bpf_get_current_pid_tgid() >> 32;
	e->uid = (__u32)ugid;
	e->gid = ugid >> 32;
	bpf_get_current_comm(e->comm, sizeof(e->comm));
	if (bpf_probe_read_kernel_str(e->path, sizeof(e->path), path) < 0)
		e->path[0] = '\0';
	bpf_ringbuf_submit(e, 0);
}

SEC("lsm/bprm_check_security")
int BPF_PROG(ig_bprm_check, struct linux_binprm *bprm)
{
	struct ig_file_key key;
	__u32 reason;

	reason = check_file(bprm->file, &key);
	if (reason == IG_REASON_NONE) {
		count(IG_CNT_EXEC_ALLOWED);
		return 0;
	}
	if (current_mode() == IG_MODE_ENFORCE) {
		count(IG_CNT_EXEC_DENIED);
		emit(&key, IG_VERDICT_DENY, reason, BPF_CORE_READ(bprm, interp));
		return -EPERM;
	}
	count(IG_CNT_EXEC_AUDITED);
	emit(&key, IG_VERDICT_AUDIT, reason, BPF_CORE_READ(bprm, interp));
	return 0;
}

SEC("tp_btf/sched_process_exec")
int BPF_PROG(ig_exec_tp, struct task_struct *p, pid_t old_pid, struct linux_binprm *bprm)
{
	struct ig_file_key key;
	__u32 reason;

	reason = check_file(bprm->file, &key);
	if (reason == IG_REASON_NONE) {
		count(IG_CNT_EXEC_ALLOWED);
		return 0;
	}
	count(IG_CNT_EXEC_AUDITED);
	emit(&key, IG_VERDICT_AUDIT, reason, BPF_CORE_READ(bprm, filename));
	return 0;
}
