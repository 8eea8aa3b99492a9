// SPDX-License-Identifier: GPL-2.0-only
/* The reference model of the interface and device decisions on iotgate.conf(5)'s example. */
#include <string.h>
#include "iotgate.h"
#include "netmodel.h"
#include "test.h"

/*
 * interface eth0 mac 02:00:00:00:00:01 default deny
 * interface wlan0 disable
 * allow program /usr/bin/agent on eth0 out tcp port 443
 * allow uid 0 on * any
 * deny anyone device char 1:1
 * allow program /usr/bin/agent device class rtc rw
 */
static void example(struct nm_policy *p)
{
	static const uint8_t mac[6] = { 2, 0, 0, 0, 0, 1 };

	memset(p, 0, sizeof(*p));
	p->dflt = NM_ALLOW;
	p->nifs = 2;
	strcpy(p->ifs[0].name, "eth0");
	p->ifs[0].has_mac = true;
	memcpy(p->ifs[0].mac, mac, 6);
	p->ifs[0].dflt = NM_DENY;
	strcpy(p->ifs[1].name, "wlan0");
	p->ifs[1].disabled = true;
	p->nprogs = 1;
	p->progs[0] = (struct nm_program){ "/usr/bin/agent", true, true, 8, 100, 5, 6 };
	p->class_major[1] = 250;
	p->nrules = 4;
	p->rules[0] = (struct nm_rule){ .verdict = NM_ALLOW,
					.subj = NM_PROGRAM,
					.iface = "eth0",
					.dirs = IG_DIR_OUT,
					.protos = IG_P_TCP,
					.nranges = 1,
					.lo = { 443 },
					.hi = { 443 } };
	p->rules[1] = (struct nm_rule){ .verdict = NM_ALLOW,
					.subj = NM_UID,
					.id = 0,
					.dirs = IG_DIR_IN | IG_DIR_OUT,
					.protos = IG_P_ANY };
	p->rules[2] = (struct nm_rule){ .verdict = NM_DENY,
					.subj = NM_ANYONE,
					.dev = true,
					.type = IG_DEV_CHAR,
					.major = 1,
					.minor = 1,
					.access = IG_ACC_READ | IG_ACC_WRITE };
	p->rules[3] = (struct nm_rule){ .verdict = NM_ALLOW,
					.subj = NM_PROGRAM,
					.dev = true,
					.devname = NM_DEV_CLASS,
					.index = 1,
					.access = IG_ACC_READ | IG_ACC_WRITE };
}

TEST(netmodel_example_interfaces)
{
	struct nm_policy p;
	struct nm_subject agent = { true, 8, 100, 5, 6, 1000, 1000 };
	struct nm_subject root = { false, 0, 0, 0, 0, 0, 0 };
	struct nm_subject other = { true, 8, 101, 5, 6, 1000, 1000 };
	struct nm_link eth0 = { true, "eth0", true, { 2, 0, 0, 0, 0, 1 }, "", "" };
	struct nm_link renamed = { true, "eth1", true, { 2, 0, 0, 0, 0, 1 }, "", "" };
	struct nm_link fake = { true, "eth0", true, { 2, 0, 0, 0, 0, 9 }, "", "" };
	struct nm_link wlan0 = { true, "wlan0", false, { 0 }, "", "" };
	/* wlan0 renamed away, and an undeclared device renamed to wlan0 */
	struct nm_link wlan0_away = { true, "free9", false, { 0 }, "wlan0", "" };
	struct nm_link to_wlan0 = { true, "wlan0", false, { 0 }, "usb3", "" };
	/* stacked on wlan0 (a VLAN), and on a device no declaration names */
	struct nm_link on_wlan0 = { true, "wl5", false, { 0 }, "", "wlan0" };
	struct nm_link on_free = { true, "wl6", false, { 0 }, "", "usb7" };
	char text[1024];

	example(&p);
	CHECK(nm_packet_allowed(&p, &agent, &eth0, IG_P_TCP, IG_DIR_OUT, 40000, 443));
	CHECK(!nm_packet_allowed(&p, &agent, &eth0, IG_P_TCP, IG_DIR_OUT, 40000, 80));
	CHECK(!nm_packet_allowed(&p, &agent, &eth0, IG_P_TCP, IG_DIR_IN, 443, 40000));
	CHECK(nm_packet_allowed(&p, &agent, &renamed, IG_P_TCP, IG_DIR_OUT, 40000, 443));
	/* an interface merely named eth0 is not eth0: interface-default allow */
	CHECK(nm_packet_allowed(&p, &other, &fake, IG_P_UDP, IG_DIR_OUT, 1, 2));
	CHECK(!nm_packet_allowed(&p, &other, &eth0, IG_P_UDP, IG_DIR_OUT, 1, 2));
	CHECK(nm_packet_allowed(&p, &root, &eth0, IG_P_OTHER, IG_DIR_IN, 0, 0));
	CHECK(!nm_packet_allowed(&p, &root, &wlan0, IG_P_TCP, IG_DIR_OUT, 1, 2));
	/* RENAMES: the declaration stays with the device, and a new name adds its own */
	CHECK(!nm_packet_allowed(&p, &root, &wlan0_away, IG_P_TCP, IG_DIR_OUT, 1, 2));
	CHECK(!nm_packet_allowed(&p, &root, &to_wlan0, IG_P_TCP, IG_DIR_OUT, 1, 2));
	/* STACKED: what a device on wlan0 sends leaves through wlan0 (disabled) */
	CHECK(!nm_packet_allowed(&p, &root, &on_wlan0, IG_P_TCP, IG_DIR_OUT, 1, 2));
	CHECK(nm_packet_allowed(&p, &root, &on_free, IG_P_TCP, IG_DIR_OUT, 1, 2));
	/* a changed executable loses its allow rules */
	agent.cnsec = 7;
	CHECK(!nm_packet_allowed(&p, &agent, &eth0, IG_P_TCP, IG_DIR_OUT, 40000, 443));
	CHECK(nm_flows(IG_P_TCP, false, false) == (IG_DIR_IN | IG_DIR_OUT));
	CHECK(nm_flows(IG_P_UDP, false, false) == IG_DIR_IN);
	CHECK(nm_policy_text(&p, text, sizeof(text)) > 0);
	CHECK(strstr(text, "allow program /usr/bin/agent on eth0 out tcp port 443\n"));
	CHECK(strstr(text, "interface eth0 mac 02:00:00:00:00:01 default deny\n"));
}

TEST(netmodel_example_devices)
{
	struct nm_policy p;
	struct nm_subject agent = { true, 8, 100, 5, 6, 1000, 1000 };
	struct nm_subject root = { true, 8, 1, 5, 6, 0, 0 };

	example(&p);
	CHECK(!nm_device_allowed(&p, &root, IG_DEV_CHAR, 1, 1, IG_ACC_READ));
	CHECK(nm_device_allowed(&p, &root, IG_DEV_CHAR, 1, 3, IG_ACC_READ | IG_ACC_WRITE));
	CHECK(nm_device_allowed(&p, &agent, IG_DEV_CHAR, 250, 0, IG_ACC_READ | IG_ACC_WRITE));
	CHECK(!nm_device_allowed(&p, &root, IG_DEV_CHAR, 250, 0, IG_ACC_READ));
	CHECK(nm_device_allowed(&p, &root, IG_DEV_BLOCK, 250, 0, IG_ACC_READ));
}
