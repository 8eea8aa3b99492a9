/* SPDX-License-Identifier: GPL-2.0-only */
/*
 * Events for syslog as RFC 5424 messages, sent to the local syslog socket:
 *
 *   <PRI>1 TIMESTAMP HOSTNAME iotgated PID MSGID [iotgate@32473 NAME="VALUE"...] MSG
 *
 * MSGID names the event (the violation's type: exec, mmap, write, net,
 * device, self, ...; health; policy), the SD-ELEMENT carries its fields
 * (32473 is the documentation enterprise number) and MSG says it in words.
 * Values are written as IG_ESC_TEXT does (esc.h: a backslash doubled,
 * control bytes as \xNN) and then escaped as PARAM-VALUE wants (\", \\, \]),
 * so no name can end the message, the element or a value, and a parser
 * (rsyslog's mmpstrucdata) gives back the IG_ESC_TEXT form.
 *
 * rsyslog reads RFC 5424 on its local socket with the regular parser chain
 * ('module(load="imuxsock" SysSock.UseSpecialParser="off")'; README, Fleets).
 * Sending never blocks: a message the socket cannot take now is dropped
 * and counted.
 */
#ifndef IG_SDLOG_H
#define IG_SDLOG_H

#include <stdbool.h>
#include <stddef.h>

#define IG_SD_ID "iotgate@32473"
#define IG_SDLOG_MAX 8000 /* under rsyslog's default maxMessageSize (8096) */

struct ig_sdmsg {
	char buf[IG_SDLOG_MAX];
	size_t len;
	bool full; /* a param did not fit: the message is not sent */
};

/* The socket messages go to (default /dev/log). */
void ig_sdlog_socket(const char *path);
/* Starts a message: header and the opening of the SD-ELEMENT. */
void ig_sdlog_begin(struct ig_sdmsg *m, int facility, int severity, const char *msgid);
/* One SD-PARAM; name is 1-32 printable ASCII characters but = ] " and space. */
void ig_sdlog_param(struct ig_sdmsg *m, const char *name, const char *value);
void ig_sdlog_param_u(struct ig_sdmsg *m, const char *name, unsigned long long value);
/* Closes the element, appends MSG (escaped as IG_ESC_TEXT) and sends. 0 or negative errno. */
int ig_sdlog_send(struct ig_sdmsg *m, const char *msg);
/*
 * An event of the events stream as one message: MSGID the violation's
 * "type", else the "event" name (health, policy, ...); every member but
 * "event" a param (nested objects as a.b, arrays left out); severity
 * warning for a refusal (verdict deny or kill) or a compromised health,
 * else notice; facility authpriv. 0 or negative errno.
 */
struct json_object;
int ig_sdlog_event(struct json_object *ev);
/* Messages dropped (socket absent, full, or a message too long). */
unsigned long long ig_sdlog_dropped(void);

#endif
