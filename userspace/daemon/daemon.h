/* SPDX-License-Identifier: GPL-2.0-only */
/*
 * iotgated's own modules: the state one daemon keeps (struct daemon) and what
 * its parts call across files. main and the event loop (iotgated.c), the
 * control socket (ctlsock.c), the policy lifecycle (lifecycle.c), what the
 * kernel reports (report.c) and the status (status.c).
 */
#ifndef IG_DAEMON_H
#define IG_DAEMON_H

#include <stdbool.h>
#include <sys/types.h>
#include <time.h>
#include <json-c/json.h>
#include "diag.h"
#include "exec.h"
#include "ifaces.h"
#include "kmeasure.h"
#include "loop.h"
#include "measure.h"
#include "pset.h"
#include "violation.h"

#define LOCK_PATH IG_RUN_DIR "/iotgated.lock"
#define MAX_CLIENTS 1024
/* Connections only root may take: root always gets in. */
#define ROOT_RESERVED_CLIENTS 8
/* Connections one user other than root may hold at once. */
#define MAX_CLIENTS_PER_UID 32
/* A connection not subscribed to events is closed this long after its last request. */
#define CLIENT_IDLE_MS 10000
/* With no file descriptor left for a connection, accepting pauses this long. */
#define ACCEPT_PAUSE_MS 250
/* Refused connections are logged at most once in this long (and counted). */
#define REFUSAL_LOG_MS 10000
#define MAX_PENDING_OUT (1u << 20)
#define N_VIOLATIONS 64 /* kept per class: exec-side, and interface/device (viol_ring) */
/* A subscriber further behind than this is dropped, never waited for. */
#define MAX_SUBSCRIBER_BACKLOG (64u << 10)

struct client {
	int fd;
	int slot; /* index in daemon.clients */
	struct ig_watch w;
	struct daemon *d;
	uid_t uid;
	pid_t pid;
	bool can_read;
	char *in; /* grows with a partial line, freed when empty: idle clients cost no buffers */
	size_t inlen, incap;
	char *out; /* pending reply bytes, freed once sent */
	size_t outlen;
	bool subscribed; /* 'events': violations and state changes are pushed */
	bool closed; /* fd closed; the slot is freed after the current events (reap) */
	/*
	 * The peer stopped reading (EPIPE): replies and events are dropped, but
	 * the requests it sent before leaving are still read and carried out;
	 * the connection is closed at the end of its input.
	 */
	bool hungup;
	long long idle_deadline; /* monotonic ms: closed then unless subscribed */
};

struct daemon {
	struct ig_set set; /* the policy and manifest in force */
	time_t set_loaded; /* when, and by whom: */
	char set_loaded_by[64];
	const char *factory_path; /* --policy: the shipped policy */
	const char *state_dir;
	const char *keys_dir;
	bool allow_unsigned_policy;
	/* Sets load without a hashing pass: the kernel appraises at first use (kmeasure). */
	bool lazy;
	char appraisal_why[256]; /* why sets are hashed at load instead */
	bool active_unusable; /* state/active failed verification at start */
	struct ig_kernel k;
	struct ig_net *net; /* interface and device rules */
	const char *sock_path;
	struct ig_loop loop;
	int lfd, sigfd;
	struct ig_watch sig_w, lfd_w, kern_w, kmeas_w;
	struct client *clients[MAX_CLIENTS];
	/*
	 * The last violations, a ring per class so that a flood of one (every
	 * unlisted exec in audit mode) cannot push the other out of the status.
	 */
	struct viol_ring {
		struct ig_violation v[N_VIOLATIONS];
		unsigned int n, head;
	} viol[2];
	unsigned long long viol_seq; /* of the last one reported */
	unsigned long long viol_count[IG_VIOL_TYPES]; /* by IG_EV_* type, since start */
	gid_t iotgate_gid;
	bool have_gid;
	bool stop;
	bool changing; /* a policy change is under way (its children are being waited for) */
	time_t started;
	unsigned long long measured; /* IG_EV_MEASURE events received */
	struct ig_measure *ms; /* measurement log */
	bool log_failing; /* last log write failed (logged once per episode) */
	unsigned long long subscribers_dropped;
	int reserve_fd; /* kept open to accept (and answer) one connection at EMFILE */
	long long accept_paused_until; /* monotonic ms; 0: accepting */
	long long next_idle_check; /* monotonic ms; 0: no connection can go idle */
	unsigned int nclosed; /* slots waiting for reap() */
	unsigned long long clients_refused, clients_idle_closed;
	long long refusal_logged; /* monotonic ms of the last refusal logged */
	struct json_object *identity; /* cached "device" object */
	struct ig_kmeasure *km; /* in-kernel measurement (kmod or IMA), if available */
	bool compromised; /* the kernel no longer has what the daemon attached (health.c) */
	char compromised_why[256];
	long long next_health_check; /* monotonic ms */
	int marker_fd; /* IG_RUN_DIR/daemon.alive: this daemon runs (heartbeat) */
	char previous_daemon[16]; /* clean, killed, frozen or unclean */
	/* highest versions in force, persisted in state/version-floor (lifecycle.c) */
	unsigned int floor_policy, floor_manifest;
	bool below_floor; /* locked, and started with a set below the floor */
	struct ig_keyring *locked_keys; /* trusted keys read when lock came on, kept */
};

/* report.c */
void measure(struct daemon *d, const struct ig_event *ev);
int on_event(void *ctx, void *data, size_t size);
int on_kmeas(void *ctx, const struct ig_kmeas_event *ev);
/* The one reporter of violations (ctx: the daemon; an ig_report_fn). */
void ig_report_violation(void *ctx, const struct ig_violation *v);
void jadd_str(struct json_object *o, const char *k, const char *v);
void jadd_u64(struct json_object *o, const char *k, __u64 v);
void jadd_reason(struct json_object *arr, const char *code, const char *msg);
void iso_time(time_t t, char *buf, size_t len);

/* health.c */
/* The kernel state is checked this often (and at every status). */
#define HEALTH_CHECK_MS 1000
void health_check(struct daemon *d);
void health_tick(struct daemon *d);
void previous_daemon_start(struct daemon *d);
void previous_daemon_clean_exit(struct daemon *d);
void protect_paths(struct daemon *d);

/* status.c */
struct json_object *status_json(struct daemon *d);

/* ctlsock.c */
long long now_ms(void);
void publish(struct daemon *d, struct json_object *ev);
struct json_object *error_reply(const char *fmt, const char *arg);
void client_close(struct daemon *d, int slot);
struct client *client_live(struct daemon *d, int slot);
int client_flush(struct daemon *d, int slot);
void client_read(struct daemon *d, int slot);
void client_accept(struct daemon *d);
void reserve_fd_open(struct daemon *d);
void reap(struct daemon *d);
void timers(struct daemon *d);
int timers_timeout(struct daemon *d);
void raise_fd_limit(void);
int listen_socket(struct daemon *d);

/* lifecycle.c */
void floor_load(struct daemon *d);
void floor_update(struct daemon *d, bool lower);
void lock_keys(struct daemon *d);
bool locked(const struct daemon *d);
struct json_object *change(struct daemon *d, const char *op, const char *who,
			   struct json_object *req);
void print_diag(struct ig_diag *diag);
unsigned int cfg_flags(const struct ig_policy *p);
void log_rejected(const struct ig_set *set);
int load_set(struct daemon *d, struct ig_set *set, const char *sub, const char *policy,
	     const char *policy_sig, const char *manifest, const char *manifest_sig,
	     struct ig_diag *diag);
bool stored(struct daemon *d, const char *sub);
int rehash_set(struct daemon *d, bool in_force);
bool applied(struct daemon *d);
int store_active(struct daemon *d, const struct ig_set *set, bool keep_previous,
		 const char *origin);
int compile_set(const struct ig_set *set, struct ig_net_compiled *comp, struct ig_diag *diag);
int activate(struct daemon *d, struct ig_set *set, struct ig_net_compiled *comp, const char *who,
	     bool keep_previous, const char *origin);

#endif
