// SPDX-License-Identifier: GPL-2.0-only
/*
 * Programs that decide nothing, on the hooks measured execution uses in the
 * full tier: bench/exec.sh attaches them (with bench/progs) in place of
 * iotgate to measure what any program there costs on this kernel, the floor
 * that tells the machine's noise from iotgate's overhead.
 */
#include "vmlinux.h"
#include <bpf/bpf_helpers.h>

char LICENSE[] SEC("license") = "GPL";

/* one program that allows, per hook */
#define NOTHING(sec, name)                         \
	SEC(sec) int name(unsigned long long *ctx) \
	{                                          \
		return 0;                          \
	}

NOTHING("lsm/bprm_check_security", ig_xf_bprm)
NOTHING("lsm/mmap_file", ig_xf_mmap)
NOTHING("lsm/file_mprotect", ig_xf_mprotect)
NOTHING("lsm/file_open", ig_xf_open)
NOTHING("lsm/file_permission", ig_xf_perm)
NOTHING("lsm/inode_permission", ig_xf_iperm)
NOTHING("tp_btf/sched_process_exec", ig_xf_exec)
