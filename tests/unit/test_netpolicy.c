// SPDX-License-Identifier: GPL-2.0-only
/* Interface and device rules: parsing, error positions, contradictions, compilation. */
#include <errno.h>
#include <stddef.h>
#include <stdlib.h>
#include <bpf/btf.h>
#include <bpf/libbpf.h>
#include "iotgate.h" /* before the skeleton: it names our structs */
#include "ifaces.skel.h"
#include "lex.h"
#include "netpolicy.h"
#include "policy.h"
#include "test.h"

#define HEAD "mode audit\nmanifest m\n"

static int parse(const char *text, struct ig_policy *p, struct ig_diag *d)
{
	ig_diag_init(d);
	return ig_policy_parse("p.conf", text, strlen(text), "/etc/iotgate", p, d);
}

static void dump(const struct ig_diag *d)
{
	for (size_t i = 0; i < d->n; i++)
		printf("    diag: %s\n", d->msgs[i]);
}

/* Expects the policy to fail with exactly the given messages, in order. */
static void expect_errors(const char *text, const char *const *msgs, size_t n)
{
	struct ig_policy p;
	struct ig_diag d;

	CHECK(parse(text, &p, &d) == -EINVAL);
	CHECK(d.n == n);
	if (d.n != n)
		dump(&d);
	for (size_t i = 0; i < n && i < d.n; i++)
		CHECK_STR(d.msgs[i], msgs[i]);
	CHECK(p.net == NULL);
	ig_policy_free(&p);
	ig_diag_free(&d);
}

TEST(netpolicy_absent_means_no_rules)
{
	struct ig_policy p;
	struct ig_diag d;

	CHECK(parse(HEAD, &p, &d) == 0);
	CHECK(p.net == NULL);
	ig_policy_free(&p);
	ig_diag_free(&d);
}

TEST(netpolicy_gateway_like_policy_parses)
{
	struct ig_policy p;
	struct ig_diag d;
	const struct ig_netpolicy *np;

	CHECK(parse(HEAD
		    "interface-default deny\n"
		    "access-mode audit\n"
		    "interface lo default allow\n"
		    "interface eth0 mac 02:00:00:AA:bb:01 default deny\n"
		    "interface wlan0 disable\n"
		    "allow program /usr/bin/updater on eth0 out tcp port 443\n"
		    "allow program \"/opt/mqtt agent\" on eth0 out tcp,udp port 8883,1000-2000\n"
		    "allow uid 0 on * in icmp\n"
		    "deny gid 27 on can0 can\n"
		    "allow anyone device /dev/ttyS1 read\n"
		    "deny anyone device class mem\n"
		    "allow uid 0 device char 4:* rw\n"
		    "deny anyone device block 8:0 write\n",
		    &p, &d) == 0);
	dump(&d);
	np = p.net;
	CHECK(np != NULL);
	if (!np)
		return;
	CHECK(np->dflt == IG_RV_DENY);
	CHECK(np->mode == IG_MODE_AUDIT);
	CHECK(np->nifs == 4); /* lo, eth0, wlan0 and can0 (named by a rule only) */
	CHECK_STR(np->ifs[3].name, "can0");
	CHECK(np->ifs[3].line == 0);
	CHECK(np->ifs[1].has_mac && np->ifs[1].mac[3] == 0xaa && np->ifs[1].mac[5] == 1);
	CHECK(np->ifs[1].dflt == IG_RV_DENY && np->ifs[0].dflt == IG_RV_ALLOW);
	CHECK(np->ifs[2].disabled && np->ifs[2].dflt == IG_RV_NOMATCH);
	/* The port list expands into one rule per range. */
	CHECK(np->nrules == 9);
	CHECK(np->rules[0].dirs == IG_DIR_OUT && np->rules[0].protos == IG_P_TCP);
	CHECK(np->rules[0].ports && np->rules[0].port_lo == 443 && np->rules[0].port_hi == 443);
	CHECK_STR(np->rules[1].subj.path, "/opt/mqtt agent");
	CHECK(np->rules[1].protos == (IG_P_TCP | IG_P_UDP));
	CHECK(np->rules[2].port_lo == 1000 && np->rules[2].port_hi == 2000);
	CHECK(np->rules[1].line == 9 && np->rules[2].line == 9);
	CHECK(np->rules[3].iface == NULL && np->rules[3].subj.kind == IG_SUBJ_UID);
	CHECK(np->rules[3].dirs == IG_DIR_IN && !np->rules[3].ports);
	CHECK(np->rules[4].subj.kind == IG_SUBJ_GID && np->rules[4].subj.id == 27);
	CHECK(np->rules[4].protos == IG_P_CAN && np->rules[4].verdict == IG_RV_DENY);
	CHECK(np->rules[5].dev && np->rules[5].devspec == IG_NPD_PATH);
	CHECK(np->rules[5].access == IG_ACC_READ);
	CHECK(np->rules[6].devspec == IG_NPD_CLASS && !strcmp(np->rules[6].cls->name, "mem"));
	CHECK(np->rules[7].devspec == IG_NPD_NODE && np->rules[7].major == 4);
	CHECK(np->rules[7].minor == IG_MINOR_ANY && np->rules[7].type == IG_DEV_CHAR);
	CHECK(np->rules[8].type == IG_DEV_BLOCK && np->rules[8].access == IG_ACC_WRITE);
	ig_policy_free(&p);
	ig_diag_free(&d);
}

TEST(netpolicy_reports_every_error_with_position)
{
	static const char *const msgs[] = {
		"p.conf:3:22: unknown protocol 'sctp' (expected tcp, udp, icmp, raw, can, packet or any)",
		"p.conf:4:31: bad port range '80-20' (ports 1 to 65535 as N or LOW-HIGH with LOW <= HIGH, comma separated, at most 16)",
		"p.conf:5:31: bad port range '0' (ports 1 to 65535 as N or LOW-HIGH with LOW <= HIGH, comma separated, at most 16)",
		"p.conf:6:31: bad port range '70000' (ports 1 to 65535 as N or LOW-HIGH with LOW <= HIGH, comma separated, at most 16)",
		"p.conf:7:22: ports need protocol tcp, udp or tcp,udp (not any)",
		"p.conf:8:27: ports need protocol tcp, udp or tcp,udp (not other protocols)",
		"p.conf:9:27: unknown device class 'serial' (known: tty, i2c, spi, gpiochip, gpiomem, mem, input, fb, video, sound, watchdog, rtc, hidraw, usb, mtd, uio)",
		"p.conf:10:7: unknown subject 'user' (expected program PATH, uid ID, gid ID or anyone)",
		"p.conf:11:15: program path 'bin/x' is not absolute",
		"p.conf:12:16: 'eth0/1' is not an interface name (1 to 15 characters, no '/', ':', '*' or blanks) or '*'",
		"p.conf:13:20: bad MAC address '00:11:22:33:44' (expected XX:XX:XX:XX:XX:XX)",
		"p.conf:15:1: 'interface-default' given again (first on line 14)",
		"p.conf:16:25: bad device number '4:x' (MAJOR:MINOR or MAJOR:*, major up to 4095, minor up to 1048575)",
		"p.conf:17:31: unknown access 'exec' (expected read, write or rw)",
		"p.conf:18:14: expected 'on INTERFACE' or 'device DEVICE', not 'at'",
		"p.conf:19:11: unknown user 'no-such-user-iotgate'",
		"p.conf:20:11: interface 'wlan0' is both disabled and given a default",
		"p.conf:21:13: unknown value 'sometimes' (expected 'enforce' or 'audit')",
		"p.conf:22:19: missing argument: usage is 'interface-default allow|deny'",
	};

	expect_errors(HEAD "allow anyone on eth0 sctp\n"
			   "allow anyone on eth0 tcp port 80-20\n"
			   "allow anyone on eth0 tcp port 0\n"
			   "allow anyone on eth0 udp port 70000\n"
			   "allow anyone on eth0 port 80\n"
			   "allow anyone on eth0 icmp port 80\n"
			   "allow anyone device class serial\n"
			   "allow user 0 on eth0\n"
			   "allow program bin/x on eth0\n"
			   "allow uid 0 on eth0/1\n"
			   "interface eth0 mac 00:11:22:33:44\n"
			   "interface-default deny\n" /* line 14 */
			   "interface-default allow\n"
			   "deny anyone device char 4:x\n"
			   "deny anyone device /dev/ttyS0 exec\n"
			   "allow anyone at eth0\n"
			   "allow uid no-such-user-iotgate on eth0\n"
			   "interface wlan0 disable default deny\n"
			   "access-mode sometimes\n"
			   "interface-default\n",
		      msgs, sizeof(msgs) / sizeof(msgs[0]));
}

TEST(netpolicy_repeated_directive_names_the_first_line)
{
	/* 'given again' names the line of the first occurrence: check the order. */
	static const char *const msgs[] = {
		"p.conf:4:1: 'interface-default' given again (first on line 3)",
	};

	expect_errors(HEAD "interface-default deny\ninterface-default allow\n", msgs, 1);
}

TEST(netpolicy_interface_changes)
{
	static const char *const msgs[] = {
		"p.conf:3:19: unknown value 'maybe' (expected 'allow' or 'deny')",
	};
	struct ig_policy p;
	struct ig_diag d;

	CHECK(parse(HEAD "interface eth0\n", &p, &d) == 0);
	CHECK(p.net && p.net->changes == IG_NP_CHG_DENY);
	ig_policy_free(&p);
	ig_diag_free(&d);
	CHECK(parse(HEAD "interface-changes allow\n", &p, &d) == 0);
	CHECK(p.net && p.net->changes == IG_NP_CHG_ALLOW);
	ig_policy_free(&p);
	ig_diag_free(&d);
	expect_errors(HEAD "interface-changes maybe\n", msgs, 1);
}

TEST(netpolicy_contradictions_are_errors)
{
	static const char *const msgs[] = {
		"p.conf:15:11: interface 'eth1' declared again (first on line 14)",
		"p.conf:17:1: interface 'b' has the MAC address of interface 'a' (line 16)",
		"p.conf:4:1: deny rule contradicts line 3: an allow and a deny for the same subject overlap on the same interface",
		"p.conf:6:1: deny rule contradicts line 5: an allow and a deny for the same subject overlap on the same interface",
		"p.conf:9:1: allow rule contradicts line 8: interface 'wlan0' is disabled",
		"p.conf:11:1: deny rule contradicts line 10: an allow and a deny for the same subject overlap on the same device",
		"p.conf:13:1: allow rule contradicts line 12: an allow and a deny for the same subject overlap on every interface ('*')",
	};

	expect_errors(HEAD "allow uid 5 on eth0 out tcp port 400-500\n"
			   "deny uid 5 on eth0 tcp port 450,9000\n"
			   "allow program /bin/x on eth0 udp\n"
			   "deny program /bin/x on eth0\n"
			   "allow anyone on eth0\n" /* 7: anyone is another subject: fine */
			   "interface wlan0 disable\n"
			   "allow uid 0 on wlan0 tcp\n"
			   "allow gid 3 device /dev/ttyS1 rw\n"
			   "deny gid 3 device /dev/ttyS1 write\n"
			   "deny anyone on * icmp\n"
			   "allow anyone on * in\n"
			   "interface eth1\n"
			   "interface eth1 disable\n"
			   "interface a mac 02:00:00:00:00:01\n"
			   "interface b mac 02:00:00:00:00:01\n",
		      msgs, sizeof(msgs) / sizeof(msgs[0]));
}

TEST(netpolicy_overlap_needs_everything_to_meet)
{
	struct ig_policy p;
	struct ig_diag d;

	/* Same subject, opposite verdicts, but disjoint ports, directions, protocols or targets. */
	CHECK(parse(HEAD "allow uid 5 on eth0 tcp port 1-100\n"
			 "deny uid 5 on eth0 tcp port 101-200\n"
			 "allow uid 5 on eth0 in udp\n"
			 "deny uid 5 on eth0 out udp\n"
			 "allow uid 5 on eth0 icmp\n"
			 "deny uid 5 on eth0 can\n"
			 "allow uid 5 on eth1 raw\n"
			 "deny uid 5 on * raw\n"
			 "allow uid 5 device /dev/a read\n"
			 "deny uid 5 device /dev/a write\n"
			 "deny uid 5 device /dev/b\n"
			 "allow uid 6 device /dev/b\n",
		    &p, &d) == 0);
	dump(&d);
	ig_policy_free(&p);
	ig_diag_free(&d);
}

TEST(netpolicy_iface_match_mac_first)
{
	struct ig_policy p;
	struct ig_diag d;
	const uint8_t m1[6] = { 2, 0, 0, 0, 0, 1 }, m2[6] = { 2, 0, 0, 0, 0, 2 };
	const struct ig_np_iface *i;

	CHECK(parse(HEAD "interface eth0 mac 02:00:00:00:00:01 default deny\n"
			 "interface wlan0 disable\n",
		    &p, &d) == 0);
	if (!p.net)
		return;
	/* Renamed: the address still finds it. */
	i = ig_netpolicy_iface(p.net, "renamed", m1);
	CHECK(i && !strcmp(i->name, "eth0"));
	CHECK(ig_netpolicy_target(p.net, i) == 1);
	/* Another interface renamed to eth0 does not inherit eth0's declaration. */
	CHECK(ig_netpolicy_iface(p.net, "eth0", m2) == NULL);
	CHECK(ig_netpolicy_iface(p.net, "eth0", NULL) == NULL);
	i = ig_netpolicy_iface(p.net, "wlan0", m2);
	CHECK(i && i->disabled && ig_netpolicy_target(p.net, i) == 2);
	CHECK(ig_netpolicy_iface(p.net, "usb0", NULL) == NULL);
	CHECK(ig_netpolicy_target(p.net, NULL) == IG_TARGET_ANYIF);
	ig_policy_free(&p);
	ig_diag_free(&d);
}

TEST(netpolicy_class_numbers_from_proc_devices)
{
	const char *proc = "Character devices:\n  1 mem\n  4 /dev/vc/0\n  4 tty\n  4 ttyS\n"
			   "  5 /dev/tty\n 89 i2c\n136 pts\n188 ttyUSB\n240 ttyGS\n254 gpiochip\n"
			   "\nBlock devices:\n  8 sd\n254 gpiochip\n";
	struct ig_dev_num n[64];
	size_t k;

	for (const struct ig_dev_class *c = ig_dev_classes; c->name; c++) {
		if (!strcmp(c->name, "tty")) {
			k = ig_dev_class_nums(c, proc, n, 64);
			/* 4, 204, 188, 166 fixed, then 240 from ttyGS; never 5 or 136. */
			CHECK(k == 5);
			CHECK(n[4].major == 240 && n[4].minor == IG_MINOR_ANY);
			for (size_t i = 0; i < k; i++)
				CHECK(n[i].major != 5 && n[i].major != 136);
		} else if (!strcmp(c->name, "gpiochip")) {
			k = ig_dev_class_nums(c, proc, n, 64);
			CHECK(k == 1 && n[0].major == 254 && n[0].type == IG_DEV_CHAR);
		} else if (!strcmp(c->name, "mem")) {
			k = ig_dev_class_nums(c, NULL, n, 64);
			CHECK(k == 3 && n[0].major == 1 && n[0].minor == 1 && n[2].minor == 4);
		}
	}
}

/* A fake system: programs and device nodes by path. */
static int fake_program(void *ctx, const char *path, struct ig_file_key *key, int64_t *csec,
			uint32_t *cnsec, bool *measured)
{
	(void)ctx;
	if (!strcmp(path, "/bin/missing"))
		return -ENOENT;
	key->dev = 8;
	/* /bin/link is a hard link to /bin/updater: one inode, one subject. */
	if (!strcmp(path, "/bin/updater") || !strcmp(path, "/bin/link"))
		key->ino = 100;
	else
		key->ino = strlen(path) * 10;
	*csec = 1234;
	*cnsec = 5;
	*measured = strcmp(path, "/bin/unmeasured") != 0;
	return 0;
}

static int fake_devnode(void *ctx, const char *path, unsigned int *type, unsigned int *major,
			unsigned int *minor)
{
	(void)ctx;
	if (!strcmp(path, "/dev/ttyS1")) {
		*type = IG_DEV_CHAR;
		*major = 4;
		*minor = 65;
		return 0;
	}
	return -ENOENT;
}

static const struct ig_rule_set *find_set(const struct ig_np_compiled *c, __u32 target, __u32 kind,
					  __u64 a, __u64 b)
{
	for (size_t i = 0; i < c->nsets; i++)
		if (c->keys[i].target == target && c->keys[i].kind == kind &&
		    c->keys[i].id_a == a && c->keys[i].id_b == b)
			return &c->sets[i];
	return NULL;
}

static __u32 dev_target(const struct ig_np_compiled *c, __u32 type, __u32 major, __u32 minor)
{
	for (size_t i = 0; i < c->ndevs; i++)
		if (c->devkeys[i].type == type && c->devkeys[i].major == major &&
		    c->devkeys[i].minor == minor)
			return c->devvals[i].target;
	return 0;
}

TEST(netpolicy_compile_sets)
{
	struct ig_np_resolver res = { fake_program, fake_devnode, "Character devices:\n", NULL };
	struct ig_policy p;
	struct ig_diag d, err, notes;
	struct ig_np_compiled c;
	const struct ig_rule_set *s;
	__u32 t;

	CHECK(parse(HEAD "interface eth0 default deny\n"
			 "allow program /bin/updater on eth0 out tcp port 443,8000-8080\n"
			 "allow program /bin/link on eth0 in udp\n" /* same inode: same subject */
			 "deny program /bin/updater on * icmp\n"
			 "allow program /bin/unmeasured on eth0 tcp\n"
			 "deny program /bin/unmeasured on eth0 icmp\n"
			 "allow program /bin/missing on eth0\n"
			 "allow uid 7 on * tcp\n"
			 "allow anyone device /dev/ttyS1 read\n"
			 "deny uid 0 device class tty write\n"
			 "allow uid 0 device class tty read\n"
			 "allow gid 5 device /dev/ttyUSB9\n",
		    &p, &d) == 0);
	dump(&d);
	ig_diag_init(&err);
	ig_diag_init(&notes);
	CHECK(ig_netpolicy_compile(p.net, "p.conf", &res, &c, &err, &notes) == 0);
	dump(&err);
	CHECK(notes.n == 3);
	if (notes.n == 3) {
		CHECK_STR(
			notes.msgs[0],
			"p.conf:7:1: program /bin/unmeasured is not a verified manifest entry; this allow rule matches nothing");
		CHECK_STR(
			notes.msgs[1],
			"p.conf:9:1: program /bin/missing: No such file or directory; this rule matches nothing");
		CHECK_STR(
			notes.msgs[2],
			"p.conf:14:1: device /dev/ttyUSB9: No such file or directory; the rule applies once it exists");
	}
	CHECK(c.unmeasured == 2);
	/* eth0 (target 1): updater's two port ranges + the udp rule of its hard link, then '*'. */
	s = find_set(&c, 1, IG_SUBJ_PROGRAM, 8, 100);
	CHECK(s && s->n == 4 && s->nspec == 3);
	if (s && s->n == 4) {
		CHECK(s->flags == IG_RS_CTIME && s->ctime_sec == 1234 && s->ctime_nsec == 5);
		CHECK(s->r[0].verdict == IG_RV_ALLOW && s->r[0].flags == IG_RF_PORTS);
		CHECK(s->r[0].port_lo == 443 && s->r[0].port_hi == 443);
		CHECK(s->r[1].port_lo == 8000 && s->r[1].port_hi == 8080);
		CHECK(s->r[2].protos == IG_P_UDP && s->r[2].dirs == IG_DIR_IN);
		CHECK(s->r[3].verdict == IG_RV_DENY && s->r[3].protos == IG_P_ICMP);
		CHECK(s->r[3].flags == IG_RF_GENERAL && s->r[2].flags == 0);
	}
	/* Interfaces the policy does not name: only the '*' rules. */
	s = find_set(&c, IG_TARGET_ANYIF, IG_SUBJ_PROGRAM, 8, 100);
	CHECK(s && s->n == 1 && s->nspec == 0);
	s = find_set(&c, IG_TARGET_ANYIF, IG_SUBJ_UID, 7, 0);
	CHECK(s && s->n == 1 && s->r[0].protos == IG_P_TCP);
	s = find_set(&c, 1, IG_SUBJ_UID, 7, 0);
	CHECK(s && s->n == 1 && s->nspec == 0);
	/* The unmeasured program keeps only its deny rule. */
	s = find_set(&c, 1, IG_SUBJ_PROGRAM, 8, strlen("/bin/unmeasured") * 10);
	CHECK(s && s->n == 1 && s->r[0].verdict == IG_RV_DENY);
	/* Devices: ttyS1's node rules first, then the class's; the class alone for other minors. */
	t = dev_target(&c, IG_DEV_CHAR, 4, 65);
	CHECK(t >= IG_TARGET_DEV_BASE);
	s = find_set(&c, t, IG_SUBJ_ANYONE, 0, 0);
	CHECK(s && s->n == 1 && s->nspec == 1 && s->r[0].dirs == IG_ACC_READ);
	s = find_set(&c, t, IG_SUBJ_UID, 0, 0);
	CHECK(s && s->n == 2 && s->nspec == 0);
	t = dev_target(&c, IG_DEV_CHAR, 4, IG_MINOR_ANY);
	CHECK(t >= IG_TARGET_DEV_BASE);
	CHECK(find_set(&c, t, IG_SUBJ_ANYONE, 0, 0) == NULL);
	s = find_set(&c, t, IG_SUBJ_UID, 0, 0);
	CHECK(s && s->n == 2 && s->r[0].verdict == IG_RV_DENY && s->r[0].dirs == IG_ACC_WRITE);
	CHECK(dev_target(&c, IG_DEV_CHAR, 188, IG_MINOR_ANY) != 0);
	ig_np_compiled_free(&c);
	ig_diag_free(&err);
	ig_diag_free(&notes);
	ig_policy_free(&p);
	ig_diag_free(&d);
}

TEST(netpolicy_compile_limits_rules_per_set)
{
	struct ig_np_resolver res = { fake_program, fake_devnode, NULL, NULL };
	struct ig_policy p;
	struct ig_diag d, err, notes;
	struct ig_np_compiled c;
	char text[4096] = HEAD;

	for (int i = 0; i < IG_RULES_MAX; i++)
		snprintf(text + strlen(text), sizeof(text) - strlen(text),
			 "allow uid 1 on eth0 tcp port %d\n", 100 + i);
	strcat(text, "allow uid 1 on * udp port 7\n");
	CHECK(parse(text, &p, &d) == 0);
	ig_diag_init(&err);
	ig_diag_init(&notes);
	CHECK(ig_netpolicy_compile(p.net, "p.conf", &res, &c, &err, &notes) == -EINVAL);
	CHECK(err.n == 1);
	if (err.n == 1)
		CHECK_STR(
			err.msgs[0],
			"p.conf:19:1: too many rules for one subject on interface 'eth0' (at most 16, counting '*' and class rules)");
	CHECK(c.nsets == 0 && c.keys == NULL);
	ig_diag_free(&err);
	ig_diag_free(&notes);
	ig_policy_free(&p);
	ig_diag_free(&d);
}

TEST(netpolicy_mac_parser)
{
	uint8_t m[6];

	CHECK(ig_parse_mac("00:1a:2B:3c:4D:ff", m) && m[1] == 0x1a && m[5] == 0xff);
	CHECK(!ig_parse_mac("00:1a:2B:3c:4D", m));
	CHECK(!ig_parse_mac("00:1a:2B:3c:4D:ff:00", m));
	CHECK(!ig_parse_mac("001a2B3c4Dff", m));
	CHECK(!ig_parse_mac("0g:1a:2B:3c:4D:ff", m));
}

TEST(netpolicy_gateway_example_parses)
{
	struct ig_policy p;
	struct ig_diag d;
	char path[512];
	const struct ig_np_iface *i;
	const uint8_t mac[6] = { 2, 0, 0, 0, 0, 1 };

	snprintf(path, sizeof(path), "%s/../../../policies/gateway.conf", ig_test_data());
	ig_diag_init(&d);
	CHECK(ig_policy_load(path, &p, &d) == 0);
	dump(&d);
	if (!p.net) {
		ig_diag_free(&d);
		return;
	}
	CHECK(p.mode == IG_MODE_ENFORCE && p.net->dflt == IG_RV_DENY);
	i = ig_netpolicy_iface(p.net, "wan-renamed", mac);
	CHECK(i && !strcmp(i->name, "eth0") && i->dflt == IG_RV_DENY);
	i = ig_netpolicy_iface(p.net, "wlan0", NULL);
	CHECK(i && i->disabled);
	i = ig_netpolicy_iface(p.net, "usb0", NULL);
	CHECK(i && i->disabled);
	i = ig_netpolicy_iface(p.net, "can0", NULL);
	CHECK(i && !i->disabled && i->dflt == IG_RV_DENY);
	CHECK(p.net->nrules == 9);
	ig_policy_free(&p);
	ig_diag_free(&d);
}

/* --- ABI: the rule structs as the BPF compiler laid them out (bpf/ifaces.bpf.c's BTF) --- */

struct np_member {
	const char *name;
	size_t offset;
	size_t size;
};

/* clang-format off */
#define NP_MEMBER(type, m) { #m, offsetof(struct type, m), sizeof(((struct type *)0)->m) }
/* clang-format on */

static const struct np_member m_rule[] = { NP_MEMBER(ig_rule, verdict),
					   NP_MEMBER(ig_rule, dirs),
					   NP_MEMBER(ig_rule, protos),
					   NP_MEMBER(ig_rule, flags),
					   NP_MEMBER(ig_rule, port_lo),
					   NP_MEMBER(ig_rule, port_hi),
					   {} };
static const struct np_member m_set[] = { NP_MEMBER(ig_rule_set, ctime_sec),
					  NP_MEMBER(ig_rule_set, ctime_nsec),
					  NP_MEMBER(ig_rule_set, flags),
					  NP_MEMBER(ig_rule_set, n),
					  NP_MEMBER(ig_rule_set, nspec),
					  NP_MEMBER(ig_rule_set, r),
					  {} };
static const struct np_member m_rkey[] = {
	NP_MEMBER(ig_rule_key, target), NP_MEMBER(ig_rule_key, kind), NP_MEMBER(ig_rule_key, id_a),
	NP_MEMBER(ig_rule_key, id_b),	NP_MEMBER(ig_rule_key, gen),  {}
};
static const struct np_member m_ifkey[] = { NP_MEMBER(ig_if_key, netns),
					    NP_MEMBER(ig_if_key, ifindex),
					    NP_MEMBER(ig_if_key, gen),
					    {} };
static const struct np_member m_ifval[] = {
	NP_MEMBER(ig_if_val, target), NP_MEMBER(ig_if_val, flags),
	NP_MEMBER(ig_if_val, dflt),   NP_MEMBER(ig_if_val, target2),
	NP_MEMBER(ig_if_val, dflt2),  NP_MEMBER(ig_if_val, target3),
	NP_MEMBER(ig_if_val, name),   NP_MEMBER(ig_if_val, master_mac),
	NP_MEMBER(ig_if_val, dflt3),  {}
};
static const struct np_member m_devkey[] = { NP_MEMBER(ig_dev_key, type),
					     NP_MEMBER(ig_dev_key, major),
					     NP_MEMBER(ig_dev_key, minor),
					     NP_MEMBER(ig_dev_key, gen),
					     {} };
static const struct np_member m_devval[] = { NP_MEMBER(ig_dev_val, target), {} };
static const struct np_member m_cfg[] = { NP_MEMBER(ig_net_config, netns),
					  NP_MEMBER(ig_net_config, epoch),
					  NP_MEMBER(ig_net_config, gen),
					  NP_MEMBER(ig_net_config, mode),
					  NP_MEMBER(ig_net_config, dflt),
					  NP_MEMBER(ig_net_config, flags),
					  {} };
static const struct np_member m_ev[] = { NP_MEMBER(ig_net_event, ts_ns),
					 NP_MEMBER(ig_net_event, exe_dev),
					 NP_MEMBER(ig_net_event, exe_ino),
					 NP_MEMBER(ig_net_event, type),
					 NP_MEMBER(ig_net_event, verdict),
					 NP_MEMBER(ig_net_event, family),
					 NP_MEMBER(ig_net_event, op),
					 NP_MEMBER(ig_net_event, pid),
					 NP_MEMBER(ig_net_event, uid),
					 NP_MEMBER(ig_net_event, gid),
					 NP_MEMBER(ig_net_event, ifindex),
					 NP_MEMBER(ig_net_event, proto),
					 NP_MEMBER(ig_net_event, access),
					 NP_MEMBER(ig_net_event, lport),
					 NP_MEMBER(ig_net_event, rport),
					 NP_MEMBER(ig_net_event, major),
					 NP_MEMBER(ig_net_event, minor),
					 NP_MEMBER(ig_net_event, comm),
					 {} };

static const struct {
	const char *name;
	size_t size;
	const struct np_member *members;
} np_structs[] = {
	{ "ig_rule", sizeof(struct ig_rule), m_rule },
	{ "ig_rule_set", sizeof(struct ig_rule_set), m_set },
	{ "ig_rule_key", sizeof(struct ig_rule_key), m_rkey },
	{ "ig_if_key", sizeof(struct ig_if_key), m_ifkey },
	{ "ig_if_val", sizeof(struct ig_if_val), m_ifval },
	{ "ig_dev_key", sizeof(struct ig_dev_key), m_devkey },
	{ "ig_dev_val", sizeof(struct ig_dev_val), m_devval },
	{ "ig_net_config", sizeof(struct ig_net_config), m_cfg },
	{ "ig_net_event", sizeof(struct ig_net_event), m_ev },
};

TEST(netpolicy_abi_layout_matches_bpf_btf)
{
	LIBBPF_OPTS(bpf_object_open_opts, opts, .object_name = "ig_ifaces");
	struct bpf_object *obj;
	const struct btf *btf;
	const void *elf;
	char msg[256];
	size_t sz;

	elf = ig_ifaces__elf_bytes(&sz);
	obj = bpf_object__open_mem(elf, sz, &opts);
	CHECK(obj != NULL);
	if (!obj)
		return;
	btf = bpf_object__btf(obj);
	CHECK(btf != NULL);
	for (size_t i = 0; btf && i < sizeof(np_structs) / sizeof(np_structs[0]); i++) {
		int id = btf__find_by_name_kind(btf, np_structs[i].name, BTF_KIND_STRUCT);
		const struct btf_type *t;

		if (id < 0) {
			snprintf(msg, sizeof(msg), "struct %s is not in ifaces.bpf.o's BTF",
				 np_structs[i].name);
			ig_test_fail(__FILE__, __LINE__, msg);
			continue;
		}
		t = btf__type_by_id(btf, id);
		if (t->size != np_structs[i].size) {
			snprintf(msg, sizeof(msg), "sizeof(struct %s): %zu here, %u in BPF",
				 np_structs[i].name, np_structs[i].size, t->size);
			ig_test_fail(__FILE__, __LINE__, msg);
		}
		for (const struct np_member *m = np_structs[i].members; m->name; m++) {
			const struct btf_member *bm = btf_members(t);
			long off = -1;
			__s64 msize = -1;

			for (unsigned int k = 0; k < btf_vlen(t); k++, bm++)
				if (!strcmp(btf__name_by_offset(btf, bm->name_off), m->name)) {
					off = btf_member_bit_offset(t, k) / 8;
					msize = btf__resolve_size(btf, bm->type);
				}
			if (off != (long)m->offset || msize != (__s64)m->size) {
				snprintf(
					msg, sizeof(msg),
					"struct %s.%s: offset %zu size %zu here, offset %ld size %lld in BPF",
					np_structs[i].name, m->name, m->offset, m->size, off,
					(long long)msize);
				ig_test_fail(__FILE__, __LINE__, msg);
			}
		}
	}
	bpf_object__close(obj);
}

TEST(netpolicy_forward_verdict)
{
	static const char *const msgs[] = {
		"p.conf:3:24: unknown verdict 'maybe' (expected 'allow' or 'deny')",
		"p.conf:4:24: missing verdict after 'forward' (allow or deny)",
		"p.conf:5:29: unexpected 'forward': usage is 'interface NAME [mac MAC] [default allow|deny | disable] [forward allow|deny]'",
		"p.conf:5:37: unexpected 'allow': usage is 'interface NAME [mac MAC] [default allow|deny | disable] [forward allow|deny]'",
	};
	struct ig_policy p;
	struct ig_diag d;
	const struct ig_np_iface *i;

	CHECK(parse(HEAD "interface eth0 forward deny\n"
			 "interface eth1 default deny forward allow\n"
			 "interface wlan0 disable\n"
			 "interface wlan1 disable forward allow\n"
			 "interface eth2\n",
		    &p, &d) == 0);
	dump(&d);
	if (!p.net)
		return;
	i = ig_netpolicy_decl(p.net, "eth0");
	CHECK(i && i->fwd == IG_RV_DENY && i->dflt == IG_RV_NOMATCH);
	i = ig_netpolicy_decl(p.net, "eth1");
	CHECK(i && i->fwd == IG_RV_ALLOW && i->dflt == IG_RV_DENY);
	/* Not given: the loader applies deny to a disabled interface, else allow. */
	i = ig_netpolicy_decl(p.net, "wlan0");
	CHECK(i && i->disabled && i->fwd == IG_RV_NOMATCH);
	i = ig_netpolicy_decl(p.net, "wlan1");
	CHECK(i && i->disabled && i->fwd == IG_RV_ALLOW);
	i = ig_netpolicy_decl(p.net, "eth2");
	CHECK(i && i->fwd == IG_RV_NOMATCH);
	ig_policy_free(&p);
	ig_diag_free(&d);
	/* Nothing of a policy with an error is kept. */
	expect_errors(HEAD "interface eth0 forward maybe\n"
			   "interface eth1 forward\n"
			   "interface eth2 forward deny forward allow\n",
		      msgs, sizeof(msgs) / sizeof(msgs[0]));
}
