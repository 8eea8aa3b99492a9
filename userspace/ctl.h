/* SPDX-License-Identifier: GPL-2.0-only */
/* Shared by iotgatectl's subcommands (each OBJECT may live in its own ctl_*.c). */
#ifndef IG_CTL_H
#define IG_CTL_H

#include <stdbool.h>

extern bool json_mode; /* --json given */
extern const char *sock_override; /* --socket PATH */

/* Reports one failure (stderr, or {"error": ...} on stdout in JSON mode); returns 1. */
int fail(const char *fmt, ...) __attribute__((format(printf, 1, 2)));

struct json_object;
/* The number at a dotted path ("counters.exec.allowed") of a reply, 0 if absent. */
unsigned long long jnum(struct json_object *o, const char *path);

/* iotgatectl check-kernel [CONFIG_FILE]: argv[0] is "check-kernel". */
int ctl_check_kernel(int argc, char **argv);

/* iotgatectl log [verify] [--file PATH]...: argv[0] is "log" (ctl_log.c). */
int ctl_log(int argc, char **argv);
/* iotgatectl manifest keylime-policy: argv[0] is "keylime-policy" (ctl_keylime.c). */
int ctl_keylime_policy(int argc, char **argv);
/* iotgatectl metrics [--textfile FILE]: argv[0] is "metrics" (ctl_metrics.c). */
int ctl_metrics(int argc, char **argv);

#endif
