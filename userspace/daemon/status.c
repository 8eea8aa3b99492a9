// SPDX-License-Identifier: GPL-2.0-only
/*
 * The device's security state as the status command returns it.
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
#include <bpf/bpf.h>
#include <bpf/libbpf.h>
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
#include "violation.h"
#include "daemon.h"

/*
 * The ring of every source's violations ("violations"; the interface and
 * device ones also as "net.violations") and their count per type.
 */
static void violations_json(struct daemon *d, struct json_object *o, struct json_object *cnt,
			    struct json_object *viol)
{
	struct json_object *net = NULL, *netviol = json_object_new_array();
	struct json_object *byt = json_object_new_object();

	unsigned int i[2] = { 0, 0 };

	/* Both rings, oldest first, merged in the order they were reported. */
	while (i[0] < d->viol[0].n || i[1] < d->viol[1].n) {
		const struct ig_violation *v[2] = { NULL, NULL };
		int k;

		for (k = 0; k < 2; k++)
			if (i[k] < d->viol[k].n)
				v[k] = &d->viol[k].v[(d->viol[k].head + N_VIOLATIONS -
						      d->viol[k].n + i[k]) %
						     N_VIOLATIONS];
		k = !v[0] || (v[1] && v[1]->seq < v[0]->seq);
		i[k]++;
		json_object_array_add(viol, ig_viol_json(v[k]));
		if (k)
			json_object_array_add(netviol, ig_viol_json(v[k]));
	}
	json_object_object_add(o, "violations", viol);
	if (json_object_object_get_ex(o, "net", &net))
		json_object_object_add(net, "violations", netviol);
	else
		json_object_put(netviol);
	for (__u32 t = 1; t < IG_VIOL_TYPES; t++)
		if (strcmp(ig_viol_type_name(t), "unknown"))
			jadd_u64(byt, ig_viol_type_name(t), d->viol_count[t]);
	json_object_object_add(cnt, "violations", byt);
}

/* kernel.bpf_stats_enabled: the kernel counts the programs' runs and time. */
static bool bpf_stats_on(void)
{
	char c = '0';
	int fd = open("/proc/sys/kernel/bpf_stats_enabled", O_RDONLY | O_CLOEXEC);

	if (fd >= 0) {
		if (read(fd, &c, 1) != 1)
			c = '0';
		close(fd);
	}
	return c == '1';
}

/*
 * A program's run count and time. Self-protection refuses everyone else an
 * fd of iotgate's programs (bpftool prog show included), so the daemon says
 * what they cost.
 */
static void prog_stats(struct json_object *l, __u32 id)
{
	struct bpf_prog_info info = {};
	__u32 len = sizeof(info);
	int fd = bpf_prog_get_fd_by_id(id);

	if (fd < 0)
		return;
	if (!bpf_obj_get_info_by_fd(fd, &info, &len)) {
		const char *type = libbpf_bpf_prog_type_str(info.type);

		jadd_str(l, "prog_type", type ? type : "unknown");
		jadd_u64(l, "run_cnt", info.run_cnt);
		jadd_u64(l, "run_time_ns", info.run_time_ns);
	}
	close(fd);
}

struct json_object *status_json(struct daemon *d)
{
	struct json_object *o = json_object_new_object(), *reasons = json_object_new_array();
	struct json_object *hooks = json_object_new_object(), *pol = json_object_new_object();
	struct json_object *man = json_object_new_object(), *cnt = json_object_new_object();
	struct json_object *exec = json_object_new_object(), *viol = json_object_new_array();
	struct json_object *mmap = json_object_new_object(), *wr = json_object_new_object();
	__u64 c[IG_CNT_MAX] = { 0 };
	char hex[IG_SHA256_HEX + 1], ts[32], msg[256];
	struct utsname un;

	ig_kernel_counters(&d->k, c);
	uname(&un);
	jadd_str(o, "version", IG_VERSION);
	/* Computed once per policy: it reads sysfs and asks the NIC driver. */
	if (!d->identity)
		d->identity = ig_identity_json(d->set.policy.device_id, "");
	json_object_object_add(o, "device", json_object_get(d->identity));
	jadd_str(o, "kernel", un.release);
	jadd_str(o, "mode", ig_mode_name(d->set.policy.mode));
	jadd_str(o, "tier", ig_tier_name(d->k.tier));

	if (d->k.tier != IG_TIER_FULL)
		jadd_reason(reasons, d->k.tier == IG_TIER_KILL ? "kill_tier" : "partial_tier",
			    d->k.why_partial);
	if (d->set.rejected.n) {
		snprintf(msg, sizeof(msg),
			 "%zu manifest entries were not loaded (missing file or digest mismatch)",
			 d->set.rejected.n);
		jadd_reason(reasons, "manifest_entries_rejected", msg);
	}
	if (d->active_unusable)
		jadd_reason(
			reasons, "active_policy_unusable",
			"the applied policy set did not verify at start; the shipped policy is in force");
	if (!d->set.policy_signer[0])
		jadd_reason(reasons, "unsigned_policy",
			    "the policy in force is not signed by a trusted key");
	if (!d->set.manifest_signer[0])
		jadd_reason(reasons, "unsigned_manifest",
			    "the manifest in force is not signed by a trusted key");
	if (c[IG_CNT_EVENTS_LOST]) {
		snprintf(msg, sizeof(msg), "%llu events were lost (ring buffer full)",
			 (unsigned long long)c[IG_CNT_EVENTS_LOST]);
		jadd_reason(reasons, "events_lost", msg);
	}
	ig_net_status(d->net, o, reasons);
	if (d->km)
		ig_kmeasure_status(d->km, o);
	ig_measure_status(d->ms, o, reasons);
	if (d->below_floor)
		jadd_reason(reasons, "below_version_floor",
			    "locked device started with a policy set older than the version floor");
	health_check(d);
	if (d->compromised)
		jadd_reason(reasons, "compromised", d->compromised_why);
	jadd_str(o, "health",
		 d->compromised			   ? "compromised" :
		 json_object_array_length(reasons) ? "degraded" :
						     "ok");
	jadd_str(o, "previous_daemon", d->previous_daemon);
	json_object_object_add(o, "locked", json_object_new_boolean(locked(d)));
	{
		struct json_object *fl = json_object_new_object();

		jadd_u64(fl, "policy", d->floor_policy);
		jadd_u64(fl, "manifest", d->floor_manifest);
		json_object_object_add(o, "version_floor", fl);
	}
	json_object_object_add(o, "reasons", reasons);
	{
		/* what the full tier enforces and this one does not (iotgatectl(8)) */
		struct json_object *gaps = json_object_new_array();
		const struct ig_tier_gap *g = NULL;
		size_t ng = 0;

		if (d->k.tier == IG_TIER_KILL)
			g = ig_kill_tier_gaps(&ng);
		for (size_t i = 0; i < ng; i++)
			jadd_reason(gaps, g[i].code, g[i].what);
		json_object_object_add(o, "tier_gaps", gaps);
	}

	json_object_object_add(hooks, "exec_lsm", json_object_new_boolean(d->k.lsm_attached));
	json_object_object_add(hooks, "mmap_lsm", json_object_new_boolean(d->k.lsm_attached));
	json_object_object_add(hooks, "write_lsm", json_object_new_boolean(d->k.lsm_attached));
	json_object_object_add(hooks, "self_protect",
			       json_object_new_boolean(d->k.lsm_attached &&
						       d->set.policy.self_protect &&
						       d->set.policy.mode == IG_MODE_ENFORCE));
	json_object_object_add(hooks, "exec_tracepoint", json_object_new_boolean(d->k.tp_attached));
	json_object_object_add(hooks, "mmap_tracepoint",
			       json_object_new_boolean(d->k.kill_attached));
	json_object_object_add(hooks, "inject_tracepoint",
			       json_object_new_boolean(d->k.kill_attached));
	{
		/* the links the state check watches, as the kernel numbers them */
		struct json_object *links = json_object_new_array();
		bool stats = bpf_stats_on();

		for (size_t i = 0; i < d->k.nlinks; i++) {
			struct json_object *l = json_object_new_object();

			jadd_str(l, "hook", d->k.links[i].name);
			jadd_u64(l, "id", d->k.links[i].id);
			jadd_u64(l, "prog_id", d->k.links[i].prog_id);
			if (stats)
				prog_stats(l, d->k.links[i].prog_id);
			json_object_array_add(links, l);
		}
		json_object_object_add(hooks, "links", links);
	}
	json_object_object_add(o, "hooks", hooks);
	json_object_object_add(o, "readopted", json_object_new_boolean(d->k.readopted));

	jadd_str(pol, "path", d->set.policy.path);
	jadd_u64(pol, "version", d->set.policy.version);
	ig_hex(d->set.policy_sha256, IG_SHA256_LEN, hex);
	jadd_str(pol, "sha256", hex);
	jadd_str(pol, "signer", d->set.policy_signer);
	json_object_object_add(pol, "signed", json_object_new_boolean(d->set.policy_signer[0]));
	iso_time(d->set_loaded, ts, sizeof(ts));
	jadd_str(pol, "loaded_at", ts);
	jadd_str(pol, "loaded_by", d->set_loaded_by);
	json_object_object_add(o, "policy", pol);

	ig_hex(d->set.manifest.sha256, IG_SHA256_LEN, hex);
	jadd_str(man, "path", d->set.manifest.path);
	jadd_u64(man, "version", d->set.manifest.version);
	jadd_str(man, "sha256", hex);
	jadd_u64(man, "entries", d->set.manifest.n);
	jadd_u64(man, "verified", d->set.nverified);
	jadd_u64(man, "rejected", d->set.rejected.n);
	/* lazy: "verified" entries are listed, and hashed in the kernel at first use */
	jadd_str(man, "appraisal", d->set.lazy ? "lazy" : "at_start");
	jadd_u64(man, "hashed_at_load", d->set.nhashed);
	if (!d->set.lazy)
		jadd_str(man, "appraisal_reason", d->appraisal_why);
	jadd_str(man, "signer", d->set.manifest_signer);
	json_object_object_add(man, "signed", json_object_new_boolean(d->set.manifest_signer[0]));
	json_object_object_add(o, "manifest", man);

	jadd_u64(exec, "allowed", c[IG_CNT_EXEC_ALLOWED]);
	jadd_u64(exec, "denied", c[IG_CNT_EXEC_DENIED]);
	jadd_u64(exec, "audited", c[IG_CNT_EXEC_AUDITED]);
	json_object_object_add(cnt, "exec", exec);
	jadd_u64(mmap, "allowed", c[IG_CNT_MMAP_ALLOWED]);
	jadd_u64(mmap, "denied", c[IG_CNT_MMAP_DENIED]);
	jadd_u64(mmap, "audited", c[IG_CNT_MMAP_AUDITED]);
	json_object_object_add(cnt, "mmap", mmap);
	jadd_u64(wr, "denied", c[IG_CNT_WRITE_DENIED]);
	jadd_u64(wr, "trust_dropped", c[IG_CNT_TRUST_DROPPED]);
	json_object_object_add(cnt, "write", wr);
	jadd_u64(cnt, "self_denied", c[IG_CNT_SELF_DENIED]);
	jadd_u64(cnt, "measured", d->measured);
	jadd_u64(cnt, "events_lost", c[IG_CNT_EVENTS_LOST]);
	json_object_object_add(o, "counters", cnt);

	violations_json(d, o, cnt, viol);
	{
		unsigned int subs = 0;

		for (int i = 0; i < MAX_CLIENTS; i++)
			subs += d->clients[i] && d->clients[i]->subscribed;
		jadd_u64(o, "subscribers", subs);
		/* A policy change being verified: status answers meanwhile. */
		json_object_object_add(o, "changing", json_object_new_boolean(d->changing));
		jadd_u64(o, "subscribers_dropped", d->subscribers_dropped);
		jadd_u64(o, "connections_refused", d->clients_refused);
		jadd_u64(o, "connections_idle_closed", d->clients_idle_closed);
	}
	iso_time(d->started, ts, sizeof(ts));
	jadd_str(o, "started", ts);
	jadd_u64(o, "pid", getpid());
	return o;
}
