// SPDX-License-Identifier: GPL-2.0-only
/*
 * kmod-exec: exec and mmap load for tests/vm/kmod.bats and bench/kmod.sh.
 *
 *   kmod-exec loop N FILE [ARG...]     N execs of FILE one after the other;
 *                                      prints "execs=N failed=F ns_per_exec=X"
 *   kmod-exec times N FILE [ARG...]    the same, printing each exec's time in ns
 *                                      on a line of its own
 *   kmod-exec burst N P FILE [ARG...]  N execs of FILE by P processes released
 *                                      together; prints "execs=N failed=F seconds=S"
 *   kmod-exec mmapx PATH...            open each PATH (O_RDONLY|O_NONBLOCK) and map
 *                                      it PROT_READ|PROT_EXEC; prints "PATH ok" or
 *                                      "PATH errno=NAME"
 * An exec fails when it cannot start or its status is not 0. Exit status 0
 * when nothing failed, else 1; 2 on bad usage.
 */
#include <errno.h>
#include <fcntl.h>
#include <spawn.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

extern char **environ;

static double now(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return ts.tv_sec + ts.tv_nsec / 1e9;
}

/* Runs argv[0] n times, printing each run's ns if each_ns; returns how many failed. */
static long run_n(long n, char **argv, bool each_ns)
{
	long failed = 0;

	for (long i = 0; i < n; i++) {
		double t0 = now();
		pid_t pid;
		int st;

		if (posix_spawn(&pid, argv[0], NULL, NULL, argv, environ)) {
			failed++;
			continue;
		}
		if (waitpid(pid, &st, 0) < 0 || !WIFEXITED(st) || WEXITSTATUS(st))
			failed++;
		if (each_ns)
			printf("%.0f\n", (now() - t0) * 1e9);
	}
	return failed;
}

static int loop(long n, char **argv)
{
	double t0 = now(), t;
	long failed = run_n(n, argv, false);

	t = now() - t0;
	printf("execs=%ld failed=%ld ns_per_exec=%.0f\n", n, failed, n ? t * 1e9 / n : 0.0);
	return failed ? 1 : 0;
}

static int burst(long n, long p, char **argv)
{
	int go[2], res[2];
	long failed = 0;
	double t0;

	if (p < 1 || pipe(go) || pipe(res))
		return 2;
	for (long w = 0; w < p; w++) {
		long share = n / p + (w < n % p);
		pid_t pid = fork();
		char c;

		if (pid < 0) {
			perror("kmod-exec: fork");
			return 1;
		}
		if (pid)
			continue;
		close(go[1]);
		close(res[0]);
		/* Wait for the start: the parent closes the write end. */
		while (read(go[0], &c, 1) < 0 && errno == EINTR)
			;
		share = run_n(share, argv, false);
		if (write(res[1], &share, sizeof(share)) != sizeof(share))
			_exit(1);
		_exit(0);
	}
	close(go[0]);
	close(res[1]);
	t0 = now();
	close(go[1]);
	for (long w = 0; w < p; w++) {
		long f;

		if (read(res[0], &f, sizeof(f)) == sizeof(f))
			failed += f;
		else
			failed += n / p;
	}
	while (wait(NULL) > 0)
		;
	printf("execs=%ld failed=%ld seconds=%.3f\n", n, failed, now() - t0);
	return failed ? 1 : 0;
}

static int mmapx(int argc, char **argv)
{
	int bad = 0;

	for (int i = 0; i < argc; i++) {
		int fd = open(argv[i], O_RDONLY | O_NONBLOCK | O_CLOEXEC);
		void *p = MAP_FAILED;

		if (fd >= 0) {
			p = mmap(NULL, 4096, PROT_READ | PROT_EXEC, MAP_PRIVATE, fd, 0);
			if (p != MAP_FAILED)
				munmap(p, 4096);
		}
		if (p == MAP_FAILED) {
			printf("%s errno=%s\n", argv[i], strerrorname_np(errno));
			bad = 1;
		} else {
			printf("%s ok\n", argv[i]);
		}
		if (fd >= 0)
			close(fd);
	}
	return bad;
}

int main(int argc, char **argv)
{
	if (argc >= 4 && !strcmp(argv[1], "loop"))
		return loop(atol(argv[2]), argv + 3);
	if (argc >= 4 && !strcmp(argv[1], "times"))
		return run_n(atol(argv[2]), argv + 3, true) ? 1 : 0;
	if (argc >= 5 && !strcmp(argv[1], "burst"))
		return burst(atol(argv[2]), atol(argv[3]), argv + 4);
	if (argc >= 3 && !strcmp(argv[1], "mmapx"))
		return mmapx(argc - 2, argv + 2);
	fprintf(stderr, "usage: kmod-exec loop|times N FILE [ARG...] | burst N P FILE [ARG...] | "
			"mmapx PATH...\n");
	return 2;
}
