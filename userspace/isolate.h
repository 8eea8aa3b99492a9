/* SPDX-License-Identifier: GPL-2.0-only */
/*
 * Running libcrypto work in a short-lived child process.
 *
 * OpenSSL 3 initialises its providers and method stores on first use and
 * touches 2-4 MB of library pages and heap doing so, which a long-lived
 * process keeps for good. iotgated has a 6 MB budget, so once it calls
 * ig_isolate_set(true), signature checks and file hashing run in a fork()ed
 * child: inputs are inherited, outputs come back through memory from
 * ig_shared_alloc() (MAP_SHARED), and the child's pages go when it exits.
 * Tools (iotgatectl, tests) leave it disabled and run the same code inline.
 */
#ifndef IG_ISOLATE_H
#define IG_ISOLATE_H

#include <stdbool.h>
#include <stddef.h>

/* iotgated turns it on at start; unit tests switch it both ways. */
void ig_isolate_set(bool on);
bool ig_isolate_enabled(void);

/*
 * Runs fn(arg), in a child when enabled. fn returns 0 or a negative errno
 * (at most 255), which is passed on; a child that dies returns -ECHILD.
 */
int ig_isolate(int (*fn)(void *arg), void *arg);

/*
 * While a child runs, the parent calls wait(fd, ctx) instead of blocking: fd
 * becomes readable (end of file) when the child is gone, so the daemon's
 * loop can poll it and keep answering (daemon/lifecycle.c sets it for the
 * time of a policy change). Children started while wait runs are waited for
 * the plain way, unless what runs sets a waiter for its own time; the one in
 * force (and its ctx) is restored when wait returns. NULL: none. wait
 * returns 0, or negative errno to fall back to blocking.
 */
void ig_isolate_set_waiter(int (*wait)(int fd, void *ctx), void *ctx);

/* Zeroed memory that a child's writes reach the parent through; NULL if none. */
void *ig_shared_alloc(size_t len);
void ig_shared_free(void *p, size_t len);

#endif
