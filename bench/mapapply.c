// SPDX-License-Identifier: GPL-2.0-only
/*
 * mapapply: time to hash N files (the daemon's parallel OpenSSL hashing)
 * against the time to put their already-verified entries into the kernel's
 * manifest map (new inner map, batch update, swap), with the daemon's own
 * code. Prints "hash_ns apply_ns empty_apply_ns" (the last: the same apply
 * with no entries, its fixed cost). Needs root and a kernel that loads maps.
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
#include "kernel.h"
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
	long long t0, t1, t2, t3;
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
	bpf_object__for_each_program(prog, k.skel->obj)
		bpf_program__set_autoload(prog, false);
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
	ret = ig_kernel_set_manifest(&k, v, n);
	t2 = now();
	if (ret) {
		fprintf(stderr, "mapapply: %s\n", strerror(-ret));
		return 1;
	}
	/*
	 * The same with no entries: the fixed part, mostly the RCU grace period
	 * the kernel waits after an update of a map-in-map (so that no program
	 * still uses the old manifest when the swap returns).
	 */
	ret = ig_kernel_set_manifest(&k, v, 0);
	t3 = now();
	if (ret) {
		fprintf(stderr, "mapapply: %s\n", strerror(-ret));
		return 1;
	}
	printf("%lld %lld %lld\n", t1 - t0, t2 - t1, t3 - t2);
	ig_exec__destroy(k.skel);
	return 0;
}
