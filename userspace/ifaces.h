/* SPDX-License-Identifier: GPL-2.0-only */
/*
 * The daemon's side of the interface and device rules: loads
 * bpf/ifaces.bpf.c in the tier the kernel allows, fills its maps from the
 * policy, pins maps and links under IG_PIN_DIR (a restarted daemon re-adopts
 * them and swaps its rules in without a gap), follows rtnetlink so that
 * interfaces that appear, disappear or are renamed get their rules at once,
 * watches the directories of device paths the policy names (both as
 * watchers of the daemon's loop, loop.h), hands every refusal to the
 * daemon's reporter, and reports the state for the status.
 */
#ifndef IG_IFACES_H
#define IG_IFACES_H

#include <json-c/json.h>
#include "diag.h"
#include "exec.h"
#include "netpolicy.h"
#include "loop.h"
#include "policy.h"
#include "violation.h"

struct ig_net;
struct ig_verified;

/*
 * A policy's interface and device rules compiled in memory, ready to be
 * written to the maps: the compile phase of a policy change (verify ->
 * compile -> commit), so that every error is found before anything is
 * written.
 */
struct ig_net_compiled {
	struct ig_np_compiled comp;
	struct ig_diag notes; /* programs not measured, device paths missing */
	struct ig_verified *measured; /* the programs the rules name found in the verified set */
	size_t nmeasured;
};

/*
 * Compiles p's rules against the system as it is now: a program is measured
 * when it is one of verified[] (same identity and ctime), i.e. the set being
 * put in force, not what the kernel holds. Errors go to err as
 * file:line:col. 0, -EINVAL (see err) or -ENOMEM.
 */
int ig_net_compile(const struct ig_policy *p, const struct ig_verified *verified, size_t nverified,
		   struct ig_net_compiled *out, struct ig_diag *err);
void ig_net_compiled_free(struct ig_net_compiled *c);

/* Where the refusals the kernel reports go (the daemon's ig_report_violation). */
typedef void (*ig_report_fn)(void *ctx, const struct ig_violation *v);

/*
 * What cannot wait while the daemon's loop is blocked on a child (hashing an
 * executable for the measurement log): following renamed, new and removed
 * interfaces and device nodes that appear. ig_net_urgent_fds gives the
 * descriptors to poll meanwhile (0: none); ig_net_urgent reads both (they
 * are non-blocking) and updates the rules.
 */
int ig_net_urgent_fds(const struct ig_net *n, int fds[2]);
void ig_net_urgent(struct ig_net *n);
/*
 * Loads and attaches the rules of p (p->net may be NULL: then nothing is
 * loaded and rules pinned by an earlier daemon are removed). tier is the
 * kernel's (ig_kernel.tier): the BPF LSM programs are tried in the full tier
 * only. Policy problems found while resolving (rule sets too large) are
 * added to d as file:line:col. p->net must stay allocated while in force
 * (see ig_net_set_policy). c: p's rules as ig_net_compile made them (taken
 * over; NULL: compiled here). The handle's descriptors are registered with
 * loop (NULL: none, for tools); each refusal is passed to report(ctx, v).
 * 0, or negative errno with nothing of this call left attached.
 */
int ig_net_open(struct ig_net **out, const struct ig_policy *p, enum ig_tier tier,
		struct ig_net_compiled *c, struct ig_loop *loop, ig_report_fn report,
		void *report_ctx, struct ig_diag *d);
/*
 * Puts the rules of another policy in force (p->net NULL: none), swapped in
 * without a gap: the commit phase, map writes only when c holds p's compiled
 * rules (taken over; NULL: compiled here, with the programs verified for the
 * rules in force). On failure (d says why) the rules in force stay. p->net is
 * kept (not copied): it must stay allocated while in force. A policy moved
 * by value keeps its p->net pointer, so the caller may move it afterwards.
 * d may be NULL: problems are then logged. NULL n: nothing to do.
 */
int ig_net_set_policy(struct ig_net *n, const struct ig_policy *p, struct ig_net_compiled *c,
		      struct ig_diag *d);
/* Adds "net" to the status object and, if something is missing, reasons. */
void ig_net_status(struct ig_net *n, struct json_object *status, struct json_object *reasons);
/* Detaches the programs and removes this feature's pins. */
int ig_net_stop_enforcing(struct ig_net *n);
/* Frees the handle; pinned programs keep enforcing. NULL is fine. */
void ig_net_close(struct ig_net *n);

#endif
