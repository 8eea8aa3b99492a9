// SPDX-License-Identifier: GPL-2.0-only
/* Interface and device rules: loader, rtnetlink follower, status (see ifaces.h). */
#include <errno.h>
#include <fcntl.h>
#include <libgen.h>
#include <limits.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/inotify.h>
#include <sys/random.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/sysmacros.h>
#include <time.h>
#include <unistd.h>
#include <net/if.h> /* before the kernel's if.h */
#include <linux/if_arp.h>
#include <linux/if.h>
#include <linux/netlink.h>
#include <linux/rtnetlink.h>
#include <bpf/bpf.h>
#include <bpf/libbpf.h>
#include "iotgate.h" /* before the skeleton: it names our structs */
#include "ifaces.skel.h"
#include "bpfobj.h"
#include "lex.h"
#include "log.h"
#include "manifest.h"
#include "ifaces.h"
#include "esc.h"
#include "netpolicy.h"
#include "violation.h"

#ifndef SO_NETNS_COOKIE
#define SO_NETNS_COOKIE 71
#endif
#ifndef IFLA_PERM_ADDRESS
#define IFLA_PERM_ADDRESS 54
#endif

#define LINK_PREFIX IG_PIN_DIR "/link_"
#define MAX_NIFS 1024
#define MAX_WATCH 64

/* How a program is attached. */
enum pkind { PK_CGROUP, PK_CGDEV, PK_LSM, PK_ITER, PK_KILL };

/* Indexes into ig_net.progs (list_progs): the first of each kind. */
enum { PI_SOCK_CREATE = 0, PI_CGDEV = 3, PI_ITER = 4, PI_LSM = 7 };

struct prog {
	struct bpf_program *p;
	enum pkind kind;
	bool want; /* to be attached in this tier */
	bool pinned; /* an earlier daemon's link is pinned */
	bool created; /* this call pinned a new link */
};

struct nif {
	int ifindex;
	char name[IFNAMSIZ];
	uint8_t mac[6];
	bool has_mac;
	bool can;
	/* The declaration the device was first governed by ("": none); survives renames. */
	char bound[IFNAMSIZ];
	/* Stacked on this namespace's link (IFLA_LINK, not a veth peer), master: 0 none */
	int link, master;
	int under; /* a tunnel's underlay device (vxlan, gre, ... 'dev'): 0 none */
	bool tc; /* the forward programs are attached to it (tc_sync) */
	bool brport; /* a bridge's port (IFLA_INFO_SLAVE_KIND) */
	uint8_t addr[6]; /* its current hardware address (a bridge's: for its ports) */
};

struct watch {
	int wd;
	char *dir;
};

struct ig_net {
	struct ig_ifaces *skel;
	char *path; /* the policy file, for diagnostics */
	const struct ig_netpolicy *np; /* owned by the caller's policy */
	enum ig_tier tier;
	bool active; /* rules loaded and attached */
	bool lsm; /* BPF LSM programs attached */
	bool ksock; /* kill tier: CAN and packet sockets judged at the syscalls */
	bool cgdev; /* cgroup device program attached */
	bool iter; /* the socket iterators ran: existing TCP and UDP sockets were labeled */
	bool readopted;
	bool unlab_deny; /* IG_NCF_UNLABELLED_DENY in force */
	__u64 unlabelled; /* program sockets open before the rules that have no label */
	char why_no_lsm[256];
	char why_no_iter[256];
	struct prog progs[26];
	int nprogs;
	__u64 netns;
	__u64 epoch;
	__u32 gen;
	int nlfd, inofd;
	/* Watchers of the daemon's loop: rtnetlink, device directories, events. */
	struct ig_loop *loop;
	struct ig_watch nl_w, ino_w, rb_w;
	ig_report_fn report;
	void *report_ctx;
	__u32 nlseq;
	struct ring_buffer *rb;
	struct nif *ifs;
	size_t nifs;
	const struct nif *prev_ifs; /* during a full dump: the table before it */
	size_t nprev;
	bool dumping; /* a full dump is being read (stacked devices synced at its end) */
	struct watch watches[MAX_WATCH];
	int nwatch;
	struct ig_np_compiled comp; /* the rules in force, and what compiling them noted: */
	struct ig_diag notes;
	struct ig_verified *measured; /* the programs they name that were verified */
	size_t nmeasured;
	struct ig_net_compiled *pending; /* set_policy: to be put in force by activate */
};

static const char *const map_names[] = { "ig_sk_label", "ig_rules",    "ig_ifaces",  "ig_devs",
					 "ig_net_cfg",	"ig_net_cnt",  "ig_net_ev",  "ig_if_cnt",
					 "ig_if_cnts",	"ig_dev_slot", "ig_dev_cnts" };
/* Pins of earlier versions, removed with the others. */
static const char *const old_map_names[] = { "ig_dev_cnt" };
#define N_MAPS (sizeof(map_names) / sizeof(map_names[0]))

static const char *verdict_str(unsigned int v)
{
	return v == IG_RV_DENY ? "deny" : "allow";
}

/* --- resolution of the policy's names --- */

/* What resolution knows about measured files: the verified set in hand. */
struct res_ctx {
	const struct ig_verified *v;
	size_t nv;
	struct ig_verified *found; /* the rule programs found in v, for later recompiles */
	size_t nfound, cap;
};

static const struct ig_verified *find_verified(const struct res_ctx *rc,
					       const struct ig_file_key *key,
					       const struct ig_file_val *cur)
{
	for (size_t i = 0; i < rc->nv; i++) {
		const struct ig_verified *v = &rc->v[i];

		if (v->key.dev == key->dev && v->key.ino == key->ino &&
		    v->val.ctime_sec == cur->ctime_sec && v->val.ctime_nsec == cur->ctime_nsec)
			return v;
	}
	return NULL;
}

static int res_program(void *ctx, const char *path, struct ig_file_key *key, int64_t *csec,
		       uint32_t *cnsec, bool *measured)
{
	struct res_ctx *rc = ctx;
	struct ig_file_val cur = { 0 };
	const struct ig_verified *v;
	int fd, ret;

	fd = open(path, O_RDONLY | O_CLOEXEC | O_NOCTTY | O_NONBLOCK);
	if (fd < 0)
		return -errno;
	ret = ig_file_identity(fd, key, &cur);
	close(fd);
	if (ret)
		return ret;
	*csec = cur.ctime_sec;
	*cnsec = cur.ctime_nsec;
	/* Measured: an entry of the verified set, unchanged since it was hashed. */
	v = find_verified(rc, key, &cur);
	*measured = v != NULL;
	if (v) {
		if (rc->nfound == rc->cap) {
			size_t cap = rc->cap ? 2 * rc->cap : 8;
			struct ig_verified *nf = realloc(rc->found, cap * sizeof(*nf));

			if (!nf)
				return -ENOMEM;
			rc->found = nf;
			rc->cap = cap;
		}
		rc->found[rc->nfound++] = *v;
	}
	return 0;
}

static int res_devnode(void *ctx, const char *path, unsigned int *type, unsigned int *maj,
		       unsigned int *min)
{
	struct stat st;

	(void)ctx;
	if (stat(path, &st) < 0)
		return -errno;
	if (S_ISCHR(st.st_mode))
		*type = IG_DEV_CHAR;
	else if (S_ISBLK(st.st_mode))
		*type = IG_DEV_BLOCK;
	else
		return -ENOTBLK;
	*maj = major(st.st_rdev);
	*min = minor(st.st_rdev);
	return 0;
}

/* --- maps --- */

/* Whether existing sockets of programs may have no label. */
static bool labels_incomplete(const struct ig_net *n)
{
	return !n->readopted && (!n->iter || n->unlabelled);
}

/*
 * unlabelled-sockets (iotgate.conf(5)): explicit, or by default refused in
 * access-mode enforce when not every program socket could be labeled.
 */
static bool unlabelled_deny(const struct ig_net *n)
{
	if (!n->np || n->np->unlabelled == IG_NP_UNLAB_ALLOW)
		return false;
	if (n->np->unlabelled == IG_NP_UNLAB_DENY)
		return true;
	return n->np->mode == IG_MODE_ENFORCE && labels_incomplete(n);
}

static int write_cfg(struct ig_net *n, bool active)
{
	struct ig_net_config cfg;
	__u32 zero = 0;

	n->unlab_deny = unlabelled_deny(n);
	cfg = (struct ig_net_config){
		.netns = n->netns,
		.epoch = ++n->epoch,
		.gen = n->gen,
		.mode = n->np ? n->np->mode : IG_MODE_ENFORCE,
		.dflt = n->np ? n->np->dflt : IG_RV_ALLOW,
		.flags = (active ? IG_NCF_ACTIVE : 0) |
			 (n->unlab_deny ? IG_NCF_UNLABELLED_DENY : 0) |
			 (n->np && n->np->changes == IG_NP_CHG_ALLOW ? IG_NCF_CHANGES_OK : 0) |
			 (n->ksock ? IG_NCF_KILL : 0),
	};

	/*
	 * Every entry written before is seen by a program that reads this
	 * epoch (iotgate.h, ig_net_config.epoch): the map updates' stores
	 * were made by the kernel in this thread's program order.
	 */
	__atomic_thread_fence(__ATOMIC_SEQ_CST);
	if (bpf_map_update_elem(bpf_map__fd(n->skel->maps.ig_net_cfg), &zero, &cfg, BPF_ANY))
		return -errno;
	return 0;
}

/* Deletes every entry of generation gen from a map whose keys end with ... gen, pad?. */
static int clear_gen(int fd, size_t keysz, size_t genoff, __u32 gen)
{
	char key[64], next[64];
	char *keys = NULL;
	size_t nk = 0, cap = 0;
	void *prev = NULL;
	int ret = 0;

	while (bpf_map_get_next_key(fd, prev, next) == 0) {
		__u32 g;

		memcpy(key, next, keysz);
		prev = key;
		memcpy(&g, key + genoff, sizeof(g));
		if (g != gen)
			continue;
		if (nk == cap) {
			char *nb;

			cap = cap ? cap * 2 : 64;
			nb = realloc(keys, cap * keysz);
			if (!nb) {
				free(keys);
				return -ENOMEM;
			}
			keys = nb;
		}
		memcpy(keys + nk * keysz, key, keysz);
		nk++;
	}
	for (size_t i = 0; i < nk; i++)
		if (bpf_map_delete_elem(fd, keys + i * keysz) && errno != ENOENT)
			ret = -errno;
	free(keys);
	return ret;
}

static int clear_all_gen(struct ig_net *n, __u32 gen)
{
	int ret;

	ret = clear_gen(bpf_map__fd(n->skel->maps.ig_rules), sizeof(struct ig_rule_key),
			offsetof(struct ig_rule_key, gen), gen);
	if (!ret)
		ret = clear_gen(bpf_map__fd(n->skel->maps.ig_ifaces), sizeof(struct ig_if_key),
				offsetof(struct ig_if_key, gen), gen);
	if (!ret)
		ret = clear_gen(bpf_map__fd(n->skel->maps.ig_devs), sizeof(struct ig_dev_key),
				offsetof(struct ig_dev_key, gen), gen);
	return ret;
}

static const uint8_t *nif_mac(const struct nif *f)
{
	return f->has_mac ? f->mac : NULL;
}

/* The declaration the device's current name (or MAC address) falls under. */
static const struct ig_np_iface *name_decl(const struct ig_net *n, const struct nif *f)
{
	return ig_netpolicy_iface(n->np, f->name, nif_mac(f));
}

/* The declaration bound to the device (iotgate.conf(5), RENAMES), else its name's. */
static const struct ig_np_iface *own_decl(const struct ig_net *n, const struct nif *f)
{
	const struct ig_np_iface *pi = f->bound[0] ? ig_netpolicy_decl(n->np, f->bound) : NULL;

	return pi ? pi : name_decl(n, f);
}

/*
 * Rules bind to the device: the first declaration that governs it stays its
 * own through renames (a declaration the policy no longer has is dropped).
 * Called whenever the device or the policy changes.
 */
static void bind_nif(const struct ig_net *n, struct nif *f)
{
	const struct ig_np_iface *pi;

	if (!n->np)
		return;
	if (f->bound[0] && ig_netpolicy_decl(n->np, f->bound))
		return;
	pi = name_decl(n, f);
	snprintf(f->bound, sizeof(f->bound), "%s", pi ? pi->name : "");
}

static unsigned int decl_dflt(const struct ig_net *n, const struct ig_np_iface *pi)
{
	return pi && pi->dflt != IG_RV_NOMATCH ? pi->dflt : n->np->dflt;
}

static struct nif *find_nif(struct ig_net *n, int ifindex);
static int key_if_slot(struct ig_net *n, __u32 ifindex, bool clear);

/* A declaration's forward verdict: its own, deny when disabled, else none (allow). */
static unsigned int decl_fwd(const struct ig_np_iface *pi)
{
	if (!pi)
		return IG_RV_NOMATCH;
	if (pi->fwd != IG_RV_NOMATCH)
		return pi->fwd;
	return pi->disabled ? IG_RV_DENY : IG_RV_NOMATCH;
}

/* The stricter of two forward verdicts: deny, else allow, else none. */
static unsigned int fwd_stricter(unsigned int a, unsigned int b)
{
	if (a == IG_RV_DENY || b == IG_RV_DENY)
		return IG_RV_DENY;
	return a == IG_RV_ALLOW || b == IG_RV_ALLOW ? IG_RV_ALLOW : IG_RV_NOMATCH;
}

/* How deep devices stack (a VLAN on a bond port of a bridge ...); a loop ends here. */
#define FWD_DEPTH 8

/*
 * The forward verdict of a device: the stricter of its declarations' and,
 * for a device stacked on others, theirs (iotgate.conf(5), forward): what
 * it carries crosses the lower device without passing that device's hooks
 * (a VLAN or macvlan with an address of its own, a tunnel whose underlay it
 * is, a bridge's or bond's ports for their master). *from: the device
 * below whose declaration the verdict comes from, NULL when its own.
 */
static unsigned int fwd_verdict(const struct ig_net *n, const struct nif *f, int depth,
				const struct nif **from)
{
	unsigned int v = fwd_stricter(decl_fwd(own_decl(n, f)), decl_fwd(name_decl(n, f)));
	const int lower[] = { f->link, f->under, f->master };

	if (from)
		*from = NULL;
	if (depth >= FWD_DEPTH)
		return v;
	for (size_t i = 0; i < sizeof(lower) / sizeof(lower[0]); i++) {
		const struct nif *l = lower[i] ? find_nif((struct ig_net *)n, lower[i]) : NULL;
		const struct nif *lfrom;
		unsigned int s;

		if (!l || l == f)
			continue;
		s = fwd_stricter(v, fwd_verdict(n, l, depth + 1, &lfrom));
		if (s != v && from)
			*from = lfrom ? lfrom : l;
		v = s;
	}
	return v;
}

/* IG_IF_FWD and IG_IF_FWD_DENY from fwd_verdict(). */
static __u32 fwd_flags(const struct ig_net *n, const struct nif *f)
{
	unsigned int v = fwd_verdict(n, f, 0, NULL);

	if (v == IG_RV_DENY)
		return IG_IF_FWD | IG_IF_FWD_DENY;
	return v == IG_RV_ALLOW ? IG_IF_FWD : 0;
}

/* How many declarations below one device its entry can carry (target, target2, target3). */
#define LOWER_MAX 3

/*
 * The declarations of the devices a stacked device sends through
 * (iotgate.conf(5), STACKED DEVICES), nearest first and each once, up to
 * FWD_DEPTH levels: the device it is stacked on (IFLA_LINK), a tunnel's
 * underlay, a master's ports, and for a port its master. Other ports of a
 * master reached that way are not below: what they send does not go
 * through it. *from: the nearest declared device; *more: some did not fit.
 */
static size_t lower_decls(const struct ig_net *n, const struct nif *f,
			  const struct ig_np_iface **out, const struct nif **from, bool *more)
{
	const struct nif *q[64];
	int depth[64]; /* negative: reached as the start's master (its ports are not below) */
	size_t head = 0, tail = 0, nout = 0;

	*from = NULL;
	*more = false;
	q[tail] = f;
	depth[tail++] = 0;
	while (head < tail) {
		const struct nif *c = q[head];
		int d = depth[head] < 0 ? -depth[head] : depth[head];
		bool up = depth[head++] < 0;
		const struct ig_np_iface *pi = c != f ? own_decl(n, c) : NULL;
		int below[3] = { c->link, c->under, 0 };

		if (pi) {
			bool seen = false;

			for (size_t i = 0; i < nout; i++)
				seen |= out[i] == pi;
			if (!seen && nout < LOWER_MAX) {
				if (!nout)
					*from = c;
				out[nout++] = pi;
			} else if (!seen) {
				*more = true;
			}
		}
		if (d >= FWD_DEPTH)
			continue;
		/* A port sends through itself, not its master: only the start goes up. */
		if (c == f)
			below[2] = c->master;
		for (size_t i = 0; i < n->nifs + 3 && tail < sizeof(q) / sizeof(q[0]); i++) {
			const struct nif *l = NULL;
			bool dup = false;

			if (i < 3 && below[i])
				l = find_nif((struct ig_net *)n, below[i]);
			else if (i >= 3 && !up && n->ifs[i - 3].master == c->ifindex)
				l = &n->ifs[i - 3]; /* c is the master of this port */
			if (!l)
				continue;
			for (size_t k = 0; k < tail; k++)
				dup |= q[k] == l;
			if (!dup) {
				q[tail] = l;
				depth[tail++] = i == 2 ? -(d + 1) : d + 1;
			}
		}
	}
	return nout;
}

static void iface_val(struct ig_net *n, const struct nif *f, struct ig_if_val *v)
{
	const struct ig_np_iface *pi = own_decl(n, f), *cur = name_decl(n, f);
	const struct ig_np_iface *low[LOWER_MAX];
	const struct nif *from;
	bool more;
	size_t nl = lower_decls(n, f, low, &from, &more), li = 0;

	(void)from;

	memset(v, 0, sizeof(*v));
	v->target = ig_netpolicy_target(n->np, pi);
	v->flags = (pi && pi->disabled ? IG_IF_DISABLED : 0) | (f->can ? IG_IF_CAN : 0) |
		   (pi ? IG_IF_BOUND : 0) | fwd_flags(n, f);
	if (f->brport && f->master) {
		const struct nif *m = find_nif(n, f->master);

		v->flags |= IG_IF_PORT;
		if (m)
			memcpy(v->master_mac, m->addr, 6);
	}
	v->dflt = decl_dflt(n, pi);
	/* Renamed to a name the policy declares as well: the stricter of the two. */
	if (cur && cur != pi) {
		v->flags |= IG_IF_ALSO | (cur->disabled ? IG_IF_DISABLED : 0);
		v->target2 = ig_netpolicy_target(n->np, cur);
		v->dflt2 = decl_dflt(n, cur);
	}
	/*
	 * Stacked: the declarations below, in the slots left (the device's
	 * own rules, when it has a declaration, and theirs: the strictest).
	 */
	if (nl)
		v->flags |= IG_IF_STACKED;
	if (nl && !pi) {
		v->target = ig_netpolicy_target(n->np, low[0]);
		v->dflt = decl_dflt(n, low[0]);
		v->flags |= low[0]->disabled ? IG_IF_DISABLED : 0;
		li = 1;
	}
	if (li < nl && !(v->flags & IG_IF_ALSO)) {
		v->flags |= IG_IF_ALSO | (low[li]->disabled ? IG_IF_DISABLED : 0);
		v->target2 = ig_netpolicy_target(n->np, low[li]);
		v->dflt2 = decl_dflt(n, low[li]);
		li++;
	}
	if (li < nl) {
		v->flags |= IG_IF_LOWER | (low[li]->disabled ? IG_IF_DISABLED : 0);
		v->target3 = ig_netpolicy_target(n->np, low[li]);
		v->dflt3 = (__u16)decl_dflt(n, low[li]);
		li++;
	}
	/* More declarations below than slots: nothing passes rather than too much. */
	if (li < nl || more)
		v->flags |= IG_IF_DISABLED;
	memcpy(v->name, f->name, sizeof(v->name));
}

/* The nearest declared device whose socket rules a stacked device carries, else NULL. */
static const struct nif *rules_from(const struct ig_net *n, const struct nif *f)
{
	const struct ig_np_iface *low[LOWER_MAX];
	const struct nif *from;
	bool more;

	return lower_decls(n, f, low, &from, &more) ? from : NULL;
}

/*
 * --- forwarded traffic: tc programs on the devices with a forward verdict ---
 *
 * clsact everywhere (bpf_tc_attach), not tcx: one way for Debian 6.1 and
 * newer kernels. A filter is no link: it stays with the device after the
 * daemon exits (enforcement goes on, like the pinned links) and goes with the
 * device. Our filter is the one at IG_TC_HANDLE/IG_TC_PRIO: attaching
 * replaces it, so a restarted daemon re-adopts it (exactly one per hook)
 * with its own program. The clsact qdisc stays when ours goes (other
 * filters may use it).
 */
static int tc_detach(int ifindex)
{
	static const enum bpf_tc_attach_point pts[] = { BPF_TC_INGRESS, BPF_TC_EGRESS };
	int ret = 0;

	for (size_t i = 0; i < 2; i++) {
		LIBBPF_OPTS(bpf_tc_hook, hook, .ifindex = ifindex, .attach_point = pts[i]);
		LIBBPF_OPTS(bpf_tc_opts, o, .handle = IG_TC_HANDLE, .priority = IG_TC_PRIO);
		int r = bpf_tc_detach(&hook, &o);

		/* None there: no filter, no clsact, or the device is gone. */
		if (r && r != -ENOENT && r != -EINVAL && r != -ENODEV && !ret)
			ret = r;
	}
	return ret;
}

static int tc_fd(const struct ig_net *n, bool out)
{
	return bpf_program__fd(out ? n->skel->progs.ig_fwd_out : n->skel->progs.ig_fwd_in);
}

static int tc_attach(const struct ig_net *n, int ifindex)
{
	LIBBPF_OPTS(bpf_tc_hook, in, .ifindex = ifindex, .attach_point = BPF_TC_INGRESS);
	LIBBPF_OPTS(bpf_tc_hook, eg, .ifindex = ifindex, .attach_point = BPF_TC_EGRESS);
	LIBBPF_OPTS(bpf_tc_opts, oi, .handle = IG_TC_HANDLE, .priority = IG_TC_PRIO,
		    .flags = BPF_TC_F_REPLACE);
	LIBBPF_OPTS(bpf_tc_opts, oe, .handle = IG_TC_HANDLE, .priority = IG_TC_PRIO,
		    .flags = BPF_TC_F_REPLACE);
	int r = bpf_tc_hook_create(&in);

	if (r && r != -EEXIST)
		return r;
	oi.prog_fd = tc_fd(n, false);
	oe.prog_fd = tc_fd(n, true);
	r = bpf_tc_attach(&in, &oi);
	if (!r)
		r = bpf_tc_attach(&eg, &oe);
	return r;
}

/* Attaches or removes the forward programs of one device; all: whatever it had before. */
static int tc_sync(struct ig_net *n, struct nif *f, bool all)
{
	bool want = n->active && n->np && fwd_flags(n, f);
	int r = 0;

	if (want && (all || !f->tc))
		r = tc_attach(n, f->ifindex);
	else if (!want && (all || f->tc))
		r = tc_detach(f->ifindex);
	f->tc = want && !r;
	return r;
}

static int tc_sync_all(struct ig_net *n)
{
	int ret = 0;

	for (size_t i = 0; i < n->nifs; i++) {
		int r = tc_sync(n, &n->ifs[i], true);

		if (r && !ret)
			ret = r;
	}
	return ret;
}

/* stop-enforcing and a policy without rules: our filters go from every device. */
static void tc_detach_all(void)
{
	struct if_nameindex *ifs = if_nameindex();

	for (struct if_nameindex *i = ifs; i && i->if_index; i++)
		tc_detach(i->if_index);
	if_freenameindex(ifs);
}

static int put_iface(struct ig_net *n, const struct nif *f, __u32 gen)
{
	struct ig_if_key k = { .netns = n->netns, .ifindex = f->ifindex, .gen = gen };
	struct ig_if_val v;

	iface_val(n, f, &v);
	if (bpf_map_update_elem(bpf_map__fd(n->skel->maps.ig_ifaces), &k, &v, BPF_ANY))
		return -errno;
	return 0;
}

/*
 * After a device changed: what is stacked on devices takes their forward
 * verdict (fwd_verdict) and a port its bridge's address, so the devices
 * with a lower one or a master are written again where their entry changed,
 * and get or lose the forward programs.
 */
static int sync_stacked(struct ig_net *n)
{
	int fd = bpf_map__fd(n->skel->maps.ig_ifaces), ret = 0;

	for (size_t i = 0; i < n->nifs; i++) {
		struct nif *f = &n->ifs[i];
		struct ig_if_key k = { .netns = n->netns, .ifindex = f->ifindex, .gen = n->gen };
		struct ig_if_val v, cur;
		int r = 0;

		/* Any device: a master takes its ports' rules (lower_decls). */
		iface_val(n, f, &v);
		if (bpf_map_lookup_elem(fd, &k, &cur) || memcmp(&cur, &v, sizeof(v)))
			r = put_iface(n, f, n->gen);
		if (!r)
			r = tc_sync(n, f, false);
		if (r && !ret)
			ret = r;
	}
	return ret;
}

/* Writes the compiled policy and the interfaces under generation gen. */
static int fill_gen(struct ig_net *n, __u32 gen)
{
	int rfd = bpf_map__fd(n->skel->maps.ig_rules), dfd = bpf_map__fd(n->skel->maps.ig_devs);
	int ret;

	ret = clear_all_gen(n, gen); /* leftovers of the swap before last */
	if (ret)
		return ret;
	for (size_t i = 0; i < n->comp.nsets; i++) {
		struct ig_rule_key k = n->comp.keys[i];

		k.gen = gen;
		if (bpf_map_update_elem(rfd, &k, &n->comp.sets[i], BPF_ANY))
			return -errno;
	}
	for (size_t i = 0; i < n->comp.ndevs; i++) {
		struct ig_dev_key k = n->comp.devkeys[i];

		k.gen = gen;
		if (bpf_map_update_elem(dfd, &k, &n->comp.devvals[i], BPF_ANY))
			return -errno;
	}
	/* All bound first: a stacked device's entry depends on the devices below it. */
	for (size_t i = 0; i < n->nifs; i++)
		bind_nif(n, &n->ifs[i]);
	for (size_t i = 0; i < n->nifs; i++) {
		ret = put_iface(n, &n->ifs[i], gen);
		if (ret)
			return ret;
	}
	return 0;
}

static char *read_text(const char *path)
{
	char *buf = NULL;
	size_t len;

	if (ig_read_file(path, 1 << 20, &buf, &len))
		return NULL;
	return buf;
}

void ig_net_compiled_free(struct ig_net_compiled *c)
{
	if (!c)
		return;
	ig_np_compiled_free(&c->comp);
	ig_diag_free(&c->notes);
	free(c->measured);
	memset(c, 0, sizeof(*c));
}

static int compile(const struct ig_netpolicy *np, const char *file, const struct ig_verified *v,
		   size_t nv, struct ig_net_compiled *out, struct ig_diag *err)
{
	struct res_ctx rc = { .v = v, .nv = nv };
	struct ig_np_resolver res = { res_program, res_devnode, NULL, &rc };
	char *proc_devices = read_text("/proc/devices");
	int ret;

	memset(out, 0, sizeof(*out));
	ig_diag_init(&out->notes);
	res.proc_devices = proc_devices;
	ret = ig_netpolicy_compile(np, file, &res, &out->comp, err, &out->notes);
	free(proc_devices);
	out->measured = rc.found;
	out->nmeasured = rc.nfound;
	if (ret)
		ig_net_compiled_free(out);
	return ret;
}

int ig_net_compile(const struct ig_policy *p, const struct ig_verified *v, size_t nv,
		   struct ig_net_compiled *out, struct ig_diag *err)
{
	return compile(p->net, p->path ? p->path : "policy", v, nv, out, err);
}

/*
 * Puts compiled rules in force (map writes only): the new generation
 * written, made live in one update, the old one removed. c is taken over.
 */
static int commit_rules(struct ig_net *n, struct ig_net_compiled *c)
{
	struct ig_net_compiled old = { .comp = n->comp,
				       .notes = n->notes,
				       .measured = n->measured,
				       .nmeasured = n->nmeasured };
	__u32 next = n->gen ^ 1;
	int ret;

	n->comp = c->comp;
	n->notes = c->notes;
	n->measured = c->measured;
	n->nmeasured = c->nmeasured;
	memset(c, 0, sizeof(*c));
	ret = fill_gen(n, next);
	if (!ret) {
		n->gen = next;
		ret = write_cfg(n, true);
	}
	if (ret) {
		/* The generation in force stays, and so does what describes it. */
		struct ig_net_compiled failed = { .comp = n->comp,
						  .notes = n->notes,
						  .measured = n->measured };

		ig_net_compiled_free(&failed);
		n->comp = old.comp;
		n->notes = old.notes;
		n->measured = old.measured;
		n->nmeasured = old.nmeasured;
		return ret;
	}
	ig_net_compiled_free(&old);
	ret = clear_all_gen(n, next ^ 1);
	if (!ret)
		ret = tc_sync_all(n);
	return ret;
}

/*
 * Compiles the rules in force again against the system as it is now (a
 * device node appeared), with the programs verified when they were
 * compiled, and swaps them in.
 */
static int swap_rules(struct ig_net *n, struct ig_diag *d)
{
	struct ig_net_compiled c;
	int ret = compile(n->np, n->path, n->measured, n->nmeasured, &c, d);

	if (!ret)
		ret = commit_rules(n, &c);
	ig_net_compiled_free(&c);
	return ret;
}

/* --- rtnetlink --- */

static struct nif *find_nif(struct ig_net *n, int ifindex)
{
	for (size_t i = 0; i < n->nifs; i++)
		if (n->ifs[i].ifindex == ifindex)
			return &n->ifs[i];
	return NULL;
}

static const char *ifname_of(struct ig_net *n, int ifindex)
{
	struct nif *f = find_nif(n, ifindex);

	return f ? f->name : "?";
}

static void describe_iface(struct ig_net *n, const struct nif *f, char *buf, size_t len)
{
	const struct ig_np_iface *pi = own_decl(n, f), *cur = name_decl(n, f);
	struct ig_if_val v;
	char also[64] = "";

	iface_val(n, f, &v);
	if (cur && cur != pi)
		snprintf(also, sizeof(also), " and of '%s' (its name; the stricter wins)",
			 cur->name);
	if (!pi)
		snprintf(buf, len, "not named by the policy, default %s", verdict_str(v.dflt));
	else if (v.flags & IG_IF_DISABLED)
		snprintf(buf, len, "disabled by the policy ('%s'%s%s)", pi->name,
			 also[0] ? ", " : "", also[0] ? cur->name : "");
	else
		snprintf(buf, len, "rules of '%s'%s%s, default %s", pi->name,
			 cur == pi && strcmp(pi->name, f->name) ? " (matched by MAC address)" :
			 cur != pi				? " (kept from before a rename)" :
								  "",
			 also, verdict_str(v.dflt));
}

/* Whether the device is governed by the declaration, as its own or by its name. */
static bool decl_present(const struct ig_net *n, const struct nif *f, const struct ig_np_iface *pi)
{
	return own_decl(n, f) == pi || name_decl(n, f) == pi;
}

/* A device seen again in a full dump keeps its binding. */
static void inherit_binding(struct ig_net *n, struct nif *f)
{
	for (size_t i = 0; i < n->nprev; i++)
		if (n->prev_ifs[i].ifindex == f->ifindex) {
			memcpy(f->bound, n->prev_ifs[i].bound, sizeof(f->bound));
			f->tc = n->prev_ifs[i].tc;
		}
}

/* Whether an IFLA_INFO_KIND attribute names kind. */
static bool kind_is(const struct rtattr *a, const char *kind)
{
	size_t len = strlen(kind);

	return RTA_PAYLOAD(a) >= len && !memcmp(RTA_DATA(a), kind, len) &&
	       (RTA_PAYLOAD(a) == len || ((const char *)RTA_DATA(a))[len] == '\0');
}

/*
 * The IFLA_INFO_DATA attribute naming a tunnel's underlay device ('dev'),
 * by its kind (as bpf/ifaces.bpf.c's ig_nl_underlay); 0: none.
 */
static unsigned short underlay_attr(const struct rtattr *kind)
{
	static const char *const one[] = { "gre",    "gretap",	  "ip6gre", "ip6gretap",
					   "erspan", "ip6erspan", "ipip",   "sit",
					   "ip6tnl", "vti",	  "vti6" };

	if (kind_is(kind, "vxlan"))
		return IFLA_VXLAN_LINK;
	/* IFLA_GRE_LINK, IFLA_IPTUN_LINK and IFLA_VTI_LINK are all 1. */
	for (size_t i = 0; i < sizeof(one) / sizeof(one[0]); i++)
		if (kind_is(kind, one[i]))
			return 1;
	return 0;
}

/* Applies one RTM_NEWLINK/RTM_DELLINK; log: report the change. */
static int link_msg(struct ig_net *n, struct nlmsghdr *h, bool log)
{
	struct ifinfomsg *ifi = NLMSG_DATA(h);
	int len = h->nlmsg_len - NLMSG_LENGTH(sizeof(*ifi));
	struct nif nf = { 0 }, *f;
	bool perm = false, veth = false, elsewhere = false;
	struct rtattr *idata = NULL;
	unsigned short ulink = 0; /* the attribute of IFLA_INFO_DATA naming the underlay */
	char what[160];
	int ret = 0;

	/*
	 * A bridge's own notices about its ports (AF_BRIDGE, RTM_DELLINK when
	 * a port is released) are not the device's: the AF_UNSPEC ones are.
	 */
	if (len < 0 || ifi->ifi_family == AF_BRIDGE)
		return 0;
	nf.ifindex = ifi->ifi_index;
	nf.can = ifi->ifi_type == ARPHRD_CAN;
	for (struct rtattr *a = IFLA_RTA(ifi); RTA_OK(a, len); a = RTA_NEXT(a, len)) {
		if (a->rta_type == IFLA_LINK && RTA_PAYLOAD(a) == 4) {
			memcpy(&nf.link, RTA_DATA(a), 4);
		} else if (a->rta_type == IFLA_MASTER && RTA_PAYLOAD(a) == 4) {
			memcpy(&nf.master, RTA_DATA(a), 4);
		} else if (a->rta_type == IFLA_LINK_NETNSID) {
			elsewhere = true; /* IFLA_LINK is another namespace's index */
		} else if (a->rta_type == IFLA_LINKINFO) {
			struct rtattr *k = RTA_DATA(a);
			int klen = RTA_PAYLOAD(a);

			for (; RTA_OK(k, klen); k = RTA_NEXT(k, klen)) {
				if (k->rta_type == IFLA_INFO_KIND) {
					veth = kind_is(k, "veth");
					ulink = underlay_attr(k);
				}
				if (k->rta_type == IFLA_INFO_DATA)
					idata = k;
				if (k->rta_type == IFLA_INFO_SLAVE_KIND && RTA_PAYLOAD(k) >= 6 &&
				    !memcmp(RTA_DATA(k), "bridge", 6))
					nf.brport = true;
			}
		} else if (a->rta_type == IFLA_IFNAME) {
			snprintf(nf.name, sizeof(nf.name), "%.*s", (int)RTA_PAYLOAD(a),
				 (char *)RTA_DATA(a));
		} else if (a->rta_type == IFLA_PERM_ADDRESS && RTA_PAYLOAD(a) == 6) {
			static const uint8_t zero[6];

			if (memcmp(RTA_DATA(a), zero, 6)) {
				memcpy(nf.mac, RTA_DATA(a), 6);
				nf.has_mac = perm = true;
			}
		} else if (a->rta_type == IFLA_ADDRESS && RTA_PAYLOAD(a) == 6) {
			memcpy(nf.addr, RTA_DATA(a), 6);
			if (perm)
				continue;
			/* No permanent address (virtual interfaces): the current one. */
			memcpy(nf.mac, RTA_DATA(a), 6);
			nf.has_mac = true;
		}
	}
	if (idata && ulink && !elsewhere) {
		int dlen = RTA_PAYLOAD(idata);

		for (struct rtattr *d = RTA_DATA(idata); RTA_OK(d, dlen); d = RTA_NEXT(d, dlen))
			if (d->rta_type == ulink && RTA_PAYLOAD(d) == 4)
				memcpy(&nf.under, RTA_DATA(d), 4);
	}
	if (nf.under == nf.ifindex)
		nf.under = 0;
	/* A veth's IFLA_LINK is its peer: a pair, not a stack. */
	if (veth || elsewhere || nf.link == nf.ifindex)
		nf.link = 0;
	f = find_nif(n, nf.ifindex);
	if (h->nlmsg_type == RTM_DELLINK) {
		struct ig_if_key k = { .netns = n->netns, .ifindex = nf.ifindex, .gen = n->gen };

		if (!f)
			return 0;
		if (log)
			ig_info("net", "interface %s (index %d) is gone", f->name, f->ifindex);
		*f = n->ifs[--n->nifs];
		if (n->active) {
			struct ig_if_key ck = { .netns = n->netns, .ifindex = nf.ifindex };

			/* Its index may be reused: a new interface starts from zero. */
			bpf_map_delete_elem(bpf_map__fd(n->skel->maps.ig_if_cnt), &ck);
			key_if_slot(n, nf.ifindex, true);
			if (bpf_map_delete_elem(bpf_map__fd(n->skel->maps.ig_ifaces), &k) &&
			    errno != ENOENT)
				return -errno;
			ret = sync_stacked(n);
			return ret ? ret : write_cfg(n, true);
		}
		return 0;
	}
	if (!nf.name[0])
		return 0;
	if (f) {
		bool renamed = strcmp(f->name, nf.name) != 0;

		if (!renamed && f->has_mac == nf.has_mac && !memcmp(f->mac, nf.mac, 6) &&
		    f->master == nf.master && f->brport == nf.brport &&
		    !memcmp(f->addr, nf.addr, 6) && f->link == nf.link && f->under == nf.under)
			return 0; /* nothing the rules look at changed */
		memcpy(nf.bound, f->bound, sizeof(nf.bound));
		nf.tc = f->tc;
		bind_nif(n, &nf);
		if (log && renamed && n->np) {
			describe_iface(n, &nf, what, sizeof(what));
			ig_info("net", "interface %s (index %d) renamed to %s: %s", f->name,
				nf.ifindex, nf.name, what);
		}
		*f = nf;
	} else {
		struct nif *ni;

		if (n->nifs >= MAX_NIFS)
			return -ENOSPC;
		ni = realloc(n->ifs, (n->nifs + 1) * sizeof(*ni));
		if (!ni)
			return -ENOMEM;
		n->ifs = ni;
		f = &n->ifs[n->nifs++];
		*f = nf;
		/* Counted by an array index from its first packet (not in a dump: synced after it). */
		if (!n->dumping)
			key_if_slot(n, f->ifindex, false);
		inherit_binding(n, f);
		bind_nif(n, f);
		if (log && n->np) {
			describe_iface(n, f, what, sizeof(what));
			ig_info("net", "interface %s (index %d) appeared: %s", f->name, f->ifindex,
				what);
		}
	}
	if (n->active) {
		ret = put_iface(n, f, n->gen);
		/* Before the epoch moves: every entry written is then in force. */
		if (!ret && !n->dumping)
			ret = sync_stacked(n);
		if (!ret)
			ret = write_cfg(n, true);
		if (!ret)
			ret = tc_sync(n, f, false);
	}
	return ret;
}

/* Reads what is queued on the rtnetlink socket. -EAGAIN: nothing more. */
static int nl_read(struct ig_net *n, bool log, bool *done)
{
	char buf[32768] __attribute__((aligned(NLMSG_ALIGNTO)));
	ssize_t len = recv(n->nlfd, buf, sizeof(buf), MSG_DONTWAIT);
	int ret = 0;

	if (len < 0)
		return -errno;
	for (struct nlmsghdr *h = (void *)buf; NLMSG_OK(h, len); h = NLMSG_NEXT(h, len)) {
		if (h->nlmsg_type == NLMSG_DONE) {
			if (done)
				*done = true;
		} else if (h->nlmsg_type == NLMSG_ERROR) {
			struct nlmsgerr *e = NLMSG_DATA(h);

			if (e->error)
				return e->error;
		} else if (h->nlmsg_type == RTM_NEWLINK || h->nlmsg_type == RTM_DELLINK) {
			int r = link_msg(n, h, log);

			if (r && !ret)
				ret = r;
		}
	}
	return ret;
}

/*
 * The interface's slot in ig_if_cnts (iotgate.h) keyed to it, from zero,
 * unless it is already (a daemon re-adopting the pins keeps the counts);
 * clear: the slot freed. Slots are per CPU: every CPU's copy is written.
 */
static int key_if_slot(struct ig_net *n, __u32 ifindex, bool clear)
{
	int ncpu = libbpf_num_possible_cpus(), fd, ret = 0;
	struct ig_if_slot *v;

	if (!n->skel || ifindex >= IG_IF_SLOTS || ncpu <= 0)
		return 0;
	fd = bpf_map__fd(n->skel->maps.ig_if_cnts);
	v = calloc(ncpu, sizeof(*v));
	if (!v)
		return -ENOMEM;
	if (bpf_map_lookup_elem(fd, &ifindex, v)) {
		ret = -errno;
	} else if (clear ? v[0].netns != 0 : v[0].netns != n->netns || v[0].ifindex != ifindex) {
		memset(v, 0, ncpu * sizeof(*v));
		for (int i = 0; i < ncpu && !clear; i++) {
			v[i].netns = n->netns;
			v[i].ifindex = ifindex;
		}
		if (bpf_map_update_elem(fd, &ifindex, v, BPF_ANY))
			ret = -errno;
	}
	free(v);
	return ret;
}

/*
 * Slots of interfaces that are gone or of another namespace freed, and
 * every known interface's keyed: after a full dump.
 */
static void sync_if_slots(struct ig_net *n)
{
	int ncpu = libbpf_num_possible_cpus(), fd = bpf_map__fd(n->skel->maps.ig_if_cnts);
	__u32 batch, cnt = IG_IF_SLOTS, *keys = calloc(IG_IF_SLOTS, sizeof(*keys));
	struct ig_if_slot *v = ncpu > 0 ? calloc((size_t)IG_IF_SLOTS * ncpu, sizeof(*v)) : NULL;

	if (keys && v &&
	    (!bpf_map_lookup_batch(fd, NULL, &batch, keys, v, &cnt, NULL) || errno == ENOENT)) {
		for (__u32 i = 0; i < cnt; i++) {
			const struct ig_if_slot *sl = &v[(size_t)i * ncpu];

			if (sl->netns &&
			    (sl->netns != n->netns || (keys[i] && !find_nif(n, keys[i]))))
				key_if_slot(n, keys[i], true);
		}
	}
	free(keys);
	free(v);
	key_if_slot(n, 0, false);
	for (size_t i = 0; i < n->nifs; i++)
		key_if_slot(n, n->ifs[i].ifindex, false);
}

/*
 * Per-interface counters of interfaces that are gone, or of another network
 * namespace (an earlier daemon's, pinned): removed, so that an index the
 * kernel reuses starts from zero and the map keeps room.
 */
static void prune_if_cnt(struct ig_net *n)
{
	int fd = bpf_map__fd(n->skel->maps.ig_if_cnt);
	struct ig_if_key k, next, gone[64];
	size_t ngone = 0;
	bool first = true;

	do {
		ngone = 0;
		first = true;
		while (ngone < 64 && !bpf_map_get_next_key(fd, first ? NULL : &k, &next)) {
			first = false;
			k = next;
			if (k.netns != n->netns || (k.ifindex && !find_nif(n, k.ifindex)))
				gone[ngone++] = k;
		}
		for (size_t i = 0; i < ngone; i++)
			bpf_map_delete_elem(fd, &gone[i]);
	} while (ngone == 64);
}

/* Full dump of the links: the table is rebuilt from scratch. */
static int nl_dump(struct ig_net *n, bool log)
{
	struct {
		struct nlmsghdr h;
		struct ifinfomsg i;
	} req = { .h = { .nlmsg_len = sizeof(req),
			 .nlmsg_type = RTM_GETLINK,
			 .nlmsg_flags = NLM_F_REQUEST | NLM_F_DUMP,
			 .nlmsg_seq = ++n->nlseq },
		  .i = { .ifi_family = AF_UNSPEC } };
	bool done = false;
	struct nif *old = n->ifs;
	size_t nold = n->nifs;
	int ret = 0;

	n->ifs = NULL;
	n->nifs = 0;
	n->prev_ifs = old;
	n->nprev = nold;
	n->dumping = true;
	if (send(n->nlfd, &req, sizeof(req), 0) < 0) {
		ret = -errno;
		goto out;
	}
	while (!done) {
		struct pollfd p = { .fd = n->nlfd, .events = POLLIN };

		ret = nl_read(n, log, &done);
		if (ret == -EAGAIN) {
			if (poll(&p, 1, 5000) <= 0) {
				ret = -ETIMEDOUT;
				goto out;
			}
			ret = 0;
		} else if (ret) {
			goto out;
		}
	}
	if (n->skel) {
		prune_if_cnt(n);
		sync_if_slots(n);
	}
	/* Interfaces that were known and are not any more. */
	for (size_t i = 0; i < nold && n->active; i++) {
		struct ig_if_key k = { .netns = n->netns,
				       .ifindex = old[i].ifindex,
				       .gen = n->gen };

		if (!find_nif(n, old[i].ifindex))
			bpf_map_delete_elem(bpf_map__fd(n->skel->maps.ig_ifaces), &k);
	}
	/* A device seen before the one it is stacked on took nothing from it. */
	if (n->active)
		ret = sync_stacked(n);
	if (!ret && n->active)
		ret = write_cfg(n, true);
	if (!ret && n->active)
		ret = tc_sync_all(n);
out:
	n->dumping = false;
	n->prev_ifs = NULL;
	n->nprev = 0;
	free(old);
	return ret;
}

static int nl_open(struct ig_net *n)
{
	struct sockaddr_nl sa = { .nl_family = AF_NETLINK, .nl_groups = RTMGRP_LINK };
	int rcvbuf = 1 << 20;

	n->nlfd = socket(AF_NETLINK, SOCK_RAW | SOCK_CLOEXEC | SOCK_NONBLOCK, NETLINK_ROUTE);
	if (n->nlfd < 0)
		return -errno;
	setsockopt(n->nlfd, SOL_SOCKET, SO_RCVBUF, &rcvbuf, sizeof(rcvbuf));
	if (bind(n->nlfd, (struct sockaddr *)&sa, sizeof(sa)) < 0)
		return -errno;
	return 0;
}

/* --- device paths that may appear later --- */

static int watch_paths(struct ig_net *n)
{
	if (n->inofd < 0)
		n->inofd = inotify_init1(IN_NONBLOCK | IN_CLOEXEC);
	if (n->inofd < 0)
		return -errno;
	for (size_t i = 0; i < n->np->nrules; i++) {
		const struct ig_np_rule *r = &n->np->rules[i];
		char *copy, *dir;
		bool have = false;
		int wd;

		if (!r->dev || r->devspec != IG_NPD_PATH)
			continue;
		copy = strdup(r->path);
		if (!copy)
			return -ENOMEM;
		dir = dirname(copy);
		for (int w = 0; w < n->nwatch; w++)
			if (!strcmp(n->watches[w].dir, dir))
				have = true;
		/*
		 * Only events of the directory itself: a rule is bound to the
		 * node's major:minor, which only a new node (create, rename,
		 * delete) changes. An event of its entries (IN_ATTRIB, IN_OPEN)
		 * would send every open and close in the directory, all of /dev,
		 * through fsnotify: 8% of the cost of an open.
		 */
		if (!have && n->nwatch < MAX_WATCH) {
			wd = inotify_add_watch(n->inofd, dir,
					       IN_CREATE | IN_DELETE | IN_MOVED_TO | IN_MOVED_FROM |
						       IN_ONLYDIR);
			if (wd >= 0) {
				n->watches[n->nwatch].wd = wd;
				n->watches[n->nwatch].dir = strdup(dir);
				n->nwatch++;
			}
		}
		free(copy);
	}
	return 0;
}

/* Is a change in a watched directory about a path the rules name? */
static bool watched_name(struct ig_net *n, int wd, const char *name)
{
	const char *dir = NULL;
	char path[PATH_MAX];

	for (int w = 0; w < n->nwatch; w++)
		if (n->watches[w].wd == wd)
			dir = n->watches[w].dir;
	if (!dir)
		return false;
	snprintf(path, sizeof(path), "%s/%s", strcmp(dir, "/") ? dir : "", name);
	for (size_t i = 0; i < n->np->nrules; i++) {
		const struct ig_np_rule *r = &n->np->rules[i];

		if (r->dev && r->devspec == IG_NPD_PATH && !strcmp(r->path, path))
			return true;
	}
	return false;
}

static int ino_read(struct ig_net *n)
{
	char buf[8192] __attribute__((aligned(__alignof__(struct inotify_event))));
	bool relevant = false;
	ssize_t len;

	while ((len = read(n->inofd, buf, sizeof(buf))) > 0) {
		for (char *p = buf; p < buf + len;) {
			struct inotify_event *e = (void *)p;

			if (e->len && watched_name(n, e->wd, e->name))
				relevant = true;
			p += sizeof(*e) + e->len;
		}
	}
	if (!relevant)
		return 0;
	{
		struct ig_diag d;
		int ret;

		ig_diag_init(&d);
		ret = swap_rules(n, &d);
		ig_diag_free(&d);
		if (!ret)
			ig_info("dev", "a device path named by the policy changed: rules reloaded");
		return ret;
	}
}

/* --- events --- */

/* The policy's path for an executable identity, if the rules name it. */
static const char *program_name(struct ig_net *n, __u64 dev, __u64 ino)
{
	for (size_t i = 0; n->np && i < n->np->nrules; i++) {
		const struct ig_np_rule *r = &n->np->rules[i];
		struct ig_file_key k;
		struct ig_file_val v;
		int fd, ret;

		if (r->subj.kind != IG_SUBJ_PROGRAM)
			continue;
		fd = open(r->subj.path, O_RDONLY | O_CLOEXEC | O_NONBLOCK);
		if (fd < 0)
			continue;
		ret = ig_file_identity(fd, &k, &v);
		close(fd);
		if (!ret && k.dev == dev && k.ino == ino)
			return r->subj.path;
	}
	return NULL;
}

/* Every refusal goes to the daemon's one reporter (violation.h). */
static int on_event(void *ctx, void *data, size_t size)
{
	struct ig_net *n = ctx;
	struct ig_violation v = { 0 };
	const char *prog;

	if (size < sizeof(v.net))
		return 0;
	memcpy(&v.net, data, sizeof(v.net));
	v.net.comm[IG_COMM_LEN - 1] = '\0';
	v.when = time(NULL);
	/* A refused change of a controlled interface (IG_EV_LINK) is a net violation too. */
	v.type = v.net.type == IG_EV_DEV ? IG_EV_DEV : IG_EV_NET;
	v.verdict = v.net.verdict;
	v.reason = v.type == IG_EV_DEV	    ? IG_REASON_DEVICE_RULE :
		   v.net.type == IG_EV_LINK ? IG_REASON_IFACE_CHANGE :
					      IG_REASON_IFACE_RULE;
	v.pid = v.net.pid;
	v.uid = v.net.uid;
	v.gid = v.net.gid;
	memcpy(v.comm, v.net.comm, sizeof(v.comm));
	prog = program_name(n, v.net.exe_dev, v.net.exe_ino);
	snprintf(v.path, sizeof(v.path), "%s", prog ? prog : "");
	snprintf(v.ifname, sizeof(v.ifname), "%s",
		 v.type == IG_EV_NET && v.net.ifindex ? ifname_of(n, v.net.ifindex) : "");
	if (n->report)
		n->report(n->report_ctx, &v);
	return 0;
}

/* --- loading --- */

static int cgroup2_root(char *out, size_t len)
{
	FILE *f = fopen("/proc/self/mountinfo", "re");
	char line[4096];
	int ret = -ENOENT;

	if (!f)
		return -errno;
	while (fgets(line, sizeof(line), f)) {
		char root[PATH_MAX], mnt[PATH_MAX], *sep = strstr(line, " - ");

		if (!sep || strncmp(sep + 3, "cgroup2 ", 8))
			continue;
		if (sscanf(line, "%*u %*u %*s %4095s %4095s", root, mnt) != 2 || strcmp(root, "/"))
			continue;
		snprintf(out, len, "%s", mnt);
		ret = 0;
		break;
	}
	fclose(f);
	return ret;
}

static int netns_cookie(__u64 *cookie)
{
	socklen_t len = sizeof(*cookie);
	int fd = socket(AF_UNIX, SOCK_DGRAM | SOCK_CLOEXEC, 0), ret = 0;

	if (fd < 0)
		return -errno;
	if (getsockopt(fd, SOL_SOCKET, SO_NETNS_COOKIE, cookie, &len) < 0)
		ret = -errno;
	close(fd);
	return ret;
}

static void link_pin(const struct prog *p, char *buf, size_t len)
{
	snprintf(buf, len, "%s%s", LINK_PREFIX, bpf_program__name(p->p));
}

static void add_prog(struct ig_net *n, struct bpf_program *p, enum pkind kind)
{
	if (n->nprogs == sizeof(n->progs) / sizeof(n->progs[0]))
		abort(); /* a program added to ifaces.bpf.c without room here */
	n->progs[n->nprogs].p = p;
	n->progs[n->nprogs].kind = kind;
	n->nprogs++;
}

static void list_progs(struct ig_net *n)
{
	struct ig_ifaces *s = n->skel;

	n->nprogs = 0;
	add_prog(n, s->progs.ig_sock_create, PK_CGROUP);
	add_prog(n, s->progs.ig_skb_egress, PK_CGROUP);
	add_prog(n, s->progs.ig_skb_ingress, PK_CGROUP);
	add_prog(n, s->progs.ig_dev, PK_CGDEV);
	add_prog(n, s->progs.ig_sk_owners, PK_ITER);
	add_prog(n, s->progs.ig_sk_tcp, PK_ITER);
	add_prog(n, s->progs.ig_sk_udp, PK_ITER);
	add_prog(n, s->progs.ig_sock_post, PK_LSM);
	add_prog(n, s->progs.ig_sock_bind, PK_LSM);
	add_prog(n, s->progs.ig_sock_conn, PK_LSM);
	add_prog(n, s->progs.ig_sock_send, PK_LSM);
	add_prog(n, s->progs.ig_sock_recv, PK_LSM);
	add_prog(n, s->progs.ig_sock_accept, PK_LSM);
	add_prog(n, s->progs.ig_locked_down, PK_LSM);
	add_prog(n, s->progs.ig_nl_send, PK_LSM);
	add_prog(n, s->progs.ig_ioctl, PK_LSM);
	add_prog(n, s->progs.ig_ksock_new, PK_KILL);
	add_prog(n, s->progs.ig_ksock_bind, PK_KILL);
	add_prog(n, s->progs.ig_ksock_conn, PK_KILL);
	add_prog(n, s->progs.ig_ksock_sendto, PK_KILL);
	add_prog(n, s->progs.ig_ksock_smsg, PK_KILL);
}

/* One attempt: with_lsm/with_iter select the programs loaded. */
/*
 * Whether cgroup_skb programs may call bpf_get_netns_cookie (kernels >= 6.14):
 * a program that calls it must load. libbpf 1.1's probe looks for older
 * kernels' wording of the refusal and takes 6.12's ("program of this type
 * cannot use helper") for support, and then ig_skb_egress is refused.
 */
static bool skb_netns_cookie(void)
{
	const struct bpf_insn insns[] = {
		/* r1 is the context, the helper's argument */
		{ .code = BPF_JMP | BPF_CALL, .imm = BPF_FUNC_get_netns_cookie },
		{ .code = BPF_ALU64 | BPF_MOV | BPF_K, .dst_reg = BPF_REG_0, .imm = 1 },
		{ .code = BPF_JMP | BPF_EXIT },
	};
	int fd = bpf_prog_load(BPF_PROG_TYPE_CGROUP_SKB, NULL, "GPL", insns,
			       sizeof(insns) / sizeof(insns[0]), NULL);

	if (fd < 0)
		return false;
	close(fd);
	return true;
}

static int try_load(struct ig_net *n, bool with_lsm, bool with_iter, struct ig_bpf_pins *pins)
{
	char pin[256];
	int ret;

	n->skel = ig_ifaces__open();
	if (!n->skel)
		return -errno;
	list_progs(n);
	n->skel->rodata->ig_skb_netns = skb_netns_cookie();
	/* Unknown outside the kernel: no question can be chosen to match another's digest. */
	if (getrandom((void *)&n->skel->rodata->ig_vc_secret, sizeof(__u64), 0) != sizeof(__u64))
		return -EIO;
	ret = ig_bpf_pin_maps(pins, n->skel->obj, map_names, N_MAPS);
	if (ret)
		return ret;
	for (int i = 0; i < n->nprogs; i++) {
		struct prog *p = &n->progs[i];

		switch (p->kind) {
		case PK_LSM:
			p->want = with_lsm;
			break;
		case PK_ITER:
			p->want = with_iter;
			break;
		case PK_KILL:
			p->want = !with_lsm && n->tier == IG_TIER_KILL;
			break;
		default:
			p->want = true;
		}
		link_pin(p, pin, sizeof(pin));
		p->pinned = p->kind != PK_ITER && access(pin, F_OK) == 0;
		bpf_program__set_autoload(p->p, p->want && !p->pinned);
		if (p->want && (p->kind == PK_ITER || p->kind == PK_LSM) &&
		    ig_test_refused(bpf_program__name(p->p)))
			return -EPERM;
	}
	ig_log_libbpf_quiet(with_lsm || with_iter);
	ret = ig_ifaces__load(n->skel);
	ig_log_libbpf_quiet(false);
	ig_bpf_release_skel(ig_ifaces);
	return ret;
}

static int attach_one(struct prog *p, int cgfd)
{
	struct bpf_link *link;
	char pin[256];
	int ret;

	if (!p->want || p->pinned || p->kind == PK_ITER)
		return 0;
	if (p->kind == PK_LSM || p->kind == PK_KILL)
		link = bpf_program__attach(p->p);
	else
		link = bpf_program__attach_cgroup(p->p, cgfd);
	if (!link)
		return -errno;
	link_pin(p, pin, sizeof(pin));
	ret = ig_bpf_pin_link(link, pin);
	if (ret)
		return ret;
	p->created = true;
	/*
	 * The pin owns the link from here on. Destroying our handle only
	 * closes its descriptor (a pinned link stays); disconnecting instead
	 * would leak the descriptor and keep the link alive after its pin is
	 * removed.
	 */
	bpf_link__destroy(link);
	return 0;
}

/* Runs one iterator program to its end. */
static int run_iter(struct bpf_program *prog)
{
	struct bpf_link *link = bpf_program__attach_iter(prog, NULL);
	char buf[256];
	int fd, ret = 0;

	if (!link)
		return -errno;
	fd = bpf_iter_create(bpf_link__fd(link));
	if (fd < 0) {
		ret = -errno;
	} else {
		ssize_t r;

		while ((r = read(fd, buf, sizeof(buf))) > 0)
			;
		if (r < 0)
			ret = -errno;
		close(fd);
	}
	bpf_link__destroy(link);
	return ret;
}

/*
 * Labels the sockets open before the rules (bpf/ifaces.bpf.c: who holds
 * each, then TCP and UDP from that). What the iterators could not label is
 * counted into n->unlabelled and the owner table emptied.
 */
static int label_existing(struct ig_net *n)
{
	int fd = bpf_map__fd(n->skel->maps.ig_sk_owner), ret;
	__u64 key, next;
	bool first = true;

	n->unlabelled = 0;
	n->skel->bss->ig_owner_lost = 0;
	ret = run_iter(n->skel->progs.ig_sk_owners);
	if (!ret)
		ret = run_iter(n->skel->progs.ig_sk_tcp);
	if (!ret)
		ret = run_iter(n->skel->progs.ig_sk_udp);
	/* Raw, ICMP and UDP-Lite sockets: no iterator hands them out. */
	while (!bpf_map_get_next_key(fd, first ? NULL : &key, &next)) {
		n->unlabelled++;
		key = next;
		first = false;
	}
	n->unlabelled += n->skel->bss->ig_owner_lost;
	while (!bpf_map_get_next_key(fd, NULL, &key))
		if (bpf_map_delete_elem(fd, &key))
			break;
	return ret;
}

static void remove_pins(void)
{
	char path[256];
	static const char *const progs[] = { "ig_sock_create", "ig_skb_egress",	 "ig_skb_ingress",
					     "ig_dev",	       "ig_sock_post",	 "ig_sock_bind",
					     "ig_sock_conn",   "ig_sock_send",	 "ig_sock_recv",
					     "ig_sock_accept", "ig_locked_down", "ig_nl_send",
					     "ig_ioctl" };

	for (size_t i = 0; i < sizeof(progs) / sizeof(progs[0]); i++) {
		snprintf(path, sizeof(path), "%s%s", LINK_PREFIX, progs[i]);
		ig_bpf_unpin_link(path);
	}
	for (size_t i = 0; i < sizeof(map_names) / sizeof(map_names[0]); i++) {
		snprintf(path, sizeof(path), "%s/%s", IG_PIN_DIR, map_names[i]);
		unlink(path);
	}
	for (size_t i = 0; i < sizeof(old_map_names) / sizeof(old_map_names[0]); i++) {
		snprintf(path, sizeof(path), "%s/%s", IG_PIN_DIR, old_map_names[i]);
		unlink(path);
	}
	tc_detach_all();
}

static void on_nl(struct ig_watch *w, unsigned int events);
static void on_ino(struct ig_watch *w, unsigned int events);
static void on_rb(struct ig_watch *w, unsigned int events);

/* The descriptors of an active handle, as watchers of the daemon's loop. */
static int add_watches(struct ig_net *n)
{
	int ret;

	if (!n->loop)
		return 0;
	ret = ig_watch_add(n->loop, &n->nl_w, n->nlfd, EPOLLIN, on_nl, n);
	if (!ret)
		ret = ig_watch_add(n->loop, &n->ino_w, n->inofd, EPOLLIN, on_ino, n);
	if (!ret)
		ret = ig_watch_add(n->loop, &n->rb_w, ring_buffer__epoll_fd(n->rb), EPOLLIN, on_rb,
				   n);
	return ret;
}

static int load_attach(struct ig_net *n, struct ig_diag *d)
{
	bool want_lsm = n->tier == IG_TIER_FULL;
	struct ig_bpf_pins pins = { 0 };
	struct ig_net_config cfg = { 0 };
	char cgpath[PATH_MAX];
	__u32 zero = 0;
	int ret, cgfd = -1;

	ret = try_load(n, want_lsm, true, &pins);
	if (ret && want_lsm) {
		snprintf(n->why_no_lsm, sizeof(n->why_no_lsm),
			 "the kernel refused the BPF LSM programs (%s)", strerror(-ret));
		ig_bpf_unpin_new(&pins);
		ig_ifaces__destroy(n->skel);
		ret = try_load(n, false, true, &pins);
	}
	if (ret) {
		/* Kernels without socket iterators: sockets opened before stay unlabeled. */
		snprintf(n->why_no_iter, sizeof(n->why_no_iter),
			 "the kernel refused the socket iterators (%s)", strerror(-ret));
		ig_bpf_unpin_new(&pins);
		ig_ifaces__destroy(n->skel);
		ret = try_load(n, false, false, &pins);
	}
	if (ret)
		goto fail;
	n->lsm = n->progs[PI_LSM].want;
	n->ksock = false;
	for (int i = 0; i < n->nprogs; i++)
		n->ksock |= n->progs[i].kind == PK_KILL && n->progs[i].want;
	n->iter = n->progs[PI_ITER].want;
	if (!want_lsm)
		snprintf(n->why_no_lsm, sizeof(n->why_no_lsm), "%s",
			 "BPF LSM is not usable on this kernel (partial tier)");
	n->readopted = n->progs[PI_SOCK_CREATE].pinned;
	if (!bpf_map_lookup_elem(bpf_map__fd(n->skel->maps.ig_net_cfg), &zero, &cfg) &&
	    cfg.flags & IG_NCF_ACTIVE) {
		n->gen = cfg.gen;
		n->epoch = cfg.epoch;
	}
	ret = nl_dump(n, false);
	if (ret)
		goto fail;
	n->active = true;
	ret = n->pending ? commit_rules(n, n->pending) : swap_rules(n, d);
	if (ret)
		goto fail;
	ret = cgroup2_root(cgpath, sizeof(cgpath));
	if (ret)
		goto fail;
	cgfd = open(cgpath, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	if (cgfd < 0) {
		ret = -errno;
		goto fail;
	}
	/* Labels first, then the sockets already open, then the checks. */
	for (int i = 0; i < n->nprogs && !ret; i++)
		if (n->progs[i].kind == PK_LSM || i == 0)
			ret = attach_one(&n->progs[i], cgfd);
	if (!ret && n->iter && !n->readopted) {
		int r = label_existing(n);

		if (r) {
			snprintf(n->why_no_iter, sizeof(n->why_no_iter),
				 "the socket iterators failed (%s)", strerror(-r));
			n->iter = false;
		}
	}
	/* With every socket labeled or not, the rule for unlabelled ones is now known. */
	if (!ret)
		ret = write_cfg(n, true);
	for (int i = 1; i < n->nprogs && !ret; i++)
		if (n->progs[i].kind != PK_LSM)
			ret = attach_one(&n->progs[i], cgfd);
	if (ret)
		goto fail;
	/* A link of the other tier left by an earlier daemon. */
	for (int i = 0; i < n->nprogs; i++) {
		char pin[256];

		if (!n->progs[i].want && n->progs[i].pinned) {
			link_pin(&n->progs[i], pin, sizeof(pin));
			ig_bpf_unpin_link(pin);
		}
	}
	n->cgdev = n->progs[PI_CGDEV].want;
	close(cgfd);
	return 0;
fail:
	if (cgfd >= 0)
		close(cgfd);
	n->active = false;
	if (n->skel) {
		for (int i = 0; i < n->nprogs; i++) {
			char pin[256];

			if (n->progs[i].created) {
				link_pin(&n->progs[i], pin, sizeof(pin));
				unlink(pin);
			}
		}
		ig_bpf_unpin_new(&pins);
	}
	return ret;
}

/* Frees what an active handle holds. */
static void deactivate(struct ig_net *n)
{
	n->active = false;
	if (n->loop) {
		ig_watch_del(n->loop, &n->nl_w);
		ig_watch_del(n->loop, &n->ino_w);
		ig_watch_del(n->loop, &n->rb_w);
	}
	ring_buffer__free(n->rb);
	n->rb = NULL;
	ig_ifaces__destroy(n->skel);
	n->skel = NULL;
	if (n->nlfd >= 0)
		close(n->nlfd);
	if (n->inofd >= 0)
		close(n->inofd);
	n->nlfd = n->inofd = -1;
	for (int i = 0; i < n->nwatch; i++)
		free(n->watches[i].dir);
	n->nwatch = 0;
	ig_np_compiled_free(&n->comp);
	free(n->ifs);
	n->ifs = NULL;
	n->nifs = 0;
}

static int activate(struct ig_net *n, struct ig_diag *d)
{
	int ret;

	if (mkdir(IG_PIN_DIR, 0700) && errno != EEXIST)
		return -errno;
	ret = netns_cookie(&n->netns);
	if (!ret)
		ret = nl_open(n);
	if (!ret)
		ret = watch_paths(n);
	if (!ret)
		ret = load_attach(n, d);
	if (ret)
		goto fail;
	n->rb = ring_buffer__new(bpf_map__fd(n->skel->maps.ig_net_ev), on_event, n, NULL);
	if (!n->rb) {
		ret = -errno;
		goto fail;
	}
	ret = add_watches(n);
	if (ret)
		goto fail;
	return 0;
fail:
	deactivate(n);
	return ret;
}

/* The gap left by sockets opened before the rules that have no label. */
static void unlabelled_msg(const struct ig_net *n, char *buf, size_t len)
{
	char what[384];

	if (!n->iter)
		snprintf(what, sizeof(what),
			 "sockets opened before the rules were loaded could not be labeled: %s",
			 n->why_no_iter);
	else
		snprintf(
			what, sizeof(what),
			"%llu raw, ICMP or UDP-Lite sockets opened before the rules were loaded could not be labeled",
			(unsigned long long)n->unlabelled);
	snprintf(
		buf, len, "%s; %s", what,
		n->unlab_deny ?
			"their packets are judged as an unknown program's (unlabelled-sockets deny)" :
			"their packets pass every interface rule until they are closed (unlabelled-sockets allow)");
}

/* What the operator should know about rules just put in force. */
static void report_loaded(struct ig_net *n)
{
	for (size_t i = 0; i < n->notes.n; i++)
		ig_warn("net", "%s", n->notes.msgs[i]);
	for (size_t i = 0; i < n->np->nifs; i++) {
		bool found = false;

		for (size_t k = 0; k < n->nifs && !found; k++)
			found = decl_present(n, &n->ifs[k], &n->np->ifs[i]);
		if (!found)
			ig_info("net",
				"interface %s named by the policy is not present: its rules apply when it appears",
				n->np->ifs[i].name);
	}
	if (!n->lsm)
		ig_warn("net", "CAN and packet sockets are not controlled: %s", n->why_no_lsm);
	if (labels_incomplete(n)) {
		char msg[512];

		unlabelled_msg(n, msg, sizeof(msg));
		ig_warn("net", "%s", msg);
	}
}

static int set_policy(struct ig_net *n, const struct ig_policy *p, struct ig_net_compiled *c,
		      struct ig_diag *d)
{
	const struct ig_netpolicy *old = n->np;
	char *oldpath = n->path;
	int ret;

	if (!p->net) {
		/* No rules: whatever this or an earlier daemon pinned goes. */
		remove_pins();
		deactivate(n);
		n->np = NULL;
		return 0;
	}
	n->path = strdup(p->path ? p->path : "policy");
	if (!n->path) {
		n->path = oldpath;
		return -ENOMEM;
	}
	n->np = p->net;
	n->pending = c;
	if (!n->active) {
		ret = activate(n, d);
	} else {
		ret = c ? commit_rules(n, c) : swap_rules(n, d);
		/* Device paths of the new rules are watched too. */
		if (!ret)
			ret = watch_paths(n);
	}
	n->pending = NULL;
	if (ret) {
		/* The rules in force stay as they were. */
		free(n->path);
		n->path = oldpath;
		n->np = n->active ? old : NULL;
		return ret;
	}
	free(oldpath);
	report_loaded(n);
	return 0;
}

int ig_net_set_policy(struct ig_net *n, const struct ig_policy *p, struct ig_net_compiled *c,
		      struct ig_diag *d)
{
	struct ig_diag own;
	int ret;

	if (!n) {
		ig_net_compiled_free(c);
		return 0;
	}
	if (d) {
		ret = set_policy(n, p, c, d);
		ig_net_compiled_free(c);
		return ret;
	}
	/* The caller has no place for policy problems: they are logged here. */
	ig_diag_init(&own);
	ret = set_policy(n, p, c, &own);
	ig_net_compiled_free(c);
	for (size_t i = 0; i < own.n; i++)
		ig_err("net", "%s", own.msgs[i]);
	ig_diag_free(&own);
	return ret;
}

int ig_net_open(struct ig_net **out, const struct ig_policy *p, enum ig_tier tier,
		struct ig_net_compiled *c, struct ig_loop *loop, ig_report_fn report,
		void *report_ctx, struct ig_diag *d)
{
	struct ig_net *n = calloc(1, sizeof(*n));
	int ret;

	*out = NULL;
	if (!n)
		return -ENOMEM;
	n->tier = tier;
	n->nlfd = n->inofd = -1;
	n->nl_w.fd = n->ino_w.fd = n->rb_w.fd = -1;
	n->loop = loop;
	n->report = report;
	n->report_ctx = report_ctx;
	ig_diag_init(&n->notes);
	ret = set_policy(n, p, c, d);
	ig_net_compiled_free(c);
	if (ret)
		goto fail;
	*out = n;
	return 0;
fail:
	ig_net_close(n);
	return ret;
}

static void warn_update(int r)
{
	if (r)
		ig_warn("net", "interface, device path or event update failed: %s", strerror(-r));
}

/*
 * Interface changes: handled as they come, so a renamed interface has its
 * rules at once (the daemon's loop does no long work itself: isolate.h).
 */
static void follow_links(struct ig_net *n)
{
	int r;

	if (!n->active)
		return;
	while ((r = nl_read(n, true, NULL)) == 0)
		;
	if (r == -EAGAIN)
		r = 0;
	else if (r == -ENOBUFS) /* events were lost: start over */
		r = nl_dump(n, true);
	warn_update(r);
}

static void follow_paths(struct ig_net *n)
{
	if (n->active)
		warn_update(ino_read(n));
}

static void on_nl(struct ig_watch *w, unsigned int events)
{
	(void)events;
	follow_links(w->ctx);
}

static void on_ino(struct ig_watch *w, unsigned int events)
{
	(void)events;
	follow_paths(w->ctx);
}

int ig_net_urgent_fds(const struct ig_net *n, int fds[2])
{
	int k = 0;

	if (!n || !n->active)
		return 0;
	if (n->nlfd >= 0)
		fds[k++] = n->nlfd;
	if (n->inofd >= 0)
		fds[k++] = n->inofd;
	return k;
}

void ig_net_urgent(struct ig_net *n)
{
	follow_links(n);
	follow_paths(n);
}

static void on_rb(struct ig_watch *w, unsigned int events)
{
	struct ig_net *n = w->ctx;

	(void)events;
	if (n->active && n->rb)
		warn_update(ring_buffer__consume(n->rb) < 0 ? -EIO : 0);
}

static void add_str(struct json_object *o, const char *k, const char *v)
{
	json_object_object_add(o, k, json_object_new_string(v ? v : ""));
}

static void add_u64(struct json_object *o, const char *k, __u64 v)
{
	json_object_object_add(o, k, json_object_new_uint64(v));
}

static void add_bool(struct json_object *o, const char *k, bool v)
{
	json_object_object_add(o, k, json_object_new_boolean(v));
}

/* One rule as the policy wrote it (for the status). */
static void rule_text(const struct ig_np_rule *r, char *buf, size_t len)
{
	char subj[PATH_MAX + 16], protos[64];

	switch (r->subj.kind) {
	case IG_SUBJ_PROGRAM:
		snprintf(subj, sizeof(subj), "program %s", r->subj.path);
		break;
	case IG_SUBJ_UID:
		snprintf(subj, sizeof(subj), "uid %u", r->subj.id);
		break;
	case IG_SUBJ_GID:
		snprintf(subj, sizeof(subj), "gid %u", r->subj.id);
		break;
	default:
		snprintf(subj, sizeof(subj), "anyone");
	}
	ig_proto_names(r->protos, protos, sizeof(protos));
	snprintf(buf, len, "%s %s on %s%s%s %s", verdict_str(r->verdict), subj,
		 r->iface ? r->iface : "*",
		 r->dirs == IG_DIR_IN  ? " in" :
		 r->dirs == IG_DIR_OUT ? " out" :
					 "",
		 "", protos);
	if (r->ports)
		snprintf(buf + strlen(buf), len - strlen(buf), " port %u-%u", r->port_lo,
			 r->port_hi);
}

static void add_reason_net(struct json_object *arr, const char *code, const char *msg)
{
	struct json_object *r = json_object_new_object();

	add_str(r, "code", code);
	add_str(r, "message", msg);
	json_object_array_add(arr, r);
}

static struct json_object *iface_json(struct ig_net *n, const struct nif *f)
{
	const struct ig_np_iface *pi = own_decl(n, f), *cur = name_decl(n, f);
	struct json_object *o = json_object_new_object(), *rules = json_object_new_array();
	const struct nif *from;
	struct ig_if_val v;
	char buf[PATH_MAX + 128];
	unsigned int fwd;

	iface_val(n, f, &v);
	add_str(o, "name", f->name);
	add_u64(o, "ifindex", f->ifindex);
	add_str(o, "kind", f->can ? "can" : "other");
	if (pi)
		add_str(o, "policy", pi->name);
	else
		json_object_object_add(o, "policy", NULL);
	/* Its name falls under another declaration too: both apply. */
	if (cur && cur != pi)
		add_str(o, "also", cur->name);
	add_bool(o, "disabled", v.flags & IG_IF_DISABLED);
	add_str(o, "default", verdict_str(v.dflt));
	/* iotgatectl(8): forward, forward_from, forward_filter. */
	fwd = fwd_verdict(n, f, 0, &from);
	add_str(o, "forward", fwd == IG_RV_NOMATCH ? "none" : verdict_str(fwd));
	if (from)
		add_str(o, "forward_from", from->name);
	else
		json_object_object_add(o, "forward_from", NULL);
	add_bool(o, "forward_filter", f->tc);
	/* iotgatectl(8): stacked on declared devices, it carries their socket rules. */
	from = rules_from(n, f);
	if (from)
		add_str(o, "rules_from", from->name);
	else
		json_object_object_add(o, "rules_from", NULL);
	for (size_t i = 0; i < n->np->nrules; i++) {
		const struct ig_np_rule *r = &n->np->rules[i];

		if (r->dev || (r->iface && (!pi || strcmp(r->iface, pi->name)) &&
			       (!cur || strcmp(r->iface, cur->name))))
			continue;
		rule_text(r, buf, sizeof(buf));
		json_object_array_add(rules, json_object_new_string(buf));
	}
	json_object_object_add(o, "rules", rules);
	return o;
}

/* The per-CPU values of one decision counter summed into o (allowed, denied, ...). */
static void dec_json(struct json_object *o, const struct ig_dec_cnt *vals, int ncpu)
{
	static const char *const what[] = { "allowed", "denied", "dropped", "audited" };

	for (int w = 0; w < 4; w++) {
		__u64 sum = 0;

		for (int k = 0; k < ncpu; k++)
			sum += vals[k].n[w];
		add_u64(o, what[w], sum);
	}
}

/* One interface's decisions, from its slot and the hash map. */
struct if_sum {
	__u32 ifindex;
	bool seen; /* in the hash map, or a decision in its slot */
	__u64 n[4];
};

static struct if_sum *if_sum_of(struct if_sum *l, size_t *nl, __u32 ifindex)
{
	for (size_t i = 0; i < *nl; i++)
		if (l[i].ifindex == ifindex)
			return &l[i];
	l[*nl] = (struct if_sum){ .ifindex = ifindex };
	return &l[(*nl)++];
}

/* net.counters.interfaces: decisions per interface of the governed namespace. */
static void per_if_json(struct ig_net *n, struct json_object *c, int ncpu)
{
	int fd = bpf_map__fd(n->skel->maps.ig_if_cnt), sfd = bpf_map__fd(n->skel->maps.ig_if_cnts);
	size_t ncpus = ncpu > 0 ? ncpu : 1, nl = 0, cap = n->nifs + 1 + IG_IF_CNT_MAX;
	struct ig_dec_cnt *vals = calloc(ncpus, sizeof(*vals));
	struct ig_if_slot *sv = calloc(ncpus, sizeof(*sv));
	struct if_sum *l = calloc(cap, sizeof(*l));
	struct json_object *arr = json_object_new_array();
	struct ig_if_key k, next;
	bool first = true;
	size_t count = 0;

	for (size_t i = 0; l && sv && i <= n->nifs; i++) {
		__u32 idx = i < n->nifs ? (__u32)n->ifs[i].ifindex : 0;
		struct if_sum *e;

		if (idx >= IG_IF_SLOTS || bpf_map_lookup_elem(sfd, &idx, sv) ||
		    sv[0].netns != n->netns || sv[0].ifindex != idx)
			continue;
		e = if_sum_of(l, &nl, idx);
		for (size_t cpu = 0; cpu < ncpus; cpu++)
			for (int w = 0; w < 4; w++) {
				e->n[w] += sv[cpu].c.n[w];
				e->seen |= sv[cpu].c.n[w] != 0;
			}
	}
	while (l && vals && !bpf_map_get_next_key(fd, first ? NULL : &k, &next)) {
		struct if_sum *e;

		first = false;
		k = next;
		count++;
		if (k.netns != n->netns || (k.ifindex && !find_nif(n, k.ifindex)) ||
		    bpf_map_lookup_elem(fd, &k, vals) || nl >= cap)
			continue;
		e = if_sum_of(l, &nl, k.ifindex);
		e->seen = true;
		for (size_t cpu = 0; cpu < ncpus; cpu++)
			for (int w = 0; w < 4; w++)
				e->n[w] += vals[cpu].n[w];
	}
	for (size_t i = 0; i < nl; i++) {
		static const char *const what[] = { "allowed", "denied", "dropped", "audited" };
		const struct nif *f = l[i].ifindex ? find_nif(n, l[i].ifindex) : NULL;
		struct json_object *e;

		if (!l[i].seen)
			continue;
		e = json_object_new_object();
		/* ifindex 0: a CAN or packet socket used on every interface of its kind */
		add_str(e, "interface", f ? f->name : "*");
		add_u64(e, "ifindex", l[i].ifindex);
		for (int w = 0; w < 4; w++)
			add_u64(e, what[w], l[i].n[w]);
		json_object_array_add(arr, e);
	}
	free(vals);
	free(sv);
	free(l);
	json_object_object_add(c, "interfaces", arr);
	add_bool(c, "interfaces_untracked", count >= IG_IF_CNT_MAX);
}

/* The node's name under /dev (from sysfs), or "char MAJ:MIN". */
static void dev_name(const struct ig_dev_key *k, char *buf, size_t len)
{
	const char *kind = k->type == IG_DEV_BLOCK ? "block" : "char";
	char path[96], line[256];
	FILE *f;

	snprintf(buf, len, "%s %u:%u", kind, k->major, k->minor);
	snprintf(path, sizeof(path), "/sys/dev/%s/%u:%u/uevent", kind, k->major, k->minor);
	f = fopen(path, "re");
	if (!f)
		return;
	while (fgets(line, sizeof(line), f))
		if (!strncmp(line, "DEVNAME=", 8)) {
			line[strcspn(line, "\n")] = '\0';
			snprintf(buf, len, "/dev/%s", line + 8);
			break;
		}
	fclose(f);
}

/*
 * net.counters.devices: decisions per gated device opened; their sums are
 * added to tot (the device family's totals: iotgate.h, ig_dev_slot).
 */
static void per_dev_json(struct ig_net *n, struct json_object *c, int ncpu, __u64 tot[4])
{
	int fd = bpf_map__fd(n->skel->maps.ig_dev_slot);
	int cfd = bpf_map__fd(n->skel->maps.ig_dev_cnts);
	struct ig_dec_cnt *vals = calloc(ncpu > 0 ? ncpu : 1, sizeof(*vals));
	struct json_object *arr = json_object_new_array();
	struct ig_dev_key k, next;
	bool first = true;
	__u64 slot, given = 0;
	__u32 idx;
	char name[PATH_MAX];

	while (vals && !bpf_map_get_next_key(fd, first ? NULL : &k, &next)) {
		struct json_object *e;

		first = false;
		k = next;
		if (bpf_map_lookup_elem(fd, &k, &slot))
			continue;
		if (k.gen == IG_DEV_SLOT_NEXT_GEN) {
			given = slot;
			continue;
		}
		idx = slot;
		if (slot >= IG_DEV_CNT_MAX || bpf_map_lookup_elem(cfd, &idx, vals))
			continue;
		e = json_object_new_object();
		dev_name(&k, name, sizeof(name));
		add_str(e, "device", name);
		add_str(e, "type", k.type == IG_DEV_BLOCK ? "block" : "char");
		add_u64(e, "major", k.major);
		add_u64(e, "minor", k.minor);
		dec_json(e, vals, ncpu);
		for (int w = 0; w < 4; w++)
			for (int cpu = 0; cpu < ncpu; cpu++)
				tot[w] += vals[cpu].n[w];
		json_object_array_add(arr, e);
	}
	free(vals);
	json_object_object_add(c, "devices", arr);
	add_bool(c, "devices_untracked", given >= IG_DEV_CNT_MAX);
}

static void counters_json(struct ig_net *n, struct json_object *o)
{
	static const char *const what[] = { "allowed", "denied", "dropped", "audited" };
	int ncpu = libbpf_num_possible_cpus(), fd = bpf_map__fd(n->skel->maps.ig_net_cnt);
	struct json_object *c = json_object_new_object();
	__u64 *vals = ncpu > 0 ? calloc(ncpu, sizeof(*vals)) : NULL;
	__u64 sum[IG_NCNT_MAX] = { 0 };

	for (__u32 i = 0; vals && i < IG_NCNT_MAX; i++) {
		if (bpf_map_lookup_elem(fd, &i, vals))
			continue;
		for (int k = 0; k < ncpu; k++)
			sum[i] += vals[k];
	}
	free(vals);
	per_dev_json(n, c, ncpu, &sum[IG_NCNT(IG_FAM_DEV, 0)]);
	for (int f = 0; f < IG_FAM_MAX; f++) {
		struct json_object *fo = json_object_new_object();

		for (int w = 0; w < 4; w++)
			add_u64(fo, what[w], sum[IG_NCNT(f, w)]);
		json_object_object_add(c, ig_fam_name(f), fo);
	}
	add_u64(c, "events_lost", sum[IG_NCNT_EVENTS_LOST]);
	per_if_json(n, c, ncpu);
	json_object_object_add(o, "counters", c);
}

static const struct nif *governed_nif(const struct ig_net *n, int ifindex)
{
	const struct nif *f = ifindex ? find_nif((struct ig_net *)n, ifindex) : NULL;

	return f && f->bound[0] ? f : NULL;
}

/*
 * Devices that carry traffic through a declared interface: stacked on it
 * (VLAN, macvlan, ipvlan), its ports when it is a bridge or bond, and its
 * master when it is a port. They carry its socket rules (rules_from) and
 * forward verdict. The full tier refuses making these while the rules are
 * loaded; these were there before (or interface-changes allow).
 */
static struct json_object *stacked_json(const struct ig_net *n)
{
	struct json_object *arr = json_object_new_array();

	for (size_t i = 0; i < n->nifs; i++) {
		const struct nif *f = &n->ifs[i], *on = governed_nif(n, f->link);
		const char *how = "stacked";

		if (!on && (on = governed_nif(n, f->master)))
			how = "port";
		if (!on && f->bound[0] && f->master) {
			const struct nif *m = find_nif((struct ig_net *)n, f->master);

			if (m) {
				struct json_object *e = json_object_new_object();

				add_str(e, "name", m->name);
				add_str(e, "on", f->name);
				add_str(e, "how", "master");
				json_object_array_add(arr, e);
			}
			continue;
		}
		if (on) {
			struct json_object *e = json_object_new_object();

			add_str(e, "name", f->name);
			add_str(e, "on", on->name);
			add_str(e, "how", how);
			json_object_array_add(arr, e);
		}
	}
	return arr;
}

void ig_net_status(struct ig_net *n, struct json_object *status, struct json_object *reasons)
{
	struct json_object *o = json_object_new_object(), *feat = json_object_new_object();
	struct json_object *ifs, *absent, *notes;
	char msg[512];

	if (!n || !n->active) {
		add_bool(o, "active", false);
		json_object_object_add(status, "net", o);
		json_object_put(feat);
		return;
	}
	add_bool(o, "active", true);
	add_str(o, "mode", n->np->mode == IG_MODE_ENFORCE ? "enforce" : "audit");
	add_str(o, "default", verdict_str(n->np->dflt));
	add_u64(o, "netns_cookie", n->netns);
	add_bool(o, "readopted", n->readopted);
	add_bool(feat, "ip", true);
	add_str(feat, "devices", n->cgdev ? "cgroup" : "none");
	add_bool(feat, "can_packet", n->lsm);
	add_bool(feat, "can_packet_kill", n->ksock);
	add_bool(feat, "socket_follows_user", n->lsm);
	/* Renames, moves, deletion, stacking of declared interfaces refused (full tier). */
	add_bool(feat, "interfaces_locked", n->lsm && n->np->changes == IG_NP_CHG_DENY);
	add_bool(feat, "existing_sockets_labeled", !labels_incomplete(n));
	add_u64(feat, "existing_sockets_unlabelled", n->unlabelled);
	add_str(feat, "unlabelled_sockets", n->unlab_deny ? "deny" : "allow");
	json_object_object_add(o, "features", feat);

	ifs = json_object_new_array();
	for (size_t i = 0; i < n->nifs; i++)
		json_object_array_add(ifs, iface_json(n, &n->ifs[i]));
	json_object_object_add(o, "interfaces", ifs);
	/* Interfaces the policy names that are not there (yet). */
	absent = json_object_new_array();
	for (size_t i = 0; i < n->np->nifs; i++) {
		bool found = false;

		for (size_t k = 0; k < n->nifs && !found; k++)
			found = decl_present(n, &n->ifs[k], &n->np->ifs[i]);
		if (!found)
			json_object_array_add(absent, json_object_new_string(n->np->ifs[i].name));
	}
	json_object_object_add(o, "absent", absent);
	json_object_object_add(o, "stacked", stacked_json(n));
	notes = json_object_new_array();
	for (size_t i = 0; i < n->notes.n; i++)
		json_object_array_add(notes, json_object_new_string(n->notes.msgs[i]));
	json_object_object_add(o, "notes", notes);
	add_u64(o, "gated_devices", n->comp.ndevs);
	counters_json(n, o);

	json_object_object_add(status, "net", o);

	if (n->comp.unmeasured) {
		snprintf(
			msg, sizeof(msg),
			"%zu interface or device rules name programs that are missing or not verified manifest entries: their allow rules match nothing (see net.notes)",
			n->comp.unmeasured);
		add_reason_net(reasons, "net_rules_unmatched", msg);
	}
	{
		__u64 lost = 0;
		int ncpu = libbpf_num_possible_cpus();
		__u32 idx = IG_NCNT_EVENTS_LOST;
		__u64 *vals = ncpu > 0 ? calloc(ncpu, sizeof(*vals)) : NULL;

		if (vals && !bpf_map_lookup_elem(bpf_map__fd(n->skel->maps.ig_net_cnt), &idx, vals))
			for (int c = 0; c < ncpu; c++)
				lost += vals[c];
		free(vals);
		if (lost) {
			snprintf(
				msg, sizeof(msg),
				"%llu interface or device events were lost (ring buffer full); the counters are complete",
				(unsigned long long)lost);
			add_reason_net(reasons, "net_events_lost", msg);
		}
	}
	if (labels_incomplete(n)) {
		unlabelled_msg(n, msg, sizeof(msg));
		add_reason_net(reasons, "unlabelled_sockets", msg);
	}
	if (!n->lsm) {
		if (n->ksock)
			add_reason_net(
				reasons, "can_packet_kill",
				"CAN and packet sockets are judged at socket, bind, connect, sendto and sendmsg and a refusal kills the task (kill tier); not seen: receiving on an unbound socket of a program with a right on some interface of the kind, sendmmsg, io_uring, and an address changed by another thread during the call");
		else {
			snprintf(msg, sizeof(msg), "CAN and packet sockets are not controlled: %s",
				 n->why_no_lsm);
			add_reason_net(reasons, "can_packet_unavailable", msg);
		}
		if (n->np->nifs)
			add_reason_net(
				reasons, "interfaces_unlocked",
				"declared interfaces can be moved to another network namespace, enslaved or have devices stacked on them (renames keep the rules; stacked devices carry their rules, but a stacked device moved to another namespace does not)");
		/* Rights are the creator's: the hooks that see the user are LSM hooks. */
		if (n->np->nrules)
			add_reason_net(
				reasons, "socket_passing_uncovered",
				"a socket handed to another program (SCM_RIGHTS, pidfd_getfd, inherited across exec) keeps the interface rights of the program that created it");
	}
	/* The kill tier kills unlisted code mappings; the partial tier only reports them. */
	if (n->tier == IG_TIER_PARTIAL && n->np->nrules)
		add_reason_net(
			reasons, "library_injection_uncovered",
			"code loaded into an allowed program (LD_PRELOAD, dlopen, ptrace) acts with its interface and device rights: executable mappings outside the manifest are reported, not refused");
}

int ig_net_stop_enforcing(struct ig_net *n)
{
	remove_pins();
	if (n)
		n->active = false;
	return 0;
}

void ig_net_close(struct ig_net *n)
{
	if (!n)
		return;
	deactivate(n);
	ig_diag_free(&n->notes);
	free(n->measured);
	free(n->path);
	free(n);
}
