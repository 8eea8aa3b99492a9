// SPDX-License-Identifier: GPL-2.0-only
/*
 * spawn: posix_spawn + waitpid of a program N times; prints the elapsed
 * nanoseconds. The exec-overhead benchmarks compare it with and without
 * iotgate in the same VM boot.
 *   spawn N PROGRAM [ARG...]
 */
#include <spawn.h>
#include <stdio.h>
#include <stdlib.h>
#include <sys/wait.h>
#include <time.h>
#include <fcntl.h>
#include <unistd.h>

extern char **environ;

int main(int argc, char **argv)
{
	posix_spawn_file_actions_t fa;
	struct timespec a, b;
	long n;

	if (argc < 3) {
		fprintf(stderr, "usage: spawn N PROGRAM [ARG...]\n");
		return 2;
	}
	n = atol(argv[1]);
	/* The program's output would cost more than the exec itself. */
	posix_spawn_file_actions_init(&fa);
	posix_spawn_file_actions_addopen(&fa, 1, "/dev/null", O_WRONLY, 0);
	posix_spawn_file_actions_addopen(&fa, 2, "/dev/null", O_WRONLY, 0);
	clock_gettime(CLOCK_MONOTONIC, &a);
	for (long i = 0; i < n; i++) {
		pid_t pid;
		int st;

		if (posix_spawn(&pid, argv[2], &fa, NULL, argv + 2, environ)) {
			perror("posix_spawn");
			return 1;
		}
		if (waitpid(pid, &st, 0) < 0 || !WIFEXITED(st)) {
			fprintf(stderr, "spawn: %s did not exit normally\n", argv[2]);
			return 1;
		}
	}
	clock_gettime(CLOCK_MONOTONIC, &b);
	printf("%lld\n", (long long)(b.tv_sec - a.tv_sec) * 1000000000LL + (b.tv_nsec - a.tv_nsec));
	return 0;
}
