/* SPDX-License-Identifier: GPL-2.0-only */
/*
 * Interface and device rules of the policy file (iotgate.conf(5)).
 *
 *   interface-default allow|deny
 *        verdict for traffic no rule decides on an interface the policy does
 *        not give a default to (default: allow)
 *   unlabelled-sockets allow|deny
 *        deny: packets of sockets that carry no label (opened before the
 *        rules on a kernel where they could not all be labeled, and the
 *        kernel's own sockets such as tunnels) are judged as an unknown
 *        program of an unknown user. Default: deny in access-mode enforce
 *        when not every program socket could be labeled, else allow.
 *   interface-changes allow|deny
 *        deny (default): in the full tier, while the rules are loaded, a
 *        declared interface cannot be renamed, moved to another network
 *        namespace, deleted, enslaved or have a device stacked on it
 *   access-mode enforce|audit
 *        audit: refusals are only counted and reported (default: enforce);
 *        independent of 'mode', which is about the manifest
 *   interface NAME [mac XX:XX:XX:XX:XX:XX] [default allow|deny | disable]
 *             [forward allow|deny]
 *        declares an interface. With 'mac' the declaration follows the
 *        interface with that permanent hardware address whatever its name (a
 *        rename cannot dodge it) and an interface merely named NAME with
 *        another address is treated as not named by the policy. 'disable'
 *        switches the interface off for every program. 'forward' is the
 *        verdict for packets that no socket of this host sends or receives
 *        and that cross the interface: routed or bridged through it
 *        (default: deny on a disabled interface, else allow). Names of
 *        interfaces that do not exist (yet) are accepted and reported.
 *   allow|deny SUBJECT on IFACE|* [in|out] [PROTO[,PROTO...]] [port P[,P...]]
 *        PROTO: tcp udp icmp raw can packet any (default any);
 *        P: N or N-M (1-65535), only with tcp and/or udp.
 *        'out' is traffic of flows the subject opens (TCP connect, datagrams
 *        it sends first) and 'port' is then the remote port; 'in' is traffic
 *        of flows the peer opens (TCP listen/accept, datagrams received
 *        first) and 'port' is the local port. For CAN and packet sockets,
 *        'out' is sending and 'in' is receiving.
 *   allow|deny SUBJECT device DEV [read|write|rw]
 *        DEV: /dev/PATH | char MAJ:MIN | block MAJ:MIN (MIN may be *) |
 *        class NAME (see ig_dev_classes). A device any rule names is gated:
 *        opening it is refused to every subject the rules do not allow.
 *
 *   SUBJECT: program PATH (a measured executable from the manifest) |
 *            uid N|NAME | gid N|NAME (effective ids) | anyone
 *
 * Precedence: a program's rules, then its uid's, then its gid's, then
 * anyone's; within one subject the rules naming the interface or device node
 * come before "on *" and class rules, and a deny among the matching rules
 * wins. An allow and a deny of the same subject on the same target that
 * overlap are contradictory and refused. Interface rules are then the
 * interface's default, then interface-default; device rules then deny.
 */
#ifndef IG_NETPOLICY_H
#define IG_NETPOLICY_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include "diag.h"
#include "iotgate.h"

#define IG_NP_MAX_IFACES 256
#define IG_NP_MAX_RULES 4096

struct ig_np_subject {
	unsigned int kind; /* IG_SUBJ_* */
	char *path; /* IG_SUBJ_PROGRAM */
	unsigned int id; /* uid or gid */
};

enum { IG_NPD_NODE, IG_NPD_PATH, IG_NPD_CLASS };

struct ig_dev_class;

struct ig_np_rule {
	unsigned int line, col;
	bool dev; /* a device rule, else an interface rule */
	unsigned int verdict; /* IG_RV_ALLOW or IG_RV_DENY */
	struct ig_np_subject subj;
	/* interface rules */
	char *iface; /* NULL: every interface ("on *") */
	unsigned int dirs; /* IG_DIR_* */
	unsigned int protos; /* IG_P_* */
	bool ports;
	uint16_t port_lo, port_hi;
	/* device rules */
	unsigned int devspec; /* IG_NPD_* */
	char *path;
	unsigned int type, major, minor; /* IG_NPD_NODE; minor may be IG_MINOR_ANY */
	const struct ig_dev_class *cls;
	unsigned int access; /* IG_ACC_* */
};

struct ig_np_iface {
	char *name;
	unsigned int line; /* 0: only named by rules */
	bool has_mac;
	uint8_t mac[6];
	bool disabled;
	unsigned int dflt; /* IG_RV_ALLOW/DENY, or IG_RV_NOMATCH for interface-default */
	unsigned int fwd; /* forward: IG_RV_ALLOW/DENY, or IG_RV_NOMATCH (not given) */
};

/* ig_netpolicy.unlabelled */
enum { IG_NP_UNLAB_AUTO, IG_NP_UNLAB_ALLOW, IG_NP_UNLAB_DENY };
/* ig_netpolicy.changes */
enum { IG_NP_CHG_DENY, IG_NP_CHG_ALLOW };

struct ig_netpolicy {
	unsigned int dflt; /* interface-default */
	unsigned int mode; /* access-mode: IG_MODE_* */
	unsigned int unlabelled; /* unlabelled-sockets: IG_NP_UNLAB_* */
	unsigned int changes; /* interface-changes: IG_NP_CHG_* */
	unsigned int dflt_line, mode_line, unlab_line, chg_line;
	struct ig_np_iface *ifs;
	size_t nifs;
	struct ig_np_rule *rules;
	size_t nrules;
};

/* Device classes: fixed numbers plus drivers looked up in /proc/devices. */
struct ig_dev_num {
	unsigned int type, major, minor; /* minor may be IG_MINOR_ANY */
};

struct ig_dev_class {
	const char *name;
	const char *what;
	struct ig_dev_num fixed[6];
	const char *drivers[6]; /* character-device driver names; "tty*" is a prefix */
};

extern const struct ig_dev_class ig_dev_classes[];

/*
 * Numbers a class covers on this system: its fixed numbers plus the majors
 * /proc/devices (text in proc_devices, may be NULL) lists for its drivers.
 * Returns the count (at most max).
 */
size_t ig_dev_class_nums(const struct ig_dev_class *c, const char *proc_devices,
			 struct ig_dev_num *out, size_t max);

/* Which declaration an interface falls under: MAC first, then name. */
const struct ig_np_iface *ig_netpolicy_iface(const struct ig_netpolicy *np, const char *name,
					     const uint8_t *mac);
/* The declaration called decl (its own name, whatever device it matches), or NULL. */
const struct ig_np_iface *ig_netpolicy_decl(const struct ig_netpolicy *np, const char *decl);
/* Target id of a declaration (IG_TARGET_ANYIF for NULL). */
unsigned int ig_netpolicy_target(const struct ig_netpolicy *np, const struct ig_np_iface *i);

/* Resolution of names to what the kernel sees, supplied by the loader. */
struct ig_np_resolver {
	/*
	 * A program path: 0 with its identity and ctime and whether it is a
	 * verified manifest entry, or negative errno if the file is missing.
	 */
	int (*program)(void *ctx, const char *path, struct ig_file_key *key, int64_t *ctime_sec,
		       uint32_t *ctime_nsec, bool *measured);
	/* A device node path: 0 with its type and numbers, or negative errno. */
	int (*devnode)(void *ctx, const char *path, unsigned int *type, unsigned int *major,
		       unsigned int *minor);
	const char *proc_devices; /* contents of /proc/devices, or NULL */
	void *ctx;
};

/* The policy as map entries (generation left 0 for the loader to set). */
struct ig_np_compiled {
	struct ig_rule_key *keys;
	struct ig_rule_set *sets;
	size_t nsets;
	struct ig_dev_key *devkeys;
	struct ig_dev_val *devvals;
	size_t ndevs;
	size_t unmeasured; /* rules of programs that are missing or not measured */
};

/*
 * Compiles the rules. Errors (a rule set over IG_RULES_MAX) go to err as
 * file:line:col; notes (programs not measured, device paths missing) go to
 * notes and leave the rules concerned matching nothing (allow) or only
 * the file as it is (deny). 0, -EINVAL (see err) or -ENOMEM.
 */
int ig_netpolicy_compile(const struct ig_netpolicy *np, const char *file,
			 const struct ig_np_resolver *res, struct ig_np_compiled *out,
			 struct ig_diag *err, struct ig_diag *notes);
void ig_np_compiled_free(struct ig_np_compiled *c);

/* Parses "XX:XX:XX:XX:XX:XX". */
bool ig_parse_mac(const char *s, uint8_t mac[6]);

#endif
