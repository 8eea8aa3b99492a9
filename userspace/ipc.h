/* SPDX-License-Identifier: GPL-2.0-only */
/*
 * The control socket protocol: one JSON object per line in each direction.
 * A request is {"cmd": NAME, ...}; a reply is an object, with an "error"
 * member on failure. See iotgated(8).
 */
#ifndef IG_IPC_H
#define IG_IPC_H

#include <json-c/json.h>

#define IG_SOCKET_PATH "/run/iotgate/iotgate.sock"
#define IG_RUN_DIR "/run/iotgate"
#define IG_REQUEST_MAX (64 * 1024)

/* Socket path: $IOTGATE_SOCKET if set, else IG_SOCKET_PATH. */
const char *ig_socket_path(const char *override);
/* Connects, sends req, reads one reply line. 0 or negative errno; *reply owned by caller. */
int ig_request(const char *path, struct json_object *req, struct json_object **reply);
/* Connects only (for streaming commands). Returns fd or negative errno. */
int ig_connect(const char *path);

#endif
