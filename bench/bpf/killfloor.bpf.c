// SPDX-License-Identifier: GPL-2.0-only
/*
 * Programs that decide nothing, on the hooks measured execution uses in the
 * kill tier (tracing only: kernels that refuse BPF LSM load these):
 * bench/exec.sh --kill attaches them in place of iotgate to measure what any
 * program there costs, the floor that tells the machine's noise from
 * iotgate's overhead.
 */
#include "vmlinux.h"
#include <bpf/bpf_helpers.h>

char LICENSE[] SEC("license") = "GPL";

SEC("tp_btf/sched_process_exec")
int ig_kf_exec(unsigned long long *ctx)
{
	return 0;
}

SEC("tracepoint/syscalls/sys_exit_mmap")
int ig_kf_mmap(void *ctx)
{
	return 0;
}

SEC("tracepoint/syscalls/sys_enter_mprotect")
int ig_kf_mprot_in(void *ctx)
{
	return 0;
}

SEC("tracepoint/syscalls/sys_exit_mprotect")
int ig_kf_mprot(void *ctx)
{
	return 0;
}

/* ld.so opens each library: the injection guard looks at every open's result */
SEC("tracepoint/syscalls/sys_exit_openat")
int ig_kf_openat(void *ctx)
{
	return 0;
}
