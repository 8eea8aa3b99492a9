// SPDX-License-Identifier: GPL-2.0-only
/*
 * Programs that decide nothing, on the hooks the interface and device rules
 * use: bench/net.sh attaches them in place of iotgate to measure what any
 * program on these hooks costs on this kernel (the floor under its ratios).
 */
#include "vmlinux.h"
#include <bpf/bpf_helpers.h>

char LICENSE[] SEC("license") = "GPL";

SEC("cgroup_skb/egress")
int ig_fl_egress(struct __sk_buff *skb)
{
	return 1;
}

SEC("cgroup_skb/ingress")
int ig_fl_ingress(struct __sk_buff *skb)
{
	return 1;
}

SEC("cgroup/sock_create")
int ig_fl_sock(struct bpf_sock *sk)
{
	return 1;
}

SEC("cgroup/dev")
int ig_fl_dev(struct bpf_cgroup_dev_ctx *ctx)
{
	return 1;
}
