/* SPDX-License-Identifier: GPL-2.0-only */
/*
 * One logger for the daemon, the command and libbpf. Only the top layer
 * logs: library functions return negative errno and let callers decide.
 *
 * Each message is one line: control characters and bytes that are not
 * UTF-8 are written as \xNN (esc.h, IG_ESC_LINE). Text from outside that
 * makes a field of the message (a path, a process name) is the caller's to
 * escape with ig_esc(IG_ESC_FIELD), so that it cannot forge another field.
 */
#ifndef IG_LOG_H
#define IG_LOG_H

#include <stdbool.h>

enum ig_log_level { IG_LOG_ERR, IG_LOG_WARN, IG_LOG_INFO, IG_LOG_DEBUG };

/* ident: program name printed before each line; level: most verbose level shown. */
void ig_log_init(const char *ident, enum ig_log_level level, bool use_syslog);
void ig_log(enum ig_log_level level, const char *subsys, const char *fmt, ...)
	__attribute__((format(printf, 3, 4)));
/* Route libbpf's messages through ig_log (subsystem "libbpf"). */
void ig_log_libbpf(void);
/* While quiet, libbpf warnings are demoted to debug (used for expected probe failures). */
void ig_log_libbpf_quiet(bool quiet);

#define ig_err(sub, ...) ig_log(IG_LOG_ERR, sub, __VA_ARGS__)
#define ig_warn(sub, ...) ig_log(IG_LOG_WARN, sub, __VA_ARGS__)
#define ig_info(sub, ...) ig_log(IG_LOG_INFO, sub, __VA_ARGS__)
#define ig_dbg(sub, ...) ig_log(IG_LOG_DEBUG, sub, __VA_ARGS__)

#endif
