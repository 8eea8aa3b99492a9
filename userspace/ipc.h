/* SPDX-License-Identifier: GPL-2.0-only */
/*
 * The control socket protocol: one JSON object per line in each direction.
 * A request is {"cmd": NAME, ...}; a reply is an object, with an "error"
 * member on failure. See iotgated(8).
 */
#ifndef IG_IPC_H
#define IG_IPC_H

#include <stdbool.h>
#include <stddef.h>
#include <json-c/json.h>

#define IG_SOCKET_PATH "/run/iotgate/iotgate.sock"
#define IG_RUN_DIR "/run/iotgate"
#define IG_REQUEST_MAX (64 * 1024)

/* Socket path: $IOTGATE_SOCKET if set, else IG_SOCKET_PATH. */
const char *ig_socket_path(const char *override);
/* Connects, sends req, reads one reply line. 0 or negative errno; *reply owned by caller. */
int ig_request(const char *path, struct json_object *req, struct json_object **reply);
/* The same, waiting at most timeout_ms (0: no limit) for each send and read: -ETIMEDOUT. */
int ig_request_timeout(const char *path, struct json_object *req, struct json_object **reply,
		       unsigned int timeout_ms);
/* Connects only (for streaming commands). Returns fd or negative errno. */
int ig_connect(const char *path);

/* A member a request may carry besides "cmd", and the JSON type it must have. */
struct ig_req_key {
	const char *name;
	enum json_type type;
	bool required;
};

/* A command: the members it accepts (ending with a NULL name) and who may send it. */
struct ig_req_cmd {
	const char *cmd;
	const struct ig_req_key *keys;
	bool root; /* changes something: root only (else root and group iotgate) */
};

/*
 * Reads one request line strictly; every request goes through it. The line
 * must be one JSON object (json-c's strict mode, valid UTF-8) with no member
 * given twice in any spelling, a string "cmd" naming one of the n commands,
 * and only the members that command accepts, of their types. Returns the
 * object with the command in *cmd, or NULL with the reason in err (for an
 * {"error": ...} reply; names from the request in it are escaped).
 */
struct json_object *ig_request_parse(const char *line, size_t len, const struct ig_req_cmd *cmds,
				     size_t n, const struct ig_req_cmd **cmd, char *err,
				     size_t errlen);

/*
 * The socket's commands, shared by iotgated (which parses requests with the
 * table and dispatches on the id) and iotgatectl (which names them by id):
 * ig_commands[IG_CMD_x].cmd is the wire name.
 */
enum ig_cmd_id {
	IG_CMD_PING,
	IG_CMD_STATUS,
	IG_CMD_EVENTS,
	IG_CMD_POLICY_APPLY,
	IG_CMD_MANIFEST_APPLY,
	IG_CMD_ROLLBACK,
	IG_CMD_FACTORY,
	IG_CMD_STOP_ENFORCING,
	IG_NCOMMANDS
};

extern const struct ig_req_cmd ig_commands[IG_NCOMMANDS];

/* The id of a command ig_request_parse found in ig_commands. */
static inline enum ig_cmd_id ig_cmd_id(const struct ig_req_cmd *c)
{
	return (enum ig_cmd_id)(c - ig_commands);
}

/* Whether the command takes member key (and, if so, whether it must be given). */
bool ig_cmd_takes(enum ig_cmd_id id, const char *key, bool *required);

#endif
