// SPDX-License-Identifier: GPL-2.0-only
/*
 * libFuzzer target: control socket requests, as iotgated reads each line
 * (ig_request_parse with the daemon's own command table, ipc.h's
 * ig_commands, root-only commands included), then
 * the members each command's handler takes from what was let through. The
 * input is one line without its newline.
 */
#include <stdlib.h>
#include <string.h>
#include "ipc.h"
#include "fuzz.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	const struct ig_req_cmd *commands = ig_commands;
	size_t n = IG_NCOMMANDS;
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
		for (const struct ig_req_key *k = rc->keys; k && k->name; k++) {
			struct json_object *v;

			if (!json_object_object_get_ex(req, k->name, &v)) {
				if (k->required)
					abort();
				continue;
			}
			/* What the handlers read of it. */
			if (k->type == json_type_string)
				json_object_get_string(v);
			else
				json_object_get_boolean(v);
		}
		json_object_put(req);
	} else if (rc || !memchr(err, '\0', sizeof(err))) {
		abort();
	}
	free(line);
	return 0;
}
