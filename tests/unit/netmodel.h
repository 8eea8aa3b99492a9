/* SPDX-License-Identifier: GPL-2.0-only */
/*
 * A reference model of the interface and device decisions, written from
 * iotgate.conf(5) for clarity, not speed: it shares no code with the policy
 * compiler or the BPF programs (tests/helpers/netdiff.c runs them against
 * it). Bits of protocols, directions and accesses are iotgate.h's IG_P_*,
 * IG_DIR_* and IG_ACC_*.
 */
#ifndef IG_NETMODEL_H
#define IG_NETMODEL_H

#include <stdbool.h>
#include <stdint.h>

#define NM_MAX_IFACES 8
#define NM_MAX_RULES 48
#define NM_MAX_RANGES 3
#define NM_MAX_PROGS 4
#define NM_MAX_DEVPATHS 4
#define NM_NAME 16

enum nm_verdict { NM_NONE, NM_ALLOW, NM_DENY };
enum nm_subj { NM_PROGRAM = 1, NM_UID, NM_GID, NM_ANYONE };
/* Device names: a node (char/block MAJ:MIN), a whole major (MAJ:*), a path, a class. */
enum nm_devname { NM_DEV_NODE, NM_DEV_MAJOR, NM_DEV_PATH, NM_DEV_CLASS };

/* "interface NAME [mac M] [default V | disable]" */
struct nm_iface {
	char name[NM_NAME];
	bool has_mac;
	uint8_t mac[6];
	bool disabled;
	enum nm_verdict dflt; /* NM_NONE: interface-default */
	bool implicit; /* only named by rules: no 'interface' line */
};

struct nm_rule {
	enum nm_verdict verdict;
	enum nm_subj subj;
	unsigned int id; /* uid, gid, or index into nm_policy.progs */
	bool dev;
	/* interface rules */
	char iface[NM_NAME]; /* "": every interface ("on *") */
	unsigned int dirs; /* IG_DIR_IN | IG_DIR_OUT */
	unsigned int protos; /* IG_P_* */
	unsigned int nranges; /* 0: every port */
	uint16_t lo[NM_MAX_RANGES], hi[NM_MAX_RANGES];
	/* device rules */
	enum nm_devname devname;
	unsigned int type, major, minor; /* NODE, MAJOR (minor unused); type IG_DEV_* */
	unsigned int index; /* PATH: into nm_policy.devpaths; CLASS: into nm_classes */
	unsigned int access; /* IG_ACC_* */
};

/* A program the policy names, as the daemon finds it. */
struct nm_program {
	char path[48];
	bool exists;
	bool measured; /* a verified manifest entry */
	uint64_t dev, ino;
	int64_t csec;
	uint32_t cnsec;
};

/* A device path the policy names, as the daemon finds it. */
struct nm_devpath {
	char path[32];
	bool exists;
	unsigned int type, major, minor;
};

/* Device classes the model knows: the ones defined by drivers only. */
struct nm_class {
	const char *name;
	const char *driver; /* its name in /proc/devices */
};
extern const struct nm_class nm_classes[];
#define NM_NCLASSES 4

struct nm_policy {
	enum nm_verdict dflt; /* interface-default (NM_ALLOW or NM_DENY) */
	bool audit; /* access-mode audit */
	bool unlabelled_deny; /* unlabelled-sockets deny */
	unsigned int nifs, nrules, nprogs, ndevpaths;
	struct nm_iface ifs[NM_MAX_IFACES];
	struct nm_rule rules[NM_MAX_RULES];
	struct nm_program progs[NM_MAX_PROGS];
	struct nm_devpath devpaths[NM_MAX_DEVPATHS];
	unsigned int class_major[NM_NCLASSES]; /* the class's driver's major here, 0: none */
};

/* Who a socket acts for, or who opens a device. */
struct nm_subject {
	bool exe_known; /* unlabelled sockets and kernel tasks: no executable */
	uint64_t dev, ino;
	int64_t csec;
	uint32_t cnsec;
	unsigned int uid, gid;
};

/* The interface a packet passes, as the kernel and the daemon know it. */
struct nm_link {
	bool known; /* the daemon has seen it (rtnetlink) */
	char name[NM_NAME];
	bool has_mac;
	uint8_t mac[6];
	char was[NM_NAME]; /* its name when the daemon first saw it, if renamed since */
	/*
	 * Stacked on a device of this name (no MAC address; "": none): that
	 * device's declaration must allow as well; a link without a
	 * declaration of its own takes it alone (iotgate.conf(5),
	 * interface-changes: stacked devices).
	 */
	char lower[NM_NAME];
};

/* Which declaration of the policy an interface falls under (NULL: none). */
const struct nm_iface *nm_declaration(const struct nm_policy *p, const struct nm_link *l);
/* Renders the policy as iotgate.conf(5) text (mode audit, manifest m) into buf. */
int nm_policy_text(const struct nm_policy *p, char *buf, size_t size);
/* One rule as policy text (for reports). */
void nm_rule_text(const struct nm_policy *p, const struct nm_rule *r, char *buf, size_t size);

/*
 * May a socket of class proto (IG_P_*: what kind of socket it is) whose flows
 * are flows (IG_DIR_OUT: the subject opened them, IG_DIR_IN: the peer did,
 * both: not known) use the interface with these local and remote ports?
 */
bool nm_packet_allowed(const struct nm_policy *p, const struct nm_subject *s,
		       const struct nm_link *l, unsigned int proto, unsigned int flows,
		       uint16_t lport, uint16_t rport);

/*
 * Who opened a socket's flow, told by its first packet: the subject if it
 * sends first; the peer if it receives first, except that a TCP socket
 * receiving first that is not listening is a connection whose opener is
 * not known (both).
 */
unsigned int nm_flows(unsigned int proto, bool first_egress, bool listening);

/*
 * The ports a packet is judged on: TCP the socket's own, UDP the datagram's
 * (local: source when sending, destination when receiving), others none.
 */
void nm_ports(unsigned int proto, bool egress, uint16_t sock_l, uint16_t sock_r, uint16_t sport,
	      uint16_t dport, uint16_t *lport, uint16_t *rport);

/* Whether any rule names the device (it is gated). */
bool nm_device_gated(const struct nm_policy *p, unsigned int type, unsigned int major,
		     unsigned int minor);
/* May the subject open the device for access (IG_ACC_*)? Devices not gated: yes. */
bool nm_device_allowed(const struct nm_policy *p, const struct nm_subject *s, unsigned int type,
		       unsigned int major, unsigned int minor, unsigned int access);

#endif
