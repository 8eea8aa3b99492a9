// SPDX-License-Identifier: GPL-2.0-only
/* Names and descriptions of a violation record (see violation.h). */
#include <stdio.h>
#include <string.h>
#include "violation.h"

const char *ig_viol_reason_name(__u32 r)
{
	switch (r) {
	case IG_REASON_NOT_IN_MANIFEST:
		return "not_in_manifest";
	case IG_REASON_MODIFIED:
		return "modified_since_measured";
	case IG_REASON_NO_MANIFEST:
		return "no_manifest";
	case IG_REASON_PROTECTED:
		return "protected";
	case IG_REASON_TRUST_DROPPED:
		return "trust_dropped";
	case IG_REASON_MEMFD:
		return "memfd_not_allowed";
	case IG_REASON_PIN:
		return "pinned_object";
	case IG_REASON_BPF_OBJ:
		return "bpf_object";
	case IG_REASON_SIGNAL:
		return "signal";
	case IG_REASON_PTRACE:
		return "ptrace";
	case IG_REASON_DIGEST_MISMATCH:
		return "digest_mismatch";
	case IG_REASON_WX:
		return "writable_made_executable";
	case IG_REASON_NOT_TRACER:
		return "not_allowed_to_trace";
	case IG_REASON_NO_FILE:
		return "not_from_a_file";
	case IG_REASON_UNAPPRAISED:
		return "not_appraised";
	case IG_REASON_MOUNT:
		return "bpffs_mount";
	case IG_REASON_BPF_LINK:
		return "bpf_link";
	case IG_REASON_CGROUP:
		return "cgroup";
	case IG_REASON_OOM:
		return "oom_score";
	case IG_REASON_EXE_LINK:
		return "exe_link";
	case IG_REASON_BINFMT:
		return "binfmt_misc";
	case IG_REASON_PROTECTED_PATH:
		return "protected_path";
	case IG_REASON_MAPPED_EXEC:
		return "mapped_executable";
	case IG_REASON_IFACE_RULE:
		return "interface_rule";
	case IG_REASON_DEVICE_RULE:
		return "device_rule";
	case IG_REASON_IFACE_CHANGE:
		return "interface_change";
	default:
		return "none";
	}
}

const char *ig_viol_type_name(__u32 t)
{
	switch (t) {
	case IG_EV_EXEC:
		return "exec";
	case IG_EV_NET:
		return "net";
	case IG_EV_DEV:
		return "device";
	case IG_EV_MMAP:
		return "mmap";
	case IG_EV_MPROTECT:
		return "mprotect";
	case IG_EV_WRITE:
		return "write";
	case IG_EV_MEASURE:
		return "measure";
	case IG_EV_SELF:
		return "self";
	case IG_EV_INJECT:
		return "inject";
	case IG_EV_MODULE:
		return "module";
	case IG_EV_KEXEC:
		return "kexec";
	case IG_EV_FIRMWARE:
		return "firmware";
	default:
		return "unknown";
	}
}

const char *ig_viol_verdict_name(__u32 v)
{
	return v == IG_VERDICT_DENY  ? "deny" :
	       v == IG_VERDICT_KILL  ? "kill" :
	       v == IG_VERDICT_AUDIT ? "audit" :
				       "allow";
}

bool ig_viol_refused(const struct ig_violation *v)
{
	return v->verdict == IG_VERDICT_DENY || v->verdict == IG_VERDICT_KILL;
}

const char *ig_fam_name(__u32 f)
{
	static const char *const names[] = { "ipv4", "ipv6", "can", "packet", "device" };

	return f < IG_FAM_MAX ? names[f] : "?";
}

const char *ig_op_name(__u32 op)
{
	static const char *const names[] = { "?",
					     "egress",
					     "ingress",
					     "bind",
					     "connect",
					     "send",
					     "receive",
					     "open",
					     "rename",
					     "move to another namespace",
					     "delete",
					     "stack a device on or enslave",
					     "change by namespace id",
					     "unreadable change",
					     "create",
					     "forward" };

	return op < sizeof(names) / sizeof(names[0]) ? names[op] : "?";
}

void ig_proto_names(__u32 bits, char *buf, size_t len)
{
	static const char *const names[] = {
		"tcp", "udp", "icmp", "raw", "can", "packet", "other"
	};

	buf[0] = '\0';
	if ((bits & IG_P_ANY) == IG_P_ANY) {
		snprintf(buf, len, "any");
		return;
	}
	for (int i = 0; i < 7; i++)
		if (bits & (1u << i))
			snprintf(buf + strlen(buf), len - strlen(buf), "%s%s", buf[0] ? "," : "",
				 names[i]);
}

void ig_viol_detail(const struct ig_violation *v, char *buf, size_t len)
{
	const struct ig_net_event *e = &v->net;
	char protos[64];

	if (v->type == IG_EV_DEV) {
		snprintf(buf, len, "open of %s %u:%u for %s%s%s",
			 e->proto == IG_DEV_BLOCK ? "block" : "char", e->major, e->minor,
			 e->access & IG_ACC_READ ? "read" : "",
			 e->access == (IG_ACC_READ | IG_ACC_WRITE) ? "+" : "",
			 e->access & IG_ACC_WRITE ? "write" : "");
	} else if (v->type == IG_EV_NET && e->type == IG_EV_LINK) {
		snprintf(buf, len, "%s of controlled interface %s (index %u)", ig_op_name(e->op),
			 e->ifindex ? v->ifname : "?", e->ifindex);
	} else if (v->type == IG_EV_NET && e->op == IG_OP_FORWARD) {
		ig_proto_names(e->proto, protos, sizeof(protos));
		snprintf(buf, len, "%s %s %s through %s (index %u) %s", ig_fam_name(e->family),
			 ig_op_name(e->op), e->lport ? "out" : "in", v->ifname, e->ifindex, protos);
	} else if (v->type == IG_EV_NET) {
		ig_proto_names(e->proto, protos, sizeof(protos));
		snprintf(buf, len, "%s %s on %s (index %u) %s ports %u/%u", ig_fam_name(e->family),
			 ig_op_name(e->op), e->ifindex ? v->ifname : "every interface", e->ifindex,
			 protos, e->lport, e->rport);
	} else {
		buf[0] = '\0';
	}
}

static void add_str(struct json_object *o, const char *k, const char *v)
{
	json_object_object_add(o, k, json_object_new_string(v ? v : ""));
}

static void add_u64(struct json_object *o, const char *k, __u64 v)
{
	json_object_object_add(o, k, json_object_new_uint64(v));
}

struct json_object *ig_viol_json(const struct ig_violation *v)
{
	struct json_object *e = json_object_new_object();
	char ts[32], detail[160];
	struct tm tm;

	gmtime_r(&v->when, &tm);
	strftime(ts, sizeof(ts), "%Y-%m-%dT%H:%M:%SZ", &tm);
	add_str(e, "time", ts);
	add_str(e, "type", ig_viol_type_name(v->type));
	add_str(e, "verdict", ig_viol_verdict_name(v->verdict));
	add_str(e, "reason", ig_viol_reason_name(v->reason));
	add_str(e, "path", v->path);
	add_str(e, "comm", v->comm);
	add_u64(e, "pid", v->pid);
	add_u64(e, "uid", v->uid);
	if (v->type != IG_EV_NET && v->type != IG_EV_DEV)
		return e;
	ig_viol_detail(v, detail, sizeof(detail));
	add_str(e, "detail", detail);
	add_u64(e, "gid", v->gid);
	add_str(e, "family", ig_fam_name(v->net.family));
	add_str(e, "op", ig_op_name(v->net.op));
	if (v->type == IG_EV_DEV) {
		add_u64(e, "major", v->net.major);
		add_u64(e, "minor", v->net.minor);
	} else {
		add_str(e, "interface", v->ifname);
		add_u64(e, "ifindex", v->net.ifindex);
		add_u64(e, "lport", v->net.lport);
		add_u64(e, "rport", v->net.rport);
	}
	if (v->path[0])
		add_str(e, "program", v->path);
	add_u64(e, "exe_ino", v->net.exe_ino);
	return e;
}
