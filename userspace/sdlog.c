// SPDX-License-Identifier: GPL-2.0-only
/* RFC 5424 messages with structured data to the local syslog socket (sdlog.h). */
#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <time.h>
#include <syslog.h>
#include <unistd.h>
#include <json-c/json.h>
#include "esc.h"
#include "sdlog.h"

static const char *sock_path = "/dev/log";
static int sock_fd = -1;
static unsigned long long dropped;

void ig_sdlog_socket(const char *path)
{
	sock_path = path;
	if (sock_fd >= 0)
		close(sock_fd);
	sock_fd = -1;
}

unsigned long long ig_sdlog_dropped(void)
{
	return dropped;
}

static void put(struct ig_sdmsg *m, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

static void put(struct ig_sdmsg *m, const char *fmt, ...)
{
	va_list ap;
	int n;

	if (m->full)
		return;
	va_start(ap, fmt);
	n = vsnprintf(m->buf + m->len, sizeof(m->buf) - m->len, fmt, ap);
	va_end(ap);
	if (n < 0 || (size_t)n >= sizeof(m->buf) - m->len)
		m->full = true;
	else
		m->len += n;
}

/* HOSTNAME is PRINTUSASCII without spaces, at most 255: else the nil value. */
static void hostname(char *buf, size_t len)
{
	if (gethostname(buf, len) || !buf[0]) {
		snprintf(buf, len, "-");
		return;
	}
	buf[len - 1] = '\0';
	for (char *p = buf; *p; p++)
		if (*p <= ' ' || *p > '~') {
			snprintf(buf, len, "-");
			return;
		}
}

void ig_sdlog_begin(struct ig_sdmsg *m, int facility, int severity, const char *msgid)
{
	char host[256];
	struct timespec ts;
	struct tm tm;

	m->len = 0;
	m->full = false;
	hostname(host, sizeof(host));
	clock_gettime(CLOCK_REALTIME, &ts);
	gmtime_r(&ts.tv_sec, &tm);
	/* facility as LOG_* (already shifted by 3), severity 0-7 */
	put(m, "<%d>1 %04d-%02d-%02dT%02d:%02d:%02d.%06ldZ %s iotgated %d %s [" IG_SD_ID,
	    facility | severity, tm.tm_year + 1900, tm.tm_mon + 1, tm.tm_mday, tm.tm_hour,
	    tm.tm_min, tm.tm_sec, ts.tv_nsec / 1000, host, (int)getpid(), msgid);
}

void ig_sdlog_param(struct ig_sdmsg *m, const char *name, const char *value)
{
	char esc[IG_ESC_SIZE(IG_SDLOG_MAX / 5)];
	size_t room = sizeof(esc);

	/* a value that cannot fit whole makes the message not sent rather than cut */
	if (strlen(value) > IG_SDLOG_MAX / 5) {
		m->full = true;
		return;
	}
	put(m, " %s=\"%s\"", name, ig_esc(esc, room, value, IG_ESC_SD));
}

void ig_sdlog_param_u(struct ig_sdmsg *m, const char *name, unsigned long long value)
{
	put(m, " %s=\"%llu\"", name, value);
}

int ig_sdlog_send(struct ig_sdmsg *m, const char *msg)
{
	char esc[IG_ESC_SIZE(512)];
	struct sockaddr_un sa = { .sun_family = AF_UNIX };

	put(m, "] %s", ig_esc(esc, sizeof(esc), msg, IG_ESC_LINE));
	if (m->full) {
		dropped++;
		return -EMSGSIZE;
	}
	if (strlen(sock_path) >= sizeof(sa.sun_path)) {
		dropped++;
		return -ENAMETOOLONG;
	}
	strcpy(sa.sun_path, sock_path);
	if (sock_fd < 0)
		sock_fd = socket(AF_UNIX, SOCK_DGRAM | SOCK_CLOEXEC | SOCK_NONBLOCK, 0);
	if (sock_fd < 0) {
		dropped++;
		return -errno;
	}
	/* Sent by address every time: a restarted syslog daemon is found again. */
	if (sendto(sock_fd, m->buf, m->len, MSG_DONTWAIT | MSG_NOSIGNAL, (struct sockaddr *)&sa,
		   sizeof(sa)) < 0) {
		dropped++;
		return -errno;
	}
	return 0;
}

static const char *member(struct json_object *o, const char *key)
{
	struct json_object *v;

	return json_object_object_get_ex(o, key, &v) && json_object_is_type(v, json_type_string) ?
		       json_object_get_string(v) :
		       "";
}

static void params(struct ig_sdmsg *m, struct json_object *o, const char *prefix)
{
	json_object_object_foreach(o, key, val) {
		char name[33];

		if (!*prefix && !strcmp(key, "event"))
			continue;
		/* SD-NAME: 1 to 32 of PRINTUSASCII but = ] " and space; longer ones are left out */
		if ((size_t)snprintf(name, sizeof(name), "%s%s", prefix, key) >= sizeof(name) ||
		    strpbrk(name, "=]\" \\") || !*name)
			continue;
		switch (json_object_get_type(val)) {
		case json_type_object: {
			char sub[34];

			snprintf(sub, sizeof(sub), "%s.", name);
			params(m, val, sub);
			break;
		}
		case json_type_array:
		case json_type_null:
			break;
		default:
			ig_sdlog_param(m, name, json_object_get_string(val));
		}
	}
}

int ig_sdlog_event(struct json_object *ev)
{
	const char *event = member(ev, "event"), *type = member(ev, "type");
	const char *verdict = member(ev, "verdict"), *health = member(ev, "health");
	bool violation = !strcmp(event, "violation");
	bool alarm = !strcmp(verdict, "deny") || !strcmp(verdict, "kill") ||
		     !strcmp(health, "compromised");
	struct ig_sdmsg *m = malloc(sizeof(*m));
	char msg[512];
	int ret;

	if (!m)
		return -ENOMEM;
	ig_sdlog_begin(m, LOG_AUTHPRIV, alarm ? LOG_WARNING : LOG_NOTICE,
		       violation && *type ? type :
		       *event		  ? event :
					    "-");
	params(m, ev, "");
	if (violation)
		snprintf(msg, sizeof(msg), "iotgate %s %s: %s", type, verdict,
			 *member(ev, "detail") ? member(ev, "detail") :
			 *member(ev, "path")   ? member(ev, "path") :
						 member(ev, "reason"));
	else
		snprintf(msg, sizeof(msg), "iotgate %s %s", event,
			 *health ? health : member(ev, "op"));
	ret = ig_sdlog_send(m, msg);
	free(m);
	return ret;
}
