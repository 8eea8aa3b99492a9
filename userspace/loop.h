/* SPDX-License-Identifier: GPL-2.0-only */
/*
 * The daemon's one event loop: an epoll set of registered watchers, each a
 * descriptor with its callback and context. Whoever owns a descriptor (the
 * control socket, a client, the BPF loaders' ring buffers, the rtnetlink
 * follower, a child doing long work) registers it; nothing else runs a loop,
 * a thread or a lock of its own. A watcher removed during a batch of events
 * (ig_watch_del) gets no further callback in that batch: its memory must
 * stay valid until ig_loop_once returns.
 */
#ifndef IG_LOOP_H
#define IG_LOOP_H

struct ig_watch;
typedef void (*ig_watch_fn)(struct ig_watch *w, unsigned int events);

struct ig_watch {
	int fd; /* -1: not registered */
	ig_watch_fn fn;
	void *ctx;
};

struct ig_loop {
	int epfd;
};

int ig_loop_init(struct ig_loop *l);
void ig_loop_fini(struct ig_loop *l);
/* Registers fd for events (EPOLLIN ...): fn(w, revents) when ready. 0 or -errno. */
int ig_watch_add(struct ig_loop *l, struct ig_watch *w, int fd, unsigned int events, ig_watch_fn fn,
		 void *ctx);
int ig_watch_mod(struct ig_loop *l, struct ig_watch *w, unsigned int events);
/* Unregisters (the descriptor stays open); nothing if not registered. */
void ig_watch_del(struct ig_loop *l, struct ig_watch *w);
/* Waits up to timeout_ms (-1: no limit) and runs the callbacks of one batch. 0 or -errno. */
int ig_loop_once(struct ig_loop *l, int timeout_ms);

#endif
