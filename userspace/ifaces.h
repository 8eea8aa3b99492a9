/* SPDX-License-Identifier: GPL-2.0-only */
/*
 * The daemon's side of the interface and device rules: loads
 * bpf/ifaces.bpf.c in the tier the kernel allows, fills its maps from the
 * policy, pins maps and links under IG_PIN_DIR (a restarted daemon re-adopts
 * them and swaps its rules in without a gap), follows rtnetlink so that
 * interfaces that appear, disappear or are renamed get their rules at once,
 * watches the directories of device paths the policy names, and reports the
 * state for the status.
 */
#ifndef IG_IFACES_H
#define IG_IFACES_H

#include <json-c/json.h>
#include "diag.h"
#include "exec.h"
#include "policy.h"

struct ig_net;

/*
 * Loads and attaches the rules of p (p->net may be NULL: then nothing is
 * loaded and rules pinned by an earlier daemon are removed). tier is the
 * kernel's (ig_kernel.tier): the BPF LSM programs are tried in the full tier
 * only. Policy problems found while resolving (rule sets too large) are
 * added to d as file:line:col. p->net must stay allocated while in force
 * (see ig_net_set_policy).
 * 0, or negative errno with nothing of this call left attached.
 */
int ig_net_open(struct ig_net **out, const struct ig_policy *p, enum ig_tier tier,
		struct ig_diag *d);
/*
 * Puts the rules of another policy in force (p->net NULL: none), swapped in
 * without a gap; on failure (d says why) the rules in force stay. p->net is
 * kept (not copied): it must stay allocated while in force. A policy moved
 * by value keeps its p->net pointer, so the caller may move it afterwards.
 * d may be NULL: problems are then logged. NULL n: nothing to do.
 */
int ig_net_set_policy(struct ig_net *n, const struct ig_policy *p, struct ig_diag *d);
/* A descriptor to poll for input (stable for the handle's life): call ig_net_handle. */
int ig_net_fd(const struct ig_net *n);
/* Reads interface changes, device node changes and events. 0 or -errno. */
int ig_net_handle(struct ig_net *n);
/* Re-resolves the programs the rules name (after a manifest swap). */
int ig_net_refresh(struct ig_net *n);
/* Adds "net" to the status object and, if something is missing, reasons. */
void ig_net_status(struct ig_net *n, struct json_object *status, struct json_object *reasons);
/* Detaches the programs and removes this feature's pins. */
int ig_net_stop_enforcing(struct ig_net *n);
/* Frees the handle; pinned programs keep enforcing. NULL is fine. */
void ig_net_close(struct ig_net *n);

#endif
