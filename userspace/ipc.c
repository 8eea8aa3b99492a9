// SPDX-License-Identifier: GPL-2.0-only
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>
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
	size_t cap = 65536, len = 0;
	const char *s;
	char *buf = NULL;
	int fd, ret;

	fd = ig_connect(path);
	if (fd < 0)
		return fd;
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
			ret = -errno;
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
