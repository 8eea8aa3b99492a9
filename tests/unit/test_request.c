// SPDX-License-Identifier: GPL-2.0-only
/* The strict request parser: every request of the control socket. */
#include <stdlib.h>
#include "ipc.h"
#include "test.h"

static const struct ig_req_key apply[] = {
	{ "path", json_type_string, true },
	{ "force", json_type_boolean, false },
	{ NULL, json_type_null, false },
};

static const struct ig_req_cmd cmds[] = {
	{ "status", NULL, false },
	{ "policy-apply", apply, true },
};

/* Parses line; returns the command's name, or NULL with the reason in err. */
static const char *req(const char *line, size_t len, char *err, size_t errlen)
{
	const struct ig_req_cmd *c;
	struct json_object *o = ig_request_parse(line, len, cmds, 2, &c, err, errlen);

	if (!o)
		return NULL;
	json_object_put(o);
	return c->cmd;
}

#define REQ(line, err) req(line, strlen(line), err, sizeof(err))

TEST(request_accepted)
{
	char err[256];

	CHECK_STR(REQ("{\"cmd\":\"status\"}", err), "status");
	CHECK_STR(REQ(" { \"cmd\" : \"status\" } \r", err), "status");
	CHECK_STR(REQ("{\"cmd\":\"policy-apply\",\"path\":\"/p\",\"force\":true}", err),
		  "policy-apply");
	CHECK_STR(REQ("{\"path\":\"/p\",\"cmd\":\"policy-apply\"}", err), "policy-apply");
}

TEST(request_duplicate_keys_refused)
{
	char err[256];

	CHECK(!REQ("{\"cmd\":\"status\",\"cmd\":\"policy-apply\",\"path\":\"/p\"}", err));
	CHECK_STR(err, "malformed request: member \"cmd\" given twice");
	/* the same name in another spelling */
	CHECK(!REQ("{\"cmd\":\"status\",\"\\u0063md\":\"status\"}", err));
	CHECK_STR(err, "malformed request: member \"cmd\" given twice");
	CHECK(!REQ("{\"cmd\":\"policy-apply\",\"path\":\"/a\",\"path\":\"/b\"}", err));
	CHECK_STR(err, "malformed request: member \"path\" given twice");
	/* json-c cuts names at a NUL: "cmd\0x" would be "cmd" again */
	CHECK(!REQ("{\"cmd\":\"status\",\"cmd\\u0000x\":\"policy-apply\"}", err));
	CHECK_STR(err, "malformed request: NUL in a member name");
	/* a duplicate inside a value is the value's (refused by type anyway) */
	CHECK(!REQ("{\"cmd\":\"status\",\"x\":{\"a\":1,\"a\":2}}", err));
	CHECK_STR(err, "unknown member \"x\" for command 'status'");
}

TEST(request_unknown_keys_and_types_refused)
{
	char err[256];

	CHECK(!REQ("{\"cmd\":\"status\",\"path\":\"/p\"}", err));
	CHECK_STR(err, "unknown member \"path\" for command 'status'");
	CHECK(!REQ("{\"cmd\":\"policy-apply\",\"path\":\"/p\",\"sig\":\"/s\"}", err));
	CHECK_STR(err, "unknown member \"sig\" for command 'policy-apply'");
	CHECK(!REQ("{\"cmd\":\"policy-apply\",\"path\":5}", err));
	CHECK_STR(err, "malformed request: member \"path\" of 'policy-apply' must be a string "
		       "without NUL");
	CHECK(!REQ("{\"cmd\":\"policy-apply\",\"path\":\"/p\",\"force\":\"yes\"}", err));
	CHECK_STR(err, "malformed request: member \"force\" of 'policy-apply' must be a boolean");
	CHECK(!REQ("{\"cmd\":\"policy-apply\",\"path\":\"/etc/x\\u0000y\"}", err));
	CHECK(strstr(err, "without NUL"));
	CHECK(!REQ("{\"cmd\":\"policy-apply\"}", err));
	CHECK_STR(err, "malformed request: 'policy-apply' needs the string member \"path\"");
	/* a name from the request is escaped in the reply */
	CHECK(!REQ("{\"cmd\":\"status\",\"a\\nb\\\\\":1}", err));
	CHECK_STR(err, "unknown member \"a\\x0ab\\\\\" for command 'status'");
}

TEST(request_cmd_must_be_a_known_string)
{
	char err[256];

	CHECK(!REQ("{\"cmd\":5}", err));
	CHECK_STR(err, "malformed request: \"cmd\" must be a string without NUL");
	CHECK(!REQ("{\"cmd\":[\"status\"]}", err));
	CHECK(!REQ("{\"cmd\":null}", err));
	CHECK(!REQ("{\"cmd\":\"status\\u0000x\"}", err));
	CHECK(!REQ("{}", err));
	CHECK_STR(err, "malformed request: missing string member \"cmd\"");
	CHECK(!REQ("{\"cmd\":\"frobnicate\"}", err));
	CHECK_STR(err, "unknown command 'frobnicate'");
}

TEST(request_malformed)
{
	static const char *const bad[] = { "",
					   "[1,2]",
					   "\"status\"",
					   "{\"cmd\":\"status\"} x",
					   "{\"cmd\":\"status\"}{}",
					   "{\"cmd\":\"status\",}",
					   "{\"cmd\":\"st\xff\"}",
					   "{\"cmd\":\"status\"" };
	char err[256];

	for (size_t i = 0; i < sizeof(bad) / sizeof(*bad); i++) {
		CHECK(!REQ(bad[i], err));
		CHECK_STR(err, "malformed request: expected one JSON object per line");
	}
	/* a NUL in the line: its length counts, not strlen */
	CHECK(!req("{\"cmd\":\"status\"}\0{}", 19, err, sizeof(err)));
}
