// SPDX-License-Identifier: GPL-2.0-only
#include <errno.h>
#include <sys/mman.h>
#include <sys/wait.h>
#include <unistd.h>
#include "isolate.h"

static bool enabled;

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
	pid_t pid;
	int st;

	if (!enabled)
		return fn(arg);
	pid = fork();
	if (pid < 0)
		return -errno;
	if (pid == 0) {
		int ret;

		enabled = false; /* the child does its work itself */
		ret = fn(arg);

		/* No atexit handlers, no stdio flush: the parent owns those. */
		_exit(ret < 0 && ret >= -255 ? -ret : ret ? EIO : 0);
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
