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

SEC("lsm/bprm_check_security")
int ig_xf_bprm(unsigned long long *ctx)
{
	return 0;
}

SEC("lsm/mmap_file")
int ig_xf_mmap(unsigned long long *ctx)
{
	return 0;
}

SEC("lsm/file_mprotect")
int ig_xf_mprotect(unsigned long long *ctx)
{
	return 0;
}

SEC("lsm/file_open")
int ig_xf_open(unsigned long long *ctx)
{
	return 0;
}

SEC("lsm/file_permission")
int ig_xf_perm(unsigned long long *ctx)
{
	return 0;
}

SEC("lsm/inode_permission")
int ig_xf_iperm(unsigned long long *ctx)
{
	return 0;
}

SEC("tp_btf/sched_process_exec")
int ig_xf_exec(unsigned long long *ctx)
{
	return 0;
}
