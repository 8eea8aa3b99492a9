// SPDX-License-Identifier: GPL-2.0-only
/*
 * The control socket: admission (root, group iotgate, per-uid limits),
 * one strict request per line, replies and the events stream, idle timeouts.
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
#include "sdlog.h"
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

long long now_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return ts.tv_sec * 1000LL + ts.tv_nsec / 1000000;
}

/* A connection that is open and not being closed. */
struct client *client_live(struct daemon *d, int slot)
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
void client_close(struct daemon *d, int slot)
{
	struct client *c = client_live(d, slot);

	if (!c)
		return;
	ig_watch_del(&d->loop, &c->w);
	close(c->fd);
	c->fd = -1;
	c->closed = true;
	c->subscribed = false;
	d->nclosed++;
}

void reserve_fd_open(struct daemon *d)
{
	if (d->reserve_fd < 0)
		d->reserve_fd = open("/dev/null", O_RDONLY | O_CLOEXEC);
}

/* Frees the slots of closed connections (between batches of events). */
void reap(struct daemon *d)
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

int client_flush(struct daemon *d, int slot)
{
	struct client *c = client_live(d, slot);

	if (!c)
		return -EPIPE;
	while (c->outlen) {
		ssize_t n = send(c->fd, c->out, c->outlen, MSG_NOSIGNAL | MSG_DONTWAIT);

		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK))
			break;
		if (n < 0 && (errno == EPIPE || errno == ECONNRESET)) {
			c->hungup = true;
			c->subscribed = false;
			c->outlen = 0;
			break;
		}
		if (n < 0)
			return -errno;
		memmove(c->out, c->out + n, c->outlen - n);
		c->outlen -= n;
	}
	if (!c->outlen) {
		free(c->out);
		c->out = NULL;
	}
	ig_watch_mod(&d->loop, &c->w, EPOLLIN | EPOLLRDHUP | (c->outlen ? EPOLLOUT : 0));
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
	if (c->hungup)
		return 0;
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
 * Pushes an event to every subscriber; one that cannot keep up is dropped.
 * One that left is unsubscribed, not closed: the requests it sent before
 * leaving are still to be read (client_flush). A dropped one may be the
 * client whose request is being handled: client_close() frees nothing under
 * its feet.
 */
void publish(struct daemon *d, struct json_object *ev)
{
	/* syslog gets every event the subscribers get, in the same order */
	ig_sdlog_event(ev);
	for (int i = 0; i < MAX_CLIENTS; i++) {
		struct client *c = client_live(d, i);
		int ret;

		if (!c || !c->subscribed)
			continue;
		ret = c->outlen > MAX_SUBSCRIBER_BACKLOG ? -ENOBUFS : client_send(d, i, ev);
		if (ret == -ENOBUFS) {
			ig_warn("events",
				"dropped subscriber uid %u pid %d: not reading its events", c->uid,
				c->pid);
			d->subscribers_dropped++;
		}
		if (ret)
			client_close(d, i);
	}
	json_object_put(ev);
}

struct json_object *error_reply(const char *fmt, const char *arg)
{
	struct json_object *o = json_object_new_object();
	char msg[256];

	snprintf(msg, sizeof(msg), fmt, arg);
	jadd_str(o, "error", msg);
	return o;
}

static void on_client(struct ig_watch *w, unsigned int events);

static struct json_object *handle(struct daemon *d, struct client *c, const char *line, size_t len)
{
	const struct ig_req_cmd *rc;
	struct json_object *req, *reply;
	char who[64], err[256];
	const char *cmd;

	req = ig_request_parse(line, len, ig_commands, IG_NCOMMANDS, &rc, err, sizeof(err));
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
	} else if (ig_cmd_id(rc) == IG_CMD_PING) {
		reply = json_object_new_object();
		json_object_object_add(reply, "ok", json_object_new_boolean(1));
	} else if (ig_cmd_id(rc) == IG_CMD_STATUS) {
		reply = status_json(d);
	} else if (ig_cmd_id(rc) == IG_CMD_EVENTS) {
		c->subscribed = true;
		reply = json_object_new_object();
		jadd_str(reply, "event", "subscribed");
	} else if (rc->root && d->changing) {
		/* The loop runs while a change is verified (lifecycle.c): one at a time. */
		ig_warn("policy", "%s by %s refused: a policy change is in progress", cmd, who);
		reply = error_reply("busy: %s; try again", "a policy change is in progress");
	} else if (ig_cmd_id(rc) == IG_CMD_STOP_ENFORCING && locked(d)) {
		ig_warn("policy", "stop-enforcing by %s refused: the device is locked", who);
		reply = error_reply(
			"stop-enforcing is refused: the device is locked (lock on); "
			"apply a signed policy with 'lock off' and a version above %s first",
			"the floor");
	} else if (ig_cmd_id(rc) == IG_CMD_STOP_ENFORCING) {
		int ret;

		ig_net_stop_enforcing(d->net);
		ret = ig_kernel_stop_enforcing(&d->k);
		ig_warn("policy", "enforcement removed on request of %s%s%s", who, ret ? ": " : "",
			ret ? strerror(-ret) : "");
		reply = json_object_new_object();
		if (ret)
			jadd_str(reply, "error", strerror(-ret));
		else
			json_object_object_add(reply, "ok", json_object_new_boolean(1));
		d->stop = true;
	} else {
		/*
		 * The loop runs during the change: this client's next request
		 * waits for the reply (its input buffer is being parsed).
		 */
		ig_watch_del(&d->loop, &c->w);
		reply = change(d, cmd, who, req);
		if (client_live(d, c->slot))
			ig_watch_add(&d->loop, &c->w, c->fd,
				     EPOLLIN | EPOLLRDHUP | (c->outlen ? EPOLLOUT : 0), on_client,
				     c);
	}
	json_object_put(req);
	return reply;
}

void client_read(struct daemon *d, int slot)
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
		ig_warn("socket",
			"refused a connection from uid %u pid %d: %s (%llu refused so far)",
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

	ig_watch_del(&d->loop, &d->lfd_w);
	d->accept_paused_until = now + ACCEPT_PAUSE_MS;
	if (!d->refusal_logged || now - d->refusal_logged >= REFUSAL_LOG_MS) {
		ig_warn("socket", "cannot accept connections: %s (pausing %d ms)", strerror(err),
			ACCEPT_PAUSE_MS);
		d->refusal_logged = now;
	}
}

static void on_listen(struct ig_watch *w, unsigned int events)
{
	(void)events;
	client_accept(w->ctx);
}

static void accept_resume(struct daemon *d)
{
	ig_watch_add(&d->loop, &d->lfd_w, d->lfd, EPOLLIN, on_listen, d);
	d->accept_paused_until = 0;
}

/* A connection's descriptor is ready: send what is pending, read requests. */
static void on_client(struct ig_watch *w, unsigned int events)
{
	struct client *c = w->ctx;
	struct daemon *d = c->d;

	if (events & EPOLLOUT && client_flush(d, c->slot)) {
		client_close(d, c->slot);
		return;
	}
	if (events & (EPOLLIN | EPOLLHUP | EPOLLRDHUP | EPOLLERR))
		client_read(d, c->slot);
}

void client_accept(struct daemon *d)
{
	struct ucred cred;
	socklen_t len = sizeof(cred);
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
	c->can_read =
		cred.uid == 0 || (d->have_gid && peer_in_group(cred.pid, cred.gid, d->iotgate_gid));
	c->idle_deadline = now_ms() + CLIENT_IDLE_MS;
	if (!d->next_idle_check || c->idle_deadline < d->next_idle_check)
		d->next_idle_check = c->idle_deadline;
	c->slot = slot;
	c->d = d;
	d->clients[slot] = c;
	if (ig_watch_add(&d->loop, &c->w, fd, EPOLLIN | EPOLLRDHUP, on_client, c))
		client_close(d, slot);
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
void timers(struct daemon *d)
{
	long long now = now_ms();

	if (d->accept_paused_until && now >= d->accept_paused_until)
		accept_resume(d);
	if (d->next_idle_check && now >= d->next_idle_check)
		idle_check(d, now);
	if (now >= d->next_health_check)
		health_tick(d);
}

/* epoll_wait()'s timeout: until the next of timers(), or none. */
int timers_timeout(struct daemon *d)
{
	long long next = d->accept_paused_until, now = now_ms();

	if (d->next_idle_check && (!next || d->next_idle_check < next))
		next = d->next_idle_check;
	if (!next || d->next_health_check < next)
		next = d->next_health_check;
	if (!next)
		return -1;
	return next <= now ? 0 : next - now > 60000 ? 60000 : (int)(next - now);
}

/* Enough descriptors for every connection (systemd's default soft limit is 1024). */
void raise_fd_limit(void)
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

int listen_socket(struct daemon *d)
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
	accept_resume(d);
	return 0;
fail : {
	int ret = -errno;

	close(fd);
	return ret;
}
}
