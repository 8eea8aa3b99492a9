// SPDX-License-Identifier: GPL-2.0-only
/*
 * iotgatectl: the command people and scripts use to talk to iotgated.
 *   iotgatectl [--json] [--socket PATH] OBJECT COMMAND [ARGS]
 */
#include <stdarg.h>
#include <errno.h>
#include <ftw.h>
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <json-c/json.h>
#include "esc.h"
#include "hash.h"
#include "ifaces.h"
#include "ipc.h"
#include "manifest.h"
#include "policy.h"
#include "ctl.h"

static void usage(FILE *f)
{
	fprintf(f,
		"Usage: iotgatectl [--json] [--socket PATH] OBJECT COMMAND [ARGS]\n"
		"Manage the iotgate daemon.\n\n"
		"Objects and commands:\n"
		"  status                     show the device's security state (mode, tier, health, counters)\n"
		"  policy check FILE          parse a policy and its manifest, report every error\n"
		"  policy apply FILE [SIG]    verify and put a signed policy in force (root)\n"
		"  policy rollback|factory    back to the previous or the shipped policy (root)\n"
		"  manifest apply FILE [SIG]  verify and swap in a signed manifest (root)\n"
		"  manifest rollback          back to the previous policy set (root)\n"
		"  manifest create DIR...     print a sha256sum-format manifest of the regular files under DIR\n"
		"  manifest keylime-policy FILE  print a Keylime runtime policy for the manifest\n"
		"  events                     stream violations and policy changes\n"
		"  metrics [--textfile FILE]  the state in Prometheus text format (atomically into FILE)\n"
		"  check-kernel [CONFIG]      report what the kernel offers and the tier iotgate will run in\n"
		"  log [verify] [--file PATH] print the measurement log, or verify its aggregate\n"
		"  stop-enforcing             detach every iotgate program and remove the pins (root)\n\n"
		"Options:\n"
		"  -j, --json         machine-readable output (errors as {\"error\": ...})\n"
		"  -s, --socket PATH  daemon socket (default $IOTGATE_SOCKET or %s)\n"
		"  -V, --version      print the version\n"
		"  -h, --help         this help; 'iotgatectl OBJECT --help' for one object\n",
		IG_SOCKET_PATH);
}

static bool want_help(int argc, char **argv)
{
	for (int i = 0; i < argc; i++)
		if (!strcmp(argv[i], "--help") || !strcmp(argv[i], "-h"))
			return true;
	return false;
}

static int request_obj(struct json_object *req, struct json_object **reply)
{
	const char *path = ig_socket_path(sock_override);
	int ret;

	ret = ig_request(path, req, reply);
	json_object_put(req);
	if (ret == -ENOENT || ret == -ECONNREFUSED)
		return fail("iotgated is not running (no daemon listening on %s)", path);
	if (ret == -EACCES)
		return fail("permission denied on %s: root or group iotgate needed", path);
	if (ret)
		return fail("cannot talk to iotgated on %s: %s", path, strerror(-ret));
	return 0;
}

static int request(enum ig_cmd_id id, struct json_object **reply)
{
	struct json_object *req = json_object_new_object();

	json_object_object_add(req, "cmd", json_object_new_string(ig_commands[id].cmd));
	return request_obj(req, reply);
}

static const char *jstr(struct json_object *o, const char *key)
{
	struct json_object *v;

	/* A null member is "" too (json_object_get_string(NULL) is NULL). */
	return json_object_object_get_ex(o, key, &v) && v ? json_object_get_string(v) : "";
}

/*
 * A string member escaped for human output (names and paths come from
 * outside the daemon): from a few rotating buffers, enough for one printf.
 */
static const char *hstr(struct json_object *o, const char *key, enum ig_esc_style style)
{
	static char bufs[8][IG_ESC_SIZE(4096)];
	static unsigned int next;

	return ig_esc(bufs[next++ % 8], sizeof(bufs[0]), jstr(o, key), style);
}

/* ", PCR N" when the log is anchored in a TPM, else "". */
static const char *pcr_text(struct json_object *ml)
{
	static char buf[32];
	struct json_object *v;

	buf[0] = '\0';
	if (json_object_object_get_ex(ml, "pcr", &v))
		snprintf(buf, sizeof(buf), ", PCR %d", json_object_get_int(v));
	return buf;
}

/* What a violation was about: the file, or what the interface or device rules refused. */
static const char *viol_what(struct json_object *v)
{
	static char buf[2 * IG_ESC_SIZE(4096) + 8];

	if (!*jstr(v, "detail"))
		return hstr(v, "path", IG_ESC_FIELD);
	snprintf(buf, sizeof(buf), "%s by %s", hstr(v, "detail", IG_ESC_FIELD),
		 *jstr(v, "path") ? hstr(v, "path", IG_ESC_FIELD) : "program");
	return buf;
}

/* stderr lines of messages that quote input (a policy's, a request's) */
static void print_line(const char *msg)
{
	size_t size = IG_ESC_SIZE(strlen(msg));
	char *line = malloc(size);

	if (line)
		fprintf(stderr, "%s\n", ig_esc(line, size, msg, IG_ESC_LINE));
	free(line);
}

static int reply_error(struct json_object *reply)
{
	struct json_object *err;

	if (!json_object_object_get_ex(reply, "error", &err))
		return 0;
	fail("%s", json_object_get_string(err));
	return 1;
}

/* request() that also turns an {"error": ...} reply into a failure (reply freed). */
static int request_ok(enum ig_cmd_id id, struct json_object **reply)
{
	if (request(id, reply))
		return 1;
	if (reply_error(*reply)) {
		json_object_put(*reply);
		return 1;
	}
	return 0;
}

/*
 * The interfaces a declaration governs or that have a forward verdict: the
 * declaration, the default and what forwarded traffic through them gets.
 */
static void status_ifaces(struct json_object *r)
{
	struct json_object *net, *ifs, *x;

	if (!json_object_object_get_ex(r, "net", &net) ||
	    !json_object_object_get_ex(net, "interfaces", &ifs))
		return;
	for (size_t i = 0; i < json_object_array_length(ifs); i++) {
		const char *pol, *fwd;

		x = json_object_array_get_idx(ifs, i);
		pol = jstr(x, "policy");
		fwd = jstr(x, "forward");
		if (!*pol && (!*fwd || !strcmp(fwd, "none")))
			continue;
		printf("  interface: %s: ", hstr(x, "name", IG_ESC_FIELD));
		if (*pol)
			printf("rules of %s", hstr(x, "policy", IG_ESC_FIELD));
		else
			printf("not declared");
		if (json_object_get_boolean(json_object_object_get(x, "disabled")))
			printf(" (disabled)");
		printf(", default %s, forward %s", hstr(x, "default", IG_ESC_FIELD),
		       hstr(x, "forward", IG_ESC_FIELD));
		if (*jstr(x, "forward_from"))
			printf(" from %s", hstr(x, "forward_from", IG_ESC_FIELD));
		printf("\n");
	}
}

static int cmd_status(int argc, char **argv)
{
	struct json_object *r, *reasons, *hooks, *viol, *man, *pol;
	size_t n;

	if (want_help(argc, argv)) {
		printf("Usage: iotgatectl [--json] status\n"
		       "Show mode, kernel tier, health (with reasons), manifest and counters.\n");
		return 0;
	}
	if (argc > 1)
		return fail("status: unexpected argument '%s'", argv[1]);
	if (request_ok(IG_CMD_STATUS, &r))
		return 1;
	if (json_mode) {
		printf("%s\n", json_object_to_json_string_ext(r, JSON_C_TO_STRING_PRETTY |
									 JSON_C_TO_STRING_SPACED));
		json_object_put(r);
		return 0;
	}
	printf("iotgate %s on %s (daemon pid %llu, since %s)\n", hstr(r, "version", IG_ESC_TEXT),
	       hstr(r, "kernel", IG_ESC_TEXT), jnum(r, "pid"), hstr(r, "started", IG_ESC_TEXT));
	printf("  mode:      %s\n", hstr(r, "mode", IG_ESC_TEXT));
	printf("  tier:      %s\n", hstr(r, "tier", IG_ESC_TEXT));
	printf("  health:    %s\n", hstr(r, "health", IG_ESC_TEXT));
	if (json_object_object_get_ex(r, "reasons", &reasons)) {
		n = json_object_array_length(reasons);
		for (size_t i = 0; i < n; i++) {
			struct json_object *x = json_object_array_get_idx(reasons, i);

			printf("    - %s: %s\n", hstr(x, "code", IG_ESC_TEXT),
			       hstr(x, "message", IG_ESC_TEXT));
		}
	}
	if (json_object_object_get_ex(r, "hooks", &hooks)) {
		printf("  hooks:    ");
		json_object_object_foreach(hooks, key, val) {
			char k[IG_ESC_SIZE(64)];

			printf(" %s=%s", ig_esc(k, sizeof(k), key, IG_ESC_FIELD),
			       json_object_get_boolean(val) ? "attached" : "off");
		}
		printf("\n");
	}
	if (json_object_object_get_ex(r, "policy", &pol))
		printf("  policy:    %s (version %llu)\n", hstr(pol, "path", IG_ESC_FIELD),
		       jnum(pol, "version"));
	if (json_object_object_get_ex(r, "manifest", &man))
		printf("  manifest:  %s (version %llu): %llu entries, %llu verified, %llu rejected\n",
		       hstr(man, "path", IG_ESC_FIELD), jnum(man, "version"), jnum(man, "entries"),
		       jnum(man, "verified"), jnum(man, "rejected"));
	printf("  exec:      %llu allowed, %llu denied, %llu audited\n",
	       jnum(r, "counters.exec.allowed"), jnum(r, "counters.exec.denied"),
	       jnum(r, "counters.exec.audited"));
	if (json_object_object_get_ex(r, "measurement_log", &man) && *jstr(man, "attestation"))
		printf("  log:       %llu entries since boot, aggregate %.16s..., attestation: %s%s\n",
		       jnum(man, "first_entry") + jnum(man, "entries"),
		       hstr(man, "aggregate", IG_ESC_FIELD), hstr(man, "attestation", IG_ESC_FIELD),
		       pcr_text(man));
	status_ifaces(r);
	if (json_object_object_get_ex(r, "violations", &viol) &&
	    (n = json_object_array_length(viol))) {
		printf("  recent violations (%zu):\n", n);
		for (size_t i = n > 10 ? n - 10 : 0; i < n; i++) {
			struct json_object *x = json_object_array_get_idx(viol, i);

			printf("    %s %-5s %s (%s, pid %llu, uid %llu, %s)\n",
			       hstr(x, "time", IG_ESC_FIELD), hstr(x, "verdict", IG_ESC_FIELD),
			       viol_what(x), hstr(x, "comm", IG_ESC_FIELD), jnum(x, "pid"),
			       jnum(x, "uid"), hstr(x, "reason", IG_ESC_FIELD));
		}
	}
	json_object_put(r);
	return 0;
}

/* Streams violations and state changes until the daemon goes away or we are interrupted. */
static int cmd_events(int argc, char **argv)
{
	const char *path = ig_socket_path(sock_override);
	char buf[8192], line[65536], req[64];
	size_t ll = 0;
	ssize_t n;
	int fd;

	if (want_help(argc, argv)) {
		printf("Usage: iotgatectl [--json] events\n"
		       "Stream violations and policy changes as they happen (JSON lines with --json).\n"
		       "Root or group iotgate. A subscriber that does not keep up is dropped.\n");
		return 0;
	}
	if (argc > 1)
		return fail("events: unexpected argument '%s'", argv[1]);
	fd = ig_connect(path);
	if (fd == -ENOENT || fd == -ECONNREFUSED)
		return fail("iotgated is not running (no daemon listening on %s)", path);
	if (fd == -EACCES)
		return fail("permission denied on %s: root or group iotgate needed", path);
	if (fd < 0)
		return fail("cannot talk to iotgated on %s: %s", path, strerror(-fd));
	snprintf(req, sizeof(req), "{\"cmd\":\"%s\"}\n", ig_commands[IG_CMD_EVENTS].cmd);
	if (write(fd, req, strlen(req)) != (ssize_t)strlen(req))
		return fail("cannot talk to iotgated on %s: %s", path, strerror(errno));
	setvbuf(stdout, NULL, _IOLBF, 0);
	while ((n = read(fd, buf, sizeof(buf))) > 0) {
		for (ssize_t i = 0; i < n; i++) {
			struct json_object *o, *err;

			if (buf[i] != '\n') {
				if (ll < sizeof(line) - 1)
					line[ll++] = buf[i];
				continue;
			}
			line[ll] = '\0';
			ll = 0;
			o = json_tokener_parse(line);
			if (!o)
				continue;
			if (json_object_object_get_ex(o, "error", &err)) {
				fail("%s", json_object_get_string(err));
				json_object_put(o);
				close(fd);
				return 1;
			}
			if (json_mode)
				printf("%s\n", line);
			else if (!strcmp(jstr(o, "event"), "violation"))
				printf("%s %-8s %-5s %s (%s, pid %llu, uid %llu, %s)\n",
				       hstr(o, "time", IG_ESC_FIELD), hstr(o, "type", IG_ESC_FIELD),
				       hstr(o, "verdict", IG_ESC_FIELD), viol_what(o),
				       hstr(o, "comm", IG_ESC_FIELD), jnum(o, "pid"),
				       jnum(o, "uid"), hstr(o, "reason", IG_ESC_FIELD));
			else if (!strcmp(jstr(o, "event"), "policy"))
				printf("policy %s by %s: mode %s, policy version %llu, manifest version %llu\n",
				       hstr(o, "op", IG_ESC_FIELD), hstr(o, "by", IG_ESC_TEXT),
				       hstr(o, "mode", IG_ESC_FIELD), jnum(o, "policy_version"),
				       jnum(o, "manifest_version"));
			else if (!strcmp(jstr(o, "event"), "health"))
				printf("health %s%s%s\n", hstr(o, "health", IG_ESC_FIELD),
				       *jstr(o, "reason") ? ": " : "",
				       hstr(o, "reason", IG_ESC_TEXT));
			json_object_put(o);
		}
	}
	close(fd);
	return 0;
}

static int cmd_stop(int argc, char **argv)
{
	struct json_object *r;

	if (want_help(argc, argv)) {
		printf("Usage: iotgatectl stop-enforcing\n"
		       "Detach all iotgate programs, remove the pins under /sys/fs/bpf/iotgate and stop\n"
		       "the daemon. Root only; logged. Killing the daemon does NOT stop enforcement.\n");
		return 0;
	}
	if (request_ok(IG_CMD_STOP_ENFORCING, &r))
		return 1;
	if (json_mode)
		printf("%s\n", json_object_to_json_string_ext(r, JSON_C_TO_STRING_PLAIN));
	else
		printf("enforcement stopped\n");
	json_object_put(r);
	return 0;
}

/*
 * policy apply FILE [SIG] [--force], manifest apply FILE [SIG] [--force],
 * rollback, factory: sent to the daemon, which verifies and swaps.
 */
static int lifecycle(enum ig_cmd_id id, int argc, char **argv)
{
	struct json_object *req = json_object_new_object(), *r, *errs;
	const char *op = ig_commands[id].cmd;
	char *files[2] = { NULL, NULL };
	bool force = false, need_path = false, take_path = ig_cmd_takes(id, "path", &need_path);
	int nf = 0, ret;

	for (int i = 0; i < argc; i++) {
		if (!strcmp(argv[i], "--force") || !strcmp(argv[i], "-f")) {
			force = true;
			continue;
		}
		if (nf == 2 || !take_path) {
			json_object_put(req);
			free(files[0]);
			free(files[1]);
			return fail("%s: unexpected argument '%s'", op, argv[i]);
		}
		/* The daemon opens the files itself: give it absolute paths. */
		files[nf] = realpath(argv[i], NULL);
		if (!files[nf]) {
			ret = fail("%s: %s: %s", op, argv[i], strerror(errno));
			json_object_put(req);
			free(files[0]);
			return ret;
		}
		nf++;
	}
	if (need_path && !nf) {
		json_object_put(req);
		return fail("%s: expected FILE [SIG]", op);
	}
	json_object_object_add(req, "cmd", json_object_new_string(op));
	if (files[0])
		json_object_object_add(req, "path", json_object_new_string(files[0]));
	if (files[1])
		json_object_object_add(req, "sig", json_object_new_string(files[1]));
	if (force)
		json_object_object_add(req, "force", json_object_new_boolean(1));
	free(files[0]);
	free(files[1]);
	if (request_obj(req, &r))
		return 1;
	if (json_object_object_get_ex(r, "errors", &errs) && !json_mode) {
		for (size_t i = 0; i < json_object_array_length(errs); i++)
			print_line(json_object_get_string(json_object_array_get_idx(errs, i)));
		json_object_put(r);
		return 1;
	}
	if (reply_error(r)) {
		json_object_put(r);
		return 1;
	}
	if (json_mode)
		printf("%s\n", json_object_to_json_string_ext(r, JSON_C_TO_STRING_PLAIN));
	else
		printf("%s: ok: policy version %llu, manifest version %llu, %llu files verified, %llu rejected\n",
		       op, jnum(r, "policy_version"), jnum(r, "manifest_version"),
		       jnum(r, "verified"), jnum(r, "rejected"));
	json_object_put(r);
	return 0;
}

/*
 * What an apply would find besides signatures (the daemon's keys are not
 * ours): the manifest's files hashed, then the interface and device rules
 * compiled against the files that verified.
 */
static int check_set(struct ig_policy *p, struct ig_manifest *m, struct ig_diag *diag)
{
	struct ig_verified *v = calloc(m->n ? m->n : 1, sizeof(*v));
	struct ig_net_compiled comp;
	struct ig_diag rejected;
	size_t nv = 0;
	int ret;

	if (!v)
		return -ENOMEM;
	ig_diag_init(&rejected);
	ret = ig_manifest_verify(m, &p->hash_limits, v, &nv, &rejected);
	ig_diag_free(&rejected); /* not an error: apply loads the rest */
	if (!ret)
		ret = ig_net_compile(p, v, nv, &comp, diag);
	if (!ret)
		ig_net_compiled_free(&comp);
	free(v);
	return ret;
}

static int cmd_policy(int argc, char **argv)
{
	struct ig_diag diag;
	struct ig_policy p;
	struct ig_manifest m;
	int ret;

	if (argc < 2 || want_help(argc, argv)) {
		printf("Usage: iotgatectl policy check FILE\n"
		       "       iotgatectl policy apply FILE [SIG] [--force]\n"
		       "       iotgatectl policy rollback\n"
		       "       iotgatectl policy factory\n"
		       "check: parse a policy and the manifest it names, hash the manifest's files and\n"
		       "  compile the interface and device rules as apply would (signatures are the\n"
		       "  daemon's to check: iotgated --check); print every error as file:line:col.\n"
		       "apply: the daemon verifies FILE's signature (SIG, default FILE.sig) against\n"
		       "  /etc/iotgate/keys, its manifest's signature and every file's digest, refuses an\n"
		       "  older version unless --force, then swaps the kernel maps; the previous set is kept.\n"
		       "rollback: restore the previous policy and manifest. factory: the shipped policy.\n"
		       "apply, rollback and factory need root.\n");
		return argc < 2 ? 2 : 0;
	}
	if (!strcmp(argv[1], "apply"))
		return lifecycle(IG_CMD_POLICY_APPLY, argc - 2, argv + 2);
	if (!strcmp(argv[1], "rollback"))
		return lifecycle(IG_CMD_ROLLBACK, argc - 2, argv + 2);
	if (!strcmp(argv[1], "factory"))
		return lifecycle(IG_CMD_FACTORY, argc - 2, argv + 2);
	if (strcmp(argv[1], "check"))
		return fail("policy: unknown command '%s' (try 'iotgatectl policy --help')",
			    argv[1]);
	if (argc != 3)
		return fail("policy check: expected one FILE");
	ig_diag_init(&diag);
	ret = ig_policy_load(argv[2], &p, &diag);
	if (!ret) {
		ret = ig_manifest_load(p.manifest, &m, &diag);
		if (!ret) {
			ret = check_set(&p, &m, &diag);
			ig_manifest_free(&m);
		}
	}
	if (diag.n) {
		if (json_mode) {
			struct json_object *o = json_object_new_object(),
					   *a = json_object_new_array();

			for (size_t i = 0; i < diag.n; i++)
				json_object_array_add(a, json_object_new_string(diag.msgs[i]));
			json_object_object_add(o, "error", json_object_new_string(diag.msgs[0]));
			json_object_object_add(o, "errors", a);
			printf("%s\n", json_object_to_json_string_ext(o, JSON_C_TO_STRING_PLAIN));
			json_object_put(o);
		} else {
			for (size_t i = 0; i < diag.n; i++)
				print_line(diag.msgs[i]);
		}
		ig_diag_free(&diag);
		if (!ret)
			ig_policy_free(&p);
		return 1;
	}
	if (json_mode)
		printf("{\"ok\":true,\"mode\":\"%s\",\"version\":%u}\n", ig_mode_name(p.mode),
		       p.version);
	else
		printf("%s: ok (mode %s, version %u)\n", argv[2], ig_mode_name(p.mode), p.version);
	ig_policy_free(&p);
	return 0;
}

static struct {
	char **paths;
	size_t n, cap;
	int err;
} walk;

static int walk_fn(const char *path, const struct stat *st, int type, struct FTW *ftw)
{
	(void)st;
	(void)ftw;
	if (type == FTW_DNR || type == FTW_NS) {
		fail("manifest create: cannot read %s", path);
		walk.err = 1;
		return 0;
	}
	if (type != FTW_F || !S_ISREG(st->st_mode))
		return 0;
	if (walk.n == walk.cap) {
		size_t nc = walk.cap ? walk.cap * 2 : 1024;
		char **np = realloc(walk.paths, nc * sizeof(*np));

		if (!np)
			return -1;
		walk.paths = np;
		walk.cap = nc;
	}
	walk.paths[walk.n] = strdup(path);
	return walk.paths[walk.n++] ? 0 : -1;
}

static int cmp_str(const void *a, const void *b)
{
	return strcmp(*(char *const *)a, *(char *const *)b);
}

/* sha256sum(1) escaping: a leading backslash marks a name with \ or newline. */
static void print_entry(const char *hex, const char *path)
{
	bool esc = strpbrk(path, "\\\n") != NULL;

	if (esc)
		putchar('\\');
	fputs(hex, stdout);
	fputs("  ", stdout);
	for (const char *p = path; *p; p++) {
		if (esc && *p == '\\')
			fputs("\\\\", stdout);
		else if (esc && *p == '\n')
			fputs("\\n", stdout);
		else
			putchar(*p);
	}
	putchar('\n');
}

static int cmd_manifest(int argc, char **argv)
{
	struct ig_hash_job *jobs;
	char hex[IG_SHA256_HEX + 1];
	int ret = 0;

	if (argc < 2 || want_help(argc, argv)) {
		printf("Usage: iotgatectl manifest apply FILE [SIG] [--force]\n"
		       "       iotgatectl manifest rollback\n"
		       "       iotgatectl manifest create DIR|FILE...\n"
		       "       iotgatectl manifest keylime-policy MANIFEST [--boot-aggregate HEX]...\n"
		       "apply: swap in a new manifest for the active policy (signature checked with the\n"
		       "  keys the policy trusts; older versions refused unless --force). rollback: the\n"
		       "  previous policy set. Both need root.\n"
		       "Hash every regular file (on all cores) and print a manifest in sha256sum format,\n"
		       "sorted by path: the same bytes as 'find ARGS -type f | LC_ALL=C sort | xargs sha256sum'.\n"
		       "keylime-policy: a Keylime runtime policy (JSON) accepting the manifest's files as\n"
		       "  the log names them, log_hash_alg sha256, boot_aggregate zero or HEX.\n");
		return argc < 2 ? 2 : 0;
	}
	if (!strcmp(argv[1], "apply"))
		return lifecycle(IG_CMD_MANIFEST_APPLY, argc - 2, argv + 2);
	if (!strcmp(argv[1], "rollback"))
		return lifecycle(IG_CMD_ROLLBACK, argc - 2, argv + 2);
	if (!strcmp(argv[1], "keylime-policy"))
		return ctl_keylime_policy(argc - 1, argv + 1);
	if (strcmp(argv[1], "create"))
		return fail("manifest: unknown command '%s' (try 'iotgatectl manifest --help')",
			    argv[1]);
	if (argc < 3)
		return fail("manifest create: expected at least one DIR");
	for (int i = 2; i < argc; i++)
		if (nftw(argv[i], walk_fn, 32, FTW_PHYS) < 0)
			return fail("manifest create: cannot walk %s: %s", argv[i],
				    strerror(errno));
	if (walk.err)
		return 1;
	if (walk.n)
		qsort(walk.paths, walk.n, sizeof(*walk.paths), cmp_str);
	jobs = calloc(walk.n ? walk.n : 1, sizeof(*jobs));
	if (!jobs)
		return fail("out of memory");
	for (size_t i = 0; i < walk.n; i++)
		jobs[i].path = walk.paths[i];
	ig_hash_files(jobs, walk.n, 0);
	for (size_t i = 0; i < walk.n; i++) {
		if (jobs[i].err) {
			ret = fail("manifest create: cannot hash %s: %s", jobs[i].path,
				   strerror(-jobs[i].err));
			continue;
		}
		ig_hex(jobs[i].digest, IG_SHA256_LEN, hex);
		print_entry(hex, jobs[i].path);
		free(walk.paths[i]);
	}
	free(jobs);
	free(walk.paths);
	return ret;
}

/* The command line's objects; the socket commands they send are ig_commands (ipc.h). */
static const struct {
	const char *name;
	int (*run)(int argc, char **argv);
} objects[] = {
	{ "status", cmd_status },
	{ "stop-enforcing", cmd_stop },
	{ "policy", cmd_policy },
	{ "manifest", cmd_manifest },
	{ "events", cmd_events },
	{ "metrics", ctl_metrics },
	{ "check-kernel", ctl_check_kernel },
	{ "log", ctl_log },
};

int main(int argc, char **argv)
{
	static const struct option opts[] = { { "json", no_argument, NULL, 'j' },
					      { "socket", required_argument, NULL, 's' },
					      { "version", no_argument, NULL, 'V' },
					      { "help", no_argument, NULL, 'h' },
					      {} };
	const char *obj;
	int opt;

	/* '+': options after OBJECT belong to the object (e.g. 'status --json'). */
	while ((opt = getopt_long(argc, argv, "+js:Vh", opts, NULL)) != -1) {
		switch (opt) {
		case 'j':
			json_mode = true;
			break;
		case 's':
			sock_override = optarg;
			break;
		case 'V':
			printf("iotgatectl %s\n", IG_VERSION);
			return 0;
		case 'h':
			usage(stdout);
			return 0;
		default:
			usage(stderr);
			return 2;
		}
	}
	argc -= optind;
	argv += optind;
	/* Accept --json anywhere after the object too. */
	for (int i = 0; i < argc; i++)
		if (!strcmp(argv[i], "--json") || !strcmp(argv[i], "-j")) {
			json_mode = true;
			memmove(&argv[i], &argv[i + 1], (argc - i - 1) * sizeof(*argv));
			argc--;
			i--;
		}
	if (argc < 1) {
		usage(stderr);
		return 2;
	}
	obj = argv[0];
	for (size_t i = 0; i < sizeof(objects) / sizeof(objects[0]); i++)
		if (!strcmp(obj, objects[i].name))
			return objects[i].run(argc, argv);
	if (!strcmp(obj, "help")) {
		usage(stdout);
		return 0;
	}
	return fail("unknown object '%s' (see 'iotgatectl --help')", obj);
}
