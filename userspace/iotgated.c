// SPDX-License-Identifier: GPL-2.0-only
/*
 * iotgated: verifies the manifest named by the policy, loads it into the
 * kernel, and serves the device's security state on a Unix socket.
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
#include "identity.h"
#include "crypto.h"
#include "esc.h"
#include "ipc.h"
#include "isolate.h"
#include "kernel.h"
#include "log.h"
#include "manifest.h"
#include "measlog.h"
#include "measure.h"
#include "kmeasure.h"
#include "net.h"
#include "policy.h"
#include "pset.h"
#include "lex.h"

extern char **environ;

#define LOCK_PATH IG_RUN_DIR "/iotgated.lock"
#define MAX_CLIENTS 1024
/* Connections only root may take: root always gets in. */
#define ROOT_RESERVED_CLIENTS 8
/* Connections one user other than root may hold at once. */
#define MAX_CLIENTS_PER_UID 32
/* A connection not subscribed to events is closed this long after its last request. */
#define CLIENT_IDLE_MS 10000
/* With no file descriptor left for a connection, accepting pauses this long. */
#define ACCEPT_PAUSE_MS 250
/* Refused connections are logged at most once in this long (and counted). */
#define REFUSAL_LOG_MS 10000
#define MAX_PENDING_OUT (1u << 20)
#define N_VIOLATIONS 64
/* A subscriber further behind than this is dropped, never waited for. */
#define MAX_SUBSCRIBER_BACKLOG (64u << 10)

struct client {
	int fd;
	uid_t uid;
	pid_t pid;
	bool can_read;
	char *in; /* grows with a partial line, freed when empty: idle clients cost no buffers */
	size_t inlen, incap;
	char *out; /* pending reply bytes, freed once sent */
	size_t outlen;
	bool subscribed; /* 'events': violations and state changes are pushed */
	bool closed; /* fd closed; the slot is freed after the current events (reap) */
	long long idle_deadline; /* monotonic ms: closed then unless subscribed */
};

struct violation {
	struct ig_event ev;
	time_t when;
};

struct daemon {
	struct ig_set set; /* the policy and manifest in force */
	time_t set_loaded; /* when, and by whom: */
	char set_loaded_by[64];
	const char *factory_path; /* --policy: the shipped policy */
	const char *state_dir;
	const char *keys_dir;
	bool allow_unsigned_policy;
	bool active_unusable; /* state/active failed verification at start */
	struct ig_kernel k;
	struct ig_net *net; /* interface and device rules */
	const char *sock_path;
	int epfd, lfd, sigfd;
	struct client *clients[MAX_CLIENTS];
	struct violation viol[N_VIOLATIONS];
	unsigned int nviol, viol_head;
	gid_t iotgate_gid;
	bool have_gid;
	bool stop;
	time_t started;
	unsigned long long measured; /* IG_EV_MEASURE events received */
	struct ig_measure *ms; /* measurement log */
	bool log_failing; /* last log write failed (logged once per episode) */
	unsigned long long subscribers_dropped;
	int reserve_fd; /* kept open to accept (and answer) one connection at EMFILE */
	long long accept_paused_until; /* monotonic ms; 0: accepting */
	long long next_idle_check; /* monotonic ms; 0: no connection can go idle */
	unsigned int nclosed; /* slots waiting for reap() */
	unsigned long long clients_refused, clients_idle_closed;
	long long refusal_logged; /* monotonic ms of the last refusal logged */
	struct json_object *identity; /* cached "device" object */
	struct ig_kmeasure *km; /* in-kernel measurement (kmod or IMA), if available */
};

static const char *reason_name(__u32 r)
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
	default:
		return "none";
	}
}

static const char *type_name(__u32 t)
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
	default:
		return "unknown";
	}
}

/* Denied with EPERM or killed: the action did not happen. */
static bool refused(__u32 v)
{
	return v == IG_VERDICT_DENY || v == IG_VERDICT_KILL;
}

static const char *verdict_name(__u32 v)
{
	return v == IG_VERDICT_DENY  ? "deny" :
	       v == IG_VERDICT_KILL  ? "kill" :
	       v == IG_VERDICT_AUDIT ? "audit" :
				       "allow";
}

/* First use of a manifest entry: the measurement log records it. */
/* First use of a manifest entry, or an audited exec: the measurement log records it. */
static void measure(struct daemon *d, const struct ig_event *ev)
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

static void add_str(struct json_object *o, const char *k, const char *v);
static void add_u64(struct json_object *o, const char *k, __u64 v);
static void iso_time(time_t t, char *buf, size_t len);
static void publish(struct daemon *d, struct json_object *ev);

static struct json_object *violation_json(const struct violation *v)
{
	struct json_object *e = json_object_new_object();
	char ts[32];

	iso_time(v->when, ts, sizeof(ts));
	add_str(e, "time", ts);
	add_str(e, "type", type_name(v->ev.type));
	add_str(e, "verdict", verdict_name(v->ev.verdict));
	add_str(e, "reason", reason_name(v->ev.reason));
	add_str(e, "path", v->ev.path);
	add_str(e, "comm", v->ev.comm);
	add_u64(e, "pid", v->ev.pid);
	add_u64(e, "uid", v->ev.uid);
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
static int on_kmeas(void *ctx, const struct ig_kmeas_event *ev)
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

static int on_event(void *ctx, void *data, size_t size)
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

		add_str(e, "event", "violation");
		publish(d, e);
	}
	return 0;
}

static void add_str(struct json_object *o, const char *k, const char *v)
{
	json_object_object_add(o, k, json_object_new_string(v ? v : ""));
}

static void add_u64(struct json_object *o, const char *k, __u64 v)
{
	json_object_object_add(o, k, json_object_new_uint64(v));
}

static void add_reason(struct json_object *arr, const char *code, const char *msg)
{
	struct json_object *r = json_object_new_object();

	add_str(r, "code", code);
	add_str(r, "message", msg);
	json_object_array_add(arr, r);
}

static void iso_time(time_t t, char *buf, size_t len)
{
	struct tm tm;

	gmtime_r(&t, &tm);
	strftime(buf, len, "%Y-%m-%dT%H:%M:%SZ", &tm);
}

static struct json_object *status_json(struct daemon *d)
{
	struct json_object *o = json_object_new_object(), *reasons = json_object_new_array();
	struct json_object *hooks = json_object_new_object(), *pol = json_object_new_object();
	struct json_object *man = json_object_new_object(), *cnt = json_object_new_object();
	struct json_object *exec = json_object_new_object(), *viol = json_object_new_array();
	struct json_object *mmap = json_object_new_object(), *wr = json_object_new_object();
	__u64 c[IG_CNT_MAX] = { 0 };
	char hex[IG_SHA256_HEX + 1], ts[32], msg[256];
	struct utsname un;

	ig_kernel_counters(&d->k, c);
	uname(&un);
	add_str(o, "version", IG_VERSION);
	/* Computed once per policy: it reads sysfs and asks the NIC driver. */
	if (!d->identity)
		d->identity = ig_identity_json(d->set.policy.device_id, "");
	json_object_object_add(o, "device", json_object_get(d->identity));
	add_str(o, "kernel", un.release);
	add_str(o, "mode", ig_mode_name(d->set.policy.mode));
	add_str(o, "tier", ig_tier_name(d->k.tier));

	if (d->k.tier != IG_TIER_FULL)
		add_reason(reasons, d->k.tier == IG_TIER_KILL ? "kill_tier" : "partial_tier",
			   d->k.why_partial);
	if (d->set.rejected.n) {
		snprintf(msg, sizeof(msg),
			 "%zu manifest entries were not loaded (missing file or digest mismatch)",
			 d->set.rejected.n);
		add_reason(reasons, "manifest_entries_rejected", msg);
	}
	if (d->active_unusable)
		add_reason(reasons, "active_policy_unusable",
			   "the applied policy set did not verify at start; the shipped policy is in force");
	if (!d->set.policy_signer[0])
		add_reason(reasons, "unsigned_policy",
			   "the policy in force is not signed by a trusted key");
	if (!d->set.manifest_signer[0])
		add_reason(reasons, "unsigned_manifest",
			   "the manifest in force is not signed by a trusted key");
	if (c[IG_CNT_EVENTS_LOST]) {
		snprintf(msg, sizeof(msg), "%llu events were lost (ring buffer full)",
			 (unsigned long long)c[IG_CNT_EVENTS_LOST]);
		add_reason(reasons, "events_lost", msg);
	}
	ig_net_status(d->net, o, reasons);
	if (d->km)
		ig_kmeasure_status(d->km, o);
	ig_measure_status(d->ms, o, reasons);
	add_str(o, "health", json_object_array_length(reasons) ? "degraded" : "ok");
	json_object_object_add(o, "reasons", reasons);

	json_object_object_add(hooks, "exec_lsm", json_object_new_boolean(d->k.lsm_attached));
	json_object_object_add(hooks, "mmap_lsm", json_object_new_boolean(d->k.lsm_attached));
	json_object_object_add(hooks, "write_lsm", json_object_new_boolean(d->k.lsm_attached));
	json_object_object_add(hooks, "self_protect",
			       json_object_new_boolean(d->k.lsm_attached && d->set.policy.self_protect &&
						       d->set.policy.mode == IG_MODE_ENFORCE));
	json_object_object_add(hooks, "exec_tracepoint", json_object_new_boolean(d->k.tp_attached));
	json_object_object_add(hooks, "mmap_tracepoint", json_object_new_boolean(d->k.kill_attached));
	json_object_object_add(o, "hooks", hooks);
	json_object_object_add(o, "readopted", json_object_new_boolean(d->k.readopted));

	add_str(pol, "path", d->set.policy.path);
	add_u64(pol, "version", d->set.policy.version);
	ig_hex(d->set.policy_sha256, IG_SHA256_LEN, hex);
	add_str(pol, "sha256", hex);
	add_str(pol, "signer", d->set.policy_signer);
	json_object_object_add(pol, "signed", json_object_new_boolean(d->set.policy_signer[0]));
	iso_time(d->set_loaded, ts, sizeof(ts));
	add_str(pol, "loaded_at", ts);
	add_str(pol, "loaded_by", d->set_loaded_by);
	json_object_object_add(o, "policy", pol);

	ig_hex(d->set.manifest.sha256, IG_SHA256_LEN, hex);
	add_str(man, "path", d->set.manifest.path);
	add_u64(man, "version", d->set.manifest.version);
	add_str(man, "sha256", hex);
	add_u64(man, "entries", d->set.manifest.n);
	add_u64(man, "verified", d->set.nverified);
	add_u64(man, "rejected", d->set.rejected.n);
	add_str(man, "signer", d->set.manifest_signer);
	json_object_object_add(man, "signed", json_object_new_boolean(d->set.manifest_signer[0]));
	json_object_object_add(o, "manifest", man);

	add_u64(exec, "allowed", c[IG_CNT_EXEC_ALLOWED]);
	add_u64(exec, "denied", c[IG_CNT_EXEC_DENIED]);
	add_u64(exec, "audited", c[IG_CNT_EXEC_AUDITED]);
	json_object_object_add(cnt, "exec", exec);
	add_u64(mmap, "allowed", c[IG_CNT_MMAP_ALLOWED]);
	add_u64(mmap, "denied", c[IG_CNT_MMAP_DENIED]);
	add_u64(mmap, "audited", c[IG_CNT_MMAP_AUDITED]);
	json_object_object_add(cnt, "mmap", mmap);
	add_u64(wr, "denied", c[IG_CNT_WRITE_DENIED]);
	add_u64(wr, "trust_dropped", c[IG_CNT_TRUST_DROPPED]);
	json_object_object_add(cnt, "write", wr);
	add_u64(cnt, "self_denied", c[IG_CNT_SELF_DENIED]);
	add_u64(cnt, "measured", d->measured);
	add_u64(cnt, "events_lost", c[IG_CNT_EVENTS_LOST]);
	json_object_object_add(o, "counters", cnt);

	for (unsigned int i = 0; i < d->nviol; i++) {
		unsigned int idx = (d->viol_head + N_VIOLATIONS - d->nviol + i) % N_VIOLATIONS;

		json_object_array_add(viol, violation_json(&d->viol[idx]));
	}
	json_object_object_add(o, "violations", viol);
	{
		unsigned int subs = 0;

		for (int i = 0; i < MAX_CLIENTS; i++)
			subs += d->clients[i] && d->clients[i]->subscribed;
		add_u64(o, "subscribers", subs);
		add_u64(o, "subscribers_dropped", d->subscribers_dropped);
		add_u64(o, "connections_refused", d->clients_refused);
		add_u64(o, "connections_idle_closed", d->clients_idle_closed);
	}
	iso_time(d->started, ts, sizeof(ts));
	add_str(o, "started", ts);
	add_u64(o, "pid", getpid());
	return o;
}

static long long now_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return ts.tv_sec * 1000LL + ts.tv_nsec / 1000000;
}

/* A connection that is open and not being closed. */
static struct client *client_live(struct daemon *d, int slot)
{
	struct client *c = d->clients[slot];

	return c && !c->closed ? c : NULL;
}

/*
 * Closes a connection, wherever the caller is: the struct and its buffers
 * stay until reap() after the current batch of events, so a caller up the
 * stack (a request whose handling published an event to its own, departed
 * client) and a stale event of this batch find it closed, never freed or
 * reused.
 */
static void client_close(struct daemon *d, int slot)
{
	struct client *c = client_live(d, slot);

	if (!c)
		return;
	epoll_ctl(d->epfd, EPOLL_CTL_DEL, c->fd, NULL);
	close(c->fd);
	c->fd = -1;
	c->closed = true;
	c->subscribed = false;
	d->nclosed++;
}

static void reserve_fd_open(struct daemon *d)
{
	if (d->reserve_fd < 0)
		d->reserve_fd = open("/dev/null", O_RDONLY | O_CLOEXEC);
}

/* Frees the slots of closed connections (between batches of events). */
static void reap(struct daemon *d)
{
	if (!d->nclosed)
		return;
	for (int i = 0; i < MAX_CLIENTS; i++) {
		struct client *c = d->clients[i];

		if (!c || !c->closed)
			continue;
		free(c->in);
		free(c->out);
		free(c);
		d->clients[i] = NULL;
	}
	d->nclosed = 0;
	reserve_fd_open(d); /* if a connection took it */
}

static int client_flush(struct daemon *d, int slot)
{
	struct client *c = client_live(d, slot);
	struct epoll_event ev = { .data.u32 = slot + 3 };

	if (!c)
		return -EPIPE;
	while (c->outlen) {
		ssize_t n = send(c->fd, c->out, c->outlen, MSG_NOSIGNAL | MSG_DONTWAIT);

		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK))
			break;
		if (n < 0)
			return -errno;
		memmove(c->out, c->out + n, c->outlen - n);
		c->outlen -= n;
	}
	if (!c->outlen) {
		free(c->out);
		c->out = NULL;
	}
	ev.events = EPOLLIN | EPOLLRDHUP | (c->outlen ? EPOLLOUT : 0);
	epoll_ctl(d->epfd, EPOLL_CTL_MOD, c->fd, &ev);
	return 0;
}

static int client_send(struct daemon *d, int slot, struct json_object *reply)
{
	struct client *c = client_live(d, slot);
	const char *s = json_object_to_json_string_ext(reply, JSON_C_TO_STRING_PLAIN);
	size_t len = strlen(s);
	char *nb;

	if (!c)
		return -EPIPE;
	/* A peer that does not read its replies is dropped, never waited for. */
	if (c->outlen + len + 1 > MAX_PENDING_OUT)
		return -ENOBUFS;
	nb = realloc(c->out, c->outlen + len + 1);
	if (!nb)
		return -ENOMEM;
	c->out = nb;
	memcpy(c->out + c->outlen, s, len);
	c->out[c->outlen + len] = '\n';
	c->outlen += len + 1;
	return client_flush(d, slot);
}

/*
 * Pushes an event to every subscriber; one that cannot keep up is dropped,
 * one that left is closed. Either may be the client whose request is being
 * handled: client_close() frees nothing under its feet.
 */
static void publish(struct daemon *d, struct json_object *ev)
{
	for (int i = 0; i < MAX_CLIENTS; i++) {
		struct client *c = client_live(d, i);
		int ret;

		if (!c || !c->subscribed)
			continue;
		ret = c->outlen > MAX_SUBSCRIBER_BACKLOG ? -ENOBUFS : client_send(d, i, ev);
		if (ret == -ENOBUFS) {
			ig_warn("events", "dropped subscriber uid %u pid %d: not reading its events",
				c->uid, c->pid);
			d->subscribers_dropped++;
		}
		if (ret)
			client_close(d, i);
	}
	json_object_put(ev);
}

static struct json_object *error_reply(const char *fmt, const char *arg)
{
	struct json_object *o = json_object_new_object();
	char msg[256];

	snprintf(msg, sizeof(msg), fmt, arg);
	add_str(o, "error", msg);
	return o;
}

static int load_set(struct daemon *d, struct ig_set *set, const char *sub, const char *policy,
		    const char *policy_sig, const char *manifest, const char *manifest_sig,
		    struct ig_diag *diag);
static int activate(struct daemon *d, struct ig_set *set, const char *who, bool keep_previous,
		    const char *origin);
static bool stored(struct daemon *d, const char *sub);
static void log_rejected(const struct ig_set *set);

/* Members of a request that ig_request_parse() let through (so of their types). */
static const char *jarg(struct json_object *req, const char *key)
{
	struct json_object *v;

	return req && json_object_object_get_ex(req, key, &v) ? json_object_get_string(v) : NULL;
}

static bool jflag(struct json_object *req, const char *key)
{
	struct json_object *v;

	return req && json_object_object_get_ex(req, key, &v) && json_object_get_boolean(v);
}

static const struct ig_req_key apply_keys[] = {
	{ "path", json_type_string, true },
	{ "sig", json_type_string, false },
	{ "force", json_type_boolean, false },
	{ NULL, json_type_null, false },
};

static const struct ig_req_key force_key[] = {
	{ "force", json_type_boolean, false },
	{ NULL, json_type_null, false },
};

/* Every command of the socket, the members it accepts besides "cmd", and who may send it. */
static const struct ig_req_cmd commands[] = {
	{ "ping", NULL, false },
	{ "status", NULL, false },
	{ "events", NULL, false },
	{ "policy-apply", apply_keys, true },
	{ "manifest-apply", apply_keys, true },
	{ "rollback", force_key, true },
	{ "factory", force_key, true },
	{ "stop-enforcing", NULL, true },
};

static struct json_object *diag_reply(const struct ig_diag *diag, const char *fallback)
{
	struct json_object *o = json_object_new_object(), *a = json_object_new_array();

	add_str(o, "error", diag->n ? diag->msgs[0] : fallback);
	for (size_t i = 0; i < diag->n; i++)
		json_object_array_add(a, json_object_new_string(diag->msgs[i]));
	json_object_object_add(o, "errors", a);
	return o;
}

/* Refuses a downgrade: 0, or an error added to diag. */
static int check_versions(struct daemon *d, const struct ig_set *set, bool force,
			  struct ig_diag *diag)
{
	if (force)
		return 0;
	if (set->policy.version < d->set.policy.version)
		ig_diag_add(diag, set->policy.path, 0, 0,
			    "policy version %u is older than the active version %u (force to downgrade)",
			    set->policy.version, d->set.policy.version);
	if (set->manifest.version < d->set.manifest.version)
		ig_diag_add(diag, set->manifest.path, 0, 0,
			    "manifest version %u is older than the active version %u (force to downgrade)",
			    set->manifest.version, d->set.manifest.version);
	return diag->n ? -EINVAL : 0;
}

/*
 * The one path by which configuration changes: load and verify a complete
 * set, refuse downgrades unless forced, then put it in force. On any error
 * the active set stays exactly as it was. req: the request (policy-apply and
 * manifest-apply carry "path"), NULL for SIGHUP.
 */
static struct json_object *change(struct daemon *d, const char *op, const char *who,
				  struct json_object *req)
{
	const char *path = jarg(req, "path"), *sig = jarg(req, "sig");
	bool force = jflag(req, "force");
	char pol[4096], psig[4096];
	struct json_object *reply;
	struct ig_diag diag;
	struct ig_set set;
	int ret;

	ig_diag_init(&diag);
	/* A client may name any file: what is wrong, and where, but not its text. */
	diag.redact = req != NULL;
	if (!strcmp(op, "policy-apply")) {
		ret = load_set(d, &set, NULL, path, sig, NULL, NULL, &diag);
	} else if (!strcmp(op, "manifest-apply")) {
		/* The active policy with a new manifest. */
		snprintf(pol, sizeof(pol), "%s/active/policy.conf", d->state_dir);
		snprintf(psig, sizeof(psig), "%s/active/policy.conf.sig", d->state_dir);
		ret = load_set(d, &set, NULL, pol, psig, path, sig, &diag);
	} else if (!strcmp(op, "rollback")) {
		force = true; /* going back is the point */
		if (!stored(d, "previous")) {
			ig_diag_add(&diag, d->state_dir, 0, 0, "no previous policy set to roll back to");
			ret = -ENOENT;
		} else {
			ret = load_set(d, &set, "previous", NULL, NULL, NULL, NULL, &diag);
		}
	} else if (!strcmp(op, "factory")) {
		force = true;
		ret = load_set(d, &set, NULL, d->factory_path, NULL, NULL, NULL, &diag);
	} else { /* reload (SIGHUP): the policy file on disk, same checks as apply */
		ret = load_set(d, &set, NULL, d->factory_path, NULL, NULL, NULL, &diag);
	}
	if (!ret) {
		ret = check_versions(d, &set, force, &diag);
		if (ret)
			ig_set_free(&set);
	}
	if (ret) {
		ig_warn("policy", "%s by %s refused: %s", op, who,
			diag.n ? diag.msgs[0] : strerror(-ret));
		reply = diag_reply(&diag, strerror(-ret));
		ig_diag_free(&diag);
		return reply;
	}
	log_rejected(&set);
	reply = json_object_new_object();
	json_object_object_add(reply, "ok", json_object_new_boolean(1));
	add_u64(reply, "policy_version", set.policy.version);
	add_u64(reply, "manifest_version", set.manifest.version);
	add_u64(reply, "verified", set.nverified);
	add_u64(reply, "rejected", set.rejected.n);
	ret = activate(d, &set, who, true,
		       !strcmp(op, "factory") || !strcmp(op, "reload") ? "file" : "applied");
	if (ret && set.source) {
		/* The kernel refused the new maps: the old set is still in force. */
		ig_err("policy", "%s by %s failed in the kernel: %s", op, who, strerror(-ret));
		json_object_put(reply);
		ig_set_free(&set);
		ig_diag_free(&diag);
		return error_reply("the kernel refused the new policy: %s", strerror(-ret));
	}
	if (ret)
		ig_warn("policy", "%s: in force, but not stored: %s", op, strerror(-ret));
	ig_info("policy", "%s by %s: policy version %u, manifest version %u, mode %s", op, who,
		d->set.policy.version, d->set.manifest.version, ig_mode_name(d->set.policy.mode));
	{
		struct json_object *e = json_object_new_object();

		add_str(e, "event", "policy");
		add_str(e, "op", op);
		add_str(e, "by", who);
		add_str(e, "mode", ig_mode_name(d->set.policy.mode));
		add_u64(e, "policy_version", d->set.policy.version);
		add_u64(e, "manifest_version", d->set.manifest.version);
		publish(d, e);
	}
	ig_diag_free(&diag);
	malloc_trim(0);
	return reply;
}

static struct json_object *handle(struct daemon *d, struct client *c, const char *line,
				  size_t len)
{
	const struct ig_req_cmd *rc;
	struct json_object *req, *reply;
	char who[64], err[256];
	const char *cmd;

	req = ig_request_parse(line, len, commands, sizeof(commands) / sizeof(*commands), &rc, err,
			       sizeof(err));
	if (!req)
		return error_reply("%s", err);
	cmd = rc->cmd;
	snprintf(who, sizeof(who), "uid %u pid %d", c->uid, c->pid);
	if (rc->root && c->uid != 0) {
		ig_warn("socket", "refused '%s' from %s: not root", cmd, who);
		reply = error_reply("permission denied: '%s' needs root", cmd);
	} else if (!rc->root && !c->can_read) {
		ig_warn("socket", "refused '%s' from %s: not root or group iotgate", cmd, who);
		reply = error_reply("permission denied: '%s' needs root or group iotgate", cmd);
	} else if (!strcmp(cmd, "ping")) {
		reply = json_object_new_object();
		json_object_object_add(reply, "ok", json_object_new_boolean(1));
	} else if (!strcmp(cmd, "status")) {
		reply = status_json(d);
	} else if (!strcmp(cmd, "events")) {
		c->subscribed = true;
		reply = json_object_new_object();
		add_str(reply, "event", "subscribed");
	} else if (!strcmp(cmd, "stop-enforcing")) {
		int ret;

		ig_net_stop_enforcing(d->net);
		ret = ig_kernel_stop_enforcing(&d->k);
		ig_warn("policy", "enforcement removed on request of %s%s%s", who, ret ? ": " : "",
			ret ? strerror(-ret) : "");
		reply = json_object_new_object();
		if (ret)
			add_str(reply, "error", strerror(-ret));
		else
			json_object_object_add(reply, "ok", json_object_new_boolean(1));
		d->stop = true;
	} else {
		reply = change(d, cmd, who, req);
	}
	json_object_put(req);
	return reply;
}

static void client_read(struct daemon *d, int slot)
{
	struct client *c = client_live(d, slot);
	char *nl;
	ssize_t n;

	if (!c)
		return;
	if (c->incap - c->inlen < 4096 && c->incap < IG_REQUEST_MAX + 2) {
		size_t cap = c->incap ? 2 * c->incap : 4096;
		char *nb;

		if (cap > IG_REQUEST_MAX + 2)
			cap = IG_REQUEST_MAX + 2;
		nb = realloc(c->in, cap);
		if (!nb) {
			client_close(d, slot);
			return;
		}
		c->in = nb;
		c->incap = cap;
	}
	n = recv(c->fd, c->in + c->inlen, c->incap - 1 - c->inlen, MSG_DONTWAIT);
	if (n < 0 && (errno == EAGAIN || errno == EINTR))
		return;
	if (n <= 0) {
		client_close(d, slot);
		return;
	}
	c->inlen += n;
	while ((nl = memchr(c->in, '\n', c->inlen))) {
		struct json_object *reply;
		size_t used = nl - c->in + 1;
		int ret;

		/* Handling may close this very client (an event published to it after it left). */
		reply = handle(d, c, c->in, used - 1);
		ret = client_send(d, slot, reply);
		json_object_put(reply);
		if (ret) {
			client_close(d, slot);
			return;
		}
		c->idle_deadline = now_ms() + CLIENT_IDLE_MS;
		memmove(c->in, c->in + used, c->inlen - used);
		c->inlen -= used;
	}
	if (!c->inlen) {
		free(c->in);
		c->in = NULL;
		c->incap = 0;
	}
	if (c->inlen > IG_REQUEST_MAX) {
		struct json_object *reply = error_reply("request larger than %s bytes", "65536");

		client_send(d, slot, reply);
		json_object_put(reply);
		client_close(d, slot);
	}
}

static bool peer_in_group(pid_t pid, gid_t gid, gid_t want)
{
	char path[64], line[1024];
	bool found = gid == want;
	FILE *f;

	snprintf(path, sizeof(path), "/proc/%d/status", pid);
	f = fopen(path, "re");
	if (!f)
		return found;
	while (!found && fgets(line, sizeof(line), f)) {
		char *p = line + 7;

		if (strncmp(line, "Groups:", 7))
			continue;
		while (*p) {
			char *end;
			unsigned long g = strtoul(p, &end, 10);

			if (end == p)
				break;
			if (g == want)
				found = true;
			p = end;
		}
	}
	fclose(f);
	return found;
}

/* Answers a connection that is not served, and closes it; logged at most every 10 s. */
static void refuse(struct daemon *d, int fd, const struct ucred *cred, const char *why)
{
	struct json_object *o = error_reply("%s", why);
	char line[320];
	long long now = now_ms();
	int n;

	/* A new socket's buffer takes one short line; a peer that left is no matter. */
	n = snprintf(line, sizeof(line), "%s\n",
		     json_object_to_json_string_ext(o, JSON_C_TO_STRING_PLAIN));
	if (n > 0 && (size_t)n < sizeof(line) && send(fd, line, n, MSG_NOSIGNAL | MSG_DONTWAIT) < 0)
		ig_dbg("socket", "cannot answer a refused connection: %s", strerror(errno));
	close(fd);
	json_object_put(o);
	d->clients_refused++;
	if (!d->refusal_logged || now - d->refusal_logged >= REFUSAL_LOG_MS) {
		ig_warn("socket", "refused a connection from uid %u pid %d: %s (%llu refused so far)",
			cred->uid, cred->pid, why, d->clients_refused);
		d->refusal_logged = now;
	}
}

/*
 * Why a connection from uid gets no slot now, or NULL with a free slot in
 * *slot: each user but root has at most MAX_CLIENTS_PER_UID connections, and
 * the last ROOT_RESERVED_CLIENTS slots are root's.
 */
static const char *admit(struct daemon *d, uid_t uid, int *slot, char *why, size_t len)
{
	unsigned int open = 0, mine = 0;

	*slot = -1;
	for (int i = 0; i < MAX_CLIENTS; i++) {
		struct client *c = d->clients[i];

		if (!c && *slot < 0)
			*slot = i;
		if (!c || c->closed)
			continue;
		open++;
		mine += c->uid == uid;
	}
	if (*slot < 0)
		snprintf(why, len, "too many connections (%d)", MAX_CLIENTS);
	else if (uid != 0 && mine >= MAX_CLIENTS_PER_UID)
		snprintf(why, len, "too many connections from uid %u (at most %d)", uid,
			 MAX_CLIENTS_PER_UID);
	else if (uid != 0 && open >= MAX_CLIENTS - ROOT_RESERVED_CLIENTS)
		snprintf(why, len, "too many connections (the last %d are kept for root)",
			 ROOT_RESERVED_CLIENTS);
	else
		return NULL;
	return why;
}

/*
 * No descriptor left for a connection: the listening socket stays readable,
 * so stop watching it for a moment rather than spin on accept().
 */
static void accept_pause(struct daemon *d, int err)
{
	long long now = now_ms();

	epoll_ctl(d->epfd, EPOLL_CTL_DEL, d->lfd, NULL);
	d->accept_paused_until = now + ACCEPT_PAUSE_MS;
	if (!d->refusal_logged || now - d->refusal_logged >= REFUSAL_LOG_MS) {
		ig_warn("socket", "cannot accept connections: %s (pausing %d ms)", strerror(err),
			ACCEPT_PAUSE_MS);
		d->refusal_logged = now;
	}
}

static void accept_resume(struct daemon *d)
{
	struct epoll_event ev = { .events = EPOLLIN, .data.u32 = 1 };

	epoll_ctl(d->epfd, EPOLL_CTL_ADD, d->lfd, &ev);
	d->accept_paused_until = 0;
}

static void client_accept(struct daemon *d)
{
	struct ucred cred;
	socklen_t len = sizeof(cred);
	struct epoll_event ev = { .events = EPOLLIN | EPOLLRDHUP };
	const char *why;
	struct client *c;
	char buf[128];
	bool spare = false;
	int fd, slot;

	fd = accept4(d->lfd, NULL, NULL, SOCK_NONBLOCK | SOCK_CLOEXEC);
	if (fd < 0 && (errno == EMFILE || errno == ENFILE) && d->reserve_fd >= 0) {
		/* The reserve descriptor takes it: to answer it, or to serve root. */
		close(d->reserve_fd);
		d->reserve_fd = -1;
		spare = true;
		fd = accept4(d->lfd, NULL, NULL, SOCK_NONBLOCK | SOCK_CLOEXEC);
	}
	if (fd < 0) {
		int err = errno;

		reserve_fd_open(d);
		if (err == EMFILE || err == ENFILE || err == ENOBUFS || err == ENOMEM)
			accept_pause(d, err);
		return;
	}
	if (getsockopt(fd, SOL_SOCKET, SO_PEERCRED, &cred, &len) < 0) {
		close(fd);
		reserve_fd_open(d);
		return;
	}
	why = admit(d, cred.uid, &slot, buf, sizeof(buf));
	if (!why && spare && cred.uid != 0)
		why = "the daemon has no file descriptor left";
	c = why ? NULL : calloc(1, sizeof(*c));
	if (!c) {
		refuse(d, fd, &cred, why ? why : "out of memory");
		reserve_fd_open(d);
		return;
	}
	c->fd = fd;
	c->uid = cred.uid;
	c->pid = cred.pid;
	c->can_read = cred.uid == 0 ||
		      (d->have_gid && peer_in_group(cred.pid, cred.gid, d->iotgate_gid));
	c->idle_deadline = now_ms() + CLIENT_IDLE_MS;
	if (!d->next_idle_check || c->idle_deadline < d->next_idle_check)
		d->next_idle_check = c->idle_deadline;
	d->clients[slot] = c;
	ev.data.u32 = slot + 3;
	epoll_ctl(d->epfd, EPOLL_CTL_ADD, fd, &ev);
}

/* Closes connections without a request for CLIENT_IDLE_MS (subscribers excepted). */
static void idle_check(struct daemon *d, long long now)
{
	struct json_object *bye = NULL;

	d->next_idle_check = 0;
	for (int i = 0; i < MAX_CLIENTS; i++) {
		struct client *c = client_live(d, i);

		if (!c || c->subscribed)
			continue;
		if (c->idle_deadline > now) {
			if (!d->next_idle_check || c->idle_deadline < d->next_idle_check)
				d->next_idle_check = c->idle_deadline;
			continue;
		}
		if (!bye)
			bye = error_reply("closed: no request for %s s", "10");
		ig_dbg("socket", "closed the idle connection of uid %u pid %d", c->uid, c->pid);
		client_send(d, i, bye);
		client_close(d, i);
		d->clients_idle_closed++;
	}
	json_object_put(bye);
}

/* What is due: accepting again after a pause, idle connections. */
static void timers(struct daemon *d)
{
	long long now = now_ms();

	if (d->accept_paused_until && now >= d->accept_paused_until)
		accept_resume(d);
	if (d->next_idle_check && now >= d->next_idle_check)
		idle_check(d, now);
}

/* epoll_wait()'s timeout: until the next of timers(), or none. */
static int timers_timeout(struct daemon *d)
{
	long long next = d->accept_paused_until, now = now_ms();

	if (d->next_idle_check && (!next || d->next_idle_check < next))
		next = d->next_idle_check;
	if (!next)
		return -1;
	return next <= now ? 0 : next - now > 60000 ? 60000 : (int)(next - now);
}

/* Enough descriptors for every connection (systemd's default soft limit is 1024). */
static void raise_fd_limit(void)
{
	const rlim_t want = MAX_CLIENTS + 256;
	struct rlimit rl;

	if (getrlimit(RLIMIT_NOFILE, &rl) || rl.rlim_cur >= want)
		return;
	rl.rlim_cur = rl.rlim_max != RLIM_INFINITY && rl.rlim_max < want ? rl.rlim_max : want;
	if (setrlimit(RLIMIT_NOFILE, &rl))
		ig_dbg("socket", "cannot raise the descriptor limit: %s", strerror(errno));
}

/*
 * Group iotgate may read the state. Packages create it (sysusers, Yocto's
 * useradd class); a bare install gets it from groupadd here.
 */
static struct group *iotgate_group(void)
{
	char *argv[] = { "groupadd", "--system", "iotgate", NULL };
	struct group *gr = getgrnam("iotgate");
	pid_t pid;
	int st;

	if (gr)
		return gr;
	if (posix_spawnp(&pid, "groupadd", NULL, NULL, argv, environ) == 0 &&
	    waitpid(pid, &st, 0) == pid && WIFEXITED(st) && WEXITSTATUS(st) == 0) {
		ig_info("socket", "created group iotgate");
		return getgrnam("iotgate");
	}
	ig_warn("socket", "no group iotgate and groupadd failed: only root may read the state");
	return NULL;
}

static int listen_socket(struct daemon *d)
{
	struct sockaddr_un sa = { .sun_family = AF_UNIX };
	struct group *gr = iotgate_group();
	int fd;

	if (strlen(d->sock_path) >= sizeof(sa.sun_path))
		return -ENAMETOOLONG;
	strcpy(sa.sun_path, d->sock_path);
	fd = socket(AF_UNIX, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
	if (fd < 0)
		return -errno;
	unlink(d->sock_path); /* stale: the lock proves no other daemon owns it */
	if (bind(fd, (struct sockaddr *)&sa, sizeof(sa)) < 0 || listen(fd, SOMAXCONN) < 0)
		goto fail;
	if (gr) {
		d->iotgate_gid = gr->gr_gid;
		d->have_gid = true;
		if (chown(d->sock_path, 0, gr->gr_gid) < 0)
			goto fail;
	}
	if (chmod(d->sock_path, 0660) < 0)
		goto fail;
	d->lfd = fd;
	return 0;
fail: {
	int ret = -errno;

	close(fd);
	return ret;
}
}

static void sd_notify_ready(void)
{
	const char *path = getenv("NOTIFY_SOCKET");
	struct sockaddr_un sa = { .sun_family = AF_UNIX };
	static const char msg[] = "READY=1";
	socklen_t len;
	int fd;

	if (!path || (path[0] != '/' && path[0] != '@') || strlen(path) >= sizeof(sa.sun_path))
		return;
	strcpy(sa.sun_path, path);
	if (path[0] == '@')
		sa.sun_path[0] = '\0';
	len = offsetof(struct sockaddr_un, sun_path) + strlen(path);
	fd = socket(AF_UNIX, SOCK_DGRAM | SOCK_CLOEXEC, 0);
	if (fd < 0)
		return;
	sendto(fd, msg, sizeof(msg) - 1, MSG_NOSIGNAL, (struct sockaddr *)&sa, len);
	close(fd);
}

static int take_lock(void)
{
	char buf[32];
	int fd, n;

	if (mkdir(IG_RUN_DIR, 0755) && errno != EEXIST)
		return -errno;
	fd = open(LOCK_PATH, O_RDWR | O_CREAT | O_CLOEXEC, 0644);
	if (fd < 0)
		return -errno;
	if (flock(fd, LOCK_EX | LOCK_NB) < 0) {
		n = read(fd, buf, sizeof(buf) - 1);
		buf[n > 0 ? n : 0] = '\0';
		fprintf(stderr, "iotgated: another iotgated is already running (pid %ld)\n",
			strtol(buf, NULL, 10));
		close(fd);
		return -EBUSY;
	}
	if (ftruncate(fd, 0) == 0) {
		n = snprintf(buf, sizeof(buf), "%d\n", getpid());
		if (pwrite(fd, buf, n, 0) != n)
			return -errno;
	}
	return fd; /* kept open for the daemon's lifetime */
}

static void print_diag(struct ig_diag *diag)
{
	for (size_t i = 0; i < diag->n; i++) {
		size_t size = IG_ESC_SIZE(strlen(diag->msgs[i]));
		char *line = malloc(size);

		if (line)
			fprintf(stderr, "%s\n", ig_esc(line, size, diag->msgs[i], IG_ESC_LINE));
		free(line);
	}
}

static unsigned int cfg_flags(const struct ig_policy *p)
{
	return (p->protect ? IG_CFG_PROTECT : 0) | (p->self_protect ? IG_CFG_SELF_PROTECT : 0);
}

/*
 * Marks the manifest entries that are the daemon: its own executable, and
 * whatever file now sits at its path (an updated binary, so a restart after
 * an update is still recognized). Self-protection exempts only these.
 */
static void mark_daemon(struct ig_set *set)
{
	static char self[4096];
	static struct ig_file_key self_key;
	static bool known;
	struct ig_file_val val;

	if (!known) {
		int fd = open("/proc/self/exe", O_RDONLY | O_CLOEXEC);

		if (fd >= 0) {
			ig_file_identity(fd, &self_key, &val);
			close(fd);
		}
		if (!realpath("/proc/self/exe", self))
			self[0] = '\0';
		known = true;
	}
	for (size_t i = 0; i < set->nverified; i++) {
		struct ig_verified *v = &set->verified[i];

		if ((v->key.dev == self_key.dev && v->key.ino == self_key.ino) ||
		    !strcmp(set->manifest.e[v->entry].path, self))
			v->val.flags |= IG_FILE_F_DAEMON;
	}
}

static void log_rejected(const struct ig_set *set)
{
	for (size_t i = 0; i < set->rejected.n; i++)
		ig_warn("manifest", "rejected %s", set->rejected.msgs[i]);
}

static int load_keys(struct daemon *d, struct ig_keyring **kr, struct ig_diag *diag)
{
	return ig_keyring_load(kr, d->keys_dir, NULL, 0, diag);
}

/*
 * Loads a complete, verified set: from a stored state subdirectory (sub) or
 * from a policy file (+ optional manifest/signature paths). Errors go to diag.
 */
static int load_set(struct daemon *d, struct ig_set *set, const char *sub, const char *policy,
		    const char *policy_sig, const char *manifest, const char *manifest_sig,
		    struct ig_diag *diag)
{
	struct ig_set_opts o = { .allow_unsigned_policy = d->allow_unsigned_policy,
				 .policy_sig_path = policy_sig,
				 .manifest_path = manifest,
				 .manifest_sig_path = manifest_sig };
	struct ig_keyring *kr = NULL;
	char *dir = NULL;
	int ret;

	ret = load_keys(d, &kr, diag);
	if (ret)
		return ret;
	o.keys = kr;
	if (sub) {
		if (asprintf(&dir, "%s/%s", d->state_dir, sub) < 0)
			ret = -ENOMEM;
		else
			ret = ig_set_load_stored(set, dir, &o, diag);
		free(dir);
	} else {
		ret = ig_set_load(set, policy, &o, diag);
	}
	ig_keyring_free(kr);
	if (!ret) {
		mark_daemon(set);
		ig_policy_mark(&set->policy, &set->manifest, set->verified, set->nverified);
	}
	return ret;
}

/* Does state/<sub>/policy.conf exist? */
static bool stored(struct daemon *d, const char *sub)
{
	char path[4096];

	snprintf(path, sizeof(path), "%s/%s/policy.conf", d->state_dir, sub);
	return access(path, F_OK) == 0;
}

/*
 * Was state/active put there by 'apply' or 'rollback' (it then wins over the
 * policy file at start), or is it a copy of the policy file (which then wins,
 * so that editing the file and restarting does what one expects)?
 */
static bool applied(struct daemon *d)
{
	char path[4096], buf[16] = "";
	FILE *f;

	snprintf(path, sizeof(path), "%s/active/origin", d->state_dir);
	f = fopen(path, "re");
	if (!f)
		return false;
	if (!fgets(buf, sizeof(buf), f))
		buf[0] = '\0';
	fclose(f);
	return !strncmp(buf, "applied", 7);
}

static int write_origin(const char *dir, const char *origin)
{
	char path[4200];
	FILE *f;

	snprintf(path, sizeof(path), "%s/origin", dir);
	f = fopen(path, "we");
	if (!f)
		return -errno;
	fprintf(f, "%s\n", origin);
	return fclose(f) ? -errno : 0;
}

/*
 * Makes `set` the stored active set: written to state/next, then previous is
 * replaced by active and active by next (keep_previous false: previous is
 * left alone, e.g. on rollback where the caller swaps them).
 */
static int store_active(struct daemon *d, const struct ig_set *set, bool keep_previous,
			const char *origin)
{
	char next[4096], act[4096], prev[4096], cmd[8192 + 64];
	int ret;

	snprintf(next, sizeof(next), "%s/next", d->state_dir);
	snprintf(act, sizeof(act), "%s/active", d->state_dir);
	snprintf(prev, sizeof(prev), "%s/previous", d->state_dir);
	if (mkdir(d->state_dir, 0750) && errno != EEXIST)
		return -errno;
	ret = ig_set_store(set, next);
	if (!ret)
		ret = write_origin(next, origin);
	if (ret)
		return ret;
	if (keep_previous && access(act, F_OK) == 0) {
		snprintf(cmd, sizeof(cmd), "%s.old", prev);
		if (access(prev, F_OK) == 0 && rename(prev, cmd))
			return -errno;
		if (rename(act, prev))
			return -errno;
		ig_rmtree(cmd);
	} else {
		ig_rmtree(act);
	}
	return rename(next, act) ? -errno : 0;
}

/*
 * Puts a verified set in force: the kernel maps first (the stricter of the
 * two modes goes in first, so a moment between the two updates is never
 * more permissive than either policy), then the log index, then storage.
 */
static int activate(struct daemon *d, struct ig_set *set, const char *who, bool keep_previous,
		    const char *origin)
{
	unsigned int mode = set->policy.mode, flags = cfg_flags(&set->policy);
	int ret;

	if (mode == IG_MODE_ENFORCE) {
		ret = ig_kernel_set_mode(&d->k, mode, flags | cfg_flags(&d->set.policy));
		if (ret)
			return ret;
	}
	ret = ig_kernel_set_manifest(&d->k, set->verified, set->nverified);
	if (!ret)
		ret = ig_kernel_set_memfd(&d->k, set->policy.memfd, set->policy.nmemfd);
	if (!ret)
		ret = ig_kernel_set_mode(&d->k, mode, flags);
	if (!ret && d->net) /* after the manifest: rules name measured programs */
		ret = ig_net_set_policy(d->net, &set->policy, NULL);
	if (ret) {
		/* Put the old set back as it was. */
		ig_kernel_restore_manifest(&d->k);
		ig_kernel_commit_manifest(&d->k);
		ig_kernel_set_memfd(&d->k, d->set.policy.memfd, d->set.policy.nmemfd);
		ig_kernel_set_mode(&d->k, d->set.policy.mode, cfg_flags(&d->set.policy));
		return ret;
	}
	ig_kernel_commit_manifest(&d->k);
	ig_measure_set_manifest(d->ms, &set->manifest, set->verified, set->nverified);
	ret = store_active(d, set, keep_previous, origin);
	ig_set_free(&d->set);
	ig_set_compact(set);
	d->set = *set;
	json_object_put(d->identity);
	d->identity = NULL;
	memset(set, 0, sizeof(*set));
	d->set_loaded = time(NULL);
	snprintf(d->set_loaded_by, sizeof(d->set_loaded_by), "%s", who);
	return ret;
}

static void usage(FILE *f)
{
	fprintf(f, "Usage: iotgated [OPTIONS]\n"
		   "Load the iotgate policy into the kernel and serve the device's security state.\n\n"
		   "  -p, --policy FILE   policy file (default %s/iotgate/iotgate.conf)\n"
		   "  -s, --socket PATH   control socket (default %s)\n"
		   "  -c, --check         verify policy and manifest, load nothing, exit\n"
		   "  -v, --verbose       debug logging (libbpf messages too)\n"
		   "      --syslog        log to syslog instead of stderr\n"
		   "      --state-dir DIR measurement log directory (default %s)\n"
		   "      --log-max-bytes N  rotate the measurement log at N bytes (default 4 MiB)\n"
		   "  -V, --version       print the version and exit\n"
		   "  -h, --help          this help\n",
		   IG_SYSCONFDIR, IG_SOCKET_PATH, IG_MEASLOG_DIR);
}

static int event_loop(struct daemon *d)
{
	struct epoll_event ev = { .events = EPOLLIN };
	struct epoll_event evs[64];

	ev.data.u32 = 0;
	epoll_ctl(d->epfd, EPOLL_CTL_ADD, d->sigfd, &ev);
	ev.data.u32 = 1;
	epoll_ctl(d->epfd, EPOLL_CTL_ADD, d->lfd, &ev);
	ev.data.u32 = 2;
	epoll_ctl(d->epfd, EPOLL_CTL_ADD, ig_kernel_events_fd(&d->k), &ev);
	ev.data.u32 = 0x10000;
	if (ig_net_fd(d->net) >= 0)
		epoll_ctl(d->epfd, EPOLL_CTL_ADD, ig_net_fd(d->net), &ev);
	if (d->km && ig_kmeasure_fd(d->km) >= 0) {
		ev.data.u32 = 0x10001;
		epoll_ctl(d->epfd, EPOLL_CTL_ADD, ig_kmeasure_fd(d->km), &ev);
	}

	while (!d->stop) {
		int n = epoll_wait(d->epfd, evs, 64, timers_timeout(d));

		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0)
			return -errno;
		for (int i = 0; i < n && !d->stop; i++) {
			__u32 id = evs[i].data.u32;

			if (id == 0) {
				struct signalfd_siginfo si;

				if (read(d->sigfd, &si, sizeof(si)) != sizeof(si))
					continue;
				if (si.ssi_signo == SIGHUP)
					json_object_put(change(d, "reload", "SIGHUP", NULL));
				else
					d->stop = true;
			} else if (id == 1) {
				client_accept(d);
			} else if (id == 2) {
				ig_kernel_poll_events(&d->k);
			} else if (id == 0x10001) {
				ig_kmeasure_poll(d->km);
			} else if (id == 0x10000) {
				int r = ig_net_handle(d->net);

				if (r)
					ig_warn("net", "interface, device or event update failed: %s",
						strerror(-r));
			} else if (client_live(d, id - 3)) {
				int slot = id - 3;

				if (evs[i].events & EPOLLOUT && client_flush(d, slot)) {
					client_close(d, slot);
					continue;
				}
				if (evs[i].events & (EPOLLIN | EPOLLHUP | EPOLLRDHUP | EPOLLERR))
					client_read(d, slot);
			}
		}
		timers(d);
		reap(d);
	}
	return 0;
}

int main(int argc, char **argv)
{
	static const struct option opts[] = {
		{ "policy", required_argument, NULL, 'p' }, { "socket", required_argument, NULL, 's' },
		{ "check", no_argument, NULL, 'c' },	    { "verbose", no_argument, NULL, 'v' },
		{ "syslog", no_argument, NULL, 'S' },	    { "version", no_argument, NULL, 'V' },
		{ "help", no_argument, NULL, 'h' },	    { "state-dir", required_argument, NULL, 'D' },
		{ "log-max-bytes", required_argument, NULL, 'L' },
		{ "keys-dir", required_argument, NULL, 'K' },
		{ "allow-unsigned-policy", no_argument, NULL, 'U' },
		{}
	};
	const char *state_dir = IG_MEASLOG_DIR;
	unsigned long log_max = 0;
	char *end;
	const char *policy_path = IG_SYSCONFDIR "/iotgate/iotgate.conf";
	bool check = false, verbose = false, use_syslog = false;
	struct ig_kernel_config kcfg;
	struct ig_diag diag;
	struct daemon *d;
	sigset_t mask;
	int opt, ret, lockfd;

	d = calloc(1, sizeof(*d));
	if (!d)
		return 1;
	d->sock_path = ig_socket_path(NULL);
	d->keys_dir = IG_KEYS_DIR;
	while ((opt = getopt_long(argc, argv, "p:s:cvVh", opts, NULL)) != -1) {
		switch (opt) {
		case 'p':
			policy_path = optarg;
			break;
		case 's':
			d->sock_path = optarg;
			break;
		case 'c':
			check = true;
			break;
		case 'v':
			verbose = true;
			break;
		case 'S':
			use_syslog = true;
			break;
		case 'D':
			state_dir = optarg;
			break;
		case 'K':
			d->keys_dir = optarg;
			break;
		case 'U':
			d->allow_unsigned_policy = true;
			break;
		case 'L':
			errno = 0;
			log_max = strtoul(optarg, &end, 10);
			if (errno || *end || log_max < 4096) {
				fprintf(stderr, "iotgated: --log-max-bytes needs a number of bytes >= 4096, not '%s'\n",
					optarg);
				return 2;
			}
			break;
		case 'V':
			printf("iotgated %s\n", IG_VERSION);
			return 0;
		case 'h':
			usage(stdout);
			return 0;
		default:
			usage(stderr);
			return 2;
		}
	}
	if (optind < argc) {
		fprintf(stderr, "iotgated: unexpected argument '%s' (see --help)\n", argv[optind]);
		return 2;
	}
	ig_log_init("iotgated", verbose ? IG_LOG_DEBUG : IG_LOG_INFO, use_syslog);
	ig_log_libbpf();
	d->factory_path = policy_path;
	d->state_dir = state_dir;
	ig_diag_init(&diag);
	/* OpenSSL's footprint stays in short-lived children (isolate.h). */
	ig_isolate_set(true);
	{
		char why[256];

		if (ig_crypto_probe(why, sizeof(why))) {
			ig_err("crypto", "%s", why);
			return 1;
		}
	}

	if (check) {
		ret = load_set(d, &d->set, NULL, policy_path, NULL, NULL, NULL, &diag);
		print_diag(&diag);
		if (!ret)
			printf("%s: ok: mode %s, %zu of %zu manifest entries verified, %s\n",
			       policy_path, ig_mode_name(d->set.policy.mode), d->set.nverified,
			       d->set.manifest.n, d->set.policy_signer[0] ? "signed" : "unsigned");
		return ret ? 1 : 0;
	}
	if (geteuid() != 0) {
		fprintf(stderr, "iotgated: must run as root: it loads BPF programs into the kernel\n");
		return 1;
	}
	ret = ig_kernel_check_bpffs();
	if (ret) {
		fprintf(stderr, "iotgated: no BPF filesystem at /sys/fs/bpf (mount it with 'mount -t bpf bpf /sys/fs/bpf')\n");
		return 1;
	}
	lockfd = take_lock();
	if (lockfd < 0) {
		if (lockfd != -EBUSY)
			fprintf(stderr, "iotgated: cannot lock %s: %s\n", LOCK_PATH,
				strerror(-lockfd));
		return 1;
	}
	/* What was last applied (state/active) wins over the shipped policy. */
	if (stored(d, "active") && applied(d)) {
		ret = load_set(d, &d->set, "active", NULL, NULL, NULL, NULL, &diag);
		if (ret) {
			print_diag(&diag);
			ig_diag_free(&diag);
			ig_err("policy", "the applied policy in %s/active does not verify; using the shipped policy %s",
			       state_dir, policy_path);
			d->active_unusable = true;
		} else {
			snprintf(d->set_loaded_by, sizeof(d->set_loaded_by), "%s/active", state_dir);
		}
	}
	if (!d->set.source) {
		ret = load_set(d, &d->set, NULL, policy_path, NULL, NULL, NULL, &diag);
		print_diag(&diag);
		if (ret)
			return 1;
		snprintf(d->set_loaded_by, sizeof(d->set_loaded_by), "start (%s)", policy_path);
	}
	ig_diag_free(&diag);
	log_rejected(&d->set);
	d->set_loaded = time(NULL);
	/* The log never blocks enforcement: a failure here is reported as degraded. */
	ret = ig_measure_open(&d->ms, state_dir, log_max);
	if (!d->ms)
		return 1;
	if (ret)
		ig_err("measure", "cannot open the measurement log in %s: %s", state_dir,
		       strerror(-ret));
	if (ig_measure_set_manifest(d->ms, &d->set.manifest, d->set.verified, d->set.nverified))
		return 1;

	sigemptyset(&mask);
	sigaddset(&mask, SIGTERM);
	sigaddset(&mask, SIGINT);
	sigaddset(&mask, SIGHUP);
	sigprocmask(SIG_BLOCK, &mask, NULL);
	signal(SIGPIPE, SIG_IGN);
	d->sigfd = signalfd(-1, &mask, SFD_CLOEXEC);
	d->epfd = epoll_create1(EPOLL_CLOEXEC);
	if (d->sigfd < 0 || d->epfd < 0) {
		ig_err("daemon", "cannot set up the event loop: %s", strerror(errno));
		return 1;
	}
	raise_fd_limit();
	d->reserve_fd = -1;
	reserve_fd_open(d);
	ret = listen_socket(d);
	if (ret) {
		ig_err("socket", "cannot listen on %s: %s", d->sock_path, strerror(-ret));
		return 1;
	}
	kcfg.mode = d->set.policy.mode;
	kcfg.flags = cfg_flags(&d->set.policy);
	kcfg.memfd = d->set.policy.memfd;
	kcfg.nmemfd = d->set.policy.nmemfd;
	ret = ig_kernel_open(&d->k, &kcfg, d->set.verified, d->set.nverified, on_event, d);
	if (ret) {
		ig_err("bpf", "cannot load the BPF programs: %s", strerror(-ret));
		unlink(d->sock_path);
		return 1;
	}
	{
		struct ig_diag nd;

		ig_diag_init(&nd);
		ret = ig_net_open(&d->net, &d->set.policy, d->k.tier, &nd);
		print_diag(&nd);
		ig_diag_free(&nd);
		if (ret) {
			ig_err("net", "cannot load the interface and device rules: %s",
			       strerror(-ret));
			ig_kernel_close(&d->k);
			ig_measure_close(d->ms);
			unlink(d->sock_path);
			return 1;
		}
	}
	/* The best measurement source: kmod kfunc, then bpf_ima_file_hash, then ours. */
	ret = ig_kmeasure_open(&d->km, on_kmeas, d);
	if (ret < 0) {
		ig_warn("measure", "in-kernel measurement unavailable: %s", strerror(-ret));
		d->km = NULL;
	} else if (*ig_kmeasure_reason(d->km)) {
		ig_info("measure", "source %s: %s", ig_kmeasure_source(d->km),
			ig_kmeasure_reason(d->km));
	}
	d->started = time(NULL);
	/*
	 * Loading parsed the kernel's BTF (megabytes, freed by libbpf) and hashed
	 * the manifest: give that memory back, the daemon lives long.
	 */
	malloc_trim(0);
	/* Everything is pinned now: list it for self-protection. */
	ret = ig_kernel_protect_pins(&d->k);
	if (ret)
		ig_warn("bpf", "cannot list the pins for self-protection: %s", strerror(-ret));
	if (!applied(d) || d->active_unusable) {
		ret = store_active(d, &d->set, stored(d, "active") && applied(d), "file");
		if (ret)
			ig_warn("policy", "cannot store the policy set in %s/active: %s", state_dir,
				strerror(-ret));
	}
	ig_set_compact(&d->set);
	malloc_trim(0);
	ig_info("daemon", "mode %s, tier %s, %zu of %zu manifest entries loaded%s", ig_mode_name(d->set.policy.mode),
		ig_tier_name(d->k.tier), d->set.nverified, d->set.manifest.n,
		d->k.readopted ? ", pinned state re-adopted" : "");
	if (d->k.tier != IG_TIER_FULL)
		ig_warn("daemon", "degraded: %s", d->k.why_partial);
	sd_notify_ready();

	ret = event_loop(d);
	for (int i = 0; i < MAX_CLIENTS; i++)
		client_close(d, i);
	reap(d);
	unlink(d->sock_path);
	ig_kmeasure_close(d->km);
	ig_net_close(d->net);
	ig_kernel_close(&d->k);
	ig_measure_close(d->ms);
	ig_set_free(&d->set);
	close(lockfd);
	free(d);
	return ret ? 1 : 0;
}
