// SPDX-License-Identifier: GPL-2.0-only
/*
 * What the kernel reports: every violation, whatever saw it, through one
 * reporter (ig_report_violation) to the status ring, the daemon log, syslog,
 * the events subscribers and a counter per type; measurements to the
 * measurement log.
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
#include <poll.h>
#include <sys/signalfd.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <sys/utsname.h>
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
#include "violation.h"
#include "daemon.h"

/*
 * While a child hashes an executable for the log, the loop waits on it; the
 * interface and device-path followers are served meanwhile, so a renamed
 * interface or a device node that appears gets its rules at once.
 */
static int measure_wait(int fd, void *ctx)
{
	struct daemon *d = ctx;
	struct pollfd p[3] = { { .fd = fd, .events = POLLIN } };
	int fds[2], n = ig_net_urgent_fds(d->net, fds);

	for (int i = 0; i < n; i++)
		p[1 + i] = (struct pollfd){ .fd = fds[i], .events = POLLIN };
	for (;;) {
		if (poll(p, 1 + n, -1) < 0) {
			if (errno == EINTR)
				continue;
			return -errno;
		}
		if (p[0].revents)
			return 0;
		ig_net_urgent(d->net);
	}
}

/* First use of a manifest entry, or an audited exec: the measurement log records it. */
void measure(struct daemon *d, const struct ig_event *ev)
{
	int ret;

	/* Called from the loop's callbacks, where no other waiter is set (isolate.h). */
	ig_isolate_set_waiter(measure_wait, d);
	ret = ig_measure_event(d->ms, ev, d->set.policy.mode == IG_MODE_AUDIT);
	ig_isolate_set_waiter(NULL, NULL);

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

/* The daemon log's line: exec-side events by file, the rules' refusals by what was refused. */
static void log_violation(const struct ig_violation *v)
{
	char comm[IG_ESC_SIZE(IG_COMM_LEN)], path[IG_ESC_SIZE(IG_PATH_LEN)];
	char detail[160], edetail[IG_ESC_SIZE(160)];
	int level = ig_viol_refused(v) ? IG_LOG_WARN : IG_LOG_INFO;

	/*
	 * Names are the attacker's (prctl(PR_SET_NAME), file names, interface
	 * names). The detail's only name is an interface's, which the kernel
	 * keeps free of spaces, '/' and ':': escaping its bytes is enough.
	 */
	ig_esc(comm, sizeof(comm), v->comm, IG_ESC_FIELD);
	if (v->type == IG_EV_NET || v->type == IG_EV_DEV) {
		ig_viol_detail(v, detail, sizeof(detail));
		ig_log(level, v->type == IG_EV_DEV ? "dev" : "net",
		       "%s %s by %s (uid %u pid %u comm %s)",
		       ig_viol_refused(v) ? "denied" : "audit:",
		       ig_esc(edetail, sizeof(edetail), detail, IG_ESC_TEXT),
		       ig_esc(path, sizeof(path), v->path[0] ? v->path : "program", IG_ESC_FIELD),
		       v->uid, v->pid, comm);
	} else if (v->reason == IG_REASON_DIGEST_MISMATCH) {
		ig_log(level, "measure",
		       "%s: content measured in the kernel differs from the manifest (pid=%u uid=%u comm=%s)",
		       ig_esc(path, sizeof(path), v->path, IG_ESC_FIELD), v->pid, v->uid, comm);
	} else {
		ig_log(level, ig_viol_type_name(v->type), "%s %s pid=%u uid=%u comm=%s reason=%s",
		       ig_viol_verdict_name(v->verdict),
		       ig_esc(path, sizeof(path), v->path, IG_ESC_FIELD), v->pid, v->uid, comm,
		       ig_viol_reason_name(v->reason));
	}
}

/*
 * The one reporter: every source of violations (exec events, in-kernel
 * measurements, interface and device rules) ends here.
 */
void ig_report_violation(void *ctx, const struct ig_violation *v)
{
	struct daemon *d = ctx;
	struct json_object *e;

	struct viol_ring *r = &d->viol[v->type == IG_EV_NET || v->type == IG_EV_DEV];

	r->v[r->head] = *v;
	r->v[r->head].seq = ++d->viol_seq;
	r->head = (r->head + 1) % N_VIOLATIONS;
	if (r->n < N_VIOLATIONS)
		r->n++;
	d->viol_count[v->type < IG_VIOL_TYPES ? v->type : 0]++;
	log_violation(v);
	e = ig_viol_json(v);
	jadd_str(e, "event", "violation");
	publish(d, e);
}

/* A digest computed in the kernel at exec/mmap time (kmod or IMA). */
int on_kmeas(void *ctx, const struct ig_kmeas_event *ev)
{
	struct daemon *d = ctx;
	bool mismatch = false;
	int ret;

	if (ev->err) {
		/* Not hashed (too big, not readable): the exec event path leaves it to us. */
		if (ev->hook == IG_KMH_EXEC)
			ig_measure_kernel_unhashed(d->ms);
		return 0;
	}
	ret = ig_measure_kernel(d->ms, ev, &mismatch);
	if (ret < 0 && !d->log_failing)
		ig_err("measure", "cannot write the measurement log: %s (entries kept in memory)",
		       strerror(-ret));
	d->log_failing = ret < 0;
	if (mismatch) {
		struct ig_violation v = {
			.when = time(NULL),
			.type = IG_EV_MEASURE,
			.verdict = IG_VERDICT_AUDIT,
			.reason = IG_REASON_DIGEST_MISMATCH,
			.pid = ev->pid,
			.uid = ev->uid,
		};

		memcpy(v.comm, ev->comm, sizeof(v.comm) - 1);
		memcpy(v.path, ev->path, sizeof(v.path) - 1);
		ig_report_violation(d, &v);
	}
	return 0;
}

int on_event(void *ctx, void *data, size_t size)
{
	struct daemon *d = ctx;
	struct ig_violation v = { 0 };
	struct ig_event ev;

	if (size < sizeof(ev))
		return 0;
	if (((const struct ig_event *)data)->type == IG_EV_MEASURE)
		return on_measure(d, data);
	/* Ring buffer pages are read-only for consumers: terminate strings in our copy. */
	memcpy(&ev, data, sizeof(ev));
	ev.comm[IG_COMM_LEN - 1] = '\0';
	ev.path[IG_PATH_LEN - 1] = '\0';
	measure(d, &ev);
	v.when = time(NULL);
	v.type = ev.type;
	v.verdict = ev.verdict;
	v.reason = ev.reason;
	v.pid = ev.pid;
	v.uid = ev.uid;
	v.gid = ev.gid;
	memcpy(v.comm, ev.comm, sizeof(v.comm));
	memcpy(v.path, ev.path, sizeof(v.path));
	ig_report_violation(d, &v);
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
