// SPDX-License-Identifier: GPL-2.0-only
/*
 * Interface and device access control per measured program.
 *
 * A subject is the task's executable (superblock dev + inode, as in the
 * manifest, with its ctime so that a modified file loses its allow rules),
 * its effective uid and gid. The daemon compiles the policy into rule sets
 * (bpf/iotgate.h) and keeps the map of the governed namespace's interfaces
 * current from rtnetlink.
 *
 * IP (both tiers): every socket gets a label in socket local storage when it
 * is created (ig_sock_create) naming its subject; the iterators ig_sk_owners,
 * ig_sk_tcp and ig_sk_udp label the sockets that existed before the rules
 * were loaded. Every packet
 * is checked at the real egress and ingress interface (ig_skb_egress,
 * ig_skb_ingress) against the label, with the verdict cached per socket until
 * the rules, the interface or the ports change. Accepted TCP connections
 * inherit the listener's label (BPF_F_CLONE). A socket without a label is
 * the kernel's own (TCP resets, ICMP replies) and is not a program's.
 *
 * Full tier (BPF LSM): whoever uses a socket (send, receive, connect, bind,
 * accept) becomes its subject, so a socket handed over with SCM_RIGHTS does
 * not carry the sender's rights; CAN and packet sockets are checked on the
 * interface index at bind, connect, send and receive (index 0, "every
 * interface", only for a subject allowed on every interface of the kind).
 *
 * Device nodes (both tiers): the cgroup device program on the cgroup v2 root
 * sees every open of a device node by major:minor in the opener's context,
 * so it decides per program as well; unlike an LSM file_open program it
 * costs nothing on the opens of other files.
 */
#include "common.bpf.h"
#include <bpf/bpf_endian.h>

#define AF_INET 2
#define AF_INET6 10
#define AF_PACKET 17
#define AF_CAN 29
#define SOCK_STREAM 1
#define SOCK_DGRAM 2
#define SOCK_RAW 3
#define SOCK_PACKET 10
#define ETH_P_IP 0x0800
#define DEVCG_DEV_BLOCK 1
#define DEVCG_DEV_CHAR 2
#define DEVCG_ACC_READ 2
#define DEVCG_ACC_WRITE 4
#define IP_OFFSET_MASK 0x1fff
#define IPPROTO_ICMPV6 58

char LICENSE[] SEC("license") = "GPL";

/* The subject a socket acts for. */
struct subj {
	__u64 dev;
	__u64 ino;
	__s64 csec;
	__u32 cnsec;
	__u32 uid;
	__u32 gid;
	__u32 known; /* the executable is known (dev/ino/ctime valid) */
};

#define LF_FLOW_OUT IG_DIR_OUT /* flow opened by the subject */
#define LF_FLOW_IN IG_DIR_IN /* flow opened by the peer */
#define LF_FLOWS (LF_FLOW_OUT | LF_FLOW_IN)

/*
 * The last verdict per direction of a socket (label.vc) is one word:
 * vc_digest() of the question (interface, ports), of the subject's version
 * and of the rules it was answered under, with the answer in bit 0, stored
 * and read in one instruction. Threads on several CPUs may send on one
 * socket at once (a UDP socket to different ports), and on a fully
 * preemptible kernel (PREEMPT_RT) a program may be preempted between its
 * answer and its store while the rules change: a word names the rules it
 * was answered under, so a late store of an answer to older rules is never
 * taken for one to the rules in force, and every socket's next packet
 * after a change is judged afresh.
 */
struct label {
	__u64 netns; /* network namespace cookie at creation */
	struct subj s;
	__u32 flags; /* LF_* */
	__u32 protos; /* IG_P_* class of the socket */
	__u32 family;
	__u32 bound_ifindex; /* CAN/packet: from bind/connect, 0 = every interface */
	__u64 vc[2]; /* verdict cache, 0: egress, 1: ingress: vc_digest() | allowed, 0: empty */
	__u64 sgen; /* moves when the subject changes (note_user): a cached verdict is its subject's */
	__u64 pad; /* the label's layout of ABI 2 (pinned maps are re-used) */
	__u64 ev_epoch[2]; /* epoch+1 of the last event per direction */
	__u64 user_task, user_start, user_mm, user_cred; /* full tier: who last used it */
	char comm[IG_COMM_LEN];
};

struct {
	__uint(type, BPF_MAP_TYPE_SK_STORAGE);
	__uint(map_flags, BPF_F_NO_PREALLOC | BPF_F_CLONE);
	__type(key, int);
	__type(value, struct label);
} ig_sk_label SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_HASH);
	__uint(map_flags, BPF_F_NO_PREALLOC);
	__uint(max_entries, 16384);
	__type(key, struct ig_rule_key);
	__type(value, struct ig_rule_set);
} ig_rules SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_HASH);
	__uint(map_flags, BPF_F_NO_PREALLOC);
	__uint(max_entries, 2048);
	__type(key, struct ig_if_key);
	__type(value, struct ig_if_val);
} ig_ifaces SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_HASH);
	__uint(map_flags, BPF_F_NO_PREALLOC);
	__uint(max_entries, 8192);
	__type(key, struct ig_dev_key);
	__type(value, struct ig_dev_val);
} ig_devs SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_ARRAY);
	__uint(max_entries, 1);
	__type(key, __u32);
	__type(value, struct ig_net_config);
} ig_net_cfg SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_PERCPU_ARRAY);
	__uint(max_entries, IG_NCNT_MAX);
	__type(key, __u32);
	__type(value, __u64);
} ig_net_cnt SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_PERCPU_HASH);
	__uint(max_entries, IG_IF_CNT_MAX);
	__type(key, struct ig_if_key);
	__type(value, struct ig_dec_cnt);
} ig_if_cnt SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_PERCPU_ARRAY);
	__uint(max_entries, IG_IF_SLOTS);
	__type(key, __u32);
	__type(value, struct ig_if_slot);
} ig_if_cnts SEC(".maps");

/*
 * Decisions per device number: ig_dev_slot gives each device its slot in
 * ig_dev_cnts at its first decision (iotgate.h). The device cache keeps the
 * slot with its answer, so an open it answers is counted by an array index,
 * not a hash lookup.
 */
struct {
	__uint(type, BPF_MAP_TYPE_HASH);
	__uint(max_entries, IG_DEV_CNT_MAX + 1);
	__type(key, struct ig_dev_key);
	__type(value, __u64);
} ig_dev_slot SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_PERCPU_ARRAY);
	__uint(max_entries, IG_DEV_CNT_MAX);
	__type(key, __u32);
	__type(value, struct ig_dec_cnt);
} ig_dev_cnts SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_RINGBUF);
	__uint(max_entries, 256 * 1024);
} ig_net_ev SEC(".maps");

/*
 * Last allowed device decision per CPU: the same task (same address space
 * and credentials) opening the same device the same way under the same
 * rules gets the same answer without the lookups. Only allowed answers are
 * reused, so every refusal is counted and reported.
 *
 * The entry is one word: a 64-bit digest of the question (thread, its start
 * time and exec count, effective ids, rules epoch, device and access), bit 0 telling
 * whether the device is gated. It is stored and read in one instruction.
 * On a fully preemptible kernel (PREEMPT_RT) a program can be preempted
 * half way and another task on the same CPU use the same entry; with the
 * question written field by field, one task's identity could have been
 * paired with another's answer. A question now matches only its own
 * digest: a different question hits with probability about 2^-63, and
 * to aim at one a task would have to choose its own start time to the
 * nanosecond.
 *
 * The entry also keeps the device's counter slot, written before the word
 * and part of the digest: a slot that does not belong to the word (another
 * task's, written in between) makes the question miss, never count on
 * another device.
 */
struct devcache {
	__u64 word; /* dc_digest() | gated, 0: empty */
	__u32 slot; /* the device's slot in ig_dev_cnts, IG_DEV_SLOT_NONE */
	__u32 pad;
};

struct {
	__uint(type, BPF_MAP_TYPE_PERCPU_ARRAY);
	__uint(max_entries, 1);
	__type(key, __u32);
	__type(value, struct devcache);
} ig_dev_cache SEC(".maps");

/*
 * Who held each socket open before the rules were loaded, by the socket's
 * address: filled by ig_sk_owners, consumed by ig_sk_tcp and ig_sk_udp
 * (they delete what they label). The daemon counts and clears what is left.
 */
struct owner {
	struct subj s;
	__u32 pad;
	char comm[IG_COMM_LEN];
};

struct {
	__uint(type, BPF_MAP_TYPE_HASH);
	__uint(map_flags, BPF_F_NO_PREALLOC);
	__uint(max_entries, 65536);
	__type(key, __u64);
	__type(value, struct owner);
} ig_sk_owner SEC(".maps");

/* Sockets ig_sk_owners could not record (ig_sk_owner full). */
__u64 ig_owner_lost;

/* Keeps the event layout in BTF for tools. */
const volatile struct ig_net_event ig_btf_nev;

/*
 * cgroup_skb programs may ask a packet's namespace (bpf_get_netns_cookie,
 * kernels >= 6.14): set by the loader after probing. Without it an unlabelled
 * socket of another namespace cannot be told from one of ours.
 */
const volatile __u32 ig_skb_netns;

static __always_inline void count(__u32 idx)
{
	__u64 *v = bpf_map_lookup_elem(&ig_net_cnt, &idx);

	if (v)
		*v += 1;
}

/* One decision (IG_NC_*) in a per-interface or per-device map; none when it is full. */
static __always_inline void count_in(void *map, const void *key, __u32 what)
{
	struct ig_dec_cnt zero = {}, *c = bpf_map_lookup_elem(map, key);

	if (!c) {
		bpf_map_update_elem(map, key, &zero, BPF_NOEXIST);
		c = bpf_map_lookup_elem(map, key);
		if (!c)
			return;
	}
	c->n[what & 3] += 1;
}

/*
 * A decision of the interface rules: per family and per interface, in the
 * interface's slot where the daemon keyed one (iotgate.h, ig_if_cnts).
 */
static __always_inline void count_if(__u32 fam, __u32 what, __u64 netns, __u32 ifindex)
{
	struct ig_if_slot *sl = NULL;

	count(IG_NCNT(fam, what));
	if (ifindex < IG_IF_SLOTS)
		sl = bpf_map_lookup_elem(&ig_if_cnts, &ifindex);
	if (sl && sl->netns == netns && sl->ifindex == ifindex) {
		sl->c.n[what & 3] += 1;
	} else {
		struct ig_if_key k = { .netns = netns, .ifindex = ifindex };

		count_in(&ig_if_cnt, &k, what);
	}
}

/*
 * The device's slot in ig_dev_cnts, given at its first decision; the slots
 * run out after IG_DEV_CNT_MAX devices (then IG_DEV_SLOT_NONE: not counted
 * per device, the status says so). Two CPUs giving the same new device a
 * slot at once: one insert wins, the other slot stays unused.
 */
static __noinline __u32 dev_slot(__u32 type, __u32 major, __u32 minor)
{
	struct ig_dev_key k = { .type = type, .major = major, .minor = minor };
	struct ig_dev_key nk = { .gen = IG_DEV_SLOT_NEXT_GEN };
	__u64 *v = bpf_map_lookup_elem(&ig_dev_slot, &k), *next, slot = 0;

	if (v)
		return *v < IG_DEV_CNT_MAX ? *v : IG_DEV_SLOT_NONE;
	next = bpf_map_lookup_elem(&ig_dev_slot, &nk);
	if (!next) {
		bpf_map_update_elem(&ig_dev_slot, &nk, &slot, BPF_NOEXIST);
		next = bpf_map_lookup_elem(&ig_dev_slot, &nk);
		if (!next)
			return IG_DEV_SLOT_NONE;
	}
	slot = __sync_fetch_and_add(next, 1);
	if (slot >= IG_DEV_CNT_MAX)
		return IG_DEV_SLOT_NONE;
	if (!bpf_map_update_elem(&ig_dev_slot, &k, &slot, BPF_NOEXIST))
		return slot;
	v = bpf_map_lookup_elem(&ig_dev_slot, &k);
	return v && *v < IG_DEV_CNT_MAX ? *v : IG_DEV_SLOT_NONE;
}

/*
 * A decision on a gated device: in the device's slot, else (no slot left)
 * in ig_net_cnt; the daemon adds the two for the family's totals.
 */
static __always_inline void count_dev(__u32 what, __u32 slot)
{
	struct ig_dec_cnt *c = NULL;

	if (slot < IG_DEV_CNT_MAX)
		c = bpf_map_lookup_elem(&ig_dev_cnts, &slot);
	if (c)
		c->n[what & 3] += 1;
	else
		count(IG_NCNT(IG_FAM_DEV, what));
}

/*
 * The epoch read as a fully ordered atomic (iotgate.h, ig_net_config.epoch):
 * what is read after it is at least as new as the entries the daemon wrote
 * before this epoch. Adding 0 changes nothing; the value read is returned.
 */
static __always_inline __u64 epoch_fenced(void)
{
	__u32 zero = 0;
	struct ig_net_config *cfg = bpf_map_lookup_elem(&ig_net_cfg, &zero);

	return cfg ? __sync_fetch_and_add(&cfg->epoch, 0) : 0;
}

static __always_inline struct ig_net_config *active_cfg(void)
{
	__u32 zero = 0;
	struct ig_net_config *cfg = bpf_map_lookup_elem(&ig_net_cfg, &zero);

	return cfg && (cfg->flags & IG_NCF_ACTIVE) ? cfg : NULL;
}

/*
 * The configuration read once, word by word. The daemon rewrites it in
 * place (an array map update is a copy, not atomic): a reader may see the
 * new epoch with the old generation, so a cached answer is keyed with
 * every field it was computed from, as they were read.
 */
static __always_inline bool cfg_snapshot(struct ig_net_config *snap)
{
	struct ig_net_config *cfg = active_cfg();
	const volatile __u64 *src = (const volatile __u64 *)cfg;
	__u64 *dst = (__u64 *)snap;

	if (!cfg)
		return false;
	for (int i = 0; i < (int)(sizeof(*snap) / sizeof(__u64)); i++)
		dst[i] = src[i];
	return snap->flags & IG_NCF_ACTIVE;
}

/* Keys the socket verdict digests (set by the loader: not computable outside). */
const volatile __u64 ig_vc_secret;

/* One multiply-xorshift round per word; a digest ends with mix_end(). */
static __always_inline __u64 dc_mix(__u64 h, __u64 v)
{
	h = (h ^ v) * 0x9e3779b97f4a7c15ULL;
	return h ^ (h >> 32);
}

/* A full avalanche; bit 0 clear (for the answer), never 0 (empty). */
static __always_inline __u64 mix_end(__u64 h)
{
	h ^= h >> 29;
	h *= 0xbf58476d1ce4e5b9ULL;
	h ^= h >> 32;
	h &= ~1ULL;
	return h ? h : 2;
}

/* t is a BTF pointer (current task, or the iterator's task). */
static __always_inline void task_subject(struct task_struct *t, struct subj *s)
{
	struct mm_struct *mm = t->mm;
	struct inode *inode;
	struct file *exe;

	/*
	 * The task's own (objective) credentials: cred may be overridden for
	 * a moment, e.g. overlayfs checks the lower inode with the mounter's.
	 */
	const struct cred *cred = t->real_cred;

	s->uid = cred->euid.val;
	s->gid = cred->egid.val;
	s->dev = 0;
	s->ino = 0;
	s->csec = 0;
	s->cnsec = 0;
	s->known = 0;
	if (!mm)
		return;
	exe = mm->exe_file;
	if (!exe)
		return;
	inode = exe->f_inode;
	s->dev = inode->i_sb->s_dev;
	s->ino = inode->i_ino;
	ig_inode_ctime_btf(inode, &s->csec, &s->cnsec);
	s->known = 1;
}

static __always_inline bool same_subj(const struct subj *a, const struct subj *b)
{
	return a->dev == b->dev && a->ino == b->ino && a->csec == b->csec && a->cnsec == b->cnsec &&
	       a->uid == b->uid && a->gid == b->gid && a->known == b->known;
}

/*
 * The rules of one subject on one target: IG_RV_*. Global functions are
 * verified once, on their own, which keeps the verifier's work linear.
 */
__noinline __u32 ig_match(const struct ig_rule_set *rs, __u32 proto, __u32 dir, __u32 port,
			  __u32 allow_ok)
{
	/* Bits: 1 specific allow, 2 specific deny, 4 general allow, 8 general deny. */
	__u32 seen = 0, n;

	if (!rs)
		return IG_RV_NOMATCH;
	n = rs->n;
	/* Only the used slots; nothing else depends on n, so the verifier's work stays small. */
	for (__u32 i = 0; i < IG_RULES_MAX; i++) {
		const struct ig_rule *r = &rs->r[i];

		if (i >= n)
			break;
		__u32 shift = r->flags & IG_RF_GENERAL ? 2 : 0;

		if (!(r->dirs & dir) || !(r->protos & proto))
			continue;
		if ((r->flags & IG_RF_PORTS) && (port < r->port_lo || port > r->port_hi))
			continue;
		if (r->verdict == IG_RV_DENY)
			seen |= 2u << shift;
		else if (allow_ok)
			seen |= 1u << shift;
	}
	/* A match among the rules naming the target decides; a deny wins. */
	if (seen & 2)
		return IG_RV_DENY;
	if (seen & 1)
		return IG_RV_ALLOW;
	if (seen & 8)
		return IG_RV_DENY;
	if (seen & 4)
		return IG_RV_ALLOW;
	return IG_RV_NOMATCH;
}

/* What is asked of the rules. */
struct query {
	__u32 gen;
	__u32 target;
	__u32 proto;
	__u32 dir;
	__u32 port;
};

static __always_inline __u32 lookup_level(struct ig_rule_key *k, const struct subj *s,
					  const struct query *q)
{
	struct ig_rule_set *rs = bpf_map_lookup_elem(&ig_rules, k);
	__u32 ok;

	if (!rs)
		return IG_RV_NOMATCH;
	ok = !(rs->flags & IG_RS_CTIME) ||
	     (s->known && rs->ctime_sec == s->csec && rs->ctime_nsec == s->cnsec);
	return ig_match(rs, q->proto, q->dir, q->port, ok);
}

/* Program, then uid, then gid, then anyone: the first level with a match decides. */
__noinline __u32 ig_eval(const struct query *q, const struct subj *s)
{
	struct ig_rule_key k = {};
	__u32 v;

	if (!q || !s)
		return IG_RV_NOMATCH;
	k.target = q->target;
	k.gen = q->gen;
	if (s->known) {
		k.kind = IG_SUBJ_PROGRAM;
		k.id_a = s->dev;
		k.id_b = s->ino;
		v = lookup_level(&k, s, q);
		if (v != IG_RV_NOMATCH)
			return v;
	}
	k.id_b = 0;
	k.kind = IG_SUBJ_UID;
	k.id_a = s->uid;
	v = lookup_level(&k, s, q);
	if (v != IG_RV_NOMATCH)
		return v;
	k.kind = IG_SUBJ_GID;
	k.id_a = s->gid;
	v = lookup_level(&k, s, q);
	if (v != IG_RV_NOMATCH)
		return v;
	k.kind = IG_SUBJ_ANYONE;
	k.id_a = 0;
	return lookup_level(&k, s, q);
}

/*
 * May the subject use the interface in one of the directions in flows?
 * 'out' is judged on the remote port, 'in' on the local port.
 */
static __always_inline bool allowed_on(__u32 gen, __u32 target, __u32 dflt, __u32 ifflags,
				       const struct subj *s, __u32 proto, __u32 flows, __u16 lport,
				       __u16 rport)
{
	struct query q = { .gen = gen, .target = target, .proto = proto };
	__u32 v;

	if (ifflags & IG_IF_DISABLED)
		return false;
	if (flows & IG_DIR_OUT) {
		q.dir = IG_DIR_OUT;
		q.port = rport;
		v = ig_eval(&q, s);
		if ((v == IG_RV_NOMATCH ? dflt : v) == IG_RV_ALLOW)
			return true;
	}
	if (flows & IG_DIR_IN) {
		q.dir = IG_DIR_IN;
		q.port = lport;
		v = ig_eval(&q, s);
		if ((v == IG_RV_NOMATCH ? dflt : v) == IG_RV_ALLOW)
			return true;
	}
	return false;
}

/*
 * The device's own declaration and, when its current name falls under
 * another one (IG_IF_ALSO), that one too; a stacked device's declarations
 * below it (IG_IF_LOWER, and the other two slots): the strictest wins.
 */
static __always_inline bool allowed_dev(__u32 gen, const struct ig_if_val *iv, const struct subj *s,
					__u32 proto, __u32 flows, __u16 lport, __u16 rport)
{
	if (!allowed_on(gen, iv->target, iv->dflt, iv->flags, s, proto, flows, lport, rport))
		return false;
	if ((iv->flags & IG_IF_ALSO) &&
	    !allowed_on(gen, iv->target2, iv->dflt2, 0, s, proto, flows, lport, rport))
		return false;
	return !(iv->flags & IG_IF_LOWER) ||
	       allowed_on(gen, iv->target3, iv->dflt3, 0, s, proto, flows, lport, rport);
}

static __always_inline bool allowed_ifindex(struct ig_net_config *cfg, __u32 ifindex,
					    const struct subj *s, __u32 proto, __u32 flows,
					    __u16 lport, __u16 rport)
{
	struct ig_if_key k = { .netns = cfg->netns, .ifindex = ifindex, .gen = cfg->gen };
	struct ig_if_val *iv = bpf_map_lookup_elem(&ig_ifaces, &k);

	if (!iv)
		return allowed_on(cfg->gen, IG_TARGET_ANYIF, cfg->dflt, 0, s, proto, flows, lport,
				  rport);
	return allowed_dev(cfg->gen, iv, s, proto, flows, lport, rport);
}

struct allctx {
	struct subj s;
	__u64 netns;
	__u32 gen;
	__u32 can_only;
	__u32 proto;
	__u32 flows;
	__u32 denied;
	__u32 pad;
};

static long all_cb(struct bpf_map *map, struct ig_if_key *key, struct ig_if_val *val,
		   struct allctx *c)
{
	if (key->gen != c->gen || key->netns != c->netns)
		return 0;
	if (c->can_only && !(val->flags & IG_IF_CAN))
		return 0;
	if (!allowed_dev(c->gen, val, &c->s, c->proto, c->flows, 0, 0)) {
		c->denied = 1;
		return 1;
	}
	return 0;
}

static __always_inline __u32 proto_class(__u32 type, __u32 protocol)
{
	if (type == SOCK_STREAM)
		return protocol == 0 || protocol == IPPROTO_TCP ? IG_P_TCP : IG_P_OTHER;
	if (type == SOCK_DGRAM) {
		if (protocol == 0 || protocol == IPPROTO_UDP || protocol == IPPROTO_UDPLITE)
			return IG_P_UDP;
		if (protocol == IPPROTO_ICMP || protocol == IPPROTO_ICMPV6)
			return IG_P_ICMP;
		return IG_P_OTHER;
	}
	if (type == SOCK_RAW)
		return IG_P_RAW |
		       (protocol == IPPROTO_ICMP || protocol == IPPROTO_ICMPV6 ? IG_P_ICMP : 0);
	return IG_P_OTHER;
}

static __always_inline void fill_event(struct ig_net_event *e, const struct subj *s, __u32 type,
				       __u32 verdict, __u32 family, __u32 op)
{
	e->ts_ns = bpf_ktime_get_boot_ns();
	e->exe_dev = s->dev;
	e->exe_ino = s->ino;
	e->type = type;
	e->verdict = verdict;
	e->family = family;
	e->op = op;
	e->uid = s->uid;
	e->gid = s->gid;
	e->pid = 0;
	e->ifindex = 0;
	e->proto = 0;
	e->access = 0;
	e->lport = 0;
	e->rport = 0;
	e->major = 0;
	e->minor = 0;
	e->pad = 0;
}

static __always_inline void refuse_event(const struct subj *s, __u32 verdict, __u32 family,
					 __u32 op, __u32 ifindex, __u32 proto, __u16 lport,
					 __u16 rport, const char *comm, bool current)
{
	struct ig_net_event *e = bpf_ringbuf_reserve(&ig_net_ev, sizeof(*e), 0);

	if (!e) {
		count(IG_NCNT_EVENTS_LOST);
		return;
	}
	fill_event(e, s, IG_EV_NET, verdict, family, op);
	e->ifindex = ifindex;
	e->proto = proto;
	e->lport = lport;
	e->rport = rport;
	if (current) {
		e->pid = bpf_get_current_pid_tgid() >> 32;
		bpf_get_current_comm(e->comm, sizeof(e->comm));
	} else {
		__builtin_memcpy(e->comm, comm, IG_COMM_LEN);
	}
	bpf_ringbuf_submit(e, 0);
}

/* The parts of a new label that come from the socket itself. */
static __always_inline void label_sock(struct label *l, struct sock *sk, __u32 family)
{
	l->netns = BPF_CORE_READ(sk, __sk_common.skc_net.net, net_cookie);
	l->family = family;
	if (family == AF_CAN)
		l->protos = IG_P_CAN;
	else if (family == AF_PACKET)
		l->protos = IG_P_PACKET;
	else
		l->protos = proto_class(BPF_CORE_READ(sk, sk_type), BPF_CORE_READ(sk, sk_protocol));
}

static __always_inline struct label *new_label(struct sock *sk, struct task_struct *t, __u32 family)
{
	struct label *l = bpf_sk_storage_get(&ig_sk_label, sk, 0, BPF_SK_STORAGE_GET_F_CREATE);

	if (!l)
		return NULL;
	label_sock(l, sk, family);
	task_subject(t, &l->s);
	__builtin_memcpy(l->comm, t->comm, sizeof(l->comm)); /* BTF pointer: plain loads */
	return l;
}

/* --- IP: labels and per-packet checks --- */

/*
 * Sockets of another network namespace are never checked (the rules are for
 * the daemon's): they get no label, which spares their allocation, the
 * clone into every connection a listener accepts, and the free.
 */
static __always_inline bool foreign_netns(__u64 netns)
{
	struct ig_net_config *cfg = active_cfg();

	return cfg && netns != cfg->netns;
}

SEC("cgroup/sock_create")
int ig_sock_create(struct bpf_sock *sk)
{
	struct task_struct *t = bpf_get_current_task_btf();
	struct ig_net_config *cfg;
	struct label *l;
	__u64 netns;

	/* MPTCP subflows are kernel sockets that could not be tied to the program. */
	if (sk->protocol == IPPROTO_MPTCP && active_cfg())
		return 0;
	netns = bpf_get_netns_cookie(sk);
	/*
	 * While unlabelled sockets are refused, a foreign socket needs its
	 * label to tell it apart: its interface indexes are not ours.
	 */
	cfg = active_cfg();
	if (foreign_netns(netns) && !(cfg && (cfg->flags & IG_NCF_UNLABELLED_DENY)))
		return 1;
	l = bpf_sk_storage_get(&ig_sk_label, sk, 0, BPF_SK_STORAGE_GET_F_CREATE);
	if (!l)
		return 0; /* no label, no socket: never an unlabeled program socket */
	l->netns = netns;
	task_subject(t, &l->s);
	l->family = sk->family;
	l->protos = proto_class(sk->type, sk->protocol);
	__builtin_memcpy(l->comm, t->comm, sizeof(l->comm)); /* BTF pointer: plain loads */
	return 1;
}

/*
 * Sockets open before the rules were loaded, in two passes. Only the socket
 * iterators hand out a socket pointer the verifier trusts for the storage
 * helper (since 6.x, sock->sk of a task's file is untrusted), and they do
 * not know which task holds the socket: ig_sk_owners records the first task
 * found holding each inet socket of the governed namespace, ig_sk_tcp and
 * ig_sk_udp then label the TCP and UDP sockets from that record. The label
 * program is attached before the first pass, so a socket made in between is
 * labeled at creation. Sockets no iterator reaches (raw, ICMP, UDP-Lite)
 * stay in ig_sk_owner for the daemon to count; in the full tier their first
 * use labels them.
 */
SEC("iter/task_file")
int ig_sk_owners(struct bpf_iter__task_file *ctx)
{
	struct task_struct *t = ctx->task;
	struct file *f = ctx->file;
	struct owner o = {};
	struct socket *sock;
	__u32 family;
	__u64 key;
	long err;

	if (!t || !f)
		return 0;
	sock = bpf_sock_from_file(f);
	if (!sock)
		return 0;
	key = (__u64)BPF_CORE_READ(sock, sk);
	if (!key)
		return 0;
	family = BPF_CORE_READ(sock, sk, __sk_common.skc_family);
	if ((family != AF_INET && family != AF_INET6) ||
	    foreign_netns(BPF_CORE_READ(sock, sk, __sk_common.skc_net.net, net_cookie)))
		return 0;
	task_subject(t, &o.s);
	__builtin_memcpy(o.comm, t->comm, sizeof(o.comm));
	err = bpf_map_update_elem(&ig_sk_owner, &key, &o, BPF_NOEXIST);
	if (err && err != -17 /* EEXIST: another holder came first */)
		__sync_fetch_and_add(&ig_owner_lost, 1);
	return 0;
}

static __always_inline void label_owned(struct sock *sk, __u32 family, bool listener)
{
	struct owner *o;
	struct label *l;
	__u64 key = (__u64)sk;

	o = bpf_map_lookup_elem(&ig_sk_owner, &key);
	if (!o)
		return; /* no file: the kernel's own socket, as at creation */
	if (!bpf_sk_storage_get(&ig_sk_label, sk, 0, 0)) {
		l = bpf_sk_storage_get(&ig_sk_label, sk, 0, BPF_SK_STORAGE_GET_F_CREATE);
		if (l) {
			label_sock(l, sk, family);
			l->s = o->s;
			__builtin_memcpy(l->comm, o->comm, sizeof(l->comm));
			/* Who opened an established connection is not known: either way. */
			if (l->protos == IG_P_TCP)
				l->flags |= listener ? LF_FLOW_IN : LF_FLOWS;
		}
	}
	bpf_map_delete_elem(&ig_sk_owner, &key);
}

SEC("iter/tcp")
int ig_sk_tcp(struct bpf_iter__tcp *ctx)
{
	struct sock_common *skc = ctx->sk_common;

	if (!skc)
		return 0;
	label_owned((struct sock *)skc, skc->skc_family, skc->skc_state == BPF_TCP_LISTEN);
	return 0;
}

SEC("iter/udp")
int ig_sk_udp(struct bpf_iter__udp *ctx)
{
	struct udp_sock *u = ctx->udp_sk;

	if (!u)
		return 0;
	label_owned(&u->inet.sk, u->inet.sk.__sk_common.skc_family, false);
	return 0;
}

/* UDP ports of the datagram; reads the linear head directly when it can. */
static __always_inline int udp_ports(struct __sk_buff *skb, bool v4, __u16 *sport, __u16 *dport)
{
	void *data = (void *)(long)skb->data, *end = (void *)(long)skb->data_end;
	__u16 ports[2];
	__u32 off;

	if (v4) {
		struct iphdr *iph = data;

		if ((void *)(iph + 1) > end)
			goto slow;
		if ((iph->protocol != IPPROTO_UDP && iph->protocol != IPPROTO_UDPLITE) ||
		    (iph->frag_off & bpf_htons(IP_OFFSET_MASK)))
			return -1;
		off = iph->ihl * 4;
	} else {
		struct ipv6hdr *ip6 = data;

		if ((void *)(ip6 + 1) > end)
			goto slow;
		if (ip6->nexthdr != IPPROTO_UDP && ip6->nexthdr != IPPROTO_UDPLITE)
			return -1;
		off = sizeof(*ip6);
	}
	if (off > 60)
		return -1;
	if (data + off + sizeof(ports) <= end) {
		__u16 *p = data + off;

		if ((void *)(p + 2) > end)
			goto slow;
		*sport = bpf_ntohs(p[0]);
		*dport = bpf_ntohs(p[1]);
		return 0;
	}
	goto ports;
slow:
	if (v4) {
		struct iphdr iph;

		if (bpf_skb_load_bytes(skb, 0, &iph, sizeof(iph)))
			return -1;
		if ((iph.protocol != IPPROTO_UDP && iph.protocol != IPPROTO_UDPLITE) ||
		    (iph.frag_off & bpf_htons(IP_OFFSET_MASK)))
			return -1;
		off = iph.ihl * 4;
	} else {
		struct ipv6hdr ip6;

		if (bpf_skb_load_bytes(skb, 0, &ip6, sizeof(ip6)))
			return -1;
		if (ip6.nexthdr != IPPROTO_UDP && ip6.nexthdr != IPPROTO_UDPLITE)
			return -1;
		off = sizeof(ip6);
	}
ports:
	if (bpf_skb_load_bytes(skb, off, ports, sizeof(ports)))
		return -1;
	*sport = bpf_ntohs(ports[0]);
	*dport = bpf_ntohs(ports[1]);
	return 0;
}

/*
 * The question (interface, ports) and the rules in force (epoch, generation,
 * default: all a verdict depends on besides the label), keyed with a secret:
 * another question or older rules match a stored word with probability
 * about 2^-63, and none can be chosen to match.
 */
static __always_inline __u64 vc_digest(const struct ig_net_config *cfg, __u64 sgen, __u32 ifindex,
				       __u16 lport, __u16 rport)
{
	__u64 h = ig_vc_secret;

	h = dc_mix(h, (__u64)ifindex << 32 | (__u32)lport << 16 | rport);
	h = dc_mix(h, sgen);
	h = dc_mix(h, cfg->epoch);
	h = dc_mix(h, (__u64)cfg->gen << 32 | cfg->dflt);
	return mix_end(h);
}

/* The cached word if it answers digest, else 0. */
static __always_inline __u64 vc_get(const __u64 *c, __u64 digest)
{
	__u64 word = *(volatile const __u64 *)c;

	return (word & ~1ULL) == digest ? word : 0;
}

/*
 * A packet of a socket without a label while IG_NCF_UNLABELLED_DENY is set:
 * an unknown program of an unknown user. Rare (no cache): kernel sockets and
 * what the iterators could not label.
 */
static __noinline int skb_unlabelled(struct __sk_buff *skb, struct ig_net_config *cfg,
				     struct bpf_sock *sk, int dir)
{
	struct subj s = { .uid = IG_ID_NONE, .gid = IG_ID_NONE };
	char nocomm[IG_COMM_LEN] = {};
	bool v4 = skb->protocol == bpf_htons(ETH_P_IP), egress = dir == 0;
	__u16 lport = 0, rport = 0, sp = 0, dp = 0;
	struct bpf_sock *fs;
	__u32 protos, fam;

	if (!skb || !cfg || !sk)
		return 1;
	fs = bpf_sk_fullsock(sk);
	if (!fs)
		return 1;
	/* A dead branch where the kernel lacks the helper: the verifier never sees the call. */
	if (ig_skb_netns && bpf_get_netns_cookie(skb) != cfg->netns)
		return 1;
	/* The stack's own replies: TCP resets, ICMP errors, neighbour discovery. */
	if (fs->type == SOCK_RAW && (fs->protocol == IPPROTO_TCP || fs->protocol == IPPROTO_ICMP ||
				     fs->protocol == IPPROTO_ICMPV6))
		return 1;
	protos = proto_class(fs->type, fs->protocol);
	if (protos & IG_P_TCP) {
		lport = fs->src_port;
		rport = bpf_ntohs(fs->dst_port);
	} else if ((protos & IG_P_UDP) && !udp_ports(skb, v4, &sp, &dp)) {
		lport = egress ? sp : dp;
		rport = egress ? dp : sp;
	}
	if (allowed_ifindex(cfg, skb->ifindex, &s, protos, egress ? LF_FLOW_OUT : LF_FLOW_IN, lport,
			    rport)) {
		return 1;
	}
	fam = v4 ? IG_FAM_IPV4 : IG_FAM_IPV6;
	count_if(fam, cfg->mode == IG_MODE_ENFORCE ? IG_NC_DROPPED : IG_NC_AUDITED, cfg->netns,
		 skb->ifindex);
	refuse_event(&s, cfg->mode == IG_MODE_ENFORCE ? IG_VERDICT_DENY : IG_VERDICT_AUDIT, fam,
		     egress ? IG_OP_PKT_OUT : IG_OP_PKT_IN, skb->ifindex, protos, lport, rport,
		     nocomm, false);
	return cfg->mode == IG_MODE_ENFORCE ? 0 : 1;
}

static __always_inline int skb_check(struct __sk_buff *skb, int dir)
{
	struct ig_net_config snap, *cfg = &snap;
	__u16 lport = 0, rport = 0;
	bool v4, egress = dir == 0;
	struct bpf_sock *sk;
	__u64 *c, *other;
	struct label *l;
	__u32 ifindex, verdict, fam, flows;
	__u64 key, word;

	if (!cfg_snapshot(cfg))
		return 1;
	sk = skb->sk;
	if (!sk)
		return 1;
	/*
	 * The kernel runs these programs for full sockets only; the storage
	 * helper checks again, so no bpf_sk_fullsock() call per packet.
	 */
	l = bpf_sk_storage_get(&ig_sk_label, sk, 0, 0);
	/* No label: a socket of the kernel itself, or one opened before the rules. */
	if (!l)
		return (cfg->flags & IG_NCF_UNLABELLED_DENY) ? skb_unlabelled(skb, cfg, sk, dir) :
							       1;
	if (l->netns != cfg->netns)
		return 1;
	v4 = skb->protocol == bpf_htons(ETH_P_IP);
	fam = v4 ? IG_FAM_IPV4 : IG_FAM_IPV6;
	ifindex = skb->ifindex;
	if (l->protos & IG_P_TCP) {
		lport = sk->src_port;
		rport = bpf_ntohs(sk->dst_port);
	} else if (l->protos & IG_P_UDP) {
		__u16 sp = 0, dp = 0;

		if (!udp_ports(skb, v4, &sp, &dp)) {
			lport = egress ? sp : dp;
			rport = egress ? dp : sp;
		}
	}
	flows = l->flags & LF_FLOWS;
	if (!flows) {
		/* The first packet tells who opened the flow. */
		if (egress)
			flows = LF_FLOW_OUT;
		else if ((l->protos & IG_P_TCP) && sk->state != BPF_TCP_LISTEN)
			flows = LF_FLOWS;
		else
			flows = LF_FLOW_IN;
		l->flags |= flows;
	}
	c = &l->vc[egress ? 0 : 1];
	other = &l->vc[egress ? 1 : 0];
	/*
	 * The verdict does not depend on the direction of the packet (ports
	 * are the socket's, flows fixed by the first packet): the other
	 * direction's answer serves too, which spares the second evaluation
	 * of every new connection. Two slots still, for asymmetric routes.
	 */
	/* Before the subject is read: note_user() moves it after writing one. */
	key = vc_digest(cfg, *(volatile __u64 *)&l->sgen, ifindex, lport, rport);
	word = vc_get(c, key);
	if (!word)
		word = vc_get(other, key);
	if (!word) {
		/*
		 * Seqcount style (iotgate.h, epoch): the entries are read after
		 * a fully ordered read of the epoch the answer is keyed with,
		 * and the answer is kept only when no change came in between.
		 */
		__u64 e = epoch_fenced();

		word = key | allowed_ifindex(cfg, ifindex, &l->s, l->protos, flows, lport, rport);
		if (e == cfg->epoch && epoch_fenced() == e)
			*(volatile __u64 *)c = word;
	} else {
		*(volatile __u64 *)c = word;
	}
	verdict = word & 1 ? IG_RV_ALLOW : IG_RV_DENY;
	if (verdict == IG_RV_ALLOW) {
		count_if(fam, IG_NC_ALLOWED, cfg->netns, ifindex);
		return 1;
	}
	count_if(fam, cfg->mode == IG_MODE_ENFORCE ? IG_NC_DROPPED : IG_NC_AUDITED, cfg->netns,
		 ifindex);
	/* One event per socket and direction until the rules change. */
	if (l->ev_epoch[egress ? 0 : 1] != cfg->epoch + 1) {
		l->ev_epoch[egress ? 0 : 1] = cfg->epoch + 1;
		refuse_event(&l->s,
			     cfg->mode == IG_MODE_ENFORCE ? IG_VERDICT_DENY : IG_VERDICT_AUDIT, fam,
			     egress ? IG_OP_PKT_OUT : IG_OP_PKT_IN, ifindex, l->protos, lport,
			     rport, l->comm, false);
	}
	return cfg->mode == IG_MODE_ENFORCE ? 0 : 1;
}

SEC("cgroup_skb/egress")
int ig_skb_egress(struct __sk_buff *skb)
{
	return skb_check(skb, 0);
}

SEC("cgroup_skb/ingress")
int ig_skb_ingress(struct __sk_buff *skb)
{
	return skb_check(skb, 1);
}

/* --- Full tier: sockets act for their user; CAN and packet sockets --- */

static __always_inline struct label *sock_label(struct socket *sock, __u32 family)
{
	struct sock *sk = sock->sk;
	struct label *l;

	if (!sk)
		return NULL;
	l = bpf_sk_storage_get(&ig_sk_label, sk, 0, 0);
	if (l)
		return l;
	/* Sockets of the kernel have no file: they stay unlabeled. */
	if (!sock->file || foreign_netns(BPF_CORE_READ(sk, __sk_common.skc_net.net, net_cookie)))
		return NULL;
	return new_label(sk, bpf_get_current_task_btf(), family);
}

/* The task using an inet socket becomes the subject it acts for. */
static __always_inline void note_user(struct socket *sock, __u32 family)
{
	struct task_struct *t = bpf_get_current_task_btf();
	struct label *l = sock_label(sock, family);
	__u64 tp, mp, cp, st;
	struct subj s;

	if (!l)
		return;
	/*
	 * The same task (address and start time), address space and
	 * credentials as the last user: the same subject (exec replaces the
	 * mm, setuid the cred).
	 */
	tp = (__u64)t;
	st = t->start_time;
	mp = (__u64)t->mm;
	cp = (__u64)t->real_cred;
	if (l->user_task == tp && l->user_start == st && l->user_mm == mp && l->user_cred == cp)
		return;
	task_subject(t, &s);
	l->user_task = tp;
	l->user_start = st;
	l->user_mm = mp;
	l->user_cred = cp;
	if (same_subj(&s, &l->s))
		return;
	l->s = s;
	asm volatile("" ::: "memory");
	*(volatile __u64 *)&l->sgen = l->sgen + 1;
	l->vc[0] = 0;
	l->vc[1] = 0;
	l->ev_epoch[0] = 0;
	l->ev_epoch[1] = 0;
	bpf_get_current_comm(l->comm, sizeof(l->comm));
}

/*
 * A CAN or packet socket used on ifindex (0: every interface of its kind).
 * Returns 0 or -EPERM.
 */
static __always_inline int if_check(struct socket *sock, __u32 family, __u32 op, __u32 ifindex,
				    __u32 flows)
{
	struct ig_net_config *cfg = active_cfg();
	__u32 fam = family == AF_CAN ? IG_FAM_CAN : IG_FAM_PACKET;
	__u32 proto = family == AF_CAN ? IG_P_CAN : IG_P_PACKET;
	struct allctx ac = {};
	bool ok;

	if (!cfg)
		return 0;
	task_subject(bpf_get_current_task_btf(), &ac.s);
	if (sock->sk && BPF_CORE_READ(sock, sk, __sk_common.skc_net.net, net_cookie) != cfg->netns)
		return 0;
	if (ifindex) {
		ok = allowed_ifindex(cfg, ifindex, &ac.s, proto, flows, 0, 0);
	} else {
		ac.netns = cfg->netns;
		ac.gen = cfg->gen;
		ac.can_only = family == AF_CAN;
		ac.proto = proto;
		ac.flows = flows;
		bpf_for_each_map_elem(&ig_ifaces, all_cb, &ac, 0);
		ok = !ac.denied;
	}
	if (ok) {
		count_if(fam, IG_NC_ALLOWED, cfg->netns, ifindex);
		return 0;
	}
	count_if(fam, cfg->mode == IG_MODE_ENFORCE ? IG_NC_DENIED : IG_NC_AUDITED, cfg->netns,
		 ifindex);
	refuse_event(&ac.s, cfg->mode == IG_MODE_ENFORCE ? IG_VERDICT_DENY : IG_VERDICT_AUDIT, fam,
		     op, ifindex, proto, 0, 0, NULL, true);
	return cfg->mode == IG_MODE_ENFORCE ? -EPERM : 0;
}

static __always_inline __u32 sock_family(struct socket *sock)
{
	return BPF_CORE_READ(sock, sk, __sk_common.skc_family);
}

static __always_inline bool is_inet(__u32 family)
{
	return family == AF_INET || family == AF_INET6;
}

static __always_inline bool is_gated(__u32 family)
{
	return family == AF_CAN || family == AF_PACKET;
}

/* The interface index in a sockaddr_can or sockaddr_ll (both at offset 4). */
static __always_inline __u32 addr_ifindex(void *addr, int len)
{
	int ifindex = 0;

	if (!addr || len < 8)
		return 0;
	bpf_probe_read_kernel(&ifindex, sizeof(ifindex), addr + 4);
	return ifindex > 0 ? ifindex : 0;
}

SEC("lsm/socket_post_create")
int BPF_PROG(ig_sock_post, struct socket *sock, int family, int type, int protocol, int kern,
	     int ret)
{
	/*
	 * sk read once: each load of a trusted pointer's nullable field is a
	 * new maybe-NULL value to the verifier (6.12 refuses a second read).
	 */
	struct sock *sk = sock->sk;
	struct label *l;

	if (ret || kern || !is_gated(family) || !sk)
		return ret;
	l = new_label(sk, bpf_get_current_task_btf(), family);
	if (!l)
		return active_cfg() ? -EPERM : 0;
	return 0;
}

SEC("lsm/socket_bind")
int BPF_PROG(ig_sock_bind, struct socket *sock, struct sockaddr *address, int addrlen, int ret)
{
	__u32 family = sock_family(sock), ifindex;
	struct label *l;

	if (ret)
		return ret;
	if (is_inet(family)) {
		note_user(sock, family);
		return 0;
	}
	if (!is_gated(family))
		return 0;
	ifindex = addr_ifindex(address, addrlen);
	if (family == AF_PACKET && sock->type == SOCK_PACKET)
		ifindex = 0; /* bound by name: treated as every interface */
	ret = if_check(sock, family, IG_OP_BIND, ifindex, LF_FLOWS);
	l = sock_label(sock, family);
	if (!ret && l)
		l->bound_ifindex = ifindex;
	return ret;
}

SEC("lsm/socket_connect")
int BPF_PROG(ig_sock_conn, struct socket *sock, struct sockaddr *address, int addrlen, int ret)
{
	__u32 family = sock_family(sock), ifindex;
	struct label *l;

	if (ret)
		return ret;
	if (is_inet(family)) {
		note_user(sock, family);
		return 0;
	}
	if (family != AF_CAN)
		return 0;
	/* CAN BCM and J1939 name their interface at connect. */
	ifindex = addr_ifindex(address, addrlen);
	ret = if_check(sock, family, IG_OP_CONNECT, ifindex, LF_FLOWS);
	l = sock_label(sock, family);
	if (!ret && l && ifindex)
		l->bound_ifindex = ifindex;
	return ret;
}

SEC("lsm/socket_sendmsg")
int BPF_PROG(ig_sock_send, struct socket *sock, struct msghdr *msg, int size, int ret)
{
	__u32 family = sock_family(sock), ifindex;
	struct label *l;

	if (ret)
		return ret;
	if (is_inet(family)) {
		note_user(sock, family);
		return 0;
	}
	if (!is_gated(family))
		return 0;
	ifindex = addr_ifindex(BPF_CORE_READ(msg, msg_name), BPF_CORE_READ(msg, msg_namelen));
	/*
	 * SOCK_PACKET: a sockaddr_pkt names the device by name, not index;
	 * judged as every interface, as at bind.
	 */
	if (family == AF_PACKET && sock->type == SOCK_PACKET)
		return if_check(sock, family, IG_OP_SEND, 0, LF_FLOW_OUT);
	if (!ifindex) {
		l = sock_label(sock, family);
		ifindex = l ? l->bound_ifindex : 0;
	}
	return if_check(sock, family, IG_OP_SEND, ifindex, LF_FLOW_OUT);
}

SEC("lsm/socket_recvmsg")
int BPF_PROG(ig_sock_recv, struct socket *sock, struct msghdr *msg, int size, int flags, int ret)
{
	__u32 family = sock_family(sock);
	struct label *l;

	if (ret)
		return ret;
	if (is_inet(family)) {
		note_user(sock, family);
		return 0;
	}
	if (!is_gated(family))
		return 0;
	l = sock_label(sock, family);
	return if_check(sock, family, IG_OP_RECV, l ? l->bound_ifindex : 0, LF_FLOW_IN);
}

SEC("lsm/socket_accept")
int BPF_PROG(ig_sock_accept, struct socket *sock, struct socket *newsock, int ret)
{
	__u32 family = sock_family(sock);

	if (!ret && is_inet(family))
		note_user(sock, family); /* connections accepted from now on inherit the user */
	return ret;
}

/* --- Kill tier: CAN and packet sockets at the syscalls --- */

/*
 * Without LSM socket hooks (kill tier), CAN and packet sockets are judged at
 * the syscalls that name an interface: socket() by a program with no right
 * on any interface of the kind, and bind, connect, sendto and sendmsg
 * naming an interface the program may not use (index 0: every interface of
 * the kind), make the task SIGKILLed on its way back to user space in
 * enforce mode, before it can use what the call returns; audit mode reports.
 * The socket's family and type come from the kernel's socket behind the
 * descriptor; the address is read from user memory before the kernel copies
 * it (one that cannot be read is refused), so another thread could change it
 * in between; a receive on an unbound socket
 * of a program that has some right of the kind, a socket handed to another
 * program, sendmmsg and io_uring are not seen (the state says so).
 */

/* The family and interface index at the start of a sockaddr_can or sockaddr_ll. */
struct uaddr {
	__u16 family;
	__u16 pad;
	__s32 ifindex;
};

static long any_cb(struct bpf_map *map, struct ig_if_key *key, struct ig_if_val *val,
		   struct allctx *c)
{
	if (key->gen != c->gen || key->netns != c->netns)
		return 0;
	if (c->can_only && !(val->flags & IG_IF_CAN))
		return 0;
	if (allowed_dev(c->gen, val, &c->s, c->proto, LF_FLOW_OUT, 0, 0) ||
	    allowed_dev(c->gen, val, &c->s, c->proto, LF_FLOW_IN, 0, 0)) {
		c->denied = 0;
		return 1;
	}
	return 0;
}

/*
 * op IG_OP_CREATE: a right on any interface of the kind; else the one
 * interface, or every one of the kind for index 0.
 */
static __always_inline void kill_check(__u32 family, __u32 op, __u32 ifindex, __u32 flows)
{
	struct task_struct *t = bpf_get_current_task_btf();
	struct ig_net_config *cfg = active_cfg();
	__u32 fam = family == AF_CAN ? IG_FAM_CAN : IG_FAM_PACKET;
	struct allctx ac = {};
	bool enforce, ok;

	if (!cfg || !(cfg->flags & IG_NCF_KILL))
		return;
	if (BPF_CORE_READ(t, nsproxy, net_ns, net_cookie) != cfg->netns)
		return; /* the rules are for the daemon's namespace */
	task_subject(t, &ac.s);
	ac.proto = family == AF_CAN ? IG_P_CAN : IG_P_PACKET;
	if (op != IG_OP_CREATE && ifindex) {
		ok = allowed_ifindex(cfg, ifindex, &ac.s, ac.proto, flows, 0, 0);
	} else {
		ac.netns = cfg->netns;
		ac.gen = cfg->gen;
		ac.can_only = family == AF_CAN;
		ac.flows = flows;
		if (op == IG_OP_CREATE) {
			/* Interfaces the rules do not name take the default (packet). */
			ac.denied = family == AF_CAN ||
				    !(allowed_on(cfg->gen, IG_TARGET_ANYIF, cfg->dflt, 0, &ac.s,
						 ac.proto, LF_FLOW_OUT, 0, 0) ||
				      allowed_on(cfg->gen, IG_TARGET_ANYIF, cfg->dflt, 0, &ac.s,
						 ac.proto, LF_FLOW_IN, 0, 0));
			if (ac.denied)
				bpf_for_each_map_elem(&ig_ifaces, any_cb, &ac, 0);
		} else {
			bpf_for_each_map_elem(&ig_ifaces, all_cb, &ac, 0);
		}
		ok = !ac.denied;
	}
	if (ok) {
		count(IG_NCNT(fam, IG_NC_ALLOWED));
		return;
	}
	enforce = cfg->mode == IG_MODE_ENFORCE;
	if (enforce)
		bpf_send_signal(SIGKILL);
	count(IG_NCNT(fam, enforce ? IG_NC_DENIED : IG_NC_AUDITED));
	refuse_event(&ac.s, enforce ? IG_VERDICT_KILL : IG_VERDICT_AUDIT, fam, op, ifindex,
		     ac.proto, 0, 0, NULL, true);
}

/*
 * The CAN or packet socket behind a descriptor of the current task, or NULL.
 * Runs at every connect, bind and addressed send of the machine: the task's
 * table is reached by direct loads through the BTF pointer (no helper call),
 * and only the entry, which the verifier sees as a plain number, and what
 * hangs off it are read with probes.
 */
static __always_inline struct socket *gated_fd(__u64 fd)
{
	struct task_struct *t = bpf_get_current_task_btf();
	struct files_struct *files = t->files;
	struct socket *sock = NULL;
	struct file *f = NULL;
	struct fdtable *fdt;
	__u32 family;

	if (!files)
		return NULL;
	fdt = files->fdt;
	if (!fdt || fd >= fdt->max_fds ||
	    bpf_probe_read_kernel(&f, sizeof(f), (void *)fdt->fd + fd * sizeof(f)) || !f ||
	    (BPF_CORE_READ(f, f_inode, i_mode) & S_IFMT) != S_IFSOCK)
		return NULL;
	sock = BPF_CORE_READ(f, private_data);
	family = BPF_CORE_READ(sock, sk, __sk_common.skc_family);
	return family == AF_CAN || family == AF_PACKET ? sock : NULL;
}

/*
 * A call on descriptor fd naming the address at uptr (none: the socket's
 * binding decides, checked when it was made; that case, every send on a
 * connected socket, returns before the descriptor is looked at).
 */
static __always_inline void kill_check_addr(__u64 fd, __u64 uptr, __u64 len, __u32 op, __u32 flows)
{
	struct socket *sock;
	struct uaddr a = {};
	__u32 family;

	if (!uptr)
		return;
	sock = gated_fd(fd);
	if (!sock)
		return;
	family = BPF_CORE_READ(sock, sk, __sk_common.skc_family);
	/* Unreadable here (a page not present yet): judged as every interface. */
	if (len < sizeof(a) || bpf_probe_read_user(&a, sizeof(a), (void *)uptr) || a.ifindex < 0)
		a.ifindex = 0;
	/* SOCK_PACKET names the device by name: judged as every interface. */
	if (family == AF_PACKET && BPF_CORE_READ(sock, type) == SOCK_PACKET)
		a.ifindex = 0;
	kill_check(family, op, a.ifindex, flows);
}

SEC("tracepoint/syscalls/sys_enter_socket")
int ig_ksock_new(struct sys_enter_ctx *ctx)
{
	__u32 family = ctx->args[0];

	if (family == AF_CAN || family == AF_PACKET)
		kill_check(family, IG_OP_CREATE, 0, LF_FLOWS);
	return 0;
}

SEC("tracepoint/syscalls/sys_enter_bind")
int ig_ksock_bind(struct sys_enter_ctx *ctx)
{
	kill_check_addr(ctx->args[0], ctx->args[1], ctx->args[2], IG_OP_BIND, LF_FLOWS);
	return 0;
}

/* CAN BCM and J1939 name their interface at connect. */
SEC("tracepoint/syscalls/sys_enter_connect")
int ig_ksock_conn(struct sys_enter_ctx *ctx)
{
	kill_check_addr(ctx->args[0], ctx->args[1], ctx->args[2], IG_OP_CONNECT, LF_FLOWS);
	return 0;
}

SEC("tracepoint/syscalls/sys_enter_sendto")
int ig_ksock_sendto(struct sys_enter_ctx *ctx)
{
	kill_check_addr(ctx->args[0], ctx->args[4], ctx->args[5], IG_OP_SEND, LF_FLOW_OUT);
	return 0;
}

/* struct user_msghdr starts with msg_name and msg_namelen (user pointer size). */
struct umsg_head {
#if defined(__TARGET_ARCH_arm)
	__u32 name;
#else
	__u64 name;
#endif
	__s32 namelen;
};

SEC("tracepoint/syscalls/sys_enter_sendmsg")
int ig_ksock_smsg(struct sys_enter_ctx *ctx)
{
	struct umsg_head h = {};

	/*
	 * The header first: a message without an address (a connected
	 * socket's) needs no look at the descriptor. An unreadable header:
	 * judged as naming every interface.
	 */
	if (bpf_probe_read_user(&h, sizeof(h), (void *)ctx->args[1])) {
		h.name = 1;
		h.namelen = 0;
	}
	if (h.name)
		kill_check_addr(ctx->args[0], h.name, h.namelen, IG_OP_SEND, LF_FLOW_OUT);
	return 0;
}

/* --- Devices --- */

/*
 * The question's digest, before its end (dc_final). Who asks is the thread
 * (pid and start time: never reused together), the program it runs (the
 * exec count: an exec changes it) and the effective ids the rules see; all
 * are plain loads, no helper calls, on a path taken at every open.
 */
static __always_inline __u64 dc_digest(struct task_struct *t, __u64 epoch, __u32 gen, __u32 type,
				       __u32 major, __u32 minor, __u32 acc)
{
	const struct cred *cred = t->real_cred;
	__u64 h = 0x6967646576636163ULL;

	h = dc_mix(h, (__u64)t->pid << 32 | cred->euid.val);
	h = dc_mix(h, t->start_time);
	h = dc_mix(h, (__u64)t->self_exec_id << 32 | gen);
	h = dc_mix(h, (__u64)cred->egid.val << 32 | type << 8 | acc);
	h = dc_mix(h, (__u64)major << 32 | minor);
	return dc_mix(h, epoch);
}

/* The digest with the counter slot the answer is kept with: bit 0 clear, never 0. */
static __always_inline __u64 dc_final(__u64 h, __u32 slot)
{
	return mix_end(dc_mix(h, slot));
}

/* Keeps an answer: the slot first, then the word that vouches for it. */
static __always_inline void dc_keep(struct devcache *dc, __u64 word, __u32 slot)
{
	*(volatile __u32 *)&dc->slot = slot;
	asm volatile("" ::: "memory");
	*(volatile __u64 *)&dc->word = word;
}

/* Returns true if the access is refused. */
static __always_inline bool dev_check(__u32 type, __u32 major, __u32 minor, __u32 acc)
{
	struct ig_net_config snap, *cfg = &snap;
	struct task_struct *t = bpf_get_current_task_btf();
	struct ig_dev_key k = {};
	struct ig_net_event *e;
	struct devcache *dc;
	struct ig_dev_val *dv;
	__u64 h, word, e1;
	__u32 zero = 0, slot;
	struct query q;
	struct subj s;
	bool denied = false;

	if (!acc || !cfg_snapshot(cfg))
		return false;
	h = dc_digest(t, cfg->epoch, cfg->gen, type, major, minor, acc);
	dc = bpf_map_lookup_elem(&ig_dev_cache, &zero);
	if (dc) {
		slot = *(volatile const __u32 *)&dc->slot;
		word = *(volatile const __u64 *)&dc->word;
		if ((word & ~1ULL) == dc_final(h, slot)) {
			if (word & 1)
				count_dev(IG_NC_ALLOWED, slot);
			return false;
		}
	}
	/* Seqcount style, as skb_check: the entries read after the epoch is. */
	e1 = epoch_fenced();
	if (e1 != cfg->epoch)
		dc = NULL; /* answered, not kept */
	k.type = type;
	k.major = major;
	k.minor = minor;
	k.gen = cfg->gen;
	dv = bpf_map_lookup_elem(&ig_devs, &k);
	if (!dv) {
		k.minor = IG_MINOR_ANY;
		dv = bpf_map_lookup_elem(&ig_devs, &k);
	}
	if (!dv) {
		/* not gated */
		if (dc && epoch_fenced() == e1)
			dc_keep(dc, dc_final(h, IG_DEV_SLOT_NONE), IG_DEV_SLOT_NONE);
		return false;
	}
	task_subject(t, &s);
	q.gen = cfg->gen;
	q.target = dv->target;
	q.proto = IG_P_ANY;
	q.port = 0;
	q.dir = IG_ACC_READ;
	if ((acc & IG_ACC_READ) && ig_eval(&q, &s) != IG_RV_ALLOW)
		denied = true;
	q.dir = IG_ACC_WRITE;
	if ((acc & IG_ACC_WRITE) && ig_eval(&q, &s) != IG_RV_ALLOW)
		denied = true;
	slot = dev_slot(type, major, minor);
	if (!denied) {
		count_dev(IG_NC_ALLOWED, slot);
		if (dc && epoch_fenced() == e1)
			dc_keep(dc, dc_final(h, slot) | 1, slot);
		return false;
	}
	if (dc)
		*(volatile __u64 *)&dc->word = 0;
	count_dev(cfg->mode == IG_MODE_ENFORCE ? IG_NC_DENIED : IG_NC_AUDITED, slot);
	e = bpf_ringbuf_reserve(&ig_net_ev, sizeof(*e), 0);
	if (e) {
		fill_event(e, &s, IG_EV_DEV,
			   cfg->mode == IG_MODE_ENFORCE ? IG_VERDICT_DENY : IG_VERDICT_AUDIT,
			   IG_FAM_DEV, IG_OP_OPEN);
		e->pid = bpf_get_current_pid_tgid() >> 32;
		e->major = major;
		e->minor = minor;
		e->access = acc;
		e->proto = type;
		bpf_get_current_comm(e->comm, sizeof(e->comm));
		bpf_ringbuf_submit(e, 0);
	} else {
		count(IG_NCNT_EVENTS_LOST);
	}
	return cfg->mode == IG_MODE_ENFORCE;
}

SEC("cgroup/dev")
int ig_dev(struct bpf_cgroup_dev_ctx *ctx)
{
	__u32 type = ctx->access_type & 0xffff, a = ctx->access_type >> 16, acc = 0;

	if (a & DEVCG_ACC_READ)
		acc |= IG_ACC_READ;
	if (a & DEVCG_ACC_WRITE)
		acc |= IG_ACC_WRITE;
	/* mknod is never refused: opening the node is what is gated. */
	return dev_check(type == DEVCG_DEV_BLOCK ? IG_DEV_BLOCK : IG_DEV_CHAR, ctx->major,
			 ctx->minor, acc) ?
		       0 :
		       1;
}

/*
 * Side doors to physical memory and I/O ports that open no device node:
 * /proc/kcore, ioperm(2) and iopl(2) ask the kernel's lockdown check. They
 * are judged as an open of /dev/mem (kcore) or /dev/port (I/O ports), so
 * device class mem (iotgate.conf(5)) covers them (full tier).
 */
/*
 * -EPERM if deny, else 0, as two constants: clang turns "deny ? -EPERM : 0"
 * into a negation, whose result the verifier cannot bound, and from 6.12 on
 * it refuses an LSM program whose return value may leave [-4095, 0].
 */
static __always_inline int lsm_deny(bool deny)
{
	if (deny) {
		asm volatile("" ::: "memory");
		return -EPERM;
	}
	return 0;
}

SEC("lsm/locked_down")
int BPF_PROG(ig_locked_down, enum lockdown_reason what, int ret)
{
	if (ret)
		return ret;
	/* Reading kernel memory: a read of /dev/mem. */
	if (what == bpf_core_enum_value(enum lockdown_reason, LOCKDOWN_KCORE) ||
	    what == bpf_core_enum_value(enum lockdown_reason, LOCKDOWN_DEV_MEM))
		return lsm_deny(dev_check(DEVCG_DEV_CHAR, 1, 1, IG_ACC_READ));
	/* I/O port access is read and write: as /dev/port opened rw. */
	if (what == bpf_core_enum_value(enum lockdown_reason, LOCKDOWN_IOPORT))
		return lsm_deny(dev_check(DEVCG_DEV_CHAR, 1, 4, IG_ACC_READ | IG_ACC_WRITE));
	return 0;
}

/*
 * --- Full tier: a controlled interface keeps its identity ---
 *
 * While the rules are loaded, nobody renames a controlled interface (one a
 * declaration is bound to, IG_IF_BOUND), moves it to another network
 * namespace, deletes it, enslaves it to a bridge or bond, or stacks a
 * device on it (VLAN, macvlan, ipvlan: IFLA_LINK). Seen where every link
 * change passes: rtnetlink messages (netlink_send) and the old ioctls.
 * The daemon itself never changes links, so nobody is exempt.
 */
#define NETLINK_ROUTE 0
#define RTM_NEWLINK 16
#define RTM_DELLINK 17
#define RTM_SETLINK 19
#define RTM_NEWLINKPROP 108 /* adds an alternative name */
#define NLM_F_EXCL 0x200
#define IFLA_IFNAME 3
#define IFLA_LINK 5
#define IFLA_MASTER 10
#define IFLA_NET_NS_PID 19
#define IFLA_NET_NS_FD 28
#define IFLA_TARGET_NETNSID 46
#define IFLA_ALT_IFNAME 53
#define NLA_TYPE_MASK 0x3fff
#define IG_NL_MSGS 64 /* messages looked at in one send; more: refused */
#define IG_NL_ATTRS 48 /* attributes looked at in one link message; more: refused */
#define SIOCSIFNAME 0x8923
#define SIOCBONDENSLAVE 0x8990
#define SIOCSIFVLAN 0x8983
#define SIOCBRADDIF 0x89a2
#define ADD_VLAN_CMD 0

struct namectx {
	__u64 netns;
	__u32 gen;
	__u32 ifindex; /* found, else 0 */
	char name[16];
};

/* Any interface the daemon knows by that name, controlled or not. */
static long name_cb(struct bpf_map *map, struct ig_if_key *key, struct ig_if_val *val,
		    struct namectx *c)
{
	if (key->gen != c->gen || key->netns != c->netns)
		return 0;
	for (int i = 0; i < 16; i++) {
		if (val->name[i] != c->name[i])
			return 0;
		if (!c->name[i])
			break;
	}
	c->ifindex = key->ifindex;
	return 1;
}

/* The controlled interface of that index (0: none) in the namespace. */
static __always_inline struct ig_if_val *controlled(struct ig_net_config *cfg, __u64 netns,
						    __u32 ifindex)
{
	struct ig_if_key k = { .netns = netns, .ifindex = ifindex, .gen = cfg->gen };
	struct ig_if_val *v;

	if (!ifindex)
		return NULL;
	v = bpf_map_lookup_elem(&ig_ifaces, &k);
	return v && (v->flags & IG_IF_BOUND) ? v : NULL;
}

static __always_inline __u32 known_name(struct ig_net_config *cfg, __u64 netns, struct namectx *c)
{
	c->netns = netns;
	c->gen = cfg->gen;
	c->ifindex = 0;
	bpf_for_each_map_elem(&ig_ifaces, name_cb, c, 0);
	return c->ifindex;
}

static __always_inline bool same_name(const char *a, const char *b)
{
	for (int i = 0; i < 16; i++) {
		if (a[i] != b[i])
			return false;
		if (!a[i])
			break;
	}
	return true;
}

#define IFLA_LINKINFO 18
#define IFLA_INFO_KIND 1
#define IFLA_INFO_DATA 2
#define IG_NL_NESTED 16

static __always_inline bool kind_is(const char *k, const char *lit, int n)
{
	for (int i = 0; i < n; i++)
		if (k[i] != lit[i])
			return false;
	return true;
}

/*
 * The attribute a tunnel kind names its underlay by, from IFLA_INFO_KIND's
 * bytes at kind: vxlan's IFLA_VXLAN_LINK (3); attribute 1 of the GRE,
 * IP-in-IP, SIT, ip6tnl and VTI kinds; 0 for other kinds, ~0 when not
 * readable. Global: verified once.
 */
__noinline __u32 ig_nl_kind(__u64 kind_at)
{
	char kind[8] = {};

	if (bpf_probe_read_kernel(kind, sizeof(kind) - 1, (void *)kind_at))
		return ~0u;
	if (kind_is(kind, "vxlan", 6))
		return 3;
	if (kind_is(kind, "gre", 3) || kind_is(kind, "ip6gre", 6) || kind_is(kind, "ipip", 5) ||
	    kind_is(kind, "sit", 4) || kind_is(kind, "ip6tnl", 7) || kind_is(kind, "vti", 3) ||
	    kind_is(kind, "erspan", 6) || kind_is(kind, "ip6erspan", 7))
		return 1;
	return 0;
}

/*
 * Attribute want's u32 in the IFLA_INFO_DATA attribute at data (len bytes,
 * header included): 0 when absent, ~0 when not readable or when it has more
 * attributes than are looked at (an underlay may hide behind them). The last
 * of the type counts, as in the kernel's nla_parse. Global: verified once.
 */
__noinline __u32 ig_nl_data(__u64 data, __u32 len, __u32 want)
{
	__u32 off = 4, under = 0;

	for (int i = 0; i < IG_NL_ATTRS; i++) {
		struct {
			__u16 len;
			__u16 type;
		} a;

		if (off + 4 > len)
			return under;
		if (bpf_probe_read_kernel(&a, sizeof(a), (void *)(data + off)) || a.len < 4 ||
		    a.len > len - off)
			return ~0u;
		if ((a.type & NLA_TYPE_MASK) == want && a.len >= 8 &&
		    bpf_probe_read_kernel(&under, sizeof(under), (void *)(data + off + 4)))
			return ~0u;
		off += (a.len + 3) & ~3u;
	}
	return ~0u;
}

/*
 * The underlay a tunnel names in its kind's own attributes (IFLA_LINKINFO at
 * data, len bytes): 0 none, ~0 not readable. The kind and its data are
 * located first, in any order (the kernel parses them so).
 */
__noinline __u32 ig_nl_underlay(__u64 data, __u32 len)
{
	__u32 off = 4, kind = 0, info = 0, ilen = 0, want;

	for (int i = 0; i < IG_NL_NESTED; i++) {
		struct {
			__u16 len;
			__u16 type;
		} a;
		__u32 t;

		if (off + 4 > len)
			break;
		if (bpf_probe_read_kernel(&a, sizeof(a), (void *)(data + off)) || a.len < 4 ||
		    a.len > len - off)
			return ~0u;
		t = a.type & NLA_TYPE_MASK;
		if (t == IFLA_INFO_KIND) {
			kind = off;
		} else if (t == IFLA_INFO_DATA) {
			info = off;
			ilen = a.len;
		}
		off += (a.len + 3) & ~3u;
	}
	if (off + 4 <= len)
		return ~0u; /* more attributes than are looked at */
	if (!kind || !info)
		return 0;
	want = ig_nl_kind(data + kind + 4);
	if (!want || want == ~0u)
		return want;
	return ig_nl_data(data + info, ilen, want);
}

struct nlreq {
	__u64 netns;
	__u32 ifindex; /* out: the controlled interface */
	__u32 pad;
};

/*
 * Returns its argument. The verifier does not follow values through a
 * global function (nor the compiler through the asm), so what is derived
 * from the result is no constant to it: the attribute offsets below then do
 * not multiply the states it explores per loop round (known 0/1 flags did,
 * past its limit of 1M instructions).
 */
__noinline __u32 ig_nl_opaque(__u32 x)
{
	asm volatile("" : "+r"(x));
	return x;
}

/*
 * The name in the attribute at off (header included). Returns 0; 1 when it
 * is longer than 15 bytes (no name the daemon knows); <0 when unreadable.
 */
static __always_inline int nl_name(__u64 data, __u32 off, char name[16])
{
	__u16 alen;
	__u32 n;

	__builtin_memset(name, 0, 16);
	if (bpf_probe_read_kernel(&alen, sizeof(alen), (void *)(data + off)) || alen < 4)
		return -1;
	/* Not always NUL-terminated: exactly the attribute's bytes. */
	n = alen - 4;
	if (n > 16)
		return 1;
	if (n && bpf_probe_read_kernel(name, n, (void *)(data + off + 4)))
		return -1;
	return name[15] ? 1 : 0;
}

#define IFLA_GROUP 27
#define IFLA_LINK_NETNSID 37
#define NLM_F_CREATE 0x400

/*
 * One rtnetlink message: the IG_OP_* refused, or 0. The attributes are
 * located first (the last of a type counts, as in the kernel's nla_parse),
 * then judged.
 */
__noinline __u32 ig_nl_msg(__u64 data, __u32 len, struct nlreq *r)
{
	struct {
		__u32 len;
		__u16 type;
		__u16 flags;
		__u32 seq;
		__u32 pid;
		__u8 family;
		__u8 pad;
		__u16 iftype;
		__s32 index;
		__u32 ifflags;
		__u32 change;
	} h;
	struct ig_net_config *cfg = active_cfg();
	/* attribute offsets, 0: absent; none a constant to the verifier */
	__u32 name = ig_nl_opaque(0), alt = name, link = name, info = name, master = name,
	      move = name, foreign = name, group = name;
	__u32 off = name + 32, done = 0, ifindex = 0, under = 0, lookup;
	struct namectx nc = {};
	struct ig_if_val *v;
	int nr = 0;

	if (!r || !cfg || len < 32)
		return 0;
	if (bpf_probe_read_kernel(&h, sizeof(h), (void *)data))
		return IG_OP_OPAQUE;
	if (h.type != RTM_NEWLINK && h.type != RTM_DELLINK && h.type != RTM_SETLINK &&
	    h.type != RTM_NEWLINKPROP)
		return 0;
	for (int i = 0; i < IG_NL_ATTRS; i++) {
		struct {
			__u16 len;
			__u16 type;
		} a;
		__u32 t;

		if (off + 4 > len) {
			done = 1;
			break;
		}
		if (bpf_probe_read_kernel(&a, sizeof(a), (void *)(data + off)) || a.len < 4 ||
		    a.len > len - off)
			return IG_OP_OPAQUE;
		t = a.type & NLA_TYPE_MASK;
		if (t == IFLA_IFNAME)
			name = off;
		else if (t == IFLA_ALT_IFNAME)
			alt = off;
		else if (t == IFLA_LINK)
			link = off;
		else if (t == IFLA_LINKINFO)
			info = off;
		else if (t == IFLA_MASTER)
			master = off;
		else if (t == IFLA_NET_NS_PID || t == IFLA_NET_NS_FD)
			move = off;
		else if (t == IFLA_TARGET_NETNSID || t == IFLA_LINK_NETNSID)
			foreign = off;
		else if (t == IFLA_GROUP)
			group = off;
		off += (a.len + 3) & ~3u;
	}
	if (!done)
		return IG_OP_OPAQUE;
	r->ifindex = h.index > 0 ? h.index : 0;
	/* Another namespace's interfaces by id: which one is not known here. */
	if (foreign)
		return IG_OP_FOREIGN;
	/* Nothing controlled is in another namespace (moves are refused). */
	if (r->netns != cfg->netns)
		return 0;
	if (link && bpf_probe_read_kernel(&ifindex, sizeof(ifindex), (void *)(data + link + 4)))
		return IG_OP_OPAQUE;
	if (info) {
		__u16 ilen = 0;

		if (bpf_probe_read_kernel(&ilen, sizeof(ilen), (void *)(data + info)))
			return IG_OP_OPAQUE;
		under = ig_nl_underlay(data + info, ilen);
		if (under == ~0u)
			return IG_OP_OPAQUE;
	}
	/* By index the name renames; without, it (or else the alternative one) picks. */
	lookup = h.index > 0 ? 0 : name ? name : alt;
	if (h.index <= 0 && lookup) {
		nr = nl_name(data, lookup, nc.name);
		if (nr < 0)
			return IG_OP_OPAQUE;
		r->ifindex = nr ? 0 : known_name(cfg, r->netns, &nc);
		/*
		 * A name no interface here has may be an alternative name of a
		 * controlled one: no removal, move, enslaving or new names by
		 * it. Creation (NLM_F_CREATE, else NLM_F_EXCL fails) touches no
		 * existing interface.
		 */
		if (!r->ifindex && !(h.type == RTM_NEWLINK && (h.flags & NLM_F_CREATE)) &&
		    (h.type == RTM_DELLINK || h.type == RTM_NEWLINKPROP || move || master || group))
			return IG_OP_OPAQUE;
	} else if (h.index <= 0 && group &&
		   (h.type == RTM_DELLINK ||
		    (h.type == RTM_NEWLINK && !(h.flags & NLM_F_CREATE) && (move || master)))) {
		/* Every member of a group: which ones is not known here. */
		return IG_OP_OPAQUE;
	}
	v = controlled(cfg, r->netns, r->ifindex);
	if (v) {
		if (h.type == RTM_DELLINK)
			return IG_OP_DELETE;
		if (h.type == RTM_NEWLINKPROP)
			return IG_OP_RENAME;
		if (move)
			return IG_OP_NETNS;
		if (h.index > 0 && name) {
			nr = nl_name(data, name, nc.name);
			if (nr || !same_name(v->name, nc.name))
				return IG_OP_RENAME;
		}
		if (master)
			return IG_OP_STACK;
	}
	/* A device that carries rules from below keeps them: it stays here. */
	if (move && !v && r->ifindex) {
		struct ig_if_key sk = { .netns = r->netns, .ifindex = r->ifindex, .gen = cfg->gen };
		struct ig_if_val *sv = bpf_map_lookup_elem(&ig_ifaces, &sk);

		if (sv && (sv->flags & IG_IF_STACKED))
			return IG_OP_NETNS;
	}
	if (ifindex && controlled(cfg, r->netns, ifindex)) {
		r->ifindex = ifindex;
		return IG_OP_STACK;
	}
	/* Enslaved to a controlled bridge, bond or team: a port stacked on it. */
	ifindex = 0;
	if (master && bpf_probe_read_kernel(&ifindex, sizeof(ifindex), (void *)(data + master + 4)))
		return IG_OP_OPAQUE;
	if (ifindex && controlled(cfg, r->netns, ifindex)) {
		r->ifindex = ifindex;
		return IG_OP_STACK;
	}
	if (under && controlled(cfg, r->netns, under)) {
		r->ifindex = under;
		return IG_OP_STACK;
	}
	return 0;
}

static __always_inline int link_refused(struct ig_net_config *cfg, __u32 op, __u32 ifindex)
{
	struct ig_net_event *e = bpf_ringbuf_reserve(&ig_net_ev, sizeof(*e), 0);
	struct subj s;

	task_subject(bpf_get_current_task_btf(), &s);
	if (e) {
		fill_event(e, &s, IG_EV_LINK,
			   cfg->mode == IG_MODE_ENFORCE ? IG_VERDICT_DENY : IG_VERDICT_AUDIT, 0,
			   op);
		e->pid = bpf_get_current_pid_tgid() >> 32;
		e->ifindex = ifindex;
		bpf_get_current_comm(e->comm, sizeof(e->comm));
		bpf_ringbuf_submit(e, 0);
	} else {
		count(IG_NCNT_EVENTS_LOST);
	}
	return cfg->mode == IG_MODE_ENFORCE ? -EPERM : 0;
}

SEC("lsm/netlink_send")
int BPF_PROG(ig_nl_send, struct sock *sk, struct sk_buff *skb, int ret)
{
	struct ig_net_config *cfg;
	struct nlreq r = {};
	__u32 len, off = 0, op = 0, ml;
	__u64 data;

	if (ret)
		return ret;
	if (BPF_CORE_READ(sk, sk_protocol) != NETLINK_ROUTE)
		return 0;
	cfg = active_cfg();
	if (!cfg || (cfg->flags & IG_NCF_CHANGES_OK))
		return 0;
	/*
	 * Every namespace: one may name the daemon's interfaces by namespace
	 * id (IFLA_LINK_NETNSID, IFLA_TARGET_NETNSID).
	 */
	r.netns = BPF_CORE_READ(sk, __sk_common.skc_net.net, net_cookie);
	data = (__u64)BPF_CORE_READ(skb, data);
	len = BPF_CORE_READ(skb, len);
	for (int i = 0; i < IG_NL_MSGS; i++) {
		if (off + 16 > len)
			return 0;
		if (bpf_probe_read_kernel(&ml, sizeof(ml), (void *)(data + off)) || ml < 16 ||
		    ml > len - off) {
			op = IG_OP_OPAQUE;
			break;
		}
		op = ig_nl_msg(data + off, ml, &r);
		if (op)
			break;
		off += (ml + 3) & ~3u;
	}
	if (!op)
		op = IG_OP_OPAQUE; /* more messages than are looked at */
	return link_refused(cfg, op, r.ifindex);
}

/* ifreq: the name at 0, then a union (new name, slave name, index) at 16. */
SEC("lsm/file_ioctl")
int BPF_PROG(ig_ioctl, struct file *file, unsigned int cmd, unsigned long arg, int ret)
{
	struct ig_net_config *cfg;
	struct namectx nc = {};
	struct socket *sock;
	char newname[16] = {};
	__u32 op, ifindex = 0;
	__u64 netns;

	if (ret)
		return ret;
	if (cmd != SIOCSIFNAME && cmd != SIOCBONDENSLAVE && cmd != SIOCSIFVLAN &&
	    cmd != SIOCBRADDIF)
		return 0;
	cfg = active_cfg();
	if (!cfg || (cfg->flags & IG_NCF_CHANGES_OK))
		return 0;
	/*
	 * The socket's namespace, not the task's: a socket opened here acts
	 * on this namespace's interfaces after its owner setns()es away.
	 */
	sock = bpf_sock_from_file(file);
	if (!sock)
		return 0;
	netns = BPF_CORE_READ(sock, sk, __sk_common.skc_net.net, net_cookie);
	if (netns != cfg->netns)
		return 0;
	op = cmd == SIOCSIFNAME ? IG_OP_RENAME : IG_OP_STACK;
	/* Nothing is enslaved to a controlled bridge or bond (ifr_name) either. */
	if (cmd == SIOCBRADDIF || cmd == SIOCBONDENSLAVE) {
		if (bpf_probe_read_user(nc.name, sizeof(nc.name), (void *)arg))
			return link_refused(cfg, IG_OP_OPAQUE, 0);
		nc.name[15] = 0;
		ifindex = known_name(cfg, netns, &nc);
		if (!ifindex)
			return link_refused(cfg, IG_OP_OPAQUE, 0);
		if (controlled(cfg, netns, ifindex))
			return link_refused(cfg, op, ifindex);
	}
	if (cmd == SIOCBRADDIF) {
		if (bpf_probe_read_user(&ifindex, sizeof(ifindex), (void *)(arg + 16)))
			return link_refused(cfg, IG_OP_OPAQUE, 0);
		return controlled(cfg, netns, ifindex) ? link_refused(cfg, op, ifindex) : 0;
	}
	if (bpf_probe_read_user(nc.name, sizeof(nc.name),
				(void *)(arg + (cmd == SIOCSIFNAME ? 0 :
						cmd == SIOCSIFVLAN ? 4 :
								     16))))
		return link_refused(cfg, IG_OP_OPAQUE, 0);
	nc.name[15] = 0;
	if (cmd == SIOCSIFVLAN) {
		int vcmd = 0;

		if (bpf_probe_read_user(&vcmd, sizeof(vcmd), (void *)arg))
			return link_refused(cfg, IG_OP_OPAQUE, 0);
		if (vcmd != ADD_VLAN_CMD)
			return 0;
	}
	ifindex = known_name(cfg, netns, &nc);
	/* Not a name known here: maybe an alternative name of a controlled interface. */
	if (!ifindex)
		return link_refused(cfg, IG_OP_OPAQUE, 0);
	if (!controlled(cfg, netns, ifindex))
		return 0;
	if (cmd == SIOCSIFNAME) {
		if (bpf_probe_read_user(newname, sizeof(newname), (void *)(arg + 16)))
			return link_refused(cfg, IG_OP_OPAQUE, ifindex);
		newname[15] = 0;
		if (same_name(nc.name, newname))
			return 0;
	}
	return link_refused(cfg, op, ifindex);
}

/*
 * --- Forwarded traffic (tc, both tiers) ---
 *
 * ig_fwd_in and ig_fwd_out sit on the clsact hooks of each device the
 * policy gives a forward verdict. A packet of a socket of this host is the
 * cgroup programs' (they judge it against its program's rules); these judge
 * the packets that only cross the device:
 *   out: received on some device first (skb_iif set): routed or bridged
 *        out through this one. This host's sockets' packets and the
 *        kernel's own (ARP, replies built by the stack) have no input
 *        device and pass.
 *   in:  a bridge port's frame for another host (it is bridged), or an IP
 *        packet the routing table sends elsewhere (bpf_fib_lookup: it is
 *        routed). Packets for this host, broadcast and multicast pass.
 */
#define PACKET_OTHERHOST 3
#define ETH_P_IPV6 0x86DD
#define TC_ACT_UNSPEC (-1)
#define TC_ACT_SHOT 2
#define IG_FWD_EV_NS 1000000000ull

/* Last forward event per interface and direction (ifindex * 2 + out): the rate limit. */
struct {
	__uint(type, BPF_MAP_TYPE_LRU_HASH);
	__uint(max_entries, 256);
	__type(key, __u32);
	__type(value, __u64);
} ig_fwd_ev SEC(".maps");

static __always_inline __u32 ip_proto_class(__u8 p)
{
	return p == IPPROTO_TCP				? IG_P_TCP :
	       p == IPPROTO_UDP				? IG_P_UDP :
	       p == IPPROTO_ICMP || p == IPPROTO_ICMPV6 ? IG_P_ICMP :
							  IG_P_OTHER;
}

/* Whether the routing table sends this packet on (not to this host); *proto set. */
static __always_inline bool routed(struct __sk_buff *skb, __u32 *proto)
{
	struct bpf_fib_lookup p = {};
	long rc;

	if (skb->protocol == bpf_htons(ETH_P_IP)) {
		struct iphdr ip;

		if (bpf_skb_load_bytes_relative(skb, 0, &ip, sizeof(ip), BPF_HDR_START_NET))
			return false;
		*proto = ip_proto_class(ip.protocol);
		p.family = AF_INET;
		p.tos = ip.tos;
		p.l4_protocol = ip.protocol;
		p.ipv4_src = ip.saddr;
		p.ipv4_dst = ip.daddr;
	} else if (skb->protocol == bpf_htons(ETH_P_IPV6)) {
		struct ipv6hdr ip;

		if (bpf_skb_load_bytes_relative(skb, 0, &ip, sizeof(ip), BPF_HDR_START_NET))
			return false;
		*proto = ip_proto_class(ip.nexthdr);
		p.family = AF_INET6;
		p.l4_protocol = ip.nexthdr;
		__builtin_memcpy(p.ipv6_src, &ip.saddr, 16);
		__builtin_memcpy(p.ipv6_dst, &ip.daddr, 16);
	} else {
		return false;
	}
	p.ifindex = skb->ifindex;
	rc = bpf_fib_lookup(skb, &p, sizeof(p), 0);
	/* Refused routes (blackhole, unreachable) and forwarding off: the kernel drops it. */
	return rc == BPF_FIB_LKUP_RET_SUCCESS || rc == BPF_FIB_LKUP_RET_NO_NEIGH ||
	       rc == BPF_FIB_LKUP_RET_FRAG_NEEDED || rc == BPF_FIB_LKUP_RET_UNSUPP_LWT;
}

/* A bridge port's frame addressed to the bridge itself. */
static __always_inline bool for_master(struct __sk_buff *skb, const struct ig_if_val *iv)
{
	__u8 dst[6];

	if (bpf_skb_load_bytes_relative(skb, 0, dst, 6, BPF_HDR_START_MAC))
		return false;
	for (int i = 0; i < 6; i++)
		if (dst[i] != iv->master_mac[i])
			return false;
	return true;
}

static __always_inline __u32 l4_class(struct __sk_buff *skb)
{
	__u8 p;

	if (skb->protocol == bpf_htons(ETH_P_IP)) {
		if (bpf_skb_load_bytes_relative(skb, 9, &p, 1, BPF_HDR_START_NET))
			return IG_P_OTHER;
		return ip_proto_class(p);
	}
	if (skb->protocol == bpf_htons(ETH_P_IPV6)) {
		if (bpf_skb_load_bytes_relative(skb, 6, &p, 1, BPF_HDR_START_NET))
			return IG_P_OTHER;
		return ip_proto_class(p);
	}
	return IG_P_OTHER;
}

static __noinline int fwd_refuse(struct __sk_buff *skb, struct ig_net_config *cfg, __u32 fam,
				 __u32 proto, __u32 out)
{
	struct subj s = { .uid = IG_ID_NONE, .gid = IG_ID_NONE };
	char nocomm[IG_COMM_LEN] = {};
	__u32 k, ifindex;
	__u64 now = bpf_ktime_get_ns(), *last;

	if (!skb || !cfg)
		return TC_ACT_UNSPEC;
	ifindex = skb->ifindex;
	count_if(fam, cfg->mode == IG_MODE_ENFORCE ? IG_NC_DROPPED : IG_NC_AUDITED, cfg->netns,
		 ifindex);
	k = ifindex * 2 + (out ? 1 : 0);
	last = bpf_map_lookup_elem(&ig_fwd_ev, &k);
	if (!last || now - *last >= IG_FWD_EV_NS) {
		bpf_map_update_elem(&ig_fwd_ev, &k, &now, BPF_ANY);
		refuse_event(&s, cfg->mode == IG_MODE_ENFORCE ? IG_VERDICT_DENY : IG_VERDICT_AUDIT,
			     fam, IG_OP_FORWARD, ifindex, proto, out ? 1 : 0, 0, nocomm, false);
	}
	return cfg->mode == IG_MODE_ENFORCE ? TC_ACT_SHOT : TC_ACT_UNSPEC;
}

static __always_inline int fwd_check(struct __sk_buff *skb, bool out)
{
	struct ig_net_config *cfg;
	struct ig_if_val *iv;
	struct ig_if_key k;
	__u32 proto = IG_P_OTHER, fam;

	/*
	 * Not skb->sk: a veth keeps the reference to the socket of another
	 * namespace that sent a frame (6.1), and such a frame bridged here
	 * is still forwarded traffic. What was received on a device is.
	 */
	cfg = active_cfg();
	if (!cfg)
		return TC_ACT_UNSPEC;
	k.netns = cfg->netns;
	k.ifindex = skb->ifindex;
	k.gen = cfg->gen;
	iv = bpf_map_lookup_elem(&ig_ifaces, &k);
	if (!iv || !(iv->flags & IG_IF_FWD))
		return TC_ACT_UNSPEC;
	if (out) {
		if (!skb->ingress_ifindex)
			return TC_ACT_UNSPEC;
		proto = l4_class(skb);
	} else if (skb->pkt_type == PACKET_OTHERHOST) {
		if (!(iv->flags & IG_IF_PORT))
			return TC_ACT_UNSPEC; /* the stack drops it */
		if (!for_master(skb, iv)) {
			proto = l4_class(skb);
		} else if (!routed(skb, &proto)) {
			return TC_ACT_UNSPEC; /* for the host, through the bridge device */
		}
	} else if (skb->pkt_type != 0 /* PACKET_HOST */ || !routed(skb, &proto)) {
		return TC_ACT_UNSPEC;
	}
	fam = skb->protocol == bpf_htons(ETH_P_IP)   ? IG_FAM_IPV4 :
	      skb->protocol == bpf_htons(ETH_P_IPV6) ? IG_FAM_IPV6 :
						       IG_FAM_PACKET;
	if (!(iv->flags & IG_IF_FWD_DENY)) {
		count_if(fam, IG_NC_ALLOWED, cfg->netns, skb->ifindex);
		return TC_ACT_UNSPEC;
	}
	return fwd_refuse(skb, cfg, fam, proto, out);
}

SEC("tc")
int ig_fwd_in(struct __sk_buff *skb)
{
	return fwd_check(skb, false);
}

SEC("tc")
int ig_fwd_out(struct __sk_buff *skb)
{
	return fwd_check(skb, true);
}
