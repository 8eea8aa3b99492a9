// SPDX-License-Identifier: GPL-2.0-only
/*
 * mapapply: time to hash N files (the daemon's parallel OpenSSL hashing)
 * against the time to put their already-verified entries into the kernel's
 * manifest map (new inner map, batch update, swap), with the daemon's own
 * code. Prints "hash_ns apply_ns commit_ns first_ns": an apply (fill the
 * map of the slot not in force, flip the slot), emptying the replaced map
 * afterwards, and the first manifest after start (which makes both maps).
 * Needs root and a kernel that loads maps.
 *   mapapply FILE...
 */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>
#include <bpf/libbpf.h>
#include "iotgate.h"
#include "exec.skel.h"
#include "hash.h"
#include "exec.h"
#include "manifest.h"

static long long now(void)
{
	struct timespec t;

	clock_gettime(CLOCK_MONOTONIC, &t);
	return t.tv_sec * 1000000000LL + t.tv_nsec;
}

int main(int argc, char **argv)
{
	size_t n = argc - 1;
	struct ig_hash_job *jobs = calloc(n, sizeof(*jobs));
	struct ig_verified *v = calloc(n, sizeof(*v));
	struct ig_kernel k = { 0 };
	struct bpf_program *prog;
	long long t0, t1, t2, t3, t4, t5;
	int ret;

	if (!n || !jobs || !v)
		return 2;
	for (size_t i = 0; i < n; i++) {
		int fd = open(argv[i + 1], O_RDONLY);

		jobs[i].path = argv[i + 1];
		if (fd < 0 || ig_file_identity(fd, &v[i].key, &v[i].val)) {
			perror(argv[i + 1]);
			return 1;
		}
		close(fd);
	}
	/* Maps only: the programs are not needed to measure the map update. */
	k.skel = ig_exec__open();
	if (!k.skel)
		return 1;
	bpf_object__for_each_program(prog, k.skel->obj) bpf_program__set_autoload(prog, false);
	ret = ig_exec__load(k.skel);
	if (ret) {
		fprintf(stderr, "mapapply: cannot create the maps: %s\n", strerror(-ret));
		return 1;
	}
	t0 = now();
	ig_hash_files(jobs, n, 0);
	t1 = now();
	for (size_t i = 0; i < n; i++)
		memcpy(v[i].val.digest, jobs[i].digest, IG_SHA256_LEN);
	/* The first manifest after start: it makes the maps of both slots. */
	ret = ig_kernel_set_manifest(&k, v, n);
	t2 = now();
	ig_kernel_commit_manifest(&k);
	t3 = now();
	/* An apply: the map of the other slot is filled, then the slot flips. */
	if (!ret)
		ret = ig_kernel_set_manifest(&k, v, n);
	t4 = now();
	/* Afterwards, out of the swap: the replaced map is emptied. */
	ig_kernel_commit_manifest(&k);
	t5 = now();
	if (ret) {
		fprintf(stderr, "mapapply: %s\n", strerror(-ret));
		return 1;
	}
	printf("%lld %lld %lld %lld\n", t1 - t0, t4 - t3, t5 - t4, t2 - t1);
	ig_exec__destroy(k.skel);
	return 0;
}
