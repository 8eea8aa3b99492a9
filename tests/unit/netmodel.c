// SPDX-License-Identifier: GPL-2.0-only
/* Reference model of the interface and device decisions (see netmodel.h). */
#include <stdio.h>
#include <string.h>
#include "iotgate.h"
#include "netmodel.h"

const struct nm_class nm_classes[NM_NCLASSES] = {
	{ "gpiochip", "gpiochip" },
	{ "rtc", "rtc" },
	{ "hidraw", "hidraw" },
	{ "uio", "uio" },
};

/*
 * "With mac the declaration follows the interface with that permanent
 * hardware address whatever its name, and an interface merely named NAME
 * with another address is treated as not named by the policy." Interfaces
 * that rules name without an 'interface' line are named by the policy too.
 */
const struct nm_iface *nm_declaration(const struct nm_policy *p, const struct nm_link *l)
{
	if (!l->known)
		return NULL;
	for (unsigned int i = 0; i < p->nifs; i++)
		if (p->ifs[i].has_mac && l->has_mac && !memcmp(p->ifs[i].mac, l->mac, 6))
			return &p->ifs[i];
	for (unsigned int i = 0; i < p->nifs; i++)
		if (!strcmp(p->ifs[i].name, l->name))
			return p->ifs[i].has_mac ? NULL : &p->ifs[i];
	return NULL;
}

/* Does the rule belong to this subject at this level? */
static bool rule_of(const struct nm_policy *p, const struct nm_rule *r, enum nm_subj level,
		    const struct nm_subject *s)
{
	const struct nm_program *pg;

	if (r->subj != level)
		return false;
	switch (level) {
	case NM_PROGRAM:
		pg = &p->progs[r->id];
		return s->exe_known && pg->exists && pg->dev == s->dev && pg->ino == s->ino;
	case NM_UID:
		return r->id == s->uid;
	case NM_GID:
		return r->id == s->gid;
	default:
		return true;
	}
}

/*
 * "Programs are identified by their measured content": a program's allow
 * rules count for a verified manifest entry whose file has not changed
 * since; its deny rules count for the file whatever its state.
 */
static bool counts(const struct nm_policy *p, const struct nm_rule *r, const struct nm_subject *s)
{
	const struct nm_program *pg;

	if (r->subj != NM_PROGRAM || r->verdict == NM_DENY)
		return true;
	pg = &p->progs[r->id];
	return pg->measured && pg->csec == s->csec && pg->cnsec == s->cnsec;
}

static bool net_match(const struct nm_rule *r, unsigned int dir, unsigned int proto, uint16_t port)
{
	if (!(r->dirs & dir) || !(r->protos & proto))
		return false;
	if (!r->nranges)
		return true;
	for (unsigned int i = 0; i < r->nranges; i++)
		if (port >= r->lo[i] && port <= r->hi[i])
			return true;
	return false;
}

/* "a deny among the matching rules wins" */
static enum nm_verdict among(bool allow, bool deny)
{
	return deny ? NM_DENY : allow ? NM_ALLOW : NM_NONE;
}

/*
 * "Precedence: a program's rules come first, then those of its user, then
 * those of its group, then those of anyone. Within one subject, rules that
 * name the interface come before 'on *'."
 */
static enum nm_verdict net_rules(const struct nm_policy *p, const struct nm_subject *s,
				 const struct nm_iface *decl, unsigned int dir, unsigned int proto,
				 uint16_t port)
{
	for (enum nm_subj level = NM_PROGRAM; level <= NM_ANYONE; level++) {
		bool sa = false, sd = false, ga = false, gd = false;
		enum nm_verdict v;

		for (unsigned int i = 0; i < p->nrules; i++) {
			const struct nm_rule *r = &p->rules[i];
			bool specific;

			if (r->dev || !rule_of(p, r, level, s) || !counts(p, r, s) ||
			    !net_match(r, dir, proto, port))
				continue;
			if (r->iface[0] && !(decl && !strcmp(r->iface, decl->name)))
				continue; /* another interface's rule */
			specific = r->iface[0] != '\0';
			if (r->verdict == NM_DENY)
				*(specific ? &sd : &gd) = true;
			else
				*(specific ? &sa : &ga) = true;
		}
		v = among(sa, sd);
		if (v == NM_NONE)
			v = among(ga, gd);
		if (v != NM_NONE)
			return v;
	}
	return NM_NONE;
}

static bool decl_allowed(const struct nm_policy *p, const struct nm_subject *s,
			 const struct nm_iface *decl, unsigned int proto, unsigned int flows,
			 uint16_t lport, uint16_t rport)
{
	/* "Traffic that no rule decides gets the interface's default, then interface-default" */
	enum nm_verdict dflt = decl && decl->dflt != NM_NONE ? decl->dflt : p->dflt;

	if (decl && decl->disabled)
		return false; /* "switches the interface off for every program" */
	/* "'out' ... port is then the remote port; 'in' ... the local port" */
	if (flows & IG_DIR_OUT) {
		enum nm_verdict v = net_rules(p, s, decl, IG_DIR_OUT, proto, rport);

		if ((v == NM_NONE ? dflt : v) == NM_ALLOW)
			return true;
	}
	/* A flow whose opener is not known may pass as either. */
	if (flows & IG_DIR_IN) {
		enum nm_verdict v = net_rules(p, s, decl, IG_DIR_IN, proto, lport);

		if ((v == NM_NONE ? dflt : v) == NM_ALLOW)
			return true;
	}
	return false;
}

/*
 * RENAMES: "the declaration that first governs a device stays with it
 * through renames; when its new name falls under another declaration, both
 * apply and the stricter wins."
 */
bool nm_packet_allowed(const struct nm_policy *p, const struct nm_subject *s,
		       const struct nm_link *l, unsigned int proto, unsigned int flows,
		       uint16_t lport, uint16_t rport)
{
	const struct nm_iface *cur = nm_declaration(p, l), *own = cur, *low = NULL;
	struct nm_link first = *l, below = { .known = true };

	if (l->was[0]) {
		memcpy(first.name, l->was, sizeof(first.name));
		if (nm_declaration(p, &first))
			own = nm_declaration(p, &first);
	}
	if (l->known && l->lower[0]) {
		memcpy(below.name, l->lower, sizeof(below.name));
		low = nm_declaration(p, &below);
	}
	/* What it sends leaves through the device below: its rules too, or alone. */
	if (low && !decl_allowed(p, s, low, proto, flows, lport, rport))
		return false;
	if (low && !own)
		return true;
	if (!decl_allowed(p, s, own, proto, flows, lport, rport))
		return false;
	return !cur || cur == own || decl_allowed(p, s, cur, proto, flows, lport, rport);
}

unsigned int nm_flows(unsigned int proto, bool first_egress, bool listening)
{
	if (first_egress)
		return IG_DIR_OUT;
	if ((proto & IG_P_TCP) && !listening)
		return IG_DIR_IN | IG_DIR_OUT;
	return IG_DIR_IN;
}

void nm_ports(unsigned int proto, bool egress, uint16_t sock_l, uint16_t sock_r, uint16_t sport,
	      uint16_t dport, uint16_t *lport, uint16_t *rport)
{
	*lport = *rport = 0;
	if (proto & IG_P_TCP) {
		*lport = sock_l;
		*rport = sock_r;
	} else if (proto & IG_P_UDP) {
		*lport = egress ? sport : dport;
		*rport = egress ? dport : sport;
	}
}

/* How the rule names the device: 0 not at all, 1 as a node or path, 2 by major or class. */
static int dev_names(const struct nm_policy *p, const struct nm_rule *r, unsigned int type,
		     unsigned int major, unsigned int minor)
{
	const struct nm_devpath *dp;

	switch (r->devname) {
	case NM_DEV_NODE:
		return r->type == type && r->major == major && r->minor == minor;
	case NM_DEV_MAJOR:
		return r->type == type && r->major == major ? 2 : 0;
	case NM_DEV_PATH:
		dp = &p->devpaths[r->index];
		return dp->exists && dp->type == type && dp->major == major && dp->minor == minor;
	default:
		/* a class is a character device driver's major */
		return type == IG_DEV_CHAR && p->class_major[r->index] &&
				       p->class_major[r->index] == major ?
			       2 :
			       0;
	}
}

bool nm_device_gated(const struct nm_policy *p, unsigned int type, unsigned int major,
		     unsigned int minor)
{
	for (unsigned int i = 0; i < p->nrules; i++)
		if (p->rules[i].dev && dev_names(p, &p->rules[i], type, major, minor))
			return true;
	return false;
}

/* One access: the first subject level with a matching rule decides; else refused. */
static bool dev_access(const struct nm_policy *p, const struct nm_subject *s, unsigned int type,
		       unsigned int major, unsigned int minor, unsigned int acc)
{
	for (enum nm_subj level = NM_PROGRAM; level <= NM_ANYONE; level++) {
		bool sa = false, sd = false, ga = false, gd = false;
		enum nm_verdict v;

		for (unsigned int i = 0; i < p->nrules; i++) {
			const struct nm_rule *r = &p->rules[i];
			int how;

			if (!r->dev || !(r->access & acc) || !rule_of(p, r, level, s) ||
			    !counts(p, r, s))
				continue;
			how = dev_names(p, r, type, major, minor);
			if (!how)
				continue;
			if (r->verdict == NM_DENY)
				*(how == 1 ? &sd : &gd) = true;
			else
				*(how == 1 ? &sa : &ga) = true;
		}
		v = among(sa, sd);
		if (v == NM_NONE)
			v = among(ga, gd);
		if (v != NM_NONE)
			return v == NM_ALLOW;
	}
	return false; /* "a gated device that no rule allows is refused" */
}

bool nm_device_allowed(const struct nm_policy *p, const struct nm_subject *s, unsigned int type,
		       unsigned int major, unsigned int minor, unsigned int access)
{
	if (!nm_device_gated(p, type, major, minor))
		return true;
	if ((access & IG_ACC_READ) && !dev_access(p, s, type, major, minor, IG_ACC_READ))
		return false;
	if ((access & IG_ACC_WRITE) && !dev_access(p, s, type, major, minor, IG_ACC_WRITE))
		return false;
	return true;
}

/* --- text --- */

static void subject_text(const struct nm_policy *p, const struct nm_rule *r, char *buf, size_t size)
{
	switch (r->subj) {
	case NM_PROGRAM:
		snprintf(buf, size, "program %s", p->progs[r->id].path);
		break;
	case NM_UID:
		snprintf(buf, size, "uid %u", r->id);
		break;
	case NM_GID:
		snprintf(buf, size, "gid %u", r->id);
		break;
	default:
		snprintf(buf, size, "anyone");
	}
}

void nm_rule_text(const struct nm_policy *p, const struct nm_rule *r, char *buf, size_t size)
{
	static const struct {
		unsigned int bit;
		const char *name;
	} pn[] = { { IG_P_TCP, "tcp" }, { IG_P_UDP, "udp" }, { IG_P_ICMP, "icmp" },
		   { IG_P_RAW, "raw" }, { IG_P_CAN, "can" }, { IG_P_PACKET, "packet" } };
	char subj[80], tail[160] = "";
	size_t o = 0;

	subject_text(p, r, subj, sizeof(subj));
	if (r->dev) {
		const char *acc = r->access == IG_ACC_READ  ? " read" :
				  r->access == IG_ACC_WRITE ? " write" :
							      " rw";

		if (r->devname == NM_DEV_NODE)
			snprintf(tail, sizeof(tail), "%s %u:%u%s",
				 r->type == IG_DEV_CHAR ? "char" : "block", r->major, r->minor,
				 acc);
		else if (r->devname == NM_DEV_MAJOR)
			snprintf(tail, sizeof(tail), "%s %u:*%s",
				 r->type == IG_DEV_CHAR ? "char" : "block", r->major, acc);
		else if (r->devname == NM_DEV_PATH)
			snprintf(tail, sizeof(tail), "%s%s", p->devpaths[r->index].path, acc);
		else
			snprintf(tail, sizeof(tail), "class %s%s", nm_classes[r->index].name, acc);
		snprintf(buf, size, "%s %s device %s", r->verdict == NM_ALLOW ? "allow" : "deny",
			 subj, tail);
		return;
	}
	if (r->dirs != (IG_DIR_IN | IG_DIR_OUT))
		o += snprintf(tail + o, sizeof(tail) - o, " %s",
			      r->dirs == IG_DIR_IN ? "in" : "out");
	if (r->protos == IG_P_ANY) {
		o += snprintf(tail + o, sizeof(tail) - o, " any");
	} else {
		const char *sep = " ";

		for (size_t i = 0; i < sizeof(pn) / sizeof(pn[0]); i++)
			if (r->protos & pn[i].bit) {
				o += snprintf(tail + o, sizeof(tail) - o, "%s%s", sep, pn[i].name);
				sep = ",";
			}
	}
	for (unsigned int i = 0; i < r->nranges; i++) {
		if (r->lo[i] == r->hi[i])
			o += snprintf(tail + o, sizeof(tail) - o, "%s%u", i ? "," : " port ",
				      r->lo[i]);
		else
			o += snprintf(tail + o, sizeof(tail) - o, "%s%u-%u", i ? "," : " port ",
				      r->lo[i], r->hi[i]);
	}
	snprintf(buf, size, "%s %s on %s%s", r->verdict == NM_ALLOW ? "allow" : "deny", subj,
		 r->iface[0] ? r->iface : "*", tail);
}

int nm_policy_text(const struct nm_policy *p, char *buf, size_t size)
{
	size_t o = 0;
	int n;

#define PUT(...)                                              \
	do {                                                  \
		n = snprintf(buf + o, size - o, __VA_ARGS__); \
		if (n < 0 || (size_t)n >= size - o)           \
			return -1;                            \
		o += n;                                       \
	} while (0)
	PUT("mode audit\nmanifest m\ninterface-default %s\naccess-mode %s\nunlabelled-sockets %s\n",
	    p->dflt == NM_DENY ? "deny" : "allow", p->audit ? "audit" : "enforce",
	    p->unlabelled_deny ? "deny" : "allow");
	for (unsigned int i = 0; i < p->nifs; i++) {
		const struct nm_iface *f = &p->ifs[i];

		if (f->implicit)
			continue;
		PUT("interface %s", f->name);
		if (f->has_mac)
			PUT(" mac %02x:%02x:%02x:%02x:%02x:%02x", f->mac[0], f->mac[1], f->mac[2],
			    f->mac[3], f->mac[4], f->mac[5]);
		if (f->disabled)
			PUT(" disable");
		else if (f->dflt != NM_NONE)
			PUT(" default %s", f->dflt == NM_ALLOW ? "allow" : "deny");
		PUT("\n");
	}
	for (unsigned int i = 0; i < p->nrules; i++) {
		char line[256];

		nm_rule_text(p, &p->rules[i], line, sizeof(line));
		PUT("%s\n", line);
	}
#undef PUT
	return (int)o;
}
