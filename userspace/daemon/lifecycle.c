// SPDX-License-Identifier: GPL-2.0-only
/*
 * The policy set's lifecycle: load and verify, refuse downgrades, put in
 * force, store as active (and previous) for the next start.
 */
#include <errno.h>
#include <fcntl.h>
#include <getopt.h>
#include <malloc.h>
#include <grp.h>
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

/* Members of a request that ig_request_parse() let through (so of their types). */
static const char *jarg(struct json_object *req, const char *key)
{
	struct json_object *v;

	return req && json_object_object_get_ex(req, key, &v) ? json_object_get_string(v) : NULL;
}

static bool jflag(struct json_object *req, const char *key)
{
	struct json_object *v;

	return req && json_object_object_get_ex(req, key, &v) && json_object_get_boolean(v);
}

static struct json_object *diag_reply(const struct ig_diag *diag, const char *fallback)
{
	struct json_object *o = json_object_new_object(), *a = json_object_new_array();

	jadd_str(o, "error", diag->n ? diag->msgs[0] : fallback);
	for (size_t i = 0; i < diag->n; i++)
		json_object_array_add(a, json_object_new_string(diag->msgs[i]));
	json_object_object_add(o, "errors", a);
	return o;
}

bool locked(const struct daemon *d)
{
	return d->set.policy.lock;
}

#define FLOOR_FILE "version-floor"

/* state/version-floor: "policy N manifest M", the highest versions in force. */
void floor_load(struct daemon *d)
{
	unsigned int p = 0, m = 0;
	char path[4096];
	FILE *f;

	snprintf(path, sizeof(path), "%s/" FLOOR_FILE, d->state_dir);
	f = fopen(path, "re");
	if (f) {
		if (fscanf(f, "policy %u manifest %u", &p, &m) != 2) {
			ig_err("policy", "%s: unreadable; the floor is the policy in force", path);
			p = m = 0;
		}
		fclose(f);
	}
	d->floor_policy = p;
	d->floor_manifest = m;
}

/*
 * Raises the floor to the set in force (lower: a forced downgrade, possible
 * only unlocked, sets it) and writes it atomically.
 */
void floor_update(struct daemon *d, bool lower)
{
	unsigned int p = d->set.policy.version, m = d->set.manifest.version;
	char path[4096], tmp[4200];
	FILE *f;

	if (!lower) {
		p = p > d->floor_policy ? p : d->floor_policy;
		m = m > d->floor_manifest ? m : d->floor_manifest;
	}
	if (p == d->floor_policy && m == d->floor_manifest && !lower)
		return;
	d->floor_policy = p;
	d->floor_manifest = m;
	if (mkdir(d->state_dir, 0750) && errno != EEXIST)
		return;
	snprintf(path, sizeof(path), "%s/" FLOOR_FILE, d->state_dir);
	snprintf(tmp, sizeof(tmp), "%s.tmp", path);
	f = fopen(tmp, "we");
	if (!f || fprintf(f, "policy %u manifest %u\n", p, m) < 0 || fflush(f) ||
	    fsync(fileno(f)) || fclose(f) || rename(tmp, path)) {
		ig_err("policy", "cannot write %s: %s", path, strerror(errno));
		unlink(tmp);
	}
}

/* Refuses a downgrade: 0, or an error added to diag. Locked: below the floor too. */
static int check_versions(struct daemon *d, const struct ig_set *set, bool force,
			  struct ig_diag *diag)
{
	unsigned int pv = d->set.policy.version, mv = d->set.manifest.version;

	if (force)
		return 0;
	if (locked(d)) {
		pv = pv > d->floor_policy ? pv : d->floor_policy;
		mv = mv > d->floor_manifest ? mv : d->floor_manifest;
	}
	return ig_set_check_versions(pv, mv, set, false, diag);
}

/*
 * The next policy is signed by a key the active one pins, if it pins any; a
 * locked device changes only by a signed set, and a mode change or
 * unlocking needs a policy version above the floor. 0, or an error added to
 * diag.
 */
static int check_lock(struct daemon *d, const struct ig_set *set, struct ig_diag *diag)
{
	/*
	 * Keys pinned by the active policy (policy-key): the key directory may
	 * hold others. A manifest apply keeps the active policy's bytes.
	 */
	if (d->set.policy.npolicy_keys &&
	    memcmp(set->policy_sha256, d->set.policy_sha256, sizeof(set->policy_sha256)) &&
	    !(set->policy_signer[0] && ig_policy_key_pinned(&d->set.policy, set->policy_signer))) {
		ig_diag_add(
			diag, set->policy.path, 0, 0,
			"the active policy pins the keys that may sign the next one (policy-key): %s %s",
			set->policy_signer[0] ? "signed by key" : "unsigned",
			set->policy_signer[0] ? set->policy_signer : "");
		return -EPERM;
	}
	if (!locked(d))
		return 0;
	if (!set->policy_signer[0])
		ig_diag_add(diag, set->policy.path, 0, 0,
			    "the device is locked: the policy must be signed by a trusted key");
	else if ((set->policy.mode != d->set.policy.mode || !set->policy.lock) &&
		 set->policy.version <= d->floor_policy)
		ig_diag_add(diag, set->policy.path, 0, 0,
			    "the device is locked: %s needs a policy version above %u, not %u",
			    !set->policy.lock ? "'lock off'" : "a mode change", d->floor_policy,
			    set->policy.version);
	return diag->n ? -EPERM : 0;
}

/*
 * The one path by which configuration changes, in three phases: verify
 * (load a complete set, check both signatures and every digest, refuse
 * downgrades unless forced), compile (the manifest's and the rules' map
 * entries, in memory: every policy error is found here and goes back to the
 * client as file:line:col), commit (map writes only). On any error the
 * active set stays exactly as it was. req: the request (policy-apply and
 * manifest-apply carry "path"), NULL for SIGHUP.
 */
static struct json_object *change_set(struct daemon *d, const char *op, const char *who,
				      struct json_object *req)
{
	const char *path = jarg(req, "path"), *sig = jarg(req, "sig");
	bool force = jflag(req, "force");
	char pol[4096], psig[4096];
	struct ig_net_compiled comp = { 0 };
	struct json_object *reply;
	struct ig_diag diag;
	struct ig_set set;
	int ret;

	ig_diag_init(&diag);
	if (locked(d) && (!strcmp(op, "rollback") || !strcmp(op, "factory") || force)) {
		ig_warn("policy", "%s%s by %s refused: the device is locked", op,
			force ? " --force" : "", who);
		return error_reply("%s is refused: the device is locked (lock on); apply a signed "
				   "policy with a higher version instead",
				   force ? "--force" : op);
	}
	/* A client may name any file: what is wrong, and where, but not its text. */
	diag.redact = req != NULL;
	if (!strcmp(op, "policy-apply")) {
		ret = load_set(d, &set, NULL, path, sig, NULL, NULL, &diag);
	} else if (!strcmp(op, "manifest-apply")) {
		/* The active policy with a new manifest. */
		snprintf(pol, sizeof(pol), "%s/active/policy.conf", d->state_dir);
		snprintf(psig, sizeof(psig), "%s/active/policy.conf.sig", d->state_dir);
		ret = load_set(d, &set, NULL, pol, psig, path, sig, &diag);
	} else if (!strcmp(op, "rollback")) {
		force = true; /* going back is the point */
		if (!stored(d, "previous")) {
			ig_diag_add(&diag, d->state_dir, 0, 0,
				    "no previous policy set to roll back to");
			ret = -ENOENT;
		} else {
			ret = load_set(d, &set, "previous", NULL, NULL, NULL, NULL, &diag);
		}
	} else if (!strcmp(op, "factory")) {
		force = true;
		ret = load_set(d, &set, NULL, d->factory_path, NULL, NULL, NULL, &diag);
	} else { /* reload (SIGHUP): the policy file on disk, same checks as apply */
		ret = load_set(d, &set, NULL, d->factory_path, NULL, NULL, NULL, &diag);
	}
	if (!ret) {
		ret = check_versions(d, &set, force, &diag);
		if (!ret)
			ret = check_lock(d, &set, &diag);
		if (!ret)
			ret = compile_set(&set, &comp, &diag);
		if (ret)
			ig_set_free(&set);
	}
	if (ret) {
		ig_warn("policy", "%s by %s refused: %s", op, who,
			diag.n ? diag.msgs[0] : strerror(-ret));
		reply = diag_reply(&diag, strerror(-ret));
		ig_diag_free(&diag);
		return reply;
	}
	log_rejected(&set);
	reply = json_object_new_object();
	json_object_object_add(reply, "ok", json_object_new_boolean(1));
	jadd_u64(reply, "policy_version", set.policy.version);
	jadd_u64(reply, "manifest_version", set.manifest.version);
	jadd_u64(reply, "verified", set.nverified);
	jadd_u64(reply, "rejected", set.rejected.n);
	ret = activate(d, &set, &comp, who, true,
		       !strcmp(op, "factory") || !strcmp(op, "reload") ? "file" : "applied");
	if (ret && set.source) {
		/* The kernel refused the new maps: the old set is still in force. */
		ig_err("policy", "%s by %s failed in the kernel: %s", op, who, strerror(-ret));
		json_object_put(reply);
		ig_set_free(&set);
		ig_diag_free(&diag);
		return error_reply("the kernel refused the new policy: %s", strerror(-ret));
	}
	if (ret)
		ig_warn("policy", "%s: in force, but not stored: %s", op, strerror(-ret));
	floor_update(d, force);
	lock_keys(d);
	/* links attached or removed by the change: the state check and self-protection follow */
	if (ig_kernel_protect_pins(&d->k))
		ig_warn("bpf", "cannot list the pins for self-protection");
	protect_paths(d);
	health_check(d);
	ig_info("policy", "%s by %s: policy version %u, manifest version %u, mode %s", op, who,
		d->set.policy.version, d->set.manifest.version, ig_mode_name(d->set.policy.mode));
	{
		struct json_object *e = json_object_new_object();

		jadd_str(e, "event", "policy");
		jadd_str(e, "op", op);
		jadd_str(e, "by", who);
		jadd_str(e, "mode", ig_mode_name(d->set.policy.mode));
		jadd_u64(e, "policy_version", d->set.policy.version);
		jadd_u64(e, "manifest_version", d->set.manifest.version);
		publish(d, e);
	}
	ig_diag_free(&diag);
	malloc_trim(0);
	return reply;
}

static void on_child_done(struct ig_watch *w, unsigned int events)
{
	(void)events;
	*(bool *)w->ctx = true;
}

/*
 * Until a child of the verify phase (hashing, signature checks) is gone, the
 * loop runs: status, events and the kernel's events are served meanwhile.
 * Nothing is reaped here: the caller up the stack may hold a client.
 */
static int wait_child(int fd, void *ctx)
{
	struct daemon *d = ctx;
	struct ig_watch w = { .fd = -1 };
	bool done = false;
	int ret = ig_watch_add(&d->loop, &w, fd, EPOLLIN, on_child_done, &done);

	while (!ret && !done) {
		ret = ig_loop_once(&d->loop, timers_timeout(d));
		timers(d);
	}
	ig_watch_del(&d->loop, &w);
	return ret;
}

/*
 * One change at a time: a request for another while one is being verified
 * is refused (the client may retry), never queued or nested.
 */
struct json_object *change(struct daemon *d, const char *op, const char *who,
			   struct json_object *req)
{
	struct json_object *reply;

	if (d->changing) { /* SIGHUP during a change */
		ig_warn("policy", "%s by %s refused: a policy change is in progress", op, who);
		return error_reply("busy: %s; try again", "a policy change is in progress");
	}
	d->changing = true;
	ig_isolate_set_waiter(wait_child, d);
	reply = change_set(d, op, who, req);
	ig_isolate_set_waiter(NULL, NULL);
	d->changing = false;
	return reply;
}

void print_diag(struct ig_diag *diag)
{
	for (size_t i = 0; i < diag->n; i++) {
		size_t size = IG_ESC_SIZE(strlen(diag->msgs[i]));
		char *line = malloc(size);

		if (line)
			fprintf(stderr, "%s\n", ig_esc(line, size, diag->msgs[i], IG_ESC_LINE));
		free(line);
	}
}

unsigned int cfg_flags(const struct ig_policy *p)
{
	return (p->protect ? IG_CFG_PROTECT : 0) | (p->self_protect ? IG_CFG_SELF_PROTECT : 0);
}

/*
 * Marks the manifest entries that are the daemon: its own executable, and
 * whatever file now sits at its path (an updated binary, so a restart after
 * an update is still recognized). Self-protection exempts only these.
 */
static void mark_daemon(struct ig_set *set)
{
	static char self[4096];
	static struct ig_file_key self_key;
	static bool known;
	struct ig_file_val val;

	if (!known) {
		int fd = open("/proc/self/exe", O_RDONLY | O_CLOEXEC);

		if (fd >= 0) {
			ig_file_identity(fd, &self_key, &val);
			close(fd);
		}
		if (!realpath("/proc/self/exe", self))
			self[0] = '\0';
		known = true;
	}
	for (size_t i = 0; i < set->nverified; i++) {
		struct ig_verified *v = &set->verified[i];

		if ((v->key.dev == self_key.dev && v->key.ino == self_key.ino) ||
		    !strcmp(set->manifest.e[v->entry].path, self))
			v->val.flags |= IG_FILE_F_DAEMON;
	}
}

void log_rejected(const struct ig_set *set)
{
	for (size_t i = 0; i < set->rejected.n; i++)
		ig_warn("manifest", "rejected %s", set->rejected.msgs[i]);
}

static int load_keys(struct daemon *d, struct ig_keyring **kr, struct ig_diag *diag)
{
	return ig_keyring_load(kr, d->keys_dir, NULL, 0, diag);
}

/*
 * Locked: the trusted keys are the ones read when the lock came on, kept in
 * memory; the directory is not read again until a signed policy unlocks.
 */
void lock_keys(struct daemon *d)
{
	struct ig_diag diag;

	if (!locked(d)) {
		ig_keyring_free(d->locked_keys);
		d->locked_keys = NULL;
		return;
	}
	if (d->locked_keys)
		return;
	ig_diag_init(&diag);
	if (load_keys(d, &d->locked_keys, &diag))
		d->locked_keys = NULL;
	ig_diag_free(&diag);
}

/*
 * Lazy appraisal hashes an entry at its first exec or executable mapping.
 * The programs the kernel judges by what a process already runs (the daemon,
 * allow-jit, allow-ptrace, allow-memfd) may be running before any exec of
 * theirs: their entries are hashed now, by the full pass's rules (one open,
 * in a child); one that differs (or cannot be hashed) is marked mismatched.
 */
static int appraise_named(struct ig_set *set)
{
	const __u32 named = ~(IG_FILE_F_UNAPPRAISED | IG_FILE_F_MEASURED);
	struct ig_manifest sub = set->manifest;
	struct ig_verified *out = NULL;
	size_t *idx = NULL, n = 0, nout = 0;
	int ret = -ENOMEM;

	sub.e = calloc(set->nverified + 1, sizeof(*sub.e));
	idx = calloc(set->nverified + 1, sizeof(*idx));
	out = calloc(set->nverified + 1, sizeof(*out));
	if (!sub.e || !idx || !out)
		goto out;
	for (size_t i = 0; i < set->nverified; i++) {
		const struct ig_verified *v = &set->verified[i];

		if ((v->val.flags & IG_FILE_F_UNAPPRAISED) && (v->val.flags & named)) {
			sub.e[n] = set->manifest.e[v->entry];
			idx[n++] = i;
		}
	}
	sub.n = n;
	set->nhashed += n;
	ret = n ? ig_manifest_prepare(&sub, &set->policy.hash_limits, false, out, &nout,
				      &set->rejected) :
		  0;
	for (size_t k = 0; !ret && k < nout; k++) {
		struct ig_verified *v = &set->verified[idx[out[k].entry]];

		if (v->key.dev == out[k].key.dev && v->key.ino == out[k].key.ino &&
		    v->val.ctime_sec == out[k].val.ctime_sec &&
		    v->val.ctime_nsec == out[k].val.ctime_nsec)
			v->val.flags &= ~IG_FILE_F_UNAPPRAISED;
	}
	for (size_t k = 0; k < n; k++) {
		struct ig_verified *v = &set->verified[idx[k]];

		if (v->val.flags & IG_FILE_F_UNAPPRAISED)
			v->val.flags |= IG_FILE_F_MISMATCH;
	}
out:
	free(sub.e);
	free(idx);
	free(out);
	return ret;
}

/*
 * Loads a complete, verified set: from a stored state subdirectory (sub) or
 * from a policy file (+ optional manifest/signature paths). Errors go to diag.
 */
int load_set(struct daemon *d, struct ig_set *set, const char *sub, const char *policy,
	     const char *policy_sig, const char *manifest, const char *manifest_sig,
	     struct ig_diag *diag)
{
	struct ig_set_opts o = { .allow_unsigned_policy = d->allow_unsigned_policy,
				 .policy_sig_path = policy_sig,
				 .manifest_path = manifest,
				 .manifest_sig_path = manifest_sig,
				 .lazy = d->lazy };
	struct ig_keyring *kr = NULL;
	char *dir = NULL;
	int ret;

	if (d->locked_keys) {
		o.keys = d->locked_keys;
	} else {
		ret = load_keys(d, &kr, diag);
		if (ret)
			return ret;
		o.keys = kr;
	}
	if (sub) {
		if (asprintf(&dir, "%s/%s", d->state_dir, sub) < 0)
			ret = -ENOMEM;
		else
			ret = ig_set_load_stored(set, dir, &o, diag);
		free(dir);
	} else {
		ret = ig_set_load(set, policy, &o, diag);
	}
	ig_keyring_free(kr);
	if (!ret) {
		mark_daemon(set);
		ig_policy_mark(&set->policy, &set->manifest, set->verified, set->nverified);
		set->lazy = d->lazy;
		if (d->lazy)
			ret = appraise_named(set);
		if (ret)
			ig_set_free(set);
	}
	return ret;
}

/*
 * The set was loaded for lazy appraisal, which the kernel turned out not to
 * do: the full hashing pass, and (in_force: the set is in the kernel) its
 * result in force.
 */
int rehash_set(struct daemon *d, bool in_force)
{
	struct ig_set *set = &d->set;
	int ret;

	ig_diag_free(&set->rejected);
	ig_diag_init(&set->rejected);
	ret = ig_manifest_prepare(&set->manifest, &set->policy.hash_limits, false, set->verified,
				  &set->nverified, &set->rejected);
	if (ret)
		return ret;
	set->lazy = false;
	set->nhashed = set->manifest.n;
	mark_daemon(set);
	ig_policy_mark(&set->policy, &set->manifest, set->verified, set->nverified);
	d->lazy = false;
	if (!in_force)
		return 0;
	ret = ig_kernel_set_manifest(&d->k, set->verified, set->nverified);
	if (ret)
		return ret;
	ig_kernel_commit_manifest(&d->k);
	ig_measure_set_manifest(d->ms, &set->manifest, set->verified, set->nverified);
	ig_kmeasure_set_manifest(d->km, set->verified, set->nverified);
	return 0;
}

/* Does state/<sub>/policy.conf exist? */
bool stored(struct daemon *d, const char *sub)
{
	char path[4096];

	snprintf(path, sizeof(path), "%s/%s/policy.conf", d->state_dir, sub);
	return access(path, F_OK) == 0;
}

/*
 * Was state/active put there by 'apply' or 'rollback' (it then wins over the
 * policy file at start), or is it a copy of the policy file (which then wins,
 * so that editing the file and restarting does what one expects)?
 */
bool applied(struct daemon *d)
{
	char path[4096], buf[16] = "";
	FILE *f;

	snprintf(path, sizeof(path), "%s/active/origin", d->state_dir);
	f = fopen(path, "re");
	if (!f)
		return false;
	if (!fgets(buf, sizeof(buf), f))
		buf[0] = '\0';
	fclose(f);
	return !strncmp(buf, "applied", 7);
}

static int write_origin(const char *dir, const char *origin)
{
	char path[4200];
	FILE *f;

	snprintf(path, sizeof(path), "%s/origin", dir);
	f = fopen(path, "we");
	if (!f)
		return -errno;
	fprintf(f, "%s\n", origin);
	return fclose(f) ? -errno : 0;
}

/*
 * Makes `set` the stored active set: written to state/next, then previous is
 * replaced by active and active by next (keep_previous false: previous is
 * left alone, e.g. on rollback where the caller swaps them).
 */
int store_active(struct daemon *d, const struct ig_set *set, bool keep_previous, const char *origin)
{
	char next[4096], act[4096], prev[4096], cmd[8192 + 64];
	int ret;

	snprintf(next, sizeof(next), "%s/next", d->state_dir);
	snprintf(act, sizeof(act), "%s/active", d->state_dir);
	snprintf(prev, sizeof(prev), "%s/previous", d->state_dir);
	if (mkdir(d->state_dir, 0750) && errno != EEXIST)
		return -errno;
	ret = ig_set_store(set, next);
	if (!ret)
		ret = write_origin(next, origin);
	if (ret)
		return ret;
	if (keep_previous && access(act, F_OK) == 0) {
		snprintf(cmd, sizeof(cmd), "%s.old", prev);
		if (access(prev, F_OK) == 0 && rename(prev, cmd))
			return -errno;
		if (rename(act, prev))
			return -errno;
		ig_rmtree(cmd);
	} else {
		ig_rmtree(act);
	}
	return rename(next, act) ? -errno : 0;
}

/*
 * The compile phase: the rules of a verified set as map entries, in memory,
 * against the set itself (which of its programs are measured). Errors go to
 * diag as file:line:col.
 */
int compile_set(const struct ig_set *set, struct ig_net_compiled *comp, struct ig_diag *diag)
{
	return ig_net_compile(&set->policy, set->verified, set->nverified, comp, diag);
}

/*
 * The commit phase: puts a verified and compiled set (comp, taken over) in
 * force, by map writes only: the kernel maps first (the stricter of the
 * two modes goes in first, so a moment between the two updates is never
 * more permissive than either policy), then the log index, then storage.
 */
int activate(struct daemon *d, struct ig_set *set, struct ig_net_compiled *comp, const char *who,
	     bool keep_previous, const char *origin)
{
	unsigned int mode = set->policy.mode, flags = cfg_flags(&set->policy);
	int ret;

	if (mode == IG_MODE_ENFORCE) {
		ret = ig_kernel_set_mode(&d->k, mode, flags | cfg_flags(&d->set.policy));
		if (ret) {
			ig_net_compiled_free(comp);
			return ret;
		}
	}
	ret = ig_kernel_set_manifest(&d->k, set->verified, set->nverified);
	if (!ret)
		ret = ig_kernel_set_memfd(&d->k, set->policy.memfd, set->policy.memfd_mask,
					  set->policy.nmemfd);
	if (!ret)
		ret = ig_kernel_set_mode(&d->k, mode, flags);
	if (!ret) /* after the manifest: rules name measured programs */
		ret = ig_net_set_policy(d->net, &set->policy, comp, NULL);
	else
		ig_net_compiled_free(comp);
	if (ret) {
		/* Put the old set back as it was. */
		ig_kernel_restore_manifest(&d->k);
		ig_kernel_commit_manifest(&d->k);
		ig_kernel_set_memfd(&d->k, d->set.policy.memfd, d->set.policy.memfd_mask,
				    d->set.policy.nmemfd);
		ig_kernel_set_mode(&d->k, d->set.policy.mode, cfg_flags(&d->set.policy));
		return ret;
	}
	ig_kernel_commit_manifest(&d->k);
	ig_measure_set_manifest(d->ms, &set->manifest, set->verified, set->nverified);
	ig_kmeasure_set_manifest(d->km, set->verified, set->nverified);
	ret = store_active(d, set, keep_previous, origin);
	ig_set_free(&d->set);
	ig_set_compact(set);
	d->set = *set;
	json_object_put(d->identity);
	d->identity = NULL;
	memset(set, 0, sizeof(*set));
	d->set_loaded = time(NULL);
	snprintf(d->set_loaded_by, sizeof(d->set_loaded_by), "%s", who);
	return ret;
}
