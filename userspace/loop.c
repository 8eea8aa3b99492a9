// SPDX-License-Identifier: GPL-2.0-only
/* The event loop (see loop.h). */
#include <errno.h>
#include <unistd.h>
#include <sys/epoll.h>
#include "loop.h"

int ig_loop_init(struct ig_loop *l)
{
	l->epfd = epoll_create1(EPOLL_CLOEXEC);
	return l->epfd < 0 ? -errno : 0;
}

void ig_loop_fini(struct ig_loop *l)
{
	if (l->epfd >= 0)
		close(l->epfd);
	l->epfd = -1;
}

int ig_watch_add(struct ig_loop *l, struct ig_watch *w, int fd, unsigned int events, ig_watch_fn fn,
		 void *ctx)
{
	struct epoll_event ev = { .events = events, .data.ptr = w };

	w->fn = fn;
	w->ctx = ctx;
	if (epoll_ctl(l->epfd, EPOLL_CTL_ADD, fd, &ev)) {
		w->fd = -1;
		return -errno;
	}
	w->fd = fd;
	return 0;
}

int ig_watch_mod(struct ig_loop *l, struct ig_watch *w, unsigned int events)
{
	struct epoll_event ev = { .events = events, .data.ptr = w };

	if (w->fd < 0)
		return -EBADF;
	return epoll_ctl(l->epfd, EPOLL_CTL_MOD, w->fd, &ev) ? -errno : 0;
}

void ig_watch_del(struct ig_loop *l, struct ig_watch *w)
{
	if (w->fd < 0)
		return;
	epoll_ctl(l->epfd, EPOLL_CTL_DEL, w->fd, NULL);
	w->fd = -1;
}

int ig_loop_once(struct ig_loop *l, int timeout_ms)
{
	struct epoll_event evs[64];
	int n = epoll_wait(l->epfd, evs, 64, timeout_ms);

	if (n < 0)
		return errno == EINTR ? 0 : -errno;
	for (int i = 0; i < n; i++) {
		struct ig_watch *w = evs[i].data.ptr;

		/* Removed by an earlier callback of this batch. */
		if (w->fd >= 0)
			w->fn(w, evs[i].events);
	}
	return 0;
}
