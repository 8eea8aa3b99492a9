// SPDX-License-Identifier: GPL-2.0-only
/*
 * netdiff: the interface and device decisions of the real BPF programs
 * against the reference model (tests/unit/netmodel.c).
 *
 *   netdiff [-n CASES] [-s SEED] [-o build/bpf/ifaces.bpf.o] [-v]
 *
 * Random policies are written as iotgate.conf(5) text, parsed and compiled by
 * the daemon's own code (ig_policy_parse, ig_netpolicy_compile) and loaded
 * into the maps of ifaces.bpf.o the way userspace/ifaces.c fills them (rules
 * and devices under a generation, the interface's entry, the configuration;
 * replicated here, see fill()). Then random sockets and packets, and random
 * device opens, go through the real programs and each verdict is compared
 * with the model's. Every disagreement is printed with a minimal policy (rules
 * and interfaces are dropped while it still disagrees) and the case.
 *
 * Why real packets and not BPF_PROG_TEST_RUN: the cgroup_skb programs judge
 * a packet by the label in its socket's storage. A test run of a cgroup_skb
 * program builds its skb around a fresh dummy socket that has no storage and
 * no type, so it can only reach the unlabelled path with class "other" and
 * no ports. Instead the programs are attached to a cgroup of this process
 * only, in a network namespace of its own: the socket under test is made in
 * that cgroup and its label written from here (socket storage takes a socket
 * fd as key), so any subject, class and flow state can be given; its peer
 * sockets are made before entering the cgroup, so no program judges them.
 * Datagrams over lo then run ig_skb_egress and ig_skb_ingress in the
 * kernel's own paths (port parsing, IP options, the flow and verdict
 * caches). The verdict is read from the sender's errno, the delivery and the
 * programs' counters. The interface entry of lo (ifindex 1) is rewritten per
 * case with the name and address a case gives the interface, so every kind
 * of declaration is reached. Device opens go through ig_dev (cgroup/dev)
 * on nodes made in a private tmpfs for majors no driver has (an allowed open
 * fails with ENXIO, a refused one with EPERM), as this process with the
 * effective uid and gid of the case, its executable being one of the
 * policy's programs. CAN and packet sockets are judged by LSM programs, which
 * this kernel refuses: their classes still go through the rules as labels.
 *
 * Needs root (BPF, cgroups, namespaces). Exit status 0 if all cases agreed,
 * 1 on a disagreement, 2 if it could not run. Last line: "N passed, N
 * failed" over the two parts (interfaces, devices).
 */
#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <getopt.h>
#include <limits.h>
#include <net/if.h>
#include <netinet/in.h>
#include <poll.h>
#include <sched.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/mount.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/sysmacros.h>
#include <time.h>
#include <unistd.h>
#include <bpf/bpf.h>
#include <bpf/btf.h>
#include <bpf/libbpf.h>
#include "iotgate.h"
#include "manifest.h"
#include "netmodel.h"
#include "netpolicy.h"
#include "policy.h"

#ifndef SO_NETNS_COOKIE
#define SO_NETNS_COOKIE 71
#endif

#define POLICY_CASES 40 /* cases per policy */
#define NPEER 3
#define NLOCAL 3
#define NDEVMAJ 4

static const uint16_t local_ports[NLOCAL] = { 2000, 2001, 2002 };
static const uint16_t peer_ports[NPEER] = { 3000, 3001, 3002 };
static const uint16_t port_marks[] = { 1,    1999, 2000, 2001, 2002, 2003,
				       2999, 3000, 3001, 3002, 65535 };
static const char *const ifnames[] = { "eth0", "wlan0", "can0", "lo" };
static const uint8_t macs[3][6] = { { 2, 0, 0, 0, 0, 1 },
				    { 2, 0, 0, 0, 0, 2 },
				    { 2, 0, 0, 0, 0, 3 } };
static const unsigned int uids[] = { 0, 1000, 1001 }, gids[] = { 0, 100, 101 };

static bool verbose;
static unsigned long seen[4], dev_seen[2]; /* the model's outcomes: how varied the cases were */
static uint64_t rng;

static uint64_t rnd(void)
{
	rng ^= rng << 13;
	rng ^= rng >> 7;
	rng ^= rng << 17;
	return rng;
}

static unsigned int pick(unsigned int n)
{
	return (unsigned int)(rnd() % n);
}

static bool chance(unsigned int percent)
{
	return pick(100) < percent;
}

static void die(const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	fputs("netdiff: ", stderr);
	vfprintf(stderr, fmt, ap);
	va_end(ap);
	fputc('\n', stderr);
	exit(2);
}

/* --- the environment: maps, sockets, cgroup, device nodes --- */

static struct {
	struct bpf_object *obj;
	struct bpf_link *links[3];
	int label, rules, ifaces, devs, cfg, cnt;
	size_t label_sz;
	size_t off_netns, off_dev, off_ino, off_csec, off_cnsec, off_uid, off_gid, off_known,
		off_flags, off_protos, off_family;
	int ncpu;
	__u64 netns, epoch;
	__u32 gen;
	int peer[2][NPEER]; /* [v6][i] */
	char cgroup[PATH_MAX + 64], cgroup_parent[PATH_MAX];
	char devdir[64];
	bool have_dev;
	struct ig_file_key self_key;
	struct ig_file_val self_val;
	unsigned int chr_major[NDEVMAJ], blk_major[NDEVMAJ];
} env;

static size_t member_off(const struct btf *btf, __u32 id, const char *path)
{
	char name[64];
	const char *dot = strchr(path, '.');
	size_t len = dot ? (size_t)(dot - path) : strlen(path);
	const struct btf_type *t = btf__type_by_id(btf, id);
	const struct btf_member *m;

	snprintf(name, sizeof(name), "%.*s", (int)len, path);
	while (btf_is_mod(t) || btf_is_typedef(t))
		t = btf__type_by_id(btf, t->type);
	if (!btf_is_struct(t))
		die("label layout: %s is not in a struct", path);
	m = btf_members(t);
	for (unsigned int i = 0; i < btf_vlen(t); i++, m++) {
		if (strcmp(btf__name_by_offset(btf, m->name_off), name))
			continue;
		if (btf_member_bitfield_size(t, i))
			die("label layout: %s is a bitfield", path);
		return btf_member_bit_offset(t, i) / 8 +
		       (dot ? member_off(btf, m->type, dot + 1) : 0);
	}
	die("label layout: no member %s (bpf/ifaces.bpf.c changed?)", path);
	return 0;
}

/* The layout of the socket label, from the object's BTF. */
static void label_layout(struct bpf_map *m)
{
	const struct btf *btf = bpf_object__btf(env.obj);
	__u32 id = bpf_map__btf_value_type_id(m);

	if (!btf || !id)
		die("ig_sk_label has no BTF value type");
	env.label_sz = btf__resolve_size(btf, id);
	env.off_netns = member_off(btf, id, "netns");
	env.off_dev = member_off(btf, id, "s.dev");
	env.off_ino = member_off(btf, id, "s.ino");
	env.off_csec = member_off(btf, id, "s.csec");
	env.off_cnsec = member_off(btf, id, "s.cnsec");
	env.off_uid = member_off(btf, id, "s.uid");
	env.off_gid = member_off(btf, id, "s.gid");
	env.off_known = member_off(btf, id, "s.known");
	env.off_flags = member_off(btf, id, "flags");
	env.off_protos = member_off(btf, id, "protos");
	env.off_family = member_off(btf, id, "family");
}

static int map_fd(const char *name)
{
	struct bpf_map *m = bpf_object__find_map_by_name(env.obj, name);

	if (!m)
		die("no map %s in the object", name);
	if (!strcmp(name, "ig_sk_label"))
		label_layout(m);
	return bpf_map__fd(m);
}

static void write_file(const char *path, const char *text)
{
	int fd = open(path, O_WRONLY | O_CLOEXEC);

	if (fd < 0 || write(fd, text, strlen(text)) != (ssize_t)strlen(text))
		die("%s: %s", path, strerror(errno));
	close(fd);
}

/* The cgroup v2 mount and this process's cgroup in it. */
static void find_cgroup(void)
{
	char line[4096], mnt[PATH_MAX] = "", rel[PATH_MAX] = "";
	FILE *f = fopen("/proc/self/mountinfo", "re");

	while (f && fgets(line, sizeof(line), f)) {
		char *sep = strstr(line, " - ");

		if (sep && !strncmp(sep + 3, "cgroup2 ", 8) &&
		    sscanf(line, "%*u %*u %*s %*s %4095s", mnt) == 1)
			break;
		mnt[0] = '\0';
	}
	if (f)
		fclose(f);
	f = fopen("/proc/self/cgroup", "re");
	while (f && fgets(line, sizeof(line), f))
		if (!strncmp(line, "0::", 3)) {
			snprintf(rel, sizeof(rel), "%s", line + 3);
			rel[strcspn(rel, "\n")] = '\0';
		}
	if (f)
		fclose(f);
	if (!mnt[0])
		die("no cgroup v2 mount");
	snprintf(env.cgroup_parent, sizeof(env.cgroup_parent), "%s%s", mnt,
		 strcmp(rel, "/") ? rel : "");
	snprintf(env.cgroup, sizeof(env.cgroup), "%s/iotgate-netdiff.%d", env.cgroup_parent,
		 (int)getpid());
}

static void cleanup(void)
{
	char pid[32];

	if (env.devdir[0]) {
		umount2(env.devdir, MNT_DETACH);
		rmdir(env.devdir); /* the mount point, which the host's namespace sees too */
	}
	for (int i = 0; i < 3; i++)
		bpf_link__destroy(env.links[i]);
	bpf_object__close(env.obj);
	if (env.cgroup[0]) {
		char procs[PATH_MAX + 80];

		snprintf(pid, sizeof(pid), "%d", (int)getpid());
		snprintf(procs, sizeof(procs), "%s/cgroup.procs", env.cgroup_parent);
		write_file(procs, pid);
		rmdir(env.cgroup);
	}
}

static int udp_socket(bool v6, uint16_t port)
{
	int one = 1, fd = socket(v6 ? AF_INET6 : AF_INET, SOCK_DGRAM | SOCK_CLOEXEC, 0);
	struct sockaddr_in6 a6 = { .sin6_family = AF_INET6,
				   .sin6_port = htons(port),
				   .sin6_addr = IN6ADDR_LOOPBACK_INIT };
	struct sockaddr_in a4 = { .sin_family = AF_INET,
				  .sin_port = htons(port),
				  .sin_addr.s_addr = htonl(INADDR_LOOPBACK) };

	if (fd < 0)
		die("socket: %s", strerror(errno));
	setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one));
	if (v6 ? bind(fd, (void *)&a6, sizeof(a6)) : bind(fd, (void *)&a4, sizeof(a4)))
		die("bind port %u: %s", port, strerror(errno));
	return fd;
}

static void sockaddr_of(bool v6, uint16_t port, struct sockaddr_storage *ss, socklen_t *len)
{
	memset(ss, 0, sizeof(*ss));
	if (v6) {
		struct sockaddr_in6 *a = (void *)ss;

		a->sin6_family = AF_INET6;
		a->sin6_port = htons(port);
		a->sin6_addr = in6addr_loopback;
		*len = sizeof(*a);
	} else {
		struct sockaddr_in *a = (void *)ss;

		a->sin_family = AF_INET;
		a->sin_port = htons(port);
		a->sin_addr.s_addr = htonl(INADDR_LOOPBACK);
		*len = sizeof(*a);
	}
}

static bool major_used(const char *devices, bool chr, unsigned int major)
{
	const char *p = strstr(devices, chr ? "Character devices:" : "Block devices:");
	const char *end = chr ? strstr(devices, "Block devices:") : NULL;

	while (p && (p = strchr(p, '\n')) && (!end || p < end)) {
		unsigned int m;

		p++;
		if (sscanf(p, " %u", &m) == 1 && m == major)
			return true;
	}
	return false;
}

/* Majors no driver has here ("local/experimental use" first). */
static void free_majors(void)
{
	static const unsigned int cand[] = {
		60, 61, 62, 63, 120, 121, 122, 123, 124, 125, 126, 127
	};
	char devices[16384] = "";
	int fd = open("/proc/devices", O_RDONLY | O_CLOEXEC);
	ssize_t n = fd >= 0 ? read(fd, devices, sizeof(devices) - 1) : -1;
	unsigned int nc = 0, nb = 0;

	if (fd >= 0)
		close(fd);
	if (n < 0)
		die("/proc/devices: %s", strerror(errno));
	for (size_t i = 0; i < sizeof(cand) / sizeof(cand[0]); i++) {
		if (nc < NDEVMAJ && !major_used(devices, true, cand[i]))
			env.chr_major[nc++] = cand[i];
		if (nb < NDEVMAJ && !major_used(devices, false, cand[i]))
			env.blk_major[nb++] = cand[i];
	}
	if (nc < NDEVMAJ || nb < NDEVMAJ)
		die("not enough unused device majors");
}

static void setup(const char *objpath)
{
	static const char *const progs[] = { "ig_skb_egress", "ig_skb_ingress", "ig_dev" };
	struct ifreq ifr = { .ifr_name = "lo" };
	struct bpf_program *p;
	socklen_t len = sizeof(env.netns);
	char pid[32], procs[PATH_MAX + 80];
	int fd, cgfd;

	if (geteuid())
		die("run as root (BPF, cgroups, namespaces)");
	/* The executable as the kernel identifies it (mount ids: before the new namespace). */
	fd = open("/proc/self/exe", O_RDONLY | O_CLOEXEC);
	if (fd < 0 || ig_file_identity(fd, &env.self_key, &env.self_val))
		die("identity of /proc/self/exe");
	close(fd);
	if (unshare(CLONE_NEWNET | CLONE_NEWNS))
		die("unshare: %s", strerror(errno));
	if (mount(NULL, "/", NULL, MS_REC | MS_PRIVATE, NULL))
		die("mount --make-rprivate /: %s", strerror(errno));
	fd = socket(AF_INET, SOCK_DGRAM | SOCK_CLOEXEC, 0);
	if (fd < 0 || ioctl(fd, SIOCGIFFLAGS, &ifr))
		die("lo: %s", strerror(errno));
	ifr.ifr_flags |= IFF_UP;
	if (ioctl(fd, SIOCSIFFLAGS, &ifr))
		die("lo up: %s", strerror(errno));
	if (getsockopt(fd, SOL_SOCKET, SO_NETNS_COOKIE, &env.netns, &len))
		die("SO_NETNS_COOKIE: %s", strerror(errno));
	close(fd);

	/* Device nodes of majors without a driver, in a tmpfs that allows them. */
	free_majors();
	snprintf(env.devdir, sizeof(env.devdir), "/tmp/iotgate-netdiff.%d", (int)getpid());
	if (mkdir(env.devdir, 0755) || mount("netdiff", env.devdir, "tmpfs", 0, "mode=755"))
		die("%s: %s", env.devdir, strerror(errno));
	atexit(cleanup);

	env.obj = bpf_object__open_file(objpath, NULL);
	if (!env.obj)
		die("%s: %s", objpath, strerror(errno));
	bpf_object__for_each_program(p, env.obj)
	{
		bool want = false;

		for (int i = 0; i < 3; i++)
			want |= !strcmp(bpf_program__name(p), progs[i]);
		bpf_program__set_autoload(p, want);
	}
	if (bpf_object__load(env.obj))
		die("loading %s: %s", objpath, strerror(errno));
	env.label = map_fd("ig_sk_label");
	env.rules = map_fd("ig_rules");
	env.ifaces = map_fd("ig_ifaces");
	env.devs = map_fd("ig_devs");
	env.cfg = map_fd("ig_net_cfg");
	env.cnt = map_fd("ig_net_cnt");
	env.ncpu = libbpf_num_possible_cpus();

	/* Peers first, outside the cgroup: no program judges them. */
	for (int v6 = 0; v6 < 2; v6++)
		for (int i = 0; i < NPEER; i++)
			env.peer[v6][i] = udp_socket(v6, peer_ports[i]);
	find_cgroup();
	if (mkdir(env.cgroup, 0755))
		die("%s: %s", env.cgroup, strerror(errno));
	snprintf(pid, sizeof(pid), "%d", (int)getpid());
	snprintf(procs, sizeof(procs), "%s/cgroup.procs", env.cgroup);
	write_file(procs, pid);
	cgfd = open(env.cgroup, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	if (cgfd < 0)
		die("%s: %s", env.cgroup, strerror(errno));
	for (int i = 0; i < 3; i++) {
		p = bpf_object__find_program_by_name(env.obj, progs[i]);
		env.links[i] = p ? bpf_program__attach_cgroup(p, cgfd) : NULL;
		if (!env.links[i] && i < 2)
			die("attach %s: %s", progs[i], strerror(errno));
	}
	env.have_dev = env.links[2] != NULL;
	if (!env.have_dev)
		fprintf(stderr,
			"netdiff: the cgroup device program does not attach: no device cases\n");
	close(cgfd);
}

/* --- policies --- */

static uint16_t rport_mark(void)
{
	return port_marks[pick(sizeof(port_marks) / sizeof(port_marks[0]))];
}

static bool ranges_meet(const struct nm_rule *a, const struct nm_rule *b)
{
	if (!a->nranges || !b->nranges)
		return true;
	for (unsigned int i = 0; i < a->nranges; i++)
		for (unsigned int j = 0; j < b->nranges; j++)
			if (a->lo[i] <= b->hi[j] && b->lo[j] <= a->hi[i])
				return true;
	return false;
}

static bool same_devname(const struct nm_rule *a, const struct nm_rule *b)
{
	if (a->devname != b->devname)
		return false;
	if (a->devname == NM_DEV_PATH || a->devname == NM_DEV_CLASS)
		return a->index == b->index;
	return a->type == b->type && a->major == b->major &&
	       (a->devname == NM_DEV_MAJOR || a->minor == b->minor);
}

/* Could a policy with both rules be refused as contradictory? (Generous: then avoided.) */
static bool may_contradict(const struct nm_rule *a, const struct nm_rule *b)
{
	if (a->dev != b->dev || a->verdict == b->verdict || a->subj != b->subj || a->id != b->id)
		return false;
	if (a->dev)
		return same_devname(a, b) && (a->access & b->access);
	/* Rules of disjoint protocol sets may both match a raw ICMP socket: deny wins then. */
	return !strcmp(a->iface, b->iface) && (a->dirs & b->dirs) && (a->protos & b->protos) &&
	       ranges_meet(a, b);
}

static struct nm_iface *iface_named(struct nm_policy *p, const char *name)
{
	for (unsigned int i = 0; i < p->nifs; i++)
		if (!strcmp(p->ifs[i].name, name))
			return &p->ifs[i];
	return NULL;
}

static void gen_subject(const struct nm_policy *p, struct nm_rule *r)
{
	switch (pick(4)) {
	case 0:
		r->subj = NM_PROGRAM;
		r->id = pick(p->nprogs);
		break;
	case 1:
		r->subj = NM_UID;
		r->id = uids[pick(3)];
		break;
	case 2:
		r->subj = NM_GID;
		r->id = gids[pick(3)];
		break;
	default:
		r->subj = NM_ANYONE;
	}
}

static void gen_policy(struct nm_policy *p)
{
	static const unsigned int pbits[] = { IG_P_TCP, IG_P_UDP, IG_P_ICMP,
					      IG_P_RAW, IG_P_CAN, IG_P_PACKET };
	unsigned int nnet = pick(8), ndev = env.have_dev ? pick(6) : 0, nmac = 0;

	memset(p, 0, sizeof(*p));
	p->dflt = chance(50) ? NM_ALLOW : NM_DENY;
	p->audit = chance(15);
	p->unlabelled_deny = chance(40);
	/* Programs: 0 is this executable (device opens), some changed, missing or not measured. */
	p->nprogs = 3;
	for (unsigned int i = 0; i < p->nprogs; i++) {
		struct nm_program *g = &p->progs[i];

		snprintf(g->path, sizeof(g->path), "/usr/bin/p%u", i);
		g->exists = chance(90);
		g->measured = chance(75);
		g->dev = 8 + i;
		g->ino = 100 + i;
		g->csec = 1000 + pick(2);
		g->cnsec = pick(2);
	}
	p->progs[0].dev = env.self_key.dev;
	p->progs[0].ino = env.self_key.ino;
	if (chance(75)) {
		p->progs[0].csec = env.self_val.ctime_sec;
		p->progs[0].cnsec = env.self_val.ctime_nsec;
	}
	p->ndevpaths = 2;
	for (unsigned int i = 0; i < p->ndevpaths; i++) {
		struct nm_devpath *d = &p->devpaths[i];

		snprintf(d->path, sizeof(d->path), "/dev/nd%u", i);
		d->exists = chance(80);
		d->type = IG_DEV_CHAR;
		d->major = env.chr_major[pick(NDEVMAJ)];
		d->minor = pick(3);
	}
	for (unsigned int i = 0; i < NM_NCLASSES; i++)
		p->class_major[i] = chance(60) ? env.chr_major[pick(NDEVMAJ)] : 0;
	for (unsigned int i = 0, n = pick(4); i < n; i++) {
		const char *name = ifnames[pick(4)];
		struct nm_iface *f;

		if (iface_named(p, name))
			continue;
		f = &p->ifs[p->nifs++];
		snprintf(f->name, sizeof(f->name), "%s", name);
		if (chance(40)) {
			f->has_mac = true;
			memcpy(f->mac, macs[nmac++], 6);
		}
		if (chance(20))
			f->disabled = true;
		else
			f->dflt = (enum nm_verdict)pick(3);
	}
	for (unsigned int i = 0; i < nnet + ndev; i++) {
		struct nm_rule r = { .verdict = chance(50) ? NM_ALLOW : NM_DENY };
		bool clash = false;

		gen_subject(p, &r);
		if (i < nnet) {
			struct nm_iface *f = NULL;

			if (chance(60)) {
				const char *name = ifnames[pick(4)];

				snprintf(r.iface, sizeof(r.iface), "%s", name);
				f = iface_named(p, name);
				if (!f) {
					f = &p->ifs[p->nifs++];
					snprintf(f->name, sizeof(f->name), "%s", name);
					f->implicit = true;
				}
			}
			r.dirs = (unsigned int[]){ IG_DIR_IN | IG_DIR_OUT, IG_DIR_IN,
						   IG_DIR_OUT }[pick(3)];
			switch (pick(6)) {
			case 0:
			case 1:
				r.protos = IG_P_ANY;
				break;
			case 2:
			case 3:
				r.protos = (unsigned int[]){ IG_P_TCP, IG_P_UDP,
							     IG_P_TCP | IG_P_UDP }[pick(3)];
				break;
			case 4:
				/* a raw ICMP socket matches both: deny wins */
				r.protos = (unsigned int[]){ IG_P_RAW, IG_P_ICMP,
							     IG_P_RAW | IG_P_ICMP }[pick(3)];
				break;
			default:
				while (!r.protos)
					for (int b = 0; b < 6; b++)
						if (chance(30))
							r.protos |= pbits[b];
			}
			if (!(r.protos & ~(IG_P_TCP | IG_P_UDP)) && chance(60)) {
				r.nranges = 1 + pick(2);
				for (unsigned int k = 0; k < r.nranges; k++) {
					uint16_t a = rport_mark(), b = rport_mark();

					r.lo[k] = a < b ? a : b;
					r.hi[k] = a < b ? b : a;
				}
			}
			/* Allowing traffic on a disabled interface is refused. */
			if (f && f->disabled)
				r.verdict = NM_DENY;
		} else {
			r.dev = true;
			r.devname = (enum nm_devname)pick(4);
			r.type = chance(80) ? IG_DEV_CHAR : IG_DEV_BLOCK;
			r.major = r.type == IG_DEV_CHAR ? env.chr_major[pick(NDEVMAJ)] :
							  env.blk_major[pick(NDEVMAJ)];
			r.minor = pick(3);
			r.index = pick(r.devname == NM_DEV_PATH ? p->ndevpaths : NM_NCLASSES);
			r.access = 1 + pick(3);
		}
		for (unsigned int j = 0; j < p->nrules; j++)
			clash |= may_contradict(&r, &p->rules[j]);
		if (clash) {
			r.verdict = r.verdict == NM_ALLOW ? NM_DENY : NM_ALLOW;
			clash = false;
			for (unsigned int j = 0; j < p->nrules; j++)
				clash |= may_contradict(&r, &p->rules[j]);
			if (clash || (r.verdict == NM_ALLOW && !r.dev && r.iface[0] &&
				      iface_named(p, r.iface)->disabled))
				continue;
		}
		p->rules[p->nrules++] = r;
	}
}

/* --- loading a policy the way userspace/ifaces.c does --- */

struct loaded {
	struct ig_policy pol;
	struct ig_np_compiled comp;
	char devices[512];
};

static const struct nm_policy *resolving;

static int res_program(void *ctx, const char *path, struct ig_file_key *key, int64_t *csec,
		       uint32_t *cnsec, bool *measured)
{
	(void)ctx;
	for (unsigned int i = 0; i < resolving->nprogs; i++) {
		const struct nm_program *g = &resolving->progs[i];

		if (strcmp(g->path, path))
			continue;
		if (!g->exists)
			return -ENOENT;
		key->dev = g->dev;
		key->ino = g->ino;
		*csec = g->csec;
		*cnsec = g->cnsec;
		*measured = g->measured;
		return 0;
	}
	return -ENOENT;
}

static int res_devnode(void *ctx, const char *path, unsigned int *type, unsigned int *major,
		       unsigned int *minor)
{
	(void)ctx;
	for (unsigned int i = 0; i < resolving->ndevpaths; i++) {
		const struct nm_devpath *d = &resolving->devpaths[i];

		if (strcmp(d->path, path))
			continue;
		if (!d->exists)
			return -ENOENT;
		*type = d->type;
		*major = d->major;
		*minor = d->minor;
		return 0;
	}
	return -ENOENT;
}

static void clear_map(int fd, size_t keysz)
{
	char key[64], next[64];

	while (bpf_map_get_next_key(fd, NULL, next) == 0) {
		memcpy(key, next, keysz);
		if (bpf_map_delete_elem(fd, key))
			die("delete: %s", strerror(errno));
	}
}

static void write_cfg(const struct loaded *l)
{
	struct ig_net_config cfg = {
		.netns = env.netns,
		.epoch = ++env.epoch,
		.gen = env.gen,
		.mode = l->pol.net->mode,
		.dflt = l->pol.net->dflt,
		/* ifaces.c unlabelled_deny(): explicit 'unlabelled-sockets deny' */
		.flags = IG_NCF_ACTIVE |
			 (l->pol.net->unlabelled == IG_NP_UNLAB_DENY ? IG_NCF_UNLABELLED_DENY : 0),
	};
	__u32 zero = 0;

	if (bpf_map_update_elem(env.cfg, &zero, &cfg, BPF_ANY))
		die("ig_net_cfg: %s", strerror(errno));
}

/* The interface entry of lo as ifaces.c's iface_val() and put_iface() make it. */
static void put_link(const struct loaded *l, const struct nm_link *lk)
{
	struct ig_if_key k = { .netns = env.netns, .ifindex = 1, .gen = env.gen };
	const struct ig_netpolicy *np = l->pol.net;
	const struct ig_np_iface *pi, *cur, *low;
	struct ig_if_val v = { 0 };

	if (!lk->known) {
		bpf_map_delete_elem(env.ifaces, &k);
		return;
	}
	cur = ig_netpolicy_iface(np, lk->name, lk->has_mac ? lk->mac : NULL);
	/* bind_nif(): the declaration of its first name stays its own. */
	pi = lk->was[0] ? ig_netpolicy_iface(np, lk->was, lk->has_mac ? lk->mac : NULL) : NULL;
	if (!pi)
		pi = cur;
	v.target = ig_netpolicy_target(np, pi);
	v.flags = pi && pi->disabled ? IG_IF_DISABLED : 0;
	v.dflt = pi && pi->dflt != IG_RV_NOMATCH ? pi->dflt : np->dflt;
	if (cur && cur != pi) {
		v.flags |= IG_IF_ALSO | (cur->disabled ? IG_IF_DISABLED : 0);
		v.target2 = ig_netpolicy_target(np, cur);
		v.dflt2 = cur->dflt != IG_RV_NOMATCH ? cur->dflt : np->dflt;
	}
	/* Stacked on a declared device: iface_val()'s slots, in its order. */
	low = lk->lower[0] ? ig_netpolicy_iface(np, lk->lower, NULL) : NULL;
	if (low) {
		__u32 t = ig_netpolicy_target(np, low),
		      d = low->dflt != IG_RV_NOMATCH ? low->dflt : np->dflt;
		__u32 off = low->disabled ? IG_IF_DISABLED : 0;

		v.flags |= IG_IF_STACKED | off;
		if (!pi) {
			v.target = t;
			v.dflt = d;
		} else if (!(v.flags & IG_IF_ALSO)) {
			v.flags |= IG_IF_ALSO;
			v.target2 = t;
			v.dflt2 = d;
		} else {
			v.flags |= IG_IF_LOWER;
			v.target3 = t;
			v.dflt3 = (__u16)d;
		}
	}
	if (bpf_map_update_elem(env.ifaces, &k, &v, BPF_ANY))
		die("ig_ifaces: %s", strerror(errno));
}

/* Parses, compiles and loads p. 0, or -EINVAL with the parser's messages in why. */
static int load(const struct nm_policy *p, struct loaded *l, char **why)
{
	struct ig_np_resolver res = { res_program, res_devnode, l->devices, NULL };
	struct ig_diag d, notes;
	char text[8192];
	size_t o;
	int n = nm_policy_text(p, text, sizeof(text)), ret;

	if (n < 0)
		die("policy text too long");
	o = (size_t)snprintf(l->devices, sizeof(l->devices), "Character devices:\n");
	for (unsigned int i = 0; i < NM_NCLASSES; i++)
		if (p->class_major[i])
			o += (size_t)snprintf(l->devices + o, sizeof(l->devices) - o, "%3u %s\n",
					      p->class_major[i], nm_classes[i].driver);
	snprintf(l->devices + o, sizeof(l->devices) - o, "\nBlock devices:\n");
	ig_diag_init(&d);
	ig_diag_init(&notes);
	*why = NULL;
	ret = ig_policy_parse("netdiff.conf", text, (size_t)n, "/", &l->pol, &d);
	if (!ret) {
		resolving = p;
		ret = ig_netpolicy_compile(l->pol.net, "netdiff.conf", &res, &l->comp, &d, &notes);
		if (ret)
			ig_policy_free(&l->pol);
	}
	if (ret)
		*why = ig_diag_join(&d);
	ig_diag_free(&d);
	ig_diag_free(&notes);
	if (ret)
		return ret;
	/* ifaces.c fill_gen(): the rules and devices under a generation, then the configuration. */
	clear_map(env.rules, sizeof(struct ig_rule_key));
	clear_map(env.devs, sizeof(struct ig_dev_key));
	clear_map(env.ifaces, sizeof(struct ig_if_key));
	env.gen ^= 1;
	for (size_t i = 0; i < l->comp.nsets; i++) {
		struct ig_rule_key k = l->comp.keys[i];

		k.gen = env.gen;
		if (bpf_map_update_elem(env.rules, &k, &l->comp.sets[i], BPF_ANY))
			die("ig_rules: %s", strerror(errno));
	}
	for (size_t i = 0; i < l->comp.ndevs; i++) {
		struct ig_dev_key k = l->comp.devkeys[i];

		k.gen = env.gen;
		if (bpf_map_update_elem(env.devs, &k, &l->comp.devvals[i], BPF_ANY))
			die("ig_devs: %s", strerror(errno));
	}
	write_cfg(l);
	return 0;
}

static void unload(struct loaded *l)
{
	ig_np_compiled_free(&l->comp);
	ig_policy_free(&l->pol);
}

/* --- interface cases --- */

enum outcome { O_PASS, O_ALLOWED, O_DROPPED, O_AUDITED }; /* O_PASS: not counted */
static const char *const outcome_names[] = { "passed uncounted", "allowed", "dropped", "audited" };

struct pkt {
	bool egress;
	unsigned int peer;
};

struct ncase {
	struct nm_link link;
	bool v6;
	unsigned int local; /* index into local_ports */
	bool connected; /* to peer conn */
	unsigned int conn;
	bool labelled, foreign;
	struct nm_subject subj; /* of the label */
	unsigned int proto; /* the label's class */
	unsigned int flows; /* the label's flow bits before the first packet */
	bool ipopt;
	unsigned int npkt;
	struct pkt pkt[3];
};

struct nresult {
	enum outcome want[3], got[3];
	int err[3];
	bool delivered[3];
	unsigned int bad; /* index+1 of the first disagreeing packet */
};

static void gen_ncase(const struct nm_policy *p, struct ncase *c)
{
	static const unsigned int classes[] = { IG_P_TCP,  IG_P_UDP, IG_P_UDP,
						IG_P_ICMP, IG_P_RAW, IG_P_RAW | IG_P_ICMP,
						IG_P_OTHER };

	memset(c, 0, sizeof(*c));
	c->link.known = chance(85);
	if (chance(70) && p->nifs)
		snprintf(c->link.name, sizeof(c->link.name), "%s", p->ifs[pick(p->nifs)].name);
	else
		snprintf(c->link.name, sizeof(c->link.name), "%s", chance(50) ? "lo" : "usb0");
	if (chance(50)) {
		c->link.has_mac = true;
		memcpy(c->link.mac, macs[pick(3)], 6);
	}
	/* Renamed since the daemon first saw it. */
	if (c->link.known && chance(25)) {
		if (p->nifs && chance(70))
			snprintf(c->link.was, sizeof(c->link.was), "%s",
				 p->ifs[pick(p->nifs)].name);
		else
			snprintf(c->link.was, sizeof(c->link.was), "%s",
				 chance(50) ? "eth7" : "usb0");
	}
	/* Stacked on another device, declared or not. */
	if (c->link.known && chance(25))
		snprintf(c->link.lower, sizeof(c->link.lower), "%s",
			 p->nifs && chance(80) ? p->ifs[pick(p->nifs)].name : "eth9");
	c->v6 = chance(30);
	c->local = pick(NLOCAL);
	c->labelled = chance(85);
	c->foreign = c->labelled && chance(3);
	c->proto = classes[pick(sizeof(classes) / sizeof(classes[0]))];
	c->connected = c->proto == IG_P_TCP || chance(30);
	c->conn = pick(NPEER);
	c->flows = (unsigned int[]){ 0, 0, IG_DIR_OUT, IG_DIR_IN, IG_DIR_IN | IG_DIR_OUT }[pick(5)];
	if (chance(70)) {
		const struct nm_program *g = &p->progs[pick(p->nprogs)];

		c->subj.exe_known = true;
		c->subj.dev = g->dev;
		c->subj.ino = g->ino;
		c->subj.csec = chance(80) ? g->csec : g->csec + 1;
		c->subj.cnsec = g->cnsec;
	}
	c->subj.uid = uids[pick(3)];
	c->subj.gid = gids[pick(3)];
	c->ipopt = !c->v6 && chance(15);
	c->npkt = 1 + pick(3);
	for (unsigned int i = 0; i < c->npkt; i++) {
		c->pkt[i].egress = chance(50);
		c->pkt[i].peer = c->connected ? c->conn : pick(NPEER);
	}
}

static void counters(unsigned int fam, __u64 out[4])
{
	__u64 v[512];

	for (unsigned int w = 0; w < 4; w++) {
		__u32 k = IG_NCNT(fam, w);

		out[w] = 0;
		if (env.ncpu > 512 || bpf_map_lookup_elem(env.cnt, &k, v))
			die("ig_net_cnt: %s", strerror(errno));
		for (int c = 0; c < env.ncpu; c++)
			out[w] += v[c];
	}
}

/* The counter that moved (O_PASS: none). */
static enum outcome moved(const __u64 a[4], const __u64 b[4])
{
	if (b[IG_NC_DROPPED] != a[IG_NC_DROPPED])
		return O_DROPPED;
	if (b[IG_NC_AUDITED] != a[IG_NC_AUDITED])
		return O_AUDITED;
	if (b[IG_NC_ALLOWED] != a[IG_NC_ALLOWED])
		return O_ALLOWED;
	return O_PASS;
}

static void drain(int fd)
{
	char buf[64];

	while (recv(fd, buf, sizeof(buf), MSG_DONTWAIT) >= 0)
		;
}

static void write_label(int fd, const struct ncase *c)
{
	uint8_t v[1024] = { 0 };
	__u64 netns = c->foreign ? env.netns + 1 : env.netns;
	__u32 known = c->subj.exe_known, fam = c->v6 ? AF_INET6 : AF_INET;

	if (env.label_sz > sizeof(v))
		die("label larger than expected");
	memcpy(v + env.off_netns, &netns, 8);
	memcpy(v + env.off_dev, &c->subj.dev, 8);
	memcpy(v + env.off_ino, &c->subj.ino, 8);
	memcpy(v + env.off_csec, &c->subj.csec, 8);
	memcpy(v + env.off_cnsec, &c->subj.cnsec, 4);
	memcpy(v + env.off_uid, &c->subj.uid, 4);
	memcpy(v + env.off_gid, &c->subj.gid, 4);
	memcpy(v + env.off_known, &known, 4);
	memcpy(v + env.off_flags, &c->flows, 4);
	memcpy(v + env.off_protos, &c->proto, 4);
	memcpy(v + env.off_family, &fam, 4);
	if (bpf_map_update_elem(env.label, &fd, v, BPF_ANY))
		die("label: %s", strerror(errno));
}

/* The model's outcome of each packet of the case. */
static void expect_ncase(const struct nm_policy *p, const struct ncase *c, struct nresult *r)
{
	static const struct nm_subject nobody = { .uid = IG_ID_NONE, .gid = IG_ID_NONE };
	unsigned int flows = c->flows;

	for (unsigned int i = 0; i < c->npkt; i++) {
		const struct pkt *k = &c->pkt[i];
		uint16_t lp = local_ports[c->local], pp = peer_ports[k->peer], lport, rport;
		bool ok;

		if (!c->labelled) {
			/* Unlabelled: an unknown program of an unknown user, the socket's own class. */
			if (!p->unlabelled_deny) {
				r->want[i] = O_PASS;
				continue;
			}
			nm_ports(IG_P_UDP, k->egress, 0, 0, k->egress ? lp : pp,
				 k->egress ? pp : lp, &lport, &rport);
			ok = nm_packet_allowed(p, &nobody, &c->link, IG_P_UDP,
					       k->egress ? IG_DIR_OUT : IG_DIR_IN, lport, rport);
			r->want[i] = ok ? O_PASS : p->audit ? O_AUDITED : O_DROPPED;
			continue;
		}
		if (c->foreign) {
			r->want[i] = O_PASS; /* another namespace's socket */
			continue;
		}
		if (!flows)
			flows = nm_flows(c->proto, k->egress, false);
		nm_ports(c->proto, k->egress, lp, c->connected ? peer_ports[c->conn] : 0,
			 k->egress ? lp : pp, k->egress ? pp : lp, &lport, &rport);
		ok = nm_packet_allowed(p, &c->subj, &c->link, c->proto, flows, lport, rport);
		r->want[i] = ok ? O_ALLOWED : p->audit ? O_AUDITED : O_DROPPED;
	}
}

/* Runs the case through the kernel; fills r->got. */
static void run_ncase(const struct loaded *l, const struct ncase *c, struct nresult *r)
{
	unsigned int fam = c->v6 ? IG_FAM_IPV6 : IG_FAM_IPV4;
	int fd = udp_socket(c->v6, local_ports[c->local]);
	struct sockaddr_storage ss;
	socklen_t sl;

	put_link(l, &c->link);
	if (c->connected) {
		sockaddr_of(c->v6, peer_ports[c->conn], &ss, &sl);
		if (connect(fd, (void *)&ss, sl))
			die("connect: %s", strerror(errno));
	}
	if (c->ipopt) {
		static const uint8_t nops[4] = { 1, 1, 1, 0 };

		if (setsockopt(fd, IPPROTO_IP, IP_OPTIONS, nops, sizeof(nops)))
			die("IP_OPTIONS: %s", strerror(errno));
	}
	if (c->labelled)
		write_label(fd, c);
	for (unsigned int i = 0; i < c->npkt; i++) {
		const struct pkt *k = &c->pkt[i];
		int peer = env.peer[c->v6][k->peer];
		__u64 before[4], after[4];
		char buf[16] = "netdiff";

		counters(fam, before);
		if (k->egress) {
			ssize_t n;

			sockaddr_of(c->v6, peer_ports[k->peer], &ss, &sl);
			n = sendto(fd, buf, 8, 0, c->connected ? NULL : (void *)&ss,
				   c->connected ? 0 : sl);
			r->err[i] = n < 0 ? errno : 0;
			counters(fam, after);
			r->got[i] = moved(before, after);
			drain(peer);
			/* An egress drop must also be the sender's error. */
			if ((r->got[i] == O_DROPPED) != (r->err[i] == EPERM))
				r->got[i] = (enum outcome) - 1;
		} else {
			struct pollfd pf = { .fd = fd, .events = POLLIN };
			struct timespec t0, t1;

			sockaddr_of(c->v6, local_ports[c->local], &ss, &sl);
			if (c->ipopt)
				setsockopt(peer, IPPROTO_IP, IP_OPTIONS, (uint8_t[]){ 1, 1, 1, 0 },
					   4);
			if (sendto(peer, buf, 8, 0, (void *)&ss, sl) < 0)
				die("peer sendto: %s", strerror(errno));
			if (c->ipopt)
				setsockopt(peer, IPPROTO_IP, IP_OPTIONS, NULL, 0);
			clock_gettime(CLOCK_MONOTONIC, &t0);
			for (;;) {
				counters(fam, after);
				r->delivered[i] = poll(&pf, 1, 0) == 1;
				if (r->delivered[i] || moved(before, after) == O_DROPPED)
					break;
				clock_gettime(CLOCK_MONOTONIC, &t1);
				if (t1.tv_sec - t0.tv_sec > 2)
					break; /* neither: reported as a disagreement */
				poll(&pf, 1, 1);
			}
			counters(fam, after);
			r->got[i] = moved(before, after);
			drain(fd);
			if (r->delivered[i] == (r->got[i] == O_DROPPED))
				r->got[i] = (enum outcome) - 1;
		}
		seen[r->want[i]]++;
		if (r->got[i] != r->want[i] && !r->bad)
			r->bad = i + 1;
	}
	close(fd);
}

static bool ncase_agrees(const struct nm_policy *p, const struct loaded *l, const struct ncase *c,
			 struct nresult *r)
{
	memset(r, 0, sizeof(*r));
	expect_ncase(p, c, r);
	run_ncase(l, c, r);
	return !r->bad;
}

/* --- device cases --- */

struct dcase {
	unsigned int uid, gid;
	unsigned int type, major, minor;
	unsigned int access;
};

static void gen_dcase(const struct nm_policy *p, struct dcase *c)
{
	c->uid = uids[pick(3)];
	c->gid = gids[pick(3)];
	if (chance(70) && p->nrules) {
		/* a device some rule is about, mostly */
		const struct nm_rule *r = &p->rules[pick(p->nrules)];

		c->type = r->dev && r->devname <= NM_DEV_MAJOR ? r->type : IG_DEV_CHAR;
		c->major = r->dev && r->devname <= NM_DEV_MAJOR ? r->major :
			   r->dev && r->devname == NM_DEV_PATH	? p->devpaths[r->index].major :
			   r->dev && r->devname == NM_DEV_CLASS && p->class_major[r->index] ?
								 p->class_major[r->index] :
								 env.chr_major[pick(NDEVMAJ)];
	} else {
		c->type = chance(80) ? IG_DEV_CHAR : IG_DEV_BLOCK;
		c->major = c->type == IG_DEV_CHAR ? env.chr_major[pick(NDEVMAJ)] :
						    env.blk_major[pick(NDEVMAJ)];
	}
	c->minor = pick(3);
	c->access = 1 + pick(3);
}

/* Opens the node as the case's user: true if allowed (anything but EPERM). */
static bool run_dcase(const struct dcase *c, int *err)
{
	char path[128];
	int fd, flags = c->access == IG_ACC_READ  ? O_RDONLY :
			c->access == IG_ACC_WRITE ? O_WRONLY :
						    O_RDWR;

	snprintf(path, sizeof(path), "%s/%c%u-%u", env.devdir, c->type == IG_DEV_CHAR ? 'c' : 'b',
		 c->major, c->minor);
	if (mknod(path, (c->type == IG_DEV_CHAR ? S_IFCHR : S_IFBLK) | 0666,
		  makedev(c->major, c->minor)) &&
	    errno != EEXIST)
		die("mknod %s: %s", path, strerror(errno));
	chmod(path, 0666);
	if (setegid(c->gid) || seteuid(c->uid))
		die("seteuid: %s", strerror(errno));
	fd = open(path, flags | O_NONBLOCK | O_NOCTTY | O_CLOEXEC);
	*err = fd < 0 ? errno : 0;
	if (seteuid(0) || setegid(0))
		die("seteuid back: %s", strerror(errno));
	if (fd >= 0)
		close(fd);
	return *err != EPERM;
}

static bool dcase_agrees(const struct nm_policy *p, const struct dcase *c, bool *want, int *err)
{
	struct nm_subject s = { true,
				env.self_key.dev,
				env.self_key.ino,
				env.self_val.ctime_sec,
				env.self_val.ctime_nsec,
				c->uid,
				c->gid };
	bool got;

	*want = p->audit || nm_device_allowed(p, &s, c->type, c->major, c->minor, c->access);
	got = run_dcase(c, err);
	dev_seen[*want]++;
	return got == *want;
}

/* --- reports --- */

static void print_policy(const struct nm_policy *p)
{
	char text[8192];

	printf("  policy:\n");
	if (nm_policy_text(p, text, sizeof(text)) > 0)
		for (char *l = strtok(text, "\n"); l; l = strtok(NULL, "\n"))
			printf("    %s\n", l);
	printf("  programs:");
	for (unsigned int i = 0; i < p->nprogs; i++)
		printf(" %s=%s%s(%llu:%llu ctime %lld.%u)", p->progs[i].path,
		       p->progs[i].exists ? "" : "missing,",
		       p->progs[i].measured ? "measured" : "unmeasured",
		       (unsigned long long)p->progs[i].dev, (unsigned long long)p->progs[i].ino,
		       (long long)p->progs[i].csec, p->progs[i].cnsec);
	printf("\n");
}

static void print_ncase(const struct ncase *c, const struct nresult *r)
{
	printf("  interface: %s%s", c->link.known ? "" : "(not known to the daemon) ",
	       c->link.name);
	if (c->link.has_mac)
		printf(" mac %02x:%02x:%02x:%02x:%02x:%02x", c->link.mac[0], c->link.mac[1],
		       c->link.mac[2], c->link.mac[3], c->link.mac[4], c->link.mac[5]);
	if (c->link.was[0])
		printf(" (renamed from %s)", c->link.was);
	if (c->link.lower[0])
		printf(" (stacked on %s)", c->link.lower);
	printf("\n  socket: %s UDP port %u%s%s", c->v6 ? "IPv6" : "IPv4", local_ports[c->local],
	       c->connected ? " connected to port " : "", "");
	if (c->connected)
		printf("%u", peer_ports[c->conn]);
	if (!c->labelled)
		printf(", no label\n");
	else
		printf(", label: %sclass 0x%x, flows 0x%x, exe %s%llu:%llu ctime %lld.%u, uid %u, gid %u%s\n",
		       c->foreign ? "another namespace, " : "", c->proto, c->flows,
		       c->subj.exe_known ? "" : "(unknown) ", (unsigned long long)c->subj.dev,
		       (unsigned long long)c->subj.ino, (long long)c->subj.csec, c->subj.cnsec,
		       c->subj.uid, c->subj.gid, c->ipopt ? ", IP options" : "");
	for (unsigned int i = 0; i < c->npkt; i++) {
		int g = (int)r->got[i];

		printf("  packet %u: %s peer port %u: model %s, kernel %s%s\n", i + 1,
		       c->pkt[i].egress ? "to" : "from", peer_ports[c->pkt[i].peer],
		       outcome_names[r->want[i]],
		       g >= 0 && g <= O_AUDITED ? outcome_names[g] : "inconsistent",
		       r->bad == i + 1 ? "   <-- differs" : "");
	}
}

/* Drops rules and interface lines while the case still disagrees. */
static void minimize(struct nm_policy *p, bool (*still)(const struct nm_policy *, const void *),
		     const void *c)
{
	bool progress = true;

	while (progress) {
		progress = false;
		for (unsigned int i = 0; i < p->nrules; i++) {
			struct nm_policy q = *p;

			memmove(&q.rules[i], &q.rules[i + 1],
				(q.nrules - i - 1) * sizeof(q.rules[0]));
			q.nrules--;
			if (still(&q, c)) {
				*p = q;
				progress = true;
				i--;
			}
		}
		for (unsigned int i = 0; i < p->nifs; i++) {
			struct nm_policy q = *p;

			if (q.ifs[i].implicit ||
			    (!q.ifs[i].has_mac && !q.ifs[i].disabled && q.ifs[i].dflt == NM_NONE))
				continue;
			memset(&q.ifs[i], 0, sizeof(q.ifs[i]));
			snprintf(q.ifs[i].name, sizeof(q.ifs[i].name), "%s", p->ifs[i].name);
			q.ifs[i].implicit = true;
			if (still(&q, c)) {
				*p = q;
				progress = true;
			}
		}
	}
}

static bool ncase_still(const struct nm_policy *p, const void *arg)
{
	struct loaded l;
	struct nresult r;
	char *why;
	bool bad;

	if (load(p, &l, &why)) {
		free(why);
		return false;
	}
	bad = !ncase_agrees(p, &l, arg, &r);
	unload(&l);
	return bad;
}

static bool dcase_still(const struct nm_policy *p, const void *arg)
{
	struct loaded l;
	char *why;
	bool want, bad;
	int err;

	if (load(p, &l, &why)) {
		free(why);
		return false;
	}
	bad = !dcase_agrees(p, arg, &want, &err);
	unload(&l);
	return bad;
}

int main(int argc, char **argv)
{
	const char *obj = "build/bpf/ifaces.bpf.o";
	unsigned long cases = 100000, ncases = 0, dcases = 0, packets = 0, policies = 0;
	unsigned long refused = 0, nbad = 0, dbad = 0, reported = 0;
	uint64_t seed = 1;
	int opt;

	while ((opt = getopt(argc, argv, "n:s:o:v")) != -1) {
		switch (opt) {
		case 'n':
			cases = strtoul(optarg, NULL, 10);
			break;
		case 's':
			seed = strtoull(optarg, NULL, 10);
			break;
		case 'o':
			obj = optarg;
			break;
		case 'v':
			verbose = true;
			break;
		default:
			fprintf(stderr, "usage: netdiff [-n CASES] [-s SEED] [-o OBJ] [-v]\n");
			return 2;
		}
	}
	rng = seed * 0x9e3779b97f4a7c15ull + 1;
	setvbuf(stdout, NULL, _IOLBF, 0);
	setup(obj);
	while (ncases + dcases < cases) {
		struct nm_policy p;
		struct loaded l;
		char *why;

		gen_policy(&p);
		if (load(&p, &l, &why)) {
			/* The generator avoids contradictions; whatever is left is refused as such. */
			if (verbose || !strstr(why ? why : "", "contradicts"))
				printf("netdiff: policy refused: %s\n", why ? why : "?");
			free(why);
			refused++;
			if (refused > 1000 && refused > policies)
				die("most policies are refused");
			continue;
		}
		policies++;
		for (unsigned int k = 0; k < POLICY_CASES && ncases + dcases < cases; k++) {
			if (env.have_dev && k % 4 == 3) {
				struct dcase c;
				bool want;
				int err;

				gen_dcase(&p, &c);
				dcases++;
				if (dcase_agrees(&p, &c, &want, &err))
					continue;
				dbad++;
				if (reported++ >= 5)
					continue;
				unload(&l);
				{
					struct nm_policy m = p;

					minimize(&m, dcase_still, &c);
					printf("netdiff: DISAGREEMENT (device open)\n");
					print_policy(&m);
				}
				printf("  open %s %u:%u for %s as uid %u gid %u (exe %llu:%llu): model %s, kernel %s (%s)\n",
				       c.type == IG_DEV_CHAR ? "char" : "block", c.major, c.minor,
				       c.access == IG_ACC_READ	? "read" :
				       c.access == IG_ACC_WRITE ? "write" :
								  "read+write",
				       c.uid, c.gid, (unsigned long long)env.self_key.dev,
				       (unsigned long long)env.self_key.ino,
				       want ? "allowed" : "refused", want ? "refused" : "allowed",
				       strerror(err));
				if (load(&p, &l, &why))
					die("reload");
			} else {
				struct ncase c;
				struct nresult r;

				gen_ncase(&p, &c);
				ncases++;
				packets += c.npkt;
				if (ncase_agrees(&p, &l, &c, &r))
					continue;
				nbad++;
				if (reported++ >= 5)
					continue;
				unload(&l);
				{
					struct nm_policy m = p;

					minimize(&m, ncase_still, &c);
					printf("netdiff: DISAGREEMENT (packets)\n");
					print_policy(&m);
				}
				print_ncase(&c, &r);
				if (load(&p, &l, &why))
					die("reload");
			}
		}
		unload(&l);
	}
	printf("netdiff: %lu policies (%lu refused and replaced), %lu socket cases (%lu packets), %lu device opens: %lu and %lu disagreements\n",
	       policies, refused, ncases, packets, dcases, nbad, dbad);
	printf("netdiff: packets %lu allowed, %lu dropped, %lu audited, %lu passed unjudged; opens %lu allowed, %lu refused\n",
	       seen[O_ALLOWED], seen[O_DROPPED], seen[O_AUDITED], seen[O_PASS], dev_seen[1],
	       dev_seen[0]);
	printf("%d passed, %d failed\n", !nbad + (env.have_dev && !dbad), !!nbad + !!dbad);
	return nbad || dbad ? 1 : 0;
}
