// SPDX-License-Identifier: GPL-2.0-only
/* Interface and device rules: parser and consistency checks (see netpolicy.h). */
#include <errno.h>
#include <grp.h>
#include <pwd.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include "lex.h"
#include "netpolicy.h"
#include "policy.h"

#define IFNAME_MAX 15

const struct ig_dev_class ig_dev_classes[] = {
	{ "tty",
	  "serial lines and virtual consoles (not /dev/tty, /dev/console, ptmx, pts)",
	  { { IG_DEV_CHAR, 4, IG_MINOR_ANY },
	    { IG_DEV_CHAR, 204, IG_MINOR_ANY },
	    { IG_DEV_CHAR, 188, IG_MINOR_ANY },
	    { IG_DEV_CHAR, 166, IG_MINOR_ANY } },
	  { "tty*" } },
	{ "i2c", "I2C adapters (/dev/i2c-*)", { { IG_DEV_CHAR, 89, IG_MINOR_ANY } }, { "i2c" } },
	{ "spi", "SPI devices (/dev/spidev*)", { { IG_DEV_CHAR, 153, IG_MINOR_ANY } }, { "spi" } },
	{ "gpiochip", "GPIO character devices (/dev/gpiochip*)", { { 0 } }, { "gpiochip" } },
	{ "gpiomem",
	  "GPIO register windows (/dev/gpiomem)",
	  { { 0 } },
	  { "gpiomem", "bcm2835-gpiomem", "rpi-gpiomem" } },
	{ "mem",
	  "physical memory and I/O ports (/dev/mem, /dev/kmem, /dev/port)",
	  { { IG_DEV_CHAR, 1, 1 }, { IG_DEV_CHAR, 1, 2 }, { IG_DEV_CHAR, 1, 4 } },
	  { NULL } },
	{ "input",
	  "input devices (/dev/input/*)",
	  { { IG_DEV_CHAR, 13, IG_MINOR_ANY } },
	  { NULL } },
	{ "fb", "frame buffers (/dev/fb*)", { { IG_DEV_CHAR, 29, IG_MINOR_ANY } }, { "fb" } },
	{ "video",
	  "video4linux devices (/dev/video*)",
	  { { IG_DEV_CHAR, 81, IG_MINOR_ANY } },
	  { "video4linux", "media" } },
	{ "sound",
	  "ALSA devices (/dev/snd/*)",
	  { { IG_DEV_CHAR, 116, IG_MINOR_ANY } },
	  { "alsa" } },
	{ "watchdog", "watchdogs (/dev/watchdog*)", { { IG_DEV_CHAR, 10, 130 } }, { "watchdog" } },
	{ "rtc", "real-time clocks (/dev/rtc*)", { { 0 } }, { "rtc" } },
	{ "hidraw", "raw HID devices (/dev/hidraw*)", { { 0 } }, { "hidraw" } },
	{ "usb",
	  "raw USB devices (/dev/bus/usb/*)",
	  { { IG_DEV_CHAR, 189, IG_MINOR_ANY }, { IG_DEV_CHAR, 180, IG_MINOR_ANY } },
	  { "usb_device", "usb" } },
	{ "mtd",
	  "raw flash (/dev/mtd*, /dev/mtdblock*)",
	  { { IG_DEV_CHAR, 90, IG_MINOR_ANY }, { IG_DEV_BLOCK, 31, IG_MINOR_ANY } },
	  { "mtd" } },
	{ "uio", "userspace I/O (/dev/uio*)", { { 0 } }, { "uio" } },
	{ NULL, NULL, { { 0 } }, { NULL } },
};

static const struct {
	const char *name;
	unsigned int bits;
} protos[] = {
	{ "tcp", IG_P_TCP }, { "udp", IG_P_UDP },	{ "icmp", IG_P_ICMP }, { "raw", IG_P_RAW },
	{ "can", IG_P_CAN }, { "packet", IG_P_PACKET }, { "any", IG_P_ANY },
};

bool ig_parse_mac(const char *s, uint8_t mac[6])
{
	for (int i = 0; i < 6; i++) {
		unsigned int v = 0;

		for (int j = 0; j < 2; j++, s++) {
			char c = *s;

			if (c >= '0' && c <= '9')
				v = v * 16 + (c - '0');
			else if (c >= 'a' && c <= 'f')
				v = v * 16 + (c - 'a' + 10);
			else if (c >= 'A' && c <= 'F')
				v = v * 16 + (c - 'A' + 10);
			else
				return false;
		}
		mac[i] = v;
		if (i < 5 && *s++ != ':')
			return false;
	}
	return *s == '\0';
}

static unsigned int end_col(const struct ig_line *l)
{
	const struct ig_tok *t = &l->tok[l->ntok - 1];

	return t->col + strlen(t->s) + 1;
}

static struct ig_netpolicy *np_get(struct ig_netpolicy **np)
{
	if (!*np) {
		*np = calloc(1, sizeof(**np));
		if (*np) {
			(*np)->dflt = IG_RV_ALLOW;
			(*np)->mode = IG_MODE_ENFORCE;
		}
	}
	return *np;
}

static bool valid_ifname(const char *s)
{
	size_t n = strlen(s);

	if (!n || n > IFNAME_MAX || !strcmp(s, ".") || !strcmp(s, ".."))
		return false;
	for (; *s; s++)
		if (*s == '/' || *s == ':' || *s == '*' || (unsigned char)*s <= ' ' ||
		    (unsigned char)*s >= 0x7f)
			return false;
	return true;
}

static struct ig_np_iface *find_iface(struct ig_netpolicy *np, const char *name)
{
	for (size_t i = 0; i < np->nifs; i++)
		if (!strcmp(np->ifs[i].name, name))
			return &np->ifs[i];
	return NULL;
}

static struct ig_np_iface *add_iface(struct ig_netpolicy *np, const char *name)
{
	struct ig_np_iface *n;

	if (np->nifs >= IG_NP_MAX_IFACES)
		return NULL;
	n = realloc(np->ifs, (np->nifs + 1) * sizeof(*n));
	if (!n)
		return NULL;
	np->ifs = n;
	n = &np->ifs[np->nifs];
	memset(n, 0, sizeof(*n));
	n->name = strdup(name);
	if (!n->name)
		return NULL;
	np->nifs++;
	return n;
}

static bool parse_verdict(const char *s, unsigned int *v)
{
	if (!strcmp(s, "allow"))
		*v = IG_RV_ALLOW;
	else if (!strcmp(s, "deny"))
		*v = IG_RV_DENY;
	else
		return false;
	return true;
}

static void dir_interface(struct ig_netpolicy *np, const char *file, unsigned int line,
			  struct ig_line *l, struct ig_diag *d)
{
	struct ig_np_iface *i;
	bool seen_mac = false, seen_default = false;
	unsigned int dflt = IG_RV_NOMATCH, fwd = IG_RV_NOMATCH;
	bool disabled = false, ok = true, seen_fwd = false;
	uint8_t mac[6] = { 0 };

	if (l->ntok < 2) {
		ig_diag_add(
			d, file, line, end_col(l),
			"missing argument: usage is 'interface NAME [mac MAC] [default allow|deny | disable] [forward allow|deny]'");
		return;
	}
	if (!valid_ifname(l->tok[1].s)) {
		ig_diag_add(
			d, file, line, l->tok[1].col,
			"'%s' is not an interface name (1 to 15 characters, no '/', ':', '*' or blanks)",
			l->tok[1].s);
		return;
	}
	for (unsigned int t = 2; t < l->ntok; t++) {
		const char *w = l->tok[t].s;

		if (!strcmp(w, "mac") && !seen_mac) {
			seen_mac = true;
			if (t + 1 >= l->ntok) {
				ig_diag_add(d, file, line, end_col(l),
					    "missing address after 'mac' (XX:XX:XX:XX:XX:XX)");
				ok = false;
			} else if (!ig_parse_mac(l->tok[++t].s, mac)) {
				ig_diag_add(d, file, line, l->tok[t].col,
					    "bad MAC address '%s' (expected XX:XX:XX:XX:XX:XX)",
					    l->tok[t].s);
				ok = false;
			}
		} else if (!strcmp(w, "default") && !seen_default) {
			seen_default = true;
			if (t + 1 >= l->ntok) {
				ig_diag_add(d, file, line, end_col(l),
					    "missing verdict after 'default' (allow or deny)");
				ok = false;
			} else if (!parse_verdict(l->tok[++t].s, &dflt)) {
				ig_diag_add(d, file, line, l->tok[t].col,
					    "unknown verdict '%s' (expected 'allow' or 'deny')",
					    l->tok[t].s);
				ok = false;
			}
		} else if (!strcmp(w, "forward") && !seen_fwd) {
			seen_fwd = true;
			if (t + 1 >= l->ntok) {
				ig_diag_add(d, file, line, end_col(l),
					    "missing verdict after 'forward' (allow or deny)");
				ok = false;
			} else if (!parse_verdict(l->tok[++t].s, &fwd)) {
				ig_diag_add(d, file, line, l->tok[t].col,
					    "unknown verdict '%s' (expected 'allow' or 'deny')",
					    l->tok[t].s);
				ok = false;
			}
		} else if (!strcmp(w, "disable") && !disabled) {
			disabled = true;
		} else {
			ig_diag_add(
				d, file, line, l->tok[t].col,
				"unexpected '%s': usage is 'interface NAME [mac MAC] [default allow|deny | disable] [forward allow|deny]'",
				w);
			ok = false;
		}
	}
	if (disabled && seen_default) {
		ig_diag_add(d, file, line, l->tok[1].col,
			    "interface '%s' is both disabled and given a default", l->tok[1].s);
		ok = false;
	}
	i = find_iface(np, l->tok[1].s);
	if (i && i->line) {
		ig_diag_add(d, file, line, l->tok[1].col,
			    "interface '%s' declared again (first on line %u)", l->tok[1].s,
			    i->line);
		return;
	}
	if (!ok)
		return;
	if (!i)
		i = add_iface(np, l->tok[1].s);
	if (!i) {
		ig_diag_add(d, file, line, l->tok[1].col, "too many interfaces (at most %d)",
			    IG_NP_MAX_IFACES);
		return;
	}
	i->line = line;
	i->has_mac = seen_mac;
	memcpy(i->mac, mac, 6);
	i->disabled = disabled;
	i->dflt = dflt;
	i->fwd = fwd;
}

static bool lookup_id(unsigned int kind, const char *name, unsigned int *id)
{
	char buf[4096];

	if (kind == IG_SUBJ_UID) {
		struct passwd pw, *res = NULL;

		if (getpwnam_r(name, &pw, buf, sizeof(buf), &res) || !res)
			return false;
		*id = pw.pw_uid;
	} else {
		struct group gr, *res = NULL;

		if (getgrnam_r(name, &gr, buf, sizeof(buf), &res) || !res)
			return false;
		*id = gr.gr_gid;
	}
	return true;
}

/* Parses the subject at tok[*t]; advances *t past it. */
static bool parse_subject(const char *file, unsigned int line, struct ig_line *l, unsigned int *t,
			  struct ig_np_subject *s, struct ig_diag *d)
{
	const char *w;

	if (*t >= l->ntok) {
		ig_diag_add(d, file, line, end_col(l),
			    "missing subject (program PATH, uid ID, gid ID or anyone)");
		return false;
	}
	w = l->tok[*t].s;
	if (!strcmp(w, "anyone")) {
		s->kind = IG_SUBJ_ANYONE;
		(*t)++;
		return true;
	}
	if (strcmp(w, "program") && strcmp(w, "uid") && strcmp(w, "gid")) {
		ig_diag_add(
			d, file, line, l->tok[*t].col,
			"unknown subject '%s' (expected program PATH, uid ID, gid ID or anyone)",
			w);
		return false;
	}
	if (*t + 1 >= l->ntok) {
		ig_diag_add(d, file, line, end_col(l), "missing %s after '%s'",
			    !strcmp(w, "program") ? "path" : "id or name", w);
		return false;
	}
	(*t)++;
	if (!strcmp(w, "program")) {
		s->kind = IG_SUBJ_PROGRAM;
		if (l->tok[*t].s[0] != '/') {
			ig_diag_add(d, file, line, l->tok[*t].col,
				    "program path '%s' is not absolute", l->tok[*t].s);
			return false;
		}
		s->path = strdup(l->tok[*t].s);
		(*t)++;
		return s->path != NULL;
	}
	s->kind = !strcmp(w, "uid") ? IG_SUBJ_UID : IG_SUBJ_GID;
	if (!ig_parse_u32(l->tok[*t].s, &s->id) && !lookup_id(s->kind, l->tok[*t].s, &s->id)) {
		ig_diag_add(d, file, line, l->tok[*t].col, "unknown %s '%s'",
			    s->kind == IG_SUBJ_UID ? "user" : "group", l->tok[*t].s);
		return false;
	}
	(*t)++;
	return true;
}

static bool parse_port(const char *s, const char *end, uint16_t *out)
{
	unsigned int v = 0;

	if (s == end || end - s > 5)
		return false;
	for (; s < end; s++) {
		if (*s < '0' || *s > '9')
			return false;
		v = v * 10 + (*s - '0');
	}
	if (v < 1 || v > 65535)
		return false;
	*out = v;
	return true;
}

#define MAX_RANGES 16

/* "N", "N-M", comma separated. Returns the number of ranges, 0 on error. */
static size_t parse_ports(const char *s, uint16_t lo[MAX_RANGES], uint16_t hi[MAX_RANGES])
{
	size_t n = 0;

	for (;;) {
		const char *comma = strchr(s, ','), *end = comma ? comma : s + strlen(s);
		const char *dash = memchr(s, '-', end - s);

		if (n == MAX_RANGES)
			return 0;
		if (dash) {
			if (!parse_port(s, dash, &lo[n]) || !parse_port(dash + 1, end, &hi[n]) ||
			    lo[n] > hi[n])
				return 0;
		} else {
			if (!parse_port(s, end, &lo[n]))
				return 0;
			hi[n] = lo[n];
		}
		n++;
		if (!comma)
			return n;
		s = comma + 1;
	}
}

static bool parse_protos(const char *s, unsigned int *bits)
{
	*bits = 0;
	for (;;) {
		const char *comma = strchr(s, ','), *end = comma ? comma : s + strlen(s);
		size_t i;

		for (i = 0; i < sizeof(protos) / sizeof(protos[0]); i++)
			if (strlen(protos[i].name) == (size_t)(end - s) &&
			    !strncmp(protos[i].name, s, end - s))
				break;
		if (i == sizeof(protos) / sizeof(protos[0]))
			return false;
		*bits |= protos[i].bits;
		if (!comma)
			return true;
		s = comma + 1;
	}
}

static bool is_proto_word(const char *s)
{
	unsigned int bits;

	return parse_protos(s, &bits);
}

static const struct ig_dev_class *find_class(const char *name)
{
	for (const struct ig_dev_class *c = ig_dev_classes; c->name; c++)
		if (!strcmp(c->name, name))
			return c;
	return NULL;
}

static bool parse_majmin(const char *s, unsigned int *major, unsigned int *minor)
{
	const char *colon = strchr(s, ':');
	char buf[16];

	if (!colon || (size_t)(colon - s) >= sizeof(buf))
		return false;
	memcpy(buf, s, colon - s);
	buf[colon - s] = '\0';
	/* Linux dev_t: 12-bit major, 20-bit minor. */
	if (!ig_parse_u32(buf, major) || *major > 0xfff)
		return false;
	if (!strcmp(colon + 1, "*")) {
		*minor = IG_MINOR_ANY;
		return true;
	}
	return ig_parse_u32(colon + 1, minor) && *minor <= 0xfffff;
}

static void free_rule(struct ig_np_rule *r)
{
	free(r->subj.path);
	free(r->iface);
	free(r->path);
}

static bool push_rule(struct ig_netpolicy *np, const struct ig_np_rule *r)
{
	struct ig_np_rule *n;

	if (np->nrules >= IG_NP_MAX_RULES)
		return false;
	n = realloc(np->rules, (np->nrules + 1) * sizeof(*n));
	if (!n)
		return false;
	np->rules = n;
	n[np->nrules] = *r;
	if (r->subj.path)
		n[np->nrules].subj.path = strdup(r->subj.path);
	if (r->iface)
		n[np->nrules].iface = strdup(r->iface);
	if (r->path)
		n[np->nrules].path = strdup(r->path);
	if ((r->subj.path && !n[np->nrules].subj.path) || (r->iface && !n[np->nrules].iface) ||
	    (r->path && !n[np->nrules].path)) {
		free_rule(&n[np->nrules]);
		return false;
	}
	np->nrules++;
	return true;
}

static const char *const rule_usage =
	"usage is 'allow|deny SUBJECT on IFACE|* [in|out] [PROTO] [port P]' or 'allow|deny SUBJECT device DEV [read|write|rw]'";

static bool parse_net_tail(const char *file, unsigned int line, struct ig_line *l, unsigned int t,
			   struct ig_np_rule *r, uint16_t lo[MAX_RANGES], uint16_t hi[MAX_RANGES],
			   size_t *nranges, struct ig_diag *d)
{
	bool ok = true, seen_dir = false, seen_proto = false, seen_port = false;
	unsigned int port_col = 0;

	if (t >= l->ntok) {
		ig_diag_add(d, file, line, end_col(l), "missing interface name after 'on'");
		return false;
	}
	if (strcmp(l->tok[t].s, "*")) {
		if (!valid_ifname(l->tok[t].s)) {
			ig_diag_add(
				d, file, line, l->tok[t].col,
				"'%s' is not an interface name (1 to 15 characters, no '/', ':', '*' or blanks) or '*'",
				l->tok[t].s);
			return false;
		}
		r->iface = strdup(l->tok[t].s);
		if (!r->iface)
			return false;
	}
	r->dirs = IG_DIR_IN | IG_DIR_OUT;
	r->protos = IG_P_ANY;
	for (t++; t < l->ntok; t++) {
		const char *w = l->tok[t].s;

		if ((!strcmp(w, "in") || !strcmp(w, "out")) && !seen_dir) {
			seen_dir = true;
			r->dirs = !strcmp(w, "in") ? IG_DIR_IN : IG_DIR_OUT;
		} else if (!strcmp(w, "port") && !seen_port) {
			seen_port = true;
			port_col = l->tok[t].col;
			if (t + 1 >= l->ntok) {
				ig_diag_add(d, file, line, end_col(l), "missing port after 'port'");
				ok = false;
			} else {
				t++;
				*nranges = parse_ports(l->tok[t].s, lo, hi);
				if (!*nranges) {
					ig_diag_add(
						d, file, line, l->tok[t].col,
						"bad port range '%s' (ports 1 to 65535 as N or LOW-HIGH with LOW <= HIGH, comma separated, at most %d)",
						l->tok[t].s, MAX_RANGES);
					ok = false;
				}
			}
		} else if (!seen_proto && is_proto_word(w)) {
			seen_proto = true;
			parse_protos(w, &r->protos);
		} else if (!seen_proto && strcmp(w, "in") && strcmp(w, "out") &&
			   strcmp(w, "port")) {
			ig_diag_add(
				d, file, line, l->tok[t].col,
				"unknown protocol '%s' (expected tcp, udp, icmp, raw, can, packet or any)",
				w);
			ok = false;
			seen_proto = true;
		} else {
			ig_diag_add(d, file, line, l->tok[t].col, "unexpected '%s': %s", w,
				    rule_usage);
			ok = false;
		}
	}
	if (ok && seen_port) {
		if (r->protos & ~(IG_P_TCP | IG_P_UDP) || !seen_proto) {
			ig_diag_add(d, file, line, port_col,
				    "ports need protocol tcp, udp or tcp,udp (not %s)",
				    seen_proto ? "other protocols" : "any");
			ok = false;
		}
		r->ports = true;
	}
	return ok;
}

static bool parse_dev_tail(const char *file, unsigned int line, struct ig_line *l, unsigned int t,
			   struct ig_np_rule *r, struct ig_diag *d)
{
	const char *w;

	if (t >= l->ntok) {
		ig_diag_add(
			d, file, line, end_col(l),
			"missing device after 'device' (/dev/PATH, char MAJ:MIN, block MAJ:MIN or class NAME)");
		return false;
	}
	w = l->tok[t].s;
	if (w[0] == '/') {
		r->devspec = IG_NPD_PATH;
		r->path = strdup(w);
		if (!r->path)
			return false;
		t++;
	} else if (!strcmp(w, "char") || !strcmp(w, "block") || !strcmp(w, "class")) {
		if (t + 1 >= l->ntok) {
			ig_diag_add(d, file, line, end_col(l), "missing %s after '%s'",
				    !strcmp(w, "class") ? "class name" : "MAJOR:MINOR", w);
			return false;
		}
		t++;
		if (!strcmp(w, "class")) {
			r->devspec = IG_NPD_CLASS;
			r->cls = find_class(l->tok[t].s);
			if (!r->cls) {
				char names[512] = "";

				for (const struct ig_dev_class *c = ig_dev_classes; c->name; c++) {
					strncat(names, c->name, sizeof(names) - strlen(names) - 3);
					if (c[1].name)
						strcat(names, ", ");
				}
				ig_diag_add(d, file, line, l->tok[t].col,
					    "unknown device class '%s' (known: %s)", l->tok[t].s,
					    names);
				return false;
			}
		} else {
			r->devspec = IG_NPD_NODE;
			r->type = !strcmp(w, "char") ? IG_DEV_CHAR : IG_DEV_BLOCK;
			if (!parse_majmin(l->tok[t].s, &r->major, &r->minor)) {
				ig_diag_add(
					d, file, line, l->tok[t].col,
					"bad device number '%s' (MAJOR:MINOR or MAJOR:*, major up to 4095, minor up to 1048575)",
					l->tok[t].s);
				return false;
			}
		}
		t++;
	} else {
		ig_diag_add(
			d, file, line, l->tok[t].col,
			"bad device '%s' (expected /dev/PATH, char MAJ:MIN, block MAJ:MIN or class NAME)",
			w);
		return false;
	}
	r->access = IG_ACC_READ | IG_ACC_WRITE;
	if (t < l->ntok) {
		w = l->tok[t].s;
		if (!strcmp(w, "read"))
			r->access = IG_ACC_READ;
		else if (!strcmp(w, "write"))
			r->access = IG_ACC_WRITE;
		else if (strcmp(w, "rw")) {
			ig_diag_add(d, file, line, l->tok[t].col,
				    "unknown access '%s' (expected read, write or rw)", w);
			return false;
		}
		t++;
	}
	if (t < l->ntok) {
		ig_diag_add(d, file, line, l->tok[t].col, "unexpected '%s': %s", l->tok[t].s,
			    rule_usage);
		return false;
	}
	return true;
}

static void dir_rule(struct ig_netpolicy *np, const char *file, unsigned int line,
		     struct ig_line *l, struct ig_diag *d)
{
	struct ig_np_rule r = { .line = line, .col = l->tok[0].col };
	uint16_t lo[MAX_RANGES], hi[MAX_RANGES];
	size_t nranges = 0;
	unsigned int t = 1;
	bool ok;

	parse_verdict(l->tok[0].s, &r.verdict);
	if (!parse_subject(file, line, l, &t, &r.subj, d))
		goto out;
	if (t >= l->ntok) {
		ig_diag_add(d, file, line, end_col(l),
			    "missing 'on INTERFACE' or 'device DEVICE' after the subject");
		goto out;
	}
	if (!strcmp(l->tok[t].s, "on")) {
		ok = parse_net_tail(file, line, l, t + 1, &r, lo, hi, &nranges, d);
	} else if (!strcmp(l->tok[t].s, "device")) {
		r.dev = true;
		ok = parse_dev_tail(file, line, l, t + 1, &r, d);
	} else {
		ig_diag_add(d, file, line, l->tok[t].col,
			    "expected 'on INTERFACE' or 'device DEVICE', not '%s'", l->tok[t].s);
		goto out;
	}
	if (!ok)
		goto out;
	if (!r.dev && r.iface && !find_iface(np, r.iface) && !add_iface(np, r.iface)) {
		ig_diag_add(d, file, line, l->tok[0].col, "too many interfaces (at most %d)",
			    IG_NP_MAX_IFACES);
		goto out;
	}
	for (size_t i = 0; i < (r.ports ? nranges : 1); i++) {
		if (r.ports) {
			r.port_lo = lo[i];
			r.port_hi = hi[i];
		}
		if (!push_rule(np, &r)) {
			ig_diag_add(d, file, line, l->tok[0].col, "too many rules (at most %d)",
				    IG_NP_MAX_RULES);
			break;
		}
	}
out:
	free_rule(&r);
}

static void dir_once(const char *file, unsigned int line, struct ig_line *l, unsigned int *seen,
		     const char *usage, const char *a, const char *b, unsigned int va,
		     unsigned int vb, unsigned int *out, struct ig_diag *d)
{
	if (l->ntok != 2) {
		if (l->ntok < 2)
			ig_diag_add(d, file, line, end_col(l), "missing argument: usage is '%s'",
				    usage);
		else
			ig_diag_add(d, file, line, l->tok[2].col, "unexpected '%s': usage is '%s'",
				    l->tok[2].s, usage);
		return;
	}
	if (*seen) {
		ig_diag_add(d, file, line, l->tok[0].col, "'%s' given again (first on line %u)",
			    l->tok[0].s, *seen);
		return;
	}
	*seen = line;
	if (!strcmp(l->tok[1].s, a))
		*out = va;
	else if (!strcmp(l->tok[1].s, b))
		*out = vb;
	else
		ig_diag_add(d, file, line, l->tok[1].col,
			    "unknown value '%s' (expected '%s' or '%s')", l->tok[1].s, a, b);
}

bool ig_netpolicy_directive(struct ig_netpolicy **npp, const char *file, unsigned int line,
			    struct ig_line *l, struct ig_diag *d)
{
	const char *kw = l->tok[0].s;
	struct ig_netpolicy *np;

	if (strcmp(kw, "interface-default") && strcmp(kw, "access-mode") &&
	    strcmp(kw, "unlabelled-sockets") && strcmp(kw, "interface-changes") &&
	    strcmp(kw, "interface") && strcmp(kw, "allow") && strcmp(kw, "deny"))
		return false;
	np = np_get(npp);
	if (!np) {
		ig_diag_add(d, file, line, l->tok[0].col, "out of memory");
		return true;
	}
	if (!strcmp(kw, "interface-default"))
		dir_once(file, line, l, &np->dflt_line, "interface-default allow|deny", "allow",
			 "deny", IG_RV_ALLOW, IG_RV_DENY, &np->dflt, d);
	else if (!strcmp(kw, "access-mode"))
		dir_once(file, line, l, &np->mode_line, "access-mode enforce|audit", "enforce",
			 "audit", IG_MODE_ENFORCE, IG_MODE_AUDIT, &np->mode, d);
	else if (!strcmp(kw, "unlabelled-sockets"))
		dir_once(file, line, l, &np->unlab_line, "unlabelled-sockets allow|deny", "allow",
			 "deny", IG_NP_UNLAB_ALLOW, IG_NP_UNLAB_DENY, &np->unlabelled, d);
	else if (!strcmp(kw, "interface-changes"))
		dir_once(file, line, l, &np->chg_line, "interface-changes allow|deny", "allow",
			 "deny", IG_NP_CHG_ALLOW, IG_NP_CHG_DENY, &np->changes, d);
	else if (!strcmp(kw, "interface"))
		dir_interface(np, file, line, l, d);
	else
		dir_rule(np, file, line, l, d);
	return true;
}

static bool same_subject(const struct ig_np_subject *a, const struct ig_np_subject *b)
{
	if (a->kind != b->kind)
		return false;
	if (a->kind == IG_SUBJ_PROGRAM)
		return !strcmp(a->path, b->path);
	return a->kind == IG_SUBJ_ANYONE || a->id == b->id;
}

static bool same_devspec(const struct ig_np_rule *a, const struct ig_np_rule *b)
{
	if (a->devspec != b->devspec)
		return false;
	switch (a->devspec) {
	case IG_NPD_PATH:
		return !strcmp(a->path, b->path);
	case IG_NPD_CLASS:
		return a->cls == b->cls;
	default:
		return a->type == b->type && a->major == b->major && a->minor == b->minor;
	}
}

/* Could one packet or open match both rules? */
static bool overlap(const struct ig_np_rule *a, const struct ig_np_rule *b)
{
	unsigned int p;

	if (a->dev)
		return same_devspec(a, b) && (a->access & b->access);
	if ((a->iface == NULL) != (b->iface == NULL) || (a->iface && strcmp(a->iface, b->iface)))
		return false;
	p = a->protos & b->protos;
	if (!(a->dirs & b->dirs) || !p)
		return false;
	if (a->ports && b->ports)
		return a->port_lo <= b->port_hi && b->port_lo <= a->port_hi;
	/* A rule without ports meets a port rule on TCP/UDP only... */
	if (a->ports || b->ports)
		return p & (IG_P_TCP | IG_P_UDP);
	return true;
}

void ig_netpolicy_finish(struct ig_netpolicy **npp, const char *file, struct ig_diag *d)
{
	struct ig_netpolicy *np = *npp;

	if (!np)
		return;
	for (size_t i = 0; i < np->nifs; i++) {
		for (size_t j = 0; j < i; j++)
			if (np->ifs[i].has_mac && np->ifs[j].has_mac &&
			    !memcmp(np->ifs[i].mac, np->ifs[j].mac, 6))
				ig_diag_add(
					d, file, np->ifs[i].line, 1,
					"interface '%s' has the MAC address of interface '%s' (line %u)",
					np->ifs[i].name, np->ifs[j].name, np->ifs[j].line);
	}
	for (size_t i = 0; i < np->nrules; i++) {
		const struct ig_np_rule *r = &np->rules[i];
		const struct ig_np_iface *f = r->iface ? find_iface(np, r->iface) : NULL;

		if (!r->dev && r->verdict == IG_RV_ALLOW && f && f->disabled &&
		    (i == 0 || np->rules[i - 1].line != r->line))
			ig_diag_add(d, file, r->line, r->col,
				    "allow rule contradicts line %u: interface '%s' is disabled",
				    f->line, f->name);
		for (size_t j = 0; j < i; j++) {
			const struct ig_np_rule *o = &np->rules[j];

			if (o->dev != r->dev || o->verdict == r->verdict ||
			    !same_subject(&o->subj, &r->subj) || !overlap(o, r))
				continue;
			ig_diag_add(
				d, file, r->line, r->col,
				"%s rule contradicts line %u: an allow and a deny for the same subject overlap on %s",
				r->verdict == IG_RV_ALLOW ? "allow" : "deny", o->line,
				r->dev	 ? "the same device" :
				r->iface ? "the same interface" :
					   "every interface ('*')");
			/* One message per pair of lines, whatever the port lists. */
			while (i + 1 < np->nrules && np->rules[i + 1].line == r->line)
				i++;
			break;
		}
	}
}

void ig_netpolicy_free(struct ig_netpolicy *np)
{
	if (!np)
		return;
	for (size_t i = 0; i < np->nifs; i++)
		free(np->ifs[i].name);
	for (size_t i = 0; i < np->nrules; i++)
		free_rule(&np->rules[i]);
	free(np->ifs);
	free(np->rules);
	free(np);
}

size_t ig_dev_class_nums(const struct ig_dev_class *c, const char *proc_devices,
			 struct ig_dev_num *out, size_t max)
{
	const char *p = proc_devices;
	bool chr = false;
	size_t n = 0;

	for (int i = 0; i < 6 && c->fixed[i].type && n < max; i++)
		out[n++] = c->fixed[i];
	while (p && *p) {
		const char *nl = strchr(p, '\n'), *end = nl ? nl : p + strlen(p);
		char name[64];
		unsigned int major;
		int used = 0;

		if (!strncmp(p, "Character devices:", 18))
			chr = true;
		else if (!strncmp(p, "Block devices:", 14))
			chr = false;
		else if (chr && end - p < 64 && sscanf(p, " %u %63s%n", &major, name, &used) == 2 &&
			 p + used <= end && major <= 0xfff) {
			for (int i = 0; i < 6 && c->drivers[i]; i++) {
				const char *dn = c->drivers[i];
				size_t dl = strlen(dn);
				bool match = dn[dl - 1] == '*' ? !strncmp(name, dn, dl - 1) :
								 !strcmp(name, dn);
				bool dup = false;

				if (!match)
					continue;
				for (size_t k = 0; k < n; k++)
					if (out[k].type == IG_DEV_CHAR && out[k].major == major &&
					    out[k].minor == IG_MINOR_ANY)
						dup = true;
				if (!dup && n < max)
					out[n++] = (struct ig_dev_num){ IG_DEV_CHAR, major,
									IG_MINOR_ANY };
				break;
			}
		}
		p = nl ? nl + 1 : NULL;
	}
	return n;
}

const struct ig_np_iface *ig_netpolicy_iface(const struct ig_netpolicy *np, const char *name,
					     const uint8_t *mac)
{
	if (!np)
		return NULL;
	if (mac)
		for (size_t i = 0; i < np->nifs; i++)
			if (np->ifs[i].has_mac && !memcmp(np->ifs[i].mac, mac, 6))
				return &np->ifs[i];
	for (size_t i = 0; i < np->nifs; i++)
		if (!strcmp(np->ifs[i].name, name))
			return np->ifs[i].has_mac ? NULL : &np->ifs[i];
	return NULL;
}

const struct ig_np_iface *ig_netpolicy_decl(const struct ig_netpolicy *np, const char *decl)
{
	for (size_t i = 0; np && i < np->nifs; i++)
		if (!strcmp(np->ifs[i].name, decl))
			return &np->ifs[i];
	return NULL;
}

unsigned int ig_netpolicy_target(const struct ig_netpolicy *np, const struct ig_np_iface *i)
{
	return i ? (unsigned int)(i - np->ifs) + 1 : IG_TARGET_ANYIF;
}
