/* SPDX-License-Identifier: GPL-2.0-only */
/*
 * What every iotgate BPF object includes: the kernel's types (CO-RE
 * vmlinux.h), libbpf's helper headers, the ABI shared with userspace, and
 * the kernel constants BTF does not carry (macros, not types), each defined
 * once here so the objects agree on them.
 */
#ifndef IG_COMMON_BPF_H
#define IG_COMMON_BPF_H

#include "vmlinux.h"
#include <bpf/bpf_helpers.h>
#include <bpf/bpf_tracing.h>
#include <bpf/bpf_core_read.h>
#include "iotgate.h"
#include "inode_ctime.bpf.h"

/* errno values returned by LSM programs and kfuncs */
#define EPERM 1
#define EINVAL 22
#define EFBIG 27
#define EPROTO 71
#define MAX_ERRNO 4095

/* inode modes */
#define S_IFMT 00170000
#define S_IFSOCK 0140000
#define S_IFREG 0100000

/* mmap and mprotect */
#define PROT_WRITE 0x2
#define PROT_EXEC 0x4

#define SIGKILL 9

/*
 * Syscall tracepoints (tracepoint/syscalls/sys_{enter,exit}_*): the common
 * trace header, then the syscall number, then the arguments or the return
 * value, each widened to 64 bits.
 */
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

#endif
