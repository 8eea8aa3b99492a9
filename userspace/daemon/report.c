// SPDX-License-Identifier: GPL-2.0-only
/*
 * What the kernel reports: violations to the status ring, the daemon log,
 * syslog and the events subscribers; measurements to the measurement log.
 */
#include <errno.h>
#include <fcntl.h>
#include <getopt.h>
#include <malloc.h>
#include <grp.h>
#include <signal.h>
#include <spawn.h>
#include <sys/resource.h>
#include <sys/wait.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/file.h>
#include <sys/signalfd.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <sys/utsname.h>
#include <syslog.h>
#include <time.h>
#include <unistd.h>
#include <json-c/json.h>
#include "hash.h"
#include "deviceid.h"
#include "crypto.h"
#include "esc.h"
#include "ipc.h"
#include "isolate.h"
#include "exec.h"
#include "log.h"
#include "manifest.h"
#include "measlog.h"
#include "measure.h"
#include "kmeasure.h"
#include "ifaces.h"
#include "policy.h"
#include "pset.h"
#include "lex.h"
#include "daemon.h"

const char *reason_name(__u32 r)
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
	default:
		return "none";
	}
}

const char *type_name(__u32 t)
{
	switch (t) {
	case IG_EV_EXEC:
		return "exec";
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

/* Denied with EPERM or killed: the action did not happen. */
static bool refused(__u32 v)
{
	return v == IG_VERDICT_DENY || v == IG_VERDICT_KILL;
}

const char *verdict_name(__u32 v)
{
	return v == IG_VERDICT_DENY  ? "deny" :
	       v == IG_VERDICT_KILL  ? "kill" :
	       v == IG_VERDICT_AUDIT ? "audit" :
				       "allow";
}

/* First use of a manifest entry: the measurement log records it. */
/* First use of a manifest entry, or an audited exec: the measurement log records it. */
void measure(struct daemon *d, const struct ig_event *ev)
{
	int ret = ig_measure_event(d->ms, ev, d->set.policy.mode == IG_MODE_AUDIT);

	if (ret < 0 && !d->log_failing)
		ig_err("measure", "cannot write the measurement log: %s (entries kept in memory)",
		       strerror(-ret));
	else if (ret >= 0 && d->log_failing)
		ig_info("measure", "measurement log writable again");
	if (ret < 0 || ret == 0)
		d->log_failing = ret < 0;
}

static int on_measure(struct daemon *d, const struct ig_event *ev)
{
	struct ig_event copy;

	memcpy(&copy, ev, sizeof(copy));
	copy.path[IG_PATH_LEN - 1] = '\0';
	d->measured++;
	measure(d, &copy);
	return 0;
}

struct json_object *violation_json(const struct violation *v)
{
	struct json_object *e = json_object_new_object();
	char ts[32];

	iso_time(v->when, ts, sizeof(ts));
	jadd_str(e, "time", ts);
	jadd_str(e, "type", type_name(v->ev.type));
	jadd_str(e, "verdict", verdict_name(v->ev.verdict));
	jadd_str(e, "reason", reason_name(v->ev.reason));
	jadd_str(e, "path", v->ev.path);
	jadd_str(e, "comm", v->ev.comm);
	jadd_u64(e, "pid", v->ev.pid);
	jadd_u64(e, "uid", v->ev.uid);
	return e;
}

/*
 * Violations go to syslog (authpriv) as one line, whatever the daemon's own
 * logging, so rsyslog can forward them to a log server. The fields are an
 * RFC 5424 SD-ELEMENT (32473 is the documentation enterprise number), the
 * program's name and path escaped so that they cannot forge a field.
 */
static void syslog_violation(const struct violation *v)
{
	char comm[IG_ESC_SIZE(IG_COMM_LEN)], path[IG_ESC_SIZE(IG_PATH_LEN)];

	syslog(LOG_AUTHPRIV | (refused(v->ev.verdict) ? LOG_WARNING : LOG_NOTICE),
	       "[iotgate@32473 type=\"%s\" verdict=\"%s\" reason=\"%s\" pid=\"%u\" uid=\"%u\" gid=\"%u\" comm=\"%s\" path=\"%s\"] iotgate-violation",
	       type_name(v->ev.type), verdict_name(v->ev.verdict), reason_name(v->ev.reason),
	       v->ev.pid, v->ev.uid, v->ev.gid, ig_esc(comm, sizeof(comm), v->ev.comm, IG_ESC_SD),
	       ig_esc(path, sizeof(path), v->ev.path, IG_ESC_SD));
}

/* A digest computed in the kernel at exec/mmap time (kmod or IMA). */
int on_kmeas(void *ctx, const struct ig_kmeas_event *ev)
{
	struct daemon *d = ctx;
	char path[IG_ESC_SIZE(IG_PATH_LEN)];
	bool mismatch = false;
	int ret;

	if (ev->err)
		return 0; /* the exec tracepoint/LSM event path still measures it */
	ret = ig_measure_kernel(d->ms, ev, &mismatch);
	if (ret < 0 && !d->log_failing)
		ig_err("measure", "cannot write the measurement log: %s (entries kept in memory)",
		       strerror(-ret));
	d->log_failing = ret < 0;
	if (mismatch) {
		struct violation *v = &d->viol[d->viol_head];

		memset(v, 0, sizeof(*v));
		v->ev.type = IG_EV_MEASURE;
		v->ev.verdict = IG_VERDICT_AUDIT;
		v->ev.reason = IG_REASON_DIGEST_MISMATCH;
		v->ev.pid = ev->pid;
		v->ev.uid = ev->uid;
		memcpy(v->ev.comm, ev->comm, sizeof(v->ev.comm) - 1);
		memcpy(v->ev.path, ev->path, sizeof(v->ev.path) - 1);
		v->when = time(NULL);
		d->viol_head = (d->viol_head + 1) % N_VIOLATIONS;
		if (d->nviol < N_VIOLATIONS)
			d->nviol++;
		ig_warn("measure", "%s: content measured in the kernel differs from the manifest",
			ig_esc(path, sizeof(path), v->ev.path, IG_ESC_FIELD));
		syslog_violation(v);
	}
	return 0;
}

int on_event(void *ctx, void *data, size_t size)
{
	struct daemon *d = ctx;
	char comm[IG_ESC_SIZE(IG_COMM_LEN)], path[IG_ESC_SIZE(IG_PATH_LEN)];
	struct violation *v;
	struct ig_event *ev;

	if (size < sizeof(*ev))
		return 0;
	if (((const struct ig_event *)data)->type == IG_EV_MEASURE)
		return on_measure(d, data);
	/* Ring buffer pages are read-only for consumers: terminate strings in our copy. */
	v = &d->viol[d->viol_head];
	memcpy(&v->ev, data, sizeof(v->ev));
	ev = &v->ev;
	ev->comm[IG_COMM_LEN - 1] = '\0';
	ev->path[IG_PATH_LEN - 1] = '\0';
	v->when = time(NULL);
	measure(d, ev);
	d->viol_head = (d->viol_head + 1) % N_VIOLATIONS;
	if (d->nviol < N_VIOLATIONS)
		d->nviol++;
	ig_log(refused(ev->verdict) ? IG_LOG_WARN : IG_LOG_INFO, type_name(ev->type),
	       "%s %s pid=%u uid=%u comm=%s reason=%s", verdict_name(ev->verdict),
	       ig_esc(path, sizeof(path), ev->path, IG_ESC_FIELD), ev->pid, ev->uid,
	       ig_esc(comm, sizeof(comm), ev->comm, IG_ESC_FIELD), reason_name(ev->reason));
	syslog_violation(v);
	{
		struct json_object *e = violation_json(v);

		jadd_str(e, "event", "violation");
		publish(d, e);
	}
	return 0;
}

void jadd_str(struct json_object *o, const char *k, const char *v)
{
	json_object_object_add(o, k, json_object_new_string(v ? v : ""));
}

void jadd_u64(struct json_object *o, const char *k, __u64 v)
{
	json_object_object_add(o, k, json_object_new_uint64(v));
}

void jadd_reason(struct json_object *arr, const char *code, const char *msg)
{
	struct json_object *r = json_object_new_object();

	jadd_str(r, "code", code);
	jadd_str(r, "message", msg);
	json_object_array_add(arr, r);
}

void iso_time(time_t t, char *buf, size_t len)
{
	struct tm tm;

	gmtime_r(&t, &tm);
	strftime(buf, len, "%Y-%m-%dT%H:%M:%SZ", &tm);
}
