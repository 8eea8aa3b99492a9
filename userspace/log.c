// SPDX-License-Identifier: GPL-2.0-only
#include <stdarg.h>
#include <stdio.h>
#include <string.h>
#include <syslog.h>
#include <bpf/libbpf.h>
#include "esc.h"
#include "log.h"

static const char *log_ident = "iotgate";
static enum ig_log_level log_level = IG_LOG_INFO;
static bool log_syslog;
static _Thread_local bool libbpf_quiet; /* per thread: loads may overlap */

void ig_log_init(const char *ident, enum ig_log_level level, bool use_syslog)
{
	log_ident = ident;
	log_level = level;
	log_syslog = use_syslog;
	if (use_syslog)
		openlog(ident, LOG_PID, LOG_DAEMON);
}

static void vlog(enum ig_log_level level, const char *subsys, const char *fmt, va_list ap)
{
	static const int prio[] = { LOG_ERR, LOG_WARNING, LOG_INFO, LOG_DEBUG };
	static const char *const name[] = { "error", "warning", "info", "debug" };
	char msg[1024], line[IG_ESC_SIZE(sizeof(msg))];
	size_t n;

	if (level > log_level)
		return;
	vsnprintf(msg, sizeof(msg), fmt, ap);
	n = strlen(msg);
	while (n && msg[n - 1] == '\n')
		msg[--n] = '\0';
	/* One message, one line, whatever text from outside it carries. */
	ig_esc(line, sizeof(line), msg, IG_ESC_LINE);
	if (log_syslog)
		syslog(prio[level], "%s: %s", subsys, line);
	else
		fprintf(stderr, "%s: %s: %s: %s\n", log_ident, name[level], subsys, line);
}

void ig_log(enum ig_log_level level, const char *subsys, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	vlog(level, subsys, fmt, ap);
	va_end(ap);
}

static int libbpf_print(enum libbpf_print_level level, const char *fmt, va_list ap)
{
	enum ig_log_level l = IG_LOG_DEBUG;

	if (level == LIBBPF_WARN && !libbpf_quiet)
		l = IG_LOG_WARN;
	/* libbpf prefixes its own messages with "libbpf: "; we add the subsystem. */
	if (!strncmp(fmt, "libbpf: ", 8))
		fmt += 8;
	vlog(l, "libbpf", fmt, ap);
	return 0;
}

void ig_log_libbpf(void)
{
	libbpf_set_print(libbpf_print);
}

void ig_log_libbpf_quiet(bool quiet)
{
	libbpf_quiet = quiet;
}
