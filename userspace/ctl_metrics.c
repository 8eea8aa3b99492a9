// SPDX-License-Identifier: GPL-2.0-only
/*
 * iotgatectl metrics: the state in the Prometheus text exposition format
 * for node_exporter's textfile collector, written atomically with
 * --textfile (the shipped iotgate-metrics.timer runs it). Values that are
 * not known are not printed: when the daemon does not answer, only
 * iotgate_up 0 and the collection time are, never the last values seen.
 */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>
#include <json-c/json.h>
#include "ctl.h"
#include "esc.h"
#include "ipc.h"

/* How long a collection waits for the daemon by default (a frozen daemon is down). */
#define METRICS_TIMEOUT_MS 5000

static FILE *out;

static const char *jstr(struct json_object *o, const char *key)
{
	struct json_object *v;

	return json_object_object_get_ex(o, key, &v) ? json_object_get_string(v) : "";
}

/* A string member as a label value (from a few rotating buffers, enough for one call). */
static const char *lv(struct json_object *o, const char *key)
{
	static char bufs[4][IG_ESC_SIZE(4096)];
	static unsigned int next;

	return ig_esc(bufs[next++ % 4], sizeof(bufs[0]), jstr(o, key), IG_ESC_PROM);
}

static void head(const char *name, const char *type, const char *help)
{
	static char last[128];

	if (strcmp(last, name)) {
		fprintf(out, "# HELP %s %s\n# TYPE %s %s\n", name, help, name, type);
		snprintf(last, sizeof(last), "%s", name);
	}
}

static void metric(const char *name, const char *type, const char *help, const char *labels,
		   unsigned long long v)
{
	head(name, type, help);
	fprintf(out, "%s%s%s%s %llu\n", name, *labels ? "{" : "", labels, *labels ? "}" : "", v);
}

/* Decisions of the interface and device rules, one series per target and verdict. */
static void decisions(struct json_object *arr, const char *name, const char *label,
		      const char *help, bool dropped)
{
	static const char *const verdicts[] = { "allowed", "denied", "dropped", "audited" };
	char labels[IG_ESC_SIZE(4096) + 64];

	for (size_t i = 0; arr && i < json_object_array_length(arr); i++) {
		struct json_object *e = json_object_array_get_idx(arr, i);

		for (size_t v = 0; v < 4; v++) {
			if (!dropped && !strcmp(verdicts[v], "dropped"))
				continue;
			snprintf(labels, sizeof(labels), "%s=\"%s\",verdict=\"%s\"", label,
				 lv(e, label), verdicts[v]);
			metric(name, "counter", help, labels, jnum(e, verdicts[v]));
		}
	}
}

static void from_status(struct json_object *r)
{
	static const char *const caps[] = { "exec", "mmap" };
	static const char *const verdicts[] = { "allowed", "denied", "audited" };
	struct json_object *reasons, *net, *cnt, *arr;
	char labels[2 * IG_ESC_SIZE(4096) + 64], key[64];
	struct tm tm = { 0 };

	if (strptime(jstr(r, "started"), "%Y-%m-%dT%H:%M:%SZ", &tm))
		metric("iotgate_start_time_seconds", "gauge",
		       "When the daemon answering started (Unix time).", "",
		       (unsigned long long)timegm(&tm));
	for (size_t c = 0; c < 2; c++)
		for (size_t v = 0; v < 3; v++) {
			snprintf(labels, sizeof(labels), "capability=\"%s\",verdict=\"%s\"",
				 caps[c], verdicts[v]);
			snprintf(key, sizeof(key), "counters.%s.%s", caps[c], verdicts[v]);
			metric("iotgate_decisions_total", "counter",
			       "Code-execution decisions by capability and verdict.", labels,
			       jnum(r, key));
		}
	metric("iotgate_write_protect_total", "counter",
	       "Writes to allowlisted files: refused, or trust dropped.", "action=\"denied\"",
	       jnum(r, "counters.write.denied"));
	metric("iotgate_write_protect_total", "counter",
	       "Writes to allowlisted files: refused, or trust dropped.",
	       "action=\"trust_dropped\"", jnum(r, "counters.write.trust_dropped"));
	metric("iotgate_self_protect_denied_total", "counter",
	       "Accesses to the daemon (bpf, pins, signals, ptrace) refused.", "",
	       jnum(r, "counters.self_denied"));
	metric("iotgate_events_lost_total", "counter", "Kernel events lost (ring buffer full).", "",
	       jnum(r, "counters.events_lost"));
	if (json_object_object_get_ex(r, "net", &net) &&
	    json_object_object_get_ex(net, "counters", &cnt))
		metric("iotgate_events_lost_total", "counter",
		       "Kernel events lost (ring buffer full).", "source=\"net\"",
		       jnum(cnt, "events_lost"));
	if (json_object_object_get_ex(r, "counters", &cnt) &&
	    json_object_object_get_ex(cnt, "violations", &cnt)) {
		json_object_object_foreach(cnt, type, val) {
			snprintf(labels, sizeof(labels), "type=\"%s\"", type);
			metric("iotgate_violations_total", "counter",
			       "Violations reported, by type (exec, net, device, ...).", labels,
			       json_object_get_uint64(val));
		}
	}
	if (json_object_object_get_ex(r, "net", &net) &&
	    json_object_object_get_ex(net, "counters", &cnt)) {
		if (json_object_object_get_ex(cnt, "interfaces", &arr))
			decisions(
				arr, "iotgate_interface_decisions_total", "interface",
				"Interface-rule decisions by interface and verdict (interface \"*\": "
				"CAN or packet sockets used on every interface).",
				true);
		if (json_object_object_get_ex(cnt, "devices", &arr))
			decisions(arr, "iotgate_device_decisions_total", "device",
				  "Opens of gated devices by device and verdict.", false);
		metric("iotgate_decisions_untracked", "gauge",
		       "1 if the per-interface or per-device counters are full (new ones are not counted).",
		       "", jnum(cnt, "interfaces_untracked") || jnum(cnt, "devices_untracked"));
	}
	metric("iotgate_measurements", "gauge", "Entries in the measurement log.", "",
	       jnum(r, "measurement_log.entries"));
	snprintf(labels, sizeof(labels), "tier=\"%s\",mode=\"%s\"", lv(r, "tier"), lv(r, "mode"));
	metric("iotgate_healthy", "gauge", "1 if operating as expected, 0 if degraded.", labels,
	       !strcmp(jstr(r, "health"), "ok"));
	metric("iotgate_compromised", "gauge",
	       "1 if something the daemon attached is no longer attached (health compromised).",
	       labels, !strcmp(jstr(r, "health"), "compromised"));
	if (json_object_object_get_ex(r, "reasons", &reasons))
		for (size_t i = 0; i < json_object_array_length(reasons); i++) {
			snprintf(labels, sizeof(labels), "reason=\"%s\"",
				 lv(json_object_array_get_idx(reasons, i), "code"));
			metric("iotgate_degraded", "gauge", "Reasons the device is degraded.",
			       labels, 1);
		}
	metric("iotgate_policy_version", "gauge", "Version of the policy in force.", "",
	       jnum(r, "policy.version"));
	metric("iotgate_manifest_version", "gauge", "Version of the manifest in force.", "",
	       jnum(r, "manifest.version"));
	metric("iotgate_manifest_entries", "gauge", "Manifest entries loaded into the kernel.", "",
	       jnum(r, "manifest.verified"));
	metric("iotgate_event_subscribers_dropped_total", "counter",
	       "Event subscribers dropped for not keeping up.", "", jnum(r, "subscribers_dropped"));
}

/* Replaces path with the text atomically: a reader sees the old or the new file whole. */
static int write_textfile(const char *path, const char *text, size_t len)
{
	char tmp[4096];
	int fd, ret = 0;

	/* node_exporter reads *.prom only: the temporary name is ignored. */
	if (snprintf(tmp, sizeof(tmp), "%s.%d.tmp", path, (int)getpid()) >= (int)sizeof(tmp))
		return -ENAMETOOLONG;
	fd = open(tmp, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC | O_NOFOLLOW, 0644);
	if (fd < 0)
		return -errno;
	/* Readable by node_exporter's user whatever the umask. */
	if (fchmod(fd, 0644))
		ret = -errno;
	for (size_t done = 0; !ret && done < len;) {
		ssize_t n = write(fd, text + done, len - done);

		if (n < 0 && errno != EINTR)
			ret = -errno;
		else if (n > 0)
			done += n;
	}
	if (!ret && fsync(fd))
		ret = -errno;
	if (close(fd) && !ret)
		ret = -errno;
	if (!ret && rename(tmp, path))
		ret = -errno;
	if (ret)
		unlink(tmp);
	return ret;
}

static int usage_metrics(void)
{
	printf("Usage: iotgatectl metrics [--textfile FILE] [--timeout SECONDS]\n"
	       "Print the state in Prometheus text format. With --textfile, replace FILE\n"
	       "atomically instead (node_exporter's textfile collector; iotgate-metrics.timer).\n"
	       "iotgate_up is 0 and nothing else is reported when the daemon does not answer\n"
	       "within SECONDS (default 5); the exit status is then 1.\n");
	return 0;
}

int ctl_metrics(int argc, char **argv)
{
	const char *textfile = NULL, *path = ig_socket_path(sock_override);
	unsigned int timeout_ms = METRICS_TIMEOUT_MS;
	struct json_object *req, *r = NULL, *err;
	char *text = NULL, why[512] = "";
	size_t len = 0;
	struct timespec now;
	int ret;

	for (int i = 1; i < argc; i++) {
		if (!strcmp(argv[i], "--help") || !strcmp(argv[i], "-h"))
			return usage_metrics();
		if (!strcmp(argv[i], "--textfile") && i + 1 < argc) {
			textfile = argv[++i];
		} else if (!strcmp(argv[i], "--timeout") && i + 1 < argc) {
			char *end;
			unsigned long s = strtoul(argv[++i], &end, 10);

			if (*end || !*argv[i] || s < 1 || s > 3600)
				return fail("metrics: --timeout wants 1 to 3600 seconds, not '%s'",
					    argv[i]);
			timeout_ms = s * 1000;
		} else {
			return fail("metrics: unexpected argument '%s'", argv[i]);
		}
	}
	out = open_memstream(&text, &len);
	if (!out)
		return fail("metrics: %s", strerror(errno));
	req = json_object_new_object();
	json_object_object_add(req, "cmd", json_object_new_string(ig_commands[IG_CMD_STATUS].cmd));
	ret = ig_request_timeout(path, req, &r, timeout_ms);
	json_object_put(req);
	if (ret == -ENOENT || ret == -ECONNREFUSED)
		snprintf(why, sizeof(why), "iotgated is not running (no daemon listening on %s)",
			 path);
	else if (ret == -ETIMEDOUT)
		snprintf(why, sizeof(why), "iotgated did not answer on %s within %u s", path,
			 timeout_ms / 1000);
	else if (ret == -EACCES)
		snprintf(why, sizeof(why), "permission denied on %s: root or group iotgate needed",
			 path);
	else if (ret)
		snprintf(why, sizeof(why), "cannot talk to iotgated on %s: %s", path,
			 strerror(-ret));
	else if (json_object_object_get_ex(r, "error", &err))
		snprintf(why, sizeof(why), "%s", json_object_get_string(err));
	metric("iotgate_up", "gauge",
	       "1 if iotgated answered this collection; 0: not running or not answering (no other "
	       "iotgate values then).",
	       "", !why[0]);
	clock_gettime(CLOCK_REALTIME, &now);
	head("iotgate_collected_timestamp_seconds", "gauge",
	     "When these values were collected (Unix time); far behind time(): stale.");
	fprintf(out, "iotgate_collected_timestamp_seconds %lld.%03ld\n", (long long)now.tv_sec,
		now.tv_nsec / 1000000);
	if (!why[0])
		from_status(r);
	json_object_put(r);
	if (fclose(out)) {
		free(text);
		return fail("metrics: %s", strerror(errno));
	}
	if (textfile) {
		ret = write_textfile(textfile, text, len);
		if (ret) {
			free(text);
			return fail("metrics: cannot write %s: %s", textfile, strerror(-ret));
		}
	} else {
		fwrite(text, 1, len, stdout);
		fflush(stdout);
	}
	free(text);
	if (why[0])
		return fail("%s", why);
	return 0;
}
