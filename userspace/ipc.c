// SPDX-License-Identifier: GPL-2.0-only
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/time.h>
#include <sys/un.h>
#include <unistd.h>
#include "esc.h"
#include "ipc.h"

const char *ig_socket_path(const char *override)
{
	const char *env = getenv("IOTGATE_SOCKET");

	if (override)
		return override;
	return env && *env ? env : IG_SOCKET_PATH;
}

int ig_connect(const char *path)
{
	struct sockaddr_un sa = { .sun_family = AF_UNIX };
	int fd;

	if (strlen(path) >= sizeof(sa.sun_path))
		return -ENAMETOOLONG;
	strcpy(sa.sun_path, path);
	fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
	if (fd < 0)
		return -errno;
	if (connect(fd, (struct sockaddr *)&sa, sizeof(sa)) < 0) {
		int ret = -errno;

		close(fd);
		return ret;
	}
	return fd;
}

static int write_all(int fd, const char *buf, size_t len)
{
	while (len) {
		ssize_t n = send(fd, buf, len, MSG_NOSIGNAL);

		if (n < 0) {
			if (errno == EINTR)
				continue;
			return -errno;
		}
		buf += n;
		len -= n;
	}
	return 0;
}

int ig_request(const char *path, struct json_object *req, struct json_object **reply)
{
	return ig_request_timeout(path, req, reply, 0);
}

int ig_request_timeout(const char *path, struct json_object *req, struct json_object **reply,
		       unsigned int timeout_ms)
{
	struct timeval tv = { .tv_sec = timeout_ms / 1000, .tv_usec = timeout_ms % 1000 * 1000 };
	size_t cap = 65536, len = 0;
	const char *s;
	char *buf = NULL;
	int fd, ret;

	fd = ig_connect(path);
	if (fd < 0)
		return fd;
	/* Each send and read waits at most this long; a frozen daemon gives -ETIMEDOUT. */
	if (timeout_ms && (setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof(tv)) ||
			   setsockopt(fd, SOL_SOCKET, SO_SNDTIMEO, &tv, sizeof(tv)))) {
		ret = -errno;
		goto out;
	}
	s = json_object_to_json_string_ext(req, JSON_C_TO_STRING_PLAIN);
	ret = write_all(fd, s, strlen(s));
	if (!ret)
		ret = write_all(fd, "\n", 1);
	if (ret)
		goto out;
	buf = malloc(cap);
	if (!buf) {
		ret = -ENOMEM;
		goto out;
	}
	for (;;) {
		ssize_t n;

		if (len + 1 >= cap) {
			char *nb = realloc(buf, cap * 2);

			if (!nb) {
				ret = -ENOMEM;
				goto out;
			}
			buf = nb;
			cap *= 2;
		}
		n = read(fd, buf + len, cap - len - 1);
		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0) {
			ret = errno == EAGAIN ? -ETIMEDOUT : -errno;
			goto out;
		}
		if (n == 0) {
			ret = -ECONNRESET;
			goto out;
		}
		len += n;
		if (memchr(buf + len - n, '\n', n))
			break;
	}
	buf[len] = '\0';
	*reply = json_tokener_parse(buf);
	ret = *reply ? 0 : -EBADMSG;
out:
	free(buf);
	close(fd);
	return ret;
}

#define MALFORMED "malformed request: "

static size_t skip_ws(const char *s, size_t len, size_t i)
{
	while (i < len && (s[i] == ' ' || s[i] == '\t' || s[i] == '\n' || s[i] == '\r'))
		i++;
	return i;
}

/* Parses the JSON value at s[*pos] with json-c (*v NULL for null) and moves *pos past it. */
static bool value_at(struct json_tokener *tok, const char *s, size_t len, size_t *pos,
		     struct json_object **v)
{
	json_tokener_reset(tok);
	*v = json_tokener_parse_ex(tok, s + *pos, len - *pos);
	if (json_tokener_get_error(tok) != json_tokener_success) {
		json_object_put(*v);
		return false;
	}
	*pos += json_tokener_get_parse_end(tok);
	return true;
}

static bool has_nul(struct json_object *str)
{
	return strlen(json_object_get_string(str)) != (size_t)json_object_get_string_len(str);
}

/*
 * json-c keeps the last of two members with one name. So the object's text
 * is walked member by member, json-c parsing each name and value, and a
 * name given twice is refused. Names compare as json-c stores them, as C
 * strings; one with a NUL in it is refused. Returns the number of members,
 * or -EINVAL with the reason in err.
 */
static int check_members(struct json_tokener *tok, const char *s, size_t len, char *err,
			 size_t errlen)
{
	struct json_object *seen = json_object_new_object(), *k, *v;
	size_t i = skip_ws(s, len, 0);
	int n = 0, ret = -EINVAL;
	char name[80];

	if (!seen)
		return -ENOMEM;
	if (i >= len || s[i] != '{')
		goto malformed;
	i = skip_ws(s, len, i + 1);
	if (i < len && s[i] == '}') {
		ret = 0;
		goto out;
	}
	for (;;) {
		if (!value_at(tok, s, len, &i, &k))
			goto malformed;
		if (!json_object_is_type(k, json_type_string)) {
			json_object_put(k);
			goto malformed;
		}
		if (has_nul(k)) {
			snprintf(err, errlen, MALFORMED "NUL in a member name");
			json_object_put(k);
			goto out;
		}
		if (json_object_object_get_ex(seen, json_object_get_string(k), NULL)) {
			snprintf(
				err, errlen, MALFORMED "member \"%s\" given twice",
				ig_esc(name, sizeof(name), json_object_get_string(k), IG_ESC_TEXT));
			json_object_put(k);
			goto out;
		}
		json_object_object_add(seen, json_object_get_string(k), NULL);
		json_object_put(k);
		n++;
		i = skip_ws(s, len, i);
		if (i >= len || s[i] != ':')
			goto malformed;
		i = skip_ws(s, len, i + 1);
		if (!value_at(tok, s, len, &i, &v))
			goto malformed;
		json_object_put(v);
		i = skip_ws(s, len, i);
		if (i < len && s[i] == '}') {
			ret = n;
			goto out;
		}
		if (i >= len || s[i] != ',')
			goto malformed;
		i = skip_ws(s, len, i + 1);
	}
malformed:
	snprintf(err, errlen, MALFORMED "expected one JSON object per line");
out:
	json_object_put(seen);
	return ret;
}

static const struct ig_req_key *find_key(const struct ig_req_cmd *c, const char *name)
{
	for (const struct ig_req_key *k = c->keys; k && k->name; k++)
		if (!strcmp(k->name, name))
			return k;
	return NULL;
}

/* Each member known to the command and of its type, each required one there. */
static int check_keys(struct json_object *req, const struct ig_req_cmd *c, char *err, size_t errlen)
{
	char name[80];

	json_object_object_foreach(req, key, val) {
		const struct ig_req_key *k = find_key(c, key);

		if (!strcmp(key, "cmd"))
			continue;
		ig_esc(name, sizeof(name), key, IG_ESC_TEXT);
		if (!k) {
			snprintf(err, errlen, "unknown member \"%s\" for command '%s'", name,
				 c->cmd);
			return -EINVAL;
		}
		if (!json_object_is_type(val, k->type) ||
		    (k->type == json_type_string && has_nul(val))) {
			snprintf(err, errlen, MALFORMED "member \"%s\" of '%s' must be a %s%s",
				 name, c->cmd, json_type_to_name(k->type),
				 k->type == json_type_string ? " without NUL" : "");
			return -EINVAL;
		}
	}
	for (const struct ig_req_key *k = c->keys; k && k->name; k++)
		if (k->required && !json_object_object_get_ex(req, k->name, NULL)) {
			snprintf(err, errlen, MALFORMED "'%s' needs the %s member \"%s\"", c->cmd,
				 json_type_to_name(k->type), k->name);
			return -EINVAL;
		}
	return 0;
}

struct json_object *ig_request_parse(const char *line, size_t len, const struct ig_req_cmd *cmds,
				     size_t n, const struct ig_req_cmd **cmd, char *err,
				     size_t errlen)
{
	struct json_tokener *tok = json_tokener_new_ex(16);
	struct json_object *req = NULL, *c;
	const char *name;
	char esc[80];
	int members;

	*cmd = NULL;
	snprintf(err, errlen, MALFORMED "expected one JSON object per line");
	if (!tok) {
		snprintf(err, errlen, "out of memory");
		return NULL;
	}
	json_tokener_set_flags(tok, JSON_TOKENER_STRICT | JSON_TOKENER_VALIDATE_UTF8);
	req = json_tokener_parse_ex(tok, line, len);
	if (json_tokener_get_error(tok) != json_tokener_success ||
	    json_tokener_get_parse_end(tok) != len || !json_object_is_type(req, json_type_object))
		goto fail;
	json_tokener_set_flags(tok, JSON_TOKENER_STRICT | JSON_TOKENER_VALIDATE_UTF8 |
					    JSON_TOKENER_ALLOW_TRAILING_CHARS);
	members = check_members(tok, line, len, err, errlen);
	if (members < 0)
		goto fail;
	if (members != json_object_object_length(req)) {
		snprintf(err, errlen, MALFORMED "expected one JSON object per line");
		goto fail;
	}
	if (!json_object_object_get_ex(req, "cmd", &c)) {
		snprintf(err, errlen, MALFORMED "missing string member \"cmd\"");
		goto fail;
	}
	if (!json_object_is_type(c, json_type_string) || has_nul(c)) {
		snprintf(err, errlen, MALFORMED "\"cmd\" must be a string without NUL");
		goto fail;
	}
	name = json_object_get_string(c);
	for (size_t i = 0; i < n && !*cmd; i++)
		if (!strcmp(cmds[i].cmd, name))
			*cmd = &cmds[i];
	if (!*cmd) {
		snprintf(err, errlen, "unknown command '%s'",
			 ig_esc(esc, sizeof(esc), name, IG_ESC_TEXT));
		goto fail;
	}
	if (check_keys(req, *cmd, err, errlen))
		goto fail;
	json_tokener_free(tok);
	*err = '\0';
	return req;
fail:
	*cmd = NULL;
	json_object_put(req);
	json_tokener_free(tok);
	return NULL;
}

static const struct ig_req_key apply_keys[] = {
	{ "path", json_type_string, true },
	{ "sig", json_type_string, false },
	{ "force", json_type_boolean, false },
	{ NULL, json_type_null, false },
};

static const struct ig_req_key force_key[] = {
	{ "force", json_type_boolean, false },
	{ NULL, json_type_null, false },
};

/* Every command of the socket, the members it accepts besides "cmd", and who may send it. */
const struct ig_req_cmd ig_commands[IG_NCOMMANDS] = {
	[IG_CMD_PING] = { "ping", NULL, false },
	[IG_CMD_STATUS] = { "status", NULL, false },
	[IG_CMD_EVENTS] = { "events", NULL, false },
	[IG_CMD_POLICY_APPLY] = { "policy-apply", apply_keys, true },
	[IG_CMD_MANIFEST_APPLY] = { "manifest-apply", apply_keys, true },
	[IG_CMD_ROLLBACK] = { "rollback", force_key, true },
	[IG_CMD_FACTORY] = { "factory", force_key, true },
	[IG_CMD_STOP_ENFORCING] = { "stop-enforcing", NULL, true },
};

bool ig_cmd_takes(enum ig_cmd_id id, const char *key, bool *required)
{
	for (const struct ig_req_key *k = ig_commands[id].keys; k && k->name; k++) {
		if (!strcmp(k->name, key)) {
			if (required)
				*required = k->required;
			return true;
		}
	}
	return false;
}
