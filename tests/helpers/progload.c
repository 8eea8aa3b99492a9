// SPDX-License-Identifier: GPL-2.0-only
/*
 * progload: does the running kernel accept every BPF program of these objects?
 *
 *   progload [-v] [--expect-fail-type TYPE[,TYPE...]] OBJ.bpf.o...
 *
 * Each program of each object is loaded on its own: the object is opened
 * again with only that program set to autoload (its maps are created as well,
 * as the daemon would create them). Maps whose size is left to the loader
 * (max_entries 0), outer or inner, get the smallest valid one. Weak kfunc
 * externs whose module is absent are left unresolved, as the daemon's loads
 * leave them; the verifier accepts that only where the call is dead code.
 * One line per program:
 *
 *   ok OBJ PROG (SEC)
 *   FAIL OBJ PROG (SEC): REASON
 *       ...the last lines of the verifier log (else of libbpf's messages)
 *   refused OBJ PROG (SEC): REASON (expected on this kernel)
 *
 * A failure is "refused" when the program's type (libbpf's name for it: lsm,
 * tracing, cgroup_skb, ...) or its section's prefix (lsm.s, tp_btf, iter, ...)
 * is one of the --expect-fail-type TYPEs. -v passes libbpf's own messages to
 * stderr (-vv its debug messages too).
 *
 * Exit status: 0 when every program loaded or was refused as expected, 1 when
 * any other program failed, 2 for a usage error or an object that cannot be
 * opened (one line on stderr: "progload: ...").
 */
#include <errno.h>
#include <getopt.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <bpf/bpf.h>
#include <bpf/libbpf.h>

#define LOG_SIZE (1 << 20)
#define LOG_SIZE_MAX (64 << 20)
#define TAIL_LINES 8

static int verbose;
static const char *expect_types = "";

/* libbpf's warnings during the current load, for a failure without a verifier log */
static char msgs[16384];
static size_t msgs_len;

static int libbpf_print(enum libbpf_print_level level, const char *fmt, va_list ap)
{
	va_list aq;
	int n;

	if (verbose > (level == LIBBPF_DEBUG)) {
		va_copy(aq, ap);
		vfprintf(stderr, fmt, aq);
		va_end(aq);
	}
	if (level != LIBBPF_WARN || msgs_len >= sizeof(msgs) - 1)
		return 0;
	n = vsnprintf(msgs + msgs_len, sizeof(msgs) - msgs_len, fmt, ap);
	if (n > 0)
		msgs_len += n;
	if (msgs_len >= sizeof(msgs))
		msgs_len = sizeof(msgs) - 1; /* truncated */
	return 0;
}

static const char *errstr(int err, char *buf, size_t size)
{
	libbpf_strerror(err, buf, size);
	return buf;
}

/* Is WORD (LEN bytes) one of the comma-separated --expect-fail-type entries? */
static bool listed(const char *word, size_t len)
{
	const char *p = expect_types, *end;

	while (*p) {
		end = strchrnul(p, ',');
		if ((size_t)(end - p) == len && !strncmp(p, word, len))
			return true;
		p = *end ? end + 1 : end;
	}
	return false;
}

static bool expected(const struct bpf_program *prog)
{
	const char *type = libbpf_bpf_prog_type_str(bpf_program__type(prog));
	const char *sec = bpf_program__section_name(prog);

	return (type && listed(type, strlen(type))) || listed(sec, strcspn(sec, "/"));
}

/*
 * max_entries 0 means "set by the loader": the smallest valid size for a map
 * of TYPE, or 0 where it must stay 0 (or libbpf sizes it).
 */
static __u32 loader_size(enum bpf_map_type type)
{
	switch ((int)type) {
	case BPF_MAP_TYPE_SK_STORAGE:
	case BPF_MAP_TYPE_INODE_STORAGE:
	case BPF_MAP_TYPE_TASK_STORAGE:
	case 32: /* BPF_MAP_TYPE_CGRP_STORAGE (6.2), newer than Debian 12's uapi headers */
	case BPF_MAP_TYPE_CGROUP_STORAGE:
	case BPF_MAP_TYPE_PERCPU_CGROUP_STORAGE:
	case BPF_MAP_TYPE_PERF_EVENT_ARRAY:
	case BPF_MAP_TYPE_STRUCT_OPS:
		return 0;
	case BPF_MAP_TYPE_RINGBUF:
	case BPF_MAP_TYPE_USER_RINGBUF:
		return getpagesize();
	default:
		return 1;
	}
}

#define MAX_INNER 64

/* Maps created here to stand for inner maps; closed after the load. */
struct inner_fds {
	int fd[MAX_INNER];
	int n;
};

/*
 * An inner map left to the loader is made here and handed to its outer map
 * (libbpf 1.1 cannot resize the template it made from the object's BTF).
 */
static int make_inner(struct bpf_map *outer, struct bpf_map *inner, struct inner_fds *fds)
{
	LIBBPF_OPTS(bpf_map_create_opts, opts, .map_flags = bpf_map__map_flags(inner));
	int fd, ret;

	if (fds->n == MAX_INNER)
		return -E2BIG;
	fd = bpf_map_create(bpf_map__type(inner), "progload_inner", bpf_map__key_size(inner),
			    bpf_map__value_size(inner), loader_size(bpf_map__type(inner)), &opts);
	if (fd < 0)
		return fd;
	ret = bpf_map__set_inner_map_fd(outer, fd);
	if (ret) {
		close(fd);
		return ret;
	}
	fds->fd[fds->n++] = fd;
	return 0;
}

static int size_maps(struct bpf_object *obj, struct inner_fds *fds)
{
	struct bpf_map *map, *inner;
	__u32 n;
	int ret = 0;

	bpf_object__for_each_map(map, obj)
	{
		n = loader_size(bpf_map__type(map));
		if (!bpf_map__max_entries(map) && n)
			ret = bpf_map__set_max_entries(map, n);
		/* the template of a map-in-map's inner maps, else NULL */
		inner = bpf_map__inner_map(map);
		if (!ret && inner && !bpf_map__max_entries(inner) &&
		    loader_size(bpf_map__type(inner)))
			ret = make_inner(map, inner, fds);
		if (ret)
			return ret;
	}
	return 0;
}

/* Prints the last TAIL_LINES non-empty lines of TEXT, indented. */
static void print_tail(const char *text)
{
	const char *p, *end;
	int skip = -TAIL_LINES;

	for (p = text; *p; p = *end ? end + 1 : end) {
		end = strchrnul(p, '\n');
		skip += end > p;
	}
	for (p = text; *p; p = *end ? end + 1 : end) {
		end = strchrnul(p, '\n');
		if (end > p && skip-- <= 0)
			printf("    %.*s\n", (int)(end - p), p);
	}
}

struct result {
	char name[128];
	char sec[128];
	bool expected; /* its type is listed in --expect-fail-type */
	int err; /* 0 or the load's negative error */
	char *log; /* verifier log, asked for by libbpf after a first failed load */
};

/* Opens PATH with only its program number IDX set to load and loads it once. */
static int load_once(const char *path, int idx, struct result *r, size_t log_size)
{
	struct bpf_program *prog, *target = NULL;
	struct inner_fds fds = { .n = 0 };
	struct bpf_object *obj;
	int i = 0, ret;

	obj = bpf_object__open_file(path, NULL);
	if (!obj)
		return -errno;
	bpf_object__for_each_program(prog, obj)
	{
		if (i++ == idx)
			target = prog;
		bpf_program__set_autoload(prog, prog == target);
	}
	if (!target) {
		bpf_object__close(obj);
		return -ENOENT;
	}
	snprintf(r->name, sizeof(r->name), "%s", bpf_program__name(target));
	snprintf(r->sec, sizeof(r->sec), "%s", bpf_program__section_name(target));
	r->expected = expected(target);
	r->log[0] = '\0';
	ret = bpf_program__set_log_buf(target, r->log, log_size) ?: size_maps(obj, &fds);
	r->err = ret ?: bpf_object__load(obj);
	bpf_object__close(obj);
	while (fds.n)
		close(fds.fd[--fds.n]);
	return 0;
}

/* Loads program number IDX of PATH into R. Returns 0 or negative errno (not the load's). */
static int load_prog(const char *path, int idx, struct result *r)
{
	size_t log_size = LOG_SIZE;
	int ret;

	for (;;) {
		r->log = malloc(log_size);
		if (!r->log)
			return -ENOMEM;
		msgs_len = 0;
		msgs[0] = '\0';
		ret = load_once(path, idx, r, log_size);
		/* A full log makes the kernel answer ENOSPC: again, with room for all of it. */
		if (ret || r->err != -ENOSPC || strlen(r->log) + 1 < log_size ||
		    log_size >= LOG_SIZE_MAX)
			return ret;
		free(r->log);
		log_size *= 8;
	}
}

/* Loads each program of PATH. Returns 0, 1 (a program failed unexpectedly) or 2. */
static int check_object(const char *path)
{
	struct bpf_program *prog;
	struct bpf_object *obj;
	struct result r;
	int n = 0, ret = 0, err;
	char buf[128];

	obj = bpf_object__open_file(path, NULL);
	if (!obj) {
		err = -errno;
		fprintf(stderr, "progload: %s: cannot open as a BPF object: %s\n", path,
			errstr(err, buf, sizeof(buf)));
		return 2;
	}
	bpf_object__for_each_program(prog, obj)
	{
		n++;
	}
	bpf_object__close(obj);
	if (!n) {
		fprintf(stderr, "progload: %s: no BPF programs in it\n", path);
		return 2;
	}
	for (int idx = 0; idx < n; idx++) {
		memset(&r, 0, sizeof(r));
		err = load_prog(path, idx, &r);
		if (err) {
			fprintf(stderr, "progload: %s: program %d: %s\n", path, idx,
				errstr(err, buf, sizeof(buf)));
			ret = 2;
		} else if (!r.err) {
			printf("ok %s %s (%s)\n", path, r.name, r.sec);
		} else if (r.expected) {
			printf("refused %s %s (%s): %s (expected on this kernel)\n", path, r.name,
			       r.sec, errstr(r.err, buf, sizeof(buf)));
		} else {
			printf("FAIL %s %s (%s): %s\n", path, r.name, r.sec,
			       errstr(r.err, buf, sizeof(buf)));
			print_tail(r.log[0] ? r.log : msgs);
			ret = ret ?: 1;
		}
		free(r.log);
	}
	return ret;
}

static void usage(void)
{
	fprintf(stderr, "usage: progload [-v] [--expect-fail-type TYPE[,TYPE...]] OBJ.bpf.o...\n");
}

int main(int argc, char **argv)
{
	static const struct option longopts[] = {
		{ "expect-fail-type", required_argument, NULL, 'x' },
		{ "verbose", no_argument, NULL, 'v' },
		{ "help", no_argument, NULL, 'h' },
		{},
	};
	int c, ret = 0, r;

	while ((c = getopt_long(argc, argv, "vh", longopts, NULL)) != -1) {
		switch (c) {
		case 'x':
			expect_types = optarg;
			break;
		case 'v':
			verbose++;
			break;
		case 'h':
			usage();
			return 0;
		default:
			usage();
			return 2;
		}
	}
	if (optind >= argc) {
		usage();
		return 2;
	}
	setvbuf(stdout, NULL, _IOLBF, 0);
	libbpf_set_print(libbpf_print);
	for (; optind < argc; optind++) {
		r = check_object(argv[optind]);
		if (r > ret)
			ret = r;
	}
	return ret;
}
