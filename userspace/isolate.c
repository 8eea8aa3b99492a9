// SPDX-License-Identifier: GPL-2.0-only
#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <sys/mman.h>
#include <sys/wait.h>
#include <unistd.h>
#include "isolate.h"

static bool enabled;
/* The start's threads run children side by side: one of them has the waiter at a time. */
static pthread_mutex_t waiter_lock = PTHREAD_MUTEX_INITIALIZER;
static int (*waiter)(int fd, void *ctx);
static void *waiter_ctx;

void ig_isolate_set_waiter(int (*wait)(int fd, void *ctx), void *ctx)
{
	pthread_mutex_lock(&waiter_lock);
	waiter = wait;
	waiter_ctx = ctx;
	pthread_mutex_unlock(&waiter_lock);
}

/* Takes the waiter for a child's time (NULL if none or another thread has it). */
static int (*take_waiter(void **ctx))(int fd, void *ctx)
{
	int (*wait)(int fd, void *ctx);

	pthread_mutex_lock(&waiter_lock);
	wait = waiter;
	*ctx = waiter_ctx;
	waiter = NULL;
	pthread_mutex_unlock(&waiter_lock);
	return wait;
}

void ig_isolate_set(bool on)
{
	enabled = on;
}

bool ig_isolate_enabled(void)
{
	return enabled;
}

int ig_isolate(int (*fn)(void *arg), void *arg)
{
	int (*wait)(int fd, void *ctx);
	void *wait_ctx;
	int done[2] = { -1, -1 };
	pid_t pid;
	int st;

	if (!enabled)
		return fn(arg);
	/*
	 * What runs meanwhile (in this thread: the waiter's own work; in
	 * another: a child of its own) waits the plain way, unless it sets a
	 * waiter of its own for its time (daemon/report.c): ours is restored.
	 */
	wait = take_waiter(&wait_ctx);
	/* The child holds the write end: its exit makes the read end readable. */
	if (wait && pipe2(done, O_CLOEXEC)) {
		ig_isolate_set_waiter(wait, wait_ctx);
		wait = NULL;
	}
	pid = fork();
	if (pid < 0) {
		st = -errno;
		if (wait) {
			close(done[0]);
			close(done[1]);
			ig_isolate_set_waiter(wait, wait_ctx);
		}
		return st;
	}
	if (pid == 0) {
		int ret;

		enabled = false; /* the child does its work itself */
		if (wait)
			close(done[0]);
		ret = fn(arg);

		/* No atexit handlers, no stdio flush: the parent owns those. */
		_exit(ret < 0 && ret >= -255 ? -ret : ret ? EIO : 0);
	}
	if (wait) {
		close(done[1]);
		wait(done[0], wait_ctx);
		ig_isolate_set_waiter(wait, wait_ctx);
		close(done[0]);
	}
	while (waitpid(pid, &st, 0) < 0)
		if (errno != EINTR)
			return -errno;
	if (!WIFEXITED(st))
		return -ECHILD;
	return -WEXITSTATUS(st);
}

void *ig_shared_alloc(size_t len)
{
	void *p = mmap(NULL, len ? len : 1, PROT_READ | PROT_WRITE, MAP_SHARED | MAP_ANONYMOUS, -1,
		       0);

	return p == MAP_FAILED ? NULL : p;
}

void ig_shared_free(void *p, size_t len)
{
	if (p)
		munmap(p, len ? len : 1);
}
