// SPDX-License-Identifier: GPL-2.0-only
/*
 * The least a per-socket label can cost: bench/net.sh attaches these in
 * place of iotgate to measure what tying each socket to its creator costs on
 * this kernel by itself. A label the size of iotgate's is allocated in
 * socket storage when a socket is created (freed by the kernel when it
 * closes) and looked up for every packet; nothing is decided.
 */
#include "vmlinux.h"
#include <bpf/bpf_helpers.h>

char LICENSE[] SEC("license") = "GPL";

struct ig_lb_label {
	__u64 words[20]; /* 160 bytes, as bpf/ifaces.bpf.c's struct label */
};

struct {
	__uint(type, BPF_MAP_TYPE_SK_STORAGE);
	__uint(map_flags, BPF_F_NO_PREALLOC);
	__type(key, int);
	__type(value, struct ig_lb_label);
} ig_lb_label SEC(".maps");

static __always_inline int touch(struct __sk_buff *skb, int word)
{
	struct bpf_sock *sk = skb->sk;
	struct ig_lb_label *l;

	if (!sk)
		return 1;
	l = bpf_sk_storage_get(&ig_lb_label, sk, 0, 0);
	if (l)
		l->words[word]++;
	return 1;
}

SEC("cgroup_skb/egress")
int ig_lb_egress(struct __sk_buff *skb)
{
	return touch(skb, 0);
}

SEC("cgroup_skb/ingress")
int ig_lb_ingress(struct __sk_buff *skb)
{
	return touch(skb, 1);
}

SEC("cgroup/sock_create")
int ig_lb_sock(struct bpf_sock *sk)
{
	struct ig_lb_label *l;

	l = bpf_sk_storage_get(&ig_lb_label, sk, 0, BPF_SK_STORAGE_GET_F_CREATE);
	if (!l)
		return 0;
	l->words[2] = bpf_get_current_uid_gid();
	return 1;
}
