// SPDX-License-Identifier: GPL-2.0-only
/*
 * progs OBJECT: load a BPF object, attach every program in it the way its
 * section names say (LSM, tracing: what bpftool 7.1 cannot attach), print
 * "ready" and keep them attached until killed (the kernel detaches them when
 * the process exits). bench/exec.sh's floor: bench/bpf/execfloor.bpf.c.
 */
#include <bpf/libbpf.h>
#include <stdio.h>
#include <unistd.h>

int main(int argc, char **argv)
{
	struct bpf_program *p;
	struct bpf_object *obj;

	if (argc != 2) {
		fprintf(stderr, "usage: progs OBJECT\n");
		return 2;
	}
	obj = bpf_object__open_file(argv[1], NULL);
	if (!obj || bpf_object__load(obj)) {
		fprintf(stderr, "progs: cannot load %s\n", argv[1]);
		return 1;
	}
	bpf_object__for_each_program(p, obj)
	{
		if (!bpf_program__attach(p)) {
			fprintf(stderr, "progs: cannot attach %s\n", bpf_program__name(p));
			return 1;
		}
	}
	printf("ready\n");
	fflush(stdout);
	for (;;)
		pause();
}
