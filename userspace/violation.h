/* SPDX-License-Identifier: GPL-2.0-only */
/*
 * One record for every violation, whatever saw it: the exec/mapping/write
 * events of bpf/exec.bpf.c, a digest measured in the kernel that differs from
 * the manifest (kmeasure.c), and the interface and device refusals of
 * bpf/ifaces.bpf.c. The daemon's one reporter (daemon/report.c,
 * ig_report_violation) sends each to the status ring, the daemon log, syslog,
 * the events subscribers and a counter per type; this module names and
 * describes a record the same way for all of them.
 */
#ifndef IG_VIOLATION_H
#define IG_VIOLATION_H

#include <stdbool.h>
#include <stddef.h>
#include <time.h>
#include <json-c/json.h>
#include "iotgate.h"

/*
 * Reasons userspace gives (the kernel's IG_REASON_* stay below 64): the
 * interface or device rules refused it; a change of a controlled interface
 * (rename, move to another namespace, delete, stacking: IG_EV_LINK events,
 * reported as type net) was refused.
 */
#define IG_REASON_IFACE_RULE 64
#define IG_REASON_DEVICE_RULE 65
#define IG_REASON_IFACE_CHANGE 66

/* Types for the per-type counters: IG_EV_* are all below this. */
#define IG_VIOL_TYPES 16
/* IFNAMSIZ, without <net/if.h>, which clashes with <linux/if.h> */
#define IG_IFNAME_LEN 16

struct ig_violation {
	time_t when;
	unsigned long long seq; /* order of report (the reporter numbers them) */
	__u32 type; /* IG_EV_* : exec, mmap, ..., IG_EV_NET, IG_EV_DEV, IG_EV_MEASURE */
	__u32 verdict; /* IG_VERDICT_* */
	__u32 reason; /* IG_REASON_* */
	__u32 pid, uid, gid;
	char comm[IG_COMM_LEN];
	/* The file; interface and device refusals: the program the rules name it by, or "". */
	char path[IG_PATH_LEN];
	/* IG_EV_NET and IG_EV_DEV: the kernel's event and the interface's name then. */
	struct ig_net_event net;
	char ifname[IG_IFNAME_LEN];
};

const char *ig_viol_type_name(__u32 type);
const char *ig_viol_verdict_name(__u32 verdict);
const char *ig_viol_reason_name(__u32 reason);
/* Denied with EPERM or killed: the action did not happen. */
bool ig_viol_refused(const struct ig_violation *v);
/* IG_FAM_*, IG_OP_* and IG_P_* bits by name ("any" for every protocol). */
const char *ig_fam_name(__u32 family);
const char *ig_op_name(__u32 op);
void ig_proto_names(__u32 bits, char *buf, size_t len);
/*
 * What an interface or device refusal was, in words, e.g. "ipv4 egress on
 * eth0 (index 2) tcp ports 40000/80", "rename of controlled interface eth0
 * (index 2)" or "open of char 1:7 for read"; "" for
 * the other types. Names are not escaped (the caller escapes for its sink).
 */
void ig_viol_detail(const struct ig_violation *v, char *buf, size_t len);
/* The record as the status, events and metrics show it. */
struct json_object *ig_viol_json(const struct ig_violation *v);

#endif
