/* SPDX-License-Identifier: GPL-2.0-only */
/*
 * An inode's change time, for every kernel iotgate supports: the field moved
 * twice upstream (i_ctime until 6.5, __i_ctime in 6.6-6.10, i_ctime_sec and
 * i_ctime_nsec since 6.11), and since 6.13 bit 31 of i_ctime_nsec is the
 * multigrain I_CTIME_QUERIED flag, not time. CO-RE picks the layout of the
 * running kernel whatever vmlinux.h the object was built against.
 */
#ifndef IG_INODE_CTIME_BPF_H
#define IG_INODE_CTIME_BPF_H

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

#define IG_CTIME_NSEC_MASK 0x3fffffff

/* Any inode pointer: reads through bpf_probe_read_kernel. */
static __always_inline void ig_inode_ctime(struct inode *inode, __s64 *sec, __u32 *nsec)
{
	struct inode___v611 *i611 = (void *)inode;
	struct inode___v66 *i66 = (void *)inode;
	struct inode___v61 *i61 = (void *)inode;

	if (bpf_core_field_exists(i611->i_ctime_sec)) {
		*sec = BPF_CORE_READ(i611, i_ctime_sec);
		*nsec = BPF_CORE_READ(i611, i_ctime_nsec) & IG_CTIME_NSEC_MASK;
	} else if (bpf_core_field_exists(i66->__i_ctime)) {
		*sec = BPF_CORE_READ(i66, __i_ctime.tv_sec);
		*nsec = BPF_CORE_READ(i66, __i_ctime.tv_nsec);
	} else {
		*sec = BPF_CORE_READ(i61, i_ctime.tv_sec);
		*nsec = BPF_CORE_READ(i61, i_ctime.tv_nsec);
	}
}

/* A trusted BTF inode pointer (hook argument): direct loads, cheaper on hot paths. */
static __always_inline void ig_inode_ctime_btf(struct inode *inode, __s64 *sec, __u32 *nsec)
{
	struct inode___v611 *i611 = (void *)inode;
	struct inode___v66 *i66 = (void *)inode;
	struct inode___v61 *i61 = (void *)inode;

	if (bpf_core_field_exists(i611->i_ctime_sec)) {
		*sec = i611->i_ctime_sec;
		*nsec = i611->i_ctime_nsec & IG_CTIME_NSEC_MASK;
	} else if (bpf_core_field_exists(i66->__i_ctime)) {
		*sec = i66->__i_ctime.tv_sec;
		*nsec = i66->__i_ctime.tv_nsec;
	} else {
		*sec = i61->i_ctime.tv_sec;
		*nsec = i61->i_ctime.tv_nsec;
	}
}

#endif
