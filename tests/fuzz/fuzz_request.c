// SPDX-License-Identifier: GPL-2.0-only
/*
 * libFuzzer target: control socket requests, as iotgated reads each line
 * (ig_request_parse with the daemon's own command table, root-only commands
 * included; the daemon's sources are compiled into this target for that
 * table and the handlers' accessors), then
 * the members each command's handler takes from what was let through. The
 * input is one line without its newline.
 */
#define main iotgated_main
#include "../../userspace/iotgated.c"
#undef main
#include "../../userspace/daemon/ctlsock.c"
#include "../../userspace/daemon/health.c"
#include "../../userspace/daemon/lifecycle.c"
#include "../../userspace/daemon/report.c"
#include "../../userspace/daemon/status.c"
#include "fuzz.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	size_t n = sizeof(commands) / sizeof(*commands);
	char *line = fuzz_dup(data, size), err[256];
	const struct ig_req_cmd *rc;
	struct json_object *req;

	req = ig_request_parse(line, size, commands, n, &rc, err, sizeof(err));
	if (req) {
		/* What the handlers read: a known command and only its members, of their types. */
		if (!rc || rc < commands || rc >= commands + n)
			abort();
		json_object_object_foreach(req, key, val) {
			bool known = !strcmp(key, "cmd");

			for (const struct ig_req_key *k = rc->keys; k && k->name; k++)
				known |= !strcmp(k->name, key) && json_object_is_type(val, k->type);
			if (!known)
				abort();
		}
		if (rc->keys == apply_keys && !jarg(req, "path"))
			abort(); /* required */
		jarg(req, "sig");
		jflag(req, "force");
		json_object_put(req);
	} else if (rc || !memchr(err, '\0', sizeof(err))) {
		abort();
	}
	free(line);
	return 0;
}
