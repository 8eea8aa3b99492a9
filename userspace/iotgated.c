// SPDX-License-Identifier: GPL-2.0-only
/*
 * iotgated: verifies the manifest named by the policy, loads it into the
 * kernel, and serves the device's security state on a Unix socket.
 */
#include <errno.h>
#include <fcntl.h>
#include <getopt.h>
#include <malloc.h>
#include <grp.h>
#include <poll.h>
#include <pthread.h>
#include <signal.h>
#include <spawn.h>
#include <sys/resource.h>
#include <sys/wait.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/file.h>
#include <sys/signalfd.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <sys/utsname.h>
#include <syslog.h>
#include <time.h>
#include <unistd.h>
#include <json-c/json.h>
#include "hash.h"
#include "deviceid.h"
#include "crypto.h"
#include "esc.h"
#include "ipc.h"
#include "sdlog.h"
#include "isolate.h"
#include "exec.h"
#include "log.h"
#include "manifest.h"
#include "measlog.h"
#include "measure.h"
#include "kmeasure.h"
#include "ifaces.h"
#include "policy.h"
#include "pset.h"
#include "lex.h"
#include "daemon.h"

extern char **environ;

/* One sd_notify(3) message to $NOTIFY_SOCKET, if set (systemd's Type=notify). */
static void sd_notify(const char *msg)
{
	const char *path = getenv("NOTIFY_SOCKET");
	struct sockaddr_un sa = { .sun_family = AF_UNIX };
	socklen_t len;
	int fd;

	if (!path || (path[0] != '/' && path[0] != '@') || strlen(path) >= sizeof(sa.sun_path))
		return;
	strcpy(sa.sun_path, path);
	if (path[0] == '@')
		sa.sun_path[0] = '\0';
	len = offsetof(struct sockaddr_un, sun_path) + strlen(path);
	fd = socket(AF_UNIX, SOCK_DGRAM | SOCK_CLOEXEC, 0);
	if (fd < 0)
		return;
	sendto(fd, msg, strlen(msg), MSG_NOSIGNAL, (struct sockaddr *)&sa, len);
	close(fd);
}

/*
 * -v: the start's phases, in milliseconds since main() (monotonic), so that
 * the time to READY=1 can be taken apart in the field.
 */
static void phase_at(const char *what, const struct timespec *at)
{
	static struct timespec t0, last;
	struct timespec now;

	if (at)
		now = *at;
	else
		clock_gettime(CLOCK_MONOTONIC, &now);
	if (!t0.tv_sec && !t0.tv_nsec)
		t0 = last = now;
	if (at) { /* another thread's, which overlapped the main thread's phases */
		ig_dbg("daemon", "start: %s at %.1f ms (in parallel)", what,
		       (now.tv_sec - t0.tv_sec) * 1e3 + (now.tv_nsec - t0.tv_nsec) / 1e6);
		return;
	}
	ig_dbg("daemon", "start: %s at %.1f ms (+%.1f ms)", what,
	       (now.tv_sec - t0.tv_sec) * 1e3 + (now.tv_nsec - t0.tv_nsec) / 1e6,
	       (now.tv_sec - last.tv_sec) * 1e3 + (now.tv_nsec - last.tv_nsec) / 1e6);
	last = now;
}

/* Only the main thread logs phases (the verify thread's end is passed on). */
static void phase(const char *what)
{
	phase_at(what, NULL);
}

/*
 * The start hashes the whole manifest before READY=1, which may take longer
 * than the unit's TimeoutStartSec: while a child of the start's verify phase
 * (hashing, signature checks) runs, the timeout is extended by EXTEND_USEC, at
 * once and again every EXTEND_EVERY_MS. The hashing pass has its own deadline
 * (hash-limits in iotgate.conf(5)), so a stuck start still ends.
 */
#define EXTEND_USEC 30000000ull
#define EXTEND_EVERY_MS 10000

static int start_wait(int fd, void *ctx)
{
	struct pollfd p = { .fd = fd, .events = POLLIN };
	char msg[64];
	int r;

	(void)ctx;
	snprintf(msg, sizeof(msg), "EXTEND_TIMEOUT_USEC=%llu", EXTEND_USEC);
	do {
		sd_notify(msg);
		r = poll(&p, 1, EXTEND_EVERY_MS);
	} while (r == 0 || (r < 0 && errno == EINTR));
	return r < 0 ? -errno : 0;
}

static int take_lock(void)
{
	char buf[32];
	int fd, n;

	if (mkdir(IG_RUN_DIR, 0755) && errno != EEXIST)
		return -errno;
	fd = open(LOCK_PATH, O_RDWR | O_CREAT | O_CLOEXEC, 0644);
	if (fd < 0)
		return -errno;
	if (flock(fd, LOCK_EX | LOCK_NB) < 0) {
		n = read(fd, buf, sizeof(buf) - 1);
		buf[n > 0 ? n : 0] = '\0';
		fprintf(stderr, "iotgated: another iotgated is already running (pid %ld)\n",
			strtol(buf, NULL, 10));
		close(fd);
		return -EBUSY;
	}
	if (ftruncate(fd, 0) == 0) {
		n = snprintf(buf, sizeof(buf), "%d\n", getpid());
		if (pwrite(fd, buf, n, 0) != n)
			return -errno;
	}
	return fd; /* kept open for the daemon's lifetime */
}

static void usage(FILE *f)
{
	fprintf(f,
		"Usage: iotgated [OPTIONS]\n"
		"Load the iotgate policy into the kernel and serve the device's security state.\n\n"
		"  -p, --policy FILE   policy file (default %s/iotgate/iotgate.conf)\n"
		"  -s, --socket PATH   control socket (default %s)\n"
		"  -c, --check         verify policy and manifest, load nothing, exit\n"
		"  -v, --verbose       debug logging (libbpf messages too)\n"
		"      --syslog        log to syslog instead of stderr\n"
		"      --syslog-socket PATH  where events go as RFC 5424 messages (default /dev/log)\n"
		"      --state-dir DIR measurement log directory (default %s)\n"
		"      --log-max-bytes N  rotate the measurement log at N bytes (default 4 MiB)\n"
		"      --appraise-at-start  hash the whole manifest at start even where the\n"
		"                      kernel can appraise each file at its first use\n"
		"  -V, --version       print the version and exit\n"
		"  -h, --help          this help\n",
		IG_SYSCONFDIR, IG_SOCKET_PATH, IG_MEASLOG_DIR);
}

static void on_signal(struct ig_watch *w, unsigned int events)
{
	struct daemon *d = w->ctx;
	struct signalfd_siginfo si;

	(void)events;
	if (read(d->sigfd, &si, sizeof(si)) != sizeof(si))
		return;
	if (si.ssi_signo == SIGHUP)
		json_object_put(change(d, "reload", "SIGHUP", NULL));
	else
		d->stop = true;
}

static void on_kernel(struct ig_watch *w, unsigned int events)
{
	struct daemon *d = w->ctx;

	(void)events;
	ig_kernel_poll_events(&d->k);
}

static void on_kmeasure(struct ig_watch *w, unsigned int events)
{
	struct daemon *d = w->ctx;

	(void)events;
	ig_kmeasure_poll(d->km);
}

/* The one loop: every descriptor is a registered watcher (loop.h). */
static int event_loop(struct daemon *d)
{
	int ret = ig_watch_add(&d->loop, &d->sig_w, d->sigfd, EPOLLIN, on_signal, d);

	if (!ret)
		ret = ig_watch_add(&d->loop, &d->kern_w, ig_kernel_events_fd(&d->k), EPOLLIN,
				   on_kernel, d);
	if (!ret && d->km && ig_kmeasure_fd(d->km) >= 0)
		ret = ig_watch_add(&d->loop, &d->kmeas_w, ig_kmeasure_fd(d->km), EPOLLIN,
				   on_kmeasure, d);
	while (!ret && !d->stop) {
		ret = ig_loop_once(&d->loop, timers_timeout(d));
		timers(d);
		reap(d);
	}
	return ret;
}

/* Verify and compile (lifecycle.c): the set and its rules as map entries, or diag says why. */
static int load_compiled(struct daemon *d, const char *sub, const char *policy,
			 struct ig_net_compiled *comp, struct ig_diag *diag)
{
	int ret = load_set(d, &d->set, sub, policy, NULL, NULL, NULL, diag);

	if (ret)
		return ret;
	ret = compile_set(&d->set, comp, diag);
	if (ret)
		ig_set_free(&d->set);
	return ret;
}

/*
 * The start: the set's verify phase (keys, both signatures, the manifest's
 * identities or digests, the rules compiled) runs in a thread while the main
 * thread has the kernel load and verify the BPF programs. These are the two
 * long parts of a start and neither needs the other; the set is needed only
 * once the programs are loaded, to fill the maps before anything is attached
 * (ig_kernel_open_src), so READY=1 still means enforcement is attached.
 */
struct start {
	struct daemon *d;
	const char *policy_path;
	const char *state_dir;
	unsigned long log_max;
	struct ig_net_compiled comp;
	struct ig_kernel_config kcfg;
	pthread_t thread;
	bool running; /* the thread was started and not joined yet */
	bool prepared; /* start_prepare ran (its result in ret) */
	bool sock_open; /* the control socket listens */
	struct timespec verified_at; /* when the verify phase ended */
	struct timespec measured_at; /* when the measurement log was open */
	int ret; /* the verify phase's, then start_prepare's result */
	/*
	 * The measurement log's opening (its chain checked, a TPM read) needs
	 * neither the set nor the programs: a thread of its own beside the
	 * verify phase, joined by it (start_measure).
	 */
	pthread_t ms_thread;
	bool ms_running;
	int ms_ret;
	/*
	 * The measurement source's programs, loaded in a thread of their own
	 * while the exec programs are attached and the interface programs
	 * loaded (full tier): their verification was the last long part of a
	 * start in series. Attached later, after the exec programs.
	 */
	pthread_t km_thread;
	bool km_running;
	struct ig_kmeasure_opts km_opts; /* km_opts' fds: dups, the thread's */
	__u32 km_manifest_id; /* the ig_manifest map the programs share */
	struct ig_kmeasure *km;
	int km_ret;
};

/* libcrypto works (its checks run in children: isolate.h); 0 or -errno, logged. */
static int crypto_ok(void)
{
	char why[256];
	int ret = ig_crypto_probe(why, sizeof(why));

	if (ret)
		ig_err("crypto", "%s", why);
	return ret;
}

/* The verify phase: the applied set, else the shipped one; 0 or -errno. */
static int start_verify(struct start *st)
{
	struct daemon *d = st->d;
	struct ig_diag diag;
	int ret = 0;

	ig_diag_init(&diag);
	/* What was last applied (state/active) wins over the shipped policy. */
	if (stored(d, "active") && applied(d)) {
		ret = load_compiled(d, "active", NULL, &st->comp, &diag);
		if (ret) {
			print_diag(&diag);
			ig_diag_free(&diag);
			ig_diag_init(&diag);
			ig_err("policy",
			       "the applied policy in %s/active does not verify; using the shipped policy %s",
			       st->state_dir, st->policy_path);
			d->active_unusable = true;
		} else {
			snprintf(d->set_loaded_by, sizeof(d->set_loaded_by), "%s/active",
				 st->state_dir);
		}
	}
	if (!d->set.source) {
		ret = load_compiled(d, NULL, st->policy_path, &st->comp, &diag);
		print_diag(&diag);
		if (!ret)
			snprintf(d->set_loaded_by, sizeof(d->set_loaded_by), "start (%s)",
				 st->policy_path);
	}
	ig_diag_free(&diag);
	clock_gettime(CLOCK_MONOTONIC, &st->verified_at);
	return ret;
}

static void *measure_thread(void *arg)
{
	struct start *st = arg;

	st->ms_ret = ig_measure_open(&st->d->ms, st->state_dir, st->log_max);
	return NULL;
}

/* The measurement log's opening starts; start_measure_join ends it. */
static void start_measure_open(struct start *st)
{
	st->ms_running = !pthread_create(&st->ms_thread, NULL, measure_thread, st);
	if (!st->ms_running) /* no thread: in the verify phase */
		measure_thread(st);
}

static int start_measure_join(struct start *st)
{
	if (st->ms_running) {
		pthread_join(st->ms_thread, NULL);
		st->ms_running = false;
	}
	return st->ms_ret;
}

/*
 * The measurement log, open (its chain checked) and told the set: it needs
 * the set, not the programs, so it is part of the verify phase.
 */
static int start_measure(struct start *st)
{
	struct daemon *d = st->d;
	int ret;

	/* The log never blocks enforcement: a failure here is reported as degraded. */
	ret = start_measure_join(st);
	if (!d->ms)
		return ret ? ret : -ENOMEM;
	if (ret)
		ig_err("measure", "cannot open the measurement log in %s: %s", st->state_dir,
		       strerror(-ret));
	ret = ig_measure_set_manifest(d->ms, &d->set.manifest, d->set.verified, d->set.nverified);
	clock_gettime(CLOCK_MONOTONIC, &st->measured_at);
	return ret;
}

/*
 * The whole verify phase: the set, the measurement log. Every start runs
 * libcrypto (the policy's digest at least), so libcrypto is probed for its
 * own message only when the set failed: a child of its own at every start
 * cost ~0.1 s under emulation.
 */
static int start_verify_all(struct start *st)
{
	int ret = start_verify(st);

	if (ret) {
		start_measure_join(st);
		crypto_ok();
	} else {
		ret = start_measure(st);
	}
	return ret;
}

static void *start_thread(void *arg)
{
	struct start *st = arg;

	st->ret = start_verify_all(st);
	return NULL;
}

/*
 * What follows the verify phase, before the set goes into the kernel: the
 * version floor, the measurement log, the event loop and the control
 * socket. 0, or -errno (logged here) and the start ends.
 */
static int start_prepare(struct start *st)
{
	struct daemon *d = st->d;
	sigset_t mask;
	int ret;

	log_rejected(&d->set);
	floor_load(d);
	if (locked(d) && (d->set.policy.version < d->floor_policy ||
			  d->set.manifest.version < d->floor_manifest)) {
		/* the pinned enforcement stays; the state says the set is older than it may be */
		ig_err("policy",
		       "locked device: policy set below the version floor (policy %u, "
		       "manifest %u)",
		       d->floor_policy, d->floor_manifest);
		d->below_floor = true;
	}
	floor_update(d, false);
	lock_keys(d);
	d->set_loaded = time(NULL);
	sigemptyset(&mask);
	sigaddset(&mask, SIGTERM);
	sigaddset(&mask, SIGINT);
	sigaddset(&mask, SIGHUP);
	sigprocmask(SIG_BLOCK, &mask, NULL);
	signal(SIGPIPE, SIG_IGN);
	d->sigfd = signalfd(-1, &mask, SFD_CLOEXEC);
	if (d->sigfd < 0 || ig_loop_init(&d->loop)) {
		ret = errno ? -errno : -EIO;
		ig_err("daemon", "cannot set up the event loop: %s", strerror(-ret));
		return ret;
	}
	raise_fd_limit();
	d->reserve_fd = -1;
	d->marker_fd = -1;
	reserve_fd_open(d);
	ret = listen_socket(d);
	if (ret) {
		ig_err("socket", "cannot listen on %s: %s", d->sock_path, strerror(-ret));
		return ret;
	}
	st->sock_open = true;
	phase("socket listening");
	st->kcfg.mode = d->set.policy.mode;
	st->kcfg.flags = cfg_flags(&d->set.policy);
	st->kcfg.memfd = d->set.policy.memfd;
	st->kcfg.memfd_mask = d->set.policy.memfd_mask;
	st->kcfg.nmemfd = d->set.policy.nmemfd;
	return 0;
}

/* Waits for the verify thread, if it runs; its result is in st->ret. */
static void start_join(struct start *st)
{
	if (!st->running)
		return;
	pthread_join(st->thread, NULL);
	st->running = false;
	phase_at("policy set verified and compiled", &st->verified_at);
	if (!st->ret)
		phase_at("measurement log open", &st->measured_at);
}

static void *km_thread(void *arg)
{
	struct start *st = arg;

	st->km_ret = ig_kmeasure_prepare(&st->km, &st->km_opts, on_kmeas, st->d);
	if (st->km_opts.lazy) {
		close(st->km_opts.manifest_fd);
		close(st->km_opts.cfg_fd);
	}
	return NULL;
}

/* Full tier, exec programs loaded: the measurement source's load starts beside the rest. */
static void km_start_load(struct start *st)
{
	struct daemon *d = st->d;
	int mfd, cfd;

	if (d->k.tier != IG_TIER_FULL || !d->k.skel)
		return;
	st->km_opts.only = -1;
	st->km_opts.lazy = d->lazy;
	if (d->lazy) {
		ig_kernel_manifest_fds(&d->k, &mfd, &cfd);
		st->km_manifest_id = ig_kernel_manifest_id(&d->k);
		st->km_opts.manifest_fd = fcntl(mfd, F_DUPFD_CLOEXEC, 3);
		st->km_opts.cfg_fd = fcntl(cfd, F_DUPFD_CLOEXEC, 3);
		if (st->km_opts.manifest_fd < 0 || st->km_opts.cfg_fd < 0) {
			if (st->km_opts.manifest_fd >= 0)
				close(st->km_opts.manifest_fd);
			if (st->km_opts.cfg_fd >= 0)
				close(st->km_opts.cfg_fd);
			return;
		}
	}
	st->km_running = !pthread_create(&st->km_thread, NULL, km_thread, st);
	if (!st->km_running && d->lazy) {
		close(st->km_opts.manifest_fd);
		close(st->km_opts.cfg_fd);
	}
}

/*
 * The measurement source: the one loaded beside the rest if it was loaded
 * for what is in force now (the full tier's maps), else opened here.
 */
static int km_open(struct start *st, const struct ig_kmeasure_opts *ko)
{
	struct daemon *d = st->d;

	if (st->km_running) {
		pthread_join(st->km_thread, NULL);
		st->km_running = false;
		phase("measurement programs loaded (beside the rest)");
		if (!st->km_ret && st->km && st->km_opts.lazy == ko->lazy &&
		    (!ko->lazy || st->km_manifest_id == ig_kernel_manifest_id(&d->k))) {
			d->km = st->km;
			return ig_kmeasure_start(d->km);
		}
		ig_kmeasure_close(st->km);
		st->km = NULL;
	}
	return ig_kmeasure_open_opts(&d->km, ko, on_kmeas, d);
}

/* ig_kernel_src: the set, once verified and prepared; the same answer every call. */
static int start_get(void *ctx, struct ig_kernel_config *cfg, const struct ig_verified **v,
		     size_t *n)
{
	struct start *st = ctx;

	if (!st->prepared) {
		phase("exec programs loaded");
		start_join(st);
		if (!st->ret)
			st->ret = start_prepare(st);
		st->prepared = true;
		if (!st->ret)
			km_start_load(st);
	}
	if (st->ret)
		return st->ret;
	*cfg = st->kcfg;
	*v = st->d->set.verified;
	*n = st->d->set.nverified;
	return 0;
}

int main(int argc, char **argv)
{
	static const struct option opts[] = { { "policy", required_argument, NULL, 'p' },
					      { "socket", required_argument, NULL, 's' },
					      { "check", no_argument, NULL, 'c' },
					      { "verbose", no_argument, NULL, 'v' },
					      { "syslog", no_argument, NULL, 'S' },
					      { "syslog-socket", required_argument, NULL, 'Y' },
					      { "version", no_argument, NULL, 'V' },
					      { "help", no_argument, NULL, 'h' },
					      { "state-dir", required_argument, NULL, 'D' },
					      { "log-max-bytes", required_argument, NULL, 'L' },
					      { "keys-dir", required_argument, NULL, 'K' },
					      { "allow-unsigned-policy", no_argument, NULL, 'U' },
					      { "appraise-at-start", no_argument, NULL, 'A' },
					      {} };
	const char *state_dir = IG_MEASLOG_DIR;
	unsigned long log_max = 0;
	char *end;
	const char *policy_path = IG_SYSCONFDIR "/iotgate/iotgate.conf";
	bool check = false, verbose = false, use_syslog = false, at_start = false;
	struct ig_net_compiled comp = { 0 };
	struct start st = { 0 };
	struct ig_diag diag;
	struct daemon *d;
	int opt, ret, lockfd;

	d = calloc(1, sizeof(*d));
	if (!d)
		return 1;
	d->sig_w.fd = d->lfd_w.fd = d->kern_w.fd = d->kmeas_w.fd = -1;
	d->sock_path = ig_socket_path(NULL);
	d->keys_dir = IG_KEYS_DIR;
	while ((opt = getopt_long(argc, argv, "p:s:cvVh", opts, NULL)) != -1) {
		switch (opt) {
		case 'p':
			policy_path = optarg;
			break;
		case 's':
			d->sock_path = optarg;
			break;
		case 'c':
			check = true;
			break;
		case 'v':
			verbose = true;
			break;
		case 'Y':
			ig_sdlog_socket(optarg);
			break;
		case 'S':
			use_syslog = true;
			break;
		case 'D':
			state_dir = optarg;
			break;
		case 'K':
			d->keys_dir = optarg;
			break;
		case 'U':
			d->allow_unsigned_policy = true;
			break;
		case 'A':
			at_start = true;
			break;
		case 'L':
			errno = 0;
			log_max = strtoul(optarg, &end, 10);
			if (errno || *end || log_max < 4096) {
				fprintf(stderr,
					"iotgated: --log-max-bytes needs a number of bytes >= 4096, not '%s'\n",
					optarg);
				return 2;
			}
			break;
		case 'V':
			printf("iotgated %s\n", IG_VERSION);
			return 0;
		case 'h':
			usage(stdout);
			return 0;
		default:
			usage(stderr);
			return 2;
		}
	}
	if (optind < argc) {
		fprintf(stderr, "iotgated: unexpected argument '%s' (see --help)\n", argv[optind]);
		return 2;
	}
	ig_log_init("iotgated", verbose ? IG_LOG_DEBUG : IG_LOG_INFO, use_syslog);
	ig_log_libbpf();
	phase("main");
	d->factory_path = policy_path;
	d->state_dir = state_dir;
	ig_diag_init(&diag);
	/* OpenSSL's footprint stays in short-lived children (isolate.h). */
	ig_isolate_set(true);

	if (check) {
		if (crypto_ok())
			return 1;
		/* Verify and compile, as an apply would; nothing is loaded. */
		ret = load_compiled(d, NULL, policy_path, &comp, &diag);
		ig_net_compiled_free(&comp);
		print_diag(&diag);
		if (!ret)
			printf("%s: ok: mode %s, %zu of %zu manifest entries verified, %s\n",
			       policy_path, ig_mode_name(d->set.policy.mode), d->set.nverified,
			       d->set.manifest.n, d->set.policy_signer[0] ? "signed" : "unsigned");
		return ret ? 1 : 0;
	}
	if (geteuid() != 0) {
		fprintf(stderr,
			"iotgated: must run as root: it loads BPF programs into the kernel\n");
		return 1;
	}
	ret = ig_kernel_check_bpffs();
	if (ret) {
		fprintf(stderr,
			"iotgated: no BPF filesystem at /sys/fs/bpf (mount it with 'mount -t bpf bpf /sys/fs/bpf')\n");
		return 1;
	}
	lockfd = take_lock();
	if (lockfd < 0) {
		if (lockfd != -EBUSY)
			fprintf(stderr, "iotgated: cannot lock %s: %s\n", LOCK_PATH,
				strerror(-lockfd));
		return 1;
	}
	/* Under systemd, the start timeout is extended while the start hashes and checks. */
	if (getenv("NOTIFY_SOCKET"))
		ig_isolate_set_waiter(start_wait, NULL);
	/*
	 * Where the kernel hashes (kmeasure), the manifest is appraised at first
	 * use instead of hashed here: enforcement starts once it is parsed.
	 */
	if (at_start)
		snprintf(d->appraisal_why, sizeof(d->appraisal_why), "--appraise-at-start");
	else
		d->lazy = ig_kmeasure_can_hash(d->appraisal_why, sizeof(d->appraisal_why)) == 1;
	phase("lock taken, appraisal chosen");
	st.d = d;
	st.policy_path = policy_path;
	st.state_dir = state_dir;
	st.log_max = log_max;
	start_measure_open(&st);
	st.running = !pthread_create(&st.thread, NULL, start_thread, &st);
	if (!st.running) /* no thread: one after the other */
		st.ret = start_verify_all(&st);
	{
		struct ig_kernel_src src = { .get = start_get, .ctx = &st };

		ret = ig_kernel_open_src(&d->k, &src, on_event, d);
	}
	/* The load failed before it needed the set: the verify phase ends first. */
	start_join(&st);
	if (st.ret) {
		/* nothing attached, nothing this start created left pinned */
		if (st.sock_open)
			unlink(d->sock_path);
		return 1;
	}
	if (ret == -EAGAIN && d->set.lazy) {
		snprintf(d->appraisal_why, sizeof(d->appraisal_why),
			 "the BPF LSM programs were refused: the kernel does not appraise");
		ret = rehash_set(d, false);
		if (!ret) {
			log_rejected(&d->set);
			ret = ig_kernel_open(&d->k, &st.kcfg, d->set.verified, d->set.nverified,
					     on_event, d);
		}
	}
	if (ret) {
		ig_err("bpf", "cannot load the BPF programs: %s", strerror(-ret));
		if (st.sock_open)
			unlink(d->sock_path);
		return 1;
	}
	phase("exec programs loaded, maps filled, attached");
	{
		struct ig_diag nd;

		ig_diag_init(&nd);
		ret = ig_net_open(&d->net, &d->set.policy, d->k.tier, &st.comp, &d->loop,
				  ig_report_violation, d, &nd);
		print_diag(&nd);
		ig_diag_free(&nd);
		if (ret) {
			ig_err("net", "cannot load the interface and device rules: %s",
			       strerror(-ret));
			ig_kernel_close(&d->k);
			ig_measure_close(d->ms);
			unlink(d->sock_path);
			return 1;
		}
	}
	phase("interface programs loaded and attached");
	/* The best measurement source: kmod kfunc, then bpf_ima_file_hash, then ours. */
	{
		struct ig_kmeasure_opts ko = { .only = -1, .lazy = d->lazy && d->k.lsm_attached };

		ig_kernel_manifest_fds(&d->k, &ko.manifest_fd, &ko.cfg_fd);
		ret = km_open(&st, &ko);
	}
	ig_kmeasure_set_manifest(d->km, d->set.verified, d->set.nverified);
	if (d->lazy && !ig_kmeasure_lazy(d->km)) {
		int r;

		snprintf(d->appraisal_why, sizeof(d->appraisal_why),
			 "the kernel does not hash files here (measure source %s)",
			 ig_kmeasure_source(ret < 0 ? NULL : d->km));
		r = rehash_set(d, true);
		if (r) {
			ig_err("manifest", "cannot hash the manifest: %s", strerror(-r));
			return 1;
		}
		log_rejected(&d->set);
	}
	/* Appraised at first use (or hashed) from here: the configured mode holds. */
	{
		int r = ig_kernel_release_mode(&d->k);

		if (r) {
			ig_err("bpf", "cannot put mode %s in force: %s",
			       ig_mode_name(d->set.policy.mode), strerror(-r));
			return 1;
		}
	}
	phase("measurement programs loaded and attached");
	ig_measure_set_kernel_hashes(d->ms,
				     d->km && ig_kmeasure_source_id(d->km) != IG_KMS_USERSPACE);
	if (ret < 0) {
		ig_warn("measure", "in-kernel measurement unavailable: %s", strerror(-ret));
		d->km = NULL;
	} else if (*ig_kmeasure_reason(d->km)) {
		ig_info("measure", "source %s: %s", ig_kmeasure_source(d->km),
			ig_kmeasure_reason(d->km));
	}
	d->started = time(NULL);
	/*
	 * Loading parsed the kernel's BTF (megabytes, freed by libbpf) and hashed
	 * the manifest: give that memory back, the daemon lives long.
	 */
	malloc_trim(0);
	/* Everything is pinned now: list it for self-protection. */
	ret = ig_kernel_protect_pins(&d->k);
	if (ret)
		ig_warn("bpf", "cannot list the pins for self-protection: %s", strerror(-ret));
	protect_paths(d);
	previous_daemon_start(d);
	health_tick(d);
	if (!applied(d) || d->active_unusable) {
		ret = store_active(d, &d->set, stored(d, "active") && applied(d), "file");
		if (ret)
			ig_warn("policy", "cannot store the policy set in %s/active: %s", state_dir,
				strerror(-ret));
	}
	phase("pins protected, set stored");
	ig_set_compact(&d->set);
	malloc_trim(0);
	ig_info("daemon", "mode %s, tier %s, %zu of %zu manifest entries loaded%s",
		ig_mode_name(d->set.policy.mode), ig_tier_name(d->k.tier), d->set.nverified,
		d->set.manifest.n, d->k.readopted ? ", pinned state re-adopted" : "");
	if (d->k.tier != IG_TIER_FULL)
		ig_warn("daemon", "degraded: %s", d->k.why_partial);
	ig_isolate_set_waiter(NULL, NULL);
	phase("READY=1");
	sd_notify("READY=1");

	ret = event_loop(d);
	if (!ret)
		previous_daemon_clean_exit(d);
	for (int i = 0; i < MAX_CLIENTS; i++)
		client_close(d, i);
	reap(d);
	unlink(d->sock_path);
	ig_kmeasure_close(d->km);
	ig_net_close(d->net);
	ig_kernel_close(&d->k);
	ig_measure_close(d->ms);
	ig_set_free(&d->set);
	close(lockfd);
	free(d);
	return ret ? 1 : 0;
}
