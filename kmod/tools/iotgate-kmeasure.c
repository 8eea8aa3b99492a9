// SPDX-License-Identifier: GPL-2.0-only
/*
 * iotgate-kmeasure: opens the in-kernel measurement of userspace/kmeasure.c
 * on its own (without iotgated) and prints what it reports. Used by
 * tests/vm/kmod.bats and bench/kmod.sh; built by scripts/build-kmod.
 *
 *   iotgate-kmeasure [--source auto|module|ima|userspace] [--module KO]
 *                    [--count N] [--seconds S] [--status]
 *
 * Prints "source=NAME", "reason=TEXT", "ready", then one line per record:
 *   kmeas source=S hook=exec|mmap err=E digest=HEX dev=D ino=I size=N pid=P comm=C path=PATH
 * and at the end "counters calls=.. hashed=.. events=.. errors=.. lost=.."
 * (and, with --status, the status JSON). Stops after N records, S seconds,
 * or on SIGINT/SIGTERM. SIGUSR1 detaches the programs, SIGUSR2 attaches them
 * again; each signal prints "enabled=0" or "enabled=1" (bench/kmod.sh pairs
 * runs with and without them this way). Exit status 0, or 1 on errors.
 */
#include <errno.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <time.h>
#include <unistd.h>
#include "kmeasure.h"
#include "log.h"

static volatile sig_atomic_t stop;
static volatile sig_atomic_t want_enabled = 1;
static volatile sig_atomic_t toggles; /* SIGUSR1/2 received */
static long records, max_records;

static void on_signal(int sig)
{
	(void)sig;
	stop = 1;
}

static void on_toggle(int sig)
{
	want_enabled = sig == SIGUSR2;
	toggles++;
}

static int on_event(void *ctx, const struct ig_kmeas_event *ev)
{
	char hex[65];

	(void)ctx;
	for (int i = 0; i < 32; i++)
		snprintf(hex + 2 * i, 3, "%02x", ev->digest[i]);
	printf("kmeas source=%s hook=%s err=%d digest=%s dev=%llu ino=%llu size=%llu pid=%u comm=%.*s path=%.*s\n",
	       ig_kmeasure_source_name(ev->source), ev->hook == IG_KMH_EXEC ? "exec" : "mmap",
	       ev->err, hex, (unsigned long long)ev->dev, (unsigned long long)ev->ino,
	       (unsigned long long)ev->size, ev->pid, (int)sizeof(ev->comm), ev->comm,
	       (int)sizeof(ev->path), ev->path);
	fflush(stdout);
	if (max_records && ++records >= max_records)
		stop = 1;
	return 0;
}

static void usage(void)
{
	fprintf(stderr, "usage: iotgate-kmeasure [--source auto|module|ima|userspace] [--module KO]\n"
			"                        [--count N] [--seconds S] [--status]\n");
	exit(2);
}

int main(int argc, char **argv)
{
	struct ig_kmeasure_opts opts = { .only = -1 };
	struct ig_kmeasure *km;
	bool want_status = false;
	double seconds = 0;
	struct timespec t0, now;
	__u64 cnt[IG_KMC_MAX];
	int ret, efd, enabled, done = 0;

	for (int i = 1; i < argc; i++) {
		if (!strcmp(argv[i], "--source") && i + 1 < argc) {
			const char *s = argv[++i];

			if (!strcmp(s, "auto"))
				opts.only = -1;
			else if (!strcmp(s, "module"))
				opts.only = IG_KMS_MODULE;
			else if (!strcmp(s, "ima"))
				opts.only = IG_KMS_IMA;
			else if (!strcmp(s, "userspace"))
				opts.only = IG_KMS_USERSPACE;
			else
				usage();
		} else if (!strcmp(argv[i], "--module") && i + 1 < argc) {
			opts.module_path = argv[++i];
		} else if (!strcmp(argv[i], "--count") && i + 1 < argc) {
			max_records = strtol(argv[++i], NULL, 10);
		} else if (!strcmp(argv[i], "--seconds") && i + 1 < argc) {
			seconds = strtod(argv[++i], NULL);
		} else if (!strcmp(argv[i], "--status")) {
			want_status = true;
		} else {
			usage();
		}
	}
	ig_log_init("iotgate-kmeasure", IG_LOG_WARN, false);
	ig_log_libbpf();
	signal(SIGINT, on_signal);
	signal(SIGTERM, on_signal);
	signal(SIGUSR1, on_toggle);
	signal(SIGUSR2, on_toggle);

	ret = ig_kmeasure_open_opts(&km, &opts, on_event, NULL);
	if (ret < 0) {
		fprintf(stderr, "iotgate-kmeasure: %s\n", strerror(-ret));
		return 1;
	}
	printf("source=%s\nreason=%s\nready\n", ig_kmeasure_source(km), ig_kmeasure_reason(km));
	fflush(stdout);

	efd = ig_kmeasure_fd(km);
	clock_gettime(CLOCK_MONOTONIC, &t0);
	while (!stop) {
		struct epoll_event ev;
		int n = 0;

		if (efd >= 0)
			n = epoll_wait(efd, &ev, 1, 100);
		else
			usleep(100000);
		if (n < 0 && errno != EINTR) {
			perror("iotgate-kmeasure: epoll_wait");
			break;
		}
		if (n > 0 && ig_kmeasure_poll(km) < 0)
			break;
		if (toggles != done) {
			done = toggles;
			enabled = want_enabled;
			ret = ig_kmeasure_enable(km, enabled);
			printf("enabled=%d%s%s\n", enabled, ret ? " error=" : "",
			       ret ? strerror(-ret) : "");
			fflush(stdout);
		}
		clock_gettime(CLOCK_MONOTONIC, &now);
		if (seconds > 0 &&
		    (now.tv_sec - t0.tv_sec) + (now.tv_nsec - t0.tv_nsec) / 1e9 >= seconds)
			break;
	}
	ig_kmeasure_poll(km);
	ig_kmeasure_counters(km, cnt);
	printf("counters calls=%llu hashed=%llu events=%llu errors=%llu lost=%llu\n",
	       (unsigned long long)cnt[IG_KMC_CALLS], (unsigned long long)cnt[IG_KMC_HASHED],
	       (unsigned long long)cnt[IG_KMC_EVENTS], (unsigned long long)cnt[IG_KMC_ERRORS],
	       (unsigned long long)cnt[IG_KMC_LOST]);
	if (want_status) {
		struct json_object *st = json_object_new_object();

		ig_kmeasure_status(km, st);
		printf("%s\n", json_object_to_json_string_ext(st, JSON_C_TO_STRING_PLAIN));
		json_object_put(st);
	}
	fflush(stdout);
	ig_kmeasure_close(km);
	return 0;
}
