// SPDX-License-Identifier: GPL-2.0-only
#include <stdarg.h>
#include <stdio.h>
#include <string.h>
#include <json-c/json.h>
#include "ctl.h"
#include "esc.h"

bool json_mode;
const char *sock_override;

int fail(const char *fmt, ...)
{
	char msg[1024], line[IG_ESC_SIZE(sizeof(msg))];
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(msg, sizeof(msg), fmt, ap);
	va_end(ap);
	if (json_mode) {
		struct json_object *o = json_object_new_object();

		json_object_object_add(o, "error", json_object_new_string(msg));
		printf("%s\n", json_object_to_json_string_ext(o, JSON_C_TO_STRING_PLAIN));
		json_object_put(o);
	} else {
		fprintf(stderr, "iotgatectl: %s\n", ig_esc(line, sizeof(line), msg, IG_ESC_LINE));
	}
	return 1;
}

unsigned long long jnum(struct json_object *o, const char *path)
{
	char buf[128], *save = NULL;
	struct json_object *v = o;

	snprintf(buf, sizeof(buf), "%s", path);
	for (char *k = strtok_r(buf, ".", &save); k; k = strtok_r(NULL, ".", &save))
		if (!json_object_object_get_ex(v, k, &v))
			return 0;
	return json_object_get_uint64(v);
}
