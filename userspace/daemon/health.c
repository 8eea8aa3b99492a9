// SPDX-License-Identifier: GPL-2.0-only
/*
 * A state that never lies: once a second and at every status the daemon asks
 * the kernel whether what it attached is still attached (ig_kernel_check);
 * anything missing makes the health "compromised", logged and published once
 * per episode. And how the previous daemon ended: a marker in IG_RUN_DIR
 * with a heartbeat, removed on a clean exit, read with the exit the kernel
 * recorded (ig_dexit).
 */
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <stdlib.h>
#include <stdio.h>
#include <string.h>
#include <time.h>
#include <unistd.h>
#include "ipc.h"
#include "log.h"
#include "daemon.h"

#define MARKER IG_RUN_DIR "/daemon.alive"
/* A heartbeat older than this when the kernel saw the daemon exit: it was stopped first. */
#define FROZEN_NS (3ull * 1000000000ull)

static unsigned long long boot_ns(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_BOOTTIME, &ts);
	return (unsigned long long)ts.tv_sec * 1000000000ull + ts.tv_nsec;
}

void health_check(struct daemon *d)
{
	char why[sizeof(d->compromised_why)];
	bool sp = d->set.policy.self_protect && d->set.policy.mode == IG_MODE_ENFORCE;
	bool bad = ig_kernel_check(&d->k, sp, why, sizeof(why)) > 0;
	struct json_object *e;

	if (bad == d->compromised && (!bad || !strcmp(why, d->compromised_why)))
		return;
	d->compromised = bad;
	snprintf(d->compromised_why, sizeof(d->compromised_why), "%s", bad ? why : "");
	if (bad)
		ig_err("health", "compromised: %s", why);
	else
		ig_info("health", "what the daemon attached is attached again");
	e = json_object_new_object();
	jadd_str(e, "event", "health");
	jadd_str(e, "health", bad ? "compromised" : "ok");
	if (bad)
		jadd_str(e, "reason", why);
	publish(d, e);
}

/* The heartbeat: the marker's content, rewritten in place (tmpfs: no wear). */
static void marker_write(struct daemon *d)
{
	char buf[64];
	int n;

	if (d->marker_fd < 0)
		return;
	n = snprintf(buf, sizeof(buf), "%d %020llu\n", (int)getpid(), boot_ns());
	if (pwrite(d->marker_fd, buf, n, 0) != n)
		ig_dbg("health", "cannot write %s: %s", MARKER, strerror(errno));
}

void health_tick(struct daemon *d)
{
	health_check(d);
	marker_write(d);
	d->next_health_check = now_ms() + HEALTH_CHECK_MS;
}

void previous_daemon_start(struct daemon *d)
{
	unsigned long long beat = 0;
	struct ig_dexit x;
	char buf[64] = "";
	int pid = 0, fd;
	ssize_t n;

	snprintf(d->previous_daemon, sizeof(d->previous_daemon), "clean");
	fd = open(MARKER, O_RDONLY | O_CLOEXEC);
	if (fd >= 0) {
		n = read(fd, buf, sizeof(buf) - 1);
		close(fd);
		buf[n > 0 ? n : 0] = '\0';
		if (sscanf(buf, "%d %llu", &pid, &beat) != 2)
			pid = 0;
		snprintf(d->previous_daemon, sizeof(d->previous_daemon), "unclean");
		if (pid > 0 && !ig_kernel_previous(&d->k, &x) && (int)x.tgid == pid) {
			if (x.exit_ns > beat + FROZEN_NS)
				snprintf(d->previous_daemon, sizeof(d->previous_daemon), "frozen");
			else if ((x.exit_code & 0x7f) == 9)
				snprintf(d->previous_daemon, sizeof(d->previous_daemon), "killed");
		}
		if (strcmp(d->previous_daemon, "clean"))
			ig_warn("daemon", "the previous daemon (pid %d) ended %s", pid,
				d->previous_daemon);
	}
	d->marker_fd = open(MARKER, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
	if (d->marker_fd < 0)
		ig_warn("daemon", "cannot create %s: %s", MARKER, strerror(errno));
	marker_write(d);
}

void previous_daemon_clean_exit(struct daemon *d)
{
	if (d->marker_fd < 0)
		return;
	close(d->marker_fd);
	d->marker_fd = -1;
	unlink(MARKER);
}

/*
 * What only the daemon may change while self-protection is on: its state
 * and trusted-keys directories, the shipped policy and the policy and
 * manifest in force with their signatures. Not the directory of the
 * policy as a whole: other files may live next to it.
 */
void protect_paths(struct daemon *d)
{
	char *p[8] = { 0 };
	__u32 f[8];
	size_t n = 0;
	int ret;

	f[n] = IG_PROT_DIR;
	p[n++] = strdup(d->state_dir);
	f[n] = IG_PROT_DIR;
	p[n++] = d->keys_dir ? strdup(d->keys_dir) : NULL;
	f[n] = IG_PROT_FILE;
	p[n++] = strdup(d->factory_path);
	f[n] = IG_PROT_FILE;
	if (asprintf(&p[n++], "%s.sig", d->factory_path) < 0)
		p[n - 1] = NULL;
	if (d->set.policy.path && strcmp(d->set.policy.path, d->factory_path)) {
		f[n] = IG_PROT_FILE;
		p[n++] = strdup(d->set.policy.path);
		f[n] = IG_PROT_FILE;
		if (asprintf(&p[n++], "%s.sig", d->set.policy.path) < 0)
			p[n - 1] = NULL;
	}
	if (d->set.manifest.path) {
		f[n] = IG_PROT_FILE;
		p[n++] = strdup(d->set.manifest.path);
		f[n] = IG_PROT_FILE;
		if (asprintf(&p[n++], "%s.sig", d->set.manifest.path) < 0)
			p[n - 1] = NULL;
	}
	ret = ig_kernel_protect_paths(&d->k, (const char *const *)p, f, n);
	if (ret)
		ig_warn("bpf", "cannot list the protected paths: %s", strerror(-ret));
	for (size_t i = 0; i < n; i++)
		free(p[i]);
}
